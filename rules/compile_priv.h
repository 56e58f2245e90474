/* Internal to the compiler: the bit layout it shares between passes, the
 * per-path state, and the helpers its files share. */
#ifndef BRFLOW_COMPILE_PRIV_H
#define BRFLOW_COMPILE_PRIV_H

#include "compile.h"

/* Packet mark, written at bridge prerouting and read by every later hook. */
#define MARK_IN_PORT    0x00000fffu
#define MARK_OUT_SHIFT  12
#define MARK_OUT        0x00fff000u
#define OUT_NORMAL      0xfffu        /* normal/flood: the bridge decides */
#define MARK_LOCAL      0xffeu        /* in_port or output LOCAL (OFPP_LOCAL) */
#define OUT_SEVERAL     0x1000u       /* compile time only: more than one */
#define MARK_CS_SHIFT   24            /* effective ct_state flags */
#define MARK_CS_NEW     (1u << 24)
#define MARK_CS_EST     (1u << 25)
#define MARK_CS_REL     (1u << 26)
#define MARK_CS_RPL     (1u << 27)
#define MARK_CS_INV     (1u << 28)
#define MARK_CS_ALL     (0x1fu << 24)
#define MARK_OURS       0x80000000u   /* entered by a brflow port */

/* Connection mark: bit 31 = committed by ct(commit). */
#define CT_COMMITTED    0x80000000u
/* Connection label bit 126 = committed, for connections netfilter created
 * from an expectation (an FTP data connection): they inherit their
 * master's mark, bit 31 included, but count as committed only once a
 * ct(commit) ran on them, as in OVS. */
#define LABEL_COMMITTED_BIT 126

/* Where a chain copy runs, and what is known there at compile time. */
enum pass { PASS_PRE, PASS_MAIN };
enum l3 { L3_IP4, L3_IP6, L3_OTHER };

#define ZONE_NONE  (-1)
#define ZONE_MIXED (-2)

struct path_state {
	enum pass pass;
	enum l3 l3;
	uint8_t table;
	bool tracked;
	uint16_t ctx_zone;      /* ct_zone as seen by matches when tracked */
	int zone_seen;          /* zone of ct() done on this path: NONE/MIXED/zone */
	uint32_t out;           /* output that may already have run: 0 none,
				 * a port (or OUT_NORMAL), OUT_SEVERAL */
	uint16_t in_port;       /* known ingress port on this path, 0 if not */
	uint32_t group;         /* 0: a table's chain; else group_id + 1 */
	bool nat_set;           /* a ct(commit,nat(...)) already chose the
				 * packet's NAT: OVS fixes it at that commit */
	uint8_t nat_view;       /* after ct(nat,table=): 0 none; 1 the packet in
				 * the original direction, 2 in the reply
				 * direction, translated (read from conntrack);
				 * 3 a new connection's first packet */
	struct {
		uint8_t kind;   /* NAT_SRC, NAT_DST, or 0 (nothing translated) */
		uint8_t family;
		bool single;    /* one address: 'addr' is the translation */
		uint8_t addr[16];
		uint16_t port;  /* one port, or 0 */
	} first_nat;            /* nat_view 3: what the ct() makes of it */
	uint32_t regs[FLOW_NREGS];
	uint64_t metadata;
	/* registers (bit N for regN) and metadata (REG_BIT_METADATA) whose value
	 * depends on the way a resubmitted table went: a flow that reads one
	 * is refused */
	uint16_t regs_unknown;
	bool addr_rewritten;    /* a stateless IP address or port write ran:
				 * conntrack (before the pipeline) saw the old
				 * one */
	/* nw_tos, nw_ecn and nw_ttl written on this path (mod_nw_tos...):
	 * later matches on them are decided at compile time, so the pre-pass,
	 * which runs before the write, sees what the main pass sees.  Bit
	 * (field - F_NW_TOS) of hdr_known; the values by the same index. */
	uint8_t hdr_known;
	uint8_t hdr_value[3];
	/* the same bits: written differently on the paths of a table
	 * resubmitted to earlier, so not known; the pre-pass, which writes
	 * nothing, cannot read them from the packet either */
	uint8_t hdr_unknown;
	/* how many dec_ttl ran on a TTL not known at compile time: the main
	 * pass reads the decremented TTL, the pre-pass (which writes nothing)
	 * the packet's own, that many more */
	uint8_t ttl_dec;
	/* the queue later outputs go through (set_queue, pop_queue): 0 none,
	 * else the queue + 1; QUEUE_UNKNOWN after a resubmit whose table
	 * returns with different queues on different paths.  Known along the path, so an output writes the egress
	 * priority only when one is set, and pop_queue writes nothing. */
	uint32_t queue;
	uint8_t ct_known;       /* tracked: 0, or the ct_state flags (CS_*)
				 * every packet on this path has, known at
				 * compile time (the early path for new
				 * connections, rules/compile_early.c) */
};

