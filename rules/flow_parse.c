/* Parser for one flow in ovs-ofctl syntax (ovs-ofctl(8), ovs-fields(7),
 * ovs-actions(7)).  It walks the original text by offsets and never writes
 * to it, so every error can name its token and 1-based column.  Matches are
 * checked against OVS's prerequisites once the whole match is known, as OVS
 * does. */
#include <arpa/inet.h>
#include <netinet/ether.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dpi.h"
#include "flow.h"

#define MAX_FLOW_LEN 65536
#define MAX_TOKEN_SHOWN 64

/* A slice of the input: [off, off + len). */
struct tok {
	size_t off;
	size_t len;
};

/* One key[=:(]value item, as OVS's ofputil_parse_key_value() splits them. */
struct kv {
	struct tok key;
	struct tok val;
	char delim;     /* '=', ':', '(' or 0 when the key stands alone */
	struct tok all; /* key through the end of the value (and ')') */
};

enum prereq {
	P_NONE, P_IPV4, P_IPV6, P_IP_ANY, P_L4, P_TCP, P_UDP, P_SCTP, P_ICMP, P_ND,
	P_ARP,
	/* the connection's tuple: the family and a ct_state that says ct()
	 * found a connection (+new, +est, +rel, +rpl or +trk-inv), as OVS */
	P_CT_IPV4, P_CT_IPV6, P_CT_IP_ANY,
};

struct parser {
	const char *s;
	size_t len;
	char *err;
	struct flow f;
	int cap;
	bool have[F_COUNT];
	struct flow_match m[F_COUNT];
	struct tok setter[F_COUNT]; /* the token that last set the field */
	enum prereq pre[F_COUNT];
	uint8_t keep[F_COUNT]; /* fields that become matches, in order */
	bool drop;
	struct tok drop_tok;
	const struct flow_parse_opts *opts;
};

/* ---- errors ---- */

/* Records the first error; the message ends in " at column N".  Always
 * returns -1 so callers can "return fail(...)". */
#define fail(p, ...) flow_fail_at(&(p)->err, __VA_ARGS__)

/* printf arguments for a token, shortened so a message stays readable. */
#define TOKF "%.*s%s"
#define TOKA(p, t) \
	(int)((t).len > MAX_TOKEN_SHOWN ? MAX_TOKEN_SHOWN : (t).len), \
	(p)->s + (t).off, (t).len > MAX_TOKEN_SHOWN ? "..." : ""

/* Keyword tables are searched linearly, once per token of 100 000-flow
 * files: stop at the first byte that differs (a token holds no NUL, so
 * the end of 'word' differs too). */
static bool tok_is(const struct parser *p, struct tok t, const char *word)
{
	const char *s = p->s + t.off;
	size_t i;

	for (i = 0; i < t.len; i++)
		if (s[i] != word[i])
			return false;
	return t.len && !word[i];
}

static bool tok_icase(const struct parser *p, struct tok t, const char *word)
{
	return t.len && tolower((unsigned char)p->s[t.off]) ==
			tolower((unsigned char)word[0]) &&
	       t.len == strlen(word) && !strncasecmp(p->s + t.off, word, t.len);
}

/* Copies a token into 'buf' as a C string; false when it does not fit. */
static bool tok_copy(const struct parser *p, struct tok t, char *buf, size_t n)
{
	if (t.len >= n)
		return false;
	memcpy(buf, p->s + t.off, t.len);
	buf[t.len] = '\0';
	return true;
}

static struct tok tok_sub(struct tok t, size_t from, size_t to)
{
	struct tok r = { t.off + from, to - from };

	return r;
}

/* Index of 'c' in the token at or after 'from', or t.len. */
static size_t tok_find(const struct parser *p, struct tok t, size_t from, char c)
{
	size_t i;

	for (i = from; i < t.len; i++) {
		if (p->s[t.off + i] == c)
			return i;
	}
	return t.len;
}

/* ---- splitting into key/value items ---- */

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips a parenthesised group starting at '(' at *i; false if unbalanced. */
static bool skip_parens(const struct parser *p, size_t *i, size_t end)
{
	int depth = 0;

	for (; *i < end; (*i)++) {
		if (p->s[*i] == '(')
			depth++;
		else if (p->s[*i] == ')' && --depth == 0) {
			(*i)++;
			return true;
		}
	}
	return false;
}

/* Splits the next item of [*pos, end).  Returns 1 with 'kv' filled, 0 at the
 * end, -1 on error. */
static int next_kv(struct parser *p, size_t *pos, size_t end, struct kv *kv)
{
	const char *s = p->s;
	size_t i = *pos, start;

	while (i < end && is_sep(s[i]))
		i++;
	if (i >= end)
		return 0;
	memset(kv, 0, sizeof(*kv));
	start = i;
	while (i < end && !is_sep(s[i]) && s[i] != ':' && s[i] != '=' &&
	       s[i] != '(' && s[i] != ')')
		i++;
	kv->key = (struct tok){ start, i - start };
	if (i < end && s[i] == ')')
		return fail(p, i, "unbalanced parentheses: unexpected ')'");
	if (!kv->key.len)
		return fail(p, start, "missing name before '%c'", s[start]);
	kv->delim = i < end ? s[i] : 0;
	if (kv->delim == '(') {
		size_t open = i;

		if (!skip_parens(p, &i, end))
			return fail(p, open, "unbalanced parentheses in '" TOKF "'",
				    TOKA(p, ((struct tok){ start, end - start })));
		kv->val = (struct tok){ open + 1, i - open - 2 };
		if (i < end && s[i] == ')')
			return fail(p, i, "unbalanced parentheses: unexpected ')'");
		if (i < end && !is_sep(s[i]))
			return fail(p, i, "unexpected '%c' after '" TOKF "'",
				    s[i], TOKA(p, ((struct tok){ start, i - start })));
	} else if (kv->delim == '=' || kv->delim == ':') {
		size_t v = ++i;

		while (i < end && !is_sep(s[i])) {
			if (s[i] == ')')
				return fail(p, i, "unbalanced parentheses: unexpected ')'");
			if (s[i] == '(') {
				size_t open = i;

				if (!skip_parens(p, &i, end))
					return fail(p, open, "unbalanced parentheses in '" TOKF "'",
						    TOKA(p, ((struct tok){ start, end - start })));
				continue;
			}
			i++;
		}
		kv->val = (struct tok){ v, i - v };
	} else {
		kv->delim = 0;
		kv->val = (struct tok){ i, 0 };
	}
	kv->all = (struct tok){ start, i - start };
	*pos = i;
	return 1;
}

/* ---- numbers ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decimal or 0x-hex token into 'w' big-endian bytes.  Returns 0, -1 for bad
 * syntax, -2 when the number does not fit. */
static int parse_be(const struct parser *p, struct tok t, uint8_t *out, int w)
{
	const char *s = p->s + t.off;
	size_t n = t.len, i;

	memset(out, 0, w);
	if (!n)
		return -1;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		size_t digits;

		s += 2;
		n -= 2;
		for (i = 0; i < n; i++) {
			if (hexval(s[i]) < 0)
				return -1;
		}
		while (n > 1 && s[0] == '0') {
			s++;
			n--;
		}
		digits = n;
		if (digits > (size_t)w * 2)
			return -2;
		for (i = 0; i < digits; i++) {
			size_t d = digits - 1 - i; /* nibble index from the right */

			out[w - 1 - d / 2] |= hexval(s[i]) << (d % 2 ? 4 : 0);
		}
		return 0;
	}
	uint64_t v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (s[i] - '0')) / 10)
			return -2;
		v = v * 10 + (s[i] - '0');
	}
	for (i = 0; i < (size_t)w; i++) {
		out[w - 1 - i] = v & 0xff;
		v = i < 7 ? v >> 8 : 0;
	}
	return v ? -2 : 0;
}

static uint64_t be_get(const uint8_t *b, int w)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < w && i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Unsigned number in [0, max]; fails naming 'what'. */
static int parse_uint(struct parser *p, struct tok t, uint64_t max,
		      const char *what, uint64_t *out)
{
	uint8_t b[8];
	int r = parse_be(p, t, b, 8);

	if (!t.len)
		return fail(p, t.off, "missing value for %s", what);
	if (r == -1)
		return fail(p, t.off, "invalid %s '" TOKF "'", what, TOKA(p, t));
	*out = be_get(b, 8);
	if (r == -2 || *out > max)
		return fail(p, t.off, "%s '" TOKF "' out of range (max %llu)",
			    what, TOKA(p, t), (unsigned long long)max);
	return 0;
}

/* cookie=V, or in a pattern cookie=V/M, as ovs-ofctl reads them: a mask
 * selects flows by cookie (-1: every bit), no mask gives a new cookie. */
static int parse_cookie(struct parser *p, struct tok t,
			const struct flow_parse_opts *opts)
{
	size_t slash = tok_find(p, t, 0, '/');
	struct tok value = { t.off, slash };
	struct tok mask = { t.off + slash + 1, slash < t.len ? t.len - slash - 1 : 0 };
	uint64_t v;

	if (parse_uint(p, value, UINT64_MAX, "cookie", &v))
		return -1;
	p->f.cookie = v;
	if (slash == t.len) {
		if (opts && opts->cookie_set)
			*opts->cookie_set = true;
		return 0;
	}
	if (!opts || !opts->cookie_mask)
		return fail(p, t.off + slash,
			    "a cookie mask selects flows; adding a flow cannot use one");
	if (tok_is(p, mask, "-1")) {
		*opts->cookie_mask = UINT64_MAX;
		return 0;
	}
	return parse_uint(p, mask, UINT64_MAX, "cookie mask", opts->cookie_mask);
}

static int parse_table(struct parser *p, struct tok t, uint8_t *table)
{
	uint64_t v;

	if (parse_uint(p, t, FLOW_MAX_TABLE, "table", &v))
		return -1;
	*table = v;
	return 0;
}

/* A port name's ofport, resolved by the caller (the daemon knows the
 * bridge's ports); 0 when unknown. */
static int lookup_port_name(struct parser *p, struct tok t)
{
	char name[16];
	int ofport;

	if (!t.len || t.len >= sizeof(name) || !p->opts || !p->opts->port_by_name)
		return 0;
	memcpy(name, p->s + t.off, t.len);
	name[t.len] = 0;
	ofport = p->opts->port_by_name(name, p->opts->port_arg);
	return ofport > 0 ? ofport : 0;
}

static int parse_port_name(struct parser *p, struct tok t, uint32_t *port)
{
	int ofport = lookup_port_name(p, t);

	if (!ofport)
		return fail(p, t.off, "unknown port '%.*s'", (int)t.len, p->s + t.off);
	*port = ofport;
	return 0;
}

/* OpenFlow port numbers 1..0xfeff (OFPP_MAX is reserved), LOCAL, or a name. */
static int parse_port(struct parser *p, struct tok t, uint32_t *port)
{
	uint64_t v;

	if (tok_icase(p, t, "LOCAL")) {
		*port = OFPP_LOCAL;
		return 0;
	}
	if (t.len && !isdigit((unsigned char)p->s[t.off]))
		return parse_port_name(p, t, port);

	if (parse_uint(p, t, 0xfeff, "port", &v))
		return -1;
	if (!v)
		return fail(p, t.off, "invalid port '0'");
	*port = v;
	return 0;
}

/* ---- bit helpers on big-endian values ---- */

static bool is_zero(const uint8_t *b, int w)
{
	int i;

	for (i = 0; i < w; i++) {
		if (b[i])
			return false;
	}
	return true;
}

/* ---- subfields: NXM_NX_REG0[0..15], reg0[5], NXM_NX_CT_MARK[] ---- */

struct subfield {
	const struct field_info *fi;
	int ofs;
	int nbits;
};

static int parse_small(const struct parser *p, struct tok t, int *out)
{
	uint8_t b[2];

	if (parse_be(p, t, b, 2))
		return -1;
	*out = be_get(b, 2);
	return 0;
}

static int parse_subfield(struct parser *p, struct tok t, struct subfield *sf)
{
	size_t br = tok_find(p, t, 0, '[');
	char name[32];
	int start, end, bits;

	if (!tok_copy(p, tok_sub(t, 0, br), name, sizeof(name)) ||
	    !(sf->fi = field_by_name(name)))
		return fail(p, t.off, "unknown field '" TOKF "'",
			    TOKA(p, tok_sub(t, 0, br)));
	bits = sf->fi->width * 8;
	start = 0;
	end = bits - 1;
	if (br < t.len) {
		struct tok in;
		size_t dots;

		if (p->s[t.off + t.len - 1] != ']')
			return fail(p, t.off, "invalid subfield '" TOKF
				    "': expected [], [bit] or [start..end]", TOKA(p, t));
		in = tok_sub(t, br + 1, t.len - 1);
		dots = tok_find(p, in, 0, '.');
		if (!in.len) {
			/* [] is the whole field */
		} else if (dots == in.len) {
			if (parse_small(p, in, &start))
				goto bad;
			end = start;
		} else {
			if (dots + 1 >= in.len || p->s[in.off + dots + 1] != '.' ||
			    parse_small(p, tok_sub(in, 0, dots), &start) ||
			    parse_small(p, tok_sub(in, dots + 2, in.len), &end))
				goto bad;
		}
	}
	if (start > end || end >= bits)
		return fail(p, t.off, "bit range of '" TOKF "' is outside %s (%d bits)",
			    TOKA(p, t), sf->fi->name, bits);
	sf->ofs = start;
	sf->nbits = end - start + 1;
	return 0;
bad:
	return fail(p, t.off, "invalid subfield '" TOKF
		    "': expected [], [bit] or [start..end]", TOKA(p, t));
}

/* ---- match values ---- */

