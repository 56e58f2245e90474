#!/bin/bash
# DPI (issue 5): once a connection is classified (or the handler gave up on it), its
# packets stay in the kernel: the handler's packet counter stops growing while a bulk
# transfer keeps flowing over the same connection.
. "$(dirname "$0")/lib.sh"

MAXP=8

# stat_num FIELD: dpi_stat, 0 when missing.
stat_num() {
	local v
	v=$(dpi_stat "$1")
	echo "${v:-0}"
}

# table1_packets: every table=1 packet (the flows in dpi-bittorrent.flows see them all).
table1_packets() {
	local line sum=0
	while IFS= read -r line; do
		[[ $line == *table=1,* && $line =~ n_packets=([0-9]+) ]] &&
			sum=$((sum + BASH_REMATCH[1]))
	done < <(bfctl dump-flows "$BR" 2>&1)
	echo "$sum"
}

# bulk NAME PORT: writes about 4 MB of text over connection NAME (to h2:PORT) and
# checks that it all arrived and that the handler saw none of it.
bulk() {
	local name=$1 port=$2 p0 p1 d0 d1 f0 f1 size0 want
	sleep 0.5
	p0=$(dpi_stat '^packets:')
	d0=$(dpi_stat '^packets after done:')
	f0=$(table1_packets)
	size0=$(stat -c %s "$BF_DIR/$name.out")
	head -c 3000000 /dev/zero | base64 -w 100 >"$BF_DIR/$name.bulk"
	want=$((size0 + $(stat -c %s "$BF_DIR/$name.bulk")))
	cat "$BF_DIR/$name.bulk" >&"${BF_CONN_FD[$name]}"
	if wait_until 30 size_ge "$BF_DIR/$name.out" "$want"; then
		ok "$name: the bulk transfer (4 MB) arrives"
	else
		not_ok "$name: the bulk transfer (4 MB) arrives" \
			"h2 got $(($(stat -c %s "$BF_DIR/$name.out") - size0)) of $((want - size0)) bytes"
	fi
	sleep 0.5
	p1=$(dpi_stat '^packets:')
	d1=$(dpi_stat '^packets after done:')
	f1=$(table1_packets)
	check_gt "$name: the pipeline saw the bulk packets" "$((f1 - f0))" 30
	check_eq "$name: the handler's packet counter did not grow during the transfer" \
		"${p0:-none}" "${p1:-none}"
	check_eq "$name: the handler got no packet of the connection after it was done" \
		"${d0:-none}" "${d1:-none}"
}

dpi_topology 2
dpi_start_check "brflow-dpi starts (--max-packets $MAXP)" --max-packets "$MAXP" || bf_done
dpi_flows dpi-bittorrent.flows
bfctl flush-conntrack >/dev/null 2>&1

# --- an HTTP request classifies the connection
p0=$(dpi_stat '^packets:')
if conn_open web 1 2 10.1.1.2 8080; then
	printf 'GET /big HTTP/1.1\r\nHost: bulk.example\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n' \
		>&"${BF_CONN_FD[web]}"
	wait_until 5 grep -q 'Host: bulk.example' "$BF_DIR/web.out" ||
		not_ok "web: the request arrives" "h2 did not get it"
	wait_until 5 dpi_done dport=8080
	check_eq "web: the connection is labelled http + done" \
		"$(dpi_label_hex 1 0)" "$(dpi_labels 'dport=8080')"
	check_gt "web: the handler saw the connection's first packets" \
		"$(($(dpi_stat '^packets:') - ${p0:-0}))" 0
	bulk web 8080
	check_gt "web: the bulk packets matched dpi_proto=http" \
		"$(flow_packets 'table=1,' 'dpi_proto=http')" 30
else
	not_ok "web: connection" "could not open h1->h2:8080"
fi

# --- an unknown protocol: the handler gives up after $MAXP packets
p0=$(dpi_stat '^packets:')
g0=$(($(stat_num '^connections given up:') + $(stat_num '^connections classified:')))
if conn_open odd 1 2 10.1.1.2 8081; then
	for i in $(seq 1 $((MAXP + 4))); do
		conn_send odd "$(printf 'zq%04d%s' "$i" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')")" ||
			not_ok "odd: line $i arrives" "it did not"
	done
	wait_until 5 dpi_done dport=8081
	check_re "odd: the connection is labelled done" '^0x8[0-9a-f]{31}$' "$(dpi_labels 'dport=8081')"
	check_gt "odd: the handler counted the connection as given up (or classified)" \
		"$(($(stat_num '^connections given up:') + $(stat_num '^connections classified:') - g0))" 0
	p1=$(dpi_stat '^packets:')
	if [[ $p1 =~ ^[0-9]+$ ]] && [ "$((p1 - ${p0:-0}))" -le $((3 * MAXP)) ]; then
		ok "odd: the handler saw a bounded number of packets ($((p1 - ${p0:-0})))"
	else
		not_ok "odd: the handler saw a bounded number of packets" "$((p1 - ${p0:-0})) > $((3 * MAXP))"
	fi
	bulk odd 8081
else
	not_ok "odd: connection" "could not open h1->h2:8081"
fi
check "brflow-dpi is still running" dpi_alive

bf_done
