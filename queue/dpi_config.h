/* The handler's configuration file, written by brflowd (rules/dpi.h):
 * lines "host BIT PATTERN", and "zone Z" for the conntrack zones flows use
 * (only needed where labels are written through ctnetlink, see
 * dpi_ctlabel.h); '#' starts a comment.  A bad line is logged
 * and skipped; a missing file means no patterns. */
#ifndef BRFLOW_DPI_CONFIG_H
#define BRFLOW_DPI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../rules/dpi.h"

#define DPI_MAX_ZONES 64

struct dpi_config {
	char *host[DPI_MAX_HOSTS];   /* malloc'd pattern per bit, or NULL */
	int n_zones;
	uint16_t zones[DPI_MAX_ZONES];
};

/* Reads 'path' into 'out' (zeroed first).  Returns the number of patterns;
 * a missing file gives 0, other read errors -1 (errno). */
int dpi_config_load(const char *path, struct dpi_config *out);
void dpi_config_free(struct dpi_config *c);

/* The label bits (bit i = pattern i) of the patterns 'host' matches. */
uint16_t dpi_config_host_bits(const struct dpi_config *c, const char *host);

#endif
