/* The compiler's driver: walks the OpenFlow pipeline from table 0 along
 * every path state it can reach (pass, IP version, tracked or not, zone,
 * register values) and emits one nftables chain per distinct state.
 * Values known at compile time (registers, ct fields before ct()) are
 * resolved here, so they cost nothing per packet.  See docs/design.md. */
#include "compile_priv.h"
#include "dpi.h"
#include "flow_conj.h"

#include <linux/netfilter/nf_tables.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAINS 20000
#define MAX_JUMP_DEPTH 14   /* kernel NFT_JUMP_STACK_SIZE is 16 */

char *flow_text(const struct flow *f)
{
	/* timeouts are brflowd's business: the kernel never sees them */
	char *t = flow_format_no_timeouts(f, NULL);
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

/* A flow's place in its table: highest priority first, then by id.  Copied
 * out of the flows, so sorting 100 000 of them reads no flow. */
struct sort_key {
	uint64_t id;
	uint16_t priority;
	const struct compile_flow *cf;
};

enum out_reg_target out_reg_target(uint32_t port)
{
	if (port == 0xfffa) /* OFPP_NORMAL */
		return OUT_REG_NORMAL;
	if (port == 0xfffb) /* OFPP_FLOOD */
		return OUT_REG_FLOOD;
	if (port >= 0xfff8)
		return OUT_REG_RESERVED;
	if (port == 0 || port > BRFLOW_MAX_OFPORT)
		return OUT_REG_NOWHERE;
	return OUT_REG_PORT;
}

static int cmp_sort_key(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* one id, several flows: a conjunction's expansion, in its order */
	return (x->cf > y->cf) - (x->cf < y->cf);
}

/* t's flows in sort_key order. */
static int sort_table(struct compiler *c, struct table_flows *t)
{
	struct sort_key *k = malloc(t->n * sizeof(*k));

	if (!k)
		return compile_oom(c);
	for (int i = 0; i < t->n; i++)
		k[i] = (struct sort_key){ t->flows[i]->id, t->flows[i]->flow->priority,
					  t->flows[i] };
	qsort(k, t->n, sizeof(*k), cmp_sort_key);
	for (int i = 0; i < t->n; i++)
		t->flows[i] = k[i].cf;
	free(k);
	return 0;
}

static int sort_tables(struct compiler *c)
{
	int n[FLOW_MAX_TABLE + 1] = { 0 };

	for (int i = 0; i < c->in->n_flows; i++)
		n[c->in->flows[i].flow->table]++;
	for (int i = 0; i <= FLOW_MAX_TABLE; i++) {
		if (!n[i])
			continue;
		c->tables[i].flows = malloc(n[i] * sizeof(*c->tables[i].flows));
		if (!c->tables[i].flows)
			return compile_oom(c);
	}
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct compile_flow *cf = &c->in->flows[i];
		struct table_flows *t = &c->tables[cf->flow->table];

		t->flows[t->n++] = cf;
	}
	for (int i = 0; i <= FLOW_MAX_TABLE; i++) {
		if (c->tables[i].n < 2)
			continue;
		if (sort_table(c, &c->tables[i]) || build_groups(c, &c->tables[i]))
			return -1;
	}
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
		if (a->type == ACT_OUTPUT && a->u.port != OFPP_LOCAL &&
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

bool uses_nat(const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_CT && f->actions[i].u.ct.nat &&
		    f->actions[i].u.ct.nat_spec.kind != NAT_EXISTING)
			return true;
	return false;
}

bool rewrites_ip_dst(const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_SET_FIELD &&
		    (f->actions[i].u.set.field == F_NW_DST ||
		     f->actions[i].u.set.field == F_IPV6_DST))
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

static bool has_exec(const struct flow *f)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_CT && f->actions[i].u.ct.n_exec)
			return true;
	return false;
}

