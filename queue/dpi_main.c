/* brflow-dpi: the NFQUEUE + nDPI handler behind flows' dpi() action.
 * One event loop over the queue sockets, the conntrack destroy events,
 * the stats socket and signals: connections are spread over queues by CPU
 * (fanout), so every queue must see the same connection table. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>
#include <systemd/sd-daemon.h>

#include "dpi_handler.h"
#include "../src/log.h"

#define MAX_QUEUES 64
#define DEFAULT_MAX_PACKETS 24
#define DEFAULT_MAX_CONNS 65536
#define DEFAULT_IDLE_S 300
#define DEFAULT_QUEUE_MAXLEN 4096

struct opts {
	uint16_t qlo, qhi;
	const char *config, *socket;
	uint32_t max_packets, idle_s;
	size_t max_conns;
	bool fail_open;
};

struct dpi_main {
	struct opts o;
	struct dpi_handler h;
	struct dpi_queue *queues[MAX_QUEUES];
	int nq;
	struct nfct_handle *ct;
	int epfd, sigfd, statfd;
	time_t conf_mtime;
	long conf_mtime_ns;
	bool conf_exists;
	uint64_t last_check_ms;
};


/* ---- options ---- */

static void usage_exit(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_exit(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "brflow-dpi: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: brflow-dpi --queues N[-M] [--config FILE] [--socket PATH]\n"
		"       [--max-packets K] [--max-conns C] [--idle-timeout S]\n"
		"       [--queue-full accept|drop] [--log-level error|warn|info|debug]\n");
	exit(2);
}

static unsigned long parse_num(const char *opt, const char *s,
			       unsigned long lo, unsigned long hi)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		usage_exit("invalid %s '%s' (%lu-%lu)", opt, s, lo, hi);
	return v;
}

static void parse_queues(struct opts *o, const char *s)
{
	char buf[32], *dash;

	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = '\0';
	o->qlo = (uint16_t)parse_num("--queues", buf, 0, 65535);
	o->qhi = dash ? (uint16_t)parse_num("--queues", dash, 0, 65535) : o->qlo;
	if (o->qhi < o->qlo || o->qhi - o->qlo >= MAX_QUEUES)
		usage_exit("invalid --queues '%s' (N or N-M, M >= N, at most %d queues)",
			   s, MAX_QUEUES);
}

static void parse_log_level(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			log_set_level((enum log_level)i);
			return;
		}
	usage_exit("invalid --log-level '%s' (error|warn|info|debug)", s);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "queues", required_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "max-packets", required_argument, NULL, 'k' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "queue-full", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool have_queues = false;
	int c;

	*o = (struct opts){
		.config = DPI_DEFAULT_CONF, .socket = DPI_DEFAULT_SOCKET,
		.max_packets = DEFAULT_MAX_PACKETS, .max_conns = DEFAULT_MAX_CONNS,
		.idle_s = DEFAULT_IDLE_S, .fail_open = true,
	};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': parse_queues(o, optarg); have_queues = true; break;
		case 'c': o->config = optarg; break;
		case 's': o->socket = optarg; break;
		case 'k': o->max_packets = (uint32_t)parse_num("--max-packets", optarg, 1, 1000000); break;
		case 'C': o->max_conns = parse_num("--max-conns", optarg, 1, 100000000); break;
		case 'i': o->idle_s = (uint32_t)parse_num("--idle-timeout", optarg, 1, 86400); break;
		case 'f':
			if (strcmp(optarg, "accept") && strcmp(optarg, "drop"))
				usage_exit("invalid --queue-full '%s' (accept|drop)", optarg);
			o->fail_open = !strcmp(optarg, "accept");
			break;
		case 'l': parse_log_level(optarg); break;
		case 'h': usage_exit("help");
		default: exit(2);
		}
	}
	if (optind < argc)
		usage_exit("unexpected argument '%s'", argv[optind]);
	if (!have_queues)
		usage_exit("--queues is required");
}

