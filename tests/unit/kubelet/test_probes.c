/* The prober and the lifecycle hook runner against real sockets: a small
 * HTTP/1.1 server and a small HTTP/2 (h2c) gRPC health server on 127.0.0.1
 * in threads of this program, closed ports, and a scripted exec callback.
 * Probes use periodSeconds 1; waits are bounded polls on the callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "buf.h"
#include "cleanup.h"
#include "err.h"
#include "xalloc.h"
#include "kubelet/probes.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------- what the callbacks saw ---------------- */

struct recorder {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **lines; /* "uid/container Type RESULT|message" and "uid/container Type reason|message"
		       */
	size_t n, cap;
	struct prober *p;	 /* for callbacks that act on the prober */
	char *remove_on_startup; /* a pod uid whose Startup SUCCESS callback removes it */
	char *block_on_uid;	 /* a pod uid whose result callbacks block until released */
	bool blocked, release;
};

static struct recorder rec = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void rec_add(char *line)
{
	pthread_mutex_lock(&rec.mu);
	if (rec.n == rec.cap) {
		rec.cap = rec.cap ? rec.cap * 2 : 64;
		rec.lines = xrealloc(rec.lines, rec.cap * sizeof(*rec.lines));
	}
	rec.lines[rec.n++] = line;
	pthread_cond_broadcast(&rec.cv);
	pthread_mutex_unlock(&rec.mu);
}

static void rec_reset(void)
{
	pthread_mutex_lock(&rec.mu);
	for (size_t i = 0; i < rec.n; i++)
		free(rec.lines[i]);
	free(rec.lines);
	rec.lines = NULL;
	rec.n = rec.cap = 0;
	free(rec.remove_on_startup);
	free(rec.block_on_uid);
	rec.remove_on_startup = rec.block_on_uid = NULL;
	rec.blocked = rec.release = false;
	rec.p = NULL;
	pthread_mutex_unlock(&rec.mu);
}

static const char *const result_names[] = {"SUCCESS", "FAILURE"};

static void on_result(void *arg, const char *uid, const char *ctr, enum probe_type type,
		      enum probe_result r, const char *message)
{
	(void)arg;
	rec_add(xasprintf("%s/%s %s %s|%s", uid, ctr, probe_type_name(type), result_names[r],
			  message ? message : "(null)"));
	pthread_mutex_lock(&rec.mu);
	bool remove_self = rec.remove_on_startup && strcmp(uid, rec.remove_on_startup) == 0 &&
			   type == PROBE_STARTUP;
	bool block = rec.block_on_uid && strcmp(uid, rec.block_on_uid) == 0;
	if (block) {
		rec.blocked = true;
		pthread_cond_broadcast(&rec.cv);
		int64_t until = now_ms() + 10000;
		while (!rec.release && now_ms() < until) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&rec.cv, &rec.mu, &ts);
		}
	}
	struct prober *p = rec.p;
	pthread_mutex_unlock(&rec.mu);
	if (remove_self)
		prober_remove(p, uid, ctr);
}

static void on_event(void *arg, const char *uid, const char *ctr, enum probe_type type,
		     const char *reason, const char *message)
{
	(void)arg;
	rec_add(xasprintf("%s/%s %s %s|%s", uid, ctr, probe_type_name(type), reason, message));
}

/* Lines that start with prefix. */
static size_t rec_count(const char *prefix)
{
	size_t n = 0, len = strlen(prefix);
	pthread_mutex_lock(&rec.mu);
	for (size_t i = 0; i < rec.n; i++)
		n += strncmp(rec.lines[i], prefix, len) == 0;
	pthread_mutex_unlock(&rec.mu);
	return n;
}

/* Index of the first line equal to line (or starting with it when
 * prefix), -1 if none. */
static long rec_find(const char *line, bool prefix)
{
	long at = -1;
	size_t len = strlen(line);
	pthread_mutex_lock(&rec.mu);
	for (size_t i = 0; i < rec.n && at < 0; i++)
		if (prefix ? strncmp(rec.lines[i], line, len) == 0
			   : strcmp(rec.lines[i], line) == 0)
			at = (long)i;
	pthread_mutex_unlock(&rec.mu);
	return at;
}

