#!/bin/bash
# Performance benchmark (issue 6): one switch namespace with a Linux bridge and two
# hosts, and side by side in the same run
#   plain        the bridge without netfilter (br_netfilter off for it, no ruleset)
#   brnf+ct      br_netfilter on and a one-rule inet ruleset that turns conntrack on
#                (`ct state established accept`): the cost of conntrack alone
#   brflow N     brflowd with the security-group policy of tests/bench/gen-policy.sh N
#   nft set N    the same policy by hand in nftables: one interval set of the allowed
#                address . protocol . port tuples (gen-policy.sh --nft; no ports)
#   iptables N   the same policy as linear iptables FORWARD rules (iptables-restore)
# for N = 10, 1000, 10000, 100000: one-stream iperf3 throughput, new connections per
# second (tests/bench/connrate), policy load time and the time of one more allow flow
# (median of 5), each throughput and rate also as a ratio to plain (the mean of plain
# measured first and last).  Then the issue's
# targets as PASS/FAIL lines and brflow against the hand-written set (informational).
# Exit 0 unless the measurement broke.
#
# Usage: perf.sh [--quick] [--ctpath]
#   --quick   3 s measurements instead of 10 (the whole run stays under 10 minutes)
#   --ctpath  for the stock-kernel lane (tests/vm/run.sh bash tests/bench/perf.sh
#             --ctpath): the same small stateful policy by hand in nftables, once with
#             bridge-family conntrack (nf_conntrack_bridge, br_netfilter off) and once
#             in the inet family through br_netfilter; skips without nf_conntrack_bridge
# The two ratio targets come from PAIRED rounds after the table: plain, brnf+ct and brflow
# at 100 000 flows in turn, brflow's ratio to the plain of the same round, the median.
# Environment: BENCH_SECONDS (per measurement), BENCH_REPS (rounds per set-up, the best
# counts; default 3, 2 with --quick), BENCH_PAIRED (paired rounds; 5, 3 with --quick),
# BENCH_NS (default "10 1000 10000 100000"), BENCH_PARALLEL (connrate's connections in flight, default 16),
# BENCH_LOAD_TIMEOUT (seconds for one policy load, default 300, 240 with --quick; one
# update gets as long, at most 120 s with --quick), BENCH_COMPARE (the comparison
# set-ups to measure: default "nft iptables"; "" measures plain, brnf+ct and brflow only,
# for the stock-kernel lane, where TCG takes many minutes over the 100 000-element
# interval set and iptables' 100 000 rules).
#
# Every wait is bounded; a load that exceeds its timeout is reported as TIMEOUT and the
# larger sizes of that set-up are not tried.  All state lives in the run's namespaces
# and temp dir and goes with them.
. "$(dirname "$0")/../netns/lib.sh"
TEST_NAME=bench-perf

QUICK=0 CTPATH=0
for arg in "$@"; do
	case $arg in
	--quick) QUICK=1 ;;
	--ctpath) CTPATH=1 ;;
	*) echo "usage: $0 [--quick] [--ctpath]" >&2; exit 2 ;;
	esac
done
if [ $QUICK = 1 ]; then SECS=${BENCH_SECONDS:-3}; else SECS=${BENCH_SECONDS:-10}; fi
if [ $QUICK = 1 ]; then REPS=${BENCH_REPS:-2}; else REPS=${BENCH_REPS:-3}; fi
if [ $QUICK = 1 ]; then PAIRED=${BENCH_PAIRED:-3}; else PAIRED=${BENCH_PAIRED:-5}; fi
NS=${BENCH_NS:-"10 1000 10000 100000"}
COMPARE=${BENCH_COMPARE-nft iptables}
PARALLEL=${BENCH_PARALLEL:-16}
UPDATES=5
# --quick stays under 10 minutes even when brflow's 100 000-flow load and update both
# time out (15 set-ups x 2 rounds x (1+3+3 s) + 240 s + 120 s; nft -f and
# iptables-restore of that policy take seconds; the paired rounds, 3 x 3 x (1+3+3 s),
# run only when brflow loaded the policy in time)
if [ $QUICK = 1 ]; then
	LOAD_TIMEOUT=${BENCH_LOAD_TIMEOUT:-240}
	UPDATE_TIMEOUT=$((LOAD_TIMEOUT < 120 ? LOAD_TIMEOUT : 120))
