/* The daemons' log (brflowd, brflow-dpi): one line per message on stderr,
 * filtered by level, prefixed with the program's name (src/log.c). */
#ifndef BRFLOW_LOG_H
#define BRFLOW_LOG_H

enum log_level { BLOG_ERR, BLOG_WARN, BLOG_INFO, BLOG_DEBUG };

void log_set_program(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info" or "debug" */
const char *log_level_name(enum log_level level);
/* The level a name names: 0, or -1 for no level. */
int log_level_parse(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(BLOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(BLOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(BLOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(BLOG_DEBUG, __VA_ARGS__)

#endif
