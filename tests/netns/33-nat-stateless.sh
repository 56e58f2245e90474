#!/bin/bash
# Stateless address rewrites (issue 3): OVS's stateless floating IP.  h1 reaches h2 as
# 10.1.1.100 / fc00::100 through mod_nw_dst / set_field:...->ipv6_dst (+ mod_dl_dst);
# h2's answers get the floating source back (mod_nw_src / ->ipv6_src).  Checksum offload
# is off on every veth end, so each packet carries a real checksum that the receiving
# stack verifies: answered TCP, UDP and ping, no checksum error counted and tcpdump's
# "(correct)" prove the rewritten IPv4 header and TCP/UDP/ICMPv6 checksums.  Also: a
# ct() after a rewrite is refused, and the bridged-DNAT routing setup (docs/nat.md) is
# what delivers the rewritten packets.
. "$(dirname "$0")/lib.sh"

bf_topology 2

GHOST_MAC=02:00:00:00:01:00 # the floating address's MAC on h1: no host owns it

# nat_rule: brflowd's "iif br0 lookup T" policy rule (IPv4), or nothing.
nat_rule() { ip -n "$SW" rule show | grep "iif $BR lookup"; }

peer_of() { ip netns exec "$(hns "$1")" ss -Htn state established "( sport = :$2 )" | awk '{print $4}'; }

ip -n "$(hns 1)" link set eth0 address 02:00:00:00:00:01
ip -n "$(hns 2)" link set eth0 address 02:00:00:00:00:02
ip -n "$(hns 1)" neigh replace 10.1.1.100 lladdr $GHOST_MAC dev eth0 nud permanent
ip -n "$(hns 1)" neigh replace fc00::100 lladdr $GHOST_MAC dev eth0 nud permanent
check "checksum offload off on every veth end" csum_off_pair

bf_flows_check "stateless floating IP 10.1.1.100 / fc00::100 for h2 loads" nat-stateless.flows || bf_done
check_re "a destination rewrite gets the bridged-DNAT policy rule" "iif $BR lookup" "$(nat_rule)"
check_re "dump-flows shows mod_nw_dst as OVS prints it" \
	'actions=mod_nw_dst:10\.1\.1\.2,mod_dl_dst:02:00:00:00:00:02,output:2' \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1)"
# what nft itself emits for "ip daddr set" / "ip6 daddr set"
nl=$(ip netns exec "$SW" nft --debug=netlink list table inet "brflow_$BR" 2>&1)
check_re "the IPv4 write fixes the header and the pseudo-header checksum" \
	'payload write reg 1 => 4b @ network header \+ 16 csum_type 1 csum_off 10 csum_flags 0x1' "$nl"
check_re "the IPv6 write fixes the pseudo-header checksum" \
	'payload write reg 1 => 16b @ network header \+ 24 csum_type 0 csum_off 0 csum_flags 0x1' "$nl"

bf_bg "$(hns 2)" "$BF_DIR/tcpdump.h2" timeout 120 tcpdump -i eth0 -nn -vv -l -U 'tcp or udp'
TCPDUMP=$BF_LAST
wait_until 10 grep -q "listening on" "$BF_DIR/tcpdump.h2" ||
	not_ok "tcpdump on h2" "did not start: $(bf_oneline "$(cat "$BF_DIR/tcpdump.h2")")"

