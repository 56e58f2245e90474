#!/bin/bash
# SNAT (issue 3): port ranges and their exhaustion (new connections fail, open ones keep
# working), NAT inside a zone with ct_mark/ct_label written at commit, HTTP through it.
. "$(dirname "$0")/lib.sh"

bf_topology 2
neigh_static 2 10.1.1.240 10.1.1.241 1

# --- one address, one port: exhaustion
if bf_flows_check "SNAT to 10.1.1.240:40000 in zone 7 loads" nat-snat-exhaust.flows; then
	line_server_start 2 7000 || not_ok "line server on h2" "did not listen"
	if lconn_open c1 1 10.1.1.2 7000; then
		check_eq "the first connection is answered" "h2 one" "$(lconn_ask c1 one)"
	else
		not_ok "the first connection is answered" "no connection; conntrack -L: $(bf_oneline "$(ct_look)")"
	fi
	check_re "dump-conntrack: translated to 10.1.1.240:40000 in zone 7" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=7000\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.240,sport=7000,dport=40000\),zone=7,protoinfo=\(state=ESTABLISHED\)' \
		"$(ct_dump zone=7 2>&1)"
	got=$(line_ask 1 10.1.1.2 7000 two)
	check_eq "a second concurrent connection fails: no port left" "" "$got"
	check_eq "the first connection keeps working" "h2 three" "$(lconn_ask c1 three)"
	check_eq "dump-conntrack holds only the first connection" 1 \
		"$(ct_dump zone=7 2>&1 | grep -c 'dport=7000')"
	# another server port gives a distinct tuple with the same address and port
	line_server_start 2 7001 || not_ok "line server on h2:7001" "did not listen"
	check_eq "a connection to another server port still gets 10.1.1.240:40000" "h2 four" \
		"$(line_ask 1 10.1.1.2 7001 four)"
	check_re "h2 saw 10.1.1.240:40000 as the peer" '10\.1\.1\.240\]?:40000' \
		"$(ip netns exec "$(hns 2)" ss -Htn state established '( sport = :7000 or sport = :7001 )' 2>&1)"
fi

# --- zone 5, marks, labels, two addresses, two ports
bfctl del-flows "$BR" >/dev/null
bfctl flush-conntrack >/dev/null
if bf_flows_check "SNAT with exec(ct_mark, ct_label) in zone 5 loads" nat-snat-marks.flows; then
	http_start 2 80 || not_ok "http server on h2" "did not listen"
	check_http_ok "HTTP h1->h2 through SNAT works" 1 2 http://10.1.1.2/
	check_re "dump-conntrack: zone=5,mark=5,labels=0xab and the NATed reply tuple" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=80\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.24[01],sport=80,dport=4100[01]\),zone=5,mark=5,labels=0xab,protoinfo=' \
		"$(ct_dump zone=5 2>&1)"
	check_gt "the return path matched ct_mark and ct_label after de-NAT" \
		"$(flow_packets 'table=1,' 'ct_mark=0x5')" 0
	# netfilter picks the address by a hash of the connection's addresses, then searches
	# the port range: towards one server port, h1 gets 2 connections (one per port)
	line_server_start 2 7002 || not_ok "line server on h2:7002" "did not listen"
	n=0
	for i in 1 2; do
		lconn_open "m$i" 1 10.1.1.2 7002 && [ "$(lconn_ask "m$i" "x$i")" = "h2 x$i" ] && n=$((n + 1))
	done
	check_eq "two concurrent connections to one server port fit the port range" 2 "$n"
	check_eq "they use both ports of the range" 2 \
		"$(ct_dump zone=5 2>&1 | grep 'dport=7002)' | grep -o 'sport=7002,dport=4100[01]' | sort -u | wc -l)"
	check_eq "a third fails" "" "$(line_ask 1 10.1.1.2 7002 x3)"
	check_eq "the first two keep working" "h2 y1 h2 y2" "$(lconn_ask m1 y1) $(lconn_ask m2 y2)"
fi

bf_done
