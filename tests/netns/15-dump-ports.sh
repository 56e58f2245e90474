#!/bin/bash
# dump-ports prints the kernel's counters of the bridge's ports in ovs-ofctl's format:
# each figure must be the interface's own counter (read between two dumps, so it lies
# between them), LOCAL (the bridge device) with rx and tx swapped as Open vSwitch swaps
# its internal port's, one port by number, name or LOCAL, and '?' for a port whose
# interface is gone.  show describes each port as ovs-ofctl show does (address,
# PORT_DOWN, LINK_DOWN), show BR that bridge alone, and dump-ports-desc the same under
# ovs-ofctl's heading.  list-br, list-ports, br-exists and port-to-br answer as
# ovs-vsctl's do, and so do --may-exist add-port and --if-exists del-br and del-port.
# With -O OpenFlow13, the replies name the version and each port has a duration.
. "$(dirname "$0")/lib.sh"

bf_topology 2
check "a flow that forwards everything loads" bfctl add-flow "$BR" "actions=normal"

out=$(bfctl dump-ports "$BR" 2>&1)
check_eq "dump-ports names 3 ports (1, 2 and LOCAL)" "OFPST_PORT reply (xid=0x2): 3 ports" \
	"$(head -1 <<<"$out")"
check_re "a port's lines are ovs-ofctl's" \
	'  port  1: rx pkts=[0-9]+, bytes=[0-9]+, drop=[0-9]+, errs=[0-9]+, frame=[0-9]+, over=[0-9]+, crc=[0-9]+
           tx pkts=[0-9]+, bytes=[0-9]+, drop=[0-9]+, errs=[0-9]+, coll=[0-9]+' "$out"
check_eq "ports come in port order, LOCAL last" "1 2 LOCAL" \
	"$(grep -o '^  port *[0-9A-Z]*' <<<"$out" | awk '{ print $2 }' | tr '\n' ' ' | sed 's/ $//')"

# 30 broadcast datagrams from h1: the bridge floods them to p2 and to its own device
ip netns exec "$(hns 1)" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for _ in range(30):
    s.sendto(b"brflow-dump-ports", ("10.1.1.255", 9))
'

