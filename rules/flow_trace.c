/* brflowctl trace: walks a bridge's flow tables for one packet and says
 * what each step does (see flow_trace.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dpi.h"
#include "flow_conj.h"
#include "flow_trace.h"

/* Bounds that only a flow set the compiler would refuse can reach (it
 * allows 14 nested resubmits); they keep the walk finite whatever. */
#define TRACE_MAX_DEPTH   64
#define TRACE_MAX_RESUMES 32
#define TRACE_MAX_OUTPUTS 8

/* Field values as the packet carries them, big-endian like flow_match. */
struct trace_pkt {
	uint8_t v[F_COUNT][FLOW_MAX_VALUE];
	const char *dpi_host;
};

/* A ct(table=N): the packet as it was at the ct(), with the connection's
 * state, to run table N after the current pass (Open vSwitch's
 * recirculation). */
struct resume {
	struct trace_pkt pkt;
	int table;
	bool by_default;  /* ct_state is the default, not from --ct-next */
	uint32_t queue;   /* the queue in effect at the ct() */
};

enum out_kind { OUT_PORT, OUT_NORMAL, OUT_FLOOD };

/* What the bridge's forwarding database does with the packet's dl_dst:
 * FWD_UNASKED when the trace has no database or the packet no dl_dst. */
enum fwd { FWD_UNASKED, FWD_FLOOD, FWD_PORT, FWD_LOCAL, FWD_UNMANAGED };

struct trace_output {
	enum out_kind kind;
	uint32_t port;  /* OUT_PORT */
	enum fwd fwd;
	const struct trace_mac *entry;  /* FWD_PORT, FWD_LOCAL, FWD_UNMANAGED */
	char *dropped;  /* malloc'd: why the bridge's forwarding drops it */
};

struct trace {
	const struct trace_input *in;
	/* the flows the tables hold once conjunctions are expanded, as the
	 * compiler sees them (rules/flow_conj.h) */
	struct conj_expansion x;
	FILE *out;
	struct trace_pkt pkt;
	/* The connection's mark and label: what a ct(table=N) shows, as the
	 * packet gave them, changed by ct(commit,exec(...)). */
	uint8_t conn_mark[FLOW_MAX_VALUE], conn_label[FLOW_MAX_VALUE];
	/* The packet gave the connection's tuple (ct_nw_src=...); else a
	 * ct(table=N) pass derives it from the packet and its direction. */
	bool tuple_given;
	struct resume *resumes;
	int n_resumes, ct_next_used, depth;
	struct trace_output outs[TRACE_MAX_OUTPUTS];
	int n_outs;
	bool oom;
	/* a dec_ttl found the TTL expired: the rest of the action list it is
	 * in does not run (the lists that resubmitted to it go on) */
	bool ttl_expired;
	/* an exit ran: no further action of this pass runs */
	bool exited;
	/* set_queue's queue + 1 for later outputs, 0 for none (pop_queue) */
	uint32_t queue;
	/* --names: in_port= and output: by name; NULL: numbers */
	const struct flow_port_names *names;
	struct flow_port_names names_buf;
};

static char *trace_err(const char *fmt, const char *arg)
{
	char *s;

	if (asprintf(&s, fmt, arg) < 0)
		return NULL;
	return s;
}

static int field_width(enum field_id id)
{
	return field_info(id)->width;
}

static bool full_mask(const struct flow_match *m)
{
	for (int i = 0; i < field_width(m->field); i++)
		if (m->mask[i] != 0xff)
			return false;
	return true;
}

char *flow_trace_check_packet(const struct flow *packet)
{
	if (packet->n_actions)
		return trace_err("a packet has no actions: trace what the tables do with%s",
				 " a match only (in_port=1,tcp,...)");
	for (int i = 0; i < packet->n_matches; i++) {
		const struct flow_match *m = &packet->matches[i];

		if (m->field == F_CONJ_ID)
			return trace_err("a packet has no %s: a conjunction's match sets it",
					 "conj_id");
		/* dl_vlan=10 gives the tag; the bits it leaves out are 0 */
		if (m->field == F_CT_STATE || m->field == F_VLAN_TCI || full_mask(m))
			continue;
		return trace_err("a packet has one value per field: '%s' takes no mask",
				 field_info(m->field)->name);
	}
	if (packet->dpi_host && strchr(packet->dpi_host, '*'))
		return trace_err("a packet has one host name: dpi_host=%s is a pattern",
				 packet->dpi_host);
	return NULL;
}

static unsigned ct_state_bit(const char *name, size_t len)
{
	for (unsigned bit = 1; bit < 0x100; bit <<= 1) {
		const char *n = flow_ct_state_name(bit);

		if (n && strlen(n) == len && !strncmp(n, name, len))
			return bit;
	}
	return 0;
}

char *flow_trace_parse_ct_state(const char *text, uint8_t *flags)
{
	const char *p = text;

	*flags = CS_TRK;
	while (*p) {
		size_t len;
		unsigned bit;

		if (strchr(",|+ ", *p)) {
			p++;
			continue;
		}
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		bit = len ? ct_state_bit(p, len) : 0;
		if (!bit) {
			char *token = strndup(p, strcspn(p, ",|+ ")), *err;

			err = trace_err("unknown ct_state flag '%s' (new, est, rel, rpl, inv, trk, snat, dnat)",
					token ? token : "");
			free(token);
			return err;
		}
		*flags |= bit;
		p += len;
	}
	return NULL;
}

/* ---- the packet ---- */

static bool is_ip(const struct trace_pkt *p)
{
	unsigned type = p->v[F_DL_TYPE][0] << 8 | p->v[F_DL_TYPE][1];

	return type == 0x0800 || type == 0x86dd;
}

