#include "apiserver/authn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "cleanup.h"
#include "log.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"
#include "apiserver/satoken.h"
#include "apiserver/store.h"

/* Clock skew allowed on exp/nbf/iat, as upstream's JWT validation (1 min). */
#define JWT_LEEWAY_S 60

struct static_token {
	char *token;
	struct authn_user user;
};

struct authn {
	struct store *st;
	struct static_token *tokens;
	size_t n_tokens;
	struct satoken_keys *verify_keys; /* NULL: no SA tokens */
	struct satoken_keys *sign_key;    /* NULL: no TokenRequest */
	char **issuers;                   /* NULL-terminated */
	char **audiences;                 /* NULL-terminated */
	bool anonymous;
};

/* ---- users ---- */

static char **strv_split(const char *csv)
{
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	if (!csv)
		return v;
	cleanup_free char *copy = xstrdup(csv);
	char *save = NULL;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		size_t len = strlen(p);
		while (len && p[len - 1] == ' ')
			p[--len] = '\0';
		if (!*p)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrdup(p);
		v[n] = NULL;
	}
	return v;
}

static void strv_add(char ***v, const char *s)
{
	size_t n = 0;
	while ((*v)[n])
		n++;
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

static struct authn_user *user_new(const char *name, const char *uid)
{
	struct authn_user *u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(name);
	u->uid = uid && *uid ? xstrdup(uid) : NULL;
	u->groups = xcalloc(1, sizeof(char *));
	return u;
}

struct authn_user *authn_user_new(const char *name, const char *uid)
{
	return user_new(name, uid);
}

void authn_user_add_group(struct authn_user *u, const char *group)
{
	strv_add(&u->groups, group);
}

static struct authn_user *user_copy(const struct authn_user *src)
{
	struct authn_user *u = user_new(src->name, src->uid);
	for (char **g = src->groups; *g; g++)
		strv_add(&u->groups, *g);
	u->extra = src->extra ? json_deep_copy(src->extra) : NULL;
	return u;
}

void authn_user_free(struct authn_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->uid);
	strv_free(u->groups);
	json_decref(u->extra);
	free(u);
}

struct authn_user *authn_user_unsecured(void)
{
	struct authn_user *u = user_new("system:unsecured", NULL);
	strv_add(&u->groups, "system:masters");
	strv_add(&u->groups, "system:authenticated");
	return u;
}

json_t *authn_user_json(const struct authn_user *u)
{
	json_t *o = json_pack("{s:s}", "username", u->name);
	if (u->uid)
		json_object_set_new(o, "uid", json_string(u->uid));
	json_t *g = json_array();
	for (char **p = u->groups; *p; p++)
		json_array_append_new(g, json_string(*p));
	json_object_set_new(o, "groups", g);
	if (u->extra && json_object_size(u->extra))
		json_object_set_new(o, "extra", json_deep_copy(u->extra));
	return o;
}

/* Every authenticated user is also in system:authenticated, as upstream
 * adds it. */
static void add_authenticated(struct authn_user *u)
{
	for (char **g = u->groups; *g; g++)
		if (!strcmp(*g, "system:authenticated"))
			return;
	strv_add(&u->groups, "system:authenticated");
}

/* ---- --token-auth-file ---- */

/* Splits one CSV record (RFC 4180 quoting) into fields. -1 on an unclosed
 * quote. *fields: new NULL-terminated array. */
static int csv_split(const char *line, char ***fields)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	const char *p = line;
	for (;;) {
		struct buf f = BUF_INIT;
		buf_append_str(&f, "");
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p) {
					buf_free(&f);
					strv_free(v);
					return -1;
				}
				if (*p == '"' && p[1] == '"') {
					buf_append_char(&f, '"');
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					buf_append_char(&f, *p++);
				}
			}
			while (*p && *p != ',')
				p++; /* Go's LazyQuotes would keep them; they are rare */
		} else {
			while (*p && *p != ',')
				buf_append_char(&f, *p++);
		}
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = buf_steal(&f);
		v[n] = NULL;
		if (*p != ',')
			break;
		p++;
	}
	*fields = v;
	return 0;
}

