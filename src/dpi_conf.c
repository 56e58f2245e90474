/* The DPI host table and brflow-dpi's configuration file (dpi_conf.h). */
#include "dpi_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../rules/dpi.h"
#include "log.h"

#define MAX_ZONES 64

struct dpi_table {
	int n_hosts;
	char *hosts[DPI_MAX_HOSTS];
	int n_zones;
	unsigned zones[MAX_ZONES];
};

static struct dpi_table cur, prev;
static char *conf_path;
static bool written;       /* the file holds 'cur' */

int dpi_conf_set_path(const char *path)
{
	free(conf_path);
	conf_path = strdup(path);
	return conf_path ? 0 : -1;
}

void dpi_conf_hosts(int *n, const char *const **hosts)
{
	*n = cur.n_hosts;
	*hosts = (const char *const *)cur.hosts;
}

static void table_free(struct dpi_table *t)
{
	for (int i = 0; i < t->n_hosts; i++)
		free(t->hosts[i]);
	memset(t, 0, sizeof(*t));
}

static bool table_same_hosts(const struct dpi_table *a, const struct dpi_table *b)
{
	if (a->n_hosts != b->n_hosts)
		return false;
	for (int i = 0; i < a->n_hosts; i++)
		if (strcmp(a->hosts[i], b->hosts[i]))
			return false;
	return true;
}

static bool table_same(const struct dpi_table *a, const struct dpi_table *b)
{
	return table_same_hosts(a, b) && a->n_zones == b->n_zones &&
	       !memcmp(a->zones, b->zones, sizeof(a->zones[0]) * a->n_zones);
}

/* Inserts keeping the array sorted and unique.  -1 when full. */
static int add_host(struct dpi_table *t, const char *h)
{
	int i = 0;

	while (i < t->n_hosts && strcmp(t->hosts[i], h) < 0)
		i++;
	if (i < t->n_hosts && !strcmp(t->hosts[i], h))
		return 0;
	if (t->n_hosts == DPI_MAX_HOSTS)
		return -1;
	memmove(&t->hosts[i + 1], &t->hosts[i], sizeof(char *) * (t->n_hosts - i));
	t->hosts[i] = strdup(h);
	if (!t->hosts[i]) {
		memmove(&t->hosts[i], &t->hosts[i + 1], sizeof(char *) * (t->n_hosts - i));
		return -1;
	}
	t->n_hosts++;
	return 0;
}

static void add_zone(struct dpi_table *t, unsigned z)
{
	int i = 0;

	while (i < t->n_zones && t->zones[i] < z)
		i++;
	if ((i < t->n_zones && t->zones[i] == z) || t->n_zones == MAX_ZONES)
		return;
	memmove(&t->zones[i + 1], &t->zones[i], sizeof(unsigned) * (t->n_zones - i));
	t->zones[i] = z;
	t->n_zones++;
}

static int add_bridge(struct dpi_table *t, const struct st_bridge *b)
{
	for (int i = 0; i < b->n_flows; i++) {
		const struct flow *f = &b->flows[i].flow;

		if (f->dpi_host && add_host(t, f->dpi_host))
			return -1;
		for (int j = 0; j < f->n_actions; j++)
			if (f->actions[j].type == ACT_CT &&
			    f->actions[j].u.ct.zone_reg < 0 && f->actions[j].u.ct.zone)
				add_zone(t, f->actions[j].u.ct.zone);
	}
	return 0;
}

char *dpi_conf_stage(const struct st_state *st, const struct st_bridge *nb,
		     bool *changed)
{
	struct dpi_table t = { 0 };
	int rc = add_bridge(&t, nb);
	char *err;

	for (int i = 0; !rc && i < st->n_bridges; i++)
		if (strcmp(st->bridges[i]->name, nb->name))
			rc = add_bridge(&t, st->bridges[i]);
	if (rc) {
		table_free(&t);
		if (asprintf(&err, "more than %d dpi_host patterns", DPI_MAX_HOSTS) < 0)
			err = NULL;
		return err ? err : strdup("out of memory");
	}
	*changed = !table_same_hosts(&t, &cur);
	table_free(&prev);
	prev = cur;
	cur = t;
	if (!table_same(&prev, &cur))
		written = false;
	return NULL;
}

void dpi_conf_rollback(void)
{
	table_free(&cur);
	cur = prev;
	memset(&prev, 0, sizeof(prev));
	/* Whether the file still holds it is unknown: write again next time. */
	written = false;
}

static int write_file(const char *tmp)
{
	FILE *f;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f, "# brflow-dpi host table, written by brflowd; do not edit\n");
	for (int i = 0; i < cur.n_hosts; i++)
		fprintf(f, "host %d %s\n", i, cur.hosts[i]);
	for (int i = 0; i < cur.n_zones; i++)
		fprintf(f, "zone %u\n", cur.zones[i]);
	if (fflush(f) || ferror(f) || fsync(fd))
		rc = -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

void dpi_conf_sync(void)
{
	char *tmp;

	if (written || !conf_path)
		return;
	if (asprintf(&tmp, "%s.tmp", conf_path) < 0)
		return;
	if (write_file(tmp) || rename(tmp, conf_path)) {
		log_err("cannot write DPI host table %s: %s", conf_path, strerror(errno));
		unlink(tmp);
	} else {
		written = true;
		log_info("DPI host table: %d patterns written to %s", cur.n_hosts,
			 conf_path);
	}
	free(tmp);
}

void dpi_conf_free(void)
{
	table_free(&cur);
	table_free(&prev);
	free(conf_path);
	conf_path = NULL;
}
