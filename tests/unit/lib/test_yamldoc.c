/* lib/yamldoc: YAML manifests to JSON and back, against golden files in
 * tests/fixtures/yaml (UPDATE_GOLDEN=1 rewrites the .json and .emit.yaml
 * files from the current output; review the diff). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "err.h"
#include "json.h"
#include "xalloc.h"
#include "yamldoc.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return v;
}

static void assert_json_eq(const json_t *got, const json_t *want)
{
	if (!json_value_equal(got, want)) {
		cleanup_free char *g = json_dump_compact(got);
		cleanup_free char *w = json_dump_compact(want);
		fail_msg("got  %s\nwant %s", g ? g : "(null)", w);
	}
}

static char *fixture_path(const char *name)
{
	const char *root = getenv("MK_ROOT");
	return xasprintf("%s/tests/fixtures/yaml/%s", root ? root : ".", name);
}

static char *read_fixture(const char *name, size_t *len)
{
	cleanup_free char *path = fixture_path(name);
	cleanup_fclose FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	*len = b.len;
	return buf_steal(&b);
}

static void write_fixture(const char *name, const char *text)
{
	cleanup_free char *path = fixture_path(name);
	cleanup_fclose FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
}

static bool updating(void)
{
	const char *u = getenv("UPDATE_GOLDEN");
	return u && *u && strcmp(u, "0");
}

/* Compares text with a golden file (or rewrites it). */
static void check_golden_text(const char *name, const char *text)
{
	if (updating()) {
		write_fixture(name, text);
		return;
	}
	size_t len;
	cleanup_free char *want = read_fixture(name, &len);
	assert_string_equal(text, want);
}

static void check_golden_json(const char *name, const json_t *v)
{
	if (updating()) {
		cleanup_free char *s = json_dumps(v, JSON_INDENT(2));
		cleanup_free char *nl = xasprintf("%s\n", s);
		write_fixture(name, nl);
		return;
	}
	size_t len;
	cleanup_free char *text = read_fixture(name, &len);
	cleanup_json json_t *want = J(text);
	assert_json_eq(v, want);
}

/* manifest -> JSON (golden) -> YAML (golden) -> the same JSON again */
static void round_trip(const char *base, bool all)
{
	cleanup_free char *src_name = xasprintf("%s.yaml", base);
	cleanup_free char *json_name = xasprintf("%s.json", base);
	cleanup_free char *emit_name = xasprintf("%s.emit.yaml", base);
	size_t len;
	cleanup_free char *src = read_fixture(src_name, &len);
	cleanup_err struct mk_err *err = NULL;

	cleanup_json json_t *v =
		all ? yamldoc_parse_all(src, len, &err) : yamldoc_parse(src, len, &err);
	if (!v)
		fail_msg("%s: %s", src_name, mk_err_msg(err));
	check_golden_json(json_name, v);

	cleanup_free char *out = all ? yamldoc_emit_all(v) : yamldoc_emit(v);
	assert_non_null(out);
	check_golden_text(emit_name, out);

	cleanup_json json_t *again = all ? yamldoc_parse_all(out, strlen(out), &err)
					 : yamldoc_parse(out, strlen(out), &err);
	if (!again)
		fail_msg("re-reading emitted %s: %s", base, mk_err_msg(err));
	assert_json_eq(again, v);
}

static void test_deployment_round_trip(void **state)
{
	(void)state;
	round_trip("deployment", false);
}

static void test_stream_round_trip(void **state)
{
	(void)state;
	round_trip("stream", true);
	/* yamldoc_parse of a stream takes the first non-empty document */
	size_t len;
	cleanup_free char *src = read_fixture("stream.yaml", &len);
	cleanup_json json_t *first = yamldoc_parse(src, len, NULL);
	assert_string_equal(json_path_str(first, "kind"), "Namespace");
	/* no input at all */
	cleanup_json json_t *none = yamldoc_parse("", 0, NULL);
	assert_true(json_is_null(none));
	cleanup_json json_t *empty = yamldoc_parse_all("# nothing\n---\n", 14, NULL);
	assert_non_null(empty);
	assert_int_equal(json_array_size(empty), 0);
	cleanup_free char *empty_out = yamldoc_emit_all(empty);
	assert_string_equal(empty_out, "");
}

