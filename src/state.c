/* brflowd's bridges, ports and flows in memory and on disk (state.h). */
#include "state.h"
#include "bridge_nl.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../rules/errstr.h"
#include "dpi_conf.h"
#include "log.h"
#include "nat_setup.h"
#include "offload.h"
#include "port_stats.h"

#define STATE_SUFFIX ".bridge"

int st_init(struct st_state *st, const char *dir)
{
	memset(st, 0, sizeof(*st));
	st->started_ms = st_now_ms();
	st->dir = strdup(dir);
	return st->dir ? 0 : -1;
}

void st_free(struct st_state *st)
{
	for (int i = 0; i < st->n_bridges; i++)
		st_bridge_free(st->bridges[i]);
	free(st->bridges);
	free(st->dir);
	memset(st, 0, sizeof(*st));
}

bool st_valid_ifname(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= 16 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			return false;
	return true;
}

static int bridge_index(const struct st_state *st, const char *name)
{
	for (int i = 0; i < st->n_bridges; i++)
		if (!strcmp(st->bridges[i]->name, name))
			return i;
	return -1;
}

struct st_bridge *st_find_bridge(struct st_state *st, const char *name)
{
	int i = bridge_index(st, name);

	return i < 0 ? NULL : st->bridges[i];
}

struct st_bridge *st_find_port_owner(struct st_state *st, const char *ifname)
{
	for (int i = 0; i < st->n_bridges; i++)
		if (st_port_index(st->bridges[i], ifname) >= 0)
			return st->bridges[i];
	return NULL;
}

static void drop_loaded(struct st_bridge *b)
{
	if (b->loaded)
		nir_ruleset_free(b->loaded);
	free(b->loaded);
	compile_plan_free(b->plan);
	b->loaded = NULL;
	b->plan = NULL;
}

/* Keeps the ruleset the kernel now runs (taken from *rs) and its plan. */
static void keep_loaded(struct st_bridge *b, struct nir_ruleset *rs,
			struct compile_plan *plan)
{
	drop_loaded(b);
	b->loaded = malloc(sizeof(*b->loaded));
	if (!b->loaded) {
		compile_plan_free(plan);
		return;
	}
	*b->loaded = *rs;
	memset(rs, 0, sizeof(*rs));
	b->plan = plan;
}

struct st_bridge *st_bridge_new(const char *name)
{
	struct st_bridge *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->next_id = 1;
	return b;
}

void st_bridge_free(struct st_bridge *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->n_flows; i++)
		flow_free(&b->flows[i].flow);
	for (int i = 0; i < b->n_groups; i++)
		group_free(&b->groups[i]);
	free(b->flows);
	free(b->groups);
	free(b->group_created_ms);
	free(b->meters);
	free(b->meter_created_ms);
	free(b->ports);
	free(b->zone_tps);
	free(b->zone_limits);
	drop_loaded(b);
	free(b);
}

struct st_bridge *st_bridge_clone(const struct st_bridge *b)
{
	struct st_bridge *nb = st_bridge_new(b->name);

	if (!nb)
		return NULL;
	nb->next_id = b->next_id;
	nb->offload = b->offload;
	nb->local_config = b->local_config;
	nb->ports = malloc(sizeof(*nb->ports) * (b->n_ports + 1));
	nb->flows = calloc(b->n_flows + 1, sizeof(*nb->flows));
	nb->cap_flows = b->n_flows + 1;
	if (!nb->ports || !nb->flows)
		goto fail;
	if (b->n_ports)
		memcpy(nb->ports, b->ports, sizeof(*nb->ports) * b->n_ports);
	nb->n_ports = b->n_ports;
	for (int i = 0; i < b->n_flows; i++) {
		nb->flows[i].id = b->flows[i].id;
		nb->flows[i].created_ms = b->flows[i].created_ms;
		nb->flows[i].modified_ms = b->flows[i].modified_ms;
		nb->flows[i].counters_ms = b->flows[i].counters_ms;
		if (flow_copy(&nb->flows[i].flow, &b->flows[i].flow))
			goto fail;
		nb->n_flows++;
	}
	nb->groups = calloc(b->n_groups + 1, sizeof(*nb->groups));
	nb->group_created_ms = malloc(sizeof(int64_t) * (b->n_groups + 1));
	if (!nb->groups || !nb->group_created_ms)
		goto fail;
	if (b->n_groups)
		memcpy(nb->group_created_ms, b->group_created_ms,
		       sizeof(int64_t) * b->n_groups);
	for (int i = 0; i < b->n_groups; i++) {
		if (group_copy(&nb->groups[i], &b->groups[i]))
			goto fail;
		nb->n_groups++;
	}
	nb->meters = malloc(sizeof(*nb->meters) * (b->n_meters + 1));
	nb->meter_created_ms = malloc(sizeof(int64_t) * (b->n_meters + 1));
	if (!nb->meters || !nb->meter_created_ms)
		goto fail;
	if (b->n_meters) {
		memcpy(nb->meters, b->meters, sizeof(*nb->meters) * b->n_meters);
		memcpy(nb->meter_created_ms, b->meter_created_ms,
		       sizeof(int64_t) * b->n_meters);
	}
	nb->n_meters = b->n_meters;
	nb->zone_tps = malloc(sizeof(*nb->zone_tps) * (b->n_zone_tps + 1));
	if (!nb->zone_tps)
		goto fail;
	if (b->n_zone_tps)
		memcpy(nb->zone_tps, b->zone_tps, sizeof(*nb->zone_tps) * b->n_zone_tps);
	nb->n_zone_tps = b->n_zone_tps;
	nb->zone_limits = malloc(sizeof(*nb->zone_limits) * (b->n_zone_limits + 1));
	if (!nb->zone_limits)
		goto fail;
	if (b->n_zone_limits)
		memcpy(nb->zone_limits, b->zone_limits,
		       sizeof(*nb->zone_limits) * b->n_zone_limits);
	nb->n_zone_limits = b->n_zone_limits;
	return nb;
fail:
	st_bridge_free(nb);
	return NULL;
}

int st_port_index(const struct st_bridge *b, const char *ifname)
{
	for (int i = 0; i < b->n_ports; i++)
		if (!strcmp(b->ports[i].ifname, ifname))
			return i;
	return -1;
}

int st_port_index_by_ofport(const struct st_bridge *b, uint16_t ofport)
{
	for (int i = 0; i < b->n_ports; i++)
		if (b->ports[i].ofport == ofport)
			return i;
	return -1;
}

uint16_t st_free_ofport(const struct st_bridge *b)
{
	for (int n = 1; n <= BRFLOW_MAX_OFPORT; n++)
		if (st_port_index_by_ofport(b, n) < 0)
			return n;
	return 0;
}

static int port_cmp(const void *a, const void *b)
{
	const struct compile_port *pa = a, *pb = b;

	return (int)pa->ofport - (int)pb->ofport;
}

int st_add_port(struct st_bridge *b, const char *ifname, uint16_t ofport)
{
	struct compile_port *p = realloc(b->ports, sizeof(*p) * (b->n_ports + 1));

	if (!p)
		return -1;
	b->ports = p;
	memset(&p[b->n_ports], 0, sizeof(*p));
	snprintf(p[b->n_ports].ifname, sizeof(p->ifname), "%s", ifname);
	p[b->n_ports].ofport = ofport;
	b->n_ports++;
	qsort(b->ports, b->n_ports, sizeof(*p), port_cmp);
	return 0;
}

