/* Factoring out a test that consecutive rules share.
 *
 * The optimiser leaves one rule per group of flows, and the groups of one
 * table often begin with the same test: every allow list of a
 * security-group table starts with "+new" (meta mark & 0x01000000).  Each
 * rule evaluates it again, and every test costs the packet a call into
 * nf_tables (docs/performance.md).  A run of HOIST_MIN_RUN or more rules
 * whose first statement is the same test becomes one rule
 *
 *     <test> goto CHAIN_hN
 *
 * where CHAIN_hN holds the run's rules without the test, then a copy of
 * the rules that follow the run.  A packet that passes the test meets the
 * rules it met before, in the same order (a goto keeps the caller's return
 * address, so a return ends the same walk); one that fails it skips rules
 * it could not have matched.  The rules after the run are copied, so only
 * runs followed by at most HOIST_MAX_TAIL rules are factored. */
#include <stdlib.h>
#include <string.h>

#include "compile_priv.h"

#define HOIST_MIN_RUN  3
#define HOIST_MAX_TAIL 4

static bool same_test(const struct nir_stmt *a, const struct nir_stmt *b)
{
	return a->kind == NIR_MATCH && b->kind == NIR_MATCH &&
	       same_match_but_value(a, b) &&
	       !memcmp(a->u.match.value.data, b->u.match.value.data,
		       a->u.match.value.len);
}

/* The last rule of the run that starts at rule i (i itself when none). */
static int run_end(const struct nir_chain *ch, int i)
{
	const struct nir_rule *first = &ch->rules[i];
	int j = i;

	if (first->n_stmts < 2 || first->stmts[0].kind != NIR_MATCH)
		return i;
	while (j + 1 < ch->n_rules && ch->rules[j + 1].n_stmts >= 2 &&
	       same_test(&first->stmts[0], &ch->rules[j + 1].stmts[0]))
		j++;
	return j;
}

static int copy_rule(struct nir_chain *to, const struct nir_rule *r, int skip)
{
	struct nir_rule *c = nir_add_rule(to);

	if (!c || nir_copy_stmts(c, r->stmts + skip, r->n_stmts - skip))
		return -1;
	if (r->comment && !(c->comment = strdup(r->comment)))
		return -1;
	return 0;
}

/* Rules first..last of chain ci become "<test> goto NAME". */
static int hoist_run(struct nir_table *t, int ci, int first, int last,
		     const char *name)
{
	struct nir_chain *to = nir_add_chain(t, name), *ch;
	struct nir_rule *head;
	struct nir_stmt *go;

	if (!to)
		return -1;
	ch = &t->chains[ci]; /* nir_add_chain may have moved the chains */
	for (int i = first; i < ch->n_rules; i++)
		if (copy_rule(to, &ch->rules[i], i <= last))
			return -1;
	nir_remove_rules(ch, first + 1, last - first);
	/* the run's first rule keeps its test and gets the goto (it has at
	 * least two statements, so there is room) */
	head = &ch->rules[first];
	head->n_stmts = 2;
	go = &head->stmts[1];
	memset(go, 0, sizeof(*go));
	go->kind = NIR_VERDICT;
	go->u.verdict.code = NIR_GOTO;
	snprintf(go->u.verdict.chain, sizeof(go->u.verdict.chain), "%s", name);
	free(head->comment);
	head->comment = NULL;
	return 0;
}

static int hoist_table(struct nir_table *t)
{
	int n_chains = t->n_chains; /* not the chains this adds */

	for (int ci = 0; ci < n_chains; ci++) {
		int made = 0;

		/* Base chains stay flat, and so does a chain marked flat (the
		 * pipeline's rules when its base chain classifies): the early
		 * rules, each with its family test, are an established packet's
		 * whole walk, and a goto would add a chain change to every
		 * packet. */
		if (t->chains[ci].hook != NIR_HOOK_NONE || t->chains[ci].flat)
			continue;

		for (int i = 0; i < t->chains[ci].n_rules; i++) {
			const struct nir_chain *ch = &t->chains[ci];
			int last = run_end(ch, i);
			char name[sizeof(ch->name)];

			if (last - i + 1 < HOIST_MIN_RUN ||
			    ch->n_rules - (last + 1) > HOIST_MAX_TAIL ||
			    snprintf(name, sizeof(name), "%s_h%d", ch->name, made) >=
			    (int)sizeof(name) || nir_find_chain(t, name)) {
				i = last; /* the run's other rules start no run of their own */
				continue;
			}
			if (hoist_run(t, ci, i, last, name))
				return -1;
			made++;
		}
	}
	return 0;
}

int hoist_tests(struct compiler *c)
{
	for (int i = 0; i < c->rs->n_tables; i++)
		if (hoist_table(&c->rs->tables[i]))
			return compile_oom(c);
	return 0;
}
