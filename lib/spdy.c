/* SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 with the 3.1 additions).
 *
 * No maintained C library implements SPDY any more (spdylay is archived and
 * owns its sessions' I/O and streams); kubectl still falls back to it, and
 * port-forward tunnels it inside WebSocket, so the frame layer is here. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "spdy.h"
#include "xalloc.h"

/* ---- the SPDY/3 header dictionary (§2.6.10.1): 65 length-prefixed words,
 * then one run of common values ---- */

static const char *const dict_words[] = {
	"options",
	"head",
	"post",
	"put",
	"delete",
	"trace",
	"accept",
	"accept-charset",
	"accept-encoding",
	"accept-language",
	"accept-ranges",
	"age",
	"allow",
	"authorization",
	"cache-control",
	"connection",
	"content-base",
	"content-encoding",
	"content-language",
	"content-length",
	"content-location",
	"content-md5",
	"content-range",
	"content-type",
	"date",
	"etag",
	"expect",
	"expires",
	"from",
	"host",
	"if-match",
	"if-modified-since",
	"if-none-match",
	"if-range",
	"if-unmodified-since",
	"last-modified",
	"location",
	"max-forwards",
	"pragma",
	"proxy-authenticate",
	"proxy-authorization",
	"range",
	"referer",
	"retry-after",
	"server",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"user-agent",
	"vary",
	"via",
	"warning",
	"www-authenticate",
	"method",
	"get",
	"status",
	"200 OK",
	"version",
	"HTTP/1.1",
	"url",
	"public",
	"set-cookie",
	"keep-alive",
	"origin",
};

static const char dict_tail[] =
	"100101201202205206300302303304305306307402405406407408409410411412413414415416417"
	"502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
	"400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
	"501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept "
	"Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,"
	"image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
	"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
	"charset=iso-8859-1,utf-,*,enq=0.";

#define DICT_LEN 1423
static uint8_t dict[DICT_LEN];
static size_t dict_len;
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(dict_words) / sizeof(dict_words[0]); i++) {
		size_t l = strlen(dict_words[i]);
		dict[n++] = 0;
		dict[n++] = 0;
		dict[n++] = 0;
		dict[n++] = (uint8_t)l;
		memcpy(dict + n, dict_words[i], l);
		n += l;
	}
	memcpy(dict + n, dict_tail, sizeof(dict_tail) - 1);
	dict_len = n + sizeof(dict_tail) - 1;
}

const uint8_t *spdy_dictionary(size_t *len)
{
	pthread_once(&dict_once, dict_build);
	*len = dict_len;
	return dict;
}

/* ---- session ---- */

struct spdy {
	struct buf in;
	size_t in_off;
	z_stream inflate;
	bool inflate_ok;
	z_stream deflate;
	bool deflate_ok;
	struct buf block;   /* a decompressed header block */
	struct buf strings; /* names and values of the last frame, NUL-terminated */
	struct spdy_header *headers;
	size_t headers_cap;
	struct buf plain;  /* an uncompressed block being encoded */
	struct buf packed; /* its compressed form */
};

struct spdy *spdy_new(void)
{
	size_t len;
	const uint8_t *d = spdy_dictionary(&len);
	struct spdy *s = xcalloc(1, sizeof(*s));
	s->in = (struct buf)BUF_INIT;
	s->block = (struct buf)BUF_INIT;
	s->strings = (struct buf)BUF_INIT;
	s->plain = (struct buf)BUF_INIT;
	s->packed = (struct buf)BUF_INIT;
	/* zlib fails here only without memory, which xalloc treats as fatal
	 * elsewhere too */
	if (inflateInit(&s->inflate) != Z_OK)
		abort();
	s->inflate_ok = true;
	if (deflateInit(&s->deflate, Z_DEFAULT_COMPRESSION) != Z_OK)
		abort();
	s->deflate_ok = true;
	if (deflateSetDictionary(&s->deflate, d, (uInt)len) != Z_OK)
		abort();
	return s;
}

void spdy_free(struct spdy *s)
{
	if (!s)
		return;
	if (s->inflate_ok)
		inflateEnd(&s->inflate);
	if (s->deflate_ok)
		deflateEnd(&s->deflate);
	buf_free(&s->in);
	buf_free(&s->block);
	buf_free(&s->strings);
	buf_free(&s->plain);
	buf_free(&s->packed);
	free(s->headers);
	free(s);
}

