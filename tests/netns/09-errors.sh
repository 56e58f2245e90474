#!/bin/bash
# Errors from brflowctl and brflowd: exact messages, unknown bridges and ports, garbage and
# oversized frames on the control socket; the daemon keeps answering; socket mode 0600;
# ovs-ofctl's -O/--protocols taken, a bad OpenFlow version named; -t as --timeout.
. "$(dirname "$0")/lib.sh"

bf_topology 1

# expect_error NAME RE CMD...: CMD exits 1 with exactly one stderr line matching RE.
expect_error() {
	local name=$1 re=$2 rc err
	shift 2
	"$@" >/dev/null 2>"$BF_DIR/err"
	rc=$?
	err=$(cat "$BF_DIR/err")
	if [ $rc -eq 1 ] && [ "$(wc -l <"$BF_DIR/err")" -eq 1 ] && [[ $err =~ $re ]]; then
		ok "$name"
	else
		not_ok "$name" "expected exit 1 and one line matching /$re/, got exit $rc and '$(bf_oneline "$err")'"
	fi
}

expect_error "unknown field: exact message" \
	"^brflowctl: add-flow: unknown field 'nw_sorc' at column 12$" \
	bfctl add-flow "$BR" "priority=1,nw_sorc=10.0.0.1,actions=drop"
expect_error "unknown field after spaces: column counts from 1" \
	"^brflowctl: add-flow: unknown field 'nw_sorc' at column 5$" \
	bfctl add-flow "$BR" "ip, nw_sorc=10.0.0.1 actions=drop"
expect_error "unknown bridge in dump-flows" "^brflowctl: dump-flows: .*'br9'" \
	bfctl dump-flows br9
expect_error "unknown bridge in add-flow" "^brflowctl: add-flow: .*'br9'" \
	bfctl add-flow br9 "actions=drop"
expect_error "unknown port in del-port" "^brflowctl: del-port: .*'p9'" \
	bfctl del-port "$BR" p9
expect_error "missing interface in add-port" "^brflowctl: add-port: .*'nosuchif0'" \
	bfctl add-port "$BR" nosuchif0
expect_error "duplicate ofport in add-port" "^brflowctl: add-port: .*1" \
	bash -c 'ip -n "$1" link add pdup type veth peer name pdup2 && "$2" add-port "$3" pdup ofport=1' _ \
	"$SW" "$BRFLOWCTL" "$BR"
expect_error "nat without commit is rejected with the reason" \
	"^brflowctl: add-flow: flow .*nat\\(src=\\.\\.\\.\\) needs commit" \
	bfctl add-flow "$BR" "ip,actions=ct(nat(src=10.1.1.240)),2"
expect_error "an unsupported action is rejected, not ignored" \
	"^brflowctl: add-flow: action 'controller' is not supported" \
	bfctl add-flow "$BR" "ip,actions=controller"
expect_error "unreadable flow file" "^brflowctl: .*'/nonexistent/x.flows'" \
	bfctl add-flows "$BR" /nonexistent/x.flows
check_fails "unknown command fails" bfctl frobnicate
check_fails "wrong argument count fails" bfctl add-flow "$BR"

check_eq "the control socket has mode 0600 and belongs to root" "600 root" \
	"$(stat -c '%a %U' "$BF_DIR/sock" 2>&1)"

hexof() { od -An -v -tx1 | tr -d ' \n'; }

# raw_frame HEX: sends the bytes to the socket, prints the reply's status byte ('0'/'1') or
# "closed" when the daemon closed without a reply, "timeout" if it said nothing in 8 s.
raw_frame() {
	timeout 20 python3 - "$BF_DIR/sock" "$1" <<'PY'
import socket, sys, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(8)
try:
    s.sendall(bytes.fromhex(sys.argv[2]))
    s.shutdown(socket.SHUT_WR)
    hdr = b""
    while len(hdr) < 5:
        chunk = s.recv(5 - len(hdr))
        if not chunk:
            break
        hdr += chunk
except socket.timeout:
    print("timeout"); sys.exit(0)
except OSError as e:
    print("closed"); sys.exit(0)
print(chr(hdr[4]) if len(hdr) == 5 else "closed")
PY
}

still_answers() {
	local name=$1 out
	out=$(bfctl show 2>&1)
	if [[ $out == *"$BR"* ]] && kill -0 "$BF_DAEMON_PID" 2>/dev/null; then
		ok "$name: the daemon still answers"
	else
		not_ok "$name: the daemon still answers" "show printed '$(bf_oneline "$out")'"
	fi
}

