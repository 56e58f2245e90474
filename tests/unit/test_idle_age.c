/* idle_age for dump-flows (rules/flow_idle_age.h): a flow that never
 * counted is idle since it was added, a count that moved restarts the
 * clock at the reading that saw it, flows that left are forgotten, a
 * bridge created anew (same ids, other creation times) starts afresh.
 * Times are milliseconds, as brflowd keeps them. */
#include <inttypes.h>
#include <stdio.h>

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

int main(void)
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
	return failures ? 1 : 0;
}
