#!/bin/bash
# dump-flows and dump-aggregate as ovs-ofctl prints them with the OpenFlow version -O
# names: idle_age and hard_age only with OpenFlow 1.0 (the default), the flow_mod flags
# kept with a flow from 1.3 on (reset_counts too on every flow an OpenFlow 1.0 or 1.1 add
# made, as OVS keeps it), importance= from 1.4 on; --no-stats the same without the
# statistics; Nicira's or OpenFlow's aggregate reply.  A modify keeps a flow's flags and
# importance, replace-flows leaves an equal flow's alone and re-adds one whose importance
# changed, and a restart of brflowd keeps them all.
. "$(dirname "$0")/lib.sh"

bf_topology 1
check "add-flow without -O (OpenFlow 1.0)" bfctl add-flow "$BR" \
	"table=1,priority=10,send_flow_rem,importance=7,udp,actions=drop"
check "-O OpenFlow13 add-flow of a flow with no_packet_counts" bfctl -O OpenFlow13 add-flow "$BR" \
	"table=1,priority=20,no_packet_counts,importance=3,tcp,actions=drop"
check "-O OpenFlow13 add-flow of a flow with no flags" bfctl -O OpenFlow13 add-flow "$BR" \
	"table=1,priority=30,icmp,actions=drop"

# line VERSION|- FLOW [OPTION...]: the dump-flows line of FLOW (a pattern) with -O VERSION
line() {
	local v=$1 pat=$2
	shift 2
	if [ "$v" = - ]; then
		bfctl "$@" dump-flows "$BR" "$pat" 2>&1
	else
		bfctl -O "$v" "$@" dump-flows "$BR" "$pat" 2>&1
	fi
}
stats='cookie=0x0, duration=[0-9.]+s, table=1, n_packets=0, n_bytes=0, '
check_re "OpenFlow 1.0 (no -O): idle_age, no flags, no importance" \
	"^ ${stats}idle_age=[0-9]+, priority=10,udp actions=drop\$" "$(line - udp)"
check_re "duration= as OVS prints it: seconds, and no trailing zeros after the point" \
	'^ cookie=0x0, duration=(0|[1-9][0-9]*)(\.[0-9]{0,2}[1-9])?s, table=1' "$(line - udp)"
check_re "-O OpenFlow10 prints the same" \
	"^ ${stats}idle_age=[0-9]+, priority=10,udp actions=drop\$" "$(line OpenFlow10 udp)"
check_re "-O OpenFlow11: no idle_age, no flags" \
	"^ ${stats}priority=10,udp actions=drop\$" "$(line OpenFlow11 udp)"
check_re "-O OpenFlow12: the same" \
	"^ ${stats}priority=10,udp actions=drop\$" "$(line OpenFlow12 udp)"
check_re "-O OpenFlow13: the flags, with the reset_counts OpenFlow 1.0's add implied" \
	"^ ${stats}send_flow_rem reset_counts priority=10,udp actions=drop\$" "$(line OpenFlow13 udp)"
check_re "-O OpenFlow14: importance= after them" \
	"^ ${stats}send_flow_rem reset_counts importance=7, priority=10,udp actions=drop\$" \
	"$(line OpenFlow14 udp)"
check_re "-O OpenFlow15: the same" \
	"^ ${stats}send_flow_rem reset_counts importance=7, priority=10,udp actions=drop\$" \
	"$(line OpenFlow15 udp)"
check_re "-O OpenFlow10,OpenFlow13: the highest version listed" \
	"^ ${stats}send_flow_rem reset_counts priority=10,udp actions=drop\$" \
	"$(line OpenFlow10,OpenFlow13 udp)"
check_re "an OpenFlow 1.3 add implies no reset_counts" \
	"^ ${stats}no_packet_counts importance=3, priority=20,tcp actions=drop\$" "$(line OpenFlow14 tcp)"
check_re "...and a flow without flags prints none" \
	"^ ${stats}priority=30,icmp actions=drop\$" "$(line OpenFlow14 icmp)"
check_eq "--no-stats with -O OpenFlow14: table, flags and importance, no statistics" \
	" table=1, send_flow_rem reset_counts importance=7, priority=10,udp actions=drop" \
	"$(line OpenFlow14 udp --no-stats)"
check_eq "--no-stats without -O: no flags" " table=1, priority=10,udp actions=drop" \
	"$(line - udp --no-stats)"
check_eq "dump-aggregate without -O: Nicira's reply, as ovs-ofctl prints it" \
	"NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=3" \
	"$(bfctl dump-aggregate "$BR" table=1 2>&1)"
check_eq "dump-aggregate -O OpenFlow13: OpenFlow's, naming the version" \
	"OFPST_AGGREGATE reply (OF1.3) (xid=0x2): packet_count=0 byte_count=0 flow_count=3" \
	"$(bfctl -O OpenFlow13 dump-aggregate "$BR" table=1 2>&1)"
