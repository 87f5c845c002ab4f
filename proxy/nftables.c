/* libnftnl backend (see the header). Expressions are laid out exactly as the
 * nft tool lays out the same rule text, so `nft list` prints them back in
 * upstream's words. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "backend.h"
#include "buf.h"
#include "nfnl.h"
#include "nftexpr.h"
#include "strmap.h"
#include "nftables.h"
#include "nftrules.h"
#include "xalloc.h"

/* nft's datatype numbers, as stored in a set's key type */
#define TYPE_INTEGER 4
#define TYPE_IPADDR 7
#define TYPE_INET_PROTOCOL 12
#define TYPE_INET_SERVICE 13
#define TYPE_BITS 6
#define BYTEORDER_HOST 1
#define BYTEORDER_BIG 2

/* elements per set-element message (about 100 bytes each) */
#define ELEMS_PER_MSG 512

struct nft_backend {
	bool initialized;            /* a full sync succeeded */
	/* "ns/name" -> what the service has in the kernel, as last written, in
	 * one string: the hash of its rendered objects (REC_HASH hex digits),
	 * then entries each ended by REC_SEP: "c<chain>", "s<set>" and, for map
	 * elements, "<map index digit><key>" followed by the hash of its value;
	 * in names, REC_SVC stands for "-<ns>/<name>/". Partial syncs touch only
	 * the objects of changed services; one string per service keeps 10,000
	 * services in a few MB. */
	struct strmap records;
	uint64_t fixed_hash;         /* of the fixed part's inputs, as last written */
	/* the ruleset generation our last batch produced; 0 when another writer
	 * may have committed since (then the kernel is not what we recorded) */
	uint32_t genid;
};

/* A batch being built, with what each message belongs to, so that a kernel
 * refusal names the service. */
struct batch {
	struct nfnl_batch *nb;
	uint32_t set_id;
	const char **what; /* per message index: the service or object (borrowed) */
	size_t cap_what;
	size_t n_msgs;     /* messages, begin and end included */
};

/* Records that the messages [first, first + n) belong to what. */
static void batch_note(struct batch *bt, size_t first, size_t n, const char *what)
{
	if (first + n > bt->cap_what) {
		while (first + n > bt->cap_what)
			bt->cap_what = bt->cap_what ? bt->cap_what * 2 : 1024;
		bt->what = xrealloc(bt->what, bt->cap_what * sizeof(*bt->what));
	}
	for (size_t i = first; i < first + n; i++)
		bt->what[i] = what;
	bt->n_msgs += n;
}

/* ---- expressions ---- */

/* A rule of our table, its chain set when it is sent. */
static struct nftnl_rule *rule_new(void)
{
	return nftexpr_rule_new(NFPROTO_IPV4, NFTR_TABLE, NULL);
}

static void e_ct_new(struct nftnl_rule *r)
{
	nftexpr_ct_load(r, NFT_CT_STATE, NFT_REG_1);
	uint32_t mask = 8 /* NF_CT_STATE_BIT(IP_CT_NEW) */, zero = 0;
	nftexpr_bitwise(r, 4, &mask, &zero);
	nftexpr_cmp(r, NFT_CMP_NEQ, &zero, 4);
}

/* Parses an IPv4 address with an optional "/bits" into *net (network byte
 * order) and *bits (32 without one). -1 when it is not one: nothing valid is
 * longer than INET_ADDRSTRLEN, so longer text is refused, not cut. */
static int parse_cidr4(const char *cidr, uint32_t *net, int *bits)
{
	const char *slash = strchr(cidr, '/');
	size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	char a[INET_ADDRSTRLEN];
	if (alen >= sizeof(a))
		return -1;
	memcpy(a, cidr, alen);
	a[alen] = '\0';
	struct in_addr ip;
	if (inet_pton(AF_INET, a, &ip) != 1)
		return -1;
	*bits = 32;
	if (slash) {
		const char *p = slash + 1;
		if (!*p || strlen(p) > 2 || strspn(p, "0123456789") != strlen(p))
			return -1;
		*bits = atoi(p);
		if (*bits > 32)
			return -1;
	}
	*net = ip.s_addr;
	return 0;
}

/* ip saddr/daddr (offset 12/16) == or != addr[/bits], laid out as nft does:
 * load only the prefix's bytes, mask a partial last byte. */
static int e_addr(struct nftnl_rule *r, uint32_t off, const char *cidr, uint32_t op)
{
	uint32_t ip;
	int bits;
	if (parse_cidr4(cidr, &ip, &bits) < 0)
		return -1;
	if (bits == 0)
		return 0;
	uint32_t len = (uint32_t)(bits + 7) / 8;
	nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len, NFT_REG_1);
	uint32_t mask = bits == 32 ? 0xffffffffu : htonl(~(0xffffffffu >> bits));
	uint32_t net = ip & mask;
	if (bits % 8) {
		uint32_t zero = 0;
		nftexpr_bitwise(r, len, &mask, &zero);
	}
	nftexpr_cmp(r, op, &net, len);
	return 0;
}

static void e_concat_key(struct nftnl_rule *r, bool with_ip)
{
	uint32_t reg = NFT_REG32_00;
	if (with_ip) {
		nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
		reg = NFT_REG32_01;
	}
	nftexpr_meta_load(r, NFT_META_L4PROTO, with_ip ? reg : NFT_REG_1);
	nftexpr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg + 1);
}

/* Every rule of a per-service chain carries a tag in its user data, next to
 * the comment: the hash of the chain's whole content (name and rule texts)
 * and the rule's place in it. nft prints only the comment. A full sync that
 * cannot trust its records (after a restart, or after another writer's
 * commit) reads the tags back and leaves alone the chains found intact,
 * instead of rewriting every service. */
#define UDATA_RULE_TAG 0xa5

struct rule_tag {
	uint64_t hash;
	uint16_t index, count;
};

/* Sets r's user data: the comment (or none) and the tag (or none). Both
 * are ours and short: they always fit. */
static void rule_udata(struct nftnl_rule *r, const char *comment, const struct rule_tag *tag)
{
	struct nftnl_udata_buf *u = nftexpr_udata_new();
	if (comment)
		nftexpr_must(nftexpr_udata_put_str(u, NFTNL_UDATA_RULE_COMMENT, comment, NULL));
	if (tag) {
		uint8_t v[12];
		memcpy(v, &tag->hash, 8);
		memcpy(v + 8, &tag->index, 2);
		memcpy(v + 10, &tag->count, 2);
		nftexpr_must(nftexpr_udata_put(u, UDATA_RULE_TAG, v, sizeof(v), NULL));
	}
	nftexpr_rule_udata(r, u);
	nftnl_udata_buf_free(u);
}

/* The tag in a rule's user data, if it has one. */
static bool rule_tag_of(const uint8_t *ud, size_t len, struct rule_tag *tag)
{
	for (size_t off = 0; off + 2 <= len; off += 2 + (size_t)ud[off + 1]) {
		if (ud[off] == UDATA_RULE_TAG && ud[off + 1] == 12 && off + 14 <= len) {
			memcpy(&tag->hash, ud + off + 2, 8);
			memcpy(&tag->index, ud + off + 10, 2);
			memcpy(&tag->count, ud + off + 12, 2);
			return true;
		}
	}
	return false;
}

/* ---- objects ---- */

/* Appends r (freed here) to chain. */
static void send_rule(struct batch *bt, struct nftnl_rule *r, const char *chain, const char *what)
{
	nftexpr_must(nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain));
	batch_note(bt, nfnl_batch_rule(bt->nb, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE, r), 1,
		   what);
	nftnl_rule_free(r);
}

static void send_chain(struct batch *bt, const char *name, const char *type, int hook, int prio,
		       const char *comment, const char *what)
{
	struct nftnl_chain *c = nftexpr_chain_new(NFPROTO_IPV4, NFTR_TABLE, name);
	if (type)
		nftexpr_chain_base(c, type, (uint32_t)hook, prio);
	/* our own comments, short enough */
	if (comment)
		nftexpr_must(nftexpr_chain_comment(c, comment, NULL));
	batch_note(bt, nfnl_batch_chain(bt->nb, NFT_MSG_NEWCHAIN, NLM_F_CREATE, c), 1, what);
	nftnl_chain_free(c);
}