void st_del_port(struct st_bridge *b, int idx)
{
	memmove(&b->ports[idx], &b->ports[idx + 1],
		sizeof(*b->ports) * (b->n_ports - idx - 1));
	b->n_ports--;
}

struct st_flow *st_add_flow(struct st_bridge *b, struct flow *f, uint64_t id,
			    int64_t created_ms)
{
	struct st_flow *sf;

	/* tables of 100 000 flows: grow by doubling */
	if (b->n_flows == b->cap_flows) {
		int cap = b->cap_flows ? b->cap_flows * 2 : 16;
		struct st_flow *arr = realloc(b->flows, sizeof(*arr) * cap);

		if (!arr)
			return NULL;
		b->flows = arr;
		b->cap_flows = cap;
	}
	sf = &b->flows[b->n_flows++];
	if (!id)
		id = b->next_id;
	if (id >= b->next_id)
		b->next_id = id + 1;
	sf->id = id;
	sf->created_ms = created_ms;
	sf->modified_ms = created_ms;
	sf->counters_ms = created_ms;
	sf->flow = *f;
	memset(f, 0, sizeof(*f));
	return sf;
}

int st_reserve_flows(struct st_bridge *b, int n)
{
	struct st_flow *arr;

	if (n <= b->cap_flows)
		return 0;
	arr = realloc(b->flows, sizeof(*arr) * n);
	if (!arr)
		return -1;
	b->flows = arr;
	b->cap_flows = n;
	return 0;
}

void st_del_flow(struct st_bridge *b, int idx)
{
	flow_free(&b->flows[idx].flow);
	memmove(&b->flows[idx], &b->flows[idx + 1],
		sizeof(*b->flows) * (b->n_flows - idx - 1));
	b->n_flows--;
}

int st_group_index(const struct st_bridge *b, uint32_t group_id)
{
	for (int i = 0; i < b->n_groups; i++)
		if (b->groups[i].group_id == group_id)
			return i;
	return -1;
}

/* Makes room at index pos of an id-ordered array of n elements of elem
 * bytes and of its creation times, for a new id: both grown by one, the
 * tail moved up, the new creation time now.  The array, moved, or NULL
 * out of memory (then arr still holds its n elements). */
static void *insert_at(void *arr, size_t elem, int64_t **created, int n, int pos)
{
	int64_t *c = realloc(*created, sizeof(*c) * (n + 1));
	char *a;

	if (!c)
		return NULL;
	*created = c;
	a = realloc(arr, elem * (n + 1));
	if (!a)
		return NULL;
	memmove(a + elem * (pos + 1), a + elem * pos, elem * (n - pos));
	memmove(&c[pos + 1], &c[pos], sizeof(*c) * (n - pos));
	c[pos] = st_now_ms();
	return a;
}

int st_set_group(struct st_bridge *b, struct ofgroup *g)
{
	int i = st_group_index(b, g->group_id);
	struct ofgroup *grown;

	if (i >= 0) {
		group_free(&b->groups[i]);
	} else {
		for (i = 0; i < b->n_groups && b->groups[i].group_id < g->group_id; i++)
			;
		grown = insert_at(b->groups, sizeof(*b->groups), &b->group_created_ms,
				  b->n_groups, i);
		if (!grown)
			return -1;
		b->groups = grown;
		b->n_groups++;
	}
	b->groups[i] = *g;
	memset(g, 0, sizeof(*g));
	return 0;
}

void st_del_group(struct st_bridge *b, int idx)
{
	group_free(&b->groups[idx]);
	memmove(&b->groups[idx], &b->groups[idx + 1],
		sizeof(*b->groups) * (b->n_groups - idx - 1));
	memmove(&b->group_created_ms[idx], &b->group_created_ms[idx + 1],
		sizeof(int64_t) * (b->n_groups - idx - 1));
	b->n_groups--;
}

int st_meter_index(const struct st_bridge *b, uint32_t meter_id)
{
	for (int i = 0; i < b->n_meters; i++)
		if (b->meters[i].meter_id == meter_id)
			return i;
	return -1;
}

int st_set_meter(struct st_bridge *b, const struct ofmeter *m)
{
	int i = st_meter_index(b, m->meter_id);
	struct ofmeter *grown;

	if (i < 0) {
		for (i = 0; i < b->n_meters && b->meters[i].meter_id < m->meter_id; i++)
			;
		grown = insert_at(b->meters, sizeof(*b->meters), &b->meter_created_ms,
				  b->n_meters, i);
		if (!grown)
			return -1;
		b->meters = grown;
		b->n_meters++;
	}
	b->meters[i] = *m;
	return 0;
}

void st_del_meter(struct st_bridge *b, int idx)
{
	memmove(&b->meters[idx], &b->meters[idx + 1],
		sizeof(*b->meters) * (b->n_meters - idx - 1));
	memmove(&b->meter_created_ms[idx], &b->meter_created_ms[idx + 1],
		sizeof(int64_t) * (b->n_meters - idx - 1));
	b->n_meters--;
}

int64_t st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The kernel's features, probed once at start (brflowd.c). */
static struct nft_features kernel_features = { .queue = 1, .xt_nfqueue = 1, .ct_helper = 1 };

void st_use_features(const struct nft_features *f)
{
	kernel_features = *f;
}

/* The namespace's conntrack timeouts (its sysctls), for what a zone's
 * timeout policy leaves unset; the kernel's defaults where unreadable. */
