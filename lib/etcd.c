/* etcd v3 JSON gateway client (see the header). */
#include "etcd.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

#define CONNECT_TIMEOUT_MS_DEFAULT 1000
#define STALL_TIMEOUT_MS_DEFAULT   5000
#define CALL_TIMEOUT_MS		   60000 /* hard cap of a unary call, however it trickles */
#define POOL_MAX		   16	 /* idle keep-alive handles kept */
#define BACKOFF_MIN_MS		   100
#define BACKOFF_MAX_MS		   2000
/* A dead peer under a stream or a call that waits is noticed after about
 * KEEPIDLE + KEEPCNT * KEEPINTVL seconds, or USER_TIMEOUT for unacked data. */
#define KEEPIDLE_S	5
#define KEEPINTVL_S	2
#define KEEPCNT		3
#define USER_TIMEOUT_MS 10000

struct etcd_client {
	char **eps;
	size_t n_eps;
	_Atomic size_t cur; /* index of the member calls go to */
	char *ca_file, *cert_file, *key_file;
	long connect_ms, stall_ms;
	struct curl_slist *headers; /* shared, read-only after creation */

	pthread_mutex_t pool_mu;
	CURL **pool;
	size_t pool_n;

	/* streams; smu guards the list and every stream's closing/waiter/released */
	pthread_mutex_t smu;
	pthread_cond_t scond;
	CURLM *multi;
	pthread_t runner;
	bool runner_started;
	bool stopping;
	struct etcd_stream *streams;
};

struct etcd_stream {
	struct etcd_client *c;
	char *method;
	const struct etcd_stream_ops *ops;
	void *arg;
	/* runner-only state */
	CURL *easy;
	char *body;
	char errbuf[CURL_ERROR_SIZE];
	struct buf line;     /* bytes of an unfinished line, or an error answer */
	size_t ep;	     /* member of the current connection */
	bool active;	     /* easy is in the multi handle */
	bool stopped;	     /* STOP: no reconnection, no callbacks */
	bool reconnect;	     /* RECONNECT asked by the message callback */
	bool retry;	     /* RETRY asked by the message callback */
	bool got_message;    /* on this connection */
	bool status_checked; /* the HTTP status of this connection was looked at */
	bool error_answer;   /* not a 200: the body is an error, not messages */
	struct mk_err *conn_err;
	unsigned backoff_ms;
	struct timespec retry_at;
	/* under smu */
	_Atomic bool closing;
	bool waiter;   /* a thread waits in etcd_stream_close and frees the stream */
	bool released; /* the runner let go of it */
	struct etcd_stream *next;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static __thread struct etcd_client *on_runner; /* the client whose stream thread this is */

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_ALL);
}

/* --- helpers ---------------------------------------------------------------- */

char *etcd_b64(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *etcd_unb64(const char *text, size_t *len)
{
	size_t n = text ? strlen(text) : 0;
	if (n % 4)
		return NULL;
	char *out = xmalloc(n / 4 * 3 + 1);
	int got =
		n ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n) : 0;
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (n >= 1 && text[n - 1] == '=')
		got--;
	if (n >= 2 && text[n - 2] == '=')
		got--;
	out[got] = 0;
	if (len)
		*len = (size_t)got;
	return out;
}

