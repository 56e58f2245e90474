#!/bin/bash
# IPv6: seed firewall 1 with ipv6 (and then tcp6) in place of ip.
. "$(dirname "$0")/lib.sh"

bf_topology 2
bf_flows_check "seed firewall 1 for ipv6 loads" seed1-ipv6.flows || bf_done

tcp_ok "h1->h2 TCP over IPv6 passes" 1 2 fc00::2 5001
ping_ok "ping6 h1->h2 passes (replies are +est)" 1 fc00::2
udp_ok "h1->h2 UDP over IPv6 passes" 1 2 fc00::2 5003

# Read conntrack before the blocked attempts, which wait out their timeouts: the
# echo and the one-way datagram live 30 s, less than those waits take emulated.
check_ct_tcp "dump-conntrack prints the IPv6 TCP entry as OVS does" fc00::1 fc00::2 5001
check_ct "dump-conntrack prints the ICMPv6 echo as OVS does" fc00::2 \
'icmpv6,orig=(src=fc00::1,dst=fc00::2,id=<cleared>,type=128,code=0),reply=(src=fc00::2,dst=fc00::1,id=<cleared>,type=129,code=0)
tcp,orig=(src=fc00::1,dst=fc00::2,sport=<cleared>,dport=<cleared>),reply=(src=fc00::2,dst=fc00::1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)
udp,orig=(src=fc00::1,dst=fc00::2,sport=<cleared>,dport=<cleared>),reply=(src=fc00::2,dst=fc00::1,sport=<cleared>,dport=<cleared>)'

tcp_blocked "h2->h1 TCP over IPv6 is blocked" 2 1 fc00::1 5002
ping_blocked "ping6 h2->h1 is blocked" 2 fc00::1
udp_blocked "h2->h1 UDP over IPv6 is blocked" 2 1 fc00::1 5004
tcp_blocked "IPv4 is dropped (no ip flow)" 1 2 10.1.1.2 5005
check_gt "n_packets counts IPv6 replies seen +est" \
	"$(flow_packets 'table=1,' 'ct_state=+est')" 0

out=$(bfctl replace-flows "$BR" "$FLOWS/seed1-tcp6.flows" 2>&1)
check_eq "replace-flows with the tcp6 firewall succeeds" "" "$out"
bfctl flush-conntrack >/dev/null 2>&1
tcp_ok "tcp6: h1->h2 TCP passes" 1 2 fc00::2 5011
tcp_blocked "tcp6: h2->h1 TCP is blocked" 2 1 fc00::1 5012
ping_ok "tcp6: ping6 h2->h1 passes (icmp6 is switched normally)" 2 fc00::1
udp_blocked "tcp6: UDP over IPv6 is dropped" 1 2 fc00::2 5013
http_start 2 8080 || not_ok "http server on h2" "did not listen"
check_http_ok "tcp6: h1->h2 HTTP over IPv6 passes" 1 2 'http://[fc00::2]:8080/'

# IPv4 always tracked in zone 0, IPv6 never: the pre-pass (notrack for IPv6) is hooked
# in the ip6 table, where IPv4 packets never go (docs/design.md, Tables and hooks).
out=$(bfctl replace-flows "$BR" "$FLOWS/ipv4-tracked-ipv6-not.flows" 2>&1)
check_eq "replace-flows with IPv4 tracked, IPv6 not, succeeds" "" "$out"
bfctl flush-conntrack >/dev/null 2>&1
inet=$(ip netns exec "$SW" nft list table inet "brflow_$BR" 2>&1)
check_eq "the inet table has no pre-pass" 0 "$(grep -c 'chain prepass' <<<"$inet")"
if grep -q 'conntrack: bridge family' <<<"$(bfctl show 2>&1)"; then
	# nf_conntrack_bridge: the whole IP pipeline, pre-pass too, is in the bridge table
	check_re "the bridge table hooks the pre-pass before its conntrack" \
		'chain prepass \{[^}]*hook prerouting priority -250' \
		"$(ip netns exec "$SW" nft list table bridge "brflow_$BR" 2>&1)"
else
	check_re "the ip6 table hooks the pre-pass before conntrack" \
		'type filter hook prerouting priority raw' \
		"$(ip netns exec "$SW" nft list table ip6 "brflow_$BR" 2>&1)"
fi
ping_ok "ping6 h1->h2 passes" 1 fc00::2
check_eq "the IPv6 ping was not tracked (the pre-pass's notrack)" "" \
	"$(ct_look | grep fc00)"
tcp_ok "IPv4 h1->h2 TCP passes" 1 2 10.1.1.2 5021
check_re "... and is tracked" 'dst=10.1.1.2 sport=[0-9]+ dport=5021' "$(ct_look)"
tcp_blocked "IPv4 h2->h1 TCP is blocked" 2 1 10.1.1.1 5022

bf_done
