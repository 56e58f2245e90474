/* The LOCAL port: the bridge device, the host's own network stack.
 *
 * Once a flow names LOCAL (in_port=LOCAL or output:LOCAL), the bridge's
 * flows decide the host's traffic too:
 * - a packet from a port goes up to the host only if its pipeline chose
 *   output:LOCAL or normal (bridge input hook, chain "enforce_in", which
 *   for every bridge clears mark bit 31 of what goes up);
 * - an IP packet the host sends into the bridge (its own, or one it routes
 *   from elsewhere, e.g. from another brflow bridge) runs the pipeline with
 *   in_port=LOCAL (inet output and forward hooks, oif = the bridge), and the
 *   bridge lets it out only by the port chosen (bridge output hook,
 *   "enforce_local");
 * Bridges whose flows never name LOCAL leave the host alone, as before.
 * On every bridge, packets for the host stay tracked even when their path
 * has no ct(), so that the bridge they are routed to next sees their
 * connection.
 * See docs/design.md, "The LOCAL port". */
#include "compile_priv.h"
#include "dpi.h"

#include <linux/netfilter/nf_tables.h>
#include <string.h>

static bool actions_use_local(const struct flow_action *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].type == ACT_OUTPUT && a[i].u.port == OFPP_LOCAL)
			return true;
	return false;
}

bool local_managed(const struct compiler *c)
{
	return c->local;
}

bool flow_names_local(const struct flow *f)
{
	const struct flow_match *m = flow_find_match(f, F_IN_PORT);

	return (m && be_uint(m->value, 2) == OFPP_LOCAL) ||
	       actions_use_local(f->actions, f->n_actions);
}

bool groups_name_local(const struct compiler *c)
{
	for (int g = 0; g < c->in->n_groups; g++)
		for (int b = 0; b < c->in->groups[g].n_buckets; b++)
			if (actions_use_local(c->in->groups[g].buckets[b].actions,
					      c->in->groups[g].buckets[b].n_actions))
				return true;
	return false;
}

uint32_t port_mark(uint32_t ofport)
{
	return ofport == OFPP_LOCAL ? MARK_LOCAL : ofport;
}

int ifname_match(struct nir_rule *r, uint32_t key, const char *name,
			const char *ifname, bool negate)
{
	char buf[16] = { 0 };

	memcpy(buf, ifname, strnlen(ifname, sizeof(buf) - 1));
	return add_meta_match(r, key, name, NIR_FMT_IFNAME, buf, 16, negate);
}

/* A first rule: "not from/to this bridge: none of our business". */
static int add_other_dev_accept(struct compiler *c, struct nir_chain *ch, bool out)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || ifname_match(r, out ? NFT_META_OIFNAME : NFT_META_IIFNAME,
			       out ? "oifname" : "iifname", c->in->bridge, true) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

/* Every brflow bridge's inet chains see every bridge's packets (the inet
 * hooks are per namespace, and br_netfilter gives them the bridge device
 * as iif): a packet from another bridge's port is not this bridge's. */
int add_bridge_iif_accept(struct compiler *c, struct nir_chain *ch)
{
	return add_other_dev_accept(c, ch, false);
}

/* Likewise the bridge family's hooks, where "meta ibrname" would say it
 * but needs nft_meta_bridge, which not every kernel has: a packet neither
 * from ('in') nor to ('out') one of this bridge's ports is another
 * bridge's; accept it.  Without 'negate': to or from one of its ports. */
int add_port_lookup(struct nir_rule *r, bool out, bool negate)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_SET_LOOKUP);

	if (!s)
		return -1;
	s->u.map.src = (struct nir_src){ .kind = NIR_SRC_META,
		.key = out ? NFT_META_OIFNAME : NFT_META_IIFNAME, .len = 16,
		.name = out ? "oifname" : "iifname", .fmt = NIR_FMT_IFNAME };
	snprintf(s->u.map.set_name, sizeof(s->u.map.set_name), "portnames");
	s->u.map.negate = negate;
	return 0;
}

/* The set "outports" of what may leave by each port, keyed "oifname .
 * meta mark & (MARK_OURS | MARK_OUT)": the port's name and its own
 * number as the output the pipeline chose.  Its index in the bridge table. */
