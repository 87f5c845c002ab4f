#include "registries.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base64.h"
#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"
#include "yamldoc.h"

struct registries {
	json_t *mirrors; /* owned: {registry: {endpoint: [url...]}} */
	json_t *configs; /* owned: {host: {auth: {...}, tls: {...}}} */
};

void registries_free(struct registries *r)
{
	if (!r)
		return;
	json_decref(r->mirrors);
	json_decref(r->configs);
	free(r);
}

static int check_strings(const json_t *obj, const char *where, const char *const *keys,
			 struct mk_err **err)
{
	for (size_t i = 0; keys[i]; i++) {
		json_t *v = json_object_get(obj, keys[i]);
		if (v && !json_is_string(v) && !json_is_null(v))
			return mk_err_set(err, MK_EINVAL, "%s.%s: expected a string", where,
					  keys[i]);
	}
	return 0;
}

static int validate(const json_t *doc, struct mk_err **err)
{
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "expected a mapping at the top level");
	const char *key;
	json_t *v;
	json_t *mirrors = json_object_get(doc, "mirrors");
	if (mirrors && !json_is_null(mirrors)) {
		if (!json_is_object(mirrors))
			return mk_err_set(err, MK_EINVAL, "mirrors: expected a mapping");
		json_object_foreach(mirrors, key, v)
		{
			if (!json_is_object(v))
				return mk_err_set(err, MK_EINVAL, "mirrors.%s: expected a mapping",
						  key);
			json_t *eps = json_object_get(v, "endpoint");
			if (eps && !json_is_array(eps) && !json_is_null(eps))
				return mk_err_set(err, MK_EINVAL,
						  "mirrors.%s.endpoint: expected a list", key);
			size_t i;
			json_t *e;
			json_array_foreach(eps, i, e)
			{
				if (!json_is_string(e) || !*json_string_value(e))
					return mk_err_set(
						err, MK_EINVAL,
						"mirrors.%s.endpoint[%zu]: expected a URL", key, i);
			}
			json_t *rw = json_object_get(v, "rewrite");
			if (rw && !json_is_object(rw) && !json_is_null(rw))
				return mk_err_set(err, MK_EINVAL,
						  "mirrors.%s.rewrite: expected a mapping", key);
			const char *pat;
			json_t *rep;
			json_object_foreach(rw, pat, rep)
			{
				if (!json_is_string(rep))
					return mk_err_set(
						err, MK_EINVAL,
						"mirrors.%s.rewrite.%s: expected a string", key,
						pat);
				regex_t re;
				int rc = regcomp(&re, pat, REG_EXTENDED);
				if (rc != 0) {
					char msg[256];
					regerror(rc, &re, msg, sizeof(msg));
					return mk_err_set(err, MK_EINVAL,
							  "mirrors.%s.rewrite: pattern %s: %s", key,
							  pat, msg);
				}
				regfree(&re);
			}
		}
	}
	json_t *configs = json_object_get(doc, "configs");
	if (configs && !json_is_null(configs)) {
		if (!json_is_object(configs))
			return mk_err_set(err, MK_EINVAL, "configs: expected a mapping");
		json_object_foreach(configs, key, v)
		{
			if (!json_is_object(v))
				return mk_err_set(err, MK_EINVAL, "configs.%s: expected a mapping",
						  key);
			json_t *auth = json_object_get(v, "auth"), *tls = json_object_get(v, "tls");
			cleanup_free char *wa = xasprintf("configs.%s.auth", key);
			cleanup_free char *wt = xasprintf("configs.%s.tls", key);
			if (auth && !json_is_object(auth) && !json_is_null(auth))
				return mk_err_set(err, MK_EINVAL, "%s: expected a mapping", wa);
			if (tls && !json_is_object(tls) && !json_is_null(tls))
				return mk_err_set(err, MK_EINVAL, "%s: expected a mapping", wt);
			static const char *const akeys[] = {"username", "password", "auth",
							    "identitytoken", NULL};
			static const char *const tkeys[] = {"ca_file", "cert_file", "key_file",
							    NULL};
			if (check_strings(auth, wa, akeys, err) < 0 ||
			    check_strings(tls, wt, tkeys, err) < 0)
				return -1;
			json_t *isv = json_object_get(tls, "insecure_skip_verify");
			if (isv && !json_is_boolean(isv) && !json_is_null(isv))
				return mk_err_set(err, MK_EINVAL,
						  "%s.insecure_skip_verify: expected true or false",
						  wt);
		}
	}
	return 0;
}

