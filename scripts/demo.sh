#!/bin/bash
# brflow demo: seed firewall 1 on a bridge inside network namespaces.
#
#   sudo scripts/demo.sh            install deps, build, run the demo, clean up
#   sudo scripts/demo.sh --keep     ... and leave it running to poke at
#   sudo scripts/demo.sh --cleanup  remove what a --keep run left behind
#   --no-deps                       skip scripts/install-deps.sh
#
# Everything happens in three namespaces of its own (switch + two hosts);
# the root namespace's networking is never touched.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BRFLOWD=$ROOT/src/brflowd
BRFLOWCTL=$ROOT/ctl/brflowctl
SW=brflow-demo-sw
H1=brflow-demo-h1
H2=brflow-demo-h2
RUN=/run/brflow-demo
export BRFLOW_SOCKET=$RUN/brflowd.sock

keep=0 deps=1 cleanup_only=0
for arg in "$@"; do
	case "$arg" in
	--keep) keep=1 ;;
	--no-deps) deps=0 ;;
	--cleanup) cleanup_only=1 ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown option '$arg'" >&2; exit 2 ;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: must run as root (network namespaces, nftables): sudo $0 $*" >&2
	exit 1
fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Kills a PID recorded in a file, only if that process is still ours.
kill_pidfile() {
	local f=$1 pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

# Kills what still runs inside one of the demo's own namespaces (the HTTP
# servers: a python3 wrapper such as pyenv's may fork, so $! is not enough).
kill_ns_pids() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null || true
	for _ in $(seq 30); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || return 0
		sleep 0.1
	done
	kill -9 $pids 2>/dev/null || true
}

cleanup() {
	kill_pidfile $RUN/http1.pid
	kill_pidfile $RUN/http2.pid
	kill_pidfile $RUN/brflowd.pid
	for ns in $H1 $H2 $SW; do
		kill_ns_pids "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$RUN"
}

if [ "$cleanup_only" = 1 ]; then
	cleanup
	echo "demo.sh: cleaned up"
	exit 0
fi

