#!/bin/bash
# Registers come back from a resubmit, as in OVS: table 1 loads reg3 on every path,
# and table 2, run after it, lets h1's pings through only when it sees that value
# (also copied into reg4 by a move after the resubmit).  A table that loads reg3 on
# some paths only leaves its value unknown to brflow: the flow set that reads it
# after the resubmit is refused in one line, and the kernel keeps the last good one.
# output:NXM_NX_REG2[0..15] sends pings out of the port a register holds, and
# write_metadata tags them for the next table.  A DSCP a resubmitted table writes
# comes back too: the zone table 2 chooses by it is the one conntrack uses, and
# a DSCP written on some paths only is refused where the zone depends on it.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/regs.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=10,in_port=2,actions=normal
priority=5,in_port=1,ip,actions=resubmit(,1),move:NXM_NX_REG3[]->NXM_NX_REG4[],resubmit(,2)
table=1,priority=10,ip,actions=load:7->NXM_NX_REG3[]
table=2,priority=10,reg3=7,reg4=7,icmp,actions=output:2
table=2,priority=0,actions=drop
FLOWS
check "flows reading registers a resubmitted table loaded load" \
	bfctl replace-flows "$BR" "$BF_DIR/regs.flows"
ping_ok "h1's pings pass table 2's reg3=7,reg4=7 flow" 1 10.1.1.2
check_gt "the output flow counted them" "$(flow_packets 'table=2,' 'reg3=0x7')" 0
check_re "trace agrees: table 2 sees reg3=0x7" 'Verdict: output:2' \
	"$(bfctl --no-names trace "$BR" in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2 2>&1)"

sed 's/^table=1,priority=10,ip,/table=1,priority=10,icmp,icmp_type=8,/' "$BF_DIR/regs.flows" >"$BF_DIR/regs-vary.flows"
out=$(bfctl replace-flows "$BR" "$BF_DIR/regs-vary.flows" 2>&1)
check_eq "reading a register a table loads on some paths only is refused" 1 "$?"
check_re "the refusal names the register and the flow" \
	"reg3 depends on which flow matched in a table resubmitted to earlier on the path" "$out"
check_eq "... in one line" 1 "$(printf '%s\n' "$out" | wc -l)"
ping_ok "the kernel kept the last good flows: pings still pass" 1 10.1.1.2

# output:REG: the port a register holds, here one table 1 loaded and handed back
cat >"$BF_DIR/outreg.flows" <<'FLOWS'
priority=10,arp,actions=normal
in_port=1,ip,actions=resubmit(,1),output:NXM_NX_REG2[0..15]
in_port=2,ip,actions=load:1->NXM_NX_REG2[0..15],output:NXM_NX_REG2[0..15]
table=1,ip,actions=load:2->NXM_NX_REG2[0..15]
FLOWS
check "flows that output to the port a register holds load" \
	bfctl replace-flows "$BR" "$BF_DIR/outreg.flows"
ping_ok "pings go out of the ports reg2 names, both ways" 1 10.1.1.2
check_re "dump-flows prints output:NXM_NX_REG2[0..15]" \
	'in_port=1 actions=resubmit\(,1\),output:NXM_NX_REG2\[0\.\.15\]' \
	"$(bfctl --no-stats --no-names dump-flows "$BR" 2>&1)"

# write_metadata, OpenFlow 1.1's instruction: table 0 tags each port, table 1 decides
cat >"$BF_DIR/metadata.flows" <<'FLOWS'
priority=10,arp,actions=normal
in_port=1,ip,actions=write_metadata:0x1/0xff,goto_table:1
in_port=2,ip,actions=write_metadata:0x2,goto_table:1
table=1,metadata=0x1/0xff,ip,actions=output:2
table=1,metadata=0x2,ip,actions=output:1
FLOWS
check "write_metadata flows load" bfctl replace-flows "$BR" "$BF_DIR/metadata.flows"
ping_ok "pings pass by the metadata table 0 wrote" 1 10.1.1.2
check_gt "table 1's metadata=0x1/0xff flow counted them" \
	"$(flow_packets 'table=1,' 'metadata=0x1/0xff')" 2


# Header fields come back too: table 1 writes DSCP 32, and table 2 chooses the
# conntrack zone by it.  The zone is decided before conntrack, by tables that write
# nothing, so they must know the value table 1 hands back: zone 5, not the zone 6
# that h1's unmarked pings would choose.
cat >"$BF_DIR/dscp.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=5,ip,actions=resubmit(,1),resubmit(,2)
table=1,priority=10,ip,actions=mod_nw_tos:32
table=2,priority=10,ip,nw_tos=0,actions=ct(zone=6,table=3)
table=2,priority=5,ip,nw_tos=32,actions=ct(zone=5,table=3)
table=3,priority=10,ct_state=+trk+new,ip,actions=ct(commit,zone=5),normal
table=3,priority=10,ct_state=+trk+est,ip,actions=normal
FLOWS
check "flows choosing the zone by a DSCP a resubmitted table writes load" \
	bfctl replace-flows "$BR" "$BF_DIR/dscp.flows"
bfctl flush-conntrack >/dev/null 2>&1
ping_ok "h1's pings pass, committed in the zone of the DSCP table 1 wrote" 1 10.1.1.2
ct=$(ct_dump 2>&1)
check_eq "conntrack holds the pings in zone 5" 1 "$(grep -c '^icmp,.*src=10.1.1.1,dst=10.1.1.2,.*zone=5' <<<"$ct")"
check_eq "... and none in zone 6" 0 "$(grep -c 'zone=6' <<<"$ct")"
sed 's/^table=1,priority=10,ip,/table=1,priority=10,icmp,icmp_type=8,/' "$BF_DIR/dscp.flows" >"$BF_DIR/dscp-vary.flows"
out=$(bfctl replace-flows "$BR" "$BF_DIR/dscp-vary.flows" 2>&1)
check_eq "choosing the zone by a DSCP written on some paths only is refused" 1 "$?"
check_re "the refusal names the field" "nw_tos depends on which flow matched in a table resubmitted to earlier" "$out"
ping_ok "the kernel kept the last good flows: pings still pass" 1 10.1.1.2

bf_done
