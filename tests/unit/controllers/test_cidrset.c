/* Node IPAM subnets: distinct, lowest first, reusable, bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "apiserver/controllers/cidrset.h"
#include "cleanup.h"

static void test_allocate_occupy_release(void **state)
{
	(void)state;
	struct cidrset *s = cidrset_new("10.244.0.0/16", 24, NULL);
	assert_non_null(s);
	assert_int_equal(cidrset_occupy(s, "10.244.1.0/24", NULL), 0);
	cleanup_free char *a = cidrset_allocate(s, NULL);
	cleanup_free char *b = cidrset_allocate(s, NULL);
	assert_string_equal(a, "10.244.0.0/24");
	assert_string_equal(b, "10.244.2.0/24");
	cidrset_release(s, "10.244.0.0/24");
	cleanup_free char *c = cidrset_allocate(s, NULL);
	assert_string_equal(c, "10.244.0.0/24");
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(cidrset_occupy(s, "10.245.0.0/24", &err), -1);
	assert_string_equal(mk_err_msg(err), "10.245.0.0/24 is not a /24 subnet of the cluster CIDR");
	cidrset_free(s);
}

static void test_exhaustion_and_bad_input(void **state)
{
	(void)state;
	struct cidrset *s = cidrset_new("192.168.0.0/23", 24, NULL);
	char *x = cidrset_allocate(s, NULL), *y = cidrset_allocate(s, NULL);
	assert_string_equal(y, "192.168.1.0/24");
	free(x);
	free(y);
	cleanup_err struct mk_err *err = NULL;
	assert_null(cidrset_allocate(s, &err));
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	cidrset_free(s);
	cleanup_err struct mk_err *e2 = NULL;
	assert_null(cidrset_new("10.0.0.0", 24, &e2));
	assert_string_equal(mk_err_msg(e2), "invalid CIDR address: 10.0.0.0");
	cleanup_err struct mk_err *e3 = NULL;
	assert_null(cidrset_new("10.0.0.0/24", 16, &e3));
	assert_int_equal(mk_err_code(e3), MK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocate_occupy_release),
		cmocka_unit_test(test_exhaustion_and_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
