#!/bin/bash
# Connection limits by zone, as ovs-vsctl set-zone-limit sets them: with zone 5 limited
# to 2, h1's third TCP connection committed there is dropped while two are open, and
# goes through once one closes; the default limit (1) holds zone 6's UDP flows to one
# until zone 6's own limit of 0 lifts it.  The count goes on over a change of the flows
# (the third connection is still dropped after an add-flow) and the limits over a
# restart; del-zone-limit ends them.  list-zone-limits prints them as ovs-vsctl does,
# an FTP data connection counts though it carries its control connection's committed
# mark, ct-stats-show counts the zones' connections as dpctl/ct-stats-show does, and
# bad arguments are one-line errors.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/zones.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=10,ct_state=-trk,tcp,actions=ct(table=1,zone=5)
priority=10,ct_state=-trk,udp,actions=ct(table=2,zone=6)
priority=1,ip,actions=normal
priority=0,actions=drop
table=1,priority=10,ct_state=+trk+new,tcp,in_port=1,actions=ct(commit,zone=5),normal
table=1,priority=5,ct_state=+trk+est,actions=normal
table=1,priority=1,actions=drop
table=2,priority=10,ct_state=+trk+new,udp,in_port=1,actions=ct(commit,zone=6),normal
table=2,priority=5,ct_state=+trk+est,actions=normal
table=2,priority=1,actions=drop
FLOWS
check "the zoned flows load" bfctl replace-flows "$BR" "$BF_DIR/zones.flows"
check "set-zone-limit 5 2" bfctl set-zone-limit "$BR" 5 2
check "set-zone-limit default 1" bfctl set-zone-limit "$BR" default 1
check_eq "list-zone-limits prints them as ovs-vsctl does" \
	"Default, Limit: 1|Zone: 5, Limit: 2" "$(bfctl list-zone-limits "$BR" 2>&1 | paste -sd'|')"
check_re "the zone's count is a dynamic set with ct count" 'ct count over 2' \
	"$(ip netns exec "$SW" nft list ruleset 2>&1)"

line_server_start 2 7000 || not_ok "line server on h2" "did not listen"
udp_echo_start 2 5353 || not_ok "UDP echo server on h2" "did not listen"
committed_in() { ct_look | grep "zone=$1 " | grep -c 'mark=2147483648'; }
if lconn_open c1 1 10.1.1.2 7000 && [ "$(lconn_ask c1 a)" = "h2 a" ] &&
	lconn_open c2 1 10.1.1.2 7000 && [ "$(lconn_ask c2 b)" = "h2 b" ]; then
	ok "two TCP connections in zone 5 are answered"
else
	not_ok "two TCP connections in zone 5 are answered" "$(cat "$BF_DIR"/c[12].lout | bf_oneline)"
fi
check_eq "...conntrack holds both, committed in zone 5" 2 "$(committed_in 5)"
check_eq "a third one, over the limit, is dropped" "" "$(line_ask 1 10.1.1.2 7000 c)"
check_eq "...and conntrack still holds two" 2 "$(committed_in 5)"
check_eq "the two open ones still talk" "h2 a2" "$(lconn_ask c1 a2)"
check_eq "ct-stats-show zone=5 counts them as dpctl/ct-stats-show does" \
	"Connections Stats:|    Total: 2|  TCP: 2" "$(bfctl ct-stats-show zone=5 2>&1 | paste -sd'|')"
check_eq "...and verbose per TCP state" \
	"Connections Stats:|    Total: 2|  TCP: 2|    Conn per TCP states:|	  [ESTABLISHED]=2" \
	"$(bfctl ct-stats-show verbose zone=5 2>&1 | paste -sd'|')"
check_eq "ct-stats-show zone=6 has none yet" "Connections Stats:|    Total: 0" \
	"$(bfctl ct-stats-show zone=6 2>&1 | paste -sd'|')"
check_eq "a bad ct-stats-show argument is one line" \
	"brflowctl: ct-stats-show: unexpected argument 'zone5'; usage: ct-stats-show [zone=N] [verbose]" \
	"$(bfctl ct-stats-show zone5 2>&1)"

check "an unrelated add-flow changes the ruleset" bfctl add-flow "$BR" \
	"priority=2,icmp,actions=normal"
check_eq "the count goes on: a third connection is still dropped" "" \
	"$(line_ask 1 10.1.1.2 7000 d)"
lconn_close c1
wait_until 5 sh -c "! ip netns exec '$(hns 1)' ss -Htn state established | grep -q ."
sleep 1
check_eq "once one closes, a new connection is answered" "h2 e" "$(line_ask 1 10.1.1.2 7000 e)"

