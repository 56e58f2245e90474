#!/bin/bash
# Runs every unit test (tests/unit/test_*, queue/test_dpi), replays the fuzz corpora
# (tests/fuzz/), then runs every netns test
# (tests/netns/[0-9]*.sh), echoing their output, and ends with the line
# "N passed, M failed, K skipped" (exit 1 if M > 0).
#
# usage: tests/run.sh [PATTERN]    only tests whose name matches the regex PATTERN
# Environment: BF_TEST_TIMEOUT (seconds per netns script, default 300); BF_SKIP, a
# regex: netns scripts whose name matches print one skip line, with the reason in
# BF_SKIP_WHY, instead of running.
set -u

cd "$(dirname "$0")/.." || exit 1
filter=${1:-}
timeout_s=${BF_TEST_TIMEOUT:-300}
passed=0
failed=0
skipped=0
n=0

selected() {
	[ -z "$filter" ] || [[ $1 =~ $filter ]]
}

# tally NAME STATUS LOG: counts the result lines of one test program.
tally() {
	local name=$1 rc=$2 log=$3 p f s
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	s=$(grep -c '^skip - ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "not ok - $name: timed out"
		else
			echo "not ok - $name: exited with status $rc"
		fi
		f=1
	elif [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $name: printed no result"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# sweep PREFIX: removes what a killed netns script left behind (its namespaces, the
# processes inside them, its temp dir).  Names carry the per-script prefix, so this
# touches nothing else.
sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1-"); do
		echo "# cleaning up leftover namespace $ns"
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf /tmp/"$1"-??????
}

run_one() {
	local name=$1 log rc
	shift
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	tally "$name" "$rc" "$log"
	rm -f "$log"
}

# run_built SRC PROGRAM [ARGS...]: runs a test program `make unit` builds from SRC,
# with a time limit; one that was not built would otherwise pass unseen.
run_built() {
	local src=$1 t=$2 name
	shift 2
	name=$(basename "$t")
	selected "$name" || return 0
	echo "# $name"
	if [ ! -x "$t" ] || [ "$t" -ot "$src" ]; then
		echo "not ok - $name: not built from $src (run make unit)"
		failed=$((failed + 1))
		return 0
	fi
	run_one "$name" timeout -k 5 300 "$t" "$@"
}

for src in tests/unit/test_*.c queue/test_dpi.c; do
	run_built "$src" "${src%.c}"
done

# the fuzz harnesses' corpora (tests/fuzz/replay.c): seeds and past findings
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	run_built "$src" "${src%.c}_replay" "tests/fuzz/corpus/$(basename "${src%.c}" | sed 's/^fuzz_//')"
done

root=1
[ "$(id -u)" -eq 0 ] || root=0
for t in tests/netns/[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	selected "$name" || continue
	echo "# $name"
	if [ $root -eq 0 ]; then
		echo "skip - $name: needs root"
		skipped=$((skipped + 1))
		continue
	fi
	if [ -n "${BF_SKIP:-}" ] && [[ $name =~ $BF_SKIP ]]; then
		echo "skip - $name: ${BF_SKIP_WHY:-BF_SKIP}"
		skipped=$((skipped + 1))
		continue
	fi
	n=$((n + 1))
	prefix=bf$$r$n
	start=$SECONDS
	BF_PREFIX=$prefix run_one "$name" timeout -k 10 "$timeout_s" bash "$t"
	sweep "$prefix"
	# where a slow lane's time goes (CI runs the emulated lane under a ceiling)
	echo "# $name took $((SECONDS - start)) s"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