else
	LOAD_TIMEOUT=${BENCH_LOAD_TIMEOUT:-300}
	UPDATE_TIMEOUT=$LOAD_TIMEOUT
fi
IPERF_PORT=5201
CONN_PORT=7001
BIG=100000
ROWS=()
declare -A THR CPS LOAD UPD NOTE

say() { echo "# $(date +%T) $*"; }

# ---------------------------------------------------------------- topology

# The hosts are ports 1 and 2 (p1, p2), as in lib.sh, but the bridge starts as a plain
# Linux bridge: brflowd adopts it later.
perf_topology() {
	local i h
	bf_init
	bf_netns_add "$SW" || bf_setup_fail "cannot create namespace $SW"
	ip -n "$SW" link add "$BR" type bridge || bf_setup_fail "cannot create bridge $BR"
	ip -n "$SW" link set "$BR" up
	brnf_set 0
	for i in 1 2; do
		h=$(hns "$i")
		bf_netns_add "$h" || bf_setup_fail "cannot create namespace $h"
		ip -n "$SW" link add "p$i" type veth peer name eth0 netns "$h" &&
			ip -n "$SW" link set "p$i" master "$BR" up &&
			ip -n "$h" addr add "$(hip "$i")/24" dev eth0 &&
			ip -n "$h" link set eth0 up ||
			bf_setup_fail "cannot add host $i"
		# RST-closed connections leave no TIME_WAIT, yet give connrate room
		ip netns exec "$h" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
	done
	BF_HOSTS=2
	wait_until 10 ip netns exec "$(hns 1)" ping -c1 -W1 "$(hip 2)" ||
		bf_setup_fail "h1 cannot ping h2 over the plain bridge"
}

# brnf_set 0|1: br_netfilter's call-iptables for the bridge and the namespace.  Both
# must be off for a bridge that never enters the inet hooks.
brnf_set() {
	local k
	ip -n "$SW" link set "$BR" type bridge nf_call_iptables "$1" nf_call_ip6tables "$1" ||
		bf_setup_fail "cannot set nf_call_iptables $1 on $BR"
	for k in iptables ip6tables arptables; do
		brnf_sysctl_set "$k" "$1"
	done
}

# brnf_sysctl_set NAME 0|1: net.bridge.bridge-nf-call-NAME in the switch namespace.  These
# are per namespace on the kernels we know; should one be global, the root namespace's
# value is put back and the run stops rather than change the host.
brnf_sysctl_set() {
	local f=/proc/sys/net/bridge/bridge-nf-call-$1 root
	root=$(cat "$f" 2>/dev/null) || return 0
	ip netns exec "$SW" sysctl -qw "net.bridge.bridge-nf-call-$1=$2" 2>/dev/null
	if [ "$(cat "$f")" != "$root" ]; then
		echo "$root" >"$f"
		bf_setup_fail "net.bridge.bridge-nf-call-$1 is not per namespace on this kernel"
	fi
}

# ---------------------------------------------------------------- measuring

# t_now / t_since START: wall clock in seconds (float) and seconds since START.
t_now() { echo "$EPOCHREALTIME"; }
t_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

ct_flush() { ip netns exec "$SW" conntrack -F >/dev/null 2>&1; }