static int parse_mac(const struct parser *p, struct tok t, uint8_t *out)
{
	size_t i = 0;
	int n;

	for (n = 0; n < 6; n++) {
		int digits = 0, v = 0;

		while (i < t.len && digits < 3 && hexval(p->s[t.off + i]) >= 0) {
			v = v * 16 + hexval(p->s[t.off + i]);
			i++;
			digits++;
		}
		if (!digits || digits > 2)
			return -1;
		out[n] = v;
		if (n < 5) {
			if (i >= t.len || p->s[t.off + i] != ':')
				return -1;
			i++;
		}
	}
	return i == t.len ? 0 : -1;
}

static int parse_addr(const struct parser *p, struct tok t, int af, uint8_t *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (!tok_copy(p, t, buf, sizeof(buf)))
		return -1;
	return inet_pton(af, buf, out) == 1 ? 0 : -1;
}

/* CIDR prefix length or dotted mask after '/'. */
static int parse_netmask(const struct parser *p, struct tok t, int af,
			 uint8_t *mask, int w)
{
	int bits, i;

	if (t.len && t.len <= 3 && !parse_small(p, t, &bits)) {
		if (bits > w * 8)
			return -1;
		memset(mask, 0, w);
		for (i = 0; i < bits; i++)
			mask[i / 8] |= 0x80 >> (i % 8);
		return 0;
	}
	return parse_addr(p, t, af, mask);
}

static const char *ct_state_names[8] = {
	"new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat",
};

static const char *tcp_flag_names[12] = {
	"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns",
	"[200]", "[400]", "[800]",
};

static int flag_bit(const struct parser *p, struct tok t,
		    const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (tok_is(p, t, names[i]))
			return i;
	}
	return -1;
}

/* "+a-b", "a|b" or a number with optional mask (OVS's parse_flags). */
static int parse_flags(struct parser *p, struct tok t, const char *field,
		       const char *const *names, int n, unsigned allowed,
		       unsigned *value, unsigned *mask)
{
	const char *s = p->s + t.off;
	size_t i = 0;

	*value = *mask = 0;
	if (t.len && (s[0] == '+' || s[0] == '-')) {
		while (i < t.len) {
			bool set = s[i] == '+';
			size_t j = i + 1;
			int bit;

			if (s[i] != '+' && s[i] != '-')
				return fail(p, t.off + i, "%s flag '" TOKF
					    "' must start with '+' or '-'", field,
					    TOKA(p, tok_sub(t, i, t.len)));
			while (j < t.len && s[j] != '+' && s[j] != '-')
				j++;
			if (j == i + 1)
				return fail(p, t.off + i, "missing %s flag after '%c'",
					    field, s[i]);
			bit = flag_bit(p, tok_sub(t, i + 1, j), names, n);
			if (bit < 0 || !(allowed & 1u << bit))
				goto unknown;
			if (*mask & 1u << bit)
				return fail(p, t.off + i, "%s flag '%s' given twice",
					    field, names[bit]);
			*mask |= 1u << bit;
			if (set)
				*value |= 1u << bit;
			i = j;
		}
		return 0;
	}
	if (t.len && isdigit((unsigned char)s[0])) {
		size_t slash = tok_find(p, t, 0, '/');
		uint8_t b[4];

		if (parse_be(p, tok_sub(t, 0, slash), b, 4))
			return fail(p, t.off, "invalid %s '" TOKF "'", field, TOKA(p, t));
		*value = be_get(b, 4);
		*mask = allowed;
		if (slash < t.len) {
			if (parse_be(p, tok_sub(t, slash + 1, t.len), b, 4))
				return fail(p, t.off, "invalid %s mask '" TOKF "'",
					    field, TOKA(p, t));
			*mask = be_get(b, 4);
		}
		if ((*value | *mask) & ~allowed)
			return fail(p, t.off, "%s '" TOKF "' sets unsupported bits",
				    field, TOKA(p, t));
		*value &= *mask;
		return 0;
	}
	/* "a|b": the named flags set, every other allowed flag clear. */
	while (i < t.len) {
		size_t j = tok_find(p, t, i, '|');
		int bit = flag_bit(p, tok_sub(t, i, j), names, n);

		if (bit < 0)
			return fail(p, t.off + i, "unknown %s flag '" TOKF "'",
				    field, TOKA(p, tok_sub(t, i, j)));
		if (!(allowed & 1u << bit))
			return fail(p, t.off + i, "%s flag '%s' is not supported",
				    field, names[bit]);
		*value |= 1u << bit;
		i = j + 1;
		if (j + 1 == t.len)
			return fail(p, t.off + j, "%s '" TOKF "' ends in '|'",
				    field, TOKA(p, t));
	}
	if (!t.len)
		return fail(p, t.off, "missing value for field '%s'", field);
	*mask = allowed;
	return 0;
unknown:
	{
		size_t a = i + 1, b = a;

		while (b < t.len && !strchr("+-|", s[b]))
			b++;
		struct tok bad = tok_sub(t, a, b);
		int bit = flag_bit(p, bad, names, n);

		if (bit >= 0)
			return fail(p, t.off + a, "%s flag '%s' is not supported",
				    field, names[bit]);
		return fail(p, t.off + a, "unknown %s flag '" TOKF "'",
			    field, TOKA(p, bad));
	}
}

/* ---- the match part ---- */

static const struct {
	const char *name;
	uint16_t dl_type;
	uint8_t nw_proto; /* 0: none */
} protocols[] = {
	{ "ip", 0x0800, 0 },    { "ipv4", 0x0800, 0 },  { "ip4", 0x0800, 0 },
	{ "icmp", 0x0800, 1 },  { "tcp", 0x0800, 6 },   { "udp", 0x0800, 17 },
	{ "sctp", 0x0800, 132 },
	{ "ipv6", 0x86dd, 0 },  { "ip6", 0x86dd, 0 },   { "icmp6", 0x86dd, 58 },
	{ "tcp6", 0x86dd, 6 },  { "udp6", 0x86dd, 17 }, { "sctp6", 0x86dd, 132 },
	{ "arp", 0x0806, 0 },   { "rarp", 0x8035, 0 },
};

/* Field names the match accepts, with OVS's prerequisite for each spelling. */
static const struct {
	const char *name;
	enum field_id id;
	enum prereq pre;
} match_names[] = {
	{ "in_port", F_IN_PORT, P_NONE },
	{ "dl_src", F_DL_SRC, P_NONE },     { "eth_src", F_DL_SRC, P_NONE },
	{ "dl_dst", F_DL_DST, P_NONE },     { "eth_dst", F_DL_DST, P_NONE },
	{ "dl_type", F_DL_TYPE, P_NONE },   { "eth_type", F_DL_TYPE, P_NONE },
	{ "nw_src", F_NW_SRC, P_IPV4 },     { "ip_src", F_NW_SRC, P_IPV4 },
	{ "nw_dst", F_NW_DST, P_IPV4 },     { "ip_dst", F_NW_DST, P_IPV4 },
	{ "ipv6_src", F_IPV6_SRC, P_IPV6 }, { "ipv6_dst", F_IPV6_DST, P_IPV6 },
	{ "nw_proto", F_NW_PROTO, P_IP_ANY }, { "ip_proto", F_NW_PROTO, P_IP_ANY },
	{ "tp_src", F_TP_SRC, P_L4 },       { "tp_dst", F_TP_DST, P_L4 },
	{ "tcp_src", F_TP_SRC, P_TCP },     { "tcp_dst", F_TP_DST, P_TCP },
	{ "udp_src", F_TP_SRC, P_UDP },     { "udp_dst", F_TP_DST, P_UDP },
	{ "sctp_src", F_TP_SRC, P_SCTP },   { "sctp_dst", F_TP_DST, P_SCTP },
	{ "tcp_flags", F_TCP_FLAGS, P_TCP },
	{ "icmp_type", F_ICMP_TYPE, P_ICMP },   { "icmp_code", F_ICMP_CODE, P_ICMP },
	{ "icmpv6_type", F_ICMP_TYPE, P_ICMP }, { "icmpv6_code", F_ICMP_CODE, P_ICMP },
	{ "nd_target", F_ND_TARGET, P_ND },
	{ "nw_tos", F_NW_TOS, P_IP_ANY },   { "ip_dscp", F_NW_TOS, P_IP_ANY },
	{ "nw_ecn", F_NW_ECN, P_IP_ANY },   { "ip_ecn", F_NW_ECN, P_IP_ANY },
	{ "nw_ttl", F_NW_TTL, P_IP_ANY },
	{ "ipv6_label", F_IPV6_LABEL, P_IPV6 },
	{ "arp_op", F_ARP_OP, P_ARP },
	{ "arp_spa", F_ARP_SPA, P_ARP },    { "arp_tpa", F_ARP_TPA, P_ARP },
	{ "arp_sha", F_ARP_SHA, P_ARP },    { "arp_tha", F_ARP_THA, P_ARP },
	{ "ct_state", F_CT_STATE, P_NONE }, { "ct_zone", F_CT_ZONE, P_NONE },
	{ "ct_mark", F_CT_MARK, P_NONE },   { "ct_label", F_CT_LABEL, P_NONE },
	{ "ct_nw_src", F_CT_NW_SRC, P_CT_IPV4 },
	{ "ct_nw_dst", F_CT_NW_DST, P_CT_IPV4 },
	{ "ct_ipv6_src", F_CT_IPV6_SRC, P_CT_IPV6 },
	{ "ct_ipv6_dst", F_CT_IPV6_DST, P_CT_IPV6 },
	{ "ct_nw_proto", F_CT_NW_PROTO, P_CT_IP_ANY },
	{ "ct_tp_src", F_CT_TP_SRC, P_CT_IP_ANY },
	{ "ct_tp_dst", F_CT_TP_DST, P_CT_IP_ANY },
	{ "reg0", F_REG0, P_NONE },     { "reg1", F_REG0 + 1, P_NONE },
	{ "reg2", F_REG0 + 2, P_NONE }, { "reg3", F_REG0 + 3, P_NONE },
	{ "reg4", F_REG0 + 4, P_NONE }, { "reg5", F_REG0 + 5, P_NONE },
	{ "reg6", F_REG0 + 6, P_NONE }, { "reg7", F_REG0 + 7, P_NONE },
	{ "metadata", F_METADATA, P_NONE },
	{ "conj_id", F_CONJ_ID, P_NONE },
	{ "vlan_tci", F_VLAN_TCI, P_NONE },
};

/* Match fields OVS has and brflow does not: a clearer word than
 * "unknown", which suggests a typo.  A name ending in '*' stands for the
 * fields it starts (tun_metadata0 to 63, ...). */
static const char *const unsupported_fields[] = {
	"dl_vlan1", "dl_vlan_pcp1", "vlan_tci1",
	"tun_*", "tunnel_id", "nsh_*", "mpls_label", "mpls_tc", "mpls_bos",
	"mpls_ttl", "nd_sll", "nd_tll", "nd_reserved", "nd_options_type", "ip_frag",
	"nw_frag", "pkt_mark", "skb_priority", "dp_hash", "recirc_id",
	"actset_output", "in_port_oxm", "packet_type",
	"reg8", "reg9", "reg10", "reg11", "reg12", "reg13", "reg14", "reg15",
	"xreg0", "xreg1", "xreg2", "xreg3", "xreg4", "xreg5", "xreg6", "xreg7",
	"xxreg0", "xxreg1", "xxreg2", "xxreg3",
};

static bool unsupported_field(const struct parser *p, struct tok key)
{
	for (size_t i = 0; i < sizeof(unsupported_fields) / sizeof(unsupported_fields[0]); i++) {
		const char *name = unsupported_fields[i];
		size_t len = strlen(name);

		if (name[len - 1] == '*' ? key.len >= len &&
		    !strncmp(p->s + key.off, name, len - 1) : tok_is(p, key, name))
			return true;
	}
	return false;
}

/* OpenFlow's flow_mod flags, as ovs-ofctl takes them (and as its OpenFlow
 * 1.3 dumps print them).  check_overlap is honoured when the flow is
 * added, reset_counts when a modify selects it or, with brflowctl -O
 * OpenFlow12 and later, when an add replaces a flow (OpenFlow 1.0's add
 * always starts the counters again); the others change nothing here:
 * send_flow_rem tells controllers, and brflow has none; OVS itself
 * ignores no_packet_counts and no_byte_counts.  All but
 * no_readonly_table (OVS-internal) are kept with the flow (flow.h). */
static const struct {
	const char *name;
	uint8_t bit;
} flowmod_flags[] = {
	{ "check_overlap", FLOW_FF_CHECK_OVERLAP },
	{ "send_flow_rem", FLOW_FF_SEND_FLOW_REM },
	{ "reset_counts", FLOW_FF_RESET_COUNTS },
	{ "no_packet_counts", FLOW_FF_NO_PKT_COUNTS },
	{ "no_byte_counts", FLOW_FF_NO_BYT_COUNTS },
	{ "no_readonly_table", 0 },
};

static int parse_flowmod_flag(struct parser *p, const struct kv *kv, bool *done)
{
	*done = true;
	for (size_t i = 0; i < sizeof(flowmod_flags) / sizeof(flowmod_flags[0]); i++) {
		uint8_t bit = flowmod_flags[i].bit;

		if (!tok_is(p, kv->key, flowmod_flags[i].name))
			continue;
		if (kv->delim)
			return fail(p, kv->key.off, "'" TOKF "' takes no value",
				    TOKA(p, kv->key));
		p->f.flags |= bit;
		if (bit == FLOW_FF_CHECK_OVERLAP)
			p->f.check_overlap = true;
		else if (bit == FLOW_FF_RESET_COUNTS)
			p->f.reset_counts = true;
		return 0;
	}
	*done = false;
	return 0;
}

/* Keys OVS prints in dump-flows; ignored so its output can be fed back. */
static const char *const stat_keys[] = {
	"duration", "n_packets", "n_bytes", "idle_age", "hard_age",
};

