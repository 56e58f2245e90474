/* One-line error messages as the modules hand them up: malloc'd, never
 * NULL (out of memory gives a constant-text copy).  src/errbuf.h's errf
 * writes into a caller's buffer instead. */
#ifndef BRFLOW_ERRSTR_H
#define BRFLOW_ERRSTR_H

char *errstr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
