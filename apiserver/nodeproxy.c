#include "apiserver/nodeproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "podspec.h"
#include "websocket.h"
#include "xalloc.h"
#include "apiserver/status.h"

#define DIAL_TIMEOUT_MS 10000
#define HEAD_TIMEOUT_MS 60000
#define MAX_HEAD	(64 * 1024)
#define MAX_ERROR_BODY	(64 * 1024)
/* Bytes an upgraded connection lets wait for one side before it stops
 * reading the other, and the most one read takes: large reads keep the
 * number of system calls and loop turns per byte low. */
#define HIGH_WATER	(512 * 1024)
#define CHUNK		(256 * 1024)

struct nodeproxy {
	struct loop *loop;
	pthread_t thread;
	bool started;
	struct splice *splices; /* loop thread only */
};

/* ---- pure parts ---- */

int nodeproxy_kubelet_addr(const json_t *node, char **host, int *port, struct mk_err **err)
{
	static const char *const order[] = {"InternalIP", "ExternalIP", "Hostname"};
	const json_t *st = json_object_get(node, "status");
	const json_t *addrs = json_object_get(st, "addresses");
	*host = NULL;
	for (size_t o = 0; o < 3 && !*host; o++) {
		size_t i;
		const json_t *a;
		json_array_foreach(addrs, i, a)
		{
			const char *type = json_string_value(json_object_get(a, "type"));
			const char *addr = json_string_value(json_object_get(a, "address"));
			if (type && addr && *addr && !strcmp(type, order[o])) {
				*host = xstrdup(addr);
				break;
			}
		}
	}
	const char *name =
		json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
	if (!*host)
		return mk_err_set(err, MK_ENOTFOUND, "node \"%s\" has no address",
				  name ? name : "");
	json_t *p = json_object_get(
		json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port");
	*port = json_is_integer(p) && json_integer_value(p) > 0 ? (int)json_integer_value(p)
								: 10250;
	return 0;
}

static void names_of(const json_t *list, struct buf *b)
{
	size_t i;
	const json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n)
			buf_printf(b, "%s%s", b->len ? " " : "", n);
	}
}

char *nodeproxy_container(const json_t *pod, const char *container, bool for_log, json_t **status)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *pname =
		json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	pname = pname ? pname : "";
	if (container && *container) {
		if (!podspec_container(spec, container)) {
			cleanup_free char *m =
				xasprintf("container %s is not valid for pod %s", container, pname);
			*status = status_bad_request(m);
			return NULL;
		}
		return xstrdup(container);
	}
	const json_t *ctrs = json_object_get(spec, "containers");
	if (json_array_size(ctrs) == 1)
		return xstrdup(json_string_value(json_object_get(json_array_get(ctrs, 0), "name")));
	struct buf m = BUF_INIT;
	buf_printf(&m, "a container name must be specified for pod %s", pname);
	if (json_array_size(ctrs) > 1) {
		struct buf names = BUF_INIT, inits = BUF_INIT;
		if (for_log) {
			/* every container, init ones first (upstream's VisitContainers) */
			names_of(json_object_get(spec, "initContainers"), &names);
			names_of(ctrs, &names);
			names_of(json_object_get(spec, "ephemeralContainers"), &names);
			buf_printf(&m, ", choose one of: [%s]", buf_str(&names));
		} else {
			names_of(ctrs, &names);
			names_of(json_object_get(spec, "initContainers"), &inits);
			buf_printf(&m, ", choose one of: [%s]", buf_str(&names));
			if (inits.len)
				buf_printf(&m, " or one of the init containers: [%s]",
					   buf_str(&inits));
		}
		buf_free(&names);
		buf_free(&inits);
	}
	*status = status_bad_request(buf_str(&m));
	buf_free(&m);
	return NULL;
}

/* ---- HTTP to the kubelet ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* A connected socket to host:port (blocking), or -1 with err in Go's
 * words ("dial tcp 10.0.0.2:10250: connect: connection refused"). */
