/* OpenFlow meters in ovs-ofctl add-meter syntax (meter.h).  The text is a
 * list of items separated by commas or spaces: the meter's own (meter=,
 * kbps, pktps, burst, stats), then "bands=" and the band's (type=, rate=,
 * burst_size=). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow.h"
#include "meter.h"

struct mparser {
	const char *s;
	char *err;
};

#define mfail(p, ...) flow_fail_at(&(p)->err, __VA_ARGS__)

static bool is_msep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One item: key [= value]; "bands=type=drop" is key "bands", value
 * "type=drop", which the caller reads again as an item. */
struct mitem {
	size_t off, klen, voff, vlen;
	bool has_val;
};

static bool key_is(const struct mparser *p, const struct mitem *it, const char *w)
{
	return it->klen == strlen(w) && !strncasecmp(p->s + it->off, w, it->klen);
}

/* Reads a decimal value of at most max into *v. */
static int item_uint(struct mparser *p, const struct mitem *it, uint32_t max,
		     uint32_t *v)
{
	unsigned long long x = 0;

	if (!it->has_val || !it->vlen)
		return mfail(p, it->off, "missing value for '%.*s'", (int)it->klen,
			     p->s + it->off);
	for (size_t i = 0; i < it->vlen; i++) {
		char c = p->s[it->voff + i];

		if (!isdigit((unsigned char)c) || (x = x * 10 + (c - '0')) > max)
			return mfail(p, it->voff, "invalid %.*s '%.*s'", (int)it->klen,
				     p->s + it->off, (int)(it->vlen > 64 ? 64 : it->vlen),
				     p->s + it->voff);
	}
	*v = (uint32_t)x;
	return 0;
}

/* Splits the item at *pos (past separators); 0 at the end. */
static int next_item(const struct mparser *p, size_t *pos, struct mitem *it)
{
	size_t i = *pos, len = strlen(p->s);

	while (i < len && is_msep(p->s[i]))
		i++;
	if (i == len)
		return 0;
	memset(it, 0, sizeof(*it));
	it->off = i;
	while (i < len && !is_msep(p->s[i]) && p->s[i] != '=' && p->s[i] != ':')
		i++;
	it->klen = i - it->off;
	if (i < len && (p->s[i] == '=' || p->s[i] == ':')) {
		it->has_val = true;
		it->voff = ++i;
		/* bands=type=drop: the value is the next item */
		if (key_is(p, it, "bands") || key_is(p, it, "band")) {
			*pos = i;
			return 1;
		}
		while (i < len && !is_msep(p->s[i]))
			i++;
		it->vlen = i - it->voff;
	}
	*pos = i;
	return 1;
}

static int parse_id(struct mparser *p, const struct mitem *it, bool id_only,
		    uint32_t *id)
{
	if (id_only && it->vlen == 3 && !strncasecmp(p->s + it->voff, "all", 3)) {
		*id = 0;
		return 0;
	}
	if (item_uint(p, it, UINT32_MAX, id))
		return -1;
	if (*id == 0 || *id > METER_ID_MAX)
		return mfail(p, it->voff, "meter=%.*s: meter ids are 1-%u (0 and the "
			     "reserved ids slowpath, controller, all are not meters)",
			     (int)it->vlen, p->s + it->voff, METER_ID_MAX);
	return 0;
}

/* An item after "bands=": the band's keys. */
static int band_item(struct mparser *p, const struct mitem *it, struct ofmeter *m,
		     int *n_bands, bool *rate_seen)
{
	if (key_is(p, it, "type")) {
		if (!it->has_val || it->vlen != 4 || strncasecmp(p->s + it->voff, "drop", 4))
			return mfail(p, it->off, "band '%.*s' is not supported: only "
				     "type=drop bands", (int)(it->klen + 1 + it->vlen),
				     p->s + it->off);
		if (++*n_bands > 1)
			return mfail(p, it->off, "a second band: only one band per "
				     "meter is supported");
		return 0;
	}
	if (!*n_bands)
		return mfail(p, it->off, "'%.*s' before the band's type=drop",
			     (int)it->klen, p->s + it->off);
	if (key_is(p, it, "rate")) {
		*rate_seen = true;
		if (item_uint(p, it, UINT32_MAX, &m->rate))
			return -1;
		if (!m->rate)
			return mfail(p, it->voff, "rate=0: a meter's rate must be at least 1");
		return 0;
	}
	if (key_is(p, it, "burst_size"))
		return item_uint(p, it, UINT32_MAX, &m->burst_size);
	if (key_is(p, it, "prec_level"))
		return mfail(p, it->off, "'prec_level' belongs to dscp_remark bands, "
			     "which are not supported");
	return mfail(p, it->off, "unknown band keyword '%.*s'", (int)it->klen,
		     p->s + it->off);
}

