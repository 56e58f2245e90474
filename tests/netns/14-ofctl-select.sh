#!/bin/bash
# Selecting flows as ovs-ofctl does: dump-flows, dump-aggregate, del-flows and mod-flows
# with a FLOW pattern (loose, or exact with --strict), cookie=V/M to select by cookie (an
# owner's tag: -1 compares every bit), cookie=V without a mask as mod-flows' new cookie
# (a mod-flows with one that selects nothing adds its flow, as OVS's does),
# out_port=PORT for the flows that output to PORT, and del-port with or without the
# bridge.  Traffic shows that the selected flows, and only they, changed in the kernel.
. "$(dirname "$0")/lib.sh"

bf_topology 2
allow() { echo "table=1,priority=50,cookie=$1,ct_state=+new+trk,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=$2,actions=ct(commit),normal"; }
{
	echo 'table=0,priority=10,ip,actions=ct(table=1)'
	echo 'table=0,priority=10,arp,actions=normal'
	echo 'table=0,priority=0,actions=drop'
	echo 'table=1,priority=100,ct_state=+trk+est,actions=normal'
	echo 'table=1,priority=0,actions=drop'
	allow 0xa1 5001
	allow 0xa1 5002
	allow 0xb1 5003
} >"$BF_DIR/select.flows"
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/select.flows"

# dump BR [OPTION...] FLOW: the selected flows' ports (tp_dst), or their table numbers
# for flows without one, space-separated in dump order
dump() { bfctl --no-stats dump-flows "$@" 2>&1; }
ports() { dump "$@" | grep -o 'tp_dst=[0-9]*' | cut -d= -f2 | tr '\n' ' ' | sed 's/ $//'; }
nlines() { dump "$@" | grep -c .; }

check_eq "dump-flows without a pattern prints all 8 flows" 8 "$(nlines "$BR")"
check_eq "dump-flows table=1 prints table 1's 5 flows" 5 "$(nlines "$BR" table=1)"
check_eq "...and no flow of table 0" 0 "$(dump "$BR" table=1 | grep -c 'table=0\|ct(table=1)')"
check_eq "dump-flows tcp,tp_dst=5002 selects that flow" 5002 "$(ports "$BR" tcp,tp_dst=5002)"
check_eq "dump-flows cookie=0xa1/-1 selects the flows tagged 0xa1" "5001 5002" \
	"$(ports "$BR" cookie=0xa1/-1)"
check_eq "dump-flows cookie=0x1/0xf compares only the mask's bits" "5001 5002 5003" \
	"$(ports "$BR" cookie=0x1/0xf)"
check_eq "a cookie mask combines with a match" 5002 "$(ports "$BR" cookie=0xa1/-1,tcp,tp_dst=5002)"
check_eq "a loose pattern ignores priority=" 5 "$(nlines "$BR" table=1,priority=0)"
check_eq "--strict selects by priority and the exact match" \
	" table=1, priority=0 actions=drop" "$(dump --strict "$BR" table=1,priority=0)"
check_eq "a flow covering more than the pattern is not selected" "" "$(dump "$BR" tcp,tp_dst=9999)"

out=$(bfctl dump-flows "$BR" cookie=0xa1 2>&1)
rc=$?
check_re "dump-flows cookie=0xa1 (no mask) is refused with a hint" \
	"^brflowctl: dump-flows: cookie=0xa1 has no mask, so it would set a cookie; select flows by cookie with cookie=0xa1/-1$" \
	"$out"
check_eq "...and exits 1" 1 "$rc"
out=$(bfctl add-flow "$BR" "cookie=0x1/-1,ip,actions=drop" 2>&1)
check_re "add-flow refuses a cookie mask, naming its column" \
	"^brflowctl: add-flow: a cookie mask selects flows; adding a flow cannot use one at column 11$" "$out"
check_fails "del-flows cookie=0xa1 (no mask) is refused" bfctl del-flows "$BR" cookie=0xa1
check_eq "...and deletes nothing" 8 "$(nlines "$BR")"

tcp_ok "h1->h2 TCP 5001 passes" 1 2 10.1.1.2 5001
# sum FIELD BR [FLOW]: the total of dump-flows' FIELD (n_packets, n_bytes)
sum() { bfctl dump-flows "${@:2}" 2>&1 | grep -o "$1=[0-9]*" | cut -d= -f2 | awk '{ t += $1 } END { print t + 0 }'; }
check_re "dump-aggregate prints ovs-ofctl's totals line for all 8 flows" \
	'^NXST_AGGREGATE reply \(xid=0x4\): packet_count=[0-9]+ byte_count=[0-9]+ flow_count=8$' \
	"$(bfctl dump-aggregate "$BR" 2>&1)"
