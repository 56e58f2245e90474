#!/bin/bash
# Ingress policing, as ovs-vsctl sets it in the Interface table: with
# ingress_policing_rate=1600 (kbit/s) and ingress_policing_burst=160 on p1, a UDP stream
# of about 4 Mbit/s from h1 gets through at about the rate (the kernel's byte limit
# holds one second of the rate on top of the burst), while the same stream from h2,
# whose port is not policed, arrives whole; get-iface, show and trace tell the options;
# they survive a restart; rate 0 ends the policing.  ingress_policing_kpkts_rate=1 lets
# a 3000 packets/s stream through at about 1000 packets/s.  Bad options are one-line
# errors that change nothing.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/base.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=10,ip,actions=normal
priority=0,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/base.flows"

RATE=1600  # kbit/s: 200 000 bytes/s
BURST=160  # kbit: 20 000 bytes
PPS=500    # datagrams/s, 1028 bytes each from the IP header on: about 4 Mbit/s
SECS=3

# stream SRC DST [PPS SIZE]: host SRC sends PPS datagrams/s (default $PPS) of SIZE bytes
# of UDP payload (default 1000) to host DST for SECS s; prints "SENT GOT".
stream() {
	local out=$BF_DIR/recv.out
	rm -f "$out" "$out.ready"
	bf_bg "$(hns "$2")" "$out" timeout 30 python3 -c '
import select, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("0.0.0.0", 5001))
open(sys.argv[2], "w").close()
got, end = 0, time.time() + float(sys.argv[1])
while time.time() < end:
    r, _, _ = select.select([s], [], [], 0.1)
    if r:
        s.recv(2048)
        got += 1
print(got)
' "$((SECS + 3))" "$out.ready"
	local rpid=$BF_LAST
	wait_until 10 test -e "$out.ready" || { echo "0 0"; return; }
	local sent
	sent=$(ip netns exec "$(hns "$1")" timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rate, secs, n, t0 = int(sys.argv[2]), float(sys.argv[3]), 0, time.time()
payload = b"p" * int(sys.argv[4])
while time.time() - t0 < secs:
    while n < int((time.time() - t0) * rate):
        s.sendto(payload, (sys.argv[1], 5001))
        n += 1
    time.sleep(0.001)
print(n)
' "$(hip "$2")" "${3:-$PPS}" "$SECS" "${4:-1000}")
	wait "$rpid" 2>/dev/null
	echo "${sent:-0} $(cat "$out" 2>/dev/null)"
}

