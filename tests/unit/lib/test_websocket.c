/* websocket: the RFC 6455 examples (§1.3 handshake, §5.7 frames), every
 * framing rule a peer can break, byte-at-a-time decoding, and both sides of
 * a connection over a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "websocket.h"

/* ---- handshake ---- */

static void test_accept_key_rfc(void **state)
{
	(void)state;
	/* RFC 6455 §1.3 */
	char *a = ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==");
	assert_string_equal(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	free(a);
}

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

static struct hdrs good_request(const char *protocols)
{
	return (struct hdrs){
		.names = {"Upgrade", "Connection", "Sec-WebSocket-Version", "Sec-WebSocket-Key",
			  protocols ? "Sec-WebSocket-Protocol" : NULL},
		.values = {"websocket", "keep-alive, Upgrade", "13",
			   "dGhlIHNhbXBsZSBub25jZQ==", protocols},
	};
}

static void test_handshake_check(void **state)
{
	(void)state;
	static const char *const supported[] = {"v4.channel.k8s.io", "v5.channel.k8s.io", NULL};
	struct ws_handshake hs;
	struct mk_err *err = NULL;

	/* the client's order wins */
	struct hdrs h = good_request("v5.channel.k8s.io, v4.channel.k8s.io");
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), 0);
	assert_string_equal(hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_string_equal(hs.protocol, "v5.channel.k8s.io");
	ws_handshake_clear(&hs);

	h = good_request("bogus,v4.channel.k8s.io");
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), 0);
	assert_string_equal(hs.protocol, "v4.channel.k8s.io");
	ws_handshake_clear(&hs);

	/* nothing in common: upstream's message */
	h = good_request("a.k8s.io, b.k8s.io");
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), "requested protocol(s) are not supported: "
					     "[a.k8s.io b.k8s.io]; supports "
					     "[v4.channel.k8s.io v5.channel.k8s.io]");
	mk_err_free(err);
	err = NULL;

	/* no protocol asked: accepted only when "" is supported */
	h = good_request(NULL);
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), -1);
	mk_err_free(err);
	err = NULL;
	static const char *const with_none[] = {"", "channel.k8s.io", NULL};
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, with_none, &hs, &err), 0);
	assert_null(hs.protocol);
	ws_handshake_clear(&hs);

	/* broken requests */
	h = good_request("v5.channel.k8s.io");
	assert_int_equal(ws_handshake_check("POST", hdr_get, &h, supported, &hs, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err);
	err = NULL;

	h.values[2] = "8";
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EUNSUPPORTED);
	mk_err_free(err);
	err = NULL;

	static const char *const bad_keys[] = {"",
					       "abc",
					       "dGhlIHNhbXBsZSBub25j",
					       "dGhlIHNhbXBsZSBub25jZQ",
					       "dGhlIHNhbXBsZSBub25jZSE=",
					       "!!!!!!!!!!!!!!!!!!!!!!=="};
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		h = good_request("v5.channel.k8s.io");
		h.values[3] = bad_keys[i];
		assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), -1);
		assert_string_equal(mk_err_msg(err), "websocket: bad Sec-WebSocket-Key");
		mk_err_free(err);
		err = NULL;
	}

	h = good_request("v5.channel.k8s.io");
	h.values[0] = "h2c";
	assert_false(ws_is_upgrade_request(hdr_get, &h));
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), -1);
	mk_err_free(err);
	err = NULL;
	h = good_request("v5.channel.k8s.io");
	assert_true(ws_is_upgrade_request(hdr_get, &h));
	h.values[1] = "keep-alive";
	assert_false(ws_is_upgrade_request(hdr_get, &h));
	assert_int_equal(ws_handshake_check("GET", hdr_get, &h, supported, &hs, &err), -1);
	mk_err_free(err);
}