check_eq "zone 6 (the default, 1): h1's first UDP flow is answered" "echo:ping" \
	"$(udp_ask 1 10.1.1.2 5353 6001)"
check_eq "...its second, from another port, is dropped" "" "$(udp_ask 1 10.1.1.2 5353 6002)"
check_eq "...while the first still is answered" "echo:ping" "$(udp_ask 1 10.1.1.2 5353 6001)"
check_eq "ct-stats-show zone=6 counts its one UDP connection" \
	"Connections Stats:|    Total: 1|  UDP: 1" "$(bfctl ct-stats-show zone=6 2>&1 | paste -sd'|')"
check "set-zone-limit 6 0: zone 6's own limit, none" bfctl set-zone-limit "$BR" 6 0
check_eq "...lets the second through" "echo:ping" "$(udp_ask 1 10.1.1.2 5353 6002)"
check_eq "list-zone-limits lists it after the default" \
	"Default, Limit: 1|Zone: 5, Limit: 2|Zone: 6, Limit: 0" \
	"$(bfctl list-zone-limits "$BR" 2>&1 | paste -sd'|')"

check "brflowd stops" bf_daemon_stop
check "brflowd starts again" bf_daemon_start
check_eq "the limits survive the restart" \
	"Default, Limit: 1|Zone: 5, Limit: 2|Zone: 6, Limit: 0" \
	"$(bfctl list-zone-limits "$BR" 2>&1 | paste -sd'|')"
check_re "...and are in the state file" "zone_limit 5 2" "$(cat "$BF_DIR/state/$BR.bridge" 2>&1)"
check "set-zone-limit 5 1" bfctl set-zone-limit "$BR" 5 1
if lconn_open c3 1 10.1.1.2 7000 && [ "$(lconn_ask c3 f)" = "h2 f" ]; then
	ok "after the restart, one new connection in zone 5 is answered"
else
	not_ok "after the restart, one new connection in zone 5 is answered" \
		"$(bf_oneline "$(cat "$BF_DIR/c3.lout")")"
fi
check_eq "...and the next is dropped" "" "$(line_ask 1 10.1.1.2 7000 g)"
check "del-zone-limit 5" bfctl del-zone-limit "$BR" 5
check_eq "...leaves zone 5 to the default (1), whose count goes on" "" \
	"$(line_ask 1 10.1.1.2 7000 h)"
check "del-zone-limit default" bfctl del-zone-limit "$BR" default
check_eq "...lets it through" "h2 i" "$(line_ask 1 10.1.1.2 7000 i)"
check_eq "list-zone-limits shows what is left" "Zone: 6, Limit: 0" \
	"$(bfctl list-zone-limits "$BR" 2>&1)"

# An FTP data connection is made from an expectation and carries its control
# connection's committed mark: it counts all the same.
if py3_with pyftpdlib >/dev/null; then
	URL=ftp://10.1.1.2:2121/brflow-ftp.txt
	check "the FTP flows (zone 0, alg=ftp) replace them" bfctl replace-flows "$BR" \
		"$FLOWS/nat-ftp-2121.flows"
	check "set-zone-limit 0 1" bfctl set-zone-limit "$BR" 0 1
	ftp_start 2 0.0.0.0 2121 || not_ok "ftp server on h2:2121" "did not listen"
	check_ftp_fails "zone 0 at 1: passive FTP's data connection is one too many" 1 "$URL"
	check "set-zone-limit 0 2" bfctl set-zone-limit "$BR" 0 2
	check_ftp "zone 0 at 2: passive FTP gets its file" 1 "$URL" 2
	check "del-zone-limit 0" bfctl del-zone-limit "$BR" 0
else
	skip "FTP data connections count" "python3-pyftpdlib is not installed"
fi

out=$(bfctl del-zone-limit "$BR" 5 2>&1)
check_eq "del-zone-limit of a zone without one is an error" \
	"brflowctl: del-zone-limit: zone 5 of bridge '$BR' has no limit" "$out"
check_eq "...which --if-exists silences" "" "$(bfctl --if-exists del-zone-limit "$BR" 5 2>&1)"
check_eq "a bad zone is one line" \
	"brflowctl: set-zone-limit: invalid zone 'x' (0-65535 or default)" \
	"$(bfctl set-zone-limit "$BR" x 5 2>&1)"
check_eq "a bad limit is one line" \
	"brflowctl: set-zone-limit: invalid limit '4294967296' (0-4294967295 connections, 0 for none)" \
	"$(bfctl set-zone-limit "$BR" 5 4294967296 2>&1)"
check_re "an unknown bridge is one line" "no bridge named 'nosuch'" \
	"$(bfctl set-zone-limit nosuch 5 1 2>&1)"
lconn_close c2
lconn_close c3
bf_done
