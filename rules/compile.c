/* The compiler's driver: walks the OpenFlow pipeline from table 0 along
 * every path state it can reach (pass, IP version, tracked or not, zone,
 * register values) and emits one nftables chain per distinct state.
 * Values known at compile time (registers, ct fields before ct()) are
 * resolved here, so they cost nothing per packet.  See docs/design.md. */
#include "compile_priv.h"
#include "dpi.h"

#include <linux/netfilter/nf_tables.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAINS 20000
#define MAX_JUMP_DEPTH 14   /* kernel NFT_JUMP_STACK_SIZE is 16 */

static char *flow_text(const struct flow *f)
{
	char *t = flow_format(f);
	char *out;

	if (!t)
		return NULL;
	if (f->table) {
		if (asprintf(&out, "table=%u,%s", f->table, t) < 0)
			out = NULL;
		free(t);
		return out;
	}
	return t;
}

/* Records the first error: "flow 'TEXT': REASON". */
int compile_fail(struct compiler *c, const struct flow *f, const char *fmt, ...)
{
	char *reason = NULL, *text;
	va_list ap;

	if (c->err)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	text = f ? flow_text(f) : NULL;
	if (text) {
		if (asprintf(&c->err, "flow '%s': %s", text, reason ? reason : "?") < 0)
			c->err = NULL;
	} else if (reason) {
		c->err = strdup(reason);
	}
	free(text);
	free(reason);
	if (!c->err)
		c->err = strdup("out of memory");
	return -1;
}

int compile_oom(struct compiler *c)
{
	return compile_fail(c, NULL, "out of memory");
}

void brflow_table_name(const char *bridge, char *buf, size_t len)
{
	snprintf(buf, len, "brflow_%s", bridge);
}

void brflow_counter_name(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "f%llu", (unsigned long long)id);
}

/* ---- flow tables ---- */

static int cmp_priority(const void *a, const void *b)
{
	const struct compile_flow *x = *(const struct compile_flow *const *)a;
	const struct compile_flow *y = *(const struct compile_flow *const *)b;

	if (x->flow->priority != y->flow->priority)
		return x->flow->priority > y->flow->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int sort_tables(struct compiler *c)
{
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct compile_flow *cf = &c->in->flows[i];
		struct table_flows *t = &c->tables[cf->flow->table];
		const struct compile_flow **p;

		p = realloc(t->flows, (t->n + 1) * sizeof(*p));
		if (!p)
			return compile_oom(c);
		t->flows = p;
		t->flows[t->n++] = cf;
	}
	for (int i = 0; i <= FLOW_MAX_TABLE; i++)
		if (c->tables[i].n > 1)
			qsort(c->tables[i].flows, c->tables[i].n,
			      sizeof(*c->tables[i].flows), cmp_priority);
	return 0;
}

/* ---- checks that need the whole flow set ---- */

/* nat(src=IPv6 range) on a flow that matches IPv4 only, or the reverse. */
static bool nat_family_mismatch(const struct flow *f, const struct action_nat *n)
{
	const struct flow_match *t = flow_find_match(f, F_DL_TYPE);
	uint32_t type;

	if (!t || !n->family || !mask_is_full(t->mask, 2))
		return false;
	type = be_uint(t->value, 2);
	return (type == 0x0800 && n->family == 6) || (type == 0x86dd && n->family == 4);
}

static int check_action_support(struct compiler *c, const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++) {
		const struct flow_action *a = &f->actions[i];

		if (a->type == ACT_IN_PORT)
			return compile_fail(c, f, "in_port: a Linux bridge never sends a packet back out of its ingress port");
		if (a->type == ACT_OUTPUT &&
		    (a->u.port == 0 || a->u.port > BRFLOW_MAX_OFPORT))
			return compile_fail(c, f, "output:%u: port numbers must be 1-%d",
				    a->u.port, BRFLOW_MAX_OFPORT);
		if (a->type != ACT_CT || !a->u.ct.nat)
			continue;
		if (nat_family_mismatch(f, &a->u.ct.nat_spec))
			return compile_fail(c, f, "nat(%s=...) gives IPv%d addresses but the flow matches IPv%d packets",
					    a->u.ct.nat_spec.kind == NAT_SRC ? "src" : "dst",
					    a->u.ct.nat_spec.family, a->u.ct.nat_spec.family == 4 ? 6 : 4);
		if (a->u.ct.nat_spec.kind != NAT_EXISTING && !a->u.ct.commit)
			return compile_fail(c, f, "nat(%s=...) needs commit: netfilter sets up a binding only for a connection it keeps",
					    a->u.ct.nat_spec.kind == NAT_SRC ? "src" : "dst");
	}
	return 0;
}

static void collect_label_bits(struct compiler *c, const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++) {
		const struct action_ct *ct = &f->actions[i].u.ct;

		if (f->actions[i].type != ACT_CT)
			continue;
		for (int e = 0; e < ct->n_exec; e++)
			if (ct->exec[e].field == F_CT_LABEL)
				for (int b = 0; b < 16; b++)
					c->label_ever_set[b] |= ct->exec[e].is_move ?
						ct->exec[e].mask[b] :
						ct->exec[e].value[b] & ct->exec[e].mask[b];
	}
}

/* nftables can set ct_label bits but never clear them, so a write that
 * clears bits is exact only if no flow ever sets those bits. */
static int check_label_clears(struct compiler *c, const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++) {
		const struct action_ct *ct = &f->actions[i].u.ct;

		if (f->actions[i].type != ACT_CT)
			continue;
		for (int e = 0; e < ct->n_exec; e++) {
			const struct action_set_field *w = &ct->exec[e];

			/* An unmasked write ("set the label to V") is exact on a
			 * connection's first commit, when labels are zero; see
			 * brflow-flows(7) for re-labelling. */
			if (w->field != F_CT_LABEL || mask_is_full(w->mask, 16))
				continue;
			for (int b = 0; b < 16; b++)
				if (w->mask[b] & ~w->value[b] & c->label_ever_set[b])
					return compile_fail(c, f, "this masked ct_label write clears bits that other flows set, and nftables can only set ct_label bits, never clear them");
		}
	}
	return 0;
}

