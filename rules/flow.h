/* The flow language's internal form: one OpenFlow-style flow, as parsed from
 * ovs-ofctl syntax and as the compiler consumes it.  Values are kept in
 * network byte order over the field's width so that printing, comparing and
 * compiling never need to know a field's C type. */
#ifndef BRFLOW_FLOW_H
#define BRFLOW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLOW_NREGS 8
#define FLOW_DEFAULT_PRIORITY 32768
#define FLOW_MAX_TABLE 254
#define FLOW_MAX_VALUE 16 /* bytes: the widest field is ct_label */
/* OpenFlow's reserved port for the switch's own network stack (the bridge
 * device): in_port=LOCAL, output:LOCAL. */
#define OFPP_LOCAL 0xfffe

/* ct_state bits, numbered as OVS numbers them (CS_* in OVS). */
#define CS_NEW 0x01
#define CS_EST 0x02
#define CS_REL 0x04
#define CS_RPL 0x08
#define CS_INV 0x10
#define CS_TRK 0x20
#define CS_SNAT 0x40 /* set only after ct(nat): the packet's source was translated */
#define CS_DNAT 0x80 /* ... its destination */

/* Bit 31 of the connection mark is brflow's "committed" bit; users keep
 * bits 0-30 (see brflow-flows(7)). */
#define CT_MARK_USER_MASK 0x7fffffffu

enum field_id {
	F_IN_PORT,
	F_DL_SRC,
	F_DL_DST,
	F_DL_TYPE,
	F_NW_SRC,
	F_NW_DST,
	F_IPV6_SRC,
	F_IPV6_DST,
	F_NW_PROTO,
	F_TP_SRC,
	F_TP_DST,
	F_TCP_FLAGS,
	F_ICMP_TYPE,
	F_ICMP_CODE,
	F_ND_TARGET,    /* IPv6 neighbour discovery target (icmp6 type 135/136) */
	F_NW_TOS,       /* the ToS/traffic class byte's DSCP bits (ECN bits 0) */
	F_NW_ECN,       /* its ECN bits, 0-3 */
	F_NW_TTL,       /* IPv4 TTL, IPv6 hop limit */
	F_IPV6_LABEL,   /* IPv6 flow label, 20 bits */
	/* An Ethernet/IPv4 ARP packet's fields (OVS's arp_op ...) */
	F_ARP_OP,
	F_ARP_SPA,
	F_ARP_TPA,
	F_ARP_SHA,
	F_ARP_THA,
	F_CT_STATE,
	F_CT_ZONE,
	F_CT_MARK,
	F_CT_LABEL,
	/* The connection's original-direction tuple (OVS's ct_nw_src ...):
	 * valid once ct() found or made the connection. */
	F_CT_NW_SRC,
	F_CT_NW_DST,
	F_CT_IPV6_SRC,
	F_CT_IPV6_DST,
	F_CT_NW_PROTO,
	F_CT_TP_SRC,
	F_CT_TP_DST,
	F_REG0,
	F_REG7 = F_REG0 + FLOW_NREGS - 1,
	F_METADATA,     /* OpenFlow metadata, 64 bits, per packet like regs */
	F_DPI_PROTO,    /* dpi_proto=NAME: value[0] = id from rules/dpi.h */
	F_DPI_HOST,     /* dpi_host=PATTERN: the pattern is flow.dpi_host */
	F_CONJ_ID,      /* conj_id=ID: 0 in every lookup but a conjunction's
			 * (rules/flow_conj.h) */
	F_VLAN_TCI,     /* the 802.1Q tag's TCI as OVS keeps it: bit 12
			 * (VLAN_CFI) set when the packet is tagged, 0 when
			 * not; dl_vlan and dl_vlan_pcp are parts of it */
	F_COUNT
};

/* One match: field == value under mask.  value and mask are big-endian over
 * field_width(id) bytes; a full mask means an exact match.  For F_CT_STATE
 * value holds the flags that must be set and mask the flags named at all. */
