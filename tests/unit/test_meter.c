/* Meters (rules/meter.h): parse -> format round trips, dump-meters' text,
 * the limit the kernel gets, id-only patterns and every error message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/meter.h"
#include "report.h"

/* input, what meter_format prints */
static const char *const roundtrips[][2] = {
	{ "meter=1,pktps,band=type=drop,rate=10",
	  "meter=1,pktps,bands=type=drop,rate=10" },
	{ "meter=2 kbps burst stats bands=type=drop rate=1000 burst_size=200",
	  "meter=2,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=200" },
	{ "meter=4294901760,pktps,bands=type=drop,rate=1",
	  "meter=4294901760,pktps,bands=type=drop,rate=1" },
	{ "METER=3,PKTPS,BANDS=TYPE=DROP,RATE=7",
	  "meter=3,pktps,bands=type=drop,rate=7" },
	{ "meter=5,bands=type=drop,rate=9", "meter=5,pktps,bands=type=drop,rate=9" },
};

/* input, meter_parse's error */
static const char *const errors[][2] = {
	{ "meter=0,pktps,bands=type=drop,rate=10",
	  "meter=0: meter ids are 1-4294901760 (0 and the reserved ids slowpath, controller, all are not meters) at column 7" },
	{ "meter=4294967295,pktps,bands=type=drop,rate=10",
	  "meter=4294967295: meter ids are 1-4294901760 (0 and the reserved ids slowpath, controller, all are not meters) at column 7" },
	{ "meter=1,pktps,bands=type=dscp_remark,rate=10,prec_level=1",
	  "band 'type=dscp_remark' is not supported: only type=drop bands at column 21" },
	{ "meter=1,pktps,bands=type=drop,rate=10,type=drop,rate=20",
	  "a second band: only one band per meter is supported at column 39" },
	{ "meter=1,pktps,bands=type=drop", "missing 'rate=' in the band at column 30" },
	{ "meter=1,pktps", "missing 'bands=type=drop,rate=R' at column 14" },
	{ "pktps,bands=type=drop,rate=1", "missing 'meter=N' at column 29" },
	{ "meter=1,pktps,colour,bands=type=drop,rate=1",
	  "unknown meter keyword 'colour' at column 15" },
	{ "meter=1,pktps,bands=type=drop,rate=1,size=3",
	  "unknown band keyword 'size' at column 38" },
	{ "meter=1,pktps,bands=rate=1", "'rate' before the band's type=drop at column 21" },
	{ "meter=1,pktps,bands=type=drop,rate=0", "rate=0: a meter's rate must be at least 1 at column 36" },
	{ "meter=1,pktps,bands=type=drop,rate=ten",
	  "invalid rate 'ten' at column 36" },
	{ "meter=1,kbps,pktps,bands=type=drop,rate=1",
	  "kbps and pktps exclude each other at column 14" },
	{ "meter=1,meter=2,bands=type=drop,rate=1", "duplicate 'meter' at column 9" },
	{ "meter=1,bands=type=drop,rate=1,bands=type=drop",
	  "duplicate 'bands=' at column 32" },
};

static void test_roundtrips(void)
{
	for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++) {
		struct ofmeter m, again;
		char *err = meter_parse(roundtrips[i][0], &m, false);
		char *out = err ? NULL : meter_format(&m), *out2 = NULL;
		char *err2 = out ? meter_parse(out, &again, false) : NULL;

		if (out && !err2)
			out2 = meter_format(&again);
		report(!err && out && !strcmp(out, roundtrips[i][1]) && out2 &&
		       !strcmp(out2, out), roundtrips[i][0], err ? err : err2 ? err2 : out);
		free(err);
		free(err2);
		free(out);
		free(out2);
	}
}

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct ofmeter m;
		char *err = meter_parse(errors[i][0], &m, false);

		report(err && !strcmp(err, errors[i][1]), errors[i][0], err);
		free(err);
	}
}

static void test_config_and_limit(void)
{
	struct ofmeter m;
	uint64_t rate;
	uint32_t burst;
	bool bytes;
	char *err, *text;

	err = meter_parse("meter=2,kbps,burst,bands=type=drop,rate=1000,burst_size=200",
			  &m, false);
	text = err ? NULL : meter_format_config(&m);
	report(text && !strcmp(text, "meter=2 kbps burst bands=\ntype=drop rate=1000 burst_size=200"),
	       "dump-meters text, kbps", text);
	free(text);
	meter_limit(&m, &rate, &burst, &bytes);
	report(bytes && rate == 125000 && burst == 25000, "kbps limit in bytes/s", NULL);
	free(err);
	err = meter_parse("meter=1,pktps,bands=type=drop,rate=10", &m, false);
	text = err ? NULL : meter_format_config(&m);
	report(text && !strcmp(text, "meter=1 pktps bands=\ntype=drop rate=10"),
	       "dump-meters text, pktps", text);
	free(text);
	meter_limit(&m, &rate, &burst, &bytes);
	report(!bytes && rate == 10 && burst == 5, "pktps limit, default burst", NULL);
	free(err);
}

static void test_patterns(void)
{
	struct ofmeter m;
	char *err;

	err = meter_parse("meter=7", &m, true);
	report(!err && m.meter_id == 7, "pattern meter=7", err);
	free(err);
	err = meter_parse("meter=all", &m, true);
	report(!err && m.meter_id == 0, "pattern meter=all", err);
	free(err);
	err = meter_parse("", &m, true);
	report(!err && m.meter_id == 0, "empty pattern", err);
	free(err);
	err = meter_parse("meter=1,pktps", &m, true);
	report(err && !strcmp(err, "unexpected 'pktps': only meter=N or meter=all selects meters at column 9"),
	       "pattern with more than an id", err);
	free(err);
	err = meter_parse("meter=0", &m, true);
	report(err != NULL, "pattern meter=0", err);
	free(err);
}

int main(void)
{
	test_roundtrips();
	test_errors();
	test_config_and_limit();
	test_patterns();
	return failures ? 1 : 0;
}
