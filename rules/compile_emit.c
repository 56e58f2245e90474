/* The compiler's emission of one flow's actions (and of group buckets and
 * the DPI, NAT and commit chains they call) into nftables rules, for one
 * path state.  compile.c walks the tables; this file turns actions into
 * statements. */
#include "compile_priv.h"
#include "dpi.h"

#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* One flow's actions become a sequence of segments, each a list of
 * statements ended by a jump (resubmit, ct(table=)) or, for the last one, by
 * goto/return.  'rule' receives statements until a non-tail jump forces a
 * per-flow chain. */
struct emit {
	struct compiler *c;
	const struct flow *f;
	struct path_state st;
	struct chain_summary sum;   /* of everything this flow may do */
	struct nir_rule *rule;      /* current rule */
	int flow_chain;             /* index in table; -1 until a second segment
				     * is needed (chain pointers move as the
				     * table grows, indices don't) */
	struct nir_table *table;
	uint64_t id;
	bool ended;                 /* a terminal verdict was emitted */
	bool nat_in_flow;           /* this flow's actions had ct(...nat...) */
};

static uint32_t merge_out(uint32_t a, uint32_t b)
{
	if (!a)
		return b;
	if (!b || a == b)
		return a;
	return OUT_SEVERAL;
}

void merge_summary(struct chain_summary *into, const struct chain_summary *s,
			  int extra_depth)
{
	if (s->zone != ZONE_NONE) {
		if (into->zone == ZONE_NONE)
			into->zone = s->zone;
		else if (into->zone != s->zone)
			into->zone = ZONE_MIXED;
	}
	into->out = merge_out(into->out, s->out);
	if (s->depth + extra_depth > into->depth)
		into->depth = s->depth + extra_depth;
}

/* Path state 'st' returns from a chain with summary s: what the caller
 * gets back is one of the chain's exits, so what differs between them is
 * not known. */
void note_exit(struct chain_summary *s, const struct path_state *st)
{
	struct path_state *x = &s->exit;

	if (!s->exit_seen) {
		s->exit_seen = true;
		*x = *st;
		return;
	}
	if (x->queue != st->queue)
		x->queue = QUEUE_UNKNOWN;
	x->regs_unknown |= st->regs_unknown;
	for (int r = 0; r < FLOW_NREGS; r++)
		if (x->regs[r] != st->regs[r])
			x->regs_unknown |= 1u << r;
	if (x->metadata != st->metadata)
		x->regs_unknown |= 1u << REG_BIT_METADATA;
	x->addr_rewritten |= st->addr_rewritten;
	x->nat_set |= st->nat_set;
	x->hdr_unknown |= st->hdr_unknown;
	for (int i = 0; i < 3; i++) {
		uint8_t bit = 1u << i;

		if ((x->hdr_known ^ st->hdr_known) & bit ||
		    (x->hdr_known & bit && x->hdr_value[i] != st->hdr_value[i]))
			x->hdr_unknown |= bit;
	}
	if (x->ttl_dec != st->ttl_dec)
		x->hdr_unknown |= 1u << (F_NW_TTL - F_NW_TOS);
	x->hdr_known &= ~x->hdr_unknown;
}

/* The exits of 'from' (a flow, or a table it goes to last) are exits of
 * 'into'. */
static void merge_exits(struct chain_summary *into, const struct chain_summary *from)
{
	if (from->exit_seen)
		note_exit(into, &from->exit);
}

/* After a resubmit (a jump that goes on), the registers, metadata, queue
 * and what is known of the packet's header are what the table returns
 * with; what differs by the way it went is unknown to the rest of the
 * flow. */
static void state_after_resubmit(struct path_state *st, const struct chain_summary *s)
{
	const struct path_state *x = &s->exit;

	if (!s->exit_seen)
		return;
	memcpy(st->regs, x->regs, sizeof(st->regs));
	st->metadata = x->metadata;
	st->regs_unknown = x->regs_unknown;
	st->queue = x->queue;
	st->addr_rewritten = x->addr_rewritten;
	st->nat_set = x->nat_set;
	st->hdr_known = x->hdr_known;
	memcpy(st->hdr_value, x->hdr_value, sizeof(st->hdr_value));
	st->hdr_unknown = x->hdr_unknown;
	st->ttl_dec = x->ttl_dec;
}

/* After calling a chain with summary s, what the caller's path knows. */
static void state_after_call(struct path_state *st, const struct chain_summary *s)
{
	if (s->zone != ZONE_NONE) {
		if (st->zone_seen == ZONE_NONE)
			st->zone_seen = s->zone;
		else if (st->zone_seen != s->zone)
			st->zone_seen = ZONE_MIXED;
	}
	st->out = merge_out(st->out, s->out);
}

/* Starts a new rule in the per-flow chain (creating it on first use: the
 * matched rule then just jumps there with goto). */
static int next_segment(struct emit *e)
{
	struct nir_chain *fc;

	if (e->flow_chain < 0) {
		char name[64];
		struct nir_rule *matched = e->rule;
		struct nir_rule tail = { 0 };
		int split = 0;

		snprintf(name, sizeof(name), "%s_f%llu",
			 e->st.pass == PASS_PRE ? "pre" :
			 e->st.l3 == L3_OTHER ? "l2" : e->st.l3 == L3_IP4 ? "ip" : "ip6",
			 (unsigned long long)e->id);
		/* A flow reached in several states gets one chain per state. */
		for (int v = 1; nir_find_chain(e->table, name); v++)
			snprintf(name, sizeof(name), "%s_f%llu_%d",
				 e->st.pass == PASS_PRE ? "pre" :
				 e->st.l3 == L3_OTHER ? "l2" : e->st.l3 == L3_IP4 ? "ip" : "ip6",
				 (unsigned long long)e->id, v);
		fc = nir_add_chain(e->table, name);
		if (!fc)
			return compile_oom(e->c);
		e->flow_chain = e->table->n_chains - 1;
		/* Move the action statements emitted so far (after the matches and
		 * counter) into the flow chain's first rule. */
		for (int i = 0; i < matched->n_stmts; i++)
			if (matched->stmts[i].kind != NIR_MATCH &&
			    matched->stmts[i].kind != NIR_LOOKUP &&
			    matched->stmts[i].kind != NIR_COUNTER) {
				split = i;
				break;
			} else {
				split = i + 1;
			}
		/* (a rule with no statements has none to point into) */
		if (split < matched->n_stmts &&
		    nir_copy_stmts(&tail, matched->stmts + split, matched->n_stmts - split))
			return compile_oom(e->c);
		matched->n_stmts = split;
		if (add_verdict(matched, NIR_GOTO, name))
			return compile_oom(e->c);
		e->rule = nir_add_rule(fc);
		if (!e->rule)
			return compile_oom(e->c);
		*e->rule = tail;
		/* The goto uses no jump stack; a jump from the flow chain does. */
	}
	e->rule = nir_add_rule(&e->table->chains[e->flow_chain]);
	return e->rule ? 0 : compile_oom(e->c);
}

/* The next segment, for statements that need a rule of their own in the
 * flow's chain.  A flow chain just made starts with what the matched rule
 * held after its matches, which is nothing when they come first: that
 * empty rule goes. */
static int own_rule(struct emit *e)
{
	struct nir_chain *fc;

	if (next_segment(e))
		return -1;
	fc = &e->table->chains[e->flow_chain];
	if (fc->n_rules == 2 && !fc->rules[0].n_stmts) {
		nir_remove_rule(fc, 0);
		e->rule = &fc->rules[0];
	}
	return 0;
}

/* Calls the chain for state 'target': jump (and continue) or, as the
 * flow's last action, goto. */
