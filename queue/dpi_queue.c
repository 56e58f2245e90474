/* NFQUEUE I/O with libmnl and libnetfilter_queue's nlmsg helpers
 * (dpi_queue.h). */
#include "dpi_queue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* A whole GSO packet (NFQA_CFG_F_GSO) plus its attributes. */
#define DPI_RECV_BUF (65536 + 4096)
_Static_assert(DPI_RECV_BUF % 4 == 0, "a datagram's padding fits in its buffer");
#define DPI_COPY_RANGE 0xffff
#define DPI_RCVBUF (8 << 20)

struct dpi_queue {
	uint16_t num;
	bool has_ct;
	struct mnl_socket *nl;
	unsigned int portid;
	uint8_t *rbuf;                       /* DPI_QUEUE_BATCH * DPI_RECV_BUF */
	struct mmsghdr msgs[DPI_QUEUE_BATCH];
	struct iovec iov[DPI_QUEUE_BATCH];
	uint8_t *vbuf;                       /* verdict batch */
	size_t vbuf_len;
};

/* Sends one config message with NLM_F_ACK and waits for the answer. */
static int config_send(struct dpi_queue *q, struct nlmsghdr *nlh)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, n, nlh->nlmsg_seq, q->portid, NULL, NULL) < 0 ? -1 : 0;
}

static int set_params(struct dpi_queue *q, const struct dpi_queue_opts *o,
		      uint32_t flags)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, DPI_COPY_RANGE);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, o->maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	return config_send(q, nlh);
}

static int configure(struct dpi_queue *q, const struct dpi_queue_opts *o,
		     char *err, size_t errlen)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t flags = NFQA_CFG_F_GSO;
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (config_send(q, nlh)) {
		snprintf(err, errlen, "cannot bind queue %u: %s%s", q->num,
			 strerror(errno),
			 errno == EBUSY ? " (another handler has it)" : "");
		return -1;
	}
	if (o->fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	/* EOPNOTSUPP for F_CONNTRACK: no NETFILTER_NETLINK_GLUE_CT. */
	q->has_ct = true;
	if (set_params(q, o, flags | NFQA_CFG_F_CONNTRACK) && errno == EOPNOTSUPP) {
		q->has_ct = false;
		errno = 0;
	}
	if (!q->has_ct && set_params(q, o, flags)) {
		snprintf(err, errlen, "cannot configure queue %u (copy, GSO, conntrack%s): %s",
			 q->num, o->fail_open ? ", fail-open" : "", strerror(errno));
		return -1;
	}
	return 0;
}

static void socket_tuning(struct dpi_queue *q)
{
	int fd = mnl_socket_get_fd(q->nl), one = 1, size = DPI_RCVBUF;

	/* Room for bursts; FORCE works as root, the plain one caps at rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* Losses show in the queue's drop counters; we do not want to read
	 * ENOBUFS instead of packets. */
	mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	mnl_socket_setsockopt(q->nl, NETLINK_EXT_ACK, &one, sizeof(one));
}

struct dpi_queue *dpi_queue_open(const struct dpi_queue_opts *o, char *err,
				 size_t errlen)
{
	struct dpi_queue *q = calloc(1, sizeof(*q));

	if (!q)
		goto oom;
	q->num = o->num;
	q->rbuf = malloc((size_t)DPI_QUEUE_BATCH * DPI_RECV_BUF);
	q->vbuf_len = (size_t)DPI_QUEUE_BATCH * 256;
	q->vbuf = malloc(q->vbuf_len);
	if (!q->rbuf || !q->vbuf)
		goto oom;
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "netlink socket for queue %u: %s", o->num,
			 strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	socket_tuning(q);
	if (configure(q, o, err, errlen))
		goto fail;
	for (int i = 0; i < DPI_QUEUE_BATCH; i++) {
		q->iov[i].iov_base = q->rbuf + (size_t)i * DPI_RECV_BUF;
		q->iov[i].iov_len = DPI_RECV_BUF;
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return q;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	dpi_queue_close(q);
	return NULL;
}

void dpi_queue_close(struct dpi_queue *q)
{
	if (!q)
		return;
	/* Closing the socket unbinds the queue in the kernel. */
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->rbuf);
	free(q->vbuf);
	free(q);
}

int dpi_queue_fd(const struct dpi_queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

uint16_t dpi_queue_num(const struct dpi_queue *q)
{
	return q->num;
}

bool dpi_queue_has_ct(const struct dpi_queue *q)
{
	return q->has_ct;
}

/* ---- reading ---- */

static int ct_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, CTA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static void parse_ct(const struct nlattr *nest, struct dpi_qpkt *p)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };

	if (mnl_attr_parse_nested(nest, ct_attr_cb, tb) < 0)
		return;
	if (tb[CTA_ID] && mnl_attr_get_payload_len(tb[CTA_ID]) >= 4) {
		p->has_ct = true;
		p->ctid = ntohl(mnl_attr_get_u32(tb[CTA_ID]));
	}
	if (tb[CTA_LABELS] &&
	    mnl_attr_get_payload_len(tb[CTA_LABELS]) >= DPI_LABEL_BYTES)
		memcpy(p->labels, mnl_attr_get_payload(tb[CTA_LABELS]),
		       DPI_LABEL_BYTES);
}

