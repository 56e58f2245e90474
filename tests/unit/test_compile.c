/* Golden tests for the compiler: every tests/golden/compile/NAME.flows is
 * compiled and the nft text compared with NAME.nft, or, when NAME.err
 * exists, the compile error compared with it.  In a .flows file, lines
 * "port IFNAME OFPORT [NO_RECV] [NO_FWD] [NO_FLOOD] [PORT_DOWN]
 * [ingress_policing_rate=KBPS] [ingress_policing_burst=KB]
 * [ingress_policing_kpkts_rate=KPPS] [ingress_policing_kpkts_burst=KPKTS]"
 * declare ports, lines "dpi_host PATTERN" the DPI
 * host table, lines "group GROUP" groups (ovs-ofctl add-group syntax),
 * lines "meter METER" meters (ovs-ofctl add-meter syntax),
 * lines "zone_tp zone=N KEY=SECS..." timeout policies (add-zone-tp; the
 * kernel's defaults for what they leave unset),
 * lines "zone_limit ZONE|default LIMIT" connection limits (set-zone-limit),
 * a line "local_config [NO_RECV] [NO_FWD]" the LOCAL port's config,
 * lines "fdb MAC OFPORT|IFNAME|local [vlan=V] [age=A]" the bridge's
 * forwarding database as brflowctl trace reads it (any such line, or a
 * line "fdb", makes the traces consult it),
 * a line "bridge_ct" says the kernel has bridge-family conntrack;
 * lines "trace [--ct-next=FLAGS...] PACKET" are traced over the flows once
 * they compile, the traces compared with NAME.trace (brflowctl trace);
 * other non-blank, non-# lines are flows.  BRFLOW_UPDATE_GOLDEN=1 rewrites the expected files. */
#include "../../rules/compile.h"
#include "../../rules/flow_trace.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOLDEN_DIR "tests/golden/compile"

static int failures;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

struct input {
	struct compile_port ports[64];
	int n_ports;
	struct flow flows[256];
	struct compile_flow cflows[256];
	int n_flows;
	char *hosts[16];
	int n_hosts;
	struct ofgroup groups[8];
	int n_groups;
	struct ofmeter meters[8];
	int n_meters;
	struct zone_tp zone_tps[4];
	int n_zone_tps;
	struct zone_limit zone_limits[4];
	int n_zone_limits;
	uint8_t bridge_mac[6];
	bool bridge_ct;
	uint32_t local_config;
	char *traces[16];
	int n_traces;
	struct trace_mac fdb[16];
	int n_fdb;
	bool with_fdb;
};

/* "fdb MAC OFPORT|IFNAME|local [vlan=V] [age=A]", or "fdb" alone (an
 * empty database).  False when malformed. */
static bool load_fdb_line(const char *line, struct input *in)
{
	struct trace_mac *e = &in->fdb[in->n_fdb];
	unsigned int m[6], vlan = 0, age = 0;
	char where[16], *end;
	const char *opt;

	in->with_fdb = true;
	if (!strcmp(line, "fdb"))
		return true;
	if (in->n_fdb == 16 || sscanf(line, "fdb %x:%x:%x:%x:%x:%x %15s", &m[0], &m[1], &m[2],
				      &m[3], &m[4], &m[5], where) != 7)
		return false;
	for (int k = 0; k < 6; k++)
		e->mac[k] = m[k];
	if ((opt = strstr(line, " vlan=")))
		vlan = strtoul(opt + 6, NULL, 10);
	if ((opt = strstr(line, " age=")))
		age = strtoul(opt + 5, NULL, 10);
	e->vlan = vlan;
	e->age = age;
	e->local = !strcmp(where, "local");
	e->ofport = strtoul(where, &end, 10);
	if (*end)
		e->ofport = 0;
	snprintf(e->ifname, sizeof(e->ifname), "%s", where);
	in->n_fdb++;
	return true;
}

/* set-iface's ingress policing on a port line, as the state file writes it
 * (" ingress_policing_rate=N" ...). */
