/* kstream: the handshakes and messages of upstream's kubelet for exec and
 * port-forward over WebSocket channels, SPDY and SPDY inside WebSocket,
 * driven the way kubectl drives them (client frames built with the client
 * sides of lib/websocket and lib/spdy) and read back the same way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "kstream.h"
#include "spdy.h"
#include "websocket.h"

/* ---- request headers ---- */

struct hdrs {
	const char *names[8];
	const char *values[8];
};

static const char *hdr_get(void *arg, const char *name)
{
	struct hdrs *h = arg;
	for (int i = 0; i < 8 && h->names[i]; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return h->values[i];
	return NULL;
}

static struct hdrs ws_request(const char *protocols)
{
	return (struct hdrs){
		.names = {"Upgrade", "Connection", "Sec-WebSocket-Version", "Sec-WebSocket-Key",
			  "Sec-WebSocket-Protocol"},
		.values = {"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==", protocols},
	};
}

static struct hdrs spdy_request(const char *versions)
{
	return (struct hdrs){
		.names = {"Upgrade", "Connection", "X-Stream-Protocol-Version"},
		.values = {"SPDY/3.1", "Upgrade", versions},
	};
}

static const char *answer_header(const struct kstream_answer *a, const char *name)
{
	for (size_t i = 0; i < a->n_headers; i++)
		if (strcmp(a->headers[i].name, name) == 0)
			return a->headers[i].value;
	return NULL;
}

static void test_handshakes(void **state)
{
	(void)state;
	struct kstream_answer a;
	struct mk_err *err = NULL;

	struct hdrs h = ws_request("v5.channel.k8s.io");
	assert_true(kstream_is_upgrade(hdr_get, &h));
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "GET", hdr_get, &h, &a, &err), 0);
	assert_int_equal(a.code, 101);
	assert_int_equal(a.transport, KSTREAM_WEBSOCKET);
	assert_int_equal(a.version, 5);
	assert_string_equal(answer_header(&a, "Upgrade"), "websocket");
	assert_string_equal(answer_header(&a, "Sec-WebSocket-Accept"),
			    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_string_equal(answer_header(&a, "Sec-WebSocket-Protocol"), "v5.channel.k8s.io");
	kstream_answer_clear(&a);

	h = ws_request("v4.channel.k8s.io");
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "GET", hdr_get, &h, &a, &err), 0);
	assert_int_equal(a.version, 4);
	kstream_answer_clear(&a);

	/* no subprotocol: the unversioned channel protocol, nothing echoed */
	h = ws_request(NULL);
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "GET", hdr_get, &h, &a, &err), 0);
	assert_int_equal(a.version, 1);
	assert_string_equal(a.protocol, "");
	assert_null(answer_header(&a, "Sec-WebSocket-Protocol"));
	kstream_answer_clear(&a);

	h = ws_request("SPDY/3.1+portforward.k8s.io");
	assert_int_equal(kstream_handshake(KSTREAM_PORTFORWARD, "GET", hdr_get, &h, &a, &err), 0);
	assert_int_equal(a.transport, KSTREAM_SPDY_OVER_WEBSOCKET);
	assert_string_equal(answer_header(&a, "Sec-WebSocket-Protocol"),
			    "SPDY/3.1+portforward.k8s.io");
	kstream_answer_clear(&a);

	/* the tunnel is for port-forward only */
	h = ws_request("SPDY/3.1+portforward.k8s.io");
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "GET", hdr_get, &h, &a, &err), -1);
	assert_int_equal(a.code, 400);
	assert_string_equal(
		mk_err_msg(err),
		"requested protocol(s) are not supported: [SPDY/3.1+portforward.k8s.io]; "
		"supports [v5.channel.k8s.io v4.channel.k8s.io channel.k8s.io ]");
	mk_err_free(err);
	err = NULL;
	kstream_answer_clear(&a);

	h = ws_request("v5.channel.k8s.io");
	h.values[2] = "8";
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "GET", hdr_get, &h, &a, &err), -1);
	assert_int_equal(a.code, 426);
	assert_string_equal(answer_header(&a, "Sec-WebSocket-Version"), "13");
	mk_err_free(err);
	err = NULL;
	kstream_answer_clear(&a);

	/* SPDY: the client's first supported version (kubectl lists v5 first,
	 * which upstream's kubelet does not speak over SPDY) */
	h = spdy_request("v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, "
			 "v2.channel.k8s.io, channel.k8s.io");
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "POST", hdr_get, &h, &a, &err), 0);
	assert_int_equal(a.transport, KSTREAM_SPDY);
	assert_int_equal(a.version, 4);
	assert_string_equal(answer_header(&a, "Upgrade"), "SPDY/3.1");
	assert_string_equal(answer_header(&a, "X-Stream-Protocol-Version"), "v4.channel.k8s.io");
	kstream_answer_clear(&a);

	h = spdy_request("portforward.k8s.io");
	assert_int_equal(kstream_handshake(KSTREAM_PORTFORWARD, "POST", hdr_get, &h, &a, &err), 0);
	assert_string_equal(a.protocol, "portforward.k8s.io");
	kstream_answer_clear(&a);

	h = spdy_request(NULL);
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "POST", hdr_get, &h, &a, &err), -1);
	assert_int_equal(a.code, 400);
	assert_string_equal(mk_err_msg(err),
			    "unable to upgrade: X-Stream-Protocol-Version is required");
	mk_err_free(err);
	err = NULL;
	kstream_answer_clear(&a);

	h = spdy_request("v9.channel.k8s.io,bogus");
	assert_int_equal(kstream_handshake(KSTREAM_EXEC, "POST", hdr_get, &h, &a, &err), -1);
	assert_int_equal(a.code, 403);
	assert_string_equal(mk_err_msg(err),
			    "unable to upgrade: unable to negotiate protocol: client supports "
			    "[v9.channel.k8s.io bogus], server accepts [v4.channel.k8s.io "
			    "v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]");
	assert_int_equal(a.n_headers, 4);
	assert_string_equal(a.headers[0].name, "X-Accepted-Stream-Protocol-Versions");
	mk_err_free(err);
	err = NULL;
	kstream_answer_clear(&a);

	h = spdy_request("portforward.k8s.io");
	h.values[0] = NULL;
	h.names[0] = "X-Nothing";
	assert_int_equal(kstream_handshake(KSTREAM_PORTFORWARD, "POST", hdr_get, &h, &a, &err), -1);
	assert_int_equal(a.code, 400);
	assert_string_equal(mk_err_msg(err),
			    "unable to upgrade: missing upgrade headers in request");
	mk_err_free(err);
	kstream_answer_clear(&a);
}