/* One NFQNL_MSG_PACKET.  Returns false if it is not a usable packet. */
static bool parse_packet(const struct nlmsghdr *nlh, struct dpi_qpkt *p)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nfqnl_msg_packet_hdr *ph;

	memset(p, 0, sizeof(*p));
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nfg)) ||
	    nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return false;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	p->queue = ntohs(nfg->res_id);
	p->id = ntohl(ph->packet_id);
	if (attr[NFQA_MARK])
		p->mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_CT])
		parse_ct(attr[NFQA_CT], p);
	if (attr[NFQA_PAYLOAD]) {
		p->payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		p->len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	return true;
}

/* ---- verdicts ---- */

static bool add_verdict(struct dpi_queue *q, struct mnl_nlmsg_batch *b,
			const struct dpi_qpkt *p, const struct dpi_verdict *v)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	nlh = nfq_nlmsg_put(mnl_nlmsg_batch_current(b), NFQNL_MSG_VERDICT, q->num);
	nfq_nlmsg_verdict_put(nlh, p->id, NF_REPEAT);
	nfq_nlmsg_verdict_put_mark(nlh, v->mark);
	if (v->set_labels) {
		nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put(nlh, CTA_LABELS, DPI_LABEL_BYTES, v->labels);
		mnl_attr_put(nlh, CTA_LABELS_MASK, DPI_LABEL_BYTES, v->mask);
		mnl_attr_nest_end(nlh, nest);
	}
	return mnl_nlmsg_batch_next(b);
}

static int flush(struct dpi_queue *q, struct mnl_nlmsg_batch *b)
{
	size_t len = mnl_nlmsg_batch_size(b);

	if (!len)
		return 0;
	if (mnl_socket_sendto(q->nl, mnl_nlmsg_batch_head(b), len) < 0)
		return -1;
	mnl_nlmsg_batch_reset(b);
	return 0;
}

/* Whether the message at nlh lies in the n bytes left.  mnl_nlmsg_ok alone
 * is not enough for bytes the kernel did not write: it compares the length
 * as an int, so one of 2 GiB or more passes as negative and mnl_nlmsg_next
 * would leave the buffer.  The last message may end unpadded: the kernel
 * appends a packet's payload without padding (nfnetlink_queue). */
static bool message_fits(const struct nlmsghdr *nlh, int n)
{
	return mnl_nlmsg_ok(nlh, n) && nlh->nlmsg_len <= (uint32_t)n;
}

int dpi_queue_parse_datagram(const uint8_t *buf, size_t len,
			     dpi_qpkt_fn on_packet, void *arg, int *errors)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int n = len > INT32_MAX ? INT32_MAX : (int)len, rc;

	for (; message_fits(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		struct dpi_qpkt p;

		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error)
				(*errors)++;
			continue;
		}
		if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET ||
		    !parse_packet(nlh, &p))
			continue;
		if ((rc = on_packet(&p, arg)))
			return rc;
	}
	return 0;
}

/* What answer_packet needs while one batch is read. */
struct batch {
	struct dpi_queue *q;
	struct mnl_nlmsg_batch *verdicts;
	dpi_packet_fn fn;
	void *arg;
	struct dpi_batch_result *res;
};

/* Decides one packet and queues its verdict; -1 if sending a full batch
 * of verdicts failed. */
static int answer_packet(const struct dpi_qpkt *p, void *arg)
{
	struct batch *b = arg;
	struct dpi_verdict v;

	memset(&v, 0, sizeof(v));
	v.mark = p->mark;
	b->fn(p, &v, b->arg);
	b->res->packets++;
	if (!add_verdict(b->q, b->verdicts, p, &v) && flush(b->q, b->verdicts))
		return -1;
	return 0;
}

int dpi_queue_run_batch(struct dpi_queue *q, dpi_packet_fn fn, void *arg,
			struct dpi_batch_result *res)
{
	struct batch batch = { .q = q, .fn = fn, .arg = arg, .res = res };
	struct mnl_nlmsg_batch *b;
	int n, rc = 0;

	memset(res, 0, sizeof(*res));
	n = recvmmsg(mnl_socket_get_fd(q->nl), q->msgs, DPI_QUEUE_BATCH,
		     MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			res->overrun = true;
			return 0;
		}
		return -1;
	}
	/* Room for one verdict per datagram; mnl flushes early if full. */
	b = mnl_nlmsg_batch_start(q->vbuf, q->vbuf_len / 2);
	if (!b) {
		errno = ENOMEM;
		return -1;
	}
	batch.verdicts = b;
	for (int i = 0; i < n && !rc; i++) {
		uint8_t *buf = q->iov[i].iov_base;
		size_t len = q->msgs[i].msg_len;

		/* libmnl reads attributes up to the padded end: the bytes past
		 * an unpadded datagram become zeros, not an older one's */
		memset(buf + len, 0, (4 - len % 4) % 4);
		rc = dpi_queue_parse_datagram(buf, len, answer_packet, &batch,
					      &res->errors);
	}
	if (!rc)
		rc = flush(q, b);
	mnl_nlmsg_batch_stop(b);
	return rc;
}
