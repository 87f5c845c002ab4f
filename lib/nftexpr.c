#include "nftexpr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_comment.h>

#include "xalloc.h"

void nftexpr_must(int rc)
{
	if (rc < 0)
		abort();
}

static void *must_ptr(void *p)
{
	if (!p)
		abort();
	return p;
}

/* ---- objects ---- */

struct nftnl_table *nftexpr_table_new(uint32_t family, const char *name)
{
	struct nftnl_table *t = must_ptr(nftnl_table_alloc());
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftexpr_must(nftnl_table_set_str(t, NFTNL_TABLE_NAME, name));
	return t;
}

struct nftnl_chain *nftexpr_chain_new(uint32_t family, const char *table, const char *name)
{
	struct nftnl_chain *c = must_ptr(nftnl_chain_alloc());
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftexpr_must(nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table));
	nftexpr_must(nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name));
	return c;
}

void nftexpr_chain_base(struct nftnl_chain *c, const char *type, uint32_t hook, int32_t prio)
{
	nftexpr_must(nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type));
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
}

struct nftnl_rule *nftexpr_rule_new(uint32_t family, const char *table, const char *chain)
{
	struct nftnl_rule *r = must_ptr(nftnl_rule_alloc());
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftexpr_must(nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table));
	if (chain)
		nftexpr_must(nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain));
	return r;
}

struct nftnl_set *nftexpr_set_new(uint32_t family, const char *table, const char *name)
{
	struct nftnl_set *s = must_ptr(nftnl_set_alloc());
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
	nftexpr_must(nftnl_set_set_str(s, NFTNL_SET_TABLE, table));
	nftexpr_must(nftnl_set_set_str(s, NFTNL_SET_NAME, name));
	return s;
}

struct nftnl_set_elem *nftexpr_elem_new(const void *key, uint32_t len)
{
	struct nftnl_set_elem *e = must_ptr(nftnl_set_elem_alloc());
	nftexpr_must(nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len));
	return e;
}

void nftexpr_elem_verdict(struct nftnl_set_elem *e, int verdict, const char *chain)
{
	nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftexpr_must(nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain));
}

/* ---- user data ---- */

struct nftnl_udata_buf *nftexpr_udata_new(void)
{
	return must_ptr(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
}

int nftexpr_udata_put(struct nftnl_udata_buf *u, uint8_t type, const void *data, uint32_t len,
		      struct mk_err **err)
{
	if (!nftnl_udata_put(u, type, len, data))
		return mk_err_set(err, MK_EINVAL, "comment too long: nftables keeps %d bytes of it",
				  NFT_USERDATA_MAXLEN);
	return 0;
}

int nftexpr_udata_put_str(struct nftnl_udata_buf *u, uint8_t type, const char *s,
			  struct mk_err **err)
{
	return nftexpr_udata_put(u, type, s, (uint32_t)strlen(s) + 1, err);
}

#define UDATA_ARGS(u) nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)

void nftexpr_table_udata(struct nftnl_table *t, const struct nftnl_udata_buf *u)
{
	nftexpr_must(nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, UDATA_ARGS(u)));
}

void nftexpr_chain_udata(struct nftnl_chain *c, const struct nftnl_udata_buf *u)
{
	nftexpr_must(nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, UDATA_ARGS(u)));
}

void nftexpr_rule_udata(struct nftnl_rule *r, const struct nftnl_udata_buf *u)
{
	nftexpr_must(nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, UDATA_ARGS(u)));
}

void nftexpr_set_udata(struct nftnl_set *s, const struct nftnl_udata_buf *u)
{
	nftexpr_must(nftnl_set_set_data(s, NFTNL_SET_USERDATA, UDATA_ARGS(u)));
}

void nftexpr_elem_udata(struct nftnl_set_elem *e, const struct nftnl_udata_buf *u)
{
	nftexpr_must(nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, UDATA_ARGS(u)));
}

/* A buffer holding one string attribute, or NULL (with *err) if too long. */
static struct nftnl_udata_buf *comment_buf(uint8_t type, const char *comment, struct mk_err **err)
{
	struct nftnl_udata_buf *u = nftexpr_udata_new();
	if (nftexpr_udata_put_str(u, type, comment, err) < 0) {
		nftnl_udata_buf_free(u);
		return NULL;
	}
	return u;
}

int nftexpr_table_comment(struct nftnl_table *t, const char *comment, struct mk_err **err)
{
	struct nftnl_udata_buf *u = comment_buf(NFTNL_UDATA_TABLE_COMMENT, comment, err);
	if (!u)
		return -1;
	nftexpr_table_udata(t, u);
	nftnl_udata_buf_free(u);
	return 0;
}

int nftexpr_chain_comment(struct nftnl_chain *c, const char *comment, struct mk_err **err)
{
	struct nftnl_udata_buf *u = comment_buf(NFTNL_UDATA_CHAIN_COMMENT, comment, err);
	if (!u)
		return -1;
	nftexpr_chain_udata(c, u);
	nftnl_udata_buf_free(u);
	return 0;
}

