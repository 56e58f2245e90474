/* Timeout policies by zone (rules/zone_tp.h): parse -> print round trips,
 * every error message, and the kernel arrays a policy gives (defaults
 * where it is silent, udp_first/udp_single as the one unreplied timeout). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/zone_tp.h"
#include "report.h"

/* Splits a copy of 'text' at spaces into words[] (at most 32). */
static int split(char *text, char **words)
{
	int n = 0;

	for (char *w = strtok(text, " "); w && n < 32; w = strtok(NULL, " "))
		words[n++] = w;
	return n;
}

/* Parses 'text'; the error (malloc'd) or NULL, *tp filled. */
static char *parse(const char *text, struct zone_tp *tp)
{
	char *copy = strdup(text), *words[32];
	char *err = zone_tp_parse(words, split(copy, words), tp);

	free(copy);
	return err;
}

/* input, what zone_tp_print prints back */
static const char *const roundtrips[][2] = {
	{ "zone=5 udp_first=3 udp_single=3 udp_multiple=30",
	  "zone=5 udp_first=3 udp_single=3 udp_multiple=30" },
	{ "udp_multiple=9 tcp_established=7 zone=2",
	  "zone=2 tcp_established=7 udp_multiple=9" },
	{ "zone=0 tcp_syn_sent=1 tcp_syn_recv=2 tcp_established=3 tcp_fin_wait=4 "
	  "tcp_close_wait=5 tcp_last_ack=6 tcp_time_wait=7 tcp_close=8 tcp_syn_sent2=9 "
	  "tcp_retransmit=10 tcp_unack=11",
	  "zone=0 tcp_syn_sent=1 tcp_syn_recv=2 tcp_established=3 tcp_fin_wait=4 "
	  "tcp_close_wait=5 tcp_last_ack=6 tcp_time_wait=7 tcp_close=8 tcp_syn_sent2=9 "
	  "tcp_retransmit=10 tcp_unack=11" },
	{ "zone=65535 udp_first=4294967", "zone=65535 udp_first=4294967" },
};

/* input, zone_tp_parse's error */
static const char *const errors[][2] = {
	{ "udp_first=1", "missing zone=N" },
	{ "zone=5", "no timeout given (tcp_established=SECS, udp_first=SECS, ...)" },
	{ "zone=65536 udp_first=1", "invalid zone '65536' (0-65535)" },
	{ "zone=x udp_first=1", "invalid zone 'x' (0-65535)" },
	{ "zone=5 udp_frist=1", "unknown timeout 'udp_frist'" },
	{ "zone=5 icmp=1", "unknown timeout 'icmp'" },
	{ "zone=5 =1", "unknown timeout ''" },
	{ "zone=5 icmp_first=1",
	  "'icmp_first' is not supported (nftables' timeout policies have no ICMP timeout)" },
	{ "zone=5 icmp_reply=1",
	  "'icmp_reply' is not supported (nftables' timeout policies have no ICMP timeout)" },
	{ "zone=5 udp_first", "'udp_first' must look like KEY=VALUE" },
	{ "zone=5 udp_first=1 udp_first=2", "'udp_first' given twice" },
	{ "zone=5 udp_first=1 udp_single=2",
	  "udp_first and udp_single are one timeout on Linux (unreplied): give them the same value" },
	{ "zone=5 tcp_close=1s", "invalid number of seconds '1s' for tcp_close" },
	{ "zone=5 tcp_close=-1", "invalid number of seconds '-1' for tcp_close" },
	{ "zone=5 tcp_close=4294968", "invalid number of seconds '4294968' for tcp_close" },
};

static void check_roundtrips(void)
{
	for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++) {
		struct zone_tp tp;
		char *err = parse(roundtrips[i][0], &tp), *text = NULL;
		size_t len = 0;
		FILE *f;

		if (err) {
			report(false, roundtrips[i][0], err);
			free(err);
			continue;
		}
		f = open_memstream(&text, &len);
		zone_tp_print(&tp, f);
		fclose(f);
		report(!strcmp(text, roundtrips[i][1]), roundtrips[i][0], text);
		free(text);
	}
}

static void check_errors(void)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct zone_tp tp;
		char *err = parse(errors[i][0], &tp);

		report(err && !strcmp(err, errors[i][1]), errors[i][0], err);
		free(err);
	}
}

static void check_values(void)
{
	static const uint32_t tcp_dflt[TP_TCP_KEYS] = { 120, 60, 432000, 120, 60, 30,
							120, 10, 120, 300, 300 };
	static const uint32_t udp_dflt[2] = { 30, 120 };
	uint32_t tcp[TP_TCP_KEYS], udp[2];
	struct zone_tp tp;
	char *err;
	int protos;

	err = parse("zone=5 udp_single=3 udp_multiple=4", &tp);
	protos = err ? -1 : zone_tp_values(&tp, tcp_dflt, udp_dflt, tcp, udp);
	report(protos == 2 && udp[0] == 3 && udp[1] == 4 && tcp[2] == 432000,
	       "udp_single is the unreplied timeout; UDP alone named", err);
	free(err);
	err = parse("zone=5 udp_first=8", &tp);
	protos = err ? -1 : zone_tp_values(&tp, tcp_dflt, udp_dflt, tcp, udp);
	report(protos == 2 && udp[0] == 8 && udp[1] == 120,
	       "udp_first likewise; replied keeps the default", err);
	free(err);
	err = parse("zone=5 tcp_established=600 tcp_unack=5", &tp);
	protos = err ? -1 : zone_tp_values(&tp, tcp_dflt, udp_dflt, tcp, udp);
	report(protos == 1 && tcp[2] == 600 && tcp[10] == 5 && tcp[0] == 120 &&
	       tcp[7] == 10, "TCP values in the kernel's order, defaults between", err);
	free(err);
}

int main(void)
{
	check_roundtrips();
	check_errors();
	check_values();
	return failures ? 1 : 0;
}
