#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cleanup.h"
#include "kstream.h"
#include "spdy.h"
#include "xalloc.h"

#define PROTO_TUNNEL "SPDY/3.1+portforward.k8s.io"
#define PROTO_PF     "portforward.k8s.io"

/* WebSocket subprotocols per kind, and their exec versions. */
static const char *const ws_exec_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
						"channel.k8s.io", "", NULL};
static const char *const ws_pf_protocols[] = {PROTO_TUNNEL, "v4.channel.k8s.io", "", NULL};
/* SPDY subprotocols, in the order upstream's kubelet lists them */
static const char *const spdy_exec_protocols[] = {"v4.channel.k8s.io", "v3.channel.k8s.io",
						  "v2.channel.k8s.io", "channel.k8s.io", NULL};
static const char *const spdy_pf_protocols[] = {PROTO_PF, NULL};

enum {
	CH_STDIN = 0,
	CH_STDOUT = 1,
	CH_STDERR = 2,
	CH_ERROR = 3,
	CH_RESIZE = 4,
	CH_CLOSE = 255,
};

static int exec_version(const char *p)
{
	if (strncmp(p, "v", 1) == 0 && p[1] >= '2' && p[1] <= '5' && p[2] == '.')
		return p[1] - '0';
	return 1;
}

static void add_header(struct kstream_answer *a, const char *name, const char *value)
{
	if (a->n_headers >= KSTREAM_MAX_HEADERS)
		return;
	a->headers[a->n_headers].name = xstrdup(name);
	a->headers[a->n_headers].value = xstrdup(value);
	a->n_headers++;
}

void kstream_answer_clear(struct kstream_answer *a)
{
	for (size_t i = 0; i < a->n_headers; i++) {
		free(a->headers[i].name);
		free(a->headers[i].value);
	}
	*a = (struct kstream_answer){0};
}

bool kstream_is_upgrade(ws_header_fn header, void *arg)
{
	return ws_header_has_token(header(arg, "Connection"), "upgrade");
}

/* Go's %v of a []string: [a b c] */
static void go_list(struct buf *b, char **items, size_t n)
{
	buf_append_char(b, '[');
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? " " : "", items[i]);
	buf_append_char(b, ']');
}

static size_t split_commas(const char *value, char ***out)
{
	size_t n = 0;
	char **v = xcalloc(1, sizeof(*v));
	const char *p = value ? value : "";
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *s = p;
		while (*p && *p != ',')
			p++;
		const char *e = p;
		while (e > s && e[-1] == ' ')
			e--;
		if (e > s) {
			v = xrealloc(v, (n + 2) * sizeof(*v));
			v[n++] = xstrndup(s, (size_t)(e - s));
			v[n] = NULL;
		}
	}
	*out = v;
	return n;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int spdy_handshake(enum kstream_kind kind, ws_header_fn header, void *arg,
			  struct kstream_answer *a, struct mk_err **err)
{
	const char *const *supported =
		kind == KSTREAM_EXEC ? spdy_exec_protocols : spdy_pf_protocols;
	char **asked = NULL;
	size_t n = split_commas(header(arg, "X-Stream-Protocol-Version"), &asked);
	if (n == 0) {
		free_strv(asked);
		a->code = 400;
		return mk_err_set(err, MK_EINVAL,
				  "unable to upgrade: X-Stream-Protocol-Version is required");
	}
	const char *chosen = NULL;
	for (size_t i = 0; i < n && !chosen; i++)
		for (size_t k = 0; supported[k] && !chosen; k++)
			if (strcmp(asked[i], supported[k]) == 0)
				chosen = supported[k];
	if (!chosen) {
		struct buf m = BUF_INIT;
		buf_append_str(&m,
			       "unable to upgrade: unable to negotiate protocol: client supports ");
		go_list(&m, asked, n);
		buf_append_str(&m, ", server accepts ");
		size_t ns = 0;
		while (supported[ns])
			ns++;
		go_list(&m, (char **)supported, ns);
		for (size_t k = 0; k < ns; k++)
			add_header(a, "X-Accepted-Stream-Protocol-Versions", supported[k]);
		a->code = 403;
		mk_err_set(err, MK_EINVAL, "%s", buf_str(&m));
		buf_free(&m);
		free_strv(asked);
		return -1;
	}
	free_strv(asked);
	if (!ws_header_has_token(header(arg, "Connection"), "upgrade") ||
	    !ws_header_has_token(header(arg, "Upgrade"), "SPDY/3.1")) {
		a->code = 400;
		return mk_err_set(err, MK_EINVAL,
				  "unable to upgrade: missing upgrade headers in request");
	}
	a->code = 101;
	a->transport = KSTREAM_SPDY;
	a->protocol = chosen;
	a->version = kind == KSTREAM_EXEC ? exec_version(chosen) : 0;
	add_header(a, "Connection", "Upgrade");
	add_header(a, "Upgrade", "SPDY/3.1");
	add_header(a, "X-Stream-Protocol-Version", chosen);
	return 0;
}