static int meter_item(struct mparser *p, const struct mitem *it, struct ofmeter *m,
		      bool *id_seen, bool *unit_seen)
{
	if (key_is(p, it, "meter")) {
		if (*id_seen)
			return mfail(p, it->off, "duplicate 'meter'");
		*id_seen = true;
		return parse_id(p, it, false, &m->meter_id);
	}
	if (it->has_val)
		return mfail(p, it->off, "unknown meter keyword '%.*s'", (int)it->klen,
			     p->s + it->off);
	if (key_is(p, it, "kbps") || key_is(p, it, "pktps")) {
		if (*unit_seen)
			return mfail(p, it->off, "kbps and pktps exclude each other");
		*unit_seen = true;
		m->kbps = key_is(p, it, "kbps");
		return 0;
	}
	if (key_is(p, it, "burst")) {
		m->burst = true;
		return 0;
	}
	if (key_is(p, it, "stats")) {
		m->stats = true;
		return 0;
	}
	return mfail(p, it->off, "unknown meter keyword '%.*s'", (int)it->klen,
		     p->s + it->off);
}

static int parse_pattern(struct mparser *p, struct ofmeter *out)
{
	size_t pos = 0;
	struct mitem it;
	bool seen = false;

	while (next_item(p, &pos, &it)) {
		if (!key_is(p, &it, "meter") || !it.has_val)
			return mfail(p, it.off, "unexpected '%.*s': only meter=N or "
				     "meter=all selects meters", (int)it.klen, p->s + it.off);
		if (seen)
			return mfail(p, it.off, "duplicate 'meter'");
		seen = true;
		if (parse_id(p, &it, true, &out->meter_id))
			return -1;
	}
	return 0;
}

char *meter_parse(const char *text, struct ofmeter *out, bool id_only)
{
	struct mparser p = { .s = text };
	bool id_seen = false, unit_seen = false, rate_seen = false, in_band = false;
	int n_bands = 0;
	size_t pos = 0;
	struct mitem it;

	memset(out, 0, sizeof(*out));
	if (id_only) {
		parse_pattern(&p, out);
		return p.err;
	}
	while (next_item(&p, &pos, &it)) {
		if (key_is(&p, &it, "bands") || key_is(&p, &it, "band")) {
			if (in_band)
				return mfail(&p, it.off, "duplicate 'bands='"), p.err;
			in_band = true;
			continue;
		}
		if (in_band ? band_item(&p, &it, out, &n_bands, &rate_seen) :
			      meter_item(&p, &it, out, &id_seen, &unit_seen))
			return p.err;
	}
	if (!id_seen)
		mfail(&p, strlen(text), "missing 'meter=N'");
	else if (!n_bands)
		mfail(&p, strlen(text), "missing 'bands=type=drop,rate=R'");
	else if (!rate_seen)
		mfail(&p, strlen(text), "missing 'rate=' in the band");
	return p.err;
}

char *meter_format(const struct ofmeter *m)
{
	char *s;

	if (asprintf(&s, "meter=%u,%s%s%s,bands=type=drop,rate=%u", m->meter_id,
		     m->kbps ? "kbps" : "pktps", m->burst ? ",burst" : "",
		     m->stats ? ",stats" : "", m->rate) < 0)
		return NULL;
	if (m->burst_size) {
		char *t;

		if (asprintf(&t, "%s,burst_size=%u", s, m->burst_size) < 0)
			t = NULL;
		free(s);
		s = t;
	}
	return s;
}

char *meter_format_config(const struct ofmeter *m)
{
	char burst[32] = "";
	char *s;

	if (m->burst_size)
		snprintf(burst, sizeof(burst), " burst_size=%u", m->burst_size);
	if (asprintf(&s, "meter=%u %s%s%sbands=\ntype=drop rate=%u%s", m->meter_id,
		     m->kbps ? "kbps " : "pktps ", m->burst ? "burst " : "",
		     m->stats ? "stats " : "", m->rate, burst) < 0)
		return NULL;
	return s;
}

void meter_limit(const struct ofmeter *m, uint64_t *rate, uint32_t *burst,
		 bool *bytes)
{
	*bytes = m->kbps;
	if (m->kbps) {
		*rate = (uint64_t)m->rate * 125;
		/* a burst above 4 GB is no limit worth keeping apart */
		*burst = (uint64_t)m->burst_size * 125 > UINT32_MAX ? UINT32_MAX :
			 m->burst_size * 125;
	} else {
		*rate = m->rate;
		/* nft's default for a packet limit when none is given */
		*burst = m->burst_size ? m->burst_size : 5;
	}
}

void meter_object_name(uint32_t id, char *buf, unsigned len)
{
	snprintf(buf, len, "meter_%u", id);
}
