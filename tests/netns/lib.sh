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
	# A sanitizer build (make asan) reports brflowd's leaks, and errors it
	# survives, into its log, leaks only when it exits: that fails the scenario.
	if [ -n "$BF_DIR" ] && grep -q 'Sanitizer' "$BF_DIR/daemon.log" 2>/dev/null; then
		echo "not ok - $TEST_NAME: brflowd's log has a sanitizer report: $(grep -m1 -A3 'Sanitizer' "$BF_DIR/daemon.log" | tr '\n' '|' | cut -c1-400)"
	fi
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

# bf_start_again: starts brflowd after bf_daemon_stop, a check naming the daemon
# log's last lines when it fails.
bf_start_again() {
	if bf_daemon_start; then
		ok "brflowd starts again"
	else
		not_ok "brflowd starts again" "$(bf_oneline "$(tail -3 "$BF_DIR/daemon.log")")"
	fi
}

# bf_restart: brflowd stops on SIGTERM and starts again, both checked.
bf_restart() {
	check "brflowd stops" bf_daemon_stop
	bf_start_again
}

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

# csum_off NS DEV: rx and tx checksum offload off (SIOCETHTOOL ETHTOOL_SRXCSUM and
# ETHTOOL_STXCSUM), so veth neither trusts nor leaves out checksums.
csum_off() {
	ip netns exec "$1" python3 -c '
import array, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for cmd in (0x15, 0x17):
    val = array.array("B", struct.pack("II", cmd, 0))
    ifr = struct.pack("16sP16x", sys.argv[1].encode(), val.buffer_info()[0])
    fcntl.ioctl(s.fileno(), 0x8946, ifr)
' "$2"
}

# csum_off_pair: checksum offload off on both ends of hosts 1 and 2's links.
csum_off_pair() {
	local dev rc=0
	for dev in "$(hns 1) eth0" "$(hns 2) eth0" "$SW p1" "$SW p2"; do
		# shellcheck disable=SC2086
		csum_off $dev || rc=1
	done
	return $rc
}

# csum_errors HOST: IPv4 header errors plus TCP/UDP/ICMP(v6) checksum errors counted.
csum_errors() {
	ip netns exec "$(hns "$1")" awk '
		/^(Ip|Tcp|Udp|Icmp): [A-Z]/ { for (i = 2; i <= NF; i++) h[$1, i] = $i; next }
		/^(Ip|Tcp|Udp|Icmp): / {
			for (i = 2; i <= NF; i++)
				if (h[$1, i] == "InCsumErrors" || h[$1, i] == "InHdrErrors") n += $i
		}
		/^(Udp6InCsumErrors|Icmp6InCsumErrors|Ip6InHdrErrors) / { n += $2 }
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6
}

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

