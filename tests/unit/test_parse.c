/* Flow language front end: parse -> print round trips and error messages
 * against golden files, rule identity/covering, and a bounded garbage loop.
 * Run from the repo root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/flow.h"

#define GOLDEN_DIR "tests/golden/parse/"

static int failures;

static void report(bool ok, const char *name, const char *fmt, const char *a,
		   const char *b)
{
	if (ok) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s: ", name);
	printf(fmt, a ? a : "(null)", b ? b : "(null)");
	printf("\n");
	failures++;
}

static bool flow_equal(const struct flow *a, const struct flow *b)
{
	return flow_same_rule(a, b) && a->cookie == b->cookie &&
	       flow_same_timeouts(a, b) && flow_same_actions(a, b);
}

/* Parses 'in', checks it prints as 'want' and that the printed form parses
 * back to an equal flow which prints identically.  NULL or a reason. */
static char *roundtrip(const char *in, const char *want)
{
	struct flow f, g;
	char *err, *out = NULL, *again = NULL, *why = NULL;

	err = flow_parse(in, &f, NULL);
	if (err)
		return err;
	out = flow_format(&f);
	if (strcmp(out, want)) {
		if (asprintf(&why, "printed '%s'", out) < 0)
			why = NULL;
		goto out;
	}
	err = flow_parse(out, &g, NULL);
	if (err) {
		if (asprintf(&why, "reparse: %s", err) < 0)
			why = NULL;
		free(err);
		goto out;
	}
	again = flow_format(&g);
	/* flow_format leaves table and cookie to the daemon. */
	g.table = f.table;
	g.cookie = f.cookie;
	if (!flow_equal(&f, &g) || strcmp(again, out))
		if (asprintf(&why, "reparse differs: '%s'", again) < 0)
			why = NULL;
	flow_free(&g);
out:
	flow_free(&f);
	free(out);
	free(again);
	return why;
}

/* Calls fn(input, expected) for each "INPUT\tEXPECTED" line. */
static int each_golden(const char *file,
		       void (*fn)(int lineno, const char *in, const char *want))
{
	char line[4096];
	FILE *fp = fopen(file, "r");
	int lineno = 0, n = 0;

	if (!fp) {
		printf("not ok - %s: cannot open\n", file);
		failures++;
		return 0;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *tab;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (!tab) {
			printf("not ok - %s:%d: no tab\n", file, lineno);
			failures++;
			continue;
		}
		*tab = '\0';
		fn(lineno, line, tab + 1);
		n++;
	}
	fclose(fp);
	return n;
}

static void roundtrip_case(int lineno, const char *in, const char *want)
{
	char name[64], *why = roundtrip(in, want);

	snprintf(name, sizeof(name), "roundtrip line %d", lineno);
	report(!why, name, "%s (input '%s')", why, in);
	free(why);
}

static void error_case(int lineno, const char *in, const char *want)
{
	struct flow f;
	char name[64], *err = flow_parse(in, &f, NULL);

	snprintf(name, sizeof(name), "error line %d", lineno);
	if (!err) {
		char *out = flow_format(&f);

		report(false, name, "accepted as '%s', wanted '%s'", out, want);
		free(out);
		flow_free(&f);
		return;
	}
	report(!strcmp(err, want), name, "got '%s', wanted '%s'", err, want);
	free(err);
}

static struct flow parse_ok(const char *text, bool match_only)
{
	struct flow_parse_opts opts = { .match_only = match_only };
	struct flow f;
	char *err = flow_parse(text, &f, &opts);

	if (err) {
		printf("not ok - parse '%s': %s\n", text, err);
		failures++;
		free(err);
		memset(&f, 0, sizeof(f));
	}
	return f;
}

static void test_same_rule(const char *a, const char *b, bool want)
{
	struct flow fa = parse_ok(a, false), fb = parse_ok(b, false);
	char name[256];

	snprintf(name, sizeof(name), "same_rule '%s' '%s'", a, b);
	report(flow_same_rule(&fa, &fb) == want, name, "%s%s", want ? "wanted same" : "wanted different", "");
	flow_free(&fa);
	flow_free(&fb);
}