/* What a compiled chain may do to the path that called it. */
struct chain_summary {
	int zone;               /* ZONE_NONE, a zone, or ZONE_MIXED */
	uint32_t out;           /* likewise, for what the chain may output */
	int depth;              /* jump stack depth used below and including it */
	/* What its paths return with, which resubmit and goto_table hand back
	 * to the caller (OVS shares the packet and registers): 'exit' merges
	 * every path that returned (exit_seen).  Where they differ a register
	 * is unknown (regs_unknown), the queue QUEUE_UNKNOWN, a header field
	 * hdr_unknown; an address rewrite or NAT choice on any path counts.
	 * No path falls through past a flow that matches every packet
	 * (no_miss). */
	bool exit_seen;
	struct path_state exit;
	bool no_miss;
};

#define REG_BIT_METADATA 8

/* Register or metadata field id's bit in path_state.regs_unknown. */
static inline int reg_bit(enum field_id id)
{
	return id == F_METADATA ? REG_BIT_METADATA : (int)(id - F_REG0);
}

static inline bool reg_unknown(const struct path_state *st, enum field_id id)
{
	return st->regs_unknown & 1u << reg_bit(id);
}
void note_exit(struct chain_summary *s, const struct path_state *st);

#define QUEUE_UNKNOWN UINT32_MAX


struct chain_memo {
	struct path_state key;
	char name[64];
	bool done;
	struct chain_summary sum;
};

/* Flows of one table that may share a set lookup (compile_sets.c). */
struct flow_group {
	int n;
	int *members;          /* indexes into table_flows.flows, ascending */
	int n_sets;            /* chain copies that looked this group up in a
				* set, or where none of its members can match */
	bool fallback;         /* some chain copy emitted members one by one */
	bool vmap;             /* members differ in actions: a verdict map
				* sends each to a chain of its own */
	bool one_id;           /* members share one flow id (a conjunction's
				* expansion): its counter object counts them */
};

struct table_flows {
	int n;
	const struct compile_flow **flows; /* priority order */
	int *group_of;         /* per flow: its group, or -1; NULL when n < 2 */
	int n_groups;
	struct flow_group *groups;
	int n_copies;          /* chain copies compiled for this table */
};

/* A set the optimiser made, kept for incremental updates: the chain copy's
 * state and the statements every member compiled to (values at the key
 * positions are the first member's). */
struct set_record {
	uint8_t table;         /* OpenFlow table */
	int group;
	int nir_table;         /* 0 bridge, 1 inet */
	int set;               /* index in that nir_table's sets; -1: no member
				* can match in this chain copy */
	struct path_state st;
	struct nir_rule ref;   /* owned */
	uint64_t key_positions;
};

