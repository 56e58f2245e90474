# tests/netns/lib.sh: helpers for the brflow netns suite (sourced by tests/netns/NN-*.sh).
#
# A test builds a switch namespace running brflowd with one bridge, N host namespaces on
# veth pairs (host i is port i, 10.1.1.i/24 and fc00::i/64), drives real traffic and prints
# "ok - ", "not ok - " or "skip - " lines.  Everything it creates carries a per-run prefix
# (BF_PREFIX from tests/run.sh, else bf<pid>) and is removed by the EXIT/INT/TERM trap.
# Every wait is bounded.

set -u

BF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BRFLOWD=${BRFLOWD:-$BF_ROOT/src/brflowd}
BRFLOWCTL=${BRFLOWCTL:-$BF_ROOT/ctl/brflowctl}
FLOWS=$BF_ROOT/tests/netns/flows
TEST_NAME=$(basename "$0" .sh)
PFX=${BF_PREFIX:-bf$$}
SW=$PFX-sw
BR=br0
BF_DIR=
BF_FAILED=0
BF_DAEMON_PID=
BF_NS=()
BF_BG=()
BF_HOSTS=0

# ---------------------------------------------------------------- results

ok() { echo "ok - $TEST_NAME: $1"; }
skip() { echo "skip - $TEST_NAME: $1: $2"; }
# not_ok NAME REASON: the reason says what was expected and what came instead.
not_ok() {
	echo "not ok - $TEST_NAME: $1: $2"
	BF_FAILED=$((BF_FAILED + 1))
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "'$*' exited $rc: $(bf_oneline "$out")"
	fi
}

# check_fails NAME CMD...: passes when CMD exits non-zero.
check_fails() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		not_ok "$name" "'$*' succeeded but should fail: $(bf_oneline "$out")"
	else
		ok "$name"
	fi
}

check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected '$(bf_oneline "$2")', got '$(bf_oneline "$3")'"
	fi
}

# check_re NAME ERE TEXT: TEXT (whole) matches the extended regex.
check_re() {
	if [[ $3 =~ $2 ]]; then
		ok "$1"
	else
		not_ok "$1" "expected to match /$2/, got '$(bf_oneline "$3")'"
	fi
}