static void test_scalar_types(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"3", "3"},
		{"-17", "-17"},
		{"+1", "1"},
		{"0", "0"},
		{"1_000", "1000"},
		{"0x1F", "31"},
		{"0o17", "15"},
		{"017", "15"},
		{"0b101", "5"},
		{"0.5", "0.5"},
		{"-1.5e3", "-1500"},
		{"1e3", "1000"},
		{".5", "0.5"},
		{"1.0", "1"},
		{"9223372036854775807", "9223372036854775807"},
		{"true", "true"},
		{"True", "true"},
		{"yes", "true"},
		{"on", "true"},
		{"y", "true"},
		{"false", "false"},
		{"NO", "false"},
		{"off", "false"},
		{"null", "null"},
		{"~", "null"},
		{"", "null"},
		{"\"3\"", "\"3\""},
		{"'true'", "\"true\""},
		{"\"\"", "\"\""},
		{"!!str 80", "\"80\""},
		{"!!int \"80\"", "80"},
		{"! 80", "\"80\""},
		{"1.10", "1.1"},
		{"1.2.3", "\"1.2.3\""},
		{"0x", "\"0x\""},
		{"1e400", "\"1e400\""},
		{".inf", "\".inf\""},
		{"128Mi", "\"128Mi\""},
		{"100m", "\"100m\""},
		{"25%", "\"25%\""},
		{"2024-01-02", "\"2024-01-02\""},
		{"-x", "\"-x\""},
		{"\"\\0\"", "\"\\u0000\""},
		{"a b", "\"a b\""},
		{"\"\\u00e9\\t\"", "\"\\u00e9\\t\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *doc = xasprintf("v: %s\n", cases[i][0]);
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *v = yamldoc_parse(doc, strlen(doc), &err);
		if (!v)
			fail_msg("%s: %s", doc, mk_err_msg(err));
		cleanup_json json_t *want = J(cases[i][1]);
		if (!json_value_equal(json_object_get(v, "v"), want) ||
		    json_is_real(json_object_get(v, "v")) != json_is_real(want)) {
			cleanup_free char *g = json_dump_compact(v);
			fail_msg("%s -> %s, want %s", cases[i][0], g, cases[i][1]);
		}
	}
	/* keys are strings, typed then printed as Kubernetes' reader does */
	const char *ky = "80: a\non: b\n0x1F: c\n'null': d\n1.0: e\n\"y\": f\n";
	cleanup_json json_t *keys = yamldoc_parse(ky, strlen(ky), NULL);
	cleanup_json json_t *want =
		J("{\"80\":\"a\",\"true\":\"b\",\"31\":\"c\",\"null\":\"d\",\"1\":\"e\","
		  "\"y\":\"f\"}");
	assert_json_eq(keys, want);
}

static void test_emit_quoting(void **state)
{
	(void)state;
	cleanup_json json_t *v =
		J("{\"port\":\"80\",\"yes\":\"y\",\"t\":\"true\",\"n\":\"null\","
		  "\"empty\":\"\",\"f\":\"0.5\",\"hex\":\"0x10\",\"ts\":"
		  "\"2024-01-02T03:04:05Z\",\"sexa\":\"1:30\",\"inf\":\".inf\","
		  "\"plain\":\"nginx:1.25\",\"colon\":\"a: b\",\"hash\":\"#x\","
		  "\"lead\":\" x\",\"multi\":\"a\\nb\\n\",\"int\":80,\"real\":0.1,"
		  "\"bool\":false,\"nil\":null,\"list\":[],\"map\":{},"
		  "\"nested\":[{\"a\":[1,{\"b\":\"c\"}]}],\"uni\":\"caf\\u00e9\"}");
	cleanup_free char *y = yamldoc_emit(v);
	assert_string_equal(y, "port: \"80\"\n"
			       "\"yes\": \"y\"\n"
			       "t: \"true\"\n"
			       "\"n\": \"null\"\n"
			       "empty: \"\"\n"
			       "f: \"0.5\"\n"
			       "hex: \"0x10\"\n"
			       "ts: \"2024-01-02T03:04:05Z\"\n"
			       "sexa: \"1:30\"\n"
			       "inf: \".inf\"\n"
			       "plain: nginx:1.25\n"
			       "colon: 'a: b'\n"
			       "hash: '#x'\n"
			       "lead: ' x'\n"
			       "multi: |\n"
			       "  a\n"
			       "  b\n"
			       "int: 80\n"
			       "real: 0.1\n"
			       "bool: false\n"
			       "nil: null\n"
			       "list: []\n"
			       "map: {}\n"
			       "nested:\n"
			       "- a:\n"
			       "  - 1\n"
			       "  - b: c\n"
			       "uni: café\n");
	cleanup_json json_t *back = yamldoc_parse(y, strlen(y), NULL);
	assert_json_eq(back, v);

	/* scalars at the top level */
	cleanup_json json_t *s = json_string("80");
	cleanup_free char *ys = yamldoc_emit(s);
	assert_string_equal(ys, "\"80\"\n");
	assert_null(yamldoc_emit(NULL));
	assert_null(yamldoc_emit_all(s));
}