int64_t etcd_int(const json_t *obj, const char *field)
{
	json_t *v = json_object_get(obj, field);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

char *etcd_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	if (n == 0)
		return xstrdup(""); /* the caller sends "\0" (base64 "AA==") */
	char *end = xstrndup(prefix, n);
	end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	return end;
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --- client ----------------------------------------------------------------- */

static int parse_endpoints(struct etcd_client *c, const char *list, struct mk_err **err)
{
	cleanup_free char *copy = xstrdup(list ? list : "");
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		size_t n = strlen(tok);
		while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '/'))
			tok[--n] = 0;
		if (!n)
			continue;
		if (strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8))
			return mk_err_set(err, MK_EINVAL,
					  "etcd endpoint %s: the scheme must be http or https",
					  tok);
		if (!strchr(tok, ':') || strlen(tok) <= (size_t)(tok[4] == 's' ? 8 : 7))
			return mk_err_set(err, MK_EINVAL, "etcd endpoint %s has no host", tok);
		c->eps = xrealloc(c->eps, (c->n_eps + 1) * sizeof(*c->eps));
		c->eps[c->n_eps++] = xstrdup(tok);
	}
	if (!c->n_eps)
		return mk_err_set(err, MK_EINVAL, "no etcd endpoint given");
	return 0;
}

struct etcd_client *etcd_client_new(const struct etcd_config *cfg, struct mk_err **err)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		mk_err_set(err, MK_EIO, "initializing libcurl: %s",
			   curl_easy_strerror(curl_init_result));
		return NULL;
	}
	struct etcd_client *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_mutex_init(&c->smu, NULL);
	pthread_cond_init(&c->scond, NULL);
	if (parse_endpoints(c, cfg->endpoints, err) < 0) {
		etcd_client_free(c);
		return NULL;
	}
	c->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	c->cert_file = cfg->cert_file ? xstrdup(cfg->cert_file) : NULL;
	c->key_file = cfg->key_file ? xstrdup(cfg->key_file) : NULL;
	c->connect_ms =
		cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : CONNECT_TIMEOUT_MS_DEFAULT;
	c->stall_ms = cfg->stall_timeout_ms > 0 ? cfg->stall_timeout_ms : STALL_TIMEOUT_MS_DEFAULT;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" wait before bodies over 1 KiB. */
	c->headers = curl_slist_append(c->headers, "Expect:");
	c->headers = curl_slist_append(c->headers, "Grpc-Metadata-hasleader: true");
	if (!c->headers) {
		etcd_client_free(c);
		mk_err_set(err, MK_EIO, "building request headers");
		return NULL;
	}
	return c;
}

const char *etcd_client_endpoint(struct etcd_client *c)
{
	return c->eps[atomic_load(&c->cur) % c->n_eps];
}

/* Moves calls on from member ep, unless another thread did already. */
static void rotate(struct etcd_client *c, size_t ep)
{
	size_t want = ep;
	atomic_compare_exchange_strong(&c->cur, &want, (ep + 1) % c->n_eps);
}

static int sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	(void)purpose;
	int cnt = KEEPCNT;
	unsigned int ut = USER_TIMEOUT_MS;
	/* Best effort: a socket without them still works, only slower to notice
	 * a dead peer. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	return CURL_SOCKOPT_OK;
}

/* Options every handle of c carries. */
static CURL *handle_new(struct etcd_client *c)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, (long)KEEPIDLE_S);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, (long)KEEPINTVL_S);
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	return h;
}

static CURL *pool_get(struct etcd_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->pool_mu);
	if (c->pool_n)
		h = c->pool[--c->pool_n];
	pthread_mutex_unlock(&c->pool_mu);
	return h ? h : handle_new(c);
}

