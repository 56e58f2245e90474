#!/bin/bash
# A state file that cannot be written: brflowd writes a bridge's state file while the
# kernel loads the new ruleset.  When the disk refuses (here a 256 KiB tmpfs that a
# policy of 20 000 flows does not fit), the change must not stay half-applied: the
# client gets the error, the kernel goes back to the ruleset the state file still holds,
# traffic follows the old policy, and the state file keeps the old flows.
. "$(dirname "$0")/lib.sh"

bf_topology 2
bf_flows_check "seed firewall 1 loads" seed1.flows || bf_done

# brflowd again, with its state dir on a small tmpfs in a mount namespace of its own
# (the mount goes with the daemon; nothing outside the test sees it)
SMALL=$BF_DIR/small
mkdir -p "$SMALL"
check "brflowd stops" bf_daemon_stop
if timeout 30 ip netns exec "$SW" unshare -m --propagation private sh -c '
	mount -t tmpfs -o size=256k,mode=0700 brflow-test "$1" &&
	cp -a "$3/state/." "$1/" &&
	exec "$2" --socket "$3/sock" --state-dir "$1" --pidfile "$3/pid" --detach' \
	sh "$SMALL" "$BRFLOWD" "$BF_DIR" >>"$BF_DIR/daemon.log" 2>&1
then
	BF_DAEMON_PID=$(cat "$BF_DIR/pid" 2>/dev/null)
	ok "brflowd starts with its state dir on a 256 KiB tmpfs"
else
	not_ok "brflowd starts with its state dir on a 256 KiB tmpfs" "$(bf_oneline "$(tail -3 "$BF_DIR/daemon.log")")"
	bf_done
fi
state_flows() {
	grep -c '^flow ' "/proc/$BF_DAEMON_PID/root$SMALL/$BR.bridge" 2>/dev/null || echo 0
}
flows0=$(bfctl --no-stats dump-flows "$BR" 2>&1)
rules0=$(nft_snapshot)
check_eq "the state file holds the 7 flows (the seed and the default flow)" 7 "$(state_flows)"
tcp_ok "h1->h2 passes under seed firewall 1" 1 2 10.1.1.2 5001

# 20 000 flows that would deny h1->h2 (no allow flow for in_port=1): about 2 MB of state
big=$BF_DIR/big.flows
{
	echo "table=0,priority=10,arp,actions=normal"
	echo "table=0,priority=1,actions=drop"
	for i in $(seq 0 19999); do
		echo "table=0,priority=50,tcp,in_port=2,nw_src=10.$((i / 250 + 100)).$((i % 250)).1,tp_dst=$((1000 + i % 50)),actions=normal"
	done
} >"$big"
out=$(bfctl replace-flows "$BR" "$big" 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ $out =~ "cannot write state" ]] && [[ $out =~ "keeps its previous flows" ]]; then
	ok "replace-flows fails, naming the state file and saying the old flows stay"
else
	not_ok "replace-flows fails, naming the state file and saying the old flows stay" \
		"exit $rc: $(bf_oneline "$out")"
fi
check_eq "dump-flows shows the seed flows" "$flows0" "$(bfctl --no-stats dump-flows "$BR" 2>&1)"
check_eq "the kernel runs the seed ruleset again" "$rules0" "$(nft_snapshot)"
tcp_ok "h1->h2 still passes (the denying policy did not stay)" 1 2 10.1.1.2 5001
check_eq "the state file still holds those 7 flows" 7 "$(state_flows)"
check "brflowd still answers" bfctl show

# a change that fits still works, and is saved
check "add-flow of one more flow succeeds" bfctl add-flow "$BR" "table=0,priority=5,icmp,actions=normal"
check_eq "the state file holds 8 flows" 8 "$(state_flows)"
bf_done
