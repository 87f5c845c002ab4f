/* lib/httpd through real sockets: a server in the test process, raw TCP
 * clients speaking HTTP/1.1 byte by byte, so that half-sent requests, client
 * disconnects and protocol upgrades can be driven exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "httpd.h"
#include "timefmt.h"
#include "xalloc.h"

/* Every wait of these tests is bounded by this. */
#define WAIT_MS 10000

/* ---- helpers ---- */

/* Polls cond(arg) every few milliseconds until it holds or WAIT_MS passed. */
static bool wait_for(bool (*cond)(void *arg), void *arg)
{
	long long until = time_mono_ns() + (long long)WAIT_MS * 1000000;
	while (!cond(arg)) {
		if (time_mono_ns() > until)
			return false;
		struct timespec ts = {.tv_nsec = 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

static bool flag_set(void *arg)
{
	return __atomic_load_n((int *)arg, __ATOMIC_SEQ_CST) != 0;
}

static int load(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void store(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

/* A connected client socket whose reads give up after WAIT_MS; -1 with
 * errno when the connection is refused. */
static int conn_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		assert_true(n > 0);
		off += (size_t)n;
	}
}

/* Reads into b until needle shows up (true), or EOF, an error or WAIT_MS. */
static bool read_until(int fd, struct buf *b, const char *needle)
{
	char chunk[4096];
	while (!strstr(buf_str(b), needle)) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return false;
		buf_append(b, chunk, (size_t)n);
	}
	return true;
}

/* Reads until the peer closes; true on EOF or reset, false on the timeout. */
static bool read_to_eof(int fd, struct buf *b)
{
	char chunk[4096];
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
		if (b)
			buf_append(b, chunk, (size_t)n);
	}
}

/* One whole answer with a Content-Length on a kept-alive connection: its
 * head and body appended to out. */
static bool read_answer(int fd, struct buf *out)
{
	cleanup_buf struct buf b = BUF_INIT;
	if (!read_until(fd, &b, "\r\n\r\n"))
		return false;
	const char *end = strstr(b.data, "\r\n\r\n") + 4;
	const char *cl = strcasestr(b.data, "\r\nContent-Length: ");
	if (!cl || cl > end)
		fail_msg("no Content-Length in %s", b.data);
	size_t want = (size_t)(end - b.data) + strtoul(cl + 18, NULL, 10);
	char chunk[4096];
	while (b.len < want) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return false;
		buf_append(&b, chunk, (size_t)n);
	}
	buf_append(out, b.data, b.len);
	return b.len == want;
}

/* The whole exchange of one request sent with "Connection: close" added
 * after the request line's headers (req ends with the blank line). */
static char *http(int port, const char *req)
{
	int fd = conn_open(port);
	assert_true(fd >= 0);
	send_str(fd, req);
	struct buf b = BUF_INIT;
	assert_true(read_to_eof(fd, &b));
	close(fd);
	return buf_steal(&b);
}

