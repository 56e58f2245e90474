/* nftables backend: turns a struct nir_ruleset into libnftnl objects and
 * sends them to the kernel as one nfnetlink batch (one transaction), reads
 * counter objects back and probes kernel features.
 *
 * Every message of a batch asks for an ack; nfnetlink processes the whole
 * batch inside our sendmsg() and queues all acks before it returns, so after
 * sending we drain the socket without blocking and know the outcome.  The
 * batch either commits as a whole or the kernel keeps the previous ruleset. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/object.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/udata.h>

#include "nft_backend.h"
#include "errbuf.h"

/* Room guaranteed for one message: libnftnl writes attributes without
 * bounds checks, so each message gets at least this much free buffer. */
#define MSG_ROOM	(64 * 1024)
/* Map elements per NEWSETELEM message, to stay well inside MSG_ROOM. */
#define ELEMS_PER_MSG	256
/* Set elements (key <= 64 bytes, counter, user data: under 200 bytes). */
#define SET_ELEMS_PER_MSG	256
/* Rule comments: nft itself accepts at most this many bytes. */
#define COMMENT_MAX	(NFTNL_UDATA_COMMENT_MAXLEN - 1)
#define WHAT_LEN	128

/* A batch under construction: the messages, and for each one a description
 * used to name the failing object in an error. */
struct batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0, seq;
	char (*what)[WHAT_LEN];
	size_t n_what, cap_what;
	struct nlmsghdr *cur;	/* message being built */
	uint32_t set_id;	/* next NFTNL_SET_ID */
	/* outcome of batch_send() */
	uint32_t err_seq;	/* lowest failing sequence number, 0 if none */
	int err_no;
	size_t n_acks;		/* acks and errors received */
};

static int nfproto(enum nir_family f)
{
	return f == NIR_BRIDGE ? NFPROTO_BRIDGE : f == NIR_IP6 ? NFPROTO_IPV6 : NFPROTO_INET;
}

static int batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	b->seq0 = b->seq = (uint32_t)time(NULL) & 0x7fffffff;
	if (!b->seq0)
		b->seq0 = b->seq = 1;
	b->set_id = 1;
	return 0;
}

static void batch_free(struct batch *b)
{
	free(b->buf);
	free(b->what);
	memset(b, 0, sizeof(*b));
}

/* Makes room for one more message; returns where it starts or NULL. */
static char *batch_reserve(struct batch *b)
{
	if (b->cap - b->len < MSG_ROOM) {
		size_t cap = b->cap ? b->cap * 2 : 4 * MSG_ROOM;
		char *p;

		while (cap - b->len < MSG_ROOM)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return NULL;
		memset(p + b->cap, 0, cap - b->cap);
		b->buf = p;
		b->cap = cap;
	}
	if (b->n_what == b->cap_what) {
		size_t n = b->cap_what ? b->cap_what * 2 : 64;
		void *p = realloc(b->what, n * sizeof(*b->what));

		if (!p)
			return NULL;
		b->what = p;
		b->cap_what = n;
	}
	return b->buf + b->len;
}

/* Starts an nf_tables message of 'type'; finish it with batch_end_msg(). */
static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type,
				  uint16_t family, uint16_t flags)
{
	char *p = batch_reserve(b);

	if (!p)
		return NULL;
	b->cur = nftnl_nlmsg_build_hdr(p, type, family, flags | NLM_F_ACK,
				       b->seq);
	return b->cur;
}

static void batch_end_msg(struct batch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void batch_end_msg(struct batch *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->what[b->n_what++], WHAT_LEN, fmt, ap);
	va_end(ap);
	b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
	b->seq++;
	b->cur = NULL;
}

/* Batch begin/end markers carry no ack request. */
static int batch_marker(struct batch *b, int begin)
{
	char *p = batch_reserve(b);
	struct nlmsghdr *nlh;

	if (!p)
		return -1;
	nlh = begin ? nftnl_batch_begin(p, b->seq) : nftnl_batch_end(p, b->seq);
	snprintf(b->what[b->n_what++], WHAT_LEN, "%s",
		 begin ? "transaction" : "end of transaction");
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->seq++;
	return 0;
}

static const char *batch_what(const struct batch *b, uint32_t seq)
{
	if (seq < b->seq0 || seq - b->seq0 >= b->n_what)
		return "batch";
	return b->what[seq - b->seq0];
}

/* Walks the acks in one datagram; records the lowest failing seq. */
static void batch_read_acks(struct batch *b, const char *buf, int len,
			    uint32_t portid)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_pid != portid || nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
			continue;
		e = mnl_nlmsg_get_payload(nlh);
		b->n_acks++;
		if (!e->error)
			continue;
		if (!b->err_seq || nlh->nlmsg_seq < b->err_seq) {
			b->err_seq = nlh->nlmsg_seq;
			b->err_no = -e->error;
		}
	}
}

static void set_bufs(struct mnl_socket *nl, size_t sndbuf, size_t rcvbuf)
{
	int fd = mnl_socket_get_fd(nl);
	int snd = sndbuf > (1u << 30) ? 1 << 30 : (int)sndbuf;
	int rcv = rcvbuf > (1u << 30) ? 1 << 30 : (int)rcvbuf;
	int one = 1;

	/* FORCE variants need CAP_NET_ADMIN, which nf_tables needs anyway;
	 * the plain ones are the fallback. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* Acks without a copy of the request keep the receive queue small. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

/* Sends the batch as one datagram and collects every ack.  Returns 0 when
 * every message succeeded, -1 otherwise (details in b->err_seq/err_no, or
 * err_seq 0 and err_no for a socket-level failure). */
static int batch_send(struct batch *b)
{
	struct mnl_socket *nl;
	char rbuf[MNL_SOCKET_BUFFER_SIZE * 4];
	uint32_t portid;
	int ret = -1;
	ssize_t n;

	b->err_seq = 0;
	b->err_no = 0;
	b->n_acks = 0;
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) {
		b->err_no = errno;
		return -1;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		b->err_no = errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	set_bufs(nl, b->len + 4096, b->n_what * 1024 + (256 << 10));

	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		b->err_no = errno;
		goto out;
	}
	for (;;) {
		n = recv(mnl_socket_get_fd(nl), rbuf, sizeof(rbuf),
			 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* ENOBUFS: acks were lost, outcome unknown */
				b->err_no = errno;
				goto out;
			}
			break;
		}
		batch_read_acks(b, rbuf, (int)n, portid);
	}
	/* every message but the begin/end markers asked for an ack */
	if (!b->err_seq && b->n_acks < b->n_what - 2) {
		b->err_no = EIO;
		goto out;
	}
	ret = b->err_seq ? -1 : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

static void batch_error(const struct batch *b, char *err, size_t errlen)
{
	if (!b->err_seq) {
		errf(err, errlen, "%s: nftables transaction (acks lost)",
		     strerror(b->err_no ? b->err_no : EIO));
		return;
	}
	errf(err, errlen, "%s: %s", strerror(b->err_no),
	     batch_what(b, b->err_seq));
}

/* ---- expressions: one builder per IR statement kind ---- */

static int rule_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -1;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *expr_load(const struct nir_src *src, uint32_t dreg)
{
	struct nftnl_expr *e;

	switch (src->kind) {
	case NIR_SRC_META:
		e = nftnl_expr_alloc("meta");
		if (!e)
			return NULL;
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, src->key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
		return e;
	case NIR_SRC_CT:
		e = nftnl_expr_alloc("ct");
		if (!e)
			return NULL;
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, src->key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
		if (src->ct_dir)
			nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, src->ct_dir - 1);
		return e;
	case NIR_SRC_SYMHASH:
		e = nftnl_expr_alloc("hash");
		if (!e)
			return NULL;
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_TYPE, NFT_HASH_SYM);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_MODULUS, src->key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_OFFSET, 0);
		nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_DREG, dreg);
		return e;
	case NIR_SRC_PAYLOAD:
		e = nftnl_expr_alloc("payload");
		if (!e)
			return NULL;
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, src->base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, src->offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, src->len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
		return e;
	}
	return NULL;
}

/* reg = (reg & mask) ^ xor over len bytes */
static struct nftnl_expr *expr_bitwise(const void *mask, const void *xor,
				       uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	return e;
}

static struct nftnl_expr *expr_imm_data(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	return e;
}

/* meta/ct <key> set reg1 */
static struct nftnl_expr *expr_set_key(int ct, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc(ct ? "ct" : "meta");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, ct ? NFTNL_EXPR_CT_KEY : NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, ct ? NFTNL_EXPR_CT_SREG : NFTNL_EXPR_META_SREG,
			   NFT_REG_1);
	return e;
}

struct build_ctx {
	const struct nir_table *t;
	uint32_t set_id_base;	/* set i of t has id set_id_base + i */
};

/* reg1 < value for a host-endian u32: cmp compares bytes as memcmp does,
 * so both sides go big-endian first (as nft does for ranges). */
static int build_less(struct nftnl_rule *r, const struct nir_stmt *s)
{
	struct nftnl_expr *e = nftnl_expr_alloc("byteorder");
	uint32_t host, be;

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
	if (rule_add(r, e))
		return -1;
	memcpy(&host, s->u.match.value.data, 4);
	be = htonl(host);
	e = nftnl_expr_alloc("cmp");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_LT);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &be, 4);
	return rule_add(r, e);
}

static int build_match(struct nftnl_rule *r, const struct nir_stmt *s,
		       const struct build_ctx *ctx)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e;

	(void)ctx;
	if (s->u.match.value.len > 16 || s->u.match.mask.len > 16)
		return -1;
	if (rule_add(r, expr_load(&s->u.match.src, NFT_REG_1)))
		return -1;
	if (s->u.match.less)
		return build_less(r, s);
	if (s->u.match.has_mask &&
	    rule_add(r, expr_bitwise(s->u.match.mask.data, zero,
				     s->u.match.mask.len)))
		return -1;
	e = nftnl_expr_alloc("cmp");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP,
			   s->u.match.negate ? NFT_CMP_NEQ : NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, s->u.match.value.data,
		       s->u.match.value.len);
	return rule_add(r, e);
}

