#!/bin/bash
# Open vSwitch system-traffic conntrack cases, flow files verbatim: IPv4/IPv6 ping and HTTP.
# OVS's at_ns0..at_ns3 are hosts h1..h4 here (ports 1..4).
. "$(dirname "$0")/lib.sh"

bf_topology 2

ovs_case "conntrack - IPv4 ping"
if ovs_load ovs-ipv4-ping.flows; then
	check_eq "$OVS_CASE: pings ns0->ns1 work" 3 "$(ping_count 1 10.1.1.2 3)"
	check_ct "$OVS_CASE: dump-conntrack" 10.1.1.2 \
'icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=<cleared>,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.1,id=<cleared>,type=0,code=0)'
	check "$OVS_CASE: flush-conntrack" bfctl flush-conntrack
	check_ct "$OVS_CASE: dump-conntrack after flush" 10.1.1.2 ""
	check_eq "$OVS_CASE: pings ns1->ns0 fail" 0 "$(ping_count 2 10.1.1.1 3)"
fi

ovs_case "conntrack - IPv6 ping"
if ovs_load ovs-ipv6-ping.flows; then
	check "$OVS_CASE: ping6 ns0->ns1 comes up" wait_until 10 \
		ip netns exec "$(hns 1)" ping -6 -c 1 -W 1 fc00::2
	check "$OVS_CASE: flush-conntrack" bfctl flush-conntrack
	check_eq "$OVS_CASE: pings ns1->ns0 fail" 0 "$(ping_count 2 fc00::1 3)"
	check_eq "$OVS_CASE: pings ns0->ns1 work" 3 "$(ping_count 1 fc00::2 3)"
	check_ct "$OVS_CASE: dump-conntrack" fc00::2 \
'icmpv6,orig=(src=fc00::1,dst=fc00::2,id=<cleared>,type=128,code=0),reply=(src=fc00::2,dst=fc00::1,id=<cleared>,type=129,code=0)'
	check "$OVS_CASE: flush-conntrack" bfctl flush-conntrack
	check_ct "$OVS_CASE: dump-conntrack after flush" fc00::2 ""
fi

ovs_case "conntrack - IPv4 HTTP"
if ovs_load ovs-ipv4-http.flows; then
	ovs_l7 1
	ovs_l7 2
	check_ovs_http "$OVS_CASE: HTTP ns0->ns1 works" 1 10.1.1.2 0
	check_ct "$OVS_CASE: dump-conntrack" 10.1.1.2 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'
	check_ovs_http "$OVS_CASE: HTTP ns1->ns0 fails" 2 10.1.1.1 28
fi

ovs_case "conntrack - IPv6 HTTP"
if ovs_load ovs-ipv6-http.flows; then
	check "$OVS_CASE: ping6 ns0->ns1 comes up" wait_until 10 \
		ip netns exec "$(hns 1)" ping -6 -c 1 -W 1 fc00::2
	ovs_l7 1
	ovs_l7 2
	check_ovs_http "$OVS_CASE: HTTP ns0->ns1 works" 1 'http://[fc00::2]' 0
	check_ct "$OVS_CASE: dump-conntrack" fc00::2 \
'tcp,orig=(src=fc00::1,dst=fc00::2,sport=<cleared>,dport=<cleared>),reply=(src=fc00::2,dst=fc00::1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'
	check_ovs_http "$OVS_CASE: HTTP ns1->ns0 fails" 2 'http://[fc00::1]' 28
fi

bf_done