static void test_covered(const char *f, const char *pattern, bool want)
{
	struct flow ff = parse_ok(f, false), fp = parse_ok(pattern, true);
	char name[256];

	snprintf(name, sizeof(name), "covered_by '%s' by '%s'", f, pattern);
	report(flow_covered_by(&ff, &fp) == want, name, "%s%s",
	       want ? "wanted covered" : "wanted not covered", "");
	flow_free(&ff);
	flow_free(&fp);
}

static void test_overlap(const char *a, const char *b, bool want)
{
	struct flow fa = parse_ok(a, false), fb = parse_ok(b, false);
	char name[256];

	snprintf(name, sizeof(name), "overlaps '%s' '%s'", a, b);
	report(flow_overlaps(&fa, &fb) == want && flow_overlaps(&fb, &fa) == want, name,
	       "%s%s", want ? "wanted overlapping" : "wanted disjoint", "");
	flow_free(&fa);
	flow_free(&fb);
}

/* check_overlap's test, both ways round */
static void test_overlaps(void)
{
	test_overlap("priority=5,ip,actions=1", "priority=5,tcp,tp_dst=80,actions=2", true);
	test_overlap("priority=5,tcp,actions=1", "priority=5,udp,actions=2", false);
	test_overlap("priority=5,ip,nw_src=10.0.0.0/8,actions=1", "priority=5,ip,nw_src=10.1.0.0/16,actions=1", true);
	test_overlap("priority=5,ip,nw_src=10.0.0.0/16,actions=1", "priority=5,ip,nw_src=10.1.0.0/16,actions=1", false);
	test_overlap("priority=5,in_port=1,actions=1", "priority=5,ip,actions=1", true);
	test_overlap("priority=5,ip,actions=1", "priority=6,ip,actions=1", false);
	test_overlap("table=1,priority=5,ip,actions=1", "priority=5,ip,actions=1", false);
	test_overlap("priority=5,ct_state=+trk+est,actions=1", "priority=5,ct_state=-est,actions=1", false);
	test_overlap("priority=5,ct_state=+trk,actions=1", "priority=5,ct_state=+est,actions=1", true);
	/* the same rule is a replacement, not an overlap */
	test_overlap("priority=5,ip,actions=1", "priority=5,ip,actions=2", false);
	test_overlap("priority=5,reg0=0x1/0x1,actions=1", "priority=5,reg0=0x2/0x2,actions=1", true);
	test_overlap("priority=5,reg0=0x1/0x1,actions=1", "priority=5,reg0=0x2/0x3,actions=1", false);
}

static void test_rules(void)
{
	test_same_rule("priority=5,ip,in_port=1,actions=1", "priority=5 in_port=1 ip actions=drop", true);
	test_same_rule("ip,in_port=1,actions=1", "priority=32768,dl_type=0x0800,in_port=1,actions=2", true);
	test_same_rule("priority=5,ip,actions=1", "priority=6,ip,actions=1", false);
	test_same_rule("table=1,ip,actions=1", "table=2,ip,actions=1", false);
	test_same_rule("tcp,actions=1", "ip,actions=1", false);
	test_same_rule("ip,nw_src=10.0.0.1/24,actions=1", "ip,nw_src=10.0.0.0/24,actions=1", true);
	test_covered("priority=5,tcp,in_port=1,tp_dst=80,actions=1", "tcp", true);
	test_covered("priority=5,tcp,in_port=1,tp_dst=80,actions=1", "in_port=1", true);
	test_covered("priority=5,tcp,in_port=1,tp_dst=80,actions=1", "", true);
	test_covered("priority=5,tcp,in_port=1,tp_dst=80,actions=1", "in_port=2", false);
	test_covered("priority=5,tcp,in_port=1,tp_dst=80,actions=1", "udp", false);
	test_covered("ip,nw_dst=10.1.2.3,actions=1", "ip,nw_dst=10.1.0.0/16", true);
	test_covered("ip,nw_dst=10.1.0.0/16,actions=1", "ip,nw_dst=10.1.2.3", false);
	test_covered("ct_state=+trk+est,ip,actions=1", "ct_state=+trk", true);
	test_covered("ct_state=+trk,ip,actions=1", "ct_state=+trk+est", false);
	test_covered("reg0=0x5,actions=1", "reg0=0x4/0x4", true);
	test_covered("reg0=0x1,actions=1", "reg0=0x4/0x4", false);
	/* timeouts are not part of the rule: OpenFlow's strict identity and
	 * patterns ignore them */
	test_same_rule("hard_timeout=5,ip,actions=1", "idle_timeout=7,ip,actions=1", true);
	test_covered("hard_timeout=5,ip,actions=1", "ip,hard_timeout=9", true);
}

