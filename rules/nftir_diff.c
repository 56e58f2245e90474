/* Which tables, chains, sets, elements and counters a ruleset replacing
 * another one can leave in the kernel (see nftir_diff.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nftir_diff.h"

/* ---- a hash of indices: set elements by identity, flows by id ---- */

struct index {
	int *slots; /* index + 1; 0 = empty */
	size_t mask;
};

static int index_init(struct index *ix, int n)
{
	size_t size = 16;

	while (size < (size_t)n * 2)
		size <<= 1;
	ix->slots = calloc(size, sizeof(*ix->slots));
	ix->mask = size - 1;
	return ix->slots ? 0 : -1;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Elements of a counting set are one per flow; the other sets hold one
 * element per key in the kernel, whichever flows share it. */
static uint64_t elem_hash(const struct nir_set *set, const struct nir_set_elem *e)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (set->counters ? mix(e->flow_id) : 0);

	for (int i = 0; i < set->key_len; i++)
		h = (h ^ e->key[i]) * 0x100000001b3ULL;
	return mix(h);
}

/* The same element: same key, and the same flow in a counting set (a kept
 * element keeps its statistics and its "f<id>" comment), the same chain in
 * a verdict map. */
static bool same_elem(const struct nir_set *set, const struct nir_set_elem *a,
		      const struct nir_set_elem *b)
{
	return !memcmp(a->key, b->key, set->key_len) &&
	       (!set->counters || a->flow_id == b->flow_id) &&
	       (!set->vmap || !strcmp(a->chain, b->chain));
}

/* ---- definitions ---- */

static bool same_src(const struct nir_src *a, const struct nir_src *b)
{
	return a->kind == b->kind && a->key == b->key && a->base == b->base &&
	       a->offset == b->offset && a->len == b->len &&
	       a->ct_dir == b->ct_dir && a->fmt == b->fmt;
}

static bool same_set_type(const struct nir_set *a, const struct nir_set *b)
{
	if (strcmp(a->name, b->name) || a->n_fields != b->n_fields ||
	    a->key_len != b->key_len || a->counters != b->counters ||
	    a->vmap != b->vmap || a->jump != b->jump)
		return false;
	for (int i = 0; i < a->n_fields; i++) {
		const struct nir_set_field *fa = &a->fields[i], *fb = &b->fields[i];

		if (!same_src(&fa->src, &fb->src) || fa->masked != fb->masked ||
		    (fa->masked && (fa->mask.len != fb->mask.len ||
				    memcmp(fa->mask.data, fb->mask.data, fa->mask.len))))
			return false;
	}
	return true;
}

/* A chain of the same name stays when nothing about its hook changes (a base chain's
 * policy can be changed in place). */
static bool same_chain(const void *va, const void *vb)
{
	const struct nir_chain *a = va, *b = vb;

	return a->hook == b->hook &&
	       (a->hook == NIR_HOOK_NONE ||
		(a->priority == b->priority && a->nat_type == b->nat_type));
}

bool nir_set_room(const struct nir_set *set, int n_more)
{
	return !set->size || set->n_elems + n_more <= set->size;
}

/* A set with counters always has a size: its stats set gets the same one,
 * and a dynamic set needs a limit (it never holds more keys than the set). */
static int fresh_size(const struct nir_set *set)
{
	if (set->n_elems >= NIR_SET_SIZED_MIN)
		return 2 * set->n_elems;
	if (!set->counters)
		return 0;
	return 2 * set->n_elems > NIR_STATS_SIZE_MIN ? 2 * set->n_elems : NIR_STATS_SIZE_MIN;
}

/* ---- the diff ---- */

static int find_table(const struct nir_ruleset *rs, const struct nir_table *t)
{
	for (int i = 0; rs && i < rs->n_tables; i++)
		if (rs->tables[i].family == t->family &&
		    !strcmp(rs->tables[i].name, t->name))
			return i;
	return -1;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	return mix(h);
}

static void index_put(struct index *ix, size_t h, int k)
{
	while (ix->slots[h & ix->mask])
		h++;
	ix->slots[h & ix->mask] = k + 1;
}

/* Pairs every new item with an old one of the same name that 'same' (if
 * given) accepts, by a hash of the names: 100 000 per-flow chains of a
 * verdict map and 100 000 flow counters are possible.  Chains, counters,
 * port maps and their elements (the interface name) all start with their
 * name; 'stride' is the item size. */