static void chain_op(struct batch *bt, uint16_t type, const char *name, const char *what)
{
	if (type == NFT_MSG_DELRULE) {
		/* a rule message without handle flushes the chain */
		struct nftnl_rule *r = nftexpr_rule_new(NFPROTO_IPV4, NFTR_TABLE, name);
		batch_note(bt, nfnl_batch_rule(bt->nb, NFT_MSG_DELRULE, 0, r), 1, what);
		nftnl_rule_free(r);
	} else {
		struct nftnl_chain *c = nftexpr_chain_new(NFPROTO_IPV4, NFTR_TABLE, name);
		batch_note(bt, nfnl_batch_chain(bt->nb, type, 0, c), 1, what);
		nftnl_chain_free(c);
	}
}

static struct nftnl_set *set_new(const char *name)
{
	return nftexpr_set_new(NFPROTO_IPV4, NFTR_TABLE, name);
}

static void set_udata(struct nftnl_set *s, uint32_t byteorder, const char *comment)
{
	struct nftnl_udata_buf *u = nftexpr_udata_new();
	/* our own comments, short enough */
	nftexpr_must(nftexpr_udata_put(u, NFTNL_UDATA_SET_KEYBYTEORDER, &byteorder,
				       sizeof(byteorder), NULL));
	if (comment)
		nftexpr_must(nftexpr_udata_put_str(u, NFTNL_UDATA_SET_COMMENT, comment, NULL));
	nftexpr_set_udata(s, u);
	nftnl_udata_buf_free(u);
}

static void send_set(struct batch *bt, struct nftnl_set *s, uint16_t type, const char *what)
{
	/* the kernel wants an id on every new set (rules of the same batch may
	 * refer to it by id) */
	if (type == NFT_MSG_NEWSET && !nftnl_set_is_set(s, NFTNL_SET_ID))
		nftnl_set_set_u32(s, NFTNL_SET_ID, ++bt->set_id);
	batch_note(bt, nfnl_batch_set(bt->nb, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0, s), 1,
		   what);
}

/* The elements of s, in as many messages as they need. */
static void send_elems(struct batch *bt, struct nftnl_set *s, uint16_t type, const char *what)
{
	size_t n = 0;
	size_t first = nfnl_batch_set_elems(bt->nb, type,
					    type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, s, &n);
	batch_note(bt, first, n, what);
}

/* A fresh name for an anonymous set. With nft's "__map%d" template the
 * kernel scans every set of the table for a free number, and looks the set up
 * by that name before falling back to its id: three passes over thousands of
 * sets per service. A name of our own (unique per process, random per start
 * so it cannot meet a set left by an earlier run) costs one. */
static void anon_name(const char *prefix, char *out, size_t len)
{
	static atomic_uint_least64_t seq;
	static uint32_t base;
	if (!base)
		base = ((uint32_t)time(NULL) * 2654435761u) ^ (uint32_t)getpid() ^ 1u;
	snprintf(out, len, "%s%08x%llx", prefix, base,
		 (unsigned long long)atomic_fetch_add(&seq, 1));
}

/* Elements of a set created in the same batch, addressed by its id alone
 * (a name would cost the kernel a scan of every set of the table). */
static void send_new_set_elems(struct batch *bt, struct nftnl_set *s, const char *what)
{
	nftnl_set_unset(s, NFTNL_SET_NAME);
	send_elems(bt, s, NFT_MSG_NEWSETELEM, what);
}

static void fixed_set(struct batch *bt, enum nftr_map m)
{
	const struct nftr_map_info *mi = &nftr_maps[m];
	struct nftnl_set *s = set_new(mi->name);
	uint32_t key_type, key_len;
	if (mi->has_ip && mi->has_port) {
		key_type = ((TYPE_IPADDR << TYPE_BITS | TYPE_INET_PROTOCOL) << TYPE_BITS) |
			   TYPE_INET_SERVICE;
		key_len = 12;
	} else if (mi->has_port) {
		key_type = TYPE_INET_PROTOCOL << TYPE_BITS | TYPE_INET_SERVICE;
		key_len = 8;
	} else {
		key_type = TYPE_IPADDR;
		key_len = 4;
	}
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	if (mi->is_map) {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	} else {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	}
	set_udata(s, BYTEORDER_BIG, mi->comment);
	send_set(bt, s, NFT_MSG_NEWSET, mi->name);
	nftnl_set_free(s);
}

/* Key bytes of an element of map m: ip (4) . proto (4) . port (4), each
 * component in a 32-bit slot as nft packs concatenations. -1 when the
 * address is not one. */
static int elem_key(enum nftr_map m, const struct nftr_elem *e, uint8_t key[12], uint32_t *len)
{
	const struct nftr_map_info *mi = &nftr_maps[m];
	memset(key, 0, 12);
	*len = 0;
	if (mi->has_ip) {
		if (!e->ip || inet_pton(AF_INET, e->ip, key) != 1)
			return -1;
		*len = 4;
	}
	if (mi->has_port) {
		key[*len] = e->proto;
		uint16_t p = htons(e->port);
		memcpy(key + *len + 4, &p, 2);
		*len += 8;
	}
	return 0;
}

/* New element of map m for e, with its verdict and comment when with_data;
 * NULL with *err when e cannot be one. */
static struct nftnl_set_elem *elem_new(enum nftr_map m, const struct nftr_elem *e, bool with_data,
				       struct mk_err **err)
{
	uint8_t key[12];
	uint32_t len;
	if (elem_key(m, e, key, &len) < 0) {
		mk_err_set(err, MK_EINVAL, "%s%s: bad address in element %s of %s",
			   e->service ? "service " : "", e->service ? e->service : "node IPs", e->key,
			   nftr_maps[m].name);
		return NULL;
	}
	struct nftnl_set_elem *se = nftexpr_elem_new(key, len);
	if (with_data && nftr_maps[m].is_map)
		nftexpr_elem_verdict(se, e->chain ? NFT_GOTO : NF_DROP, e->chain);
	if (with_data && e->comment && nftexpr_elem_comment(se, e->comment, err) < 0) {
		mk_err_wrap(err, "%s%s: element %s of %s", e->service ? "service " : "",
			    e->service ? e->service : "node IPs", e->key, nftr_maps[m].name);
		nftnl_set_elem_free(se);
		return NULL;
	}
	return se;
}

static char *elem_value(const struct nftr_elem *e)
{
	return xasprintf("%s|%s", e->chain ? e->chain : "drop", e->comment ? e->comment : "");
}

/* ---- rules ---- */

static const char *kind_comment(enum nftr_kind k)
{
	switch (k) {
	case NFTR_SADDR_GOTO:
		return "short-circuit pod traffic";
	case NFTR_FIB_MASQ:
		return "masquerade local traffic";
	case NFTR_FIB_GOTO:
		return "short-circuit local traffic";
	default:
		return NULL;
	}
}

static void e_fib_local(struct nftnl_rule *r)
{
	nftexpr_fib_saddr_type(r);
	uint32_t local = RTN_LOCAL;
	nftexpr_cmp(r, NFT_CMP_EQ, &local, 4);
}

struct range {
	uint32_t lo, hi; /* host order, inclusive */
};

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* An interval element of an address set. */
static void interval_elem(struct nftnl_set *s, uint32_t addr_host, bool end)
{
	uint32_t key = htonl(addr_host);
	struct nftnl_set_elem *se = nftexpr_elem_new(&key, 4);
	if (end)
		nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, se);
}

/* An anonymous interval set of CIDRs (ip saddr != { ... }), named in name;
 * -1 with *bad pointing at the first entry that is not a CIDR (nothing is
 * sent then). */
