#!/bin/bash
# Seed firewall 2 (issue 2): seed firewall 1 in conntrack zone 10; flush-conntrack by zone.
. "$(dirname "$0")/lib.sh"

bf_topology 2
bf_flows_check "seed firewall 2 loads" seed2.flows || bf_done

tcp_ok "h1->h2 TCP passes" 1 2 10.1.1.2 5001
tcp_blocked "h2->h1 TCP is blocked" 2 1 10.1.1.1 5002
http_start 2 80 || not_ok "http server on h2" "did not listen"
check_http_ok "h1->h2 HTTP passes" 1 2 http://10.1.1.2/
ping_ok "ping h1->h2 passes" 1 10.1.1.2
ping_blocked "ping h2->h1 is blocked" 2 10.1.1.1

check_ct "dump-conntrack shows zone=10" 10.1.1.2 \
'icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=<cleared>,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.1,id=<cleared>,type=0,code=0),zone=10
tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),zone=10,protoinfo=(state=<cleared>)'

n=$(ct_dump zone=10 2>&1 | grep -c 'zone=10')
check_gt "dump-conntrack zone=10 lists the zone's entries" "$n" 0
check_eq "dump-conntrack zone=11 lists nothing" "" "$(ct_dump zone=11 2>&1)"
check_eq "the kernel sees the entries in zone 10" "$n" \
	"$(ip netns exec "$SW" conntrack -L -w 10 2>/dev/null | grep -c 'src=10.1.1.1 dst=10.1.1.2')"

check "flush-conntrack zone=11 succeeds" bfctl flush-conntrack zone=11
check_eq "flush-conntrack zone=11 leaves zone 10 alone" "$n" \
	"$(ct_dump 2>&1 | grep -c 'zone=10')"
check "flush-conntrack zone=10 succeeds" bfctl flush-conntrack zone=10
check_eq "flush-conntrack zone=10 removes the zone's entries" "" \
	"$(ct_dump 2>&1 | grep 'zone=10')"
check_eq "the kernel has no zone 10 entries left" 0 \
	"$(ip netns exec "$SW" conntrack -L -w 10 2>/dev/null | grep -c 'src=10.1.1.1 dst=10.1.1.2')"

# new connections are committed again after the flush
tcp_ok "h1->h2 TCP still passes after the flush" 1 2 10.1.1.2 5003
check_gt "the new connection is tracked in zone 10" \
	"$(ct_dump zone=10 2>&1 | grep -c 'dport=5003')" 0

bf_done