struct flow_match {
	enum field_id field;
	uint8_t value[FLOW_MAX_VALUE];
	uint8_t mask[FLOW_MAX_VALUE];
};

enum action_type {
	ACT_OUTPUT,     /* output:N and bare N */
	ACT_NORMAL,
	ACT_FLOOD,
	ACT_IN_PORT,
	ACT_RESUBMIT,   /* resubmit(,N) (and resubmit(PORT,N) is rejected) */
	ACT_GOTO_TABLE, /* goto_table:N; must be last */
	ACT_SET_FIELD,  /* load:, set_field:, move: to reg0-7/metadata;
			 * set_field:/mod_dl_src:/mod_dl_dst: to dl_src/dl_dst */
	ACT_CT,
	ACT_DPI,        /* dpi(queue=N[-M],fail=open|closed) */
	ACT_GROUP,      /* group:N */
	ACT_CT_CLEAR,   /* ct_clear: later matches see the packet untracked */
	ACT_DEC_TTL,    /* dec_ttl: TTL/hop limit minus one; at 0 or 1 the rest
			 * of the flow's actions do not run */
	ACT_METER,      /* meter:N (OpenFlow 1.3's meter instruction): the
			 * parser puts it first, where it takes effect */
	ACT_CONJUNCTION, /* conjunction(ID,K/N): only with other conjunctions */
	ACT_SET_QUEUE,  /* set_queue:N: later outputs go through queue N */
	ACT_POP_QUEUE,  /* pop_queue: later outputs through no queue again */
	ACT_OUTPUT_REG, /* output:NXM_NX_REG0[0..15]: to the port a register
			 * or metadata holds (known per path at compile time) */
	ACT_EXIT,       /* exit: no further action runs, in any table */
	ACT_WRITE_METADATA, /* write_metadata:V[/M], OpenFlow 1.1's instruction:
			     * u.set on metadata; after the actions, before
			     * goto_table */
};

/* The highest queue: the kernel datapath gives queue N to the egress
 * qdisc as priority 1:N+1 (tc's class 1:N+1), minors up to 0xf000. */
#define FLOW_MAX_QUEUE 0xefff

/* load:/set_field: — write value under mask into a field (reg0-7 at top
 * level; ct_mark and ct_label inside ct(exec(...))).  Big-endian over the
 * field's width, like flow_match. */
struct action_set_field {
	enum field_id field;
	uint8_t value[FLOW_MAX_VALUE];
	uint8_t mask[FLOW_MAX_VALUE];
	bool as_load; /* written as load:...->NXM_..[a..b]; printer keeps form */
	/* move:SRC[a..b]->DST[c..d]: the value comes from a register or
	 * metadata at run time (known per path at compile time); 'mask' still
	 * marks the destination bits and 'value' is unused. */
	bool is_move;
	enum field_id src;
	uint8_t src_ofs, dst_ofs, nbits;
};

#define CT_MAX_EXEC 8

/* nat inside ct(): nat(src=ADDR[-ADDR][:PORT[-PORT]][,random|hash|persistent])
 * or nat(dst=...), or bare "nat" (apply the connection's existing binding).
 * Addresses big-endian; family 4 or 6 (0 for bare nat). */
enum nat_kind { NAT_EXISTING, NAT_SRC, NAT_DST };

struct action_nat {
	enum nat_kind kind;
	int family;                      /* 4, 6, or 0 when no address given */
	uint8_t addr_min[16], addr_max[16];
	uint16_t port_min, port_max;     /* 0, 0: ports unchanged */
	bool random, hash, persistent;   /* OVS's flags */
};

