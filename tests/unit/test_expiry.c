/* OpenFlow's timeouts (rules/flow_expiry.h): the hard and idle deadlines,
 * the idle clock restarted by a counter that moved, a count brflowd has
 * not read yet, and which timeout a flow that passed both expired by; and
 * dump-flows' idle_age (rules/flow_idle_age.h), which keeps idle clocks
 * the same way.  Times are milliseconds, as brflowd keeps them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/flow_expiry.h"
#include "../../rules/flow_idle_age.h"

static int failures;

static void check_i64(const char *name, int64_t want, int64_t got)
{
	if (want == got) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s: expected %" PRId64 ", got %" PRId64 "\n", name, want, got);
	failures++;
}

static const char *const verdicts[] = { "lives", "hard-expired", "idle-expired" };

static void check_verdict(const char *name, enum flow_expiry want, enum flow_expiry got)
{
	if (want == got) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s: expected %s, got %s\n", name, verdicts[want], verdicts[got]);
	failures++;
}

static struct flow timed(uint16_t idle, uint16_t hard)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.idle_timeout = idle;
	f.hard_timeout = hard;
	return f;
}

static void check_none(void)
{
	struct flow f = timed(0, 0);
	struct flow_idle idle = flow_idle_new(1000);

	check_i64("no hard_timeout: no hard deadline", FLOW_NEVER, flow_hard_deadline(&f, 1000));
	check_i64("no idle_timeout: no idle deadline", FLOW_NEVER, flow_idle_deadline(&f, &idle));
	check_verdict("a flow without timeouts never expires", FLOW_LIVES,
		      flow_expired(&f, 1000, &idle, INT64_MAX - 1));
}

static void check_hard(void)
{
	struct flow f = timed(0, 3), big = timed(0, 65535);
	struct flow_idle idle = flow_idle_new(1000);

	check_i64("hard deadline: added + hard_timeout", 4000, flow_hard_deadline(&f, 1000));
	check_verdict("lives a millisecond before it", FLOW_LIVES, flow_expired(&f, 1000, &idle, 3999));
	check_verdict("expires at it", FLOW_HARD_EXPIRED, flow_expired(&f, 1000, &idle, 4000));
	/* traffic does not matter to a hard timeout */
	flow_idle_read(&idle, 77, 3900);
	check_verdict("expires at it whatever the counter did", FLOW_HARD_EXPIRED,
		      flow_expired(&f, 1000, &idle, 4000));
	check_i64("65535 s in milliseconds, without overflow",
		  1795000000000LL + 65535000LL, flow_hard_deadline(&big, 1795000000000LL));
}

static void check_idle(void)
{
	struct flow f = timed(3, 0);
	struct flow_idle idle = flow_idle_new(1000);

	check_i64("a new flow's idle clock runs from when it was added", 4000,
		  flow_idle_deadline(&f, &idle));
	flow_idle_read(&idle, 0, 4000);
	check_i64("a count still at 0 leaves the clock alone", 4000,
		  flow_idle_deadline(&f, &idle));
	check_verdict("no packet for idle_timeout: expired", FLOW_IDLE_EXPIRED,
		      flow_expired(&f, 1000, &idle, 4000));

	idle = flow_idle_new(1000);
	flow_idle_read(&idle, 5, 3500);
	check_i64("a count that moved restarts the clock at the reading", 6500,
		  flow_idle_deadline(&f, &idle));
	check_verdict("...so the flow lives on past the first deadline", FLOW_LIVES,
		      flow_expired(&f, 1000, &idle, 4000));
	flow_idle_read(&idle, 5, 6500);
	check_verdict("no packet since that reading: expired at the new deadline",
		      FLOW_IDLE_EXPIRED, flow_expired(&f, 1000, &idle, 6500));
	flow_idle_read(&idle, 4, 6500);
	check_i64("a count that went down moved too", 9500, flow_idle_deadline(&f, &idle));
}

/* brflowd restarted: the counts of its restored flows are read before the
 * clock can tell anything */