# iperf_once: one iperf3 stream for SECS after a first second left out (slow start),
# from a fresh one-test server (a broken run cannot leave it busy); prints Gbit/s, 0.00
# when nothing moved.
iperf_once() {
	local json srv
	ct_flush
	bf_bg "$(hns 2)" "$BF_DIR/iperf3-s.log" timeout $((SECS + 40)) iperf3 -s -1 -p "$IPERF_PORT"
	srv=$BF_LAST
	if wait_until 5 listening "$(hns 2)" t "$IPERF_PORT"; then
		json=$(ip netns exec "$(hns 1)" timeout $((SECS + 30)) iperf3 -c "$(hip 2)" \
			-p "$IPERF_PORT" -t "$SECS" -O 1 --connect-timeout 5000 -J 2>/dev/null)
	fi
	bf_kill "$srv"
	python3 -c '
import json, sys
try:
    print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    print("0.00")
' <<<"${json:-}"
}

# connrate_once: connrate for SECS; prints connections/s, or 0 and the error on stderr.
connrate_once() {
	local out
	ct_flush
	out=$(ip netns exec "$(hns 1)" timeout $((SECS + 10)) "$CONNRATE" client "$(hip 2)" \
		"$CONN_PORT" "$SECS" "$PARALLEL" 2>&1)
	if [[ $out =~ rate\ ([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo 0
		bf_oneline "$out" >&2
	fi
}

# measure ROW: REPS rounds of iperf_once and connrate_once through whatever is loaded;
# the best round of each counts (other load on the box only ever makes a round slower).
# A set-up that passes nothing gets 0 and a note, never a hang.
measure() {
	local row=$1 t c all_t='' all_c=''
	say "measuring $row"
	THR[$row]=0.00
	CPS[$row]=0
	for _ in $(seq 1 "$REPS"); do
		t=$(iperf_once)
		c=$(connrate_once 2>"$BF_DIR/connrate.err")
		all_t+=" $t"
		all_c+=" $c"
		awk -v a="$t" -v b="${THR[$row]}" 'BEGIN { exit !(a > b) }' && THR[$row]=$t
		[ "$c" -gt "${CPS[$row]}" ] && CPS[$row]=$c
	done
	[ "${THR[$row]}" = 0.00 ] && NOTE[$row]="iperf3 moved nothing"
	[ "${CPS[$row]}" = 0 ] &&
		NOTE[$row]="${NOTE[$row]:+${NOTE[$row]}; }connrate: $(cat "$BF_DIR/connrate.err")"
	say "$row: Gbit/s$all_t; connections/s$all_c"
}

# deny_check ROW: the loaded policy must still deny: TCP from host 1 to a port no flow
# allows (CONN_PORT+1, where nothing listens) has to time out.  A refusal (the RST of
# host 2) means it passed, and the row would measure a policy that is not there.
deny_check() {
	local out
	ct_flush
	out=$(ip netns exec "$(hns 1)" timeout 10 "$CONNRATE" client "$(hip 2)" $((CONN_PORT + 1)) 2 1 2>&1)
	[[ $out == *"timed out"* ]] && return 0
	NOTE[$1]="policy check: TCP to port $((CONN_PORT + 1)) was not dropped: $(bf_oneline "$out")"
	BROKEN=1
}

# median: the middle of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

# timed_ms SECS CMD...: runs CMD (SECS at most), prints its wall time in ms; CMD's status.
timed_ms() {
	local t=$1 s rc
	shift
	s=$(t_now)
	timeout "$t" "$@" >"$BF_DIR/upd.out" 2>&1
	rc=$?
	awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
	return $rc
}

# run_updates ROW FN: FN K applies the K-th single update and prints its time (timed_ms).
# UPDATES of them, fewer when they are slow (10 s in all after the first); the median
# goes to UPD[ROW].
run_updates() {
	local row=$1 fn=$2 k ms rc s n=0
	s=$(t_now)
	: >"$BF_DIR/upd.ms"
	for k in $(seq 1 $UPDATES); do
		ms=$($fn "$k")
		rc=$?
		if [ $rc -ne 0 ]; then
			if [ $rc -eq 124 ]; then
				UPD[$row]=TIMEOUT
				NOTE[$row]="one update took more than $UPDATE_TIMEOUT s"
			else
				UPD[$row]=FAILED
				NOTE[$row]="update: $(bf_oneline "$(cat "$BF_DIR/upd.out")")"
			fi
			return 1
		fi
		echo "$ms" >>"$BF_DIR/upd.ms"
		n=$((n + 1))
		[ "$(t_since "$s" | cut -d. -f1)" -ge 10 ] && break
	done
	UPD[$row]=$(median <"$BF_DIR/upd.ms")
	[ $n -lt $UPDATES ] && NOTE[$row]="update: median of $n (slow)"
	return 0
}

# A new allow flow, distinct from every generated one (198.18.0.0/15 is never used),
# at the highest allow priority: in iptables it goes at the head of the allow rules.
new_flow() {
	echo "table=1,priority=70,ct_state=+trk+new,tcp,in_port=3,nw_src=198.18.$1.$2,tp_dst=443,actions=ct(commit),normal"
}

new_rule() {
	echo "-s 198.18.$1.$2/32 -p tcp -m physdev --physdev-in nx3 -m conntrack --ctstate NEW -m tcp --dport 443 -j ACCEPT"
}

new_elem() {
	echo "{ 198.18.$1.$2 . tcp . 443 }"
}

# timed_load ROW WHAT CMD...: runs CMD (LOAD_TIMEOUT at most; stdin is the caller's)
# and puts its wall time in LOAD[ROW]; 1 when it failed: LOAD[ROW] is then TIMEOUT (the
# limit, or brflowctl's own timeout) or FAILED, and NOTE[ROW] says why (a refusal also
# marks the run broken).
timed_load() {
	local row=$1 what=$2 s rc
	shift 2
	s=$(t_now)
	timeout "$LOAD_TIMEOUT" "$@" >"$BF_DIR/out" 2>&1
	rc=$?
	LOAD[$row]=$(t_since "$s")
	[ $rc -eq 0 ] && return 0
	if [ $rc -eq 124 ] || grep -qi 'timed* out' "$BF_DIR/out"; then
		LOAD[$row]=TIMEOUT
		NOTE[$row]="$what took more than $LOAD_TIMEOUT s"
	else
		LOAD[$row]=FAILED
		NOTE[$row]="$what: $(bf_oneline "$(cat "$BF_DIR/out")")"
		BROKEN=1
	fi
	return 1
}

# ---------------------------------------------------------------- set-ups

# run_plain [ROW]: the bridge as it is with nothing loaded.  Measured first and again
# last ("plain, again"), so the table shows how much the box drifted during the run.
run_plain() {
	local row=${1:-plain}
	ROWS+=("$row")
	measure "$row"
}

ctref_on() {
	brnf_set 1
	ip netns exec "$SW" nft -f - <<-EOF || bf_setup_fail "cannot load the conntrack reference ruleset"
		table inet bench_ct {
			chain pre {
				type filter hook prerouting priority -150; policy accept;
				ct state established accept
			}
		}
	EOF
}

ctref_off() {
	ip netns exec "$SW" nft delete table inet bench_ct
	brnf_set 0
}

run_ctref() {
	local row="brnf+ct, no policy"
	ROWS+=("$row")
	ctref_on
	measure "$row"
	ctref_off
}

# pctl SECS ARGS...: brflowctl that gives up after SECS.
pctl() {
	local t=$1
	shift
	timeout $((t + 5)) "$BRFLOWCTL" --timeout "$t" "$@"
}

brflow_start() {
	bf_daemon_start || { NOTE[brflow]="brflowd did not start: $(bf_oneline "$(tail -3 "$BF_DIR/daemon.log")")"; return 1; }
	pctl 30 add-br "$BR" >"$BF_DIR/out" 2>&1 &&
		pctl 30 add-port "$BR" p1 ofport=1 >>"$BF_DIR/out" 2>&1 &&
		pctl 30 add-port "$BR" p2 ofport=2 >>"$BF_DIR/out" 2>&1 ||
		{ NOTE[brflow]="brflowd setup: $(bf_oneline "$(cat "$BF_DIR/out")")"; return 1; }
}

# brflow_one N: empty the table, load the policy (timed), add UPDATES flows (timed), measure.
# 1 when this size could not be loaded (the larger ones are not tried).
brflow_one() {
	local n=$1 row="brflow N=$1"
	ROWS+=("$row")
	pctl "$LOAD_TIMEOUT" del-flows "$BR" >"$BF_DIR/out" 2>&1 ||
		{ NOTE[$row]="del-flows: $(bf_oneline "$(cat "$BF_DIR/out")")"; LOAD[$row]=FAILED; return 1; }
	say "brflow: replace-flows $n flows"
	timed_load "$row" replace-flows "$BRFLOWCTL" --timeout "$LOAD_TIMEOUT" replace-flows \
		"$BR" "$BF_DIR/policy.$n.flows" || return 1
	say "brflow: loaded $n flows in ${LOAD[$row]} s; single add-flow updates"
	# which conntrack brflowd chose (the bridge family's where the kernel has it)
	CTPATH_USED=$(pctl 30 show 2>/dev/null | awk '$1 == "conntrack:" { $1 = ""; print substr($0, 2); exit }')
	run_updates "$row" brflow_update
	deny_check "$row"
	measure "$row"
}

brflow_update() {
	timed_ms $((UPDATE_TIMEOUT + 5)) "$BRFLOWCTL" --timeout "$UPDATE_TIMEOUT" add-flow "$BR" \
		"$(new_flow 0 "$1")"
}

brflow_stop() {
	bf_daemon_stop >/dev/null 2>&1
	# brflowd leaves its ruleset loaded when it exits; this namespace's ruleset is ours
	ip netns exec "$SW" nft flush ruleset
}

run_brflow() {
	local n
	if brflow_start; then
		for n in $NS; do
			brflow_one "$n" || break
		done
	else
		ROWS+=("brflow")
		BROKEN=1
	fi
	brflow_stop
}

# ---------------------------------------------------------------- paired rounds

# The two ratio targets compare brflow at BIG flows with plain, and in the table those
# two are measured minutes apart: on a shared 2-CPU box one measurement moves by 10 %
# or more from one minute to the next.  Here plain, brnf+ct and brflow (brflowd started
# again on the state the table's run left: BIG flows and the updates) take turns in
# PAIRED rounds, the order rotating; each round gives brflow's ratios to the plain
# measurement of that round, and the targets take the median of those ratios.
declare -A PAIR_T PAIR_C
PAIR_RT=() PAIR_RC=() PAIR_REF=()

pair_on() {
	case $1 in
	plain) brnf_set 0 ;;
	brnf+ct) ctref_on ;;
	brflow)
		bf_daemon_start || { NOTE[paired]="brflowd did not start again: $(bf_oneline "$(tail -3 "$BF_DIR/daemon.log")")"; return 1; } ;;
	esac
}

pair_off() {
	case $1 in
	brnf+ct) ctref_off ;;
	brflow) brflow_stop; brnf_set 0 ;;
	esac
}

