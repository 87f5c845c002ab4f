/* client and informer against an in-process HTTP server (libmicrohttpd) that
 * speaks the API server's list/watch/Status protocol, plus the watch-stream
 * decoder fed in arbitrary chunks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>

#include "buf.h"
#include "cleanup.h"
#include "client.h"
#include "informer.h"
#include "json.h"
#include "timefmt.h"
#include "xalloc.h"

/* ---------------- watch decoder ---------------- */

struct collected {
	struct buf log; /* "TYPE name;" per event */
	int stop_after; /* 0: never stop */
	int n;
};

static int collect(const char *type, json_t *obj, void *arg)
{
	struct collected *c = arg;
	const char *name = json_path_str(obj, "metadata.name");
	buf_printf(&c->log, "%s %s;", type, name ? name : "-");
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},"
	"\"data\":\"braces } { ] [ and \\\"quotes\\\" and \\\\\"}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"b\",\"list\":[1,{\"x\":[]}]}}}"
	"\n"
	"\r\n  {\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"\\u00e9\\\\\"}}}"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n";
static const char stream_log[] = "ADDED a;MODIFIED b;DELETED \xc3\xa9\\;BOOKMARK -;";

static void test_decoder_chunks(void **state)
{
	(void)state;
	size_t len = strlen(stream);
	/* every chunk size, including one byte at a time */
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct collected c = {.log = BUF_INIT};
		struct client_watch_decoder d;
		client_watch_decoder_init(&d, collect, &c);
		cleanup_err struct mk_err *err = NULL;
		for (size_t off = 0; off < len; off += chunk) {
			size_t n = len - off < chunk ? len - off : chunk;
			assert_int_equal(client_watch_decoder_feed(&d, stream + off, n, &err), 0);
		}
		assert_string_equal(buf_str(&c.log), stream_log);
		assert_false(client_watch_decoder_partial(&d));
		client_watch_decoder_free(&d);
		buf_free(&c.log);
	}
	/* a cut in the middle of an event is reported as partial */
	struct collected c = {.log = BUF_INIT};
	struct client_watch_decoder d;
	client_watch_decoder_init(&d, collect, &c);
	assert_int_equal(client_watch_decoder_feed(&d, stream, 30, NULL), 0);
	assert_true(client_watch_decoder_partial(&d));
	assert_int_equal(c.n, 0);
	client_watch_decoder_free(&d);
	buf_free(&c.log);
}

static void test_decoder_stop_and_errors(void **state)
{
	(void)state;
	struct collected c = {.log = BUF_INIT, .stop_after = 2};
	struct client_watch_decoder d;
	client_watch_decoder_init(&d, collect, &c);
	assert_int_equal(client_watch_decoder_feed(&d, stream, strlen(stream), NULL), 1);
	assert_string_equal(buf_str(&c.log), "ADDED a;MODIFIED b;");
	assert_int_equal(client_watch_decoder_feed(&d, stream, strlen(stream), NULL), 1);
	assert_int_equal(c.n, 2);
	client_watch_decoder_free(&d);
	buf_free(&c.log);

	const char *bad[] = {
		"hello\n",
		"{\"type\":\"ADDED\"}\n",
		"{\"object\":{}}\n",
		"{\"type\":\"ADDED\",\"object\":{},}\n",
	};
	const char *msgs[] = {
		"watch stream: unexpected byte 0x68 between events",
		"watch stream: event without type or object",
		"watch stream: event without type or object",
		"watch stream: ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct collected c2 = {.log = BUF_INIT};
		client_watch_decoder_init(&d, collect, &c2);
		cleanup_err struct mk_err *err = NULL;
		assert_int_equal(client_watch_decoder_feed(&d, bad[i], strlen(bad[i]), &err), -1);
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		assert_non_null(strstr(mk_err_msg(err), msgs[i]));
		client_watch_decoder_free(&d);
		buf_free(&c2.log);
	}
}

/* ---------------- fake API server ---------------- */

struct fake {
	struct MHD_Daemon *d;
	uint16_t port;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *objects; /* name -> pod */
	json_t *log;	 /* events in order, each with its revision */
	long rv, compacted;
	int gen;      /* bumped to end open watches */
	bool closing; /* the daemon is stopping */
	size_t chunk; /* max bytes per write of a watch stream */
	size_t page;  /* lists with a limit: this many items per page */
	atomic_int lists, watches;
	json_t *last;			      /* the last /echo request */
	char *tls_cert, *tls_key, *tls_trust; /* PEM; HTTPS when tls_cert is set */
};

struct upload {
	struct buf body;
};

struct watch_reader {
	struct fake *f;
	long rv;
	int gen;
	bool expired_sent;
	struct buf out;
	size_t pos;
};

