/* Groups (rules/group.h): parse -> print round trips and error messages
 * against golden files, copy/free, id-only patterns, and insert_bucket /
 * remove_bucket against tests/golden/group/buckets.txt.  Run from the
 * repo root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/group.h"

#define GOLDEN_DIR "tests/golden/group/"

static int failures;

static void ok(const char *name)
{
	printf("ok - %s\n", name);
}

static void not_ok(const char *name, const char *why)
{
	printf("not ok - %s: %s\n", name, why ? why : "(null)");
	failures++;
}

/* Parses 'in', checks it prints as 'want', that the printed form parses
 * and prints the same again, and that a copy prints the same.  NULL or a
 * malloc'd reason. */
static char *roundtrip(const char *in, const char *want)
{
	struct ofgroup g, h, c;
	char *err, *out = NULL, *again = NULL, *copied = NULL, *why = NULL;

	err = group_parse(in, &g, false);
	if (err)
		return err;
	out = group_format(&g);
	if (!out || strcmp(out, want)) {
		if (asprintf(&why, "printed '%s'", out ? out : "(null)") < 0)
			why = NULL;
		goto out;
	}
	err = group_parse(out, &h, false);
	if (err) {
		if (asprintf(&why, "reparse: %s", err) < 0)
			why = NULL;
		free(err);
		goto out;
	}
	again = group_format(&h);
	group_free(&h);
	if (group_copy(&c, &g) == 0) {
		copied = group_format(&c);
		group_free(&c);
	}
	if (!again || strcmp(again, out))
		why = strdup("reparse prints differently");
	else if (!copied || strcmp(copied, out))
		why = strdup("copy prints differently");
out:
	group_free(&g);
	free(out);
	free(again);
	free(copied);
	return why;
}

/* Every prefix of a valid group parses or fails cleanly (run under ASan
 * by make asan). */
static void parse_prefixes(const char *in)
{
	size_t n = strlen(in);
	char *buf = malloc(n + 1);

	for (size_t i = 0; buf && i <= n; i++) {
		struct ofgroup g;
		char *err;

		memcpy(buf, in, i);
		buf[i] = '\0';
		err = group_parse(buf, &g, false);
		if (!err) {
			char *text = group_format(&g);

			free(text);
			group_free(&g);
		}
		free(err);
	}
	free(buf);
}

static void check_roundtrip(int lineno, const char *in, const char *want)
{
	char name[64], *why = roundtrip(in, want);

	parse_prefixes(in);

	snprintf(name, sizeof(name), "roundtrip line %d", lineno);
	if (why)
		not_ok(name, why);
	else
		ok(name);
	free(why);
}

/* An input starting with "ID " is an id-only pattern (del-groups,
 * dump-groups); the golden column counts from after the "ID ". */
static void check_error(int lineno, const char *in, const char *want)
{
	bool id_only = !strncmp(in, "ID ", 3);
	struct ofgroup g;
	char name[64], *err = group_parse(id_only ? in + 3 : in, &g, id_only);

	snprintf(name, sizeof(name), "error line %d", lineno);
	if (!err) {
		group_free(&g);
		not_ok(name, "parsed without error");
	} else if (strcmp(err, want)) {
		char *why;

		if (asprintf(&why, "got '%s'", err) < 0)
			why = NULL;
		not_ok(name, why);
		free(why);
	} else {
		ok(name);
	}
	free(err);
}

/* Calls fn(lineno, input, expected) for each "INPUT<TAB>EXPECTED" line. */
static void each_golden(const char *file,
			void (*fn)(int lineno, const char *in, const char *want))
{
	char line[8192];
	FILE *fp = fopen(file, "r");
	int lineno = 0;

	if (!fp) {
		not_ok(file, "cannot open");
		return;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *tab;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (!tab) {
			char name[64];

			snprintf(name, sizeof(name), "%s:%d", file, lineno);
			not_ok(name, "no tab");
			continue;
		}
		*tab = '\0';
		fn(lineno, line, tab + 1);
	}
	fclose(fp);
}

/* A group after a bucket command, or the command's error ("error: ...",
 * the group then printing as before). */
