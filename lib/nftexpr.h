/* libnftnl objects and expressions, built once for every nf_tables writer
 * (kube-proxy's nftables backend, the bridge plugin's masquerade and
 * macspoofchk rules).
 *
 * libnftnl reports a failed allocation (and a value too large for its slot,
 * which only a programming error produces) by a NULL or negative return;
 * here every such result aborts, as xmalloc does, so callers check nothing
 * but what outside data can break: user data that does not fit.
 *
 * Objects are new (free them with nftnl_<object>_free()); expressions are
 * appended to the rule, which owns them. Strings and data are copied. */
#ifndef MK_NFTEXPR_H
#define MK_NFTEXPR_H

#include <stdbool.h>
#include <stdint.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "err.h"

/* Aborts when a libnftnl setter returned a negative value. */
void nftexpr_must(int rc);

/* ---- objects (family is an NFPROTO_*) ---- */

struct nftnl_table *nftexpr_table_new(uint32_t family, const char *name);
struct nftnl_chain *nftexpr_chain_new(uint32_t family, const char *table, const char *name);
/* Makes c a base chain of type ("filter", "nat") at hook with prio. */
void nftexpr_chain_base(struct nftnl_chain *c, const char *type, uint32_t hook, int32_t prio);
struct nftnl_rule *nftexpr_rule_new(uint32_t family, const char *table, const char *chain);
struct nftnl_set *nftexpr_set_new(uint32_t family, const char *table, const char *name);
/* An element with key (len bytes). */
struct nftnl_set_elem *nftexpr_elem_new(const void *key, uint32_t len);
/* Gives e a verdict (NFT_GOTO, NFT_JUMP with chain; NF_DROP... with NULL). */
void nftexpr_elem_verdict(struct nftnl_set_elem *e, int verdict, const char *chain);

/* ---- user data (comments and tags, as nft stores them) ---- */

/* New buffer of NFT_USERDATA_MAXLEN bytes; nftnl_udata_buf_free() it. */
struct nftnl_udata_buf *nftexpr_udata_new(void);
/* Appends an attribute; MK_EINVAL ("comment too long") when the buffer has
 * no room left for it. */
int nftexpr_udata_put(struct nftnl_udata_buf *u, uint8_t type, const void *data, uint32_t len,
		      struct mk_err **err);
int nftexpr_udata_put_str(struct nftnl_udata_buf *u, uint8_t type, const char *s,
			  struct mk_err **err);
/* Stores u's contents (copied) as the object's user data. */
void nftexpr_table_udata(struct nftnl_table *t, const struct nftnl_udata_buf *u);
void nftexpr_chain_udata(struct nftnl_chain *c, const struct nftnl_udata_buf *u);
void nftexpr_rule_udata(struct nftnl_rule *r, const struct nftnl_udata_buf *u);
void nftexpr_set_udata(struct nftnl_set *s, const struct nftnl_udata_buf *u);
void nftexpr_elem_udata(struct nftnl_set_elem *e, const struct nftnl_udata_buf *u);
/* The common case: a comment of one string attribute of type, as user data
 * of the object. MK_EINVAL when it is too long. */
int nftexpr_table_comment(struct nftnl_table *t, const char *comment, struct mk_err **err);
int nftexpr_chain_comment(struct nftnl_chain *c, const char *comment, struct mk_err **err);
int nftexpr_rule_comment(struct nftnl_rule *r, const char *comment, struct mk_err **err);
int nftexpr_elem_comment(struct nftnl_set_elem *e, const char *comment, struct mk_err **err);

/* ---- expressions appended to r ---- */

/* Loads len bytes at offset of the header base (NFT_PAYLOAD_*) into dreg. */
void nftexpr_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len,
		     uint32_t dreg);
/* Compares register 1 with data (len bytes) by op (NFT_CMP_*). */
void nftexpr_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len);
/* Register 1 = (register 1 & mask) ^ xor, len bytes. */
void nftexpr_bitwise(struct nftnl_rule *r, uint32_t len, const void *mask, const void *xor);
/* A verdict: NF_ACCEPT, NF_DROP, NFT_RETURN, or NFT_JUMP / NFT_GOTO to chain. */
void nftexpr_verdict(struct nftnl_rule *r, int verdict, const char *chain);
/* Loads data (len bytes) into dreg. */
void nftexpr_immediate(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len);
/* Loads the meta key (NFT_META_*) into dreg. */
void nftexpr_meta_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
/* Sets the meta key from register 1. */
void nftexpr_meta_set(struct nftnl_rule *r, uint32_t key);
/* Loads the conntrack key (NFT_CT_*) into dreg. */
void nftexpr_ct_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
/* Looks register 1 up in set (by name, and by id when set_id is not 0: a set
 * of the same batch). vmap: the set's verdict is the rule's; inv: matches
 * when absent. */
void nftexpr_lookup(struct nftnl_rule *r, const char *set, uint32_t set_id, bool vmap,
		    bool inv);
/* Adds register 1 to set, refreshing its timeout. */
void nftexpr_dynset_update(struct nftnl_rule *r, const char *set);
/* Register 1 = a random number in [0, modulus). */
void nftexpr_numgen_random(struct nftnl_rule *r, uint32_t modulus);
/* Register 1 = the address type (RTN_*) of the packet's source address. */
void nftexpr_fib_saddr_type(struct nftnl_rule *r);
void nftexpr_counter(struct nftnl_rule *r);
/* reject with ICMP code (NFT_REJECT_ICMP_UNREACH of type). */
void nftexpr_reject_icmp(struct nftnl_rule *r, uint8_t code);
void nftexpr_masq(struct nftnl_rule *r, uint32_t flags);
/* DNAT to the address in addr_reg and the port in proto_reg. */
void nftexpr_dnat(struct nftnl_rule *r, uint32_t family, uint32_t addr_reg, uint32_t proto_reg,
		  uint32_t flags);

/* ---- iptables-nft compatibility (xtables extensions) ---- */

/* `-m comment --comment text`, as iptables-nft encodes it (revision 0).
 * MK_EINVAL when text does not fit the match's 256 bytes, which iptables
 * refuses too. */
int nftexpr_xt_comment(struct nftnl_rule *r, const char *text, struct mk_err **err);
/* `-j MASQUERADE` for family (AF_INET or AF_INET6). */
void nftexpr_xt_masquerade(struct nftnl_rule *r, int family);

#endif
