/* OpenFlow groups in ovs-ofctl add-group syntax (group.h).  The text before
 * the first "bucket=" holds the group's own keys; each "bucket=" starts a
 * bucket, whose leading bucket_id:/weight: items are the bucket's and whose
 * rest is its action list, parsed by flow_parse as an "actions=" line. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "group.h"

#define GROUP_ID_MAX 0xffffff00u  /* OFPG_MAX */
#define BUCKET_ID_MAX 0xffffff00u /* OFPG15_BUCKET_MAX */
#define ACTIONS_KW "actions="

struct gtok {
	size_t off, len;
};

/* One key[=:(]value item of the group text. */
struct gkv {
	struct gtok key, val;
	char delim; /* '=', ':', '(' or 0 */
};

struct gparser {
	const char *s;
	size_t len;
	char *err;
};

static const char *const type_names[] = {
	[GROUP_SELECT] = "select",
	[GROUP_ALL] = "all",
	[GROUP_INDIRECT] = "indirect",
	[GROUP_FF] = "ff",
};

/* Records the first error, "... at column N"; returns -1. */
#define gfail(p, ...) flow_fail_at(&(p)->err, __VA_ARGS__)

#define GTOKF "%.*s%s"
#define GTOKA(p, t) (int)((t).len > 64 ? 64 : (t).len), (p)->s + (t).off, \
	(t).len > 64 ? "..." : ""

static bool is_gsep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool gtok_is(const struct gparser *p, struct gtok t, const char *w)
{
	return t.len == strlen(w) && !strncasecmp(p->s + t.off, w, t.len);
}

/* Moves *i past a balanced "(...)" starting at '('; false if unbalanced. */
static bool skip_group_parens(const struct gparser *p, size_t *i, size_t end)
{
	int depth = 0;

	for (; *i < end; (*i)++) {
		if (p->s[*i] == '(')
			depth++;
		else if (p->s[*i] == ')' && --depth == 0) {
			(*i)++;
			return true;
		}
	}
	return false;
}

/* Splits the next item of [*pos, end): 1 with kv, 0 at the end, -1. */
static int next_gkv(struct gparser *p, size_t *pos, size_t end, struct gkv *kv)
{
	size_t i = *pos, start;

	while (i < end && is_gsep(p->s[i]))
		i++;
	if (i >= end)
		return 0;
	memset(kv, 0, sizeof(*kv));
	start = i;
	while (i < end && !is_gsep(p->s[i]) && !strchr(":=()", p->s[i]))
		i++;
	kv->key = (struct gtok){ start, i - start };
	if (!kv->key.len)
		return gfail(p, start, "missing name before '%c'", p->s[start]);
	kv->delim = i < end && strchr(":=(", p->s[i]) ? p->s[i] : 0;
	if (kv->delim == '(') {
		size_t open = i;

		if (!skip_group_parens(p, &i, end))
			return gfail(p, open, "unbalanced parentheses in '" GTOKF "'",
				     GTOKA(p, ((struct gtok){ start, end - start })));
		kv->val = (struct gtok){ open + 1, i - open - 2 };
	} else if (kv->delim) {
		size_t v = ++i;

		while (i < end && !is_gsep(p->s[i])) {
			if (p->s[i] == '(' && !skip_group_parens(p, &i, end))
				return gfail(p, v, "unbalanced parentheses in '" GTOKF "'",
					     GTOKA(p, ((struct gtok){ start, end - start })));
			else if (p->s[i] != '(')
				i++;
		}
		kv->val = (struct gtok){ v, i - v };
	} else {
		kv->val = (struct gtok){ i, 0 };
	}
	*pos = i;
	return 1;
}