static void kernel_timeouts(uint32_t *tcp, uint32_t *udp)
{
	static const struct {
		const char *sysctl;  /* under /proc/sys/net/netfilter/ */
		uint32_t dflt;
	} tcp_keys[TP_TCP_KEYS] = {
		{ "nf_conntrack_tcp_timeout_syn_sent", 120 },
		{ "nf_conntrack_tcp_timeout_syn_recv", 60 },
		{ "nf_conntrack_tcp_timeout_established", 432000 },
		{ "nf_conntrack_tcp_timeout_fin_wait", 120 },
		{ "nf_conntrack_tcp_timeout_close_wait", 60 },
		{ "nf_conntrack_tcp_timeout_last_ack", 30 },
		{ "nf_conntrack_tcp_timeout_time_wait", 120 },
		{ "nf_conntrack_tcp_timeout_close", 10 },
		{ "nf_conntrack_tcp_timeout_syn_sent", 120 }, /* syn_sent2 */
		{ "nf_conntrack_tcp_timeout_max_retrans", 300 },
		{ "nf_conntrack_tcp_timeout_unacknowledged", 300 },
	}, udp_keys[2] = {
		{ "nf_conntrack_udp_timeout", 30 },
		{ "nf_conntrack_udp_timeout_stream", 120 },
	};

	for (int i = 0; i < TP_TCP_KEYS + 2; i++) {
		bool is_tcp = i < TP_TCP_KEYS;
		const char *name = is_tcp ? tcp_keys[i].sysctl : udp_keys[i - TP_TCP_KEYS].sysctl;
		uint32_t *to = is_tcp ? &tcp[i] : &udp[i - TP_TCP_KEYS];
		char path[128];
		unsigned int v;
		FILE *f;

		*to = is_tcp ? tcp_keys[i].dflt : udp_keys[i - TP_TCP_KEYS].dflt;
		snprintf(path, sizeof(path), "/proc/sys/net/netfilter/%s", name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%u", &v) == 1)
			*to = v;
		fclose(f);
	}
}

char *st_compile(const struct st_bridge *b, struct nir_ruleset *rs)
{
	return st_compile_plan(b, rs, NULL);
}

char *st_compile_plan(const struct st_bridge *b, struct nir_ruleset *rs,
		      struct compile_plan **plan)
{
	struct compile_flow *cf = calloc(b->n_flows + 1, sizeof(*cf));
	struct compile_input in = {
		.bridge = b->name,
		.n_ports = b->n_ports,
		.ports = b->ports,
		.n_flows = b->n_flows,
		.flows = cf,
		.n_groups = b->n_groups,
		.groups = b->groups,
		.n_meters = b->n_meters,
		.meters = b->meters,
		.local_config = b->local_config,
		.n_zone_tps = b->n_zone_tps,
		.zone_tps = b->zone_tps,
		.n_zone_limits = b->n_zone_limits,
		.zone_limits = b->zone_limits,
	};
	unsigned int ifindex = if_nametoindex(b->name);
	char *err;

	dpi_conf_hosts(&in.n_dpi_hosts, &in.dpi_hosts);
	/* ifindexes are unique in the namespace (and small in practice), so
	 * they keep bridges' NAT label tags apart. */
	in.nat_tag = (uint8_t)(ifindex % 255 + 1);
	in.lacks_queue = !kernel_features.queue && !kernel_features.xt_nfqueue;
	/* measured faster than br_netfilter (docs/performance.md);
	 * BRFLOW_CONNTRACK=inet keeps br_netfilter, for comparisons */
	in.has_bridge_ct = kernel_features.bridge_ct &&
			   !(getenv("BRFLOW_CONNTRACK") &&
			     !strcmp(getenv("BRFLOW_CONNTRACK"), "inet"));
	in.lacks_ct_helper = !kernel_features.ct_helper;
	if (b->n_zone_tps)
		kernel_timeouts(in.tcp_timeouts, in.udp_timeouts);
	iface_mac(b->name, in.bridge_mac);
	if (!cf)
		return errstr("out of memory");
	for (int i = 0; i < b->n_flows; i++) {
		cf[i].id = b->flows[i].id;
		cf[i].flow = &b->flows[i].flow;
	}
	err = brflow_compile_plan(&in, rs, plan);
	free(cf);
	return err;
}

/* ---- persistence ---- */

static char *state_path(const struct st_state *st, const char *bridge, bool tmp)
{
	char *p;

	if (asprintf(&p, "%s/%s%s%s%s", st->dir, tmp ? "." : "", bridge,
		     STATE_SUFFIX, tmp ? ".tmp" : "") < 0)
		return NULL;
	return p;
}

/* The flow as one line of ovs-ofctl text that flow_parse reads back:
 * "flow ID CREATED[/MODIFIED] table=...", MODIFIED only after a
 * mod-flows, the flow's flags and importance after the cookie. */
static char *flow_line(const struct st_flow *sf)
{
	char *text = flow_format(&sf->flow);
	char *flags = flow_format_flags(sf->flow.flags, ",");
	char cookie[32] = "", modified[32] = "", importance[32] = "";
	char *line = NULL;

	if (!text || !flags)
		goto out;
	if (sf->flow.cookie)
		snprintf(cookie, sizeof(cookie), "cookie=0x%" PRIx64 ",",
			 sf->flow.cookie);
	if (sf->flow.importance)
		snprintf(importance, sizeof(importance), "importance=%u,",
			 sf->flow.importance);
	if (sf->modified_ms != sf->created_ms)
		snprintf(modified, sizeof(modified), "/%" PRId64, sf->modified_ms);
	if (asprintf(&line, "flow %" PRIu64 " %" PRId64 "%s table=%u,%s%s%s%s",
		     sf->id, sf->created_ms, modified, sf->flow.table, cookie,
		     flags, importance, text) < 0)
		line = NULL;
out:
	free(text);
	free(flags);
	return line;
}

static int write_bridge(FILE *f, const struct st_bridge *b)
{
	fprintf(f, "# brflowd state; changed by brflowctl, not by hand\n");
	fprintf(f, "bridge %s\nnext_id %" PRIu64 "\n", b->name, b->next_id);
	if (b->offload != OFFLOAD_DEFAULT)
		fprintf(f, "offload %s\n", offload_name(b->offload, NULL));
	if (b->local_config) {
		char config[64];

		port_config_format(b->local_config, config, sizeof(config));
		fprintf(f, "local %s\n", config);
	}
	for (int i = 0; i < b->n_ports; i++) {
		char config[64] = "", opts[192];

		/* mod-port's config by OVS's names, none by default, then
		 * set-iface's options */
		if (b->ports[i].config) {
			config[0] = ' ';
			port_config_format(b->ports[i].config, config + 1,
					   sizeof(config) - 1);
		}
		st_iface_options_format(&b->ports[i], opts, sizeof(opts));
		fprintf(f, "port %u %s%s%s\n", b->ports[i].ofport, b->ports[i].ifname,
			config, opts);
	}
	for (int i = 0; i < b->n_flows; i++) {
		char *line = flow_line(&b->flows[i]);

		if (!line)
			return -1;
		fprintf(f, "%s\n", line);
		free(line);
	}
	for (int i = 0; i < b->n_groups; i++) {
		char *text = group_format(&b->groups[i]);

		if (!text)
			return -1;
		fprintf(f, "group %s\n", text);
		free(text);
	}
	for (int i = 0; i < b->n_meters; i++) {
		char *text = meter_format(&b->meters[i]);

		if (!text)
			return -1;
		fprintf(f, "meter %s\n", text);
		free(text);
	}
	for (int i = 0; i < b->n_zone_tps; i++) {
		fputs("zone_tp ", f);
		zone_tp_print(&b->zone_tps[i], f);
		fputc('\n', f);
	}
	for (int i = 0; i < b->n_zone_limits; i++) {
		fputs("zone_limit ", f);
		zone_limit_print(&b->zone_limits[i], f);
		fputc('\n', f);
	}
	return 0;
}

int st_set_zone_tp(struct st_bridge *b, const struct zone_tp *tp)
{
	struct zone_tp *arr;
	int i = 0;

	while (i < b->n_zone_tps && b->zone_tps[i].zone < tp->zone)
		i++;
	if (i < b->n_zone_tps && b->zone_tps[i].zone == tp->zone) {
		b->zone_tps[i] = *tp;
		return 0;
	}
	arr = realloc(b->zone_tps, sizeof(*arr) * (b->n_zone_tps + 1));
	if (!arr)
		return -1;
	b->zone_tps = arr;
	memmove(&arr[i + 1], &arr[i], sizeof(*arr) * (b->n_zone_tps - i));
	arr[i] = *tp;
	b->n_zone_tps++;
	return 0;
}

int st_set_zone_limit(struct st_bridge *b, const struct zone_limit *zl)
{
	struct zone_limit *arr;
	int i = 0;

	while (i < b->n_zone_limits && b->zone_limits[i].zone < zl->zone)
		i++;
	if (i < b->n_zone_limits && b->zone_limits[i].zone == zl->zone) {
		b->zone_limits[i] = *zl;
		return 0;
	}
	arr = realloc(b->zone_limits, sizeof(*arr) * (b->n_zone_limits + 1));
	if (!arr)
		return -1;
	b->zone_limits = arr;
	memmove(&arr[i + 1], &arr[i], sizeof(*arr) * (b->n_zone_limits - i));
	arr[i] = *zl;
	b->n_zone_limits++;
	return 0;
}

bool st_del_zone_limit(struct st_bridge *b, int32_t zone)
{
	for (int i = 0; i < b->n_zone_limits; i++) {
		if (b->zone_limits[i].zone != zone)
			continue;
		memmove(&b->zone_limits[i], &b->zone_limits[i + 1],
			sizeof(*b->zone_limits) * (b->n_zone_limits - i - 1));
		b->n_zone_limits--;
		return true;
	}
	return false;
}

bool st_del_zone_tp(struct st_bridge *b, uint16_t zone)
{
	for (int i = 0; i < b->n_zone_tps; i++) {
		if (b->zone_tps[i].zone != zone)
			continue;
		memmove(&b->zone_tps[i], &b->zone_tps[i + 1],
			sizeof(*b->zone_tps) * (b->n_zone_tps - i - 1));
		b->n_zone_tps--;
		return true;
	}
	return false;
}

/* Writes and fsyncs the tmp file; the caller renames it into place. */
static char *write_tmp(const struct st_state *st, const struct st_bridge *b,
		       const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;
	int rc;

	if (fd < 0)
		return errstr("cannot write %s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return errstr("cannot write %s: %s", tmp, strerror(errno));
	}
	rc = write_bridge(f, b);
	if (fflush(f) || ferror(f) || fsync(fd))
		rc = -1;
	if (fclose(f))
		rc = -1;
	if (rc) {
		unlink(tmp);
		return errstr("cannot write state for '%s' in %s", b->name, st->dir);
	}
	return NULL;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

/* ---- counters ---- */

struct id_slot {
	uint64_t id;
	void *ptr;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct id_slot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* "f<id>" -> id; 0 when the name is not a flow counter. */
static uint64_t counter_id(const char *name)
{
	char *end;
	uint64_t id;

	if (name[0] != 'f' || !isdigit((unsigned char)name[1]))
		return 0;
	errno = 0;
	id = strtoull(name + 1, &end, 10);
	return (*end || errno) ? 0 : id;
}

struct id_index {
	int n;
	struct id_slot *slots;
	/* counters that are not a flow's (group buckets, meters): few, by
	 * name (carry only) */
	int n_named;
	struct nir_counter **named;
};

static void *index_find(const struct id_index *ix, const char *counter)
{
	struct id_slot key = { .id = counter_id(counter) };
	struct id_slot *s;

	if (!key.id)
		return NULL;
	s = bsearch(&key, ix->slots, ix->n, sizeof(key), slot_cmp);
	return s ? s->ptr : NULL;
}

/* Where carried statistics go in the new ruleset: a flow's counter object
 * or set element, or the counter of the same name (a group bucket's, a
 * meter's); uint64_t pair: packets, bytes. */
static void carry_counter(const char *name, uint64_t packets, uint64_t bytes,
			  void *arg)
{
	const struct id_index *ix = arg;
	uint64_t *pb = index_find(ix, name);

	for (int i = 0; !pb && i < ix->n_named; i++)
		if (!strcmp(ix->named[i]->name, name))
			pb = &ix->named[i]->packets;
	if (!pb)
		return;
	pb[0] += packets; /* a flow may have counted in several places */
	pb[1] += bytes;
}

/* Gives the new counter objects of 't' the values the kernel holds now for
 * the same names, so statistics survive an update. */
static char *carry_table_counters(struct nir_table *t)
{
	struct id_index ix = { 0 };
	char nerr[256] = "";
	char *err = NULL;

	int n = t->n_counters;

	for (int i = 0; i < t->n_sets; i++)
		n += t->sets[i].counters ? t->sets[i].n_elems : 0;
	ix.slots = calloc(n + 1, sizeof(*ix.slots));
	ix.named = calloc(t->n_counters + 1, sizeof(*ix.named));
	if (!ix.slots || !ix.named) {
		free(ix.slots);
		free(ix.named);
		return errstr("out of memory");
	}
	for (int i = 0; i < t->n_counters; i++) {
		uint64_t id = counter_id(t->counters[i].name);

		if (id)
			ix.slots[ix.n++] = (struct id_slot){ id, &t->counters[i].packets };
		else
			ix.named[ix.n_named++] = &t->counters[i];
	}
	for (int i = 0; i < t->n_sets; i++)
		for (int e = 0; t->sets[i].counters && e < t->sets[i].n_elems; e++)
			ix.slots[ix.n++] = (struct id_slot){ t->sets[i].elems[e].flow_id,
							     &t->sets[i].elems[e].packets };
	qsort(ix.slots, ix.n, sizeof(*ix.slots), slot_cmp);
	if (nft_read_counters(t->family, t->name, carry_counter, &ix, nerr,
			      sizeof(nerr)))
		err = errstr("reading counters of %s: %s", t->name, nerr);
	free(ix.slots);
	free(ix.named);
	return err;
}

struct stats_arg {
	struct id_index ix;
	const struct st_bridge *b;
	uint64_t *packets, *bytes;
};

static void add_stats(const char *name, uint64_t packets, uint64_t bytes,
		      void *arg)
{
	struct stats_arg *sa = arg;
	struct st_flow *sf = index_find(&sa->ix, name);

	if (!sf)
		return;
	sa->packets[sf - sa->b->flows] += packets;
	sa->bytes[sf - sa->b->flows] += bytes;
}

int st_read_stats(const struct st_bridge *b, uint64_t *packets,
		  uint64_t *bytes, char **err)
{
	static const enum nir_family fams[] = { NIR_BRIDGE, NIR_INET };
	struct stats_arg sa = { .b = b, .packets = packets, .bytes = bytes };
	char table[64], nerr[256] = "";
	int rc = 0;

	memset(packets, 0, sizeof(*packets) * b->n_flows);
	memset(bytes, 0, sizeof(*bytes) * b->n_flows);
	sa.ix.slots = calloc(b->n_flows + 1, sizeof(*sa.ix.slots));
	if (!sa.ix.slots) {
		*err = errstr("out of memory");
		return -1;
	}
	for (int i = 0; i < b->n_flows; i++)
		sa.ix.slots[sa.ix.n++] = (struct id_slot){ b->flows[i].id,
							   &b->flows[i] };
	qsort(sa.ix.slots, sa.ix.n, sizeof(*sa.ix.slots), slot_cmp);
	brflow_table_name(b->name, table, sizeof(table));
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if (nft_read_counters(fams[i], table, add_stats, &sa, nerr,
				      sizeof(nerr))) {
			*err = errstr("reading counters of %s: %s", table, nerr);
			rc = -1;
			break;
		}
	}
	free(sa.ix.slots);
	return rc;
}

/* ---- commit ---- */

int st_bridge_adopt(struct st_state *st, struct st_bridge *nb)
{
	int i = bridge_index(st, nb->name);
	struct st_bridge **arr;
	int pos;

	if (i >= 0) {
		st_bridge_free(st->bridges[i]);
		st->bridges[i] = nb;
		return 0;
	}
	arr = realloc(st->bridges, sizeof(*arr) * (st->n_bridges + 1));
	if (!arr)
		return -1;
	st->bridges = arr;
	for (pos = 0; pos < st->n_bridges; pos++)
		if (strcmp(arr[pos]->name, nb->name) > 0)
			break;
	memmove(&arr[pos + 1], &arr[pos], sizeof(*arr) * (st->n_bridges - pos));
	arr[pos] = nb;
	st->n_bridges++;
	return 0;
}

/* The statistics of every flow counter of rs, from the kernel. */
static char *carry_counters(struct nir_ruleset *rs)
{
	char *err = NULL;

	for (int i = 0; i < rs->n_tables && !err; i++)
		err = carry_table_counters(&rs->tables[i]);
	return err;
}

/* Puts rs into the kernel: as a change of the ruleset 'loaded' (which the
 * kernel runs) where there is one, else by replacing the tables.  Flow
 * statistics the kernel cannot keep in place are read first and carried
 * into rs. */
static char *load_ruleset(const char *bridge, const struct nir_ruleset *loaded,
			  struct nir_ruleset *rs)
{
	char nerr[512] = "";
	struct nir_diff d;
	char *err = NULL;
	int64_t t0 = st_now_ms();

	if (nir_diff_build(loaded, rs, &d))
		return errstr("out of memory");
	if (!loaded || d.needs_carry)
		err = carry_counters(rs);
	log_debug("bridge %s: %s, counters %s (%lld ms)", bridge,
		  loaded ? "changing the loaded ruleset" : "replacing the tables",
		  !loaded || d.needs_carry ? "read" : "kept in place",
		  (long long)(st_now_ms() - t0));
	if (!err && nft_update(loaded, rs, &d, nerr, sizeof(nerr)) && loaded) {
		/* the kernel is not what brflowd loaded (someone changed
		 * it): replace the tables, as on a first load */
		log_warn("bridge %s: changing the loaded ruleset failed (%s); "
			 "replacing its tables", bridge, nerr);
		nir_diff_free(&d);
		return load_ruleset(bridge, NULL, rs);
	}
	if (!err && nerr[0])
		err = errstr("%s", nerr);
	nir_diff_free(&d);
	return err;
}

/* Loads a bridge's ruleset and gives the bridge the conntrack path it was
 * compiled for: br_netfilter's inet hooks on before an inet ruleset
 * loads, off once a bridge-family one runs (so that no packet finds
 * neither path, and none is tracked twice for long).  'loaded': what the
 * kernel runs for the bridge now, or NULL. */
static char *apply_ruleset(const struct nir_ruleset *loaded, const char *bridge,
			   struct nir_ruleset *rs)
{
	/* the bridge's setting changes only when the path does */
	bool same = loaded && loaded->bridge_ct == rs->bridge_ct;
	char berr[256] = "";
	char *err;

	if (!same && !rs->bridge_ct &&
	    bridge_set_nf_call(bridge, true, berr, sizeof(berr)))
		log_warn("bridge %s: %s", bridge, berr);
	err = load_ruleset(bridge, loaded, rs);
	if (err)
		return err;
	if (!same && rs->bridge_ct &&
	    bridge_set_nf_call(bridge, false, berr, sizeof(berr)))
		log_warn("bridge %s: %s", bridge, berr);
	return NULL;
}

/* Recompiles and reloads bridge b as it is (the DPI host table moved its
 * bits); memory and disk do not change. */
static void reload_bridge(struct st_bridge *b)
{
	struct nir_ruleset rs = { 0 };
	struct compile_plan *plan = NULL;
	char *err = st_compile_plan(b, &rs, &plan);

	if (!err)
		err = apply_ruleset(b->loaded, b->name, &rs);
	if (err)
		log_err("bridge %s: reloading for the new DPI host table: %s",
			b->name, err);
	if (!err)
		keep_loaded(b, &rs, plan);
	else
		compile_plan_free(plan);
	free(err);
	nir_ruleset_free(&rs);
}

struct tmp_writer {
	const struct st_state *st;
	const struct st_bridge *b;
	const char *tmp;
	char *err;
};

static void *write_tmp_thread(void *arg)
{
	struct tmp_writer *w = arg;

	w->err = write_tmp(w->st, w->b, w->tmp);
	return NULL;
}

/* The state file could not be written after the kernel took 'now': the
 * kernel goes back to what the disk still says, the ruleset of 'old' (or
 * no tables for a bridge that is new).  NULL, or why it could not. */
static char *restore_ruleset(const struct st_bridge *old, const char *bridge,
			     const struct nir_ruleset *now)
{
	char table[64], nerr[512] = "";

	if (old && old->loaded)
		return apply_ruleset(now, bridge, old->loaded);
	if (old)
		return errstr("the bridge had no loaded ruleset to go back to");
	brflow_table_name(bridge, table, sizeof(table));
	return nft_delete_tables(table, nerr, sizeof(nerr)) ? errstr("%s", nerr) : NULL;
}

char *st_bridge_commit(struct st_state *st, struct st_bridge *nb)
{
	struct compile_plan *plan = NULL;
	struct tmp_writer writer;
	pthread_t thread;
	bool threaded;
	int64_t t[4];
	bool dpi_changed = false;
	struct nir_ruleset rs = { 0 };
	const struct st_bridge *old;
	char *tmp = state_path(st, nb->name, true);
	char *path = state_path(st, nb->name, false);
	char *err = NULL;

	if (!tmp || !path) {
		err = errstr("out of memory");
		goto out;
	}
	/* Make room in st->bridges first so nothing can fail after apply. */
	if (!st_find_bridge(st, nb->name)) {
		void *arr = realloc(st->bridges,
				    sizeof(*st->bridges) * (st->n_bridges + 1));

		if (!arr) {
			err = errstr("out of memory");
			goto out;
		}
		st->bridges = arr;
	}
	err = dpi_conf_stage(st, nb, &dpi_changed);
	if (err)
		goto out;
	t[0] = st_now_ms();
	/* The state file (formatting 100 000 flows, fsync) is written while
	 * the flows compile and the kernel loads them; all only read nb. */
	writer = (struct tmp_writer){ st, nb, tmp, NULL };
	threaded = !pthread_create(&thread, NULL, write_tmp_thread, &writer);
	if (!threaded)
		write_tmp_thread(&writer);
	err = st_compile_plan(nb, &rs, &plan);
	t[1] = st_now_ms();
	old = st_find_bridge(st, nb->name);
	if (!err)
		err = apply_ruleset(old ? old->loaded : NULL, nb->name, &rs);
	t[2] = st_now_ms();
	if (threaded)
		pthread_join(thread, NULL);
	t[3] = st_now_ms();
	log_debug("bridge %s: %d flows: compile %lld ms, counters and kernel %lld ms (the state file written meanwhile), state file %lld ms more",
		  nb->name, nb->n_flows, (long long)(t[1] - t[0]),
		  (long long)(t[2] - t[1]), (long long)(t[3] - t[2]));
	if (err) {
		if (!writer.err)
			unlink(tmp);
		free(writer.err);
		goto out_rs;
	}
	if (writer.err) {
		/* nothing half-applied: what the disk cannot keep, the
		 * kernel does not run either */
		char *rerr = restore_ruleset(old, nb->name, &rs);

		if (rerr)
			log_err("bridge %s: restoring the previous ruleset: %s", nb->name, rerr);
		err = errstr("%s; %s", writer.err, rerr ? "the kernel runs the new "
			   "ruleset, which a restart would not restore" :
			   "the bridge keeps its previous flows");
		free(rerr);
		free(writer.err);
		goto out_rs;
	}
	/* The kernel runs the new ruleset now; memory must follow it even
	 * if the disk does not. */
	if (rename(tmp, path)) {
		log_err("cannot save state of bridge '%s' to %s: %s", nb->name,
			path, strerror(errno));
		unlink(tmp);
	} else {
		sync_dir(st->dir);
	}
	keep_loaded(nb, &rs, plan);
	plan = NULL;
	st_bridge_adopt(st, nb); /* cannot fail: room was made above */
	nat_setup_bridge(nb);
	offload_after_change(st);
	for (int i = 0; dpi_changed && i < st->n_bridges; i++)
		if (st->bridges[i] != nb)
			reload_bridge(st->bridges[i]);
	dpi_conf_sync();
out_rs:
	compile_plan_free(plan);
	nir_ruleset_free(&rs);
	if (err)
		dpi_conf_rollback();
out:
	free(tmp);
	free(path);
	return err;
}

/* ---- incremental updates ---- */

/* The loaded sets follow the kernel. */
static void apply_changes(struct nir_ruleset *rs, const struct set_change *ch,
			  int n)
{
	for (int i = 0; i < n; i++) {
		struct nir_set *set = &rs->tables[ch[i].table].sets[ch[i].set];
		struct nir_set_elem *e;

		if (ch[i].add) {
			e = nir_set_add_elem(set);
			if (e)
				*e = ch[i].elem;
			continue;
		}
		for (int k = 0; k < set->n_elems; k++) {
			if (set->elems[k].flow_id != ch[i].elem.flow_id ||
			    memcmp(set->elems[k].key, ch[i].elem.key, set->key_len))
				continue;
			set->elems[k] = set->elems[--set->n_elems];
			break;
		}
	}
}

/* Appends the change to the state file: "delflow ID" lines, then the
 * added flows' lines, as load_file replays them.  A torn last line (a
 * crash while writing) is skipped when loading. */
static char *journal_append(const struct st_state *st, const struct st_bridge *b,
			    const int *del, int n_del, const struct st_flow *added,
			    int n_add)
{
	char *path = state_path(st, b->name, false);
	char *err = NULL;
	FILE *f;
	int fd;

	if (!path)
		return errstr("out of memory");
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	f = fd < 0 ? NULL : fdopen(fd, "a");
	if (!f) {
		err = errstr("cannot append to %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return err;
	}
	for (int i = 0; i < n_del; i++)
		fprintf(f, "delflow %" PRIu64 "\n", b->flows[del[i]].id);
	for (int i = 0; i < n_add; i++) {
		char *line = flow_line(&added[i]);

		if (!line) {
			err = errstr("out of memory");
			break;
		}
		fprintf(f, "%s\n", line);
		free(line);
	}
	if (fflush(f) || ferror(f) || fdatasync(fd))
		err = err ? err : errstr("cannot append to %s: %s", path, strerror(errno));
	fclose(f);
	free(path);
	return err;
}

static int cmp_desc(const void *a, const void *b)
{
	return *(const int *)b - *(const int *)a;
}

static bool fast_flow_ok(const struct flow *f)
{
	/* dpi_host patterns live in the shared host table (dpi.conf) */
	return !f->dpi_host;
}

/* mod-flows keeps a flow's id and counters: its new elements start from
 * the counts of the elements it loses. */
static void carry_elem_counters(const struct nir_ruleset *rs,
				struct set_change *ch, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t total[2] = { 0, 0 }, pk, by;
		int first_add = -1;

		if (!ch[i].add)
			continue;
		for (int k = 0; k < i && first_add < 0; k++)
			if (ch[k].add && ch[k].elem.flow_id == ch[i].elem.flow_id)
				first_add = k;
		if (first_add >= 0)
			continue; /* the flow's first new element carries it all */
		for (int k = 0; k < n; k++) {
			if (ch[k].add || ch[k].elem.flow_id != ch[i].elem.flow_id ||
			    nft_read_elem_counter(rs, &ch[k], &pk, &by))
				continue;
			total[0] += pk;
			total[1] += by;
		}
		ch[i].elem.packets = total[0];
		ch[i].elem.bytes = total[1];
	}
}

/* Whether the kernel's sets take the elements 'ch' adds (a set loaded
 * with many elements has a fixed size, see nir_set_room). */
static bool sets_have_room(const struct nir_ruleset *rs,
			   const struct set_change *ch, int n)
{
	for (int i = 0; i < n; i++) {
		int more = 0;

		for (int k = 0; k < n; k++)
			if (ch[k].table == ch[i].table && ch[k].set == ch[i].set)
				more += ch[k].add ? 1 : -1;
		if (!nir_set_room(&rs->tables[ch[i].table].sets[ch[i].set], more))
			return false;
	}
	return true;
}

/* A set without counters (a pre-pass copy) has one kernel element per key
 * however many flows share it: a change to a key another flow shares takes
 * the full reload, whose diff knows (nftir_diff.c). */
static bool touches_shared_key(const struct nir_ruleset *rs,
			       const struct set_change *ch, int n)
{
	for (int i = 0; i < n; i++) {
		const struct nir_set *set = &rs->tables[ch[i].table].sets[ch[i].set];
		int same = 0;

		for (int k = 0; !set->counters && k < set->n_elems; k++)
			same += !memcmp(set->elems[k].key, ch[i].elem.key, set->key_len);
		if (ch[i].add ? same > 0 : same > 1)
			return true;
	}
	return false;
}

int st_fast_update(struct st_state *st, struct st_bridge *b, const int *del,
		   int n_del, struct flow *add, int n_add,
		   const struct st_flow *keep, char **err)
{
	struct set_change *ch = NULL;
	struct st_flow *added = NULL;
	int *order = NULL, n = 0, ret = 0;
	char nerr[512] = "";
	char *jerr;

	*err = NULL;
	if (!b->plan || !b->loaded)
		return 0;
	for (int i = 0; i < n_del; i++) {
		struct compile_flow cf = { b->flows[del[i]].id, &b->flows[del[i]].flow };

		if (!fast_flow_ok(cf.flow) ||
		    compile_plan_change(b->plan, b->loaded, &cf, false, &ch, &n))
			goto out;
	}
	added = calloc(n_add + 1, sizeof(*added));
	order = malloc((n_del + 1) * sizeof(*order));
	if (!added || !order)
		goto out;
	for (int i = 0; i < n_add; i++) {
		struct compile_flow cf = { keep ? keep[i].id : b->next_id + (uint64_t)i,
					   &add[i] };

		if (!fast_flow_ok(cf.flow) ||
		    compile_plan_change(b->plan, b->loaded, &cf, true, &ch, &n))
			goto out;
		added[i] = (struct st_flow){ .id = cf.id,
			.created_ms = keep ? keep[i].created_ms : st_now_ms(),
			.flow = add[i] };
		added[i].modified_ms = keep ? keep[i].modified_ms : added[i].created_ms;
		added[i].counters_ms = keep ? keep[i].counters_ms : added[i].created_ms;
	}
	if (!sets_have_room(b->loaded, ch, n) || touches_shared_key(b->loaded, ch, n))
		goto out; /* a full reload does it */
	if (keep)
		carry_elem_counters(b->loaded, ch, n);
	if (n && nft_change_elems(b->loaded, ch, n, nerr, sizeof(nerr))) {
		*err = errstr("%s", nerr[0] ? nerr : "nftables transaction failed");
		ret = -1;
		goto out;
	}
	/* The kernel runs the change: memory and disk follow. */
	apply_changes(b->loaded, ch, n);
	offload_after_change(st);
	jerr = journal_append(st, b, del, n_del, added, n_add);
	if (jerr) {
		log_err("bridge %s: %s", b->name, jerr);
		free(jerr);
	}
	if (n_del) {
		memcpy(order, del, n_del * sizeof(*order));
		qsort(order, n_del, sizeof(*order), cmp_desc);
	}
	/* dump-flows sorts by table, priority and id: order in memory is
	 * free, so a delete moves the last flow into the hole */
	for (int i = 0; i < n_del; i++) {
		flow_free(&b->flows[order[i]].flow);
		b->flows[order[i]] = b->flows[--b->n_flows];
	}
	for (int i = 0; i < n_add; i++) {
		struct st_flow *sf = st_add_flow(b, &add[i], added[i].id,
						 added[i].created_ms);

		if (sf) {
			sf->modified_ms = added[i].modified_ms;
			sf->counters_ms = added[i].counters_ms;
		}
	}
	ret = 1;
out:
	free(ch);
	free(added);
	free(order);
	return ret;
}

void st_bridge_forget(struct st_state *st, const char *name)
{
	int i = bridge_index(st, name);
	char *path = state_path(st, name, false);

	if (path && unlink(path) && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	else if (path)
		sync_dir(st->dir);
	free(path);
	if (i < 0)
		return;
	st_bridge_free(st->bridges[i]);
	memmove(&st->bridges[i], &st->bridges[i + 1],
		sizeof(*st->bridges) * (st->n_bridges - i - 1));
	st->n_bridges--;
}

/* ---- loading ---- */

static char *parse_flow_line(struct st_bridge *b, char *rest)
{
	uint64_t id;
	int64_t created, modified;
	int used = 0, more = 0;
	struct st_flow *sf;
	struct flow f;
	char *perr;

	if (sscanf(rest, "%" SCNu64 " %" SCNd64 "%n", &id, &created, &used) < 2 ||
	    !used || !id)
		return errstr("bad flow line");
	modified = created;
	if (rest[used] == '/' &&
	    sscanf(rest + used, "/%" SCNd64 "%n", &modified, &more) == 1)
		used += more;
	if (rest[used] != ' ')
		return errstr("bad flow line");
	used += (int)strspn(rest + used, " ");
	perr = flow_parse(rest + used, &f, NULL);
	if (perr) {
		char *e = errstr("flow %" PRIu64 ": %s", id, perr);

		free(perr);
		return e;
	}
	/* the flags kept with the flow, not a flow_mod's requests */
	f.check_overlap = f.reset_counts = false;
	sf = st_add_flow(b, &f, id, created);
	if (!sf) {
		flow_free(&f);
		return errstr("out of memory");
	}
	sf->modified_ms = modified;
	return NULL;
}

/* "zone_tp zone=N KEY=SECS ...", as write_bridge puts it. */
static char *parse_zone_tp_line(struct st_bridge *b, char *rest)
{
	char *words[TP_KEYS + 2], *save = NULL, *w;
	struct zone_tp tp;
	char *err;
	int n = 0;

	for (w = strtok_r(rest, " \t", &save); w && n < TP_KEYS + 2;
	     w = strtok_r(NULL, " \t", &save))
		words[n++] = w;
	err = zone_tp_parse(words, n, &tp);
	if (err) {
		char *e = errstr("zone_tp: %s", err);

		free(err);
		return e;
	}
	return st_set_zone_tp(b, &tp) ? errstr("out of memory") : NULL;
}

/* "zone_limit ZONE|default LIMIT", as write_bridge puts it. */
static char *parse_zone_limit_line(struct st_bridge *b, char *rest)
{
	char zone[16], limit[16], extra;
	struct zone_limit zl;
	char *err;

	if (sscanf(rest, "%15s %15s %c", zone, limit, &extra) != 2)
		return errstr("zone_limit: '%s' must be ZONE LIMIT", rest);
	err = zone_limit_parse(zone, limit, &zl);
	if (err) {
		char *e = errstr("zone_limit: %s", err);

		free(err);
		return e;
	}
	return st_set_zone_limit(b, &zl) ? errstr("out of memory") : NULL;
}

/* Journal of an incremental update (st_fast_update). */
static char *parse_delflow_line(struct st_bridge *b, char *rest)
{
	uint64_t id;

	if (sscanf(rest, "%" SCNu64, &id) != 1)
		return errstr("bad delflow line");
	for (int i = 0; i < b->n_flows; i++) {
		if (b->flows[i].id == id) {
			flow_free(&b->flows[i].flow);
			b->flows[i] = b->flows[--b->n_flows];
			return NULL;
		}
	}
	return errstr("delflow %" PRIu64 ": no such flow", id);
}

static char *parse_group_line(struct st_bridge *b, char *rest)
{
	struct ofgroup g;
	char *perr = group_parse(rest, &g, false);

	if (perr) {
		char *e = errstr("group: %s", perr);

		free(perr);
		return e;
	}
	if (st_group_index(b, g.group_id) >= 0) {
		group_free(&g);
		return errstr("duplicate group %u", g.group_id);
	}
	if (st_set_group(b, &g)) {
		group_free(&g);
		return errstr("out of memory");
	}
	return NULL;
}

static char *parse_meter_line(struct st_bridge *b, char *rest)
{
	struct ofmeter m;
	char *perr = meter_parse(rest, &m, false);

	if (perr) {
		char *e = errstr("meter: %s", perr);

		free(perr);
		return e;
	}
	if (st_meter_index(b, m.meter_id) >= 0)
		return errstr("duplicate meter %u", m.meter_id);
	return st_set_meter(b, &m) ? errstr("out of memory") : NULL;
}

static const struct {
	const char *key;
	size_t offset;
} iface_options[] = {
	{ "ingress_policing_rate", offsetof(struct compile_port, police_rate_kbps) },
	{ "ingress_policing_burst", offsetof(struct compile_port, police_burst_kb) },
	{ "ingress_policing_kpkts_rate", offsetof(struct compile_port, police_kpkts_rate) },
	{ "ingress_policing_kpkts_burst", offsetof(struct compile_port, police_kpkts_burst) },
};

char *st_iface_option(struct compile_port *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	unsigned long long v;
	char *end;

	for (size_t i = 0; eq && i < sizeof(iface_options) / sizeof(iface_options[0]); i++) {
		if (strlen(iface_options[i].key) != (size_t)(eq - kv) ||
		    strncmp(kv, iface_options[i].key, eq - kv))
			continue;
		errno = 0;
		v = strtoull(eq + 1, &end, 10);
		if (!isdigit((unsigned char)eq[1]) || *end || errno || v > UINT32_MAX)
			return errstr("bad value in '%s' (a whole number, 0 to %u)", kv,
				      UINT32_MAX);
		*(uint32_t *)((char *)p + iface_options[i].offset) = (uint32_t)v;
		return NULL;
	}
	return errstr("unknown interface option '%s' (ingress_policing_rate=KBPS, "
		      "ingress_policing_burst=KB, ingress_policing_kpkts_rate=KPPS or "
		      "ingress_policing_kpkts_burst=KPKTS)", kv);
}

const char *st_iface_option_key(int i)
{
	return i >= 0 && (size_t)i < sizeof(iface_options) / sizeof(iface_options[0]) ?
	       iface_options[i].key : NULL;
}

bool st_iface_option_get(const struct compile_port *p, const char *key, uint32_t *v)
{
	for (size_t i = 0; i < sizeof(iface_options) / sizeof(iface_options[0]); i++) {
		if (!strcmp(key, iface_options[i].key)) {
			*v = *(const uint32_t *)((const char *)p + iface_options[i].offset);
			return true;
		}
	}
	return false;
}

void st_iface_options_format(const struct compile_port *p, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(iface_options) / sizeof(iface_options[0]); i++) {
		uint32_t v = *(const uint32_t *)((const char *)p + iface_options[i].offset);
		int n;

		if (!v || used >= len)
			continue;
		n = snprintf(buf + used, len - used, " %s=%u", iface_options[i].key, v);
		used += n > 0 ? (size_t)n : 0;
	}
}

/* A port's config bits by OVS's names, e.g. "NO_RECV NO_FWD", and (on a
 * port line, p not NULL) its set-iface options. */
static char *parse_port_config(char *text, uint32_t *config, struct compile_port *p)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		uint32_t bit = port_config_bit(tok);

		if (p && strchr(tok, '=')) {
			char *err = st_iface_option(p, tok);

			if (err)
				return err;
			continue;
		}
		if (!bit)
			return errstr("bad port config '%s'", tok);
		*config |= bit;
	}
	return NULL;
}

