/* spdy: the SPDY/3 dictionary, frame layouts byte for byte, header blocks
 * through one compression context per direction, and every malformed
 * input a peer can send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "spdy.h"

static void test_dictionary(void **state)
{
	(void)state;
	size_t len;
	const uint8_t *d = spdy_dictionary(&len);
	assert_int_equal(len, 1423);
	/* the DICTID a peer's zlib stream names (spdystream's dictionary) */
	assert_int_equal(adler32(adler32(0, NULL, 0), d, (uInt)len), 0xe3c6a7c2);
	assert_memory_equal(d, "\0\0\0\7options\0\0\0\4head", 15);
	assert_memory_equal(d + len - 14, ",utf-,*,enq=0.", 14);
}

static void test_fixed_frames(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	spdy_put_rst_stream(&b, 1, SPDY_RST_CANCEL);
	static const uint8_t rst[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 5};
	assert_int_equal(b.len, sizeof(rst));
	assert_memory_equal(b.data, rst, sizeof(rst));

	buf_reset(&b);
	spdy_put_ping(&b, 7);
	static const uint8_t ping[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7};
	assert_memory_equal(b.data, ping, sizeof(ping));

	buf_reset(&b);
	spdy_put_goaway(&b, 5, SPDY_GOAWAY_OK);
	static const uint8_t goaway[] = {0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 0};
	assert_memory_equal(b.data, goaway, sizeof(goaway));

	buf_reset(&b);
	spdy_put_window_update(&b, 3, 65536);
	static const uint8_t wu[] = {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 3, 0, 1, 0, 0};
	assert_memory_equal(b.data, wu, sizeof(wu));

	buf_reset(&b);
	spdy_put_data(&b, 0x12345, SPDY_FLAG_FIN, "hi", 2);
	static const uint8_t data[] = {0, 1, 0x23, 0x45, 1, 0, 0, 2, 'h', 'i'};
	assert_int_equal(b.len, sizeof(data));
	assert_memory_equal(b.data, data, sizeof(data));
	buf_free(&b);
}

static void test_parse_fixed_frames(void **state)
{
	(void)state;
	struct spdy *s = spdy_new();
	struct buf b = BUF_INIT;
	spdy_put_data(&b, 3, 0, "abc", 3);
	spdy_put_data(&b, 3, SPDY_FLAG_FIN, NULL, 0);
	spdy_put_rst_stream(&b, 5, SPDY_RST_REFUSED_STREAM);
	spdy_put_ping(&b, 2);
	/* an unknown control type (0x00ff) is skipped */
	static const uint8_t unknown[] = {0x80, 3, 0, 0xff, 0, 0, 0, 2, 'x', 'y'};
	buf_append(&b, unknown, sizeof(unknown));
	/* SETTINGS with one entry: max concurrent streams = 100 */
	static const uint8_t settings[] = {0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0,
					   0,	 1, 0, 0, 0, 4, 0, 0,  0, 100};
	buf_append(&b, settings, sizeof(settings));
	spdy_put_window_update(&b, 0, 1000);
	spdy_put_goaway(&b, 9, SPDY_GOAWAY_PROTOCOL_ERROR);

	struct spdy_frame f;
	struct mk_err *err = NULL;
	/* byte at a time: every frame comes out whole, once */
	int got = 0;
	for (size_t i = 0; i < b.len; i++) {
		spdy_feed(s, b.data + i, 1);
		int r;
		while ((r = spdy_next(s, &f, &err)) == 1) {
			switch (got++) {
			case 0:
				assert_int_equal(f.type, SPDY_DATA);
				assert_int_equal(f.stream_id, 3);
				assert_int_equal(f.len, 3);
				assert_memory_equal(f.data, "abc", 3);
				assert_int_equal(f.flags, 0);
				break;
			case 1:
				assert_int_equal(f.type, SPDY_DATA);
				assert_int_equal(f.len, 0);
				assert_int_equal(f.flags, SPDY_FLAG_FIN);
				break;
			case 2:
				assert_int_equal(f.type, SPDY_RST_STREAM);
				assert_int_equal(f.stream_id, 5);
				assert_int_equal(f.status, SPDY_RST_REFUSED_STREAM);
				break;
			case 3:
				assert_int_equal(f.type, SPDY_PING);
				assert_int_equal(f.ping_id, 2);
				break;
			case 4:
				assert_int_equal(f.type, SPDY_SETTINGS);
				break;
			case 5:
				assert_int_equal(f.type, SPDY_WINDOW_UPDATE);
				assert_int_equal(f.stream_id, 0);
				assert_int_equal(f.delta, 1000);
				break;
			case 6:
				assert_int_equal(f.type, SPDY_GOAWAY);
				assert_int_equal(f.last_good_id, 9);
				assert_int_equal(f.status, SPDY_GOAWAY_PROTOCOL_ERROR);
				break;
			default:
				fail_msg("extra frame");
			}
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(got, 7);
	buf_free(&b);
	spdy_free(s);
}

static void test_headers_roundtrip(void **state)
{
	(void)state;
	/* a client opens port-forward stream pairs; the server reads them with
	 * its own decompression context, then replies */
	struct spdy *client = spdy_new(), *server = spdy_new();
	struct buf wire = BUF_INIT;
	size_t first_len = 0;
	for (int req = 0; req < 3; req++) {
		char id[16];
		snprintf(id, sizeof(id), "%d", req);
		struct spdy_header h[] = {
			{.name = "StreamType", .value = "error", .value_len = 5},
			{.name = "port", .value = "8080", .value_len = 4},
			{.name = "requestID", .value = id, .value_len = strlen(id)},
		};
		size_t before = wire.len;
		spdy_put_syn_stream(client, &wire, (uint32_t)(4 * req + 1), SPDY_FLAG_FIN, h, 3);
		h[0].value = "data";
		h[0].value_len = 4;
		spdy_put_syn_stream(client, &wire, (uint32_t)(4 * req + 3), 0, h, 3);
		if (req == 0)
			first_len = wire.len - before;
		else /* the shared context makes later blocks smaller */
			assert_true(wire.len - before < first_len);
	}
	spdy_feed(server, wire.data, wire.len);
	struct spdy_frame f;
	struct mk_err *err = NULL;
	for (int i = 0; i < 6; i++) {
		assert_int_equal(spdy_next(server, &f, &err), 1);
		assert_int_equal(f.type, SPDY_SYN_STREAM);
		assert_int_equal(f.stream_id, (uint32_t)(2 * i + 1));
		assert_int_equal(f.flags, i % 2 == 0 ? SPDY_FLAG_FIN : 0);
		assert_int_equal(f.n_headers, 3);
		/* names arrive in lower case */
		assert_string_equal(f.headers[0].name, "streamtype");
		assert_string_equal(spdy_frame_header(&f, "streamType"), i % 2 ? "data" : "error");
		assert_string_equal(spdy_frame_header(&f, "port"), "8080");
		char id[16];
		snprintf(id, sizeof(id), "%d", i / 2);
		assert_string_equal(spdy_frame_header(&f, "requestid"), id);
		assert_null(spdy_frame_header(&f, "nope"));
	}
	assert_int_equal(spdy_next(server, &f, &err), 0);

	/* replies: an empty block (as upstream's server sends) and a value
	 * list joined with NUL */
	buf_reset(&wire);
	spdy_put_syn_reply(server, &wire, 1, 0, NULL, 0);
	struct spdy_header multi = {.name = "x-list", .value = "a\0b", .value_len = 3};
	spdy_put_syn_reply(server, &wire, 3, SPDY_FLAG_FIN, &multi, 1);
	spdy_feed(client, wire.data, wire.len);
	assert_int_equal(spdy_next(client, &f, &err), 1);
	assert_int_equal(f.type, SPDY_SYN_REPLY);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.n_headers, 0);
	assert_int_equal(spdy_next(client, &f, &err), 1);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.flags, SPDY_FLAG_FIN);
	assert_int_equal(f.headers[0].value_len, 3);
	assert_memory_equal(f.headers[0].value, "a\0b", 4);
	assert_null(err);
	buf_free(&wire);
	spdy_free(client);
	spdy_free(server);
}

