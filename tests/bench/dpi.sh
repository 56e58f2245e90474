#!/bin/bash
# DPI benchmark (issue 5): throughput (iperf3) and new-connection rate through the same
# brflow policy in three set-ups, from one run, in network namespaces:
#   nodpi  the policy of tests/netns/flows/dpi-bittorrent.flows without its dpi() actions
#   dpi    that policy as written, brflow-dpi on queue 0 (classified connections leave
#          the queue)
#   nfq    that policy as written, a minimal NFQUEUE loop on queue 0 (tests/bench/
#          nfq_accept.c: NF_REPEAT for every packet, never labels, so every packet of
#          every connection goes through userspace)
# and prints a table with the ratios.  Bounded: well under 3 minutes.
#
# Environment: BENCH_SECONDS (per measurement, default 4), BENCH_CLIENTS (parallel
# connection loops, default 4).
. "$(dirname "$0")/../netns/lib.sh"
TEST_NAME=bench-dpi

SECS=${BENCH_SECONDS:-4}
CLIENTS=${BENCH_CLIENTS:-4}
IPERF_PORT=5201
CONN_PORT=7000
declare -A THR CPS NOTE

# A server that answers every connection with one byte and closes it.
CONN_SERVER='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(4096)
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"x")
    except OSError:
        pass
    c.close()
'

# CLIENTS processes, each connecting, reading the byte and resetting the connection for
# SECS seconds; prints the total number of completed connections.
CONN_CLIENT='
import os, socket, struct, sys, time
ip, port, secs, procs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
r, w = os.pipe()
for _ in range(procs):
    if os.fork() == 0:
        n = 0
        end = time.monotonic() + secs
        while time.monotonic() < end:
            try:
                c = socket.create_connection((ip, port), timeout=1)
                if c.recv(1) == b"x":
                    n += 1
                # RST instead of FIN: no TIME_WAIT on either side, so ports never
                # collide with an earlier run
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
            except OSError:
                pass
        os.write(w, b"%d\n" % n)
        os._exit(0)
os.close(w)
for _ in range(procs):
    os.wait()
print(sum(int(x) for x in os.fdopen(r).read().split()))
'

