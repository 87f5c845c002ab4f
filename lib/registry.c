#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "buf.h"
#include "cleanup.h"
#include "imageref.h"
#include "xalloc.h"

#define ERRBODY_MAX (64 * 1024)
#define MANIFEST_MAX (4 * 1024 * 1024)
#define RECV_BUFFER  (256L * 1024)

struct registry_client {
	struct registry_endpoint ep; /* deep copy */
	char *repo;
	struct registry_opts opts;
	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock; /* guards auth and basic */
	char *auth;           /* "Authorization: Bearer ..." header, or NULL */
	bool basic;           /* the endpoint asked for basic credentials: send them first */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		abort();
}

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)h;
	(void)access;
	struct registry_client *c = ud;
	pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	(void)h;
	struct registry_client *c = ud;
	pthread_mutex_unlock(&c->share_lock[data]);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct registry_client *registry_client_new(const struct registry_endpoint *ep, const char *repo,
					    const struct registry_opts *opts)
{
	pthread_once(&curl_once, curl_init);
	struct registry_client *c = xcalloc(1, sizeof(*c));
	c->ep = (struct registry_endpoint){
		.url = xstrdup(ep->url),
		.host = xstrdup(ep->host),
		.username = dup_or_null(ep->username),
		.password = dup_or_null(ep->password),
		.identity_token = dup_or_null(ep->identity_token),
		.ca_file = dup_or_null(ep->ca_file),
		.cert_file = dup_or_null(ep->cert_file),
		.key_file = dup_or_null(ep->key_file),
		.insecure_skip_verify = ep->insecure_skip_verify,
		.is_mirror = ep->is_mirror,
	};
	c->repo = xstrdup(repo);
	c->opts = (struct registry_opts){.retries = 4, .backoff_ms = 200, .stall_seconds = 30};
	if (opts) {
		if (opts->retries >= 0)
			c->opts.retries = opts->retries;
		if (opts->backoff_ms > 0)
			c->opts.backoff_ms = opts->backoff_ms;
		if (opts->stall_seconds > 0)
			c->opts.stall_seconds = opts->stall_seconds;
	}
	pthread_mutex_init(&c->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_lock[i], NULL);
	c->share = curl_share_init();
	if (!c->share)
		abort();
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return c;
}

void registry_client_free(struct registry_client *c)
{
	if (!c)
		return;
	curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_lock[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->ep.url);
	free(c->ep.host);
	free(c->ep.username);
	free(c->ep.password);
	free(c->ep.identity_token);
	free(c->ep.ca_file);
	free(c->ep.cert_file);
	free(c->ep.key_file);
	free(c->repo);
	free(c->auth);
	free(c);
}

const char *registry_client_url(const struct registry_client *c)
{
	return c->ep.url;
}

/* ---- one HTTP exchange ---- */

/* Where the body of a 2xx answer goes. */
struct sink {
	int (*write)(void *ud, long status, const char *data, size_t len); /* -1 aborts */
	void *ud;
};

struct exchange {
	long status;
	char *content_type;
	char *content_digest;
	char *challenge; /* WWW-Authenticate */
	char *content_range;
	long retry_after;
	struct buf errbody; /* body of a non-2xx answer (bounded) */
	const struct sink *sink;
	bool sink_failed;
};

static void exchange_reset(struct exchange *x)
{
	free(x->content_type);
	free(x->content_digest);
	free(x->challenge);
	free(x->content_range);
	x->content_type = x->content_digest = x->challenge = x->content_range = NULL;
	x->status = 0;
	x->retry_after = 0;
	buf_reset(&x->errbody);
}

