/* protobuf: bodies recorded from the real kubectl decode to the JSON the same
 * command sends with -o json; hand-built messages cover the special types;
 * truncated and corrupted bodies fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "protobuf.h"
#include "xalloc.h"

#define FIXTURES "tests/fixtures/protobuf"

static char *fixture_dir(void)
{
	const char *root = getenv("MK_ROOT");
	return root ? xasprintf("%s/%s", root, FIXTURES) : xstrdup(FIXTURES);
}

static void *read_file(const char *path, size_t *len)
{
	cleanup_fclose FILE *f = fopen(path, "rb");
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

struct fixture {
	char *name;
	uint8_t *body;
	size_t len;
	json_t *want;
};

static struct fixture fixtures[64];
static size_t nfixtures;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->name, ((const struct fixture *)b)->name);
}

static int load_fixtures(void **state)
{
	(void)state;
	cleanup_free char *dir = fixture_dir();
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) && nfixtures < 64) {
		size_t l = strlen(de->d_name);
		if (l < 4 || strcmp(de->d_name + l - 3, ".pb") != 0)
			continue;
		struct fixture *fx = &fixtures[nfixtures++];
		fx->name = xstrndup(de->d_name, l - 3);
		cleanup_free char *pb = xasprintf("%s/%s", dir, de->d_name);
		cleanup_free char *js = xasprintf("%s/%s.json", dir, fx->name);
		fx->body = read_file(pb, &fx->len);
		json_error_t jerr;
		fx->want = json_load_file(js, 0, &jerr);
		if (!fx->want) {
			fprintf(stderr, "%s: %s\n", js, jerr.text);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	qsort(fixtures, nfixtures, sizeof(fixtures[0]), cmp_names);
	return 0;
}

static int free_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < nfixtures; i++) {
		free(fixtures[i].name);
		free(fixtures[i].body);
		json_decref(fixtures[i].want);
	}
	return 0;
}

static void test_fixtures_decode(void **state)
{
	(void)state;
	/* create deployment (2), service (4), configmap, secret (2), namespace,
	 * serviceaccount, job (2), cronjob (2), quota, role, clusterrole,
	 * rolebinding, clusterrolebinding, priorityclass, pdb, ingress, token;
	 * autoscale; debug (2 pods) */
	assert_true(nfixtures >= 27);
	for (size_t i = 0; i < nfixtures; i++) {
		struct fixture *fx = &fixtures[i];
		assert_true(k8s_protobuf_is(fx->body, fx->len));
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *got = k8s_protobuf_decode(fx->body, fx->len, &err);
		if (!got)
			fail_msg("%s: %s", fx->name, mk_err_msg(err));
		if (!json_equal(got, fx->want)) {
			cleanup_free char *g = json_dumps(got, JSON_COMPACT);
			cleanup_free char *w = json_dumps(fx->want, JSON_COMPACT);
			fail_msg("%s:\n got  %s\n want %s", fx->name, g, w);
		}
	}
}

/* The 205-byte body of `kubectl create deployment web --image=nginx`, key
 * order included: apiVersion and kind first, then the order of the JSON form. */
static void test_deployment_exact(void **state)
{
	(void)state;
	struct fixture *fx = NULL;
	for (size_t i = 0; i < nfixtures; i++)
		if (strcmp(fixtures[i].name, "deployment") == 0)
			fx = &fixtures[i];
	assert_non_null(fx);
	assert_int_equal(fx->len, 205);
	cleanup_json json_t *got = k8s_protobuf_decode(fx->body, fx->len, NULL);
	assert_non_null(got);
	cleanup_free char *s = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(
		s, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
		   "\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":1,\"selector\":{"
		   "\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{"
		   "\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":"
		   "\"nginx\"}]}}}}");
}

/* Every strict prefix fails with MK_EINVAL, except the two that end on a
 * field boundary after the object: the recorded bodies end with the empty
 * contentEncoding and contentType fields (1a 00 22 00). */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < nfixtures; i++) {
		struct fixture *fx = &fixtures[i];
		assert_memory_equal(fx->body + fx->len - 4, "\x1a\x00\x22\x00", 4);
		for (size_t n = 0; n < fx->len; n++) {
			cleanup_err struct mk_err *err = NULL;
			uint8_t *copy = xmalloc(n ? n : 1);
			memcpy(copy, fx->body, n);
			json_t *got = k8s_protobuf_decode(copy, n, &err);
			free(copy);
			if (n != fx->len - 4 && n != fx->len - 2) {
				if (got)
					fail_msg("%s: prefix %zu decoded", fx->name, n);
				assert_int_equal(mk_err_code(err), MK_EINVAL);
			} else {
				assert_non_null(got);
				assert_true(json_equal(got, fx->want));
			}
			json_decref(got);
		}
	}
}

