/* One handler per brflowctl command (commands.h). */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_ether.h>
#include <net/if.h>

#include "bridge_nl.h"
#include "conntrack.h"
#include "fdb.h"
#include "log.h"
#include "nat_setup.h"
#include "../rules/errstr.h"
#include "../rules/flow_idle_clocks.h"
#include "../rules/flow_index.h"
#include "../rules/flow_sort.h"
#include "../rules/flow_trace.h"
#include "offload.h"
#include "port_stats.h"
#include "queue_stats.h"

#define ERRLEN 512

struct cmd_ctx {
	struct st_state *st;
	bool bundle;   /* accepted; every command is all-or-nothing anyway */
	bool strict;
	bool may_exist;  /* --may-exist add-port: a port already there is fine */
	bool if_exists;  /* --if-exists del-br/del-port/del-zone-tp/del-zone-limit:
			  * a missing one is fine */
	bool no_stats;
	unsigned ct_dump;  /* dump-conntrack --more, --statistics: CT_DUMP_* */
	bool flows_file;   /* del-flows, mod-flows: the argument is a file's
			    * flows, one a line (brflowctl's BR -) */
	bool names;    /* --names: ports by name in printed flows */
	/* --openflow=N (brflowctl -O), 10 to 15: OpenFlow 1.N's flow_mod
	 * semantics and dump format; 10 without */
	int openflow;
	bool modify_adds;  /* the add is a modify's that selected no flow */
	uint8_t ct_next[TRACE_MAX_CT_NEXT];  /* trace --ct-next, in order */
	int n_ct_next;
	struct flow_sort sort; /* --sort/--rsort: dump-flows' order */
	FILE *out;
};

struct command {
	const char *name;
	int min_args, max_args;
	const char *usage;
	char *(*run)(struct cmd_ctx *c, char **argv, int argc);
};

static char *find_bridge(struct cmd_ctx *c, const char *name,
			 struct st_bridge **b)
{
	*b = st_find_bridge(c->st, name);
	return *b ? NULL : errstr("no bridge named '%s'", name);
}

/* Clones bridge 'name' for a change; NULL error on success. */
static char *clone_bridge(struct cmd_ctx *c, const char *name,
			  struct st_bridge **nb)
{
	struct st_bridge *b;
	char *err = find_bridge(c, name, &b);

	if (err)
		return err;
	*nb = st_bridge_clone(b);
	return *nb ? NULL : errstr("out of memory");
}

/* clone_bridge without the flows, for replace-flows, which drops them all:
 * copying 100 000 flows only to free them cost more than parsing. */
static char *clone_bridge_no_flows(struct cmd_ctx *c, const char *name,
				   struct st_bridge **nb)
{
	struct st_bridge *b, view;
	char *err = find_bridge(c, name, &b);

	if (err)
		return err;
	view = *b;
	view.n_flows = 0;
	*nb = st_bridge_clone(&view);
	return *nb ? NULL : errstr("out of memory");
}

/* Commits nb, or frees it on failure. */
static char *commit(struct cmd_ctx *c, struct st_bridge *nb)
{
	char *err = st_bridge_commit(c->st, nb);

	if (err)
		st_bridge_free(nb);
	return err;
}

/* "zone=N" -> N (0-65535); no argument -> -1. */
static char *parse_zone_arg(char **argv, int argc, int *zone)
{
	char *end;
	unsigned long v;

	*zone = -1;
	if (!argc)
		return NULL;
	if (strncmp(argv[0], "zone=", 5) || !argv[0][5])
		return errstr("expected zone=N, got '%s'", argv[0]);
	errno = 0;
	v = strtoul(argv[0] + 5, &end, 0);
	if (*end || errno || v > 65535 || argv[0][5] == '-')
		return errstr("invalid zone '%s'", argv[0] + 5);
	*zone = (int)v;
	return NULL;
}

/* ---- flows ---- */

/* add-flow and add-flows take ovs-ofctl's flow_mod keywords (add,
 * modify, delete, ...) before a flow; a file that uses them runs line by
 * line (below, with bundle). */
static bool has_flow_mod_commands(const char *text);
static char *run_mod_lines(struct cmd_ctx *c, const char *br, char *text, bool bundle);
static char *run_fixed_lines(struct cmd_ctx *c, const char *br, char *text, bool modify);

/* Whether an add that replaces a flow keeps the flow's counters (its id):
 * OpenFlow 1.0 and 1.1 (brflowctl's default, as its output is 1.0's)
 * always start them again; from 1.2 on only the flow_mod flag
 * reset_counts does (OVS). */
static bool add_keeps_counts(const struct cmd_ctx *c, const struct flow *f)
{
	return c->openflow >= 12 && !f->reset_counts;
}

/* f is added: OVS keeps the reset_counts that OpenFlow 1.0 and 1.1 imply
 * for an add (not for a modify that adds) among the rule's flags, so
 * their dumps from 1.3 on show it. */
static void add_flags(const struct cmd_ctx *c, struct flow *f)
{
	if (c->openflow < 12 && !c->modify_adds)
		f->flags |= FLOW_FF_RESET_COUNTS;
}

/* A flow's counters: whose (its id names them) and since when, for an
 * add that keeps them (add_keeps_counts). */
struct counted {
	uint64_t id; /* 0: none */
	int64_t since_ms;
};

static struct counted counted_of(const struct st_flow *sf)
{
	return (struct counted){ sf->id, sf->counters_ms };
}

/* Adds f (taken) to nb; a flow with the same table, priority and match is
 * replaced, its counters (with their idle clock) kept or not as
 * add_keeps_counts says.  The age starts now either way, as in OVS. */
static char *add_or_replace(const struct cmd_ctx *c, struct st_bridge *nb,
			    struct flow *f)
{
	struct counted counts = { 0 };
	struct st_flow *sf;

	add_flags(c, f);
	for (int i = 0; i < nb->n_flows; i++) {
		if (flow_same_rule(&nb->flows[i].flow, f)) {
			if (add_keeps_counts(c, f))
				counts = counted_of(&nb->flows[i]);
			st_del_flow(nb, i);
			break;
		}
	}
	sf = st_add_flow(nb, f, counts.id, st_now_ms());
	if (!sf) {
		flow_free(f);
		return errstr("out of memory");
	}
	if (counts.id)
		sf->counters_ms = counts.since_ms;
	return NULL;
}

/* check_overlap: f may not overlap another flow of b (OFPFMFC_OVERLAP).
 * OVS checks this flag against every flow; so does this, once per flagged
 * flow ("expensive", ovs-ofctl(8) warns). */
static char *check_overlap(const struct st_bridge *b, const struct flow *f)
{
	for (int i = 0; b && i < b->n_flows; i++) {
		const struct flow *g = &b->flows[i].flow;

		if (g != f && flow_overlaps(f, g)) {
			char *ft = flow_format(f), *gt = flow_format(g);
			char *err = errstr("flow '%s' overlaps flow '%s' in table %u at the "
					   "same priority (check_overlap: OFPFMFC_OVERLAP)",
					   ft ? ft : "?", gt ? gt : "?", f->table);

			free(ft);
			free(gt);
			return err;
		}
	}
	return NULL;
}

/* The flows of a file added to nb that asked for check_overlap, checked
 * against all of nb's; the flag goes once checked. */
static char *check_overlaps(struct st_bridge *nb)
{
	char *err = NULL;

	for (int i = 0; i < nb->n_flows; i++) {
		struct flow *f = &nb->flows[i].flow;

		if (f->check_overlap && !err)
			err = check_overlap(nb, f);
		f->check_overlap = false;
	}
	return err;
}

/* The next line of a text split in place ('\n' becomes '\0') that is
 * neither blank nor a # comment, without its leading and trailing blanks;
 * *lineno counts every line.  NULL at the end. */
static char *next_content_line(char **pos, int *lineno)
{
	while (*pos) {
		char *line = *pos, *nl = strchr(line, '\n'), *end;

		*pos = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		(*lineno)++;
		line += strspn(line, " \t\r");
		end = line + strlen(line);
		while (end > line && strchr(" \t\r", end[-1]))
			*--end = '\0';
		if (*line && *line != '#')
			return line;
	}
	return NULL;
}

static char *prefix_line(int lineno, char *err)
{
	char *e = errstr("line %d: %s", lineno, err);

	free(err);
	return e;
}

/* Port names in flows ("in_port=veth1", "output:veth2") resolve through
 * the bridge's ports, as ovs-ofctl resolves them through the switch. */
static int port_by_name(const char *name, void *arg)
{
	const struct st_bridge *b = arg;

	for (int i = 0; b && i < b->n_ports; i++)
		if (!strcmp(b->ports[i].ifname, name))
			return b->ports[i].ofport;
	return 0;
}

static const char *port_name_of(uint32_t ofport, void *arg)
{
	const struct st_bridge *b = arg;
	int i = ofport <= UINT16_MAX ? st_port_index_by_ofport(b, ofport) : -1;

	return i < 0 ? NULL : b->ports[i].ifname;
}

/* With --names, printed flows name b's ports (ovs-ofctl --names): fills
 * and returns 'buf'; NULL prints numbers. */
static const struct flow_port_names *port_names(const struct cmd_ctx *c,
						const struct st_bridge *b,
						struct flow_port_names *buf)
{
	if (!c->names)
		return NULL;
	*buf = (struct flow_port_names){ port_name_of, (void *)b };
	return buf;
}

static char *parse_flow_on(const struct st_bridge *b, const char *text,
			   struct flow *f, struct flow_parse_opts *o)
{
	struct flow_parse_opts plain = { 0 };

	if (!o)
		o = &plain;
	o->port_by_name = port_by_name;
	o->port_arg = (void *)b;
	return flow_parse(text, f, o);
}

/* A flow to add, parsed with b's port names and, if it asks for
 * check_overlap, checked against b's flows.  On error f is empty. */
static char *parse_new_flow(const struct st_bridge *b, const char *text, struct flow *f)
{
	char *err = parse_flow_on(b, text, f, NULL);

	if (!err && f->check_overlap)
		err = check_overlap(b, f);
	f->check_overlap = false;
	if (err)
		flow_free(f);
	return err;
}

/* Calls fn for each flow line of 'text' (blank lines and # comments
 * skipped); stops at the first error, which names the line.  Port names
 * resolve on bridge b. */
typedef char *(*line_fn)(struct flow *f, void *arg);
static char *for_each_flow_line_at(const struct st_bridge *b, char *text,
				   int lineno, line_fn fn, void *arg)
{
	for (char *pos = text, *line; (line = next_content_line(&pos, &lineno));) {
		struct flow f;
		char *err = parse_flow_on(b, line, &f, NULL);

		if (!err)
			err = fn(&f, arg);
		if (err)
			return prefix_line(lineno, err);
	}
	return NULL;
}

static char *for_each_flow_line(const struct st_bridge *b, char *text,
				line_fn fn, void *arg)
{
	return for_each_flow_line_at(b, text, 0, fn, arg);
}

/* The flows of a flow file, parsed (port names resolve on bridge b). */
struct flow_list {
	int n, cap;
	struct flow *flows;
	uint64_t *hash;    /* flow_index_hash of each flow (hash_flows) */
};

static void flow_list_free(struct flow_list *l)
{
	for (int i = 0; i < l->n; i++)
		flow_free(&l->flows[i]);
	free(l->flows);
	free(l->hash);
	memset(l, 0, sizeof(*l));
}

/* Fills l->hash, in the parsing thread: merge_flows then only probes. */
static char *hash_flows(struct flow_list *l)
{
	l->hash = malloc((l->n + 1) * sizeof(*l->hash));
	if (!l->hash)
		return errstr("out of memory");
	for (int i = 0; i < l->n; i++)
		l->hash[i] = flow_index_hash(&l->flows[i]);
	return NULL;
}

static char *list_line(struct flow *f, void *arg)
{
	struct flow_list *l = arg;

	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		struct flow *p = realloc(l->flows, sizeof(*p) * cap);

		if (!p) {
			flow_free(f);
			return errstr("out of memory");
		}
		l->flows = p;
		l->cap = cap;
	}
	l->flows[l->n++] = *f;
	return NULL;
}

/* One half of a flow file, parsed by its own thread. */
struct file_part {
	const struct st_bridge *b;
	char *text;
	int lineno;           /* lines before text */
	struct flow_list l;
	char *err;
};

static void *parse_part(void *arg)
{
	struct file_part *part = arg;

	part->err = for_each_flow_line_at(part->b, part->text, part->lineno,
					  list_line, &part->l);
	if (!part->err)
		part->err = hash_flows(&part->l);
	return NULL;
}

/* Files this long are parsed by two threads (flow_parse is reentrant). */
#define PARSE_SPLIT_LINES 4096

/* Parses the second half of text (from the first line after its middle)
 * in a thread while this one parses the first; l gets the flows of both,
 * in file order, and the error is the first in the file.  Returns 1 when
 * it could not start the thread (text untouched), else 0 or -1 (err). */
static int parse_halves(const struct st_bridge *b, char *text, size_t lines,
			struct flow_list *l, char **err)
{
	char *mid = strchr(text + strlen(text) / 2, '\n');
	struct file_part part = { .b = b };
	pthread_t thread;
	int before = 1;

	if (!mid)
		return 1;
	for (const char *q = strchr(text, '\n'); q && q < mid; q = strchr(q + 1, '\n'))
		before++;
	part.text = mid + 1;
	part.lineno = before;
	part.l.cap = (int)lines - before + 1;
	part.l.flows = malloc(sizeof(*part.l.flows) * part.l.cap);
	if (!part.l.flows)
		return 1;
	*mid = '\0';
	if (pthread_create(&thread, NULL, parse_part, &part)) {
		*mid = '\n';
		free(part.l.flows);
		return 1;
	}
	*err = for_each_flow_line(b, text, list_line, l);
	if (!*err)
		*err = hash_flows(l);
	pthread_join(thread, NULL);
	if (!*err && !part.err && l->n + part.l.n <= l->cap) {
		uint64_t *h = realloc(l->hash, (l->cap + 1) * sizeof(*h));

		if (h) {
			l->hash = h;
			memcpy(l->flows + l->n, part.l.flows, sizeof(*l->flows) * part.l.n);
			memcpy(l->hash + l->n, part.l.hash, sizeof(*l->hash) * part.l.n);
			l->n += part.l.n;
			free(part.l.flows);
			free(part.l.hash);
			return 0;
		}
	}
	if (!*err)
		*err = part.err ? part.err : errstr("out of memory");
	else
		free(part.err);
	flow_list_free(&part.l);
	return -1;
}

/* Parses every line of text; on error nothing is kept. */
static char *parse_flow_file(const struct st_bridge *b, char *text,
			     struct flow_list *l)
{
	size_t lines = 1;
	char *err = NULL;

	memset(l, 0, sizeof(*l));
	for (const char *q = strchr(text, '\n'); q; q = strchr(q + 1, '\n'))
		lines++;
	/* one allocation for files of 100 000 flows */
	l->flows = malloc(sizeof(*l->flows) * lines);
	if (!l->flows)
		return errstr("out of memory");
	l->cap = (int)lines;
	if (lines < PARSE_SPLIT_LINES ||
	    parse_halves(b, text, lines, l, &err) == 1) {
		err = for_each_flow_line(b, text, list_line, l);
		if (!err)
			err = hash_flows(l);
	}
	if (err)
		flow_list_free(l);
	return err;
}

/* Moves the flows of l into nb, each replacing a flow of nb with the same
 * rule (a later line replaces an earlier one, as in OVS), keeping its
 * counters as add_keeps_counts says.  keep_from, if not NULL, gives a
 * flow equal in rule, actions and timeouts its id (so its counters) and
 * age: replace-flows leaves such a flow alone, as ovs-ofctl's does; a
 * flow equal in rule only is added over the old one (its id kept as
 * add_keeps_counts says).  Linear: files of 100 000 flows. */
