#!/bin/bash
# Load balancing with select groups (issue 3): weighted buckets that DNAT a VIP to
# backends.  400 connections spread by weight (each backend's share within 8 percentage
# points of its weight: about 3 standard deviations at n=400), a connection sticks to its
# backend even when the group changes, group commands as ovs-ofctl's (insert-buckets and
# remove-buckets too, alone and in a bundle); then OVS's
# "conntrack - DNAT load balancing" with its flows; an indirect group's one bucket
# runs and counts, an all group is refused.
. "$(dirname "$0")/lib.sh"

bf_topology 4
for i in 1 2 3 4; do
	ip -n "$(hns "$i")" link set eth0 address "80:88:88:88:88:$i$i"
done

B0='bucket=bucket_id:0,weight:50,actions=ct(commit,nat(dst=10.1.1.2:8080),table=4)'
B1='bucket=bucket_id:1,weight:30,actions=ct(commit,nat(dst=10.1.1.3:8080),table=4)'
B2='bucket=bucket_id:2,weight:20,actions=ct(commit,nat(dst=10.1.1.4:8080),table=4)'
N=400

if group_add "add-group with three weighted buckets" "group_id=1,type=select,$B0,$B1,$B2"; then
	groups=$(bfctl dump-groups "$BR" 2>&1)
	check_re "dump-groups prints the group as ovs-ofctl does" \
		"^ group_id=1,type=select,bucket=bucket_id:0,weight:50,actions=ct\(.*nat\(dst=10\.1\.1\.2:8080\).*\),bucket=bucket_id:1,weight:30,actions=.*,bucket=bucket_id:2,weight:20,actions=ct\(.*nat\(dst=10\.1\.1\.4:8080\)" \
		"$groups"
fi
bf_flows_check "flows with group:1 load" nat-lb.flows
# group_stat FIELD: a figure of group 1's line in dump-group-stats ("packet_count",
# "bucket0:packet_count", ...; bucket N is the N-th bucket, as in ovs-ofctl)
group_stat() {
	bfctl dump-group-stats "$BR" group_id=1 2>&1 | tr ',' '\n' |
		awk -F= -v k="$1" 'BEGIN { b = "" } /^bucket[0-9]+:/ { split($1, p, ":"); b = p[1] ":"; $1 = p[2] }
			b $1 == k { print $2 }'
}
check_re "dump-group-stats prints OVS's reply, one line per group" \
	"^OFPST_GROUP reply \(OF1\.3\) \(xid=0x2\):
 group_id=1,duration=[0-9.]+s,ref_count=1,packet_count=0,byte_count=0,bucket0:packet_count=0,byte_count=0,bucket1:packet_count=0,byte_count=0,bucket2:packet_count=0,byte_count=0\$" \
	"$(bfctl dump-group-stats "$BR" 2>&1)"
neigh_static 1 10.1.1.100 2
for i in 2 3 4; do
	line_server_start "$i" 8080 || not_ok "line server on h$i" "did not listen"
done

# sticky connection first, opened before the mass of connections
if lconn_open c1 1 10.1.1.100 80; then
	first=$(lconn_ask c1 a0)
	check_re "a connection to the VIP reaches a backend" '^h[234] a0$' "$first"
else
	not_ok "a connection to the VIP reaches a backend" "no connection: $(bf_oneline "$(cat "$BF_DIR/c1.lout")"); conntrack -L: $(bf_oneline "$(ct_look)")"
	first=
fi
sticky_backend=${first%% *}

counts=$(line_many 1 10.1.1.100 80 $N)
# share NAME HOST WEIGHT_PERCENT: the host's share of N within 8 points of its weight
share() {
	local n
	n=$(awk -v h="$2" '$1 == h {print $2}' <<<"$counts")
	n=${n:-0}
	if [ $((n * 100 / N - $3)) -le 8 ] && [ $(($3 - n * 100 / N)) -le 8 ]; then
		ok "$1"
	else
		not_ok "$1" "$2 got $n of $N connections ($((n * 100 / N))%), weight $3% (tolerance 8 points); all: $(bf_oneline "$counts")"
	fi
}
check_eq "all $N connections to the VIP were answered" "" "$(grep '^fail' <<<"$counts")"
share "h2 (weight 50) gets about half" h2 50
share "h3 (weight 30) gets about 30%" h3 30
share "h4 (weight 20) gets about 20%" h4 20

# Every connection's SYN goes through the group (later packets may take the early
# established path), so each bucket counted at least its backend's connections, and
# the group line is the sum of its buckets.
declare -A took
for b in 0 1 2; do
	took[$b]=$(group_stat "bucket$b:packet_count")
	n=$(awk -v h="h$((b + 2))" '$1 == h {print $2}' <<<"$counts")
	check "dump-group-stats: bucket $b (h$((b + 2))) counted its ${n:-0} connections (${took[$b]:-none})" \
		test "${took[$b]:-0}" -ge "${n:-1}"
