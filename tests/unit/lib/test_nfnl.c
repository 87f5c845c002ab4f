/* lib/nfnl against the kernel, inside a private network namespace made by
 * unshare(CLONE_NEWNET) before the first test: the host's tables are never
 * read or written. Needs root (exit 77 otherwise). */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>

#include "cleanup.h"
#include "nfnl.h"
#include "nftexpr.h"
#include "xalloc.h"

#define TABLE "nfnl-test"

static struct nfnl_sock *open_ok(void)
{
	struct mk_err *err = NULL;
	struct nfnl_sock *s = nfnl_sock_open(&err);
	if (!s)
		fail_msg("open: %s", mk_err_msg(err));
	return s;
}

static void send_ok(struct nfnl_batch *b)
{
	struct mk_err *err = NULL;
	size_t refused = 0;
	if (nfnl_batch_send(b, &refused, &err) < 0)
		fail_msg("batch refused at %zu: %s", refused, mk_err_msg(err));
	nfnl_batch_free(b);
}

static void put_table(struct nfnl_batch *b, uint16_t type, const char *name)
{
	struct nftnl_table *t = nftexpr_table_new(NFPROTO_IPV4, name);
	nfnl_batch_table(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, t);
	nftnl_table_free(t);
}

static size_t put_chain(struct nfnl_batch *b, const char *table, const char *name)
{
	struct nftnl_chain *c = nftexpr_chain_new(NFPROTO_IPV4, table, name);
	size_t i = nfnl_batch_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, c);
	nftnl_chain_free(c);
	return i;
}

static size_t put_jump(struct nfnl_batch *b, const char *chain, const char *target)
{
	struct nftnl_rule *r = nftexpr_rule_new(NFPROTO_IPV4, TABLE, chain);
	nftexpr_verdict(r, NFT_JUMP, target);
	size_t i = nfnl_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r);
	nftnl_rule_free(r);
	return i;
}

/* Each test starts without the tables and leaves none, even when it fails
 * half-way. */
static int drop_tables(void **state)
{
	(void)state;
	const char *const tables[] = {TABLE, TABLE "-other"};
	struct nfnl_sock *s = open_ok();
	int rc = 0;
	for (size_t i = 0; i < 2; i++) {
		struct nfnl_batch *b = nfnl_batch_begin(s);
		put_table(b, NFT_MSG_DELTABLE, tables[i]);
		struct mk_err *err = NULL;
		if (nfnl_batch_send(b, NULL, &err) < 0 && mk_err_code(err) != MK_ENOTFOUND) {
			fprintf(stderr, "# dropping %s: %s\n", tables[i], mk_err_msg(err));
			rc = -1;
		}
		mk_err_free(err);
		nfnl_batch_free(b);
	}
	nfnl_sock_close(s);
	return rc;
}

struct names {
	const char *table; /* every chain must be of it */
	char **v;
	size_t n;
	int fail_at; /* the callback fails at this message (-1: never) */
	size_t calls;
};