static void test_header_tokens(void **state)
{
	(void)state;
	assert_true(ws_header_has_token("Upgrade", "upgrade"));
	assert_true(ws_header_has_token("keep-alive,  UPGRADE ", "upgrade"));
	assert_false(ws_header_has_token("upgrades", "upgrade"));
	assert_false(ws_header_has_token("", "upgrade"));
	assert_false(ws_header_has_token(NULL, "upgrade"));

	const char *head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			   "sec-websocket-protocol:  v5.channel.k8s.io \r\n\r\n";
	char *v = ws_head_header(head, "Sec-WebSocket-Protocol");
	assert_string_equal(v, "v5.channel.k8s.io");
	free(v);
	assert_null(ws_head_header(head, "Sec-WebSocket-Accept"));
}

/* ---- frames: RFC 6455 §5.7 ---- */

static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

static void assert_frame(const struct buf *b, const uint8_t *want, size_t n)
{
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

static void test_encode_rfc(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	struct iovec hello = {.iov_base = "Hello", .iov_len = 5};

	static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	ws_frame_encode(&b, WS_OP_TEXT, false, NULL, &hello, 1);
	assert_frame(&b, unmasked, sizeof(unmasked));

	static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_TEXT, false, rfc_mask, &hello, 1);
	assert_frame(&b, masked, sizeof(masked));

	/* fragmented unmasked text: "Hel" then "lo" */
	static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
	buf_reset(&b);
	struct iovec hel = {.iov_base = "Hel", .iov_len = 3}, lo = {.iov_base = "lo", .iov_len = 2};
	ws_frame_encode(&b, WS_OP_TEXT, true, NULL, &hel, 1);
	ws_frame_encode(&b, WS_OP_CONT, false, NULL, &lo, 1);
	assert_frame(&b, frag, sizeof(frag));

	/* unmasked ping, masked pong */
	static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
				       0x7f, 0x9f, 0x4d, 0x51, 0x58};
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_PING, false, NULL, &hello, 1);
	assert_frame(&b, ping, sizeof(ping));
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_PONG, false, rfc_mask, &hello, 1);
	assert_frame(&b, pong, sizeof(pong));

	/* 256 bytes and 64 KiB of binary: 16-bit and 64-bit lengths */
	static uint8_t big[65536];
	memset(big, 0xab, sizeof(big));
	struct iovec v256 = {.iov_base = big, .iov_len = 256};
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_BINARY, false, NULL, &v256, 1);
	static const uint8_t h256[] = {0x82, 0x7e, 0x01, 0x00};
	assert_int_equal(b.len, 4 + 256);
	assert_memory_equal(b.data, h256, 4);
	assert_memory_equal(b.data + 4, big, 256);

	struct iovec v64k = {.iov_base = big, .iov_len = 65536};
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_BINARY, false, NULL, &v64k, 1);
	static const uint8_t h64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
	assert_int_equal(b.len, 10 + 65536);
	assert_memory_equal(b.data, h64k, 10);

	/* a payload gathered from several pieces, as a channel byte + data */
	struct iovec parts[2] = {{.iov_base = "\x01", .iov_len = 1},
				 {.iov_base = "hi", .iov_len = 2}};
	buf_reset(&b);
	ws_frame_encode(&b, WS_OP_BINARY, false, NULL, parts, 2);
	static const uint8_t chan[] = {0x82, 0x03, 0x01, 'h', 'i'};
	assert_frame(&b, chan, sizeof(chan));

	uint8_t cp[125];
	size_t n = ws_close_payload(cp, 1000, "bye");
	assert_int_equal(n, 5);
	assert_memory_equal(cp,
			    "\x03\xe8"
			    "bye",
			    5);
	buf_free(&b);
}

