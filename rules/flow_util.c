/* Ownership and comparison helpers for struct flow. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow.h"

/* Releases what 'f' owns (matches, actions, ct nat strings and exec
 * lists) and leaves it empty, so calling it twice is harmless. */
void flow_free(struct flow *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; f->actions && i < f->n_actions; i++) {
		if (f->actions[i].type == ACT_CT) {
			free(f->actions[i].u.ct.nat);
			free(f->actions[i].u.ct.exec);
		}
	}
	free(f->actions);
	f->actions = NULL;
	f->n_actions = 0;
	free(f->matches);
	f->matches = NULL;
	f->n_matches = 0;
	free(f->dpi_host);
	f->dpi_host = NULL;
	for (i = 0; i < f->n_notes; i++)
		free(f->notes[i].data);
	free(f->notes);
	f->notes = NULL;
	f->n_notes = 0;
}

/* Gives dst (notes NULL, n_notes 0) its own copy of src's notes; 0 or
 * -ENOMEM (dst keeps what it copied, for flow_free). */
static int copy_notes(struct flow *dst, const struct flow *src)
{
	if (!src->n_notes)
		return 0;
	dst->notes = calloc(src->n_notes, sizeof(*dst->notes));
	if (!dst->notes)
		return -ENOMEM;
	for (int i = 0; i < src->n_notes; i++, dst->n_notes++) {
		dst->notes[i] = src->notes[i];
		dst->notes[i].data = NULL;
		if (src->notes[i].len &&
		    !(dst->notes[i].data = malloc(src->notes[i].len)))
			return -ENOMEM;
		if (src->notes[i].len)
			memcpy(dst->notes[i].data, src->notes[i].data, src->notes[i].len);
	}
	return 0;
}

/* Gives a copied ct action its own nat string and exec list; on failure
 * the pointers it could not duplicate are NULL. */
static int ct_copy_owned(struct action_ct *dst, const struct action_ct *src)
{
	dst->nat = NULL;
	dst->exec = NULL;
	if (src->nat && !(dst->nat = strdup(src->nat)))
		return -ENOMEM;
	if (!src->exec)
		return 0;
	dst->exec = malloc(CT_MAX_EXEC * sizeof(*dst->exec));
	if (!dst->exec)
		return -ENOMEM;
	memcpy(dst->exec, src->exec, CT_MAX_EXEC * sizeof(*dst->exec));
	return 0;
}

/* Deep copy of 'src' into 'dst' (which is overwritten, not freed).
 * Returns 0 or -ENOMEM, in which case 'dst' is left empty. */
int flow_copy(struct flow *dst, const struct flow *src)
{
	int i;

	*dst = *src;
	dst->matches = NULL;
	dst->actions = NULL;
	dst->n_actions = 0;
	dst->dpi_host = NULL;
	dst->notes = NULL;
	dst->n_notes = 0;
	if (src->n_matches) {
		dst->matches = malloc(src->n_matches * sizeof(*dst->matches));
		if (!dst->matches) {
			dst->n_matches = 0;
			return -ENOMEM;
		}
		memcpy(dst->matches, src->matches,
		       src->n_matches * sizeof(*dst->matches));
	}
	if ((src->dpi_host && !(dst->dpi_host = strdup(src->dpi_host))) ||
	    copy_notes(dst, src)) {
		flow_free(dst);
		return -ENOMEM;
	}
	if (!src->n_actions)
		return 0;
	dst->actions = calloc(src->n_actions, sizeof(*dst->actions));
	if (!dst->actions) {
		flow_free(dst);
		return -ENOMEM;
	}
	for (i = 0; i < src->n_actions; i++) {
		const struct flow_action *a = &src->actions[i];

		dst->actions[i] = *a;
		if (a->type != ACT_CT)
			continue;
		if (ct_copy_owned(&dst->actions[i].u.ct, &a->u.ct)) {
			dst->n_actions = i + 1;
			flow_free(dst);
			return -ENOMEM;
		}
	}
	dst->n_actions = src->n_actions;
	return 0;
}

