/* Bridges and their ports through rtnetlink (libmnl). */
#ifndef BRFLOW_BRIDGE_NL_H
#define BRFLOW_BRIDGE_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates bridge 'name' (up, with nf_call_iptables/ip6tables/arptables on so
 * the inet hooks see bridged traffic); adopts it if it exists as a bridge.
 * Returns 0 or -1 with err ("'eth0' exists and is not a bridge"). */
int bridge_add(const char *name, char *err, size_t errlen);
/* Turns the bridge's nf_call_iptables/ip6tables/arptables on (br_netfilter
 * hands its IP traffic to the inet hooks) or off (brflow tracks it in the
 * bridge family).  0 or -1 with err. */
int bridge_set_nf_call(const char *name, bool on, char *err, size_t errlen);
/* Deletes the bridge. 0 or -1 with err. */
int bridge_del(const char *name, char *err, size_t errlen);
/* Enslaves iface to bridge and sets it up. 0 or -1 ("no such interface 'x'"). */
int bridge_add_port(const char *bridge, const char *iface, char *err, size_t errlen);
/* Releases iface from the bridge (missing iface is fine). */
int bridge_del_port(const char *bridge, const char *iface, char *err, size_t errlen);
/* 1 if 'name' exists, 0 if not. */
int iface_exists(const char *name);
/* Sets 'name' up unless it is; 0 or -1 with err. */
int iface_set_up(const char *name, char *err, size_t errlen);
/* Sets 'name' up or down (IFF_UP) unless it is; 0 or -1 with err. */
int iface_set_admin(const char *name, bool up, char *err, size_t errlen);
/* Lets the bridge flood (unknown unicast, multicast, broadcast) to port
 * 'name' or not; 0 or -1 with err. */
int brport_set_flood(const char *name, bool on, char *err, size_t errlen);
/* The link-layer address of 'name'; 0 or -1. */
int iface_mac(const char *name, uint8_t mac[6]);
/* 'name''s address, whether it is up (IFF_UP) and has a carrier
 * (IFF_LOWER_UP); 0 or -1. */
int iface_link_state(const char *name, uint8_t mac[6], bool *admin_up,
		     bool *carrier);
struct rtnl_link_stats64;
/* The kernel's counters of 'name' (IFLA_STATS64); 0 or -1. */
int iface_stats(const char *name, struct rtnl_link_stats64 *stats);

#endif
