/* Self-signed serving certificates with OpenSSL (see the header). */
#include "selfsign.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xalloc.h"

static int ossl_fail(struct mk_err **err, const char *what)
{
	char buf[256] = "unknown error";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return mk_err_set(err, MK_EIO, "generating a self-signed certificate: %s: %s", what, buf);
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* The PEM text a writer puts into a memory BIO; new string or NULL. */
static char *bio_text(BIO *b)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);
	if (len <= 0)
		return NULL;
	char *s = xmalloc((size_t)len + 1);
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	return s;
}

int selfsign_cert_new(const char *host, char **cert_pem, char **key_pem, struct mk_err **err)
{
	int rc = -1;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *cb = NULL, *kb = NULL;
	char *cert = NULL, *keytext = NULL;
	time_t now = time(NULL);
	char *cn = xasprintf("%s@%lld", host, (long long)now);
	char *san = strcmp(host, "localhost") == 0
			    ? xasprintf("DNS:localhost, IP:127.0.0.1")
			    : xasprintf("DNS:%s, DNS:localhost, IP:127.0.0.1", host);

	key = EVP_RSA_gen(2048);
	if (!key) {
		ossl_fail(err, "key");
		goto out;
	}
	x = X509_new();
	unsigned char serial[16];
	if (!x || RAND_bytes(serial, sizeof(serial)) != 1) {
		ossl_fail(err, "certificate");
		goto out;
	}
	serial[0] &= 0x7f; /* a positive serial number */
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	bool serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME *name = X509_get_subject_name(x);
	if (!serial_ok || X509_set_version(x, 2) != 1 ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, &now) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
				       -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_alt_name, san) < 0 || X509_sign(x, key, EVP_sha256()) <= 0) {
		ossl_fail(err, "certificate");
		goto out;
	}
	cb = BIO_new(BIO_s_mem());
	kb = BIO_new(BIO_s_mem());
	if (!cb || !kb || PEM_write_bio_X509(cb, x) != 1 ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    !(cert = bio_text(cb)) || !(keytext = bio_text(kb))) {
		ossl_fail(err, "PEM");
		goto out;
	}
	*cert_pem = cert;
	*key_pem = keytext;
	cert = keytext = NULL;
	rc = 0;
out:
	free(cn);
	free(san);
	free(cert);
	free(keytext);
	BIO_free(cb);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