/* target = target & and_mask | or_value.  The compiler guarantees
 * or_value & and_mask == 0, so the kernel's (x & mask) ^ xor is exact. */
static int build_mark_set(struct nftnl_rule *r, const struct nir_stmt *s,
			  const struct build_ctx *ctx)
{
	int ct = s->u.mark.target == NIR_CT_MARK;
	uint32_t key = ct ? NFT_CT_MARK :
		       s->u.mark.target == NIR_META_PRIORITY ? NFT_META_PRIORITY : NFT_META_MARK;
	uint32_t and_mask = s->u.mark.and_mask, or_value = s->u.mark.or_value;
	struct nir_src src = {
		.kind = ct ? NIR_SRC_CT : NIR_SRC_META, .key = key, .len = 4,
	};

	(void)ctx;
	if (!and_mask) {
		/* nothing of the old value survives: a plain assignment */
		if (rule_add(r, expr_imm_data(&or_value, 4)))
			return -1;
	} else {
		if (rule_add(r, expr_load(&src, NFT_REG_1)) ||
		    rule_add(r, expr_bitwise(&and_mask, &or_value, 4)))
			return -1;
	}
	return rule_add(r, expr_set_key(ct, key));
}

static int build_ct_zone_set(struct nftnl_rule *r, const struct nir_stmt *s,
			     const struct build_ctx *ctx)
{
	uint16_t zone = s->u.zone;

	(void)ctx;
	if (rule_add(r, expr_imm_data(&zone, sizeof(zone))))
		return -1;
	return rule_add(r, expr_set_key(1, NFT_CT_ZONE));
}

static int build_ct_label_set(struct nftnl_rule *r, const struct nir_stmt *s,
			      const struct build_ctx *ctx)
{
	(void)ctx;
	if (rule_add(r, expr_imm_data(s->u.label, 16)))
		return -1;
	return rule_add(r, expr_set_key(1, NFT_CT_LABELS));
}

static int build_map_mark(struct nftnl_rule *r, const struct nir_stmt *s,
			  const struct build_ctx *ctx)
{
	struct nftnl_expr *e;
	int i;

	if (rule_add(r, expr_load(&s->u.map.src, NFT_REG_1)))
		return -1;
	e = nftnl_expr_alloc("lookup");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, s->u.map.set_name);
	for (i = 0; i < ctx->t->n_maps; i++) {
		if (!strcmp(ctx->t->maps[i].name, s->u.map.set_name))
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID,
					   ctx->set_id_base + i);
	}
	if (rule_add(r, e))
		return -1;
	return rule_add(r, expr_set_key(0, NFT_META_MARK));
}

/* The name of a set's stats set (nftir.h). */
#define STATS_NAME_LEN 80
static void stats_set_name(const char *set, char name[STATS_NAME_LEN])
{
	snprintf(name, STATS_NAME_LEN, "%s%s", set, NIR_STATS_SUFFIX);
}

/* Set i of t has id base + n_maps + i; its stats set base + n_maps +
 * n_sets + i. */
static uint32_t stats_set_id(const struct build_ctx *ctx, int set)
{
	return ctx->set_id_base + (uint32_t)(ctx->t->n_maps + ctx->t->n_sets + set);
}

/* "update @<set>_stats { key }": the key the lookup just found (still in
 * the registers from reg 1) gets an element of the stats set, whose
 * counter the kernel clones from the set's, or counts in the one it has.
 * The stats set is as large as the set, and brflowd deletes a key's
 * statistics with the key, so the update cannot fail for want of room. */
static int build_stats_update(struct nftnl_rule *r, const struct build_ctx *ctx,
			      int set)
{
	struct nftnl_expr *e = nftnl_expr_alloc("dynset");
	char name[STATS_NAME_LEN];

	if (!e)
		return -1;
	stats_set_name(ctx->t->sets[set].name, name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG32_00);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, stats_set_id(ctx, set));
	return rule_add(r, e);
}

/* The key fields into consecutive 32-bit registers, then the lookup (and
 * the statistics of the key it found). */
static int build_lookup(struct nftnl_rule *r, const struct nir_stmt *s,
			const struct build_ctx *ctx)
{
	const struct nir_set *set = &ctx->t->sets[s->u.lookup.set];
	struct nftnl_expr *e;
	uint32_t reg = NFT_REG32_00;

	for (int i = 0; i < set->n_fields; i++) {
		const struct nir_set_field *f = &set->fields[i];
		uint8_t zero[16] = { 0 };

		if (rule_add(r, expr_load(&f->src, reg)))
			return -1;
		if (f->masked) {
			e = expr_bitwise(f->mask.data, zero, f->src.len);
			if (!e)
				return -1;
			nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
			nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
			if (rule_add(r, e))
				return -1;
		}
		reg += (uint32_t)nir_set_field_len(f) / 4;
	}
	e = nftnl_expr_alloc("lookup");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
	if (set->vmap)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set->name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID,
			   ctx->set_id_base + (uint32_t)ctx->t->n_maps +
			   (uint32_t)s->u.lookup.set);
	if (rule_add(r, e))
		return -1;
	return set->counters ? build_stats_update(r, ctx, s->u.lookup.set) : 0;
}

/* "src [!=] @set": a lookup without a destination register only tests
 * membership (the kernel allows it on a named map). */
static int build_set_lookup(struct nftnl_rule *r, const struct nir_stmt *s,
			    const struct build_ctx *ctx)
{
	struct nftnl_expr *e;

	if (rule_add(r, expr_load(&s->u.map.src, NFT_REG_1)))
		return -1;
	e = nftnl_expr_alloc("lookup");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, s->u.map.set_name);
	if (s->u.map.negate)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	for (int i = 0; i < ctx->t->n_maps; i++) {
		if (!strcmp(ctx->t->maps[i].name, s->u.map.set_name))
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID,
					   ctx->set_id_base + i);
	}
	return rule_add(r, e);
}

/* objref: a named object of the rule's table (counter, helper, limit,
 * timeout policy) */
static int add_objref(struct nftnl_rule *r, uint32_t type, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, type);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	return rule_add(r, e);
}

static int build_counter(struct nftnl_rule *r, const struct nir_stmt *s,
			 const struct build_ctx *ctx)
{
	(void)ctx;
	return add_objref(r, NFT_OBJECT_COUNTER, s->u.counter_name);
}

static int build_notrack(struct nftnl_rule *r, const struct nir_stmt *s,
			 const struct build_ctx *ctx)
{
	(void)s;
	(void)ctx;
	return rule_add(r, nftnl_expr_alloc("notrack"));
}

static int build_verdict(struct nftnl_rule *r, const struct nir_stmt *s,
			 const struct build_ctx *ctx)
{
	static const int codes[] = {
		[NIR_ACCEPT] = NF_ACCEPT, [NIR_DROP] = NF_DROP,
		[NIR_RETURN] = NFT_RETURN, [NIR_JUMP] = NFT_JUMP,
		[NIR_GOTO] = NFT_GOTO,
	};
	enum nir_verdict v = s->u.verdict.code;
	struct nftnl_expr *e;

	(void)ctx;
	if ((unsigned)v >= sizeof(codes) / sizeof(codes[0]))
		return -1;
	e = nftnl_expr_alloc("immediate");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)codes[v]);
	if (v == NIR_JUMP || v == NIR_GOTO)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, s->u.verdict.chain);
	return rule_add(r, e);
}

/* The native queue expression where the kernel has nft_queue; otherwise
 * xt's NFQUEUE target through nft_compat, as iptables-nft sends it. */
static int native_queue = -1;

static int build_queue(struct nftnl_rule *r, const struct nir_stmt *s,
		       const struct build_ctx *ctx)
{
	struct xt_NFQ_info_v3 info = {
		.queuenum = s->u.queue.num,
		.queues_total = s->u.queue.total ? s->u.queue.total : 1,
		.flags = (s->u.queue.bypass ? NFQ_FLAG_BYPASS : 0) |
			 (s->u.queue.fanout ? NFQ_FLAG_CPU_FANOUT : 0),
	};
	struct nftnl_expr *e;
	void *copy;

	(void)ctx;
	if (native_queue < 0) {
		struct nft_features f;

		nft_probe_features(&f);
		native_queue = f.queue;
	}
	if (native_queue) {
		e = nftnl_expr_alloc("queue");
		if (!e)
			return -1;
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, info.queuenum);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, info.queues_total);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS,
				   (s->u.queue.bypass ? NFT_QUEUE_FLAG_BYPASS : 0) |
				   (s->u.queue.fanout ? NFT_QUEUE_FLAG_CPU_FANOUT : 0));
		return rule_add(r, e);
	}
	e = nftnl_expr_alloc("target");
	/* libnftnl keeps (and later frees) the info pointer it is given. */
	copy = malloc(sizeof(info));
	if (!e || !copy) {
		nftnl_expr_free(e);
		free(copy);
		return -1;
	}
	memcpy(copy, &info, sizeof(info));
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, copy, sizeof(info));
	return rule_add(r, e);
}

static int load_imm(struct nftnl_rule *r, uint32_t reg, const void *data,
		    uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	return rule_add(r, e);
}

