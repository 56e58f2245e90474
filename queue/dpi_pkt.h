/* Defensive parsing of a queued packet (layer 3 onwards, as NFQA_PAYLOAD
 * carries it) before anything else looks at it: nDPI gets only packets
 * whose IP and transport headers are complete and whose lengths agree. */
#ifndef BRFLOW_DPI_PKT_H
#define BRFLOW_DPI_PKT_H

#include <stddef.h>
#include <stdint.h>

enum dpi_pkt_verdict {
	DPI_PKT_OK,
	DPI_PKT_MALFORMED,  /* truncated headers, bogus lengths, bad version */
	DPI_PKT_FRAGMENT,   /* a non-first fragment: no transport header */
};

struct dpi_pkt {
	int family;          /* 4 or 6 */
	uint8_t l4proto;     /* IPPROTO_TCP, IPPROTO_UDP, ... */
	size_t l3len;        /* bytes of the packet that belong to it */
	size_t l4off;        /* transport header offset */
	size_t payload_off;  /* application payload offset (== l3len if none) */
};

/* A connection's addresses and ports as one packet shows them, for
 * kernels whose queue cannot say which conntrack entry a packet has
 * (no NETFILTER_NETLINK_GLUE_CT): the handler then keys connections by
 * tuple and writes labels through ctnetlink. */
struct dpi_tuple {
	uint8_t family, proto;
	uint8_t src[16], dst[16];   /* IPv4 in the first 4 bytes */
	uint16_t sport, dport;      /* host order; 0 without ports */
};

/* The tuple of a packet dpi_pkt_parse accepted.  0, or -1 if the protocol
 * has no ports (only TCP, UDP, UDP-Lite, SCTP and DCCP are keyed). */
int dpi_pkt_tuple(const uint8_t *data, const struct dpi_pkt *p,
		  struct dpi_tuple *t);
/* The same 64-bit key for both directions of a connection. */
uint64_t dpi_tuple_key(const struct dpi_tuple *t);

/* Checks 'len' bytes at 'data' and fills 'out'.  Never reads past len. */
enum dpi_pkt_verdict dpi_pkt_parse(const uint8_t *data, size_t len,
				   struct dpi_pkt *out);

#endif
