/* The optimiser: a table of 100 000 flows at the cost of a few rules.
 *
 * Flows of one table with the same priority, the same actions and the same
 * match shape (the same fields with the same masks, and the same values
 * except in key fields: ports, addresses, in_port, the IP protocol, the ARP
 * fields) form a group.  In each chain copy, a group whose members compile
 * to the same statements except for the values of plain equality matches
 * becomes one rule: the common
 * statements, then one lookup of those values, as a concatenated key, in a
 * hash set with an element per member (each with its counter and its flow
 * id).  Masks are part of the shape, so a CIDR is a masked key field and
 * every lookup is an exact hash lookup.
 *
 * Priorities are never merged: a group's rule stands where its first member
 * would, so OpenFlow's order between priorities is exact; inside one
 * priority OpenFlow leaves the order of overlapping flows undefined. */
#include "compile_priv.h"
#include "flow_conj.h"

#include <stdlib.h>
#include <string.h>

#define SET_MIN_MEMBERS 2

/* Fields whose value only reaches the packet test, never the compiler's
 * reasoning about paths (registers, metadata, ct_state and dl_type do).
 * nw_proto is one: no action brflow emits depends on it (helpers follow
 * alg=, NAT port ranges apply to any protocol with ports), so TCP and UDP
 * allow lists of one priority share a lookup. */
static bool key_field(enum field_id f)
{
	switch (f) {
	case F_IN_PORT: case F_DL_SRC: case F_DL_DST: case F_NW_SRC:
	case F_NW_DST: case F_IPV6_SRC: case F_IPV6_DST: case F_TP_SRC:
	case F_TP_DST: case F_NW_PROTO: case F_ARP_SPA: case F_ARP_TPA:
	case F_ARP_SHA: case F_ARP_THA: case F_ARP_OP:
		return true;
	default:
		return false;
	}
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Hashes what same_shape compares (actions only by type and count). */
static uint64_t shape_hash(const struct flow *f, bool actions)
{
	uint64_t h = mix(0xcbf29ce484222325ull, &f->priority, sizeof(f->priority));

	for (int i = 0; i < f->n_matches; i++) {
		const struct flow_match *m = &f->matches[i];
		int w = field_width(m->field);

		h = mix(h, &m->field, sizeof(m->field));
		h = mix(h, m->mask, w);
		if (!key_field(m->field))
			h = mix(h, m->value, w);
	}
	if (f->dpi_host)
		h = mix(h, f->dpi_host, strlen(f->dpi_host));
	for (int i = 0; actions && i < f->n_actions; i++)
		h = mix(h, &f->actions[i].type, sizeof(f->actions[i].type));
	return h;
}

static bool same_shape(const struct flow *a, const struct flow *b, bool actions)
{
	if (a->table != b->table || a->priority != b->priority ||
	    a->n_matches != b->n_matches)
		return false;
	for (int i = 0; i < a->n_matches; i++) {
		const struct flow_match *x = &a->matches[i], *y = &b->matches[i];
		int w = field_width(x->field);

		if (x->field != y->field || memcmp(x->mask, y->mask, w) ||
		    (!key_field(x->field) && memcmp(x->value, y->value, w)))
			return false;
	}
	if (!a->dpi_host != !b->dpi_host ||
	    (a->dpi_host && strcasecmp(a->dpi_host, b->dpi_host)))
		return false;
	return !actions || flow_same_actions(a, b);
}

/* The exact in_port a flow matches, or 0. */
static uint16_t exact_in_port(const struct flow *f)
{
	const struct flow_match *m = flow_find_match(f, F_IN_PORT);

	if (!m || !mask_is_full(m->mask, field_width(F_IN_PORT)))
		return 0;
	return (uint16_t)be_uint(m->value, field_width(F_IN_PORT));
}

static bool calls_tables(const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++) {
		const struct flow_action *a = &f->actions[i];

		if (a->type == ACT_RESUBMIT || a->type == ACT_GOTO_TABLE ||
		    a->type == ACT_GROUP || (a->type == ACT_CT && a->u.ct.table >= 0))
			return true;
	}
	return false;
}

/* A flow with an exact in_port compiles the tables it calls for that port
 * only (another port's ct() in another zone is no conflict there), which
 * a shared set rule cannot do; a verdict map's member chains can. */
