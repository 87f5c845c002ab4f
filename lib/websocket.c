/* WebSocket (RFC 6455): handshake, frame codec, blocking connections.
 *
 * No library fits here: libwebsockets brings its own event loop and socket
 * ownership, while ours must run on sockets handed over by lib/httpd after a
 * 101 answer, on our own loop, and on a client socket the API server already
 * opened to a kubelet. The protocol part is small enough to keep in one
 * module, checked against the RFC's examples. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64.h"
#include "cleanup.h"
#include "websocket.h"
#include "xalloc.h"

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline (ms, monotonic; -1 forever). */
static int wait_fd(int fd, short events, int64_t deadline, struct mk_err **err)
{
	for (;;) {
		int timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return mk_err_set(err, MK_ETIMEOUT, "websocket: timed out");
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return mk_err_errno(err, MK_EIO, errno, "websocket: poll");
		if (r > 0)
			return 0;
	}
}

static int writev_all(int fd, struct iovec *iov, int n, struct mk_err **err)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n > IOV_MAX ? IOV_MAX : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_fd(fd, POLLOUT, -1, err) < 0)
					return -1;
				continue;
			}
			return mk_err_errno(err, MK_EIO, errno, "websocket: write");
		}
		size_t done = (size_t)w;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

int ws_write_all(int fd, const void *data, size_t len, struct mk_err **err)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	return writev_all(fd, &iov, 1, err);
}

/* Whether s[0..len) is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), as RFC 6455 §8.1 requires of text. */
static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- handshake ---- */

char *ws_accept_key(const char *key)
{
	cleanup_free char *s = xasprintf("%s%s", key, WS_GUID);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	/* SHA-1 cannot fail on a supported build; an error here is a broken
	 * libcrypto, and an all-zero digest would only fail the handshake */
	if (!EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha1(), NULL))
		memset(md, 0, sizeof(md)), mdlen = 20;
	return base64_encode(md, mdlen);
}

bool ws_header_has_token(const char *value, const char *token)
{
	if (!value)
		return false;
	size_t tl = strlen(token);
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *start = p;
		while (*p && *p != ',')
			p++;
		const char *end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == tl && strncasecmp(start, token, tl) == 0)
			return true;
	}
	return false;
}

bool ws_is_upgrade_request(ws_header_fn header, void *arg)
{
	return ws_header_has_token(header(arg, "Upgrade"), "websocket") &&
	       ws_header_has_token(header(arg, "Connection"), "upgrade");
}

/* Splits a comma-separated header into trimmed, non-empty items. */
static size_t split_list(const char *value, char ***out)
{
	size_t n = 0;
	char **v = NULL;
	const char *p = value ? value : "";
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *start = p;
		while (*p && *p != ',')
			p++;
		const char *end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > start) {
			v = xrealloc(v, (n + 2) * sizeof(*v));
			v[n++] = xstrndup(start, (size_t)(end - start));
			v[n] = NULL;
		}
	}
	*out = v;
	return n;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int ws_handshake_check(const char *method, ws_header_fn header, void *arg,
		       const char *const *supported, struct ws_handshake *hs, struct mk_err **err)
{
	*hs = (struct ws_handshake){0};
	if (!method || strcmp(method, "GET") != 0)
		return mk_err_set(err, MK_EINVAL, "websocket: the upgrade request must be a GET");
	if (!ws_header_has_token(header(arg, "Upgrade"), "websocket"))
		return mk_err_set(err, MK_EINVAL, "websocket: missing \"Upgrade: websocket\"");
	if (!ws_header_has_token(header(arg, "Connection"), "upgrade"))
		return mk_err_set(err, MK_EINVAL, "websocket: missing \"Connection: Upgrade\"");
	const char *version = header(arg, "Sec-WebSocket-Version");
	if (!version || strcmp(version, "13") != 0)
		return mk_err_set(err, MK_EUNSUPPORTED,
				  "websocket: unsupported version %s; supports 13",
				  version ? version : "(none)");
	const char *key = header(arg, "Sec-WebSocket-Key");
	size_t keylen = 0;
	cleanup_free char *raw = key ? base64_decode(key, &keylen) : NULL;
	if (!raw || keylen != 16)
		return mk_err_set(err, MK_EINVAL, "websocket: bad Sec-WebSocket-Key");

	char **asked = NULL;
	size_t n = split_list(header(arg, "Sec-WebSocket-Protocol"), &asked);
	const char *chosen = NULL;
	for (size_t i = 0; i < (n ? n : 1) && !chosen; i++) {
		const char *want = n ? asked[i] : "";
		for (size_t k = 0; supported && supported[k]; k++) {
			if (strcmp(supported[k], want) == 0) {
				chosen = supported[k];
				break;
			}
		}
	}
	if (!chosen) {
		struct buf b = BUF_INIT;
		buf_append_str(&b, "requested protocol(s) are not supported: [");
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, "%s%s", i ? " " : "", asked[i]);
		buf_append_str(&b, "]; supports [");
		for (size_t k = 0; supported && supported[k]; k++)
			buf_printf(&b, "%s%s", k ? " " : "", supported[k]);
		buf_append_str(&b, "]");
		mk_err_set(err, MK_EINVAL, "%s", buf_str(&b));
		buf_free(&b);
		free_list(asked);
		return -1;
	}
	free_list(asked);
	hs->accept = ws_accept_key(key);
	hs->protocol = *chosen ? chosen : NULL;
	return 0;
}

