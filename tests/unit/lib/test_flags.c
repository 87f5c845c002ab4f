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

/* --version as upstream: true, raw and bare ask for it, false does not; the
 * usage lists it with its help aligned like every other flag's */
static void test_version(void **state)
{
	(void)state;
	int64_t v = 0;
	struct flag table[] = {{.name = "v", .type = FLAG_INT, .target = &v}, {0}};
	char *bare[] = {"x", "-v=2", "--version"};
	assert_int_equal(flags_parse(table, 3, bare, NULL), FLAGS_VERSION);
	char *raw[] = {"x", "--version=raw"};
	assert_int_equal(flags_parse(table, 2, raw, NULL), FLAGS_VERSION);
	char *off[] = {"x", "--version=false", "--v", "3"};
	assert_int_equal(flags_parse(table, 4, off, NULL), 0);
	assert_int_equal(v, 3);
	cleanup_err struct mk_err *err = NULL;
	char *bad[] = {"x", "--version=1.2"};
	assert_int_equal(flags_parse(table, 2, bad, &err), -1);
	assert_string_equal(mk_err_msg(err), "invalid argument \"1.2\" for \"--version\"");
	cleanup_free char *u = flags_usage("x", "summary", table);
	const char *h = strstr(u, "help for x"), *ver = strstr(u, "print version");
	const char *line;
	assert_non_null(h);
	assert_non_null(ver);
	/* same column: offset from the start of each line */
	for (line = h; line > u && line[-1] != '\n'; line--)
		;
	size_t col_help = (size_t)(h - line);
	for (line = ver; line > u && line[-1] != '\n'; line--)
		;
	assert_int_equal(col_help, (size_t)(ver - line));
	assert_int_equal(col_help, 48);
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
		cmocka_unit_test(test_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