int kstream_handshake(enum kstream_kind kind, const char *method, ws_header_fn header, void *arg,
		      struct kstream_answer *a, struct mk_err **err)
{
	*a = (struct kstream_answer){0};
	if (!ws_is_upgrade_request(header, arg))
		return spdy_handshake(kind, header, arg, a, err);

	const char *const *supported = kind == KSTREAM_EXEC ? ws_exec_protocols : ws_pf_protocols;
	struct ws_handshake hs;
	struct mk_err *e = NULL;
	if (ws_handshake_check(method, header, arg, supported, &hs, &e) < 0) {
		a->code = mk_err_code(e) == MK_EUNSUPPORTED ? 426 : 400;
		if (a->code == 426)
			add_header(a, "Sec-WebSocket-Version", "13");
		mk_err_set(err, MK_EINVAL, "%s", mk_err_msg(e));
		mk_err_free(e);
		return -1;
	}
	a->code = 101;
	a->protocol = hs.protocol ? hs.protocol : "";
	a->transport = strcmp(a->protocol, PROTO_TUNNEL) == 0 ? KSTREAM_SPDY_OVER_WEBSOCKET
							      : KSTREAM_WEBSOCKET;
	a->version = kind == KSTREAM_EXEC ? exec_version(a->protocol) : 0;
	add_header(a, "Upgrade", "websocket");
	add_header(a, "Connection", "Upgrade");
	add_header(a, "Sec-WebSocket-Accept", hs.accept);
	if (hs.protocol)
		add_header(a, "Sec-WebSocket-Protocol", hs.protocol);
	ws_handshake_clear(&hs);
	return 0;
}

/* ---- sessions ---- */

enum stream_role {
	ROLE_NONE = 0,
	ROLE_ERROR,
	ROLE_STDIN,
	ROLE_STDOUT,
	ROLE_STDERR,
	ROLE_RESIZE,
};

/* A port-forward connection: over SPDY a pair of streams sharing a
 * requestID (handle: the data stream's id); over WebSocket channels a port
 * index (handle: the index). */
struct pf_conn {
	char *request_id;
	uint32_t data_id, error_id; /* SPDY stream ids, 0 until seen */
	uint16_t port;
	bool open;	  /* PF_OPEN was reported */
	bool closed;	  /* kstream_pf_close was called */
	bool client_done; /* FIN or RST from the client on the data stream */
	struct pf_conn *next;
};

struct kstream {
	enum kstream_kind kind;
	enum kstream_transport transport;
	int version;
	struct kstream_exec_opts o;

	struct ws_conn *ws; /* WEBSOCKET and SPDY_OVER_WEBSOCKET */
	struct spdy *spdy;  /* SPDY and SPDY_OVER_WEBSOCKET */
	struct buf out;
	size_t out_off;
	struct buf sout; /* SPDY bytes waiting to be wrapped in a WebSocket message */

	/* exec over SPDY: the client's streams */
	uint32_t sid[ROLE_RESIZE + 1];
	int expected, received;
	bool ready_sent;
	bool stdin_done;
	struct buf resize; /* resize JSON not parsed yet */

	/* port-forward */
	struct pf_conn *conns;
	size_t n_ports; /* WebSocket channels: ports, each a pf_conn in order */
	uint32_t last_client_id;

	/* a second event owed by the last frame (data then its end) */
	struct kstream_event pending;
	bool has_pending;
	bool stdin_eof_owed; /* stdin closed before READY was reported */

	bool finished;
	bool failed;
	bool closed_reported;
};

static void spdy_flush(struct kstream *ks);