struct registries *registries_parse(const char *text, size_t len, struct mk_err **err)
{
	cleanup_json json_t *doc = yamldoc_parse(text, len, err);
	if (!doc)
		return NULL;
	struct registries *r = xcalloc(1, sizeof(*r));
	if (json_is_null(doc)) {
		r->mirrors = json_object();
		r->configs = json_object();
		return r;
	}
	if (validate(doc, err) < 0) {
		free(r);
		return NULL;
	}
	json_t *m = json_object_get(doc, "mirrors"), *c = json_object_get(doc, "configs");
	r->mirrors = json_is_object(m) ? json_incref(m) : json_object();
	r->configs = json_is_object(c) ? json_incref(c) : json_object();
	return r;
}

struct registries *registries_load(const char *path, struct mk_err **err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return registries_parse("", 0, err);
		mk_err_errno(err, MK_EIO, errno, "reading %s", path);
		return NULL;
	}
	cleanup_buf struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f)) {
		mk_err_errno(err, MK_EIO, errno, "reading %s", path);
		return NULL;
	}
	struct registries *r = registries_parse(b.data ? b.data : "", b.len, err);
	if (!r)
		mk_err_wrap(err, "%s", path);
	return r;
}

bool registries_host_is_loopback(const char *host)
{
	cleanup_free char *h = NULL;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		h = close ? xstrndup(host + 1, (size_t)(close - host - 1)) : xstrdup(host);
	} else {
		const char *colon = strchr(host, ':');
		h = colon ? xstrndup(host, (size_t)(colon - host)) : xstrdup(host);
	}
	return strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

/* Registry host of a dockerconfigjson key: "https://index.docker.io/v1/" ->
 * "docker.io", "http://127.0.0.1:5000" -> "127.0.0.1:5000". New string. */
static char *auth_key_host(const char *key)
{
	const char *p = strstr(key, "://");
	p = p ? p + 3 : key;
	size_t n = strcspn(p, "/");
	char *h = xstrndup(p, n);
	if (strcmp(h, "index.docker.io") == 0 || strcmp(h, "registry-1.docker.io") == 0) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

/* Fills username/password from an auth entry: "auth" (base64 of user:pass)
 * wins over username/password, as in Docker's config. */
static int creds_from_entry(const json_t *e, const char *where, char **user, char **pass,
			    char **token, struct mk_err **err)
{
	const char *auth = json_string_value(json_object_get(e, "auth"));
	const char *u = json_string_value(json_object_get(e, "username"));
	const char *p = json_string_value(json_object_get(e, "password"));
	const char *t = json_string_value(json_object_get(e, "identitytoken"));
	if (auth && *auth) {
		size_t n;
		cleanup_free char *raw = base64_decode(auth, &n);
		if (!raw)
			return mk_err_set(err, MK_EINVAL, "%s: auth is not valid base64", where);
		char *colon = strchr(raw, ':');
		if (!colon || memchr(raw, 0, n))
			return mk_err_set(err, MK_EINVAL,
					  "%s: auth does not decode to username:password", where);
		*colon = '\0';
		*user = xstrdup(raw);
		*pass = xstrdup(colon + 1);
	} else if (u && *u) {
		*user = xstrdup(u);
		*pass = xstrdup(p ? p : "");
	}
	if (t && *t)
		*token = xstrdup(t);
	return 0;
}

static int pull_auth_for(const char *pull_auths, const char *domain, struct registry_endpoint *ep,
			 struct mk_err **err)
{
	json_error_t jerr;
	cleanup_json json_t *doc = json_loads(pull_auths, 0, &jerr);
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "pull secret: not a JSON object%s%s",
				  doc ? "" : ": ", doc ? "" : jerr.text);
	json_t *auths = json_object_get(doc, "auths");
	if (!auths)
		auths = doc; /* legacy .dockercfg: the hosts at the top level */
	if (!json_is_object(auths))
		return mk_err_set(err, MK_EINVAL, "pull secret: auths is not an object");
	const char *key;
	json_t *v;
	json_object_foreach(auths, key, v)
	{
		cleanup_free char *h = auth_key_host(key);
		if (strcmp(h, domain) != 0 || !json_is_object(v))
			continue;
		cleanup_free char *where = xasprintf("pull secret for %s", key);
		return creds_from_entry(v, where, &ep->username, &ep->password, &ep->identity_token,
					err);
	}
	return 0;
}

