#!/bin/bash
# Stateless port rewrites (mod_tp_src/mod_tp_dst, set_field to tcp_dst/udp_dst, load
# to NXM_OF_UDP_SRC[]): h1 reaches h2's TCP service on port 7000 as 8080 and its UDP
# service on 5353 as 5300, over IPv4 and IPv6, and h2's answers come back from the
# forwarded port.  Checksum offload is off on every veth end, so the receiving stacks
# verify every TCP and UDP checksum: answered exchanges, no checksum error counted and
# tcpdump's "(correct)" prove the rewritten packets' checksums.  Also: the real ports
# are not reachable, dump-flows prints the writes as ovs-ofctl does, and a ct() after
# a port rewrite or a port rewrite in a group bucket is refused in one line.
. "$(dirname "$0")/lib.sh"

bf_topology 2

# udp_connected_ask SRC IP PORT: a connected UDP socket on host SRC sends "ping" to
# IP:PORT and prints the answer, which the kernel delivers only from IP:PORT itself.
udp_connected_ask() {
	ip netns exec "$(hns "$1")" timeout 5 python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(2)
s.send(b"ping")
try:
    print(s.recv(2048).decode())
except OSError:
    sys.exit(1)
' "$2" "$3"
}

# peer_port HOST: the remote port of HOST's established TCP connections.
peer_port() {
	ip netns exec "$(hns "$1")" ss -Htn state established | awk '{ sub(/.*:/, "", $4); print $4 }' | sort -u
}

check "checksum offload off on every veth end" csum_off_pair
bf_flows_check "the port forwarding flows load" port-rewrite.flows || bf_done
dump=$(bfctl --no-stats --no-names dump-flows "$BR" 2>&1)
check_re "dump-flows prints mod_tp_dst as ovs-ofctl does" \
	' priority=100,tcp,in_port=1,tp_dst=8080 actions=mod_tp_dst:7000,output:2' "$dump"
check_re "dump-flows prints a load to NXM_OF_UDP_SRC[] as mod_tp_src" \
	' priority=100,udp,in_port=2,tp_src=5353 actions=mod_tp_src:5300,output:1' "$dump"
# nft itself lists the ruleset: the port lookups' maps have a concatenated key whose
# protocol part nft must know the size of (an "integer" there made it abort)
check_re "nft list prints the port lookups' maps" \
	'type inet_proto \. inet_service : verdict' \
	"$(ip netns exec "$SW" nft list ruleset 2>&1)"
# what nft itself emits for "tcp dport set" and "udp sport set" (in the inet table, or
# the bridge table with bridge-family conntrack)
nl=$(ip netns exec "$SW" nft --debug=netlink list ruleset 2>&1)
check_re "the TCP write fixes the TCP checksum" \
	'payload write reg 1 => 2b @ transport header \+ 2 csum_type 1 csum_off 16 csum_flags 0x0' "$nl"
check_re "the UDP write fixes the UDP checksum" \
	'payload write reg 1 => 2b @ transport header \+ 0 csum_type 1 csum_off 6 csum_flags 0x0' "$nl"

bf_bg "$(hns 2)" "$BF_DIR/tcpdump.h2" timeout 120 tcpdump -i eth0 -nn -vv -l -U 'tcp or udp'
TCPDUMP=$BF_LAST
wait_until 10 grep -q "listening on" "$BF_DIR/tcpdump.h2" ||
	not_ok "tcpdump on h2" "did not start: $(bf_oneline "$(cat "$BF_DIR/tcpdump.h2")")"

line_server_start 2 7000 || not_ok "line server on h2" "did not listen"
udp_echo_start 2 5353 || not_ok "UDP echo server on h2" "did not listen"
check_eq "TCP h1 -> 10.1.1.2:8080 is answered by h2's port 7000" "h2 v4" \
	"$(line_ask 1 10.1.1.2 8080 v4)"
check_eq "TCP h1 -> [fc00::2]:8080 is answered by h2's port 7000" "h2 v6" \
	"$(line_ask 1 fc00::2 8080 v6)"
