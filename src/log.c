/* The daemons' log (src/log.h): one line per message on stderr, filtered by
 * level, prefixed with the program's name. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static enum log_level log_level = BLOG_INFO;
static const char *log_program = "brflow";

void log_set_program(const char *name)
{
	log_program = name;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char buf[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line so lines of concurrent writers do not mix. */
	dprintf(STDERR_FILENO, "%s: %s: %s\n", log_program, names[level], buf);
}