static int load_token_file(struct authn *a, const char *path, struct mk_err **err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return mk_err_errno(err, MK_EIO, errno, "reading --token-auth-file %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		char **fields = NULL;
		if (csv_split(line, &fields) < 0) {
			rc = mk_err_set(err, MK_EINVAL, "%s:%d: unclosed quote", path, lineno);
			break;
		}
		size_t nf = 0;
		while (fields[nf])
			nf++;
		if (nf < 3) {
			strv_free(fields);
			rc = mk_err_set(err, MK_EINVAL,
					"%s:%d: token file needs at least 3 fields (token,user,uid)",
					path, lineno);
			break;
		}
		if (!*fields[0]) {
			log_warn("skipping %s:%d: empty token", path, lineno);
			strv_free(fields);
			continue;
		}
		a->tokens = xrealloc(a->tokens, (a->n_tokens + 1) * sizeof(*a->tokens));
		struct static_token *t = &a->tokens[a->n_tokens++];
		t->token = xstrdup(fields[0]);
		t->user = (struct authn_user){
			.name = xstrdup(fields[1]),
			.uid = *fields[2] ? xstrdup(fields[2]) : NULL,
			.groups = strv_split(nf > 3 ? fields[3] : NULL),
		};
		strv_free(fields);
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- setup ---- */

struct authn *authn_new(const struct authn_config *cfg, struct mk_err **err)
{
	struct authn *a = xcalloc(1, sizeof(*a));
	a->st = cfg->st;
	a->anonymous = cfg->anonymous;
	a->issuers = strv_split(cfg->sa_issuers);
	a->audiences = strv_split(cfg->api_audiences ? cfg->api_audiences : cfg->sa_issuers);
	if (cfg->token_auth_file && load_token_file(a, cfg->token_auth_file, err) < 0)
		goto fail;
	if (cfg->sa_key_files && *cfg->sa_key_files) {
		if (!a->issuers[0]) {
			mk_err_set(err, MK_EINVAL,
				   "--service-account-issuer is required with "
				   "--service-account-key-file");
			goto fail;
		}
		a->verify_keys = satoken_verifier_load(cfg->sa_key_files, err);
		if (!a->verify_keys) {
			mk_err_wrap(err, "--service-account-key-file");
			goto fail;
		}
	}
	if (cfg->sa_signing_key && *cfg->sa_signing_key) {
		if (!a->issuers[0]) {
			mk_err_set(err, MK_EINVAL,
				   "--service-account-issuer is required with "
				   "--service-account-signing-key-file");
			goto fail;
		}
		a->sign_key = satoken_signer_load(cfg->sa_signing_key, err);
		if (!a->sign_key) {
			mk_err_wrap(err, "--service-account-signing-key-file");
			goto fail;
		}
		/* tokens we issue must verify here too, as upstream adds the
		 * signing key's public half to the verification keys */
		if (!a->verify_keys)
			a->verify_keys = satoken_verifier_load(cfg->sa_signing_key, err);
		if (!a->verify_keys)
			goto fail;
	}
	return a;
fail:
	authn_free(a);
	return NULL;
}

void authn_free(struct authn *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_tokens; i++) {
		OPENSSL_cleanse(a->tokens[i].token, strlen(a->tokens[i].token));
		free(a->tokens[i].token);
		free(a->tokens[i].user.name);
		free(a->tokens[i].user.uid);
		strv_free(a->tokens[i].user.groups);
	}
	free(a->tokens);
	satoken_keys_free(a->verify_keys);
	satoken_keys_free(a->sign_key);
	strv_free(a->issuers);
	strv_free(a->audiences);
	free(a);
}

/* ---- ServiceAccount tokens ---- */

static bool strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

/* The stored object at the resource's key, or NULL. New reference. */
static json_t *stored(const struct authn *a, const char *resource, const char *ns,
		      const char *name)
{
	const struct api_resource *r = api_resource_find("", "v1", resource);
	cleanup_free char *key = api_key(r, ns, name);
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(a->st, key, &kv, &err) < 0)
		return NULL;
	json_t *obj = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	return obj;
}

static const char *uid_of(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
}