static int emit_call(struct emit *e, const struct path_state *target, bool last,
		     const char *wrapper_prefix, bool shares_regs)
{
	const char *name;
	struct chain_summary s;
	char wrapped[64];

	if (compile_chain(e->c, target, &name, &s))
		return -1;
	if (wrapper_prefix) {
		snprintf(wrapped, sizeof(wrapped), "%s%s", wrapper_prefix, name);
		name = wrapped;
		s.depth += 1; /* the wrapper jumps to ctstate */
	}
	/* a resubmit no path of which returns (each ends in exit, or the
	 * pre-pass's ct()) ends the flow: what follows never runs */
	if (shares_regs && !s.exit_seen)
		last = true;
	merge_summary(&e->sum, &s, last ? 0 : 1);
	if (last) {
		/* the flow returns as the table it goes to does (resubmit,
		 * goto_table); a group's buckets and the passes after ct()
		 * work on copies, as in OVS */
		if (shares_regs)
			merge_exits(&e->sum, &s);
		else
			note_exit(&e->sum, &e->st);
		e->ended = true;
		return add_verdict(e->rule, NIR_GOTO, name) ? compile_oom(e->c) : 0;
	}
	if (add_verdict(e->rule, NIR_JUMP, name))
		return compile_oom(e->c);
	state_after_call(&e->st, &s);
	if (shares_regs)
		state_after_resubmit(&e->st, &s);
	return next_segment(e);
}

/* The third view: the first packet of a connection this ct() translates.
 * netfilter translates it only at the nat hooks, after the pipeline, and
 * its conntrack tuples do not show the translation yet; what it becomes is
 * known here when the nat range is one address (and at most one port). */
static void first_packet_view(struct path_state *v, const struct action_ct *ct)
{
	const struct action_nat *n = &ct->nat_spec;

	v->nat_view = 3;
	memset(&v->first_nat, 0, sizeof(v->first_nat));
	if (!ct->commit || n->kind == NAT_EXISTING)
		return;
	v->first_nat.kind = n->kind;
	v->first_nat.family = n->family;
	v->first_nat.single = !memcmp(n->addr_min, n->addr_max, 16);
	memcpy(v->first_nat.addr, n->addr_min, 16);
	v->first_nat.port = n->port_min == n->port_max ? n->port_min : 0;
}

/* ct(...,nat,table=N): table N runs in one copy per view of the translated
 * packet: the original direction and the reply direction read the
 * translated addresses and ports from the other direction's conntrack
 * tuple; a new connection's first packet (nothing translated yet) sees
 * what this ct() makes of it. */
static int emit_nat_call(struct emit *e, const struct path_state *target,
			 const struct action_ct *ct, bool last)
{
	static const uint32_t nat_done = 0x180; /* IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE */
	static const uint32_t expected = 1;     /* IPS_EXPECTED */
	struct path_state views[3] = { *target, *target, *target };
	struct chain_summary s[3], s_plain;
	const char *name;
	char names[3][64], plain[64] = "", wname[72];
	struct nir_table *t = e->table;
	int n_views = ct->commit && ct->nat_spec.kind != NAT_EXISTING ? 3 : 2;

	views[0].nat_view = 1;
	views[1].nat_view = 2;
	first_packet_view(&views[2], ct);
	/* names point into the memo, which the next compile may move */
	for (int i = 0; i < n_views; i++) {
		if (compile_chain(e->c, &views[i], &name, &s[i]))
			return -1;
		snprintf(names[i], sizeof(names[i]), "%s", name);
	}
	/* The packet as it came: an invalid one (no connection, so OVS
	 * translates nothing and sets neither +snat nor +dnat), and, without
	 * commit, one from an expectation (below). */
	{
		struct path_state untranslated = *target;

		untranslated.nat_view = 0;
		if (compile_chain(e->c, &untranslated, &name, &s_plain))
			return -1;
		snprintf(plain, sizeof(plain), "%s", name);
	}
	snprintf(wname, sizeof(wname), "ctnat_%s", names[n_views - 1]);
	if (!nir_find_chain(t, wname)) {
		struct nir_chain *w = nir_add_chain(t, wname);
		int idx = t->n_chains - 1;
		struct nir_rule *r;
		struct nir_stmt *st;

		if (!w || !(r = nir_add_rule(w)) || add_verdict(r, NIR_JUMP, "ctstate") ||
		    !(r = nir_add_rule(&t->chains[idx])) ||
		    add_mark_match(r, MARK_CS_INV, MARK_CS_INV) ||
		    add_verdict(r, NIR_GOTO, plain))
			return compile_oom(e->c);
		/* OVS translates a connection made from an expectation (an FTP
		 * data connection, which netfilter binds to its master's NAT
		 * at once) only when a ct(commit,nat) commits it: ct(nat)
		 * without commit shows its first packet as it came. */
		if (!ct->commit && (!(r = nir_add_rule(&t->chains[idx])) ||
				 add_ct_state_match(r, 4, false) || /* related */
				 add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX,
						  4, &expected, expected) ||
				 add_verdict(r, NIR_GOTO, plain)))
			return compile_oom(e->c);
		/* first packet, then original direction, then the rest (reply) */
		static const int order[3] = { 2, 0, 1 };

		for (int k = n_views == 3 ? 0 : 1; k < 3; k++) {
			int i = order[k];

			r = nir_add_rule(&t->chains[idx]);
			if (!r)
				return compile_oom(e->c);
			if (i == 2 && add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX, 4,
						       &nat_done, 0))
				return compile_oom(e->c);
			if (i != 1) {
				st = nir_add_stmt(r, NIR_MATCH);
				if (!st)
					return compile_oom(e->c);
				st->u.match.src = (struct nir_src){ .kind = NIR_SRC_CT,
					.key = NFT_CT_DIRECTION, .len = 1, .name = "ct direction",
					.fmt = NIR_FMT_CTDIR };
				st->u.match.value.len = 1;
			}
			if (add_verdict(r, NIR_GOTO, names[i]))
				return compile_oom(e->c);
		}
	}
	for (int i = 1; i < n_views; i++)
		merge_summary(&s[0], &s[i], 0);
	merge_summary(&s[0], &s_plain, 0);
	s[0].depth += 1; /* the wrapper jumps to ctstate */
	merge_summary(&e->sum, &s[0], last ? 0 : 1);
	if (last) {
		note_exit(&e->sum, &e->st); /* the passes after ct() work on a copy */
		e->ended = true;
		return add_verdict(e->rule, NIR_GOTO, wname) ? compile_oom(e->c) : 0;
	}
	if (add_verdict(e->rule, NIR_JUMP, wname))
		return compile_oom(e->c);
	state_after_call(&e->st, &s[0]);
	return next_segment(e);
}


/* The egress priority of queue+1 'queue' (OVS's Linux datapath: queue N
 * is priority 1:N+1, tc's class 1:N+1 under a root qdisc 1:). */
static int add_queue_priority(struct emit *e, uint32_t queue)
{
	if (queue == QUEUE_UNKNOWN)
		return compile_fail(e->c, e->f, "an output after a resubmit whose table leaves different queues on different paths (set_queue, pop_queue); brflow follows the queue along each path into a table but not back out of it, so set it before the resubmit or in the flow that outputs");
	if (!queue)
		return 0;
	return add_mark_set(e->rule, NIR_META_PRIORITY, 0, 0x10000u | queue) ?
	       compile_oom(e->c) : 0;
}

/* exit: OVS runs no further action, in this table or in those that
 * resubmitted here; the path's decision so far stands.  A chain of the
 * table ends the walk as the pipeline's end does: accept with an output
 * chosen, else drop; in the pre-pass (no ct() reached) untracked. */
static int emit_exit(struct emit *e)
{
	bool pre = e->st.pass == PASS_PRE;
	const char *name = pre ? "pre_exit" : "exit";
	struct nir_chain *ch;
	struct nir_rule *r;

	if (!nir_find_chain(e->table, name)) {
		ch = nir_add_chain(e->table, name);
		if (!ch || !(r = nir_add_rule(ch)))
			return compile_oom(e->c);
		if (pre ? !nir_add_stmt(r, NIR_NOTRACK) :
			  add_mark_match(r, MARK_OUT, 0) || add_verdict(r, NIR_DROP, NULL) ||
			  !(r = nir_add_rule(&e->table->chains[e->table->n_chains - 1])))
			return compile_oom(e->c);
		if (add_verdict(r, NIR_ACCEPT, NULL))
			return compile_oom(e->c);
	}
	e->ended = true;
	return add_verdict(e->rule, NIR_GOTO, name) ? compile_oom(e->c) : 0;
}

static int emit_output(struct emit *e, uint32_t out, uint32_t queue)
{
	if (e->st.pass == PASS_PRE)
		return 0;
	if (add_queue_priority(e, queue))
		return -1;
	/* The bridge sends a packet once: a second output to the same port is
	 * the same thing, to another port it is not expressible. */
	if (e->st.out && e->st.out != out)
		return compile_fail(e->c, e->f, "a path may output the packet to two different ports; brflow supports one output (or normal/flood) per packet");
	e->st.out = out;
	e->sum.out = merge_out(e->sum.out, out);
	return add_mark_set(e->rule, NIR_META_MARK, ~MARK_OUT, out << MARK_OUT_SHIFT) ?
	       compile_oom(e->c) : 0;
}

