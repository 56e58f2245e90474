/* Fuzzes brflow-dpi's per-packet path (queue/dpi_handler.c and what it
 * calls: dpi_pkt_parse, dpi_pkt_tuple, dpi_tuple_key, the connection
 * table, the nDPI glue, the host patterns) with a short sequence of queued
 * packets, as the queue would hand them over, without a kernel.
 *
 * Input: one mode byte, then per packet a meta byte and a 2-byte big-endian
 * length (masked to 2047) followed by that many bytes (fewer if the input
 * ends).  At most 16 packets.  Mode bit 0: no NFQA_CT, connections keyed
 * by tuple and labels "written" through a fake ctnetlink writer (bit 1:
 * the writes fail with ENOENT); bits 2-4: --max-packets - 1.  Meta bits
 * 0-1: ct id, bit 2: the packet has NFQA_CT, bit 3: its ct already carries
 * the done label, bit 4: conntrack reports the connection destroyed after
 * it, bits 5-7: milliseconds that pass before it.
 *
 * dpi_pkt_parse and dpi_pkt_tuple get each packet as an exactly-sized heap
 * copy, so ASan sees any read past its length.  The handler gets it ending
 * at a PROT_NONE page, so an over-read in (uninstrumented) nDPI faults too,
 * and the page itself is PROT_NONE once the verdict is given (nDPI must
 * not keep pointers into a packet).  The handler (connection table of 2,
 * nDPI flows, host patterns, counters) is created per input and freed at
 * the end; the nDPI detection module is built once per process (see
 * 'engine' below).
 *
 * Properties checked besides no crash/UB/leak/hang:
 *  - every verdict is the packet's mark | DPI_MARK_SEEN, and its labels,
 *    if any, are dpi_labels_build() of the connection's stored result
 *    (mask = bits 96..127, done bit set); no labels on the verdict when
 *    labels go through ctnetlink;
 *  - a packet dpi_pkt_parse rejects is counted (malformed, fragment or
 *    untracked; after_done once its connection is decided), and gets no
 *    labels and no ctnetlink write of its own (unless its connection was
 *    decided before it, or gave up on it at --max-packets);
 *  - an accepted packet's offsets lie inside it, and bytes after its IP
 *    length do not change how it parses; dpi_tuple_key is the same for
 *    both directions of the tuple; a ctnetlink write names the tuple of
 *    the connection it is keyed by.
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I/usr/include/ndpi \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -o /var/tmp/fuzz-dpi/fuzz_dpi tests/fuzz/fuzz_dpi.c queue/dpi_pkt.c \
 *     queue/dpi_conn.c queue/dpi_ndpi.c queue/dpi_handler.c \
 *     queue/dpi_config.c rules/dpi_protos.c -lndpi -lm -lgcrypt
 *   nice -n 10 /var/tmp/fuzz-dpi/fuzz_dpi -rss_limit_mb=2048 -timeout=10 \
 *     -max_total_time=900 -max_len=8192 /var/tmp/fuzz-dpi/corpus \
 *     tests/fuzz/corpus/dpi
 * (dpi_ctlabel.c is replaced by the fake writer below.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../queue/dpi_handler.h"
#include "../../queue/dpi_pkt.h"
#include "quiet_log.h"

#define MAX_PKTS 16
#define MAX_LEN 2047
#define PAGE 4096

/* nDPI's detection module takes ~30 ms to build, so one serves all inputs,
 * as one serves all connections in brflow-dpi; only its small LRU caches
 * (STUN, BitTorrent, ...) carry anything from one input to the next. */
static struct dpi_engine *engine;
/* Two slots of a data page and a PROT_NONE page; packets take turns, and
 * a slot's data page is inaccessible too but while its packet is handled,
 * so reading a packet after its verdict faults as well. */
static uint8_t *slots;
static unsigned slot;

/* The ctnetlink writer, faked: remembers the last write. */
struct dpi_ctlabel {
	int fail;
	int writes;
	struct dpi_tuple last;
};

int dpi_ctlabel_write(struct dpi_ctlabel *w, const struct dpi_tuple *t,
		      const uint16_t *zones, int n_zones,
		      const uint8_t *labels, const uint8_t *mask)
{
	(void)zones;
	(void)n_zones;
	(void)labels;
	(void)mask;
	w->writes++;
	w->last = *t;
	if (w->fail) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dpi: property broken: %s\n", what);
		abort();
	}
}

/* Offsets of an accepted packet, and the tuple key's symmetry. */
static void check_parse(const uint8_t *b, size_t n)
{
	struct dpi_pkt pk;
	struct dpi_tuple t, r;

	if (dpi_pkt_parse(b, n, &pk) != DPI_PKT_OK)
		return;
	check(pk.family == 4 || pk.family == 6, "family not 4 or 6");
	check(pk.l3len <= n && pk.l4off <= pk.payload_off &&
	      pk.payload_off <= pk.l3len, "offsets outside the packet");
	if (pk.l3len < n &&
	    (pk.family == 4 ? b[2] | b[3] : b[4] | b[5])) {
		/* Bytes after the IP length (link padding) change nothing. */
		uint8_t *cut = malloc(pk.l3len);
		struct dpi_pkt pc;

		if (!cut)
			abort();
		memcpy(cut, b, pk.l3len);
		check(dpi_pkt_parse(cut, pk.l3len, &pc) == DPI_PKT_OK &&
		      !memcmp(&pc, &pk, sizeof(pc)), "padding changes the parse");
		free(cut);
	}
	if (dpi_pkt_tuple(b, &pk, &t))
		return;
	r = t;
	memcpy(r.src, t.dst, 16);
	memcpy(r.dst, t.src, 16);
	r.sport = t.dport;
	r.dport = t.sport;
	check(dpi_tuple_key(&t) == dpi_tuple_key(&r), "tuple key not symmetric");
}

