/* Fuzzes the flow language front end and the compiler (rules/flow_parse.c,
 * flow_print.c, fields.c, group.c, compile*.c, nftir.c) with a flow file
 * as tests/unit/test_compile.c reads one: header lines "port IFNAME N",
 * "bridge_ct", "bridge_mac M", "dpi_host PATTERN", "group GROUP" (add-group
 * syntax), "insert_bucket GROUP" and "remove_bucket GROUP" (changing a
 * group given before), "meter METER" (add-meter syntax), plus "lacks_queue" and
 * "lacks_ct_helper"; '#' lines and blank
 * lines are skipped; every other line is a flow.
 *
 * Properties checked, beyond no crash, leak, hang or UB:
 *  - every flow or group line either parses or gets a non-empty one-line
 *    error naming a column inside the line;
 *  - round trip: a parsed flow formats, the text parses again (port names
 *    resolve through the declared ports) and formats identically, and the
 *    reparsed flow is the same rule with the same actions and the same
 *    parsed nat spec (table and cookie are left to the daemon, as in
 *    test_parse.c); flow_copy gives an equal flow; a group formats, parses
 *    again and formats identically;
 *  - the flows and groups that parsed (lines that do not are left out, so
 *    that a mutated line still lets the rest reach the compiler) compile
 *    or fail with a non-empty one-line error, and the reparsed flows
 *    compile to the same nft text (or the same error);
 *  - brflowctl trace of a packet made of each flow's match values, from
 *    the flow's table, picks a flow of at least that flow's priority there
 *    (the flow itself matches) and ends with a verdict.
 * A broken property prints the input line and both forms, then aborts.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -o /var/tmp/fuzz-parse/fuzz_parse \
 *     tests/fuzz/fuzz_parse.c rules/[a-z]*.c
 *   nice -n 10 /var/tmp/fuzz-parse/fuzz_parse -max_total_time=600 \
 *     -rss_limit_mb=2048 -timeout=10 /var/tmp/fuzz-parse/corpus \
 *     tests/fuzz/corpus/parse
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/compile.h"
#include "../../rules/flow_conj.h"
#include "../../rules/flow_trace.h"

#define MAX_INPUT 16384
#define MAX_LINES 400
#define MAX_FLOWS 64
#define MAX_PORTS 16
#define MAX_HOSTS 8
#define MAX_GROUPS 4

struct input {
	struct compile_port ports[MAX_PORTS];
	int n_ports;
	struct flow flows[MAX_FLOWS];
	struct flow again[MAX_FLOWS];   /* each flow parsed back from its text */
	struct compile_flow cflows[MAX_FLOWS];
	int n_flows;
	char *hosts[MAX_HOSTS];
	int n_hosts;
	struct ofgroup groups[MAX_GROUPS];
	int n_groups;
	struct ofmeter meters[MAX_GROUPS];
	int n_meters;
	uint8_t bridge_mac[6];
	bool bridge_ct, lacks_queue, lacks_ct_helper;
};

static void fail(const char *what, const char *line, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_parse: %s\n  input:  '%s'\n  first:  '%s'\n  second: '%s'\n",
		what, line, a ? a : "(null)", b ? b : "(null)");
	abort();
}

/* A parse error: one non-empty line ending in "at column N" with N inside
 * the line (or just past its end). */
static void check_parse_error(const char *line, const char *err)
{
	const char *at = err ? strstr(err, " at column ") : NULL;
	char *end;
	long col;

	if (!err || !*err || strchr(err, '\n') || !at)
		fail("parse error is not one line naming a column", line, err, NULL);
	while (strstr(at + 1, " at column "))
		at = strstr(at + 1, " at column ");
	col = strtol(at + 11, &end, 10);
	if (*end || col < 1 || (size_t)col > strlen(line) + 1)
		fail("parse error names a column outside the line", line, err, NULL);
}

static int port_by_name(const char *name, void *arg)
{
	const struct input *in = arg;

	for (int i = 0; i < in->n_ports; i++)
		if (!strcmp(in->ports[i].ifname, name))
			return in->ports[i].ofport;
	return 0;
}

static bool flow_equal(const struct flow *a, const struct flow *b)
{
	return flow_same_rule(a, b) && a->cookie == b->cookie &&
	       flow_same_timeouts(a, b) && flow_same_actions(a, b);
}