/* set_field/load (value under mask) or move (bits of another field of
 * 'src') into 'dst', a value of field s->field. */
static void write_field(uint8_t *dst, const struct action_set_field *s,
			const struct trace_pkt *src)
{
	int w = field_width(s->field);

	if (!s->is_move) {
		for (int i = 0; i < w; i++)
			dst[i] = (dst[i] & ~s->mask[i]) | (s->value[i] & s->mask[i]);
		return;
	}
	for (int b = 0; b < s->nbits; b++)
		flow_bit_put(dst, w, s->dst_ofs + b,
			flow_bit_get(src->v[s->src], field_width(s->src), s->src_ofs + b));
}

static bool is_ct_field(enum field_id id)
{
	return id == F_CT_STATE || id == F_CT_ZONE || id == F_CT_MARK ||
	       id == F_CT_LABEL || (id >= F_CT_NW_SRC && id <= F_CT_TP_DST);
}

/* The connection's original-direction tuple as ct() would find it: the
 * packet's own fields, swapped when the packet is a reply. */
static void set_ct_tuple(struct trace_pkt *p, uint8_t state)
{
	bool rpl = state & CS_RPL;
	bool v6 = p->v[F_DL_TYPE][0] == 0x86 && p->v[F_DL_TYPE][1] == 0xdd;
	enum field_id src = v6 ? F_IPV6_SRC : F_NW_SRC, dst = v6 ? F_IPV6_DST : F_NW_DST;
	enum field_id ct_src = v6 ? F_CT_IPV6_SRC : F_CT_NW_SRC;
	enum field_id ct_dst = v6 ? F_CT_IPV6_DST : F_CT_NW_DST;

	memcpy(p->v[ct_src], p->v[rpl ? dst : src], sizeof(p->v[0]));
	memcpy(p->v[ct_dst], p->v[rpl ? src : dst], sizeof(p->v[0]));
	memcpy(p->v[F_CT_NW_PROTO], p->v[F_NW_PROTO], sizeof(p->v[0]));
	memcpy(p->v[F_CT_TP_SRC], p->v[rpl ? F_TP_DST : F_TP_SRC], sizeof(p->v[0]));
	memcpy(p->v[F_CT_TP_DST], p->v[rpl ? F_TP_SRC : F_TP_DST], sizeof(p->v[0]));
}

static void clear_ct(struct trace_pkt *p)
{
	for (int id = 0; id < F_COUNT; id++)
		if (is_ct_field(id))
			memset(p->v[id], 0, sizeof(p->v[id]));
}

static bool flow_matches(const struct flow *f, const struct trace_pkt *p)
{
	for (int i = 0; i < f->n_matches; i++) {
		const struct flow_match *m = &f->matches[i];

		if (m->field == F_DPI_HOST) {
			if (!p->dpi_host || !f->dpi_host ||
			    !dpi_host_match(f->dpi_host, p->dpi_host))
				return false;
			continue;
		}
		for (int b = 0; b < field_width(m->field); b++)
			if ((p->v[m->field][b] & m->mask[b]) != m->value[b])
				return false;
	}
	return true;
}

/* The highest-priority flow of 'table' the packet matches, from t->x;
 * *ties counts the other matching flows of that priority (a
 * conjunction's combinations count as one flow). */
static const struct conj_flow *lookup(const struct trace *t, int table, int *ties)
{
	const struct conj_flow *best = NULL;
	int last_tie = -1;

	*ties = 0;
	for (int i = 0; i < t->x.n; i++) {
		const struct conj_flow *cf = &t->x.flows[i];
		const struct flow *f = cf->flow;

		if (f->table != table || (best && f->priority < best->flow->priority) ||
		    !flow_matches(f, &t->pkt))
			continue;
		if (best && f->priority == best->flow->priority) {
			if (cf->from != best->from && cf->from != last_tie)
				(*ties)++;
			last_tie = cf->from;
		} else {
			best = cf;
		}
	}
	return best;
}

/* ---- printing ---- */

static int indent(const struct trace *t)
{
	return t->depth * 4;
}

/* An effect of the action just printed, OVS's " -> " lines. */
static void note(struct trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct trace *t, const char *fmt, ...)
{
	va_list ap;

	fprintf(t->out, "%*s     -> ", indent(t), "");
	va_start(ap, fmt);
	vfprintf(t->out, fmt, ap);
	va_end(ap);
	fputc('\n', t->out);
}

static void put_owned(struct trace *t, char *text)
{
	if (!text) {
		t->oom = true;
		return;
	}
	fputs(text, t->out);
	free(text);
}

static void put_ct_state(FILE *out, uint8_t state)
{
	const char *sep = "";

	for (unsigned bit = 1; bit < 0x100; bit <<= 1) {
		const char *name = flow_ct_state_name(bit);

		if (!(state & bit) || !name)
			continue;
		fprintf(out, "%s%s", sep, name);
		sep = "|";
	}
}

static const char *port_name(const struct trace *t, uint32_t ofport)
{
	const char *name = t->in->port_name ? t->in->port_name(ofport, t->in->port_arg) : NULL;

	return name ? name : "no such port";
}

/* ---- mod-port: what a port may receive and send ---- */

/* ofport's PORT_CONFIG_* bits; 0 for a port the bridge lacks. */
static uint32_t port_config(const struct trace *t, uint32_t ofport)
{
	if (ofport == OFPP_LOCAL)
		return t->in->local_config;
	for (int i = 0; i < t->in->n_ports; i++)
		if (t->in->ports[i].ofport == ofport)
			return t->in->ports[i].config;
	return 0;
}

