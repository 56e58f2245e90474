/* brflowctl: the ovs-ofctl-like client of brflowd.
 *
 * It checks the shape of the command line, reads flow files for the
 * commands that take one, sends one request frame over the control socket
 * and prints the reply.  Everything about flows and bridges is decided by
 * the daemon; the client only knows the command names and arities. */
#include "../rules/dpi.h"
#include "../src/ctlproto.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef BRFLOW_VERSION
#define BRFLOW_VERSION "0.1.0"
#endif

/* Replies can be big (dump-flows of 100 000 flows, compile output), but a
 * reply beyond this is a broken daemon, not output. */
#define REPLY_MAX (256u << 20)
/* Long enough for the daemon to compile and load 100 000 flows. */
#define DEFAULT_TIMEOUT 120

enum { EXIT_USAGE = 2, EXIT_DIFFERENT = 2, EXIT_NO_BRIDGE = 2 };

struct ctl_cmd {
	const char *name;
	int min_args;
	int max_args;
	int file_arg;		/* index of a FILE|- argument, or -1 */
	const char *args;
	const char *help;
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "add-br", 1, 1, -1, "BR", "create bridge BR or adopt an existing one" },
	{ "del-br", 1, 1, -1, "BR", "remove BR and its ruleset" },
	{ "add-port", 2, 3, -1, "BR IFACE [ofport=N]",
	  "attach IFACE; ofport defaults to the lowest free" },
	{ "del-port", 1, 2, -1, "[BR] IFACE", "detach IFACE from BR (or its bridge)" },
	{ "mod-port", 3, 3, -1, "BR PORT ACTION",
	  "up|down, receive|no-receive, forward|no-forward, flood|no-flood" },
	{ "show", 0, 1, -1, "[BR]",
	  "bridges (or BR), ports, port numbers, kernel features" },
	{ "list-br", 0, 0, -1, "", "the bridges' names, one a line (ovs-vsctl list-br)" },
	{ "add-zone-tp", 3, 16, -1, "BR zone=N KEY=SECS...",
	  "zone N's conntrack timeouts (udp_first=, ...)" },
	{ "del-zone-tp", 2, 2, -1, "BR zone=N", "remove zone N's timeout policy" },
	{ "list-zone-tp", 1, 1, -1, "BR", "the timeout policies, as ovs-vsctl prints them" },
	{ "set-zone-limit", 3, 3, -1, "BR ZONE|default LIMIT",
	  "at most LIMIT connections in the zone (0: no limit)" },
	{ "del-zone-limit", 2, 2, -1, "BR ZONE|default", "remove the zone's limit" },
	{ "list-zone-limits", 1, 1, -1, "BR", "the limits, as ovs-vsctl prints them" },
	{ "list-ports", 1, 1, -1, "BR", "the interfaces attached to BR, one a line" },
	{ "br-exists", 1, 1, -1, "BR", "exit 0 if brflowd has bridge BR, else 2" },
	{ "port-to-br", 1, 1, -1, "PORT", "the bridge PORT is attached to" },
	{ "iface-to-br", 1, 1, -1, "IFACE", "the same, as ovs-vsctl spells it" },
	{ "set-iface", 2, 8, -1, "IFACE KEY=VALUE...",
	  "police what IFACE receives (ingress_policing_rate=, _burst=)" },
	{ "get-iface", 1, 2, -1, "IFACE [KEY]", "those options, or KEY's value" },
	{ "set-br", 2, 2, -1, "BR offload=on|off|hw",
	  "offload BR's established routed connections to a flowtable" },
	{ "add-flow", 2, 2, -1, "BR FLOW|-", "add one flow (-: those on stdin)" },
	{ "add-flows", 2, 2, 1, "BR FILE|-",
	  "add the flows in FILE (- = stdin), one a line" },
	{ "del-flows", 1, 2, -1, "BR [FLOW]",
	  "delete all flows, or those matching FLOW (-: each on stdin)" },
	{ "mod-flows", 2, 2, -1, "BR FLOW",
	  "change the actions of the flows matching FLOW (-: each on stdin)" },
	{ "replace-flows", 2, 2, 1, "BR FILE|-",
	  "make BR's flows exactly those in FILE (- = stdin)" },
	{ "dump-flows", 1, 2, -1, "BR [FLOW]",
	  "print BR's flows (or those matching FLOW) with statistics" },
	{ "dump-aggregate", 1, 2, -1, "BR [FLOW]",
	  "packet, byte and flow totals of BR (or of the flows matching FLOW)" },
	{ "diff-flows", 2, 2, 1, "BR FILE|-",
	  "how BR's flows (-) differ from FILE's (+); exit 2 if they do" },
	{ "dump-ports", 1, 2, -1, "BR [PORT]",
	  "the kernel's packet counters of BR's ports (or of PORT)" },
	{ "dump-ports-desc", 1, 2, -1, "BR [PORT]",
	  "BR's ports (or PORT): number, name, address, config and state" },
	{ "queue-stats", 1, 3, -1, "BR [PORT [QUEUE]]",
	  "the counters of PORT's (or all ports') egress queues" },
	{ "compile", 1, 1, -1, "BR",
	  "print the nftables ruleset BR's flows compile to" },
	{ "trace", 2, 2, -1, "BR FLOW",
	  "what BR's flow tables do with the packet FLOW describes" },
	{ "add-group", 2, 2, -1, "BR GROUP",
	  "add group GROUP (group_id=N,type=select,bucket=...)" },
	{ "bundle", 2, 2, 1, "BR FILE|-",
	  "the flow and group changes in FILE, in order, all or none" },
	{ "add-groups", 2, 2, 1, "BR FILE|-",
	  "add the groups in FILE (- = stdin), one a line" },
	{ "mod-group", 2, 2, -1, "BR GROUP",
	  "replace the group with GROUP's group_id" },
	{ "insert-buckets", 2, 2, -1, "BR GROUP",
	  "add buckets to a group (first, last or after a bucket)" },
	{ "remove-buckets", 2, 2, -1, "BR GROUP",
	  "remove buckets from a group (first, last, one or all)" },
	{ "del-groups", 1, 2, -1, "BR [group_id=N]",
	  "delete all groups, or group N (and flows using them)" },
	{ "dump-groups", 1, 2, -1, "BR [group_id=N]", "print BR's groups" },
	{ "dump-group-stats", 1, 2, -1, "BR [group_id=N]",
	  "packets each group and its buckets sent" },
	{ "add-meter", 2, 2, -1, "BR METER",
	  "add meter METER (meter=N,pktps,bands=type=drop,rate=R)" },
	{ "mod-meter", 2, 2, -1, "BR METER",
	  "change the rate of the meter with METER's id" },
	{ "del-meters", 1, 2, -1, "BR [meter=N]",
	  "delete all meters, or meter N (and flows using them)" },
	{ "dump-meters", 1, 2, -1, "BR [meter=N]", "print BR's meters" },
	{ "meter-stats", 1, 2, -1, "BR [meter=N]",
	  "packets reaching BR's meters and dropped by them" },
	{ "fdb-show", 1, 1, -1, "BR",
	  "the MAC addresses BR learned, per port (ovs-appctl fdb/show)" },
	{ "fdb-flush", 1, 1, -1, "BR", "forget the MAC addresses BR learned" },
	{ "dump-conntrack", 0, 1, -1, "[-m] [-s] [zone=N]",
	  "print tracked connections, OVS dpctl style" },
	{ "ct-stats-show", 0, 2, -1, "[zone=N] [verbose]",
	  "how many connections, per protocol (and TCP state)" },
	{ "flush-conntrack", 0, 3, -1, "[zone=N] [TUPLE [REPLY]]",
	  "delete tracked connections (all, by zone, by tuple)" },
	{ "ct-flush", 1, 4, -1, "BR [zone=N] [TUPLE [REPLY]]",
	  "the same, as ovs-ofctl ct-flush spells it" },
	{ "ct-flush-zone", 2, 2, -1, "BR ZONE",
	  "delete zone ZONE's connections (ovs-ofctl ct-flush-zone)" },
	{ "log-level", 0, 1, -1, "[LEVEL]",
	  "brflowd's log level, or set it (error|warn|info|debug) until it stops" },
	{ "dpi-stats", 0, 0, -1, "",
	  "the DPI handler's counters (asks brflow-dpi, not brflowd)" },
};