static int fw_set(struct batch *bt, char **cidrs, size_t n, const char *what, uint32_t *id,
		  char name[32], const char **bad)
{
	struct range *rg = xcalloc(n ? n : 1, sizeof(*rg));
	for (size_t i = 0; i < n; i++) {
		uint32_t ip;
		int bits;
		if (parse_cidr4(cidrs[i], &ip, &bits) < 0) {
			*bad = cidrs[i];
			free(rg);
			return -1;
		}
		uint32_t mask = bits ? ~0u << (32 - bits) : 0;
		rg[i].lo = ntohl(ip) & mask;
		rg[i].hi = rg[i].lo | ~mask;
	}
	qsort(rg, n, sizeof(*rg), range_cmp);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && rg[i].lo <= rg[w - 1].hi + 1ull) {
			if (rg[i].hi > rg[w - 1].hi)
				rg[w - 1].hi = rg[i].hi;
			continue;
		}
		rg[w++] = rg[i];
	}
	*id = ++bt->set_id;
	anon_name("__set", name, 32);
	struct nftnl_set *s = set_new(name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_ID, *id);
	set_udata(s, BYTEORDER_BIG, NULL);
	send_set(bt, s, NFT_MSG_NEWSET, what);
	/* interval sets: a start element, and an end element one past each range */
	if (w == 0 || rg[0].lo != 0)
		interval_elem(s, 0, true);
	for (size_t i = 0; i < w; i++) {
		interval_elem(s, rg[i].lo, false);
		if (rg[i].hi != 0xffffffffu)
			interval_elem(s, rg[i].hi + 1, true);
	}
	send_new_set_elems(bt, s, what);
	nftnl_set_free(s);
	free(rg);
	return 0;
}

static int send_service_rule(struct batch *bt, const struct nftr_chain *c, const struct nftr_rule *x,
			     const struct rule_tag *tag, struct mk_err **err)
{
	struct nftnl_rule *r = rule_new();
	uint32_t id;
	char name[32];
	const char *bad = NULL;
	switch (x->kind) {
	case NFTR_MASQ_CIP_SADDR:
		if (e_addr(r, 16, (bad = x->a), NFT_CMP_EQ) < 0 ||
		    e_addr(r, 12, (bad = x->b), NFT_CMP_NEQ) < 0)
			goto bad;
		nftexpr_verdict(r, NFT_JUMP, "mark-for-masquerade");
		break;
	case NFTR_MASQ_CIP:
		if (e_addr(r, 16, (bad = x->a), NFT_CMP_EQ) < 0)
			goto bad;
		nftexpr_verdict(r, NFT_JUMP, "mark-for-masquerade");
		break;
	case NFTR_NUMGEN: {
		id = ++bt->set_id;
		anon_name("__map", name, sizeof(name));
		struct nftnl_set *s = set_new(name);
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_INTEGER);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, (uint32_t)x->n_list);
		set_udata(s, BYTEORDER_HOST, NULL);
		send_set(bt, s, NFT_MSG_NEWSET, c->service);
		for (size_t i = 0; i < x->n_list; i++) {
			uint32_t k = (uint32_t)i;
			struct nftnl_set_elem *se = nftexpr_elem_new(&k, 4);
			nftexpr_elem_verdict(se, NFT_GOTO, x->list[i]);
			nftnl_set_elem_add(s, se);
		}
		send_new_set_elems(bt, s, c->service);
		nftnl_set_free(s);
		nftexpr_numgen_random(r, (uint32_t)x->n_list);
		nftexpr_lookup(r, name, id, true, false);
		break;
	}
	case NFTR_AFF_CHECK:
		nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
		nftexpr_lookup(r, x->a, 0, false, false);
		nftexpr_verdict(r, NFT_GOTO, x->b);
		break;
	case NFTR_SADDR_MASQ:
		if (e_addr(r, 12, (bad = x->a), NFT_CMP_EQ) < 0)
			goto bad;
		nftexpr_verdict(r, NFT_JUMP, "mark-for-masquerade");
		break;
	case NFTR_AFF_UPDATE:
		nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
		nftexpr_dynset_update(r, x->a);
		break;
	case NFTR_DNAT: {
		struct in_addr ip;
		if (inet_pton(AF_INET, (bad = x->a), &ip) != 1)
			goto bad;
		nftexpr_meta_load(r, NFT_META_L4PROTO, NFT_REG_1);
		nftexpr_cmp(r, NFT_CMP_EQ, &x->proto, 1);
		nftexpr_immediate(r, NFT_REG_1, &ip.s_addr, 4);
		uint16_t port = htons(x->port);
		nftexpr_immediate(r, NFT_REG_2, &port, 2);
		nftexpr_dnat(r, NFPROTO_IPV4, NFT_REG_1, NFT_REG_2, NF_NAT_RANGE_PROTO_SPECIFIED);
		break;
	}
	case NFTR_JUMP_MASQ:
		nftexpr_verdict(r, NFT_JUMP, "mark-for-masquerade");
		break;
	case NFTR_GOTO:
		nftexpr_verdict(r, NFT_GOTO, x->a);
		break;
	case NFTR_SADDR_GOTO:
		if (e_addr(r, 12, (bad = x->a), NFT_CMP_EQ) < 0)
			goto bad;
		nftexpr_verdict(r, NFT_GOTO, x->b);
		break;
	case NFTR_FIB_MASQ:
		e_fib_local(r);
		nftexpr_verdict(r, NFT_JUMP, "mark-for-masquerade");
		break;
	case NFTR_FIB_GOTO:
		e_fib_local(r);
		nftexpr_verdict(r, NFT_GOTO, x->a);
		break;
	case NFTR_FW_DROP:
		if (x->n_list == 1) {
			if (e_addr(r, 12, (bad = x->list[0]), NFT_CMP_NEQ) < 0)
				goto bad;
		} else {
			if (fw_set(bt, x->list, x->n_list, c->service, &id, name, &bad) < 0)
				goto bad;
			nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
			nftexpr_lookup(r, name, id, false, true);
		}
		nftexpr_verdict(r, NF_DROP, NULL);
		break;
	}
	const char *cm = kind_comment(x->kind);
	if (cm || tag)
		rule_udata(r, cm, tag);
	send_rule(bt, r, c->name, c->service);
	return 0;
bad:
	nftnl_rule_free(r);
	return mk_err_set(err, MK_EINVAL, "service %s: bad address \"%s\" in chain %s", c->service,
			  bad ? bad : "", c->name);
}