static void fake_log_locked(struct fake *f, const char *type, json_t *obj)
{
	json_array_append_new(f->log, json_pack("{s:s,s:O,s:I}", "type", type, "object", obj, "rv",
						(json_int_t)f->rv));
	pthread_cond_broadcast(&f->cond);
}

static void fake_put_locked(struct fake *f, const char *name, const char *value)
{
	f->rv++;
	char rv[32];
	snprintf(rv, sizeof(rv), "%ld", f->rv);
	bool exists = json_object_get(f->objects, name) != NULL;
	json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s}}", "kind", "Pod", "apiVersion",
				"v1", "metadata", "name", name, "namespace", "default",
				"resourceVersion", rv, "spec", "value", value);
	json_object_set_new(f->objects, name, pod);
	fake_log_locked(f, exists ? "MODIFIED" : "ADDED", pod);
}

static void fake_put(struct fake *f, const char *name, const char *value)
{
	pthread_mutex_lock(&f->lock);
	fake_put_locked(f, name, value);
	pthread_mutex_unlock(&f->lock);
}

static void fake_delete_locked(struct fake *f, const char *name)
{
	json_t *pod = json_object_get(f->objects, name);
	assert_non_null(pod);
	f->rv++;
	char rv[32];
	snprintf(rv, sizeof(rv), "%ld", f->rv);
	cleanup_json json_t *last = json_deep_copy(pod);
	json_object_set_new(json_object_get(last, "metadata"), "resourceVersion", json_string(rv));
	json_object_del(f->objects, name);
	fake_log_locked(f, "DELETED", last);
}

static void fake_delete(struct fake *f, const char *name)
{
	pthread_mutex_lock(&f->lock);
	fake_delete_locked(f, name);
	pthread_mutex_unlock(&f->lock);
}

static ssize_t watch_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct watch_reader *w = cls;
	struct fake *f = w->f;
	if (w->pos == w->out.len) {
		buf_reset(&w->out);
		w->pos = 0;
		pthread_mutex_lock(&f->lock);
		for (;;) {
			if (f->closing) {
				pthread_mutex_unlock(&f->lock);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
			if (f->gen != w->gen) {
				pthread_mutex_unlock(&f->lock);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
			if (w->rv < f->compacted) {
				if (w->expired_sent) {
					pthread_mutex_unlock(&f->lock);
					return MHD_CONTENT_READER_END_OF_STREAM;
				}
				buf_printf(&w->out,
					   "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
					   "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
					   "\"Failure\","
					   "\"message\":\"too old resource version: %ld (%ld)\","
					   "\"reason\":\"Expired\",\"code\":410}}\n",
					   w->rv, f->compacted);
				w->expired_sent = true;
				break;
			}
			size_t i;
			json_t *ev;
			json_array_foreach(f->log, i, ev)
			{
				long rv = (long)json_integer_value(json_object_get(ev, "rv"));
				if (rv <= w->rv)
					continue;
				cleanup_json json_t *wire =
					json_pack("{s:O,s:O}", "type", json_object_get(ev, "type"),
						  "object", json_object_get(ev, "object"));
				cleanup_free char *line = json_dump_compact(wire);
				buf_printf(&w->out, "%s\n", line);
				w->rv = rv;
			}
			if (w->out.len)
				break;
			long long until = time_mono_ns() + 100000000LL;
			struct timespec ts = {.tv_sec = until / 1000000000LL,
					      .tv_nsec = until % 1000000000LL};
			pthread_cond_timedwait(&f->cond, &f->lock, &ts);
		}
		pthread_mutex_unlock(&f->lock);
	}
	size_t n = w->out.len - w->pos;
	if (n > max)
		n = max;
	if (f->chunk && n > f->chunk)
		n = f->chunk;
	memcpy(out, w->out.data + w->pos, n);
	w->pos += n;
	return (ssize_t)n;
}

static void watch_free(void *cls)
{
	struct watch_reader *w = cls;
	buf_free(&w->out);
	free(w);
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned code, const json_t *v)
{
	char *text = json_dump_compact(v);
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_pods(struct fake *f, struct MHD_Connection *conn)
{
	const char *watch = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "watch");
	if (!watch) {
		atomic_fetch_add(&f->lists, 1);
		const char *limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
		const char *cont = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "continue");
		/* pages: the continue token is the offset of the next item */
		size_t from = cont ? (size_t)atol(cont) : 0, upto = SIZE_MAX, at = 0;
		pthread_mutex_lock(&f->lock);
		if (limit && f->page)
			upto = from + f->page;
		json_t *items = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(f->objects, k, v)
		{
			if (at < from || at >= upto) {
				at++;
				continue;
			}
			at++;
			/* list items come without kind, like upstream's */
			json_t *copy = json_deep_copy(v);
			json_object_del(copy, "kind");
			json_object_del(copy, "apiVersion");
			json_array_append_new(items, copy);
		}
		char rv[32], next[32] = "";
		snprintf(rv, sizeof(rv), "%ld", f->rv);
		if (at > upto)
			snprintf(next, sizeof(next), "%zu", upto);
		pthread_mutex_unlock(&f->lock);
		cleanup_json json_t *list =
			json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "kind", "PodList", "apiVersion", "v1",
				  "metadata", "resourceVersion", rv, "continue", next, "items", items);
		return reply_json(conn, 200, list);
	}
	atomic_fetch_add(&f->watches, 1);
	const char *rv =
		MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "resourceVersion");
	struct watch_reader *w = xcalloc(1, sizeof(*w));
	w->f = f;
	w->rv = rv ? atol(rv) : 0;
	pthread_mutex_lock(&f->lock);
	w->gen = f->gen;
	pthread_mutex_unlock(&f->lock);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
								   watch_read, w, watch_free);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct fake *f = cls;
	struct upload *up = *con_cls;
	if (!up) {
		up = xcalloc(1, sizeof(*up));
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_size) {
		buf_append(&up->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/api/v1/pods") == 0)
		return serve_pods(f, conn);
	if (strncmp(url, "/status/", 8) == 0) {
		/* /status/<code>?reason=R&message=M: a Status answer */
		const char *reason =
			MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "reason");
		const char *msg =
			MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "message");
		int code = atoi(url + 8);
		cleanup_json json_t *st =
			json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion",
				  "v1", "metadata", "status", "Failure", "message", msg ? msg : "",
				  "reason", reason ? reason : "", "code", code);
		return reply_json(conn, (unsigned)code, st);
	}
	if (strcmp(url, "/text") == 0)
		return reply_text(conn, 503, "  upstream connect error\n");
	if (strcmp(url, "/empty") == 0)
		return reply_text(conn, 403, "");
	/* /echo...: the request as the server saw it */
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "labelSelector");
	cleanup_json json_t *echo = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s}", "method", method,
					      "url", url, "contentType", ct, "auth", auth,
					      "labelSelector", q, "body", buf_str(&up->body));
	pthread_mutex_lock(&f->lock);
	json_decref(f->last);
	f->last = json_incref(echo);
	pthread_mutex_unlock(&f->lock);
	return reply_json(conn, strcmp(method, "POST") == 0 ? 201 : 200, echo);
}

