/* Building and printing the compiler's nftables IR (rules/nftir.h). */
#include "nftir.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Grows *arr (of *n elements of size sz) by one zeroed element. */
static void *grow(void *arrp, int *n, size_t sz)
{
	void **arr = arrp;
	char *p = realloc(*arr, (size_t)(*n + 1) * sz);

	if (!p)
		return NULL;
	*arr = p;
	memset(p + (size_t)*n * sz, 0, sz);
	return p + (size_t)(*n)++ * sz;
}

static void copy_name(char *dst, const char *src, size_t len)
{
	snprintf(dst, len, "%s", src);
}

struct nir_table *nir_add_table(struct nir_ruleset *rs, enum nir_family family,
				const char *name)
{
	struct nir_table *t = grow(&rs->tables, &rs->n_tables, sizeof(*t));

	if (!t)
		return NULL;
	t->family = family;
	copy_name(t->name, name, sizeof(t->name));
	return t;
}

struct nir_chain *nir_add_chain(struct nir_table *t, const char *name)
{
	struct nir_chain *c = grow(&t->chains, &t->n_chains, sizeof(*c));

	if (c)
		copy_name(c->name, name, sizeof(c->name));
	return c;
}

struct nir_rule *nir_add_rule(struct nir_chain *c)
{
	return grow(&c->rules, &c->n_rules, sizeof(struct nir_rule));
}

struct nir_stmt *nir_add_stmt(struct nir_rule *r, enum nir_stmt_kind kind)
{
	struct nir_stmt *s = grow(&r->stmts, &r->n_stmts, sizeof(*s));

	if (s)
		s->kind = kind;
	return s;
}

struct nir_map *nir_add_map(struct nir_table *t, const char *name)
{
	struct nir_map *m = grow(&t->maps, &t->n_maps, sizeof(*m));

	if (m)
		copy_name(m->name, name, sizeof(m->name));
	return m;
}

struct nir_flowtable *nir_add_flowtable(struct nir_table *t, const char *name)
{
	struct nir_flowtable *ft = grow(&t->flowtables, &t->n_flowtables, sizeof(*ft));

	if (ft)
		copy_name(ft->name, name, sizeof(ft->name));
	return ft;
}

int nir_flowtable_add_dev(struct nir_flowtable *ft, const char *ifname)
{
	char (*d)[16] = grow(&ft->devs, &ft->n_devs, sizeof(*d));

	if (!d)
		return -1;
	copy_name(*d, ifname, sizeof(*d));
	return 0;
}

int nir_map_add(struct nir_map *m, const char *ifname, uint32_t mark)
{
	struct nir_map_elem *e = grow(&m->elems, &m->n_elems, sizeof(*e));

	if (!e)
		return -1;
	strncpy(e->ifname, ifname, sizeof(e->ifname) - 1);
	e->mark = mark;
	return 0;
}

struct nir_counter *nir_add_counter(struct nir_table *t, const char *name)
{
	struct nir_counter *c = grow(&t->counters, &t->n_counters, sizeof(*c));

	if (c)
		copy_name(c->name, name, sizeof(c->name));
	return c;
}

struct nir_helper *nir_add_helper(struct nir_table *t, const char *name)
{
	struct nir_helper *h = grow(&t->helpers, &t->n_helpers, sizeof(*h));

	if (h)
		copy_name(h->name, name, sizeof(h->name));
	return h;
}

struct nir_limit *nir_add_limit(struct nir_table *t, const char *name)
{
	struct nir_limit *l = grow(&t->limits, &t->n_limits, sizeof(*l));

	if (l)
		copy_name(l->name, name, sizeof(l->name));
	return l;
}

struct nir_ct_timeout *nir_add_timeout(struct nir_table *t, const char *name)
{
	struct nir_ct_timeout *o = grow(&t->timeouts, &t->n_timeouts, sizeof(*o));

	if (o)
		copy_name(o->name, name, sizeof(o->name));
	return o;
}

struct nir_connlimit *nir_add_connlimit(struct nir_table *t, const char *name)
{
	struct nir_connlimit *o = grow(&t->connlimits, &t->n_connlimits, sizeof(*o));

