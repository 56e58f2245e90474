/* Writing a connection's DPI labels through ctnetlink, for kernels built
 * without NETFILTER_NETLINK_GLUE_CT, where a queue verdict cannot carry
 * NFQA_CT.  The write is synchronous (acknowledged) and happens before the
 * packet's verdict, so the repeated pipeline sees the labels.  The entry
 * is found by the packet's tuple in each of the configured zones. */
#ifndef BRFLOW_DPI_CTLABEL_H
#define BRFLOW_DPI_CTLABEL_H

#include <stdint.h>

#include "dpi_pkt.h"

struct dpi_ctlabel;

struct dpi_ctlabel *dpi_ctlabel_open(void);
void dpi_ctlabel_close(struct dpi_ctlabel *w);

/* Sets labels under mask (16 bytes each) on the connection with tuple t in
 * one of zones[0..n_zones) (zone 0 is tried first).  0, or -1 with errno
 * (ENOENT: no such entry yet, e.g. not confirmed before this packet). */
int dpi_ctlabel_write(struct dpi_ctlabel *w, const struct dpi_tuple *t,
		      const uint16_t *zones, int n_zones,
		      const uint8_t *labels, const uint8_t *mask);

#endif