/* --sort[=FIELD] or --rsort[=FIELD]; the daemon checks the field */
struct sort_opt {
	bool descending;
	const char *field; /* NULL: priority */
};

struct ctl_opts {
	const char *socket;
	const char *dpi_socket;
	bool bundle;
	bool strict;
	bool may_exist, if_exists;
	bool no_stats;
	bool more, statistics;  /* dump-conntrack -m, -s */
	bool flows_file; /* del-flows/mod-flows BR -: the flows came from stdin */
	int names;     /* --names 1, --no-names 0, -1: names on a terminal */
	struct sort_opt *sort; /* in the order given; room for argc */
	int n_sort;
	unsigned int timeout;
	int of_version;  /* -O: the highest version listed (12: OpenFlow 1.2), 0 */
	int n_ct_next;
	char **ct_next;  /* trace --ct-next FLAGS, in order (room for argc) */
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"brflowctl: control brflowd, OpenFlow-style flow tables on a Linux bridge\n"
		"usage: brflowctl [OPTIONS] COMMAND [ARG...]\n\n"
		"Commands:\n");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];
		int w = (int)(strlen(c->name) + 1 + strlen(c->args));

		fprintf(f, "  %s %s%*s%s\n", c->name, c->args,
			w < 32 ? 32 - w : 1, "", c->help);
	}
	fprintf(f,
		"\nOptions (before or after the command):\n"
		"  --socket PATH   control socket (default: $BRFLOW_SOCKET, else\n"
		"                  " BRFLOW_DEFAULT_SOCKET ")\n"
		"  --dpi-socket PATH  dpi-stats: brflow-dpi's socket (default:\n"
		"                  $BRFLOW_DPI_SOCKET, else " DPI_DEFAULT_SOCKET ")\n"
		"  --bundle        add-flows, replace-flows: all flows or none\n"
		"  --strict        del-flows, mod-flows, dump-flows, dump-aggregate:\n"
		"                  match priority and fields exactly\n"
		"  --may-exist     add-port: a port already on BR is no error (add-br\n"
		"                  never minds an existing bridge)\n"
		"  --if-exists     del-br, del-port, del-zone-tp, del-zone-limit: a\n"
		"                  missing bridge, port, policy or limit is no error\n"
		"  --no-stats      dump-flows: omit n_packets= and n_bytes=\n"
		"  -m, --more      dump-conntrack: ids, status bits, TCP details and\n"
		"                  an expected connection's parent, as dpctl -m\n"
		"  -s, --statistics  dump-conntrack: packets, bytes, start time and\n"
		"                  seconds left, as dpctl -s\n"
		"  --names, --no-names  dump-flows, diff-flows, trace: ports by name\n"
		"                  (in_port=p1, output:p2) or number; default: names\n"
		"                  when standard output is a terminal\n"
		"  --ct-next FLAGS trace: the ct_state each ct(table=N) resumes with, in\n"
		"                  order (default trk,new); may be repeated\n"
		"  --sort[=FIELD]  dump-flows: sort by FIELD (a match field, or priority,\n"
		"                  the default) ascending; repeat for further keys\n"
		"  --rsort[=FIELD] dump-flows: the same, descending\n"
		"  -t, --timeout SECS  wait at most SECS for the reply (default %d, 0 =\n"
		"                  forever)\n"
		"  -O, --protocols VERSIONS  OpenFlow10 to OpenFlow15, comma-separated;\n"
		"                  with OpenFlow12 or later listed, an add that replaces\n"
		"                  a flow keeps its counters (unless reset_counts);\n"
		"                  dump-flows prints as ovs-ofctl does with the highest\n"
		"                  (idle_age: 1.0 only; flags: 1.3+; importance: 1.4+)\n"
		"  -h, --help      print this help\n"
		"  -V, --version   print the version\n",
		DEFAULT_TIMEOUT);
}