int nftexpr_rule_comment(struct nftnl_rule *r, const char *comment, struct mk_err **err)
{
	struct nftnl_udata_buf *u = comment_buf(NFTNL_UDATA_RULE_COMMENT, comment, err);
	if (!u)
		return -1;
	nftexpr_rule_udata(r, u);
	nftnl_udata_buf_free(u);
	return 0;
}

int nftexpr_elem_comment(struct nftnl_set_elem *e, const char *comment, struct mk_err **err)
{
	struct nftnl_udata_buf *u = comment_buf(NFTNL_UDATA_SET_ELEM_COMMENT, comment, err);
	if (!u)
		return -1;
	nftexpr_elem_udata(e, u);
	nftnl_udata_buf_free(u);
	return 0;
}

/* ---- expressions ---- */

static struct nftnl_expr *expr_new(const char *name)
{
	return must_ptr(nftnl_expr_alloc(name));
}

void nftexpr_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len,
		     uint32_t dreg)
{
	struct nftnl_expr *e = expr_new("payload");
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new("cmp");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len));
	nftnl_rule_add_expr(r, e);
}

void nftexpr_bitwise(struct nftnl_rule *r, uint32_t len, const void *mask, const void *xor)
{
	struct nftnl_expr *e = expr_new("bitwise");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len));
	nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len));
	nftnl_rule_add_expr(r, e);
}

void nftexpr_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = expr_new("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftexpr_must(nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain));
	nftnl_rule_add_expr(r, e);
}

void nftexpr_immediate(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len));
	nftnl_rule_add_expr(r, e);
}

void nftexpr_meta_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_meta_set(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr_new("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_ct_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new("ct");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_lookup(struct nftnl_rule *r, const char *set, uint32_t set_id, bool vmap, bool inv)
{
	struct nftnl_expr *e = expr_new("lookup");
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (vmap)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftexpr_must(nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set));
	if (set_id)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_dynset_update(struct nftnl_rule *r, const char *set)
{
	struct nftnl_expr *e = expr_new("dynset");
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftexpr_must(nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set));
	nftnl_rule_add_expr(r, e);
}

void nftexpr_numgen_random(struct nftnl_rule *r, uint32_t modulus)
{
	struct nftnl_expr *e = expr_new("numgen");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, modulus);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_fib_saddr_type(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr_new("fib");
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_counter(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr_new("counter");
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_reject_icmp(struct nftnl_rule *r, uint8_t code)
{
	struct nftnl_expr *e = expr_new("reject");
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_masq(struct nftnl_rule *r, uint32_t flags)
{
	struct nftnl_expr *e = expr_new("masq");
	nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, flags);
	nftnl_rule_add_expr(r, e);
}

void nftexpr_dnat(struct nftnl_rule *r, uint32_t family, uint32_t addr_reg, uint32_t proto_reg,
		  uint32_t flags)
{
	struct nftnl_expr *e = expr_new("nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	nftnl_rule_add_expr(r, e);
}

/* ---- xtables extensions ---- */

int nftexpr_xt_comment(struct nftnl_rule *r, const char *text, struct mk_err **err)
{
	size_t len = strlen(text);
	struct xt_comment_info *info;
	if (len >= sizeof(info->comment))
		return mk_err_set(err, MK_EINVAL,
				  "comment of %zu bytes: the comment match holds at most %zu", len,
				  sizeof(info->comment) - 1);
	/* libnftnl takes over the info: heap memory */
	info = xcalloc(1, sizeof(*info));
	memcpy(info->comment, text, len);
	struct nftnl_expr *e = expr_new("match");
	nftexpr_must(nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, "comment"));
	nftnl_expr_set_u32(e, NFTNL_EXPR_MT_REV, 0);
	nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, info, sizeof(*info)));
	nftnl_rule_add_expr(r, e);
	return 0;
}

void nftexpr_xt_masquerade(struct nftnl_rule *r, int family)
{
	struct nftnl_expr *e = expr_new("target");
	nftexpr_must(nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "MASQUERADE"));
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 0);
	if (family == AF_INET) {
		/* iptables passes the XT_ALIGNed size of the compat range */
		const size_t size = 24;
		struct nf_nat_ipv4_multi_range_compat mr = {.rangesize = 1};
		_Static_assert(sizeof(mr) <= 24, "compat range larger than its aligned size");
		uint8_t *info = xcalloc(1, size);
		memcpy(info, &mr, sizeof(mr));
		nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, (uint32_t)size));
	} else {
		struct nf_nat_range *nr = xcalloc(1, sizeof(*nr));
		nftexpr_must(nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, nr, sizeof(*nr)));
	}
	nftnl_rule_add_expr(r, e);
}