	if (o)
		copy_name(o->name, name, sizeof(o->name));
	return o;
}

struct nir_set *nir_add_set(struct nir_table *t, const char *name)
{
	struct nir_set *s = grow(&t->sets, &t->n_sets, sizeof(*s));

	if (s)
		copy_name(s->name, name, sizeof(s->name));
	return s;
}

int nir_set_field_len(const struct nir_set_field *f)
{
	return (int)((f->src.len + 3) & ~3u);
}

int nir_set_add_field(struct nir_set *s, const struct nir_src *src,
		      const struct nir_value *mask)
{
	struct nir_set_field *f;

	if (s->n_fields >= NIR_SET_MAX_FIELDS || s->n_elems)
		return -1;
	f = &s->fields[s->n_fields];
	memset(f, 0, sizeof(*f));
	f->src = *src;
	if (mask) {
		f->masked = true;
		f->mask = *mask;
	}
	if (s->key_len + nir_set_field_len(f) > NIR_SET_KEY_MAX)
		return -1;
	s->key_len += nir_set_field_len(f);
	s->n_fields++;
	return 0;
}

/* Sets can hold 100 000 elements: grow by doubling. */
struct nir_set_elem *nir_set_add_elem(struct nir_set *s)
{
	struct nir_set_elem *e;

	if (s->n_elems == s->cap_elems) {
		int cap = s->cap_elems ? s->cap_elems * 2 : 16;

		e = realloc(s->elems, (size_t)cap * sizeof(*e));
		if (!e)
			return NULL;
		s->elems = e;
		s->cap_elems = cap;
	}
	e = &s->elems[s->n_elems++];
	memset(e, 0, sizeof(*e));
	return e;
}

struct nir_set *nir_find_set(struct nir_table *t, const char *name)
{
	for (int i = 0; i < t->n_sets; i++)
		if (!strcmp(t->sets[i].name, name))
			return &t->sets[i];
	return NULL;
}

struct nir_chain *nir_find_chain(struct nir_table *t, const char *name)
{
	for (int i = 0; i < t->n_chains; i++)
		if (!strcmp(t->chains[i].name, name))
			return &t->chains[i];
	return NULL;
}

struct nir_counter *nir_find_counter(struct nir_table *t, const char *name)
{
	for (int i = 0; i < t->n_counters; i++)
		if (!strcmp(t->counters[i].name, name))
			return &t->counters[i];
	return NULL;
}

static void free_chain_rules(struct nir_chain *ch)
{
	for (int r = 0; r < ch->n_rules; r++) {
		free(ch->rules[r].stmts);
		free(ch->rules[r].comment);
	}
	free(ch->rules);
}

/* Closes the gap elements i..i+k-1 of *arr (of *n elements of size sz)
 * leave. */
static void drop_slots(void *arr, int *n, int i, int k, size_t sz)
{
	char *p = arr;

	memmove(p + (size_t)i * sz, p + (size_t)(i + k) * sz, (size_t)(*n - i - k) * sz);
	*n -= k;
}

static void drop_slot(void *arr, int *n, int i, size_t sz)
{
	drop_slots(arr, n, i, 1, sz);
}

void nir_remove_rules(struct nir_chain *c, int i, int k)
{
	for (int r = i; r < i + k; r++) {
		free(c->rules[r].stmts);
		free(c->rules[r].comment);
	}
	drop_slots(c->rules, &c->n_rules, i, k, sizeof(*c->rules));
}

int nir_copy_stmts(struct nir_rule *r, const struct nir_stmt *src, int n)
{
	r->stmts = malloc((n + 1) * sizeof(*r->stmts));
	if (!r->stmts)
		return -1;
	if (n)
		memcpy(r->stmts, src, n * sizeof(*src));
	r->n_stmts = n;
	return 0;
}

void nir_remove_rule(struct nir_chain *c, int i)
{
	nir_remove_rules(c, i, 1);
}