static bool wait_cond(bool (*fn)(const void *), const void *arg, int timeout_ms)
{
	int64_t until = now_ms() + timeout_ms;
	for (;;) {
		if (fn(arg))
			return true;
		if (now_ms() >= until)
			return false;
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
}

static bool has_line(const void *arg)
{
	return rec_find(arg, false) >= 0;
}

/* Asserts that exactly `line` is recorded within timeout_ms, printing what
 * was recorded if not. */
static void expect_line(const char *line, int timeout_ms)
{
	if (wait_cond(has_line, line, timeout_ms))
		return;
	pthread_mutex_lock(&rec.mu);
	fprintf(stderr, "# missing: %s\n# recorded:\n", line);
	for (size_t i = 0; i < rec.n; i++)
		fprintf(stderr, "#   %s\n", rec.lines[i]);
	pthread_mutex_unlock(&rec.mu);
	fail_msg("missing: %s", line);
}

/* ---------------- the exec callback ---------------- */

enum fake_mode { FAKE_EXIT, FAKE_TIMEOUT, FAKE_ERROR, FAKE_BLOCK };

/* Behaviour and call log per "container-id argv[0]". */
struct fake {
	char *key;
	enum fake_mode mode;
	int exit_code;
	char *output;
	int fail_first; /* the first N calls exit 1 */
	int calls;
	int64_t first_call_ms; /* wall clock */
	int64_t last_timeout_ms;
	char *last_argv; /* argv joined by '|' */
	bool entered, returned;
	struct fake *next;
};

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static struct fake *fakes;
static bool fake_release;

static struct fake *fake_get(const char *id, const char *cmd)
{
	cleanup_free char *key = xasprintf("%s %s", id, cmd);
	for (struct fake *f = fakes; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			return f;
	struct fake *f = xcalloc(1, sizeof(*f));
	f->key = steal_pointer(&key);
	f->next = fakes;
	fakes = f;
	return f;
}

static void fake_set(const char *id, const char *cmd, enum fake_mode mode, int exit_code,
		     const char *output)
{
	pthread_mutex_lock(&fake_mu);
	struct fake *f = fake_get(id, cmd);
	f->mode = mode;
	f->exit_code = exit_code;
	free(f->output);
	f->output = output ? xstrdup(output) : NULL;
	pthread_mutex_unlock(&fake_mu);
}

static void fake_fail_first(const char *id, const char *cmd, int n)
{
	pthread_mutex_lock(&fake_mu);
	fake_get(id, cmd)->fail_first = n;
	pthread_mutex_unlock(&fake_mu);
}

static int fake_calls(const char *id, const char *cmd)
{
	pthread_mutex_lock(&fake_mu);
	int n = fake_get(id, cmd)->calls;
	pthread_mutex_unlock(&fake_mu);
	return n;
}

static void fakes_reset(void)
{
	pthread_mutex_lock(&fake_mu);
	while (fakes) {
		struct fake *f = fakes;
		fakes = f->next;
		free(f->key);
		free(f->output);
		free(f->last_argv);
		free(f);
	}
	fake_release = false;
	pthread_mutex_unlock(&fake_mu);
}

static int fake_exec(void *arg, const char *id, char *const *argv, int64_t timeout_ms,
		     int *exit_code, char **output, struct mk_err **err)
{
	(void)arg;
	pthread_mutex_lock(&fake_mu);
	struct fake *f = fake_get(id, argv[0]);
	f->calls++;
	if (f->calls == 1) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		f->first_call_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	f->last_timeout_ms = timeout_ms;
	struct buf b = BUF_INIT;
	for (size_t i = 0; argv[i]; i++)
		buf_printf(&b, "%s%s", i ? "|" : "", argv[i]);
	free(f->last_argv);
	f->last_argv = buf_steal(&b);
	enum fake_mode mode = f->mode;
	int code = f->calls <= f->fail_first ? 1 : f->exit_code;
	char *out = f->output ? xstrdup(f->output) : NULL;
	if (mode == FAKE_BLOCK) {
		f->entered = true;
		pthread_cond_broadcast(&fake_cv);
		int64_t until = now_ms() + 10000;
		while (!fake_release && now_ms() < until) {
			pthread_mutex_unlock(&fake_mu);
			struct timespec ts = {0, 10 * 1000000};
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&fake_mu);
		}
	}
	pthread_mutex_unlock(&fake_mu);
	int rc = 0;
	if (mode == FAKE_TIMEOUT) {
		free(out);
		rc = mk_err_set(err, MK_ETIMEOUT, "timed out after %lld ms", (long long)timeout_ms);
	} else if (mode == FAKE_ERROR) {
		free(out);
		rc = mk_err_set(err, MK_EIO, "no such container: %s", id);
	} else {
		*exit_code = code;
		*output = out;
	}
	pthread_mutex_lock(&fake_mu);
	fake_get(id, argv[0])->returned = true;
	pthread_mutex_unlock(&fake_mu);
	return rc;
}

/* ---------------- servers ---------------- */

struct server {
	int fd, port;
	int stop[2]; /* a byte in stop[1] wakes every thread */
	pthread_t accept_thr;
	void *(*conn_fn)(void *);
	pthread_mutex_t mu;
	pthread_t *conns;
	size_t nconns, capconns;
	/* HTTP */
	struct buf log; /* "path|User-Agent|Accept|X-Probe|Connection\n" per request */
	int toggle_code;
	bool big_cut; /* the client hung up before the whole big body */
	/* gRPC */
	struct buf services; /* "[service]" per request */
};

struct conn {
	struct server *s;
	int fd;
};

static struct server http_srv, grpc_srv;
static int closed_port;

/* Reads exactly n bytes, giving up after 5 s or on stop. */
static int read_full(struct server *s, int fd, void *dst, size_t n)
{
	size_t got = 0;
	int64_t until = now_ms() + 5000;
	while (got < n) {
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
				       {.fd = s->stop[0], .events = POLLIN}};
		int64_t left = until - now_ms();
		if (left <= 0 || poll(pf, 2, (int)left) <= 0 || pf[1].revents)
			return -1;
		ssize_t r = recv(fd, (char *)dst + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Waits up to ms for the stop byte; true when stopping. */
static bool wait_stop(struct server *s, int ms)
{
	struct pollfd pf = {.fd = s->stop[0], .events = POLLIN};
	return poll(&pf, 1, ms) > 0;
}

static void *accept_main(void *arg)
{
	struct server *s = arg;
	for (;;) {
		struct pollfd pf[2] = {{.fd = s->fd, .events = POLLIN},
				       {.fd = s->stop[0], .events = POLLIN}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct conn *c = xmalloc(sizeof(*c));
		*c = (struct conn){.s = s, .fd = fd};
		pthread_mutex_lock(&s->mu);
		if (s->nconns == s->capconns) {
			s->capconns = s->capconns ? s->capconns * 2 : 64;
			s->conns = xrealloc(s->conns, s->capconns * sizeof(*s->conns));
		}
		if (pthread_create(&s->conns[s->nconns], NULL, s->conn_fn, c) == 0) {
			s->nconns++;
		} else {
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static int listen_local(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void server_start(struct server *s, void *(*conn_fn)(void *))
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->conn_fn = conn_fn;
	s->toggle_code = 200;
	s->fd = listen_local(&s->port);
	assert_true(s->fd >= 0);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&s->accept_thr, NULL, accept_main, s), 0);
}

static void server_stop(struct server *s)
{
	if (write(s->stop[1], "x", 1) != 1)
		abort();
	pthread_join(s->accept_thr, NULL);
	pthread_mutex_lock(&s->mu);
	size_t n = s->nconns;
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < n; i++)
		pthread_join(s->conns[i], NULL);
	free(s->conns);
	close(s->fd);
	close(s->stop[0]);
	close(s->stop[1]);
	buf_free(&s->log);
	buf_free(&s->services);
	pthread_mutex_destroy(&s->mu);
}

/* A header's value from a raw request, or "-". */
static void req_header(struct buf *out, const char *req, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *l = strstr(req, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
			const char *v = h + nlen + 1;
			while (*v == ' ')
				v++;
			const char *end = strstr(v, "\r\n");
			buf_append(out, v, end ? (size_t)(end - v) : strlen(v));
			return;
		}
	}
	buf_append_char(out, '-');
}

static void http_reply(int fd, int code, const char *extra, const char *body)
{
	cleanup_free char *r = xasprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: "
					 "close\r\n%s\r\n%s",
					 code, strlen(body), extra, body);
	send_all(fd, r, strlen(r));
}

static void *http_conn(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->s;
	int fd = c->fd;
	free(c);
	struct buf req = BUF_INIT;
	char chunk[1024];
	while (!strstr(buf_str(&req), "\r\n\r\n") && req.len < 65536) {
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
				       {.fd = s->stop[0], .events = POLLIN}};
		if (poll(pf, 2, 5000) <= 0 || pf[1].revents)
			goto out;
		ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
		if (r <= 0)
			goto out;
		buf_append(&req, chunk, (size_t)r);
		if ((unsigned char)req.data[0] == 0x16) {
			/* a TLS handshake: answer as a plain HTTP server does */
			http_reply(fd, 400, "", "Client sent an HTTP request to an HTTPS server.");
			goto out;
		}
	}
	char path[512] = "";
	if (sscanf(buf_str(&req), "GET %511s HTTP/1.1", path) != 1)
		goto out;
	pthread_mutex_lock(&s->mu);
	buf_printf(&s->log, "%s|", path);
	req_header(&s->log, buf_str(&req), "User-Agent");
	buf_append_char(&s->log, '|');
	req_header(&s->log, buf_str(&req), "Accept");
	buf_append_char(&s->log, '|');
	req_header(&s->log, buf_str(&req), "X-Probe");
	buf_append_char(&s->log, '|');
	req_header(&s->log, buf_str(&req), "Connection");
	buf_append_char(&s->log, '\n');
	int toggle = s->toggle_code;
	pthread_mutex_unlock(&s->mu);

	if (strcmp(path, "/ok") == 0 || strcmp(path, "/headers") == 0) {
		http_reply(fd, 200, "", "ok");
	} else if (strcmp(path, "/hangup") == 0) {
		/* closes without an answer */
	} else if (strcmp(path, "/fail") == 0) {
		http_reply(fd, 500, "", "broken");
	} else if (strcmp(path, "/toggle") == 0) {
		http_reply(fd, toggle, "", "toggle");
	} else if (strcmp(path, "/redirect-local") == 0) {
		http_reply(fd, 302, "Location: /ok\r\n", "");
	} else if (strcmp(path, "/redirect-away") == 0) {
		http_reply(fd, 302, "Location: http://elsewhere.invalid:9/x\r\n", "moved away");
	} else if (strcmp(path, "/redirect-loop") == 0) {
		http_reply(fd, 302, "Location: /redirect-loop\r\n", "");
	} else if (strcmp(path, "/slow") == 0) {
		if (!wait_stop(s, 5000))
			http_reply(fd, 200, "", "late");
	} else if (strcmp(path, "/big") == 0) {
		/* 4 MiB announced; the prober must stop reading after 10 KiB */
		size_t total = 4u << 20, sent = 0;
		cleanup_free char *hdr =
			xasprintf("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
		static char block[16384];
		memset(block, 'b', sizeof(block));
		bool cut = send_all(fd, hdr, strlen(hdr)) < 0;
		while (!cut && sent < total) {
			if (send_all(fd, block, sizeof(block)) < 0)
				cut = true;
			else
				sent += sizeof(block);
		}
		pthread_mutex_lock(&s->mu);
		s->big_cut = cut;
		pthread_mutex_unlock(&s->mu);
	} else {
		http_reply(fd, 404, "", "not found");
	}
out:
	buf_free(&req);
	close(fd);
	return NULL;
}

/* ---- h2c gRPC health server: just enough HTTP/2 to answer Check ---- */

static void h2_frame(int fd, uint8_t type, uint8_t flags, uint32_t sid, const void *payload,
		     size_t len)
{
	uint8_t h[9] = {(uint8_t)(len >> 16),
			(uint8_t)(len >> 8),
			(uint8_t)len,
			type,
			flags,
			(uint8_t)(sid >> 24 & 0x7f),
			(uint8_t)(sid >> 16),
			(uint8_t)(sid >> 8),
			(uint8_t)sid};
	send_all(fd, h, 9);
	if (len)
		send_all(fd, payload, len);
}

/* HPACK "literal header field without indexing, new name", no Huffman. */
static void hpack_literal(struct buf *b, const char *name, const char *value)
{
	buf_append_char(b, 0x00);
	buf_append_char(b, (char)strlen(name));
	buf_append_str(b, name);
	buf_append_char(b, (char)strlen(value));
	buf_append_str(b, value);
}

static void hpack_status_ct(struct buf *b)
{
	buf_append_char(b, (char)0x88); /* :status 200, static table entry 8 */
	/* content-type (static entry 31) as a literal value */
	buf_append_char(b, 0x0f);
	buf_append_char(b, 0x10);
	buf_append_char(b, 16);
	buf_append_str(b, "application/grpc");
}

static void *grpc_conn(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->s;
	int fd = c->fd;
	free(c);
	char pre[24];
	struct buf data = BUF_INIT;
	uint8_t *payload = NULL;
	uint32_t sid = 0;
	bool done = false;
	if (read_full(s, fd, pre, 24) < 0 ||
	    memcmp(pre, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) != 0)
		goto out;
	h2_frame(fd, 4, 0, 0, NULL, 0);
	while (!done) {
		uint8_t h[9];
		if (read_full(s, fd, h, 9) < 0)
			goto out;
		size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
		uint8_t type = h[3], flags = h[4];
		uint32_t id = (uint32_t)(h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 |
			      (uint32_t)h[7] << 8 | h[8];
		free(payload);
		payload = xmalloc(len + 1);
		if (len && read_full(s, fd, payload, len) < 0)
			goto out;
		switch (type) {
		case 4: /* SETTINGS */
			if (!(flags & 1))
				h2_frame(fd, 4, 1, 0, NULL, 0);
			break;
		case 1: /* HEADERS */
			sid = id;
			done = flags & 1;
			break;
		case 0: { /* DATA */
			size_t off = 0, pad = 0;
			if (flags & 8) {
				pad = payload[0];
				off = 1;
			}
			if (len >= off + pad)
				buf_append(&data, payload + off, len - off - pad);
			done = flags & 1;
			break;
		}
		case 6: /* PING */
			if (!(flags & 1))
				h2_frame(fd, 6, 1, 0, payload, len);
			break;
		case 7: /* GOAWAY */
			goto out;
		default:
			break;
		}
	}
	/* the request: one length-prefixed HealthCheckRequest */
	char service[256] = "";
	const uint8_t *d = (const uint8_t *)buf_str(&data);
	if (data.len >= 5 && d[0] == 0) {
		size_t mlen = (size_t)d[1] << 24 | (size_t)d[2] << 16 | (size_t)d[3] << 8 | d[4];
		if (mlen >= 2 && mlen + 5 <= data.len && d[5] == 0x0a && d[6] < 0x80 &&
		    (size_t)d[6] + 2 == mlen)
			memcpy(service, d + 7, d[6]);
		else if (mlen != 0)
			strcpy(service, "(malformed)");
	} else {
		strcpy(service, "(no message)");
	}
	pthread_mutex_lock(&s->mu);
	buf_printf(&s->services, "[%s]", service);
	pthread_mutex_unlock(&s->mu);

	struct buf hb = BUF_INIT;
	if (strcmp(service, "") == 0 || strcmp(service, "ok") == 0 ||
	    strcmp(service, "down") == 0) {
		hpack_status_ct(&hb);
		h2_frame(fd, 1, 4, sid, hb.data, hb.len);
		uint8_t msg[7] = {0, 0, 0, 0, 2, 0x08, strcmp(service, "down") == 0 ? 2 : 1};
		h2_frame(fd, 0, 0, sid, msg, sizeof(msg));
		buf_reset(&hb);
		hpack_literal(&hb, "grpc-status", "0");
		h2_frame(fd, 1, 5, sid, hb.data, hb.len);
	} else {
		/* trailers-only answer, as a health server gives for an unknown service */
		hpack_status_ct(&hb);
		hpack_literal(&hb, "grpc-status", "5");
		hpack_literal(&hb, "grpc-message", "unknown%20service");
		h2_frame(fd, 1, 5, sid, hb.data, hb.len);
	}
	buf_free(&hb);
	/* until the client hangs up */
	uint8_t sink[256];
	while (read_full(s, fd, sink, 1) == 0)
		;
out:
	free(payload);
	buf_free(&data);
	close(fd);
	return NULL;
}

/* ---- an HTTPS server (libmicrohttpd) with a self-signed certificate ---- */

/* A throwaway P-256 key and a self-signed certificate for CN=probe-test,
 * made for this test only: the prober must not check it. */
static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3/I1FXJrjLna052p\n"
			       "mVBSlL1Tl88hTpJjJiSX0GudZJahRANCAAQadu89DHVIqhiZvCBhvX2eQ53HST0+\n"
			       "CIOU/BwNq2aliHOPLDsTfPEGYC8FCg8jJQuejKeJI3jKXWzweREvEvcu\n"
			       "-----END PRIVATE KEY-----\n";
static const char test_cert[] = "-----BEGIN CERTIFICATE-----\n"
				"MIIBgDCCASegAwIBAgIUQpsdjRTP2KLRsMMvCo6C6S9EC5AwCgYIKoZIzj0EAwIw\n"
				"FTETMBEGA1UEAwwKcHJvYmUtdGVzdDAgFw0yNjEyMDcxNDMwMzBaGA8yMTI2MTEx\n"
				"MzE0MzAzMFowFTETMBEGA1UEAwwKcHJvYmUtdGVzdDBZMBMGByqGSM49AgEGCCqG\n"
				"SM49AwEHA0IABBp27z0MdUiqGJm8IGG9fZ5DncdJPT4Ig5T8HA2rZqWIc48sOxN8\n"
				"8QZgLwUKDyMlC56Mp4kjeMpdbPB5ES8S9y6jUzBRMB0GA1UdDgQWBBRbbwWA9GOs\n"
				"LKBPIMHwoxA0uDQetzAfBgNVHSMEGDAWgBRbbwWA9GOsLKBPIMHwoxA0uDQetzAP\n"
				"BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIG9TLpHPU5gUOJzNZKwR\n"
				"GK6nofZjUtfkbp2srXuz9G+YAiAhES7QPQm5JS16trIsMREBcNZPSr906ZNs8Lii\n"
				"5RcNcg==\n"
				"-----END CERTIFICATE-----\n";

static struct MHD_Daemon *tls_srv;
static int tls_port;

static enum MHD_Result tls_answer(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	static const char ok[] = "secure";
	static const char no[] = "no";
	bool good = strcmp(url, "/secure") == 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(
		good ? strlen(ok) : strlen(no), (void *)(good ? ok : no), MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc = MHD_queue_response(conn, good ? 200 : 503, r);
	MHD_destroy_response(r);
	return rc;
}

static void tls_start(void)
{
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	tls_srv = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
				   tls_answer, NULL, MHD_OPTION_SOCK_ADDR, &a,
				   MHD_OPTION_HTTPS_MEM_KEY, test_key, MHD_OPTION_HTTPS_MEM_CERT,
				   test_cert, MHD_OPTION_END);
	if (tls_srv)
		tls_port = MHD_get_daemon_info(tls_srv, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static int group_setup(void **state)
{
	(void)state;
	server_start(&http_srv, http_conn);
	server_start(&grpc_srv, grpc_conn);
	tls_start();
	/* a port nobody listens on: bound, then closed */
	int fd = listen_local(&closed_port);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	server_stop(&http_srv);
	server_stop(&grpc_srv);
	if (tls_srv)
		MHD_stop_daemon(tls_srv);
	return 0;
}

static struct prober *P;

static int setup(void **state)
{
	(void)state;
	rec_reset();
	fakes_reset();
	struct prober_callbacks cb = {
		.exec = fake_exec,
		.result = on_result,
		.event = on_event,
	};
	cleanup_err struct mk_err *err = NULL;
	P = prober_new(&cb, &err);
	if (!P)
		return -1;
	pthread_mutex_lock(&rec.mu);
	rec.p = P;
	pthread_mutex_unlock(&rec.mu);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pthread_mutex_lock(&fake_mu);
	fake_release = true;
	pthread_mutex_unlock(&fake_mu);
	pthread_mutex_lock(&rec.mu);
	rec.release = true;
	pthread_cond_broadcast(&rec.cv);
	pthread_mutex_unlock(&rec.mu);
	prober_free(P);
	P = NULL;
	rec_reset();
	fakes_reset();
	return 0;
}

/* A pod of one container "c" whose body is ctr_fields (JSON members). */
static json_t *pod_of(const char *uid, const char *ctr_fields)
{
	cleanup_free char *text = xasprintf(
		"{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"%s\"},"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"%s%s}]}}",
		uid, ctr_fields[0] ? "," : "", ctr_fields);
	json_error_t je;
	json_t *pod = json_loads(text, 0, &je);
	if (!pod)
		fail_msg("bad pod JSON: %s: %s", je.text, text);
	return pod;
}

static void add_at(const char *uid, const char *id, const char *ctr_fields, time_t started)
{
	cleanup_json json_t *pod = pod_of(uid, ctr_fields);
	cleanup_err struct mk_err *err = NULL;
	if (prober_add(P, pod, "c", id, "127.0.0.1", started, &err) < 0)
		fail_msg("prober_add %s: %s", uid, mk_err_msg(err));
}

static void add(const char *uid, const char *ctr_fields)
{
	add_at(uid, uid, ctr_fields, time(NULL));
}

/* ---------------- tests ---------------- */

static void test_http(void **state)
{
	(void)state;
	int port = http_srv.port;
	char f[1024];
#define LIVE_HTTP(path, extra)                                                                     \
	(snprintf(f, sizeof(f),                                                                    \
		  "\"livenessProbe\":{\"httpGet\":{\"path\":\"%s\",\"port\":%d},"                  \
		  "\"periodSeconds\":1,\"failureThreshold\":1%s}",                                 \
		  path, port, extra),                                                              \
	 f)
#define READY_HTTP(path)                                                                           \
	(snprintf(f, sizeof(f),                                                                    \
		  "\"readinessProbe\":{\"httpGet\":{\"path\":\"%s\",\"port\":%d},"                 \
		  "\"periodSeconds\":1}",                                                          \
		  path, port),                                                                     \
	 f)
	add("h-fail", LIVE_HTTP("/fail", ""));
	add("h-slow", LIVE_HTTP("/slow", ",\"timeoutSeconds\":1"));
	add("h-loop", LIVE_HTTP("/redirect-loop", ""));
	add("h-hangup", LIVE_HTTP("/hangup", ""));
	add("h-ok", READY_HTTP("/ok"));
	add("h-local", READY_HTTP("/redirect-local"));
	add("h-away", READY_HTTP("/redirect-away"));
	add("h-big", READY_HTTP("/big"));
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":%d},"
		 "\"periodSeconds\":1,\"failureThreshold\":1}",
		 closed_port);
	add("h-refused", f);
	snprintf(f, sizeof(f),
		 "\"ports\":[{\"name\":\"web\",\"containerPort\":%d}],"
		 "\"readinessProbe\":{\"httpGet\":{\"path\":\"/headers\",\"port\":\"web\","
		 "\"scheme\":\"HTTP\",\"httpHeaders\":[{\"name\":\"X-Probe\",\"value\":\"yes\"}]},"
		 "\"periodSeconds\":1}",
		 port);
	add("h-named", f);
	add("h-badport", "\"livenessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":\"nope\"},"
			 "\"periodSeconds\":1,\"failureThreshold\":1}");

	char want[512];
	expect_line("h-fail/c Liveness FAILURE|Liveness probe failed: HTTP probe failed with "
		    "statuscode: 500",
		    5000);
	expect_line("h-fail/c Liveness Unhealthy|Liveness probe failed: HTTP probe failed with "
		    "statuscode: 500",
		    1000);
	snprintf(want, sizeof(want),
		 "h-refused/c Liveness FAILURE|Liveness probe failed: Get "
		 "\"http://127.0.0.1:%d/healthz\": dial tcp 127.0.0.1:%d: connect: connection "
		 "refused",
		 closed_port, closed_port);
	expect_line(want, 5000);
	snprintf(want, sizeof(want),
		 "h-loop/c Liveness FAILURE|Liveness probe failed: Get "
		 "\"http://127.0.0.1:%d/redirect-loop\": stopped after 10 redirects",
		 port);
	expect_line(want, 5000);
	snprintf(want, sizeof(want),
		 "h-slow/c Liveness FAILURE|Liveness probe failed: Get "
		 "\"http://127.0.0.1:%d/slow\": "
		 "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
		 port);
	expect_line(want, 5000);
	snprintf(want, sizeof(want),
		 "h-hangup/c Liveness FAILURE|Liveness probe failed: Get "
		 "\"http://127.0.0.1:%d/hangup\": EOF",
		 port);
	expect_line(want, 5000);
	expect_line("h-ok/c Startup SUCCESS|(null)", 5000);
	expect_line("h-ok/c Readiness SUCCESS|(null)", 5000);
	assert_true(rec_find("h-ok/c Startup SUCCESS", true) <
		    rec_find("h-ok/c Readiness SUCCESS", true));
	expect_line("h-local/c Readiness SUCCESS|(null)", 5000);
	expect_line("h-away/c Readiness SUCCESS|(null)", 5000);
	expect_line("h-away/c Readiness ProbeWarning|Readiness probe warning: Probe terminated "
		    "redirects, Response body: moved away",
		    1000);
	expect_line("h-big/c Readiness SUCCESS|(null)", 5000);
	expect_line("h-named/c Readiness SUCCESS|(null)", 5000);
	expect_line("h-badport/c Liveness Unhealthy|Liveness probe errored and resulted in "
		    "unknown state: strconv.Atoi: parsing \"nope\": invalid syntax",
		    5000);

	/* a redirect on the same host is followed and warns of nothing */
	assert_int_equal(rec_count("h-local/c Readiness ProbeWarning"), 0);
	/* an errored probe is thrown away: no result, however often it runs */
	assert_int_equal(rec_count("h-badport/c Liveness FAILURE"), 0);
	/* results come once per change although probes keep running */
	assert_int_equal(rec_count("h-ok/c Readiness SUCCESS"), 1);
	assert_int_equal(rec_count("h-fail/c Liveness FAILURE"), 1);

	pthread_mutex_lock(&http_srv.mu);
	bool cut = http_srv.big_cut;
	cleanup_free char *log = xstrdup(buf_str(&http_srv.log));
	pthread_mutex_unlock(&http_srv.mu);
	assert_true(cut);
	assert_non_null(strstr(log, "/headers|kube-probe/1.32|*/*|yes|close\n"));
	assert_non_null(strstr(log, "/ok|kube-probe/1.32|*/*|-|close\n"));
	/* the redirect loop made exactly 10 requests per probe run */
	size_t loops = 0;
	for (const char *q = strstr(log, "/redirect-loop|"); q;
	     q = strstr(q + 1, "/redirect-loop|"))
		loops++;
	assert_true(loops >= 10);
	assert_int_equal(loops % 10, 0);
}

static void test_https(void **state)
{
	(void)state;
	if (!tls_srv)
		skip();
	char f[512];
	snprintf(f, sizeof(f),
		 "\"readinessProbe\":{\"httpGet\":{\"path\":\"/secure\",\"port\":%d,"
		 "\"scheme\":\"HTTPS\"},\"periodSeconds\":1}",
		 tls_port);
	add("s-ok", f);
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"httpGet\":{\"path\":\"/other\",\"port\":%d,"
		 "\"scheme\":\"HTTPS\"},\"periodSeconds\":1,\"failureThreshold\":1}",
		 tls_port);
	add("s-503", f);
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"httpGet\":{\"path\":\"/ok\",\"port\":%d,"
		 "\"scheme\":\"HTTPS\"},\"periodSeconds\":1,\"failureThreshold\":1}",
		 http_srv.port);
	add("s-plain", f);
	/* the self-signed certificate is not checked, as upstream */
	expect_line("s-ok/c Readiness SUCCESS|(null)", 5000);
	expect_line("s-503/c Liveness FAILURE|Liveness probe failed: HTTP probe failed with "
		    "statuscode: 503",
		    5000);
	char want[256];
	snprintf(want, sizeof(want),
		 "s-plain/c Liveness FAILURE|Liveness probe failed: Get "
		 "\"https://127.0.0.1:%d/ok\": "
		 "http: server gave HTTP response to HTTPS client",
		 http_srv.port);
	expect_line(want, 5000);
}

static void test_tcp(void **state)
{
	(void)state;
	char f[512];
	snprintf(f, sizeof(f),
		 "\"readinessProbe\":{\"tcpSocket\":{\"port\":%d},\"periodSeconds\":1}",
		 http_srv.port);
	add("t-open", f);
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"tcpSocket\":{\"port\":%d,\"host\":\"127.0.0.1\"},"
		 "\"periodSeconds\":1,\"failureThreshold\":1}",
		 closed_port);
	add("t-closed", f);
	expect_line("t-open/c Readiness SUCCESS|(null)", 5000);
	char want[256];
	snprintf(want, sizeof(want),
		 "t-closed/c Liveness FAILURE|Liveness probe failed: dial tcp 127.0.0.1:%d: "
		 "connect: connection refused",
		 closed_port);
	expect_line(want, 5000);
}

struct calls_at_least {
	const char *id, *cmd;
	int n;
};

static bool calls_reached(const void *arg)
{
	const struct calls_at_least *c = arg;
	return fake_calls(c->id, c->cmd) >= c->n;
}

static void wait_calls(const char *id, const char *cmd, int n, int timeout_ms)
{
	struct calls_at_least c = {id, cmd, n};
	if (!wait_cond(calls_reached, &c, timeout_ms))
		fail_msg("%s %s: %d calls, wanted %d", id, cmd, fake_calls(id, cmd), n);
}

static void test_exec(void **state)
{
	(void)state;
	fake_set("x-ok", "sh", FAKE_EXIT, 0, "fine\n");
	fake_set("x-fail", "check", FAKE_EXIT, 1, "boom\n");
	fake_set("x-slow", "sh", FAKE_TIMEOUT, 0, NULL);
	fake_set("x-err", "check", FAKE_ERROR, 0, NULL);
	add("x-ok", "\"env\":[{\"name\":\"GREETING\",\"value\":\"hi\"},"
		    "{\"name\":\"FROM\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"x\"}}}],"
		    "\"readinessProbe\":{\"exec\":{\"command\":[\"sh\",\"-c\","
		    "\"$(GREETING) $$HOME $(MISSING) [$(FROM)] $(open $\"]},\"periodSeconds\":1}");
	add("x-fail", "\"livenessProbe\":{\"exec\":{\"command\":[\"check\"]},\"periodSeconds\":1,"
		      "\"failureThreshold\":1}");
	add("x-slow", "\"livenessProbe\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"sleep 5\"]},"
		      "\"periodSeconds\":1,\"timeoutSeconds\":2,\"failureThreshold\":1}");
	add("x-err", "\"livenessProbe\":{\"exec\":{\"command\":[\"check\"]},\"periodSeconds\":1,"
		     "\"failureThreshold\":1}");

	expect_line("x-ok/c Readiness SUCCESS|(null)", 5000);
	expect_line("x-fail/c Liveness FAILURE|Liveness probe failed: boom\n", 5000);
	expect_line("x-slow/c Liveness FAILURE|Liveness probe failed: command \"sh -c sleep 5\" "
		    "timed out",
		    5000);
	expect_line("x-err/c Liveness Unhealthy|Liveness probe errored and resulted in unknown "
		    "state: no such container: x-err",
		    5000);

	pthread_mutex_lock(&fake_mu);
	cleanup_free char *argv = xstrdup(fake_get("x-ok", "sh")->last_argv);
	int64_t tmo = fake_get("x-slow", "sh")->last_timeout_ms;
	pthread_mutex_unlock(&fake_mu);
	/* $(VAR) from the static env, valueFrom as "", $$ escaped, the rest kept */
	assert_string_equal(argv, "sh|-c|hi $HOME $(MISSING) [] $(open $");
	assert_int_equal(tmo, 2000);

	/* errors are not failures: wait for a second errored run, then see no result */
	wait_calls("x-err", "check", 2, 4000);
	assert_int_equal(rec_count("x-err/c Liveness FAILURE"), 0);
}

static void test_thresholds(void **state)
{
	(void)state;
	fake_set("th-r", "ready", FAKE_EXIT, 0, "");
	fake_set("th-l", "live", FAKE_EXIT, 1, "dead");
	add("th-r", "\"readinessProbe\":{\"exec\":{\"command\":[\"ready\"]},\"periodSeconds\":1,"
		    "\"successThreshold\":2,\"failureThreshold\":2}");
	add("th-l", "\"livenessProbe\":{\"exec\":{\"command\":[\"live\"]},\"periodSeconds\":1}");

	/* readiness needs two successes in a row */
	expect_line("th-r/c Readiness SUCCESS|(null)", 5000);
	assert_int_equal(fake_calls("th-r", "ready"), 2);
	/* liveness fails after three failures, once, and then rests */
	expect_line("th-l/c Liveness FAILURE|Liveness probe failed: dead", 6000);
	int live_calls = fake_calls("th-l", "live");
	assert_int_equal(live_calls, 3);
	assert_int_equal(rec_count("th-l/c Liveness Unhealthy|Liveness probe failed: dead"), 3);

	/* two more readiness runs: still one report, and liveness stayed on hold */
	int c0 = fake_calls("th-r", "ready");
	wait_calls("th-r", "ready", c0 + 2, 4000);
	assert_int_equal(rec_count("th-r/c Readiness SUCCESS"), 1);
	assert_int_equal(fake_calls("th-l", "live"), live_calls);
	assert_int_equal(rec_count("th-l/c Liveness FAILURE"), 1);

	/* two failures in a row make it unready */
	fake_set("th-r", "ready", FAKE_EXIT, 1, "not yet");
	int c1 = fake_calls("th-r", "ready");
	expect_line("th-r/c Readiness FAILURE|Readiness probe failed: not yet", 5000);
	int c2 = fake_calls("th-r", "ready");
	assert_true(c2 - c1 == 2 || c2 - c1 == 3); /* a run may have been under way */
	assert_int_equal(rec_count("th-r/c Readiness FAILURE"), 1);
	assert_int_equal(rec_count("th-r/c Readiness SUCCESS"), 1);
}

static void test_startup(void **state)
{
	(void)state;
	/* s1: startup passes at its third run; liveness and readiness wait for it */
	fake_set("s1", "startup", FAKE_EXIT, 0, "");
	fake_fail_first("s1", "startup", 2);
	fake_set("s1", "ready", FAKE_EXIT, 0, "");
	fake_set("s1", "live", FAKE_EXIT, 0, "");
	add("s1", "\"startupProbe\":{\"exec\":{\"command\":[\"startup\"]},\"periodSeconds\":1,"
		  "\"failureThreshold\":5},"
		  "\"readinessProbe\":{\"exec\":{\"command\":[\"ready\"]},\"periodSeconds\":1},"
		  "\"livenessProbe\":{\"exec\":{\"command\":[\"live\"]},\"periodSeconds\":1}");
	/* s2: startup never passes */
	fake_set("s2", "startup", FAKE_EXIT, 1, "nope");
	add("s2", "\"startupProbe\":{\"exec\":{\"command\":[\"startup\"]},\"periodSeconds\":1,"
		  "\"failureThreshold\":2},"
		  "\"readinessProbe\":{\"exec\":{\"command\":[\"ready\"]},\"periodSeconds\":1}");
	/* s3: no startup and no readiness probe: started and ready at once */
	fake_set("s3", "live", FAKE_EXIT, 0, "");
	add("s3", "\"livenessProbe\":{\"exec\":{\"command\":[\"live\"]},\"periodSeconds\":1}");

	expect_line("s3/c Startup SUCCESS|(null)", 3000);
	expect_line("s3/c Readiness SUCCESS|(null)", 3000);

	expect_line("s2/c Startup FAILURE|Startup probe failed: nope", 5000);
	assert_int_equal(fake_calls("s2", "startup"), 2);

	expect_line("s1/c Startup SUCCESS|(null)", 5000);
	assert_int_equal(fake_calls("s1", "startup"), 3);
	assert_int_equal(rec_count("s1/c Startup Unhealthy|Startup probe failed: "), 2);
	expect_line("s1/c Readiness SUCCESS|(null)", 3000);
	wait_calls("s1", "live", 1, 3000);
	/* readiness was not probed before startup passed */
	assert_true(rec_find("s1/c Startup SUCCESS", true) <
		    rec_find("s1/c Readiness SUCCESS", true));

	/* s2 stays on hold: after two more s1 readiness runs nothing moved */
	int r0 = fake_calls("s1", "ready");
	wait_calls("s1", "ready", r0 + 2, 4000);
	assert_int_equal(fake_calls("s2", "startup"), 2);
	assert_int_equal(fake_calls("s2", "ready"), 0);
	assert_int_equal(rec_count("s2/c Startup FAILURE"), 1);
	assert_int_equal(rec_count("s2/c Readiness"), 0);
	assert_int_equal(rec_count("s1/c Startup SUCCESS"), 1);
	assert_int_equal(fake_calls("s1", "startup"), 3);
}

static void test_initial_delay_and_deletion(void **state)
{
	(void)state;
	fake_set("d-late", "ready", FAKE_EXIT, 0, "");
	fake_set("d-past", "ready", FAKE_EXIT, 0, "");
	fake_set("d-del", "live", FAKE_EXIT, 1, "");
	time_t t0 = time(NULL);
	add_at("d-late", "d-late",
	       "\"readinessProbe\":{\"exec\":{\"command\":[\"ready\"]},\"periodSeconds\":1,"
	       "\"initialDelaySeconds\":2}",
	       t0);
	/* started long ago: the delay has passed */
	add_at("d-past", "d-past",
	       "\"readinessProbe\":{\"exec\":{\"command\":[\"ready\"]},\"periodSeconds\":1,"
	       "\"initialDelaySeconds\":5}",
	       t0 - 60);
	/* a pod being deleted: liveness is not probed, startup counts as passed */
	cleanup_json json_t *pod = pod_of("d-del", "\"livenessProbe\":{\"exec\":{\"command\":["
						   "\"live\"]},\"periodSeconds\":1,"
						   "\"failureThreshold\":1}");
	json_object_set_new(json_object_get(pod, "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:00:00Z"));
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(prober_add(P, pod, "c", "d-del", "127.0.0.1", t0, &err), 0);

	int64_t added = now_ms();
	expect_line("d-past/c Readiness SUCCESS|(null)", 3000);
	assert_true(now_ms() - added < 1500);
	expect_line("d-late/c Readiness SUCCESS|(null)", 5000);
	pthread_mutex_lock(&fake_mu);
	int64_t first = fake_get("d-late", "ready")->first_call_ms;
	pthread_mutex_unlock(&fake_mu);
	/* not before started + initialDelaySeconds (a few ms of clock rounding) */
	assert_true(first >= ((int64_t)t0 + 2) * 1000 - 5);
	expect_line("d-del/c Startup SUCCESS|(null)", 1000);
	assert_int_equal(fake_calls("d-del", "live"), 0);
}

struct remover {
	pthread_t thr;
	const char *uid;
	atomic_bool done;
};

static void *remover_main(void *arg)
{
	struct remover *r = arg;
	prober_remove(P, r->uid, "c");
	atomic_store(&r->done, true);
	return NULL;
}

static bool remover_done(const void *arg)
{
	struct remover *r = (struct remover *)arg;
	return atomic_load(&r->done);
}

static bool rec_blocked(const void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rec.mu);
	bool b = rec.blocked;
	pthread_mutex_unlock(&rec.mu);
	return b;
}

