#!/bin/bash
# gen-policy.sh N [--iptables | --nft] [--ports P] [--ifprefix PFX] [--src IP]
#               [--bench-ports A,B] [--seed S]
#
# Prints a security-group-like policy of exactly N flows (N >= 10) for a bridge whose
# ports 1..P (default 2) exist, as an OVS flow file (what `brflowctl add-flows BR FILE`
# takes), or with --iptables the same policy as iptables-restore input for the FORWARD
# chain of a br_netfilter bridge.
#
# The policy: the seed firewall
#   table 0: priority=10,ip -> ct(table=1); priority=10,arp -> normal; priority=0 -> drop
#   table 1: priority=100 +trk+est -> normal, +trk+rel -> normal, +trk+inv -> drop;
#            priority=0 -> drop
# plus allow flows in table 1 at priorities 70, 60, 50 and 40:
#   priority=P,ct_state=+trk+new,tcp|udp,in_port=K,nw_src=A[/len],tp_dst=Q,
#   actions=ct(commit),normal
# with K in 1..64 (ports above P do not exist: real security-group tables cover many
# VMs), mostly /32 hosts from 172.16.0.0/12, every 10th a /24 from 10.64.0.0/10, every
# 25th a /28 from 192.168.0.0/16; distinct tuples, from a seeded generator (the same N
# and seed always give the same file).  The flows that let the benchmark's traffic pass
# (TCP from --src, default 10.1.1.1, on in_port=1 to each of --bench-ports, default
# 5201 (iperf3) and 7001 (connrate)) are in the middle of the file at the lowest allow
# priority, 40, so a linear evaluator walks most rules before it finds them.  Replies
# need no flow: they are +est.
#
# --iptables: one rule per flow in OpenFlow priority order (ties in file order), on
# FORWARD (policy DROP): ESTABLISHED/RELATED accept and INVALID drop where table 1 has
# them, then the allow rules (in_port=K is `-m physdev --physdev-in PFXK` for an existing
# port and the never-existing interface nxK otherwise, so the rule is evaluated but never
# matches), then a final DROP.  Table 0 needs no rule: only IPv4 reaches FORWARD.
#
# --nft: what one would write by hand in nftables (nft -f input): table inet bench_set
# whose forward chain (policy drop) accepts established and related, drops invalid,
# and accepts a new connection whose "ip saddr . ip protocol . th dport" is in one
# interval set holding every allow flow (CIDRs as ranges).  Priorities do not matter
# there (the allow flows never overlap in what they do), and in_port is left out: the
# inet hooks br_netfilter runs see the bridge, not its port, so a hand-written inet
# ruleset cannot tell ports apart (brflow marks them in the bridge family first).
set -euo pipefail

usage() {
	echo "usage: $0 N [--iptables | --nft] [--ports P] [--ifprefix PFX] [--src IP] [--bench-ports A,B] [--seed S]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
n=$1
shift
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 10 ] || { echo "gen-policy.sh: N must be a number >= 10, not '$n'" >&2; exit 2; }
mode=ovs ports=2 ifprefix=p src=10.1.1.1 bench_ports=5201,7001 seed=20261121
while [ $# -gt 0 ]; do
	case $1 in
	--iptables) mode=iptables ;;
	--nft) mode=nft ;;
	--ports) ports=${2:?}; shift ;;
	--ifprefix) ifprefix=${2:?}; shift ;;
	--src) src=${2:?}; shift ;;
	--bench-ports) bench_ports=${2:?}; shift ;;
	--seed) seed=${2:?}; shift ;;
	*) echo "gen-policy.sh: unknown option '$1'" >&2; usage ;;
	esac
	shift
done

exec awk -v n="$n" -v mode="$mode" -v ports="$ports" -v ifprefix="$ifprefix" \
	-v src="$src" -v bench_ports="$bench_ports" -v seed="$seed" '
# MINSTD: products stay below 2^53, exact in awk doubles
function rnd(m) { state = (state * 48271) % 2147483647; return state % m }

function addr(i,    c) {
	if (i % 10 == 0) {
		c = int(i / 10) % 16384
		return sprintf("10.%d.%d.0/24", 64 + int(c / 256), c % 256)
	}
	if (i % 25 == 5) {
		c = int(i / 25) % 4096
		return sprintf("192.168.%d.%d/28", int(c / 16), (c % 16) * 16)
	}
	c = i % 1048576
	return sprintf("172.%d.%d.%d", 16 + int(c / 65536), int(c / 256) % 256, c % 256)
}

# one allow flow, stored in order; key keeps the tuples distinct
function allow(prio, port, proto, a, dport) {
	na++
	A_prio[na] = prio; A_port[na] = port; A_proto[na] = proto
	A_src[na] = a; A_dport[na] = dport
	seen[port SUBSEP proto SUBSEP a SUBSEP dport] = 1
}

