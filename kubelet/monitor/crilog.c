#include "crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "xalloc.h"

size_t crilog_timestamp(const struct timespec *ts, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= size)
		return 0;
	size_t len = (size_t)n;
	if (ts->tv_nsec > 0) {
		char frac[24];
		snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
		size_t fl = strlen(frac);
		while (frac[fl - 1] == '0')
			frac[--fl] = '\0';
		if (len + fl + 1 >= size)
			return 0;
		memcpy(out + len, frac, fl);
		len += fl;
	}
	if (len + 2 > size)
		return 0;
	out[len++] = 'Z';
	out[len] = '\0';
	return len;
}

static int open_log(const char *path, struct mk_err **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno,
				    "open log %s", path);
	return fd;
}

int crilog_open(struct crilog *l, const char *path, struct mk_err **err)
{
	*l = (struct crilog){.fd = -1, .max_line = CRILOG_MAX_LINE};
	int fd = open_log(path, err);
	if (fd < 0)
		return -1;
	l->fd = fd;
	l->path = xstrdup(path);
	return 0;
}

int crilog_reopen(struct crilog *l, struct mk_err **err)
{
	int fd = open_log(l->path, err);
	if (fd < 0)
		return -1;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	return 0;
}

static void write_line(struct crilog *l, enum crilog_stream s, const char *text, size_t len,
		       bool full, const struct timespec *now)
{
	char head[64];
	size_t hl = crilog_timestamp(now, head, sizeof(head) - 10);
	int n = snprintf(head + hl, sizeof(head) - hl, " %s %c ",
			 s == CRILOG_STDOUT ? "stdout" : "stderr", full ? 'F' : 'P');
	hl += (size_t)n;
	struct iovec iov[3] = {
		{.iov_base = head, .iov_len = hl},
		{.iov_base = (void *)text, .iov_len = len},
		{.iov_base = "\n", .iov_len = 1},
	};
	size_t total = hl + len + 1;
	ssize_t w;
	do
		w = writev(l->fd, iov, 3);
	while (w < 0 && errno == EINTR);
	/* A regular file on O_APPEND takes the whole line or fails (ENOSPC,
	 * EIO); the monitor has no one to tell, so it counts the loss. */
	if (w < 0 || (size_t)w != total)
		l->write_errors++;
}

/* Emits the complete line text[0..len) (without its "\n"), dropping a "\r". */
static void emit_full(struct crilog *l, enum crilog_stream s, const char *text, size_t len,
		      const struct timespec *now)
{
	if (len && text[len - 1] == '\r')
		len--;
	write_line(l, s, text, len, true, now);
}

void crilog_feed(struct crilog *l, enum crilog_stream s, const char *data, size_t len,
		 const struct timespec *now)
{
	struct buf *p = &l->pending[s];
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (nl && p->len + take + 1 <= l->max_line) {
			if (p->len) {
				buf_append(p, data, take);
				emit_full(l, s, p->data, p->len, now);
				buf_reset(p);
			} else {
				emit_full(l, s, data, take, now);
			}
			data += take + 1;
			len -= take + 1;
			continue;
		}
		/* no newline in reach: fill the pending piece up to the maximum */
		size_t room = l->max_line - p->len;
		size_t chunk = take < room ? take : room;
		buf_append(p, data, chunk);
		data += chunk;
		len -= chunk;
		if (p->len == l->max_line) {
			/* A "\r" that may belong to a "\r\n" split at the boundary
			 * stays for the next piece, as containerd's reader does. */
			size_t out = p->len;
			if (p->data[out - 1] == '\r' && out > 1)
				out--;
			write_line(l, s, p->data, out, false, now);
			size_t keep = p->len - out;
			memmove(p->data, p->data + out, keep);
			p->len = keep;
			p->data[keep] = '\0';
		}
	}
}

void crilog_flush(struct crilog *l, enum crilog_stream s, const struct timespec *now)
{
	struct buf *p = &l->pending[s];
	if (!p->len)
		return;
	write_line(l, s, p->data, p->len, true, now);
	buf_reset(p);
}

void crilog_close(struct crilog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
	buf_free(&l->pending[0]);
	buf_free(&l->pending[1]);
}