static bool fake_entered(const void *arg)
{
	pthread_mutex_lock(&fake_mu);
	bool e = fake_get(arg, "live")->entered;
	pthread_mutex_unlock(&fake_mu);
	return e;
}

static void test_remove(void **state)
{
	(void)state;
	/* (1) removed while its probe runs: remove returns at once, no report comes */
	fake_set("r-fly", "live", FAKE_BLOCK, 1, "late");
	add("r-fly", "\"livenessProbe\":{\"exec\":{\"command\":[\"live\"]},\"periodSeconds\":1,"
		     "\"failureThreshold\":1}");
	assert_true(wait_cond(fake_entered, "r-fly", 3000));
	int64_t t = now_ms();
	prober_remove(P, "r-fly", "c");
	assert_true(now_ms() - t < 500);
	pthread_mutex_lock(&fake_mu);
	fake_release = true;
	pthread_mutex_unlock(&fake_mu);

	/* (2) removed while its callback runs on a worker: remove waits for it */
	pthread_mutex_lock(&rec.mu);
	rec.block_on_uid = xstrdup("r-cb");
	pthread_mutex_unlock(&rec.mu);
	add("r-cb", "");
	assert_true(wait_cond(rec_blocked, NULL, 3000));
	struct remover rm = {.uid = "r-cb"};
	atomic_init(&rm.done, false);
	assert_int_equal(pthread_create(&rm.thr, NULL, remover_main, &rm), 0);
	assert_false(wait_cond(remover_done, &rm, 300));
	pthread_mutex_lock(&rec.mu);
	rec.release = true;
	pthread_cond_broadcast(&rec.cv);
	pthread_mutex_unlock(&rec.mu);
	assert_true(wait_cond(remover_done, &rm, 3000));
	pthread_join(rm.thr, NULL);

	/* (3) a callback removing its own container does not deadlock, and the
	 * rest of that run's reports (Readiness SUCCESS) are dropped */
	pthread_mutex_lock(&rec.mu);
	rec.remove_on_startup = xstrdup("r-self");
	pthread_mutex_unlock(&rec.mu);
	add("r-self", "");
	expect_line("r-self/c Startup SUCCESS|(null)", 3000);

	/* every thread joined: nothing can still report */
	prober_free(P);
	P = NULL;
	pthread_mutex_lock(&fake_mu);
	bool returned = fake_get("r-fly", "live")->returned;
	pthread_mutex_unlock(&fake_mu);
	assert_true(returned);
	assert_int_equal(rec_count("r-fly/c Liveness"), 0);
	assert_int_equal(rec_count("r-cb/c Readiness"), 0);
	assert_int_equal(rec_count("r-cb/c Startup SUCCESS"), 1);
	assert_int_equal(rec_count("r-self/c Readiness"), 0);
}

