/* Fuzzes the incremental reload (rules/nftir_diff.c) together with what the
 * daemon sends for it (src/nft_backend.c, nft_update: take_apart_msgs then
 * fill_table_msgs), on a model of the kernel's nf_tables objects.
 *
 * The input picks flows from a fixed list of valid flow shapes (priorities,
 * ports, addresses and transport ports from the input) and says, per flow,
 * whether it is in each of three flow tables R0, R1, R2 and with which of
 * two action lists (add-flow, del-flow, mod-flows between them).  All three
 * are compiled.  The model (tables, chains and their rules as nft text,
 * sets and elements, stats sets, port maps, named objects, flowtables) then
 * receives, message for message in nft_update's order, a fresh load of R0,
 * the update R0 -> R1 and the update R1 -> R2.  The input's first byte
 * may also change the bridge's ports between them, or (bit 6) make R0 -> R1
 * take brflowd's fast path (compile_plan_change, nft_change_elems and
 * apply_changes of src/state.c) when the plan can, so that the full
 * reload to R2 starts from a loaded ruleset that followed element changes.
 * Checked:
 *   - every message is one the kernel accepts: nothing is deleted that is
 *     not there (or twice), no element is added again with other data, no
 *     set passes its size, no chain a verdict-map element jumps to is
 *     deleted, a kept chain keeps its hook, a rule references only sets
 *     (with the rule's key type), maps, objects, regular chains and
 *     flowtables that exist;
 *   - after each full reload the model equals a fresh load of the new
 *     ruleset (set sizes aside: a continued set keeps the kernel's), after
 *     the fast path a fresh load of the loaded ruleset brflowd keeps;
 *   - statistics that stay in the kernel (stats-set elements, counter
 *     objects) stay with the flow they counted, and a flow of the old
 *     ruleset that loses them makes the diff say needs_carry;
 *   - a ruleset diffed against a second compile of itself keeps everything
 *     and carries nothing.
 * A violation aborts with a message on stderr; FUZZ_DIFF_VERBOSE=1 in the
 * environment prints the three flow tables and rulesets first.
 *
 * The model follows nft_update's messages as src/nft_backend.c builds
 * them (it does not link the daemon, which needs netlink): a change there
 * needs the same change here.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     -o /var/tmp/fuzz-diff-model/fuzz tests/fuzz/fuzz_diff_model.c rules/[a-z]*.c
 *   nice -n 10 /var/tmp/fuzz-diff-model/fuzz -max_total_time=900 \
 *     -rss_limit_mb=2048 -timeout=10 /var/tmp/fuzz-diff-model/corpus tests/fuzz/corpus/diff_model
 */
#include "../../rules/compile.h"
#include "../../rules/nftir_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the input: three flow tables ---- */

/* Each shape: a flow with placeholders, and its second action list.
 * %P priority, %N in_port, %O output port, %A %B IPv4 address (maybe
 * masked), %T a transport port, %X a small number, %H a hex byte. */