static int dial(const char *host, int port, struct mk_err **err)
{
	char ports[16];
	snprintf(ports, sizeof(ports), "%d", port);
	bool v6 = strchr(host, ':') != NULL;
	cleanup_free char *hp =
		v6 ? xasprintf("[%s]:%d", host, port) : xasprintf("%s:%d", host, port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int gr = getaddrinfo(host, ports, &hints, &ai);
	if (gr != 0)
		return mk_err_set(err, MK_EUNAVAILABLE, "dial tcp %s: lookup %s: %s", hp, host,
				  gai_strerror(gr));
	int fd = -1, e = 0;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			e = errno;
		} else if (wait_fd(fd, POLLOUT, now_ms() + DIAL_TIMEOUT_MS) < 0) {
			e = errno == ETIMEDOUT ? ETIMEDOUT : errno;
		} else {
			socklen_t sl = sizeof(e);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl);
		}
		if (e) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return mk_err_set(err, MK_EUNAVAILABLE, "dial tcp %s: %s%s", hp,
				  e == ETIMEDOUT ? "i/o timeout" : "connect: ",
				  e == ETIMEDOUT      ? ""
				  : e == ECONNREFUSED ? "connection refused"
						      : strerror(e));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* Sends req and reads the answer's head into in (the head ends at
 * *head_len; bytes after it are the body's start). */
static int exchange(int fd, const struct buf *req, struct buf *in, size_t *head_len,
		    struct mk_err **err)
{
	if (ws_write_all(fd, req->data, req->len, err) < 0)
		return -1;
	long long deadline = now_ms() + HEAD_TIMEOUT_MS;
	for (;;) {
		const char *end = in->data ? strstr(in->data, "\r\n\r\n") : NULL;
		if (end) {
			*head_len = (size_t)(end - in->data) + 4;
			return 0;
		}
		if (in->len > MAX_HEAD)
			return mk_err_set(err, MK_EIO, "the kubelet's answer has no end of head");
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return mk_err_errno(err, MK_EIO, errno, "reading the kubelet's answer");
		buf_grow(in, 4096);
		ssize_t n = read(fd, in->data + in->len, in->cap - in->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return mk_err_set(err, MK_EIO, "the kubelet closed the connection");
		in->len += (size_t)n;
		in->data[in->len] = '\0';
	}
}

static int head_status(const char *head)
{
	int code = 0;
	if (strncmp(head, "HTTP/1.", 7) != 0 || sscanf(head + 8, " %3d", &code) != 1)
		return 0;
	return code;
}

/* The rest of a (non-streamed) error body, up to a bound. */
static void read_rest(int fd, struct buf *in, size_t limit)
{
	long long deadline = now_ms() + 5000;
	while (in->len < limit && wait_fd(fd, POLLIN, deadline) == 0) {
		buf_grow(in, 4096);
		ssize_t n = read(fd, in->data + in->len, in->cap - in->len - 1);
		if (n <= 0)
			break;
		in->len += (size_t)n;
		in->data[in->len] = '\0';
	}
}

static bool chunked(const char *head)
{
	cleanup_free char *te = ws_head_header(head, "Transfer-Encoding");
	return te && ws_header_has_token(te, "chunked");
}

/* A kubelet's refusal as a Status: its text kept for 400 as upstream's
 * generic response does, and for the other codes too (it names what went
 * wrong better than a generic sentence). */
static json_t *kubelet_status(int code, const char *body)
{
	cleanup_free char *msg = xstrdup(body);
	size_t l = strlen(msg);
	while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r' || msg[l - 1] == ' '))
		msg[--l] = '\0';
	switch (code) {
	case 400:
		return status_bad_request(msg);
	case 401:
		return status_failure(401, "Unauthorized", msg, NULL);
	case 403:
		return status_failure(403, "Forbidden", msg, NULL);
	case 404:
		return status_failure(404, "NotFound", msg, NULL);
	case 422:
		return status_failure(422, "Invalid", msg, NULL);
	case 429:
		return status_failure(429, "TooManyRequests", msg, NULL);
	case 503:
		return status_failure(503, "ServiceUnavailable", msg, NULL);
	default:
		return status_failure(code >= 400 && code < 600 ? code : 500, "InternalError", msg,
				      NULL);
	}
}

static json_t *unreachable(const char *node, const struct mk_err *e)
{
	cleanup_free char *m =
		xasprintf("error dialing backend: %s (node \"%s\")", mk_err_msg(e), node);
	return status_failure(502, "BadGateway", m, NULL);
}

/* Appends k=v (percent-encoded) to a query being built. */
static void query_add(struct buf *q, const char *k, const char *v)
{
	buf_printf(q, "%s%s=", q->len ? "&" : "", k);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			buf_append_char(q, (char)*p);
		else
			buf_printf(q, "%%%02X", *p);
	}
}