static void test_replace_and_remove_pod(void **state)
{
	(void)state;
	fake_set("old", "ready", FAKE_EXIT, 0, "");
	fake_set("new", "ready", FAKE_EXIT, 0, "");
	fake_set("other", "ready", FAKE_EXIT, 0, "");
	const char *probe =
		"\"readinessProbe\":{\"exec\":{\"command\":[\"ready\"]},\"periodSeconds\":1}";
	add_at("rp", "old", probe, time(NULL));
	add_at("other-pod", "other", probe, time(NULL));
	expect_line("rp/c Readiness SUCCESS|(null)", 3000);

	/* a new instance replaces the old one and starts from not ready */
	add_at("rp", "new", probe, time(NULL));
	int old_calls = fake_calls("old", "ready");
	wait_calls("new", "ready", 2, 4000);
	assert_int_equal(fake_calls("old", "ready"), old_calls);
	assert_int_equal(rec_count("rp/c Readiness SUCCESS"), 2);
	assert_int_equal(rec_count("rp/c Startup SUCCESS"), 2);

	/* a bad replacement is refused and changes nothing */
	cleanup_json json_t *bad = pod_of("rp", "\"readinessProbe\":{\"exec\":{\"command\":["
						"\"x\"]},\"tcpSocket\":{\"port\":1}}");
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(prober_add(P, bad, "c", "bad", "127.0.0.1", time(NULL), &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	int new_calls = fake_calls("new", "ready");
	wait_calls("new", "ready", new_calls + 1, 3000);

	prober_remove_pod(P, "rp");
	new_calls = fake_calls("new", "ready");
	int other = fake_calls("other", "ready");
	wait_calls("other", "ready", other + 2, 4000);
	assert_int_equal(fake_calls("new", "ready"), new_calls);
	assert_int_equal(fake_calls("bad", "x"), 0);
}

static void test_grpc(void **state)
{
	(void)state;
	int port = grpc_srv.port;
	char f[512];
	snprintf(f, sizeof(f),
		 "\"readinessProbe\":{\"grpc\":{\"port\":%d,\"service\":\"ok\"},\"periodSeconds\":"
		 "1}",
		 port);
	add("g-ok", f);
	snprintf(f, sizeof(f), "\"readinessProbe\":{\"grpc\":{\"port\":%d},\"periodSeconds\":1}",
		 port);
	add("g-empty", f);
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"grpc\":{\"port\":%d,\"service\":\"down\"},"
		 "\"periodSeconds\":1,\"failureThreshold\":1}",
		 port);
	add("g-down", f);
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"grpc\":{\"port\":%d,\"service\":\"missing\"},"
		 "\"periodSeconds\":1,\"failureThreshold\":1}",
		 port);
	add("g-missing", f);
	snprintf(f, sizeof(f),
		 "\"livenessProbe\":{\"grpc\":{\"port\":%d},\"periodSeconds\":1,"
		 "\"failureThreshold\":1}",
		 closed_port);
	add("g-closed", f);

	expect_line("g-ok/c Readiness SUCCESS|(null)", 5000);
	expect_line("g-empty/c Readiness SUCCESS|(null)", 5000);
	expect_line("g-down/c Liveness FAILURE|Liveness probe failed: service unhealthy "
		    "(responded with \"NOT_SERVING\")",
		    5000);
	expect_line("g-missing/c Liveness FAILURE|Liveness probe failed: error: health rpc probe "
		    "failed: rpc error: code = NotFound desc = unknown service",
		    5000);
	char want[256];
	snprintf(want, sizeof(want),
		 "g-closed/c Liveness FAILURE|Liveness probe failed: timeout: failed to connect "
		 "service \"127.0.0.1:%d\" within 1s: context deadline exceeded",
		 closed_port);
	expect_line(want, 5000);
	pthread_mutex_lock(&grpc_srv.mu);
	cleanup_free char *seen = xstrdup(buf_str(&grpc_srv.services));
	pthread_mutex_unlock(&grpc_srv.mu);
	assert_non_null(strstr(seen, "[ok]"));
	assert_non_null(strstr(seen, "[]"));
	assert_non_null(strstr(seen, "[down]"));
	assert_non_null(strstr(seen, "[missing]"));
	assert_null(strstr(seen, "(malformed)"));
	assert_null(strstr(seen, "(no message)"));
}

