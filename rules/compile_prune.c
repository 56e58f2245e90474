/* The last step of a compile: which table keeps which chain.
 *
 * Every base chain costs each packet that meets its hook, whether a rule
 * applies or not (docs/performance.md: a few hundred ns a packet here).
 * The inet pre-pass meets IPv4 and IPv6 alike; when
 * IPv4 leaves it untouched (the chain's "meta nfproto 2 accept": tracked in
 * zone 0, nothing to set), the pre-pass and the chains it reaches move to
 * an ip6 table, whose hook IPv4 never enters; when IPv6 too is left
 * untouched, the pre-pass goes altogether.  A pre-pass that shares a
 * chain with another base chain, or that uses a set, map, counter or any
 * other table object, stays where it is: objects belong to one table.
 *
 * Chains that no base chain reaches (the copy of table 0 made for a family
 * that the pre-pass then accepts outright) are dropped, but for those a
 * verdict map's elements go to. */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "compile_priv.h"

/* Chain names of one table, sorted, for lookups by name. */
struct chain_index {
	const struct nir_table *t;
	int *order;
};

static int cmp_chain_names(const void *a, const void *b, void *table)
{
	const struct nir_table *t = table;

	return strcmp(t->chains[*(const int *)a].name, t->chains[*(const int *)b].name);
}

static int index_build(struct chain_index *ix, const struct nir_table *t)
{
	ix->t = t;
	ix->order = malloc((t->n_chains + 1) * sizeof(*ix->order));
	if (!ix->order)
		return -1;
	for (int i = 0; i < t->n_chains; i++)
		ix->order[i] = i;
	qsort_r(ix->order, t->n_chains, sizeof(*ix->order), cmp_chain_names, (void *)t);
	return 0;
}

