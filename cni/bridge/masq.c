#include "masq.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_comment.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "sha2.h"
#include "xalloc.h"

/* One batch holds at most a table, two chains, three rules and a few deletes:
 * each a few hundred bytes. */
#define MASQ_BATCH_SIZE 65536
#define MASQ_RECV_SIZE 65536

void masq_chain_name(const char *network, const char *container_id, char out[29])
{
	cleanup_free char *s = xasprintf("%s%s", network, container_id);
	char hex[25];
	sha2_512_hex(s, strlen(s), 12, hex);
	snprintf(out, 29, "CNI-%s", hex);
}

struct nft {
	struct mnl_socket *nl;
	unsigned int portid;
	uint32_t seq;
	char *rbuf;
};

static int nft_open(struct nft *n, struct mk_err **err)
{
	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->nl)
		return mk_err_errno(err, MK_EIO, errno, "opening nfnetlink socket");
	if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(n->nl);
		return mk_err_errno(err, MK_EIO, errno, "binding nfnetlink socket");
	}
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	n->rbuf = xmalloc(MASQ_RECV_SIZE);
	return 0;
}

static void nft_close(struct nft *n)
{
	if (n->nl)
		mnl_socket_close(n->nl);
	free(n->rbuf);
}

typedef int (*nft_cb)(const struct nlmsghdr *nlh, void *data);

/* Sends a batch (or one request) and reads replies until every message with
 * a sequence number in [first, last] is acknowledged or one fails. */
static int nft_talk(struct nft *n, const void *msg, size_t len, uint32_t first, uint32_t last,
		    nft_cb cb, void *data, struct mk_err **err)
{
	if (mnl_socket_sendto(n->nl, msg, len) < 0)
		return mk_err_errno(err, MK_EIO, errno, "nfnetlink send");
	uint32_t acked = 0, want = last - first + 1;
	while (acked < want) {
		ssize_t r = mnl_socket_recvfrom(n->nl, n->rbuf, MASQ_RECV_SIZE);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return mk_err_errno(err, MK_EIO, errno, "nfnetlink receive");
		}
		const struct nlmsghdr *m = (const struct nlmsghdr *)n->rbuf;
		int left = (int)r;
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq < first || m->nlmsg_seq > last)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				if (e->error) {
					int en = -e->error;
					mk_err_set(err, en == ENOENT ? MK_ENOTFOUND : MK_EIO, "%s",
						   strerror(en));
					if (err && *err)
						(*err)->errnum = en;
					return -1;
				}
				acked++;
			} else if (m->nlmsg_type == NLMSG_DONE) {
				acked++;
			} else if (cb) {
				cb(m, data);
			}
		}
	}
	return 0;
}

struct batch {
	char *buf;
	struct mnl_nlmsg_batch *b;
	uint32_t first, last;
};

static void batch_start(struct nft *n, struct batch *bt)
{
	bt->buf = xmalloc(MASQ_BATCH_SIZE);
	bt->b = mnl_nlmsg_batch_start(bt->buf, MASQ_BATCH_SIZE);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), n->seq++);
	mnl_nlmsg_batch_next(bt->b);
	bt->first = n->seq;
}

static struct nlmsghdr *batch_msg(struct nft *n, struct batch *bt, uint16_t type, int family,
				  uint16_t flags)
{
	bt->last = n->seq;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, (uint16_t)family,
				     flags | NLM_F_ACK, n->seq++);
}

static int batch_commit(struct nft *n, struct batch *bt, struct mk_err **err)
{
	mnl_nlmsg_batch_next(bt->b);
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), n->seq++);
	mnl_nlmsg_batch_next(bt->b);
	int rc = nft_talk(n, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b), bt->first,
			  bt->last, NULL, NULL, err);
	mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	return rc;
}

/* ---- rule building, the way iptables-nft encodes its rules ---- */

static void add_payload(struct nftnl_rule *r, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_rule_add_expr(r, e);
}

/* Address match: a byte-aligned prefix compares only its bytes, any other
 * prefix loads the whole address and masks it (iptables-nft's add_addr). */
