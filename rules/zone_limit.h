/* Conntrack connection limits by zone, as Open vSwitch's set-zone-limit
 * sets them ("5 100", "default 1000"): how many connections committed in
 * a zone may exist at once.  The connection whose commit would make one
 * more is dropped, as OVS's datapath drops it.  A zone's own limit wins
 * over the default; 0 means unlimited, so "5 0" exempts zone 5 from the
 * default. */
#ifndef BRFLOW_ZONE_LIMIT_H
#define BRFLOW_ZONE_LIMIT_H

#include <stdint.h>
#include <stdio.h>

#define ZONE_LIMIT_DEFAULT (-1)

struct zone_limit {
	int32_t zone;     /* 0-65535, or ZONE_LIMIT_DEFAULT */
	uint32_t limit;   /* connections; 0: unlimited */
};

/* ZONE ("N" or "default") and LIMIT as ovs-vsctl takes them.  NULL, or a
 * malloc'd one-line error naming the bad word. */
char *zone_limit_parse(const char *zone, const char *limit, struct zone_limit *out);
char *zone_limit_parse_zone(const char *word, int32_t *zone);

/* The limit of connections committed in 'zone', given the limits (in any
 * order): the zone's own, else the default, else 0 (none). */
uint32_t zone_limit_for(const struct zone_limit *limits, int n, uint16_t zone);

/* "N LIMIT" or "default LIMIT": what zone_limit_parse reads back, the
 * state file's form. */
void zone_limit_print(const struct zone_limit *zl, FILE *out);

#endif
