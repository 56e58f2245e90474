/* Decimal numbers as the zone commands take them (decimal.h). */
#include "decimal.h"

#include <errno.h>
#include <stdlib.h>

int64_t decimal(const char *s, int64_t max)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || v > max)
		return -1;
	return v;
}
