/* The flowtable fast path (src/offload.h).
 *
 * One inet table per namespace, "brflowd_offload", rebuilt with every
 * change of any bridge:
 *
 *   flowtable ft    { hook ingress; devices = ports of offload=on bridges }
 *   flowtable ft_hw { ...; devices = ports of offload=hw bridges; flags offload }
 *   chain forward (inet forward, priority 10, after the bridges' local_fwd):
 *     bridged packets (see build_forward) are not routed: accept;
 *   chain routed:
 *     not committed by brflow (ct mark bit 31), or not established: accept;
 *     iifname @sw oifname @sw meta l4proto tcp|udp: flow add @ft
 *     (likewise @hw / @ft_hw).
 *
 * The flowtables hook the bridges' ports, so forward-path discovery
 * (Linux 5.13+) resolves a routed connection through both bridges to the
 * ports it uses, and its packets are forwarded from port to port at
 * ingress, skipping the bridges, every rule chain and conntrack's own
 * hooks.  Only routed traffic between brflow bridges is offloaded: the
 * kernels we know have no flowtable for bridged (layer 2) flows, and
 * brflowd probes for one (nft_features.bridge_flowtable).  A connection
 * between an offload=on and an offload=hw bridge stays in the chains. */
#include "offload.h"

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state.h"

static const char *const names[] = {
	[OFFLOAD_OFF] = "off", [OFFLOAD_ON] = "on", [OFFLOAD_HW] = "hw",
};

int offload_effective(int mode, const struct nft_features *f)
{
	if (mode != OFFLOAD_DEFAULT)
		return mode;
	return f->flowtable ? OFFLOAD_ON : OFFLOAD_OFF;
}

const char *offload_name(int mode, const struct nft_features *f)
{
	return names[offload_effective(mode, f)];
}

int offload_parse(const char *s)
{
	for (int m = OFFLOAD_OFF; m <= OFFLOAD_HW; m++)
		if (!strcmp(s, names[m]))
			return m;
	return -1;
}

char *offload_check(int mode, const struct nft_features *f)
{
	char *msg;

	if (mode == OFFLOAD_OFF || mode == OFFLOAD_DEFAULT || f->flowtable)
		return NULL;
	if (asprintf(&msg, "offload=%s: the kernel lacks nf_flow_table (flowtables)",
		     names[mode]) < 0)
		return NULL;
	return msg;
}

/* The bridge 'st' has under b's name, as it will be after the change. */
static const struct st_bridge *current(const struct st_bridge *b,
				       const struct st_bridge *nb)
{
	return nb && !strcmp(b->name, nb->name) ? nb : b;
}

/* Adds bridge b to the map and flowtable of its mode. */
static int add_bridge(struct nir_table *t, const struct st_bridge *b, int mode)
{
	struct nir_map *m = &t->maps[mode == OFFLOAD_HW];
	struct nir_flowtable *ft = &t->flowtables[mode == OFFLOAD_HW];

	if (nir_map_add(m, b->name, 0))
		return -1;
	for (int i = 0; i < b->n_ports; i++)
		if (nir_flowtable_add_dev(ft, b->ports[i].ifname))
			return -1;
	return 0;
}

static struct nir_stmt *match(struct nir_rule *r, enum nir_src_kind kind,
			      uint32_t key, const char *name, int len)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

	if (!s)
		return NULL;
	s->u.match.src = (struct nir_src){ .kind = kind, .key = key, .len = len,
					   .name = name, .fmt = NIR_FMT_HEX };
	s->u.match.value.len = s->u.match.mask.len = len;
	return s;
}

/* "KIND & bit == value: accept" (or goto chain 'to') */
static int mask_rule(struct nir_chain *ch, enum nir_src_kind kind, uint32_t key,
		     const char *name, uint32_t bit, uint32_t value, const char *to)
{
	struct nir_rule *r = nir_add_rule(ch);
	struct nir_stmt *s;

	if (!r || !(s = match(r, kind, key, name, 4)))
		return -1;
	s->u.match.has_mask = true;
	memcpy(s->u.match.mask.data, &bit, 4);
	memcpy(s->u.match.value.data, &value, 4);
	/* adding a statement may move r->stmts: s is done with */
	s = nir_add_stmt(r, NIR_VERDICT);
	if (!s)
		return -1;
	s->u.verdict.code = to ? NIR_GOTO : NIR_ACCEPT;
	if (to)
		snprintf(s->u.verdict.chain, sizeof(s->u.verdict.chain), "%s", to);
	return 0;
}

static int lookup(struct nir_rule *r, bool out, const char *set)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_SET_LOOKUP);

	if (!s)
		return -1;
	s->u.map.src = (struct nir_src){ .kind = NIR_SRC_META,
		.key = out ? NFT_META_OIFNAME : NFT_META_IIFNAME, .len = 16,
		.name = out ? "oifname" : "iifname", .fmt = NIR_FMT_IFNAME };
	snprintf(s->u.map.set_name, sizeof(s->u.map.set_name), "%s", set);
	return 0;
}