/* snat/dnat: addresses in registers 1-2, ports (network order) in 3-4. */
static int build_nat(struct nftnl_rule *r, const struct nir_stmt *s,
		     const struct build_ctx *ctx)
{
	uint32_t alen = s->u.nat.family == 6 ? 16 : 4;
	uint16_t pmin = htons(s->u.nat.port_min), pmax = htons(s->u.nat.port_max);
	struct nftnl_expr *e;

	(void)ctx;
	if (load_imm(r, NFT_REG_1, s->u.nat.addr_min, alen) ||
	    load_imm(r, NFT_REG_2, s->u.nat.addr_max, alen))
		return -1;
	if (s->u.nat.port_min &&
	    (load_imm(r, NFT_REG_3, &pmin, 2) || load_imm(r, NFT_REG_4, &pmax, 2)))
		return -1;
	e = nftnl_expr_alloc("nat");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE,
			   s->u.nat.snat ? NFT_NAT_SNAT : NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY,
			   s->u.nat.family == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
	if (s->u.nat.port_min) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_3);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, NFT_REG_4);
	}
	if (s->u.nat.flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, s->u.nat.flags);
	return rule_add(r, e);
}

static int build_payload_set(struct nftnl_rule *r, const struct nir_stmt *s,
			     const struct build_ctx *ctx)
{
	struct nftnl_expr *e;

	(void)ctx;
	if (s->u.set.keep.len) {
		/* reg1 = (payload & keep) ^ value, then written back */
		if (rule_add(r, expr_load(&s->u.set.dst, NFT_REG_1)) ||
		    rule_add(r, expr_bitwise(s->u.set.keep.data, s->u.set.value.data,
					     s->u.set.dst.len)))
			return -1;
	} else if (load_imm(r, NFT_REG_1, s->u.set.value.data, s->u.set.value.len)) {
		return -1;
	}
	e = nftnl_expr_alloc("payload");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, s->u.set.dst.base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, s->u.set.dst.offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, s->u.set.dst.len);
	if (s->u.set.csum_type) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, s->u.set.csum_type);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, s->u.set.csum_offset);
	}
	if (s->u.set.csum_flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, s->u.set.csum_flags);
	return rule_add(r, e);
}

static int build_ct_helper(struct nftnl_rule *r, const struct nir_stmt *s,
			   const struct build_ctx *ctx)
{
	(void)ctx;
	return add_objref(r, NFT_OBJECT_CT_HELPER, s->u.helper_name);
}

static int build_ct_timeout(struct nftnl_rule *r, const struct nir_stmt *s,
			    const struct build_ctx *ctx)
{
	(void)ctx;
	return add_objref(r, NFT_OBJECT_CT_TIMEOUT, s->u.timeout_name);
}

/* limit name "x": the rule goes on only when the packet is over the
 * object's limit (its NFT_LIMIT_F_INV flag). */
static int build_limit(struct nftnl_rule *r, const struct nir_stmt *s,
		       const struct build_ctx *ctx)
{
	(void)ctx;
	return add_objref(r, NFT_OBJECT_LIMIT, s->u.limit_name);
}

/* A table's connection limit i has set id base + n_maps + 2 n_sets + i
 * (after its sets and their stats sets). */
static uint32_t connlimit_set_id(const struct build_ctx *ctx, int i)
{
	return ctx->set_id_base + (uint32_t)(ctx->t->n_maps + 2 * ctx->t->n_sets + i);
}

/* add @zl { ct zone }: the connection's zone is the key of the set's one
 * element, whose "ct count over LIMIT" (the set's expression, cloned into
 * the element) adds the connection to the zone's list and ends the rule
 * unless the list then holds more than LIMIT. */
static int build_conn_count(struct nftnl_rule *r, const struct nir_stmt *s,
			    const struct build_ctx *ctx)
{
	static const struct nir_src zone = { .kind = NIR_SRC_CT, .key = NFT_CT_ZONE,
					     .len = 2 };
	struct nftnl_expr *e;
	int i = 0;

	while (i < ctx->t->n_connlimits &&
	       strcmp(ctx->t->connlimits[i].name, s->u.connlimit_name))
		i++;
	if (i == ctx->t->n_connlimits || rule_add(r, expr_load(&zone, NFT_REG32_00)))
		return -1;
	e = nftnl_expr_alloc("dynset");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG32_00);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, s->u.connlimit_name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, connlimit_set_id(ctx, i));
	return rule_add(r, e);
}

/* flow add @ft: hands the packet's connection to the flowtable. */
static int build_flow_offload(struct nftnl_rule *r, const struct nir_stmt *s,
			      const struct build_ctx *ctx)
{
	struct nftnl_expr *e = nftnl_expr_alloc("flow_offload");

	(void)ctx;
	if (!e)
		return -1;
	nftnl_expr_set_str(e, NFTNL_EXPR_FLOW_TABLE_NAME, s->u.flowtable);
	return rule_add(r, e);
}

typedef int (*stmt_build_fn)(struct nftnl_rule *r, const struct nir_stmt *s,
			     const struct build_ctx *ctx);

static const stmt_build_fn stmt_builders[] = {
	[NIR_MATCH]        = build_match,
	[NIR_MARK_SET]     = build_mark_set,
	[NIR_CT_ZONE_SET]  = build_ct_zone_set,
	[NIR_CT_LABEL_SET] = build_ct_label_set,
	[NIR_MAP_MARK]     = build_map_mark,
	[NIR_COUNTER]      = build_counter,
	[NIR_NOTRACK]      = build_notrack,
	[NIR_VERDICT]      = build_verdict,
	[NIR_QUEUE]        = build_queue,
	[NIR_NAT]          = build_nat,
	[NIR_CT_HELPER]    = build_ct_helper,
	[NIR_CT_TIMEOUT]   = build_ct_timeout,
	[NIR_LIMIT]        = build_limit,
	[NIR_CONN_COUNT]   = build_conn_count,
	[NIR_PAYLOAD_SET]  = build_payload_set,
	[NIR_LOOKUP]       = build_lookup,
	[NIR_SET_LOOKUP]   = build_set_lookup,
	[NIR_FLOW_OFFLOAD] = build_flow_offload,
};

/* The rule comment in nftables' userdata format, so `nft list` shows it. */
static int rule_set_comment(struct nftnl_rule *r, const char *comment)
{
	char text[COMMENT_MAX + 1];
	struct nftnl_udata_buf *udbuf;
	int ret = -1;

	snprintf(text, sizeof(text), "%s", comment);
	if (strlen(comment) > COMMENT_MAX)
		memcpy(text + COMMENT_MAX - 3, "...", 3);
	udbuf = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!udbuf)
		return -1;
	if (nftnl_udata_put_strz(udbuf, NFTNL_UDATA_RULE_COMMENT, text)) {
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA,
				    nftnl_udata_buf_data(udbuf),
				    nftnl_udata_buf_len(udbuf));
		ret = 0;
	}
	nftnl_udata_buf_free(udbuf);
	return ret;
}

/* ---- objects ---- */

static int add_table_msg(struct batch *b, enum nir_family fam,
			 const char *name, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -1;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, nfproto(fam));
	nlh = batch_msg(b, type, nfproto(fam),
			type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
	if (!nlh) {
		nftnl_table_free(t);
		return -1;
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_end_msg(b, "table %s %s", nir_family_name(fam), name);
	return 0;
}

/* NEWOBJ for 'o', whose type and attributes the caller set; takes 'o'. */
static int add_obj_msg(struct batch *b, const struct nir_table *t,
		       struct nftnl_obj *o, const char *name, const char *what)
{
	struct nlmsghdr *nlh;

	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, t->name);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, nfproto(t->family));
	nlh = batch_msg(b, NFT_MSG_NEWOBJ, nfproto(t->family), NLM_F_CREATE);
	if (!nlh) {
		nftnl_obj_free(o);
		return -1;
	}
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	batch_end_msg(b, "%s %s %s/%s", what, nir_family_name(t->family), t->name, name);
	return 0;
}

static int add_helper_msg(struct batch *b, const struct nir_table *t,
			  const struct nir_helper *h)
{
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		return -1;
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
	nftnl_obj_set_str(o, NFTNL_OBJ_CT_HELPER_NAME, h->helper);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_HELPER_L4PROTO, h->l4proto);
	return add_obj_msg(b, t, o, h->name, "ct helper");
}

/* A conntrack timeout policy: its l3proto matters only to nfnetlink's own
 * lookups, and the statement skips other transport protocols. */
static int add_timeout_msg(struct batch *b, const struct nir_table *t,
			   const struct nir_ct_timeout *p)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	uint32_t values[NFTNL_CTTIMEOUT_ARRAY_MAX] = { 0 };

	if (!o)
		return -1;
	memcpy(values, p->values, sizeof(p->values));
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_TIMEOUT);
	nftnl_obj_set_u16(o, NFTNL_OBJ_CT_TIMEOUT_L3PROTO, AF_INET);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_TIMEOUT_L4PROTO, p->l4proto);
	nftnl_obj_set_data(o, NFTNL_OBJ_CT_TIMEOUT_ARRAY, values, sizeof(values));
	return add_obj_msg(b, t, o, p->name, "ct timeout");
}

static int map_set_udata(struct nftnl_set *s);

/* A connection limit's set: dynamic, keyed by the zone (ct zone's two
 * bytes, host order, as nft keeps them), its expression the template of
 * the element's count. */
static int add_connlimit_msg(struct batch *b, const struct nir_table *t,
			     const struct nir_connlimit *cl, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_expr *e = nftnl_expr_alloc("connlimit");
	struct nlmsghdr *nlh;

	if (!s || !e)
		goto oom;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, cl->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, nfproto(t->family));
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 4);	/* integer */
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_EVAL);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, 4);
	if (map_set_udata(s))
		goto oom;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CONNLIMIT_COUNT, cl->limit);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV);
	nftnl_set_add_expr(s, e);
	e = NULL;
	nlh = batch_msg(b, NFT_MSG_NEWSET, nfproto(t->family), NLM_F_CREATE);
	if (!nlh)
		goto oom;
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_end_msg(b, "set %s %s/%s", nir_family_name(t->family), t->name, cl->name);
	return 0;
oom:
	if (s)
		nftnl_set_free(s);
	if (e)
		nftnl_expr_free(e);
	return -1;
}

