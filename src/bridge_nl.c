/* Bridges and ports through rtnetlink, with libmnl.  Every request is one
 * message on a fresh socket, answered by one ack or one link dump. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "bridge_nl.h"
#include "rtnl.h"
#include "errbuf.h"

/* <net/if.h> stops at IFF_DYNAMIC; <linux/if.h>, which has the rest,
 * clashes with it. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* What we need to know about an existing interface. */
struct link_info {
	int index;
	int master;		/* ifindex of the master, 0 if none */
	char kind[32];		/* IFLA_INFO_KIND, "" for plain devices */
	uint8_t mac[6];		/* IFLA_ADDRESS when it is an Ethernet address */
	unsigned int flags;	/* IFF_* */
	struct rtnl_link_stats64 stats; /* IFLA_STATS64 */
	bool have_stats;
};


static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->master = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, linkinfo_cb, li);
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(a) == sizeof(li->mac))
			memcpy(li->mac, mnl_attr_get_payload(a), sizeof(li->mac));
		break;
	case IFLA_STATS64:
		/* older kernels send a shorter struct; its fields come first */
		li->have_stats = true;
		memcpy(&li->stats, mnl_attr_get_payload(a),
		       mnl_attr_get_payload_len(a) < sizeof(li->stats) ?
		       mnl_attr_get_payload_len(a) : sizeof(li->stats));
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct link_info *li = data;

	li->index = ifm->ifi_index;
	li->flags = ifm->ifi_flags;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, li);
	return MNL_CB_OK;
}

/* Looks 'name' up.  Returns 0, -ENODEV when it does not exist, or -errno. */
static int link_get(const char *name, struct link_info *li)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int ret;

	memset(li, 0, sizeof(*li));
	if (!*name || strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = rtnl_talk(nlh, link_cb, li);
	if (ret == -ENODEV || (!ret && !li->index))
		return -ENODEV;
	return ret;
}

/* Starts an RTM_NEWLINK for ifindex (0 with 'create' for a new link) that
 * also brings the link up. */
static struct nlmsghdr *newlink_start(char *buf, int ifindex, int create)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (create)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return nlh;
}

/* kind "bridge" with the options that make the inet hooks see bridged
 * traffic (br_netfilter honours them per bridge), or not. */
static void put_bridge_linkinfo(struct nlmsghdr *nlh, uint8_t nf_call)
{
	struct nlattr *info, *data;

	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, IFLA_BR_NF_CALL_IPTABLES, nf_call);
	mnl_attr_put_u8(nlh, IFLA_BR_NF_CALL_IP6TABLES, nf_call);
	mnl_attr_put_u8(nlh, IFLA_BR_NF_CALL_ARPTABLES, nf_call);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

static int no_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

/* Looks up 'name' and checks it is a bridge; fills err otherwise. */
static int bridge_get(const char *name, struct link_info *li, char *err,
		      size_t errlen)
{
	int ret = link_get(name, li);

	if (ret == -ENODEV) {
		errf(err, errlen, "no such bridge '%s'", name);
		return -1;
	}
	if (ret) {
		errf(err, errlen, "cannot look up '%s': %s", name,
		     strerror(-ret));
		return -1;
	}
	if (strcmp(li->kind, "bridge")) {
		errf(err, errlen, "'%s' is not a bridge", name);
		return -1;
	}
	return 0;
}

int bridge_add(const char *name, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_info li;
	struct nlmsghdr *nlh;
	int ret;

	if (!*name || strlen(name) >= IFNAMSIZ) {
		errf(err, errlen, "invalid bridge name '%s'", name);
		return -1;
	}
	ret = link_get(name, &li);
	if (ret && ret != -ENODEV) {
		errf(err, errlen, "cannot look up '%s': %s", name,
		     strerror(-ret));
		return -1;
	}
	if (!ret && strcmp(li.kind, "bridge")) {
		errf(err, errlen, "'%s' exists and is not a bridge", name);
		return -1;
	}
	/* new: create it; existing bridge: adopt it with our options */
	nlh = newlink_start(buf, ret ? 0 : li.index, ret != 0);
	if (ret)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	put_bridge_linkinfo(nlh, 1);
	ret = rtnl_talk(nlh, no_cb, NULL);
	if (ret) {
		errf(err, errlen, "cannot set up bridge '%s': %s", name,
		     strerror(-ret));
		return -1;
	}
	return 0;
}

int bridge_set_nf_call(const char *name, bool on, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_info li;
	struct nlmsghdr *nlh;
	int ret;

	if (bridge_get(name, &li, err, errlen))
		return -1;
	nlh = newlink_start(buf, li.index, 0);
	put_bridge_linkinfo(nlh, on);
	ret = rtnl_talk(nlh, no_cb, NULL);
	if (ret) {
		errf(err, errlen, "cannot set nf_call_iptables of bridge '%s': %s",
		     name, strerror(-ret));
		return -1;
	}
	return 0;
}