/* ---- a client reading the server's output ---- */

struct client {
	struct ws_conn *ws; /* WebSocket transports */
	struct spdy *spdy;  /* SPDY transports (the client's codec) */
	struct buf wire;    /* bytes to feed the server */
};

static void client_init(struct client *c, enum kstream_transport t)
{
	*c = (struct client){.wire = BUF_INIT};
	if (t != KSTREAM_SPDY)
		c->ws = ws_conn_new(-1, WS_CLIENT, 0, NULL, 0);
	if (t != KSTREAM_WEBSOCKET)
		c->spdy = spdy_new();
}

static void client_free(struct client *c)
{
	ws_conn_free(c->ws);
	spdy_free(c->spdy);
	buf_free(&c->wire);
}

static const uint8_t mask[4] = {1, 2, 3, 4};

static void client_ws(struct client *c, enum ws_opcode op, const void *data, size_t len)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	ws_frame_encode(&c->wire, op, false, mask, &iov, 1);
}

static void client_channel(struct client *c, uint8_t ch, const char *text)
{
	struct iovec iov[2] = {{.iov_base = &ch, .iov_len = 1},
			       {.iov_base = (void *)text, .iov_len = strlen(text)}};
	ws_frame_encode(&c->wire, WS_OP_BINARY, false, mask, iov, 2);
}

/* Moves the client's wire bytes into the server. */
static void send_to(struct client *c, struct kstream *ks)
{
	kstream_feed(ks, c->wire.data, c->wire.len);
	buf_reset(&c->wire);
}

/* Drains the server's output into the client's decoder(s). */
static void recv_from(struct client *c, struct kstream *ks)
{
	size_t n = kstream_out_len(ks);
	if (c->ws)
		ws_conn_feed(c->ws, kstream_out_data(ks), n);
	else
		spdy_feed(c->spdy, kstream_out_data(ks), n);
	kstream_out_consume(ks, n);
}