void nir_remove_chain(struct nir_table *t, int i)
{
	free_chain_rules(&t->chains[i]);
	drop_slot(t->chains, &t->n_chains, i, sizeof(*t->chains));
}

int nir_move_chain(struct nir_table *from, int i, struct nir_table *to)
{
	struct nir_chain *c = grow(&to->chains, &to->n_chains, sizeof(*c));

	if (!c)
		return -1;
	*c = from->chains[i];
	drop_slot(from->chains, &from->n_chains, i, sizeof(*from->chains));
	return 0;
}

void nir_ruleset_free(struct nir_ruleset *rs)
{
	for (int t = 0; t < rs->n_tables; t++) {
		struct nir_table *tb = &rs->tables[t];

		for (int c = 0; c < tb->n_chains; c++)
			free_chain_rules(&tb->chains[c]);
		for (int m = 0; m < tb->n_maps; m++)
			free(tb->maps[m].elems);
		for (int m = 0; m < tb->n_sets; m++)
			free(tb->sets[m].elems);
		free(tb->sets);
		for (int f = 0; f < tb->n_flowtables; f++)
			free(tb->flowtables[f].devs);
		free(tb->flowtables);
		free(tb->chains);
		free(tb->maps);
		free(tb->counters);
		free(tb->helpers);
		free(tb->limits);
		free(tb->timeouts);
		free(tb->connlimits);
	}
	free(rs->tables);
	memset(rs, 0, sizeof(*rs));
}

const char *nir_family_name(enum nir_family f)
{
	return f == NIR_BRIDGE ? "bridge" : f == NIR_IP6 ? "ip6" : "inet";
}

const char *nir_hook_name(enum nir_hook h)
{
	static const char *const names[] = {
		[NIR_HOOK_NONE] = "", [NIR_HOOK_PREROUTING] = "prerouting",
		[NIR_HOOK_FORWARD] = "forward", [NIR_HOOK_INPUT] = "input",
		[NIR_HOOK_OUTPUT] = "output", [NIR_HOOK_POSTROUTING] = "postrouting",
	};
	return names[h];
}

/* ---- printing ---- */

static uint32_t host_uint(const struct nir_value *v)
{
	uint32_t x = 0;

	if (v->len == 1)
		return v->data[0];
	if (v->len == 2) {
		uint16_t s;

		memcpy(&s, v->data, 2);
		return s;
	}
	memcpy(&x, v->data, v->len < 4 ? v->len : 4);
	return x;
}

static uint32_t net_uint(const struct nir_value *v)
{
	uint32_t x = 0;

	for (int i = 0; i < v->len && i < 4; i++)
		x = x << 8 | v->data[i];
	return x;
}

