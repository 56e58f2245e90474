/* The compiler's output: an nftables ruleset described at the level of
 * nftables statements, close enough to the kernel's expressions that
 * src/nft_backend.c turns each statement into a fixed sequence of libnftnl
 * expressions, and readable enough that nftir_print() writes nft syntax.
 *
 * Byte order of values: exactly what the kernel register holds.  Meta and ct
 * keys (mark, zone, state, direction, l4proto, nfproto) are host-endian
 * integers; payload fields are network order; ct label is 16 raw bytes. */
#ifndef BRFLOW_NFTIR_H
#define BRFLOW_NFTIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* NIR_IP6: the IPv6-only home of a pre-pass that IPv4 never needs
 * (rules/compile_prune.c). */
enum nir_family { NIR_BRIDGE, NIR_INET, NIR_IP6 };

/* SYMHASH: a symmetric hash of the packet's addresses and ports, modulo
 * 'key' (both directions of a connection get the same value). */
enum nir_src_kind { NIR_SRC_META, NIR_SRC_CT, NIR_SRC_PAYLOAD, NIR_SRC_SYMHASH };

/* How a value of this source prints in nft syntax. */
enum nir_fmt {
	NIR_FMT_HEX,      /* host-endian integer of len bytes, 0x%08x style */
	NIR_FMT_DEC,      /* host-endian (meta/ct) or big-endian (payload) integer */
	NIR_FMT_IPV4,
	NIR_FMT_IPV6,
	NIR_FMT_MAC,
	NIR_FMT_IFNAME,   /* NUL-padded string */
	NIR_FMT_CTSTATE,  /* host-endian u32 of NF_CT_STATE_* bits */
	NIR_FMT_CTDIR,    /* u8: 0 original, 1 reply */
	NIR_FMT_LABEL,    /* 16 bytes, printed as 0x hex */
	NIR_FMT_ETHERTYPE,/* 2 bytes, network order (meta protocol) */
};

struct nir_src {
	enum nir_src_kind kind;
	uint32_t key;     /* NFT_META_* or NFT_CT_* */
	uint32_t base;    /* NFT_PAYLOAD_{LL,NETWORK,TRANSPORT}_HEADER */
	uint32_t offset;  /* payload: byte offset from base */
	uint32_t len;     /* bytes loaded into the register */
	uint8_t ct_dir;   /* ct keys: 0 the packet's, 1 original, 2 reply tuple */
	const char *name; /* nft syntax: "meta mark", "ip saddr", "tcp dport" */
	enum nir_fmt fmt;
};

struct nir_value {
	uint8_t len;
	uint8_t data[16];
};

enum nir_stmt_kind {
	NIR_MATCH,        /* src [& mask] (== | !=) value */
	NIR_MARK_SET,     /* <target> set <target> & and_mask | or_value */
	NIR_CT_ZONE_SET,  /* ct zone set zone   (only before conntrack) */
	NIR_CT_LABEL_SET, /* ct label set: ORs 'label' into the labels */
	NIR_MAP_MARK,     /* meta mark set <src> map @set_name */
	NIR_COUNTER,      /* counter name "counter_name" (named object) */
	NIR_NOTRACK,
	NIR_VERDICT,
	NIR_QUEUE,        /* queue to userspace (terminal for this pass) */
	NIR_NAT,          /* snat/dnat to a range (nat chains only) */
	NIR_CT_HELPER,    /* ct helper set "helper_name" (named object) */
	NIR_PAYLOAD_SET,  /* <payload> set value (checksums as u.set says) */
	NIR_LOOKUP,       /* key . key ... @set: the packet's key is in the set
			   * (a verdict map: goto the element's chain) */
	NIR_SET_LOOKUP,   /* src [!=] @set_name: membership in a map's keys */
	NIR_FLOW_OFFLOAD, /* flow add @flowtable (u.flowtable) */
	NIR_LIMIT,        /* limit name "limit_name": goes on only when the
			   * packet is over the limit (named object) */
	NIR_CT_TIMEOUT,   /* ct timeout set "timeout_name" (named object; a
			   * no-op for another transport protocol) */
	NIR_CONN_COUNT,   /* add @connlimit_name { ct zone }: goes on only
			   * when the zone's count, this connection in it,
			   * is over the limit (a table's nir_connlimit) */
};