/* The flow set's c->local, nat, dst_rewrite, dpi and exec, in one pass. */
static void scan_flows(struct compiler *c)
{
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct flow *f = c->in->flows[i].flow;

		c->local = c->local || flow_names_local(f);
		c->nat = c->nat || uses_nat(f);
		c->dst_rewrite = c->dst_rewrite || rewrites_ip_dst(f);
		c->dpi = c->dpi || uses_dpi(f);
		c->exec = c->exec || has_exec(f);
	}
	c->local = c->local || groups_name_local(c);
}

/* With DPI in the flow set, label bits 96-127 carry its results; with NAT,
 * bits 72-95 carry the nat choice (compile_nat.c). */
static int check_dpi_label_bits(struct compiler *c)
{
	bool dpi = c->dpi, nat = c->nat;
	int first;

	first = nat ? NAT_LABEL_FIRST_BIT : DPI_LABEL_USER_BITS;
	c->label_reserved[LABEL_COMMITTED_BIT / 8] |= 1u << (LABEL_COMMITTED_BIT % 8);
	for (int bit = first; (dpi || nat) && bit < 128; bit++)
		c->label_reserved[bit / 8] |= 1u << (bit % 8);
	/* only ct(exec(...)) writes labels */
	for (int i = 0; c->exec && i < c->in->n_flows; i++) {
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
	for (int i = 0; c->exec && i < c->in->n_flows; i++)
		collect_label_bits(c, c->in->flows[i].flow);
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct flow *f = c->in->flows[i].flow;

		if (check_action_support(c, f) ||
		    (c->exec && check_label_clears(c, f)))
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
	       a->ct_known == b->ct_known && a->queue == b->queue &&
	       a->nat_set == b->nat_set && a->addr_rewritten == b->addr_rewritten &&
	       a->hdr_known == b->hdr_known && a->ttl_dec == b->ttl_dec &&
	       a->hdr_unknown == b->hdr_unknown &&
	       !memcmp(a->hdr_value, b->hdr_value, sizeof(a->hdr_value)) &&
	       a->first_nat.kind == b->first_nat.kind &&
	       a->first_nat.family == b->first_nat.family &&
	       a->first_nat.single == b->first_nat.single &&
	       a->first_nat.port == b->first_nat.port &&
	       !memcmp(a->first_nat.addr, b->first_nat.addr, 16) &&
	       a->regs_unknown == b->regs_unknown &&
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
		    k->in_port == st->in_port && k->ct_known == st->ct_known)
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
	if (st->in_port == OFPP_LOCAL)
		n += snprintf(buf + n, len - n, "_plocal");
	else if (st->in_port)
		n += snprintf(buf + n, len - n, "_p%u", st->in_port);
	if (st->tracked && st->nat_view)
		n += snprintf(buf + n, len - n, "_n%u", st->nat_view);
	if (st->tracked && st->ct_known == (CS_TRK | CS_NEW))
		n += snprintf(buf + n, len - n, "_new");
	else if (st->tracked && st->ct_known)
		n += snprintf(buf + n, len - n, "_cs%02x", st->ct_known);
	if (variant)
		snprintf(buf + n, len - n, "_v%d", variant);
}

struct nir_table *table_for(struct compiler *c, const struct path_state *st)
{
	return st->l3 == L3_OTHER ? c->bridge : c->ip;
}

/* Actions that need the inet hooks: nat (the nat hooks), alg= (helpers),
 * dpi() (queueing), output:LOCAL (routed traffic). */
static bool actions_need_inet(const struct flow_action *a, int n)
{
	for (int i = 0; i < n; i++) {
		if (a[i].type == ACT_DPI ||
		    (a[i].type == ACT_CT && (a[i].u.ct.alg[0] || a[i].u.ct.nat)) ||
		    (a[i].type == ACT_OUTPUT && a[i].u.port == OFPP_LOCAL))
			return true;
	}
	return false;
}