static bool uses_dpi(const struct flow *f)
{
	if (flow_find_match(f, F_DPI_PROTO) || flow_find_match(f, F_DPI_HOST))
		return true;
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_DPI)
			return true;
	return false;
}

static bool uses_nat(const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_CT && f->actions[i].u.ct.nat &&
		    f->actions[i].u.ct.nat_spec.kind != NAT_EXISTING)
			return true;
	return false;
}

/* Bytes 0..n-1 of a big-endian 16-byte label mask are its bits from
 * 127 - 8n + 1 up: true when the write touches bits >= first. */
static bool touches_bits_from(const uint8_t *mask_be, int first)
{
	for (int bit = first; bit < 128; bit++)
		if (mask_be[15 - bit / 8] & (1u << (bit % 8)))
			return true;
	return false;
}

/* With DPI in the flow set, label bits 96-127 carry its results; with NAT,
 * bits 72-95 carry the nat choice (compile_nat.c). */
static int check_dpi_label_bits(struct compiler *c)
{
	bool dpi = false, nat = false;
	int first;

	for (int i = 0; i < c->in->n_flows; i++) {
		dpi |= uses_dpi(c->in->flows[i].flow);
		nat |= uses_nat(c->in->flows[i].flow);
	}
	first = nat ? NAT_LABEL_FIRST_BIT : DPI_LABEL_USER_BITS;
	c->label_reserved[LABEL_COMMITTED_BIT / 8] |= 1u << (LABEL_COMMITTED_BIT % 8);
	for (int bit = first; (dpi || nat) && bit < 128; bit++)
		c->label_reserved[bit / 8] |= 1u << (bit % 8);
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct flow *f = c->in->flows[i].flow;

		for (int a = 0; a < f->n_actions; a++) {
			const struct action_ct *ct = &f->actions[a].u.ct;

			if (f->actions[a].type != ACT_CT)
				continue;
			for (int e = 0; e < ct->n_exec; e++) {
				const struct action_set_field *w = &ct->exec[e];
				/* an unmasked write sets its value's bits (label
				 * bits are never cleared), so only those count */
				bool whole = !w->is_move && mask_is_full(w->mask, 16);

				if (w->field == F_CT_LABEL &&
				    touches_bits_from(whole ? w->value : w->mask, 126) &&
				    !(dpi || nat))
					return compile_fail(c, f, "ct_label bit 126 is brflow's committed bit; write bits 0-125 only");
				if (w->field == F_CT_LABEL && (dpi || nat) &&
				    touches_bits_from(whole ? w->value : w->mask, first))
					return compile_fail(c, f, "ct_label bits %d-127 carry brflow's %s in this flow set; write bits 0-%d only",
							    first, nat ? "nat choice and DPI results" : "DPI results",
							    first - 1);
			}
		}
	}
	return 0;
}

static int check_flows(struct compiler *c)
{
	if (check_dpi_label_bits(c))
		return -1;
	for (int i = 0; i < c->in->n_flows; i++)
		collect_label_bits(c, c->in->flows[i].flow);
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct flow *f = c->in->flows[i].flow;

		if (check_action_support(c, f) || check_label_clears(c, f))
			return -1;
	}
	return 0;
}

/* ---- chain naming and memo ---- */

static bool same_state(const struct path_state *a, const struct path_state *b)
{
	return a->pass == b->pass && a->l3 == b->l3 && a->table == b->table &&
	       a->tracked == b->tracked && a->ctx_zone == b->ctx_zone &&
	       a->zone_seen == b->zone_seen && a->out == b->out &&
	       a->in_port == b->in_port && a->metadata == b->metadata &&
	       a->group == b->group && a->nat_view == b->nat_view &&
	       a->nat_set == b->nat_set &&
	       a->first_nat.kind == b->first_nat.kind &&
	       a->first_nat.family == b->first_nat.family &&
	       a->first_nat.single == b->first_nat.single &&
	       a->first_nat.port == b->first_nat.port &&
	       !memcmp(a->first_nat.addr, b->first_nat.addr, 16) &&
	       !memcmp(a->regs, b->regs, sizeof(a->regs));
}

static void chain_name(struct compiler *c, const struct path_state *st,
		       char *buf, size_t len)
{
	static const char *const l3name[] = { "ip", "ip6", "l2" };
	int variant = 0;
	int n;

	for (int i = 0; i < c->n_memo; i++) {
		const struct path_state *k = &c->memo[i].key;

		if (k->pass == st->pass && k->l3 == st->l3 && k->table == st->table &&
		    k->group == st->group && k->nat_view == st->nat_view &&
		    k->tracked == st->tracked && k->ctx_zone == st->ctx_zone &&
		    k->in_port == st->in_port)
			variant++;
	}
	if (st->group)
		n = snprintf(buf, len, "%s%s_grp%u", st->pass == PASS_PRE ? "pre_" : "",
			     l3name[st->l3], st->group - 1);
	else
		n = snprintf(buf, len, "%s%s_t%u", st->pass == PASS_PRE ? "pre_" : "",
			     l3name[st->l3], st->table);
	if (st->tracked)
		n += snprintf(buf + n, len - n, "_trk");
	if (st->tracked && st->ctx_zone)
		n += snprintf(buf + n, len - n, "_z%u", st->ctx_zone);
	if (st->in_port)
		n += snprintf(buf + n, len - n, "_p%u", st->in_port);
	if (st->tracked && st->nat_view)
		n += snprintf(buf + n, len - n, "_n%u", st->nat_view);
	if (variant)
		snprintf(buf + n, len - n, "_v%d", variant);
}

static struct nir_table *table_for(struct compiler *c, const struct path_state *st)
{
	return st->l3 == L3_OTHER ? c->bridge : c->inet;
}

static int compile_chain(struct compiler *c, const struct path_state *st,
			 const char **name, struct chain_summary *sum);

/* ---- actions ---- */

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
};

static uint32_t merge_out(uint32_t a, uint32_t b)
{
	if (!a)
		return b;
	if (!b || a == b)
		return a;
	return OUT_SEVERAL;
}

