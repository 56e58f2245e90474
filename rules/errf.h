/* One-line error messages as the modules hand them up: malloc'd, never
 * NULL (out of memory gives a constant-text copy). */
#ifndef BRFLOW_ERRF_H
#define BRFLOW_ERRF_H

char *errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
