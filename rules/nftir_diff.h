/* What the kernel keeps when a bridge's ruleset is replaced by a new one.
 *
 * A full reload used to replace the bridge's tables: every base chain left
 * and re-joined its netfilter hook, and every set element and counter was
 * rebuilt (100 000 per-cpu counters).  Instead, the tables and the base
 * chains whose hooks do not change stay; regular chains keep their names;
 * set elements and flow counters that are the same in both rulesets stay
 * with their statistics, and only the rest is deleted or added.  All rules
 * are replaced, in the same transaction. */
#ifndef BRFLOW_NFTIR_DIFF_H
#define BRFLOW_NFTIR_DIFF_H

#include <stdbool.h>

#include "nftir.h"

/* A set of at least this many elements is created with a fixed size (twice
 * its elements): the kernel then sizes its hash once instead of growing it
 * while 100 000 elements go in.  The size is a limit too: adding past it
 * needs the set re-created, which nir_set_room tells. */
#define NIR_SET_SIZED_MIN 1024
/* The size of a smaller set with counters (see fresh_size). */
#define NIR_STATS_SIZE_MIN 256

struct nir_table_diff {
	int old;              /* the same table in the old ruleset, or -1 */
	int *chain_old;       /* per new chain: the old chain the kernel keeps
			       * for it (hook unchanged), or -1 */
	bool *old_chain_kept; /* per old chain */
	int *counter_old;     /* per new counter object: the same old one, or -1 */
	bool *old_counter_kept;
	/* limit objects (meters) with the same name and limit stay, with
	 * their token bucket; a changed one is deleted and added again */
	int *limit_old;       /* per new limit: the same old one, or -1 */
	bool *old_limit_kept;
	/* per new timeout policy: the same old one, or -1.  Kept, because
	 * deleting one puts the connections that use it back on the default
	 * timeouts */
	int *timeout_old;
	bool *old_timeout_kept;
	/* per new connection limit: the same old one, or -1.  Kept, because
	 * a new one would start counting from nothing */
	int *connlimit_old;
	bool *old_connlimit_kept;
	int *set_old;         /* per new set: the old set it continues, or -1 */
	bool *old_set_kept;   /* per old set */
	bool **elem_kept;     /* per continued new set: per element */
	bool **old_elem_kept; /* per continued old set: per element */
	int n_sets, n_old_sets;
	/* The port maps stay too, with the elements both have: deleting a map
	 * deactivates its elements in the next generation, and a packet still
	 * walking the old rules when the transaction commits looks the old map
	 * up with the new generation's mask.  It misses (its port unmarked, the
	 * packet then dropped by enforce) though its key is in both maps. */
	int *map_old;         /* per new map: the old map it continues, or -1 */
	bool *old_map_kept;   /* per old map */
	bool **map_elem_kept; /* per continued new map: per element */
	bool **old_map_elem_kept; /* per continued old map: per element */
	int n_maps, n_old_maps;
};

struct nir_diff {
	int n_tables;                 /* the new ruleset's */
	struct nir_table_diff *tables;
	int n_old_tables;
	bool *old_table_kept;
	/* a flow counter that is not kept belongs to a flow the old ruleset
	 * counted: its statistics must be read from the kernel first */
	bool needs_carry;
};

/* Compares 'new' with 'old' (NULL: the kernel has none of it) and gives
 * every new set its kernel size (nir_set.size).  -1: out of memory. */
int nir_diff_build(const struct nir_ruleset *old, struct nir_ruleset *new,
		   struct nir_diff *d);
void nir_diff_free(struct nir_diff *d);

/* Whether 'n_more' elements fit into the kernel's copy of 'set'. */
bool nir_set_room(const struct nir_set *set, int n_more);

#endif