/* ---- log and nodes/proxy bodies: parked streams ---- */

struct pstream {
	struct nodeproxy *np;
	pthread_mutex_t mu;
	int fd;
	struct buf pending; /* body bytes read with the head */
	size_t off;
	struct httpd_stream *st;
	bool registered, freed;
};

static void ps_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	(void)events;
	struct pstream *ps = arg;
	pthread_mutex_lock(&ps->mu);
	loop_fd_del(l, fd);
	ps->registered = false;
	if (!ps->freed && ps->st)
		httpd_stream_resume(ps->st);
	pthread_mutex_unlock(&ps->mu);
}

static void ps_register(struct loop *l, void *arg)
{
	struct pstream *ps = arg;
	pthread_mutex_lock(&ps->mu);
	if (!ps->freed && !ps->registered &&
	    loop_fd_add(l, ps->fd, LOOP_READ, ps_readable, ps, NULL) == 0)
		ps->registered = true;
	pthread_mutex_unlock(&ps->mu);
}

static void ps_destroy(struct loop *l, void *arg)
{
	struct pstream *ps = arg;
	if (ps->registered)
		loop_fd_del(l, ps->fd);
	close(ps->fd);
	buf_free(&ps->pending);
	pthread_mutex_destroy(&ps->mu);
	free(ps);
}

static ssize_t ps_read(void *arg, char *out, size_t max, bool stopping)
{
	struct pstream *ps = arg;
	if (ps->off < ps->pending.len) {
		size_t n = ps->pending.len - ps->off < max ? ps->pending.len - ps->off : max;
		memcpy(out, ps->pending.data + ps->off, n);
		ps->off += n;
		return (ssize_t)n;
	}
	if (stopping)
		return HTTPD_STREAM_END;
	ssize_t n = recv(ps->fd, out, max, MSG_DONTWAIT);
	if (n > 0)
		return n;
	if (n == 0)
		return HTTPD_STREAM_END;
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return HTTPD_STREAM_ABORT;
	/* nothing now: the relay thread wakes the stream when there is */
	pthread_mutex_lock(&ps->mu);
	bool need = !ps->registered;
	pthread_mutex_unlock(&ps->mu);
	if (need)
		loop_call(ps->np->loop, ps_register, ps);
	return 0;
}

static void ps_free(void *arg)
{
	struct pstream *ps = arg;
	pthread_mutex_lock(&ps->mu);
	ps->freed = true;
	pthread_mutex_unlock(&ps->mu);
	loop_call(ps->np->loop, ps_destroy, ps);
}

/* Sends req (HTTP/1.0: the kubelet ends the body by closing) and answers
 * rq with the kubelet's body as it comes, or its refusal as a Status. */
