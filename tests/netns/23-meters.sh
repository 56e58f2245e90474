#!/bin/bash
# OpenFlow 1.3 meters: a UDP stream of about 1000 packets/s through a flow with
# meter:1 (100 pktps, one drop band) gets through at about the meter's rate while an
# unmetered stream beside it is untouched; meter-stats counts the packets that reached
# the meter and those its band dropped; mod-meter raises the rate and more gets through;
# the meter survives a restart of brflowd; del-meters deletes the flow using it.  Bad
# meters and a flow naming a missing meter are one-line errors that change nothing.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/base.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=100,udp,tp_dst=5001,actions=meter:1,normal
priority=100,udp,tp_dst=5002,actions=normal
priority=0,actions=drop
FLOWS
M1='meter=1,pktps,bands=type=drop,rate=100'

# stream SECS: h1 sends to h2's ports 5001 (metered) and 5002 (not) at 1000 packets/s
# each for SECS s; prints "SENT GOT5001 GOT5002".
stream() {
	local out=$BF_DIR/recv.out
	rm -f "$out" "$out.ready"
	bf_bg "$(hns 2)" "$out" timeout 30 python3 -c '
import select, socket, sys, time
socks = []
for port in (5001, 5002):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("0.0.0.0", port))
    socks.append(s)
open(sys.argv[2], "w").close()
got = {5001: 0, 5002: 0}
end = time.time() + float(sys.argv[1])
while time.time() < end:
    r, _, _ = select.select(socks, [], [], 0.1)
    for s in r:
        s.recv(2048)
        got[s.getsockname()[1]] += 1
print(got[5001], got[5002])
' "$(($1 + 3))" "$out.ready"
	local rpid=$BF_LAST
	wait_until 10 test -e "$out.ready" || { echo "0 0 0"; return; }
	local sent
	sent=$(ip netns exec "$(hns 1)" timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rate, secs, n, t0 = 1000, float(sys.argv[1]), 0, time.time()
while time.time() - t0 < secs:
    while n < int((time.time() - t0) * rate):
        s.sendto(b"m" * 64, ("10.1.1.2", 5001))
        s.sendto(b"m" * 64, ("10.1.1.2", 5002))
        n += 1
    time.sleep(0.001)
print(n)
' "$1")
	wait "$rpid" 2>/dev/null
	echo "${sent:-0} $(cat "$out" 2>/dev/null)"
}

# in_range NAME VALUE LO HI
in_range() {
	if [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
		ok "$1 ($2 in $3..$4)"
	else
		not_ok "$1" "expected $3..$4, got '$2'"
	fi
}

# ---- errors first: each a one-line error naming the token; nothing changes
check_fails "a flow naming a meter that does not exist is refused" \
	bfctl add-flows "$BR" "$BF_DIR/base.flows"
check_re "...saying which meter" "no such meter" \
	"$(bfctl add-flow "$BR" 'udp,actions=meter:1,normal' 2>&1)"
check_re "type=dscp_remark bands are refused" "band 'type=dscp_remark' is not supported" \
	"$(bfctl add-meter "$BR" 'meter=1,pktps,bands=type=dscp_remark,rate=10,prec_level=1' 2>&1)"
check_re "a second band is refused" "a second band" \
	"$(bfctl add-meter "$BR" 'meter=1,pktps,bands=type=drop,rate=10,type=drop,rate=20' 2>&1)"
check_re "meter=0 is refused" "meter=0: meter ids are" \
	"$(bfctl add-meter "$BR" 'meter=0,pktps,bands=type=drop,rate=10' 2>&1)"
check_re "a reserved meter id is refused" "meter=4294967295: meter ids are" \
	"$(bfctl add-meter "$BR" 'meter=4294967295,pktps,bands=type=drop,rate=10' 2>&1)"
check_re "a band without rate= is refused" "missing 'rate='" \
	"$(bfctl add-meter "$BR" 'meter=1,pktps,bands=type=drop' 2>&1)"
check_re "an unknown keyword is refused, named" "unknown meter keyword 'colour'" \
	"$(bfctl add-meter "$BR" 'meter=1,pktps,colour,bands=type=drop,rate=10' 2>&1)"
check_re "mod-meter of a meter that does not exist is refused" "meter 1 does not exist" \
	"$(bfctl mod-meter "$BR" "$M1" 2>&1)"
check_eq "after the errors there is no meter" "OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):" \
	"$(bfctl dump-meters "$BR" 2>&1)"

# ---- the meter and its flows
check "add-meter $M1" bfctl add-meter "$BR" "$M1"
check_re "a second add-meter of the same id is refused" "meter 1 already exists" \
	"$(bfctl add-meter "$BR" "$M1" 2>&1)"
check "the flows using it load" bfctl add-flows "$BR" "$BF_DIR/base.flows"
check_eq "dump-meters prints it as ovs-ofctl does" \
	"OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):|meter=1 pktps bands=|type=drop rate=100" \
	"$(bf_oneline "$(bfctl dump-meters "$BR" 2>&1)")"
check_re "dump-flows prints meter:1 first in the actions" "udp,tp_dst=5001 actions=meter:1,NORMAL" \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1)"

