/* Connection limits by zone (rules/zone_limit.h): parse -> print round
 * trips, every error message, and which limit a zone gets (its own, else
 * the default, else none). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/zone_limit.h"
#include "report.h"

/* zone, limit as typed; what zone_limit_print prints back */
static const char *const roundtrips[][3] = {
	{ "5", "100", "5 100" },
	{ "default", "1000", "default 1000" },
	{ "0", "0", "0 0" },
	{ "65535", "4294967295", "65535 4294967295" },
	{ "007", "02", "7 2" },
};

/* zone, limit; the one-line error */
static const char *const errors[][3] = {
	{ "x", "5", "invalid zone 'x' (0-65535 or default)" },
	{ "65536", "5", "invalid zone '65536' (0-65535 or default)" },
	{ "-1", "5", "invalid zone '-1' (0-65535 or default)" },
	{ "", "5", "invalid zone '' (0-65535 or default)" },
	{ "Default", "5", "invalid zone 'Default' (0-65535 or default)" },
	{ "5", "4294967296", "invalid limit '4294967296' (0-4294967295 connections, 0 for none)" },
	{ "5", "-1", "invalid limit '-1' (0-4294967295 connections, 0 for none)" },
	{ "5", "10x", "invalid limit '10x' (0-4294967295 connections, 0 for none)" },
	{ "5", "", "invalid limit '' (0-4294967295 connections, 0 for none)" },
};

static void check_roundtrips(void)
{
	for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++) {
		struct zone_limit zl;
		char *err = zone_limit_parse(roundtrips[i][0], roundtrips[i][1], &zl);
		char *text = NULL, name[64];
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (!err && f)
			zone_limit_print(&zl, f);
		if (f)
			fclose(f);
		snprintf(name, sizeof(name), "round trip '%s %s'", roundtrips[i][0],
			 roundtrips[i][1]);
		report(!err && text && !strcmp(text, roundtrips[i][2]), name, err ? err : text);
		free(err);
		free(text);
	}
}

static void check_errors(void)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct zone_limit zl;
		char *err = zone_limit_parse(errors[i][0], errors[i][1], &zl);
		char name[64];

		snprintf(name, sizeof(name), "error for '%s %s'", errors[i][0], errors[i][1]);
		report(err && !strcmp(err, errors[i][2]), name, err);
		free(err);
	}
}

static void check_lookup(void)
{
	static const struct zone_limit limits[] = {
		{ ZONE_LIMIT_DEFAULT, 1000 }, { 5, 100 }, { 7, 0 },
	};
	static const struct zone_limit no_default[] = { { 5, 100 } };
	char got[32];

	snprintf(got, sizeof(got), "%u", zone_limit_for(limits, 3, 5));
	report(!strcmp(got, "100"), "a zone's own limit wins over the default", got);
	snprintf(got, sizeof(got), "%u", zone_limit_for(limits, 3, 6));
	report(!strcmp(got, "1000"), "a zone without one gets the default", got);
	snprintf(got, sizeof(got), "%u", zone_limit_for(limits, 3, 7));
	report(!strcmp(got, "0"), "a zone's own 0 exempts it from the default", got);
	snprintf(got, sizeof(got), "%u", zone_limit_for(no_default, 1, 6));
	report(!strcmp(got, "0"), "no default: no limit", got);
	snprintf(got, sizeof(got), "%u", zone_limit_for(NULL, 0, 0));
	report(!strcmp(got, "0"), "no limits at all: none", got);
}

int main(void)
{
	check_roundtrips();
	check_errors();
	check_lookup();
	return failures ? 1 : 0;
}
