/* Canonical printer: a struct flow back to ovs-ofctl text, in the order and
 * spelling of OVS's match_format() and ofpacts_format(), so that dump-flows
 * reads like OVS and flow_parse(flow_format(f)) gives f back. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dpi.h"
#include "flow.h"

struct sbuf {
	char *s;
	size_t len;
	size_t cap;
	bool oom;
	const struct flow_port_names *names;  /* NULL: ports as numbers */
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends n bytes and keeps the string terminated. */
static void sb_append(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap * 2 : 128;
		char *p;

		while (cap - b->len <= n)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Decimal digits of v into buf (at least 21 bytes); their count. */
static int udec(char *buf, unsigned long long v)
{
	char tmp[20];
	int n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* The conversions sb_quick makes itself: %s %c %d %u %llu.  Formats are
 * short: a loop, not strchr calls. */
static bool quick_fmt(const char *fmt)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 's' || p[1] == 'c' || p[1] == 'd' || p[1] == 'u')
			p++;
		else if (p[1] == 'l' && p[2] == 'l' && p[3] == 'u')
			p += 3;
		else
			return false;
	}
	return true;
}

/* sb_printf without stdio for text and simple conversions: the printer
 * runs for every flow of a 100 000-flow state file.  False (nothing
 * appended or consumed) for any other format. */