int bridge_del(const char *name, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_info li;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int ret;

	if (bridge_get(name, &li, err, errlen))
		return -1;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = li.index;
	ret = rtnl_talk(nlh, no_cb, NULL);
	if (ret) {
		errf(err, errlen, "cannot delete bridge '%s': %s", name,
		     strerror(-ret));
		return -1;
	}
	return 0;
}

static int set_master(int ifindex, int master)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = newlink_start(buf, ifindex, 0);

	if (!master) {
		/* releasing: leave the link's up/down state alone */
		struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

		ifm->ifi_flags = ifm->ifi_change = 0;
	}
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return rtnl_talk(nlh, no_cb, NULL);
}

int iface_set_up(const char *name, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_info li;
	int ret = link_get(name, &li);

	if (!ret && (li.flags & IFF_UP))
		return 0;
	if (!ret)
		ret = rtnl_talk(newlink_start(buf, li.index, 0), no_cb, NULL);
	if (ret) {
		errf(err, errlen, "cannot set '%s' up: %s", name, strerror(-ret));
		return -1;
	}
	return 0;
}

int iface_set_admin(const char *name, bool up, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_info li;
	struct nlmsghdr *nlh;
	int ret = link_get(name, &li);

	if (!ret && !(li.flags & IFF_UP) == !up)
		return 0;
	if (!ret) {
		nlh = newlink_start(buf, li.index, 0);
		if (!up)
			((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = 0;
		ret = rtnl_talk(nlh, no_cb, NULL);
	}
	if (ret) {
		errf(err, errlen, "cannot set '%s' %s: %s", name, up ? "up" : "down",
		     strerror(-ret));
		return -1;
	}
	return 0;
}

/* The bridge port's three flood flags at once, as "bridge link set dev X
 * flood on|off mcast_flood on|off bcast_flood on|off" sets them. */
int brport_set_flood(const char *name, bool on, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_info li;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *pi;
	int ret = link_get(name, &li);

	if (!ret) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_SETLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
		ifm->ifi_family = AF_BRIDGE;
		ifm->ifi_index = li.index;
		pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
		mnl_attr_put_u8(nlh, IFLA_BRPORT_UNICAST_FLOOD, on);
		mnl_attr_put_u8(nlh, IFLA_BRPORT_MCAST_FLOOD, on);
		mnl_attr_put_u8(nlh, IFLA_BRPORT_BCAST_FLOOD, on);
		mnl_attr_nest_end(nlh, pi);
		ret = rtnl_talk(nlh, no_cb, NULL);
	}
	if (ret) {
		errf(err, errlen, "cannot set the flood flags of '%s': %s", name,
		     strerror(-ret));
		return -1;
	}
	return 0;
}

int iface_mac(const char *name, uint8_t mac[6])
{
	struct link_info li;

	if (link_get(name, &li))
		return -1;
	memcpy(mac, li.mac, 6);
	return 0;
}

int iface_link_state(const char *name, uint8_t mac[6], bool *admin_up,
		     bool *carrier)
{
	struct link_info li;

	if (link_get(name, &li))
		return -1;
	memcpy(mac, li.mac, sizeof(li.mac));
	*admin_up = li.flags & IFF_UP;
	*carrier = li.flags & IFF_LOWER_UP;
	return 0;
}

int iface_stats(const char *name, struct rtnl_link_stats64 *stats)
{
	struct link_info li;

	if (link_get(name, &li) || !li.have_stats)
		return -1;
	*stats = li.stats;
	return 0;
}

int bridge_add_port(const char *bridge, const char *iface, char *err,
		    size_t errlen)
{
	struct link_info br, port;
	int ret;

	if (bridge_get(bridge, &br, err, errlen))
		return -1;
	ret = link_get(iface, &port);
	if (ret == -ENODEV) {
		errf(err, errlen, "no such interface '%s'", iface);
		return -1;
	}
	if (ret) {
		errf(err, errlen, "cannot look up '%s': %s", iface,
		     strerror(-ret));
		return -1;
	}
	if (port.index == br.index) {
		errf(err, errlen, "cannot add bridge '%s' to itself", bridge);
		return -1;
	}
	ret = set_master(port.index, br.index);
	if (ret) {
		errf(err, errlen, "cannot add '%s' to bridge '%s': %s", iface,
		     bridge, strerror(-ret));
		return -1;
	}
	return 0;
}

int bridge_del_port(const char *bridge, const char *iface, char *err,
		    size_t errlen)
{
	struct link_info br, port;
	int ret;

	if (link_get(iface, &port))
		return 0;	/* gone already: nothing to release */
	/* a missing bridge cannot hold the port */
	if (link_get(bridge, &br) || port.master != br.index)
		return 0;
	ret = set_master(port.index, 0);
	if (ret) {
		errf(err, errlen, "cannot remove '%s' from bridge '%s': %s",
		     iface, bridge, strerror(-ret));
		return -1;
	}
	return 0;
}

int iface_exists(const char *name)
{
	struct link_info li;

	return link_get(name, &li) == 0;
}