static void set_policing(struct compile_port *port, const char *line)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
		{ " ingress_policing_rate=", offsetof(struct compile_port, police_rate_kbps) },
		{ " ingress_policing_burst=", offsetof(struct compile_port, police_burst_kb) },
		{ " ingress_policing_kpkts_rate=",
		  offsetof(struct compile_port, police_kpkts_rate) },
		{ " ingress_policing_kpkts_burst=",
		  offsetof(struct compile_port, police_kpkts_burst) },
	};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *at = strstr(line, keys[k].key);

		if (at)
			*(uint32_t *)((char *)port + keys[k].offset) =
				strtoul(at + strlen(keys[k].key), NULL, 10);
	}
}

/* Returns NULL or a malloc'd parse error. */
static char *load_input(const char *path, struct input *in)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *err = NULL;
	size_t cap = 0;
	int lineno = 0;

	if (!f)
		return strdup("cannot open input");
	while (!err && getline(&line, &cap, f) > 0) {
		char name[32];
		unsigned ofport;

		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[strspn(line, " \t")] || line[0] == '#')
			continue;
		if (!strncmp(line, "bridge_mac ", 11)) {
			unsigned int m[6];

			if (sscanf(line + 11, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2],
				   &m[3], &m[4], &m[5]) == 6)
				for (int k = 0; k < 6; k++)
					in->bridge_mac[k] = m[k];
			continue;
		}
		if (!strncmp(line, "local_config ", 13)) {
			if (strstr(line, " NO_RECV"))
				in->local_config |= PORT_CONFIG_NO_RECV;
			if (strstr(line, " NO_FWD"))
				in->local_config |= PORT_CONFIG_NO_FWD;
			continue;
		}
		if (!strncmp(line, "fdb", 3) && (!line[3] || line[3] == ' ')) {
			if (!load_fdb_line(line, in) && asprintf(&err, "line %d: bad fdb line", lineno) < 0)
				err = NULL;
			continue;
		}
		if (!strcmp(line, "bridge_ct")) {
			in->bridge_ct = true;
			continue;
		}
		if (!strncmp(line, "group ", 6) && in->n_groups < 8) {
			char *gerr = group_parse(line + 6, &in->groups[in->n_groups], false);

			if (gerr) {
				if (asprintf(&err, "line %d: %s", lineno, gerr) < 0)
					err = NULL;
				free(gerr);
				break;
			}
			in->n_groups++;
			continue;
		}
		if (!strncmp(line, "meter ", 6) && in->n_meters < 8) {
			char *merr = meter_parse(line + 6, &in->meters[in->n_meters], false);

			if (merr) {
				if (asprintf(&err, "line %d: %s", lineno, merr) < 0)
					err = NULL;
				free(merr);
				break;
			}
			in->n_meters++;
			continue;
		}
		if (!strncmp(line, "zone_tp ", 8) && in->n_zone_tps < 4) {
			char *words[TP_KEYS + 2], *save = NULL, *w, *tperr;
			int n = 0;

			for (w = strtok_r(line + 8, " ", &save); w && n < TP_KEYS + 2;
			     w = strtok_r(NULL, " ", &save))
				words[n++] = w;
			tperr = zone_tp_parse(words, n, &in->zone_tps[in->n_zone_tps]);
			if (tperr) {
				if (asprintf(&err, "line %d: %s", lineno, tperr) < 0)
					err = NULL;
				free(tperr);
				break;
			}
			in->n_zone_tps++;
			continue;
		}
		if (!strncmp(line, "zone_limit ", 11) && in->n_zone_limits < 4) {
			char zone[16], limit[16], *zlerr;

			zlerr = sscanf(line + 11, "%15s %15s", zone, limit) != 2 ?
				strdup("zone_limit needs ZONE LIMIT") :
				zone_limit_parse(zone, limit, &in->zone_limits[in->n_zone_limits]);
			if (zlerr) {
				if (asprintf(&err, "line %d: %s", lineno, zlerr) < 0)
					err = NULL;
				free(zlerr);
				break;
			}
			in->n_zone_limits++;
			continue;
		}
		if (!strncmp(line, "trace ", 6) && in->n_traces < 16) {
			in->traces[in->n_traces++] = strdup(line + 6);
			continue;
		}
		if (!strncmp(line, "dpi_host ", 9) && in->n_hosts < 16) {
			in->hosts[in->n_hosts++] = strdup(line + 9);
			continue;
		}
		if (sscanf(line, "port %31s %u", name, &ofport) == 2 && in->n_ports < 64) {
			snprintf(in->ports[in->n_ports].ifname, 16, "%.15s", name);
			/* mod-port's config, by OVS's names after the number */
			if (strstr(line, " NO_RECV"))
				in->ports[in->n_ports].config |= PORT_CONFIG_NO_RECV;
			if (strstr(line, " NO_FWD"))
				in->ports[in->n_ports].config |= PORT_CONFIG_NO_FWD;
			if (strstr(line, " NO_FLOOD"))
				in->ports[in->n_ports].config |= PORT_CONFIG_NO_FLOOD;
			if (strstr(line, " PORT_DOWN"))
				in->ports[in->n_ports].config |= PORT_CONFIG_DOWN;
			set_policing(&in->ports[in->n_ports], line);
			in->ports[in->n_ports++].ofport = ofport;
			continue;
		}
		if (in->n_flows >= 256) {
			err = strdup("too many flows");
			break;
		}
		char *perr = flow_parse(line, &in->flows[in->n_flows], NULL);

		if (perr) {
			if (asprintf(&err, "line %d: %s", lineno, perr) < 0)
				err = NULL;
			free(perr);
			break;
		}
		in->cflows[in->n_flows].id = in->n_flows + 1;
		in->cflows[in->n_flows].flow = &in->flows[in->n_flows];
		in->n_flows++;
	}
	free(line);
	fclose(f);
	return err;
}

