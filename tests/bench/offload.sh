#!/bin/bash
# Flowtable offload benchmark (issue 4): iperf3 throughput of one routed TCP connection
# between two bridges (the topology and flows of tests/netns/50-local.sh: h1 on br0 to h3
# on br1, routed by the switch namespace through both bridges' LOCAL ports), with
# offload=off and offload=on, from one run; prints both and their ratio.  Skips on a
# kernel without flowtables.  Environment: BENCH_SECONDS (per measurement, default 5).
. "$(dirname "$0")/../netns/lib.sh"
TEST_NAME=bench-offload

SECS=${BENCH_SECONDS:-5}
PORT=5001   # the port local-br1.flows lets in from LOCAL
declare -A THR OFFL

command -v iperf3 >/dev/null || { echo "skip - $TEST_NAME: needs iperf3 (scripts/install-deps.sh)"; exit 0; }
bf_routed_topology 2 1
if ! bfctl show 2>/dev/null | grep -q '^ flowtables: yes'; then
	echo "skip - $TEST_NAME: kernel lacks nf_flow_table"
	exit 0
fi
out=$( { bf_flows local-br0.flows && bf_flows_on br1 local-br1.flows; } 2>&1) ||
	bf_setup_fail "flows do not load: $(bf_oneline "$out")"
bf_bg "$(hns 3)" "$BF_DIR/iperf3.log" timeout 120 iperf3 -s -p "$PORT"
wait_until 5 listening "$(hns 3)" t "$PORT" || bf_setup_fail "iperf3 -s did not listen"

# measure MODE: set both bridges to offload=MODE, one iperf3 run h1 -> h3.
measure() {
	local mode=$1 json client
	bfctl set-br br0 offload="$mode" >/dev/null && bfctl set-br br1 offload="$mode" >/dev/null ||
		bf_setup_fail "set-br offload=$mode failed"
	bfctl flush-conntrack >/dev/null 2>&1
	echo "# $(date +%T) measuring offload=$mode"
	ip netns exec "$(hns 1)" timeout $((SECS + 20)) iperf3 -c 10.2.2.3 -p "$PORT" \
		-t "$SECS" -J >"$BF_DIR/iperf3.$mode.json" 2>/dev/null &
	client=$!
	sleep $((SECS / 2 + 1))
	# while the data flows: how many connections are in the flowtable
	OFFL[$mode]=$(ct_dump 2>/dev/null | grep -c ',offload')
	wait "$client"
	json=$(cat "$BF_DIR/iperf3.$mode.json")
	THR[$mode]=$(python3 -c '
import json, sys
try:
    print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("0")
' <<<"$json")
	echo "# offload=$mode: ${THR[$mode]} Gbit/s, offloaded connections seen: ${OFFL[$mode]}"
}

measure off
measure on
ratio=$(python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b > 0 else '-')" "${THR[on]}" "${THR[off]}")
echo
printf '%-28s %10s\n' "routed h1 -> h3 (iperf3)" "Gbit/s"
printf '%-28s %10s\n' "offload=off" "${THR[off]}"
printf '%-28s %10s\n' "offload=on" "${THR[on]}"
echo "offload on/off: x$ratio"
for mode in off on; do
	[ "${THR[$mode]}" != 0 ] || { not_ok "offload=$mode moved data" "iperf3 measured nothing"; }
done
bf_done