/* iifname @set oifname @set meta l4proto P flow add @ft */
static int offload_rule(struct nir_chain *ch, const char *set, const char *ft,
			uint8_t l4proto)
{
	struct nir_rule *r = nir_add_rule(ch);
	struct nir_stmt *s;

	if (!r || lookup(r, false, set) || lookup(r, true, set) ||
	    !(s = match(r, NIR_SRC_META, NFT_META_L4PROTO, "meta l4proto", 1)))
		return -1;
	s->u.match.src.fmt = NIR_FMT_DEC;
	s->u.match.value.data[0] = l4proto;
	if (!(s = nir_add_stmt(r, NIR_FLOW_OFFLOAD)))
		return -1;
	snprintf(s->u.flowtable, sizeof(s->u.flowtable), "%s", ft);
	return 0;
}

/* forward: which packets are routed.  br_netfilter runs inet forward for
 * bridged packets too; they carry mark bit 31 from their port.  A routed
 * packet lost it at the bridge's input (enforce_in), unless the bridge it
 * is routed into manages LOCAL: its local_fwd chain (priority -150) then
 * marked it in_port=LOCAL. */
static int build_forward(struct nir_table *t)
{
	struct nir_chain *ch = nir_add_chain(t, "forward");
	struct nir_rule *r;
	struct nir_stmt *v;

	if (!ch)
		return -1;
	ch->hook = NIR_HOOK_FORWARD;
	ch->priority = 10;
	if (mask_rule(ch, NIR_SRC_META, NFT_META_MARK, "meta mark", 0x80000fffu,
		      0x80000ffeu, "routed") ||
	    mask_rule(ch, NIR_SRC_META, NFT_META_MARK, "meta mark", 0x80000000u,
		      0x80000000u, NULL))
		return -1;
	r = nir_add_rule(ch);
	if (!r || !(v = nir_add_stmt(r, NIR_VERDICT)))
		return -1;
	v->u.verdict.code = NIR_GOTO;
	snprintf(v->u.verdict.chain, sizeof(v->u.verdict.chain), "routed");
	return 0;
}

/* routed: committed by brflow and established, between two bridges of
 * the same mode: into their flowtable. */
static int build_routed(struct nir_table *t)
{
	static const char *const sets[] = { "sw", "hw" }, *const fts[] = { "ft", "ft_hw" };
	struct nir_chain *ch = nir_add_chain(t, "routed");

	if (!ch ||
	    mask_rule(ch, NIR_SRC_CT, NFT_CT_MARK, "ct mark", 0x80000000u, 0, NULL) ||
	    mask_rule(ch, NIR_SRC_CT, NFT_CT_STATE, "ct state",
		      NF_CT_STATE_BIT(IP_CT_ESTABLISHED), 0, NULL))
		return -1;
	for (int i = 0; i < 2; i++) {
		if (!t->flowtables[i].n_devs)
			continue;
		if (offload_rule(ch, sets[i], fts[i], 6) || offload_rule(ch, sets[i], fts[i], 17))
			return -1;
	}
	return 0;
}

static int build_chain(struct nir_table *t)
{
	/* regular chains first: base chains jump to them */
	return build_routed(t) || build_forward(t) ? -1 : 0;
}

/* The whole table from the bridges' settings; a bridge named 'gone' is
 * left out. */
static int build_table(struct nir_ruleset *rs, const struct st_state *st,
		       const struct st_bridge *nb, const char *gone)
{
	struct nir_table *t = nir_add_table(rs, NIR_INET, OFFLOAD_TABLE);
	bool nb_seen = false;

	if (!t || !nir_add_map(t, "sw") || !nir_add_map(t, "hw") ||
	    !nir_add_flowtable(t, "ft") || !nir_add_flowtable(t, "ft_hw"))
		return -1;
	t->maps[0].is_set = t->maps[1].is_set = true;
	t->flowtables[1].hw = true;
	for (int i = 0; i <= st->n_bridges; i++) {
		const struct st_bridge *b = i < st->n_bridges ? current(st->bridges[i], nb) : nb;
		int mode;

		if (!b || (i == st->n_bridges && nb_seen) || (gone && !strcmp(b->name, gone)))
			continue;
		nb_seen |= b == nb;
		mode = offload_effective(b->offload, &st->features);
		if (mode != OFFLOAD_OFF && add_bridge(t, b, mode))
			return -1;
	}
	if (build_chain(t))
		return -1;
	/* a flowtable without devices is of no use: leave it out */
	for (int i = t->n_flowtables - 1; i >= 0; i--) {
		if (t->flowtables[i].n_devs)
			continue;
		free(t->flowtables[i].devs);
		memmove(&t->flowtables[i], &t->flowtables[i + 1],
			(t->n_flowtables - i - 1) * sizeof(t->flowtables[0]));
		t->n_flowtables--;
	}
	return 0;
}

int offload_apply(const struct st_state *st, const struct st_bridge *nb,
		  const char *gone, char *err, size_t errlen)
{
	struct nir_ruleset rs = { 0 };
	int ret;

	if (!st->features.flowtable)
		return 0;
	if (build_table(&rs, st, nb, gone)) {
		nir_ruleset_free(&rs);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = nft_apply(&rs, err, errlen);
	nir_ruleset_free(&rs);
	return ret;
}

void offload_after_change(const struct st_state *st)
{
	char err[512] = "";

	if (offload_apply(st, NULL, NULL, err, sizeof(err)))
		log_warn("offload table: %s", err);
}
