/* CronJob schedules: upstream's 5-field syntax and its errors, next
 * activation times in UTC and in zones with daylight saving time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cron.h"
#include "timefmt.h"

static time_t at(const char *rfc3339)
{
	time_t t;
	assert_int_equal(time_parse_rfc3339(rfc3339, &t, NULL), 0);
	return t;
}

/* The next activation of spec after `after` in zone tz (NULL: UTC), as RFC 3339 UTC. */
static char *next_of(const char *spec, const char *tz, const char *after)
{
	cleanup_err struct mk_err *err = NULL;
	struct cron_schedule *s = cron_schedule_parse(spec, &err);
	if (!s)
		fail_msg("parsing %s: %s", spec, mk_err_msg(err));
	struct cron_zone *z = NULL;
	if (tz) {
		z = cron_zone_load(tz, &err);
		if (!z)
			fail_msg("loading %s: %s", tz, mk_err_msg(err));
	}
	time_t n = cron_schedule_next(s, z, at(after));
	cron_schedule_free(s);
	cron_zone_free(z);
	return n ? time_rfc3339(n) : strdup("none");
}

#define ASSERT_NEXT(spec, tz, after, want)                                                         \
	do {                                                                                       \
		char *got_ = next_of(spec, tz, after);                                             \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_next_utc(void **state)
{
	(void)state;
	ASSERT_NEXT("* * * * *", NULL, "2026-12-07T10:00:00Z", "2026-12-07T10:01:00Z");
	ASSERT_NEXT("* * * * *", NULL, "2026-12-07T10:00:59Z", "2026-12-07T10:01:00Z");
	ASSERT_NEXT("*/15 * * * *", NULL, "2026-12-07T10:16:00Z", "2026-12-07T10:30:00Z");
	ASSERT_NEXT("5-10/2 * * * *", NULL, "2026-12-07T10:07:00Z", "2026-12-07T10:09:00Z");
	ASSERT_NEXT("5/20 * * * *", NULL, "2026-12-07T10:46:00Z", "2026-12-07T11:05:00Z");
	ASSERT_NEXT("0 9 * * mon-fri", NULL, "2026-12-11T09:00:00Z", "2026-12-14T09:00:00Z");
	ASSERT_NEXT("0 0 1 JAN,jul *", NULL, "2026-12-07T00:00:00Z", "2027-01-01T00:00:00Z");
	ASSERT_NEXT("30 2 29 2 *", NULL, "2026-03-01T00:00:00Z", "2028-02-29T02:30:00Z");
	/* day of month and day of week both restricted: either matches */
	ASSERT_NEXT("0 0 13 * 5", NULL, "2026-12-07T00:00:00Z", "2026-12-11T00:00:00Z");
	/* one of them "*": both must match */
	ASSERT_NEXT("0 0 * * 5", NULL, "2026-12-07T00:00:00Z", "2026-12-11T00:00:00Z");
	ASSERT_NEXT("0 0 13 * *", NULL, "2026-12-07T00:00:00Z", "2026-12-13T00:00:00Z");
	ASSERT_NEXT("@hourly", NULL, "2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z");
	ASSERT_NEXT("@daily", NULL, "2026-12-07T10:00:00Z", "2026-12-08T00:00:00Z");
	ASSERT_NEXT("@midnight", NULL, "2026-12-07T10:00:00Z", "2026-12-08T00:00:00Z");
	ASSERT_NEXT("@weekly", NULL, "2026-12-07T10:00:00Z", "2026-12-13T00:00:00Z");
	ASSERT_NEXT("@monthly", NULL, "2026-12-07T10:00:00Z", "2027-01-01T00:00:00Z");
	ASSERT_NEXT("@yearly", NULL, "2026-12-07T10:00:00Z", "2027-01-01T00:00:00Z");
	ASSERT_NEXT("@annually", NULL, "2026-12-07T10:00:00Z", "2027-01-01T00:00:00Z");
	ASSERT_NEXT("@every 1h30m", NULL, "2026-12-07T10:00:00Z", "2026-12-07T11:30:00Z");
	/* "?" is "*"; a schedule that never fires has no next time */
	ASSERT_NEXT("0 12 ? * *", NULL, "2026-12-07T12:00:00Z", "2026-12-08T12:00:00Z");
	ASSERT_NEXT("0 0 30 2 *", NULL, "2026-12-07T00:00:00Z", "none");
}

static void test_next_in_zones(void **state)
{
	(void)state;
	/* Berlin is UTC+1 in winter, +2 in summer */
	ASSERT_NEXT("0 9 * * *", "Europe/Berlin", "2026-12-07T00:00:00Z", "2026-12-07T08:00:00Z");
	ASSERT_NEXT("0 9 * * *", "Europe/Berlin", "2026-07-07T00:00:00Z", "2026-07-07T07:00:00Z");
	/* 2026-03-29 02:00 local does not exist in Berlin: 02:30 is skipped that day */
	ASSERT_NEXT("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z");
	/* 2026-10-25 02:30 local happens twice: the first one fires */
	ASSERT_NEXT("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
	ASSERT_NEXT("0 0 * * *", "America/New_York", "2026-12-07T06:00:00Z", "2026-12-08T05:00:00Z");
	ASSERT_NEXT("0 0 * * *", "Asia/Kolkata", "2026-12-07T00:00:00Z", "2026-12-07T18:30:00Z");
	ASSERT_NEXT("* * * * *", "UTC", "2026-12-07T10:00:00Z", "2026-12-07T10:01:00Z");
}

static void assert_parse_error(const char *spec, const char *want)
{
	cleanup_err struct mk_err *err = NULL;
	struct cron_schedule *s = cron_schedule_parse(spec, &err);
	if (s)
		fail_msg("%s parsed", spec);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), want);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_parse_error("", "empty spec string");
	assert_parse_error("* * * *", "expected exactly 5 fields, found 4: [* * * *]");
	assert_parse_error("foo", "expected exactly 5 fields, found 1: [foo]");
	assert_parse_error("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]");
	assert_parse_error("60 * * * *", "end of range (60) above maximum (59): 60");
	assert_parse_error("* 24 * * *", "end of range (24) above maximum (23): 24");
	assert_parse_error("* * 0 * *", "beginning of range (0) below minimum (1): 0");
	assert_parse_error("* * * 13 *", "end of range (13) above maximum (12): 13");
	assert_parse_error("* * * * 7", "end of range (7) above maximum (6): 7");
	assert_parse_error("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1");
	assert_parse_error("*/0 * * * *", "step of range should be a positive number: */0");
	assert_parse_error("1-2-3 * * * *", "too many hyphens: 1-2-3");
	assert_parse_error("*/2/3 * * * *", "too many slashes: */2/3");
	assert_parse_error("x * * * *",
			   "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
	assert_parse_error("* * * foo *", "failed to parse int from foo: strconv.Atoi: parsing "
					  "\"foo\": invalid syntax");
	assert_parse_error("@often", "unrecognized descriptor: @often");
	assert_parse_error("@every x",
			   "failed to parse duration @every x: time: invalid duration \"x\"");
}

static void test_zones(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	assert_null(cron_zone_load("Mars/Olympus", &err));
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_string_equal(mk_err_msg(err), "unknown time zone Mars/Olympus");
	mk_err_free(err);
	err = NULL;
	assert_null(cron_zone_load("../../etc/passwd", &err));
	assert_string_equal(mk_err_msg(err), "unknown time zone ../../etc/passwd");
	mk_err_free(err);
	err = NULL;
	assert_null(cron_zone_load("Local", &err));
	struct cron_zone *z = cron_zone_load("Europe/Berlin", NULL);
	assert_non_null(z);
	assert_int_equal(cron_zone_offset(z, at("2026-01-01T00:00:00Z")), 3600);
	assert_int_equal(cron_zone_offset(z, at("2026-07-01T00:00:00Z")), 7200);
	cron_zone_free(z);
	/* the local zone always loads (UTC without /etc/localtime) */
	z = cron_zone_load(NULL, NULL);
	assert_non_null(z);
	cron_zone_free(z);
	assert_int_equal(cron_zone_offset(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_utc),
		cmocka_unit_test(test_next_in_zones),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_zones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
