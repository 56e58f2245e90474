/* OpenFlow groups (ovs-ofctl add-group syntax), as the daemon stores them
 * and the compiler consumes them.  Only type=select is compiled: a
 * connection's first packet picks a bucket by a hash of its addresses and
 * ports, weighted; the bucket's ct(commit,nat(dst=...)) then pins the
 * connection to that backend. */
#ifndef BRFLOW_GROUP_H
#define BRFLOW_GROUP_H

#include "flow.h"

#define GROUP_MAX_BUCKETS 64

enum group_type { GROUP_SELECT, GROUP_ALL, GROUP_INDIRECT, GROUP_FF };

struct ofgroup_bucket {
	uint32_t bucket_id;          /* bucket_id:N, or its position when not given */
	uint16_t weight;             /* weight:N, default 1 */
	int n_actions;
	struct flow_action *actions; /* malloc'd, like flow.actions */
};

/* "ofgroup": <grp.h> already has a struct group. */
struct ofgroup {
	uint32_t group_id;
	enum group_type type;
	int n_buckets;
	struct ofgroup_bucket buckets[GROUP_MAX_BUCKETS];
};

/* Parses "group_id=1,type=select,bucket=bucket_id:0,weight:50,actions=ct(commit,nat(dst=10.1.1.2:80)),bucket=..."
 * (OVS's syntax: commas or spaces; "bucket=actions=..." and "bucket=output:2"
 * forms too).  NULL on success, else a malloc'd one-line error with the
 * column, like flow_parse.  With 'id_only', only group_id= is required (for
 * del-groups/dump-groups patterns). */
char *group_parse(const char *text, struct ofgroup *out, bool id_only);
/* "group_id=1,type=select,bucket=bucket_id:0,weight:50,actions=...,bucket=..."
 * as ovs-ofctl dump-groups prints it (without the leading space). malloc'd. */
char *group_format(const struct ofgroup *g);
void group_free(struct ofgroup *g);

/* command_bucket_id's keywords (OFPG15_BUCKET_FIRST, _LAST, _ALL). */
#define BUCKET_CMD_FIRST 0xfffffffdu
#define BUCKET_CMD_LAST 0xfffffffeu
#define BUCKET_CMD_ALL 0xffffffffu

/* An insert-buckets or remove-buckets text, parsed up to its buckets: OpenFlow
 * 1.5's bucket commands, which change one group's bucket list in place. */
struct group_bucket_mod {
	uint32_t group_id;
	uint32_t command_bucket_id; /* a bucket_id or BUCKET_CMD_* */
	bool insert;
	size_t command_bucket_off;  /* for errors: where the value was */
	size_t buckets_off;         /* where the first "bucket=" is */
};

/* "group_id=N,command_bucket_id=first|last|ID,bucket=..." (insert: the
 * command bucket is required and may not be all) or
 * "group_id=N[,command_bucket_id=first|last|all|ID]" (remove: all by
 * default).  NULL on success, else a malloc'd error with the column. */
char *group_bucket_mod_parse(const char *text, bool insert,
			     struct group_bucket_mod *out);
/* Applies m, parsed from text, to g, the group with m's group_id, as OVS
 * does: new buckets go first, last or right after the command bucket, and
 * those without a bucket_id take the lowest ids g does not use.  An error
 * (a bad bucket, an id g already has, a command bucket g lacks) leaves g
 * as it was. */
char *group_bucket_mod_apply(const char *text, const struct group_bucket_mod *m,
			     struct ofgroup *g);
/* The nftables counter object of a group's bucket ("group_1_0": group 1,
 * bucket_id 0), which every rule of that bucket counts into
 * (dump-group-stats). */
void group_counter_name(uint32_t group_id, uint32_t bucket_id, char *buf, unsigned len);
int group_copy(struct ofgroup *dst, const struct ofgroup *src);

#endif
