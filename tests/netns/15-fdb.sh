#!/bin/bash
# fdb-show and fdb-flush, as ovs-appctl fdb/show and fdb/flush: the MAC addresses the
# Linux bridge learned, one line per port in OVS's format (OpenFlow port number, VLAN,
# address, age in seconds), checked against each host's own address and iproute2's
# view of the same entries; a port not added with add-port shows its interface name.
# Then brflowctl trace, which reads the same table, against frames sent for real.
. "$(dirname "$0")/lib.sh"

bf_topology 2
# IPv4 only: the hosts' IPv6 router solicitations (sent for ever, with backoff) would
# re-teach an address between fdb-flush and the check that it is forgotten.
for i in 1 2; do
	ip netns exec "$(hns "$i")" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
done
check "a NORMAL bridge loads" bfctl replace-flows "$BR" <(echo 'priority=0,actions=normal')
mac_of() { ip -n "$(hns "$1")" -br link show eth0 | awk '{ print $3 }'; }
mac1=$(mac_of 1)
mac2=$(mac_of 2)
check_eq "ping h1->h2 passes" 3 "$(ping_count 1 10.1.1.2 3)"

out=$(bfctl fdb-show "$BR" 2>&1)
check_eq "fdb-show starts with OVS's heading" " port  VLAN  MAC                Age" "$(head -1 <<<"$out")"
check_re "h1's address is learned on port 1, VLAN 0" "^    1     0  $mac1 +[0-9]+\$" "$(grep "$mac1" <<<"$out")"
check_re "h2's address is learned on port 2" "^    2     0  $mac2 +[0-9]+\$" "$(grep "$mac2" <<<"$out")"
check_eq "the bridge's own permanent addresses are not listed" 2 "$(tail -n +2 <<<"$out" | grep -c .)"

# A port enslaved without brflowctl add-port has no OpenFlow number: its name shows.
# Host 3 has IPv6 off and sends one frame only, so its entry then ages undisturbed.
bf_netns_add "$PFX-h3" || bf_setup_fail "cannot create $PFX-h3"
ip netns exec "$PFX-h3" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$SW" link add x3 type veth peer name eth0 netns "$PFX-h3"
ip -n "$SW" link set x3 master "$BR" up
ip -n "$PFX-h3" link set eth0 up
mac3=$(ip -n "$PFX-h3" -br link show eth0 | awk '{ print $3 }')
ip netns exec "$PFX-h3" timeout 5 python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
s.send(b"\xff" * 6 + mac + b"\x88\xb5" + b"brflow-fdb".ljust(46, b"\0"))
'
check_re "a port outside brflow shows its interface name" "^   x3     0  $mac3 " \
	"$(bfctl fdb-show "$BR" 2>&1 | grep "$mac3")"

# The age is the seconds since the address was last seen: iproute2 prints the same
# figure as the second number of "used A/B".
sleep 3
age=$(bfctl fdb-show "$BR" 2>&1 | awk -v m="$mac3" '$3 == m { print $4 }')
ipr=$(ip netns exec "$SW" bridge -s fdb show br "$BR" 2>/dev/null | grep "^$mac3 " |
	sed -n 's/.* used [0-9]*\/\([0-9]*\).*/\1/p')
check_re "host 3's age counts the 3 s since its frame" '^[2-4]$' "$age"
check "...as iproute2's 'updated' does, within a second ($age against ${ipr:-none})" \
	test -n "$ipr" -a "${age:-99}" -ge $((ipr - 1)) -a "${age:-99}" -le $((ipr + 1))

check_eq "fdb-flush answers as ovs-appctl fdb/flush" "table successfully flushed" \
	"$(bfctl fdb-flush "$BR" 2>&1)"
check_eq "...and h1's address is forgotten" "" "$(bfctl fdb-show "$BR" 2>&1 | grep "$mac1")"
check_eq "the bridge learns again from new traffic" 3 "$(ping_count 1 10.1.1.2 3)"
check_re "...h1 on port 1" "^    1     0  $mac1 " "$(bfctl fdb-show "$BR" 2>&1 | grep "$mac1")"