/* The fixed chains and their rules (full syncs). */
static void fixed_chains(struct batch *bt, const struct proxy_config *cfg)
{
	static const struct {
		const char *name, *type;
		int hook, prio;
	} base[] = {
		{"filter-prerouting-pre-dnat", "filter", NF_INET_PRE_ROUTING, -110},
		{"filter-output-pre-dnat", "filter", NF_INET_LOCAL_OUT, -110},
		{"filter-input", "filter", NF_INET_LOCAL_IN, 0},
		{"filter-forward", "filter", NF_INET_FORWARD, 0},
		{"filter-output", "filter", NF_INET_LOCAL_OUT, 0},
		{"nat-prerouting", "nat", NF_INET_PRE_ROUTING, -100},
		{"nat-output", "nat", NF_INET_LOCAL_OUT, -100},
		{"nat-postrouting", "nat", NF_INET_POST_ROUTING, 100},
	};
	static const char *const regular[] = {
		"nodeport-endpoints-check", "service-endpoints-check", "firewall-check", "services",
		"masquerading", "cluster-ips-check", "mark-for-masquerade",
	};
	const char *what = "fixed chains";
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		send_chain(bt, base[i].name, base[i].type, base[i].hook, base[i].prio, NULL, what);
	for (size_t i = 0; i < sizeof(regular) / sizeof(regular[0]); i++)
		send_chain(bt, regular[i], NULL, 0, 0, NULL, what);
	send_chain(bt, "reject-chain", NULL, 0, 0,
		   "helper for @no-endpoint-services / @no-endpoint-nodeports", what);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		chain_op(bt, NFT_MSG_DELRULE, base[i].name, what);
	for (size_t i = 0; i < sizeof(regular) / sizeof(regular[0]); i++)
		chain_op(bt, NFT_MSG_DELRULE, regular[i], what);
	chain_op(bt, NFT_MSG_DELRULE, "reject-chain", what);

	static const struct {
		const char *chain, *target;
	} ct_jumps[] = {
		{"filter-prerouting-pre-dnat", "firewall-check"},
		{"filter-output-pre-dnat", "firewall-check"},
		{"filter-input", "nodeport-endpoints-check"},
		{"filter-input", "service-endpoints-check"},
		{"filter-forward", "service-endpoints-check"},
		{"filter-forward", "cluster-ips-check"},
		{"filter-output", "service-endpoints-check"},
		{"filter-output", "cluster-ips-check"},
	};
	for (size_t i = 0; i < sizeof(ct_jumps) / sizeof(ct_jumps[0]); i++) {
		struct nftnl_rule *r = rule_new();
		e_ct_new(r);
		nftexpr_verdict(r, NFT_JUMP, ct_jumps[i].target);
		send_rule(bt, r, ct_jumps[i].chain, what);
	}
	static const struct {
		const char *chain, *target;
	} jumps[] = {
		{"nat-prerouting", "services"},
		{"nat-output", "services"},
		{"nat-postrouting", "masquerading"},
	};
	for (size_t i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		struct nftnl_rule *r = rule_new();
		nftexpr_verdict(r, NFT_JUMP, jumps[i].target);
		send_rule(bt, r, jumps[i].chain, what);
	}
	struct nftnl_rule *r;
	/* nodeport-endpoints-check: ip daddr @nodeport-ips meta l4proto . th dport vmap @... */
	r = rule_new();
	nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	nftexpr_lookup(r, "nodeport-ips", 0, false, false);
	e_concat_key(r, false);
	nftexpr_lookup(r, "no-endpoint-nodeports", 0, true, false);
	send_rule(bt, r, "nodeport-endpoints-check", what);
	static const struct {
		const char *chain, *map;
	} vmaps[] = {
		{"service-endpoints-check", "no-endpoint-services"},
		{"firewall-check", "firewall-ips"},
		{"services", "service-ips"},
	};
	for (size_t i = 0; i < sizeof(vmaps) / sizeof(vmaps[0]); i++) {
		r = rule_new();
		e_concat_key(r, true);
		nftexpr_lookup(r, vmaps[i].map, 0, true, false);
		send_rule(bt, r, vmaps[i].chain, what);
	}
	r = rule_new();
	nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	nftexpr_lookup(r, "nodeport-ips", 0, false, false);
	e_concat_key(r, false);
	nftexpr_lookup(r, "service-nodeports", 0, true, false);
	send_rule(bt, r, "services", what);

	uint32_t mark = 1u << cfg->masquerade_bit, zero = 0, ones = 0xffffffffu, nmark = ~mark;
	r = rule_new();
	nftexpr_meta_load(r, NFT_META_MARK, NFT_REG_1);
	nftexpr_bitwise(r, 4, &mark, &zero);
	nftexpr_cmp(r, NFT_CMP_EQ, &zero, 4);
	nftexpr_verdict(r, NFT_RETURN, NULL);
	send_rule(bt, r, "masquerading", what);
	r = rule_new();
	nftexpr_meta_load(r, NFT_META_MARK, NFT_REG_1);
	nftexpr_bitwise(r, 4, &ones, &mark);
	nftexpr_meta_set(r, NFT_META_MARK);
	send_rule(bt, r, "masquerading", what);
	r = rule_new();
	nftexpr_masq(r, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	send_rule(bt, r, "masquerading", what);

	r = rule_new();
	nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	nftexpr_lookup(r, "cluster-ips", 0, false, false);
	nftexpr_reject_icmp(r, 3 /* port unreachable */);
	rule_udata(r, "Reject traffic to invalid ports of ClusterIPs", NULL);
	send_rule(bt, r, "cluster-ips-check", what);
	if (cfg->service_cidr) {
		r = rule_new();
		if (e_addr(r, 16, cfg->service_cidr, NFT_CMP_EQ) == 0) {
			nftexpr_verdict(r, NF_DROP, NULL);
			rule_udata(r, "Drop traffic to unallocated ClusterIPs", NULL);
			send_rule(bt, r, "cluster-ips-check", what);
		} else {
			nftnl_rule_free(r);
		}
	}
	r = rule_new();
	nftexpr_meta_load(r, NFT_META_MARK, NFT_REG_1);
	nftexpr_bitwise(r, 4, &nmark, &mark);
	nftexpr_meta_set(r, NFT_META_MARK);
	send_rule(bt, r, "mark-for-masquerade", what);
	r = rule_new();
	nftexpr_reject_icmp(r, 3 /* port unreachable */);
	send_rule(bt, r, "reject-chain", what);
}

/* ---- reading the table back ---- */

struct dump_ctx {
	json_t *names;
	bool sets;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct dump_ctx *d = data;
	const char *name = NULL;
	if (d->sets) {
		struct nftnl_set *s = nftnl_set_alloc();
		if (!s)
			abort();
		if (nftnl_set_nlmsg_parse(nlh, s) == 0 && nftnl_set_is_set(s, NFTNL_SET_NAME))
			name = nftnl_set_get_str(s, NFTNL_SET_NAME);
		if (name)
			json_object_set_new(d->names, name, json_true());
		nftnl_set_free(s);
	} else {
		struct nftnl_chain *c = nftnl_chain_alloc();
		if (!c)
			abort();
		if (nftnl_chain_nlmsg_parse(nlh, c) == 0 && nftnl_chain_is_set(c, NFTNL_CHAIN_NAME))
			name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		if (name)
			json_object_set_new(d->names, name, json_true());
		nftnl_chain_free(c);
	}
	return 0;
}

/* Runs a dump of one kind of object of our table (type NFT_MSG_GETCHAIN,
 * GETSET or GETRULE) through cb: 0, 1 when the table changed during the
 * dump, -1 on error. No table is an empty one. */
static int dump_table(struct nfnl_sock *nl, uint16_t type, nfnl_cb cb, void *data,
		      struct mk_err **err)
{
	struct mk_err *e = NULL;
	int rc = nfnl_nft_dump(nl, type, NFPROTO_IPV4, NFTR_TABLE, NULL, cb, data, &e);
	if (rc < 0 && mk_err_code(e) == MK_ENOTFOUND) {
		mk_err_free(e);
		return 0;
	}
	if (rc < 0) {
		if (err && !*err)
			*err = e;
		else
			mk_err_free(e);
		return mk_err_wrap(err, "listing nftables objects");
	}
	return rc;
}

/* Names of the chains (or sets) of our table: new object, or NULL. */
static json_t *dump_names(struct nfnl_sock *nl, bool sets, struct mk_err **err)
{
	struct dump_ctx d = {.names = json_object(), .sets = sets};
	if (dump_table(nl, sets ? NFT_MSG_GETSET : NFT_MSG_GETCHAIN, dump_cb, &d, err) < 0) {
		json_decref(d.names);
		return NULL;
	}
	return d.names;
}

/* Reading rule tags back: the dump lists a chain's rules together, in order. */
struct tag_ctx {
	json_t *chains; /* from dump_names: a chain found complete gets its hash */
	char *chain;    /* the chain being read, NULL before the first */
	struct rule_tag first;
	unsigned seen;
	bool ok;
};

static void tag_chain_end(struct tag_ctx *t)
{
	if (t->chain && t->ok && t->seen == t->first.count && json_object_get(t->chains, t->chain))
		json_object_set_new(t->chains, t->chain, json_integer((json_int_t)t->first.hash));
	free(t->chain);
	t->chain = NULL;
}

static int rule_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);
	if (type == NFTA_RULE_CHAIN || type == NFTA_RULE_USERDATA)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int tag_cb(const struct nlmsghdr *nlh, void *data, struct mk_err **err)
{
	(void)err;
	struct tag_ctx *t = data;
	const struct nlattr *tb[NFTA_RULE_MAX + 1] = {0};
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), rule_attr_cb, tb) < 0 ||
	    !tb[NFTA_RULE_CHAIN] || mnl_attr_validate(tb[NFTA_RULE_CHAIN], MNL_TYPE_NUL_STRING) < 0)
		return 0;
	const char *chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
	if (!t->chain || strcmp(chain, t->chain)) {
		tag_chain_end(t);
		t->chain = xstrdup(chain);
		t->seen = 0;
		t->ok = true;
	}
	struct rule_tag tag;
	bool has = tb[NFTA_RULE_USERDATA] &&
		   rule_tag_of(mnl_attr_get_payload(tb[NFTA_RULE_USERDATA]),
			       mnl_attr_get_payload_len(tb[NFTA_RULE_USERDATA]), &tag);
	if (!has || tag.index != t->seen)
		t->ok = false;
	else if (t->seen == 0)
		t->first = tag;
	else if (tag.hash != t->first.hash || tag.count != t->first.count)
		t->ok = false;
	t->seen++;
	return 0;
}

