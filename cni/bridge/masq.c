#include "masq.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <net/if.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "nfnl.h"
#include "nftexpr.h"
#include "sha2.h"
#include "xalloc.h"

void masq_chain_name(const char *network, const char *container_id, char out[29])
{
	cleanup_free char *s = xasprintf("%s%s", network, container_id);
	char hex[25];
	sha2_512_hex(s, strlen(s), 12, hex);
	snprintf(out, 29, "CNI-%s", hex);
}

static void sock_closep(struct nfnl_sock **s)
{
	nfnl_sock_close(*s);
}
#define cleanup_sock __attribute__((cleanup(sock_closep)))

static void batch_freep(struct nfnl_batch **b)
{
	nfnl_batch_free(*b);
}
#define cleanup_batch __attribute__((cleanup(batch_freep)))

static int nfproto(int family)
{
	if (family == AF_BRIDGE)
		return NFPROTO_BRIDGE;
	return family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

/* ---- rule building, the way iptables-nft encodes its rules ---- */

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
	nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len, NFT_REG_1);
	if (bitwise) {
		uint8_t zero[16] = {0};
		nftexpr_bitwise(r, len, mask, zero);
	}
	nftexpr_cmp(r, negate ? NFT_CMP_NEQ : NFT_CMP_EQ, data, len);
}

static int add_comment_counter(struct nftnl_rule *r, const char *comment, struct mk_err **err)
{
	if (nftexpr_xt_comment(r, comment, err) < 0)
		return -1;
	nftexpr_counter(r);
	return 0;
}

static struct nftnl_rule *rule_new(int family, const char *chain)
{
	return nftexpr_rule_new((uint32_t)nfproto(family), "nat", chain);
}

/* ---- reading rules back ---- */

/* A rule's identity for de-duplication and lookup: the compared bytes and
 * the verdict, chain or target. Strings new, freed by rule_list_free(). */
struct rule_sig {
	uint64_t handle;
	char *chain;   /* the rule's chain */
	char *jump;    /* immediate jump target, NULL if none */
	char *comment; /* xt comment match text, NULL if none */
	struct buf sig;
};

struct rule_list {
	struct rule_sig *v;
	size_t n, cap;
};

static void rule_list_free(struct rule_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].chain);
		free(l->v[i].jump);
		free(l->v[i].comment);
		buf_free(&l->v[i].sig);
	}
	free(l->v);
	*l = (struct rule_list){0};
}

static int sig_expr(struct nftnl_expr *e, void *data)
{
	struct rule_sig *s = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	if (!name)
		return 0;
	if (!strcmp(name, "cmp")) {
		uint32_t len = 0;
		const uint8_t *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
		buf_printf(&s->sig, "c%u:", nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP));
		for (uint32_t i = 0; d && i < len; i++)
			buf_printf(&s->sig, "%02x", d[i]);
		buf_append_char(&s->sig, '/');
	} else if (!strcmp(name, "immediate")) {
		uint32_t verdict = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
		const char *chain = nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)
					    ? nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN)
					    : NULL;
		if (chain) {
			free(s->jump);
			s->jump = xstrdup(chain);
		}
		buf_printf(&s->sig, "v%d:%s/", (int)verdict, chain ? chain : "");
	} else if (!strcmp(name, "match")) {
		const char *mt = nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME);
		uint32_t len = 0;
		const char *info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
		if (mt && !strcmp(mt, "comment") && info && len) {
			free(s->comment);
			s->comment = xstrndup(info, len);
		}
	} else if (!strcmp(name, "target")) {
		const char *tg = nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME);
		buf_printf(&s->sig, "t:%s/", tg ? tg : "");
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct rule_list *l = data;
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWRULE)
		return 0;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		abort();
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 || !nftnl_rule_is_set(r, NFTNL_RULE_CHAIN)) {
		nftnl_rule_free(r);
		return 0;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct rule_sig *s = &l->v[l->n++];
	*s = (struct rule_sig){
		.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE),
		.chain = xstrdup(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)),
		.sig = BUF_INIT,
	};
	nftnl_expr_foreach(r, sig_expr, s);
	nftnl_rule_free(r);
	return 0;
}

/* A GETCHAIN request for chain of the family's nat table. */
static struct nlmsghdr *chain_request(struct nfnl_sock *nl, int family, const char *chain,
				      struct mk_err **err)
{
	struct nlmsghdr *nlh = nfnl_msg_new(nl, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETCHAIN,
					    (uint8_t)nfproto(family), 0);
	if (!mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_CHAIN_TABLE, "nat") ||
	    !mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_CHAIN_NAME, chain)) {
		mk_err_set(err, MK_EINVAL, "chain name too long");
		return NULL;
	}
	return nlh;
}