static void out_ws(struct kstream *ks, enum ws_opcode op, const void *prefix, size_t plen,
		   const void *data, size_t len)
{
	struct iovec iov[2] = {{.iov_base = (void *)prefix, .iov_len = plen},
			       {.iov_base = (void *)data, .iov_len = len}};
	ws_frame_encode(&ks->out, op, false, NULL, iov, 2);
}

static void out_channel(struct kstream *ks, uint8_t channel, const void *data, size_t len)
{
	out_ws(ks, WS_OP_BINARY, &channel, 1, data, len);
}

static void out_ws_close(struct kstream *ks, int code)
{
	uint8_t p[125];
	size_t n = ws_close_payload(p, code, NULL);
	out_ws(ks, WS_OP_CLOSE, p, n, NULL, 0);
}

/* SPDY output goes to sout; for the tunnel it is wrapped by spdy_flush. */
static struct buf *spdy_out(struct kstream *ks)
{
	return ks->transport == KSTREAM_SPDY ? &ks->out : &ks->sout;
}

static void spdy_flush(struct kstream *ks)
{
	if (ks->transport != KSTREAM_SPDY_OVER_WEBSOCKET || ks->sout.len == 0)
		return;
	out_ws(ks, WS_OP_BINARY, ks->sout.data, ks->sout.len, NULL, 0);
	buf_reset(&ks->sout);
}

static void spdy_data(struct kstream *ks, uint32_t id, uint8_t flags, const void *data, size_t len)
{
	const uint8_t *p = data;
	do {
		size_t n = len > SPDY_MAX_DATA ? SPDY_MAX_DATA : len;
		spdy_put_data(spdy_out(ks), id, n == len ? flags : 0, p, n);
		p += n;
		len -= n;
	} while (len > 0);
}

struct kstream *kstream_new(enum kstream_kind kind, const struct kstream_answer *a,
			    const struct kstream_exec_opts *o, const uint16_t *ports, size_t n)
{
	struct kstream *ks = xcalloc(1, sizeof(*ks));
	ks->kind = kind;
	ks->transport = a->transport;
	ks->version = a->version;
	ks->out = (struct buf)BUF_INIT;
	ks->sout = (struct buf)BUF_INIT;
	ks->resize = (struct buf)BUF_INIT;
	if (o)
		ks->o = *o;
	if (ks->o.tty)
		ks->o.err = false;
	if (ks->transport != KSTREAM_SPDY)
		ks->ws = ws_conn_new(-1, WS_SERVER, 0, NULL, 0);
	if (ks->transport != KSTREAM_WEBSOCKET)
		ks->spdy = spdy_new();

	if (kind == KSTREAM_EXEC && ks->transport == KSTREAM_WEBSOCKET) {
		/* an empty message on the lowest writable channel tells the
		 * client the connection is established, as upstream does */
		out_channel(ks, ks->o.out ? CH_STDOUT : ks->o.err ? CH_STDERR : CH_ERROR, NULL, 0);
		/* every channel exists from the start */
		ks->pending = (struct kstream_event){.type = KSTREAM_EV_READY};
		ks->has_pending = true;
		ks->ready_sent = true;
	} else if (kind == KSTREAM_EXEC) {
		ks->expected =
			1 + ks->o.in + ks->o.out + ks->o.err + (ks->o.tty && ks->version >= 3);
	} else if (ks->transport == KSTREAM_WEBSOCKET) {
		struct pf_conn **tail = &ks->conns;
		for (size_t i = 0; i < n; i++) {
			struct pf_conn *c = xcalloc(1, sizeof(*c));
			c->port = ports[i];
			c->data_id = (uint32_t)i;
			*tail = c;
			tail = &c->next;
			uint8_t le[2] = {(uint8_t)ports[i], (uint8_t)(ports[i] >> 8)};
			out_channel(ks, (uint8_t)(2 * i), le, 2);
			out_channel(ks, (uint8_t)(2 * i + 1), le, 2);
		}
		ks->n_ports = n;
	}
	return ks;
}

static void pf_free(struct pf_conn *c)
{
	free(c->request_id);
	free(c);
}

void kstream_free(struct kstream *ks)
{
	if (!ks)
		return;
	ws_conn_free(ks->ws);
	spdy_free(ks->spdy);
	buf_free(&ks->out);
	buf_free(&ks->sout);
	buf_free(&ks->resize);
	while (ks->conns) {
		struct pf_conn *c = ks->conns;
		ks->conns = c->next;
		pf_free(c);
	}
	free(ks);
}