static void test_mask_offsets(void **state)
{
	(void)state;
	/* masking in pieces at any offset equals masking at once */
	uint8_t a[100], b[100];
	for (int i = 0; i < 100; i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	ws_mask(a, 100, rfc_mask, 0);
	ws_mask(b, 3, rfc_mask, 0);
	ws_mask(b + 3, 50, rfc_mask, 3);
	ws_mask(b + 53, 47, rfc_mask, 53);
	assert_memory_equal(a, b, 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(a[i], (uint8_t)(i * 7) ^ rfc_mask[i & 3]);
}

/* Parses everything in c, expecting exactly one message. */
static int parse_one(struct ws_conn *c, struct ws_msg *m, int *code, struct mk_err **err)
{
	*code = 0;
	return ws_conn_parse(c, m, code, err);
}

static void test_parse_rfc(void **state)
{
	(void)state;
	struct ws_msg m;
	int code;
	struct mk_err *err = NULL;

	/* a server reads the masked "Hello" */
	static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	struct ws_conn *s = ws_conn_new(-1, WS_SERVER, 0, masked, sizeof(masked));
	assert_int_equal(parse_one(s, &m, &code, &err), 1);
	assert_int_equal(m.opcode, WS_OP_TEXT);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "Hello", 5);
	assert_int_equal(parse_one(s, &m, &code, &err), 0);
	ws_conn_free(s);

	/* a client reads the fragmented text with a ping between the parts */
	static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x89, 0x05, 0x48,
				       0x65, 0x6c, 0x6c, 0x6f, 0x80, 0x02, 0x6c, 0x6f};
	struct ws_conn *c = ws_conn_new(-1, WS_CLIENT, 0, NULL, 0);
	ws_conn_feed(c, frag, sizeof(frag));
	assert_int_equal(parse_one(c, &m, &code, &err), 1);
	assert_int_equal(m.opcode, WS_OP_PING);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "Hello", 5);
	assert_int_equal(parse_one(c, &m, &code, &err), 1);
	assert_int_equal(m.opcode, WS_OP_TEXT);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "Hello", 5);
	assert_int_equal(parse_one(c, &m, &code, &err), 0);

	/* 256 bytes and 64 KiB, unmasked */
	static uint8_t f64k[10 + 65536];
	static const uint8_t h64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
	memcpy(f64k, h64k, 10);
	for (size_t i = 0; i < 65536; i++)
		f64k[10 + i] = (uint8_t)i;
	ws_conn_feed(c, f64k, sizeof(f64k));
	assert_int_equal(parse_one(c, &m, &code, &err), 1);
	assert_int_equal(m.opcode, WS_OP_BINARY);
	assert_int_equal(m.len, 65536);
	assert_memory_equal(m.data, f64k + 10, 65536);

	static uint8_t f256[4 + 256] = {0x82, 0x7e, 0x01, 0x00};
	ws_conn_feed(c, f256, sizeof(f256));
	assert_int_equal(parse_one(c, &m, &code, &err), 1);
	assert_int_equal(m.len, 256);

	/* close with a code and a reason; nothing is parsed after it */
	static const uint8_t close[] = {0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e', 0x81, 0x00};
	ws_conn_feed(c, close, sizeof(close));
	assert_int_equal(parse_one(c, &m, &code, &err), 1);
	assert_int_equal(m.opcode, WS_OP_CLOSE);
	assert_int_equal(m.close_code, 1000);
	assert_string_equal(m.close_reason, "bye");
	assert_true(ws_conn_close_received(c));
	assert_int_equal(parse_one(c, &m, &code, &err), 0);
	ws_conn_free(c);

	/* an empty close has no status */
	static const uint8_t close0[] = {0x88, 0x00};
	c = ws_conn_new(-1, WS_CLIENT, 0, close0, sizeof(close0));
	assert_int_equal(parse_one(c, &m, &code, &err), 1);
	assert_int_equal(m.close_code, WS_CLOSE_NO_STATUS);
	ws_conn_free(c);
	assert_null(err);
}