static void fake_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct upload *up = *con_cls;
	if (up) {
		buf_free(&up->body);
		free(up);
	}
	*con_cls = NULL;
}

static void fake_start(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->closing = false;
	pthread_mutex_unlock(&f->lock);
	/* loopback only */
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(f->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	if (f->tls_cert)
		f->d = MHD_start_daemon(
			flags | MHD_USE_TLS, 0, NULL, NULL, fake_handler, f, MHD_OPTION_SOCK_ADDR,
			&sin, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_NOTIFY_COMPLETED,
			fake_completed, f, MHD_OPTION_HTTPS_MEM_CERT, f->tls_cert,
			MHD_OPTION_HTTPS_MEM_KEY, f->tls_key, MHD_OPTION_HTTPS_MEM_TRUST,
			f->tls_trust, MHD_OPTION_END);
	else
		f->d = MHD_start_daemon(flags, 0, NULL, NULL, fake_handler, f, MHD_OPTION_SOCK_ADDR,
					&sin, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
					MHD_OPTION_NOTIFY_COMPLETED, fake_completed, f,
					MHD_OPTION_END);
	assert_non_null(f->d);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	f->port = info->port;
}

static void fake_stop(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->closing = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	MHD_stop_daemon(f->d);
	f->d = NULL;
}

static struct fake *fake_new_tls(const char *cert, const char *key, const char *trust)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	f->tls_cert = cert ? xstrdup(cert) : NULL;
	f->tls_key = key ? xstrdup(key) : NULL;
	f->tls_trust = trust ? xstrdup(trust) : NULL;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &attr);
	pthread_condattr_destroy(&attr);
	f->objects = json_object();
	f->log = json_array();
	f->rv = 100;
	fake_start(f);
	return f;
}

static struct fake *fake_new(void)
{
	return fake_new_tls(NULL, NULL, NULL);
}