static void check_verdict(struct dpi_handler *h, const struct dpi_qpkt *p,
			  const struct dpi_verdict *v, uint64_t key)
{
	uint8_t l[DPI_LABEL_BYTES], m[DPI_LABEL_BYTES];
	struct dpi_conn *c;

	check(v->mark == (p->mark | DPI_MARK_SEEN), "mark not mark | SEEN");
	if (!v->set_labels)
		return;
	check(!h->writer, "labels on the verdict in ctnetlink mode");
	c = dpi_conn_find(&h->conns, key);
	check(c && c->done, "labels for a connection not decided");
	dpi_labels_build(c->proto, c->host_bits, l, m);
	check(!memcmp(l, v->labels, sizeof(l)) && !memcmp(m, v->mask, sizeof(m)),
	      "labels not the connection's result");
}

static void one_packet(struct dpi_handler *h, uint8_t meta,
		       const uint8_t *data, size_t n)
{
	struct dpi_verdict v = { .mark = 0 };
	struct dpi_qpkt p = { .mark = 0x80000001u | (uint32_t)meta << 8 };
	struct dpi_stats before = h->stats;
	struct dpi_ctlabel *w = h->writer;
	int writes = w ? w->writes : 0;
	bool was_done = false, rejected;
	struct dpi_tuple t;
	struct dpi_conn *c;
	struct dpi_pkt pk;
	uint8_t *b = malloc(n ? n : 1);
	uint64_t key = meta & 3;
	uint8_t *page;

	if (!b)
		return;
	memcpy(b, data, n);
	/* The handler reads it just before a guard page: libndpi is not
	 * instrumented, and an over-read there shows only as SIGSEGV. */
	slot ^= 1;
	page = slots + slot * 2 * PAGE;
	if (mprotect(page, PAGE, PROT_READ | PROT_WRITE))
		abort();
	memcpy(page + PAGE - n, data, n);
	p.payload = page + PAGE - n;
	p.len = n;
	p.has_ct = !h->writer && (meta & 4);
	p.ctid = meta & 3;
	if (p.has_ct && (meta & 8))
		p.labels[DPI_LABEL_DONE_BIT / 8] = 1u << (DPI_LABEL_DONE_BIT % 8);
	h->now_ms += meta >> 5;

	check_parse(b, n);
	rejected = dpi_pkt_parse(b, n, &pk) != DPI_PKT_OK;
	if (h->writer && !rejected && !dpi_pkt_tuple(b, &pk, &t))
		key = dpi_tuple_key(&t);
	c = dpi_conn_find(&h->conns, key);
	if (c && (p.has_ct || (h->writer && !rejected)))
		was_done = c->done;

	dpi_handler_packet(h, &p, &v);
	if (mprotect(page, PAGE, PROT_NONE))
		abort();
	check_verdict(h, &p, &v, key);
	check(h->stats.packets == before.packets + 1, "packet not counted");

	if (rejected && !(p.has_ct && (meta & 8))) {
		/* A decided connection's packets are not parsed again. */
		check(was_done || h->stats.malformed + h->stats.fragments +
		      h->stats.untracked > before.malformed +
		      before.fragments + before.untracked,
		      "rejected packet not counted");
		c = dpi_conn_find(&h->conns, key);
		if (!was_done && !(c && c->done && c->packets >= h->max_packets))
			check(!v.set_labels, "rejected packet labelled");
		if (w)
			check(w->writes == writes,
			      "ctnetlink write for a rejected packet");
	}
	if (w && w->writes != writes) {
		check(!rejected, "ctnetlink write for a packet without tuple");
		check(dpi_tuple_key(&w->last) == key,
		      "ctnetlink write names another connection");
	}
	if (meta & 16)
		dpi_handler_destroyed(h, key);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpi_ctlabel writer = { 0 };
	struct dpi_handler h;
	uint8_t mode;
	size_t off = 1;

	if (size < 1)
		return 0;
	mode = data[0];
	/* As dpi_handler_init, but with the process's one nDPI module. */
	if (!engine)
		engine = dpi_engine_new();
	if (!engine)
		abort();
	if (!slots) {
		slots = mmap(NULL, 4 * PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (slots == MAP_FAILED)
			abort();
	}
	memset(&h, 0, sizeof(h));
	h.max_packets = ((mode >> 2) & 7) + 1;
	h.engine = engine;
	if (dpi_conn_init(&h.conns, 2, dpi_flow_free))
		return 0;
	h.config.host[0] = strdup("*.example.com");
	h.config.host[5] = strdup("example.org");
	h.config.zones[0] = 7;
	h.config.n_zones = 1;
	if (mode & 1) {
		writer.fail = (mode >> 1) & 1;
		h.writer = &writer;
	}
	h.now_ms = 1000;
	for (int i = 0; i < MAX_PKTS && size - off >= 3; i++) {
		uint8_t meta = data[off];
		size_t n = ((size_t)data[off + 1] << 8 | data[off + 2]) & MAX_LEN;

		off += 3;
		if (n > size - off)
			n = size - off;
		one_packet(&h, meta, data + off, n);
		off += n;
	}
	check(h.conns.n <= 2, "connection table over its bound");
	h.writer = NULL;
	h.engine = NULL; /* kept for the next input */
	dpi_handler_free(&h);
	return 0;
}
