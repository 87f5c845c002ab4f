/* tlsprio: upstream's TLS flags to GnuTLS priority strings; every string built
 * is handed to GnuTLS itself, which must accept it, and the suites it then
 * offers are read back. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <gnutls/gnutls.h>

#include "cleanup.h"
#include "tlsprio.h"

/* GnuTLS parses prio; returns true when it offers a suite named name
 * (GnuTLS's name, e.g. "TLS_ECDHE_RSA_AES_128_GCM_SHA256"). */
static bool offers(const char *prio, const char *name)
{
	gnutls_priority_t p;
	const char *where = NULL;
	int rc = gnutls_priority_init(&p, prio, &where);
	if (rc < 0)
		fail_msg("GnuTLS refused \"%s\" at \"%s\": %s", prio, where ? where : "?",
			 gnutls_strerror(rc));
	bool found = false;
	for (unsigned i = 0;; i++) {
		unsigned idx;
		if (gnutls_priority_get_cipher_suite_index(p, i, &idx) ==
		    GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (idx == (unsigned)-1) /* GnuTLS skips unusable combinations this way */
			continue;
		unsigned char id[2];
		const char *n = gnutls_cipher_suite_info(idx, id, NULL, NULL, NULL, NULL);
		if (n && !strcmp(n, name))
			found = true;
	}
	gnutls_priority_deinit(p);
	return found;
}

static void test_defaults(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *p = tlsprio_build(NULL, NULL, &err);
	assert_non_null(p);
	assert_string_equal(p, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	assert_true(offers(p, "TLS_AES_128_GCM_SHA256"));
	assert_true(offers(p, "TLS_ECDHE_RSA_AES_128_GCM_SHA256"));
}

static void test_min_version(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *p13 = tlsprio_build("VersionTLS13", "", &err);
	assert_string_equal(p13, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	cleanup_free char *p10 = tlsprio_build("VersionTLS10", NULL, &err);
	assert_string_equal(p10,
			    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0");
	assert_null(tlsprio_build("TLS12", NULL, &err));
	assert_string_equal(mk_err_msg(err), "unknown tls version \"TLS12\"");
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

static void test_suites(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *p = tlsprio_build(
		"VersionTLS12",
		"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", &err);
	assert_non_null(p);
	assert_true(offers(p, "TLS_ECDHE_RSA_AES_128_GCM_SHA256"));
	assert_true(offers(p, "TLS_ECDHE_RSA_AES_256_GCM_SHA384"));
	assert_true(offers(p, "TLS_AES_256_GCM_SHA384")); /* TLS 1.3 stays on */
	assert_false(offers(p, "TLS_ECDHE_ECDSA_AES_128_GCM_SHA256"));
	assert_false(offers(p, "TLS_ECDHE_RSA_AES_128_CBC_SHA1"));
	assert_false(offers(p, "TLS_RSA_AES_128_GCM_SHA256"));
}

static void test_unknown_suite(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	assert_null(tlsprio_build(NULL, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_FOO", &err));
	assert_string_equal(mk_err_msg(err), "Cipher suite TLS_FOO not supported or doesn't exist");
	mk_err_free(err);
	err = NULL;
	/* only TLS 1.3 suites while TLS 1.2 is allowed: nothing for 1.2 */
	assert_null(tlsprio_build(NULL, "TLS_AES_128_GCM_SHA256", &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_min_version),
		cmocka_unit_test(test_suites),
		cmocka_unit_test(test_unknown_suite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
