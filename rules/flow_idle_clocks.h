/* One bridge's idle clocks (struct flow_idle, flow_expiry.h), by flow:
 * what brflowd keeps between two readings of the bridge's counters, for
 * idle_timeout (src/expiry.c) and for dump-flows' idle_age.
 *
 * nftables counters carry no time of last use, so a reading is compared
 * with the clocks: a count that moved restarts the flow's clock at this
 * reading, and a flow added since the last one starts at its creation
 * with a count of 0.  Between two readings nothing tells when the count
 * moved, so a clock can start late by up to the time between them, never
 * early: a flow idle for an hour by its clock has counted nothing for at
 * least an hour. */
#ifndef BRFLOW_FLOW_IDLE_CLOCKS_H
#define BRFLOW_FLOW_IDLE_CLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "flow_expiry.h"

/* One flow's counters, and their count when there is a reading.  id and
 * counters_ms (when they started from 0) name them together: ids start
 * again at 1 when a bridge is created anew, and an add that keeps a
 * replaced flow's counters keeps both, so the clock goes on. */
struct idle_clock_flow {
	uint64_t id;
	int64_t counters_ms;
	uint64_t packets;
};

/* Zero-initialised: no clocks yet. */
struct idle_clocks {
	int n;
	struct idle_clock *clocks; /* by id, ascending */
};

/* The clock of counters (id, counters_ms), or NULL when they have none. */
const struct flow_idle *idle_clocks_find(const struct idle_clocks *ic,
					 uint64_t id, int64_t counters_ms);

/* Replaces the clocks by those of the n flows in f, so the clocks of flows
 * not in f are dropped.  A flow keeps its clock, or starts from *fresh
 * when fresh is given (brflowd just started: the count is not known),
 * else as a flow just added (flow_idle_new).  With a reading, each clock
 * then takes f[i].packets as read at now_ms (flow_idle_read).  since_ms,
 * when not NULL, gets each flow's clock start, by index in f.  0, or -1
 * when out of memory (the clocks stay as they were). */
int idle_clocks_update(struct idle_clocks *ic, const struct idle_clock_flow *f,
		       int n, bool reading, int64_t now_ms,
		       const struct flow_idle *fresh, int64_t *since_ms);
void idle_clocks_free(struct idle_clocks *ic);

#endif