/* Marks the chains (names from dump_names) whose rules all carry complete,
 * consistent tags with the hash they were written with. *consistent is
 * false when the dump met a concurrent change (then marks mean nothing). */
static int dump_intact(struct nfnl_sock *nl, json_t *chains, bool *consistent, struct mk_err **err)
{
	struct tag_ctx t = {.chains = chains};
	int rc = dump_table(nl, NFT_MSG_GETRULE, tag_cb, &t, err);
	if (rc < 0) {
		free(t.chain);
		return -1;
	}
	tag_chain_end(&t);
	*consistent = rc == 0;
	return 0;
}

/* FNV-1a over a string and its terminator */
static uint64_t fnv(uint64_t h, const char *str)
{
	const unsigned char *p = (const unsigned char *)(str ? str : "");
	do {
		h ^= *p;
		h *= 0x100000001b3ull;
	} while (*p++);
	return h;
}

#define FNV_SEED 0xcbf29ce484222325ull

#define REC_HASH 16
#define REC_SEP '\x1f' /* in no name, key or hash */
#define REC_SVC '\x1e' /* "-<service key>/" in a name; in no name either */
#define REC_NAME_MAX 512 /* longer than any chain, set or element key */

struct rec_acc {
	uint64_t hash;
	struct buf text;
};

/* The accumulator of service svc (a new one on first sight). */
static struct rec_acc *rec_for(json_t *index, struct rec_acc **acc, size_t *n, size_t *cap,
			       const char *svc)
{
	json_t *i = json_object_get(index, svc);
	if (i)
		return &(*acc)[json_integer_value(i)];
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*acc = xrealloc(*acc, *cap * sizeof(**acc));
	}
	json_object_set_new(index, svc, json_integer((json_int_t)*n));
	(*acc)[*n] = (struct rec_acc){.hash = FNV_SEED, .text = BUF_INIT};
	return &(*acc)[(*n)++];
}

/* The position of "-<svc>/" in name (every chain and set name of a service
 * has it), or NULL. */
static const char *svc_part(const char *name, const char *svc, size_t svc_len)
{
	for (const char *h = strstr(name, svc); h; h = strstr(h + 1, svc))
		if (h > name && h[-1] == '-' && h[svc_len] == '/')
			return h - 1;
	return NULL;
}

/* Appends an entry of kind for name, its service part shortened. */
static void rec_entry(struct rec_acc *r, char kind, const char *name, const char *svc)
{
	size_t sl = strlen(svc);
	const char *h = svc_part(name, svc, sl);
	buf_append_char(&r->text, kind);
	if (h) {
		buf_append(&r->text, name, (size_t)(h - name));
		buf_append_char(&r->text, REC_SVC);
		buf_append_str(&r->text, h + sl + 2);
	} else {
		buf_append_str(&r->text, name);
	}
	buf_append_char(&r->text, REC_SEP);
}

/* What a record keeps of an element's value. */
static void value_hash(const char *val, char out[REC_HASH + 1])
{
	snprintf(out, REC_HASH + 1, "%016llx", (unsigned long long)fnv(FNV_SEED, val));
}

/* Bump when the expressions written for a rule text change: tags written
 * by a proxy that encoded rules differently must not match. */
#define RULE_ENCODING "1"

/* The hash a chain's rules are tagged with. */
static uint64_t chain_hash(const struct nftr_chain *c)
{
	uint64_t h = fnv(fnv(FNV_SEED, RULE_ENCODING), c->name);
	for (size_t j = 0; j < c->n_rules; j++) {
		char *t = nftr_rule_text(&c->rules[j]);
		h = fnv(h, t);
		free(t);
	}
	return h;
}

/* Sets the record (see struct nft_backend) of every service in rs in out. */
static void records_of(const struct nftr_ruleset *rs, struct strmap *out)
{
	json_t *index = json_object();
	struct rec_acc *acc = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < rs->n_chains; i++) {
		const struct nftr_chain *c = &rs->chains[i];
		if (!c->service)
			continue;
		struct rec_acc *r = rec_for(index, &acc, &n, &cap, c->service);
		rec_entry(r, 'c', c->name, c->service);
		char ch[REC_HASH + 1];
		snprintf(ch, sizeof(ch), "%016llx", (unsigned long long)chain_hash(c));
		r->hash = fnv(r->hash, ch);
	}
	for (size_t i = 0; i < rs->n_sets; i++) {
		if (!rs->sets[i].service)
			continue;
		struct rec_acc *r = rec_for(index, &acc, &n, &cap, rs->sets[i].service);
		char t[32];
		snprintf(t, sizeof(t), "%d", rs->sets[i].timeout);
		rec_entry(r, 's', rs->sets[i].name, rs->sets[i].service);
		r->hash = fnv(fnv(r->hash, rs->sets[i].name), t);
	}
	for (int mi = 0; mi < NFTR_N_MAPS; mi++)
		for (size_t i = 0; i < rs->n_elems[mi]; i++) {
			const struct nftr_elem *e = &rs->elems[mi][i];
			if (!e->service)
				continue;
			struct rec_acc *r = rec_for(index, &acc, &n, &cap, e->service);
			char *val = elem_value(e), vh[REC_HASH + 1];
			value_hash(val, vh);
			rec_entry(r, (char)('0' + mi), e->key, e->service);
			buf_append_str(&r->text, vh);
			buf_append_char(&r->text, REC_SEP);
			r->hash = fnv(fnv(fnv(r->hash, nftr_maps[mi].name), e->key), val);
			free(val);
		}
	const char *svc;
	json_t *v;
	json_object_foreach(index, svc, v) {
		struct rec_acc *r = &acc[json_integer_value(v)];
		struct buf t = BUF_INIT;
		buf_printf(&t, "%016llx%s", (unsigned long long)r->hash, buf_str(&r->text));
		strmap_set(out, svc, buf_str(&t));
		buf_free(&t);
		buf_free(&r->text);
	}
	free(acc);
	json_decref(index);
}

/* The next entry of the record of service svc at *p (start after the hash):
 * its kind, its name in full (NUL-terminated, name_len bytes) and, for
 * elements, the hash of its value. False at the end. */
static bool rec_next(const char **p, const char *svc, char *kind, char name[REC_NAME_MAX],
		     size_t *name_len, const char **val)
{
	const char *s = *p;
	if (!*s)
		return false;
	*kind = *s++;
	const char *end = strchr(s, REC_SEP);
	size_t n = 0;
	for (; s < end && n + 1 < REC_NAME_MAX; s++) {
		if (*s != REC_SVC) {
			name[n++] = *s;
			continue;
		}
		n += (size_t)snprintf(name + n, REC_NAME_MAX - n, "-%s/", svc);
		n = n < REC_NAME_MAX ? n : REC_NAME_MAX - 1;
	}
	name[n] = '\0';
	*name_len = n;
	*val = NULL;
	s = end + 1;
	if (*kind >= '0' && *kind <= '9') {
		*val = s;
		s = strchr(s, REC_SEP) + 1;
	}
	*p = s;
	return true;
}

/* Do two records carry the same hash? */
static bool same_hash(const char *a, const char *b)
{
	return a && b && !strncmp(a, b, REC_HASH);
}

