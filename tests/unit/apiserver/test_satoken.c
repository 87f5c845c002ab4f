/* satoken: RS256 JWTs signed and verified with libcrypto keys written by
 * openssl(1); tampered, foreign-key and malformed tokens are refused. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/satoken.h"

static char dir[64];

static int make_keys(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/mk-satoken.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	cleanup_free char *cmd = xasprintf(
		"cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out a.key "
		"2>/dev/null && openssl rsa -in a.key -pubout -out a.pub 2>/dev/null && "
		"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out b.key 2>/dev/null"
		" && openssl rsa -in b.key -pubout -out b.pub 2>/dev/null",
		dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int remove_keys(void **state)
{
	(void)state;
	cleanup_free char *cmd = xasprintf("rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void test_round_trip(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *akey = path("a.key"), *apub = path("a.pub"), *bpub = path("b.pub");
	struct satoken_keys *signer = satoken_signer_load(akey, &err);
	assert_non_null(signer);
	cleanup_json json_t *claims = json_pack("{s:s, s:I}", "sub", "system:serviceaccount:a:b",
						"exp", (json_int_t)2000000000);
	cleanup_free char *tok = satoken_sign(signer, claims, &err);
	assert_non_null(tok);
	/* verified by the public key, by a list holding it, and by the private key file */
	cleanup_free char *both = xasprintf("%s,%s", bpub, apub);
	const char *sets[] = {apub, both, akey};
	for (size_t i = 0; i < 3; i++) {
		struct satoken_keys *v = satoken_verifier_load(sets[i], &err);
		assert_non_null(v);
		cleanup_json json_t *got = satoken_verify(v, tok, &err);
		assert_non_null(got);
		assert_true(json_equal(got, claims));
		satoken_keys_free(v);
	}
	/* another key: refused */
	struct satoken_keys *other = satoken_verifier_load(bpub, &err);
	assert_null(satoken_verify(other, tok, &err));
	assert_int_equal(mk_err_code(err), MK_EUNAUTHORIZED);
	mk_err_free(err);
	err = NULL;
	/* the header names the key and the algorithm */
	size_t hlen;
	cleanup_free char *hdr = satoken_b64url_decode(tok, (size_t)(strchr(tok, '.') - tok), &hlen);
	assert_non_null(hdr);
	assert_non_null(strstr(hdr, "\"alg\":\"RS256\""));
	assert_non_null(strstr(hdr, "\"kid\":\""));
	/* tampered claims: refused */
	struct satoken_keys *v = satoken_verifier_load(apub, &err);
	cleanup_json json_t *evil = json_pack("{s:s, s:I}", "sub", "system:serviceaccount:a:root",
					      "exp", (json_int_t)2000000000);
	cleanup_free char *etext = json_dumps(evil, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cleanup_free char *e64 = satoken_b64url_encode(etext, strlen(etext));
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	cleanup_free char *forged = xasprintf("%.*s.%s%s", (int)(d1 - tok), tok, e64, d2);
	assert_null(satoken_verify(v, forged, &err));
	assert_int_equal(mk_err_code(err), MK_EUNAUTHORIZED);
	mk_err_free(err);
	err = NULL;
	/* not JWTs */
	const char *bad[] = {"", "abc", "a.b", "a.b.c.d", "!!.??.**"};
	for (size_t i = 0; i < 5; i++) {
		assert_null(satoken_verify(v, bad[i], &err));
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		mk_err_free(err);
		err = NULL;
	}
	/* alg none is never accepted */
	cleanup_free char *none_h = satoken_b64url_encode("{\"alg\":\"none\"}", 14);
	cleanup_free char *none_tok = xasprintf("%s.%s.", none_h, e64);
	assert_null(satoken_verify(v, none_tok, &err));
	satoken_keys_free(v);
	satoken_keys_free(other);
	satoken_keys_free(signer);
}

static void test_b64url(void **state)
{
	(void)state;
	cleanup_free char *e = satoken_b64url_encode("\xfb\xff", 2);
	assert_string_equal(e, "-_8");
	size_t n;
	cleanup_free char *d = satoken_b64url_decode("-_8", 3, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(d, "\xfb\xff", 2);
	assert_null(satoken_b64url_decode("+/8", 3, &n));
	assert_null(satoken_b64url_decode("a", 1, &n));
}

static void test_load_errors(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	assert_null(satoken_signer_load("/nonexistent/sa.key", &err));
	assert_int_equal(mk_err_code(err), MK_EIO);
	mk_err_free(err);
	err = NULL;
	cleanup_free char *pub = path("a.pub");
	assert_null(satoken_signer_load(pub, &err)); /* a public key cannot sign */
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_load_errors),
	};
	return cmocka_run_group_tests(tests, make_keys, remove_keys);
}