static const struct ctl_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return &ctl_cmds[i];
	return NULL;
}

static int parse_timeout(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 86400 * 365 || s[0] == '-')
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* ovs-ofctl's -O/--protocols VERSION[,VERSION...]: the OpenFlow versions
 * to speak.  brflowctl speaks none (brflowd has its own socket), but
 * ovs-ofctl would settle on the highest one listed, and from OpenFlow 1.2
 * on an add that replaces a flow keeps its counters; *version gets that
 * highest one (10 to 15) for the daemon.  Output stays what ovs-ofctl
 * prints with OpenFlow 1.0.  0, or -1 after printing an error. */
static int parse_protocols(const char *list, int *version)
{
	const char *tok = list;

	for (*version = 0;;) {
		size_t len = strcspn(tok, ",");

		if (len != 10 || strncasecmp(tok, "OpenFlow1", 9) ||
		    tok[9] < '0' || tok[9] > '5') {
			fprintf(stderr, "brflowctl: -O: unknown OpenFlow version '%.*s' (OpenFlow10 to OpenFlow15)\n",
				(int)len, tok);
			return -1;
		}
		if (10 + tok[9] - '0' > *version)
			*version = 10 + tok[9] - '0';
		if (!tok[len])
			return 0;
		tok += len + 1;
	}
}

