#!/bin/bash
# Restart: stopping brflowd leaves the ruleset in force, an open TCP connection keeps
# flowing, and a new brflowd loads the same flows from the state dir.
. "$(dirname "$0")/lib.sh"

bf_topology 2
bf_flows_check "seed firewall 1 loads" seed1.flows || bf_done
conn_open c1 1 2 10.1.1.2 6000 || not_ok "long-lived connection" "could not open h1->h2:6000"
check "the open connection carries data" conn_send c1 before-stop

flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
rules0=$(nft_snapshot)
pkts0=$(flow_packets 'table=1,' 'ct_state=+est')
pid0=$BF_DAEMON_PID
check_eq "the control socket has mode 0600 and belongs to root" "600 root" \
	"$(stat -c '%a %U' "$BF_DIR/sock" 2>&1)"

check "brflowd exits on SIGTERM" bf_daemon_stop
check_fails "the pidfile is removed" test -e "$BF_DIR/pid"
check_fails "the socket is removed" test -e "$BF_DIR/sock"
check_eq "the kernel ruleset stays while brflowd is down" "$rules0" "$(nft_snapshot)"
check "the open connection carries data while brflowd is down" conn_send c1 while-down
tcp_ok "new connections follow the firewall while brflowd is down: h1->h2" 1 2 10.1.1.2 5001
tcp_blocked "new connections follow the firewall while brflowd is down: h2->h1" 2 1 10.1.1.1 5002
check_fails "brflowctl fails without a daemon" bfctl show

bf_start_again
if [[ $BF_DAEMON_PID =~ ^[0-9]+$ ]] && [ "$BF_DAEMON_PID" != "$pid0" ]; then
	ok "the pidfile names the new process"
else
	not_ok "the pidfile names the new process" "old PID $pid0, pidfile says '$BF_DAEMON_PID'"
fi
check_eq "dump-flows shows the same flows" "$flows0" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
check_eq "the kernel ruleset is the same" "$rules0" "$(nft_snapshot)"
check "the open connection carries data after the restart" conn_send c1 after-start
pkts1=$(flow_packets 'table=1,' 'ct_state=+est')
if [[ $pkts0 =~ ^[0-9]+$ ]] && [[ $pkts1 =~ ^[0-9]+$ ]] && [ "$pkts1" -gt "$pkts0" ]; then
	ok "n_packets survive the restart and keep counting"
else
	not_ok "n_packets survive the restart and keep counting" \
		"expected more than $pkts0 packets on the +est flow, got '$pkts1'"
fi
check_re "show lists the bridge and both ports" $'br0:\n 1\\(p1\\): addr:[0-9a-f:]{17}\n.*\n.*\n 2\\(p2\\): addr:' \
	"$(bfctl show 2>&1)"

# a second daemon on the same socket must refuse to start
ip netns exec "$SW" timeout 10 "$BRFLOWD" --socket "$BF_DIR/sock" --state-dir "$BF_DIR/state2" \
	--pidfile "$BF_DIR/pid2" --detach >"$BF_DIR/second.log" 2>&1
rc=$?
check_re "a second brflowd on the same socket refuses to start" "^[1-9]" "$rc"
check "the first brflowd still answers" bfctl dump-flows "$BR"
[ -s "$BF_DIR/pid2" ] && [ "$(cat "$BF_DIR/pid2")" != "$BF_DAEMON_PID" ] &&
	kill "$(cat "$BF_DIR/pid2")" 2>/dev/null

check "del-br succeeds" bfctl del-br "$BR"
check_eq "del-br removes brflow's nftables tables" "" \
	"$(ip netns exec "$SW" nft list tables 2>&1 | grep brflow_)"

bf_done