static void exchange_free(struct exchange *x)
{
	exchange_reset(x);
	buf_free(&x->errbody);
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct exchange *x = ud;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new answer (after a redirect or 100-continue) */
		exchange_reset(x);
		const char *sp = memchr(data, ' ', n);
		if (sp)
			x->status = strtol(sp + 1, NULL, 10);
		return n;
	}
	const char *colon = memchr(data, ':', n);
	if (!colon)
		return n;
	size_t kl = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vl = n - kl - 1;
	if (kl == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
		free(x->content_type);
		x->content_type = trim_dup(v, vl);
	} else if (kl == 21 && strncasecmp(data, "Docker-Content-Digest", 21) == 0) {
		free(x->content_digest);
		x->content_digest = trim_dup(v, vl);
	} else if (kl == 16 && strncasecmp(data, "WWW-Authenticate", 16) == 0) {
		free(x->challenge);
		x->challenge = trim_dup(v, vl);
	} else if (kl == 13 && strncasecmp(data, "Content-Range", 13) == 0) {
		free(x->content_range);
		x->content_range = trim_dup(v, vl);
	} else if (kl == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		cleanup_free char *t = trim_dup(v, vl);
		x->retry_after = strtol(t, NULL, 10);
	}
	return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct exchange *x = ud;
	size_t n = size * nmemb;
	if (x->status >= 200 && x->status < 300) {
		if (x->sink->write(x->sink->ud, x->status, data, n) < 0) {
			x->sink_failed = true;
			return 0;
		}
		return n;
	}
	if (x->errbody.len < ERRBODY_MAX)
		buf_append(&x->errbody, data,
			   n < ERRBODY_MAX - x->errbody.len ? n : ERRBODY_MAX - x->errbody.len);
	return n;
}

#define SETOPT(h, opt, val)                                                                        \
	do {                                                                                       \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK)                               \
			abort();                                                                   \
	} while (0)

/* One request without retries. auth_header and range may be NULL. */
static CURLcode perform(struct registry_client *c, const char *url, const char *accept,
			const char *auth_header, const char *range, bool basic, struct exchange *x,
			char *errbuf)
{
	CURL *h = curl_easy_init();
	if (!h)
		abort();
	struct curl_slist *hdrs = NULL;
	cleanup_free char *acc = accept ? xasprintf("Accept: %s", accept) : NULL;
	if (acc)
		hdrs = curl_slist_append(hdrs, acc);
	if (auth_header)
		hdrs = curl_slist_append(hdrs, auth_header);
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_SHARE, c->share);
	SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(h, CURLOPT_MAXREDIRS, 10L);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, 15L);
	SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	SETOPT(h, CURLOPT_LOW_SPEED_TIME, (long)c->opts.stall_seconds);
	SETOPT(h, CURLOPT_USERAGENT, "mink8s-kubelet");
	/* blobs arrive in chunks of this size instead of 16 KiB: each chunk
	 * costs a write to the blob file and a send to the unpacker */
	SETOPT(h, CURLOPT_BUFFERSIZE, RECV_BUFFER);
	SETOPT(h, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(h, CURLOPT_HEADERDATA, x);
	SETOPT(h, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(h, CURLOPT_WRITEDATA, x);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (range)
		SETOPT(h, CURLOPT_RANGE, range);
	if (basic && c->ep.username) {
		SETOPT(h, CURLOPT_USERNAME, c->ep.username);
		SETOPT(h, CURLOPT_PASSWORD, c->ep.password ? c->ep.password : "");
		SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	if (c->ep.ca_file)
		SETOPT(h, CURLOPT_CAINFO, c->ep.ca_file);
	if (c->ep.cert_file)
		SETOPT(h, CURLOPT_SSLCERT, c->ep.cert_file);
	if (c->ep.key_file)
		SETOPT(h, CURLOPT_SSLKEY, c->ep.key_file);
	if (c->ep.insecure_skip_verify) {
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	errbuf[0] = '\0';
	x->sink_failed = false;
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		long code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		x->status = code;
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

/* "Bearer realm="https://auth",service="reg",scope="repository:x:pull"":
 * value of param, new string or NULL. */
static char *challenge_param(const char *ch, const char *param)
{
	size_t pl = strlen(param);
	const char *p = strchr(ch, ' ');
	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *eq = strchr(p, '=');
		if (!eq)
			return NULL;
		bool match = (size_t)(eq - p) == pl && strncasecmp(p, param, pl) == 0;
		const char *v = eq + 1;
		struct buf b = BUF_INIT;
		if (*v == '"') {
			v++;
			while (*v && *v != '"') {
				if (*v == '\\' && v[1])
					v++;
				buf_append_char(&b, *v++);
			}
			if (*v == '"')
				v++;
		} else {
			while (*v && *v != ',')
				buf_append_char(&b, *v++);
		}
		if (match)
			return buf_steal(&b);
		buf_free(&b);
		p = v;
	}
	return NULL;
}

static char *url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			buf_append_char(&b, (char)*p);
		} else {
			buf_append_char(&b, '%');
			buf_append_char(&b, hex[*p >> 4]);
			buf_append_char(&b, hex[*p & 15]);
		}
	}
	return buf_steal(&b);
}