static void check_unknown(void)
{
	struct flow f = timed(3, 0);
	struct flow_idle idle = flow_idle_unknown(10000);

	check_i64("an unread count: the clock runs from the restart", 13000,
		  flow_idle_deadline(&f, &idle));
	check_verdict("...but without a reading the flow is not idle", FLOW_LIVES,
		      flow_expired(&f, 0, &idle, 20000));
	flow_idle_read(&idle, 42, 13000);
	check_i64("the first reading restarts the clock", 16000, flow_idle_deadline(&f, &idle));
	flow_idle_read(&idle, 42, 16000);
	check_verdict("then the same count N s later is idle", FLOW_IDLE_EXPIRED,
		      flow_expired(&f, 0, &idle, 16000));
}

static void check_both(void)
{
	struct flow f = timed(2, 5);
	struct flow_idle idle = flow_idle_new(1000);

	check_verdict("idle first when it comes first", FLOW_IDLE_EXPIRED,
		      flow_expired(&f, 1000, &idle, 3000));
	flow_idle_read(&idle, 1, 3000);
	flow_idle_read(&idle, 2, 5000);
	check_verdict("kept alive by traffic until the hard deadline", FLOW_LIVES,
		      flow_expired(&f, 1000, &idle, 5999));
	check_verdict("hard when both passed", FLOW_HARD_EXPIRED,
		      flow_expired(&f, 1000, &idle, 9000));
}

/* dump-flows' idle_age (rules/flow_idle_age.h): a flow that never counted
 * is idle since it was added, a count that moved restarts the clock at the
 * reading that saw it, flows that left are forgotten, a bridge created
 * anew (same ids, other creation times) starts afresh. */
static void check_idle_age(void)
{
	struct idle_ages ia = { 0 };
	int64_t age[3];
	/* ids out of order, as replace-flows can leave a bridge's flows */
	struct idle_age_reading r[3] = {
		{ .id = 7, .created_ms = 1000, .packets = 0 },
		{ .id = 2, .created_ms = 1000, .packets = 5 },
		{ .id = 4, .created_ms = 3000, .packets = 0 },
	};

	check_i64("first reading succeeds", 0, idle_ages_read(&ia, r, 3, 5000, age));
	check_i64("a flow that never counted is idle since it was added", 4000, age[0]);
	check_i64("a count seen for the first time restarts the clock now", 0, age[1]);
	check_i64("a younger flow that never counted: its own age", 2000, age[2]);

	r[0].packets = 1;
	check_i64("second reading succeeds", 0, idle_ages_read(&ia, r, 3, 9000, age));
	check_i64("a count that moved restarts the clock at this reading", 0, age[0]);
	check_i64("a count that stayed keeps its clock", 4000, age[1]);
	check_i64("a flow that still never counted: its age", 6000, age[2]);

	/* flow 2 leaves; flow 7 stays; flow 4 is a new flow of a bridge
	 * created anew (same id, another creation time) */
	r[1] = (struct idle_age_reading){ .id = 4, .created_ms = 10000, .packets = 3 };
	check_i64("third reading succeeds", 0, idle_ages_read(&ia, &r[0], 2, 12000, age));
	check_i64("flow 7 idle since the reading that saw it move", 3000, age[0]);
	check_i64("a new flow with a reused id is not the old one: moved, so 0", 0, age[1]);
	r[1] = (struct idle_age_reading){ .id = 2, .created_ms = 1000, .packets = 5 };
	check_i64("fourth reading succeeds", 0, idle_ages_read(&ia, r, 2, 13000, age));
	check_i64("a flow that left is forgotten: back with a count, its clock starts now",
		  0, age[1]);
	check_i64("a wall clock that went back gives 0, not a negative age", 0,
		  (idle_ages_read(&ia, r, 2, 500, age), age[0]));

	check_i64("an empty reading succeeds", 0, idle_ages_read(&ia, r, 0, 14000, age));
	check_i64("...and forgets every flow", 0, ia.n);
	idle_ages_free(&ia);
}

int main(void)
{
	check_none();
	check_hard();
	check_idle();
	check_unknown();
	check_both();
	check_idle_age();
	return failures ? 1 : 0;
}