/* The line as a del-flows/dump-flows pattern: an error is one line naming
 * a column, and a line that adds a flow selects flows as well. */
static void pattern_line(struct input *in, const char *line, bool adds)
{
	uint64_t cookie_mask;
	uint32_t out_port;
	bool prio, table, cookie_set;
	struct flow_parse_opts opts = {
		.match_only = true, .priority_given = &prio, .table_given = &table,
		.cookie_mask = &cookie_mask, .cookie_set = &cookie_set,
		.out_port = &out_port,
		.port_by_name = port_by_name, .port_arg = in,
	};
	struct flow p;
	char *err = flow_parse(line, &p, &opts);

	if (err) {
		if (adds)
			fail("a flow that adds does not parse as a pattern", line, err, NULL);
		check_parse_error(line, err);
		free(err);
		return;
	}
	flow_free(&p);
}

/* Parses flow line 'line' into in->flows[n] and its round trip into
 * in->again[n]; false when the line does not parse. */
static bool flow_line(struct input *in, const char *line)
{
	struct flow_parse_opts opts = { .port_by_name = port_by_name, .port_arg = in };
	struct flow *f = &in->flows[in->n_flows], *g = &in->again[in->n_flows];
	struct flow c;
	char *err, *out, *again;

	err = flow_parse(line, f, &opts);
	pattern_line(in, line, !err);
	if (err) {
		check_parse_error(line, err);
		free(err);
		return false;
	}
	out = flow_format(f);
	if (!out)
		fail("flow_format failed", line, NULL, NULL);
	err = flow_parse(out, g, &opts);
	if (err)
		fail("formatted flow does not parse", line, out, err);
	again = flow_format(g);
	g->table = f->table;
	g->cookie = f->cookie;
	if (!again || strcmp(out, again))
		fail("reparsed flow formats differently", line, out, again);
	if (!flow_equal(f, g))
		fail("reparsed flow differs", line, out, again);
	if (flow_copy(&c, f) || !flow_equal(f, &c))
		fail("flow_copy differs", line, out, NULL);
	flow_free(&c);
	free(out);
	free(again);
	in->cflows[in->n_flows].id = in->n_flows + 1;
	in->cflows[in->n_flows].flow = f;
	in->n_flows++;
	return true;
}

static bool group_line(struct input *in, const char *line)
{
	struct ofgroup *g = &in->groups[in->n_groups], *h;
	char *err, *out, *again;

	err = group_parse(line, g, false);
	if (err) {
		check_parse_error(line, err);
		free(err);
		return false;
	}
	h = malloc(sizeof(*h));
	out = group_format(g);
	if (!h || !out)
		fail("group_format failed", line, NULL, NULL);
	err = group_parse(out, h, false);
	if (err)
		fail("formatted group does not parse", line, out, err);
	again = group_format(h);
	if (!again || strcmp(out, again))
		fail("reparsed group formats differently", line, out, again);
	group_free(h);
	free(h);
	free(out);
	free(again);
	in->n_groups++;
	return true;
}

/* "insert_bucket TEXT" or "remove_bucket TEXT" on a group parsed earlier:
 * an error names a column and leaves the group printing as before; a
 * change leaves a group that formats, parses again and formats the same,
 * its bucket ids all different. */
static bool bucket_mod_line(struct input *in, const char *line, bool insert)
{
	struct group_bucket_mod m;
	struct ofgroup *g = NULL, h;
	char *err = group_bucket_mod_parse(line, insert, &m), *before, *out, *again;

	for (int i = 0; !err && i < in->n_groups; i++)
		if (in->groups[i].group_id == m.group_id)
			g = &in->groups[i];
	if (err)
		check_parse_error(line, err);
	if (err || !g) {
		free(err);
		return false;
	}
	before = group_format(g);
	err = group_bucket_mod_apply(line, &m, g);
	out = group_format(g);
	if (!before || !out)
		fail("group_format failed", line, NULL, NULL);
	if (err) {
		check_parse_error(line, err);
		if (strcmp(before, out))
			fail("a failed bucket command changed the group", line, before, out);
	} else {
		char *perr = group_parse(out, &h, false);

		if (perr)
			fail("group after a bucket command does not parse", line, out, perr);
		again = group_format(&h);
		if (!again || strcmp(out, again))
			fail("group after a bucket command reparses differently", line, out,
			     again);
		for (int i = 0; i < g->n_buckets; i++)
			for (int j = i + 1; j < g->n_buckets; j++)
				if (g->buckets[i].bucket_id == g->buckets[j].bucket_id)
					fail("two buckets share an id", line, out, NULL);
		group_free(&h);
		free(again);
	}
	free(err);
	free(before);
	free(out);
	return true;
}