static const char *const shapes[][2] = {
	{ "table=0,priority=%P,ip,actions=ct(table=1)", "drop" },
	{ "table=0,priority=%P,ipv6,actions=ct(table=1)", "normal" },
	{ "table=0,priority=%P,arp,actions=normal", "drop" },
	{ "table=0,priority=0,actions=drop", "normal" },
	{ "table=0,priority=%P,in_port=%N,actions=output:%O", "resubmit(,1)" },
	{ "table=0,priority=%P,in_port=%N,actions=resubmit(,1)", "drop" },
	{ "table=0,priority=%P,tcp,nw_src=%A,tp_dst=%T,actions=drop", "normal" },
	{ "table=0,priority=%P,tcp,nw_src=%A,tp_dst=%T,actions=normal", "output:%O" },
	{ "table=0,priority=%P,udp,nw_dst=%A,tp_dst=%T,actions=output:%O", "drop" },
	{ "table=0,priority=%P,ip,nw_dst=%A,actions=output:%O", "normal" },
	{ "table=0,priority=%P,in_port=%N,ip,ct_state=-trk,actions=ct(table=1)", "drop" },
	{ "table=0,priority=%P,in_port=%N,ip,actions=ct(commit),%O", "drop" },
	{ "table=0,priority=%P,tcp,nw_src=%A,tp_dst=%T,actions=output:%O", "drop" },
	{ "table=0,priority=%P,dl_src=02:00:00:00:00:%H,actions=normal", "drop" },
	{ "table=0,priority=%P,tcp,tp_src=%T,actions=drop", "normal" },
	{ "table=0,priority=%P,icmp,actions=normal", "drop" },
	{ "table=0,priority=%P,ip,actions=ct(zone=7,table=1)", "ct(table=1)" },
	{ "table=0,priority=%P,in_port=%N,ip,nw_src=%A,actions=resubmit(,1)", "output:%O" },
	{ "table=1,priority=%P,ct_state=+trk+est,actions=normal", "drop" },
	{ "table=1,priority=%P,ct_state=+trk+rel,actions=normal", "drop" },
	{ "table=1,priority=%P,ct_state=+trk+inv,actions=drop", "normal" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp,in_port=%N,nw_src=%A,tp_dst=%T,"
	  "actions=ct(commit),normal", "ct(commit),output:%O" },
	{ "table=1,priority=%P,ct_state=+trk+new,udp,in_port=%N,nw_src=%A,tp_dst=%T,"
	  "actions=ct(commit),normal", "drop" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp,nw_src=%A,tp_dst=%T,"
	  "actions=ct(commit),normal", "drop" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp6,in_port=%N,ipv6_src=fc00::%X,"
	  "tp_dst=%T,actions=ct(commit),normal", "drop" },
	{ "table=1,priority=0,actions=drop", "normal" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp,tp_dst=%T,actions=resubmit(,2)", "drop" },
	{ "table=1,priority=%P,ct_state=+trk-new,tcp,tp_dst=%T,actions=drop", "normal" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp,tp_dst=%T,"
	  "actions=ct(commit,exec(set_field:0x5->ct_mark)),resubmit(,2)", "ct(commit),normal" },
	{ "table=1,priority=%P,in_port=%N,ip,ct_state=+est,actions=%O", "drop" },
	{ "table=1,priority=%P,ip,nw_dst=%A,actions=output:%O", "normal" },
	{ "table=1,priority=%P,ct_state=+trk+new,udp,nw_src=%A,actions=ct(commit),normal", "drop" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp,in_port=%N,nw_src=%A,nw_dst=%B,"
	  "tp_dst=%T,actions=ct(commit),normal", "ct(commit),output:%O" },
	{ "table=1,priority=%P,ct_state=+trk+new,icmp,actions=ct(commit),normal", "drop" },
	{ "table=1,priority=%P,ct_state=+trk+new,tcp,nw_dst=%A,tp_dst=%T,"
	  "actions=ct(commit),output:%O", "ct(commit),normal" },
	{ "table=1,priority=%P,ip,nw_src=%A,actions=output:%O", "drop" },
	{ "table=2,priority=%P,ct_state=+trk+new,in_port=%N,actions=normal", "drop" },
	{ "table=2,priority=%P,ct_state=+trk+est,actions=output:%O", "normal" },
	{ "table=2,priority=0,actions=drop", "normal" },
	{ "table=2,priority=%P,tcp,nw_src=%A,tp_dst=%T,actions=output:%O", "normal" },
};
#define N_SHAPES ((int)(sizeof(shapes) / sizeof(shapes[0])))

#define MAX_POOL 48
#define REC 6 /* input bytes per flow of the pool */

static const int prios[] = { 0, 1, 10, 50, 60, 70, 100, 100, 150, 200 };
static const int tports[] = { 22, 53, 80, 443, 8080, 25 };

static int put_addr(char *o, size_t len, uint8_t a, uint8_t b, uint8_t how)
{
	switch (how % 4) {
	case 0:
	case 1:
		return snprintf(o, len, "10.0.%u.%u", a % 4, b % 8);
	case 2:
		return snprintf(o, len, "10.0.%u.0/24", a % 4);
	default:
		return snprintf(o, len, "10.%u.0.0/16", b % 4);
	}
}

/* The text of pool flow r (REC bytes) with its second action list if 'alt'. */
static void flow_text(const uint8_t *r, int alt, char *buf, size_t len)
{
	const char *s = shapes[r[0] % N_SHAPES][0];
	char *o = buf, *end = buf + len - 1;

	for (; *s && o < end; s++) {
		size_t room = (size_t)(end - o);
		int w = 0;

		if (alt && !strncmp(s, "actions=", 8)) {
			o += snprintf(o, room, "actions=");
			s = shapes[r[0] % N_SHAPES][1] - 1;
			alt = 0;
			continue;
		}
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		switch (*++s) {
		case 'P': w = snprintf(o, room, "%d", prios[r[1] % 10]); break;
		case 'N': w = snprintf(o, room, "%d", 1 + r[2] % 3); break;
		case 'O': w = snprintf(o, room, "%d", 1 + (r[2] >> 2) % 3); break;
		case 'A': w = put_addr(o, room, r[3], r[4], (uint8_t)(r[2] >> 4)); break;
		case 'B': w = put_addr(o, room, r[4], r[3], (uint8_t)(r[2] >> 6)); break;
		case 'T': w = snprintf(o, room, "%d", tports[r[4] % 6]); break;
		case 'X': w = snprintf(o, room, "%u", r[3] % 8 + 1); break;
		case 'H': w = snprintf(o, room, "%02x", r[3] % 8); break;
		default: break;
		}
		o += w > 0 && (size_t)w < room ? w : 0;
	}
	*o = 0;
}

struct flows {
	struct flow flows[MAX_POOL];
	struct compile_flow cf[MAX_POOL];
	int n;
};

/* The bridge's ports: R0 has the first list; the input's first byte may
 * give R1 and R2 another (a port removed, renumbered, added). */
#define PORT(name, n) { .ifname = name, .ofport = n }
static const struct compile_port port_lists[][4] = {
	{ PORT("p1", 1), PORT("p2", 2), PORT("p3", 3) },
	{ PORT("p1", 1), PORT("p2", 2) },
	{ PORT("p1", 1), PORT("p2", 2), PORT("p3", 5) },
	{ PORT("p1", 1), PORT("p2", 2), PORT("p3", 3), PORT("p4", 4) },
};
static const int n_port_list[] = { 3, 2, 3, 4 };

/* Flow table 'which' (0..2) of the input; -1 when a flow does not parse. */
static int pick(const uint8_t *data, int n_pool, int which, struct flows *t)
{
	for (int i = 0; i < n_pool; i++) {
		const uint8_t *r = data + i * REC;
		uint8_t m = r[5];
		int v = m & 3;
		char text[400], *err;
		bool dup = false;

		if (which >= 1 && (m & 0x40))
			v = (m >> 2) & 3;
		if (which == 2 && (m & 0x80))
			v = (m >> 4) & 3;
		if (!v)
			continue;
		flow_text(r, v == 2, text, sizeof(text));
		err = flow_parse(text, &t->flows[t->n], NULL);
		if (err) {
			fprintf(stderr, "shape does not parse: %s: %s\n", text, err);
			free(err);
			return -1;
		}
		/* add-flow of a flow the table has replaces it: keep one */
		for (int k = 0; k < t->n && !dup; k++)
			dup = flow_same_rule(&t->flows[k], &t->flows[t->n]);
		if (dup) {
			flow_free(&t->flows[t->n]);
			continue;
		}
		if (getenv("FUZZ_DIFF_VERBOSE"))
			fprintf(stderr, "R%d: @%d %s\n", which, i + 1, text);
		t->cf[t->n].id = (uint64_t)i + 1;
		t->cf[t->n].flow = &t->flows[t->n];
		t->n++;
	}
	return 0;
}

static void flows_free(struct flows *t)
{
	for (int i = 0; i < t->n; i++)
		flow_free(&t->flows[i]);
	t->n = 0;
}

/* ---- a model of the kernel's objects ---- */

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz_diff: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

struct kelem {
	uint8_t key[NIR_SET_KEY_MAX]; /* a map's: the interface name */
	char chain[64];               /* verdict maps */
	uint64_t data;                /* flow (comment), mark, or stats' flow */
	bool old_stats;               /* stats element from before the update */
};

enum kset_kind { K_SET, K_STATS, K_MAP };

struct kset {
	char name[80];
	enum kset_kind kind;
	char type[512];  /* what the kernel compares a NEWSET with */
	int key_len;
	bool vmap, counting, has_data;
	int size;
	int n;
	struct kelem *elems;
};

struct kchain {
	char name[64];
	enum nir_hook hook;
	int prio;
	bool nat, drop;
	int n_rules;
	char **rules;
};

struct kobj {
	char name[80];   /* kind letter, ':', name */
	char desc[64];   /* counter / helper type / flowtable devices */
	bool old_stats;  /* a counter from before the update */
};

struct ktable {
	enum nir_family family;
	char name[64];
	int n_chains, n_sets, n_objs;
	struct kchain **chains;
	struct kset **sets;
	struct kobj **objs;
};

struct kernel {
	int n;
	struct ktable **tables;
};

static void *ptr_push(void *arrp, int *n, size_t sz)
{
	void ***arr = arrp;
	void *item = calloc(1, sz);

	*arr = realloc(*arr, (size_t)(*n + 1) * sizeof(void *));
	if (!item || !*arr)
		fail("out of memory");
	(*arr)[(*n)++] = item;
	return item;
}

static void ptr_drop(void *arrp, int *n, int i)
{
	void **arr = *(void ***)arrp;

	memmove(&arr[i], &arr[i + 1], (size_t)(*n - i - 1) * sizeof(void *));
	(*n)--;
}

static struct kelem *kelem_at(const struct kset *s, int i)
{
	return &s->elems[i];
}

static void kchain_free(struct kchain *c)
{
	for (int i = 0; i < c->n_rules; i++)
		free(c->rules[i]);
	free(c->rules);
	free(c);
}

static void kset_free(struct kset *s)
{
	free(s->elems);
	free(s);
}

static void ktable_free(struct ktable *t)
{
	for (int i = 0; i < t->n_chains; i++)
		kchain_free(t->chains[i]);
	for (int i = 0; i < t->n_sets; i++)
		kset_free(t->sets[i]);
	for (int i = 0; i < t->n_objs; i++)
		free(t->objs[i]);
	free(t->chains);
	free(t->sets);
	free(t->objs);
	free(t);
}

static void kernel_free(struct kernel *k)
{
	for (int i = 0; i < k->n; i++)
		ktable_free(k->tables[i]);
	free(k->tables);
	memset(k, 0, sizeof(*k));
}

static int ktable_idx(const struct kernel *k, enum nir_family f, const char *name)
{
	for (int i = 0; i < k->n; i++)
		if (k->tables[i]->family == f && !strcmp(k->tables[i]->name, name))
			return i;
	return -1;
}

static struct ktable *ktable_get(const struct kernel *k, const struct nir_table *t)
{
	int i = ktable_idx(k, t->family, t->name);

	if (i < 0)
		fail("table %s %s: no such table", nir_family_name(t->family), t->name);
	return k->tables[i];
}

static int kchain_idx(const struct ktable *t, const char *name)
{
	for (int i = 0; i < t->n_chains; i++)
		if (!strcmp(t->chains[i]->name, name))
			return i;
	return -1;
}

/* Sets, stats sets and maps share one name space, as in the kernel. */
static int kset_idx(const struct ktable *t, const char *name)
{
	for (int i = 0; i < t->n_sets; i++)
		if (!strcmp(t->sets[i]->name, name))
			return i;
	return -1;
}

static struct kset *kset_get(const struct ktable *t, const char *name)
{
	int i = kset_idx(t, name);

	if (i < 0)
		fail("table %s: no set %s", t->name, name);
	return t->sets[i];
}

static int kobj_idx(const struct ktable *t, const char *name)
{
	for (int i = 0; i < t->n_objs; i++)
		if (!strcmp(t->objs[i]->name, name))
			return i;
	return -1;
}

static void msg_new_table(struct kernel *k, enum nir_family f, const char *name)
{
	struct ktable *t;

	if (ktable_idx(k, f, name) >= 0)
		return;
	t = ptr_push(&k->tables, &k->n, sizeof(*t));
	t->family = f;
	snprintf(t->name, sizeof(t->name), "%s", name);
}

static void msg_del_table(struct kernel *k, enum nir_family f, const char *name)
{
	int i = ktable_idx(k, f, name);

	if (i < 0)
		fail("DELTABLE %s: no such table", name);
	ktable_free(k->tables[i]);
	ptr_drop(&k->tables, &k->n, i);
}

static void msg_del_rules(struct ktable *t)
{
	for (int i = 0; i < t->n_chains; i++) {
		struct kchain *c = t->chains[i];

		for (int r = 0; r < c->n_rules; r++)
			free(c->rules[r]);
		c->n_rules = 0;
	}
}

/* ---- sets ---- */

static void set_type(const struct nir_set *s, char *buf, size_t len)
{
	int o = snprintf(buf, len, "k%d v%d", s->key_len, s->vmap);

	for (int i = 0; i < s->n_fields && o < (int)len; i++) {
		const struct nir_set_field *f = &s->fields[i];

		o += snprintf(buf + o, len - (size_t)o, " [%d %u %u %u %u %u %d m%d",
			      f->src.kind, f->src.key, f->src.base, f->src.offset,
			      f->src.len, f->src.ct_dir, f->src.fmt, f->masked);
		for (int b = 0; f->masked && b < f->mask.len && o < (int)len; b++)
			o += snprintf(buf + o, len - (size_t)o, "%02x", f->mask.data[b]);
		if (o < (int)len)
			o += snprintf(buf + o, len - (size_t)o, "]");
	}
}

static struct kset *msg_new_set(struct ktable *t, const char *name, enum kset_kind kind,
				const char *type, int key_len, bool vmap, int size)
{
	int i = kset_idx(t, name);
	struct kset *s;

	if (i >= 0) {
		s = t->sets[i];
		if (s->kind != kind || strcmp(s->type, type))
			fail("NEWSET %s: exists with another type", name);
		return s;
	}
	s = ptr_push(&t->sets, &t->n_sets, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->type, sizeof(s->type), "%s", type);
	s->kind = kind;
	s->key_len = key_len;
	s->vmap = vmap;
	s->size = size;
	return s;
}

static void msg_del_set(struct ktable *t, const char *name)
{
	int i = kset_idx(t, name);

	if (i < 0)
		fail("DELSET %s: no such set", name);
	kset_free(t->sets[i]);
	ptr_drop(&t->sets, &t->n_sets, i);
}

static int kelem_idx(const struct kset *s, const uint8_t *key)
{
	for (int i = 0; i < s->n; i++)
		if (!memcmp(kelem_at(s, i)->key, key, (size_t)s->key_len))
			return i;
	return -1;
}

static void check_goto(const struct ktable *t, const char *chain)
{
	int c = kchain_idx(t, chain);

	if (c < 0)
		fail("goto %s: no such chain", chain);
	if (t->chains[c]->hook != NIR_HOOK_NONE)
		fail("goto %s: a base chain", chain);
}

/* NEWSETELEM without NLM_F_EXCL: an element whose key is there stays as it
 * is, unless its data differs (EBUSY). */
static void msg_add_elem(const struct ktable *t, struct kset *s, const struct kelem *e)
{
	int i = kelem_idx(s, e->key);
	struct kelem *n;

	if (s->vmap)
		check_goto(t, e->chain);
	if (i >= 0) {
		n = kelem_at(s, i);
		if ((s->vmap && strcmp(n->chain, e->chain)) ||
		    (s->kind == K_MAP && s->has_data && n->data != e->data))
			fail("NEWSETELEM %s: key there with other data", s->name);
		return;
	}
	if (s->size && s->n >= s->size)
		fail("NEWSETELEM %s: full (%d)", s->name, s->size);
	s->elems = realloc(s->elems, (size_t)(s->n + 1) * sizeof(*s->elems));
	if (!s->elems)
		fail("out of memory");
	s->elems[s->n++] = *e;
}

static void msg_del_elem(struct kset *s, const uint8_t *key)
{
	int i = kelem_idx(s, key);

	if (i < 0)
		fail("DELSETELEM %s: no such element", s->name);
	memmove(&s->elems[i], &s->elems[i + 1], (size_t)(s->n - i - 1) * sizeof(*s->elems));
	s->n--;
}

static void set_kelem(const struct nir_set *set, const struct nir_set_elem *e,
		      struct kelem *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->key, e->key, (size_t)set->key_len);
	snprintf(k->chain, sizeof(k->chain), "%s", e->chain);
	k->data = e->flow_id;
}