static void proxy_body(struct nodeproxy *np, struct api_request *rq, const char *node,
		       const char *host, int port, const struct buf *req)
{
	cleanup_err struct mk_err *err = NULL;
	int fd = dial(host, port, &err);
	if (fd < 0) {
		req_reply_status(rq, unreachable(node, err));
		return;
	}
	cleanup_buf struct buf in = BUF_INIT;
	size_t head_len = 0;
	if (exchange(fd, req, &in, &head_len, &err) < 0) {
		close(fd);
		req_reply_status(rq, unreachable(node, err));
		return;
	}
	cleanup_free char *head = xstrndup(in.data, head_len);
	int code = head_status(head);
	if (code != 200 || chunked(head)) {
		/* HTTP/1.0 asked: a chunked answer is a broken kubelet */
		read_rest(fd, &in, head_len + MAX_ERROR_BODY);
		close(fd);
		req_reply_status(rq, code == 200 ? status_internal("chunked answer to HTTP/1.0")
						 : kubelet_status(code, in.data + head_len));
		return;
	}
	cleanup_free char *ctype = ws_head_header(head, "Content-Type");
	struct pstream *ps = xcalloc(1, sizeof(*ps));
	pthread_mutex_init(&ps->mu, NULL);
	ps->np = np;
	ps->fd = fd;
	ps->pending = (struct buf)BUF_INIT;
	buf_append(&ps->pending, in.data + head_len, in.len - head_len);
	struct httpd_stream *st =
		httpd_reply_stream(rq->hr, 200, ctype ? ctype : "text/plain", ps_read, ps_free, ps);
	if (!st)
		return; /* refused: ps_free has run, ps is the loop's to free */
	pthread_mutex_lock(&ps->mu);
	ps->st = st;
	pthread_mutex_unlock(&ps->mu);
}

/* ---- upgraded connections: bytes both ways ---- */

struct splice {
	struct nodeproxy *np;
	struct httpd_upgraded *u;
	int fd[2];	  /* 0: the client, 1: the kubelet */
	struct buf to[2]; /* waiting to be written to fd[i] */
	size_t off[2];
	bool eof[2];  /* read the end of fd[i] */
	bool shut[2]; /* shut fd[i]'s writing side */
	unsigned ev[2];
	struct splice *next;
};

static void sp_update(struct splice *sp);