/* Decimal or 0x-hex number up to 'max'. */
static int parse_gnum(struct gparser *p, struct gtok t, uint64_t max,
		      const char *what, uint64_t *out)
{
	char buf[32], *end;

	if (!t.len)
		return gfail(p, t.off, "missing value for %s", what);
	if (t.len >= sizeof(buf) || p->s[t.off] == '-' || p->s[t.off] == '+')
		return gfail(p, t.off, "invalid %s '" GTOKF "'", what, GTOKA(p, t));
	memcpy(buf, p->s + t.off, t.len);
	buf[t.len] = '\0';
	*out = strtoull(buf, &end, 0);
	if (*end || !isdigit((unsigned char)buf[0]))
		return gfail(p, t.off, "invalid %s '" GTOKF "'", what, GTOKA(p, t));
	if (*out > max)
		return gfail(p, t.off, "%s '" GTOKF "' out of range (max %llu)",
			     what, GTOKA(p, t), (unsigned long long)max);
	return 0;
}

/* ---- the group's own keys ---- */

/* What the text before the first bucket may hold. */
enum head_kind {
	HEAD_GROUP,      /* add-group: group_id, type and the selection keys */
	HEAD_ID_ONLY,    /* del-groups, dump-groups patterns: group_id */
	HEAD_BUCKET_CMD, /* insert-buckets, remove-buckets: group_id, command_bucket_id */
};

struct ghead {
	enum head_kind kind;
	bool have_id, have_type, have_method;
	size_t fields_off;
	bool have_fields, have_param;
	bool have_command_bucket;
	size_t command_bucket_off;
	uint32_t command_bucket_id;
};

static int parse_type(struct gparser *p, struct gtok v, struct ofgroup *g)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (gtok_is(p, v, type_names[i])) {
			g->type = i;
			return 0;
		}
	}
	if (gtok_is(p, v, "fast_failover")) {
		g->type = GROUP_FF;
		return 0;
	}
	return gfail(p, v.off, "invalid group type '" GTOKF "'", GTOKA(p, v));
}

/* selection_method= and fields are accepted for OVS compatibility and
 * ignored: brflow always hashes the connection's addresses and ports. */
static int parse_method(struct gparser *p, struct gtok v)
{
	if (gtok_is(p, v, "hash") || gtok_is(p, v, "dp_hash"))
		return 0;
	return gfail(p, v.off, "invalid selection_method '" GTOKF "'", GTOKA(p, v));
}

/* command_bucket_id=first|last|all|ID (OFPG15_BUCKET_* or a bucket id). */
static int parse_command_bucket(struct gparser *p, struct gtok v, struct ghead *h)
{
	uint64_t id;

	h->have_command_bucket = true;
	h->command_bucket_off = v.off;
	if (gtok_is(p, v, "first"))
		h->command_bucket_id = BUCKET_CMD_FIRST;
	else if (gtok_is(p, v, "last"))
		h->command_bucket_id = BUCKET_CMD_LAST;
	else if (gtok_is(p, v, "all"))
		h->command_bucket_id = BUCKET_CMD_ALL;
	else if (parse_gnum(p, v, BUCKET_ID_MAX, "command_bucket_id", &id))
		return -1;
	else
		h->command_bucket_id = id;
	return 0;
}

static int parse_head_kv(struct gparser *p, const struct gkv *kv,
			 struct ofgroup *g, struct ghead *h)
{
	uint64_t v;

	if (gtok_is(p, kv->key, "group_id")) {
		if (parse_gnum(p, kv->val, GROUP_ID_MAX, "group_id", &v))
			return -1;
		g->group_id = v;
		h->have_id = true;
		return 0;
	}
	if (h->kind == HEAD_BUCKET_CMD && gtok_is(p, kv->key, "command_bucket_id"))
		return parse_command_bucket(p, kv->val, h);
	if (h->kind != HEAD_GROUP)
		return gfail(p, kv->key.off, "'" GTOKF "' is not needed",
			     GTOKA(p, kv->key));
	if (gtok_is(p, kv->key, "type")) {
		h->have_type = true;
		return parse_type(p, kv->val, g);
	}
	if (gtok_is(p, kv->key, "selection_method")) {
		h->have_method = true;
		return parse_method(p, kv->val);
	}
	if (gtok_is(p, kv->key, "selection_method_param")) {
		h->have_param = true;
		return parse_gnum(p, kv->val, UINT64_MAX, "selection_method_param", &v);
	}
	if (gtok_is(p, kv->key, "fields")) {
		h->have_fields = true;
		h->fields_off = kv->key.off;
		return 0;
	}
	return gfail(p, kv->key.off, "unknown keyword '" GTOKF "'",
		     GTOKA(p, kv->key));
}