static bool sb_quick(struct sbuf *b, const char *fmt, va_list ap)
{
	char num[24];

	if (!quick_fmt(fmt))
		return false;
	while (*fmt) {
		const char *pct = fmt;
		const char *arg;
		int n = 0;

		while (*pct && *pct != '%')
			pct++;
		sb_append(b, fmt, pct - fmt);
		if (!*pct)
			break;
		fmt = pct + 2;
		switch (pct[1]) {
		case 's':
			arg = va_arg(ap, const char *);
			sb_append(b, arg, strlen(arg));
			continue;
		case 'c':
			num[0] = (char)va_arg(ap, int);
			n = 1;
			break;
		case 'd': {
			long long v = va_arg(ap, int);

			if (v < 0)
				num[n++] = '-';
			n += udec(num + n, (unsigned long long)(v < 0 ? -v : v));
			break;
		}
		case 'u':
			n = udec(num, va_arg(ap, unsigned));
			break;
		default: /* llu */
			n = udec(num, va_arg(ap, unsigned long long));
			fmt += 2;
			break;
		}
		sb_append(b, num, n);
	}
	return true;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = sb_quick(b, fmt, ap);
	va_end(ap);
	if (n)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 128;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

static void sb_chomp(struct sbuf *b, char c)
{
	if (b->len && b->s[b->len - 1] == c)
		b->s[--b->len] = '\0';
}

/* Hands the string to the caller: never NULL unless memory ran out. */
static char *sb_steal(struct sbuf *b)
{
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (!b->s)
		return strdup("");
	return b->s;
}

static uint64_t be_get(const uint8_t *p, int w)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < w && i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static bool all_ones(const uint8_t *p, int w)
{
	int i;

	for (i = 0; i < w; i++) {
		if (p[i] != 0xff)
			return false;
	}
	return true;
}

/* Hex without leading zeros, "0" for zero (OVS's ds_put_hex). */
static void put_hex(struct sbuf *b, const uint8_t *p, int w)
{
	bool printed = false;
	int i;

	for (i = 0; i < w; i++) {
		if (!p[i] && !printed)
			continue;
		sb_printf(b, printed ? "%02x" : "0x%x", p[i]);
		printed = true;
	}
	if (!printed)
		sb_printf(b, "0");
}

/* Number of leading one bits when 'p' is a CIDR mask, else -1. */
static int cidr_len(const uint8_t *p, int w)
{
	int bits = 0, i, j;
	bool zero = false;

	for (i = 0; i < w; i++) {
		for (j = 7; j >= 0; j--) {
			bool one = p[i] >> j & 1;

			if (one && zero)
				return -1;
			if (one)
				bits++;
			else
				zero = true;
		}
	}
	return bits;
}

static void put_ip(struct sbuf *b, const struct flow_match *m, int af, int w)
{
	char txt[INET6_ADDRSTRLEN];
	int cidr;

	inet_ntop(af, m->value, txt, sizeof(txt));
	sb_printf(b, "%s", txt);
	if (all_ones(m->mask, w))
		return;
	cidr = cidr_len(m->mask, w);
	if (cidr >= 0) {
		sb_printf(b, "/%d", cidr);
		return;
	}
	inet_ntop(af, m->mask, txt, sizeof(txt));
	sb_printf(b, "/%s", txt);
}

static void put_mac(struct sbuf *b, const uint8_t *p)
{
	sb_printf(b, "%02x:%02x:%02x:%02x:%02x:%02x",
		  p[0], p[1], p[2], p[3], p[4], p[5]);
}

static const char *ct_state_name(unsigned bit)
{
	switch (bit) {
	case CS_NEW: return "new";
	case CS_EST: return "est";
	case CS_REL: return "rel";
	case CS_RPL: return "rpl";
	case CS_INV: return "inv";
	case CS_TRK: return "trk";
	case 0x40: return "snat";
	case 0x80: return "dnat";
	}
	return NULL;
}

static const char *tcp_flag_name(unsigned bit)
{
	static const char *const names[12] = {
		"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns",
		"[200]", "[400]", "[800]",
	};
	int i;

	for (i = 0; i < 12; i++) {
		if (bit == 1u << i)
			return names[i];
	}
	return NULL;
}

/* "+a-b" for named bits, lowest bit first (OVS's format_flags_masked). */
static void put_flags_masked(struct sbuf *b, unsigned value, unsigned mask,
			     const char *(*name)(unsigned))
{
	unsigned bit;

	for (bit = 1; bit && bit <= mask; bit <<= 1) {
		const char *n;

		if (!(mask & bit))
			continue;
		n = name(bit);
		sb_printf(b, "%c%s", value & bit ? '+' : '-', n ? n : "[Unknown]");
	}
}

static void put_tcp_flags(struct sbuf *b, const struct flow_match *m)
{
	unsigned value = be_get(m->value, 2), mask = be_get(m->mask, 2);
	unsigned bit;
	bool first = true;

	if (mask != 0x0fff) {
		put_flags_masked(b, value, mask, tcp_flag_name);
		return;
	}
	if (!value) {
		sb_printf(b, "0");
		return;
	}
	for (bit = 1; bit <= 0x800; bit <<= 1) {
		if (!(value & bit))
			continue;
		sb_printf(b, "%s%s", first ? "" : "|", tcp_flag_name(bit));
		first = false;
	}
}

/* Decimal when exact, "0x../0x.." when masked (OVS's format_be16_masked). */
static void put_dec16(struct sbuf *b, const struct flow_match *m)
{
	unsigned v = be_get(m->value, 2), mask = be_get(m->mask, 2);

	if (mask == 0xffff)
		sb_printf(b, "%u", v);
	else
		sb_printf(b, "0x%x/0x%x", v, mask);
}

static void put_hex_masked(struct sbuf *b, const struct flow_match *m, int w)
{
	put_hex(b, m->value, w);
	if (all_ones(m->mask, w))
		return;
	sb_printf(b, "/");
	put_hex(b, m->mask, w);
}

/* A name the parser reads back as this port: it starts with a letter,
 * holds no character the flow syntax gives a meaning, and is not a word
 * the parser takes for a reserved port or action. */
static bool plain_port_name(const char *n)
{
	static const char *const reserved[] = {
		"local", "normal", "flood", "all", "controller", "in_port", "drop",
		"any", "none", "table",
	};

	if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z')))
		return false;
	for (const char *c = n; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *c))
			return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcasecmp(n, reserved[i]))
			return false;
	return true;
}

/* Prints port's name when the buffer asks for names and the name reads
 * back as the port; false (nothing printed) otherwise. */
static bool put_port_name(struct sbuf *b, uint64_t port)
{
	const char *n = b->names ? b->names->name((uint32_t)port, b->names->arg) : NULL;

	if (!n || !plain_port_name(n))
		return false;
	sb_printf(b, "%s", n);
	return true;
}

/* The 802.1Q tag as ovs-ofctl prints it: dl_vlan and dl_vlan_pcp where
 * the match is "tagged" with a whole VID or PCP, else vlan_tci. */
