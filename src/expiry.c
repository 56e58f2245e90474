/* brflowd's flow expiry (expiry.h). */
#include "expiry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../rules/flow_expiry.h"
#include "../rules/flow_idle_clocks.h"
#include "commands.h"
#include "log.h"

/* A bridge is looked at (counters read, flows deleted) at most once a
 * second: Open vSwitch expires flows about once a second too, reading the
 * counters of 100 000 flows takes about 0.2 s, and flows that expire
 * within a second leave in one transaction. */
#define PASS_GAP_MS 1000
/* After a pass that failed (the kernel or the disk refused), the next one
 * waits, twice as long each time up to BACKOFF_MAX_MS. */
#define BACKOFF_MIN_MS 2000
#define BACKOFF_MAX_MS 300000
/* While flows have timeouts the loop wakes at least this often: deadlines
 * are wall-clock times (they survive restarts), and a jump of the clock
 * then delays an expiry by no more. */
#define MAX_WAIT_MS 60000

struct expiry_bridge {
	char name[16];
	struct idle_clocks clocks; /* of the flows with idle_timeout */
	int64_t next_pass;       /* monotonic ms: no pass before then */
	int64_t backoff_ms;      /* after a failed pass; 0 when the last worked */
	bool seen;
};

struct expiry {
	int n;
	struct expiry_bridge *bridges;
};

/* The earliest deadlines of a bridge's flows. */
struct due {
	int64_t hard, idle;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct expiry *expiry_new(void)
{
	return calloc(1, sizeof(struct expiry));
}

void expiry_free(struct expiry *ex)
{
	if (!ex)
		return;
	for (int i = 0; i < ex->n; i++)
		idle_clocks_free(&ex->bridges[i].clocks);
	free(ex->bridges);
	free(ex);
}

/* The record of bridge 'name', made when missing; NULL when out of memory. */
static struct expiry_bridge *record(struct expiry *ex, const char *name)
{
	struct expiry_bridge *arr;