# frame NAME HEX ACCEPT: sends a bad frame; ACCEPT is a regex for raw_frame's answer.
frame() {
	local got
	got=$(raw_frame "$2")
	check_re "$1: answered with an error or closed" "$3" "$got"
	still_answers "$1"
}

frame "garbage text" "$(printf 'this is not a frame' | hexof)" '^(1|closed)$'
frame "oversized length (1 GiB)" "40000000$(printf 'x%.0s' {1..64} | hexof)" '^(1|closed)$'
frame "empty frame" "00000000" '^(1|closed)$'
frame "strings without NUL" "00000005$(printf 'hello' | hexof)" '^1$'
frame "length longer than the data" "00000064$(printf 'show\0' | hexof)" '^(1|closed)$'
frame "unknown command in a well-formed frame" "0000000a$(printf 'frobnicat\0' | hexof)" '^1$'
many=$(for i in $(seq 1 100); do printf 'show\0'; done | hexof)
frame "too many arguments" "$(printf '%08x' $((${#many} / 2)))$many" '^(1|closed)$'
frame "well-formed show" "00000005$(printf 'show\0' | hexof)" '^0$'

# a client that connects and says nothing must not hang the daemon for good
timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); time.sleep(25)' "$BF_DIR/sock" &
BF_BG+=($!)
silent=$!
sleep 0.5
start=$SECONDS
out=$(bfctl show 2>&1)
took=$((SECONDS - start))
check_re "with a silent client connected, show still answers" "$BR" "$out"
if [ "$took" -le 12 ]; then
	ok "a silent client delays others by at most 12 s (took $took s)"
else
	not_ok "a silent client delays others by at most 12 s" "show took $took s"
fi
bf_kill "$silent"
still_answers "after the silent client"

# ovs-ofctl's -O/--protocols is taken (what it changes for adds: 42-set-stats, for dumps:
# 43-ofversion-dump); a bad version is named
check "an add-flow copied from OVS's documentation, with -O OpenFlow13" \
	bfctl -O OpenFlow13 add-flow "$BR" "priority=5,arp,actions=normal"
check_eq "-O OpenFlow13 dump-flows prints it, and the flow an OpenFlow 1.0 add made with its reset_counts" \
	" priority=5,arp actions=NORMAL| reset_counts priority=0 actions=NORMAL" \
	"$(bfctl -O OpenFlow13 --no-stats dump-flows "$BR" 2>&1 | paste -sd'|')"
check_re "...which dump-flows without -O has too" "priority=5,arp actions=NORMAL" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
check "--protocols takes a list, in any case" bfctl --protocols=OpenFlow10,openflow15 show
out=$(bfctl -O OpenFlow16 show 2>&1)
rc=$?
check_eq "-O OpenFlow16 is refused, naming it" \
	"brflowctl: -O: unknown OpenFlow version 'OpenFlow16' (OpenFlow10 to OpenFlow15) rc=2" "$out rc=$rc"
check_eq "an empty version in the list is refused too" \
	"brflowctl: -O: unknown OpenFlow version '' (OpenFlow10 to OpenFlow15)" \
	"$(bfctl --protocols=OpenFlow13, show 2>&1)"
check "-t SECS is ovs-ofctl's short --timeout" bfctl -t 5 show
check_eq "-t with a bad number is refused" \
	"brflowctl: --timeout: invalid number of seconds 'x'" "$(bfctl -t x show 2>&1)"

# log-level: brflowd's log level, changed while it runs
check_eq "log-level prints the level brflowd started with" "info" "$(bfctl log-level 2>&1)"
check_eq "log-level debug sets it and says what it was" "debug (was info)" "$(bfctl log-level debug 2>&1)"
bfctl replace-flows "$BR" - >/dev/null 2>&1 <<<'priority=5,arp,actions=normal'
check_re "brflowd logs the change, then its debug messages" \
	"log level debug \(was info\), set by brflowctl.*brflowd: debug: replace-flows br0" \
	"$(tr '\n' ' ' <"$BF_DIR/daemon.log")"
check_eq "a level it does not know is refused" \
	"brflowctl: log-level: invalid log level 'loud' (error, warn, info or debug)" \
	"$(bfctl log-level loud 2>&1)"
check_eq "log-level info sets it back" "info (was debug)" "$(bfctl log-level info 2>&1)"

bf_done