/* Registers and metadata hold compile-time values on every path. */
static uint64_t state_field(const struct path_state *st, enum field_id id)
{
	return id == F_METADATA ? st->metadata : st->regs[id - F_REG0];
}


/* The value a write puts into its destination bits (a move's bits come
 * from the path's registers), aligned to the destination field. */
static uint64_t write_value64(const struct path_state *st,
			      const struct action_set_field *w)
{
	uint64_t v;

	if (!w->is_move)
		return be_uint64(w->value, field_width(w->field));
	v = state_field(st, w->src) >> w->src_ofs;
	if (w->nbits < 64)
		v &= (1ull << w->nbits) - 1;
	return w->dst_ofs < 64 ? v << w->dst_ofs : 0;
}

/* A move from a register the path does not know (regs_unknown). */
static bool reads_unknown(const struct path_state *st, const struct action_set_field *w)
{
	return w->is_move && reg_unknown(st, w->src);
}

static void set_reg(struct path_state *st, const struct action_set_field *w)
{
	uint64_t v = write_value64(st, w);
	uint16_t bit = 1u << reg_bit(w->field);
	bool whole;

	if (w->field == F_METADATA) {
		uint64_t mask = be_uint64(w->mask, 8);

		st->metadata = (st->metadata & ~mask) | (v & mask);
		whole = mask == UINT64_MAX;
	} else {
		int r = w->field - F_REG0;
		uint32_t mask = be_uint(w->mask, 4);

		st->regs[r] = (st->regs[r] & ~mask) | ((uint32_t)v & mask);
		whole = mask == UINT32_MAX;
	}
	/* a whole constant makes it known again; bits from an unknown one
	 * make it unknown */
	if (reads_unknown(st, w))
		st->regs_unknown |= bit;
	else if (whole)
		st->regs_unknown &= ~bit;
}

/* A header field the pre-pass cannot know (hdr_unknown) was read before
 * conntrack. */
#define UNKNOWN_HDR_FMT "%s depends on which flow matched in a table resubmitted to earlier on the path, which writes the field on some paths only; the tables run once before conntrack to find the zone, writing nothing, and cannot tell the value there, so write it before that resubmit or decide in the table that writes it"

/* A register or metadata the path cannot know (regs_unknown) was read. */
#define UNKNOWN_REG_FMT "%s depends on which flow matched in a table resubmitted to earlier on the path; brflow knows registers along each path into a table but not back out of it, so load it before that resubmit or decide in the table that loads it"

static int unknown_reg_fail(struct emit *e, enum field_id id)
{
	return compile_fail(e->c, e->f, UNKNOWN_REG_FMT, field_info(id)->name);
}

/* output:REG[a..b]: the register's value on this path is the port
 * (out_reg_target says what each number does). */
static int emit_output_reg(struct emit *e, const struct flow_action *a)
{
	enum field_id f = a->u.out_reg.field;
	uint32_t port;

	if (reg_unknown(&e->st, f))
		return unknown_reg_fail(e, f);
	port = (uint32_t)(state_field(&e->st, f) >> a->u.out_reg.ofs) &
	       ((1u << a->u.out_reg.nbits) - 1);
	switch (out_reg_target(port)) {
	case OUT_REG_NORMAL:
	case OUT_REG_FLOOD:
		return emit_output(e, OUT_NORMAL, e->st.queue);
	case OUT_REG_RESERVED:
		return compile_fail(e->c, e->f, "the register holds 0x%x on this path, a reserved port brflow outputs to only by name", port);
	case OUT_REG_NOWHERE:
		return 0;
	case OUT_REG_PORT:
		break;
	}
	return emit_output(e, port_mark(port), e->st.queue);
}

/* A write's value as 16 big-endian bytes (ct_label), moves resolved. */
static void write_value128(const struct path_state *st,
			   const struct action_set_field *w, uint8_t out[16])
{
	uint64_t v;

	if (!w->is_move) {
		memcpy(out, w->value, 16);
		return;
	}
	memset(out, 0, 16);
	v = state_field(st, w->src) >> w->src_ofs;
	if (w->nbits < 64)
		v &= (1ull << w->nbits) - 1;
	for (int bit = 0; bit < w->nbits && bit < 64; bit++)
		if (v >> bit & 1) {
			int to = w->dst_ofs + bit;

			out[15 - to / 8] |= 1u << (to % 8);
		}
}

static int ct_zone_of(struct emit *e, const struct action_ct *ct, uint16_t *zone)
{
	uint32_t z = ct->zone;

	*zone = 0;
	if (ct->zone_reg >= 0 && reg_unknown(&e->st, F_REG0 + ct->zone_reg))
		return unknown_reg_fail(e, F_REG0 + ct->zone_reg);
	if (ct->zone_reg >= 0)
		z = (e->st.regs[ct->zone_reg] >> ct->zone_ofs) &
		    ((1u << ct->zone_nbits) - 1);
	*zone = z;
	if (e->st.zone_seen != ZONE_NONE && e->st.zone_seen != (int)z)
		return compile_fail(e->c, e->f, "ct(zone=%u) on a path that already used ct() in another zone; netfilter tracks a packet in one zone", z);
	return 0;
}

/* alg=NAME: attach netfilter's conntrack helper to the (new) connection.
 * The helper object itself ignores connections of another transport
 * protocol, so sip sets both of its objects. */
static int add_helper(struct compiler *c, const char *obj, const char *helper,
		      uint8_t l4proto)
{
	struct nir_helper *h;

	for (int i = 0; i < c->inet->n_helpers; i++)
		if (!strcmp(c->inet->helpers[i].name, obj))
			return 0;
	h = nir_add_helper(c->inet, obj);
	if (!h)
		return compile_oom(c);
	snprintf(h->helper, sizeof(h->helper), "%s", helper);
	h->l4proto = l4proto;
	return 0;
}

static int emit_helper_set(struct emit *e, const char *obj, const char *helper,
			   uint8_t l4proto)
{
	struct nir_stmt *s;

	if (add_helper(e->c, obj, helper, l4proto))
		return -1;
	s = nir_add_stmt(e->rule, NIR_CT_HELPER);
	if (!s)
		return compile_oom(e->c);
	snprintf(s->u.helper_name, sizeof(s->u.helper_name), "%s", obj);
	return 0;
}

static int emit_alg(struct emit *e, const char *alg)
{
	if (e->c->in->lacks_ct_helper)
		return compile_fail(e->c, e->f, "alg=%s needs conntrack helper objects (nft_ct, nf_conntrack_%s), which this kernel lacks",
				    alg, alg);
	if (!strcmp(alg, "ftp"))
		return emit_helper_set(e, "alg_ftp", "ftp", 6);
	if (!strcmp(alg, "tftp"))
		return emit_helper_set(e, "alg_tftp", "tftp", 17);
	if (!strcmp(alg, "sip"))
		return emit_helper_set(e, "alg_sip_udp", "sip", 17) ||
		       emit_helper_set(e, "alg_sip_tcp", "sip", 6);
	return compile_fail(e->c, e->f, "unknown alg '%s'", alg);
}

/* ct(commit, exec(...)): the committed bit plus ct_mark/ct_label writes. */
static int emit_commit_stmts(struct emit *e, const struct action_ct *ct);

/* The zone's timeout policy (add-zone-tp), given to the connection at its
 * commit as OVS gives it: one object per transport protocol the policy
 * names, in the table that commits; each statement skips connections of
 * another protocol. */