static int chain_cb(const struct nlmsghdr *nlh, void *arg, struct mk_err **err)
{
	struct names *n = arg;
	if ((int)n->calls++ == n->fail_at)
		return mk_err_set(err, MK_EINVAL, "refused by the callback at %zu", n->calls - 1);
	struct nftnl_chain *c = nftnl_chain_alloc();
	assert_non_null(c);
	assert_int_equal(nftnl_chain_nlmsg_parse(nlh, c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), n->table);
	n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
	n->v[n->n++] = xstrdup(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	nftnl_chain_free(c);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

/* Every request takes one sequence number, a batch one per message and two
 * for its begin and end. */
static void test_seq_increments(void **state)
{
	(void)state;
	struct nfnl_sock *s = open_ok();
	struct mk_err *err = NULL;
	uint32_t seq = nfnl_sock_seq(s), gen;
	assert_int_equal(nfnl_nft_genid(s, &gen, &err), 0);
	assert_int_equal(nfnl_sock_seq(s), seq + 1);
	assert_int_equal(nfnl_nft_genid(s, &gen, &err), 0);
	assert_int_equal(nfnl_sock_seq(s), seq + 2);

	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	assert_int_equal(put_chain(b, TABLE, "a"), 1);
	assert_int_equal(put_chain(b, TABLE, "b"), 2);
	assert_int_equal(nfnl_batch_count(b), 3);
	send_ok(b);
	assert_int_equal(nfnl_sock_seq(s), seq + 2 + 3 + 2);

	struct names n = {.table = TABLE, .fail_at = -1};
	assert_int_equal(nfnl_nft_dump(s, NFT_MSG_GETCHAIN, NFPROTO_IPV4, TABLE, NULL, chain_cb, &n, &err),
			 0);
	assert_int_equal(nfnl_sock_seq(s), seq + 8);
	names_free(&n);
	/* another socket counts on its own */
	struct nfnl_sock *s2 = open_ok();
	uint32_t seq2 = nfnl_sock_seq(s2);
	assert_int_equal(nfnl_nft_genid(s2, &gen, &err), 0);
	assert_int_equal(nfnl_sock_seq(s2), seq2 + 1);
	assert_int_equal(nfnl_sock_seq(s), seq + 8);
	nfnl_sock_close(s2);
	nfnl_sock_close(s);
}

/* One bad message among several: the kernel applies nothing, and the error
 * names that message's index and carries the kernel's errno and text. */
static void test_batch_one_refused(void **state)
{
	(void)state;
	struct nfnl_sock *s = open_ok();
	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	put_chain(b, TABLE, "first");
	put_chain(b, TABLE, "target");
	put_jump(b, "first", "target");
	size_t bad = put_jump(b, "no-such-chain", "first");
	put_chain(b, TABLE, "last");
	assert_int_equal(bad, 4);
	size_t refused = 0;
	struct mk_err *err = NULL;
	assert_int_equal(nfnl_batch_send(b, &refused, &err), -1);
	nfnl_batch_free(b);
	assert_int_equal(refused, bad);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_int_equal(err->errnum, ENOENT);
	/* the kernel points at the chain attribute of the refused rule */
	if (!strstr(mk_err_msg(err), "no such file or directory (attribute at offset "))
		fail_msg("error: %s", mk_err_msg(err));
	print_message("# %s\n", mk_err_msg(err));
	mk_err_free(err);
	err = NULL;

	/* all or nothing: not even the table is there */
	struct nlmsghdr *nlh =
		nfnl_msg_new(s, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE, NFPROTO_IPV4, 0);
	assert_true(mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_TABLE_NAME, TABLE));
	assert_int_equal(nfnl_talk(s, nlh, NULL, NULL, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err);
	err = NULL;

	/* the socket is in step: the same batch without the bad message goes */
	b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	put_chain(b, TABLE, "first");
	send_ok(b);
	struct names n = {.table = TABLE, .fail_at = -1};
	assert_int_equal(nfnl_nft_dump(s, NFT_MSG_GETCHAIN, NFPROTO_IPV4, TABLE, NULL, chain_cb, &n, &err),
			 0);
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "first");
	names_free(&n);
	nfnl_sock_close(s);
}

/* The refusal the kernel reports first in batch order is the one named. */
static void test_batch_first_of_several_refused(void **state)
{
	(void)state;
	struct nfnl_sock *s = open_ok();
	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	put_chain(b, TABLE, "c");
	for (int i = 0; i < 50; i++)
		put_jump(b, "c", "no-such-target");
	size_t refused = 0;
	struct mk_err *err = NULL;
	assert_int_equal(nfnl_batch_send(b, &refused, &err), -1);
	assert_int_equal(refused, 2);
	assert_int_equal(err->errnum, ENOENT);
	mk_err_free(err);
	nfnl_batch_free(b);
	nfnl_sock_close(s);
}

/* A dump of a table's chains reaches every chain through the callback,
 * across the several messages the kernel needs for them. */
static void test_dump_chains(void **state)
{
	(void)state;
	struct nfnl_sock *s = open_ok();
	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	enum { N = 400 };
	char name[160];
	/* about 200 bytes a chain: more than one 32 KiB answer */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "chain-%03d-%0140d", i, 0);
		put_chain(b, TABLE, name);
	}
	send_ok(b);
	/* a chain in another table is not listed */
	b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE "-other");
	put_chain(b, TABLE "-other", "elsewhere");
	send_ok(b);

	struct names n = {.table = TABLE, .fail_at = -1};
	struct mk_err *err = NULL;
	assert_int_equal(nfnl_nft_dump(s, NFT_MSG_GETCHAIN, NFPROTO_IPV4, TABLE, NULL, chain_cb, &n, &err),
			 0);
	assert_int_equal(n.n, N);
	qsort(n.v, n.n, sizeof(n.v[0]), cmp_str);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "chain-%03d-%0140d", i, 0);
		assert_string_equal(n.v[i], name);
	}
	names_free(&n);

	/* a failing callback fails the dump with its error; the rest of the
	 * dump is read, so the socket answers the next request right */
	n = (struct names){.table = TABLE, .fail_at = 3};
	assert_int_equal(nfnl_nft_dump(s, NFT_MSG_GETCHAIN, NFPROTO_IPV4, TABLE, NULL, chain_cb, &n, &err),
			 -1);
	assert_string_equal(mk_err_msg(err), "refused by the callback at 3");
	assert_int_equal(n.n, 3);
	names_free(&n);
	mk_err_free(err);
	err = NULL;
	uint32_t gen;
	assert_int_equal(nfnl_nft_genid(s, &gen, &err), 0);
	n = (struct names){.table = TABLE "-other", .fail_at = -1};
	assert_int_equal(nfnl_nft_dump(s, NFT_MSG_GETCHAIN, NFPROTO_IPV4, TABLE "-other", NULL, chain_cb,
				       &n, &err),
			 0);
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "elsewhere");
	names_free(&n);

	nfnl_sock_close(s);
}