static void pair_by_name(const void *old, int n_old, const void *new, int n_new,
			 size_t stride, bool (*same)(const void *, const void *),
			 int *new_old, bool *old_taken)
{
	struct index ix;

	if (index_init(&ix, n_old))
		return; /* out of memory: nothing kept, still right */
	for (int k = 0; k < n_old; k++)
		index_put(&ix, name_hash((const char *)old + k * stride), k);
	for (int i = 0; i < n_new; i++) {
		const char *item = (const char *)new + i * stride;

		for (size_t h = name_hash(item); ix.slots[h & ix.mask]; h++) {
			int k = ix.slots[h & ix.mask] - 1;
			const char *o = (const char *)old + k * stride;

			if (!old_taken[k] && !strcmp(o, item) && (!same || same(o, item))) {
				new_old[i] = k;
				old_taken[k] = true;
				break;
			}
		}
	}
	free(ix.slots);
}

/* The first of 'els' (an index over them by elem_hash) with e's key, or -1. */
static int first_with_key(const struct index *ix, const struct nir_set *set,
			  const struct nir_set_elem *els, const struct nir_set_elem *e)
{
	int first = -1;

	for (size_t h = elem_hash(set, e); ix->slots[h & ix->mask]; h++) {
		int k = ix->slots[h & ix->mask] - 1;

		if (!memcmp(els[k].key, e->key, set->key_len) && (first < 0 || k < first))
			first = k;
	}
	return first;
}

/* A set without counters holds one kernel element per key, though several
 * flows may share the key (pre-pass copies of flows that differ only in
 * what the pre-pass does not test).  Its first element with a key stands
 * for the kernel's; the others are neither deleted nor added on their own. */
static int diff_shared_keys(const struct nir_set *os, const struct nir_set *ns,
			    bool *old_kept, bool *kept)
{
	struct index oix, nix;
	int ret = -1;

	if (index_init(&oix, os->n_elems))
		return -1;
	if (index_init(&nix, ns->n_elems))
		goto out;
	for (int k = 0; k < os->n_elems; k++)
		index_put(&oix, elem_hash(os, &os->elems[k]), k);
	for (int i = 0; i < ns->n_elems; i++)
		index_put(&nix, elem_hash(ns, &ns->elems[i]), i);
	for (int k = 0; k < os->n_elems; k++) {
		int f = first_with_key(&nix, ns, ns->elems, &os->elems[k]);

		old_kept[k] = first_with_key(&oix, os, os->elems, &os->elems[k]) != k ||
			      (f >= 0 && same_elem(os, &os->elems[k], &ns->elems[f]));
	}
	for (int i = 0; i < ns->n_elems; i++) {
		int f = first_with_key(&oix, os, os->elems, &ns->elems[i]);

		kept[i] = first_with_key(&nix, ns, ns->elems, &ns->elems[i]) != i ||
			  (f >= 0 && same_elem(ns, &os->elems[f], &ns->elems[i]));
	}
	ret = 0;
	free(nix.slots);
out:
	free(oix.slots);
	return ret;
}

static int diff_elems(const struct nir_set *os, const struct nir_set *ns,
		      bool *old_kept, bool *kept)
{
	struct index ix;

	if (!ns->counters)
		return diff_shared_keys(os, ns, old_kept, kept);
	if (index_init(&ix, os->n_elems))
		return -1;
	for (int k = 0; k < os->n_elems; k++)
		index_put(&ix, elem_hash(os, &os->elems[k]), k);
	for (int i = 0; i < ns->n_elems; i++) {
		for (size_t h = elem_hash(ns, &ns->elems[i]); ix.slots[h & ix.mask]; h++) {
			int k = ix.slots[h & ix.mask] - 1;

			if (!old_kept[k] && same_elem(ns, &os->elems[k], &ns->elems[i])) {
				kept[i] = old_kept[k] = true;
				break;
			}
		}
	}
	free(ix.slots);
	return 0;
}

