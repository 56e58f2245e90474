/* Matching a DPI host name against a dpi_host= pattern: the one rule the
 * handler (which sets the label bits) and brflowctl trace (which predicts
 * them) share. */
#include <string.h>
#include <strings.h>

#include "dpi.h"

/* A name's length without its trailing dot (the root): "example.com."
 * is example.com. */
static size_t name_len(const char *name)
{
	size_t n = strlen(name);

	return n && name[n - 1] == '.' ? n - 1 : n;
}

bool dpi_host_match(const char *pattern, const char *host)
{
	size_t hl = name_len(host), pl;

	if (!strncmp(pattern, "*.", 2)) {
		pattern += 2;
		pl = name_len(pattern);
		if (hl == pl)
			return !strncasecmp(host, pattern, hl);
		/* A suffix at a label boundary: "a.example.com", not "aexample.com". */
		return hl > pl && host[hl - pl - 1] == '.' &&
		       !strncasecmp(host + hl - pl, pattern, pl);
	}
	pl = name_len(pattern);
	return hl == pl && !strncasecmp(host, pattern, hl);
}
