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

/* Checks 'len' bytes at 'data' and fills 'out'.  Never reads past len. */
enum dpi_pkt_verdict dpi_pkt_parse(const uint8_t *data, size_t len,
				   struct dpi_pkt *out);

#endif