static int out_port_set(struct compiler *c)
{
	static const struct nir_src oifname = { .kind = NIR_SRC_META,
		.key = NFT_META_OIFNAME, .len = 16, .name = "oifname",
		.fmt = NIR_FMT_IFNAME };
	static const struct nir_src mark = { .kind = NIR_SRC_META,
		.key = NFT_META_MARK, .len = 4, .name = "meta mark",
		.fmt = NIR_FMT_HEX };
	const uint32_t mask_bits = MARK_OURS | MARK_OUT;
	struct nir_value mask = { .len = 4 };
	struct nir_set *set = nir_find_set(c->bridge, "outports");

	if (set)
		return (int)(set - c->bridge->sets);
	memcpy(mask.data, &mask_bits, 4);
	set = nir_add_set(c->bridge, "outports");
	if (!set || nir_set_add_field(set, &oifname, NULL) ||
	    nir_set_add_field(set, &mark, &mask))
		return compile_oom(c);
	for (int i = 0; i < c->in->n_ports; i++) {
		const struct compile_port *p = &c->in->ports[i];
		uint32_t out = MARK_OURS | (uint32_t)p->ofport << MARK_OUT_SHIFT;
		struct nir_set_elem *e = nir_set_add_elem(set);

		if (!e)
			return compile_oom(c);
		memcpy(e->key, p->ifname, strnlen(p->ifname, sizeof(p->ifname)));
		memcpy(e->key + 16, &out, 4);
	}
	return c->bridge->n_sets - 1;
}

/* "A packet from a port leaves by the port its pipeline chose: accept", in
 * one lookup whatever the number of ports; nothing without ports. */
int add_out_port_accept(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r;
	struct nir_stmt *s;
	int set;

	if (!c->in->n_ports)
		return 0;
	if ((set = out_port_set(c)) < 0)
		return -1;
	if (!(r = rule_in(c, ch)) || !(s = nir_add_stmt(r, NIR_LOOKUP)))
		return compile_oom(c);
	s->u.lookup.set = set;  /* before add_verdict moves the statements */
	return add_verdict(r, NIR_ACCEPT, NULL) ? compile_oom(c) : 0;
}

/* The ports' names as a plain set: a lookup without a result register
 * in a map is refused by older kernels (6.1). */
int add_port_name_set(struct compiler *c)
{
	struct nir_map *set = nir_add_map(c->bridge, "portnames");

	if (!set)
		return compile_oom(c);
	set->is_set = true;
	for (int i = 0; i < c->in->n_ports; i++)
		if (nir_map_add(set, c->in->ports[i].ifname, 0))
			return compile_oom(c);
	return 0;
}

int add_other_bridge_accept(struct compiler *c, struct nir_chain *ch, bool in, bool out)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || (in && add_port_lookup(r, false, true)) ||
	    (out && add_port_lookup(r, true, true)) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

static int mark_rule(struct compiler *c, struct nir_chain *ch, uint32_t mask,
		     uint32_t value, enum nir_verdict v)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_mark_match(r, mask, value) || add_verdict(r, v, NULL))
		return compile_oom(c);
	return 0;
}

/* A last rule "drop". */
static int drop_rule(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_verdict(r, NIR_DROP, NULL))
		return compile_oom(c);
	return 0;
}

/* "mark & mask == value: forget the packet came from a port, accept" */
static int to_host_rule(struct compiler *c, struct nir_chain *ch, uint32_t mask,
			uint32_t value)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || (mask && add_mark_match(r, mask, value)) ||
	    add_mark_set(r, NIR_META_MARK, ~MARK_OURS, 0) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

/* bridge input.  A packet going up to the host loses bit 31: if the host
 * routes it into a bridge, inet forward tells it from a bridged packet
 * (which keeps the bit) by that.  With LOCAL managed, a packet from a port
 * reaches the host only if its pipeline chose LOCAL or normal (the bridge
 * delivers it up only when it is addressed to the bridge, or is
 * broadcast/multicast). */
