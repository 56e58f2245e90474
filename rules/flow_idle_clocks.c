/* One bridge's idle clocks (flow_idle_clocks.h). */
#include "flow_idle_clocks.h"

#include <stdlib.h>

struct idle_clock {
	uint64_t id;
	int64_t counters_ms;
	struct flow_idle idle;
};

static int clock_cmp(const void *a, const void *b)
{
	const struct idle_clock *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->counters_ms < y->counters_ms ? -1 : x->counters_ms > y->counters_ms;
}

const struct flow_idle *idle_clocks_find(const struct idle_clocks *ic,
					 uint64_t id, int64_t counters_ms)
{
	struct idle_clock key = { .id = id, .counters_ms = counters_ms };
	const struct idle_clock *c = ic->n ?
		bsearch(&key, ic->clocks, ic->n, sizeof(key), clock_cmp) : NULL;

	return c ? &c->idle : NULL;
}

int idle_clocks_update(struct idle_clocks *ic, const struct idle_clock_flow *f,
		       int n, bool reading, int64_t now_ms,
		       const struct flow_idle *fresh, int64_t *since_ms)
{
	struct idle_clock *clocks = calloc(n + 1, sizeof(*clocks));

	if (!clocks)
		return -1;
	for (int i = 0; i < n; i++) {
		const struct flow_idle *last = idle_clocks_find(ic, f[i].id,
								f[i].counters_ms);
		struct idle_clock *c = &clocks[i];

		*c = (struct idle_clock){ f[i].id, f[i].counters_ms,
			last ? *last : fresh ? *fresh : flow_idle_new(f[i].counters_ms) };
		if (reading)
			flow_idle_read(&c->idle, f[i].packets, now_ms);
		if (since_ms)
			since_ms[i] = c->idle.since_ms;
	}
	qsort(clocks, n, sizeof(*clocks), clock_cmp);
	free(ic->clocks);
	ic->clocks = clocks;
	ic->n = n;
	return 0;
}

void idle_clocks_free(struct idle_clocks *ic)
{
	free(ic->clocks);
	ic->clocks = NULL;
	ic->n = 0;
}