enum nir_mark_target { NIR_META_MARK, NIR_CT_MARK, NIR_META_PRIORITY };

enum nir_verdict { NIR_ACCEPT, NIR_DROP, NIR_RETURN, NIR_JUMP, NIR_GOTO };

struct nir_stmt {
	enum nir_stmt_kind kind;
	union {
		struct {
			struct nir_src src;
			bool has_mask;
			struct nir_value mask;
			bool negate;
			bool less;     /* src < value (host-endian u32) instead of == */
			struct nir_value value;
		} match;
		struct {
			enum nir_mark_target target;
			uint32_t and_mask;
			uint32_t or_value;
		} mark;
		uint16_t zone;
		uint8_t label[16];
		struct {
			struct nir_src src;
			char set_name[64];
			bool negate;     /* NIR_SET_LOOKUP: not in the set */
		} map;
		char counter_name[64];
		struct {
			enum nir_verdict code;
			char chain[64]; /* for jump/goto */
		} verdict;
		struct {
			bool snat;           /* else dnat */
			uint8_t family;      /* 4 or 6 */
			uint8_t addr_min[16], addr_max[16]; /* network order */
			uint16_t port_min, port_max;        /* host order; 0: none */
			uint32_t flags;      /* NF_NAT_RANGE_PROTO_RANDOM... */
		} nat;
		char helper_name[64];
		char limit_name[64];
		char timeout_name[64];
		char connlimit_name[64];
		char flowtable[64];
		struct {
			struct nir_src dst;  /* payload base/offset/len/name */
			struct nir_value value;
			/* what nft adds for a network header write: the
			 * header checksum (NFT_PAYLOAD_CSUM_INET at byte 10
			 * for IPv4) and NFT_PAYLOAD_L4CSUM_PSEUDOHDR for the
			 * TCP/UDP/ICMPv6 checksum; all 0: no checksum */
			uint8_t csum_type, csum_offset, csum_flags;
			/* len 0: a plain write; else the bits of the
			 * packet's old value kept (load, and keep, xor
			 * value, write), for fields that share bytes */
			struct nir_value keep;
		} set;
		struct {
			int set;       /* index in the table's sets */
		} lookup;
		struct {
			uint16_t num, total; /* queues num .. num+total-1 */
			bool bypass;         /* no listener: accept (else drop) */
			bool fanout;         /* spread by CPU instead of flow hash */
		} queue;
	} u;
};

struct nir_rule {
	int n_stmts;
	struct nir_stmt *stmts;
	char *comment; /* optional: the flow this rule came from; NULL if none */
};

enum nir_hook { NIR_HOOK_NONE, NIR_HOOK_PREROUTING, NIR_HOOK_FORWARD,
		NIR_HOOK_INPUT, NIR_HOOK_OUTPUT, NIR_HOOK_POSTROUTING };

struct nir_chain {
	char name[64];
	enum nir_hook hook;  /* NONE: a regular chain reached by jump/goto */
	int priority;
	bool policy_drop;    /* base chains only; default accept */
	bool nat_type;       /* base chain of type nat (else filter) */
	bool keep;           /* loaded for what loading it does, though no
			      * rule continues in it (never pruned) */
	bool flat;           /* an entry every packet walks: never hoisted
			      * (base chains are not either) */
	int n_rules;
	struct nir_rule *rules;
};

/* A map from interface name (16 bytes) to a 32-bit mark. */
struct nir_map_elem {
	char ifname[16];
	uint32_t mark;
};