static int parse_head(struct gparser *p, size_t end, struct ofgroup *g,
		      struct ghead *h)
{
	size_t pos = 0;
	struct gkv kv;
	int r;

	while ((r = next_gkv(p, &pos, end, &kv)) > 0)
		if (parse_head_kv(p, &kv, g, h))
			return -1;
	if (r < 0)
		return -1;
	if (!h->have_id)
		return gfail(p, end, "must specify a group_id");
	if (h->kind == HEAD_GROUP && !h->have_type)
		return gfail(p, end, "must specify a type");
	if (h->have_fields && !h->have_method)
		return gfail(p, h->fields_off, "fields may only be specified with "
			     "selection_method=hash");
	if (h->have_param && !h->have_method)
		return gfail(p, end, "selection_method_param is only allowed with "
			     "selection_method");
	return 0;
}

/* ---- buckets ---- */

/* Offset of the next "bucket=" at or after 'from' that starts an item, or
 * p->len. */
static size_t find_bucket(const struct gparser *p, size_t from)
{
	const char *s = p->s;

	for (const char *b = strstr(s + from, "bucket="); b;
	     b = strstr(b + 1, "bucket=")) {
		if (b == s || is_gsep(b[-1]))
			return b - s;
	}
	return p->len;
}

/* flow_parse's "... at column N" counts from the synthetic "actions=" line;
 * rewrites N to the column in the group text. */
static char *shift_column(char *err, size_t text_off)
{
	static const char marker[] = " at column ";
	char *at = NULL, *e;
	unsigned long col;

	for (char *s = strstr(err, marker); s; s = strstr(s + 1, marker))
		at = s;
	if (!at)
		return err;
	col = strtoul(at + strlen(marker), NULL, 10);
	if (col > strlen(ACTIONS_KW))
		col = col - strlen(ACTIONS_KW) + text_off;
	else
		col = text_off + 1;
	*at = '\0';
	if (asprintf(&e, "%s%s%lu", err, marker, col) < 0)
		e = NULL;
	free(err);
	return e ? e : strdup("out of memory");
}

/* Parses [off, off + len) as the bucket's action list. */
static int parse_bucket_actions(struct gparser *p, size_t off, size_t len,
				struct ofgroup_bucket *b)
{
	struct flow_parse_opts opts = { .bucket = true };
	struct flow f;
	char *line, *err;

	if (asprintf(&line, ACTIONS_KW "%.*s", (int)len, p->s + off) < 0)
		return gfail(p, off, "out of memory");
	err = flow_parse(line, &f, &opts);
	free(line);
	if (err) {
		p->err = shift_column(err, off);
		return -1;
	}
	for (int i = 0; i < f.n_actions; i++) {
		if (f.actions[i].type == ACT_GOTO_TABLE) {
			flow_free(&f);
			return gfail(p, off, "goto_table is not allowed in a bucket");
		}
	}
	b->n_actions = f.n_actions;
	b->actions = f.actions;
	return 0;
}

static int parse_bucket_kv(struct gparser *p, const struct gkv *kv,
			   const struct ofgroup *g, struct ofgroup_bucket *b,
			   bool *have_id)
{
	uint64_t v;

	if (gtok_is(p, kv->key, "weight")) {
		if (parse_gnum(p, kv->val, UINT16_MAX, "weight", &v))
			return -1;
		if (g->type != GROUP_SELECT && v)
			return gfail(p, kv->key.off, "only select groups can have "
				     "bucket weights");
		b->weight = v;
		return 0;
	}
	if (gtok_is(p, kv->key, "bucket_id")) {
		if (parse_gnum(p, kv->val, BUCKET_ID_MAX, "bucket_id", &v))
			return -1;
		b->bucket_id = v;
		*have_id = true;
		return 0;
	}
	return gfail(p, kv->key.off, "'" GTOKF "' is not supported",
		     GTOKA(p, kv->key));
}

