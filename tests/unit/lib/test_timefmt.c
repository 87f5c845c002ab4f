#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "timefmt.h"

static void test_rfc3339_round_trip(void **state)
{
	(void)state;
	cleanup_free char *s = time_rfc3339(1795416017);
	assert_string_equal(s, "2026-11-23T06:40:17Z");
	time_t t;
	assert_int_equal(time_parse_rfc3339(s, &t, NULL), 0);
	assert_int_equal(t, 1795416017);
	assert_int_equal(time_parse_rfc3339("2026-11-23T07:40:17.123456+01:00", &t, NULL), 0);
	assert_int_equal(t, 1795416017);
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(time_parse_rfc3339("2026-11-23 junk", &t, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), "invalid RFC 3339 time 2026-11-23 junk");
}

static void test_human_duration(void **state)
{
	(void)state;
	char b[32];
	const time_t now = 1000000000;
	struct {
		long long ago;
		const char *want;
	} cases[] = {
		{0, "0s"},        {119, "119s"},     {120, "2m"},         {185, "3m5s"},
		{600, "10m"},     {10799, "179m"},   {3 * 3600 + 60, "3h1m"}, {8 * 3600, "8h"},
		{47 * 3600, "47h"}, {50 * 3600, "2d2h"}, {8 * 86400, "8d"}, {729 * 86400, "729d"},
		{800 * 86400, "2y70d"}, {9 * 365 * 86400LL, "9y"}, {-5, "<invalid>"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(time_human_duration(now - cases[i].ago, now, b, sizeof(b)),
				    cases[i].want);
	assert_string_equal(time_human_duration(0, now, b, sizeof(b)), "<unknown>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_round_trip),
		cmocka_unit_test(test_human_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