static void parse_fails(const char *text, const char *msg)
{
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *v = yamldoc_parse_all(text, strlen(text), &err);
	assert_null(v);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("a: b\n  c: d\n",
		    "yaml: line 2, column 4: mapping values are not allowed in this context");
	parse_fails("a: 1\nb:\n  - x\n  y: 2\n",
		    "yaml: line 4, column 3: while parsing a block collection at line 3: did not "
		    "find expected '-' indicator");
	parse_fails("spec:\n  replicas: 1\n  replicas: 2\n",
		    "yaml: line 3, column 3: mapping key \"replicas\" already defined at line 2");
	parse_fails("kind: Pod\n---\n\tx: 1\n",
		    "yaml: line 3, column 1: while scanning for the next token at line 3: found "
		    "character that cannot start any token");
	parse_fails("? [a]\n: 1\n", "yaml: line 1, column 3: mapping keys must be strings");
	parse_fails("a:\n  ~: 1\n", "yaml: line 2, column 3: unsupported map key: ~ is null");
	parse_fails("on: 1\n\"true\": 2\n",
		    "yaml: line 2, column 1: mapping key \"true\" already defined at line 1");
	parse_fails("a: *nope\n", "yaml: line 1, column 4: unknown anchor \"nope\" referenced");
	parse_fails("a: !!int x\n", "yaml: line 1, column 4: cannot decode x as !!int");
	/* invalid UTF-8 in the input itself */
	parse_fails("a: \xff\n", "yaml: byte 3: invalid leading UTF-8 octet");
	/* nesting and alias expansion are bounded */
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 300; i++)
		buf_append_char(&deep, '[');
	cleanup_err struct mk_err *err = NULL;
	assert_null(yamldoc_parse(deep.data, deep.len, &err));
	assert_string_equal(mk_err_msg(err), "yaml: line 1, column 258: nesting deeper than 256 "
					     "levels");
	buf_free(&deep);
	const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
	cleanup_err struct mk_err *err2 = NULL;
	assert_null(yamldoc_parse(laughs, strlen(laughs), &err2));
	assert_string_equal(mk_err_msg(err2), "yaml: document contains excessive aliasing");
}

/* Aliases may make most of a small document, as in Kubernetes' YAML
 * library; a document almost all aliases, or aliases copying megabytes, is
 * refused. */