static int diff_sets(const struct nir_table *o, struct nir_table *t,
		     struct nir_table_diff *td)
{
	for (int i = 0; i < t->n_sets; i++) {
		struct nir_set *ns = &t->sets[i];

		td->set_old[i] = -1;
		for (int k = 0; o && k < o->n_sets; k++) {
			const struct nir_set *os = &o->sets[k];

			if (td->old_set_kept[k] || !same_set_type(os, ns) ||
			    (os->size && ns->n_elems > os->size))
				continue;
			td->set_old[i] = k;
			td->old_set_kept[k] = true;
			ns->size = os->size;
			td->elem_kept[i] = calloc(ns->n_elems + 1, sizeof(bool));
			td->old_elem_kept[k] = calloc(os->n_elems + 1, sizeof(bool));
			if (!td->elem_kept[i] || !td->old_elem_kept[k] ||
			    diff_elems(os, ns, td->old_elem_kept[k], td->elem_kept[i]))
				return -1;
			break;
		}
		if (td->set_old[i] < 0)
			ns->size = fresh_size(ns);
	}
	return 0;
}

/* Port maps pair by name and kind (map or plain set), their elements by
 * interface name, and a map's also by mark: an element whose mark changed
 * is deleted and added again. */
static bool same_map_kind(const void *a, const void *b)
{
	return ((const struct nir_map *)a)->is_set == ((const struct nir_map *)b)->is_set;
}

static bool same_mark(const void *a, const void *b)
{
	return ((const struct nir_map_elem *)a)->mark == ((const struct nir_map_elem *)b)->mark;
}

static int diff_maps(const struct nir_table *o, const struct nir_table *t,
		     struct nir_table_diff *td)
{
	for (int i = 0; i < t->n_maps; i++)
		td->map_old[i] = -1;
	if (o)
		pair_by_name(o->maps, o->n_maps, t->maps, t->n_maps, sizeof(*t->maps),
			     same_map_kind, td->map_old, td->old_map_kept);
	for (int i = 0; i < t->n_maps; i++) {
		const struct nir_map *nm = &t->maps[i], *om;
		int k = td->map_old[i];
		int *elem_old;

		if (k < 0)
			continue;
		om = &o->maps[k];
		td->map_elem_kept[i] = calloc(nm->n_elems + 1, sizeof(bool));
		td->old_map_elem_kept[k] = calloc(om->n_elems + 1, sizeof(bool));
		elem_old = malloc((nm->n_elems + 1) * sizeof(*elem_old));
		if (!td->map_elem_kept[i] || !td->old_map_elem_kept[k] || !elem_old) {
			free(elem_old);
			return -1;
		}
		for (int e = 0; e < nm->n_elems; e++)
			elem_old[e] = -1;
		pair_by_name(om->elems, om->n_elems, nm->elems, nm->n_elems,
			     sizeof(*nm->elems), nm->is_set ? NULL : same_mark, elem_old,
			     td->old_map_elem_kept[k]);
		for (int e = 0; e < nm->n_elems; e++)
			td->map_elem_kept[i][e] = elem_old[e] >= 0;
		free(elem_old);
	}
	return 0;
}

static bool same_limit(const void *a, const void *b)
{
	const struct nir_limit *x = a, *y = b;

	return x->rate == y->rate && x->burst == y->burst && x->bytes == y->bytes;
}

/* Pairs one kind of named object (limits, timeout policies, connection
 * limits) of the old
 * table (NULL: none) with the new one's by name and content: per new
 * object the same old one or -1, per old one whether it is kept. */
static int diff_named(const void *old, int n_old, const void *new, int n_new,
		      size_t size, bool (*same)(const void *, const void *),
		      int **new_old, bool **old_kept)
{
	*new_old = malloc((n_new + 1) * sizeof(int));
	*old_kept = calloc(n_old + 1, sizeof(bool));
	if (!*new_old || !*old_kept)
		return -1;
	for (int i = 0; i < n_new; i++)
		(*new_old)[i] = -1;
	if (old)
		pair_by_name(old, n_old, new, n_new, size, same, *new_old, *old_kept);
	return 0;
}

static bool same_timeout(const void *a, const void *b)
{
	const struct nir_ct_timeout *x = a, *y = b;

	return x->l4proto == y->l4proto && !memcmp(x->values, y->values, sizeof(x->values));
}

static bool same_connlimit(const void *a, const void *b)
{
	return ((const struct nir_connlimit *)a)->limit ==
	       ((const struct nir_connlimit *)b)->limit;
}