static void endpoint_clear(struct registry_endpoint *ep)
{
	free(ep->url);
	free(ep->host);
	free(ep->username);
	free(ep->password);
	free(ep->identity_token);
	free(ep->ca_file);
	free(ep->cert_file);
	free(ep->key_file);
	memset(ep, 0, sizeof(*ep));
}

void registries_endpoints_free(struct registry_endpoint *eps, size_t n)
{
	if (!eps)
		return;
	for (size_t i = 0; i < n; i++)
		endpoint_clear(&eps[i]);
	free(eps);
}

/* Normalises url into ep->url / ep->host. */
static int endpoint_url(const char *url, bool loopback_plain, struct registry_endpoint *ep,
			struct mk_err **err)
{
	cleanup_free char *u = NULL;
	const char *sep = strstr(url, "://");
	if (sep) {
		size_t sl = (size_t)(sep - url);
		if (!((sl == 4 && strncmp(url, "http", 4) == 0) ||
		      (sl == 5 && strncmp(url, "https", 5) == 0)))
			return mk_err_set(err, MK_EINVAL,
					  "endpoint %s: scheme must be http or https", url);
		u = xstrdup(url);
	} else {
		u = xasprintf("%s://%s",
			      loopback_plain && registries_host_is_loopback(url) ? "http" : "https",
			      url);
	}
	size_t len = strlen(u);
	while (len > 0 && u[len - 1] == '/')
		u[--len] = '\0';
	if (len >= 3 && strcmp(u + len - 3, "/v2") == 0)
		u[len - 3] = '\0';
	/* "http://" loses its slashes above: no "://" left means no host */
	const char *hs = strstr(u, "://");
	size_t hn = hs ? strcspn(hs += 3, "/?#") : 0;
	if (hn == 0)
		return mk_err_set(err, MK_EINVAL, "endpoint %s: no host", url);
	ep->host = xstrndup(hs, hn);
	ep->url = steal_pointer(&u);
	return 0;
}

static int apply_config(const struct registries *r, struct registry_endpoint *ep,
			struct mk_err **err)
{
	json_t *cfg = r ? json_object_get(r->configs, ep->host) : NULL;
	if (!cfg && r)
		cfg = json_object_get(r->configs, "*");
	if (!cfg)
		return 0;
	json_t *auth = json_object_get(cfg, "auth"), *tls = json_object_get(cfg, "tls");
	if (json_is_object(auth)) {
		cleanup_free char *where = xasprintf("configs.%s.auth", ep->host);
		if (creds_from_entry(auth, where, &ep->username, &ep->password, &ep->identity_token,
				     err) < 0)
			return -1;
	}
	if (json_is_object(tls)) {
		const char *ca = json_string_value(json_object_get(tls, "ca_file"));
		const char *cert = json_string_value(json_object_get(tls, "cert_file"));
		const char *key = json_string_value(json_object_get(tls, "key_file"));
		ep->ca_file = ca && *ca ? xstrdup(ca) : NULL;
		ep->cert_file = cert && *cert ? xstrdup(cert) : NULL;
		ep->key_file = key && *key ? xstrdup(key) : NULL;
		ep->insecure_skip_verify =
			json_is_true(json_object_get(tls, "insecure_skip_verify"));
	}
	return 0;
}