/* flow_same_timeouts, and that flow_copy and the pattern parser keep them. */
static void test_timeouts(void)
{
	struct flow f = parse_ok("idle_timeout=10,hard_timeout=30,ip,actions=1", false);
	struct flow g = parse_ok("idle_timeout=10,hard_timeout=31,ip,actions=1", false);
	struct flow h = parse_ok("hard_timeout=30,ip,idle_timeout=10,actions=1", false);
	struct flow p = parse_ok("ip,idle_timeout=4,hard_timeout=5", true), c;

	report(f.idle_timeout == 10 && f.hard_timeout == 30, "timeouts parse", "%s%s",
	       "wrong values", "");
	report(!flow_same_timeouts(&f, &g) && flow_same_timeouts(&f, &h),
	       "flow_same_timeouts compares both", "%s%s", "wrong answer", "");
	report(!flow_copy(&c, &f) && flow_equal(&f, &c) && c.hard_timeout == 30,
	       "flow_copy keeps the timeouts", "%s%s", "copy differs", "");
	report(p.idle_timeout == 4 && p.hard_timeout == 5, "a pattern reads timeouts",
	       "%s%s", "wrong values", "");
	flow_free(&f);
	flow_free(&g);
	flow_free(&h);
	flow_free(&p);
	flow_free(&c);
}

static void test_copy(void)
{
	struct flow f = parse_ok("ip,actions=ct(commit,nat(src=1.1.1.1)),2", false), g;
	bool ok = !flow_copy(&g, &f) && flow_equal(&f, &g) &&
		  g.actions != f.actions && g.actions[0].u.ct.nat != f.actions[0].u.ct.nat;

	report(ok, "flow_copy deep copies actions", "%s%s", "copy differs", "");
	flow_free(&f);
	flow_free(&g);
	flow_free(&g); /* idempotent */
}