struct action_ct {
	bool commit;
	int table;          /* -1: no table= (processing continues untracked) */
	uint16_t zone;      /* immediate zone when zone_reg < 0 */
	int zone_reg;       /* 0-7 when zone=REGn[a..b], else -1 */
	uint8_t zone_ofs;   /* first bit of the register range */
	uint8_t zone_nbits; /* width of the register range (<= 16) */
	char alg[16];       /* "" when absent; "ftp", "tftp", "sip" */
	char *nat;          /* NULL when absent; else the nat(...) text as written */
	struct action_nat nat_spec; /* parsed form of 'nat', valid when nat != NULL */
	int n_exec;
	/* malloc'd room for CT_MAX_EXEC once ct(exec(...)) holds one, else
	 * NULL; owned like 'nat' (flow_free releases, flow_copy duplicates).
	 * A pointer keeps struct flow_action small: 100 000-flow tables. */
	struct action_set_field *exec;
};

/* Send the connection's packets to the DPI handler until it is
 * classified (rules/dpi.h). */
struct action_dpi {
	uint16_t queue_lo, queue_hi; /* NFQUEUE numbers; equal for one queue */
	bool fail_closed;            /* no handler listening: drop (else pass) */
};

/* conjunction(ID,K/N): this flow is clause K of N of conjunction ID
 * (rules/flow_conj.h). */
struct action_conj {
	uint32_t id;
	uint8_t clause;     /* K, 1..n_clauses */
	uint8_t n_clauses;  /* N, 2..64 */
};

struct flow_action {
	enum action_type type;
	/* ACT_OUTPUT from enqueue:PORT:QUEUE: QUEUE + 1 (this output alone
	 * goes through the queue); 0 for a plain output */
	uint32_t enqueue;
	union {
		uint32_t port;  /* ACT_OUTPUT */
		uint8_t table;  /* ACT_RESUBMIT, ACT_GOTO_TABLE */
		struct action_set_field set;
		struct action_ct ct;
		struct action_dpi dpi;
		uint32_t group_id;  /* ACT_GROUP */
		uint32_t meter_id;  /* ACT_METER */
		uint32_t queue;     /* ACT_SET_QUEUE */
		struct {
			enum field_id field; /* reg0-reg7 or metadata */
			uint8_t ofs, nbits;  /* nbits <= 16 */
		} out_reg;          /* ACT_OUTPUT_REG */
		struct action_conj conj; /* ACT_CONJUNCTION */
	} u;
};

/* note:HEX, a comment among the actions that does nothing (ovs-actions(7)).
 * Kept beside the actions, not among them, so the compiler and the trace
 * never meet one: 'before' is the index of the action it precedes
 * (n_actions: after the last). */
struct flow_note {
	int before;
	int len;
	uint8_t *data;  /* malloc'd, len bytes (NULL when 0) */
};

/* struct flow's flags, in OVS's bit order (enum ofputil_flow_mod_flags). */
enum {
	FLOW_FF_SEND_FLOW_REM = 1 << 0,
	FLOW_FF_NO_PKT_COUNTS = 1 << 1,
	FLOW_FF_NO_BYT_COUNTS = 1 << 2,
	FLOW_FF_CHECK_OVERLAP = 1 << 3,
	FLOW_FF_RESET_COUNTS = 1 << 4,
};

struct flow {
	uint8_t table;
	/* the flow_mod flag check_overlap: adding the flow fails if it
	 * overlaps another of its table and priority.  Not printed, not
	 * kept past the add that checks it; fills padding. */
	bool check_overlap;
	/* the flow_mod flag reset_counts: a modify with it starts the
	 * counters of the flows it selects again (an add always does).  Not
	 * printed; read from a modify's pattern only. */
	bool reset_counts;
	/* The flow_mod flags kept with the flow (FLOW_FF_*), as OVS keeps
	 * them with a rule: what ovs-ofctl's OpenFlow 1.3 dumps print.  Those
	 * given, and reset_counts for an OpenFlow 1.0 or 1.1 add, which
	 * always resets the counters.  Fills padding. */
	uint8_t flags;
	uint16_t priority;
	/* OpenFlow's timeouts in seconds, 0 for none: brflowd deletes the
	 * flow hard_timeout s after it was added, or once no packet matched it
	 * for idle_timeout s (rules/flow_expiry.h).  They fill the padding
	 * before cookie: struct flow keeps its size. */
	uint16_t idle_timeout;
	uint16_t hard_timeout;
	/* importance=N (OpenFlow 1.4): a rank for eviction, which brflow,
	 * having no table limits, never does; kept for OpenFlow 1.4 dumps.
	 * Fills padding too. */
	uint16_t importance;
	uint64_t cookie;
	int n_matches;
	/* malloc'd, n_matches long (NULL when 0), at most one per field, in
	 * field order; flow_free releases.  Not inline: F_COUNT matches would
	 * make every flow 1 KB, and 100 000-flow tables page-fault on it. */
	struct flow_match *matches;
	int n_actions;
	struct flow_action *actions;        /* malloc'd; flow_free releases */
	char *dpi_host;                     /* malloc'd pattern of F_DPI_HOST, or NULL */
	int n_notes;
	struct flow_note *notes;            /* malloc'd; flow_free releases */
};