static int rule_chain_cb(const struct nlmsghdr *nlh, void *arg, struct mk_err **err)
{
	(void)err;
	struct names *n = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();
	assert_non_null(r);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), n->table);
	n->v = xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
	n->v[n->n++] = xstrdup(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	nftnl_rule_free(r);
	return 0;
}

/* A rule dump names the table and the chain: only their rules come back. */
static void test_dump_rules_of_chain(void **state)
{
	(void)state;
	struct nfnl_sock *s = open_ok();
	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	put_chain(b, TABLE, "a");
	put_chain(b, TABLE, "b");
	put_chain(b, TABLE, "t");
	put_jump(b, "a", "t");
	put_jump(b, "a", "t");
	put_jump(b, "b", "t");
	put_table(b, NFT_MSG_NEWTABLE, TABLE "-other");
	struct nftnl_chain *c = nftexpr_chain_new(NFPROTO_IPV4, TABLE "-other", "a");
	nfnl_batch_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, c);
	nftnl_chain_free(c);
	struct nftnl_rule *r = nftexpr_rule_new(NFPROTO_IPV4, TABLE "-other", "a");
	nftexpr_verdict(r, NF_ACCEPT, NULL);
	nfnl_batch_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r);
	nftnl_rule_free(r);
	send_ok(b);

	struct mk_err *err = NULL;
	struct names n = {.table = TABLE, .fail_at = -1};
	assert_int_equal(
		nfnl_nft_dump(s, NFT_MSG_GETRULE, NFPROTO_IPV4, TABLE, "a", rule_chain_cb, &n, &err),
		0);
	assert_int_equal(n.n, 2);
	assert_string_equal(n.v[0], "a");
	assert_string_equal(n.v[1], "a");
	names_free(&n);
	assert_int_equal(
		nfnl_nft_dump(s, NFT_MSG_GETRULE, NFPROTO_IPV4, TABLE, NULL, rule_chain_cb, &n, &err),
		0);
	assert_int_equal(n.n, 3);
	names_free(&n);
	nfnl_sock_close(s);
}

/* The generation moves by one per applied batch, and not for a refused one. */
static void test_genid(void **state)
{
	(void)state;
	struct nfnl_sock *s = open_ok();
	struct mk_err *err = NULL;
	uint32_t g0 = 0, g1 = 0, g2 = 0;
	assert_int_equal(nfnl_nft_genid(s, &g0, &err), 0);
	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	send_ok(b);
	assert_int_equal(nfnl_nft_genid(s, &g1, &err), 0);
	assert_int_equal(g1, g0 + 1);
	/* a writer on another socket counts too */
	struct nfnl_sock *other = open_ok();
	b = nfnl_batch_begin(other);
	put_chain(b, TABLE, "x");
	send_ok(b);
	nfnl_sock_close(other);
	assert_int_equal(nfnl_nft_genid(s, &g2, &err), 0);
	assert_int_equal(g2, g1 + 1);
	/* refused: no commit */
	b = nfnl_batch_begin(s);
	put_jump(b, "no-such-chain", "x");
	assert_int_equal(nfnl_batch_send(b, NULL, &err), -1);
	nfnl_batch_free(b);
	mk_err_free(err);
	err = NULL;
	assert_int_equal(nfnl_nft_genid(s, &g1, &err), 0);
	assert_int_equal(g1, g2);
	nfnl_sock_close(s);
}