/* The index of chain 'name', or -1. */
static int index_find(const struct chain_index *ix, const char *name)
{
	int lo = 0, hi = ix->t->n_chains - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(ix->t->chains[ix->order[mid]].name, name);

		if (!c)
			return ix->order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Calls fn for every chain that statement s may continue in. */
static void stmt_targets(const struct chain_index *ix, const struct nir_stmt *s,
			 void (*fn)(int chain, void *arg), void *arg)
{
	if (s->kind == NIR_VERDICT &&
	    (s->u.verdict.code == NIR_JUMP || s->u.verdict.code == NIR_GOTO)) {
		int k = index_find(ix, s->u.verdict.chain);

		if (k >= 0)
			fn(k, arg);
	} else if (s->kind == NIR_LOOKUP && ix->t->sets[s->u.lookup.set].vmap) {
		const struct nir_set *set = &ix->t->sets[s->u.lookup.set];

		for (int e = 0; e < set->n_elems; e++) {
			int k = index_find(ix, set->elems[e].chain);

			if (k >= 0)
				fn(k, arg);
		}
	}
}

struct walk {
	bool *seen;
	int *stack, n;
};

static void push_unseen(int chain, void *arg)
{
	struct walk *w = arg;

	if (!w->seen[chain]) {
		w->seen[chain] = true;
		w->stack[w->n++] = chain;
	}
}

/* Marks in 'seen' every chain reachable from chain 'from' (itself too). */
static int mark_reachable(const struct chain_index *ix, int from, bool *seen)
{
	struct walk w = { seen, malloc((ix->t->n_chains + 1) * sizeof(int)), 0 };

	if (!w.stack)
		return -1;
	push_unseen(from, &w);
	while (w.n) {
		const struct nir_chain *ch = &ix->t->chains[w.stack[--w.n]];

		for (int r = 0; r < ch->n_rules; r++)
			for (int s = 0; s < ch->rules[r].n_stmts; s++)
				stmt_targets(ix, &ch->rules[r].stmts[s], push_unseen, &w);
	}
	free(w.stack);
	return 0;
}

/* Drops the chains of t that no base chain reaches (but those to keep). */
static int drop_unreachable(struct compiler *c, struct nir_table *t)
{
	struct chain_index ix;
	bool *seen = calloc(t->n_chains + 1, sizeof(*seen));
	int rc = 0;

	if (!seen || index_build(&ix, t)) {
		free(seen);
		return compile_oom(c);
	}
	for (int i = 0; i < t->n_chains && !rc; i++)
		if ((t->chains[i].hook != NIR_HOOK_NONE || t->chains[i].keep) && !seen[i])
			rc = mark_reachable(&ix, i, seen);
	/* Sets stay (the plan records them by index), and the kernel refuses
	 * a verdict map element whose chain is not there: the chains of a
	 * set no rule looks up any more stay too. */
	for (int s = 0; s < t->n_sets && !rc; s++)
		for (int e = 0; t->sets[s].vmap && e < t->sets[s].n_elems && !rc; e++) {
			int k = index_find(&ix, t->sets[s].elems[e].chain);

			if (k >= 0 && !seen[k])
				rc = mark_reachable(&ix, k, seen);
		}
	free(ix.order);
	if (rc) {
		free(seen);
		return compile_oom(c);
	}
	for (int i = t->n_chains - 1; i >= 0; i--)
		if (!seen[i])
			nir_remove_chain(t, i);
	free(seen);
	return 0;
}

/* Whether s names an object of its table (set, map, counter, helper,
 * limit, timeout policy, flowtable), which a chain moved to another table
 * would lose. */
static bool uses_table_object(const struct nir_stmt *s)
{
	switch (s->kind) {
	case NIR_MAP_MARK:
	case NIR_COUNTER:
	case NIR_CT_HELPER:
	case NIR_LIMIT:
	case NIR_CT_TIMEOUT:
	case NIR_CONN_COUNT:
	case NIR_LOOKUP:
	case NIR_SET_LOOKUP:
	case NIR_FLOW_OFFLOAD:
		return true;
	default:
		return false;
	}
}

/* The IP family a rule "meta nfproto N accept" lets through, or 0. */
static uint8_t accepted_family(const struct nir_rule *r)
{
	const struct nir_stmt *m = r->n_stmts == 2 ? &r->stmts[0] : NULL;

	if (m && m->kind == NIR_MATCH && m->u.match.src.kind == NIR_SRC_META &&
	    m->u.match.src.key == NFT_META_NFPROTO && !m->u.match.negate &&
	    !m->u.match.has_mask && !m->u.match.less &&
	    r->stmts[1].kind == NIR_VERDICT && r->stmts[1].u.verdict.code == NIR_ACCEPT)
		return m->u.match.value.data[0];
	return 0;
}

/* The rule of ch that accepts family nfproto before any other rule can
 * touch it (among the chain's leading family accepts), or -1. */
static int family_accept_rule(const struct nir_chain *ch, uint8_t nfproto)
{
	for (int i = 0; i < ch->n_rules; i++) {
		uint8_t f = accepted_family(&ch->rules[i]);

		if (!f)
			break;
		if (f == nfproto)
			return i;
	}
	return -1;
}

struct shared_check {
	const bool *moving;
	bool shared;
};

static void note_if_moving(int chain, void *arg)
{
	struct shared_check *sc = arg;

	if (sc->moving[chain])
		sc->shared = true;
}

/* Whether the chains marked 'moving' can leave table t: none uses a table
 * object and no chain that stays continues in one of them. */
static bool can_move(const struct chain_index *ix, const bool *moving)
{
	struct shared_check sc = { moving, false };
	const struct nir_table *t = ix->t;

	for (int i = 0; i < t->n_chains; i++) {
		const struct nir_chain *ch = &t->chains[i];

		for (int r = 0; r < ch->n_rules; r++)
			for (int s = 0; s < ch->rules[r].n_stmts; s++) {
				const struct nir_stmt *st = &ch->rules[r].stmts[s];

				if (moving[i] && uses_table_object(st))
					return false;
				if (!moving[i])
					stmt_targets(ix, st, note_if_moving, &sc);
			}
	}
	return !sc.shared;
}

/* Hooks the pre-pass in c->ip6 when IPv4 leaves it untouched. */
static int prepass_to_ip6(struct compiler *c)
{
	struct nir_table *t = c->inet;
	struct nir_chain *pre = nir_find_chain(t, "prepass");
	struct chain_index ix;
	bool *moving;
	int v4, rc = 0;

	if (!pre || (v4 = family_accept_rule(pre, NFPROTO_IPV4)) < 0)
		return 0;
	/* The inet hooks see IPv4 and IPv6 only: a pre-pass that accepts both
	 * outright does nothing (drop_unreachable takes what it reached). */
	if (family_accept_rule(pre, NFPROTO_IPV6) >= 0) {
		nir_remove_chain(t, (int)(pre - t->chains));
		return 0;
	}
	moving = calloc(t->n_chains + 1, sizeof(*moving));
	if (!moving || index_build(&ix, t)) {
		free(moving);
		return compile_oom(c);
	}
	if (mark_reachable(&ix, (int)(pre - t->chains), moving))
		rc = compile_oom(c);
	if (!rc && can_move(&ix, moving)) {
		int n = t->n_chains, moved = 0;

		nir_remove_rule(pre, v4); /* IPv4 never enters an ip6 hook */
		/* in their order: the ip6 table declares them as inet did */
		for (int i = 0; i < n && !rc; i++)
			if (moving[i] && nir_move_chain(t, i - moved++, c->ip6))
				rc = compile_oom(c);
	}
	free(ix.order);
	free(moving);
	return rc;
}

int place_chains(struct compiler *c)
{
	if (!c->bridge_ct && prepass_to_ip6(c))
		return -1;
	return drop_unreachable(c, c->ip);
}