run_paired() {
	local setups=(plain brnf+ct brflow) r k setup t c
	[[ ${LOAD["brflow N=$BIG"]:-} =~ ^[0-9.]+$ ]] || return 0
	for r in $(seq 1 "$PAIRED"); do
		for k in 0 1 2; do
			setup=${setups[$(((k + r - 1) % 3))]}
			say "paired round $r: $setup"
			pair_on "$setup" || return 0
			t=$(iperf_once)
			c=$(connrate_once 2>/dev/null)
			pair_off "$setup"
			PAIR_T[$setup]=$t PAIR_C[$setup]=$c
		done
		PAIR_RT+=("$(ratio "${PAIR_T[brflow]}" "${PAIR_T[plain]}")")
		PAIR_RC+=("$(ratio "${PAIR_C[brflow]}" "${PAIR_C[plain]}")")
		PAIR_REF+=("$(ratio "${PAIR_C[brnf+ct]}" "${PAIR_C[plain]}")")
		say "paired round $r: Gbit/s plain ${PAIR_T[plain]} brnf+ct ${PAIR_T[brnf+ct]} brflow ${PAIR_T[brflow]} (x${PAIR_RT[-1]}); conn/s plain ${PAIR_C[plain]} brnf+ct ${PAIR_C[brnf+ct]} brflow ${PAIR_C[brflow]} (x${PAIR_RC[-1]})"
	done
}

