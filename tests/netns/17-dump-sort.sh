#!/bin/bash
# dump-flows --sort[=FIELD] and --rsort[=FIELD] as ovs-ofctl orders flows: by priority
# (the default) or a match field, across tables; flows without the field last in both
# directions; a masked field by its value with the unmasked bits 0; several keys, the
# first the primary one; flows the keys do not tell apart in dump-flows' own order; with
# a pattern, --strict and --no-stats; unknown or empty field names refused in one line,
# also when they come over the socket unchecked.
. "$(dirname "$0")/lib.sh"

bf_topology 1
# each flow's cookie names it in the checks below
cat >"$BF_DIR/sort.flows" <<'FLOWS'
table=0,priority=10,cookie=0x1,ip,actions=ct(table=1)
table=0,priority=10,cookie=0x2,arp,actions=normal
table=0,priority=0,cookie=0x3,actions=drop
table=1,priority=100,cookie=0x4,ct_state=+trk+est,actions=normal
table=1,priority=50,cookie=0x5,tcp,nw_src=10.1.1.0/24,tp_dst=5002,actions=normal
table=1,priority=60,cookie=0x6,tcp,nw_src=10.1.1.1,tp_dst=5001,actions=normal
table=1,priority=40,cookie=0x7,udp,nw_src=10.1.0.255,tp_dst=53,actions=normal
table=1,priority=0,cookie=0x8,actions=drop
table=2,priority=200,cookie=0x9,tcp,tp_dst=22,actions=drop
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/sort.flows"

# order [OPTION...] BR [FLOW]: the cookies of dump-flows' lines, space-separated, in
# dump order (with stats when --no-stats is not among the options)
order() { bfctl dump-flows "$@" 2>&1 | grep -o 'cookie=0x[0-9a-f]*' | cut -d= -f2 | tr '\n' ' ' | sed 's/ $//'; }

check_eq "without --sort: by table, then priority (highest first), then as added" \
	"0x1 0x2 0x3 0x4 0x6 0x5 0x7 0x8 0x9" "$(order --no-stats "$BR")"
check_eq "--rsort: priority descending across tables (ties by table)" \
	"0x9 0x4 0x6 0x5 0x7 0x1 0x2 0x3 0x8" "$(order --no-stats --rsort "$BR")"
check_eq "--sort: priority ascending across tables" \
	"0x3 0x8 0x1 0x2 0x7 0x5 0x6 0x4 0x9" "$(order --no-stats --sort "$BR")"
check_eq "--sort=priority is --sort" \
	"0x3 0x8 0x1 0x2 0x7 0x5 0x6 0x4 0x9" "$(order --no-stats --sort=priority "$BR")"
check_eq "--rsort with statistics printed" \
	"0x9 0x4 0x6 0x5 0x7 0x1 0x2 0x3 0x8" "$(order --rsort "$BR")"
check_eq "--sort=tp_dst: ascending, the flows without tp_dst last in dump-flows' order" \
	"0x9 0x7 0x6 0x5 0x1 0x2 0x3 0x4 0x8" "$(order --no-stats --sort=tp_dst "$BR")"
check_eq "--rsort=tp_dst: descending, the flows without tp_dst still last" \
	"0x5 0x6 0x7 0x9 0x1 0x2 0x3 0x4 0x8" "$(order --no-stats --rsort=tp_dst "$BR")"
check_eq "--sort before the command works the same" \
	"0x9 0x7 0x6 0x5 0x1 0x2 0x3 0x4 0x8" "$(bfctl --no-stats --sort=tp_dst dump-flows "$BR" 2>&1 |
		grep -o 'cookie=0x[0-9a-f]*' | cut -d= -f2 | tr '\n' ' ' | sed 's/ $//')"
check_eq "--sort=nw_src: nw_src=10.1.1.0/24 sorts as 10.1.1.0, between 10.1.0.255 and 10.1.1.1" \
	"0x7 0x5 0x6 0x1 0x2 0x3 0x4 0x8 0x9" "$(order --no-stats --sort=nw_src "$BR")"
check_eq "--rsort=ip_src: an alias of nw_src" \
	"0x6 0x5 0x7 0x1 0x2 0x3 0x4 0x8 0x9" "$(order --no-stats --rsort=ip_src "$BR")"
check_eq "two keys: --sort=nw_proto --rsort=tp_dst (tcp before udp, then ports descending)" \
	"0x5 0x6 0x9 0x7 0x1 0x2 0x3 0x4 0x8" "$(order --no-stats --sort=nw_proto --rsort=tp_dst "$BR")"