/* A pattern's cookie: V/M selects (M = -1: all bits), V alone is new. */
static void test_cookie_opts(void)
{
	static const struct {
		const char *text, *err;
		uint64_t cookie, mask;
		bool set;
	} cases[] = {
		{ "cookie=0x12/-1", NULL, 0x12, UINT64_MAX, false },
		{ "cookie=0x12/0xf0,ip", NULL, 0x12, 0xf0, false },
		{ "cookie=7,ip", NULL, 7, 0, true },
		{ "ip", NULL, 0, 0, false },
		{ "cookie=0x1/", "missing value for cookie mask at column 12", 0, 0, false },
		{ "cookie=/5", "missing value for cookie at column 8", 0, 0, false },
		{ "cookie=1/zz", "invalid cookie mask 'zz' at column 10", 0, 0, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t mask = 99;
		bool set = !cases[i].set;
		struct flow_parse_opts o = { .match_only = true, .cookie_mask = &mask,
					     .cookie_set = &set };
		struct flow f;
		char *err = flow_parse(cases[i].text, &f, &o);
		bool ok = cases[i].err ? err && !strcmp(err, cases[i].err)
				       : !err && f.cookie == cases[i].cookie &&
					 mask == cases[i].mask && set == cases[i].set;

		report(ok, "pattern cookie", "%s: %s", cases[i].text,
		       err ? err : "wrong cookie, mask or new-cookie flag");
		free(err);
		flow_free(&f);
	}
}

/* A pattern's out_port=PORT, and flow_outputs_to, which applies it. */
static void test_out_port_opts(void)
{
	uint32_t port = 99;
	struct flow_parse_opts o = { .match_only = true, .out_port = &port };
	struct flow f, g;
	char *err = flow_parse("ip,out_port=LOCAL", &f, &o);

	report(!err && port == OFPP_LOCAL, "pattern out_port=LOCAL", "%s%s",
	       err ? err : "wrong port", "");
	free(err);
	flow_free(&f);
	err = flow_parse("ip", &f, &o);
	report(!err && port == 0, "a pattern without out_port selects any", "%s%s",
	       err ? err : "out_port left set", "");
	free(err);
	flow_free(&f);
	err = flow_parse("out_port=0", &f, &o);
	report(err && !strcmp(err, "invalid port '0' at column 10"), "pattern out_port=0",
	       "%s%s", err ? err : "accepted", "");
	free(err);
	f = parse_ok("ip,actions=ct(commit),output:2", false);
	g = parse_ok("ip,actions=normal,flood", false);
	report(flow_outputs_to(&f, 2) && !flow_outputs_to(&f, 3) &&
	       !flow_outputs_to(&g, 2), "flow_outputs_to: output:N, not NORMAL or FLOOD",
	       "%s%s", "wrong answer", "");
	flow_free(&f);
	flow_free(&g);
}

static void test_opts(void)
{
	bool pg = true, tg = true;
	struct flow_parse_opts o = { .match_only = true, .priority_given = &pg,
				     .table_given = &tg };
	struct flow f;
	char *err = flow_parse("ip,in_port=1", &f, &o);

	report(!err && !pg && !tg && f.n_actions == 0, "match_only without actions",
	       "%s%s", err, "");
	free(err);
	flow_free(&f);
	err = flow_parse("table=3,priority=7,ip", &f, &o);
	report(!err && pg && tg && f.table == 3 && f.priority == 7,
	       "match_only reports priority/table given", "%s%s", err, "");
	free(err);
	flow_free(&f);
	test_cookie_opts();
	test_out_port_opts();
}

/* Deterministic mutations of valid flows: no crash, and either a flow that
 * round-trips or a one-line error naming a column. */
static void test_garbage(void)
{
	static const char *seeds[] = {
		"table=0,priority=100,in_port=1,ip,actions=ct(commit),2",
		"table=1,priority=100,in_port=2,ip,ct_state=+est,actions=1",
		"priority=100,in_port=1,tcp,action=load:0x1001->NXM_NX_REG0[0..15],ct(commit,zone=NXM_NX_REG0[0..15]),2",
		"table=0,priority=100,in_port=2,ct_state=-trk,tcp,action=ct(zone=1,table=1,commit,exec(set_field:0x200000000/0x200000004->ct_label,set_field:0x2/0x6->ct_mark))",
		"ipv6,ipv6_src=fe80::1/64,dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00 actions=resubmit(,3),goto_table:4",
		"tcp,tcp_flags=+syn-ack,tp_dst=0x50/0xfff0,reg3=7/0xf actions=set_field:0x1/0xff->reg1,NORMAL",
		"icmp,icmp_type=8,icmp_code=0,ct_mark=0x5/0xff,ct_label=0x1/0x1 actions=ct(commit,alg=ftp,nat(src=10.0.0.1-10.0.0.2:1000-2000,random)),flood",
		"idle_timeout=10, hard_timeout=300, priority=7,udp,tp_dst=53 actions=normal",
	};
	static const char alphabet[] = "(),=:/[]->+ x0f9.actions_ct";
	unsigned long rnd = 12345;
	int i, bad = 0;
	char why[512] = "";

	for (i = 0; i < 20000; i++) {
		char buf[512];
		const char *seed = seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(seed), k, n;
		struct flow f;
		char *err;

		memcpy(buf, seed, len + 1);
		n = 1 + i % 4;
		for (k = 0; k < n; k++) {
			size_t pos;

			rnd = rnd * 6364136223846793005ul + 1442695040888963407ul;
			pos = (rnd >> 33) % (len + 1);
			switch ((rnd >> 20) % 4) {
			case 0: /* replace */
				if (pos < len)
					buf[pos] = alphabet[(rnd >> 40) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, len - pos + 1);
					buf[pos] = alphabet[(rnd >> 40) % (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			case 2: /* delete */
				if (pos < len) {
					memmove(buf + pos, buf + pos + 1, len - pos);
					len--;
				}
				break;
			default: /* truncate */
				buf[pos] = '\0';
				len = pos;
				break;
			}
		}
		err = flow_parse(buf, &f, NULL);
		if (err) {
			if (!strstr(err, "column") || strchr(err, '\n')) {
				if (!bad++)
					snprintf(why, sizeof(why), "'%.200s' -> '%.200s'", buf, err);
			}
			free(err);
			continue;
		}
		char *out = flow_format(&f);
		char *rt = roundtrip(buf, out);

		if (rt && !bad++)
			snprintf(why, sizeof(why), "'%.200s': %.200s", buf, rt);
		free(rt);
		free(out);
		flow_free(&f);
	}
	report(!bad, "20000 garbage mutations", "%s%s", why, "");
}

static int lookup_veth(const char *name, void *arg)
{
	(void)arg;
	if (!strcmp(name, "veth1"))
		return 1;
	if (!strcmp(name, "veth2"))
		return 2;
	return 0;
}

/* Port names resolve through the caller's lookup, in matches, output:NAME
 * and bare NAME; unknown names are errors naming the token. */
static void test_port_names(void)
{
	struct flow_parse_opts o = { .port_by_name = lookup_veth };
	static const struct { const char *in, *want; } cases[] = {
		{ "in_port=veth1,ip,actions=output:veth2", "ip,in_port=1 actions=output:2" },
		{ "in_port=veth2,actions=veth1", "in_port=2 actions=output:1" },
		{ "in_port=veth3,actions=1", "unknown port 'veth3' at column 9" },
		{ "ip,actions=output:veth9", "output to 'veth9' is not supported at column 19" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flow f;
		char *err = flow_parse(cases[i].in, &f, &o);
		char *got = err ? err : flow_format(&f);

		report(got && !strcmp(got, cases[i].want), "port names", "got '%s' for %s",
		       got ? got : "(null)", cases[i].in);
		if (!err)
			flow_free(&f);
		free(got);
	}
}

static const char *name_of_port(uint32_t ofport, void *arg)
{
	static const char *const names[] = {
		NULL, "veth1", "9p", "normal", "a,b", "x.y-z_1", "LOCAL",
	};

	(void)arg;
	return ofport < sizeof(names) / sizeof(names[0]) ? names[ofport] : NULL;
}

/* --names: a port prints by name only when the name reads back as it. */
static void test_named_format(void)
{
	struct flow_port_names names = { name_of_port, NULL };
	static const struct { const char *in, *want; } cases[] = {
		{ "in_port=1,actions=output:5", "in_port=veth1 actions=output:x.y-z_1" },
		{ "in_port=2,actions=output:3", "in_port=2 actions=output:3" },
		{ "in_port=4,actions=output:6", "in_port=4 actions=output:6" },
		{ "in_port=7,actions=LOCAL", "in_port=7 actions=LOCAL" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flow f = parse_ok(cases[i].in, false);
		char *got = flow_format_named(&f, &names);

		report(got && !strcmp(got, cases[i].want), "named format", "got '%s' for %s",
		       got ? got : "(null)", cases[i].in);
		free(got);
		flow_free(&f);
	}
}

int main(void)
{
	int n;

	n = each_golden(GOLDEN_DIR "roundtrip.txt", roundtrip_case);
	report(n >= 60, "roundtrip golden has >= 60 cases", "only %s%s", n < 60 ? "few" : "", "");
	n = each_golden(GOLDEN_DIR "errors.txt", error_case);
	report(n >= 40, "errors golden has >= 40 cases", "only %s%s", n < 40 ? "few" : "", "");
	/* Tabs separate fields too; the golden files can't hold them. */
	char *why = roundtrip("ip\tin_port=1\tactions=2", "ip,in_port=1 actions=output:2");
	report(!why, "tabs as separators", "%s%s", why, "");
	free(why);
	test_rules();
	test_overlaps();
	test_timeouts();
	test_copy();
	test_opts();
	test_port_names();
	test_named_format();
	test_garbage();
	return failures ? 1 : 0;
}
