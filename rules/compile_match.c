/* Compiling a flow's matches for one path state.  Fields whose value is
 * known at compile time in that state (registers, ct_zone, ct fields before
 * ct(), the IP version of the chain copy) are decided here and never reach
 * the kernel; the rest become nftables compare statements. */
#include "compile_priv.h"
#include "dpi.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>

uint32_t be_uint(const uint8_t *p, int width)
{
	uint32_t x = 0;

	for (int i = 0; i < width && i < 4; i++)
		x = x << 8 | p[i];
	return x;
}

uint64_t be_uint64(const uint8_t *p, int width)
{
	uint64_t x = 0;

	for (int i = 0; i < width && i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

bool mask_is_full(const uint8_t *mask, int width)
{
	for (int i = 0; i < width; i++)
		if (mask[i] != 0xff)
			return false;
	return true;
}

int field_width(enum field_id id)
{
	return field_info(id)->width;
}

static struct nir_stmt *add_match(struct nir_rule *r, const struct nir_src *src)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

	if (s)
		s->u.match.src = *src;
	return s;
}

static void put_host32(struct nir_value *v, uint32_t x)
{
	v->len = 4;
	memcpy(v->data, &x, 4);
}

static const struct nir_src src_meta_mark = {
	.kind = NIR_SRC_META, .key = NFT_META_MARK, .len = 4,
	.name = "meta mark", .fmt = NIR_FMT_HEX,
};

int add_mark_match(struct nir_rule *r, uint32_t mask, uint32_t value)
{
	struct nir_stmt *s = add_match(r, &src_meta_mark);

	if (!s)
		return -1;
	s->u.match.has_mask = mask != 0xffffffffu;
	put_host32(&s->u.match.mask, mask);
	put_host32(&s->u.match.value, value);
	return 0;
}

int add_mark_set(struct nir_rule *r, enum nir_mark_target t, uint32_t and_mask,
		 uint32_t or_value)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_MARK_SET);

	if (!s)
		return -1;
	/* (x & and) | or, stored so that or_value & and_mask == 0: the kernel's
	 * bitwise computes (x & mask) ^ xor, which equals it only then. */
	s->u.mark.target = t;
	s->u.mark.and_mask = and_mask & ~or_value;
	s->u.mark.or_value = or_value;
	return 0;
}

int add_verdict(struct nir_rule *r, enum nir_verdict v, const char *chain)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_VERDICT);

	if (!s)
		return -1;
	s->u.verdict.code = v;
	if (chain)
		snprintf(s->u.verdict.chain, sizeof(s->u.verdict.chain), "%s", chain);
	return 0;
}

int add_ct_state_match(struct nir_rule *r, uint32_t bits, bool negate)
{
	static const struct nir_src src = {
		.kind = NIR_SRC_CT, .key = NFT_CT_STATE, .len = 4,
		.name = "ct state", .fmt = NIR_FMT_CTSTATE,
	};
	struct nir_stmt *s = add_match(r, &src);

	if (!s)
		return -1;
	/* One state bit: (state & X) == X, printed as "ct state X". */
	s->u.match.has_mask = true;
	put_host32(&s->u.match.mask, bits);
	put_host32(&s->u.match.value, bits);
	s->u.match.negate = negate;
	return 0;
}

/* A payload compare: value/mask are big-endian flow bytes, as the packet
 * carries them. */
static int add_payload_match(struct nir_rule *r, uint32_t base, uint32_t offset,
			     const char *name, enum nir_fmt fmt,
			     const struct flow_match *m, int width)
{
	struct nir_src src = {
		.kind = NIR_SRC_PAYLOAD, .base = base, .offset = offset,
		.len = width, .name = name, .fmt = fmt,
	};
	struct nir_stmt *s = add_match(r, &src);

	if (!s)
		return -1;
	s->u.match.value.len = width;
	s->u.match.mask.len = width;
	for (int i = 0; i < width; i++) {
		s->u.match.value.data[i] = m->value[i] & m->mask[i];
		s->u.match.mask.data[i] = m->mask[i];
	}
	s->u.match.has_mask = !mask_is_full(m->mask, width);
	return 0;
}