static void sp_close(struct splice *sp)
{
	struct nodeproxy *np = sp->np;
	for (struct splice **p = &np->splices; *p; p = &(*p)->next) {
		if (*p == sp) {
			*p = sp->next;
			break;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (sp->ev[i])
			loop_fd_del(np->loop, sp->fd[i]);
		buf_free(&sp->to[i]);
	}
	close(sp->fd[1]);
	httpd_upgraded_close(sp->u);
	free(sp);
}

/* Writes what waits for side i; false when that side is broken. */
static bool sp_flush(struct splice *sp, int i)
{
	while (sp->off[i] < sp->to[i].len) {
		ssize_t w = send(sp->fd[i], sp->to[i].data + sp->off[i], sp->to[i].len - sp->off[i],
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w < 0)
			return false;
		sp->off[i] += (size_t)w;
	}
	buf_reset(&sp->to[i]);
	sp->off[i] = 0;
	/* the other side ended: pass its end on */
	if (sp->eof[1 - i] && !sp->shut[i]) {
		shutdown(sp->fd[i], SHUT_WR);
		sp->shut[i] = true;
	}
	return true;
}

static void sp_event(struct loop *l, int fd, unsigned events, void *arg)
{
	(void)l;
	struct splice *sp = arg;
	int i = fd == sp->fd[0] ? 0 : 1;
	if ((events & LOOP_WRITE) && !sp_flush(sp, i)) {
		/* one side gone: the other goes too (a dropped client ends the
		 * kubelet's session, which ends the command) */
		sp_close(sp);
		return;
	}
	if (events & (LOOP_READ | LOOP_HUP)) {
		/* straight behind what waits for the other side: no copy */
		struct buf *b = &sp->to[1 - i];
		buf_grow(b, CHUNK);
		ssize_t n = recv(fd, b->data + b->len, CHUNK, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			/* spurious */
		} else if (n <= 0) {
			if (n < 0) {
				sp_close(sp);
				return;
			}
			sp->eof[i] = true;
		} else {
			b->len += (size_t)n;
			b->data[b->len] = '\0';
		}
		if (!sp_flush(sp, 1 - i)) {
			sp_close(sp);
			return;
		}
	}
	sp_update(sp);
}

static void sp_update(struct splice *sp)
{
	if (sp->eof[0] && sp->eof[1] && sp->to[0].len == 0 && sp->to[1].len == 0) {
		sp_close(sp);
		return;
	}
	for (int i = 0; i < 2; i++) {
		unsigned ev = 0;
		if (!sp->eof[i] && sp->to[1 - i].len - sp->off[1 - i] < HIGH_WATER)
			ev |= LOOP_READ;
		if (sp->off[i] < sp->to[i].len)
			ev |= LOOP_WRITE;
		if (ev == sp->ev[i])
			continue;
		if (!sp->ev[i])
			loop_fd_add(sp->np->loop, sp->fd[i], ev, sp_event, sp, NULL);
		else if (!ev)
			loop_fd_del(sp->np->loop, sp->fd[i]);
		else
			loop_fd_mod(sp->np->loop, sp->fd[i], ev, NULL);
		sp->ev[i] = ev;
	}
}

static void sp_start(struct loop *l, void *arg)
{
	(void)l;
	struct splice *sp = arg;
	sp->next = sp->np->splices;
	sp->np->splices = sp;
	for (int i = 0; i < 2; i++)
		if (!sp_flush(sp, i)) {
			sp_close(sp);
			return;
		}
	sp_update(sp);
}

static void on_upgrade(struct httpd_upgraded *u, int fd, const char *extra, size_t extra_len,
		       void *arg)
{
	struct splice *sp = arg;
	sp->u = u;
	sp->fd[0] = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(sp->fd[1], F_SETFL, fcntl(sp->fd[1], F_GETFL) | O_NONBLOCK);
	if (extra_len)
		buf_append(&sp->to[1], extra, extra_len);
	loop_call(sp->np->loop, sp_start, sp);
}

/* The client's handshake headers go to the kubelet as they are. */
static const char *const upgrade_headers[] = {
	"Upgrade",
	"Sec-WebSocket-Key",
	"Sec-WebSocket-Version",
	"Sec-WebSocket-Protocol",
	"X-Stream-Protocol-Version",
	NULL,
};

/* The kubelet's 101 answer headers that go back to the client. */
static const char *const answer_headers[] = {
	"Upgrade",
	"Connection",
	"Sec-WebSocket-Accept",
	"Sec-WebSocket-Protocol",
	"X-Stream-Protocol-Version",
	NULL,
};

static void proxy_upgrade(struct nodeproxy *np, struct api_request *rq, const char *node,
			  const char *host, int port, const char *target)
{
	struct buf req = BUF_INIT;
	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: Upgrade\r\n",
		   httpd_req_method(rq->hr), target, host, port);
	for (size_t i = 0; upgrade_headers[i]; i++) {
		char *v = httpd_req_header_list(rq->hr, upgrade_headers[i]);
		if (v)
			buf_printf(&req, "%s: %s\r\n", upgrade_headers[i], v);
		free(v);
	}
	buf_append_str(&req, "\r\n");
	cleanup_err struct mk_err *err = NULL;
	int fd = dial(host, port, &err);
	if (fd < 0) {
		buf_free(&req);
		req_reply_status(rq, unreachable(node, err));
		return;
	}
	cleanup_buf struct buf in = BUF_INIT;
	size_t head_len = 0;
	int rc = exchange(fd, &req, &in, &head_len, &err);
	buf_free(&req);
	if (rc < 0) {
		close(fd);
		req_reply_status(rq, unreachable(node, err));
		return;
	}
	cleanup_free char *head = xstrndup(in.data, head_len);
	int code = head_status(head);
	if (code != 101) {
		/* the same refusal for the WebSocket try and the SPDY fallback:
		 * kubectl shows the second */
		cleanup_free char *clen = ws_head_header(head, "Content-Length");
		size_t want = clen ? (size_t)strtoull(clen, NULL, 10) : MAX_ERROR_BODY;
		if (want > MAX_ERROR_BODY)
			want = MAX_ERROR_BODY;
		if (in.len - head_len < want)
			read_rest(fd, &in, head_len + want);
		close(fd);
		req_reply_status(rq, kubelet_status(code ? code : 500, in.data + head_len));
		return;
	}
	for (size_t i = 0; answer_headers[i]; i++) {
		cleanup_free char *v = ws_head_header(head, answer_headers[i]);
		if (v)
			httpd_reply_header(rq->hr, answer_headers[i], v);
	}
	struct splice *sp = xcalloc(1, sizeof(*sp));
	sp->np = np;
	sp->fd[1] = fd;
	sp->to[0] = (struct buf)BUF_INIT;
	sp->to[1] = (struct buf)BUF_INIT;
	/* what the kubelet sent right after its 101 */
	buf_append(&sp->to[0], in.data + head_len, in.len - head_len);
	httpd_reply_upgrade(rq->hr, on_upgrade, sp);
}