# about NAME SENT GOT WANT: GOT is WANT within a third either way
about() {
	if [[ $3 =~ ^[0-9]+$ ]] && [ "$3" -ge $(($4 * 2 / 3)) ] && [ "$3" -le $(($4 * 4 / 3)) ]; then
		ok "$1"
	else
		not_ok "$1" "got '$3' of $2 datagrams, expected about $4"
	fi
}
# policed NAME SENT GOT: GOT is what the byte limit lets through in SECS s (the bucket
# of one second's rate plus the burst, then the rate)
policed() {
	about "$@" $(((RATE * 125 * (SECS + 1) + BURST * 125) / 1028))
}
# whole NAME SENT GOT: at least 97 % arrived
whole() {
	if [[ $3 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] && [ $(($3 * 100)) -ge $(($2 * 97)) ]; then
		ok "$1"
	else
		not_ok "$1" "got '$3' of $2 datagrams"
	fi
}

before=$(bfctl compile "$BR" 2>&1)
expect_one_line() {
	check_re "$1" "$2" "$3"
	check_eq "...and changes nothing" "$before" "$(bfctl compile "$BR" 2>&1)"
}
expect_one_line "set-iface on an interface no bridge has is refused" \
	"^brflowctl: set-iface: no port named 'nosuch'\$" \
	"$(bfctl set-iface nosuch ingress_policing_rate=100 2>&1)"
expect_one_line "an unknown option is refused, named" \
	"^brflowctl: set-iface: unknown interface option 'ingress_policing_rat=100' " \
	"$(bfctl set-iface p1 ingress_policing_rat=100 2>&1)"
expect_one_line "a bad value is refused, named, and nothing of the command is set" \
	"^brflowctl: set-iface: bad value in 'ingress_policing_burst=-5' " \
	"$(bfctl set-iface p1 ingress_policing_rate=100 ingress_policing_burst=-5 2>&1)"
check_eq "get-iface: no policing yet" "ingress_policing_rate=0
ingress_policing_burst=0
ingress_policing_kpkts_rate=0
ingress_policing_kpkts_burst=0" "$(bfctl get-iface p1 2>&1)"

check "set-iface polices p1" bfctl set-iface p1 "ingress_policing_rate=$RATE" \
	"ingress_policing_burst=$BURST"
check_eq "get-iface prints one option's value, as ovs-vsctl get does" "$RATE" \
	"$(bfctl get-iface p1 ingress_policing_rate 2>&1)"
check_re "show prints the options under the port" \
	" 1\(p1\): .*     policing:   ingress_policing_rate=$RATE ingress_policing_burst=$BURST" \
	"$(bfctl show "$BR" 2>&1 | tr '\n' ' ')"
compiled=$(bfctl compile "$BR" 2>&1 | tr '\n\t' '  ')
check_re "compile has p1's byte limit: the rate and burst in bytes" \
	'limit police_1 \{ +rate over 200000 bytes/second burst 20000 bytes +\}' "$compiled"
# classify, or the pipeline's hook where bridge-family conntrack needs no classify
check_re "...and the first bridge chain looks the policed ports up, before the port lookup" \
	'chain (classify|pipeline) \{ +type filter hook prerouting priority -(300|150); policy accept; +iifname vmap @policing +meta ' \
	"$compiled"
check_re "...which sends p1 to its chain of limits, p2 not" \
	'set policing \{ +type iifname : verdict +elements = \{ "p1" : jump policing_1 \} +\}' \
	"$compiled"
check_re "...where what p1 sends over the rate is dropped" \
	'chain policing_1 \{ +limit name "police_1" drop +\}' "$compiled"
check_re "trace says what p1 receives over the rate is dropped first" \
	"^ port 1 \(p1\) is policed \(set-iface\): what it receives over $RATE kbit/s, after a burst of $BURST kbit, is dropped before any table\$" \
	"$(bfctl --no-names trace "$BR" in_port=1,udp 2>&1 | grep policed)"
ping_ok "pings from the policed port pass" 1 10.1.1.2

read -r sent got <<<"$(stream 1 2)"
policed "a ~4 Mbit/s stream from p1 gets through at about 1.6 Mbit/s ($got of $sent)" "$sent" "$got"
read -r sent got <<<"$(stream 2 1)"
whole "the same stream from p2, not policed, arrives whole ($got of $sent)" "$sent" "$got"

bf_restart
check_eq "the options survive a restart of brflowd" "ingress_policing_rate=$RATE
ingress_policing_burst=$BURST
ingress_policing_kpkts_rate=0
ingress_policing_kpkts_burst=0" "$(bfctl get-iface p1 2>&1)"
read -r sent got <<<"$(stream 1 2)"
policed "...and p1 is still policed ($got of $sent)" "$sent" "$got"

check "set-iface changes the rate" bfctl set-iface p1 ingress_policing_rate=3200
check_re "...and the kernel's limit with it" \
	'limit police_1 \{ +rate over 400000 bytes/second burst 20000 bytes +\}' \
	"$(ip netns exec "$SW" nft list table bridge "brflow_$BR" 2>&1 | tr '\n\t' '  ')"
# packet-rate policing (OVS 2.16's ingress_policing_kpkts_rate): 1000 packets/s with a
# burst of 1000 packets lets 1000 + 1000 a second through, whatever their size
check "set-iface polices p1 by packets instead" bfctl set-iface p1 ingress_policing_rate=0 \
	ingress_policing_kpkts_rate=1 ingress_policing_kpkts_burst=1
check_re "trace says so" "is policed \(set-iface\): what it receives over 1000 packets/s, after a burst of 1000 packets, is dropped" \
	"$(bfctl --no-names trace "$BR" in_port=1,udp 2>&1)"
read -r sent got <<<"$(stream 1 2 3000 64)"
about "a 3000 packets/s stream from p1 gets through at about 1000 packets/s ($got of $sent)" \
	"$sent" "$got" $((1000 + 1000 * SECS))
check "ingress_policing_kpkts_rate=0 ends that" bfctl set-iface p1 ingress_policing_kpkts_rate=0
read -r sent got <<<"$(stream 1 2 3000 64)"
whole "the 3000 packets/s stream arrives whole then ($got of $sent)" "$sent" "$got"
check "set-iface polices p1 by bytes again" bfctl set-iface p1 ingress_policing_rate=3200
check "ingress_policing_rate=0 ends the policing" bfctl set-iface p1 ingress_policing_rate=0
check_re "compile has no policing left" '^$' "$(bfctl compile "$BR" 2>&1 | grep police)"
read -r sent got <<<"$(stream 1 2)"
whole "the stream from p1 arrives whole again ($got of $sent)" "$sent" "$got"

bf_done
