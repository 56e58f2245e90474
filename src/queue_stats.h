/* Egress queues' counters, as ovs-ofctl queue-stats reads them: queue N
 * of a port is the class 1:N+1 of its root qdisc 1: (the priority
 * set_queue and enqueue give its packets, rules/compile_emit.c). */
#ifndef BRFLOW_QUEUE_STATS_H
#define BRFLOW_QUEUE_STATS_H

#include <stddef.h>
#include <stdint.h>

struct queue_stat {
	uint32_t queue;
	uint64_t bytes, packets;
	uint64_t drops;  /* what OVS reports as errors */
};

/* The queues of interface 'ifname' (the classes 1:1 to 1:f000 of the
 * qdisc whose handle is 1:), sorted by queue, into a malloc'd *out.  An
 * interface without such classes has none (*n 0).  0, or -1 with err. */
int queue_stats_read(const char *ifname, struct queue_stat **out, int *n,
		     char *err, size_t errlen);

#endif
