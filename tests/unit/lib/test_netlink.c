/* lib/netlink against the kernel, inside private network namespaces made by
 * unshare(CLONE_NEWNET): nothing touches the host's links or routes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>

#include "cleanup.h"
#include "netlink.h"

static int other_ns = -1; /* a second private namespace for veth peers */

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	/* The namespace where the test creates the peer, then our own. */
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	other_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	return 0;
}

#define NEED_ROOT()                                   \
	do {                                          \
		if (geteuid() != 0)                   \
			skip();                       \
	} while (0)

static void test_bridge_veth_hairpin(void **state)
{
	(void)state;
	NEED_ROOT();
	struct mk_err *err = NULL;
	struct nl_sock *s = nl_sock_open(&err);
	assert_non_null(s);
	assert_int_equal(nl_bridge_create(s, "tbr0", 1400, false, &err), 0);
	assert_int_equal(nl_bridge_create(s, "tbr0", 0, false, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXISTS);
	assert_string_equal(mk_err_msg(err), "file exists");
	mk_err_free(err);
	err = NULL;

	struct nl_link br;
	assert_int_equal(nl_link_get(s, "tbr0", 0, &br, &err), 0);
	assert_string_equal(br.kind, "bridge");
	assert_int_equal(br.mtu, 1400);

	uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	assert_int_equal(nl_veth_create(s, "tveth0", "tpeer0", -1, 1400, mac, &err), 0);
	int v = nl_link_index(s, "tveth0", &err);
	assert_true(v > 0);
	struct nl_link vl;
	assert_int_equal(nl_link_get(s, NULL, v, &vl, &err), 0);
	assert_string_equal(vl.kind, "veth");
	assert_memory_equal(vl.mac, mac, 6);
	assert_int_equal(nl_link_set_master(s, v, br.index, &err), 0);
	assert_int_equal(nl_link_set_up(s, v, true, &err), 0);
	assert_int_equal(nl_bridge_port_set_hairpin(s, v, true, &err), 0);
	assert_int_equal(nl_bridge_port_get_hairpin(s, v, &err), 1);
	assert_int_equal(nl_bridge_port_set_hairpin(s, v, false, &err), 0);
	assert_int_equal(nl_bridge_port_get_hairpin(s, v, &err), 0);
	assert_int_equal(nl_link_get(s, NULL, v, &vl, &err), 0);
	assert_int_equal(vl.master, br.index);

	assert_int_equal(nl_link_index(s, "nosuch0", &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err);
	err = NULL;

	struct nl_link *links;
	size_t n;
	assert_int_equal(nl_link_list(s, &links, &n, &err), 0);
	assert_int_equal(n, 4); /* lo, tbr0, tveth0, tpeer0 */
	free(links);
	assert_int_equal(nl_link_del(s, v, &err), 0);
	assert_int_equal(nl_link_index(s, "tpeer0", &err), -1);
	mk_err_free(err);
	nl_sock_close(s);
}

static void test_addr_route(void **state)
{
	(void)state;
	NEED_ROOT();
	struct mk_err *err = NULL;
	struct nl_sock *s = nl_sock_open(&err);
	assert_non_null(s);
	assert_int_equal(nl_veth_create(s, "ta0", "tb0", -1, 0, NULL, &err), 0);
	int ix = nl_link_index(s, "ta0", &err);
	assert_int_equal(nl_link_set_up(s, ix, true, &err), 0);
	struct nl_addr a = {.family = AF_INET, .prefixlen = 24, .index = ix};
	inet_pton(AF_INET, "10.5.0.2", a.addr);
	assert_int_equal(nl_addr_add(s, &a, &err), 0);
	assert_int_equal(nl_addr_add(s, &a, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXISTS);
	mk_err_free(err);
	err = NULL;
	struct nl_addr a6 = {.family = AF_INET6, .prefixlen = 64, .index = ix,
			     .flags = IFA_F_NODAD};
	inet_pton(AF_INET6, "fd00:5::2", a6.addr);
	assert_int_equal(nl_addr_add(s, &a6, &err), 0);

	struct nl_addr *as;
	size_t n;
	assert_int_equal(nl_addr_list(s, ix, AF_INET, &as, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(as[0].addr, a.addr, 4);
	assert_int_equal(as[0].prefixlen, 24);
	free(as);

	struct nl_route r = {.family = AF_INET, .dst_len = 8, .has_gw = true};
	inet_pton(AF_INET, "10.0.0.0", r.dst);
	inet_pton(AF_INET, "10.5.0.1", r.gw);
	assert_int_equal(nl_route_add(s, &r, &err), 0);
	assert_int_equal(nl_route_add(s, &r, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXISTS);
	mk_err_free(err);
	err = NULL;
	inet_pton(AF_INET, "10.5.0.3", r.gw);
	assert_int_equal(nl_route_replace(s, &r, &err), 0);

	struct nl_route *rs;
	assert_int_equal(nl_route_list(s, AF_INET, 0, &rs, &n, &err), 0);
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		if (rs[i].dst_len == 8 && rs[i].has_gw) {
			uint8_t want[4];
			inet_pton(AF_INET, "10.5.0.3", want);
			assert_memory_equal(rs[i].gw, want, 4);
			assert_int_equal(rs[i].oif, ix);
			found++;
		}
	}
	assert_int_equal(found, 1);
	free(rs);
	assert_int_equal(nl_route_del(s, &r, &err), 0);
	assert_int_equal(nl_route_del(s, &r, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err);
	err = NULL;
	assert_int_equal(nl_addr_del(s, &a, &err), 0);
	assert_int_equal(nl_link_del(s, ix, &err), 0);
	nl_sock_close(s);
}

static int count_links(struct nl_sock *s, void *arg, struct mk_err **err)
{
	struct nl_link *links;
	size_t n;
	if (nl_link_list(s, &links, &n, err) < 0)
		return -1;
	*(size_t *)arg = n;
	for (size_t i = 0; i < n; i++)
		if (strcmp(links[i].name, "tpeer9") == 0)
			*(size_t *)arg += 100;
	free(links);
	return 0;
}

static void test_netns(void **state)
{
	(void)state;
	NEED_ROOT();
	struct mk_err *err = NULL;
	struct nl_sock *s = nl_sock_open(&err);
	/* peer created directly in the other namespace */
	assert_int_equal(nl_veth_create(s, "tveth9", "tpeer9", other_ns, 0, NULL, &err), 0);
	size_t n = 0;
	assert_int_equal(nl_netns_run(other_ns, count_links, &n, &err), 0);
	assert_int_equal(n, 102); /* lo + tpeer9 */
	/* back in our namespace */
	assert_true(nl_link_index(s, "tveth9", &err) > 0);
	assert_int_equal(nl_link_index(s, "tpeer9", &err), -1);
	mk_err_free(err);
	err = NULL;
	nl_sock_close(s);

	assert_int_equal(nl_netns_open("/nonexistent/ns", &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_string_equal(mk_err_msg(err),
			    "failed to Statfs \"/nonexistent/ns\": no such file or directory");
	mk_err_free(err);
	err = NULL;
	assert_int_equal(nl_netns_open("/etc/hostname", &err), -1);
	assert_non_null(strstr(mk_err_msg(err), "unknown FS magic on \"/etc/hostname\""));
	mk_err_free(err);
	err = NULL;
	int fd = nl_netns_open("/proc/self/ns/net", &err);
	assert_true(fd >= 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridge_veth_hairpin),
		cmocka_unit_test(test_addr_route),
		cmocka_unit_test(test_netns),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