/* Field metadata, one table row per field (rules/fields.c). */
struct field_info {
	enum field_id id;
	const char *name;      /* canonical ovs-ofctl name */
	const char *nxm_name;  /* NXM/OXM name used by load:, or NULL */
	uint8_t width;         /* bytes */
	bool maskable;
};

const struct field_info *field_info(enum field_id id);
const struct field_info *field_by_name(const char *name);
/* The field that NAME=VALUE sets in a flow's match: the names flow_parse
 * takes there (canonical ones, OVS's aliases such as ip_src or tcp_dst,
 * dpi_proto, dpi_host), not shorthands such as tcp, nor NXM names, nor
 * table/priority/cookie.  NULL if none. */
const struct field_info *flow_match_field(const char *name);

/* Parse one flow in ovs-ofctl syntax.  Returns NULL on success, else a
 * malloc'd one-line message naming the token and its 1-based column, e.g.
 * "unknown field 'nw_sorc' at column 12".  With opts->match_only set, actions
 * may be omitted and a missing priority stays "unspecified" (see
 * flow_parse_opts).  idle_timeout= and hard_timeout= are read wherever the
 * match is; a pattern holds them too, and its callers ignore them, as
 * OpenFlow's modify and delete do.  On success *out owns its actions. */
struct flow_parse_opts {
	bool match_only;        /* del-flows/mod-flows matching: actions optional */
	bool *priority_given;   /* out: whether priority= appeared; may be NULL */
	bool *table_given;      /* out: whether table= appeared; may be NULL */
	/* A pattern's cookie: cookie=V/M selects the flows whose cookie equals
	 * V in M's 1-bits (M may be -1) and stores M here; plain cookie=V is a
	 * new cookie (mod-flows) and sets *cookie_set.  NULL (adding flows):
	 * a mask is an error. */
	uint64_t *cookie_mask;
	bool *cookie_set;
	/* A pattern's out_port=PORT: the flows with an output action to PORT
	 * (0: any).  NULL (adding flows): out_port is an error. */
	uint32_t *out_port;
	/* Resolves a port name ("in_port=veth1", "output:veth2") to its ofport,
	 * or returns 0 if there is no such port; NULL: names are errors. */
	int (*port_by_name)(const char *name, void *arg);
	void *port_arg;
	/* The actions of a group bucket, which has no match: an address
	 * rewrite's prerequisite (ip/ipv6) is left to the packet, as OVS
	 * applies it only to packets that have the field. */
	bool bucket;
};
char *flow_parse(const char *text, struct flow *out,
		 const struct flow_parse_opts *opts);

/* Canonical text as ovs-ofctl's match_format + actions print it, without
 * cookie/table/stats (the daemon adds those):
 *   "priority=100,ip,in_port=1 actions=ct(commit),output:2"
 * priority= is left out when it is the default 32768, as OVS does; the
 * shorthand (ip, tcp, ...) comes first; an empty action list prints
 * "actions=drop".  Timeouts that are not 0 lead, each followed by ", ",
 * where ovs-ofctl dump-flows prints them (after the statistics):
 *   "idle_timeout=10, hard_timeout=30, priority=100,ip actions=drop"
 * Parsing the result gives back an equal flow (round trip).
 * Returns a malloc'd string. */