static bool groupable(const struct flow *f, bool vmap)
{
	if (!vmap && exact_in_port(f) && calls_tables(f))
		return false;
	for (int i = 0; i < f->n_matches; i++)
		if (key_field(f->matches[i].field))
			return true;
	return false;
}

static int add_member(struct flow_group *g, int idx)
{
	int *m = realloc(g->members, (g->n + 1) * sizeof(*m));

	if (!m)
		return -1;
	g->members = m;
	g->members[g->n++] = idx;
	return 0;
}

/* One grouping pass over the flows of tf not yet in a group: by shape and
 * actions (sets), or by shape alone (verdict maps: the flows left differ in
 * actions).  Groups of one flow are dissolved. */
static int group_pass(struct table_flows *tf, bool vmap, int *slots,
		      uint64_t *hashes, size_t cap)
{
	int first = tf->n_groups;

	memset(slots, -1, cap * sizeof(*slots));
	for (int i = 0; i < tf->n; i++) {
		const struct flow *f = tf->flows[i]->flow;
		uint64_t h;
		size_t s;

		if (tf->group_of[i] >= 0 || !groupable(f, vmap))
			continue;
		h = shape_hash(f, !vmap);
		for (s = h & (cap - 1); slots[s] >= 0; s = (s + 1) & (cap - 1)) {
			struct flow_group *g = &tf->groups[slots[s]];

			if (hashes[s] == h &&
			    same_shape(tf->flows[g->members[0]]->flow, f, !vmap))
				break;
		}
		if (slots[s] < 0) {
			slots[s] = tf->n_groups++;
			hashes[s] = h;
			tf->groups[slots[s]].vmap = vmap;
		}
		if (add_member(&tf->groups[slots[s]], i))
			return -1;
		tf->group_of[i] = slots[s];
	}
	for (int i = 0; i < tf->n; i++)
		if (tf->group_of[i] >= first &&
		    tf->groups[tf->group_of[i]].n < SET_MIN_MEMBERS)
			tf->group_of[i] = -1;
	return 0;
}

/* Groups tf's flows: first flows alike in shape and actions (sets), then
 * the rest alike in shape (verdict maps). */
int build_groups(struct compiler *c, struct table_flows *tf)
{
	size_t cap = 16;
	int *slots, rc = -1;
	uint64_t *hashes;

	while (cap < (size_t)tf->n * 2)
		cap *= 2;
	tf->group_of = malloc((tf->n + 1) * sizeof(*tf->group_of));
	/* each pass makes at most one group per flow */
	tf->groups = calloc(2 * (size_t)tf->n + 1, sizeof(*tf->groups));
	slots = malloc(cap * sizeof(*slots));
	hashes = malloc(cap * sizeof(*hashes));
	if (!tf->group_of || !tf->groups || !slots || !hashes)
		goto out;
	for (int i = 0; i < tf->n; i++)
		tf->group_of[i] = -1;
	if (group_pass(tf, false, slots, hashes, cap) ||
	    group_pass(tf, true, slots, hashes, cap))
		goto out;
	rc = 0;
out:
	free(slots);
	free(hashes);
	return rc ? compile_oom(c) : 0;
}

void free_groups(struct table_flows *tf)
{
	for (int i = 0; i < tf->n_groups; i++)
		free(tf->groups[i].members);
	free(tf->groups);
	free(tf->group_of);
}

/* ---- one group in one chain copy ---- */

bool same_match_but_value(const struct nir_stmt *a, const struct nir_stmt *b)
{
	const struct nir_src *x = &a->u.match.src, *y = &b->u.match.src;

	return x->kind == y->kind && x->key == y->key && x->base == y->base &&
	       x->offset == y->offset && x->len == y->len &&
	       x->ct_dir == y->ct_dir && x->fmt == y->fmt &&
	       !strcmp(x->name ? x->name : "", y->name ? y->name : "") &&
	       a->u.match.has_mask == b->u.match.has_mask &&
	       (!a->u.match.has_mask ||
		!memcmp(&a->u.match.mask, &b->u.match.mask, sizeof(a->u.match.mask))) &&
	       a->u.match.negate == b->u.match.negate &&
	       a->u.match.less == b->u.match.less &&
	       a->u.match.value.len == b->u.match.value.len;
}

static bool plain_match(const struct nir_stmt *s)
{
	return s->kind == NIR_MATCH && !s->u.match.negate && !s->u.match.less &&
	       s->u.match.src.kind != NIR_SRC_SYMHASH;
}