static void map_kelem(const struct nir_map *m, const struct nir_map_elem *e,
		      struct kelem *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->key, e->ifname, 16);
	k->data = m->is_set ? 0 : e->mark;
}

static void stats_name(const struct nir_set *set, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", set->name, NIR_STATS_SUFFIX);
}

/* set_elems_msgs: the elements 'skip' does not mark. */
static void set_elems(const struct ktable *kt, const struct nir_set *set,
		      const bool *skip, bool add)
{
	struct kset *s = kset_get(kt, set->name);
	struct kelem k;

	for (int i = 0; i < set->n_elems; i++) {
		if (skip && skip[i])
			continue;
		set_kelem(set, &set->elems[i], &k);
		if (add)
			msg_add_elem(kt, s, &k);
		else
			msg_del_elem(s, k.key);
	}
}

/* stats_elems_msgs: an add (which may find the key) then, for a delete,
 * the delete of the same keys.  The harness carries no statistics, so an
 * add sends nothing. */
static void stats_elems(const struct ktable *kt, const struct nir_set *set,
			const bool *skip, bool add)
{
	char name[80];
	struct kset *s;
	struct kelem k;
	int n_del = 0;
	uint8_t (*keys)[NIR_SET_KEY_MAX];

	if (add)
		return;
	stats_name(set, name, sizeof(name));
	s = kset_get(kt, name);
	keys = calloc((size_t)set->n_elems + 1, sizeof(*keys));
	if (!keys)
		fail("out of memory");
	for (int i = 0; i < set->n_elems; i++) {
		if (skip && skip[i])
			continue;
		set_kelem(set, &set->elems[i], &k);
		k.data = 0;
		msg_add_elem(kt, s, &k);
		memcpy(keys[n_del++], k.key, NIR_SET_KEY_MAX);
	}
	for (int i = 0; i < n_del; i++)
		msg_del_elem(s, keys[i]);
	free(keys);
}