/* Hash of what the fixed chains and the node-IP elements are made from. */
static uint64_t fixed_hash_of(const struct proxy_config *cfg)
{
	char t[64];
	snprintf(t, sizeof(t), "%d %d %d %d %d", cfg->masquerade_bit, cfg->masquerade_all,
		 cfg->localhost_nodeports, cfg->random_fully, cfg->drop_invalid);
	uint64_t h = fnv(FNV_SEED, t);
	h = fnv(fnv(fnv(h, cfg->node_name), cfg->cluster_cidr), cfg->service_cidr);
	h = fnv(h, cfg->node_ip);
	for (size_t i = 0; i < cfg->n_node_ips; i++)
		h = fnv(h, cfg->node_ips[i]);
	h = fnv(h, "|");
	for (size_t i = 0; i < cfg->n_nodeport_cidrs; i++)
		h = fnv(h, cfg->nodeport_cidrs[i]);
	return h;
}

/* Our batches took the generation from before to after: was no other
 * writer's commit among them? (A batch that changes nothing leaves the
 * generation as it was.) */
static uint32_t gen_after(uint32_t before, uint32_t after, uint32_t batches)
{
	return before && after && after - before <= batches ? after : 0;
}

/* Starts a batch on nl. */
static void batch_start(struct nfnl_sock *nl, struct batch *bt)
{
	*bt = (struct batch){.nb = nfnl_batch_begin(nl)};
}

static void batch_free(struct batch *bt)
{
	nfnl_batch_free(bt->nb);
	free(bt->what);
	*bt = (struct batch){0};
}

/* Sends bt; a refusal is reported with the service or object the refused
 * message belongs to. */
static int batch_send(struct batch *bt, struct mk_err **err)
{
	size_t refused;
	size_t n = nfnl_batch_count(bt->nb);
	bt->n_msgs += 2; /* begin and end */
	if (nfnl_batch_send(bt->nb, &refused, err) == 0)
		return 0;
	if (refused == NFNL_BATCH_NONE)
		return mk_err_wrap(err, "writing nftables rules");
	const char *what = refused < n && bt->what[refused] ? bt->what[refused] : "batch";
	return mk_err_wrap(err, "nftables refused a change for %s%s",
			   strchr(what, '/') && !strchr(what, ' ') ? "service " : "", what);
}

/* ---- sync ---- */

struct nft_backend *nft_backend_new(void)
{
	struct nft_backend *b = xcalloc(1, sizeof(*b));
	return b;
}

void nft_backend_free(struct nft_backend *b)
{
	if (!b)
		return;
	strmap_free(&b->records);
	free(b);
}

/* Rebuilds an element's key from its text; *ip receives the address (new
 * string or NULL; free it). */
static void elem_from_key(int mi, const char *k, struct nftr_elem *e, char **ip)
{
	char proto[8] = "";
	unsigned port = 0;
	*ip = NULL;
	if (nftr_maps[mi].has_ip && nftr_maps[mi].has_port) {
		/* "<ip> . <proto> . <port>" */
		const char *sp = strchr(k, ' ');
		*ip = sp ? xstrndup(k, (size_t)(sp - k)) : xstrdup(k);
		if (sp)
			sscanf(sp, " . %7s . %u", proto, &port);
	} else if (nftr_maps[mi].has_port) {
		sscanf(k, "%7s . %u", proto, &port);
	} else {
		*ip = xstrdup(k);
	}
	*e = (struct nftr_elem){
		.ip = *ip,
		.key = (char *)k,
		.proto = !strcmp(proto, "udp") ? IPPROTO_UDP :
			 !strcmp(proto, "sctp") ? IPPROTO_SCTP : IPPROTO_TCP,
		.port = (uint16_t)port,
	};
}

static void send_table(struct batch *bt)
{
	struct nftnl_table *t = nftexpr_table_new(NFPROTO_IPV4, NFTR_TABLE);
	/* our own comment, short enough */
	nftexpr_must(nftexpr_table_comment(t, "rules for kube-proxy", NULL));
	batch_note(bt, nfnl_batch_table(bt->nb, NFT_MSG_NEWTABLE, NLM_F_CREATE, t), 1, "table");
	nftnl_table_free(t);
}

/* Sends bt and frees it. */
static int batch_flush(struct batch *bt, size_t *n_msgs, uint32_t *n_batches, struct mk_err **err)
{
	int rc = batch_send(bt, err);
	*n_msgs += bt->n_msgs;
	++*n_batches;
	batch_free(bt);
	return rc;
}

/* Is chain c in the kernel exactly as we would write it? intact maps the
 * names of chains whose tags were read back complete to their hash (see
 * dump_intact). */
static bool chain_intact(const json_t *intact, const struct nftr_chain *c, uint64_t hash)
{
	json_t *v = intact ? json_object_get(intact, c->name) : NULL;
	return json_is_integer(v) && (uint64_t)json_integer_value(v) == hash;
}

/* Chains [from, to) of rs: created (a no-op when they exist), flushed and
 * filled; those found intact (see chain_intact) are left as they are. */
static int write_chains(struct batch *bt, const struct nftr_ruleset *rs, size_t from, size_t to,
			const json_t *intact, struct mk_err **err)
{
	uint64_t *hs = xcalloc(to > from ? to - from : 1, sizeof(*hs));
	bool *skip = xcalloc(to > from ? to - from : 1, sizeof(*skip));
	for (size_t i = from; i < to; i++) {
		hs[i - from] = chain_hash(&rs->chains[i]);
		skip[i - from] = chain_intact(intact, &rs->chains[i], hs[i - from]);
		if (!skip[i - from])
			send_chain(bt, rs->chains[i].name, NULL, 0, 0, NULL, rs->chains[i].service);
	}
	int rc = 0;
	for (size_t i = from; i < to && rc == 0; i++) {
		const struct nftr_chain *c = &rs->chains[i];
		if (skip[i - from])
			continue;
		chain_op(bt, NFT_MSG_DELRULE, c->name, c->service);
		for (size_t j = 0; j < c->n_rules && rc == 0; j++) {
			struct rule_tag tag = {hs[i - from], (uint16_t)j, (uint16_t)c->n_rules};
			rc = send_service_rule(bt, c, &c->rules[j], &tag, err);
		}
	}
	free(hs);
	free(skip);
	return rc;
}

static void send_affinity_set(struct batch *bt, const struct nftr_set *set)
{
	struct nftnl_set *s = set_new(set->name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, (uint64_t)set->timeout * 1000);
	set_udata(s, BYTEORDER_BIG, NULL);
	send_set(bt, s, NFT_MSG_NEWSET, set->service);
	nftnl_set_free(s);
}

/* "<kind><name>" -> value for every object the services of changed owned
 * when last written (kind 'c' chain, 's' set, '0'+map index element). */
static json_t *old_objects(const struct nft_backend *b, const json_t *changed)
{
	json_t *old = json_object(), *v;
	const char *svc;
	json_object_foreach((json_t *)changed, svc, v) {
		const char *p = strmap_get(&b->records, svc);
		if (!p)
			continue;
		char kind, name[REC_NAME_MAX], tmp[REC_NAME_MAX + 1];
		const char *val;
		size_t len;
		for (p += REC_HASH; rec_next(&p, svc, &kind, name, &len, &val);) {
			snprintf(tmp, sizeof(tmp), "%c%s", kind, name);
			json_object_set_new(old, tmp, val ? json_stringn_nocheck(val, REC_HASH)
							  : json_string_nocheck(""));
		}
	}
	return old;
}

/* A partial sync: only the objects of the changed services are rendered and
 * compared with what they owned when last written. */