static void set_match(struct parser *p, enum field_id id, const uint8_t *v,
		      const uint8_t *m, struct tok setter, enum prereq pre)
{
	int w = field_info(id)->width, i;

	p->have[id] = true;
	p->m[id].field = id;
	for (i = 0; i < w; i++) {
		p->m[id].mask[i] = m[i];
		p->m[id].value[i] = v[i] & m[i];
	}
	p->setter[id] = setter;
	p->pre[id] = pre;
}

/* The reserved ct_mark bit may be matched or written only as part of a full
 * 32-bit value (ct_mark=1 means "user bits equal 1"; the compiler ignores
 * bit 31 there); a value or a partial mask naming it is an error. */
static int check_ct_mark(struct parser *p, const uint8_t *v, const uint8_t *m,
			 size_t col)
{
	uint32_t value = be_get(v, 4), mask = be_get(m, 4);

	if ((value & mask & ~CT_MARK_USER_MASK) ||
	    (mask != 0xffffffffu && (mask & ~CT_MARK_USER_MASK)))
		return fail(p, col, "ct_mark bit 31 is reserved by brflow");
	return 0;
}

/* value[/mask] as a number of the field's width. */
static int parse_int_masked(struct parser *p, struct tok name, struct tok t,
			    const struct field_info *fi, uint8_t *v, uint8_t *m)
{
	size_t slash = tok_find(p, t, 0, '/');
	struct tok vt = tok_sub(t, 0, slash);
	int r;

	memset(m, 0xff, fi->width);
	r = parse_be(p, vt, v, fi->width);
	if (r == -1)
		return fail(p, vt.off, "invalid value '" TOKF "' for field '" TOKF "'",
			    TOKA(p, vt), TOKA(p, name));
	if (r == -2)
		return fail(p, vt.off, "value '" TOKF "' does not fit field '" TOKF
			    "' (%d bits)", TOKA(p, vt), TOKA(p, name), fi->width * 8);
	if (slash == t.len)
		return 0;
	struct tok mt = tok_sub(t, slash + 1, t.len);

	if (!fi->maskable)
		return fail(p, t.off + slash, "field '" TOKF "' does not take a mask",
			    TOKA(p, name));
	if (parse_be(p, mt, m, fi->width))
		return fail(p, mt.off, "invalid mask '" TOKF "' for field '" TOKF "'",
			    TOKA(p, mt), TOKA(p, name));
	return 0;
}

static int parse_ip_masked(struct parser *p, struct tok name, struct tok t,
			   int af, int w, uint8_t *v, uint8_t *m)
{
	size_t slash = tok_find(p, t, 0, '/');
	struct tok vt = tok_sub(t, 0, slash);

	memset(m, 0xff, w);
	if (parse_addr(p, vt, af, v))
		return fail(p, vt.off, "invalid %s address '" TOKF "' for field '"
			    TOKF "'", af == AF_INET ? "IPv4" : "IPv6",
			    TOKA(p, vt), TOKA(p, name));
	if (slash < t.len) {
		struct tok mt = tok_sub(t, slash + 1, t.len);

		if (parse_netmask(p, mt, af, m, w))
			return fail(p, mt.off, "invalid mask '" TOKF "' for field '"
				    TOKF "'", TOKA(p, mt), TOKA(p, name));
	}
	return 0;
}

static int parse_mac_masked(struct parser *p, struct tok name, struct tok t,
			    uint8_t *v, uint8_t *m)
{
	size_t slash = tok_find(p, t, 0, '/');
	struct tok vt = tok_sub(t, 0, slash);

	memset(m, 0xff, 6);
	if (parse_mac(p, vt, v))
		return fail(p, vt.off, "invalid Ethernet address '" TOKF
			    "' for field '" TOKF "'", TOKA(p, vt), TOKA(p, name));
	if (slash < t.len) {
		struct tok mt = tok_sub(t, slash + 1, t.len);

		if (parse_mac(p, mt, m))
			return fail(p, mt.off, "invalid mask '" TOKF "' for field '"
				    TOKF "'", TOKA(p, mt), TOKA(p, name));
	}
	return 0;
}

/* IP header fields narrower than their bytes, with OVS's ranges; ip_dscp
 * is nw_tos shifted right by the two ECN bits. */
static int check_ip_header_value(struct parser *p, struct tok name, struct tok t,
				 const struct field_info *fi, uint8_t *v,
				 const uint8_t *m)
{
	uint32_t x = be_get(v, fi->width);

	switch (fi->id) {
	case F_NW_TOS:
		if (tok_is(p, name, "ip_dscp")) {
			if (x > 63)
				return fail(p, t.off, "value '" TOKF "' does not fit field 'ip_dscp' (0-63)",
					    TOKA(p, t));
			v[0] = x << 2;
			return 0;
		}
		if (x & 3)
			return fail(p, t.off, "nw_tos " TOKF " sets ECN bits: nw_tos takes the DSCP bits"
				    " (a multiple of 4), nw_ecn the ECN bits", TOKA(p, t));
		return 0;
	case F_NW_ECN:
		if (x > 3)
			return fail(p, t.off, "value '" TOKF "' does not fit field '" TOKF "' (0-3)",
				    TOKA(p, t), TOKA(p, name));
		return 0;
	case F_IPV6_LABEL:
		/* a full mask is an exact match; a partial one stays in 20 bits */
		if (x > 0xfffff || (be_get(m, 4) != 0xffffffff && be_get(m, 4) > 0xfffff))
			return fail(p, t.off, "value '" TOKF "' does not fit field 'ipv6_label'"
				    " (20 bits)", TOKA(p, t));
		return 0;
	default:
		return 0;
	}
}

static int parse_match_value(struct parser *p, struct tok name, struct tok t,
			     const struct field_info *fi, uint8_t *v, uint8_t *m)
{
	unsigned fv, fm;

	switch (fi->id) {
	case F_IN_PORT: {
		uint32_t port = 0;

		if (parse_port(p, t, &port))
			return -1;
		v[0] = port >> 8;
		v[1] = port;
		memset(m, 0xff, 2);
		return 0;
	}
	case F_DL_SRC:
	case F_DL_DST:
	case F_ARP_SHA:
	case F_ARP_THA:
		return parse_mac_masked(p, name, t, v, m);
	case F_NW_SRC:
	case F_NW_DST:
	case F_ARP_SPA:
	case F_ARP_TPA:
	case F_CT_NW_SRC:
	case F_CT_NW_DST:
		return parse_ip_masked(p, name, t, AF_INET, 4, v, m);
	case F_IPV6_SRC:
	case F_IPV6_DST:
	case F_CT_IPV6_SRC:
	case F_CT_IPV6_DST:
	case F_ND_TARGET:
		return parse_ip_masked(p, name, t, AF_INET6, 16, v, m);
	case F_TCP_FLAGS:
		if (parse_flags(p, t, "tcp_flags", tcp_flag_names, 12, 0x0fff,
				&fv, &fm))
			return -1;
		v[0] = fv >> 8;
		v[1] = fv;
		m[0] = fm >> 8;
		m[1] = fm;
		return 0;
	case F_CT_STATE:
		if (parse_flags(p, t, "ct_state", ct_state_names, 8, 0xff, &fv, &fm))
			return -1;
		v[0] = fv;
		m[0] = fm;
		return 0;
	default:
		if (parse_int_masked(p, name, t, fi, v, m))
			return -1;
		if (fi->id == F_CT_MARK)
			return check_ct_mark(p, v, m, t.off);
		return check_ip_header_value(p, name, t, fi, v, m);
	}
}

/* "reg0[0..7]=5": writes 5 into bits 0-7 of the reg0 match. */
static int parse_subfield_match(struct parser *p, const struct kv *kv)
{
	struct subfield sf;
	uint8_t v[FLOW_MAX_VALUE], m[FLOW_MAX_VALUE];
	uint8_t x[FLOW_MAX_VALUE];
	int bit, w;

	if (parse_subfield(p, kv->key, &sf))
		return -1;
	w = sf.fi->width;
	if (sf.fi->id != F_CT_MARK && sf.fi->id != F_CT_LABEL &&
	    sf.fi->id != F_METADATA && (sf.fi->id < F_REG0 || sf.fi->id > F_REG7))
		return fail(p, kv->key.off, "subfield match on '" TOKF
			    "' is not supported", TOKA(p, kv->key));
	if (parse_be(p, kv->val, x, w))
		return fail(p, kv->val.off, "invalid value '" TOKF "' for '" TOKF "'",
			    TOKA(p, kv->val), TOKA(p, kv->key));
	memset(v, 0, sizeof(v));
	memset(m, 0, sizeof(m));
	if (p->have[sf.fi->id]) {
		memcpy(v, p->m[sf.fi->id].value, w);
		memcpy(m, p->m[sf.fi->id].mask, w);
	}
	for (bit = 0; bit < sf.nbits; bit++) {
		int to = sf.ofs + bit;

		flow_bit_put(m, w, to, true);
		v[w - 1 - to / 8] &= ~(1 << (to % 8));
		if (flow_bit_get(x, w, bit))
			flow_bit_put(v, w, to, true);
	}
	for (bit = sf.nbits; bit < w * 8; bit++) {
		if (flow_bit_get(x, w, bit))
			return fail(p, kv->val.off, "value '" TOKF "' does not fit in %d bits",
				    TOKA(p, kv->val), sf.nbits);
	}
	if (sf.fi->id == F_CT_MARK && check_ct_mark(p, v, m, kv->key.off))
		return -1;
	set_match(p, sf.fi->id, v, m, kv->key, P_NONE);
	return 0;
}

/* The row of protocol shorthand 't' ("tcp", "arp", ...), or -1. */
static int protocol_row(const struct parser *p, struct tok t)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (tok_is(p, t, protocols[i].name))
			return (int)i;
	return -1;
}

static int parse_protocol(struct parser *p, const struct kv *kv, int i)
{
	uint8_t v[2] = { protocols[i].dl_type >> 8, protocols[i].dl_type & 0xff };
	uint8_t m[2] = { 0xff, 0xff };

	if (kv->delim)
		return fail(p, kv->key.off, "'" TOKF "' takes no value",
			    TOKA(p, kv->key));
	set_match(p, F_DL_TYPE, v, m, kv->key, P_NONE);
	if (protocols[i].nw_proto)
		set_match(p, F_NW_PROTO, &protocols[i].nw_proto, m, kv->key,
			  P_IP_ANY);
	return 0;
}

/* dpi_proto=NAME: a row of the fixed table in rules/dpi_protos.c. */
static int parse_dpi_proto(struct parser *p, const struct kv *kv)
{
	const struct dpi_proto *proto;
	uint8_t v[FLOW_MAX_VALUE] = { 0 }, m[FLOW_MAX_VALUE] = { 0xff };
	char name[32];

	if (!kv->val.len)
		return fail(p, kv->key.off, "missing value for field 'dpi_proto'");
	if (!tok_copy(p, kv->val, name, sizeof(name)) ||
	    !(proto = dpi_proto_by_name(name)))
		return fail(p, kv->val.off, "unknown dpi protocol '" TOKF "'",
			    TOKA(p, kv->val));
	v[0] = proto->id;
	set_match(p, F_DPI_PROTO, v, m, kv->key, P_NONE);
	return 0;
}

/* dpi_host=NAME or *.SUFFIX: dot-separated labels of letters, digits and '-',
 * at most DPI_HOST_MAX_LEN characters.  A trailing dot (the DNS root) is
 * dropped, as brflow-dpi drops it from the names it sees. */
static int parse_dpi_host(struct parser *p, const struct kv *kv)
{
	uint8_t v[FLOW_MAX_VALUE] = { 0 }, m[FLOW_MAX_VALUE] = { 0xff };
	size_t start = 0, len = kv->val.len, i;

	if (!kv->val.len)
		return fail(p, kv->key.off, "missing value for field 'dpi_host'");
	if (kv->val.len > DPI_HOST_MAX_LEN)
		return fail(p, kv->val.off, "dpi_host is longer than %d characters",
			    DPI_HOST_MAX_LEN);
	if (kv->val.len > 2 && p->s[kv->val.off] == '*' && p->s[kv->val.off + 1] == '.')
		start = 2;
	for (i = start; i < kv->val.len; i++) {
		char c = p->s[kv->val.off + i];

		if (!isalnum((unsigned char)c) && c != '-' && c != '.')
			return fail(p, kv->val.off + i, "invalid character in dpi_host '"
				    TOKF "'", TOKA(p, kv->val));
		/* a name never has an empty label: ".a", "a..b" match nothing */
		if (c == '.' && (i == start || p->s[kv->val.off + i - 1] == '.'))
			return fail(p, kv->val.off + i, "empty label in dpi_host '"
				    TOKF "'", TOKA(p, kv->val));
	}
	if (len - start > 1 && p->s[kv->val.off + len - 1] == '.')
		len--;
	free(p->f.dpi_host);
	p->f.dpi_host = strndup(p->s + kv->val.off, len);
	if (!p->f.dpi_host)
		return fail(p, kv->val.off, "out of memory");
	for (i = 0; p->f.dpi_host[i]; i++)
		p->f.dpi_host[i] = tolower((unsigned char)p->f.dpi_host[i]);
	set_match(p, F_DPI_HOST, v, m, kv->key, P_NONE);
	return 0;
}

/* idle_timeout=N, hard_timeout=N: seconds, 0 (none) to 65535, as OpenFlow
 * carries them in 16 bits. */
static int parse_timeout(struct parser *p, const struct kv *kv, uint16_t *out)
{
	char what[16];
	uint64_t v;

	tok_copy(p, kv->key, what, sizeof(what));
	if (parse_uint(p, kv->val, 65535, what, &v))
		return -1;
	*out = v;
	return 0;
}

enum vlan_part { VLAN_DL_VLAN, VLAN_PCP, VLAN_VID };

/* vlan_vid=V[/M], OpenFlow 1.2's view of the tag: the VID and, as bit 12,
 * OFPVID_PRESENT (which is vlan_tci's "tagged" bit), so 0 is no tag and
 * 0x100a VLAN 10; the PCP bits are not its. */