static int diff_table(const struct nir_table *o, struct nir_table *t,
		      struct nir_table_diff *td)
{
	int no_chains = o ? o->n_chains : 0, no_counters = o ? o->n_counters : 0;
	int no_sets = o ? o->n_sets : 0, no_maps = o ? o->n_maps : 0;

	td->n_sets = t->n_sets;
	td->n_old_sets = no_sets;
	td->n_maps = t->n_maps;
	td->n_old_maps = no_maps;

	td->chain_old = malloc((t->n_chains + 1) * sizeof(int));
	td->old_chain_kept = calloc(no_chains + 1, sizeof(bool));
	td->counter_old = malloc((t->n_counters + 1) * sizeof(int));
	td->old_counter_kept = calloc(no_counters + 1, sizeof(bool));
	td->set_old = calloc(t->n_sets + 1, sizeof(int));
	td->old_set_kept = calloc(no_sets + 1, sizeof(bool));
	td->elem_kept = calloc(t->n_sets + 1, sizeof(bool *));
	td->old_elem_kept = calloc(no_sets + 1, sizeof(bool *));
	td->map_old = calloc(t->n_maps + 1, sizeof(int));
	td->old_map_kept = calloc(no_maps + 1, sizeof(bool));
	td->map_elem_kept = calloc(t->n_maps + 1, sizeof(bool *));
	td->old_map_elem_kept = calloc(no_maps + 1, sizeof(bool *));
	if (!td->chain_old || !td->old_chain_kept || !td->counter_old ||
	    !td->old_counter_kept || !td->set_old || !td->old_set_kept ||
	    !td->elem_kept || !td->old_elem_kept || !td->map_old ||
	    !td->old_map_kept || !td->map_elem_kept || !td->old_map_elem_kept)
		return -1;
	for (int i = 0; i < t->n_chains; i++)
		td->chain_old[i] = -1;
	for (int i = 0; i < t->n_counters; i++)
		td->counter_old[i] = -1;
	if (o) {
		pair_by_name(o->chains, o->n_chains, t->chains, t->n_chains,
			     sizeof(*t->chains), same_chain, td->chain_old,
			     td->old_chain_kept);
		pair_by_name(o->counters, o->n_counters, t->counters, t->n_counters,
			     sizeof(*t->counters), NULL, td->counter_old,
			     td->old_counter_kept);
	}
	if (diff_named(o ? o->limits : NULL, o ? o->n_limits : 0, t->limits,
		       t->n_limits, sizeof(*t->limits), same_limit, &td->limit_old,
		       &td->old_limit_kept) ||
	    diff_named(o ? o->timeouts : NULL, o ? o->n_timeouts : 0, t->timeouts,
		       t->n_timeouts, sizeof(*t->timeouts), same_timeout,
		       &td->timeout_old, &td->old_timeout_kept) ||
	    diff_named(o ? o->connlimits : NULL, o ? o->n_connlimits : 0, t->connlimits,
		       t->n_connlimits, sizeof(*t->connlimits), same_connlimit,
		       &td->connlimit_old, &td->old_connlimit_kept))
		return -1;
	return diff_maps(o, t, td) ? -1 : diff_sets(o, t, td);
}

/* ---- flows whose statistics move ---- */

static uint64_t counter_flow(const char *name)
{
	char *end;
	uint64_t id;

	if (name[0] != 'f')
		return 0;
	id = strtoull(name + 1, &end, 10);
	return *end ? 0 : id;
}

static void index_add_id(struct index *ix, uint64_t *ids, int *n, uint64_t id)
{
	size_t h = mix(id);

	if (!id)
		return;
	for (; ix->slots[h & ix->mask]; h++)
		if (ids[ix->slots[h & ix->mask] - 1] == id)
			return;
	ids[*n] = id;
	ix->slots[h & ix->mask] = ++*n;
}

static bool index_has_id(const struct index *ix, const uint64_t *ids, uint64_t id)
{
	for (size_t h = mix(id); ix->slots[h & ix->mask]; h++)
		if (ids[ix->slots[h & ix->mask] - 1] == id)
			return true;
	return false;
}

