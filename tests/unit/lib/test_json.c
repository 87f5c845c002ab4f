/* lib/json: dotted paths, dumps, equality, JSON pointer, RFC 7386 merge patch
 * and RFC 6902 JSON patch (the examples of both RFCs' appendices). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "err.h"
#include "json.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return v;
}

/* Fails with both documents printed unless they are equal. */
static void assert_json_eq(const json_t *got, const char *want)
{
	cleanup_json json_t *w = J(want);
	if (!json_value_equal(got, w)) {
		cleanup_free char *g = json_dump_compact(got);
		fail_msg("got %s\nwant %s", g ? g : "(null)", want);
	}
}

static void test_path_get_set(void **state)
{
	(void)state;
	cleanup_json json_t *o = J("{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"a\"}},"
				   "\"spec\":{\"ports\":[{\"port\":80},{\"port\":443}]}}");
	assert_string_equal(json_path_str(o, "metadata.name"), "web");
	assert_string_equal(json_path_str(o, "metadata.labels.app"), "a");
	assert_null(json_path_str(o, "metadata.labels"));
	assert_null(json_path_get(o, "metadata.namespace"));
	assert_null(json_path_get(o, "metadata.name.x"));
	assert_null(json_path_get(NULL, "a"));
	assert_ptr_equal(json_path_get(o, ""), o);
	assert_int_equal(json_integer_value(json_path_get(o, "spec.ports.1.port")), 443);
	assert_null(json_path_get(o, "spec.ports.2.port"));

	assert_int_equal(json_path_set(o, "metadata.annotations.a/b", json_string("x")), 0);
	assert_string_equal(json_path_str(o, "metadata.annotations.a/b"), "x");
	assert_int_equal(json_path_set(o, "spec.template.spec.nodeName", json_string("n1")), 0);
	assert_string_equal(json_path_str(o, "spec.template.spec.nodeName"), "n1");
	assert_int_equal(json_path_set(o, "metadata.name", json_integer(3)), 0);
	assert_int_equal(json_integer_value(json_path_get(o, "metadata.name")), 3);
	/* a scalar on the way, an empty segment, a non-object root: refused, value freed */
	assert_int_equal(json_path_set(o, "metadata.name.x", json_string("y")), -1);
	assert_int_equal(json_path_set(o, "metadata..x", json_string("y")), -1);
	cleanup_json json_t *arr = json_array();
	assert_int_equal(json_path_set(arr, "a", json_string("y")), -1);
}

static void test_dump_and_equal(void **state)
{
	(void)state;
	cleanup_json json_t *o = J("{\"z\":1,\"a\":[true,null,\"s\"],\"m\":{}}");
	cleanup_free char *s = json_dump_compact(o);
	assert_string_equal(s, "{\"z\":1,\"a\":[true,null,\"s\"],\"m\":{}}");
	cleanup_json json_t *str = json_string("x\"y");
	cleanup_free char *s2 = json_dump_compact(str);
	assert_string_equal(s2, "\"x\\\"y\"");
	assert_null(json_dump_compact(NULL));

	cleanup_json json_t *a = J("{\"a\":1,\"b\":[1.0,\"x\"]}");
	cleanup_json json_t *b = J("{\"b\":[1,\"x\"],\"a\":1.0}");
	cleanup_json json_t *c = J("{\"b\":[1,\"x\"],\"a\":\"1\"}");
	assert_true(json_value_equal(a, b));
	assert_false(json_value_equal(a, c));
	cleanup_json json_t *d = json_copy_deep(a);
	assert_true(json_value_equal(a, d));
	assert_ptr_not_equal(json_object_get(a, "b"), json_object_get(d, "b"));
}

