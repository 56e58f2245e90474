/* Conntrack tuple patterns of flush-conntrack (rules/ct_tuple.c): what
 * each field sets, what a left-out field leaves open, and one-line errors
 * that name the bad field or value. */
#include "../../rules/ct_tuple.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void report(const char *name, const char *why)
{
	if (why) {
		printf("not ok - %s: %s\n", name, why);
		failures++;
	} else {
		printf("ok - %s\n", name);
	}
}

/* Parses 'text' and compares a summary of the result with 'want'. */
static void check_parse(const char *text, const char *want)
{
	struct ct_tuple t;
	char got[256], name[300];
	char *err = ct_tuple_parse(text, &t);

	snprintf(name, sizeof(name), "parse '%s'", text);
	if (err) {
		snprintf(got, sizeof(got), "error: %s", err);
	} else {
		snprintf(got, sizeof(got),
			 "family=%d src=%d.%d.%d.%d/%d dst=%02x%02x/%d proto=%d ports=%d,%d icmp=%d,%d,%d empty=%d",
			 t.family, t.src[0], t.src[1], t.src[2], t.src[3], t.has_src,
			 t.dst[14], t.dst[15], t.has_dst, t.proto, t.sport, t.dport,
			 t.icmp_type, t.icmp_code, t.icmp_id, ct_tuple_is_empty(&t));
	}
	free(err);
	if (strcmp(got, want)) {
		char why[700];

		snprintf(why, sizeof(why), "expected '%s', got '%s'", want, got);
		report(name, why);
		return;
	}
	report(name, NULL);
}

int main(void)
{
	check_parse("", "family=0 src=0.0.0.0/0 dst=0000/0 proto=-1 ports=-1,-1 icmp=-1,-1,-1 empty=1");
	check_parse("ct_nw_src=10.1.1.1,ct_nw_proto=6,ct_tp_dst=80",
		    "family=4 src=10.1.1.1/1 dst=0000/0 proto=6 ports=-1,80 icmp=-1,-1,-1 empty=0");
	check_parse("ct_ipv6_dst=fc00::2,ct_nw_proto=17,ct_tp_src=0x35",
		    "family=6 src=0.0.0.0/0 dst=0002/1 proto=17 ports=53,-1 icmp=-1,-1,-1 empty=0");
	check_parse("ct_nw_proto=1,icmp_type=8,icmp_code=0,icmp_id=4711",
		    "family=0 src=0.0.0.0/0 dst=0000/0 proto=1 ports=-1,-1 icmp=8,0,4711 empty=0");
	check_parse("ct_nw_proto=6 ct_tp_dst=22",
		    "family=0 src=0.0.0.0/0 dst=0000/0 proto=6 ports=-1,22 icmp=-1,-1,-1 empty=0");
	check_parse("ct_nw_sorc=10.1.1.1",
		    "error: unknown field 'ct_nw_sorc' in a conntrack tuple (ct_nw_src, ct_nw_dst,"
		    " ct_ipv6_src, ct_ipv6_dst, ct_nw_proto, ct_tp_src, ct_tp_dst, icmp_type,"
		    " icmp_code, icmp_id)");
	check_parse("ct_nw_src=10.1.1.300", "error: invalid address '10.1.1.300' for 'ct_nw_src'");
	check_parse("ct_nw_src=fc00::1", "error: invalid address 'fc00::1' for 'ct_nw_src'");
	check_parse("ct_nw_src=10.1.1.1,ct_ipv6_dst=fc00::2",
		    "error: 'ct_ipv6_dst' mixes IPv4 and IPv6 with the other address");
	check_parse("ct_nw_proto=256", "error: invalid value '256' for 'ct_nw_proto'");
	check_parse("ct_nw_proto=6,ct_tp_dst=-1", "error: invalid value '-1' for 'ct_tp_dst'");
	check_parse("ct_nw_proto=6,ct_tp_dst=65536", "error: invalid value '65536' for 'ct_tp_dst'");
	check_parse("ct_nw_proto=6,ct_tp_dst=", "error: invalid value '' for 'ct_tp_dst'");
	check_parse("ct_tp_dst=80", "error: a port needs ct_nw_proto");
	check_parse("icmp_type=8", "error: an icmp field needs ct_nw_proto");
	check_parse("ct_nw_proto=1,ct_tp_dst=80",
		    "error: ICMP has no ports: use icmp_type, icmp_code and icmp_id");
	check_parse("ct_nw_proto=6,icmp_id=1",
		    "error: icmp_type, icmp_code and icmp_id need ct_nw_proto=1 or 58");
	check_parse("ct_nw_src", "error: 'ct_nw_src' is not field=value in a conntrack tuple");
	return failures ? 1 : 0;
}