read -r sent got1 got2 <<<"$(stream 2)"
check_gt "the sender managed over 1000 packets a port in 2 s" "${sent:-0}" 1000
in_range "the metered stream gets through at about 100 pktps over 2 s" "${got1:-x}" 100 400
check_gt "the unmetered stream beside it is unaffected (over 90% of it)" \
	"$((${got2:-0} * 10))" "$((${sent:-0} * 9))"
stats=$(bfctl meter-stats "$BR" 2>&1)
check_re "meter-stats prints OVS's fields" \
	'^OFPST_METER reply \(OF1\.3\) \(xid=0x2\):
meter:1 flow_count:1 packet_in_count:[0-9]+ byte_in_count:[0-9]+ duration:[0-9.]+s bands:
0: packet_count:[0-9]+ byte_count:[0-9]+$' "$stats"
in_cnt=$(sed -n 's/.* packet_in_count:\([0-9]*\) .*/\1/p' <<<"$stats")
drops=$(sed -n 's/^0: packet_count:\([0-9]*\) .*/\1/p' <<<"$stats")
check_gt "packet_in_count counts every packet that reached the meter" "${in_cnt:-0}" "$((${sent:-0} - 1))"
check_eq "the band's packet_count is what reached the meter and did not get through" \
	"$((${in_cnt:-0} - ${got1:-0}))" "${drops:-x}"

check "mod-meter raises the rate to 400 pktps" bfctl mod-meter "$BR" 'meter=1,pktps,bands=type=drop,rate=400'
check_re "...without touching the flows" "udp,tp_dst=5001 actions=meter:1,NORMAL" \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1)"
read -r sent got1 got2 <<<"$(stream 2)"
in_range "now more gets through, about 400 pktps over 2 s" "${got1:-x}" 500 1100

# ---- restart keeps the meter and its counts
meter_in() { bfctl meter-stats "$BR" 2>&1 | sed -n 's/.* packet_in_count:\([0-9]*\) .*/\1/p'; }
in_before=$(meter_in)
bf_restart
check_eq "dump-meters after the restart" \
	"OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):|meter=1 pktps bands=|type=drop rate=400" \
	"$(bf_oneline "$(bfctl dump-meters "$BR" 2>&1)")"
check_eq "meter-stats: the counts survive the restart" "${in_before:-none}" "$(meter_in)"
read -r sent got1 got2 <<<"$(stream 1)"
in_range "after the restart the stream is still metered at about 400 pktps over 1 s" \
	"${got1:-x}" 200 650

# ---- del-meters deletes the flow using the meter
check "del-meters $BR meter=1" bfctl del-meters "$BR" meter=1
check_eq "no meter is left" "OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):" \
	"$(bfctl dump-meters "$BR" 2>&1)"
flows=$(bfctl --no-stats dump-flows "$BR" 2>&1)
if grep -q 'tp_dst=5001' <<<"$flows"; then
	not_ok "the flow using meter 1 is deleted with it" "still there: $(bf_oneline "$flows")"
else
	ok "the flow using meter 1 is deleted with it"
fi
check_re "the other flows stay" "udp,tp_dst=5002 actions=NORMAL" "$flows"
read -r sent got1 got2 <<<"$(stream 1)"
check_eq "port 5001's stream now meets the drop flow" "0" "${got1:-x}"

# ---- a kbps meter is a byte limit in the kernel; del-meters without an id takes all
check "add-meter of a kbps meter with burst_size" \
	bfctl add-meter "$BR" 'meter=2,kbps,burst,bands=type=drop,rate=1000,burst_size=200'
check "a flow using it loads" bfctl add-flow "$BR" 'priority=100,udp,tp_dst=5003,actions=meter:2,normal'
check "meters 9 and 3 are added after it" bfctl add-meter "$BR" 'meter=9,pktps,bands=type=drop,rate=9'
check "..." bfctl add-meter "$BR" 'meter=3,pktps,bands=type=drop,rate=3'
check_eq "dump-meters lists them by id, whatever the order they came in" "meter=2 meter=3 meter=9" \
	"$(bfctl dump-meters "$BR" 2>&1 | grep -o '^meter=[0-9]*' | tr '\n' ' ' | sed 's/ $//')"
check_re "the kernel has limit meter_2 in bytes" 'limit meter_2 \{[^}]*rate over [0-9]+ [km]?bytes/second' \
	"$(ip netns exec "$SW" nft list limits 2>&1 | tr '\n' ' ')"
check "del-meters $BR (all)" bfctl del-meters "$BR"
check_fails "...takes the flow using meter 2 with it" grep -q tp_dst=5003 <<<"$(bfctl dump-flows "$BR" 2>&1)"
check_fails "...and the kernel's limit object" grep -q 'limit meter_' <<<"$(ip netns exec "$SW" nft list limits 2>&1)"
bf_done