static int add_limit_msg(struct batch *b, const struct nir_table *t,
			 const struct nir_limit *l)
{
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		return -1;
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_LIMIT);
	nftnl_obj_set_u64(o, NFTNL_OBJ_LIMIT_RATE, l->rate);
	nftnl_obj_set_u64(o, NFTNL_OBJ_LIMIT_UNIT, 1);
	nftnl_obj_set_u32(o, NFTNL_OBJ_LIMIT_BURST, l->burst);
	nftnl_obj_set_u32(o, NFTNL_OBJ_LIMIT_TYPE,
			  l->bytes ? NFT_LIMIT_PKT_BYTES : NFT_LIMIT_PKTS);
	nftnl_obj_set_u32(o, NFTNL_OBJ_LIMIT_FLAGS, NFT_LIMIT_F_INV);
	return add_obj_msg(b, t, o, l->name, "limit");
}

static int add_counter_msg(struct batch *b, const struct nir_table *t,
			   const struct nir_counter *c)
{
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		return -1;
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, c->packets);
	nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, c->bytes);
	return add_obj_msg(b, t, o, c->name, "counter");
}

/* A flowtable object over its devices (netdev ingress); 'devs' empty is
 * allowed (the kernel then hooks nothing). */
static int add_flowtable_msg(struct batch *b, const struct nir_table *t,
			     const struct nir_flowtable *f)
{
	struct nftnl_flowtable *ft = nftnl_flowtable_alloc();
	const char **devs = calloc(f->n_devs + 1, sizeof(*devs));
	struct nlmsghdr *nlh;
	int ret = -1;

	if (!ft || !devs)
		goto out;
	for (int i = 0; i < f->n_devs; i++)
		devs[i] = f->devs[i];
	nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_TABLE, t->name);
	nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_NAME, f->name);
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_FAMILY, nfproto(t->family));
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_HOOKNUM, NF_NETDEV_INGRESS);
	nftnl_flowtable_set_s32(ft, NFTNL_FLOWTABLE_PRIO, f->priority);
	if (f->n_devs && nftnl_flowtable_set_array(ft, NFTNL_FLOWTABLE_DEVICES, devs))
		goto out;
	if (f->hw)
		nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_FLAGS, NFT_FLOWTABLE_HW_OFFLOAD);
	nlh = batch_msg(b, NFT_MSG_NEWFLOWTABLE, nfproto(t->family), NLM_F_CREATE);
	if (!nlh)
		goto out;
	nftnl_flowtable_nlmsg_build_payload(nlh, ft);
	batch_end_msg(b, "flowtable %s/%s", t->name, f->name);
	ret = 0;
out:
	nftnl_flowtable_free(ft);
	free(devs);
	return ret;
}

/* nftables' datatype numbers and byte order names, so `nft list` prints
 * "type ifname : mark" and decodes the elements as nft would. */
#define NFT_TYPE_ARPOP		11
#define NFT_TYPE_INET_PROTO	12
#define NFT_TYPE_MARK		19
#define NFT_TYPE_IFNAME		41
#define NFT_BYTEORDER_HOST	1

static int map_set_udata(struct nftnl_set *s)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	int ret = -1;

	if (!ud)
		return -1;
	if (nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER,
				NFT_BYTEORDER_HOST) &&
	    nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER,
				NFT_BYTEORDER_HOST)) {
		nftnl_set_set_data(s, NFTNL_SET_USERDATA,
				   nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
		ret = 0;
	}
	nftnl_udata_buf_free(ud);
	return ret;
}

static struct nftnl_set *map_alloc(const struct nir_table *t,
				   const struct nir_map *m, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, m->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, nfproto(t->family));
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, m->is_set ? 0 : NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_IFNAME);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 16);
	if (!m->is_set) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_TYPE_MARK);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 4);
	}
	if (map_set_udata(s)) {
		nftnl_set_free(s);
		return NULL;
	}
	return s;
}

/* Sends the elements gathered in s as one NEWSETELEM/DELSETELEM; takes s. */
static int elems_msg_send(struct batch *b, const struct nir_table *t,
			  struct nftnl_set *s, bool add, const char *what,
			  const char *name)
{
	struct nlmsghdr *nlh = batch_msg(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
					 nfproto(t->family), add ? NLM_F_CREATE : 0);

	if (!nlh) {
		nftnl_set_free(s);
		return -1;
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_end_msg(b, "elements of %s %s %s/%s", what, nir_family_name(t->family),
		      t->name, name);
	return 0;
}

/* After an element went into *s: sends the message once it holds 'max'
 * elements (*s is then NULL, for the caller to start the next one). */
static int elems_msg_full(struct batch *b, const struct nir_table *t,
			  struct nftnl_set **s, int *in_msg, int max, bool add,
			  const char *what, const char *name)
{
	int ret;

	if (++*in_msg < max)
		return 0;
	*in_msg = 0;
	ret = elems_msg_send(b, t, *s, add, what, name);
	*s = NULL;
	return ret;
}

/* Adds (or deletes) the map's elements that 'skip' does not mark (NULL: all
 * of them), a message per ELEMS_PER_MSG; a delete names the key only. */
static int map_elems_msgs(struct batch *b, const struct nir_table *t,
			  const struct nir_map *m, uint32_t id, const bool *skip,
			  bool add)
{
	struct nftnl_set *s = NULL;
	int in_msg = 0;

	for (int i = 0; i < m->n_elems; i++) {
		struct nftnl_set_elem *e;
		char key[16] = { 0 };

		if (skip && skip[i])
			continue;
		if (!s && !(s = map_alloc(t, m, id)))
			return -1;
		if (!(e = nftnl_set_elem_alloc())) {
			nftnl_set_free(s);
			return -1;
		}
		strncpy(key, m->elems[i].ifname, sizeof(key));
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
		if (add && !m->is_set)
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_DATA, m->elems[i].mark);
		nftnl_set_elem_add(s, e);
		if (elems_msg_full(b, t, &s, &in_msg, ELEMS_PER_MSG, add, "map", m->name))
			return -1;
	}
	return s ? elems_msg_send(b, t, s, add, "map", m->name) : 0;
}

static int add_map_msgs(struct batch *b, const struct nir_table *t,
			const struct nir_map *m, uint32_t id)
{
	struct nftnl_set *s = map_alloc(t, m, id);
	struct nlmsghdr *nlh;

	if (!s)
		return -1;
	nlh = batch_msg(b, NFT_MSG_NEWSET, nfproto(t->family), NLM_F_CREATE);
	if (!nlh) {
		nftnl_set_free(s);
		return -1;
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_end_msg(b, "map %s %s/%s", nir_family_name(t->family), t->name,
		      m->name);
	return map_elems_msgs(b, t, m, id, NULL, true);
}

/* nftables' datatype of a key field, so `nft list` can print elements.
 * A field alone in the key fills a 4-byte register, and nft would print a
 * 1-byte type's value from all 4 bytes: only a concatenation, which nft
 * splits by its fields' sizes, gets nw_proto's own type. */
static uint32_t field_type(const struct nir_set_field *f, bool concat)
{
	switch (f->src.fmt) {
	case NIR_FMT_IPV4:	return 7;	/* ipv4_addr */
	case NIR_FMT_IPV6:	return 8;	/* ipv6_addr */
	case NIR_FMT_MAC:	return 9;	/* ether_addr */
	case NIR_FMT_IFNAME:	return NFT_TYPE_IFNAME; /* sized, unlike "string" */
	default:		break;
	}
	if (f->src.kind == NIR_SRC_META && f->src.key == NFT_META_MARK)
		return NFT_TYPE_MARK;
	if (f->src.name && !strcmp(f->src.name, "arp operation"))
		return NFT_TYPE_ARPOP;
	/* nw_proto; nft needs the size in a concatenation, and "integer"
	 * has none: `nft list` would abort on the elements */
	if (concat && ((f->src.kind == NIR_SRC_META && f->src.key == NFT_META_L4PROTO) ||
		       (f->src.name && !strcmp(f->src.name, "ip protocol"))))
		return NFT_TYPE_INET_PROTO;
	/* a port: from the packet, or after ct(nat) from the conntrack
	 * tuple (ct reply proto-src), which must be sized in a
	 * concatenation as well */
	if ((f->src.kind == NIR_SRC_PAYLOAD || f->src.kind == NIR_SRC_CT) && f->src.len == 2)
		return 13;			/* inet_service */
	return 4;				/* integer */
}

static struct nftnl_set *set_alloc(const struct nir_table *t,
				   const struct nir_set *set, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t type = 0;

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, nfproto(t->family));
	if (id)
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	for (int i = 0; i < set->n_fields; i++)
		type = type << 6 | field_type(&set->fields[i], set->n_fields > 1);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, (uint32_t)set->key_len);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, set->vmap ? NFT_SET_MAP : 0);
	if (set->size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, (uint32_t)set->size);
	if (set->vmap)
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	return s;
}

static struct nftnl_expr *counter_expr(uint64_t packets, uint64_t bytes)
{
	struct nftnl_expr *e = nftnl_expr_alloc("counter");

	if (!e)
		return NULL;
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, packets);
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, bytes);
	return e;
}

/* The flow an element stands for, as nft's element comment "f<id>" (the
 * counter object name it would otherwise have), so `nft list` shows it. */
static int elem_set_flow(struct nftnl_set_elem *e, uint64_t flow_id)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
	char name[32];
	int ret = -1;

	if (!ud)
		return -1;
	snprintf(name, sizeof(name), "f%llu", (unsigned long long)flow_id);
	if (nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, name)) {
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA,
				   nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		ret = 0;
	}
	nftnl_udata_buf_free(ud);
	return ret;
}

/* The stats set of 'set' (nftir.h): dynamic, the same key and size, a
 * counter for every element. */
static struct nftnl_set *stats_set_alloc(const struct nir_table *t,
					 const struct nir_set *set, uint32_t id)
{
	struct nftnl_set *s = set_alloc(t, set, id);
	char name[STATS_NAME_LEN];

	if (!s)
		return NULL;
	stats_set_name(set->name, name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_EVAL);
	return s;
}

