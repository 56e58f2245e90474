#!/bin/bash
# note:HEX, a comment among the actions, as in OVS: it does nothing to the packet,
# dump-flows prints it zero-padded as ovs-ofctl does, trace lists it, diff-flows and
# mod-flows see it, and it survives a restart of brflowd.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/notes.flows" <<'FLOWS'
priority=10,arp,actions=note:617270,normal
priority=5,in_port=1,icmp,actions=note:70.69.6e.67,output:2,note
priority=5,in_port=2,icmp,actions=output:1
FLOWS
check "flows with notes load" bfctl replace-flows "$BR" "$BF_DIR/notes.flows"
ping_ok "pings pass the flows that carry notes" 1 10.1.1.2
check_gt "the noted output flow counted them" "$(flow_packets 'icmp,in_port=1')" 0
check_eq "dump-flows prints the notes zero-padded, in place, as ovs-ofctl does" \
	" priority=10,arp actions=note:61.72.70.00.00.00,NORMAL
 priority=5,icmp,in_port=1 actions=note:70.69.6e.67.00.00,output:2,note:00.00.00.00.00.00
 priority=5,icmp,in_port=2 actions=output:1" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
check_eq "diff-flows finds the file the notes came from the same" "" \
	"$(bfctl diff-flows "$BR" "$BF_DIR/notes.flows" 2>&1)"
check_eq "... and a changed note a difference" \
	"-priority=10,arp actions=note:61.72.70.00.00.00,NORMAL
+priority=10,arp actions=note:61.72.71.00.00.00,NORMAL" \
	"$(sed 's/note:617270/note:617271/' "$BF_DIR/notes.flows" | bfctl diff-flows "$BR" - 2>&1)"
check_re "trace lists the notes where they stand among the actions, as ofproto/trace does" \
	'0\. icmp,in_port=1, priority 5\|    note:70\.69\.6e\.67\.00\.00\|    output:2\|.*\|    note:00\.00\.00\.00\.00\.00\|' \
	"$(bfctl --no-names trace "$BR" in_port=1,icmp 2>&1 | tr '\n' '|')"
check "mod-flows replaces a flow's notes with its new actions" \
	bfctl mod-flows "$BR" 'in_port=1,icmp,actions=output:2,note:ff'
check_re "dump-flows shows the new note" 'in_port=1 actions=output:2,note:ff\.00\.00\.00\.00\.00$' \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1 | grep in_port=1)"
check_re "a bad hex digit is refused, naming the note" "bad hex digit in note 'fg'" \
	"$(bfctl add-flow "$BR" 'priority=1,actions=note:fg' 2>&1)"

flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
bf_restart
check_eq "the notes survive the restart" "$flows0" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
ping_ok "pings still pass" 1 10.1.1.2

bf_done
