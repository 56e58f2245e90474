#!/bin/bash
# The connection's original-direction tuple: ct_nw_src, ct_nw_dst, ct_ipv6_src,
# ct_nw_proto, ct_tp_dst.  Every policy here commits any new connection but lets an
# established one's packets (both directions) pass only for the tuple it names, so a
# connection works end to end exactly when its opener, destination and port match.
# With DNAT, ct_nw_dst is the address the client asked for (the VIP), not the backend:
# OVN's way of telling a load-balanced connection from a direct one.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/tuple.flows" <<'FLOWS'
table=0,priority=20,icmp6,icmp_type=135,actions=normal
table=0,priority=20,icmp6,icmp_type=136,actions=normal
table=0,priority=10,ip,actions=ct(table=1)
table=0,priority=10,ipv6,actions=ct(table=1)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+new,tcp,actions=ct(commit),normal
table=1,priority=100,ct_state=+trk+new,udp6,actions=ct(commit),normal
table=1,priority=90,ct_state=+trk+est,tcp,ct_nw_src=10.1.1.1,ct_tp_dst=7001,actions=normal
table=1,priority=90,ct_state=+trk+est,udp6,ct_ipv6_src=fc00::1,ct_nw_proto=17,actions=normal
table=1,priority=0,actions=drop
FLOWS
check "a policy on the original tuple loads" bfctl replace-flows "$BR" "$BF_DIR/tuple.flows"
check_re "dump-flows prints the tuple fields as OVS does" \
	'ct_state=\+est\+trk,ct_nw_src=10\.1\.1\.1,ct_tp_dst=7001,tcp actions=NORMAL' \
	"$(bfctl dump-flows "$BR" 2>&1)"
tcp_ok "TCP h1 -> h2:7001 (ct_nw_src=10.1.1.1,ct_tp_dst=7001) works both ways" 1 2 10.1.1.2 7001
tcp_blocked "TCP h1 -> h2:7002: committed, but its replies fail ct_tp_dst" 1 2 10.1.1.2 7002
tcp_blocked "TCP h2 -> h1:7001: the opener fails ct_nw_src" 2 1 10.1.1.1 7001
check_re "the failed connections were committed (conntrack knows them)" \
	'dport=7002' "$(bfctl dump-conntrack 2>&1)"
udp_echo_start 2 5353 || not_ok "UDP echo server on h2" "did not listen"
check_eq "UDP6 h1 -> h2: the reply passes (ct_ipv6_src=fc00::1)" "echo:ping" \
	"$(udp_ask 1 fc00::2 5353 40001)"
udp_echo_start 1 5354 || not_ok "UDP echo server on h1" "did not listen"
check_eq "UDP6 h2 -> h1: the reply is dropped (ct_ipv6_src is fc00::2)" "" \
	"$(udp_ask 2 fc00::1 5354 40002)"
check "trace follows the tuple of a reply" bash -c \
	"'$BRFLOWCTL' trace '$BR' --ct-next trk,est,rpl in_port=2,tcp,nw_src=10.1.1.2,nw_dst=10.1.1.1,tp_src=7001,tp_dst=40000 | grep -q 'ct_nw_src=10.1.1.1,ct_tp_dst=7001'"

# DNAT: the VIP 10.1.1.100:80 is h2:7001; only connections made to the VIP may go on.
bfctl del-flows "$BR" >/dev/null
bfctl flush-conntrack >/dev/null
neigh_static 1 10.1.1.100 2
cat >"$BF_DIR/vip.flows" <<'FLOWS'
table=0,priority=10,ip,actions=ct(table=1,nat)
table=0,priority=10,arp,actions=normal
table=0,priority=0,actions=drop
table=1,priority=100,ct_state=+trk+new,tcp,nw_dst=10.1.1.100,tp_dst=80,actions=ct(commit,nat(dst=10.1.1.2:7001)),normal
table=1,priority=100,ct_state=+trk+new,tcp,actions=ct(commit),normal
table=1,priority=90,ct_state=+trk+est,tcp,ct_nw_dst=10.1.1.100,actions=normal
table=1,priority=0,actions=drop
FLOWS
if check "a VIP policy on ct_nw_dst loads" bfctl replace-flows "$BR" "$BF_DIR/vip.flows"; then
	line_server_start 2 7001 || not_ok "line server on h2:7001" "did not listen"
	check_eq "TCP to the VIP reaches h2:7001 and its answers come back" "h2 x" \
		"$(line_ask 1 10.1.1.100 80 x)"
	check_eq "TCP straight to h2:7001 is cut (ct_nw_dst is h2, not the VIP)" "" \
		"$(line_ask 1 10.1.1.2 7001 y)"
	check_re "dump-conntrack: the VIP connection was translated to h2:7001" \
		'orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.100,sport=[0-9]+,dport=80\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=7001' \
		"$(bfctl dump-conntrack 2>&1)"
fi
bf_done
