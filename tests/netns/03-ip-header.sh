#!/bin/bash
# IP header fields: nw_tos (the DSCP bits; ip_dscp is the same field shifted), nw_ecn,
# nw_ttl and ipv6_label, for IPv4 and IPv6.  Pings with the header values set (ping -Q,
# -t, -F) show that each flow drops exactly the packets it matches: the DSCP match
# ignores the ECN bits, and the ECN match the DSCP bits.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/ip-header.flows" <<'FLOWS'
priority=100,icmp,nw_ttl=1,actions=drop
priority=100,icmp,nw_tos=16,actions=drop
priority=100,icmp,nw_ecn=3,actions=drop
priority=100,icmp6,icmp_type=128,nw_ttl=1,actions=drop
priority=100,icmp6,icmp_type=128,ip_dscp=46,actions=drop
priority=100,icmp6,icmp_type=128,ipv6_label=0x12345,actions=drop
priority=10,arp,actions=normal
priority=10,icmp6,icmp_type=135,actions=normal
priority=10,icmp6,icmp_type=136,actions=normal
priority=1,ip,actions=normal
priority=1,ipv6,actions=normal
priority=0,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/ip-header.flows"
check_eq "dump-flows prints ip_dscp=46 as OVS does, nw_tos=184" 1 \
	"$(bfctl dump-flows "$BR" 2>&1 | grep -c 'icmp6,nw_tos=184,icmp_type=128 actions=drop')"

ping_answers "IPv4 ping with the default TTL passes" 1 10.1.1.2 3
ping_answers "...with TTL 1 it is dropped (nw_ttl=1)" 1 10.1.1.2 0 -t 1
ping_answers "ToS 0x10 is dropped (nw_tos=16)" 1 10.1.1.2 0 -Q 0x10
ping_answers "ToS 0x11 too: nw_tos ignores the ECN bits" 1 10.1.1.2 0 -Q 0x11
ping_answers "ToS 0x20 passes" 1 10.1.1.2 3 -Q 0x20
ping_answers "ECN 3 is dropped (nw_ecn=3)" 1 10.1.1.2 0 -Q 0x03
ping_answers "ECN 3 under another DSCP too: nw_ecn ignores the DSCP bits" 1 10.1.1.2 0 -Q 0x23
ping_answers "ECN 2 passes" 1 10.1.1.2 3 -Q 0x02
ping_answers "IPv6 ping passes" 1 fc00::2 3
ping_answers "...with hop limit 1 it is dropped (nw_ttl=1)" 1 fc00::2 0 -t 1
ping_answers "traffic class 0xb8 (DSCP 46) is dropped (ip_dscp=46)" 1 fc00::2 0 -Q 0xb8
ping_answers "traffic class 0xb9 too (ECN bits ignored)" 1 fc00::2 0 -Q 0xb9
ping_answers "traffic class 0x20 passes" 1 fc00::2 3 -Q 0x20
ping_answers "flow label 0x12345 is dropped (ipv6_label=0x12345)" 1 fc00::2 0 -F 0x12345
ping_answers "flow label 0x54321 passes" 1 fc00::2 3 -F 0x54321
bf_done
