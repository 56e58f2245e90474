/* Conjunctive matches (ovs-fields(7) "Conjunctive Match Fields"): flows
 * whose actions are conjunction(ID,K/N) never match on their own; a packet
 * that matches, for every dimension K of conjunction ID, at least one of
 * its clause flows at priority P takes the actions of the flow of that
 * table that matches conj_id=ID.
 *
 * brflow expands each such conjunction into ordinary flows at P, one per
 * combination of one clause per dimension, matching the intersection of
 * the clauses' matches and the conj_id flow's other matches, with the
 * conj_id flow's actions.  The compiler and the tracer both walk the
 * expanded set, so the trace tells what the kernel runs.  That is exact
 * when the conj_id flow has the conjunction's priority P, which brflow
 * requires (brflow-flows(7), LIMITATIONS). */
#ifndef BRFLOW_FLOW_CONJ_H
#define BRFLOW_FLOW_CONJ_H

#include <stdbool.h>

#include "flow.h"

/* Synthetic flows per flow set, at most: the cross product grows fast. */
#define FLOW_CONJ_MAX_FLOWS 100000

/* One flow of the expanded set. */
struct conj_flow {
	const struct flow *flow; /* the input's flow, or a synthetic one */
	int from;                /* input index: the flow itself, or the
				  * conj_id flow whose actions it runs */
	int n_clauses;           /* 0 for an input flow, else N */
	const int *clauses;      /* input index of the clause flow of each
				  * dimension 1..N (clauses[0] is dimension 1) */
	uint32_t conj_id;        /* the conjunction, when n_clauses */
};

struct conj_expansion {
	int n;
	struct conj_flow *flows;
	/* owned storage: synthetic flows' matches are their own, their
	 * actions and dpi_host the conj_id flow's */
	struct flow *synth;
	int n_synth;
	int *clause_idx;
};

/* True when f takes part in a conjunction: a clause (its actions are
 * conjunction(...)) or a conj_id flow. */
bool flow_conj_involved(const struct flow *f);

/* Expands flows[0..n-1] (in their order; a synthetic flow takes its
 * conj_id flow's place, clause and conj_id flows leave).  Returns NULL,
 * or a malloc'd one-line error naming the flow ("flow 'TEXT': REASON"),
 * and then *out is empty.  flow_conj_free releases *out; the input must
 * outlive it. */
char *flow_conj_expand(const struct flow *const *flows, int n,
		       struct conj_expansion *out);
void flow_conj_free(struct conj_expansion *x);

#endif