tagged=$(sum n_packets "$BR" cookie=0xa1/-1)
check_gt "the flows tagged 0xa1 counted the connection" "$tagged" 0
check_eq "dump-aggregate with a pattern totals the flows it selects" \
	"NXST_AGGREGATE reply (xid=0x4): packet_count=$tagged byte_count=$(sum n_bytes "$BR" cookie=0xa1/-1) flow_count=2" \
	"$(bfctl dump-aggregate "$BR" cookie=0xa1/-1 2>&1)"
check "mod-flows cookie=0xa1/-1 changes the actions of the flows tagged 0xa1" \
	bfctl mod-flows "$BR" "cookie=0xa1/-1,actions=drop"
check_eq "both tagged flows now drop" 2 "$(dump "$BR" cookie=0xa1/-1 | grep -c 'actions=drop$')"
check_eq "the flow tagged 0xb1 keeps its actions" 1 \
	"$(dump "$BR" cookie=0xb1/-1 | grep -c 'actions=ct(commit),NORMAL$')"
tcp_blocked "h1->h2 TCP 5001 is blocked after the mod-flows" 1 2 10.1.1.2 5001
tcp_ok "h1->h2 TCP 5003 still passes" 1 2 10.1.1.2 5003

check "mod-flows with cookie=0xc1 (no mask) gives the modified flow a new cookie" \
	bfctl mod-flows "$BR" "table=1,tcp,tp_dst=5003,cookie=0xc1,actions=ct(commit),normal"
check_eq "dump-flows cookie=0xc1/-1 finds it" 5003 "$(ports "$BR" cookie=0xc1/-1)"
check_eq "nothing keeps the old cookie 0xb1" "" "$(dump "$BR" cookie=0xb1/-1)"
# OVS's modify adds its flow when it selects none and carries a new cookie
check "mod-flows without a cookie that selects nothing succeeds" \
	bfctl mod-flows "$BR" "table=1,tcp,tp_dst=5004,actions=normal"
check_eq "...and adds nothing" 8 "$(nlines "$BR")"
tcp_blocked "h1->h2 TCP 5004 stays blocked" 1 2 10.1.1.2 5004
check "mod-flows with cookie=0xd1 (no mask) that selects nothing" \
	bfctl mod-flows "$BR" "$(allow 0xd1 5004)"
check_eq "...adds its flow, as OVS does" 9 "$(nlines "$BR")"
check_eq "...with its cookie, table and priority" \
	" cookie=0xd1, table=1, priority=50,ct_state=+new+trk,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5004 actions=ct(commit),NORMAL" \
	"$(dump --no-names "$BR" cookie=0xd1/-1)"
tcp_ok "h1->h2 TCP 5004 passes through the added flow" 1 2 10.1.1.2 5004
check "--strict mod-flows with a new cookie and another priority adds one more" \
	bfctl --strict mod-flows "$BR" "table=1,priority=40,cookie=0xd1,tcp,tp_dst=5004,actions=drop"
check_eq "...a second flow at priority 40" "5004 5004" "$(ports "$BR" cookie=0xd1/-1)"
check "--strict mod-flows with a new cookie modifies the exact flow when there is one" \
	bfctl --strict mod-flows "$BR" "table=1,priority=40,cookie=0xd2,tcp,tp_dst=5004,actions=normal"
check_eq "...and adds none" 10 "$(nlines "$BR")"
check "del-flows cookie=0xd1/-1 deletes the first" bfctl del-flows "$BR" cookie=0xd1/-1
check "del-flows cookie=0xd2/-1 deletes the second" bfctl del-flows "$BR" cookie=0xd2/-1
check_eq "...8 flows again" 8 "$(nlines "$BR")"
bf_restart
check_eq "the new cookie survives a restart" 5003 "$(ports "$BR" cookie=0xc1/-1)"

check "a flow that outputs to port 2 loads" bfctl add-flow "$BR" \
	"table=1,priority=60,ct_state=+new+trk,udp,in_port=1,tp_dst=53,actions=ct(commit),output:2"
