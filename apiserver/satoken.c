#include "apiserver/satoken.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "base64.h"
#include "cleanup.h"
#include "xalloc.h"

struct satoken_keys {
	EVP_PKEY **keys;
	char **kids;
	size_t n;
};

char *satoken_b64url_encode(const void *data, size_t len)
{
	char *s = base64_encode(data, len);
	size_t o = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '=')
			break;
		s[o++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[o] = '\0';
	return s;
}

char *satoken_b64url_decode(const char *text, size_t len, size_t *out_len)
{
	if (len % 4 == 1)
		return NULL;
	char *std = xmalloc(len + 4);
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '+' || c == '/' || c == '=' || c == ' ' || c == '\n' || c == '\r' ||
		    c == '\t') {
			free(std);
			return NULL;
		}
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	size_t n = len;
	while (n % 4)
		std[n++] = '=';
	std[n] = '\0';
	char *out = base64_decode(std, out_len);
	free(std);
	return out;
}

/* The last libcrypto error as text, or fallback. New string. */
static char *ossl_text(const char *fallback)
{
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	if (!e)
		return xstrdup(fallback);
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	return xstrdup(buf);
}

/* Upstream's key id: unpadded base64url of SHA-256 over the DER
 * SubjectPublicKeyInfo. New string or NULL. */
static char *key_id(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(k, &der);
	if (len <= 0)
		return NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	return satoken_b64url_encode(md, sizeof(md));
}

static void keys_add(struct satoken_keys *k, EVP_PKEY *key)
{
	k->keys = xrealloc(k->keys, (k->n + 1) * sizeof(*k->keys));
	k->kids = xrealloc(k->kids, (k->n + 1) * sizeof(*k->kids));
	k->keys[k->n] = key;
	char *kid = key_id(key);
	k->kids[k->n] = kid ? kid : xstrdup("");
	k->n++;
}

void satoken_keys_free(struct satoken_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		EVP_PKEY_free(k->keys[i]);
		free(k->kids[i]);
	}
	free(k->keys);
	free(k->kids);
	free(k);
}

struct satoken_keys *satoken_signer_load(const char *path, struct mk_err **err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return mk_err_errno(err, MK_EIO, errno, "reading %s", path), NULL;
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key) {
		cleanup_free char *why = ossl_text("no private key");
		return mk_err_set(err, MK_EINVAL, "%s: no PEM private key (%s)", path, why), NULL;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		return mk_err_set(err, MK_EINVAL, "%s: not an RSA key (RS256 signs with RSA)", path),
		       NULL;
	}
	struct satoken_keys *k = xcalloc(1, sizeof(*k));
	keys_add(k, key);
	return k;
}

/* Adds every key of one PEM file to k; how many, or -1. */
static int load_public_file(struct satoken_keys *k, const char *path, struct mk_err **err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return mk_err_errno(err, MK_EIO, errno, "reading %s", path);
	int found = 0;
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long len = 0;
		if (!PEM_read(f, &name, &header, &data, &len)) {
			ERR_clear_error();
			break;
		}
		const unsigned char *p = data;
		EVP_PKEY *key = NULL;
		if (!strcmp(name, "PUBLIC KEY"))
			key = d2i_PUBKEY(NULL, &p, len);
		else if (!strcmp(name, "RSA PUBLIC KEY"))
			key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
		else if (!strcmp(name, "RSA PRIVATE KEY"))
			key = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len);
		else if (!strcmp(name, "PRIVATE KEY"))
			key = d2i_AutoPrivateKey(NULL, &p, len);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (key && EVP_PKEY_base_id(key) == EVP_PKEY_RSA) {
			keys_add(k, key);
			found++;
		} else {
			EVP_PKEY_free(key);
			ERR_clear_error();
		}
	}
	fclose(f);
	if (!found)
		return mk_err_set(err, MK_EINVAL, "%s: no RSA public or private key found", path);
	return found;
}

struct satoken_keys *satoken_verifier_load(const char *files, struct mk_err **err)
{
	struct satoken_keys *k = xcalloc(1, sizeof(*k));
	cleanup_free char *list = xstrdup(files);
	char *save = NULL;
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (load_public_file(k, p, err) < 0) {
			satoken_keys_free(k);
			return NULL;
		}
	}
	if (!k->n) {
		satoken_keys_free(k);
		return mk_err_set(err, MK_EINVAL, "no service account key file given"), NULL;
	}
	return k;
}

char *satoken_sign(const struct satoken_keys *k, const json_t *claims, struct mk_err **err)
{
	if (!k || !k->n)
		return mk_err_set(err, MK_EINVAL, "no signing key"), NULL;
	json_t *hdr = json_pack("{s:s, s:s}", "alg", "RS256", "kid", k->kids[0]);
	cleanup_free char *htext = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(hdr);
	cleanup_free char *ctext = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!htext || !ctext)
		return mk_err_set(err, MK_EINTERNAL, "encoding the token"), NULL;
	cleanup_free char *h64 = satoken_b64url_encode(htext, strlen(htext));
	cleanup_free char *c64 = satoken_b64url_encode(ctext, strlen(ctext));
	cleanup_free char *input = xasprintf("%s.%s", h64, c64);

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 0;
	unsigned char *sig = NULL;
	bool ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->keys[0]) == 1 &&
		  EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
				 strlen(input)) == 1;
	if (ok) {
		sig = xmalloc(siglen);
		ok = EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
				    strlen(input)) == 1;
	}
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(sig);
		cleanup_free char *why = ossl_text("signing failed");
		return mk_err_set(err, MK_EINTERNAL, "signing the token: %s", why), NULL;
	}
	cleanup_free char *s64 = satoken_b64url_encode(sig, siglen);
	free(sig);
	return xasprintf("%s.%s", input, s64);
}

static bool verify_one(EVP_PKEY *key, const char *input, size_t ilen, const unsigned char *sig,
		       size_t slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		  EVP_DigestVerify(ctx, sig, slen, (const unsigned char *)input, ilen) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

json_t *satoken_verify(const struct satoken_keys *k, const char *token, struct mk_err **err)
{
	const char *d1 = strchr(token, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return mk_err_set(err, MK_EINVAL, "not a JWT"), NULL;
	size_t hlen, clen, slen;
	cleanup_free char *htext = satoken_b64url_decode(token, (size_t)(d1 - token), &hlen);
	cleanup_free char *ctext =
		satoken_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &clen);
	cleanup_free char *sig = satoken_b64url_decode(d2 + 1, strlen(d2 + 1), &slen);
	if (!htext || !ctext || !sig)
		return mk_err_set(err, MK_EINVAL, "not a JWT"), NULL;
	json_t *hdr = json_loadb(htext, hlen, 0, NULL);
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	bool rs256 = alg && !strcmp(alg, "RS256");
	json_decref(hdr);
	if (!rs256)
		return mk_err_set(err, MK_EINVAL, "not an RS256 JWT"), NULL;
	json_t *claims = json_loadb(ctext, clen, 0, NULL);
	if (!json_is_object(claims)) {
		json_decref(claims);
		return mk_err_set(err, MK_EINVAL, "JWT claims are not a JSON object"), NULL;
	}
	for (size_t i = 0; k && i < k->n; i++)
		if (verify_one(k->keys[i], token, (size_t)(d2 - token), (const unsigned char *)sig,
			       slen))
			return claims;
	json_decref(claims);
	return mk_err_set(err, MK_EUNAUTHORIZED, "invalid signature"), NULL;
}