static int emit_zone_timeouts(struct emit *e, int zone)
{
	const struct compile_input *in = e->c->in;
	const struct zone_tp *tp = NULL;
	uint32_t values[2][NIR_TIMEOUT_VALUES] = { { 0 } };
	int protos;

	for (int i = 0; i < in->n_zone_tps && !tp; i++)
		if (in->zone_tps[i].zone == zone)
			tp = &in->zone_tps[i];
	if (!tp)
		return 0;
	protos = zone_tp_values(tp, in->tcp_timeouts, in->udp_timeouts,
				values[0], values[1]);
	for (int p = 0; p < 2; p++) {
		struct nir_ct_timeout *o = NULL;
		struct nir_stmt *s;
		char name[64];

		if (!(protos & (1 << p)))
			continue;
		snprintf(name, sizeof(name), "tp_z%d_%s", zone, p ? "udp" : "tcp");
		for (int i = 0; i < e->table->n_timeouts && !o; i++)
			if (!strcmp(e->table->timeouts[i].name, name))
				o = &e->table->timeouts[i];
		if (!o) {
			o = nir_add_timeout(e->table, name);
			if (!o)
				return compile_oom(e->c);
			o->l4proto = p ? 17 : 6;
			memcpy(o->values, values[p], sizeof(o->values));
		}
		s = nir_add_stmt(e->rule, NIR_CT_TIMEOUT);
		if (!s)
			return compile_oom(e->c);
		snprintf(s->u.timeout_name, sizeof(s->u.timeout_name), "%s", name);
	}
	return 0;
}

/* A connection made from an expectation inherits its master's ct mark,
 * committed bit included: its own commit is label bit 126.  Only such
 * connections get the label write (a label costs every new connection). */
static int add_expected_commit(struct emit *e, int chain_idx)
{
	static const uint32_t expected = 1; /* IPS_EXPECTED */
	struct nir_rule *r = nir_add_rule(&e->table->chains[chain_idx]);
	struct nir_stmt *s;

	if (!r || add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX, 4,
				   &expected, expected) ||
	    !(s = nir_add_stmt(r, NIR_CT_LABEL_SET)))
		return -1;
	s->u.label[LABEL_COMMITTED_BIT / 8] = 1u << (LABEL_COMMITTED_BIT % 8);
	return 0;
}

/* "... add @name { ct zone } drop" in a new rule of the chain, after
 * the matches add_matches gives it. */
static int add_count_rule(struct nir_table *t, int chain_idx, const char *name,
			  int (*add_matches)(struct nir_rule *r))
{
	struct nir_rule *r = nir_add_rule(&t->chains[chain_idx]);
	struct nir_stmt *s;

	if (!r || add_matches(r) || !(s = nir_add_stmt(r, NIR_CONN_COUNT)))
		return -1;
	snprintf(s->u.connlimit_name, sizeof(s->u.connlimit_name), "%s", name);
	return add_verdict(r, NIR_DROP, NULL);
}

/* ct mark bit 31 clear: the connection is not committed */
static int match_uncommitted(struct nir_rule *r)
{
	static const uint32_t committed = CT_COMMITTED;

	return add_ct_key_match(r, NFT_CT_MARK, "ct mark", NIR_FMT_HEX, 4, &committed, 0);
}

/* made from an expectation, with its master's mark, and its own commit
 * (label bit LABEL_COMMITTED_BIT) not made yet */
static int match_expected_uncommitted(struct nir_rule *r)
{
	static const uint32_t expected = 1; /* IPS_EXPECTED */
	uint8_t bit[16] = { 0 }, zero[16] = { 0 };

	bit[LABEL_COMMITTED_BIT / 8] = 1u << (LABEL_COMMITTED_BIT % 8);
	return add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX, 4,
				&expected, expected) ||
	       add_label_match(r, bit, zero);
}

/* The zone's connection limit (set-zone-limit), checked where a commit
 * chain commits: a connection it has not committed yet is counted in the
 * zone's set element, and dropped when that makes more than the limit, as
 * OVS's datapath drops it.  One set per zone in the table, so every commit
 * in the zone counts in one list (which holds a connection once, however
 * often it is added).  Before the chain's label write for an expected
 * connection, which tells its commit. */
static int add_zone_limit_rules(struct emit *e, int chain_idx, int zone, uint32_t limit)
{
	struct nir_connlimit *cl = NULL;
	char name[64];

	snprintf(name, sizeof(name), "zl_z%d", zone);
	for (int i = 0; i < e->table->n_connlimits && !cl; i++)
		if (!strcmp(e->table->connlimits[i].name, name))
			cl = &e->table->connlimits[i];
	if (!cl) {
		if (!(cl = nir_add_connlimit(e->table, name)))
			return -1;
		cl->limit = limit;
	}
	return add_count_rule(e->table, chain_idx, name, match_uncommitted) ||
	       add_count_rule(e->table, chain_idx, name, match_expected_uncommitted);
}

/* ct(commit): in a chain of its own that commits nothing for a packet
 * netfilter finds invalid, as OVS's commit of such a packet does. */
static int emit_commit(struct emit *e, const struct action_ct *ct)
{
	const struct compile_input *in = e->c->in;
	uint32_t limit = e->st.zone_seen >= 0 ?
		zone_limit_for(in->zone_limits, in->n_zone_limits,
			       (uint16_t)e->st.zone_seen) : 0;
	struct nir_rule *saved = e->rule, *r;
	struct nir_chain *ch;
	char name[64];
	int idx;

	/* Known +new: netfilter's "new" is neither invalid nor made from an
	 * expectation (those are "related"), so the writes need no chain
	 * (unless the zone's limit needs a rule). */
	if (e->st.tracked && (e->st.ct_known & CS_NEW) && !(e->st.ct_known & CS_INV) &&
	    !limit)
		return emit_commit_stmts(e, ct);
	snprintf(name, sizeof(name), "commit_%d", e->c->n_commits++);
	ch = nir_add_chain(e->table, name);
	if (!ch)
		return compile_oom(e->c);
	idx = e->table->n_chains - 1;
	if (!(r = nir_add_rule(ch)) || add_ct_state_match(r, 1, false) ||
	    add_verdict(r, NIR_RETURN, NULL) ||
	    (limit && add_zone_limit_rules(e, idx, e->st.zone_seen, limit)) ||
	    add_expected_commit(e, idx) || !(r = nir_add_rule(&e->table->chains[idx])))
		return compile_oom(e->c);
	e->rule = r;
	if (emit_commit_stmts(e, ct))
		return -1;
	e->rule = saved;
	if (e->sum.depth < 1)
		e->sum.depth = 1;
	if (add_verdict(e->rule, NIR_JUMP, name))
		return compile_oom(e->c);
	return next_segment(e);
}

static int emit_commit_stmts(struct emit *e, const struct action_ct *ct)
{
	uint32_t and_mask = ~CT_COMMITTED, or_value = CT_COMMITTED;
	uint8_t label[16] = { 0 }, v[16];
	bool any_label = false;

	for (int i = 0; i < ct->n_exec; i++) {
		const struct action_set_field *w = &ct->exec[i];

		if (reads_unknown(&e->st, w))
			return unknown_reg_fail(e, w->src);
		if (w->field == F_CT_MARK) {
			uint32_t mask = be_uint(w->mask, 4);
			uint32_t value = (uint32_t)write_value64(&e->st, w) & mask;

			if (value & ~CT_MARK_USER_MASK)
				return compile_fail(e->c, e->f, "this path writes 0x%x to ct_mark; bit 31 is reserved by brflow",
					    value);
			mask &= CT_MARK_USER_MASK;
			and_mask &= ~mask;
			or_value = (or_value & ~mask) | value;
		} else if (w->field == F_CT_LABEL) {
			write_value128(&e->st, w, v);
			for (int b = 0; b < 16; b++) {
				label[b] |= v[15 - b] & w->mask[15 - b];
				any_label |= label[b] != 0;
			}
		}
	}
	if (ct->nat && ct->nat_spec.kind != NAT_EXISTING && !e->st.nat_set &&
	    ct->nat_spec.family == (e->st.l3 == L3_IP6 ? 6 : 4)) {
		e->st.nat_set = true;
		if (nat_label_bits(e->c, &ct->nat_spec, label))
			return compile_fail(e->c, e->f, "more than %d different nat(%s=...) actions",
					    NAT_MAX_RULES, ct->nat_spec.kind == NAT_SRC ? "src" : "dst");
		any_label = true;
	}
	if (add_mark_set(e->rule, NIR_CT_MARK, and_mask, or_value))
		return compile_oom(e->c);
	if (ct->alg[0] && emit_alg(e, ct->alg))
		return -1;
	if (emit_zone_timeouts(e, e->st.zone_seen))
		return -1;
	if (any_label) {
		struct nir_stmt *s = nir_add_stmt(e->rule, NIR_CT_LABEL_SET);

		if (!s)
			return compile_oom(e->c);
		memcpy(s->u.label, label, 16);
	}
	return 0;
}