/* Why the bridge drops what would leave by a port of this config, whatever
 * the flows say (enforce's NO_FWD drop, or the link), or NULL. */
static const char *output_blocked(uint32_t config)
{
	if (config & PORT_CONFIG_DOWN)
		return "down";
	return config & PORT_CONFIG_NO_FWD ? "NO_FWD" : NULL;
}

/* "port 2 (p2)", or "LOCAL" */
static void put_port(struct trace *t, FILE *out, uint32_t ofport)
{
	if (ofport == OFPP_LOCAL)
		fputs("LOCAL", out);
	else
		fprintf(out, "port %u (%s)", ofport, port_name(t, ofport));
}

static uint32_t packet_in_port(const struct trace *t)
{
	return (uint32_t)t->pkt.v[F_IN_PORT][0] << 8 | t->pkt.v[F_IN_PORT][1];
}

/* NORMAL and FLOOD: the ports the bridge will not use, and those it floods
 * no more (the bridge port's flood flags: known unicast still goes). */
static void note_port_config(struct trace *t)
{
	uint32_t in_port = packet_in_port(t);

	for (int i = 0; i <= t->in->n_ports; i++) {
		uint32_t ofport = i < t->in->n_ports ? t->in->ports[i].ofport : OFPP_LOCAL;
		uint32_t config = port_config(t, ofport);
		const char *blocked = output_blocked(config);
		char *label = NULL;
		size_t len = 0;
		FILE *m;

		if (ofport == in_port || !(blocked || config & PORT_CONFIG_NO_FLOOD))
			continue;
		m = open_memstream(&label, &len);
		if (!m) {
			t->oom = true;
			return;
		}
		put_port(t, m, ofport);
		fclose(m);
		if (ofport == OFPP_LOCAL && blocked)
			note(t, "never up to the host: LOCAL is %s (mod-port)", blocked);
		else if (blocked)
			note(t, "never out of %s: it is %s (mod-port)", label, blocked);
		else
			note(t, "out of %s only as known unicast: it is NO_FLOOD (mod-port)", label);
		free(label);
	}
}

/* ---- the forwarding database: where the bridge sends dl_dst ---- */

/* dl_dst's entry: the bridge's own address first (the kernel delivers
 * those up), then one learned untagged, then any. */
static const struct trace_mac *fdb_entry_of(const struct trace *t, const uint8_t *mac)
{
	const struct trace_mac *found = NULL;

	for (int i = 0; i < t->in->n_fdb; i++) {
		const struct trace_mac *e = &t->in->fdb[i];

		if (memcmp(e->mac, mac, 6))
			continue;
		if (!found || (e->local && !found->local) ||
		    (e->local == found->local && !e->vlan && found->vlan))
			found = e;
	}
	return found;
}

/* "port 2 (p2)", or "interface x3 (not a brflow port)"; malloc'd. */
static char *entry_port(struct trace *t, const struct trace_mac *e)
{
	char *label = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&label, &len);

	if (!m) {
		t->oom = true;
		return NULL;
	}
	if (e->ofport)
		put_port(t, m, e->ofport);
	else
		fprintf(m, "interface %s (not a brflow port)", e->ifname);
	fclose(m);
	return label;
}

/* Notes dl_dst's entry in the forwarding database and sets o->fwd. */
static void consult_fdb(struct trace *t, struct trace_output *o)
{
	static const uint8_t zero[6], broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t *mac = t->pkt.v[F_DL_DST];
	const struct trace_mac *e;
	char text[18], *where;

	if (!t->in->with_fdb)
		return;
	if (t->in->fdb_error) {
		note(t, "where the bridge sends it is not known: %s", t->in->fdb_error);
		return;
	}
	if (!memcmp(mac, zero, 6)) {
		note(t, "the packet has no dl_dst: give one to see where the bridge's forwarding database sends it");
		return;
	}
	snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	o->fwd = FWD_FLOOD;
	if (!memcmp(mac, broadcast, 6)) {
		note(t, "dl_dst %s is broadcast: the bridge floods it", text);
		return;
	}
	if (mac[0] & 1) {
		note(t, "dl_dst %s is a multicast address: the bridge floods it (multicast snooping may narrow that)",
		     text);
		return;
	}
	e = o->entry = fdb_entry_of(t, mac);
	if (!e) {
		note(t, "dl_dst %s is not in the bridge's forwarding database: the bridge floods it", text);
		return;
	}
	if (e->local) {
		o->fwd = FWD_LOCAL;
		note(t, "dl_dst %s is the bridge's own address: the bridge takes it up to the host", text);
		return;
	}
	o->fwd = e->ofport ? FWD_PORT : FWD_UNMANAGED;
	where = entry_port(t, e);
	if (where && e->vlan)
		note(t, "the forwarding database has dl_dst %s on %s in VLAN %u, seen %u s ago",
		     text, where, e->vlan, e->age);
	else if (where)
		note(t, "the forwarding database has dl_dst %s on %s, seen %u s ago", text, where,
		     e->age);
	free(where);
}

/* Why where the bridge sends the packet defeats the output the flows
 * chose (malloc'd), or NULL: it leaves there. */
