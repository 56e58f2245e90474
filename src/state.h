/* brflowd's in-memory view of its bridges, ports and flows, and its
 * persistence: one text file per bridge in the state dir, written
 * atomically (tmp file, fsync, rename).
 *
 * Changes follow one pattern: copy a bridge (st_bridge_clone), change the
 * copy, then st_bridge_commit() compiles it, loads it into the kernel and
 * writes it to disk; only if all of that works does the copy replace the
 * bridge in memory.  On error neither the kernel nor the daemon changes. */
#ifndef BRFLOW_STATE_H
#define BRFLOW_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "../rules/compile.h"
#include "../rules/flow.h"
#include "../rules/meter.h"
#include "nft_backend.h"

struct st_flow {
	uint64_t id;          /* stable; names the counters "f<id>" */
	int64_t created_ms;   /* wall clock, ms since the epoch (duration=) */
	/* the last mod-flows that selected it, else created_ms: OVS's
	 * hard_age=, and where hard_timeout counts from, as in OVS */
	int64_t modified_ms;
	/* when its counters started from 0: created_ms, later for a modify
	 * with reset_counts, earlier for an add that kept a replaced flow's
	 * counters (OpenFlow 1.2+).  Names its idle clock with the id, so the
	 * clock goes where OVS sends the rule's time of last use. */
	int64_t counters_ms;
	struct flow flow;     /* owned */
};

struct st_bridge {
	char name[16];
	uint64_t next_id;     /* next flow id; only grows */
	int n_ports;
	struct compile_port *ports;
	int n_flows, cap_flows;
	struct st_flow *flows; /* in insertion order */
	int n_groups;
	struct ofgroup *groups; /* by group_id, ascending; each owned */
	int64_t *group_created_ms; /* per group: when added (dump-group-stats'
				    * duration); start time after a restart */
	int n_meters;
	struct ofmeter *meters; /* by meter_id, ascending */
	int64_t *meter_created_ms; /* per meter: when added (meter-stats'
				    * duration); start time after a restart */
	/* What the kernel runs for this bridge and the optimiser's plan for
	 * it (both NULL until loaded; never copied by st_bridge_clone): an
	 * update that only changes set elements is made in place. */
	struct nir_ruleset *loaded;
	struct compile_plan *plan;
	int offload;          /* enum offload_mode (src/offload.h) */
	uint32_t local_config; /* LOCAL's PORT_CONFIG_* (mod-port) */
	int n_zone_tps;
	struct zone_tp *zone_tps; /* add-zone-tp's policies, by zone, ascending */
	int n_zone_limits;
	/* set-zone-limit's limits: the default (if set) first, then by zone */
	struct zone_limit *zone_limits;
};

struct st_state {
	char *dir;
	/* when brflowd started (st_init): as old as the bridges and ports it
	 * loaded are, as OVS's are as old as ovs-vswitchd */
	int64_t started_ms;
	int n_bridges;
	struct st_bridge **bridges;
	struct nft_features features;
};

int st_init(struct st_state *st, const char *dir);
void st_free(struct st_state *st);

/* Linux interface name rules (dev_valid_name): 1-15 bytes, not "." or
 * "..", no '/', ':' or whitespace.  Also keeps state file paths safe. */
bool st_valid_ifname(const char *name);

struct st_bridge *st_find_bridge(struct st_state *st, const char *name);
/* Which bridge (if any) has 'ifname' as a port. */
struct st_bridge *st_find_port_owner(struct st_state *st, const char *ifname);

struct st_bridge *st_bridge_new(const char *name);
struct st_bridge *st_bridge_clone(const struct st_bridge *b);
void st_bridge_free(struct st_bridge *b);

/* Sets one of a port's interface options from "KEY=VALUE" (set-iface, the
 * state file): ingress_policing_rate (kbit/s), ingress_policing_burst
 * (kbit), ingress_policing_kpkts_rate (1000 packets/s) or
 * ingress_policing_kpkts_burst (1000 packets), 0 to 2^32-1.  NULL, or a
 * malloc'd one-line error naming kv. */
char *st_iface_option(struct compile_port *p, const char *kv);
/* The i-th option's key (from 0; NULL past the last), and an option's
 * value (false for an unknown key). */
const char *st_iface_option_key(int i);
bool st_iface_option_get(const struct compile_port *p, const char *key, uint32_t *v);
/* The options that are set, " KEY=VALUE" each, into buf ("" for none). */
void st_iface_options_format(const struct compile_port *p, char *buf, size_t len);

int st_port_index(const struct st_bridge *b, const char *ifname);
int st_port_index_by_ofport(const struct st_bridge *b, uint16_t ofport);
/* Lowest ofport >= 1 not in use, or 0 if all are taken. */
uint16_t st_free_ofport(const struct st_bridge *b);
int st_add_port(struct st_bridge *b, const char *ifname, uint16_t ofport);
void st_del_port(struct st_bridge *b, int idx);