/* Compares r with ref: 1 same structure (the positions whose values differ
 * are ORed into *diff), 0 different structure. */
static int compare_rule(const struct nir_rule *ref, const struct nir_rule *r,
			uint64_t *diff)
{
	if (r->n_stmts != ref->n_stmts || r->n_stmts > 64)
		return 0;
	for (int i = 0; i < r->n_stmts; i++) {
		const struct nir_stmt *a = &ref->stmts[i], *b = &r->stmts[i];

		if (a->kind != b->kind)
			return 0;
		if (a->kind != NIR_MATCH) {
			if (memcmp(&a->u, &b->u, sizeof(a->u)))
				return 0;
			continue;
		}
		if (!same_match_but_value(a, b))
			return 0;
		if (memcmp(a->u.match.value.data, b->u.match.value.data,
			   a->u.match.value.len))
			*diff |= 1ull << i;
	}
	return 1;
}

static void free_rule(struct nir_rule *r)
{
	free(r->stmts);
	free(r->comment);
	memset(r, 0, sizeof(*r));
}

/* compile_matches for member m: 1 can match (r filled), 0 cannot, -1 error
 * (recorded). */
static int member_matches(struct compiler *c, const struct compile_flow *cf,
			  const struct path_state *st, struct nir_rule *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	ret = compile_matches(c, cf->flow, st, r);
	if (ret == 1)
		return 1;
	free_rule(r);
	return ret < 0 ? match_error(c, cf, st, ret) : 0;
}

/* The key of r (the values at the key positions, each padded to 4 bytes). */
static void make_key(const struct nir_rule *r, uint64_t positions, uint8_t *key)
{
	int off = 0;

	for (int i = 0; i < r->n_stmts; i++) {
		const struct nir_value *v = &r->stmts[i].u.match.value;

		if (!(positions & (1ull << i)))
			continue;
		memcpy(key + off, v->data, v->len);
		off += (v->len + 3) & ~3;
	}
}

/* The values of r's match statements, one after the other: what a
 * group's members differ in, kept so that each member compiles once. */
static size_t values_len(const struct nir_rule *r)
{
	size_t len = 0;

	for (int i = 0; i < r->n_stmts; i++)
		if (r->stmts[i].kind == NIR_MATCH)
			len += r->stmts[i].u.match.value.len;
	return len;
}

static void save_values(const struct nir_rule *r, uint8_t *out)
{
	for (int i = 0; i < r->n_stmts; i++) {
		const struct nir_value *v = &r->stmts[i].u.match.value;

		if (r->stmts[i].kind != NIR_MATCH)
			continue;
		memcpy(out, v->data, v->len);
		out += v->len;
	}
}

/* make_key for a member alike to ref whose values save_values kept. */
static void make_key_saved(const struct nir_rule *ref, uint64_t positions,
			   const uint8_t *vals, uint8_t *key)
{
	int off = 0;

	for (int i = 0; i < ref->n_stmts; i++) {
		int len = ref->stmts[i].u.match.value.len;

		if (ref->stmts[i].kind != NIR_MATCH)
			continue;
		if (positions & (1ull << i)) {
			memcpy(key + off, vals, len);
			off += (len + 3) & ~3;
		}
		vals += len;
	}
}

static bool same_set(const struct nir_set *a, const struct nir_set *b)
{
	if (a->n_fields != b->n_fields || a->counters != b->counters ||
	    a->vmap != b->vmap || a->n_elems != b->n_elems ||
	    a->key_len != b->key_len)
		return false;
	for (int i = 0; i < a->n_fields; i++)
		if (memcmp(&a->fields[i].mask, &b->fields[i].mask, sizeof(a->fields[i].mask)) ||
		    a->fields[i].masked != b->fields[i].masked ||
		    a->fields[i].src.len != b->fields[i].src.len)
			return false;
	for (int i = 0; i < a->n_elems; i++)
		if (a->elems[i].flow_id != b->elems[i].flow_id ||
		    memcmp(a->elems[i].key, b->elems[i].key, a->key_len) ||
		    strcmp(a->elems[i].chain, b->elems[i].chain))
			return false;
	return true;
}

/* Adds set 'name' (a unique variant of it) to t, or finds an identical one
 * made for another chain copy; returns its index or -1. */