static int sa_token(const struct authn *a, const char *token, const char *const *want_aud,
		    struct authn_user **user, json_t **aud_out, struct mk_err **err)
{
	if (!a->verify_keys)
		return mk_err_set(err, MK_EUNAUTHORIZED, "no service account key configured");
	cleanup_json json_t *c = satoken_verify(a->verify_keys, token, err);
	if (!c)
		return -1;
	const char *iss = json_string_value(json_object_get(c, "iss"));
	if (!iss || !strv_has(a->issuers, iss))
		return mk_err_set(err, MK_EUNAUTHORIZED, "token issuer is not accepted");
	int64_t now = (int64_t)time(NULL);
	json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
	if (!json_is_integer(exp))
		return mk_err_set(err, MK_EUNAUTHORIZED, "token has no expiry");
	if (json_integer_value(exp) + JWT_LEEWAY_S < now)
		return mk_err_set(err, MK_EUNAUTHORIZED, "token has expired");
	if (json_is_integer(nbf) && json_integer_value(nbf) - JWT_LEEWAY_S > now)
		return mk_err_set(err, MK_EUNAUTHORIZED, "token is not valid yet");
	/* aud is an array or one string */
	json_t *aud = json_object_get(c, "aud");
	json_t *matched = json_array();
	char *const *wanted = want_aud ? (char *const *)want_aud : a->audiences;
	if (json_is_string(aud) && strv_has(wanted, json_string_value(aud)))
		json_array_append(matched, aud);
	size_t i;
	json_t *v;
	json_array_foreach(json_is_array(aud) ? aud : NULL, i, v)
		if (json_is_string(v) && strv_has(wanted, json_string_value(v)))
			json_array_append(matched, v);
	if (!json_array_size(matched)) {
		json_decref(matched);
		return mk_err_set(err, MK_EUNAUTHORIZED, "token audiences are invalid");
	}
	json_t *k8s = json_object_get(c, "kubernetes.io");
	const char *ns = json_string_value(json_object_get(k8s, "namespace"));
	json_t *sa = json_object_get(k8s, "serviceaccount");
	const char *sa_name = json_string_value(json_object_get(sa, "name"));
	const char *sa_uid = json_string_value(json_object_get(sa, "uid"));
	if (!ns || !sa_name || !sa_uid) {
		json_decref(matched);
		return mk_err_set(err, MK_EUNAUTHORIZED, "token has no service account claims");
	}
	/* a token outlives neither its ServiceAccount nor its pod */
	cleanup_json json_t *sa_obj = stored(a, "serviceaccounts", ns, sa_name);
	if (!sa_obj || !uid_of(sa_obj) || strcmp(uid_of(sa_obj), sa_uid)) {
		json_decref(matched);
		return mk_err_set(err, MK_EUNAUTHORIZED,
				  "service account %s/%s has been deleted or replaced", ns,
				  sa_name);
	}
	json_t *pod = json_object_get(k8s, "pod");
	const char *pod_name = json_string_value(json_object_get(pod, "name"));
	const char *pod_uid = json_string_value(json_object_get(pod, "uid"));
	if (pod_name) {
		cleanup_json json_t *pod_obj = stored(a, "pods", ns, pod_name);
		if (!pod_obj || !uid_of(pod_obj) || !pod_uid || strcmp(uid_of(pod_obj), pod_uid)) {
			json_decref(matched);
			return mk_err_set(err, MK_EUNAUTHORIZED,
					  "pod %s/%s the token is bound to does not exist", ns,
					  pod_name);
		}
	}
	cleanup_free char *name = xasprintf("system:serviceaccount:%s:%s", ns, sa_name);
	struct authn_user *u = user_new(name, sa_uid);
	strv_add(&u->groups, "system:serviceaccounts");
	cleanup_free char *nsg = xasprintf("system:serviceaccounts:%s", ns);
	strv_add(&u->groups, nsg);
	strv_add(&u->groups, "system:authenticated");
	u->extra = json_object();
	const char *jti = json_string_value(json_object_get(c, "jti"));
	if (jti)
		json_object_set_new(u->extra, "authentication.kubernetes.io/credential-id",
				    json_pack("[s+]", "JTI=", jti));
	if (pod_name) {
		json_object_set_new(u->extra, "authentication.kubernetes.io/pod-name",
				    json_pack("[s]", pod_name));
		json_object_set_new(u->extra, "authentication.kubernetes.io/pod-uid",
				    json_pack("[s]", pod_uid));
	}
	*user = u;
	if (aud_out)
		*aud_out = matched;
	else
		json_decref(matched);
	return 0;
}

