#!/bin/bash
# tests/vm/selftest.sh: checks the stock-kernel lane itself (three short boots):
# the guest runs the stock kernel and has the features the development kernel lacks
# (ct in the bridge family, flowtables, the nft queue statement), CMD's exit status
# comes out, and the timeout stops a hung guest.  Prints ok/not ok/skip lines.
set -u
cd "$(dirname "$0")/../.." || exit 1
RUN=tests/vm/run.sh
failed=0

ok() { echo "ok - vm-selftest: $1"; }
not_ok() {
	echo "not ok - vm-selftest: $1: $2"
	failed=$((failed + 1))
}

# The guest part: one line per kernel feature, then uname.
probe='
nft -f - <<<"table bridge bfvm_ct { chain c { type filter hook forward priority 0; ct state established accept; }; }" &&
	echo BRIDGE_CT_OK
ip link add bfvm0 type dummy
nft -f - <<<"table inet bfvm_ft { flowtable f { hook ingress priority 0; devices = { bfvm0 }; }; chain c { type filter hook forward priority 0; ip protocol tcp flow add @f; }; }" &&
	echo FLOWTABLE_OK
nft -f - <<<"table bridge bfvm_q { chain c { type filter hook forward priority 0; meta l4proto udp queue num 0 bypass; }; }" &&
	echo BRIDGE_QUEUE_OK
echo "KERNEL=$(uname -r)"
'
out=$("$RUN" bash -c "$probe" 2>&1)
rc=$?
if [ $rc -eq 77 ]; then
	echo "skip - vm-selftest: $(tail -1 <<<"$out")"
	exit 0
fi
if [ $rc -ne 0 ]; then
	not_ok "feature probe" "run.sh exited $rc: $(tail -5 <<<"$out" | tr '\n' '|')"
fi
for f in BRIDGE_CT_OK FLOWTABLE_OK BRIDGE_QUEUE_OK; do
	if grep -qx "$f" <<<"$out"; then
		ok "$f"
	else
		not_ok "$f" "not printed by the guest: $(grep -i -m3 'error' <<<"$out" | tr '\n' '|')"
	fi
done
kver=$(sed -n 's/^KERNEL=//p' <<<"$out")
if [ -n "$kver" ] && [ "$kver" != "$(uname -r)" ]; then
	ok "guest runs the stock kernel $kver"
else
	not_ok "guest kernel" "expected a kernel other than the host's $(uname -r), got '$kver'"
fi

"$RUN" bash -c 'exit 3' >/dev/null 2>&1
rc=$?
if [ $rc -eq 3 ]; then
	ok "exit status 3 passes out"
else
	not_ok "exit status" "expected 3, got $rc"
fi

start=$SECONDS
out=$(BRFLOW_VM_TIMEOUT=30 "$RUN" sleep 600 2>&1)
rc=$?
if [ $rc -eq 124 ] && [ $((SECONDS - start)) -lt 60 ]; then
	ok "timeout stops the guest (exit 124)"
else
	not_ok "timeout" "expected 124 within 60 s, got $rc after $((SECONDS - start)) s: $(tail -1 <<<"$out")"
fi

[ $failed -eq 0 ]