/* A SYN_STREAM whose header block is `plain`, compressed as a peer would. */
static void raw_syn_stream(struct buf *out, uint32_t id, const void *plain, size_t plen,
			   bool corrupt)
{
	size_t dl;
	const uint8_t *d = spdy_dictionary(&dl);
	z_stream z = {0};
	assert_int_equal(deflateInit(&z, Z_BEST_COMPRESSION), Z_OK);
	assert_int_equal(deflateSetDictionary(&z, d, (uInt)dl), Z_OK);
	uint8_t packed[4096];
	z.next_in = (Bytef *)plain;
	z.avail_in = (uInt)plen;
	z.next_out = packed;
	z.avail_out = sizeof(packed);
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	size_t n = sizeof(packed) - z.avail_out;
	deflateEnd(&z);
	if (corrupt)
		packed[n / 2] ^= 0xff, packed[n / 2 + 1] ^= 0x55;
	size_t len = 10 + n;
	uint8_t h[18] = {0x80,
			 3,
			 0,
			 1,
			 0,
			 (uint8_t)(len >> 16),
			 (uint8_t)(len >> 8),
			 (uint8_t)len,
			 (uint8_t)(id >> 24),
			 (uint8_t)(id >> 16),
			 (uint8_t)(id >> 8),
			 (uint8_t)id};
	buf_append(out, h, 18);
	buf_append(out, packed, n);
}

/* A decoder fed nothing, or nothing yet, has no frame (and no buffer). */
static void test_nothing_fed(void **state)
{
	(void)state;
	struct spdy *s = spdy_new();
	struct spdy_frame f;
	struct mk_err *err = NULL;
	assert_int_equal(spdy_next(s, &f, &err), 0);
	spdy_feed(s, "\x80\x03", 2);
	assert_int_equal(spdy_next(s, &f, &err), 0);
	assert_null(err);
	spdy_free(s);
}