static void put_vlan(struct sbuf *b, const struct flow_match *m)
{
	unsigned v = (unsigned)be_get(m->value, 2), mask = (unsigned)be_get(m->mask, 2);
	unsigned vid = mask & 0x0fff, pcp = mask & 0xe000;

	if ((mask & 0x1000) && (v & 0x1000) && (!vid || vid == 0x0fff) &&
	    (!pcp || pcp == 0xe000) && (vid || pcp)) {
		if (vid)
			sb_printf(b, "dl_vlan=%u,", v & 0x0fff);
		if (pcp)
			sb_printf(b, "dl_vlan_pcp=%u,", v >> 13);
	} else if (mask == 0xffff) {
		sb_printf(b, "vlan_tci=0x%04x,", v);
	} else {
		sb_printf(b, "vlan_tci=0x%04x/0x%04x,", v, mask);
	}
}

static void put_match(struct sbuf *b, const struct flow_match *m)
{
	const struct field_info *fi = field_info(m->field);
	int w = fi->width;

	if (m->field == F_VLAN_TCI) {
		put_vlan(b, m);
		return;
	}
	sb_printf(b, "%s=", fi->name);
	switch (m->field) {
	case F_IN_PORT:
		if (be_get(m->value, w) == OFPP_LOCAL) {
			sb_printf(b, "LOCAL");
			break;
		}
		if (put_port_name(b, be_get(m->value, w)))
			break;
		/* fall through */
	case F_NW_PROTO:
	case F_NW_TOS:
	case F_NW_ECN:
	case F_NW_TTL:
	case F_ICMP_TYPE:
	case F_ICMP_CODE:
	case F_CT_ZONE:
	case F_CT_NW_PROTO:
	case F_ARP_OP:
		sb_printf(b, "%llu", (unsigned long long)be_get(m->value, w));
		break;
	case F_DL_SRC:
	case F_DL_DST:
	case F_ARP_SHA:
	case F_ARP_THA:
		put_mac(b, m->value);
		if (!all_ones(m->mask, 6)) {
			sb_printf(b, "/");
			put_mac(b, m->mask);
		}
		break;
	case F_DL_TYPE:
		sb_printf(b, "0x%04x", (unsigned)be_get(m->value, 2));
		break;
	case F_NW_SRC:
	case F_NW_DST:
	case F_ARP_SPA:
	case F_ARP_TPA:
	case F_CT_NW_SRC:
	case F_CT_NW_DST:
		put_ip(b, m, AF_INET, 4);
		break;
	case F_IPV6_SRC:
	case F_IPV6_DST:
	case F_CT_IPV6_SRC:
	case F_CT_IPV6_DST:
	case F_ND_TARGET:
		put_ip(b, m, AF_INET6, 16);
		break;
	case F_TP_SRC:
	case F_TP_DST:
	case F_CT_TP_SRC:
	case F_CT_TP_DST:
		put_dec16(b, m);
		break;
	case F_TCP_FLAGS:
		put_tcp_flags(b, m);
		break;
	case F_CT_STATE:
		put_flags_masked(b, m->value[0], m->mask[0], ct_state_name);
		break;
	default: /* ct_mark, ct_label, regs */
		put_hex_masked(b, m, w);
		break;
	}
	sb_printf(b, ",");
}

/* dpi_proto=NAME and dpi_host=PATTERN print by name, not value. */
static void put_dpi(struct sbuf *b, const struct flow *f)
{
	const struct flow_match *m = flow_find_match(f, F_DPI_PROTO);
	const struct dpi_proto *proto = m ? dpi_proto_by_id(m->value[0]) : NULL;

	if (proto)
		sb_printf(b, "dpi_proto=%s,", proto->name);
	if (flow_find_match(f, F_DPI_HOST) && f->dpi_host)
		sb_printf(b, "dpi_host=%s,", f->dpi_host);
}

/* by: the flow's matches by field (put_matches), one lookup each. */
static void put_field(struct sbuf *b, const struct flow_match *const *by,
		      enum field_id id)
{
	if (by[id])
		put_match(b, by[id]);
}

/* The protocol shorthand for dl_type/nw_proto, or NULL.  Sets *with_proto
 * when the shorthand also stands for nw_proto. */
