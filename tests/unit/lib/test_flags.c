/* Upstream-style flags: forms, durations, booleans, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "flags.h"

static void test_forms(void **state)
{
	(void)state;
	char *master = NULL, *kc = "default";
	int64_t v = 0, grace = 40000, port = 0;
	bool elect = true, all = false;
	struct flag table[] = {
		{.name = "master", .type = FLAG_STRING, .target = &master},
		{.name = "kubeconfig", .type = FLAG_STRING, .target = &kc},
		{.name = "v", .type = FLAG_INT, .target = &v},
		{.name = "node-monitor-grace-period", .type = FLAG_DURATION, .target = &grace},
		{.name = "leader-elect", .type = FLAG_BOOL, .target = &elect},
		{.name = "masquerade-all", .type = FLAG_BOOL, .target = &all},
		{.name = "port", .type = FLAG_INT, .target = &port},
		{0},
	};
	char *argv[] = {"x", "--master=http://127.0.0.1:8080", "-v=4", "--leader-elect=false",
			"--masquerade-all", "--node-monitor-grace-period", "1m30s", "--port", "99"};
	assert_int_equal(flags_parse(table, 9, argv, NULL), 0);
	assert_string_equal(master, "http://127.0.0.1:8080");
	assert_string_equal(kc, "default");
	assert_int_equal(v, 4);
	assert_false(elect);
	assert_true(all);
	assert_int_equal(grace, 90000);
	assert_int_equal(port, 99);
	assert_true(table[0].seen);
	assert_false(table[1].seen);
	free(master);

	char *help[] = {"x", "--help"};
	assert_int_equal(flags_parse(table, 2, help, NULL), 1);
	cleanup_free char *usage = flags_usage("kube-x", "Does x.", table);
	assert_non_null(strstr(usage, "--node-monitor-grace-period duration"));
}

static void test_errors(void **state)
{
	(void)state;
	int64_t port = 0;
	struct flag table[] = {{.name = "port", .type = FLAG_INT, .target = &port}, {0}};
	cleanup_err struct mk_err *e1 = NULL, *e2 = NULL, *e3 = NULL;
	char *a1[] = {"x", "--bogus=1"};
	assert_int_equal(flags_parse(table, 2, a1, &e1), -1);
	assert_string_equal(mk_err_msg(e1), "unknown flag: --bogus");
	char *a2[] = {"x", "--port=abc"};
	assert_int_equal(flags_parse(table, 2, a2, &e2), -1);
	assert_string_equal(mk_err_msg(e2), "invalid argument \"abc\" for \"--port\"");
	char *a3[] = {"x", "--port"};
	assert_int_equal(flags_parse(table, 2, a3, &e3), -1);
	assert_string_equal(mk_err_msg(e3), "flag needs an argument: --port");
}

static void test_durations(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(flags_parse_duration("300ms", &ms, NULL), 0);
	assert_int_equal(ms, 300);
	assert_int_equal(flags_parse_duration("1h30m", &ms, NULL), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(flags_parse_duration("1.5s", &ms, NULL), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(flags_parse_duration("0", &ms, NULL), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(flags_parse_duration("10", &ms, NULL), -1);
	assert_int_equal(flags_parse_duration("", &ms, NULL), -1);
	assert_int_equal(flags_parse_duration("5x", &ms, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
