/* Replacing a loaded ruleset (rules/nftir_diff.c): what a full reload may
 * leave in the kernel.  Each case compiles a flow table twice, the second
 * time changed, and checks what nir_diff_build keeps and whether flow
 * statistics must be read from the kernel first. */
#include "../../rules/compile.h"
#include "../../rules/nftir_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define MAX_FLOWS 2600

static const char *const base[] = {
	"table=0,priority=10,ip,actions=ct(table=1)",
	"table=0,priority=0,actions=drop",
	"table=1,priority=100,ct_state=+trk+est,actions=normal",
	"table=1,priority=70,ct_state=+trk+new,tcp,in_port=1,nw_src=10.0.0.5,tp_dst=22,actions=ct(commit),normal",
	"table=1,priority=70,ct_state=+trk+new,tcp,in_port=2,nw_src=10.0.0.6,tp_dst=22,actions=ct(commit),normal",
	"table=1,priority=70,ct_state=+trk+new,tcp,in_port=3,nw_src=10.0.0.7,tp_dst=443,actions=ct(commit),normal",
	"table=1,priority=0,actions=drop",
};
#define N_BASE ((int)(sizeof(base) / sizeof(base[0])))

struct table_input {
	struct flow flows[MAX_FLOWS];
	struct compile_flow cf[MAX_FLOWS];
	int n;
};

static const struct compile_port ports[] = {
	{ .ifname = "p1", .ofport = 1 },
	{ .ifname = "p2", .ofport = 2 },
	{ .ifname = "p3", .ofport = 3 },
};

static void add(struct table_input *t, const char *text, uint64_t id)
{
	char *err = flow_parse(text, &t->flows[t->n], NULL);

	if (err) {
		printf("not ok - setup: %s: %s\n", text, err);
		exit(1);
	}
	t->cf[t->n].id = id;
	t->cf[t->n].flow = &t->flows[t->n];
	t->n++;
}

/* The base flows (ids 1..N_BASE) and 'extra' generated set members. */
static void fill(struct table_input *t, int extra)
{
	char text[200];

	for (int i = 0; i < N_BASE; i++)
		add(t, base[i], (uint64_t)i + 1);
	for (int i = 0; i < extra; i++) {
		snprintf(text, sizeof(text), "table=1,priority=70,ct_state=+trk+new,tcp,"
			 "in_port=1,nw_src=10.1.%d.%d,tp_dst=80,actions=ct(commit),normal",
			 i / 250, i % 250 + 1);
		add(t, text, 1000 + (uint64_t)i);
	}
}

static void compile(struct table_input *t, struct nir_ruleset *rs)
{
	struct compile_input in = {
		.bridge = "br0", .n_ports = 3, .ports = ports,
		.n_flows = t->n, .flows = t->cf,
	};
	char *err;

	memset(rs, 0, sizeof(*rs));
	err = brflow_compile(&in, rs);
	if (err) {
		printf("not ok - setup: compile: %s\n", err);
		exit(1);
	}
}

static void free_table(struct table_input *t)
{
	for (int i = 0; i < t->n; i++)
		flow_free(&t->flows[i]);
	t->n = 0;
}

struct tally {
	int chains, chains_kept, counters, counters_kept;
	int sets, sets_kept, elems, elems_kept, biggest_size;
	int maps, maps_kept, map_elems, map_elems_kept;
	int short_stats; /* sets with statistics sized below max(256, 2n) */
};

static struct tally count(const struct nir_ruleset *rs, const struct nir_diff *d)
{
	struct tally c = { 0 };

	for (int t = 0; t < rs->n_tables; t++) {
		const struct nir_table *tb = &rs->tables[t];
		const struct nir_table_diff *td = &d->tables[t];

		for (int i = 0; i < tb->n_chains; i++) {
			c.chains++;
			c.chains_kept += td->chain_old[i] >= 0;
		}
		for (int i = 0; i < tb->n_counters; i++) {
			c.counters++;
			c.counters_kept += td->counter_old[i] >= 0;
		}
		for (int m = 0; m < tb->n_maps; m++) {
			c.maps++;
			c.maps_kept += td->map_old[m] >= 0;
			for (int e = 0; e < tb->maps[m].n_elems; e++) {
				c.map_elems++;
				c.map_elems_kept += td->map_elem_kept[m] && td->map_elem_kept[m][e];
			}
		}
		for (int s = 0; s < tb->n_sets; s++) {
			c.sets++;
			c.sets_kept += td->set_old[s] >= 0;
			if (tb->sets[s].size > c.biggest_size)
				c.biggest_size = tb->sets[s].size;
			if (tb->sets[s].counters &&
			    (tb->sets[s].size < NIR_STATS_SIZE_MIN ||
			     tb->sets[s].size < 2 * tb->sets[s].n_elems))
				c.short_stats++;
			for (int e = 0; e < tb->sets[s].n_elems; e++) {
				c.elems++;
				c.elems_kept += td->elem_kept[s] && td->elem_kept[s][e];
			}
		}
	}
	return c;
}

