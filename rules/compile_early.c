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

/* Most rules of their own a table may have for the early path for new
 * connections to copy it (set lookups do not count). */
#define EARLY_NEW_MAX_RULES 64

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
		/* enqueue: the output's queue needs the flow's own rule */
		if (f->actions[0].enqueue)
			return 0;
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

/* A group whose members differ in actions becomes a verdict map whose
 * elements go to chains compiled for one chain copy: a second copy of its
 * table would hold all its elements again. */
static bool any_verdict_map(const struct compiler *c)
{
	for (int t = 0; t <= FLOW_MAX_TABLE; t++)
		for (int g = 0; g < c->tables[t].n_groups; g++)
			if (c->tables[t].groups[g].vmap && c->tables[t].groups[g].n > 1)
				return true;
	return false;
}

/* The flows of table t that a +trk+new packet of family l3 may meet as
 * rules of their own (not as one of a group's set elements).  A table of
 * fewer than two flows has no groups (group_of NULL). */
static int own_rules_for_new(const struct compiler *c, int t, enum l3 l3)
{
	const struct table_flows *tf = &c->tables[t];
	int n = 0;

	for (int i = 0; i < tf->n; i++)
		if ((!tf->group_of || tf->group_of[i] < 0) &&
		    classify(tf->flows[i]->flow, l3, CS_TRK | CS_NEW, 0xff) != CANNOT_MATCH)
			n++;
	return n;
}

/* The early path for new connections.
 *
 * Under the same proof for table 0 (its first flow that can match an
 * untracked packet of the family matches all of them and only does
 * ct(table=N)), the first packet of a connection that netfilter calls new
 * and no ct(commit) has touched is, in table N, +trk+new: OVS's own rule
 * makes a TCP segment other than a bare SYN +trk+inv, and that one takes
 * the full walk.  The pipeline's rule (counting table 0's flow, as the
 * full walk would) sends such packets to a chain that runs table N in a
 * copy compiled for +trk+new, where every ct_state test is decided at
 * compile time and a commit needs no chain of its own.  A new connection
 * then skips the full walk's ctstate chains, its ct_state tests and its
 * commit chain; what the flows decide is the same. */
int add_early_new(struct compiler *c, const char *pipeline, enum l3 l3)
{
	static const uint32_t committed = CT_COMMITTED;
	const struct compile_flow *first;
	const struct action_ct *ct;
	struct path_state st = { .pass = PASS_MAIN, .l3 = l3 };
	struct chain_summary sum;
	const char *name;
	char full[80], known[64], entry[16], inv[24];
	struct nir_rule *r;
	int idx;

	if (!flows_allow_early(c) || any_verdict_map(c))
		return 0;
	first = deciding_flow(c, 0, l3, 0, CS_TRK);
	if (!first || !plain_ct_to_table(first->flow))
		return 0;
	ct = &first->flow->actions[0].u.ct;
	/* The copy holds table N's rules again: worth it for a table of
	 * flow sets, not for thousands of rules of their own. */
	if (own_rules_for_new(c, ct->table, l3) > EARLY_NEW_MAX_RULES)
		return 0;
	/* the state emit_ct gives table N after table 0's flow */
	st.table = (uint8_t)ct->table;
	st.tracked = true;
	st.ctx_zone = ct->zone;
	st.zone_seen = ct->zone;
	if (compile_chain(c, &st, &name, &sum))
		return -1;
	snprintf(full, sizeof(full), "ct_%s", name);
	st.ct_known = CS_TRK | CS_NEW;
	if (compile_chain(c, &st, &name, &sum))
		return -1;
	snprintf(known, sizeof(known), "%s", name);

	/* Both chains are reached by goto from the base chain: each ends with
	 * the pipeline's decision. */
	snprintf(entry, sizeof(entry), "new_%s", l3 == L3_IP4 ? "ip" : "ip6");
	snprintf(inv, sizeof(inv), "%s_inv", entry);
	if (!nir_add_chain(c->ip, inv))
		return compile_oom(c);
	idx = c->ip->n_chains - 1;
	if (!(r = rule_in(c, &c->ip->chains[idx])) || add_verdict(r, NIR_JUMP, full) ||
	    add_decision(c, &c->ip->chains[idx]))
		return compile_oom(c);
	if (!nir_add_chain(c->ip, entry))
		return compile_oom(c);
	idx = c->ip->n_chains - 1;
	/* a TCP segment that is not a bare SYN: +trk+inv, the full walk */
	if (!(r = rule_in(c, &c->ip->chains[idx])) || add_tcp_bare_syn_match(r, true) ||
	    add_verdict(r, NIR_GOTO, inv))
		return compile_oom(c);
	/* +trk+new.  The copy tests no ct_state bit of the mark (all are known
	 * at compile time), so they are left unwritten. */
	if (!(r = rule_in(c, &c->ip->chains[idx])) || add_verdict(r, NIR_JUMP, known) ||
	    add_decision(c, &c->ip->chains[idx]))
		return compile_oom(c);

	r = rule_in(c, nir_find_chain(c->ip, pipeline));
	if (!r || add_l3_match(c, r, l3) || add_ct_state_match(r, 8, false) || /* new */
	    add_ct_key_match(r, NFT_CT_MARK, "ct mark", NIR_FMT_HEX, 4, &committed, 0) ||
	    add_counter_stmt(c, r, first) || add_verdict(r, NIR_GOTO, entry))
		return compile_oom(c);
	r->comment = strdup("new connection: table 0 sends it to ct()");
	return r->comment ? 0 : compile_oom(c);
}