ipt() { ip netns exec "$SW" iptables -w 10 "$@"; }

# iptables_one N: as brflow_one, with iptables-restore and iptables -I.
iptables_one() {
	local n=$1 row="iptables N=$1"
	ROWS+=("$row")
	timeout "$LOAD_TIMEOUT" ip netns exec "$SW" iptables -w 10 -F FORWARD >"$BF_DIR/out" 2>&1 ||
		{ LOAD[$row]=FAILED; NOTE[$row]="iptables -F: $(bf_oneline "$(cat "$BF_DIR/out")")"; BROKEN=1; return 1; }
	say "iptables: iptables-restore $n rules"
	timed_load "$row" iptables-restore ip netns exec "$SW" iptables-restore -w 10 \
		<"$BF_DIR/policy.$n.ipt" || return 1
	say "iptables: loaded $n rules in ${LOAD[$row]} s; single iptables -I updates"
	run_updates "$row" iptables_update
	deny_check "$row"
	measure "$row"
}

# shellcheck disable=SC2046 # new_rule prints one rule's words
iptables_update() {
	timed_ms "$UPDATE_TIMEOUT" ip netns exec "$SW" iptables -w 10 -I FORWARD 4 $(new_rule 0 "$1")
}

run_iptables() {
	local n
	brnf_set 1
	for n in $NS; do
		iptables_one "$n" || break
	done
	timeout "$LOAD_TIMEOUT" ip netns exec "$SW" iptables -w 10 -F FORWARD >/dev/null 2>&1
	ipt -P FORWARD ACCEPT >/dev/null 2>&1
	brnf_set 0
}