static void add_addr_match(struct nftnl_rule *r, const struct ipaddr *ip, int prefix,
			   uint32_t offset, bool negate)
{
	int alen = ipaddr_len(ip);
	uint8_t mask[16] = {0}, data[16] = {0};
	for (int i = 0; i < alen; i++) {
		int bits = prefix - i * 8;
		mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		data[i] = ip->b[i] & mask[i];
	}
	int i;
	bool bitwise = false;
	for (i = 0; i < alen; i++) {
		if (mask[i] != 0xff) {
			bitwise = mask[i] != 0;
			break;
		}
	}
	for (int j = i + 1; !bitwise && j < alen; j++)
		bitwise = mask[j] != 0;
	uint32_t len = bitwise ? (uint32_t)alen : (uint32_t)i;
	add_payload(r, offset, len);
	if (bitwise) {
		uint8_t zero[16] = {0};
		struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
		nftnl_rule_add_expr(r, e);
	}
	struct nftnl_expr *c = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_OP, negate ? NFT_CMP_NEQ : NFT_CMP_EQ);
	nftnl_expr_set(c, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, c);
}

static void add_comment_counter(struct nftnl_rule *r, const char *comment)
{
	/* libnftnl takes ownership of match and target info: heap memory. */
	struct xt_comment_info *info = xcalloc(1, sizeof(*info));
	snprintf(info->comment, sizeof(info->comment), "%s", comment);
	struct nftnl_expr *e = nftnl_expr_alloc("match");
	nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, "comment");
	nftnl_expr_set_u32(e, NFTNL_EXPR_MT_REV, 0);
	nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, info, sizeof(*info));
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("counter");
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	nftnl_rule_add_expr(r, e);
}

static void add_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	nftnl_rule_add_expr(r, e);
}

static void add_masquerade(struct nftnl_rule *r, int family)
{
	struct nftnl_expr *e = nftnl_expr_alloc("target");
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "MASQUERADE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 0);
	if (family == AF_INET) {
		/* iptables passes the XT_ALIGNed size of the compat range */
		uint8_t *info = xcalloc(1, 24);
		struct nf_nat_ipv4_multi_range_compat mr;
		memset(&mr, 0, sizeof(mr));
		mr.rangesize = 1;
		memcpy(info, &mr, sizeof(mr));
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, 24);
	} else {
		struct nf_nat_range *nr = xcalloc(1, sizeof(*nr));
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, nr, sizeof(*nr));
	}
	nftnl_rule_add_expr(r, e);
}

static int nfproto(int family)
{
	if (family == AF_BRIDGE)
		return NFPROTO_BRIDGE;
	return family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

static struct nftnl_rule *rule_new(int family, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)nfproto(family));
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "nat");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

/* ---- reading rules back ---- */

/* A rule's identity for de-duplication and lookup: the compared bytes and
 * the verdict, chain or target. */
struct rule_sig {
	uint64_t handle;
	char chain[64];  /* the rule's chain */
	char jump[64];   /* immediate jump target, "" if none */
	char sig[160];
	char comment[256]; /* xt comment match text, "" if none */
};

struct rule_list {
	struct rule_sig *v;
	size_t n;
};

static int sig_expr(struct nftnl_expr *e, void *data)
{
	struct rule_sig *s = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	size_t used = strlen(s->sig);
	char *p = s->sig + used;
	size_t room = sizeof(s->sig) - used;
	if (!strcmp(name, "cmp")) {
		uint32_t len = 0;
		const uint8_t *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
		int w = snprintf(p, room, "c%u:", nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP));
		for (uint32_t i = 0; d && i < len && w > 0 && (size_t)w + 3 < room; i++)
			w += snprintf(p + w, room - (size_t)w, "%02x", d[i]);
		if (w > 0 && (size_t)w + 1 < room)
			strcat(p, "/");
	} else if (!strcmp(name, "immediate")) {
		uint32_t verdict = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
		const char *chain = nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)
					    ? nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN)
					    : NULL;
		if (chain)
			snprintf(s->jump, sizeof(s->jump), "%s", chain);
		snprintf(p, room, "v%d:%s/", (int)verdict, chain ? chain : "");
	} else if (!strcmp(name, "match") &&
		   !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME), "comment")) {
		uint32_t len = 0;
		const char *info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
		if (info && len)
			snprintf(s->comment, sizeof(s->comment), "%.*s", (int)len, info);
	} else if (!strcmp(name, "target")) {
		snprintf(p, room, "t:%s/", nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME));
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_list *l = data;
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWRULE)
		return 0;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return 0;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	struct rule_sig *s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	s->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	snprintf(s->chain, sizeof(s->chain), "%s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	nftnl_expr_foreach(r, sig_expr, s);
	nftnl_rule_free(r);
	return 0;
}

