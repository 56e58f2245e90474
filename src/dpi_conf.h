/* brflowd's side of DPI: the host table every bridge compiles against
 * (sorted unique dpi_host= patterns of all bridges' flows; pattern i is
 * ct label bit 96+i, rules/dpi.h) and the handler's configuration file that
 * publishes it ("host BIT PATTERN" lines, plus "zone Z" for the conntrack
 * zones flows name, see brflow-dpi(8)), written atomically. */
#ifndef BRFLOW_DPI_CONF_H
#define BRFLOW_DPI_CONF_H

#include <stdbool.h>

#include "state.h"

/* Where the file goes (brflowd --dpi-conf, else the control socket's
 * directory + "/dpi.conf").  Copied. */
int dpi_conf_set_path(const char *path);

/* The table st_compile passes in every compile_input. */
void dpi_conf_hosts(int *n, const char *const **hosts);

/* Computes the table of 'st' with 'nb' in place of the bridge of the same
 * name and makes it current, so compiling nb uses it.  NULL, or a malloc'd
 * error ("more than 16 dpi_host patterns") with nothing changed.  *changed
 * says whether the patterns' bits moved (other bridges need recompiling). */
char *dpi_conf_stage(const struct st_state *st, const struct st_bridge *nb,
		     bool *changed);
/* Undoes the last dpi_conf_stage (the commit failed). */
void dpi_conf_rollback(void);
/* Writes the file if the current table differs from what it holds (or it
 * was never written by this process).  Errors are logged. */
void dpi_conf_sync(void);

void dpi_conf_free(void);

#endif