function gen_one(i,    prio, port, proto, a, dport, tries) {
	prio = prios[i % 4]
	for (tries = 0; ; tries++) {
		port = 1 + rnd(64)
		proto = rnd(4) == 0 ? "udp" : "tcp"
		a = addr(i + tries * 1048576 + tries)
		dport = rnd(10) < 6 ? common[rnd(ncommon)] : 1024 + rnd(60000)
		if (!((port SUBSEP proto SUBSEP a SUBSEP dport) in seen))
			break
	}
	allow(prio, port, proto, a, dport)
}

function ovs_flow(k) {
	return sprintf("table=1,priority=%d,ct_state=+trk+new,%s,in_port=%d,nw_src=%s,tp_dst=%d,actions=ct(commit),normal",
		A_prio[k], A_proto[k], A_port[k], A_src[k], A_dport[k])
}

function ipt_rule(k,    dev, s) {
	dev = A_port[k] <= ports ? ifprefix A_port[k] : "nx" A_port[k]
	s = A_src[k]
	if (s !~ /\//)
		s = s "/32"
	return sprintf("-A FORWARD -s %s -p %s -m physdev --physdev-in %s -m conntrack --ctstate NEW -m %s --dport %d -j ACCEPT",
		s, A_proto[k], dev, A_proto[k], A_dport[k])
}

BEGIN {
	state = seed % 2147483647
	if (state <= 0)
		state = 1
	split("70 60 50 40", p4, " ")
	for (i = 0; i < 4; i++)
		prios[i] = p4[i + 1]
	ncommon = split("22 80 443 53 123 3306 5432 6379 8080 8443 9100 11211 25 389 636", c, " ")
	for (i = 0; i < ncommon; i++)
		common[i] = c[i + 1]
	nbench = split(bench_ports, bp, ",")
	ngen = n - 7 - nbench
	if (ngen < 0) {
		print "gen-policy.sh: N too small for the seed firewall and the bench flows" > "/dev/stderr"
		exit 2
	}
	half = int(ngen / 2)
	for (i = 0; i < half; i++)
		gen_one(i)
	for (j = 1; j <= nbench; j++)
		allow(40, 1, "tcp", src, bp[j])
	for (i = half; i < ngen; i++)
		gen_one(i)

	if (mode == "ovs") {
		printf "# gen-policy.sh %d (seed %d): the seed firewall and %d allow flows\n", n, seed, na
		print "table=0,priority=10,ip,actions=ct(table=1)"
		print "table=0,priority=10,arp,actions=normal"
		print "table=0,priority=0,actions=drop"
		print "table=1,priority=100,ct_state=+trk+est,actions=normal"
		print "table=1,priority=100,ct_state=+trk+rel,actions=normal"
		print "table=1,priority=100,ct_state=+trk+inv,actions=drop"
		for (k = 1; k <= na; k++)
			print ovs_flow(k)
		print "table=1,priority=0,actions=drop"
		exit 0
	}
	if (mode == "nft") {
		printf "# gen-policy.sh %d --nft (seed %d)\n", n, seed
		print "table inet bench_set {"
		print "\tset allow {"
		print "\t\ttype ipv4_addr . inet_proto . inet_service"
		print "\t\tflags interval"
		printf "\t\telements = {"
		for (k = 1; k <= na; k++) {
			key = A_src[k] " . " A_proto[k] " . " A_dport[k]
			if (key in listed)	# the same tuple on another port
				continue
			listed[key] = 1
			printf "%s\n\t\t\t%s", (k > 1 ? "," : ""), key
		}
		print " }"
		print "\t}"
		print "\tchain forward {"
		print "\t\ttype filter hook forward priority 0; policy drop;"
		print "\t\tct state established accept"
		print "\t\tct state related accept"
		print "\t\tct state invalid drop"
		print "\t\tip saddr . ip protocol . th dport @allow ct state new accept"
		print "\t}"
		print "}"
		exit 0
	}
	printf "# gen-policy.sh %d --iptables (seed %d)\n", n, seed
	print "*filter"
	print ":INPUT ACCEPT [0:0]"
	print ":FORWARD DROP [0:0]"
	print ":OUTPUT ACCEPT [0:0]"
	print "-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT"
	print "-A FORWARD -m conntrack --ctstate RELATED -j ACCEPT"
	print "-A FORWARD -m conntrack --ctstate INVALID -j DROP"
	for (pi = 0; pi < 4; pi++)
		for (k = 1; k <= na; k++)
			if (A_prio[k] == prios[pi])
				print ipt_rule(k)
	print "-A FORWARD -j DROP"
	print "COMMIT"
}'