static int emit_ct(struct emit *e, const struct action_ct *ct, bool last)
{
	struct path_state target;
	uint16_t zone;

	if (e->st.addr_rewritten)
		return compile_fail(e->c, e->f, "ct() on a path that already rewrote an IP address or port; netfilter tracks a packet once, before the pipeline, and would not see the rewritten one");
	if (ct->nat)
		e->nat_in_flow = true;
	if (ct_zone_of(e, ct, &zone))
		return -1;
	if (e->st.pass == PASS_PRE) {
		/* The first ct() on the path decides the conntrack zone. */
		struct nir_stmt *s;

		if (zone) {
			s = nir_add_stmt(e->rule, NIR_CT_ZONE_SET);
			if (!s)
				return compile_oom(e->c);
			s->u.zone = zone;
		}
		e->ended = true;
		if (e->sum.zone == ZONE_NONE)
			e->sum.zone = zone;
		return add_verdict(e->rule, NIR_ACCEPT, NULL) ? compile_oom(e->c) : 0;
	}
	if (e->sum.zone == ZONE_NONE)
		e->sum.zone = zone;
	else if (e->sum.zone != zone)
		e->sum.zone = ZONE_MIXED;
	e->st.zone_seen = zone;
	if (ct->commit && e->st.l3 != L3_OTHER && emit_commit(e, ct))
		return -1;
	/* OVS clears the ct fields after ct(): what follows sees -trk. */
	target = e->st;
	e->st.tracked = false;
	e->st.ct_known = 0;
	if (ct->table < 0)
		return 0;
	target.table = ct->table;
	target.tracked = true;
	target.ctx_zone = zone;
	target.nat_view = 0;
	target.ct_known = 0; /* the wrapper's ctstate chain finds it out */
	if (ct->nat && e->st.l3 != L3_OTHER)
		return emit_nat_call(e, &target, ct, last);
	return emit_call(e, &target, last, e->st.l3 == L3_OTHER ? NULL : "ct_", false);
}

/* A "ct label set" anywhere in the ruleset is what makes the kernel give
 * new connections room for labels, which the DPI handler writes; this chain
 * holds one and nothing jumps to it. */
static int add_label_use_chain(struct compiler *c)
{
	struct nir_chain *ch;
	struct nir_rule *r;
	struct nir_stmt *s;

	if (nir_find_chain(c->inet, "dpi_labels_in_use"))
		return 0;
	ch = nir_add_chain(c->inet, "dpi_labels_in_use");
	r = ch ? nir_add_rule(ch) : NULL;
	if (!r || !(s = nir_add_stmt(r, NIR_CT_LABEL_SET)))
		return compile_oom(c);
	ch->keep = true;
	s->u.label[DPI_LABEL_DONE_BIT / 8] = 1u << (DPI_LABEL_DONE_BIT % 8);
	return 0;
}

static int add_queue_stmt(struct compiler *c, struct nir_rule *r,
			  const struct action_dpi *d)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_QUEUE);

	if (!s)
		return compile_oom(c);
	/* A connection hashes to one queue of the range, so one handler
	 * thread sees all of its packets. */
	s->u.queue.num = d->queue_lo;
	s->u.queue.total = d->queue_hi - d->queue_lo + 1;
	s->u.queue.bypass = !d->fail_closed;
	return 0;
}

/* The chain behind dpi(...): nothing for a packet the handler has seen (it
 * comes back with NF_REPEAT and DPI_MARK_SEEN, and the pipeline runs again,
 * now seeing the labels it wrote) or whose connection is classified (label
 * bit 127); otherwise queue it.  fail=open marks the packet DPI_MARK_WANT
 * first: with no handler the queue's bypass accepts it before the pipeline
 * chose an output, and the enforce chain lets such a packet go where the
 * bridge sends it.  fail=closed: no handler, no packet. */
static int build_dpi_chain(struct compiler *c, const struct action_dpi *d,
			   const char *name)
{
	uint8_t done[16] = { 0 };
	struct nir_chain *ch;
	struct nir_rule *r;
	int idx;

	if (add_label_use_chain(c))
		return -1;
	ch = nir_add_chain(c->inet, name);
	if (!ch)
		return compile_oom(c);
	idx = c->inet->n_chains - 1;
	done[DPI_LABEL_DONE_BIT / 8] = 1u << (DPI_LABEL_DONE_BIT % 8);
	if (!(r = nir_add_rule(ch)) || add_mark_match(r, DPI_MARK_SEEN, DPI_MARK_SEEN) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	if (!(r = nir_add_rule(&c->inet->chains[idx])) || add_label_match(r, done, done) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	r = nir_add_rule(&c->inet->chains[idx]);
	if (!r)
		return compile_oom(c);
	/* fail=open: say "queued" first; if no handler listens, the queue's
	 * bypass accepts the packet before the pipeline chose an output, and
	 * the enforce chain lets such a packet go where the bridge sends it */
	if (!d->fail_closed &&
	    add_mark_set(r, NIR_META_MARK, 0xffffffffu, DPI_MARK_WANT))
		return compile_oom(c);
	return add_queue_stmt(c, r, d);
}

static int emit_dpi(struct emit *e, const struct action_dpi *d, bool last)
{
	char name[64];

	if (e->c->in->lacks_queue)
		return compile_fail(e->c, e->f, "dpi() needs the nft queue statement (nft_queue) or xt's NFQUEUE target (nft_compat, xt_NFQUEUE), which this kernel lacks");
	if (e->st.pass == PASS_PRE || e->st.l3 == L3_OTHER)
		return 0;
	snprintf(name, sizeof(name), "dpi_q%u_%u_%s", d->queue_lo, d->queue_hi,
		 d->fail_closed ? "closed" : "open");
	if (!nir_find_chain(e->c->inet, name) && build_dpi_chain(e->c, d, name))
		return -1;
	if (e->sum.depth < 1)
		e->sum.depth = 1;
	if (last) {
		/* the dpi chain returns a packet it does not queue */
		note_exit(&e->sum, &e->st);
		e->ended = true;
		return add_verdict(e->rule, NIR_GOTO, name) ? compile_oom(e->c) : 0;
	}
	if (add_verdict(e->rule, NIR_JUMP, name))
		return compile_oom(e->c);
	return next_segment(e);
}

/* "<dst> set <value>" (dst->len bytes of value) in r; NULL if out of
 * memory. */
static struct nir_stmt *payload_set_stmt(struct nir_rule *r, const struct nir_src *dst,
					 const uint8_t *value)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_PAYLOAD_SET);

	if (!s)
		return NULL;
	s->u.set.dst = *dst;
	s->u.set.value.len = (uint8_t)dst->len;
	memcpy(s->u.set.value.data, value, dst->len);
	return s;
}

/* The same in the flow's current rule; NULL after recording the failure. */
static struct nir_stmt *add_payload_set(struct emit *e, const struct nir_src *dst,
					const uint8_t *value)
{
	struct nir_stmt *s = payload_set_stmt(e->rule, dst, value);

	if (!s)
		compile_oom(e->c);
	return s;
}

/* mod_dl_src/mod_dl_dst: rewrite the Ethernet header in place; the bridge
 * forwards by the new destination. */
static int emit_eth_set(struct emit *e, const struct action_set_field *w)
{
	if (!mask_is_full(w->mask, 6))
		return compile_fail(e->c, e->f, "masked writes to %s are not supported",
				    field_info(w->field)->name);
	if (e->st.pass == PASS_PRE)
		return 0;
	return add_payload_set(e, &(struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_LL_HEADER, .offset = w->field == F_DL_SRC ? 6 : 0,
		.len = 6, .name = w->field == F_DL_SRC ? "ether saddr" : "ether daddr",
		.fmt = NIR_FMT_MAC }, w->value) ? 0 : -1;
}

/* set_field to nw_src/nw_dst/ipv6_src/ipv6_dst (the parser made sure the
 * flow matches the family and the write is a whole address): a network
 * header write with the checksums fixed as nft fixes them, the IPv4 header
 * checksum and the TCP/UDP (ICMPv6) pseudo-header.  Conntrack has already
 * seen the packet: a later ct() on the path is refused, and so is a
 * rewrite where netfilter NAT would rewrite the address again. */