/* Corrupting any byte never crashes (the sanitizer build checks memory) and
 * either fails with an input error or yields an object with apiVersion. */
static void test_corrupted(void **state)
{
	(void)state;
	size_t failed = 0, decoded = 0;
	for (size_t i = 0; i < nfixtures; i++) {
		struct fixture *fx = &fixtures[i];
		uint8_t *copy = xmalloc(fx->len);
		for (size_t pos = 0; pos < fx->len; pos++) {
			const uint8_t orig = fx->body[pos];
			const uint8_t muts[] = {0x00, 0xff, 0x80, (uint8_t)(orig ^ 0x80),
						(uint8_t)(orig + 1), (uint8_t)(orig - 1), 0x7f};
			for (size_t m = 0; m < sizeof(muts); m++) {
				memcpy(copy, fx->body, fx->len);
				copy[pos] = muts[m];
				cleanup_err struct mk_err *err = NULL;
				json_t *got = k8s_protobuf_decode(copy, fx->len, &err);
				if (got) {
					assert_true(json_is_object(got));
					assert_non_null(json_object_get(got, "apiVersion"));
					decoded++;
				} else {
					int c = mk_err_code(err);
					assert_true(c == MK_EINVAL || c == MK_EUNSUPPORTED);
					failed++;
				}
				json_decref(got);
			}
		}
		free(copy);
	}
	/* both outcomes occur: the test exercises the error paths and the
	 * tolerant ones (unknown fields, changed values) */
	assert_true(failed > 100);
	assert_true(decoded > 100);
}

/* A small protobuf writer for hand-built messages. */
static void put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_append_char(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_append_char(b, (char)v);
}

static void put_key(struct buf *b, uint32_t num, int wt)
{
	put_varint(b, (uint64_t)num << 3 | (uint64_t)wt);
}

static void put_int(struct buf *b, uint32_t num, uint64_t v)
{
	put_key(b, num, 0);
	put_varint(b, v);
}

static void put_len(struct buf *b, uint32_t num, const void *p, size_t n)
{
	put_key(b, num, 2);
	put_varint(b, n);
	buf_append(b, p, n);
}

static void put_str(struct buf *b, uint32_t num, const char *s)
{
	put_len(b, num, s, strlen(s));
}

/* Appends sub as field num and empties it. */
static void put_msg(struct buf *b, uint32_t num, struct buf *sub)
{
	put_len(b, num, sub->data ? sub->data : "", sub->len);
	buf_free(sub);
}

static json_t *decode_raw(const char *api_version, const char *kind, struct buf *raw,
			  struct mk_err **err)
{
	cleanup_buf struct buf body = BUF_INIT;
	cleanup_buf struct buf tm = BUF_INIT;
	buf_append(&body, "k8s\0", 4);
	put_str(&tm, 1, api_version);
	put_str(&tm, 2, kind);
	put_msg(&body, 1, &tm);
	put_msg(&body, 2, raw);
	return k8s_protobuf_decode(body.data, body.len, err);
}

static void test_special_types(void **state)
{
	(void)state;
	cleanup_buf struct buf meta = BUF_INIT;
	cleanup_buf struct buf tmp = BUF_INIT;
	cleanup_buf struct buf raw = BUF_INIT;
	put_str(&meta, 1, "x");
	put_int(&meta, 7, 0); /* generation 0: dropped */
	put_int(&tmp, 1, 1700000000);
	put_msg(&meta, 8, &tmp); /* creationTimestamp */
	put_int(&meta, 10, 0);   /* deletionGracePeriodSeconds is a pointer: kept */
	put_str(&tmp, 1, "k");   /* map entry without a value */
	put_msg(&meta, 11, &tmp);
	put_str(&tmp, 2, "v"); /* map entry without a key */
	put_msg(&meta, 12, &tmp);
	/* unknown fields of every wire type are skipped */
	put_int(&meta, 99, 5);
	put_key(&meta, 98, 1);
	buf_append(&meta, "12345678", 8);
	put_key(&meta, 97, 5);
	buf_append(&meta, "1234", 4);
	put_str(&meta, 96, "ignored");
	put_msg(&raw, 1, &meta);

	/* spec: ports with IntOrString targetPort as int and string, negative int */
	cleanup_buf struct buf spec = BUF_INIT;
	cleanup_buf struct buf port = BUF_INIT;
	put_int(&port, 3, 80);
	put_int(&tmp, 1, 0);
	put_int(&tmp, 2, 8080);
	put_msg(&port, 4, &tmp);
	put_msg(&spec, 1, &port);
	put_int(&port, 3, 443);
	put_int(&tmp, 1, 1);
	put_str(&tmp, 3, "https");
	put_msg(&port, 4, &tmp);
	put_int(&port, 5, (uint64_t)-1); /* nodePort -1 as a 10-byte varint */
	put_msg(&spec, 1, &port);
	put_str(&spec, 5, "1.2.3.4"); /* externalIPs: repeated strings, "" kept */
	put_str(&spec, 5, "");
	put_msg(&raw, 2, &spec);

	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *got = decode_raw("v1", "Service", &raw, &err);
	if (!got)
		fail_msg("%s", mk_err_msg(err));
	cleanup_free char *s = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(
		s, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"x\","
		   "\"creationTimestamp\":\"2023-11-14T22:13:20Z\",\"deletionGracePeriodSeconds\":0,"
		   "\"labels\":{\"k\":\"\"},\"annotations\":{\"\":\"v\"}},\"spec\":{\"ports\":[{"
		   "\"port\":80,\"targetPort\":8080},{\"port\":443,\"targetPort\":\"https\","
		   "\"nodePort\":-1}],\"externalIPs\":[\"1.2.3.4\",\"\"]}}");
}

