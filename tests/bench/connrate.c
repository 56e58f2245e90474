/*
 * connrate: new TCP connections per second through whatever sits between two hosts.
 *
 *   connrate server PORT
 *	accepts on PORT (IPv4 and IPv6), writes one byte to each connection and closes
 *	it; never exits by itself.
 *   connrate client IP PORT SECONDS [PARALLEL]
 *	keeps PARALLEL (default 16) nonblocking connects in flight for SECONDS; each
 *	connection is counted once its byte arrives, then reset (SO_LINGER 0: no
 *	TIME_WAIT, so a long run cannot exhaust the ephemeral ports).  Prints
 *	"connections N seconds S rate R"; exits 1 with one line on stderr when no
 *	connection completed.
 *
 * A connection that has not completed within CONN_TIMEOUT_MS is abandoned and replaced,
 * so a dropped SYN costs a slot for a bounded time instead of the rest of the run.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_TIMEOUT_MS 1000
#define MAX_PARALLEL 4096

struct slot {
	int fd;
	double started;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: connrate server PORT | connrate client IP PORT SECONDS [PARALLEL]\n");
	return 2;
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "connrate: bad port '%s'\n", s);
		return -1;
	}
	return (int)v;
}

/* ---- server ---- */

static int listen_any(int port)
{
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = IN6ADDR_ANY_INIT,
	};
	int one = 1, zero = 0;
	int fd;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* one socket for IPv4 and IPv6 */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int server(const char *port_s)
{
	int port = parse_port(port_s);
	int lfd, c;
	ssize_t w;

	if (port < 0)
		return 2;
	lfd = listen_any(port);
	if (lfd < 0) {
		fprintf(stderr, "connrate: cannot listen on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("listening on port %d\n", port);
	fflush(stdout);
	for (;;) {
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;	/* aborted handshakes, EMFILE: keep serving */
		/* a failed write is the client's problem, not ours */
		w = write(c, "x", 1);
		(void)w;
		close(c);
	}
}

/* ---- client ---- */

static int resolve(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	char serv[16];
	int rc;

	snprintf(serv, sizeof(serv), "%d", port);
	rc = getaddrinfo(ip, serv, &hints, &ai);
	if (rc) {
		fprintf(stderr, "connrate: bad address '%s': %s\n", ip, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Starts one nonblocking connect in slot s; -1 (errno set) if even that fails. */
static int slot_start(struct slot *s, int ep, const struct sockaddr_storage *ss,
		      socklen_t len)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (const struct sockaddr *)ss, len) && errno != EINPROGRESS)
		goto fail;
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		goto fail;
	s->fd = fd;
	s->started = now();
	return 0;
fail:
	close(fd);
	s->fd = -1;
	return -1;
}

static void slot_close(struct slot *s)
{
	close(s->fd);		/* also leaves the epoll set */
	s->fd = -1;
}

struct tally {
	unsigned long done;
	unsigned long failed;
	int last_errno;
};

/* The slot's socket is readable: its byte arrived, or the connection failed. */
static void slot_finish(struct slot *s, struct tally *t)
{
	char b;
	ssize_t n = read(s->fd, &b, 1);

	if (n == 1) {
		t->done++;
	} else if (n < 0 && errno == EAGAIN) {
		return;		/* spurious wakeup: keep waiting */
	} else {
		t->failed++;
		t->last_errno = n < 0 ? errno : ECONNRESET;
	}
	slot_close(s);
}

static int parse_positive(const char *s, const char *what, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v > 0)) {
		fprintf(stderr, "connrate: bad %s '%s'\n", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Refills empty slots and abandons connections older than CONN_TIMEOUT_MS. */
static void slots_refill(struct slot *slots, int n, int ep, const struct sockaddr_storage *ss,
			 socklen_t len, double t, struct tally *tl)
{
	int i;

	for (i = 0; i < n; i++) {
		if (slots[i].fd >= 0 && t - slots[i].started > CONN_TIMEOUT_MS / 1000.0) {
			slot_close(&slots[i]);
			tl->failed++;
			tl->last_errno = ETIMEDOUT;
		}
		if (slots[i].fd < 0 && slot_start(&slots[i], ep, ss, len)) {
			tl->failed++;
			tl->last_errno = errno;
		}
	}
}

static int client(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct sockaddr_storage ss;
	struct tally tl = { 0 };
	struct slot *slots;
	double secs, par = 16, start, end, t;
	socklen_t len;
	int port, ep, n, i, rc = 1;

	port = parse_port(argv[3]);
	if (port < 0 || parse_positive(argv[4], "seconds", &secs))
		return 2;
	if (argc > 5 && (parse_positive(argv[5], "parallel", &par) || par > MAX_PARALLEL)) {
		if (par > MAX_PARALLEL)
			fprintf(stderr, "connrate: parallel '%s' above %d\n", argv[5], MAX_PARALLEL);
		return 2;
	}
	if (resolve(argv[2], port, &ss, &len))
		return 2;
	slots = calloc((size_t)par, sizeof(*slots));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || ep < 0) {
		fprintf(stderr, "connrate: out of resources: %s\n", strerror(errno));
		goto out;
	}
	for (i = 0; i < (int)par; i++)
		slots[i].fd = -1;
	start = now();
	end = start + secs;
	for (t = start; t < end; t = now()) {
		slots_refill(slots, (int)par, ep, &ss, len, t, &tl);
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++)
			slot_finish(evs[i].data.ptr, &tl);
	}
	t = now() - start;
	for (i = 0; i < (int)par; i++)
		if (slots[i].fd >= 0)
			slot_close(&slots[i]);
	if (!tl.done) {
		fprintf(stderr, "connrate: no connection to %s port %d completed in %.1f s (%lu failed, last: %s)\n",
			argv[2], port, t, tl.failed, strerror(tl.last_errno));
		goto out;
	}
	printf("connections %lu seconds %.3f rate %.0f\n", tl.done, t, tl.done / t);
	rc = 0;
out:
	if (ep >= 0)
		close(ep);
	free(slots);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "client"))
		return client(argc, argv);
	return usage();
}
