#!/bin/bash
# Lossless updates (issue 6): TCP and UDP stream through the bridge while 1 000 policy
# updates (add-flow, del-flows, mod-flows, some at the live flows' own priorities, some
# rewriting the live flows themselves) are applied.  No allowed packet may be lost
# (UDP: every sequence number arrives; TCP: every byte in order, and every segment that
# enters the bridge from h1 leaves it to h2) and no denied packet may pass.  A self-check phase first shows that the
# checkers do see loss and leaks when the policy really drops or allows.
. "$(dirname "$0")/lib.sh"

UPDATES=${BF_UPDATES:-1000}
UPDATE_SECS=${BF_UPDATE_SECS:-200}	# run.sh gives a test 300 s in all
UDP_RATE=1000				# datagrams/s towards each UDP port
TCP_RATE=1600000			# bytes/s of the TCP stream
# The streams must outlive the update loop (at most UPDATE_SECS) and the checks that
# follow it; a slow machine that needs the whole budget must not see them end early.
TRAFFIC_SECS=$((UPDATE_SECS + 60))

# ---------------------------------------------------------------- traffic programs

# udp_tx STOPFILE RATE MAXSECS IP:PORT:MODE...: sends datagrams "SEQ\n" to every target
# at RATE each, in 10 ms ticks, until STOPFILE exists; MODE fixed = one socket (after the
# first datagram the connection is +est), mix = every odd datagram from a new socket (a
# +new connection that must hit an allow flow).  Prints "PORT sent=N" per target.
UDP_TX='
import os, socket, sys, time
stop, rate, maxsecs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
targets = []
for t in sys.argv[4:]:
    ip, port, mode = t.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    targets.append([(ip, int(port)), mode, s, 0])