/* Compile-time test: does the known value 'known' satisfy match m? */
static bool static_match(const struct flow_match *m, uint32_t known)
{
	int w = field_width(m->field);
	uint32_t mask = be_uint(m->mask, w);

	return ((known ^ be_uint(m->value, w)) & mask) == 0;
}

static bool all_zero_match(const struct flow_match *m)
{
	int w = field_width(m->field);

	for (int i = 0; i < w; i++)
		if (m->value[i] & m->mask[i])
			return false;
	return true;
}

/* ct_state flags other than trk, as packet-mark bits set by the ctstate
 * chain (see compile.c). */
static uint32_t cs_to_mark(uint32_t cs)
{
	uint32_t m = 0;

	if (cs & CS_NEW)
		m |= MARK_CS_NEW;
	if (cs & CS_EST)
		m |= MARK_CS_EST;
	if (cs & CS_REL)
		m |= MARK_CS_REL;
	if (cs & CS_RPL)
		m |= MARK_CS_RPL;
	if (cs & CS_INV)
		m |= MARK_CS_INV;
	return m;
}

/* +snat and +dnat after ct(nat,table=N), where only conntrack knows them:
 * the connection's NAT status bits, read for the packet's direction (a
 * reply's source is what DNAT translated, its destination what SNAT did). */
static int nat_flags_match(uint32_t mask, uint32_t value, uint8_t nat_view,
			   struct nir_rule *r)
{
	static const uint32_t src_nat = 0x10, dst_nat = 0x20; /* IPS_SRC_NAT, IPS_DST_NAT */
	uint32_t snat_bit = nat_view == 1 ? src_nat : dst_nat;
	uint32_t dnat_bit = nat_view == 1 ? dst_nat : src_nat;
	uint32_t status_mask = (mask & CS_SNAT ? snat_bit : 0) | (mask & CS_DNAT ? dnat_bit : 0);
	uint32_t status_value = (value & mask & CS_SNAT ? snat_bit : 0) |
				(value & mask & CS_DNAT ? dnat_bit : 0);

	return add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX, 4,
				&status_mask, status_value);
}

/* What the path knows of +snat and +dnat: OVS sets them only in the tables
 * after a ct(nat); on a new connection's first packet the ct() itself says
 * which (view 3); the other views ask conntrack. */
static uint32_t nat_flags_known(const struct path_state *st)
{
	if (st->nat_view != 3)
		return 0;
	return st->first_nat.kind == NAT_SRC ? CS_SNAT :
	       st->first_nat.kind == NAT_DST ? CS_DNAT : 0;
}

static int ct_state_match(const struct flow_match *m, const struct path_state *st,
			  struct nir_rule *r)
{
	const uint32_t nat_flags = CS_SNAT | CS_DNAT;
	uint32_t value = m->value[0], mask = m->mask[0];
	uint32_t known = 0, known_mask = CS_TRK;

	if (st->tracked)
		known |= CS_TRK;
	if (!st->tracked) {
		known_mask = 0xff; /* untracked: every flag is clear */
	} else if (st->l3 == L3_OTHER) {
		known |= CS_INV; /* ct() on a non-IP packet: +trk+inv */
		known_mask = 0xff;
	} else {
		if (st->ct_known) {
			known = st->ct_known;
			known_mask = CS_TRK | CS_NEW | CS_EST | CS_REL | CS_RPL | CS_INV;
		}
		if (st->nat_view == 0 || st->nat_view == 3) {
			known |= nat_flags_known(st);
			known_mask |= nat_flags;
		}
	}
	if ((value ^ known) & mask & known_mask)
		return 0;
	mask &= ~known_mask;
	if ((mask & ~nat_flags) &&
	    add_mark_match(r, cs_to_mark(mask & ~nat_flags), cs_to_mark(value & mask & ~nat_flags)))
		return -1;
	if ((mask & nat_flags) && nat_flags_match(mask, value, st->nat_view, r))
		return -1;
	return 1;
}

static int ct_mark_match(const struct flow_match *m, struct nir_rule *r)
{
	static const struct nir_src src = {
		.kind = NIR_SRC_CT, .key = NFT_CT_MARK, .len = 4,
		.name = "ct mark", .fmt = NIR_FMT_HEX,
	};
	struct nir_stmt *s = add_match(r, &src);
	uint32_t mask = be_uint(m->mask, 4) & CT_MARK_USER_MASK;

	if (!s)
		return -1;
	s->u.match.has_mask = true;
	put_host32(&s->u.match.mask, mask);
	put_host32(&s->u.match.value, be_uint(m->value, 4) & mask);
	return 1;
}