struct compiler {
	const struct compile_input *in;
	struct nir_ruleset *rs;
	struct nir_table *bridge, *inet;
	struct nir_table *ip6;       /* the pre-pass, when IPv4 needs none */
	struct table_flows tables[FLOW_MAX_TABLE + 1];
	uint8_t label_ever_set[16];  /* every ct_label bit some flow sets */
	int n_memo;
	struct chain_memo *memo;
	char *err;
	/* distinct nat(dst=...) / nat(src=...) actions, index = position + 1 */
	int n_dnat, n_snat;
	struct action_nat dnat[255], snat[255];
	/* ct_label bits brflow keeps for itself in this flow set (kernel
	 * layout): user matches ignore them, user writes may not touch them */
	uint8_t label_reserved[16];
	int n_commits;               /* commit chains made so far */
	uint8_t *counted[2];         /* per flow and table: counter object made */
	bool group_counted[2];       /* per table: the group buckets' counters made */
	int n_records;
	struct set_record *records;
	bool bridge_ct;              /* IP runs in the bridge table too */
	bool prepass_idle;           /* bridge_ct and the pre-pass has nothing to
				      * do: no pre-pass and no classify hook */
	struct nir_table *ip;        /* where IP chains live: inet, or bridge
				      * with bridge_ct */
	/* What the whole flow set holds, found in one pass at start (a pass
	 * over 100 000 flows is a pass over scattered memory): */
	bool local;                  /* local_managed */
	bool nat;                    /* some flow's ct() translates (uses_nat) */
	bool dst_rewrite;            /* some flow rewrites an IP destination */
	bool dpi;                    /* some flow matches or asks for DPI */
	bool exec;                   /* some flow has ct(exec(...)) */
};