ping_ok "ping h1 -> 10.1.1.100 is answered by h2" 1 10.1.1.100
ping_ok "ping h1 -> fc00::100 is answered by h2" 1 fc00::100
udp_ok "UDP h1 -> 10.1.1.100:5001 arrives at h2" 1 2 10.1.1.100 5001
udp_ok "UDP h1 -> [fc00::100]:5001 arrives at h2" 1 2 fc00::100 5001
tcp_ok "TCP h1 -> 10.1.1.100:5002 delivers its data to h2" 1 2 10.1.1.100 5002
udp_echo_start 2 5353 || not_ok "UDP echo server on h2" "did not listen"
check_eq "UDP h1 -> 10.1.1.100 gets h2's answer back" "echo:ping" "$(udp_ask 1 10.1.1.100 5353 6001)"
check_eq "UDP h1 -> fc00::100 gets h2's answer back" "echo:ping" "$(udp_ask 1 fc00::100 5353 6002)"
line_server_start 2 7000 || not_ok "line server on h2" "did not listen"
check_eq "TCP exchange h1 <-> 10.1.1.100 (h2 answers)" "h2 v4" "$(line_ask 1 10.1.1.100 7000 v4)"
check_eq "TCP exchange h1 <-> fc00::100 (h2 answers)" "h2 v6" "$(line_ask 1 fc00::100 7000 v6)"
if lconn_open l1 1 10.1.1.100 7000 && [ "$(lconn_ask l1 x)" = "h2 x" ]; then
	check_re "h2 sees h1's own address as the peer" '^(\[::ffff:)?10\.1\.1\.1\]?:[0-9]+$' "$(peer_of 2 7000)"
	check_re "h1's connection is to the floating address" '10\.1\.1\.100:7000' \
		"$(ip netns exec "$(hns 1)" ss -Htn state established)"
else
	not_ok "a long-lived TCP connection to 10.1.1.100" "no answer"
fi
udp_blocked "h2's own address is not reachable from h1 (no flow for it)" 1 2 10.1.1.2 5003

sleep 0.5
bf_kill "$TCPDUMP"
dump=$(cat "$BF_DIR/tcpdump.h2")
check_re "tcpdump on h2: TCP arrives for 10.1.1.2:5002 from 10.1.1.1" '10\.1\.1\.1\.[0-9]+ > 10\.1\.1\.2\.5002: Flags \[S\]' "$dump"
check_re "tcpdump on h2: UDP arrives for fc00::2 from fc00::1" 'fc00::1\.[0-9]+ > fc00::2\.5001: .*UDP' "$dump"
if grep -q '10\.1\.1\.100\|fc00::100' <<<"$dump"; then
	not_ok "tcpdump on h2 never sees the floating address" "$(grep -m1 '10\.1\.1\.100\|fc00::100' <<<"$dump")"
else
	ok "tcpdump on h2 never sees the floating address"
fi
check_gt "tcpdump on h2 verified checksums as correct" "$(grep -c '(correct)' <<<"$dump")" 5
check_eq "tcpdump on h2 found no bad checksum" "" "$(grep -m1 'incorrect\|bad cksum' <<<"$dump")"
check_eq "no checksum or header errors counted on h1" 0 "$(csum_errors 1)"
check_eq "no checksum or header errors counted on h2" 0 "$(csum_errors 2)"

# ct() after a rewrite on the same path: refused with the flow and the reason.
out=$(bfctl --bundle add-flows "$BR" "$FLOWS/nat-stateless-ct-after.flows" 2>&1)
rc=$?
check_eq "ct() after a rewrite is refused" 1 "$((rc != 0))"
check_re "the refusal names the flow and the reason" \
	"flow 'table=1,priority=100,ip actions=ct\(commit\),output:2': ct\(\) on a path that already rewrote an IP address" "$out"
check_eq "... in one line" 1 "$(printf '%s\n' "$out" | wc -l)"
ping_ok "the loaded rewrites still work after the refusal" 1 10.1.1.100

# The policy rule is what delivers a packet whose destination changed: br_netfilter
# re-routes it as a DNATed packet.  Without the rule it is lost; the next change puts
# the rule back.
ip -n "$SW" rule del pref 25202 iif "$BR"
udp_blocked "without the bridged-DNAT rule the rewritten packet is lost" 1 2 10.1.1.100 5004
bf_flows nat-stateless.flows >/dev/null 2>&1
check_re "the next change puts the rule back" "iif $BR lookup" "$(nat_rule)"
udp_ok "... and the rewritten packet arrives again" 1 2 10.1.1.100 5004
bfctl del-flows "$BR" >/dev/null 2>&1
check_eq "without rewrite flows the rule is gone" "" "$(nat_rule)"

bf_done