/* A meter line: parses or fails naming a column; formats, parses again
 * and formats identically. */
static bool meter_line(struct input *in, const char *line)
{
	struct ofmeter *m = &in->meters[in->n_meters], h;
	char *err, *out, *again;

	err = meter_parse(line, m, false);
	if (err) {
		check_parse_error(line, err);
		free(err);
		return false;
	}
	out = meter_format(m);
	if (!out)
		fail("meter_format failed", line, NULL, NULL);
	err = meter_parse(out, &h, false);
	if (err)
		fail("formatted meter does not parse", line, out, err);
	again = meter_format(&h);
	if (!again || strcmp(out, again))
		fail("reparsed meter formats differently", line, out, again);
	free(out);
	free(again);
	in->n_meters++;
	return true;
}

/* One line of the file; false when it does not parse (it is then left
 * out of the compile). */
static bool do_line(struct input *in, char *line)
{
	char name[32];
	unsigned int ofport, m[6];

	if (!line[strspn(line, " \t")] || line[0] == '#')
		return true;
	if (!strncmp(line, "bridge_mac ", 11)) {
		if (sscanf(line + 11, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2],
			   &m[3], &m[4], &m[5]) == 6)
			for (int k = 0; k < 6; k++)
				in->bridge_mac[k] = m[k];
		return true;
	}
	if (!strcmp(line, "bridge_ct"))
		return in->bridge_ct = true;
	if (!strcmp(line, "lacks_queue"))
		return in->lacks_queue = true;
	if (!strcmp(line, "lacks_ct_helper"))
		return in->lacks_ct_helper = true;
	if (!strncmp(line, "group ", 6))
		return in->n_groups < MAX_GROUPS && group_line(in, line + 6);
	if (!strncmp(line, "insert_bucket ", 14))
		return bucket_mod_line(in, line + 14, true);
	if (!strncmp(line, "remove_bucket ", 14))
		return bucket_mod_line(in, line + 14, false);
	if (!strncmp(line, "meter ", 6))
		return in->n_meters < MAX_GROUPS && meter_line(in, line + 6);
	if (!strncmp(line, "dpi_host ", 9)) {
		if (in->n_hosts < MAX_HOSTS)
			in->hosts[in->n_hosts++] = strdup(line + 9);
		return true;
	}
	if (sscanf(line, "port %31s %u", name, &ofport) == 2) {
		if (in->n_ports < MAX_PORTS) {
			snprintf(in->ports[in->n_ports].ifname, 16, "%.15s", name);
			in->ports[in->n_ports++].ofport = ofport;
		}
		return true;
	}
	return in->n_flows < MAX_FLOWS && flow_line(in, line);
}

/* Compiles in->flows (or, with 'again', their round trips); returns the
 * nft text or the error, malloc'd, and checks the error's shape. */
static char *compile(struct input *in, bool again)
{
	struct compile_input ci = {
		.bridge = "br0",
		.n_ports = in->n_ports, .ports = in->ports,
		.n_flows = in->n_flows, .flows = in->cflows,
		.n_dpi_hosts = in->n_hosts,
		.dpi_hosts = (const char *const *)in->hosts,
		.has_bridge_ct = in->bridge_ct,
		.lacks_queue = in->lacks_queue,
		.lacks_ct_helper = in->lacks_ct_helper,
		.n_groups = in->n_groups, .groups = in->groups,
		.n_meters = in->n_meters, .meters = in->meters,
	};
	struct nir_ruleset rs = { 0 };
	char *err, *text = NULL;
	size_t len = 0;
	FILE *mem;

	memcpy(ci.bridge_mac, in->bridge_mac, 6);
	for (int i = 0; i < in->n_flows; i++)
		in->cflows[i].flow = again ? &in->again[i] : &in->flows[i];
	err = brflow_compile(&ci, &rs);
	if (err) {
		if (!*err || strchr(err, '\n'))
			fail("compile error is not one line", "(the file)", err, NULL);
		return err;
	}
	mem = open_memstream(&text, &len);
	if (!mem)
		abort();
	nir_print(&rs, mem);
	fclose(mem);
	nir_ruleset_free(&rs);
	return text;
}

