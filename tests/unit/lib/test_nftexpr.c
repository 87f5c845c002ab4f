/* lib/nftexpr without the kernel: every builder's expression goes through a
 * netlink message and back (libnftnl's codec), and prints as nft's netlink
 * debug output does; user data that does not fit is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <cmocka.h>

#include "nftexpr.h"

/* r as the kernel would receive it, parsed back and printed. */
static void assert_round_trip(struct nftnl_rule *r, const char *want)
{
	static char buf[16384];
	struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_IPV4, 0, 1);
	nftnl_rule_nlmsg_build_payload(h, r);
	struct nftnl_rule *p = nftnl_rule_alloc();
	assert_non_null(p);
	assert_int_equal(nftnl_rule_nlmsg_parse(h, p), 0);
	char out[8192];
	assert_true(nftnl_rule_snprintf(out, sizeof(out), p, NFTNL_OUTPUT_DEFAULT, 0) > 0);
	assert_string_equal(out, want);
	nftnl_rule_free(p);
}

static void test_every_expression(void **state)
{
	(void)state;
	struct nftnl_rule *r = nftexpr_rule_new(NFPROTO_IPV4, "t", "c");
	uint32_t a = 0x0100000a, m = 0xffffff00, z = 0;
	nftexpr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nftexpr_bitwise(r, 4, &m, &z);
	nftexpr_cmp(r, NFT_CMP_NEQ, &a, 4);
	nftexpr_meta_load(r, NFT_META_L4PROTO, NFT_REG_1);
	nftexpr_meta_set(r, NFT_META_MARK);
	nftexpr_ct_load(r, NFT_CT_STATE, NFT_REG_1);
	nftexpr_lookup(r, "s", 7, true, false);
	nftexpr_lookup(r, "s2", 0, false, true);
	nftexpr_dynset_update(r, "aff");
	nftexpr_numgen_random(r, 3);
	nftexpr_fib_saddr_type(r);
	nftexpr_counter(r);
	nftexpr_immediate(r, NFT_REG_2, &a, 4);
	nftexpr_dnat(r, NFPROTO_IPV4, NFT_REG_1, NFT_REG_2, NF_NAT_RANGE_PROTO_SPECIFIED);
	nftexpr_masq(r, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	nftexpr_reject_icmp(r, 3);
	assert_int_equal(nftexpr_xt_comment(r, "hello", NULL), 0);
	nftexpr_xt_masquerade(r, AF_INET);
	nftexpr_verdict(r, NFT_JUMP, "x");
	assert_round_trip(r, "ip t c\n"
			     "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
			     "  [ bitwise reg 1 = ( reg 1 & 0xffffff00 ) ^ 0x00000000 ]\n"
			     "  [ cmp neq reg 1 0x0100000a ]\n"
			     "  [ meta load l4proto => reg 1 ]\n"
			     "  [ meta set mark with reg 1 ]\n"
			     "  [ ct load state => reg 1 ]\n"
			     "  [ lookup reg 1 set s dreg 0 ]\n"
			     "  [ lookup reg 1 set s2 0x1 ]\n"
			     "  [ dynset update reg_key 1 set aff ]\n"
			     "  [ numgen reg 1 = random mod 3 ]\n"
			     "  [ fib saddr type => reg 1 ]\n"
			     "  [ counter pkts 0 bytes 0 ]\n"
			     "  [ immediate reg 2 0x0100000a ]\n"
			     "  [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]\n"
			     "  [ masq flags 0x10 ]\n"
			     "  [ reject type 0 code 3 ]\n"
			     "  [ match name comment rev 0 ]\n"
			     "  [ target name MASQUERADE rev 0 ]\n"
			     "  [ immediate reg 0 jump -> x ]\n");
	nftnl_rule_free(r);
}

/* The comment match and the MASQUERADE target carry iptables' binary info:
 * the text NUL-padded to 256 bytes, the compat range of one entry. */
static void test_xt_info(void **state)
{
	(void)state;
	struct nftnl_rule *r = nftexpr_rule_new(NFPROTO_IPV4, "nat", "POSTROUTING");
	assert_int_equal(nftexpr_xt_comment(r, "name: \"n\" id: \"x\"", NULL), 0);
	nftexpr_xt_masquerade(r, AF_INET);
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	assert_non_null(it);
	struct nftnl_expr *e = nftnl_expr_iter_next(it);
	uint32_t len = 0;
	const char *info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
	assert_int_equal(len, 256);
	assert_string_equal(info, "name: \"n\" id: \"x\"");
	assert_int_equal(info[255], 0);
	e = nftnl_expr_iter_next(it);
	const uint32_t *range = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &len);
	assert_int_equal(len, 24);
	assert_int_equal(range[0], 1); /* rangesize */
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
}

/* Outside text that does not fit is refused, not cut. */
static void test_too_long(void **state)
{
	(void)state;
	char text[300];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	struct nftnl_rule *r = nftexpr_rule_new(NFPROTO_IPV4, "nat", "c");
	struct mk_err *err = NULL;
	assert_int_equal(nftexpr_xt_comment(r, text, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err),
			    "comment of 299 bytes: the comment match holds at most 255");
	mk_err_free(err);
	err = NULL;
	text[255] = '\0';
	assert_int_equal(nftexpr_xt_comment(r, text, &err), 0);

	text[255] = 'x';
	assert_int_equal(nftexpr_rule_comment(r, text, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_non_null(strstr(mk_err_msg(err), "comment too long"));
	mk_err_free(err);
	err = NULL;
	assert_false(nftnl_rule_is_set(r, NFTNL_RULE_USERDATA));
	/* 256 bytes of user data hold a comment of 253 characters: type,
	 * length, text and its NUL */
	text[253] = '\0';
	assert_int_equal(nftexpr_rule_comment(r, text, &err), 0);
	assert_true(nftnl_rule_is_set(r, NFTNL_RULE_USERDATA));
	nftnl_rule_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_expression),
		cmocka_unit_test(test_xt_info),
		cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