static void test_parse_byte_by_byte(void **state)
{
	(void)state;
	/* the masked fragmented message, with a 16-bit length part and a ping
	 * in the middle, fed one byte at a time */
	struct buf in = BUF_INIT;
	uint8_t part[300];
	for (size_t i = 0; i < sizeof(part); i++)
		part[i] = (uint8_t)(i * 13);
	struct iovec v1 = {.iov_base = part, .iov_len = 200},
		     v2 = {.iov_base = part + 200, .iov_len = 100};
	struct iovec pv = {.iov_base = "p", .iov_len = 1};
	ws_frame_encode(&in, WS_OP_BINARY, true, rfc_mask, &v1, 1);
	ws_frame_encode(&in, WS_OP_PING, false, rfc_mask, &pv, 1);
	ws_frame_encode(&in, WS_OP_CONT, false, rfc_mask, &v2, 1);

	struct ws_conn *s = ws_conn_new(-1, WS_SERVER, 0, NULL, 0);
	struct ws_msg m;
	int code, got = 0;
	struct mk_err *err = NULL;
	for (size_t i = 0; i < in.len; i++) {
		ws_conn_feed(s, in.data + i, 1);
		int r;
		while ((r = ws_conn_parse(s, &m, &code, &err)) == 1) {
			if (got == 0) {
				assert_int_equal(m.opcode, WS_OP_PING);
				assert_int_equal(m.len, 1);
			} else {
				assert_int_equal(m.opcode, WS_OP_BINARY);
				assert_int_equal(m.len, 300);
				assert_memory_equal(m.data, part, 300);
				assert_int_equal(i, in.len - 1);
			}
			got++;
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(got, 2);
	ws_conn_free(s);
	buf_free(&in);
}

struct bad_case {
	const char *what;
	enum ws_role role;
	size_t max;
	uint8_t bytes[16];
	size_t len;
	int code;
};

static void test_parse_violations(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{"unmasked frame to a server", WS_SERVER, 0, {0x82, 0x01, 'x'}, 3, 1002},
		{"masked frame to a client", WS_CLIENT, 0, {0x82, 0x81, 1, 2, 3, 4, 'x'}, 7, 1002},
		{"reserved bits", WS_CLIENT, 0, {0xc2, 0x01, 'x'}, 3, 1002},
		{"unknown data opcode", WS_CLIENT, 0, {0x83, 0x00}, 2, 1002},
		{"unknown control opcode", WS_CLIENT, 0, {0x8b, 0x00}, 2, 1002},
		{"fragmented ping", WS_CLIENT, 0, {0x09, 0x00}, 2, 1002},
		{"control frame of 126 bytes", WS_CLIENT, 0, {0x89, 0x7e, 0x00, 0x7e}, 4, 1002},
		{"16-bit length below 126", WS_CLIENT, 0, {0x82, 0x7e, 0x00, 0x05}, 4, 1002},
		{"64-bit length below 65536",
		 WS_CLIENT,
		 0,
		 {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
		 10,
		 1002},
		{"64-bit length with the top bit",
		 WS_CLIENT,
		 0,
		 {0x82, 0x7f, 0x80, 0, 0, 0, 0, 1, 0, 0},
		 10,
		 1002},
		{"continuation without a start", WS_CLIENT, 0, {0x80, 0x01, 'x'}, 3, 1002},
		{"new message inside a fragmented one",
		 WS_CLIENT,
		 0,
		 {0x02, 0x01, 'x', 0x82, 0x01, 'y'},
		 6,
		 1002},
		{"message over the limit",
		 WS_CLIENT,
		 4,
		 {0x82, 0x05, 'a', 'b', 'c', 'd', 'e'},
		 7,
		 1009},
		{"fragments over the limit",
		 WS_CLIENT,
		 4,
		 {0x02, 0x03, 'a', 'b', 'c', 0x80, 0x02, 'd', 'e'},
		 9,
		 1009},
		{"huge 64-bit length, refused before its payload",
		 WS_CLIENT,
		 0,
		 {0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0},
		 10,
		 1009},
		{"text that is not UTF-8", WS_CLIENT, 0, {0x81, 0x02, 0xc3, 0x28}, 4, 1007},
		{"overlong UTF-8", WS_CLIENT, 0, {0x81, 0x02, 0xc0, 0xaf}, 4, 1007},
		{"UTF-16 surrogate in UTF-8",
		 WS_CLIENT,
		 0,
		 {0x81, 0x03, 0xed, 0xa0, 0x80},
		 5,
		 1007},
		{"fragmented text not UTF-8",
		 WS_CLIENT,
		 0,
		 {0x01, 0x01, 0xe2, 0x80, 0x01, 0x28},
		 6,
		 1007},
		{"close frame of one byte", WS_CLIENT, 0, {0x88, 0x01, 0x03}, 3, 1002},
		{"close code 1005 on the wire", WS_CLIENT, 0, {0x88, 0x02, 0x03, 0xed}, 4, 1002},
		{"close code 999", WS_CLIENT, 0, {0x88, 0x02, 0x03, 0xe7}, 4, 1002},
		{"close code 5000", WS_CLIENT, 0, {0x88, 0x02, 0x13, 0x88}, 4, 1002},
		{"close reason not UTF-8", WS_CLIENT, 0, {0x88, 0x03, 0x03, 0xe8, 0xff}, 5, 1007},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *bc = &cases[i];
		struct ws_conn *c = ws_conn_new(-1, bc->role, bc->max, bc->bytes, bc->len);
		struct ws_msg m;
		int code = 0, r;
		struct mk_err *err = NULL;
		while ((r = ws_conn_parse(c, &m, &code, &err)) == 1)
			;
		if (r != -1 || code != bc->code)
			fail_msg("%s: got %d code %d", bc->what, r, code);
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		mk_err_free(err);
		err = NULL;
		/* a failed connection stays failed */
		assert_int_equal(ws_conn_parse(c, &m, &code, &err), -1);
		mk_err_free(err);
		ws_conn_free(c);
	}

	/* valid UTF-8 of every length passes */
	static const uint8_t ok[] = {0x81, 0x0a, 'a',  0xc3, 0xa9, 0xe2,
				     0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80};
	struct ws_conn *c = ws_conn_new(-1, WS_CLIENT, 0, ok, sizeof(ok));
	struct ws_msg m;
	int code;
	struct mk_err *err = NULL;
	assert_int_equal(ws_conn_parse(c, &m, &code, &err), 1);
	assert_int_equal(m.len, 10);
	ws_conn_free(c);
}

/* ---- connections over a socketpair ---- */

struct peer {
	int fd;
	size_t big;
};

/* The client half: sends a big binary message, a ping and a text, then
 * closes and expects the close echoed. */
static void *client_thread(void *arg)
{
	struct peer *p = arg;
	struct ws_conn *c = ws_conn_new(p->fd, WS_CLIENT, 0, NULL, 0);
	uint8_t *big = malloc(p->big);
	for (size_t i = 0; i < p->big; i++)
		big[i] = (uint8_t)(i % 251);
	struct mk_err *err = NULL;
	int ok = ws_conn_send(c, WS_OP_BINARY, big, p->big, &err) == 0;
	ok = ok && ws_conn_send(c, WS_OP_PING, "pi", 2, &err) == 0;
	struct ws_msg m;
	ok = ok && ws_conn_recv(c, &m, 5000, &err) == 1 && m.opcode == WS_OP_PONG && m.len == 2;
	ok = ok && ws_conn_send(c, WS_OP_TEXT, "done", 4, &err) == 0;
	ok = ok && ws_conn_close(c, 1000, "bye", &err) == 0;
	ok = ok && ws_conn_recv(c, &m, 5000, &err) == 1 && m.opcode == WS_OP_CLOSE &&
	     m.close_code == 1000;
	mk_err_free(err);
	free(big);
	ws_conn_free(c);
	return ok ? (void *)1 : NULL;
}

static void test_conn_roundtrip(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct peer p = {.fd = sv[1], .big = 3 << 20};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, client_thread, &p), 0);

	struct ws_conn *s = ws_conn_new(sv[0], WS_SERVER, 0, NULL, 0);
	struct ws_msg m;
	struct mk_err *err = NULL;
	assert_int_equal(ws_conn_recv(s, &m, 5000, &err), 1);
	assert_int_equal(m.opcode, WS_OP_BINARY);
	assert_int_equal(m.len, p.big);
	for (size_t i = 0; i < p.big; i++)
		if (m.data[i] != (uint8_t)(i % 251))
			fail_msg("byte %zu differs", i);
	/* the ping was answered inside recv */
	assert_int_equal(ws_conn_recv(s, &m, 5000, &err), 1);
	assert_int_equal(m.opcode, WS_OP_TEXT);
	assert_memory_equal(m.data, "done", 4);
	assert_int_equal(ws_conn_recv(s, &m, 5000, &err), 1);
	assert_int_equal(m.opcode, WS_OP_CLOSE);
	assert_int_equal(m.close_code, 1000);
	assert_string_equal(m.close_reason, "bye");
	assert_true(ws_conn_close_sent(s));
	/* sending after the close is refused */
	assert_int_equal(ws_conn_send(s, WS_OP_TEXT, "x", 1, &err), -1);
	mk_err_free(err);
	err = NULL;

	void *ok;
	pthread_join(t, &ok);
	assert_non_null(ok);
	/* the peer is gone: an abnormal close */
	close(sv[1]);
	assert_int_equal(ws_conn_recv(s, &m, 5000, &err), 0);
	ws_conn_free(s);
	close(sv[0]);
}