struct nir_map {
	char name[64];
	bool is_set;         /* a set of names, no data (marks ignored) */
	int n_elems;
	struct nir_map_elem *elems;
};

struct nir_counter {
	char name[64];
	uint64_t packets, bytes; /* initial values */
};

/* A named set of concatenated keys: flows that differ only in the values
 * of some fields become one rule that looks the packet's key up here.
 * Each key field is loaded into the next 32-bit registers (a field shorter
 * than 4 bytes is padded to 4, as nftables concatenations are), masked if
 * 'masked'.  Elements carry the id of the flow they stand for, as element
 * user data.  A set with 'counters' keeps per-flow statistics in a second,
 * dynamic set of the same key type (NIR_STATS_SUFFIX): the lookup rule adds
 * a key there, with its counter, the first time a packet matches it.  A
 * counter in every element would cost the kernel a per-cpu allocation per
 * element at load time (100 000 flows: most of the load); this way only keys
 * that see traffic pay, and they pay in the packet path once. */
#define NIR_SET_MAX_FIELDS 8
#define NIR_STATS_SUFFIX "_stats"
#define NIR_SET_KEY_MAX 64

struct nir_set_field {
	struct nir_src src;
	bool masked;
	struct nir_value mask;
};

struct nir_set_elem {
	uint8_t key[NIR_SET_KEY_MAX];
	uint64_t flow_id;
	uint64_t packets, bytes; /* initial statistics (the stats set's element) */
	char chain[64];          /* verdict maps: goto this chain */
};

struct nir_set {
	char name[64];
	int n_fields;
	struct nir_set_field fields[NIR_SET_MAX_FIELDS];
	int key_len;             /* bytes: the padded fields' sum */
	bool counters;           /* statistics in set <name>NIR_STATS_SUFFIX */
	bool vmap;               /* a verdict map: a found key goes to its
				  * element's chain (a flow's own actions) */
	bool jump;               /* verdict maps: jump, so the looking-up
				  * chain goes on after the element's chain
				  * returns (else goto) */
	int n_elems, cap_elems;
	struct nir_set_elem *elems;
	int size;                /* the kernel's element limit, of the stats
				  * set too; 0: none (nir_diff_build chooses
				  * it, never 0 for a set with counters) */
};

/* A conntrack helper object: "ftp" for TCP, "tftp" for UDP... */
struct nir_helper {
	char name[64];
	char helper[16];
	uint8_t l4proto;
};

/* A limit object, always "rate over": a meter (rules/meter.h).  Per
 * second; burst in the same unit. */
struct nir_limit {
	char name[64];
	uint64_t rate;
	uint32_t burst;
	bool bytes;              /* bytes/second; else packets/second */
};

/* A conntrack timeout policy object for one transport protocol: values[i]
 * in seconds, indexed as libnftnl's NFTNL_CTTIMEOUT_TCP_* / _UDP_*. */
#define NIR_TIMEOUT_VALUES 11
struct nir_ct_timeout {
	char name[64];
	uint8_t l4proto;         /* 6 or 17 */
	uint32_t values[NIR_TIMEOUT_VALUES];
};

/* The connections committed in one zone, counted against a limit
 * (set-zone-limit): a dynamic set, keyed by the zone, whose element holds
 * nf_conncount's list of them ("ct count over LIMIT").  A reload keeps an
 * unchanged one, and with it the count. */
struct nir_connlimit {
	char name[64];
	uint32_t limit;
};

/* A flowtable (netdev ingress on each device): the fast path for the
 * connections a NIR_FLOW_OFFLOAD statement hands it. */
struct nir_flowtable {
	char name[64];
	int priority;
	bool hw;                 /* NFT_FLOWTABLE_HW_OFFLOAD */
	int n_devs;
	char (*devs)[16];
};