static void test_alias_budget(void **state)
{
	(void)state;
	/* 150 aliases of a 5-value list: most values come from aliases, but
	 * fewer than 1000 values in all */
	struct buf ok = BUF_INIT;
	buf_append_str(&ok, "a: &a [1, 2, 3, 4]\nb: [");
	for (int i = 0; i < 150; i++)
		buf_append_str(&ok, i ? ", *a" : "*a");
	buf_append_str(&ok, "]\n");
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *v = yamldoc_parse(ok.data, ok.len, &err);
	if (!v)
		fail_msg("%s", mk_err_msg(err));
	assert_int_equal(json_array_size(json_object_get(v, "b")), 150);
	buf_free(&ok);

	/* aliases of aliases: nine levels of nine make almost every value an
	 * alias copy */
	struct buf deep = BUF_INIT;
	buf_append_str(&deep, "l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
	for (int l = 1; l <= 3; l++) {
		buf_printf(&deep, "l%d: &l%d [", l, l);
		for (int i = 0; i < 9; i++)
			buf_printf(&deep, "%s*l%d", i ? ", " : "", l - 1);
		buf_append_str(&deep, "]\n");
	}
	cleanup_err struct mk_err *err2 = NULL;
	assert_null(yamldoc_parse(deep.data, deep.len, &err2));
	assert_string_equal(mk_err_msg(err2), "yaml: document contains excessive aliasing");
	/* with enough values of its own, the same aliases are fine */
	struct buf padded = BUF_INIT;
	buf_append_str(&padded, "pad: [");
	for (int i = 0; i < 2000; i++)
		buf_append_str(&padded, i ? ", x" : "x");
	buf_append_str(&padded, "]\n");
	buf_append(&padded, deep.data, deep.len);
	cleanup_err struct mk_err *err3 = NULL;
	cleanup_json json_t *v3 = yamldoc_parse(padded.data, padded.len, &err3);
	if (!v3)
		fail_msg("%s", mk_err_msg(err3));
	buf_free(&deep);
	buf_free(&padded);

	/* a 1 MiB string copied by 5 aliases is fine; by 10, its copies would
	 * hold more than the 8 MiB aliases may make */
	for (int n = 5; n <= 10; n += 5) {
		struct buf big = BUF_INIT;
		buf_append_str(&big, "s: &s ");
		for (int i = 0; i < 1024 * 1024; i++)
			buf_append_char(&big, 'x');
		buf_append_str(&big, "\nl: [");
		for (int i = 0; i < n; i++)
			buf_append_str(&big, i ? ", *s" : "*s");
		buf_append_str(&big, "]\n");
		cleanup_err struct mk_err *e = NULL;
		cleanup_json json_t *b = yamldoc_parse(big.data, big.len, &e);
		if (n == 5) {
			if (!b)
				fail_msg("%s", mk_err_msg(e));
			assert_int_equal(json_array_size(json_object_get(b, "l")), 5);
		} else {
			assert_null(b);
			assert_string_equal(mk_err_msg(e), "yaml: document contains excessive aliasing");
		}
		buf_free(&big);
	}
}

static void test_anchors_and_merge(void **state)
{
	(void)state;
	const char *y = "base: &base {image: nginx, imagePullPolicy: Always}\n"
			"a:\n  <<: *base\n  name: a\n  image: nginx:2\n"
			"b: [*base, *base]\n"
			"c:\n  <<: [{x: 1}, {x: 2, w: 2}]\n";
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *v = yamldoc_parse(y, strlen(y), &err);
	if (!v)
		fail_msg("%s", mk_err_msg(err));
	cleanup_json json_t *want =
		J("{\"base\":{\"image\":\"nginx\",\"imagePullPolicy\":\"Always\"},"
		  "\"a\":{\"name\":\"a\",\"image\":\"nginx:2\",\"imagePullPolicy\":\"Always\"},"
		  "\"b\":[{\"image\":\"nginx\",\"imagePullPolicy\":\"Always\"},"
		  "{\"image\":\"nginx\",\"imagePullPolicy\":\"Always\"}],"
		  "\"c\":{\"x\":1,\"w\":2}}");
	assert_json_eq(v, want);
	/* aliases are copies: changing one leaves the others alone */
	json_object_set_new(json_path_get(v, "b.0"), "image", json_string("other"));
	assert_string_equal(json_path_str(v, "b.1.image"), "nginx");
	assert_string_equal(json_path_str(v, "base.image"), "nginx");
}

/* Runs kubectl with a private HOME and cache; returns its output (new) and
 * sets *rc to its wait status. Asserts nothing, so callers clean up first. */
static char *run_kubectl(const char *dir, const char *args, int *rc)
{
	cleanup_free char *cmd = xasprintf("HOME=%s KUBECACHEDIR=%s/cache KUBECONFIG= "
					   "/usr/bin/kubectl %s 2>&1",
					   dir, dir, args);
	struct buf b = BUF_INIT;
	FILE *p = popen(cmd, "r");
	*rc = -1;
	if (!p)
		return buf_steal(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_append(&b, chunk, n);
	*rc = pclose(p);
	return buf_steal(&b);
}

/* The real kubectl reads what yamldoc_emit writes (a kubeconfig full of
 * strings that look like other types: unquoted, kubectl refuses them), and
 * yamldoc_parse reads what kubectl writes. */
static void test_kubectl_reads_emitted_yaml(void **state)
{
	(void)state;
	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();

	/* lists sorted by name, as kubectl prints them */
	cleanup_json json_t *kc = J(
		"{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"current-context\":\"yes\","
		"\"preferences\":{},"
		"\"clusters\":[{\"name\":\"2024-01-02\",\"cluster\":{\"server\":\"http://"
		"[::1]:1\"}},"
		"{\"name\":\"80\",\"cluster\":{\"server\":\"http://127.0.0.1:8080\","
		"\"insecure-skip-tls-verify\":true}}],"
		"\"users\":[{\"name\":\"null\",\"user\":{\"token\":\"0x1F\"}},"
		"{\"name\":\"on\",\"user\":{\"username\":\"1:30\",\"password\":"
		"\"a: b\\nline2 # not a comment\\n\"}}],"
		"\"contexts\":[{\"name\":\"yes\",\"context\":{\"cluster\":\"80\",\"user\":\"null\","
		"\"namespace\":\"1e3\"}},{\"name\":\"~\",\"context\":{\"cluster\":\"2024-01-02\","
		"\"user\":\"on\",\"namespace\":\"true\"}}]}");
	cleanup_free char *yaml = yamldoc_emit(kc);
	assert_non_null(yaml);

	char dir[] = "/tmp/mk-yamldoc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_free char *path = xasprintf("%s/config", dir);
	FILE *f = fopen(path, "w");
	bool written = f && fputs(yaml, f) >= 0;
	if (f && fclose(f) != 0)
		written = false;
	int rc_json = -1, rc_yaml = -1;
	cleanup_free char *args_json = xasprintf("config view --kubeconfig=%s --raw -o json", path);
	cleanup_free char *args_yaml = xasprintf("config view --kubeconfig=%s --raw -o yaml", path);
	cleanup_free char *out_json = written ? run_kubectl(dir, args_json, &rc_json) : NULL;
	cleanup_free char *out_yaml = written ? run_kubectl(dir, args_yaml, &rc_yaml) : NULL;
	cleanup_free char *rm = xasprintf("rm -rf %s", dir);
	int rc_rm = system(rm);

	assert_true(written);
	assert_int_equal(rc_rm, 0);
	if (rc_json != 0 || rc_yaml != 0)
		fail_msg("kubectl failed on\n%s\n%s%s", yaml, out_json, out_yaml);
	cleanup_json json_t *seen = J(out_json);
	assert_json_eq(seen, kc);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *parsed = yamldoc_parse(out_yaml, strlen(out_yaml), &err);
	if (!parsed)
		fail_msg("%s", mk_err_msg(err));
	assert_json_eq(parsed, kc);
	/* and we print it as kubectl does, keys sorted as kubectl sorts them */
	cleanup_free char *sorted_text = json_dumps(seen, JSON_SORT_KEYS);
	cleanup_json json_t *sorted = J(sorted_text);
	cleanup_free char *ours = yamldoc_emit(sorted);
	assert_string_equal(ours, out_yaml);
}

/* Scalar typing agrees with kubectl, which reads YAML with upstream's
 * library: scalars.yaml parses to scalars.json (golden), and kubectl patch
 * --local with an empty patch prints the same object. */
static void test_kubectl_types_scalars_alike(void **state)
{
	(void)state;
	size_t len;
	cleanup_free char *src = read_fixture("scalars.yaml", &len);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *v = yamldoc_parse(src, len, &err);
	if (!v)
		fail_msg("%s", mk_err_msg(err));
	check_golden_json("scalars.json", v);

	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();
	char dir[] = "/tmp/mk-yamldoc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_free char *path = fixture_path("scalars.yaml");
	cleanup_free char *args = xasprintf("patch --local -f %s --type merge -p {} -o json", path);
	int rc;
	cleanup_free char *out = run_kubectl(dir, args, &rc);
	cleanup_free char *rm = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(rm), 0);
	if (rc != 0)
		fail_msg("kubectl: %s", out);
	/* kubectl prints integers beyond int64 in full: read them as numbers */
	json_error_t je;
	cleanup_json json_t *seen = json_loads(out, JSON_DECODE_INT_AS_REAL, &je);
	if (!seen)
		fail_msg("kubectl printed %s: %s", out, je.text);
	assert_json_eq(v, seen);
}

/* Documents of nested aliases: kubectl (Kubernetes' YAML library) and
 * yamldoc refuse the same ones as excessive aliasing. */
static void test_kubectl_alias_budget_alike(void **state)
{
	(void)state;
	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();
	char dir[] = "/tmp/mk-yamldoc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct {
		int levels, width, pad;
	} cases[] = {{1, 9, 0}, {2, 9, 0}, {3, 9, 0}, {4, 9, 0}, {3, 9, 8000},
		     {1, 200, 0}, {2, 30, 0}, {2, 60, 0}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct buf d = BUF_INIT;
		buf_append_str(&d, "apiVersion: v1\nkind: List\nitems: []\npad: [");
		for (int i = 0; i < cases[c].pad; i++)
			buf_append_str(&d, i ? ", x" : "x");
		buf_append_str(&d, "]\nl0: &l0 [x, x, x, x, x, x, x, x, x]\n");
		for (int l = 1; l <= cases[c].levels; l++) {
			buf_printf(&d, "l%d: &l%d [", l, l);
			for (int i = 0; i < cases[c].width; i++)
				buf_printf(&d, "%s*l%d", i ? ", " : "", l - 1);
			buf_append_str(&d, "]\n");
		}
		cleanup_free char *path = xasprintf("%s/doc%zu.yaml", dir, c);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(d.data, 1, d.len, f), d.len);
		assert_int_equal(fclose(f), 0);
		cleanup_free char *args =
			xasprintf("create --dry-run=client --validate=false -o json -f %s", path);
		int rc;
		cleanup_free char *out = run_kubectl(dir, args, &rc);
		bool theirs = strstr(out, "yaml: document contains excessive aliasing") != NULL;
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *v = yamldoc_parse(d.data, d.len, &err);
		bool ours = !v && !strcmp(mk_err_msg(err), "yaml: document contains excessive aliasing");
		buf_free(&d);
		if (ours != theirs) {
			cleanup_free char *rm = xasprintf("rm -rf %s", dir);
			assert_int_equal(system(rm), 0);
			fail_msg("case %zu (%d levels of %d, %d padding): kubectl %s, yamldoc %s: %s",
				 c, cases[c].levels, cases[c].width, cases[c].pad,
				 theirs ? "refuses" : "accepts", ours ? "refuses" : "accepts",
				 theirs ? "" : out);
		}
	}
	cleanup_free char *rm = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(rm), 0);
}