struct elem_count {
	size_t elems, msgs;
};

static int elem_cb(const struct nlmsghdr *nlh, void *arg, struct mk_err **err)
{
	(void)err;
	struct elem_count *c = arg;
	c->msgs++;
	const struct nlattr *a, *e;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, a)
			c->elems++;
	}
	return 0;
}

/* Thousands of elements with long comments: more than the kernel's 64 KiB
 * per element list, so several messages, and a batch larger than the
 * default send buffer. */
static void test_batch_large_set(void **state)
{
	(void)state;
	enum { N = 6000 };
	struct nfnl_sock *s = open_ok();
	struct nfnl_batch *b = nfnl_batch_begin(s);
	put_table(b, NFT_MSG_NEWTABLE, TABLE);
	struct nftnl_set *set = nftexpr_set_new(NFPROTO_IPV4, TABLE, "big");
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, 7 /* ipv4_addr */);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(set, NFTNL_SET_FLAGS, 0);
	nftnl_set_set_u32(set, NFTNL_SET_ID, 1);
	nfnl_batch_set(b, NFT_MSG_NEWSET, NLM_F_CREATE, set);
	char comment[200];
	memset(comment, 'c', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	struct mk_err *err = NULL;
	for (uint32_t i = 0; i < N; i++) {
		uint32_t key = htonl(0x0a000000u + i);
		struct nftnl_set_elem *e = nftexpr_elem_new(&key, 4);
		assert_int_equal(nftexpr_elem_comment(e, comment, &err), 0);
		nftnl_set_elem_add(set, e);
	}
	size_t n_msgs = 0;
	size_t first = nfnl_batch_set_elems(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE, set, &n_msgs);
	nftnl_set_free(set);
	assert_int_equal(first, 2);
	/* about 230 bytes an element: at least 6,000 * 230 / 64 KiB messages */
	assert_true(n_msgs >= (size_t)N * 230 / 65536);
	assert_int_equal(nfnl_batch_count(b), 2 + n_msgs);
	assert_true(nfnl_batch_size(b) > 1024 * 1024);
	send_ok(b);

	struct nlmsghdr *nlh =
		nfnl_msg_new(s, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETSETELEM, NFPROTO_IPV4, 0);
	assert_true(mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_SET_ELEM_LIST_TABLE, TABLE));
	assert_true(mnl_attr_put_strz_check(nlh, NFNL_REQ_SIZE, NFTA_SET_ELEM_LIST_SET, "big"));
	struct elem_count c = {0};
	assert_int_equal(nfnl_dump(s, nlh, elem_cb, &c, &err), 0);
	assert_int_equal(c.elems, N);
	assert_true(c.msgs > 1); /* a multipart answer */
	nfnl_sock_close(s);
}

/* The same receive loop on rtnetlink: the kernel's extended ack text. */
static void test_route_bus_ext_ack(void **state)
{
	(void)state;
	struct mk_err *err = NULL;
	struct nfnl_sock *s = nfnl_sock_open_bus(NETLINK_ROUTE, &err);
	assert_non_null(s);
	char buf[512] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "nfnltest0");
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "no-such-kind");
	mnl_attr_nest_end(nlh, li);
	assert_int_equal(nfnl_talk(s, nlh, NULL, NULL, &err), -1);
	assert_int_equal(err->errnum, EOPNOTSUPP);
	assert_string_equal(mk_err_msg(err), "operation not supported (Unknown device type)");
	mk_err_free(err);
	nfnl_sock_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_seq_increments, drop_tables),
		cmocka_unit_test_teardown(test_batch_one_refused, drop_tables),
		cmocka_unit_test_teardown(test_batch_first_of_several_refused, drop_tables),
		cmocka_unit_test_teardown(test_dump_chains, drop_tables),
		cmocka_unit_test_teardown(test_dump_rules_of_chain, drop_tables),
		cmocka_unit_test_teardown(test_genid, drop_tables),
		cmocka_unit_test_teardown(test_batch_large_set, drop_tables),
		cmocka_unit_test_teardown(test_route_bus_ext_ack, drop_tables),
	};
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for a private network namespace\n");
		return 77;
	}
	/* before any socket: everything below happens in the new namespace */
	if (unshare(CLONE_NEWNET) < 0) {
		printf("1..0 # unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