char *flow_format(const struct flow *f);
/* Just the actions part, as after "actions=". malloc'd. */
char *flow_format_actions(const struct flow *f);
/* Just the match part (no table/priority). malloc'd; "" when empty. */
char *flow_format_match(const struct flow *f);
/* The names of the flags set in FLOW_FF_* bits, in ovs-ofctl's order
 * (send_flow_rem check_overlap reset_counts no_packet_counts
 * no_byte_counts), each followed by sep: "send_flow_rem reset_counts "
 * for sep " ".  malloc'd; "" when none. */
char *flow_format_flags(unsigned flags, const char *sep);
/* One action as it appears in the action list ("ct(commit)"). malloc'd. */
char *flow_format_action(const struct flow_action *a);

/* Port names for the _named printers (ovs-ofctl --names): in_port= and
 * output: print name(ofport) instead of the number when it returns one
 * the parser reads back as that port (a letter first, then letters,
 * digits, '_', '.', '-'; not a reserved word such as LOCAL or normal). */
struct flow_port_names {
	const char *(*name)(uint32_t ofport, void *arg);
	void *arg;
};
char *flow_format_named(const struct flow *f, const struct flow_port_names *names);
/* flow_format_named without the timeouts: what the kernel runs (rule
 * comments, compile errors) and the rule part of diff-flows' lines. */
char *flow_format_no_timeouts(const struct flow *f,
			      const struct flow_port_names *names);
char *flow_format_match_named(const struct flow *f,
			      const struct flow_port_names *names);
char *flow_format_action_named(const struct flow_action *a,
			       const struct flow_port_names *names);
/* "note:41.42.00...", as ovs-ofctl prints a note action. */
char *flow_format_note(const struct flow_note *n);
/* The name of one ct_state bit (CS_NEW: "new"), or NULL. */
const char *flow_ct_state_name(unsigned bit);

void flow_free(struct flow *f);
int flow_copy(struct flow *dst, const struct flow *src); /* 0 or -ENOMEM */

const struct flow_match *flow_find_match(const struct flow *f, enum field_id id);

/* Same table, priority and match (OpenFlow "strict" identity). */
bool flow_same_rule(const struct flow *a, const struct flow *b);
/* True when a and b have the same idle_timeout and hard_timeout. */
bool flow_same_timeouts(const struct flow *a, const struct flow *b);
/* True when a and b have the same actions (compared as parsed). */
bool flow_same_actions(const struct flow *a, const struct flow *b);
/* True when f has an output action to port (output:N, not NORMAL or FLOOD),
 * what OpenFlow's out_port selects. */
bool flow_outputs_to(const struct flow *f, uint32_t port);
/* The same translation: the parsed specs, not their texts ("1000-1000" and
 * "1000" are one binding). */
bool flow_same_nat(const struct action_nat *a, const struct action_nat *b);
/* The parsers' errors (flows, groups, meters): unless *err already holds
 * one, sets it to FMT's message followed by " at column N" for 0-based
 * offset off, on one line whatever the input held (control characters
 * become '?'), malloc'd.  Always returns -1, for "return fail(...)". */
int flow_fail_at(char **err, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Bit 'bit' (0: the least significant) of a big-endian value 'width'
 * bytes wide, as flow_match and action_set_field hold them. */
bool flow_bit_get(const uint8_t *v, int width, int bit);
void flow_bit_put(uint8_t *v, int width, int bit, bool on);
/* Non-strict: every packet matching f also matches pattern (pattern is
 * equal or more general), and tables agree when table_given. */
bool flow_covered_by(const struct flow *f, const struct flow *pattern);
/* What check_overlap refuses: a and b are in one table at one priority,
 * with different matches, and some packet could match both (each field
 * both match agrees where both masks have bits; dpi_host patterns are
 * taken to overlap). */
bool flow_overlaps(const struct flow *a, const struct flow *b);

#endif