static void pool_put(struct etcd_client *c, CURL *h)
{
	pthread_mutex_lock(&c->pool_mu);
	if (c->pool_n < POOL_MAX) {
		if (!c->pool)
			c->pool = xcalloc(POOL_MAX, sizeof(*c->pool));
		c->pool[c->pool_n++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (h)
		curl_easy_cleanup(h);
}

static size_t write_to_buf(char *data, size_t size, size_t n, void *arg)
{
	buf_append(arg, data, size * n);
	return size * n;
}

/* Maps an error answer of the gateway (its text in body) onto *err. Returns
 * the gRPC code, or -1 if body is not an error object. */
static int map_error(const char *ep, long http, const char *body, size_t len, struct mk_err **err)
{
	cleanup_json json_t *j = json_loadb(body, len, 0, NULL);
	json_t *e = json_object_get(j, "error");
	/* Unary errors are {"error":"text","message":"text","code":N}; errors
	 * inside a stream nest them: {"error":{"grpc_code":N,"message":"text"}}. */
	json_t *holder = json_is_object(e) ? e : j;
	const char *msg = json_string_value(json_object_get(holder, "message"));
	if (!msg)
		msg = json_string_value(e);
	json_t *cj = json_object_get(holder, json_is_object(e) ? "grpc_code" : "code");
	if (!msg || !json_is_integer(cj)) {
		mk_err_set(err, http >= 500 ? MK_EUNAVAILABLE : MK_EIO,
			   "etcd %s: unexpected answer (HTTP %ld): %.*s", ep, http,
			   (int)(len > 200 ? 200 : len), body ? body : "");
		return -1;
	}
	int code = (int)json_integer_value(cj);
	int ours;
	switch (code) {
	case 11:
		ours = strstr(msg, "compacted") ? MK_EEXPIRED : MK_ETIMEOUT;
		break;
	case 3:
		ours = strstr(msg, "too large") ? MK_ETOOLARGE : MK_EINVAL;
		break;
	case 5:
		ours = MK_ENOTFOUND;
		break;
	case 8:
		/* ResourceExhausted: etcd's gRPC server refuses a message over
		 * --max-request-bytes + 512 KiB (2 MiB by default) unread; also
		 * "database space exceeded" and "too many requests". */
		ours = strstr(msg, "larger than max") ? MK_ETOOLARGE : MK_EIO;
		break;
	case 4:
	case 14:
		ours = MK_EUNAVAILABLE;
		break;
	default:
		ours = MK_EIO;
	}
	mk_err_set(err, ours, "etcd %s: %s", ep, msg);
	if (err && *err)
		(*err)->domain_code = code;
	return code;
}

json_t *etcd_call(struct etcd_client *c, const char *method, const json_t *body, unsigned flags,
		  struct mk_err **err)
{
	cleanup_free char *text = json_dumps(body, JSON_COMPACT);
	if (!text) {
		mk_err_set(err, MK_EINVAL, "etcd %s: the request cannot be encoded", method);
		return NULL;
	}
	CURL *h = pool_get(c);
	if (!h) {
		mk_err_set(err, MK_EIO, "curl_easy_init failed");
		return NULL;
	}
	bool idem = flags & ETCD_IDEMPOTENT;
	size_t attempts = c->n_eps < 2 ? 2 : 2 * c->n_eps;
	struct mk_err *last = NULL;
	json_t *result = NULL;
	struct timespec began;
	clock_gettime(CLOCK_MONOTONIC, &began);
	for (size_t a = 0; a < attempts; a++) {
		/* Members that all stall (a cut network, frozen processes) would
		 * hold the caller for attempts x the stall limit: no new try after
		 * twice that limit, so the API server answers 5xx in bounded time. */
		if (a > 0 && elapsed_ms(&began) >= 2 * c->stall_ms)
			break;
		if (a > 0 && a % c->n_eps == 0)
			sleep_ms(BACKOFF_MIN_MS); /* every member failed once: let one recover */
		mk_err_free(last);
		last = NULL;
		size_t ep = atomic_load(&c->cur) % c->n_eps;
		cleanup_free char *url = xasprintf("%s/v3/%s", c->eps[ep], method);
		cleanup_buf struct buf out = BUF_INIT;
		char detail[CURL_ERROR_SIZE] = "";
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_buf);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->stall_ms + 999) / 1000);
		CURLcode rc = curl_easy_perform(h);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
		if (rc != CURLE_OK) {
			long sent = 0;
			curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
			mk_err_set(&last, MK_EUNAVAILABLE, "etcd %s: %s", c->eps[ep],
				   detail[0] ? detail : curl_easy_strerror(rc));
			rotate(c, ep);
			/* A request that never left can go elsewhere; one that may
			 * have been applied is only repeated when that is harmless. */
			if (sent == 0 || idem)
				continue;
			break;
		}
		long http = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
		if (http == 200) {
			json_error_t je;
			result = json_loadb(out.data ? out.data : "", out.len, 0, &je);
			if (!json_is_object(result)) {
				json_decref(result);
				result = NULL;
				mk_err_set(&last, MK_EIO, "etcd %s: malformed answer to %s: %s",
					   c->eps[ep], method, je.text);
			}
			break;
		}
		int code = map_error(c->eps[ep], http, out.data, out.len, &last);
		/* "no leader" is refused before anything is proposed: safe anywhere. */
		bool no_leader = last && strstr(last->msg, "no leader");
		if (code == 14 || code < 0) {
			rotate(c, ep);
			if (idem || no_leader)
				continue;
		}
		break;
	}
	pool_put(c, h);
	if (!result) {
		if (err && !*err)
			*err = last;
		else
			mk_err_free(last);
	} else {
		mk_err_free(last);
	}
	return result;
}

