/* REST client over libcurl: one keep-alive easy handle per client for plain
 * requests, a fresh handle per watch. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "buf.h"
#include "cleanup.h"
#include "client.h"
#include "timefmt.h"
#include "xalloc.h"

#define CLIENT_CONNECT_TIMEOUT_S       10L
#define CLIENT_REQUEST_TIMEOUT_S       60L
#define CLIENT_WATCH_ANSWER_TIMEOUT_MS 60000LL
#define CLIENT_USER_AGENT	       "mink8s/0.1"

struct client {
	char *server;
	char *auth_header; /* "Authorization: Bearer ..." or NULL */
	bool insecure;
	char *ca_file, *cert_file, *key_file;
	struct buf ca_data, cert_data, key_data;
	pthread_mutex_t lock; /* guards easy */
	CURL *easy;
	atomic_llong watch_answer_timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_ALL);
}

static void copy_data(struct buf *dst, const char *data, size_t len)
{
	if (data && len)
		buf_append(dst, data, len);
}

struct client *client_new(const char *server, const struct kubeconfig *kc, struct mk_err **err)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return mk_err_set(err, MK_EIO, "initializing libcurl: %s",
				  curl_easy_strerror(curl_init_result)),
		       NULL;
	if (!server || !*server)
		server = kc ? kubeconfig_server(kc) : KUBECONFIG_DEFAULT_SERVER;
	cleanup_free char *url = NULL;
	if (strncmp(server, "http://", 7) == 0 || strncmp(server, "https://", 8) == 0) {
		url = xstrdup(server);
	} else if (strstr(server, "://")) {
		return mk_err_set(err, MK_EINVAL, "server %s: scheme must be http or https",
				  server),
		       NULL;
	} else {
		bool tls = kc && (kubeconfig_ca_file(kc) || kubeconfig_ca_data(kc, NULL) ||
				  kubeconfig_client_cert_file(kc) ||
				  kubeconfig_client_cert_data(kc, NULL));
		url = xasprintf("%s://%s", tls ? "https" : "http", server);
	}
	struct client *c = xcalloc(1, sizeof(*c));
	c->server = steal_pointer(&url);
	size_t n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	if (kc) {
		if (kubeconfig_token(kc))
			c->auth_header =
				xasprintf("Authorization: Bearer %s", kubeconfig_token(kc));
		c->insecure = kubeconfig_insecure(kc);
		if (kubeconfig_ca_file(kc))
			c->ca_file = xstrdup(kubeconfig_ca_file(kc));
		if (kubeconfig_client_cert_file(kc))
			c->cert_file = xstrdup(kubeconfig_client_cert_file(kc));
		if (kubeconfig_client_key_file(kc))
			c->key_file = xstrdup(kubeconfig_client_key_file(kc));
		size_t len = 0;
		const char *d = kubeconfig_ca_data(kc, &len);
		copy_data(&c->ca_data, d, len);
		d = kubeconfig_client_cert_data(kc, &len);
		copy_data(&c->cert_data, d, len);
		d = kubeconfig_client_key_data(kc, &len);
		copy_data(&c->key_data, d, len);
	}
	pthread_mutex_init(&c->lock, NULL);
	atomic_init(&c->watch_answer_timeout_ms, CLIENT_WATCH_ANSWER_TIMEOUT_MS);
	c->easy = curl_easy_init();
	if (!c->easy) {
		client_free(c);
		return mk_err_set(err, MK_EIO, "curl_easy_init failed"), NULL;
	}
	return c;
}