static const char *shorthand(const struct flow *f, bool *with_proto)
{
	const struct flow_match *t = flow_find_match(f, F_DL_TYPE);
	const struct flow_match *p = flow_find_match(f, F_NW_PROTO);
	unsigned type, proto;

	*with_proto = false;
	if (!t)
		return NULL;
	type = be_get(t->value, 2);
	if (type == 0x0806)
		return "arp";
	if (type == 0x8035)
		return "rarp";
	if (type != 0x0800 && type != 0x86dd)
		return NULL;
	proto = p ? p->value[0] : 0;
	*with_proto = true;
	if (p && proto == 6)
		return type == 0x0800 ? "tcp" : "tcp6";
	if (p && proto == 17)
		return type == 0x0800 ? "udp" : "udp6";
	if (p && proto == 132)
		return type == 0x0800 ? "sctp" : "sctp6";
	if (p && proto == 1 && type == 0x0800)
		return "icmp";
	if (p && proto == 58 && type == 0x86dd)
		return "icmp6";
	*with_proto = false;
	return type == 0x0800 ? "ip" : "ipv6";
}

static void put_matches(struct sbuf *b, const struct flow *f)
{
	bool with_proto;
	const char *sh = shorthand(f, &with_proto);
	const struct flow_match *by[F_COUNT] = { 0 };
	int i;

	for (i = 0; i < f->n_matches; i++)
		by[f->matches[i].field] = &f->matches[i];

	/* OVS prints conj_id before the connection fields */
	if (by[F_CONJ_ID])
		sb_printf(b, "conj_id=%u,", (unsigned)be_get(by[F_CONJ_ID]->value, 4));
	put_field(b, by, F_CT_STATE);
	put_field(b, by, F_CT_ZONE);
	put_field(b, by, F_CT_MARK);
	put_field(b, by, F_CT_LABEL);
	for (i = F_CT_NW_SRC; i <= F_CT_TP_DST; i++)
		put_field(b, by, i);
	if (sh)
		sb_printf(b, "%s,", sh);
	put_field(b, by, F_METADATA);
	put_dpi(b, f);
	for (i = F_REG0; i <= F_REG7; i++)
		put_field(b, by, i);
	put_field(b, by, F_IN_PORT);
	put_field(b, by, F_VLAN_TCI);
	put_field(b, by, F_DL_SRC);
	put_field(b, by, F_DL_DST);
	if (!sh)
		put_field(b, by, F_DL_TYPE);
	put_field(b, by, F_IPV6_SRC);
	put_field(b, by, F_IPV6_DST);
	put_field(b, by, F_IPV6_LABEL);
	put_field(b, by, F_NW_SRC);
	put_field(b, by, F_NW_DST);
	/* OVS's order for ARP: the addresses, the opcode, the hardware ones */
	put_field(b, by, F_ARP_SPA);
	put_field(b, by, F_ARP_TPA);
	put_field(b, by, F_ARP_OP);
	put_field(b, by, F_ARP_SHA);
	put_field(b, by, F_ARP_THA);
	if (!with_proto)
		put_field(b, by, F_NW_PROTO);
	put_field(b, by, F_NW_TOS);
	put_field(b, by, F_NW_ECN);
	put_field(b, by, F_NW_TTL);
	put_field(b, by, F_ICMP_TYPE);
	put_field(b, by, F_ICMP_CODE);
	put_field(b, by, F_ND_TARGET);
	put_field(b, by, F_TP_SRC);
	put_field(b, by, F_TP_DST);
	put_field(b, by, F_TCP_FLAGS);
	sb_chomp(b, ',');
}

/* The contiguous bit range [*ofs, *ofs + *nbits) set in 'mask'; false when
 * the mask is empty or has holes. */
static bool mask_range(const uint8_t *mask, int w, int *ofs, int *nbits)
{
	int bit, lo = -1, hi = -1;

	for (bit = 0; bit < w * 8; bit++) {
		if (!(mask[w - 1 - bit / 8] >> (bit % 8) & 1))
			continue;
		if (lo < 0)
			lo = bit;
		else if (hi != bit - 1)
			return false;
		hi = bit;
	}
	if (lo < 0)
		return false;
	*ofs = lo;
	*nbits = hi - lo + 1;
	return true;
}

static void put_subfield(struct sbuf *b, const struct field_info *fi,
			 int ofs, int nbits)
{
	sb_printf(b, "%s", fi->nxm_name);
	if (ofs == 0 && nbits == fi->width * 8)
		sb_printf(b, "[]");
	else if (nbits == 1)
		sb_printf(b, "[%d]", ofs);
	else
		sb_printf(b, "[%d..%d]", ofs, ofs + nbits - 1);
}

