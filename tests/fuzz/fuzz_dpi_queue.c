/* Fuzzes brflow-dpi's reading of NFQUEUE datagrams (queue/dpi_queue.c:
 * dpi_queue_parse_datagram and the packet and conntrack attribute parsing
 * behind it) with the input as one datagram from the queue socket.
 *
 * Properties checked besides no crash/UB/leak:
 *  - every packet's payload lies inside the datagram, and packets come in
 *    the order of their messages;
 *  - no more packets or errors are reported than the datagram has room for
 *    messages of the smallest size that can carry them;
 *  - a walk stopped by the callback returns the callback's value, after
 *    exactly one packet, and only when there was a packet.
 *
 * The input is copied into a buffer of its own size rounded up to a
 * multiple of 4, the padding zeroed, as brflow-dpi's receive buffer holds a
 * datagram (malloc aligns it as that buffer is aligned); ASan sees reads
 * past its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include "../../queue/dpi_queue.h"
#include "quiet_log.h"

#define STOP_VALUE 7

struct walk {
	const uint8_t *start, *end;
	const uint8_t *last_payload;
	size_t packets;
	int ret;        /* what on_packet returns */
};

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dpi_queue: property broken: %s\n", what);
		abort();
	}
}

static int on_packet(const struct dpi_qpkt *p, void *arg)
{
	struct walk *w = arg;

	if (p->payload) {
		check(p->payload >= w->start && p->payload <= w->end,
		      "payload starts inside the datagram");
		check(p->len <= (size_t)(w->end - p->payload),
		      "payload ends inside the datagram");
		check(!w->last_payload || p->payload > w->last_payload,
		      "packets come in message order");
		w->last_payload = p->payload;
	} else {
		check(p->len == 0, "no payload, no length");
	}
	w->packets++;
	return w->ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a packet message: header, nfgenmsg, the packet header attribute */
	const size_t min_packet = NLMSG_LENGTH(sizeof(struct nfgenmsg)) +
		NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr);
	const size_t min_error = NLMSG_LENGTH(sizeof(struct nlmsgerr));
	size_t padded = (size + 3) / 4 * 4;
	uint8_t *copy = calloc(padded ? padded : 4, 1);
	struct walk all = { 0 }, first = { 0 };
	int errors = 0, errors_first = 0, rc;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	all.start = first.start = copy;
	all.end = first.end = copy + size;

	rc = dpi_queue_parse_datagram(copy, size, on_packet, &all, &errors);
	check(rc == 0, "a walk that is not stopped returns 0");
	check(all.packets <= size / min_packet, "packets fit the datagram");
	check(errors >= 0 && (size_t)errors <= size / min_error,
	      "errors fit the datagram");

	first.ret = STOP_VALUE;
	rc = dpi_queue_parse_datagram(copy, size, on_packet, &first, &errors_first);
	check(rc == (all.packets ? STOP_VALUE : 0),
	      "a stopped walk returns the callback's value");
	check(first.packets == (all.packets ? 1 : 0), "a stopped walk stops");
	free(copy);
	return 0;
}
