#!/bin/bash
# IPv6 SNAT (address and port range, [addr]:port syntax) and DNAT to a VIP with a port
# change, ICMPv6 errors related to a DNATed flow (issue 3).
. "$(dirname "$0")/lib.sh"

bf_topology 2
neigh_static 1 fc00::100 2
neigh_static 2 fc00::240 1

if bf_flows_check "IPv6 SNAT and DNAT flows load" nat-ipv6.flows; then
	line_server_start 2 8080 || not_ok "line server on h2:8080" "did not listen"
	line_server_start 2 7000 || not_ok "line server on h2:7000" "did not listen"
	# the switch resolves the DNAT target itself (neighbour discovery from the bridge,
	# docs/nat.md): wait until the bridge's link-local address has passed DAD
	check "the bridge's IPv6 link-local address is usable" wait_until 10 \
		bash -c "ip -n '$SW' -6 addr show dev '$BR' scope link | grep -q inet6 &&
			 ! ip -n '$SW' -6 addr show dev '$BR' tentative | grep -q inet6"
	check_eq "DNAT: [fc00::100]:80 reaches h2:8080" "h2 v" "$(line_ask 1 fc00::100 80 v)"
	check_re "dump-conntrack: the DNAT entry" \
		'tcp,orig=\(src=fc00::1,dst=fc00::100,sport=[0-9]+,dport=80\),reply=\(src=fc00::2,dst=fc00::1,sport=8080,dport=[0-9]+\)' \
		"$(ct_dump 2>&1)"
	check_eq "SNAT: h1 -> [fc00::2]:7000 works" "h2 w" "$(line_ask 1 fc00::2 7000 w)"
	check_re "dump-conntrack: the SNAT entry, port in 42000-42001" \
		'tcp,orig=\(src=fc00::1,dst=fc00::2,sport=[0-9]+,dport=7000\),reply=\(src=fc00::2,dst=fc00::240,sport=7000,dport=4200[01]\)' \
		"$(ct_dump 2>&1)"
	check "UDP to the IPv6 VIP: the port unreachable reaches h1, rewritten" udp_refused 1 fc00::100 5353
	http_start 1 80 || not_ok "http server on h1" "did not listen"
	check_http_blocked "h2 cannot open connections to h1" 2 1 'http://[fc00::1]/'
fi

bf_done
