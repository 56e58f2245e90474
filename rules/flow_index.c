/* A hash index of flows by rule (rules/flow_index.h). */
#include "flow_index.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* Eight bytes a step: hashing is most of a 100 000-flow merge. */
static uint64_t mix_bytes(uint64_t h, const uint8_t *b, int n)
{
	for (; n > 0; b += 8, n -= 8) {
		uint64_t w = 0;

		memcpy(&w, b, n < 8 ? (size_t)n : 8);
		h = mix(h, w);
	}
	return h;
}

/* Hashes exactly what flow_same_rule compares. */
static uint64_t rule_hash(const struct flow *f)
{
	uint64_t h = mix(0xcbf29ce484222325ull,
			 (uint64_t)f->table << 32 | f->priority);

	for (int i = 0; i < f->n_matches; i++) {
		const struct flow_match *m = &f->matches[i];
		int w = field_info(m->field)->width;

		h = mix(h, (uint64_t)m->field);
		h = mix_bytes(h, m->value, w);
		h = mix_bytes(h, m->mask, w);
	}
	for (const char *p = f->dpi_host; p && *p; p++)
		h = mix(h, (uint8_t)tolower((unsigned char)*p));
	return h;
}

int flow_index_init(struct flow_index *ix, int n)
{
	size_t cap = 16;

	while (cap < (size_t)n * 2)
		cap *= 2;
	ix->cap = cap;
	ix->flow = calloc(cap, sizeof(*ix->flow));
	ix->val = calloc(cap, sizeof(*ix->val));
	if (!ix->flow || !ix->val) {
		flow_index_free(ix);
		return -1;
	}
	return 0;
}

void flow_index_free(struct flow_index *ix)
{
	free(ix->flow);
	free(ix->val);
	memset(ix, 0, sizeof(*ix));
}

static size_t slot_of(const struct flow_index *ix, const struct flow *f)
{
	size_t s = rule_hash(f) & (ix->cap - 1);

	while (ix->flow[s] && !flow_same_rule(ix->flow[s], f))
		s = (s + 1) & (ix->cap - 1);
	return s;
}

int flow_index_get(const struct flow_index *ix, const struct flow *f)
{
	size_t s;

	if (!ix->cap)
		return -1;
	s = slot_of(ix, f);
	return ix->flow[s] ? ix->val[s] : -1;
}

void flow_index_put(struct flow_index *ix, const struct flow *f, int val)
{
	size_t s = slot_of(ix, f);

	ix->flow[s] = f;
	ix->val[s] = val;
}

int flow_index_swap(struct flow_index *ix, const struct flow *f, int val)
{
	size_t s = slot_of(ix, f);
	int old = ix->flow[s] ? ix->val[s] : -1;

	ix->flow[s] = f;
	ix->val[s] = val;
	return old;
}
