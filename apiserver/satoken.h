/* ServiceAccount tokens: JSON Web Tokens signed RS256 (RSA PKCS#1 v1.5 over
 * SHA-256, libcrypto), compact serialization, as upstream's token signer
 * writes them: header {"alg":"RS256","kid":<key id>}, where the key id is
 * the unpadded base64url SHA-256 of the public key's DER (SubjectPublicKeyInfo).
 * This module signs and checks signatures; what the claims must say is the
 * authenticator's business (authn.c). */
#ifndef MK_APISERVER_SATOKEN_H
#define MK_APISERVER_SATOKEN_H

#include <jansson.h>

#include "err.h"

struct satoken_keys;

/* Loads the RSA private key in PEM (PKCS#1 or PKCS#8) from path, for
 * signing: --service-account-signing-key-file. New, satoken_keys_free(). */
struct satoken_keys *satoken_signer_load(const char *path, struct mk_err **err);

/* Loads every public key of the comma-separated files (PEM "PUBLIC KEY",
 * "RSA PUBLIC KEY", or private keys whose public half is taken, as
 * upstream's --service-account-key-file accepts): the keys tokens are
 * verified with. New, satoken_keys_free(). */
struct satoken_keys *satoken_verifier_load(const char *files, struct mk_err **err);

/* The compact JWT of claims (borrowed) signed with the first key of k.
 * New string, free(). */
char *satoken_sign(const struct satoken_keys *k, const json_t *claims, struct mk_err **err);

/* The claims of token when its header says RS256 and its signature verifies
 * with one of the keys of k: new reference. NULL with MK_EINVAL when it is
 * not a JWT, or MK_EUNAUTHORIZED when no key verifies it. */
json_t *satoken_verify(const struct satoken_keys *k, const char *token, struct mk_err **err);

/* Unpadded base64url of len bytes, and back (NULL if not base64url); new. */
char *satoken_b64url_encode(const void *data, size_t len);
char *satoken_b64url_decode(const char *text, size_t len, size_t *out_len);

void satoken_keys_free(struct satoken_keys *k);

#endif