/* load:V->NXM[a..b] prints V shifted down to bit 0 of the range. */
static void put_load(struct sbuf *b, const struct action_set_field *s,
		     const struct field_info *fi, int ofs, int nbits)
{
	uint8_t v[FLOW_MAX_VALUE] = { 0 };
	int w = fi->width, bit;

	for (bit = 0; bit < nbits; bit++) {
		int from = ofs + bit;

		if (s->value[w - 1 - from / 8] >> (from % 8) & 1)
			v[w - 1 - bit / 8] |= 1 << (bit % 8);
	}
	sb_printf(b, "load:");
	put_hex(b, v, w);
	sb_printf(b, "->");
	put_subfield(b, fi, ofs, nbits);
}

static void put_set_field(struct sbuf *b, const struct action_set_field *s)
{
	const struct field_info *fi = field_info(s->field);
	int w = fi->width, ofs, nbits;

	if ((s->field == F_DL_SRC || s->field == F_DL_DST) && all_ones(s->mask, 6)) {
		sb_printf(b, "%s:", s->field == F_DL_SRC ? "mod_dl_src" : "mod_dl_dst");
		put_mac(b, s->value);
		return;
	}
	/* ovs-ofctl (OpenFlow 1.0) shows a whole IPv4 address or port write
	 * as the legacy action and an IPv6 address write as set_field */
	if ((s->field == F_NW_SRC || s->field == F_NW_DST) && all_ones(s->mask, 4)) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, s->value, ip, sizeof(ip));
		sb_printf(b, "%s:%s", s->field == F_NW_SRC ? "mod_nw_src" : "mod_nw_dst", ip);
		return;
	}
	if ((s->field == F_TP_SRC || s->field == F_TP_DST) && all_ones(s->mask, 2)) {
		sb_printf(b, "%s:%u", s->field == F_TP_SRC ? "mod_tp_src" : "mod_tp_dst",
			  (unsigned)(s->value[0] << 8 | s->value[1]));
		return;
	}
	/* likewise the DSCP bits; ECN and TTL, which OpenFlow 1.0 cannot
	 * write, show as ovs-ofctl shows them, as a load (below) */
	if (s->field == F_NW_TOS && all_ones(s->mask, 1)) {
		sb_printf(b, "mod_nw_tos:%u", s->value[0]);
		return;
	}
	if ((s->field == F_IPV6_SRC || s->field == F_IPV6_DST) && all_ones(s->mask, 16)) {
		char ip[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, s->value, ip, sizeof(ip));
		sb_printf(b, "set_field:%s->%s", ip, fi->name);
		return;
	}
	if (s->is_move) {
		sb_printf(b, "move:");
		put_subfield(b, field_info(s->src), s->src_ofs, s->nbits);
		sb_printf(b, "->");
		put_subfield(b, fi, s->dst_ofs, s->nbits);
		return;
	}

	/* ovs-ofctl (OpenFlow 1.0 + NXM, its default) shows every write whose
	 * mask is one bit range as load:, whichever form was written; wider
	 * fields keep the form written (OVS would split them in two loads). */
	if ((s->as_load || w <= 4) && mask_range(s->mask, w, &ofs, &nbits)) {
		put_load(b, s, fi, ofs, nbits);
		return;
	}
	sb_printf(b, "set_field:");
	put_hex(b, s->value, w);
	if (!all_ones(s->mask, w)) {
		sb_printf(b, "/");
		put_hex(b, s->mask, w);
	}
	sb_printf(b, "->%s", fi->name);
}

/* OVS's nat format: nat(src=A-B:P-Q,random); IPv6 in brackets when a
 * port follows. */
static void put_nat(struct sbuf *b, const struct action_nat *n)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	int af = n->family == 6 ? AF_INET6 : AF_INET;
	bool brackets = n->family == 6 && n->port_min;
	bool range = memcmp(n->addr_min, n->addr_max, 16) != 0;

	if (n->kind == NAT_EXISTING && !n->family) {
		sb_printf(b, "nat,");
		return;
	}
	inet_ntop(af, n->addr_min, lo, sizeof(lo));
	inet_ntop(af, n->addr_max, hi, sizeof(hi));
	sb_printf(b, "nat(%s=", n->kind == NAT_DST ? "dst" : "src");
	sb_printf(b, brackets ? "[%s]" : "%s", lo);
	if (range)
		sb_printf(b, brackets ? "-[%s]" : "-%s", hi);
	if (n->port_min) {
		sb_printf(b, ":%u", n->port_min);
		if (n->port_max != n->port_min)
			sb_printf(b, "-%u", n->port_max);
	}
	if (n->random)
		sb_printf(b, ",random");
	if (n->hash)
		sb_printf(b, ",hash");
	if (n->persistent)
		sb_printf(b, ",persistent");
	sb_printf(b, "),");
}

