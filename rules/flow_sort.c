/* dump-flows --sort/--rsort (flow_sort.h), as ovs-ofctl's compare_flows
 * orders flows. */
#include "flow_sort.h"

#include <string.h>
#include <strings.h>

#include "dpi.h"

int flow_sort_add(struct flow_sort *s, const char *name, bool descending)
{
	const struct field_info *fi = NULL;
	int field = FLOW_SORT_PRIORITY;

	if (name && strcasecmp(name, "priority")) {
		fi = flow_match_field(name);
		if (!fi)
			return -1;
		field = fi->id;
	}
	for (int i = 0; i < s->n; i++)
		if (s->keys[i].field == field)
			return 0;
	s->keys[s->n++] = (struct flow_sort_key){ field, descending };
	return 0;
}

/* f's match of 'id' when it names at least one bit of it, else NULL (a
 * zero mask matches like no match at all) */
static const struct flow_match *named_match(const struct flow *f,
					    enum field_id id)
{
	const struct flow_match *m = flow_find_match(f, id);
	int w = field_info(id)->width;

	if (id == F_DPI_HOST)
		return m && f->dpi_host ? m : NULL;
	for (int i = 0; m && i < w; i++)
		if (m->mask[i])
			return m;
	return NULL;
}

static const char *dpi_proto_name(const struct flow_match *m)
{
	const struct dpi_proto *p = dpi_proto_by_id(m->value[0]);

	return p ? p->name : "";
}

/* Both flows name the field: their values, as the header says. */
static int cmp_values(enum field_id id, const struct flow *a,
		      const struct flow_match *ma, const struct flow *b,
		      const struct flow_match *mb)
{
	int w = field_info(id)->width;

	if (id == F_DPI_HOST)
		return strcmp(a->dpi_host, b->dpi_host);
	if (id == F_DPI_PROTO)
		return strcmp(dpi_proto_name(ma), dpi_proto_name(mb));
	for (int i = 0; i < w; i++) {
		unsigned int x = ma->value[i] & ma->mask[i];
		unsigned int y = mb->value[i] & mb->mask[i];

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int cmp_key(const struct flow_sort_key *k, const struct flow *a,
		   const struct flow *b)
{
	const struct flow_match *ma, *mb;
	int r;

	if (k->field == FLOW_SORT_PRIORITY) {
		r = a->priority < b->priority ? -1 : a->priority > b->priority;
		return k->descending ? -r : r;
	}
	ma = named_match(a, k->field);
	mb = named_match(b, k->field);
	/* not reversed by --rsort: flows without the field always come last */
	if (!ma || !mb)
		return !ma - !mb;
	r = cmp_values(k->field, a, ma, b, mb);
	return k->descending ? -r : r;
}

int flow_sort_cmp(const struct flow_sort *s, const struct flow *a,
		  const struct flow *b)
{
	for (int i = 0; i < s->n; i++) {
		int r = cmp_key(&s->keys[i], a, b);

		if (r)
			return r;
	}
	return 0;
}