static int emit_addr_set(struct emit *e, const struct action_set_field *w)
{
	enum field_id f = w->field;
	bool v6 = f == F_IPV6_SRC || f == F_IPV6_DST;
	bool src = f == F_NW_SRC || f == F_IPV6_SRC;
	struct nir_stmt *s;

	if (e->st.l3 != (v6 ? L3_IP6 : L3_IP4))
		return 0; /* the parser's prerequisite: no such packet here */
	if (e->nat_in_flow || e->st.nat_set || (e->st.tracked && e->st.nat_view))
		return compile_fail(e->c, e->f, "a rewrite of %s on a path with ct(nat): netfilter NAT translates the packet after the pipeline and would undo it",
				    field_info(f)->name);
	e->st.addr_rewritten = true;
	if (e->st.pass == PASS_PRE)
		return 0;
	s = add_payload_set(e, &(struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_NETWORK_HEADER,
		.offset = v6 ? (src ? 8 : 24) : (src ? 12 : 16), .len = v6 ? 16 : 4,
		.name = v6 ? (src ? "ip6 saddr" : "ip6 daddr") :
			     (src ? "ip saddr" : "ip daddr"),
		.fmt = v6 ? NIR_FMT_IPV6 : NIR_FMT_IPV4 }, w->value);
	if (!s)
		return -1;
	if (!v6) {
		s->u.set.csum_type = NFT_PAYLOAD_CSUM_INET;
		s->u.set.csum_offset = 10;
	}
	s->u.set.csum_flags = NFT_PAYLOAD_L4CSUM_PSEUDOHDR;
	return 0;
}

/* mod_tp_src/mod_tp_dst (and set_field or load to tp_src, tcp_dst...): a
 * transport header write with the TCP or UDP checksum fixed (ports are not
 * in the pseudo-header).  The parser made sure the flow's own match names
 * TCP or UDP, which tells where the checksum is.  Like an address rewrite,
 * conntrack has already keyed the connection on the old port. */
static int emit_port_set(struct emit *e, const struct action_set_field *w)
{
	const struct flow_match *proto = e->f ? flow_find_match(e->f, F_NW_PROTO) : NULL;
	bool src = w->field == F_TP_SRC;
	bool tcp = proto && proto->value[0] == IPPROTO_TCP;
	struct nir_stmt *s;

	if (!proto || (!tcp && proto->value[0] != IPPROTO_UDP))
		return compile_fail(e->c, e->f, "a rewrite of %s needs the flow to match tcp or udp",
				    field_info(w->field)->name);
	if (e->st.l3 == L3_OTHER)
		return 0; /* the parser's prerequisite: no such packet here */
	if (e->nat_in_flow || e->st.nat_set || (e->st.tracked && e->st.nat_view))
		return compile_fail(e->c, e->f, "a rewrite of %s on a path with ct(nat): netfilter NAT translates the packet after the pipeline and would undo it",
				    field_info(w->field)->name);
	e->st.addr_rewritten = true;
	if (e->st.pass == PASS_PRE)
		return 0;
	s = add_payload_set(e, &(struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_TRANSPORT_HEADER, .offset = src ? 0 : 2, .len = 2,
		.name = tcp ? (src ? "tcp sport" : "tcp dport") :
			      (src ? "udp sport" : "udp dport"),
		.fmt = NIR_FMT_DEC }, w->value);
	if (!s)
		return -1;
	s->u.set.csum_type = NFT_PAYLOAD_CSUM_INET;
	s->u.set.csum_offset = tcp ? 16 : 6;
	return 0;
}

/* mod_nw_tos, mod_nw_ecn and mod_nw_ttl (and set_field or load to nw_tos,
 * ip_dscp, nw_ecn, nw_ttl): a write into the IP header, the IPv4 header
 * checksum fixed (none of these is in the pseudo-header).  DSCP and ECN
 * share the ToS byte (IPv6: the traffic class, across the first two bytes
 * with the version and the flow label), so their writes keep the other
 * bits of the header's first 16 bits.  Conntrack ignores these fields, so
 * unlike an address rewrite this goes with ct() and NAT; the path remembers
 * the value for later matches. */
static int emit_ip_header_set(struct emit *e, const struct action_set_field *w)
{
	int idx = w->field - F_NW_TOS;
	bool v6 = e->st.l3 == L3_IP6;
	struct nir_src dst = { .kind = NIR_SRC_PAYLOAD,
			       .base = NFT_PAYLOAD_NETWORK_HEADER, .fmt = NIR_FMT_HEX };
	uint32_t value = w->value[0], keep = 0;
	uint8_t bytes[2];
	struct nir_stmt *s;

	if (e->st.l3 == L3_OTHER)
		return 0; /* the parser's prerequisite: no such packet here */
	e->st.hdr_known |= 1u << idx;
	e->st.hdr_unknown &= ~(1u << idx);
	e->st.hdr_value[idx] = w->value[0];
	if (e->st.pass == PASS_PRE)
		return 0;
	if (w->field == F_NW_TTL) {
		dst = ttl_src(v6);
	} else {
		uint32_t bits = w->field == F_NW_TOS ? 0xfc : 0x03;

		/* the first 16 bits either way: IPv4's ToS is the odd byte
		 * of its checksum word, and the kernel sums a write as if
		 * it started one */
		value &= bits;
		dst.offset = 0, dst.len = 2, dst.name = "@nh,0,16";
		if (v6) {
			value <<= 4;
			keep = 0xffff & ~(bits << 4);
		} else {
			keep = 0xffff & ~bits;
		}
	}
	for (uint32_t i = 0; i < dst.len; i++)
		bytes[i] = value >> (8 * (dst.len - 1 - i));
	s = add_payload_set(e, &dst, bytes);
	if (!s)
		return -1;
	if (w->field != F_NW_TTL) {
		s->u.set.keep.len = (uint8_t)dst.len;
		for (uint32_t i = 0; i < dst.len; i++)
			s->u.set.keep.data[i] = keep >> (8 * (dst.len - 1 - i));
	}
	if (!v6) {
		s->u.set.csum_type = NFT_PAYLOAD_CSUM_INET;
		s->u.set.csum_offset = 10;
	}
	return 0;
}

/* The table's chain that takes one off the TTL: nf_tables has no
 * arithmetic, so one rule per position of the lowest set bit turns
 * ...x1000 into ...x0111 (a masked write, keeping the bits above) and
 * returns.  Its caller has sent TTLs 0 and 1 elsewhere. */
static int build_dec_ttl_chain(struct nir_table *t, bool v6, const char *name)
{
	struct nir_src dst = ttl_src(v6);
	struct nir_chain *ch = nir_add_chain(t, name);

	if (!ch)
		return -1;
	for (int bit = 0; bit < 8; bit++) {
		uint8_t low = (uint8_t)((2u << bit) - 1), value = low >> 1;
		struct nir_rule *r = nir_add_rule(ch);
		struct nir_stmt *s;

		if (!r || add_ttl_match(r, v6, low, (uint8_t)(1u << bit)) ||
		    !(s = payload_set_stmt(r, &dst, &value)))
			return -1;
		s->u.set.keep.len = 1;
		s->u.set.keep.data[0] = (uint8_t)~low;
		if (!v6) {
			s->u.set.csum_type = NFT_PAYLOAD_CSUM_INET;
			s->u.set.csum_offset = 10;
		}
		if (add_verdict(r, NIR_RETURN, NULL))
			return -1;
	}
	return 0;
}

/* dec_ttl, as OVS does it: nothing for a packet that is not IP; a TTL of
 * 0 or 1 ends this flow's actions (OVS would tell its controllers; a
 * table that resubmitted here goes on); else the TTL goes down by one,
 * the IPv4 header checksum fixed.  A TTL the path wrote (mod_nw_ttl) is
 * known and decides all of this at compile time. */