static void map_elems(const struct ktable *kt, const struct nir_map *m,
		      const bool *skip, bool add)
{
	struct kset *s = kset_get(kt, m->name);
	struct kelem k;

	for (int i = 0; i < m->n_elems; i++) {
		if (skip && skip[i])
			continue;
		map_kelem(m, &m->elems[i], &k);
		if (add)
			msg_add_elem(kt, s, &k);
		else
			msg_del_elem(s, k.key);
	}
}

static void add_set(struct ktable *kt, const struct nir_set *set)
{
	char type[512], name[80];

	set_type(set, type, sizeof(type));
	msg_new_set(kt, set->name, K_SET, type, set->key_len, set->vmap,
		    set->size)->counting = set->counters;
	if (!set->vmap)
		set_elems(kt, set, NULL, true);
	if (set->counters) {
		stats_name(set, name, sizeof(name));
		msg_new_set(kt, name, K_STATS, type, set->key_len, false, set->size);
	}
}

static void add_map(struct ktable *kt, const struct nir_map *m)
{
	msg_new_set(kt, m->name, K_MAP, m->is_set ? "ifname" : "ifname:mark", 16,
		    false, 0)->has_data = !m->is_set;
	map_elems(kt, m, NULL, true);
}

/* ---- objects, chains, rules ---- */

static void obj_name(char *buf, size_t len, char kind, const char *name)
{
	snprintf(buf, len, "%c:%s", kind, name);
}

