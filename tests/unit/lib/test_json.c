/* lib/json: dotted paths, dumps, equality, JSON pointer, RFC 7386 merge patch
 * and RFC 6902 JSON patch (the examples of both RFCs' appendices). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "buf.h"
#include "json.h"
#include "xalloc.h"

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

static void test_sorted_keys(void **state)
{
	(void)state;
	cleanup_json json_t *o = J("{\"b\":1,\"a\":2,\"B\":3,\"ab\":4,\"\":5}");
	size_t n;
	const char **keys = json_object_sorted_keys(o, &n);
	assert_int_equal(n, 5);
	static const char *const want[] = {"", "B", "a", "ab", "b"};
	for (size_t i = 0; i < n; i++)
		assert_string_equal(keys[i], want[i]);
	free(keys);
	cleanup_json json_t *empty = json_object();
	keys = json_object_sorted_keys(empty, &n);
	assert_int_equal(n, 0);
	free(keys);
}

static void test_find_named(void **state)
{
	(void)state;
	cleanup_json json_t *a = J("[{\"name\":\"a\",\"v\":1},{\"v\":2},{\"name\":\"b\",\"v\":3}]");
	assert_int_equal(json_integer_value(json_object_get(json_array_find_named(a, "b"), "v")),
			 3);
	assert_null(json_array_find_named(a, "c"));
	assert_null(json_array_find_named(a, NULL));
	cleanup_json json_t *o = json_object();
	assert_null(json_array_find_named(o, "a"));
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
	/* as upstream: nulls go from objects inside a stored array, not from a
	 * value that replaces a live object */
	cleanup_json json_t *t1 = J("{\"x\":{\"y\":1},\"o\":{\"p\":1}}");
	cleanup_json json_t *p1 = J("{\"x\":{\"z\":[{\"k\":null,\"j\":[null,{\"n\":null}]}]},"
				    "\"o\":[{\"q\":null}],\"w\":{\"a\":null}}");
	cleanup_json json_t *r1 = json_merge_patch(t1, p1);
	assert_json_eq(r1, "{\"x\":{\"y\":1,\"z\":[{\"j\":[null,{}]}]},\"o\":[{\"q\":null}],"
			   "\"w\":{}}");
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

	/* A.9, A.12, A.15; errors read as upstream's JSON patch library words
	 * them (checked with kubectl patch --local --type json) */
	patch_fails("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
		    "testing value /baz failed: test failed");
	patch_fails(
		"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
		"add operation does not apply: doc is missing path: \"/baz/bat\": missing value");
	patch_fails("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
		    "testing value /~01 failed: test failed");
	patch_fails("{\"a\":1}",
		    "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
		    "{\"op\":\"test\",\"path\":\"/c\",\"value\":2}]",
		    "testing value /c failed: test failed");
	patch_fails("{}", "[{\"path\":\"/a\"}]", "Unexpected kind: unknown");
	patch_fails("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", "Unexpected kind: frob");
	patch_fails("{}", "[{\"op\":\"add\",\"value\":1}]",
		    "add operation failed to decode path: missing value");
	patch_fails("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]",
		    "move operation failed to decode from: operation, missing from field: missing "
		    "value");
	patch_fails("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]",
		    "add operation does not apply: doc is missing path: \"a\": missing value");
	patch_fails("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
		    "error in remove for path: '/b': Unable to remove nonexistent key: b: missing "
		    "value");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/9\"}]",
		    "error in remove for path: '/a/9': Unable to access invalid index: 9: invalid "
		    "index referenced");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]",
		    "error in remove for path: '/a/-': Unable to access invalid index: -: invalid "
		    "index referenced");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]",
		    "error in add for path: '/a/2': Unable to access invalid index: 2: invalid "
		    "index referenced");
	patch_fails("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/x/y\",\"value\":2}]",
		    "replace operation does not apply: doc is missing path: /x/y: missing value");
	patch_fails("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x/y\",\"path\":\"/b\"}]",
		    "move operation does not apply: doc is missing from path: /x/y: missing value");
	patch_fails(
		"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/x/y\"}]",
		"remove operation does not apply: doc is missing path: \"/x/y\": missing value");
	/* what upstream's library lets through but RFC 6902 forbids */
	patch_fails("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]",
		    "replace operation does not apply: doc is missing key: /b: missing value");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":2}]",
		    "replace operation does not apply: doc is missing key: /a/1: missing value");
	patch_fails("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]",
		    "json patch operation 0 (add /a): missing \"value\"");
	patch_fails("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]",
		    "json patch operation 0 (add /a/01): invalid array index \"01\"");
	patch_fails("{}", "[{\"op\":\"add\",\"path\":\"/m~2\",\"value\":2}]",
		    "json patch operation 0 (add): JSON pointer \"/m~2\": invalid escape '~2'");
	patch_fails("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/b\"}]",
		    "copy operation does not apply: doc is missing from path: /x: missing value");
	patch_fails("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
		    "move operation does not apply: /a/b/c is a child of /a: a value cannot move "
		    "into itself");
	patch_fails("{}", "[1]", "json patch operation 0 is not an object");
	patch_fails("{}", "{}", "json patch must be an array of operations");
}