void ws_handshake_clear(struct ws_handshake *hs)
{
	free(hs->accept);
	*hs = (struct ws_handshake){0};
}

char *ws_head_header(const char *head, const char *name)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");
	while (p) {
		p += 2;
		const char *eol = strstr(p, "\r\n");
		if (!eol || eol == p)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *e = eol;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return xstrndup(v, (size_t)(e - v));
		}
		p = eol;
	}
	return NULL;
}

/* Reads into b until fd is closed, b holds `want` bytes, or the deadline. */
static int read_some(int fd, struct buf *b, int64_t deadline, size_t max, bool *eof,
		     struct mk_err **err)
{
	if (b->len >= max)
		return mk_err_set(err, MK_EIO, "websocket: answer larger than %zu bytes", max);
	if (wait_fd(fd, POLLIN, deadline, err) < 0)
		return -1;
	buf_grow(b, 4096);
	size_t room = b->cap - b->len - 1;
	if (room > max - b->len)
		room = max - b->len;
	ssize_t r = read(fd, b->data + b->len, room);
	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return mk_err_errno(err, MK_EIO, errno, "websocket: read");
	}
	if (r == 0)
		*eof = true;
	b->len += (size_t)r;
	b->data[b->len] = '\0';
	return 0;
}

/* Decodes a chunked body held whole in in[0..len) into out; 1 when the last
 * chunk was seen, 0 when more bytes are needed, -1 when malformed. */
static int dechunk(const char *in, size_t len, struct buf *out)
{
	size_t i = 0;
	buf_reset(out);
	for (;;) {
		const char *eol = memmem(in + i, len - i, "\r\n", 2);
		if (!eol)
			return 0;
		char *end;
		unsigned long long sz = strtoull(in + i, &end, 16);
		if (end == in + i)
			return -1;
		i = (size_t)(eol - in) + 2;
		if (sz == 0)
			return 1;
		if (sz > len - i || len - i - sz < 2)
			return 0;
		buf_append(out, in + i, sz);
		i += sz + 2;
	}
}

