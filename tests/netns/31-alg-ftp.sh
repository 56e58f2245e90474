#!/bin/bash
# FTP through alg=ftp (issue 3) with a real server (python3-pyftpdlib) and curl: a
# non-standard control port (tp_dst=2121,...,ct(alg=ftp)), active and passive; the same
# policy without the helper refuses the data connections; active and passive through SNAT.
. "$(dirname "$0")/lib.sh"

bf_topology 2
need_tool "FTP server" "$(py3_with pyftpdlib || echo python3-pyftpdlib)"
URL=ftp://10.1.1.2:2121/brflow-ftp.txt

if bf_flows_check "FTP on port 2121 with alg=ftp loads" nat-ftp-2121.flows; then
	ftp_start 2 0.0.0.0 2121 || not_ok "ftp server on h2:2121" "did not listen"
	check_ftp "passive FTP on port 2121" 1 "$URL" 2
	check_ftp "passive FTP on port 2121 without EPSV" 1 "$URL" 2 --disable-epsv
	check_ftp "active FTP on port 2121" 1 "$URL" 2 --ftp-port -
	check_ftp "active FTP on port 2121 without EPRT" 1 "$URL" 2 --ftp-port - --disable-eprt
	check_re "dump-conntrack: the control connection has the ftp helper" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=2121\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=2121,dport=[0-9]+\),protoinfo=\(state=[A-Z_]+\),helper=ftp' \
		"$(ct_dump 2>&1)"
	check_re "dump-conntrack -m: a data connection names the control connection its parent" \
		',status=EXPECTED\|[A-Z_|]+,.*,parent=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=2121\)$' \
		"$(ct_dump -m 2>&1)"
	check_gt "active data connections were +new+rel from h2" \
		"$(flow_packets 'table=1,' 'ct_state=+new+rel+trk' 'in_port=2')" 0
	check_gt "passive data connections were +new+rel from h1" \
		"$(flow_packets 'table=1,' 'ct_state=+new+rel+trk' 'in_port=1')" 0
fi

bfctl del-flows "$BR" >/dev/null
bfctl flush-conntrack >/dev/null
if bf_flows_check "the same policy without alg=ftp loads" nat-ftp-2121-nohelper.flows; then
	check_ftp_fails "without the helper, passive FTP's data connection is refused" 1 "$URL"
	check_ftp_fails "without the helper, active FTP's data connection is refused" 1 "$URL" --ftp-port -
	check_re "the control connection itself was allowed (no helper)" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=2121\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.1,sport=2121,dport=[0-9]+\),protoinfo=\(state=[A-Z_]+\)$' \
		"$(ct_dump 2>&1 | grep 'dport=2121)' | head -1)"
	check_eq "no +new+rel packet was seen" 0 "$(flow_packets 'table=1,' 'ct_state=+new+rel+trk' 'in_port=2')"
fi

http_stop_all
bfctl del-flows "$BR" >/dev/null
bfctl flush-conntrack >/dev/null
neigh_static 2 10.1.1.240 1
if bf_flows_check "FTP through SNAT to 10.1.1.240 loads" nat-ftp-snat.flows; then
	ftp_start 2 0.0.0.0 21 || not_ok "ftp server on h2:21" "did not listen"
	check_ftp "passive FTP through SNAT" 1 ftp://10.1.1.2/brflow-ftp.txt 2
	check_ftp "passive FTP through SNAT without EPSV" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --disable-epsv
	check_ftp "active FTP through SNAT (PORT rewritten)" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --ftp-port - --disable-eprt
	check_ftp "active FTP through SNAT with EPRT" 1 ftp://10.1.1.2/brflow-ftp.txt 2 --ftp-port -
	check_re "the server saw the client as 10.1.1.240" '10\.1\.1\.240' "$(cat "$BF_DIR"/ftpd2.21.log)"
	check_re "dump-conntrack: the control connection, SNATed, with the helper" \
		'tcp,orig=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,sport=[0-9]+,dport=21\),reply=\(src=10\.1\.1\.2,dst=10\.1\.1\.240,sport=21,dport=[0-9]+\),protoinfo=\(state=[A-Z_]+\),helper=ftp' \
		"$(ct_dump 2>&1)"
	check_re "dump-conntrack: an active data connection to 10.1.1.240, DNATed back to h1" \
		'tcp,orig=\(src=10\.1\.1\.2,dst=10\.1\.1\.240,sport=[0-9]+,dport=[0-9]+\),reply=\(src=10\.1\.1\.1,dst=10\.1\.1\.2,' \
		"$(ct_dump 2>&1)"
fi

bf_done