check_eq "UDP h1 -> 10.1.1.2:5300 is answered from 5300" "echo:ping" \
	"$(udp_connected_ask 1 10.1.1.2 5300)"
check_eq "UDP h1 -> [fc00::2]:5300 is answered from 5300" "echo:ping" \
	"$(udp_connected_ask 1 fc00::2 5300)"
if lconn_open l1 1 10.1.1.2 8080 && [ "$(lconn_ask l1 x)" = "h2 x" ]; then
	check_eq "h1's connection is to port 8080" 8080 "$(peer_port 1)"
	check_eq "h2's side of it is port 7000" "" \
		"$(ip netns exec "$(hns 2)" ss -Htn state established '( sport != :7000 )')"
	check_eq "... and a second line on it is answered" "h2 y" "$(lconn_ask l1 y)"
else
	not_ok "a long-lived TCP connection to 10.1.1.2:8080" "no answer"
fi
check_eq "TCP h1 -> 10.1.1.2:7000, the real port, is not answered" "" \
	"$(line_ask 1 10.1.1.2 7000 direct)"
check_fails "UDP h1 -> 10.1.1.2:5353, the real port, is not answered" \
	udp_connected_ask 1 10.1.1.2 5353

sleep 0.5
bf_kill "$TCPDUMP"
dump=$(cat "$BF_DIR/tcpdump.h2")
check_re "tcpdump on h2: the SYN arrives for port 7000" \
	'10\.1\.1\.1\.[0-9]+ > 10\.1\.1\.2\.7000: Flags \[S\]' "$dump"
check_re "tcpdump on h2: UDP arrives for port 5353 over IPv6" 'fc00::1\.[0-9]+ > fc00::2\.5353: ' "$dump"
check_eq "tcpdump on h2 never sees port 8080 or 5300" "" "$(grep -m1 '\.8080\b\|\.5300\b' <<<"$dump")"
check_gt "tcpdump on h2 verified checksums as correct" "$(grep -c '(correct)' <<<"$dump")" 5
check_eq "tcpdump on h2 found no bad checksum" "" "$(grep -m1 'incorrect\|bad cksum' <<<"$dump")"
check_eq "no checksum or header errors counted on h1" 0 "$(csum_errors 1)"
check_eq "no checksum or header errors counted on h2" 0 "$(csum_errors 2)"

# Conntrack keyed the connection on the old port before the pipeline: ct() after a
# port rewrite is refused, naming the flow, and the loaded flows stay.
out=$(printf '%s\n' 'priority=300,in_port=1,tcp,tp_dst=9090,actions=mod_tp_dst:7000,resubmit(,2)' \
	'table=2,priority=1,ip,actions=ct(commit),output:2' | bfctl --bundle add-flows "$BR" - 2>&1)
check_eq "ct() after a port rewrite is refused" 1 "$(($? != 0))"
check_re "the refusal names the flow and the reason" \
	"flow 'table=2,priority=1,ip actions=ct\(commit\),output:2': ct\(\) on a path that already rewrote an IP address or port" "$out"
check_eq "... in one line" 1 "$(printf '%s\n' "$out" | wc -l)"
out=$(bfctl add-group "$BR" 'group_id=1,type=select,bucket=actions=mod_tp_dst:80,output:2' 2>&1)
check_eq "a port rewrite in a group bucket is refused" 1 "$(($? != 0))"
check_re "... saying why" "'mod_tp_dst:80' is not supported in a group bucket" "$out"
out=$(bfctl add-flow "$BR" 'ip,actions=mod_tp_dst:80' 2>&1)
check_re "a port rewrite needs tcp or udp in the match" \
	"'mod_tp_dst:80' lacks prerequisites: the flow must match tcp, udp or sctp at column 12" "$out"
check_eq "the forwarding still works after the refusals" "h2 again" \
	"$(line_ask 1 10.1.1.2 8080 again)"

bf_done
