#!/bin/bash
# The LOCAL port (issue 4): the switch namespace routes between two brflow bridges
# (gateways 10.1.1.254 on br0, 10.2.2.254 on br1); a routed packet leaves br0 for LOCAL
# (its pipeline must choose output:LOCAL) and enters br1 from LOCAL (br1's in_port=LOCAL
# flows decide), and the replies take the opposite way.  Flows in flows/local-br*.flows.
. "$(dirname "$0")/lib.sh"

bf_routed_topology 2 1
bf_flows_check "br0's flows load" local-br0.flows || bf_done
if out=$(bf_flows_on br1 local-br1.flows 2>&1); then
	ok "br1's flows load"
else
	not_ok "br1's flows load" "$(bf_oneline "$out")"
	bf_done
fi
check_re "dump-flows prints in_port=LOCAL and actions=LOCAL as ovs-ofctl does" \
	'priority=100,ip,in_port=1 actions=ct\(commit\),LOCAL.*in_port=LOCAL actions=ct\(table=1\)' \
	"$(bfctl --no-stats dump-flows br0 2>&1 | tr '\n' ' ')"

# routed h1 (br0) -> h3 (br1): allowed by both bridges, replies come back
tcp_ok "routed TCP h1->h3:5001 passes (br0 output:LOCAL, br1 in_port=LOCAL)" 1 3 10.2.2.3 5001
udp_ok "routed UDP h1->h3:6001 passes" 1 3 10.2.2.3 6001
ping_ok "routed ping h1->h3 passes, and its replies" 1 10.2.2.3
# one conntrack entry per routed connection, committed, in zone 0; read before the
# blocked attempts below wait out their timeouts: emulated, those waits can
# outlast the closed connection's conntrack timeout
check_ct_tcp "dump-conntrack shows the routed TCP connection once, as OVS does" 10.1.1.1 10.2.2.3 5001
# denied by br1's in_port=LOCAL flows
tcp_blocked "routed TCP h1->h3:5002 is blocked by br1 (no in_port=LOCAL flow)" 1 3 10.2.2.3 5002
udp_blocked "routed UDP h1->h3:6002 is blocked by br1" 1 3 10.2.2.3 6002
# denied by br0: h2's pipeline chooses output:1, not LOCAL
tcp_blocked "routed TCP h2->h3:5001 is blocked by br0 (h2's flow does not output to LOCAL)" 2 3 10.2.2.3 5001
ping_blocked "routed ping h2->h3 is blocked by br0" 2 10.2.2.3
# denied by br0's in_port=LOCAL flows: new connections from LOCAL are dropped
ping_blocked "routed ping h3->h1 is blocked by br0 (in_port=LOCAL, +new dropped)" 3 10.1.1.1
tcp_blocked "routed TCP h3->h1 is blocked by br0" 3 1 10.1.1.1 5003
# bridged traffic on br0 is still br0's business alone (br1's chains leave it alone)
udp_ok "bridged UDP h2->h1 passes on br0 with a second bridge present" 2 1 10.1.1.1 6003

# the host's own packets run in_port=LOCAL too
n=$(ip netns exec "$SW" timeout 15 ping -n -q -c 3 -i 0.2 -W 2 10.2.2.3 2>/dev/null |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
check_eq "the host pings h3 (br1 lets icmp in from LOCAL)" 3 "${n:-0}"
n=$(ip netns exec "$SW" timeout 15 ping -n -q -c 3 -i 0.2 -W 2 10.1.1.1 2>/dev/null |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
check_eq "the host's ping to h1 is blocked (br0: +new from LOCAL dropped)" 0 "${n:-0}"
ping_ok "h1 pings the gateway (output:LOCAL up, in_port=LOCAL +est back)" 1 10.1.1.254
ping_blocked "h2 cannot ping its gateway (its pipeline does not choose LOCAL)" 2 10.1.1.254

check_gt "br0's output:LOCAL flow counts" \
	"$(flow_packets 'in_port=1 actions=ct(commit),LOCAL')" 0
check_gt "br1's in_port=LOCAL TCP flow counts" \
	"$(flow_packets_on br1 'tcp,in_port=LOCAL,tp_dst=5001')" 0
check_gt "br0's in_port=LOCAL +est flow counts the routed replies" \
	"$(flow_packets 'table=1,' 'ct_state=+est+trk')" 0

# a bridge whose flows never name LOCAL leaves the host alone
check "br1 reloaded without LOCAL flows" bfctl replace-flows br1 - <<<'priority=0,actions=normal'
n=$(ip netns exec "$SW" timeout 15 ping -n -q -c 3 -i 0.2 -W 2 10.2.2.3 2>/dev/null |
	sed -n 's/.* \([0-9]*\) received.*/\1/p')
check_eq "with no LOCAL flow on br1 the host reaches h3 as before" 3 "${n:-0}"
ping_ok "routed ping h1->h3 passes (br0 still decides its side)" 1 10.2.2.3
ping_blocked "routed ping h2->h3 is still blocked by br0" 2 10.2.2.3

bf_done