/* Kernel label bit N is bit N%8 of byte N/8; the flow's value is one
 * big-endian 128-bit number whose bit 0 is label bit 0. */
static void label_to_kernel(const uint8_t *be, uint8_t *kernel)
{
	for (int i = 0; i < 16; i++)
		kernel[i] = be[15 - i];
}

int add_label_match(struct nir_rule *r, const uint8_t *mask, const uint8_t *value)
{
	static const struct nir_src src = {
		.kind = NIR_SRC_CT, .key = NFT_CT_LABELS, .len = 16,
		.name = "ct label", .fmt = NIR_FMT_LABEL,
	};
	struct nir_stmt *s = add_match(r, &src);

	if (!s)
		return -1;
	s->u.match.has_mask = true;
	s->u.match.mask.len = s->u.match.value.len = 16;
	memcpy(s->u.match.mask.data, mask, 16);
	memcpy(s->u.match.value.data, value, 16);
	return 0;
}

static int ct_label_match(const struct flow_match *m, const uint8_t *reserved,
			  struct nir_rule *r)
{
	uint8_t v[16], kmask[16], kvalue[16];

	for (int i = 0; i < 16; i++)
		v[i] = m->value[i] & m->mask[i];
	label_to_kernel(m->mask, kmask);
	label_to_kernel(v, kvalue);
	/* brflow's own bits are not part of the user's label */
	for (int i = 0; i < 16; i++) {
		kmask[i] &= ~reserved[i];
		kvalue[i] &= ~reserved[i];
	}
	return add_label_match(r, kmask, kvalue) ? -1 : 1;
}

/* dpi_proto=: the protocol id the DPI handler wrote into label bits
 * 112-119.  Read whether or not the flow comes after ct(): the label
 * belongs to the connection. */
static int dpi_proto_match(const struct flow_match *m, struct nir_rule *r)
{
	uint8_t mask[16] = { 0 }, value[16] = { 0 };

	mask[DPI_LABEL_PROTO_SHIFT / 8] = 0xff;
	value[DPI_LABEL_PROTO_SHIFT / 8] = m->value[0];
	return add_label_match(r, mask, value) ? -1 : 1;
}

/* dpi_host=: the host table bit (label bit 96 + index). */
static int dpi_host_bit_match(const struct flow *f, const struct compile_input *in,
			  struct nir_rule *r)
{
	uint8_t bits[16] = { 0 };
	int i;

	for (i = 0; i < in->n_dpi_hosts; i++)
		if (f->dpi_host && !strcmp(in->dpi_hosts[i], f->dpi_host))
			break;
	if (i == in->n_dpi_hosts || i >= DPI_MAX_HOSTS)
		return MATCH_NO_DPI_HOST;
	i += DPI_LABEL_HOST_SHIFT;
	bits[i / 8] = 1u << (i % 8);
	return add_label_match(r, bits, bits) ? -1 : 1;
}

static int l4proto_match(const struct flow_match *m, struct nir_rule *r)
{
	static const struct nir_src src = {
		.kind = NIR_SRC_META, .key = NFT_META_L4PROTO, .len = 1,
		.name = "meta l4proto", .fmt = NIR_FMT_DEC,
	};
	struct nir_stmt *s = add_match(r, &src);

	if (!s)
		return -1;
	s->u.match.value.len = s->u.match.mask.len = 1;
	s->u.match.value.data[0] = m->value[0] & m->mask[0];
	s->u.match.mask.data[0] = m->mask[0];
	s->u.match.has_mask = m->mask[0] != 0xff;
	return 1;
}

static int ethertype_match(const struct flow_match *m, enum l3 l3,
			   struct nir_rule *r)
{
	static const struct nir_src src = {
		.kind = NIR_SRC_META, .key = NFT_META_PROTOCOL, .len = 2,
		.name = "meta protocol", .fmt = NIR_FMT_ETHERTYPE,
	};
	struct nir_stmt *s;