static int emit_dec_ttl(struct emit *e)
{
	bool v6 = e->st.l3 == L3_IP6;
	int idx = F_NW_TTL - F_NW_TOS;
	const char *chain = v6 ? "dec_ttl_ip6" : "dec_ttl_ip";

	if (e->st.l3 == L3_OTHER)
		return 0;
	if (e->st.pass == PASS_PRE && e->st.hdr_unknown & 1u << idx)
		return compile_fail(e->c, e->f, UNKNOWN_HDR_FMT, "dec_ttl's expiry");
	if (e->st.hdr_known & 1u << idx) {
		struct action_set_field w = { .field = F_NW_TTL };

		if (e->st.hdr_value[idx] <= 1) {
			e->ended = true;
			note_exit(&e->sum, &e->st);
			return add_verdict(e->rule, NIR_RETURN, NULL) ? compile_oom(e->c) : 0;
		}
		w.value[0] = e->st.hdr_value[idx] - 1;
		w.mask[0] = 0xff;
		return emit_ip_header_set(e, &w);
	}
	/* the expiry test is a rule of its own in the flow's chain, whose
	 * return ends the flow's actions; the pre-pass makes it too, so it
	 * follows the same path: there the packet has its TTL from before
	 * the earlier decrements on the path, so expiry is below 2 + them */
	if (own_rule(e))
		return -1;
	note_exit(&e->sum, &e->st); /* an expired TTL returns from here */
	if ((e->st.pass == PASS_PRE && e->st.ttl_dec ?
	     add_ttl_below(e->rule, v6, 2u + e->st.ttl_dec) :
	     add_ttl_match(e->rule, v6, 0xfe, 0)) ||
	    add_verdict(e->rule, NIR_RETURN, NULL) || next_segment(e))
		return compile_oom(e->c);
	if (e->st.ttl_dec < 255)
		e->st.ttl_dec++;
	if (e->st.pass == PASS_PRE)
		return 0;
	if (!nir_find_chain(e->table, chain) && build_dec_ttl_chain(e->table, v6, chain))
		return compile_oom(e->c);
	if (e->sum.depth < 1)
		e->sum.depth = 1;
	if (add_verdict(e->rule, NIR_JUMP, chain))
		return compile_oom(e->c);
	return next_segment(e);
}

static const struct ofmeter *find_meter(const struct compiler *c, uint32_t id)
{
	for (int i = 0; i < c->in->n_meters; i++)
		if (c->in->meters[i].meter_id == id)
			return &c->in->meters[i];
	return NULL;
}

/* The meter's limit object and its two counters ("_in": packets reaching
 * it, "_drop": packets its band dropped) in the flow's table, once. */
static int add_meter_objects(struct compiler *c, struct nir_table *t,
			     const struct ofmeter *m)
{
	char name[32], cname[48];
	struct nir_limit *l;

	meter_object_name(m->meter_id, name, sizeof(name));
	for (int i = 0; i < t->n_limits; i++)
		if (!strcmp(t->limits[i].name, name))
			return 0;
	l = nir_add_limit(t, name);
	if (!l)
		return compile_oom(c);
	meter_limit(m, &l->rate, &l->burst, &l->bytes);
	snprintf(cname, sizeof(cname), "%s_in", name);
	if (!nir_add_counter(t, cname))
		return compile_oom(c);
	snprintf(cname, sizeof(cname), "%s_drop", name);
	return nir_add_counter(t, cname) ? 0 : compile_oom(c);
}

/* meter:N (always the first action): in the flow's own chain, a rule that
 * counts the packet into the meter and drops it when the meter's limit is
 * exceeded; the actions go on in the next rule.  The pre-pass (which only
 * chooses zones) does not meter: a packet meets the meter once. */
static int emit_meter(struct emit *e, uint32_t id)
{
	const struct ofmeter *m = find_meter(e->c, id);
	struct nir_stmt *s;
	char name[32];

	if (!m)
		return compile_fail(e->c, e->f, "meter:%u: no such meter", id);
	if (e->st.pass != PASS_MAIN)
		return 0;
	if (add_meter_objects(e->c, e->table, m) || own_rule(e))
		return -1;
	meter_object_name(id, name, sizeof(name));
	s = nir_add_stmt(e->rule, NIR_COUNTER);
	if (!s)
		return compile_oom(e->c);
	snprintf(s->u.counter_name, sizeof(s->u.counter_name), "%s_in", name);
	s = nir_add_stmt(e->rule, NIR_LIMIT);
	if (!s)
		return compile_oom(e->c);
	snprintf(s->u.limit_name, sizeof(s->u.limit_name), "%s", name);
	s = nir_add_stmt(e->rule, NIR_COUNTER);
	if (!s)
		return compile_oom(e->c);
	snprintf(s->u.counter_name, sizeof(s->u.counter_name), "%s_drop", name);
	if (add_verdict(e->rule, NIR_DROP, NULL))
		return compile_oom(e->c);
	return next_segment(e);
}

static int emit_action(struct emit *e, const struct flow_action *a, bool last)
{
	struct path_state target;

	switch (a->type) {
	case ACT_OUTPUT:
		/* enqueue:PORT:QUEUE: this output alone goes through QUEUE */
		return emit_output(e, port_mark(a->u.port), a->enqueue ? a->enqueue : e->st.queue);
	case ACT_NORMAL:
	case ACT_FLOOD:
		return emit_output(e, OUT_NORMAL, e->st.queue);
	case ACT_OUTPUT_REG:
		return emit_output_reg(e, a);
	case ACT_WRITE_METADATA:
		set_reg(&e->st, &a->u.set);
		return 0;
	case ACT_EXIT:
		return emit_exit(e);
	case ACT_SET_QUEUE:
	case ACT_POP_QUEUE:
		e->st.queue = a->type == ACT_SET_QUEUE ? a->u.queue + 1 : 0;
		return 0;
	case ACT_IN_PORT:
		return compile_fail(e->c, e->f, "in_port action is not supported");
	case ACT_CONJUNCTION:
		/* flow_conj_expand takes clauses out before the tables */
		return compile_fail(e->c, e->f, "conjunction clause left in the tables");
	case ACT_SET_FIELD:
		if (a->u.set.field == F_DL_SRC || a->u.set.field == F_DL_DST)
			return emit_eth_set(e, &a->u.set);
		if (a->u.set.field >= F_NW_SRC && a->u.set.field <= F_IPV6_DST)
			return emit_addr_set(e, &a->u.set);
		if (a->u.set.field >= F_NW_TOS && a->u.set.field <= F_NW_TTL)
			return emit_ip_header_set(e, &a->u.set);
		if (a->u.set.field == F_TP_SRC || a->u.set.field == F_TP_DST)
			return emit_port_set(e, &a->u.set);
		set_reg(&e->st, &a->u.set);
		return 0;
	case ACT_DEC_TTL:
		return emit_dec_ttl(e);
	case ACT_CT_CLEAR:
		/* later matches see -trk; the packet keeps its conntrack entry */
		e->st.tracked = false;
		e->st.ct_known = 0;
		return 0;
	case ACT_RESUBMIT:
	case ACT_GOTO_TABLE:
		target = e->st;
		target.table = a->u.table;
		return emit_call(e, &target, last || a->type == ACT_GOTO_TABLE, NULL, true);
	case ACT_CT:
		return emit_ct(e, &a->u.ct, last);
	case ACT_DPI:
		return emit_dpi(e, &a->u.dpi, last);
	case ACT_GROUP:
		target = e->st;
		target.group = a->u.group_id + 1;
		return emit_call(e, &target, last, NULL, false);
	case ACT_METER:
		return emit_meter(e, a->u.meter_id);
	}
	return 0;
}

/* The actions of cf, after the matches already in e->rule. */
static int emit_actions(struct emit *e, const struct compile_flow *cf)
{
	for (int i = 0; i < cf->flow->n_actions && !e->ended; i++) {
		if (emit_action(e, &cf->flow->actions[i], i == cf->flow->n_actions - 1))
			return -1;
	}
	if (e->ended)
		return 0;
	note_exit(&e->sum, &e->st);
	return add_verdict(e->rule, NIR_RETURN, NULL) ? compile_oom(e->c) : 0;
}

/* The first of f's matches on a header field st->hdr_unknown has. */
static const char *hdr_unknown_name(const struct flow *f, const struct path_state *st)
{
	for (int i = 0; i < f->n_matches; i++) {
		enum field_id id = f->matches[i].field;

		if (id >= F_NW_TOS && id <= F_NW_TTL && st->hdr_unknown & 1u << (id - F_NW_TOS))
			return field_info(id)->name;
	}
	return "a header field";
}