static char *merge_flows(const struct cmd_ctx *c, struct st_bridge *nb,
			 struct flow_list *l, const struct st_bridge *keep_from)
{
	struct flow_index newer = { 0 }, old = { 0 };
	bool *replaced = calloc(l->n + 1, sizeof(*replaced));
	/* by line: the counters of the flow of nb it replaces */
	struct counted *prior = calloc(l->n + 1, sizeof(*prior));
	char *err = NULL;
	int kept = 0;

	if (!replaced || !prior || flow_index_init(&newer, l->n) ||
	    (keep_from && flow_index_init(&old, keep_from->n_flows)) ||
	    st_reserve_flows(nb, nb->n_flows + l->n + 1)) {
		err = errstr("out of memory");
		goto out;
	}
	for (int i = 0; i < l->n; i++) {
		int prev = flow_index_swap_hashed(&newer, &l->flows[i],
						  l->hash[i], i);

		if (prev >= 0)
			replaced[prev] = true; /* by the later line i */
	}
	for (int i = 0; keep_from && i < keep_from->n_flows; i++)
		flow_index_put(&old, &keep_from->flows[i].flow, i);
	/* drop nb's flows that a new one replaces */
	for (int i = 0; i < nb->n_flows; i++) {
		int by = flow_index_get(&newer, &nb->flows[i].flow);

		if (by >= 0) {
			prior[by] = counted_of(&nb->flows[i]);
			flow_free(&nb->flows[i].flow);
		} else {
			nb->flows[kept++] = nb->flows[i];
		}
	}
	nb->n_flows = kept;
	for (int i = 0; i < l->n && !err; i++) {
		struct flow *f = &l->flows[i];
		const struct st_flow *keep = NULL;
		struct counted counts = { 0 };
		int k;

		if (replaced[i]) {
			flow_free(f); /* a later line has the same rule */
			continue;
		}
		if (add_keeps_counts(c, f))
			counts = prior[i];
		k = keep_from && keep_from->n_flows ?
		    flow_index_get_hashed(&old, f, l->hash[i]) : -1;
		/* other timeouts make it a new flow, whose clock starts now;
		 * another importance too, as ovs-ofctl compares it */
		if (k >= 0 && flow_same_actions(&keep_from->flows[k].flow, f) &&
		    flow_same_timeouts(&keep_from->flows[k].flow, f) &&
		    keep_from->flows[k].flow.importance == f->importance)
			keep = &keep_from->flows[k];
		else if (k >= 0 && add_keeps_counts(c, f))
			counts = counted_of(&keep_from->flows[k]);
		if (keep) {	/* left alone: its flags stay */
			counts = counted_of(keep);
			f->flags = keep->flow.flags;
		} else {
			add_flags(c, f);
		}
		struct st_flow *sf = st_add_flow(nb, f, counts.id,
						 keep ? keep->created_ms : st_now_ms());

		if (!sf) {
			flow_free(f);
			err = errstr("out of memory");
			continue;
		}
		if (keep)
			sf->modified_ms = keep->modified_ms;
		if (counts.id)
			sf->counters_ms = counts.since_ms;
	}
	for (int i = 0; i < l->n; i++)
		memset(&l->flows[i], 0, sizeof(l->flows[i]));
out:
	free(replaced);
	free(prior);
	flow_index_free(&newer);
	flow_index_free(&old);
	flow_list_free(l);
	return err;
}

/* A del-flows/mod-flows/dump-flows pattern.  cookie_mask selects by
 * cookie (0: any); cookie_set means f.cookie is a new cookie instead;
 * out_port selects the flows that output to it (0: any). */
struct pattern {
	struct flow f;
	bool prio_given, table_given, cookie_set;
	uint64_t cookie_mask;
	uint32_t out_port;
};

static char *parse_pattern(const struct st_bridge *b, const char *text,
			   struct pattern *p)
{
	struct flow_parse_opts o = {
		.match_only = true,
		.priority_given = &p->prio_given,
		.table_given = &p->table_given,
		.cookie_mask = &p->cookie_mask,
		.cookie_set = &p->cookie_set,
		.out_port = &p->out_port,
	};

	memset(p, 0, sizeof(*p));
	return parse_flow_on(b, text, &p->f, &o);
}

/* As ovs-ofctl: a cookie without a mask would set a cookie, which a
 * command that only selects flows cannot do. */
static char *refuse_new_cookie(struct pattern *p)
{
	char *err;

	if (!p->cookie_set)
		return NULL;
	err = errstr("cookie=0x%" PRIx64 " has no mask, so it would set a cookie;"
		   " select flows by cookie with cookie=0x%" PRIx64 "/-1",
		   p->f.cookie, p->f.cookie);
	flow_free(&p->f);
	return err;
}

/* Strict: same table (when given), priority (default 32768) and match.
 * Otherwise: f matches no more packets than the pattern (OVS's loose
 * match); the table counts only when given. */
static bool pattern_matches(const struct pattern *p, const struct flow *f,
			    bool strict)
{
	struct flow q = p->f;

	if ((f->cookie ^ p->f.cookie) & p->cookie_mask)
		return false;
	if (p->out_port && !flow_outputs_to(f, p->out_port))
		return false;
	if (!p->table_given)
		q.table = f->table;
	else if (f->table != p->f.table)
		return false;
	if (strict) {
		if (!p->prio_given)
			q.priority = FLOW_DEFAULT_PRIORITY;
		return flow_same_rule(f, &q);
	}
	return flow_covered_by(f, &q);
}