static int sync_partial(struct nft_backend *b, const struct proxy_model *m,
			const struct proxy_config *cfg, const json_t *changed, size_t *n_msgs,
			struct mk_err **err)
{
	struct nftr_ruleset rs;
	nftr_render_changed(m, cfg, changed, &rs);
	struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl) {
		nftr_ruleset_free(&rs);
		return mk_err_wrap(err, "nftables");
	}
	struct batch bt;
	batch_start(nl, &bt);
	send_table(&bt);
	json_t *old = old_objects(b, changed);
	json_t *fresh = json_object(); /* the same for what is rendered now */
	int rc = 0;
	char tmp[512];

	for (size_t i = 0; i < rs.n_sets; i++) {
		snprintf(tmp, sizeof(tmp), "s%s", rs.sets[i].name);
		json_object_set_new(fresh, tmp, json_true());
		if (!json_object_get(old, tmp))
			send_affinity_set(&bt, &rs.sets[i]);
	}
	for (size_t i = 0; i < rs.n_chains; i++) {
		snprintf(tmp, sizeof(tmp), "c%s", rs.chains[i].name);
		json_object_set_new(fresh, tmp, json_true());
	}
	rc = write_chains(&bt, &rs, 0, rs.n_chains, NULL, err);

	/* map elements: deletions (keys gone, values changed) before additions */
	for (int mi = 0; mi < NFTR_N_MAPS && rc == 0; mi++) {
		enum nftr_map mp = (enum nftr_map)mi;
		const char *mname = nftr_maps[mi].name;
		struct nftnl_set *chunk = set_new(mname);
		size_t n = 0;
#define ADD_ELEM(se, type)                                     \
	do {                                                   \
		struct nftnl_set_elem *se_ = (se);             \
		if (!se_) {                                    \
			rc = -1;                               \
			break;                                 \
		}                                              \
		nftnl_set_elem_add(chunk, se_);                \
		if (++n == ELEMS_PER_MSG)                      \
			FLUSH_CHUNK(type);                     \
	} while (0)
#define FLUSH_CHUNK(type)                                      \
	do {                                                   \
		if (n) {                                       \
			send_elems(&bt, chunk, type, mname);   \
			nftnl_set_free(chunk);                 \
			chunk = set_new(mname);                \
			n = 0;                                 \
		}                                              \
	} while (0)
		bool *add = rs.n_elems[mi] ? xcalloc(rs.n_elems[mi], sizeof(bool)) : NULL;
		for (size_t i = 0; i < rs.n_elems[mi] && rc == 0; i++) {
			const struct nftr_elem *e = &rs.elems[mi][i];
			char *val = elem_value(e), vh[REC_HASH + 1];
			value_hash(val, vh);
			snprintf(tmp, sizeof(tmp), "%c%s", '0' + mi, e->key);
			json_t *was = json_object_get(old, tmp);
			add[i] = !was || strcmp(json_string_value(was), vh);
			if (was && add[i])
				ADD_ELEM(elem_new(mp, e, false, err), NFT_MSG_DELSETELEM);
			json_object_set_new(fresh, tmp, json_true());
			free(val);
		}
		const char *k;
		json_t *v;
		json_object_foreach(old, k, v) {
			if (rc < 0)
				break;
			if (k[0] != '0' + mi || json_object_get(fresh, k))
				continue;
			struct nftr_elem e;
			char *ip;
			elem_from_key(mi, k + 1, &e, &ip);
			ADD_ELEM(elem_new(mp, &e, false, err), NFT_MSG_DELSETELEM);
			free(ip);
		}
		if (rc == 0)
			FLUSH_CHUNK(NFT_MSG_DELSETELEM);
		for (size_t i = 0; i < rs.n_elems[mi] && rc == 0; i++) {
			if (add[i])
				ADD_ELEM(elem_new(mp, &rs.elems[mi][i], true, err), NFT_MSG_NEWSETELEM);
		}
		if (rc == 0)
			FLUSH_CHUNK(NFT_MSG_NEWSETELEM);
#undef FLUSH_CHUNK
#undef ADD_ELEM
		nftnl_set_free(chunk);
		free(add);
	}

	/* chains and affinity sets the changed services no longer have */
	const char *k;
	json_t *v;
	for (int pass = 0; pass < 3 && rc == 0; pass++) {
		json_object_foreach(old, k, v) {
			if (json_object_get(fresh, k))
				continue;
			if (pass < 2 && k[0] == 'c') {
				chain_op(&bt, pass == 0 ? NFT_MSG_DELRULE : NFT_MSG_DELCHAIN, k + 1, k + 1);
			} else if (pass == 2 && k[0] == 's') {
				struct nftnl_set *st = set_new(k + 1);
				send_set(&bt, st, NFT_MSG_DELSET, k + 1);
				nftnl_set_free(st);
			}
		}
	}

	/* the generation before: was ours the last commit? */
	uint32_t gen0 = 0, gen1 = 0;
	if (rc == 0 && b->genid)
		rc = nfnl_nft_genid(nl, &gen0, err);
	bool sent = false;
	if (rc == 0) {
		rc = batch_send(&bt, err);
		sent = rc == 0;
	}
	if (n_msgs)
		*n_msgs = bt.n_msgs;
	if (sent) {
		/* what is written now: the changed services' records replaced */
		json_object_foreach((json_t *)changed, k, v)
			strmap_del(&b->records, k);
		records_of(&rs, &b->records);
		if (b->genid && b->genid == gen0)
			rc = nfnl_nft_genid(nl, &gen1, err);
		b->genid = rc == 0 ? gen_after(gen0, gen1, 1) : 0;
	}
	if (rc < 0) {
		/* the next sync must be full: the kernel's state is not known */
		b->initialized = false;
		b->genid = 0;
	}
	json_decref(old);
	json_decref(fresh);
	batch_free(&bt);
	nfnl_sock_close(nl);
	nftr_ruleset_free(&rs);
	return rc;
}

/* A full sync rewrites everything. The kernel's cost of binding an anonymous
 * map (each service's numgen vmap) grows with the length of the transaction,
 * so one batch holding every service is quadratic: minutes at 10,000
 * services. Above PHASE_CHAINS per-service chains the sync is phased: the
 * fixed part, then the service chains in batches of about PHASE_CHAINS
 * (each service whole in one batch, so every service's chains change
 * atomically), then one batch that refills the maps, which is what switches
 * traffic over, and removes what is stale. Before that last batch new
 * service chains are unreachable, and changed ones are complete. */
#define PHASE_CHAINS 1500

/* The next part of the model to render, from port *at: whole services, about
 * PHASE_CHAINS chains (or everything when the model is small). Returns false
 * when there is nothing left. */
static bool next_part(const struct proxy_model *m, const struct proxy_config *cfg, size_t *at,
		      struct nftr_ruleset *part)
{
	*part = (struct nftr_ruleset){0};
	size_t j = *at;
	while (j < m->n && (j == *at || part->n_chains < PHASE_CHAINS ||
			    !strcmp(m->ports[j].key, m->ports[j - 1].key)))
		nftr_render_port(&m->ports[j++], cfg, part);
	nftr_ruleset_finish(part);
	bool any = j > *at;
	*at = j;
	return any;
}

