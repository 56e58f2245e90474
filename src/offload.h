/* The flowtable fast path for established connections that brflow's flows
 * allowed and committed (issue 4): per bridge offload=off|on|hw, and the
 * namespace-wide table "brflowd_offload" that carries it out. */
#ifndef BRFLOW_OFFLOAD_H
#define BRFLOW_OFFLOAD_H

#include "../rules/nftir.h"
#include "nft_backend.h"

/* A bridge's setting; DEFAULT means "on where the kernel has flowtables". */
enum offload_mode { OFFLOAD_DEFAULT, OFFLOAD_OFF, OFFLOAD_ON, OFFLOAD_HW };

#define OFFLOAD_TABLE "brflowd_offload"

struct st_state;
struct st_bridge;

/* "off", "on", "hw" (DEFAULT prints as what it means on this kernel). */
const char *offload_name(int mode, const struct nft_features *f);
/* "on"/"off"/"hw" -> mode, or -1. */
int offload_parse(const char *s);
/* The mode in force: never DEFAULT. */
int offload_effective(int mode, const struct nft_features *f);
/* NULL if 'mode' can work on this kernel, else a malloc'd one-line reason
 * naming the missing kernel feature. */
char *offload_check(int mode, const struct nft_features *f);

/* Replaces the offload table (one transaction), built from every bridge
 * of 'st' with 'nb' (may be NULL) standing in for its namesake or added,
 * and without bridge 'gone' (may be NULL).  Nothing on a kernel without
 * flowtables.  0, or -1 with a one-line reason in err. */
int offload_apply(const struct st_state *st, const struct st_bridge *nb,
		  const char *gone, char *err, size_t errlen);

/* After any change of any bridge's ruleset: rebuilds the offload table,
 * empty flowtables included, so that every offloaded connection meets the
 * new flows with its next packet.  Failures are logged. */
void offload_after_change(const struct st_state *st);

#endif