done
check_eq "dump-group-stats: the group's packets are its buckets' sum" \
	"$((${took[0]:-0} + ${took[1]:-0} + ${took[2]:-0}))" "$(group_stat packet_count)"
check_gt "dump-group-stats: at least one SYN per connection, $N and the open one" \
	"$(group_stat packet_count)" "$N"
pkts=$(group_stat packet_count)
check "dump-group-stats: each packet counts once (at most 8 per connection)" \
	test "${pkts:-99999}" -le $((8 * (N + 1)))
# Linux's TCP segments carry timestamps: no frame of them is under 66 bytes (14 + 20
# + 32), where nftables alone would count 52 (from the IP header on)
check "dump-group-stats: bytes count whole frames, 66 or more each" \
	test "$(group_stat byte_count)" -ge $((66 * ${pkts:-1}))
# the kernel keeps the ruleset while brflowd is down; the counts carry over its restart
bf_daemon_stop && bf_daemon_start
check_eq "dump-group-stats: the counts survive a restart of brflowd" \
	"${pkts:-none}" "$(group_stat packet_count)"

check_ct "dump-conntrack shows the VIP connections DNATed to the backends" 10.1.1.100 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.100,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)
tcp,orig=(src=10.1.1.1,dst=10.1.1.100,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.3,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)
tcp,orig=(src=10.1.1.1,dst=10.1.1.100,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.4,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'

if [ -n "$sticky_backend" ]; then
	answers=
	for i in 1 2 3 4 5; do
		answers+="$(lconn_ask c1 "a$i" | cut -d' ' -f1) "
	done
	check_eq "the open connection stays on its backend" \
		"$sticky_backend $sticky_backend $sticky_backend $sticky_backend $sticky_backend " "$answers"
	# take the sticky backend out of the group: new connections avoid it, the open one
	# keeps it (its binding lives in conntrack)
	rest=
	for b in "$B0" "$B1" "$B2"; do
		[[ $b == *"10.1.1.${sticky_backend#h}:"* ]] || rest+=",$b"
	done
	check "mod-group removes ${sticky_backend}'s bucket" bfctl mod-group "$BR" "group_id=1,type=select$rest"
	check_eq "the open connection still reaches $sticky_backend after mod-group" \
		"$sticky_backend a6" "$(lconn_ask c1 a6)"
	after=$(line_many 1 10.1.1.100 80 30)
	check_eq "new connections avoid the removed backend" "" "$(grep -e "^$sticky_backend " -e '^fail' <<<"$after")"

	# OpenFlow 1.5's bucket commands put the backend back and take it out again
	for b in "$B0" "$B1" "$B2"; do
		[[ $b == *"10.1.1.${sticky_backend#h}:"* ]] && back=$b
	done
	back_id=${back#bucket=bucket_id:}
	back_id=${back_id%%,*}
	bucket_ids() {
		bfctl dump-groups "$BR" group_id=1 2>&1 | grep -o 'bucket_id:[0-9]*' | cut -d: -f2 |
			tr '\n' ' ' | sed 's/ $//'
	}
	others=$(bucket_ids)
	check "insert-buckets puts ${sticky_backend}'s bucket back, last" \
		bfctl insert-buckets "$BR" "group_id=1,command_bucket_id=last,$back"
	check_eq "dump-groups lists it after the others" "$others $back_id" "$(bucket_ids)"
	# at weight 20 or more, all of 60 connections miss it with odds under 2e-6
	after=$(line_many 1 10.1.1.100 80 60)
	check_gt "new connections reach $sticky_backend again ($(bf_oneline "$after"))" \
		"$(awk -v h="$sticky_backend" '$1 == h {print $2}' <<<"$after")" 0
	check "remove-buckets takes bucket $back_id out by its id" \
		bfctl remove-buckets "$BR" "group_id=1,command_bucket_id=$back_id"
	check_eq "dump-groups lists the other buckets only" "$others" "$(bucket_ids)"
	after=$(line_many 1 10.1.1.100 80 30)
	check_eq "new connections avoid $sticky_backend once more" "" \
		"$(grep -e "^$sticky_backend " -e '^fail' <<<"$after")"
	check_eq "the open connection still reaches $sticky_backend" \
		"$sticky_backend a7" "$(lconn_ask c1 a7)"
	check_re "removing a bucket the group lacks fails in one line" \
		"^brflowctl: remove-buckets: group: group 1 has no bucket $back_id at column 30\$" \
		"$(bfctl remove-buckets "$BR" "group_id=1,command_bucket_id=$back_id" 2>&1)"
	printf '%s\n' "group insert_bucket group_id=1,command_bucket_id=first,$back" \
		"group remove_bucket group_id=1,command_bucket_id=77" > "$BF_DIR/buckets.bundle"
	check_re "a bundle whose second bucket command fails names its line" \
		'^brflowctl: bundle: line 2: group: group 1 has no bucket 77 at column 30$' \
		"$(bfctl bundle "$BR" "$BF_DIR/buckets.bundle" 2>&1)"
	check_eq "...and inserted nothing" "$others" "$(bucket_ids)"
	printf '%s\n' "group insert_bucket group_id=1,command_bucket_id=first,$back" \
		"group remove_bucket group_id=1,command_bucket_id=last" > "$BF_DIR/buckets.bundle"
	check "a bundle inserts a bucket first and removes the last" \
		bfctl bundle "$BR" "$BF_DIR/buckets.bundle"
	check_eq "dump-groups: $back_id first, the last of the others gone" \
		"$back_id ${others% *}" "$(bucket_ids)"
	bf_restart
	check_eq "the buckets as changed survive a restart of brflowd" \
		"$back_id ${others% *}" "$(bucket_ids)"
fi

check "del-groups deletes the group" bfctl del-groups "$BR" group_id=1
check_eq "dump-groups is empty" "" "$(bfctl dump-groups "$BR" 2>&1)"
check_re "the flow that used the group is gone with it (as in OVS)" '^$' \
	"$(bfctl --no-stats dump-flows "$BR" 2>&1 | grep 'group:1')"

# OVS's "conntrack - DNAT load balancing", flows verbatim, ARP responder -> static entries
ovs_case "conntrack - DNAT load balancing"
bfctl del-groups "$BR" >/dev/null 2>&1
neigh_static 1 10.1.1.64 2
if group_add "$OVS_CASE: add-group" "group_id=234,type=select,bucket=weight=100,ct(nat(dst=10.1.1.2),commit,table=4),bucket=weight=100,ct(nat(dst=10.1.1.3),commit,table=4),bucket=weight=100,ct(nat(dst=10.1.1.4),commit,table=4)" &&
	ovs_load ovs-nat-lb.flows; then
	for i in 2 3 4; do
		ovs_l7 "$i"
	done
	fails=0
	for i in $(seq 1 50); do
		ovs_get_http 1 10.1.1.64 || fails=$((fails + 1))
		# nothing gets through: do not spend minutes on the rest
		[ "$fails" -ge 3 ] && [ "$fails" -eq "$i" ] && break
	done
	check_eq "$OVS_CASE: 50 requests to the VIP work" 0 "$fails"
	check_ct "$OVS_CASE: each server has at least one connection" 10.1.1.64 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.64,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)
tcp,orig=(src=10.1.1.1,dst=10.1.1.64,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.3,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)
tcp,orig=(src=10.1.1.1,dst=10.1.1.64,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.4,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'
fi

# groups are kept in id order, whatever the order they came in
group_add "add-group 17 after 234" "group_id=17,type=all,bucket=output:2"
group_add "add-group 90" "group_id=90,type=all,bucket=output:2"
check_eq "dump-groups lists them by id" "group_id=17 group_id=90 group_id=234" \
	"$(bfctl dump-groups "$BR" 2>&1 | grep -o 'group_id=[0-9]*' | tr '\n' ' ' | sed 's/ $//')"

# an indirect group runs its one bucket; an all group is refused at its first use
group_add "add-group indirect" "group_id=40,type=indirect,bucket=actions=ct(commit),output:2"
bfctl del-flows "$BR" >/dev/null
check "a flow using the indirect group loads" bfctl add-flow "$BR" "in_port=1,icmp,actions=group:40"
bfctl add-flow "$BR" "priority=10,arp,actions=normal" >/dev/null
bfctl add-flow "$BR" "in_port=2,icmp,actions=normal" >/dev/null
ping_ok "pings from h1 go through the indirect group's bucket" 1 10.1.1.2
check_re "dump-group-stats counts them in group 40 and its bucket" \
	'group_id=40,.*packet_count=3,byte_count=[0-9]+,bucket0:packet_count=3,' \
	"$(bfctl dump-group-stats "$BR" group_id=40 2>&1)"
check_re "the bucket's ct(commit) committed the pings" \
	'icmp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,' "$(ct_dump 2>&1)"
out=$(bfctl add-flow "$BR" "in_port=3,icmp,actions=group:17" 2>&1)
check_re "a flow using an all group is refused in one line" \
	'^brflowctl: .*group 17: only type=select and type=indirect groups are supported \(a packet has one output\)$' \
	"$out"

bf_done