/* Moves e into *err, or frees it when *err is taken. Returns -1. */
static int pass_err(struct mk_err **err, struct mk_err *e)
{
	if (err && !*err)
		*err = e;
	else
		mk_err_free(e);
	return -1;
}

/* Rules of chain (NULL: all) in the family's nat table; a missing table or
 * chain is an empty list. */
static int list_rules(struct nfnl_sock *nl, int family, const char *chain, struct rule_list *out,
		      struct mk_err **err)
{
	struct mk_err *e = NULL;
	if (nfnl_nft_dump(nl, NFT_MSG_GETRULE, (uint8_t)nfproto(family), "nat", chain, rule_cb, out,
			  &e) < 0) {
		if (mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			return 0;
		}
		return pass_err(err, e);
	}
	return 0;
}

/* 1 when chain exists in the family's nat table, 0 if not, -1 on error. */
static int chain_exists(struct nfnl_sock *nl, int family, const char *chain, struct mk_err **err)
{
	struct nlmsghdr *nlh = chain_request(nl, family, chain, err);
	if (!nlh)
		return -1;
	struct mk_err *e = NULL;
	if (nfnl_talk(nl, nlh, NULL, NULL, &e) < 0) {
		if (mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			return 0;
		}
		return pass_err(err, e);
	}
	return 1;
}

static bool has_sig(const struct rule_list *l, const char *chain, const char *sig)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].chain, chain) && !strcmp(buf_str(&l->v[i].sig), sig))
			return true;
	return false;
}

/* Appends r to the batch unless an identical rule exists; frees r. */
static void put_rule(struct nfnl_batch *bt, struct nftnl_rule *r, const struct rule_list *existing)
{
	struct rule_sig s = {.sig = BUF_INIT};
	nftnl_expr_foreach(r, sig_expr, &s);
	if (!has_sig(existing, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), buf_str(&s.sig)))
		nfnl_batch_rule(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r);
	free(s.jump);
	free(s.comment);
	buf_free(&s.sig);
	nftnl_rule_free(r);
}

