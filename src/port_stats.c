/* A port's counters and state as ovs-ofctl prints them (src/port_stats.h). */
#include "port_stats.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <linux/if_link.h>

#include "bridge_nl.h"
#include "../rules/compile.h"
#include "../rules/flow.h"

/* A port's counters in the order ovs-ofctl dump-ports prints them. */
enum {
	PC_RX_PKTS, PC_RX_BYTES, PC_RX_DROP, PC_RX_ERRS, PC_RX_FRAME, PC_RX_OVER,
	PC_RX_CRC, PC_TX_PKTS, PC_TX_BYTES, PC_TX_DROP, PC_TX_ERRS, PC_TX_COLL,
	PC_N
};

/* LOCAL is the bridge device, which the kernel counts from the host's
 * side: what the host sends is what the switch receives, so rx and tx
 * swap there, as Open vSwitch swaps them for its internal port. */
void port_stats_print(FILE *out, uint16_t ofport, const char *ifname)
{
	static const char *const names[PC_N] = {
		"pkts", "bytes", "drop", "errs", "frame", "over", "crc",
		"pkts", "bytes", "drop", "errs", "coll",
	};
	struct rtnl_link_stats64 st = { 0 };
	bool have = !iface_stats(ifname, &st), local = ofport == OFPP_LOCAL;
	uint64_t v[PC_N] = {
		st.rx_packets, st.rx_bytes, st.rx_dropped, st.rx_errors,
		st.rx_frame_errors, st.rx_over_errors, st.rx_crc_errors,
		st.tx_packets, st.tx_bytes, st.tx_dropped, st.tx_errors,
		st.collisions,
	};

	if (local) {
		for (int i = PC_RX_PKTS; i <= PC_RX_ERRS; i++) {
			uint64_t rx = v[i];

			v[i] = v[PC_TX_PKTS + i];
			v[PC_TX_PKTS + i] = rx;
		}
		fprintf(out, "  port LOCAL: rx ");
	} else {
		fprintf(out, "  port %2u: rx ", ofport);
	}
	for (int i = 0; i < PC_N; i++) {
		if (i == PC_TX_PKTS)
			fprintf(out, "           tx ");
		if (have)
			fprintf(out, "%s=%" PRIu64, names[i], v[i]);
		else
			fprintf(out, "%s=?", names[i]);
		fputs(i == PC_RX_CRC || i == PC_TX_COLL ? "\n" : ", ", out);
	}
}

/* OpenFlow's port config bits brflow has, in the order OVS prints them
 * (bit order: PORT_DOWN, NO_STP, NO_RECV, NO_RECV_STP, NO_FLOOD, NO_FWD,
 * NO_PACKET_IN). */
static const struct { uint32_t bit; const char *name; } config_names[] = {
	{ PORT_CONFIG_DOWN, "PORT_DOWN" },
	{ PORT_CONFIG_NO_RECV, "NO_RECV" },
	{ PORT_CONFIG_NO_FLOOD, "NO_FLOOD" },
	{ PORT_CONFIG_NO_FWD, "NO_FWD" },
};

void port_config_format(uint32_t config, char *buf, size_t len)
{
	size_t at = 0;

	snprintf(buf, len, "0");
	for (size_t i = 0; i < sizeof(config_names) / sizeof(config_names[0]); i++)
		if (config & config_names[i].bit && at < len)
			at += snprintf(buf + at, len - at, "%s%s", at ? " " : "",
				       config_names[i].name);
}

uint32_t port_config_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(config_names) / sizeof(config_names[0]); i++)
		if (!strcmp(name, config_names[i].name))
			return config_names[i].bit;
	return 0;
}

/* PORT_DOWN is the link's state now, whoever set it */
static uint32_t with_link_state(uint32_t config, bool up)
{
	return (config & ~PORT_CONFIG_DOWN) | (up ? 0 : PORT_CONFIG_DOWN);
}

uint32_t port_config_now(const char *ifname, uint32_t config)
{
	uint8_t m[6];
	bool up, carrier;

	if (iface_link_state(ifname, m, &up, &carrier))
		return config;
	return with_link_state(config, up);
}

void port_desc_print(FILE *out, uint16_t ofport, const char *ifname, uint32_t config)
{
	char text[64];
	uint8_t m[6];
	bool up, carrier;

	if (ofport == OFPP_LOCAL)
		fprintf(out, " LOCAL(%s): ", ifname);
	else
		fprintf(out, " %u(%s): ", ofport, ifname);
	if (iface_link_state(ifname, m, &up, &carrier)) {
		fputs("(no such interface)\n", out);
		return;
	}
	port_config_format(with_link_state(config, up), text, sizeof(text));
	fprintf(out, "addr:%02x:%02x:%02x:%02x:%02x:%02x\n"
		"     config:     %s\n"
		"     state:      %s\n", m[0], m[1], m[2], m[3], m[4], m[5],
		text, carrier ? "0" : "LINK_DOWN");
}
