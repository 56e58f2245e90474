/* Decimal numbers as the zone commands take them ("5", "100"): digits
 * only, no sign, no base prefix, no trailing text. */
#ifndef BRFLOW_DECIMAL_H
#define BRFLOW_DECIMAL_H

#include <stdint.h>

/* The value of 's' if it is such a number of at most 'max', else -1. */
int64_t decimal(const char *s, int64_t max);

#endif