/* ---- time, config ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void config_reload(struct dpi_main *m, const char *why)
{
	struct dpi_config c;
	int n = dpi_config_load(m->o.config, &c);

	if (n < 0) {
		log_err("cannot read %s: %s; keeping %s host patterns", m->o.config,
			strerror(errno), "the previous");
		return;
	}
	dpi_config_free(&m->h.config);
	m->h.config = c;
	log_info("%s: %d host patterns from %s", why, n, m->o.config);
}

/* At most once a second: reread the config if its mtime changed. */
static void config_check(struct dpi_main *m, uint64_t now_ms)
{
	struct stat st;
	bool exists;

	if (now_ms - m->last_check_ms < 1000)
		return;
	m->last_check_ms = now_ms;
	exists = !stat(m->o.config, &st);
	if (exists == m->conf_exists && (!exists ||
	    (st.st_mtim.tv_sec == m->conf_mtime && st.st_mtim.tv_nsec == m->conf_mtime_ns)))
		return;
	m->conf_exists = exists;
	m->conf_mtime = exists ? st.st_mtim.tv_sec : 0;
	m->conf_mtime_ns = exists ? st.st_mtim.tv_nsec : 0;
	config_reload(m, "config changed");
}

static int n_hosts(const struct dpi_main *m)
{
	int n = 0;

	for (int i = 0; i < DPI_MAX_HOSTS; i++)
		n += m->h.config.host[i] != NULL;
	return n;
}

/* ---- conntrack destroy events ---- */

/* The original tuple of a conntrack entry, as dpi_pkt_tuple would give it. */
static int ct_tuple(const struct nf_conntrack *ct, struct dpi_tuple *t)
{
	uint8_t l3 = nfct_get_attr_u8(ct, ATTR_L3PROTO);

	memset(t, 0, sizeof(*t));
	if (l3 == AF_INET) {
		t->family = 4;
		memcpy(t->src, nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC), 4);
		memcpy(t->dst, nfct_get_attr(ct, ATTR_ORIG_IPV4_DST), 4);
	} else if (l3 == AF_INET6) {
		t->family = 6;
		memcpy(t->src, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
		memcpy(t->dst, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
	} else {
		return -1;
	}
	if (!nfct_attr_is_set(ct, ATTR_ORIG_PORT_SRC))
		return -1;
	t->proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	t->sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
	t->dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	return 0;
}

static int ct_event(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct dpi_main *m = data;
	struct dpi_tuple t;

	if (type != NFCT_T_DESTROY)
		return NFCT_CB_CONTINUE;
	if (!m->h.writer) {
		if (nfct_attr_is_set(ct, ATTR_ID))
			dpi_handler_destroyed(&m->h, nfct_get_attr_u32(ct, ATTR_ID));
		return NFCT_CB_CONTINUE;
	}
	if (!ct_tuple(ct, &t))
		dpi_handler_destroyed(&m->h, dpi_tuple_key(&t));
	return NFCT_CB_CONTINUE;
}

static int ct_open(struct dpi_main *m)
{
	m->ct = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_DESTROY);
	if (!m->ct)
		return -1;
	nfnl_rcvbufsiz(nfct_nfnlh(m->ct), 4 << 20);
	/* nfct_catch reads until the socket is empty; it must not block. */
	if (fcntl(nfct_fd(m->ct), F_SETFL, O_NONBLOCK))
		return -1;
	nfct_callback_register(m->ct, NFCT_T_DESTROY, ct_event, m);
	return 0;
}

static void ct_read(struct dpi_main *m)
{
	/* Non-blocking: nfct_catch returns when the socket is drained. */
	if (nfct_catch(m->ct) < 0 && errno == ENOBUFS)
		log_warn("conntrack events lost; those entries will idle out");
}

/* ---- queues ---- */

static void on_packet(const struct dpi_qpkt *p, struct dpi_verdict *v, void *arg)
{
	dpi_handler_packet(arg, p, v);
}

static int queue_read(struct dpi_main *m, struct dpi_queue *q)
{
	struct dpi_batch_result r;
	uint64_t t0 = mono_ns();

	m->h.now_ms = t0 / 1000000;
	if (dpi_queue_run_batch(q, on_packet, &m->h, &r)) {
		log_err("queue %u: %s", dpi_queue_num(q), strerror(errno));
		return -1;
	}
	if (r.packets)
		dpi_stats_latency(&m->h.stats, mono_ns() - t0, (uint64_t)r.packets);
	m->h.stats.verdict_errors += (uint64_t)r.errors;
	if (r.overrun)
		m->h.stats.socket_overruns++;
	return 0;
}

