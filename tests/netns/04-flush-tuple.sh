#!/bin/bash
# flush-conntrack with conntrack tuples, as ovs-ofctl ct-flush takes them: [zone=N]
# [ORIG-TUPLE [REPLY-TUPLE]], a partial tuple matching every connection that agrees on
# the fields it names.  An operator who tightens a policy flushes the connections it no
# longer allows: traffic shows that exactly the flushed TCP connections stop (their
# next segment is +inv, as conntrack does not pick up mid-stream) and the others go on.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/flush.flows" <<'FLOWS'
table=0,priority=20,icmp6,icmp_type=135,actions=normal
table=0,priority=20,icmp6,icmp_type=136,actions=normal
table=0,priority=10,ip,actions=ct(table=1,zone=10)
table=0,priority=10,ipv6,actions=ct(table=1,zone=10)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+est,actions=normal
table=1,priority=50,ct_state=+trk+new,ip,in_port=1,actions=ct(commit,zone=10),normal
table=1,priority=50,ct_state=+trk+new,ipv6,in_port=1,actions=ct(commit,zone=10),normal
table=1,priority=0,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/flush.flows"

# entries DPORT: how many committed connections of zone 10 go to port DPORT
entries() { ct_dump zone=10 2>&1 | grep -c "dport=$1)"; }

conn_open a 1 2 10.1.1.2 7001 || not_ok "connection a" "did not open"
conn_open b 1 2 10.1.1.2 7002 || not_ok "connection b" "did not open"
conn_open c 1 2 fc00::2 7003 || not_ok "connection c (IPv6)" "did not open"
check "connection a carries data" conn_send a a-before
check "connection b carries data" conn_send b b-before
check "connection c carries data" conn_send c c-before
check_eq "ping h1->h2 passes" 3 "$(ping_count 1 10.1.1.2 3)"
check_eq "zone 10 holds a, b and c" "1 1 1" "$(entries 7001) $(entries 7002) $(entries 7003)"

check "flush-conntrack zone=11 with a's tuple succeeds" \
	bfctl flush-conntrack zone=11 ct_nw_src=10.1.1.1,ct_nw_proto=6,ct_tp_dst=7001
check_eq "...and deletes nothing: a is in zone 10" "1" "$(entries 7001)"
check "flush-conntrack zone=10 with a's original tuple succeeds" \
	bfctl flush-conntrack zone=10 ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=6,ct_tp_dst=7001
check_eq "...and deletes a only" "0 1 1" "$(entries 7001) $(entries 7002) $(entries 7003)"
check_fails "a's next segment is invalid now, and dropped" conn_send a a-after 3
check "b still carries data" conn_send b b-after

check "a reply tuple alone (after an empty original tuple) selects b by its server side" \
	bfctl flush-conntrack '' ct_nw_src=10.1.1.2,ct_nw_proto=6,ct_tp_src=7002
check_eq "...and deletes b only" "0 1" "$(entries 7002) $(entries 7003)"
check_fails "b's next segment is dropped" conn_send b b-late 3

check_gt "the ping left an ICMP entry" "$(ct_dump zone=10 2>&1 | grep -c '^icmp,')" 0
check "flush-conntrack by ICMP type" bfctl flush-conntrack ct_nw_proto=1,icmp_type=8
check_eq "...deletes the echo request's entry" 0 "$(ct_dump zone=10 2>&1 | grep -c '^icmp,')"
check_eq "...and leaves the IPv6 connection" 1 "$(entries 7003)"

check "flush-conntrack by IPv6 source" bfctl flush-conntrack ct_ipv6_src=fc00::1
check_eq "...deletes c" 0 "$(entries 7003)"
check_fails "c's next segment is dropped" conn_send c c-after 3
conn_close a
conn_close b
conn_close c
tcp_ok "a new connection is committed as before" 1 2 10.1.1.2 7004

# Errors: one line naming the field or value (exit 1), or usage (exit 2).
check_error() { # NAME REGEX RC ARG...
	local name=$1 re=$2 want=$3 out rc
	shift 3
	out=$(bfctl flush-conntrack "$@" 2>&1)
	rc=$?
	check_re "$name" "$re" "$out"
	check_eq "...in one line, exit $want" "1 $want" "$(grep -c . <<<"$out") $rc"
}
check_error "a misspelt tuple field" \
	"^brflowctl: flush-conntrack: unknown field 'ct_nw_sorc' in a conntrack tuple \(ct_nw_src, " 1 \
	ct_nw_sorc=10.1.1.1
check_error "a port without a protocol" "^brflowctl: flush-conntrack: a port needs ct_nw_proto$" 1 \
	ct_tp_dst=80
check_error "a bad address" "^brflowctl: flush-conntrack: invalid address '10.1.1' for 'ct_nw_dst'$" 1 \
	zone=10 ct_nw_dst=10.1.1
check_error "a bad zone" "^brflowctl: flush-conntrack: invalid zone '70000'$" 1 zone=70000 ct_nw_proto=6
check_error "a third tuple" "usage: brflowctl \[OPTIONS\] flush-conntrack" 2 zone=1 ct_nw_proto=6 ct_nw_proto=6 x
bf_done