	if (l3 == L3_IP4)
		return static_match(m, 0x0800);
	if (l3 == L3_IP6)
		return static_match(m, 0x86dd);
	/* The non-IP copy never sees IPv4/IPv6. */
	if (static_match(m, 0x0800) && mask_is_full(m->mask, 2))
		return 0;
	if (static_match(m, 0x86dd) && mask_is_full(m->mask, 2))
		return 0;
	s = add_match(r, &src);
	if (!s)
		return -1;
	s->u.match.value.len = s->u.match.mask.len = 2;
	for (int i = 0; i < 2; i++) {
		s->u.match.value.data[i] = m->value[i] & m->mask[i];
		s->u.match.mask.data[i] = m->mask[i];
	}
	s->u.match.has_mask = !mask_is_full(m->mask, 2);
	return 1;
}

/* After ct(nat,table=N), OVS matches the translated packet, but netfilter
 * translates only later (nat hooks): read the addresses and ports from the
 * conntrack tuple of the other direction instead, which mirror the packet
 * as translated (its source is that tuple's destination). */
static int translated_match(const struct flow_match *m, const struct path_state *st,
			    struct nir_rule *r)
{
	bool src = m->field == F_NW_SRC || m->field == F_IPV6_SRC || m->field == F_TP_SRC;
	bool v6 = m->field == F_IPV6_SRC || m->field == F_IPV6_DST;
	bool port = m->field == F_TP_SRC || m->field == F_TP_DST;
	int w = port ? 2 : v6 ? 16 : 4;
	struct nir_src s = { .kind = NIR_SRC_CT, .len = w,
			     .ct_dir = st->nat_view == 1 ? 2 : 1,
			     .fmt = port ? NIR_FMT_DEC : v6 ? NIR_FMT_IPV6 : NIR_FMT_IPV4 };
	struct nir_stmt *stmt;

	if (port) {
		s.key = src ? NFT_CT_PROTO_DST : NFT_CT_PROTO_SRC;
		s.name = s.ct_dir == 1 ? (src ? "ct original proto-dst" : "ct original proto-src")
				       : (src ? "ct reply proto-dst" : "ct reply proto-src");
	} else if (v6) {
		s.key = src ? NFT_CT_DST_IP6 : NFT_CT_SRC_IP6;
		s.name = s.ct_dir == 1 ? (src ? "ct original ip6 daddr" : "ct original ip6 saddr")
				       : (src ? "ct reply ip6 daddr" : "ct reply ip6 saddr");
	} else {
		s.key = src ? NFT_CT_DST_IP : NFT_CT_SRC_IP;
		s.name = s.ct_dir == 1 ? (src ? "ct original ip daddr" : "ct original ip saddr")
				       : (src ? "ct reply ip daddr" : "ct reply ip saddr");
	}
	stmt = add_match(r, &s);
	if (!stmt)
		return -1;
	stmt->u.match.value.len = stmt->u.match.mask.len = w;
	for (int i = 0; i < w; i++) {
		stmt->u.match.value.data[i] = m->value[i] & m->mask[i];
		stmt->u.match.mask.data[i] = m->mask[i];
	}
	stmt->u.match.has_mask = !mask_is_full(m->mask, w);
	return 1;
}

/* ct_nw_src and friends: the connection's original-direction tuple, which
 * conntrack keeps whatever NAT later does to the packets. */