static char *get(int port, const char *path)
{
	cleanup_free char *req =
		xasprintf("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
	return http(port, req);
}

static int status_of(const char *answer)
{
	int code = 0;
	if (sscanf(answer, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	return code;
}

static const char *body_of(const char *answer)
{
	const char *p = strstr(answer, "\r\n\r\n");
	return p ? p + 4 : "";
}

static struct httpd *server(const struct httpd_config *cfg, int *port)
{
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(cfg, &err);
	assert_non_null(h);
	struct httpd_listener *l = httpd_listen(h, "127.0.0.1", 0, &err);
	assert_non_null(l);
	*port = httpd_listener_port(l);
	assert_true(*port > 0);
	return h;
}

/* ---- routes, requests, answers ---- */

static void say(struct httpd_req *rq, void *arg)
{
	httpd_reply_text(rq, 200, "text/plain", arg);
}

static void silent(struct httpd_req *rq, void *arg)
{
	(void)rq;
	(void)arg;
}

static void test_routes(void **state)
{
	(void)state;
	struct httpd_config cfg = {.name = "t"};
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(&cfg, &err);
	assert_non_null(h);
	httpd_route(h, "GET", "/healthz", say, "exact");
	httpd_route(h, NULL, "/logs/", say, "prefix");
	httpd_route(h, "POST", "/thing", say, "post");
	httpd_route(h, NULL, "/quiet", silent, NULL);
	struct httpd_listener *l = httpd_listen(h, "127.0.0.1", 0, &err);
	assert_non_null(l);
	int port = httpd_listener_port(l);

	struct {
		const char *req;
		int code;
		const char *body;
	} cases[] = {
		{"GET /healthz", 200, "exact"},
		{"GET /healthz/", 404, "404 page not found\n"},
		{"GET /healthzz", 404, "404 page not found\n"},
		{"POST /healthz", 404, "404 page not found\n"},
		{"HEAD /healthz", 200, ""},
		{"GET /logs/a/b", 200, "prefix"},
		{"DELETE /logs/", 200, "prefix"},
		{"GET /logs", 404, "404 page not found\n"},
		{"POST /thing", 200, "post"},
		{"GET /thing", 404, "404 page not found\n"},
		{"GET /", 404, "404 page not found\n"},
		{"GET /quiet", 500, "the handler gave no answer\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *req = xasprintf(
			"%s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			cases[i].req);
		cleanup_free char *got = http(port, req);
		if (status_of(got) != cases[i].code || strcmp(body_of(got), cases[i].body))
			fail_msg("%s: got %s", cases[i].req, got);
	}
	httpd_free(h);

	/* a fallback takes what no route matches */
	cfg.fallback = say;
	cfg.fallback_arg = "fallback";
	h = server(&cfg, &port);
	cleanup_free char *got = get(port, "/anything?x=1");
	assert_int_equal(status_of(got), 200);
	assert_string_equal(body_of(got), "fallback");
	httpd_free(h);
}

struct seen {
	char *method, *path, *q_a, *q_b, *q_none, *q_missing, *query_list, *header, *body;
	char *header_list, *header_list_missing;
	size_t body_len;
	char *peer;
	int local_port;
	int done_code;
	int done_calls;
	double done_seconds;
	char *done_path;
};

static void query_one(const char *key, const char *value, void *arg)
{
	buf_printf(arg, "%s=%s;", key, value ? value : "(null)");
}

static char *dup_or(const char *s)
{
	return xstrdup(s ? s : "(null)");
}

static void record(struct httpd_req *rq, void *arg)
{
	struct seen *s = arg;
	s->method = xstrdup(httpd_req_method(rq));
	s->path = xstrdup(httpd_req_path(rq));
	s->q_a = dup_or(httpd_req_query(rq, "a"));
	s->q_b = dup_or(httpd_req_query(rq, "b"));
	s->q_none = dup_or(httpd_req_query(rq, "flag"));
	s->q_missing = dup_or(httpd_req_query(rq, "missing"));
	struct buf q = BUF_INIT;
	httpd_req_query_each(rq, query_one, &q);
	s->query_list = buf_steal(&q);
	s->header = dup_or(httpd_req_header(rq, "x-test-HEADER"));
	char *list = httpd_req_header_list(rq, "X-List");
	s->header_list = dup_or(list);
	free(list);
	list = httpd_req_header_list(rq, "X-Nothing");
	s->header_list_missing = dup_or(list);
	free(list);
	size_t len;
	const char *body = httpd_req_body(rq, &len);
	s->body = xmalloc(len + 1);
	memcpy(s->body, body, len + 1);
	s->body_len = len;
	s->peer = xstrdup(httpd_req_peer(rq));
	s->local_port = httpd_req_local_port(rq);
	assert_true(httpd_req_fd(rq) >= 0);
	httpd_req_set_data(rq, xstrdup("labels"));
	httpd_reply_header(rq, "X-Answer", "yes");
	json_t *j = json_pack("{s:s, s:i, s:[i,i]}", "z", "first", "a", 2, "list", 1, 2);
	httpd_reply_json(rq, 201, j);
	assert_true(httpd_replied(rq));
	/* a second answer is dropped */
	httpd_reply_text(rq, 500, "text/plain", "no");
}

static void record_done(struct httpd_req *rq, int code, double seconds, void *arg)
{
	struct seen *s = arg;
	char *data = httpd_req_data(rq);
	assert_non_null(data);
	assert_string_equal(data, "labels");
	free(data);
	s->done_code = code;
	s->done_seconds = seconds;
	free(s->done_path);
	s->done_path = xstrdup(httpd_req_path(rq));
	__atomic_add_fetch(&s->done_calls, 1, __ATOMIC_SEQ_CST);
}

static bool one_done(void *arg)
{
	return load(&((struct seen *)arg)->done_calls) == 1;
}

static void test_request_access(void **state)
{
	(void)state;
	struct seen s = {0};
	struct httpd_config cfg = {.name = "t",
				   .fallback = record,
				   .fallback_arg = &s,
				   .done = record_done,
				   .done_arg = &s};
	int port;
	struct httpd *h = server(&cfg, &port);
	static const char body[] = "some\0body";
	cleanup_free char *req =
		xasprintf("PUT /a%%20b/%%2Fc?a=1&b=x%%26y&a=2&flag&empty= HTTP/1.1\r\nHost: t\r\n"
			  "X-Test-Header: hello\r\nX-List: a\r\nx-list: b, c\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  sizeof(body) - 1);
	int fd = conn_open(port);
	send_str(fd, req);
	assert_int_equal(send(fd, body, sizeof(body) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(body) - 1);
	struct buf b = BUF_INIT;
	assert_true(read_to_eof(fd, &b));
	close(fd);
	const char *got = buf_str(&b);
	assert_int_equal(status_of(got), 201);
	assert_non_null(strstr(got, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(got, "\r\nX-Answer: yes\r\n"));
	assert_non_null(strstr(got, "\r\nCache-Control: no-cache, private\r\n"));
	assert_string_equal(body_of(got), "{\"z\":\"first\",\"a\":2,\"list\":[1,2]}\n");
	buf_free(&b);

	assert_string_equal(s.method, "PUT");
	assert_string_equal(s.path, "/a b//c");
	assert_string_equal(s.q_a, "1");
	assert_string_equal(s.q_b, "x&y");
	assert_string_equal(s.q_none, "(null)");
	assert_string_equal(s.q_missing, "(null)");
	assert_string_equal(s.query_list, "a=1;b=x&y;a=2;flag=(null);empty=;");
	assert_string_equal(s.header, "hello");
	/* a header repeated on several lines, as one list */
	assert_string_equal(s.header_list, "a, b, c");
	assert_string_equal(s.header_list_missing, "(null)");
	assert_int_equal(s.body_len, sizeof(body) - 1);
	assert_memory_equal(s.body, body, sizeof(body) - 1);
	assert_string_equal(s.peer, "127.0.0.1");
	assert_int_equal(s.local_port, port);
	assert_true(wait_for(one_done, &s));
	assert_int_equal(s.done_code, 201);
	assert_true(s.done_seconds >= 0 && s.done_seconds < WAIT_MS / 1000.0);
	assert_string_equal(s.done_path, "/a b//c");
	httpd_free(h);
	assert_int_equal(s.done_calls, 1);
	char **strs[] = {&s.method, &s.path, &s.q_a, &s.q_b, &s.q_none, &s.q_missing,
			 &s.query_list, &s.header, &s.body, &s.peer, &s.done_path,
			 &s.header_list, &s.header_list_missing};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
}

static void raw_answer(struct httpd_req *rq, void *arg)
{
	(void)arg;
	const char *p = httpd_req_path(rq);
	if (!strcmp(p, "/raw")) {
		char *data = xmalloc(3);
		memcpy(data, "a\0b", 3);
		httpd_reply_raw(rq, 202, "application/octet-stream", data, 3);
	} else if (!strcmp(p, "/cache")) {
		httpd_reply_header(rq, "cache-control", "max-age=5");
		httpd_reply_text(rq, 200, "text/plain; charset=utf-8", "cached");
	} else {
		httpd_reply_raw(rq, 204, "text/plain", NULL, 0);
	}
}

static void test_answers(void **state)
{
	(void)state;
	struct httpd_config cfg = {.name = "t", .fallback = raw_answer};
	int port;
	struct httpd *h = server(&cfg, &port);
	cleanup_free char *raw = get(port, "/raw");
	assert_int_equal(status_of(raw), 202);
	assert_non_null(strstr(raw, "\r\nContent-Type: application/octet-stream\r\n"));
	assert_non_null(strstr(raw, "\r\nContent-Length: 3\r\n"));
	const char *b = strstr(raw, "\r\n\r\n") + 4;
	assert_memory_equal(b, "a\0b", 3);

	cleanup_free char *cached = get(port, "/cache");
	assert_int_equal(status_of(cached), 200);
	assert_non_null(strstr(cached, "\r\ncache-control: max-age=5\r\n"));
	assert_null(strstr(cached, "no-cache"));
	assert_string_equal(body_of(cached), "cached");

	cleanup_free char *empty = get(port, "/empty");
	assert_int_equal(status_of(empty), 204);
	assert_string_equal(body_of(empty), "");

	/* answers on one kept-alive connection */
	int fd = conn_open(port);
	struct buf ans = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		send_str(fd, "GET /cache HTTP/1.1\r\nHost: t\r\n\r\n");
		assert_true(read_answer(fd, &ans));
	}
	close(fd);
	buf_free(&ans);
	httpd_free(h);
}

/* ---- limits ---- */

static int handler_calls;

static void counting(struct httpd_req *rq, void *arg)
{
	(void)arg;
	__atomic_add_fetch(&handler_calls, 1, __ATOMIC_SEQ_CST);
	size_t len;
	httpd_req_body(rq, &len);
	cleanup_free char *text = xasprintf("got %zu", len);
	httpd_reply_text(rq, 200, "text/plain", text);
}

static void own_413(struct httpd_req *rq, void *arg)
{
	(void)arg;
	size_t len = 1;
	httpd_req_body(rq, &len);
	assert_int_equal(len, 0);
	httpd_reply_json(rq, 413, json_pack("{s:s}", "reason", "RequestEntityTooLarge"));
}

static void test_body_limit(void **state)
{
	(void)state;
	store(&handler_calls, 0);
	struct httpd_config cfg = {.name = "t", .max_body = 16, .fallback = counting};
	int port;
	struct httpd *h = server(&cfg, &port);
	const char *at_limit = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n"
			       "Connection: close\r\n\r\n0123456789abcdef";
	cleanup_free char *ok = http(port, at_limit);
	assert_int_equal(status_of(ok), 200);
	assert_string_equal(body_of(ok), "got 16");

	/* announced too large: answered at once, the body never sent */
	const char *big = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n"
			  "Connection: close\r\n\r\n";
	cleanup_free char *refused = http(port, big);
	assert_int_equal(status_of(refused), 413);
	assert_string_equal(body_of(refused), "request entity too large\n");

	/* chunked, growing past the limit: answered once it was read */
	const char *chunked = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
			      "Connection: close\r\n\r\n"
			      "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
	cleanup_free char *refused2 = http(port, chunked);
	assert_int_equal(status_of(refused2), 413);
	assert_int_equal(load(&handler_calls), 1);
	httpd_free(h);

	/* the server's owner may give its own 413 */
	cfg.too_large = own_413;
	h = server(&cfg, &port);
	cleanup_free char *own = http(port, big);
	assert_int_equal(status_of(own), 413);
	assert_string_equal(body_of(own), "{\"reason\":\"RequestEntityTooLarge\"}\n");
	cleanup_free char *own2 = http(port, chunked);
	assert_int_equal(status_of(own2), 413);
	assert_string_equal(body_of(own2), "{\"reason\":\"RequestEntityTooLarge\"}\n");
	assert_int_equal(load(&handler_calls), 1);
	httpd_free(h);
}

static void test_nul_path(void **state)
{
	(void)state;
	store(&handler_calls, 0);
	struct httpd_config cfg = {.name = "t", .fallback = counting};
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(&cfg, &err);
	assert_non_null(h);
	httpd_route(h, NULL, "/a", counting, NULL); /* would match the cut path */
	struct httpd_listener *l = httpd_listen(h, "127.0.0.1", 0, &err);
	assert_non_null(l);
	int port = httpd_listener_port(l);
	const char *paths[] = {"/a%00b", "/a%00", "/%00/x", "/a%00?q=1"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cleanup_free char *got = get(port, paths[i]);
		assert_int_equal(status_of(got), 400);
	}
	assert_int_equal(load(&handler_calls), 0);
	/* a NUL in a query value is not the path's */
	cleanup_free char *q = get(port, "/b?x=%00");
	assert_int_equal(status_of(q), 200);
	/* escapes that are not a NUL, or not escapes, pass */
	cleanup_free char *esc = get(port, "/%41%zz%4");
	assert_int_equal(status_of(esc), 200);
	assert_int_equal(load(&handler_calls), 2);
	httpd_free(h);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	store(&handler_calls, 0);
	/* one thread, and room for exactly the half-sent requests */
	enum { N = 300 };
	struct httpd_config cfg = {.name = "t",
				   .threads = 1,
				   .max_connections = N,
				   .idle_timeout_s = 1,
				   .fallback = counting};
	int port;
	struct httpd *h = server(&cfg, &port);
	const char *half = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789";

	int fd = conn_open(port);
	send_str(fd, half);
	long long t0 = time_mono_ns();
	struct buf b = BUF_INIT;
	assert_true(read_to_eof(fd, &b));
	double waited = (double)(time_mono_ns() - t0) / 1e9;
	close(fd);
	assert_string_equal(buf_str(&b), ""); /* cut off, not answered */
	buf_free(&b);
	assert_true(waited >= 0.5);

	/* many at once do not pin the server: every one is cut off, then the
	 * server (full until then) serves again */
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = conn_open(port);
		assert_true(fds[i] >= 0);
		send_str(fds[i], half);
	}
	for (int i = 0; i < N; i++) {
		assert_true(read_to_eof(fds[i], NULL));
		close(fds[i]);
	}
	assert_int_equal(load(&handler_calls), 0);
	long long until = time_mono_ns() + (long long)WAIT_MS * 1000000;
	int code = 0;
	while (code != 200 && time_mono_ns() < until) {
		cleanup_free char *got = get(port, "/");
		code = status_of(got);
	}
	assert_int_equal(code, 200);
	/* a kept-alive connection that stays idle is closed too */
	fd = conn_open(port);
	send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_answer(fd, &b));
	assert_true(read_to_eof(fd, NULL));
	close(fd);
	buf_free(&b);
	httpd_free(h);
}

static void test_per_ip_limit(void **state)
{
	(void)state;
	struct httpd_config cfg = {.name = "t", .max_per_ip = 2, .fallback = counting};
	int port;
	struct httpd *h = server(&cfg, &port);
	int a = conn_open(port), b = conn_open(port);
	struct buf ans = BUF_INIT;
	send_str(a, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_answer(a, &ans));
	send_str(b, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_answer(b, &ans));
	buf_reset(&ans);
	/* a third from the same address is closed unanswered */
	int c = conn_open(port);
	assert_true(c >= 0);
	const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
	(void)!send(c, req, strlen(req), MSG_NOSIGNAL); /* may meet the close */
	assert_true(read_to_eof(c, &ans));
	assert_string_equal(buf_str(&ans), "");
	close(c);
	/* the first two still work; once one goes, a new one is served */
	send_str(a, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_answer(a, &ans));
	close(a);
	long long until = time_mono_ns() + (long long)WAIT_MS * 1000000;
	int code = 0;
	while (code != 200 && time_mono_ns() < until) {
		cleanup_free char *got = get(port, "/");
		code = status_of(got);
	}
	assert_int_equal(code, 200);
	close(b);
	buf_free(&ans);
	httpd_free(h);
}

/* ---- listeners ---- */

static void test_listeners(void **state)
{
	(void)state;
	struct httpd_config cfg = {.name = "t", .threads = 1, .fallback = counting};
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = httpd_new(&cfg, &err);
	assert_non_null(h);
	struct httpd_listener *l1 = httpd_listen(h, "127.0.0.1", 0, &err);
	assert_non_null(l1);
	int p1 = httpd_listener_port(l1);
	cleanup_free char *g1 = get(p1, "/");
	assert_int_equal(status_of(g1), 200);

	/* a taken port: upstream's words */
	struct httpd_listener *dup = httpd_listen(h, "127.0.0.1", p1, &err);
	assert_null(dup);
	assert_int_equal(mk_err_code(err), MK_EIO);
	cleanup_free char *want =
		xasprintf("listen tcp 127.0.0.1:%d: bind: address already in use", p1);
	assert_string_equal(mk_err_msg(err), want);
	mk_err_free(err);
	err = NULL;
	assert_null(httpd_listen(h, "no-address", 1, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err);
	err = NULL;

	/* a second listener, added while serving, on a socket of the caller */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 8), 0);
	struct httpd_listener *l2 = httpd_listen_fd(h, s, &err);
	assert_non_null(l2);
	int p2 = httpd_listener_port(l2);
	assert_true(p2 > 0 && p2 != p1);
	cleanup_free char *g2 = get(p2, "/");
	assert_int_equal(status_of(g2), 200);
	/* IPv6 loopback, if the host has it */
	struct httpd_listener *l6 = httpd_listen(h, "::1", 0, &err);
	if (l6) {
		int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
					  .sin6_port = htons((uint16_t)httpd_listener_port(l6))};
		inet_pton(AF_INET6, "::1", &a6.sin6_addr);
		assert_int_equal(connect(fd6, (struct sockaddr *)&a6, sizeof(a6)), 0);
		send_str(fd6, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
		struct buf b6 = BUF_INIT;
		assert_true(read_to_eof(fd6, &b6));
		assert_int_equal(status_of(buf_str(&b6)), 200);
		buf_free(&b6);
		close(fd6);
		httpd_listener_close(h, l6);
	} else {
		mk_err_free(err);
		err = NULL;
	}

	/* closing one: its port refuses at once, its open connection is
	 * served to the end, the other listener goes on */
	int kept = conn_open(p1);
	struct buf ans = BUF_INIT;
	send_str(kept, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_answer(kept, &ans));
	httpd_listener_close(h, l1);
	assert_int_equal(conn_open(p1), -1);
	assert_int_equal(errno, ECONNREFUSED);
	send_str(kept, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_answer(kept, &ans));
	close(kept);
	buf_free(&ans);
	cleanup_free char *g3 = get(p2, "/");
	assert_int_equal(status_of(g3), 200);
	httpd_listener_close(h, NULL);

	/* the port is free for another listener of the same server */
	struct httpd_listener *again = httpd_listen(h, "127.0.0.1", p1, &err);
	assert_non_null(again);
	cleanup_free char *g4 = get(p1, "/");
	assert_int_equal(status_of(g4), 200);
	httpd_free(h); /* closes l2 and again */
	assert_int_equal(conn_open(p2), -1);
	assert_int_equal(conn_open(p1), -1);
}

/* ---- streams ---- */

struct feed {
	pthread_mutex_t mu;
	struct buf pending;
	bool end;
	bool endless; /* always has something (to see a write fail) */
	int reads;
	int freed;
	int stopping_seen;
	struct httpd_stream *stream;
	int stream_set;
};

static ssize_t feed_read(void *arg, char *out, size_t max, bool stopping)
{
	struct feed *f = arg;
	pthread_mutex_lock(&f->mu);
	f->reads++;
	ssize_t n = 0;
	if (f->endless) {
		n = (ssize_t)(max < 1000 ? max : 1000);
		memset(out, 'x', (size_t)n);
	} else if (f->pending.len) {
		n = (ssize_t)(f->pending.len < max ? f->pending.len : max);
		memcpy(out, f->pending.data, (size_t)n);
		memmove(f->pending.data, f->pending.data + n, f->pending.len - (size_t)n);
		f->pending.len -= (size_t)n;
	} else if (stopping && !f->stopping_seen) {
		f->stopping_seen = 1;
		n = 4;
		memcpy(out, "bye\n", 4);
	} else if (f->end || stopping) {
		n = HTTPD_STREAM_END;
	}
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void feed_free(void *arg)
{
	struct feed *f = arg;
	pthread_mutex_lock(&f->mu);
	store(&f->freed, 1);
	pthread_mutex_unlock(&f->mu);
}

static void stream_handler(struct httpd_req *rq, void *arg)
{
	struct feed *f = arg;
	struct httpd_stream *s =
		httpd_reply_stream(rq, 200, "application/json", feed_read, feed_free, f);
	assert_non_null(s);
	f->stream = s;
	store(&f->stream_set, 1);
}

static void feed_push(struct feed *f, const char *text, bool end)
{
	pthread_mutex_lock(&f->mu);
	buf_append_str(&f->pending, text);
	f->end = end;
	pthread_mutex_unlock(&f->mu);
}

/* As a producer must: never a resume once the free function ran. */
static void *resume_thread(void *arg)
{
	struct feed *f = arg;
	pthread_mutex_lock(&f->mu);
	if (!load(&f->freed))
		httpd_stream_resume(f->stream);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* Resumes f's stream from a thread of its own. */
static void resume_elsewhere(struct feed *f)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, resume_thread, f), 0);
	pthread_join(t, NULL);
}

static void feed_init(struct feed *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
}

static void feed_destroy(struct feed *f)
{
	buf_free(&f->pending);
	pthread_mutex_destroy(&f->mu);
}

static void test_stream_resume(void **state)
{
	(void)state;
	struct feed f;
	feed_init(&f);
	feed_push(&f, "hello\n", false);
	struct httpd_config cfg = {.name = "t", .fallback = stream_handler, .fallback_arg = &f};
	int port;
	struct httpd *h = server(&cfg, &port);
	int fd = conn_open(port);
	send_str(fd, "GET /watch HTTP/1.1\r\nHost: t\r\n\r\n");
	struct buf b = BUF_INIT;
	assert_true(read_until(fd, &b, "hello\n"));
	assert_non_null(strstr(buf_str(&b), "HTTP/1.1 200"));
	assert_non_null(strstr(buf_str(&b), "\r\nTransfer-Encoding: chunked\r\n"));
	assert_true(wait_for(flag_set, &f.stream_set));

	/* parked: more data arrives only with a resume, from another thread */
	for (int i = 0; i < 5; i++) {
		char line[32];
		snprintf(line, sizeof(line), "event %d\n", i);
		feed_push(&f, line, false);
		resume_elsewhere(&f);
		assert_true(read_until(fd, &b, line));
	}
	/* a parked stream does not spin: a few reads per event, not thousands */
	pthread_mutex_lock(&f.mu);
	int reads = f.reads;
	pthread_mutex_unlock(&f.mu);
	assert_true(reads >= 6 && reads <= 30);
	/* a resume with nothing new is harmless */
	resume_elsewhere(&f);
	feed_push(&f, "last\n", true);
	resume_elsewhere(&f);
	assert_true(read_until(fd, &b, "last\n\r\n0\r\n\r\n"));
	assert_true(wait_for(flag_set, &f.freed));
	close(fd);
	buf_free(&b);
	httpd_free(h);
	feed_destroy(&f);
}

static void test_stream_client_gone(void **state)
{
	(void)state;
	struct feed f;
	feed_init(&f);
	feed_push(&f, "first\n", false);
	struct httpd_config cfg = {.name = "t", .fallback = stream_handler, .fallback_arg = &f};
	int port;
	struct httpd *h = server(&cfg, &port);
	int fd = conn_open(port);
	send_str(fd, "GET /watch HTTP/1.1\r\nHost: t\r\n\r\n");
	struct buf b = BUF_INIT;
	assert_true(read_until(fd, &b, "first\n"));
	assert_true(wait_for(flag_set, &f.stream_set));
	close(fd);
	buf_free(&b);
	/* a parked stream learns it when it writes again (unless the
	 * server saw the close before it parked) */
	pthread_mutex_lock(&f.mu);
	f.endless = true;
	pthread_mutex_unlock(&f.mu);
	resume_elsewhere(&f);
	assert_true(wait_for(flag_set, &f.freed));
	httpd_free(h);
	feed_destroy(&f);
}

static void test_free_with_parked_stream(void **state)
{
	(void)state;
	struct feed f;
	feed_init(&f);
	feed_push(&f, "first\n", false);
	struct httpd_config cfg = {.name = "t", .fallback = stream_handler, .fallback_arg = &f};
	int port;
	struct httpd *h = server(&cfg, &port);
	int fd = conn_open(port);
	send_str(fd, "GET /watch HTTP/1.1\r\nHost: t\r\n\r\n");
	struct buf b = BUF_INIT;
	assert_true(read_until(fd, &b, "first\n"));
	assert_true(wait_for(flag_set, &f.stream_set));
	httpd_free(h);
	/* the reader was told, had its last word, and the stream was freed */
	assert_int_equal(load(&f.freed), 1);
	assert_int_equal(f.stopping_seen, 1);
	assert_true(read_to_eof(fd, &b));
	assert_non_null(strstr(buf_str(&b), "first\n\r\n4\r\nbye\n\r\n0\r\n\r\n"));
	close(fd);
	buf_free(&b);
	feed_destroy(&f);
}

/* ---- upgrades ---- */

struct echo {
	struct httpd_upgraded *u;
	int fd;
	struct buf extra;
	int closed;
	int done_code;
	int done_calls;
	pthread_t thread;
};

/* Echoes in upper case until EOF, then gives the connection back. */
static void *echo_main(void *arg)
{
	struct echo *e = arg;
	char chunk[256];
	for (size_t i = 0; i < e->extra.len; i++)
		chunk[i] = (char)(e->extra.data[i] >= 'a' && e->extra.data[i] <= 'z'
					  ? e->extra.data[i] - 32
					  : e->extra.data[i]);
	if (e->extra.len)
		assert_int_equal(send(e->fd, chunk, e->extra.len, MSG_NOSIGNAL),
				 (ssize_t)e->extra.len);
	for (;;) {
		ssize_t n = recv(e->fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] >= 'a' && chunk[i] <= 'z')
				chunk[i] = (char)(chunk[i] - 32);
		if (send(e->fd, chunk, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	}
	httpd_upgraded_close(e->u);
	store(&e->closed, 1);
	return NULL;
}

static void on_up(struct httpd_upgraded *u, int fd, const char *extra, size_t extra_len, void *arg)
{
	struct echo *e = arg;
	e->u = u;
	e->fd = fd;
	assert_true(extra_len < 256);
	buf_append(&e->extra, extra, extra_len);
	assert_int_equal(pthread_create(&e->thread, NULL, echo_main, e), 0);
}

static void upgrade_handler(struct httpd_req *rq, void *arg)
{
	const char *up = httpd_req_header(rq, "Upgrade");
	if (!up || strcmp(up, "shout")) {
		httpd_reply_text(rq, 400, "text/plain", "upgrade to shout only\n");
		return;
	}
	httpd_reply_header(rq, "Upgrade", "shout");
	httpd_reply_header(rq, "Connection", "Upgrade");
	httpd_reply_upgrade(rq, on_up, arg);
}

static void echo_done(struct httpd_req *rq, int code, double seconds, void *arg)
{
	(void)rq;
	(void)seconds;
	struct echo *e = arg;
	store(&e->done_code, code);
	__atomic_add_fetch(&e->done_calls, 1, __ATOMIC_SEQ_CST);
}

static bool echo_done_once(void *arg)
{
	return load(&((struct echo *)arg)->done_calls) == 1;
}

static void test_upgrade(void **state)
{
	(void)state;
	struct echo e = {.extra = BUF_INIT};
	struct httpd_config cfg = {.name = "t",
				   .fallback = upgrade_handler,
				   .fallback_arg = &e,
				   .done = echo_done,
				   .done_arg = &e};
	int port;
	struct httpd *h = server(&cfg, &port);
	int fd = conn_open(port);
	/* bytes right behind the request reach the callee as extra */
	send_str(fd, "GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: shout\r\n"
		     "\r\nearly");
	struct buf b = BUF_INIT;
	assert_true(read_until(fd, &b, "\r\n\r\n"));
	assert_int_equal(status_of(buf_str(&b)), 101);
	assert_non_null(strcasestr(buf_str(&b), "\r\nUpgrade: shout\r\n"));
	assert_true(read_until(fd, &b, "\r\n\r\nEARLY"));
	send_str(fd, "raw bytes\n");
	assert_true(read_until(fd, &b, "EARLYRAW BYTES\n"));
	assert_string_equal(body_of(buf_str(&b)), "EARLYRAW BYTES\n");
	assert_string_equal(buf_str(&e.extra), "early");
	/* the client hangs up: the callee gives the connection back */
	close(fd);
	assert_true(wait_for(flag_set, &e.closed));
	pthread_join(e.thread, NULL);
	assert_true(wait_for(echo_done_once, &e));
	assert_int_equal(load(&e.done_code), 101);

	/* httpd_free with an upgraded connection: its socket is shut down,
	 * the callee sees EOF and gives it back */
	buf_free(&e.extra);
	memset(&e, 0, sizeof(e));
	fd = conn_open(port);
	send_str(fd, "GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: shout\r\n"
		     "\r\n");
	buf_reset(&b);
	assert_true(read_until(fd, &b, "\r\n\r\n"));
	assert_int_equal(status_of(buf_str(&b)), 101);
	send_str(fd, "ping");
	assert_true(read_until(fd, &b, "PING"));
	httpd_free(h); /* returns once the callee gave the connection back */
	pthread_join(e.thread, NULL);
	assert_int_equal(load(&e.closed), 1);
	assert_true(read_to_eof(fd, NULL));
	close(fd);
	buf_free(&b);
	buf_free(&e.extra);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_request_access),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_nul_path),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_per_ip_limit),
		cmocka_unit_test(test_listeners),
		cmocka_unit_test(test_stream_resume),
		cmocka_unit_test(test_stream_client_gone),
		cmocka_unit_test(test_free_with_parked_stream),
		cmocka_unit_test(test_upgrade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