static char *parse_port_line(struct st_bridge *b, char *rest)
{
	struct compile_port opts = { 0 };
	unsigned ofport;
	char ifname[32];
	uint32_t config = 0;
	int used = 0, i;
	char *err;

	if (sscanf(rest, "%u %31s%n", &ofport, ifname, &used) != 2 || !ofport ||
	    ofport > BRFLOW_MAX_OFPORT || !st_valid_ifname(ifname))
		return errstr("bad port line");
	err = parse_port_config(rest + used, &config, &opts);
	if (err)
		return err;
	if (st_port_index(b, ifname) >= 0 || st_port_index_by_ofport(b, ofport) >= 0)
		return errstr("duplicate port '%s'", ifname);
	if (st_add_port(b, ifname, ofport))
		return errstr("out of memory");
	i = st_port_index(b, ifname);
	b->ports[i].config = config;
	b->ports[i].police_rate_kbps = opts.police_rate_kbps;
	b->ports[i].police_burst_kb = opts.police_burst_kb;
	b->ports[i].police_kpkts_rate = opts.police_kpkts_rate;
	b->ports[i].police_kpkts_burst = opts.police_kpkts_burst;
	return NULL;
}

static char *parse_line(struct st_bridge *b, char *line, const char *want)
{
	char *sp = strchr(line, ' ');
	char *rest = sp ? sp + 1 : line + strlen(line);
	size_t klen = sp ? (size_t)(sp - line) : strlen(line);
	uint64_t next;

	if (klen == 6 && !strncmp(line, "bridge", 6))
		return strcmp(rest, want) ? errstr("names bridge '%s'", rest) : NULL;
	if (klen == 7 && !strncmp(line, "next_id", 7)) {
		if (sscanf(rest, "%" SCNu64, &next) != 1)
			return errstr("bad next_id");
		if (next > b->next_id)
			b->next_id = next;
		return NULL;
	}
	if (klen == 4 && !strncmp(line, "port", 4))
		return parse_port_line(b, rest);
	if (klen == 5 && !strncmp(line, "local", 5))
		return parse_port_config(rest, &b->local_config, NULL);
	if (klen == 4 && !strncmp(line, "flow", 4))
		return parse_flow_line(b, rest);
	if (klen == 5 && !strncmp(line, "group", 5))
		return parse_group_line(b, rest);
	if (klen == 5 && !strncmp(line, "meter", 5))
		return parse_meter_line(b, rest);
	if (klen == 7 && !strncmp(line, "zone_tp", 7))
		return parse_zone_tp_line(b, rest);
	if (klen == 10 && !strncmp(line, "zone_limit", 10))
		return parse_zone_limit_line(b, rest);
	if (klen == 7 && !strncmp(line, "delflow", 7))
		return parse_delflow_line(b, rest);
	if (klen == 7 && !strncmp(line, "offload", 7)) {
		b->offload = offload_parse(rest);
		return b->offload < 0 ? errstr("bad offload '%s'", rest) : NULL;
	}
	return errstr("unknown keyword '%.*s'", (int)klen, line);
}

