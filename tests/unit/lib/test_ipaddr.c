/* ipaddr: parsing, printing and the range arithmetic IPAM relies on,
 * across byte and family boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ipaddr.h"

static void test_next_prev_parse(void **state)
{
	(void)state;
	struct ipaddr ip;
	char b[IPADDR_STRLEN];
	assert_int_equal(ipaddr_parse("10.0.0.255", &ip), 0);
	ipaddr_next(&ip);
	assert_string_equal(ipaddr_str(&ip, b), "10.0.1.0");
	ipaddr_prev(&ip);
	assert_string_equal(ipaddr_str(&ip, b), "10.0.0.255");
	assert_int_equal(ipaddr_parse("255.255.255.255", &ip), 0);
	ipaddr_next(&ip);
	assert_string_equal(ipaddr_str(&ip, b), "0.0.0.0");
	/* an IPv4-mapped IPv6 address is the IPv4 address */
	assert_int_equal(ipaddr_parse("::ffff:10.1.2.3", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(ipaddr_len(&ip), 4);
	assert_string_equal(ipaddr_str(&ip, b), "10.1.2.3");
	assert_int_equal(ipaddr_parse("fd00::ffff", &ip), 0);
	ipaddr_next(&ip);
	assert_string_equal(ipaddr_str(&ip, b), "fd00::1:0");
	assert_int_equal(ipaddr_len(&ip), 16);
	assert_int_equal(ipaddr_parse("bogus", &ip), -1);
	assert_int_equal(ipaddr_parse("10.0.0.1/24", &ip), -1);
	assert_int_equal(ipaddr_parse("", &ip), -1);
}

static void test_nets(void **state)
{
	(void)state;
	char b[IPADDR_STRLEN];
	struct ipaddr_net n;
	assert_int_equal(ipaddr_net_parse("10.94.3.7/22", &n), 0);
	struct ipaddr f = ipaddr_net_first(&n), l = ipaddr_net_last(&n);
	assert_string_equal(ipaddr_str(&f, b), "10.94.0.0");
	assert_string_equal(ipaddr_str(&l, b), "10.94.3.255");
	assert_true(ipaddr_net_has_host_bits(&n));
	assert_true(ipaddr_net_contains(&n, &f));
	struct ipaddr out;
	ipaddr_parse("10.94.4.0", &out);
	assert_false(ipaddr_net_contains(&n, &out));
	char *s = ipaddr_net_str(&n);
	assert_string_equal(s, "10.94.3.7/22");
	free(s);
	assert_int_equal(ipaddr_net_parse("fd00:1::/64", &n), 0);
	l = ipaddr_net_last(&n);
	assert_string_equal(ipaddr_str(&l, b), "fd00:1::ffff:ffff:ffff:ffff");
	assert_false(ipaddr_net_has_host_bits(&n));
	/* the other family is never contained nor overlapping */
	struct ipaddr_net v4;
	ipaddr_net_parse("0.0.0.0/0", &v4);
	assert_false(ipaddr_net_contains(&v4, &l));
	assert_false(ipaddr_net_overlaps(&v4, &n));
	struct ipaddr_net a, c;
	ipaddr_net_parse("10.0.0.0/16", &a);
	ipaddr_net_parse("10.0.200.0/24", &c);
	assert_true(ipaddr_net_overlaps(&a, &c));
	assert_true(ipaddr_net_overlaps(&c, &a));
	ipaddr_net_parse("10.1.0.0/24", &c);
	assert_false(ipaddr_net_overlaps(&a, &c));
	/* ordering */
	struct ipaddr x, y;
	ipaddr_parse("10.0.0.9", &x);
	ipaddr_parse("10.0.0.10", &y);
	assert_true(ipaddr_cmp(&x, &y) < 0);
	assert_false(ipaddr_equal(&x, &y));
	ipaddr_parse("::1", &y);
	assert_true(ipaddr_cmp(&x, &y) < 0); /* AF_INET before AF_INET6 */
	/* malformed prefixes */
	assert_int_equal(ipaddr_net_parse("10.0.0.0/33", &n), -1);
	assert_int_equal(ipaddr_net_parse("fd00::/129", &n), -1);
	assert_int_equal(ipaddr_net_parse("10.0.0.0", &n), -1);
	assert_int_equal(ipaddr_net_parse("10.0.0.0/", &n), -1);
	assert_int_equal(ipaddr_net_parse("10.0.0.0/-1", &n), -1);
	assert_int_equal(ipaddr_net_parse("10.0.0.0/2x", &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_prev_parse),
		cmocka_unit_test(test_nets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
