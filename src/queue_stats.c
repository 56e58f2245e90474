/* Egress queues' counters from the kernel's traffic-control classes
 * (src/queue_stats.h), read with one RTM_GETTCLASS dump per port. */
#include "queue_stats.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <linux/gen_stats.h>
#include <linux/rtnetlink.h>

#include "errbuf.h"
#include "rtnl.h"

/* OVS's limit for its htb and hfsc queues: minors 1 to 0xf000. */
#define MAX_QUEUE_MINOR 0xf000u

struct class_dump {
	struct queue_stat *q;
	int n, cap;
	bool oom;
};

static int stats2_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type == TCA_STATS_BASIC || type == TCA_STATS_QUEUE)
		tb[type] = a;
	return MNL_CB_OK;
}

static int class_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(a) == TCA_STATS2)
		tb[TCA_STATS2] = a;
	return MNL_CB_OK;
}

/* Copies at most the attribute's length: struct gnet_stats_basic is 12
 * bytes on the wire and 16 in C. */
static void attr_copy(void *dst, size_t len, const struct nlattr *a)
{
	size_t have = mnl_attr_get_payload_len(a);

	memset(dst, 0, len);
	memcpy(dst, mnl_attr_get_payload(a), have < len ? have : len);
}

static int class_cb(const struct nlmsghdr *nlh, void *data)
{
	struct class_dump *d = data;
	const struct tcmsg *tc = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1] = { 0 }, *st[TCA_STATS_MAX + 1] = { 0 };
	uint32_t major = tc->tcm_handle >> 16, minor = tc->tcm_handle & 0xffff;
	struct gnet_stats_basic basic;
	struct gnet_stats_queue queue;
	struct queue_stat *q;

	if (major != 1 || minor == 0 || minor > MAX_QUEUE_MINOR)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*tc), class_attr, tb) != MNL_CB_OK ||
	    !tb[TCA_STATS2] ||
	    mnl_attr_parse_nested(tb[TCA_STATS2], stats2_attr, st) != MNL_CB_OK)
		return MNL_CB_OK;
	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 8;

		q = realloc(d->q, (size_t)cap * sizeof(*q));
		if (!q) {
			d->oom = true;
			return MNL_CB_STOP;
		}
		d->q = q;
		d->cap = cap;
	}
	memset(&basic, 0, sizeof(basic));
	memset(&queue, 0, sizeof(queue));
	if (st[TCA_STATS_BASIC])
		attr_copy(&basic, sizeof(basic), st[TCA_STATS_BASIC]);
	if (st[TCA_STATS_QUEUE])
		attr_copy(&queue, sizeof(queue), st[TCA_STATS_QUEUE]);
	d->q[d->n++] = (struct queue_stat){ .queue = minor - 1, .bytes = basic.bytes,
					    .packets = basic.packets, .drops = queue.drops };
	return MNL_CB_OK;
}

static int by_queue(const void *a, const void *b)
{
	const struct queue_stat *x = a, *y = b;

	return (x->queue > y->queue) - (x->queue < y->queue);
}

int queue_stats_read(const char *ifname, struct queue_stat **out, int *n,
		     char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct class_dump d = { 0 };
	unsigned int ifindex = if_nametoindex(ifname);
	struct nlmsghdr *nlh;
	struct tcmsg *tc;
	int ret;

	*out = NULL;
	*n = 0;
	if (!ifindex) {
		errf(err, errlen, "no interface '%s'", ifname);
		return -1;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETTCLASS;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = (int)ifindex;
	ret = rtnl_talk(nlh, class_cb, &d);
	if (ret || d.oom) {
		errf(err, errlen, "cannot read the classes of '%s': %s", ifname,
		     d.oom ? "out of memory" : strerror(-ret));
		free(d.q);
		return -1;
	}
	if (d.n)
		qsort(d.q, (size_t)d.n, sizeof(*d.q), by_queue);
	*out = d.q;
	*n = d.n;
	return 0;
}
