/* Counters and the stats socket (dpi_stats.h). */
#include "dpi_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../rules/dpi.h"
#include "../src/ctlproto.h"
#include "../src/log.h"

/* 8 buckets per power of two: at most 12.5% error on a percentile. */
static unsigned lat_bucket(uint64_t v)
{
	unsigned msb;

	if (v < 8)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	return (msb - 2) * 8 + (unsigned)((v >> (msb - 3)) & 7);
}

static uint64_t lat_upper(unsigned idx)
{
	unsigned msb, sub;

	if (idx < 8)
		return idx;
	msb = idx / 8 + 2;
	sub = idx % 8;
	return ((uint64_t)(8 + sub) << (msb - 3)) + ((uint64_t)1 << (msb - 3)) - 1;
}

void dpi_stats_latency(struct dpi_stats *s, uint64_t ns, uint64_t count)
{
	unsigned b = lat_bucket(ns);

	if (b >= DPI_LAT_BUCKETS)
		b = DPI_LAT_BUCKETS - 1;
	s->lat[b] += count;
}

uint64_t dpi_stats_quantile(const struct dpi_stats *s, double q)
{
	uint64_t total = 0, seen = 0, want;

	for (int i = 0; i < DPI_LAT_BUCKETS; i++)
		total += s->lat[i];
	if (!total)
		return 0;
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (int i = 0; i < DPI_LAT_BUCKETS; i++) {
		seen += s->lat[i];
		if (seen > want)
			return lat_upper((unsigned)i);
	}
	return lat_upper(DPI_LAT_BUCKETS - 1);
}

int64_t dpi_stats_queue_drops(uint16_t lo, uint16_t hi)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	unsigned num, portid, total, mode, range;
	unsigned long long qd, ud;
	char line[256];
	int64_t sum = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %u %u %u %llu %llu", &num, &portid,
			   &total, &mode, &range, &qd, &ud) == 7 &&
		    num >= lo && num <= hi)
			sum += (int64_t)(qd + ud);
	fclose(f);
	return sum;
}

void dpi_stats_format(const struct dpi_stats *s, FILE *f, uint16_t qlo,
		      uint16_t qhi, size_t active_conns, int n_hosts)
{
	int64_t drops = dpi_stats_queue_drops(qlo, qhi);

	if (qlo == qhi)
		fprintf(f, "queues: %u\n", qlo);
	else
		fprintf(f, "queues: %u-%u\n", qlo, qhi);
	fprintf(f, "labels via: %s\n", s->label_mode ? s->label_mode : "verdict");
	fprintf(f, "host patterns: %d\n", n_hosts);
	fprintf(f, "packets: %" PRIu64 " (%" PRIu64 " bytes)\n", s->packets, s->bytes);
	fprintf(f, "packets after done: %" PRIu64 "\n", s->after_done);
	fprintf(f, "malformed packets: %" PRIu64 "\n", s->malformed);
	fprintf(f, "fragments: %" PRIu64 "\n", s->fragments);
	fprintf(f, "untracked packets: %" PRIu64 "\n", s->untracked);
	if (drops < 0)
		fprintf(f, "queue drops: unknown\n");
	else
		fprintf(f, "queue drops: %" PRId64 "\n", drops);
	fprintf(f, "verdict errors: %" PRIu64 "\n", s->verdict_errors);
	fprintf(f, "label writes: %" PRIu64 " (failed %" PRIu64 ")\n",
		s->label_writes, s->label_errors);
	fprintf(f, "socket overruns: %" PRIu64 "\n", s->socket_overruns);
	fprintf(f, "connections: %" PRIu64 " (active %zu)\n", s->conns, active_conns);
	fprintf(f, "connections classified: %" PRIu64 "\n", s->classified);
	fprintf(f, "connections given up: %" PRIu64 "\n", s->given_up);
	fprintf(f, "connections evicted: %" PRIu64 ", expired: %" PRIu64
		", destroyed: %" PRIu64 "\n", s->evicted, s->expired, s->destroyed);
	fprintf(f, "verdict latency us: p50 %.1f p90 %.1f p99 %.1f\n",
		dpi_stats_quantile(s, 0.50) / 1000.0,
		dpi_stats_quantile(s, 0.90) / 1000.0,
		dpi_stats_quantile(s, 0.99) / 1000.0);
	for (int i = 0; i < DPI_NPROTOS; i++) {
		const struct dpi_proto *p = dpi_proto_by_id((uint16_t)i);

		if (!s->proto_conns[i] && !s->proto_packets[i])
			continue;
		fprintf(f, "protocol %s: connections %" PRIu64 " packets %" PRIu64 "\n",
			i == 0 ? "none" : p ? p->name : "?", s->proto_conns[i],
			s->proto_packets[i]);
	}
}

int dpi_stats_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	chmod(path, 0660);
	return fd;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void answer(int fd, const char *req, const struct dpi_stats *s,
		   uint16_t qlo, uint16_t qhi, size_t active, int n_hosts)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	if (!strcmp(req, "stats")) {
		fputc('0', f);
		dpi_stats_format(s, f, qlo, qhi, active, n_hosts);
	} else {
		fprintf(f, "1unknown request '%s' (the DPI handler answers 'stats')", req);
	}
	if (!fclose(f))
		ctlproto_send_frame(fd, text, len);
	free(text);
}

void dpi_stats_serve(int lfd, const struct dpi_stats *s, uint16_t qlo,
		     uint16_t qhi, size_t active_conns, int n_hosts)
{
	char *req = NULL;
	size_t n = 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	set_timeouts(fd);
	if (ctlproto_recv_frame(fd, &req, &n, 4096)) {
		log_debug("stats client left without a request");
		goto out;
	}
	/* The first string of the request is the command. */
	answer(fd, req, s, qlo, qhi, active_conns, n_hosts);
out:
	free(req);
	close(fd);
}