static void expect(const char *name, bool cond, const char *what)
{
	if (cond) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s: %s\n", name, what);
	failures++;
}

static struct table_input before, after;

/* Compiles 'before' and 'after', diffs them, checks with 'check'. */
static void run(const char *name, bool from_nothing,
		void (*check)(const char *, const struct tally *, const struct nir_diff *))
{
	struct nir_ruleset old, new;
	struct nir_diff d;
	struct tally c;

	compile(&before, &old);
	compile(&after, &new);
	if (nir_diff_build(NULL, &old, &d)) /* gives the old sets their sizes */
		exit(1);
	nir_diff_free(&d);
	if (nir_diff_build(from_nothing ? NULL : &old, &new, &d)) {
		printf("not ok - %s: out of memory\n", name);
		failures++;
	} else {
		c = count(&new, &d);
		check(name, &c, &d);
		nir_diff_free(&d);
	}
	nir_ruleset_free(&old);
	nir_ruleset_free(&new);
	free_table(&before);
	free_table(&after);
}

static void check_same(const char *name, const struct tally *c, const struct nir_diff *d)
{
	expect(name, c->chains_kept == c->chains && c->counters_kept == c->counters &&
	       c->sets_kept == c->sets && c->elems_kept == c->elems && c->elems > 0 &&
	       c->maps_kept == c->maps && c->map_elems_kept == c->map_elems &&
	       c->map_elems > 0 && !d->needs_carry && d->n_old_tables == d->n_tables,
	       "an unchanged flow table must keep every chain, counter, set, map and element");
}

static void check_one_more(const char *name, const struct tally *c, const struct nir_diff *d)
{
	expect(name, c->sets_kept == c->sets && c->elems_kept == c->elems - 1 &&
	       c->chains_kept == c->chains && !d->needs_carry,
	       "one new element, everything else kept, nothing to read");
}

static void check_moved(const char *name, const struct tally *c, const struct nir_diff *d)
{
	(void)c;
	expect(name, d->needs_carry,
	       "a flow whose counter moves must have its statistics read first");
}

static void check_fresh(const char *name, const struct tally *c, const struct nir_diff *d)
{
	expect(name, c->chains_kept == 0 && c->counters_kept == 0 && c->sets_kept == 0 &&
	       c->elems_kept == 0 && c->maps_kept == 0 && c->map_elems_kept == 0 &&
	       !d->needs_carry && c->biggest_size == 2 * 1203,
	       "with nothing loaded nothing is kept and a large set is sized twice its elements");
}

static void check_outgrown(const char *name, const struct tally *c, const struct nir_diff *d)
{
	(void)d;
	expect(name, c->sets_kept < c->sets && c->biggest_size == 2 * 2503,
	       "a set grown past its kernel size must be created again, sized anew");
}

static void check_stats_sized(const char *name, const struct tally *c,
			      const struct nir_diff *d)
{
	(void)d;
	expect(name, c->sets > 0 && c->short_stats == 0,
	       "a set with statistics needs a size its stats set can take every key in");
}

static void check_kept_size(const char *name, const struct tally *c, const struct nir_diff *d)
{
	(void)d;
	expect(name, c->sets_kept == c->sets && c->biggest_size == 2 * 1203,
	       "a continued set keeps the kernel's size");
}

/* A pre-pass set (no counters) in a table of its own, elements "key:flow". */
static void plain_set(struct nir_ruleset *rs, const char *const *elems, int n)
{
	struct nir_src src = { .kind = NIR_SRC_PAYLOAD, .base = 1, .offset = 12,
			       .len = 4, .name = "ip saddr", .fmt = NIR_FMT_IPV4 };
	struct nir_table *t;
	struct nir_set *set;

	memset(rs, 0, sizeof(*rs));
	t = nir_add_table(rs, NIR_INET, "brflow_br0");
	set = t ? nir_add_set(t, "pre_g1") : NULL;
	if (!set || nir_set_add_field(set, &src, NULL)) {
		printf("not ok - setup: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		struct nir_set_elem *e = nir_set_add_elem(set);

		if (!e)
			exit(1);
		e->key[3] = (uint8_t)(elems[i][0] - '0');
		e->flow_id = (uint64_t)(elems[i][2] - '0');
	}
}

/* One "ok"/"not ok" line: the element deletes and adds a diff made
 * against the ones expected. */
static void expect_changes(const char *name, int del, int add, int want_del, int want_add)
{
	if (del == want_del && add == want_add) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s: %d deletes and %d adds, expected %d and %d\n",
		       name, del, add, want_del, want_add);
		failures++;
	}
}

/* Kernel messages the diff of two pre-pass sets asks for. */
static void check_shared(const char *name, const char *const *old_e, int n_old,
			 const char *const *new_e, int n_new, int want_del, int want_add)
{
	struct nir_ruleset old, new;
	struct nir_diff d;
	int del = 0, add = 0;

	plain_set(&old, old_e, n_old);
	plain_set(&new, new_e, n_new);
	if (nir_diff_build(&old, &new, &d)) {
		printf("not ok - %s: out of memory\n", name);
		failures++;
		return;
	}
	for (int k = 0; k < n_old; k++)
		del += !d.tables[0].old_elem_kept[0][k];
	for (int i = 0; i < n_new; i++)
		add += !d.tables[0].elem_kept[0][i];
	expect_changes(name, del, add, want_del, want_add);
	nir_diff_free(&d);
	nir_ruleset_free(&old);
	nir_ruleset_free(&new);
}