void spdy_feed(struct spdy *s, const void *data, size_t len)
{
	if (s->in_off > 0) {
		memmove(s->in.data, s->in.data + s->in_off, s->in.len - s->in_off);
		s->in.len -= s->in_off;
		s->in_off = 0;
	}
	buf_append(&s->in, data, len);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	buf_append(b, p, 4);
}

/* Decompresses a header block into s->block. */
static int inflate_block(struct spdy *s, const uint8_t *in, size_t len, struct mk_err **err)
{
	buf_reset(&s->block);
	z_stream *z = &s->inflate;
	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)len;
	for (;;) {
		buf_grow(&s->block, 4096);
		z->next_out = (Bytef *)s->block.data + s->block.len;
		z->avail_out = (uInt)(s->block.cap - s->block.len - 1);
		uInt before = z->avail_out;
		int r = inflate(z, Z_SYNC_FLUSH);
		s->block.len += before - z->avail_out;
		if (r == Z_NEED_DICT) {
			size_t dl;
			const uint8_t *d = spdy_dictionary(&dl);
			if (inflateSetDictionary(z, d, (uInt)dl) != Z_OK)
				return mk_err_set(err, MK_EINVAL,
						  "spdy: header block wants another dictionary");
			continue;
		}
		if (s->block.len > SPDY_MAX_HEADERS)
			return mk_err_set(err, MK_EINVAL, "spdy: header block larger than %d bytes",
					  SPDY_MAX_HEADERS);
		if (r == Z_BUF_ERROR && z->avail_in == 0)
			break;
		if (r != Z_OK)
			return mk_err_set(err, MK_EINVAL,
					  "spdy: header block does not decompress: %s",
					  z->msg ? z->msg : "zlib error");
		if (z->avail_in == 0 && z->avail_out > 0)
			break;
	}
	return 0;
}

/* Parses s->block into s->headers / s->strings. */
static int parse_block(struct spdy *s, size_t *n_out, struct mk_err **err)
{
	const uint8_t *p = (const uint8_t *)s->block.data;
	size_t len = s->block.len, off = 4;
	if (len < 4)
		return mk_err_set(err, MK_EINVAL, "spdy: header block too short");
	uint32_t n = be32(p);
	/* each pair takes at least 8 bytes: bounds the array before allocating */
	if (n > (len - 4) / 8)
		return mk_err_set(err, MK_EINVAL,
				  "spdy: header block holds fewer pairs than it says");
	buf_reset(&s->strings);
	size_t *offs = xmalloc((2 * (size_t)n + 1) * sizeof(*offs));
	size_t *vlens = xmalloc(((size_t)n + 1) * sizeof(*vlens));
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		for (int part = 0; part < 2; part++) {
			if (len - off < 4) {
				rc = mk_err_set(err, MK_EINVAL, "spdy: header block truncated");
				break;
			}
			uint32_t l = be32(p + off);
			off += 4;
			if (l > len - off) {
				rc = mk_err_set(err, MK_EINVAL, "spdy: header block truncated");
				break;
			}
			if (part == 0) {
				if (l == 0) {
					rc = mk_err_set(err, MK_EINVAL, "spdy: empty header name");
					break;
				}
				for (uint32_t k = 0; k < l; k++) {
					if (p[off + k] >= 'A' && p[off + k] <= 'Z') {
						rc = mk_err_set(
							err, MK_EINVAL,
							"spdy: header name not in lower case");
						break;
					}
					if (p[off + k] == 0) {
						rc = mk_err_set(err, MK_EINVAL,
								"spdy: NUL byte in a header name");
						break;
					}
				}
				if (rc)
					break;
			} else {
				vlens[i] = l;
			}
			offs[2 * i + (size_t)part] = s->strings.len;
			buf_append(&s->strings, p + off, l);
			buf_append_char(&s->strings, '\0');
			off += l;
		}
	}
	if (rc == 0 && off != len)
		rc = mk_err_set(err, MK_EINVAL, "spdy: bytes after the last header");
	if (rc == 0) {
		if (n > s->headers_cap) {
			s->headers = xrealloc(s->headers, n * sizeof(*s->headers));
			s->headers_cap = n;
		}
		for (uint32_t i = 0; i < n; i++) {
			s->headers[i] = (struct spdy_header){
				.name = s->strings.data + offs[2 * i],
				.value = s->strings.data + offs[2 * i + 1],
				.value_len = vlens[i],
			};
			for (uint32_t k = 0; k < i && rc == 0; k++)
				if (strcmp(s->headers[k].name, s->headers[i].name) == 0)
					rc = mk_err_set(err, MK_EINVAL,
							"spdy: header %s appears twice",
							s->headers[i].name);
		}
	}
	free(offs);
	free(vlens);
	if (rc)
		return -1;
	*n_out = n;
	return 0;
}

