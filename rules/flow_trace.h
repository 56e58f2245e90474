/* brflowctl trace: what a bridge's flow tables do with one packet, told
 * step by step as Open vSwitch's ofproto/trace tells it.  The packet is a
 * flow in ovs-ofctl syntax whose fields are its header values; the tables
 * are walked as OpenFlow defines them (highest priority first, resubmit,
 * goto_table, ct(table=N) resuming with the connection's state), which is
 * what the compiled ruleset implements.  Nothing touches the kernel. */
#ifndef BRFLOW_FLOW_TRACE_H
#define BRFLOW_FLOW_TRACE_H

#include <stdio.h>

#include "compile.h"
#include "flow.h"
#include "group.h"
#include "meter.h"

#define TRACE_MAX_CT_NEXT 16

/* One address in the bridge's forwarding database (its MAC table). */
struct trace_mac {
	uint8_t mac[6];
	uint16_t vlan;          /* 0 without VLAN filtering */
	bool local;             /* the bridge's own address: frames to it go up to the host */
	uint32_t ofport;        /* the port it was learned on; 0: not a brflow port */
	char ifname[16];        /* that port's interface */
	unsigned int age;       /* seconds since it was last seen */
};

struct trace_input {
	const char *bridge;
	/* The bridge's flows, in the order they were added (ties between
	 * overlapping flows of one priority go to the first). */
	const struct flow *const *flows;
	int n_flows;
	const struct ofgroup *groups;
	int n_groups;
	const struct ofmeter *meters;  /* for meter:N */
	int n_meters;
	/* The packet: parsed with match_only, every field a full value. */
	const struct flow *packet;
	bool table_given;       /* the packet's table= says where to start */
	/* ct_state each ct(table=N) resumes with, in order (--ct-next);
	 * once they run out, trk|new. */
	uint8_t ct_next[TRACE_MAX_CT_NEXT];
	int n_ct_next;
	/* The bridge's ports and LOCAL's mod-port config (PORT_CONFIG_*):
	 * what a port may receive and send whatever the flows say. */
	const struct compile_port *ports;
	int n_ports;
	uint32_t local_config;
	/* The interface name of an ofport, or NULL. */
	const char *(*port_name)(uint32_t ofport, void *arg);
	void *port_arg;
	bool names;             /* print ports in flows by name (--names) */
	/* with_fdb: the bridge's forwarding database is fdb (or could not be
	 * read: fdb_error), and the trace says where the bridge sends the
	 * packet by its dl_dst, and what that does to the output chosen. */
	bool with_fdb;
	const struct trace_mac *fdb;
	int n_fdb;
	const char *fdb_error;
};

/* Checks that 'packet' describes one packet: no masks (ct_state is a set
 * of flags).  NULL, or a malloc'd one-line error naming the field. */
char *flow_trace_check_packet(const struct flow *packet);

/* Parses --ct-next's FLAGS: names of ct_state flags separated by ',', '|'
 * or '+' ("trk,est", "+trk+est", "est"); trk is implied.  NULL on success,
 * else a malloc'd one-line error naming the bad flag. */
char *flow_trace_parse_ct_state(const char *text, uint8_t *flags);

/* Prints the trace to 'out'.  Returns NULL, or a malloc'd error (out of
 * memory, or a conjunction the compiler refuses too: flow_conj_expand). */
char *flow_trace(const struct trace_input *in, FILE *out);

#endif