int ws_client_handshake(int fd, const struct ws_client_opts *o, struct ws_client_result *r,
			struct mk_err **err)
{
	*r = (struct ws_client_result){.extra = BUF_INIT};
	int64_t deadline = now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 30000);
	size_t max = o->max_answer ? o->max_answer : 1 << 20;

	uint8_t raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return mk_err_set(err, MK_EINTERNAL, "websocket: no random bytes for the key");
	cleanup_free char *key = base64_encode(raw, sizeof(raw));
	cleanup_buf struct buf req = BUF_INIT;
	buf_printf(&req,
		   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
		   o->target, o->host, key);
	if (o->protocols && o->protocols[0]) {
		buf_append_str(&req, "Sec-WebSocket-Protocol: ");
		for (size_t i = 0; o->protocols[i]; i++)
			buf_printf(&req, "%s%s", i ? ", " : "", o->protocols[i]);
		buf_append_str(&req, "\r\n");
	}
	for (size_t i = 0; o->headers && o->headers[i]; i++)
		buf_printf(&req, "%s\r\n", o->headers[i]);
	buf_append_str(&req, "\r\n");
	if (ws_write_all(fd, req.data, req.len, err) < 0)
		return -1;

	cleanup_buf struct buf in = BUF_INIT;
	bool eof = false;
	char *end;
	while (!(in.data && (end = strstr(in.data, "\r\n\r\n")))) {
		if (eof)
			return mk_err_set(err, MK_EIO,
					  "websocket: connection closed during the handshake");
		if (read_some(fd, &in, deadline, max, &eof, err) < 0)
			return -1;
	}
	size_t head_len = (size_t)(end - in.data) + 2;
	r->head = xstrndup(in.data, head_len);
	if (strncmp(r->head, "HTTP/1.", 7) != 0 || strlen(r->head) < 12 ||
	    sscanf(r->head + 9, "%3d", &r->status) != 1)
		return mk_err_set(err, MK_EIO,
				  "websocket: malformed answer to the upgrade request");
	size_t body_at = head_len + 2;

	if (r->status == 101) {
		cleanup_free char *upgrade = ws_head_header(r->head, "Upgrade");
		cleanup_free char *connection = ws_head_header(r->head, "Connection");
		cleanup_free char *accept = ws_head_header(r->head, "Sec-WebSocket-Accept");
		cleanup_free char *want = ws_accept_key(key);
		if (!ws_header_has_token(upgrade, "websocket") ||
		    !ws_header_has_token(connection, "upgrade"))
			return mk_err_set(
				err, MK_EIO,
				"websocket: the 101 answer does not upgrade to websocket");
		if (!accept || strcmp(accept, want) != 0)
			return mk_err_set(err, MK_EIO,
					  "websocket: bad Sec-WebSocket-Accept in the answer");
		r->protocol = ws_head_header(r->head, "Sec-WebSocket-Protocol");
		if (r->protocol) {
			bool asked = false;
			for (size_t i = 0; o->protocols && o->protocols[i]; i++)
				asked = asked || strcmp(o->protocols[i], r->protocol) == 0;
			if (!asked)
				return mk_err_set(
					err, MK_EIO,
					"websocket: the server chose protocol %s, not asked for",
					r->protocol);
		}
		buf_append(&r->extra, in.data + body_at, in.len - body_at);
		return 0;
	}

	/* Not upgraded: read the body the server explains itself with. */
	cleanup_free char *clen = ws_head_header(r->head, "Content-Length");
	cleanup_free char *te = ws_head_header(r->head, "Transfer-Encoding");
	bool chunked = te && ws_header_has_token(te, "chunked");
	cleanup_buf struct buf body = BUF_INIT;
	for (;;) {
		size_t have = in.len - body_at;
		if (clen) {
			size_t want = (size_t)strtoull(clen, NULL, 10);
			if (want > max)
				want = max;
			if (have >= want) {
				buf_append(&body, in.data + body_at, want);
				break;
			}
		} else if (chunked) {
			int d = dechunk(in.data + body_at, have, &body);
			if (d < 0)
				return mk_err_set(err, MK_EIO,
						  "websocket: malformed chunked answer");
			if (d > 0)
				break;
		}
		if (eof) {
			if (!clen && !chunked)
				buf_append(&body, in.data + body_at, have);
			break;
		}
		if (in.len >= max) {
			if (!chunked)
				buf_append(&body, in.data + body_at, have);
			break;
		}
		if (read_some(fd, &in, deadline, max, &eof, err) < 0)
			return -1;
	}
	r->body_len = body.len;
	r->body = buf_steal(&body);
	return 0;
}

void ws_client_result_clear(struct ws_client_result *r)
{
	free(r->protocol);
	free(r->head);
	free(r->body);
	buf_free(&r->extra);
	*r = (struct ws_client_result){.extra = BUF_INIT};
}

/* ---- frames ---- */

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
	size_t i = 0;
	/* byte-wise until the key lines up, then 8 bytes at a time */
	while (i < len && ((offset + i) & 3) != 0) {
		data[i] ^= mask[(offset + i) & 3];
		i++;
	}
	uint64_t m64;
	uint8_t m8[8] = {mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]};
	memcpy(&m64, m8, 8);
	for (; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, data + i, 8);
		v ^= m64;
		memcpy(data + i, &v, 8);
	}
	for (; i < len; i++)
		data[i] ^= mask[(offset + i) & 3];
}

