/* One rtnetlink request and its answers (libmnl), for the modules that
 * manage links, routes and rules. */
#ifndef BRFLOW_RTNL_H
#define BRFLOW_RTNL_H

#include <libmnl/libmnl.h>

/* Sends nlh (with NLM_F_ACK added) on a fresh NETLINK_ROUTE socket and runs
 * cb (may be NULL) on the answers until the ack or the end of a dump.
 * Returns 0 or -errno. */
int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