static char *fwd_drop(struct trace *t, const struct trace_output *o)
{
	uint32_t learned = o->entry ? o->entry->ofport : 0;
	char *where = NULL, *why = NULL;
	const char *blocked;
	int r = 0;

	switch (o->fwd) {
	case FWD_UNASKED:
		return NULL;
	case FWD_FLOOD:  /* (an output to LOCAL is never looked up) */
		if (o->kind == OUT_PORT && port_config(t, o->port) & PORT_CONFIG_NO_FLOOD)
			r = asprintf(&why, "port %u (%s) is NO_FLOOD: the bridge floods nothing to it",
				     o->port, port_name(t, o->port));
		break;
	case FWD_LOCAL:
		if (o->kind == OUT_PORT)
			r = asprintf(&why, "the bridge takes it up to the host, not out of port %u (%s)",
				     o->port, port_name(t, o->port));
		else if (o->kind != OUT_PORT && (blocked = output_blocked(t->in->local_config)))
			r = asprintf(&why, "LOCAL is %s (mod-port)", blocked);
		break;
	case FWD_PORT:
	case FWD_UNMANAGED:
		if (!(where = entry_port(t, o->entry)))
			return NULL;
		if (learned && learned == packet_in_port(t))
			r = asprintf(&why, "dl_dst was learned on the input port, %s: the bridge sends nothing back out of it",
				     where);
		else if (o->kind == OUT_PORT && o->port != learned)
			r = asprintf(&why, "the bridge sends it to %s, not out of port %u (%s)", where,
				     o->port, port_name(t, o->port));
		else if ((blocked = output_blocked(port_config(t, learned))) && o->kind != OUT_PORT)
			r = asprintf(&why, "%s is %s (mod-port)", where, blocked);
		break;
	}
	free(where);
	if (r < 0) {
		t->oom = true;
		why = NULL;
	}
	return why;
}

/* ---- actions ---- */

static void run_table(struct trace *t, int table);
static void run_actions(struct trace *t, const struct flow *f,
			const struct flow_action *a, int n);

/* Records the output and says where the bridge's forwarding database
 * sends the packet; true when the packet leaves by it (as far as the
 * database tells). */
static bool choose_output(struct trace *t, enum out_kind kind, uint32_t port)
{
	struct trace_output o = { .kind = kind, .port = port };

	/* LOCAL is the bridge device itself; a port that takes nothing
	 * (NO_FWD, down) was noted already */
	if (kind != OUT_PORT || (port != OFPP_LOCAL && !output_blocked(port_config(t, port))))
		consult_fdb(t, &o);
	o.dropped = fwd_drop(t, &o);
	if (o.dropped)
		note(t, "so it is dropped: %s", o.dropped);
	if (t->n_outs < TRACE_MAX_OUTPUTS)
		t->outs[t->n_outs++] = o;
	else
		free(o.dropped);
	if (t->n_outs > 1)
		note(t, "a second output: brflow refuses flow sets where a path outputs twice");
	return o.fwd == FWD_UNASKED || o.fwd == FWD_FLOOD;
}

static uint16_t ct_zone_of(const struct trace *t, const struct action_ct *ct)
{
	uint16_t zone = 0;

	if (ct->zone_reg < 0)
		return ct->zone;
	for (int b = ct->zone_nbits - 1; b >= 0; b--)
		zone = zone << 1 | flow_bit_get(t->pkt.v[F_REG0 + ct->zone_reg], 4,
					   ct->zone_ofs + b);
	return zone;
}

static uint8_t next_ct_state(struct trace *t, bool *by_default)
{
	*by_default = t->ct_next_used >= t->in->n_ct_next;
	if (*by_default)
		return CS_TRK | CS_NEW;
	return t->in->ct_next[t->ct_next_used++];
}

static void commit_ct(struct trace *t, const struct action_ct *ct, uint16_t zone)
{
	note(t, "commits the connection in zone %u%s%s", zone,
	     ct->alg[0] ? ", with netfilter's helper for " : "", ct->alg);
	for (int i = 0; i < ct->n_exec; i++) {
		const struct action_set_field *s = &ct->exec[i];

		write_field(s->field == F_CT_MARK ? t->conn_mark : t->conn_label, s,
			    &t->pkt);
	}
	if (ct->n_exec)
		note(t, "exec() sets the connection's ct_mark and ct_label: later passes and packets see them");
	if (ct->nat && ct->nat_spec.kind != NAT_EXISTING && ct->table < 0)
		note(t, "netfilter translates the connection after the pipeline: the tables see the packet untranslated");
}

/* What a ct(nat,table=N) shows table N: OVS sets +snat or +dnat for what
 * the NAT did to this packet, and only after a ct() with nat.  A new
 * connection's first packet (the default state) gets what this
 * ct(commit,nat(...)) does to it, translated where that is one address
 * (and one port), as the compiled tables see it; --ct-next's flags stand
 * for a later packet. */
static uint8_t nat_state(struct trace *t, const struct action_ct *ct,
			 struct trace_pkt *pkt, uint8_t state, bool by_default)
{
	const struct action_nat *n = &ct->nat_spec;
	bool v6 = pkt->v[F_DL_TYPE][0] == 0x86 && pkt->v[F_DL_TYPE][1] == 0xdd;
	bool src = n->kind == NAT_SRC;
	enum field_id addr = src ? (v6 ? F_IPV6_SRC : F_NW_SRC) : (v6 ? F_IPV6_DST : F_NW_DST);
	int w = v6 ? 16 : 4;

	if (!ct->nat || (state & CS_INV)) {
		if (state & (CS_SNAT | CS_DNAT))
			note(t, "OVS sets +snat and +dnat only after a ct() with nat, and not on +inv");
		return state & ~(CS_SNAT | CS_DNAT);
	}
	if (!by_default || !ct->commit || n->kind == NAT_EXISTING || !(state & CS_NEW))
		return state;
	if (n->family && n->family != (v6 ? 6 : 4))
		return state;
	if (n->family && !memcmp(n->addr_min, n->addr_max, 16))
		memcpy(pkt->v[addr], n->addr_min, w);
	if (n->port_min && n->port_min == n->port_max) {
		enum field_id port = src ? F_TP_SRC : F_TP_DST;

		pkt->v[port][0] = n->port_min >> 8;
		pkt->v[port][1] = n->port_min & 0xff;
	}
	note(t, "the first packet of the connection: table %d sees it as this nat() translates it (+%s)",
	     ct->table, src ? "snat" : "dnat");
	return state | (src ? CS_SNAT : CS_DNAT);
}

