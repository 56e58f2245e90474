/* nDPI 4.x glue (dpi_ndpi.h). */
#include "dpi_ndpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi_api.h>

struct dpi_engine {
	struct ndpi_detection_module_struct *mod;
};

struct dpi_engine *dpi_engine_new(void)
{
	struct dpi_engine *e = ndpi_calloc(1, sizeof(*e));
	NDPI_PROTOCOL_BITMASK all;

	if (!e)
		return NULL;
	e->mod = ndpi_init_detection_module(ndpi_no_prefs);
	if (!e->mod) {
		ndpi_free(e);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(e->mod, &all);
	ndpi_finalize_initialization(e->mod);
	return e;
}

void dpi_engine_free(struct dpi_engine *e)
{
	if (!e)
		return;
	ndpi_exit_detection_module(e->mod);
	ndpi_free(e);
}

void *dpi_flow_new(void)
{
	void *f = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);

	if (f)
		memset(f, 0, SIZEOF_FLOW_STRUCT);
	return f;
}

void dpi_flow_free(void *flow)
{
	if (flow)
		ndpi_flow_free(flow);
}

/* Maps an nDPI id to brflow's table; 0 if it has no row. */
static uint16_t map_id(struct dpi_engine *e, uint16_t id, char *name,
		       size_t len)
{
	const struct dpi_proto *p;
	const char *n;

	if (id == NDPI_PROTOCOL_UNKNOWN)
		return 0;
	n = ndpi_get_proto_name(e->mod, id);
	if (!n)
		return 0;
	if (!name[0])
		snprintf(name, len, "%s", n);
	p = dpi_proto_by_ndpi_name(n);
	return p ? p->id : 0;
}

/* The application protocol names the service ("Google"); its master
 * ("TLS") says how it talks.  Take the first that is in the table. */
static void fill(struct dpi_engine *e, struct ndpi_flow_struct *f,
		 ndpi_protocol p, struct dpi_result *res)
{
	memset(res, 0, sizeof(*res));
	res->detected = p.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
			p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
	res->proto = map_id(e, p.app_protocol, res->ndpi_name,
			    sizeof(res->ndpi_name));
	if (!res->proto)
		res->proto = map_id(e, p.master_protocol, res->ndpi_name,
				    sizeof(res->ndpi_name));
	snprintf(res->host, sizeof(res->host), "%.*s",
		 (int)strnlen(f->host_server_name, sizeof(f->host_server_name)),
		 f->host_server_name);
}

/* nDPI 4.x takes the IP length field at its word, and a GSO packet may
 * leave it 0 (IPv4 BIG TCP, IPv6 jumbo): nDPI would see no transport
 * header.  Such a packet goes to nDPI as a copy with the field set to the
 * length dpi_pkt_parse took for it; NULL for any other packet. */
static uint8_t *with_ip_len(const uint8_t *l3, size_t len)
{
	size_t off, n;
	uint8_t *c;

	if (len >= 20 && l3[0] >> 4 == 4 && !l3[2] && !l3[3]) {
		off = 2;
		n = len;
	} else if (len > 40 && l3[0] >> 4 == 6 && !l3[4] && !l3[5]) {
		off = 4;
		n = len - 40;
	} else {
		return NULL;
	}
	c = malloc(len);
	if (!c)
		return NULL;
	memcpy(c, l3, len);
	c[off] = (uint8_t)(n >> 8);
	c[off + 1] = (uint8_t)n;
	return c;
}

void dpi_engine_process(struct dpi_engine *e, void *flow, const uint8_t *l3,
			size_t len, uint64_t now_ms, struct dpi_result *res)
{
	ndpi_protocol p;
	uint8_t *fixed;

	if (len > 0xffff)
		len = 0xffff;
	fixed = with_ip_len(l3, len);
	p = ndpi_detection_process_packet(e->mod, flow, fixed ? fixed : l3,
					  (unsigned short)len, now_ms);
	free(fixed);
	fill(e, flow, p, res);
}

void dpi_engine_giveup(struct dpi_engine *e, void *flow,
		       struct dpi_result *res)
{
	uint8_t guessed = 0;
	ndpi_protocol p = ndpi_detection_giveup(e->mod, flow, 0, &guessed);

	fill(e, flow, p, res);
}