static char *cmd_add_flow(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b, *nb;
	struct flow f;
	char *err;

	(void)argc;
	if (has_flow_mod_commands(argv[1]))
		return run_mod_lines(c, argv[0], argv[1], false);
	b = st_find_bridge(c->st, argv[0]);
	err = parse_new_flow(b, argv[1], &f);
	if (err)
		return err;
	add_flags(c, &f);
	if (b) {
		struct st_flow keep = { 0 };
		int same = -1;

		for (int i = 0; i < b->n_flows && same < 0; i++)
			if (flow_same_rule(&b->flows[i].flow, &f))
				same = i;
		/* kept counters, with the age of a new flow */
		if (same >= 0) {
			int64_t now = st_now_ms();

			keep = (struct st_flow){ .id = b->flows[same].id,
				.created_ms = now, .modified_ms = now,
				.counters_ms = b->flows[same].counters_ms };
		}
		if (st_fast_update(c->st, b, same >= 0 ? &same : NULL, same >= 0, &f, 1,
				   same >= 0 && add_keeps_counts(c, &f) ? &keep : NULL, &err))
			return err;
	}
	err = clone_bridge(c, argv[0], &nb);
	if (err) {
		flow_free(&f);
		return err;
	}
	err = add_or_replace(c, nb, &f);
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

/* With or without --bundle: brflow loads a flow file as one transaction,
 * so it is always all or nothing. */
static char *cmd_add_flows(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	struct flow_list l;
	char *err;

	(void)argc;
	if (has_flow_mod_commands(argv[1]))
		return run_mod_lines(c, argv[0], argv[1], false);
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	err = parse_flow_file(nb, argv[1], &l);
	if (!err)
		err = merge_flows(c, nb, &l, NULL);
	if (!err)
		err = check_overlaps(nb);
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

static char *cmd_replace_flows(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	struct flow_list l;
	char *err;

	int64_t t0 = st_now_ms(), t1, t2;

	(void)argc;
	err = clone_bridge_no_flows(c, argv[0], &nb);
	if (err)
		return err;
	err = parse_flow_file(nb, argv[1], &l);
	t1 = st_now_ms();
	if (!err)
		err = merge_flows(c, nb, &l, st_find_bridge(c->st, argv[0]));
	if (!err)
		err = check_overlaps(nb);
	t2 = st_now_ms();
	log_debug("replace-flows %s: %d flows: parse %lld ms, merge %lld ms",
		  argv[0], nb->n_flows, (long long)(t1 - t0), (long long)(t2 - t1));
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

/* The flows a deletion takes: those a pattern selects (every flow when
 * 'p' and 'ids' are NULL), or those with the ids (ascending) that expired. */
struct del_sel {
	const struct pattern *p;
	const uint64_t *ids;
	int n_ids;
};

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool del_selects(const struct cmd_ctx *c, const struct del_sel *s,
			const struct st_flow *sf)
{
	if (s->ids)
		return bsearch(&sf->id, s->ids, s->n_ids, sizeof(*s->ids), id_cmp);
	return !s->p || pattern_matches(s->p, &sf->flow, c->strict);
}

/* Each element delete searches its set and the change list, so deleting k
 * of a set's n members costs k * (n + k); past about 1 500 a full reload is
 * faster (100 000 flows: 1 162 deletes took 0.5 s, the reload 0.6-0.9 s,
 * 99 993 deletes over two minutes), and the reload does not grow with k. */
#define FAST_DEL_MAX 1000

/* del-flows as set element deletes when the optimiser allows it. */
static char *del_flows_fast(struct cmd_ctx *c, struct st_bridge *b,
			    const struct del_sel *s, bool *done)
{
	int *del, n = 0;
	char *err = NULL;

	*done = false;
	if (!b || !b->plan)
		return NULL;
	del = malloc((b->n_flows + 1) * sizeof(*del));
	if (!del)
		return errstr("out of memory");
	for (int i = 0; i < b->n_flows; i++)
		if (del_selects(c, s, &b->flows[i]))
			del[n++] = i;
	if (n > FAST_DEL_MAX) {
		free(del);
		return NULL;
	}
	*done = !n || st_fast_update(c->st, b, del, n, NULL, 0, NULL, &err) != 0;
	free(del);
	return err;
}

/* Deletes the flows of bridge 'br' that s selects, in one transaction: set
 * element deletes where the optimiser allows, else a full commit. */
static char *del_flows(struct cmd_ctx *c, const char *br, const struct del_sel *s)
{
	struct st_bridge *nb;
	int kept = 0, deleted;
	bool done;
	char *err = del_flows_fast(c, st_find_bridge(c->st, br), s, &done);

	if (err || done)
		return err;
	err = clone_bridge(c, br, &nb);
	if (err)
		return err;
	/* one pass, not st_del_flow's memmove per flow: 100 000 flows */
	for (int i = 0; i < nb->n_flows; i++) {
		if (del_selects(c, s, &nb->flows[i]))
			flow_free(&nb->flows[i].flow);
		else
			nb->flows[kept++] = nb->flows[i];
	}
	deleted = nb->n_flows - kept;
	nb->n_flows = kept;
	if (deleted)
		return commit(c, nb);
	st_bridge_free(nb);
	return NULL;
}

static char *cmd_del_flows(struct cmd_ctx *c, char **argv, int argc)
{
	struct del_sel s = { 0 };
	struct pattern p;
	char *err;

	if (argc > 1 && c->flows_file)
		return run_fixed_lines(c, argv[0], argv[1], false);
	if (argc > 1) {
		err = parse_pattern(st_find_bridge(c->st, argv[0]), argv[1], &p);
		/* OVS's strict delete takes a cookie without a mask and ignores it */
		if (!err && !c->strict)
			err = refuse_new_cookie(&p);
		if (err)
			return err;
		s.p = &p;
	}
	err = del_flows(c, argv[0], &s);
	if (argc > 1)
		flow_free(&p.f);
	return err;
}

/* commands.h: expired flows leave as --strict del-flows deletes one */
char *commands_del_flow_ids(struct st_state *st, const char *bridge,
			    const uint64_t *ids, int n)
{
	struct cmd_ctx c = { .st = st, .strict = true, .openflow = 10 };
	struct del_sel s = { .ids = ids, .n_ids = n };

	return del_flows(&c, bridge, &s);
}

/* Gives target a copy of the pattern's actions, and its cookie when the
 * pattern sets one; 0 or -1 (ENOMEM). */
static int take_actions(struct flow *target, const struct pattern *p)
{
	struct flow tmp;
	struct flow_action *acts;
	struct flow_note *notes;
	int n, n_notes;

	if (flow_copy(&tmp, &p->f))
		return -1;
	if (p->cookie_set)
		target->cookie = p->f.cookie;
	acts = target->actions;
	n = target->n_actions;
	notes = target->notes;
	n_notes = target->n_notes;
	target->actions = tmp.actions;
	target->n_actions = tmp.n_actions;
	target->notes = tmp.notes;
	target->n_notes = tmp.n_notes;
	tmp.actions = acts;
	tmp.n_actions = n;
	tmp.notes = notes;
	tmp.n_notes = n_notes;
	flow_free(&tmp);
	return 0;
}

/* A modify with reset_counts gives each flow it selects a new id, so its
 * counters start again as a re-added flow's do: a rule's named counter is
 * a new one, a set member's stats element goes with the old id's.  They
 * start at the modify (sf's modified_ms, set first), and so does the idle
 * clock: OVS's new rule is last used when it is made. */
static void restart_counts(struct st_bridge *nb, struct st_flow *sf,
			   const struct pattern *p)
{
	if (p->f.reset_counts) {
		sf->id = nb->next_id++;
		sf->counters_ms = sf->modified_ms;
	}
}

/* mod-flows as set element changes when the optimiser allows it: each
 * selected flow leaves its group's sets and joins its new group's, keeping
 * its id, age and counters. */
static char *mod_flows_fast(struct cmd_ctx *c, struct st_bridge *b,
			    const struct pattern *p, bool *done)
{
	struct st_flow *keep = NULL;
	struct flow *add = NULL;
	int *del = NULL, n = 0, got = 0;
	int64_t now = st_now_ms();
	char *err = NULL;

	*done = false;
	/* counters that start again take the full path (restart_counts) */
	if (!b || !b->plan || p->f.reset_counts)
		return NULL;
	del = malloc((b->n_flows + 1) * sizeof(*del));
	add = calloc(b->n_flows + 1, sizeof(*add));
	keep = calloc(b->n_flows + 1, sizeof(*keep));
	if (!del || !add || !keep) {
		err = errstr("out of memory");
		goto out;
	}
	for (int i = 0; i < b->n_flows && !err; i++) {
		if (!pattern_matches(p, &b->flows[i].flow, c->strict))
			continue;
		if (flow_copy(&add[n], &b->flows[i].flow) ||
		    take_actions(&add[n], p)) {
			flow_free(&add[n]);
			err = errstr("out of memory");
			break;
		}
		keep[n] = b->flows[i];
		keep[n].modified_ms = now;
		del[n++] = i;
	}
	if (!err && n)
		got = st_fast_update(c->st, b, del, n, add, n, keep, &err);
	*done = err || !n || got;
	if (got != 1)
		for (int i = 0; i < n; i++)
			flow_free(&add[i]);
out:
	free(del);
	free(add);
	free(keep);
	return err;
}

/* Whether p selects any of b's flows. */
static bool selects_any(const struct st_bridge *b, const struct pattern *p, bool strict)
{
	for (int i = 0; i < b->n_flows; i++)
		if (pattern_matches(p, &b->flows[i].flow, strict))
			return true;
	return false;
}

/* Replaces the actions of the flows the pattern selects; their counters
 * and age stay, and their hard_timeout starts again (OVS's "modified"). */
static char *cmd_mod_flows(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb = NULL, *b = st_find_bridge(c->st, argv[0]);
	struct pattern p;
	bool done;
	int changed = 0;
	char *err;

	if (c->flows_file)
		return run_fixed_lines(c, argv[0], argv[1], true);
	if (!strstr(argv[1], "action"))
		return errstr("'%s': must specify actions", argv[1]);
	err = parse_pattern(b, argv[1], &p);
	if (err)
		return err;
	/* A modify that carries a new cookie adds its flow when it selects
	 * none: OVS does so (ovs-ofctl sends a new cookie for cookie=C without
	 * a mask), so a script that relies on it builds the same table here. */
	if (b && p.cookie_set && !p.cookie_mask && !selects_any(b, &p, c->strict)) {
		flow_free(&p.f);
		c->modify_adds = true;
		return cmd_add_flow(c, argv, argc);
	}
	err = mod_flows_fast(c, b, &p, &done);
	if (err || done)
		goto out;
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		goto out;
	for (int i = 0; i < nb->n_flows && !err; i++) {
		if (!pattern_matches(&p, &nb->flows[i].flow, c->strict))
			continue;
		if (take_actions(&nb->flows[i].flow, &p))
			err = errstr("out of memory");
		nb->flows[i].modified_ms = st_now_ms();
		restart_counts(nb, &nb->flows[i], &p);
		changed++;
	}
	if (err || !changed)
		st_bridge_free(nb);
	else
		err = commit(c, nb);
out:
	flow_free(&p.f);
	return err;
}

/* ---- idle_age ---- */

/* Each bridge's idle clocks of all its flows, from dump-flows' and
 * dump-aggregate's readings (rules/flow_idle_clocks.h). */
static struct bridge_ages {
	char name[16];
	struct idle_clocks clocks;
} *bridge_ages;
static int n_bridge_ages;

static struct idle_clocks *ages_of(const char *bridge)
{
	struct bridge_ages *arr;

	for (int i = 0; i < n_bridge_ages; i++)
		if (!strcmp(bridge_ages[i].name, bridge))
			return &bridge_ages[i].clocks;
	arr = realloc(bridge_ages, (n_bridge_ages + 1) * sizeof(*arr));
	if (!arr)
		return NULL;
	bridge_ages = arr;
	arr = &bridge_ages[n_bridge_ages++];
	memset(arr, 0, sizeof(*arr));
	snprintf(arr->name, sizeof(arr->name), "%s", bridge);
	return &arr->clocks;
}

/* del-br: the readings of a bridge that is gone */
static void forget_ages(const char *bridge)
{
	for (int i = 0; i < n_bridge_ages; i++)
		if (!strcmp(bridge_ages[i].name, bridge)) {
			idle_clocks_free(&bridge_ages[i].clocks);
			bridge_ages[i] = bridge_ages[--n_bridge_ages];
			return;
		}
}

/* ---- ports' ages (dump-ports' duration) ---- */

/* When add-port attached each port since brflowd started (add-br: the
 * bridge's LOCAL, named as the bridge).  OVS counts a port's duration from
 * when ovs-vswitchd made it, so the ports brflowd loaded at its start
 * count from the start (st_state's started_ms). */
static struct port_age {
	char bridge[16], ifname[16];
	int64_t added_ms;
} *port_ages;
static int n_port_ages;

/* bridge's port ifname (NULL: all of them) is gone */
static void forget_ports(const char *bridge, const char *ifname)
{
	for (int i = 0; i < n_port_ages; i++)
		if (!strcmp(port_ages[i].bridge, bridge) &&
		    (!ifname || !strcmp(port_ages[i].ifname, ifname)))
			port_ages[i--] = port_ages[--n_port_ages];
}

/* ifname was attached to bridge now.  Out of memory, its age counts from
 * brflowd's start: a wrong duration, nothing worse. */
static void note_port_added(const char *bridge, const char *ifname)
{
	struct port_age *arr;

	forget_ports(bridge, ifname);
	arr = realloc(port_ages, (n_port_ages + 1) * sizeof(*arr));
	if (!arr)
		return;
	port_ages = arr;
	arr = &port_ages[n_port_ages++];
	snprintf(arr->bridge, sizeof(arr->bridge), "%s", bridge);
	snprintf(arr->ifname, sizeof(arr->ifname), "%s", ifname);
	arr->added_ms = st_now_ms();
}

static int64_t port_added_ms(const struct st_state *st, const char *bridge,
			     const char *ifname)
{
	for (int i = 0; i < n_port_ages; i++)
		if (!strcmp(port_ages[i].bridge, bridge) &&
		    !strcmp(port_ages[i].ifname, ifname))
			return port_ages[i].added_ms;
	return st->started_ms;
}

void commands_free(void)
{
	while (n_bridge_ages)
		forget_ages(bridge_ages[0].name);
	free(bridge_ages);
	bridge_ages = NULL;
	free(port_ages);
	port_ages = NULL;
	n_port_ages = 0;
}

/* Takes b's counter reading pk[] at now and puts each flow's idle age in
 * ms into age_ms[] (when not NULL). */
static char *read_idle_ages(const struct st_bridge *b, const uint64_t *pk,
			    int64_t now, int64_t *age_ms)
{
	struct idle_clock_flow *f = calloc(b->n_flows + 1, sizeof(*f));
	struct idle_clocks *ic = ages_of(b->name);
	int rc = -1;

	if (f && ic) {
		for (int i = 0; i < b->n_flows; i++)
			f[i] = (struct idle_clock_flow){ b->flows[i].id,
				b->flows[i].counters_ms, pk[i] };
		/* age_ms[] gets each clock's start first */
		rc = idle_clocks_update(ic, f, b->n_flows, true, now, NULL, age_ms);
	}
	/* a wall clock that went back gives 0, not a negative age */
	for (int i = 0; !rc && age_ms && i < b->n_flows; i++)
		age_ms[i] = now > age_ms[i] ? now - age_ms[i] : 0;
	free(f);
	return rc ? errstr("out of memory") : NULL;
}

/* commands.h: the expiry's readings feed idle_age too */
char *commands_note_reading(const struct st_bridge *b, const uint64_t *packets,
			    int64_t now)
{
	return read_idle_ages(b, packets, now, NULL);
}

/* ---- dump-flows ---- */

struct dump_sort {
	const struct st_flow *sf;
	uint64_t packets, bytes;
	int64_t idle_ms;
};

/* ovs-ofctl prints idle_age in seconds, at most 65534: what its wire
 * format holds (seconds plus one in 16 bits). */
#define IDLE_AGE_MAX 65534

/* table ascending, priority descending, then insertion (id) order */
static int dump_cmp(const void *a, const void *b)
{
	const struct st_flow *x = ((const struct dump_sort *)a)->sf;
	const struct st_flow *y = ((const struct dump_sort *)b)->sf;

	if (x->flow.table != y->flow.table)
		return x->flow.table < y->flow.table ? -1 : 1;
	if (x->flow.priority != y->flow.priority)
		return x->flow.priority > y->flow.priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* --sort/--rsort's keys first, ignoring tables as OVS does; flows they do
 * not tell apart keep dump_cmp's order */
static int dump_sorted_cmp(const void *a, const void *b, void *sort)
{
	int r = flow_sort_cmp(sort, &((const struct dump_sort *)a)->sf->flow,
			      &((const struct dump_sort *)b)->sf->flow);

	return r ? r : dump_cmp(a, b);
}

/* The start of a reply line as ovs-ofctl prints it with the OpenFlow
 * version asked for: "OFPST_PORT reply (xid=0x2):" with 1.0, "OFPST_PORT
 * reply (OF1.3) (xid=0x2):" with 1.3. */
static void put_reply(const struct cmd_ctx *c, const char *what)
{
	fprintf(c->out, "%s reply", what);
	if (c->openflow > 10)
		fprintf(c->out, " (OF1.%d)", c->openflow - 10);
	fputs(" (xid=0x2):", c->out);
}

/* "KEY12.5s": ms as seconds, without trailing zeros (OVS's durations) */
static void put_duration(FILE *out, const char *key, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	fprintf(out, "%s%lld", key, (long long)(ms / 1000));
	if (ms % 1000) {
		char frac[8];

		snprintf(frac, sizeof(frac), "%03d", (int)(ms % 1000));
		for (int k = 2; k > 0 && frac[k] == '0'; k--)
			frac[k] = '\0';
		fprintf(out, ".%s", frac);
	}
	fputc('s', out);
}

/* One flow as ovs-ofctl prints it with the OpenFlow version brflowctl
 * asked for (c->openflow): the flow_mod flags from 1.3 on, importance from
 * 1.4 on, idle_age and hard_age in 1.0 only (Nicira's flow statistics);
 * --no-stats leaves out what only statistics print.  text is the rule
 * without its timeouts, which come first. */
static char *print_flow(struct cmd_ctx *c, const struct dump_sort *d,
			int64_t now, const char *text)
{
	const struct flow *f = &d->sf->flow;
	int64_t age = now - d->sf->created_ms;
	int64_t hard_age = now - d->sf->modified_ms;
	bool stats = !c->no_stats;

	if (age < 0)
		age = 0;
	if (hard_age < 0)
		hard_age = 0;
	fputc(' ', c->out);
	if (stats || f->cookie)
		fprintf(c->out, "cookie=0x%" PRIx64 ", ", f->cookie);
	if (stats) {
		put_duration(c->out, "duration=", age);
		fputs(", ", c->out);
	}
	if (stats || f->table)
		fprintf(c->out, "table=%u, ", f->table);
	if (stats)
		fprintf(c->out, "n_packets=%" PRIu64 ", n_bytes=%" PRIu64 ", ",
			d->packets, d->bytes);
	if (f->idle_timeout)
		fprintf(c->out, "idle_timeout=%u, ", f->idle_timeout);
	if (f->hard_timeout)
		fprintf(c->out, "hard_timeout=%u, ", f->hard_timeout);
	if (c->openflow >= 13 && f->flags) {
		char *flags = flow_format_flags(f->flags, " ");

		if (!flags)
			return errstr("out of memory");
		fputs(flags, c->out);
		free(flags);
	}
	if (c->openflow >= 14 && f->importance)
		fprintf(c->out, "importance=%u, ", f->importance);
	if (stats && c->openflow == 10) {
		fprintf(c->out, "idle_age=%" PRId64 ", ", d->idle_ms / 1000 < IDLE_AGE_MAX ?
			d->idle_ms / 1000 : IDLE_AGE_MAX);
		/* as ovs-ofctl: only for a flow modified since it was added */
		if (hard_age / 1000 != age / 1000)
			fprintf(c->out, "hard_age=%" PRId64 ", ", hard_age / 1000 <
				IDLE_AGE_MAX ? hard_age / 1000 : IDLE_AGE_MAX);
	}
	fprintf(c->out, "%s\n", text);
	return NULL;
}

/* The flows p selects (all when NULL): one line each, or with aggregate
 * ovs-ofctl dump-aggregate's totals line. */
static char *dump_bridge(struct cmd_ctx *c, const struct st_bridge *b,
			 const struct pattern *p, bool aggregate)
{
	int n = b->n_flows;
	uint64_t *pk = calloc(n + 1, sizeof(*pk)), *by = calloc(n + 1, sizeof(*by));
	int64_t *idle = calloc(n + 1, sizeof(*idle));
	struct dump_sort *ds = calloc(n + 1, sizeof(*ds));
	int64_t now = st_now_ms();
	char *err = NULL;
	int m = 0;
	bool stats = aggregate || !c->no_stats;
	struct flow_port_names buf;
	const struct flow_port_names *names = port_names(c, b, &buf);

	if (!pk || !by || !idle || !ds) {
		err = errstr("out of memory");
		goto out;
	}
	/* every reading feeds idle_age, dump-aggregate's too */
	if (stats && (st_read_stats(b, pk, by, &err) ||
		      (err = read_idle_ages(b, pk, now, idle))))
		goto out;
	/* nftables counts skb->len, which at the bridge and br_netfilter
	 * hooks starts at the network header; OVS counts whole frames. */
	for (int i = 0; i < n; i++)
		if (!p || pattern_matches(p, &b->flows[i].flow, c->strict))
			ds[m++] = (struct dump_sort){ &b->flows[i], pk[i],
						      by[i] + ETH_HLEN * pk[i], idle[i] };
	if (aggregate) {
		uint64_t packets = 0, bytes = 0;

		for (int i = 0; i < m; i++) {
			packets += ds[i].packets;
			bytes += ds[i].bytes;
		}
		/* the reply ovs-ofctl gets with that version, and its xid */
		if (c->openflow == 10)
			fprintf(c->out, "NXST_AGGREGATE reply (xid=0x4):");
		else
			put_reply(c, "OFPST_AGGREGATE");
		fprintf(c->out, " packet_count=%" PRIu64 " byte_count=%" PRIu64
			" flow_count=%d\n", packets, bytes, m);
		goto out;
	}
	qsort_r(ds, m, sizeof(*ds), dump_sorted_cmp, &c->sort);
	for (int i = 0; i < m && !err; i++) {
		/* print_flow puts the timeouts among the statistics */
		char *text = flow_format_no_timeouts(&ds[i].sf->flow, names);

		if (!text) {
			err = errstr("out of memory");
			break;
		}
		err = print_flow(c, &ds[i], now, text);
		free(text);
	}
out:
	free(pk);
	free(by);
	free(idle);
	free(ds);
	return err;
}

static char *dump_selected(struct cmd_ctx *c, char **argv, int argc,
			   bool aggregate)
{
	struct st_bridge *b;
	struct pattern p;
	char *err = find_bridge(c, argv[0], &b);

	if (err)
		return err;
	if (argc < 2)
		return dump_bridge(c, b, NULL, aggregate);
	err = parse_pattern(b, argv[1], &p);
	if (!err)
		err = refuse_new_cookie(&p);
	if (err)
		return err;
	err = dump_bridge(c, b, &p, aggregate);
	flow_free(&p.f);
	return err;
}

static char *cmd_dump_flows(struct cmd_ctx *c, char **argv, int argc)
{
	return dump_selected(c, argv, argc, false);
}

static char *cmd_dump_aggregate(struct cmd_ctx *c, char **argv, int argc)
{
	return dump_selected(c, argv, argc, true);
}

/* ---- trace ---- */

static int st_flow_id_cmp(const void *a, const void *b)
{
	const struct st_flow *x = *(const struct st_flow *const *)a;
	const struct st_flow *y = *(const struct st_flow *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The bridge's flows in id order, the order the compiler gives flows of
 * one priority.  NULL when out of memory. */
static const struct flow **flows_by_id(const struct st_bridge *b)
{
	const struct st_flow **sorted = calloc(b->n_flows + 1, sizeof(*sorted));
	const struct flow **flows = calloc(b->n_flows + 1, sizeof(*flows));

	if (sorted && flows) {
		for (int i = 0; i < b->n_flows; i++)
			sorted[i] = &b->flows[i];
		qsort(sorted, b->n_flows, sizeof(*sorted), st_flow_id_cmp);
		for (int i = 0; i < b->n_flows; i++)
			flows[i] = &sorted[i]->flow;
	} else {
		free(flows);
		flows = NULL;
	}
	free(sorted);
	return flows;
}

/* The port an FDB entry is on: its interface's name in name, and its
 * OpenFlow number, or 0 for a port not added with add-port. */
static uint32_t fdb_entry_port(const struct st_bridge *b, int ifindex,
			       char name[IF_NAMESIZE])
{
	int i;

	if (!if_indextoname(ifindex, name))
		snprintf(name, IF_NAMESIZE, "?");
	i = st_port_index(b, name);
	return i >= 0 ? b->ports[i].ofport : 0;
}

/* The bridge's forwarding database as the trace takes it, its own
 * addresses included: NULL with *fdb_error set when it cannot be read
 * (the trace says so and goes on), NULL with *n 0 when empty. */
static struct trace_mac *trace_fdb(const struct st_bridge *b, int *n,
				   char *fdb_error, size_t errlen, bool *oom)
{
	struct fdb_entry *entries = NULL;
	struct trace_mac *macs;

	*n = 0;
	if (fdb_read(b->name, true, &entries, n, fdb_error, errlen))
		return NULL;
	macs = calloc(*n + 1, sizeof(*macs));
	*oom = !macs;
	for (int i = 0; macs && i < *n; i++) {
		struct trace_mac *m = &macs[i];

		memcpy(m->mac, entries[i].mac, 6);
		m->vlan = entries[i].vlan;
		m->local = entries[i].local;
		m->age = entries[i].age;
		m->ofport = fdb_entry_port(b, entries[i].ifindex, m->ifname);
	}
	free(entries);
	return macs;
}

static char *cmd_trace(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	struct flow packet;
	bool table_given = false;
	struct flow_parse_opts o = { .match_only = true, .table_given = &table_given };
	const struct flow **flows;
	struct compile_port *ports;
	struct trace_mac *fdb = NULL;
	char fdb_error[ERRLEN] = "";
	bool oom = false;
	int n_fdb = 0;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	err = parse_flow_on(b, argv[1], &packet, &o);
	if (err)
		return err;
	err = flow_trace_check_packet(&packet);
	flows = err ? NULL : flows_by_id(b);
	/* the ports as the kernel has them now: PORT_DOWN is the link's state,
	 * as show prints it */
	ports = err ? NULL : calloc(b->n_ports + 1, sizeof(*ports));
	if (!err)
		fdb = trace_fdb(b, &n_fdb, fdb_error, sizeof(fdb_error), &oom);
	if (!err && (!flows || !ports || oom))
		err = errstr("out of memory");
	for (int i = 0; !err && i < b->n_ports; i++) {
		ports[i] = b->ports[i];
		ports[i].config = port_config_now(ports[i].ifname, ports[i].config);
	}
	if (!err) {
		struct trace_input in = {
			.bridge = b->name, .flows = flows, .n_flows = b->n_flows,
			.groups = b->groups, .n_groups = b->n_groups,
			.meters = b->meters, .n_meters = b->n_meters,
			.packet = &packet, .table_given = table_given,
			.n_ct_next = c->n_ct_next,
			.ports = ports, .n_ports = b->n_ports,
			.local_config = b->local_config,
			.port_name = port_name_of, .port_arg = b,
			.names = c->names,
			.with_fdb = true, .fdb = fdb, .n_fdb = n_fdb,
			.fdb_error = *fdb_error ? fdb_error : NULL,
		};

		memcpy(in.ct_next, c->ct_next, sizeof(in.ct_next));
		err = flow_trace(&in, c->out);
	}
	free(fdb);
	free(ports);
	free(flows);
	flow_free(&packet);
	return err;
}

/* ---- diff-flows ---- */

/* One flow as ovs-ofctl diff-flows prints it: the sign, "table=N " unless
 * table 0, the match with its priority, " cookie=0x..." unless 0, the
 * timeouts and importance unless 0, then " actions=...". */
static char *print_diff_flow(FILE *out, const struct flow_port_names *names,
			     char sign, const struct flow *f)
{
	char *text = flow_format_no_timeouts(f, names);
	char *acts = text ? strstr(text, "actions=") : NULL;

	if (!acts) {
		free(text);
		return errstr("out of memory");
	}
	fputc(sign, out);
	if (f->table)
		fprintf(out, "table=%u ", f->table);
	/* the match is what precedes " actions=" */
	fprintf(out, "%.*s", acts > text ? (int)(acts - text - 1) : 0, text);
	if (f->cookie)
		fprintf(out, " cookie=0x%" PRIx64, f->cookie);
	if (f->idle_timeout)
		fprintf(out, " idle_timeout=%u", f->idle_timeout);
	if (f->hard_timeout)
		fprintf(out, " hard_timeout=%u", f->hard_timeout);
	if (f->importance)
		fprintf(out, " importance=%u", f->importance);
	fprintf(out, " %s\n", acts);
	free(text);
	return NULL;
}

/* ovs-ofctl's fte_version_equals: cookie, timeouts, importance and
 * actions (not the flags) */
static bool same_flow_version(const struct flow *a, const struct flow *b)
{
	return a->cookie == b->cookie && flow_same_timeouts(a, b) &&
	       a->importance == b->importance && flow_same_actions(a, b);
}

/* diff-flows BRIDGE TEXT: '-' for a flow of the bridge that the file lacks
 * or has otherwise (cookie, timeouts, importance, actions), '+' for the file's; nothing when they
 * agree.  The bridge's flows come in dump-flows order, then the file's
 * others in file order.  A later line replaces an earlier one with the same
 * rule, as when the file is loaded. */
static char *cmd_diff_flows(struct cmd_ctx *c, char **argv, int argc)
{
	struct flow_index in_file = { 0 };
	struct dump_sort *ds = NULL;
	struct st_bridge *b;
	struct flow_list l;
	bool *shown = NULL;
	struct flow_port_names buf;
	const struct flow_port_names *names;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	err = parse_flow_file(b, argv[1], &l);
	if (err)
		return err;
	names = port_names(c, b, &buf);
	ds = calloc(b->n_flows + 1, sizeof(*ds));
	shown = calloc(l.n + 1, sizeof(*shown));
	if (!ds || !shown || flow_index_init(&in_file, l.n)) {
		err = errstr("out of memory");
		goto out;
	}
	for (int i = 0; i < l.n; i++) {
		int earlier = flow_index_swap_hashed(&in_file, &l.flows[i], l.hash[i], i);

		if (earlier >= 0)
			shown[earlier] = true; /* replaced: never printed */
	}
	for (int i = 0; i < b->n_flows; i++)
		ds[i].sf = &b->flows[i];
	qsort(ds, b->n_flows, sizeof(*ds), dump_cmp);
	for (int i = 0; i < b->n_flows && !err; i++) {
		const struct flow *f = &ds[i].sf->flow;
		int k = flow_index_get(&in_file, f);

		if (k >= 0)
			shown[k] = true;
		if (k >= 0 && same_flow_version(f, &l.flows[k]))
			continue;
		err = print_diff_flow(c->out, names, '-', f);
		if (!err && k >= 0)
			err = print_diff_flow(c->out, names, '+', &l.flows[k]);
	}
	for (int i = 0; i < l.n && !err; i++)
		if (!shown[i])
			err = print_diff_flow(c->out, names, '+', &l.flows[i]);
out:
	flow_index_free(&in_file);
	free(shown);
	free(ds);
	flow_list_free(&l);
	return err;
}

static char *cmd_compile(struct cmd_ctx *c, char **argv, int argc)
{
	struct nir_ruleset rs = { 0 };
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	err = st_compile(b, &rs);
	if (err)
		return err;
	nir_print(&rs, c->out);
	nir_ruleset_free(&rs);
	return NULL;
}

/* ---- groups ---- */

#define GROUP_ID_ALL 0xfffffffcu /* OFPG_ALL */

static char *prefix_group(char *err)
{
	char *e = errstr("group: %s", err);

	free(err);
	return e;
}

/* add-group (replace false: the id must be new) and mod-group (replace
 * true: it must exist), each with one group. */
static char *put_group(struct cmd_ctx *c, const char *br, const char *text,
		       bool replace)
{
	struct st_bridge *nb;
	struct ofgroup g;
	char *err = group_parse(text, &g, false);
	bool exists;

	if (err)
		return prefix_group(err);
	err = clone_bridge(c, br, &nb);
	if (err)
		goto out;
	exists = st_group_index(nb, g.group_id) >= 0;
	if (exists && !replace)
		err = errstr("group %u already exists", g.group_id);
	else if (!exists && replace)
		err = errstr("group %u does not exist", g.group_id);
	else if (st_set_group(nb, &g))
		err = errstr("out of memory");
	if (err) {
		st_bridge_free(nb);
		goto out;
	}
	err = commit(c, nb);
out:
	group_free(&g);
	return err;
}

static char *cmd_add_group(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return put_group(c, argv[0], argv[1], false);
}

static char *cmd_mod_group(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return put_group(c, argv[0], argv[1], true);
}

/* insert-buckets and remove-buckets (and bundle's insert_bucket and
 * remove_bucket lines): change one group's buckets on nb. */
static char *apply_bucket_mod(struct st_bridge *nb, const char *text, bool insert)
{
	struct group_bucket_mod m;
	char *err = group_bucket_mod_parse(text, insert, &m);
	int i;

	if (err)
		return prefix_group(err);
	i = st_group_index(nb, m.group_id);
	if (i < 0)
		return errstr("group %u does not exist", m.group_id);
	err = group_bucket_mod_apply(text, &m, &nb->groups[i]);
	return err ? prefix_group(err) : NULL;
}

static char *bucket_mod_on_copy(struct cmd_ctx *c, const char *br,
				const char *text, bool insert)
{
	struct st_bridge *nb;
	char *err = clone_bridge(c, br, &nb);

	if (err)
		return err;
	err = apply_bucket_mod(nb, text, insert);
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

static char *cmd_insert_buckets(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return bucket_mod_on_copy(c, argv[0], argv[1], true);
}

static char *cmd_remove_buckets(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return bucket_mod_on_copy(c, argv[0], argv[1], false);
}

/* One group a line, blank lines and # comments skipped; all or none. */
static char *cmd_add_groups(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	char *err;
	int lineno = 0;

	(void)argc;
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	for (char *pos = argv[1], *line; !err && (line = next_content_line(&pos, &lineno));) {
		struct ofgroup g;

		err = group_parse(line, &g, false);
		if (!err && st_group_index(nb, g.group_id) >= 0)
			err = errstr("group %u already exists", g.group_id);
		else if (!err && st_set_group(nb, &g))
			err = errstr("out of memory");
		group_free(&g);
		if (err)
			err = prefix_line(lineno, err);
	}
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

/* "group_id=N" or "group_id=all"; no pattern means all. */
static char *parse_group_pattern(char **argv, int argc, uint32_t *id)
{
	struct ofgroup g;
	char *err;

	*id = GROUP_ID_ALL;
	if (argc < 1 || !strcmp(argv[0], "group_id=all"))
		return NULL;
	err = group_parse(argv[0], &g, true);
	if (err)
		return prefix_group(err);
	*id = g.group_id;
	group_free(&g);
	return NULL;
}

static bool flow_uses_group(const struct flow *f, uint32_t id)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_GROUP &&
		    (id == GROUP_ID_ALL || f->actions[i].u.group_id == id))
			return true;
	return false;
}

/* Deletes group id (GROUP_ID_ALL: every group) from nb and, as in OVS,
 * the flows that send to it; how many groups went. */
static int del_groups_on(struct st_bridge *nb, uint32_t id)
{
	int deleted = 0;

	for (int i = nb->n_groups - 1; i >= 0; i--) {
		if (id != GROUP_ID_ALL && nb->groups[i].group_id != id)
			continue;
		st_del_group(nb, i);
		deleted++;
	}
	for (int i = nb->n_flows - 1; deleted && i >= 0; i--)
		if (flow_uses_group(&nb->flows[i].flow, id))
			st_del_flow(nb, i);
	return deleted;
}

/* del-groups and del-meters: 'del' takes what id selects from a copy of
 * bridge br (with the flows that use it); nothing taken, nothing
 * committed. */
static char *del_on_copy(struct cmd_ctx *c, const char *br,
			 int (*del)(struct st_bridge *nb, uint32_t id), uint32_t id)
{
	struct st_bridge *nb;
	char *err = clone_bridge(c, br, &nb);

	if (err)
		return err;
	if (!del(nb, id)) {
		st_bridge_free(nb);
		return NULL;
	}
	return commit(c, nb);
}

static char *cmd_del_groups(struct cmd_ctx *c, char **argv, int argc)
{
	uint32_t id;
	char *err = parse_group_pattern(argv + 1, argc - 1, &id);

	return err ? err : del_on_copy(c, argv[0], del_groups_on, id);
}

/* ---- flow_mod files: add-flows lines with a command, and bundle ---- */

enum fm_cmd { FM_ADD, FM_DELETE, FM_DELETE_STRICT, FM_MODIFY, FM_MODIFY_STRICT };

/* ovs-ofctl's flow_mod keywords, in the order it tries them: a line's
 * first token names one when it is a prefix of it ("del" is delete), as
 * OVS compares.  Returns the text after the keyword, or 'line' itself
 * (an add) when there is none. */
static const char *flow_mod_command(const char *line, enum fm_cmd *cmd, bool *named)
{
	static const struct {
		const char *name;
		enum fm_cmd cmd;
	} kw[] = {
		{ "add", FM_ADD }, { "delete", FM_DELETE },
		{ "delete_strict", FM_DELETE_STRICT }, { "modify", FM_MODIFY },
		{ "modify_strict", FM_MODIFY_STRICT },
	};
	const char *t = line + strspn(line, " \t\r");
	size_t len = strcspn(t, ", \t\r\n");

	*cmd = FM_ADD;
	*named = false;
	for (size_t i = 0; len && i < sizeof(kw) / sizeof(kw[0]); i++)
		if (len <= strlen(kw[i].name) && !strncmp(t, kw[i].name, len)) {
			*cmd = kw[i].cmd;
			*named = true;
			return t + len;
		}
	return line;
}

/* Whether some line of a flow file starts with a flow_mod keyword: such
 * a file runs line by line (run_mod_lines), the others take the fast
 * path for 100 000 adds. */
static bool has_flow_mod_commands(const char *text)
{
	for (const char *line = text; line; line = strchr(line, '\n')) {
		const char *t;
		enum fm_cmd cmd;
		bool named;

		line += *line == '\n';
		t = line + strspn(line, " \t\r");
		if (*t == '#')
			continue;
		flow_mod_command(t, &cmd, &named);
		if (named)
			return true;
	}
	return false;
}

/* One flow line, added to nb as add-flow adds it. */
static char *add_line(const struct cmd_ctx *c, struct st_bridge *nb, const char *text)
{
	struct flow f;
	char *err = parse_new_flow(nb, text, &f);

	return err ? err : add_or_replace(c, nb, &f);
}

/* modify[_strict] and delete[_strict] on nb, as mod-flows and del-flows
 * (with --strict for the _strict ones) do them. */
static char *modify_or_delete(const struct cmd_ctx *c, struct st_bridge *nb,
			      enum fm_cmd cmd, const char *text)
{
	bool strict = cmd == FM_MODIFY_STRICT || cmd == FM_DELETE_STRICT;
	bool modify = cmd == FM_MODIFY || cmd == FM_MODIFY_STRICT;
	struct pattern p;
	char *err;
	int kept = 0;

	if (modify && !strstr(text, "action"))
		return errstr("'%s': must specify actions", text);
	err = parse_pattern(nb, text, &p);
	if (!err && !modify && !strict)
		err = refuse_new_cookie(&p);
	if (err)
		return err;
	/* a modify with a new cookie that selects nothing adds (cmd_mod_flows) */
	if (modify && p.cookie_set && !p.cookie_mask && !selects_any(nb, &p, strict)) {
		struct cmd_ctx adds = *c;

		flow_free(&p.f);
		adds.modify_adds = true;
		return add_line(&adds, nb, text);
	}
	for (int i = 0; i < nb->n_flows && !err; i++) {
		struct st_flow *sf = &nb->flows[i];

		if (!pattern_matches(&p, &sf->flow, strict)) {
			if (!modify)
				nb->flows[kept++] = *sf;
		} else if (modify) {
			if (take_actions(&sf->flow, &p))
				err = errstr("out of memory");
			sf->modified_ms = st_now_ms();
			restart_counts(nb, sf, &p);
		} else {
			flow_free(&sf->flow);
		}
	}
	if (!modify)
		nb->n_flows = kept;
	flow_free(&p.f);
	return err;
}

static char *apply_flow_mod(const struct cmd_ctx *c, struct st_bridge *nb,
			    enum fm_cmd cmd, const char *text)
{
	return cmd == FM_ADD ? add_line(c, nb, text) : modify_or_delete(c, nb, cmd, text);
}

/* bundle's group lines: add, modify, add_or_mod, delete, insert_bucket,
 * remove_bucket. */
static char *apply_group_mod(struct st_bridge *nb, const char *line)
{
	const char *t = line + strspn(line, " \t\r");
	size_t len = strcspn(t, ", \t\r\n");
	bool add = true, modify = false;
	int bucket_cmd = -1; /* 1: insert_bucket, 0: remove_bucket */
	struct ofgroup g;
	char *err;
	int exists;

	if (len && !memchr(t, '=', len)) {
		if (len == 3 && !strncmp(t, "add", 3))
			add = true;
		else if (len == 6 && !strncmp(t, "modify", 6))
			add = false, modify = true;
		else if (len == 10 && !strncmp(t, "add_or_mod", 10))
			modify = true;
		else if (len == 6 && !strncmp(t, "delete", 6))
			add = false;
		else if (len == 13 && !strncmp(t, "insert_bucket", 13))
			bucket_cmd = 1;
		else if (len == 13 && !strncmp(t, "remove_bucket", 13))
			bucket_cmd = 0;
		else
			return errstr("group %.*s is not supported (add, modify, add_or_mod, "
				      "delete, insert_bucket or remove_bucket)", (int)len, t);
		/* columns count from the group's text, as in add-group */
		t += len;
		t += strspn(t, " \t\r");
	}
	if (bucket_cmd >= 0)
		return apply_bucket_mod(nb, t, bucket_cmd);
	err = group_parse(t, &g, !add && !modify);
	if (err)
		return prefix_group(err);
	exists = st_group_index(nb, g.group_id) >= 0;
	if (!add && !modify)
		del_groups_on(nb, g.group_id);
	else if (exists && !modify)
		err = errstr("group %u already exists", g.group_id);
	else if (!exists && !add)
		err = errstr("group %u does not exist", g.group_id);
	else if (st_set_group(nb, &g))
		err = errstr("out of memory");
	group_free(&g);
	return err;
}

/* Whether line starts with 'word' and a blank. */
static bool starts_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(line, word, n) && (line[n] == ' ' || line[n] == '\t');
}

/* Each line runs 'fixed' (-1: the line's own keyword, an add without one;
 * bundle: the keyword after "flow" or "group"), in order on one copy of
 * bridge br, committed once. */
static char *run_lines(struct cmd_ctx *c, const char *br, char *text, bool bundle,
		       int fixed)
{
	struct st_bridge *nb = NULL;
	char *err = clone_bridge(c, br, &nb);
	int lineno = 0;

	for (char *pos = text, *line; !err && (line = next_content_line(&pos, &lineno));) {
		const char *rest;
		enum fm_cmd cmd;
		bool named;

		if (bundle && starts_word(line, "group"))
			err = apply_group_mod(nb, line + 5);
		else if (bundle && starts_word(line, "flow")) {
			rest = flow_mod_command(line + 4, &cmd, &named);
			err = apply_flow_mod(c, nb, cmd, rest);
		} else if (bundle) {
			err = errstr("expected 'flow' or 'group' first, as ovs-ofctl bundle "
				     "takes them (packet-out is not supported)");
		} else if (fixed >= 0) {
			err = apply_flow_mod(c, nb, (enum fm_cmd)fixed, line);
		} else {
			rest = flow_mod_command(line, &cmd, &named);
			err = apply_flow_mod(c, nb, cmd, rest);
		}
		if (err)
			err = prefix_line(lineno, err);
	}
	if (err) {
		if (nb)
			st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

/* add-flows with flow_mod keywords (bundle false) and bundle (true: each
 * line "flow [KEYWORD] FLOW" or "group [KEYWORD] GROUP"): all or nothing. */
static char *run_mod_lines(struct cmd_ctx *c, const char *br, char *text, bool bundle)
{
	return run_lines(c, br, text, bundle, -1);
}

/* del-flows and mod-flows BR - (c->flows_file): each line a pattern, as
 * with --strict when it was given. */
static char *run_fixed_lines(struct cmd_ctx *c, const char *br, char *text, bool modify)
{
	enum fm_cmd cmd = modify ? (c->strict ? FM_MODIFY_STRICT : FM_MODIFY) :
			  (c->strict ? FM_DELETE_STRICT : FM_DELETE);

	return run_lines(c, br, text, false, (int)cmd);
}

static char *cmd_bundle(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return run_mod_lines(c, argv[0], argv[1], true);
}

static char *cmd_dump_groups(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	uint32_t id;
	char *err = parse_group_pattern(argv + 1, argc - 1, &id);

	if (!err)
		err = find_bridge(c, argv[0], &b);
	if (err)
		return err;
	for (int i = 0; i < b->n_groups; i++) {
		char *text;

		if (id != GROUP_ID_ALL && b->groups[i].group_id != id)
			continue;
		text = group_format(&b->groups[i]);
		if (!text)
			return errstr("out of memory");
		fprintf(c->out, " %s\n", text);
		free(text);
	}
	return NULL;
}

/* Every named counter of b's tables, in each family (a meter or group used
 * on both the bridge and the br_netfilter path has a counter in each), to
 * 'add'.  NULL or a malloc'd error. */
static char *read_named_counters(const struct st_bridge *b,
				 void (*add)(const char *name, uint64_t packets,
					     uint64_t bytes, void *arg),
				 void *arg)
{
	static const enum nir_family fams[] = { NIR_BRIDGE, NIR_INET, NIR_IP6 };
	char table[64], nerr[ERRLEN] = "";

	brflow_table_name(b->name, table, sizeof(table));
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++)
		if (nft_read_counters(fams[f], table, add, arg, nerr, sizeof(nerr)))
			return errstr("%s", nerr);
	return NULL;
}

/* Packets and bytes of each bucket of b's groups, from the "group_<id>_
 * <bucket_id>" counters. */
struct group_counts {
	const struct st_bridge *b;
	uint64_t (*counts)[GROUP_MAX_BUCKETS][2]; /* per group, per bucket */
};

static void add_group_count(const char *name, uint64_t packets, uint64_t bytes,
			    void *arg)
{
	struct group_counts *gc = arg;
	unsigned id, bucket_id;
	int n = 0, i;

	if (sscanf(name, "group_%u_%u%n", &id, &bucket_id, &n) != 2 || name[n])
		return;
	i = st_group_index(gc->b, id);
	for (int k = 0; i >= 0 && k < gc->b->groups[i].n_buckets; k++)
		if (gc->b->groups[i].buckets[k].bucket_id == bucket_id) {
			gc->counts[i][k][0] += packets;
			gc->counts[i][k][1] += bytes;
		}
}


/* dump-group-stats: ovs-ofctl's OFPST_GROUP reply.  ref_count is the
 * number of flows that send to the group; the buckets print by position. */
static char *cmd_dump_group_stats(struct cmd_ctx *c, char **argv, int argc)
{
	struct group_counts gc = { 0 };
	struct st_bridge *b;
	int64_t now = st_now_ms();
	uint32_t id;
	char *err = parse_group_pattern(argv + 1, argc - 1, &id);

	if (!err)
		err = find_bridge(c, argv[0], &b);
	if (err)
		return err;
	gc.b = b;
	gc.counts = calloc(b->n_groups + 1, sizeof(*gc.counts));
	if (!gc.counts)
		return errstr("out of memory");
	err = read_named_counters(b, add_group_count, &gc);
	if (err)
		goto out;
	fprintf(c->out, "OFPST_GROUP reply (OF1.3) (xid=0x2):\n");
	for (int i = 0; i < b->n_groups; i++) {
		const struct ofgroup *g = &b->groups[i];
		uint64_t packets = 0, bytes = 0;
		int refs = 0;

		if (id != GROUP_ID_ALL && g->group_id != id)
			continue;
		for (int k = 0; k < b->n_flows; k++)
			refs += flow_uses_group(&b->flows[k].flow, g->group_id);
		/* nftables counts from the network header; OVS whole frames */
		for (int k = 0; k < g->n_buckets; k++) {
			gc.counts[i][k][1] += ETH_HLEN * gc.counts[i][k][0];
			packets += gc.counts[i][k][0];
			bytes += gc.counts[i][k][1];
		}
		fprintf(c->out, " group_id=%u,", g->group_id);
		put_duration(c->out, "duration=", now - b->group_created_ms[i]);
		fprintf(c->out, ",ref_count=%d,packet_count=%" PRIu64 ",byte_count=%" PRIu64,
			refs, packets, bytes);
		for (int k = 0; k < g->n_buckets; k++)
			fprintf(c->out, ",bucket%d:packet_count=%" PRIu64 ",byte_count=%" PRIu64,
				k, gc.counts[i][k][0], gc.counts[i][k][1]);
		fputc('\n', c->out);
	}
out:
	free(gc.counts);
	return err;
}

/* ---- meters ---- */

static char *prefix_meter(char *err)
{
	char *e = errstr("meter: %s", err);

	free(err);
	return e;
}

/* add-meter (replace false: the id must be new) and mod-meter (replace
 * true: it must exist).  Flows stay as they are: a changed limit is a new
 * limit object in the same transaction. */
static char *put_meter(struct cmd_ctx *c, const char *br, const char *text,
		       bool replace)
{
	struct st_bridge *nb;
	struct ofmeter m;
	char *err = meter_parse(text, &m, false);
	bool exists;

	if (err)
		return prefix_meter(err);
	err = clone_bridge(c, br, &nb);
	if (err)
		return err;
	exists = st_meter_index(nb, m.meter_id) >= 0;
	if (exists && !replace)
		err = errstr("meter %u already exists", m.meter_id);
	else if (!exists && replace)
		err = errstr("meter %u does not exist", m.meter_id);
	else if (st_set_meter(nb, &m))
		err = errstr("out of memory");
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

static char *cmd_add_meter(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return put_meter(c, argv[0], argv[1], false);
}

static char *cmd_mod_meter(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	return put_meter(c, argv[0], argv[1], true);
}

/* "meter=N" or "meter=all" (*id 0); no pattern means all. */
static char *parse_meter_pattern(char **argv, int argc, uint32_t *id)
{
	struct ofmeter m;
	char *err;

	*id = 0;
	if (argc < 1)
		return NULL;
	err = meter_parse(argv[0], &m, true);
	if (err)
		return prefix_meter(err);
	*id = m.meter_id;
	return NULL;
}

static bool flow_uses_meter(const struct flow *f, uint32_t id)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_METER &&
		    (!id || f->actions[i].u.meter_id == id))
			return true;
	return false;
}

/* Deletes meter id (0: every meter) from nb and, as in OVS, the flows
 * that use it; how many meters went. */
static int del_meters_on(struct st_bridge *nb, uint32_t id)
{
	int deleted = 0;

	for (int i = nb->n_meters - 1; i >= 0; i--) {
		if (id && nb->meters[i].meter_id != id)
			continue;
		st_del_meter(nb, i);
		deleted++;
	}
	for (int i = nb->n_flows - 1; deleted && i >= 0; i--)
		if (flow_uses_meter(&nb->flows[i].flow, id))
			st_del_flow(nb, i);
	return deleted;
}

static char *cmd_del_meters(struct cmd_ctx *c, char **argv, int argc)
{
	uint32_t id;
	char *err = parse_meter_pattern(argv + 1, argc - 1, &id);

	return err ? err : del_on_copy(c, argv[0], del_meters_on, id);
}

static char *cmd_dump_meters(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	uint32_t id;
	char *err = parse_meter_pattern(argv + 1, argc - 1, &id);

	if (!err)
		err = find_bridge(c, argv[0], &b);
	if (err)
		return err;
	fprintf(c->out, "OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\n");
	for (int i = 0; i < b->n_meters; i++) {
		char *text;

		if (id && b->meters[i].meter_id != id)
			continue;
		text = meter_format_config(&b->meters[i]);
		if (!text)
			return errstr("out of memory");
		fprintf(c->out, "%s\n", text);
		free(text);
	}
	return NULL;
}

/* Sums of the meters' "meter_<id>_in" and "_drop" counters over the
 * bridge's tables. */
struct meter_counts {
	const struct st_bridge *b;
	uint64_t *in;   /* per meter: packets, bytes */
	uint64_t *drop;
};

static void add_meter_count(const char *name, uint64_t packets, uint64_t bytes,
			    void *arg)
{
	struct meter_counts *mc = arg;
	unsigned id;
	int n = 0, i;
	char kind[8];

	if (sscanf(name, "meter_%u_%7[a-z]%n", &id, kind, &n) != 2 || name[n])
		return;
	i = st_meter_index(mc->b, id);
	if (i < 0)
		return;
	if (!strcmp(kind, "in")) {
		mc->in[2 * i] += packets;
		mc->in[2 * i + 1] += bytes;
	} else if (!strcmp(kind, "drop")) {
		mc->drop[2 * i] += packets;
		mc->drop[2 * i + 1] += bytes;
	}
}

static char *cmd_meter_stats(struct cmd_ctx *c, char **argv, int argc)
{
	struct meter_counts mc = { 0 };
	struct st_bridge *b;
	int64_t now = st_now_ms();
	uint32_t id;
	char *err = parse_meter_pattern(argv + 1, argc - 1, &id);

	if (!err)
		err = find_bridge(c, argv[0], &b);
	if (err)
		return err;
	mc.b = b;
	mc.in = calloc(2 * b->n_meters + 1, sizeof(uint64_t));
	mc.drop = calloc(2 * b->n_meters + 1, sizeof(uint64_t));
	if (!mc.in || !mc.drop) {
		err = errstr("out of memory");
		goto out;
	}
	err = read_named_counters(b, add_meter_count, &mc);
	if (err)
		goto out;
	fprintf(c->out, "OFPST_METER reply (OF1.3) (xid=0x2):\n");
	for (int i = 0; i < b->n_meters; i++) {
		int n_flows = 0;

		if (id && b->meters[i].meter_id != id)
			continue;
		for (int k = 0; k < b->n_flows; k++)
			n_flows += flow_uses_meter(&b->flows[k].flow, b->meters[i].meter_id);
		fprintf(c->out, "meter:%u flow_count:%d packet_in_count:%" PRIu64
			" byte_in_count:%" PRIu64 " ", b->meters[i].meter_id, n_flows,
			mc.in[2 * i], mc.in[2 * i + 1]);
		put_duration(c->out, "duration:", now - b->meter_created_ms[i]);
		fprintf(c->out, " bands:\n0: packet_count:%" PRIu64 " byte_count:%"
			PRIu64 "\n", mc.drop[2 * i], mc.drop[2 * i + 1]);
	}
out:
	free(mc.in);
	free(mc.drop);
	return err;
}

/* ---- bridges and ports ---- */

static const char default_flow[] = "priority=0,actions=NORMAL";

static char *cmd_add_br(struct cmd_ctx *c, char **argv, int argc)
{
	const char *name = argv[0];
	char nerr[ERRLEN] = "";
	struct st_bridge *nb, *owner;
	struct flow f;
	char *err;
	int existed;

	(void)argc;
	if (st_find_bridge(c->st, name))
		return NULL;
	if (!st_valid_ifname(name))
		return errstr("invalid bridge name '%s'", name);
	owner = st_find_port_owner(c->st, name);
	if (owner)
		return errstr("'%s' is a port of bridge '%s'", name, owner->name);
	nb = st_bridge_new(name);
	if (!nb)
		return errstr("out of memory");
	err = flow_parse(default_flow, &f, NULL);
	if (!err)
		err = add_or_replace(c, nb, &f);
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	existed = iface_exists(name);
	if (bridge_add(name, nerr, sizeof(nerr))) {
		st_bridge_free(nb);
		return errstr("%s", nerr);
	}
	err = commit(c, nb);
	if (err && !existed && bridge_del(name, nerr, sizeof(nerr)))
		log_warn("add-br %s: cannot remove the bridge again: %s", name, nerr);
	if (!err)
		note_port_added(name, name);
	return err;
}

static char *cmd_del_br(struct cmd_ctx *c, char **argv, int argc)
{
	char nerr[ERRLEN] = "", table[64];
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err && c->if_exists) {
		free(err);
		return NULL;
	}
	if (err)
		return err;
	/* The bridge goes first: were the tables deleted and the bridge
	 * kept, it would forward everything unfiltered. */
	if (iface_exists(b->name) && bridge_del(b->name, nerr, sizeof(nerr)))
		return errstr("%s", nerr);
	brflow_table_name(b->name, table, sizeof(table));
	if (nft_delete_tables(table, nerr, sizeof(nerr)))
		err = errstr("bridge '%s' deleted but its tables stay: %s",
			   argv[0], nerr);
	if (nat_setup_remove(argv[0], nerr, sizeof(nerr)))
		log_warn("del-br %s: %s", argv[0], nerr);
	if (offload_apply(c->st, NULL, argv[0], nerr, sizeof(nerr)))
		log_warn("del-br %s: offload table: %s", argv[0], nerr);
	st_bridge_forget(c->st, argv[0]);
	forget_ages(argv[0]);
	forget_ports(argv[0], NULL);
	return err;
}

static char *parse_ofport(const char *arg, uint16_t *ofport)
{
	const char *v = strchr(arg, '=');
	unsigned long n;
	char *end;

	if (!v || (strncmp(arg, "ofport=", 7) && strncmp(arg, "ofport_request=", 15)))
		return errstr("expected ofport=N, got '%s'", arg);
	v++;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || n < 1 || n > BRFLOW_MAX_OFPORT)
		return errstr("invalid ofport '%s' (1-%d)", v, BRFLOW_MAX_OFPORT);
	*ofport = (uint16_t)n;
	return NULL;
}

static char *check_new_port(struct cmd_ctx *c, const char *br, const char *ifc)
{
	struct st_bridge *owner;

	if (!st_valid_ifname(ifc))
		return errstr("invalid interface name '%s'", ifc);
	if (st_find_bridge(c->st, ifc))
		return errstr("'%s' is a bridge", ifc);
	owner = st_find_port_owner(c->st, ifc);
	if (owner && !strcmp(owner->name, br))
		return errstr("port '%s' already exists on bridge '%s'", ifc, br);
	if (owner)
		return errstr("'%s' is already a port of bridge '%s'", ifc,
			    owner->name);
	if (!iface_exists(ifc))
		return errstr("no such interface '%s'", ifc);
	return NULL;
}

static char *cmd_add_port(struct cmd_ctx *c, char **argv, int argc)
{
	const char *br = argv[0], *ifc = argv[1];
	char nerr[ERRLEN] = "";
	struct st_bridge *nb = NULL, *b = st_find_bridge(c->st, br);
	uint16_t ofport = 0;
	char *err;

	/* as ovs-vsctl --may-exist: the port on this bridge is the wish met */
	if (c->may_exist && b && st_find_port_owner(c->st, ifc) == b)
		return NULL;
	err = clone_bridge(c, br, &nb);
	if (!err)
		err = check_new_port(c, br, ifc);
	if (!err && argc > 2) {
		err = parse_ofport(argv[2], &ofport);
		if (!err && st_port_index_by_ofport(nb, ofport) >= 0)
			err = errstr("ofport %u is already in use on bridge '%s'",
				   ofport, br);
	} else if (!err) {
		ofport = st_free_ofport(nb);
		if (!ofport)
			err = errstr("bridge '%s' has no free port number", br);
	}
	if (!err && st_add_port(nb, ifc, ofport))
		err = errstr("out of memory");
	if (!err && bridge_add_port(br, ifc, nerr, sizeof(nerr)))
		err = errstr("%s", nerr);
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	err = commit(c, nb);
	if (err && bridge_del_port(br, ifc, nerr, sizeof(nerr)))
		log_warn("add-port %s %s: cannot release the port: %s", br, ifc,
			 nerr);
	if (!err)
		note_port_added(br, ifc);
	return err;
}

/* del-port BR IFACE, or del-port IFACE as ovs-vsctl allows. */
static char *cmd_del_port(struct cmd_ctx *c, char **argv, int argc)
{
	const char *ifc = argv[argc - 1];
	char nerr[ERRLEN] = "";
	struct st_bridge *b, *nb;
	char *err;
	int idx;

	if (argc == 1) {
		b = st_find_port_owner(c->st, ifc);
		if (!b)
			return c->if_exists ? NULL : errstr("no port named '%s'", ifc);
	} else {
		err = find_bridge(c, argv[0], &b);
		if (err && c->if_exists) {
			free(err);
			return NULL;
		}
		if (err)
			return err;
	}
	idx = st_port_index(b, ifc);
	if (idx < 0 && c->if_exists)
		return NULL;
	if (idx < 0)
		return errstr("no port '%s' on bridge '%s'", ifc, b->name);
	nb = st_bridge_clone(b);
	if (!nb)
		return errstr("out of memory");
	st_del_port(nb, idx);
	err = commit(c, nb);
	if (err)
		return err;
	forget_ports(nb->name, ifc);
	/* nb replaced b; its name is still the bridge's. */
	if (iface_exists(ifc) && bridge_del_port(nb->name, ifc, nerr, sizeof(nerr)))
		log_warn("del-port %s: cannot release the interface: %s", ifc, nerr);
	return NULL;
}

/* mod-port BRIDGE PORT ACTION, as ovs-ofctl's.  up/down and (no-)flood are
 * the kernel's (link state, bridge port flood flags), set first and put
 * back if the commit fails; (no-)receive and (no-)forward are the
 * ruleset's (classify and enforce drop the port's packets, whatever the
 * flows say).  Every bit is kept with the port in the state file.  LOCAL
 * (the bridge device) takes only the ruleset's bits. */
static const struct {
	const char *name;
	uint32_t bit;
	bool set;
} mod_port_actions[] = {
	{ "up", PORT_CONFIG_DOWN, false }, { "down", PORT_CONFIG_DOWN, true },
	{ "receive", PORT_CONFIG_NO_RECV, false }, { "no-receive", PORT_CONFIG_NO_RECV, true },
	{ "flood", PORT_CONFIG_NO_FLOOD, false }, { "no-flood", PORT_CONFIG_NO_FLOOD, true },
	{ "forward", PORT_CONFIG_NO_FWD, false }, { "no-forward", PORT_CONFIG_NO_FWD, true },
};

/* The kernel side of config bit 'bit' (none for the ruleset's bits). */
static int port_config_apply(const char *ifc, uint32_t bit, bool set,
			     char *nerr, size_t len)
{
	if (bit == PORT_CONFIG_DOWN)
		return iface_set_admin(ifc, !set, nerr, len);
	if (bit == PORT_CONFIG_NO_FLOOD)
		return brport_set_flood(ifc, !set, nerr, len);
	return 0;
}

static char *mod_port_action(const char *arg, int *idx)
{
	for (size_t i = 0; i < sizeof(mod_port_actions) / sizeof(mod_port_actions[0]); i++)
		if (!strcasecmp(arg, mod_port_actions[i].name)) {
			*idx = (int)i;
			return NULL;
		}
	if (!strcasecmp(arg, "stp") || !strcasecmp(arg, "no-stp") ||
	    !strcasecmp(arg, "receive-stp") || !strcasecmp(arg, "no-receive-stp"))
		return errstr("'%s' is not supported: brflow has no spanning tree control (the Linux bridge runs STP itself)",
			    arg);
	if (!strcasecmp(arg, "packet-in") || !strcasecmp(arg, "no-packet-in"))
		return errstr("'%s' is not supported: brflow has no OpenFlow controller",
			    arg);
	return errstr("unknown action '%s' (up, down, receive, no-receive, forward, no-forward, flood, no-flood)",
		    arg);
}

/* mod-port on LOCAL, the bridge device: only the ruleset's bits. */
static char *mod_port_local(struct cmd_ctx *c, const struct st_bridge *b, int act)
{
	uint32_t bit = mod_port_actions[act].bit;
	struct st_bridge *nb;

	if (bit == PORT_CONFIG_DOWN)
		return errstr("'%s' on port LOCAL is not supported: LOCAL is the Linux bridge device '%s' itself, and taking it down would stop the whole bridge",
			    mod_port_actions[act].name, b->name);
	if (bit == PORT_CONFIG_NO_FLOOD)
		return errstr("'%s' on port LOCAL is not supported: the Linux bridge has no flood flags for its own device",
			    mod_port_actions[act].name);
	nb = st_bridge_clone(b);
	if (!nb)
		return errstr("out of memory");
	if (mod_port_actions[act].set)
		nb->local_config |= bit;
	else
		nb->local_config &= ~bit;
	return commit(c, nb);
}

static char *cmd_mod_port(struct cmd_ctx *c, char **argv, int argc)
{
	char nerr[ERRLEN] = "", num[8];
	struct st_bridge *b, *nb;
	struct compile_port *p;
	char *err = find_bridge(c, argv[0], &b);
	int idx = -1, act = 0;
	bool local;

	(void)argc;
	if (err)
		return err;
	for (int i = 0; i < b->n_ports && idx < 0; i++) {
		snprintf(num, sizeof(num), "%u", b->ports[i].ofport);
		if (!strcmp(argv[1], num) || !strcmp(argv[1], b->ports[i].ifname))
			idx = i;
	}
	local = idx < 0 && (!strcmp(argv[1], "LOCAL") || !strcmp(argv[1], b->name));
	if (idx < 0 && !local)
		return errstr("no port '%s' on bridge '%s'", argv[1], b->name);
	err = mod_port_action(argv[2], &act);
	if (err)
		return err;
	if (local)
		return mod_port_local(c, b, act);
	nb = st_bridge_clone(b);
	if (!nb)
		return errstr("out of memory");
	p = &nb->ports[idx];
	if (mod_port_actions[act].set)
		p->config |= mod_port_actions[act].bit;
	else
		p->config &= ~mod_port_actions[act].bit;
	if (port_config_apply(p->ifname, mod_port_actions[act].bit,
			      mod_port_actions[act].set, nerr, sizeof(nerr))) {
		st_bridge_free(nb);
		return errstr("%s", nerr);
	}
	err = commit(c, nb);
	/* b is still the bridge: put the kernel back as it was */
	if (err && port_config_apply(b->ports[idx].ifname, mod_port_actions[act].bit,
				     b->ports[idx].config & mod_port_actions[act].bit,
				     nerr, sizeof(nerr)))
		log_warn("mod-port %s %s: cannot undo: %s", b->name, argv[1], nerr);
	return err;
}

/* set-br BRIDGE offload=on|off|hw */
static char *cmd_set_br(struct cmd_ctx *c, char **argv, int argc)
{
	const char *v = !strncmp(argv[1], "offload=", 8) ? argv[1] + 8 : NULL;
	char nerr[ERRLEN] = "";
	struct st_bridge *nb;
	char *err;
	int mode;

	(void)argc;
	if (!v)
		return errstr("unknown setting '%s' (offload=on|off|hw)", argv[1]);
	mode = offload_parse(v);
	if (mode < 0)
		return errstr("bad offload '%s' (on, off or hw)", v);
	err = offload_check(mode, &c->st->features);
	if (err)
		return err;
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	nb->offload = mode;
	/* try the flowtables first: hw fails here when a device cannot */
	if (offload_apply(c->st, nb, NULL, nerr, sizeof(nerr))) {
		st_bridge_free(nb);
		if (mode == OFFLOAD_HW)
			return errstr("offload=hw: the kernel refused hardware offload on the ports of '%s' (%s)",
				    argv[0], nerr);
		return errstr("offload=%s: %s", v, nerr);
	}
	return commit(c, nb);
}

/* ---- ovs-vsctl's queries: list-br, list-ports, br-exists, port-to-br ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The n names, sorted as ovs-vsctl sorts them, one a line. */
static char *print_sorted(struct cmd_ctx *c, const char **names, int n)
{
	qsort(names, n, sizeof(*names), cmp_names);
	for (int i = 0; i < n; i++)
		fprintf(c->out, "%s\n", names[i]);
	return NULL;
}

static char *cmd_list_br(struct cmd_ctx *c, char **argv, int argc)
{
	const char **names = calloc(c->st->n_bridges + 1, sizeof(*names));
	char *err;

	(void)argv;
	(void)argc;
	if (!names)
		return errstr("out of memory");
	for (int i = 0; i < c->st->n_bridges; i++)
		names[i] = c->st->bridges[i]->name;
	err = print_sorted(c, names, c->st->n_bridges);
	free(names);
	return err;
}

/* The interfaces attached as ports, not the bridge device (LOCAL), as
 * ovs-vsctl leaves out the bridge's own port. */
static char *cmd_list_ports(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	const char **names;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	names = calloc(b->n_ports + 1, sizeof(*names));
	if (!names)
		return errstr("out of memory");
	for (int i = 0; i < b->n_ports; i++)
		names[i] = b->ports[i].ifname;
	err = print_sorted(c, names, b->n_ports);
	free(names);
	return err;
}

/* Prints "no" for a bridge brflowd lacks: brflowctl turns it into exit
 * status 2 and prints nothing, as ovs-vsctl br-exists does. */
static char *cmd_br_exists(struct cmd_ctx *c, char **argv, int argc)
{
	(void)argc;
	if (!st_find_bridge(c->st, argv[0]))
		fprintf(c->out, "no\n");
	return NULL;
}

/* port-to-br and iface-to-br: a port is its one interface here */
static char *cmd_port_to_br(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b = st_find_port_owner(c->st, argv[0]);

	(void)argc;
	if (!b)
		return errstr("no port named '%s'", argv[0]);
	fprintf(c->out, "%s\n", b->name);
	return NULL;
}

/* set-iface IFACE KEY=VALUE...: the interface options ovs-vsctl sets in
 * the Interface table (ingress policing, st_iface_option), all or none,
 * on whichever bridge has IFACE. */
static char *cmd_set_iface(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b = st_find_port_owner(c->st, argv[0]), *nb;
	char *err = NULL;
	int idx;

	if (!b)
		return errstr("no port named '%s'", argv[0]);
	nb = st_bridge_clone(b);
	if (!nb)
		return errstr("out of memory");
	idx = st_port_index(nb, argv[0]);
	for (int i = 1; i < argc && !err; i++)
		err = st_iface_option(&nb->ports[idx], argv[i]);
	if (err) {
		st_bridge_free(nb);
		return err;
	}
	return commit(c, nb);
}

/* get-iface IFACE [KEY]: the options set-iface sets, KEY=VALUE a line (0
 * when not set), or KEY's value alone, as ovs-vsctl get prints it. */
static char *cmd_get_iface(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b = st_find_port_owner(c->st, argv[0]);
	const struct compile_port *p;
	const char *key;
	uint32_t v;

	if (!b)
		return errstr("no port named '%s'", argv[0]);
	p = &b->ports[st_port_index(b, argv[0])];
	if (argc > 1) {
		if (!st_iface_option_get(p, argv[1], &v))
			return errstr("unknown interface option '%s' (ingress_policing_rate, "
				      "ingress_policing_burst, ingress_policing_kpkts_rate or "
				      "ingress_policing_kpkts_burst)", argv[1]);
		fprintf(c->out, "%u\n", v);
		return NULL;
	}
	for (int i = 0; (key = st_iface_option_key(i)); i++)
		if (st_iface_option_get(p, key, &v))
			fprintf(c->out, "%s=%u\n", key, v);
	return NULL;
}

/* ---- conntrack timeout policies by zone (ovs-vsctl add-zone-tp) ---- */

/* add-zone-tp BRIDGE zone=N KEY=SECS...: the zone's policy, replacing its
 * old one */
static char *cmd_add_zone_tp(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	struct zone_tp tp;
	char *err = zone_tp_parse(argv + 1, argc - 1, &tp);

	if (err)
		return err;
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	if (st_set_zone_tp(nb, &tp)) {
		st_bridge_free(nb);
		return errstr("out of memory");
	}
	return commit(c, nb);
}

static char *cmd_del_zone_tp(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	unsigned int zone;
	char end;
	char *err;

	(void)argc;
	if (sscanf(argv[1], "zone=%u%c", &zone, &end) != 1 || zone > 65535)
		return errstr("'%s' must look like zone=N (0-65535)", argv[1]);
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	if (!st_del_zone_tp(nb, (uint16_t)zone)) {
		st_bridge_free(nb);
		return c->if_exists ? NULL :
		       errstr("zone %u of bridge '%s' has no timeout policy", zone, argv[0]);
	}
	return commit(c, nb);
}

/* As ovs-vsctl list-zone-tp: "Zone:N, Timeout Policies: KEY=SECS ..." */
static char *cmd_list_zone_tp(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	for (int i = 0; i < b->n_zone_tps; i++) {
		fprintf(c->out, "Zone:%u, Timeout Policies:", b->zone_tps[i].zone);
		zone_tp_print_keys(&b->zone_tps[i], c->out);
		fputc('\n', c->out);
	}
	return NULL;
}

/* ---- conntrack connection limits by zone (ovs-vsctl set-zone-limit) ---- */

/* set-zone-limit BRIDGE ZONE|default LIMIT */
static char *cmd_set_zone_limit(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	struct zone_limit zl;
	char *err = zone_limit_parse(argv[1], argv[2], &zl);

	(void)argc;
	if (err)
		return err;
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	if (st_set_zone_limit(nb, &zl)) {
		st_bridge_free(nb);
		return errstr("out of memory");
	}
	return commit(c, nb);
}

static char *cmd_del_zone_limit(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *nb;
	int32_t zone;
	char *err = zone_limit_parse_zone(argv[1], &zone);

	(void)argc;
	if (err)
		return err;
	err = clone_bridge(c, argv[0], &nb);
	if (err)
		return err;
	if (!st_del_zone_limit(nb, zone)) {
		st_bridge_free(nb);
		if (c->if_exists)
			return NULL;
		return zone == ZONE_LIMIT_DEFAULT ?
		       errstr("bridge '%s' has no default limit", argv[0]) :
		       errstr("zone %d of bridge '%s' has no limit", zone, argv[0]);
	}
	return commit(c, nb);
}

/* As ovs-vsctl list-zone-limits: "Default, Limit: N", then
 * "Zone: N, Limit: N" by zone */
static char *cmd_list_zone_limits(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	for (int i = 0; i < b->n_zone_limits; i++) {
		const struct zone_limit *zl = &b->zone_limits[i];

		if (zl->zone == ZONE_LIMIT_DEFAULT)
			fprintf(c->out, "Default, Limit: %u\n", zl->limit);
		else
			fprintf(c->out, "Zone: %d, Limit: %u\n", zl->zone, zl->limit);
	}
	return NULL;
}

/* show [BRIDGE]: every bridge, or the one an ovs-ofctl user names */
static char *cmd_show(struct cmd_ctx *c, char **argv, int argc)
{
	const struct nft_features *ft = &c->st->features;
	struct st_bridge *only = NULL;

	if (argc) {
		char *err = find_bridge(c, argv[0], &only);

		if (err)
			return err;
	}
	for (int i = 0; i < c->st->n_bridges; i++) {
		const struct st_bridge *b = c->st->bridges[i];

		if (only && b != only)
			continue;
		fprintf(c->out, "%s:\n", b->name);
		for (int p = 0; p < b->n_ports; p++) {
			char opts[192];

			port_desc_print(c->out, b->ports[p].ofport, b->ports[p].ifname,
					b->ports[p].config);
			st_iface_options_format(&b->ports[p], opts, sizeof(opts));
			if (b->ports[p].police_rate_kbps || b->ports[p].police_kpkts_rate)
				fprintf(c->out, "     policing:  %s\n", opts);
		}
		port_desc_print(c->out, OFPP_LOCAL, b->name, b->local_config);
		fprintf(c->out, " offload: %s%s\n", offload_name(b->offload, ft),
			b->offload == OFFLOAD_DEFAULT ? " (default)" : "");
		if (b->loaded)
			fprintf(c->out, " conntrack: %s\n", b->loaded->bridge_ct ?
				"bridge family (nf_conntrack_bridge)" :
				"inet family through br_netfilter");
	}
	fprintf(c->out, "kernel features:\n"
		" conntrack in bridge family: %s\n"
		" flowtables: %s\n"
		" nft queue statement: %s\n"
		" conntrack helpers: %s\n"
		" br_netfilter: %s\n",
		ft->bridge_ct ? "yes" : "no", ft->flowtable ? "yes" : "no",
		ft->queue ? "yes" : "no", ft->ct_helper ? "yes" : "no",
		ft->br_netfilter ? "yes" : "no");
	fprintf(c->out, " xt NFQUEUE (nft_compat): %s\n", ft->xt_nfqueue ? "yes" : "no");
	if (ft->bridge_ct)
		fprintf(c->out, "mechanisms:\n"
			" connection tracking: bridge family (nf_conntrack_bridge), measured faster than br_netfilter (docs/performance.md); inet family through br_netfilter for flow sets with NAT, alg=, dpi() or LOCAL\n");
	else
		fprintf(c->out, "mechanisms:\n"
			" connection tracking: inet family through br_netfilter%s\n",
			ft->br_netfilter ? "" : " (missing: br_netfilter)");
	fprintf(c->out,
		" dpi(): %s\n"
		" alg=: %s\n"
		" established fast path: %s\n",
		ft->queue ? "nft queue statement" :
		ft->xt_nfqueue ? "xt NFQUEUE through nft_compat" :
		"none: flows with dpi() are refused",
		ft->ct_helper ? "ct helper objects" : "none: flows with alg= are refused",
		ft->flowtable ? "flowtable for routed connections between bridges (set-br offload=)" :
		"none (kernel lacks nf_flow_table)");
	fprintf(c->out, " bridged (layer 2) offload: %s\n",
		ft->bridge_flowtable ? "bridge-family flowtable found, not used yet" :
		"none (kernel has no bridge-family flowtable)");
	return NULL;
}

/* ---- dump-ports ---- */

static int ofport_cmp(const void *a, const void *b)
{
	const struct compile_port *x = a, *y = b;

	return (x->ofport > y->ofport) - (x->ofport < y->ofport);
}

/* The ports dump-ports and dump-ports-desc print: all of b's, or the one
 * 'want' names (number, interface name, LOCAL or the bridge's name), by
 * number, LOCAL last with LOCAL's config; a malloc'd array in *ports. */
static char *select_ports(const struct st_bridge *b, const char *want,
			  struct compile_port **ports, int *n)
{
	struct compile_port *sel = calloc(b->n_ports + 1, sizeof(*sel));

	*n = 0;
	if (!sel)
		return errstr("out of memory");
	for (int i = 0; i < b->n_ports; i++) {
		char num[8];

		snprintf(num, sizeof(num), "%u", b->ports[i].ofport);
		if (!want || !strcmp(want, num) || !strcmp(want, b->ports[i].ifname))
			sel[(*n)++] = b->ports[i];
	}
	qsort(sel, *n, sizeof(*sel), ofport_cmp);
	if (!want || !strcmp(want, "LOCAL") || !strcmp(want, b->name)) {
		sel[*n] = (struct compile_port){ .ofport = OFPP_LOCAL, .config = b->local_config };
		snprintf(sel[*n].ifname, sizeof(sel[*n].ifname), "%s", b->name);
		(*n)++;
	}
	if (!*n) {
		free(sel);
		return errstr("no port '%s' on bridge '%s'", want, b->name);
	}
	*ports = sel;
	return NULL;
}


/* dump-ports BR [PORT] (desc false): the kernel's counters as ovs-ofctl's
 * OFPST_PORT reply, with each port's duration from OpenFlow 1.3 on;
 * dump-ports-desc BR [PORT] (desc true): each port as show describes it,
 * as its OFPST_PORT_DESC reply. */
static char *print_ports(struct cmd_ctx *c, char **argv, int argc, bool desc)
{
	struct compile_port *ports = NULL;
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);
	int64_t now = st_now_ms();
	int n = 0;

	if (!err)
		err = select_ports(b, argc > 1 ? argv[1] : NULL, &ports, &n);
	if (err)
		return err;
	put_reply(c, desc ? "OFPST_PORT_DESC" : "OFPST_PORT");
	if (desc)
		fputc('\n', c->out);
	else
		fprintf(c->out, " %d ports\n", n);
	for (int i = 0; i < n; i++) {
		if (desc) {
			port_desc_print(c->out, ports[i].ofport, ports[i].ifname, ports[i].config);
			continue;
		}
		port_stats_print(c->out, ports[i].ofport, ports[i].ifname);
		if (c->openflow >= 13) {
			put_duration(c->out, "           duration=", now -
				     port_added_ms(c->st, b->name, ports[i].ifname));
			fputc('\n', c->out);
		}
	}
	free(ports);
	return NULL;
}

static char *cmd_dump_ports(struct cmd_ctx *c, char **argv, int argc)
{
	return print_ports(c, argv, argc, false);
}

static char *cmd_dump_ports_desc(struct cmd_ctx *c, char **argv, int argc)
{
	return print_ports(c, argv, argc, true);
}

/* A port's queues, 'want' only unless it is < 0. */
static bool queue_selected(const struct queue_stat *q, long want)
{
	return want < 0 || q->queue == (uint32_t)want;
}

/* queue-stats BR [PORT [QUEUE]]: the port's (ANY or ALL: every port's)
 * egress queues, the classes 1:N+1 under each port's root qdisc 1:, as
 * ovs-ofctl's OFPST_QUEUE reply, which counts them first. */
static char *cmd_queue_stats(struct cmd_ctx *c, char **argv, int argc)
{
	const char *port = argc > 1 ? argv[1] : NULL;
	struct compile_port *ports = NULL;
	struct queue_stat **q = NULL;
	char nerr[ERRLEN] = "";
	struct st_bridge *b;
	int *nq = NULL, n = 0, found = 0;
	long want = -1;
	char *err;

	if (port && (!strcmp(port, "ANY") || !strcmp(port, "ALL")))
		port = NULL;
	if (argc > 2 && strcmp(argv[2], "ALL")) {
		char *end;

		errno = 0;
		want = strtol(argv[2], &end, 0);
		if (errno || *end || end == argv[2] || want < 0 || want > FLOW_MAX_QUEUE)
			return errstr("invalid queue '%s' (0-%u or ALL)", argv[2],
				      FLOW_MAX_QUEUE);
	}
	err = find_bridge(c, argv[0], &b);
	if (!err)
		err = select_ports(b, port, &ports, &n);
	if (err)
		return err;
	q = calloc((size_t)n, sizeof(*q));
	nq = calloc((size_t)n, sizeof(*nq));
	if (!q || !nq)
		err = errstr("out of memory");
	for (int i = 0; i < n && !err; i++) {
		if (queue_stats_read(ports[i].ifname, &q[i], &nq[i], nerr, sizeof(nerr)))
			err = errstr("%s", nerr);
		for (int k = 0; !err && k < nq[i]; k++)
			found += queue_selected(&q[i][k], want);
	}
	if (!err && want >= 0 && !found)
		err = port ? errstr("port %s has no queue %ld (OFPQOFC_BAD_QUEUE)", port, want) :
			     errstr("no port has queue %ld (OFPQOFC_BAD_QUEUE)", want);
	if (!err) {
		put_reply(c, "OFPST_QUEUE");
		fprintf(c->out, " %d queues\n", found);
	}
	for (int i = 0; i < n && !err; i++)
		for (int k = 0; k < nq[i]; k++) {
			if (!queue_selected(&q[i][k], want))
				continue;
			if (ports[i].ofport == OFPP_LOCAL)
				fprintf(c->out, "  port LOCAL");
			else
				fprintf(c->out, "  port %u", ports[i].ofport);
			/* brflow does not know when the class was made */
			fprintf(c->out, " queue %u: bytes=%" PRIu64 ", pkts=%" PRIu64
				", errors=%" PRIu64 ", duration=?\n", q[i][k].queue,
				q[i][k].bytes, q[i][k].packets, q[i][k].drops);
		}
	for (int i = 0; q && i < n; i++)
		free(q[i]);
	free(q);
	free(nq);
	free(ports);
	return err;
}

/* ---- conntrack ---- */

/* ---- the bridge's MAC learning table ---- */

/* An FDB entry's port as ovs-appctl fdb/show names it: the OpenFlow port
 * number of a port added with add-port, else the interface's name (the
 * bridge's own addresses are permanent and never listed). */
static void fdb_port_of(int ifindex, char *buf, size_t len, void *arg)
{
	char name[IF_NAMESIZE] = "";
	uint32_t ofport = fdb_entry_port(arg, ifindex, name);

	if (ofport)
		snprintf(buf, len, "%u", ofport);
	else
		snprintf(buf, len, "%s", name);
}

static char *cmd_fdb_show(struct cmd_ctx *c, char **argv, int argc)
{
	struct fdb_entry *entries = NULL;
	char nerr[ERRLEN] = "";
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);
	int n;

	(void)argc;
	if (err)
		return err;
	if (fdb_read(b->name, false, &entries, &n, nerr, sizeof(nerr)))
		return errstr("%s", nerr);
	if (fdb_print(c->out, entries, n, fdb_port_of, b))
		err = errstr("out of memory");
	free(entries);
	return err;
}

static char *cmd_fdb_flush(struct cmd_ctx *c, char **argv, int argc)
{
	char nerr[ERRLEN] = "";
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	if (fdb_flush(b->name, nerr, sizeof(nerr)))
		return errstr("%s", nerr);
	fputs("table successfully flushed\n", c->out);
	return NULL;
}

static char *cmd_dump_conntrack(struct cmd_ctx *c, char **argv, int argc)
{
	char nerr[ERRLEN] = "";
	int zone;
	char *err = parse_zone_arg(argv, argc, &zone);

	if (err)
		return err;
	if (conntrack_dump(c->out, zone, c->ct_dump, nerr, sizeof(nerr)))
		return errstr("%s", nerr);
	return NULL;
}

/* ct-stats-show [zone=N] [verbose], in either order (as dpctl takes them) */
static char *cmd_ct_stats_show(struct cmd_ctx *c, char **argv, int argc)
{
	char nerr[ERRLEN] = "";
	bool verbose = false;
	int zone = -1;

	for (int i = 0; i < argc; i++) {
		char *err;

		if (!strcmp(argv[i], "verbose")) {
			verbose = true;
			continue;
		}
		if (strncmp(argv[i], "zone=", 5))
			return errstr("unexpected argument '%s'; usage: %s", argv[i],
				      "ct-stats-show [zone=N] [verbose]");
		err = parse_zone_arg(argv + i, 1, &zone);
		if (err)
			return err;
	}
	if (conntrack_stats(c->out, zone, verbose, nerr, sizeof(nerr)))
		return errstr("%s", nerr);
	return NULL;
}

/* [zone=N] [ORIG-TUPLE [REPLY-TUPLE]], as ovs-ofctl ct-flush takes them. */
static char *parse_ct_filter(char **argv, int argc, struct ct_filter *f)
{
	int zone_given = argc && !strncmp(argv[0], "zone=", 5);
	char *err = parse_zone_arg(argv, zone_given, &f->zone);

	argv += zone_given;
	argc -= zone_given;
	if (!err && argc > 2)
		err = errstr("unexpected argument '%s'; usage: %s", argv[2],
			   "flush-conntrack [zone=N] [ORIG-TUPLE [REPLY-TUPLE]]");
	if (!err)
		err = ct_tuple_parse(argc > 0 ? argv[0] : "", &f->orig);
	if (!err)
		err = ct_tuple_parse(argc > 1 ? argv[1] : "", &f->reply);
	return err;
}

static char *cmd_flush_conntrack(struct cmd_ctx *c, char **argv, int argc)
{
	char nerr[ERRLEN] = "";
	struct ct_filter f;
	char *err = parse_ct_filter(argv, argc, &f);

	(void)c;
	if (err)
		return err;
	if (conntrack_flush(&f, nerr, sizeof(nerr)))
		return errstr("%s", nerr);
	return NULL;
}

/* ct-flush BR [zone=N] [TUPLE [REPLY]], ovs-ofctl's spelling: the
 * bridge is checked, the flush is the namespace's, as flush-conntrack's. */
static char *cmd_ct_flush(struct cmd_ctx *c, char **argv, int argc)
{
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	return err ? err : cmd_flush_conntrack(c, argv + 1, argc - 1);
}

/* ct-flush-zone BR N, ovs-ofctl's older command for one zone. */
static char *cmd_ct_flush_zone(struct cmd_ctx *c, char **argv, int argc)
{
	char arg[32], *zone_arg[1] = { arg };
	struct st_bridge *b;
	char *err = find_bridge(c, argv[0], &b);

	(void)argc;
	if (err)
		return err;
	snprintf(arg, sizeof(arg), "zone=%.20s", argv[1]);
	return cmd_flush_conntrack(c, zone_arg, 1);
}

/* ---- the daemon's own log ---- */

/* log-level [LEVEL]: prints brflowd's log level, or sets it until the
 * daemon stops (ovs-appctl vlog/set's job; --log-level sets it at start). */
static char *cmd_log_level(struct cmd_ctx *c, char **argv, int argc)
{
	enum log_level was = log_get_level(), level;

	if (!argc) {
		fprintf(c->out, "%s\n", log_level_name(was));
		return NULL;
	}
	if (log_level_parse(argv[0], &level))
		return errstr("invalid log level '%s' (error, warn, info or debug)", argv[0]);
	log_set_level(level);
	if (level != was)
		log_info("log level %s (was %s), set by brflowctl", log_level_name(level),
			 log_level_name(was));
	fprintf(c->out, "%s (was %s)\n", log_level_name(level), log_level_name(was));
	return NULL;
}

/* ---- dispatch ---- */

static const struct command commands[] = {
	{ "add-br", 1, 1, "add-br BRIDGE", cmd_add_br },
	{ "del-br", 1, 1, "del-br BRIDGE", cmd_del_br },
	{ "add-port", 2, 3, "add-port BRIDGE IFACE [ofport=N]", cmd_add_port },
	{ "del-port", 1, 2, "del-port [BRIDGE] IFACE", cmd_del_port },
	{ "mod-port", 3, 3, "mod-port BRIDGE PORT ACTION", cmd_mod_port },
	{ "show", 0, 1, "show [BRIDGE]", cmd_show },
	{ "list-br", 0, 0, "list-br", cmd_list_br },
	{ "add-zone-tp", 3, 2 + TP_KEYS, "add-zone-tp BRIDGE zone=N KEY=SECS...",
	  cmd_add_zone_tp },
	{ "del-zone-tp", 2, 2, "del-zone-tp BRIDGE zone=N", cmd_del_zone_tp },
	{ "list-zone-tp", 1, 1, "list-zone-tp BRIDGE", cmd_list_zone_tp },
	{ "set-zone-limit", 3, 3, "set-zone-limit BRIDGE ZONE|default LIMIT",
	  cmd_set_zone_limit },
	{ "del-zone-limit", 2, 2, "del-zone-limit BRIDGE ZONE|default", cmd_del_zone_limit },
	{ "list-zone-limits", 1, 1, "list-zone-limits BRIDGE", cmd_list_zone_limits },
	{ "list-ports", 1, 1, "list-ports BRIDGE", cmd_list_ports },
	{ "br-exists", 1, 1, "br-exists BRIDGE", cmd_br_exists },
	{ "port-to-br", 1, 1, "port-to-br PORT", cmd_port_to_br },
	{ "iface-to-br", 1, 1, "iface-to-br IFACE", cmd_port_to_br },
	{ "set-iface", 2, 8, "set-iface IFACE KEY=VALUE...", cmd_set_iface },
	{ "get-iface", 1, 2, "get-iface IFACE [KEY]", cmd_get_iface },
	{ "set-br", 2, 2, "set-br BRIDGE offload=on|off|hw", cmd_set_br },
	{ "add-flow", 2, 2, "add-flow BRIDGE FLOW", cmd_add_flow },
	{ "add-flows", 2, 2, "add-flows BRIDGE FILE", cmd_add_flows },
	{ "del-flows", 1, 2, "del-flows BRIDGE [FLOW]", cmd_del_flows },
	{ "mod-flows", 2, 2, "mod-flows BRIDGE FLOW", cmd_mod_flows },
	{ "replace-flows", 2, 2, "replace-flows BRIDGE FILE", cmd_replace_flows },
	{ "dump-flows", 1, 2, "dump-flows BRIDGE [FLOW]", cmd_dump_flows },
	{ "dump-aggregate", 1, 2, "dump-aggregate BRIDGE [FLOW]", cmd_dump_aggregate },
	{ "dump-ports", 1, 2, "dump-ports BRIDGE [PORT]", cmd_dump_ports },
	{ "dump-ports-desc", 1, 2, "dump-ports-desc BRIDGE [PORT]", cmd_dump_ports_desc },
	{ "queue-stats", 1, 3, "queue-stats BRIDGE [PORT [QUEUE]]", cmd_queue_stats },
	{ "diff-flows", 2, 2, "diff-flows BRIDGE FILE", cmd_diff_flows },
	{ "compile", 1, 1, "compile BRIDGE", cmd_compile },
	{ "trace", 2, 2, "trace BRIDGE FLOW", cmd_trace },
	{ "add-group", 2, 2, "add-group BRIDGE GROUP", cmd_add_group },
	{ "bundle", 2, 2, "bundle BRIDGE FILE", cmd_bundle },
	{ "log-level", 0, 1, "log-level [error|warn|info|debug]", cmd_log_level },
	{ "add-groups", 2, 2, "add-groups BRIDGE FILE", cmd_add_groups },
	{ "mod-group", 2, 2, "mod-group BRIDGE GROUP", cmd_mod_group },
	{ "insert-buckets", 2, 2, "insert-buckets BRIDGE GROUP", cmd_insert_buckets },
	{ "remove-buckets", 2, 2, "remove-buckets BRIDGE GROUP", cmd_remove_buckets },
	{ "del-groups", 1, 2, "del-groups BRIDGE [group_id=N]", cmd_del_groups },
	{ "dump-groups", 1, 2, "dump-groups BRIDGE [group_id=N]", cmd_dump_groups },
	{ "dump-group-stats", 1, 2, "dump-group-stats BRIDGE [group_id=N]",
	  cmd_dump_group_stats },
	{ "add-meter", 2, 2, "add-meter BRIDGE METER", cmd_add_meter },
	{ "mod-meter", 2, 2, "mod-meter BRIDGE METER", cmd_mod_meter },
	{ "del-meters", 1, 2, "del-meters BRIDGE [meter=N]", cmd_del_meters },
	{ "dump-meters", 1, 2, "dump-meters BRIDGE [meter=N]", cmd_dump_meters },
	{ "meter-stats", 1, 2, "meter-stats BRIDGE [meter=N]", cmd_meter_stats },
	{ "fdb-show", 1, 1, "fdb-show BRIDGE", cmd_fdb_show },
	{ "fdb-flush", 1, 1, "fdb-flush BRIDGE", cmd_fdb_flush },
	{ "dump-conntrack", 0, 1, "dump-conntrack [zone=N]", cmd_dump_conntrack },
	{ "ct-stats-show", 0, 2, "ct-stats-show [zone=N] [verbose]", cmd_ct_stats_show },
	{ "flush-conntrack", 0, 3, "flush-conntrack [zone=N] [ORIG-TUPLE [REPLY-TUPLE]]",
	  cmd_flush_conntrack },
	{ "ct-flush", 1, 4, "ct-flush BRIDGE [zone=N] [ORIG-TUPLE [REPLY-TUPLE]]", cmd_ct_flush },
	{ "ct-flush-zone", 2, 2, "ct-flush-zone BRIDGE ZONE", cmd_ct_flush_zone },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* "--sort[=FIELD]" or "--rsort[=FIELD]": adds the key to c->sort and
 * returns true (*err set if FIELD is no field), or false for another
 * option. */
/* trace's --ct-next=FLAGS: true when 'arg' is one (*err set if bad). */
static bool ct_next_option(struct cmd_ctx *c, const char *arg, char **err)
{
	char *bad;

	if (strncmp(arg, "--ct-next=", 10))
		return false;
	if (c->n_ct_next == TRACE_MAX_CT_NEXT) {
		*err = errstr("more than %d --ct-next options", TRACE_MAX_CT_NEXT);
		return true;
	}
	bad = flow_trace_parse_ct_state(arg + 10, &c->ct_next[c->n_ct_next++]);
	if (bad) {
		*err = errstr("--ct-next: %s", bad);
		free(bad);
	}
	return true;
}

static bool sort_option(struct cmd_ctx *c, const char *arg, char **err)
{
	static const char *const names[] = { "--sort", "--rsort" };

	for (int desc = 0; desc < 2; desc++) {
		size_t n = strlen(names[desc]);
		const char *field;

		if (strncmp(arg, names[desc], n) || (arg[n] && arg[n] != '='))
			continue;
		field = arg[n] ? arg + n + 1 : NULL;
		if (field && !*field)
			*err = errstr("missing field name in %s", arg);
		else if (flow_sort_add(&c->sort, field, desc))
			*err = errstr("unknown field '%s' in %s", field, arg);
		return true;
	}
	return false;
}

/* --openflow=VERSION (10 to 15, brflowctl's -O): the flow_mod semantics
 * and dump format of that OpenFlow version.  false with *err set for any
 * other value. */
static bool openflow_option(struct cmd_ctx *c, const char *version, char **err)
{
	static const char *const versions[] = { "10", "11", "12", "13", "14", "15" };

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(version, versions[i])) {
			c->openflow = 10 + (int)i;
			return true;
		}
	*err = errstr("--openflow=%s: unknown OpenFlow version (10 to 15)", version);
	return false;
}

/* Global options come first; returns how many there were, or -1 with
 * *err naming an unknown one. */
static int parse_globals(struct cmd_ctx *c, int argc, char **argv, char **err)
{
	int i;

	for (i = 0; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--bundle"))
			c->bundle = true;
		else if (!strcmp(argv[i], "--strict"))
			c->strict = true;
		else if (!strcmp(argv[i], "--may-exist"))
			c->may_exist = true;
		else if (!strcmp(argv[i], "--if-exists"))
			c->if_exists = true;
		else if (!strcmp(argv[i], "--no-stats"))
			c->no_stats = true;
		else if (!strcmp(argv[i], "--flows-file"))
			c->flows_file = true;
		else if (!strncmp(argv[i], "--openflow=", 11)) {
			if (!openflow_option(c, argv[i] + 11, err))
				return -1;
		}
		else if (!strcmp(argv[i], "--more"))
			c->ct_dump |= CT_DUMP_MORE;
		else if (!strcmp(argv[i], "--statistics"))
			c->ct_dump |= CT_DUMP_STATS;
		else if (!strcmp(argv[i], "--names") || !strcmp(argv[i], "--no-names"))
			c->names = argv[i][2] == 'n' && argv[i][3] == 'a';
		else if (ct_next_option(c, argv[i], err)) {
			if (*err)
				return -1;
		} else if (sort_option(c, argv[i], err)) {
			if (*err)
				return -1;
		} else {
			*err = errstr("unknown option '%s'", argv[i]);
			return -1;
		}
	}
	return i;
}

static char *dispatch(struct cmd_ctx *c, int argc, char **argv)
{
	const struct command *cmd;
	char *err = NULL;
	int n = parse_globals(c, argc, argv, &err);

	if (n < 0)
		return err;
	argv += n;
	argc -= n;
	if (!argc)
		return errstr("no command given");
	cmd = find_command(argv[0]);
	if (!cmd)
		return errstr("unknown command '%s'", argv[0]);
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args)
		return errstr("usage: %s", cmd->usage);
	log_debug("command %s", argv[0]);
	return cmd->run(c, argv + 1, argc - 1);
}