/* One bucket: the text after "bucket=" up to 'end'.  Leading bucket keys,
 * then everything from "actions=" (or from the first other item) on is the
 * action list. */
static int parse_bucket(struct gparser *p, size_t pos, size_t end,
			const struct ofgroup *g, struct ofgroup_bucket *b,
			bool *have_id)
{
	struct gkv kv;
	size_t item = pos, act_end = end;
	int r;

	b->weight = g->type == GROUP_SELECT ? 1 : 0;
	while ((r = next_gkv(p, &pos, end, &kv)) > 0) {
		if (gtok_is(p, kv.key, "actions") || gtok_is(p, kv.key, "action")) {
			if (kv.delim != '=' && kv.delim != ':')
				return gfail(p, kv.key.off, "expected 'actions=' here");
			item = kv.val.off;
			break;
		}
		if (!gtok_is(p, kv.key, "weight") && !gtok_is(p, kv.key, "bucket_id") &&
		    !gtok_is(p, kv.key, "watch_port") &&
		    !gtok_is(p, kv.key, "watch_group")) {
			item = kv.key.off;
			break;
		}
		if (parse_bucket_kv(p, &kv, g, b, have_id))
			return -1;
		item = pos;
	}
	if (r < 0)
		return -1;
	if (r == 0)
		return gfail(p, end, "bucket must specify actions");
	while (act_end > item && is_gsep(p->s[act_end - 1]))
		act_end--;
	if (g->type == GROUP_FF)
		return gfail(p, item, "fast failover buckets need watch_port or "
			     "watch_group, which brflow does not support");
	return parse_bucket_actions(p, item, act_end - item, b);
}

/* Frees a bucket's actions (a bucket holds them as a flow would). */
static void bucket_free(struct ofgroup_bucket *b)
{
	struct flow f = { .n_actions = b->n_actions, .actions = b->actions };

	flow_free(&f);
	b->actions = NULL;
	b->n_actions = 0;
}

/* Index of g's bucket 'id', or -1 (also when g is NULL). */
static int bucket_index(const struct ofgroup *g, uint32_t id)
{
	for (int i = 0; g && i < g->n_buckets; i++)
		if (g->buckets[i].bucket_id == id)
			return i;
	return -1;
}

static bool bucket_id_used(const struct ofgroup *g, uint32_t id,
			   const bool *explicit_id, bool only_explicit)
{
	for (int i = 0; i < g->n_buckets; i++)
		if (g->buckets[i].bucket_id == id &&
		    (!only_explicit || explicit_id[i]))
			return true;
	return false;
}

/* Buckets without bucket_id get the lowest id no other bucket uses, in g or
 * in 'existing' (the group buckets are inserted into, or NULL): their
 * position, when no bucket names one. */
static void number_buckets(struct ofgroup *g, const bool *explicit_id,
			   const struct ofgroup *existing)
{
	bool done[GROUP_MAX_BUCKETS];

	memcpy(done, explicit_id, sizeof(done));
	for (int i = 0; i < g->n_buckets; i++) {
		uint32_t id = 0;

		if (explicit_id[i])
			continue;
		while (bucket_id_used(g, id, done, true) ||
		       bucket_index(existing, id) >= 0)
			id++;
		g->buckets[i].bucket_id = id;
		done[i] = true;
	}
}

/* The buckets from 'start' on into g; a bucket_id may not repeat one of g's
 * or of 'existing' (may be NULL). */
