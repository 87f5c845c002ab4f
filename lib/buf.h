/* Growable byte buffer, always NUL-terminated, for outside data of any size. */
#ifndef MK_BUF_H
#define MK_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT {.data = NULL, .len = 0, .cap = 0}

void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends Go's strconv.Quote (what upstream's %q prints) of the n bytes at
 * s: quotes, backslashes and control characters escaped, valid UTF-8 kept,
 * a stray byte as \xNN. */
void buf_append_go_quoted(struct buf *b, const char *s, size_t n);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Returns the contents as a new NUL-terminated string ("" if empty) and
 * leaves the buffer empty; free() it. */
char *buf_steal(struct buf *b);
/* Frees the contents; accepts an empty buffer. */
void buf_free(struct buf *b);
/* Contents as a string, borrowed until the next change ("" if empty). */
const char *buf_str(const struct buf *b);

static inline void cleanup_bufp(struct buf *b)
{
	buf_free(b);
}
#define cleanup_buf __attribute__((cleanup(cleanup_bufp)))

#endif
