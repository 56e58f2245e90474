#!/bin/bash
# Seed firewall 1 (issue 2): h1 may open connections to h2, h2 may only answer.
. "$(dirname "$0")/lib.sh"

bf_topology 2
bf_flows_check "seed firewall 1 loads" seed1.flows || bf_done
# the default flow of a new bridge counted what came before the firewall
normal0=$(flow_packets 'table=0,' 'priority=0 actions=NORMAL')

expected=' priority=100,ip,in_port=1 actions=ct(commit),output:2
 priority=100,ct_state=-trk,ip,in_port=2 actions=ct(table=1)
 priority=10,arp actions=NORMAL
 priority=1 actions=drop
 priority=0 actions=NORMAL
 table=1, priority=100,ct_state=+est,ip,in_port=2 actions=output:1
 table=1, priority=1 actions=drop'
check_eq "dump-flows --no-stats prints the flows as ovs-ofctl does" "$expected" \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1)"

tcp_ok "h1->h2 TCP passes" 1 2 10.1.1.2 5001
tcp_blocked "h2->h1 TCP is blocked" 2 1 10.1.1.1 5002
http_start 2 80 || not_ok "http server on h2" "did not listen"
http_start 1 80 || not_ok "http server on h1" "did not listen"
check_http_ok "h1->h2 HTTP passes" 1 2 http://10.1.1.2/
check_http_blocked "h2->h1 HTTP is blocked" 2 1 http://10.1.1.1/

# port 1 commits the echo request; the reply from port 2 is +est
ping_ok "ping h1->h2 passes" 1 10.1.1.2
check_ct "dump-conntrack shows the ICMP echo and TCP entries as OVS does" 10.1.1.2 \
'icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=<cleared>,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.1,id=<cleared>,type=0,code=0)
tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'
ping_blocked "ping h2->h1 is blocked" 2 10.1.1.1

# the HTTP connection, in OVS's exact format (ports mirrored, no zone/mark: bit 31 is ours)
check_ct_tcp "dump-conntrack shows the HTTP connection in OVS's format" 10.1.1.1 10.1.1.2 80
ct=$(ct_dump 2>&1)
# h2's attempts were tracked but never committed: no entry may be left
check_eq "blocked h2->h1 attempts leave no conntrack entry" "" \
	"$(grep 'orig=(src=10.1.1.2,dst=10.1.1.1' <<<"$ct")"

check_gt "n_packets counts port 1's commits" \
	"$(flow_packets 'table=0,' 'in_port=1' 'actions=ct(commit),output:2')" 0
check_gt "n_packets counts port 2's tracking" \
	"$(flow_packets 'table=0,' 'ct_state=-trk,ip,in_port=2')" 0
check_gt "n_packets counts port 2's +est replies" \
	"$(flow_packets 'table=1,' 'ct_state=+est')" 0
check_gt "n_packets counts port 2's dropped +new packets" \
	"$(flow_packets 'table=1,' 'priority=1 actions=drop')" 0
check_gt "n_packets counts ARP" "$(flow_packets 'table=0,' 'priority=10,arp')" 0
check_eq "the default NORMAL flow is shadowed" "$normal0" \
	"$(flow_packets 'table=0,' 'priority=0 actions=NORMAL')"

# port names resolve through the bridge's ports, as in ovs-ofctl
check "a flow may name ports" bfctl add-flow "$BR" \
	"table=1,priority=200,in_port=p2,udp,actions=output:p1"
check_re "named ports are stored as their numbers" \
	'table=1, priority=200,udp,in_port=2 actions=output:1' \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1)"
check_eq "an unknown port name is refused in one line" \
	"brflowctl: add-flow: unknown port 'p9' at column 9" \
	"$(bfctl add-flow "$BR" "in_port=p9,actions=drop" 2>&1)"

bf_done