int registries_endpoints(const struct registries *r, const char *domain, const char *pull_auths,
			 struct registry_endpoint **out, size_t *n, struct mk_err **err)
{
	*out = NULL;
	*n = 0;
	json_t *mirror = r ? json_object_get(r->mirrors, domain) : NULL;
	if (!mirror && r)
		mirror = json_object_get(r->mirrors, "*");
	json_t *eps = json_object_get(mirror, "endpoint");
	size_t count = json_array_size(eps) + 1;
	struct registry_endpoint *arr = xcalloc(count, sizeof(*arr));
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		struct registry_endpoint *ep = &arr[k];
		int rc;
		if (i + 1 < count) {
			rc = endpoint_url(json_string_value(json_array_get(eps, i)), false, ep,
					  err);
			ep->is_mirror = true;
		} else {
			const char *real =
				strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
			rc = endpoint_url(real, true, ep, err);
		}
		if (rc < 0 || apply_config(r, ep, err) < 0)
			goto fail;
		/* the same URL listed twice (a mirror naming the registry itself) is asked once */
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= strcmp(arr[j].url, ep->url) == 0;
		if (dup) {
			endpoint_clear(ep);
			continue;
		}
		if (pull_auths && !ep->username && !ep->identity_token &&
		    pull_auth_for(pull_auths, domain, ep, err) < 0) {
			k++;
			goto fail;
		}
		k++;
	}
	*out = arr;
	*n = k;
	return 0;
fail:
	registries_endpoints_free(arr, count);
	return mk_err_wrap(err, "registry %s", domain);
}

/* rep with $N and ${N} replaced by the groups of m over s. New string. */
static char *expand(const char *rep, const char *s, const regmatch_t *m, size_t nm)
{
	struct buf b = BUF_INIT;
	for (const char *p = rep; *p; p++) {
		if (*p != '$') {
			buf_append_char(&b, *p);
			continue;
		}
		const char *q = p + 1;
		bool brace = *q == '{';
		if (brace)
			q++;
		if (!isdigit((unsigned char)*q)) {
			buf_append_char(&b, '$');
			continue;
		}
		size_t g = 0;
		while (isdigit((unsigned char)*q))
			g = g * 10 + (size_t)(*q++ - '0');
		if (brace) {
			if (*q != '}') {
				buf_append_char(&b, '$');
				continue;
			}
			q++;
		}
		if (g < nm && m[g].rm_so >= 0)
			buf_append(&b, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
		p = q - 1;
	}
	return buf_steal(&b);
}

char *registries_rewrite(const struct registries *r, const struct registry_endpoint *ep,
			 const char *domain, const char *path)
{
	if (!r || !ep->is_mirror)
		return xstrdup(path);
	json_t *mirror = json_object_get(r->mirrors, domain);
	if (!mirror)
		mirror = json_object_get(r->mirrors, "*");
	const char *pat;
	json_t *rep;
	json_object_foreach(json_object_get(mirror, "rewrite"), pat, rep)
	{
		regex_t re;
		if (regcomp(&re, pat, REG_EXTENDED) != 0)
			continue; /* refused when the file was read */
		regmatch_t m[10];
		int rc = regexec(&re, path, 10, m, 0);
		regfree(&re);
		if (rc == 0) {
			/* the matched part is replaced, the rest kept (Go's ReplaceAllString
			 * on a single match) */
			cleanup_free char *mid = expand(json_string_value(rep), path, m, 10);
			return xasprintf("%.*s%s%s", (int)m[0].rm_so, path, mid, path + m[0].rm_eo);
		}
	}
	return xstrdup(path);
}
