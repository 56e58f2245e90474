/* The log for a fuzz harness, in place of src/log.c: every message is
 * formatted (so that its arguments are used, as ASan and UBSan should see)
 * and none is printed (the fuzzer's output stays readable).  Include it in
 * one file of the harness. */
#ifndef BRFLOW_FUZZ_QUIET_LOG_H
#define BRFLOW_FUZZ_QUIET_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "../../src/log.h"

void log_set_level(enum log_level level)
{
	(void)level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

#endif