nft_sw() { ip netns exec "$SW" nft "$@"; }

# nftset_one N: as brflow_one, with the same policy written by hand as one nftables
# interval set (gen-policy.sh --nft), loaded with nft -f, updated with nft add element.
nftset_one() {
	local n=$1 row="nft set N=$1"
	ROWS+=("$row")
	nft_sw delete table inet bench_set >/dev/null 2>&1
	say "nft set: nft -f with $n flows"
	timed_load "$row" "nft -f" ip netns exec "$SW" nft -f "$BF_DIR/policy.$n.nft" || return 1
	say "nft set: loaded $n flows in ${LOAD[$row]} s; single nft add element updates"
	run_updates "$row" nftset_update
	deny_check "$row"
	measure "$row"
}

nftset_update() {
	timed_ms "$UPDATE_TIMEOUT" ip netns exec "$SW" nft add element inet bench_set allow "$(new_elem 0 "$1")"
}

run_nftset() {
	local n
	brnf_set 1
	for n in $NS; do
		nftset_one "$n" || break
	done
	nft_sw delete table inet bench_set >/dev/null 2>&1
	brnf_set 0
}

# ---------------------------------------------------------------- the bridge-family path (--ctpath)

# ctpath_rules FAMILY: the small stateful policy, by hand, in FAMILY's forward hook.
ctpath_rules() {
	cat <<-EOF
		table $1 bench_ctp {
			chain forward {
				type filter hook forward priority 0; policy accept;
				ct state established,related accept
				ct state invalid drop
				ip saddr $(hip 1) tcp dport { $IPERF_PORT, $CONN_PORT } ct state new accept
				meta l4proto tcp drop
			}
		}
	EOF
}