check_eq "dump-flows out_port=2 selects the flow with output:2" 53 "$(ports "$BR" out_port=2)"
check_eq "...named by its interface too" 53 "$(ports "$BR" out_port=p2)"
check_eq "NORMAL is not an output to a port: out_port=1 selects nothing" "" "$(dump "$BR" out_port=1)"
check_eq "add-flow refuses out_port, naming its column" \
	"brflowctl: add-flow: out_port selects flows; adding a flow cannot use it at column 4" \
	"$(bfctl add-flow "$BR" "ip,out_port=2,actions=drop" 2>&1)"
check "del-flows out_port=2 deletes it" bfctl del-flows "$BR" out_port=2
check_eq "...and nothing else: 8 flows again" 8 "$(nlines "$BR")"

check "del-flows cookie=0xa1/-1 deletes the flows tagged 0xa1" bfctl del-flows "$BR" cookie=0xa1/-1
check_eq "6 flows are left" 6 "$(nlines "$BR")"
check_eq "...among them the one tagged 0xc1" 5003 "$(ports "$BR" table=1)"
tcp_blocked "h1->h2 TCP 5002 stays blocked (table 1's drop)" 1 2 10.1.1.2 5002
# ovs-ofctl --strict del-flows takes an unmasked cookie and does not select by it
check "del-flows --strict with an unmasked cookie ignores the cookie" bfctl --strict del-flows "$BR" \
	"table=1,priority=50,cookie=0x99,ct_state=+new+trk,tcp,in_port=1,nw_src=10.1.1.1,tp_dst=5003"
check_eq "...and deletes the flow" "" "$(ports "$BR")"
tcp_blocked "h1->h2 TCP 5003 is blocked without its flow" 1 2 10.1.1.2 5003

# flow_mod flags, as ovs-ofctl takes them: check_overlap refuses a flow that overlaps
# another of its table and priority; the others (and importance=) load as OVS's
# OpenFlow 1.3 dumps print them
check "a UDP flow at priority 40 in table 2 loads" bfctl add-flow "$BR" "table=2,priority=40,udp,actions=drop"
check_eq "check_overlap refuses an overlapping flow, naming both" \
	"brflowctl: add-flow: flow 'priority=40,ip,nw_src=10.1.1.1 actions=drop' overlaps flow 'priority=40,udp actions=drop' in table 2 at the same priority (check_overlap: OFPFMFC_OVERLAP)" \
	"$(bfctl add-flow "$BR" "check_overlap,table=2,priority=40,ip,nw_src=10.1.1.1,actions=drop" 2>&1)"
check_eq "...and adds nothing" 1 "$(nlines "$BR" table=2)"
check "check_overlap lets a disjoint flow in (TCP)" bfctl add-flow "$BR" \
	"check_overlap,table=2,priority=40,tcp,actions=drop"
check "...and one at another priority" bfctl add-flow "$BR" \
	"check_overlap,table=2,priority=41,ip,actions=drop"
out=$(printf '%s\n' "table=2,priority=30,ip,nw_dst=10.1.1.0/24,actions=drop" \
	"check_overlap,table=2,priority=30,ip,nw_dst=10.1.1.2,actions=drop" |
	bfctl add-flows "$BR" - 2>&1)
check_re "add-flows checks a flagged line against the file's own flows" "overlaps flow 'priority=30,ip,nw_dst=10.1.1.0/24 actions=drop' in table 2" "$out"
check_eq "...and adds none of the file" 3 "$(nlines "$BR" table=2)"
check "OVS's OpenFlow 1.3 flags and importance= load" bfctl add-flow "$BR" \
	"table=2,priority=20,send_flow_rem,reset_counts,no_packet_counts,no_byte_counts,importance=7,udp,actions=drop"
check "a line of ovs-ofctl -O OpenFlow13 dump-flows loads back" bfctl add-flow "$BR" \
	" cookie=0x0, duration=3.1s, table=2, n_packets=0, n_bytes=0, send_flow_rem reset_counts priority=21,udp actions=drop"
check_eq "table 2 has them all" 5 "$(nlines "$BR" table=2)"
check "del-flows table=2" bfctl del-flows "$BR" table=2

check "del-port without the bridge finds the port's bridge" bfctl del-port p2
check_eq "show no longer lists p2" "" "$(bfctl show 2>&1 | grep -w p2)"
out=$(bfctl del-port p2 2>&1)
check_eq "del-port of a port that is gone names it" "brflowctl: del-port: no port named 'p2'" "$out"
bf_done