static void expect_error(const void *bytes, size_t len, const char *msg)
{
	struct spdy *s = spdy_new();
	spdy_feed(s, bytes, len);
	struct spdy_frame f;
	struct mk_err *err = NULL;
	if (spdy_next(s, &f, &err) != -1)
		fail_msg("accepted: %s", msg);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	if (!strstr(mk_err_msg(err), msg))
		fail_msg("\"%s\" does not hold \"%s\"", mk_err_msg(err), msg);
	mk_err_free(err);
	spdy_free(s);
}

static void test_malformed(void **state)
{
	(void)state;
	static const uint8_t v2[] = {0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
	expect_error(v2, sizeof(v2), "unsupported version 2");
	static const uint8_t data0[] = {0, 0, 0, 0, 0, 0, 0, 1, 'x'};
	expect_error(data0, sizeof(data0), "data frame on stream 0");
	static const uint8_t rst7[] = {0x80, 3, 0, 3, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0};
	expect_error(rst7, sizeof(rst7), "RST_STREAM of 7 bytes");
	static const uint8_t ping8[] = {0x80, 3, 0, 6, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1};
	expect_error(ping8, sizeof(ping8), "PING of 8 bytes");
	static const uint8_t settings[] = {0x80, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0, 3};
	expect_error(settings, sizeof(settings), "malformed SETTINGS");
	static const uint8_t syn_short[] = {0x80, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1};
	expect_error(syn_short, sizeof(syn_short), "SYN_STREAM too short");

	struct buf b = BUF_INIT;
	static const uint8_t one[] = {0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'};
	raw_syn_stream(&b, 0, one, sizeof(one), false);
	expect_error(b.data, b.len, "SYN_STREAM for stream 0");

	buf_reset(&b);
	static const uint8_t upper[] = {0, 0, 0, 1, 0, 0, 0, 1, 'A', 0, 0, 0, 1, 'b'};
	raw_syn_stream(&b, 1, upper, sizeof(upper), false);
	expect_error(b.data, b.len, "not in lower case");

	buf_reset(&b);
	static const uint8_t dup[] = {0, 0,   0, 2, 0, 0, 0,   1, 'a', 0, 0, 0,
				      1, 'b', 0, 0, 0, 1, 'a', 0, 0,   0, 1, 'c'};
	raw_syn_stream(&b, 1, dup, sizeof(dup), false);
	expect_error(b.data, b.len, "header a appears twice");

	buf_reset(&b);
	static const uint8_t lying[] = {0, 0, 0, 9, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'};
	raw_syn_stream(&b, 1, lying, sizeof(lying), false);
	expect_error(b.data, b.len, "fewer pairs");

	buf_reset(&b);
	static const uint8_t cut[] = {0, 0, 0, 1, 0, 0, 0, 5, 'a', 'b', 'c', 'd'};
	raw_syn_stream(&b, 1, cut, sizeof(cut), false);
	expect_error(b.data, b.len, "truncated");

	buf_reset(&b);
	static const uint8_t trailing[] = {0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b', 'z'};
	raw_syn_stream(&b, 1, trailing, sizeof(trailing), false);
	expect_error(b.data, b.len, "bytes after the last header");

	buf_reset(&b);
	static const uint8_t empty_name[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'b'};
	raw_syn_stream(&b, 1, empty_name, sizeof(empty_name), false);
	expect_error(b.data, b.len, "empty header name");

	buf_reset(&b);
	uint8_t garbage[64];
	memset(garbage, 0, sizeof(garbage));
	garbage[3] = 1;
	raw_syn_stream(&b, 1, garbage, sizeof(garbage), true);
	expect_error(b.data, b.len, "spdy: header block");

	/* a block that inflates beyond the limit */
	buf_reset(&b);
	size_t big = SPDY_MAX_HEADERS + 100;
	uint8_t *huge = calloc(1, big);
	huge[3] = 1;
	huge[7] = 1;
	huge[8] = 'a';
	huge[9] = (uint8_t)((big - 14) >> 24), huge[10] = (uint8_t)((big - 14) >> 16);
	huge[11] = (uint8_t)((big - 14) >> 8), huge[12] = (uint8_t)(big - 14);
	size_t dl;
	const uint8_t *d = spdy_dictionary(&dl);
	z_stream z = {0};
	assert_int_equal(deflateInit(&z, Z_BEST_COMPRESSION), Z_OK);
	deflateSetDictionary(&z, d, (uInt)dl);
	uint8_t *packed = malloc(big);
	z.next_in = huge;
	z.avail_in = (uInt)big;
	z.next_out = packed;
	z.avail_out = (uInt)big;
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	size_t n = big - z.avail_out;
	deflateEnd(&z);
	size_t len = 10 + n;
	uint8_t h[18] = {0x80,	       3, 0, 1, 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			 (uint8_t)len, 0, 0, 0, 1};
	buf_append(&b, h, 18);
	buf_append(&b, packed, n);
	expect_error(b.data, b.len, "larger than");
	free(huge);
	free(packed);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dictionary),	   cmocka_unit_test(test_fixed_frames),
		cmocka_unit_test(test_parse_fixed_frames), cmocka_unit_test(test_headers_roundtrip),
		cmocka_unit_test(test_malformed),	   cmocka_unit_test(test_nothing_fed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
