/* Conjunctive matches expanded into ordinary flows (rules/flow_conj.h):
 * the cross product, intersections that no packet matches, conjunctions
 * with an empty dimension, the flows' order, and the refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/flow_conj.h"

#define MAX 16

static int failures;

static void check_str(const char *name, const char *want, const char *got)
{
	if (got && !strcmp(want, got)) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s:\n  expected '%s'\n  got      '%s'\n", name, want,
	       got ? got : "(null)");
	failures++;
}

/* The expansion of 'texts' (NULL-terminated), one line per flow:
 * "FLOW <- INDEX" for an input flow, "FLOW <- INDEX [I J ...]" for a
 * synthetic one (its conj_id flow, then its clauses); or the error. */
static char *expand_texts(const char *const *texts)
{
	struct flow flows[MAX];
	const struct flow *ptrs[MAX];
	struct conj_expansion x;
	char *out = NULL, *err;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	int n = 0;

	for (; texts[n]; n++) {
		err = flow_parse(texts[n], &flows[n], NULL);
		if (err) {
			fprintf(mem, "parse: %s", err);
			free(err);
			fclose(mem);
			return out;
		}
		ptrs[n] = &flows[n];
	}
	err = flow_conj_expand(ptrs, n, &x);
	if (err) {
		fputs(err, mem);
		free(err);
	}
	for (int i = 0; i < x.n; i++) {
		char *t = flow_format(x.flows[i].flow);

		fprintf(mem, "%s%s <- %d", i ? "\n" : "", t, x.flows[i].from);
		for (int k = 0; k < x.flows[i].n_clauses; k++)
			fprintf(mem, "%s%d%s", k ? " " : " [", x.flows[i].clauses[k],
				k + 1 == x.flows[i].n_clauses ? "]" : "");
		free(t);
	}
	flow_conj_free(&x);
	for (int i = 0; i < n; i++)
		flow_free(&flows[i]);
	fclose(mem);
	return out;
}

static void check(const char *name, const char *const *texts, const char *want)
{
	char *got = expand_texts(texts);

	check_str(name, want, got);
	free(got);
}

