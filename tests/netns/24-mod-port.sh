#!/bin/bash
# mod-port BR PORT ACTION as ovs-ofctl's: no-receive drops what a port receives and
# no-forward what would leave by it, whatever the flows say (the ruleset); no-flood keeps
# the bridge's floods (broadcast, unknown unicast) off a port while known unicast still
# reaches it (the bridge port's flood flags); down/up is the link.  show prints the bits
# by OVS's names; they survive a restart (and are put back into the kernel), except that a
# port brought up by hand while brflowd runs stays up; del-port +
# add-port starts again from 0.  On LOCAL (the bridge device) receive and forward apply
# to the host's traffic; down, flood, stp, packet-in and unknown words are refused.
. "$(dirname "$0")/lib.sh"

bf_topology 3
bf_flows_check "the flows load" mod-port.flows
# hosts 2 and 3 answer pings to the broadcast address (the flood test below)
for i in 2 3; do
	ip netns exec "$(hns "$i")" sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
done

# config PORT: the config line of PORT ("1(p1)") in show
config() { bfctl show 2>&1 | grep -A1 -F " $1: " | sed -n 's/^     config: *//p'; }
# trace_of PACKET: brflowctl trace of PACKET on the bridge
trace_of() { bfctl trace "$BR" "$1" 2>&1; }
ping_ok "all ports forward: h1->h2" 1 10.1.1.2
ping_ok "all ports forward: h2->h3" 2 10.1.1.3
check_eq "show: config 0 by default" "0" "$(config '1(p1)')"

check "mod-port no-receive on port 1" bfctl mod-port "$BR" 1 no-receive
check_eq "show: port 1 is NO_RECV" "NO_RECV" "$(config '1(p1)')"
check_eq "trace: what port 1 receives stops before any table" "Verdict: drop (port 1 (p1) is NO_RECV)" \
	"$(trace_of in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2 | grep '^Verdict:')"
ping_blocked "no-receive: h1's pings stop" 1 10.1.1.2
ping_blocked "no-receive: nothing h1 answers comes back" 3 10.1.1.1
ping_ok "no-receive: h2 and h3 still talk" 2 10.1.1.3
check "mod-port receive by interface name" bfctl mod-port "$BR" p1 receive
check_eq "show: port 1 back to 0" "0" "$(config '1(p1)')"
ping_ok "receive: h1's pings pass again" 1 10.1.1.2

check "mod-port no-forward on port 2" bfctl mod-port "$BR" 2 no-forward
check_eq "show: port 2 is NO_FWD" "NO_FWD" "$(config '2(p2)')"
check_re "trace: NORMAL never uses port 2" "never out of port 2 \(p2\): it is NO_FWD" \
	"$(trace_of in_port=1,icmp,icmp_type=8,nw_src=10.1.1.1,nw_dst=10.1.1.2)"
ping_blocked "no-forward: nothing reaches h2 from h1" 1 10.1.1.2
ping_blocked "no-forward: nothing reaches h2 from h3" 3 10.1.1.2
ping_ok "no-forward: h1 and h3 still talk" 1 10.1.1.3
check "mod-port forward" bfctl mod-port "$BR" 2 forward
ping_ok "forward: h1 reaches h2 again" 1 10.1.1.2