static void print_ctstate(uint32_t bits, FILE *out)
{
	static const char *const names[] = { "invalid", "established", "related",
					      "new", "untracked" };
	/* NF_CT_STATE_INVALID_BIT is 1; established/related/new are
	 * 1 << (IP_CT_x + 1); untracked is 1 << 6. */
	static const uint32_t bit[] = { 1, 2, 4, 8, 64 };
	const char *sep = "";

	for (int i = 0; i < 5; i++) {
		if (bits & bit[i]) {
			fprintf(out, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
}

static void print_value(const struct nir_src *src, const struct nir_value *v,
			bool is_mask, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];
	enum nir_fmt fmt = src->fmt;

	if (is_mask && (fmt == NIR_FMT_CTSTATE || fmt == NIR_FMT_DEC))
		fmt = NIR_FMT_HEX;
	switch (fmt) {
	case NIR_FMT_HEX:
		if (v->len > 4) {
			fputs("0x", out);
			for (int i = 0; i < v->len; i++)
				fprintf(out, "%02x", v->data[i]);
		} else {
			/* as NIR_FMT_DEC: payload and tuple in network order */
			uint32_t x = src->kind == NIR_SRC_PAYLOAD || src->ct_dir ?
				net_uint(v) : host_uint(v);
			fprintf(out, "0x%0*x", v->len * 2, x);
		}
		break;
	case NIR_FMT_DEC:
		/* payload and conntrack tuple fields are in network order */
		fprintf(out, "%u", src->kind == NIR_SRC_PAYLOAD || src->ct_dir ?
			net_uint(v) : host_uint(v));
		break;
	case NIR_FMT_IPV4:
		fputs(inet_ntop(AF_INET, v->data, buf, sizeof(buf)), out);
		break;
	case NIR_FMT_IPV6:
		fputs(inet_ntop(AF_INET6, v->data, buf, sizeof(buf)), out);
		break;
	case NIR_FMT_MAC:
		for (int i = 0; i < 6; i++)
			fprintf(out, "%s%02x", i ? ":" : "", v->data[i]);
		break;
	case NIR_FMT_IFNAME:
		fprintf(out, "\"%.*s\"", (int)strnlen((const char *)v->data,
						      v->len), v->data);
		break;
	case NIR_FMT_CTSTATE:
		print_ctstate(host_uint(v), out);
		break;
	case NIR_FMT_CTDIR:
		fputs(v->data[0] ? "reply" : "original", out);
		break;
	case NIR_FMT_ETHERTYPE:
		fprintf(out, "0x%04x", net_uint(v));
		break;
	case NIR_FMT_LABEL:
		fputs("0x", out);
		for (int i = 15; i >= 0; i--)
			fprintf(out, "%02x", v->data[i]);
		break;
	}
}

static void print_match(const struct nir_stmt *s, FILE *out)
{
	const struct nir_src *src = &s->u.match.src;

	if (src->kind == NIR_SRC_SYMHASH)
		fprintf(out, "symhash mod %u", src->key);
	else
		fputs(src->name, out);
	if (s->u.match.less) {
		fprintf(out, " < %u", host_uint(&s->u.match.value));
		return;
	}
	/* "ct state new" reads better than "ct state & 0x8 == new". */
	if (src->fmt == NIR_FMT_CTSTATE && s->u.match.has_mask &&
	    !memcmp(s->u.match.mask.data, s->u.match.value.data, 4)) {
		fputs(s->u.match.negate ? " != " : " ", out);
		print_value(src, &s->u.match.value, false, out);
		return;
	}
	if (s->u.match.has_mask) {
		fputs(" & ", out);
		print_value(src, &s->u.match.mask, true, out);
		fputs(s->u.match.negate ? " != " : " == ", out);
	} else if (s->u.match.negate) {
		fputs(" != ", out);
	} else {
		fputc(' ', out);
	}
	print_value(src, &s->u.match.value, false, out);
}

/* "ip saddr & 255.255.255.0 . tcp dport" */
static void print_set_key(const struct nir_set *set, FILE *out)
{
	for (int i = 0; i < set->n_fields; i++) {
		const struct nir_set_field *f = &set->fields[i];

		fprintf(out, "%s%s", i ? " . " : "", f->src.name);
		if (f->masked) {
			fputs(" & ", out);
			print_value(&f->src, &f->mask, true, out);
		}
	}
}

static void print_set_elem(const struct nir_set *set,
			   const struct nir_set_elem *e, FILE *out)
{
	int off = 0;

	for (int i = 0; i < set->n_fields; i++) {
		const struct nir_set_field *f = &set->fields[i];
		struct nir_value v = { .len = (uint8_t)f->src.len };

		memcpy(v.data, e->key + off, f->src.len);
		fputs(i ? " . " : "", out);
		print_value(&f->src, &v, false, out);
		off += nir_set_field_len(f);
	}
	if (set->vmap)
		fprintf(out, " : %s %s", set->jump ? "jump" : "goto", e->chain);
	else if (e->flow_id)
		fprintf(out, " (f%llu)", (unsigned long long)e->flow_id);
}

/* Element lines are sorted by nothing but insertion: the compiler adds
 * them in flow order, so golden files stay stable. */
static void print_set(const struct nir_set *set, FILE *out)
{
	fprintf(out, "\tset %s {\n\t\ttype ", set->name);
	print_set_key(set, out);
	fputs(set->vmap ? " : verdict\n" : "\n", out);
	if (set->size)
		fprintf(out, "\t\tsize %d\n", set->size);
	if (set->n_elems) {
		fputs("\t\telements = { ", out);
		for (int i = 0; i < set->n_elems; i++) {
			fputs(i ? ",\n\t\t\t     " : "", out);
			print_set_elem(set, &set->elems[i], out);
		}
		fputs(" }\n", out);
	}
	fputs("\t}\n", out);
	if (!set->counters)
		return;
	/* the flows' statistics, filled by the lookup rule (nftir.h) */
	fprintf(out, "\tset %s%s {\n\t\ttype ", set->name, NIR_STATS_SUFFIX);
	print_set_key(set, out);
	fputs("\n", out);
	if (set->size)
		fprintf(out, "\t\tsize %d\n", set->size);
	fputs("\t\tflags dynamic\n\t\tcounter\n\t}\n", out);
}

static void print_mark_set(const struct nir_stmt *s, FILE *out)
{
	const char *name = s->u.mark.target == NIR_CT_MARK ? "ct mark" : "meta mark";

	/* a tc handle, major:minor in hex, as nft and tc write it */
	if (s->u.mark.target == NIR_META_PRIORITY)
		fprintf(out, "meta priority set %x:%x", s->u.mark.or_value >> 16,
			s->u.mark.or_value & 0xffff);
	else if (s->u.mark.and_mask == 0)
		fprintf(out, "%s set 0x%08x", name, s->u.mark.or_value);
	else
		fprintf(out, "%s set %s & 0x%08x | 0x%08x", name, name,
			s->u.mark.and_mask, s->u.mark.or_value);
}

static void print_label_set(const struct nir_stmt *s, FILE *out)
{
	const char *sep = "";

	/* nft sets one label bit per statement. */
	for (int bit = 0; bit < 128; bit++) {
		if (s->u.label[bit / 8] & (1u << (bit % 8))) {
			fprintf(out, "%sct label set %d", sep, bit);
			sep = " ";
		}
	}
}

static void print_nat(const struct nir_stmt *s, FILE *out)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	int af = s->u.nat.family == 6 ? AF_INET6 : AF_INET;
	bool v6 = s->u.nat.family == 6;

	inet_ntop(af, s->u.nat.addr_min, lo, sizeof(lo));
	inet_ntop(af, s->u.nat.addr_max, hi, sizeof(hi));
	fprintf(out, "%s %s to %s%s%s", s->u.nat.snat ? "snat" : "dnat",
		v6 ? "ip6" : "ip", v6 && s->u.nat.port_min ? "[" : "", lo,
		v6 && s->u.nat.port_min ? "]" : "");
	if (strcmp(lo, hi))
		fprintf(out, "-%s%s%s", v6 && s->u.nat.port_min ? "[" : "", hi,
			v6 && s->u.nat.port_min ? "]" : "");
	if (s->u.nat.port_min) {
		fprintf(out, ":%u", s->u.nat.port_min);
		if (s->u.nat.port_max != s->u.nat.port_min)
			fprintf(out, "-%u", s->u.nat.port_max);
	}
	if (s->u.nat.flags & 0x04)      /* NF_NAT_RANGE_PROTO_RANDOM */
		fputs(" random", out);
	if (s->u.nat.flags & 0x10)      /* NF_NAT_RANGE_PROTO_RANDOM_FULLY */
		fputs(" fully-random", out);
	if (s->u.nat.flags & 0x08)      /* NF_NAT_RANGE_PERSISTENT */
		fputs(" persistent", out);
}

static void print_stmt(const struct nir_table *t, const struct nir_stmt *s,
		       FILE *out)
{
	static const char *const verdicts[] = { "accept", "drop", "return",
						"jump", "goto" };

	switch (s->kind) {
	case NIR_MATCH:
		print_match(s, out);
		break;
	case NIR_MARK_SET:
		print_mark_set(s, out);
		break;
	case NIR_CT_ZONE_SET:
		fprintf(out, "ct zone set %u", s->u.zone);
		break;
	case NIR_CT_LABEL_SET:
		print_label_set(s, out);
		break;
	case NIR_MAP_MARK:
		fprintf(out, "meta mark set %s map @%s", s->u.map.src.name,
			s->u.map.set_name);
		break;
	case NIR_FLOW_OFFLOAD:
		fprintf(out, "flow add @%s", s->u.flowtable);
		break;
	case NIR_SET_LOOKUP:
		fprintf(out, "%s %s@%s", s->u.map.src.name, s->u.map.negate ? "!= " : "",
			s->u.map.set_name);
		break;
	case NIR_COUNTER:
		fprintf(out, "counter name \"%s\"", s->u.counter_name);
		break;
	case NIR_NOTRACK:
		fputs("notrack", out);
		break;
	case NIR_NAT:
		print_nat(s, out);
		break;
	case NIR_PAYLOAD_SET:
		fprintf(out, "%s set ", s->u.set.dst.name);
		if (s->u.set.keep.len) {
			fprintf(out, "%s & ", s->u.set.dst.name);
			print_value(&s->u.set.dst, &s->u.set.keep, true, out);
			fputs(" | ", out);
		}
		print_value(&s->u.set.dst, &s->u.set.value, false, out);
		break;
	case NIR_CT_HELPER:
		fprintf(out, "ct helper set \"%s\"", s->u.helper_name);
		break;
	case NIR_LIMIT:
		fprintf(out, "limit name \"%s\"", s->u.limit_name);
		break;
	case NIR_CT_TIMEOUT:
		fprintf(out, "ct timeout set \"%s\"", s->u.timeout_name);
		break;
	case NIR_CONN_COUNT:
		fprintf(out, "add @%s { ct zone }", s->u.connlimit_name);
		break;
	case NIR_QUEUE:
		fprintf(out, "queue num %u", s->u.queue.num);
		if (s->u.queue.total > 1)
			fprintf(out, "-%u", (unsigned)s->u.queue.num + s->u.queue.total - 1);
		if (s->u.queue.bypass || s->u.queue.fanout)
			fprintf(out, " %s%s%s", s->u.queue.bypass ? "bypass" : "",
				s->u.queue.bypass && s->u.queue.fanout ? "," : "",
				s->u.queue.fanout ? "fanout" : "");
		break;
	case NIR_LOOKUP: {
		const struct nir_set *set = &t->sets[s->u.lookup.set];

		print_set_key(set, out);
		fprintf(out, " %s@%s", set->vmap ? "vmap " : "", set->name);
		if (set->counters) {
			fprintf(out, " update @%s%s { ", set->name, NIR_STATS_SUFFIX);
			print_set_key(set, out);
			fputs(" }", out);
		}
		break;
	}
	case NIR_VERDICT:
		fputs(verdicts[s->u.verdict.code], out);
		if (s->u.verdict.code == NIR_JUMP || s->u.verdict.code == NIR_GOTO)
			fprintf(out, " %s", s->u.verdict.chain);
		break;
	}
}

static void print_rule(const struct nir_table *t, const struct nir_rule *r,
		       FILE *out)
{
	fputs("\t\t", out);
	for (int i = 0; i < r->n_stmts; i++) {
		if (i)
			fputc(' ', out);
		print_stmt(t, &r->stmts[i], out);
	}
	if (r->comment)
		fprintf(out, " comment \"%s\"", r->comment);
	fputc('\n', out);
}

static void print_chain(const struct nir_table *t, const struct nir_chain *c,
			FILE *out)
{
	fprintf(out, "\tchain %s {\n", c->name);
	if (c->hook != NIR_HOOK_NONE)
		fprintf(out, "\t\ttype %s hook %s priority %d; policy %s;\n",
			c->nat_type ? "nat" : "filter", nir_hook_name(c->hook),
			c->priority, c->policy_drop ? "drop" : "accept");
	for (int i = 0; i < c->n_rules; i++)
		print_rule(t, &c->rules[i], out);
	fputs("\t}\n", out);
}

static void print_map(const struct nir_map *m, FILE *out)
{
	fprintf(out, "\t%s %s {\n\t\ttype ifname%s\n", m->is_set ? "set" : "map",
		m->name, m->is_set ? "" : " : mark");
	if (m->n_elems) {
		fputs("\t\telements = { ", out);
		for (int i = 0; i < m->n_elems; i++) {
			fprintf(out, "%s\"%s\"", i ? ", " : "", m->elems[i].ifname);
			if (!m->is_set)
				fprintf(out, " : 0x%08x", m->elems[i].mark);
		}
		fputs(" }\n", out);
	}
	fputs("\t}\n", out);
}

/* nft's syntax: "10/second" for packets, "1250 bytes/second" for bytes. */
static void print_limit(const struct nir_limit *l, FILE *out)
{
	const char *unit = l->bytes ? "bytes" : "packets";

	fprintf(out, "\tlimit %s {\n\t\trate over %llu%s/second burst %u %s\n\t}\n",
		l->name, (unsigned long long)l->rate, l->bytes ? " bytes" : "",
		l->burst, unit);
}

static void print_flowtable(const struct nir_flowtable *ft, FILE *out)
{
	fprintf(out, "\tflowtable %s {\n\t\thook ingress priority %d\n\t\tdevices = { ",
		ft->name, ft->priority);
	for (int i = 0; i < ft->n_devs; i++)
		fprintf(out, "%s%s", i ? ", " : "", ft->devs[i]);
	fprintf(out, " }\n%s\t}\n", ft->hw ? "\t\tflags offload\n" : "");
}

/* As nft lists it, with the state names nft uses. */
static void print_timeout(const struct nir_ct_timeout *o, FILE *out)
{
	static const char *const tcp[NIR_TIMEOUT_VALUES] = {
		"syn_sent", "syn_recv", "established", "fin_wait", "close_wait",
		"last_ack", "time_wait", "close", "syn_sent2", "retrans", "unack",
	};
	static const char *const udp[] = { "unreplied", "replied" };
	int n = o->l4proto == 6 ? NIR_TIMEOUT_VALUES : 2;

	fprintf(out, "\tct timeout %s {\n\t\tprotocol %s\n\t\tpolicy = { ", o->name,
		o->l4proto == 6 ? "tcp" : "udp");
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%s : %u", i ? ", " : "", o->l4proto == 6 ? tcp[i] : udp[i],
			o->values[i]);
	fputs(" }\n\t}\n", out);
}