/* OVS's format_CT order: commit, table, zone, nat, exec, alg. */
static void put_ct(struct sbuf *b, const struct action_ct *ct)
{
	int i;

	sb_printf(b, "ct(");
	if (ct->commit)
		sb_printf(b, "commit,");
	if (ct->table >= 0)
		sb_printf(b, "table=%d,", ct->table);
	if (ct->zone_reg >= 0) {
		sb_printf(b, "zone=");
		put_subfield(b, field_info(F_REG0 + ct->zone_reg),
			     ct->zone_ofs, ct->zone_nbits);
		sb_printf(b, ",");
	} else if (ct->zone) {
		sb_printf(b, "zone=%u,", ct->zone);
	}
	if (ct->nat)
		put_nat(b, &ct->nat_spec);
	if (ct->n_exec) {
		sb_printf(b, "exec(");
		for (i = 0; i < ct->n_exec; i++) {
			put_set_field(b, &ct->exec[i]);
			sb_printf(b, ",");
		}
		sb_chomp(b, ',');
		sb_printf(b, "),");
	}
	if (ct->alg[0])
		sb_printf(b, "alg=%s,", ct->alg);
	sb_chomp(b, ',');
	sb_printf(b, ")");
}

static void put_action(struct sbuf *b, const struct flow_action *a)
{
	switch (a->type) {
	case ACT_OUTPUT:
		/* ovs-ofctl names reserved ports bare: actions=LOCAL */
		if (a->enqueue) {
			sb_printf(b, "enqueue:");
			if (a->u.port == OFPP_LOCAL)
				sb_printf(b, "LOCAL");
			else if (!put_port_name(b, a->u.port))
				sb_printf(b, "%u", a->u.port);
			sb_printf(b, ":%u", a->enqueue - 1);
		} else if (a->u.port == OFPP_LOCAL) {
			sb_printf(b, "LOCAL");
		} else {
			sb_printf(b, "output:");
			if (!put_port_name(b, a->u.port))
				sb_printf(b, "%u", a->u.port);
		}
		break;
	case ACT_NORMAL:
		sb_printf(b, "NORMAL");
		break;
	case ACT_FLOOD:
		sb_printf(b, "FLOOD");
		break;
	case ACT_IN_PORT:
		sb_printf(b, "IN_PORT");
		break;
	case ACT_RESUBMIT:
		sb_printf(b, "resubmit(,%u)", a->u.table);
		break;
	case ACT_GOTO_TABLE:
		sb_printf(b, "goto_table:%u", a->u.table);
		break;
	case ACT_SET_FIELD:
		put_set_field(b, &a->u.set);
		break;
	case ACT_CT:
		put_ct(b, &a->u.ct);
		break;
	case ACT_GROUP:
		sb_printf(b, "group:%u", a->u.group_id);
		break;
	case ACT_METER:
		sb_printf(b, "meter:%u", a->u.meter_id);
		break;
	case ACT_CT_CLEAR:
		sb_printf(b, "ct_clear");
		break;
	case ACT_DEC_TTL:
		sb_printf(b, "dec_ttl");
		break;
	case ACT_SET_QUEUE:
		sb_printf(b, "set_queue:%u", a->u.queue);
		break;
	case ACT_WRITE_METADATA: {
		unsigned long long v = be_get(a->u.set.value, 8), m = be_get(a->u.set.mask, 8);

		sb_printf(b, "write_metadata:%#llx", v);
		if (m != ~0ull)
			sb_printf(b, "/%#llx", m);
		break;
	}
	case ACT_OUTPUT_REG:
		sb_printf(b, "output:");
		put_subfield(b, field_info(a->u.out_reg.field), a->u.out_reg.ofs,
			     a->u.out_reg.nbits);
		break;
	case ACT_POP_QUEUE:
		sb_printf(b, "pop_queue");
		break;
	case ACT_EXIT:
		sb_printf(b, "exit");
		break;
	case ACT_CONJUNCTION:
		sb_printf(b, "conjunction(%u,%u/%u)", a->u.conj.id,
			  a->u.conj.clause, a->u.conj.n_clauses);
		break;
	case ACT_DPI:
		sb_printf(b, "dpi(queue=%u", a->u.dpi.queue_lo);
		if (a->u.dpi.queue_hi != a->u.dpi.queue_lo)
			sb_printf(b, "-%u", a->u.dpi.queue_hi);
		sb_printf(b, ",fail=%s)", a->u.dpi.fail_closed ? "closed" : "open");
		break;
	}
}

