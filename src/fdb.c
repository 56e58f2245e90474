/* The bridge's forwarding database (src/fdb.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "errbuf.h"
#include "fdb.h"
#include "rtnl.h"

struct fdb_dump {
	int bridge;           /* ifindex */
	long ticks;           /* clock ticks a second (cache info's unit) */
	bool with_local;      /* keep the bridge's own permanent addresses */
	struct fdb_entry *e;
	int n, cap;
	bool oom;
};

struct fdb_attrs {
	const struct nlattr *lladdr, *master, *vlan, *cacheinfo;
};

static int fdb_attr_cb(const struct nlattr *a, void *data)
{
	struct fdb_attrs *at = data;

	switch (mnl_attr_get_type(a)) {
	case NDA_LLADDR:
		at->lladdr = a;
		break;
	case NDA_MASTER:
		at->master = a;
		break;
	case NDA_VLAN:
		at->vlan = a;
		break;
	case NDA_CACHEINFO:
		at->cacheinfo = a;
		break;
	}
	return MNL_CB_OK;
}

static bool grow(struct fdb_dump *d)
{
	int cap = d->cap ? d->cap * 2 : 64;
	struct fdb_entry *e;

	if (d->n < d->cap)
		return true;
	e = realloc(d->e, cap * sizeof(*e));
	if (!e)
		return false;
	d->e = e;
	d->cap = cap;
	return true;
}

/* One neighbour of the bridge family: kept when it was learned on a port
 * of our bridge (NDA_MASTER); a permanent one is the bridge's own address
 * (the kernel keeps NUD_PERMANENT for those), kept only when asked for. */
static int fdb_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct fdb_attrs at = { 0 };
	struct fdb_dump *d = data;
	struct fdb_entry *e;

	if (ndm->ndm_family != AF_BRIDGE ||
	    ((ndm->ndm_state & NUD_PERMANENT) && !d->with_local))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ndm), fdb_attr_cb, &at);
	if (!at.lladdr || mnl_attr_get_payload_len(at.lladdr) != 6 || !at.master ||
	    mnl_attr_get_payload_len(at.master) < 4 ||
	    (int)mnl_attr_get_u32(at.master) != d->bridge)
		return MNL_CB_OK;
	if (!grow(d)) {
		d->oom = true;
		return MNL_CB_STOP;
	}
	e = &d->e[d->n++];
	memset(e, 0, sizeof(*e));
	e->ifindex = ndm->ndm_ifindex;
	e->local = ndm->ndm_state & NUD_PERMANENT;
	memcpy(e->mac, mnl_attr_get_payload(at.lladdr), 6);
	if (at.vlan && mnl_attr_get_payload_len(at.vlan) >= 2)
		e->vlan = mnl_attr_get_u16(at.vlan);
	if (at.cacheinfo && mnl_attr_get_payload_len(at.cacheinfo) >= sizeof(struct nda_cacheinfo)) {
		const struct nda_cacheinfo *ci = mnl_attr_get_payload(at.cacheinfo);

		e->age = ci->ndm_updated / d->ticks;
	}
	return MNL_CB_OK;
}

int fdb_read(const char *bridge, bool with_local, struct fdb_entry **entries,
	     int *n, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct fdb_dump d = { .bridge = (int)if_nametoindex(bridge),
			      .ticks = sysconf(_SC_CLK_TCK), .with_local = with_local };
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int ret;

	if (!d.bridge) {
		errf(err, errlen, "no such bridge '%s'", bridge);
		return -1;
	}
	if (d.ticks <= 0)
		d.ticks = 100;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_BRIDGE;
	ret = rtnl_talk(nlh, fdb_cb, &d);
	if (ret || d.oom) {
		free(d.e);
		errf(err, errlen, "cannot read the forwarding database of '%s': %s",
		     bridge, d.oom ? "out of memory" : strerror(-ret));
		return -1;
	}
	*entries = d.e;
	*n = d.n;
	return 0;
}

int fdb_flush(const char *bridge, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int index = (int)if_nametoindex(bridge), ret;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *info, *data;

	if (!index) {
		errf(err, errlen, "no such bridge '%s'", bridge);
		return -1;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put(nlh, IFLA_BR_FDB_FLUSH, 0, NULL);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	ret = rtnl_talk(nlh, NULL, NULL);
	if (ret) {
		errf(err, errlen, "cannot flush the forwarding database of '%s': %s",
		     bridge, strerror(-ret));
		return -1;
	}
	return 0;
}

/* Sort keys, kept beside each entry while sorting. */
struct fdb_line {
	char port[IF_NAMESIZE + 8];
	long portnum;         /* numeric ports first, in order; names after */
	const struct fdb_entry *e;
};

static int line_cmp(const void *a, const void *b)
{
	const struct fdb_line *x = a, *y = b;
	int r;

	if (x->portnum != y->portnum)
		return x->portnum < y->portnum ? -1 : 1;
	if ((r = strcmp(x->port, y->port)))
		return r;
	if (x->e->vlan != y->e->vlan)
		return x->e->vlan < y->e->vlan ? -1 : 1;
	return memcmp(x->e->mac, y->e->mac, 6);
}

int fdb_print(FILE *out, struct fdb_entry *entries, int n,
	      void (*port_of)(int ifindex, char *buf, size_t len, void *arg),
	      void *arg)
{
	struct fdb_line *lines = calloc(n + 1, sizeof(*lines));

	if (!lines)
		return -1;
	fputs(" port  VLAN  MAC                Age\n", out);
	for (int i = 0; i < n; i++) {
		char *end;

		port_of(entries[i].ifindex, lines[i].port, sizeof(lines[i].port), arg);
		lines[i].portnum = strtol(lines[i].port, &end, 10);
		if (*end || !*lines[i].port)
			lines[i].portnum = 1L << 30;
		lines[i].e = &entries[i];
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (int i = 0; i < n; i++) {
		const uint8_t *m = lines[i].e->mac;

		fprintf(out, "%5s  %4u  %02x:%02x:%02x:%02x:%02x:%02x  %3u\n",
			lines[i].port, lines[i].e->vlan, m[0], m[1], m[2], m[3],
			m[4], m[5], lines[i].e->age);
	}
	free(lines);
	return 0;
}
