#!/bin/bash
# Rejected flow files change nothing: one error line, the kernel ruleset and dump-flows as
# before, and an open connection keeps working.
. "$(dirname "$0")/lib.sh"

bf_topology 2
bf_flows_check "seed firewall 1 loads" seed1.flows || bf_done
conn_open c1 1 2 10.1.1.2 6000 || not_ok "long-lived connection" "could not open h1->h2:6000"
check "the open connection carries data" conn_send c1 line-0

rules0=$(nft_snapshot)
flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
n=0

# expect_rejected NAME RE CMD...: CMD fails with one stderr line matching RE, prints nothing
# on stdout, and leaves kernel, flows and the open connection as they were.
expect_rejected() {
	local name=$1 re=$2 rc
	shift 2
	"$@" >"$BF_DIR/rej.out" 2>"$BF_DIR/rej.err"
	rc=$?
	if [ $rc -eq 0 ]; then
		not_ok "$name: the command fails" "exit status 0"
	else
		ok "$name: the command fails"
	fi
	check_eq "$name: nothing on stdout" "" "$(cat "$BF_DIR/rej.out")"
	check_eq "$name: one line on stderr" 1 "$(wc -l <"$BF_DIR/rej.err")"
	check_re "$name: the error names the problem" "$re" "$(cat "$BF_DIR/rej.err")"
	check_eq "$name: nft ruleset unchanged" "$rules0" "$(nft_snapshot)"
	check_eq "$name: dump-flows unchanged" "$flows0" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
	n=$((n + 1))
	check "$name: the open connection still carries data" conn_send c1 "line-$n"
}

expect_rejected "misspelt field in a file" \
	"^brflowctl: add-flows: line 3: .*'nw_sorc'" \
	bfctl add-flows "$BR" "$FLOWS/reject-badfield.flows"
expect_rejected "misspelt field in a file, --bundle" \
	"^brflowctl: add-flows: line 3: .*'nw_sorc'" \
	bfctl --bundle add-flows "$BR" "$FLOWS/reject-badfield.flows"
expect_rejected "nat without commit in a file" "^brflowctl: add-flows: .*nat.*needs commit" \
	bfctl add-flows "$BR" "$FLOWS/reject-nat.flows"
expect_rejected "two zones on one path in a file" "^brflowctl: add-flows: .*zone" \
	bfctl --bundle add-flows "$BR" "$FLOWS/reject-alg.flows"
expect_rejected "misspelt field in add-flow" \
	"^brflowctl: add-flow: unknown field 'nw_sorc' at column 12$" \
	bfctl add-flow "$BR" "priority=1,nw_sorc=10.0.0.1,actions=drop"
expect_rejected "replace-flows with a bad file" "^brflowctl: replace-flows: line 3: .*'nw_sorc'" \
	bfctl replace-flows "$BR" "$FLOWS/reject-badfield.flows"
expect_rejected "mod-flows with nat without commit" "^brflowctl: mod-flows: .*nat" \
	bfctl mod-flows "$BR" "in_port=1,ip,actions=ct(nat(dst=10.1.1.9)),2"
expect_rejected "a flow file from stdin with a prerequisite missing" \
	"^brflowctl: add-flows: line 1: .*tp_dst" \
	bash -c 'echo "priority=5,tp_dst=80,actions=drop" | "$1" add-flows "$2" -' _ "$BRFLOWCTL" "$BR"

tcp_ok "new connections still follow the firewall: h1->h2 passes" 1 2 10.1.1.2 5001
tcp_blocked "new connections still follow the firewall: h2->h1 is blocked" 2 1 10.1.1.1 5002

bf_done