/* note:HEX as ovs-ofctl prints it, the bytes joined by '.'. */
static void put_note(struct sbuf *b, const struct flow_note *n)
{
	sb_printf(b, "note:");
	for (int i = 0; i < n->len; i++)
		sb_printf(b, "%s%02x", i ? "." : "", n->data[i]);
}

/* The actions, each note before the action it precedes. */
static void put_actions(struct sbuf *b, const struct flow *f)
{
	int note = 0, printed = 0;

	if (!f->n_actions && !f->n_notes) {
		sb_printf(b, "drop");
		return;
	}
	for (int i = 0; i <= f->n_actions; i++) {
		for (; note < f->n_notes && f->notes[note].before <= i; note++, printed++) {
			if (printed)
				sb_printf(b, ",");
			put_note(b, &f->notes[note]);
		}
		if (i == f->n_actions)
			break;
		if (printed++)
			sb_printf(b, ",");
		put_action(b, &f->actions[i]);
	}
}

char *flow_format_match_named(const struct flow *f,
			      const struct flow_port_names *names)
{
	struct sbuf b = { .names = names };

	put_matches(&b, f);
	return sb_steal(&b);
}

char *flow_format_match(const struct flow *f)
{
	return flow_format_match_named(f, NULL);
}

char *flow_format_action_named(const struct flow_action *a,
			       const struct flow_port_names *names)
{
	struct sbuf b = { .names = names };

	put_action(&b, a);
	return sb_steal(&b);
}

char *flow_format_note(const struct flow_note *n)
{
	struct sbuf b = { 0 };

	put_note(&b, n);
	return sb_steal(&b);
}

char *flow_format_action(const struct flow_action *a)
{
	return flow_format_action_named(a, NULL);
}

const char *flow_ct_state_name(unsigned bit)
{
	return ct_state_name(bit);
}

char *flow_format_actions(const struct flow *f)
{
	struct sbuf b = { 0 };

	put_actions(&b, f);
	return sb_steal(&b);
}

char *flow_format_flags(unsigned flags, const char *sep)
{
	/* ovs-ofctl's order, which is not the bits' */
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ FLOW_FF_SEND_FLOW_REM, "send_flow_rem" },
		{ FLOW_FF_CHECK_OVERLAP, "check_overlap" },
		{ FLOW_FF_RESET_COUNTS, "reset_counts" },
		{ FLOW_FF_NO_PKT_COUNTS, "no_packet_counts" },
		{ FLOW_FF_NO_BYT_COUNTS, "no_byte_counts" },
	};
	struct sbuf b = { 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			sb_printf(&b, "%s%s", names[i].name, sep);
	return sb_steal(&b);
}

/* ovs-ofctl dump-flows prints the timeouts among the statistics, each
 * followed by ", ", so they stay that way in front of the match. */
static void put_timeouts(struct sbuf *b, const struct flow *f)
{
	if (f->idle_timeout)
		sb_printf(b, "idle_timeout=%u, ", f->idle_timeout);
	if (f->hard_timeout)
		sb_printf(b, "hard_timeout=%u, ", f->hard_timeout);
}

static char *format_flow(const struct flow *f, const struct flow_port_names *names,
			 bool timeouts)
{
	struct sbuf b = { .names = names };
	size_t match;

	if (timeouts)
		put_timeouts(&b, f);
	match = b.len;
	if (f->priority != FLOW_DEFAULT_PRIORITY)
		sb_printf(&b, "priority=%u,", f->priority);
	put_matches(&b, f);
	sb_chomp(&b, ',');
	/* an empty match: the timeouts' ", " already separates */
	if (b.len > match)
		sb_printf(&b, " ");
	sb_printf(&b, "actions=");
	put_actions(&b, f);
	return sb_steal(&b);
}

char *flow_format(const struct flow *f)
{
	return flow_format_named(f, NULL);
}

char *flow_format_named(const struct flow *f, const struct flow_port_names *names)
{
	return format_flow(f, names, true);
}

char *flow_format_no_timeouts(const struct flow *f, const struct flow_port_names *names)
{
	return format_flow(f, names, false);
}