/* --- streams ------------------------------------------------------------------ */

static void ts_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;
	ts_now(&now);
	return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void ts_add_ms(struct timespec *t, unsigned ms)
{
	ts_now(t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Handles one complete line of a stream. Returns false to end the connection. */
static bool stream_line(struct etcd_stream *s, const char *line, size_t len)
{
	if (len == 0)
		return true;
	json_error_t je;
	cleanup_json json_t *msg = json_loadb(line, len, 0, &je);
	if (!json_is_object(msg)) {
		mk_err_set(&s->conn_err, MK_EIO, "etcd %s: malformed stream message: %s",
			   s->c->eps[s->ep], je.text);
		return false;
	}
	json_t *result = json_object_get(msg, "result");
	if (!json_is_object(result)) {
		map_error(s->c->eps[s->ep], 200, line, len, &s->conn_err);
		return false;
	}
	s->got_message = true;
	enum etcd_stream_next next = s->ops->message(result, s->arg);
	if (atomic_load(&s->closing))
		return false;
	if (next == ETCD_STREAM_STOP) {
		s->stopped = true;
		return false;
	}
	if (next == ETCD_STREAM_RECONNECT) {
		s->reconnect = true;
		return false;
	}
	if (next == ETCD_STREAM_RETRY) {
		mk_err_set(&s->conn_err, MK_EUNAVAILABLE, "etcd %s: the stream was given up",
			   s->c->eps[s->ep]);
		s->retry = true;
		return false;
	}
	return true;
}

static size_t stream_write(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_stream *s = arg;
	size_t len = size * n;
	if (atomic_load(&s->closing) || s->stopped)
		return 0;
	if (!s->status_checked) {
		long http = 0;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &http);
		s->status_checked = true;
		s->error_answer = http != 200;
	}
	buf_append(&s->line, data, len);
	if (s->error_answer)
		return len; /* read whole, mapped when the transfer ends */
	/* Messages end with a newline; chunks may split or merge them. */
	size_t start = 0;
	for (size_t i = 0; i < s->line.len; i++) {
		if (s->line.data[i] != '\n')
			continue;
		if (!stream_line(s, s->line.data + start, i - start))
			return 0;
		start = i + 1;
	}
	if (start) {
		memmove(s->line.data, s->line.data + start, s->line.len - start);
		s->line.len -= start;
		s->line.data[s->line.len] = 0;
	}
	return len;
}

static void stream_drop_transfer(struct etcd_stream *s)
{
	if (s->active)
		curl_multi_remove_handle(s->c->multi, s->easy);
	s->active = false;
	free(s->body);
	s->body = NULL;
	buf_reset(&s->line);
}

static void stream_free(struct etcd_stream *s)
{
	if (!s)
		return;
	if (s->easy)
		curl_easy_cleanup(s->easy);
	free(s->body);
	buf_free(&s->line);
	mk_err_free(s->conn_err);
	free(s->method);
	free(s);
}

/* Starts a connection of s (runner thread, smu not held). */
static void stream_start(struct etcd_stream *s)
{
	struct etcd_client *c = s->c;
	json_t *req = s->ops->request(s->arg);
	if (atomic_load(&s->closing)) {
		json_decref(req);
		return;
	}
	if (!req) {
		s->stopped = true;
		return;
	}
	s->body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s->easy)
		s->easy = handle_new(c);
	s->ep = atomic_load(&c->cur) % c->n_eps;
	if (!s->body || !s->easy) {
		s->stopped = true;
		return;
	}
	cleanup_free char *url = xasprintf("%s/v3/%s", c->eps[s->ep], s->method);
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(s->body));
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	s->errbuf[0] = 0;
	s->got_message = false;
	s->status_checked = false;
	s->error_answer = false;
	s->reconnect = false;
	s->retry = false;
	mk_err_free(s->conn_err);
	s->conn_err = NULL;
	if (curl_multi_add_handle(c->multi, s->easy) != CURLM_OK) {
		mk_err_set(&s->conn_err, MK_EIO, "etcd: cannot add a stream");
		ts_add_ms(&s->retry_at, BACKOFF_MAX_MS);
		return;
	}
	s->active = true;
}

