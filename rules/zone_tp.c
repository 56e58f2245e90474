/* Conntrack timeout policies by zone (zone_tp.h). */
#include "zone_tp.h"
#include "decimal.h"
#include "errstr.h"

#include <stdbool.h>
#include <string.h>

static const char *const key_names[TP_KEYS] = {
	"tcp_syn_sent", "tcp_syn_recv", "tcp_established", "tcp_fin_wait",
	"tcp_close_wait", "tcp_last_ack", "tcp_time_wait", "tcp_close",
	"tcp_syn_sent2", "tcp_retransmit", "tcp_unack",
	"udp_first", "udp_single", "udp_multiple",
};

char *zone_tp_parse(char *const *words, int n, struct zone_tp *out)
{
	bool zone = false, any = false;

	memset(out, 0, sizeof(*out));
	for (int k = 0; k < TP_KEYS; k++)
		out->secs[k] = -1;
	for (int i = 0; i < n; i++) {
		const char *w = words[i], *eq = strchr(w, '=');
		size_t len = eq ? (size_t)(eq - w) : strlen(w);
		int k;

		if (!eq)
			return errstr("'%s' must look like KEY=VALUE", w);
		if (len == 4 && !strncmp(w, "zone", 4)) {
			int64_t z = decimal(eq + 1, 65535);

			if (z < 0)
				return errstr("invalid zone '%s' (0-65535)", eq + 1);
			out->zone = (uint16_t)z;
			zone = true;
			continue;
		}
		for (k = 0; k < TP_KEYS; k++)
			if (strlen(key_names[k]) == len && !strncmp(w, key_names[k], len))
				break;
		if (k == TP_KEYS) {
			if (len == 10 && (!strncmp(w, "icmp_first", 10) ||
					  !strncmp(w, "icmp_reply", 10)))
				return errstr("'%.*s' is not supported (nftables' timeout policies have no ICMP timeout)",
					      (int)len, w);
			return errstr("unknown timeout '%.*s'", (int)len, w);
		}
		if (out->secs[k] >= 0)
			return errstr("'%s' given twice", key_names[k]);
		/* the kernel keeps a timeout in jiffies, 32 bits at HZ <= 1000 */
		out->secs[k] = decimal(eq + 1, UINT32_MAX / 1000);
		if (out->secs[k] < 0)
			return errstr("invalid number of seconds '%s' for %s", eq + 1,
				      key_names[k]);
		any = true;
	}
	if (!zone)
		return errstr("missing zone=N");
	if (!any)
		return errstr("no timeout given (tcp_established=SECS, udp_first=SECS, ...)");
	if (out->secs[TP_UDP_FIRST] >= 0 && out->secs[TP_UDP_SINGLE] >= 0 &&
	    out->secs[TP_UDP_FIRST] != out->secs[TP_UDP_SINGLE])
		return errstr("udp_first and udp_single are one timeout on Linux (unreplied): give them the same value");
	return NULL;
}

void zone_tp_print(const struct zone_tp *tp, FILE *out)
{
	fprintf(out, "zone=%u", tp->zone);
	zone_tp_print_keys(tp, out);
}

void zone_tp_print_keys(const struct zone_tp *tp, FILE *out)
{
	for (int k = 0; k < TP_KEYS; k++)
		if (tp->secs[k] >= 0)
			fprintf(out, " %s=%lld", key_names[k], (long long)tp->secs[k]);
}

int zone_tp_values(const struct zone_tp *tp, const uint32_t *tcp_defaults,
		   const uint32_t *udp_defaults, uint32_t *tcp, uint32_t *udp)
{
	int protos = 0;
	int64_t unreplied = tp->secs[TP_UDP_FIRST] >= 0 ? tp->secs[TP_UDP_FIRST] :
			    tp->secs[TP_UDP_SINGLE];

	for (int k = 0; k < TP_TCP_KEYS; k++) {
		tcp[k] = tp->secs[k] >= 0 ? (uint32_t)tp->secs[k] : tcp_defaults[k];
		if (tp->secs[k] >= 0)
			protos |= 1;
	}
	udp[0] = unreplied >= 0 ? (uint32_t)unreplied : udp_defaults[0];
	udp[1] = tp->secs[TP_UDP_MULTIPLE] >= 0 ? (uint32_t)tp->secs[TP_UDP_MULTIPLE] :
		 udp_defaults[1];
	if (unreplied >= 0 || tp->secs[TP_UDP_MULTIPLE] >= 0)
		protos |= 2;
	return protos;
}
