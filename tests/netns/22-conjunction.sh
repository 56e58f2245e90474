#!/bin/bash
# Conjunctive matches (conjunction(ID,K/N), conj_id=ID) as OpenStack's OVS firewall driver
# writes a security group: remote addresses (dimension 1) x destination ports
# (dimension 2), allowed by the conj_id flow, which also matches nw_dst.  Real TCP and UDP:
# the allowed combinations pass, a packet matching one dimension only does not, nor one
# matching both but not the conj_id flow's own match; a higher-priority drop wins;
# dump-flows counts on the conj_id flow and leaves the clauses at 0; add-flow and
# del-flows --strict of a clause change what passes, and a restarted brflowd keeps it.
. "$(dirname "$0")/lib.sh"

bf_topology 3
cat >"$BF_DIR/sg.flows" <<'FLOWS'
table=0,priority=10,arp,actions=normal
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+est,ip,actions=normal
table=1,priority=200,ct_state=+trk+new,tcp,nw_src=10.1.1.2,tp_dst=5003,actions=drop
table=1,priority=70,ct_state=+trk+new,ip,nw_src=10.1.1.1,actions=conjunction(8,1/2)
table=1,priority=70,ct_state=+trk+new,ip,nw_src=10.1.1.2,actions=conjunction(8,1/2)
table=1,priority=70,ct_state=+trk+new,tcp,tp_dst=5001,actions=conjunction(8,2/2)
table=1,priority=70,ct_state=+trk+new,tcp,tp_dst=5003,actions=conjunction(8,2/2)
table=1,priority=70,ct_state=+trk+new,udp,tp_dst=5353,actions=conjunction(8,2/2)
table=1,priority=70,conj_id=8,ip,nw_dst=10.1.1.3,actions=ct(commit),normal
table=1,priority=1,actions=drop
FLOWS
check "the security group loads" bfctl replace-flows "$BR" "$BF_DIR/sg.flows"
check_re "dump-flows prints the conjunctions and conj_id as ovs-ofctl does" \
	"priority=70,ct_state=\+new\+trk,tcp,tp_dst=5001 actions=conjunction\(8,2/2\).*priority=70,conj_id=8,ip,nw_dst=10.1.1.3 actions=ct\(commit\),NORMAL" \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1 | tr '\n' ' ')"

h3=$(hip 3)
tcp_ok "TCP from an allowed address to an allowed port passes: h1->h3:5001" 1 3 "$h3" 5001
tcp_ok "...and from the other allowed address: h2->h3:5001" 2 3 "$h3" 5001
udp_ok "UDP to the allowed UDP port passes: h1->h3:5353" 1 3 "$h3" 5353
tcp_blocked "an allowed address to another port (dimension 1 only) is dropped: h1->h3:5002" \
	1 3 "$h3" 5002
udp_blocked "an allowed port from another address (dimension 2 only) is dropped: h3->h1:5353" \
	3 1 "$(hip 1)" 5353
udp_blocked "both dimensions but not the conj_id flow's nw_dst is dropped: h2->h1:5353" \
	2 1 "$(hip 1)" 5353
tcp_ok "port 5003 is allowed from h1" 1 3 "$h3" 5003
tcp_blocked "the higher-priority drop wins over the conjunction: h2->h3:5003" 2 3 "$h3" 5003

n_conj=$(flow_packets 'conj_id=8')
check_gt "dump-flows counts the packets on the conj_id flow" "$n_conj" 0
check_eq "...and the clause flows stay at 0" "0 0 0" \
	"$(flow_packets 'nw_src=10.1.1.1 actions=conj') $(flow_packets 'tp_dst=5001 actions=conj') $(flow_packets 'udp,tp_dst=5353 actions=conj')"

check_re "trace names the clause of each dimension, then runs the conj_id flow" \
	"conjunction\(8\) matches: a clause of each of its 2 dimensions.*dimension 1: ct_state=\+new\+trk,ip,nw_src=10.1.1.2, priority 70.*dimension 2: ct_state=\+new\+trk,tcp,tp_dst=5001, priority 70.*conj_id=8,ip,nw_dst=10.1.1.3, priority 70.*Verdict: NORMAL" \
	"$(bfctl trace "$BR" --ct-next=new in_port=2,tcp,nw_src=10.1.1.2,nw_dst=10.1.1.3,tp_dst=5001 2>&1 | tr '\n' ' ')"

check "add-flow adds a clause for port 5002" bfctl add-flow "$BR" \
	'table=1,priority=70,ct_state=+trk+new,tcp,tp_dst=5002,actions=conjunction(8,2/2)'
tcp_ok "...and h1->h3:5002 passes" 1 3 "$h3" 5002
check "del-flows --strict deletes the clause for port 5001" bfctl del-flows --strict "$BR" \
	'table=1,priority=70,ct_state=+trk+new,tcp,tp_dst=5001'
tcp_blocked "...and h1->h3:5001 is dropped" 1 3 "$h3" 5001
n_after=$(flow_packets 'conj_id=8')
check_gt "the conj_id flow keeps its count across the recompiles" "$n_after" "$((n_conj - 1))"

check_eq "a conj_id flow at another priority is refused, naming it" \
	"brflowctl: add-flow: flow 'table=1,priority=71,conj_id=9,ip actions=NORMAL': conj_id=9 is at priority 71 but clauses of conjunction 9 are at priority 70: brflow needs them at the same priority" \
	"$(bfctl add-flow "$BR" 'table=1,priority=70,tcp,actions=conjunction(9,1/2)' 2>&1 &&
	   bfctl add-flow "$BR" 'table=1,priority=70,udp,actions=conjunction(9,2/2)' 2>&1 &&
	   bfctl add-flow "$BR" 'table=1,priority=71,conj_id=9,ip,actions=normal' 2>&1)"
check_fails "...and not added" flow_packets 'conj_id=9'

flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
bf_restart
check_eq "the restarted brflowd has the same flows" "$flows0" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
tcp_ok "after the restart h2->h3:5002 passes" 2 3 "$h3" 5002
udp_ok "...and h2->h3:5353" 2 3 "$h3" 5353
tcp_blocked "...and h2->h3:5001 is still dropped" 2 3 "$h3" 5001
bf_done
