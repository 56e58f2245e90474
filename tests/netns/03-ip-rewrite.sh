#!/bin/bash
# IP header rewrites, as Neutron's QoS DSCP marking uses them: mod_nw_tos (set_field to
# ip_dscp), mod_nw_ecn and mod_nw_ttl on h1's traffic in table 0, before a table that
# matches the written values and one with ct().  A counter in h2's own input hook shows
# what arrived: the new DSCP with h1's ECN bits kept (and the other way round), the new
# TTL, valid IPv4 header checksums (h2 drops bad ones before its hooks), and pings
# answered.  TCP through ct(commit) arrives marked.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/rewrite.flows" <<'FLOWS'
priority=100,icmp,in_port=1,actions=mod_nw_tos:32,mod_nw_ttl:9,resubmit(,1)
priority=100,icmp6,in_port=1,icmp_type=128,actions=set_field:46->ip_dscp,mod_nw_ecn:1,resubmit(,1)
priority=100,tcp,in_port=1,actions=mod_nw_tos:184,resubmit(,2)
priority=100,tcp,in_port=2,actions=resubmit(,2)
priority=10,arp,actions=normal
priority=10,icmp6,icmp_type=135,actions=normal
priority=10,icmp6,icmp_type=136,actions=normal
priority=1,ip,actions=normal
priority=1,ipv6,actions=normal
priority=0,actions=drop
table=1,priority=30,ip,nw_tos=0,actions=drop
table=1,priority=20,ip,nw_tos=32,nw_ttl=9,actions=normal
table=1,priority=20,ipv6,nw_tos=184,nw_ecn=1,actions=normal
table=1,priority=1,actions=drop
table=2,priority=10,ct_state=-trk,tcp,actions=ct(table=3)
table=3,priority=10,ct_state=+trk+new,tcp,nw_tos=184,actions=ct(commit),normal
table=3,priority=10,ct_state=+trk+est,tcp,actions=normal
table=3,priority=1,actions=drop
FLOWS
check "the rewriting flows load" bfctl replace-flows "$BR" "$BF_DIR/rewrite.flows"
check_eq "dump-flows prints the writes as ovs-ofctl does" \
	" priority=100,icmp6,in_port=1,icmp_type=128 actions=mod_nw_tos:184,load:0x1->NXM_NX_IP_ECN[],resubmit(,1)" \
	"$(bfctl --no-stats --no-names dump-flows "$BR" icmp6,in_port=1 2>&1 | grep priority=100)"

# h2 counts, in its own input hook, what arrives from h1
ip netns exec "$(hns 2)" nft -f - <<'NFT'
table inet rewrite_seen {
	counter tos_kept {}
	counter tos_lost {}
	counter v6_marked {}
	counter tcp_marked {}
	counter tcp_unmarked {}
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 10.1.1.1 icmp type echo-request ip dscp 8 ip ecn ce ip ttl 9 counter name tos_kept
		ip saddr 10.1.1.1 icmp type echo-request ip ecn != ce counter name tos_lost
		ip6 saddr fc00::1 icmpv6 type echo-request ip6 dscp 46 ip6 ecn ect1 counter name v6_marked
		ip saddr 10.1.1.1 tcp dport 5001 ip dscp 46 counter name tcp_marked
		ip saddr 10.1.1.1 tcp dport 5001 ip dscp != 46 counter name tcp_unmarked
	}
}
NFT
seen() {
	ip netns exec "$(hns 2)" nft list counter inet rewrite_seen "$1" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

ping_answers "IPv4 pings with ToS 0x03 (ECN CE) are answered" 1 10.1.1.2 3 -Q 0x03
check_eq "...h2 got them with DSCP 8, ECN CE kept, TTL 9" 3 "$(seen tos_kept)"
check_eq "...none lost its ECN bits" 0 "$(seen tos_lost)"
check_gt "...through table 1's nw_tos=32,nw_ttl=9 flow" \
	"$(flow_packets "table=1" "nw_tos=32,nw_ttl=9")" 2
check_eq "...and never its nw_tos=0 flow, though h1 sent DSCP 0" 0 \
	"$(flow_packets "table=1" "nw_tos=0")"
ping_answers "IPv6 pings with traffic class 0x02 are answered" 1 fc00::2 3 -Q 0x02
check_eq "...h2 got them with DSCP 46 and ECN 1" 3 "$(seen v6_marked)"
tcp_ok "TCP through ct(commit) after the mark passes" 1 2 10.1.1.2 5001
check_gt "...h2 got its segments with DSCP 46" "$(seen tcp_marked)" 2
check_eq "...none without" 0 "$(seen tcp_unmarked)"
check_re "conntrack committed the connection" "dport=5001" "$(ct_look)"
check_re "trace: the final flow carries the writes" \
	"Final flow: .*nw_tos=32.*nw_ttl=9" \
	"$(bfctl trace "$BR" "in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2,nw_tos=0,nw_ecn=3" 2>&1 | tr '\n' ' ')"

check "mod-flows changes the mark to DSCP 10" bfctl mod-flows "$BR" \
	"icmp,in_port=1,actions=mod_nw_tos:40,mod_nw_ttl:9,resubmit(,1)"
ping_answers "...which table 1 has no flow for: dropped" 1 10.1.1.2 0
bf_done
