#!/bin/bash
# ct_state: +new/+est/+rpl/+rel/+inv as OVS shows them, uncommitted connections, strict TCP.
# dump-flows counters are the witnesses.
. "$(dirname "$0")/lib.sh"

bf_topology 2
check_eq "the daemon turned nf_conntrack_tcp_loose off in its namespace" 0 \
	"$(ip netns exec "$SW" sysctl -n net.netfilter.nf_conntrack_tcp_loose 2>&1)"

# --- uncommitted UDP: both directions look +new, nothing is left in conntrack
bf_flows_check "uncommitted-UDP flows load" ct-uncommitted.flows || bf_done
udp_echo_start 2 7000 || not_ok "udp echo server on h2" "did not listen"
check_eq "uncommitted: h1 gets h2's UDP answer" "echo:ping" "$(udp_ask 1 10.1.1.2 7000 40000)"
check_eq "uncommitted: a second exchange on the same ports works" "echo:ping" \
	"$(udp_ask 1 10.1.1.2 7000 40000)"
check_gt "uncommitted: both requests look +new" \
	"$(flow_packets 'table=1,' 'in_port=1' '+new')" 1
check_gt "uncommitted: the answers look +new" \
	"$(flow_packets 'table=1,' 'in_port=2' '+new')" 1
check_eq "uncommitted: no request looks +est" 0 "$(flow_packets 'table=1,' 'in_port=1' '+est')"
check_eq "uncommitted: no answer looks +est" 0 "$(flow_packets 'table=1,' 'in_port=2' '+est')"
check_eq "uncommitted: dump-conntrack has no entry" "" "$(ct_dump 2>&1 | grep 'dport=7000')"

# --- committed connections: +new, then +est-rpl one way and +est+rpl the other
out=$(bfctl replace-flows "$BR" "$FLOWS/ct-state.flows" 2>&1)
check_eq "ct_state flows replace them" "" "$out"
bfctl flush-conntrack >/dev/null 2>&1
tcp_ok "h1->h2 TCP passes" 1 2 10.1.1.2 5001
new1=$(flow_packets 'table=1,' 'in_port=1' 'actions=ct(commit)')
check_gt "port 1's SYN looks +new" "$new1" 0
check_gt "port 1's later packets look +est-rpl" \
	"$(flow_packets 'table=1,' 'in_port=1' 'ct_state=+est-rpl')" 0
check_gt "port 2's replies look +est+rpl" \
	"$(flow_packets 'table=1,' 'in_port=2' 'ct_state=+est+rpl')" 0

# --- a reply to an uncommitted TCP SYN is +inv (OVS), so h2 cannot open connections
inv0=$(flow_packets 'table=1,' '+inv')
tcp_blocked "h2->h1 TCP (uncommitted SYN) is blocked" 2 1 10.1.1.1 5002
check_gt "h2's uncommitted SYNs looked +new" \
	"$(flow_packets 'table=1,' 'in_port=2' 'tcp' '+new')" 0
check_gt "h1's SYN-ACK to the uncommitted SYN looked +inv" \
	"$(($(flow_packets 'table=1,' '+inv') - inv0))" 0
check_eq "h1's SYN-ACK did not look +new (it would have been committed)" "$new1" \
	"$(flow_packets 'table=1,' 'in_port=1' 'actions=ct(commit)')"

# --- +rel: the ICMP error for a committed UDP datagram
nc_out=$(printf 'x\n' | ip netns exec "$(hns 1)" timeout 5 nc -4 -n -u -w 1 10.1.1.2 9 2>&1)
wait_until 3 test "$(flow_packets 'table=1,' '+rel')" -gt 0
check_gt "h2's port unreachable for h1's UDP looks +rel" "$(flow_packets 'table=1,' '+rel')" 0

# --- strict TCP: a mid-stream packet without an entry is +inv, not picked up
if conn_open s1 1 2 10.1.1.2 6000; then
	check "long-lived connection carries data" conn_send s1 before-flush
	check "flush-conntrack succeeds" bfctl flush-conntrack
	inv0=$(flow_packets 'table=1,' '+inv')
	check_fails "after the flush, mid-stream data does not pass" conn_send s1 after-flush 3
	check_gt "the mid-stream packets looked +inv" \
		"$(($(flow_packets 'table=1,' '+inv') - inv0))" 0
	check_eq "no entry was picked up mid-stream" "" "$(ct_dump 2>&1 | grep 'dport=6000')"
else
	not_ok "long-lived connection" "could not open h1->h2:6000"
fi

bf_done
