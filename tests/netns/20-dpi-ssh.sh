#!/bin/bash
# DPI (issue 5): SSH is recognised, marked (ct_mark from a dpi_proto=ssh flow) and
# counted.  The peers are Python: banners and KEXINIT packets as OpenSSH sends them.
. "$(dirname "$0")/lib.sh"

PORT=2222

# The SSH peer: "server" listens on $PORT, "client" connects to IP; each sends its
# banner, reads the other's, sends a KEXINIT and reads the other's; prints "ssh-ok".
SSH_PEER='
import os, socket, struct, sys

def kexinit():
    lists = [b"curve25519-sha256,diffie-hellman-group14-sha256", b"ssh-ed25519,rsa-sha2-256",
             b"chacha20-poly1305@openssh.com,aes128-ctr", b"chacha20-poly1305@openssh.com,aes128-ctr",
             b"hmac-sha2-256", b"hmac-sha2-256", b"none", b"none", b"", b""]
    body = bytes([20]) + os.urandom(16)
    for l in lists:
        body += struct.pack(">I", len(l)) + l
    body += b"\x00" + bytes(4)
    pad = 8 - (len(body) + 5) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", len(body) + pad + 1, pad) + body + bytes(pad)

def readline(s):
    data = b""
    while not data.endswith(b"\n") and len(data) < 255:
        d = s.recv(1)
        if not d:
            break
        data += d
    return data

def readpacket(s):
    head = b""
    while len(head) < 5:
        d = s.recv(5 - len(head))
        if not d:
            return None
        head += d
    n = struct.unpack(">I", head[:4])[0] - 1
    body = b""
    while len(body) < n:
        d = s.recv(n - len(body))
        if not d:
            return None
        body += d
    return body

def talk(s, banner):
    s.settimeout(4)
    s.sendall(banner)
    if not readline(s).startswith(b"SSH-2.0-"):
        return False
    s.sendall(kexinit())
    p = readpacket(s)
    return p is not None and p[0] == 20

role, port = sys.argv[1], int(sys.argv[2])
if role == "server":
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        try:
            print("ssh-ok" if talk(c, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n") else "ssh-bad", flush=True)
        except OSError as e:
            print("ssh-error", e, flush=True)
        c.close()
else:
    s = socket.create_connection((sys.argv[3], port), timeout=4)
    good = talk(s, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    print("ssh-ok" if good else "ssh-bad")
    sys.exit(0 if good else 1)
'

ssh_client() {
	ip netns exec "$(hns "$1")" timeout 40 python3 -c "$SSH_PEER" client "$PORT" 10.1.1.2
}

dpi_topology 2
bf_bg "$(hns 2)" "$BF_DIR/ssh.server" timeout 200 python3 -u -c "$SSH_PEER" server "$PORT"
wait_until 5 listening "$(hns 2)" t "$PORT" || bf_setup_fail "SSH peer on h2 did not listen on $PORT"

dpi_start_check "brflow-dpi starts in the switch namespace" || bf_done
dpi_flows dpi-ssh.flows
bfctl flush-conntrack >/dev/null 2>&1
ssh0=$(dpi_stat '^protocol ssh: connections')

check "the SSH banners and KEXINITs pass" ssh_client 1
check "the SSH server saw the client's banner and KEXINIT" grep -qx ssh-ok "$BF_DIR/ssh.server"
check_gt "the dpi_proto=ssh flow counted the connection's later packets" \
	"$(flow_packets 'table=1,' 'dpi_proto=ssh')" 0
check_re "dump-conntrack shows the SSH connection with ct_mark 0x22" \
	"dport=$PORT\\),reply=.*,mark=34," "$(ct_dump 2>&1 | grep "dport=$PORT")"
check_eq "the SSH connection carries the handler's labels (done, ssh)" \
	"$(dpi_label_hex 4 0)" "$(dpi_labels "dport=$PORT ")"
ssh1=$(dpi_stat '^protocol ssh: connections')
check_gt "dpi-stats counts SSH" "$((${ssh1:-0} - ${ssh0:-0}))" 0

# a second connection is marked and counted too
n0=$(flow_packets 'table=1,' 'dpi_proto=ssh')
check "a second SSH connection passes" ssh_client 1
check_gt "the dpi_proto=ssh flow counted the second connection" \
	"$(($(flow_packets 'table=1,' 'dpi_proto=ssh') - n0))" 0
check_eq "both SSH connections carry ct_mark 0x22" 2 \
	"$(ct_dump 2>&1 | grep "dport=$PORT" | grep -c 'mark=34,')"

# plain TCP on another port is not SSH
tcp_ok "plain TCP passes" 1 2 10.1.1.2 5001
check_eq "plain TCP is not marked" 0 "$(ct_dump 2>&1 | grep 'dport=5001' | grep -c 'mark=34')"

bf_done
