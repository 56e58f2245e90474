/* The field table: every match field brflow knows, described once.  The
 * parser, the printer and the compiler look widths and names up here instead
 * of hard-coding them (the idea of OVS's meta-flow table). */
#include <string.h>

#include "flow.h"

#define REG_ROW(n) \
	{ F_REG0 + (n), "reg" #n, "NXM_NX_REG" #n, 4, true }

static const struct field_info fields[F_COUNT] = {
	{ F_IN_PORT,   "in_port",   "NXM_OF_IN_PORT",   2,  false },
	{ F_DL_SRC,    "dl_src",    "NXM_OF_ETH_SRC",   6,  true },
	{ F_DL_DST,    "dl_dst",    "NXM_OF_ETH_DST",   6,  true },
	{ F_DL_TYPE,   "dl_type",   "NXM_OF_ETH_TYPE",  2,  false },
	{ F_NW_SRC,    "nw_src",    "NXM_OF_IP_SRC",    4,  true },
	{ F_NW_DST,    "nw_dst",    "NXM_OF_IP_DST",    4,  true },
	{ F_IPV6_SRC,  "ipv6_src",  "NXM_NX_IPV6_SRC",  16, true },
	{ F_IPV6_DST,  "ipv6_dst",  "NXM_NX_IPV6_DST",  16, true },
	{ F_NW_PROTO,  "nw_proto",  "NXM_OF_IP_PROTO",  1,  false },
	{ F_TP_SRC,    "tp_src",    "NXM_OF_TCP_SRC",   2,  true },
	{ F_TP_DST,    "tp_dst",    "NXM_OF_TCP_DST",   2,  true },
	{ F_TCP_FLAGS, "tcp_flags", "NXM_NX_TCP_FLAGS", 2,  true },
	{ F_ICMP_TYPE, "icmp_type", "NXM_OF_ICMP_TYPE", 1,  false },
	{ F_ICMP_CODE, "icmp_code", "NXM_OF_ICMP_CODE", 1,  false },
	{ F_ND_TARGET, "nd_target", "NXM_NX_ND_TARGET", 16, true },
	{ F_NW_TOS,    "nw_tos",    "NXM_OF_IP_TOS",    1,  false },
	{ F_NW_ECN,    "nw_ecn",    "NXM_NX_IP_ECN",    1,  false },
	{ F_NW_TTL,    "nw_ttl",    "NXM_NX_IP_TTL",    1,  false },
	{ F_IPV6_LABEL, "ipv6_label", "NXM_NX_IPV6_LABEL", 4, true },
	{ F_ARP_OP,    "arp_op",    "NXM_OF_ARP_OP",    2,  false },
	{ F_ARP_SPA,   "arp_spa",   "NXM_OF_ARP_SPA",   4,  true },
	{ F_ARP_TPA,   "arp_tpa",   "NXM_OF_ARP_TPA",   4,  true },
	{ F_ARP_SHA,   "arp_sha",   "NXM_NX_ARP_SHA",   6,  true },
	{ F_ARP_THA,   "arp_tha",   "NXM_NX_ARP_THA",   6,  true },
	/* OVS's field is 32 bits wide but only the low byte carries flags. */
	{ F_CT_STATE,  "ct_state",  "NXM_NX_CT_STATE",  1,  true },
	{ F_CT_ZONE,   "ct_zone",   "NXM_NX_CT_ZONE",   2,  false },
	{ F_CT_MARK,   "ct_mark",   "NXM_NX_CT_MARK",   4,  true },
	{ F_CT_LABEL,  "ct_label",  "NXM_NX_CT_LABEL",  16, true },
	/* Read-only in OVS too: no NXM name, so load:/move: cannot name them. */
	{ F_CT_NW_SRC,   "ct_nw_src",   NULL, 4,  true },
	{ F_CT_NW_DST,   "ct_nw_dst",   NULL, 4,  true },
	{ F_CT_IPV6_SRC, "ct_ipv6_src", NULL, 16, true },
	{ F_CT_IPV6_DST, "ct_ipv6_dst", NULL, 16, true },
	{ F_CT_NW_PROTO, "ct_nw_proto", NULL, 1,  false },
	{ F_CT_TP_SRC,   "ct_tp_src",   NULL, 2,  true },
	{ F_CT_TP_DST,   "ct_tp_dst",   NULL, 2,  true },
	REG_ROW(0), REG_ROW(1), REG_ROW(2), REG_ROW(3),
	REG_ROW(4), REG_ROW(5), REG_ROW(6), REG_ROW(7),
	{ F_METADATA,  "metadata",  "OXM_OF_METADATA",  8,  true },
	{ F_DPI_PROTO, "dpi_proto", NULL,               1,  false },
	{ F_DPI_HOST,  "dpi_host",  NULL,               1,  false },
	{ F_CONJ_ID,   "conj_id",   NULL,               4,  false },
	{ F_VLAN_TCI,  "vlan_tci",  "NXM_OF_VLAN_TCI",  2,  true },
};

/* Other spellings OVS accepts for the same field (its "aka" names). */
static const struct {
	const char *name;
	enum field_id id;
} aliases[] = {
	{ "eth_src", F_DL_SRC },
	{ "eth_dst", F_DL_DST },
	{ "eth_type", F_DL_TYPE },
	{ "ip_src", F_NW_SRC },
	{ "ip_dst", F_NW_DST },
	{ "ip_proto", F_NW_PROTO },
	{ "tcp_src", F_TP_SRC },
	{ "tcp_dst", F_TP_DST },
	{ "udp_src", F_TP_SRC },
	{ "udp_dst", F_TP_DST },
	{ "sctp_src", F_TP_SRC },
	{ "sctp_dst", F_TP_DST },
	{ "icmpv6_type", F_ICMP_TYPE },
	{ "icmpv6_code", F_ICMP_CODE },
	{ "ip_ecn", F_NW_ECN },
	/* NXM has one pair of port fields per transport */
	{ "NXM_OF_UDP_SRC", F_TP_SRC },
	{ "NXM_OF_UDP_DST", F_TP_DST },
};

/* Returns the row for 'id', or NULL when 'id' is out of range. */
const struct field_info *field_info(enum field_id id)
{
	if ((int)id < 0 || id >= F_COUNT)
		return NULL;
	return &fields[id];
}

/* Looks a field up by canonical name, NXM name or OVS alias; NULL if none. */
const struct field_info *field_by_name(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < F_COUNT; i++) {
		if (!strcmp(fields[i].name, name) ||
		    (fields[i].nxm_name && !strcmp(fields[i].nxm_name, name)))
			return &fields[i];
	}
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (!strcmp(aliases[i].name, name))
			return &fields[aliases[i].id];
	}
	return NULL;
}