/* Appends a flow, taking ownership of *f's actions (*f is cleared).  id 0
 * means "give it the next id".  Its counters start at created_ms too.
 * Returns the new entry or NULL (ENOMEM). */
struct st_flow *st_add_flow(struct st_bridge *b, struct flow *f, uint64_t id,
			    int64_t created_ms);
void st_del_flow(struct st_bridge *b, int idx);
/* Room for n flows without reallocating (loading large files). */
int st_reserve_flows(struct st_bridge *b, int n);

/* Groups: the index of group_id, or -1. */
int st_group_index(const struct st_bridge *b, uint32_t group_id);
/* Adds *g (taken; *g is cleared) or replaces the group with its id.
 * 0 or -1 (ENOMEM; *g is left to the caller). */
int st_set_group(struct st_bridge *b, struct ofgroup *g);
void st_del_group(struct st_bridge *b, int idx);

/* Meters, as groups: the index of meter_id or -1; st_set_meter adds or
 * replaces (0, or -1 ENOMEM); st_del_meter removes only the meter. */
int st_meter_index(const struct st_bridge *b, uint32_t meter_id);
int st_set_meter(struct st_bridge *b, const struct ofmeter *m);
void st_del_meter(struct st_bridge *b, int idx);

int64_t st_now_ms(void);

/* Compiles 'b' into 'rs' (zeroed by the caller).  NULL or a malloc'd
 * one-line error. */
char *st_compile(const struct st_bridge *b, struct nir_ruleset *rs);
/* st_compile that also returns the optimiser's plan (may be NULL). */
char *st_compile_plan(const struct st_bridge *b, struct nir_ruleset *rs,
		      struct compile_plan **plan);
/* The kernel features compiles should assume (probed at start). */
void st_use_features(const struct nft_features *f);

/* Compiles 'nb', carries the kernel's current counters over to the flows
 * that survive, loads it with nft_apply and persists it.  On success 'nb'
 * replaces the bridge of the same name in 'st' (or is added) and the old
 * one is freed; returns NULL.  On failure returns a malloc'd one-line error
 * and 'nb' still belongs to the caller. */
char *st_bridge_commit(struct st_state *st, struct st_bridge *nb);

/* The fast path for flow changes in a large table: deletes flows 'del'
 * (n_del indexes into b->flows) and adds 'add' (n_add flows) by changing
 * only elements of the loaded ruleset's sets, in one transaction, and
 * appends the change to the bridge's state file.  'keep' (NULL: new flows)
 * gives each added flow the id, times and counters of keep[i] (mod-flows:
 * a deleted flow's; add-flow: the replaced flow's id and counters, a new
 * flow's age).  Returns 1 when done (the added flows are taken), 0 when the
 * change needs a full commit (nothing happened), -1 on error (*err set;
 * nothing happened). */
int st_fast_update(struct st_state *st, struct st_bridge *b, const int *del,
		   int n_del, struct flow *add, int n_add,
		   const struct st_flow *keep, char **err);

/* Sets zone tp->zone's timeout policy (add-zone-tp) to *tp, replacing
 * the zone's old one.  0, or -1 when out of memory. */
int st_set_zone_tp(struct st_bridge *b, const struct zone_tp *tp);
/* Removes zone's policy; false when it had none. */
bool st_del_zone_tp(struct st_bridge *b, uint16_t zone);

/* Sets zl->zone's connection limit (or the default's) to zl->limit.  0, or
 * -1 when out of memory. */
int st_set_zone_limit(struct st_bridge *b, const struct zone_limit *zl);
/* Removes zone's limit (ZONE_LIMIT_DEFAULT: the default); false when it
 * had none. */
bool st_del_zone_limit(struct st_bridge *b, int32_t zone);

/* Puts 'b' into 'st' as it is, without touching kernel or disk (a bridge
 * restored at start whose ruleset could not be loaded stays visible and
 * editable).  Replaces a bridge of the same name.  0 or -1 (ENOMEM). */
int st_bridge_adopt(struct st_state *st, struct st_bridge *b);

/* Forgets bridge 'name' in memory and on disk (not in the kernel). */
void st_bridge_forget(struct st_state *st, const char *name);

/* Reads every bridge file in the state dir and calls fn for each bridge
 * parsed (fn takes ownership), in name order.  Files that do not parse are
 * logged and skipped (and left on disk for a human to look at). */
typedef void (*st_load_fn)(struct st_bridge *b, void *arg);
void st_load_dir(const struct st_state *st, st_load_fn fn, void *arg);

/* Sums the kernel's counters ("f<id>" in both families) for bridge 'b';
 * packets[i]/bytes[i] belong to b->flows[i].  0 or -1 with *err. */
int st_read_stats(const struct st_bridge *b, uint64_t *packets,
		  uint64_t *bytes, char **err);

#endif