static void merge_summary(struct chain_summary *into, const struct chain_summary *s,
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
			    matched->stmts[i].kind != NIR_COUNTER) {
				split = i;
				break;
			} else {
				split = i + 1;
			}
		tail.n_stmts = matched->n_stmts - split;
		tail.stmts = malloc((tail.n_stmts ? tail.n_stmts : 1) * sizeof(*tail.stmts));
		if (!tail.stmts)
			return compile_oom(e->c);
		memcpy(tail.stmts, matched->stmts + split, tail.n_stmts * sizeof(*tail.stmts));
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

/* Calls the chain for state 'target': jump (and continue) or, as the
 * flow's last action, goto. */
static int emit_call(struct emit *e, const struct path_state *target, bool last,
		     const char *wrapper_prefix)
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
	merge_summary(&e->sum, &s, last ? 0 : 1);
	if (last) {
		e->ended = true;
		return add_verdict(e->rule, NIR_GOTO, name) ? compile_oom(e->c) : 0;
	}
	if (add_verdict(e->rule, NIR_JUMP, name))
		return compile_oom(e->c);
	state_after_call(&e->st, &s);
	return next_segment(e);
}

static int add_ct_key_match(struct nir_rule *r, uint32_t key, const char *name,
			    enum nir_fmt fmt, int len, const uint32_t *mask,
			    uint32_t value);

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
	struct path_state views[3] = { *target, *target, *target };
	struct chain_summary s[3];
	const char *name;
	char names[3][64], wname[72];
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
	snprintf(wname, sizeof(wname), "ctnat_%s", names[n_views - 1]);
	if (!nir_find_chain(t, wname)) {
		struct nir_chain *w = nir_add_chain(t, wname);
		int idx = t->n_chains - 1;
		struct nir_rule *r;
		struct nir_stmt *st;

		if (!w || !(r = nir_add_rule(w)) || add_verdict(r, NIR_JUMP, "ctstate"))
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
	s[0].depth += 1; /* the wrapper jumps to ctstate */
	merge_summary(&e->sum, &s[0], last ? 0 : 1);
	if (last) {
		e->ended = true;
		return add_verdict(e->rule, NIR_GOTO, wname) ? compile_oom(e->c) : 0;
	}
	if (add_verdict(e->rule, NIR_JUMP, wname))
		return compile_oom(e->c);
	state_after_call(&e->st, &s[0]);
	return next_segment(e);
}