static char *after_bucket_mod(const char *group, const char *mod)
{
	bool insert = !strncmp(mod, "insert ", 7);
	struct group_bucket_mod m;
	char *before, *err, *out = NULL;
	struct ofgroup g;

	if (!insert && strncmp(mod, "remove ", 7))
		return strdup("the command must start with 'insert ' or 'remove '");
	err = group_parse(group, &g, false);
	if (err)
		return err;
	before = group_format(&g);
	mod += 7;
	err = group_bucket_mod_parse(mod, insert, &m);
	if (!err && m.group_id != g.group_id)
		err = strdup("for another group");
	if (!err)
		err = group_bucket_mod_apply(mod, &m, &g);
	out = err ? NULL : group_format(&g);
	if (err && asprintf(&out, "error: %s", err) < 0)
		out = NULL;
	if (err && before) {
		char *now = group_format(&g);

		if (!now || strcmp(now, before)) {
			free(out);
			if (asprintf(&out, "the failed command changed the group to '%s'",
				     now ? now : "(null)") < 0)
				out = NULL;
		}
		free(now);
	}
	free(err);
	free(before);
	group_free(&g);
	return out;
}

/* "GROUP<TAB>insert|remove TEXT<TAB>EXPECTED" lines. */
static void check_bucket_mods(void)
{
	char line[8192];
	FILE *fp = fopen(GOLDEN_DIR "buckets.txt", "r");
	int lineno = 0;

	if (!fp) {
		not_ok("buckets.txt", "cannot open");
		return;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *mod, *want, *got, name[64];

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		snprintf(name, sizeof(name), "bucket command line %d", lineno);
		mod = strchr(line, '\t');
		want = mod ? strchr(mod + 1, '\t') : NULL;
		if (!want) {
			not_ok(name, "expected GROUP, COMMAND and RESULT, tab-separated");
			continue;
		}
		*mod++ = '\0';
		*want++ = '\0';
		got = after_bucket_mod(line, mod);
		if (!got || strcmp(got, want)) {
			char *why;

			if (asprintf(&why, "got '%s'", got ? got : "(null)") < 0)
				why = NULL;
			not_ok(name, why);
			free(why);
		} else {
			ok(name);
		}
		free(got);
	}
	fclose(fp);
}

static void check_fields(void)
{
	struct ofgroup g;
	char *err = group_parse("group_id=7,type=select,"
				"bucket=weight:30,actions=ct(commit,nat(dst=10.1.1.2:80)),"
				"bucket=bucket_id:0,actions=output:2", &g, false);

	if (err) {
		not_ok("fields", err);
		free(err);
		return;
	}
	if (g.group_id != 7 || g.type != GROUP_SELECT || g.n_buckets != 2 ||
	    g.buckets[0].bucket_id != 1 || g.buckets[0].weight != 30 ||
	    g.buckets[1].bucket_id != 0 || g.buckets[1].weight != 1 ||
	    g.buckets[0].n_actions != 1 ||
	    g.buckets[0].actions[0].type != ACT_CT ||
	    !g.buckets[0].actions[0].u.ct.nat ||
	    g.buckets[0].actions[0].u.ct.nat_spec.kind != NAT_DST ||
	    g.buckets[0].actions[0].u.ct.nat_spec.port_min != 80 ||
	    g.buckets[1].actions[0].type != ACT_OUTPUT)
		not_ok("fields", "unexpected parsed values");
	else
		ok("fields");
	group_free(&g);
	group_free(&g); /* twice is harmless */
}

static void check_id_only(void)
{
	struct ofgroup g;
	char *err = group_parse("group_id=42", &g, true);

	if (err || g.group_id != 42 || g.n_buckets)
		not_ok("id_only", err ? err : "wrong group");
	else
		ok("id_only");
	free(err);
	group_free(&g);
}

int main(void)
{
	each_golden(GOLDEN_DIR "roundtrip.txt", check_roundtrip);
	each_golden(GOLDEN_DIR "errors.txt", check_error);
	check_fields();
	check_id_only();
	check_bucket_mods();
	return failures ? 1 : 0;
}
