/* A bridge port's kernel counters in ovs-ofctl dump-ports' format. */
#ifndef BRFLOW_PORT_STATS_H
#define BRFLOW_PORT_STATS_H

#include <stdint.h>
#include <stdio.h>

/* Prints port 'ofport' (OFPP_LOCAL: the bridge device) as its two
 * dump-ports lines, from the counters of interface 'ifname'; every figure
 * is '?' when the interface does not exist. */
void port_stats_print(FILE *out, uint16_t ofport, const char *ifname);

#endif
