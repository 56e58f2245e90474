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
/* The nftables counter object of a group's bucket ("group_1_0": group 1,
 * bucket_id 0), which every rule of that bucket counts into
 * (dump-group-stats). */
void group_counter_name(uint32_t group_id, uint32_t bucket_id, char *buf, unsigned len);
int group_copy(struct ofgroup *dst, const struct ofgroup *src);

#endif
