/* Per-packet logic (dpi_handler.h). */
#include "dpi_handler.h"

#include <string.h>

#include "dpi_pkt.h"
#include "../src/log.h"

int dpi_handler_init(struct dpi_handler *h, uint32_t max_packets,
		     size_t max_conns)
{
	memset(h, 0, sizeof(*h));
	h->max_packets = max_packets ? max_packets : 1;
	h->engine = dpi_engine_new();
	if (!h->engine)
		return -1;
	if (dpi_conn_init(&h->conns, max_conns, dpi_flow_free)) {
		dpi_engine_free(h->engine);
		return -1;
	}
	return 0;
}

void dpi_handler_free(struct dpi_handler *h)
{
	dpi_conn_destroy(&h->conns);
	dpi_engine_free(h->engine);
	dpi_config_free(&h->config);
}

static void set_bit(uint8_t *b, unsigned n)
{
	b[n / 8] |= (uint8_t)(1u << (n % 8));
}

void dpi_labels_build(uint8_t proto, uint16_t host_bits, uint8_t *labels,
		      uint8_t *mask)
{
	memset(labels, 0, DPI_LABEL_BYTES);
	memset(mask, 0, DPI_LABEL_BYTES);
	for (unsigned i = DPI_LABEL_USER_BITS; i < DPI_LABEL_BYTES * 8; i++)
		set_bit(mask, i);
	for (unsigned i = 0; i < DPI_MAX_HOSTS; i++)
		if (host_bits & (1u << i))
			set_bit(labels, DPI_LABEL_HOST_SHIFT + i);
	for (unsigned i = 0; i < DPI_LABEL_PROTO_BITS; i++)
		if (proto & (1u << i))
			set_bit(labels, DPI_LABEL_PROTO_SHIFT + i);
	set_bit(labels, DPI_LABEL_DONE_BIT);
}

static int label_done(const uint8_t *labels)
{
	return labels[DPI_LABEL_DONE_BIT / 8] & (1u << (DPI_LABEL_DONE_BIT % 8));
}

/* Puts the connection's labels on the verdict, or, without NFQA_CT,
 * writes them through ctnetlink now (once it worked, not again). */
static void deliver(struct dpi_handler *h, struct dpi_conn *c,
		    struct dpi_verdict *v)
{
	uint8_t labels[DPI_LABEL_BYTES], mask[DPI_LABEL_BYTES];

	if (!h->writer) {
		v->set_labels = true;
		dpi_labels_build(c->proto, c->host_bits, v->labels, v->mask);
		return;
	}
	if (c->labelled || !c->has_tuple)
		return;
	dpi_labels_build(c->proto, c->host_bits, labels, mask);
	h->stats.label_writes++;
	if (!dpi_ctlabel_write(h->writer, &c->tuple, h->config.zones,
			       h->config.n_zones, labels, mask)) {
		c->labelled = true;
		return;
	}
	/* ENOENT: not confirmed yet (first packet); the next one retries. */
	h->stats.label_errors++;
}

/* The connection is decided: remember the answer, drop nDPI's state. */
static void finish(struct dpi_handler *h, struct dpi_conn *c,
		   const struct dpi_result *r, bool gave_up)
{
	c->done = true;
	c->proto = (uint8_t)r->proto;
	c->host_bits = dpi_config_host_bits(&h->config, r->host);
	dpi_conn_free_flow(&h->conns, c);
	if (gave_up)
		h->stats.given_up++;
	else
		h->stats.classified++;
	h->stats.proto_conns[c->proto]++;
	h->stats.proto_packets[c->proto] += c->packets;
	log_debug("conn %016llx: %s%s (nDPI '%s') host '%s' bits 0x%04x after %u packets",
		  (unsigned long long)c->key, gave_up ? "gave up, " : "",
		  c->proto ? dpi_proto_by_id(c->proto)->name : "none",
		  r->ndpi_name, r->host, c->host_bits, c->packets);
}

static struct dpi_conn *conn_get(struct dpi_handler *h, uint64_t key)
{
	struct dpi_conn *c = dpi_conn_find(&h->conns, key);