static int parse_vlan_vid(struct parser *p, const struct kv *kv,
			  uint16_t *v, uint16_t *m)
{
	size_t slash = tok_find(p, kv->val, 0, '/');
	struct tok value = tok_sub(kv->val, 0, slash);
	uint64_t vid, mask = 0x1fff;

	if (parse_uint(p, value, 0x1fff, "vlan_vid", &vid))
		return -1;
	if (slash < kv->val.len &&
	    parse_uint(p, tok_sub(kv->val, slash + 1, kv->val.len), 0xffff,
		       "vlan_vid mask", &mask))
		return -1;
	mask &= 0x1fff;
	/* without bit 12 a VID of 0 would stand for no tag as well */
	if (mask && !(mask & 0x1000))
		return fail(p, kv->val.off, "vlan_vid '" TOKF "': the mask must "
			    "include 0x1000 (OFPVID_PRESENT: whether the packet is tagged)",
			    TOKA(p, kv->val));
	if (!(vid & 0x1000) && vid & mask)
		return fail(p, kv->val.off, "vlan_vid '" TOKF "' matches no packet: "
			    "a tag's vlan_vid has 0x1000 (OFPVID_PRESENT) set, 0x%llx for "
			    "VLAN %llu", TOKA(p, kv->val),
			    (unsigned long long)(vid | 0x1000), (unsigned long long)(vid & 0xfff));
	*v = (uint16_t)((*v & ~0x1fff) | (vid & mask));
	*m = (uint16_t)((*m & ~0x1fff) | mask);
	return 0;
}

/* dl_vlan=VID (0xffff: not tagged), dl_vlan_pcp=PCP (also vlan_pcp) and
 * vlan_vid: views of the 802.1Q tag, parts of vlan_tci, which all may set. */
static int parse_vlan_part(struct parser *p, const struct kv *kv, enum vlan_part part)
{
	uint16_t v = 0, m = 0;
	uint8_t bv[2], bm[2];
	uint64_t n;

	if (p->have[F_VLAN_TCI]) {
		v = (uint16_t)be_get(p->m[F_VLAN_TCI].value, 2);
		m = (uint16_t)be_get(p->m[F_VLAN_TCI].mask, 2);
	}
	if (part == VLAN_VID) {
		if (parse_vlan_vid(p, kv, &v, &m))
			return -1;
	} else if (part == VLAN_PCP) {
		if (parse_uint(p, kv->val, 7, "dl_vlan_pcp", &n))
			return -1;
		v = (uint16_t)((v & ~0xe000) | n << 13 | 0x1000);
		m |= 0xf000;
	} else {
		if (parse_uint(p, kv->val, 0xffff, "dl_vlan", &n))
			return -1;
		if (n > 4095 && n != 0xffff)
			return fail(p, kv->val.off, "dl_vlan '" TOKF "' out of range "
				    "(0-4095, or 0xffff for no tag)", TOKA(p, kv->val));
		if (n == 0xffff) {
			v = 0;
			m = 0xffff;
		} else {
			v = (uint16_t)((v & ~0x0fff) | n | 0x1000);
			m |= 0x1fff;
		}
	}
	bv[0] = v >> 8;
	bv[1] = v & 0xff;
	bm[0] = m >> 8;
	bm[1] = m & 0xff;
	set_match(p, F_VLAN_TCI, bv, bm, kv->key, P_NONE);
	return 0;
}

static int parse_special_key(struct parser *p, const struct kv *kv,
			     const struct flow_parse_opts *opts, bool *done)
{
	uint64_t v;
	size_t i;

	*done = true;
	if (tok_is(p, kv->key, "table")) {
		if (opts && opts->table_given)
			*opts->table_given = true;
		return parse_table(p, kv->val, &p->f.table);
	}
	if (tok_is(p, kv->key, "priority")) {
		if (opts && opts->priority_given)
			*opts->priority_given = true;
		if (parse_uint(p, kv->val, 65535, "priority", &v))
			return -1;
		p->f.priority = v;
		return 0;
	}
	if (tok_is(p, kv->key, "cookie"))
		return parse_cookie(p, kv->val, opts);
	if (tok_is(p, kv->key, "idle_timeout"))
		return parse_timeout(p, kv, &p->f.idle_timeout);
	if (tok_is(p, kv->key, "hard_timeout"))
		return parse_timeout(p, kv, &p->f.hard_timeout);
	/* importance=N (OpenFlow 1.4) ranks flows for eviction, which brflow,
	 * having no table limits, never does; kept for dumps */
	if (tok_is(p, kv->key, "importance")) {
		if (parse_uint(p, kv->val, 65535, "importance", &v))
			return -1;
		p->f.importance = v;
		return 0;
	}
	if (parse_flowmod_flag(p, kv, done) || *done)
		return p->err ? -1 : 0;
	*done = true;
	if (tok_is(p, kv->key, "out_port")) {
		if (!opts || !opts->out_port)
			return fail(p, kv->key.off,
				    "out_port selects flows; adding a flow cannot use it");
		return parse_port(p, kv->val, opts->out_port);
	}
	if (tok_is(p, kv->key, "dl_vlan"))
		return parse_vlan_part(p, kv, VLAN_DL_VLAN);
	if (tok_is(p, kv->key, "dl_vlan_pcp") || tok_is(p, kv->key, "vlan_pcp"))
		return parse_vlan_part(p, kv, VLAN_PCP);
	if (tok_is(p, kv->key, "vlan_vid"))
		return parse_vlan_part(p, kv, VLAN_VID);
	if (tok_is(p, kv->key, "dpi_proto"))
		return parse_dpi_proto(p, kv);
	if (tok_is(p, kv->key, "dpi_host"))
		return parse_dpi_host(p, kv);
	for (i = 0; i < sizeof(stat_keys) / sizeof(stat_keys[0]); i++) {
		if (tok_is(p, kv->key, stat_keys[i]))
			return 0;
	}
	*done = false;
	return 0;
}

static int parse_match_kv(struct parser *p, const struct kv *kv,
			  const struct flow_parse_opts *opts)
{
	uint8_t v[FLOW_MAX_VALUE], m[FLOW_MAX_VALUE];
	int row = protocol_row(p, kv->key);
	bool done;
	size_t i;

	if (row >= 0)
		return parse_protocol(p, kv, row);
	if (tok_find(p, kv->key, 0, '[') < kv->key.len) {
		if (kv->delim != '=' && kv->delim != ':')
			return fail(p, kv->key.off, "missing value for '" TOKF "'",
				    TOKA(p, kv->key));
		return parse_subfield_match(p, kv);
	}
	if (parse_special_key(p, kv, opts, &done) || done)
		return p->err ? -1 : 0;
	for (i = 0; i < sizeof(match_names) / sizeof(match_names[0]); i++) {
		const struct field_info *fi;

		if (!tok_is(p, kv->key, match_names[i].name))
			continue;
		fi = field_info(match_names[i].id);
		if (kv->delim == '(')
			return fail(p, kv->key.off, "unexpected '(' after field '"
				    TOKF "'", TOKA(p, kv->key));
		if (!kv->val.len)
			return fail(p, kv->key.off, "missing value for field '" TOKF "'",
				    TOKA(p, kv->key));
		memset(v, 0, sizeof(v));
		memset(m, 0, sizeof(m));
		if (parse_match_value(p, kv->key, kv->val, fi, v, m))
			return -1;
		if (fi->id == F_CONJ_ID && !(v[0] | v[1] | v[2] | v[3]))
			return fail(p, kv->val.off, "conj_id=0 matches every packet "
				    "outside a conjunction: leave it out");
		/* without bit 12 a VID of 0 would stand for no tag as well */
		if (fi->id == F_VLAN_TCI && (m[0] || m[1]) && !(m[0] & 0x10))
			return fail(p, kv->val.off, "vlan_tci '" TOKF "': the mask must "
				    "include 0x1000 (whether the packet is tagged)",
				    TOKA(p, kv->val));
		set_match(p, fi->id, v, m, kv->key, match_names[i].pre);
		return 0;
	}
	if (unsupported_field(p, kv->key))
		return fail(p, kv->key.off, "field '" TOKF "' is not supported",
			    TOKA(p, kv->key));
	return fail(p, kv->key.off, "unknown field '" TOKF "'", TOKA(p, kv->key));
}

/* flow.h; the lookup parse_match_kv and parse_special_key make, by name */
const struct field_info *flow_match_field(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "dpi_proto"))
		return field_info(F_DPI_PROTO);
	if (!strcmp(name, "dpi_host"))
		return field_info(F_DPI_HOST);
	for (size_t i = 0; i < sizeof(match_names) / sizeof(match_names[0]); i++)
		if (!strcmp(name, match_names[i].name))
			return field_info(match_names[i].id);
	return NULL;
}

static const char *prereq_text(enum prereq pre)
{
	switch (pre) {
	case P_IPV4: return "ip";
	case P_IPV6: return "ipv6";
	case P_IP_ANY: return "ip or ipv6";
	case P_L4: return "tcp, udp or sctp";
	case P_TCP: return "tcp";
	case P_UDP: return "udp";
	case P_SCTP: return "sctp";
	case P_ICMP: return "icmp or icmp6";
	case P_ND: return "icmp6 with icmp_type=135 or 136";
	case P_ARP: return "arp or rarp";
	case P_CT_IPV4: return "ip and a tracked ct_state (+new, +est, +rel, +rpl or +trk-inv)";
	case P_CT_IPV6: return "ipv6 and a tracked ct_state (+new, +est, +rel, +rpl or +trk-inv)";
	case P_CT_IP_ANY:
		return "ip or ipv6 and a tracked ct_state (+new, +est, +rel, +rpl or +trk-inv)";
	default: return "";
	}
}

/* ct_state names a state only a found connection has (OVS's "valid
 * connection tracking state"): +new, +est, +rel or +rpl, or +trk-inv. */
static bool ct_state_tracked(const struct parser *p)
{
	uint8_t v = p->m[F_CT_STATE].value[0], m = p->m[F_CT_STATE].mask[0];

	if (!p->have[F_CT_STATE])
		return false;
	if (v & m & (CS_NEW | CS_EST | CS_REL | CS_RPL))
		return true;
	return (v & m & CS_TRK) && (m & CS_INV) && !(v & CS_INV);
}

static bool prereq_ok(const struct parser *p, enum prereq pre)
{
	int type = p->have[F_DL_TYPE] ? (int)be_get(p->m[F_DL_TYPE].value, 2) : -1;
	int proto = p->have[F_NW_PROTO] ? p->m[F_NW_PROTO].value[0] : -1;
	bool ip = type == 0x0800 || type == 0x86dd;

	switch (pre) {
	case P_NONE: return true;
	case P_IPV4: return type == 0x0800;
	case P_IPV6: return type == 0x86dd;
	case P_IP_ANY: return ip;
	case P_L4: return ip && (proto == 6 || proto == 17 || proto == 132);
	case P_TCP: return ip && proto == 6;
	case P_UDP: return ip && proto == 17;
	case P_SCTP: return ip && proto == 132;
	case P_ICMP: return (type == 0x0800 && proto == 1) ||
			    (type == 0x86dd && proto == 58);
	case P_ND: return type == 0x86dd && proto == 58 && p->have[F_ICMP_TYPE] &&
			  (p->m[F_ICMP_TYPE].value[0] == 135 ||
			   p->m[F_ICMP_TYPE].value[0] == 136);
	case P_ARP: return type == 0x0806 || type == 0x8035;
	case P_CT_IPV4: return type == 0x0800 && ct_state_tracked(p);
	case P_CT_IPV6: return type == 0x86dd && ct_state_tracked(p);
	case P_CT_IP_ANY: return ip && ct_state_tracked(p);
	}
	return false;
}

/* OVS's older spelling, still in many flow files: on arp and rarp flows
 * nw_src, nw_dst and nw_proto name the ARP header's sender address, target
 * address and opcode.  They become the ARP fields, which is also how
 * ovs-ofctl prints them back. */
static int arp_aliases(struct parser *p)
{
	static const struct {
		enum field_id ip, arp;
	} aliases[] = {
		{ F_NW_SRC, F_ARP_SPA }, { F_NW_DST, F_ARP_TPA },
		{ F_NW_PROTO, F_ARP_OP },
	};

	if (!prereq_ok(p, P_ARP))
		return 0;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		enum field_id ip = aliases[i].ip, arp = aliases[i].arp;
		int ip_w = field_info(ip)->width, arp_w = field_info(arp)->width;
		uint8_t v[4] = { 0 }, m[4] = { 0 };

		/* "tcp,arp" is a conflict, reported by finish_matches */
		if (!p->have[ip] || protocol_row(p, p->setter[ip]) >= 0)
			continue;
		if (p->have[arp])
			return fail(p, p->setter[ip].off, "'" TOKF "' and '" TOKF
				    "' both match the same ARP field",
				    TOKA(p, p->setter[ip]), TOKA(p, p->setter[arp]));
		/* right-aligned: nw_proto's byte is the opcode's low byte */
		memcpy(v + arp_w - ip_w, p->m[ip].value, ip_w);
		memcpy(m + arp_w - ip_w, p->m[ip].mask, ip_w);
		if (arp_w > ip_w)
			memset(m, 0xff, arp_w - ip_w);
		set_match(p, arp, v, m, p->setter[ip], P_ARP);
		p->have[ip] = false;
	}
	return 0;
}

/* Checks prerequisites and moves the staged matches into the flow, in field
 * order; an all-zero mask matches everything and is dropped, as in OVS. */