static int parse_buckets(struct gparser *p, size_t start, struct ofgroup *g,
			 const struct ofgroup *existing)
{
	bool explicit_id[GROUP_MAX_BUCKETS] = { false };

	while (start < p->len) {
		size_t body = start + strlen("bucket=");
		size_t next = find_bucket(p, body);
		struct ofgroup_bucket *b;
		bool have_id = false;

		if (g->n_buckets == GROUP_MAX_BUCKETS)
			return gfail(p, start, "more than %d buckets",
				     GROUP_MAX_BUCKETS);
		if (g->type == GROUP_INDIRECT && g->n_buckets == 1)
			return gfail(p, start, "indirect groups can have at most "
				     "one bucket");
		b = &g->buckets[g->n_buckets];
		memset(b, 0, sizeof(*b));
		if (parse_bucket(p, body, next, g, b, &have_id))
			return -1;
		if (have_id && bucket_index(existing, b->bucket_id) >= 0) {
			bucket_free(b);
			return gfail(p, start, "group %u already has bucket_id %u",
				     existing->group_id, b->bucket_id);
		}
		if (have_id && bucket_id_used(g, b->bucket_id, explicit_id, true)) {
			bucket_free(b);
			return gfail(p, start, "duplicate bucket_id %u", b->bucket_id);
		}
		explicit_id[g->n_buckets++] = have_id;
		start = next;
	}
	number_buckets(g, explicit_id, existing);
	return 0;
}

char *group_parse(const char *text, struct ofgroup *out, bool id_only)
{
	struct gparser p = { .s = text, .len = text ? strlen(text) : 0 };
	struct ghead h = { .kind = id_only ? HEAD_ID_ONLY : HEAD_GROUP };
	size_t first;

	memset(out, 0, sizeof(*out));
	if (!text)
		return strdup("no group given at column 1");
	first = find_bucket(&p, 0);
	if (first < p.len && id_only)
		gfail(&p, first, "bucket is not needed");
	else if (!parse_head(&p, first, out, &h))
		parse_buckets(&p, first, out, NULL);
	if (p.err)
		group_free(out);
	return p.err;
}

/* ---- insert_bucket, remove_bucket ---- */

char *group_bucket_mod_parse(const char *text, bool insert,
			     struct group_bucket_mod *out)
{
	struct gparser p = { .s = text, .len = text ? strlen(text) : 0 };
	struct ghead h = { .kind = HEAD_BUCKET_CMD,
			   .command_bucket_id = BUCKET_CMD_ALL };
	struct ofgroup g = { 0 };
	size_t first;

	memset(out, 0, sizeof(*out));
	if (!text)
		return strdup("no group given at column 1");
	first = find_bucket(&p, 0);
	if (parse_head(&p, first, &g, &h))
		return p.err;
	if (!insert && first < p.len)
		gfail(&p, first, "bucket is not needed");
	else if (insert && !h.have_command_bucket)
		gfail(&p, first, "must specify a command_bucket_id (first, last or "
		      "a bucket_id)");
	else if (insert && h.command_bucket_id == BUCKET_CMD_ALL)
		gfail(&p, h.command_bucket_off, "command_bucket_id=all is not "
		      "permitted");
	else if (insert && first == p.len)
		gfail(&p, first, "no bucket to insert");
	if (p.err)
		return p.err;
	out->group_id = g.group_id;
	out->command_bucket_id = h.command_bucket_id;
	out->insert = insert;
	out->command_bucket_off = h.command_bucket_off;
	out->buckets_off = first;
	return NULL;
}

/* Where the new buckets go: OVS puts them before all the others (first),
 * after them (last), or right after bucket 'id'. */
static int insert_position(const struct ofgroup *g, uint32_t id)
{
	if (id == BUCKET_CMD_FIRST)
		return 0;
	if (id == BUCKET_CMD_LAST)
		return g->n_buckets;
	return bucket_index(g, id) + 1;
}

static int insert_buckets(struct gparser *p, const struct group_bucket_mod *m,
			  struct ofgroup *g)
{
	struct ofgroup add = { .group_id = g->group_id, .type = g->type };
	int at = insert_position(g, m->command_bucket_id);

