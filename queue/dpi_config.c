/* Host patterns from the configuration file (dpi_config.h). */
#include "dpi_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../src/log.h"

void dpi_config_free(struct dpi_config *c)
{
	for (int i = 0; i < DPI_MAX_HOSTS; i++)
		free(c->host[i]);
	memset(c, 0, sizeof(*c));
}

static bool valid_pattern(const char *p)
{
	size_t len = strlen(p);

	if (!len || len > DPI_HOST_MAX_LEN)
		return false;
	if (!strncmp(p, "*.", 2))
		p += 2;
	if (!*p)
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

static const char *parse_zone(const char *arg, struct dpi_config *c)
{
	char *end;
	long n;

	if (!arg)
		return "expected 'zone Z'";
	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || *end || n < 0 || n > 65535)
		return "bad zone number";
	for (int i = 0; i < c->n_zones; i++)
		if (c->zones[i] == n)
			return NULL;
	if (c->n_zones == DPI_MAX_ZONES)
		return "too many zones";
	c->zones[c->n_zones++] = (uint16_t)n;
	return NULL;
}

/* One line; returns NULL or why it is bad. */
static const char *parse_line(char *line, struct dpi_config *c)
{
	char *kw, *bit, *pat, *extra, *end, *save = NULL;
	long n;

	kw = strtok_r(line, " \t\r\n", &save);
	if (!kw || kw[0] == '#')
		return NULL;
	if (!strcmp(kw, "zone")) {
		char *zone = strtok_r(NULL, " \t\r\n", &save);

		extra = strtok_r(NULL, " \t\r\n", &save);
		if (extra && extra[0] != '#')
			return "expected 'zone Z'";
		return parse_zone(zone, c);
	}
	if (strcmp(kw, "host"))
		return "unknown keyword";
	bit = strtok_r(NULL, " \t\r\n", &save);
	pat = strtok_r(NULL, " \t\r\n", &save);
	extra = strtok_r(NULL, " \t\r\n", &save);
	if (!bit || !pat || (extra && extra[0] != '#'))
		return "expected 'host BIT PATTERN'";
	errno = 0;
	n = strtol(bit, &end, 10);
	if (errno || *end || n < 0 || n >= DPI_MAX_HOSTS)
		return "bad bit number";
	if (!valid_pattern(pat))
		return "bad host pattern";
	if (c->host[n])
		return "bit used twice";
	c->host[n] = strdup(pat);
	return c->host[n] ? NULL : "out of memory";
}

int dpi_config_load(const char *path, struct dpi_config *out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, count = 0;
	FILE *f;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	/* Whole lines, however long: a piece of one must not read as a line
	 * of its own (the tail of a long comment, say). */
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *why;

		lineno++;
		if (strlen(line) != (size_t)len)
			why = "NUL byte in line";
		else
			why = parse_line(line, out);
		if (why)
			log_warn("%s:%d: %s; line skipped", path, lineno, why);
	}
	free(line);
	fclose(f);
	for (int i = 0; i < DPI_MAX_HOSTS; i++)
		count += out->host[i] != NULL;
	return count;
}

uint16_t dpi_config_host_bits(const struct dpi_config *c, const char *host)
{
	uint16_t bits = 0;

	if (!host || !*host)
		return 0;
	for (int i = 0; i < DPI_MAX_HOSTS; i++)
		if (c->host[i] && dpi_host_match(c->host[i], host))
			bits |= (uint16_t)1 << i;
	return bits;
}