static char *read_file_str(const char *path)
{
	struct buf b = BUF_INIT;
	FILE *f = fopen(path, "r");
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(&b, chunk, n);
		fclose(f);
	}
	return buf_steal(&b);
}

/* Runs kubectl patch --local --type <type> on each case {doc fields, patch},
 * the doc made a ConfigMap so kubectl accepts it; appends the docs to docs
 * and returns [[rc, stdout, stderr], ...] (new). */
static json_t *kubectl_patch_all(const char *type, const char *const (*cases)[2], size_t n,
				 json_t *docs)
{
	char dir[] = "/tmp/mk-jsonpatch-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_free char *doc_path = xasprintf("%s/doc.json", dir);
	cleanup_free char *ops_path = xasprintf("%s/ops.json", dir);
	cleanup_free char *err_path = xasprintf("%s/stderr", dir);
	cleanup_free char *cmd = xasprintf(
		"HOME=%s KUBECACHEDIR=%s/cache KUBECONFIG= /usr/bin/kubectl patch --local -f %s "
		"--type %s --patch-file %s -o json 2>%s",
		dir, dir, doc_path, type, ops_path, err_path);
	json_t *outputs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *doc = J(cases[i][0]);
		json_object_set_new(doc, "apiVersion", json_string("v1"));
		json_object_set_new(doc, "kind", json_string("ConfigMap"));
		json_object_set_new(doc, "metadata", json_pack("{s:s}", "name", "c"));
		json_array_append_new(docs, doc);
		cleanup_json json_t *ops = J(cases[i][1]);
		if (json_dump_file(doc, doc_path, 0) || json_dump_file(ops, ops_path, 0))
			break;
		struct buf out = BUF_INIT;
		FILE *p = popen(cmd, "r");
		int rc = -1;
		if (p) {
			char chunk[4096];
			size_t k;
			while ((k = fread(chunk, 1, sizeof(chunk), p)) > 0)
				buf_append(&out, chunk, k);
			rc = pclose(p);
		}
		cleanup_free char *errs = read_file_str(err_path);
		json_array_append_new(outputs, json_pack("[i,s,s]", rc, buf_str(&out), errs));
		buf_free(&out);
	}
	cleanup_free char *rm = xasprintf("rm -rf %s", dir);
	int rc_rm = system(rm);
	if (rc_rm != 0 || json_array_size(outputs) != n) {
		json_decref(outputs);
		fail_msg("running kubectl in %s failed", dir);
	}
	return outputs;
}

/* Upstream's JSON patch (run by kubectl patch --local --type json) gives the
 * same documents and the same error texts for what both refuse. */
static void test_kubectl_json_patch_agrees(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]"},
		{"{\"foo\":[\"bar\",\"baz\"]}",
		 "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]"},
		{"{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
		 "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]"},
		{"{\"baz\":\"qux\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]"},
		{"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
		 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]"},
		{"{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
		 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]"},
		{"{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
		 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
		 "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]"},
		{"{\"foo\":\"bar\"}",
		 "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"g\":{}}}]"},
		{"{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]"},
		{"{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"a\"]}]"},
		{"{\"a\":{\"b\":[1]}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]"},
		{"{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]"},
		{"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]"},
		{"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
			      "{\"op\":\"test\",\"path\":\"/c\",\"value\":2}]"},
		{"{}", "[{\"path\":\"/a\"}]"},
		{"{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]"},
		{"{}", "[{\"op\":\"add\",\"value\":1}]"},
		{"{}", "[{\"op\":\"move\",\"path\":\"/a\"}]"},
		{"{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]"},
		{"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]"},
		{"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/9\"}]"},
		{"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]"},
		{"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/x/y\",\"value\":2}]"},
		{"{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x/y\",\"path\":\"/b\"}]"},
		{"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/x/y\"}]"},
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();
	cleanup_json json_t *docs = json_array();
	cleanup_json json_t *outputs = kubectl_patch_all("json", cases, n, docs);

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(outputs, i);
		int rc = (int)json_integer_value(json_array_get(o, 0));
		cleanup_json json_t *ops = J(cases[i][1]);
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *ours = json_patch_apply(json_array_get(docs, i), ops, &err);
		if (ours) {
			if (rc != 0)
				fail_msg("%s: kubectl refused: %s", cases[i][1],
					 json_string_value(json_array_get(o, 2)));
			assert_json_eq(ours, json_string_value(json_array_get(o, 1)));
		} else {
			cleanup_free char *want = xasprintf("error: %s\n", mk_err_msg(err));
			if (rc == 0)
				fail_msg("%s: kubectl accepted it, we say %s", cases[i][1], want);
			assert_string_equal(json_string_value(json_array_get(o, 2)), want);
		}
	}
}

