#!/bin/bash
# Which conntrack a bridge uses (issue 6): with nf_conntrack_bridge, a flow set without
# NAT, alg=, dpi() or LOCAL runs in the bridge family with its own conntrack (measured
# faster than br_netfilter, docs/performance.md) and the bridge's nf_call_iptables is
# off; a NAT flow moves it back to the inet hooks, with br_netfilter on.  The policy
# decides the same traffic either way.  Without nf_conntrack_bridge, show says inet.
. "$(dirname "$0")/lib.sh"

bf_topology 2

POLICY='table=0,priority=10,ip,actions=ct(table=1)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+est,actions=normal
table=1,priority=100,ct_state=+trk+inv,actions=drop
table=1,priority=50,ct_state=+trk+new,tcp,in_port=1,tp_dst=8080,actions=ct(commit),normal
table=1,priority=0,actions=drop'
NAT_FLOW='table=1,priority=60,ct_state=+trk+new,tcp,in_port=1,tp_dst=9090,actions=ct(commit,nat(src=10.1.1.240)),normal'

# nf_call: the bridge's nf_call_iptables as ip -d link shows it
nf_call() { ip -n "$SW" -d link show "$BR" | grep -o 'nf_call_iptables [01]' | cut -d' ' -f2; }
# hooked_inet: how many base chains brflow's inet table has
hooked_inet() { ip netns exec "$SW" nft list table inet "brflow_$BR" 2>/dev/null | grep -c 'hook'; }
# bridge_pre_chains: the bridge table's prerouting base chains, in the order packets meet
# them (by priority)
bridge_pre_chains() {
	ip netns exec "$SW" nft -y list table bridge "brflow_$BR" 2>/dev/null |
		awk '$1 == "chain" { c = $2 }
		     /hook prerouting/ { p = $0; sub(/.*priority /, "", p); sub(/;.*/, "", p); print p, c }' |
		sort -n | awk '{ printf "%s%s", sep, $2; sep = " " }'
}

check_traffic() {
	tcp_ok "$1: h1 -> h2:8080 (allowed) connects" 1 2 10.1.1.2 8080
	tcp_blocked "$1: h2 -> h1:8080 (no flow) is blocked" 2 1 10.1.1.1 8080
	tcp_blocked "$1: h1 -> h2:8081 (no flow) is blocked" 1 2 10.1.1.2 8081
	check_re "$1: dump-conntrack lists the committed connection" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=8080\)' "$(ct_dump)"
}

if out=$(bfctl replace-flows "$BR" - <<<"$POLICY" 2>&1); then
	ok "the NAT-free policy loads"
else
	not_ok "the NAT-free policy loads" "$(bf_oneline "$out")"
	bf_done
fi
show=$(bfctl show 2>&1)
if ! grep -q 'conntrack in bridge family: yes' <<<"$show"; then
	check_re "show says the bridge tracks through br_netfilter" ' conntrack: inet family through br_netfilter' "$show"
	check_eq "br_netfilter hands the bridge's IP to the inet hooks" 1 "$(nf_call)"
	check_traffic "inet"
	skip "bridge-family conntrack" "kernel lacks nf_conntrack_bridge (the stock-kernel lane runs it)"
	bf_done
fi

check_re "show says the bridge tracks in the bridge family" ' conntrack: bridge family \(nf_conntrack_bridge\)' "$show"
check_eq "the inet table has no hooked chain" 0 "$(hooked_inet)"
check_eq "the bridge's nf_call_iptables is off" 0 "$(nf_call)"
# zone 0 everywhere: no pre-pass, and the pipeline's hook classifies the port itself
check_eq "tracked in zone 0, one bridge prerouting chain classifies and decides" \
	pipeline "$(bridge_pre_chains)"
check_traffic "bridge family"

# ct(zone=7) needs the pre-pass before conntrack, and the port mark before that
ZONE7=${POLICY//ct(table=1)/ct(zone=7,table=1)}
ZONE7=${ZONE7//ct(commit)/ct(commit,zone=7)}
if out=$(bfctl replace-flows "$BR" - <<<"$ZONE7" 2>&1); then
	ok "the policy with zone 7 loads"
else
	not_ok "the policy with zone 7 loads" "$(bf_oneline "$out")"
fi
check_eq "with zone 7: classify, the pre-pass and the pipeline hook prerouting" \
	"classify prepass pipeline" "$(bridge_pre_chains)"
bfctl flush-conntrack >/dev/null 2>&1
tcp_ok "zone 7: h1 -> h2:8080 (allowed) connects" 1 2 10.1.1.2 8080
tcp_blocked "zone 7: h1 -> h2:8081 (no flow) is blocked" 1 2 10.1.1.2 8081
check_re "zone 7: the connection is tracked in zone 7" 'dport=8080\).*zone=7' "$(ct_dump 2>&1)"
if out=$(bfctl replace-flows "$BR" - <<<"$POLICY" 2>&1); then
	ok "the zone-0 policy loads again"
else
	not_ok "the zone-0 policy loads again" "$(bf_oneline "$out")"
fi
check_eq "zone 0 again: the pipeline alone hooks prerouting" pipeline "$(bridge_pre_chains)"
bfctl flush-conntrack >/dev/null 2>&1
check_traffic "bridge family, zone 0 again"

if out=$(bfctl add-flow "$BR" "$NAT_FLOW" 2>&1); then
	ok "a NAT flow loads"
else
	not_ok "a NAT flow loads" "$(bf_oneline "$out")"
fi
check_re "with NAT, show says br_netfilter" ' conntrack: inet family through br_netfilter' "$(bfctl show 2>&1)"
check_eq "with NAT, the bridge's nf_call_iptables is on" 1 "$(nf_call)"
check_gt "with NAT, the inet table has hooked chains" "$(hooked_inet)" 0
bfctl flush-conntrack >/dev/null 2>&1
check_traffic "inet after the switch"

if out=$(bfctl --strict del-flows "$BR" "${NAT_FLOW%,actions=*}" 2>&1); then
	ok "the NAT flow is deleted"
else
	not_ok "the NAT flow is deleted" "$(bf_oneline "$out")"
fi
check_eq "without NAT again, nf_call_iptables is off" 0 "$(nf_call)"
bfctl flush-conntrack >/dev/null 2>&1
check_traffic "bridge family again"
bf_done