/* Records the first error, "flow 'TEXT': REASON" (f may be NULL); -1. */
int compile_fail(struct compiler *c, const struct flow *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int compile_oom(struct compiler *c);

/* NAT (compile_nat.c).  Label bits 72-95 carry a connection's NAT choice
 * from the pipeline to the nat chains: a per-bridge tag and the indexes of
 * its nat(dst=...) and nat(src=...) actions. */
#define NAT_LABEL_TAG_SHIFT  72
#define NAT_LABEL_DNAT_SHIFT 80
#define NAT_LABEL_SNAT_SHIFT 88
#define NAT_LABEL_FIRST_BIT  72
#define NAT_MAX_RULES        255

/* Adds the label bits that select nat action n to label (kernel layout);
 * -1 when there are too many distinct nat actions. */
int nat_label_bits(struct compiler *c, const struct action_nat *n, uint8_t *label);
/* The nat chains for every nat action the pipeline used. */
int build_nat_chains(struct compiler *c);

/* The driver (compile.c). */
struct nir_table *table_for(struct compiler *c, const struct path_state *st);
/* Compiles (once) the chain for state st; returns its name and summary. */
int compile_chain(struct compiler *c, const struct path_state *st,
		  const char **name, struct chain_summary *sum);
bool uses_nat(const struct flow *f);
/* Whether f rewrites an IPv4/IPv6 destination address (set_field to
 * nw_dst/ipv6_dst): br_netfilter re-routes such packets as if DNATed. */
bool rewrites_ip_dst(const struct flow *f);
/* "table=N,<flow as printed, without its timeouts>", malloc'd (for
 * messages and rule comments). */
char *flow_text(const struct flow *f);

/* Emission of actions (compile_emit.c). */
int emit_flow(struct compiler *c, int chain_idx, const struct path_state *st,
	      const struct compile_flow *cf, struct chain_summary *sum);
/* emit_flow with n_extra more statements after the matches (a group
 * bucket's hash match and counter); a flow with id 0 (a group bucket) has
 * no flow counter. */
int emit_flow_with(struct compiler *c, int chain_idx, const struct path_state *st,
		   const struct compile_flow *cf, struct chain_summary *sum,
		   const struct nir_stmt *extra, int n_extra);
/* A rule made of 'matches' (taken over, left empty) and cf's actions: the
 * optimiser's set lookup standing for every flow of a group. */
int emit_set_rule(struct compiler *c, int chain_idx, const struct path_state *st,
		  const struct compile_flow *cf, struct nir_rule *matches,
		  char *comment, struct chain_summary *sum);
/* Makes sure table t has the counter object of flow cf; -1 on no memory. */
int need_counter(struct compiler *c, struct nir_table *t,
		 const struct compile_flow *cf);
int emit_group(struct compiler *c, int chain_idx, const struct path_state *st,
	       struct chain_summary *sum);
void merge_summary(struct chain_summary *into, const struct chain_summary *s,
		   int extra_depth);

/* The optimiser (compile_sets.c). */
int build_groups(struct compiler *c, struct table_flows *tf);
/* Every flow of tf in chain chain_idx, groups as set lookups. */
int emit_table(struct compiler *c, int chain_idx, const struct path_state *st,
	       struct table_flows *tf, struct chain_summary *sum);
void free_groups(struct table_flows *tf);
/* The plan for incremental updates (takes c's set records); NULL on no
 * memory. */
struct compile_plan *make_plan(struct compiler *c);

/* The early decision for established traffic (compile_early.c): a rule
 * in the pipeline base chain when the policy provably passes every
 * established committed packet of family l3 the same way. */
int add_early_established(struct compiler *c, struct nir_chain *pipeline,
			  enum l3 l3);
/* The early path for new connections (compile_early.c): under the same
 * proof for table 0, a rule in the pipeline base chain (found by name: this
 * compiles chains) sends a new, uncommitted connection's first packet to a
 * copy of table N compiled for +trk+new. */
int add_early_new(struct compiler *c, const char *pipeline, enum l3 l3);
/* The LOCAL port (compile_local.c). */
bool local_managed(const struct compiler *c);     /* some flow names LOCAL */
/* in_port=LOCAL or output:LOCAL in f, or in a group's bucket (the parts
 * of local_managed's answer, found once at start). */
bool flow_names_local(const struct flow *f);
bool groups_name_local(const struct compiler *c);
uint32_t port_mark(uint32_t ofport);              /* OFPP_LOCAL -> MARK_LOCAL */
int build_local_bridge(struct compiler *c);
int build_local_inet(struct compiler *c);
int add_local_prepass_track(struct compiler *c, struct nir_chain *pre);
int add_bridge_iif_accept(struct compiler *c, struct nir_chain *ch);
int add_port_name_set(struct compiler *c);   /* set "portnames" */
/* "iifname X drop" ('out': "oifname X drop") for each port whose config
 * has 'bit' (mod-port no-receive / no-forward). */
int add_port_config_drops(struct compiler *c, struct nir_chain *ch, uint32_t bit,
			  bool out);
bool any_port_config(const struct compiler *c, uint32_t bit);
int add_other_bridge_accept(struct compiler *c, struct nir_chain *ch, bool in, bool out);
/* "iifname|oifname [!=] IFNAME" (key NFT_META_IIFNAME or _OIFNAME) */
int ifname_match(struct nir_rule *r, uint32_t key, const char *name,
		 const char *ifname, bool negate);
/* "[!=] oifname|iifname @portnames" ('out' for oifname) */
int add_port_lookup(struct nir_rule *r, bool out, bool negate);
/* "oifname . meta mark & 0x80fff000 @outports accept" (set "outports") */
int add_out_port_accept(struct compiler *c, struct nir_chain *ch);
/* Name of the ctstate chain a tracked copy's wrapper jumps to. */
int ctstate_chain_for(struct compiler *c, const struct path_state *st,
		      char *buf, size_t len);

/* Fixed chains (compile_base.c). */
/* A new rule in ch (NULL ch: an earlier lookup failed); NULL on no memory,
 * recorded. */
struct nir_rule *rule_in(struct compiler *c, struct nir_chain *ch);
/* A chain of t hooked at hook/prio; NULL on no memory, recorded. */
struct nir_chain *base_chain(struct compiler *c, struct nir_table *t,
			     const char *name, enum nir_hook hook, int prio);
int add_meta_match(struct nir_rule *r, uint32_t key, const char *name,
		   enum nir_fmt fmt, const void *value, int len, bool negate);
/* "meta nfproto" for IPv4/IPv6 in the inet table, "meta protocol" (the
 * ethertype) in the bridge table, where nfproto is always bridge. */
int add_l3_match(const struct compiler *c, struct nir_rule *r, enum l3 l3);
/* "ether daddr" == the bridge's own MAC; -1 on no memory. */
int add_bridge_mac_match(const struct compiler *c, struct nir_rule *r);
int build_bridge_table(struct compiler *c);
/* The pipeline's last rules: no output chosen, drop; else accept. */
int add_decision(struct compiler *c, struct nir_chain *ch);
/* meta l4proto tcp, flags (of SYN, ACK, RST, FIN) a bare SYN, or with
 * not_syn anything else. */
int add_tcp_bare_syn_match(struct nir_rule *r, bool not_syn);
int build_inet_table(struct compiler *c);
/* After the tables are built: moves the pre-pass to the ip6 table when IPv4
 * needs none, drops chains no base chain reaches (compile_prune.c). */
int place_chains(struct compiler *c);
/* Before that: a test that three or more consecutive rules start with is
 * evaluated once, in front of a chain holding them (compile_hoist.c). */
int hoist_tests(struct compiler *c);
/* Two matches that differ at most in the value they compare with
 * (compile_sets.c). */
bool same_match_but_value(const struct nir_stmt *a, const struct nir_stmt *b);
int add_ct_key_match(struct nir_rule *r, uint32_t key, const char *name,
		     enum nir_fmt fmt, int len, const uint32_t *mask, uint32_t value);

/* Match side (compile_match.c).  Appends the statements that test 'f''s
 * matches in state 'st' to 'r'.  Returns 1 if the rule can match, 0 if the
 * flow can never match in this state (the rule should be dropped), -1 on
 * allocation failure, or one of the MATCH_ errors below. */
int compile_matches(const struct compiler *c, const struct flow *f,
		    const struct path_state *st, struct nir_rule *r);
#define MATCH_NO_DPI_HOST  (-2) /* dpi_host= names no host of the table */
#define MATCH_REG_UNKNOWN  (-3) /* reads a register st->regs_unknown has */
#define MATCH_HDR_UNKNOWN  (-4) /* the pre-pass reads a field st->hdr_unknown has */
/* compile_matches' failure 'ret' as the compile's error (-1). */
int match_error(struct compiler *c, const struct compile_flow *cf,
		const struct path_state *st, int ret);

/* Big-endian helpers over a field's width. */
uint32_t be_uint(const uint8_t *p, int width);
uint64_t be_uint64(const uint8_t *p, int width);
bool mask_is_full(const uint8_t *mask, int width);
int field_width(enum field_id id);

/* Statement builders shared by the passes. */
int add_mark_match(struct nir_rule *r, uint32_t mask, uint32_t value);
int add_mark_set(struct nir_rule *r, enum nir_mark_target t, uint32_t and_mask,
		 uint32_t or_value);
int add_verdict(struct nir_rule *r, enum nir_verdict v, const char *chain);
int add_ct_state_match(struct nir_rule *r, uint32_t bits, bool negate);
/* ct label & mask == value, both 16 bytes in the kernel's layout (label
 * bit N is bit N%8 of byte N/8). */
int add_label_match(struct nir_rule *r, const uint8_t *mask, const uint8_t *value);
/* The TTL byte (IPv6: hop limit), as nft names a raw payload. */
struct nir_src ttl_src(bool v6);
/* "TTL (IPv6: hop limit) & mask == value" */
int add_ttl_match(struct nir_rule *r, bool v6, uint8_t mask, uint8_t value);
/* "TTL (IPv6: hop limit) < bound" */
int add_ttl_below(struct nir_rule *r, bool v6, uint32_t bound);

#endif
