/* nfq_accept: the cheapest useful NFQUEUE handler, the baseline that
 * tests/bench/dpi.sh compares brflow-dpi against.  It looks at nothing and
 * lets every packet go on as brflow's pipeline expects from a handler:
 * NF_REPEAT with the packet mark | DPI_MARK_SEEN, so the pipeline runs again
 * and skips the queue.  It never labels a connection, so every packet of
 * every connection is queued (what an "inspect everything" handler costs).
 *
 * usage: nfq_accept QUEUE      (runs until SIGTERM/SIGINT)
 * Built by tests/bench/dpi.sh: cc nfq_accept.c -lnetfilter_queue -lmnl */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_SEEN 0x20000000u   /* DPI_MARK_SEEN in rules/dpi.h */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int send_cfg(struct mnl_socket *nl, uint16_t queue, int with_params)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	if (!with_params) {
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	} else {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		/* GSO packets whole, as brflow-dpi asks for them */
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
		nfq_nlmsg_cfg_put_qmaxlen(nlh, 4096);
	}
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

static int verdict(struct mnl_socket *nl, uint16_t queue, uint32_t id, uint32_t mark)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);

	nfq_nlmsg_verdict_put(nlh, id, NF_REPEAT);
	nfq_nlmsg_verdict_put_mark(nlh, mark | MARK_SEEN);
	return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct mnl_socket *nl = data;
	struct nfgenmsg *nfg;
	uint32_t mark = 0;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (attr[NFQA_MARK])
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	nfg = mnl_nlmsg_get_payload(nlh);
	return verdict(nl, ntohs(nfg->res_id), ntohl(ph->packet_id), mark);
}

int main(int argc, char **argv)
{
	char *buf = malloc(0xffff + (MNL_SOCKET_BUFFER_SIZE / 2));
	size_t size = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	struct mnl_socket *nl;
	uint16_t queue;
	struct sigaction sa = { .sa_handler = on_signal };
	int one = 1, ret;

	if (argc != 2 || !buf) {
		fprintf(stderr, "usage: nfq_accept QUEUE\n");
		return 2;
	}
	queue = (uint16_t)atoi(argv[1]);
	/* no SA_RESTART: a signal must interrupt the blocking recv */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_accept: netlink");
		return 1;
	}
	/* the queue can outrun us: keep going after ENOBUFS */
	mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (send_cfg(nl, queue, 0) || send_cfg(nl, queue, 1)) {
		perror("nfq_accept: queue config");
		return 1;
	}
	fprintf(stderr, "nfq_accept: listening on queue %u\n", queue);
	while (!stop) {
		ret = mnl_socket_recvfrom(nl, buf, size);
		if (ret < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("nfq_accept: recv");
			return 1;
		}
		if (mnl_cb_run(buf, ret, 0, mnl_socket_get_portid(nl), on_packet, nl) < 0 &&
		    errno != EINTR) {
			perror("nfq_accept: verdict");
			return 1;
		}
	}
	mnl_socket_close(nl);
	free(buf);
	return 0;
}