static int headers_of(struct spdy *s, const uint8_t *in, size_t len, struct spdy_frame *f,
		      struct mk_err **err)
{
	if (inflate_block(s, in, len, err) < 0 || parse_block(s, &f->n_headers, err) < 0)
		return -1;
	f->headers = s->headers;
	return 0;
}

int spdy_next(struct spdy *s, struct spdy_frame *f, struct mk_err **err)
{
	for (;;) {
		size_t avail = s->in.len - s->in_off;
		if (avail < 8)
			return 0; /* (before any arithmetic on in.data, NULL until fed) */
		const uint8_t *p = (const uint8_t *)s->in.data + s->in_off;
		uint32_t len = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		if (avail - 8 < len)
			return 0;
		const uint8_t *d = p + 8;
		s->in_off += 8 + (size_t)len;
		*f = (struct spdy_frame){.flags = p[4], .len = len};

		if (!(p[0] & 0x80)) {
			f->type = SPDY_DATA;
			f->stream_id = be32(p) & 0x7fffffff;
			f->data = d;
			if (f->stream_id == 0)
				return mk_err_set(err, MK_EINVAL, "spdy: data frame on stream 0");
			return 1;
		}
		unsigned version = (unsigned)(p[0] & 0x7f) << 8 | p[1];
		if (version != SPDY_VERSION)
			return mk_err_set(err, MK_EINVAL, "spdy: unsupported version %u", version);
		unsigned type = (unsigned)p[2] << 8 | p[3];
		f->type = (enum spdy_type)type;
		f->len = 0;
		switch (type) {
		case SPDY_SYN_STREAM:
			if (len < 10)
				return mk_err_set(err, MK_EINVAL, "spdy: SYN_STREAM too short");
			f->stream_id = be32(d) & 0x7fffffff;
			f->assoc_id = be32(d + 4) & 0x7fffffff;
			f->priority = d[8] >> 5;
			if (f->stream_id == 0)
				return mk_err_set(err, MK_EINVAL, "spdy: SYN_STREAM for stream 0");
			if (headers_of(s, d + 10, len - 10, f, err) < 0)
				return -1;
			return 1;
		case SPDY_SYN_REPLY:
		case SPDY_HEADERS:
			if (len < 4)
				return mk_err_set(err, MK_EINVAL, "spdy: control frame too short");
			f->stream_id = be32(d) & 0x7fffffff;
			if (f->stream_id == 0)
				return mk_err_set(err, MK_EINVAL,
						  "spdy: header frame for stream 0");
			if (headers_of(s, d + 4, len - 4, f, err) < 0)
				return -1;
			return 1;
		case SPDY_RST_STREAM:
			if (len != 8)
				return mk_err_set(err, MK_EINVAL, "spdy: RST_STREAM of %u bytes",
						  len);
			f->stream_id = be32(d) & 0x7fffffff;
			f->status = be32(d + 4);
			return 1;
		case SPDY_SETTINGS:
			if (len < 4 || be32(d) != (len - 4) / 8 || (len - 4) % 8 != 0)
				return mk_err_set(err, MK_EINVAL, "spdy: malformed SETTINGS");
			return 1;
		case SPDY_PING:
			if (len != 4)
				return mk_err_set(err, MK_EINVAL, "spdy: PING of %u bytes", len);
			f->ping_id = be32(d);
			return 1;
		case SPDY_GOAWAY:
			if (len != 8)
				return mk_err_set(err, MK_EINVAL, "spdy: GOAWAY of %u bytes", len);
			f->last_good_id = be32(d) & 0x7fffffff;
			f->status = be32(d + 4);
			return 1;
		case SPDY_WINDOW_UPDATE:
			if (len != 8)
				return mk_err_set(err, MK_EINVAL, "spdy: WINDOW_UPDATE of %u bytes",
						  len);
			f->stream_id = be32(d) & 0x7fffffff;
			f->delta = be32(d + 4) & 0x7fffffff;
			return 1;
		default:
			/* unknown control frames are ignored (§2.2.1) */
			continue;
		}
	}
}

