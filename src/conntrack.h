/* Conntrack access through libnetfilter_conntrack. */
#ifndef BRFLOW_CONNTRACK_H
#define BRFLOW_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../rules/ct_tuple.h"

/* Writes one line per committed connection (ct mark bit 31 set) in the
 * format of `ovs-appctl dpctl/dump-conntrack`, e.g.
 * tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=39082,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=39082),zone=1,mark=1,protoinfo=(state=ESTABLISHED)
 * zone=/mark=/labels= only when non-zero; mark without brflow's bit 31.
 * zone < 0: all zones.  'how' adds, as dpctl's -m and -s do:
 * CT_DUMP_MORE the id, status bits, the TCP state per end with window
 * scales and flags, and an expected connection's parent; CT_DUMP_STATS
 * each direction's packets and bytes (when the kernel counts them),
 * the start time (when it stamps them) and the seconds left.  Returns 0
 * or -1 with err. */
#define CT_DUMP_MORE  1u
#define CT_DUMP_STATS 2u
int conntrack_dump(FILE *out, int zone, unsigned how, char *err, size_t errlen);

/* What `ovs-appctl dpctl/ct-stats-show [zone=N] [verbose]` prints of the
 * same connections: the total, then a count per protocol that has any
 * ("  TCP: 2"), and with 'verbose' the TCP ones per state
 * ("\t  [ESTABLISHED]=2").  zone < 0: all zones.  0 or -1 with err. */
int conntrack_stats(FILE *out, int zone, bool verbose, char *err, size_t errlen);

/* Which connections flush-conntrack deletes: those of one zone (zone < 0:
 * every zone) whose original and reply directions agree with the two
 * tuples (an empty tuple agrees with everything). */
struct ct_filter {
	int zone;
	struct ct_tuple orig, reply;
};

/* Deletes the connections 'f' selects (with no zone and empty tuples,
 * every connection, in one request).  0 or -1 with err. */
int conntrack_flush(const struct ct_filter *f, char *err, size_t errlen);

#endif