struct nir_table {
	enum nir_family family;
	char name[64];
	int n_chains;
	struct nir_chain *chains; /* order: regular chains may be referenced by any */
	int n_maps;
	struct nir_map *maps;
	int n_counters;
	struct nir_counter *counters;
	int n_helpers;
	struct nir_helper *helpers;
	int n_limits;
	struct nir_limit *limits;
	int n_timeouts;
	struct nir_ct_timeout *timeouts;
	int n_connlimits;
	struct nir_connlimit *connlimits;
	int n_sets;
	struct nir_set *sets;
	int n_flowtables;
	struct nir_flowtable *flowtables;
};

struct nir_ruleset {
	int n_tables;
	struct nir_table *tables;
	/* set by the compiler: the IP pipeline runs in the bridge family with
	 * its own conntrack (nf_conntrack_bridge), not in the inet hooks
	 * br_netfilter feeds; the bridge's nf_call_iptables may be off */
	bool bridge_ct;
};

/* Builders: each returns the new element (zeroed, owned by the parent) or
 * NULL on allocation failure. */
struct nir_table *nir_add_table(struct nir_ruleset *rs, enum nir_family family,
				const char *name);
struct nir_chain *nir_add_chain(struct nir_table *t, const char *name);
struct nir_rule *nir_add_rule(struct nir_chain *c);
struct nir_stmt *nir_add_stmt(struct nir_rule *r, enum nir_stmt_kind kind);
struct nir_map *nir_add_map(struct nir_table *t, const char *name);
int nir_map_add(struct nir_map *m, const char *ifname, uint32_t mark);
struct nir_counter *nir_add_counter(struct nir_table *t, const char *name);
struct nir_helper *nir_add_helper(struct nir_table *t, const char *name);
struct nir_limit *nir_add_limit(struct nir_table *t, const char *name);
struct nir_ct_timeout *nir_add_timeout(struct nir_table *t, const char *name);
struct nir_connlimit *nir_add_connlimit(struct nir_table *t, const char *name);
struct nir_set *nir_add_set(struct nir_table *t, const char *name);
/* Adds a key field to a set with no elements yet; -1 when the key is full. */
int nir_set_add_field(struct nir_set *s, const struct nir_src *src,
		      const struct nir_value *mask);
struct nir_set_elem *nir_set_add_elem(struct nir_set *s);
/* Bytes a field takes in a concatenated key. */
int nir_set_field_len(const struct nir_set_field *f);
struct nir_set *nir_find_set(struct nir_table *t, const char *name);
struct nir_flowtable *nir_add_flowtable(struct nir_table *t, const char *name);
int nir_flowtable_add_dev(struct nir_flowtable *ft, const char *ifname);

struct nir_chain *nir_find_chain(struct nir_table *t, const char *name);
/* Gives r its own copy of the n statements at src (whatever r held is not
 * freed); -1 on no memory. */
int nir_copy_stmts(struct nir_rule *r, const struct nir_stmt *src, int n);
/* Frees rule i of c and closes the gap. */
void nir_remove_rule(struct nir_chain *c, int i);
/* Frees rules i..i+k-1 of c and closes the gap. */
void nir_remove_rules(struct nir_chain *c, int i, int k);
/* Frees chain i of t and closes the gap (later chains move down one). */
void nir_remove_chain(struct nir_table *t, int i);
/* Moves chain i of 'from' to the end of 'to' (later chains of 'from' move
 * down one); -1 on no memory, nothing moved. */
int nir_move_chain(struct nir_table *from, int i, struct nir_table *to);
struct nir_counter *nir_find_counter(struct nir_table *t, const char *name);

void nir_ruleset_free(struct nir_ruleset *rs);

/* Writes the ruleset in nft syntax (what `nft -f` would load). */
void nir_print(const struct nir_ruleset *rs, FILE *out);

const char *nir_family_name(enum nir_family f);
const char *nir_hook_name(enum nir_hook h);

#endif