void kstream_feed(struct kstream *ks, const void *data, size_t len)
{
	if (ks->ws)
		ws_conn_feed(ks->ws, data, len);
	else
		spdy_feed(ks->spdy, data, len);
}

const void *kstream_out_data(const struct kstream *ks)
{
	return ks->out.data ? ks->out.data + ks->out_off : "";
}

size_t kstream_out_len(const struct kstream *ks)
{
	return ks->out.len - ks->out_off;
}

void kstream_out_consume(struct kstream *ks, size_t n)
{
	ks->out_off += n;
	if (ks->out_off >= ks->out.len) {
		buf_reset(&ks->out);
		ks->out_off = 0;
		if (ks->out.cap > (1u << 20))
			buf_free(&ks->out);
	}
}

bool kstream_finished(const struct kstream *ks)
{
	return ks->finished;
}

/* Parses one {"Width":W,"Height":H} from the resize buffer: 1 with *ev,
 * 0 when it holds no complete value. Malformed resize data ends the resize
 * stream for good, as upstream's decoder loop does. */
static int next_resize(struct kstream *ks, struct kstream_event *ev)
{
	size_t i = 0;
	while (i < ks->resize.len && strchr(" \t\r\n", ks->resize.data[i]))
		i++;
	if (i == ks->resize.len) {
		buf_reset(&ks->resize);
		return 0;
	}
	json_error_t je;
	json_t *j =
		json_loadb(ks->resize.data + i, ks->resize.len - i, JSON_DISABLE_EOF_CHECK, &je);
	if (!j) {
		/* an incomplete value waits for more; anything else is dropped */
		if (je.position >= (int)(ks->resize.len - i))
			return 0;
		buf_reset(&ks->resize);
		return 0;
	}
	size_t used = i + (size_t)je.position;
	json_int_t w = json_integer_value(json_object_get(j, "Width"));
	json_int_t h = json_integer_value(json_object_get(j, "Height"));
	json_decref(j);
	memmove(ks->resize.data, ks->resize.data + used, ks->resize.len - used);
	ks->resize.len -= used;
	ks->resize.data[ks->resize.len] = '\0';
	*ev = (struct kstream_event){.type = KSTREAM_EV_RESIZE,
				     .width = (uint16_t)(w < 0	     ? 0
							 : w > 65535 ? 65535
								     : w),
				     .height = (uint16_t)(h < 0	      ? 0
							  : h > 65535 ? 65535
								      : h)};
	return 1;
}

static int closed_event(struct kstream *ks, struct kstream_event *ev)
{
	ks->closed_reported = true;
	*ev = (struct kstream_event){.type = KSTREAM_EV_CLOSED};
	return 1;
}

/* ---- exec over WebSocket channels ---- */