/* compile_matches' failures (ret < 0) as the compile's error. */
int match_error(struct compiler *c, const struct compile_flow *cf,
		const struct path_state *st, int ret)
{
	const char *reg = "a register";

	if (ret == MATCH_NO_DPI_HOST)
		return compile_fail(c, cf->flow, "dpi_host '%s' is not in the DPI host table",
				    cf->flow->dpi_host ? cf->flow->dpi_host : "");
	if (ret == MATCH_HDR_UNKNOWN)
		return compile_fail(c, cf->flow, UNKNOWN_HDR_FMT, hdr_unknown_name(cf->flow, st));
	if (ret != MATCH_REG_UNKNOWN)
		return compile_oom(c);
	for (int i = 0; i < cf->flow->n_matches; i++) {
		enum field_id id = cf->flow->matches[i].field;

		if ((id == F_METADATA || (id >= F_REG0 && id <= F_REG7)) &&
		    reg_unknown(st, id)) {
			reg = field_info(id)->name;
			break;
		}
	}
	return compile_fail(c, cf->flow, UNKNOWN_REG_FMT, reg);
}

int emit_flow(struct compiler *c, int chain_idx, const struct path_state *st,
	      const struct compile_flow *cf, struct chain_summary *sum)
{
	return emit_flow_with(c, chain_idx, st, cf, sum, NULL, 0);
}

int emit_flow_with(struct compiler *c, int chain_idx, const struct path_state *st,
		   const struct compile_flow *cf, struct chain_summary *sum,
		   const struct nir_stmt *extra, int n_extra)
{
	struct nir_table *t = table_for(c, st);
	struct nir_chain *chain = &t->chains[chain_idx];
	struct emit e = {
		.c = c, .f = cf->flow, .st = *st, .table = t, .id = cf->id,
		.sum = { .zone = ZONE_NONE }, .flow_chain = -1,
	};
	const struct flow_match *m_in;
	char counter[64];
	bool matches_all, reachable = !sum->no_miss;
	int ret;

	e.rule = nir_add_rule(chain);
	if (!e.rule)
		return compile_oom(c);
	ret = compile_matches(c, cf->flow, st, e.rule);
	if (ret < 0)
		return match_error(c, cf, st, ret);
	if (ret == 0) {
		/* Can never match here: drop the rule. */
		free(e.rule->stmts);
		chain->n_rules--;
		return 0;
	}
	for (int i = 0; i < n_extra; i++) {
		struct nir_stmt *s = nir_add_stmt(e.rule, extra[i].kind);

		if (!s)
			return compile_oom(c);
		*s = extra[i];
	}
	matches_all = e.rule->n_stmts == 0;
	if (st->pass == PASS_MAIN && cf->id) {
		struct nir_stmt *s = nir_add_stmt(e.rule, NIR_COUNTER);
		char *text = flow_text(cf->flow);

		if (!s || !text || need_counter(c, t, cf)) {
			free(text);
			return compile_oom(c);
		}
		brflow_counter_name(cf->id, counter, sizeof(counter));
		snprintf(s->u.counter_name, sizeof(s->u.counter_name), "%s", counter);
		if (strlen(text) > 120)
			strcpy(text + 117, "...");
		e.rule->comment = text;
	}
	/* An exact in_port match is known on every path this flow starts, so
	 * tables it calls need only the flows for that port. */
	m_in = flow_find_match(cf->flow, F_IN_PORT);
	if (m_in && mask_is_full(m_in->mask, field_width(F_IN_PORT)) && !e.st.in_port)
		e.st.in_port = be_uint(m_in->value, field_width(F_IN_PORT));
	if (emit_actions(&e, cf))
		return -1;
	merge_summary(sum, &e.sum, 0);
	/* a flow after one that matches every packet is never reached */
	if (reachable)
		merge_exits(sum, &e.sum);
	sum->no_miss |= matches_all;
	return 0;
}

int emit_set_rule(struct compiler *c, int chain_idx, const struct path_state *st,
		  const struct compile_flow *cf, struct nir_rule *matches,
		  char *comment, struct chain_summary *sum)
{
	struct nir_table *t = table_for(c, st);
	struct emit e = {
		.c = c, .f = cf->flow, .st = *st, .table = t, .id = cf->id,
		.sum = { .zone = ZONE_NONE }, .flow_chain = -1,
	};

	e.rule = nir_add_rule(&t->chains[chain_idx]);
	if (!e.rule) {
		free(comment);
		return compile_oom(c);
	}
	*e.rule = *matches;
	memset(matches, 0, sizeof(*matches));
	e.rule->comment = comment;
	if (emit_actions(&e, cf))
		return -1;
	merge_summary(sum, &e.sum, 0);
	if (!sum->no_miss)
		merge_exits(sum, &e.sum);
	return 0;
}

static const struct ofgroup *find_group(const struct compiler *c, uint32_t id)
{
	for (int i = 0; i < c->in->n_groups; i++)
		if (c->in->groups[i].group_id == id)
			return &c->in->groups[i];
	return NULL;
}

/* The counter objects of every group's buckets in table t, made the
 * first time a bucket is emitted there (one pass over the groups, however
 * many flows use them). */
static int add_group_counters(struct compiler *c, struct nir_table *t)
{
	bool *done = &c->group_counted[t == c->bridge ? 0 : 1];
	char name[64];

	if (*done)
		return 0;
	*done = true;
	for (int i = 0; i < c->in->n_groups; i++)
		for (int k = 0; k < c->in->groups[i].n_buckets; k++) {
			group_counter_name(c->in->groups[i].group_id,
					   c->in->groups[i].buckets[k].bucket_id,
					   name, sizeof(name));
			if (!nir_add_counter(t, name))
				return compile_oom(c);
		}
	return 0;
}

/* A select group: each bucket is a rule "symhash mod W < running sum of
 * weights", the bucket's counter, then the bucket's actions.  The hash is
 * symmetric over addresses and ports, so every packet of a connection,
 * both ways, takes the same bucket; a bucket's ct(commit,nat(dst=...))
 * then pins the connection to its backend for good.  Only the main pass
 * counts, so a packet counts once.  An indirect group's one bucket is a
 * select group's only bucket: no hash. */
static uint32_t bucket_weight(const struct ofgroup *g, int i)
{
	return g->type == GROUP_INDIRECT ? 1 : g->buckets[i].weight;
}

int emit_group(struct compiler *c, int chain_idx, const struct path_state *st,
		      struct chain_summary *sum)
{
	const struct ofgroup *g = find_group(c, st->group - 1);
	struct path_state bucket_st = *st;
	uint32_t total = 0, running = 0;
	bool counted = st->pass == PASS_MAIN;

	if (!g)
		return compile_fail(c, NULL, "group:%u: no such group", st->group - 1);
	if (g->type != GROUP_SELECT && g->type != GROUP_INDIRECT)
		return compile_fail(c, NULL, "group %u: only type=select and type=indirect groups are supported (a packet has one output)",
				    g->group_id);
	for (int i = 0; i < g->n_buckets; i++)
		total += bucket_weight(g, i);
	bucket_st.group = 0;
	for (int i = 0; i < g->n_buckets && total; i++) {
		const struct ofgroup_bucket *b = &g->buckets[i];
		struct flow pseudo = { .n_actions = b->n_actions,
				       .actions = b->actions };
		struct compile_flow cf = { .id = 0, .flow = &pseudo };
		struct nir_stmt extra[2] = { { .kind = NIR_MATCH }, { .kind = NIR_COUNTER } };
		struct nir_stmt *hash = &extra[0];
		int first = 0;

		if (!bucket_weight(g, i))
			continue;
		running += bucket_weight(g, i);
		hash->u.match.src = (struct nir_src){ .kind = NIR_SRC_SYMHASH,
			.key = total, .len = 4, .name = "symhash mod", .fmt = NIR_FMT_DEC };
		hash->u.match.less = true;
		hash->u.match.value.len = 4;
		memcpy(hash->u.match.value.data, &running, 4);
		/* the last bucket takes whatever is left */
		if (running == total)
			first = 1;
		group_counter_name(g->group_id, b->bucket_id, extra[1].u.counter_name,
				   sizeof(extra[1].u.counter_name));
		if (counted && add_group_counters(c, table_for(c, &bucket_st)))
			return -1;
		if (emit_flow_with(c, chain_idx, &bucket_st, &cf, sum, extra + first,
				   (counted ? 2 : 1) - first))
			return -1;
	}
	return 0;
}

