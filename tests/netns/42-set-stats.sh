#!/bin/bash
# Per-flow statistics of flows the optimiser puts into one set (issue 6): they live in
# the set's dynamic stats set, which the lookup rule fills the first time a key matches
# (docs/design.md, "Statistics of flow sets").  dump-flows must count exactly as it does
# for a flow of its own, through deletes, re-adds, mod-flows (with reset_counts too),
# reloads and restarts.
. "$(dirname "$0")/lib.sh"

bf_topology 2
allow() { echo "table=1,priority=50,ct_state=+new+trk,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=$1,actions=ct(commit),normal"; }
{
	echo 'table=0,priority=10,ip,actions=ct(table=1)'
	echo 'table=0,priority=10,arp,actions=normal'
	echo 'table=0,priority=0,actions=drop'
	echo 'table=1,priority=100,ct_state=+trk+est,actions=normal'
	echo 'table=1,priority=0,actions=drop'
	for p in 5001 5002 5003 5004; do allow "$p"; done
} >"$BF_DIR/stats.flows"
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/stats.flows"

# the name of the set the allow flows compiled to, from `brflowctl compile`
stats_set=$(bfctl compile "$BR" 2>&1 | grep -o 'update @[a-z0-9_]*_stats' | head -1 | cut -c9-)
check_re "the allow flows compiled to a set lookup that fills a stats set" '^g[0-9]+_stats$' "$stats_set"
# the ports of the keys in the kernel's stats set, one per line (the set's key is tp_dst
# alone, in a 4-byte register: nft prints the port shifted left by 16)
stats_keys() {
	local fam
	# bridge-family conntrack (stock kernels) puts the pipeline in the bridge table
	for fam in inet bridge; do
		ip netns exec "$SW" nft list set "$fam" "brflow_$BR" "$stats_set" 2>/dev/null
	done |
		tr -d '\n' | grep -o 'elements = {[^}]*}' | grep -oE '[0-9]+ counter' |
		awk '{ print ($1 > 65535) ? int($1 / 65536) : $1 }'
}
check_eq "the stats set starts empty: no flow has counted yet" "" "$(stats_keys)"
pk() { flow_packets "tp_dst=$1"; }

tcp_ok "h1->h2 TCP 5001 passes" 1 2 10.1.1.2 5001
tcp_ok "h1->h2 TCP 5001 passes again" 1 2 10.1.1.2 5001
tcp_blocked "h1->h2 TCP 5009 (no flow) is blocked" 1 2 10.1.1.2 5009
check_gt "n_packets counts the flow's +new packets" "$(pk 5001)" 1
check_eq "a flow of the same set without traffic counts nothing" 0 "$(pk 5002)"
check_eq "the kernel's stats set holds the one key that matched" 5001 "$(stats_keys)"

before=$(pk 5001)
check "add-flow into the set" bfctl add-flow "$BR" "$(allow 5005)"
tcp_ok "h1->h2 TCP 5005 passes after add-flow" 1 2 10.1.1.2 5005
check_gt "the added flow counts" "$(pk 5005)" 0
check_eq "the other flow's count stays" "$before" "$(pk 5001)"

check "replace-flows with the same flows and one more" bfctl replace-flows "$BR" \
	<(cat "$BF_DIR/stats.flows"; allow 5005; allow 5006)
check_eq "replace-flows keeps the statistics of unchanged flows" "$before" "$(pk 5001)"

check "mod-flows changes the flow's actions" bfctl mod-flows "$BR" \
	"table=1,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5001,actions=ct(commit),output:2"
check_eq "mod-flows keeps the flow's statistics" "$before" "$(pk 5001)"
tcp_ok "h1->h2 TCP 5001 passes after mod-flows" 1 2 10.1.1.2 5001
check_gt "the modified flow keeps counting" "$(pk 5001)" "$before"

check "mod-flows back" bfctl mod-flows "$BR" \
	"table=1,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5001,actions=ct(commit),normal"
before=$(pk 5001)
bf_restart
check_eq "a restart keeps the statistics of set flows" "$before" "$(pk 5001)"
tcp_ok "h1->h2 TCP 5001 passes after the restart" 1 2 10.1.1.2 5001
check_gt "...and the flow keeps counting" "$(pk 5001)" "$before"

check "del-flows removes the flow" bfctl del-flows "$BR" "table=1,tcp,tp_dst=5001"
check_eq "its key left the stats set with it" 5005 "$(stats_keys | sort -n | tr '\n' ' ' | sed 's/ $//')"
tcp_blocked "h1->h2 TCP 5001 is blocked without the flow" 1 2 10.1.1.2 5001
check "add-flow puts it back" bfctl add-flow "$BR" "$(allow 5001)"
check_eq "the re-added flow starts from zero" 0 "$(pk 5001)"
tcp_ok "h1->h2 TCP 5001 passes again" 1 2 10.1.1.2 5001
check_gt "...and counts afresh" "$(pk 5001)" 0
check_eq "the flow that never saw traffic still counts nothing" 0 "$(pk 5002)"

# reset_counts (OpenFlow 1.2's flow_mod flag) makes a modify start the counters again,
# for a set member and for a flow with a rule of its own; without it they stay
tcp_ok "h1->h2 TCP 5005 passes" 1 2 10.1.1.2 5005
check_gt "the set member for 5005 has counted" "$(pk 5005)" 0
check "mod-flows with reset_counts" bfctl mod-flows "$BR" \
	"reset_counts,table=1,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5005,actions=ct(commit),normal"