	if (c) {
		dpi_conn_touch(&h->conns, c, h->now_ms);
		return c;
	}
	c = dpi_conn_add(&h->conns, key, h->now_ms, &h->stats.evicted);
	if (!c)
		return NULL;
	c->flow = dpi_flow_new();
	if (!c->flow) {
		dpi_conn_del(&h->conns, c);
		return NULL;
	}
	h->stats.conns++;
	return c;
}

/* Feeds nDPI and decides whether the connection is done. */
static void inspect(struct dpi_handler *h, struct dpi_conn *c,
		    const struct dpi_qpkt *p)
{
	struct dpi_result r = { 0 };
	struct dpi_pkt pk;

	switch (dpi_pkt_parse(p->payload, p->len, &pk)) {
	case DPI_PKT_MALFORMED:
		h->stats.malformed++;
		break;
	case DPI_PKT_FRAGMENT:
		h->stats.fragments++;
		break;
	case DPI_PKT_OK:
		/* One connection, one IP family and transport protocol:
		 * anything else is a stale key (a conntrack id used again),
		 * and would confuse nDPI's per-protocol state. */
		if (!c->family) {
			c->family = (uint8_t)pk.family;
			c->l4proto = pk.l4proto;
		}
		if (c->family != pk.family || c->l4proto != pk.l4proto) {
			h->stats.malformed++;
			break;
		}
		dpi_engine_process(h->engine, c->flow, p->payload, pk.l3len,
				   h->now_ms, &r);
		if (r.detected) {
			finish(h, c, &r, false);
			return;
		}
		break;
	}
	if (c->packets >= h->max_packets) {
		dpi_engine_giveup(h->engine, c->flow, &r);
		finish(h, c, &r, !r.detected);
	}
}

/* Which connection p belongs to.  false: none we can label. */
static bool conn_key(struct dpi_handler *h, const struct dpi_qpkt *p,
		     uint64_t *key, struct dpi_tuple *t, bool *has_tuple)
{
	struct dpi_pkt pk;
	enum dpi_pkt_verdict pv;

	*has_tuple = false;
	if (p->has_ct && !h->writer) {
		*key = p->ctid;
		return true;
	}
	pv = dpi_pkt_parse(p->payload, p->len, &pk);
	if (pv == DPI_PKT_MALFORMED)
		h->stats.malformed++;
	if (!h->writer || pv != DPI_PKT_OK || dpi_pkt_tuple(p->payload, &pk, t))
		return false;
	*has_tuple = true;
	*key = dpi_tuple_key(t);
	return true;
}

void dpi_handler_packet(struct dpi_handler *h, const struct dpi_qpkt *p,
			struct dpi_verdict *v)
{
	struct dpi_tuple t;
	struct dpi_conn *c;
	bool has_tuple;
	uint64_t key;

	/* Every verdict is NF_REPEAT with the mark as it came plus "seen". */
	v->mark = p->mark | DPI_MARK_SEEN;
	h->stats.packets++;
	h->stats.bytes += p->len;
	if (p->has_ct && label_done(p->labels)) {
		/* Already decided (in flight, or by an earlier handler). */
		h->stats.after_done++;
		return;
	}
	if (!conn_key(h, p, &key, &t, &has_tuple)) {
		h->stats.untracked++;
		return;
	}
	c = conn_get(h, key);
	if (!c) {
		h->stats.untracked++;
		return;
	}
	if (has_tuple && !c->has_tuple) {
		c->tuple = t;
		c->has_tuple = true;
	}
	if (c->done) {
		/* Queued before the labels landed, or they could not be
		 * stored: say it again, it is idempotent. */
		h->stats.after_done++;
		h->stats.proto_packets[c->proto]++;
		deliver(h, c, v);
		return;
	}
	c->packets++;
	inspect(h, c, p);
	if (c->done)
		deliver(h, c, v);
}

void dpi_handler_destroyed(struct dpi_handler *h, uint64_t key)
{
	struct dpi_conn *c = dpi_conn_find(&h->conns, key);
	if (!c)
		return;
	if (!c->done) {
		/* Never decided: count it as given up with what it showed. */
		h->stats.proto_conns[0]++;
		h->stats.proto_packets[0] += c->packets;
	}
	h->stats.destroyed++;
	dpi_conn_del(&h->conns, c);
}