static int add_set(struct compiler *c, struct nir_table *t, struct nir_set *proto)
{
	char name[64];
	struct nir_set *s;

	for (int i = 0; i < t->n_sets; i++)
		if (!strncmp(t->sets[i].name, proto->name, strlen(proto->name)) &&
		    same_set(&t->sets[i], proto))
			return i;
	snprintf(name, sizeof(name), "%s", proto->name);
	for (int v = 1; nir_find_set(t, name); v++)
		snprintf(name, sizeof(name), "%.40s_%d", proto->name, v);
	s = nir_add_set(t, name);
	if (!s)
		return compile_oom(c);
	memcpy(s->name, name, sizeof(s->name));
	s->n_fields = proto->n_fields;
	memcpy(s->fields, proto->fields, sizeof(s->fields));
	s->key_len = proto->key_len;
	s->counters = proto->counters;
	s->vmap = proto->vmap;
	s->n_elems = proto->n_elems;
	s->cap_elems = proto->cap_elems;
	s->elems = proto->elems;
	proto->elems = NULL;
	return t->n_sets - 1;
}

static int remember_set(struct compiler *c, const struct path_state *st,
			int group, int nir_table, int set,
			const struct nir_rule *ref, uint64_t positions)
{
	struct set_record *r = realloc(c->records, (c->n_records + 1) * sizeof(*r));

	if (!r)
		return compile_oom(c);
	c->records = r;
	r = &c->records[c->n_records];
	memset(r, 0, sizeof(*r));
	r->table = st->table;
	r->group = group;
	r->nir_table = nir_table;
	r->set = set;
	r->st = *st;
	r->key_positions = positions;
	/* a copy where no member can match has no statements */
	if (nir_copy_stmts(&r->ref, ref->stmts, ref->n_stmts))
		return compile_oom(c);
	c->n_records++;
	return 0;
}

static int key_len_for_sort;

static int cmp_keys(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b,
		      (size_t)key_len_for_sort);
}

/* Two members with one key (their other differences decided at compile
 * time in this chain copy)? */
static bool duplicate_keys(const struct nir_set *s)
{
	const uint8_t **keys = malloc((s->n_elems + 1) * sizeof(*keys));
	bool dup = false;

	if (!keys)
		return true;
	for (int i = 0; i < s->n_elems; i++)
		keys[i] = s->elems[i].key;
	key_len_for_sort = s->key_len;
	qsort(keys, s->n_elems, sizeof(*keys), cmp_keys);
	for (int i = 1; i < s->n_elems && !dup; i++)
		dup = !memcmp(keys[i - 1], keys[i], s->key_len);
	free(keys);
	return dup;
}

/* A verdict map's member: a chain of its own with its counter and its
 * actions, named like a flow chain ("ip_f12"). */
static int member_chain(struct compiler *c, const struct path_state *st,
			const struct compile_flow *cf, char *name,
			struct chain_summary *sum)
{
	struct nir_table *t = table_for(c, st);
	struct nir_rule head = { 0 };
	struct path_state mst;
	struct nir_stmt *cs;
	char *text = NULL;
	int idx;

	snprintf(name, 64, "%s_f%llu", st->pass == PASS_PRE ? "pre" :
		 st->l3 == L3_IP4 ? "ip" : st->l3 == L3_IP6 ? "ip6" : "l2",
		 (unsigned long long)cf->id);
	for (int v = 1; nir_find_chain(t, name); v++)
		snprintf(name, 64, "%s_f%llu_%d", st->pass == PASS_PRE ? "pre" :
			 st->l3 == L3_IP4 ? "ip" : st->l3 == L3_IP6 ? "ip6" : "l2",
			 (unsigned long long)cf->id, v);
	if (!nir_add_chain(t, name))
		return compile_oom(c);
	idx = t->n_chains - 1;
	if (st->pass == PASS_MAIN) {
		cs = nir_add_stmt(&head, NIR_COUNTER);
		text = flow_text(cf->flow);
		if (!cs || !text || need_counter(c, t, cf)) {
			free(head.stmts);
			free(text);
			return compile_oom(c);
		}
		brflow_counter_name(cf->id, cs->u.counter_name, sizeof(cs->u.counter_name));
		if (strlen(text) > 120)
			strcpy(text + 117, "...");
	}
	/* the member's own chain: its in_port is known on the paths it
	 * starts, as for a rule of its own (emit_flow_with) */
	mst = *st;
	if (!mst.in_port)
		mst.in_port = exact_in_port(cf->flow);
	return emit_set_rule(c, idx, &mst, cf, &head, text, sum);
}

