/* Authentication of requests on the secure port, as upstream's
 * kube-apiserver does it, in its order: X.509 client certificates
 * (--client-ca-file; user = CommonName, groups = Organizations), static
 * bearer tokens (--token-auth-file), ServiceAccount JWTs
 * (--service-account-key-file, --service-account-issuer), then, for a request
 * that carries no credentials at all, the anonymous user (--anonymous-auth).
 * Credentials that are presented and fail end the chain: 401.
 *
 * Also issues ServiceAccount tokens (TokenRequest) with
 * --service-account-signing-key-file.
 *
 * Threads: an authn is read-only after authn_new; every function is
 * thread-safe. */
#ifndef MK_APISERVER_AUTHN_H
#define MK_APISERVER_AUTHN_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"
#include "httpd.h"

struct store;
struct authn;

/* Who made a request. */
struct authn_user {
	char *name;    /* "system:anonymous", "kubernetes-admin"... */
	char *uid;     /* NULL when none */
	char **groups; /* NULL-terminated, never NULL */
	json_t *extra; /* object of string arrays, or NULL */
};

struct authn_config {
	struct store *st;             /* borrowed for the authn's life: ServiceAccounts, pods */
	const char *token_auth_file;  /* CSV token,user,uid[,"g1,g2"]; NULL: none */
	const char *sa_key_files;     /* comma-separated PEM files; NULL: no SA tokens */
	const char *sa_signing_key;   /* PEM private key; NULL: TokenRequest refused */
	const char *sa_issuers;       /* comma-separated; the first is written in new tokens */
	const char *api_audiences;    /* comma-separated; NULL: the issuers */
	bool anonymous;               /* --anonymous-auth */
};

/* Reads the files cfg names. MK_EINVAL/MK_EIO with the file's name when one
 * is unreadable or malformed; MK_EINVAL for a signing key without
 * --service-account-issuer. New, authn_free(). */
struct authn *authn_new(const struct authn_config *cfg, struct mk_err **err);
void authn_free(struct authn *a);

/* Authenticates a request of the secure port: 0 with *user (new,
 * authn_user_free) or -1 when it must be answered 401 (the reason is logged
 * at -v=2, never sent: upstream answers only "Unauthorized"). */
int authn_request(const struct authn *a, const struct httpd_req *hr, struct authn_user **user);

/* Authenticates a bearer token (TokenReview): 0 with *user, or -1 with
 * MK_EUNAUTHORIZED and why. audiences (NULL-terminated, may be NULL: the
 * server's) are those the token must be meant for; *aud receives the
 * audiences it matched (new array reference, may be NULL). */
int authn_token(const struct authn *a, const char *token, const char *const *audiences,
		struct authn_user **user, json_t **aud, struct mk_err **err);

/* The superuser the insecure port acts as (system:unsecured in
 * system:masters). New, authn_user_free. */
struct authn_user *authn_user_unsecured(void);

/* {"username","uid","groups","extra"} as authentication.k8s.io/v1 UserInfo
 * (uid and extra left out when empty). New reference. */
json_t *authn_user_json(const struct authn_user *u);

void authn_user_free(struct authn_user *u);

/* A user named name (uid NULL or "": none) in no group. New,
 * authn_user_free. */
struct authn_user *authn_user_new(const char *name, const char *uid);
/* Adds group (copied) to u's groups. */
void authn_user_add_group(struct authn_user *u, const char *group);

/* The server's API audiences (--api-audiences, else the issuers) as a JSON
 * array. New reference. */
json_t *authn_audiences(const struct authn *a);

/* Issues a ServiceAccount token (TokenRequest): sa is the ServiceAccount
 * object and pod (may be NULL) the bound pod (both borrowed); audiences a
 * JSON array of strings (borrowed; empty or NULL: the server's audiences);
 * lifetime in seconds. *expires receives the expiry (Unix seconds). New
 * string, free(); NULL with MK_EUNSUPPORTED when no signing key is set. */
char *authn_sa_token_issue(const struct authn *a, const json_t *sa, const json_t *pod,
			   const json_t *audiences, int64_t lifetime_s, int64_t *expires,
			   struct mk_err **err);

#endif
