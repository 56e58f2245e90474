/* The handler's counters, its verdict latency histogram, and the unix
 * socket that reports them (framing of src/ctlproto.h; request "stats"). */
#ifndef BRFLOW_DPI_STATS_H
#define BRFLOW_DPI_STATS_H

#include <stdint.h>
#include <stdio.h>

#define DPI_LAT_BUCKETS 512
#define DPI_NPROTOS 256

struct dpi_stats {
	uint64_t packets, bytes;
	uint64_t malformed;         /* failed dpi_pkt_parse: not inspected */
	uint64_t fragments;         /* non-first fragments: not inspected */
	uint64_t untracked;         /* no conntrack entry: nothing to label */
	uint64_t after_done;        /* packets of done connections (in flight) */
	uint64_t verdict_errors;    /* NLMSG_ERROR answers to verdicts */
	uint64_t label_writes, label_errors; /* ctnetlink label writes */
	const char *label_mode;     /* how labels reach the kernel */
	uint64_t socket_overruns;   /* ENOBUFS on a queue socket */
	uint64_t conns;             /* connections inspected */
	uint64_t classified, given_up;
	uint64_t evicted, expired, destroyed;
	uint64_t proto_packets[DPI_NPROTOS];  /* by rules/dpi.h id; 0 = none */
	uint64_t proto_conns[DPI_NPROTOS];
	uint64_t lat[DPI_LAT_BUCKETS];        /* ns, log-linear buckets */
};

void dpi_stats_latency(struct dpi_stats *s, uint64_t ns, uint64_t count);
/* The latency at quantile q (0..1), in ns (upper bound of its bucket). */
uint64_t dpi_stats_quantile(const struct dpi_stats *s, double q);

/* Sum of queue_dropped + user_dropped in /proc/net/netfilter/nfnetlink_queue
 * for queues lo..hi; -1 if unreadable. */
int64_t dpi_stats_queue_drops(uint16_t lo, uint16_t hi);

/* The report sent for "stats". */
void dpi_stats_format(const struct dpi_stats *s, FILE *f, uint16_t qlo,
		      uint16_t qhi, size_t active_conns, int n_hosts);

/* Listening socket at 'path' (an old socket file is replaced).  fd or -1. */
int dpi_stats_listen(const char *path);
/* Accepts one client and answers it (short timeouts: the packet loop waits
 * meanwhile). */
void dpi_stats_serve(int lfd, const struct dpi_stats *s, uint16_t qlo,
		     uint16_t qhi, size_t active_conns, int n_hosts);

#endif