static int build_enforce_in(struct compiler *c)
{
	struct nir_chain *ch = base_chain(c, c->bridge, "enforce_in", NIR_HOOK_INPUT, 100);

	if (!ch || add_other_bridge_accept(c, ch, true, false))
		return -1;
	/* LOCAL set to no-forward (mod-port): nothing goes up */
	if (c->in->local_config & PORT_CONFIG_NO_FWD)
		return drop_rule(c, ch);
	if (!local_managed(c))
		return to_host_rule(c, ch, 0, 0);
	if (to_host_rule(c, ch, MARK_OURS | MARK_OUT, MARK_OURS | MARK_LOCAL << MARK_OUT_SHIFT) ||
	    to_host_rule(c, ch, MARK_OURS | MARK_OUT, MARK_OURS | OUT_NORMAL << MARK_OUT_SHIFT) ||
	    /* dpi(fail=open) with no handler: as in "enforce" */
	    to_host_rule(c, ch, MARK_OURS | MARK_OUT | DPI_MARK_WANT | DPI_MARK_SEEN,
			 MARK_OURS | DPI_MARK_WANT))
		return -1;
	return mark_rule(c, ch, MARK_OURS, MARK_OURS, NIR_DROP);
}

/* bridge output: what the host sends (or routes into the bridge) never
 * leaves by a port set to no-forward, nor at all with LOCAL set to
 * no-receive; with LOCAL managed, it leaves only by the port the
 * in_port=LOCAL pipeline chose.  Non-IP frames from the host (ARP) are not
 * classified and pass. */
static int build_enforce_local(struct compiler *c)
{
	struct nir_chain *ch = base_chain(c, c->bridge, "enforce_local", NIR_HOOK_OUTPUT, 100);
	struct nir_rule *r;

	if (!ch || add_port_config_drops(c, ch, PORT_CONFIG_NO_FWD, true))
		return -1;
	if (!local_managed(c) && !(c->in->local_config & PORT_CONFIG_NO_RECV))
		return 0;
	if (add_other_bridge_accept(c, ch, false, true))
		return -1;
	if (c->in->local_config & PORT_CONFIG_NO_RECV)
		return drop_rule(c, ch);
	if (!(r = rule_in(c, ch)) ||
	    add_mark_match(r, MARK_OURS | MARK_IN_PORT, MARK_OURS | MARK_LOCAL))
		return compile_oom(c);
	r->stmts[r->n_stmts - 1].u.match.negate = true;
	if (add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	if (mark_rule(c, ch, MARK_OUT, OUT_NORMAL << MARK_OUT_SHIFT, NIR_ACCEPT) ||
	    add_out_port_accept(c, ch))
		return -1;
	return drop_rule(c, ch);
}

int build_local_bridge(struct compiler *c)
{
	if (build_enforce_in(c))
		return -1;
	return local_managed(c) || any_port_config(c, PORT_CONFIG_NO_FWD) ||
	       c->in->local_config & PORT_CONFIG_NO_RECV ? build_enforce_local(c) : 0;
}

/* Jumps into table 0's in_port=LOCAL copy for each IP version. */
static int add_local_entries(struct compiler *c, const char *base, enum pass pass)
{
	for (int v6 = 0; v6 < 2; v6++) {
		struct path_state st = { .pass = pass, .l3 = v6 ? L3_IP6 : L3_IP4,
					 .zone_seen = ZONE_NONE, .in_port = OFPP_LOCAL };
		uint8_t nfproto = v6 ? 10 : 2;
		struct chain_summary sum;
		const char *name;
		struct nir_rule *r;

		if (compile_chain(c, &st, &name, &sum))
			return -1;
		/* compiling may have moved the table's chains */
		r = rule_in(c, nir_find_chain(c->inet, base));
		if (!r || add_meta_match(r, NFT_META_NFPROTO, "meta nfproto", NIR_FMT_DEC,
				     &nfproto, 1, false) ||
		    add_verdict(r, NIR_JUMP, name))
			return compile_oom(c);
	}
	return 0;
}

/* The packet enters the pipeline from LOCAL: in_port=LOCAL, nothing else
 * of another bridge's marks survives. */
static int add_local_mark(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_mark_set(r, NIR_META_MARK, 0, MARK_OURS | MARK_LOCAL))
		return compile_oom(c);
	return 0;
}

