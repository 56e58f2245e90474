#!/bin/bash
# fdb-show and fdb-flush, as ovs-appctl fdb/show and fdb/flush: the MAC addresses the
# Linux bridge learned, one line per port in OVS's format (OpenFlow port number, VLAN,
# address, age in seconds), checked against each host's own address and iproute2's
# view of the same entries; a port not added with add-port shows its interface name.
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

out=$(bfctl fdb-show nosuch 2>&1)
rc=$?
check_eq "fdb-show of an unknown bridge is one line, exit 1" \
	"brflowctl: fdb-show: no bridge named 'nosuch' 1" "$out $rc"
bf_done