/* Rules of chain (NULL: all) in the family's nat table; a missing table or
 * chain is an empty list. */
static int list_rules(struct nft *n, int family, const char *chain, struct rule_list *out,
		      struct mk_err **err)
{
	char buf[1024];
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)nfproto(family),
						     NLM_F_DUMP | NLM_F_ACK, seq);
	struct nftnl_rule *r = nftnl_rule_alloc();
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "nat");
	if (chain)
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	struct mk_err *e = NULL;
	if (nft_talk(n, nlh, nlh->nlmsg_len, seq, seq, rule_cb, out, &e) < 0) {
		if (mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return 0;
}

static int chain_exists(struct nft *n, int family, const char *chain, struct mk_err **err)
{
	char buf[1024];
	uint32_t seq = n->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)nfproto(family),
						     NLM_F_ACK, seq);
	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "nat");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	struct mk_err *e = NULL;
	/* A get answers with the object and then the ack: count both. */
	int rc = nft_talk(n, nlh, nlh->nlmsg_len, seq, seq, NULL, NULL, &e);
	if (rc < 0) {
		if (mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			return 0;
		}
		*err = e;
		return -1;
	}
	return 1;
}

static bool has_sig(const struct rule_list *l, const char *chain, const char *sig)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].chain, chain) && !strcmp(l->v[i].sig, sig))
			return true;
	return false;
}

static void rule_sig_of(struct nftnl_rule *r, char *out, size_t len)
{
	struct rule_sig s;
	memset(&s, 0, sizeof(s));
	nftnl_expr_foreach(r, sig_expr, &s);
	snprintf(out, len, "%s", s.sig);
}

/* Appends r to the batch unless an identical rule exists; frees r. */
static void put_rule(struct nft *n, struct batch *bt, struct nftnl_rule *r, int family,
		     const struct rule_list *existing)
{
	char sig[160];
	rule_sig_of(r, sig, sizeof(sig));
	if (!has_sig(existing, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), sig)) {
		struct nlmsghdr *nlh = batch_msg(n, bt, NFT_MSG_NEWRULE, nfproto(family),
						 NLM_F_CREATE | NLM_F_APPEND);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		mnl_nlmsg_batch_next(bt->b);
	}
	nftnl_rule_free(r);
}