# check_gt NAME NUMBER MIN: NUMBER > MIN.
check_gt() {
	if [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected a number > $3, got '$2'"
	fi
}

# Multi-line text on one line, so a reason stays one line.
bf_oneline() { printf '%s' "$1" | tr '\n' '|' | cut -c1-600; }

# ---------------------------------------------------------------- waiting

# wait_until SECONDS CMD...: polls CMD every 0.1 s; 0 once it succeeds, 1 on timeout.
wait_until() {
	local tries=$(($1 * 10))
	shift
	while [ $tries -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# ---------------------------------------------------------------- setup and cleanup

bf_cleanup() {
	local pid ns
	trap - EXIT INT TERM
	for pid in "${BF_BG[@]}"; do
		kill "$pid" 2>/dev/null
	done
	bf_daemon_stop >/dev/null 2>&1
	# Anything still running inside our own namespaces was started by this test.
	for ns in "${BF_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$BF_DIR" ] && rm -rf "$BF_DIR"
}

bf_on_signal() {
	echo "not ok - $TEST_NAME: interrupted by a signal (timeout?)"
	exit 1
}

# bf_init: checks for root, the binaries and tools; makes the temp dir; sets the trap.
bf_init() {
	local tool
	if [ "$(id -u)" -ne 0 ]; then
		skip "$TEST_NAME" "needs root"
		exit 0
	fi
	for tool in "$BRFLOWD" "$BRFLOWCTL"; do
		if [ ! -x "$tool" ]; then
			not_ok setup "$tool is not built (run make)"
			exit 1
		fi
	done
	for tool in ip nc curl python3 socat conntrack nft ss ping timeout; do
		if ! command -v "$tool" >/dev/null; then
			not_ok setup "'$tool' is not installed (scripts/install-deps.sh)"
			exit 1
		fi
	done
	BF_DIR=$(mktemp -d "/tmp/$PFX-XXXXXX")
	trap bf_cleanup EXIT
	trap bf_on_signal INT TERM
	export BRFLOW_SOCKET=$BF_DIR/sock
}

bf_netns_add() {
	ip netns add "$1" || return 1
	BF_NS+=("$1")
	ip -n "$1" link set lo up
}

# bf_daemon_start [EXTRA ARGS]: starts brflowd in the switch namespace (detached).
bf_daemon_start() {
	local rc
	timeout 30 ip netns exec "$SW" "$BRFLOWD" --socket "$BF_DIR/sock" \
		--state-dir "$BF_DIR/state" --pidfile "$BF_DIR/pid" --detach "$@" \
		>>"$BF_DIR/daemon.log" 2>&1
	rc=$?
	BF_DAEMON_PID=$(cat "$BF_DIR/pid" 2>/dev/null)
	[ $rc -eq 0 ] && [ -n "$BF_DAEMON_PID" ]
}

# bf_daemon_stop: SIGTERM to the pidfile's PID (only if it is a brflowd), waits for exit.
bf_daemon_stop() {
	local pid
	pid=$(cat "$BF_DIR/pid" 2>/dev/null)
	[ -n "$pid" ] || pid=$BF_DAEMON_PID
	[ -n "$pid" ] || return 0
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = brflowd ] || return 0
	kill -TERM "$pid"
	if ! wait_until 10 bf_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		return 1
	fi
}

bf_gone() { ! kill -0 "$1" 2>/dev/null; }

# bf_topology N: switch namespace, brflowd, bridge br0, hosts 1..N as ports 1..N.
# On failure prints a not ok line and exits: nothing else can run.
bf_topology() {
	local n=$1 i
	bf_init
	bf_netns_add "$SW" || bf_setup_fail "cannot create namespace $SW"
	bf_daemon_start || bf_setup_fail "brflowd did not start: $(bf_oneline "$(tail -5 "$BF_DIR/daemon.log")")"
	bfctl add-br "$BR" >"$BF_DIR/out" 2>&1 || bf_setup_fail "add-br: $(bf_oneline "$(cat "$BF_DIR/out")")"
	for i in $(seq 1 "$n"); do
		bf_add_host "$i" || bf_setup_fail "cannot add host $i: $(bf_oneline "$(cat "$BF_DIR/out")")"
	done
}

bf_setup_fail() {
	not_ok setup "$1"
	exit 1
}

# bf_add_host I: namespace $PFX-hI, veth pI (switch) <-> eth0 (host), port I on br0.
bf_add_host() {
	local i=$1 h
	h=$(hns "$i")
	bf_netns_add "$h" || return 1
	ip -n "$SW" link add "p$i" type veth peer name eth0 netns "$h" >"$BF_DIR/out" 2>&1 || return 1
	ip -n "$SW" link set "p$i" up || return 1
	ip -n "$h" addr add "10.1.1.$i/24" dev eth0 || return 1
	ip -n "$h" addr add "fc00::$i/64" dev eth0 nodad || return 1
	ip -n "$h" link set eth0 up || return 1
	bfctl add-port "$BR" "p$i" >"$BF_DIR/out" 2>&1 || return 1
	BF_HOSTS=$i
}

# Host namespace name and addresses by host number.
hns() { echo "$PFX-h$1"; }
hip() { echo "10.1.1.$1"; }
hip6() { echo "fc00::$1"; }

bfctl() { timeout 120 "$BRFLOWCTL" "$@"; }

# bf_flows FILE: loads a flow file from tests/netns/flows onto br0 as OVS's tests do.
bf_flows() {
	bfctl --bundle add-flows "$BR" "$FLOWS/$1"
}

# bf_flows_check NAME FILE: bf_flows with an ok/not ok line; 1 if it failed.
bf_flows_check() {
	local out
	if out=$(bf_flows "$2" 2>&1); then
		ok "$1"
		return 0
	fi
	not_ok "$1" "add-flows $2: $(bf_oneline "$out")"
	return 1
}

# ---------------------------------------------------------------- background processes

# bf_bg NS OUT CMD...: runs CMD in namespace NS in the background, output to OUT.
bf_bg() {
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null &
	BF_BG+=($!)
	BF_LAST=$!
}

bf_kill() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# listening NS PROTO PORT: something listens on PORT (PROTO t or u).
listening() {
	[ -n "$(ip netns exec "$1" ss -Hl"$2"n "sport = :$3" 2>/dev/null)" ]
}

fam_of() { case $1 in *:*) echo -6 ;; *) echo -4 ;; esac; }