/* Options may follow the command, as with ovs-ofctl.  getopt's "-" mode
 * hands operands over in order (even under POSIXLY_CORRECT); they are
 * collected in ops[] (room for argc entries), and *nops is set.  Returns 1
 * to go on, -1 after printing an error (exit 2), or 0 when --help or
 * --version was handled (exit 0). */
static int parse_options(int argc, char **argv, struct ctl_opts *o,
			 char **ops, int *nops)
{
	enum { OPT_SOCKET = 256, OPT_BUNDLE, OPT_STRICT, OPT_NO_STATS, OPT_TIMEOUT,
	       OPT_DPI_SOCKET, OPT_CT_NEXT, OPT_SORT, OPT_RSORT, OPT_NAMES,
	       OPT_NO_NAMES, OPT_MAY_EXIST, OPT_IF_EXISTS };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "dpi-socket", required_argument, NULL, OPT_DPI_SOCKET },
		{ "bundle", no_argument, NULL, OPT_BUNDLE },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "may-exist", no_argument, NULL, OPT_MAY_EXIST },
		{ "if-exists", no_argument, NULL, OPT_IF_EXISTS },
		{ "no-stats", no_argument, NULL, OPT_NO_STATS },
		{ "more", no_argument, NULL, 'm' },
		{ "statistics", no_argument, NULL, 's' },
		{ "names", no_argument, NULL, OPT_NAMES },
		{ "no-names", no_argument, NULL, OPT_NO_NAMES },
		{ "sort", optional_argument, NULL, OPT_SORT },
		{ "rsort", optional_argument, NULL, OPT_RSORT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "ct-next", required_argument, NULL, OPT_CT_NEXT },
		{ "protocols", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	*nops = 0;
	while ((c = getopt_long(argc, argv, "-:hVO:t:ms", longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			ops[(*nops)++] = optarg;
			break;
		case OPT_SOCKET:
			o->socket = optarg;
			break;
		case OPT_DPI_SOCKET:
			o->dpi_socket = optarg;
			break;
		case OPT_BUNDLE:
			o->bundle = true;
			break;
		case OPT_STRICT:
			o->strict = true;
			break;
		case OPT_MAY_EXIST:
			o->may_exist = true;
			break;
		case OPT_IF_EXISTS:
			o->if_exists = true;
			break;
		case OPT_NO_STATS:
			o->no_stats = true;
			break;
		case 'm':
			o->more = true;
			break;
		case 's':
			o->statistics = true;
			break;
		case OPT_NAMES:
		case OPT_NO_NAMES:
			o->names = c == OPT_NAMES;
			break;
		case OPT_CT_NEXT:
			o->ct_next[o->n_ct_next++] = optarg;
			break;
		case OPT_SORT:
		case OPT_RSORT:
			o->sort[o->n_sort++] = (struct sort_opt){ c == OPT_RSORT, optarg };
			break;
		case OPT_TIMEOUT:
		case 't':
			if (parse_timeout(optarg, &o->timeout) < 0) {
				fprintf(stderr, "brflowctl: --timeout: invalid number of seconds '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'O':
			if (parse_protocols(optarg, &o->of_version) < 0)
				return -1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("brflowctl (brflow) %s\n", BRFLOW_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "brflowctl: option '%s' needs an argument\n",
				argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				fprintf(stderr, "brflowctl: unrecognized option '-%c'; use --help for help\n",
					optopt);
			else
				fprintf(stderr, "brflowctl: unrecognized option '%s'; use --help for help\n",
					argv[optind - 1]);
			return -1;
		}
	}
	/* After "--" everything left is an operand. */
	while (optind < argc)
		ops[(*nops)++] = argv[optind++];
	return 1;
}

/* Reads all of FILE ("-" = stdin) into a malloc'd, NUL-terminated buffer.
 * The contents travel as one NUL-terminated string, so they must not hold
 * a NUL themselves.  Prints the error itself. */
static char *read_flow_file(const char *name)
{
	size_t cap = 65536, len = 0;
	char *buf = NULL, *nul;
	int fd, err = 0;

	fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		err = errno;
		goto out;
	}
	buf = malloc(cap);
	if (!buf) {
		err = errno;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 1 == cap) {
			char *nb;

			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = errno;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto out;
		}
		if (r == 0)
			break;
		len += r;
		if (len > CTLPROTO_MAX_REQUEST) {
			err = EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	nul = memchr(buf, '\0', len);
	if (nul) {
		fprintf(stderr, "brflowctl: cannot read '%s': NUL byte at offset %zu\n",
			name, (size_t)(nul - buf));
		free(buf);
		buf = NULL;
	}
out:
	if (fd > STDIN_FILENO)
		close(fd);
	if (err) {
		if (err == EFBIG)
			fprintf(stderr, "brflowctl: cannot read '%s': larger than the %u MiB request limit\n",
				name, CTLPROTO_MAX_REQUEST >> 20);
		else
			fprintf(stderr, "brflowctl: cannot read '%s': %s\n",
				name, strerror(err));
		free(buf);
		return NULL;
	}
	return buf;
}

static void append_str(char *req, size_t *len, const char *s)
{
	size_t n = strlen(s) + 1;

	if (req)
		memcpy(req + *len, s, n);
	*len += n;
}

/* "--name=" and the value as one string. */
static void append_option(char *req, size_t *len, const char *name,
			  const char *value)
{
	size_t n = strlen(name);

	if (req)
		memcpy(req + *len, name, n);
	*len += n;
	append_str(req, len, value);
}

/* "--sort" or "--sort=FIELD" (--rsort likewise), as append_str would */
static void append_sort(char *req, size_t *len, const struct sort_opt *s)
{
	if (!s->field)
		append_str(req, len, s->descending ? "--rsort" : "--sort");
	else
		append_option(req, len, s->descending ? "--rsort=" : "--sort=", s->field);
}

/* Lays out the request: global options, command, arguments.  Called once
 * with req == NULL to size it, then to fill it. */
static void layout_request(char *req, size_t *len, const struct ctl_opts *o,
			   const char *cmd, char **args, int nargs)
{
	int i;

	*len = 0;
	if (o->bundle)
		append_str(req, len, "--bundle");
	if (o->strict)
		append_str(req, len, "--strict");
	if (o->may_exist)
		append_str(req, len, "--may-exist");
	if (o->if_exists)
		append_str(req, len, "--if-exists");
	if (o->no_stats)
		append_str(req, len, "--no-stats");
	if (o->more)
		append_str(req, len, "--more");
	if (o->statistics)
		append_str(req, len, "--statistics");
	if (o->flows_file)
		append_str(req, len, "--flows-file");
	if (o->of_version >= 11) {  /* 1.0 is the daemon's default */
		char version[12];

		snprintf(version, sizeof(version), "%d", o->of_version);
		append_option(req, len, "--openflow=", version);
	}
	/* as ovs-ofctl: names for a person at a terminal, numbers for scripts */
	if (o->names > 0 || (o->names < 0 && isatty(STDOUT_FILENO)))
		append_str(req, len, "--names");
	for (i = 0; i < o->n_ct_next; i++)
		append_option(req, len, "--ct-next=", o->ct_next[i]);
	for (i = 0; i < o->n_sort; i++)
		append_sort(req, len, &o->sort[i]);
	append_str(req, len, cmd);
	for (i = 0; i < nargs; i++)
		append_str(req, len, args[i]);
}

static char *build_request(const struct ctl_opts *o, const char *cmd,
			   char **args, int nargs, size_t *len)
{
	char *req;

	layout_request(NULL, len, o, cmd, args, nargs);
	if (*len > CTLPROTO_MAX_REQUEST) {
		fprintf(stderr, "brflowctl: %s: request of %zu bytes exceeds the %u MiB limit\n",
			cmd, *len, CTLPROTO_MAX_REQUEST >> 20);
		return NULL;
	}
	req = malloc(*len);
	if (!req) {
		fprintf(stderr, "brflowctl: %s: %s\n", cmd, strerror(errno));
		return NULL;
	}
	layout_request(req, len, o, cmd, args, nargs);
	return req;
}

static int set_timeouts(int fd, unsigned int secs)
{
	struct timeval tv = { .tv_sec = secs };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Returns a connected socket or -1 after printing why. */
static int connect_daemon(const char *path, unsigned int timeout)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		err = ENAMETOOLONG;
		goto fail;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	/* Before connect(): a full listen backlog blocks connect() too. */
	if (set_timeouts(fd, timeout) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		goto fail;
	}
	return fd;
fail:
	fprintf(stderr, "brflowctl: cannot connect to %s: %s\n", path, strerror(err));
	return -1;
}

static const char *io_error(int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return "timed out waiting for brflowd";
	if (err == EIO)
		return "brflowd closed the connection";
	if (err == EMSGSIZE)
		return "reply larger than 256 MiB";
	return strerror(err);
}

/* Sends the request and receives the reply frame.  A daemon that refuses
 * a request (too big, malformed) may answer and close before reading all
 * of it, so a failed send still looks for a reply. */
static int exchange(int fd, const char *cmd, const char *req, size_t len,
		    char **reply, size_t *rlen)
{
	int send_err = 0;

	if (ctlproto_send_frame(fd, req, len) < 0)
		send_err = errno;
	if (ctlproto_recv_frame(fd, reply, rlen, REPLY_MAX) == 0)
		return 0;
	if (send_err && errno != EMSGSIZE)
		fprintf(stderr, "brflowctl: %s: cannot send request: %s\n",
			cmd, io_error(send_err));
	else
		fprintf(stderr, "brflowctl: %s: cannot read reply: %s\n",
			cmd, io_error(errno));
	return -1;
}

static int print_output(const char *text, size_t n)
{
	if (n && fwrite(text, 1, n, stdout) != n)
		goto fail;
	/* Output that ends mid-line would glue the shell prompt to it. */
	if (n && text[n - 1] != '\n' && putchar('\n') == EOF)
		goto fail;
	if (fflush(stdout) == EOF)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "brflowctl: write error: %s\n", strerror(errno));
	return 1;
}

/* Returns the exit status the reply calls for. */
static int handle_reply(const char *cmd, char *reply, size_t n)
{
	if (n == 0 || (reply[0] != '0' && reply[0] != '1')) {
		fprintf(stderr, "brflowctl: %s: malformed reply from brflowd\n", cmd);
		return 1;
	}
	if (reply[0] == '0')
		return print_output(reply + 1, n - 1);
	while (n > 1 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		reply[--n] = '\0';
	fprintf(stderr, "brflowctl: %s: %s\n", cmd, n > 1 ? reply + 1 : "failed");
	return 1;
}

/* Checks the operands against the command table; prints the usage line and
 * returns NULL if they do not fit. */
static const struct ctl_cmd *check_command(int argc, char **argv)
{
	const struct ctl_cmd *c;
	int nargs = argc - 1;

	if (argc < 1) {
		fprintf(stderr, "brflowctl: missing command; use --help for help\n");
		return NULL;
	}
	c = find_cmd(argv[0]);
	if (!c) {
		fprintf(stderr, "brflowctl: unknown command '%s'; use --help for help\n",
			argv[0]);
		return NULL;
	}
	if (nargs < c->min_args || nargs > c->max_args) {
		fprintf(stderr, "brflowctl: %s: wrong number of arguments (%d); usage: brflowctl [OPTIONS] %s%s%s\n",
			c->name, nargs, c->name, *c->args ? " " : "", c->args);
		return NULL;
	}
	return c;
}

/* dpi-stats talks to brflow-dpi's own socket, same framing, request
 * "stats". */
static int run_dpi_stats(const struct ctl_opts *o, const struct ctl_cmd *c)
{
	static const char req[] = "stats";
	const char *path = o->dpi_socket;
	char *reply = NULL;
	size_t rlen;
	int fd, ret = 1;

	if (!path || !*path)
		path = getenv("BRFLOW_DPI_SOCKET");
	if (!path || !*path)
		path = DPI_DEFAULT_SOCKET;
	fd = connect_daemon(path, o->timeout);
	if (fd < 0)
		return 1;
	if (exchange(fd, c->name, req, sizeof(req), &reply, &rlen) == 0)
		ret = handle_reply(c->name, reply, rlen);
	close(fd);
	free(reply);
	return ret;
}

/* add-flow, del-flows and mod-flows BR - take their flows from standard
 * input, one a line, as ovs-ofctl's do: add-flow becomes add-flows, the
 * others tell the daemon the argument is a file (--flows-file). */
static bool flows_from_stdin(const struct ctl_cmd *c, char **args, int nargs)
{
	return nargs == 2 && !strcmp(args[1], "-") &&
	       (!strcmp(c->name, "add-flow") || !strcmp(c->name, "del-flows") ||
		!strcmp(c->name, "mod-flows"));
}

static int run(const struct ctl_opts *opts, const struct ctl_cmd *c,
	       char **args, int nargs)
{
	char *file = NULL, *req = NULL, *reply = NULL;
	const char *name = c->name;
	struct ctl_opts o = *opts;
	int fd = -1, ret = 1, file_arg = c->file_arg;
	size_t len, rlen;

	if (!strcmp(c->name, "dpi-stats"))
		return run_dpi_stats(&o, c);
	if (flows_from_stdin(c, args, nargs)) {
		file_arg = 1;
		if (!strcmp(c->name, "add-flow"))
			name = "add-flows";
		else
			o.flows_file = true;
	}
	if (file_arg >= 0 && file_arg < nargs) {
		file = read_flow_file(args[file_arg]);
		if (!file)
			goto out;
		args[file_arg] = file;
	}
	req = build_request(&o, name, args, nargs, &len);
	if (!req)
		goto out;
	fd = connect_daemon(ctlproto_socket_path(o.socket), o.timeout);
	if (fd < 0)
		goto out;
	if (exchange(fd, c->name, req, len, &reply, &rlen) < 0)
		goto out;
	/* as ovs-vsctl: br-exists says nothing, only its exit status */
	if (!strcmp(c->name, "br-exists") && rlen && reply[0] == '0') {
		ret = rlen > 1 ? EXIT_NO_BRIDGE : 0;
		goto out;
	}
	ret = handle_reply(c->name, reply, rlen);
	/* as ovs-ofctl: diff-flows exits 2 when it printed a difference */
	if (!ret && !strcmp(c->name, "diff-flows") && rlen > 1)
		ret = EXIT_DIFFERENT;
out:
	if (fd >= 0)
		close(fd);
	free(reply);
	free(req);
	free(file);
	return ret;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .timeout = DEFAULT_TIMEOUT, .names = -1 };
	const struct ctl_cmd *c;
	char **ops;
	int nops, ret;

	ops = calloc(argc, sizeof(*ops));
	o.ct_next = calloc(argc, sizeof(*o.ct_next));
	o.sort = calloc(argc, sizeof(*o.sort));
	if (!ops || !o.ct_next || !o.sort) {
		perror("brflowctl");
		free(ops);
		free(o.ct_next);
		free(o.sort);
		return 1;
	}
	ret = parse_options(argc, argv, &o, ops, &nops);
	if (ret <= 0) {
		ret = ret < 0 ? EXIT_USAGE : 0;
		goto out;
	}
	c = check_command(nops, ops);
	if (!c) {
		ret = EXIT_USAGE;
		goto out;
	}
	ret = run(&o, c, ops + 1, nops - 1);
out:
	free(ops);
	free(o.ct_next);
	free(o.sort);
	return ret;
}