static void fake_free(struct fake *f)
{
	if (f->d)
		fake_stop(f);
	json_decref(f->objects);
	json_decref(f->log);
	json_decref(f->last);
	free(f->tls_cert);
	free(f->tls_key);
	free(f->tls_trust);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct client *fake_client(struct fake *f)
{
	cleanup_free char *url = xasprintf("http://127.0.0.1:%u/", f->port);
	cleanup_err struct mk_err *err = NULL;
	struct client *c = client_new(url, NULL, &err);
	assert_non_null(c);
	return c;
}

/* ---------------- client requests ---------------- */

static void test_requests(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	static const char kc_text[] =
		"current-context: x\n"
		"clusters: [{name: x, cluster: {server: 'http://ignored:1'}}]\n"
		"contexts: [{name: x, context: {cluster: x, user: u}}]\n"
		"users: [{name: u, user: {token: s3cret}}]\n";
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_parse(kc_text, strlen(kc_text), NULL, NULL, &err);
	assert_non_null(kc);
	cleanup_free char *url = xasprintf("http://127.0.0.1:%u", f->port);
	struct client *c = client_new(url, kc, &err);
	kubeconfig_free(kc);
	assert_non_null(c);
	assert_string_equal(client_server(c), url);

	cleanup_json json_t *obj = json_pack("{s:s}", "kind", "Pod");
	json_t *r = client_get(c, "/echo/get", &err);
	assert_non_null(r);
	assert_string_equal(json_path_str(r, "method"), "GET");
	assert_string_equal(json_path_str(r, "auth"), "Bearer s3cret");
	json_decref(r);

	r = client_create(c, "/echo/create", obj, &err);
	assert_string_equal(json_path_str(r, "method"), "POST");
	assert_string_equal(json_path_str(r, "contentType"), "application/json");
	assert_string_equal(json_path_str(r, "body"), "{\"kind\":\"Pod\"}");
	json_decref(r);

	r = client_update(c, "/echo/update", obj, &err);
	assert_string_equal(json_path_str(r, "method"), "PUT");
	json_decref(r);

	const char *types[][2] = {{"merge", "application/merge-patch+json"},
				  {"strategic", "application/strategic-merge-patch+json"},
				  {"json", "application/json-patch+json"}};
	for (int i = 0; i < 3; i++) {
		r = client_patch(c, "/echo/patch", types[i][0], obj, &err);
		assert_non_null(r);
		assert_string_equal(json_path_str(r, "method"), "PATCH");
		assert_string_equal(json_path_str(r, "contentType"), types[i][1]);
		json_decref(r);
	}
	assert_null(client_patch(c, "/echo/patch", "apply", obj, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(steal_pointer(&err));

	cleanup_json json_t *opts = json_pack("{s:s}", "propagationPolicy", "Foreground");
	assert_int_equal(client_delete(c, "/echo/delete", opts, &err), 0);
	pthread_mutex_lock(&f->lock);
	assert_string_equal(json_path_str(f->last, "method"), "DELETE");
	assert_string_equal(json_path_str(f->last, "body"),
			    "{\"propagationPolicy\":\"Foreground\"}");
	pthread_mutex_unlock(&f->lock);

	r = client_list(c, "/echo/list", "app in (a,b),tier!=x", "", &err);
	assert_string_equal(json_path_str(r, "labelSelector"), "app in (a,b),tier!=x");
	json_decref(r);

	/* a duplicate keeps the credentials */
	struct client *d = client_dup(c, &err);
	client_free(c);
	r = client_get(d, "/echo/dup", &err);
	assert_string_equal(json_path_str(r, "auth"), "Bearer s3cret");
	json_decref(r);
	client_free(d);

	/* a server without a scheme: http without TLS settings */
	cleanup_free char *hostport = xasprintf("127.0.0.1:%u", f->port);
	c = client_new(hostport, NULL, &err);
	assert_non_null(c);
	assert_string_equal(client_server(c), url);
	r = client_get(c, "/echo/noscheme", &err);
	assert_non_null(r);
	json_decref(r);
	client_free(c);
	fake_free(f);
}

static void test_status_errors(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct client *c = fake_client(f);
	struct {
		const char *path;
		int code;
		const char *msg;
	} cases[] = {
		{"/status/404?reason=NotFound&message=pods%20%22x%22%20not%20found", MK_ENOTFOUND,
		 "pods \"x\" not found"},
		{"/status/409?reason=AlreadyExists&message=exists", MK_EEXISTS, "exists"},
		{"/status/409?reason=Conflict&message=modified", MK_ECONFLICT, "modified"},
		{"/status/410?reason=Expired&message=too%20old", MK_EEXPIRED, "too old"},
		{"/status/422?reason=Invalid&message=bad%20spec", MK_EINVALID, "bad spec"},
		{"/status/400?reason=BadRequest&message=bad%20selector", MK_EINVAL, "bad selector"},
		{"/status/500?reason=InternalError&message=oops", MK_EUNAVAILABLE, "oops"},
		{"/status/503?reason=ServiceUnavailable", MK_EUNAVAILABLE,
		 "ServiceUnavailable (HTTP 503)"},
		{"/status/415?reason=UnsupportedMediaType&message=no", MK_EUNSUPPORTED, "no"},
		{"/text", MK_EUNAVAILABLE, "upstream connect error"},
		{"/empty", MK_EINTERNAL, "the server responded with HTTP 403"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_err struct mk_err *err = NULL;
		assert_null(client_get(c, cases[i].path, &err));
		if (mk_err_code(err) != cases[i].code || strcmp(mk_err_msg(err), cases[i].msg))
			fail_msg("%s: code %d msg %s", cases[i].path, mk_err_code(err),
				 mk_err_msg(err));
	}
	/* the same Status inside a watch stream */
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(
		client_watch(c, "/status/410?reason=Expired&message=gone", collect, NULL, &err),
		-1);
	assert_int_equal(mk_err_code(err), MK_EEXPIRED);
	assert_string_equal(mk_err_msg(err), "gone");
	client_free(c);

	/* nobody listening */
	uint16_t port = f->port;
	fake_free(f);
	cleanup_free char *url = xasprintf("http://127.0.0.1:%u", port);
	mk_err_free(steal_pointer(&err));
	c = client_new(url, NULL, &err);
	assert_null(client_get(c, "/api", &err));
	assert_int_equal(mk_err_code(err), MK_EUNAVAILABLE);
	assert_non_null(strstr(mk_err_msg(err), "GET http://127.0.0.1:"));
	client_free(c);

	mk_err_free(steal_pointer(&err));
	assert_null(client_new("ftp://x", NULL, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), "server ftp://x: scheme must be http or https");
}

static void *bump_gen_later(void *arg)
{
	struct fake *f = arg;
	usleep(300 * 1000);
	pthread_mutex_lock(&f->lock);
	f->gen++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

struct cancel_later {
	atomic_bool flag;
	int delay_ms;
};

static void *cancel_later(void *arg)
{
	struct cancel_later *cl = arg;
	usleep((useconds_t)cl->delay_ms * 1000);
	atomic_store(&cl->flag, true);
	return NULL;
}

static void test_watch_stream(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	f->chunk = 7; /* events arrive split across many chunks */
	fake_put(f, "a", "1");
	fake_put(f, "b", "1");
	fake_put(f, "a", "2");
	fake_delete(f, "b");
	struct client *c = fake_client(f);
	struct collected col = {.log = BUF_INIT, .stop_after = 4};
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(
		client_watch(c, "/api/v1/pods?watch=1&resourceVersion=100", collect, &col, &err),
		0);
	assert_string_equal(buf_str(&col.log), "ADDED a;ADDED b;MODIFIED a;DELETED b;");

	/* the server ending the stream ends the watch with 0 */
	buf_reset(&col.log);
	col.n = 0;
	col.stop_after = 0;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, bump_gen_later, f), 0);
	assert_int_equal(
		client_watch(c, "/api/v1/pods?watch=1&resourceVersion=102", collect, &col, &err),
		0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_string_equal(buf_str(&col.log), "MODIFIED a;DELETED b;");

	/* cancellation from another thread ends an idle watch within about a second */
	struct cancel_later cl = {.delay_ms = 200};
	long long t0 = time_mono_ns();
	assert_int_equal(pthread_create(&th, NULL, cancel_later, &cl), 0);
	assert_int_equal(client_watch_cancellable(c, "/api/v1/pods?watch=1&resourceVersion=104",
						  collect, &col, &cl.flag, &err),
			 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	long long took = time_mono_ns() - t0;
	assert_true(took >= 200000000LL && took < 2500000000LL);
	client_free(c);

	/* a server that takes the connection and never answers: the kernel
	 * completes the handshake on a listening socket nobody accepts from */
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(ls, 4), 0);
	socklen_t sl = sizeof(sin);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &sl), 0);
	cleanup_free char *mute = xasprintf("http://127.0.0.1:%u", ntohs(sin.sin_port));
	c = client_new(mute, NULL, &err);
	client_set_watch_answer_timeout(c, 300);
	t0 = time_mono_ns();
	assert_int_equal(client_watch(c, "/api/v1/pods?watch=1", collect, &col, &err), -1);
	took = time_mono_ns() - t0;
	assert_int_equal(mk_err_code(err), MK_ETIMEOUT);
	assert_non_null(strstr(mk_err_msg(err), "no answer within 300 ms"));
	assert_true(took >= 300000000LL && took < 3000000000LL);
	close(ls);
	client_free(c);
	buf_free(&col.log);
	fake_free(f);
}

/* ---------------- TLS ---------------- */

static char *tls_fixture_path(const char *name)
{
	const char *root = getenv("MK_ROOT");
	return xasprintf("%s/tests/fixtures/kubeconfig/tls/%s", root ? root : ".", name);
}

static char *slurp(const char *name)
{
	cleanup_free char *path = tls_fixture_path(name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *text = NULL;
	size_t cap = 0;
	assert_true(getdelim(&text, &cap, '\0', f) > 0);
	fclose(f);
	return text;
}

static char *b64(const char *s)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf b = BUF_INIT;
	size_t n = strlen(s);
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf_append_char(&b, tbl[(v >> 18) & 63]);
		buf_append_char(&b, tbl[(v >> 12) & 63]);
		buf_append_char(&b, i + 1 < n ? tbl[(v >> 6) & 63] : '=');
		buf_append_char(&b, i + 2 < n ? tbl[v & 63] : '=');
	}
	return buf_steal(&b);
}

/* GET /echo/tls through a client made from a kubeconfig with the given
 * cluster and user fields; returns the error code (0 on success). */
static int tls_get(struct fake *f, const char *cluster_fields, const char *user_fields, char **msg)
{
	const char *root = getenv("MK_ROOT");
	cleanup_free char *dir = xasprintf("%s/tests/fixtures/kubeconfig/tls", root ? root : ".");
	cleanup_free char *text =
		xasprintf("current-context: t\n"
			  "clusters: [{name: t, cluster: {server: 'https://127.0.0.1:%u', %s}}]\n"
			  "contexts: [{name: t, context: {cluster: t, user: u}}]\n"
			  "users: [{name: u, user: {%s}}]\n",
			  f->port, cluster_fields, user_fields);
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_parse(text, strlen(text), dir, NULL, &err);
	if (!kc)
		fail_msg("kubeconfig: %s", mk_err_msg(err));
	struct client *c = client_new(NULL, kc, &err);
	kubeconfig_free(kc);
	assert_non_null(c);
	json_t *r = client_get(c, "/echo/tls", &err);
	client_free(c);
	if (r) {
		assert_string_equal(json_path_str(r, "method"), "GET");
		json_decref(r);
		return 0;
	}
	if (msg)
		*msg = xstrdup(mk_err_msg(err));
	return mk_err_code(err);
}

static void test_tls(void **state)
{
	(void)state;
	cleanup_free char *ca = slurp("ca.crt");
	cleanup_free char *cert = slurp("server.crt");
	cleanup_free char *key = slurp("server.key");
	cleanup_free char *client_cert = slurp("client.crt");
	cleanup_free char *client_key = slurp("client.key");
	cleanup_free char *other_ca = slurp("other-ca.crt");
	struct fake *f = fake_new_tls(cert, key, ca);

	/* CA file (relative to the kubeconfig's directory) */
	assert_int_equal(tls_get(f, "certificate-authority: ca.crt", "", NULL), 0);
	/* CA and client certificate inline */
	cleanup_free char *ca64 = b64(ca);
	cleanup_free char *cc64 = b64(client_cert);
	cleanup_free char *ck64 = b64(client_key);
	cleanup_free char *cluster = xasprintf("certificate-authority-data: %s", ca64);
	cleanup_free char *user =
		xasprintf("client-certificate-data: %s, client-key-data: %s", cc64, ck64);
	assert_int_equal(tls_get(f, cluster, user, NULL), 0);
	/* client certificate files */
	assert_int_equal(tls_get(f, "certificate-authority: ca.crt",
				 "client-certificate: client.crt, client-key: client.key", NULL),
			 0);

	/* a server certificate from another CA is refused... */
	cleanup_free char *other64 = b64(other_ca);
	cleanup_free char *wrong = xasprintf("certificate-authority-data: %s", other64);
	cleanup_free char *msg = NULL;
	assert_int_equal(tls_get(f, wrong, "", &msg), MK_EUNAVAILABLE);
	assert_non_null(strstr(msg, "GET https://127.0.0.1:"));
	assert_non_null(strstr(msg, "certificate"));
	/* ...unless verification is off */
	cleanup_free char *insecure = xasprintf("%s, insecure-skip-tls-verify: true", wrong);
	assert_int_equal(tls_get(f, insecure, "", NULL), 0);
	/* a client key that does not match its certificate fails the handshake */
	free(msg);
	msg = NULL;
	assert_int_equal(tls_get(f, "certificate-authority: ca.crt",
				 "client-certificate: client.crt, client-key: server.key", &msg),
			 MK_EUNAVAILABLE);
	fake_free(f);
}

/* ---------------- informer ---------------- */

struct recorder {
	pthread_mutex_t lock;
	struct buf log;
	int n;
	atomic_int errors;
	struct informer *inf;
	bool saw_cache_update; /* informer_get inside a handler sees the new state */
};

static void rec_line(struct recorder *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rec_line(struct recorder *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&r->lock);
	buf_vprintf(&r->log, fmt, ap);
	r->n++;
	pthread_mutex_unlock(&r->lock);
	va_end(ap);
}

static void on_add(json_t *obj, void *arg)
{
	struct recorder *r = arg;
	rec_line(r, "ADD %s %s %s;", json_path_str(obj, "metadata.name"),
		 json_path_str(obj, "spec.value"), json_path_str(obj, "kind"));
}

static void on_update(json_t *old_obj, json_t *new_obj, void *arg)
{
	struct recorder *r = arg;
	cleanup_free char *key = informer_key(new_obj);
	cleanup_json json_t *cached = informer_get(r->inf, key);
	if (cached == new_obj)
		r->saw_cache_update = true;
	rec_line(r, "UPDATE %s %s->%s;", json_path_str(new_obj, "metadata.name"),
		 json_path_str(old_obj, "spec.value"), json_path_str(new_obj, "spec.value"));
}

static void on_delete(json_t *obj, void *arg)
{
	struct recorder *r = arg;
	rec_line(r, "DELETE %s;", json_path_str(obj, "metadata.name"));
}

static void on_error(const struct mk_err *e, void *arg)
{
	(void)e;
	struct recorder *r = arg;
	atomic_fetch_add(&r->errors, 1);
}

/* Waits until the recorder has n lines; returns the log (new string). */
static char *wait_lines(struct recorder *r, int n, int timeout_ms)
{
	long long until = time_mono_ns() + (long long)timeout_ms * 1000000LL;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		int have = r->n;
		pthread_mutex_unlock(&r->lock);
		if (have >= n || time_mono_ns() > until)
			break;
		usleep(5000);
	}
	pthread_mutex_lock(&r->lock);
	char *s = xstrdup(buf_str(&r->log));
	buf_reset(&r->log);
	r->n = 0;
	pthread_mutex_unlock(&r->lock);
	return s;
}

