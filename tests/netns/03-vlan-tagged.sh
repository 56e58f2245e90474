#!/bin/bash
# VLAN-tagged traffic through the flows, as OVS sees it: a tagged IPv4 packet is IP
# (dl_type is the inner ethertype), so the ip flows decide it, conntrack tracks it,
# and it leaves with its tag.  br_netfilter hands tagged packets to the inet hooks
# only with bridge-nf-filter-vlan-tagged on, which brflowd sets in its namespace;
# without it every tagged IP packet was dropped.  Flows match the tag (dl_vlan,
# dl_vlan_pcp, vlan_tci=0 for untagged, and OpenFlow 1.2's vlan_vid and vlan_pcp), in
# the IP tables and the bridge family's.
# h1 sends raw frames from its eth0; h2 reads them, with the tag the kernel keeps
# beside the frame.
. "$(dirname "$0")/lib.sh"

bf_topology 2

# recv_tagged OUT: for 3 s, h2 counts the frames carrying the marker, and the VIDs
# they came with ("3 10" for three with VLAN 10), into file OUT
recv_tagged() {
	ip netns exec "$(hns 2)" timeout 6 python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA
s.bind(("eth0", 0))
s.settimeout(0.2)
n, vids, end = 0, set(), time.time() + 3
while time.time() < end:
    try:
        data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(20))
    except socket.timeout:
        continue
    if b"BRFLOWVLAN" not in data:
        continue
    n += 1
    for level, kind, aux in anc:
        if level == 263 and kind == 8:
            status, _, _, _, _, tci = struct.unpack("IIIHHH", aux[:18])
            vids.add(tci & 0xfff if status & 0x10 else 0)
print(n, " ".join(str(v) for v in sorted(vids)))' >"$1" 2>&1 &
	BF_BG+=($!)
	RECV_PID=$!
	sleep 0.5
}

# send_tagged KIND PORT [VID [PCP]]: h1 sends three frames to h2's MAC, tagged VID
# (default 10; - for no tag) with priority PCP: KIND ip is IPv4 UDP to PORT, raw an
# ethertype 0x88b5 frame
send_tagged() {
	ip netns exec "$(hns 1)" timeout 5 python3 -c '
import socket, struct, sys
kind, port, vid, pcp = sys.argv[1], int(sys.argv[2]), sys.argv[4], int(sys.argv[5])
smac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
dmac = bytes.fromhex(sys.argv[3].replace(":", ""))
payload = b"BRFLOWVLAN" + b"x" * 30
if kind == "ip":
    udp = struct.pack("!HHHH", 1234, port, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      socket.inet_aton("10.1.1.1"), socket.inet_aton("10.1.1.2"))
    t = sum(struct.unpack("!10H", hdr))
    t = (t >> 16) + (t & 0xffff)
    hdr = hdr[:10] + struct.pack("!H", ~(t + (t >> 16)) & 0xffff) + hdr[12:]
    body = struct.pack("!H", 0x0800) + hdr + udp
else:
    body = struct.pack("!H", 0x88b5) + payload
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for _ in range(3):
    tag = b"" if vid == "-" else struct.pack("!HH", 0x8100, pcp << 13 | int(vid))
    s.send(dmac + smac + tag + body)' "$1" "$2" "$(host_mac 2)" "${3:-10}" "${4:-0}"
	wait "$RECV_PID"
}

check_eq "brflowd turned bridge-nf-filter-vlan-tagged on in its namespace" 1 \
	"$(ip netns exec "$SW" cat /proc/sys/net/bridge/bridge-nf-filter-vlan-tagged 2>&1)"
cat >"$BF_DIR/vlan.flows" <<'FLOWS'
priority=30,udp,dl_vlan=20,actions=drop
priority=30,udp,vlan_tci=0,tp_dst=5680,actions=drop
priority=30,dl_vlan=30,dl_vlan_pcp=5,actions=drop
priority=30,udp,vlan_vid=0x1028,vlan_pcp=6,tp_dst=5681,actions=drop
priority=10,arp,actions=normal
priority=10,udp,tp_dst=5679,actions=drop
priority=5,ip,actions=ct(commit),normal
priority=1,actions=normal
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/vlan.flows"

recv_tagged "$BF_DIR/allowed.out"
send_tagged ip 5678
check_eq "tagged IPv4 allowed by the ip flow arrives, tagged VLAN 10" "3 10" \
	"$(cat "$BF_DIR/allowed.out")"
check_re "conntrack tracked it" \
	'udp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=1234,dport=5678\)' "$(ct_dump 2>&1)"
check_eq "the ip flow counted it" 3 "$(flow_packets 'priority=5,ip')"

recv_tagged "$BF_DIR/dropped.out"
send_tagged ip 5679
check_eq "tagged IPv4 to the dropped port never arrives" "0 " "$(cat "$BF_DIR/dropped.out")"
check_eq "the drop flow counted it" 3 "$(flow_packets 'tp_dst=5679')"

recv_tagged "$BF_DIR/raw.out"
send_tagged raw 0
check_eq "a tagged non-IP frame goes through the catch-all flow, tagged" "3 10" \
	"$(cat "$BF_DIR/raw.out")"
ping_ok "untagged IPv4 goes through the ip flow as before" 1 10.1.1.2

recv_tagged "$BF_DIR/vid20.out"
send_tagged ip 5678 20
check_eq "dl_vlan=20 drops VLAN 20's UDP" "0 " "$(cat "$BF_DIR/vid20.out")"
check_eq "... and counted it" 3 "$(flow_packets 'dl_vlan=20')"
recv_tagged "$BF_DIR/untagged5680.out"
send_tagged ip 5680 -
check_eq "vlan_tci=0 drops untagged UDP to 5680" "0 " "$(cat "$BF_DIR/untagged5680.out")"
recv_tagged "$BF_DIR/tagged5680.out"
send_tagged ip 5680 10
check_eq "... and lets VLAN 10's UDP to 5680 through" "3 10" "$(cat "$BF_DIR/tagged5680.out")"
recv_tagged "$BF_DIR/pcp5.out"
send_tagged raw 0 30 5
check_eq "dl_vlan=30,dl_vlan_pcp=5 drops such non-IP frames (bridge family)" "0 " \
	"$(cat "$BF_DIR/pcp5.out")"
recv_tagged "$BF_DIR/pcp4.out"
send_tagged raw 0 30 4
check_eq "... but not VLAN 30 with priority 4" "3 30" "$(cat "$BF_DIR/pcp4.out")"
recv_tagged "$BF_DIR/vid40pcp6.out"
send_tagged ip 5681 40 6
check_eq "vlan_vid=0x1028,vlan_pcp=6 (OpenFlow 1.2's names) drops VLAN 40's UDP with priority 6" \
	"0 " "$(cat "$BF_DIR/vid40pcp6.out")"
recv_tagged "$BF_DIR/vid40pcp0.out"
send_tagged ip 5681 40 0
check_eq "... but not with priority 0" "3 40" "$(cat "$BF_DIR/vid40pcp0.out")"
check_re "dump-flows prints the tag matches as ovs-ofctl does" \
	'priority=30,udp,dl_vlan=20 actions=drop.*priority=30,udp,vlan_tci=0x0000,tp_dst=5680 actions=drop.*priority=30,dl_vlan=30,dl_vlan_pcp=5 actions=drop.*priority=30,udp,dl_vlan=40,dl_vlan_pcp=6,tp_dst=5681 actions=drop' \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1 | tr '\n' ' ')"

bf_done