static int ws_exec_message(struct kstream *ks, const struct ws_msg *m, struct kstream_event *ev)
{
	if (m->len == 0)
		return 0;
	uint8_t ch = m->data[0];
	const uint8_t *d = m->data + 1;
	size_t n = m->len - 1;
	switch (ch) {
	case CH_STDIN:
		if (!ks->o.in || ks->stdin_done || n == 0)
			return 0;
		*ev = (struct kstream_event){.type = KSTREAM_EV_STDIN, .data = d, .len = n};
		return 1;
	case CH_RESIZE:
		buf_append(&ks->resize, d, n);
		return next_resize(ks, ev);
	case CH_CLOSE:
		/* v5: [255, channel] closes that channel; only stdin can be */
		if (ks->version >= 5 && n >= 1 && d[0] == CH_STDIN && ks->o.in && !ks->stdin_done) {
			ks->stdin_done = true;
			*ev = (struct kstream_event){.type = KSTREAM_EV_STDIN_EOF};
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- port-forward over WebSocket channels ---- */

static struct pf_conn *pf_by_handle(struct kstream *ks, uint32_t h)
{
	for (struct pf_conn *c = ks->conns; c; c = c->next)
		if (c->data_id == h)
			return c;
	return NULL;
}

static int ws_pf_message(struct kstream *ks, const struct ws_msg *m, struct kstream_event *ev)
{
	if (m->len < 2 || m->data[0] % 2 != 0)
		return 0;
	struct pf_conn *c = pf_by_handle(ks, m->data[0] / 2u);
	if (!c || c->closed)
		return 0;
	*ev = (struct kstream_event){.type = KSTREAM_EV_PF_DATA,
				     .stream = c->data_id,
				     .data = m->data + 1,
				     .len = m->len - 1};
	return 1;
}

/* ---- SPDY ---- */

static enum stream_role role_of(const char *type)
{
	static const struct {
		const char *name;
		enum stream_role role;
	} roles[] = {{"error", ROLE_ERROR},
		     {"stdin", ROLE_STDIN},
		     {"stdout", ROLE_STDOUT},
		     {"stderr", ROLE_STDERR},
		     {"resize", ROLE_RESIZE}};
	for (size_t i = 0; type && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(type, roles[i].name) == 0)
			return roles[i].role;
	return ROLE_NONE;
}

static void spdy_reply(struct kstream *ks, uint32_t id)
{
	spdy_put_syn_reply(ks->spdy, spdy_out(ks), id, 0, NULL, 0);
}

static void owe(struct kstream *ks, enum kstream_event_type type, uint32_t stream)
{
	ks->pending = (struct kstream_event){.type = type, .stream = stream};
	ks->has_pending = true;
}

static int spdy_exec_frame(struct kstream *ks, const struct spdy_frame *f, struct kstream_event *ev)
{
	uint32_t in = ks->sid[ROLE_STDIN];
	switch (f->type) {
	case SPDY_SYN_STREAM: {
		enum stream_role r = role_of(spdy_frame_header(f, "streamtype"));
		spdy_reply(ks, f->stream_id);
		if (r == ROLE_NONE || ks->sid[r])
			return 0;
		ks->sid[r] = f->stream_id;
		ks->received++;
		if (r == ROLE_STDIN && (f->flags & SPDY_FLAG_FIN)) {
			ks->stdin_done = true;
			ks->stdin_eof_owed = true;
		}
		if (!ks->ready_sent && ks->received >= ks->expected) {
			ks->ready_sent = true;
			if (ks->stdin_eof_owed)
				owe(ks, KSTREAM_EV_STDIN_EOF, 0);
			*ev = (struct kstream_event){.type = KSTREAM_EV_READY};
			return 1;
		}
		return 0;
	}
	case SPDY_DATA:
		if (in && f->stream_id == in && !ks->stdin_done) {
			bool fin = f->flags & SPDY_FLAG_FIN;
			ks->stdin_done = fin;
			if (f->len == 0 && !fin)
				return 0;
			if (f->len == 0) {
				*ev = (struct kstream_event){.type = KSTREAM_EV_STDIN_EOF};
				return 1;
			}
			*ev = (struct kstream_event){
				.type = KSTREAM_EV_STDIN, .data = f->data, .len = f->len};
			if (fin)
				owe(ks, KSTREAM_EV_STDIN_EOF, 0);
			return 1;
		}
		if (ks->sid[ROLE_RESIZE] && f->stream_id == ks->sid[ROLE_RESIZE]) {
			buf_append(&ks->resize, f->data, f->len);
			return next_resize(ks, ev);
		}
		return 0;
	case SPDY_RST_STREAM:
		if (in && f->stream_id == in && !ks->stdin_done) {
			ks->stdin_done = true;
			*ev = (struct kstream_event){.type = KSTREAM_EV_STDIN_EOF};
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

static struct pf_conn *pf_by_request(struct kstream *ks, const char *id)
{
	for (struct pf_conn *c = ks->conns; c; c = c->next)
		if (strcmp(c->request_id, id) == 0)
			return c;
	return NULL;
}

static struct pf_conn *pf_by_stream(struct kstream *ks, uint32_t id)
{
	for (struct pf_conn *c = ks->conns; c; c = c->next)
		if (c->data_id == id || c->error_id == id)
			return c;
	return NULL;
}

static void pf_unlink(struct kstream *ks, struct pf_conn *gone)
{
	for (struct pf_conn **p = &ks->conns; *p; p = &(*p)->next) {
		if (*p == gone) {
			*p = gone->next;
			pf_free(gone);
			return;
		}
	}
}

static int spdy_pf_frame(struct kstream *ks, const struct spdy_frame *f, struct kstream_event *ev)
{
	switch (f->type) {
	case SPDY_SYN_STREAM: {
		const char *port_s = spdy_frame_header(f, "port");
		const char *type = spdy_frame_header(f, "streamtype");
		char *end = NULL;
		unsigned long port = port_s ? strtoul(port_s, &end, 10) : 0;
		bool is_data = type && strcmp(type, "data") == 0;
		bool is_error = type && strcmp(type, "error") == 0;
		if (!port_s || !*port_s || *end || port < 1 || port > 65535 ||
		    !(is_data || is_error)) {
			/* upstream resets streams its handler refuses */
			spdy_put_rst_stream(spdy_out(ks), f->stream_id, SPDY_RST_CANCEL);
			return 0;
		}
		spdy_reply(ks, f->stream_id);
		const char *rid = spdy_frame_header(f, "requestid");
		char derived[16];
		if (!rid || !*rid) {
			/* clients older than request ids: the data stream follows
			 * its error stream by 2, as upstream guesses */
			snprintf(derived, sizeof(derived), "%u",
				 is_error ? f->stream_id : f->stream_id - 2);
			rid = derived;
		}
		struct pf_conn *c = pf_by_request(ks, rid);
		if (!c) {
			c = xcalloc(1, sizeof(*c));
			c->request_id = xstrdup(rid);
			c->port = (uint16_t)port;
			c->next = ks->conns;
			ks->conns = c;
		}
		uint32_t *slot = is_data ? &c->data_id : &c->error_id;
		if (*slot) {
			struct buf m = BUF_INIT;
			buf_printf(&m,
				   "error processing stream for request %s: %s stream already "
				   "assigned",
				   rid, is_data ? "data" : "error");
			if (c->error_id)
				spdy_data(ks, c->error_id, 0, m.data, m.len);
			buf_free(&m);
			spdy_put_rst_stream(spdy_out(ks), f->stream_id, SPDY_RST_CANCEL);
			return 0;
		}
		*slot = f->stream_id;
		if (is_data && (f->flags & SPDY_FLAG_FIN))
			c->client_done = true;
		if (c->data_id && c->error_id && !c->open) {
			c->open = true;
			if (c->client_done)
				owe(ks, KSTREAM_EV_PF_EOF, c->data_id);
			*ev = (struct kstream_event){
				.type = KSTREAM_EV_PF_OPEN, .stream = c->data_id, .port = c->port};
			return 1;
		}
		return 0;
	}
	case SPDY_DATA: {
		struct pf_conn *c = pf_by_stream(ks, f->stream_id);
		if (!c || f->stream_id != c->data_id || !c->open || c->client_done)
			return 0;
		bool fin = f->flags & SPDY_FLAG_FIN;
		uint32_t h = c->data_id;
		if (fin) {
			c->client_done = true;
			if (c->closed) {
				/* both sides are done: nothing left to report */
				pf_unlink(ks, c);
				return 0;
			}
		}
		if (f->len == 0) {
			if (!fin)
				return 0;
			*ev = (struct kstream_event){.type = KSTREAM_EV_PF_EOF, .stream = h};
			return 1;
		}
		*ev = (struct kstream_event){
			.type = KSTREAM_EV_PF_DATA, .stream = h, .data = f->data, .len = f->len};
		if (fin)
			owe(ks, KSTREAM_EV_PF_EOF, h);
		return 1;
	}
	case SPDY_RST_STREAM: {
		struct pf_conn *c = pf_by_stream(ks, f->stream_id);
		if (!c || f->stream_id != c->data_id)
			return 0;
		bool report = c->open && !c->closed;
		uint32_t h = c->data_id;
		c->client_done = true;
		if (!report) {
			pf_unlink(ks, c);
			return 0;
		}
		*ev = (struct kstream_event){.type = KSTREAM_EV_PF_RESET, .stream = h};
		return 1;
	}
	default:
		return 0;
	}
}

static int spdy_frame_event(struct kstream *ks, const struct spdy_frame *f,
			    struct kstream_event *ev)
{
	if (f->type == SPDY_SYN_STREAM) {
		/* client streams are odd and increasing */
		if (f->stream_id % 2 == 0 || f->stream_id <= ks->last_client_id) {
			spdy_put_rst_stream(spdy_out(ks), f->stream_id, SPDY_RST_PROTOCOL_ERROR);
			return 0;
		}
		ks->last_client_id = f->stream_id;
	}
	if (f->type == SPDY_PING) {
		/* echo the client's (odd) pings; ours would be even */
		if (f->ping_id % 2 == 1)
			spdy_put_ping(spdy_out(ks), f->ping_id);
		return 0;
	}
	if (f->type == SPDY_GOAWAY)
		return closed_event(ks, ev);
	return ks->kind == KSTREAM_EXEC ? spdy_exec_frame(ks, f, ev) : spdy_pf_frame(ks, f, ev);
}

static int spdy_next_event(struct kstream *ks, struct kstream_event *ev, struct mk_err **err)
{
	for (;;) {
		struct spdy_frame f;
		int r = spdy_next(ks->spdy, &f, err);
		if (r < 0) {
			spdy_put_goaway(spdy_out(ks), ks->last_client_id,
					SPDY_GOAWAY_PROTOCOL_ERROR);
			return -1;
		}
		if (r == 0)
			return 0;
		r = spdy_frame_event(ks, &f, ev);
		if (r)
			return r;
	}
}

int kstream_next(struct kstream *ks, struct kstream_event *ev, struct mk_err **err)
{
	int r = 0;
	if (ks->failed)
		return mk_err_set(err, MK_EINVAL, "stream session failed earlier");
	if (ks->closed_reported)
		return 0;

	if (ks->has_pending) {
		ks->has_pending = false;
		*ev = ks->pending;
		return 1;
	}
	if (ks->resize.len && next_resize(ks, ev))
		return 1;

	if (ks->transport == KSTREAM_SPDY) {
		r = spdy_next_event(ks, ev, err);
		if (r < 0)
			ks->failed = true;
		return r;
	}

	for (;;) {
		if (ks->transport == KSTREAM_SPDY_OVER_WEBSOCKET) {
			r = spdy_next_event(ks, ev, err);
			spdy_flush(ks);
			if (r < 0) {
				out_ws_close(ks, WS_CLOSE_PROTOCOL);
				ks->failed = true;
			}
			if (r != 0)
				return r;
		}
		struct ws_msg m;
		int code = 0;
		r = ws_conn_parse(ks->ws, &m, &code, err);
		if (r < 0) {
			out_ws_close(ks, code ? code : WS_CLOSE_PROTOCOL);
			ks->failed = true;
			return -1;
		}
		if (r == 0)
			return 0;
		switch (m.opcode) {
		case WS_OP_PING:
			out_ws(ks, WS_OP_PONG, m.data, m.len, NULL, 0);
			continue;
		case WS_OP_PONG:
			continue;
		case WS_OP_CLOSE:
			if (!ks->finished)
				out_ws_close(ks, m.close_code == WS_CLOSE_NO_STATUS
							 ? WS_CLOSE_NORMAL
							 : m.close_code);
			ks->finished = true;
			return closed_event(ks, ev);
		case WS_OP_TEXT:
			/* the channel protocols are binary; a text message is
			 * ignored, as upstream's binary codec does */
			continue;
		default:
			break;
		}
		if (ks->transport == KSTREAM_SPDY_OVER_WEBSOCKET) {
			spdy_feed(ks->spdy, m.data, m.len);
			continue;
		}
		r = ks->kind == KSTREAM_EXEC ? ws_exec_message(ks, &m, ev)
					     : ws_pf_message(ks, &m, ev);
		if (r)
			return r;
	}
}

/* ---- output ---- */

void kstream_exec_write(struct kstream *ks, int channel, const void *data, size_t len)
{
	if (ks->finished || len == 0)
		return;
	bool want = channel == CH_STDOUT ? ks->o.out : channel == CH_STDERR ? ks->o.err : false;
	if (!want)
		return;
	if (ks->transport == KSTREAM_WEBSOCKET) {
		out_channel(ks, (uint8_t)channel, data, len);
		return;
	}
	uint32_t id = ks->sid[channel == CH_STDOUT ? ROLE_STDOUT : ROLE_STDERR];
	if (id) {
		spdy_data(ks, id, 0, data, len);
		spdy_flush(ks);
	}
}

void kstream_exec_finish(struct kstream *ks, const json_t *status)
{
	if (ks->finished)
		return;
	const char *st = json_string_value(json_object_get(status, "status"));
	bool success = st && strcmp(st, "Success") == 0;
	cleanup_free char *text = NULL;
	if (ks->version >= 4)
		text = json_dumps(status, JSON_COMPACT | JSON_PRESERVE_ORDER);
	else if (!success)
		text = xstrdup(json_string_value(json_object_get(status, "message"))
				       ? json_string_value(json_object_get(status, "message"))
				       : "error");
	if (ks->transport == KSTREAM_WEBSOCKET) {
		if (text)
			out_channel(ks, CH_ERROR, text, strlen(text));
		out_ws_close(ks, WS_CLOSE_NORMAL);
	} else {
		if (text && ks->sid[ROLE_ERROR])
			spdy_data(ks, ks->sid[ROLE_ERROR], 0, text, strlen(text));
		static const enum stream_role ours[] = {ROLE_STDOUT, ROLE_STDERR, ROLE_ERROR};
		for (size_t i = 0; i < 3; i++)
			if (ks->sid[ours[i]])
				spdy_put_data(spdy_out(ks), ks->sid[ours[i]], SPDY_FLAG_FIN, NULL,
					      0);
		spdy_put_goaway(spdy_out(ks), ks->last_client_id, SPDY_GOAWAY_OK);
		spdy_flush(ks);
		if (ks->transport == KSTREAM_SPDY_OVER_WEBSOCKET)
			out_ws_close(ks, WS_CLOSE_NORMAL);
	}
	ks->finished = true;
}

void kstream_pf_write(struct kstream *ks, uint32_t stream, const void *data, size_t len)
{
	struct pf_conn *c = pf_by_handle(ks, stream);
	if (!c || c->closed || ks->finished || len == 0)
		return;
	if (ks->transport == KSTREAM_WEBSOCKET) {
		/* messages of at most 32 KiB keep the client's reads small */
		const uint8_t *p = data;
		while (len > 0) {
			size_t n = len > 32768 ? 32768 : len;
			out_channel(ks, (uint8_t)(2 * c->data_id), p, n);
			p += n;
			len -= n;
		}
		return;
	}
	spdy_data(ks, c->data_id, 0, data, len);
	spdy_flush(ks);
}

void kstream_pf_close(struct kstream *ks, uint32_t stream, const char *error)
{
	struct pf_conn *c = pf_by_handle(ks, stream);
	if (!c || c->closed || ks->finished)
		return;
	c->closed = true;
	if (ks->transport == KSTREAM_WEBSOCKET) {
		if (error)
			out_channel(ks, (uint8_t)(2 * c->data_id + 1), error, strlen(error));
		bool all = true;
		for (struct pf_conn *k = ks->conns; k; k = k->next)
			all = all && k->closed;
		if (all) {
			out_ws_close(ks, WS_CLOSE_NORMAL);
			ks->finished = true;
		}
		return;
	}
	if (error && c->error_id)
		spdy_data(ks, c->error_id, 0, error, strlen(error));
	if (c->error_id)
		spdy_put_data(spdy_out(ks), c->error_id, SPDY_FLAG_FIN, NULL, 0);
	spdy_put_data(spdy_out(ks), c->data_id, SPDY_FLAG_FIN, NULL, 0);
	spdy_flush(ks);
	if (c->client_done)
		pf_unlink(ks, c);
}

/* ---- statuses ---- */

json_t *kstream_status_success(void)
{
	return json_pack("{s:{},s:s}", "metadata", "status", "Success");
}

json_t *kstream_status_exit(const char *const *argv, int exit_code)
{
	struct buf cmd = BUF_INIT;
	for (size_t i = 0; argv && argv[i]; i++)
		buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
	char code[16];
	snprintf(code, sizeof(code), "%d", exit_code);
	char *msg = xasprintf("command terminated with non-zero exit code: error executing command "
			      "[%s], exit code %d",
			      buf_str(&cmd), exit_code);
	buf_free(&cmd);
	json_t *j = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status",
			      "Failure", "message", msg, "reason", "NonZeroExitCode", "details",
			      "causes", "reason", "ExitCode", "message", code);
	free(msg);
	return j;
}

json_t *kstream_status_internal(const char *msg)
{
	char *full = xasprintf("Internal error occurred: %s", msg);
	json_t *j = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s}]},s:i}", "metadata", "status",
			      "Failure", "message", full, "reason", "InternalError", "details",
			      "causes", "message", msg, "code", 500);
	free(full);
	return j;
}