static int sync_full(struct nft_backend *b, const struct proxy_model *m,
		     const struct proxy_config *cfg, size_t *n_msgs, struct mk_err **err)
{
	/* rendered a part at a time, twice (records, then commands), so the
	 * whole ruleset is never in memory at once */
	struct strmap recs = STRMAP_INIT;
	size_t n_parts = 0;
	struct nftr_ruleset part;
	for (size_t at = 0; next_part(m, cfg, &at, &part); n_parts++) {
		records_of(&part, &recs);
		nftr_ruleset_free(&part);
	}
	nftr_ruleset_free(&part);
	struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl) {
		strmap_free(&recs);
		return mk_err_wrap(err, "nftables");
	}
	uint64_t fixed = fixed_hash_of(cfg);
	uint32_t gen0;
	if (nfnl_nft_genid(nl, &gen0, err) < 0) {
		strmap_free(&recs);
		nfnl_sock_close(nl);
		return -1;
	}
	if (b->initialized && b->genid && gen0 == b->genid && fixed == b->fixed_hash) {
		/* nothing but us has committed since our last batch, so the kernel
		 * holds what we recorded: rewrite only the services whose objects
		 * differ from it */
		json_t *diff = json_object();
		const char *k, *v;
		size_t it = 0;
		while ((k = strmap_next(&recs, &it, &v)))
			if (!same_hash(v, strmap_get(&b->records, k)))
				json_object_set_new(diff, k, json_true());
		it = 0;
		while ((k = strmap_next(&b->records, &it, &v)))
			if (!strmap_get(&recs, k))
				json_object_set_new(diff, k, json_true());
		strmap_free(&recs);
		nfnl_sock_close(nl);
		int rc = sync_partial(b, m, cfg, diff, n_msgs, err);
		json_decref(diff);
		return rc;
	}
	/* otherwise every service is written again, but for the chains whose
	 * tags read back intact; what the kernel has and no record names goes */
	json_t *old_chains = dump_names(nl, false, err);
	json_t *old_sets = old_chains ? dump_names(nl, true, err) : NULL;
	bool consistent = false;
	uint32_t gen_read = 0;
	if (!old_sets || dump_intact(nl, old_chains, &consistent, err) < 0 ||
	    nfnl_nft_genid(nl, &gen_read, err) < 0) {
		json_decref(old_chains);
		json_decref(old_sets);
		strmap_free(&recs);
		nfnl_sock_close(nl);
		return -1;
	}
	/* a commit of another writer while we read: trust no chain as found */
	const json_t *intact = consistent && gen0 && gen_read == gen0 ? old_chains : NULL;
	bool phased = n_parts > 1;
	size_t sent = 0;
	uint32_t n_batches = 0;
	struct batch bt;
	batch_start(nl, &bt);
	send_table(&bt);

	static const enum nftr_map order[] = {
		NFTR_CLUSTER_IPS, NFTR_NODEPORT_IPS, NFTR_NO_ENDPOINT_SERVICES, NFTR_NO_ENDPOINT_NODEPORTS,
		NFTR_FIREWALL_IPS, NFTR_SERVICE_IPS, NFTR_SERVICE_NODEPORTS,
	};
	for (size_t i = 0; i < NFTR_N_MAPS; i++)
		fixed_set(&bt, order[i]);
	fixed_chains(&bt, cfg);
	int rc = phased ? batch_flush(&bt, &sent, &n_batches, err) : 0;

	/* the services' sets and chains, a part per batch when phased; their
	 * map elements are gathered for the last batch */
	struct nftr_ruleset elems = {0};
	nftr_render_node_ips(cfg, &elems);
	for (size_t at = 0; rc == 0 && next_part(m, cfg, &at, &part);) {
		if (phased)
			batch_start(nl, &bt);
		for (size_t i = 0; i < part.n_sets; i++)
			send_affinity_set(&bt, &part.sets[i]);
		rc = write_chains(&bt, &part, 0, part.n_chains, intact, err);
		if (rc == 0 && phased)
			rc = batch_flush(&bt, &sent, &n_batches, err);
		nftr_ruleset_take_elems(&elems, &part);
		nftr_ruleset_free(&part);
	}
	nftr_ruleset_free(&part);
	nftr_ruleset_finish(&elems);
	if (rc == 0 && phased)
		batch_start(nl, &bt);

	/* map elements: every map flushed and refilled, in messages of at most
	 * ELEMS_PER_MSG elements */
	for (int mi = 0; mi < NFTR_N_MAPS && rc == 0; mi++) {
		enum nftr_map mp = (enum nftr_map)mi;
		const char *mname = nftr_maps[mi].name;
		struct nftnl_set *chunk = set_new(mname);
		/* an element message without elements flushes the set */
		send_elems(&bt, chunk, NFT_MSG_DELSETELEM, mname);
		size_t n = 0;
		for (size_t i = 0; i < elems.n_elems[mi]; i++) {
			struct nftnl_set_elem *se = elem_new(mp, &elems.elems[mi][i], true, err);
			if (!se) {
				rc = -1;
				break;
			}
			nftnl_set_elem_add(chunk, se);
			if (++n == ELEMS_PER_MSG || i + 1 == elems.n_elems[mi]) {
				send_elems(&bt, chunk, NFT_MSG_NEWSETELEM, mname);
				nftnl_set_free(chunk);
				chunk = set_new(mname);
				n = 0;
			}
		}
		nftnl_set_free(chunk);
	}
	nftr_ruleset_free(&elems);

	/* stale per-service chains and affinity sets: what the kernel has and
	 * no record names */
	const char *k, *rec, *svc;
	json_t *v;
	size_t it = 0;
	while ((svc = strmap_next(&recs, &it, &rec))) {
		char kind, name[REC_NAME_MAX];
		const char *val;
		size_t len;
		for (rec += REC_HASH; rec_next(&rec, svc, &kind, name, &len, &val);) {
			if (kind == 'c')
				json_object_deln(old_chains, name, len);
			else if (kind == 's')
				json_object_deln(old_sets, name, len);
		}
	}
	if (rc == 0) {
		json_object_foreach(old_chains, k, v)
			if (strchr(k, '/'))
				chain_op(&bt, NFT_MSG_DELRULE, k, k);
		json_object_foreach(old_chains, k, v)
			if (strchr(k, '/'))
				chain_op(&bt, NFT_MSG_DELCHAIN, k, k);
		json_object_foreach(old_sets, k, v) {
			if (strncmp(k, "affinity-", 9))
				continue;
			struct nftnl_set *s = set_new(k);
			send_set(&bt, s, NFT_MSG_DELSET, k);
			nftnl_set_free(s);
		}
		rc = batch_flush(&bt, &sent, &n_batches, err);
	} else {
		batch_free(&bt);
	}
	if (n_msgs)
		*n_msgs = sent;
	uint32_t gen1 = 0;
	if (rc == 0)
		rc = nfnl_nft_genid(nl, &gen1, err);
	if (rc == 0) {
		b->initialized = true;
		strmap_free(&b->records);
		b->records = recs;
		b->fixed_hash = fixed;
		b->genid = gen_after(gen0, gen1, n_batches);
	} else {
		strmap_free(&recs);
		/* the next sync must be full: the kernel's state is not known */
		b->initialized = false;
		b->genid = 0;
	}
	json_decref(old_chains);
	json_decref(old_sets);
	nfnl_sock_close(nl);
	return rc;
}

int nft_backend_sync(struct nft_backend *b, const struct proxy_model *m,
		     const struct proxy_config *cfg, const json_t *changed, size_t *n_msgs,
		     struct mk_err **err)
{
	if (!changed || !b->initialized)
		return sync_full(b, m, cfg, n_msgs, err);
	return sync_partial(b, m, cfg, changed, n_msgs, err);
}

/* Deletes the ip kube-proxy table if there is one (*existed says). */
static int delete_table(bool *existed, struct mk_err **err)
{
	*existed = false;
	struct nfnl_sock *nl = nfnl_sock_open(err);
	if (!nl)
		return mk_err_wrap(err, "nftables");
	json_t *chains = dump_names(nl, false, err);
	if (!chains) {
		nfnl_sock_close(nl);
		return -1;
	}
	bool exists = *existed = json_object_size(chains) > 0;
	json_decref(chains);
	int rc = 0;
	if (exists) {
		struct batch bt;
		batch_start(nl, &bt);
		struct nftnl_table *t = nftexpr_table_new(NFPROTO_IPV4, NFTR_TABLE);
		batch_note(&bt, nfnl_batch_table(bt.nb, NFT_MSG_DELTABLE, 0, t), 1, "table");
		nftnl_table_free(t);
		rc = batch_send(&bt, err);
		batch_free(&bt);
	}
	nfnl_sock_close(nl);
	return rc;
}

int nft_backend_cleanup(struct mk_err **err)
{
	bool existed;
	return delete_table(&existed, err);
}

int nft_backend_leftovers(size_t *removed, struct mk_err **err)
{
	bool existed = false;
	int rc = delete_table(&existed, err);
	*removed = existed;
	return rc;
}

/* ---- backend table ---- */

static void *nftb_create(void)
{
	return nft_backend_new();
}

static void nftb_destroy(void *state)
{
	nft_backend_free(state);
}

static int nftb_sync(void *state, const struct proxy_model *m, const struct proxy_config *cfg,
		     const json_t *changed, struct proxy_sync_result *res, struct mk_err **err)
{
	size_t n = 0;
	int rc = nft_backend_sync(state, m, cfg, changed, &n, err);
	*res = (struct proxy_sync_result){.objects = n};
	return rc;
}

const struct proxy_backend proxy_backend_nftables = {
	.name = "nftables",
	.create = nftb_create,
	.destroy = nftb_destroy,
	.sync = nftb_sync,
	.cleanup = nft_backend_cleanup,
	.leftovers = nft_backend_leftovers,
};