# Polls "$@" every 0.1 s for at most $1 seconds.
wait_for() {
	local secs=$1; shift
	local i
	for i in $(seq $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

on_exit() {
	local rc=$?
	trap '' INT TERM   # a second ^C must not cut the clean-up short
	if [ "$keep" = 1 ] && [ "$rc" = 0 ]; then
		return
	fi
	step "Cleaning up: stopping our daemon and servers, deleting the namespaces"
	cleanup
	exit "$rc"
}

if [ "$deps" = 1 ]; then
	step "Installing build and test dependencies (scripts/install-deps.sh)"
	"$ROOT/scripts/install-deps.sh"
fi

step "Building brflowd and brflowctl (make)"
make -C "$ROOT" -j"$(nproc)" all

# A previous --keep run would collide with our names: remove it first.
cleanup
trap on_exit EXIT
trap 'exit 130' INT TERM
mkdir -p -m 0700 $RUN

step "Loading br_netfilter and nf_conntrack (no-ops where built in)"
modprobe br_netfilter 2>/dev/null || true
modprobe nf_conntrack 2>/dev/null || true

step "Creating namespaces: switch $SW, hosts $H1 (10.1.1.1) and $H2 (10.1.1.2)"
for ns in $SW $H1 $H2; do
	ip netns add "$ns"
	in_ns "$ns" ip link set lo up
done
n=0
for h in $H1 $H2; do
	n=$((n + 1))
	ip link add "v$n" netns $SW type veth peer name eth0 netns "$h"
	in_ns "$h" ip addr add "10.1.1.$n/24" dev eth0
	in_ns "$h" ip link set eth0 up
	in_ns $SW ip link set "v$n" up
done

step "Starting brflowd inside the switch namespace"
show ip netns exec $SW "$BRFLOWD" --socket "$BRFLOW_SOCKET" \
	--state-dir $RUN/state --pidfile $RUN/brflowd.pid --detach

step "Creating bridge br0 and adding v1 (port 1, to $H1) and v2 (port 2, to $H2)"
show "$BRFLOWCTL" add-br br0
show "$BRFLOWCTL" add-port br0 v1
show "$BRFLOWCTL" add-port br0 v2

step "Replacing the bridge's default flow (priority=0,actions=NORMAL) with seed firewall 1:"
echo "    port 1 may open connections to port 2, port 2 may only answer"
FLOWS='table=0,priority=100,in_port=1,ip,actions=ct(commit),2
table=0,priority=100,in_port=2,ip,ct_state=-trk,actions=ct(table=1)
table=0,priority=10,arp,actions=normal
table=0,priority=1,actions=drop
table=1,priority=100,in_port=2,ip,ct_state=+est,actions=1
table=1,priority=1,actions=drop'
printf '%s\n' "$FLOWS" | sed 's/^/    /'
printf '%s\n' "$FLOWS" | show "$BRFLOWCTL" replace-flows br0 -

step "Starting an HTTP server (python3 -m http.server 80) on each host"
for n in 1 2; do
	h=brflow-demo-h$n
	in_ns "$h" python3 -m http.server 80 --bind "10.1.1.$n" \
		--directory "$ROOT" >/dev/null 2>&1 &
	echo $! > $RUN/http$n.pid
	if ! wait_for 10 bash -c "ip netns exec $h ss -Hltn 'sport = :80' | grep -q LISTEN"; then
		echo "demo.sh: HTTP server in $h did not start within 10 s" >&2
		exit 1
	fi
done

fail=0
step "Allowed: $H1 -> $H2 over HTTP (port 1 opens, ct(commit), replies are +est)"
code=$(in_ns $H1 curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	http://10.1.1.2/README.md || true)
if [ "$code" = 200 ]; then
	echo "    curl http://10.1.1.2/ from $H1: HTTP $code -- allowed, as the policy says"
else
	echo "    curl http://10.1.1.2/ from $H1: got '$code', expected 200 -- UNEXPECTED" >&2
	fail=1
fi

step "Blocked: $H2 -> $H1 over HTTP (a new connection from port 2 is dropped)"
code=$(in_ns $H2 curl -s -o /dev/null -w '%{http_code}' --max-time 3 \
	http://10.1.1.1/README.md || true)
if [ "$code" = 000 ]; then
	echo "    curl http://10.1.1.1/ from $H2: no answer within 3 s -- blocked, as the policy says"
else
	echo "    curl http://10.1.1.1/ from $H2: got HTTP $code, expected no answer -- UNEXPECTED" >&2
	fail=1
fi

step "The flows with their packet counters (brflowctl dump-flows br0)"
show "$BRFLOWCTL" dump-flows br0

step "The committed connection, as ovs-appctl dpctl/dump-conntrack prints it"
show "$BRFLOWCTL" dump-conntrack

step "Why $H2's connection was dropped, as ovs-appctl ofproto/trace tells it"
show "$BRFLOWCTL" trace br0 in_port=2,tcp,nw_src=10.1.1.2,nw_dst=10.1.1.1,tp_dst=80

if [ "$fail" = 1 ]; then
	echo "demo.sh: the traffic did not behave as the policy says" >&2
	exit 1
fi

if [ "$keep" = 1 ]; then
	trap - EXIT
	cat <<EOF

The demo keeps running (--keep). Poke at it:
  export BRFLOW_SOCKET=$BRFLOW_SOCKET
  $BRFLOWCTL show
  $BRFLOWCTL dump-flows br0
  $BRFLOWCTL compile br0                  # the nftables ruleset brflow generated
  ip netns exec $SW nft list ruleset      # ... and what the kernel holds
  ip netns exec $H1 curl -s http://10.1.1.2/ | head -3
  ip netns exec $H1 ping -c1 10.1.1.2
  $BRFLOWCTL dump-conntrack
  $BRFLOWCTL trace br0 in_port=1,tcp,nw_dst=10.1.1.2,tp_dst=80   # what the tables do
  ip netns exec $H2 curl -sS --max-time 3 http://10.1.1.1/   # still blocked
Clean up (stops the daemon by its pidfile, deletes the namespaces):
  sudo $ROOT/scripts/demo.sh --cleanup
EOF
fi
