/* The fixed protocol table behind dpi_proto= (rules/dpi.h).  Ids never
 * change once released: they are stored in connection labels. */
#include "dpi.h"

#include <stddef.h>
#include <strings.h>

static const struct dpi_proto protos[] = {
	{ 1, "http", "HTTP" },
	{ 2, "tls", "TLS" },
	{ 3, "quic", "QUIC" },
	{ 4, "ssh", "SSH" },
	{ 5, "dns", "DNS" },
	{ 6, "bittorrent", "BitTorrent" },
	{ 7, "ftp", "FTP_CONTROL" },
	{ 8, "smtp", "SMTP" },
	{ 9, "imap", "IMAP" },
	{ 10, "pop3", "POP3" },
	{ 11, "ntp", "NTP" },
	{ 12, "dhcp", "DHCP" },
	{ 13, "sip", "SIP" },
	{ 14, "rtp", "RTP" },
	{ 15, "rdp", "RDP" },
	{ 16, "smb", "SMBv23" },
	{ 17, "telnet", "Telnet" },
	{ 18, "mysql", "MySQL" },
	{ 19, "postgresql", "PostgreSQL" },
	{ 20, "redis", "Redis" },
	{ 21, "mqtt", "MQTT" },
	{ 22, "openvpn", "OpenVPN" },
	{ 23, "wireguard", "WireGuard" },
	{ 24, "ipsec", "IPsec" },
	{ 25, "tor", "Tor" },
	{ 26, "stun", "STUN" },
	{ 27, "http_proxy", "HTTP_Proxy" },
	{ 28, "ssdp", "SSDP" },
	{ 29, "mdns", "MDNS" },
	{ 30, "snmp", "SNMP" },
	{ 31, "icmp", "ICMP" },
	{ 32, "unknown", "Unknown" },
};

#define N_PROTOS (sizeof(protos) / sizeof(protos[0]))

const struct dpi_proto *dpi_proto_by_name(const char *name)
{
	for (size_t i = 0; name && i < N_PROTOS; i++)
		if (!strcasecmp(protos[i].name, name))
			return &protos[i];
	return NULL;
}

const struct dpi_proto *dpi_proto_by_ndpi_name(const char *ndpi_name)
{
	for (size_t i = 0; ndpi_name && i < N_PROTOS; i++)
		if (!strcasecmp(protos[i].ndpi, ndpi_name))
			return &protos[i];
	return NULL;
}

const struct dpi_proto *dpi_proto_by_id(uint16_t id)
{
	for (size_t i = 0; i < N_PROTOS; i++)
		if (protos[i].id == id)
			return &protos[i];
	return NULL;
}