run_ctpath() {
	local out
	ROWS+=("inet ct via br_netfilter" "bridge-family ct")
	brnf_set 1
	ctpath_rules inet | ip netns exec "$SW" nft -f - || bf_setup_fail "cannot load the inet ruleset"
	measure "inet ct via br_netfilter"
	ip netns exec "$SW" nft delete table inet bench_ctp
	brnf_set 0
	if ! out=$(ctpath_rules bridge | ip netns exec "$SW" nft -f - 2>&1); then
		out=$(grep -m1 -o 'Error: .*' <<<"$out")
		NOTE[bridge-family ct]="this kernel has no conntrack in the bridge family (nf_conntrack_bridge): ${out:-nft refused the rules}"
		echo "skip - $TEST_NAME: bridge-family ct: ${NOTE[bridge-family ct]}"
		return 0
	fi
	measure "bridge-family ct"
	ip netns exec "$SW" nft delete table bridge bench_ctp
}

# ---------------------------------------------------------------- report

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

# ref_of ARRAY: the plain reference, the mean of "plain" and "plain, again" (whichever
# moved traffic), so that drift during the run weighs on every row alike.
ref_of() {
	local -n m=$1
	awk -v a="${m[plain]:-0}" -v b="${m[plain, again]:-0}" 'BEGIN {
		if (a > 0 && b > 0) printf "%.2f", (a + b) / 2; else printf "%.2f", a > 0 ? a : b }'
}

report() {
	local row thr cps
	REF_THR=$(ref_of THR)
	REF_CPS=$(ref_of CPS)
	echo
	printf '%-26s %8s %6s %8s %6s %9s %10s\n' "set-up" "Gbit/s" "ratio" "conn/s" "ratio" "load s" "update ms"
	for row in "${ROWS[@]}"; do
		thr=${THR[$row]:--}
		cps=${CPS[$row]:--}
		printf '%-26s %8s %6s %8s %6s %9s %10s' "$row" "$thr" "$(ratio "$thr" "$REF_THR")" \
			"$cps" "$(ratio "$cps" "$REF_CPS")" "${LOAD[$row]:--}" "${UPD[$row]:--}"
		[ -n "${NOTE[$row]:-}" ] && printf '  (%s)' "${NOTE[$row]}"
		echo
	done
	echo "# ratios to the mean of the two plain rows ($REF_THR Gbit/s, $REF_CPS conn/s)"
	echo "# $(date +%F), best of $REPS rounds of $SECS s per measurement, $PARALLEL connections in flight, $(nproc) CPUs, kernel $(uname -r), $(iptables -V 2>/dev/null)"
	[ -n "${CTPATH_USED:-}" ] && echo "# brflow's conntrack (brflowctl show): $CTPATH_USED"
}

# target NAME VALUE OP LIMIT: one PASS/FAIL line (a missing value is a FAIL).
target() {
	local verdict
	verdict=$(awk -v v="$2" -v op="$3" -v l="$4" 'BEGIN {
		if (v !~ /^[0-9.]+$/) { print "FAIL"; exit }
		if (op == ">=") print (v + 0 >= l + 0) ? "PASS" : "FAIL"
		else print (v + 0 < l + 0) ? "PASS" : "FAIL"
	}')
	echo "$verdict - $1: $2 (target $3 $4)"
}