static void free_input(struct input *in)
{
	for (int i = 0; i < in->n_flows; i++)
		flow_free(&in->flows[i]);
	for (int i = 0; i < in->n_hosts; i++)
		free(in->hosts[i]);
	for (int i = 0; i < in->n_traces; i++)
		free(in->traces[i]);
	for (int i = 0; i < in->n_groups; i++)
		group_free(&in->groups[i]);
}

static void compare(const char *name, const char *what, const char *path,
		    const char *got)
{
	char *want = slurp(path);

	if (getenv("BRFLOW_UPDATE_GOLDEN")) {
		write_file(path, got);
		printf("ok - %s: %s (golden updated)\n", name, what);
	} else if (!want) {
		printf("not ok - %s: missing %s\n", name, path);
		failures++;
	} else if (strcmp(want, got)) {
		printf("not ok - %s: %s differs from %s; got:\n%s\n", name, what, path, got);
		failures++;
	} else {
		printf("ok - %s: %s\n", name, what);
	}
	free(want);
}

static const char *trace_port_name(uint32_t ofport, void *arg)
{
	const struct input *in = arg;

	for (int i = 0; i < in->n_ports; i++)
		if (in->ports[i].ofport == ofport)
			return in->ports[i].ifname;
	return NULL;
}

static int trace_port_by_name(const char *name, void *arg)
{
	const struct input *in = arg;

	for (int i = 0; i < in->n_ports; i++)
		if (!strcmp(in->ports[i].ifname, name))
			return in->ports[i].ofport;
	return 0;
}

/* One "trace" line: "## LINE" and what brflowctl trace prints (or its
 * error) into 'out'. */
static void trace_one(const struct input *in, char *line, FILE *out)
{
	const struct flow *flows[256];
	bool table_given = false;
	struct flow_parse_opts o = {
		.match_only = true, .table_given = &table_given,
		.port_by_name = trace_port_by_name, .port_arg = (void *)in,
	};
	struct trace_input ti = {
		.bridge = "br0", .flows = flows, .n_flows = in->n_flows,
		.groups = in->groups, .n_groups = in->n_groups,
		.meters = in->meters, .n_meters = in->n_meters,
		.ports = in->ports, .n_ports = in->n_ports, .local_config = in->local_config,
		.port_name = trace_port_name, .port_arg = (void *)in,
		.with_fdb = in->with_fdb, .fdb = in->fdb, .n_fdb = in->n_fdb,
	};
	struct flow packet = { 0 };
	char *p = line, *err = NULL;

	fprintf(out, "## %s\n", line);
	while (!err && !strncmp(p, "--ct-next=", 10) && ti.n_ct_next < TRACE_MAX_CT_NEXT) {
		char *end = p + strcspn(p, " ");

		*end = '\0';
		err = flow_trace_parse_ct_state(p + 10, &ti.ct_next[ti.n_ct_next++]);
		*end = ' ';
		p = end + strspn(end, " ");
	}
	if (!err)
		err = flow_parse(p, &packet, &o);
	if (!err)
		err = flow_trace_check_packet(&packet);
	for (int i = 0; !err && i < in->n_flows; i++)
		flows[i] = &in->flows[i];
	ti.packet = &packet;
	ti.table_given = table_given;
	if (!err)
		err = flow_trace(&ti, out);
	if (err)
		fprintf(out, "error: %s\n", err);
	fputc('\n', out);
	free(err);
	flow_free(&packet);
}

