/* quantity: parsing to milli-units and canonical formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "quantity.h"

static void ok(const char *s, int64_t want)
{
	cleanup_err struct mk_err *err = NULL;
	int64_t got = -12345;
	if (quantity_parse_milli(s, &got, &err) != 0)
		fail_msg("%s: %s", s, mk_err_msg(err));
	if (got != want)
		fail_msg("%s: got %lld want %lld", s, (long long)got, (long long)want);
}

static void bad(const char *s, const char *msg)
{
	cleanup_err struct mk_err *err = NULL;
	int64_t got = 0;
	assert_int_equal(quantity_parse_milli(s, &got, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	if (msg)
		assert_string_equal(mk_err_msg(err), msg);
}

static void test_parse(void **state)
{
	(void)state;
	ok("0", 0);
	ok("1", 1000);
	ok("100m", 100);
	ok("0.5", 500);
	ok(".5", 500);
	ok("1.", 1000);
	ok("+2", 2000);
	ok("-3", -3000);
	ok("250m", 250);
	ok("1k", 1000000);
	ok("2M", 2000000000LL);
	ok("3G", 3000000000000LL);
	ok("1T", 1000000000000000LL);
	ok("1P", 1000000000000000000LL);
	ok("1Ki", 1024000);
	ok("128Mi", 128LL * 1024 * 1024 * 1000);
	ok("2Gi", 2LL * 1024 * 1024 * 1024 * 1000);
	ok("1Ti", 1024LL * 1024 * 1024 * 1024 * 1000);
	ok("1.5Gi", 1536LL * 1024 * 1024 * 1000);
	ok("1e3", 1000000);
	ok("1E3", 1000000);
	ok("5e-3", 5);
	ok("1e+2", 100000);
	ok("500u", 1);  /* rounds up to a whole milli */
	ok("1n", 1);
	ok("1000000n", 1);
	ok("1500000n", 2);
	ok("-1n", -1);
	ok("0.0001", 1);
	ok("0.000", 0);
	ok("0m", 0);
	ok("00012", 12000);
	ok("9223372036854775807m", INT64_MAX);
	ok("1.0000000000000000000000000000000000000001", 1001);
}

static void test_errors(void **state)
{
	(void)state;
	const char *fmt = "quantities must match the regular expression "
			  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
	bad("", fmt);
	bad("abc", fmt);
	bad("1 Gi", fmt);
	bad("1x", fmt);
	bad("-", fmt);
	bad(".", fmt);
	bad("1..2", fmt);
	bad("1Gib", fmt);
	bad("1kk", "unable to parse quantity's suffix");
	bad("1Mii", "unable to parse quantity's suffix");
	bad("1ki", "unable to parse quantity's suffix");
	bad("1e", "unable to parse quantity's suffix");
	bad("1K", "unable to parse quantity's suffix");
	bad("9223372036854775808m", NULL);
	bad("8Ei", NULL);
	bad("10E", NULL);
	bad("1e400", NULL);
}

static void fmt(int64_t milli, bool binary, const char *want)
{
	cleanup_free char *s = quantity_format_milli(milli, binary);
	assert_string_equal(s, want);
}

static void test_format(void **state)
{
	(void)state;
	fmt(0, false, "0");
	fmt(0, true, "0");
	fmt(100, false, "100m");
	fmt(1500, false, "1500m");
	fmt(1000, false, "1");
	fmt(1500000, false, "1500");
	fmt(2000000, false, "2k");
	fmt(128LL * 1000 * 1000 * 1000, false, "128M");
	fmt(-2000, false, "-2");
	fmt(128LL * 1024 * 1024 * 1000, true, "128Mi");
	fmt(1024LL * 1000, true, "1Ki");
	fmt(1000LL * 1000, true, "1k");  /* below 1024 stays decimal */
	fmt(1536LL * 1000, true, "1536");
	fmt(1500, true, "1500m");
	fmt(2LL * 1024 * 1024 * 1024 * 1000, true, "2Gi");
	fmt(INT64_MIN, false, "-9223372036854775808m");

	/* Round trips through the parser. */
	const char *in[] = {"100m", "1", "2Gi", "128Mi", "3k", "250m", "1Pi"};
	const bool bin[] = {false, false, true, true, false, false, true};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		int64_t m;
		assert_int_equal(quantity_parse_milli(in[i], &m, NULL), 0);
		cleanup_free char *s = quantity_format_milli(m, bin[i]);
		assert_string_equal(s, in[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