/* The priority of the flow the trace's first table line names, or -1. */
static long first_priority(const char *text)
{
	const char *line = strstr(text, "\n-------------\n");
	const char *eol = line ? strchr(line + 15, '\n') : NULL;
	const char *p = line ? strstr(line + 15, "priority ") : NULL;

	if (!p || !eol || p > eol)
		return -1;
	return strtol(p + 9, NULL, 10);
}

/* Traces, over all flows, a packet that carries flow f's match values
 * (masked bits 0) from f's table. */
static void trace_flow(struct input *in, const struct flow *f)
{
	const struct flow *flows[MAX_FLOWS];
	struct flow_match m[F_COUNT];
	struct flow pkt = { .table = f->table, .matches = m, .n_matches = f->n_matches };
	struct trace_input ti = {
		.bridge = "br0", .flows = flows, .n_flows = in->n_flows,
		.groups = in->groups, .n_groups = in->n_groups, .packet = &pkt,
		.meters = in->meters, .n_meters = in->n_meters,
		.table_given = true, .ct_next = { CS_TRK | CS_EST, CS_TRK | CS_INV },
		.n_ct_next = 2,
	};
	char *text = NULL, *err;
	size_t len = 0;
	FILE *mem;

	if (f->dpi_host)
		return;  /* a host pattern is not a host */
	if (flow_conj_involved(f))
		return;  /* a clause or conj_id flow never matches on its own */
	for (int i = 0; i < f->n_matches; i++) {
		m[i] = f->matches[i];
		if (m[i].field != F_CT_STATE)
			memset(m[i].mask, 0xff, sizeof(m[i].mask));
	}
	for (int i = 0; i < in->n_flows; i++)
		flows[i] = &in->flows[i];
	if ((err = flow_trace_check_packet(&pkt)))
		fail("a flow's values are not a packet", "(a flow)", err, NULL);
	mem = open_memstream(&text, &len);
	if (!mem)
		abort();
	err = flow_trace(&ti, mem);
	fclose(mem);
	if (err || !strstr(text, "\nVerdict: "))
		fail("trace gave no verdict", "(a flow)", err, text);
	if (first_priority(text) < f->priority)
		fail("trace picked a flow below one that matches", flow_format(f), text, NULL);
	free(text);
}

/* Whether the flows' conjunctions expand (else the compiler refused them,
 * and the trace refuses them the same way). */
static bool conj_ok(struct input *in)
{
	const struct flow *flows[MAX_FLOWS];
	struct conj_expansion x;
	char *err;
	bool ok;

	for (int i = 0; i < in->n_flows; i++)
		flows[i] = &in->flows[i];
	err = flow_conj_expand(flows, in->n_flows, &x);
	ok = !err;
	flow_conj_free(&x);
	free(err);
	return ok;
}

static void free_input(struct input *in)
{
	for (int i = 0; i < in->n_flows; i++) {
		flow_free(&in->flows[i]);
		flow_free(&in->again[i]);
	}
	for (int i = 0; i < in->n_hosts; i++)
		free(in->hosts[i]);
	for (int i = 0; i < in->n_groups; i++)
		group_free(&in->groups[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input *in;
	char *text, *line, *next;
	int n_lines = 0;

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	in = calloc(1, sizeof(*in));
	if (!text || !in)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line && n_lines < MAX_LINES; line = next, n_lines++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		do_line(in, line);
	}
	if (in->n_flows) {
		char *a = compile(in, false);
		char *b = compile(in, true);

		if (strcmp(a, b))
			fail("reparsed flows compile differently", "(the file)", a, b);
		free(a);
		free(b);
		if (conj_ok(in))
			for (int i = 0; i < in->n_flows; i++)
				trace_flow(in, &in->flows[i]);
	}
	free_input(in);
	free(in);
	free(text);
	return 0;
}
