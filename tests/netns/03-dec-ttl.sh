#!/bin/bash
# dec_ttl, as OVS routes in flows: h1's IPv4 and IPv6 traffic has its TTL (hop limit)
# taken down by one in table 0.  Counters in h2's own input hook show the TTL that
# arrived, over the whole range the decrement works bit by bit (2, 64, 128, 255) and
# answered pings show the IPv4 header checksum stays valid.  A TTL of 1 ends the flow's
# actions: such pings never reach h2.  Table 1 matches the decremented TTL (a ping
# sent with TTL 100 meets its nw_ttl=99 drop), and the pre-pass, which chooses the
# conntrack zone before the decrement, agrees: TCP sent with TTL 64 is committed in
# table 1's nw_ttl=63 zone.  A second dec_ttl in table 1 takes another one off.  The decrement chain comes and goes with incremental updates.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/dec-ttl.flows" <<'FLOWS'
priority=100,in_port=1,ip,actions=dec_ttl,resubmit(,1)
priority=100,in_port=1,icmp6,icmp_type=128,actions=dec_ttl,output:2
priority=10,arp,actions=normal
priority=10,icmp6,actions=normal
priority=1,in_port=2,ip,actions=normal
priority=0,actions=drop
table=1,priority=30,icmp,nw_ttl=99,actions=drop
table=1,priority=20,tcp,nw_ttl=63,actions=ct(commit,zone=5),output:2
table=1,priority=10,tcp,actions=ct(commit,zone=6),output:2
table=1,priority=1,ip,actions=output:2
FLOWS
check "the dec_ttl flows load" bfctl replace-flows "$BR" "$BF_DIR/dec-ttl.flows"
check_re "dump-flows prints dec_ttl" ' priority=100,ip,in_port=1 actions=dec_ttl,resubmit\(,1\)' \
	"$(bfctl --no-stats --no-names dump-flows "$BR" 2>&1)"

# h2 counts, in its own input hook, the TTLs that arrive from h1
ip netns exec "$(hns 2)" nft -f - <<'NFT'
table inet ttl_seen {
	counter ttl1 {}
	counter ttl63 {}
	counter ttl127 {}
	counter ttl254 {}
	counter ttl98 {}
	counter ttl49 {}
	counter ttl_low {}
	counter hop63 {}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 1 counter name ttl1
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 63 counter name ttl63
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 127 counter name ttl127
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 254 counter name ttl254
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 98 counter name ttl98
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 49 counter name ttl49
		ip saddr 10.1.1.1 icmp type echo-request ip ttl 0 counter name ttl_low
		ip6 saddr fc00::1 icmpv6 type echo-request ip6 hoplimit 63 counter name hop63
	}
}
NFT
seen() {
	ip netns exec "$(hns 2)" nft list counter inet ttl_seen "$1" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

ping_answers "IPv4 pings with TTL 64 are answered" 1 10.1.1.2 3 -t 64
check_eq "...h2 got them with TTL 63" 3 "$(seen ttl63)"
ping_answers "IPv4 pings with TTL 128 are answered" 1 10.1.1.2 3 -t 128
check_eq "...h2 got them with TTL 127" 3 "$(seen ttl127)"
ping_answers "IPv4 pings with TTL 255 are answered" 1 10.1.1.2 3 -t 255
check_eq "...h2 got them with TTL 254" 3 "$(seen ttl254)"
ping_answers "IPv4 pings with TTL 2 are answered" 1 10.1.1.2 3 -t 2
check_eq "...h2 got them with TTL 1" 3 "$(seen ttl1)"
ping_answers "IPv4 pings with TTL 1 expire in table 0" 1 10.1.1.2 0 -t 1
check_eq "...and never reach h2" 0 "$(seen ttl_low)"
ping_answers "IPv6 pings with hop limit 64 are answered" 1 fc00::2 3 -t 64
check_eq "...h2 got them with hop limit 63" 3 "$(seen hop63)"
ping_answers "IPv6 pings with hop limit 1 expire" 1 fc00::2 0 -t 1

ping_answers "IPv4 pings with TTL 100 meet table 1's nw_ttl=99 drop" 1 10.1.1.2 0 -t 100
check_gt "...its counter counted them" "$(flow_packets "table=1" "nw_ttl=99")" 2
ping_answers "IPv4 pings with TTL 99 pass table 1" 1 10.1.1.2 3 -t 99
check_eq "...and arrive with TTL 98" 3 "$(seen ttl98)"

tcp_ok "TCP from h1 (TTL 64) passes" 1 2 10.1.1.2 5001
check_re "conntrack committed it in table 1's nw_ttl=63 zone, 5" \
	"dport=5001 .*zone=5" "$(ct_look | grep 'dport=5001' | head -1)"
check_eq "...and not in zone 6" "" "$(ct_look | grep 'dport=5001' | grep 'zone=6')"
check_re "trace: a TTL of 1 ends the flow's actions" \
	"TTL 1 expired: the rest of this flow's actions do not run.*Verdict: drop" \
	"$(bfctl trace "$BR" "in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2,nw_ttl=1" 2>&1 | tr '\n' ' ')"
check_re "trace: TTL 64 leaves as 63" "Final flow: nw_ttl=63" \
	"$(bfctl trace "$BR" "in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2,nw_ttl=64" 2>&1 | tr '\n' ' ')"

out=$(bfctl add-flow "$BR" 'ip,actions=dec_ttl(1),normal' 2>&1)
check_eq "dec_ttl with controller ids is refused in one line" \
	"brflowctl: add-flow: 'dec_ttl(1)' names controllers, and brflow has none: use dec_ttl at column 12" "$out"
check "a second router: table 1 decrements pings that arrive with 50" bfctl add-flow "$BR" \
	'table=1,priority=40,icmp,nw_ttl=50,actions=dec_ttl,output:2'
ping_answers "...IPv4 pings with TTL 51 are answered" 1 10.1.1.2 3 -t 51
check_eq "...h2 got them with TTL 49" 3 "$(seen ttl49)"
ping_answers "the loaded flows still work after the refusals" 1 10.1.1.2 3 -t 64

# the IPv4 decrement chain goes with the table's last dec_ttl flow and comes back
# with the next, in incremental updates
nft_chains() { ip netns exec "$SW" nft list ruleset 2>&1 | grep -c 'chain dec_ttl_ip '; }
check "del-flows takes the IPv4 dec_ttl flow out" bfctl del-flows --strict "$BR" \
	"priority=100,in_port=1,ip"
check_eq "...and its decrement chain" 0 "$(nft_chains)"
ping_answers "...so h1's IPv4 pings are dropped" 1 10.1.1.2 0 -t 64
check "add-flow puts it back" bfctl add-flow "$BR" \
	"priority=100,in_port=1,ip,actions=dec_ttl,resubmit(,1)"
check_eq "...with the decrement chain" 1 "$(nft_chains)"
before=$(seen ttl63)
ping_answers "...and h1's pings are answered again" 1 10.1.1.2 3 -t 64
check_eq "...arriving with TTL 63" 3 "$(($(seen ttl63) - before))"
bf_done