/* The next WebSocket message the server sent; fails if none. */
static struct ws_msg ws_expect(struct client *c)
{
	struct ws_msg m;
	int code;
	struct mk_err *err = NULL;
	if (ws_conn_parse(c->ws, &m, &code, &err) != 1)
		fail_msg("no message from the server (%s)", err ? mk_err_msg(err) : "need more");
	return m;
}

static void ws_expect_channel(struct client *c, uint8_t ch, const char *text)
{
	struct ws_msg m = ws_expect(c);
	assert_int_equal(m.opcode, WS_OP_BINARY);
	assert_true(m.len >= 1);
	assert_int_equal(m.data[0], ch);
	assert_int_equal(m.len - 1, strlen(text));
	assert_memory_equal(m.data + 1, text, strlen(text));
}

static void ws_expect_none(struct client *c)
{
	struct ws_msg m;
	int code;
	struct mk_err *err = NULL;
	assert_int_equal(ws_conn_parse(c->ws, &m, &code, &err), 0);
}

/* The next SPDY frame from the server (through the tunnel when the client
 * has a WebSocket side). */
static struct spdy_frame spdy_expect(struct client *c)
{
	struct spdy_frame f;
	struct mk_err *err = NULL;
	for (;;) {
		int r = spdy_next(c->spdy, &f, &err);
		if (r == 1)
			return f;
		if (r < 0)
			fail_msg("bad SPDY from the server: %s", mk_err_msg(err));
		if (!c->ws)
			fail_msg("no SPDY frame from the server");
		struct ws_msg m = ws_expect(c);
		assert_int_equal(m.opcode, WS_OP_BINARY);
		spdy_feed(c->spdy, m.data, m.len);
	}
}

static struct kstream_event expect_event(struct kstream *ks, enum kstream_event_type type)
{
	struct kstream_event ev;
	struct mk_err *err = NULL;
	int r = kstream_next(ks, &ev, &err);
	if (r != 1)
		fail_msg("no event %d (got %d: %s)", type, r, err ? mk_err_msg(err) : "");
	if (ev.type != type)
		fail_msg("event %d, expected %d", ev.type, type);
	return ev;
}

static void expect_no_event(struct kstream *ks)
{
	struct kstream_event ev;
	struct mk_err *err = NULL;
	int r = kstream_next(ks, &ev, &err);
	if (r != 0)
		fail_msg("unexpected event %d (r %d)", r == 1 ? (int)ev.type : -1, r);
}

static struct kstream *open_session(enum kstream_kind kind, struct hdrs *h,
				    const struct kstream_exec_opts *o, const uint16_t *ports,
				    size_t n)
{
	struct kstream_answer a;
	struct mk_err *err = NULL;
	assert_int_equal(
		kstream_handshake(kind,
				  h->names[3] && strcmp(h->names[3], "Sec-WebSocket-Key") == 0
					  ? "GET"
					  : "POST",
				  hdr_get, h, &a, &err),
		0);
	struct kstream *ks = kstream_new(kind, &a, o, ports, n);
	kstream_answer_clear(&a);
	return ks;
}

/* ---- exec over WebSocket ---- */