/* The registry's error answer as text: "CODE: message" of its first error,
 * else the trimmed body, else the HTTP status. New string. */
static char *answer_text(const struct exchange *x)
{
	if (x->errbody.len) {
		cleanup_json json_t *j = json_loadb(x->errbody.data, x->errbody.len, 0, NULL);
		json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
		const char *code = json_string_value(json_object_get(e0, "code"));
		const char *msg = json_string_value(json_object_get(e0, "message"));
		if (code || msg)
			return xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "",
					 msg ? msg : "");
		const char *details = json_string_value(json_object_get(j, "details"));
		if (details)
			return xstrdup(details);
		cleanup_free char *t = trim_dup(x->errbody.data, x->errbody.len);
		if (*t && strlen(t) < 300 && !strchr(t, '<'))
			return steal_pointer(&t);
	}
	return xasprintf("HTTP %ld", x->status);
}

static int status_error(const char *method, const char *url, const struct exchange *x,
			struct mk_err **err)
{
	cleanup_free char *t = answer_text(x);
	int code = MK_EIO;
	switch (x->status) {
	case 401:
	case 403:
		code = MK_EUNAUTHORIZED;
		break;
	case 404:
		code = MK_ENOTFOUND;
		break;
	case 429:
		code = MK_EUNAVAILABLE;
		break;
	default:
		if (x->status >= 500)
			code = MK_EUNAVAILABLE;
	}
	return mk_err_set(err, code, "%s %s: %ld %s", method, url, x->status, t);
}

struct bufsink {
	struct buf *b;
	size_t max;
};

static int bufsink_write(void *ud, long status, const char *data, size_t len)
{
	struct bufsink *s = ud;
	(void)status;
	if (s->b->len + len > s->max)
		return -1;
	buf_append(s->b, data, len);
	return 0;
}

