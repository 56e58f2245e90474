/* Tests of brflow-dpi's parts without a kernel: packet parser (with random
 * bytes), host patterns, config file, label layout, the per-packet logic
 * driven with built packets and with garbage, and the reading of a queue
 * datagram built as the kernel sends it.  Output as the unit tests'
 * (`ok - NAME` / `not ok - NAME: reason`). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "dpi_handler.h"
#include "dpi_pkt.h"
#include "dpi_queue.h"
#include "../src/log.h"

static int failed;

void log_set_level(enum log_level level)
{
	(void)level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static void result(const char *name, const char *why)
{
	if (why) {
		printf("not ok - %s: %s\n", name, why);
		failed = 1;
	} else {
		printf("ok - %s\n", name);
	}
}

/* An IPv4/TCP packet 10.0.0.1:40000 -> 10.0.0.2:dport with payload. */
static size_t build_tcp4(uint8_t *b, uint16_t dport, const char *payload)
{
	size_t plen = strlen(payload), tot = 20 + 20 + plen;

	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	b[20] = 40000 >> 8;
	b[21] = 40000 & 0xff;
	b[22] = (uint8_t)(dport >> 8);
	b[23] = (uint8_t)dport;
	b[32] = 5 << 4;
	b[33] = 0x18; /* PSH|ACK */
	memcpy(b + 40, payload, plen);
	return tot;
}

/* The TCP segment of build_tcp4's packet b (n bytes) over IPv6, ::1 to
 * ::2, its payload length 0 when len0 (a GSO packet's); its size. */
static size_t tcp4_as_ip6(uint8_t *b6, const uint8_t *b, size_t n, bool len0)
{
	memset(b6, 0, 40);
	b6[0] = 0x60;
	if (!len0) {
		b6[4] = (uint8_t)((n - 20) >> 8);
		b6[5] = (uint8_t)(n - 20);
	}
	b6[6] = 6;
	b6[7] = 64;
	b6[23] = 1;
	b6[39] = 2;
	memcpy(b6 + 40, b + 20, n - 20);
	return n + 20;
}

static const char *t_parser(void)
{
	uint8_t b[256];
	struct dpi_pkt p;
	size_t n = build_tcp4(b, 80, "GET / HTTP/1.1\r\n\r\n");

	if (dpi_pkt_parse(b, n, &p) != DPI_PKT_OK || p.family != 4 ||
	    p.l4proto != 6 || p.payload_off != 40 || p.l3len != n)
		return "valid IPv4/TCP refused";
	if (dpi_pkt_parse(b, 39, &p) != DPI_PKT_MALFORMED)
		return "truncated packet accepted";
	b[32] = 15 << 4; /* doff past the end */
	if (dpi_pkt_parse(b, n, &p) != DPI_PKT_MALFORMED)
		return "bogus TCP data offset accepted";
	b[32] = 5 << 4;
	b[6] = 0x00;
	b[7] = 0x10; /* fragment offset 16 */
	if (dpi_pkt_parse(b, n, &p) != DPI_PKT_FRAGMENT)
		return "non-first fragment not recognised";
	b[7] = 0;
	b[0] = 0x4f; /* ihl 60 > tot_len? no: 60 < 58 fails */
	if (dpi_pkt_parse(b, n, &p) == DPI_PKT_OK && n < 60)
		return "bogus IHL accepted";
	b[0] = 0x45;
	b[2] = 0x10; /* tot_len beyond buffer */
	if (dpi_pkt_parse(b, n, &p) != DPI_PKT_MALFORMED)
		return "tot_len beyond the buffer accepted";
	/* IPv6 + hop-by-hop + UDP */
	memset(b, 0, sizeof(b));
	b[0] = 0x60;
	b[5] = 8 + 8 + 4;
	b[6] = 0;      /* hop-by-hop */
	b[40] = 17;    /* next: UDP, len 0 -> 8 bytes */
	b[48 + 5] = 12;
	if (dpi_pkt_parse(b, 40 + 20, &p) != DPI_PKT_OK || p.l4proto != 17 ||
	    p.l4off != 48)
		return "IPv6 with hop-by-hop refused";
	b[41] = 200; /* ext header far past the end */
	if (dpi_pkt_parse(b, 40 + 20, &p) != DPI_PKT_MALFORMED)
		return "IPv6 extension header past the end accepted";
	return NULL;
}

