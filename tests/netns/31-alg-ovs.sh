#!/bin/bash
# Open vSwitch system-traffic FTP and TFTP cases (alg=ftp, alg=tftp, with and without NAT),
# flows verbatim, real servers (python3-pyftpdlib as in OVS, tftpd-hpa) and curl as the
# client.  OVS's curl exit status 28 for a failure is any failure here (curl's 4 s bound).
# at_ns0/at_ns1 are hosts h1/h2.
. "$(dirname "$0")/lib.sh"

# known_gap CASE REASON: brflow does not match OVS here yet (the issue stays open for it);
# a skip that says why, unless BF_STRICT_OVS=1 runs the check anyway.
known_gap() {
	[ -n "${BF_STRICT_OVS:-}" ] && return 1
	skip "$1" "known gap: $2"
	return 0
}

bf_topology 2
need_tool "FTP server" "$(py3_with pyftpdlib || echo python3-pyftpdlib)"
need_tool "TFTP server" "$(command -v in.tftpd || echo in.tftpd)"

alg_case() {
	local i
	ovs_case "$1"
	for i in 1 2; do
		ip -n "$(hns "$i")" neigh flush all nud permanent 2>/dev/null
	done
}

# replace_flows FILE: ovs-ofctl --bundle replace-flows br0 FILE; 1 if refused.
replace_flows() {
	local out
	if out=$(bfctl --bundle replace-flows "$BR" "$FLOWS/$1" 2>&1); then
		ok "$OVS_CASE: $1 loads"
		return 0
	fi
	not_ok "$OVS_CASE: $1 loads" "$(bf_oneline "$out")"
	return 1
}

CT_FTP_CTL='tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>),helper=ftp'
CT_FTP_DATA_ACTIVE='tcp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'

# ftp_case TITLE PORT: OVS's "conntrack - FTP" (PORT 21) or "FTP non-standard port".
ftp_case() {
	local port=$2 sfx=
	[ "$port" = 21 ] || sfx=":$port"
	alg_case "$1"
	replace_flows ovs-nat-ftp1.flows || return
	ftp_start 1 0.0.0.0 "$port" || not_ok "$OVS_CASE: ftp server on h1" "did not listen"
	ftp_start 2 0.0.0.0 "$port" || not_ok "$OVS_CASE: ftp server on h2" "did not listen"
	check_ftp_fails "$OVS_CASE: flows1: FTP p1->p0 fails" 2 "ftp://10.1.1.1$sfx/brflow-ftp.txt" --ftp-port -
	check_ct "$OVS_CASE: flows1: no entry towards p0" 10.1.1.1 ""
	check_ftp "$OVS_CASE: flows1: active FTP p0->p1 works" 1 "ftp://10.1.1.2$sfx/brflow-ftp.txt" 2 --ftp-port -
	known_gap "$OVS_CASE: flows1: dump-conntrack" "brflow also lists the data connection, which the client's ct(commit) on its reply packets commits, in netfilter's direction (first packet: the server); OVS forgets the uncommitted connection, see LIMITATIONS in brflow-flows(7)" ||
		check_ct "$OVS_CASE: flows1: dump-conntrack" 10.1.1.2 "$CT_FTP_CTL"

	replace_flows ovs-nat-ftp2.flows || return
	bfctl flush-conntrack
	check_ftp_fails "$OVS_CASE: flows2: FTP p1->p0 fails" 2 "ftp://10.1.1.1$sfx/brflow-ftp.txt" --ftp-port -
	check_ct "$OVS_CASE: flows2: no entry towards p0" 10.1.1.1 ""
	check_ftp "$OVS_CASE: flows2: active FTP p0->p1 works" 1 "ftp://10.1.1.2$sfx/brflow-ftp.txt" 2 --ftp-port -
	check_ct "$OVS_CASE: flows2: dump-conntrack (active)" 10.1.1.2 "$CT_FTP_CTL
$CT_FTP_DATA_ACTIVE"
	bfctl flush-conntrack
	check_ftp "$OVS_CASE: flows2: passive FTP p0->p1 works" 1 "ftp://10.1.1.2$sfx/brflow-ftp.txt" 2
	check_ct "$OVS_CASE: flows2: dump-conntrack (passive)" 10.1.1.2 "$CT_FTP_CTL"

	replace_flows ovs-nat-ftp3.flows || return
	bfctl flush-conntrack
	check_ftp_fails "$OVS_CASE: flows3 (no ALG): active FTP p0->p1 fails" 1 "ftp://10.1.1.2$sfx/brflow-ftp.txt" --ftp-port -
	check_ct "$OVS_CASE: flows3: the control connection has no helper" 10.1.1.2 "${CT_FTP_CTL%,helper=ftp}"
}

ftp_case "conntrack - FTP" 21
ftp_case "conntrack - FTP non-standard port" 11111

