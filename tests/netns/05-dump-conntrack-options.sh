#!/bin/bash
# dump-conntrack -m and -s, as ovs-appctl dpctl/dump-conntrack prints them: -m adds the
# connection's id, its status bits and TCP's state per end with window scales and flags;
# -s each direction's packets and bytes (the switch namespace counts them:
# nf_conntrack_acct), the start time (nf_conntrack_timestamp) and the seconds left.
. "$(dirname "$0")/lib.sh"

bf_topology 2
ip netns exec "$SW" sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
cat >"$BF_DIR/ct.flows" <<'FLOWS'
priority=10,arp,actions=normal
priority=10,ip,actions=ct(table=1,zone=7)
table=1,priority=10,ct_state=+trk+new,ip,actions=ct(commit,zone=7,exec(set_field:0x5->ct_mark)),normal
table=1,priority=10,ct_state=+trk+est,ip,actions=normal
FLOWS
check "the flows load" bfctl replace-flows "$BR" "$BF_DIR/ct.flows"
conn_open c1 1 2 10.1.1.2 6000 || not_ok "a TCP connection h1->h2:6000" "could not open it"
check "the connection carries data" conn_send c1 hello-brflow

tuples='tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=6000\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=6000,dport=[0-9]+\)'
check_re "without options, OVS's plain format" \
	"^$tuples,zone=7,mark=5,protoinfo=\(state=ESTABLISHED\)$" "$(ct_dump 2>&1 | grep dport=6000)"
check_re "-m: the id, the status bits, TCP's state per end, window scales and flags" \
	"^$tuples,id=[0-9]+,zone=7,status=SEEN_REPLY\|ASSURED\|CONFIRMED,mark=5,protoinfo=\(state_orig=ESTABLISHED,state_reply=ESTABLISHED,wscale_orig=[0-9]+,wscale_reply=[0-9]+,flags_orig=WINDOW_SCALE\|SACK_PERM[A-Z_|]*,flags_reply=WINDOW_SCALE\|SACK_PERM[A-Z_|]*\)$" \
	"$(ct_dump -m 2>&1 | grep dport=6000)"
stats='tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=6000,packets=[0-9]+,bytes=[0-9]+\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=6000,dport=[0-9]+,packets=[0-9]+,bytes=[0-9]+\),start=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}'
line=$(ct_dump -s 2>&1 | grep dport=6000)
check_re "-s: packets and bytes each way, the start time and the seconds left" \
	"^$stats,zone=7,timeout=[0-9]+,mark=5,protoinfo=\(state=ESTABLISHED\)$" "$line"
packets=0 bytes=0 left=0
[[ $line =~ dport=6000,packets=([0-9]+),bytes=([0-9]+)\) ]] &&
	packets=${BASH_REMATCH[1]} bytes=${BASH_REMATCH[2]}
[[ $line =~ timeout=([0-9]+) ]] && left=${BASH_REMATCH[1]}
check_gt "-s: h1's side sent packets" "$packets" 2
check_gt "-s: ... and more bytes than its 13-byte message" "$bytes" 13
established=$(ip netns exec "$SW" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)
check_gt "-s: the seconds left are the established timeout's, nearly all" "$left" $((established - 60))
check_re "-m -s together, in OVS's order" \
	"^$stats,id=[0-9]+,zone=7,status=SEEN_REPLY\|ASSURED\|CONFIRMED,timeout=[0-9]+,mark=5,protoinfo=\(state_orig=ESTABLISHED," \
	"$(bfctl --statistics dump-conntrack --more 2>&1 | grep dport=6000)"
check_re "zone=N still selects" "^$tuples,id=" "$(ct_dump -m zone=7 2>&1 | grep dport=6000)"
check_eq "... and another zone has none of it" "" "$(ct_dump -m -s zone=8 2>&1)"
conn_close c1

bf_done