/* Random bytes, and valid headers with random bits flipped. */
static const char *t_parser_fuzz(void)
{
	uint8_t b[2048];
	struct dpi_pkt p;

	srandom(1);
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)random() % sizeof(b);

		for (size_t j = 0; j < n; j++)
			b[j] = (uint8_t)random();
		if (i % 2)
			b[0] = (uint8_t)((i % 4 == 1 ? 0x40 : 0x60) | (b[0] & 0x0f));
		if (dpi_pkt_parse(b, n, &p) == DPI_PKT_OK &&
		    (p.l3len > n || p.payload_off > p.l3len || p.l4off > p.l3len))
			return "parser returned offsets past the packet";
	}
	return NULL;
}

static const char *t_host_match(void)
{
	if (!dpi_host_match("example.com", "EXAMPLE.com") ||
	    dpi_host_match("example.com", "www.example.com") ||
	    !dpi_host_match("*.example.com", "example.com") ||
	    !dpi_host_match("*.example.com", "a.b.example.com") ||
	    dpi_host_match("*.example.com", "badexample.com") ||
	    !dpi_host_match("example.com", "example.com.") ||
	    !dpi_host_match("example.com.", "example.com") ||
	    !dpi_host_match("*.example.com.", "a.example.com") ||
	    !dpi_host_match("*.example.com.", "example.com.") ||
	    dpi_host_match("*.example.com.", "aexample.com") ||
	    dpi_host_match("example.com", ""))
		return "wrong match";
	return NULL;
}

static const char *t_config(void)
{
	char path[] = "/tmp/test_dpi_confXXXXXX";
	struct dpi_config c;
	int fd = mkstemp(path), n;
	const char text[] = "# comment\nhost 0 example.com\nhost 3 *.test.org\n"
		"host 99 bad.bit\nhost 1\nbogus line\nhost 0 twice.com\n";

	if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1)
		return "cannot write temp file";
	close(fd);
	n = dpi_config_load(path, &c);
	unlink(path);
	if (n != 2 || !c.host[0] || strcmp(c.host[0], "example.com") ||
	    !c.host[3] || dpi_config_host_bits(&c, "x.test.org") != 0x8 ||
	    dpi_config_host_bits(&c, "example.com") != 0x1) {
		dpi_config_free(&c);
		return "patterns not as written";
	}
	dpi_config_free(&c);
	if (dpi_config_load("/nonexistent/dpi.conf", &c) != 0)
		return "missing file is not 'no patterns'";
	return NULL;
}

/* Lines that are not what they seem: a zone with a second number, a
 * comment long enough to end past any fixed line buffer with what reads
 * like a directive, and a NUL hiding the rest of a line. */
static const char *t_config_lines(void)
{
	char path[] = "/tmp/test_dpi_confXXXXXX";
	char text[1200];
	struct dpi_config c;
	int fd = mkstemp(path), n;
	size_t len;
	const char *why = NULL;

	memset(text, 0, sizeof(text));
	strcpy(text, "zone 5 6\nzone 8 # ok\n#");
	len = strlen(text);
	memset(text + len, 'x', 1000);
	len += 1000;
	len += (size_t)sprintf(text + len, "host 3 evil.com\nhost 2 a.com");
	len += 1; /* the NUL */
	len += (size_t)sprintf(text + len, "x\nhost 1 good.com\n");
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return "cannot write temp file";
	close(fd);
	n = dpi_config_load(path, &c);
	unlink(path);
	if (c.n_zones != 1 || c.zones[0] != 8)
		why = "'zone 5 6' not skipped";
	else if (c.host[3])
		why = "the tail of a long comment read as a line";
	else if (c.host[2])
		why = "line with a NUL byte not skipped";
	else if (n != 1 || !c.host[1])
		why = "the line after them lost";
	dpi_config_free(&c);
	return why;
}

