/* A bridge port as ovs-ofctl prints one: its kernel counters in
 * dump-ports' format, its address and state in show's. */
#ifndef BRFLOW_PORT_STATS_H
#define BRFLOW_PORT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Prints port 'ofport' (OFPP_LOCAL: the bridge device) as its two
 * dump-ports lines, from the counters of interface 'ifname'; every figure
 * is '?' when the interface does not exist. */
void port_stats_print(FILE *out, uint16_t ofport, const char *ifname);

/* Prints port 'ofport' as ovs-ofctl show does:
 *  1(p1): addr:8a:ff:86:3f:11:83
 *      config:     0
 *      state:      0
 * config is 'config' (PORT_CONFIG_*, rules/compile.h) by OVS's names, with
 * PORT_DOWN when the interface is down (whatever 'config' says), state
 * LINK_DOWN when it has no carrier; one line "(no such interface)" when
 * it does not exist. */
void port_desc_print(FILE *out, uint16_t ofport, const char *ifname, uint32_t config);

/* 'config' with PORT_DOWN as interface 'ifname' is now, whoever set it
 * (unchanged when the interface does not exist). */
uint32_t port_config_now(const char *ifname, uint32_t config);

/* 'config' as OVS prints it: "PORT_DOWN NO_RECV NO_FLOOD NO_FWD" (those
 * set, in that order), "0" for none. */
void port_config_format(uint32_t config, char *buf, size_t len);
/* The PORT_CONFIG_* bit named 'name' (e.g. "NO_FWD"), or 0. */
uint32_t port_config_bit(const char *name);

#endif