static struct st_bridge *load_file(const char *path, const char *name)
{
	FILE *f = fopen(path, "re");
	struct st_bridge *b;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	char *err = NULL;

	if (!f) {
		log_err("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	b = st_bridge_new(name);
	while (b && !err && (len = getline(&line, &cap, f)) >= 0) {
		bool whole = len > 0 && line[len - 1] == '\n';

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		err = parse_line(b, line, name);
		/* an update appended by st_fast_update that a crash cut short
		 * never took effect for the user: skip it */
		if (err && !whole && feof(f)) {
			log_warn("%s:%d: %s in an unfinished last line; ignored",
				 path, lineno, err);
			free(err);
			err = NULL;
		}
	}
	if (err || !b) {
		log_err("%s:%d: %s; bridge '%s' not loaded", path, lineno,
			err ? err : "out of memory", name);
		st_bridge_free(b);
		b = NULL;
	}
	free(err);
	free(line);
	fclose(f);
	return b;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void st_load_dir(const struct st_state *st, st_load_fn fn, void *arg)
{
	DIR *d = opendir(st->dir);
	struct dirent *de;
	char **names = NULL;
	int n = 0;

	if (!d) {
		log_err("cannot read state dir %s: %s", st->dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(STATE_SUFFIX);
		char **nn;

		if (de->d_name[0] == '.' || len <= sl ||
		    strcmp(de->d_name + len - sl, STATE_SUFFIX))
			continue;
		nn = realloc(names, sizeof(*names) * (n + 1));
		if (!nn)
			break;
		names = nn;
		names[n] = strndup(de->d_name, len - sl);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (int i = 0; i < n; i++) {
		char *path = state_path(st, names[i], false);
		struct st_bridge *b = NULL;

		if (!st_valid_ifname(names[i]))
			log_warn("ignoring %s: not a bridge name", names[i]);
		else if (path)
			b = load_file(path, names[i]);
		if (b)
			fn(b, arg);
		free(path);
		free(names[i]);
	}
	free(names);
}