int masq_setup(const char *network, const char *container_id, const struct ipaddr_net *ip,
	       struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	cleanup_free char *comment = xasprintf("name: \"%s\" id: \"%s\"", network, container_id);
	int family = ip->ip.family;
	struct nft n = {0};
	if (nft_open(&n, err) < 0)
		return -1;
	struct rule_list existing = {0};
	int rc = -1;
	if (list_rules(&n, family, chain, &existing, err) < 0 ||
	    list_rules(&n, family, "POSTROUTING", &existing, err) < 0)
		goto out;

	/* Updating an existing table or base chain is not free in the kernel:
	 * only create what is missing. */
	int have_post = chain_exists(&n, family, "POSTROUTING", err);
	int have_chain = have_post < 0 ? -1 : chain_exists(&n, family, chain, err);
	if (have_chain < 0)
		goto out;
	struct batch bt;
	batch_start(&n, &bt);
	if (have_post)
		goto chain;
	struct nftnl_table *t = nftnl_table_alloc();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, "nat");
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)nfproto(family));
	struct nlmsghdr *nlh = batch_msg(&n, &bt, NFT_MSG_NEWTABLE, nfproto(family), NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(bt.b);

	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "nat");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "POSTROUTING");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 100);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = batch_msg(&n, &bt, NFT_MSG_NEWCHAIN, nfproto(family), NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(bt.b);

chain:
	if (!have_chain) {
		struct nftnl_chain *uc = nftnl_chain_alloc();
		nftnl_chain_set_str(uc, NFTNL_CHAIN_TABLE, "nat");
		nftnl_chain_set_str(uc, NFTNL_CHAIN_NAME, chain);
		struct nlmsghdr *h = batch_msg(&n, &bt, NFT_MSG_NEWCHAIN, nfproto(family),
					       NLM_F_CREATE);
		nftnl_chain_nlmsg_build_payload(h, uc);
		nftnl_chain_free(uc);
		mnl_nlmsg_batch_next(bt.b);
	}

	uint32_t saddr_off = family == AF_INET ? 12 : 8;
	uint32_t daddr_off = family == AF_INET ? 16 : 24;
	int host_prefix = family == AF_INET ? 32 : 128;
	struct ipaddr subnet = ipaddr_net_first(ip);

	/* -A CNI-x -d subnet -j ACCEPT */
	struct nftnl_rule *r = rule_new(family, chain);
	add_addr_match(r, &subnet, ip->prefix, daddr_off, false);
	add_comment_counter(r, comment);
	add_verdict(r, NF_ACCEPT, NULL);
	put_rule(&n, &bt, r, family, &existing);

	/* -A CNI-x ! -d multicast -j MASQUERADE */
	struct ipaddr mc;
	ipaddr_parse(family == AF_INET ? "224.0.0.0" : "ff00::", &mc);
	r = rule_new(family, chain);
	add_addr_match(r, &mc, family == AF_INET ? 4 : 8, daddr_off, true);
	add_comment_counter(r, comment);
	add_masquerade(r, family);
	put_rule(&n, &bt, r, family, &existing);

	/* -A POSTROUTING -s ip -j CNI-x */
	r = rule_new(family, "POSTROUTING");
	add_addr_match(r, &ip->ip, host_prefix, saddr_off, false);
	add_comment_counter(r, comment);
	add_verdict(r, NFT_JUMP, chain);
	put_rule(&n, &bt, r, family, &existing);

	rc = batch_commit(&n, &bt, err);
out:
	free(existing.v);
	nft_close(&n);
	return rc;
}

static int teardown_family(struct nft *n, int family, const char *chain, struct mk_err **err)
{
	int ex = chain_exists(n, family, chain, err);
	if (ex < 0)
		return -1;
	struct rule_list pr = {0};
	if (list_rules(n, family, "POSTROUTING", &pr, err) < 0)
		return -1;
	size_t jumps = 0;
	for (size_t i = 0; i < pr.n; i++)
		if (!strcmp(pr.v[i].jump, chain))
			jumps++;
	if (!ex && !jumps) {
		free(pr.v);
		return 0;
	}
	struct batch bt;
	batch_start(n, &bt);
	for (size_t i = 0; i < pr.n; i++) {
		if (strcmp(pr.v[i].jump, chain) != 0)
			continue;
		struct nftnl_rule *r = rule_new(family, "POSTROUTING");
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, pr.v[i].handle);
		struct nlmsghdr *nlh = batch_msg(n, &bt, NFT_MSG_DELRULE, nfproto(family), 0);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		mnl_nlmsg_batch_next(bt.b);
	}
	free(pr.v);
	if (ex) {
		struct nftnl_rule *r = rule_new(family, chain); /* no handle: flush */
		struct nlmsghdr *nlh = batch_msg(n, &bt, NFT_MSG_DELRULE, nfproto(family), 0);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		mnl_nlmsg_batch_next(bt.b);
		struct nftnl_chain *c = nftnl_chain_alloc();
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "nat");
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
		nlh = batch_msg(n, &bt, NFT_MSG_DELCHAIN, nfproto(family), 0);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
		mnl_nlmsg_batch_next(bt.b);
	}
	return batch_commit(n, &bt, err);
}

int masq_teardown(const char *network, const char *container_id, struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	struct nft n = {0};
	if (nft_open(&n, err) < 0)
		return -1;
	int rc = 0;
	if (teardown_family(&n, AF_INET, chain, err) < 0 ||
	    teardown_family(&n, AF_INET6, chain, err) < 0)
		rc = -1;
	nft_close(&n);
	return rc;
}

