/* Per-connection state, keyed by the conntrack id (CTA_ID) or, on kernels
 * that do not tell it, by a hash of the tuple (dpi_tuple_key): a bounded
 * hash table with LRU order.  An entry is freed when conntrack reports
 * the connection destroyed, when it idles out, or when the table is full
 * and it is the least recently used. */
#ifndef BRFLOW_DPI_CONN_H
#define BRFLOW_DPI_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi_pkt.h"

struct dpi_conn {
	uint64_t key;
	struct dpi_conn *hnext;              /* hash chain */
	struct dpi_conn *prev, *next;        /* LRU list, most recent first */
	void *flow;                          /* nDPI state; NULL once done */
	uint64_t last_ms;
	uint32_t packets;                    /* queued packets seen */
	bool done;
	uint8_t proto;                       /* rules/dpi.h id, 0 = none */
	uint8_t family;                      /* 4 or 6, 0 before the first packet */
	uint8_t l4proto;                     /* given to nDPI: both of the first packet */
	uint16_t host_bits;
	bool labelled;                       /* ctnetlink write succeeded */
	bool has_tuple;
	struct dpi_tuple tuple;              /* as the first packet showed it */
};

struct dpi_conn_table {
	size_t n, max, nbuckets;
	struct dpi_conn **buckets;
	struct dpi_conn lru;                 /* sentinel */
	void (*free_flow)(void *flow);       /* releases dpi_conn.flow */
};

/* 0 or -1 (ENOMEM). */
int dpi_conn_init(struct dpi_conn_table *t, size_t max,
		  void (*free_flow)(void *flow));
void dpi_conn_destroy(struct dpi_conn_table *t);

struct dpi_conn *dpi_conn_find(struct dpi_conn_table *t, uint64_t key);
/* A new zeroed entry for key (most recently used).  If the table is full
 * the least recently used entry goes first and *evicted is incremented.
 * NULL on ENOMEM. */
struct dpi_conn *dpi_conn_add(struct dpi_conn_table *t, uint64_t key,
			      uint64_t now_ms, uint64_t *evicted);
/* Marks c used now. */
void dpi_conn_touch(struct dpi_conn_table *t, struct dpi_conn *c,
		    uint64_t now_ms);
void dpi_conn_del(struct dpi_conn_table *t, struct dpi_conn *c);
/* Frees entries idle for idle_ms or more; returns how many. */
size_t dpi_conn_expire(struct dpi_conn_table *t, uint64_t now_ms,
		       uint64_t idle_ms);
/* Frees c's nDPI state (the connection is done). */
void dpi_conn_free_flow(struct dpi_conn_table *t, struct dpi_conn *c);

#endif
