/* Fuzzes brflow-dpi's configuration file parser (queue/dpi_config.c:
 * dpi_config_load, dpi_host_match, dpi_config_host_bits) with the input
 * as the file's contents (an in-memory file, memfd).
 *
 * Properties checked besides no crash/UB/leak:
 *  - the count returned is the number of patterns kept, zones are unique
 *    and at most DPI_MAX_ZONES;
 *  - every pattern kept comes from one whole line of the input reading
 *    "host BIT PATTERN" (optionally followed by a '#' comment), and every
 *    zone from one reading "zone Z": nothing is taken from a comment or
 *    from the middle of a line;
 *  - each pattern matches the host it names (without "*.", in upper case,
 *    with one trailing dot) and dpi_config_host_bits gives that host its bit;
 *  - writing what was kept back as a file and loading it again gives the
 *    same configuration (round trip).
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -o /var/tmp/fuzz-dpi/fuzz_dpi_config tests/fuzz/fuzz_dpi_config.c \
 *     queue/dpi_config.c
 *   nice -n 10 /var/tmp/fuzz-dpi/fuzz_dpi_config -rss_limit_mb=2048 \
 *     -timeout=10 -max_total_time=600 /var/tmp/fuzz-dpi/corpus-config \
 *     tests/fuzz/corpus/dpi_config
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../queue/dpi_config.h"
#include "quiet_log.h"

#define MAX_INPUT 65536
#define DELIM " \t\r\n"

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dpi_config: property broken: %s\n", what);
		abort();
	}
}

/* Loads 'len' bytes at 'data' as a config file. */
static int load(const uint8_t *data, size_t len, struct dpi_config *c)
{
	char path[64];
	int fd = memfd_create("dpi.conf", 0), n;

	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = dpi_config_load(path, c);
	close(fd);
	return n;
}

/* Whether a line (as C reads it: up to a NUL) has exactly the tokens
 * kw, NUM (== num), [word], then nothing or a '#' comment. */
static bool line_says(char *line, const char *kw, long num, const char *word)
{
	char *save = NULL, *t, *end;

	t = strtok_r(line, DELIM, &save);
	if (!t || strcmp(t, kw))
		return false;
	t = strtok_r(NULL, DELIM, &save);
	if (!t || strtol(t, &end, 10) != num || *end)
		return false;
	if (word) {
		t = strtok_r(NULL, DELIM, &save);
		if (!t || strcmp(t, word))
			return false;
	}
	t = strtok_r(NULL, DELIM, &save);
	return !t || t[0] == '#';
}

/* Whether some line of the input says it. */
static bool input_says(const uint8_t *data, size_t len, const char *kw,
		       long num, const char *word)
{
	size_t i = 0;

	while (i < len) {
		const uint8_t *nl = memchr(data + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - data - i) : len - i;
		char *line = strndup((const char *)data + i, n);
		bool yes;

		if (!line)
			abort();
		yes = line_says(line, kw, num, word);
		free(line);
		if (yes)
			return true;
		i += n + 1;
	}
	return false;
}

static void check_patterns(const struct dpi_config *c)
{
	for (int i = 0; i < DPI_MAX_HOSTS; i++) {
		const char *p = c->host[i];
		char host[DPI_HOST_MAX_LEN + 2];
		size_t n;

		if (!p)
			continue;
		if (!strncmp(p, "*.", 2))
			p += 2;
		n = strlen(p);
		check(n > 0 && n <= DPI_HOST_MAX_LEN, "pattern length");
		if (p[n - 1] == '.')
			n--;   /* the root: its own host has one dot, at the end */
		for (size_t j = 0; j < n; j++)
			host[j] = (char)toupper((unsigned char)p[j]);
		host[n] = '.';
		host[n + 1] = 0;
		check(dpi_host_match(c->host[i], host),
		      "pattern does not match its own host");
		check(dpi_config_host_bits(c, p) & (1u << i),
		      "host bits miss the pattern's bit");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpi_config c, again;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	int n, kept = 0;

	if (size > MAX_INPUT)
		return 0;
	n = load(data, size, &c);
	for (int i = 0; i < DPI_MAX_HOSTS; i++) {
		if (!c.host[i])
			continue;
		kept++;
		check(input_says(data, size, "host", i, c.host[i]),
		      "pattern not from a 'host BIT PATTERN' line");
	}
	check(n == kept, "count is not the patterns kept");
	check(c.n_zones >= 0 && c.n_zones <= DPI_MAX_ZONES, "zone count");
	for (int i = 0; i < c.n_zones; i++) {
		check(input_says(data, size, "zone", c.zones[i], NULL),
		      "zone not from a 'zone Z' line");
		for (int j = 0; j < i; j++)
			check(c.zones[i] != c.zones[j], "zone twice");
	}
	check_patterns(&c);

	/* Round trip through the file format. */
	f = open_memstream(&text, &tlen);
	if (!f)
		abort();
	for (int i = 0; i < DPI_MAX_HOSTS; i++)
		if (c.host[i])
			fprintf(f, "host %d %s\n", i, c.host[i]);
	for (int i = 0; i < c.n_zones; i++)
		fprintf(f, "zone %u\n", c.zones[i]);
	fclose(f);
	check(load((const uint8_t *)text, tlen, &again) == n, "round trip count");
	for (int i = 0; i < DPI_MAX_HOSTS; i++)
		check((!c.host[i] && !again.host[i]) ||
		      (c.host[i] && again.host[i] &&
		       !strcmp(c.host[i], again.host[i])),
		      "round trip patterns");
	check(again.n_zones == c.n_zones &&
	      !memcmp(again.zones, c.zones, sizeof(c.zones)), "round trip zones");
	free(text);
	dpi_config_free(&again);
	dpi_config_free(&c);
	return 0;
}
