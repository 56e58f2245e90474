#!/bin/bash
# Flow files mixing nat forms that netfilter cannot express are refused as a whole: one
# error line naming the flow and the reason, kernel ruleset and flows unchanged, and an
# open NATed connection keeps working (issue 3).
. "$(dirname "$0")/lib.sh"

bf_topology 2
neigh_static 2 10.1.1.240 1
bf_flows_check "a SNAT policy loads" nat-snat-exhaust.flows || bf_done
line_server_start 2 7000 || not_ok "line server on h2" "did not listen"
lconn_open c1 1 10.1.1.2 7000 || not_ok "NATed connection" "could not connect"
check_eq "the NATed connection carries data" "h2 l0" "$(lconn_ask c1 l0)"

rules0=$(nft_snapshot)
flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
n=0

# expect_rejected NAME RE CMD...: one stderr line matching RE, nothing changed.
expect_rejected() {
	local name=$1 re=$2 rc
	shift 2
	"$@" >"$BF_DIR/rej.out" 2>"$BF_DIR/rej.err"
	rc=$?
	if [ $rc -eq 0 ]; then
		not_ok "$name: refused" "exit status 0"
		# put the policy back so that the next cases start from it
		bfctl replace-flows "$BR" "$FLOWS/nat-snat-exhaust.flows" >/dev/null 2>&1
		rules0=$(nft_snapshot)
		flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
		n=$((n + 1))
		return
	else
		ok "$name: refused"
	fi
	check_eq "$name: one line on stderr" 1 "$(wc -l <"$BF_DIR/rej.err")"
	check_re "$name: the error names the flow and the reason" "$re" "$(cat "$BF_DIR/rej.err")"
	check_eq "$name: nft ruleset unchanged" "$rules0" "$(nft_snapshot)"
	check_eq "$name: dump-flows unchanged" "$flows0" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
	n=$((n + 1))
	check_eq "$name: the NATed connection still works" "h2 l$n" "$(lconn_ask c1 "l$n")"
}

expect_rejected "nat(dst=...) without commit" \
	"^brflowctl: add-flows: .*flow '[^']*nat\(dst=10\.1\.1\.1\)[^']*': .*commit" \
	bfctl --bundle add-flows "$BR" "$FLOWS/nat-reject-nocommit.flows"
expect_rejected "an IPv6 nat address for IPv4 packets" \
	"^brflowctl: add-flows: .*(flow '[^']*nat\(src=fc00::240\)[^']*'|line 5).*: .*(IPv6|IPv4|family|address)" \
	bfctl --bundle add-flows "$BR" "$FLOWS/nat-reject-family.flows"

# more distinct nat(dst=...) actions than the compiler can tell apart in a connection
for i in $(seq 1 300); do
	echo "table=0,priority=50,in_port=1,tcp,tp_dst=$((10000 + i)),actions=ct(commit,nat(dst=10.2.$((i / 250)).$((i % 250 + 1)))),2"
done >"$BF_DIR/many-nat.flows"
expect_rejected "300 distinct nat(dst=...) actions" \
	"^brflowctl: add-flows: .*flow '[^']*nat\(dst=10\.2\.[^']*': .*nat" \
	bfctl --bundle add-flows "$BR" "$BF_DIR/many-nat.flows"
expect_rejected "replace-flows with nat without commit" \
	"^brflowctl: replace-flows: .*commit" \
	bfctl replace-flows "$BR" "$FLOWS/nat-reject-nocommit.flows"

bf_done