targets() {
	local row="brflow N=$BIG" rt rc
	echo
	rt=$(printf '%s\n' "${PAIR_RT[@]}" | grep -E '^[0-9.]+$' | median)
	rc=$(printf '%s\n' "${PAIR_RC[@]}" | grep -E '^[0-9.]+$' | median)
	if [ ${#PAIR_RT[@]} -gt 0 ]; then
		echo "# paired rounds (plain, brnf+ct and brflow N=$BIG in turn, $SECS s each): brflow's ratio to plain per round: throughput ${PAIR_RT[*]}, connections/s ${PAIR_RC[*]} (brnf+ct ${PAIR_REF[*]}); the targets take the medians"
	else
		echo "# no paired rounds (${NOTE[paired]:-brflow did not load $BIG flows}): the ratios are the table's"
		rt=$(ratio "${THR[$row]:-}" "$REF_THR")
		rc=$(ratio "${CPS[$row]:-}" "$REF_CPS")
	fi
	target "throughput at $BIG flows, ratio to plain" "$rt" ">=" 0.85
	target "connections/s at $BIG flows, ratio to plain" "$rc" ">=" 0.80
	target "load of $BIG flows, s" "${LOAD[$row]:--}" "<" 0.5
	target "one add-flow into $BIG flows, ms" "${UPD[$row]:--}" "<" 10
	[ -n "${CPS["nft set N=$BIG"]:-}" ] &&
		echo "# brflow against the hand-written set at $BIG flows: throughput x$(ratio "${THR[$row]:-}" "${THR["nft set N=$BIG"]}"), connections/s x$(ratio "${CPS[$row]:-}" "${CPS["nft set N=$BIG"]}")"
	return 0
}

# ---------------------------------------------------------------- main

for tool in iperf3 iptables iptables-restore; do
	command -v "$tool" >/dev/null || { echo "skip - $TEST_NAME: needs $tool (scripts/install-deps.sh)"; exit 0; }
done
BROKEN=0
START=$SECONDS
perf_topology
CONNRATE=$BF_ROOT/tests/bench/connrate
if [ ! -x "$CONNRATE" ] || [ "$CONNRATE" -ot "$CONNRATE.c" ]; then
	CONNRATE=$BF_DIR/connrate
	cc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE -o "$CONNRATE" "$BF_ROOT/tests/bench/connrate.c" \
		2>"$BF_DIR/cc.log" || bf_setup_fail "cannot build connrate: $(bf_oneline "$(cat "$BF_DIR/cc.log")")"
fi
bf_bg "$(hns 2)" "$BF_DIR/connrate-s.log" timeout 3600 "$CONNRATE" server "$CONN_PORT"
wait_until 5 listening "$(hns 2)" t "$CONN_PORT" || bf_setup_fail "connrate server did not listen"

run_plain
if [ $CTPATH = 1 ]; then
	run_ctpath
else
	for n in $NS; do
		bash "$BF_ROOT/tests/bench/gen-policy.sh" "$n" >"$BF_DIR/policy.$n.flows" &&
			bash "$BF_ROOT/tests/bench/gen-policy.sh" "$n" --iptables >"$BF_DIR/policy.$n.ipt" &&
			bash "$BF_ROOT/tests/bench/gen-policy.sh" "$n" --nft >"$BF_DIR/policy.$n.nft" ||
			bf_setup_fail "gen-policy.sh $n failed"
	done
	run_ctref
	run_brflow
	[[ " $COMPARE " == *" nft "* ]] && run_nftset
	[[ " $COMPARE " == *" iptables "* ]] && run_iptables
fi
run_plain "plain, again"
[ $CTPATH = 1 ] || run_paired
report
if [ $CTPATH = 1 ]; then
	[ -n "${THR[bridge-family ct]:-}" ] &&
		echo "bridge-family ct vs inet ct via br_netfilter: throughput x$(ratio "${THR[bridge-family ct]}" "${THR[inet ct via br_netfilter]}"), connections/s x$(ratio "${CPS[bridge-family ct]}" "${CPS[inet ct via br_netfilter]}")"
else
	targets
fi
echo "# perf.sh took $((SECONDS - START)) s"

# a plain bridge that moved nothing, or a set-up that failed outright, is no measurement
if [ "${THR[plain]:-0.00}" = 0.00 ] || [ "${CPS[plain]:-0}" = 0 ]; then
	echo "not ok - $TEST_NAME: the plain bridge moved no traffic: ${NOTE[plain]:-}"
	exit 1
fi
if [ $BROKEN = 1 ]; then
	echo "not ok - $TEST_NAME: a set-up could not be measured (see the table)"
	exit 1
fi
exit 0