# counter PORT DIR FIELD: one figure of dump-ports for PORT ("1", "LOCAL"), DIR rx or tx
counter() {
	bfctl dump-ports "$BR" "$1" 2>&1 | grep -A1 '^  port' | sed -n "$([ "$2" = rx ] && echo 1 || echo 2)p" |
		grep -o "$3=[0-9?]*" | cut -d= -f2
}
# kernel IFACE FILE: the interface's own counter, /sys/class/net/IFACE/statistics/FILE
kernel() { ip netns exec "$SW" cat "/sys/class/net/$1/statistics/$2"; }
# between NAME PORT DIR FIELD IFACE FILE: dump-ports, the kernel, dump-ports again
between() {
	local a k b
	a=$(counter "$2" "$3" "$4")
	k=$(kernel "$5" "$6")
	b=$(counter "$2" "$3" "$4")
	if [[ $a =~ ^[0-9]+$ && $k =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] && [ "$a" -le "$k" ] && [ "$k" -le "$b" ]; then
		ok "$1"
	else
		not_ok "$1" "dump-ports $2 $3 $4 read $a then $b, the kernel's $5 $6 $k"
	fi
}
between "port 1 rx pkts is p1's rx_packets" 1 rx pkts p1 rx_packets
between "port 1 rx bytes is p1's rx_bytes" 1 rx bytes p1 rx_bytes
between "port 2 tx pkts is p2's tx_packets" 2 tx pkts p2 tx_packets
between "port 2 tx bytes is p2's tx_bytes" 2 tx bytes p2 tx_bytes
between "LOCAL tx pkts is the bridge device's rx_packets (swapped)" LOCAL tx pkts "$BR" rx_packets
between "LOCAL rx pkts is the bridge device's tx_packets (swapped)" LOCAL rx pkts "$BR" tx_packets
check_gt "port 1 received the 30 datagrams" "$(counter 1 rx pkts)" 29
check_gt "the flood reached LOCAL: its tx counts them" "$(counter LOCAL tx pkts)" 29

out=$(bfctl dump-ports "$BR" 2 2>&1)
check_eq "dump-ports BR 2 prints port 2 alone" "OFPST_PORT reply (xid=0x2): 1 ports|  port  2" \
	"$(head -1 <<<"$out")|$(grep '^  port' <<<"$out" | cut -c1-9)"
check_eq "a port by interface name" "  port  1" "$(bfctl dump-ports "$BR" p1 2>&1 | sed -n 2p | cut -c1-9)"
check_eq "LOCAL by name" "  port LOCAL" "$(bfctl dump-ports "$BR" LOCAL 2>&1 | sed -n 2p | cut -c1-12)"
check_eq "a port the bridge does not have is named" "brflowctl: dump-ports: no port '9' on bridge 'br0'" \
	"$(bfctl dump-ports "$BR" 9 2>&1)"

# with -O, as ovs-ofctl: the reply names the version, and from OpenFlow 1.3 on each port
# has a duration, since add-port or add-br (LOCAL) or since brflowd started
sleep 1
out=$(bfctl -O OpenFlow13 dump-ports "$BR" 2>&1)
check_eq "-O OpenFlow13 dump-ports: the version in the reply line" \
	"OFPST_PORT reply (OF1.3) (xid=0x2): 3 ports" "$(head -1 <<<"$out")"
check_eq "...and a duration= line after each port's tx line, as OVS prints durations" 3 \
	"$(grep -A1 '^           tx ' <<<"$out" | grep -cE '^           duration=[1-9][0-9]*(\.[0-9]{0,2}[1-9])?s$')"
out=$(bfctl -O OpenFlow12 dump-ports "$BR" 2>&1)
check_eq "-O OpenFlow12: the version, no durations" "OFPST_PORT reply (OF1.2) (xid=0x2): 3 ports 0" \
	"$(head -1 <<<"$out") $(grep -c duration= <<<"$out")"
check_eq "-O OpenFlow13 dump-ports-desc names the version" "OFPST_PORT_DESC reply (OF1.3) (xid=0x2):" \
	"$(bfctl -O OpenFlow13 dump-ports-desc "$BR" 2>&1 | head -1)"
# duration SECONDS-OF PORT: port's duration in whole seconds, -O OpenFlow13
duration() { bfctl -O OpenFlow13 dump-ports "$BR" "$1" 2>&1 | sed -n 's/^           duration=\([0-9]*\).*/\1/p'; }
ip -n "$SW" link add p7 type veth peer name p7b
check "a port added now" bfctl add-port "$BR" p7 ofport=7
sleep 2
young=$(duration 7) old=$(duration 1)
check_gt "...has a duration" "$young" 1
check_gt "...shorter than port 1's, added with the topology" "$old" "$young"
check "del-port of it" bfctl del-port "$BR" p7
check "brflowd exits on SIGTERM" bf_daemon_stop
bf_start_again
check_gt "after a restart port 1 counts from the start, as OVS's ports do" "$old" "$(duration 1)"

# show describes each port as ovs-ofctl show does: address, config, state.
# desc PORT: the three lines of PORT ("1(p1)", "LOCAL(br0)") in show, joined by '|'
desc() { bfctl show 2>&1 | grep -A2 -F " $1: " | tr '\n' '|' | sed 's/|$//'; }
mac_p1=$(ip -n "$SW" -br link show p1 | awk '{ print $3 }')
check_eq "show: port 1 with p1's address, up, with a carrier" \
	" 1(p1): addr:$mac_p1|     config:     0|     state:      0" "$(desc '1(p1)')"
mac_br=$(ip -n "$SW" -br link show "$BR" | awk '{ print $3 }')
check_eq "show: LOCAL is the bridge device" " LOCAL($BR): addr:$mac_br|     config:     0|     state:      0" \
	"$(desc "LOCAL($BR)")"
# dump-ports-desc prints the same descriptions under ovs-ofctl's heading, by port.
check_eq "dump-ports-desc: OVS's heading, ports 1, 2 and LOCAL as show describes them" \
	"OFPST_PORT_DESC reply (xid=0x2):|$(desc '1(p1)')|$(desc '2(p2)')|$(desc "LOCAL($BR)")" \
	"$(bfctl dump-ports-desc "$BR" 2>&1 | tr '\n' '|' | sed 's/|$//')"
check "port 1 takes no floods" bfctl mod-port "$BR" 1 no-flood
check_eq "dump-ports-desc BR p1: port 1 alone, NO_FLOOD in its config" \
	"OFPST_PORT_DESC reply (xid=0x2):| 1(p1): addr:$mac_p1|     config:     NO_FLOOD|     state:      0" \
	"$(bfctl dump-ports-desc "$BR" p1 2>&1 | tr '\n' '|' | sed 's/|$//')"
check "port 1 floods again" bfctl mod-port "$BR" 1 flood
check_eq "dump-ports-desc BR LOCAL: the bridge device" \
	"OFPST_PORT_DESC reply (xid=0x2):|$(desc "LOCAL($BR)")" \
	"$(bfctl dump-ports-desc "$BR" LOCAL 2>&1 | tr '\n' '|' | sed 's/|$//')"
out=$(bfctl dump-ports-desc "$BR" 9 2>&1)
rc=$?
check_eq "dump-ports-desc of a port the bridge lacks: one line, exit 1" \
	"brflowctl: dump-ports-desc: no port '9' on bridge 'br0' 1" "$out $rc"

# show BR, as ovs-ofctl show BR: that bridge alone (a second bridge, br9, shows it)
check "a second bridge" bfctl add-br br9
bridges_shown() { bfctl show "$@" 2>&1 | grep -E '^[^ ].*:$' | grep -v '^kernel features:$\|^mechanisms:$' | tr '\n' ' '; }
check_eq "show lists both bridges" "$BR: br9: " "$(bridges_shown)"
check_eq "show $BR lists $BR alone" "$BR: " "$(bridges_shown "$BR")"
check_eq "show br9 lists br9 alone" "br9: " "$(bridges_shown br9)"
check_eq "...with its LOCAL port" " LOCAL(br9)" "$(bfctl show br9 2>&1 | grep -o '^ LOCAL(br9)')"
check_eq "...and the kernel features still" "kernel features:" "$(bfctl show br9 2>&1 | grep '^kernel features:$')"
out=$(bfctl show nosuch 2>&1)
rc=$?
check_eq "show of a bridge brflowd lacks: one line, exit 1" \
	"brflowctl: show: no bridge named 'nosuch' 1" "$out $rc"
# ovs-vsctl's queries
check_eq "list-br: both bridges, sorted, one a line" "$BR|br9" "$(bfctl list-br 2>&1 | tr '\n' '|' | sed 's/|$//')"
check_eq "list-ports $BR: its interfaces, sorted, without the bridge device" "p1|p2" \
	"$(bfctl list-ports "$BR" 2>&1 | tr '\n' '|' | sed 's/|$//')"
check_eq "list-ports br9: none" "" "$(bfctl list-ports br9 2>&1)"
check_eq "br-exists br9: silent, exit 0" " 0" "$(bfctl br-exists br9 2>&1) $?"
check_eq "br-exists nosuch: silent, exit 2" " 2" "$(bfctl br-exists nosuch 2>&1) $?"
check_eq "port-to-br p2" "$BR" "$(bfctl port-to-br p2 2>&1)"
check_eq "iface-to-br p1" "$BR" "$(bfctl iface-to-br p1 2>&1)"
out=$(bfctl port-to-br nosuch 2>&1)
rc=$?
check_eq "port-to-br of an interface no bridge has: one line, exit 1" \
	"brflowctl: port-to-br: no port named 'nosuch' 1" "$out $rc"
check_eq "add-port of a port the bridge has is an error" \
	"brflowctl: add-port: port 'p1' already exists on bridge '$BR'" "$(bfctl add-port "$BR" p1 2>&1)"
check "...but not with --may-exist, as ovs-vsctl" bfctl --may-exist add-port "$BR" p1
check_eq "...which changed nothing" "p1|p2" "$(bfctl list-ports "$BR" 2>&1 | tr '\n' '|' | sed 's/|$//')"
check_eq "--may-exist does not move a port from another bridge" \
	"brflowctl: add-port: 'p1' is already a port of bridge '$BR'" \
	"$(bfctl --may-exist add-port br9 p1 2>&1)"
check_fails "del-port of a port the bridge lacks is an error" bfctl del-port "$BR" nosuch
check "...but not with --if-exists" bfctl --if-exists del-port "$BR" nosuch
check "...nor del-port IFACE alone" bfctl --if-exists del-port nosuch
check_fails "del-br of a bridge brflowd lacks is an error" bfctl del-br nosuch
check "...but not with --if-exists" bfctl --if-exists del-br nosuch
check "del-br br9" bfctl del-br br9
check_eq "list-br after del-br br9" "$BR" "$(bfctl list-br 2>&1)"
check_eq "br-exists br9 now exits 2" " 2" "$(bfctl br-exists br9 2>&1) $?"

ip -n "$(hns 2)" link set eth0 down
check_re "show: the far end down, port 2 has no carrier" \
	'^ 2\(p2\): addr:[0-9a-f:]{17}\|     config:     0\|     state:      LINK_DOWN$' "$(desc '2(p2)')"
ip -n "$SW" link set p2 down
check_re "show: p2 set down is PORT_DOWN" \
	'^ 2\(p2\): addr:[0-9a-f:]{17}\|     config:     PORT_DOWN\|     state:      LINK_DOWN$' "$(desc '2(p2)')"

ip -n "$SW" link del p2
check_eq "show: a port whose interface is gone" " 2(p2): (no such interface)" \
	"$(bfctl show 2>&1 | grep -F ' 2(p2)')"
check_eq "dump-ports-desc: the same" " 2(p2): (no such interface)" \
	"$(bfctl dump-ports-desc "$BR" 2 2>&1 | tail -1)"
check_eq "dump-ports: a port whose interface is gone prints '?'" \
	"  port  2: rx pkts=?, bytes=?, drop=?, errs=?, frame=?, over=?, crc=?|           tx pkts=?, bytes=?, drop=?, errs=?, coll=?" \
	"$(bfctl dump-ports "$BR" 2 2>&1 | tail -2 | tr '\n' '|' | sed 's/|$//')"
bf_done