static void resume_later(struct trace *t, const struct action_ct *ct,
			 uint16_t zone)
{
	struct resume *r;
	bool by_default = false;
	uint8_t state;

	if (t->n_resumes == TRACE_MAX_RESUMES) {
		note(t, "more than %d ct(table=N) passes: table %d is not followed",
		     TRACE_MAX_RESUMES, ct->table);
		return;
	}
	state = is_ip(&t->pkt) ? next_ct_state(t, &by_default) : CS_TRK | CS_INV;
	r = &t->resumes[t->n_resumes++];
	r->pkt = t->pkt;
	r->table = ct->table;
	r->by_default = by_default;
	r->queue = t->queue;
	/* the tuple is the packet's before any translation */
	if (!t->tuple_given && !(state & CS_INV))
		set_ct_tuple(&r->pkt, state);
	state = is_ip(&t->pkt) ? nat_state(t, ct, &r->pkt, state, by_default) : state;
	r->pkt.v[F_CT_STATE][0] = state;
	r->pkt.v[F_CT_ZONE][0] = zone >> 8;
	r->pkt.v[F_CT_ZONE][1] = zone & 0xff;
	memcpy(r->pkt.v[F_CT_MARK], t->conn_mark, sizeof(t->conn_mark));
	memcpy(r->pkt.v[F_CT_LABEL], t->conn_label, sizeof(t->conn_label));
	fprintf(t->out, "%*s     -> table %d resumes with the connection's state (pass %d below)\n",
		indent(t), "", ct->table, t->n_resumes);
}

static void run_ct(struct trace *t, const struct action_ct *ct, bool more)
{
	uint16_t zone = ct_zone_of(t, ct);

	if (!is_ip(&t->pkt))
		note(t, "not IP: conntrack marks it +trk+inv");
	else if (ct->commit)
		commit_ct(t, ct, zone);
	if (ct->table >= 0)
		resume_later(t, ct, zone);
	clear_ct(&t->pkt);
	if (more)
		note(t, "the next actions see the packet untracked");
}

static void run_dpi(struct trace *t, const struct action_dpi *d)
{
	if (t->pkt.v[F_DPI_PROTO][0] || t->pkt.dpi_host) {
		note(t, "the connection is classified (dpi_proto=/dpi_host= given): not queued");
		return;
	}
	if (d->queue_hi != d->queue_lo)
		note(t, "queued to NFQUEUE %u-%u (by connection); brflow-dpi sends it back"
		     " and the pipeline runs again, going on from here", d->queue_lo, d->queue_hi);
	else
		note(t, "queued to NFQUEUE %u; brflow-dpi sends it back and the pipeline"
		     " runs again, going on from here", d->queue_lo);
	note(t, "once the connection is classified, trace it with dpi_proto=NAME or"
	     " dpi_host=NAME in the packet");
	if (d->fail_closed)
		note(t, "fail=closed: dropped if no handler listens");
}

static void run_group(struct trace *t, uint32_t id)
{
	const struct ofgroup *g = NULL;
	const struct ofgroup_bucket *pick = NULL;
	unsigned total = 0;

	for (int i = 0; i < t->in->n_groups && !g; i++)
		if (t->in->groups[i].group_id == id)
			g = &t->in->groups[i];
	if (!g || !g->n_buckets) {
		note(t, "no group %u with buckets: nothing happens", id);
		return;
	}
	for (int i = 0; i < g->n_buckets; i++) {
		total += g->buckets[i].weight;
		if (!pick && g->buckets[i].weight)
			pick = &g->buckets[i];
	}
	if (!pick)
		pick = &g->buckets[0];
	if (g->type == GROUP_INDIRECT)
		note(t, "an indirect group: its bucket %u runs", pick->bucket_id);
	else
		note(t, "a symmetric hash of addresses and ports picks one of %d buckets by weight;"
		     " this trace follows bucket %u (weight %u of %u)", g->n_buckets,
		     pick->bucket_id, pick->weight, total);
	t->depth++;
	run_actions(t, NULL, pick->actions, pick->n_actions);
	t->depth--;
}

/* A meter cannot know the packet's rate: say what it does to the stream
 * and go on, as a packet under the rate does. */
static void run_meter(struct trace *t, uint32_t id)
{
	const struct ofmeter *m = NULL;

	for (int i = 0; i < t->in->n_meters && !m; i++)
		if (t->in->meters[i].meter_id == id)
			m = &t->in->meters[i];
	if (!m) {
		note(t, "no meter %u: brflow refuses such a flow", id);
		return;
	}
	note(t, "packets over %u %s are dropped (nftables limit meter_%u); the "
	     "others go on with the actions", m->rate, m->kbps ? "kbps" : "pktps", id);
}

/* OVS's dec_ttl: nothing for a packet that is not IP; a TTL (hop limit)
 * of 0 or 1 stops the action list, which OVS would report to controllers
 * brflow does not have. */
static void run_dec_ttl(struct trace *t)
{
	uint8_t *ttl = t->pkt.v[F_NW_TTL];

	if (!is_ip(&t->pkt))
		return;
	if (*ttl <= 1) {
		note(t, "TTL %u expired: the rest of this flow's actions do not run", *ttl);
		t->ttl_expired = true;
		return;
	}
	(*ttl)--;
}