struct client *client_dup(const struct client *c, struct mk_err **err)
{
	struct client *d = xcalloc(1, sizeof(*d));
	d->server = xstrdup(c->server);
	d->auth_header = c->auth_header ? xstrdup(c->auth_header) : NULL;
	d->insecure = c->insecure;
	d->ca_file = c->ca_file ? xstrdup(c->ca_file) : NULL;
	d->cert_file = c->cert_file ? xstrdup(c->cert_file) : NULL;
	d->key_file = c->key_file ? xstrdup(c->key_file) : NULL;
	copy_data(&d->ca_data, c->ca_data.data, c->ca_data.len);
	copy_data(&d->cert_data, c->cert_data.data, c->cert_data.len);
	copy_data(&d->key_data, c->key_data.data, c->key_data.len);
	pthread_mutex_init(&d->lock, NULL);
	atomic_init(&d->watch_answer_timeout_ms, atomic_load(&c->watch_answer_timeout_ms));
	d->easy = curl_easy_init();
	if (!d->easy) {
		client_free(d);
		return mk_err_set(err, MK_EIO, "curl_easy_init failed"), NULL;
	}
	return d;
}

void client_set_watch_answer_timeout(struct client *c, uint64_t ms)
{
	atomic_store(&c->watch_answer_timeout_ms, (long long)ms);
}

const char *client_server(const struct client *c)
{
	return c->server;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	pthread_mutex_destroy(&c->lock);
	free(c->server);
	free(c->auth_header);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	buf_free(&c->ca_data);
	buf_free(&c->cert_data);
	buf_free(&c->key_data);
	free(c);
}

char *client_query_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			buf_append_char(&b, (char)*p);
		} else {
			buf_append_char(&b, '%');
			buf_append_char(&b, hex[*p >> 4]);
			buf_append_char(&b, hex[*p & 15]);
		}
	}
	return buf_steal(&b);
}

static int map_http_code(long code, const char *reason)
{
	switch (code) {
	case 400:
		return MK_EINVAL;
	case 404:
		return MK_ENOTFOUND;
	case 405:
	case 406:
	case 415:
		return MK_EUNSUPPORTED;
	case 409:
		return reason && strcmp(reason, "AlreadyExists") == 0 ? MK_EEXISTS : MK_ECONFLICT;
	case 410:
		return MK_EEXPIRED;
	case 413:
		return MK_ETOOLARGE;
	case 422:
		return MK_EINVALID;
	case 504:
		return MK_ETIMEOUT;
	default:
		return code >= 500 ? MK_EUNAVAILABLE : MK_EINTERNAL;
	}
}

int client_status_error(const json_t *status, long http_code, struct mk_err **err)
{
	const char *kind = json_string_value(json_object_get(status, "kind"));
	bool is_status = kind && strcmp(kind, "Status") == 0;
	if (http_code == 0)
		http_code = (long)json_integer_value(json_object_get(status, "code"));
	const char *reason =
		is_status ? json_string_value(json_object_get(status, "reason")) : NULL;
	const char *msg = is_status ? json_string_value(json_object_get(status, "message")) : NULL;
	int code = map_http_code(http_code, reason);
	if (msg && *msg)
		return mk_err_set(err, code, "%s", msg);
	if (reason && *reason)
		return mk_err_set(err, code, "%s (HTTP %ld)", reason, http_code);
	return mk_err_set(err, code, "the server responded with HTTP %ld", http_code);
}

/* An error answer: a Status if the body is one, else the trimmed body text. */
static int body_error(long http_code, const struct buf *body, struct mk_err **err)
{
	cleanup_json json_t *status = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	if (json_is_object(status) && json_object_get(status, "kind"))
		return client_status_error(status, http_code, err);
	size_t start = 0, end = body->len;
	while (start < end && strchr(" \t\r\n", body->data[start]))
		start++;
	while (end > start && strchr(" \t\r\n", body->data[end - 1]))
		end--;
	if (end > start)
		return mk_err_set(err, map_http_code(http_code, NULL), "%.*s", (int)(end - start),
				  body->data + start);
	return client_status_error(NULL, http_code, err);
}

/* detail: libcurl's error buffer (CURL_ERROR_SIZE bytes), more precise than
 * the code's text ("SSL certificate problem: unable to get local issuer
 * certificate"); may be empty. */
