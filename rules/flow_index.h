/* A hash index of flows by rule (table, priority, match): finds the flow
 * that an added flow replaces without comparing against every flow. */
#ifndef BRFLOW_FLOW_INDEX_H
#define BRFLOW_FLOW_INDEX_H

#include "flow.h"

struct flow_index_slot {
	const struct flow *flow;    /* NULL: empty slot */
	uint32_t hash;              /* compared before the flows are */
	int val;
};

struct flow_index {
	size_t cap;                 /* power of two */
	struct flow_index_slot *slot;
};

/* Room for n flows; -1 on no memory. */
int flow_index_init(struct flow_index *ix, int n);
void flow_index_free(struct flow_index *ix);
/* The value stored for a flow with f's rule, or -1. */
int flow_index_get(const struct flow_index *ix, const struct flow *f);
/* Stores val for f's rule, replacing an equal rule's entry.  f must stay
 * where it is while the index is used.  At most n distinct rules. */
void flow_index_put(struct flow_index *ix, const struct flow *f, int val);
/* flow_index_put that returns the value it replaced, or -1: one probe
 * where get and then put take two. */
int flow_index_swap(struct flow_index *ix, const struct flow *f, int val);

/* The hash f is filed under (of what flow_same_rule compares), and the
 * calls above with it known: a caller can hash 100 000 flows in threads
 * of its own, or once for two indexes. */
uint64_t flow_index_hash(const struct flow *f);
int flow_index_get_hashed(const struct flow_index *ix, const struct flow *f,
			  uint64_t hash);
int flow_index_swap_hashed(struct flow_index *ix, const struct flow *f,
			   uint64_t hash, int val);

#endif