/* An output through queue+1 'queue' (0: none) leaves with that egress
 * priority, which the port's qdisc reads. */
static void note_queue(struct trace *t, uint32_t queue)
{
	if (queue)
		note(t, "through queue %u: egress priority 1:%x, the class 1:%x of a root qdisc 1: on the port",
		     queue - 1, queue, queue);
}

static void run_action(struct trace *t, const struct flow_action *a, bool more);

/* output:REG[a..b]: the port the packet's register holds now. */
static void run_output_reg(struct trace *t, const struct flow_action *a, bool more)
{
	enum field_id f = a->u.out_reg.field;
	int w = field_width(f);
	struct flow_action out = { .type = ACT_OUTPUT };
	uint32_t port = 0;

	for (int b = a->u.out_reg.nbits - 1; b >= 0; b--)
		port = port << 1 | flow_bit_get(t->pkt.v[f], w, a->u.out_reg.ofs + b);
	switch (out_reg_target(port)) {
	case OUT_REG_NORMAL:
		out.type = ACT_NORMAL;
		note(t, "the register holds 0x%x, OpenFlow's NORMAL", port);
		break;
	case OUT_REG_FLOOD:
		out.type = ACT_FLOOD;
		note(t, "the register holds 0x%x, OpenFlow's FLOOD", port);
		break;
	case OUT_REG_RESERVED: /* the compiler refuses such a path */
	case OUT_REG_NOWHERE:
		note(t, "the register holds 0x%x: no port brflow outputs to, nothing is output", port);
		return;
	case OUT_REG_PORT:
		out.u.port = port;
		note(t, "the register holds %u", port);
		break;
	}
	run_action(t, &out, more);
}

static void run_action(struct trace *t, const struct flow_action *a, bool more)
{
	switch (a->type) {
	case ACT_OUTPUT: {
		const char *blocked = output_blocked(port_config(t, a->u.port));

		if (a->u.port == OFPP_LOCAL)
			note(t, "up to the host's stack through the bridge device");
		else
			note(t, "out of port %u (%s), if the bridge's forwarding database sends it there",
			     a->u.port, port_name(t, a->u.port));
		if (blocked)
			note(t, "but the port is %s (mod-port): the bridge drops it there", blocked);
		else if (port_config(t, a->u.port) & PORT_CONFIG_NO_FLOOD && !t->in->with_fdb)
			note(t, "the port is NO_FLOOD (mod-port): only when the forwarding database knows the destination there");
		note_queue(t, a->enqueue ? a->enqueue : t->queue);
		choose_output(t, OUT_PORT, a->u.port);
		break;
	}
	case ACT_NORMAL:
	case ACT_FLOOD:
		note(t, "the Linux bridge forwards it (forwarding database; unknown destinations flooded)");
		note_queue(t, t->queue);
		if (choose_output(t, a->type == ACT_NORMAL ? OUT_NORMAL : OUT_FLOOD, 0))
			note_port_config(t);
		break;
	case ACT_IN_PORT:
		note(t, "brflow refuses this action: the bridge does not hairpin");
		break;
	case ACT_RESUBMIT:
		if (t->depth >= TRACE_MAX_DEPTH) {
			note(t, "resubmits nested deeper than %d: not followed", TRACE_MAX_DEPTH);
			break;
		}
		t->depth++;
		run_table(t, a->u.table);
		t->depth--;
		break;
	case ACT_GOTO_TABLE:
		run_table(t, a->u.table);
		break;
	case ACT_SET_FIELD:
		write_field(t->pkt.v[a->u.set.field], &a->u.set, &t->pkt);
		break;
	case ACT_CT:
		run_ct(t, &a->u.ct, more);
		break;
	case ACT_DPI:
		run_dpi(t, &a->u.dpi);
		break;
	case ACT_GROUP:
		run_group(t, a->u.group_id);
		break;
	case ACT_METER:
		run_meter(t, a->u.meter_id);
		break;
	case ACT_DEC_TTL:
		run_dec_ttl(t);
		break;
	case ACT_OUTPUT_REG:
		run_output_reg(t, a, more);
		break;
	case ACT_WRITE_METADATA:
		write_field(t->pkt.v[F_METADATA], &a->u.set, &t->pkt);
		break;
	case ACT_EXIT:
		note(t, "no further action runs, here or in the tables that resubmitted here");
		t->exited = true;
		break;
	case ACT_SET_QUEUE:
		t->queue = a->u.queue + 1;
		break;
	case ACT_POP_QUEUE:
		t->queue = 0;
		break;
	case ACT_CT_CLEAR:
		clear_ct(&t->pkt);
		note(t, "untracked: ct_state, ct_zone, ct_mark and ct_label cleared");
		break;
	case ACT_CONJUNCTION:
		/* clauses are out of the lookup (flow_conj_expand) */
		break;
	}
}

/* The notes of f that stand before its action 'before' (from *next on),
 * each on its line as OVS's trace lists every action it meets; they do
 * nothing. */
static void put_notes(struct trace *t, const struct flow *f, int before, int *next)
{
	for (; f && *next < f->n_notes && f->notes[*next].before <= before && !t->oom;
	     ++*next) {
		fprintf(t->out, "%*s    ", indent(t), "");
		put_owned(t, flow_format_note(&f->notes[*next]));
		fputc('\n', t->out);
	}
}

/* The actions a[0..n), with the notes of f (the flow they are the
 * actions of, or NULL for a group's bucket) where they stand. */
