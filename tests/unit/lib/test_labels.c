/* labels: selector syntax, upstream's error texts, matching, LabelSelector objects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "labels.h"

static struct label_selector *parse_ok(const char *s)
{
	cleanup_err struct mk_err *err = NULL;
	struct label_selector *sel = labels_selector_parse(s, &err);
	if (!sel)
		fail_msg("%s: %s", s, mk_err_msg(err));
	return sel;
}

/* Parses s and checks its canonical form. */
static void canon(const char *s, const char *want)
{
	struct label_selector *sel = parse_ok(s);
	cleanup_free char *got = labels_selector_format(sel);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s' want '%s'", s, got, want);
	labels_selector_free(sel);
}

static void test_syntax(void **state)
{
	(void)state;
	canon("", "");
	canon("  ", "");
	canon("app=web", "app=web");
	canon("app==web", "app==web");
	canon("app!=web", "app!=web");
	canon(" tier in (b, a ,a) , app ", "app,tier in (a,b)");
	canon("x notin (foo,,baz),y,z notin ()", "x notin (,baz,foo),y,z notin ()");
	canon("!x", "!x");
	canon("a=,b", "a=,b");
	canon("k>5,k2<3", "k>5,k2<3");
	canon("example.com/role in (in,notin)", "example.com/role in (in,notin)");
	canon("app=web,\tapp.kubernetes.io/name=x", "app=web,app.kubernetes.io/name=x");
	struct label_selector *sel = labels_selector_parse(NULL, NULL);
	assert_true(labels_selector_empty(sel));
	labels_selector_free(sel);
	sel = parse_ok("a");
	assert_false(labels_selector_empty(sel));
	labels_selector_free(sel);
}

static void bad(const char *s, const char *msg)
{
	cleanup_err struct mk_err *err = NULL;
	struct label_selector *sel = labels_selector_parse(s, &err);
	if (sel) {
		labels_selector_free(sel);
		fail_msg("%s: parsed", s);
	}
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	if (strcmp(mk_err_msg(err), msg) != 0)
		fail_msg("%s:\n got  %s\n want %s", s, mk_err_msg(err), msg);
}