# measure NAME: iperf3 and the connection loop through whatever is loaded now.
measure() {
	echo "# $(date +%T) measuring $1"
	local name=$1 json n
	bfctl flush-conntrack >/dev/null 2>&1
	json=$(ip netns exec "$(hns 1)" timeout $((SECS + 15)) iperf3 -c 10.1.1.2 -p "$IPERF_PORT" \
		-t "$SECS" -J 2>/dev/null)
	THR[$name]=$(python3 -c '
import json, sys
try:
    print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("0")
' <<<"$json")
	bfctl flush-conntrack >/dev/null 2>&1
	n=$(ip netns exec "$(hns 1)" timeout $((SECS + 15)) python3 -c "$CONN_CLIENT" \
		10.1.1.2 "$CONN_PORT" "$SECS" "$CLIENTS" 2>/dev/null)
	CPS[$name]=$(python3 -c "print('%.0f' % (${n:-0} / $SECS))")
	echo "# $name: ${THR[$name]} Gbit/s, ${CPS[$name]} connections/s"
}

ratio() {
	python3 -c "import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print('%.2f' % (a / b) if b > 0 else '-')" "$1" "$2"
}

for tool in iperf3 cc; do
	command -v "$tool" >/dev/null || { echo "skip - $TEST_NAME: needs $tool (scripts/install-deps.sh)"; exit 0; }
done
dpi_topology 2
ip netns exec "$(hns 1)" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
cc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o "$BF_DIR/nfq_accept" \
	"$BF_ROOT/tests/bench/nfq_accept.c" -lnetfilter_queue -lmnl 2>"$BF_DIR/cc.log" ||
	bf_setup_fail "cannot build nfq_accept: $(bf_oneline "$(cat "$BF_DIR/cc.log")")"
bf_bg "$(hns 2)" "$BF_DIR/iperf3.log" timeout 170 iperf3 -s -p "$IPERF_PORT"
bf_bg "$(hns 2)" "$BF_DIR/conn.log" timeout 170 python3 -c "$CONN_SERVER" "$CONN_PORT"
wait_until 5 listening "$(hns 2)" t "$IPERF_PORT" || bf_setup_fail "iperf3 -s did not listen"
wait_until 5 listening "$(hns 2)" t "$CONN_PORT" || bf_setup_fail "connection server did not listen"

# (b) the policy without dpi()
sed 's/dpi(queue=0,fail=open),//' "$FLOWS/dpi-bittorrent.flows" >"$BF_DIR/nodpi.flows"
out=$(bfctl --bundle add-flows "$BR" "$BF_DIR/nodpi.flows" 2>&1) ||
	bf_setup_fail "the policy without dpi() does not load: $(bf_oneline "$out")"
measure nodpi

# (a) the policy with dpi(), brflow-dpi on queue 0
out=$(bfctl --bundle replace-flows "$BR" "$FLOWS/dpi-bittorrent.flows" 2>&1) ||
	bf_setup_fail "the dpi() policy does not load: $(bf_oneline "$out")"
if dpi_start; then
	measure dpi
	stats=$(dpi_stats 2>&1)
	echo "# brflow-dpi: $(grep -E '^(packets|connections|connections classified|connections given up|queue drops|verdict latency us):' <<<"$stats" | tr '\n' ';')"
	dpi_kill TERM
else
	NOTE[dpi]="brflow-dpi did not start: $(bf_oneline "$(tail -2 "$BF_DIR/dpi.$BF_DPI_N.log")")"
	echo "# ${NOTE[dpi]}"
	dpi_kill KILL
fi

# (c) the same policy, the minimal loop on queue 0
bf_bg "$SW" "$BF_DIR/nfq.log" "$BF_DIR/nfq_accept" 0
nfq_pid=$BF_LAST
if wait_until 5 grep -q listening "$BF_DIR/nfq.log" && kill -0 "$nfq_pid" 2>/dev/null; then
	measure nfq
else
	NOTE[nfq]="nfq_accept did not start: $(bf_oneline "$(cat "$BF_DIR/nfq.log")")"
	echo "# ${NOTE[nfq]}"
fi
bf_kill "$nfq_pid"

echo
printf '%-34s %12s %10s %12s %12s\n' "set-up" "Gbit/s" "conn/s" "thr/nodpi" "conn/nodpi"
for name in nodpi dpi nfq; do
	case $name in
	nodpi) label="policy without dpi()" ;;
	dpi) label="policy with dpi(), brflow-dpi" ;;
	nfq) label="policy with dpi(), nfq_accept loop" ;;
	esac
	if [ -z "${THR[$name]:-}" ]; then
		printf '%-34s %12s %10s %12s %12s  (%s)\n' "$label" - - - - "${NOTE[$name]:-not run}"
		continue
	fi
	printf '%-34s %12s %10s %12s %12s\n' "$label" "${THR[$name]}" "${CPS[$name]}" \
		"$(ratio "${THR[$name]}" "${THR[nodpi]}")" "$(ratio "${CPS[$name]}" "${CPS[nodpi]}")"
done
if [ -n "${THR[dpi]:-}" ] && [ -n "${THR[nfq]:-}" ]; then
	echo "brflow-dpi vs nfq_accept: throughput x$(ratio "${THR[dpi]}" "${THR[nfq]}"), connections/s x$(ratio "${CPS[dpi]}" "${CPS[nfq]}")"
fi

# a set-up that moved nothing is a failure, not a number
rc=0
for name in nodpi dpi nfq; do
	[ -n "${THR[$name]:-}" ] || continue
	if [ "$(ratio "${THR[$name]}" 0.000001)" = "0.00" ] || [ "${CPS[$name]}" = 0 ]; then
		echo "not ok - $TEST_NAME: $name moved no traffic"
		rc=1
	fi
done
[ -z "${THR[dpi]:-}" ] && rc=1
exit $rc
