/* The switch-side setup for NAT of bridged traffic (nat_setup.h): a
 * sysctl, one route per family in a table of the bridge's own, and the
 * policy rules that send what enters the bridge to that table.  Routes and
 * rules go through rtnetlink with libmnl, one request per socket. */
#include "nat_setup.h"
#include "rtnl.h"
#include "bridge_nl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "errbuf.h"
#include "log.h"

#define MAX_FOUND 16

/* ---- which bridges need it ---- */

/* ct(nat), or a stateless rewrite of the destination address, which
 * br_netfilter re-routes just as it does a DNATed packet. */
static bool actions_use_nat(const struct flow_action *a, int n)
{
	for (int i = 0; i < n; i++) {
		if (a[i].type == ACT_CT && a[i].u.ct.nat)
			return true;
		if (a[i].type == ACT_SET_FIELD && (a[i].u.set.field == F_NW_DST ||
						   a[i].u.set.field == F_IPV6_DST))
			return true;
	}
	return false;
}

bool nat_setup_needed(const struct st_bridge *b)
{
	for (int i = 0; i < b->n_flows; i++)
		if (actions_use_nat(b->flows[i].flow.actions,
				    b->flows[i].flow.n_actions))
			return true;
	for (int i = 0; i < b->n_groups; i++)
		for (int k = 0; k < b->groups[i].n_buckets; k++)
			if (actions_use_nat(b->groups[i].buckets[k].actions,
					    b->groups[i].buckets[k].n_actions))
				return true;
	return false;
}

/* ---- rtnetlink ---- */

