#!/bin/bash
# DPI (issue 5): malformed and truncated packets through the queue do not crash the
# handler: broken L3/L4 headers, fragments, IPv6 extension chains (scapy), and
# truncated or garbage application data on real connections.  Afterwards the handler
# is alive, answers dpi-stats and still classifies.
. "$(dirname "$0")/lib.sh"

TCP_PORTS="80 443 22 6881 25 21 3306 8080"

# Raw packets from h1 to h2 (argv: h2's MAC, count of random rounds).
RAW_FUZZ='
import random, sys
from scapy.all import (Ether, IP, IPv6, TCP, UDP, ICMP, Raw, GRE, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment,
                       fragment, fuzz, sendp, conf)
conf.verb = 0
mac, rounds = sys.argv[1], int(sys.argv[2])
random.seed(5)
E = Ether(dst=mac)
S, D, S6, D6 = "10.1.1.1", "10.1.1.2", "fc00::1", "fc00::2"
rb = lambda n: bytes(random.getrandbits(8) for _ in range(n))
sport = lambda: random.randint(20000, 60000)
dports_udp = [53, 123, 443, 5060, 1900, 5353, 161, 3478, 67, 137, 51820, 1194, 4789, 19302]
dports_tcp = [80, 443, 22, 6881, 25, 21, 3306, 8080, 5222, 1723]
pk = []
for r in range(rounds):
    n = random.choice([0, 1, 2, 5, 13, 40, 200, 600, 1400])
    # valid headers, garbage payloads: every dissector nDPI has for these ports
    pk.append(E / IP(src=S, dst=D) / UDP(sport=sport(), dport=random.choice(dports_udp)) / Raw(rb(n)))
    pk.append(E / IP(src=S, dst=D) / TCP(sport=sport(), dport=random.choice(dports_tcp), flags="S") / Raw(rb(n)))
    pk.append(E / IPv6(src=S6, dst=D6) / UDP(sport=sport(), dport=random.choice(dports_udp)) / Raw(rb(n)))
    # QUIC-looking long headers with absurd connection id and token lengths
    pk.append(E / IP(src=S, dst=D) / UDP(sport=sport(), dport=443) /
              Raw(bytes([0xc0 | random.getrandbits(4), 0, 0, 0, 1, 255]) + rb(n)))
    # broken TCP: data offset beyond the packet, below 5, flags soup
    t = TCP(sport=sport(), dport=80, flags=random.choice(["S", "SA", "FPU", "", "SF"]))
    t.dataofs = random.choice([0, 1, 4, 15])
    pk.append(E / IP(src=S, dst=D) / t / Raw(rb(n % 50)))
    # UDP length field lying both ways, bad checksum
    pk.append(E / IP(src=S, dst=D) / UDP(sport=sport(), dport=53, len=random.choice([0, 7, 9, 2000])) / Raw(rb(n % 80)))
    pk.append(E / IP(src=S, dst=D) / UDP(sport=sport(), dport=53, chksum=0x1234) / Raw(rb(20)))
    # L4 header cut short: protocol says TCP/UDP, fewer bytes follow
    pk.append(E / IP(src=S, dst=D, proto=6) / Raw(rb(random.randint(0, 19))))
    pk.append(E / IP(src=S, dst=D, proto=17) / Raw(rb(random.randint(0, 7))))
    pk.append(E / IPv6(src=S6, dst=D6, nh=6) / Raw(rb(random.randint(0, 19))))
    # IP options, unknown protocols, GRE with garbage inside
    pk.append(E / IP(src=S, dst=D, options=b"\x07\x07\x04\x00\x00\x00\x00\x00") / UDP(sport=sport(), dport=53) / Raw(rb(n)))
    pk.append(E / IP(src=S, dst=D, proto=random.choice([0, 41, 132, 253, 255])) / Raw(rb(n)))
    pk.append(E / IP(src=S, dst=D) / GRE() / Raw(rb(n)))
    # ICMP errors quoting truncated or bogus inner packets
    pk.append(E / IP(src=S, dst=D) / ICMP(type=3, code=3) / Raw(rb(random.randint(0, 30))))
    pk.append(E / IP(src=S, dst=D) / ICMP(type=11) / IP(src=D, dst=S) / Raw(rb(3)))
    # fragments: a lone first fragment, a lone tail, overlapping pieces, tiny pieces
    big = IP(src=S, dst=D, id=random.getrandbits(16)) / UDP(sport=sport(), dport=53) / Raw(rb(1200))
    frags = fragment(big, fragsize=random.choice([8, 64, 512]))
    pk.append(E / frags[0])
    pk.append(E / frags[-1])
    pk.append(E / IP(src=S, dst=D, id=7, flags="MF", frag=0, proto=17) / Raw(rb(24)))
    pk.append(E / IP(src=S, dst=D, id=7, frag=1, proto=17) / Raw(rb(24)))
    # IPv6 extension header chains, a lone fragment, "no next header"
    pk.append(E / IPv6(src=S6, dst=D6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
              IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() / UDP(sport=sport(), dport=53) / Raw(rb(n)))
    pk.append(E / IPv6(src=S6, dst=D6) / IPv6ExtHdrFragment(m=1, id=random.getrandbits(32)) / UDP(sport=sport(), dport=53) / Raw(rb(64)))
    pk.append(E / IPv6(src=S6, dst=D6, nh=59) / Raw(rb(n)))
    pk.append(E / IPv6(src=S6, dst=D6) / IPv6ExtHdrDestOpt(nh=0) / Raw(rb(random.randint(0, 10))))
    # scapy fuzz(): random header fields under a sane IP header
    pk.append(E / IP(src=S, dst=D) / fuzz(TCP(dport=random.choice(dports_tcp))) / Raw(rb(n % 300)))
    pk.append(E / IP(src=S, dst=D) / fuzz(UDP(dport=random.choice(dports_udp))) / Raw(rb(n % 300)))
sendp(pk, iface="eth0")
print(len(pk))
'

# Real connections carrying truncated or garbage application data (argv: h2's address).
APP_FUZZ='
import os, random, socket, sys, time
dst = sys.argv[1]
random.seed(7)
hello = bytes.fromhex(
    "160301010001" "0000fc0303" + "11" * 32 + "20" + "22" * 32 + "0004130113020100"
    "00af" "0000000f000d00000a676f6f642e6578616d706c65" + "0015008e" + "00" * 142)
cases = [
    (443, hello[:5]), (443, hello[:43]), (443, hello[:80]),
    (443, b"\x16\x03\x01\xff\xff" + os.urandom(300)),         # record longer than sent
    (443, b"\x16\x03\x01\x00\x30\x01\x00\xff\xff" + os.urandom(40)),  # handshake length lies
    (80, b"GET / HTTP/1.1\r\nHost: " + b"a" * 3000 + b"\r\n\r\n"),
    (80, b"GET " + b"/x" * 2000),                              # no line end
    (80, b"POST / HTTP/1.1\r\nContent-Length: -1\r\nHost:\r\n\r\n"),
    (80, b"\r\n" * 500),
    (6881, b"\x13BitTorrent prot"),                           # handshake cut short
    (22, b"SSH-2.0-" + b"x" * 5000),                           # banner without end
    (22, b"SSH-2.0-OpenSSH_9.2\r\n" + b"\xff\xff\xff\xff\x00\x14" + os.urandom(64)),
    (25, b"EHLO " + os.urandom(200) + b"\r\n"),
    (3306, os.urandom(4) + b"\x0a" + b"8.0.0" + b"\x00" * 3),
    (8080, os.urandom(1400)),
    (21, b"USER " + b"\x00" * 100),
]
sent = 0
for port, data in cases:
    try:
        s = socket.create_connection((dst, port), timeout=2)
        s.sendall(data)
        for _ in range(3):
            s.sendall(os.urandom(random.randint(1, 200)))
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.05)
        s.close()
        sent += 1
    except OSError as e:
        print("port", port, e, file=sys.stderr)
