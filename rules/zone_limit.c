/* Conntrack connection limits by zone (zone_limit.h). */
#include "zone_limit.h"
#include "decimal.h"
#include "errstr.h"

#include <string.h>

char *zone_limit_parse_zone(const char *word, int32_t *zone)
{
	int64_t z;

	if (!strcmp(word, "default")) {
		*zone = ZONE_LIMIT_DEFAULT;
		return NULL;
	}
	z = decimal(word, 65535);
	if (z < 0)
		return errstr("invalid zone '%s' (0-65535 or default)", word);
	*zone = (int32_t)z;
	return NULL;
}

char *zone_limit_parse(const char *zone, const char *limit, struct zone_limit *out)
{
	char *err = zone_limit_parse_zone(zone, &out->zone);
	int64_t l;

	if (err)
		return err;
	l = decimal(limit, UINT32_MAX);
	if (l < 0)
		return errstr("invalid limit '%s' (0-%u connections, 0 for none)",
			      limit, UINT32_MAX);
	out->limit = (uint32_t)l;
	return NULL;
}

uint32_t zone_limit_for(const struct zone_limit *limits, int n, uint16_t zone)
{
	uint32_t fallback = 0;

	for (int i = 0; i < n; i++) {
		if (limits[i].zone == zone)
			return limits[i].limit;
		if (limits[i].zone == ZONE_LIMIT_DEFAULT)
			fallback = limits[i].limit;
	}
	return fallback;
}

void zone_limit_print(const struct zone_limit *zl, FILE *out)
{
	if (zl->zone == ZONE_LIMIT_DEFAULT)
		fprintf(out, "default %u", zl->limit);
	else
		fprintf(out, "%d %u", zl->zone, zl->limit);
}