/* ---- the subresources ---- */

static const char *meta(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(json_object_get(o, "metadata"), key));
}

static bool query_true(struct api_request *rq, const char *key)
{
	return req_query_bool(rq, key);
}

struct cmd_collect {
	struct buf *q;
};

static void add_command(const char *key, const char *value, void *arg)
{
	struct cmd_collect *c = arg;
	if (value && !strcmp(key, "command"))
		query_add(c->q, "command", value);
}

static void add_port(const char *key, const char *value, void *arg)
{
	struct buf *ports = arg;
	if (value && *value && !strcmp(key, "ports"))
		buf_printf(ports, "%s%s", ports->len ? "," : "", value);
}

void nodeproxy_pod(struct nodeproxy *np, struct api_request *rq, const char *sub, const json_t *pod,
		   const json_t *node)
{
	const char *name = meta(pod, "name"), *ns = meta(pod, "namespace");
	const char *node_name =
		json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	bool is_log = !strcmp(sub, "log");
	bool is_pf = !strcmp(sub, "portforward");
	bool upgrade_asked = ws_header_has_token(req_header(rq, "Connection"), "upgrade");
	if (!is_log && !upgrade_asked) {
		/* upstream answers a plain request with the upgrader's error */
		req_reply_status(rq, status_bad_request("Upgrade request required"));
		return;
	}
	cleanup_free char *ctr = NULL;
	if (!is_pf) {
		json_t *status = NULL;
		ctr = nodeproxy_container(pod, req_query(rq, "container"), is_log, &status);
		if (!ctr) {
			req_reply_status(rq, status);
			return;
		}
	}
	if (!node_name || !*node_name) {
		if (is_log) {
			/* no node, no log yet: an empty body, as upstream */
			req_reply_text(rq, 200, "text/plain", "");
			return;
		}
		cleanup_free char *m = xasprintf("pod %s does not have a host assigned", name);
		req_reply_status(rq, status_bad_request(m));
		return;
	}
	cleanup_free char *host = NULL;
	int port = 0;
	cleanup_err struct mk_err *err = NULL;
	if (!node || nodeproxy_kubelet_addr(node, &host, &port, &err) < 0) {
		cleanup_free char *m = node ? xstrdup(mk_err_msg(err))
					    : xasprintf("nodes \"%s\" not found", node_name);
		req_reply_status(rq, status_failure(502, "BadGateway", m, NULL));
		return;
	}

	cleanup_buf struct buf q = BUF_INIT;
	cleanup_buf struct buf path = BUF_INIT;
	if (is_log) {
		static const char *const flags[] = {"follow", "previous", "timestamps"};
		for (size_t i = 0; i < 3; i++)
			if (query_true(rq, flags[i]))
				query_add(&q, flags[i], "true");
		static const char *const nums[] = {"sinceSeconds", "sinceTime", "tailLines",
						   "limitBytes"};
		for (size_t i = 0; i < 4; i++) {
			const char *v = req_query(rq, nums[i]);
			if (v)
				query_add(&q, nums[i], v);
		}
		buf_printf(&path, "/containerLogs/%s/%s/%s", ns, name, ctr);
	} else if (!is_pf) {
		/* the kubelet's parameter names, as upstream's streamParams */
		static const struct {
			const char *from, *to;
		} flags[] = {{"stdin", "input"},
			     {"stdout", "output"},
			     {"stderr", "error"},
			     {"tty", "tty"}};
		for (size_t i = 0; i < 4; i++)
			if (query_true(rq, flags[i].from))
				query_add(&q, flags[i].to, "1");
		if (!strcmp(sub, "exec")) {
			struct cmd_collect c = {.q = &q};
			httpd_req_query_each(rq->hr, add_command, &c);
		}
		buf_printf(&path, "/%s/%s/%s/%s", sub, ns, name, ctr);
	} else {
		cleanup_buf struct buf ports = BUF_INIT;
		httpd_req_query_each(rq->hr, add_port, &ports);
		if (ports.len)
			query_add(&q, "port", ports.data);
		buf_printf(&path, "/portForward/%s/%s", ns, name);
	}
	if (q.len)
		buf_printf(&path, "?%s", q.data);
	if (is_log) {
		struct buf req = BUF_INIT;
		buf_printf(&req, "GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n", path.data, host, port);
		proxy_body(np, rq, node_name, host, port, &req);
		buf_free(&req);
	} else {
		proxy_upgrade(np, rq, node_name, host, port, path.data);
	}
}