static int ct_tuple_match(const struct flow_match *m, struct nir_rule *r)
{
	static const struct nir_src srcs[] = {
		{ .kind = NIR_SRC_CT, .key = NFT_CT_SRC_IP, .len = 4, .ct_dir = 1,
		  .name = "ct original ip saddr", .fmt = NIR_FMT_IPV4 },
		{ .kind = NIR_SRC_CT, .key = NFT_CT_DST_IP, .len = 4, .ct_dir = 1,
		  .name = "ct original ip daddr", .fmt = NIR_FMT_IPV4 },
		{ .kind = NIR_SRC_CT, .key = NFT_CT_SRC_IP6, .len = 16, .ct_dir = 1,
		  .name = "ct original ip6 saddr", .fmt = NIR_FMT_IPV6 },
		{ .kind = NIR_SRC_CT, .key = NFT_CT_DST_IP6, .len = 16, .ct_dir = 1,
		  .name = "ct original ip6 daddr", .fmt = NIR_FMT_IPV6 },
		{ .kind = NIR_SRC_CT, .key = NFT_CT_PROTOCOL, .len = 1, .ct_dir = 1,
		  .name = "ct original protocol", .fmt = NIR_FMT_DEC },
		{ .kind = NIR_SRC_CT, .key = NFT_CT_PROTO_SRC, .len = 2, .ct_dir = 1,
		  .name = "ct original proto-src", .fmt = NIR_FMT_DEC },
		{ .kind = NIR_SRC_CT, .key = NFT_CT_PROTO_DST, .len = 2, .ct_dir = 1,
		  .name = "ct original proto-dst", .fmt = NIR_FMT_DEC },
	};
	const struct nir_src *src = &srcs[m->field - F_CT_NW_SRC];
	struct nir_stmt *s = add_match(r, src);

	if (!s)
		return -1;
	s->u.match.value.len = s->u.match.mask.len = src->len;
	for (uint32_t i = 0; i < src->len; i++) {
		s->u.match.value.data[i] = m->value[i] & m->mask[i];
		s->u.match.mask.data[i] = m->mask[i];
	}
	s->u.match.has_mask = !mask_is_full(m->mask, src->len);
	return 1;
}

static bool is_src_field(enum field_id id)
{
	return id == F_NW_SRC || id == F_IPV6_SRC || id == F_TP_SRC;
}

/* A new connection's first packet, in a table after the ct() that
 * translates it: the translated field is known when the nat range is one
 * address (one port). */
static bool first_packet_known(const struct flow_match *m, const struct path_state *st)
{
	bool port = m->field == F_TP_SRC || m->field == F_TP_DST;

	if (!st->first_nat.kind ||
	    is_src_field(m->field) != (st->first_nat.kind == NAT_SRC))
		return false;
	return port ? st->first_nat.port != 0 : st->first_nat.single;
}

static int first_packet_match(const struct flow_match *m, const struct path_state *st)
{
	bool port = m->field == F_TP_SRC || m->field == F_TP_DST;
	int w = field_width(m->field);
	uint8_t v[16] = { 0 };

	if (port) {
		v[0] = st->first_nat.port >> 8;
		v[1] = st->first_nat.port;
	} else {
		if ((w == 16) != (st->first_nat.family == 6))
			return 0;
		memcpy(v, st->first_nat.addr, w);
	}
	for (int i = 0; i < w; i++)
		if ((v[i] ^ m->value[i]) & m->mask[i])
			return 0;
	return 1;
}

#define NOT_NAT_VIEW 2

/* An address or port after ct(nat,table=N): from conntrack (views 1, 2), or
 * known statically on the first packet (view 3); NOT_NAT_VIEW when the
 * packet's own field is right (view 3, field not translated or unknown). */
static int nat_view_match(const struct flow_match *m, const struct path_state *st,
			  struct nir_rule *r)
{
	if (st->nat_view == 3)
		return first_packet_known(m, st) ? first_packet_match(m, st) : NOT_NAT_VIEW;
	return translated_match(m, st, r);
}

/* Where an IP header field lives: IPv4 keeps ToS and TTL in bytes of their
 * own; IPv6 spreads the traffic class over its first two bytes (bits 4-11
 * of the big-endian word at offset 0) beside the version and the flow
 * label. */
struct nir_src ttl_src(bool v6)
{
	return (struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_NETWORK_HEADER, .offset = v6 ? 7 : 8, .len = 1,
		.name = v6 ? "@nh,56,8" : "@nh,64,8", .fmt = NIR_FMT_HEX };
}