static size_t header_encode(uint8_t *h, enum ws_opcode opcode, bool more, const uint8_t *mask,
			    uint64_t len)
{
	size_t n = 0;
	h[n++] = (uint8_t)((more ? 0 : 0x80) | (opcode & 0x0f));
	uint8_t mbit = mask ? 0x80 : 0;
	if (len < 126) {
		h[n++] = mbit | (uint8_t)len;
	} else if (len <= 0xffff) {
		h[n++] = mbit | 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = mbit | 127;
		for (int s = 56; s >= 0; s -= 8)
			h[n++] = (uint8_t)(len >> s);
	}
	if (mask) {
		memcpy(h + n, mask, 4);
		n += 4;
	}
	return n;
}

void ws_frame_encode(struct buf *out, enum ws_opcode opcode, bool more, const uint8_t *mask,
		     const struct iovec *iov, int n)
{
	uint64_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	uint8_t h[WS_MAX_HEADER];
	size_t hl = header_encode(h, opcode, more, mask, len);
	buf_append(out, h, hl);
	size_t start = out->len;
	for (int i = 0; i < n; i++)
		buf_append(out, iov[i].iov_base, iov[i].iov_len);
	if (mask)
		ws_mask((uint8_t *)out->data + start, (size_t)len, mask, 0);
}

size_t ws_close_payload(uint8_t out[125], int code, const char *reason)
{
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > 123)
		rl = 123;
	if (rl)
		memcpy(out + 2, reason, rl);
	return 2 + rl;
}

/* ---- connections ---- */

struct ws_conn {
	int fd;
	enum ws_role role;
	size_t max_message;
	struct buf in; /* bytes fed, not yet parsed from in_off on */
	size_t in_off;
	struct buf msg;	   /* a fragmented message being joined */
	int frag_opcode;   /* its opcode; 0 when none */
	bool msg_returned; /* msg was handed out: empty it on the next parse */
	uint8_t ctrl[126]; /* the last control frame's payload, NUL-terminated */
	bool close_received;
	bool failed;
	pthread_mutex_t wlock; /* senders */
	bool close_sent;
	struct buf out; /* a client's masked frame, under wlock */
};

struct ws_conn *ws_conn_new(int fd, enum ws_role role, size_t max_message, const void *extra,
			    size_t extra_len)
{
	struct ws_conn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->role = role;
	c->max_message = max_message ? max_message : 32u << 20;
	c->in = (struct buf)BUF_INIT;
	c->msg = (struct buf)BUF_INIT;
	c->out = (struct buf)BUF_INIT;
	pthread_mutex_init(&c->wlock, NULL);
	if (extra_len)
		buf_append(&c->in, extra, extra_len);
	return c;
}

void ws_conn_free(struct ws_conn *c)
{
	if (!c)
		return;
	buf_free(&c->in);
	buf_free(&c->msg);
	buf_free(&c->out);
	pthread_mutex_destroy(&c->wlock);
	free(c);
}

int ws_conn_fd(const struct ws_conn *c)
{
	return c->fd;
}

bool ws_conn_close_sent(const struct ws_conn *c)
{
	return c->close_sent;
}

bool ws_conn_close_received(const struct ws_conn *c)
{
	return c->close_received;
}

void ws_conn_feed(struct ws_conn *c, const void *data, size_t len)
{
	if (c->in_off > 0) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	buf_append(&c->in, data, len);
}

static int violation(struct ws_conn *c, int *close_code, int code, struct mk_err **err,
		     const char *what)
{
	c->failed = true;
	if (close_code)
		*close_code = code;
	return mk_err_set(err, MK_EINVAL, "websocket: %s", what);
}

