#!/bin/bash
# Zones: the same 5-tuple tracked in two zones gives two entries differing only in zone.
. "$(dirname "$0")/lib.sh"

bf_topology 4
# hosts 3 and 4 take the addresses of hosts 1 and 2
for i in 3 4; do
	ip -n "$(hns $i)" addr flush dev eth0 scope global
	ip -n "$(hns $i)" addr add "10.1.1.$((i - 2))/24" dev eth0
done
bf_flows_check "overlapping-zones flows load" zones-overlap.flows || bf_done

# the same client port on both pairs, so both connections have one 5-tuple
tuple_conn() {
	local src=$1 dst=$2 sport=${3:-40000} out payload srv rc=1
	out=$(mktemp "$BF_DIR/zt.XXXXXX")
	payload="zone-pair-$src-$RANDOM"
	bf_bg "$(hns "$dst")" "$out" timeout 15 nc -4 -n -l 5001
	srv=$BF_LAST
	wait_until 5 listening "$(hns "$dst")" t 5001
	printf '%s\n' "$payload" |
		ip netns exec "$(hns "$src")" timeout 8 nc -4 -n -N -w 2 -p "$sport" 10.1.1.2 5001 >/dev/null 2>&1
	wait_until 2 grep -qx "$payload" "$out" && rc=0
	bf_kill "$srv"
	return $rc
}
check "pair 1-2: TCP 10.1.1.1:40000 -> 10.1.1.2:5001 passes in zone 1" tuple_conn 1 2
check "pair 3-4: the same tuple passes in zone 2" tuple_conn 3 4

ct=$(ct_dump 2>&1 | grep 'sport=40000,dport=5001')
z1=$(grep -c ',zone=1,' <<<"$ct")
z2=$(grep -c ',zone=2,' <<<"$ct")
check_eq "one entry in zone 1" 1 "$z1"
check_eq "one entry in zone 2" 1 "$z2"
check_eq "the two entries differ only in zone" 1 \
	"$(sed -e 's/,zone=[12],/,/' -e 's/state=[A-Z_]*/state=X/' <<<"$ct" | sort -u | wc -l)"

check "flush-conntrack zone=1 succeeds" bfctl flush-conntrack zone=1
ct=$(ct_dump 2>&1 | grep 'sport=40000,dport=5001')
check_eq "flushing zone 1 leaves only the zone 2 entry" 0 "$(grep -c ',zone=1,' <<<"$ct")"
check_eq "the zone 2 entry survives the flush of zone 1" 1 "$(grep -c ',zone=2,' <<<"$ct")"

# ovs-ofctl's spellings: ct-flush-zone BR N, ct-flush BR [zone=N] [TUPLE]
check "ct-flush-zone br0 2 succeeds" bfctl ct-flush-zone "$BR" 2
check_eq "ct-flush-zone br0 2 flushed zone 2" 0 "$(ct_dump zone=2 2>&1 | grep -c 'dport=5001')"
check "pair 1-2 from port 40001 in zone 1" tuple_conn 1 2 40001
check "pair 1-2 from port 40002 in zone 1" tuple_conn 1 2 40002
check_re "ct-flush names a bridge that does not exist" "no bridge named 'br9'" \
	"$(bfctl ct-flush br9 zone=1 2>&1)"
check "ct-flush br0 zone=1 with one connection's tuple succeeds" \
	bfctl ct-flush "$BR" zone=1 'ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=6,ct_tp_src=40001,ct_tp_dst=5001'
ct=$(ct_dump zone=1 2>&1)
check_eq "ct-flush flushed that connection" 0 "$(grep -c 'sport=40001,dport=5001' <<<"$ct")"
check_eq "... and not the other" 1 "$(grep -c 'sport=40002,dport=5001' <<<"$ct")"

# replies are only allowed in their own zone: h4's new connection is not +est
tcp_blocked "h4->h3 TCP is blocked (zone 2 has no entry for it)" 4 3 10.1.1.1 5002
tcp_blocked "h2->h1 TCP is blocked" 2 1 10.1.1.1 5003

bf_done
