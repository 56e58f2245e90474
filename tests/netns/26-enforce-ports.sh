#!/bin/bash
# Output-port enforcement with many ports, in the kernel: a packet from a brflow port
# leaves only by the port its flow chose (output:N), whichever of six ports that is; the
# bridge's own choice (its FDB) does not override a flow; a port on the bridge that
# brflow does not manage reaches no brflow port, but still reaches another such port.
# The enforce chain does this with one set lookup each, not a rule per port: its rule
# count stays the same when ports are added, and so does policing's in classify.
. "$(dirname "$0")/lib.sh"

bf_topology 6
bf_flows_check "the flows load" enforce-ports.flows

# unmanaged HOST: host HOST (10.1.1.HOST) on port pHOST of br0, added by ip, not brflow
unmanaged() {
	local i=$1 h
	h=$(hns "$i")
	bf_netns_add "$h" &&
		ip -n "$SW" link add "p$i" type veth peer name eth0 netns "$h" &&
		ip -n "$SW" link set "p$i" master "$BR" &&
		ip -n "$SW" link set "p$i" up &&
		ip -n "$h" addr add "10.1.1.$i/24" dev eth0 &&
		ip -n "$h" link set eth0 up
}
# not in check's subshell: bf_netns_add records the namespaces for the cleanup
if unmanaged 7 && unmanaged 8; then
	ok "hosts 7 and 8 join br0 by ip link, not add-port"
else
	not_ok "hosts 7 and 8 join br0 by ip link, not add-port" "ip failed"
fi
# rules LIST: the rules of chain LIST ("enforce" or "classify") in the kernel
rules() {
	ip netns exec "$SW" nft list chain bridge "brflow_$BR" "$1" 2>/dev/null |
		grep -cE '(accept|drop|@)'
}

ping_ok "output:6 from port 1 reaches h6, output:1 brings the replies back" 1 10.1.1.6
ping_blocked "output:4 for h5: the bridge sends it to p5, enforce drops it" 1 10.1.1.5
ping_ok "normal between two brflow ports passes" 2 10.1.1.5
ping_ok "two ports brflow does not manage still talk" 7 10.1.1.8
ping_blocked "a port brflow does not manage reaches no brflow port" 7 10.1.1.2
ping_blocked "...in either direction (the replies are from an unmanaged port)" 3 10.1.1.8

enforce_rules=$(rules enforce)
classify_rules=$(rules classify)
check_re "the kernel's enforce chain looks the output port up in one set" \
	'oifname \. meta mark & 0x80fff000 @outports accept' \
	"$(ip netns exec "$SW" nft list chain bridge "brflow_$BR" enforce 2>&1 | tr '\n\t' '  ')"
check_re "...which holds each port with its own number as the chosen output" \
	'"p6" \. 0x80006000' \
	"$(ip netns exec "$SW" nft list set bridge "brflow_$BR" outports 2>&1 | tr '\n\t' '  ')"
check "set-iface polices p1" bfctl set-iface p1 ingress_policing_rate=100000
classify_policed=$(rules classify)

for i in $(seq 9 16); do
	ip -n "$SW" link add "p$i" type veth peer name "q$i" >"$BF_DIR/out" 2>&1 &&
		ip -n "$SW" link set "p$i" up &&
		bfctl add-port "$BR" "p$i" >"$BF_DIR/out" 2>&1 ||
		not_ok "add-port p$i" "$(bf_oneline "$(cat "$BF_DIR/out")")"
	bfctl set-iface "p$i" ingress_policing_rate=100000 >"$BF_DIR/out" 2>&1 ||
		not_ok "set-iface p$i" "$(bf_oneline "$(cat "$BF_DIR/out")")"
done
check_eq "with 8 more ports, enforce has as many rules as before ($enforce_rules)" \
	"$enforce_rules" "$(rules enforce)"
check_eq "with 9 policed ports, classify has as many rules as with one ($classify_policed)" \
	"$classify_policed" "$(rules classify)"
check_eq "...one more than without policing" "$((classify_rules + 1))" "$classify_policed"
ping_ok "output:6 still reaches h6" 1 10.1.1.6
ping_blocked "output:4 for h5 is still dropped" 1 10.1.1.5
ping_blocked "an unmanaged port still reaches no brflow port" 7 10.1.1.2

bf_done