/* An element of a set's stats set: its key and, when 'counts', a counter
 * starting from the element's statistics (else the set's fresh one). */
static int stats_elem_add(struct nftnl_set *s, const struct nir_set *set,
			  const struct nir_set_elem *el, bool counts)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct nftnl_expr *c;

	if (!e)
		return -1;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el->key, (uint32_t)set->key_len);
	if (counts) {
		c = counter_expr(el->packets, el->bytes);
		if (!c) {
			nftnl_set_elem_free(e);
			return -1;
		}
		nftnl_set_elem_add_expr(e, c);
	}
	nftnl_set_elem_add(s, e);
	return 0;
}

/* One element: its key, its verdict (maps), and the flow it stands for as
 * user data (its statistics live in the stats set). */
static int set_elem_add(struct nftnl_set *s, const struct nir_set *set,
			const struct nir_set_elem *el, bool with_data)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -1;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el->key, (uint32_t)set->key_len);
	if (with_data && set->vmap) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT,
				       (uint32_t)(set->jump ? NFT_JUMP : NFT_GOTO));
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, el->chain);
	}
	if (with_data && el->flow_id && elem_set_flow(e, el->flow_id)) {
		nftnl_set_elem_free(e);
		return -1;
	}
	nftnl_set_elem_add(s, e);
	return 0;
}

/* NEWSETELEM/DELSETELEM for elements from..from+n-1 of 'els'. */
static int set_elems_msg(struct batch *b, const struct nir_table *t,
			 const struct nir_set *set, uint32_t id,
			 const struct nir_set_elem *els, int n, bool add)
{
	struct nftnl_set *s = set_alloc(t, set, id);

	if (!s)
		return -1;
	for (int i = 0; i < n; i++) {
		if (set_elem_add(s, set, &els[i], add)) {
			nftnl_set_free(s);
			return -1;
		}
	}
	return elems_msg_send(b, t, s, add, "set", set->name);
}

/* Adds (or deletes) the set's elements that 'skip' does not mark (NULL:
 * all of them), a message per SET_ELEMS_PER_MSG. */
static int set_elems_msgs(struct batch *b, const struct nir_table *t,
			  const struct nir_set *set, uint32_t id,
			  const bool *skip, bool add)
{
	struct nftnl_set *s = NULL;
	int in_msg = 0;

	for (int i = 0; i < set->n_elems; i++) {
		if (skip && skip[i])
			continue;
		if (!s && !(s = set_alloc(t, set, id)))
			return -1;
		if (set_elem_add(s, set, &set->elems[i], add)) {
			nftnl_set_free(s);
			return -1;
		}
		if (elems_msg_full(b, t, &s, &in_msg, SET_ELEMS_PER_MSG, add, "set", set->name))
			return -1;
	}
	return s ? elems_msg_send(b, t, s, add, "set", set->name) : 0;
}

/* Sends the stats-set elements gathered in *add and *del (either may be
 * NULL): the adds first, then the deletes of the same keys; takes both. */
static int stats_flush(struct batch *b, const struct nir_table *t,
		       const struct nir_set *set, struct nftnl_set **add,
		       struct nftnl_set **del)
{
	int ret = 0;

	if (*add)
		ret = elems_msg_send(b, t, *add, true, "stats set", set->name);
	if (*del && !ret)
		ret = elems_msg_send(b, t, *del, false, "stats set", set->name);
	else if (*del)
		nftnl_set_free(*del);
	*add = *del = NULL;
	return ret;
}

/* The stats set's side of adding (or deleting) the elements els[0..n-1]
 * of 'set' that 'skip' does not mark.  Added elements that bring
 * statistics (carried from the flows' previous elements) get them as their
 * counter; the rest get theirs when a packet first matches.  A deleted
 * element's statistics go too, whether a packet made them or not: an add
 * without NLM_F_EXCL succeeds either way, and the delete that follows it
 * then always finds the key. */
static int stats_elems_msgs(struct batch *b, const struct nir_table *t,
			    const struct nir_set *set, uint32_t id,
			    const struct nir_set_elem *els, int n,
			    const bool *skip, bool add)
{
	struct nftnl_set *s = NULL, *del = NULL;
	int in_msg = 0;

	for (int i = 0; i < n; i++) {
		if ((skip && skip[i]) || (add && !els[i].packets && !els[i].bytes))
			continue;
		if (!s && !(s = stats_set_alloc(t, set, id)))
			goto oom;
		if (!add && !del && !(del = stats_set_alloc(t, set, id)))
			goto oom;
		if (stats_elem_add(s, set, &els[i], add) ||
		    (del && stats_elem_add(del, set, &els[i], false)))
			goto oom;
		if (++in_msg < SET_ELEMS_PER_MSG)
			continue;
		in_msg = 0;
		if (stats_flush(b, t, set, &s, &del))
			return -1;
	}
	return stats_flush(b, t, set, &s, &del);
oom:
	if (s)
		nftnl_set_free(s);
	if (del)
		nftnl_set_free(del);
	return -1;
}

/* The set's stats set, with the statistics its elements bring. */
static int add_stats_set_msgs(struct batch *b, const struct nir_table *t,
			      const struct nir_set *set, uint32_t id)
{
	struct nftnl_set *s = stats_set_alloc(t, set, id);
	struct nftnl_expr *c = counter_expr(0, 0);
	struct nlmsghdr *nlh;

	if (!s || !c)
		goto oom;
	nftnl_set_add_expr(s, c);
	c = NULL;
	nlh = batch_msg(b, NFT_MSG_NEWSET, nfproto(t->family), NLM_F_CREATE);
	if (!nlh)
		goto oom;
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_end_msg(b, "set %s %s/%s%s", nir_family_name(t->family), t->name,
		      set->name, NIR_STATS_SUFFIX);
	return stats_elems_msgs(b, t, set, id, set->elems, set->n_elems, NULL, true);
oom:
	if (s)
		nftnl_set_free(s);
	if (c)
		nftnl_expr_free(c);
	return -1;
}

/* The set, and its elements unless it is a verdict map (whose elements
 * name chains: they follow the chains); then its stats set. */
static int add_set_msgs(struct batch *b, const struct nir_table *t,
			const struct nir_set *set, uint32_t id, uint32_t stats_id)
{
	struct nftnl_set *s = set_alloc(t, set, id);
	struct nlmsghdr *nlh;

	if (!s)
		return -1;
	nlh = batch_msg(b, NFT_MSG_NEWSET, nfproto(t->family), NLM_F_CREATE);
	if (!nlh) {
		nftnl_set_free(s);
		return -1;
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_end_msg(b, "set %s %s/%s", nir_family_name(t->family), t->name,
		      set->name);
	if (!set->vmap && set_elems_msgs(b, t, set, id, NULL, true))
		return -1;
	return set->counters ? add_stats_set_msgs(b, t, set, stats_id) : 0;
}

static int nf_hook(enum nir_hook h)
{
	/* NF_BR_* and NF_INET_* share these numbers */
	switch (h) {
	case NIR_HOOK_PREROUTING:	return NF_INET_PRE_ROUTING;
	case NIR_HOOK_INPUT:		return NF_INET_LOCAL_IN;
	case NIR_HOOK_FORWARD:		return NF_INET_FORWARD;
	case NIR_HOOK_OUTPUT:		return NF_INET_LOCAL_OUT;
	case NIR_HOOK_POSTROUTING:	return NF_INET_POST_ROUTING;
	case NIR_HOOK_NONE:		break;
	}
	return -1;
}

static int add_chain_msg(struct batch *b, enum nir_family fam,
			 const char *table, const char *name, enum nir_hook hook,
			 int prio, bool policy_drop, bool nat_type)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -1;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, nfproto(fam));
	if (hook != NIR_HOOK_NONE) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, nf_hook(hook));
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, nat_type ? "nat" : "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY,
				    policy_drop ? NF_DROP : NF_ACCEPT);
	}
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, nfproto(fam), NLM_F_CREATE);
	if (!nlh) {
		nftnl_chain_free(c);
		return -1;
	}
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_end_msg(b, "chain %s %s/%s", nir_family_name(fam), table, name);
	return 0;
}

/* Builds the nftnl rule for 'ir'; NULL on failure. */
static struct nftnl_rule *rule_build(const struct build_ctx *ctx,
				     const struct nir_chain *c,
				     const struct nir_rule *ir)
{
	const int n_builders = sizeof(stmt_builders) / sizeof(stmt_builders[0]);
	struct nftnl_rule *r = nftnl_rule_alloc();
	int i;

	if (!r)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ctx->t->name);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, nfproto(ctx->t->family));
	for (i = 0; i < ir->n_stmts; i++) {
		const struct nir_stmt *s = &ir->stmts[i];

		if ((int)s->kind < 0 || (int)s->kind >= n_builders ||
		    !stmt_builders[s->kind] ||
		    stmt_builders[s->kind](r, s, ctx))
			goto fail;
	}
	if (ir->comment && *ir->comment && rule_set_comment(r, ir->comment))
		goto fail;
	return r;
fail:
	nftnl_rule_free(r);
	return NULL;
}