static bool close_code_valid(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

int ws_conn_parse(struct ws_conn *c, struct ws_msg *m, int *close_code, struct mk_err **err)
{
	if (c->failed)
		return mk_err_set(err, MK_EINVAL, "websocket: connection failed earlier");
	if (c->close_received)
		return 0;
	if (c->msg_returned) {
		buf_reset(&c->msg);
		c->msg_returned = false;
	}
	for (;;) {
		const uint8_t *p = (const uint8_t *)c->in.data + c->in_off;
		size_t avail = c->in.len - c->in_off;
		if (avail < 2)
			return 0;
		bool fin = p[0] & 0x80;
		int op = p[0] & 0x0f;
		bool masked = p[1] & 0x80;
		uint64_t len = p[1] & 0x7f;
		size_t hl = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + (masked ? 4 : 0);
		if (p[0] & 0x70)
			return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
					 "reserved bits set without an extension");
		if (avail < hl)
			return 0;
		if (len == 126) {
			len = (uint64_t)p[2] << 8 | p[3];
			if (len < 126)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "length not in its shortest form");
		} else if (len == 127) {
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			if (len >> 63)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "64-bit length with its top bit set");
			if (len <= 0xffff)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "length not in its shortest form");
		}
		if (masked != (c->role == WS_SERVER))
			return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
					 c->role == WS_SERVER ? "unmasked frame from a client"
							      : "masked frame from a server");
		bool control = op & 0x8;
		if (control) {
			if (op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "unknown control opcode");
			if (!fin)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "fragmented control frame");
			if (len > 125)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "control frame longer than 125 bytes");
		} else {
			if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "unknown data opcode");
			if (op == WS_OP_CONT && !c->frag_opcode)
				return violation(
					c, close_code, WS_CLOSE_PROTOCOL, err,
					"continuation frame without a message to continue");
			if (op != WS_OP_CONT && c->frag_opcode)
				return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
						 "new message inside a fragmented one");
			if (len > c->max_message || c->msg.len + len > c->max_message)
				return violation(c, close_code, WS_CLOSE_TOO_BIG, err,
						 "message too big");
		}
		if (avail - hl < len)
			return 0;

		uint8_t *payload = (uint8_t *)c->in.data + c->in_off + hl;
		if (masked)
			ws_mask(payload, (size_t)len, p + hl - 4, 0);
		c->in_off += hl + (size_t)len;

		if (control) {
			memcpy(c->ctrl, payload, (size_t)len);
			c->ctrl[len] = '\0';
			*m = (struct ws_msg){.opcode = op, .data = c->ctrl, .len = (size_t)len};
			if (op == WS_OP_CLOSE) {
				m->close_code = WS_CLOSE_NO_STATUS;
				m->close_reason = "";
				if (len == 1)
					return violation(c, close_code, WS_CLOSE_PROTOCOL, err,
							 "close frame of one byte");
				if (len >= 2) {
					m->close_code = c->ctrl[0] << 8 | c->ctrl[1];
					m->close_reason = (const char *)c->ctrl + 2;
					if (!close_code_valid(m->close_code))
						return violation(c, close_code, WS_CLOSE_PROTOCOL,
								 err, "invalid close code");
					if (!utf8_valid(c->ctrl + 2, (size_t)len - 2))
						return violation(c, close_code,
								 WS_CLOSE_INVALID_DATA, err,
								 "close reason is not UTF-8");
				}
				c->close_received = true;
			}
			return 1;
		}

		if (fin && op != WS_OP_CONT) {
			/* a whole message in one frame: hand out the input itself */
			if (op == WS_OP_TEXT && !utf8_valid(payload, (size_t)len))
				return violation(c, close_code, WS_CLOSE_INVALID_DATA, err,
						 "text message is not UTF-8");
			*m = (struct ws_msg){.opcode = op, .data = payload, .len = (size_t)len};
			return 1;
		}
		if (op != WS_OP_CONT)
			c->frag_opcode = op;
		buf_append(&c->msg, payload, (size_t)len);
		if (fin) {
			int mop = c->frag_opcode;
			c->frag_opcode = 0;
			c->msg_returned = true;
			if (mop == WS_OP_TEXT && !utf8_valid((uint8_t *)c->msg.data, c->msg.len))
				return violation(c, close_code, WS_CLOSE_INVALID_DATA, err,
						 "text message is not UTF-8");
			*m = (struct ws_msg){
				.opcode = mop,
				.data = (const uint8_t *)(c->msg.data ? c->msg.data : ""),
				.len = c->msg.len};
			return 1;
		}
	}
}