static void test_ws_exec_v5(void **state)
{
	(void)state;
	struct hdrs h = ws_request("v5.channel.k8s.io");
	struct kstream_exec_opts o = {.in = true, .out = true, .err = true};
	struct kstream *ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	struct client c;
	client_init(&c, KSTREAM_WEBSOCKET);

	/* the greeting: an empty stdout message */
	recv_from(&c, ks);
	ws_expect_channel(&c, 1, "");

	expect_event(ks, KSTREAM_EV_READY);
	client_channel(&c, 0, "some input\n");
	client_channel(&c, 4, "{\"Width\":80,");
	client_ws(&c, WS_OP_PING, "p", 1);
	client_channel(&c, 4, "\"Height\":24}\n{\"Width\":100,\"Height\":50}");
	client_channel(&c, 7, "ignored");
	client_ws(&c, WS_OP_BINARY, "\xff\x00", 2);
	client_channel(&c, 0, "after close");
	send_to(&c, ks);

	struct kstream_event ev = expect_event(ks, KSTREAM_EV_STDIN);
	assert_int_equal(ev.len, 11);
	assert_memory_equal(ev.data, "some input\n", 11);
	ev = expect_event(ks, KSTREAM_EV_RESIZE);
	assert_int_equal(ev.width, 80);
	assert_int_equal(ev.height, 24);
	ev = expect_event(ks, KSTREAM_EV_RESIZE);
	assert_int_equal(ev.width, 100);
	assert_int_equal(ev.height, 50);
	expect_event(ks, KSTREAM_EV_STDIN_EOF);
	expect_no_event(ks);

	/* the ping was answered */
	recv_from(&c, ks);
	struct ws_msg m = ws_expect(&c);
	assert_int_equal(m.opcode, WS_OP_PONG);
	assert_int_equal(m.len, 1);

	kstream_exec_write(ks, 1, "out", 3);
	kstream_exec_write(ks, 2, "err", 3);
	json_t *st = kstream_status_exit((const char *const[]){"sh", "-c", "exit 3", NULL}, 3);
	kstream_exec_finish(ks, st);
	json_decref(st);
	assert_true(kstream_finished(ks));
	/* nothing after the end */
	kstream_exec_write(ks, 1, "late", 4);

	recv_from(&c, ks);
	ws_expect_channel(&c, 1, "out");
	ws_expect_channel(&c, 2, "err");
	ws_expect_channel(
		&c, 3,
		"{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated "
		"with non-zero exit code: error executing command [sh -c exit 3], exit "
		"code 3\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{"
		"\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
	m = ws_expect(&c);
	assert_int_equal(m.opcode, WS_OP_CLOSE);
	assert_int_equal(m.close_code, 1000);
	ws_expect_none(&c);

	/* the client's close answer ends the session */
	uint8_t cp[2] = {0x03, 0xe8};
	client_ws(&c, WS_OP_CLOSE, cp, 2);
	send_to(&c, ks);
	expect_event(ks, KSTREAM_EV_CLOSED);
	expect_no_event(ks);
	client_free(&c);
	kstream_free(ks);
}

static void test_ws_exec_tty_and_v1(void **state)
{
	(void)state;
	/* v4 with a tty: no stderr channel, the stdin close signal is v5's */
	struct hdrs h = ws_request("v4.channel.k8s.io");
	struct kstream_exec_opts o = {.in = true, .out = true, .err = true, .tty = true};
	struct kstream *ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	struct client c;
	client_init(&c, KSTREAM_WEBSOCKET);
	expect_event(ks, KSTREAM_EV_READY);
	client_ws(&c, WS_OP_BINARY, "\xff\x00", 2);
	send_to(&c, ks);
	expect_no_event(ks);
	kstream_exec_write(ks, 2, "dropped", 7);
	json_t *st = kstream_status_success();
	kstream_exec_finish(ks, st);
	json_decref(st);
	recv_from(&c, ks);
	ws_expect_channel(&c, 1, "");
	ws_expect_channel(&c, 3, "{\"metadata\":{},\"status\":\"Success\"}");
	assert_int_equal(ws_expect(&c).opcode, WS_OP_CLOSE);
	client_free(&c);
	kstream_free(ks);

	/* channel.k8s.io: the error channel carries a failure's message only */
	h = ws_request("channel.k8s.io");
	o = (struct kstream_exec_opts){.out = false, .err = true};
	ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	client_init(&c, KSTREAM_WEBSOCKET);
	st = kstream_status_internal("error executing command in container: boom");
	kstream_exec_finish(ks, st);
	json_decref(st);
	recv_from(&c, ks);
	ws_expect_channel(&c, 2, "");
	ws_expect_channel(&c, 3,
			  "Internal error occurred: error executing command in container: boom");
	assert_int_equal(ws_expect(&c).opcode, WS_OP_CLOSE);
	client_free(&c);
	kstream_free(ks);

	ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	client_init(&c, KSTREAM_WEBSOCKET);
	st = kstream_status_success();
	kstream_exec_finish(ks, st);
	json_decref(st);
	recv_from(&c, ks);
	ws_expect_channel(&c, 2, "");
	assert_int_equal(ws_expect(&c).opcode, WS_OP_CLOSE);
	client_free(&c);
	kstream_free(ks);
}

static void test_ws_violation(void **state)
{
	(void)state;
	struct hdrs h = ws_request("v5.channel.k8s.io");
	struct kstream_exec_opts o = {.out = true};
	struct kstream *ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	kstream_out_consume(ks, kstream_out_len(ks));
	expect_event(ks, KSTREAM_EV_READY);
	/* an unmasked client frame */
	kstream_feed(ks, "\x82\x02\x00x", 4);
	struct kstream_event ev;
	struct mk_err *err = NULL;
	assert_int_equal(kstream_next(ks, &ev, &err), -1);
	mk_err_free(err);
	assert_int_equal(kstream_out_len(ks), 4);
	assert_memory_equal(kstream_out_data(ks), "\x88\x02\x03\xea", 4);
	kstream_free(ks);
}

/* ---- exec over SPDY ---- */

static void client_syn(struct client *c, uint32_t id, uint8_t flags, const char *type,
		       const char *port, const char *request_id)
{
	struct spdy_header hs[3];
	size_t n = 0;
	hs[n++] = (struct spdy_header){
		.name = "streamType", .value = type, .value_len = strlen(type)};
	if (port)
		hs[n++] = (struct spdy_header){
			.name = "port", .value = port, .value_len = strlen(port)};
	if (request_id)
		hs[n++] = (struct spdy_header){
			.name = "requestID", .value = request_id, .value_len = strlen(request_id)};
	struct buf raw = BUF_INIT;
	spdy_put_syn_stream(c->spdy, &raw, id, flags, hs, n);
	if (c->ws)
		client_ws(c, WS_OP_BINARY, raw.data, raw.len);
	else
		buf_append(&c->wire, raw.data, raw.len);
	buf_free(&raw);
}

static void client_spdy_raw(struct client *c, const struct buf *raw)
{
	if (c->ws)
		client_ws(c, WS_OP_BINARY, raw->data, raw->len);
	else
		buf_append(&c->wire, raw->data, raw->len);
}

static void client_data(struct client *c, uint32_t id, uint8_t flags, const char *text)
{
	struct buf raw = BUF_INIT;
	spdy_put_data(&raw, id, flags, text, strlen(text));
	client_spdy_raw(c, &raw);
	buf_free(&raw);
}

static void expect_reply(struct client *c, uint32_t id)
{
	struct spdy_frame f = spdy_expect(c);
	assert_int_equal(f.type, SPDY_SYN_REPLY);
	assert_int_equal(f.stream_id, id);
}

static void expect_data(struct client *c, uint32_t id, uint8_t flags, const char *text)
{
	struct spdy_frame f = spdy_expect(c);
	assert_int_equal(f.type, SPDY_DATA);
	assert_int_equal(f.stream_id, id);
	assert_int_equal(f.flags, flags);
	assert_int_equal(f.len, strlen(text));
	assert_memory_equal(f.data, text, f.len);
}

static void test_spdy_exec_v4(void **state)
{
	(void)state;
	struct hdrs h = spdy_request("v4.channel.k8s.io");
	struct kstream_exec_opts o = {.in = true, .out = true, .err = true};
	struct kstream *ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	struct client c;
	client_init(&c, KSTREAM_SPDY);

	client_syn(&c, 1, 0, "error", NULL, NULL);
	client_syn(&c, 3, 0, "stdin", NULL, NULL);
	client_syn(&c, 5, 0, "stdout", NULL, NULL);
	send_to(&c, ks);
	expect_no_event(ks);
	client_syn(&c, 7, 0, "stderr", NULL, NULL);
	client_data(&c, 3, 0, "abc");
	client_data(&c, 3, SPDY_FLAG_FIN, "def");
	struct buf raw = BUF_INIT;
	spdy_put_ping(&raw, 1);
	client_spdy_raw(&c, &raw);
	buf_free(&raw);
	send_to(&c, ks);
	expect_event(ks, KSTREAM_EV_READY);
	struct kstream_event ev = expect_event(ks, KSTREAM_EV_STDIN);
	assert_memory_equal(ev.data, "abc", 3);
	ev = expect_event(ks, KSTREAM_EV_STDIN);
	assert_memory_equal(ev.data, "def", 3);
	expect_event(ks, KSTREAM_EV_STDIN_EOF);
	expect_no_event(ks);

	kstream_exec_write(ks, 1, "hello\n", 6);
	json_t *st = kstream_status_exit((const char *const[]){"false", NULL}, 1);
	kstream_exec_finish(ks, st);
	json_decref(st);

	recv_from(&c, ks);
	for (uint32_t id = 1; id <= 7; id += 2)
		expect_reply(&c, id);
	struct spdy_frame f = spdy_expect(&c);
	assert_int_equal(f.type, SPDY_PING);
	assert_int_equal(f.ping_id, 1);
	expect_data(&c, 5, 0, "hello\n");
	expect_data(&c, 1, 0,
		    "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with "
		    "non-zero exit code: error executing command [false], exit code 1\",\"reason\":"
		    "\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
		    "\"message\":\"1\"}]}}");
	expect_data(&c, 5, SPDY_FLAG_FIN, "");
	expect_data(&c, 7, SPDY_FLAG_FIN, "");
	expect_data(&c, 1, SPDY_FLAG_FIN, "");
	f = spdy_expect(&c);
	assert_int_equal(f.type, SPDY_GOAWAY);
	assert_int_equal(f.last_good_id, 7);
	assert_true(kstream_finished(ks));
	client_free(&c);
	kstream_free(ks);
}

static void test_spdy_exec_tty_resize(void **state)
{
	(void)state;
	struct hdrs h = spdy_request("v4.channel.k8s.io");
	struct kstream_exec_opts o = {.in = true, .out = true, .err = true, .tty = true};
	struct kstream *ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	struct client c;
	client_init(&c, KSTREAM_SPDY);
	client_syn(&c, 1, 0, "error", NULL, NULL);
	client_syn(&c, 3, SPDY_FLAG_FIN, "stdin", NULL, NULL);
	client_syn(&c, 5, 0, "stdout", NULL, NULL);
	client_syn(&c, 7, 0, "resize", NULL, NULL);
	client_data(&c, 7, 0, "{\"Width\":132,\"Height\":40}\n");
	send_to(&c, ks);
	expect_event(ks, KSTREAM_EV_READY);
	expect_event(ks, KSTREAM_EV_STDIN_EOF);
	struct kstream_event ev = expect_event(ks, KSTREAM_EV_RESIZE);
	assert_int_equal(ev.width, 132);
	assert_int_equal(ev.height, 40);
	expect_no_event(ks);

	/* the client going away */
	struct buf raw = BUF_INIT;
	spdy_put_goaway(&raw, 0, SPDY_GOAWAY_OK);
	client_spdy_raw(&c, &raw);
	buf_free(&raw);
	send_to(&c, ks);
	expect_event(ks, KSTREAM_EV_CLOSED);
	expect_no_event(ks);
	client_free(&c);
	kstream_free(ks);

	/* a SPDY session error: GOAWAY with PROTOCOL_ERROR */
	ks = open_session(KSTREAM_EXEC, &h, &o, NULL, 0);
	kstream_feed(ks, "\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12);
	struct mk_err *err = NULL;
	assert_int_equal(kstream_next(ks, &ev, &err), -1);
	mk_err_free(err);
	client_init(&c, KSTREAM_SPDY);
	recv_from(&c, ks);
	struct spdy_frame f = spdy_expect(&c);
	assert_int_equal(f.type, SPDY_GOAWAY);
	assert_int_equal(f.status, SPDY_GOAWAY_PROTOCOL_ERROR);
	client_free(&c);
	kstream_free(ks);
}

/* ---- port-forward over SPDY, plain and tunneled ---- */

static void pf_spdy_session(enum kstream_transport t)
{
	struct hdrs h = t == KSTREAM_SPDY ? spdy_request("portforward.k8s.io")
					  : ws_request("SPDY/3.1+portforward.k8s.io");
	struct kstream *ks = open_session(KSTREAM_PORTFORWARD, &h, NULL, NULL, 0);
	struct client c;
	client_init(&c, t);

	/* request 0: error then data stream, as kubectl opens them */
	client_syn(&c, 1, SPDY_FLAG_FIN, "error", "80", "0");
	send_to(&c, ks);
	expect_no_event(ks);
	client_syn(&c, 3, 0, "data", "80", "0");
	client_data(&c, 3, 0, "GET / HTTP/1.0\r\n\r\n");
	/* request 1 on another port, and a refused stream */
	client_syn(&c, 5, SPDY_FLAG_FIN, "error", "8080", "1");
	client_syn(&c, 7, 0, "data", "8080", "1");
	client_syn(&c, 9, 0, "data", "0", "2");
	client_syn(&c, 11, 0, "bogus", "80", "3");
	send_to(&c, ks);
	struct kstream_event ev = expect_event(ks, KSTREAM_EV_PF_OPEN);
	assert_int_equal(ev.stream, 3);
	assert_int_equal(ev.port, 80);
	ev = expect_event(ks, KSTREAM_EV_PF_DATA);
	assert_int_equal(ev.stream, 3);
	assert_int_equal(ev.len, 18);
	ev = expect_event(ks, KSTREAM_EV_PF_OPEN);
	assert_int_equal(ev.stream, 7);
	assert_int_equal(ev.port, 8080);
	expect_no_event(ks);

	recv_from(&c, ks);
	expect_reply(&c, 1);
	expect_reply(&c, 3);
	expect_reply(&c, 5);
	expect_reply(&c, 7);
	struct spdy_frame f = spdy_expect(&c);
	assert_int_equal(f.type, SPDY_RST_STREAM);
	assert_int_equal(f.stream_id, 9);
	assert_int_equal(f.status, SPDY_RST_CANCEL);
	f = spdy_expect(&c);
	assert_int_equal(f.type, SPDY_RST_STREAM);
	assert_int_equal(f.stream_id, 11);

	/* the pod answers on request 0 and closes */
	kstream_pf_write(ks, 3, "HTTP/1.0 200 OK\r\n", 17);
	kstream_pf_close(ks, 3, NULL);
	/* request 1 fails */
	kstream_pf_close(ks, 7, "error forwarding port 8080 to pod x: connection refused");
	recv_from(&c, ks);
	expect_data(&c, 3, 0, "HTTP/1.0 200 OK\r\n");
	expect_data(&c, 1, SPDY_FLAG_FIN, "");
	expect_data(&c, 3, SPDY_FLAG_FIN, "");
	expect_data(&c, 5, 0, "error forwarding port 8080 to pod x: connection refused");
	expect_data(&c, 5, SPDY_FLAG_FIN, "");
	expect_data(&c, 7, SPDY_FLAG_FIN, "");

	/* the client ends request 0 (FIN, then RST as kubectl does): nothing
	 * to report, the pod side is closed already */
	client_data(&c, 3, SPDY_FLAG_FIN, "");
	struct buf raw = BUF_INIT;
	spdy_put_rst_stream(&raw, 3, SPDY_RST_CANCEL);
	client_spdy_raw(&c, &raw);
	buf_reset(&raw);
	send_to(&c, ks);
	expect_no_event(ks);

	/* request 2 without a requestID (an old client): data follows error */
	client_syn(&c, 13, 0, "error", "80", NULL);
	client_syn(&c, 15, 0, "data", "80", NULL);
	client_data(&c, 15, SPDY_FLAG_FIN, "bye");
	send_to(&c, ks);
	ev = expect_event(ks, KSTREAM_EV_PF_OPEN);
	assert_int_equal(ev.stream, 15);
	ev = expect_event(ks, KSTREAM_EV_PF_DATA);
	assert_int_equal(ev.len, 3);
	ev = expect_event(ks, KSTREAM_EV_PF_EOF);
	assert_int_equal(ev.stream, 15);

	/* request 3 is reset by the client while open */
	client_syn(&c, 17, 0, "error", "80", "3");
	client_syn(&c, 19, 0, "data", "80", "3");
	spdy_put_rst_stream(&raw, 19, SPDY_RST_CANCEL);
	client_spdy_raw(&c, &raw);
	buf_free(&raw);
	/* a stream id going backwards is refused */
	client_syn(&c, 3, 0, "data", "80", "9");
	send_to(&c, ks);
	expect_event(ks, KSTREAM_EV_PF_OPEN);
	ev = expect_event(ks, KSTREAM_EV_PF_RESET);
	assert_int_equal(ev.stream, 19);
	expect_no_event(ks);
	recv_from(&c, ks);
	for (uint32_t id = 13; id <= 19; id += 2)
		expect_reply(&c, id);
	f = spdy_expect(&c);
	assert_int_equal(f.type, SPDY_RST_STREAM);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.status, SPDY_RST_PROTOCOL_ERROR);
	assert_false(kstream_finished(ks));
	client_free(&c);
	kstream_free(ks);
}

static void test_spdy_portforward(void **state)
{
	(void)state;
	pf_spdy_session(KSTREAM_SPDY);
}

static void test_tunneled_portforward(void **state)
{
	(void)state;
	pf_spdy_session(KSTREAM_SPDY_OVER_WEBSOCKET);

	/* SPDY frames split across WebSocket messages are one byte stream */
	struct hdrs h = ws_request("SPDY/3.1+portforward.k8s.io");
	struct kstream *ks = open_session(KSTREAM_PORTFORWARD, &h, NULL, NULL, 0);
	struct client c;
	client_init(&c, KSTREAM_SPDY_OVER_WEBSOCKET);
	struct spdy_header hs[3] = {{.name = "streamtype", .value = "error", .value_len = 5},
				    {.name = "port", .value = "80", .value_len = 2},
				    {.name = "requestid", .value = "0", .value_len = 1}};
	struct buf raw = BUF_INIT;
	spdy_put_syn_stream(c.spdy, &raw, 1, SPDY_FLAG_FIN, hs, 3);
	hs[0].value = "data";
	hs[0].value_len = 4;
	spdy_put_syn_stream(c.spdy, &raw, 3, 0, hs, 3);
	spdy_put_data(&raw, 3, 0, "xyz", 3);
	for (size_t i = 0; i < raw.len; i += 5)
		client_ws(&c, WS_OP_BINARY, raw.data + i, raw.len - i < 5 ? raw.len - i : 5);
	client_ws(&c, WS_OP_PING, "", 0);
	buf_free(&raw);
	send_to(&c, ks);
	expect_event(ks, KSTREAM_EV_PF_OPEN);
	struct kstream_event ev = expect_event(ks, KSTREAM_EV_PF_DATA);
	assert_memory_equal(ev.data, "xyz", 3);
	expect_no_event(ks);
	recv_from(&c, ks);
	expect_reply(&c, 1);
	expect_reply(&c, 3);
	struct ws_msg m = ws_expect(&c);
	assert_int_equal(m.opcode, WS_OP_PONG);
	client_free(&c);
	kstream_free(ks);
}

/* ---- port-forward over WebSocket channels ---- */

static void test_ws_portforward(void **state)
{
	(void)state;
	struct hdrs h = ws_request("v4.channel.k8s.io");
	static const uint16_t ports[] = {80, 8080};
	struct kstream *ks = open_session(KSTREAM_PORTFORWARD, &h, NULL, ports, 2);
	struct client c;
	client_init(&c, KSTREAM_WEBSOCKET);
	recv_from(&c, ks);
	/* each channel opens with its port, little-endian */
	for (int ch = 0; ch < 4; ch++) {
		struct ws_msg m = ws_expect(&c);
		assert_int_equal(m.len, 3);
		assert_int_equal(m.data[0], ch);
		uint16_t p = ports[ch / 2];
		assert_int_equal(m.data[1], p & 0xff);
		assert_int_equal(m.data[2], p >> 8);
	}
	client_channel(&c, 2, "to 8080");
	client_channel(&c, 1, "ignored: the error channel is the server's");
	client_channel(&c, 0, "to 80");
	send_to(&c, ks);
	struct kstream_event ev = expect_event(ks, KSTREAM_EV_PF_DATA);
	assert_int_equal(ev.stream, 1);
	assert_memory_equal(ev.data, "to 8080", 7);
	ev = expect_event(ks, KSTREAM_EV_PF_DATA);
	assert_int_equal(ev.stream, 0);
	expect_no_event(ks);

	kstream_pf_write(ks, 1, "from 8080", 9);
	kstream_pf_close(ks, 1, "refused");
	assert_false(kstream_finished(ks));
	kstream_pf_close(ks, 0, NULL);
	assert_true(kstream_finished(ks));
	recv_from(&c, ks);
	ws_expect_channel(&c, 2, "from 8080");
	ws_expect_channel(&c, 3, "refused");
	assert_int_equal(ws_expect(&c).opcode, WS_OP_CLOSE);
	client_free(&c);
	kstream_free(ks);
}

static void test_statuses(void **state)
{
	(void)state;
	json_t *j = kstream_status_success();
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"metadata\":{},\"status\":\"Success\"}");
	free(s);
	json_decref(j);
	j = kstream_status_internal("x");
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s,
			    "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error "
			    "occurred: x\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{"
			    "\"message\":\"x\"}]},\"code\":500}");
	free(s);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_ws_exec_v5),
		cmocka_unit_test(test_ws_exec_tty_and_v1),
		cmocka_unit_test(test_ws_violation),
		cmocka_unit_test(test_spdy_exec_v4),
		cmocka_unit_test(test_spdy_exec_tty_resize),
		cmocka_unit_test(test_spdy_portforward),
		cmocka_unit_test(test_tunneled_portforward),
		cmocka_unit_test(test_ws_portforward),
		cmocka_unit_test(test_statuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