static int watch(int epfd, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The kernel cannot label through verdicts: use ctnetlink instead. */
static int label_writer(struct dpi_main *m)
{
	m->h.writer = dpi_ctlabel_open();
	if (!m->h.writer) {
		log_err("ctnetlink socket: %s", strerror(errno));
		return -1;
	}
	m->h.stats.label_mode = "ctnetlink (no NFQA_CT in this kernel)";
	log_info("this kernel's queue cannot carry NFQA_CT (no NETFILTER_NETLINK_GLUE_CT): "
		 "labels are written through ctnetlink by tuple");
	return 0;
}

static int setup(struct dpi_main *m)
{
	char err[256];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->sigfd < 0 || m->epfd < 0 || watch(m->epfd, m->sigfd, &m->sigfd)) {
		log_err("signalfd/epoll: %s", strerror(errno));
		return -1;
	}
	if (dpi_handler_init(&m->h, m->o.max_packets, m->o.max_conns)) {
		log_err("cannot initialise nDPI");
		return -1;
	}
	config_check(m, 1000000);
	if (ct_open(m) || watch(m->epfd, nfct_fd(m->ct), &m->ct)) {
		log_err("conntrack event socket: %s", strerror(errno));
		return -1;
	}
	for (unsigned n = m->o.qlo; n <= m->o.qhi; n++) {
		struct dpi_queue_opts qo = { .num = (uint16_t)n,
			.fail_open = m->o.fail_open, .maxlen = DEFAULT_QUEUE_MAXLEN };
		struct dpi_queue *q = dpi_queue_open(&qo, err, sizeof(err));

		if (!q) {
			log_err("%s", err);
			return -1;
		}
		m->queues[m->nq++] = q;
		if (!dpi_queue_has_ct(q) && !m->h.writer && label_writer(m))
			return -1;
		if (watch(m->epfd, dpi_queue_fd(q), q)) {
			log_err("epoll: %s", strerror(errno));
			return -1;
		}
	}
	m->statfd = dpi_stats_listen(m->o.socket);
	if (m->statfd < 0 || watch(m->epfd, m->statfd, &m->statfd)) {
		log_err("cannot listen on %s: %s", m->o.socket, strerror(errno));
		return -1;
	}
	return 0;
}

static void teardown(struct dpi_main *m)
{
	for (int i = 0; i < m->nq; i++)
		dpi_queue_close(m->queues[i]);
	if (m->ct)
		nfct_close(m->ct);
	dpi_ctlabel_close(m->h.writer);
	m->h.writer = NULL;
	if (m->statfd >= 0) {
		close(m->statfd);
		unlink(m->o.socket);
	}
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	dpi_handler_free(&m->h);
}

/* Returns 1 to stop. */
static int on_signal(struct dpi_main *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			config_reload(m, "SIGHUP");
			continue;
		}
		log_info("signal %u: exiting", si.ssi_signo);
		return 1;
	}
	return 0;
}

static int run(struct dpi_main *m)
{
	struct epoll_event evs[MAX_QUEUES + 4];

	for (;;) {
		int n = epoll_wait(m->epfd, evs, MAX_QUEUES + 4, 1000);
		uint64_t now_ms = mono_ns() / 1000000;

		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &m->sigfd) {
				if (on_signal(m))
					return 0;
			} else if (p == &m->ct) {
				ct_read(m);
			} else if (p == &m->statfd) {
				dpi_stats_serve(m->statfd, &m->h.stats, m->o.qlo,
						m->o.qhi, m->h.conns.n, n_hosts(m));
			} else if (queue_read(m, p)) {
				return 1;
			}
		}
		config_check(m, now_ms);
		m->h.stats.expired += dpi_conn_expire(&m->h.conns, now_ms,
						      (uint64_t)m->o.idle_s * 1000);
	}
}

int main(int argc, char **argv)
{
	struct dpi_main m = { .epfd = -1, .sigfd = -1, .statfd = -1 };
	int rc = 1;

	log_set_program("brflow-dpi");
	parse_opts(argc, argv, &m.o);
	if (setup(&m))
		goto out;
	log_info("queues %u-%u, max %u packets per connection, %zu connections, queue full: %s",
		 m.o.qlo, m.o.qhi, m.o.max_packets, m.o.max_conns,
		 m.o.fail_open ? "accept" : "drop");
	sd_notify(0, "READY=1");
	rc = run(&m);
	sd_notify(0, "STOPPING=1");
out:
	teardown(&m);
	return rc;
}
