#!/bin/bash
# DPI (issue 5): a real BitTorrent handshake is dropped once brflow-dpi names it,
# while HTTP on the same port passes.
. "$(dirname "$0")/lib.sh"

PORT=6881

# bt_server HOST: a BitTorrent peer on HOST:$PORT that prints "handshake" for each
# peer handshake it receives and answers it with its own for the same torrent.
bt_server() {
	bf_bg "$(hns "$1")" "$BF_DIR/bt.server" timeout 250 python3 -u -c '
import os, socket, sys
PSTR = b"\x13BitTorrent protocol"
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(8)
while True:
    c, peer = s.accept()
    c.settimeout(6)
    data = b""
    try:
        while len(data) < 68:
            d = c.recv(68 - len(data))
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    if len(data) == 68 and data.startswith(PSTR):
        print("handshake", flush=True)
        # same info_hash, our own peer id, then an empty bitfield message
        c.sendall(PSTR + bytes(8) + data[28:48] + b"-BF0001-" + os.urandom(12) +
                  b"\x00\x00\x00\x01\x05")
    else:
        print("no handshake (%d bytes)" % len(data), flush=True)
    c.close()
' "$PORT"
	wait_until 5 listening "$(hns "$1")" t "$PORT"
}

# bt_client SRC IP: a BitTorrent handshake to IP:$PORT; prints "peer handshake" (exit 0)
# when the peer answered with one, "no peer handshake" (exit 1) when the handshake was
# sent and nothing came back; anything else means it could not even be sent.
bt_client() {
	ip netns exec "$(hns "$1")" timeout 40 python3 -c '
import os, socket, sys
PSTR = b"\x13BitTorrent protocol"
info_hash = os.urandom(20)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4)
# reserved bits: extension protocol and DHT, as real clients send
s.sendall(PSTR + b"\x00\x00\x00\x00\x00\x10\x00\x05" + info_hash + b"-qB4500-" + os.urandom(12))
data = b""
try:
    while len(data) < 68:
        d = s.recv(68 - len(data))
        if not d:
            break
        data += d
except socket.timeout:
    pass
ok = len(data) == 68 and data.startswith(PSTR) and data[28:48] == info_hash
if ok:
    s.sendall(b"\x00\x00\x00\x01\x02")    # interested
print("peer handshake" if ok else "no peer handshake (%d bytes)" % len(data))
sys.exit(0 if ok else 1)
' "$2" "$PORT"
}

dpi_topology 2

# The Python peers speak BitTorrent: without a policy (the new bridge's NORMAL flow)
# they complete the handshake.
bt_server 2 || bf_setup_fail "BitTorrent peer on h2 did not listen on $PORT"
bt_pid=$BF_LAST
check "without DPI the BitTorrent peers exchange handshakes" bt_client 1 10.1.1.2
check_eq "without DPI the peer on h2 got one handshake" 1 "$(grep -c '^handshake' "$BF_DIR/bt.server")"

dpi_start_check "brflow-dpi starts in the switch namespace" || bf_done
dpi_flows dpi-bittorrent.flows
bfctl flush-conntrack >/dev/null 2>&1

# HTTP on the BitTorrent port passes, and is classified as HTTP
bf_kill "$bt_pid"
http_start 2 "$PORT" || not_ok "http server on h2:$PORT" "did not listen"
check_http_ok "HTTP to h2:$PORT passes through the DPI policy" 1 2 "http://10.1.1.2:$PORT/"
check_gt "the HTTP connection was classified (dpi_proto=http flow counts)" \
	"$(flow_packets 'table=1,' 'dpi_proto=http')" 0
check_eq "no HTTP packet matched dpi_proto=bittorrent" 0 \
	"$(flow_packets 'table=1,' 'dpi_proto=bittorrent')"
http_stop_all
bfctl flush-conntrack >/dev/null 2>&1

# BitTorrent on the same port is dropped
: >"$BF_DIR/bt.server"
bt_server 2 || not_ok "BitTorrent peer on h2" "did not listen on $PORT"
bt_pid=$BF_LAST
out=$(bt_client 1 10.1.1.2 2>&1)
check_re "with DPI the BitTorrent handshake is sent and gets no answer" '^no peer handshake' "$out"
check_eq "with DPI the peer on h2 got no handshake" 0 "$(grep -c '^handshake' "$BF_DIR/bt.server")"
check_gt "the dpi_proto=bittorrent drop flow counted the handshake" \
	"$(flow_packets 'table=1,' 'dpi_proto=bittorrent')" 0
stats=$(dpi_stats 2>&1)
check_re "dpi-stats counts a BitTorrent connection" 'protocol bittorrent: connections [1-9]' "$stats"
check_re "dpi-stats counts an HTTP connection" 'protocol http: connections [1-9]' "$stats"
check_eq "the BitTorrent connection carries the handler's labels (done, bittorrent)" \
	"$(dpi_label_hex 6 0)" "$(dpi_labels "dport=$PORT ")"

# HTTP still passes afterwards (the drop is per connection, not per port)
bf_kill "$bt_pid"
http_start 2 "$PORT" || not_ok "http server on h2:$PORT again" "did not listen"
check_http_ok "HTTP to h2:$PORT still passes after the BitTorrent drop" 1 2 "http://10.1.1.2:$PORT/"
check "brflow-dpi is still running" dpi_alive

bf_done