static void test_informer(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	fake_put(f, "a", "1");
	fake_put(f, "b", "1");
	struct client *c = fake_client(f);
	struct recorder rec = {.log = BUF_INIT};
	pthread_mutex_init(&rec.lock, NULL);
	struct informer_handlers h = {.on_add = on_add,
				      .on_update = on_update,
				      .on_delete = on_delete,
				      .on_error = on_error,
				      .arg = &rec};
	cleanup_err struct mk_err *err = NULL;
	assert_null(informer_new(c, "/api/v1/pods?watch=1", NULL, NULL, &h, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	struct informer *inf = informer_new(c, "/api/v1/pods", NULL, NULL, &h, &err);
	assert_non_null(inf);
	rec.inf = inf;
	assert_false(informer_has_synced(inf));
	assert_int_equal(informer_start(inf, &err), 0);
	assert_true(informer_wait_synced(inf, 5000));

	/* initial list: adds, kind filled in from the list kind */
	cleanup_free char *l1 = wait_lines(&rec, 2, 5000);
	assert_true(strcmp(l1, "ADD a 1 Pod;ADD b 1 Pod;") == 0 ||
		    strcmp(l1, "ADD b 1 Pod;ADD a 1 Pod;") == 0);
	cleanup_free char *rv = informer_resource_version(inf);
	assert_string_equal(rv, "102");

	/* watch events in order */
	fake_put(f, "c", "1");
	fake_put(f, "a", "2");
	fake_delete(f, "b");
	cleanup_free char *l2 = wait_lines(&rec, 3, 5000);
	assert_string_equal(l2, "ADD c 1 Pod;UPDATE a 1->2;DELETE b;");
	assert_true(rec.saw_cache_update);
	json_t *a = informer_get(inf, "default/a");
	assert_string_equal(json_path_str(a, "spec.value"), "2");
	json_decref(a);
	assert_null(informer_get(inf, "default/b"));
	json_t *all = informer_list(inf);
	assert_int_equal(json_array_size(all), 2);
	json_decref(all);

	/* changes the watch never sees, then compaction and the watch cut:
	 * the re-watch gets 410, the relist is diffed against the cache */
	pthread_mutex_lock(&f->lock);
	fake_put_locked(f, "d", "1");
	fake_put_locked(f, "a", "3");
	fake_delete_locked(f, "c");
	fake_put_locked(f, "e", "1");
	fake_delete_locked(f, "e");
	f->compacted = f->rv;
	f->gen++;
	int lists_before = atomic_load(&f->lists);
	pthread_mutex_unlock(&f->lock);
	cleanup_free char *l3 = wait_lines(&rec, 3, 5000);
	/* the order within a relist follows the cache maps, so compare as a set */
	assert_int_equal(strlen(l3), strlen("ADD d 1 Pod;UPDATE a 2->3;DELETE c;"));
	assert_non_null(strstr(l3, "ADD d 1 Pod;"));
	assert_non_null(strstr(l3, "UPDATE a 2->3;"));
	assert_non_null(strstr(l3, "DELETE c;"));
	assert_int_equal(atomic_load(&f->lists), lists_before + 1);
	free(rv);
	rv = informer_resource_version(inf);
	char want_rv[32];
	snprintf(want_rv, sizeof(want_rv), "%ld", f->rv);
	assert_string_equal(rv, want_rv);

	/* the server goes away; a change is made while it is down; the informer
	 * reconnects with backoff and resumes from its resourceVersion */
	fake_stop(f);
	fake_put(f, "a", "4");
	usleep(1500 * 1000);
	assert_true(atomic_load(&rec.errors) >= 1);
	fake_start(f);
	cleanup_free char *l4 = wait_lines(&rec, 1, 15000);
	assert_string_equal(l4, "UPDATE a 3->4;");
	fake_put(f, "f", "1");
	cleanup_free char *l5 = wait_lines(&rec, 1, 5000);
	assert_string_equal(l5, "ADD f 1 Pod;");

	/* stop returns promptly even with an idle watch open */
	long long t0 = time_mono_ns();
	informer_stop(inf);
	assert_true(time_mono_ns() - t0 < 3000000000LL);
	informer_free(inf);
	client_free(c);
	fake_free(f);
	buf_free(&rec.log);
	pthread_mutex_destroy(&rec.lock);
}

/* versions_only: handlers see whole objects, the cache only versions */
static void vo_update(json_t *old_obj, json_t *new_obj, void *arg)
{
	struct recorder *r = arg;
	const char *old_rv = json_path_str(old_obj, "metadata.resourceVersion");
	rec_line(r, "UPDATE %s %s %s->%s;", json_path_str(old_obj, "metadata.name"),
		 json_object_get(old_obj, "spec") ? "whole" : "stub", old_rv ? "rv" : "-",
		 json_path_str(new_obj, "spec.value"));
}

static void test_informer_versions_only(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	fake_put(f, "a", "1");
	fake_put(f, "b", "1");
	/* it lists in pages: one object each */
	f->page = 1;
	struct client *c = fake_client(f);
	struct recorder rec = {.log = BUF_INIT};
	pthread_mutex_init(&rec.lock, NULL);
	struct informer_handlers h = {.on_add = on_add,
				      .on_update = vo_update,
				      .on_delete = on_delete,
				      .on_error = on_error,
				      .arg = &rec,
				      .versions_only = true};
	cleanup_err struct mk_err *err = NULL;
	struct informer *inf = informer_new(c, "/api/v1/pods", NULL, NULL, &h, &err);
	assert_non_null(inf);
	rec.inf = inf;
	assert_int_equal(informer_start(inf, &err), 0);
	assert_true(informer_wait_synced(inf, 5000));
	cleanup_free char *l1 = wait_lines(&rec, 2, 5000);
	assert_true(strcmp(l1, "ADD a 1 Pod;ADD b 1 Pod;") == 0 ||
		    strcmp(l1, "ADD b 1 Pod;ADD a 1 Pod;") == 0);
	assert_int_equal(atomic_load(&f->lists), 2);
	cleanup_free char *rv = informer_resource_version(inf);
	assert_string_equal(rv, "102");

	/* the cache answers with stubs */
	json_t *a = informer_get(inf, "default/a");
	assert_string_equal(json_path_str(a, "metadata.name"), "a");
	assert_string_equal(json_path_str(a, "metadata.namespace"), "default");
	assert_non_null(json_path_str(a, "metadata.resourceVersion"));
	assert_null(json_object_get(a, "spec"));
	json_decref(a);

	fake_put(f, "a", "2");
	fake_delete(f, "b");
	cleanup_free char *l2 = wait_lines(&rec, 2, 5000);
	assert_string_equal(l2, "UPDATE a stub rv->2;DELETE b;");
	json_t *all = informer_list(inf);
	assert_int_equal(json_array_size(all), 1);
	json_decref(all);

	/* a relist still finds updates and deletions from the versions */
	pthread_mutex_lock(&f->lock);
	fake_put_locked(f, "d", "1");
	fake_put_locked(f, "a", "3");
	fake_put_locked(f, "e", "1");
	f->compacted = f->rv;
	f->gen++;
	int lists_before = atomic_load(&f->lists);
	pthread_mutex_unlock(&f->lock);
	cleanup_free char *l3 = wait_lines(&rec, 3, 5000);
	assert_int_equal(atomic_load(&f->lists), lists_before + 3);
	assert_int_equal(strlen(l3), strlen("ADD d 1 Pod;UPDATE a stub rv->3;ADD e 1 Pod;"));
	assert_non_null(strstr(l3, "ADD d 1 Pod;"));
	assert_non_null(strstr(l3, "ADD e 1 Pod;"));
	assert_non_null(strstr(l3, "UPDATE a stub rv->3;"));
	pthread_mutex_lock(&f->lock);
	fake_delete_locked(f, "d");
	f->compacted = f->rv;
	f->gen++;
	pthread_mutex_unlock(&f->lock);
	cleanup_free char *l4 = wait_lines(&rec, 1, 5000);
	assert_string_equal(l4, "DELETE d;");

	informer_free(inf);
	client_free(c);
	fake_free(f);
	buf_free(&rec.log);
	pthread_mutex_destroy(&rec.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoder_chunks),
		cmocka_unit_test(test_decoder_stop_and_errors),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_status_errors),
		cmocka_unit_test(test_watch_stream),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_informer),
		cmocka_unit_test(test_informer_versions_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