check_eq "dump-aggregate -O OpenFlow11" \
	"OFPST_AGGREGATE reply (OF1.1) (xid=0x2): packet_count=0 byte_count=0 flow_count=3" \
	"$(bfctl -O OpenFlow11 dump-aggregate "$BR" table=1 2>&1)"
check "a timed flow with a cookie" bfctl add-flow "$BR" \
	"cookie=0x5,hard_timeout=300,idle_timeout=200,priority=40,sctp,actions=drop"
check_eq "--no-stats -O OpenFlow13: cookie, timeouts, then the flags (table 0 is not printed)" \
	" cookie=0x5, idle_timeout=200, hard_timeout=300, reset_counts priority=40,sctp actions=drop" \
	"$(line OpenFlow13 sctp --no-stats)"

check "mod-flows of the UDP flow, with other flags and importance in its pattern" \
	bfctl -O OpenFlow13 mod-flows "$BR" "table=1,check_overlap,importance=9,udp,actions=normal"
check_re "...keeps its flags and importance, as OVS's modify does" \
	"^ ${stats}send_flow_rem reset_counts importance=7, priority=10,udp actions=NORMAL\$" \
	"$(line OpenFlow14 udp)"
check "-O OpenFlow13 add-flow of it again with check_overlap" bfctl -O OpenFlow13 add-flow "$BR" \
	"table=1,priority=10,check_overlap,udp,actions=normal"
check_re "...takes the add's flags, and no importance" \
	"^ ${stats}check_overlap priority=10,udp actions=NORMAL\$" "$(line OpenFlow14 udp)"

# replace-flows: a flow equal in rule, actions, timeouts and importance is left alone
bfctl --no-stats dump-flows "$BR" | sed 's/^ //' >"$BF_DIR/now.flows"
check "-O OpenFlow13 replace-flows with the same flows, TCP's importance changed" \
	bfctl -O OpenFlow13 replace-flows "$BR" \
	<(sed 's/priority=20,tcp/importance=4,priority=20,tcp/' "$BF_DIR/now.flows")
check_re "...leaves the UDP flow's flags alone" \
	"^ ${stats}check_overlap priority=10,udp actions=NORMAL\$" "$(line OpenFlow14 udp)"
check_re "...and re-adds the TCP flow, with the file's flags (none) and importance" \
	"^ ${stats}importance=4, priority=20,tcp actions=drop\$" "$(line OpenFlow14 tcp)"
check "add-flow of the ICMP flow with reset_counts and no_byte_counts" bfctl add-flow "$BR" \
	"table=1,priority=30,no_byte_counts,reset_counts,importance=65535,icmp,actions=drop"

# a modify with a new cookie that selects no flow adds one, as OVS does, but it is no
# add: no reset_counts is implied
check "mod-flows with a new cookie that selects nothing" bfctl mod-flows "$BR" \
	"cookie=0x9,table=1,priority=60,arp,actions=drop"
check_eq "...adds the flow, without reset_counts" " cookie=0x9, table=1, priority=60,arp actions=drop" \
	"$(line OpenFlow13 arp --no-stats)"
check "a modify line with a new cookie in a flow file" bfctl add-flows "$BR" \
	<(echo "modify cookie=0xa,table=1,priority=61,ipv6,actions=drop")
check_eq "...the same" " cookie=0xa, table=1, priority=61,ipv6 actions=drop" \
	"$(line OpenFlow13 ipv6 --no-stats)"
check "an add line in a flow file" bfctl add-flows "$BR" \
	<(echo "add table=1,priority=62,arp,actions=drop")
check_re "...implies it" " table=1, reset_counts priority=62,arp actions=drop" \
	"$(line OpenFlow13 arp --no-stats)"

# restarts: the state file keeps the flags and importance
before=$(bfctl -O OpenFlow14 --no-stats dump-flows "$BR" 2>&1)
check_re "the ICMP flow's flags print in ovs-ofctl's order" \
	" table=1, reset_counts no_byte_counts importance=65535, priority=30,icmp actions=drop" "$before"
check "brflowd exits on SIGTERM" bf_daemon_stop
check_eq "the state file keeps the flags and importance" 1 \
	"$(grep -c '^flow [0-9]* [0-9/]* table=1,reset_counts,no_byte_counts,importance=65535,priority=30,icmp ' \
		"$BF_DIR/state/br0.bridge" 2>&1)"
bf_start_again
check_eq "after a restart the dump is the same" "$before" \
	"$(bfctl -O OpenFlow14 --no-stats dump-flows "$BR" 2>&1)"
# check_overlap is a request of the add that carries it, kept only to be printed
check "...and a flow overlapping the check_overlap flow, added without the flag, loads" \
	bfctl add-flows "$BR" <(echo "table=1,priority=10,ip,actions=drop")
bf_done
