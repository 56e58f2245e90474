/* Parsing conntrack tuple patterns (see ct_tuple.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_tuple.h"
#include "errstr.h"

/* A decimal or 0x number in [0, max]; -1 if not one. */
static long parse_num(const char *v, long max)
{
	char *end;
	long n;

	if (!*v || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	n = strtol(v, &end, 0);
	return *end || errno || n > max ? -1 : n;
}

static int parse_addr(struct ct_tuple *t, const char *v, int family,
		      bool is_src)
{
	uint8_t *dst = is_src ? t->src : t->dst;

	if (t->family && t->family != family)
		return -2;
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, v, dst) != 1)
		return -1;
	t->family = family;
	if (is_src)
		t->has_src = true;
	else
		t->has_dst = true;
	return 0;
}

/* One "key=value"; NULL or an error. */
static char *parse_field(struct ct_tuple *t, const char *key, const char *v)
{
	static const struct {
		const char *name;
		int family;     /* address fields */
		bool is_src;
		long max;       /* number fields */
		size_t off;
	} keys[] = {
		{ "ct_nw_src", 4, true, 0, 0 },
		{ "ct_nw_dst", 4, false, 0, 0 },
		{ "ct_ipv6_src", 6, true, 0, 0 },
		{ "ct_ipv6_dst", 6, false, 0, 0 },
		{ "ct_nw_proto", 0, false, 255, offsetof(struct ct_tuple, proto) },
		{ "ct_tp_src", 0, false, 65535, offsetof(struct ct_tuple, sport) },
		{ "ct_tp_dst", 0, false, 65535, offsetof(struct ct_tuple, dport) },
		{ "icmp_type", 0, false, 255, offsetof(struct ct_tuple, icmp_type) },
		{ "icmp_code", 0, false, 255, offsetof(struct ct_tuple, icmp_code) },
		{ "icmp_id", 0, false, 65535, offsetof(struct ct_tuple, icmp_id) },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long n;
		int r;

		if (strcmp(key, keys[i].name))
			continue;
		if (keys[i].family) {
			r = parse_addr(t, v, keys[i].family, keys[i].is_src);
			if (r == -2)
				return errstr("'%s' mixes IPv4 and IPv6 with the other address",
						 key);
			return r ? errstr("invalid address '%s' for '%s'", v, key) : NULL;
		}
		n = parse_num(v, keys[i].max);
		if (n < 0)
			return errstr("invalid value '%s' for '%s'", v, key);
		*(int *)((char *)t + keys[i].off) = (int)n;
		return NULL;
	}
	return errstr("unknown field '%s' in a conntrack tuple (ct_nw_src, ct_nw_dst,"
			 " ct_ipv6_src, ct_ipv6_dst, ct_nw_proto, ct_tp_src, ct_tp_dst,"
			 " icmp_type, icmp_code, icmp_id)", key);
}

static bool is_icmp(int proto)
{
	return proto == 1 || proto == 58;
}

/* Ports need a protocol that has them, ICMP fields an ICMP protocol. */
static char *check_fields(const struct ct_tuple *t)
{
	bool ports = t->sport >= 0 || t->dport >= 0;
	bool icmp = t->icmp_type >= 0 || t->icmp_code >= 0 || t->icmp_id >= 0;

	if ((ports || icmp) && t->proto < 0)
		return errstr("%s needs ct_nw_proto", ports ? "a port" : "an icmp field");
	if (ports && is_icmp(t->proto))
		return errstr("ICMP has no ports: use icmp_type, icmp_code and icmp_id");
	if (icmp && !is_icmp(t->proto))
		return errstr("icmp_type, icmp_code and icmp_id need ct_nw_proto=1 or 58");
	return NULL;
}

char *ct_tuple_parse(const char *text, struct ct_tuple *t)
{
	char *copy = strdup(text), *save = NULL, *err = NULL;

	*t = (struct ct_tuple){
		.proto = -1, .sport = -1, .dport = -1,
		.icmp_type = -1, .icmp_code = -1, .icmp_id = -1,
	};
	if (!copy)
		return strdup("out of memory");
	for (char *kv = strtok_r(copy, ", ", &save); kv && !err;
	     kv = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq) {
			err = errstr("'%s' is not field=value in a conntrack tuple", kv);
			break;
		}
		*eq = '\0';
		err = parse_field(t, kv, eq + 1);
	}
	free(copy);
	return err ? err : check_fields(t);
}

bool ct_tuple_is_empty(const struct ct_tuple *t)
{
	return !t->family && t->proto < 0;
}
