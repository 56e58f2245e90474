/* One NFQUEUE queue over libmnl: binding and configuring it, reading
 * queued packets several at a time, and sending their verdicts together
 * in one sendmsg (a batch of verdict messages). */
#ifndef BRFLOW_DPI_QUEUE_H
#define BRFLOW_DPI_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DPI_QUEUE_BATCH 16      /* datagrams per recvmmsg */
#define DPI_LABEL_BYTES 16

/* A queued packet as the kernel described it. */
struct dpi_qpkt {
	uint16_t queue;
	uint32_t id;
	uint32_t mark;
	bool has_ct;            /* NFQA_CT with a CTA_ID */
	uint32_t ctid;
	uint8_t labels[DPI_LABEL_BYTES]; /* zero when the ct has none set */
	const uint8_t *payload; /* layer 3 onwards */
	size_t len;
};

/* What to answer: always NF_REPEAT with 'mark'; labels under 'mask' when
 * set_labels. */
struct dpi_verdict {
	uint32_t mark;
	bool set_labels;
	uint8_t labels[DPI_LABEL_BYTES];
	uint8_t mask[DPI_LABEL_BYTES];
};

struct dpi_queue;

struct dpi_queue_opts {
	uint16_t num;
	bool fail_open;         /* NFQA_CFG_F_FAIL_OPEN: accept when full */
	uint32_t maxlen;        /* queue length in packets */
};

/* Binds queue 'num'.  NULL on failure with a one-line reason in err. */
struct dpi_queue *dpi_queue_open(const struct dpi_queue_opts *o, char *err,
				 size_t errlen);
void dpi_queue_close(struct dpi_queue *q);
int dpi_queue_fd(const struct dpi_queue *q);
uint16_t dpi_queue_num(const struct dpi_queue *q);
/* Whether packets come with NFQA_CT and verdicts can set it: false on
 * kernels without NETFILTER_NETLINK_GLUE_CT (the queue works without). */
bool dpi_queue_has_ct(const struct dpi_queue *q);

/* Called for each packet of a batch; fills 'v' (pre-set to repeat with
 * the packet's mark). */
typedef void (*dpi_packet_fn)(const struct dpi_qpkt *p, struct dpi_verdict *v,
			      void *arg);

struct dpi_batch_result {
	int packets;            /* packets handled */
	int errors;             /* NLMSG_ERROR answers (failed verdicts) */
	bool overrun;           /* ENOBUFS: the socket lost messages */
};

/* Called for each packet dpi_queue_parse_datagram finds; nonzero stops
 * the walk. */
typedef int (*dpi_qpkt_fn)(const struct dpi_qpkt *p, void *arg);

/* Walks one datagram as the queue socket received it: calls on_packet for
 * each NFQNL_MSG_PACKET that has a packet header, in order, and counts in
 * *errors the NLMSG_ERROR answers that carry an error; malformed or other
 * messages are skipped.  Returns 0, or the first nonzero value on_packet
 * returned.  'buf' is 4-byte aligned and readable up to the next multiple
 * of 4 past 'len': libmnl reads attributes up to a message's padded end,
 * and the kernel sends the last message unpadded. */
int dpi_queue_parse_datagram(const uint8_t *buf, size_t len,
			     dpi_qpkt_fn on_packet, void *arg, int *errors);

/* Reads what is waiting (up to DPI_QUEUE_BATCH datagrams, without
 * blocking), calls fn per packet, and sends all verdicts in one sendmsg.
 * Returns 0, or -1 on a socket error (errno). */
int dpi_queue_run_batch(struct dpi_queue *q, dpi_packet_fn fn, void *arg,
			struct dpi_batch_result *res);

#endif
