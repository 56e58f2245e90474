#!/bin/bash
# brflowctl trace, Open vSwitch's ofproto/trace for a brflow bridge: for each packet
# traced here, real traffic through the bridge must do what the trace's verdict says
# (pass or be dropped), including a tie between two flows of one priority, which the
# trace and the kernel must break the same way (the flow added first wins).  Also:
# --ct-next, the connection's ct_mark as exec() set it, and one-line errors.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/trace.flows" <<'FLOWS'
table=0,priority=10,ip,actions=ct(table=1,zone=7)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+est,actions=normal
table=1,priority=100,ct_state=+trk+inv,actions=drop
table=1,priority=50,ct_state=+trk+new,tcp,in_port=p1,tp_dst=5001,actions=ct(commit,zone=7,exec(set_field:0x2a->ct_mark)),output:p2
table=1,priority=50,ct_state=+trk+new,udp,in_port=p1,tp_dst=5002,actions=ct(commit,zone=7),normal
table=1,priority=0,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/trace.flows"

# verdict [OPTION...] PACKET: the Verdict line of brflowctl trace, without "Verdict: "
verdict() { bfctl trace "$BR" "$@" 2>&1 | sed -n 's/^Verdict: //p'; }
h1_to_h2="in_port=p1,nw_src=10.1.1.1,nw_dst=10.1.1.2"

out=$(bfctl trace "$BR" "tcp,$h1_to_h2,tp_dst=5001" 2>&1)
check_eq "trace prints each table's flow and its actions, then each pass after conntrack" \
	'Flow: tcp,in_port=1,nw_src=10.1.1.1,nw_dst=10.1.1.2,tp_dst=5001

bridge("br0")
-------------
 0. ip, priority 10
    ct(table=1,zone=7)
     -> table 1 resumes with the connection'"'"'s state (pass 1 below)

Final flow: unchanged

pass 1: table 1 after conntrack, ct_state=new|trk in zone 7 (the default; --ct-next sets it)
--------------------------------------------------------------------------------------------
 1. ct_state=+new+trk,tcp,in_port=1,tp_dst=5001, priority 50
    ct(commit,zone=7,exec(load:0x2a->NXM_NX_CT_MARK[]))
     -> commits the connection in zone 7
     -> exec() sets the connection'"'"'s ct_mark and ct_label: later passes and packets see them
     -> the next actions see the packet untracked
    output:2
     -> out of port 2 (p2), if the bridge'"'"'s forwarding database sends it there
     -> the packet has no dl_dst: give one to see where the bridge'"'"'s forwarding database sends it

Final flow: unchanged

Verdict: output:2 (p2)' "$out"
tcp_ok "...and TCP h1->h2 5001 passes" 1 2 10.1.1.2 5001
check_re "...committed in zone 7 with the mark exec() set" 'mark=42' \
	"$(ct_dump zone=7 2>&1 | grep 'dport=5001')"

check_eq "trace: UDP h1->h2 5002 is forwarded by NORMAL" "NORMAL (the bridge forwards it)" \
	"$(verdict "udp,$h1_to_h2,tp_dst=5002")"
udp_ok "...and it passes" 1 2 10.1.1.2 5002
check_eq "trace: TCP h1->h2 5003 is dropped" "drop (no flow chose an output)" \
	"$(verdict "tcp,$h1_to_h2,tp_dst=5003")"
tcp_blocked "...and it is" 1 2 10.1.1.2 5003
check_eq "trace: a new TCP connection h2->h1 5001 is dropped" "drop (no flow chose an output)" \
	"$(verdict tcp,in_port=p2,nw_src=10.1.1.2,nw_dst=10.1.1.1,tp_dst=5001)"
tcp_blocked "...and it is" 2 1 10.1.1.1 5001
check_eq "trace --ct-next=est: the reply of an established connection goes back by NORMAL" \
	"NORMAL (the bridge forwards it)" \
	"$(verdict --ct-next=est tcp,in_port=p2,nw_src=10.1.1.2,nw_dst=10.1.1.1,tp_src=5001)"
check_eq "trace --names prints ports by name in the flows it shows" \
	" 1. ct_state=+new+trk,tcp,in_port=p1,tp_dst=5001, priority 50|    output:p2" \
	"$(bfctl --names trace "$BR" "tcp,$h1_to_h2,tp_dst=5001" 2>&1 | grep -e '^ 1\. ' -e '^    output' | tr '\n' '|' | sed 's/|$//')"
