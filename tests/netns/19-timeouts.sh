#!/bin/bash
# OpenFlow's flow timeouts: a flow with hard_timeout=N lets pings through and is gone N
# seconds after it was added or, as in OVS, last modified by mod-flows (which keeps its
# timeout and its age, and shows hard_age= from then on, across restarts too), one
# with idle_timeout=N stays while pings keep hitting it and goes N s after they stop;
# dump-flows shows both where ovs-ofctl does, and idle_age: how long the flow's count has
# not moved, as brflowd saw it each time it read the counters (for a dump or an expiry).
# Across a restart of brflowd a flow with a future deadline stays and still expires, one
# whose deadline passed while brflowd was down goes at once, and an idle clock starts
# again at the restart.  The idle clock goes with the counters, as in OVS: an add that
# keeps them keeps it, reset_counts starts it again.  Bad values are one-line errors
# naming the column.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/base.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=0,actions=drop
FLOWS
check "the base policy loads: ARP only" bfctl replace-flows "$BR" "$BF_DIR/base.flows"
ping_blocked "without a timed flow ping h1->h2 is dropped" 1 10.1.1.2

now_ms() { date +%s%3N; }
# listed TEXT: dump-flows --no-stats has a line holding TEXT
listed() { bfctl --no-stats dump-flows "$BR" 2>/dev/null | grep -qF -- "$1"; }
unlisted() { ! listed "$1"; }
# gone_after NAME TEXT MIN MAX START: the flow holding TEXT leaves dump-flows within MAX
# seconds from now, and not before MIN seconds after START (ms)
gone_after() {
	local t
	if ! wait_until "$4" unlisted "$2"; then
		not_ok "$1" "still listed $4 s after: $(bf_oneline "$(bfctl --no-stats dump-flows "$BR" 2>&1)")"
		return
	fi
	t=$(($(now_ms) - $5))
	if [ "$t" -ge $(($3 * 1000)) ]; then
		ok "$1"
	else
		not_ok "$1" "gone after $t ms, expected at least $3 s"
	fi
}

# ---- hard_timeout: gone 3 s after add-flow, or after the last mod-flows (OVS's rule)
start=$(now_ms)
check "add-flow of a flow with hard_timeout=3" bfctl add-flow "$BR" "hard_timeout=3,priority=100,icmp,actions=normal"
check_re "dump-flows shows hard_timeout=3 after n_bytes=, where ovs-ofctl does" \
	'^ cookie=0x0, duration=[0-9.]+s, table=0, n_packets=0, n_bytes=0, hard_timeout=3, idle_age=0, priority=100,icmp actions=NORMAL$' \
	"$(bfctl dump-flows "$BR" icmp 2>&1)"
ping_ok "while it exists ping h1->h2 passes" 1 10.1.1.2
sleep 1
modified=$(now_ms)
check "mod-flows with hard_timeout=60 in its pattern" bfctl mod-flows "$BR" "icmp,hard_timeout=60,actions=normal"
check_re "...keeps hard_timeout=3 and the flow's age (over 1 s), and shows hard_age=0 after idle_age" \
	'^ cookie=0x0, duration=[1-9](\.[0-9]+)?s, table=0, n_packets=[1-9][0-9]*, n_bytes=[0-9]+, hard_timeout=3, idle_age=0, hard_age=0, priority=100,icmp actions=NORMAL$' \
	"$(bfctl dump-flows "$BR" icmp 2>&1)"
gone_after "the flow is gone 3 s after mod-flows modified it, not sooner" "priority=100,icmp" 3 8 "$modified"
ping_blocked "after it expired ping h1->h2 is dropped again" 1 10.1.1.2
check "brflowd logs the expiry at info level" \
	grep -q 'bridge br0: hard_timeout expired (modified [0-9.]* s ago): table=0,hard_timeout=3, priority=100,icmp' \
	"$BF_DIR/daemon.log"

# ---- idle_timeout: kept alive by traffic, gone 3 s (at most 7 s) after it stops
check "add-flow of a flow with idle_timeout=3" bfctl add-flow "$BR" "idle_timeout=3,priority=100,icmp,actions=normal"
check_eq "dump-flows --no-stats shows idle_timeout=3" " idle_timeout=3, priority=100,icmp actions=NORMAL" \
	"$(bfctl --no-stats dump-flows "$BR" icmp 2>&1)"