static int finish_matches(struct parser *p)
{
	int id;

	if (arp_aliases(p))
		return -1;
	for (id = 0; id < F_COUNT; id++) {
		if (!p->have[id] || prereq_ok(p, p->pre[id]))
			continue;
		/* "tcp,arp": a later dl_type undoes the shorthand's ip */
		if (id == F_NW_PROTO && protocol_row(p, p->setter[id]) >= 0)
			return fail(p, p->setter[F_DL_TYPE].off, "'" TOKF
				    "' conflicts with '" TOKF "'",
				    TOKA(p, p->setter[F_DL_TYPE]),
				    TOKA(p, p->setter[id]));
		return fail(p, p->setter[id].off, "field '" TOKF "' requires %s",
			    TOKA(p, p->setter[id]), prereq_text(p->pre[id]));
	}
	p->f.n_matches = 0;
	for (id = 0; id < F_COUNT; id++) {
		if (!p->have[id] || is_zero(p->m[id].mask, field_info(id)->width))
			continue;
		p->keep[p->f.n_matches++] = id;
	}
	if (!p->f.n_matches)
		return 0;
	p->f.matches = malloc(p->f.n_matches * sizeof(*p->f.matches));
	if (!p->f.matches) {
		p->f.n_matches = 0;
		return fail(p, 0, "out of memory");
	}
	for (id = 0; id < p->f.n_matches; id++)
		p->f.matches[id] = p->m[p->keep[id]];
	return 0;
}

/* ---- actions ---- */