static json_t *hook_pod(void)
{
	char f[256];
	snprintf(f, sizeof(f), "\"ports\":[{\"name\":\"http\",\"containerPort\":%d}]",
		 http_srv.port);
	return pod_of("h-uid", f);
}

static int run_hook(const char *handler_json, int64_t timeout_ms, char **msg, int *code)
{
	cleanup_json json_t *pod = hook_pod();
	cleanup_json json_t *h = json_loads(handler_json, 0, NULL);
	assert_non_null(h);
	cleanup_err struct mk_err *err = NULL;
	int rc = probes_run_handler(h, pod, "c", "hook-ctr", "127.0.0.1", timeout_ms, fake_exec,
				    NULL, msg, &err);
	*code = mk_err_code(err);
	return rc;
}

static void test_hooks(void **state)
{
	(void)state;
	char *msg = NULL;
	int code;
	fake_set("hook-ctr", "ok", FAKE_EXIT, 0, "");
	fake_set("hook-ctr", "sh", FAKE_EXIT, 3, "bad \"thing\"\n");
	assert_int_equal(run_hook("{\"exec\":{\"command\":[\"ok\"]}}", 1000, &msg, &code), 0);
	assert_null(msg);

	assert_int_equal(
		run_hook("{\"exec\":{\"command\":[\"sh\",\"-c\",\"exit 3\"]}}", 1000, &msg, &code),
		-1);
	assert_int_equal(code, MK_EIO);
	assert_string_equal(msg,
			    "Exec lifecycle hook ([sh -c exit 3]) for Container \"c\" in Pod "
			    "\"web_default(h-uid)\" failed - error: command 'sh -c exit 3' "
			    "exited with 3: bad \"thing\"\n, message: \"bad \\\"thing\\\"\\n\"");
	free(msg);
	msg = NULL;
	/* hooks take the command as written: no $(VAR) expansion */
	assert_int_equal(run_hook("{\"exec\":{\"command\":[\"ok\",\"$(X)\"]}}", 1000, &msg, &code),
			 0);
	pthread_mutex_lock(&fake_mu);
	assert_string_equal(fake_get("hook-ctr", "ok")->last_argv, "ok|$(X)");
	pthread_mutex_unlock(&fake_mu);

	/* HTTP: the status code does not matter, a failed request does */
	assert_int_equal(run_hook("{\"httpGet\":{\"path\":\"/fail\",\"port\":\"http\","
				  "\"httpHeaders\":[{\"name\":\"X-Probe\",\"value\":\"hook\"}]}}",
				  2000, &msg, &code),
			 0);
	char h[256], want[512];
	snprintf(h, sizeof(h), "{\"httpGet\":{\"path\":\"/x\",\"port\":%d}}", closed_port);
	assert_int_equal(run_hook(h, 2000, &msg, &code), -1);
	assert_int_equal(code, MK_EIO);
	snprintf(want, sizeof(want),
		 "HTTP lifecycle hook (/x) for Container \"c\" in Pod \"web_default(h-uid)\" "
		 "failed - error: Get \"http://127.0.0.1:%d/x\": dial tcp 127.0.0.1:%d: connect: "
		 "connection refused",
		 closed_port, closed_port);
	assert_string_equal(msg, want);
	free(msg);
	msg = NULL;
	/* redirects are followed, also to a name that does not resolve */
	assert_int_equal(run_hook("{\"httpGet\":{\"path\":\"/redirect-away\",\"port\":\"http\"}}",
				  2000, &msg, &code),
			 -1);
	assert_string_equal(msg, "HTTP lifecycle hook (/redirect-away) for Container \"c\" in Pod "
				 "\"web_default(h-uid)\" failed - error: Get "
				 "\"http://elsewhere.invalid:9/x\": dial tcp: lookup "
				 "elsewhere.invalid: no such host");
	free(msg);
	msg = NULL;
	pthread_mutex_lock(&http_srv.mu);
	bool ua = strstr(buf_str(&http_srv.log), "/fail|kube-lifecycle/1.32|*/*|hook|close\n");
	pthread_mutex_unlock(&http_srv.mu);
	assert_true(ua);

	/* sleep */
	int64_t t = now_ms();
	assert_int_equal(run_hook("{\"sleep\":{\"seconds\":0}}", 1000, &msg, &code), 0);
	assert_int_equal(run_hook("{\"sleep\":{\"seconds\":5}}", 200, &msg, &code), -1);
	assert_int_equal(code, MK_ETIMEOUT);
	assert_true(now_ms() - t >= 200 && now_ms() - t < 2000);
	assert_string_equal(msg,
			    "Sleep lifecycle hook (5) for Container \"c\" in Pod "
			    "\"web_default(h-uid)\" failed - error: container terminated before "
			    "sleep hook finished");
	free(msg);
	msg = NULL;

	/* no handler upstream runs */
	assert_int_equal(run_hook("{\"tcpSocket\":{\"port\":80}}", 1000, &msg, &code), -1);
	assert_int_equal(code, MK_EINVAL);
	assert_string_equal(msg,
			    "Cannot run handler: invalid handler: {\"tcpSocket\":{\"port\":80}}");
	free(msg);
}