static int add_rule_msg(struct batch *b, const struct build_ctx *ctx,
			const struct nir_chain *c, int idx, char *err,
			size_t errlen)
{
	struct nftnl_rule *r = rule_build(ctx, c, &c->rules[idx]);
	struct nlmsghdr *nlh;

	if (!r) {
		errf(err, errlen, "cannot build rule %d of chain %s %s/%s",
		     idx, nir_family_name(ctx->t->family), ctx->t->name, c->name);
		return -1;
	}
	nlh = batch_msg(b, NFT_MSG_NEWRULE, nfproto(ctx->t->family),
			NLM_F_CREATE | NLM_F_APPEND);
	if (!nlh) {
		nftnl_rule_free(r);
		errf(err, errlen, "out of memory");
		return -1;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_end_msg(b, "rule %d of chain %s %s/%s", idx,
		      nir_family_name(ctx->t->family), ctx->t->name, c->name);
	return 0;
}

/* ---- taking a loaded table apart ---- */

/* The delete messages name objects only: table, name and family. */
static int del_named_msg(struct batch *b, const struct nir_table *t,
			 uint16_t type, const char *name, uint32_t obj_type)
{
	struct nlmsghdr *nlh = batch_msg(b, type, nfproto(t->family), 0);
	void *o = NULL;

	if (!nlh)
		return -1;
	switch (type) {
	case NFT_MSG_DELRULE:	/* no chain: every chain of the table */
		o = nftnl_rule_alloc();
		if (!o)
			return -1;
		nftnl_rule_set_str(o, NFTNL_RULE_TABLE, t->name);
		nftnl_rule_set_u32(o, NFTNL_RULE_FAMILY, nfproto(t->family));
		nftnl_rule_nlmsg_build_payload(nlh, o);
		nftnl_rule_free(o);
		break;
	case NFT_MSG_DELCHAIN:
		o = nftnl_chain_alloc();
		if (!o)
			return -1;
		nftnl_chain_set_str(o, NFTNL_CHAIN_TABLE, t->name);
		nftnl_chain_set_str(o, NFTNL_CHAIN_NAME, name);
		nftnl_chain_nlmsg_build_payload(nlh, o);
		nftnl_chain_free(o);
		break;
	case NFT_MSG_DELSET:
		o = nftnl_set_alloc();
		if (!o)
			return -1;
		nftnl_set_set_str(o, NFTNL_SET_TABLE, t->name);
		nftnl_set_set_str(o, NFTNL_SET_NAME, name);
		nftnl_set_nlmsg_build_payload(nlh, o);
		nftnl_set_free(o);
		break;
	case NFT_MSG_DELOBJ:
		o = nftnl_obj_alloc();
		if (!o)
			return -1;
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, t->name);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, obj_type);
		nftnl_obj_nlmsg_build_payload(nlh, o);
		nftnl_obj_free(o);
		break;
	case NFT_MSG_DELFLOWTABLE:
		o = nftnl_flowtable_alloc();
		if (!o)
			return -1;
		nftnl_flowtable_set_str(o, NFTNL_FLOWTABLE_TABLE, t->name);
		nftnl_flowtable_set_str(o, NFTNL_FLOWTABLE_NAME, name);
		nftnl_flowtable_nlmsg_build_payload(nlh, o);
		nftnl_flowtable_free(o);
		break;
	default:
		return -1;
	}
	batch_end_msg(b, "deleting %s %s/%s", nir_family_name(t->family), t->name,
		      name ? name : "(all rules)");
	return 0;
}

/* Everything of the loaded table 'o' that the new one does not keep, in an
 * order the kernel accepts: rules first (they hold references to sets,
 * objects and chains), then elements (verdict map elements hold chains),
 * sets, objects and the chains no rule or element jumps to any more. */
static int take_apart_msgs(struct batch *b, const struct nir_table *o,
			   const struct nir_table_diff *td)
{
	if (del_named_msg(b, o, NFT_MSG_DELRULE, NULL, 0))
		return -1;
	for (int k = 0; k < o->n_sets; k++) {
		const struct nir_set *set = &o->sets[k];
		char stats[STATS_NAME_LEN];

		stats_set_name(set->name, stats);
		if (td->old_set_kept[k] ?
		    (set_elems_msgs(b, o, set, 0, td->old_elem_kept[k], false) ||
		     (set->counters &&
		      stats_elems_msgs(b, o, set, 0, set->elems, set->n_elems,
				      td->old_elem_kept[k], false))) :
		    (del_named_msg(b, o, NFT_MSG_DELSET, set->name, 0) ||
		     (set->counters && del_named_msg(b, o, NFT_MSG_DELSET, stats, 0))))
			return -1;
	}
	for (int k = 0; k < o->n_maps; k++)
		if (td->old_map_kept[k] ?
		    map_elems_msgs(b, o, &o->maps[k], 0, td->old_map_elem_kept[k], false) :
		    del_named_msg(b, o, NFT_MSG_DELSET, o->maps[k].name, 0))
			return -1;
	for (int k = 0; k < o->n_counters; k++)
		if (!td->old_counter_kept[k] &&
		    del_named_msg(b, o, NFT_MSG_DELOBJ, o->counters[k].name,
				  NFT_OBJECT_COUNTER))
			return -1;
	for (int k = 0; k < o->n_helpers; k++)
		if (del_named_msg(b, o, NFT_MSG_DELOBJ, o->helpers[k].name,
				  NFT_OBJECT_CT_HELPER))
			return -1;
	for (int k = 0; k < o->n_timeouts; k++)
		if (!td->old_timeout_kept[k] &&
		    del_named_msg(b, o, NFT_MSG_DELOBJ, o->timeouts[k].name,
				  NFT_OBJECT_CT_TIMEOUT))
			return -1;
	for (int k = 0; k < o->n_connlimits; k++)
		if (!td->old_connlimit_kept[k] &&
		    del_named_msg(b, o, NFT_MSG_DELSET, o->connlimits[k].name, 0))
			return -1;
	for (int k = 0; k < o->n_limits; k++)
		if (!td->old_limit_kept[k] &&
		    del_named_msg(b, o, NFT_MSG_DELOBJ, o->limits[k].name,
				  NFT_OBJECT_LIMIT))
			return -1;
	for (int k = 0; k < o->n_flowtables; k++)
		if (del_named_msg(b, o, NFT_MSG_DELFLOWTABLE, o->flowtables[k].name, 0))
			return -1;
	for (int k = 0; k < o->n_chains; k++)
		if (!td->old_chain_kept[k] &&
		    del_named_msg(b, o, NFT_MSG_DELCHAIN, o->chains[k].name, 0))
			return -1;
	return 0;
}

/* ---- building a table ---- */

static bool chain_needs_msg(const struct nir_table *o, const struct nir_table *t,
			    const struct nir_table_diff *td, int i)
{
	int k = td->chain_old[i];

	/* a kept base chain is sent again only to change its policy */
	return k < 0 || o->chains[k].policy_drop != t->chains[i].policy_drop;
}

/* What the kernel does not have yet of table t (all of it when 'o', the
 * loaded table, is NULL), then all of t's rules. */
static int fill_table_msgs(struct batch *b, const struct nir_table *o,
			   const struct nir_table *t, const struct nir_table_diff *td,
			   const struct build_ctx *ctx, char *err, size_t errlen)
{
	uint32_t set_ids = ctx->set_id_base + (uint32_t)t->n_maps;
	int i, j;

	for (i = 0; i < t->n_counters; i++)
		if (td->counter_old[i] < 0 && add_counter_msg(b, t, &t->counters[i]))
			goto oom;
	for (i = 0; i < t->n_helpers; i++)
		if (add_helper_msg(b, t, &t->helpers[i]))
			goto oom;
	for (i = 0; i < t->n_limits; i++)
		if (td->limit_old[i] < 0 && add_limit_msg(b, t, &t->limits[i]))
			goto oom;
	for (i = 0; i < t->n_timeouts; i++)
		if (td->timeout_old[i] < 0 && add_timeout_msg(b, t, &t->timeouts[i]))
			goto oom;
	for (i = 0; i < t->n_connlimits; i++)
		if (td->connlimit_old[i] < 0 &&
		    add_connlimit_msg(b, t, &t->connlimits[i], connlimit_set_id(ctx, i)))
			goto oom;
	for (i = 0; i < t->n_maps; i++)
		if (td->map_old[i] < 0 ?
		    add_map_msgs(b, t, &t->maps[i], ctx->set_id_base + i) :
		    map_elems_msgs(b, t, &t->maps[i], 0, td->map_elem_kept[i], true))
			goto oom;
	for (i = 0; i < t->n_sets; i++) {
		const struct nir_set *set = &t->sets[i];

		if (td->set_old[i] < 0 ?
		    add_set_msgs(b, t, set, set_ids + (uint32_t)i,
				 stats_set_id(ctx, i)) :
		    ((!set->vmap && set_elems_msgs(b, t, set, 0, td->elem_kept[i], true)) ||
		     (set->counters &&
		      stats_elems_msgs(b, t, set, 0, set->elems, set->n_elems,
				      td->elem_kept[i], true))))
			goto oom;
	}
	for (i = 0; i < t->n_flowtables; i++)
		if (add_flowtable_msg(b, t, &t->flowtables[i]))
			goto oom;
	/* all chains before any rule: rules may jump to later chains */
	for (i = 0; i < t->n_chains; i++) {
		const struct nir_chain *c = &t->chains[i];

		if (chain_needs_msg(o, t, td, i) &&
		    add_chain_msg(b, t->family, t->name, c->name, c->hook,
				  c->priority, c->policy_drop, c->nat_type))
			goto oom;
	}
	for (i = 0; i < t->n_sets; i++)
		if (t->sets[i].vmap &&
		    set_elems_msgs(b, t, &t->sets[i],
				   td->set_old[i] < 0 ? set_ids + (uint32_t)i : 0,
				   td->elem_kept[i], true))
			goto oom;
	for (i = 0; i < t->n_chains; i++)
		for (j = 0; j < t->chains[i].n_rules; j++)
			if (add_rule_msg(b, ctx, &t->chains[i], j, err, errlen))
				return -1;
	return 0;
oom:
	errf(err, errlen, "out of memory building table %s %s",
	     nir_family_name(t->family), t->name);
	return -1;
}

/* Table t of the new ruleset: taken over from the loaded one where the
 * diff found it, else created afresh (add, delete, add: it replaces a
 * table a previous brflowd left, with whatever that held). */
