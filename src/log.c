/* The daemons' log (src/log.h): one line per message on stderr, filtered by
 * level, prefixed with the program's name. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level log_level = BLOG_INFO;
static const char *log_program = "brflow";
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_program(const char *name)
{
	log_program = name;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = BLOG_ERR; i <= BLOG_DEBUG; i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line so lines of concurrent writers do not mix. */
	dprintf(STDERR_FILENO, "%s: %s: %s\n", log_program, level_names[level], buf);
}
