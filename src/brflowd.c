/* brflowd: options, logging, detaching, pidfile, signals and the event
 * loop.  The daemon manages the network namespace it was started in. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "commands.h"
#include "control.h"
#include "ctlproto.h"
#include "log.h"
#include "dpi_conf.h"
#include "expiry.h"
#include "state.h"

#define TCP_LOOSE "/proc/sys/net/netfilter/nf_conntrack_tcp_loose"
#define VLAN_TAGGED "/proc/sys/net/bridge/bridge-nf-filter-vlan-tagged"

struct options {
	const char *socket;
	const char *state_dir;
	const char *pidfile;
	const char *dpi_conf;
	bool detach;
	gid_t gid;
};


/* ---- options ---- */

static void usage_exit(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_exit(const char *fmt, ...)
{
	va_list ap;

	fputs("brflowd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static gid_t parse_group(const char *s)
{
	struct group *gr = getgrnam(s);
	char *end;
	unsigned long v;

	if (gr)
		return gr->gr_gid;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v >= (gid_t)-1)
		usage_exit("unknown group '%s'", s);
	return (gid_t)v;
}

static const char help[] =
	"usage: brflowd [--socket PATH] [--state-dir DIR] [--pidfile FILE]\n"
	"               [--detach] [--log-level error|warn|info|debug]\n"
	"               [--socket-group GROUP] [--dpi-conf FILE]\n";

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'D' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "dpi-conf", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level = BLOG_INFO;
	const char *sock = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->state_dir = BRFLOW_DEFAULT_STATE_DIR;
	o->gid = (gid_t)-1;
	/* getopt's own message for an unknown option is the one line. */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'd': o->state_dir = optarg; break;
		case 'p': o->pidfile = optarg; break;
		case 'D': o->detach = true; break;
		case 'g': o->gid = parse_group(optarg); break;
		case 'c': o->dpi_conf = optarg; break;
		case 'l':
			if (log_level_parse(optarg, &level))
				usage_exit("invalid log level '%s' (error|warn|info|debug)",
					   optarg);
			break;
		case 'h': fputs(help, stdout); exit(0);
		default: exit(2);
		}
	}
	if (optind < argc)
		usage_exit("unexpected argument '%s'", argv[optind]);
	if (!*o->state_dir)
		usage_exit("empty --state-dir");
	o->socket = ctlproto_socket_path(sock);
	if (o->dpi_conf && !*o->dpi_conf)
		usage_exit("empty --dpi-conf");
	log_set_level(level);
}

/* ---- start-up helpers ---- */

static int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, mode) && errno != EEXIST)
		return -1;
	return 0;
}

static int mkdir_parent(const char *file)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, 0755);
}

/* Writes "value" into the sysctl at 'path' in the daemon's namespace;
 * -1 (and, with 'what', a warning naming the consequence) if it cannot. */
static int set_sysctl(const char *path, const char *value, const char *what)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	int rc = 0;

	if (fd < 0 || write(fd, value, len) != (ssize_t)len) {
		if (what)
			log_warn("cannot set %s to %s (%s): %s", path, value,
				 strerror(errno), what);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* OVS tracks TCP strictly: a mid-stream packet without an entry is
 * invalid; netfilter picks such connections up unless tcp_loose is 0.
 * OVS's flows see a VLAN-tagged IP packet as IP: br_netfilter hands
 * tagged packets to the inet hooks (the pipeline, conntrack) only with
 * filter_vlan_tagged on, and brflow would drop them otherwise. */
static int set_sysctls(bool warn)
{
	int rc = set_sysctl(TCP_LOOSE, "0", warn ? "mid-stream TCP will be picked up" : NULL);

	if (set_sysctl(VLAN_TAGGED, "1", warn ? "VLAN-tagged IP is dropped on bridges that track in the inet family" : NULL))
		rc = -1;
	return rc;
}

static void write_pidfile(const char *path)
{
	char buf[32];
	int fd, len;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (fd < 0 || write(fd, buf, len) != len)
		log_warn("cannot write pidfile %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Forks; the parent waits until the child reports readiness on the pipe
 * (then exits 0) or dies (then exits with the child's status).  Returns
 * the pipe's write end in the child. */
static int detach(void)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC)) {
		log_err("pipe: %s", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		return p[1];
	}
	close(p[1]);
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		exit(0);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
	exit(1);
}

/* Tells whoever waits that the socket now serves commands. */
static void announce_ready(int ready_fd, bool detached)
{
	int null;

	if (detached) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) != 1)
			log_warn("cannot signal readiness: %s", strerror(errno));
		close(ready_fd);
	}
	sd_notify(0, "READY=1");
}