static int send_locked(struct ws_conn *c, enum ws_opcode opcode, const struct iovec *iov, int n,
		       struct mk_err **err)
{
	if (c->close_sent)
		return mk_err_set(err, MK_EINVAL, "websocket: send after close");
	if (opcode == WS_OP_CLOSE)
		c->close_sent = true;
	if (c->role == WS_CLIENT) {
		uint8_t mask[4];
		if (RAND_bytes(mask, sizeof(mask)) != 1)
			return mk_err_set(err, MK_EINTERNAL,
					  "websocket: no random bytes for a mask");
		buf_reset(&c->out);
		ws_frame_encode(&c->out, opcode, false, mask, iov, n);
		int r = ws_write_all(c->fd, c->out.data, c->out.len, err);
		/* keep a large buffer from living as long as the connection */
		if (c->out.cap > (1u << 20))
			buf_free(&c->out);
		return r;
	}
	uint64_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	uint8_t h[WS_MAX_HEADER];
	struct iovec stack[9];
	cleanup_free struct iovec *heap = NULL;
	struct iovec *v = stack;
	if (n + 1 > (int)(sizeof(stack) / sizeof(stack[0])))
		v = heap = xmalloc((size_t)(n + 1) * sizeof(*v));
	v[0] = (struct iovec){.iov_base = h, .iov_len = header_encode(h, opcode, false, NULL, len)};
	if (n)
		memcpy(v + 1, iov, (size_t)n * sizeof(*v));
	return writev_all(c->fd, v, n + 1, err);
}

int ws_conn_sendv(struct ws_conn *c, enum ws_opcode opcode, const struct iovec *iov, int n,
		  struct mk_err **err)
{
	pthread_mutex_lock(&c->wlock);
	int r = send_locked(c, opcode, iov, n, err);
	pthread_mutex_unlock(&c->wlock);
	return r;
}

int ws_conn_send(struct ws_conn *c, enum ws_opcode opcode, const void *data, size_t len,
		 struct mk_err **err)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	return ws_conn_sendv(c, opcode, &iov, 1, err);
}

int ws_conn_close(struct ws_conn *c, int code, const char *reason, struct mk_err **err)
{
	uint8_t p[125];
	size_t len = code == WS_CLOSE_NO_STATUS ? 0 : ws_close_payload(p, code, reason);
	struct iovec iov = {.iov_base = p, .iov_len = len};
	pthread_mutex_lock(&c->wlock);
	int r = c->close_sent ? 0 : send_locked(c, WS_OP_CLOSE, &iov, 1, err);
	pthread_mutex_unlock(&c->wlock);
	return r;
}

int ws_conn_recv(struct ws_conn *c, struct ws_msg *m, int timeout_ms, struct mk_err **err)
{
	for (;;) {
		int code = 0;
		int r = ws_conn_parse(c, m, &code, err);
		if (r < 0) {
			if (code)
				ws_conn_close(c, code, NULL, NULL);
			return -1;
		}
		if (r > 0) {
			if (m->opcode == WS_OP_PING) {
				pthread_mutex_lock(&c->wlock);
				struct iovec iov = {.iov_base = (void *)m->data, .iov_len = m->len};
				int s = c->close_sent ? 0
						      : send_locked(c, WS_OP_PONG, &iov, 1, err);
				pthread_mutex_unlock(&c->wlock);
				if (s < 0)
					return -1;
				continue;
			}
			if (m->opcode == WS_OP_CLOSE)
				ws_conn_close(c, m->close_code, NULL, NULL);
			return 1;
		}
		if (c->close_received) {
			*m = (struct ws_msg){.opcode = WS_OP_CLOSE,
					     .close_code = WS_CLOSE_ABNORMAL,
					     .close_reason = ""};
			return 0;
		}
		if (wait_fd(c->fd, POLLIN, timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err) < 0)
			return -1;
		/* the message handed out last is no longer borrowed: drop it */
		if (c->in_off > 0) {
			memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
			c->in.len -= c->in_off;
			c->in_off = 0;
		}
		buf_grow(&c->in, 65536);
		ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			if (errno == ECONNRESET) {
				*m = (struct ws_msg){.opcode = WS_OP_CLOSE,
						     .close_code = WS_CLOSE_ABNORMAL,
						     .close_reason = ""};
				return 0;
			}
			return mk_err_errno(err, MK_EIO, errno, "websocket: read");
		}
		if (n == 0) {
			*m = (struct ws_msg){.opcode = WS_OP_CLOSE,
					     .close_code = WS_CLOSE_ABNORMAL,
					     .close_reason = ""};
			return 0;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
	}
}