/* "default dev BR" (scope link) in 'table', added or deleted. */
static int route_request(int type, int family, uint32_t table, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST |
			   (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return rtnl_talk(nlh, NULL, NULL);
}

/* "iif NAME lookup TABLE" at 'prio', added (exclusively: the kernel would
 * add a duplicate otherwise) or deleted. */
static int rule_request(int type, int family, uint32_t table, uint32_t prio,
			const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST |
			   (type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->table = RT_TABLE_UNSPEC;
	frh->action = FR_ACT_TO_TBL;
	mnl_attr_put_strz(nlh, FRA_IIFNAME, name);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	return rtnl_talk(nlh, NULL, NULL);
}

/* A rule of ours found in a dump. */
struct found_rule {
	uint32_t table, prio;
};

struct rule_scan {
	const char *name;
	int n;
	struct found_rule rules[MAX_FOUND];
	/* per message */
	char iif[IFNAMSIZ];
	uint32_t table, prio;
};

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	struct rule_scan *rs = data;

	switch (mnl_attr_get_type(a)) {
	case FRA_IIFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			snprintf(rs->iif, sizeof(rs->iif), "%s",
				 mnl_attr_get_str(a));
		break;
	case FRA_TABLE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			rs->table = mnl_attr_get_u32(a);
		break;
	case FRA_PRIORITY:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			rs->prio = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static bool our_table(uint32_t table)
{
	return table >= NAT_SETUP_TABLE_BASE &&
	       table - NAT_SETUP_TABLE_BASE < NAT_SETUP_TABLE_SPAN;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rule_scan *rs = data;

	rs->iif[0] = '\0';
	rs->table = frh->table;
	rs->prio = 0;
	mnl_attr_parse(nlh, sizeof(*frh), rule_attr_cb, rs);
	if (frh->action == FR_ACT_TO_TBL && !strcmp(rs->iif, rs->name) &&
	    our_table(rs->table) && rs->n < MAX_FOUND)
		rs->rules[rs->n++] = (struct found_rule){ rs->table, rs->prio };
	return MNL_CB_OK;
}

/* Lists the rules "iif NAME lookup T" with T one of brflow's tables. */
static int rule_scan(int family, struct rule_scan *rs)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = RTM_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	rs->n = 0;
	return rtnl_talk(nlh, rule_cb, rs);
}

/* ---- sysctl ---- */

static const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

/* Reads the single-digit value of conf/NAME/forwarding; -1 if absent. */
static int forwarding_get(int family, const char *name)
{
	char path[128], c = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/forwarding",
		 family_name(family), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

static int forwarding_set(int family, const char *name, int value)
{
	char path[128], c = '0' + value;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/forwarding",
		 family_name(family), name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, &c, 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* What IPv4 forwarding was on a bridge before brflow turned it on, so
 * removing the setup puts it back.  Kept in memory only: after a restart
 * an unknown old value is left as it is. */
struct fwd_saved {
	char name[IFNAMSIZ];
	int old;
};

static struct fwd_saved *saved;
static int n_saved;

static struct fwd_saved *saved_find(const char *name)
{
	for (int i = 0; i < n_saved; i++)
		if (!strcmp(saved[i].name, name))
			return &saved[i];
	return NULL;
}

static int forwarding_on(const char *name)
{
	int old = forwarding_get(AF_INET, name);
	struct fwd_saved *s;

	if (old == 1)
		return 0;
	if (old < 0)
		return -ENOENT;
	if (!saved_find(name)) {
		s = realloc(saved, sizeof(*s) * (n_saved + 1));
		if (!s)
			return -ENOMEM;
		saved = s;
		snprintf(saved[n_saved].name, IFNAMSIZ, "%s", name);
		saved[n_saved++].old = old;
	}
	return forwarding_set(AF_INET, name, 1);
}

static void forwarding_restore(const char *name)
{
	struct fwd_saved *s = saved_find(name);

	if (!s)
		return;
	if (forwarding_get(AF_INET, name) >= 0)
		forwarding_set(AF_INET, name, s->old);
	*s = saved[--n_saved];
}

/* ---- apply / remove ---- */

static const int families[] = { AF_INET, AF_INET6 };

/* Keeps the first error. */
static void note(int *first, int rc)
{
	if (rc < 0 && !*first)
		*first = rc;
}

/* Rules left for an earlier bridge of the same name (another ifindex,
 * so another table) would only cost a lookup; they go anyway. */
static void drop_stale_rules(int family, const char *name, uint32_t table)
{
	struct rule_scan rs = { .name = name };

	if (rule_scan(family, &rs) < 0)
		return;
	for (int k = 0; k < rs.n; k++)
		if (rs.rules[k].table != table)
			rule_request(RTM_DELRULE, family, rs.rules[k].table,
				     rs.rules[k].prio, name);
}

static int apply(const char *name, int ifindex, char *err, size_t errlen)
{
	uint32_t table = NAT_SETUP_TABLE_BASE + (uint32_t)ifindex;
	const char *what = NULL;
	int first = 0, rc;

	if ((uint32_t)ifindex >= NAT_SETUP_TABLE_SPAN) {
		errf(err, errlen, "bridge '%s': ifindex %d is beyond brflow's "
		     "routing tables", name, ifindex);
		return -1;
	}
	rc = forwarding_on(name);
	if (rc < 0)
		what = "ipv4 forwarding";
	note(&first, rc);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		drop_stale_rules(families[i], name, table);
		rc = route_request(RTM_NEWROUTE, families[i], table, ifindex);
		if (rc < 0 && !what)
			what = families[i] == AF_INET ? "ipv4 route" : "ipv6 route";
		note(&first, rc);
		rc = rule_request(RTM_NEWRULE, families[i], table,
				  NAT_SETUP_RULE_PRIO, name);
		if (rc == -EEXIST)
			rc = 0;
		if (rc < 0 && !what)
			what = families[i] == AF_INET ? "ipv4 rule" : "ipv6 rule";
		note(&first, rc);
	}
	if (!first)
		return 0;
	errf(err, errlen, "bridge '%s': NAT setup (%s, table %u): %s", name,
	     what, table, strerror(-first));
	return -1;
}

int nat_setup_remove(const char *name, char *err, size_t errlen)
{
	int ifindex = (int)if_nametoindex(name);
	int first = 0;

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		struct rule_scan rs = { .name = name };
		int rc = rule_scan(families[i], &rs);

		note(&first, rc);
		for (int k = 0; k < rs.n; k++) {
			rc = rule_request(RTM_DELRULE, families[i],
					  rs.rules[k].table, rs.rules[k].prio, name);
			note(&first, rc == -ENOENT ? 0 : rc);
		}
		/* The device takes its routes along when it goes. */
		if (ifindex > 0 && (uint32_t)ifindex < NAT_SETUP_TABLE_SPAN) {
			rc = route_request(RTM_DELROUTE, families[i],
					   NAT_SETUP_TABLE_BASE + ifindex, ifindex);
			note(&first, rc == -ESRCH || rc == -ENOENT ? 0 : rc);
		}
	}
	forwarding_restore(name);
	if (!first)
		return 0;
	errf(err, errlen, "bridge '%s': removing the NAT setup: %s", name,
	     strerror(-first));
	return -1;
}

int nat_setup_sync(const char *name, bool want, char *err, size_t errlen)
{
	int ifindex;

	if (!want)
		return nat_setup_remove(name, err, errlen);
	/* The neighbour lookup that fixes the new destination MAC treats every
	 * address as broadcast while the namespace has no IPv4 local table,
	 * which 'lo' being up provides. */
	if (iface_set_up("lo", err, errlen))
		return -1;
	ifindex = (int)if_nametoindex(name);
	if (ifindex <= 0) {
		errf(err, errlen, "bridge '%s': no such interface for the NAT "
		     "setup", name);
		return -1;
	}
	return apply(name, ifindex, err, errlen);
}

void nat_setup_bridge(const struct st_bridge *b)
{
	char err[256] = "";

	if (nat_setup_sync(b->name, nat_setup_needed(b), err, sizeof(err)))
		log_warn("%s", err);
}
