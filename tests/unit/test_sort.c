/* dump-flows --sort/--rsort (rules/flow_sort.h): which names are sort
 * fields, and the order of small flow sets under one or more keys.  Ties
 * keep the flows' order in the set, as brflowd breaks them by its own
 * order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/flow_sort.h"

static int failures;

static void check_str(const char *name, const char *want, const char *got)
{
	if (!strcmp(want, got)) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s: expected '%s', got '%s'\n", name, want, got);
	failures++;
}

static void check_names(void)
{
	static const char *const good[] = {
		"priority", "PRIORITY", "in_port", "dl_src", "eth_type", "nw_src",
		"ip_dst", "ipv6_src", "nw_proto", "tp_dst", "tcp_dst", "udp_src",
		"tcp_flags", "icmp_type", "icmpv6_code", "nd_target", "ct_state",
		"ct_zone", "ct_mark", "ct_label", "reg0", "reg7", "metadata",
		"dpi_proto", "dpi_host",
	};
	static const char *const bad[] = {
		"nw_sorc", "", "tcp", "ip", "ipv6", "arp", "table", "cookie",
		"out_port", "NXM_OF_IP_SRC", "reg8", "nw_src ", "Nw_src",
		"reg0[0..3]", "nw_src=1",
	};
	char msg[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct flow_sort s = { 0 };

		snprintf(msg, sizeof(msg), "'%s' is a sort field", good[i]);
		check_str(msg, "0 1", flow_sort_add(&s, good[i], false) ? "-1" :
			  s.n == 1 ? "0 1" : "0 n!=1");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct flow_sort s = { 0 };

		snprintf(msg, sizeof(msg), "'%s' is refused", bad[i]);
		check_str(msg, "-1 0", flow_sort_add(&s, bad[i], true) ? "-1 0" : "0");
	}
}

struct sort_set {
	const struct flow_sort *s;
	const struct flow *flows;
};

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct sort_set *set = arg;
	int x = *(const int *)a, y = *(const int *)b;
	int r = flow_sort_cmp(set->s, &set->flows[x], &set->flows[y]);

	return r ? r : (x > y) - (x < y);
}

/* Sorts 'texts' (flows) under 'keys' (options as brflowctl takes them,
 * space-separated) and checks the order, their indices. */
static void check_order(const char *name, const char *keys,
			const char *const *texts, int n, const char *want)
{
	struct flow_sort s = { 0 };
	struct flow flows[16];
	int idx[16], parsed = 0;
	char got[128] = "", *kbuf = strdup(keys), *save = NULL;

	for (char *k = strtok_r(kbuf, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
		bool desc = !strncmp(k, "--rsort", 7);
		char *eq = strchr(k, '=');

		if (flow_sort_add(&s, eq ? eq + 1 : NULL, desc))
			snprintf(got, sizeof(got), "key '%s' refused", k);
	}
	for (; !*got && parsed < n; parsed++) {
		char *err = flow_parse(texts[parsed], &flows[parsed], NULL);

		if (err) {
			snprintf(got, sizeof(got), "%s: %s", texts[parsed], err);
			free(err);
			break;
		}
		idx[parsed] = parsed;
	}
	if (!*got) {
		struct sort_set set = { &s, flows };

		qsort_r(idx, n, sizeof(idx[0]), cmp_index, &set);
		for (int i = 0; i < n; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
				 "%s%d", i ? " " : "", idx[i]);
	}
	check_str(name, want, got);
	for (int i = 0; i < parsed; i++)
		flow_free(&flows[i]);
	free(kbuf);
}

#define ORDER(name, keys, want, ...) do { \
	static const char *const t[] = { __VA_ARGS__ }; \
	check_order(name, keys, t, sizeof(t) / sizeof(t[0]), want); \
} while (0)