check_eq "reset_counts starts the set member's counters again" 0 "$(pk 5005)"
check_eq "...and leaves the other members' alone" 0 "$(pk 5002)"
tcp_ok "h1->h2 TCP 5005 passes after the reset" 1 2 10.1.1.2 5005
check_gt "...and the member counts afresh" "$(pk 5005)" 0
est() { flow_packets "ct_state=+est+trk"; }
before=$(est)
check_gt "the established flow has counted" "$before" 0
check "mod-flows --strict without reset_counts" bfctl --strict mod-flows "$BR" \
	"table=1,priority=100,ct_state=+trk+est,actions=normal"
check_eq "...keeps the established flow's counters" "$before" "$(est)"
check "mod-flows --strict with reset_counts" bfctl --strict mod-flows "$BR" \
	"table=1,priority=100,ct_state=+trk+est,reset_counts,actions=normal"
check_eq "...starts them again" 0 "$(est)"
tcp_ok "h1->h2 TCP 5001 still passes" 1 2 10.1.1.2 5001
check_gt "...and the established flow counts afresh" "$(est)" 0

# An add of a flow that is already there, as in OVS: with OpenFlow 1.0 and 1.1
# (ovs-ofctl's default) its counters start again; from 1.2 on (-O OpenFlow13) they stay
# unless the add has reset_counts.  For a set member and for a flow with a rule of its own.
tcp_ok "h1->h2 TCP 5005 passes" 1 2 10.1.1.2 5005
before=$(pk 5005)
check_gt "the set member for 5005 has counted" "$before" 0
check "-O OpenFlow13 add-flow of the same flow" bfctl -O OpenFlow13 add-flow "$BR" "$(allow 5005)"
check_eq "...keeps its counters" "$before" "$(pk 5005)"
check "-O OpenFlow10,OpenFlow13 add-flow of it with other actions" \
	bfctl -O OpenFlow10,OpenFlow13 add-flow "$BR" \
	"table=1,priority=50,ct_state=+new+trk,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5005,actions=ct(commit),output:2"
check_eq "...keeps them too (the highest version listed counts)" "$before" "$(pk 5005)"
tcp_ok "h1->h2 TCP 5005 passes with the new actions" 1 2 10.1.1.2 5005
check_gt "...and the flow goes on counting" "$(pk 5005)" "$before"
check "-O OpenFlow13 add-flow of it with reset_counts" \
	bfctl -O OpenFlow13 add-flow "$BR" "reset_counts,$(allow 5005)"
check_eq "...starts its counters again" 0 "$(pk 5005)"
tcp_ok "h1->h2 TCP 5005 passes" 1 2 10.1.1.2 5005
check_gt "...and counts" "$(pk 5005)" 0
check "add-flow of it without -O" bfctl add-flow "$BR" "$(allow 5005)"
check_eq "...starts its counters again (OpenFlow 1.0)" 0 "$(pk 5005)"
tcp_ok "h1->h2 TCP 5005 passes" 1 2 10.1.1.2 5005
before=$(pk 5005)
check "-O OpenFlow13 add-flows with the flow" bfctl -O OpenFlow13 add-flows "$BR" <(allow 5005)
check_eq "...keeps its counters" "$before" "$(pk 5005)"
check "-O OpenFlow13 add-flows with an 'add' line" bfctl -O OpenFlow13 add-flows "$BR" \
	<(echo "add $(allow 5005)")
check_eq "...keeps them too" "$before" "$(pk 5005)"
check "add-flows with the flow, without -O" bfctl add-flows "$BR" <(allow 5005)
check_eq "...starts them again" 0 "$(pk 5005)"

tcp_ok "h1->h2 TCP 5005 passes" 1 2 10.1.1.2 5005
before=$(pk 5005)
est_before=$(est)
check "-O OpenFlow13 add-flow of the established flow" bfctl -O OpenFlow13 add-flow "$BR" \
	"table=1,priority=100,ct_state=+trk+est,actions=normal"
check_eq "...keeps its counters" "$est_before" "$(est)"
# replace-flows: ovs-ofctl adds each flow whose actions changed, and leaves equal ones
check "-O OpenFlow13 replace-flows with 5005's actions changed" \
	bfctl -O OpenFlow13 replace-flows "$BR" <(cat "$BF_DIR/stats.flows"; allow 5006;
		echo "table=1,priority=50,ct_state=+new+trk,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5005,actions=ct(commit),output:2")
check_eq "...keeps the changed flow's counters" "$before" "$(pk 5005)"
check "replace-flows with 5005's actions changed back, without -O" \
	bfctl replace-flows "$BR" <(cat "$BF_DIR/stats.flows"; allow 5005; allow 5006)
check_eq "...starts the changed flow's counters again" 0 "$(pk 5005)"
check_eq "...and keeps the unchanged established flow's" "$est_before" "$(est)"
check "add-flow of the established flow without -O" bfctl add-flow "$BR" \
	"table=1,priority=100,ct_state=+trk+est,actions=normal"
check_eq "...starts its counters again" 0 "$(est)"
bf_done