/* A connection of s ended with rc (runner thread, smu not held). */
static void stream_ended(struct etcd_stream *s, CURLcode rc)
{
	struct etcd_client *c = s->c;
	bool had_error_answer = s->error_answer;
	long http = 0;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &http);
	cleanup_buf struct buf body = BUF_INIT;
	if (had_error_answer && s->line.len)
		buf_append(&body, s->line.data, s->line.len);
	stream_drop_transfer(s);
	if (atomic_load(&s->closing) || s->stopped)
		return;
	if (s->reconnect) {
		s->reconnect = false;
		ts_now(&s->retry_at);
		return;
	}
	struct mk_err *e = steal_pointer(&s->conn_err);
	bool member_down = s->retry;
	if (!e && had_error_answer) {
		int code = map_error(c->eps[s->ep], http, body.data, body.len, &e);
		member_down = code == 14 || code < 0;
	} else if (!e && rc != CURLE_OK) {
		mk_err_set(&e, MK_EUNAVAILABLE, "etcd %s: %s", c->eps[s->ep],
			   s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
		member_down = true;
	} else if (!e) {
		mk_err_set(&e, MK_EUNAVAILABLE, "etcd %s: the stream ended", c->eps[s->ep]);
	}
	if (member_down || !s->got_message)
		rotate(c, s->ep);
	if (s->ops->lost)
		s->ops->lost(e, s->arg);
	mk_err_free(e);
	/* A connection that carried messages starts the back-off afresh. */
	unsigned wait = s->got_message && !s->retry ? BACKOFF_MIN_MS : s->backoff_ms;
	ts_add_ms(&s->retry_at, wait);
	s->backoff_ms = wait * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait * 2;
}