static void test_errors(void **state)
{
	(void)state;
	bad("a b", "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'");
	bad("a=b c", "found 'c', expected: ',' or 'end of string'");
	bad("a,", "found '', expected: identifier after ','");
	bad(",a", "found ',', expected: !, identifier, or 'end of string'");
	bad("=a", "found '=', expected: !, identifier, or 'end of string'");
	bad("!a=b", "found '=', expected: ',' or 'end of string'");
	bad("a in b", "unable to parse requirement: found 'b' expected: '('");
	bad("a in (b", "unable to parse requirement: found '', expected: ',' or ')'");
	bad("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier");
	bad("a = =", "unable to parse requirement: found '=', expected: identifier");
	bad("a (", "unable to parse requirement: found '(', expected: '=', '!=', '==', 'in', notin'");
	bad("k>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' "
		   "operators, the value must be an integer");
	bad("a/b/c=x",
	    "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must "
	    "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
	    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
	    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
	    "subdomain prefix and '/' (e.g. 'example.com/MyName')");
	bad("app=a_", "unable to parse requirement: values[0][app]: Invalid value: \"a_\": a valid "
		      "label must be an empty string or consist of alphanumeric characters, '-', "
		      "'_' or '.', and must start and end with an alphanumeric character (e.g. "
		      "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
		      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
}

static void test_match(void **state)
{
	(void)state;
	cleanup_json json_t *labels = json_pack("{s:s, s:s, s:s}", "app", "web", "tier", "fe", "n", "7");
	static const struct {
		const char *sel;
		bool want;
	} cases[] = {
		{"", true},
		{"app=web", true},
		{"app==web", true},
		{"app=db", false},
		{"app!=db", true},
		{"missing!=x", true},
		{"app!=web", false},
		{"app in (db,web)", true},
		{"app notin (db,web)", false},
		{"missing notin (a)", true},
		{"missing in (a)", false},
		{"app", true},
		{"missing", false},
		{"!missing", true},
		{"!app", false},
		{"app=web,tier=fe", true},
		{"app=web,tier=be", false},
		{"n>5", true},
		{"n<5", false},
		{"app>5", false},
		{"missing=", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct label_selector *sel = parse_ok(cases[i].sel);
		if (labels_selector_matches(sel, labels) != cases[i].want)
			fail_msg("'%s' should %smatch", cases[i].sel, cases[i].want ? "" : "not ");
		labels_selector_free(sel);
	}
	/* No labels at all */
	struct label_selector *sel = parse_ok("!a");
	assert_true(labels_selector_matches(sel, NULL));
	labels_selector_free(sel);
	sel = parse_ok("a");
	assert_false(labels_selector_matches(sel, NULL));
	labels_selector_free(sel);
	sel = parse_ok("");
	assert_true(labels_selector_matches(sel, NULL));
	labels_selector_free(sel);
}

static void test_from_json(void **state)
{
	(void)state;
	cleanup_json json_t *js = json_loads(
		"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
		"{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]},"
		"{\"key\":\"gone\",\"operator\":\"DoesNotExist\"},"
		"{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]},"
		"{\"key\":\"app\",\"operator\":\"Exists\"}]}",
		0, NULL);
	assert_non_null(js);
	cleanup_err struct mk_err *err = NULL;
	struct label_selector *sel = labels_selector_from_json(js, &err);
	assert_non_null(sel);
	cleanup_free char *s = labels_selector_format(sel);
	assert_string_equal(s, "app=web,app,env notin (prod),!gone,tier in (be,fe)");
	cleanup_json json_t *l1 = json_pack("{s:s, s:s}", "app", "web", "tier", "fe");
	cleanup_json json_t *l2 = json_pack("{s:s, s:s, s:s}", "app", "web", "tier", "fe", "gone", "");
	cleanup_json json_t *l3 = json_pack("{s:s, s:s}", "app", "web", "tier", "x");
	assert_true(labels_selector_matches(sel, l1));
	assert_false(labels_selector_matches(sel, l2));
	assert_false(labels_selector_matches(sel, l3));
	labels_selector_free(sel);

	cleanup_free char *s2 = labels_selector_string(js);
	assert_string_equal(s2, "app=web,app,env notin (prod),!gone,tier in (be,fe)");

	/* {} selects everything, a missing selector nothing */
	cleanup_json json_t *empty = json_object();
	sel = labels_selector_from_json(empty, NULL);
	assert_true(labels_selector_empty(sel));
	assert_true(labels_selector_matches(sel, l1));
	labels_selector_free(sel);
	sel = labels_selector_from_json(NULL, NULL);
	assert_false(labels_selector_empty(sel));
	assert_false(labels_selector_matches(sel, l1));
	labels_selector_free(sel);

	cleanup_json json_t *badop = json_loads(
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}", 0, NULL);
	cleanup_err struct mk_err *e2 = NULL;
	assert_null(labels_selector_from_json(badop, &e2));
	assert_string_equal(mk_err_msg(e2), "\"Foo\" is not a valid label selector operator");
	cleanup_json json_t *novals = json_loads(
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}", 0, NULL);
	cleanup_err struct mk_err *e3 = NULL;
	assert_null(labels_selector_from_json(novals, &e3));
	assert_string_equal(mk_err_msg(e3), "values: Invalid value: []string{}: for 'in', 'notin' "
					    "operators, values set can't be empty");
	cleanup_json json_t *badkey = json_loads("{\"matchLabels\":{\"a b\":\"x\"}}", 0, NULL);
	cleanup_err struct mk_err *e4 = NULL;
	assert_null(labels_selector_from_json(badkey, &e4));
	assert_non_null(strstr(mk_err_msg(e4), "key: Invalid value: \"a b\": name part must"));
}

static void test_string(void **state)
{
	(void)state;
	cleanup_json json_t *ml = json_pack("{s:s, s:s, s:s}", "tier", "x", "app", "web", "b", "");
	cleanup_free char *s = labels_selector_string(ml);
	assert_string_equal(s, "app=web,b=,tier=x");
	cleanup_json json_t *empty = json_object();
	cleanup_free char *e = labels_selector_string(empty);
	assert_string_equal(e, "");
	cleanup_free char *n = labels_selector_string(NULL);
	assert_string_equal(n, "");
	cleanup_json json_t *wrapped = json_pack("{s:{s:s}}", "matchLabels", "app", "web");
	cleanup_free char *w = labels_selector_string(wrapped);
	assert_string_equal(w, "app=web");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
