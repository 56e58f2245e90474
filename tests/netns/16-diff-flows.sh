#!/bin/bash
# diff-flows BR FILE as ovs-ofctl diff-flows prints it: '-' for the bridge's flows that
# the file lacks or has with other actions, cookie, timeouts or importance, '+' for the
# file's, nothing and exit 0 when they agree, exit 2 when they differ; the file as
# add-flows reads it (port names, comments, a later line replacing an earlier one with
# the same rule); --names prints ports by name in a form that reads back.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/a.flows" <<'FLOWS'
# the policy as loaded
table=0,priority=10,ip,actions=ct(table=1)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+est,actions=normal
table=1,priority=50,cookie=0xa1,ct_state=+new+trk,tcp,in_port=p1,tp_dst=80,actions=ct(commit),normal
table=1,priority=0,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/a.flows"

out=$(bfctl diff-flows "$BR" "$BF_DIR/a.flows" 2>&1)
rc=$?
check_eq "the file the bridge was loaded from: no difference" "" "$out"
check_eq "...and exit 0" 0 "$rc"

# the same policy edited: port 80 opens to port 443 as well, port 80's cookie changes,
# table 0's ARP flow goes, and a later line replaces the drop of table 1
sed -e '/arp/d' -e 's/cookie=0xa1/cookie=0xa2/' "$BF_DIR/a.flows" >"$BF_DIR/b.flows"
cat >>"$BF_DIR/b.flows" <<'FLOWS'
table=1,priority=50,ct_state=+new+trk,tcp,in_port=1,tp_dst=443,actions=ct(commit),normal
table=1,priority=0,actions=drop
table=1,priority=0,actions=output:2
FLOWS
out=$(bfctl diff-flows "$BR" "$BF_DIR/b.flows" 2>&1)
rc=$?
check_eq "the edits print as ovs-ofctl diff-flows prints them, the bridge's flows in dump order" \
	"-priority=10,arp actions=NORMAL
-table=1 priority=50,ct_state=+new+trk,tcp,in_port=1,tp_dst=80 cookie=0xa1 actions=ct(commit),NORMAL
+table=1 priority=50,ct_state=+new+trk,tcp,in_port=1,tp_dst=80 cookie=0xa2 actions=ct(commit),NORMAL
-table=1 priority=0 actions=drop
+table=1 priority=0 actions=output:2
+table=1 priority=50,ct_state=+new+trk,tcp,in_port=1,tp_dst=443 actions=ct(commit),NORMAL" "$out"
check_eq "...and exit 2, as ovs-ofctl does" 2 "$rc"

check "replace-flows with the edited file" bfctl replace-flows "$BR" "$BF_DIR/b.flows"
check_eq "after it diff-flows finds no difference" "" "$(bfctl diff-flows "$BR" "$BF_DIR/b.flows" 2>&1)"
check_eq "diff-flows reads standard input for -" "-table=1 priority=0 actions=output:2
+table=1 priority=0 actions=drop" \
	"$(bfctl diff-flows "$BR" - <<<'table=1,priority=0,actions=drop' 2>&1 | grep 'table=1 priority=0 ')"
check_eq "another importance is a difference, printed after the timeouts as ovs-ofctl does" \
	"-table=1 priority=0 actions=output:2
+table=1 priority=0 hard_timeout=9 importance=5 actions=output:2" \
	"$(bfctl diff-flows "$BR" - <<<'table=1,priority=0,hard_timeout=9,importance=5,actions=output:2' 2>&1 |
		grep 'table=1 priority=0 ')"

out=$(bfctl diff-flows "$BR" - 2>&1 <<<'ip,nw_sorc=10.0.0.1,actions=drop')
rc=$?
check_re "a bad line is an error naming it" "^brflowctl: diff-flows: line 1: .*nw_sorc" "$out"
check_eq "...with exit 1" 1 "$rc"
check_eq "a bridge that does not exist is named" "brflowctl: diff-flows: no bridge named 'br9'" \
	"$(bfctl diff-flows br9 "$BF_DIR/a.flows" 2>&1)"

# --names, as ovs-ofctl --names: in_port= and output: by port name wherever the name
# reads back as that port; numbers otherwise (here, a port named "9p"), and by default
# when standard output is not a terminal.
ip -n "$SW" link add 9p type veth peer name 9q
check "a port named 9p is added as port 3" bfctl add-port "$BR" 9p ofport=3
check "flows naming ports 1, 2 and 3 load" bfctl replace-flows "$BR" - <<'FLOWS'
priority=10,in_port=1,ip,actions=output:2
priority=10,in_port=3,ip,actions=output:1
priority=5,in_port=2,actions=output:3
FLOWS
check_eq "dump-flows --names names p1 and p2, and keeps 3 for 9p" \
	" priority=10,ip,in_port=p1 actions=output:p2
 priority=10,ip,in_port=3 actions=output:p1
 priority=5,in_port=p2 actions=output:3" "$(bfctl --names --no-stats dump-flows "$BR" 2>&1)"
check_eq "without a terminal, numbers by default" " priority=10,ip,in_port=1 actions=output:2" \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1 | head -1)"
check_eq "--no-names after --names wins" " priority=10,ip,in_port=1 actions=output:2" \
	"$(bfctl --names --no-stats dump-flows --no-names "$BR" 2>&1 | head -1)"
bfctl --names --no-stats dump-flows "$BR" >"$BF_DIR/named.flows" 2>&1
check_eq "what --names prints reads back: diff-flows finds no difference" "" \
	"$(bfctl diff-flows "$BR" "$BF_DIR/named.flows" 2>&1)"
check_eq "diff-flows --names prints names" "-priority=5,in_port=p2 actions=output:3" \
	"$(bfctl --names diff-flows "$BR" - 2>&1 <<<'priority=10,in_port=1,ip,actions=output:2' | grep priority=5)"
bf_done