static void test_pointer(void **state)
{
	(void)state;
	/* RFC 6901 section 5 */
	cleanup_json json_t *doc = J("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,"
				     "\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,"
				     "\"m~n\":8}");
	static const struct {
		const char *ptr;
		const char *want;
	} cases[] = {
		{"/foo", "[\"bar\",\"baz\"]"},
		{"/foo/0", "\"bar\""},
		{"/", "0"},
		{"/a~1b", "1"},
		{"/c%d", "2"},
		{"/e^f", "3"},
		{"/g|h", "4"},
		{"/i\\j", "5"},
		{"/k\"l", "6"},
		{"/ ", "7"},
		{"/m~0n", "8"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_err struct mk_err *err = NULL;
		json_t *v = json_pointer_get(doc, cases[i].ptr, &err);
		assert_non_null(v);
		assert_json_eq(v, cases[i].want);
	}
	assert_ptr_equal(json_pointer_get(doc, "", NULL), doc);

	cleanup_err struct mk_err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
	assert_null(json_pointer_get(doc, "foo", &e1));
	assert_int_equal(mk_err_code(e1), MK_EINVAL);
	assert_string_equal(mk_err_msg(e1), "JSON pointer \"foo\" does not start with '/'");
	assert_null(json_pointer_get(doc, "/m~2n", &e2));
	assert_string_equal(mk_err_msg(e2), "JSON pointer \"/m~2n\": invalid escape '~2'");
	assert_null(json_pointer_get(doc, "/foo/01", &e3));
	assert_int_equal(mk_err_code(e3), MK_ENOTFOUND);
	assert_null(json_pointer_get(doc, "/foo/-", &e4));
	assert_int_equal(mk_err_code(e4), MK_ENOTFOUND);
}

static void test_merge_patch_rfc7386(void **state)
{
	(void)state;
	/* RFC 7386 appendix A, in order */
	static const char *const cases[][3] = {
		{"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
		{"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
		{"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
		{"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
		{"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		 "{\"a\":{\"b\":\"d\"}}"},
		{"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
		{"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
		{"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
		{"{\"a\":\"foo\"}", "null", "null"},
		{"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
		{"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
		{"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
		{"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_json json_t *target = J(cases[i][0]);
		cleanup_json json_t *patch = J(cases[i][1]);
		cleanup_free char *before = json_dump_compact(target);
		cleanup_json json_t *res = json_merge_patch(target, patch);
		assert_json_eq(res, cases[i][2]);
		/* the inputs are left alone */
		cleanup_free char *after = json_dump_compact(target);
		assert_string_equal(before, after);
	}
	/* the result shares nothing with the patch */
	cleanup_json json_t *patch = J("{\"l\":[1],\"m\":{\"x\":1}}");
	cleanup_json json_t *res = json_merge_patch(NULL, patch);
	json_array_append_new(json_object_get(res, "l"), json_integer(2));
	assert_int_equal(json_array_size(json_object_get(patch, "l")), 1);
}

static json_t *patch_ok(const char *doc, const char *ops)
{
	cleanup_json json_t *d = J(doc);
	cleanup_json json_t *o = J(ops);
	cleanup_err struct mk_err *err = NULL;
	json_t *res = json_patch_apply(d, o, &err);
	if (!res)
		fail_msg("patch %s failed: %s", ops, mk_err_msg(err));
	return res;
}

static void patch_fails(const char *doc, const char *ops, const char *msg)
{
	cleanup_json json_t *d = J(doc);
	cleanup_json json_t *o = J(ops);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *res = json_patch_apply(d, o, &err);
	assert_null(res);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
}

static void test_json_patch_rfc6902(void **state)
{
	(void)state;
	/* RFC 6902 appendix A: successes */
	static const char *const ok[][3] = {
		/* A.1 */ {"{\"foo\":\"bar\"}",
			   "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
			   "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
		/* A.2 */
		{"{\"foo\":[\"bar\",\"baz\"]}",
		 "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
		 "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
		/* A.3 */
		{"{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
		 "{\"foo\":\"bar\"}"},
		/* A.4 */
		{"{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
		 "{\"foo\":[\"bar\",\"baz\"]}"},
		/* A.5 */
		{"{\"baz\":\"qux\",\"foo\":\"bar\"}",
		 "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
		 "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
		/* A.6 */
		{"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
		 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
		 "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
		/* A.7 */
		{"{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
		 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
		 "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
		/* A.8 */
		{"{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
		 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
		 "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
		 "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
		/* A.10 */
		{"{\"foo\":\"bar\"}",
		 "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
		 "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"},
		/* A.11 */
		{"{\"foo\":\"bar\"}",
		 "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
		 "{\"foo\":\"bar\",\"baz\":\"qux\"}"},
		/* A.14 */
		{"{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
		 "{\"/\":9,\"~1\":10}"},
		/* A.16 */
		{"{\"foo\":[\"bar\"]}",
		 "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
		 "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"},
		/* beyond the appendix: copy, whole-document ops, test with 1 == 1.0 */
		{"{\"a\":{\"b\":[1]}}",
		 "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
		 "{\"op\":\"add\",\"path\":\"/c/b/0\",\"value\":0}]",
		 "{\"a\":{\"b\":[1]},\"c\":{\"b\":[0,1]}}"},
		{"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]"},
		{"{\"a\":1.0}",
		 "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1},"
		 "{\"op\":\"remove\",\"path\":\"\"}]",
		 "null"},
		{"{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
		 "{\"a\":{\"b\":1}}"},
		{"{\"metadata\":{\"labels\":{\"app\":\"x\"}}}",
		 "[{\"op\":\"add\",\"path\":\"/metadata/labels/a.b~1c\",\"value\":\"y\"}]",
		 "{\"metadata\":{\"labels\":{\"app\":\"x\",\"a.b/c\":\"y\"}}}"},
		{"[1,2,3]",
		 "[{\"op\":\"add\",\"path\":\"/3\",\"value\":4},"
		 "{\"op\":\"replace\",\"path\":\"/0\",\"value\":0}]",
		 "[0,2,3,4]"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cleanup_json json_t *res = patch_ok(ok[i][0], ok[i][1]);
		assert_json_eq(res, ok[i][2]);
	}

	/* A.9 */
	patch_fails("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
		    "json patch operation 0 (test /baz): test failed: value differs");
	/* A.12 */
	patch_fails("{\"foo\":\"bar\"}",
		    "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
		    "json patch operation 0 (add /baz/bat): doc is missing path: parent of "
		    "\"/baz/bat\" does not exist");
	/* A.15 */
	patch_fails("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
		    "json patch operation 0 (test /~01): test failed: value differs");
	/* malformed operations */
	patch_fails("{}", "[{\"path\":\"/a\"}]", "json patch operation 0 (? /a): missing \"op\"");
	patch_fails("{}", "[{\"op\":\"add\",\"value\":1}]",
		    "json patch operation 0 (add ?): missing \"path\"");
	patch_fails("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]",
		    "json patch operation 0 (add /a): missing \"value\"");
	patch_fails("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]",
		    "json patch operation 0 (frob /a): unknown operation");
	patch_fails("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]",
		    "json patch operation 0 (move /a): missing \"from\"");
	patch_fails("{}", "[1]", "json patch operation 0 is not an object");
	patch_fails("{}", "{}", "json patch must be an array of operations");
	patch_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]",
		    "json patch operation 0 (add): JSON pointer \"a\" does not start with '/'");
	patch_fails("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
		    "json patch operation 0 (remove /b): remove: doc is missing key \"b\"");
	patch_fails("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]",
		    "json patch operation 0 (replace /b): doc is missing key \"b\"");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]",
		    "json patch operation 0 (add /a/2): index 2 out of bounds (array of 1)");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]",
		    "json patch operation 0 (add /a/01): invalid array index \"01\"");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]",
		    "json patch operation 0 (remove /a/-): remove: index \"-\" out of bounds "
		    "(array of 1)");
	patch_fails("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
		    "json patch operation 0 (move /a/b/c): cannot move a value into one of its "
		    "children");
	patch_fails("{\"a\":1}",
		    "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
		    "{\"op\":\"test\",\"path\":\"/c\",\"value\":2}]",
		    "json patch operation 1 (test /c): test failed: doc is missing path");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_get_set),
		cmocka_unit_test(test_dump_and_equal),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_merge_patch_rfc7386),
		cmocka_unit_test(test_json_patch_rfc6902),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
