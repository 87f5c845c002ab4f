/* selfsign: the certificate parses, matches its key, names localhost and
 * 127.0.0.1, and two calls give two different keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "selfsign.h"

static X509 *parse_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

static void test_cert(void **state)
{
	(void)state;
	char *cert = NULL, *key = NULL;
	cleanup_err struct mk_err *err = NULL;
	time_t before = time(NULL);
	assert_int_equal(selfsign_cert_new("localhost", &cert, &key, &err), 0);
	assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(key, "-----BEGIN PRIVATE KEY-----"));
	X509 *x = parse_cert(cert);
	EVP_PKEY *k = parse_key(key);
	assert_non_null(x);
	assert_non_null(k);
	assert_int_equal(X509_check_private_key(x, k), 1);
	/* self-signed: its own key verifies it */
	assert_int_equal(X509_verify(x, k), 1);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_not_equal(X509_check_host(x, "example.com", 0, 0, NULL), 1);
	char cn[128] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_int_equal(strncmp(cn, "localhost@", 10), 0);
	long long ts = atoll(cn + 10);
	assert_true(ts >= (long long)before && ts <= (long long)time(NULL));
	/* valid now and for most of a year */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	time_t in300d = time(NULL) + 300 * 86400;
	assert_true(X509_cmp_time(X509_get0_notAfter(x), &in300d) > 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);

	char *cert2 = NULL, *key2 = NULL;
	assert_int_equal(selfsign_cert_new("node-1", &cert2, &key2, &err), 0);
	assert_string_not_equal(key, key2);
	X509 *x2 = parse_cert(cert2);
	assert_non_null(x2);
	assert_int_equal(X509_check_host(x2, "node-1", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x2, "localhost", 0, 0, NULL), 1);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(x2)),
			     0);
	X509_free(x2);
	X509_free(x);
	EVP_PKEY_free(k);
	free(cert);
	free(key);
	free(cert2);
	free(key2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
