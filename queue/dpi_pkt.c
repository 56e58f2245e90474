/* Packet sanity checks before DPI (dpi_pkt.h). */
#include "dpi_pkt.h"

#include <netinet/in.h>
#include <string.h>

#define IPV6_MAX_EXT 8 /* extension headers walked before giving up */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Transport header at 'off' of an l3len-byte packet. */
static enum dpi_pkt_verdict parse_l4(const uint8_t *d, struct dpi_pkt *p)
{
	size_t room = p->l3len - p->l4off;

	switch (p->l4proto) {
	case IPPROTO_TCP: {
		size_t doff;

		if (room < 20)
			return DPI_PKT_MALFORMED;
		doff = (size_t)(d[p->l4off + 12] >> 4) * 4;
		if (doff < 20 || doff > room)
			return DPI_PKT_MALFORMED;
		p->payload_off = p->l4off + doff;
		return DPI_PKT_OK;
	}
	case IPPROTO_UDP: {
		size_t ulen;

		if (room < 8)
			return DPI_PKT_MALFORMED;
		ulen = be16(d + p->l4off + 4);
		/* 0 is legal for IPv6 jumbograms and GSO packets. */
		if (ulen && (ulen < 8 || ulen > room))
			return DPI_PKT_MALFORMED;
		p->payload_off = p->l4off + 8;
		return DPI_PKT_OK;
	}
	default:
		p->payload_off = p->l3len;
		return DPI_PKT_OK;
	}
}

static enum dpi_pkt_verdict parse_v4(const uint8_t *d, size_t len,
				     struct dpi_pkt *p)
{
	size_t ihl, tot;
	uint16_t frag;

	if (len < 20)
		return DPI_PKT_MALFORMED;
	ihl = (size_t)(d[0] & 0x0f) * 4;
	tot = be16(d + 2);
	/* GSO packets may carry tot_len 0 (BIG TCP); take the buffer then. */
	if (tot == 0)
		tot = len;
	if (ihl < 20 || tot < ihl || tot > len)
		return DPI_PKT_MALFORMED;
	p->family = 4;
	p->l3len = tot;
	p->l4proto = d[9];
	p->l4off = ihl;
	frag = be16(d + 6);
	if (frag & 0x1fff)
		return DPI_PKT_FRAGMENT;
	return parse_l4(d, p);
}

static int v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

static enum dpi_pkt_verdict parse_v6(const uint8_t *d, size_t len,
				     struct dpi_pkt *p)
{
	size_t plen, off = 40;
	uint8_t nh;

	if (len < 40)
		return DPI_PKT_MALFORMED;
	plen = be16(d + 4);
	if (plen == 0)
		plen = len - 40; /* jumbogram or GSO */
	if (plen > len - 40)
		return DPI_PKT_MALFORMED;
	p->family = 6;
	p->l3len = 40 + plen;
	nh = d[6];
	for (int i = 0; v6_ext(nh); i++) {
		size_t hlen;

		if (i == IPV6_MAX_EXT || p->l3len - off < 8)
			return DPI_PKT_MALFORMED;
		if (nh == 44) {
			/* Fragment header: offset != 0 means no L4 here. */
			if (be16(d + off + 2) & 0xfff8)
				return DPI_PKT_FRAGMENT;
			hlen = 8;
		} else if (nh == 51) {
			hlen = ((size_t)d[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)d[off + 1] + 1) * 8;
		}
		if (hlen > p->l3len - off)
			return DPI_PKT_MALFORMED;
		nh = d[off];
		off += hlen;
	}
	p->l4proto = nh;
	p->l4off = off;
	return parse_l4(d, p);
}

enum dpi_pkt_verdict dpi_pkt_parse(const uint8_t *data, size_t len,
				   struct dpi_pkt *out)
{
	memset(out, 0, sizeof(*out));
	if (!data || len < 1)
		return DPI_PKT_MALFORMED;
	switch (data[0] >> 4) {
	case 4:
		return parse_v4(data, len, out);
	case 6:
		return parse_v6(data, len, out);
	default:
		return DPI_PKT_MALFORMED;
	}
}

int dpi_pkt_tuple(const uint8_t *data, const struct dpi_pkt *p,
		  struct dpi_tuple *t)
{
	size_t alen = p->family == 4 ? 4 : 16;

	memset(t, 0, sizeof(*t));
	switch (p->l4proto) {
	case IPPROTO_TCP: case IPPROTO_UDP: case IPPROTO_UDPLITE:
	case IPPROTO_SCTP: case IPPROTO_DCCP:
		break;
	default:
		return -1;
	}
	/* parse_l4 checked 8 bytes for UDP, 20 for TCP; others need 4. */
	if (p->l3len - p->l4off < 4)
		return -1;
	t->family = (uint8_t)p->family;
	t->proto = p->l4proto;
	memcpy(t->src, data + (p->family == 4 ? 12 : 8), alen);
	memcpy(t->dst, data + (p->family == 4 ? 16 : 24), alen);
	t->sport = be16(data + p->l4off);
	t->dport = be16(data + p->l4off + 2);
	return 0;
}

static uint64_t mix(uint64_t h, const void *data, size_t n)
{
	const uint8_t *d = data;

	/* FNV-1a, 64 bits: keys, not security. */
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 0x100000001b3ull;
	return h;
}

uint64_t dpi_tuple_key(const struct dpi_tuple *t)
{
	const uint8_t *a = t->src, *b = t->dst;
	uint16_t pa = t->sport, pb = t->dport;
	int c = memcmp(a, b, 16);
	uint64_t h = 0xcbf29ce484222325ull;

	if (c > 0 || (c == 0 && pa > pb)) {
		a = t->dst;
		b = t->src;
		pa = t->dport;
		pb = t->sport;
	}
	h = mix(h, &t->family, 1);
	h = mix(h, &t->proto, 1);
	h = mix(h, a, 16);
	h = mix(h, &pa, 2);
	h = mix(h, b, 16);
	h = mix(h, &pb, 2);
	return h;
}