/* A port map ("ports", ifname -> mark) in a bridge table of its own,
 * elements "name:ofport". */
static void port_map(struct nir_ruleset *rs, const char *const *elems, int n)
{
	struct nir_table *t;
	struct nir_map *m;

	memset(rs, 0, sizeof(*rs));
	t = nir_add_table(rs, NIR_BRIDGE, "brflow_br0");
	m = t ? nir_add_map(t, "ports") : NULL;
	if (!m) {
		printf("not ok - setup: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		char ifname[16];
		unsigned ofport;

		if (sscanf(elems[i], "%15[^:]:%u", ifname, &ofport) != 2 ||
		    nir_map_add(m, ifname, 0x80000000u | ofport))
			exit(1);
	}
}

/* A full reload keeps the port map and the elements it still has: deleting
 * the map would deactivate its elements for a packet still in the old rules
 * at the commit, which then misses its port's mark. */
static void check_ports(const char *name, const char *const *old_e, int n_old,
			const char *const *new_e, int n_new, int want_del, int want_add)
{
	struct nir_ruleset old, new;
	struct nir_diff d;
	int del = 0, add = 0;

	port_map(&old, old_e, n_old);
	port_map(&new, new_e, n_new);
	if (nir_diff_build(&old, &new, &d)) {
		printf("not ok - %s: out of memory\n", name);
		failures++;
		return;
	}
	if (d.tables[0].map_old[0] != 0) {
		printf("not ok - %s: the map is created again\n", name);
		failures++;
	} else {
		for (int k = 0; k < n_old; k++)
			del += !d.tables[0].old_map_elem_kept[0][k];
		for (int i = 0; i < n_new; i++)
			add += !d.tables[0].map_elem_kept[0][i];
		expect_changes(name, del, add, want_del, want_add);
	}
	nir_diff_free(&d);
	nir_ruleset_free(&old);
	nir_ruleset_free(&new);
}

int main(void)
{
	static const char *const p12[] = { "p1:1", "p2:2" };
	static const char *const p123[] = { "p1:1", "p2:2", "p3:3" };
	static const char *const p1_renumbered[] = { "p1:5", "p2:2" };

	static const char *const two_share[] = { "1:1", "1:2", "2:3" };
	static const char *const one_left[] = { "1:2", "3:4" };
	static const char *const none[] = { "2:3" };

	/* the kernel has keys 1 and 2: key 1 stays (flow 2 still needs it),
	 * key 2 goes, key 3 comes; never a second delete of key 1 */
	check_shared("pre-pass set: a key two flows share stays while one needs it",
		     two_share, 3, one_left, 2, 1, 1);
	check_shared("pre-pass set: a key two flows shared is deleted once",
		     two_share, 3, none, 1, 1, 0);
	check_shared("pre-pass set: a key two new flows share is added once",
		     none, 1, two_share, 3, 0, 1);

	check_ports("port map: unchanged ports keep the map and every element",
		    p123, 3, p123, 3, 0, 0);
	check_ports("port map: a new port adds its element only", p12, 2, p123, 3, 0, 1);
	check_ports("port map: a removed port deletes its element only", p123, 3, p12, 2, 1, 0);
	check_ports("port map: a renumbered port replaces its element only",
		    p12, 2, p1_renumbered, 2, 1, 1);

	fill(&before, 0);
	fill(&after, 0);
	run("an unchanged flow table keeps everything", false, check_same);

	fill(&before, 0);
	fill(&after, 0);
	add(&after, "table=1,priority=70,ct_state=+trk+new,tcp,in_port=2,nw_src=10.0.0.9,"
	    "tp_dst=22,actions=ct(commit),normal", 500);
	run("one added flow adds one element", false, check_one_more);

	fill(&before, 0);
	for (int i = 0; i < N_BASE; i++)
		add(&after, i == 3 ? "table=1,priority=70,ct_state=+trk+new,tcp,in_port=1,"
		    "nw_src=10.0.0.5,tp_dst=22,actions=ct(commit),output:2" : base[i],
		    (uint64_t)i + 1);
	run("a flow whose actions change has its counter read", false, check_moved);

	fill(&before, 0);
	fill(&after, 1200);
	run("nothing loaded: everything is added", true, check_fresh);

	fill(&before, 0);
	fill(&after, 0);
	run("small sets with statistics get a size (their stats sets need one)", true,
	    check_stats_sized);

	fill(&before, 1200);
	fill(&after, 1300);
	run("a set that grows within its size continues", false, check_kept_size);

	fill(&before, 1200);
	fill(&after, 2500);
	run("a set that outgrows its size is created again", false, check_outgrown);

	return failures ? 1 : 0;
}
