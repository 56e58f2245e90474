/* The compiler's fixed chains: port classification and output enforcement
 * in the bridge table, the base chains of the inet table (pre-pass,
 * pipeline, decision), and the ctstate chains that turn netfilter's state
 * and brflow's committed bits into OVS's ct_state flags. */
#include "compile_priv.h"
#include "dpi.h"

#include <linux/netfilter/nf_tables.h>
#include <string.h>

struct nir_rule *rule_in(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r = ch ? nir_add_rule(ch) : NULL;

	if (!r)
		compile_oom(c);
	return r;
}

int add_meta_match(struct nir_rule *r, uint32_t key, const char *name,
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
int add_decision(struct compiler *c, struct nir_chain *ch)
{
	struct nir_rule *r = rule_in(c, ch);

	if (!r || add_mark_match(r, MARK_OUT, 0) || add_verdict(r, NIR_DROP, NULL))
		return compile_oom(c);
	r = rule_in(c, ch);
	if (!r || add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	return 0;
}

struct nir_chain *base_chain(struct compiler *c, struct nir_table *t,
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
/* Whether chain ch accepts every packet in its first rule. */
static bool accepts_outright(const struct nir_chain *ch)
{
	const struct nir_rule *r = ch && ch->n_rules ? &ch->rules[0] : NULL;

	return r && r->n_stmts == 1 && r->stmts[0].kind == NIR_VERDICT &&
	       r->stmts[0].u.verdict.code == NIR_ACCEPT;
}

/* A rule "<IP family> accept" (what add_entry puts first). */
static bool is_family_accept(const struct nir_rule *r)
{
	const struct nir_src *src;

	if (r->n_stmts != 2 || r->stmts[0].kind != NIR_MATCH)
		return false;
	src = &r->stmts[0].u.match.src;
	return src->kind == NIR_SRC_META &&
	       (src->key == NFT_META_NFPROTO || src->key == NFT_META_PROTOCOL) &&
	       r->stmts[1].kind == NIR_VERDICT &&
	       r->stmts[1].u.verdict.code == NIR_ACCEPT;
}

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
	/* A pre-pass that lets the whole family through as it is (tracked in
	 * zone 0) is decided first in the base chain, before its tests of
	 * whose packet it is: every packet of that family, established ones
	 * above all, then meets one rule instead of four and a jump. */
	if (pass == PASS_PRE && l3 != L3_OTHER &&
	    accepts_outright(nir_find_chain(table_for(c, &st), name))) {
		int at = 0;

		/* after the families already decided so (IPv4 first) */
		while (at < ch->n_rules - 1 && is_family_accept(&ch->rules[at]))
			at++;
		memmove(&ch->rules[at + 1], &ch->rules[at],
			(ch->n_rules - 1 - at) * sizeof(*r));
		r = &ch->rules[at];
		memset(r, 0, sizeof(*r));
		if (add_l3_match(c, r, l3))
			return compile_oom(c);
		return add_verdict(r, NIR_ACCEPT, NULL) ? compile_oom(c) : 0;
	}
	if (l3 != L3_OTHER && add_l3_match(c, r, l3))
		return compile_oom(c);
	return add_verdict(r, NIR_JUMP, name) ? compile_oom(c) : 0;
}

/* The effective ct_state of OVS, from netfilter's state plus the committed
 * bit: an uncommitted connection looks new (non-TCP, or a TCP SYN) or
 * invalid (any other TCP packet), as if netfilter had never kept it. */
/* One ct-key compare (mask NULL: exact), host-endian like the kernel's
 * registers for these keys. */
int add_ct_key_match(struct nir_rule *r, uint32_t key, const char *name,
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

/* "this TCP packet is a bare SYN" (of a new connection: netfilter's "new"
 * is the original direction already) */
int add_tcp_bare_syn_match(struct nir_rule *r, bool not_syn)
{
	static const uint8_t syn_only[2] = { 0x00, 0x02 }, flag_mask[2] = { 0x00, 0x17 };
	uint8_t tcp = 6;
	struct nir_stmt *s;

	if (add_meta_match(r, NFT_META_L4PROTO, "meta l4proto", NIR_FMT_DEC, &tcp, 1, false))
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
	s->u.match.negate = not_syn;
	return 0;
}

/* "this TCP packet is a bare SYN in the original direction" */
static int add_tcp_syn_match(struct nir_rule *r)
{
	return add_tcp_bare_syn_match(r, false) ||
	       add_ct_key_match(r, NFT_CT_DIRECTION, "ct direction", NIR_FMT_CTDIR, 1, NULL, 0);
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
	struct nir_chain *ch = nir_add_chain(c->ip, "ctstate_committed");
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
	struct nir_chain *ch = nir_add_chain(c->ip, "ctstate_expected");
	struct nir_rule *r;

	bit[LABEL_COMMITTED_BIT / 8] = 1u << (LABEL_COMMITTED_BIT % 8);
	if (!ch || !(r = rule_in(c, ch)) || add_label_match(r, bit, bit) ||
	    add_verdict(r, NIR_GOTO, "ctstate_committed"))
		return compile_oom(c);
	if (add_flag_rule(c, nir_find_chain(c->ip, "ctstate_expected"), 4, MARK_CS_REL, false))
		return -1;
	if (!(r = rule_in(c, nir_find_chain(c->ip, "ctstate_expected"))) ||
	    add_verdict(r, NIR_GOTO, "ctstate_uncommitted"))
		return compile_oom(c);
	return 0;
}

/* An uncommitted connection's flags, as OVS sees them: a TCP packet other
 * than a bare SYN in the original direction is +inv (OVS tracks TCP from
 * its SYN), anything else +new.  The rules keep the mark bits 'keep' and
 * set their flag.  'new_only': only packets netfilter calls new come here,
 * and those are in the original direction already. */
static int build_uncommitted(struct compiler *c, const char *name, uint32_t keep,
			     bool new_only)
{
	struct nir_chain *ch = nir_add_chain(c->ip, name);
	struct nir_rule *r;
	uint8_t tcp = 6;

	if (!ch || !(r = rule_in(c, ch)) ||
	    (new_only ? add_tcp_bare_syn_match(r, false) : add_tcp_syn_match(r)) ||
	    add_mark_set(r, NIR_META_MARK, keep, MARK_CS_NEW) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	if (!(r = rule_in(c, ch)) ||
	    add_meta_match(r, NFT_META_L4PROTO, "meta l4proto", NIR_FMT_DEC, &tcp, 1, false) ||
	    add_mark_set(r, NIR_META_MARK, keep, MARK_CS_INV) ||
	    add_verdict(r, NIR_RETURN, NULL))
		return compile_oom(c);
	if (!(r = rule_in(c, ch)) || add_mark_set(r, NIR_META_MARK, keep, MARK_CS_NEW))
		return compile_oom(c);
	return 0;
}

static int build_ctstate(struct compiler *c)
{
	static const uint32_t committed_bit = CT_COMMITTED;
	static const uint32_t expected_bit = 1; /* IPS_EXPECTED */
	struct nir_chain *ch = nir_add_chain(c->ip, "ctstate");
	struct nir_rule *r;

	/* The first packets of a connection are most of what walks the
	 * tables (the early decision takes established ones): netfilter's
	 * "new" (original direction, not from an expectation, neither invalid
	 * nor untracked) and not committed goes straight to the chain that
	 * sets its flags, past the four tests below. */
	if (!ch || !(r = rule_in(c, ch)) || add_ct_state_match(r, 8, false) ||
	    add_ct_key_match(r, NFT_CT_MARK, "ct mark", NIR_FMT_HEX, 4, &committed_bit, 0) ||
	    add_verdict(r, NIR_GOTO, "ctstate_new"))
		return compile_oom(c);
	if (!(r = rule_in(c, ch)) || add_mark_set(r, NIR_META_MARK, ~MARK_CS_ALL, 0))
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
	if (build_ctstate_committed(c) || build_ctstate_expected(c) ||
	    build_uncommitted(c, "ctstate_uncommitted", 0xffffffffu, false))
		return -1;
	return build_uncommitted(c, "ctstate_new", ~MARK_CS_ALL, true);
}

bool any_port_config(const struct compiler *c, uint32_t bit)
{
	for (int i = 0; i < c->in->n_ports; i++)
		if (c->in->ports[i].config & bit)
			return true;
	return false;
}

int add_port_config_drops(struct compiler *c, struct nir_chain *ch, uint32_t bit,
			  bool out)
{
	for (int i = 0; i < c->in->n_ports; i++) {
		const struct compile_port *p = &c->in->ports[i];
		struct nir_rule *r;

		if (!(p->config & bit))
			continue;
		if (!(r = rule_in(c, ch)) ||
		    ifname_match(r, out ? NFT_META_OIFNAME : NFT_META_IIFNAME,
				 out ? "oifname" : "iifname", p->ifname, false) ||
		    add_verdict(r, NIR_DROP, NULL))
			return compile_oom(c);
	}
	return 0;
}

/* The limit objects that police port p: "police_<ofport>" for
 * ingress_policing_rate (kbit/s, in bytes; bursts of ingress_policing_burst
 * kbit), "police_<ofport>_pkts" for ingress_policing_kpkts_rate (1000
 * packets/s; bursts of ingress_policing_kpkts_burst thousand packets). */
static int add_police_limit(struct compiler *c, const struct compile_port *p,
			    bool packets, char *name, size_t len)
{
	uint64_t burst = packets ?
		(uint64_t)(p->police_kpkts_burst ? p->police_kpkts_burst :
			   POLICE_KPKTS_BURST_DEFAULT) * 1000 :
		(uint64_t)(p->police_burst_kb ? p->police_burst_kb :
			   POLICE_BURST_DEFAULT_KB) * 125;
	struct nir_limit *l;

	snprintf(name, len, "police_%u%s", p->ofport, packets ? "_pkts" : "");
	l = nir_add_limit(c->bridge, name);
	if (!l)
		return compile_oom(c);
	l->bytes = !packets;
	l->rate = packets ? (uint64_t)p->police_kpkts_rate * 1000 :
		  (uint64_t)p->police_rate_kbps * 125;
	l->burst = burst > UINT32_MAX ? UINT32_MAX : (uint32_t)burst;
	return 0;
}

/* The chain "policing_<ofport>" of a policed port: a rule per rate, so a
 * packet the byte rate passes still meets the packet rate, as with tc's two
 * police actions.  It returns to the chain that looked the port up. */
static int add_policing_chain(struct compiler *c, const struct compile_port *p,
			      char *name, size_t len)
{
	snprintf(name, len, "policing_%u", p->ofport);
	if (!nir_add_chain(c->bridge, name))
		return compile_oom(c);
	for (int packets = 0; packets < 2; packets++) {
		struct nir_rule *r;
		struct nir_stmt *s;
		char limit[32];

		if (!(packets ? p->police_kpkts_rate : p->police_rate_kbps))
			continue;
		if (add_police_limit(c, p, packets, limit, sizeof(limit)))
			return -1;
		if (!(r = rule_in(c, nir_find_chain(c->bridge, name))) ||
		    !(s = nir_add_stmt(r, NIR_LIMIT)))
			return compile_oom(c);
		snprintf(s->u.limit_name, sizeof(s->u.limit_name), "%s", limit);
		if (add_verdict(r, NIR_DROP, NULL))
			return compile_oom(c);
	}
	return 0;
}

/* Ingress policing, as OVS's tc police on a port's ingress: what a policed
 * port receives over its rate is dropped before anything else sees it, in
 * 'chain', the one a packet meets first.  One lookup whatever the number
 * of policed ports: the verdict map "policing" jumps to the port's chain;
 * a packet from another port misses it and goes on in 'chain'. */
static int add_port_policing(struct compiler *c, const char *chain)
{
	static const struct nir_src iifname = { .kind = NIR_SRC_META,
		.key = NFT_META_IIFNAME, .len = 16, .name = "iifname",
		.fmt = NIR_FMT_IFNAME };
	int map = -1;
	struct nir_rule *r;
	struct nir_stmt *s;

	for (int i = 0; i < c->in->n_ports; i++) {
		const struct compile_port *p = &c->in->ports[i];
		struct nir_set_elem *e;
		char name[64];

		if (!p->police_rate_kbps && !p->police_kpkts_rate)
			continue;
		if (map < 0) {
			struct nir_set *set = nir_add_set(c->bridge, "policing");

			if (!set || nir_set_add_field(set, &iifname, NULL))
				return compile_oom(c);
			set->vmap = set->jump = true;
			map = c->bridge->n_sets - 1;
		}
		if (add_policing_chain(c, p, name, sizeof(name)))
			return -1;
		if (!(e = nir_set_add_elem(&c->bridge->sets[map])))
			return compile_oom(c);
		memcpy(e->key, p->ifname, strnlen(p->ifname, sizeof(p->ifname)));
		snprintf(e->chain, sizeof(e->chain), "%s", name);
	}
	if (map < 0)
		return 0;
	if (!(r = rule_in(c, nir_find_chain(c->bridge, chain))) ||
	    !(s = nir_add_stmt(r, NIR_LOOKUP)))
		return compile_oom(c);
	s->u.lookup.set = map;
	return 0;
}

/* NAT, or a stateless destination rewrite, which br_netfilter handles as
 * it does DNAT. */
static bool any_nat(const struct compiler *c)
{
	if (c->nat || c->dst_rewrite)
		return true;
	for (int g = 0; g < c->in->n_groups; g++)
		for (int b = 0; b < c->in->groups[g].n_buckets; b++) {
			struct flow pseudo = {
				.n_actions = c->in->groups[g].buckets[b].n_actions,
				.actions = c->in->groups[g].buckets[b].actions,
			};

			if (uses_nat(&pseudo) || rewrites_ip_dst(&pseudo))
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
	if (add_bridge_mac_match(c, r))
		return compile_oom(c);
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
	/* with a managed LOCAL port, enforce_in wants the answer's output */
	if (local_managed(c) &&
	    add_mark_set(r, NIR_META_MARK, ~MARK_OUT, MARK_LOCAL << MARK_OUT_SHIFT))
		return compile_oom(c);
	return add_verdict(r, NIR_ACCEPT, NULL) ? compile_oom(c) : 0;
}

static const uint8_t ethertype_ip4[2] = { 0x08, 0x00 }, ethertype_ip6[2] = { 0x86, 0xdd };

/* A rule "[meta protocol <ethertype>] meta mark set iifname map @ports".
 * A packet from no port of this bridge misses the map, which ends the
 * rule before the mark is set: such packets fall through untouched. */
static struct nir_rule *add_port_mark_rule(struct compiler *c, struct nir_chain *ch,
					   const uint8_t *ethertype)
{
	struct nir_rule *r = rule_in(c, ch);
	struct nir_stmt *s;

	if (!r)
		return NULL;
	if (ethertype && add_meta_match(r, NFT_META_PROTOCOL, "meta protocol",
					NIR_FMT_ETHERTYPE, ethertype, 2, false))
		goto oom;
	s = nir_add_stmt(r, NIR_MAP_MARK);
	if (!s)
		goto oom;
	s->u.map.src = (struct nir_src){ .kind = NIR_SRC_META, .key = NFT_META_IIFNAME,
					 .len = 16, .name = "iifname", .fmt = NIR_FMT_IFNAME };
	snprintf(s->u.map.set_name, sizeof(s->u.map.set_name), "ports");
	return r;
oom:
	compile_oom(c);
	return NULL;
}

/* bridge prerouting: classify the port, run non-IP traffic through the
 * pipeline's l2 copy; IP goes on to the inet hooks (classify, -300), or
 * with bridge-family conntrack into the pipeline's rules (this chain is
 * then the pipeline's base chain, -150).  Every bridged packet meets this
 * chain, so it does one port lookup, not a membership test and then the
 * map: an IPv4 packet from a port is marked and sent on in the first rule;
 * any other packet from a port goes on to classify_port; a packet from no
 * port misses the map in both rules and is accepted.  The map's values all
 * carry MARK_OURS, so after a hit the mark says "ours".  A port set to
 * no-receive (mod-port) is dropped before all that, in whichever chain a
 * packet meets first, whatever the flows say (OVS's NO_RECV); so is what a
 * policed port receives over its ingress_policing_rate. */
static int build_classify(struct compiler *c)
{
	struct nir_chain *cls, *port;
	struct nir_rule *r;
	enum nir_verdict ip_code = c->bridge_ct ? NIR_GOTO : NIR_ACCEPT;
	const char *ip_chain = c->bridge_ct ? "pipeline_port" : NULL;

	/* The bridge family's pre-pass (-250) needs the port before conntrack:
	 * mark it, nothing else (the pipeline marks again, the same). */
	if (c->bridge_ct && !c->prepass_idle) {
		cls = base_chain(c, c->bridge, "classify", NIR_HOOK_PREROUTING, -300);
		if (!cls || add_port_config_drops(c, cls, PORT_CONFIG_NO_RECV, false) ||
		    add_port_policing(c, "classify"))
			return -1;
		/* policing added chains: find classify again */
		cls = nir_find_chain(c->bridge, "classify");
		if (!(r = add_port_mark_rule(c, cls, NULL)) || add_verdict(r, NIR_ACCEPT, NULL))
			return compile_oom(c);
	}
	cls = c->bridge_ct ?
	      base_chain(c, c->bridge, "pipeline", NIR_HOOK_PREROUTING, -150) :
	      base_chain(c, c->bridge, "classify", NIR_HOOK_PREROUTING, -300);
	if (!cls)
		return -1;
	if (!c->bridge_ct || c->prepass_idle) {
		const char *name = c->bridge_ct ? "pipeline" : "classify";

		if (add_port_config_drops(c, cls, PORT_CONFIG_NO_RECV, false) ||
		    add_port_policing(c, name))
			return -1;
		cls = nir_find_chain(c->bridge, name);
	}
	if (!(r = add_port_mark_rule(c, cls, ethertype_ip4)) || add_verdict(r, ip_code, ip_chain))
		return compile_oom(c);
	if (!(r = add_port_mark_rule(c, cls, NULL)) ||
	    add_verdict(r, NIR_GOTO, "classify_port"))
		return compile_oom(c);
	if (!(r = rule_in(c, cls)) || add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);

	port = nir_add_chain(c->bridge, "classify_port");
	if (!port)
		return compile_oom(c);
	if (add_nat_neighbour_pass(c, "classify_port", false))
		return -1;
	if (!(r = rule_in(c, nir_find_chain(c->bridge, "classify_port"))) ||
	    add_meta_match(r, NFT_META_PROTOCOL, "meta protocol", NIR_FMT_ETHERTYPE,
			   ethertype_ip6, 2, false) ||
	    add_verdict(r, ip_code, ip_chain))
		return compile_oom(c);
	if (add_entry(c, "classify_port", PASS_MAIN, L3_OTHER))
		return -1;
	return add_decision(c, nir_find_chain(c->bridge, "classify_port"));
}

/* Whether the pre-pass has nothing to do for either IP family: the family
 * is tracked in zone 0 (its pre-pass accepts it as it is), or the pipeline
 * drops all of it (no path outputs it: whether conntrack looked at it
 * then changes nothing, as an entry is kept only for a packet that
 * leaves).  Most policies are one or the other for each family, e.g. an
 * IPv4 policy that drops IPv6.  The chains are compiled here;
 * build_inet_table meets them again in the memo. */
static int prepass_idle(struct compiler *c, bool *idle)
{
	static const enum l3 families[] = { L3_IP4, L3_IP6 };

	*idle = true;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && *idle; i++) {
		struct path_state pre = initial_state(PASS_PRE, families[i]);
		struct path_state main = initial_state(PASS_MAIN, families[i]);
		struct chain_summary sum;
		const char *name;

		if (compile_chain(c, &pre, &name, &sum))
			return -1;
		if (accepts_outright(nir_find_chain(table_for(c, &pre), name)))
			continue;
		if (compile_chain(c, &main, &name, &sum))
			return -1;
		*idle = !sum.out;
	}
	return 0;
}

int build_bridge_table(struct compiler *c)
{
	struct nir_map *ports = nir_add_map(c->bridge, "ports");
	struct nir_chain *enf;
	struct nir_rule *r;

	if (!ports)
		return compile_oom(c);
	/* With bridge-family conntrack the pipeline's base chain classifies:
	 * its port lookup stands in for the guards (a packet from no port of
	 * this bridge misses the map and is accepted as it is).  When the
	 * pre-pass has nothing to do, nothing before the pipeline needs the
	 * port (conntrack tracks every IP packet in zone 0 whatever its port,
	 * and ignores other frames), so neither the pre-pass nor an earlier
	 * classify is hooked: a packet enters one brflow chain in bridge
	 * prerouting instead of three.  The pipeline marks even when classify
	 * did: a policy change that adds the pre-pass must not meet a packet
	 * that passed -300 under the old ruleset, unmarked, and reaches the
	 * pipeline under the new one. */
	if (c->bridge_ct && prepass_idle(c, &c->prepass_idle))
		return -1;
	for (int i = 0; i < c->in->n_ports; i++)
		if (nir_map_add(ports, c->in->ports[i].ifname,
				MARK_OURS | c->in->ports[i].ofport))
			return compile_oom(c);
	if (add_port_name_set(c) || build_classify(c))
		return -1;

	/* bridge forward: only the port the pipeline chose may carry it,
	 * and never a port set to no-forward (OVS's NO_FWD). */
	enf = base_chain(c, c->bridge, "enforce", NIR_HOOK_FORWARD, 100);
	if (!enf || add_port_config_drops(c, enf, PORT_CONFIG_NO_FWD, true))
		return -1;
	/* Most packets were switched normally: accept them before the
	 * other-bridge test's two set lookups (accepting another bridge's
	 * packet here is harmless: its own enforce chain decides it). */
	if (!(r = rule_in(c, enf)) ||
	    add_mark_match(r, MARK_OURS | MARK_OUT, MARK_OURS | OUT_NORMAL << MARK_OUT_SHIFT) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	if (add_other_bridge_accept(c, enf, true, true))
		return -1;
	/* dpi(fail=open) with no handler: the queue's bypass accepted the
	 * packet before the pipeline chose an output */
	if (!(r = rule_in(c, enf)) ||
	    add_mark_match(r, MARK_OURS | MARK_OUT | DPI_MARK_WANT | DPI_MARK_SEEN,
			   MARK_OURS | DPI_MARK_WANT) ||
	    add_verdict(r, NIR_ACCEPT, NULL))
		return compile_oom(c);
	if (add_out_port_accept(c, enf))
		return -1;
	/* From a brflow port, or to one, without the pipeline's consent. */
	if (!(r = rule_in(c, enf)) || add_mark_match(r, MARK_OURS, MARK_OURS) ||
	    add_verdict(r, NIR_DROP, NULL))
		return compile_oom(c);
	if (c->in->n_ports &&
	    (!(r = rule_in(c, enf)) || add_port_lookup(r, true, false) ||
	     add_verdict(r, NIR_DROP, NULL)))
		return compile_oom(c);
	return build_local_bridge(c);
}

int add_bridge_mac_match(const struct compiler *c, struct nir_rule *r)
{
	struct nir_stmt *s = nir_add_stmt(r, NIR_MATCH);

	if (!s)
		return -1;
	s->u.match.src = (struct nir_src){ .kind = NIR_SRC_PAYLOAD,
		.base = NFT_PAYLOAD_LL_HEADER, .offset = 0, .len = 6,
		.name = "ether daddr", .fmt = NIR_FMT_MAC };
	s->u.match.value.len = 6;
	memcpy(s->u.match.value.data, c->in->bridge_mac, 6);
	return 0;
}

int add_l3_match(const struct compiler *c, struct nir_rule *r, enum l3 l3)
{
	uint8_t type[2] = { 0x08, 0x00 };

	if (!c->bridge_ct)
		return add_nfproto_match(r, l3 == L3_IP4 ? 2 : 10);
	if (l3 == L3_IP6)
		type[0] = 0x86, type[1] = 0xdd;
	return add_meta_match(r, NFT_META_PROTOCOL, "meta protocol",
			      NIR_FMT_ETHERTYPE, type, 2, false);
}

/* The bridge's own packets only: in the inet hooks br_netfilter gives the
 * bridge as iif; the bridge family's hooks see the ports. */
static int add_foreign_accept(struct compiler *c, struct nir_chain *ch)
{
	return c->bridge_ct ? add_other_bridge_accept(c, ch, true, false) :
			      add_bridge_iif_accept(c, ch);
}

int build_inet_table(struct compiler *c)
{
	struct nir_chain *pre, *main;
	struct nir_rule *r;

	/* bridge_ct: the base chain "pipeline" (built by build_classify)
	 * sends IP from a port to pipeline_port, marked */
	const char *main_name = c->bridge_ct ? "pipeline_port" : "pipeline";

	if (!c->prepass_idle) {
		/* With bridge-family conntrack (hook priority -200) the
		 * pre-pass runs after classify (-300) has marked the ports. */
		pre = base_chain(c, c->ip, "prepass", NIR_HOOK_PREROUTING,
				 c->bridge_ct ? -250 : -300);
		if (!pre || add_not_ours_accept(c, pre) || add_foreign_accept(c, pre) ||
		    add_entry(c, "prepass", PASS_PRE, L3_IP4) ||
		    add_entry(c, "prepass", PASS_PRE, L3_IP6))
			return -1;
		/* The path ended without ct(): OVS never tracks such packets. */
		pre = nir_find_chain(c->ip, "prepass");
		if (add_local_prepass_track(c, pre))
			return -1;
		if (!(r = rule_in(c, pre)) || !nir_add_stmt(r, NIR_NOTRACK) ||
		    add_verdict(r, NIR_ACCEPT, NULL))
			return compile_oom(c);
	}

	if (c->bridge_ct) {
		main = nir_add_chain(c->ip, main_name);
		if (!main)
			return compile_oom(c);
		main->flat = true;
	} else {
		main = base_chain(c, c->ip, main_name, NIR_HOOK_PREROUTING, -150);
		if (!main || add_not_ours_accept(c, main) || add_foreign_accept(c, main))
			return -1;
	}
	if (add_nat_neighbour_pass(c, main_name, true) || build_ctstate(c) ||
	    add_early_established(c, nir_find_chain(c->ip, main_name), L3_IP4) ||
	    add_early_new(c, main_name, L3_IP4) ||
	    add_early_established(c, nir_find_chain(c->ip, main_name), L3_IP6) ||
	    add_early_new(c, main_name, L3_IP6) ||
	    add_entry(c, main_name, PASS_MAIN, L3_IP4) ||
	    add_entry(c, main_name, PASS_MAIN, L3_IP6))
		return -1;
	if (add_decision(c, nir_find_chain(c->ip, main_name)))
		return -1;
	if (build_local_inet(c))
		return -1;
	return build_nat_chains(c);
}