static int signal_setup(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0) {
		log_err("signalfd: %s", strerror(errno));
		exit(1);
	}
	return fd;
}

/* ---- event loop ---- */

/* Returns when SIGTERM or SIGINT arrives.  Between requests it deletes
 * the flows whose timeouts passed, and sleeps until the next deadline. */
static void run(int lfd, int sfd, struct st_state *st, struct expiry *ex)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	struct signalfd_siginfo si;

	for (;;) {
		if (poll(pfd, 2, expiry_run(ex, st)) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return;
		}
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo != SIGHUP) {
				log_info("signal %u: exiting; the ruleset stays loaded",
					 si.ssi_signo);
				return;
			}
			log_info("SIGHUP ignored");
		}
		if (pfd[0].revents & POLLIN)
			control_serve_one(lfd, st);
	}
}

/* brflow-dpi's host table goes next to the control socket unless
 * --dpi-conf says otherwise. */
static int dpi_conf_path(const struct options *o)
{
	const char *slash = strrchr(o->socket, '/');
	char *path;
	int rc;

	if (o->dpi_conf)
		return dpi_conf_set_path(o->dpi_conf);
	if (asprintf(&path, "%.*s/dpi.conf", slash ? (int)(slash - o->socket) : 1,
		     slash ? o->socket : ".") < 0)
		return -1;
	rc = dpi_conf_set_path(path);
	free(path);
	return rc;
}

int main(int argc, char **argv)
{
	struct st_state st;
	struct expiry *ex;
	struct options o;
	char err[512] = "";
	int ready_fd = -1, lfd, sfd;
	bool sysctls_done;

	log_set_program("brflowd");

	parse_options(argc, argv, &o);
	sfd = signal_setup();
	if (o.detach)
		ready_fd = detach();
	if (mkdir_parent(o.socket) || mkdir_p(o.state_dir, 0700)) {
		log_err("cannot create %s or %s: %s", o.socket, o.state_dir,
			strerror(errno));
		return 1;
	}
	lfd = control_listen(o.socket, o.gid, err, sizeof(err));
	if (lfd < 0) {
		log_err("%s", err);
		return 1;
	}
	if (st_init(&st, o.state_dir)) {
		log_err("out of memory");
		control_close(lfd, o.socket);
		return 1;
	}
	ex = expiry_new();
	if (!ex || dpi_conf_path(&o)) {
		log_err("out of memory");
		return 1;
	}
	sysctls_done = !set_sysctls(false);
	nft_probe_features(&st.features);
	st_use_features(&st.features);
	commands_restore(&st);
	expiry_start(ex, &st);
	dpi_conf_sync(); /* also when no bridge uses DPI: no stale table */
	/* conntrack may come up only with the first ruleset loaded */
	if (!sysctls_done)
		set_sysctls(true);
	write_pidfile(o.pidfile);
	log_info("listening on %s, state in %s", o.socket, o.state_dir);
	announce_ready(ready_fd, o.detach);
	run(lfd, sfd, &st, ex);
	commands_keep_ports_up(&st);
	control_close(lfd, o.socket);
	if (o.pidfile)
		unlink(o.pidfile);
	st_free(&st);
	commands_free();
	expiry_free(ex);
	dpi_conf_free();
	return 0;
}