int masq_exists(const char *network, const char *container_id, int family, struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	struct nft n = {0};
	if (nft_open(&n, err) < 0)
		return -1;
	int rc = chain_exists(&n, family, chain, err);
	nft_close(&n);
	return rc;
}

/* ---- macspoofchk: table bridge nat, as the reference writes it ---- */

static void add_comment_udata(struct nftnl_rule *r, const char *comment)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

static void batch_put_rule(struct nft *n, struct batch *bt, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = batch_msg(n, bt, NFT_MSG_NEWRULE, NFPROTO_BRIDGE,
					 NLM_F_CREATE | NLM_F_APPEND);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(bt->b);
}

static void batch_put_chain(struct nft *n, struct batch *bt, const char *name, bool base)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "nat");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (base) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		/* NF_BR_PRE_ROUTING: the bridge family numbers hooks like inet */
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -300);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	struct nlmsghdr *nlh = batch_msg(n, bt, NFT_MSG_NEWCHAIN, NFPROTO_BRIDGE, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(bt->b);
}

int spoofchk_setup(const char *container_id, const char *ifname, const char *host_veth,
		   const uint8_t mac[6], struct mk_err **err)
{
	cleanup_free char *chain = xasprintf("cni-br-iface-%s-%s", container_id, ifname);
	cleanup_free char *mchain = xasprintf("%s-mac", chain);
	cleanup_free char *comment = xasprintf("macspoofchk-%s-%s", container_id, ifname);
	struct nft n = {0};
	if (nft_open(&n, err) < 0)
		return -1;
	int rc = -1;
	int have_pre = chain_exists(&n, AF_BRIDGE, "PREROUTING", err);
	if (have_pre < 0)
		goto out;
	struct batch bt;
	batch_start(&n, &bt);
	if (!have_pre) {
		struct nftnl_table *t = nftnl_table_alloc();
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, "nat");
		nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_BRIDGE);
		struct nlmsghdr *nlh = batch_msg(&n, &bt, NFT_MSG_NEWTABLE, NFPROTO_BRIDGE, NLM_F_CREATE);
		nftnl_table_nlmsg_build_payload(nlh, t);
		nftnl_table_free(t);
		mnl_nlmsg_batch_next(bt.b);
		batch_put_chain(&n, &bt, "PREROUTING", true);
	}
	batch_put_chain(&n, &bt, chain, false);
	batch_put_chain(&n, &bt, mchain, false);

	/* cni-br-iface-x: jump to the mac chain */
	struct nftnl_rule *r = rule_new(AF_BRIDGE, chain);
	add_verdict(r, NFT_JUMP, mchain);
	add_comment_udata(r, comment);
	batch_put_rule(&n, &bt, r);

	/* -mac chain: ether saddr <mac> return; drop */
	r = rule_new(AF_BRIDGE, mchain);
	struct nftnl_expr *e = nftnl_expr_alloc("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_LL_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 6);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 6);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, mac, 6);
	nftnl_rule_add_expr(r, e);
	add_verdict(r, NFT_RETURN, NULL);
	add_comment_udata(r, comment);
	batch_put_rule(&n, &bt, r);
	r = rule_new(AF_BRIDGE, mchain);
	add_verdict(r, NF_DROP, NULL);
	add_comment_udata(r, comment);
	batch_put_rule(&n, &bt, r);

	/* PREROUTING: iifname <host veth> jump cni-br-iface-x */
	r = rule_new(AF_BRIDGE, "PREROUTING");
	e = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_IIFNAME);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	char name[16] = {0};
	snprintf(name, sizeof(name), "%s", host_veth);
	e = nftnl_expr_alloc("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, name, sizeof(name));
	nftnl_rule_add_expr(r, e);
	add_verdict(r, NFT_JUMP, chain);
	add_comment_udata(r, comment);
	batch_put_rule(&n, &bt, r);

	rc = batch_commit(&n, &bt, err);
out:
	nft_close(&n);
	return rc;
}