/* The set and the rule for group g, whose members 'incl' (count n) can
 * match here and compile alike except at 'positions'; member m's match
 * values are at vals + m * vlen (save_values). */
static int emit_lookup(struct compiler *c, int chain_idx, const struct path_state *st,
		       struct table_flows *tf, int g, const int *incl, int n,
		       struct nir_rule *ref, uint64_t positions,
		       const uint8_t *vals, size_t vlen,
		       struct chain_summary *sum)
{
	const struct compile_flow *first = tf->flows[incl[0]];
	struct nir_table *t = table_for(c, st);
	struct nir_set proto = { .counters = st->pass == PASS_MAIN };
	struct nir_rule rule = { 0 };
	struct nir_stmt *lookup;
	char *text, *comment = NULL;
	int set;

	snprintf(proto.name, sizeof(proto.name), "%sg%llu",
		 st->pass == PASS_PRE ? "pre_" : "", (unsigned long long)first->id);
	proto.vmap = tf->groups[g].vmap;
	if (proto.vmap)
		proto.counters = false; /* each member's chain counts */
	tf->groups[g].one_id = tf->flows[incl[n - 1]]->id == first->id;
	for (int m = 1; m < n - 1 && tf->groups[g].one_id; m++)
		tf->groups[g].one_id = tf->flows[incl[m]]->id == first->id;
	/* one flow's combinations (flow_conj.h) count in its counter object,
	 * which survives a clause leaving */
	if (tf->groups[g].one_id)
		proto.counters = false;
	for (int i = 0; i < ref->n_stmts; i++) {
		const struct nir_stmt *s = &ref->stmts[i];

		if (!(positions & (1ull << i)))
			continue;
		if (nir_set_add_field(&proto, &s->u.match.src,
				      s->u.match.has_mask ? &s->u.match.mask : NULL))
			return 0; /* key too long: the caller emits flows one by one */
	}
	/* room for every member at once: sets of 100 000 elements */
	proto.elems = malloc((size_t)n * sizeof(*proto.elems));
	if (!proto.elems)
		return compile_oom(c);
	proto.cap_elems = n;
	for (int m = 0; m < n; m++) {
		struct nir_set_elem *e = nir_set_add_elem(&proto);

		if (!e) {
			compile_oom(c);
			goto fail;
		}
		make_key_saved(ref, positions, vals + m * vlen, e->key);
		e->flow_id = tf->flows[incl[m]]->id;
	}
	if (proto.vmap && duplicate_keys(&proto)) {
		/* a verdict map cannot hold one key twice: one by one */
		free(proto.elems);
		return 0;
	}
	for (int m = 0; proto.vmap && m < n; m++)
		if (member_chain(c, st, tf->flows[incl[m]], proto.elems[m].chain, sum))
			goto fail;
	set = add_set(c, t, &proto);
	free(proto.elems); /* NULL when the new set took them */
	proto.elems = NULL;
	if (set < 0)
		goto fail;
	/* the common statements, then the lookup */
	for (int i = 0; i < ref->n_stmts; i++) {
		struct nir_stmt *s;

		if (positions & (1ull << i))
			continue;
		s = nir_add_stmt(&rule, ref->stmts[i].kind);
		if (!s)
			goto oom;
		*s = ref->stmts[i];
	}
	lookup = nir_add_stmt(&rule, NIR_LOOKUP);
	if (!lookup)
		goto oom;
	lookup->u.lookup.set = set;
	if (tf->groups[g].one_id && st->pass == PASS_MAIN && !proto.vmap) {
		struct nir_stmt *cs = nir_add_stmt(&rule, NIR_COUNTER);

		if (!cs || need_counter(c, t, first))
			goto oom;
		brflow_counter_name(first->id, cs->u.counter_name,
				    sizeof(cs->u.counter_name));
	}
	text = flow_text(first->flow);
	if (!text || asprintf(&comment, "%d flows like %.90s", n, text) < 0)
		comment = NULL;
	free(text);
	if (!comment)
		goto oom;
	if (remember_set(c, st, g, t == c->bridge ? 0 : 1, set, ref, positions))
		goto fail;
	tf->groups[g].n_sets++;
	if (proto.vmap) {
		/* the map's goto ends the rule: no actions of its own */
		struct nir_rule *r = nir_add_rule(&t->chains[chain_idx]);

		if (!r)
			goto oom;
		*r = rule;
		r->comment = comment;
		return 1;
	}
	return emit_set_rule(c, chain_idx, st, first, &rule, comment, sum) ? -1 : 1;
oom:
	compile_oom(c);
fail:
	free(proto.elems);
	free_rule(&rule);
	return -1;
}