static void test_conn_violation_closes(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct ws_conn *s = ws_conn_new(sv[0], WS_SERVER, 16, NULL, 0);
	/* an unmasked frame from the client: the server answers close 1002 */
	assert_int_equal(write(sv[1], "\x82\x01x", 3), 3);
	struct ws_msg m;
	struct mk_err *err = NULL;
	assert_int_equal(ws_conn_recv(s, &m, 5000, &err), -1);
	mk_err_free(err);
	uint8_t got[4];
	assert_int_equal(read(sv[1], got, 4), 4);
	assert_memory_equal(got, "\x88\x02\x03\xea", 4);
	ws_conn_free(s);
	close(sv[0]);
	close(sv[1]);

	/* a silent peer: the read deadline */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s = ws_conn_new(sv[0], WS_SERVER, 0, NULL, 0);
	err = NULL;
	assert_int_equal(ws_conn_recv(s, &m, 50, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ETIMEOUT);
	mk_err_free(err);
	ws_conn_free(s);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the client handshake against a scripted server ---- */

struct script {
	int fd;
	const char *answer; /* printf format with %s for the accept key, or plain */
	bool with_accept;
	bool hangup; /* shut the socket after answering */
	char request[2048];
};

static void *server_thread(void *arg)
{
	struct script *sc = arg;
	size_t n = 0;
	while (n < sizeof(sc->request) - 1) {
		ssize_t r = read(sc->fd, sc->request + n, sizeof(sc->request) - 1 - n);
		if (r <= 0)
			return NULL;
		n += (size_t)r;
		sc->request[n] = '\0';
		if (strstr(sc->request, "\r\n\r\n"))
			break;
	}
	char *key = strstr(sc->request, "Sec-WebSocket-Key: ");
	if (!key)
		return NULL;
	key += strlen("Sec-WebSocket-Key: ");
	char k[64] = {0};
	memcpy(k, key, strcspn(key, "\r"));
	char *accept = ws_accept_key(k);
	char out[1024];
	int len = sc->with_accept ? snprintf(out, sizeof(out), sc->answer, accept)
				  : snprintf(out, sizeof(out), "%s", sc->answer);
	free(accept);
	if (write(sc->fd, out, (size_t)len) != len)
		return NULL;
	if (sc->hangup)
		shutdown(sc->fd, SHUT_WR);
	return (void *)1;
}

static int run_client(struct script *sc, const char *const *protocols, struct ws_client_result *r,
		      struct mk_err **err)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sc->fd = sv[1];
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, server_thread, sc), 0);
	static const char *const extra[] = {"X-Stream-Protocol-Version: v4.channel.k8s.io", NULL};
	struct ws_client_opts o = {.host = "10.0.0.2:10250",
				   .target = "/exec/ns/pod/c?command=true",
				   .protocols = protocols,
				   .headers = extra,
				   .timeout_ms = 5000};
	int rc = ws_client_handshake(sv[0], &o, r, err);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void test_client_handshake(void **state)
{
	(void)state;
	static const char *const protos[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", NULL};
	struct ws_client_result r;
	struct mk_err *err = NULL;

	/* accepted, with the first frame in the same packet */
	struct script ok = {
		.answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
			  "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n\x82\x02\x01x",
		.with_accept = true};
	assert_int_equal(run_client(&ok, protos, &r, &err), 0);
	assert_int_equal(r.status, 101);
	assert_string_equal(r.protocol, "v4.channel.k8s.io");
	assert_int_equal(r.extra.len, 4);
	assert_memory_equal(r.extra.data, "\x82\x02\x01x", 4);
	assert_non_null(strstr(ok.request, "GET /exec/ns/pod/c?command=true HTTP/1.1\r\n"));
	assert_non_null(strstr(ok.request, "Host: 10.0.0.2:10250\r\n"));
	assert_non_null(strstr(ok.request,
			       "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
	assert_non_null(strstr(ok.request, "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"));
	assert_non_null(strstr(ok.request, "Sec-WebSocket-Version: 13\r\n"));
	ws_client_result_clear(&r);

	/* refused with a Status body: the caller gets status and body */
	struct script refused = {
		.answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
			  "Content-Length: 17\r\n\r\n{\"kind\":\"Status\"}"};
	assert_int_equal(run_client(&refused, protos, &r, &err), 0);
	assert_int_equal(r.status, 400);
	assert_int_equal(r.body_len, 17);
	assert_string_equal(r.body, "{\"kind\":\"Status\"}");
	ws_client_result_clear(&r);

	struct script chunked = {
		.answer = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"};
	assert_int_equal(run_client(&chunked, protos, &r, &err), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "hello world");
	ws_client_result_clear(&r);

	/* a wrong accept value, and a protocol not asked for */
	struct script wrong = {.answer =
				       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				       "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"};
	assert_int_equal(run_client(&wrong, protos, &r, &err), -1);
	assert_string_equal(mk_err_msg(err), "websocket: bad Sec-WebSocket-Accept in the answer");
	mk_err_free(err);
	err = NULL;
	ws_client_result_clear(&r);

	struct script other = {.answer =
				       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
				       "Sec-WebSocket-Protocol: channel.k8s.io\r\n\r\n",
			       .with_accept = true};
	assert_int_equal(run_client(&other, protos, &r, &err), -1);
	mk_err_free(err);
	err = NULL;
	ws_client_result_clear(&r);

	/* a server that hangs up mid-answer */
	struct script cut = {.answer = "HTTP/1.1 101 Switching", .hangup = true};
	assert_int_equal(run_client(&cut, protos, &r, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EIO);
	mk_err_free(err);
	ws_client_result_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key_rfc),
		cmocka_unit_test(test_handshake_check),
		cmocka_unit_test(test_header_tokens),
		cmocka_unit_test(test_encode_rfc),
		cmocka_unit_test(test_mask_offsets),
		cmocka_unit_test(test_parse_rfc),
		cmocka_unit_test(test_parse_byte_by_byte),
		cmocka_unit_test(test_parse_violations),
		cmocka_unit_test(test_conn_roundtrip),
		cmocka_unit_test(test_conn_violation_closes),
		cmocka_unit_test(test_client_handshake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