alg_case "conntrack - TFTP"
CT_TFTP='udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),helper=tftp'
if replace_flows ovs-nat-tftp1.flows; then
	tftp_start 1 || not_ok "$OVS_CASE: tftp server on h1" "did not listen"
	tftp_start 2 || not_ok "$OVS_CASE: tftp server on h2" "did not listen"
	check_eq "$OVS_CASE: flows1: TFTP p1->p0 fails" "" "$(tftp_get 2 tftp://10.1.1.1/brflow-tftp.txt)"
	check_ct "$OVS_CASE: flows1: no entry towards p0" 10.1.1.1 ""
	check_eq "$OVS_CASE: flows1: TFTP p0->p1 works" brflow-tftp-2 "$(tftp_get 1 tftp://10.1.1.2/brflow-tftp.txt)"
	known_gap "$OVS_CASE: flows1: dump-conntrack" "brflow also lists the data connection, which the client's ct(commit) on its reply packets commits, in netfilter's direction (first packet: the server); OVS forgets the uncommitted connection, see LIMITATIONS in brflow-flows(7)" ||
		check_ct "$OVS_CASE: flows1: dump-conntrack" 10.1.1.2 "$CT_TFTP"
	if replace_flows ovs-nat-tftp2.flows; then
		bfctl flush-conntrack
		check_eq "$OVS_CASE: flows2: TFTP p1->p0 fails" "" "$(tftp_get 2 tftp://10.1.1.1/brflow-tftp.txt)"
		check_ct "$OVS_CASE: flows2: no entry towards p0" 10.1.1.1 ""
		check_eq "$OVS_CASE: flows2: TFTP p0->p1 works" brflow-tftp-2 "$(tftp_get 1 tftp://10.1.1.2/brflow-tftp.txt)"
		known_gap "$OVS_CASE: flows2: dump-conntrack" "brflow also lists the data connection, which the client's ct(commit) on its reply packets commits, in netfilter's direction (first packet: the server); OVS forgets the uncommitted connection, see LIMITATIONS in brflow-flows(7)" ||
			check_ct "$OVS_CASE: flows2: dump-conntrack" 10.1.1.2 "$CT_TFTP"
	fi
fi

alg_case "conntrack - IPv4 FTP Passive with SNAT"
neigh_static 1 10.1.1.2 2
neigh_static 2 10.1.1.1 10.1.1.240 1
if ovs_load ovs-nat-ftp-passive-snat.flows; then
	check "$OVS_CASE: ping p0->p1 comes up" wait_until 5 ip netns exec "$(hns 1)" ping -c 1 -W 1 10.1.1.2
	ftp_start 2 0.0.0.0 21 || not_ok "$OVS_CASE: ftp server on h2" "did not listen"
	check_ftp "$OVS_CASE: passive FTP with EPSV works" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --epsv
	check_ftp "$OVS_CASE: passive FTP without EPSV works" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --disable-epsv
	check_ct "$OVS_CASE: dump-conntrack" 10.1.1.2 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)
tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>),helper=ftp'
fi

alg_case "conntrack - IPv4 FTP Active with DNAT"
# OVS's at_ns1 has 10.1.1.240 (and is reached as 10.1.1.2 through the DNAT)
ip -n "$(hns 2)" addr del 10.1.1.2/24 dev eth0
ip -n "$(hns 2)" addr add 10.1.1.240/24 dev eth0
neigh_static 1 10.1.1.2 10.1.1.240 2
neigh_static 2 10.1.1.1 1
if ovs_load ovs-nat-ftp-active-dnat.flows; then
	check "$OVS_CASE: ping p0->p1 comes up" wait_until 5 ip netns exec "$(hns 1)" ping -c 1 -W 1 10.1.1.240
	ftp_start 2 0.0.0.0 21 || not_ok "$OVS_CASE: ftp server on h2" "did not listen"
	check_ftp "$OVS_CASE: active FTP with EPRT works" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --ftp-port - --eprt
	check_ftp "$OVS_CASE: active FTP without EPRT works" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --ftp-port - --disable-eprt
	check_ct "$OVS_CASE: dump-conntrack" 10.1.1.2 \
'tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.240,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>),helper=ftp
tcp,orig=(src=10.1.1.240,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)'
fi
ip -n "$(hns 2)" addr del 10.1.1.240/24 dev eth0
ip -n "$(hns 2)" addr add 10.1.1.2/24 dev eth0

alg_case "conntrack - IPv4 TFTP with SNAT"
neigh_static 1 10.1.1.2 2
neigh_static 2 10.1.1.1 10.1.1.240 1
if ovs_load ovs-nat-tftp-snat.flows; then
	check "$OVS_CASE: ping p0->p1 comes up" wait_until 5 ip netns exec "$(hns 1)" ping -c 1 -W 1 10.1.1.2
	tftp_start 1 || not_ok "$OVS_CASE: tftp server on h1" "did not listen"
	tftp_start 2 || not_ok "$OVS_CASE: tftp server on h2" "did not listen"
	check_eq "$OVS_CASE: TFTP p0->p1 works" brflow-tftp-2 "$(tftp_get 1 tftp://10.1.1.2/brflow-tftp.txt)"
	check_ct "$OVS_CASE: dump-conntrack" 10.1.1.2 \
'udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),helper=tftp
udp,orig=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>)'
fi

bf_done
