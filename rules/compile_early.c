/* The early decision for established traffic.
 *
 * Most policies send every IP packet to one ct(table=N) and let the first
 * flow of table N that matches +trk+est pass it.  When that is provably
 * what the pipeline does with every packet of an established, committed
 * connection, the pipeline's base chain decides such packets in one rule
 * (counting both flows, as the full walk would) before any table runs: an
 * established connection then costs the same with 10 flows or 100 000.
 *
 * The proof is deliberately narrow: in table 0, the first flow that can
 * match an untracked packet of the family must match all of them and do
 * nothing but ct(table=N) (no commit, nat, exec or zone register); in table
 * N, the first flow that can match an established committed packet must
 * match all of them (only ct_state and the family) and only output.  Any
 * flow above either one that might match some such packet (an in_port, an
 * address, +rpl) ends the proof and leaves the full walk alone. */
#include "compile_priv.h"
#include "dpi.h"

#include <linux/netfilter/nf_tables.h>
#include <string.h>

enum verdict_of_flow { CANNOT_MATCH, MATCHES_ALL, MIGHT_MATCH };

/* What flow f does to the packets of family l3 whose known ct_state bits
 * (under mask known) are 'state'. */
static enum verdict_of_flow classify(const struct flow *f, enum l3 l3,
				     uint8_t state, uint8_t known)
{
	enum verdict_of_flow v = MATCHES_ALL;

	for (int i = 0; i < f->n_matches; i++) {
		const struct flow_match *m = &f->matches[i];

		if (m->field == F_DL_TYPE && mask_is_full(m->mask, 2)) {
			uint32_t type = be_uint(m->value, 2);

			if (type != (l3 == L3_IP4 ? 0x0800u : 0x86ddu))
				return CANNOT_MATCH;
		} else if (m->field == F_CT_STATE) {
			uint8_t mask = m->mask[0], value = m->value[0];

			if ((value ^ state) & mask & known)
				return CANNOT_MATCH;
			if (mask & ~known)
				v = MIGHT_MATCH;
		} else {
			v = MIGHT_MATCH;
		}
	}
	return v;
}

/* The first flow of table t that can match such packets, if it matches
 * all of them; NULL otherwise. */
static const struct compile_flow *deciding_flow(const struct compiler *c,
						int t, enum l3 l3,
						uint8_t state, uint8_t known)
{
	const struct table_flows *tf = &c->tables[t];

	for (int i = 0; i < tf->n; i++) {
		switch (classify(tf->flows[i]->flow, l3, state, known)) {
		case CANNOT_MATCH:
			continue;
		case MATCHES_ALL:
			return tf->flows[i];
		case MIGHT_MATCH:
			return NULL;
		}
	}
	return NULL;
}

static bool plain_ct_to_table(const struct flow *f)
{
	const struct action_ct *ct;

	if (f->n_actions != 1 || f->actions[0].type != ACT_CT)
		return false;
	ct = &f->actions[0].u.ct;
	return ct->table >= 0 && !ct->commit && !ct->nat && !ct->n_exec &&
	       !ct->alg[0] && ct->zone_reg < 0;
}

/* The output of a flow that only outputs: a port, OUT_NORMAL, or 0. */
static uint32_t only_output(const struct flow *f)
{
	if (f->n_actions != 1)
		return 0;
	switch (f->actions[0].type) {
	case ACT_NORMAL:
	case ACT_FLOOD:
		return OUT_NORMAL;
	case ACT_OUTPUT:
		return f->actions[0].u.port <= BRFLOW_MAX_OFPORT ? f->actions[0].u.port : 0;
	default:
		return 0;
	}
}

/* No flow translates addresses or uses DPI (found at start). */
static bool flows_allow_early(const struct compiler *c)
{
	return !c->nat && !c->dpi;
}

static int add_counter_stmt(struct compiler *c, struct nir_rule *r,
			    const struct compile_flow *cf)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_COUNTER);

	if (!s || need_counter(c, c->ip, cf))
		return -1;
	brflow_counter_name(cf->id, s->u.counter_name, sizeof(s->u.counter_name));
	return 0;
}

int add_early_established(struct compiler *c, struct nir_chain *pipeline,
			  enum l3 l3)
{
	static const uint32_t committed = CT_COMMITTED, expected = 1; /* IPS_EXPECTED */
	const struct compile_flow *first, *decider;
	struct nir_rule *r;
	uint32_t out;
	char text[96];

	if (!flows_allow_early(c))
		return 0;
	first = deciding_flow(c, 0, l3, 0, CS_TRK);
	if (!first || !plain_ct_to_table(first->flow))
		return 0;
	decider = deciding_flow(c, first->flow->actions[0].u.ct.table, l3,
				CS_TRK | CS_EST, CS_TRK | CS_EST | CS_NEW | CS_INV | CS_REL);
	if (!decider || !(out = only_output(decider->flow)))
		return 0;
	r = nir_add_rule(pipeline);
	if (!r)
		return compile_oom(c);
	if (add_l3_match(c, r, l3))
		return compile_oom(c);
	/* netfilter's established (an invalid or out-of-window TCP segment is
	 * "invalid", not established), committed by a ct(commit), and not
	 * made from an expectation (those are committed only by label bit
	 * 126: the full walk decides them) */
	if (add_ct_state_match(r, 2, false) ||
	    add_ct_key_match(r, NFT_CT_MARK, "ct mark", NIR_FMT_HEX, 4, &committed,
			     committed) ||
	    add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX, 4, &expected, 0) ||
	    add_counter_stmt(c, r, first) || add_counter_stmt(c, r, decider) ||
	    add_mark_set(r, NIR_META_MARK, ~MARK_OUT, out << MARK_OUT_SHIFT) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	snprintf(text, sizeof(text), "established: flows f%llu and f%llu decide it",
		 (unsigned long long)first->id, (unsigned long long)decider->id);
	r->comment = strdup(text);
	return r->comment ? 0 : compile_oom(c);
}