void nir_print(const struct nir_ruleset *rs, FILE *out)
{
	for (int t = 0; t < rs->n_tables; t++) {
		const struct nir_table *tb = &rs->tables[t];

		fprintf(out, "%stable %s %s {\n", t ? "\n" : "",
			nir_family_name(tb->family), tb->name);
		for (int i = 0; i < tb->n_counters; i++)
			fprintf(out, "\tcounter %s {\n\t}\n", tb->counters[i].name);
		for (int i = 0; i < tb->n_helpers; i++)
			fprintf(out, "\tct helper %s {\n\t\ttype \"%s\" protocol %s\n\t}\n",
				tb->helpers[i].name, tb->helpers[i].helper,
				tb->helpers[i].l4proto == 6 ? "tcp" : "udp");
		for (int i = 0; i < tb->n_limits; i++)
			print_limit(&tb->limits[i], out);
		for (int i = 0; i < tb->n_timeouts; i++)
			print_timeout(&tb->timeouts[i], out);
		for (int i = 0; i < tb->n_connlimits; i++)
			fprintf(out, "\tset %s {\n\t\ttype integer\n\t\tsize 4\n"
				"\t\tflags dynamic\n\t\tct count over %u\n\t}\n",
				tb->connlimits[i].name, tb->connlimits[i].limit);
		for (int i = 0; i < tb->n_maps; i++)
			print_map(&tb->maps[i], out);
		for (int i = 0; i < tb->n_sets; i++)
			print_set(&tb->sets[i], out);
		for (int i = 0; i < tb->n_flowtables; i++)
			print_flowtable(&tb->flowtables[i], out);
		for (int i = 0; i < tb->n_chains; i++)
			print_chain(tb, &tb->chains[i], out);
		fputs("}\n", out);
	}
}
