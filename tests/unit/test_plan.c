/* Incremental updates (rules/compile_sets.c, compile_plan_change): adding
 * or removing one flow through the plan must give the sets a full compile
 * of the changed flow table gives, and a flow that would change the rule
 * around a set must be refused (-1: full compile). */
#include "../../rules/compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* The security-group shape of tests/golden/compile/opt_security_groups. */
static const char *const base[] = {
	"table=0,priority=10,ip,actions=ct(table=1)",
	"table=0,priority=10,ipv6,actions=ct(table=1)",
	"table=0,priority=0,actions=drop",
	"table=1,priority=100,ct_state=+trk+est,actions=normal",
	"table=1,priority=70,ct_state=+trk+new,tcp,in_port=1,nw_src=10.0.0.5,tp_dst=22,actions=ct(commit),normal",
	"table=1,priority=70,ct_state=+trk+new,tcp,in_port=2,nw_src=10.0.0.6,tp_dst=22,actions=ct(commit),normal",
	"table=1,priority=70,ct_state=+trk+new,tcp,in_port=3,nw_src=10.0.0.7,tp_dst=443,actions=ct(commit),normal",
	"table=1,priority=60,ct_state=+trk+new,udp,in_port=1,nw_src=10.0.0.5,tp_dst=53,actions=ct(commit),normal",
	"table=1,priority=60,ct_state=+trk+new,udp,in_port=2,nw_src=10.0.0.6,tp_dst=53,actions=ct(commit),normal",
	"table=1,priority=0,actions=drop",
};
#define N_BASE ((int)(sizeof(base) / sizeof(base[0])))

struct table_input {
	struct flow flows[N_BASE + 1];
	struct compile_flow cf[N_BASE + 1];
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

static char *compile(struct table_input *t, struct nir_ruleset *rs,
		     struct compile_plan **plan)
{
	struct compile_input in = {
		.bridge = "br0", .n_ports = 3, .ports = ports,
		.n_flows = t->n, .flows = t->cf,
	};