static int ip_header_match(const struct flow_match *m, bool v6, struct nir_rule *r)
{
	struct flow_match w = { .field = m->field };
	uint32_t value = be_uint(m->value, field_width(m->field));
	uint32_t mask = be_uint(m->mask, field_width(m->field));
	uint32_t field_mask = m->field == F_NW_TOS ? 0xfc : m->field == F_NW_ECN ? 0x03 : 0xff;
	const char *name = "@nh,8,8";
	int offset = 1, width = 1;

	if (m->field == F_IPV6_LABEL) {
		mask &= 0x000fffff;
		width = 4, offset = 0, name = "@nh,0,32";
	} else if (m->field == F_NW_TTL) {
		offset = (int)ttl_src(v6).offset;
		name = ttl_src(v6).name;
	} else if (v6) {
		/* the traffic class byte, 4 bits into the header */
		value <<= 4;
		mask = field_mask << 4;
		width = 2, offset = 0, name = "@nh,0,16";
	} else {
		mask = field_mask;
	}
	for (int i = 0; i < width; i++) {
		w.value[i] = value >> (8 * (width - 1 - i));
		w.mask[i] = mask >> (8 * (width - 1 - i));
	}
	return add_payload_match(r, NFT_PAYLOAD_NETWORK_HEADER, offset, name,
				 NIR_FMT_HEX, &w, width) ? -1 : 1;
}

/* A match on nw_ttl after n dec_ttl, in the pre-pass: the packet there
 * still has the TTL before the decrements, n more than the main pass
 * compares. */
static int ttl_before_dec_match(const struct flow_match *m, bool v6, int n,
				struct nir_rule *r)
{
	struct flow_match before = *m;

	if (m->value[0] + n > 255)
		return 0;
	before.value[0] = (uint8_t)(m->value[0] + n);
	return ip_header_match(&before, v6, r);
}

int add_ttl_below(struct nir_rule *r, bool v6, uint32_t bound)
{
	struct nir_src src = ttl_src(v6);
	struct nir_stmt *s = add_match(r, &src);

	if (!s)
		return -1;
	/* the byte lands in the register's first byte, the rest zeroed, and
	 * the compare reads the register as a host-order number: the TTL on
	 * a little-endian host, the TTL times 2^24 on a big-endian one */
	s->u.match.less = true;
	put_host32(&s->u.match.value, htonl(1) == 1 ? bound << 24 : bound);
	return 0;
}

int add_ttl_match(struct nir_rule *r, bool v6, uint8_t mask, uint8_t value)
{
	struct flow_match m = { .field = F_NW_TTL };

	m.value[0] = value;
	m.mask[0] = mask;
	return ip_header_match(&m, v6, r) < 0 ? -1 : 0;
}

/* An Ethernet/IPv4 ARP (or RARP) header's field, behind the 8 bytes of
 * hardware and protocol types and lengths; the flow's arp/rarp prerequisite
 * comes first in the rule (field order), so only such packets reach it. */
static int arp_match(const struct flow_match *m, struct nir_rule *r)
{
	static const struct {
		enum field_id field;
		uint32_t offset;
		const char *name;
		enum nir_fmt fmt;
	} arp_fields[] = {
		{ F_ARP_OP, 6, "arp operation", NIR_FMT_DEC },
		{ F_ARP_SHA, 8, "arp saddr ether", NIR_FMT_MAC },
		{ F_ARP_SPA, 14, "arp saddr ip", NIR_FMT_IPV4 },
		{ F_ARP_THA, 18, "arp daddr ether", NIR_FMT_MAC },
		{ F_ARP_TPA, 24, "arp daddr ip", NIR_FMT_IPV4 },
	};

	for (size_t i = 0; i < sizeof(arp_fields) / sizeof(arp_fields[0]); i++)
		if (arp_fields[i].field == m->field)
			return add_payload_match(r, NFT_PAYLOAD_NETWORK_HEADER,
						 arp_fields[i].offset, arp_fields[i].name,
						 arp_fields[i].fmt, m,
						 field_width(m->field)) ? -1 : 1;
	return 0;
}

/* vlan_tci (dl_vlan, dl_vlan_pcp), bit 12 being OVS's "tagged": read from
 * the link-layer header, which nftables rebuilds with the tag the kernel
 * keeps beside the frame (ether type 0x8100, then the TCI).  An 802.1ad
 * (0x88a8) outer tag does not count as tagged. */
