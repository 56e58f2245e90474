#!/bin/bash
# DPI (issue 5): when the handler is gone, dpi(fail=open) flows pass and dpi(fail=closed)
# flows drop; connections it had finished with keep flowing; a restarted handler brings
# the fail=closed flows back.
. "$(dirname "$0")/lib.sh"

MAXP=6

dpi_topology 2
dpi_start_check "brflow-dpi starts in the switch namespace" --max-packets "$MAXP" || bf_done
dpi_flows dpi-failmode.flows
bfctl flush-conntrack >/dev/null 2>&1

p0=$(dpi_stat '^packets:')
tcp_ok "handler running: fail=open TCP passes" 1 2 10.1.1.2 5001
tcp_ok "handler running: fail=closed TCP passes" 1 2 10.1.1.2 5002
check_gt "handler running: the handler saw the packets" "$(($(dpi_stat '^packets:') - ${p0:-0}))" 0
tcp_blocked "a port without a dpi flow is dropped (table miss)" 1 2 10.1.1.2 5003

# a long-lived fail=closed connection that the handler finishes with (gives up after
# $MAXP packets) before it dies
done_conn=0
if conn_open old 1 2 10.1.1.2 5012; then
	for i in $(seq 1 $((MAXP + 2))); do
		conn_send old "before-$i" || break
	done
	if wait_until 5 dpi_done dport=5012; then
		done_conn=1
		ok "the long-lived fail=closed connection is done before the handler dies"
	else
		not_ok "the long-lived fail=closed connection is done before the handler dies" \
			"labels '$(dpi_labels 'dport=5012')'; conntrack: $(bf_oneline "$(ct_look)")"
	fi
else
	not_ok "long-lived fail=closed connection" "could not open h1->h2:5012"
fi

dpi_kill KILL
check_fails "the handler is gone after SIGKILL" dpi_alive
tcp_ok "handler killed: fail=open TCP passes (bypass)" 1 2 10.1.1.2 5001
tcp_blocked "handler killed: fail=closed TCP is dropped" 1 2 10.1.1.2 5002
if [ $done_conn -eq 1 ]; then
	check "handler killed: the finished fail=closed connection keeps passing" \
		conn_send old after-kill
fi
udp_blocked "handler killed: the table miss still drops" 1 2 10.1.1.2 5003

dpi_start_check "brflow-dpi restarts" --max-packets "$MAXP" || bf_done
tcp_ok "handler back: fail=closed TCP passes again" 1 2 10.1.1.2 5002
tcp_ok "handler back: fail=open TCP passes" 1 2 10.1.1.2 5001

# SIGTERM is a clean exit, with the same effect on the flows
dpi_kill TERM
check_fails "the handler exits on SIGTERM" dpi_alive
tcp_blocked "handler stopped: fail=closed TCP is dropped" 1 2 10.1.1.2 5002
tcp_ok "handler stopped: fail=open TCP passes" 1 2 10.1.1.2 5001

bf_done
