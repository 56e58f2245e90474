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
	bool maybe_output;      /* an output action may already have run */
	uint16_t in_port;       /* known ingress port on this path, 0 if not */
	uint32_t regs[FLOW_NREGS];
	uint64_t metadata;
};

/* What a compiled chain may do to the path that called it. */
struct chain_summary {
	int zone;               /* ZONE_NONE, a zone, or ZONE_MIXED */
	bool may_output;
	int depth;              /* jump stack depth used below and including it */
};

struct compiler;

/* Match side (compile_match.c).  Appends the statements that test 'f''s
 * matches in state 'st' to 'r'.  Returns 1 if the rule can match, 0 if the
 * flow can never match in this state (the rule should be dropped), -1 on
 * allocation failure. */
int compile_matches(const struct flow *f, const struct path_state *st,
		    const struct compile_input *in, struct nir_rule *r);

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

#endif