static int vlan_match(const struct flow_match *m, struct nir_rule *r)
{
	uint16_t v = (uint16_t)be_uint(m->value, 2), mask = (uint16_t)be_uint(m->mask, 2);
	uint16_t tci_mask = mask & ~0x1000;
	struct flow_match tag = { .field = F_VLAN_TCI,
				  .value = { 0x81, 0x00 }, .mask = { 0xff, 0xff } };
	struct flow_match tci = { .field = F_VLAN_TCI,
				  .value = { (v & tci_mask) >> 8, v & tci_mask & 0xff },
				  .mask = { tci_mask >> 8, tci_mask & 0xff } };

	if (!(mask & 0x1000))
		return 0; /* the parser requires it */
	if (!(v & 0x1000) && (v & tci_mask))
		return 0; /* an untagged packet's TCI is 0 */
	if (add_payload_match(r, NFT_PAYLOAD_LL_HEADER, 12, "ether type",
			      NIR_FMT_ETHERTYPE, &tag, 2))
		return -1;
	if (!(v & 0x1000)) {
		r->stmts[r->n_stmts - 1].u.match.negate = true;
		return 1;
	}
	if (tci_mask && add_payload_match(r, NFT_PAYLOAD_LL_HEADER, 14, "vlan tci",
					  NIR_FMT_HEX, &tci, 2))
		return -1;
	return 1;
}

static int one_match(const struct compiler *c, const struct flow *f,
		     const struct flow_match *m, const struct path_state *st,
		     struct nir_rule *r)
{
	int ret;

	const struct compile_input *in = c->in;
	bool ip = st->l3 != L3_OTHER;
	bool v4 = st->l3 == L3_IP4, v6 = st->l3 == L3_IP6;
	int w = field_width(m->field);