# ---------------------------------------------------------------- traffic

# tcp_try SRC DST IP PORT: host SRC sends a line over TCP to IP:PORT where host DST
# listens; 0 if the line arrived.
tcp_try() {
	local src=$1 dst=$2 ip=$3 port=$4 fam out payload srv rc=1
	fam=$(fam_of "$ip")
	out=$(mktemp "$BF_DIR/tcp.XXXXXX")
	payload="brflow-tcp-$RANDOM$RANDOM"
	bf_bg "$(hns "$dst")" "$out" timeout 15 nc "$fam" -n -l "$port"
	srv=$BF_LAST
	if ! wait_until 5 listening "$(hns "$dst")" t "$port"; then
		echo "tcp_try: no listener on port $port" >&2
		bf_kill "$srv"
		return 2
	fi
	printf '%s\n' "$payload" |
		ip netns exec "$(hns "$src")" timeout 8 nc "$fam" -n -N -w 2 "$ip" "$port" >/dev/null 2>&1
	wait_until 2 grep -qx "$payload" "$out" && rc=0
	bf_kill "$srv"
	return $rc
}

# tcp_ok/tcp_blocked NAME SRC DST IP PORT
tcp_ok() {
	if tcp_try "$2" "$3" "$4" "$5"; then
		ok "$1"
	else
		not_ok "$1" "TCP h$2->$4:$5 expected to pass, payload did not arrive"
	fi
}

tcp_blocked() {
	if tcp_try "$2" "$3" "$4" "$5"; then
		not_ok "$1" "TCP h$2->$4:$5 expected to be blocked, payload arrived"
	else
		ok "$1"
	fi
}

# udp_try SRC DST IP PORT: one datagram from host SRC to IP:PORT on host DST; 0 if it arrived.
udp_try() {
	local src=$1 dst=$2 ip=$3 port=$4 fam out payload srv rc=1
	fam=$(fam_of "$ip")
	out=$(mktemp "$BF_DIR/udp.XXXXXX")
	payload="brflow-udp-$RANDOM$RANDOM"
	bf_bg "$(hns "$dst")" "$out" timeout 15 nc "$fam" -n -u -l "$port"
	srv=$BF_LAST
	if ! wait_until 5 listening "$(hns "$dst")" u "$port"; then
		bf_kill "$srv"
		return 2
	fi
	printf '%s\n' "$payload" |
		ip netns exec "$(hns "$src")" timeout 5 nc "$fam" -n -u -w 1 "$ip" "$port" >/dev/null 2>&1
	wait_until 2 grep -qx "$payload" "$out" && rc=0
	bf_kill "$srv"
	return $rc
}

udp_ok() {
	if udp_try "$2" "$3" "$4" "$5"; then
		ok "$1"
	else
		not_ok "$1" "UDP h$2->$4:$5 expected to pass, datagram did not arrive"
	fi
}

udp_blocked() {
	if udp_try "$2" "$3" "$4" "$5"; then
		not_ok "$1" "UDP h$2->$4:$5 expected to be blocked, datagram arrived"
	else
		ok "$1"
	fi
}

# udp_echo_start HOST PORT: a UDP server on HOST that answers every datagram to its sender.
udp_echo_start() {
	bf_bg "$(hns "$1")" "$BF_DIR/udpecho.$2" timeout 120 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"echo:" + data, peer)
' "$2"
	wait_until 5 listening "$(hns "$1")" u "$2"
}

# udp_ask SRC IP PORT SPORT: sends one datagram from SPORT, prints the answer; 0 if one came.
udp_ask() {
	ip netns exec "$(hns "$1")" timeout 5 python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[3])))
