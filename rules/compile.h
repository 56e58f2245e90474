/* Compiler: one bridge's ports and flow tables -> an nftables ruleset
 * (rules/nftir.h).  Pure: no kernel access.  See docs/design.md for the hook
 * layout and the packet-mark and ct-mark bits it uses. */
#ifndef BRFLOW_COMPILE_H
#define BRFLOW_COMPILE_H

#include "flow.h"
#include "group.h"
#include "meter.h"
#include "nftir.h"
#include "zone_limit.h"
#include "zone_tp.h"

/* ofport numbers live in 12 mark bits; 0xffe is LOCAL, 0xfff normal */
#define BRFLOW_MAX_OFPORT 4093

/* What output:REG does with the number its register holds, for the
 * compiler and the trace alike: OpenFlow's NORMAL and FLOOD numbers act as
 * those actions; the other reserved numbers (LOCAL, IN_PORT, CONTROLLER,
 * ...) brflow outputs to only by name; a number no port can have outputs
 * nothing, as in OVS. */
enum out_reg_target {
	OUT_REG_PORT,
	OUT_REG_NORMAL,
	OUT_REG_FLOOD,
	OUT_REG_NOWHERE,
	OUT_REG_RESERVED,
};

enum out_reg_target out_reg_target(uint32_t port);

/* A port's configuration bits, OpenFlow's OFPPC_* values (mod-port).
 * The compiler acts on NO_RECV (classify drops what the port receives)
 * and NO_FWD (enforce drops what would leave by it); PORT_DOWN and
 * NO_FLOOD are the kernel's (link state, bridge port flood flags). */
#define PORT_CONFIG_DOWN     0x01u
#define PORT_CONFIG_NO_RECV  0x04u
#define PORT_CONFIG_NO_FLOOD 0x10u
#define PORT_CONFIG_NO_FWD   0x20u

struct compile_port {
	char ifname[16];
	uint16_t ofport;
	uint32_t config;         /* PORT_CONFIG_* */
	/* ovs-vsctl's Interface ingress_policing_rate (kbit/s; 0: none) and
	 * ingress_policing_burst (kbit; 0: POLICE_BURST_DEFAULT_KB) */
	uint32_t police_rate_kbps;
	uint32_t police_burst_kb;
	/* ingress_policing_kpkts_rate (1000 packets/s; 0: none) and
	 * ingress_policing_kpkts_burst (1000 packets; 0:
	 * POLICE_KPKTS_BURST_DEFAULT); with both rates set, both apply */
	uint32_t police_kpkts_rate;
	uint32_t police_kpkts_burst;
};

/* OVS's bursts when ingress_policing_burst or ingress_policing_kpkts_burst
 * is 0 (vswitch.xml, lib/netdev-linux.c). */
#define POLICE_BURST_DEFAULT_KB 8000
#define POLICE_KPKTS_BURST_DEFAULT 16

/* A flow as the daemon stores it: 'id' is stable for the flow's lifetime and
 * names its counters ("f<id>" in both tables). */
struct compile_flow {
	uint64_t id;
	const struct flow *flow;
};

struct compile_input {
	const char *bridge;      /* bridge name; tables are "brflow_<bridge>" */
	int n_ports;
	const struct compile_port *ports;
	int n_flows;
	const struct compile_flow *flows;
	/* The DPI host table shared by every bridge (rules/dpi.h): pattern i
	 * is label bit DPI_LABEL_HOST_SHIFT + i.  Every dpi_host= pattern of
	 * 'flows' must be in it. */
	int n_dpi_hosts;
	const char *const *dpi_hosts;
	/* 1-255, distinct per bridge: keeps bridges' nat choices apart in the
	 * connection label (0 means 1). */
	uint8_t nat_tag;
	/* The bridge device's MAC (zeros: unknown).  With NAT the switch
	 * resolves backends itself; ARP and ND answers addressed to it pass
	 * the pipeline. */
	uint8_t bridge_mac[6];
	/* What the running kernel lacks (brflowd's probes; false: present):
	 * flows that need it are refused, naming the kernel feature. */
	bool lacks_queue;      /* neither nft queue nor xt NFQUEUE */
	/* The kernel tracks connections in the bridge family
	 * (nf_conntrack_bridge): flow sets without NAT, alg=, DPI or LOCAL
	 * then run there (faster than br_netfilter, see docs/performance.md);
	 * the output's bridge_ct says which was chosen. */
	bool has_bridge_ct;
	bool lacks_ct_helper;  /* no conntrack helper objects */
	/* The LOCAL port's config (mod-port): NO_RECV drops what the host
	 * sends into the bridge, NO_FWD what would go up to it. */
	uint32_t local_config;
	/* The bridge's groups (rules/group.h), for group:N actions. */
	int n_groups;
	const struct ofgroup *groups;
	/* The bridge's meters (rules/meter.h), for meter:N actions. */
	int n_meters;
	const struct ofmeter *meters;
	/* Conntrack timeout policies by zone (rules/zone_tp.h), which a
	 * ct(commit) in the zone gives the connection, and the kernel's
	 * timeouts for what a policy leaves unset (tcp: TP_TCP_KEYS values;
	 * udp: unreplied, replied), in seconds. */
	int n_zone_tps;
	const struct zone_tp *zone_tps;
	uint32_t tcp_timeouts[11];
	uint32_t udp_timeouts[2];
	/* Connection limits by zone (rules/zone_limit.h), which a ct(commit)
	 * in the zone enforces on connections it has not committed yet. */
	int n_zone_limits;
	const struct zone_limit *zone_limits;
};

/* Compiles 'in' into 'out' (which must be zeroed).  Returns NULL on success,
 * else a malloc'd one-line reason naming the flow, e.g.
 * "flow 'priority=5,ip actions=ct(nat)': nat is not supported yet".
 * On error 'out' is freed. */
char *brflow_compile(const struct compile_input *in, struct nir_ruleset *out);

/* What the optimiser made (its set lookups), kept so that later changes
 * of flows can become changes of set elements (rules/compile_sets.c). */
struct compile_plan;

/* brflow_compile that also returns the plan (*plan NULL on error). */
char *brflow_compile_plan(const struct compile_input *in, struct nir_ruleset *out,
			  struct compile_plan **plan);
void compile_plan_free(struct compile_plan *p);

/* One element to add to or delete from a set of the compiled ruleset. */
struct set_change {
	int table;               /* index in the ruleset's tables */
	int set;                 /* index in that table's sets */
	bool add;
	struct nir_set_elem elem;
};

/* The set element changes that add flow cf (add) or remove it (!add) from
 * the flows that produced 'rs' and 'p', exactly as a full compile would
 * treat it: appended to *changes (realloc'd, *n updated).  Returns 0, or
 * -1 when only a full compile can make the change (the flow is not of a
 * group that compiled to set lookups everywhere, or it would change the
 * rule around the lookup). */
int compile_plan_change(const struct compile_plan *p, const struct nir_ruleset *rs,
			const struct compile_flow *cf, bool add,
			struct set_change **changes, int *n);

/* Table names for a bridge: "brflow_<bridge>" in both families. */
void brflow_table_name(const char *bridge, char *buf, size_t len);
/* Counter object name for a flow id. */
void brflow_counter_name(uint64_t id, char *buf, size_t len);

#endif
