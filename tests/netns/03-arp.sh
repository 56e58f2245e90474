#!/bin/bash
# ARP fields with real ARP: arp_spa and arp_sha as Neutron's ARP spoofing protection uses
# them (a port speaks ARP only for its own address and MAC, so a host that takes another
# address reaches no one from it), arp_op with arp_tpa (h1's requests for h2 dropped) and
# arp_tha (h2's replies to h1 dropped).  Pings, the hosts' neighbour tables, the flows'
# counters and brflowctl trace show it.  The ports' flows are alike but for in_port and
# the ARP fields, so they are one set lookup, and an address allowed later joins the set.
. "$(dirname "$0")/lib.sh"

bf_topology 2
mac1=$(host_mac 1)
mac2=$(host_mac 2)
cat >"$BF_DIR/arp.flows" <<FLOWS
priority=10,arp,in_port=1,arp_spa=10.1.1.1,arp_sha=$mac1,actions=normal
priority=10,arp,in_port=2,arp_spa=10.1.1.2,arp_sha=$mac2,actions=normal
priority=5,arp,actions=drop
priority=1,ip,actions=normal
priority=0,actions=drop
FLOWS
check "the ARP spoofing protection loads" bfctl replace-flows "$BR" "$BF_DIR/arp.flows"
check_eq "dump-flows prints the ARP fields as ovs-ofctl does" \
	" priority=10,arp,in_port=1,arp_spa=10.1.1.1,arp_sha=$mac1 actions=NORMAL" \
	"$(bfctl --no-stats --no-names dump-flows "$BR" arp,in_port=1 2>&1)"
bridge_table() { ip netns exec "$SW" nft list table bridge "brflow_$BR" 2>&1; }
check_re "the ports' ARP flows are one set lookup in the bridge family" \
	'arp saddr ip \. arp saddr ether @g[0-9]+ ' "$(bridge_table)"
# forget: both hosts forget each other, so the next packet needs ARP again
forget() { ip -n "$(hns 1)" neigh flush all; ip -n "$(hns 2)" neigh flush all; }

forget
ping_ok "h1 and h2 resolve each other and ping" 1 10.1.1.2
check_gt "...through h1's ARP flow" "$(flow_packets in_port=1,arp_spa=10.1.1.1)" 0
check_gt "...and h2's" "$(flow_packets in_port=2,arp_spa=10.1.1.2)" 0
dropped=$(flow_packets "priority=5,arp")

ip -n "$(hns 1)" addr add 10.1.1.9/24 dev eth0
forget
ping_answers "h1 pinging from 10.1.1.9, an address not its own, gets no answer" 1 10.1.1.2 0 -I 10.1.1.9
check_gt "...its ARP with arp_spa=10.1.1.9 meets the drop flow" "$(flow_packets "priority=5,arp")" "$dropped"
check_eq "...and h2 never learns 10.1.1.9" "" \
	"$(ip -n "$(hns 2)" neigh show 10.1.1.9 | grep lladdr)"
check_re "trace: h1's ARP from 10.1.1.9 is dropped by the priority 5 flow" \
	"arp, priority 5.*drop.*Verdict: drop" \
	"$(bfctl trace "$BR" "in_port=1,arp,arp_op=1,arp_spa=10.1.1.9,arp_sha=$mac1,arp_tpa=10.1.1.2" 2>&1 | tr '\n' ' ')"
# h1's pending resolution of h2 still holds the packets from 10.1.1.9, whose source
# Linux would keep asking with: forget it first
forget
ping_answers "from its own address 10.1.1.1 it still does" 1 10.1.1.2 3 -I 10.1.1.1
own9="priority=10,arp,in_port=1,arp_spa=10.1.1.9,arp_sha=$mac1"
check "10.1.1.9 allowed for h1 by a flow like the others" bfctl add-flow "$BR" "$own9,actions=normal"
check_re "...which joins their set as an element" "10\\.1\\.1\\.9 \\. $mac1" "$(bridge_table)"
forget
ping_answers "...and h1 reaches h2 from 10.1.1.9" 1 10.1.1.2 3 -I 10.1.1.9
check_gt "...through that flow" "$(flow_packets arp_spa=10.1.1.9)" 0
check "del-flows --strict takes it out" bfctl --strict del-flows "$BR" "$own9"
forget
ping_answers "...and 10.1.1.9 gets no answer again" 1 10.1.1.2 0 -I 10.1.1.9
forget
ip -n "$(hns 1)" addr del 10.1.1.9/24 dev eth0

# arp_op and arp_tpa (and arp_sha): h1's requests for h2 dropped
check "a flow dropping h1's ARP requests for 10.1.1.2" bfctl add-flow "$BR" \
	"priority=20,arp,in_port=1,arp_op=1,arp_tpa=10.1.1.2,arp_sha=$mac1,actions=drop"
forget
ping_blocked "h1 cannot resolve h2" 1 10.1.1.2
check_gt "...the flow counted its requests" "$(flow_packets priority=20 arp_tpa=10.1.1.2,arp_op=1)" 0
check "del-flows --strict deletes it" bfctl --strict del-flows "$BR" \
	"priority=20,arp,in_port=1,arp_op=1,arp_tpa=10.1.1.2,arp_sha=$mac1"
check "the same with another arp_sha" bfctl add-flow "$BR" \
	"priority=20,arp,in_port=1,arp_op=1,arp_tpa=10.1.1.2,arp_sha=02:00:00:00:00:99,actions=drop"
forget
ping_ok "...does not match h1's requests: h1 reaches h2" 1 10.1.1.2
check "arp_op=2 instead: replies only" bfctl add-flow "$BR" \
	"priority=30,arp,in_port=1,arp_op=2,arp_tpa=10.1.1.2,actions=drop"
forget
ping_ok "...h1's requests pass, and h2 asks for nothing: h1 reaches h2" 1 10.1.1.2

# arp_tha: h2's replies to h1's MAC dropped
check "a flow dropping h2's ARP replies to h1's MAC" bfctl add-flow "$BR" \
	"priority=20,arp,in_port=2,arp_op=2,arp_tha=$mac1,actions=drop"
forget
ping_blocked "h1 cannot resolve h2" 1 10.1.1.2
check_gt "...the flow counted h2's replies" "$(flow_packets "arp_tha=$mac1")" 0
bf_done