const struct flow_match *flow_find_match(const struct flow *f, enum field_id id)
{
	int i;

	for (i = 0; i < f->n_matches; i++) {
		if (f->matches[i].field == id)
			return &f->matches[i];
	}
	return NULL;
}

static bool match_equal(const struct flow_match *a, const struct flow_match *b)
{
	int w = field_info(a->field)->width;

	return a->field == b->field && !memcmp(a->value, b->value, w) &&
	       !memcmp(a->mask, b->mask, w);
}

/* dpi_host patterns are strings kept beside the match array. */
static bool same_dpi_host(const struct flow *a, const struct flow *b)
{
	if (!a->dpi_host || !b->dpi_host)
		return a->dpi_host == b->dpi_host;
	return !strcasecmp(a->dpi_host, b->dpi_host);
}

bool flow_same_rule(const struct flow *a, const struct flow *b)
{
	int i;

	if (a->table != b->table || a->priority != b->priority ||
	    a->n_matches != b->n_matches)
		return false;
	/* Matches are kept in field order, so position i compares like. */
	for (i = 0; i < a->n_matches; i++) {
		if (!match_equal(&a->matches[i], &b->matches[i]))
			return false;
	}
	return same_dpi_host(a, b);
}

/* True when every packet 'm' matches also passes 'p' (same field). */
static bool match_implies(const struct flow_match *m, const struct flow_match *p)
{
	int w = field_info(p->field)->width;
	int i;

	for (i = 0; i < w; i++) {
		if (p->mask[i] & ~m->mask[i])
			return false;
		if ((m->value[i] ^ p->value[i]) & p->mask[i])
			return false;
	}
	return true;
}

/* OVS's non-strict selection: 'pattern' selects 'f' when each of its matches
 * is implied by one of f's.  Tables are the caller's business: a pattern
 * parsed without table= selects every table (see flow_parse_opts). */
bool flow_covered_by(const struct flow *f, const struct flow *pattern)
{
	int i;

	for (i = 0; i < pattern->n_matches; i++) {
		const struct flow_match *p = &pattern->matches[i];
		const struct flow_match *m = flow_find_match(f, p->field);

		if (!m || !match_implies(m, p))
			return false;
	}
	return !flow_find_match(pattern, F_DPI_HOST) || same_dpi_host(f, pattern);
}

bool flow_overlaps(const struct flow *a, const struct flow *b)
{
	if (a->table != b->table || a->priority != b->priority || flow_same_rule(a, b))
		return false;
	for (int i = 0; i < a->n_matches; i++) {
		const struct flow_match *x = &a->matches[i];
		const struct flow_match *y = flow_find_match(b, x->field);
		int w = field_info(x->field)->width;

		for (int k = 0; y && k < w; k++)
			if ((x->value[k] ^ y->value[k]) & x->mask[k] & y->mask[k])
				return false;
	}
	return true;
}

static bool same_set_field(const struct action_set_field *a,
			   const struct action_set_field *b)
{
	int w = field_info(a->field)->width;

	/* as_load is spelling only */
	if (a->field != b->field || a->is_move != b->is_move ||
	    memcmp(a->mask, b->mask, w))
		return false;
	if (a->is_move)
		return a->src == b->src && a->src_ofs == b->src_ofs &&
		       a->dst_ofs == b->dst_ofs && a->nbits == b->nbits;
	return !memcmp(a->value, b->value, w);
}

bool flow_same_nat(const struct action_nat *a, const struct action_nat *b)
{
	return a->kind == b->kind && a->family == b->family &&
	       !memcmp(a->addr_min, b->addr_min, sizeof(a->addr_min)) &&
	       !memcmp(a->addr_max, b->addr_max, sizeof(a->addr_max)) &&
	       a->port_min == b->port_min && a->port_max == b->port_max &&
	       a->random == b->random && a->hash == b->hash &&
	       a->persistent == b->persistent;
}

