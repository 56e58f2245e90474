/* What brflow's flows and the DPI handler (queue/brflow-dpi) agree on: the
 * ct label bits the handler writes, the protocol ids behind dpi_proto=, and
 * the host table behind dpi_host=.  In a flow set that uses DPI, ct_label
 * bits 96-127 belong to it and users keep bits 0-95 (brflow-flows(7)). */
#ifndef BRFLOW_DPI_H
#define BRFLOW_DPI_H

#include <stdbool.h>
#include <stdint.h>

#define DPI_LABEL_USER_BITS   96   /* users may write label bits 0..95 */
#define DPI_LABEL_HOST_SHIFT  96   /* bits 96..111: one bit per host pattern */
#define DPI_MAX_HOSTS         16
#define DPI_LABEL_PROTO_SHIFT 112  /* bits 112..119: protocol id (0 = none) */
#define DPI_LABEL_PROTO_BITS  8
#define DPI_LABEL_DONE_BIT    127  /* classified, or nDPI gave up */

/* Packet-mark bit the handler sets on a packet it has seen, so the
 * pipeline, repeated (NF_REPEAT) with the new labels, does not queue the
 * same packet again. */
#define DPI_MARK_SEEN         0x20000000u
/* Packet-mark bit a dpi(fail=open) sets before queueing: when no handler
 * listens, the queue's bypass accepts the packet before the pipeline chose
 * an output, and the bridge's enforce chain then lets it pass. */
#define DPI_MARK_WANT         0x40000000u

/* Host patterns: "example.com" matches exactly; "*.example.com" matches
 * example.com and every name under it (suffix at a label boundary). */
#define DPI_HOST_MAX_LEN      253

/* "example.com" matches exactly, "*.example.com" matches example.com and
 * any name under it; case-insensitive; a trailing dot on 'host' or on
 * 'pattern' is ignored (rules/dpi_host.c). */
bool dpi_host_match(const char *pattern, const char *host);

/* The handler's configuration file, written by brflowd: one line per host
 * pattern, "host BIT PATTERN" (BIT 0..15, label bit 96+BIT). */
#define DPI_DEFAULT_CONF      "/run/brflow/dpi.conf"
#define DPI_DEFAULT_SOCKET    "/run/brflow/dpi.sock"

/* Protocol ids: a fixed table so flows, the compiler and the handler agree
 * without configuration.  Names are nDPI's protocol names, compared case
 * insensitively (rules/dpi_protos.c). */
struct dpi_proto {
	uint16_t id;        /* 1.. */
	const char *name;   /* as in flows: "http", "tls", "bittorrent" */
	const char *ndpi;   /* nDPI's name: "HTTP", "TLS", "BitTorrent" */
};

const struct dpi_proto *dpi_proto_by_name(const char *name);
const struct dpi_proto *dpi_proto_by_ndpi_name(const char *ndpi_name);
const struct dpi_proto *dpi_proto_by_id(uint16_t id);

#endif