int commands_run(struct st_state *st, int argc, char **argv, char **out)
{
	struct cmd_ctx c = { .st = st, .openflow = 10 };
	size_t len = 0;
	char *buf = NULL, *err;

	c.out = open_memstream(&buf, &len);
	if (!c.out) {
		*out = strdup("out of memory");
		return -1;
	}
	err = dispatch(&c, argc, argv);
	fclose(c.out);
	if (err) {
		/* One line, as the client prints it after "CMD: ". */
		err[strcspn(err, "\n")] = '\0';
		free(buf);
		*out = err;
		return -1;
	}
	*out = buf ? buf : strdup("");
	return 0;
}

/* ---- start-up ---- */

/* mod-port's kernel bits again (add-port set the port up and a new
 * bridge port floods). */
static int restore_port_config(const struct compile_port *p, char *nerr, size_t len)
{
	if (p->config & PORT_CONFIG_DOWN &&
	    port_config_apply(p->ifname, PORT_CONFIG_DOWN, true, nerr, len))
		return -1;
	if (p->config & PORT_CONFIG_NO_FLOOD &&
	    port_config_apply(p->ifname, PORT_CONFIG_NO_FLOOD, true, nerr, len))
		return -1;
	return 0;
}

static void restore_ports(const struct st_bridge *b)
{
	char nerr[ERRLEN] = "";

	for (int i = 0; i < b->n_ports; i++) {
		const char *ifc = b->ports[i].ifname;

		if (!iface_exists(ifc))
			log_warn("bridge %s: port %u(%s) is missing; kept in state",
				 b->name, b->ports[i].ofport, ifc);
		else if (bridge_add_port(b->name, ifc, nerr, sizeof(nerr)))
			log_warn("bridge %s: port %s: %s", b->name, ifc, nerr);
		else if (restore_port_config(&b->ports[i], nerr, sizeof(nerr)))
			log_warn("bridge %s: port %s: %s", b->name, ifc, nerr);
	}
}