static void run_actions(struct trace *t, const struct flow *f,
			const struct flow_action *a, int n)
{
	int next_note = 0;

	if (!n && !(f && f->n_notes))
		fprintf(t->out, "%*s    drop\n", indent(t), "");
	for (int i = 0; i < n && !t->oom; i++) {
		put_notes(t, f, i, &next_note);
		fprintf(t->out, "%*s    ", indent(t), "");
		put_owned(t, flow_format_action_named(&a[i], t->names));
		fputc('\n', t->out);
		run_action(t, &a[i], i + 1 < n);
		if (t->exited)
			break;
		if (t->ttl_expired) {
			t->ttl_expired = false;
			return;
		}
	}
	if (!t->exited)
		put_notes(t, f, n, &next_note);
}

/* Which clause flow of each dimension made conjunction cf->conj_id
 * match. */
static void put_conjunction(struct trace *t, int table, const struct conj_flow *cf)
{
	fprintf(t->out, "%*s%2d. conjunction(%u) matches: a clause of each of its %d dimensions\n",
		indent(t), "", table, cf->conj_id, cf->n_clauses);
	for (int k = 0; k < cf->n_clauses && !t->oom; k++) {
		const struct flow *c = t->in->flows[cf->clauses[k]];
		char *m = flow_format_match_named(c, t->names);

		if (!m) {
			t->oom = true;
			return;
		}
		fprintf(t->out, "%*s     dimension %d: %s%spriority %u\n", indent(t), "",
			k + 1, m, *m ? ", " : "", c->priority);
		free(m);
	}
}

static void run_table(struct trace *t, int table)
{
	int ties;
	const struct conj_flow *cf = lookup(t, table, &ties);
	const struct flow *f;
	char *match;

	if (cf && cf->n_clauses)
		put_conjunction(t, table, cf);
	f = cf ? t->in->flows[cf->from] : NULL;
	if (!f) {
		fprintf(t->out, "%*s%2d. No match.\n", indent(t), "", table);
		note(t, "no flow of table %d matches: this path chooses nothing", table);
		return;
	}
	match = flow_format_match_named(f, t->names);
	if (!match) {
		t->oom = true;
		return;
	}
	fprintf(t->out, "%*s%2d. %s%spriority %u", indent(t), "", table, match,
		*match ? ", " : "", f->priority);
	free(match);
	if (f->cookie)
		fprintf(t->out, ", cookie 0x%" PRIx64, f->cookie);
	fputc('\n', t->out);
	if (ties)
		note(t, "%d more flow%s of this priority match%s; OpenFlow leaves the choice"
		     " open, and this trace takes the one added first", ties,
		     ties == 1 ? "" : "s", ties == 1 ? "es" : "");
	run_actions(t, f, f->actions, f->n_actions);
}

/* ---- the passes ---- */

static void load_packet(struct trace *t, const struct flow *packet)
{
	for (int i = 0; i < packet->n_matches; i++) {
		const struct flow_match *m = &packet->matches[i];

		memcpy(t->pkt.v[m->field], m->value, sizeof(m->value));
		if (m->field >= F_CT_NW_SRC && m->field <= F_CT_TP_DST)
			t->tuple_given = true;
	}
	t->pkt.dpi_host = packet->dpi_host;
	memcpy(t->conn_mark, t->pkt.v[F_CT_MARK], sizeof(t->conn_mark));
	memcpy(t->conn_label, t->pkt.v[F_CT_LABEL], sizeof(t->conn_label));
}

/* The fields a pass changed (regs, metadata, addresses), as a match. */
static void put_final(struct trace *t, const struct trace_pkt *start)
{
	struct flow_match changed[F_COUNT];
	struct flow diff = { .matches = changed };

	for (int id = 0; id < F_COUNT; id++) {
		int w = field_width(id);

		if (is_ct_field(id) || id == F_DPI_HOST ||
		    !memcmp(t->pkt.v[id], start->v[id], w))
			continue;
		changed[diff.n_matches].field = id;
		memcpy(changed[diff.n_matches].value, t->pkt.v[id], FLOW_MAX_VALUE);
		memset(changed[diff.n_matches].mask, 0xff, FLOW_MAX_VALUE);
		diff.n_matches++;
	}
	fputs("\nFinal flow: ", t->out);
	if (diff.n_matches)
		put_owned(t, flow_format_match_named(&diff, t->names));
	else
		fputs("unchanged", t->out);
	fputc('\n', t->out);
}

static void put_heading(struct trace *t, const char *text)
{
	size_t n = strlen(text);

	fprintf(t->out, "\n%s\n", text);
	while (n--)
		fputc('-', t->out);
	fputc('\n', t->out);
}

static void run_pass(struct trace *t, int table)
{
	struct trace_pkt start = t->pkt;

	t->depth = 0;
	run_table(t, table);
	put_final(t, &start);
}

static void run_resumes(struct trace *t)
{
	for (int i = 0; i < t->n_resumes && !t->oom; i++) {
		const struct resume *r = &t->resumes[i];
		char *heading = NULL;
		size_t len = 0;
		FILE *h = open_memstream(&heading, &len);

		if (!h) {
			t->oom = true;
			return;
		}
		fprintf(h, "pass %d: table %d after conntrack, ct_state=", i + 1, r->table);
		put_ct_state(h, r->pkt.v[F_CT_STATE][0]);
		fprintf(h, " in zone %u%s",
			(unsigned)(r->pkt.v[F_CT_ZONE][0] << 8 | r->pkt.v[F_CT_ZONE][1]),
			r->by_default ? " (the default; --ct-next sets it)" : "");
		fclose(h);
		put_heading(t, heading);
		free(heading);
		t->pkt = r->pkt;
		t->queue = r->queue;
		t->exited = false;
		run_pass(t, r->table);
	}
}

