/* The switch-side setup that NAT of bridged traffic needs (docs/nat.md).
 *
 * br_netfilter re-routes a bridged packet whose destination NAT changed
 * (DNAT, and the de-SNAT of replies); only a route that leads back out of
 * the same bridge makes it bridge the packet on (and fix its destination
 * MAC by a neighbour lookup from the bridge).  For bridge BR brflow keeps:
 *   - IPv4 forwarding on BR (/proc/sys/net/ipv4/conf/BR/forwarding = 1),
 *   - routing table NAT_SETUP_TABLE_BASE + ifindex(BR) holding
 *     "default dev BR" for IPv4 and IPv6,
 *   - the policy rules "iif BR lookup TABLE" (IPv4 and IPv6) at priority
 *     NAT_SETUP_RULE_PRIO, after the local table so traffic to the host's
 *     own addresses is unaffected,
 * while BR's flows or groups use nat or rewrite a destination address
 * (set_field to nw_dst/ipv6_dst, mod_nw_dst), and nothing otherwise. */
#ifndef BRFLOW_NAT_SETUP_H
#define BRFLOW_NAT_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define NAT_SETUP_TABLE_BASE 0x62720000u /* "br" << 16 */
#define NAT_SETUP_TABLE_SPAN 0x10000u    /* tables BASE .. BASE + 0xffff */
#define NAT_SETUP_RULE_PRIO 25202        /* 0x6272 */

/* Whether any flow or group bucket of 'b' has ct(...,nat...) or a
 * destination address rewrite. */
bool nat_setup_needed(const struct st_bridge *b);

/* Brings bridge 'name' to the state 'want' says: applied (idempotent:
 * what exists already is fine) or removed.  Returns 0 or -1 with err. */
int nat_setup_sync(const char *name, bool want, char *err, size_t errlen);

/* nat_setup_sync(b->name, nat_setup_needed(b)), logging a failure. */
void nat_setup_bridge(const struct st_bridge *b);

/* Removes the setup of bridge 'name', also after the bridge is gone (its
 * rules outlive it).  0 or -1 with err. */
int nat_setup_remove(const char *name, char *err, size_t errlen);

#endif