static int old_flow_ids(const struct nir_ruleset *old, struct index *ix,
			uint64_t **ids)
{
	int total = 0, n = 0;

	for (int t = 0; t < old->n_tables; t++) {
		total += old->tables[t].n_counters;
		for (int s = 0; s < old->tables[t].n_sets; s++)
			total += old->tables[t].sets[s].n_elems;
	}
	*ids = malloc((total + 1) * sizeof(**ids));
	if (!*ids || index_init(ix, total))
		return -1;
	for (int t = 0; t < old->n_tables; t++) {
		const struct nir_table *o = &old->tables[t];

		for (int c = 0; c < o->n_counters; c++)
			index_add_id(ix, *ids, &n, counter_flow(o->counters[c].name));
		for (int s = 0; s < o->n_sets; s++)
			for (int e = 0; o->sets[s].counters && e < o->sets[s].n_elems; e++)
				index_add_id(ix, *ids, &n, o->sets[s].elems[e].flow_id);
	}
	return 0;
}

static bool table_moves_counts(const struct nir_table *t,
			       const struct nir_table_diff *td,
			       const struct index *ix, const uint64_t *ids)
{
	for (int c = 0; c < t->n_counters; c++)
		if (td->counter_old[c] < 0 &&
		    index_has_id(ix, ids, counter_flow(t->counters[c].name)))
			return true;
	for (int s = 0; s < t->n_sets; s++) {
		const struct nir_set *set = &t->sets[s];

		for (int e = 0; set->counters && e < set->n_elems; e++)
			if ((!td->elem_kept[s] || !td->elem_kept[s][e]) &&
			    index_has_id(ix, ids, set->elems[e].flow_id))
				return true;
	}
	return false;
}

static int find_carry(const struct nir_ruleset *old, const struct nir_ruleset *new,
		      struct nir_diff *d)
{
	struct index ix = { 0 };
	uint64_t *ids = NULL;
	int ret = -1;

	if (old_flow_ids(old, &ix, &ids))
		goto out;
	for (int t = 0; t < new->n_tables && !d->needs_carry; t++)
		d->needs_carry = table_moves_counts(&new->tables[t], &d->tables[t],
						    &ix, ids);
	ret = 0;
out:
	free(ix.slots);
	free(ids);
	return ret;
}

int nir_diff_build(const struct nir_ruleset *old, struct nir_ruleset *new,
		   struct nir_diff *d)
{
	memset(d, 0, sizeof(*d));
	d->n_tables = new->n_tables;
	d->n_old_tables = old ? old->n_tables : 0;
	d->tables = calloc(new->n_tables + 1, sizeof(*d->tables));
	d->old_table_kept = calloc(d->n_old_tables + 1, sizeof(bool));
	if (!d->tables || !d->old_table_kept)
		goto oom;
	for (int i = 0; i < new->n_tables; i++) {
		struct nir_table_diff *td = &d->tables[i];
		int k = find_table(old, &new->tables[i]);

		td->old = k;
		if (k >= 0)
			d->old_table_kept[k] = true;
		if (diff_table(k >= 0 ? &old->tables[k] : NULL, &new->tables[i], td))
			goto oom;
	}
	if (old && find_carry(old, new, d))
		goto oom;
	return 0;
oom:
	nir_diff_free(d);
	return -1;
}

void nir_diff_free(struct nir_diff *d)
{
	for (int i = 0; d->tables && i < d->n_tables; i++) {
		struct nir_table_diff *td = &d->tables[i];

		for (int s = 0; td->elem_kept && s < td->n_sets; s++)
			free(td->elem_kept[s]);
		for (int s = 0; td->old_elem_kept && s < td->n_old_sets; s++)
			free(td->old_elem_kept[s]);
		for (int m = 0; td->map_elem_kept && m < td->n_maps; m++)
			free(td->map_elem_kept[m]);
		for (int m = 0; td->old_map_elem_kept && m < td->n_old_maps; m++)
			free(td->old_map_elem_kept[m]);
		free(td->map_old);
		free(td->old_map_kept);
		free(td->map_elem_kept);
		free(td->old_map_elem_kept);
		free(td->chain_old);
		free(td->old_chain_kept);
		free(td->counter_old);
		free(td->old_counter_kept);
		free(td->limit_old);
		free(td->old_limit_kept);
		free(td->timeout_old);
		free(td->old_timeout_kept);
		free(td->connlimit_old);
		free(td->old_connlimit_kept);
		free(td->set_old);
		free(td->old_set_kept);
		free(td->elem_kept);
		free(td->old_elem_kept);
	}
	free(d->tables);
	free(d->old_table_kept);
	memset(d, 0, sizeof(*d));
}
