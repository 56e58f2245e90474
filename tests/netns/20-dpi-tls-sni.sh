#!/bin/bash
# DPI (issue 5): TLS passes only for allowed SNI names (openssl s_server/s_client):
# dpi_host=good.example (exact) and dpi_host=*.ok.example (suffix).
. "$(dirname "$0")/lib.sh"

PORT=4433
DPI_TOOLS=openssl

# s_server_start: a fresh openssl s_server on h2:$PORT.  s_server serves one connection
# at a time, and a blocked handshake would hold it (and make every later case look
# blocked), so each case gets its own.
S_SERVER=
s_server_start() {
	[ -n "$S_SERVER" ] && bf_kill "$S_SERVER"
	bf_bg "$(hns 2)" "$BF_DIR/s_server.log" timeout 100 openssl s_server -accept "$PORT" \
		-cert "$BF_DIR/cert.pem" -key "$BF_DIR/key.pem" -www
	S_SERVER=$BF_LAST
	wait_until 5 listening "$(hns 2)" t "$PORT"
}

# tls_get SRC SNI: a TLS handshake to h2:$PORT with server name SNI (none if "-") and
# one HTTP request over it; 0 if s_server's answer came back.
tls_get() {
	local sni=(-servername "$2")
	[ "$2" = - ] && sni=(-noservername)
	s_server_start || { echo "s_server did not listen on $PORT" >&2; return 2; }
	printf 'GET / HTTP/1.0\r\n\r\n' |
		ip netns exec "$(hns "$1")" timeout 6 openssl s_client -connect "10.1.1.2:$PORT" \
			"${sni[@]}" -quiet 2>/dev/null | grep -q '200 ok'
}

tls_ok() {
	if tls_get 1 "$2"; then
		ok "$1"
	else
		not_ok "$1" "TLS with SNI '$2' to h2:$PORT expected to complete, s_server's answer did not arrive"
	fi
}

tls_blocked() {
	if tls_get 1 "$2"; then
		not_ok "$1" "TLS with SNI '$2' to h2:$PORT expected to be blocked, s_server answered"
	else
		ok "$1"
	fi
}

dpi_topology 2
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=good.example -keyout "$BF_DIR/key.pem" -out "$BF_DIR/cert.pem" \
	>"$BF_DIR/out" 2>&1 || bf_setup_fail "openssl req: $(bf_oneline "$(cat "$BF_DIR/out")")"
s_server_start || bf_setup_fail "openssl s_server did not listen on $PORT"

# s_client and s_server talk without a policy (the new bridge's NORMAL flow)
tls_ok "without DPI, TLS with SNI bad.example completes" bad.example

dpi_start_check "brflow-dpi starts in the switch namespace" || bf_done
dpi_flows dpi-tls-sni.flows
check_eq "brflowd wrote the host table next to its socket (dpi.conf)" \
	"host 0 *.ok.example|host 1 good.example" \
	"$(grep -v '^#' "$BF_DIR/dpi.conf" 2>&1 | grep -v '^$' | tr '\n' '|' | sed 's/|$//')"
# the handler rereads the file when it changes (checked once a second)
wait_until 5 dpi_stat_is '^host patterns:' 2
check_eq "brflow-dpi picked up the 2 host patterns" 2 "$(dpi_stat '^host patterns:')"
bfctl flush-conntrack >/dev/null 2>&1

tls_ok "SNI good.example (exact pattern) completes the handshake and gets data" good.example
tls_ok "SNI www.ok.example (suffix pattern) completes" www.ok.example
tls_ok "SNI ok.example (the suffix pattern's own name) completes" ok.example
tls_ok "SNI GOOD.Example (names compare case-insensitively) completes" GOOD.Example
tls_blocked "SNI bad.example is blocked" bad.example
tls_blocked "SNI notok.example (not under ok.example) is blocked" notok.example
tls_blocked "SNI good.example.evil (exact pattern is not a prefix) is blocked" good.example.evil
tls_blocked "TLS without SNI is blocked" -

check_gt "the dpi_host=good.example flow counted" \
	"$(flow_packets 'dpi_host=good.example')" 0
check_gt "the dpi_host=*.ok.example flow counted" \
	"$(flow_packets 'dpi_host=*.ok.example')" 0
check_gt "the TLS drop flow counted" \
	"$(flow_packets 'priority=240' 'dpi_proto=tls')" 0
ct=$(ct_labels 2>&1 | grep "dport=$PORT ")
check_gt "a good.example connection is labelled tls + host bit 1 + done" \
	"$(grep -c "labels=$(dpi_label_hex 2 2)$" <<<"$ct")" 0
check_gt "an ok.example connection is labelled tls + host bit 0 + done" \
	"$(grep -c "labels=$(dpi_label_hex 2 1)$" <<<"$ct")" 0
check_gt "a blocked connection is labelled tls + done, no host bit" \
	"$(grep -c "labels=$(dpi_label_hex 2 0)$" <<<"$ct")" 0
check_re "dpi-stats counts TLS connections" 'protocol tls: connections [1-9]' "$(dpi_stats 2>&1)"

# a host table change reaches the handler: allowing bad.example lets it through
check "adding a dpi_host=bad.example flow succeeds" bfctl add-flow "$BR" \
	"table=1,priority=250,ct_state=+trk,dpi_proto=tls,dpi_host=bad.example,actions=normal"
check_re "dpi.conf now lists bad.example" 'host [0-9]+ bad\.example' "$(cat "$BF_DIR/dpi.conf" 2>&1)"
wait_until 5 dpi_stat_is '^host patterns:' 3
check_eq "brflow-dpi picked up the 3 host patterns" 3 "$(dpi_stat '^host patterns:')"
tls_ok "after the host table change SNI bad.example completes" bad.example
tls_ok "after the host table change SNI good.example still completes" good.example
tls_blocked "after the host table change SNI notok.example is still blocked" notok.example
check "brflow-dpi is still running" dpi_alive

bf_done