static int emit_output(struct emit *e, uint32_t out)
{
	if (e->st.pass == PASS_PRE)
		return 0;
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

static void set_reg(struct path_state *st, const struct action_set_field *w)
{
	uint64_t v = write_value64(st, w);

	if (w->field == F_METADATA) {
		uint64_t mask = be_uint64(w->mask, 8);

		st->metadata = (st->metadata & ~mask) | (v & mask);
	} else {
		int r = w->field - F_REG0;
		uint32_t mask = be_uint(w->mask, 4);

		st->regs[r] = (st->regs[r] & ~mask) | ((uint32_t)v & mask);
	}
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

/* ct(commit): in a chain of its own that commits nothing for a packet
 * netfilter finds invalid, as OVS's commit of such a packet does. */
static int emit_commit(struct emit *e, const struct action_ct *ct)
{
	struct nir_rule *saved = e->rule, *r;
	struct nir_chain *ch;
	char name[64];
	int idx;

	snprintf(name, sizeof(name), "commit_%d", e->c->n_commits++);
	ch = nir_add_chain(e->table, name);
	if (!ch)
		return compile_oom(e->c);
	idx = e->table->n_chains - 1;
	if (!(r = nir_add_rule(ch)) || add_ct_state_match(r, 1, false) ||
	    add_verdict(r, NIR_RETURN, NULL) ||
	    !(r = nir_add_rule(&e->table->chains[idx])))
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
	bool any_label = true;

	label[LABEL_COMMITTED_BIT / 8] |= 1u << (LABEL_COMMITTED_BIT % 8);
	for (int i = 0; i < ct->n_exec; i++) {
		const struct action_set_field *w = &ct->exec[i];

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
	if (ct->table < 0)
		return 0;
	target.table = ct->table;
	target.tracked = true;
	target.ctx_zone = zone;
	target.nat_view = 0;
	if (ct->nat && e->st.l3 != L3_OTHER)
		return emit_nat_call(e, &target, ct, last);
	return emit_call(e, &target, last, e->st.l3 == L3_OTHER ? NULL : "ct_");
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

/* The chain behind dpi(...).  It does nothing for a packet the handler has
 * seen (it comes back with NF_REPEAT and DPI_MARK_SEEN, and the pipeline
 * runs again, now seeing the labels) or whose connection is classified
 * (label bit 127).  fail=closed queues right here: with no handler the
 * packet is dropped, as asked.  fail=open only asks (DPI_MARK_WANT): the
 * queueing comes after the pipeline has decided the packet's fate
 * (add_dpi_queue), so that the queue's bypass, which accepts, keeps it. */
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
	if (d->fail_closed)
		return add_queue_stmt(c, r, d);
	return add_mark_set(r, NIR_META_MARK, 0xffffffffu, DPI_MARK_WANT) ?
	       compile_oom(c) : 0;
}

/* fail=open queues at the end of the pipeline: one such setting a bridge. */
static int dpi_setting(struct compiler *c, const struct flow *f,
		       const struct action_dpi *d)
{
	if (d->fail_closed)
		return 0;
	if (!c->dpi_used) {
		c->dpi = *d;
		c->dpi_used = true;
		return 0;
	}
	if (c->dpi.queue_lo != d->queue_lo || c->dpi.queue_hi != d->queue_hi)
		return compile_fail(c, f, "every dpi(...,fail=open) of a bridge must use the same queue");
	return 0;
}

static int add_dpi_queue(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r;

	if (!c->dpi_used)
		return 0;
	r = nir_add_rule(ch);
	if (!r || add_mark_match(r, DPI_MARK_WANT | DPI_MARK_SEEN, DPI_MARK_WANT))
		return compile_oom(c);
	return add_queue_stmt(c, r, &c->dpi);
}

static int emit_dpi(struct emit *e, const struct action_dpi *d, bool last)
{
	char name[64];

	if (e->c->in->lacks_queue)
		return compile_fail(e->c, e->f, "dpi() needs the nft queue statement (nft_queue) or xt's NFQUEUE target (nft_compat, xt_NFQUEUE), which this kernel lacks");
	if (e->st.pass == PASS_PRE || e->st.l3 == L3_OTHER)
		return 0;
	if (dpi_setting(e->c, e->f, d))
		return -1;
	if (d->fail_closed)
		snprintf(name, sizeof(name), "dpi_q%u_%u_closed", d->queue_lo, d->queue_hi);
	else
		snprintf(name, sizeof(name), "dpi_want");
	if (!nir_find_chain(e->c->inet, name) && build_dpi_chain(e->c, d, name))
		return -1;
	if (e->sum.depth < 1)
		e->sum.depth = 1;
	if (last) {
		e->ended = true;
		return add_verdict(e->rule, NIR_GOTO, name) ? compile_oom(e->c) : 0;
	}
	if (add_verdict(e->rule, NIR_JUMP, name))
		return compile_oom(e->c);
	return next_segment(e);
}

/* mod_dl_src/mod_dl_dst: rewrite the Ethernet header in place; the bridge
 * forwards by the new destination. */
static int emit_eth_set(struct emit *e, const struct action_set_field *w)
{
	struct nir_stmt *s;

	if (!mask_is_full(w->mask, 6))
		return compile_fail(e->c, e->f, "masked writes to %s are not supported",
				    field_info(w->field)->name);
	if (e->st.pass == PASS_PRE)
		return 0;
	s = nir_add_stmt(e->rule, NIR_PAYLOAD_SET);
	if (!s)
		return compile_oom(e->c);
	s->u.set.dst = (struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_LL_HEADER, .offset = w->field == F_DL_SRC ? 6 : 0,
		.len = 6, .name = w->field == F_DL_SRC ? "ether saddr" : "ether daddr",
		.fmt = NIR_FMT_MAC };
	s->u.set.value.len = 6;
	memcpy(s->u.set.value.data, w->value, 6);
	return 0;
}

static int emit_action(struct emit *e, const struct flow_action *a, bool last)
{
	struct path_state target;

	switch (a->type) {
	case ACT_OUTPUT:
		return emit_output(e, a->u.port);
	case ACT_NORMAL:
	case ACT_FLOOD:
		return emit_output(e, OUT_NORMAL);
	case ACT_IN_PORT:
		return compile_fail(e->c, e->f, "in_port action is not supported");
	case ACT_SET_FIELD:
		if (a->u.set.field == F_DL_SRC || a->u.set.field == F_DL_DST)
			return emit_eth_set(e, &a->u.set);
		set_reg(&e->st, &a->u.set);
		return 0;
	case ACT_CT_CLEAR:
		/* later matches see -trk; the packet keeps its conntrack entry */
		e->st.tracked = false;
		return 0;
	case ACT_RESUBMIT:
	case ACT_GOTO_TABLE:
		target = e->st;
		target.table = a->u.table;
		return emit_call(e, &target, last || a->type == ACT_GOTO_TABLE, NULL);
	case ACT_CT:
		return emit_ct(e, &a->u.ct, last);
	case ACT_DPI:
		return emit_dpi(e, &a->u.dpi, last);
	case ACT_GROUP:
		target = e->st;
		target.group = a->u.group_id + 1;
		return emit_call(e, &target, last, NULL);
	}
	return 0;
}

static int emit_flow_with(struct compiler *c, int chain_idx,
			  const struct path_state *st, const struct compile_flow *cf,
			  struct chain_summary *sum, const struct nir_stmt *extra);

static int emit_flow(struct compiler *c, int chain_idx,
		     const struct path_state *st, const struct compile_flow *cf,
		     struct chain_summary *sum)
{
	return emit_flow_with(c, chain_idx, st, cf, sum, NULL);
}

/* One flow as a rule of chain chain_idx; 'extra' (may be NULL) is one more
 * match statement, and a flow with id 0 (a group bucket) has no counter. */
static int emit_flow_with(struct compiler *c, int chain_idx,
			  const struct path_state *st, const struct compile_flow *cf,
			  struct chain_summary *sum, const struct nir_stmt *extra)
{
	struct nir_table *t = table_for(c, st);
	struct nir_chain *chain = &t->chains[chain_idx];
	struct emit e = {
		.c = c, .f = cf->flow, .st = *st, .table = t, .id = cf->id,
		.sum = { .zone = ZONE_NONE }, .flow_chain = -1,
	};
	const struct flow_match *m_in;
	char counter[64];
	int ret;

	e.rule = nir_add_rule(chain);
	if (!e.rule)
		return compile_oom(c);
	ret = compile_matches(c, cf->flow, st, e.rule);
	if (ret == -2)
		return compile_fail(c, cf->flow, "dpi_host '%s' is not in the DPI host table",
			    cf->flow->dpi_host ? cf->flow->dpi_host : "");
	if (ret < 0)
		return compile_oom(c);
	if (ret == 0) {
		/* Can never match here: drop the rule. */
		free(e.rule->stmts);
		chain->n_rules--;
		return 0;
	}
	if (extra) {
		struct nir_stmt *s = nir_add_stmt(e.rule, extra->kind);

		if (!s)
			return compile_oom(c);
		*s = *extra;
	}
	if (st->pass == PASS_MAIN && cf->id) {
		struct nir_stmt *s = nir_add_stmt(e.rule, NIR_COUNTER);
		char *text = flow_text(cf->flow);

		if (!s || !text) {
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
	for (int i = 0; i < cf->flow->n_actions && !e.ended; i++) {
		if (emit_action(&e, &cf->flow->actions[i], i == cf->flow->n_actions - 1))
			return -1;
	}
	if (!e.ended && add_verdict(e.rule, NIR_RETURN, NULL))
		return compile_oom(c);
	merge_summary(sum, &e.sum, 0);
	return 0;
}

static const struct ofgroup *find_group(const struct compiler *c, uint32_t id)
{
	for (int i = 0; i < c->in->n_groups; i++)
		if (c->in->groups[i].group_id == id)
			return &c->in->groups[i];
	return NULL;
}

/* A select group: each bucket is a rule "symhash mod W < running sum of
 * weights" followed by the bucket's actions.  The hash is symmetric over
 * addresses and ports, so every packet of a connection, both ways, takes
 * the same bucket; a bucket's ct(commit,nat(dst=...)) then pins the
 * connection to its backend for good. */
static int emit_group(struct compiler *c, int chain_idx, const struct path_state *st,
		      struct chain_summary *sum)
{
	const struct ofgroup *g = find_group(c, st->group - 1);
	struct path_state bucket_st = *st;
	uint32_t total = 0, running = 0;

	if (!g)
		return compile_fail(c, NULL, "group:%u: no such group", st->group - 1);
	if (g->type != GROUP_SELECT)
		return compile_fail(c, NULL, "group %u: only type=select groups are supported",
				    g->group_id);
	for (int i = 0; i < g->n_buckets; i++)
		total += g->buckets[i].weight;
	bucket_st.group = 0;
	for (int i = 0; i < g->n_buckets && total; i++) {
		const struct ofgroup_bucket *b = &g->buckets[i];
		struct flow pseudo = { .n_actions = b->n_actions,
				       .actions = b->actions };
		struct compile_flow cf = { .id = 0, .flow = &pseudo };
		struct nir_stmt hash = { .kind = NIR_MATCH };

		if (!b->weight)
			continue;
		running += b->weight;
		hash.u.match.src = (struct nir_src){ .kind = NIR_SRC_SYMHASH,
			.key = total, .len = 4, .name = "symhash mod", .fmt = NIR_FMT_DEC };
		hash.u.match.less = true;
		hash.u.match.value.len = 4;
		memcpy(hash.u.match.value.data, &running, 4);
		/* the last bucket takes whatever is left */
		if (emit_flow_with(c, chain_idx, &bucket_st, &cf, sum,
				   running == total ? NULL : &hash))
			return -1;
	}
	return 0;
}

/* Compiles (once) the chain for state st; returns its name and summary. */
static int compile_chain(struct compiler *c, const struct path_state *st,
			 const char **name, struct chain_summary *sum)
{
	struct nir_table *t = table_for(c, st);
	struct table_flows *tf = &c->tables[st->table];
	struct chain_memo *m;
	struct nir_chain *chain;
	struct chain_summary s = { .zone = ZONE_NONE };
	char cname[64], wname[72];
	int idx, chain_idx;

	for (int i = 0; i < c->n_memo; i++) {
		if (!same_state(&c->memo[i].key, st))
			continue;
		if (!c->memo[i].done)
			return compile_fail(c, NULL, "resubmit loop through table %u", st->table);
		*name = c->memo[i].name;
		*sum = c->memo[i].sum;
		return 0;
	}
	if (c->n_memo >= MAX_CHAINS)
		return compile_fail(c, NULL, "the flow tables need more than %d chain copies (too many register or zone combinations)", MAX_CHAINS);
	m = realloc(c->memo, (c->n_memo + 1) * sizeof(*m));
	if (!m)
		return compile_oom(c);
	c->memo = m;
	chain_name(c, st, cname, sizeof(cname));
	idx = c->n_memo++;
	memset(&c->memo[idx], 0, sizeof(c->memo[idx]));
	c->memo[idx].key = *st;
	snprintf(c->memo[idx].name, sizeof(c->memo[idx].name), "%s", cname);

	chain = nir_add_chain(t, cname);
	if (!chain)
		return compile_oom(c);
	chain_idx = t->n_chains - 1;
	if (st->group) {
		if (emit_group(c, chain_idx, st, &s))
			return -1;
	} else {
		for (int i = 0; i < tf->n; i++)
			if (emit_flow(c, chain_idx, st, tf->flows[i], &s))
				return -1;
	}
	s.depth += 1;
	if (s.depth > MAX_JUMP_DEPTH)
		return compile_fail(c, NULL, "resubmit nesting from table %u is deeper than nftables allows (%d)",
			    st->table, MAX_JUMP_DEPTH);
	/* The wrapper for ct(table=N): compute effective ct_state, then run. */
	if (st->tracked && st->l3 != L3_OTHER) {
		struct nir_chain *w;
		struct nir_rule *r;

		snprintf(wname, sizeof(wname), "ct_%s", cname);
		w = nir_add_chain(t, wname);
		if (!w || !(r = nir_add_rule(w)) || add_verdict(r, NIR_JUMP, "ctstate") ||
		    !(r = nir_add_rule(w)) || add_verdict(r, NIR_GOTO, cname))
			return compile_oom(c);
	}
	c->memo[idx].done = true;
	c->memo[idx].sum = s;
	*name = c->memo[idx].name;
	*sum = s;
	return 0;
}

/* ---- fixed chains ---- */

static struct nir_rule *rule_in(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r = ch ? nir_add_rule(ch) : NULL;

	if (!r)
		compile_oom(c);
	return r;
}

static int add_meta_match(struct nir_rule *r, uint32_t key, const char *name,
			  enum nir_fmt fmt, const void *value, int len, bool negate)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

	if (!s)
		return -1;
	s->u.match.src = (struct nir_src){ .kind = NIR_SRC_META, .key = key,
					   .len = len, .name = name, .fmt = fmt };
	s->u.match.value.len = len;
	memcpy(s->u.match.value.data, value, len);
	s->u.match.negate = negate;
	return 0;
}

static int add_nfproto_match(struct nir_rule *r, uint8_t nfproto)
{
	return add_meta_match(r, NFT_META_NFPROTO, "meta nfproto", NIR_FMT_DEC,
			      &nfproto, 1, false);
}

/* "not from a brflow port: not ours" as the first rule of a base chain. */
static int add_not_ours_accept(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_mark_match(r, MARK_OURS, 0) || add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

/* After the pipeline returned: no output chosen means drop. */
static int add_decision(struct compiler *c, struct nir_chain *ch, bool dpi_queue)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_mark_match(r, MARK_OUT, 0) || add_verdict(r, NIR_DROP, NULL))
		return compile_oom(c);
	/* the packet's fate is decided: now it may go to the DPI handler */
	if (dpi_queue && add_dpi_queue(c, ch))
		return -1;
	r = rule_in(c, ch);
	if (!r || add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

static struct nir_chain *base_chain(struct compiler *c, struct nir_table *t,
				    const char *name, enum nir_hook hook, int prio)
{
	struct nir_chain *ch = nir_add_chain(t, name);

	if (!ch) {
		compile_oom(c);
		return NULL;
	}
	ch->hook = hook;
	ch->priority = prio;
	return ch;
}

static struct path_state initial_state(enum pass pass, enum l3 l3)
{
	return (struct path_state){ .pass = pass, .l3 = l3, .zone_seen = ZONE_NONE };
}

/* Jumps from a base chain into table 0 for one IP version. */
static int add_entry(struct compiler *c, const char *base, enum pass pass, enum l3 l3)
{
	struct path_state st = initial_state(pass, l3);
	struct chain_summary sum;
	const char *name;
	struct nir_chain *ch;
	struct nir_rule *r;

	if (compile_chain(c, &st, &name, &sum))
		return -1;
	ch = nir_find_chain(table_for(c, &st), base);
	r = rule_in(c, ch);
	if (!r)
		return -1;
	if (l3 != L3_OTHER && add_nfproto_match(r, l3 == L3_IP4 ? 2 : 10))
		return compile_oom(c);
	return add_verdict(r, NIR_JUMP, name) ? compile_oom(c) : 0;
}

/* The effective ct_state of OVS, from netfilter's state plus the committed
 * bit: an uncommitted connection looks new (non-TCP, or a TCP SYN) or
 * invalid (any other TCP packet), as if netfilter had never kept it. */
/* One ct-key compare (mask NULL: exact), host-endian like the kernel's
 * registers for these keys. */
static int add_ct_key_match(struct nir_rule *r, uint32_t key, const char *name,
			    enum nir_fmt fmt, int len, const uint32_t *mask,
			    uint32_t value)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

	if (!s)
		return -1;
	s->u.match.src = (struct nir_src){ .kind = NIR_SRC_CT, .key = key,
					   .len = len, .name = name, .fmt = fmt };
	s->u.match.value.len = s->u.match.mask.len = len;
	memcpy(s->u.match.value.data, &value, len);
	if (mask) {
		s->u.match.has_mask = true;
		memcpy(s->u.match.mask.data, mask, len);
	}
	return 0;
}

/* "this TCP packet is a bare SYN in the original direction" */
static int add_tcp_syn_match(struct nir_rule *r)
{
	static const uint8_t syn_only[2] = { 0x00, 0x02 }, flag_mask[2] = { 0x00, 0x17 };
	uint8_t tcp = 6;
	struct nir_stmt *s;

	if (add_meta_match(r, NFT_META_L4PROTO, "meta l4proto", NIR_FMT_DEC, &tcp, 1, false) ||
	    add_ct_key_match(r, NFT_CT_DIRECTION, "ct direction", NIR_FMT_CTDIR, 1, NULL, 0))
		return -1;
	s = nir_add_stmt(r, NIR_MATCH);
	if (!s)
		return -1;
	s->u.match.src = (struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_TRANSPORT_HEADER, .offset = 12, .len = 2,
		.name = "@th,96,16", .fmt = NIR_FMT_HEX };
	s->u.match.has_mask = true;
	s->u.match.mask.len = s->u.match.value.len = 2;
	memcpy(s->u.match.mask.data, flag_mask, 2);
	memcpy(s->u.match.value.data, syn_only, 2);
	return 0;
}

/* A rule: [condition] mark |= bit [return]. */
static int add_flag_rule(struct compiler *c, struct nir_chain *ch, uint32_t state_bits,
			 uint32_t mark, bool ret)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || (state_bits && add_ct_state_match(r, state_bits, false)) ||
	    add_mark_set(r, NIR_META_MARK, 0xffffffffu, mark) ||
	    (ret && add_verdict(r, NIR_RETURN, NULL)))
		return compile_oom(c);
	return 0;
}

/* Committed connections: netfilter's state as OVS's flags. */
static int build_ctstate_committed(struct compiler *c)
{
	static const struct { uint32_t ct_bits; uint32_t mark; } committed[] = {
		{ 8, MARK_CS_NEW }, { 2, MARK_CS_EST }, { 4, MARK_CS_REL },
	};
	struct nir_chain *ch = nir_add_chain(c->inet, "ctstate_committed");
	struct nir_rule *r;

	if (!ch)
		return compile_oom(c);
	for (size_t i = 0; i < sizeof(committed) / sizeof(committed[0]); i++)
		if (add_flag_rule(c, ch, committed[i].ct_bits, committed[i].mark, false))
			return -1;
	if (!(r = rule_in(c, ch)) ||
	    add_ct_key_match(r, NFT_CT_DIRECTION, "ct direction", NIR_FMT_CTDIR, 1, NULL, 1) ||
	    add_mark_set(r, NIR_META_MARK, 0xffffffffu, MARK_CS_RPL))
		return compile_oom(c);
	return 0;
}

/* Expected connections inherit the master's mark: their own commit is
 * label bit LABEL_COMMITTED_BIT.  Until then they look as OVS shows an
 * uncommitted related connection: +rel and +new (or +inv). */
static int build_ctstate_expected(struct compiler *c)
{
	uint8_t bit[16] = { 0 };
	struct nir_chain *ch = nir_add_chain(c->inet, "ctstate_expected");
	struct nir_rule *r;

	bit[LABEL_COMMITTED_BIT / 8] = 1u << (LABEL_COMMITTED_BIT % 8);
	if (!ch || !(r = rule_in(c, ch)) || add_label_match(r, bit, bit) ||
	    add_verdict(r, NIR_GOTO, "ctstate_committed"))
		return compile_oom(c);
	if (add_flag_rule(c, nir_find_chain(c->inet, "ctstate_expected"), 4, MARK_CS_REL, false))
		return -1;
	if (!(r = rule_in(c, nir_find_chain(c->inet, "ctstate_expected"))) ||
	    add_verdict(r, NIR_GOTO, "ctstate_uncommitted"))
		return compile_oom(c);
	return 0;
}

static int build_ctstate(struct compiler *c)
{
	static const uint32_t committed_bit = CT_COMMITTED;
	static const uint32_t expected_bit = 1; /* IPS_EXPECTED */
	struct nir_chain *ch = nir_add_chain(c->inet, "ctstate");
	struct nir_chain *un;
	struct nir_rule *r;
	uint8_t tcp = 6;

	if (!ch || !(r = rule_in(c, ch)) || add_mark_set(r, NIR_META_MARK, ~MARK_CS_ALL, 0))
		return compile_oom(c);
	if (add_flag_rule(c, ch, 1, MARK_CS_INV, true))        /* ct state invalid */
		return -1;
	if (!(r = rule_in(c, ch)) || add_ct_state_match(r, 64, false) || /* untracked */
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	if (!(r = rule_in(c, ch)) ||
	    add_ct_key_match(r, NFT_CT_STATUS, "ct status", NIR_FMT_HEX, 4, &expected_bit,
			     expected_bit) ||
	    add_verdict(r, NIR_GOTO, "ctstate_expected"))
		return compile_oom(c);
	if (!(r = rule_in(c, ch)) ||
	    add_ct_key_match(r, NFT_CT_MARK, "ct mark", NIR_FMT_HEX, 4, &committed_bit, 0) ||
	    add_verdict(r, NIR_GOTO, "ctstate_uncommitted"))
		return compile_oom(c);
	if (!(r = rule_in(c, ch)) || add_verdict(r, NIR_GOTO, "ctstate_committed"))
		return compile_oom(c);
	if (build_ctstate_committed(c) || build_ctstate_expected(c))
		return -1;

	un = nir_add_chain(c->inet, "ctstate_uncommitted");
	if (!un || !(r = rule_in(c, un)) || add_tcp_syn_match(r) ||
	    add_mark_set(r, NIR_META_MARK, 0xffffffffu, MARK_CS_NEW) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	if (!(r = rule_in(c, un)) ||
	    add_meta_match(r, NFT_META_L4PROTO, "meta l4proto", NIR_FMT_DEC, &tcp, 1, false) ||
	    add_mark_set(r, NIR_META_MARK, 0xffffffffu, MARK_CS_INV) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	return add_flag_rule(c, un, 0, MARK_CS_NEW, false);
}

static int add_ifname_match(struct nir_rule *r, uint32_t key, const char *name,
			    const char *ifname)
{
	char buf[16] = { 0 };

	memcpy(buf, ifname, strnlen(ifname, sizeof(buf) - 1));
	return add_meta_match(r, key, name, NIR_FMT_IFNAME, buf, 16, false);
}

static bool any_nat(const struct compiler *c)
{
	for (int i = 0; i < c->in->n_flows; i++)
		if (uses_nat(c->in->flows[i].flow))
			return true;
	for (int g = 0; g < c->in->n_groups; g++)
		for (int b = 0; b < c->in->groups[g].n_buckets; b++) {
			struct flow pseudo = {
				.n_actions = c->in->groups[g].buckets[b].n_actions,
				.actions = c->in->groups[g].buckets[b].actions,
			};

			if (uses_nat(&pseudo))
				return true;
		}
	return false;
}

/* With NAT, br_netfilter sends translated packets on by resolving their new
 * destination from the bridge device itself (docs/nat.md); the answers to
 * that, ARP replies and ICMPv6 neighbour advertisements sent to the bridge's
 * own MAC, are the switch's business, not the pipeline's.  'ip6' selects the
 * ND rule (inet pipeline) over the ARP rule (bridge classify). */
static int add_nat_neighbour_pass(struct compiler *c, const char *chain, bool ip6)
{
	static const uint8_t arp[2] = { 0x08, 0x06 }, zero[6];
	struct nir_chain *ch = nir_find_chain(ip6 ? c->inet : c->bridge, chain);
	struct nir_rule *r;
	struct flow_match m = { .field = F_DL_DST };
	uint8_t icmp6 = 58, na = 136;

	if (!any_nat(c) || !memcmp(c->in->bridge_mac, zero, 6))
		return 0;
	memcpy(m.value, c->in->bridge_mac, 6);
	memset(m.mask, 0xff, 6);
	r = rule_in(c, ch);
	if (!r)
		return -1;
	{
		struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

		if (!s)
			return compile_oom(c);
		s->u.match.src = (struct nir_src){ .kind = NIR_SRC_PAYLOAD,
			.base = NFT_PAYLOAD_LL_HEADER, .offset = 0, .len = 6,
			.name = "ether daddr", .fmt = NIR_FMT_MAC };
		s->u.match.value.len = 6;
		memcpy(s->u.match.value.data, c->in->bridge_mac, 6);
	}
	if (ip6) {
		if (add_nfproto_match(r, 10) ||
		    add_meta_match(r, NFT_META_L4PROTO, "meta l4proto", NIR_FMT_DEC,
				   &icmp6, 1, false))
			return compile_oom(c);
		struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

		if (!s)
			return compile_oom(c);
		s->u.match.src = (struct nir_src){ .kind = NIR_SRC_PAYLOAD,
			.base = NFT_PAYLOAD_TRANSPORT_HEADER, .offset = 0, .len = 1,
			.name = "icmpv6 type", .fmt = NIR_FMT_DEC };
		s->u.match.value.len = 1;
		s->u.match.value.data[0] = na;
	} else if (add_meta_match(r, NFT_META_PROTOCOL, "meta protocol",
				  NIR_FMT_ETHERTYPE, arp, 2, false)) {
		return compile_oom(c);
	}
	return add_verdict(r, NIR_ACCEPT, NULL) ? compile_oom(c) : 0;
}

/* bridge prerouting: classify the port, run non-IP traffic through the
 * pipeline's l2 copy; IP goes on to the inet hooks. */
static int build_bridge_table(struct compiler *c)
{
	struct nir_map *ports = nir_add_map(c->bridge, "ports");
	struct nir_chain *cls, *enf;
	struct nir_rule *r;
	struct nir_stmt *s;
	static const uint8_t ip4[2] = { 0x08, 0x00 }, ip6[2] = { 0x86, 0xdd };

	if (!ports)
		return compile_oom(c);
	for (int i = 0; i < c->in->n_ports; i++)
		if (nir_map_add(ports, c->in->ports[i].ifname,
				MARK_OURS | c->in->ports[i].ofport))
			return compile_oom(c);
	cls = base_chain(c, c->bridge, "classify", NIR_HOOK_PREROUTING, -300);
	if (!cls || !(r = rule_in(c, cls)) || !(s = nir_add_stmt(r, NIR_MAP_MARK)))
		return compile_oom(c);
	s->u.map.src = (struct nir_src){ .kind = NIR_SRC_META, .key = NFT_META_IIFNAME,
					 .len = 16, .name = "iifname", .fmt = NIR_FMT_IFNAME };
	snprintf(s->u.map.set_name, sizeof(s->u.map.set_name), "ports");
	if (add_not_ours_accept(c, cls) || add_nat_neighbour_pass(c, "classify", false))
		return -1;
	for (int i = 0; i < 2; i++) {
		if (!(r = rule_in(c, cls)) ||
		    add_meta_match(r, NFT_META_PROTOCOL, "meta protocol", NIR_FMT_ETHERTYPE,
				   i ? ip6 : ip4, 2, false) ||
		    add_verdict(r, NIR_ACCEPT, NULL))
			return compile_oom(c);
	}
	if (add_entry(c, "classify", PASS_MAIN, L3_OTHER) ||
	    add_decision(c, nir_find_chain(c->bridge, "classify"), false))
		return -1;

	/* bridge forward: only the port the pipeline chose may carry it. */
	enf = base_chain(c, c->bridge, "enforce", NIR_HOOK_FORWARD, 100);
	if (!enf || !(r = rule_in(c, enf)) ||
	    add_mark_match(r, MARK_OURS | MARK_OUT, MARK_OURS | OUT_NORMAL << MARK_OUT_SHIFT) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	for (int i = 0; i < c->in->n_ports; i++) {
		const struct compile_port *p = &c->in->ports[i];

		if (!(r = rule_in(c, enf)) ||
		    add_ifname_match(r, NFT_META_OIFNAME, "oifname", p->ifname))
			return compile_oom(c);
		if (add_mark_match(r, MARK_OURS | MARK_OUT,
				   MARK_OURS | (uint32_t)p->ofport << MARK_OUT_SHIFT) ||
		    add_verdict(r, NIR_ACCEPT, NULL))
			return compile_oom(c);
	}
	/* From a brflow port, or to one, without the pipeline's consent. */
	if (!(r = rule_in(c, enf)) || add_mark_match(r, MARK_OURS, MARK_OURS) ||
	    add_verdict(r, NIR_DROP, NULL))
		return compile_oom(c);
	for (int i = 0; i < c->in->n_ports; i++) {
		if (!(r = rule_in(c, enf)) ||
		    add_ifname_match(r, NFT_META_OIFNAME, "oifname", c->in->ports[i].ifname) ||
		    add_verdict(r, NIR_DROP, NULL))
			return compile_oom(c);
	}
	return 0;
}

static int build_inet_table(struct compiler *c)
{
	struct nir_chain *pre, *main;
	struct nir_rule *r;

	pre = base_chain(c, c->inet, "prepass", NIR_HOOK_PREROUTING, -300);
	if (!pre || add_not_ours_accept(c, pre) ||
	    add_entry(c, "prepass", PASS_PRE, L3_IP4) ||
	    add_entry(c, "prepass", PASS_PRE, L3_IP6))
		return -1;
	/* The path ended without ct(): OVS never tracks such packets. */
	pre = nir_find_chain(c->inet, "prepass");
	if (!(r = rule_in(c, pre)) || !nir_add_stmt(r, NIR_NOTRACK) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);

	main = base_chain(c, c->inet, "pipeline", NIR_HOOK_PREROUTING, -150);
	if (!main || add_not_ours_accept(c, main) ||
	    add_nat_neighbour_pass(c, "pipeline", true) || build_ctstate(c) ||
	    add_entry(c, "pipeline", PASS_MAIN, L3_IP4) ||
	    add_entry(c, "pipeline", PASS_MAIN, L3_IP6))
		return -1;
	if (add_decision(c, nir_find_chain(c->inet, "pipeline"), true))
		return -1;
	return build_nat_chains(c);
}

static int add_counters(struct compiler *c)
{
	char name[64];

	for (int i = 0; i < c->in->n_flows; i++) {
		brflow_counter_name(c->in->flows[i].id, name, sizeof(name));
		if (!nir_add_counter(c->bridge, name) || !nir_add_counter(c->inet, name))
			return compile_oom(c);
	}
	return 0;
}

static int check_ports(struct compiler *c)
{
	for (int i = 0; i < c->in->n_ports; i++)
		if (c->in->ports[i].ofport == 0 ||
		    c->in->ports[i].ofport > BRFLOW_MAX_OFPORT)
			return compile_fail(c, NULL, "port '%s': ofport %u out of range 1-%d",
				    c->in->ports[i].ifname, c->in->ports[i].ofport,
				    BRFLOW_MAX_OFPORT);
	return 0;
}

char *brflow_compile(const struct compile_input *in, struct nir_ruleset *out)
{
	struct compiler c = { .in = in, .rs = out };
	char tname[64];

	brflow_table_name(in->bridge, tname, sizeof(tname));
	/* nir_add_table may move the first table: take pointers afterwards. */
	if (!nir_add_table(out, NIR_BRIDGE, tname) || !nir_add_table(out, NIR_INET, tname)) {
		compile_oom(&c);
	} else {
		c.bridge = &out->tables[0];
		c.inet = &out->tables[1];
	}
	if (!c.err && !check_ports(&c) && !sort_tables(&c) && !check_flows(&c) &&
	    !add_counters(&c) && !build_bridge_table(&c))
		build_inet_table(&c);
	for (int i = 0; i <= FLOW_MAX_TABLE; i++)
		free(c.tables[i].flows);
	free(c.memo);
	if (c.err)
		nir_ruleset_free(out);
	return c.err;
}
