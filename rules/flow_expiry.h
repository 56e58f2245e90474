/* When OpenFlow's timeouts remove a flow (brflow-flows(7), TIMEOUTS): a
 * flow with hard_timeout=N goes N seconds after it was added, one with
 * idle_timeout=N once its packet counter has not moved for N seconds.
 * Pure arithmetic on wall-clock milliseconds; brflowd's src/expiry.c reads
 * the counters and deletes the flows. */
#ifndef BRFLOW_FLOW_EXPIRY_H
#define BRFLOW_FLOW_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

/* The deadline of a flow without one. */
#define FLOW_NEVER INT64_MAX

/* What brflowd knows of a flow's packet counter.  brflowd cannot see when
 * a packet matched, only that the count moved between two readings, so
 * the idle clock starts at the reading that saw it move. */
struct flow_idle {
	uint64_t packets;  /* the count at the last reading */
	int64_t since_ms;  /* when the count was first seen at that value */
	bool counted;      /* false: no reading yet to compare with */
};

/* The idle clock of a flow just added: its counter starts at 0. */
struct flow_idle flow_idle_new(int64_t created_ms);
/* The idle clock of a flow whose count is not known yet (brflowd just
 * started): it runs from 'now_ms', and the first reading restarts it. */
struct flow_idle flow_idle_unknown(int64_t now_ms);
/* Takes a reading of the counter at 'now_ms': a count that moved (or the
 * first one) restarts the idle clock. */
void flow_idle_read(struct flow_idle *idle, uint64_t packets, int64_t now_ms);

/* modified_ms + hard_timeout, or FLOW_NEVER without one.  As in OVS, the
 * hard timeout counts from the flow's last modification (mod-flows), or
 * from its creation. */
int64_t flow_hard_deadline(const struct flow *f, int64_t modified_ms);
/* The idle clock's start + idle_timeout, or FLOW_NEVER without one. */
int64_t flow_idle_deadline(const struct flow *f, const struct flow_idle *idle);

enum flow_expiry {
	FLOW_LIVES,
	FLOW_HARD_EXPIRED,
	FLOW_IDLE_EXPIRED,
};

/* Whether f has expired at 'now_ms' (at its deadline or later), and by
 * which timeout; hard first when both passed.  An idle verdict is only as
 * fresh as the last flow_idle_read: read the counter first. */
enum flow_expiry flow_expired(const struct flow *f, int64_t modified_ms,
			      const struct flow_idle *idle, int64_t now_ms);

#endif