/* Bridge-family conntrack can carry a flow set that needs nothing of the
 * inet hooks (a destination rewrite counts as NAT: its delivery is
 * br_netfilter's bridged DNAT, docs/nat.md). */
static bool bridge_ct_fits(const struct compiler *c)
{
	if (!c->in->has_bridge_ct || local_managed(c))
		return false;
	for (int i = 0; i < c->in->n_flows; i++) {
		const struct flow *f = c->in->flows[i].flow;

		if (flow_find_match(f, F_DPI_PROTO) || flow_find_match(f, F_DPI_HOST) ||
		    actions_need_inet(f->actions, f->n_actions) || rewrites_ip_dst(f))
			return false;
	}
	for (int g = 0; g < c->in->n_groups; g++)
		for (int b = 0; b < c->in->groups[g].n_buckets; b++) {
			const struct ofgroup_bucket *bk = &c->in->groups[g].buckets[b];
			struct flow pseudo = { .n_actions = bk->n_actions,
					       .actions = bk->actions };

			if (actions_need_inet(bk->actions, bk->n_actions) ||
			    rewrites_ip_dst(&pseudo))
				return false;
		}
	return true;
}

/* Compiles (once) the chain for state st; returns its name and summary. */
int compile_chain(struct compiler *c, const struct path_state *st,
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
	} else if (emit_table(c, chain_idx, st, tf, &s)) {
		return -1;
	}
	/* a packet no flow matches returns as it came */
	if (!s.no_miss)
		note_exit(&s, st);
	s.depth += 1;
	if (s.depth > MAX_JUMP_DEPTH)
		return compile_fail(c, NULL, "resubmit nesting from table %u is deeper than nftables allows (%d)",
			    st->table, MAX_JUMP_DEPTH);
	/* The wrapper for ct(table=N): compute effective ct_state, then run.
	 * A copy whose ct_state is known has no use for one. */
	if (st->tracked && st->l3 != L3_OTHER && !st->ct_known) {
		struct nir_chain *w;
		struct nir_rule *r;

		char ctstate[64];

		if (ctstate_chain_for(c, st, ctstate, sizeof(ctstate)))
			return -1;
		snprintf(wname, sizeof(wname), "ct_%s", cname);
		w = nir_add_chain(t, wname);
		if (!w || !(r = nir_add_rule(w)) || add_verdict(r, NIR_JUMP, ctstate) ||
		    !(r = nir_add_rule(w)) || add_verdict(r, NIR_GOTO, cname))
			return compile_oom(c);
	}
	c->memo[idx].done = true;
	c->memo[idx].sum = s;
	*name = c->memo[idx].name;
	*sum = s;
	return 0;
}

/* Counter objects are made for the flows that have a rule of their own in
 * a table: flows looked up in sets count in their set element. */
int need_counter(struct compiler *c, struct nir_table *t,
		 const struct compile_flow *cf)
{
	int which = t == c->bridge ? 0 : 1;
	long idx = cf - c->in->flows;
	char name[64];

	if (idx < 0 || idx >= c->in->n_flows)
		return 0;
	/* a conjunction's flows follow each other and share one counter */
	while (idx > 0 && c->in->flows[idx - 1].id == cf->id)
		idx--;
	if (!c->counted[which]) {
		c->counted[which] = calloc(c->in->n_flows + 1, 1);
		if (!c->counted[which])
			return -1;
	}
	if (c->counted[which][idx])
		return 0;
	c->counted[which][idx] = 1;
	brflow_counter_name(cf->id, name, sizeof(name));
	return nir_add_counter(t, name) ? 0 : -1;
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
	return brflow_compile_plan(in, out, NULL);
}

static char *compile_flows(const struct compile_input *in, struct nir_ruleset *out,
			   struct compile_plan **plan)
{
	struct compiler c = { .in = in, .rs = out };
	char tname[64];

	scan_flows(&c);