static void restore_one(struct st_bridge *b, void *arg)
{
	struct st_state *st = arg;
	char nerr[ERRLEN] = "";
	char *err;

	if (bridge_add(b->name, nerr, sizeof(nerr))) {
		log_err("bridge %s: %s; its ruleset is not loaded", b->name, nerr);
		goto keep;
	}
	restore_ports(b);
	err = st_bridge_commit(st, b);
	if (!err) {
		log_info("bridge %s: %d ports, %d flows loaded", b->name,
			 b->n_ports, b->n_flows);
		return;
	}
	log_err("bridge %s: %s; the kernel keeps its previous ruleset",
		b->name, err);
	free(err);
keep:
	if (st_bridge_adopt(st, b))
		st_bridge_free(b);
}

void commands_restore(struct st_state *st)
{
	st_load_dir(st, restore_one, st);
}

/* ---- shutdown ---- */

static bool port_is_up(const struct compile_port *p)
{
	uint8_t mac[6];
	bool up, carrier;

	return !iface_link_state(p->ifname, mac, &up, &carrier) && up;
}

void commands_keep_ports_up(struct st_state *st)
{
	for (int i = 0; i < st->n_bridges; i++) {
		const struct st_bridge *b = st->bridges[i];
		struct st_bridge *nb = NULL;
		char *err;

		for (int j = 0; j < b->n_ports; j++) {
			if (!(b->ports[j].config & PORT_CONFIG_DOWN) ||
			    !port_is_up(&b->ports[j]))
				continue;
			if (!nb && !(nb = st_bridge_clone(b))) {
				log_err("bridge %s: out of memory", b->name);
				return;
			}
			nb->ports[j].config &= ~PORT_CONFIG_DOWN;
			log_info("bridge %s: port %s was brought up since mod-port down; it starts up next time",
				 b->name, b->ports[j].ifname);
		}
		/* st->bridges[i] becomes nb: b is not used past here */
		if (nb && (err = st_bridge_commit(st, nb))) {
			log_warn("bridge %s: cannot save its ports' state: %s",
				 nb->name, err);
			st_bridge_free(nb);
			free(err);
		}
	}
}
