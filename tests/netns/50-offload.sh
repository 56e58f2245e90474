#!/bin/bash
# Flowtable offload (issue 4): routed TCP between two bridges (the 50-local topology and
# flows) is offloaded once established, shows ",offload" in dump-conntrack, and skips the
# chains (flow counters stop); a policy change that denies it cuts it all the same; with
# offload=off it stays in the chains.  On a kernel without flowtables, show says so and
# set-br offload=on is refused; the rest is skipped.
. "$(dirname "$0")/lib.sh"

bf_routed_topology 2 1
# show_brief: brflowctl show with each port on one line, "1(p1)", without the
# address, config and state lines of ovs-ofctl show's port description
show_brief() {
	bfctl show 2>&1 | grep -v -e '^     config:' -e '^     state:' -e '^ LOCAL(' |
		sed 's/: addr:[0-9a-f:]*$//'
}
show=$(show_brief)
if ! grep -q '^ flowtables: yes' <<<"$show"; then
	check_re "show reports flowtables missing" \
		'flowtables: no.*established fast path: none \(kernel lacks nf_flow_table\)' \
		"$(tr '\n' ' ' <<<"$show")"
	check_re "show says offload is off by default here" '^br0: 1\(p1\) 2\(p2\) offload: off \(default\)' \
		"$(tr '\n' ' ' <<<"$show" | sed 's/  */ /g')"
	check_eq "set-br offload=on is refused, naming the missing kernel feature" \
		"brflowctl: set-br: offload=on: the kernel lacks nf_flow_table (flowtables)" \
		"$(bfctl set-br br0 offload=on 2>&1)"
	check_eq "set-br offload=off is accepted" "" "$(bfctl set-br br0 offload=off 2>&1)"
	skip "routed connections are offloaded, cut by policy, not offloaded when off" \
		"kernel lacks nf_flow_table"
	bf_done
fi

check_re "show reports flowtables and the fast path" \
	'flowtables: yes.*established fast path: flowtable' "$(tr '\n' ' ' <<<"$show")"
check_re "offload is on by default where the kernel has flowtables" \
	'^br0: 1\(p1\) 2\(p2\) offload: on \(default\)' "$(tr '\n' ' ' <<<"$show" | sed 's/  */ /g')"
bf_flows_check "br0's flows load" local-br0.flows || bf_done
if out=$(bf_flows_on br1 local-br1.flows 2>&1); then
	ok "br1's flows load"
else
	not_ok "br1's flows load" "$(bf_oneline "$out")"
	bf_done
fi
check_re "show lists the bridge-family flowtable probe" 'bridged \(layer 2\) offload: ' \
	"$(bfctl show 2>&1 | tr '\n' ' ')"

offloaded() { ct_dump | grep 'dport=5001)' | grep -q ',offload$'; }

conn_open c1 1 3 10.2.2.3 5001 || not_ok "routed connection h1->h3:5001" "could not open it"
check "the routed connection carries data" conn_send c1 first
conn_send c1 second >/dev/null
if wait_until 10 offloaded; then
	ok "dump-conntrack shows the routed connection offloaded"
else
	not_ok "dump-conntrack shows the routed connection offloaded" \
		"no ',offload' on it: $(bf_oneline "$(ct_dump)"); conntrack -L: $(bf_oneline "$(ct_look)")"
fi
before=$(flow_packets_on br1 'tcp,in_port=LOCAL,tp_dst=5001')
for i in 1 2 3 4 5; do conn_send c1 "offloaded-$i" >/dev/null; done
check "the offloaded connection carries data" conn_send c1 offloaded-last
check_eq "offloaded packets skip the chains: br1's flow counter stays" "$before" \
	"$(flow_packets_on br1 'tcp,in_port=LOCAL,tp_dst=5001')"

# br1 stops letting TCP 5001 in from LOCAL: the offloaded connection is cut too
check "br1's policy changes to deny TCP 5001" bfctl del-flows br1 'tcp,in_port=LOCAL,tp_dst=5001'
if conn_send c1 after-deny 3; then
	not_ok "a policy change cuts the offloaded connection" "a line arrived after the deny"
else
	ok "a policy change cuts the offloaded connection"
fi

# offload=off: a new connection stays in the chains
check "br1's policy allows TCP 5001 again" bfctl add-flow br1 \
	'priority=100,tcp,tp_dst=5001,in_port=LOCAL,actions=ct(commit),output:p3'
check "set-br br0 offload=off" bfctl set-br br0 offload=off
check_re "show prints the setting" '^br0: 1\(p1\) 2\(p2\) offload: off (conntrack: [^:]* )?br1' \
	"$(show_brief | tr '\n' ' ' | sed 's/  */ /g')"
bfctl flush-conntrack >/dev/null 2>&1
# c1's server still listens on 5001 and could take c2's connection without accepting it
conn_close c1
conn_open c2 1 3 10.2.2.3 5001 || not_ok "second routed connection" "could not open it"
# an emulated CPU shared with other work can be slow to schedule nc
for i in 1 2 3; do conn_send c2 "slow-$i" 15 >/dev/null; done
if ! conn_send c2 slow-last 15; then
	not_ok "the connection carries data with offload off" \
		"conntrack: $(bf_oneline "$(ct_look)"); server: $(bf_oneline "$(cat "$BF_DIR/c2.out")"); client: $(bf_oneline "$(cat "$BF_DIR/c2.cli")"); h3: $(bf_oneline "$(ip netns exec "$(hns 3)" ss -tn)")"
	[ -n "${BF_DEBUG:-}" ] && ip netns exec "$SW" nft list ruleset | grep -E 'counter|chain|flow' | grep -v 'packets 0 ' | head -80
else
	ok "the connection carries data with offload off"
fi
if offloaded; then
	not_ok "with offload=off the connection is not offloaded" "$(bf_oneline "$(ct_dump)")"
else
	ok "with offload=off the connection is not offloaded"
fi
check "offload=hw on veth ports is refused" \
	bash -c "! $BRFLOWCTL set-br br0 offload=hw"
check_re "the refusal names hardware offload" 'offload=hw' \
	"$(bfctl set-br br0 offload=hw 2>&1)"

bf_done