	switch (m->field) {
	case F_IN_PORT: {
		uint32_t port = be_uint(m->value, w) & be_uint(m->mask, w);

		if (port == 0 || (port > BRFLOW_MAX_OFPORT && port != OFPP_LOCAL))
			return 0;
		if (st->in_port)
			return static_match(m, st->in_port);
		return add_mark_match(r, MARK_IN_PORT, port_mark(port)) ? -1 : 1;
	}
	case F_DL_SRC:
		return add_payload_match(r, NFT_PAYLOAD_LL_HEADER, 6, "ether saddr",
					 NIR_FMT_MAC, m, 6) ? -1 : 1;
	case F_DL_DST:
		return add_payload_match(r, NFT_PAYLOAD_LL_HEADER, 0, "ether daddr",
					 NIR_FMT_MAC, m, 6) ? -1 : 1;
	case F_DL_TYPE:
		return ethertype_match(m, st->l3, r);
	case F_VLAN_TCI:
		return vlan_match(m, r);
	case F_NW_SRC:
	case F_NW_DST:
		if (!v4)
			return 0;
		if (st->tracked && st->nat_view && (ret = nat_view_match(m, st, r)) != NOT_NAT_VIEW)
			return ret;
		return add_payload_match(r, NFT_PAYLOAD_NETWORK_HEADER,
					 m->field == F_NW_SRC ? 12 : 16,
					 m->field == F_NW_SRC ? "ip saddr" : "ip daddr",
					 NIR_FMT_IPV4, m, 4) ? -1 : 1;
	case F_IPV6_SRC:
	case F_IPV6_DST:
		if (!v6)
			return 0;
		if (st->tracked && st->nat_view && (ret = nat_view_match(m, st, r)) != NOT_NAT_VIEW)
			return ret;
		return add_payload_match(r, NFT_PAYLOAD_NETWORK_HEADER,
					 m->field == F_IPV6_SRC ? 8 : 24,
					 m->field == F_IPV6_SRC ? "ip6 saddr" : "ip6 daddr",
					 NIR_FMT_IPV6, m, 16) ? -1 : 1;
	case F_NW_PROTO:
		/* IPv4's protocol byte is the l4proto netfilter reads; as a
		 * payload load it is evaluated inline, a meta load is a call */
		if (v4)
			return add_payload_match(r, NFT_PAYLOAD_NETWORK_HEADER, 9,
						 "ip protocol", NIR_FMT_DEC, m, 1) ? -1 : 1;
		return v6 ? l4proto_match(m, r) : 0;
	case F_TP_SRC:
	case F_TP_DST:
		if (!ip)
			return 0;
		if (st->tracked && st->nat_view && (ret = nat_view_match(m, st, r)) != NOT_NAT_VIEW)
			return ret;
		return add_payload_match(r, NFT_PAYLOAD_TRANSPORT_HEADER,
					 m->field == F_TP_SRC ? 0 : 2,
					 m->field == F_TP_SRC ? "th sport" : "th dport",
					 NIR_FMT_DEC, m, 2) ? -1 : 1;
	case F_TCP_FLAGS:
		if (!ip)
			return 0;
		return add_payload_match(r, NFT_PAYLOAD_TRANSPORT_HEADER, 12,
					 "@th,96,16", NIR_FMT_HEX, m, 2) ? -1 : 1;
	case F_ICMP_TYPE:
	case F_ICMP_CODE:
		if (!ip)
			return 0;
		return add_payload_match(r, NFT_PAYLOAD_TRANSPORT_HEADER,
					 m->field == F_ICMP_TYPE ? 0 : 1,
					 m->field == F_ICMP_TYPE ?
					 (v6 ? "icmpv6 type" : "icmp type") :
					 (v6 ? "icmpv6 code" : "icmp code"),
					 NIR_FMT_DEC, m, 1) ? -1 : 1;
	case F_ND_TARGET:
		if (!v6)
			return 0;
		return add_payload_match(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8,
					 "@th,64,128", NIR_FMT_IPV6, m, 16) ? -1 : 1;
	case F_NW_TOS:
	case F_NW_ECN:
	case F_NW_TTL:
		if (ip && st->pass == PASS_PRE &&
		    st->hdr_unknown & 1u << (m->field - F_NW_TOS))
			return MATCH_HDR_UNKNOWN;
		if (ip && (st->hdr_known & 1u << (m->field - F_NW_TOS)))
			return static_match(m, st->hdr_value[m->field - F_NW_TOS]);
		if (ip && m->field == F_NW_TTL && st->ttl_dec && st->pass == PASS_PRE)
			return ttl_before_dec_match(m, v6, st->ttl_dec, r);
		return ip ? ip_header_match(m, v6, r) : 0;
	case F_IPV6_LABEL:
		return ip ? ip_header_match(m, v6, r) : 0;
	case F_ARP_OP:
	case F_ARP_SPA:
	case F_ARP_TPA:
	case F_ARP_SHA:
	case F_ARP_THA:
		return ip ? 0 : arp_match(m, r);
	case F_CT_STATE:
		return ct_state_match(m, st, r);
	case F_CT_ZONE:
		return static_match(m, st->tracked ? st->ctx_zone : 0);
	case F_CT_MARK:
		if (!st->tracked || !ip)
			return all_zero_match(m);
		return ct_mark_match(m, r);
	case F_CT_LABEL:
		if (!st->tracked || !ip)
			return all_zero_match(m);
		return ct_label_match(m, c->label_reserved, r);
	case F_CT_NW_SRC:
	case F_CT_NW_DST:
		if (!st->tracked || !v4)
			return all_zero_match(m);
		return ct_tuple_match(m, r);
	case F_CT_IPV6_SRC:
	case F_CT_IPV6_DST:
		if (!st->tracked || !v6)
			return all_zero_match(m);
		return ct_tuple_match(m, r);
	case F_CT_NW_PROTO:
	case F_CT_TP_SRC:
	case F_CT_TP_DST:
		if (!st->tracked || !ip)
			return all_zero_match(m);
		return ct_tuple_match(m, r);
	case F_DPI_PROTO:
		return ip ? dpi_proto_match(m, r) : 0;
	case F_DPI_HOST:
		return ip ? dpi_host_bit_match(f, in, r) : 0;
	case F_METADATA:
		if (reg_unknown(st, F_METADATA))
			return MATCH_REG_UNKNOWN;
		return ((st->metadata ^ be_uint64(m->value, 8)) &
			be_uint64(m->mask, 8)) == 0;
	default:
		if (m->field >= F_REG0 && m->field <= F_REG7) {
			if (reg_unknown(st, m->field))
				return MATCH_REG_UNKNOWN;
			return static_match(m, st->regs[m->field - F_REG0]);
		}
		return 0;
	}
}

int compile_matches(const struct compiler *c, const struct flow *f,
		    const struct path_state *st, struct nir_rule *r)
{
	/* nw_proto before transport fields: nftables reads th only after the
	 * protocol is known, and the flow array is in field order already. */
	for (int i = 0; i < f->n_matches; i++) {
		int ret = one_match(c, f, &f->matches[i], st, r);

		if (ret <= 0)
			return ret;
	}
	return 1;
}