/* Group g in this chain copy: a set lookup when its members allow it, else
 * each member as its own rule. */
static int emit_group_flows(struct compiler *c, int chain_idx,
			    const struct path_state *st, struct table_flows *tf,
			    int g, struct chain_summary *sum)
{
	struct flow_group *grp = &tf->groups[g];
	struct nir_rule ref = { 0 }, r;
	uint64_t diff = 0;
	int *incl = malloc(grp->n * sizeof(*incl));
	uint8_t *vals = NULL;
	size_t vlen = 0;
	int n = 0, ret = -1;
	bool alike = true;

	if (!incl)
		return compile_oom(c);
	for (int m = 0; m < grp->n; m++) {
		int got = member_matches(c, tf->flows[grp->members[m]], st, n ? &r : &ref);

		if (got < 0)
			goto out;
		if (!got)
			continue;
		incl[n++] = grp->members[m];
		if (n == 1) {
			vlen = values_len(&ref);
			vals = malloc(grp->n * vlen + 1);
			if (!vals) {
				ret = compile_oom(c);
				goto out;
			}
			save_values(&ref, vals);
			continue;
		}
		alike = alike && compare_rule(&ref, &r, &diff);
		if (alike)
			save_values(&r, vals + (n - 1) * vlen);
		free_rule(&r);
	}
	for (int i = 0; alike && i < ref.n_stmts; i++)
		if ((diff & (1ull << i)) && !plain_match(&ref.stmts[i]))
			alike = false;
	if (!n) {
		/* no member can match here: a flow added later must not either */
		ret = remember_set(c, st, g, -1, -1, &ref, 0);
		if (!ret)
			grp->n_sets++;
		goto out;
	}
	if (n >= SET_MIN_MEMBERS && alike && diff) {
		ret = emit_lookup(c, chain_idx, st, tf, g, incl, n, &ref, diff,
				  vals, vlen, sum);
		if (ret)
			goto out;
	}
	if (n)
		grp->fallback = true;
	ret = 0;
	for (int m = 0; m < n && !ret; m++)
		ret = emit_flow(c, chain_idx, st, tf->flows[incl[m]], sum);
out:
	free_rule(&ref);
	free(incl);
	free(vals);
	return ret < 0 ? -1 : 0;
}

int emit_table(struct compiler *c, int chain_idx, const struct path_state *st,
	       struct table_flows *tf, struct chain_summary *sum)
{
	tf->n_copies++;
	for (int i = 0; i < tf->n; i++) {
		int g = tf->group_of ? tf->group_of[i] : -1;

		if (g < 0) {
			if (emit_flow(c, chain_idx, st, tf->flows[i], sum))
				return -1;
		} else if (tf->groups[g].members[0] == i) {
			if (emit_group_flows(c, chain_idx, st, tf, g, sum))
				return -1;
		}
	}
	return 0;
}

/* ---- incremental updates ---- */

/* A group that every chain copy of its table looked up in sets. */
struct plan_group {
	struct flow rep;        /* a copy of its first member */
	uint8_t table;
	int group;
};

struct compile_plan {
	struct compiler c;      /* what compile_matches reads */
	struct compile_input in;
	int n_groups;
	struct plan_group *groups;
	int n_records;
	struct set_record *records;
};

void compile_plan_free(struct compile_plan *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n_groups; i++)
		flow_free(&p->groups[i].rep);
	free(p->groups);
	for (int i = 0; i < p->n_records; i++)
		free(p->records[i].ref.stmts);
	free(p->records);
	free(p);
}