int main(void)
{
	static const char *const cross[] = {
		"priority=5,ip,actions=normal",
		"priority=100,ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)",
		"priority=100,ip,nw_src=10.0.0.2,actions=conjunction(7,1/2)",
		"priority=100,tcp,tp_dst=22,actions=conjunction(7,2/2)",
		"priority=100,udp,tp_dst=53,actions=conjunction(7,2/2)",
		"priority=100,conj_id=7,ip,nw_dst=10.0.0.9,actions=ct(commit),normal",
		"priority=1,actions=drop",
		NULL,
	};
	static const char *const empty[] = {
		/* ip x ipv6: no packet; ip,nw_src=/16 x nw_src=/32 narrows */
		"priority=9,ip,nw_src=10.1.0.0/16,actions=conjunction(1,1/2)",
		"priority=9,ipv6,actions=conjunction(1,1/2)",
		"priority=9,ip,nw_src=10.1.2.3,actions=conjunction(1,2/2)",
		"priority=9,ip,nw_src=10.2.2.3,actions=conjunction(1,2/2)",
		"priority=9,conj_id=1,actions=output:3",
		NULL,
	};
	static const char *const ct_state[] = {
		"priority=9,ct_state=+trk+new,ip,actions=conjunction(2,1/2)",
		"priority=9,ct_state=-new,ip,actions=conjunction(2,2/2)",
		"priority=9,ct_state=+trk,ip,actions=conjunction(2,2/2)",
		"priority=9,conj_id=2,actions=normal",
		NULL,
	};
	static const char *const missing_dim[] = {
		"priority=9,ip,actions=conjunction(3,1/3)",
		"priority=9,tcp,actions=conjunction(3,3/3)",
		"priority=9,conj_id=3,actions=normal",
		"priority=1,actions=drop",
		NULL,
	};
	static const char *const no_conj_id[] = {
		"priority=9,ip,actions=conjunction(4,1/2)",
		"priority=9,tcp,actions=conjunction(4,2/2)",
		"table=1,priority=9,conj_id=4,actions=normal",
		NULL,
	};
	static const char *const shared[] = {
		"priority=9,ip,nw_src=10.0.0.1,actions=conjunction(5,1/2),conjunction(6,1/2)",
		"priority=9,tcp,tp_dst=80,actions=conjunction(5,2/2)",
		"priority=9,udp,tp_dst=53,actions=conjunction(6,2/2)",
		"priority=9,conj_id=6,actions=output:2",
		"priority=9,conj_id=5,actions=output:1",
		NULL,
	};
	static const char *const bad_priority[] = {
		"priority=9,ip,actions=conjunction(3,1/2)",
		"priority=9,tcp,actions=conjunction(3,2/2)",
		"priority=8,conj_id=3,actions=normal",
		NULL,
	};
	static const char *const bad_n[] = {
		"priority=9,ip,actions=conjunction(3,1/2)",
		"table=2,priority=9,tcp,actions=conjunction(3,2/2)",
		"table=2,priority=9,tcp,actions=conjunction(3,1/3)",
		NULL,
	};
	static const char *const two_hosts[] = {
		"priority=9,ip,dpi_host=a.example,actions=conjunction(3,1/2)",
		"priority=9,ip,dpi_host=b.example,actions=conjunction(3,2/2)",
		"priority=9,conj_id=3,actions=normal",
		NULL,
	};

	check("cross product in the conj_id flow's place", cross,
	      "priority=5,ip actions=NORMAL <- 0\n"
	      "priority=100,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.9,tp_dst=22 actions=ct(commit),NORMAL <- 5 [1 3]\n"
	      "priority=100,udp,nw_src=10.0.0.1,nw_dst=10.0.0.9,tp_dst=53 actions=ct(commit),NORMAL <- 5 [1 4]\n"
	      "priority=100,tcp,nw_src=10.0.0.2,nw_dst=10.0.0.9,tp_dst=22 actions=ct(commit),NORMAL <- 5 [2 3]\n"
	      "priority=100,udp,nw_src=10.0.0.2,nw_dst=10.0.0.9,tp_dst=53 actions=ct(commit),NORMAL <- 5 [2 4]\n"
	      "priority=1 actions=drop <- 6");
	check("intersections no packet matches are left out", empty,
	      "priority=9,ip,nw_src=10.1.2.3 actions=output:3 <- 4 [0 2]");
	check("ct_state intersects flag by flag", ct_state,
	      "priority=9,ct_state=+new+trk,ip actions=NORMAL <- 3 [0 2]");
	check("a dimension without clauses: the conjunction never matches",
	      missing_dim, "priority=1 actions=drop <- 3");
	check("a conj_id flow in another table: nothing matches", no_conj_id, "");
	check("one clause flow in two conjunctions", shared,
	      "priority=9,udp,nw_src=10.0.0.1,tp_dst=53 actions=output:2 <- 3 [0 2]\n"
	      "priority=9,tcp,nw_src=10.0.0.1,tp_dst=80 actions=output:1 <- 4 [0 1]");
	check("conj_id flow at another priority", bad_priority,
	      "flow 'priority=8,conj_id=3 actions=NORMAL': conj_id=3 is at priority 8 "
	      "but clauses of conjunction 3 are at priority 9: brflow needs them "
	      "at the same priority");
	check("clauses that disagree on N", bad_n,
	      "flow 'table=2,priority=9,tcp actions=conjunction(3,2/2)': "
	      "conjunction(3,2/2) disagrees with another clause of conjunction 3 "
	      "at priority 9, which has 3 clauses");
	check("two dpi_host patterns", two_hosts,
	      "flow 'priority=9,conj_id=3 actions=NORMAL': conjunction 3 needs "
	      "packets to match two different dpi_host patterns at once, which "
	      "brflow cannot intersect");
	return failures ? 1 : 0;
}