static int table_msgs(struct batch *b, const struct nir_ruleset *old,
		      const struct nir_table *t, const struct nir_table_diff *td,
		      char *err, size_t errlen)
{
	struct build_ctx ctx = { .t = t, .set_id_base = b->set_id };
	const struct nir_table *o = td->old >= 0 ? &old->tables[td->old] : NULL;

	/* maps, sets, stats sets, connection limits' sets */
	b->set_id += (uint32_t)(t->n_maps + 2 * t->n_sets + t->n_connlimits);
	if (o ? take_apart_msgs(b, o, td) :
	    (add_table_msg(b, t->family, t->name, NFT_MSG_NEWTABLE) ||
	     add_table_msg(b, t->family, t->name, NFT_MSG_DELTABLE) ||
	     add_table_msg(b, t->family, t->name, NFT_MSG_NEWTABLE))) {
		errf(err, errlen, "out of memory building table %s %s",
		     nir_family_name(t->family), t->name);
		return -1;
	}
	return fill_table_msgs(b, o, t, td, &ctx, err, errlen);
}

/* Ends the transaction, sends it and frees the batch: 0, or -1 with the
 * failing message named in err. */
static int batch_finish(struct batch *b, char *err, size_t errlen)
{
	int ret = -1;

	if (batch_marker(b, 0))
		errf(err, errlen, "out of memory");
	else if ((ret = batch_send(b)))
		batch_error(b, err, errlen);
	batch_free(b);
	return ret;
}

int nft_update(const struct nir_ruleset *old, const struct nir_ruleset *rs,
	       const struct nir_diff *d, char *err, size_t errlen)
{
	struct batch b;
	int i;

	batch_init(&b);
	if (batch_marker(&b, 1))
		goto oom;
	for (i = 0; i < d->n_old_tables; i++)
		if (!d->old_table_kept[i] &&
		    add_table_msg(&b, old->tables[i].family, old->tables[i].name,
				  NFT_MSG_DELTABLE))
			goto oom;
	for (i = 0; i < rs->n_tables; i++)
		if (table_msgs(&b, old, &rs->tables[i], &d->tables[i], err, errlen))
			goto out;
	return batch_finish(&b, err, errlen);
oom:
	errf(err, errlen, "out of memory");
out:
	batch_free(&b);
	return -1;
}

int nft_apply(struct nir_ruleset *rs, char *err, size_t errlen)
{
	struct nir_diff d;
	int ret;

	if (nir_diff_build(NULL, rs, &d)) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	ret = nft_update(NULL, rs, &d, err, errlen);
	nir_diff_free(&d);
	return ret;
}

int nft_change_elems(const struct nir_ruleset *rs, const struct set_change *ch,
		     int n, char *err, size_t errlen)
{
	struct batch b;
	int ret = -1;

	batch_init(&b);
	if (batch_marker(&b, 1))
		goto oom;
	for (int i = 0; i < n; i++) {
		const struct nir_table *t = &rs->tables[ch[i].table];

		const struct nir_set *set = &t->sets[ch[i].set];

		if (set_elems_msg(&b, t, set, 0, &ch[i].elem, 1, ch[i].add) ||
		    (set->counters &&
		     stats_elems_msgs(&b, t, set, 0, &ch[i].elem, 1, NULL, ch[i].add)))
			goto oom;
	}
	return batch_finish(&b, err, errlen);
oom:
	errf(err, errlen, "out of memory");
	batch_free(&b);
	return ret;
}

int nft_delete_tables(const char *name, char *err, size_t errlen)
{
	static const enum nir_family fams[] = { NIR_BRIDGE, NIR_INET, NIR_IP6 };
	struct batch b;
	unsigned i;
	int ret = -1;

	batch_init(&b);
	if (batch_marker(&b, 1))
		goto oom;
	/* creating first makes the delete succeed when the table is missing */
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		if (add_table_msg(&b, fams[i], name, NFT_MSG_NEWTABLE) ||
		    add_table_msg(&b, fams[i], name, NFT_MSG_DELTABLE))
			goto oom;
	if (batch_marker(&b, 0))
		goto oom;
	ret = batch_send(&b);
	if (ret)
		batch_error(&b, err, errlen);
	goto out;
oom:
	errf(err, errlen, "out of memory");
out:
	batch_free(&b);
	return ret;
}

/* ---- counters ---- */

struct counter_walk {
	nft_counter_fn fn;
	void *arg;
};

static int counter_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counter_walk *w = data;
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 &&
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER)
		w->fn(nftnl_obj_get_str(o, NFTNL_OBJ_NAME),
		      nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS),
		      nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES), w->arg);
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

/* One dump request of 'type' for table 'name' (and set 'set' for element
 * dumps); calls cb for each message of the answer.  ENOENT (no such table
 * or set) is an empty answer. */
static int dump_run(enum nir_family family, uint16_t type, const char *name,
		    const char *set, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	uint32_t portid, seq = (uint32_t)time(NULL);
	int ret = -1, n = 0;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh = nftnl_nlmsg_build_hdr(buf, type, nfproto(family),
				    NLM_F_DUMP | NLM_F_ACK, seq);
	if (type == NFT_MSG_GETOBJ) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if (!o)
			goto out;
		/* table and type in the request make the kernel filter */
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		nftnl_obj_nlmsg_build_payload(nlh, o);
		nftnl_obj_free(o);
	} else {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s)
			goto out;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, name);
		if (set)
			nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		if (type == NFT_MSG_GETSETELEM)
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
		else
			nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		n = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (n <= MNL_CB_STOP)
			break;
	}
	ret = n < 0 && errno != ENOENT ? -1 : 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}

struct set_names {
	int n;
	char (*names)[64];
};

static int set_name_cb(const struct nlmsghdr *nlh, void *data)
{
	struct set_names *sn = data;
	struct nftnl_set *s = nftnl_set_alloc();
	void *p;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) == 0 &&
	    nftnl_set_is_set(s, NFTNL_SET_NAME) &&
	    (p = realloc(sn->names, (sn->n + 1) * sizeof(*sn->names)))) {
		sn->names = p;
		snprintf(sn->names[sn->n++], 64, "%s",
			 nftnl_set_get_str(s, NFTNL_SET_NAME));
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int elem_counter_cb(struct nftnl_expr *e, void *data)
{
	uint64_t *pb = data;

	if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter")) {
		pb[0] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		pb[1] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		pb[2] = 1;
	}
	return 0;
}

static int udata_elem_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **tb = data;
	uint8_t type = nftnl_udata_type(attr);

	if (type <= NFTNL_UDATA_SET_ELEM_MAX)
		tb[type] = attr;
	return 0;
}

/* The element's comment names its flow ("f<id>", see elem_set_flow). */
static const char *elem_flow(struct nftnl_set_elem *e)
{
	const struct nftnl_udata *attr[NFTNL_UDATA_SET_ELEM_MAX + 1] = { 0 };
	uint32_t len = 0;
	const void *ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	const char *name;

	if (!ud || nftnl_udata_parse(ud, len, udata_elem_cb, attr) < 0 ||
	    !attr[NFTNL_UDATA_SET_ELEM_COMMENT])
		return NULL;
	name = nftnl_udata_get(attr[NFTNL_UDATA_SET_ELEM_COMMENT]);
	return memchr(name, '\0', nftnl_udata_len(attr[NFTNL_UDATA_SET_ELEM_COMMENT])) ?
	       name : NULL;
}

/* An element that counts itself (a ruleset of an older brflowd). */
static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct counter_walk *w = data;
	uint64_t pb[3] = { 0 };
	const char *name = elem_flow(e);

	if (!name)
		return 0;
	nftnl_set_elem_expr_foreach(e, elem_counter_cb, pb);
	if (pb[2])
		w->fn(name, pb[0], pb[1], w->arg);
	return 0;
}

/* A set-elements answer, element by element. */
struct elem_walk {
	int (*each)(struct nftnl_set_elem *e, void *arg);
	void *arg;
};

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct elem_walk *w = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0)
		nftnl_set_elem_foreach(s, w->each, w->arg);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* A set's keys with the flows they stand for, sorted by key: what turns
 * the elements of its stats set into flow statistics. */
struct key_flow {
	uint8_t key[NIR_SET_KEY_MAX];
	uint32_t len;
	char flow[24];
};

struct key_flows {
	int n, cap;
	struct key_flow *kf;
	struct counter_walk *w;
	bool oom;
};

static int key_flow_cmp(const void *a, const void *b)
{
	const struct key_flow *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->key, y->key, x->len);
}

static int key_flow_cb(struct nftnl_set_elem *e, void *data)
{
	struct key_flows *k = data;
	const char *name = elem_flow(e);
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	struct key_flow *kf;

	if (!name || !key || len > NIR_SET_KEY_MAX || strlen(name) >= sizeof(kf->flow))
		return 0;
	if (k->n == k->cap) {
		int cap = k->cap ? 2 * k->cap : 1024;
		void *p = realloc(k->kf, (size_t)cap * sizeof(*k->kf));

		if (!p) {
			k->oom = true;
			return -1;
		}
		k->kf = p;
		k->cap = cap;
	}
	kf = &k->kf[k->n++];
	memset(kf, 0, sizeof(*kf));
	memcpy(kf->key, key, len);
	kf->len = len;
	strcpy(kf->flow, name);
	return 0;
}

static int stats_elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct key_flows *k = data;
	struct key_flow probe = { 0 }, *kf;
	uint64_t pb[3] = { 0 };
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);

	if (!key || len > NIR_SET_KEY_MAX)
		return 0;
	memcpy(probe.key, key, len);
	probe.len = len;
	kf = bsearch(&probe, k->kf, (size_t)k->n, sizeof(*kf), key_flow_cmp);
	nftnl_set_elem_expr_foreach(e, elem_counter_cb, pb);
	if (kf && pb[2])
		k->w->fn(kf->flow, pb[0], pb[1], k->w->arg);
	return 0;
}

static bool has_name(const struct set_names *sn, const char *name)
{
	for (int i = 0; i < sn->n; i++)
		if (!strcmp(sn->names[i], name))
			return true;
	return false;
}