char *authn_sa_token_issue(const struct authn *a, const json_t *sa, const json_t *pod,
			   const json_t *audiences, int64_t lifetime_s, int64_t *expires,
			   struct mk_err **err)
{
	if (!a->sign_key)
		return mk_err_set(err, MK_EUNSUPPORTED,
				  "token request is not supported without "
				  "--service-account-signing-key-file"),
		       NULL;
	json_t *md = json_object_get(sa, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *uid = json_string_value(json_object_get(md, "uid"));
	if (!ns || !name || !uid)
		return mk_err_set(err, MK_EINTERNAL, "service account without name or uid"), NULL;
	int64_t now = (int64_t)time(NULL);
	json_t *aud = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(audiences, i, v)
		json_array_append(aud, v);
	if (!json_array_size(aud))
		for (char **p = a->audiences; *p; p++)
			json_array_append_new(aud, json_string(*p));
	json_t *k8s = json_object();
	json_object_set_new(k8s, "namespace", json_string(ns));
	if (pod) {
		json_t *pmd = json_object_get(pod, "metadata");
		json_object_set_new(k8s, "pod",
				    json_pack("{s:O, s:O}", "name", json_object_get(pmd, "name"),
					      "uid", json_object_get(pmd, "uid")));
	}
	json_object_set_new(k8s, "serviceaccount",
			    json_pack("{s:s, s:s}", "name", name, "uid", uid));
	cleanup_free char *jti = names_uid_new();
	cleanup_free char *sub = xasprintf("system:serviceaccount:%s:%s", ns, name);
	cleanup_json json_t *claims = json_pack(
		"{s:o, s:I, s:I, s:s, s:s, s:o, s:I, s:s}", "aud", aud, "exp",
		(json_int_t)(now + lifetime_s), "iat", (json_int_t)now, "iss", a->issuers[0], "jti",
		jti, "kubernetes.io", k8s, "nbf", (json_int_t)now, "sub", sub);
	*expires = now + lifetime_s;
	return satoken_sign(a->sign_key, claims, err);
}

json_t *authn_audiences(const struct authn *a)
{
	json_t *v = json_array();
	for (char **p = a->audiences; *p; p++)
		json_array_append_new(v, json_string(*p));
	return v;
}

/* ---- the chain ---- */

int authn_token(const struct authn *a, const char *token, const char *const *audiences,
		struct authn_user **user, json_t **aud, struct mk_err **err)
{
	if (aud)
		*aud = NULL;
	size_t tlen = strlen(token);
	for (size_t i = 0; i < a->n_tokens; i++) {
		const struct static_token *t = &a->tokens[i];
		if (strlen(t->token) == tlen && !CRYPTO_memcmp(t->token, token, tlen)) {
			*user = user_copy(&t->user);
			add_authenticated(*user);
			return 0;
		}
	}
	/* only a JWT (two dots) goes to the ServiceAccount verifier */
	const char *d = strchr(token, '.');
	if (d && strchr(d + 1, '.'))
		return sa_token(a, token, audiences, user, aud, err);
	return mk_err_set(err, MK_EUNAUTHORIZED, "invalid bearer token");
}

int authn_request(const struct authn *a, const struct httpd_req *hr, struct authn_user **user)
{
	char *cn = NULL, **orgs = NULL, *why = NULL;
	switch (httpd_req_peer_cert(hr, &cn, &orgs, &why)) {
	case HTTPD_PEER_OK: {
		struct authn_user *u = user_new(cn, NULL);
		for (char **o = orgs; *o; o++)
			strv_add(&u->groups, *o);
		add_authenticated(u);
		httpd_peer_free(cn, orgs);
		*user = u;
		return 0;
	}
	case HTTPD_PEER_INVALID:
		log_v(2, "Unable to authenticate the request due to an error: "
			 "verifying certificate: %s", why);
		free(why);
		return -1;
	case HTTPD_PEER_NONE:
		break;
	}
	const char *auth = httpd_req_header(hr, "Authorization");
	if (auth) {
		while (*auth == ' ')
			auth++;
		if (!strncasecmp(auth, "Bearer ", 7)) {
			const char *token = auth + 7;
			while (*token == ' ')
				token++;
			cleanup_free char *t = xstrdup(token);
			size_t n = strlen(t);
			while (n && t[n - 1] == ' ')
				t[--n] = '\0';
			cleanup_err struct mk_err *err = NULL;
			if (!n) {
				log_v(2, "Unable to authenticate the request: invalid bearer token");
				return -1;
			}
			if (authn_token(a, t, NULL, user, NULL, &err) < 0) {
				log_v(2, "Unable to authenticate the request: %s", mk_err_msg(err));
				return -1;
			}
			return 0;
		}
	}
	if (!a->anonymous) {
		log_v(2, "Unable to authenticate the request: no credentials");
		return -1;
	}
	struct authn_user *u = user_new("system:anonymous", NULL);
	strv_add(&u->groups, "system:unauthenticated");
	*user = u;
	return 0;
}
