/* The nDPI glue: one detection module for the process, one nDPI flow per
 * connection under inspection, and the answer mapped onto brflow's
 * protocol table (rules/dpi.h). */
#ifndef BRFLOW_DPI_NDPI_H
#define BRFLOW_DPI_NDPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../rules/dpi.h"

struct dpi_engine;

struct dpi_result {
	bool detected;          /* nDPI named a protocol */
	uint16_t proto;         /* rules/dpi.h id of it, 0 if not in the table */
	char ndpi_name[32];     /* nDPI's name, "" if none */
	char host[DPI_HOST_MAX_LEN + 1]; /* HTTP Host / TLS SNI, "" if none */
};

struct dpi_engine *dpi_engine_new(void);
void dpi_engine_free(struct dpi_engine *e);

void *dpi_flow_new(void);
void dpi_flow_free(void *flow);

/* Feeds one IP packet (checked by dpi_pkt_parse) of a connection. */
void dpi_engine_process(struct dpi_engine *e, void *flow, const uint8_t *l3,
			size_t len, uint64_t now_ms, struct dpi_result *res);
/* nDPI's last word on a connection it could not finish (no guessing by
 * port: a guess would label traffic that was never recognised). */
void dpi_engine_giveup(struct dpi_engine *e, void *flow,
		       struct dpi_result *res);

#endif