static const char *t_labels(void)
{
	uint8_t l[16], m[16];
	static const uint8_t want_l[16] = { [12] = 0x01, [13] = 0x80, [14] = 6, [15] = 0x80 };
	static const uint8_t want_m[16] = { [12] = 0xff, [13] = 0xff, [14] = 0xff, [15] = 0xff };

	dpi_labels_build(6, 0x8001, l, m);
	if (memcmp(l, want_l, 16) || memcmp(m, want_m, 16))
		return "label bytes not as in rules/dpi.h";
	return NULL;
}

static struct dpi_qpkt qpkt(uint32_t ctid, const uint8_t *b, size_t n)
{
	return (struct dpi_qpkt){ .has_ct = true, .ctid = ctid, .mark = 0x80000001,
				  .payload = b, .len = n };
}

static const char *t_http(void)
{
	struct dpi_handler h;
	struct dpi_verdict v = { 0 };
	uint8_t b[512];
	size_t n = build_tcp4(b, 80, "GET /x HTTP/1.1\r\nHost: www.example.com\r\n"
			      "User-Agent: t\r\nAccept: */*\r\n\r\n");
	struct dpi_qpkt p = qpkt(7, b, n);
	const char *why = NULL;

	if (dpi_handler_init(&h, 24, 16))
		return "init failed";
	h.config.host[2] = strdup("*.example.com");
	h.now_ms = 1000;
	for (int i = 0; i < 4 && !v.set_labels; i++)
		dpi_handler_packet(&h, &p, &v);
	if (v.mark != (0x80000001 | DPI_MARK_SEEN))
		why = "mark not kept | SEEN";
	else if (!v.set_labels || v.labels[14] != 1 || v.labels[12] != 0x04 ||
		 !(v.labels[15] & 0x80))
		why = "HTTP with Host not labelled http + host bit 2";
	else if (!h.conns.n || dpi_conn_find(&h.conns, 7)->flow)
		why = "nDPI state not freed when done";
	dpi_handler_destroyed(&h, 7);
	if (!why && h.conns.n)
		why = "destroy event did not free the entry";
	dpi_handler_free(&h);
	return why;
}

/* A GSO packet may carry IP length 0 (BIG TCP, IPv6 jumbo); dpi_pkt_parse
 * takes the buffer's length then, and nDPI must see it so too. */
static const char *t_gso_len0(void)
{
	struct dpi_handler h;
	struct dpi_verdict v = { 0 };
	uint8_t b[512], b6[512];
	size_t n = build_tcp4(b, 80, "GET /x HTTP/1.1\r\nHost: www.example.com\r\n"
			      "User-Agent: t\r\nAccept: */*\r\n\r\n");
	struct dpi_qpkt p = qpkt(7, b, n);
	const char *why = NULL;

	size_t n6 = tcp4_as_ip6(b6, b, n, true);

	b[2] = b[3] = 0;
	if (dpi_handler_init(&h, 1, 16))
		return "init failed";
	dpi_handler_packet(&h, &p, &v);
	if (!v.set_labels || v.labels[14] != 1)
		why = "IPv4 with tot_len 0 not classified as http";
	p = qpkt(8, b6, n6);
	memset(&v, 0, sizeof(v));
	dpi_handler_packet(&h, &p, &v);
	if (!why && (!v.set_labels || v.labels[14] != 1))
		why = "IPv6 with payload length 0 not classified as http";
	dpi_handler_free(&h);
	return why;
}

/* A connection's packets after one of another family or transport
 * protocol with the same key (a conntrack id used again) are not given
 * to its nDPI state: they count as malformed. */
