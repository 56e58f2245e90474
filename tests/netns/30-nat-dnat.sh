#!/bin/bash
# DNAT to a VIP (with a port change, inside a zone), ICMP errors related to a NATed
# connection reaching the client rewritten, and a floating IP working both ways (issue 3).
. "$(dirname "$0")/lib.sh"

bf_topology 2

# peer_of HOST PORT: the peer addresses of HOST's established TCP connections on PORT.
peer_of() { ip netns exec "$(hns "$1")" ss -Htn state established "( sport = :$2 )" | awk '{print $4}'; }

neigh_static 1 10.1.1.100 10.1.1.101 2
if bf_flows_check "DNAT VIP 10.1.1.100 -> h2:8080 in zone 3 loads" nat-dnat.flows; then
	http_start 2 8080 || not_ok "http server on h2:8080" "did not listen"
	check_http_ok "HTTP to the VIP reaches h2:8080" 1 2 http://10.1.1.100/
	check_re "dump-conntrack: orig to the VIP:80, reply from h2:8080, zone 3" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.100,sport=([0-9]+),dport=80\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=8080,dport=[0-9]+\),zone=3,protoinfo=' \
		"$(ct_dump zone=3 2>&1)"
	check_re "h2 saw the client's own address (no SNAT)" '10\.1\.1\.1 - -' "$(cat "$BF_DIR/http2.log")"
	check_http_blocked "h2's own address is not reachable from h1" 1 2 http://10.1.1.2:8080/
	ping_ok "ping to the VIP is answered by h2" 1 10.1.1.100
	check "UDP to the VIP: h2's port unreachable reaches h1's socket, rewritten" \
		udp_refused 1 10.1.1.100 5353
	check_gt "the ICMP error was +rel in zone 3" "$(flow_packets 'table=1,' 'ct_state=+rel+trk')" 0
	http_stop_all
	line_server_start 2 8080 || not_ok "line server on h2:8080" "did not listen"
	if lconn_open d1 1 10.1.1.100 9999; then
		check_eq "a long-lived connection through the DNAT" "h2 d" "$(lconn_ask d1 d)"
		check "flush-conntrack zone=3" bfctl flush-conntrack zone=3
		check_eq "after a flush its packets are not translated any more" "" "$(lconn_ask d1 e 2)"
	else
		not_ok "a long-lived connection through the DNAT" "no connection"
	fi
fi

http_stop_all
bfctl del-flows "$BR" >/dev/null
bfctl flush-conntrack >/dev/null
ip -n "$(hns 1)" neigh flush all nud permanent
neigh_static 2 10.1.1.101 1
if bf_flows_check "floating IP 10.1.1.101 for h1 loads" nat-fip.flows; then
	line_server_start 1 7000 || not_ok "line server on h1" "did not listen"
	line_server_start 2 7001 || not_ok "line server on h2" "did not listen"
	lconn_open in 2 10.1.1.101 7000 && lconn_ask in x >/dev/null
	check_eq "inbound: h2 -> 10.1.1.101 reaches h1" "h1 y" "$(lconn_ask in y)"
	check_re "inbound: h1 sees h2's own address" '10\.1\.1\.2\]?:[0-9]+' "$(peer_of 1 7000)"
	lconn_open out 1 10.1.1.2 7001 && lconn_ask out x >/dev/null
	check_eq "outbound: h1 -> h2 works" "h2 y" "$(lconn_ask out y)"
	check_re "outbound: h2 sees h1 as 10.1.1.101" '^(\[::ffff:)?10\.1\.1\.101\]?:[0-9]+$' "$(peer_of 2 7001)"
	check_eq "h1's own address is not reachable from h2" "" "$(line_ask 2 10.1.1.1 7000)"
	ping_ok "ping h2 -> floating IP" 2 10.1.1.101
	ping_ok "ping h1 -> h2 (as the floating IP)" 1 10.1.1.2
	ct=$(ct_dump 2>&1)
	check_re "dump-conntrack: inbound DNAT entry" \
		'tcp,orig=\(src=10\.1\.1\.2,dst=10\.1\.1\.101,sport=[0-9]+,dport=7000\),reply=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=7000,dport=[0-9]+\)' "$ct"
	check_re "dump-conntrack: outbound SNAT entry" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=7001\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.101,sport=7001,dport=[0-9]+\)' "$ct"
fi

bf_done