int spoofchk_teardown(const char *container_id, const char *ifname, struct mk_err **err)
{
	cleanup_free char *chain = xasprintf("cni-br-iface-%s-%s", container_id, ifname);
	cleanup_free char *mchain = xasprintf("%s-mac", chain);
	struct nft n = {0};
	if (nft_open(&n, err) < 0)
		return -1;
	int rc = -1;
	struct rule_list pr = {0};
	int ex = chain_exists(&n, AF_BRIDGE, chain, err);
	int exm = ex < 0 ? -1 : chain_exists(&n, AF_BRIDGE, mchain, err);
	if (exm < 0 || list_rules(&n, AF_BRIDGE, "PREROUTING", &pr, err) < 0)
		goto out;
	size_t jumps = 0;
	for (size_t i = 0; i < pr.n; i++)
		if (!strcmp(pr.v[i].jump, chain))
			jumps++;
	rc = 0;
	if (!ex && !exm && !jumps)
		goto out;
	struct batch bt;
	batch_start(&n, &bt);
	for (size_t i = 0; i < pr.n; i++) {
		if (strcmp(pr.v[i].jump, chain) != 0)
			continue;
		struct nftnl_rule *r = rule_new(AF_BRIDGE, "PREROUTING");
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, pr.v[i].handle);
		struct nlmsghdr *nlh = batch_msg(&n, &bt, NFT_MSG_DELRULE, NFPROTO_BRIDGE, 0);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		mnl_nlmsg_batch_next(bt.b);
	}
	const char *chains[2] = {chain, mchain};
	int exists[2] = {ex, exm};
	for (int k = 0; k < 2; k++) {
		if (!exists[k])
			continue;
		struct nftnl_rule *r = rule_new(AF_BRIDGE, chains[k]);
		struct nlmsghdr *nlh = batch_msg(&n, &bt, NFT_MSG_DELRULE, NFPROTO_BRIDGE, 0);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		mnl_nlmsg_batch_next(bt.b);
	}
	for (int k = 0; k < 2; k++) {
		if (!exists[k])
			continue;
		struct nftnl_chain *c = nftnl_chain_alloc();
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "nat");
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chains[k]);
		struct nlmsghdr *nlh = batch_msg(&n, &bt, NFT_MSG_DELCHAIN, NFPROTO_BRIDGE, 0);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
		mnl_nlmsg_batch_next(bt.b);
	}
	rc = batch_commit(&n, &bt, err);
out:
	free(pr.v);
	nft_close(&n);
	return rc;
}

/* ---- GC ---- */

static bool chain_valid(const json_t *valid, const char *network, const char *chain)
{
	size_t i;
	json_t *v;
	json_array_foreach(valid, i, v) {
		const char *id = json_string_value(json_object_get(v, "containerID"));
		if (!id)
			continue;
		char name[29];
		masq_chain_name(network, id, name);
		if (!strcmp(name, chain))
			return true;
	}
	return false;
}

int masq_gc(const char *network, const json_t *valid, struct mk_err **err)
{
	cleanup_free char *prefix = xasprintf("name: \"%s\" id: \"", network);
	struct nft n = {0};
	if (nft_open(&n, err) < 0)
		return -1;
	int rc = 0;
	int families[2] = {AF_INET, AF_INET6};
	for (int f = 0; f < 2 && rc == 0; f++) {
		struct rule_list all = {0};
		if (list_rules(&n, families[f], NULL, &all, err) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < all.n && rc == 0; i++) {
			const char *chain = all.v[i].chain;
			if (strncmp(chain, "CNI-", 4) != 0 ||
			    strncmp(all.v[i].comment, prefix, strlen(prefix)) != 0 ||
			    chain_valid(valid, network, chain))
				continue;
			/* one teardown per chain: later rules of it are skipped */
			bool seen = false;
			for (size_t k = 0; k < i; k++)
				if (!strcmp(all.v[k].chain, chain) &&
				    !strncmp(all.v[k].comment, prefix, strlen(prefix)))
					seen = true;
			if (!seen && teardown_family(&n, families[f], chain, err) < 0)
				rc = -1;
		}
		free(all.v);
	}
	nft_close(&n);
	return rc;
}
