#include "buf.h"
#include <stdbool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_steal(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

void buf_append_go_quoted(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	static const char *const named[128] = {
		['"'] = "\\\"", ['\\'] = "\\\\", ['\a'] = "\\a", ['\b'] = "\\b", ['\f'] = "\\f",
		['\n'] = "\\n", ['\r'] = "\\r",	 ['\t'] = "\\t", ['\v'] = "\\v",
	};
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	buf_append_char(b, '"');
	while (p < end) {
		unsigned char ch = *p;
		/* a valid UTF-8 sequence is kept whole */
		size_t len = ch >= 0xc2 && ch < 0xe0   ? 2
			     : ch >= 0xe0 && ch < 0xf0 ? 3
			     : ch >= 0xf0 && ch < 0xf5 ? 4
						       : 0;
		bool ok = len > 0 && len <= (size_t)(end - p);
		for (size_t i = 1; ok && i < len; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok) {
			buf_append(b, p, len);
			p += len;
			continue;
		}
		if (ch < 0x80 && named[ch]) {
			buf_append_str(b, named[ch]);
		} else if (ch < 0x20 || ch >= 0x7f) {
			char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
			buf_append(b, esc, 4);
		} else {
			buf_append_char(b, (char)ch);
		}
		p++;
	}
	buf_append_char(b, '"');
}