s.settimeout(2)
s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(2048)[0].decode())
except socket.timeout:
    sys.exit(1)
' "$2" "$3" "$4"
}

# ping_count SRC IP [COUNT]: prints how many echo replies came back.
ping_count() {
	local fam n
	fam=$(fam_of "$2")
	n=$(ip netns exec "$(hns "$1")" timeout 15 ping "$fam" -n -q -c "${3:-3}" -i 0.2 -W 2 "$2" 2>/dev/null |
		sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "${n:-0}"
}

ping_ok() {
	local n
	n=$(ping_count "$2" "$3" 3)
	if [ "$n" -eq 3 ]; then
		ok "$1"
	else
		not_ok "$1" "ping h$2->$3: expected 3 replies, got $n"
	fi
}

ping_blocked() {
	local n
	n=$(ping_count "$2" "$3" 3)
	if [ "$n" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1" "ping h$2->$3: expected 0 replies, got $n"
	fi
}

# http_start HOST PORT: python3 -m http.server on HOST (IPv4 and IPv6) serving a page
# whose text is "brflow-http-HOST".
http_start() {
	local d=$BF_DIR/www$1
	mkdir -p "$d"
	echo "brflow-http-$1" >"$d/index.html"
	bf_bg "$(hns "$1")" "$BF_DIR/http$1.log" timeout 250 python3 -m http.server "$2" --bind :: --directory "$d"
	BF_HTTP+=($BF_LAST)
	wait_until 10 listening "$(hns "$1")" t "$2"
}

BF_HTTP=()
http_stop_all() {
	local pid
	for pid in "${BF_HTTP[@]}"; do
		bf_kill "$pid"
	done
	BF_HTTP=()
}

# http_get SRC URL: prints the page; curl's exit status (28 = timed out).
http_get() {
	ip netns exec "$(hns "$1")" curl -sS --max-time 3 "$2" 2>/dev/null
}

# ovs_get_http SRC URL: OVS's OVS_GET_HTTP exactly; returns curl's exit status.
ovs_get_http() {
	ip netns exec "$(hns "$1")" curl "$2" --retry 3 --max-time 1 --retry-connrefused -v >/dev/null 2>&1
}

# check_http_ok/check_http_blocked NAME SRC DSTHOST URL
check_http_ok() {
	local page
	page=$(http_get "$2" "$4")
	check_eq "$1" "brflow-http-$3" "$page"
}

check_http_blocked() {
	local page rc
	page=$(http_get "$2" "$4")
	rc=$?
	if [ $rc -eq 28 ] && [ -z "$page" ]; then
		ok "$1"
	else
		not_ok "$1" "GET $4 from h$2: expected a timeout (curl 28), got status $rc, page '$page'"
	fi
}

# check_ovs_http NAME SRC URL STATUS: OVS's NS_CHECK_EXEC(OVS_GET_HTTP(URL), STATUS).
check_ovs_http() {
	local rc
	ovs_get_http "$2" "$3"
	rc=$?
	if [ "$rc" -eq "$4" ]; then
		ok "$1"
	else
		not_ok "$1" "curl $3 from h$2: expected exit status $4, got $rc"
	fi
}

# ---------------------------------------------------------------- long-lived TCP connections

declare -A BF_CONN_FD

# conn_open NAME SRC DST IP PORT: a TCP connection from host SRC to host DST kept open;
# lines written with conn_send arrive in $BF_DIR/NAME.out on DST.
conn_open() {
	local name=$1 src=$2 dst=$3 ip=$4 port=$5 fam fd
	fam=$(fam_of "$ip")
	mkfifo "$BF_DIR/$name.fifo" || return 1
	: >"$BF_DIR/$name.out"
	bf_bg "$(hns "$dst")" "$BF_DIR/$name.out" timeout 250 nc "$fam" -n -l "$port"
	wait_until 5 listening "$(hns "$dst")" t "$port" || return 1
	# read-write open never blocks, so the client's open of the fifo cannot hang either
	exec {fd}<>"$BF_DIR/$name.fifo"
	BF_CONN_FD[$name]=$fd
	ip netns exec "$(hns "$src")" timeout 250 nc "$fam" -n "$ip" "$port" \
		<"$BF_DIR/$name.fifo" >"$BF_DIR/$name.cli" 2>&1 &
	BF_BG+=($!)
	wait_until 5 conn_established "$(hns "$src")" "$ip" "$port"
}

conn_established() {
	[ -n "$(ip netns exec "$1" ss -Htn state established "dst = [$2]:$3" 2>/dev/null)" ] ||
		[ -n "$(ip netns exec "$1" ss -Htn state established "dst = $2:$3" 2>/dev/null)" ]
}

# conn_send NAME TEXT [WAIT]: writes a line; 0 if it arrives within WAIT (default 5) s.
conn_send() {
	printf '%s\n' "$2" >&"${BF_CONN_FD[$1]}" || return 1
	wait_until "${3:-5}" grep -qx "$2" "$BF_DIR/$1.out"
}

# ---------------------------------------------------------------- flows and conntrack

# flow_packets SUBSTRING...: n_packets of the one dump-flows line holding every substring.
flow_packets() {
	local line found= s m
	while IFS= read -r line; do
		m=1
		for s in "$@"; do
			[[ $line == *"$s"* ]] || { m=0; break; }
		done
		[ $m -eq 1 ] || continue
		if [ -n "$found" ]; then
			echo "ambiguous: $*"
			return 1
		fi
		found=$line
	done < <(bfctl dump-flows "$BR" 2>&1)
	if [[ $found =~ n_packets=([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
		return 0
	fi
	echo "no flow with: $*"
	return 1
}

# OVS's FORMAT_CT: the dump-conntrack lines towards IP with ports, ids and states cleared.
ct_format() {
	grep "dst=$1" | sed -e 's/port=[0-9]*/port=<cleared>/g' -e 's/id=[0-9]*/id=<cleared>/g' \
		-e 's/state=[0-9_A-Z]*/state=<cleared>/g' | sort | uniq
}

# ct_dump [zone=N]: brflowctl dump-conntrack.
ct_dump() { bfctl dump-conntrack "$@"; }

# ct_look: the kernel's own view (conntrack -L in the switch namespace), for reasons.
ct_look() { ip netns exec "$SW" conntrack -L 2>/dev/null; }

# check_ct NAME IP EXPECTED: OVS-style check of dump-conntrack | FORMAT_CT(IP).
check_ct() {
	local got
	got=$(ct_dump | ct_format "$2")
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "dump-conntrack: expected '$(bf_oneline "$3")', got '$(bf_oneline "$got")'; conntrack -L: $(bf_oneline "$(ct_look)")"
	fi
}

# check_ct_tcp NAME SRC DST DPORT: dump-conntrack has the SRC->DST:DPORT TCP connection in
# OVS's exact format, the reply's ports mirroring the original's, no zone/mark/labels.
check_ct_tcp() {
	local ct line re
	ct=$(ct_dump 2>&1)
	line=$(grep "dport=$4)" <<<"$ct" | head -1)
	re="^tcp,orig=\(src=$2,dst=$3,sport=([0-9]+),dport=$4\),reply=\(src=$3,dst=$2,sport=$4,dport=([0-9]+)\),protoinfo=\(state=[A-Z_]+\)$"
	if [[ $line =~ $re ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
		ok "$1"
	else
		not_ok "$1" "expected a line matching /$re/, got '$(bf_oneline "$ct")'"
	fi
}

# nft_snapshot: the switch namespace's ruleset without counter values.
nft_snapshot() { ip netns exec "$SW" nft -s list ruleset; }

# ---------------------------------------------------------------- OVS system-traffic cases

# ovs_case TITLE: starts one case of OVS's tests/system-traffic.at in the shared topology:
# an empty flow table (OVS's test bridges run with fail-mode=secure), no conntrack entries,
# no servers.  Later ok/not ok names start with the title.
ovs_case() {
	OVS_CASE=$1
	local i
	http_stop_all
	for i in $(seq 1 "$BF_HOSTS"); do
		ip -n "$(hns "$i")" neigh flush all 2>/dev/null
	done
	bfctl del-flows "$BR" >/dev/null 2>&1
	bfctl flush-conntrack >/dev/null 2>&1
}

# ovs_load FILE [REASON]: ovs-ofctl --bundle add-flows br0 FILE.  When the file uses a
# construct outside issue 2 (REASON given) a rejection is a skip; otherwise a failure.
ovs_load() {
	local out
	if out=$(bfctl --bundle add-flows "$BR" "$FLOWS/$1" 2>&1); then
		ok "$OVS_CASE: flows load"
		return 0
	fi
	if [ -n "${2:-}" ]; then
		skip "$OVS_CASE" "$2 (brflowctl: $(bf_oneline "$out"))"
		return 1
	fi
	not_ok "$OVS_CASE: flows load" "$(bf_oneline "$out")"
	return 1
}

# OVS's ofctl_strip on dump-flows output (ovs-ofctl's "NXST_FLOW reply:" header does not
# exist in brflowctl's output).
ofctl_strip() {
	sed -e 's/ duration=[0-9.]*s,//' -e 's/ cookie=0x0,//' -e 's/ table=0,//' \
		-e 's/ n_packets=0,//' -e 's/ n_bytes=0,//' -e 's/ idle_age=[0-9]*,//' \
		-e 's/ hard_age=[0-9]*,//'
}

# ovs_l7 HOST: OVS_START_L7(nsHOST, http): an HTTP server on port 80.
ovs_l7() {
	http_start "$1" 80 || not_ok "$OVS_CASE: http server on h$1" "did not listen on port 80"
}

# bf_done: last line of every test; the exit status says whether anything failed.
bf_done() {
	[ "$BF_FAILED" -eq 0 ]
	exit $?
}

# ---------------------------------------------------------------- DPI handler (issue 5)
#
# brflow-dpi runs inside the switch namespace (the queue belongs to that netns) with its
# own socket and the config file brflowd writes next to its socket ($BF_DIR/dpi.conf).

BRFLOW_DPI=${BRFLOW_DPI:-$BF_ROOT/queue/brflow-dpi}
BF_DPI_PID=
BF_DPI_N=0

# dpi_topology N: bf_topology N plus the checks a DPI scenario needs (the handler built,
# its tools installed); exits with a not ok line when something is missing.
dpi_topology() {
	local tool
	bf_topology "$1"
	[ -x "$BRFLOW_DPI" ] || bf_setup_fail "$BRFLOW_DPI is not built (run make; needs libndpi-dev)"
	for tool in ${DPI_TOOLS:-}; do
		command -v "$tool" >/dev/null ||
			bf_setup_fail "'$tool' is not installed (scripts/install-deps.sh)"
	done
}

# dpi_start [ARGS]: starts brflow-dpi in the switch namespace on queue ${DPI_QUEUES:-0}
# and waits (10 s at most) until it answers dpi-stats.  BF_DPI_PID is its PID.
dpi_start() {
	BF_DPI_N=$((BF_DPI_N + 1))
	bf_bg "$SW" "$BF_DIR/dpi.$BF_DPI_N.log" "$BRFLOW_DPI" --queues "${DPI_QUEUES:-0}" \
		--config "$BF_DIR/dpi.conf" --socket "$BF_DIR/dpi.sock" "$@"
	BF_DPI_PID=$BF_LAST
	dpi_wait_ready 10
}

# dpi_wait_ready SECONDS: waits (wall-clock bound) until the handler answers dpi-stats;
# 1 if it died or did not answer in time.
dpi_wait_ready() {
	local end=$((SECONDS + $1))
	# `ip netns exec` becomes the handler with exec(): wait for the name to change
	while [ $SECONDS -lt $end ] && ! dpi_dead &&
		[ "$(cat "/proc/$BF_DPI_PID/comm" 2>/dev/null)" != brflow-dpi ]; do
		sleep 0.05
	done
	while [ $SECONDS -lt $end ]; do
		dpi_alive || return 1
		dpi_stats >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# dpi_start_check NAME [ARGS]: dpi_start with an ok/not ok line; 1 if it failed.
dpi_start_check() {
	local name=$1
	shift
	if dpi_start "$@"; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "brflow-dpi did not answer dpi-stats within 10 s: $(bf_oneline "$(tail -5 "$BF_DIR/dpi.$BF_DPI_N.log")")"
	return 1
}

# dpi_alive: the handler started by dpi_start still runs (a zombie does not count).
dpi_alive() {
	[ -n "$BF_DPI_PID" ] && [ "$(cat "/proc/$BF_DPI_PID/comm" 2>/dev/null)" = brflow-dpi ] &&
		! dpi_dead
}

# dpi_dead: the handler's process has exited (gone, or a zombie not yet reaped).
dpi_dead() {
	local st
	st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$BF_DPI_PID/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# dpi_kill [SIGNAL]: signals the handler (default KILL: a crash), waits for it to exit
# (SIGKILL after 10 s) and reaps it.  The PID is our child, so it cannot be reused
# before the wait.
dpi_kill() {
	[ -n "$BF_DPI_PID" ] || return 0
	kill "-${1:-KILL}" "$BF_DPI_PID" 2>/dev/null
	if ! wait_until 10 dpi_dead; then
		kill -KILL "$BF_DPI_PID" 2>/dev/null
		wait_until 5 dpi_dead
	fi
	wait "$BF_DPI_PID" 2>/dev/null
	BF_DPI_PID=
	return 0
}

# dpi_stats: brflowctl dpi-stats against the test's handler.
dpi_stats() { timeout 10 "$BRFLOWCTL" dpi-stats --dpi-socket "$BF_DIR/dpi.sock"; }

# dpi_stat FIELD [TEXT]: the number that follows FIELD ("FIELD N", "FIELD: N" or
# "FIELD=N", first match, case-insensitive) in TEXT or in a fresh dpi-stats; empty if
# there is none.  FIELD may be a regex, e.g. 'bittorrent.*connections'.
dpi_stat() {
	local text=${2-}
	[ $# -ge 2 ] || text=$(dpi_stats 2>/dev/null)
	local line re="($1)[^0-9]*([0-9]+)" n
	while IFS= read -r line; do
		shopt -s nocasematch
		[[ $line =~ $re ]] && n=${BASH_REMATCH[-1]}
		shopt -u nocasematch
		[ -n "${n:-}" ] && break
	done <<<"$text"
	echo "${n:-}"
}

# dpi_flows FILE: loads a DPI flow file.  A refusal that blames the kernel (no queue
# support) skips the scenario with the reason; any other refusal is a failure.  Either
# way the script ends.
dpi_flows() {
	local out
	if out=$(bf_flows "$1" 2>&1); then
		ok "$1 loads"
		return 0
	fi
	if [[ $out =~ [Kk]ernel|[Nn]ot\ supported|[Uu]nsupported ]]; then
		skip "$1" "this kernel cannot queue: $(bf_oneline "$out")"
		bf_done
	fi
	not_ok "$1 loads" "$(bf_oneline "$out")"
	bf_done
}

# dpi_labels SUBSTRING: the labels=0x... of the dump-conntrack line holding SUBSTRING.
dpi_labels() {
	ct_dump 2>/dev/null | grep -F -- "$1" | grep -o 'labels=0x[0-9a-f]*' | head -1 | cut -d= -f2
}

# dpi_label_hex PROTO_ID HOST_BITS: the labels value brflowd prints for a classified
# connection: bit 127 (done), protocol id in bits 112..119, host bits in 96..111.
dpi_label_hex() {
	printf '0x%02x%02x%04x%024x\n' 128 "$1" "$2" 0
}

# py3_scapy: prints a python3 that can import scapy (python3-scapy lives in Debian's
# /usr/bin/python3, which a pyenv python3 on PATH cannot see); 1 if none.
py3_scapy() {
	local py
	for py in python3 /usr/bin/python3; do
		if "$py" -c 'import scapy.all' >/dev/null 2>&1; then
			command -v "$py"
			return 0
		fi
	done
	return 1
}