/* yamldoc_emit writes what kubectl -o yaml writes, byte for byte, once keys
 * are in kubectl's (sorted) order. */
static void test_emit_matches_kubectl_yaml(void **state)
{
	(void)state;
	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();
	char dir[] = "/tmp/mk-yamldoc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_free char *path = fixture_path("deployment.yaml");
	cleanup_free char *args_json =
		xasprintf("patch --local -f %s --type merge -p {} -o json", path);
	cleanup_free char *args_yaml =
		xasprintf("patch --local -f %s --type merge -p {} -o yaml", path);
	int rc_json, rc_yaml;
	cleanup_free char *out_json = run_kubectl(dir, args_json, &rc_json);
	cleanup_free char *out_yaml = run_kubectl(dir, args_yaml, &rc_yaml);
	cleanup_free char *rm = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(rm), 0);
	if (rc_json != 0 || rc_yaml != 0)
		fail_msg("kubectl: %s%s", out_json, out_yaml);

	cleanup_json json_t *obj = J(out_json);
	cleanup_free char *sorted_text = json_dumps(obj, JSON_SORT_KEYS);
	cleanup_json json_t *sorted = J(sorted_text);
	cleanup_free char *ours = yamldoc_emit(sorted);
	assert_string_equal(ours, out_yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deployment_round_trip),
		cmocka_unit_test(test_stream_round_trip),
		cmocka_unit_test(test_scalar_types),
		cmocka_unit_test(test_emit_quoting),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_anchors_and_merge),
		cmocka_unit_test(test_alias_budget),
		cmocka_unit_test(test_kubectl_alias_budget_alike),
		cmocka_unit_test(test_kubectl_reads_emitted_yaml),
		cmocka_unit_test(test_kubectl_types_scalars_alike),
		cmocka_unit_test(test_emit_matches_kubectl_yaml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
