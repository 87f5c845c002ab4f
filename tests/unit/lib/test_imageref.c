/* imageref: normalisation as distribution/reference does it, upstream's
 * error texts, familiar forms, digests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "imageref.h"

#define D64 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void expect(const char *in, const char *full, const char *familiar)
{
	struct imageref r;
	struct mk_err *e = NULL;
	if (imageref_parse(in, &r, &e) < 0)
		fail_msg("%s: %s", in, mk_err_msg(e));
	cleanup_free char *s = imageref_string(&r);
	cleanup_free char *f = imageref_familiar(&r);
	assert_string_equal(s, full);
	assert_string_equal(f, familiar);
	imageref_clear(&r);
}

static void test_normalise(void **state)
{
	(void)state;
	expect("nginx", "docker.io/library/nginx:latest", "nginx:latest");
	expect("nginx:1.27", "docker.io/library/nginx:1.27", "nginx:1.27");
	expect("library/nginx", "docker.io/library/nginx:latest", "nginx:latest");
	expect("docker.io/nginx", "docker.io/library/nginx:latest", "nginx:latest");
	expect("index.docker.io/library/nginx:x", "docker.io/library/nginx:x", "nginx:x");
	expect("curlimages/curl", "docker.io/curlimages/curl:latest", "curlimages/curl:latest");
	expect("localhost/x", "localhost/x:latest", "localhost/x:latest");
	expect("localhost:5000/a/b:v1", "localhost:5000/a/b:v1", "localhost:5000/a/b:v1");
	expect("127.0.0.1:5000/library/nginx", "127.0.0.1:5000/library/nginx:latest",
	       "127.0.0.1:5000/library/nginx:latest");
	expect("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10",
	       "registry.k8s.io/pause:3.10");
	expect("nginx@" D64, "docker.io/library/nginx@" D64, "nginx@" D64);
	expect("nginx:1@" D64, "docker.io/library/nginx:1@" D64, "nginx:1@" D64);
	expect("x/a__b.c-d---e/f_g", "docker.io/x/a__b.c-d---e/f_g:latest", "x/a__b.c-d---e/f_g:latest");
	expect("Foo.Example/x", "Foo.Example/x:latest", "Foo.Example/x:latest");
	expect("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest");
}

static void expect_err(const char *in, const char *msg)
{
	struct imageref r;
	struct mk_err *e = NULL;
	assert_int_equal(imageref_parse(in, &r, &e), -1);
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	assert_string_equal(mk_err_msg(e), msg);
	assert_null(r.domain);
	mk_err_free(e);
}

static void test_errors(void **state)
{
	(void)state;
	expect_err("", "invalid reference format");
	expect_err("Nginx", "invalid reference format: repository name must be lowercase");
	expect_err("docker.io/Library/nginx",
		   "invalid reference format: repository name must be lowercase");
	expect_err("nginx:", "invalid reference format");
	expect_err("nginx:-x", "invalid reference format");
	expect_err("a//b", "invalid reference format");
	expect_err("a-/b", "invalid reference format");
	expect_err("-a", "invalid reference format");
	expect_err("a..b", "invalid reference format");
	/* a first component with a dot is a registry host, where "_" is not allowed */
	expect_err("a__b.c/x", "invalid reference format");
	expect_err("nginx@sha256:abc", "invalid reference format");
	expect_err("nginx@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm");
	expect_err("nginx@sha256:0123456789abcdef0123456789abcdef",
		   "invalid checksum digest length");
	expect_err("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		   "invalid repository name "
		   "(e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855), cannot "
		   "specify 64-byte hexadecimal strings");
	char *lng = malloc(300);
	memset(lng, 'a', 299);
	lng[299] = '\0';
	expect_err(lng, "repository name must not be more than 255 characters");
	free(lng);
	char tag[140] = "nginx:";
	memset(tag + 6, 't', 129);
	tag[135] = '\0';
	expect_err(tag, "invalid reference format");
}

static void test_parts(void **state)
{
	(void)state;
	struct imageref r;
	assert_int_equal(imageref_parse("quay.io/org/app:v2@" D64, &r, NULL), 0);
	assert_string_equal(r.domain, "quay.io");
	assert_string_equal(r.path, "org/app");
	assert_string_equal(r.tag, "v2");
	assert_string_equal(r.digest, D64);
	cleanup_free char *repo = imageref_repo(&r);
	cleanup_free char *t = imageref_tagged(&r);
	cleanup_free char *d = imageref_digested(&r);
	assert_string_equal(repo, "quay.io/org/app");
	assert_string_equal(t, "quay.io/org/app:v2");
	assert_string_equal(d, "quay.io/org/app@" D64);
	imageref_clear(&r);
	assert_int_equal(imageref_parse("busybox@" D64, &r, NULL), 0);
	assert_null(r.tag);
	assert_null(imageref_tagged(&r));
	imageref_clear(&r);
	imageref_clear(&r);
}

static void test_digests(void **state)
{
	(void)state;
	assert_true(imageref_digest_valid(D64));
	assert_false(imageref_digest_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	assert_false(imageref_digest_valid("sha256:e3b0"));
	assert_false(imageref_digest_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_false(imageref_digest_valid(NULL));
	assert_true(imageref_is_id(D64));
	assert_true(imageref_is_id(D64 + 7));
	assert_false(imageref_is_id("nginx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
