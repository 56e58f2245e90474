/* Conntrack timeout policies by zone, as Open vSwitch's add-zone-tp sets
 * them ("zone=5 udp_first=1 udp_single=1 udp_multiple=30"): what a
 * connection committed in the zone times out after, in each state.
 *
 * Linux keeps one timeout per TCP state and two for UDP (unreplied,
 * replied): udp_first and udp_single are both its unreplied timeout, so
 * they must agree.  OVS's icmp_first and icmp_reply have no counterpart
 * in nftables' timeout objects and are refused. */
#ifndef BRFLOW_ZONE_TP_H
#define BRFLOW_ZONE_TP_H

#include <stdint.h>
#include <stdio.h>

/* The keys, in OVS's order; the TCP ones first, in the order of the
 * kernel's timeout array (libnftnl's NFTNL_CTTIMEOUT_TCP_*). */
enum zone_tp_key {
	TP_TCP_SYN_SENT, TP_TCP_SYN_RECV, TP_TCP_ESTABLISHED, TP_TCP_FIN_WAIT,
	TP_TCP_CLOSE_WAIT, TP_TCP_LAST_ACK, TP_TCP_TIME_WAIT, TP_TCP_CLOSE,
	TP_TCP_SYN_SENT2, TP_TCP_RETRANSMIT, TP_TCP_UNACK,
	TP_UDP_FIRST, TP_UDP_SINGLE, TP_UDP_MULTIPLE,
	TP_KEYS
};
#define TP_TCP_KEYS (TP_TCP_UNACK + 1)

struct zone_tp {
	uint16_t zone;
	int64_t secs[TP_KEYS];  /* -1: not set (the kernel's default) */
};

/* "zone=N KEY=SECS ...": at least one key, each at most once.  NULL, or a
 * malloc'd one-line error naming the bad word. */
char *zone_tp_parse(char *const *words, int n, struct zone_tp *out);

/* "zone=N KEY=SECS ..." (the keys set, in order): what zone_tp_parse
 * reads back, and the state file's form. */
void zone_tp_print(const struct zone_tp *tp, FILE *out);
/* The keys alone, each as " KEY=SECS" (list-zone-tp's form follows the
 * zone with them). */
void zone_tp_print_keys(const struct zone_tp *tp, FILE *out);

/* The kernel's arrays for a policy: tcp[] and udp[] (unreplied, replied)
 * get the policy's values, else defaults' (tcp_defaults[TP_TCP_KEYS],
 * udp_defaults[2]).  Returns which protocols the policy names: bit 0 TCP,
 * bit 1 UDP. */
int zone_tp_values(const struct zone_tp *tp, const uint32_t *tcp_defaults,
		   const uint32_t *udp_defaults, uint32_t *tcp, uint32_t *udp);

#endif