static bool same_ct(const struct action_ct *a, const struct action_ct *b)
{
	if (a->commit != b->commit || a->table != b->table ||
	    a->zone != b->zone || a->zone_reg != b->zone_reg ||
	    a->zone_ofs != b->zone_ofs || a->zone_nbits != b->zone_nbits ||
	    strcmp(a->alg, b->alg) || a->n_exec != b->n_exec)
		return false;
	if (!a->nat != !b->nat || (a->nat && !flow_same_nat(&a->nat_spec, &b->nat_spec)))
		return false;
	for (int i = 0; i < a->n_exec; i++)
		if (!same_set_field(&a->exec[i], &b->exec[i]))
			return false;
	return true;
}

static bool same_action(const struct flow_action *a, const struct flow_action *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case ACT_OUTPUT:
		return a->u.port == b->u.port && a->enqueue == b->enqueue;
	case ACT_SET_QUEUE:
		return a->u.queue == b->u.queue;
	case ACT_OUTPUT_REG:
		return a->u.out_reg.field == b->u.out_reg.field &&
		       a->u.out_reg.ofs == b->u.out_reg.ofs &&
		       a->u.out_reg.nbits == b->u.out_reg.nbits;
	case ACT_RESUBMIT:
	case ACT_GOTO_TABLE:
		return a->u.table == b->u.table;
	case ACT_SET_FIELD:
	case ACT_WRITE_METADATA:
		return same_set_field(&a->u.set, &b->u.set);
	case ACT_CT:
		return same_ct(&a->u.ct, &b->u.ct);
	case ACT_DPI:
		return a->u.dpi.queue_lo == b->u.dpi.queue_lo &&
		       a->u.dpi.queue_hi == b->u.dpi.queue_hi &&
		       a->u.dpi.fail_closed == b->u.dpi.fail_closed;
	case ACT_GROUP:
		return a->u.group_id == b->u.group_id;
	case ACT_METER:
		return a->u.meter_id == b->u.meter_id;
	case ACT_CONJUNCTION:
		return a->u.conj.id == b->u.conj.id &&
		       a->u.conj.clause == b->u.conj.clause &&
		       a->u.conj.n_clauses == b->u.conj.n_clauses;
	case ACT_NORMAL:
	case ACT_FLOOD:
	case ACT_IN_PORT:
	case ACT_CT_CLEAR:
	case ACT_DEC_TTL:
	case ACT_POP_QUEUE:
	case ACT_EXIT:
		return true;
	}
	return false;
}

bool flow_outputs_to(const struct flow *f, uint32_t port)
{
	for (int i = 0; i < f->n_actions; i++)
		if (f->actions[i].type == ACT_OUTPUT && f->actions[i].u.port == port)
			return true;
	return false;
}

bool flow_same_timeouts(const struct flow *a, const struct flow *b)
{
	return a->idle_timeout == b->idle_timeout &&
	       a->hard_timeout == b->hard_timeout;
}

static bool same_notes(const struct flow *a, const struct flow *b)
{
	if (a->n_notes != b->n_notes)
		return false;
	for (int i = 0; i < a->n_notes; i++) {
		const struct flow_note *x = &a->notes[i], *y = &b->notes[i];

		if (x->before != y->before || x->len != y->len ||
		    (x->len && memcmp(x->data, y->data, x->len)))
			return false;
	}
	return true;
}

bool flow_same_actions(const struct flow *a, const struct flow *b)
{
	if (a->n_actions != b->n_actions || !same_notes(a, b))
		return false;
	for (int i = 0; i < a->n_actions; i++)
		if (!same_action(&a->actions[i], &b->actions[i]))
			return false;
	return true;
}

bool flow_bit_get(const uint8_t *v, int width, int bit)
{
	return v[width - 1 - bit / 8] >> (bit % 8) & 1;
}

void flow_bit_put(uint8_t *v, int width, int bit, bool on)
{
	uint8_t *byte = &v[width - 1 - bit / 8];

	*byte = on ? *byte | 1u << (bit % 8) : *byte & ~(1u << (bit % 8));
}

int flow_fail_at(char **err, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	char *e;

	if (*err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(&e, "%s at column %zu", msg, off + 1) < 0) {
		*err = strdup("out of memory");
		return -1;
	}
	for (char *c = e; *c; c++)
		if (iscntrl((unsigned char)*c))
			*c = '?';
	*err = e;
	return -1;
}
