/* Loads compiled rulesets into the kernel as one nftables netlink transaction
 * (libnftnl objects in one libmnl batch), reads counters back, removes a
 * bridge's tables.  All functions work in the caller's network namespace. */
#ifndef BRFLOW_NFT_BACKEND_H
#define BRFLOW_NFT_BACKEND_H

#include <stdint.h>
#include "../rules/compile.h"
#include "../rules/nftir_diff.h"

/* Replaces every table named in 'rs' with its new contents in one atomic
 * batch (each table: add, delete, then add with everything in it), so the
 * kernel either runs the whole new ruleset or keeps the old one.  Gives
 * rs's sets their kernel size.  Returns 0, or -1 with a one-line reason in
 * err (the kernel's error for the failing message, e.g. "Operation not
 * supported: chain brflow_br0/prepass"). */
int nft_apply(struct nir_ruleset *rs, char *err, size_t errlen);

/* Turns the loaded ruleset 'old' into 'rs' in one atomic batch, keeping
 * what the diff 'd' (nir_diff_build(old, rs)) found unchanged: tables,
 * base chains on their hooks, set elements and counters with their
 * statistics; every rule is replaced.  Old tables 'rs' lacks are deleted.
 * 0, or -1 with a reason; the kernel then still runs 'old'. */
int nft_update(const struct nir_ruleset *old, const struct nir_ruleset *rs,
	       const struct nir_diff *d, char *err, size_t errlen);

/* Adds and deletes set elements of the loaded ruleset 'rs' (the
 * optimiser's sets, see rules/compile.h) in one transaction: an update of
 * a large flow table without reloading it.  0, or -1 with a reason. */
int nft_change_elems(const struct nir_ruleset *rs, const struct set_change *ch,
		     int n, char *err, size_t errlen);

/* The counter of the element that change 'ch' names (its key), read from
 * the kernel: 0, or -1 when it cannot be read. */
int nft_read_elem_counter(const struct nir_ruleset *rs, const struct set_change *ch,
			  uint64_t *packets, uint64_t *bytes);

/* Deletes tables "name" in the bridge and inet families (missing is fine),
 * in one batch. */
int nft_delete_tables(const char *name, char *err, size_t errlen);

/* Calls fn for every named counter object in table 'name' of 'family'.
 * Missing table: returns 0 without calls. */
typedef void (*nft_counter_fn)(const char *counter, uint64_t packets,
			       uint64_t bytes, void *arg);
int nft_read_counters(enum nir_family family, const char *name,
		      nft_counter_fn fn, void *arg, char *err, size_t errlen);

/* Kernel feature probes, each by trying the kernel: 1 present, 0 absent. */
struct nft_features {
	int bridge_ct;       /* ct expression usable in the bridge family (nf_conntrack_bridge) */
	int flowtable;       /* nf_flow_table */
	int bridge_flowtable; /* a flowtable in the bridge family (layer-2 offload) */
	int queue;           /* nft queue statement */
	int xt_nfqueue;      /* xt's NFQUEUE target through nft_compat */
	int ct_helper;       /* ct helper objects */
	int br_netfilter;    /* inet hooks see bridged traffic */
};
void nft_probe_features(struct nft_features *f);

#endif
