#!/bin/bash
# set_queue, pop_queue and enqueue, OVS's QoS actions: an htb qdisc on the switch's
# port 2 has a class per queue (queue N is class 1:N+1, in hex, as OVS's Linux
# datapath gives the egress priority), and its counters show which queue each of
# h1's packets to h2 went through: UDP by port (a queue set in the flow, one set
# before a resubmit, one set in a resubmitted table and handed back, enqueue's own
# queue, and no queue after pop_queue or without set_queue), a TCP connection
# committed by conntrack, and ARP from the bridge family's tables.  An output after a
# resubmit whose table sets the queue on some paths only is refused.
. "$(dirname "$0")/lib.sh"

bf_topology 2
cat >"$BF_DIR/queue.flows" <<'FLOWS'
priority=10,arp,actions=set_queue:9,normal
in_port=1,udp,tp_dst=5001,actions=set_queue:1,output:2
in_port=1,udp,tp_dst=5002,actions=enqueue:2:5
in_port=1,udp,tp_dst=5003,actions=set_queue:3,pop_queue,output:2
in_port=1,udp,tp_dst=5004,actions=set_queue:15,resubmit(,1)
in_port=1,udp,tp_dst=5005,actions=resubmit(,1)
in_port=1,tcp,tp_dst=5006,actions=ct(commit),set_queue:6,output:2
in_port=1,udp,tp_dst=5007,actions=resubmit(,4),output:2
in_port=2,ip,actions=normal
table=1,actions=output:2
table=4,actions=set_queue:10
FLOWS
check "the queue flows load" bfctl replace-flows "$BR" "$BF_DIR/queue.flows"
check_re "dump-flows prints enqueue and set_queue as written" \
	'udp,in_port=1,tp_dst=5002 actions=enqueue:2:5.*udp,in_port=1,tp_dst=5003 actions=set_queue:3,pop_queue,output:2' \
	"$(bfctl --no-stats --no-names dump-flows "$BR" 2>&1 | tr '\n' ' ')"

# htb classifies a packet whose priority is one of its leaf classes there, anything
# else to the default class 1:1
ip -n "$SW" link set p2 txqueuelen 1000
tc -n "$SW" qdisc add dev p2 root handle 1: htb default 1
for class in 1 2 4 6 7 a b 10; do
	tc -n "$SW" class add dev p2 parent 1: classid "1:$class" htb rate 1gbit quantum 1514
done
# class_packets CLASS: packets class 1:CLASS of port 2's qdisc sent
class_packets() {
	tc -s -n "$SW" class show dev p2 classid "1:$1" |
		sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt.*/\1/p'
}
# send_udp PORT N: h1 sends N datagrams to h2's UDP port PORT
send_udp() {
	ip netns exec "$(hns 1)" timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    s.sendto(b"q", ("10.1.1.2", int(sys.argv[1])))' "$1" "$2"
}

ip -n "$(hns 1)" neigh flush all
send_udp 5001 5
send_udp 5002 6
send_udp 5003 7
send_udp 5004 8
send_udp 5005 9
send_udp 5007 4
sleep 0.5
check_eq "set_queue:1,output:2: class 1:2" 5 "$(class_packets 2)"
check_eq "enqueue:2:5: class 1:6" 6 "$(class_packets 6)"
check_eq "set_queue:15 before a resubmit: class 1:10" 8 "$(class_packets 10)"
check_eq "set_queue:3,pop_queue leaves no queue: nothing in class 1:4" 0 "$(class_packets 4)"
check_eq "set_queue:10 in a resubmitted table, output after it returns: class 1:b" 4 \
	"$(class_packets b)"
check_gt "set_queue:9 on ARP (bridge-family tables): class 1:a" "$(class_packets a)" 0
check_gt "no queue (pop_queue, a table reached without one): the default class" \
	"$(class_packets 1)" 15

# queue-stats, as ovs-ofctl prints it: queue N is the class 1:N+1, here port 2's
qs=$(bfctl queue-stats "$BR" 2>&1)
check_eq "queue-stats lists port 2's eight queues (no other port has a qdisc)" \
	"OFPST_QUEUE reply (xid=0x2): 8 queues" "$(head -1 <<<"$qs")"
check_re "queue 1 (class 1:2) sent set_queue:1's 5 datagrams" \
	"^  port 2 queue 1: bytes=[0-9]+, pkts=5, errors=0, duration=\?$" "$(grep ' queue 1:' <<<"$qs")"
check_eq "queue-stats BR 2 5: enqueue:2:5's 6 datagrams alone" "OFPST_QUEUE reply (xid=0x2): 1 queues
  port 2 queue 5: bytes=$(tc -s -n "$SW" class show dev p2 classid 1:6 |
	sed -n 's/.*Sent \([0-9]*\) bytes.*/\1/p'), pkts=6, errors=0, duration=?" \
	"$(bfctl queue-stats "$BR" 2 5 2>&1)"
check_eq "queue-stats BR p1: a port without queues has none" "OFPST_QUEUE reply (xid=0x2): 0 queues" \
	"$(bfctl queue-stats "$BR" p1 2>&1)"
check_re "a queue no port has is an error naming it" "no port has queue 7 \(OFPQOFC_BAD_QUEUE\)" \
	"$(bfctl queue-stats "$BR" ANY 7 2>&1)"
check_re "a bad queue is named" "invalid queue 'x'" "$(bfctl queue-stats "$BR" 2 x 2>&1)"

line_server_start 2 5006 || not_ok "line server on h2:5006" "did not listen"
check_eq "TCP through ct(commit),set_queue:6 is answered" "h2 q" "$(line_ask 1 10.1.1.2 5006 q)"
check_gt "its segments to h2 went through class 1:7" "$(class_packets 7)" 2

bfctl add-flow "$BR" "table=3,icmp,icmp_type=8,actions=set_queue:1" >/dev/null
out=$(bfctl add-flow "$BR" "in_port=1,icmp,actions=resubmit(,3),output:2" 2>&1)
check_eq "an output after a resubmit whose table sets the queue on some paths only is refused" \
	1 "$?"
check_re "the refusal names the flow and says why" \
	"in_port=1 actions=resubmit\(,3\),output:2': an output after a resubmit whose table leaves different queues on different paths" "$out"
check_eq "... in one line" 1 "$(printf '%s\n' "$out" | wc -l)"

bf_done