static void put_chain(struct nfnl_batch *bt, int family, const char *name, const char *base_type,
		      uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftexpr_chain_new((uint32_t)nfproto(family), "nat", name);
	if (base_type) {
		nftexpr_chain_base(c, base_type, hook, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nfnl_batch_chain(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, c);
	nftnl_chain_free(c);
}

static void put_table(struct nfnl_batch *bt, int family)
{
	struct nftnl_table *t = nftexpr_table_new((uint32_t)nfproto(family), "nat");
	nfnl_batch_table(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, t);
	nftnl_table_free(t);
}

/* A rule message without a handle flushes the chain; with one it deletes
 * that rule. */
static void del_rule(struct nfnl_batch *bt, int family, const char *chain, uint64_t handle)
{
	struct nftnl_rule *r = rule_new(family, chain);
	if (handle)
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nfnl_batch_rule(bt, NFT_MSG_DELRULE, 0, r);
	nftnl_rule_free(r);
}

static void del_chain(struct nfnl_batch *bt, int family, const char *name)
{
	struct nftnl_chain *c = nftexpr_chain_new((uint32_t)nfproto(family), "nat", name);
	nfnl_batch_chain(bt, NFT_MSG_DELCHAIN, 0, c);
	nftnl_chain_free(c);
}

/* A rule of chain matching addr/prefix at offset (or not, negate), with
 * the comment and a counter, as iptables-nft lays them out: the caller adds
 * the verdict. NULL with *err when the comment does not fit. */
static struct nftnl_rule *masq_rule(int family, const char *chain, const struct ipaddr *addr,
				    int prefix, uint32_t offset, bool negate, const char *comment,
				    struct mk_err **err)
{
	struct nftnl_rule *r = rule_new(family, chain);
	add_addr_match(r, addr, prefix, offset, negate);
	if (add_comment_counter(r, comment, err) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

static int setup_rules(struct nfnl_sock *nl, const char *chain, const char *comment,
		       const struct ipaddr_net *ip, struct rule_list *existing, struct mk_err **err)
{
	int family = ip->ip.family;
	if (list_rules(nl, family, chain, existing, err) < 0 ||
	    list_rules(nl, family, "POSTROUTING", existing, err) < 0)
		return -1;
	/* Updating an existing table or base chain is not free in the kernel:
	 * only create what is missing. */
	int have_post = chain_exists(nl, family, "POSTROUTING", err);
	int have_chain = have_post < 0 ? -1 : chain_exists(nl, family, chain, err);
	if (have_chain < 0)
		return -1;
	cleanup_batch struct nfnl_batch *bt = nfnl_batch_begin(nl);
	if (!have_post) {
		put_table(bt, family);
		put_chain(bt, family, "POSTROUTING", "nat", NF_INET_POST_ROUTING, 100);
	}
	if (!have_chain)
		put_chain(bt, family, chain, NULL, 0, 0);

	uint32_t saddr_off = family == AF_INET ? 12 : 8;
	uint32_t daddr_off = family == AF_INET ? 16 : 24;
	int host_prefix = family == AF_INET ? 32 : 128;
	struct ipaddr subnet = ipaddr_net_first(ip);

	/* -A CNI-x -d subnet -j ACCEPT */
	struct nftnl_rule *r =
		masq_rule(family, chain, &subnet, ip->prefix, daddr_off, false, comment, err);
	if (!r)
		return -1;
	nftexpr_verdict(r, NF_ACCEPT, NULL);
	put_rule(bt, r, existing);

	/* -A CNI-x ! -d multicast -j MASQUERADE */
	struct ipaddr mc;
	ipaddr_parse(family == AF_INET ? "224.0.0.0" : "ff00::", &mc);
	r = masq_rule(family, chain, &mc, family == AF_INET ? 4 : 8, daddr_off, true, comment, err);
	if (!r)
		return -1;
	nftexpr_xt_masquerade(r, family);
	put_rule(bt, r, existing);

	/* -A POSTROUTING -s ip -j CNI-x */
	r = masq_rule(family, "POSTROUTING", &ip->ip, host_prefix, saddr_off, false, comment, err);
	if (!r)
		return -1;
	nftexpr_verdict(r, NFT_JUMP, chain);
	put_rule(bt, r, existing);

	/* everything already there: nothing to send */
	return nfnl_batch_count(bt) ? nfnl_batch_send(bt, NULL, err) : 0;
}

int masq_setup(const char *network, const char *container_id, const struct ipaddr_net *ip,
	       struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	cleanup_free char *comment = xasprintf("name: \"%s\" id: \"%s\"", network, container_id);
	cleanup_sock struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return -1;
	struct rule_list existing = {0};
	int rc = setup_rules(nl, chain, comment, ip, &existing, err);
	rule_list_free(&existing);
	return rc;
}

static int teardown_family(struct nfnl_sock *nl, int family, const char *chain,
			   struct mk_err **err)
{
	int ex = chain_exists(nl, family, chain, err);
	if (ex < 0)
		return -1;
	struct rule_list pr = {0};
	if (list_rules(nl, family, "POSTROUTING", &pr, err) < 0) {
		rule_list_free(&pr);
		return -1;
	}
	cleanup_batch struct nfnl_batch *bt = nfnl_batch_begin(nl);
	for (size_t i = 0; i < pr.n; i++)
		if (pr.v[i].jump && !strcmp(pr.v[i].jump, chain))
			del_rule(bt, family, "POSTROUTING", pr.v[i].handle);
	rule_list_free(&pr);
	if (ex) {
		del_rule(bt, family, chain, 0);
		del_chain(bt, family, chain);
	}
	if (nfnl_batch_count(bt) == 0)
		return 0;
	return nfnl_batch_send(bt, NULL, err);
}

int masq_teardown(const char *network, const char *container_id, struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	cleanup_sock struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return -1;
	if (teardown_family(nl, AF_INET, chain, err) < 0 ||
	    teardown_family(nl, AF_INET6, chain, err) < 0)
		return -1;
	return 0;
}

int masq_exists(const char *network, const char *container_id, int family, struct mk_err **err)
{
	char chain[29];
	masq_chain_name(network, container_id, chain);
	cleanup_sock struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return -1;
	return chain_exists(nl, family, chain, err);
}

/* ---- macspoofchk: table bridge nat, as the reference writes it ---- */

/* Appends r (freed here) with comment as its user data. */
static int put_bridge_rule(struct nfnl_batch *bt, struct nftnl_rule *r, const char *comment,
			   struct mk_err **err)
{
	int rc = nftexpr_rule_comment(r, comment, err);
	if (rc == 0)
		nfnl_batch_rule(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r);
	nftnl_rule_free(r);
	return rc;
}

int spoofchk_setup(const char *container_id, const char *ifname, const char *host_veth,
		   const uint8_t mac[6], struct mk_err **err)
{
	cleanup_free char *chain = xasprintf("cni-br-iface-%s-%s", container_id, ifname);
	cleanup_free char *mchain = xasprintf("%s-mac", chain);
	cleanup_free char *comment = xasprintf("macspoofchk-%s-%s", container_id, ifname);
	char name[IFNAMSIZ] = {0};
	if (strlen(host_veth) >= sizeof(name))
		return mk_err_set(err, MK_EINVAL, "interface name %s too long", host_veth);
	memcpy(name, host_veth, strlen(host_veth));
	cleanup_sock struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return -1;
	int have_pre = chain_exists(nl, AF_BRIDGE, "PREROUTING", err);
	if (have_pre < 0)
		return -1;
	cleanup_batch struct nfnl_batch *bt = nfnl_batch_begin(nl);
	if (!have_pre) {
		put_table(bt, AF_BRIDGE);
		/* NF_BR_PRE_ROUTING: the bridge family numbers hooks like inet */
		put_chain(bt, AF_BRIDGE, "PREROUTING", "filter", NF_INET_PRE_ROUTING, -300);
	}
	put_chain(bt, AF_BRIDGE, chain, NULL, 0, 0);
	put_chain(bt, AF_BRIDGE, mchain, NULL, 0, 0);

	/* cni-br-iface-x: jump to the mac chain */
	struct nftnl_rule *r = rule_new(AF_BRIDGE, chain);
	nftexpr_verdict(r, NFT_JUMP, mchain);
	if (put_bridge_rule(bt, r, comment, err) < 0)
		return -1;

	/* -mac chain: ether saddr <mac> return; drop */
	r = rule_new(AF_BRIDGE, mchain);
	nftexpr_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1);
	nftexpr_cmp(r, NFT_CMP_EQ, mac, 6);
	nftexpr_verdict(r, NFT_RETURN, NULL);
	if (put_bridge_rule(bt, r, comment, err) < 0)
		return -1;
	r = rule_new(AF_BRIDGE, mchain);
	nftexpr_verdict(r, NF_DROP, NULL);
	if (put_bridge_rule(bt, r, comment, err) < 0)
		return -1;

	/* PREROUTING: iifname <host veth> jump cni-br-iface-x */
	r = rule_new(AF_BRIDGE, "PREROUTING");
	nftexpr_meta_load(r, NFT_META_IIFNAME, NFT_REG_1);
	nftexpr_cmp(r, NFT_CMP_EQ, name, sizeof(name));
	nftexpr_verdict(r, NFT_JUMP, chain);
	if (put_bridge_rule(bt, r, comment, err) < 0)
		return -1;
	return nfnl_batch_send(bt, NULL, err);
}

int spoofchk_teardown(const char *container_id, const char *ifname, struct mk_err **err)
{
	cleanup_free char *chain = xasprintf("cni-br-iface-%s-%s", container_id, ifname);
	cleanup_free char *mchain = xasprintf("%s-mac", chain);
	cleanup_sock struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return -1;
	struct rule_list pr = {0};
	int ex = chain_exists(nl, AF_BRIDGE, chain, err);
	int exm = ex < 0 ? -1 : chain_exists(nl, AF_BRIDGE, mchain, err);
	if (exm < 0 || list_rules(nl, AF_BRIDGE, "PREROUTING", &pr, err) < 0) {
		rule_list_free(&pr);
		return -1;
	}
	cleanup_batch struct nfnl_batch *bt = nfnl_batch_begin(nl);
	for (size_t i = 0; i < pr.n; i++)
		if (pr.v[i].jump && !strcmp(pr.v[i].jump, chain))
			del_rule(bt, AF_BRIDGE, "PREROUTING", pr.v[i].handle);
	rule_list_free(&pr);
	const char *chains[2] = {chain, mchain};
	int exists[2] = {ex, exm};
	for (int k = 0; k < 2; k++)
		if (exists[k])
			del_rule(bt, AF_BRIDGE, chains[k], 0);
	for (int k = 0; k < 2; k++)
		if (exists[k])
			del_chain(bt, AF_BRIDGE, chains[k]);
	if (nfnl_batch_count(bt) == 0)
		return 0;
	return nfnl_batch_send(bt, NULL, err);
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

/* Does rule s carry the comment of one of network's containers? */
static bool of_network(const struct rule_sig *s, const char *prefix)
{
	return s->comment && !strncmp(s->comment, prefix, strlen(prefix));
}

int masq_gc(const char *network, const json_t *valid, struct mk_err **err)
{
	cleanup_free char *prefix = xasprintf("name: \"%s\" id: \"", network);
	cleanup_sock struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return -1;
	int rc = 0;
	int families[2] = {AF_INET, AF_INET6};
	for (int f = 0; f < 2 && rc == 0; f++) {
		struct rule_list all = {0};
		if (list_rules(nl, families[f], NULL, &all, err) < 0) {
			rule_list_free(&all);
			rc = -1;
			break;
		}
		for (size_t i = 0; i < all.n && rc == 0; i++) {
			const char *chain = all.v[i].chain;
			if (strncmp(chain, "CNI-", 4) != 0 || !of_network(&all.v[i], prefix) ||
			    chain_valid(valid, network, chain))
				continue;
			/* one teardown per chain: later rules of it are skipped */
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = !strcmp(all.v[k].chain, chain) && of_network(&all.v[k], prefix);
			if (!seen && teardown_family(nl, families[f], chain, err) < 0)
				rc = -1;
		}
		rule_list_free(&all);
	}
	return rc;
}
