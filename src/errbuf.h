/* One-line error messages into a caller's buffer, the way the kernel-side
 * modules (bridge_nl, nft_backend, conntrack) report failures. */
#ifndef BRFLOW_ERRBUF_H
#define BRFLOW_ERRBUF_H

#include <stddef.h>

/* Formats into err (at most errlen bytes, always terminated); a NULL or
 * empty buffer is ignored. */
void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