static bool is_stats_set(const char *name)
{
	size_t n = strlen(name), k = strlen(NIR_STATS_SUFFIX);

	return n > k && !strcmp(name + n - k, NIR_STATS_SUFFIX);
}

/* The statistics of set 'name' of table 'table': from its stats set,
 * joined with the set's elements by key, or (an older brflowd's set) from
 * its elements' own counters. */
static int read_set_counters(enum nir_family family, const char *table,
			     const char *name, const struct set_names *sn,
			     struct counter_walk *w)
{
	struct key_flows k = { .w = w };
	struct elem_walk kw = { key_flow_cb, &k }, sw = { stats_elem_cb, &k };
	struct elem_walk ew = { elem_cb, w };
	char stats[STATS_NAME_LEN];
	int ret;

	stats_set_name(name, stats);
	if (!has_name(sn, stats))
		return dump_run(family, NFT_MSG_GETSETELEM, table, name, elems_cb, &ew);
	ret = dump_run(family, NFT_MSG_GETSETELEM, table, name, elems_cb, &kw);
	if (!ret && k.oom) {
		errno = ENOMEM;
		ret = -1;
	}
	if (!ret) {
		qsort(k.kf, (size_t)k.n, sizeof(*k.kf), key_flow_cmp);
		ret = dump_run(family, NFT_MSG_GETSETELEM, table, stats, elems_cb, &sw);
	}
	free(k.kf);
	return ret;
}

/* Counter objects, then the counters of set elements (the optimiser's
 * sets: each element stands for one flow and names it in its comment). */
int nft_read_counters(enum nir_family family, const char *name,
		      nft_counter_fn fn, void *arg, char *err, size_t errlen)
{
	struct counter_walk w = { fn, arg };
	struct set_names sn = { 0 };
	int ret = -1;

	if (dump_run(family, NFT_MSG_GETOBJ, name, NULL, counter_cb, &w) ||
	    dump_run(family, NFT_MSG_GETSET, name, NULL, set_name_cb, &sn))
		goto out;
	for (int i = 0; i < sn.n; i++)
		if (!is_stats_set(sn.names[i]) &&
		    read_set_counters(family, name, sn.names[i], &sn, &w))
			goto out;
	ret = 0;
out:
	if (ret)
		errf(err, errlen, "%s: reading counters of %s %s",
		     strerror(errno), nir_family_name(family), name);
	free(sn.names);
	return ret;
}

struct one_elem {
	uint64_t packets, bytes;
	bool found;
};

static int one_elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct one_elem *o = data;
	uint64_t pb[3] = { 0 };

	nftnl_set_elem_expr_foreach(e, elem_counter_cb, pb);
	o->packets += pb[0];
	o->bytes += pb[1];
	o->found = true;
	return 0;
}

int nft_read_elem_counter(const struct nir_ruleset *rs, const struct set_change *ch,
			  uint64_t *packets, uint64_t *bytes)
{
	const struct nir_table *t = &rs->tables[ch->table];
	const struct nir_set *set = &t->sets[ch->set];
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct one_elem o = { 0 };
	struct elem_walk ow = { one_elem_cb, &o };
	struct mnl_socket *nl;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	uint32_t portid, seq = (uint32_t)time(NULL);
	int n, ret = -1;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	/* the flow's statistics are its key's element in the stats set */
	s = set->counters ? stats_set_alloc(t, set, 0) : set_alloc(t, set, 0);
	if (!s || set_elem_add(s, set, &ch->elem, false)) {
		if (s)
			nftnl_set_free(s);
		goto out;
	}
	/* a GET without NLM_F_DUMP answers for the listed element only */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, nfproto(t->family),
				    NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		n = mnl_cb_run(buf, (size_t)n, seq, portid, elems_cb, &ow);
		if (n <= MNL_CB_STOP)
			break;
	}
	/* no element in the stats set: no packet matched the key yet */
	if (n < 0 && !(set->counters && errno == ENOENT))
		goto out;
	*packets = o.packets;
	*bytes = o.bytes;
	ret = 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}

/* ---- feature probes ---- */

#define PROBE_TABLE	"brflow_probe"

/* Probe batches end with a message that always fails (deleting a table
 * that does not exist), so the kernel aborts the transaction and nothing
 * is left behind; the probe succeeded if no earlier message failed. */
static int probe_run(struct batch *b)
{
	uint32_t sentinel;
	int ok;

	sentinel = b->seq;
	if (add_table_msg(b, NIR_INET, PROBE_TABLE "_absent",
			  NFT_MSG_DELTABLE) || batch_marker(b, 0)) {
		batch_free(b);
		return 0;
	}
	batch_send(b);
	ok = b->err_seq == sentinel;
	batch_free(b);
	return ok;
}

static int probe_start(struct batch *b, enum nir_family fam, int with_chain)
{
	batch_init(b);
	if (batch_marker(b, 1) ||
	    add_table_msg(b, fam, PROBE_TABLE, NFT_MSG_NEWTABLE))
		return -1;
	if (with_chain &&
	    add_chain_msg(b, fam, PROBE_TABLE, "c", NIR_HOOK_PREROUTING, 0,
			  false, false))
		return -1;
	return 0;
}

/* Adds one rule with the single expression 'e' (taken) to the probe chain. */
static int probe_rule(struct batch *b, enum nir_family fam,
		      struct nftnl_expr *e)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r || !e) {
		if (e)
			nftnl_expr_free(e);
		if (r)
			nftnl_rule_free(r);
		return -1;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, PROBE_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "c");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, nfproto(fam));
	nftnl_rule_add_expr(r, e);
	nlh = batch_msg(b, NFT_MSG_NEWRULE, nfproto(fam),
			NLM_F_CREATE | NLM_F_APPEND);
	if (!nlh) {
		nftnl_rule_free(r);
		return -1;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_end_msg(b, "probe rule");
	return 0;
}

static int probe_bridge_ct(void)
{
	struct nir_src state = { .kind = NIR_SRC_CT, .key = NFT_CT_STATE,
				 .len = 4 };
	struct batch b;

	if (probe_start(&b, NIR_BRIDGE, 1) ||
	    probe_rule(&b, NIR_BRIDGE, expr_load(&state, NFT_REG_1))) {
		batch_free(&b);
		return 0;
	}
	return probe_run(&b);
}

static int probe_queue(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("queue");
	struct batch b;

	if (e) {
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, 0);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
	}
	if (probe_start(&b, NIR_INET, 1) || probe_rule(&b, NIR_INET, e)) {
		batch_free(&b);
		return 0;
	}
	return probe_run(&b);
}

static int probe_xt_nfqueue(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("target");
	struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info));
	struct batch b;

	if (!e || !info) {
		nftnl_expr_free(e);
		free(info);
		return 0;
	}
	info->queues_total = 1;
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
	if (probe_start(&b, NIR_INET, 1) || probe_rule(&b, NIR_INET, e)) {
		batch_free(&b);
		return 0;
	}
	return probe_run(&b);
}

static int probe_flowtable_in(enum nir_family fam)
{
	struct nftnl_flowtable *ft = nftnl_flowtable_alloc();
	struct nlmsghdr *nlh;
	struct batch b;

	if (!ft)
		return 0;
	nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_TABLE, PROBE_TABLE);
	nftnl_flowtable_set_str(ft, NFTNL_FLOWTABLE_NAME, "f");
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_FAMILY, nfproto(fam));
	nftnl_flowtable_set_u32(ft, NFTNL_FLOWTABLE_HOOKNUM, NF_NETDEV_INGRESS);
	nftnl_flowtable_set_s32(ft, NFTNL_FLOWTABLE_PRIO, 0);
	if (probe_start(&b, fam, 0))
		goto fail;
	nlh = batch_msg(&b, NFT_MSG_NEWFLOWTABLE, nfproto(fam), NLM_F_CREATE);
	if (!nlh)
		goto fail;
	nftnl_flowtable_nlmsg_build_payload(nlh, ft);
	batch_end_msg(&b, "probe flowtable");
	nftnl_flowtable_free(ft);
	return probe_run(&b);
fail:
	nftnl_flowtable_free(ft);
	batch_free(&b);
	return 0;
}

static int probe_ct_helper(void)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	struct batch b;

	if (!o)
		return 0;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, PROBE_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, "h");
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
	nftnl_obj_set_str(o, NFTNL_OBJ_CT_HELPER_NAME, "ftp");
	nftnl_obj_set_u16(o, NFTNL_OBJ_CT_HELPER_L3PROTO, NFPROTO_IPV4);
	nftnl_obj_set_u8(o, NFTNL_OBJ_CT_HELPER_L4PROTO, IPPROTO_TCP);
	if (probe_start(&b, NIR_INET, 0))
		goto fail;
	nlh = batch_msg(&b, NFT_MSG_NEWOBJ, NFPROTO_INET, NLM_F_CREATE);
	if (!nlh)
		goto fail;
	nftnl_obj_nlmsg_build_payload(nlh, o);
	batch_end_msg(&b, "probe ct helper");
	nftnl_obj_free(o);
	return probe_run(&b);
fail:
	nftnl_obj_free(o);
	batch_free(&b);
	return 0;
}

void nft_probe_features(struct nft_features *f)
{
	memset(f, 0, sizeof(*f));
	f->bridge_ct = probe_bridge_ct();
	f->flowtable = probe_flowtable_in(NIR_INET);
	/* layer-2 offload: a flowtable for bridged flows, in the bridge family */
	f->bridge_flowtable = f->flowtable && probe_flowtable_in(NIR_BRIDGE);
	f->queue = probe_queue();
	f->xt_nfqueue = probe_xt_nfqueue();
	f->ct_helper = probe_ct_helper();
	/* built in or loaded: its sysctl directory is the sign */
	f->br_netfilter = access("/proc/sys/net/bridge", F_OK) == 0;
}
