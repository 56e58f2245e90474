#!/bin/bash
# Flow files with ovs-ofctl's flow_mod keywords: add-flows lines may start with add,
# modify, modify_strict, delete or delete_strict (or a prefix of one, as OVS reads
# them), run in order; bundle BR FILE takes "flow ..." and "group ..." lines.  Either
# is one transaction: a bad line leaves the flows, the groups and traffic as they were.
. "$(dirname "$0")/lib.sh"

bf_topology 2
dump() { bfctl --no-stats --no-names dump-flows "$BR" 2>&1; }
cat >"$BF_DIR/base.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=20,udp,in_port=2,actions=normal
priority=5,icmp,actions=normal
priority=5,udp,tp_dst=5001,actions=normal
priority=5,udp,tp_dst=5002,actions=drop
FLOWS
check "the base flows load" bfctl replace-flows "$BR" "$BF_DIR/base.flows"
udp_echo_start 2 5001 || not_ok "udp echo on h2:5001" "did not start"
udp_echo_start 2 5002 || not_ok "udp echo on h2:5002" "did not start"
check_eq "UDP 5001 is answered" "echo:ping" "$(udp_ask 1 10.1.1.2 5001 41001)"
check_eq "UDP 5002 is dropped" "" "$(udp_ask 1 10.1.1.2 5002 41002)"

cat >"$BF_DIR/mods.flows" <<'FLOWS'
# a drop of UDP 5001 goes, 5002 opens, ICMP goes, and a flow is added last
delete_strict priority=5,udp,tp_dst=5001
modify udp,tp_dst=5002,actions=normal
del icmp
add priority=5,udp,tp_dst=5003,actions=drop
FLOWS
check "add-flows runs a file of flow_mod commands" bfctl add-flows "$BR" "$BF_DIR/mods.flows"
check_eq "...in order: the flows are what they say" \
	" priority=20,udp,in_port=2 actions=NORMAL
 priority=10,arp actions=NORMAL
 priority=5,udp,tp_dst=5002 actions=NORMAL
 priority=5,udp,tp_dst=5003 actions=drop" "$(dump)"
check_eq "UDP 5002 is answered now" "echo:ping" "$(udp_ask 1 10.1.1.2 5002 41003)"
ping_blocked "ICMP is dropped without its flow" 1 10.1.1.2

check "add-flow takes a keyword too: modify_strict" \
	bfctl add-flow "$BR" "modify_strict priority=5,udp,tp_dst=5002,actions=drop"
check_eq "UDP 5002 is dropped again" "" "$(udp_ask 1 10.1.1.2 5002 41004)"

before=$(dump)
out=$(printf '%s\n' "delete udp,tp_dst=5003" "add priority=5,icmp,actions=normal" "add ip,nw_sorc=10.0.0.1,actions=drop" |
	bfctl add-flows "$BR" - 2>&1)
check_re "a bad line is refused, naming its line" "^brflowctl: add-flows: line 3: .*nw_sorc" "$out"
check_eq "...and nothing of the file happened" "$before" "$(dump)"
ping_blocked "...so ICMP stays dropped" 1 10.1.1.2

cat >"$BF_DIR/bundle.txt" <<'BUNDLE'
# a select group in place of port 5002's drop, in one transaction
group add group_id=7,type=select,bucket=weight:1,actions=output:2
flow modify_strict priority=5,udp,tp_dst=5002,actions=group:7
flow priority=5,icmp,actions=normal
BUNDLE
check "bundle adds a group and the flows that use it" bfctl bundle "$BR" "$BF_DIR/bundle.txt"
check_eq "UDP 5002 goes through the group" "echo:ping" "$(udp_ask 1 10.1.1.2 5002 41005)"
ping_ok "ICMP passes again" 1 10.1.1.2
check_re "dump-groups lists group 7" "group_id=7,type=select" "$(bfctl dump-groups "$BR" 2>&1)"

before=$(dump)
out=$(printf '%s\n' "group delete group_id=7" "flow priority=5,udp,tp_dst=5002,actions=group:7" |
	bfctl bundle "$BR" - 2>&1)
check_re "a bundle whose flow needs the group it deleted is refused" "group" "$out"
check_eq "...and the group and flows stay" "$before" "$(dump)"
check_re "...group 7 too" "group_id=7" "$(bfctl dump-groups "$BR" 2>&1)"
check_eq "UDP 5002 still goes through the group" "echo:ping" "$(udp_ask 1 10.1.1.2 5002 41006)"
check_re "a line without flow or group is refused" "line 1: expected 'flow' or 'group' first" \
	"$(bfctl bundle "$BR" - 2>&1 <<<'packet-out in_port=1 packet=00 actions=normal')"
check_re "an insert_bucket without command_bucket_id is refused" \
	"line 1: group: must specify a command_bucket_id" \
	"$(bfctl bundle "$BR" - 2>&1 <<<'group insert_bucket group_id=7,bucket=actions=output:1')"
check_re "a group command brflow does not know is refused, named" "group frob is not supported" \
	"$(bfctl bundle "$BR" - 2>&1 <<<'group frob group_id=7')"
check "group delete in a bundle takes its flows with it, as del-groups does" \
	bfctl bundle "$BR" - <<<'group delete group_id=7'
check_eq "...the flow that sent to it is gone" "" "$(dump | grep group:7)"

# add-flow, del-flows and mod-flows BR - read their flows from standard input, one a
# line, as ovs-ofctl's do (del-flows and mod-flows take patterns, --strict ones too)
check "add-flow BR - adds each line" bfctl add-flow "$BR" - <<'FLOWS'
priority=7,udp,tp_dst=6001,actions=drop
priority=7,udp,tp_dst=6002,actions=drop
priority=7,udp,tp_dst=6003,actions=drop
FLOWS
check_eq "...all three" 3 "$(dump | grep -c 'priority=7,udp,tp_dst=600')"
check "mod-flows BR - modifies by each pattern" bfctl mod-flows "$BR" - <<'FLOWS'
udp,tp_dst=6001,actions=normal
udp,tp_dst=6002,actions=normal
FLOWS
check_eq "...two of them" 2 "$(dump | grep -c 'tp_dst=600[12] actions=NORMAL')"
check "--strict del-flows BR - deletes by each exact pattern" bfctl --strict del-flows "$BR" - <<'FLOWS'
priority=7,udp,tp_dst=6001
priority=8,udp,tp_dst=6002
FLOWS
check_eq "...only the one whose priority agrees" 2 "$(dump | grep -c 'priority=7,udp,tp_dst=600')"
check "del-flows BR - with nothing on standard input" bfctl del-flows "$BR" - </dev/null
check_eq "...deletes nothing (not every flow)" 2 "$(dump | grep -c 'priority=7,udp,tp_dst=600')"
check "del-flows BR - deletes by each loose pattern" bfctl del-flows "$BR" - <<<'udp,tp_dst=6003'
check_eq "...one more gone" 1 "$(dump | grep -c 'priority=7,udp,tp_dst=600')"

bf_done