static void msg_new_obj(struct ktable *t, char kind, const char *name, const char *desc)
{
	char full[80];
	int i;
	struct kobj *o;

	obj_name(full, sizeof(full), kind, name);
	i = kobj_idx(t, full);
	if (i >= 0) {
		if (strcmp(t->objs[i]->desc, desc))
			fail("NEWOBJ %s: exists with another type", full);
		return;
	}
	o = ptr_push(&t->objs, &t->n_objs, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", full);
	snprintf(o->desc, sizeof(o->desc), "%s", desc);
}

static void msg_del_obj(struct ktable *t, char kind, const char *name)
{
	char full[80];
	int i;

	obj_name(full, sizeof(full), kind, name);
	i = kobj_idx(t, full);
	if (i < 0)
		fail("DELOBJ %s: no such object", full);
	free(t->objs[i]);
	ptr_drop(&t->objs, &t->n_objs, i);
}

static void need_obj(const struct ktable *t, char kind, const char *name)
{
	char full[80];

	obj_name(full, sizeof(full), kind, name);
	if (kobj_idx(t, full) < 0)
		fail("rule references %s, not in table %s", full, t->name);
}

static void msg_new_chain(struct ktable *t, const struct nir_chain *c)
{
	int i = kchain_idx(t, c->name);
	struct kchain *k;

	if (i >= 0) {
		k = t->chains[i];
		if (k->hook != c->hook || (c->hook != NIR_HOOK_NONE &&
					   (k->prio != c->priority || k->nat != c->nat_type)))
			fail("NEWCHAIN %s: exists with another hook", c->name);
		k->drop = c->hook != NIR_HOOK_NONE && c->policy_drop;
		return;
	}
	k = ptr_push(&t->chains, &t->n_chains, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", c->name);
	k->hook = c->hook;
	k->prio = c->priority;
	k->nat = c->nat_type;
	k->drop = c->hook != NIR_HOOK_NONE && c->policy_drop;
}

static void msg_del_chain(struct ktable *t, const char *name)
{
	int i = kchain_idx(t, name);

	if (i < 0)
		fail("DELCHAIN %s: no such chain", name);
	if (t->chains[i]->n_rules)
		fail("DELCHAIN %s: has rules", name);
	for (int s = 0; s < t->n_sets; s++)
		for (int e = 0; t->sets[s]->vmap && e < t->sets[s]->n; e++)
			if (!strcmp(kelem_at(t->sets[s], e)->chain, name))
				fail("DELCHAIN %s: element of %s goes there", name,
				     t->sets[s]->name);
	kchain_free(t->chains[i]);
	ptr_drop(&t->chains, &t->n_chains, i);
}

/* The rule as nft text: nir_print of a table holding just this rule. */
static char *rule_text(const struct nir_table *t, const struct nir_chain *c,
		       const struct nir_rule *r)
{
	struct nir_chain ch = { .hook = NIR_HOOK_NONE, .n_rules = 1,
				.rules = (struct nir_rule *)r };
	struct nir_table tb = { .family = t->family, .n_chains = 1, .chains = &ch,
				.n_sets = t->n_sets };
	struct nir_ruleset rs = { .n_tables = 1, .tables = &tb };
	char *buf = NULL, *line, *end;
	size_t len = 0;
	FILE *f;

	snprintf(ch.name, sizeof(ch.name), "%s", c->name);
	tb.sets = calloc((size_t)t->n_sets + 1, sizeof(*tb.sets));
	if (!tb.sets)
		fail("out of memory");
	for (int i = 0; i < t->n_sets; i++) {
		tb.sets[i] = t->sets[i];
		tb.sets[i].n_elems = 0;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		fail("out of memory");
	nir_print(&rs, f);
	fclose(f);
	free(tb.sets);
	line = strstr(buf, "\tchain ");
	line = line ? strchr(line, '\n') : NULL;
	if (!line)
		fail("cannot print a rule of %s", c->name);
	line++;
	end = strstr(line, "\n\t}\n");
	if (end)
		end[1] = 0;
	memmove(buf, line, strlen(line) + 1);
	return buf;
}

/* What the kernel resolves when a rule is added. */
static void check_rule_refs(const struct ktable *kt, const struct nir_table *t,
			    const struct nir_rule *r)
{
	char type[512], name[80];

	for (int i = 0; i < r->n_stmts; i++) {
		const struct nir_stmt *s = &r->stmts[i];
		const struct nir_set *set;
		int c;

		switch (s->kind) {
		case NIR_LOOKUP:
			if (s->u.lookup.set < 0 || s->u.lookup.set >= t->n_sets)
				fail("lookup of set %d of %d", s->u.lookup.set, t->n_sets);
			set = &t->sets[s->u.lookup.set];
			set_type(set, type, sizeof(type));
			if (strcmp(kset_get(kt, set->name)->type, type))
				fail("lookup @%s: the kernel's set has another type", set->name);
			if (set->counters) {
				stats_name(set, name, sizeof(name));
				kset_get(kt, name);
			}
			break;
		case NIR_MAP_MARK:
		case NIR_SET_LOOKUP:
			kset_get(kt, s->u.map.set_name);
			break;
		case NIR_COUNTER:
			need_obj(kt, 'c', s->u.counter_name);
			break;
		case NIR_CT_HELPER:
			need_obj(kt, 'h', s->u.helper_name);
			break;
		case NIR_FLOW_OFFLOAD:
			need_obj(kt, 'f', s->u.flowtable);
			break;
		case NIR_VERDICT:
			if (s->u.verdict.code != NIR_JUMP && s->u.verdict.code != NIR_GOTO)
				break;
			c = kchain_idx(kt, s->u.verdict.chain);
			if (c < 0 || kt->chains[c]->hook != NIR_HOOK_NONE)
				fail("jump to %s: no such regular chain", s->u.verdict.chain);
			break;
		default:
			break;
		}
	}
}

static void msg_add_rule(struct ktable *kt, const struct nir_table *t,
			 const struct nir_chain *c, const struct nir_rule *r)
{
	int i = kchain_idx(kt, c->name);
	struct kchain *k;

	if (i < 0)
		fail("NEWRULE: no chain %s", c->name);
	check_rule_refs(kt, t, r);
	k = kt->chains[i];
	k->rules = realloc(k->rules, (size_t)(k->n_rules + 1) * sizeof(char *));
	if (!k->rules)
		fail("out of memory");
	k->rules[k->n_rules++] = rule_text(t, c, r);
}

static void helper_desc(const struct nir_helper *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%u", h->helper, h->l4proto);
}

static void flowtable_desc(const struct nir_flowtable *ft, char *buf, size_t len)
{
	int o = snprintf(buf, len, "%d %d", ft->priority, ft->hw);

	for (int i = 0; i < ft->n_devs && o < (int)len; i++)
		o += snprintf(buf + o, len - (size_t)o, " %s", ft->devs[i]);
}

/* ---- nft_update, message for message ---- */

static void take_apart(struct ktable *kt, const struct nir_table *o,
		       const struct nir_table_diff *td)
{
	char name[80];

	msg_del_rules(kt);
	for (int k = 0; k < o->n_sets; k++) {
		const struct nir_set *set = &o->sets[k];

		if (td->old_set_kept[k]) {
			set_elems(kt, set, td->old_elem_kept[k], false);
			if (set->counters)
				stats_elems(kt, set, td->old_elem_kept[k], false);
		} else {
			msg_del_set(kt, set->name);
			stats_name(set, name, sizeof(name));
			if (set->counters)
				msg_del_set(kt, name);
		}
	}
	for (int k = 0; k < o->n_maps; k++) {
		if (td->old_map_kept[k])
			map_elems(kt, &o->maps[k], td->old_map_elem_kept[k], false);
		else
			msg_del_set(kt, o->maps[k].name);
	}
	for (int k = 0; k < o->n_counters; k++)
		if (!td->old_counter_kept[k])
			msg_del_obj(kt, 'c', o->counters[k].name);
	for (int k = 0; k < o->n_helpers; k++)
		msg_del_obj(kt, 'h', o->helpers[k].name);
	for (int k = 0; k < o->n_flowtables; k++)
		msg_del_obj(kt, 'f', o->flowtables[k].name);
	for (int k = 0; k < o->n_chains; k++)
		if (!td->old_chain_kept[k])
			msg_del_chain(kt, o->chains[k].name);
}

static void fill(struct ktable *kt, const struct nir_table *o,
		 const struct nir_table *t, const struct nir_table_diff *td)
{
	char desc[64];

	for (int i = 0; i < t->n_counters; i++)
		if (td->counter_old[i] < 0)
			msg_new_obj(kt, 'c', t->counters[i].name, "counter");
	for (int i = 0; i < t->n_helpers; i++) {
		helper_desc(&t->helpers[i], desc, sizeof(desc));
		msg_new_obj(kt, 'h', t->helpers[i].name, desc);
	}
	for (int i = 0; i < t->n_maps; i++) {
		if (td->map_old[i] < 0)
			add_map(kt, &t->maps[i]);
		else
			map_elems(kt, &t->maps[i], td->map_elem_kept[i], true);
	}
	for (int i = 0; i < t->n_sets; i++) {
		const struct nir_set *set = &t->sets[i];

		if (td->set_old[i] < 0) {
			add_set(kt, set);
			continue;
		}
		if (!set->vmap)
			set_elems(kt, set, td->elem_kept[i], true);
		if (set->counters)
			stats_elems(kt, set, td->elem_kept[i], true);
	}
	for (int i = 0; i < t->n_flowtables; i++) {
		flowtable_desc(&t->flowtables[i], desc, sizeof(desc));
		msg_new_obj(kt, 'f', t->flowtables[i].name, desc);
	}
	for (int i = 0; i < t->n_chains; i++) {
		int k = td->chain_old[i];

		if (k < 0 || o->chains[k].policy_drop != t->chains[i].policy_drop)
			msg_new_chain(kt, &t->chains[i]);
	}
	for (int i = 0; i < t->n_sets; i++)
		if (t->sets[i].vmap)
			set_elems(kt, &t->sets[i], td->set_old[i] < 0 ? NULL : td->elem_kept[i],
				  true);
	for (int i = 0; i < t->n_chains; i++)
		for (int j = 0; j < t->chains[i].n_rules; j++)
			msg_add_rule(kt, t, &t->chains[i], &t->chains[i].rules[j]);
}

static void update(struct kernel *k, const struct nir_ruleset *old,
		   const struct nir_ruleset *rs, const struct nir_diff *d)
{
	for (int i = 0; i < d->n_old_tables; i++)
		if (!d->old_table_kept[i])
			msg_del_table(k, old->tables[i].family, old->tables[i].name);
	for (int i = 0; i < rs->n_tables; i++) {
		const struct nir_table *t = &rs->tables[i];
		const struct nir_table_diff *td = &d->tables[i];
		const struct nir_table *o = td->old >= 0 ? &old->tables[td->old] : NULL;

		if (o) {
			take_apart(ktable_get(k, t), o, td);
		} else {
			msg_new_table(k, t->family, t->name);
			msg_del_table(k, t->family, t->name);
			msg_new_table(k, t->family, t->name);
		}
		fill(ktable_get(k, t), o, t, td);
	}
}

/* ---- statistics and comparison ---- */

/* Packets went through every flow: each counting set's stats set has its
 * elements' keys, counted for their flows; counters have counts. */
static void traffic(struct kernel *k, const struct nir_ruleset *rs)
{
	char name[80];
	struct kelem e;

	for (int i = 0; i < k->n; i++)
		for (int o = 0; o < k->tables[i]->n_objs; o++)
			k->tables[i]->objs[o]->old_stats = true;
	for (int i = 0; i < rs->n_tables; i++) {
		const struct nir_table *t = &rs->tables[i];
		struct ktable *kt = ktable_get(k, t);

		for (int s = 0; s < t->n_sets; s++) {
			const struct nir_set *set = &t->sets[s];
			struct kset *ks;

			if (!set->counters)
				continue;
			stats_name(set, name, sizeof(name));
			ks = kset_get(kt, name);
			for (int x = 0; x < set->n_elems; x++) {
				set_kelem(set, &set->elems[x], &e);
				e.old_stats = true;
				if (kelem_idx(ks, e.key) < 0)
					msg_add_elem(kt, ks, &e);
			}
		}
	}
}

static bool flow_counted(const struct ktable *kt, const struct nir_table *t,
			 uint64_t id)
{
	char name[64], full[80];
	int i;

	brflow_counter_name(id, name, sizeof(name));
	obj_name(full, sizeof(full), 'c', name);
	i = kobj_idx(kt, full);
	if (i >= 0 && kt->objs[i]->old_stats)
		return true;
	for (int s = 0; s < t->n_sets; s++) {
		const struct nir_set *set = &t->sets[s];
		char sname[80];
		const struct kset *ks;

		if (!set->counters)
			continue;
		stats_name(set, sname, sizeof(sname));
		ks = kset_get(kt, sname);
		for (int x = 0; x < ks->n; x++)
			if (kelem_at(ks, x)->old_stats && kelem_at(ks, x)->data == id)
				return true;
	}
	return false;
}

static bool has_flow(const struct nir_table *t, uint64_t id)
{
	char name[64];

	brflow_counter_name(id, name, sizeof(name));
	if (nir_find_counter((struct nir_table *)t, name))
		return true;
	for (int s = 0; s < t->n_sets; s++)
		for (int x = 0; t->sets[s].counters && x < t->sets[s].n_elems; x++)
			if (t->sets[s].elems[x].flow_id == id)
				return true;
	return false;
}

/* Kept statistics belong to the flow whose element has the key; a flow
 * the old ruleset counted that lost its statistics needs a carry. */
static void check_stats(const struct kernel *k, const struct nir_ruleset *old,
			const struct nir_ruleset *rs, const struct nir_diff *d)
{
	for (int i = 0; i < rs->n_tables; i++) {
		const struct nir_table *t = &rs->tables[i];
		const struct ktable *kt = ktable_get(k, t);

		for (int s = 0; s < t->n_sets; s++) {
			const struct nir_set *set = &t->sets[s];
			char name[80];
			const struct kset *ks, *main;

			if (!set->counters)
				continue;
			stats_name(set, name, sizeof(name));
			ks = kset_get(kt, name);
			main = kset_get(kt, set->name);
			for (int x = 0; x < ks->n; x++) {
				const struct kelem *e = kelem_at(ks, x);
				int m = kelem_idx(main, e->key);

				if (m < 0 || kelem_at(main, m)->data != e->data)
					fail("set %s: statistics of flow %llu stay with "
					     "flow %llu", set->name,
					     (unsigned long long)e->data,
					     m < 0 ? 0ULL : (unsigned long long)kelem_at(main, m)->data);
			}
		}
		if (d->needs_carry)
			continue;
		for (int o = 0; o < old->n_tables; o++) {
			const struct nir_table *ot = &old->tables[o];

			if (ot->family != t->family || strcmp(ot->name, t->name))
				continue;
			for (uint64_t id = 1; id <= MAX_POOL; id++)
				if (has_flow(ot, id) && has_flow(t, id) &&
				    !flow_counted(kt, t, id))
					fail("flow %llu loses its statistics, no carry",
					     (unsigned long long)id);
		}
	}
}

static int kelem_cmp(const void *a, const void *b)
{
	return memcmp(((const struct kelem *)a)->key, ((const struct kelem *)b)->key,
		      NIR_SET_KEY_MAX);
}

/* The model as text, in a canonical order (sizes left out). */
static char *kernel_text(const struct kernel *k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		fail("out of memory");
	for (int i = 0; i < k->n; i++) {
		const struct ktable *t = k->tables[i];

		fprintf(f, "table %d %s\n", t->family, t->name);
		for (int c = 0; c < t->n_chains; c++) {
			const struct kchain *ch = t->chains[c];

			fprintf(f, " chain %s %d %d %d %d\n", ch->name, ch->hook, ch->prio,
				ch->nat, ch->drop);
			for (int r = 0; r < ch->n_rules; r++)
				fputs(ch->rules[r], f);
		}
		for (int s = 0; s < t->n_sets; s++) {
			struct kset *ks = t->sets[s];

			fprintf(f, " set %s %d %s\n", ks->name, ks->kind, ks->type);
			if (ks->kind == K_STATS)
				continue;
			if (ks->n > 1)
				qsort(ks->elems, (size_t)ks->n, sizeof(*ks->elems), kelem_cmp);
			for (int e = 0; e < ks->n; e++) {
				const struct kelem *ke = kelem_at(ks, e);
				/* a set without counters has one element per key
				 * whichever flows share it: its comment names the
				 * flow that came first, not compared */
				uint64_t data = ks->kind == K_SET && !ks->counting ? 0 : ke->data;

				fputs("  ", f);
				for (int b = 0; b < ks->key_len; b++)
					fprintf(f, "%02x", ke->key[b]);
				fprintf(f, " %s %llu\n", ke->chain, (unsigned long long)data);
			}
		}
		for (int o = 0; o < t->n_objs; o++)
			fprintf(f, " obj %s %s\n", t->objs[o]->name, t->objs[o]->desc);
	}
	fclose(f);
	return buf;
}

static int table_cmp(const void *a, const void *b)
{
	const struct ktable *x = *(struct ktable *const *)a, *y = *(struct ktable *const *)b;

	return x->family != y->family ? (int)x->family - (int)y->family :
	       strcmp(x->name, y->name);
}

static int chain_cmp(const void *a, const void *b)
{
	return strcmp((*(struct kchain *const *)a)->name, (*(struct kchain *const *)b)->name);
}

static int set_cmp(const void *a, const void *b)
{
	return strcmp((*(struct kset *const *)a)->name, (*(struct kset *const *)b)->name);
}

static int obj_cmp(const void *a, const void *b)
{
	return strcmp((*(struct kobj *const *)a)->name, (*(struct kobj *const *)b)->name);
}

/* qsort of n pointers (an empty array may be NULL). */
static void sort_ptrs(void *arr, int n, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(arr, (size_t)n, sizeof(void *), cmp);
}

static void kernel_sort(struct kernel *k)
{
	sort_ptrs(k->tables, k->n, table_cmp);
	for (int i = 0; i < k->n; i++) {
		struct ktable *t = k->tables[i];

		sort_ptrs(t->chains, t->n_chains, chain_cmp);
		sort_ptrs(t->sets, t->n_sets, set_cmp);
		sort_ptrs(t->objs, t->n_objs, obj_cmp);
	}
}

/* The model after the update equals a fresh load of 'rs'. */
static void check_same_as_fresh(struct kernel *k, struct nir_ruleset *rs)
{
	struct kernel fresh = { 0 };
	struct nir_diff d;
	char *a, *b;
	int *sizes, n = 0;

	/* nir_diff_build gives sets their fresh sizes: keep the kernel's */
	for (int t = 0; t < rs->n_tables; t++)
		n += rs->tables[t].n_sets;
	sizes = calloc((size_t)n + 1, sizeof(int));
	if (!sizes)
		fail("out of memory");
	n = 0;
	for (int t = 0; t < rs->n_tables; t++)
		for (int s = 0; s < rs->tables[t].n_sets; s++)
			sizes[n++] = rs->tables[t].sets[s].size;
	if (nir_diff_build(NULL, rs, &d))
		fail("out of memory");
	update(&fresh, NULL, rs, &d);
	nir_diff_free(&d);
	n = 0;
	for (int t = 0; t < rs->n_tables; t++)
		for (int s = 0; s < rs->tables[t].n_sets; s++)
			rs->tables[t].sets[s].size = sizes[n++];
	free(sizes);
	kernel_sort(k);
	kernel_sort(&fresh);
	a = kernel_text(k);
	b = kernel_text(&fresh);
	if (strcmp(a, b)) {
		fprintf(stderr, "--- after the update:\n%s--- a fresh load:\n%s", a, b);
		fail("the update does not give the new ruleset");
	}
	free(a);
	free(b);
	kernel_free(&fresh);
}

/* ---- the properties ---- */

static void check_self(const struct nir_ruleset *rs, struct nir_ruleset *again)
{
	struct nir_diff d;

	if (nir_diff_build(rs, again, &d))
		fail("out of memory");
	if (d.needs_carry)
		fail("an unchanged ruleset needs a carry");
	for (int i = 0; i < d.n_old_tables; i++)
		if (!d.old_table_kept[i])
			fail("an unchanged ruleset loses table %d", i);
	for (int i = 0; i < again->n_tables; i++) {
		const struct nir_table *t = &again->tables[i];
		const struct nir_table_diff *td = &d.tables[i];

		for (int c = 0; c < t->n_chains; c++)
			if (td->chain_old[c] < 0)
				fail("an unchanged ruleset loses chain %s", t->chains[c].name);
		for (int c = 0; c < t->n_counters; c++)
			if (td->counter_old[c] < 0)
				fail("an unchanged ruleset loses counter %s", t->counters[c].name);
		for (int m = 0; m < t->n_maps; m++)
			for (int e = 0; e < t->maps[m].n_elems; e++)
				if (td->map_old[m] < 0 || !td->map_elem_kept[m][e])
					fail("an unchanged ruleset loses map %s", t->maps[m].name);
		for (int s = 0; s < t->n_sets; s++) {
			if (td->set_old[s] < 0)
				fail("an unchanged ruleset loses set %s", t->sets[s].name);
			for (int e = 0; e < t->sets[s].n_elems; e++)
				if (!td->elem_kept[s][e])
					fail("an unchanged ruleset loses an element of %s",
					     t->sets[s].name);
		}
	}
	nir_diff_free(&d);
}

static int compile(struct flows *t, bool bridge_ct, int pl, struct nir_ruleset *rs,
		   struct compile_plan **plan)
{
	struct compile_input in = {
		.bridge = "br0", .n_ports = n_port_list[pl], .ports = port_lists[pl],
		.n_flows = t->n, .flows = t->cf, .has_bridge_ct = bridge_ct,
	};
	char *err;

	memset(rs, 0, sizeof(*rs));
	err = brflow_compile_plan(&in, rs, plan);
	if (err) {
		free(err);
		return -1;
	}
	return 0;
}

/* ---- brflowd's fast path (src/state.c, st_fast_update) ---- */

static const struct flow *flow_by_id(const struct flows *t, uint64_t id)
{
	for (int i = 0; i < t->n; i++)
		if (t->cf[i].id == id)
			return t->cf[i].flow;
	return NULL;
}

/* Flow i of 'from' is not in 'to' as it is (absent, or its actions
 * changed: mod-flows deletes and adds it under its id). */
static bool gone(const struct flows *from, int i, const struct flows *to)
{
	const struct flow *f = flow_by_id(to, from->cf[i].id);

	return !f || !flow_same_rule(f, from->cf[i].flow) ||
	       !flow_same_actions(f, from->cf[i].flow);
}

/* sets_have_room and touches_shared_key of src/state.c. */
static bool fast_ok(const struct nir_ruleset *rs, const struct set_change *ch, int n)
{
	for (int i = 0; i < n; i++) {
		const struct nir_set *set = &rs->tables[ch[i].table].sets[ch[i].set];
		int more = 0, same = 0;

		for (int k = 0; k < n; k++)
			if (ch[k].table == ch[i].table && ch[k].set == ch[i].set)
				more += ch[k].add ? 1 : -1;
		if (!nir_set_room(set, more))
			return false;
		for (int k = 0; !set->counters && k < set->n_elems; k++)
			same += !memcmp(set->elems[k].key, ch[i].elem.key, set->key_len);
		if (ch[i].add ? same > 0 : same > 1)
			return false;
	}
	return true;
}

/* nft_change_elems on the model, then apply_changes on 'loaded'. */
static void apply_fast(struct kernel *k, struct nir_ruleset *loaded,
		       const struct set_change *ch, int n)
{
	for (int i = 0; i < n; i++) {
		const struct nir_table *t = &loaded->tables[ch[i].table];
		const struct nir_set *set = &t->sets[ch[i].set];
		struct nir_set one = *set;
		struct ktable *kt = ktable_get(k, t);

		one.n_elems = 1;
		one.elems = (struct nir_set_elem *)&ch[i].elem;
		set_elems(kt, &one, NULL, ch[i].add);
		if (set->counters)
			stats_elems(kt, &one, NULL, ch[i].add);
	}
	for (int i = 0; i < n; i++) {
		struct nir_set *set = &loaded->tables[ch[i].table].sets[ch[i].set];
		struct nir_set_elem *e;

		if (ch[i].add) {
			e = nir_set_add_elem(set);
			if (!e)
				fail("out of memory");
			*e = ch[i].elem;
			continue;
		}
		for (int x = 0; x < set->n_elems; x++) {
			if (set->elems[x].flow_id != ch[i].elem.flow_id ||
			    memcmp(set->elems[x].key, ch[i].elem.key, set->key_len))
				continue;
			set->elems[x] = set->elems[--set->n_elems];
			break;
		}
	}
}

/* The change from flow table a to b as element changes, when the plan
 * can make it: true and applied, else false and nothing done. */
static bool fast_update(struct kernel *k, const struct compile_plan *plan,
			struct nir_ruleset *loaded, const struct flows *a,
			const struct flows *b)
{
	struct set_change *ch = NULL;
	int n = 0;
	bool ok = true;

	for (int i = 0; i < a->n && ok; i++)
		if (gone(a, i, b))
			ok = !compile_plan_change(plan, loaded, &a->cf[i], false, &ch, &n);
	for (int i = 0; i < b->n && ok; i++)
		if (gone(b, i, a))
			ok = !compile_plan_change(plan, loaded, &b->cf[i], true, &ch, &n);
	ok = ok && fast_ok(loaded, ch, n);
	if (ok)
		apply_fast(k, loaded, ch, n);
	free(ch);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flows tabs[3];
	struct nir_ruleset rs[3], again, *loaded;
	struct compile_plan *plan = NULL;
	struct kernel k = { 0 };
	struct nir_diff d;
	int n_pool, pl[3];
	bool bridge_ct;

	if (size < 1)
		return 0;
	bridge_ct = data[0] & 1;
	pl[0] = 0;
	pl[1] = data[0] >> 1 & 3;
	pl[2] = data[0] & 8 ? data[0] >> 4 & 3 : pl[1];
	n_pool = (int)((size - 1) / REC);
	if (n_pool > MAX_POOL)
		n_pool = MAX_POOL;
	for (int i = 0; i < 3; i++) {
		if (pick(data + 1, n_pool, i, &tabs[i]) ||
		    compile(&tabs[i], bridge_ct, pl[i], &rs[i], i ? NULL : &plan)) {
			for (int j = 0; j <= i; j++)
				flows_free(&tabs[j]);
			for (int j = 0; j < i; j++)
				nir_ruleset_free(&rs[j]);
			compile_plan_free(plan);
			return 0;
		}
	}
	for (int i = 0; i < 3 && getenv("FUZZ_DIFF_VERBOSE"); i++) {
		fprintf(stderr, "--- R%d:\n", i);
		nir_print(&rs[i], stderr);
	}
	/* the first load: nothing in the kernel */
	if (nir_diff_build(NULL, &rs[0], &d))
		fail("out of memory");
	update(&k, NULL, &rs[0], &d);
	nir_diff_free(&d);
	if (compile(&tabs[0], bridge_ct, pl[0], &again, NULL))
		fail("R0 compiles once only");
	check_self(&rs[0], &again);
	nir_ruleset_free(&again);
	loaded = &rs[0];
	for (int i = 1; i < 3; i++) {
		/* R0 -> R1 with the same ports: brflowd's fast path when the
		 * input asks and the plan can (loaded then follows the kernel) */
		if (i == 1 && (data[0] & 0x40) && pl[1] == pl[0] &&
		    fast_update(&k, plan, loaded, &tabs[0], &tabs[1])) {
			if (getenv("FUZZ_DIFF_VERBOSE"))
				fprintf(stderr, "R0 -> R1 by the fast path\n");
			/* the plan may leave a set of one element where a
			 * full compile has a plain rule: the kernel must
			 * hold what brflowd thinks it loaded */
			check_same_as_fresh(&k, loaded);
			continue;
		}
		traffic(&k, loaded);
		if (nir_diff_build(loaded, &rs[i], &d))
			fail("out of memory");
		update(&k, loaded, &rs[i], &d);
		check_stats(&k, loaded, &rs[i], &d);
		nir_diff_free(&d);
		check_same_as_fresh(&k, &rs[i]);
		loaded = &rs[i];
	}
	compile_plan_free(plan);
	kernel_free(&k);
	for (int i = 0; i < 3; i++) {
		nir_ruleset_free(&rs[i]);
		flows_free(&tabs[i]);
	}
	return 0;
}
