#!/bin/bash
# ct_mark and ct_label written by ct(commit,exec(...)) and matched on later packets.
. "$(dirname "$0")/lib.sh"

bf_topology 4
bf_flows_check "ct_mark flows load" ct-mark.flows || bf_done

tcp_ok "mark 1: h1->h2 TCP passes" 1 2 10.1.1.2 5001
tcp_blocked "mark 2: h3->h4 TCP is blocked (replies need mark 1)" 3 4 10.1.1.4 5001
check_gt "later packets from port 1 match ct_mark=1" \
	"$(flow_packets 'table=1,' 'ct_mark=0x1' 'in_port=1')" 0
check_gt "replies from port 2 match ct_mark=1" \
	"$(flow_packets 'table=1,' 'ct_mark=0x1' 'in_port=2')" 0
check_eq "replies from port 4 never match ct_mark=1" 0 \
	"$(flow_packets 'table=1,' 'ct_mark=0x1' 'in_port=4')"
check_ct "dump-conntrack shows mark=1" 10.1.1.2 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),mark=1,protoinfo=(state=<cleared>)'
check_ct "dump-conntrack shows mark=2" 10.1.1.4 \
'tcp,orig=(src=10.1.1.3,dst=10.1.1.4,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.4,dst=10.1.1.3,sport=<cleared>,dport=<cleared>),mark=2,protoinfo=(state=<cleared>)'
check_eq "the kernel's mark carries brflow's committed bit 31 with mark 1" 1 \
	"$(ct_look | grep 'dst=10.1.1.2 sport' | grep -c 'mark=2147483649')"

out=$(bfctl replace-flows "$BR" "$FLOWS/ct-label.flows" 2>&1)
check_eq "ct_label flows replace the ct_mark flows" "" "$out"
bfctl flush-conntrack >/dev/null 2>&1

tcp_ok "label 0x1, mark 7: h1->h2 TCP passes" 1 2 10.1.1.2 5002
tcp_blocked "label without bit 0: h3->h4 TCP is blocked" 3 4 10.1.1.4 5002
check_ct "dump-conntrack shows mark=7,labels=0x1" 10.1.1.2 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),mark=7,labels=0x1,protoinfo=(state=<cleared>)'
check_ct "dump-conntrack prints labels in hex without leading zeros" 10.1.1.4 \
'tcp,orig=(src=10.1.1.3,dst=10.1.1.4,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.4,dst=10.1.1.3,sport=<cleared>,dport=<cleared>),labels=0xa000d000005000000,protoinfo=(state=<cleared>)'
# a masked label write that would have to clear bits another flow sets is refused, in one line
rules0=$(nft_snapshot)
out=$(bfctl add-flow "$BR" "table=0,priority=200,in_port=1,udp,actions=ct(commit,exec(set_field:0x2/0x3->ct_label)),2" 2>&1)
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && [[ $out == *ct_label* ]]; then
	ok "a ct_label write that clears bits is rejected with one line naming ct_label"
else
	# accepting it is fine only if clearing really works: then this case belongs elsewhere
	not_ok "a ct_label write that clears bits is rejected with one line naming ct_label" \
		"exit $rc, output '$(bf_oneline "$out")'"
fi
check_eq "the rejected label write left the ruleset alone" "$rules0" "$(nft_snapshot)"

check_gt "replies from port 2 match ct_mark=7,ct_label=0x1/0x1" \
	"$(flow_packets 'table=1,' 'in_port=2' 'actions=output:1')" 0
check_eq "replies from port 4 never match ct_label=0x1/0x1" 0 \
	"$(flow_packets 'table=1,' 'in_port=4' 'actions=output:3')"

bf_done