check_eq "--ct-next may follow the command, as a separate word" "NORMAL (the bridge forwards it)" \
	"$(bfctl trace "$BR" tcp,in_port=2,tp_src=5001 --ct-next trk,est 2>&1 | sed -n 's/^Verdict: //p')"
check_eq "--ct-next=inv: the invalid-state flow drops it" "drop (no flow chose an output)" \
	"$(verdict --ct-next=+trk+inv "tcp,$h1_to_h2,tp_dst=5001")"
check_eq "ARP: NORMAL in table 0" "NORMAL (the bridge forwards it)" "$(verdict arp,in_port=p1)"
ping_blocked "...while ICMP, which no flow of table 1 allows, is dropped, as traced" 1 10.1.1.2
check_eq "trace: ICMP h1->h2 is dropped" "drop (no flow chose an output)" \
	"$(verdict "icmp,$h1_to_h2")"

# Two flows of priority 60 overlap on h1->h2 TCP 6000 and disagree.  OpenFlow leaves the
# choice open; brflow takes the flow added first, in the kernel and in the trace.
deny='table=1,priority=60,ct_state=+trk+new,tcp,tp_dst=6000,actions=drop'
allow='table=1,priority=60,ct_state=+trk+new,tcp,in_port=1,actions=ct(commit,zone=7),normal'
check "the deny flow is added, then the allow flow" bfctl add-flow "$BR" "$deny"
check "..." bfctl add-flow "$BR" "$allow"
out=$(bfctl trace "$BR" "tcp,$h1_to_h2,tp_dst=6000" 2>&1)
check_re "trace says another flow of the same priority matches too" \
	'1 more flow of this priority matches; OpenFlow leaves the choice open, and this trace takes the one added first' "$out"
check_eq "...and that the deny flow, added first, drops the packet" "drop (no flow chose an output)" \
	"$(sed -n 's/^Verdict: //p' <<<"$out")"
tcp_blocked "...and the kernel drops it" 1 2 10.1.1.2 6000
check "the deny flow is deleted and added again, after the allow flow" \
	bfctl --strict del-flows "$BR" "${deny%,actions=*}"
check "..." bfctl add-flow "$BR" "$deny"
check_eq "now trace says the allow flow forwards it" "NORMAL (the bridge forwards it)" \
	"$(verdict "tcp,$h1_to_h2,tp_dst=6000")"
tcp_ok "...and the kernel passes it" 1 2 10.1.1.2 6000
check "mod-flows gives the allow flow other actions" \
	bfctl --strict mod-flows "$BR" "${allow%,actions=*},actions=ct(commit,zone=7),output:2"
check_eq "...and keeps its place before the deny flow: trace says output:2" "output:2 (p2)" \
	"$(verdict "tcp,$h1_to_h2,tp_dst=6000")"
tcp_ok "...and the kernel passes it" 1 2 10.1.1.2 6000

# Errors are one line naming what is wrong (exit 1; 2 for usage), and the daemon goes on.
check_fails_re() { # NAME REGEX RC COMMAND...: fails with exit RC and one line matching REGEX
	local name=$1 re=$2 want=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	check_re "$name" "$re" "$out"
	check_eq "...in one line, exit $want" "1 $want" "$(grep -c . <<<"$out") $rc"
}
check_fails_re "trace of an unknown bridge" "^brflowctl: trace: no bridge named 'nosuch'$" 1 \
	bfctl trace nosuch tcp
check_fails_re "a packet field with a mask" \
	"^brflowctl: trace: a packet has one value per field: 'nw_src' takes no mask$" 1 \
	bfctl trace "$BR" tcp,nw_src=10.1.1.0/24
check_fails_re "a misspelt field, with its column" "^brflowctl: trace: unknown field 'nw_sorc' at column 5$" 1 \
	bfctl trace "$BR" tcp,nw_sorc=10.1.1.1
check_fails_re "an unknown --ct-next flag" \
	"^brflowctl: trace: --ct-next: unknown ct_state flag 'bogus' \(new, est, rel, rpl, inv, trk, snat, dnat\)$" 1 \
	bfctl trace --ct-next=est,bogus "$BR" tcp
check_fails_re "a packet with actions" "^brflowctl: trace: a packet has no actions" 1 \
	bfctl trace "$BR" tcp,actions=output:2
check_fails_re "trace without a packet" "usage: brflowctl \[OPTIONS\] trace BR FLOW" 2 bfctl trace "$BR"
check "the daemon still answers" bfctl show
bf_done