static int add_local_decision(struct compiler *c, struct nir_chain *ch)
{
	if (mark_rule(c, ch, MARK_OUT, 0, NIR_DROP))
		return -1;
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

/* The host's own packets: pre-pass before conntrack (zone or notrack),
 * then the pipeline. */
static int build_local_output(struct compiler *c)
{
	struct nir_chain *pre, *main;
	struct nir_rule *r;

	pre = base_chain(c, c->inet, "local_prepass", NIR_HOOK_OUTPUT, -300);
	if (!pre || add_other_dev_accept(c, pre, true) || add_local_mark(c, pre) ||
	    add_local_entries(c, "local_prepass", PASS_PRE))
		return -1;
	pre = nir_find_chain(c->inet, "local_prepass");
	if (!(r = rule_in(c, pre)) || !nir_add_stmt(r, NIR_NOTRACK) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	main = base_chain(c, c->inet, "local_out", NIR_HOOK_OUTPUT, -150);
	if (!main || add_other_dev_accept(c, main, true) ||
	    add_local_entries(c, "local_out", PASS_MAIN))
		return -1;
	return add_local_decision(c, nir_find_chain(c->inet, "local_out"));
}

/* Packets the host routes into the bridge: already tracked where they
 * entered the host, so only the main pass runs. */
static int build_local_forward(struct compiler *c)
{
	struct nir_chain *ch = base_chain(c, c->inet, "local_fwd", NIR_HOOK_FORWARD, -150);

	/* the bridge's own forwarding, through br_netfilter (oif is the
	 * bridge there too): bit 31 still set, judged in prerouting */
	if (!ch || add_other_dev_accept(c, ch, true) ||
	    mark_rule(c, ch, MARK_OURS, MARK_OURS, NIR_ACCEPT) || add_local_mark(c, ch) ||
	    add_local_entries(c, "local_fwd", PASS_MAIN))
		return -1;
	return add_local_decision(c, nir_find_chain(c->inet, "local_fwd"));
}

int build_local_inet(struct compiler *c)
{
	if (!local_managed(c))
		return 0;
	return build_local_output(c) || build_local_forward(c) ? -1 : 0;
}

/* Before the pre-pass's final notrack: a packet addressed to the bridge
 * itself stays tracked (zone 0), as the host would track it, so that the
 * bridge it is routed to next finds its connection (whether or not either
 * bridge manages LOCAL). */
int add_local_prepass_track(struct compiler *c, struct nir_chain *pre)
{
	static const uint8_t zero[6];
	struct nir_rule *r;

	if (!memcmp(c->in->bridge_mac, zero, 6))
		return 0;
	if (!(r = rule_in(c, pre)) || add_bridge_mac_match(c, r) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

/* The ctstate chain a tracked copy's wrapper calls.  A packet routed in
 * from another bridge was tracked there, in that bridge's zone, and is not
 * looked up again: a ct(zone=Z) on the in_port=LOCAL path that does not
 * name the zone it was tracked in sees it +trk+inv. */
int ctstate_chain_for(struct compiler *c, const struct path_state *st,
		      char *buf, size_t len)
{
	struct nir_chain *ch;
	struct nir_rule *r;

	if (st->in_port != OFPP_LOCAL || st->pass != PASS_MAIN) {
		snprintf(buf, len, "ctstate");
		return 0;
	}
	snprintf(buf, len, "ctstate_local_z%u", st->ctx_zone);
	if (nir_find_chain(c->inet, buf))
		return 0;
	ch = nir_add_chain(c->inet, buf);
	if (!ch || !(r = rule_in(c, ch)) ||
	    add_ct_key_match(r, NFT_CT_ZONE, "ct zone", NIR_FMT_DEC, 2, NULL, st->ctx_zone) ||
	    add_mark_set(r, NIR_META_MARK, ~MARK_CS_ALL, MARK_CS_INV) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	r->stmts[0].u.match.negate = true;
	if (!(r = rule_in(c, ch)) || add_verdict(r, NIR_GOTO, "ctstate"))
		return compile_oom(c);
	return 0;
}