static void run_traces(const char *name, const struct input *in)
{
	char path[512], *text = NULL;
	size_t len = 0;
	FILE *mem;

	if (!in->n_traces)
		return;
	mem = open_memstream(&text, &len);
	if (!mem)
		return;
	for (int i = 0; i < in->n_traces; i++)
		trace_one(in, in->traces[i], mem);
	fclose(mem);
	snprintf(path, sizeof(path), GOLDEN_DIR "/%s.trace", name);
	compare(name, "traces", path, text);
	free(text);
}

static void run_case(const char *name)
{
	char path[512], errpath[512], nftpath[512];
	struct input *in = calloc(1, sizeof(*in));
	struct nir_ruleset rs = { 0 };
	struct compile_input ci = { .bridge = "br0" };
	char *err, *text = NULL;
	size_t len = 0;
	FILE *mem;

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s.flows", name);
	snprintf(errpath, sizeof(errpath), GOLDEN_DIR "/%s.err", name);
	snprintf(nftpath, sizeof(nftpath), GOLDEN_DIR "/%s.nft", name);
	err = load_input(path, in);
	if (err) {
		printf("not ok - %s: %s\n", name, err);
		failures++;
		goto out;
	}
	ci.ports = in->ports;
	ci.n_ports = in->n_ports;
	ci.flows = in->cflows;
	ci.n_flows = in->n_flows;
	ci.n_dpi_hosts = in->n_hosts;
	ci.n_groups = in->n_groups;
	memcpy(ci.bridge_mac, in->bridge_mac, 6);
	ci.has_bridge_ct = in->bridge_ct;
	ci.local_config = in->local_config;
	ci.groups = in->groups;
	ci.n_meters = in->n_meters;
	ci.meters = in->meters;
	ci.n_zone_tps = in->n_zone_tps;
	ci.zone_tps = in->zone_tps;
	ci.n_zone_limits = in->n_zone_limits;
	ci.zone_limits = in->zone_limits;
	/* Linux's defaults (tcp: SYN_SENT ... UNACK; udp: unreplied, replied) */
	memcpy(ci.tcp_timeouts, (const uint32_t[11]){ 120, 60, 432000, 120, 60, 30, 120, 10,
						      120, 300, 300 }, sizeof(ci.tcp_timeouts));
	memcpy(ci.udp_timeouts, (const uint32_t[2]){ 30, 120 }, sizeof(ci.udp_timeouts));
	ci.dpi_hosts = (const char *const *)in->hosts;
	err = brflow_compile(&ci, &rs);
	if (err) {
		char *line;

		if (asprintf(&line, "%s\n", err) < 0)
			goto out;
		compare(name, "compile error", errpath, line);
		free(line);
		goto out;
	}
	mem = open_memstream(&text, &len);
	nir_print(&rs, mem);
	fclose(mem);
	if (!access(errpath, F_OK) && !getenv("BRFLOW_UPDATE_GOLDEN")) {
		printf("not ok - %s: expected a compile error, compiled fine\n", name);
		failures++;
	} else {
		compare(name, "nft output", nftpath, text);
		run_traces(name, in);
	}
	nir_ruleset_free(&rs);
out:
	free(err);
	free(text);
	free_input(in);
	free(in);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(void)
{
	struct dirent **ents;
	int n = scandir(GOLDEN_DIR, &ents, NULL, by_name);

	if (n < 0) {
		printf("not ok - compile golden: cannot read " GOLDEN_DIR "\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char *dot = strrchr(ents[i]->d_name, '.');

		if (dot && !strcmp(dot, ".flows")) {
			*dot = 0;
			run_case(ents[i]->d_name);
		}
		free(ents[i]);
	}
	free(ents);
	return failures ? 1 : 0;
}
