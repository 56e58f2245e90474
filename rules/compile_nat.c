/* NAT: ct(commit,nat(src|dst=...)) in the pipeline only picks the
 * translation, by writing its index into connection label bits; the nat
 * chains (prerouting -100 for dnat, postrouting 100 for snat) read the index
 * on the connection's first packet and translate.  netfilter then keeps the
 * binding for the connection's life, which is OVS's "NAT is fixed at the
 * first commit". */
#include "compile_priv.h"

#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>

static void set_label_byte(uint8_t *label, int first_bit, uint8_t value)
{
	label[first_bit / 8] |= value;
}

/* The bridge's tag keeps two bridges' nat indexes apart: the nat chains of
 * every bridge see every connection. */
static uint8_t bridge_tag(const struct compiler *c)
{
	return c->in->nat_tag ? c->in->nat_tag : 1;
}

int nat_label_bits(struct compiler *c, const struct action_nat *n, uint8_t *label)
{
	struct action_nat *list = n->kind == NAT_DST ? c->dnat : c->snat;
	int *count = n->kind == NAT_DST ? &c->n_dnat : &c->n_snat;
	int i;

	for (i = 0; i < *count; i++)
		if (flow_same_nat(&list[i], n))
			break;
	if (i == *count) {
		if (*count >= NAT_MAX_RULES)
			return -1;
		list[(*count)++] = *n;
	}
	set_label_byte(label, NAT_LABEL_TAG_SHIFT, bridge_tag(c));
	set_label_byte(label, n->kind == NAT_DST ? NAT_LABEL_DNAT_SHIFT :
		       NAT_LABEL_SNAT_SHIFT, i + 1);
	return 0;
}

/* OVS's flags as netfilter range flags: hash -> PROTO_RANDOM (a keyed hash
 * picks the port), random -> PROTO_RANDOM_FULLY, persistent -> PERSISTENT. */
static uint32_t range_flags(const struct action_nat *n)
{
	return (n->hash ? NF_NAT_RANGE_PROTO_RANDOM : 0) |
	       (n->random ? NF_NAT_RANGE_PROTO_RANDOM_FULLY : 0) |
	       (n->persistent ? NF_NAT_RANGE_PERSISTENT : 0);
}

static int add_nat_rule(struct compiler *c, struct nir_chain *ch,
			const struct action_nat *n, int index)
{
	uint8_t mask[16] = { 0 }, value[16] = { 0 };
	int shift = n->kind == NAT_DST ? NAT_LABEL_DNAT_SHIFT : NAT_LABEL_SNAT_SHIFT;
	struct nir_rule *r = nir_add_rule(ch);
	struct nir_stmt *s;

	mask[NAT_LABEL_TAG_SHIFT / 8] = 0xff;
	mask[shift / 8] = 0xff;
	value[NAT_LABEL_TAG_SHIFT / 8] = bridge_tag(c);
	value[shift / 8] = index;
	if (!r || add_label_match(r, mask, value) || !(s = nir_add_stmt(r, NIR_NAT)))
		return compile_oom(c);
	s->u.nat.snat = n->kind == NAT_SRC;
	s->u.nat.family = n->family;
	memcpy(s->u.nat.addr_min, n->addr_min, 16);
	memcpy(s->u.nat.addr_max, n->addr_max, 16);
	s->u.nat.port_min = n->port_min;
	s->u.nat.port_max = n->port_max;
	s->u.nat.flags = range_flags(n);
	return 0;
}

static int nat_chain(struct compiler *c, const char *name, enum nir_hook hook,
		     int prio, const struct action_nat *list, int count)
{
	struct nir_chain *ch;

	if (!count)
		return 0;
	ch = nir_add_chain(c->inet, name);
	if (!ch)
		return compile_oom(c);
	ch->hook = hook;
	ch->priority = prio;
	ch->nat_type = true;
	for (int i = 0; i < count; i++)
		if (add_nat_rule(c, &c->inet->chains[c->inet->n_chains - 1], &list[i], i + 1))
			return -1;
	return 0;
}

int build_nat_chains(struct compiler *c)
{
	if (nat_chain(c, "nat_dst", NIR_HOOK_PREROUTING, -100, c->dnat, c->n_dnat) ||
	    nat_chain(c, "nat_src", NIR_HOOK_POSTROUTING, 100, c->snat, c->n_snat))
		return -1;
	return 0;
}