/* Fetches a bearer token for the challenge into c->auth. */
static int fetch_token(struct registry_client *c, const char *challenge, struct mk_err **err)
{
	cleanup_free char *realm = challenge_param(challenge, "realm");
	cleanup_free char *service = challenge_param(challenge, "service");
	cleanup_free char *scope = challenge_param(challenge, "scope");
	if (!realm)
		return mk_err_set(err, MK_EUNAUTHORIZED,
				  "%s: bearer challenge without a realm: %s", c->ep.url, challenge);
	if (!scope)
		scope = xasprintf("repository:%s:pull", c->repo);
	struct buf url = BUF_INIT;
	buf_append_str(&url, realm);
	char sep = strchr(realm, '?') ? '&' : '?';
	if (service) {
		cleanup_free char *s = url_escape(service);
		buf_printf(&url, "%cservice=%s", sep, s);
		sep = '&';
	}
	cleanup_free char *sc = url_escape(scope);
	buf_printf(&url, "%cscope=%s", sep, sc);
	cleanup_free char *u = buf_steal(&url);

	cleanup_buf struct buf body = BUF_INIT;
	struct bufsink bs = {.b = &body, .max = 1024 * 1024};
	struct sink sink = {.write = bufsink_write, .ud = &bs};
	struct exchange x = {.sink = &sink};
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc = perform(c, u, "application/json", NULL, NULL, true, &x, errbuf);
	if (rc != CURLE_OK) {
		exchange_free(&x);
		return mk_err_set(err, MK_EUNAVAILABLE, "GET %s: %s", realm,
				  *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	if (x.status != 200) {
		status_error("GET", realm, &x, err);
		exchange_free(&x);
		return mk_err_wrap(err, "fetching token");
	}
	exchange_free(&x);
	cleanup_json json_t *j = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok)
		return mk_err_set(err, MK_EUNAUTHORIZED, "GET %s: no token in the answer", realm);
	pthread_mutex_lock(&c->lock);
	free(c->auth);
	c->auth = xasprintf("Authorization: Bearer %s", tok);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static bool transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Hooks a request gives the retry loop. */
struct request {
	const char *method; /* for messages */
	const char *url;
	const char *accept;
	/* before each attempt: the Range header to send (NULL for none); new string */
	char *(*before)(void *ud);
	/* after a 2xx answer: -1 (with err) to fail without retrying */
	int (*accept_answer)(void *ud, const struct exchange *x, struct mk_err **err);
	/* a write into the sink failed: its error */
	int (*sink_error)(void *ud, struct mk_err **err);
	void *ud;
	const struct sink *sink;
};

/* Runs req with authentication and retries; on success leaves the last
 * answer's headers in *x (caller frees with exchange_free). */
static int run(struct registry_client *c, const struct request *req, struct exchange *x,
	       struct mk_err **err)
{
	bool tried_token = false;
	pthread_mutex_lock(&c->lock);
	bool basic = c->basic;
	pthread_mutex_unlock(&c->lock);
	int attempt = 0;
	long backoff = c->opts.backoff_ms;
	char errbuf[CURL_ERROR_SIZE];
	*x = (struct exchange){.sink = req->sink};
	for (;;) {
		pthread_mutex_lock(&c->lock);
		cleanup_free char *auth = c->auth ? xstrdup(c->auth) : NULL;
		pthread_mutex_unlock(&c->lock);
		cleanup_free char *range = req->before ? req->before(req->ud) : NULL;
		exchange_reset(x);
		CURLcode rc = perform(c, req->url, req->accept, auth, range, basic, x, errbuf);
		if (x->sink_failed)
			return req->sink_error(req->ud, err);
		if (rc == CURLE_OK && x->status >= 200 && x->status < 300)
			return req->accept_answer ? req->accept_answer(req->ud, x, err) : 0;
		if (rc == CURLE_OK && x->status == 401 && x->challenge) {
			if (strncasecmp(x->challenge, "Bearer", 6) == 0 && !tried_token) {
				tried_token = true;
				if (fetch_token(c, x->challenge, err) < 0)
					return mk_err_wrap(err, "%s %s", req->method, req->url);
				continue;
			}
			if (strncasecmp(x->challenge, "Basic", 5) == 0 && !basic &&
			    c->ep.username) {
				basic = true;
				pthread_mutex_lock(&c->lock);
				c->basic = true;
				pthread_mutex_unlock(&c->lock);
				continue;
			}
		}
		bool retry = rc != CURLE_OK ? transient(rc)
					    : (x->status >= 500 || x->status == 429);
		if (retry && attempt < c->opts.retries) {
			attempt++;
			long wait = backoff;
			if (x->retry_after > 0 && x->retry_after * 1000 > wait)
				wait = x->retry_after * 1000 > 10000 ? 10000 : x->retry_after * 1000;
			sleep_ms(wait);
			backoff *= 2;
			continue;
		}
		if (rc != CURLE_OK)
			return mk_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? MK_ETIMEOUT
									      : MK_EUNAVAILABLE,
					  "%s %s: %s", req->method, req->url,
					  *errbuf ? errbuf : curl_easy_strerror(rc));
		status_error(req->method, req->url, x, err);
		if (x->status == 401 && !c->ep.username && !c->ep.identity_token)
			mk_err_wrap(err, "no credentials for %s", c->ep.host);
		return -1;
	}
}

int registry_client_ping(struct registry_client *c, struct mk_err **err)
{
	cleanup_free char *url = xasprintf("%s/v2/", c->ep.url);
	cleanup_buf struct buf body = BUF_INIT;
	struct bufsink bs = {.b = &body, .max = ERRBODY_MAX};
	struct sink sink = {.write = bufsink_write, .ud = &bs};
	struct request req = {.method = "GET", .url = url, .sink = &sink};
	struct exchange x;
	int rc = run(c, &req, &x, err);
	exchange_free(&x);
	return rc;
}

/* ---- manifests ---- */

struct manifest_ctx {
	const char *reference;
	struct buf body;
	struct registry_manifest *out;
	const char *url;
};

static char *manifest_before(void *ud)
{
	struct manifest_ctx *m = ud;
	/* a partial body from a failed attempt must not prefix the next one */
	buf_reset(&m->body);
	return NULL;
}

static int manifest_sink_error(void *ud, struct mk_err **err)
{
	struct manifest_ctx *m = ud;
	return mk_err_set(err, MK_ETOOLARGE, "GET %s: manifest larger than %d bytes", m->url,
			  MANIFEST_MAX);
}

static int manifest_accept(void *ud, const struct exchange *x, struct mk_err **err)
{
	struct manifest_ctx *m = ud;
	char got[OCIDIGEST_LEN];
	ocidigest_of(m->body.data ? m->body.data : "", m->body.len, got);
	const char *want = strncmp(m->reference, "sha256:", 7) == 0 ? m->reference
								      : x->content_digest;
	if (want && strncmp(want, "sha256:", 7) == 0 && strcmp(want, got) != 0)
		return mk_err_set(err, MK_EINVAL, "GET %s: manifest digest mismatch: want %s, got %s",
				  m->url, want, got);
	m->out->len = m->body.len;
	m->out->body = buf_steal(&m->body);
	memcpy(m->out->digest, got, OCIDIGEST_LEN);
	const char *ct = x->content_type;
	cleanup_free char *mt = NULL;
	if (ct) {
		size_t n = strcspn(ct, ";");
		mt = trim_dup(ct, n);
	}
	/* a generic type (some servers send application/json) loses to the body's own */
	if (!mt || !strstr(mt, "vnd.")) {
		cleanup_json json_t *j = json_loadb(m->out->body, m->out->len, 0, NULL);
		const char *bt = json_string_value(json_object_get(j, "mediaType"));
		if (bt) {
			free(mt);
			mt = xstrdup(bt);
		}
	}
	m->out->media_type = mt ? steal_pointer(&mt) : xstrdup("");
	return 0;
}

int registry_manifest_get(struct registry_client *c, const char *reference,
			  struct registry_manifest *out, struct mk_err **err)
{
	memset(out, 0, sizeof(*out));
	cleanup_free char *url = xasprintf("%s/v2/%s/manifests/%s", c->ep.url, c->repo, reference);
	struct manifest_ctx m = {.reference = reference, .body = BUF_INIT, .out = out, .url = url};
	struct bufsink bs = {.b = &m.body, .max = MANIFEST_MAX};
	struct sink sink = {.write = bufsink_write, .ud = &bs};
	struct request req = {.method = "GET",
			      .url = url,
			      .accept = REGISTRY_MANIFEST_ACCEPT,
			      .before = manifest_before,
			      .accept_answer = manifest_accept,
			      .sink_error = manifest_sink_error,
			      .ud = &m,
			      .sink = &sink};
	struct exchange x;
	int rc = run(c, &req, &x, err);
	exchange_free(&x);
	buf_free(&m.body);
	if (rc < 0)
		registry_manifest_clear(out);
	return rc;
}

void registry_manifest_clear(struct registry_manifest *m)
{
	if (!m)
		return;
	free(m->body);
	free(m->media_type);
	memset(m, 0, sizeof(*m));
}

/* ---- blobs ---- */

struct blob_ctx {
	const char *digest;
	const char *url;
	int64_t size;
	int fd;
	int64_t written;       /* bytes on disk and in dig */
	int64_t attempt_start; /* written when this attempt began */
	struct ocidigest *dig;
	int errnum;
	bool too_big;
	bool restart; /* the server ignored our Range: start over */
	int tee_fd;   /* -1, or a socket that gets every byte in order */
	bool tee_ok;
};

static void tee_send(struct blob_ctx *b, const char *data, size_t len)
{
	size_t off = 0;
	while (b->tee_ok && off < len) {
		ssize_t n = send(b->tee_fd, data + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->tee_ok = false; /* the consumer gave up */
			return;
		}
		off += (size_t)n;
	}
}

static int blob_write(void *ud, long status, const char *data, size_t len)
{
	struct blob_ctx *b = ud;
	if (b->restart && status == 206)
		b->restart = false;
	if (b->restart) {
		/* first bytes of a 200 answer to a Range request: the whole blob again */
		b->restart = false;
		if (ftruncate(b->fd, 0) < 0 || lseek(b->fd, 0, SEEK_SET) < 0) {
			b->errnum = errno;
			return -1;
		}
		ocidigest_free(b->dig);
		b->dig = ocidigest_new();
		b->written = 0;
		b->tee_ok = false; /* the consumer already has the first bytes */
	}
	if (b->size >= 0 && b->written + (int64_t)len > b->size) {
		b->too_big = true;
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(b->fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->errnum = errno;
			return -1;
		}
		off += (size_t)n;
	}
	ocidigest_update(b->dig, data, len);
	b->written += (int64_t)len;
	if (b->tee_fd >= 0)
		tee_send(b, data, len);
	return 0;
}

static char *blob_range(void *ud)
{
	struct blob_ctx *b = ud;
	b->attempt_start = b->written;
	b->restart = false;
	if (b->written == 0)
		return NULL;
	/* resumed: a 200 instead of 206 means the server sends everything */
	b->restart = true;
	return xasprintf("%lld-", (long long)b->written);
}

static int blob_sink_error(void *ud, struct mk_err **err)
{
	struct blob_ctx *b = ud;
	if (b->too_big)
		return mk_err_set(err, MK_EINVAL, "GET %s: blob %s is larger than its %lld bytes",
				  b->url, b->digest, (long long)b->size);
	return mk_err_errno(err, MK_EIO, b->errnum, "writing blob %s", b->digest);
}

static int blob_accept(void *ud, const struct exchange *x, struct mk_err **err)
{
	struct blob_ctx *b = ud;
	(void)x;
	if (b->size >= 0 && b->written != b->size)
		return mk_err_set(err, MK_EINVAL, "GET %s: blob %s has %lld bytes, want %lld",
				  b->url, b->digest, (long long)b->written, (long long)b->size);
	char got[OCIDIGEST_LEN];
	ocidigest_final(b->dig, got);
	if (strcmp(got, b->digest) != 0)
		return mk_err_set(err, MK_EINVAL, "GET %s: digest mismatch for blob %s: got %s",
				  b->url, b->digest, got);
	return 0;
}

int registry_blob_get(struct registry_client *c, const char *digest, int64_t size, int fd,
		      struct mk_err **err)
{
	return registry_blob_get_tee(c, digest, size, fd, -1, NULL, err);
}

int registry_blob_get_tee(struct registry_client *c, const char *digest, int64_t size, int fd,
			  int tee_fd, bool *tee_ok, struct mk_err **err)
{
	if (tee_ok)
		*tee_ok = false;
	if (!imageref_digest_valid(digest))
		return mk_err_set(err, MK_EINVAL, "blob digest %s is not sha256:<64 hex>", digest);
	cleanup_free char *url = xasprintf("%s/v2/%s/blobs/%s", c->ep.url, c->repo, digest);
	struct blob_ctx b = {.digest = digest, .url = url, .size = size, .fd = fd,
			     .dig = ocidigest_new(), .tee_fd = tee_fd, .tee_ok = tee_fd >= 0};
	struct sink sink = {.write = blob_write, .ud = &b};
	struct request req = {.method = "GET",
			      .url = url,
			      .before = blob_range,
			      .accept_answer = blob_accept,
			      .sink_error = blob_sink_error,
			      .ud = &b,
			      .sink = &sink};
	struct exchange x;
	int rc = run(c, &req, &x, err);
	exchange_free(&x);
	ocidigest_free(b.dig);
	if (tee_ok)
		*tee_ok = rc == 0 && b.tee_ok;
	return rc;
}
