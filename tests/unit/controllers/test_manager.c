/* The controller-manager's --controllers rules and LabelSelector matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "apiserver/controllers/controllers-internal.h"
#include "apiserver/controllers/manager.h"
#include "cleanup.h"

static void test_controllers_flag(void **state)
{
	(void)state;
	assert_true(manager_controller_enabled("*", "deployment", true));
	assert_true(manager_controller_enabled(NULL, "deployment", true));
	assert_false(manager_controller_enabled("*", "bootstrapsigner", false));
	assert_true(manager_controller_enabled("*,bootstrapsigner", "bootstrapsigner", false));
	assert_false(manager_controller_enabled("*,-deployment", "deployment", true));
	assert_true(manager_controller_enabled("*,-deployment", "replicaset", true));
	/* without "*", only what is named */
	assert_true(manager_controller_enabled("nodeipam", "nodeipam", true));
	assert_false(manager_controller_enabled("nodeipam", "deployment", true));
	/* the first entry naming it decides, as upstream */
	assert_true(manager_controller_enabled("deployment,-deployment", "deployment", true));
	assert_false(manager_controller_enabled("-deployment,*,deployment", "deployment", true));
}

static json_t *parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_selector(void **state)
{
	(void)state;
	cleanup_json json_t *labels = parse("{\"app\":\"web\",\"tier\":\"fe\"}");
	cleanup_json json_t *ml = parse("{\"matchLabels\":{\"app\":\"web\"}}");
	cleanup_json json_t *other = parse("{\"matchLabels\":{\"app\":\"db\"}}");
	cleanup_json json_t *empty = parse("{}");
	cleanup_json json_t *exprs = parse(
		"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
		"{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]},"
		"{\"key\":\"canary\",\"operator\":\"DoesNotExist\"},"
		"{\"key\":\"app\",\"operator\":\"Exists\"},"
		"{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"be\"]}]}");
	cleanup_json json_t *bad_op =
		parse("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Gt\"}]}");
	assert_true(ctrl_selector_matches(ml, labels));
	assert_false(ctrl_selector_matches(other, labels));
	assert_false(ctrl_selector_matches(ml, NULL));
	assert_true(ctrl_selector_matches(exprs, labels));
	assert_false(ctrl_selector_matches(bad_op, labels));
	/* nil selects nothing, {} everything (and counts as empty) */
	assert_false(ctrl_selector_matches(NULL, labels));
	assert_true(ctrl_selector_matches(empty, labels));
	assert_true(ctrl_selector_empty(empty));
	assert_false(ctrl_selector_empty(ml));
	cleanup_json json_t *canary = parse("{\"app\":\"web\",\"tier\":\"fe\",\"canary\":\"1\"}");
	assert_false(ctrl_selector_matches(exprs, canary));
}

static void test_keys_and_times(void **state)
{
	(void)state;
	cleanup_free char *a = ctrl_key("default", "web");
	cleanup_free char *b = ctrl_key(NULL, "node-1");
	assert_string_equal(a, "default/web");
	assert_string_equal(b, "node-1");
	assert_int_equal(ctrl_parse_time("1970-01-01T00:01:40Z"), 100);
	assert_int_equal(ctrl_parse_time("2026-11-23T10:00:00.123456Z"),
			 ctrl_parse_time("2026-11-23T10:00:00Z"));
	assert_int_equal(ctrl_parse_time("yesterday"), 0);
	assert_int_equal(ctrl_parse_time(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controllers_flag),
		cmocka_unit_test(test_selector),
		cmocka_unit_test(test_keys_and_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