/* Threads of this process whose name starts with prefix. */
static int count_threads(const char *prefix)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], name[64] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f))
			n += strncmp(name, prefix, strlen(prefix)) == 0;
		fclose(f);
	}
	closedir(d);
	return n;
}

static void test_many(void **state)
{
	(void)state;
	char f[1024], uid[32], want[64];
	for (int i = 0; i < 30; i++) {
		snprintf(uid, sizeof(uid), "m%02d", i);
		snprintf(f, sizeof(f),
			 "\"startupProbe\":{\"tcpSocket\":{\"port\":%d},\"periodSeconds\":1},"
			 "\"readinessProbe\":{\"httpGet\":{\"path\":\"/ok\",\"port\":%d},"
			 "\"periodSeconds\":1},"
			 "\"livenessProbe\":{\"tcpSocket\":{\"port\":%d},\"periodSeconds\":1}",
			 http_srv.port, http_srv.port, http_srv.port);
		add(uid, f);
	}
	for (int i = 0; i < 30; i++) {
		snprintf(want, sizeof(want), "m%02d/c Readiness SUCCESS|(null)", i);
		expect_line(want, 8000);
	}
	/* 90 probes, one scheduler and the default four workers */
	assert_int_equal(count_threads("prober-sched"), 1);
	assert_int_equal(count_threads("prober-work"), 4);
	assert_int_equal(rec_count("m"), 60); /* Startup + Readiness SUCCESS each */
}