static const char *t_stale_key(void)
{
	struct dpi_handler h;
	struct dpi_verdict v = { 0 };
	uint8_t b[512], b6[512], u[512];
	size_t n = build_tcp4(b, 5555, "\x01\x02 binary nothing");
	struct dpi_qpkt p = qpkt(11, b, n);
	const char *why = NULL;

	size_t n6 = tcp4_as_ip6(b6, b, n, false);

	/* the same segment over IPv4 as UDP */
	memcpy(u, b, n);
	u[9] = 17;
	u[24] = 0;
	u[25] = (uint8_t)(n - 20);
	if (dpi_handler_init(&h, 16, 16))
		return "init failed";
	dpi_handler_packet(&h, &p, &v);
	if (h.stats.malformed)
		why = "the first packet counted as malformed";
	p = qpkt(11, b6, n6);
	dpi_handler_packet(&h, &p, &v);
	if (!why && h.stats.malformed != 1)
		why = "an IPv6 packet went into an IPv4 connection's state";
	p = qpkt(11, u, n);
	dpi_handler_packet(&h, &p, &v);
	if (!why && h.stats.malformed != 2)
		why = "a UDP packet went into a TCP connection's state";
	dpi_handler_free(&h);
	return why;
}

static const char *t_give_up(void)
{
	struct dpi_handler h;
	struct dpi_verdict v = { 0 };
	uint8_t b[512];
	size_t n = build_tcp4(b, 5555, "\x01\x02\x03\x04 binary nothing");
	struct dpi_qpkt p = qpkt(9, b, n);
	int i;

	if (dpi_handler_init(&h, 5, 16))
		return "init failed";
	for (i = 1; i <= 10 && !v.set_labels; i++)
		dpi_handler_packet(&h, &p, &v);
	dpi_handler_free(&h);
	if (!v.set_labels || i - 1 != 5 || !(v.labels[15] & 0x80))
		return "did not give up after --max-packets";
	return NULL;
}

/* Garbage through the whole per-packet path, nDPI included. */
static const char *t_handler_fuzz(void)
{
	struct dpi_handler h;
	uint8_t b[1600];

	if (dpi_handler_init(&h, 24, 256))
		return "init failed";
	srandom(2);
	for (int i = 0; i < 100000; i++) {
		struct dpi_verdict v = { 0 };
		size_t n = (size_t)random() % sizeof(b);
		struct dpi_qpkt p;

		for (size_t j = 0; j < n; j++)
			b[j] = (uint8_t)random();
		if (i % 3 == 0 && n >= 40) {
			n = build_tcp4(b, (uint16_t)random(), "");
			n += (size_t)random() % 1000;
			b[2] = (uint8_t)(n >> 8);
			b[3] = (uint8_t)n;
			for (size_t j = 40; j < n; j++)
				b[j] = (uint8_t)random();
		}
		p = qpkt((uint32_t)random() % 300, b, n);
		p.has_ct = i % 17 != 0;
		h.now_ms = (uint64_t)i;
		dpi_handler_packet(&h, &p, &v);
		if (!(v.mark & DPI_MARK_SEEN))
			return "verdict without SEEN";
	}
	if (!h.stats.malformed || h.conns.n > 256)
		return "malformed packets not counted or table unbounded";
	dpi_handler_free(&h);
	return NULL;
}

#define WALK_STOPPED 5  /* what keep_packet returns to stop a walk */

/* What t_queue_datagram's callback saw. */
struct seen_packets {
	struct dpi_qpkt p[4];
	int n, stop_after;
};

static int keep_packet(const struct dpi_qpkt *p, void *arg)
{
	struct seen_packets *s = arg;

	if (s->n < 4)
		s->p[s->n] = *p;
	s->n++;
	return s->n == s->stop_after ? WALK_STOPPED : 0;
}

/* Puts at 'at' the start of a queued packet message for packet 'id'. */
static struct nlmsghdr *put_queued(char *at, uint32_t id)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(at, NFQNL_MSG_PACKET, 7);
	struct nfqnl_msg_packet_hdr ph = { .packet_id = htonl(id) };

	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
	return nlh;
}

/* One datagram as the queue socket delivers it: a packet with mark,
 * conntrack id, labels and payload; a failed verdict's error; a packet
 * message without its header; a packet whose CTA_ID is too short; and a
 * last packet whose payload leaves it unpadded, as the kernel sends it.
 * Then the same cut 4 bytes short: that last message is not read. */