n=$(ip netns exec "$(hns 1)" timeout 20 ping -4 -n -q -c 12 -i 0.5 -W 2 10.1.1.2 2>/dev/null |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
stopped=$(now_ms)
check_eq "pings every 0.5 s for 6 s all pass: the flow outlives its idle_timeout" 12 "${n:-0}"
check "...and is still listed after them" listed "idle_timeout=3, priority=100,icmp"
sleep 2
check "...and 2 s later, its counter having moved until then" listed "idle_timeout=3, priority=100,icmp"
# (3 s after the last packet at the earliest, which came a little before $stopped)
gone_after "it goes once no packet hit it for 3 s" "idle_timeout=3, priority=100,icmp" 2 8 "$stopped"
ping_blocked "after it expired ping h1->h2 is dropped again" 1 10.1.1.2

# ---- restarts: deadlines are kept in the state file, idle clocks start again
start=$(now_ms)
cat >"$BF_DIR/timed.flows" <<'FLOWS'
hard_timeout=2,priority=100,icmp,actions=normal
hard_timeout=10,priority=100,udp,tp_dst=5001,actions=normal
hard_timeout=10,priority=100,udp,tp_dst=5003,actions=normal
idle_timeout=4,priority=100,udp,tp_dst=5002,actions=normal
FLOWS
check "add-flows of four timed flows (the UDP ones one set lookup)" bfctl add-flows "$BR" "$BF_DIR/timed.flows"
sleep 1
check "mod-flows of the UDP 5003 set member" bfctl mod-flows "$BR" "udp,tp_dst=5003,actions=normal"
check "brflowd exits on SIGTERM" bf_daemon_stop
check_eq "the state file keeps when it was modified (flow ID CREATED/MODIFIED)" 1 \
	"$(grep -c '^flow [0-9]* [0-9]*/[0-9]* table=0,reset_counts,hard_timeout=10, priority=100,udp,tp_dst=5003 ' "$BF_DIR/state/br0.bridge" 2>&1)"
sleep 3
ping_ok "while brflowd is down the kernel still runs the hard_timeout=2 flow" 1 10.1.1.2
bf_start_again
restarted=$(now_ms)
if wait_until 3 unlisted "hard_timeout=2,"; then
	ok "the flow whose deadline passed while brflowd was down is gone soon after the start"
else
	not_ok "the flow whose deadline passed while brflowd was down is gone soon after the start" \
		"$(bf_oneline "$(bfctl --no-stats dump-flows "$BR" 2>&1)")"
fi
ping_blocked "...from the kernel too" 1 10.1.1.2
check_re "the hard_timeout=10 flow is still there, its age (and idle_age) counted from add-flows" \
	'duration=([3-9])(\.[0-9]+)?s, table=0, n_packets=0, n_bytes=0, hard_timeout=10, idle_age=\1, priority=100,udp,tp_dst=5001 ' \
	"$(bfctl dump-flows "$BR" udp,tp_dst=5001 2>&1)"
check_re "the flow modified before the stop still shows hard_age=, short of its duration" \
	'duration=([3-9])(\.[0-9]+)?s, .*, hard_timeout=10, idle_age=[0-9]+, hard_age=([2-8]), priority=100,udp,tp_dst=5003 ' \
	"$(bfctl dump-flows "$BR" udp,tp_dst=5003 2>&1)"
udp_ok "UDP 5001 passes through it" 1 2 10.1.1.2 5001
sleep_to=$((restarted + 2000 - $(now_ms)))
[ "$sleep_to" -gt 0 ] && sleep "$(awk -v ms="$sleep_to" 'BEGIN { print ms / 1000 }')"
# added 5 s or more ago: only an idle clock restarted by the restart keeps it
check "the idle_timeout=4 flow is still there 2 s after the restart" listed "idle_timeout=4, priority=100,udp"
gone_after "the hard_timeout=10 flow still goes 10 s after it was added" "hard_timeout=10," 10 12 "$start"
udp_blocked "UDP 5001 is dropped after it" 1 2 10.1.1.2 5001
gone_after "the idle_timeout=4 flow goes once idle 4 s from the restart" "idle_timeout=4," 4 6 "$restarted"
# as del-flows deletes set members: element deletes, journalled in the state file
check_eq "the three set members left by set element deletes" 3 \
	"$(grep -c '^delflow ' "$BF_DIR/state/br0.bridge" 2>&1)"

# ---- idle_age: how long brflowd has not seen the flow's count move, where ovs-ofctl
# prints it (after the timeouts, before the match)
idle_age_of() { bfctl dump-flows "$BR" "$1" 2>&1 | sed -n 's/.* idle_age=\([0-9]*\), .*/\1/p'; }
check "add-flow of an ICMP flow without timeouts" bfctl add-flow "$BR" "priority=100,icmp,actions=normal"
sleep 2
check_re "a flow that never matched is idle since it was added (2 s)" '^[23]$' "$(idle_age_of icmp)"
ping_ok "ping h1->h2 matches it" 1 10.1.1.2
check_re "the next dump sees its count moved: idle_age=0, after n_bytes=" \
	'^ cookie=0x0, duration=[2-9](\.[0-9]+)?s, table=0, n_packets=[1-9][0-9]*, n_bytes=[0-9]+, idle_age=0, priority=100,icmp actions=NORMAL$' \
	"$(bfctl dump-flows "$BR" icmp 2>&1)"
sleep 2
check_re "2 s without a packet: idle_age=2" '^[23]$' "$(idle_age_of icmp)"
check "dump-aggregate reads the counters too" bfctl dump-aggregate "$BR"
check_re "...and keeps the flow's clock" '^[23]$' "$(idle_age_of icmp)"
ping_ok "another ping h1->h2" 1 10.1.1.2
check "dump-aggregate sees the count move" bfctl dump-aggregate "$BR"
sleep 1
check_re "...so the clock restarted at that reading: idle_age=1" '^[12]$' "$(idle_age_of icmp)"
# the expiry's readings count too: an idle_timeout=2 flow makes brflowd read the
# counters 2 s after it is added, after a ping this dump-flows has not seen
check "a flow with idle_timeout=2 beside it" bfctl add-flow "$BR" \
	"idle_timeout=2,priority=100,udp,tp_dst=5009,actions=normal"
check "dump-flows reads the counters" bfctl dump-flows "$BR"
ping_ok "a ping h1->h2 matches the icmp flow" 1 10.1.1.2
if wait_until 6 unlisted "idle_timeout=2, priority=100,udp"; then
	ok "the idle_timeout=2 flow expires: brflowd read the counters"
else
	not_ok "the idle_timeout=2 flow expires: brflowd read the counters" "still listed"
fi
sleep 2
check_re "idle_age counts from that reading, which saw the ping (2 s), not from this dump (0)" \
	'^[2-5]$' "$(idle_age_of icmp)"
check "del-flows icmp" bfctl del-flows "$BR" icmp

# ---- the idle clock goes with the counters, as OVS's time of last use goes with a
# rule's stats: an add from OpenFlow 1.2 on (-O OpenFlow13) that keeps a replaced flow's
# counters keeps its clock too; an OpenFlow 1.0 add and a mod-flows with reset_counts
# start both again.  For UDP flows of one set and an ICMP flow with a rule of its own.
cat >"$BF_DIR/clock.flows" <<'FLOWS'
priority=90,udp,tp_dst=5011,actions=normal
priority=90,udp,tp_dst=5012,actions=normal
priority=90,udp,tp_dst=5013,actions=normal
priority=90,icmp,actions=normal
FLOWS
check "add-flows of three UDP flows and an ICMP flow" bfctl add-flows "$BR" "$BF_DIR/clock.flows"
udp_ok "UDP h1->h2 5011 passes" 1 2 10.1.1.2 5011
ping_ok "ping h1->h2 passes" 1 10.1.1.2
check_eq "a dump sees both counts move: idle_age=0 for both" "0 0" \
	"$(idle_age_of udp,tp_dst=5011) $(idle_age_of icmp)"
sleep 2
for f in udp,tp_dst=5011 icmp; do
	check "-O OpenFlow13 add-flow of the $f flow again" \
		bfctl -O OpenFlow13 add-flow "$BR" "priority=90,$f,actions=normal"
	check_re "...keeps its counters and its idle clock (2 s), with the age of a new flow" \
		"^ cookie=0x0, duration=0(\.[0-9]+)?s, table=0, n_packets=[1-9][0-9]*, n_bytes=[0-9]+, idle_age=[23], priority=90,$f actions=NORMAL\$" \
		"$(bfctl dump-flows "$BR" "$f" 2>&1)"
	check "add-flow of it again without -O (OpenFlow 1.0)" \
		bfctl add-flow "$BR" "priority=90,$f,actions=normal"
	check_re "...starts its counters and its clock again" \
		"^ cookie=0x0, duration=0(\.[0-9]+)?s, table=0, n_packets=0, n_bytes=0, idle_age=0, priority=90,$f actions=NORMAL\$" \
		"$(bfctl dump-flows "$BR" "$f" 2>&1)"
done
sleep 2
for f in udp,tp_dst=5011 icmp; do
	check "mod-flows of the $f flow with reset_counts, 2 s after its add" \
		bfctl mod-flows "$BR" "reset_counts,$f,actions=normal"
	check_re "...starts its clock at the modify: idle_age=0, duration 2 s, hard_age=0" \
		"^ cookie=0x0, duration=[23](\.[0-9]+)?s, table=0, n_packets=0, n_bytes=0, idle_age=0, hard_age=0, priority=90,$f actions=NORMAL\$" \
		"$(bfctl dump-flows "$BR" "$f" 2>&1)"
done
# ...and so do the idle timeouts
start=$(now_ms)
check "add-flow of a UDP 5015 flow with idle_timeout=4" \
	bfctl add-flow "$BR" "idle_timeout=4,priority=90,udp,tp_dst=5015,actions=normal"
sleep 2
readded=$(now_ms)
check "-O OpenFlow13 add-flow of it again 2 s later" \
	bfctl -O OpenFlow13 add-flow "$BR" "idle_timeout=4,priority=90,udp,tp_dst=5015,actions=normal"
gone_after "...it goes 4 s after the first add: the second kept its idle clock" \
	"idle_timeout=4, priority=90,udp,tp_dst=5015" 4 4 "$start"
check_re "...well before 4 s after the second" '^[0-3][0-9]{3}$' "$(($(now_ms) - readded))"
check "add-flow of a UDP 5014 flow with idle_timeout=3" \
	bfctl add-flow "$BR" "idle_timeout=3,priority=90,udp,tp_dst=5014,actions=normal"
sleep 2
modified=$(now_ms)
check "mod-flows of it with reset_counts 2 s later" \
	bfctl mod-flows "$BR" "reset_counts,udp,tp_dst=5014,actions=normal"
sleep 2
check "...it is still there 4 s after its add: its idle clock started at the modify" \
	listed "idle_timeout=3, priority=90,udp,tp_dst=5014"
gone_after "...and goes 3 s after the modify" "idle_timeout=3, priority=90,udp,tp_dst=5014" \
	3 4 "$modified"
check "del-flows of the UDP flows" bfctl del-flows "$BR" udp
check "del-flows of the ICMP flow" bfctl del-flows "$BR" icmp

# ---- errors
check_eq "a hard_timeout out of range is one line naming the column" \
	"brflowctl: add-flow: hard_timeout '65536' out of range (max 65535) at column 17" \
	"$(bfctl add-flow "$BR" "ip,hard_timeout=65536,actions=drop" 2>&1)"
check_eq "a bad idle_timeout in a flow file names the line and the column" \
	"brflowctl: add-flows: line 2: invalid idle_timeout '1s' at column 14" \
	"$(printf 'ip,actions=drop\nidle_timeout=1s,arp,actions=drop\n' | bfctl add-flows "$BR" - 2>&1)"
# send_flow_rem asks for a message to controllers when the flow expires; brflow has
# none, so the flag loads and changes nothing (brflow-flows(7))
check "a flow with send_flow_rem and a timeout loads" bfctl add-flow "$BR" \
	"send_flow_rem,hard_timeout=30,ip,nw_dst=10.9.9.9,actions=drop"
check_eq "...and is listed, without the flag, as ovs-ofctl lists it" 1 \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1 | grep -c '^ hard_timeout=30, ip,nw_dst=10.9.9.9 actions=drop$')"
check_eq "a flag with a value is refused, naming it" \
	"brflowctl: add-flow: 'send_flow_rem' takes no value at column 1" \
	"$(bfctl add-flow "$BR" "send_flow_rem=1,ip,actions=drop" 2>&1)"
check_eq "...and nothing was added" 3 "$(bfctl --no-stats dump-flows "$BR" 2>&1 | grep -c .)"
bf_done