static void add_query(const char *key, const char *value, void *arg)
{
	struct buf *q = arg;
	if (value)
		query_add(q, key, value);
	else
		buf_printf(q, "%s%s", q->len ? "&" : "", key);
}

void nodeproxy_node(struct nodeproxy *np, struct api_request *rq, const json_t *node,
		    const char *path)
{
	const char *name = meta(node, "name");
	cleanup_free char *host = NULL;
	int port = 0;
	cleanup_err struct mk_err *err = NULL;
	if (nodeproxy_kubelet_addr(node, &host, &port, &err) < 0) {
		req_reply_status(rq, status_failure(502, "BadGateway", mk_err_msg(err), NULL));
		return;
	}
	cleanup_buf struct buf q = BUF_INIT;
	httpd_req_query_each(rq->hr, add_query, &q);
	size_t body_len = 0;
	const char *body = req_body(rq, &body_len);
	struct buf req = BUF_INIT;
	/* the path as received, re-encoded piece by piece */
	buf_printf(&req, "%s /", rq->method);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '/' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			buf_append_char(&req, (char)*p);
		else
			buf_printf(&req, "%%%02X", *p);
	}
	if (q.len)
		buf_printf(&req, "?%s", q.data);
	buf_printf(&req, " HTTP/1.0\r\nHost: %s:%d\r\n", host, port);
	const char *ct = req_header(rq, "Content-Type");
	if (ct)
		buf_printf(&req, "Content-Type: %s\r\n", ct);
	if (body_len)
		buf_printf(&req, "Content-Length: %zu\r\n", body_len);
	buf_append_str(&req, "\r\n");
	buf_append(&req, body, body_len);
	proxy_body(np, rq, name ? name : "", host, port, &req);
	buf_free(&req);
}

/* ---- the module ---- */

static void *relay_thread(void *arg)
{
	struct nodeproxy *np = arg;
	struct mk_err *err = NULL;
	if (loop_run(np->loop, &err) < 0) {
		log_error("nodeproxy: %s", mk_err_msg(err));
		mk_err_free(err);
	}
	return NULL;
}

struct nodeproxy *nodeproxy_new(struct mk_err **err)
{
	struct nodeproxy *np = xcalloc(1, sizeof(*np));
	np->loop = loop_new(err);
	if (!np->loop) {
		free(np);
		return NULL;
	}
	int rc = pthread_create(&np->thread, NULL, relay_thread, np);
	if (rc != 0) {
		loop_free(np->loop);
		free(np);
		return mk_err_errno(err, MK_EIO, rc, "starting the proxy thread"), NULL;
	}
	np->started = true;
	return np;
}

static void close_all(struct loop *l, void *arg)
{
	struct nodeproxy *np = arg;
	while (np->splices)
		sp_close(np->splices);
	loop_stop(l);
}

void nodeproxy_free(struct nodeproxy *np)
{
	if (!np)
		return;
	if (np->started) {
		loop_call(np->loop, close_all, np);
		pthread_join(np->thread, NULL);
	}
	loop_free(np->loop);
	free(np);
}
