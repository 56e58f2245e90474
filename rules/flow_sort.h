/* The order of ovs-ofctl's dump-flows --sort[=FIELD] and --rsort[=FIELD]:
 * flows by priority or by the value of a match field, with keys in the
 * order given. */
#ifndef BRFLOW_FLOW_SORT_H
#define BRFLOW_FLOW_SORT_H

#include <stdbool.h>

#include "flow.h"

#define FLOW_SORT_PRIORITY (-1) /* a key's field: the flow's priority */

struct flow_sort_key {
	int field;       /* enum field_id, or FLOW_SORT_PRIORITY */
	bool descending; /* --rsort */
};

/* The keys, the first given first.  Each field (and priority) appears at
 * most once: the first key on a field decides every pair a later one
 * could, so a later one is dropped and the array never fills. */
struct flow_sort {
	int n;
	struct flow_sort_key keys[F_COUNT + 1];
};

/* Adds the key after --sort= or --rsort=: a name a flow's match takes
 * (flow_match_field: nw_src, ip_src, tcp_dst, dpi_proto, ...), or
 * "priority" (any case, as in OVS) or NULL for the priority.  Returns 0, or
 * -1 when there is no such field. */
int flow_sort_add(struct flow_sort *s, const char *name, bool descending);

/* How a compares with b under s's keys, as qsort wants it; 0 when no key
 * tells them apart.  For a field key, a flow whose match leaves the whole
 * field out comes after every flow that names some of it, ascending or
 * descending; bits outside a flow's mask count as 0 (nw_src=10.1.0.0/16
 * sorts as 10.1.0.0).  Values compare as unsigned numbers of the field's
 * width (ct_state: the flags a flow requires set, by OVS's bit values);
 * dpi_proto by the protocol's name and dpi_host by its pattern, as
 * printed. */
int flow_sort_cmp(const struct flow_sort *s, const struct flow *a,
		  const struct flow *b);

#endif