	if (parse_buckets(p, m->buckets_off, &add, g))
		goto fail;
	if (g->n_buckets + add.n_buckets > GROUP_MAX_BUCKETS)
		gfail(p, m->buckets_off, "more than %d buckets", GROUP_MAX_BUCKETS);
	else if (g->type == GROUP_INDIRECT && g->n_buckets + add.n_buckets > 1)
		gfail(p, m->buckets_off, "indirect groups can have at most one "
		      "bucket");
	if (p->err)
		goto fail;
	memmove(&g->buckets[at + add.n_buckets], &g->buckets[at],
		(g->n_buckets - at) * sizeof(g->buckets[0]));
	memcpy(&g->buckets[at], add.buckets, add.n_buckets * sizeof(add.buckets[0]));
	g->n_buckets += add.n_buckets;
	return 0;
fail:
	group_free(&add);
	return -1;
}

static void remove_bucket_at(struct ofgroup *g, int i)
{
	bucket_free(&g->buckets[i]);
	memmove(&g->buckets[i], &g->buckets[i + 1],
		(g->n_buckets - i - 1) * sizeof(g->buckets[0]));
	g->n_buckets--;
}

char *group_bucket_mod_apply(const char *text, const struct group_bucket_mod *m,
			     struct ofgroup *g)
{
	struct gparser p = { .s = text, .len = strlen(text) };
	uint32_t id = m->command_bucket_id;

	if (id <= BUCKET_ID_MAX && bucket_index(g, id) < 0) {
		gfail(&p, m->command_bucket_off, "group %u has no bucket %u",
		      g->group_id, id);
		return p.err;
	}
	if (m->insert) {
		insert_buckets(&p, m, g);
		return p.err;
	}
	if (id == BUCKET_CMD_ALL)
		group_free(g);
	else if (g->n_buckets)
		remove_bucket_at(g, id == BUCKET_CMD_FIRST ? 0 :
				 id == BUCKET_CMD_LAST ? g->n_buckets - 1 :
				 bucket_index(g, id));
	return NULL;
}

/* ---- printing, copying ---- */

static int put_bucket(FILE *f, const struct ofgroup *g,
		      const struct ofgroup_bucket *b)
{
	struct flow fl = { .n_actions = b->n_actions, .actions = b->actions };
	char *acts = flow_format_actions(&fl);

	if (!acts)
		return -1;
	fprintf(f, ",bucket=bucket_id:%u,", b->bucket_id);
	if (b->weight != (g->type == GROUP_SELECT ? 1 : 0))
		fprintf(f, "weight:%u,", b->weight);
	fprintf(f, "actions=%s", acts);
	free(acts);
	return 0;
}

char *group_format(const struct ofgroup *g)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = 0;

	if (!f)
		return NULL;
	fprintf(f, "group_id=%u,type=%s", g->group_id,
		g->type <= GROUP_FF ? type_names[g->type] : "unknown");
	for (int i = 0; i < g->n_buckets && !rc; i++)
		rc = put_bucket(f, g, &g->buckets[i]);
	if (fclose(f) || rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

void group_free(struct ofgroup *g)
{
	for (int i = 0; g && i < g->n_buckets; i++)
		bucket_free(&g->buckets[i]);
	if (g)
		g->n_buckets = 0;
}

int group_copy(struct ofgroup *dst, const struct ofgroup *src)
{
	*dst = *src;
	dst->n_buckets = 0;
	for (int i = 0; i < src->n_buckets; i++) {
		const struct ofgroup_bucket *sb = &src->buckets[i];
		struct flow from = { .n_actions = sb->n_actions,
				     .actions = sb->actions };
		struct flow to;

		if (flow_copy(&to, &from)) {
			group_free(dst);
			return -1;
		}
		dst->buckets[i].actions = to.actions;
		dst->buckets[i].n_actions = to.n_actions;
		dst->n_buckets = i + 1;
	}
	return 0;
}

void group_counter_name(uint32_t group_id, uint32_t bucket_id, char *buf, unsigned len)
{
	snprintf(buf, len, "group_%u_%u", group_id, bucket_id);
}