# bcast_from N: which hosts answer h1's pings to 10.1.1.255 (e.g. "2 3")
bcast_from() {
	ip netns exec "$(hns 1)" timeout 10 ping -4 -n -b -c 3 -i 0.3 -W 1 10.1.1.255 2>/dev/null |
		sed -n 's/.* from 10\.1\.1\.\([0-9]*\):.*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
check_eq "broadcast pings from h1 reach h2 and h3" "2 3" "$(bcast_from)"
# From here h3 must stay silent unless it answers: static neighbours (no ARP), and no
# IPv6, whose router solicitations go on for ever with backoff and would teach the
# bridge h3's MAC in the middle of the unknown-unicast check below.
neigh_static 1 10.1.1.3 3
neigh_static 3 10.1.1.1 1
ip netns exec "$(hns 3)" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
check "mod-port no-flood on port 3" bfctl mod-port "$BR" p3 no-flood
check_eq "show: port 3 is NO_FLOOD" "NO_FLOOD" "$(config '3(p3)')"
check_re "trace: NORMAL floods port 3 no more" "out of port 3 \(p3\) only as known unicast" \
	"$(trace_of in_port=1,icmp,icmp_type=8,nw_src=10.1.1.1,nw_dst=10.1.1.3)"
check_re "the kernel's flood flags of p3 are off" "flood off .*mcast_flood off .*bcast_flood off" \
	"$(ip -n "$SW" -d link show p3)"
check_eq "no-flood: broadcast from h1 reaches h2 only" "2" "$(bcast_from)"
ping_ok "no-flood: known unicast still reaches h3" 1 10.1.1.3
check "fdb-flush" bfctl fdb-flush "$BR"
check_fails "fdb-flush: h3's MAC is unknown" bash -c "$BRFLOWCTL fdb-show $BR | grep -qi -- '$(host_mac 3)'"
ping_blocked "no-flood: unicast to h3's unknown MAC is not flooded to port 3" 1 10.1.1.3
ping_ok "no-flood: once h3 speaks it is known" 3 10.1.1.1
check "mod-port flood" bfctl mod-port "$BR" 3 flood
check_eq "flood: broadcast from h1 reaches h2 and h3 again" "2 3" "$(bcast_from)"

check "mod-port down on port 2" bfctl mod-port "$BR" 2 down
check_eq "show: port 2 is PORT_DOWN and LINK_DOWN" "PORT_DOWN|LINK_DOWN" \
	"$(bfctl show 2>&1 | grep -A2 -F ' 2(p2): ' | sed -n 's/^     [a-z]*: *//p' | tr '\n' '|' | sed 's/|$//')"
check_fails "down: p2 is administratively down" bash -c "ip -n $SW link show p2 | grep -q '[<,]UP[,>]'"
ping_blocked "down: h1 cannot reach h2" 1 10.1.1.2
check "mod-port up on port 2" bfctl mod-port "$BR" 2 up
check_eq "show: port 2 is 0 again" "0" "$(config '2(p2)')"
wait_until 5 bash -c "ip -n $SW link show p2 | grep -q LOWER_UP"
ping_ok "up: h1 reaches h2 again" 1 10.1.1.2
check_eq "trace: port 2 is used again once up" "" \
	"$(trace_of in_port=1,icmp,icmp_type=8,nw_src=10.1.1.1,nw_dst=10.1.1.2 | grep -F 'port 2 (p2)')"
# the trace, as show, takes the link's state from the kernel, whoever set it
ip -n "$SW" link set p2 down
check_re "trace: a port taken down by hand is never used" "never out of port 2 \(p2\): it is down" \
	"$(trace_of in_port=1,icmp,icmp_type=8,nw_src=10.1.1.1,nw_dst=10.1.1.2)"
ip -n "$SW" link set p2 up
wait_until 5 bash -c "ip -n $SW link show p2 | grep -q LOWER_UP"

# LOCAL, the bridge device (10.1.1.254 here): only receive and forward apply
ip -n "$SW" addr add 10.1.1.254/24 dev "$BR"
ping_ok "LOCAL: h1 reaches the bridge's own address" 1 10.1.1.254
check "mod-port LOCAL no-forward" bfctl mod-port "$BR" LOCAL no-forward
check_eq "show: LOCAL is NO_FWD" "NO_FWD" "$(config "LOCAL($BR)")"
ping_blocked "LOCAL no-forward: nothing goes up to the host" 1 10.1.1.254
ping_ok "LOCAL no-forward: h1 and h2 still talk" 1 10.1.1.2
check "mod-port br0 forward (LOCAL by the bridge's name)" bfctl mod-port "$BR" "$BR" forward
ping_ok "LOCAL forward: h1 reaches the host again" 1 10.1.1.254
check "mod-port LOCAL no-receive" bfctl mod-port "$BR" LOCAL no-receive
ping_blocked "LOCAL no-receive: the host's answers do not leave" 1 10.1.1.254
check "mod-port LOCAL receive" bfctl mod-port "$BR" LOCAL receive
ping_ok "LOCAL receive: the host answers again" 1 10.1.1.254
check_re "LOCAL down is refused, saying why" \
	"^brflowctl: mod-port: 'down' on port LOCAL is not supported: .*would stop the whole bridge$" \
	"$(bfctl mod-port "$BR" LOCAL down 2>&1)"
check "LOCAL no-forward for the restart" bfctl mod-port "$BR" LOCAL no-forward

# restart: the bits stay, and are put back into the kernel if someone changed it
check "no-receive on port 1 again" bfctl mod-port "$BR" 1 no-receive
check "no-flood and down on port 3" bash -c "$BRFLOWCTL mod-port $BR 3 no-flood && $BRFLOWCTL mod-port $BR 3 down"
check "no-forward on port 3" bfctl mod-port "$BR" 3 no-forward
rules0=$(nft_snapshot)
check "brflowd stops" bf_daemon_stop
ip -n "$SW" link set p3 up
ip -n "$SW" link set p3 type bridge_slave flood on mcast_flood on bcast_flood on
check "brflowd starts again" bf_daemon_start
check_eq "restart: show keeps port 1 NO_RECV" "NO_RECV" "$(config '1(p1)')"
check_eq "restart: show keeps LOCAL NO_FWD" "NO_FWD" "$(config "LOCAL($BR)")"
check_eq "restart: port 3 is down again, with its bits" "PORT_DOWN NO_FLOOD NO_FWD" "$(config '3(p3)')"
check_re "restart: p3's flood flags are off again" "flood off .*mcast_flood off .*bcast_flood off" \
	"$(ip -n "$SW" -d link show p3)"
ping_blocked "restart: no-receive still holds for h1" 1 10.1.1.2
check_eq "restart: the ruleset is the same" "$rules0" "$(nft_snapshot)"
# a port brought up by hand while brflowd runs stays up over a restart
ip -n "$SW" link set p3 up
check_eq "show: p3 brought up by hand is no longer PORT_DOWN" "NO_FLOOD NO_FWD" "$(config '3(p3)')"
check "brflowd stops again" bf_daemon_stop
check_re "...and logs that p3 starts up next time" "port p3 was brought up since mod-port down" \
	"$(cat "$BF_DIR/daemon.log")"
check "brflowd starts again, a second time" bf_daemon_start
check "p3 is still up" bash -c "ip -n $SW link show p3 | grep -q '[<,]UP[,>]'"
check_eq "show: port 3 keeps its other bits" "NO_FLOOD NO_FWD" "$(config '3(p3)')"
check_eq "the ruleset is still the same" "$rules0" "$(nft_snapshot)"

check "del-port p3" bfctl del-port "$BR" p3
check "add-port p3" bfctl add-port "$BR" p3 ofport=3
check_eq "add-port again: port 3 starts from 0" "0" "$(config '3(p3)')"
check_re "add-port again: p3 floods" "flood on .*mcast_flood on .*bcast_flood on" \
	"$(ip -n "$SW" -d link show p3)"
wait_until 5 bash -c "ip -n $SW link show p3 | grep -q LOWER_UP"
ping_ok "add-port again: h2 reaches h3" 2 10.1.1.3

check_eq "stp is refused" "brflowctl: mod-port: 'no-stp' is not supported: brflow has no spanning tree control (the Linux bridge runs STP itself)" \
	"$(bfctl mod-port "$BR" 1 no-stp 2>&1)"
check_eq "packet-in is refused" "brflowctl: mod-port: 'packet-in' is not supported: brflow has no OpenFlow controller" \
	"$(bfctl mod-port "$BR" 1 packet-in 2>&1)"
check_re "an unknown action is named" "^brflowctl: mod-port: unknown action 'sideways' \(" \
	"$(bfctl mod-port "$BR" 1 sideways 2>&1)"
check_eq "an unknown port is named" "brflowctl: mod-port: no port '9' on bridge 'br0'" \
	"$(bfctl mod-port "$BR" 9 down 2>&1)"
check_eq "LOCAL no-flood is refused, saying why" \
	"brflowctl: mod-port: 'no-flood' on port LOCAL is not supported: the Linux bridge has no flood flags for its own device" \
	"$(bfctl mod-port "$BR" LOCAL no-flood 2>&1)"
check_eq "a refused action changes nothing" "NO_RECV" "$(config '1(p1)')"
bf_done
