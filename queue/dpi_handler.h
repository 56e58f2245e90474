/* The per-packet decision of brflow-dpi: inspect a queued packet, keep the
 * connection's state, and say which labels its verdict carries.  Kept
 * apart from the I/O so it can be driven by tests. */
#ifndef BRFLOW_DPI_HANDLER_H
#define BRFLOW_DPI_HANDLER_H

#include <stdint.h>

#include "dpi_config.h"
#include "dpi_ctlabel.h"
#include "dpi_conn.h"
#include "dpi_ndpi.h"
#include "dpi_queue.h"
#include "dpi_stats.h"

struct dpi_handler {
	struct dpi_engine *engine;
	struct dpi_conn_table conns;
	struct dpi_config config;
	struct dpi_stats stats;
	uint32_t max_packets;   /* give up after this many packets */
	uint64_t now_ms;        /* monotonic; set by the caller per batch */
	/* Set when the queue cannot carry NFQA_CT: connections are keyed by
	 * tuple and labels written through ctnetlink before the verdict. */
	struct dpi_ctlabel *writer;
};

/* 0 or -1 (ENOMEM / nDPI failed). */
int dpi_handler_init(struct dpi_handler *h, uint32_t max_packets,
		     size_t max_conns);
void dpi_handler_free(struct dpi_handler *h);

/* Fills v for packet p (v->mark arrives as the packet's mark). */
void dpi_handler_packet(struct dpi_handler *h, const struct dpi_qpkt *p,
			struct dpi_verdict *v);

/* Conntrack says the connection is gone; key is its ct id, or
 * dpi_tuple_key of its tuple when h->writer is set. */
void dpi_handler_destroyed(struct dpi_handler *h, uint64_t key);

/* Label bytes for a result (kernel label bit N = byte N/8, bit N%8). */
void dpi_labels_build(uint8_t proto, uint16_t host_bits, uint8_t *labels,
		      uint8_t *mask);

#endif
