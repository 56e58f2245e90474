/* When OpenFlow's timeouts remove a flow (flow_expiry.h). */
#include "flow_expiry.h"

struct flow_idle flow_idle_new(int64_t created_ms)
{
	return (struct flow_idle){ .packets = 0, .since_ms = created_ms,
				   .counted = true };
}

struct flow_idle flow_idle_unknown(int64_t now_ms)
{
	return (struct flow_idle){ .packets = 0, .since_ms = now_ms,
				   .counted = false };
}

void flow_idle_read(struct flow_idle *idle, uint64_t packets, int64_t now_ms)
{
	/* a count that went down (tables replaced behind brflowd's back)
	 * moved too */
	if (idle->counted && packets == idle->packets)
		return;
	idle->packets = packets;
	idle->since_ms = now_ms;
	idle->counted = true;
}

int64_t flow_hard_deadline(const struct flow *f, int64_t modified_ms)
{
	return f->hard_timeout ? modified_ms + f->hard_timeout * 1000LL : FLOW_NEVER;
}

int64_t flow_idle_deadline(const struct flow *f, const struct flow_idle *idle)
{
	return f->idle_timeout ? idle->since_ms + f->idle_timeout * 1000LL : FLOW_NEVER;
}

enum flow_expiry flow_expired(const struct flow *f, int64_t modified_ms,
			      const struct flow_idle *idle, int64_t now_ms)
{
	if (now_ms >= flow_hard_deadline(f, modified_ms))
		return FLOW_HARD_EXPIRED;
	/* without a reading the count may have moved: not idle yet */
	if (idle->counted && now_ms >= flow_idle_deadline(f, idle))
		return FLOW_IDLE_EXPIRED;
	return FLOW_LIVES;
}