	for (int i = 0; i < ex->n; i++)
		if (!strcmp(ex->bridges[i].name, name))
			return &ex->bridges[i];
	arr = realloc(ex->bridges, sizeof(*arr) * (ex->n + 1));
	if (!arr)
		return NULL;
	ex->bridges = arr;
	memset(&arr[ex->n], 0, sizeof(*arr));
	snprintf(arr[ex->n].name, sizeof(arr->name), "%s", name);
	return &arr[ex->n++];
}

/* Forgets the bridges that are gone (del-br): a bridge made again with
 * the name starts with no clocks. */
static void sync_bridges(struct expiry *ex, const struct st_state *st)
{
	int kept = 0;

	for (int i = 0; i < ex->n; i++)
		ex->bridges[i].seen = false;
	for (int i = 0; i < st->n_bridges; i++) {
		for (int k = 0; k < ex->n; k++)
			if (!strcmp(ex->bridges[k].name, st->bridges[i]->name))
				ex->bridges[k].seen = true;
	}
	for (int i = 0; i < ex->n; i++) {
		if (ex->bridges[i].seen)
			ex->bridges[kept++] = ex->bridges[i];
		else
			idle_clocks_free(&ex->bridges[i].clocks);
	}
	ex->n = kept;
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The idle clock of sf: its own, or a new flow's (none yet: it was added
 * after the last reading, and its counter started at 0). */
static struct flow_idle idle_of(const struct expiry_bridge *eb,
				const struct st_flow *sf)
{
	const struct flow_idle *c = idle_clocks_find(&eb->clocks, sf->id,
						     sf->counters_ms);

	return c ? *c : flow_idle_new(sf->counters_ms);
}

static void next_deadlines(const struct expiry_bridge *eb,
			   const struct st_bridge *b, struct due *d)
{
	d->hard = d->idle = FLOW_NEVER;
	for (int i = 0; i < b->n_flows; i++) {
		const struct st_flow *sf = &b->flows[i];
		int64_t t;

		if (sf->flow.hard_timeout) {
			t = flow_hard_deadline(&sf->flow, sf->modified_ms);
			if (t < d->hard)
				d->hard = t;
		}
		if (sf->flow.idle_timeout) {
			struct flow_idle idle = idle_of(eb, sf);

			t = flow_idle_deadline(&sf->flow, &idle);
			if (t < d->idle)
				d->idle = t;
		}
	}
}

/* Gives every flow of b with idle_timeout a clock, dropping the clocks of
 * flows that are gone.  'packets' (by flow index, or NULL) is a reading of
 * the counters at 'now'; a flow without a clock starts from 'fresh' when
 * given (brflowd just started), else as a new flow.  0 or -1 (ENOMEM). */
static int remark(struct expiry_bridge *eb, const struct st_bridge *b,
		  const uint64_t *packets, int64_t now, const struct flow_idle *fresh)
{
	struct idle_clock_flow *timed = calloc(b->n_flows + 1, sizeof(*timed));
	int n = 0, rc;

	if (!timed)
		return -1;
	for (int i = 0; i < b->n_flows; i++)
		if (b->flows[i].flow.idle_timeout)
			timed[n++] = (struct idle_clock_flow){ b->flows[i].id,
				b->flows[i].counters_ms, packets ? packets[i] : 0 };
	rc = idle_clocks_update(&eb->clocks, timed, n, packets != NULL, now, fresh,
				NULL);
	free(timed);
	return rc;
}

/* remark with a reading of b's counters taken now, which idle_age gets
 * too. */
static char *read_and_remark(struct expiry_bridge *eb, const struct st_bridge *b,
			     int64_t now, const struct flow_idle *fresh)
{
	uint64_t *pk = calloc(b->n_flows + 1, sizeof(*pk));
	uint64_t *by = calloc(b->n_flows + 1, sizeof(*by));
	char *err = NULL;

	if (!pk || !by)
		err = strdup("out of memory");
	else if (!st_read_stats(b, pk, by, &err)) {
		if (remark(eb, b, pk, now, fresh))
			err = strdup("out of memory");
		else	/* dump-flows' idle_age learns from it too */
			err = commands_note_reading(b, pk, now);
	}
	free(pk);
	free(by);
	return err;
}

void expiry_start(struct expiry *ex, struct st_state *st)
{
	int64_t now = st_now_ms();
	struct flow_idle fresh = flow_idle_unknown(now);

	sync_bridges(ex, st);
	for (int i = 0; i < st->n_bridges; i++) {
		const struct st_bridge *b = st->bridges[i];
		struct expiry_bridge *eb = record(ex, b->name);
		struct due d;
		char *err;

		if (!eb)
			continue;
		next_deadlines(eb, b, &d);
		if (d.idle == FLOW_NEVER)
			continue;
		err = read_and_remark(eb, b, now, &fresh);
		if (!err)
			continue;
		/* the first pass's reading starts their clocks instead */
		log_warn("bridge %s: idle timeouts: %s", b->name, err);
		free(err);
		remark(eb, b, NULL, now, &fresh);
	}
}

/* One log line for a flow that expired, made while the flow exists. */
static char *expiry_line(const struct st_bridge *b, const struct st_flow *sf,
			 enum flow_expiry why, const struct flow_idle *idle,
			 int64_t now)
{
	char *text = flow_format(&sf->flow), *line;
	int64_t ms = now - (why == FLOW_HARD_EXPIRED ? sf->modified_ms : idle->since_ms);

	if (!text)
		return NULL;
	if (asprintf(&line, "bridge %s: %s expired (%s %" PRId64 ".%03d s%s): table=%u,%s",
		     b->name, why == FLOW_HARD_EXPIRED ? "hard_timeout" : "idle_timeout",
		     why == FLOW_HARD_EXPIRED ? (sf->modified_ms != sf->created_ms ?
						 "modified" : "added") : "no packet seen for",
		     ms / 1000, (int)(ms % 1000), why == FLOW_HARD_EXPIRED ? " ago" : "",
		     sf->flow.table, text) < 0)
		line = NULL;
	free(text);
	return line;
}

/* Deletes the flows of bridge i that expired at 'now', in one transaction,
 * and logs them.  NULL or a malloc'd error (nothing deleted). */
static char *expire(struct expiry_bridge *eb, struct st_state *st, int i,
		    int64_t now)
{
	const struct st_bridge *b = st->bridges[i];
	uint64_t *ids = calloc(b->n_flows + 1, sizeof(*ids));
	char **lines = calloc(b->n_flows + 1, sizeof(*lines));
	char *err = NULL;
	int n = 0;

	if (!ids || !lines) {
		err = strdup("out of memory");
		goto out;
	}
	for (int k = 0; k < b->n_flows; k++) {
		const struct st_flow *sf = &b->flows[k];
		struct flow_idle idle = idle_of(eb, sf);
		enum flow_expiry why = flow_expired(&sf->flow, sf->modified_ms, &idle, now);

		if (why == FLOW_LIVES)
			continue;
		ids[n] = sf->id;
		lines[n++] = expiry_line(b, sf, why, &idle, now);
	}
	if (!n)
		goto out;
	qsort(ids, n, sizeof(*ids), id_cmp);
	err = commands_del_flow_ids(st, eb->name, ids, n);
	for (int k = 0; !err && k < n; k++)
		log_info("%s", lines[k] ? lines[k] : "a flow expired (out of memory)");
out:
	for (int k = 0; lines && k < n; k++)
		free(lines[k]);
	free(lines);
	free(ids);
	return err;
}

static int64_t backoff(struct expiry_bridge *eb)
{
	eb->backoff_ms = eb->backoff_ms ? eb->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (eb->backoff_ms > BACKOFF_MAX_MS)
		eb->backoff_ms = BACKOFF_MAX_MS;
	return eb->backoff_ms;
}

/* Looks at bridge i now: reads its counters when an idle deadline came
 * due, then deletes what expired. */
static void pass(struct expiry_bridge *eb, struct st_state *st, int i)
{
	const struct st_bridge *b = st->bridges[i];
	int64_t now = st_now_ms();
	struct due d;
	char *err;

	next_deadlines(eb, b, &d);
	if (d.idle <= now)
		err = read_and_remark(eb, b, now, NULL);
	else
		err = remark(eb, b, NULL, now, NULL) ? strdup("out of memory") : NULL;
	if (!err)
		err = expire(eb, st, i, now);
	if (!err) {
		eb->backoff_ms = 0;
		eb->next_pass = mono_ms() + PASS_GAP_MS;
		return;
	}
	eb->next_pass = mono_ms() + backoff(eb);
	log_err("bridge %s: expiring flows: %s; trying again in %" PRId64 " s",
		eb->name, err, eb->backoff_ms / 1000);
	free(err);
}

/* ms until bridge b's next pass: 0 when due, -1 when no flow of it has a
 * timeout. */
static int64_t bridge_wait(const struct expiry_bridge *eb, const struct st_bridge *b)
{
	struct due d;
	int64_t at, wait, gap;

	next_deadlines(eb, b, &d);
	at = d.hard < d.idle ? d.hard : d.idle;
	if (at == FLOW_NEVER)
		return -1;
	wait = at - st_now_ms();
	gap = eb->next_pass - mono_ms();
	if (gap > wait)
		wait = gap;
	return wait > 0 ? wait : 0;
}

int expiry_run(struct expiry *ex, struct st_state *st)
{
	int64_t wait = -1;

	sync_bridges(ex, st);
	for (int i = 0; i < st->n_bridges; i++) {
		struct expiry_bridge *eb = record(ex, st->bridges[i]->name);
		int64_t w;

		if (!eb)
			continue;
		w = bridge_wait(eb, st->bridges[i]);
		if (!w) {
			/* the bridge may be replaced: index i stays */
			pass(eb, st, i);
			w = bridge_wait(eb, st->bridges[i]);
		}
		if (w >= 0 && (wait < 0 || w < wait))
			wait = w;
	}
	return wait > MAX_WAIT_MS ? MAX_WAIT_MS : (int)wait;
}