static void test_bytes_and_raw(void **state)
{
	(void)state;
	/* Secret data of every length modulo 3 becomes padded base64 */
	cleanup_buf struct buf raw = BUF_INIT;
	cleanup_buf struct buf tmp = BUF_INIT;
	const char *vals[] = {"", "a", "ab", "abc", "\xff\x00\x01"};
	const char *keys[] = {"e", "a", "b", "c", "bin"};
	for (int i = 0; i < 5; i++) {
		put_str(&tmp, 1, keys[i]);
		put_len(&tmp, 2, vals[i], i == 4 ? 3 : strlen(vals[i]));
		put_msg(&raw, 2, &tmp);
	}
	put_str(&raw, 3, "Opaque");
	put_int(&raw, 5, 0); /* immutable is a pointer: false kept */
	cleanup_json json_t *got = decode_raw("v1", "Secret", &raw, NULL);
	assert_non_null(got);
	cleanup_json json_t *want = json_loads(
		"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"e\":\"\",\"a\":\"YQ==\","
		"\"b\":\"YWI=\",\"c\":\"YWJj\",\"bin\":\"/wAB\"},\"type\":\"Opaque\",\"immutable\":false}",
		0, NULL);
	assert_true(json_equal(got, want));

	/* managedFields[].fieldsV1 is embedded JSON */
	cleanup_buf struct buf meta = BUF_INIT;
	cleanup_buf struct buf mf = BUF_INIT;
	put_str(&mf, 1, "kubectl");
	put_str(&tmp, 1, "{\"f:data\":{}}");
	put_msg(&mf, 7, &tmp);
	put_msg(&meta, 17, &mf);
	put_msg(&raw, 1, &meta);
	cleanup_json json_t *cm = decode_raw("v1", "ConfigMap", &raw, NULL);
	assert_non_null(cm);
	json_t *fv1 = json_object_get(
		json_array_get(json_object_get(json_object_get(cm, "metadata"), "managedFields"), 0),
		"fieldsV1");
	assert_true(json_is_object(json_object_get(fv1, "f:data")));

	put_str(&mf, 1, "kubectl");
	put_str(&tmp, 1, "{not json");
	put_msg(&mf, 7, &tmp);
	put_msg(&meta, 17, &mf);
	put_msg(&raw, 1, &meta);
	cleanup_err struct mk_err *err = NULL;
	assert_null(decode_raw("v1", "ConfigMap", &raw, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

static void test_packed_repeated(void **state)
{
	(void)state;
	/* Job spec.podFailurePolicy.rules[0].onExitCodes.values, packed and not */
	cleanup_buf struct buf codes = BUF_INIT;
	cleanup_buf struct buf packed = BUF_INIT;
	cleanup_buf struct buf tmp = BUF_INIT;
	put_str(&codes, 2, "In");
	put_varint(&packed, 1);
	put_varint(&packed, 42);
	put_msg(&codes, 3, &packed);
	put_int(&codes, 3, 7);
	cleanup_buf struct buf rule = BUF_INIT;
	put_str(&rule, 1, "FailJob");
	put_msg(&rule, 2, &codes);
	put_msg(&tmp, 1, &rule);
	cleanup_buf struct buf spec = BUF_INIT;
	put_msg(&spec, 11, &tmp);
	put_int(&spec, 7, 0); /* backoffLimit is a pointer: kept */
	cleanup_buf struct buf raw = BUF_INIT;
	put_msg(&raw, 2, &spec);
	cleanup_json json_t *got = decode_raw("batch/v1", "Job", &raw, NULL);
	assert_non_null(got);
	cleanup_free char *s = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"spec\":{"
			       "\"podFailurePolicy\":{\"rules\":[{\"action\":\"FailJob\","
			       "\"onExitCodes\":{\"operator\":\"In\",\"values\":[1,42,7]}}]},"
			       "\"backoffLimit\":0}}");
}

static void expect_einval(const void *body, size_t len, const char *what)
{
	cleanup_err struct mk_err *err = NULL;
	json_t *got = k8s_protobuf_decode(body, len, &err);
	if (got) {
		json_decref(got);
		fail_msg("%s: decoded", what);
	}
	if (mk_err_code(err) != MK_EINVAL)
		fail_msg("%s: code %d (%s)", what, mk_err_code(err), mk_err_msg(err));
}

static void test_malformed(void **state)
{
	(void)state;
	expect_einval(NULL, 0, "NULL");
	expect_einval("k8s", 3, "short magic");
	expect_einval("{\"kind\":1}", 10, "JSON");
	expect_einval("k8s\0", 4, "no type meta");
	expect_einval("k8s\0\x0a\x04\x0a\x02v1", 10, "no kind");
	/* 11-byte varint */
	expect_einval("k8s\0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 15, "long varint");
	/* field number 0, group wire types, wire types 6 and 7 */
	expect_einval("k8s\0\x02\x00", 6, "field 0");
	expect_einval("k8s\0\x2b", 5, "start group");
	expect_einval("k8s\0\x2c", 5, "end group");
	expect_einval("k8s\0\x2e", 5, "wire type 6");
	/* a length far past the end */
	expect_einval("k8s\0\x12\xff\xff\xff\xff\x0f", 10, "huge length");

	/* wrong wire type for a known field: metadata as a varint */
	cleanup_buf struct buf raw = BUF_INIT;
	put_int(&raw, 1, 1);
	cleanup_err struct mk_err *err = NULL;
	assert_null(decode_raw("v1", "Namespace", &raw, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);

	/* invalid UTF-8 in a string */
	cleanup_buf struct buf meta = BUF_INIT;
	put_str(&meta, 1, "\xc3\x28");
	put_msg(&raw, 1, &meta);
	cleanup_err struct mk_err *err2 = NULL;
	assert_null(decode_raw("v1", "Namespace", &raw, &err2));
	assert_int_equal(mk_err_code(err2), MK_EINVAL);

	/* a time outside RFC 3339's years */
	cleanup_buf struct buf tmp = BUF_INIT;
	put_int(&tmp, 1, (uint64_t)INT64_MAX);
	put_msg(&meta, 8, &tmp);
	put_msg(&raw, 1, &meta);
	cleanup_err struct mk_err *err3 = NULL;
	assert_null(decode_raw("v1", "Namespace", &raw, &err3));
	assert_int_equal(mk_err_code(err3), MK_EINVAL);
}

static void test_unsupported(void **state)
{
	(void)state;
	cleanup_buf struct buf raw = BUF_INIT;
	put_str(&raw, 1, "");
	cleanup_err struct mk_err *err = NULL;
	assert_null(decode_raw("example.com/v1", "Widget", &raw, &err));
	assert_int_equal(mk_err_code(err), MK_EUNSUPPORTED);
	assert_true(k8s_protobuf_supports("apps/v1", "Deployment"));
	assert_true(k8s_protobuf_supports("v1", "Pod"));
	assert_true(k8s_protobuf_supports("policy/v1", "Eviction"));
	assert_true(k8s_protobuf_supports("v1", "DeleteOptions"));
	assert_false(k8s_protobuf_supports("v1", "Deployment"));

	/* a compressed body */
	cleanup_buf struct buf body = BUF_INIT;
	cleanup_buf struct buf tm = BUF_INIT;
	buf_append(&body, "k8s\0", 4);
	put_str(&tm, 1, "v1");
	put_str(&tm, 2, "Namespace");
	put_msg(&body, 1, &tm);
	put_str(&body, 2, "");
	put_str(&body, 3, "gzip");
	cleanup_err struct mk_err *err2 = NULL;
	assert_null(k8s_protobuf_decode(body.data, body.len, &err2));
	assert_int_equal(mk_err_code(err2), MK_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_decode), cmocka_unit_test(test_deployment_exact),
		cmocka_unit_test(test_truncated),	cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_special_types),	cmocka_unit_test(test_bytes_and_raw),
		cmocka_unit_test(test_packed_repeated), cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unsupported),
	};
	return cmocka_run_group_tests(tests, load_fixtures, free_fixtures);
}
