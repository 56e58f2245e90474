/* OpenFlow's timeouts (rules/flow_expiry.h): the hard and idle deadlines,
 * the idle clock restarted by a counter that moved, a count brflowd has
 * not read yet, and which timeout a flow that passed both expired by; and
 * the idle clocks brflowd keeps per bridge (rules/flow_idle_clocks.h) for
 * the expiry and dump-flows' idle_age.  Times are milliseconds, as brflowd
 * keeps them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/flow_expiry.h"
#include "../../rules/flow_idle_clocks.h"

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

/* One bridge's idle clocks (rules/flow_idle_clocks.h), which the expiry
 * and dump-flows' idle_age keep: a flow that never counted is idle since
 * it was added, a count that moved restarts the clock at the reading that
 * saw it, flows that left are forgotten, a bridge created anew (same ids,
 * other creation times) starts afresh; without a reading clocks are only
 * kept or started, from 'fresh' when given. */
static void check_idle_clocks(void)
{
	struct idle_clocks ic = { 0 };
	struct flow_idle fresh = flow_idle_unknown(20000);
	int64_t since[3];
	/* ids out of order, as replace-flows can leave a bridge's flows */
	struct idle_clock_flow f[3] = {
		{ .id = 7, .counters_ms = 1000, .packets = 0 },
		{ .id = 2, .counters_ms = 1000, .packets = 5 },
		{ .id = 4, .counters_ms = 3000, .packets = 0 },
	};

	check_i64("first reading succeeds", 0,
		  idle_clocks_update(&ic, f, 3, true, 5000, NULL, since));
	check_i64("a flow that never counted is idle since it was added", 1000, since[0]);
	check_i64("a count seen for the first time restarts the clock now", 5000, since[1]);
	check_i64("a younger flow that never counted: since its creation", 3000, since[2]);

	f[0].packets = 1;
	check_i64("second reading succeeds", 0,
		  idle_clocks_update(&ic, f, 3, true, 9000, NULL, since));
	check_i64("a count that moved restarts the clock at this reading", 9000, since[0]);
	check_i64("a count that stayed keeps its clock", 5000, since[1]);
	check_i64("find gives the clock by id and counters' start", 5000,
		  idle_clocks_find(&ic, 2, 1000)->since_ms);
	check_i64("...and none for another start", 1,
		  idle_clocks_find(&ic, 2, 1001) == NULL);

	/* flow 2 leaves; flow 7 stays; flow 4 is a new flow of a bridge
	 * created anew (same id, another creation time) */
	f[1] = (struct idle_clock_flow){ .id = 4, .counters_ms = 10000, .packets = 3 };
	check_i64("third reading succeeds", 0,
		  idle_clocks_update(&ic, f, 2, true, 12000, NULL, since));
	check_i64("flow 7 keeps the clock of the reading that saw it move", 9000, since[0]);
	check_i64("a new flow with a reused id is not the old one: moved, now", 12000, since[1]);
	f[1] = (struct idle_clock_flow){ .id = 2, .counters_ms = 1000, .packets = 5 };
	check_i64("fourth reading succeeds", 0,
		  idle_clocks_update(&ic, f, 2, true, 13000, NULL, since));
	check_i64("a flow that left is forgotten: back with a count, its clock starts now",
		  13000, since[1]);

	/* without a reading (the expiry between two): kept, or started */
	f[2] = (struct idle_clock_flow){ .id = 9, .counters_ms = 14000 };
	check_i64("an update without a reading succeeds", 0,
		  idle_clocks_update(&ic, f, 3, false, 15000, NULL, since));
	check_i64("...keeps a clock as it was", 9000, since[0]);
	check_i64("...starts a new flow's at its creation", 14000, since[2]);
	f[2].id = 10;
	check_i64("with fresh (brflowd just started)", 0,
		  idle_clocks_update(&ic, f, 3, false, 20000, &fresh, since));
	check_i64("...a flow without a clock starts from it", 20000, since[2]);
	check_i64("...not counted yet", 0, idle_clocks_find(&ic, 10, 14000)->counted);
	check_i64("...while a flow with one keeps it", 9000, since[0]);

	check_i64("an empty update succeeds", 0,
		  idle_clocks_update(&ic, f, 0, true, 21000, NULL, NULL));
	check_i64("...and forgets every flow", 0, ic.n);
	idle_clocks_free(&ic);
}

int main(void)
{
	check_none();
	check_hard();
	check_idle();
	check_unknown();
	check_both();
	check_idle_clocks();
	return failures ? 1 : 0;
}