static void check_orders(void)
{
	ORDER("--sort: priority ascending", "--sort", "2 0 1 3",
	      "priority=10,actions=drop", "priority=20,actions=drop",
	      "priority=5,actions=drop", "priority=20,ip,actions=drop");
	ORDER("--rsort: priority descending, ties in given order", "--rsort",
	      "1 3 0 2",
	      "priority=10,actions=drop", "priority=20,actions=drop",
	      "priority=5,actions=drop", "priority=20,ip,actions=drop");
	ORDER("--sort=tp_dst: flows without tp_dst last", "--sort=tp_dst",
	      "2 0 1 3",
	      "tcp,tp_dst=443,actions=drop", "ip,actions=drop",
	      "udp,tp_dst=53,actions=drop", "actions=drop");
	ORDER("--rsort=tp_dst: flows without tp_dst still last", "--rsort=tp_dst",
	      "0 2 1 3",
	      "tcp,tp_dst=443,actions=drop", "ip,actions=drop",
	      "udp,tp_dst=53,actions=drop", "actions=drop");
	ORDER("an alias sorts as its field", "--sort=udp_dst", "2 0 1 3",
	      "tcp,tp_dst=443,actions=drop", "ip,actions=drop",
	      "udp,tp_dst=53,actions=drop", "actions=drop");
	ORDER("a masked value sorts with its unmasked bits 0", "--sort=nw_src",
	      "1 0 2 3",
	      "ip,nw_src=192.168.0.0/24,actions=drop",
	      "ip,nw_src=192.167.255.255,actions=drop",
	      "ip,nw_src=192.168.0.1,actions=drop",
	      "ip,nw_src=192.168.0.0/0,actions=drop");
	ORDER("a masked port too (tp_dst=0x100/0xff00 as 256)", "--sort=tp_dst",
	      "1 0 2", "tcp,tp_dst=0x1ff/0xff00,actions=drop",
	      "tcp,tp_dst=255,actions=drop", "tcp,tp_dst=257,actions=drop");
	ORDER("two keys: nw_proto ascending, then tp_dst descending",
	      "--sort=nw_proto --rsort=tp_dst", "3 1 0 2 4",
	      "tcp,tp_dst=80,actions=drop", "tcp,tp_dst=443,actions=drop",
	      "udp,tp_dst=53,actions=drop", "tcp,tp_dst=8080,actions=drop",
	      "ip,actions=drop");
	ORDER("a field given again changes nothing; the next key still counts",
	      "--sort=tp_dst --rsort=tp_dst --rsort", "2 1 0", "tcp,tp_dst=80,priority=1,actions=drop",
	      "tcp,tp_dst=80,priority=9,nw_src=1.2.3.4,actions=drop",
	      "tcp,tp_dst=22,actions=drop");
	ORDER("the primary key first: priority, then tp_dst", "--rsort --sort=tp_dst",
	      "1 2 0", "tcp,tp_dst=80,priority=1,actions=drop",
	      "tcp,tp_dst=80,priority=9,actions=drop",
	      "tcp,tp_dst=81,priority=9,actions=drop");
	ORDER("ct_state by the flags required set; -trk is 0, none last",
	      "--sort=ct_state", "2 1 0 3",
	      "ct_state=+trk+est,actions=drop", "ct_state=+trk,actions=drop",
	      "ct_state=-trk,actions=drop", "actions=drop");
	ORDER("in_port=LOCAL sorts as 65534", "--rsort=in_port", "1 0 2",
	      "in_port=2,actions=drop", "in_port=LOCAL,actions=drop",
	      "actions=drop");
	ORDER("ipv6_src compares all 16 bytes, masked", "--sort=ipv6_src", "2 1 0 3",
	      "ipv6,ipv6_src=fc00::1:1,actions=drop",
	      "ipv6,ipv6_src=fc00::1:5/112,actions=drop",
	      "ipv6,ipv6_src=fc00::2,actions=drop",
	      "ipv6,ipv6_src=fd00::,actions=drop");
	ORDER("dpi_proto by name", "--sort=dpi_proto", "1 2 0 3",
	      "ip,dpi_proto=tls,actions=drop", "ip,dpi_proto=dns,actions=drop",
	      "ip,dpi_proto=http,actions=drop", "ip,actions=drop");
	ORDER("dpi_host by pattern", "--rsort=dpi_host", "2 1 0 3",
	      "ip,dpi_host=*.example.org,actions=drop",
	      "ip,dpi_host=a.example.com,actions=drop",
	      "ip,dpi_host=b.example.com,actions=drop", "ip,actions=drop");
}

int main(void)
{
	check_names();
	check_orders();
	return failures ? 1 : 0;
}
