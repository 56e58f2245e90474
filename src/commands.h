/* brflowd's commands: one handler per brflowctl command, with ovs-ofctl /
 * ovs-vsctl semantics.  A mutating command builds the new state of one
 * bridge as a copy and commits it through st_bridge_commit(), so a rejected
 * command changes nothing in the daemon or in the kernel. */
#ifndef BRFLOW_COMMANDS_H
#define BRFLOW_COMMANDS_H

#include "state.h"

/* Runs one request.  argv holds the global options (--bundle, --strict,
 * --no-stats), then the command and its arguments, as they came over the
 * control socket.  Returns 0 with *out the command's output, or -1 with
 * *out one line of error text (without the "brflowctl: CMD: " prefix).
 * *out is malloc'd in both cases. */
int commands_run(struct st_state *st, int argc, char **argv, char **out);

/* Deletes the flows of bridge 'bridge' whose ids are ids[0..n-1]
 * (ascending) as `brflowctl --strict del-flows` deletes a flow: set element
 * deletes where the optimiser allows, else a full commit, in one
 * transaction, the state file following.  NULL or a malloc'd one-line
 * error (nothing changed). */
char *commands_del_flow_ids(struct st_state *st, const char *bridge,
			    const uint64_t *ids, int n);

/* At start-up: loads every bridge of the state dir and brings it back into
 * the kernel (bridge, the ports whose interfaces exist, ruleset with the
 * counters it has now).  Failures are logged per bridge. */
void commands_restore(struct st_state *st);

/* At shutdown: a port that mod-port took down and that is up now (someone
 * brought it up by hand) loses its down bit, so that the next start does
 * not take it down again.  Never the other way: links may already be going
 * down with the host, which is no mod-port down. */
void commands_keep_ports_up(struct st_state *st);

/* A reading of all of b's flow counters (by flow index) taken at 'now'
 * elsewhere (the expiry): dump-flows' idle_age learns from it as from its
 * own.  NULL or a malloc'd error. */
char *commands_note_reading(const struct st_bridge *b, const uint64_t *packets,
			    int64_t now);

/* At exit: what the commands keep between requests (idle_age's readings). */
void commands_free(void);

#endif