/* Upstream's merge patch (kubectl patch --local --type merge) agrees on the
 * RFC 7386 examples whose target and patch are objects. */
static void test_kubectl_merge_patch_agrees(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"{\"a\":\"b\"}", "{\"a\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"b\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"a\":null}"},
		{"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}"},
		{"{\"a\":[\"b\"]}", "{\"a\":\"c\"}"},
		{"{\"a\":\"c\"}", "{\"a\":[\"b\"]}"},
		{"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}"},
		{"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}"},
		{"{\"e\":null}", "{\"a\":1}"},
		{"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}"},
		{"{\"x\":{\"y\":1},\"o\":{\"p\":1}}",
		 "{\"x\":{\"z\":[{\"k\":null,\"j\":[null,{\"n\":null}]}]},\"o\":[{\"q\":null}],"
		 "\"w\":{\"a\":null},\"metadata\":{\"labels\":{\"a\":\"b\"}}}"},
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();
	cleanup_json json_t *docs = json_array();
	cleanup_json json_t *outputs = kubectl_patch_all("merge", cases, n, docs);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(outputs, i);
		if (json_integer_value(json_array_get(o, 0)) != 0)
			fail_msg("%s: kubectl refused: %s", cases[i][1],
				 json_string_value(json_array_get(o, 2)));
		cleanup_json json_t *patch = J(cases[i][1]);
		cleanup_json json_t *ours = json_merge_patch(json_array_get(docs, i), patch);
		assert_json_eq(ours, json_string_value(json_array_get(o, 1)));
	}
}

/* Sizes as Go's encoding/json writes the value, which upstream's JSON patch
 * library counts copies in. */
static void test_encoded_size(void **state)
{
	(void)state;
	/* Where jansson and Go write the same text, the sizes agree. */
	static const char *const same[] = {
		"{}",
		"[]",
		"\"\"",
		"0",
		"-17",
		"9223372036854775807",
		"-9223372036854775808",
		"true",
		"false",
		"null",
		"[1,[2,[3]],{\"a\":{\"b\":[]}}]",
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"a\":\"x "
		"y\",\"b\":\"\\\"q\\\"\"}}",
		"\"tab\\tnl\\ncr\\r\"",
		"\"caf\u00e9 \u65e5\u672c\"",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		cleanup_json json_t *v = J(same[i]);
		cleanup_free char *text = json_dump_compact(v);
		if (json_encoded_size(v) != strlen(text))
			fail_msg("%s: %zu, jansson writes %zu bytes", same[i], json_encoded_size(v),
				 strlen(text));
	}
	/* Go escapes what jansson writes as is, and writes reals shortest. */
	static const struct {
		const char *json;
		size_t size;
	} go[] = {
		{"\"a<b\"", 10},	     /* "a\u003cb" */
		{"\"&>\"", 14},		     /* "\u0026\u003e" */
		{"\"\\u0001\"", 8},	     /* "\u0001" */
		{"\"\\b\\f\"", 6},	     /* "\b\f" */
		{"\"\\u2028x\\u2029\"", 15}, /* "\u2028x\u2029" */
		{"{\"<\":1}", 12},	     /* {"\u003c":1} */
		{"0.1", 3},		     /* jansson: 0.10000000000000001 */
		{"-2.5", 4},
		{"100.0", 3},	/* 100 */
		{"1e-06", 8},	/* 0.000001 */
		{"1.5e-07", 6}, /* 1.5e-7 */
		{"1e21", 5},	/* 1e+21 */
		{"1.2345678901234568e20", 21},
	};
	for (size_t i = 0; i < sizeof(go) / sizeof(go[0]); i++) {
		cleanup_json json_t *v = J(go[i].json);
		if (json_encoded_size(v) != go[i].size)
			fail_msg("%s: %zu, want %zu", go[i].json, json_encoded_size(v), go[i].size);
	}
}

/* [{"op":"copy","from":"/data","path":"/data/c0"}, ... n of them] */
static json_t *copy_ops(size_t n)
{
	json_t *ops = json_array();
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/data/c%zu", i);
		json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "copy", "from", "/data",
						     "path", path));
	}
	return ops;
}

