/* Labels through ctnetlink (dpi_ctlabel.h). */
#include "dpi_ctlabel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <sys/socket.h>

struct dpi_ctlabel {
	struct nfct_handle *h;
};

struct dpi_ctlabel *dpi_ctlabel_open(void)
{
	struct dpi_ctlabel *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->h = nfct_open(CONNTRACK, 0);
	if (!w->h) {
		free(w);
		return NULL;
	}
	return w;
}

void dpi_ctlabel_close(struct dpi_ctlabel *w)
{
	if (!w)
		return;
	nfct_close(w->h);
	free(w);
}

static struct nfct_bitmask *bitmask(const uint8_t *bytes)
{
	struct nfct_bitmask *b = nfct_bitmask_new(127);

	if (!b)
		return NULL;
	for (unsigned i = 0; i < 128; i++)
		if (bytes[i / 8] & (1u << (i % 8)))
			nfct_bitmask_set_bit(b, i);
	return b;
}

static struct nf_conntrack *build(const struct dpi_tuple *t, uint16_t zone,
				  const uint8_t *labels, const uint8_t *mask)
{
	struct nf_conntrack *ct = nfct_new();
	struct nfct_bitmask *l, *m;

	if (!ct)
		return NULL;
	nfct_set_attr_u8(ct, ATTR_L3PROTO, t->family == 4 ? AF_INET : AF_INET6);
	if (t->family == 4) {
		nfct_set_attr(ct, ATTR_IPV4_SRC, t->src);
		nfct_set_attr(ct, ATTR_IPV4_DST, t->dst);
	} else {
		nfct_set_attr(ct, ATTR_IPV6_SRC, t->src);
		nfct_set_attr(ct, ATTR_IPV6_DST, t->dst);
	}
	nfct_set_attr_u8(ct, ATTR_L4PROTO, t->proto);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(t->sport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(t->dport));
	nfct_set_attr_u16(ct, ATTR_ZONE, zone);
	l = bitmask(labels);
	m = bitmask(mask);
	if (!l || !m) {
		nfct_bitmask_destroy(l);
		nfct_bitmask_destroy(m);
		nfct_destroy(ct);
		return NULL;
	}
	nfct_set_attr(ct, ATTR_CONNLABELS, l);       /* ct owns them now */
	nfct_set_attr(ct, ATTR_CONNLABELS_MASK, m);
	return ct;
}

int dpi_ctlabel_write(struct dpi_ctlabel *w, const struct dpi_tuple *t,
		      const uint16_t *zones, int n_zones,
		      const uint8_t *labels, const uint8_t *mask)
{
	int rc = -1, err = ENOENT;

	for (int i = -1; i < n_zones && rc; i++) {
		uint16_t zone = i < 0 ? 0 : zones[i];
		struct nf_conntrack *ct;

		if (i >= 0 && zone == 0)
			continue;
		ct = build(t, zone, labels, mask);
		if (!ct)
			return -1;
		rc = nfct_query(w->h, NFCT_Q_UPDATE, ct);
		if (rc)
			err = errno;
		nfct_destroy(ct);
		if (rc && err != ENOENT)
			break;
	}
	if (rc)
		errno = err;
	return rc;
}