static const char *t_queue_datagram(void)
{
	static uint32_t buf[1024];
	char *at = (char *)buf;
	uint8_t labels[DPI_LABEL_BYTES] = { [0] = 0xab, [15] = 0x80 };
	const char payload[] = "E\0\0\x14 not quite an IP header";
	struct seen_packets seen = { .stop_after = -1 };
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	struct nlattr *nest;
	size_t len;
	int errors = 0;

	nlh = put_queued(at, 42);
	mnl_attr_put_u32(nlh, NFQA_MARK, htonl(0x80000001));
	nest = mnl_attr_nest_start(nlh, NFQA_CT);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(1234));
	mnl_attr_put(nlh, CTA_LABELS, sizeof(labels), labels);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(payload), payload);
	at += nlh->nlmsg_len;

	nlh = mnl_nlmsg_put_header(at);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -22;
	at += nlh->nlmsg_len;

	nlh = nfq_nlmsg_put(at, NFQNL_MSG_PACKET, 7);
	at += nlh->nlmsg_len;

	nlh = put_queued(at, 43);
	nest = mnl_attr_nest_start(nlh, NFQA_CT);
	mnl_attr_put_u16(nlh, CTA_ID, 1);
	mnl_attr_nest_end(nlh, nest);
	at += nlh->nlmsg_len;

	nlh = put_queued(at, 44);
	mnl_attr_put(nlh, NFQA_PAYLOAD, 5, "E\0\0\x05");
	nlh->nlmsg_len -= 3;    /* mnl pads, the kernel does not */
	len = (size_t)(at - (char *)buf) + nlh->nlmsg_len;

	if (dpi_queue_parse_datagram((uint8_t *)buf, len, keep_packet, &seen,
				     &errors))
		return "the walk was stopped";
	if (seen.n != 3 || errors != 1)
		return "wrong number of packets or errors";
	if (seen.p[2].id != 44 || seen.p[2].len != 5)
		return "the unpadded last packet was not read";
	if (seen.p[0].queue != 7 || seen.p[0].id != 42 ||
	    seen.p[0].mark != 0x80000001 || !seen.p[0].has_ct ||
	    seen.p[0].ctid != 1234 || memcmp(seen.p[0].labels, labels, sizeof(labels)) ||
	    seen.p[0].len != sizeof(payload) ||
	    memcmp(seen.p[0].payload, payload, sizeof(payload)))
		return "the first packet was not read as built";
	if (seen.p[1].id != 43 || seen.p[1].has_ct || seen.p[1].payload)
		return "a 2-byte CTA_ID was taken as a conntrack id";

	memset(&seen, 0, sizeof(seen));
	seen.stop_after = -1;
	errors = 0;
	if (dpi_queue_parse_datagram((uint8_t *)buf, len - 4, keep_packet, &seen,
				     &errors) || seen.n != 2)
		return "a message cut short by the datagram's end was read";

	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 1;
	errors = 0;
	if (dpi_queue_parse_datagram((uint8_t *)buf, len, keep_packet, &seen,
				     &errors) != WALK_STOPPED || seen.n != 1)
		return "the callback could not stop the walk";
	return NULL;
}

int main(void)
{
	result("dpi packet parser", t_parser());
	result("dpi packet parser: random bytes", t_parser_fuzz());
	result("dpi host patterns", t_host_match());
	result("dpi config file", t_config());
	result("dpi config file: long, NUL and extra-token lines", t_config_lines());
	result("dpi label layout", t_labels());
	result("dpi HTTP Host classified and labelled", t_http());
	result("dpi GSO packet with IP length 0 classified", t_gso_len0());
	result("dpi connection key used again by another family or protocol", t_stale_key());
	result("dpi gives up after --max-packets", t_give_up());
	result("dpi handler: random packets", t_handler_fuzz());
	result("dpi queue datagram read", t_queue_datagram());
	return failed;
}