print(sent)
'

dpi_topology 2
PY=$(py3_scapy) || { skip "raw malformed packets" "needs python3-scapy"; PY=; }

# h2 drains TCP on a few ports (the application-level cases need real connections)
for port in $TCP_PORTS; do
	bf_bg "$(hns 2)" "$BF_DIR/sink.$port" timeout 200 socat -u \
		"TCP-LISTEN:$port,reuseaddr,fork" /dev/null
done
for port in $TCP_PORTS; do
	wait_until 5 listening "$(hns 2)" t "$port" || bf_setup_fail "no sink on h2:$port"
done

dpi_start_check "brflow-dpi starts in the switch namespace" || bf_done
dpi_flows dpi-all.flows
p0=$(dpi_stat '^packets:')

if [ -n "$PY" ]; then
	mac=$(ip -n "$(hns 2)" -br link show eth0 | awk '{print $3}')
	n=$(ip netns exec "$(hns 1)" timeout 120 "$PY" -c "$RAW_FUZZ" "$mac" 60 2>"$BF_DIR/fuzz.err")
	check_gt "scapy sent the malformed packets" "${n:-0}" 1000
	check "brflow-dpi survives the malformed packets" dpi_alive
fi
n=$(ip netns exec "$(hns 1)" timeout 60 python3 -c "$APP_FUZZ" 10.1.1.2 2>"$BF_DIR/app.err")
check_eq "all truncated/garbage application connections were made" 16 "${n:-0}"
sleep 1
check "brflow-dpi survives truncated and garbage application data" dpi_alive

stats=$(dpi_stats 2>&1)
check_re "brflow-dpi still answers dpi-stats" 'packets: [0-9]+' "$stats"
p1=$(dpi_stat '^packets:' "$stats")
check_gt "the handler saw the junk (packets counter grew by > 200)" "$((${p1:-0} - ${p0:-0}))" 200
echo "# $(grep -E '^(malformed packets|fragments|untracked packets|verdict errors|connections( classified| given up)?):' <<<"$stats" | tr '\n' ';')"

# it still does its job
http_start 2 8000 || not_ok "http server on h2:8000" "did not listen"
h0=$(flow_packets 'table=1,' 'dpi_proto=http')
check_http_ok "after the junk an HTTP request passes" 1 2 http://10.1.1.2:8000/
check_gt "after the junk HTTP is still classified (dpi_proto=http counts)" \
	"$(($(flow_packets 'table=1,' 'dpi_proto=http') - ${h0:-0}))" 0
h0=$(flow_packets 'table=1,' 'dpi_proto=http')
check_http_ok "after the junk an HTTP request over IPv6 passes" 1 2 "http://[fc00::2]:8000/"
check_gt "after the junk HTTP over IPv6 is classified (dpi_proto=http counts)" \
	"$(($(flow_packets 'table=1,' 'dpi_proto=http') - ${h0:-0}))" 0
check "brflow-dpi is still running at the end" dpi_alive

bf_done