const char *spdy_frame_header(const struct spdy_frame *f, const char *name)
{
	for (size_t i = 0; i < f->n_headers; i++)
		if (strcasecmp(f->headers[i].name, name) == 0)
			return f->headers[i].value;
	return NULL;
}

/* ---- encoding ---- */

static void put_control_header(struct buf *out, unsigned type, uint8_t flags, size_t len)
{
	uint8_t h[8] = {0x80,  SPDY_VERSION,	     (uint8_t)(type >> 8), (uint8_t)type,
			flags, (uint8_t)(len >> 16), (uint8_t)(len >> 8),  (uint8_t)len};
	buf_append(out, h, 8);
}

/* Compresses headers into s->packed with the session's context. */
static void pack_headers(struct spdy *s, const struct spdy_header *headers, size_t n)
{
	buf_reset(&s->plain);
	put32(&s->plain, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(headers[i].name);
		put32(&s->plain, (uint32_t)nl);
		size_t at = s->plain.len;
		buf_append(&s->plain, headers[i].name, nl);
		for (size_t k = 0; k < nl; k++)
			if (s->plain.data[at + k] >= 'A' && s->plain.data[at + k] <= 'Z')
				s->plain.data[at + k] += 'a' - 'A';
		put32(&s->plain, (uint32_t)headers[i].value_len);
		buf_append(&s->plain, headers[i].value, headers[i].value_len);
	}
	buf_reset(&s->packed);
	z_stream *z = &s->deflate;
	z->next_in = (Bytef *)s->plain.data;
	z->avail_in = (uInt)s->plain.len;
	do {
		buf_grow(&s->packed, s->plain.len + 64);
		z->next_out = (Bytef *)s->packed.data + s->packed.len;
		z->avail_out = (uInt)(s->packed.cap - s->packed.len - 1);
		uInt before = z->avail_out;
		/* cannot fail with a valid stream and room to write */
		(void)deflate(z, Z_SYNC_FLUSH);
		s->packed.len += before - z->avail_out;
	} while (z->avail_out == 0);
}

void spdy_put_syn_stream(struct spdy *s, struct buf *out, uint32_t stream_id, uint8_t flags,
			 const struct spdy_header *headers, size_t n)
{
	pack_headers(s, headers, n);
	put_control_header(out, SPDY_SYN_STREAM, flags, 10 + s->packed.len);
	put32(out, stream_id & 0x7fffffff);
	put32(out, 0);
	uint8_t pri[2] = {0, 0};
	buf_append(out, pri, 2);
	buf_append(out, s->packed.data, s->packed.len);
}

void spdy_put_syn_reply(struct spdy *s, struct buf *out, uint32_t stream_id, uint8_t flags,
			const struct spdy_header *headers, size_t n)
{
	pack_headers(s, headers, n);
	put_control_header(out, SPDY_SYN_REPLY, flags, 4 + s->packed.len);
	put32(out, stream_id & 0x7fffffff);
	buf_append(out, s->packed.data, s->packed.len);
}

void spdy_put_data_header(struct buf *out, uint32_t stream_id, uint8_t flags, size_t len)
{
	put32(out, stream_id & 0x7fffffff);
	uint8_t h[4] = {flags, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	buf_append(out, h, 4);
}

void spdy_put_data(struct buf *out, uint32_t stream_id, uint8_t flags, const void *data, size_t len)
{
	spdy_put_data_header(out, stream_id, flags, len);
	buf_append(out, data, len);
}

void spdy_put_rst_stream(struct buf *out, uint32_t stream_id, uint32_t status)
{
	put_control_header(out, SPDY_RST_STREAM, 0, 8);
	put32(out, stream_id & 0x7fffffff);
	put32(out, status);
}

void spdy_put_ping(struct buf *out, uint32_t id)
{
	put_control_header(out, SPDY_PING, 0, 4);
	put32(out, id);
}

void spdy_put_goaway(struct buf *out, uint32_t last_good_id, uint32_t status)
{
	put_control_header(out, SPDY_GOAWAY, 0, 8);
	put32(out, last_good_id & 0x7fffffff);
	put32(out, status);
}

void spdy_put_window_update(struct buf *out, uint32_t stream_id, uint32_t delta)
{
	put_control_header(out, SPDY_WINDOW_UPDATE, 0, 8);
	put32(out, stream_id & 0x7fffffff);
	put32(out, delta & 0x7fffffff);
}