	memset(rs, 0, sizeof(*rs));
	return brflow_compile_plan(&in, rs, plan);
}

/* Number of elements with this flow id and key in counting sets. */
static int count_elem(const struct nir_ruleset *rs, const struct nir_set_elem *e)
{
	int n = 0;

	for (int t = 0; t < rs->n_tables; t++)
		for (int s = 0; s < rs->tables[t].n_sets; s++) {
			const struct nir_set *set = &rs->tables[t].sets[s];

			for (int k = 0; set->counters && k < set->n_elems; k++)
				n += set->elems[k].flow_id == e->flow_id &&
				     !memcmp(set->elems[k].key, e->key, set->key_len);
		}
	return n;
}

static int count_flow(const struct nir_ruleset *rs, uint64_t id)
{
	int n = 0;

	for (int t = 0; t < rs->n_tables; t++)
		for (int s = 0; s < rs->tables[t].n_sets; s++)
			for (int k = 0; k < rs->tables[t].sets[s].n_elems; k++)
				n += rs->tables[t].sets[s].elems[k].flow_id == id &&
				     rs->tables[t].sets[s].counters;
	return n;
}

static void free_table(struct table_input *t)
{
	for (int i = 0; i < t->n; i++)
		flow_free(&t->flows[i]);
}

/* Adding 'text' through the plan equals compiling it in. */
static void check_add(const char *name, const char *text, bool expect_fast)
{
	struct table_input before = { 0 }, after = { 0 };
	struct nir_ruleset rs0, rs1;
	struct compile_plan *plan = NULL;
	struct set_change *ch = NULL;
	int n = 0, ret;
	char *err;

	for (int i = 0; i < N_BASE; i++) {
		add(&before, base[i], (uint64_t)i + 1);
		add(&after, base[i], (uint64_t)i + 1);
	}
	add(&after, text, 100);
	err = compile(&before, &rs0, &plan);
	if (!err)
		err = compile(&after, &rs1, NULL);
	if (err) {
		printf("not ok - %s: compile: %s\n", name, err);
		failures++;
		free(err);
		goto out;
	}
	ret = compile_plan_change(plan, &rs0, &after.cf[after.n - 1], true, &ch, &n);
	if ((ret == 0) != expect_fast) {
		printf("not ok - %s: plan says %s, expected %s\n", name,
		       ret ? "full compile" : "set elements", expect_fast ? "set elements" : "full compile");
		failures++;
	} else if (ret == 0 && n != count_flow(&rs1, 100)) {
		printf("not ok - %s: plan adds %d elements, a full compile has %d\n",
		       name, n, count_flow(&rs1, 100));
		failures++;
	} else {
		bool same = true;

		for (int i = 0; ret == 0 && i < n; i++)
			same = same && ch[i].add && count_elem(&rs1, &ch[i].elem) >= 1;
		if (!same) {
			printf("not ok - %s: a planned element is not in the full compile\n", name);
			failures++;
		} else {
			printf("ok - %s\n", name);
		}
	}
	nir_ruleset_free(&rs0);
	nir_ruleset_free(&rs1);
out:
	free(ch);
	compile_plan_free(plan);
	free_table(&before);
	free_table(&after);
}

/* Removing flow 'id' through the plan removes exactly its elements. */
static void check_del(const char *name, uint64_t id, bool expect_fast)
{
	struct table_input t = { 0 };
	struct nir_ruleset rs;
	struct compile_plan *plan = NULL;
	struct set_change *ch = NULL;
	int n = 0, ret;
	char *err;

	for (int i = 0; i < N_BASE; i++)
		add(&t, base[i], (uint64_t)i + 1);
	err = compile(&t, &rs, &plan);
	if (err) {
		printf("not ok - %s: compile: %s\n", name, err);
		failures++;
		free(err);
		goto out;
	}
	ret = compile_plan_change(plan, &rs, &t.cf[id - 1], false, &ch, &n);
	if ((ret == 0) != expect_fast) {
		printf("not ok - %s: plan says %s\n", name, ret ? "full compile" : "set elements");
		failures++;
	} else if (ret == 0 && n != count_flow(&rs, id)) {
		printf("not ok - %s: plan deletes %d elements of %d\n", name, n,
		       count_flow(&rs, id));
		failures++;
	} else {
		printf("ok - %s\n", name);
	}
	nir_ruleset_free(&rs);
out:
	free(ch);
	compile_plan_free(plan);
	free_table(&t);
}

/* The LOCAL port's flows (tests/netns/flows/local-br1.flows): the pre-pass
 * and pipeline copies of the priority-100 group share sets, and deleting a
 * member must delete each of its elements once (a second delete of the
 * same element fails the whole transaction). */
static void check_shared_set_delete(void)
{
	static const char *const text[] = {
		"table=0,priority=10,arp,actions=normal",
		"table=0,priority=100,tcp,tp_dst=5001,in_port=LOCAL,actions=ct(commit),output:3",
		"table=0,priority=100,udp,tp_dst=6001,in_port=LOCAL,actions=ct(commit),output:3",
		"table=0,priority=100,ip,in_port=3,ct_state=-trk,actions=ct(table=1)",
		"table=0,priority=1,actions=drop",
		"table=1,priority=100,ct_state=+trk+est,ip,actions=LOCAL",
		"table=1,priority=1,actions=drop",
	};
	const char *name = "plan_deletes_shared_set_element_once";
	static const struct compile_port p3[] = { { .ifname = "p3", .ofport = 3 } };
	struct table_input t = { 0 };
	struct compile_input in = { .bridge = "br1", .n_ports = 1, .ports = p3,
				    .bridge_mac = { 2, 0, 0, 0, 0, 0xfe } };
	struct compile_plan *plan = NULL;
	struct set_change *ch = NULL;
	struct nir_ruleset rs = { 0 };
	int n = 0, dup = 0;
	char *err;

	for (int i = 0; i < (int)(sizeof(text) / sizeof(text[0])); i++)
		add(&t, text[i], (uint64_t)i + 1);
	in.n_flows = t.n;
	in.flows = t.cf;
	err = brflow_compile_plan(&in, &rs, &plan);
	if (err || compile_plan_change(plan, &rs, &t.cf[1], false, &ch, &n) || !n) {
		printf("not ok - %s: %s\n", name, err ? err : "no element changes planned");
		failures++;
		free(err);
		goto out;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < i; k++)
			dup += ch[i].table == ch[k].table && ch[i].set == ch[k].set &&
			       ch[i].add == ch[k].add &&
			       !memcmp(&ch[i].elem, &ch[k].elem, sizeof(ch[i].elem));
	if (dup) {
		printf("not ok - %s: %d of %d changes repeat another\n", name, dup, n);
		failures++;
	} else {
		printf("ok - %s\n", name);
	}
out:
	free(ch);
	compile_plan_free(plan);
	nir_ruleset_free(&rs);
	free_table(&t);
}

int main(void)
{
	check_shared_set_delete();
	check_add("plan_add_host_to_group",
		  "table=1,priority=70,ct_state=+trk+new,tcp,in_port=2,nw_src=10.0.0.8,tp_dst=8080,actions=ct(commit),normal",
		  true);
	check_add("plan_add_udp_same_port",
		  "table=1,priority=60,ct_state=+trk+new,udp,in_port=3,nw_src=10.0.0.9,tp_dst=53,actions=ct(commit),normal",
		  true);
	/* every udp member has tp_dst=53: port 54 changes the rule */
	check_add("plan_refuses_new_key_position",
		  "table=1,priority=60,ct_state=+trk+new,udp,in_port=3,nw_src=10.0.0.9,tp_dst=54,actions=ct(commit),normal",
		  false);
	/* a clause or conj_id flow changes a whole cross product */
	check_add("plan_refuses_conjunction_clause",
		  "table=1,priority=70,ct_state=+trk+new,tcp,nw_src=10.0.0.8,tp_dst=22,actions=conjunction(5,1/2)",
		  false);
	check_add("plan_refuses_conj_id_flow",
		  "table=1,priority=70,conj_id=5,tcp,in_port=2,nw_src=10.0.0.8,tp_dst=22,actions=ct(commit),normal",
		  false);
	check_add("plan_refuses_other_priority",
		  "table=1,priority=65,ct_state=+trk+new,tcp,in_port=2,nw_src=10.0.0.8,tp_dst=22,actions=ct(commit),normal",
		  false);
	check_add("plan_refuses_other_actions",
		  "table=1,priority=70,ct_state=+trk+new,tcp,in_port=2,nw_src=10.0.0.8,tp_dst=22,actions=ct(commit),output:3",
		  false);
	check_add("plan_refuses_other_mask",
		  "table=1,priority=70,ct_state=+trk+new,tcp,in_port=2,nw_src=10.8.0.0/16,tp_dst=22,actions=ct(commit),normal",
		  false);
	check_del("plan_del_member", 5, true);
	check_del("plan_refuses_del_of_rule", 4, false);
	return failures ? 1 : 0;
}