/* NORMAL or FLOOD where the forwarding database says. */
static void put_forwarded(struct trace *t, const struct trace_output *o)
{
	char *where;

	fputs(o->kind == OUT_NORMAL ? "NORMAL" : "FLOOD", t->out);
	if (o->fwd == FWD_FLOOD) {
		fputs(", flooded by the bridge", t->out);
		return;
	}
	if (o->fwd == FWD_LOCAL) {
		fputs(", up to the host (dl_dst is the bridge's own address)", t->out);
		return;
	}
	where = entry_port(t, o->entry);
	if (where)
		fprintf(t->out, ", out of %s, where the bridge learned dl_dst", where);
	free(where);
}

static void put_verdict(struct trace *t)
{
	fputs("\nVerdict: ", t->out);
	if (!t->n_outs) {
		fputs("drop (no flow chose an output)\n", t->out);
		return;
	}
	for (int i = 0; i < t->n_outs; i++) {
		const char *blocked = t->outs[i].kind == OUT_PORT ?
				      output_blocked(port_config(t, t->outs[i].port)) : NULL;

		if (i)
			fputs(", then ", t->out);
		if (t->outs[i].dropped)
			fprintf(t->out, "drop (%s)", t->outs[i].dropped);
		else if (t->outs[i].kind != OUT_PORT && t->outs[i].fwd != FWD_UNASKED)
			put_forwarded(t, &t->outs[i]);
		else if (t->outs[i].kind == OUT_NORMAL)
			fputs("NORMAL (the bridge forwards it)", t->out);
		else if (t->outs[i].kind == OUT_FLOOD)
			fputs("FLOOD (the bridge forwards it, as NORMAL)", t->out);
		else if (blocked) {
			fputs("drop (", t->out);
			put_port(t, t->out, t->outs[i].port);
			fprintf(t->out, " is %s)", blocked);
		} else if (t->outs[i].port == OFPP_LOCAL)
			fputs("LOCAL (the host, through the bridge device)", t->out);
		else
			fprintf(t->out, "output:%u (%s)", t->outs[i].port,
				port_name(t, t->outs[i].port));
	}
	fputc('\n', t->out);
}

/* NO_RECV (or a link that is down) drops what the port receives before
 * any table (classify's drop): the trace stops there. */
static bool receive_blocked(struct trace *t)
{
	uint32_t in_port = packet_in_port(t), config = port_config(t, in_port);
	const char *why = config & PORT_CONFIG_DOWN ? "down" :
			  config & PORT_CONFIG_NO_RECV ? "NO_RECV" : NULL;

	if (!why)
		return false;
	fputc(' ', t->out);
	put_port(t, t->out, in_port);
	fprintf(t->out, " is %s (mod-port): the bridge drops what it receives, before any table\n",
		why);
	fputs("\nVerdict: drop (", t->out);
	put_port(t, t->out, in_port);
	fprintf(t->out, " is %s)\n", why);
	return true;
}

/* A policed input port (set-iface ingress_policing_rate): the trace walks
 * on, as for a packet within the rate, and says what happens over it. */
static void note_policing(struct trace *t)
{
	uint32_t in_port = packet_in_port(t);

	for (int i = 0; i < t->in->n_ports; i++) {
		const struct compile_port *p = &t->in->ports[i];

		if (p->ofport != in_port || !(p->police_rate_kbps || p->police_kpkts_rate))
			continue;
		fputc(' ', t->out);
		put_port(t, t->out, in_port);
		fputs(" is policed (set-iface): what it receives over", t->out);
		if (p->police_rate_kbps)
			fprintf(t->out, " %u kbit/s, after a burst of %u kbit,", p->police_rate_kbps,
				p->police_burst_kb ? p->police_burst_kb : POLICE_BURST_DEFAULT_KB);
		if (p->police_rate_kbps && p->police_kpkts_rate)
			fputs(" or over", t->out);
		if (p->police_kpkts_rate)
			fprintf(t->out, " %u000 packets/s, after a burst of %u000 packets,",
				p->police_kpkts_rate, p->police_kpkts_burst ?
				p->police_kpkts_burst : POLICE_KPKTS_BURST_DEFAULT);
		fputs(" is dropped before any table\n", t->out);
	}
}

char *flow_trace(const struct trace_input *in, FILE *out)
{
	struct trace *t = calloc(1, sizeof(*t));
	char *heading = NULL, *err = NULL;

	if (!t || !(t->resumes = calloc(TRACE_MAX_RESUMES, sizeof(*t->resumes))) ||
	    asprintf(&heading, "bridge(\"%s\")", in->bridge) < 0) {
		err = strdup("out of memory");
		goto out;
	}
	t->in = in;
	t->out = out;
	err = flow_conj_expand(in->flows, in->n_flows, &t->x);
	if (err)
		goto out;
	if (in->names && in->port_name) {
		t->names_buf = (struct flow_port_names){ in->port_name, in->port_arg };
		t->names = &t->names_buf;
	}
	load_packet(t, in->packet);
	fputs("Flow: ", out);
	put_owned(t, flow_format_match_named(in->packet, t->names));
	fputc('\n', out);
	put_heading(t, heading);
	if (!receive_blocked(t)) {
		note_policing(t);
		run_pass(t, in->table_given ? in->packet->table : 0);
		run_resumes(t);
		put_verdict(t);
	}
	if (t->oom)
		err = strdup("out of memory");
out:
	free(heading);
	if (t) {
		flow_conj_free(&t->x);
		free(t->resumes);
		for (int i = 0; i < t->n_outs; i++)
			free(t->outs[i].dropped);
	}
	free(t);
	return err;
}