	brflow_table_name(in->bridge, tname, sizeof(tname));
	/* nir_add_table may move the first table: take pointers afterwards. */
	if (!nir_add_table(out, NIR_BRIDGE, tname) || !nir_add_table(out, NIR_INET, tname) ||
	    !nir_add_table(out, NIR_IP6, tname)) {
		compile_oom(&c);
	} else {
		c.bridge = &out->tables[0];
		c.inet = &out->tables[1];
		c.ip6 = &out->tables[2];
	}
	c.bridge_ct = bridge_ct_fits(&c);
	out->bridge_ct = c.bridge_ct;
	c.ip = c.bridge_ct ? c.bridge : c.inet;
	if (!c.err && !check_ports(&c) && !sort_tables(&c) && !check_flows(&c) &&
	    !build_bridge_table(&c) && !build_inet_table(&c) && !hoist_tests(&c))
		place_chains(&c);
	if (plan)
		*plan = c.err ? NULL : make_plan(&c);
	if (plan && !c.err && !*plan)
		compile_oom(&c);
	for (int i = 0; i <= FLOW_MAX_TABLE; i++) {
		free(c.tables[i].flows);
		free_groups(&c.tables[i]);
	}
	free(c.memo);
	free(c.counted[0]);
	free(c.counted[1]);
	for (int i = 0; i < c.n_records; i++)
		free(c.records[i].ref.stmts);
	free(c.records);
	if (c.err)
		nir_ruleset_free(out);
	return c.err;
}

/* An error that names a flow a conjunction expanded to names the conj_id
 * flow the user wrote instead (error path only: formats every such flow). */
static char *name_written_flow(char *err, const struct conj_expansion *x,
			       const struct compile_input *in)
{
	for (int i = 0; err && i < x->n; i++) {
		char *text, *mine, *out;
		size_t len;

		if (!x->flows[i].n_clauses)
			continue;
		text = flow_text(x->flows[i].flow);
		len = text ? strlen(text) : 0;
		if (!text || strncmp(err, "flow '", 6) || strncmp(err + 6, text, len) ||
		    strncmp(err + 6 + len, "': ", 3)) {
			free(text);
			continue;
		}
		free(text);
		mine = flow_text(in->flows[x->flows[i].from].flow);
		if (mine && asprintf(&out, "flow '%s': %s", mine, err + 6 + len + 3) >= 0) {
			free(err);
			err = out;
		}
		free(mine);
		break;
	}
	return err;
}

/* Conjunctions become ordinary flows first (rules/flow_conj.h), which
 * count in their conj_id flow's counter: they carry its id. */
char *brflow_compile_plan(const struct compile_input *in, struct nir_ruleset *out,
			  struct compile_plan **plan)
{
	struct compile_input ein = *in;
	struct conj_expansion x;
	struct compile_flow *cfs = NULL;
	const struct flow **fl;
	char *err;
	int i;

	for (i = 0; i < in->n_flows && !flow_conj_involved(in->flows[i].flow); i++)
		;
	if (i == in->n_flows)
		return compile_flows(in, out, plan);
	if (plan)
		*plan = NULL;
	fl = malloc((in->n_flows + 1) * sizeof(*fl));
	if (!fl)
		return strdup("out of memory");
	for (i = 0; i < in->n_flows; i++)
		fl[i] = in->flows[i].flow;
	err = flow_conj_expand(fl, in->n_flows, &x);
	free(fl);
	if (err)
		return err;
	cfs = malloc((x.n + 1) * sizeof(*cfs));
	if (!cfs) {
		flow_conj_free(&x);
		return strdup("out of memory");
	}
	for (i = 0; i < x.n; i++)
		cfs[i] = (struct compile_flow){ in->flows[x.flows[i].from].id,
						x.flows[i].flow };
	ein.flows = cfs;
	ein.n_flows = x.n;
	err = compile_flows(&ein, out, plan);
	err = name_written_flow(err, &x, in);
	free(cfs);
	flow_conj_free(&x);
	return err;
}
