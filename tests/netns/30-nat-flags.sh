#!/bin/bash
# ct_state=+snat/+dnat after ct(nat): a DNAT, an SNAT and an untranslated connection
# each get through only by the flows of their own flags, in both directions; an
# invalid packet after ct(nat) has neither flag and is seen as it came.
. "$(dirname "$0")/lib.sh"

bf_topology 2

# peer_of HOST PORT: the peer address of HOST's established TCP connection on PORT.
peer_of() { ip netns exec "$(hns "$1")" ss -Htn state established "( sport = :$2 )" | awk '{print $4}'; }

# invalid_tcp SRC DST PORT: host SRC sends three TCP segments with SYN and FIN both
# set, which conntrack finds invalid (no connection), to DST:PORT.
invalid_tcp() {
	ip netns exec "$(hns "$1")" timeout 5 python3 -c '
import socket, struct, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
seg = struct.pack("!HHLLBBHHH", 40000, port, 1, 0, 5 << 4, 0x03, 1024, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
seg = seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for _ in range(3):
    s.sendto(seg, (dst, 0))' "$2" "$3" "$4"
}

neigh_static 1 10.1.1.100 2
neigh_static 2 10.1.1.101 1
if bf_flows_check "flows deciding by +snat/+dnat load" nat-flags.flows; then
	for port in 7001 7002 7003; do
		line_server_start 2 "$port" || not_ok "line server on h2:$port" "did not listen"
	done
	if lconn_open dnat 1 10.1.1.100 7000; then
		check_eq "DNAT: the first packet (+dnat, known from the ct()) and the rest get through" \
			"h2 a" "$(lconn_ask dnat a)"
		check_eq "DNAT: a later packet of the connection (+dnat from conntrack)" \
			"h2 b" "$(lconn_ask dnat b)"
	else
		not_ok "DNAT: h1 connects to the VIP" "no connection"
	fi
	if lconn_open snat 1 10.1.1.2 7002; then
		check_eq "SNAT: h1's connection gets through both ways" "h2 a" "$(lconn_ask snat a)"
		check_re "SNAT: h2 sees h1 as 10.1.1.101" '^(\[::ffff:)?10\.1\.1\.101\]?:[0-9]+$' \
			"$(peer_of 2 7002)"
	else
		not_ok "SNAT: h1 connects to h2:7002" "no connection"
	fi
	if lconn_open plain 1 10.1.1.2 7003; then
		check_eq "untranslated: neither flag, both ways" "h2 a" "$(lconn_ask plain a)"
	else
		not_ok "untranslated: h1 connects to h2:7003" "no connection"
	fi
	check_gt "h1 -> VIP matched +dnat-snat with the translated destination" \
		"$(flow_packets 'ct_state=+trk-snat+dnat,tcp,in_port=1')" 1
	check_gt "the replies matched +snat-dnat (a reply to DNAT), un-DNATed source" \
		"$(flow_packets 'ct_state=+rpl+trk+snat-dnat')" 1
	check_gt "h1 -> h2:7002 matched +snat-dnat with the translated source" \
		"$(flow_packets 'ct_state=+trk+snat-dnat,tcp,in_port=1')" 1
	check_gt "the replies matched +dnat-snat (a reply to SNAT), un-SNATed destination" \
		"$(flow_packets 'ct_state=+rpl+trk-snat+dnat')" 1
	check_gt "the untranslated connection matched -snat-dnat both ways" \
		"$(flow_packets 'ct_state=+rpl+trk-snat-dnat')" 1
	check_eq "no connection fell to table 2's drop" "0" "$(flow_packets 'table=2,' 'priority=0')"
	invalid_tcp 1 10.1.1.1 10.1.1.2 7009
	sleep 0.5
	check_eq "invalid segments after ct(nat): -snat-dnat and their own addresses" "3" \
		"$(flow_packets 'ct_state=+inv+trk-snat-dnat')"
	for c in dnat snat plain; do
		lconn_close "$c"
	done
fi

bf_done