struct compile_plan *make_plan(struct compiler *c)
{
	struct compile_plan *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	/* compile_matches needs the reserved label bits; without the DPI
	 * host table, dpi_host flows take the full path */
	p->in.bridge = "";
	p->c.in = &p->in;
	memcpy(p->c.label_reserved, c->label_reserved, sizeof(p->c.label_reserved));
	p->records = c->records;
	p->n_records = c->n_records;
	c->records = NULL;
	c->n_records = 0;
	for (int t = 0; t <= FLOW_MAX_TABLE; t++) {
		struct table_flows *tf = &c->tables[t];

		for (int g = 0; g < tf->n_groups; g++) {
			struct flow_group *grp = &tf->groups[g];
			struct plan_group *pg;

			if (grp->n < SET_MIN_MEMBERS || grp->fallback || grp->vmap ||
			    grp->one_id ||
			    !grp->n_sets || grp->n_sets != tf->n_copies)
				continue;
			pg = realloc(p->groups, (p->n_groups + 1) * sizeof(*pg));
			if (!pg)
				goto fail;
			p->groups = pg;
			pg = &p->groups[p->n_groups];
			if (flow_copy(&pg->rep, tf->flows[grp->members[0]]->flow))
				goto fail;
			pg->table = (uint8_t)t;
			pg->group = g;
			p->n_groups++;
		}
	}
	return p;
fail:
	compile_plan_free(p);
	return NULL;
}

/* Adds a change, once: chain copies that share one set (add_set found it
 * identical) each record it, and a second delete of the same element would
 * fail the transaction. */
static int push_change(struct set_change **changes, int *n,
		       const struct set_record *r, bool add,
		       const struct nir_set_elem *e)
{
	struct set_change *c;

	for (int i = 0; i < *n; i++) {
		const struct set_change *o = &(*changes)[i];

		if (o->table == r->nir_table && o->set == r->set && o->add == add &&
		    o->elem.flow_id == e->flow_id &&
		    !memcmp(o->elem.key, e->key, sizeof(e->key)))
			return 0;
	}
	c = realloc(*changes, (*n + 1) * sizeof(*c));
	if (!c)
		return -1;
	*changes = c;
	c[*n] = (struct set_change){ .table = r->nir_table, .set = r->set,
				     .add = add, .elem = *e };
	(*n)++;
	return 0;
}

/* The element flow cf gets in record r's set: 1 made, 0 none (cannot
 * match there), -1 only a full compile can add it. */
static int plan_elem(const struct compile_plan *p, const struct set_record *r,
		     const struct compile_flow *cf, struct nir_set_elem *e)
{
	struct nir_rule rule = { 0 };
	uint64_t diff = 0;
	int ret = compile_matches(&p->c, cf->flow, &r->st, &rule);

	if (ret == 1 && (!compare_rule(&r->ref, &rule, &diff) ||
			 (diff & ~r->key_positions)))
		ret = -1;
	if (ret == 1) {
		memset(e, 0, sizeof(*e));
		make_key(&rule, r->key_positions, e->key);
		e->flow_id = cf->id;
	}
	free(rule.stmts);
	return ret < 0 ? -1 : ret;
}

int compile_plan_change(const struct compile_plan *p, const struct nir_ruleset *rs,
			const struct compile_flow *cf, bool add,
			struct set_change **changes, int *n)
{
	const struct plan_group *g = NULL;

	/* a clause or conj_id flow changes a whole cross product */
	if (flow_conj_involved(cf->flow))
		return -1;
	for (int i = 0; i < p->n_groups && !g; i++)
		if (same_shape(&p->groups[i].rep, cf->flow, true))
			g = &p->groups[i];
	if (!g)
		return -1;
	for (int i = 0; i < p->n_records; i++) {
		const struct set_record *r = &p->records[i];
		const struct nir_set *set;
		struct nir_set_elem e;

		if (r->table != g->table || r->group != g->group)
			continue;
		if (r->set < 0) {
			/* a chain copy where no member could match */
			if (add && plan_elem(p, r, cf, &e) != 0)
				return -1;
			continue;
		}
		if (r->nir_table >= rs->n_tables ||
		    r->set >= rs->tables[r->nir_table].n_sets)
			return -1;
		set = &rs->tables[r->nir_table].sets[r->set];
		if (add) {
			int got = plan_elem(p, r, cf, &e);

			if (got < 0 || (got && push_change(changes, n, r, true, &e)))
				return -1;
			continue;
		}
		for (int k = 0; k < set->n_elems; k++)
			if (set->elems[k].flow_id == cf->id &&
			    push_change(changes, n, r, false, &set->elems[k]))
				return -1;
	}
	return 0;
}