static int curl_error(CURLcode rc, const char *method, const char *url, const char *detail,
		      struct mk_err **err)
{
	int code = rc == CURLE_OPERATION_TIMEDOUT ? MK_ETIMEOUT : MK_EUNAVAILABLE;
	return mk_err_set(err, code, "%s %s: %s", method, url,
			  detail && *detail ? detail : curl_easy_strerror(rc));
}

#define SETOPT(h, opt, val)                                                                        \
	do {                                                                                       \
		CURLcode _rc = curl_easy_setopt((h), (opt), (val));                                \
		if (_rc != CURLE_OK)                                                               \
			return mk_err_set(err, MK_EIO, "curl option %s: %s", #opt,                 \
					  curl_easy_strerror(_rc));                                \
	} while (0)

static int set_blob(CURL *h, CURLoption opt, const struct buf *b, const char *name,
		    struct mk_err **err)
{
	struct curl_blob blob = {.data = b->data, .len = b->len, .flags = CURL_BLOB_COPY};
	CURLcode rc = curl_easy_setopt(h, opt, &blob);
	if (rc != CURLE_OK)
		return mk_err_set(err, MK_EIO, "curl option %s: %s", name, curl_easy_strerror(rc));
	return 0;
}

/* Options every request of c carries: TLS, timeouts, keep-alive probes. */
static int setup_common(struct client *c, CURL *h, struct mk_err **err)
{
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_USERAGENT, CLIENT_USER_AGENT);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, CLIENT_CONNECT_TIMEOUT_S);
	SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(h, CURLOPT_TCP_KEEPIDLE, 30L);
	SETOPT(h, CURLOPT_TCP_KEEPINTVL, 10L);
	SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (c->insecure) {
		SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_data.len) {
		if (set_blob(h, CURLOPT_CAINFO_BLOB, &c->ca_data, "CAINFO_BLOB", err) < 0)
			return -1;
	} else if (c->ca_file) {
		SETOPT(h, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert_data.len) {
		if (set_blob(h, CURLOPT_SSLCERT_BLOB, &c->cert_data, "SSLCERT_BLOB", err) < 0)
			return -1;
	} else if (c->cert_file) {
		SETOPT(h, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_data.len) {
		if (set_blob(h, CURLOPT_SSLKEY_BLOB, &c->key_data, "SSLKEY_BLOB", err) < 0)
			return -1;
	} else if (c->key_file) {
		SETOPT(h, CURLOPT_SSLKEY, c->key_file);
	}
	return 0;
}

static size_t write_to_buf(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	buf_append(userdata, ptr, size * nmemb);
	return size * nmemb;
}

static struct curl_slist *headers_new(struct client *c, const char *content_type, bool watch)
{
	struct curl_slist *h = NULL, *t;
	t = curl_slist_append(h, "Accept: application/json");
	if (!t)
		abort();
	h = t;
	if (content_type) {
		cleanup_free char *ct = xasprintf("Content-Type: %s", content_type);
		t = curl_slist_append(h, ct);
		if (!t)
			abort();
		h = t;
	}
	if (!watch) {
		/* libcurl would wait for "100 Continue" on larger bodies. */
		t = curl_slist_append(h, "Expect:");
		if (!t)
			abort();
		h = t;
	}
	if (c->auth_header) {
		t = curl_slist_append(h, c->auth_header);
		if (!t)
			abort();
		h = t;
	}
	return h;
}

static void slist_freep(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}

/* Runs one request on the shared handle; called with c->lock held. */
static int perform_locked(struct client *c, const char *method, const char *url,
			  const char *content_type, const char *body, long *http_code,
			  struct buf *out, struct mk_err **err)
{
	CURL *h = c->easy;
	/* Reset drops the previous request's options but keeps the connection. */
	curl_easy_reset(h);
	if (setup_common(c, h, err) < 0)
		return -1;
	__attribute__((cleanup(slist_freep))) struct curl_slist *headers =
		headers_new(c, body ? content_type : NULL, false);
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	SETOPT(h, CURLOPT_TIMEOUT, CLIENT_REQUEST_TIMEOUT_S);
	SETOPT(h, CURLOPT_WRITEFUNCTION, write_to_buf);
	SETOPT(h, CURLOPT_WRITEDATA, out);
	if (strcmp(method, "GET") != 0)
		SETOPT(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		SETOPT(h, CURLOPT_POSTFIELDS, body);
	}
	char detail[CURL_ERROR_SIZE] = "";
	SETOPT(h, CURLOPT_ERRORBUFFER, detail);
	CURLcode rc = curl_easy_perform(h);
	/* The buffer is a local: the handle must not keep pointing at it. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK)
		return curl_error(rc, method, url, detail, err);
	rc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http_code);
	if (rc != CURLE_OK)
		return mk_err_set(err, MK_EIO, "%s %s: %s", method, url, curl_easy_strerror(rc));
	return 0;
}

json_t *client_request(struct client *c, const char *method, const char *path,
		       const char *content_type, const json_t *body, struct mk_err **err)
{
	cleanup_free char *url = xasprintf("%s%s", c->server, path);
	cleanup_free char *text = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return mk_err_set(err, MK_EINVAL, "%s %s: body cannot be serialized",
					  method, path),
			       NULL;
	}
	cleanup_buf struct buf out = BUF_INIT;
	long http_code = 0;
	pthread_mutex_lock(&c->lock);
	int r = perform_locked(c, method, url, content_type ? content_type : "application/json",
			       text, &http_code, &out, err);
	pthread_mutex_unlock(&c->lock);
	if (r < 0)
		return NULL;
	if (http_code < 200 || http_code >= 300)
		return body_error(http_code, &out, err), NULL;
	if (out.len == 0)
		return json_null();
	json_error_t jerr;
	json_t *v = json_loadb(out.data, out.len, 0, &jerr);
	if (!v)
		return mk_err_set(err, MK_EINVAL, "%s %s: answer is not JSON: %s", method, path,
				  jerr.text),
		       NULL;
	return v;
}

json_t *client_get(struct client *c, const char *path, struct mk_err **err)
{
	return client_request(c, "GET", path, NULL, NULL, err);
}

json_t *client_list(struct client *c, const char *collection_path, const char *label_selector,
		    const char *field_selector, struct mk_err **err)
{
	cleanup_buf struct buf p = BUF_INIT;
	buf_append_str(&p, collection_path);
	char sep = strchr(collection_path, '?') ? '&' : '?';
	if (label_selector && *label_selector) {
		cleanup_free char *e = client_query_escape(label_selector);
		buf_printf(&p, "%clabelSelector=%s", sep, e);
		sep = '&';
	}
	if (field_selector && *field_selector) {
		cleanup_free char *e = client_query_escape(field_selector);
		buf_printf(&p, "%cfieldSelector=%s", sep, e);
	}
	return client_request(c, "GET", buf_str(&p), NULL, NULL, err);
}

json_t *client_create(struct client *c, const char *collection_path, const json_t *obj,
		      struct mk_err **err)
{
	return client_request(c, "POST", collection_path, NULL, obj, err);
}

json_t *client_update(struct client *c, const char *path, const json_t *obj, struct mk_err **err)
{
	return client_request(c, "PUT", path, NULL, obj, err);
}

json_t *client_patch(struct client *c, const char *path, const char *patch_type,
		     const json_t *patch, struct mk_err **err)
{
	const char *ct;
	if (patch_type && strcmp(patch_type, "merge") == 0)
		ct = "application/merge-patch+json";
	else if (patch_type && strcmp(patch_type, "strategic") == 0)
		ct = "application/strategic-merge-patch+json";
	else if (patch_type && strcmp(patch_type, "json") == 0)
		ct = "application/json-patch+json";
	else
		return mk_err_set(err, MK_EINVAL, "unknown patch type %s",
				  patch_type ? patch_type : "(null)"),
		       NULL;
	return client_request(c, "PATCH", path, ct, patch, err);
}

int client_delete(struct client *c, const char *path, const json_t *delete_options,
		  struct mk_err **err)
{
	cleanup_json json_t *r = client_request(c, "DELETE", path, NULL, delete_options, err);
	return r ? 0 : -1;
}

/* ---- watch stream framing ---- */

void client_watch_decoder_init(struct client_watch_decoder *d, client_watch_fn on_event, void *arg)
{
	*d = (struct client_watch_decoder){.pending = BUF_INIT, .on_event = on_event, .arg = arg};
}

void client_watch_decoder_free(struct client_watch_decoder *d)
{
	buf_free(&d->pending);
}

bool client_watch_decoder_partial(const struct client_watch_decoder *d)
{
	for (size_t i = 0; i < d->pending.len; i++)
		if (!strchr(" \t\r\n", d->pending.data[i]))
			return true;
	return false;
}

static int dispatch_event(struct client_watch_decoder *d, const char *text, size_t len,
			  struct mk_err **err)
{
	json_error_t jerr;
	cleanup_json json_t *ev = json_loadb(text, len, 0, &jerr);
	if (!ev)
		return mk_err_set(err, MK_EINVAL, "watch stream: %s", jerr.text);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	if (!type || !obj)
		return mk_err_set(err, MK_EINVAL, "watch stream: event without type or object");
	return d->on_event(type, obj, d->arg) ? 1 : 0;
}

/* Scans for complete top-level JSON objects; the scanner state survives
 * between chunks, so every byte is looked at once. */
int client_watch_decoder_feed(struct client_watch_decoder *d, const char *data, size_t len,
			      struct mk_err **err)
{
	if (d->stopped)
		return 1;
	buf_append(&d->pending, data, len);
	char *p = d->pending.data;
	size_t start = 0; /* first byte not yet consumed */
	int r = 0;
	for (size_t i = d->scan; i < d->pending.len && r == 0; i++) {
		char ch = p[i];
		if (d->depth == 0) {
			if (strchr(" \t\r\n", ch)) {
				start = i + 1;
				continue;
			}
			if (ch != '{') {
				return mk_err_set(
					err, MK_EINVAL,
					"watch stream: unexpected byte 0x%02x between events",
					(unsigned char)ch);
			}
			start = i;
			d->depth = 1;
			continue;
		}
		if (d->in_string) {
			if (d->escape)
				d->escape = false;
			else if (ch == '\\')
				d->escape = true;
			else if (ch == '"')
				d->in_string = false;
			continue;
		}
		switch (ch) {
		case '"':
			d->in_string = true;
			break;
		case '{':
		case '[':
			d->depth++;
			break;
		case '}':
		case ']':
			if (--d->depth == 0) {
				r = dispatch_event(d, p + start, i + 1 - start, err);
				if (r < 0)
					return -1;
				start = i + 1;
			}
			break;
		default:
			break;
		}
	}
	if (r == 1) {
		d->stopped = true;
		return 1;
	}
	/* Keep only the unfinished value; scan resumes where it stopped. */
	if (d->depth == 0)
		start = d->pending.len;
	memmove(p, p + start, d->pending.len - start);
	d->pending.len -= start;
	p[d->pending.len] = '\0';
	d->scan = d->pending.len;
	return 0;
}

/* ---- watch ---- */

struct watch_ctx {
	CURL *h;
	struct client_watch_decoder dec;
	struct mk_err *err;    /* decoder failure */
	long http_code;	       /* 0 until the first body bytes */
	struct buf error_body; /* body of a non-2xx answer */
	const atomic_bool *cancel;
	long long started_ns;
	long long answer_timeout_ms;
	bool header_timeout; /* no answer within answer_timeout_ms */
	char detail[CURL_ERROR_SIZE];
};

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct watch_ctx *w = userdata;
	size_t n = size * nmemb;
	if (w->http_code == 0 &&
	    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->http_code) != CURLE_OK)
		w->http_code = 500;
	if (w->http_code < 200 || w->http_code >= 300) {
		buf_append(&w->error_body, ptr, n);
		return n;
	}
	int r = client_watch_decoder_feed(&w->dec, ptr, n, &w->err);
	return r == 0 ? n : 0; /* a short count makes libcurl end the transfer */
}