static struct flow_action *add_action(struct parser *p, enum action_type type,
				      size_t col)
{
	struct flow_action *a;

	if (p->f.n_actions == p->cap) {
		int cap = p->cap ? p->cap * 2 : 4;

		a = realloc(p->f.actions, cap * sizeof(*a));
		if (!a) {
			fail(p, col, "out of memory");
			return NULL;
		}
		p->f.actions = a;
		p->cap = cap;
	}
	a = &p->f.actions[p->f.n_actions++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

/* Splits "SRC->DST" at the arrow. */
static int split_arrow(struct parser *p, struct tok t, const char *what,
		       struct tok *src, struct tok *dst)
{
	size_t i;

	for (i = 0; i + 1 < t.len; i++) {
		if (p->s[t.off + i] == '-' && p->s[t.off + i + 1] == '>') {
			*src = tok_sub(t, 0, i);
			*dst = tok_sub(t, i + 2, t.len);
			if (!src->len || !dst->len)
				break;
			return 0;
		}
	}
	return fail(p, t.off, "%s '" TOKF "' must look like VALUE->FIELD",
		    what, TOKA(p, t));
}

static bool is_addr_field(enum field_id id)
{
	return id == F_NW_SRC || id == F_NW_DST || id == F_IPV6_SRC ||
	       id == F_IPV6_DST;
}

/* The IP header fields a flow may rewrite besides the addresses. */
static bool is_ip_header_field(enum field_id id)
{
	return id == F_NW_TOS || id == F_NW_ECN || id == F_NW_TTL;
}

static bool is_port_field(enum field_id id)
{
	return id == F_TP_SRC || id == F_TP_DST;
}

/* Where a write may go: registers, Ethernet and IP addresses at top level,
 * ct_mark/ct_label in exec. */
static int check_write_dst(struct parser *p, const struct field_info *fi,
			   bool in_exec, struct tok dst)
{
	bool reg = (fi->id >= F_REG0 && fi->id <= F_REG7) || fi->id == F_METADATA ||
		   fi->id == F_DL_SRC || fi->id == F_DL_DST || is_addr_field(fi->id) ||
		   is_ip_header_field(fi->id) || is_port_field(fi->id);
	bool ct = fi->id == F_CT_MARK || fi->id == F_CT_LABEL;

	if (in_exec && !ct)
		return fail(p, dst.off, "ct exec may only write ct_mark or ct_label, "
			    "not '" TOKF "'", TOKA(p, dst));
	if (!in_exec && ct)
		return fail(p, dst.off, "'" TOKF "' may only be written inside "
			    "ct(commit,exec(...))", TOKA(p, dst));
	if (!in_exec && !reg)
		return fail(p, dst.off, "writing '" TOKF "' is not supported "
			    "(only reg0-reg7, metadata, eth_src, eth_dst, nw_src, nw_dst, "
			    "ipv6_src, ipv6_dst, nw_tos, nw_ecn, nw_ttl, tp_src and tp_dst)",
			    TOKA(p, dst));
	return 0;
}

/* A stateless address rewrite (set_field/load to nw_src... or mod_nw_src)
 * needs OVS's prerequisite in the flow's own match, as ovs-ofctl's "lacks
 * prerequisites" check, and writes a whole address.  'what' is the action
 * as written. */
static int check_addr_write(struct parser *p, const struct action_set_field *sf,
			    struct tok what)
{
	const struct field_info *fi = field_info(sf->field);
	bool v6 = sf->field == F_IPV6_SRC || sf->field == F_IPV6_DST;
	int i;

	for (i = 0; i < fi->width; i++) {
		if (sf->mask[i] != 0xff)
			return fail(p, what.off, "'" TOKF "': masked writes to '%s' "
				    "are not supported (whole addresses only)",
				    TOKA(p, what), fi->name);
	}
	if (!(p->opts && p->opts->bucket) && !prereq_ok(p, v6 ? P_IPV6 : P_IPV4))
		return fail(p, what.off, "'" TOKF "' lacks prerequisites: the flow "
			    "must match %s", TOKA(p, what), v6 ? "ipv6" : "ip");
	return 0;
}

/* A rewrite of nw_tos, nw_ecn or nw_ttl (mod_nw_tos..., set_field, load)
 * writes the whole field, in range (nw_tos: the DSCP bits, a multiple of
 * 4), and needs ip or ipv6 in the flow's match, as OVS's "lacks
 * prerequisites" check.  'what' is the action as written. */
static int check_ip_header_write(struct parser *p, struct action_set_field *sf,
				 struct tok what)
{
	const struct field_info *fi = field_info(sf->field);

	/* NXM_OF_IP_TOS[2..7], OVS's ip_dscp, is the whole of nw_tos */
	if (sf->field == F_NW_TOS && sf->mask[0] == 0xfc)
		sf->mask[0] = 0xff;
	if (sf->mask[0] != 0xff)
		return fail(p, what.off, "'" TOKF "': masked writes to '%s' are not "
			    "supported (the whole field only)", TOKA(p, what), fi->name);
	if (sf->field == F_NW_TOS && (sf->value[0] & 3))
		return fail(p, what.off, "'" TOKF "' sets ECN bits: nw_tos takes the DSCP "
			    "bits (a multiple of 4), nw_ecn the ECN bits", TOKA(p, what));
	if (sf->field == F_NW_ECN && sf->value[0] > 3)
		return fail(p, what.off, "'" TOKF "': nw_ecn takes 0-3", TOKA(p, what));
	if (!(p->opts && p->opts->bucket) && !prereq_ok(p, P_IP_ANY))
		return fail(p, what.off, "'" TOKF "' lacks prerequisites: the flow "
			    "must match ip or ipv6", TOKA(p, what));
	return 0;
}

/* A port rewrite (mod_tp_src/mod_tp_dst, set_field or load to tp_src,
 * tcp_dst...) writes the whole port, and the flow's own match says which
 * transport it is (OVS's prerequisite), because the checksum to fix is
 * TCP's or UDP's: so not in a group bucket, which has no match.  SCTP's
 * CRC is refused rather than recomputed for every packet. */
static int check_port_write(struct parser *p, const struct action_set_field *sf,
			    struct tok what)
{
	if (sf->mask[0] != 0xff || sf->mask[1] != 0xff)
		return fail(p, what.off, "'" TOKF "': masked writes to '%s' are not "
			    "supported (the whole port only)", TOKA(p, what),
			    field_info(sf->field)->name);
	if (p->opts && p->opts->bucket)
		return fail(p, what.off, "'" TOKF "' is not supported in a group bucket "
			    "(the checksum to fix comes from the flow's tcp or udp match)",
			    TOKA(p, what));
	if (!prereq_ok(p, P_L4))
		return fail(p, what.off, "'" TOKF "' lacks prerequisites: the flow "
			    "must match tcp, udp or sctp", TOKA(p, what));
	if (prereq_ok(p, P_SCTP))
		return fail(p, what.off, "'" TOKF "' is not supported for sctp (only "
			    "tcp and udp ports are rewritten)", TOKA(p, what));
	return 0;
}

/* move:SRC[a..b]->DST[c..d]; the source must be a register or metadata,
 * whose values brflow knows on every path. */
static int parse_move(struct parser *p, struct tok t, bool in_exec,
		      struct action_set_field *sf)
{
	struct tok src, dst;
	struct subfield s, d;
	int bit;

	if (split_arrow(p, t, "move", &src, &dst) || parse_subfield(p, src, &s) ||
	    parse_subfield(p, dst, &d) || check_write_dst(p, d.fi, in_exec, dst))
		return -1;
	if (is_addr_field(d.fi->id) || is_ip_header_field(d.fi->id) ||
	    is_port_field(d.fi->id))
		return fail(p, dst.off, "move to '" TOKF "' is not supported (use "
			    "set_field with a value)", TOKA(p, dst));
	if ((s.fi->id < F_REG0 || s.fi->id > F_REG7) && s.fi->id != F_METADATA)
		return fail(p, src.off, "move source '" TOKF "' must be a register "
			    "(reg0-reg7) or metadata", TOKA(p, src));
	if (s.nbits != d.nbits)
		return fail(p, t.off, "move '" TOKF "': source has %d bits, "
			    "destination %d", TOKA(p, t), s.nbits, d.nbits);
	memset(sf, 0, sizeof(*sf));
	sf->field = d.fi->id;
	sf->is_move = true;
	sf->src = s.fi->id;
	sf->src_ofs = s.ofs;
	sf->dst_ofs = d.ofs;
	sf->nbits = s.nbits;
	for (bit = 0; bit < d.nbits; bit++)
		flow_bit_put(sf->mask, d.fi->width, d.ofs + bit, true);
	/* A move may cover ct_mark bit 31: the compiler knows the moved value
	 * and refuses it only if that bit would really be set. */
	return 0;
}

static int parse_load(struct parser *p, struct tok t, bool in_exec,
		      struct action_set_field *sf)
{
	struct tok src, dst;
	struct subfield sub;
	uint8_t x[FLOW_MAX_VALUE];
	int w, bit, r;

	if (split_arrow(p, t, "load", &src, &dst) || parse_subfield(p, dst, &sub) ||
	    check_write_dst(p, sub.fi, in_exec, dst))
		return -1;
	w = sub.fi->width;
	r = parse_be(p, src, x, w);
	if (r == -1)
		return fail(p, src.off, "invalid value '" TOKF "' in load",
			    TOKA(p, src));
	for (bit = sub.nbits; bit < w * 8; bit++) {
		if (r == -2 || flow_bit_get(x, w, bit))
			return fail(p, src.off, "value '" TOKF "' does not fit in %d bits",
				    TOKA(p, src), sub.nbits);
	}
	memset(sf, 0, sizeof(*sf));
	sf->field = sub.fi->id;
	sf->as_load = true;
	for (bit = 0; bit < sub.nbits; bit++) {
		flow_bit_put(sf->mask, w, sub.ofs + bit, true);
		if (flow_bit_get(x, w, bit))
			flow_bit_put(sf->value, w, sub.ofs + bit, true);
	}
	if (sf->field == F_CT_MARK)
		return check_ct_mark(p, sf->value, sf->mask, dst.off);
	/* only top-level load: gets here with an address: name "load:..." */
	if (is_addr_field(sf->field))
		return check_addr_write(p, sf, (struct tok){ t.off - 5, t.len + 5 });
	if (is_ip_header_field(sf->field))
		return check_ip_header_write(p, sf, (struct tok){ t.off - 5, t.len + 5 });
	if (is_port_field(sf->field))
		return check_port_write(p, sf, (struct tok){ t.off - 5, t.len + 5 });
	return 0;
}

static int parse_set_field(struct parser *p, struct tok t, bool in_exec,
			   struct action_set_field *sf)
{
	struct tok src, dst;
	const struct field_info *fi;
	char name[32];
	int i;

	if (split_arrow(p, t, "set_field", &src, &dst))
		return -1;
	/* ip_dscp is nw_tos shifted by the ECN bits (check_ip_header_value) */
	if (tok_is(p, dst, "ip_dscp"))
		fi = field_info(F_NW_TOS);
	else if (!tok_copy(p, dst, name, sizeof(name)) || !(fi = field_by_name(name)))
		return fail(p, dst.off, "unknown field '" TOKF "'", TOKA(p, dst));
	if (check_write_dst(p, fi, in_exec, dst))
		return -1;
	memset(sf, 0, sizeof(*sf));
	sf->field = fi->id;
	if (fi->id == F_DL_SRC || fi->id == F_DL_DST || is_addr_field(fi->id)) {
		if (parse_match_value(p, dst, src, fi, sf->value, sf->mask))
			return -1;
	} else if (parse_int_masked(p, dst, src, fi, sf->value, sf->mask) ||
		   (is_ip_header_field(fi->id) &&
		    check_ip_header_value(p, dst, src, fi, sf->value, sf->mask))) {
		return -1;
	}
	if (is_zero(sf->mask, fi->width))
		return fail(p, src.off, "set_field mask of '" TOKF "' is zero",
			    TOKA(p, src));
	for (i = 0; i < fi->width; i++)
		sf->value[i] &= sf->mask[i];
	if (fi->id == F_CT_MARK)
		return check_ct_mark(p, sf->value, sf->mask, src.off);
	/* only top-level set_field: gets here with an address: name
	 * "set_field:..." */
	if (is_addr_field(fi->id))
		return check_addr_write(p, sf, (struct tok){ t.off - 10, t.len + 10 });
	if (is_ip_header_field(fi->id))
		return check_ip_header_write(p, sf, (struct tok){ t.off - 10, t.len + 10 });
	if (is_port_field(fi->id))
		return check_port_write(p, sf, (struct tok){ t.off - 10, t.len + 10 });
	return 0;
}

static int parse_exec(struct parser *p, struct tok body, struct action_ct *ct)
{
	size_t pos = body.off, end = body.off + body.len;
	struct kv kv;
	int r;

	while ((r = next_kv(p, &pos, end, &kv)) > 0) {
		struct action_set_field *sf;
		bool load = tok_icase(p, kv.key, "load");
		bool move = tok_icase(p, kv.key, "move");

		if (!load && !move && !tok_icase(p, kv.key, "set_field"))
			return fail(p, kv.key.off, "ct exec may only hold set_field, "
				    "load or move to ct_mark/ct_label, not '" TOKF "'",
				    TOKA(p, kv.all));
		if (kv.delim != ':' || !kv.val.len)
			return fail(p, kv.key.off, "missing value for '" TOKF "'",
				    TOKA(p, kv.key));
		if (ct->n_exec >= CT_MAX_EXEC)
			return fail(p, kv.key.off, "too many actions in ct exec (max %d)",
				    CT_MAX_EXEC);
		if (!ct->exec &&
		    !(ct->exec = calloc(CT_MAX_EXEC, sizeof(*ct->exec))))
			return fail(p, kv.key.off, "out of memory");
		sf = &ct->exec[ct->n_exec];
		if (move ? parse_move(p, kv.val, true, sf) :
		    load ? parse_load(p, kv.val, true, sf) :
			   parse_set_field(p, kv.val, true, sf))
			return -1;
		ct->n_exec++;
	}
	return r;
}

static int parse_nat(struct parser *p, struct tok body, struct action_nat *n);

static int parse_ct_zone(struct parser *p, struct tok t, struct action_ct *ct)
{
	struct subfield sf;
	uint8_t b[2];

	if (!t.len)
		return fail(p, t.off, "missing value for ct zone");
	if (isdigit((unsigned char)p->s[t.off])) {
		int r = parse_be(p, t, b, 2);

		if (r)
			return fail(p, t.off, "invalid ct zone '" TOKF "'%s", TOKA(p, t),
				    r == -2 ? " (max 65535)" : "");
		ct->zone = be_get(b, 2);
		return 0;
	}
	{
		char name[32];
		const struct field_info *fi;
		struct tok n = tok_sub(t, 0, tok_find(p, t, 0, '['));

		if (!tok_copy(p, n, name, sizeof(name)) ||
		    !(fi = field_by_name(name)) ||
		    fi->id < F_REG0 || fi->id > F_REG7)
			return fail(p, t.off, "ct zone source '" TOKF "' must be a "
				    "number or a register (reg0-reg7)", TOKA(p, t));
	}
	if (parse_subfield(p, t, &sf))
		return -1;
	if (sf.fi->id < F_REG0 || sf.fi->id > F_REG7)
		return fail(p, t.off, "ct zone source '" TOKF "' must be a register "
			    "(reg0-reg7)", TOKA(p, t));
	if (sf.nbits > 16)
		return fail(p, t.off, "ct zone range '" TOKF "' is wider than 16 bits",
			    TOKA(p, t));
	ct->zone_reg = sf.fi->id - F_REG0;
	ct->zone_ofs = sf.ofs;
	ct->zone_nbits = sf.nbits;
	return 0;
}

static int parse_ct_arg(struct parser *p, const struct kv *kv,
			struct action_ct *ct, struct tok *exec_tok)
{
	uint8_t table;

	if (tok_is(p, kv->key, "commit") && !kv->delim) {
		ct->commit = true;
		return 0;
	}
	if (tok_is(p, kv->key, "table") && kv->delim == '=') {
		if (parse_table(p, kv->val, &table))
			return -1;
		ct->table = table;
		return 0;
	}
	if (tok_is(p, kv->key, "zone") && kv->delim == '=')
		return parse_ct_zone(p, kv->val, ct);
	if (tok_is(p, kv->key, "alg") && kv->delim == '=') {
		if (!tok_is(p, kv->val, "ftp") && !tok_is(p, kv->val, "tftp") &&
		    !tok_is(p, kv->val, "sip"))
			return fail(p, kv->val.off, "unknown ct alg '" TOKF
				    "' (ftp, tftp or sip)", TOKA(p, kv->val));
		tok_copy(p, kv->val, ct->alg, sizeof(ct->alg));
		return 0;
	}
	if (tok_is(p, kv->key, "nat") && (!kv->delim || kv->delim == '(')) {
		free(ct->nat);
		ct->nat = strndup(p->s + kv->all.off, kv->all.len);
		if (!ct->nat)
			return fail(p, kv->key.off, "out of memory");
		memset(&ct->nat_spec, 0, sizeof(ct->nat_spec));
		return kv->delim ? parse_nat(p, kv->val, &ct->nat_spec) : 0;
	}
	if (tok_is(p, kv->key, "exec") && kv->delim == '(') {
		if (!exec_tok->len)
			*exec_tok = kv->key;
		return parse_exec(p, kv->val, ct);
	}
	if (tok_is(p, kv->key, "force"))
		return fail(p, kv->key.off, "ct option 'force' is not supported");
	return fail(p, kv->key.off, "invalid argument '" TOKF "' to ct",
		    TOKA(p, kv->all));
}

static int parse_ct(struct parser *p, const struct kv *kv)
{
	size_t pos = kv->val.off, end = kv->val.off + kv->val.len;
	struct flow_action *a;
	struct action_ct *ct;
	struct tok exec_tok = { 0, 0 };
	struct kv arg;
	int r;

	if (kv->delim && kv->delim != '(')
		return fail(p, kv->key.off, "ct takes its arguments in parentheses: "
			    "ct(...)");
	a = add_action(p, ACT_CT, kv->key.off);
	if (!a)
		return -1;
	ct = &a->u.ct;
	ct->table = -1;
	ct->zone_reg = -1;
	if (!kv->delim)
		return 0;
	while ((r = next_kv(p, &pos, end, &arg)) > 0) {
		if (parse_ct_arg(p, &arg, ct, &exec_tok))
			return -1;
	}
	if (r < 0)
		return -1;
	if (ct->n_exec && !ct->commit)
		return fail(p, exec_tok.off, "ct exec requires commit");
	return 0;
}

/* mod_dl_src:MAC / mod_dl_dst:MAC: set_field to the whole address. */
static int parse_mod_dl(struct parser *p, const struct kv *kv)
{
	struct flow_action *a;
	struct ether_addr mac;
	char buf[32];

	if ((kv->delim != ':' && kv->delim != '=') || !kv->val.len)
		return fail(p, kv->key.off, "missing value for '" TOKF "'", TOKA(p, kv->key));
	if (!tok_copy(p, kv->val, buf, sizeof(buf)) || !ether_aton_r(buf, &mac))
		return fail(p, kv->val.off, "invalid MAC address '" TOKF "'", TOKA(p, kv->val));
	a = add_action(p, ACT_SET_FIELD, kv->key.off);
	if (!a)
		return -1;
	memset(&a->u.set, 0, sizeof(a->u.set));
	a->u.set.field = tok_icase(p, kv->key, "mod_dl_src") ? F_DL_SRC : F_DL_DST;
	memcpy(a->u.set.value, mac.ether_addr_octet, 6);
	memset(a->u.set.mask, 0xff, 6);
	return 0;
}

/* mod_nw_src:A.B.C.D / mod_nw_dst:A.B.C.D: OVS's older spelling of
 * set_field to the whole IPv4 address. */
static int parse_mod_nw(struct parser *p, const struct kv *kv)
{
	struct flow_action *a;
	struct action_set_field *sf;

	if ((kv->delim != ':' && kv->delim != '=') || !kv->val.len)
		return fail(p, kv->key.off, "missing value for '" TOKF "'", TOKA(p, kv->key));
	a = add_action(p, ACT_SET_FIELD, kv->key.off);
	if (!a)
		return -1;
	sf = &a->u.set;
	memset(sf, 0, sizeof(*sf));
	sf->field = tok_icase(p, kv->key, "mod_nw_src") ? F_NW_SRC : F_NW_DST;
	if (parse_addr(p, kv->val, AF_INET, sf->value))
		return fail(p, kv->val.off, "invalid IPv4 address '" TOKF "'",
			    TOKA(p, kv->val));
	memset(sf->mask, 0xff, 4);
	return check_addr_write(p, sf, kv->all);
}

/* mod_nw_tos:TOS, mod_nw_ecn:ECN, mod_nw_ttl:TTL, mod_tp_src:PORT and
 * mod_tp_dst:PORT: set_field to the whole field (nw_tos: the DSCP bits of
 * the ToS byte), checked as that set_field is. */
static int parse_mod_field(struct parser *p, const struct kv *kv)
{
	static const struct {
		const char *name;
		enum field_id field;
	} mods[] = {
		{ "mod_nw_tos", F_NW_TOS }, { "mod_nw_ecn", F_NW_ECN },
		{ "mod_nw_ttl", F_NW_TTL }, { "mod_tp_src", F_TP_SRC },
		{ "mod_tp_dst", F_TP_DST },
	};
	struct action_set_field *sf;
	struct flow_action *a;
	size_t i = 0;
	int width;
	uint64_t v;

	while (!tok_icase(p, kv->key, mods[i].name))
		i++;
	width = field_info(mods[i].field)->width;
	if ((kv->delim != ':' && kv->delim != '=') || !kv->val.len)
		return fail(p, kv->key.off, "missing value for '" TOKF "'", TOKA(p, kv->key));
	if (parse_uint(p, kv->val, width == 2 ? UINT16_MAX : UINT8_MAX, mods[i].name, &v))
		return -1;
	a = add_action(p, ACT_SET_FIELD, kv->key.off);
	if (!a)
		return -1;
	sf = &a->u.set;
	memset(sf, 0, sizeof(*sf));
	sf->field = mods[i].field;
	for (int b = 0; b < width; b++)
		sf->value[b] = (uint8_t)(v >> (8 * (width - 1 - b)));
	memset(sf->mask, 0xff, (size_t)width);
	return is_port_field(sf->field) ? check_port_write(p, sf, kv->all) :
					  check_ip_header_write(p, sf, kv->all);
}

/* dpi(queue=N[-M],fail=open|closed): both arguments optional (queue 0,
 * fail open). */
static int parse_dpi_arg(struct parser *p, const struct kv *arg,
			 struct action_dpi *dpi)
{
	uint64_t lo, hi;
	size_t dash;

	if (tok_is(p, arg->key, "queue")) {
		dash = tok_find(p, arg->val, 0, '-');
		if (parse_uint(p, tok_sub(arg->val, 0, dash), 65535, "queue", &lo))
			return -1;
		hi = lo;
		if (dash < arg->val.len &&
		    parse_uint(p, tok_sub(arg->val, dash + 1, arg->val.len), 65535,
			       "queue", &hi))
			return -1;
		if (hi < lo)
			return fail(p, arg->val.off, "queue range '" TOKF "' is backwards",
				    TOKA(p, arg->val));
		dpi->queue_lo = lo;
		dpi->queue_hi = hi;
		return 0;
	}
	if (tok_is(p, arg->key, "fail")) {
		if (tok_is(p, arg->val, "open") || tok_is(p, arg->val, "closed")) {
			dpi->fail_closed = tok_is(p, arg->val, "closed");
			return 0;
		}
		return fail(p, arg->val.off, "dpi fail= must be open or closed, not '"
			    TOKF "'", TOKA(p, arg->val));
	}
	return fail(p, arg->key.off, "unknown dpi argument '" TOKF "'",
		    TOKA(p, arg->key));
}

static int parse_dpi(struct parser *p, const struct kv *kv)
{
	size_t pos = kv->val.off, end = kv->val.off + kv->val.len;
	struct flow_action *a;
	struct kv arg;
	int r;

	if (kv->delim && kv->delim != '(')
		return fail(p, kv->key.off, "dpi takes its arguments in parentheses: "
			    "dpi(queue=N,fail=open)");
	a = add_action(p, ACT_DPI, kv->key.off);
	if (!a)
		return -1;
	if (!kv->delim)
		return 0;
	while ((r = next_kv(p, &pos, end, &arg)) > 0) {
		if (parse_dpi_arg(p, &arg, &a->u.dpi))
			return -1;
	}
	return r < 0 ? -1 : 0;
}

/* One address of a nat range: IPv4, or IPv6 (brackets stripped). */
static int parse_nat_addr(struct parser *p, struct tok t, int *family, uint8_t *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	int fam = tok_find(p, t, 0, ':') < t.len ? 6 : 4;

	if (!tok_copy(p, t, buf, sizeof(buf)) ||
	    inet_pton(fam == 6 ? AF_INET6 : AF_INET, buf, out) != 1)
		return fail(p, t.off, "invalid nat address '" TOKF "'", TOKA(p, t));
	if (*family && *family != fam)
		return fail(p, t.off, "nat range mixes IPv4 and IPv6 at '" TOKF "'",
			    TOKA(p, t));
	*family = fam;
	return 0;
}

static int parse_nat_ports(struct parser *p, struct tok t, struct action_nat *n)
{
	size_t dash = tok_find(p, t, 0, '-');
	uint64_t lo, hi;

	if (parse_uint(p, tok_sub(t, 0, dash), 65535, "nat port", &lo))
		return -1;
	hi = lo;
	if (dash < t.len && parse_uint(p, tok_sub(t, dash + 1, t.len), 65535,
				       "nat port", &hi))
		return -1;
	if (!lo || hi < lo)
		return fail(p, t.off, "invalid nat port range '" TOKF "'", TOKA(p, t));
	n->port_min = lo;
	n->port_max = hi;
	return 0;
}

/* ADDR[-ADDR][:PORT[-PORT]]; IPv6 with ports as [ADDR]-[ADDR]:PORT. */
static int parse_nat_range(struct parser *p, struct tok t, struct action_nat *n)
{
	struct tok addrs = t, ports = { 0, 0 };
	size_t i, colons = 0, dash;

	for (i = 0; i < t.len; i++)
		colons += p->s[t.off + i] == ':';
	if (t.len && p->s[t.off] == '[') {
		size_t close = tok_find(p, t, 0, ']');
		size_t after;

		if (close == t.len)
			return fail(p, t.off, "missing ']' in nat range '" TOKF "'", TOKA(p, t));
		after = close + 1;
		if (after + 1 < t.len && p->s[t.off + after] == '-' &&
		    p->s[t.off + after + 1] == '[') {
			close = tok_find(p, t, after + 1, ']');
			if (close == t.len)
				return fail(p, t.off, "missing ']' in nat range '" TOKF "'",
					    TOKA(p, t));
			after = close + 1;
		}
		addrs = tok_sub(t, 0, after);
		if (after < t.len) {
			if (p->s[t.off + after] != ':')
				return fail(p, t.off + after, "invalid nat range '" TOKF "'",
					    TOKA(p, t));
			ports = tok_sub(t, after + 1, t.len);
		}
	} else if (colons == 1) {
		size_t c = tok_find(p, t, 0, ':');

		addrs = tok_sub(t, 0, c);
		ports = tok_sub(t, c + 1, t.len);
	}
	/* strip the brackets and split ADDR-ADDR */
	dash = tok_find(p, addrs, 0, '-');
	for (int k = 0; k < 2; k++) {
		struct tok a = k ? tok_sub(addrs, dash + 1, addrs.len) : tok_sub(addrs, 0, dash);
		uint8_t *out = k ? n->addr_max : n->addr_min;

		if (k && dash == addrs.len) {
			memcpy(n->addr_max, n->addr_min, 16);
			break;
		}
		if (a.len >= 2 && p->s[a.off] == '[' && p->s[a.off + a.len - 1] == ']')
			a = tok_sub(a, 1, a.len - 1);
		if (parse_nat_addr(p, a, &n->family, out))
			return -1;
	}
	if (memcmp(n->addr_min, n->addr_max, 16) > 0)
		return fail(p, addrs.off, "nat address range '" TOKF "' is backwards",
			    TOKA(p, addrs));
	return ports.len ? parse_nat_ports(p, ports, n) : 0;
}

/* nat(src=RANGE|dst=RANGE[,random|hash|persistent]) */
static int parse_nat(struct parser *p, struct tok body, struct action_nat *n)
{
	size_t pos = body.off, end = body.off + body.len;
	struct kv kv;
	int r;

	n->kind = NAT_EXISTING;
	while ((r = next_kv(p, &pos, end, &kv)) > 0) {
		if ((tok_is(p, kv.key, "src") || tok_is(p, kv.key, "dst")) &&
		    kv.delim == '=') {
			if (n->kind != NAT_EXISTING)
				return fail(p, kv.key.off, "nat takes one of src= or dst=");
			n->kind = tok_is(p, kv.key, "src") ? NAT_SRC : NAT_DST;
			if (parse_nat_range(p, kv.val, n))
				return -1;
		} else if (tok_is(p, kv.key, "random") && !kv.delim) {
			n->random = true;
		} else if (tok_is(p, kv.key, "hash") && !kv.delim) {
			n->hash = true;
		} else if (tok_is(p, kv.key, "persistent") && !kv.delim) {
			n->persistent = true;
		} else {
			return fail(p, kv.key.off, "unknown nat argument '" TOKF "'",
				    TOKA(p, kv.all));
		}
	}
	if (r < 0)
		return -1;
	if (n->random && n->hash)
		return fail(p, body.off, "nat flags random and hash exclude each other");
	return 0;
}

static int parse_resubmit(struct parser *p, const struct kv *kv)
{
	size_t comma;
	struct flow_action *a;
	uint8_t table;

	if (kv->delim != '(')
		return fail(p, kv->key.off, "'" TOKF "' is not supported, "
			    "use resubmit(,TABLE)", TOKA(p, kv->all));
	comma = tok_find(p, kv->val, 0, ',');
	if (comma > 0 || comma == kv->val.len ||
	    tok_find(p, kv->val, comma + 1, ',') < kv->val.len)
		return fail(p, kv->key.off, "'" TOKF "' is not supported, "
			    "use resubmit(,TABLE)", TOKA(p, kv->all));
	if (parse_table(p, tok_sub(kv->val, 1, kv->val.len), &table))
		return -1;
	a = add_action(p, ACT_RESUBMIT, kv->key.off);
	if (!a)
		return -1;
	a->u.table = table;
	return 0;
}

/* Port names OVS accepts as output:NAME or a bare action. */
static int parse_port_action(struct parser *p, struct tok t, struct tok key)
{
	static const struct {
		const char *name;
		enum action_type type;
	} names[] = {
		{ "normal", ACT_NORMAL }, { "flood", ACT_FLOOD },
		{ "in_port", ACT_IN_PORT },
	};
	struct flow_action *a;
	uint32_t port = 0;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (tok_icase(p, t, names[i].name))
			return add_action(p, names[i].type, key.off) ? 0 : -1;
	}
	if (t.len && !isdigit((unsigned char)p->s[t.off]) && !tok_icase(p, t, "LOCAL") &&
	    !lookup_port_name(p, t))
		return fail(p, t.off, "output to '" TOKF "' is not supported",
			    TOKA(p, t));
	if (parse_port(p, t, &port))
		return -1;
	a = add_action(p, ACT_OUTPUT, key.off);
	if (!a)
		return -1;
	a->u.port = port;
	return 0;
}

/* enqueue:PORT:QUEUE or enqueue(PORT,QUEUE), OpenFlow 1.0's output
 * through a queue: only this output uses the queue (OVS puts the one in
 * effect back afterwards). */
static int parse_enqueue(struct parser *p, const struct kv *kv)
{
	size_t cut = kv->val.len;
	uint64_t queue;
	struct tok port;

	if (kv->delim == ':' || kv->delim == '(')
		cut = tok_find(p, kv->val, 0, kv->delim == '(' ? ',' : ':');
	if (cut == 0 || cut >= kv->val.len)
		return fail(p, kv->key.off, "'" TOKF "': enqueue takes a port and a queue, "
			    "enqueue:PORT:QUEUE or enqueue(PORT,QUEUE)", TOKA(p, kv->all));
	port = tok_sub(kv->val, 0, cut);
	if (parse_port_action(p, port, kv->key))
		return -1;
	if (p->f.actions[p->f.n_actions - 1].type != ACT_OUTPUT)
		return fail(p, port.off, "enqueue to '" TOKF "' is not supported: "
			    "enqueue needs a port", TOKA(p, port));
	if (parse_uint(p, tok_sub(kv->val, cut + 1, kv->val.len), FLOW_MAX_QUEUE,
		       "queue", &queue))
		return -1;
	p->f.actions[p->f.n_actions - 1].enqueue = (uint32_t)queue + 1;
	return 0;
}

/* conjunction(ID,K/N): clause K of N of conjunction ID (ovs-actions(7)). */
static int parse_conjunction(struct parser *p, const struct kv *kv)
{
	struct tok args = kv->val, id_tok, k_tok, n_tok;
	uint64_t id, k, n;
	size_t comma, slash;
	struct flow_action *a;

	if (kv->delim != '(')
		return fail(p, kv->key.off, "conjunction takes its arguments in "
			    "parentheses: conjunction(ID,K/N)");
	comma = tok_find(p, args, 0, ',');
	slash = comma < args.len ? tok_find(p, args, comma + 1, '/') : args.len;
	if (comma == args.len || slash == args.len ||
	    tok_find(p, args, slash + 1, ',') < args.len)
		return fail(p, kv->key.off, "'" TOKF "' is not conjunction(ID,K/N)",
			    TOKA(p, kv->all));
	id_tok = tok_sub(args, 0, comma);
	k_tok = tok_sub(args, comma + 1, slash);
	n_tok = tok_sub(args, slash + 1, args.len);
	if (parse_uint(p, id_tok, UINT32_MAX, "conjunction id", &id) ||
	    parse_uint(p, n_tok, 64, "conjunction's number of clauses", &n) ||
	    parse_uint(p, k_tok, 64, "conjunction clause", &k))
		return -1;
	if (n < 2)
		return fail(p, n_tok.off, "conjunction needs 2 to 64 clauses, not %llu",
			    (unsigned long long)n);
	if (k < 1 || k > n)
		return fail(p, k_tok.off, "conjunction clause %llu is not in 1-%llu",
			    (unsigned long long)k, (unsigned long long)n);
	for (int i = 0; i < p->f.n_actions; i++)
		if (p->f.actions[i].type == ACT_CONJUNCTION &&
		    p->f.actions[i].u.conj.id == id)
			return fail(p, kv->key.off, "conjunction id %llu named twice",
				    (unsigned long long)id);
	a = add_action(p, ACT_CONJUNCTION, kv->key.off);
	if (!a)
		return -1;
	a->u.conj.id = id;
	a->u.conj.clause = k;
	a->u.conj.n_clauses = n;
	return 0;
}

/* OpenFlow 1.1's instruction order, as OVS checks it: after write_metadata
 * comes goto_table or nothing (a note is an apply-actions action too). */
#define WRITE_METADATA_LAST "only goto_table may follow write_metadata " \
	"(OpenFlow 1.1's instruction order)"

/* note[:HEX], a comment among the actions: pairs of hex digits, '.'
 * between them allowed.  Stored as ovs-vswitchd stores it, zero-padded to
 * the length its 8-byte-aligned action holds (10 bytes of header), so
 * dump-flows prints what ovs-ofctl does and a file compares equal with
 * what was added from it. */
static size_t note_padded_len(size_t len)
{
	return (10 + len + 7) / 8 * 8 - 10;
}

static int parse_note(struct parser *p, const struct kv *kv)
{
	struct flow_note *n, *grown;
	size_t len = 0, padded;
	uint8_t *data;

	if (kv->delim && kv->delim != ':')
		return fail(p, kv->key.off, "note takes hex bytes: note:HEX");
	if (p->opts && p->opts->bucket)
		return fail(p, kv->key.off, "note is not supported in a group bucket");
	if (p->f.n_actions && p->f.actions[p->f.n_actions - 1].type == ACT_WRITE_METADATA)
		return fail(p, kv->key.off, WRITE_METADATA_LAST);
	data = calloc(1, note_padded_len(kv->val.len / 2));
	if (!data)
		return fail(p, kv->key.off, "out of memory");
	for (size_t i = 0; i < kv->val.len;) {
		const char *c = p->s + kv->val.off + i;
		int hi, lo;

		if (*c == '.') {
			i++;
			continue;
		}
		hi = hexval(c[0]);
		lo = i + 1 < kv->val.len ? hexval(c[1]) : -1;
		if (hi < 0 || lo < 0) {
			free(data);
			return fail(p, kv->val.off + i, "bad hex digit in note '" TOKF "'",
				    TOKA(p, kv->val));
		}
		data[len++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	padded = note_padded_len(len);
	grown = realloc(p->f.notes, (p->f.n_notes + 1) * sizeof(*grown));
	if (!grown) {
		free(data);
		return fail(p, kv->key.off, "out of memory");
	}
	p->f.notes = grown;
	n = &p->f.notes[p->f.n_notes++];
	n->before = p->f.n_actions;
	n->len = (int)padded;
	n->data = data;
	return 0;
}

/* Actions OVS has and brflow does not (yet): a clearer word than "unknown". */
static const char *const unsupported_actions[] = {
	"controller", "all", "table", "none", "learn",
	"mod_vlan_vid", "mod_vlan_pcp", "strip_vlan",
	"push_vlan", "pop_vlan", "clone",
	"sample", "multipath", "bundle", "bundle_load",
	"output_reg", "set_tunnel",
	"write_actions", "clear_actions", "check_pkt_larger",
	"push_mpls", "pop_mpls", "fin_timeout", "set_mpls_label",
	"dec_mpls_ttl", "encap",
	"decap", "debug_recirc", "debug_slow",
};

/* meter:N, OpenFlow 1.3's meter instruction: at most one, never in a
 * group bucket (OVS's rules); parse_actions moves it first. */
static int parse_meter(struct parser *p, const struct kv *kv)
{
	struct flow_action *a;
	uint64_t id;

	if (kv->delim != ':' && kv->delim != '=')
		return fail(p, kv->key.off, "meter needs a meter id: meter:N");
	if (p->opts && p->opts->bucket)
		return fail(p, kv->key.off, "meter is not allowed in a group bucket");
	for (int i = 0; i < p->f.n_actions; i++)
		if (p->f.actions[i].type == ACT_METER)
			return fail(p, kv->key.off, "duplicate meter action");
	if (parse_uint(p, kv->val, UINT32_MAX, "meter", &id))
		return -1;
	if (id == 0 || id > 0xffff0000u)
		return fail(p, kv->val.off, "meter:%llu: meter ids are 1-4294901760",
			    (unsigned long long)id);
	a = add_action(p, ACT_METER, kv->key.off);
	if (!a)
		return -1;
	a->u.meter_id = id;
	return 0;
}

/* output:SUBFIELD, OVS's output to the port a register holds
 * (output:NXM_NX_REG1[0..15]).  brflow knows registers per path, so the
 * port is decided when the flows compile. */
static int parse_output_reg(struct parser *p, const struct kv *kv)
{
	struct flow_action *a;
	struct subfield sf;

	if (parse_subfield(p, kv->val, &sf))
		return -1;
	if ((sf.fi->id < F_REG0 || sf.fi->id > F_REG7) && sf.fi->id != F_METADATA)
		return fail(p, kv->val.off, "output:'" TOKF "': the port must come from "
			    "a register (reg0-reg7) or metadata", TOKA(p, kv->val));
	if (sf.nbits > 16)
		return fail(p, kv->val.off, "output:'" TOKF "': a port has 16 bits, "
			    "not %d", TOKA(p, kv->val), sf.nbits);
	a = add_action(p, ACT_OUTPUT_REG, kv->key.off);
	if (!a)
		return -1;
	a->u.out_reg.field = sf.fi->id;
	a->u.out_reg.ofs = (uint8_t)sf.ofs;
	a->u.out_reg.nbits = (uint8_t)sf.nbits;
	return 0;
}

/* write_metadata:VALUE[/MASK], OpenFlow 1.1's instruction: a metadata
 * write (the mask defaults to every bit). */
static int parse_write_metadata(struct parser *p, const struct kv *kv)
{
	const struct field_info *fi = field_info(F_METADATA);
	uint8_t v[FLOW_MAX_VALUE] = { 0 }, m[FLOW_MAX_VALUE] = { 0 };
	struct flow_action *a;

	if (kv->delim != ':' && kv->delim != '=')
		return fail(p, kv->key.off, "write_metadata needs a value: "
			    "write_metadata:VALUE[/MASK]");
	if (parse_int_masked(p, kv->key, kv->val, fi, v, m))
		return -1;
	a = add_action(p, ACT_WRITE_METADATA, kv->key.off);
	if (!a)
		return -1;
	memset(&a->u.set, 0, sizeof(a->u.set));
	a->u.set.field = F_METADATA;
	memcpy(a->u.set.value, v, 8);
	memcpy(a->u.set.mask, m, 8);
	return 0;
}

/* NAME:N (or NAME=N), an action with one number up to 'max' (group:N,
 * set_queue:N): the action, its number in *n; NULL after an error. */
static struct flow_action *number_action(struct parser *p, const struct kv *kv,
					 enum action_type type, uint64_t max,
					 const char *what, const char *usage, uint64_t *n)
{
	struct flow_action *a;

	if (kv->delim != ':' && kv->delim != '=') {
		fail(p, kv->key.off, "%s", usage);
		return NULL;
	}
	a = add_action(p, type, kv->key.off);
	if (!a || parse_uint(p, kv->val, max, what, n))
		return NULL;
	return a;
}

static int parse_action_kv(struct parser *p, const struct kv *kv, bool *saw_drop)
{
	struct flow_action *a;
	uint64_t n;
	size_t i;

	if (tok_icase(p, kv->key, "drop")) {
		if (kv->delim)
			return fail(p, kv->key.off, "'drop' takes no argument");
		if (!*saw_drop)
			p->drop_tok = kv->key;
		*saw_drop = true;
		return 0;
	}
	if (tok_icase(p, kv->key, "output")) {
		if (kv->delim != ':' && kv->delim != '=')
			return fail(p, kv->key.off, "'" TOKF "' is not supported, "
				    "use output:PORT", TOKA(p, kv->all));
		if (tok_find(p, kv->val, 0, '[') < kv->val.len)
			return parse_output_reg(p, kv);
		return parse_port_action(p, kv->val, kv->key);
	}
	if (tok_icase(p, kv->key, "note"))
		return parse_note(p, kv);
	if (tok_icase(p, kv->key, "ct"))
		return parse_ct(p, kv);
	if (tok_icase(p, kv->key, "dpi"))
		return parse_dpi(p, kv);
	if (tok_icase(p, kv->key, "ct_clear") && !kv->delim)
		return add_action(p, ACT_CT_CLEAR, kv->key.off) ? 0 : -1;
	if (tok_icase(p, kv->key, "exit")) {
		if (kv->delim)
			return fail(p, kv->key.off, "'exit' takes no argument");
		return add_action(p, ACT_EXIT, kv->key.off) ? 0 : -1;
	}
	if (tok_icase(p, kv->key, "dec_ttl")) {
		/* dec_ttl(ID,...) names the controllers told of an expired
		 * TTL; brflow has none to tell */
		if (kv->delim)
			return fail(p, kv->key.off, "'" TOKF "' names controllers, and brflow "
				    "has none: use dec_ttl", TOKA(p, kv->all));
		return add_action(p, ACT_DEC_TTL, kv->key.off) ? 0 : -1;
	}
	if (tok_icase(p, kv->key, "mod_dl_src") || tok_icase(p, kv->key, "mod_dl_dst"))
		return parse_mod_dl(p, kv);
	if (tok_icase(p, kv->key, "mod_nw_src") || tok_icase(p, kv->key, "mod_nw_dst"))
		return parse_mod_nw(p, kv);
	if (tok_icase(p, kv->key, "mod_nw_tos") || tok_icase(p, kv->key, "mod_nw_ecn") ||
	    tok_icase(p, kv->key, "mod_nw_ttl") || tok_icase(p, kv->key, "mod_tp_src") ||
	    tok_icase(p, kv->key, "mod_tp_dst"))
		return parse_mod_field(p, kv);
	if (tok_icase(p, kv->key, "group")) {
		a = number_action(p, kv, ACT_GROUP, UINT32_MAX, "group",
				  "group needs a group id: group:N", &n);
		if (!a)
			return -1;
		a->u.group_id = (uint32_t)n;
		return 0;
	}
	if (tok_icase(p, kv->key, "meter"))
		return parse_meter(p, kv);
	if (tok_icase(p, kv->key, "set_queue")) {
		a = number_action(p, kv, ACT_SET_QUEUE, FLOW_MAX_QUEUE, "queue",
				  "set_queue needs a queue: set_queue:QUEUE", &n);
		if (!a)
			return -1;
		a->u.queue = (uint32_t)n;
		return 0;
	}
	if (tok_icase(p, kv->key, "pop_queue")) {
		if (kv->delim)
			return fail(p, kv->key.off, "'pop_queue' takes no argument");
		return add_action(p, ACT_POP_QUEUE, kv->key.off) ? 0 : -1;
	}
	if (tok_icase(p, kv->key, "enqueue"))
		return parse_enqueue(p, kv);
	if (tok_icase(p, kv->key, "write_metadata"))
		return parse_write_metadata(p, kv);
	if (tok_icase(p, kv->key, "resubmit"))
		return parse_resubmit(p, kv);
	if (tok_icase(p, kv->key, "conjunction"))
		return parse_conjunction(p, kv);
	if (tok_icase(p, kv->key, "goto_table")) {
		if (kv->delim != ':' && kv->delim != '=')
			return fail(p, kv->key.off, "goto_table needs a table: goto_table:N");
		a = add_action(p, ACT_GOTO_TABLE, kv->key.off);
		return a ? parse_table(p, kv->val, &a->u.table) : -1;
	}
	if (tok_icase(p, kv->key, "move")) {
		if (kv->delim != ':' || !kv->val.len)
			return fail(p, kv->key.off, "missing value for '" TOKF "'",
				    TOKA(p, kv->key));
		a = add_action(p, ACT_SET_FIELD, kv->key.off);
		return a ? parse_move(p, kv->val, false, &a->u.set) : -1;
	}
	if (tok_icase(p, kv->key, "load") || tok_icase(p, kv->key, "set_field")) {
		bool load = tok_icase(p, kv->key, "load");

		if (kv->delim != ':' || !kv->val.len)
			return fail(p, kv->key.off, "missing value for '" TOKF "'",
				    TOKA(p, kv->key));
		a = add_action(p, ACT_SET_FIELD, kv->key.off);
		if (!a)
			return -1;
		return load ? parse_load(p, kv->val, false, &a->u.set) :
			      parse_set_field(p, kv->val, false, &a->u.set);
	}
	if (!kv->delim && (isdigit((unsigned char)p->s[kv->key.off]) ||
			   tok_icase(p, kv->key, "normal") ||
			   tok_icase(p, kv->key, "flood") ||
			   tok_icase(p, kv->key, "in_port") ||
			   tok_icase(p, kv->key, "LOCAL") ||
			   lookup_port_name(p, kv->key)))
		return parse_port_action(p, kv->key, kv->key);
	for (i = 0; i < sizeof(unsupported_actions) / sizeof(unsupported_actions[0]); i++) {
		if (tok_icase(p, kv->key, unsupported_actions[i]))
			return fail(p, kv->key.off, "action '" TOKF "' is not supported",
				    TOKA(p, kv->key));
	}
	return fail(p, kv->key.off, "unknown action '" TOKF "'", TOKA(p, kv->key));
}

static int parse_actions(struct parser *p, size_t start)
{
	size_t pos = start;
	bool saw_drop = false;
	struct kv kv;
	int r, i;
	size_t goto_col = 0;

	while ((r = next_kv(p, &pos, p->len, &kv)) > 0) {
		int before = p->f.n_actions;

		if (before && p->f.actions[before - 1].type == ACT_GOTO_TABLE)
			return fail(p, goto_col, "goto_table must be the last action");
		if (parse_action_kv(p, &kv, &saw_drop))
			return -1;
		/* OpenFlow 1.1's instruction order, as OVS checks it */
		if (p->f.n_actions > before && before &&
		    p->f.actions[before - 1].type == ACT_WRITE_METADATA &&
		    p->f.actions[before].type != ACT_GOTO_TABLE)
			return fail(p, kv.key.off, WRITE_METADATA_LAST);
		if (p->f.n_actions > before && before &&
		    (p->f.actions[0].type == ACT_CONJUNCTION) !=
		    (p->f.actions[before].type == ACT_CONJUNCTION))
			return fail(p, kv.key.off, "conjunction cannot be mixed with "
				    "other actions");
		if (p->f.n_actions > before &&
		    p->f.actions[before].type == ACT_GOTO_TABLE)
			goto_col = kv.key.off;
		if (saw_drop && (p->f.n_actions || p->f.n_notes))
			return fail(p, p->drop_tok.off, "'drop' must not be accompanied "
				    "by any other action");
	}
	if (r < 0)
		return -1;
	for (i = 1; i < p->f.n_actions; i++)
		if (p->f.actions[i].type == ACT_METER) {
			struct flow_action m = p->f.actions[i];

			memmove(p->f.actions + 1, p->f.actions, i * sizeof(m));
			p->f.actions[0] = m;
			/* notes go with the actions they preceded */
			for (int k = 0; k < p->f.n_notes; k++)
				if (p->f.notes[k].before <= i)
					p->f.notes[k].before++;
		}
	/* ... and come after the meter instruction, as OVS orders them */
	for (i = 0; i < p->f.n_notes; i++)
		if (p->f.notes[i].before == 0 && p->f.n_actions &&
		    p->f.actions[0].type == ACT_METER)
			p->f.notes[i].before = 1;
	for (i = 0; i < p->f.n_actions; i++) {
		const struct flow_action *a = &p->f.actions[i];

		if (a->type == ACT_GOTO_TABLE && a->u.table <= p->f.table)
			return fail(p, goto_col, "goto_table:%u must name a table after "
				    "this flow's table %u", a->u.table, p->f.table);
	}
	return 0;
}

/* ---- the whole flow ---- */

/* Finds "actions=" or "action=" at a token boundary, as OVS's
 * ofp_extract_actions() looks for "action".  Returns the offset of the
 * keyword or p->len; *value gets the offset after '='. */
static int find_actions(struct parser *p, size_t *kw, size_t *value)
{
	size_t i;

	for (i = 0; i + 6 <= p->len; i++) {
		size_t j = i + 6;

		if (p->s[i] != 'a' || strncmp(p->s + i, "action", 6) ||
		    (i && !is_sep(p->s[i - 1])))
			continue;
		if (j < p->len && p->s[j] == 's')
			j++;
		if (j >= p->len || p->s[j] != '=')
			return fail(p, i, "expected 'actions=' here");
		*kw = i;
		*value = j + 1;
		return 0;
	}
	*kw = *value = p->len;
	return 0;
}

static int parse_flow(struct parser *p, const struct flow_parse_opts *opts)
{
	size_t kw = 0, act = 0, pos = 0;
	struct kv kv;
	int r;

	if (p->len > MAX_FLOW_LEN)
		return fail(p, MAX_FLOW_LEN, "flow longer than %d bytes", MAX_FLOW_LEN);
	if (find_actions(p, &kw, &act))
		return -1;
	if (kw == p->len && !(opts && opts->match_only))
		return fail(p, p->len, "missing 'actions='");
	while ((r = next_kv(p, &pos, kw, &kv)) > 0) {
		if (parse_match_kv(p, &kv, opts))
			return -1;
	}
	if (r < 0 || finish_matches(p))
		return -1;
	if (kw == p->len)
		return 0;
	if (parse_actions(p, act))
		return -1;
	if (p->f.n_actions && p->f.actions[0].type == ACT_CONJUNCTION &&
	    p->have[F_CONJ_ID])
		return fail(p, p->setter[F_CONJ_ID].off, "a flow matching conj_id "
			    "cannot be a conjunction clause itself");
	return 0;
}

char *flow_parse(const char *text, struct flow *out,
		 const struct flow_parse_opts *opts)
{
	struct parser *p;
	char *err;

	memset(out, 0, sizeof(*out));
	if (opts && opts->priority_given)
		*opts->priority_given = false;
	if (opts && opts->table_given)
		*opts->table_given = false;
	if (opts && opts->cookie_set)
		*opts->cookie_set = false;
	if (opts && opts->cookie_mask)
		*opts->cookie_mask = 0;
	if (opts && opts->out_port)
		*opts->out_port = 0;
	if (!text)
		return strdup("no flow given at column 1");
	p = calloc(1, sizeof(*p));
	if (!p)
		return strdup("out of memory at column 1");
	p->s = text;
	p->len = strlen(text);
	p->opts = opts;
	p->f.priority = FLOW_DEFAULT_PRIORITY;
	if (parse_flow(p, opts) && !p->err)
		fail(p, 0, "invalid flow");
	err = p->err;
	if (err) {
		flow_free(&p->f);
	} else {
		/* give back the actions' spare room: 100 000-flow tables */
		if (p->f.n_actions && p->f.n_actions < p->cap) {
			struct flow_action *a = realloc(p->f.actions,
				p->f.n_actions * sizeof(*a));

			if (a)
				p->f.actions = a;
		}
		*out = p->f;
	}
	free(p);
	return err;
}
