/* A conntrack tuple pattern, as Open vSwitch's `ovs-ofctl ct-flush` and
 * `ovs-appctl dpctl/flush-conntrack` take one:
 * "ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=6,ct_tp_dst=80".
 * A field left out matches anything, so a partial tuple selects every
 * connection that agrees on the fields it names (OVS 3.1 and later). */
#ifndef BRFLOW_CT_TUPLE_H
#define BRFLOW_CT_TUPLE_H

#include <stdbool.h>
#include <stdint.h>

struct ct_tuple {
	int family;              /* 0 (any), 4 or 6: from the addresses given */
	bool has_src, has_dst;
	uint8_t src[16], dst[16];   /* network order; IPv4 uses 4 bytes */
	int proto;               /* IP protocol number, -1: any */
	int sport, dport;        /* ct_tp_src/ct_tp_dst, -1: any */
	int icmp_type, icmp_code, icmp_id;  /* -1: any */
};

/* Parses 'text' (may be empty: matches everything).  NULL on success, else
 * a malloc'd one-line error naming the bad field or value. */
char *ct_tuple_parse(const char *text, struct ct_tuple *t);

/* Whether the tuple names no field at all. */
bool ct_tuple_is_empty(const struct ct_tuple *t);

#endif
