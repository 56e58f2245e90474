#!/bin/bash
# exit, as OVS runs it: no further action runs, in the table or in the ones that
# resubmitted to it, and the decision so far stands.  h1's UDP gets its output in a
# resubmitted table that exits, so the caller's later output:3 never runs (a second
# output would be refused); TCP to port 80 exits before its output:2 and is dropped,
# TCP to port 82 exits after it and passes, other TCP is committed and passes.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/exit.flows" <<'FLOWS'
priority=10,arp,actions=normal
in_port=1,udp,actions=resubmit(,1),output:3
priority=40000,in_port=1,tcp,tp_dst=80,actions=exit,output:2
priority=40000,in_port=1,tcp,tp_dst=82,actions=output:2,exit
in_port=1,tcp,actions=ct(commit),output:2
in_port=2,ip,actions=normal
table=1,actions=output:2,exit
FLOWS
check "flows with exit load" bfctl replace-flows "$BR" "$BF_DIR/exit.flows"
udp_echo_start 2 7000 || not_ok "udp echo on h2" "did not listen"
check_re "UDP leaves by table 1's output:2, then exit" . "$(udp_ask 1 10.1.1.2 7000 5000 2>&1)"
line_server_start 2 80 || not_ok "line server on h2:80" "did not listen"
line_server_start 2 81 || not_ok "line server on h2:81" "did not listen"
line_server_start 2 82 || not_ok "line server on h2:82" "did not listen"
check_eq "TCP to port 80 exits before its output:2: dropped" "" "$(line_ask 1 10.1.1.2 80 a)"
check_eq "TCP to port 82 exits after its output:2: passes" "h2 c" "$(line_ask 1 10.1.1.2 82 c)"
check_eq "other TCP passes" "h2 b" "$(line_ask 1 10.1.1.2 81 b)"
check_gt "table 1's flow counted the UDP" "$(flow_packets 'table=1,')" 0

bf_done
