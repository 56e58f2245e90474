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
	ix->slot = calloc(cap, sizeof(*ix->slot));
	if (!ix->slot) {
		flow_index_free(ix);
		return -1;
	}
	return 0;
}

void flow_index_free(struct flow_index *ix)
{
	free(ix->slot);
	memset(ix, 0, sizeof(*ix));
}

/* f's slot (filled with f's rule, or the empty one to put it in); a slot
 * holds its flow's hash, so other flows are not read. */
static struct flow_index_slot *slot_of(const struct flow_index *ix,
				       const struct flow *f, uint64_t hash)
{
	size_t s = hash & (ix->cap - 1);

	while (ix->slot[s].flow && (ix->slot[s].hash != (uint32_t)(hash >> 32) ||
				    !flow_same_rule(ix->slot[s].flow, f)))
		s = (s + 1) & (ix->cap - 1);
	return &ix->slot[s];
}

uint64_t flow_index_hash(const struct flow *f)
{
	return rule_hash(f);
}

int flow_index_get_hashed(const struct flow_index *ix, const struct flow *f,
			  uint64_t hash)
{
	struct flow_index_slot *s;

	if (!ix->cap)
		return -1;
	s = slot_of(ix, f, hash);
	return s->flow ? s->val : -1;
}

int flow_index_get(const struct flow_index *ix, const struct flow *f)
{
	return ix->cap ? flow_index_get_hashed(ix, f, rule_hash(f)) : -1;
}

int flow_index_swap_hashed(struct flow_index *ix, const struct flow *f,
			   uint64_t hash, int val)
{
	struct flow_index_slot *s = slot_of(ix, f, hash);
	int old = s->flow ? s->val : -1;

	s->flow = f;
	s->hash = (uint32_t)(hash >> 32);
	s->val = val;
	return old;
}

void flow_index_put(struct flow_index *ix, const struct flow *f, int val)
{
	flow_index_swap(ix, f, val);
}

int flow_index_swap(struct flow_index *ix, const struct flow *f, int val)
{
	return flow_index_swap_hashed(ix, f, rule_hash(f), val);
}
