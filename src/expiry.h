/* brflowd's flow expiry: OpenFlow's hard_timeout and idle_timeout
 * (brflow-flows(7), TIMEOUTS; the arithmetic is rules/flow_expiry.h).
 * The event loop asks expiry_run how long it may sleep; expiry_run deletes
 * what is due, as `brflowctl --strict del-flows` would, one transaction
 * per bridge.  A bridge's counters are read only when an idle deadline
 * of one of its flows comes due, at most once a second. */
#ifndef BRFLOW_EXPIRY_H
#define BRFLOW_EXPIRY_H

#include "state.h"

struct expiry;

struct expiry *expiry_new(void);
void expiry_free(struct expiry *ex);

/* At start-up, after the bridges were restored: the idle clocks of their
 * flows start now, from the counters as they are (one reading per bridge
 * with such flows).  Hard deadlines need nothing: they count from when a
 * flow was added, which the state file keeps. */
void expiry_start(struct expiry *ex, struct st_state *st);

/* Deletes the flows whose timeouts have passed, reading the counters of a
 * bridge first when one of its idle deadlines came due, and logs each at
 * info level.  Returns how long the event loop may wait for the next
 * deadline, in ms: 0 or more, or -1 when no flow has a timeout. */
int expiry_run(struct expiry *ex, struct st_state *st);

#endif