static void *runner_main(void *arg)
{
	struct etcd_client *c = arg;
	on_runner = c;
	struct etcd_stream **due = NULL;
	size_t due_cap = 0;
	pthread_mutex_lock(&c->smu);
	while (!c->stopping) {
		/* let go of closed streams */
		for (struct etcd_stream **pp = &c->streams; *pp;) {
			struct etcd_stream *s = *pp;
			if (!atomic_load(&s->closing)) {
				pp = &s->next;
				continue;
			}
			*pp = s->next;
			stream_drop_transfer(s);
			if (s->waiter) {
				s->released = true;
				pthread_cond_broadcast(&c->scond);
			} else {
				stream_free(s);
			}
		}
		/* streams due for a (re)connection */
		size_t n_due = 0;
		long timeout = 1000;
		for (struct etcd_stream *s = c->streams; s; s = s->next) {
			if (s->active || s->stopped)
				continue;
			long wait = ms_until(&s->retry_at);
			if (wait <= 0) {
				if (n_due == due_cap) {
					due_cap = due_cap ? due_cap * 2 : 16;
					due = xrealloc(due, due_cap * sizeof(*due));
				}
				due[n_due++] = s;
			} else if (wait < timeout) {
				timeout = wait;
			}
		}
		pthread_mutex_unlock(&c->smu);
		/* A stream in due[] stays allocated: only this thread frees. */
		for (size_t i = 0; i < n_due; i++)
			stream_start(due[i]);
		int running = 0;
		curl_multi_poll(c->multi, NULL, 0, n_due ? 0 : (int)timeout, NULL);
		curl_multi_perform(c->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(c->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct etcd_stream *s = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (s)
				stream_ended(s, m->data.result);
		}
		pthread_mutex_lock(&c->smu);
	}
	/* stopping: release everything */
	while (c->streams) {
		struct etcd_stream *s = c->streams;
		c->streams = s->next;
		stream_drop_transfer(s);
		if (s->waiter) {
			s->released = true;
			pthread_cond_broadcast(&c->scond);
		} else {
			stream_free(s);
		}
	}
	pthread_mutex_unlock(&c->smu);
	free(due);
	return NULL;
}

struct etcd_stream *etcd_stream_open(struct etcd_client *c, const char *method,
				     const struct etcd_stream_ops *ops, void *arg,
				     struct mk_err **err)
{
	struct etcd_stream *s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->method = xstrdup(method);
	s->ops = ops;
	s->arg = arg;
	s->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_lock(&c->smu);
	if (c->stopping) {
		pthread_mutex_unlock(&c->smu);
		stream_free(s);
		mk_err_set(err, MK_EUNAVAILABLE, "etcd client is closing");
		return NULL;
	}
	if (!c->runner_started) {
		c->multi = curl_multi_init();
		int rc = c->multi ? pthread_create(&c->runner, NULL, runner_main, c) : ENOMEM;
		if (rc) {
			if (c->multi)
				curl_multi_cleanup(c->multi);
			c->multi = NULL;
			pthread_mutex_unlock(&c->smu);
			stream_free(s);
			mk_err_errno(err, MK_EIO, rc, "starting the etcd stream thread");
			return NULL;
		}
		c->runner_started = true;
	}
	s->next = c->streams;
	c->streams = s;
	curl_multi_wakeup(c->multi);
	pthread_mutex_unlock(&c->smu);
	return s;
}

void etcd_stream_close(struct etcd_stream *s)
{
	if (!s)
		return;
	struct etcd_client *c = s->c;
	pthread_mutex_lock(&c->smu);
	atomic_store(&s->closing, true);
	if (on_runner == c) {
		/* From a callback: the runner frees it once the callback returned. */
		pthread_mutex_unlock(&c->smu);
		return;
	}
	s->waiter = true;
	curl_multi_wakeup(c->multi);
	while (!s->released)
		pthread_cond_wait(&c->scond, &c->smu);
	pthread_mutex_unlock(&c->smu);
	stream_free(s);
}

void etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->smu);
	c->stopping = true;
	bool started = c->runner_started;
	if (started)
		curl_multi_wakeup(c->multi);
	pthread_mutex_unlock(&c->smu);
	if (started) {
		pthread_join(c->runner, NULL);
		curl_multi_cleanup(c->multi);
	}
	for (size_t i = 0; i < c->pool_n; i++)
		curl_easy_cleanup(c->pool[i]);
	free(c->pool);
	curl_slist_free_all(c->headers);
	for (size_t i = 0; i < c->n_eps; i++)
		free(c->eps[i]);
	free(c->eps);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	pthread_mutex_destroy(&c->pool_mu);
	pthread_mutex_destroy(&c->smu);
	pthread_cond_destroy(&c->scond);
	free(c);
}
