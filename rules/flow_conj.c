/* Conjunctive matches expanded into ordinary flows (flow_conj.h). */
#include "flow_conj.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One conjunction(ID,K/N) action of a clause flow. */
struct clause {
	uint8_t table;
	uint16_t priority;
	uint32_t id;
	uint8_t k, n;
	int flow; /* input index */
};

/* Where one conjunction's clauses are in the sorted clause array. */
struct dims {
	int n;
	int start[64], count[64]; /* per dimension 1..n, at [k - 1] */
};

struct expander {
	const struct flow *const *in;
	int n_in;
	struct clause *cl;
	int n_cl;
	struct conj_expansion *out;
	long n_idx; /* of out->clause_idx used */
};

/* The intersection of matches being built, by field. */
struct acc {
	struct flow_match m[F_COUNT];
	bool have[F_COUNT];
	const char *host;
};

bool flow_conj_involved(const struct flow *f)
{
	return (f->n_actions && f->actions[0].type == ACT_CONJUNCTION) ||
	       flow_find_match(f, F_CONJ_ID);
}

static uint32_t conj_id_of(const struct flow *f)
{
	const uint8_t *v = flow_find_match(f, F_CONJ_ID)->value;

	return (uint32_t)v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
}

/* "flow 'TEXT': REASON", TEXT as the compiler's errors print it. */
static char *conj_err(const struct flow *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *conj_err(const struct flow *f, const char *fmt, ...)
{
	char *text = flow_format_no_timeouts(f, NULL), *reason = NULL, *out = NULL;
	char table[16] = "";
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	if (f->table)
		snprintf(table, sizeof(table), "table=%u,", f->table);
	if (text && reason &&
	    asprintf(&out, "flow '%s%s': %s", table, text, reason) < 0)
		out = NULL;
	free(text);
	free(reason);
	return out ? out : strdup("out of memory");
}

static int cmp_clause(const void *a, const void *b)
{
	const struct clause *x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return (x->flow > y->flow) - (x->flow < y->flow);
}

static bool same_conj(const struct clause *a, const struct clause *b)
{
	return a->table == b->table && a->id == b->id && a->priority == b->priority;
}

/* Every clause action of the input, sorted by table, id, priority, K;
 * the clauses of one conjunction must agree on N. */
static char *collect_clauses(struct expander *x)
{
	int n = 0;

	for (int i = 0; i < x->n_in; i++)
		if (x->in[i]->n_actions && x->in[i]->actions[0].type == ACT_CONJUNCTION)
			n += x->in[i]->n_actions;
	x->cl = calloc(n + 1, sizeof(*x->cl));
	if (!x->cl)
		return strdup("out of memory");
	for (int i = 0; i < x->n_in; i++) {
		const struct flow *f = x->in[i];

		for (int a = 0; a < f->n_actions; a++) {
			if (f->actions[a].type != ACT_CONJUNCTION)
				continue;
			x->cl[x->n_cl++] = (struct clause){
				f->table, f->priority, f->actions[a].u.conj.id,
				f->actions[a].u.conj.clause,
				f->actions[a].u.conj.n_clauses, i };
		}
	}
	qsort(x->cl, x->n_cl, sizeof(*x->cl), cmp_clause);
	for (int i = 1; i < x->n_cl; i++) {
		const struct clause *p = &x->cl[i - 1], *c = &x->cl[i];

		if (same_conj(p, c) && p->n != c->n)
			return conj_err(x->in[c->flow], "conjunction(%u,%u/%u) disagrees with "
					"another clause of conjunction %u at priority %u, "
					"which has %u clauses", c->id, c->k, c->n, c->id,
					c->priority, p->n);
	}
	return NULL;
}

/* The clauses of conjunction 'id' in C's table, which must all be at C's
 * priority; d->n is 0 when there are none or a dimension has none (the
 * conjunction never matches). */
static char *find_dims(const struct expander *x, const struct flow *c,
		       uint32_t id, struct dims *d)
{
	int lo = 0, hi = x->n_cl;

	memset(d, 0, sizeof(*d));
	while (lo < hi) { /* the first clause of (table, id) */
		int mid = lo + (hi - lo) / 2;
		const struct clause *m = &x->cl[mid];

		if (m->table < c->table || (m->table == c->table && m->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < x->n_cl && x->cl[i].table == c->table &&
	     x->cl[i].id == id; i++) {
		const struct clause *cl = &x->cl[i];

		if (cl->priority != c->priority)
			return conj_err(c, "conj_id=%u is at priority %u but clauses of "
					"conjunction %u are at priority %u: brflow needs "
					"them at the same priority", id, c->priority, id,
					cl->priority);
		if (!d->count[cl->k - 1]++)
			d->start[cl->k - 1] = i;
		d->n = cl->n;
	}
	for (int k = 0; k < d->n; k++)
		if (!d->count[k])
			d->n = 0;
	return NULL;
}

/* The number of flows C's conjunction expands to, at most 'room' + 1. */
static long combinations(const struct dims *d, long room)
{
	long total = d->n ? 1 : 0;

	for (int k = 0; k < d->n; k++) {
		total *= d->count[k];
		if (total > room)
			return room + 1;
	}
	return total;
}

/* Adds f's matches (all but conj_id) to a.  Returns 0, 1 when they
 * contradict it (no packet matches both), or -1 for two dpi_host
 * patterns. */
static int merge(struct acc *a, const struct flow *f)
{
	for (int i = 0; i < f->n_matches; i++) {
		const struct flow_match *m = &f->matches[i];
		struct flow_match *t = &a->m[m->field];
		int w = field_info(m->field)->width;

		if (m->field == F_CONJ_ID)
			continue;
		if (m->field == F_DPI_HOST) {
			if (a->host && f->dpi_host && strcmp(a->host, f->dpi_host))
				return -1;
			a->host = f->dpi_host;
		}
		if (!a->have[m->field]) {
			*t = *m;
			a->have[m->field] = true;
			continue;
		}
		for (int b = 0; b < w; b++)
			if ((t->value[b] ^ m->value[b]) & t->mask[b] & m->mask[b])
				return 1;
		for (int b = 0; b < w; b++) {
			t->value[b] = (t->value[b] & t->mask[b]) | (m->value[b] & m->mask[b]);
			t->mask[b] |= m->mask[b];
		}
	}
	return 0;
}

/* One synthetic flow: C's matches and actions with the chosen clauses'
 * matches.  Returns 0 (added, or no packet matches it) or an error. */
static char *add_combination(struct expander *x, int ci, uint32_t id,
			     const struct dims *d, const int *pick)
{
	const struct flow *c = x->in[ci];
	struct conj_expansion *o = x->out;
	struct acc a;
	struct flow *s;
	int *idx, n = 0, r;

	memset(a.have, 0, sizeof(a.have));
	a.host = NULL;
	r = merge(&a, c);
	for (int k = 0; k < d->n && !r; k++)
		r = merge(&a, x->in[x->cl[d->start[k] + pick[k]].flow]);
	if (r < 0)
		return conj_err(c, "conjunction %u needs packets to match two different "
				"dpi_host patterns at once, which brflow cannot "
				"intersect", id);
	if (r > 0)
		return NULL;
	s = &o->synth[o->n_synth];
	memset(s, 0, sizeof(*s));
	for (int f = 0; f < F_COUNT; f++)
		n += a.have[f];
	s->matches = calloc(n + 1, sizeof(*s->matches));
	if (!s->matches)
		return strdup("out of memory");
	for (int f = 0; f < F_COUNT; f++)
		if (a.have[f])
			s->matches[s->n_matches++] = a.m[f];
	s->table = c->table;
	s->priority = c->priority;
	s->cookie = c->cookie;
	s->n_actions = c->n_actions;
	s->actions = c->actions;
	s->dpi_host = (char *)a.host;
	idx = &o->clause_idx[x->n_idx];
	x->n_idx += d->n;
	for (int k = 0; k < d->n; k++)
		idx[k] = x->cl[d->start[k] + pick[k]].flow;
	o->n_synth++;
	o->flows[o->n++] = (struct conj_flow){ s, ci, d->n, idx, id };
	return NULL;
}

/* Every combination of one clause per dimension, the first dimension's
 * clause changing slowest. */
static char *expand_one(struct expander *x, int ci, uint32_t id,
			const struct dims *d)
{
	int pick[64] = { 0 };
	char *err;

	for (;;) {
		int k;

		err = add_combination(x, ci, id, d, pick);
		if (err)
			return err;
		for (k = d->n - 1; k >= 0; k--) {
			if (++pick[k] < d->count[k])
				break;
			pick[k] = 0;
		}
		if (k < 0)
			return NULL;
	}
}

/* How many synthetic flows the input makes at most; checks priorities
 * and the bound. */
static char *count_all(struct expander *x, long *total, long *slots)
{
	*total = *slots = 0;
	for (int i = 0; i < x->n_in; i++) {
		const struct flow *c = x->in[i];
		struct dims d;
		uint32_t id;
		long n;
		char *err;

		if (!flow_find_match(c, F_CONJ_ID))
			continue;
		id = conj_id_of(c);
		err = find_dims(x, c, id, &d);
		if (err)
			return err;
		n = combinations(&d, FLOW_CONJ_MAX_FLOWS - *total);
		if (*total + n > FLOW_CONJ_MAX_FLOWS) {
			double all = 1;

			for (int k = 0; k < d.n; k++)
				all *= d.count[k];
			return conj_err(c, "conjunction %u expands to %.0f flows (one per "
					"combination of one clause per dimension); a "
					"bridge's conjunctions may make %d in all", id,
					all, FLOW_CONJ_MAX_FLOWS);
		}
		*total += n;
		*slots += n * d.n;
	}
	return NULL;
}

static char *expand(struct expander *x)
{
	struct conj_expansion *o = x->out;
	long total, slots;
	char *err = collect_clauses(x);

	if (!err)
		err = count_all(x, &total, &slots);
	if (err)
		return err;
	o->flows = calloc(x->n_in + total + 1, sizeof(*o->flows));
	o->synth = calloc(total + 1, sizeof(*o->synth));
	o->clause_idx = calloc(slots + 1, sizeof(*o->clause_idx));
	if (!o->flows || !o->synth || !o->clause_idx)
		return strdup("out of memory");
	for (int i = 0; i < x->n_in; i++) {
		const struct flow *f = x->in[i];
		struct dims d;

		if (!flow_conj_involved(f)) {
			o->flows[o->n++] = (struct conj_flow){ f, i, 0, NULL, 0 };
			continue;
		}
		if (!flow_find_match(f, F_CONJ_ID))
			continue; /* a clause */
		err = find_dims(x, f, conj_id_of(f), &d);
		if (!err && d.n)
			err = expand_one(x, i, conj_id_of(f), &d);
		if (err)
			return err;
	}
	return NULL;
}

char *flow_conj_expand(const struct flow *const *flows, int n,
		       struct conj_expansion *out)
{
	struct expander x = { .in = flows, .n_in = n, .out = out };
	char *err;

	memset(out, 0, sizeof(*out));
	err = expand(&x);
	free(x.cl);
	if (err)
		flow_conj_free(out);
	return err;
}

void flow_conj_free(struct conj_expansion *x)
{
	for (int i = 0; i < x->n_synth; i++)
		free(x->synth[i].matches);
	free(x->synth);
	free(x->flows);
	free(x->clause_idx);
	memset(x, 0, sizeof(*x));
}