static void test_patch_copy_limit(void **state)
{
	(void)state;
	/* 24 copies of an object into itself: 2^24 times its size, unless the
	 * copies stop at 3 MiB in all. The expected sum is measured on the
	 * document itself, one copy at a time. */
	cleanup_json json_t *doc = J("{\"data\":{\"a\":\"x\"}}");
	cleanup_json json_t *ops = copy_ops(24);
	cleanup_json json_t *step = json_copy_deep(doc);
	size_t acc = 0;
	for (size_t i = 0; i < 24; i++) {
		cleanup_free char *data = json_dump_compact(json_object_get(step, "data"));
		acc += strlen(data);
		if (acc > JSON_PATCH_MAX_COPY_BYTES)
			break;
		cleanup_json json_t *one = json_pack("[O]", json_array_get(ops, i));
		cleanup_err struct mk_err *e = NULL;
		json_t *next = json_patch_apply(step, one, &e);
		assert_non_null(next);
		json_decref(step);
		step = next;
	}
	assert_true(acc > JSON_PATCH_MAX_COPY_BYTES && acc < 2 * JSON_PATCH_MAX_COPY_BYTES);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *res = json_patch_apply(doc, ops, &err);
	assert_null(res);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	cleanup_free char *want = xasprintf("Unable to complete the copy, the accumulated size "
					    "increase of copy is %zu, exceeding the limit 3145728",
					    acc);
	assert_string_equal(mk_err_msg(err), want);

	/* The limit itself is allowed: a value of 3145728 encoded bytes (its
	 * quotes included) copies, one byte more does not. */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t len = JSON_PATCH_MAX_COPY_BYTES - 2 + extra;
		char *big = xmalloc(len + 1);
		memset(big, 'y', len);
		big[len] = '\0';
		cleanup_json json_t *d = json_pack("{s:s}", "a", big);
		free(big);
		cleanup_json json_t *o = J("[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]");
		cleanup_err struct mk_err *e = NULL;
		cleanup_json json_t *r = json_patch_apply(d, o, &e);
		if (!extra) {
			assert_non_null(r);
			assert_int_equal(json_string_length(json_object_get(r, "b")), len);
		} else {
			assert_null(r);
			assert_string_equal(mk_err_msg(e), "Unable to complete the copy, the "
							   "accumulated size increase of copy is "
							   "3145729, exceeding the limit 3145728");
		}
	}
	/* moves, adds and removes cost nothing against the limit */
	cleanup_json json_t *many = json_array();
	for (int i = 0; i < 100; i++) {
		json_array_append_new(many, J("{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}"));
		json_array_append_new(many, J("{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/c\"}"));
		json_array_append_new(many, J("{\"op\":\"remove\",\"path\":\"/c\"}"));
	}
	cleanup_json json_t *small = J("{\"a\":\"0123456789\"}");
	cleanup_err struct mk_err *e2 = NULL;
	cleanup_json json_t *r2 = json_patch_apply(small, many, &e2);
	assert_non_null(r2);
	assert_json_eq(r2, "{\"a\":\"0123456789\"}");
}

static void test_patch_max_ops(void **state)
{
	(void)state;
	cleanup_json json_t *doc = J("{\"a\":1}");
	cleanup_json json_t *ops = json_array();
	for (int i = 0; i < JSON_PATCH_MAX_OPS; i++)
		json_array_append_new(ops, J("{\"op\":\"test\",\"path\":\"/a\",\"value\":1}"));
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *ok = json_patch_apply(doc, ops, &err);
	assert_non_null(ok);
	json_array_append_new(ops, J("{\"op\":\"test\",\"path\":\"/a\",\"value\":1}"));
	cleanup_json json_t *res = json_patch_apply(doc, ops, &err);
	assert_null(res);
	assert_int_equal(mk_err_code(err), MK_ETOOLARGE);
	assert_string_equal(mk_err_msg(err),
			    "The allowed maximum operations in a JSON patch is 10000, got 10001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_get_set),
		cmocka_unit_test(test_sorted_keys),
		cmocka_unit_test(test_find_named),
		cmocka_unit_test(test_dump_and_equal),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_merge_patch_rfc7386),
		cmocka_unit_test(test_json_patch_rfc6902),
		cmocka_unit_test(test_kubectl_json_patch_agrees),
		cmocka_unit_test(test_kubectl_merge_patch_agrees),
		cmocka_unit_test(test_encoded_size),
		cmocka_unit_test(test_patch_copy_limit),
		cmocka_unit_test(test_patch_max_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