per_tick = max(1, rate // 100)
start = time.monotonic()
tick = 0
while not os.path.exists(stop) and time.monotonic() - start < maxsecs:
    for t in targets:
        for _ in range(per_tick):
            data = b"%d\n" % t[3]
            if t[1] == "mix" and t[3] % 2:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(data, t[0])
            else:
                t[2].sendto(data, t[0])
            t[3] += 1
    tick += 1
    delay = start + tick / 100.0 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    elif delay < -0.1:
        start -= delay  # fell behind (CPU busy): keep the rate, no burst
for t in targets:
    print("%d sent=%d" % (t[0][1], t[3]), flush=True)
'

# udp_rx STOPFILE MAXSECS PORT...: counts datagrams per port until 1 s after STOPFILE
# appears; prints "PORT received=N distinct=D dups=U top=T missing=M first_missing=S
# gap=A-B", where missing counts the sequence numbers below the highest one seen that
# never came, and A, B are the arrival times (epoch) of the datagrams around the first
# missing one.
UDP_RX='
import os, select, socket, sys, time
stop, maxsecs = sys.argv[1], float(sys.argv[2])
socks = {}
for p in sys.argv[3:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: never drop here
    s.bind(("0.0.0.0", int(p)))
    socks[s] = [int(p), 0, bytearray(), 0, {}]  # port, received, seen, dups, arrival
print("listening", flush=True)
start, stop_seen = time.monotonic(), None
while time.monotonic() - start < maxsecs:
    if stop_seen is None and os.path.exists(stop):
        stop_seen = time.monotonic()
    if stop_seen is not None and time.monotonic() - stop_seen > 1.0:
        break
    r, _, _ = select.select(list(socks), [], [], 0.1)
    for s in r:
        st = socks[s]
        seq = int(s.recv(64))
        st[1] += 1
        if seq >= len(st[2]):
            st[2].extend(bytes(seq + 1 - len(st[2]) + 4096))
        if st[2][seq]:
            st[3] += 1
        st[2][seq] = 1
        if seq % 10 == 0 or seq < 10:
            st[4][seq] = time.time()
for st in socks.values():
    seen = st[2]
    top = max((i for i in range(len(seen) - 1, -1, -1) if seen[i]), default=-1)
    missing = [i for i in range(top + 1) if not seen[i]]
    gap = "-"
    if missing:
        m, arr = missing[0], st[4]
        before = max((k for k in arr if k < m), default=None)
        after = min((k for k in arr if k > m), default=None)
        gap = "%.3f-%.3f" % (arr.get(before, 0), arr.get(after, 0))
    print("%d received=%d distinct=%d dups=%d top=%d missing=%d first_missing=%s gap=%s" % (
        st[0], st[1], st[1] - st[3], st[3], top, len(missing),
        missing[0] if missing else "-", gap), flush=True)
'

# tcp_rx PORT MAXSECS: accepts one connection; the stream must be 8-byte big-endian
# counters 0, 1, 2...  At EOF answers the byte count and prints
# "bytes=N order=ok|bad@OFFSET|partial end=eof|ERROR".
TCP_RX='
import array, socket, sys, time
port, maxsecs = int(sys.argv[1]), float(sys.argv[2])
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", port))
ls.listen(1)
ls.settimeout(maxsecs)
print("listening", flush=True)
c, _ = ls.accept()
c.settimeout(maxsecs)
total, word, rest, bad, end = 0, 0, b"", None, "eof"
try:
    while True:
        data = c.recv(1 << 16)
        if not data:
            break
        total += len(data)
        data = rest + data
        n = len(data) // 8
        rest = data[n * 8:]
        if bad is None and n:
            got = array.array("Q")
            got.frombytes(data[:n * 8])
            got.byteswap()
            want = array.array("Q", range(word, word + n))
            if got != want:
                i = next(i for i in range(n) if got[i] != want[i])
                bad = (word + i) * 8
        word += n
    c.sendall(b"%d\n" % total)
except OSError as e:
    end = type(e).__name__
c.close()
order = "bad@%d" % bad if bad is not None else "partial" if rest else "ok"
print("bytes=%d order=%s end=%s" % (total, order, end), flush=True)
'

# tcp_tx IP PORT RATE STOPFILE MAXSECS: connects and sends the counter stream at RATE
# bytes/s until STOPFILE exists, then half-closes and waits for the receiver's count.
# Prints "connected", then "sent=N confirmed=M status=ok|ERROR".
TCP_TX='
import array, os, socket, sys, time
ip, port, rate, stop, maxsecs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
chunk_words = max(1, rate // 100 // 8)
s = socket.create_connection((ip, port), timeout=5)
print("connected", flush=True)
s.settimeout(30)
sent, word, status, confirmed = 0, 0, "ok", -1
start = time.monotonic()
tick = 0
try:
    while not os.path.exists(stop) and time.monotonic() - start < maxsecs:
        a = array.array("Q", range(word, word + chunk_words))
        a.byteswap()
        s.sendall(a.tobytes())
        word += chunk_words
        sent += chunk_words * 8
        tick += 1
        delay = start + tick / 100.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.1:
            start -= delay
    s.shutdown(socket.SHUT_WR)
    confirmed = int(s.makefile().readline() or -1)
except (OSError, ValueError) as e:
    status = type(e).__name__
print("sent=%d confirmed=%d status=%s" % (sent, confirmed, status), flush=True)
'

# ---------------------------------------------------------------- helpers

T_TTX=
T_UTX=

# info TEXT: a comment line for the log (run.sh counts only ok/not ok/skip lines).
info() { echo "# $TEST_NAME: $1"; }

# field NAME LINE: the value of NAME=VALUE in LINE.
field() { [[ $2 =~ (^|[[:space:]])$1=([^[:space:]]*) ]] && echo "${BASH_REMATCH[2]}"; }

# port_line FILE PORT: the result line for PORT in a udp_tx/udp_rx output file.
port_line() { grep "^$2 " "$1" 2>/dev/null | head -1; }

# seg_counts: "IN OUT", the TCP 5001 segments that entered the bridge from h1 and that left
# it to h2 so far; dgram_counts: the same for UDP 5002 datagrams.
bridge_counts() {
	ip netns exec "$SW" nft list table bridge lossless_count 2>/dev/null |
		awk -v a="$1" -v b="$2" '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") n[++k] = $(i + 1) }
		     END { print (n[a] == "" ? -1 : n[a]), (n[b] == "" ? -1 : n[b]) }'
}
seg_counts() { bridge_counts 1 3; }
dgram_counts() { bridge_counts 2 4; }

# nstat_get NS COUNTER: the namespace's absolute counter (history file untouched).
nstat_get() {
	local v
	v=$(ip netns exec "$1" env NSTAT_HISTORY="$BF_DIR/nstat.hist" nstat -asz "$2" 2>/dev/null |
		awk -v c="$2" '$1 == c { print $2 }')
	echo "${v:-0}"
}

# ct_stat NAME: the switch namespace's conntrack statistic NAME summed over the CPUs.
ct_stat() {
	ip netns exec "$SW" conntrack -S 2>/dev/null |
		awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) n += substr($i, length(k) + 2) }
			END { print n + 0 }'
}

# drops_info: where dropped packets went, for a failure's reason (the drop flows'
# counters, conntrack's invalid count since the updates began, backlog drops).
drops_info() {
	local inv p0 t0 sn=0 x
	inv=$(flow_packets 'table=1,' 'ct_state=+inv')
	p0=$(flow_packets 'table=1,' 'priority=0 actions=drop')
	t0=$(flow_packets 'table=0,' 'priority=0 actions=drop')
	for x in $(awk '{ print $2 }' /proc/net/softnet_stat); do
		sn=$((sn + 16#$x))
	done
	info "drops: table 1 +inv flow $inv, table 1 miss flow $p0, table 0 miss flow $t0; conntrack invalid +$(($(ct_stat invalid) - inv0)), drop +$(($(ct_stat drop) - ctdrop0)); backlog drops $sn (whole box, since boot)"
}

# updates_during A-B: the updates that ran between epoch times A and B (widened by 10 ms).
updates_during() {
	awk -v a="${1%-*}" -v b="${1#*-}" '$2 >= a - 0.01 && $1 <= b + 0.01' "$BF_DIR/updates.log" 2>/dev/null |
		head -5
}

# canon FLOW: how dump-flows --no-stats prints FLOW as this test writes it.
canon() {
	sed -e 's/^table=0,/ /' -e 's/^table=\([0-9]*\),/ table=\1, /' -e 's/,actions=/ actions=/' \
		-e 's/normal/NORMAL/g' <<<"$1"
}

# traffic_start TAG: UDP receivers (h2: 5002 5004, h3: 5003), the TCP receiver (h2:5001),
# then the senders from h1.  0 once all listen and the TCP stream is connected.
traffic_start() {
	local t=$1 d=$BF_DIR/$1
	# receivers outlast the senders, and timeout outlasts both
	local rx_secs=$((TRAFFIC_SECS + 10)) kill_secs=$((TRAFFIC_SECS + 20))
	rm -f "$d".stop "$d".rxstop
	bf_bg "$(hns 2)" "$d.rx2" timeout $kill_secs python3 -c "$UDP_RX" "$d.rxstop" $rx_secs 5002 5004
	bf_bg "$(hns 3)" "$d.rx3" timeout $kill_secs python3 -c "$UDP_RX" "$d.rxstop" $rx_secs 5003
	bf_bg "$(hns 2)" "$d.trx" timeout $kill_secs python3 -c "$TCP_RX" 5001 $rx_secs
	wait_until 5 grep -qx listening "$d.rx2" && wait_until 5 grep -qx listening "$d.rx3" &&
		wait_until 5 grep -qx listening "$d.trx" || return 1
	bf_bg "$(hns 1)" "$d.ttx" timeout $kill_secs python3 -c "$TCP_TX" 10.1.1.2 5001 "$TCP_RATE" "$d.stop" "$TRAFFIC_SECS"
	T_TTX=$BF_LAST
	bf_bg "$(hns 1)" "$d.utx" timeout $kill_secs python3 -c "$UDP_TX" "$d.stop" "$UDP_RATE" "$TRAFFIC_SECS" \
		10.1.1.2:5002:mix 10.1.1.3:5003:fixed 10.1.1.2:5004:fixed
	T_UTX=$BF_LAST
	wait_until 5 grep -qx connected "$d.ttx"
}

# traffic_stop TAG: stops the senders, lets the receivers drain, collects every result.
traffic_stop() {
	local d=$BF_DIR/$1
	touch "$d.stop"
	wait_until 40 grep -q '^sent=' "$d.ttx"
	wait_until 10 grep -q '^5002 sent=' "$d.utx"
	touch "$d.rxstop"
	wait_until 10 grep -q '^5002 received=' "$d.rx2"
	wait_until 10 grep -q '^5003 received=' "$d.rx3"
	wait_until 10 grep -q '^bytes=' "$d.trx"
}

# ---------------------------------------------------------------- the policy

# The seed firewall's shape: IP goes through conntrack into table 1, ARP is switched;
# table 1 passes +est/+rel, drops +inv, allows h1->h2 TCP 5001 and UDP 5002 (and any
# other UDP from h1 at priority 30) with ct(commit), and denies h1->h3 UDP 5003 and
# h1->h2 UDP 5004 by drop flows above those allow flows.  The 10.8/16 flows are unrelated
# ones at the live priorities whose actions the updates keep changing.
LIVE_TCP='table=1,priority=50,ct_state=+new,tcp,nw_src=10.1.1.1,nw_dst=10.1.1.2,tp_dst=5001,actions=ct(commit),normal'
LIVE_UDP='table=1,priority=40,ct_state=+new,udp,nw_src=10.1.1.1,nw_dst=10.1.1.2,tp_dst=5002,actions=ct(commit),normal'
POLICY="table=0,priority=100,ip,actions=ct(table=1)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+est,ip,actions=normal
table=1,priority=100,ct_state=+rel,ip,actions=normal
table=1,priority=100,ct_state=+inv,ip,actions=drop
table=1,priority=70,udp,nw_dst=10.1.1.3,tp_dst=5003,actions=drop
table=1,priority=70,udp,nw_dst=10.1.1.2,tp_dst=5004,actions=drop
$LIVE_TCP
$LIVE_UDP
table=1,priority=30,ct_state=+new,udp,nw_src=10.1.1.1,actions=ct(commit),normal
table=1,priority=0,actions=drop"
BASE=$POLICY
MODS=()		# unrelated flows (match part) that mod-flows rewrites
declare -A MOD_ACT
for k in 1 2 3; do
	MODS+=("table=1,priority=50,ct_state=+new,tcp,nw_src=10.8.0.$k,tp_dst=80")
	MODS+=("table=1,priority=40,ct_state=+new,udp,nw_src=10.8.1.$k,tp_dst=53")
	MODS+=("table=1,priority=70,ct_state=+new,udp,nw_src=10.8.2.$k,tp_dst=123")
done
for m in "${MODS[@]}"; do
	MOD_ACT[$m]='ct(commit),normal'
	POLICY+=$'\n'"$m,actions=ct(commit),normal"
done

bf_topology 3
# Tail loss probes would retransmit when the busy box merely delays an ACK by a few ms.
ip netns exec "$(hns 1)" sysctl -qw net.ipv4.tcp_early_retrans=0 ||
	bf_setup_fail "cannot set net.ipv4.tcp_early_retrans in $(hns 1)"
# Retransmissions are no proof of loss (a veth may reorder when the sender moves between
# CPUs), so the switch counts the stream's segments where they enter the bridge from h1
# and where they leave it to h2, around brflow's hooks: a drop shows as in > out.
ip netns exec "$SW" nft -f - <<'EOF' || bf_setup_fail "cannot add the segment counters"
table bridge lossless_count {
	chain in {
		type filter hook prerouting priority -400; policy accept;
		iifname "p1" tcp dport 5001 counter
		iifname "p1" udp dport 5002 counter
	}
	chain out {
		type filter hook postrouting priority 400; policy accept;
		oifname "p2" tcp dport 5001 counter
		oifname "p2" udp dport 5002 counter
	}
}
EOF
if out=$(bfctl replace-flows "$BR" - <<<"$POLICY" 2>&1); then
	ok "the policy loads"
else
	not_ok "the policy loads" "$(bf_oneline "$out")"
	bf_done
fi
udp_ok "h1->h2 UDP 5002 passes" 1 2 10.1.1.2 5002
udp_blocked "h1->h3 UDP 5003 is denied" 1 3 10.1.1.3 5003
udp_blocked "h1->h2 UDP 5004 is denied" 1 2 10.1.1.2 5004
tcp_ok "h1->h2 TCP 5001 passes" 1 2 10.1.1.2 5001

# ---------------------------------------------------------------- self-check
# For 0.4 s drop UDP 5002 and TCP 5001 before conntrack (table 0) and let 5003 through:
# the checkers must see the UDP gap, the TCP retransmissions, and 5003's datagrams.

BLACKOUT=('table=0,priority=200,udp,tp_dst=5002,actions=drop'
	'table=0,priority=200,tcp,tp_dst=5001,actions=drop'
	'table=1,priority=80,udp,nw_dst=10.1.1.3,tp_dst=5003,actions=ct(commit),normal')
retr0=$(nstat_get "$(hns 1)" TcpRetransSegs)
read -r segin0 segout0 <<<"$(seg_counts)"
if traffic_start self; then
	sleep 1
	for f in "${BLACKOUT[@]}"; do
		bfctl add-flow "$BR" "$f" >>"$BF_DIR/self.upd" 2>&1
	done
	sleep 0.4
	for f in "${BLACKOUT[@]}"; do
		bfctl --strict del-flows "$BR" "${f%,actions=*}" >>"$BF_DIR/self.upd" 2>&1
	done
	sleep 2
	traffic_stop self
	tx=$(port_line "$BF_DIR/self.utx" 5002)
	rx=$(port_line "$BF_DIR/self.rx2" 5002)
	if [[ $(field missing "$rx") =~ ^[1-9] ]] && [ "$(field received "$rx")" -lt "$(field sent "$tx")" ]; then
		ok "self-check: the UDP checker reports the datagrams a drop flow lost"
	else
		not_ok "self-check: the UDP checker reports the datagrams a drop flow lost" \
			"sender '$tx', receiver '$rx' (updates: $(bf_oneline "$(cat "$BF_DIR/self.upd")"))"
	fi
	check_gt "self-check: the denied-port checker sees 5003 while it is allowed" \
		"$(field received "$(port_line "$BF_DIR/self.rx3" 5003)")" 0
	retr=$(($(nstat_get "$(hns 1)" TcpRetransSegs) - retr0))
	check_gt "self-check: a TCP segment dropped by a flow shows as a retransmission" "$retr" 0
	read -r segin segout <<<"$(seg_counts)"
	check_gt "self-check: the segment counters see the segments a drop flow lost" \
		"$(( (segin - segin0) - (segout - segout0) ))" 0
	ttx=$(cat "$BF_DIR/self.ttx")
	check_eq "self-check: the TCP checker counts every byte after the drop ends" \
		"bytes=$(field sent "$ttx") order=ok end=eof" "$(tail -1 "$BF_DIR/self.trx")"
else
	not_ok "self-check traffic starts" "$(bf_oneline "$(cat "$BF_DIR"/self.*)")"
fi
bf_kill "$T_TTX"
bf_kill "$T_UTX"
# the self-check committed h1->h3:5003 from some port: forget it before the real run
bfctl flush-conntrack >/dev/null 2>&1

# ---------------------------------------------------------------- updates under traffic

PRIOS=(20 35 40 45 50 55 65 80 30 50)	# 30, 40, 50: the live allow flows' priorities
ADDED=()	# flows the loop added and has not deleted yet (without actions)
declare -A ADD_ACT
T0_ADDED=()	# the same for table 0
n_add=0
n_t0=0
upd_ok=0
upd_fail=0
upd_first_err=
same_prio=0

# update CMD...: one brflowctl call; counts it and logs "START END CMD" (epoch seconds).
update() {
	local out t=$EPOCHREALTIME rc=0
	out=$(bfctl "$@" 2>&1) || rc=$?
	echo "$t $EPOCHREALTIME $*" >>"$BF_DIR/updates.log"
	if [ $rc -eq 0 ]; then
		upd_ok=$((upd_ok + 1))
	else
		upd_fail=$((upd_fail + 1))
		[ -n "$upd_first_err" ] || upd_first_err="$*: $out"
	fi
}

add_table1() {
	local p=${PRIOS[$((n_add % ${#PRIOS[@]}))]} proto=udp m
	[ $((n_add % 3)) -eq 0 ] && proto=tcp
	m="table=1,priority=$p,ct_state=+new,$proto,nw_src=10.9.$((n_add / 250)).$((n_add % 250 + 1)),tp_dst=$((6000 + n_add % 1000))"
	case $p in 30 | 40 | 50) same_prio=$((same_prio + 1)) ;; esac
	n_add=$((n_add + 1))
	ADDED+=("$m")
	ADD_ACT[$m]='ct(commit),normal'
	update add-flow "$BR" "$m,actions=ct(commit),normal"
}

# del_oldest STRICT: deletes the oldest flow the loop added, exactly or by a covering
# match (its own address, which no other flow has).
del_oldest() {
	local m=${ADDED[0]} proto
	ADDED=("${ADDED[@]:1}")
	unset "ADD_ACT[$m]"
	if [ "$1" = strict ]; then
		update --strict del-flows "$BR" "$m"
		return
	fi
	[[ $m == *,tcp,* ]] && proto=tcp || proto=udp
	update del-flows "$BR" "table=1,$proto,nw_src=$(field nw_src "${m//,/ }")"
}

mod_unrelated() {
	local m=${MODS[$(($1 % ${#MODS[@]}))]} a='ct(commit),normal'
	[ "${MOD_ACT[$m]}" = drop ] || a=drop
	MOD_ACT[$m]=$a
	case $m in *priority=40,* | *priority=50,*) same_prio=$((same_prio + 1)) ;; esac
	update --strict mod-flows "$BR" "$m,actions=$a"
}

# table 0, above, at and below the live ip->ct flow: add one, then delete it
toggle_table0() {
	local p m
	if [ ${#T0_ADDED[@]} -gt 0 ]; then
		update --strict del-flows "$BR" "${T0_ADDED[0]}"
		T0_ADDED=()
		return
	fi
	p=$((n_t0 % 3 == 0 ? 200 : n_t0 % 3 == 1 ? 100 : 50))
	m="table=0,priority=$p,ip,nw_src=10.7.$((n_t0 / 250)).$((n_t0 % 250 + 1))"
	n_t0=$((n_t0 + 1))
	T0_ADDED=("$m")
	update add-flow "$BR" "$m,actions=drop"
}

# the live allow flows themselves, re-added or modified to what they already are
touch_live() {
	same_prio=$((same_prio + 1))
	case $(($1 / 20 % 4)) in
	0) update add-flow "$BR" "$LIVE_TCP" ;;
	1) update --strict mod-flows "$BR" "$LIVE_UDP" ;;
	2) update add-flow "$BR" "$LIVE_UDP" ;;
	3) update --strict mod-flows "$BR" "$LIVE_TCP" ;;
	esac
}

retr0=$(nstat_get "$(hns 1)" TcpRetransSegs)
ofo0=$(nstat_get "$(hns 2)" TcpExtTCPOFOQueue)
read -r segin0 segout0 <<<"$(seg_counts)"
read -r dgin0 dgout0 <<<"$(dgram_counts)"
inv0=$(ct_stat invalid)
ctdrop0=$(ct_stat drop)
if ! traffic_start main; then
	not_ok "traffic starts" "$(bf_oneline "$(cat "$BF_DIR"/main.*)")"
	bf_done
fi
sleep 2
t0=$(date +%s%N)
deadline=$((SECONDS + UPDATE_SECS))
i=0
while [ $i -lt "$UPDATES" ] && [ $SECONDS -lt $deadline ]; do
	case $((i % 10)) in
	0 | 1 | 2 | 3) add_table1 ;;
	4) mod_unrelated $((i / 10)) ;;
	5 | 6) del_oldest strict ;;
	7) del_oldest covering ;;
	8) toggle_table0 ;;
	9) if [ $((i % 20)) -eq 9 ]; then touch_live "$i"; else mod_unrelated $((i / 10 + 1)); fi ;;
	esac
	i=$((i + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
info "$i updates in $ms ms ($(awk -v n=$i -v ms=$ms 'BEGIN { printf "%.1f", n * 1000 / (ms ? ms : 1) }') per second), $same_prio of them at the live allow flows' priorities or on those flows"
sleep 2

# the TCP connection is still there before the stream ends
ct=$(ct_look)
if grep -q "^tcp .* ESTABLISHED src=10.1.1.1 dst=10.1.1.2 sport=[0-9]* dport=5001 " <<<"$ct"; then
	ok "conntrack still holds the TCP connection"
else
	not_ok "conntrack still holds the TCP connection" "conntrack -L: $(bf_oneline "$(grep 5001 <<<"$ct")")"
fi
if conn_established "$(hns 1)" 10.1.1.2 5001; then
	ok "the TCP connection stayed open"
else
	not_ok "the TCP connection stayed open" "ss in h1 shows no established connection to 10.1.1.2:5001$(
		grep -q '^sent=' "$BF_DIR/main.ttx" && echo "; the sender had already ended: $(bf_oneline "$(cat "$BF_DIR/main.ttx")")")"
fi

expected=$(
	while IFS= read -r f; do canon "$f"; done <<<"$BASE"
	for m in "${MODS[@]}"; do canon "$m,actions=${MOD_ACT[$m]}"; done
	for m in "${ADDED[@]}"; do canon "$m,actions=${ADD_ACT[$m]}"; done
	for m in "${T0_ADDED[@]}"; do canon "$m,actions=drop"; done
)
dump=$(bfctl --no-stats dump-flows "$BR" 2>&1)
diff=$(diff <(sort <<<"$expected") <(sort <<<"$dump") | grep '^[<>]' | head -5)
info "dump-flows: $(wc -l <<<"$dump") flows, $(wc -l <<<"$expected") expected"
check_eq "dump-flows shows exactly the flows the updates leave" "" "$diff"

traffic_stop main
drops_info
bf_kill "$T_TTX"
bf_kill "$T_UTX"

if [ "$upd_ok" -eq "$UPDATES" ] && [ "$upd_fail" -eq 0 ]; then
	ok "all $UPDATES updates succeeded"
else
	not_ok "all $UPDATES updates succeeded" \
		"$upd_ok succeeded, $upd_fail failed, $i ran in $UPDATE_SECS s; first error: $(bf_oneline "$upd_first_err")"
fi

tx=$(port_line "$BF_DIR/main.utx" 5002)
rx=$(port_line "$BF_DIR/main.rx2" 5002)
sent=$(field sent "$tx")
read -r dgin dgout <<<"$(dgram_counts)"
dgin=$((dgin - dgin0))
dgout=$((dgout - dgout0))
info "UDP 5002: $dgin datagrams entered the bridge from h1, $dgout left it to h2"
if [[ $sent =~ ^[0-9]+$ ]] && [ "$sent" -gt 0 ] && [ "$(field received "$rx")" = "$sent" ] &&
	[ "$(field distinct "$rx")" = "$sent" ] && [ "$(field missing "$rx")" = 0 ]; then
	info "UDP 5002: $sent datagrams sent and received; 5003/5004: $(field sent "$(port_line "$BF_DIR/main.utx" 5003)") each sent"
	ok "UDP 5002: every datagram arrived, no sequence gaps"
elif [ "$dgin" -gt 0 ] && [ "$dgin" -eq "$dgout" ]; then
	# lost in a host's stack (an emulated CPU starves the receiver), not by the switch
	info "UDP 5002: sender '$tx', receiver '$rx': the bridge passed every datagram it got"
	ok "UDP 5002: every datagram that entered the bridge left it to h2 (the host lost $(field missing "$rx"))"
else
	not_ok "UDP 5002: every datagram arrived, no sequence gaps" \
		"sender '$tx', receiver '$rx'; bridge: $dgin in, $dgout out; updates during the first gap: $(bf_oneline "$(updates_during "$(field gap "$rx")")")"
fi
for p in 5003 5004; do
	h=2
	[ $p = 5003 ] && h=3
	rx=$(port_line "$BF_DIR/main.rx$h" $p)
	tx=$(port_line "$BF_DIR/main.utx" $p)
	if [ "$(field received "$rx")" = 0 ] && [[ $(field sent "$tx") =~ ^[1-9] ]]; then
		ok "UDP $p (denied): no datagram passed"
	else
		not_ok "UDP $p (denied): no datagram passed" "sender '$tx', receiver '$rx'"
	fi
done

ttx=$(tail -1 "$BF_DIR/main.ttx")
trx=$(tail -1 "$BF_DIR/main.trx")
sent=$(field sent "$ttx")
if [[ $sent =~ ^[1-9][0-9]*$ ]] && [ "$ttx" = "sent=$sent confirmed=$sent status=ok" ] &&
	[ "$trx" = "bytes=$sent order=ok end=eof" ]; then
	info "TCP: $sent bytes sent and received"
	ok "TCP: every byte arrived in order"
else
	not_ok "TCP: every byte arrived in order" "sender '$ttx', receiver '$trx'"
fi
retr=$(($(nstat_get "$(hns 1)" TcpRetransSegs) - retr0))
ofo=$(($(nstat_get "$(hns 2)" TcpExtTCPOFOQueue) - ofo0))
info "TCP: $retr retransmitted segments (h1), $ofo out-of-order segments queued (h2)"
read -r segin segout <<<"$(seg_counts)"
segin=$((segin - segin0))
segout=$((segout - segout0))
info "TCP: $segin segments entered the bridge from h1, $segout left it to h2"
if [ "$segin" -gt 0 ] && [ "$segin" -eq "$segout" ]; then
	ok "TCP: every segment that entered the bridge from h1 left it to h2"
else
	not_ok "TCP: every segment that entered the bridge from h1 left it to h2" \
		"$segin in, $segout out ($retr retransmissions)"
fi

bf_done