# brflowctl trace reads the same table: where the bridge sends a packet by its dl_dst,
# and what that does to the output the flows chose.  Raw frames (ethertype 0x88b5)
# check each verdict against the kernel: the host a trace names must get the frame,
# one it says the bridge drops it for must not.
send_frame() { # HOSTNS DSTMAC: one frame from HOSTNS's eth0 to DSTMAC
	ip netns exec "$1" timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
s.send(bytes.fromhex(sys.argv[1].replace(":", "")) + mac + b"\x88\xb5" + b"brflow-trace".ljust(46, b"\0"))
' "$2"
}
sniff_start() { # HOSTNS OUT: counts our frames reaching HOSTNS's eth0 for 3 s into OUT
	rm -f "$2.ready"
	bf_bg "$1" "$2" timeout 10 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind(("eth0", 0))
s.settimeout(0.2)
open(sys.argv[1] + ".ready", "w").close()
end, n = time.time() + 3, 0
while time.time() < end:
    try:
        if b"brflow-trace" in s.recv(2048):
            n += 1
    except socket.timeout:
        pass
print(n)
' "$2"
	wait_until 5 test -e "$2.ready"
}
sniff_count() { # OUT: sets $got to the count, once the sniffer is done
	wait "$BF_LAST" 2>/dev/null
	got=$(cat "$1")
}
verdict() { bfctl trace "$BR" "$1" 2>&1 | sed -n 's/^Verdict: //p'; }
send_frame "$PFX-h3" ff:ff:ff:ff:ff:ff   # host 3 is learned on x3 again

check_eq "trace: NORMAL to h2's address goes out of port 2, where it was learned" \
	"NORMAL, out of port 2 (p2), where the bridge learned dl_dst" \
	"$(verdict "in_port=1,dl_dst=$mac2,dl_type=0x88b5")"
check_re "...and the trace says what the table holds" \
	"the forwarding database has dl_dst $mac2 on port 2 \(p2\), seen [0-9]+ s ago" \
	"$(bfctl trace "$BR" "in_port=1,dl_dst=$mac2,dl_type=0x88b5" 2>&1)"
check_eq "trace: NORMAL to host 3 goes out of x3, which brflow does not manage" \
	"NORMAL, out of interface x3 (not a brflow port), where the bridge learned dl_dst" \
	"$(verdict "in_port=1,dl_dst=$mac3,dl_type=0x88b5")"
sniff_start "$PFX-h3" "$BF_DIR/h3.count"
send_frame "$(hns 1)" "$mac3"
sniff_count "$BF_DIR/h3.count"
	check_eq "...and host 3 gets h1's frame" 1 "$got"
check_eq "trace: h1's own address from port 1 is dropped (no hairpin)" \
	"drop (dl_dst was learned on the input port, port 1 (p1): the bridge sends nothing back out of it)" \
	"$(verdict "in_port=1,dl_dst=$mac1,dl_type=0x88b5")"
bridge_mac=$(ip -n "$SW" -br link show "$BR" | awk '{ print $3 }')
check_eq "trace: the bridge's own address goes up to the host" \
	"NORMAL, up to the host (dl_dst is the bridge's own address)" \
	"$(verdict "in_port=1,dl_dst=$bridge_mac,dl_type=0x88b5")"

check "output:2 for port 1's traffic" bfctl replace-flows "$BR" <(printf '%s\n' \
	'priority=10,in_port=1,actions=output:2' 'priority=0,actions=normal')
check_eq "trace: output:2 to host 3's address is dropped, as the bridge sends it to x3" \
	"drop (the bridge sends it to interface x3 (not a brflow port), not out of port 2 (p2))" \
	"$(verdict "in_port=1,dl_dst=$mac3,dl_type=0x88b5")"
sniff_start "$PFX-h3" "$BF_DIR/h3.count"
send_frame "$(hns 1)" "$mac3"
sniff_count "$BF_DIR/h3.count"
	check_eq "...and host 3 does not get h1's frame" 0 "$got"
check_eq "trace: output:2 to an unknown address is flooded, port 2's copy let out" \
	"output:2 (p2)" "$(verdict "in_port=1,dl_dst=02:00:00:00:00:99,dl_type=0x88b5")"
sniff_start "$(hns 2)" "$BF_DIR/h2.count"
send_frame "$(hns 1)" 02:00:00:00:00:99
sniff_count "$BF_DIR/h2.count"
	check_eq "...and host 2 gets h1's frame" 1 "$got"
check "port 2 no longer takes floods" bfctl mod-port "$BR" 2 no-flood
check_eq "trace: now output:2 to an unknown address is dropped" \
	"drop (port 2 (p2) is NO_FLOOD: the bridge floods nothing to it)" \
	"$(verdict "in_port=1,dl_dst=02:00:00:00:00:99,dl_type=0x88b5")"
sniff_start "$(hns 2)" "$BF_DIR/h2.count"
send_frame "$(hns 1)" 02:00:00:00:00:99
sniff_count "$BF_DIR/h2.count"
	check_eq "...and host 2 does not get h1's frame" 0 "$got"

out=$(bfctl fdb-show nosuch 2>&1)
rc=$?
check_eq "fdb-show of an unknown bridge is one line, exit 1" \
	"brflowctl: fdb-show: no bridge named 'nosuch' 1" "$out $rc"
bf_done
