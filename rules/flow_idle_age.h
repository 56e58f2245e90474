/* idle_age, as ovs-ofctl dump-flows prints it: how long a flow has not
 * counted a packet.  nftables counters carry no time of last use, so each
 * reading of a bridge's counters (dump-flows, dump-aggregate) is compared
 * with the one before: a count that moved restarts the flow's clock at this
 * reading, and a flow that never counted a packet is idle since it was
 * added.  Between two readings nothing tells when the count moved, so the
 * age can be short by up to the time between them, never long: a flow it
 * calls idle for an hour has counted nothing for at least an hour. */
#ifndef BRFLOW_FLOW_IDLE_AGE_H
#define BRFLOW_FLOW_IDLE_AGE_H

#include <stdint.h>

/* One flow in a reading.  id and created_ms name the flow together: ids
 * start again at 1 when a bridge is created anew. */
struct idle_age_reading {
	uint64_t id;
	int64_t created_ms;
	uint64_t packets;
};

/* One bridge's last reading (zero-initialised: none yet). */
struct idle_ages {
	int n;
	struct idle_age_mark *marks; /* by id, ascending */
};

/* Takes a reading of the n flows in r at now_ms (wall clock, ms) and puts
 * each flow's idle age in ms into age_ms[i]; the reading replaces the
 * last, so flows that are gone are forgotten.  0, or -1 when out of
 * memory (the last reading stays). */
int idle_ages_read(struct idle_ages *ia, const struct idle_age_reading *r,
		   int n, int64_t now_ms, int64_t *age_ms);
void idle_ages_free(struct idle_ages *ia);

#endif