static int watch_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			  curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct watch_ctx *w = userdata;
	if (w->cancel && atomic_load(w->cancel))
		return 1;
	/* An idle watch is normal, a server that never answers is not; the
	 * plain request timeout cannot be used for a stream. */
	long code = 0;
	if (curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 0 &&
	    time_mono_ns() - w->started_ns > w->answer_timeout_ms * 1000000LL) {
		w->header_timeout = true;
		return 1;
	}
	return 0;
}

static int watch_setup(struct client *c, struct watch_ctx *w, const char *url,
		       struct curl_slist *headers, struct mk_err **err)
{
	CURL *h = w->h;
	if (setup_common(c, h, err) < 0)
		return -1;
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	SETOPT(h, CURLOPT_WRITEFUNCTION, watch_write);
	SETOPT(h, CURLOPT_WRITEDATA, w);
	SETOPT(h, CURLOPT_NOPROGRESS, 0L);
	SETOPT(h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	SETOPT(h, CURLOPT_XFERINFODATA, w);
	SETOPT(h, CURLOPT_ERRORBUFFER, w->detail);
	return 0;
}

int client_watch_cancellable(struct client *c, const char *path_with_query,
			     client_watch_fn on_event, void *arg, const atomic_bool *cancel,
			     struct mk_err **err)
{
	cleanup_free char *url = xasprintf("%s%s", c->server, path_with_query);
	struct watch_ctx w = {.cancel = cancel,
			      .error_body = BUF_INIT,
			      .started_ns = time_mono_ns(),
			      .answer_timeout_ms = atomic_load(&c->watch_answer_timeout_ms)};
	client_watch_decoder_init(&w.dec, on_event, arg);
	__attribute__((cleanup(slist_freep))) struct curl_slist *headers =
		headers_new(c, NULL, true);
	int ret = -1;
	w.h = curl_easy_init();
	if (!w.h) {
		mk_err_set(err, MK_EIO, "curl_easy_init failed");
		goto out;
	}
	if (watch_setup(c, &w, url, headers, err) < 0)
		goto out;
	CURLcode rc = curl_easy_perform(w.h);
	if (w.err) {
		*err = steal_pointer(&w.err);
		goto out;
	}
	if (w.dec.stopped || (rc == CURLE_ABORTED_BY_CALLBACK && cancel && atomic_load(cancel))) {
		ret = 0;
		goto out;
	}
	if (w.header_timeout) {
		mk_err_set(err, MK_ETIMEOUT, "GET %s: no answer within %lld ms", url,
			   w.answer_timeout_ms);
		goto out;
	}
	if (rc != CURLE_OK) {
		curl_error(rc, "GET", url, w.detail, err);
		goto out;
	}
	if (w.http_code == 0 &&
	    curl_easy_getinfo(w.h, CURLINFO_RESPONSE_CODE, &w.http_code) != CURLE_OK)
		w.http_code = 500;
	if (w.http_code < 200 || w.http_code >= 300) {
		body_error(w.http_code, &w.error_body, err);
		goto out;
	}
	if (client_watch_decoder_partial(&w.dec)) {
		mk_err_set(err, MK_EUNAVAILABLE, "GET %s: stream ended inside an event", url);
		goto out;
	}
	ret = 0;
out:
	if (w.h)
		curl_easy_cleanup(w.h);
	client_watch_decoder_free(&w.dec);
	buf_free(&w.error_body);
	mk_err_free(w.err);
	return ret;
}

int client_watch(struct client *c, const char *path_with_query, client_watch_fn on_event, void *arg,
		 struct mk_err **err)
{
	return client_watch_cancellable(c, path_with_query, on_event, arg, NULL, err);
}