static void test_bad_input(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	json_t *pod = pod_of("b", "\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]}}");
	json_object_del(json_object_get(pod, "metadata"), "uid");
	assert_int_equal(prober_add(P, pod, "c", "id", "127.0.0.1", time(NULL), &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	json_decref(pod);
	mk_err_free(err);
	err = NULL;

	pod = pod_of("b", "");
	assert_int_equal(prober_add(P, pod, "nope", "id", "127.0.0.1", time(NULL), &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	json_decref(pod);

	static const char *const bad[] = {
		"\"livenessProbe\":{}",
		"\"livenessProbe\":{\"exec\":{\"command\":[]}}",
		"\"livenessProbe\":{\"exec\":{\"command\":[1]}}",
		"\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]},\"httpGet\":{\"port\":1}}",
		"\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]},\"periodSeconds\":-1}",
		"\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]},\"timeoutSeconds\":\"1\"}",
		"\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]},\"successThreshold\":2}",
		"\"startupProbe\":{\"grpc\":{\"port\":0}}",
		"\"readinessProbe\":\"yes\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_err_free(err);
		err = NULL;
		pod = pod_of("b", bad[i]);
		if (prober_add(P, pod, "c", "id", "127.0.0.1", time(NULL), &err) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		json_decref(pod);
	}
	/* nothing was added: a good container is the only one that reports */
	add("good", "");
	expect_line("good/c Readiness SUCCESS|(null)", 3000);
	assert_int_equal(rec_count("b/"), 0);
}

static void test_kill_grace(void **state)
{
	(void)state;
	cleanup_json json_t *pod = pod_of("k", "\"livenessProbe\":{\"exec\":{\"command\":[\"x\"]},"
					       "\"terminationGracePeriodSeconds\":5}");
	assert_int_equal(probes_kill_grace_seconds(pod, "c", PROBE_LIVENESS), 2);
	json_object_set_new(json_object_get(pod, "spec"), "terminationGracePeriodSeconds",
			    json_integer(30));
	assert_int_equal(probes_kill_grace_seconds(pod, "c", PROBE_LIVENESS), 5);
	assert_int_equal(probes_kill_grace_seconds(pod, "c", PROBE_STARTUP), 30);
	assert_int_equal(probes_kill_grace_seconds(pod, "c", PROBE_READINESS), 30);
	json_object_set_new(json_object_get(pod, "metadata"), "deletionGracePeriodSeconds",
			    json_integer(7));
	assert_int_equal(probes_kill_grace_seconds(pod, "c", PROBE_LIVENESS), 7);
	assert_string_equal(probe_type_name(PROBE_READINESS), "Readiness");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thresholds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_startup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initial_delay_and_deletion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_and_remove_pod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test(test_kill_grace),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
