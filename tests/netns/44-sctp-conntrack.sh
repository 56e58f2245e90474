#!/bin/bash
# SCTP through ct(commit): dump-conntrack prints an SCTP association's protoinfo as OVS
# does (its state and both verification tags, the same with -m), and flush-conntrack
# takes an SCTP tuple.  The hosts need no SCTP stack: they send hand-made packets (CRC32c
# and all) on raw sockets, an INIT and then the rest of a four-way handshake, after which
# conntrack calls the association ESTABLISHED.  (After the INIT alone this kernel says
# CLOSED, others COOKIE_WAIT: that check compares with conntrack -L.)
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/sctp.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=10,icmp,actions=normal
priority=10,sctp,actions=ct(commit),normal
priority=0,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/sctp.flows"

# sctp_send HOST DST SPORT DPORT VTAG CHUNK [TAG]: HOST sends DST one SCTP packet from
# SPORT to DPORT with verification tag VTAG and one chunk: INIT or INIT_ACK (whose
# initiate tag is TAG; INIT_ACK with a state cookie), COOKIE_ECHO or COOKIE_ACK
sctp_send() {
	ip netns exec "$(hns "$1")" timeout 10 python3 - "${@:2}" <<'PY'
import socket, struct, sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

dst, sport, dport, vtag, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
tag = int(sys.argv[6]) if len(sys.argv) > 6 else 0
cookie = b"brflow!!"
if kind in ("INIT", "INIT_ACK"):
    # initiate tag, a_rwnd, 10 streams each way, TSN; INIT_ACK: a State Cookie
    body = struct.pack("!IIHHI", tag, 65536, 10, 10, 1)
    if kind == "INIT_ACK":
        body += struct.pack("!HH", 7, 4 + len(cookie)) + cookie
    chunk = struct.pack("!BBH", 1 if kind == "INIT" else 2, 0, 4 + len(body)) + body
elif kind == "COOKIE_ECHO":
    chunk = struct.pack("!BBH", 10, 0, 4 + len(cookie)) + cookie
else:
    chunk = struct.pack("!BBH", 11, 0, 4)
header = struct.pack("!HHII", sport, dport, vtag, 0)
# SCTP's CRC32c goes in little-endian (RFC 9260, appendix A)
csum = struct.pack("<I", crc32c(header + chunk))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
s.sendto(header[:8] + csum + chunk, (dst, 0))
PY
}

# the hosts' neighbours first: a raw send does not wait for ARP
check "ping h1->h2" ip netns exec "$(hns 1)" ping -c 1 -W 2 10.1.1.2
# sctp_line SRC [OPTION]: dump-conntrack's line of the association SRC started
sctp_line() {
	local src=$1
	shift
	bfctl dump-conntrack "$@" 2>&1 | grep "^sctp,orig=(src=$src,"
}
# kernel_state SRC: the state conntrack -L gives SRC's association
kernel_state() { ct_look | grep "^sctp .* src=$1 " | awk '{ print $4 }'; }
check "h1 sends an SCTP INIT to h2" sctp_send 1 10.1.1.2 1001 2002 0 INIT 305419896
check_re "dump-conntrack prints it in OVS's format, the state and tags in protoinfo" \
	'^sctp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=1001,dport=2002\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=2002,dport=1001\),protoinfo=\(state=[A-Z_]+,vtag_orig=0,vtag_reply=305419896\)$' \
	"$(sctp_line 10.1.1.1)"
state=$(kernel_state 10.1.1.1)
check_re "...the state conntrack -L shows ($state)" "state=${state:-none}," "$(sctp_line 10.1.1.1)"
# h2 has no SCTP stack: the rest of the handshake is made by hand too
check "h2 answers with INIT_ACK" sctp_send 2 10.1.1.1 2002 1001 305419896 INIT_ACK 4023233417
check "h1 sends COOKIE_ECHO" sctp_send 1 10.1.1.2 1001 2002 4023233417 COOKIE_ECHO
check "h2 sends COOKIE_ACK" sctp_send 2 10.1.1.1 2002 1001 305419896 COOKIE_ACK
check_eq "after the handshake: ESTABLISHED, with both tags" \
	"sctp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1001,dport=2002),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2002,dport=1001),protoinfo=(state=ESTABLISHED,vtag_orig=4023233417,vtag_reply=305419896)" \
	"$(sctp_line 10.1.1.1)"
check_re "...the same protoinfo with -m" \
	'^sctp,orig=\(src=10\.1\.1\.1,.*\),id=[0-9]+,status=.*,protoinfo=\(state=ESTABLISHED,vtag_orig=4023233417,vtag_reply=305419896\)$' \
	"$(sctp_line 10.1.1.1 -m)"
check "h2 sends an INIT to h1" sctp_send 2 10.1.1.1 3003 4004 0 INIT 7
check_eq "two SCTP associations are tracked" 2 "$(bfctl dump-conntrack 2>&1 | grep -c '^sctp,')"
check "flush-conntrack of h1's by its SCTP tuple" bfctl flush-conntrack \
	"ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=132,ct_tp_src=1001,ct_tp_dst=2002"
check_re "...leaves h2's" \
	'^sctp,orig=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=3003,dport=4004\),reply=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=4004,dport=3003\),protoinfo=\(state=[A-Z_]+,vtag_orig=0,vtag_reply=7\)$' \
	"$(bfctl dump-conntrack 2>&1 | grep '^sctp,')"
bf_done
