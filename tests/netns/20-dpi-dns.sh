#!/bin/bash
# DPI (issue 5): DNS queries (dig) to a small DNS server are classified as DNS.
. "$(dirname "$0")/lib.sh"

DPI_TOOLS=dig

# A DNS server on h2 that answers every A query with 10.9.9.9.
DNS_SERVER='
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
while True:
    q, peer = s.recvfrom(2048)
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i = 12
    while i < len(q) and q[i]:
        i += q[i] + 1
    question = q[12:i + 5]
    head = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("10.9.9.9")
    s.sendto(head + question + answer, peer)
'

dig_a() {
	ip netns exec "$(hns "$1")" timeout 8 dig +short +time=2 +tries=1 @10.1.1.2 "$2" A 2>&1
}

dpi_topology 2
bf_bg "$(hns 2)" "$BF_DIR/dns.log" timeout 200 python3 -u -c "$DNS_SERVER"
wait_until 5 listening "$(hns 2)" u 53 || bf_setup_fail "DNS server on h2 did not listen on 53"
check_eq "without DPI dig gets the answer" 10.9.9.9 "$(dig_a 1 www.example.test)"

dpi_start_check "brflow-dpi starts in the switch namespace" || bf_done
dpi_flows dpi-dns.flows
bfctl flush-conntrack >/dev/null 2>&1
dns0=$(dpi_stat '^protocol dns: connections')

check_eq "with DPI dig gets the answer" 10.9.9.9 "$(dig_a 1 www.example.test)"
check_gt "the dpi_proto=dns flow counted the answer" "$(flow_packets 'table=1,' 'dpi_proto=dns')" 0
check_eq "the query's connection carries the handler's labels (done, dns)" \
	"$(dpi_label_hex 5 0)" "$(dpi_labels 'dport=53 ')"
dns1=$(dpi_stat '^protocol dns: connections')
check_gt "dpi-stats counts the DNS connection" "$((${dns1:-0} - ${dns0:-0}))" 0
check_eq "a second query (new source port) is answered" 10.9.9.9 "$(dig_a 1 mail.example.test)"
dns2=$(dpi_stat '^protocol dns: connections')
check_gt "dpi-stats counts the second DNS connection" "$((${dns2:-0} - ${dns1:-0}))" 0
stats=$(dpi_stats 2>&1)
check_re "dpi-stats has a line for DNS" 'protocol dns: connections [0-9]+ packets [1-9]' "$stats"

bf_done