check_eq "two keys: --rsort=dl_type --sort (arp, ip, none; each by priority ascending)" \
	"0x2 0x1 0x7 0x5 0x6 0x9 0x3 0x8 0x4" "$(order --no-stats --rsort=dl_type --sort "$BR")"
check_eq "the first key is the primary one: --sort --rsort=dl_type" \
	"0x3 0x8 0x2 0x1 0x7 0x5 0x6 0x4 0x9" "$(order --no-stats --sort --rsort=dl_type "$BR")"
check_eq "--sort=ct_state: the flow with ct_state first" \
	"0x4 0x1 0x2 0x3 0x6 0x5 0x7 0x8 0x9" "$(order --no-stats --sort=ct_state "$BR")"
check_eq "with a pattern: --rsort=tp_dst of table=1" \
	"0x5 0x6 0x7 0x4 0x8" "$(order --no-stats --rsort=tp_dst "$BR" table=1)"
check_eq "with a pattern: --sort=tp_dst of the tcp flows" \
	"0x9 0x6 0x5" "$(order --no-stats --sort=tp_dst "$BR" tcp)"
check_eq "with --strict: only the exact flow" \
	"0x8" "$(order --no-stats --strict --rsort "$BR" table=1,priority=0)"
check_re "dump-aggregate takes --sort and counts as before" \
	'flow_count=9$' "$(bfctl --rsort=tp_dst dump-aggregate "$BR" 2>&1)"

# err [OPTION...]: dump-flows' message and exit status
err() {
	local out rc
	out=$(bfctl dump-flows "$@" 2>&1)
	rc=$?
	echo "$out rc=$rc"
}
check_eq "an unknown field is one line naming it" \
	"brflowctl: dump-flows: unknown field 'nw_sorc' in --sort=nw_sorc rc=1" \
	"$(err "$BR" --sort=nw_sorc)"
check_eq "a shorthand is not a field" \
	"brflowctl: dump-flows: unknown field 'tcp' in --rsort=tcp rc=1" \
	"$(err "$BR" --rsort=tcp)"
check_eq "neither is table" \
	"brflowctl: dump-flows: unknown field 'table' in --sort=table rc=1" \
	"$(err --sort=table "$BR")"
check_eq "an empty field name is refused" \
	"brflowctl: dump-flows: missing field name in --sort= rc=1" "$(err "$BR" --sort=)"
check_eq "a bad key among good ones is refused too" \
	"brflowctl: dump-flows: unknown field 'tp_dts' in --rsort=tp_dts rc=1" \
	"$(err "$BR" --sort=nw_src --rsort=tp_dts --sort)"

hexof() { od -An -v -tx1 | tr -d ' \n'; }
# raw ARG...: sends one request of these strings to the socket, bypassing brflowctl;
# prints the reply's status byte and text, or "closed"
raw() {
	local hex
	hex=$(printf '%s\0' "$@" | hexof)
	timeout 20 python3 - "$BF_DIR/sock" "$(printf '%08x' $((${#hex} / 2)))$hex" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(8)
s.sendall(bytes.fromhex(sys.argv[2]))
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data[4:].decode() if len(data) > 4 else "closed")
PY
}
check_eq "over the socket: --sort=nw_src=1 is no field" \
	"1unknown field 'nw_src=1' in --sort=nw_src=1" "$(raw --sort=nw_src=1 dump-flows "$BR")"
check_eq "over the socket: --sortx is an unknown option" \
	"1unknown option '--sortx'" "$(raw --sortx dump-flows "$BR")"
check_eq "over the socket: --rsort= names no field" \
	"1missing field name in --rsort=" "$(raw --rsort= dump-flows "$BR")"
# brflowctl -O's version travels as --openflow=N (N = 11 to 15; 10 is the default)
check_eq "over the socket: --openflow=16 is refused, naming it" \
	"1--openflow=16: unknown OpenFlow version (10 to 15)" "$(raw --openflow=16 dump-flows "$BR")"
check_eq "over the socket: --openflow= is refused" \
	"1--openflow=: unknown OpenFlow version (10 to 15)" "$(raw --openflow= dump-flows "$BR")"
out=$(raw --openflow=13 --no-stats dump-flows "$BR")
check_re "over the socket: --openflow=13 is taken" "^0 cookie=" "${out%%$'\n'*}"
many=()
for i in $(seq 1 60); do many+=(--sort=reg$((i % 8)) --rsort); done
check_re "over the socket: 60 keys, most repeated, sort as their first ones" \
	"^0 cookie=0x9, " "$(raw "${many[@]:0:60}" --no-stats dump-flows "$BR" | head -1)"
check_re "the daemon still answers" "cookie=0x9" "$(bfctl dump-flows "$BR" 2>&1)"
bf_done
