#!/bin/bash
# Conntrack timeout policies by zone, as ovs-vsctl add-zone-tp sets them: a UDP
# connection committed in zone 5 gets the zone's unreplied timeout (3 s) and is gone soon
# after, one in zone 6 keeps the kernel's (30 s).  conntrack -L in the switch shows each
# entry's timeout.  A change of the flows keeps the policy for live connections (their
# next packet still refreshes them to it), a restart keeps it for new ones, and
# del-zone-tp ends it.
# Bad policies are one-line errors.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/zones.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=10,ct_state=-trk,udp,tp_dst=5001,actions=ct(table=1,zone=5)
priority=10,ct_state=-trk,udp,tp_dst=5002,actions=ct(table=2,zone=6)
priority=1,ip,actions=normal
priority=0,actions=drop
table=1,priority=10,ct_state=+trk+new,udp,actions=ct(commit,zone=5),normal
table=1,priority=5,ct_state=+trk+est,actions=normal
table=1,priority=1,actions=drop
table=2,priority=10,ct_state=+trk+new,udp,actions=ct(commit,zone=6),normal
table=2,priority=5,ct_state=+trk+est,actions=normal
table=2,priority=1,actions=drop
FLOWS
check "the zoned flows load" bfctl replace-flows "$BR" "$BF_DIR/zones.flows"
check "add-zone-tp zone=5 udp_first=3 udp_single=3 udp_multiple=4" \
	bfctl add-zone-tp "$BR" zone=5 udp_first=3 udp_single=3 udp_multiple=4
check_eq "list-zone-tp prints it as ovs-vsctl does" \
	"Zone:5, Timeout Policies: udp_first=3 udp_single=3 udp_multiple=4" \
	"$(bfctl list-zone-tp "$BR" 2>&1)"

# send SPORT DPORT: one datagram from h1:SPORT to h2:DPORT (nobody answers)
send() {
	ip netns exec "$(hns 1)" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.1.1.1", int(sys.argv[1])))
s.sendto(b"brflow-zone-tp", ("10.1.1.2", int(sys.argv[2])))
' "$1" "$2"
}
# timeout_of DPORT: the remaining seconds of the switch's entry to DPORT (empty: none)
timeout_of() {
	ip netns exec "$SW" conntrack -L -p udp --dport "$1" 2>/dev/null | awk '{ print $3; exit }'
}
zone_of() {
	ip netns exec "$SW" conntrack -L -p udp --dport "$1" 2>/dev/null | grep -o 'zone=[0-9]*' | head -1
}
gone() { [ -z "$(timeout_of "$1")" ]; }

send 40001 5001
send 40002 5002
check_eq "the connection to 5001 is tracked in zone 5" "zone=5" "$(zone_of 5001)"
check_re "...with the zone's unreplied timeout, 3 s at most" '^[0-3]$' "$(timeout_of 5001)"
check_eq "the connection to 5002 is tracked in zone 6" "zone=6" "$(zone_of 5002)"
check_re "...with the kernel's 30 s" '^(2[0-9]|30)$' "$(timeout_of 5002)"
if wait_until 10 gone 5001; then
	ok "the zone 5 entry is gone once its 3 s passed"
else
	not_ok "the zone 5 entry is gone once its 3 s passed" "still $(timeout_of 5001) s"
fi
check_re "...while zone 6's is still there" '^[0-9]+$' "$(timeout_of 5002)"

# a change of the flows keeps the policy object: the next packet still refreshes to it
check "add-zone-tp zone=5 udp_first=20 udp_single=20, replacing the policy" \
	bfctl add-zone-tp "$BR" zone=5 udp_first=20 udp_single=20
send 40003 5001
check_re "a new zone 5 connection gets 20 s" '^(1[0-9]|20)$' "$(timeout_of 5001)"
check "an unrelated flow is added (the chains are rebuilt)" \
	bfctl add-flow "$BR" "priority=20,icmp,actions=normal"
send 40003 5001
check_re "...and the connection's next packet still refreshes it to 20 s, not 30" \
	'^(1[0-9]|20)$' "$(timeout_of 5001)"

bf_restart
check_eq "the policy survived the restart" "Zone:5, Timeout Policies: udp_first=20 udp_single=20" \
	"$(bfctl list-zone-tp "$BR" 2>&1)"
# (a start rebuilds the tables, objects included: connections from before it are back
# on the default timeouts, brflowctl(8) says so)
ip netns exec "$SW" conntrack -D -p udp --dport 5001 >/dev/null 2>&1
send 40004 5001
check_re "...and to new connections" '^(1[0-9]|20)$' "$(timeout_of 5001)"

check "del-zone-tp zone=5" bfctl del-zone-tp "$BR" zone=5
check_eq "list-zone-tp prints nothing" "" "$(bfctl list-zone-tp "$BR" 2>&1)"
ip netns exec "$SW" conntrack -D -p udp --dport 5001 >/dev/null 2>&1
send 40005 5001
check_re "a new zone 5 connection gets the kernel's 30 s again" '^(2[0-9]|30)$' "$(timeout_of 5001)"

# errors
check_eq "a policy without a zone" "brflowctl: add-zone-tp: missing zone=N" \
	"$(bfctl add-zone-tp "$BR" udp_first=1 udp_single=1 2>&1)"
check_eq "an unknown timeout is named" "brflowctl: add-zone-tp: unknown timeout 'udp_frist'" \
	"$(bfctl add-zone-tp "$BR" zone=5 udp_frist=1 2>&1)"
check_eq "ICMP timeouts are refused, saying why" \
	"brflowctl: add-zone-tp: 'icmp_first' is not supported (nftables' timeout policies have no ICMP timeout)" \
	"$(bfctl add-zone-tp "$BR" zone=5 icmp_first=1 2>&1)"
check_eq "udp_first and udp_single must agree" \
	"brflowctl: add-zone-tp: udp_first and udp_single are one timeout on Linux (unreplied): give them the same value" \
	"$(bfctl add-zone-tp "$BR" zone=5 udp_first=1 udp_single=2 2>&1)"
check_eq "a bad number of seconds" "brflowctl: add-zone-tp: invalid number of seconds '1s' for tcp_established" \
	"$(bfctl add-zone-tp "$BR" zone=5 tcp_established=1s 2>&1)"
check_eq "del-zone-tp of a zone without one" "brflowctl: del-zone-tp: zone 7 of bridge '$BR' has no timeout policy" \
	"$(bfctl del-zone-tp "$BR" zone=7 2>&1)"
check "...but not with --if-exists" bfctl --if-exists del-zone-tp "$BR" zone=7
check_eq "nothing was added by the errors" "" "$(bfctl list-zone-tp "$BR" 2>&1)"
bf_done