# ping_count SRC IP [COUNT [PING OPTION...]]: prints how many echo replies came back.
ping_count() {
	local src=$1 ip=$2 count=${3:-3} n
	shift 3 2>/dev/null || shift $#
	n=$(ip netns exec "$(hns "$src")" timeout 15 ping "$(fam_of "$ip")" -n -q -c "$count" -i 0.2 -W 2 \
		"$@" "$ip" 2>/dev/null | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "${n:-0}"
}

# ping_answers NAME SRC IP WANT [PING OPTION...]: of 3 pings from host SRC to IP (with
# the options: -Q TOS, -t TTL, -I ADDR, ...), WANT are answered.
ping_answers() {
	local name=$1 src=$2 ip=$3 want=$4
	shift 4
	check_eq "$name" "$want" "$(ping_count "$src" "$ip" 3 "$@")"
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

declare -A BF_CONN_FD BF_CONN_PIDS

# conn_open NAME SRC DST IP PORT: a TCP connection from host SRC to host DST kept open;
# lines written with conn_send arrive in $BF_DIR/NAME.out on DST.  nc -l keeps its
# listening socket (SO_REUSEPORT) while it serves, so a second connection to the same
# port of the same host could queue on that socket and never be accepted: conn_close the
# first one before opening another there.
conn_open() {
	local name=$1 src=$2 dst=$3 ip=$4 port=$5 fam fd
	fam=$(fam_of "$ip")
	mkfifo "$BF_DIR/$name.fifo" || return 1
	: >"$BF_DIR/$name.out"
	bf_bg "$(hns "$dst")" "$BF_DIR/$name.out" timeout 250 nc "$fam" -n -l "$port"
	BF_CONN_PIDS[$name]=$BF_LAST
	wait_until 5 listening "$(hns "$dst")" t "$port" || return 1
	# read-write open never blocks, so the client's open of the fifo cannot hang either
	exec {fd}<>"$BF_DIR/$name.fifo"
	BF_CONN_FD[$name]=$fd
	ip netns exec "$(hns "$src")" timeout 250 nc "$fam" -n "$ip" "$port" \
		<"$BF_DIR/$name.fifo" >"$BF_DIR/$name.cli" 2>&1 &
	BF_BG+=($!)
	BF_CONN_PIDS[$name]+=" $!"
	wait_until 5 conn_established "$(hns "$src")" "$ip" "$port"
}

conn_established() {
	[ -n "$(ip netns exec "$1" ss -Htn state established "dst = [$2]:$3" 2>/dev/null)" ] ||
		[ -n "$(ip netns exec "$1" ss -Htn state established "dst = $2:$3" 2>/dev/null)" ]
}

# conn_close NAME: ends both sides of a conn_open connection (their processes, by PID).
conn_close() {
	local pid fd=${BF_CONN_FD[$1]:-}
	for pid in ${BF_CONN_PIDS[$1]:-}; do
		bf_kill "$pid"
	done
	[ -n "$fd" ] && exec {fd}>&-
	unset "BF_CONN_PIDS[$1]" "BF_CONN_FD[$1]"
	return 0
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

# nft_snapshot: the switch namespace's ruleset without counter values, each
# table's chains, sets and objects sorted: a table brflowd changed in place
# lists what it added last, not in the order a fresh load gives.
nft_snapshot() {
	ip netns exec "$SW" nft -s list ruleset | python3 -c '
import sys
blocks, cur = [], None
for line in sys.stdin.read().split("\n"):
    if cur is not None:
        cur.append(line)
        if line == "\t}":
            blocks.append("\n".join(cur))
            cur = None
    elif line.startswith("\t") and line.endswith("{"):
        cur = [line]
    elif line.strip():
        print("\n".join(sorted(blocks)))
        blocks = []
        print(line)
'
}

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
	local out rc

	# nft itself must list what the scenario left: an operator's first look at the
	# kernel's ruleset, and nft (1.0.6) aborts on a set type it cannot split
	if [ -n "${SW:-}" ] && [ -e "/run/netns/$SW" ]; then
		out=$(ip netns exec "$SW" nft list ruleset 2>&1 >/dev/null)
		rc=$?
		if [ $rc -eq 0 ]; then
			ok "nft lists the ruleset left at the end"
		else
			not_ok "nft lists the ruleset left at the end" "exit $rc: $(bf_oneline "$out")"
		fi
	fi
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

# dpi_labels SUBSTRING: the labels (0x + 32 hex digits, see ct_labels) of the first
# conntrack entry whose ct_labels line holds SUBSTRING (e.g. "dport=443 ").
dpi_labels() {
	local l
	l=$(ct_labels 2>/dev/null | grep -F -- "$1" | grep -o 'labels=0x[0-9a-f]*' | head -1 | cut -d= -f2)
	# bit 126 is brflow's own "committed" bit, not the handler's
	[[ $l =~ ^0x[0-9a-f]{32}$ ]] &&
		l=$(printf '0x%x%s' $((0x${l:2:1} & ~4)) "${l:3}")
	echo "$l"
}

# dpi_label_hex PROTO_ID HOST_BITS: the labels of a connection the handler is done with:
# bit 127 (done), protocol id in bits 112..119, host bits in 96..111, as ct_labels
# prints them.
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

# dpi_stat_is FIELD VALUE: dpi_stat FIELD prints VALUE (for wait_until).
dpi_stat_is() { [ "$(dpi_stat "$1")" = "$2" ]; }

# dpi_done SUBSTRING: the dump-conntrack line holding SUBSTRING has the done bit (127).
dpi_done() { [[ $(dpi_labels "$1") =~ ^0x[89a-f][0-9a-f]{31}$ ]]; }

# size_ge FILE BYTES: FILE holds at least BYTES bytes (for wait_until).
size_ge() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# ---------------------------------------------------------------- NAT, ALG, load balancing (issue 3)

# host_mac I: host I's eth0 MAC address.
host_mac() { ip -n "$(hns "$1")" -br link show eth0 | awk '{print $3}'; }

# neigh_static HOST IP... TO: permanent neighbour entries on host HOST mapping each IP to
# host TO's MAC.  They replace OVS's ARP/ND-responder flows for NATed addresses.
neigh_static() {
	local h=$1 to mac ip
	shift
	to=${!#}
	mac=$(host_mac "$to") || return 1
	for ip in "${@:1:$#-1}"; do
		ip -n "$(hns "$h")" neigh replace "$ip" lladdr "$mac" dev eth0 nud permanent || return 1
	done
}

# nat_range A B: 10.1.1.A .. 10.1.1.B, one per line.
nat_range() { local i; for i in $(seq "$1" "$2"); do echo "10.1.1.$i"; done; }

# py3_with MODULE: prints a python3 that can import MODULE (Debian's python3-* packages
# live in /usr/bin/python3, which a pyenv python3 on PATH cannot see); 1 if none.
py3_with() {
	local py
	for py in python3 /usr/bin/python3; do
		if "$py" -c "import $1" >/dev/null 2>&1; then
			command -v "$py"
			return 0
		fi
	done
	return 1
}

# need_tool NAME CMD: exits the script with a not ok line when CMD is missing.
need_tool() {
	command -v "$2" >/dev/null || bf_setup_fail "$1: '$2' is not installed (scripts/install-deps.sh)"
}

# ftp_start HOST ADDR [PORT]: an anonymous read-only FTP server (python3-pyftpdlib, the
# server OVS's tests use) on ADDR:PORT (default 21) of host HOST, serving brflow-ftp.txt
# whose text is "brflow-ftp-HOST".  0 once it listens.
ftp_start() {
	local d=$BF_DIR/ftp$1 py
	py=$(py3_with pyftpdlib) || { echo "python3-pyftpdlib is not installed" >&2; return 1; }
	mkdir -p "$d"
	echo "brflow-ftp-$1" >"$d/brflow-ftp.txt"
	bf_bg "$(hns "$1")" "$BF_DIR/ftpd$1.${3:-21}.log" timeout 250 "$py" -c '
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
auth = DummyAuthorizer()
auth.add_anonymous(sys.argv[1])
class Handler(FTPHandler):
    authorizer = auth
    permit_foreign_addresses = True
FTPServer((sys.argv[2], int(sys.argv[3])), Handler).serve_forever()
' "$d" "$2" "${3:-21}"
	BF_HTTP+=($BF_LAST)
	wait_until 10 listening "$(hns "$1")" t "${3:-21}"
}

# ftp_get SRC URL [CURL ARGS]: curl (passive unless --ftp-port is given), 4 s at most;
# prints what it fetched and returns curl's status (28 = timed out).
ftp_get() {
	local src=$1 url=$2
	shift 2
	ip netns exec "$(hns "$src")" curl -sS --max-time 4 "$@" "$url" 2>>"$BF_DIR/curl.log"
}

# check_ftp NAME SRC URL DSTHOST [CURL ARGS]: the file arrives whole.
check_ftp() {
	local name=$1 src=$2 url=$3 dst=$4 got rc
	shift 4
	got=$(ftp_get "$src" "$url" "$@")
	rc=$?
	if [ $rc -eq 0 ] && [ "$got" = "brflow-ftp-$dst" ]; then
		ok "$name"
	else
		not_ok "$name" "curl $* $url from h$src: status $rc, got '$(bf_oneline "$got")'; conntrack -L: $(bf_oneline "$(ct_look)")"
	fi
}

# check_ftp_fails NAME SRC URL [CURL ARGS]: curl gets nothing (any non-zero status).
check_ftp_fails() {
	local name=$1 src=$2 url=$3 got rc
	shift 3
	got=$(ftp_get "$src" "$url" "$@")
	rc=$?
	if [ $rc -ne 0 ] && [ -z "$got" ]; then
		ok "$name"
	else
		not_ok "$name" "curl $* $url from h$src: expected a failure, got status $rc and '$(bf_oneline "$got")'"
	fi
}

# tftp_start HOST: tftpd-hpa's in.tftpd on HOST, UDP port 69, serving brflow-tftp.txt
# ("brflow-tftp-HOST").  0 once it listens.
tftp_start() {
	local d=$BF_DIR/tftp$1 tftpd
	tftpd=$(command -v in.tftpd || echo /usr/sbin/in.tftpd)
	[ -x "$tftpd" ] || { echo "tftpd-hpa is not installed" >&2; return 1; }
	mkdir -p "$d"
	chmod 755 "$d"
	echo "brflow-tftp-$1" >"$d/brflow-tftp.txt"
	chmod 644 "$d/brflow-tftp.txt"
	bf_bg "$(hns "$1")" "$BF_DIR/tftpd$1.log" timeout 250 "$tftpd" -L -u root -s -a 0.0.0.0:69 "$d"
	BF_HTTP+=($BF_LAST)
	wait_until 10 listening "$(hns "$1")" u 69
}

# tftp_get SRC URL: curl tftp://..., 4 s at most; prints the file, returns curl's status.
tftp_get() {
	ip netns exec "$(hns "$1")" curl -sS --max-time 4 "$2" 2>>"$BF_DIR/curl.log"
}

# line_server_start HOST PORT [ADDR]: a TCP server on HOST (all addresses, IPv4 and IPv6)
# that answers every line it reads with "hHOST <line>", many connections at once.
line_server_start() {
	bf_bg "$(hns "$1")" "$BF_DIR/lines$1.$2.log" timeout 250 python3 -c '
import socket, socketserver, sys
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(("h%s " % sys.argv[1]).encode() + line)
            self.wfile.flush()
class Server(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
Server(("::", int(sys.argv[2])), Handler).serve_forever()
' "$1" "$2"
	BF_HTTP+=($BF_LAST)
	wait_until 10 listening "$(hns "$1")" t "$2"
}

# line_ask SRC IP PORT [TEXT]: one connection from host SRC, one line, prints the answer
# ("hN TEXT"); 1 if none came within 2 s.
line_ask() {
	ip netns exec "$(hns "$1")" timeout 5 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
s.sendall((sys.argv[3] + "\n").encode())
print(s.makefile().readline().strip())
' "$2" "$3" "${4:-ping}" 2>/dev/null | grep .
}

# line_many SRC IP PORT N: N connections in turn from host SRC, one line each; prints
# "hX COUNT" per answering server and "fail COUNT" for connections that got no answer.
line_many() {
	ip netns exec "$(hns "$1")" timeout 120 python3 -c '
import collections, socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
for i in range(n):
    try:
        s = socket.create_connection((ip, port), timeout=2)
        s.sendall(b"x\n")
        seen[s.makefile().readline().split()[0]] += 1
        s.close()
    except (OSError, IndexError):
        seen["fail"] += 1
        if seen["fail"] >= 10 and len(seen) == 1:
            seen["fail"] += n - i - 1  # nothing gets through: do not wait for each
            break
for k in sorted(seen):
    print(k, seen[k])
' "$2" "$3" "$4"
}

declare -A BF_LCONN_FD

# lconn_open NAME SRC IP PORT: a long-lived connection from host SRC to a line server;
# lconn_ask NAME TEXT sends a line on it and waits for the answer.  0 once connected.
lconn_open() {
	local name=$1 fd
	mkfifo "$BF_DIR/$name.lfifo" || return 1
	: >"$BF_DIR/$name.lout"
	exec {fd}<>"$BF_DIR/$name.lfifo"
	BF_LCONN_FD[$name]=$fd
	ip netns exec "$(hns "$2")" timeout 250 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
print("connected", flush=True)
s.settimeout(None)
f = s.makefile("rw")
for line in sys.stdin:
    if line == "\x04\n":
        break
    f.write(line)
    f.flush()
    print(f.readline().strip(), flush=True)
s.close()
' "$3" "$4" <"$BF_DIR/$name.lfifo" >"$BF_DIR/$name.lout" 2>&1 &
	BF_BG+=($!)
	wait_until 5 grep -qx connected "$BF_DIR/$name.lout"
}

# lconn_ask NAME TEXT [WAIT]: prints the answer to TEXT on connection NAME ("hN TEXT");
# 1 if none came within WAIT (default 3) s.
lconn_ask() {
	printf '%s\n' "$2" >&"${BF_LCONN_FD[$1]}" || return 1
	wait_until "${3:-3}" grep -q " $2\$" "$BF_DIR/$1.lout" || return 1
	grep " $2\$" "$BF_DIR/$1.lout" | head -1
}

# lconn_close NAME: its client closes connection NAME (on a line of ^D alone) and exits.
lconn_close() {
	local fd=${BF_LCONN_FD[$1]}

	[ -n "$fd" ] || return 1
	printf '\004\n' >&"$fd"
	exec {fd}>&-
	unset "BF_LCONN_FD[$1]"
}

# udp_refused SRC IP PORT: host SRC sends a datagram on a connected UDP socket to
# IP:PORT where nothing listens; 0 when the ICMP port unreachable comes back to that
# socket (so it was rewritten to the socket's own addresses), 1 otherwise.
udp_refused() {
	ip netns exec "$(hns "$1")" timeout 5 python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"a\n")
try:
    s.recv(100)
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    pass
sys.exit(1)
' "$2" "$3"
}

# ct_nat_format IP: FORMAT_CT(IP) with OVS's "sed -e s/dst=10.1.1.2[45][0-9]/dst=10.1.1.2XX/".
ct_nat_format() { ct_format "$1" | sed -e 's/dst=10\.1\.1\.2[45][0-9]/dst=10.1.1.2XX/'; }

# check_ct_nat NAME IP EXPECTED: like check_ct, the SNAT address range folded as OVS does.
check_ct_nat() {
	local got
	got=$(ct_dump | ct_nat_format "$2" | uniq)
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "dump-conntrack: expected '$(bf_oneline "$3")', got '$(bf_oneline "$got")'; conntrack -L: $(bf_oneline "$(ct_look)")"
	fi
}

# group_add NAME GROUP: brflowctl add-group with an ok/not ok line; 1 if refused.
group_add() {
	local out
	if out=$(bfctl add-group "$BR" "$2" 2>&1); then
		ok "$1"
		return 0
	fi
	not_ok "$1" "add-group: $(bf_oneline "$out")"
	return 1
}

# ct_labels: every IPv4/IPv6 conntrack entry of the switch namespace as
# "PROTO src=A dst=B sport=P dport=Q labels=0x<32 hex digits>" (label bit N = bit N of the
# number), straight from ctnetlink: dump-conntrack hides brflow's own label bits and
# conntrack(8) prints only labels named in a connlabel.conf.
ct_labels() {
	ip netns exec "$SW" timeout 60 python3 -c '
import socket, struct
NLM_F_REQUEST, NLM_F_DUMP, NLMSG_DONE, NLMSG_ERROR = 1, 0x300, 3, 2
CTA_TUPLE_ORIG, CTA_LABELS = 1, 22
def attrs(buf):
    out, i = {}, 0
    while i + 4 <= len(buf):
        n, t = struct.unpack_from("=HH", buf, i)
        if n < 4:
            break
        out[t & 0x3fff] = buf[i + 4:i + n]
        i += (n + 3) & ~3
    return out
def dump(family):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
    msg = struct.pack("=IHHII", 20, (1 << 8) | 1, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    s.send(msg + struct.pack("=BBH", family, 0, 0))
    while True:
        data = s.recv(1 << 16)
        i = 0
        while i + 16 <= len(data):
            n, t = struct.unpack_from("=IH", data, i)
            if t in (NLMSG_DONE, NLMSG_ERROR):
                return
            a = attrs(data[i + 20:i + n])
            tup = attrs(a.get(CTA_TUPLE_ORIG, b""))
            ipa, pra = attrs(tup.get(1, b"")), attrs(tup.get(2, b""))
            fam = socket.AF_INET if family == 2 else socket.AF_INET6
            k = (1, 2) if family == 2 else (3, 4)
            src = socket.inet_ntop(fam, ipa[k[0]]) if k[0] in ipa else "?"
            dst = socket.inet_ntop(fam, ipa[k[1]]) if k[1] in ipa else "?"
            proto = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}.get(pra.get(1, b"\0")[0], "ip")
            sp = struct.unpack(">H", pra[2])[0] if 2 in pra else 0
            dp = struct.unpack(">H", pra[3])[0] if 3 in pra else 0
            lab = int.from_bytes(a.get(CTA_LABELS, b""), "little")
            print("%s src=%s dst=%s sport=%d dport=%d labels=0x%032x" % (proto, src, dst, sp, dp, lab))
            i += (n + 3) & ~3
for f in (2, 10):
    dump(f)
'
}
# (end of the issue 3 helpers)

# ---------------------------------------------------------------- two bridges, routed (issue 4)
#
# The switch namespace routes between br0 (hosts 1..N, 10.1.1.0/24, gateway 10.1.1.254 on br0)
# and br1 (hosts added with bf_add_host_on br1, 10.2.2.0/24, gateway 10.2.2.254 on br1): OVS's
# "route between bridges through their LOCAL ports".

# bf_add_host_on BR I ADDR/LEN GW: host namespace I on a veth whose switch end pI is a port of BR.
bf_add_host_on() {
	local br=$1 i=$2 addr=$3 gw=$4 h
	h=$(hns "$i")
	bf_netns_add "$h" || return 1
	ip -n "$SW" link add "p$i" type veth peer name eth0 netns "$h" >"$BF_DIR/out" 2>&1 || return 1
	ip -n "$SW" link set "p$i" up || return 1
	ip -n "$h" addr add "$addr" dev eth0 || return 1
	ip -n "$h" link set eth0 up || return 1
	ip -n "$h" route add default via "$gw" || return 1
	bfctl add-port "$br" "p$i" >"$BF_DIR/out" 2>&1
}

# bf_routed_topology N M: bf_topology N on br0, then br1 with hosts N+1..N+M (10.2.2.I),
# gateway addresses on both bridges, default routes on every host, IPv4 forwarding on.
bf_routed_topology() {
	local n=$1 m=$2 i
	bf_topology "$n"
	bfctl add-br br1 >"$BF_DIR/out" 2>&1 || bf_setup_fail "add-br br1: $(bf_oneline "$(cat "$BF_DIR/out")")"
	ip netns exec "$SW" sysctl -qw net.ipv4.ip_forward=1 || bf_setup_fail "cannot turn on ip_forward in $SW"
	ip -n "$SW" addr add 10.1.1.254/24 dev br0 || bf_setup_fail "gateway address on br0"
	ip -n "$SW" addr add 10.2.2.254/24 dev br1 || bf_setup_fail "gateway address on br1"
	for i in $(seq 1 "$n"); do
		ip -n "$(hns "$i")" route add default via 10.1.1.254 || bf_setup_fail "default route on h$i"
	done
	for i in $(seq $((n + 1)) $((n + m))); do
		bf_add_host_on br1 "$i" "10.2.2.$i/24" 10.2.2.254 ||
			bf_setup_fail "cannot add host $i to br1: $(bf_oneline "$(cat "$BF_DIR/out")")"
	done
}

# bf_flows_on BR FILE: bf_flows for another bridge.
bf_flows_on() {
	bfctl --bundle add-flows "$1" "$FLOWS/$2"
}

# flow_packets_on BR PATTERN...: flow_packets for another bridge.
flow_packets_on() {
	local BR=$1
	shift
	flow_packets "$@"
}
