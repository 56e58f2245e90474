/* idle_age for dump-flows (flow_idle_age.h). */
#include "flow_idle_age.h"

#include <stdlib.h>

#include "flow_expiry.h"

struct idle_age_mark {
	uint64_t id;
	int64_t created_ms;
	struct flow_idle idle;
};

static int mark_cmp(const void *a, const void *b)
{
	const struct idle_age_mark *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->created_ms < y->created_ms ? -1 : x->created_ms > y->created_ms;
}

static const struct idle_age_mark *last_mark(const struct idle_ages *ia,
					     const struct idle_age_reading *r)
{
	struct idle_age_mark key = { .id = r->id, .created_ms = r->created_ms };

	return ia->n ? bsearch(&key, ia->marks, ia->n, sizeof(key), mark_cmp) : NULL;
}

int idle_ages_read(struct idle_ages *ia, const struct idle_age_reading *r,
		   int n, int64_t now_ms, int64_t *age_ms)
{
	struct idle_age_mark *marks = calloc(n + 1, sizeof(*marks));

	if (!marks)
		return -1;
	for (int i = 0; i < n; i++) {
		const struct idle_age_mark *last = last_mark(ia, &r[i]);

		marks[i] = (struct idle_age_mark){ r[i].id, r[i].created_ms,
			last ? last->idle : flow_idle_new(r[i].created_ms) };
		flow_idle_read(&marks[i].idle, r[i].packets, now_ms);
		age_ms[i] = now_ms - marks[i].idle.since_ms;
		if (age_ms[i] < 0) /* the wall clock went back */
			age_ms[i] = 0;
	}
	qsort(marks, n, sizeof(*marks), mark_cmp);
	free(ia->marks);
	ia->marks = marks;
	ia->n = n;
	return 0;
}

void idle_ages_free(struct idle_ages *ia)
{
	free(ia->marks);
	ia->marks = NULL;
	ia->n = 0;
}
