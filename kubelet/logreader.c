#include "kubelet/logreader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

/* Output formatted ahead of the caller, and the longest line kept waiting
 * for its newline (the monitor writes at most 16 KiB of text per line). */
#define OUT_AHEAD (64 * 1024)
#define MAX_LINE  (1024 * 1024)
#define READ_SIZE (128 * 1024)

struct logreader {
	struct logreader_opts o;
	char *path, *dir, *base;
	char **files; /* rotated files, oldest first, then the live path */
	size_t nfiles;
	size_t idx; /* the file being read */
	int fd;
	dev_t dev;
	ino_t ino;
	struct buf in;
	size_t in_off;
	struct buf out;
	size_t out_off;
	long long written;
	bool done;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

long long logreader_parse_time(const char *s, size_t len)
{
	/* YYYY-MM-DDTHH:MM:SS */
	if (len < 20)
		return -1;
	for (size_t i = 0; i < 19; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9';
		char want = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : 0;
		if (want ? s[i] != want : !digit)
			return -1;
	}
	struct tm tm = {0};
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	tm.tm_hour = (s[11] - '0') * 10 + (s[12] - '0');
	tm.tm_min = (s[14] - '0') * 10 + (s[15] - '0');
	tm.tm_sec = (s[17] - '0') * 10 + (s[18] - '0');
	size_t i = 19;
	long long ns = 0;
	if (s[i] == '.') {
		long long scale = 100000000;
		i++;
		size_t digits = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (digits++ < 9) {
				ns += (s[i] - '0') * scale;
				scale /= 10;
			}
			i++;
		}
		if (!digits)
			return -1;
	}
	long offset = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int h = atoi(s + i + 1), m = atoi(s + i + 4);
		offset = (h * 3600L + m * 60L) * (s[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	time_t t = timegm(&tm);
	/* Unix nanoseconds hold years 1678 to 2262 */
	long long r;
	if (__builtin_mul_overflow((long long)t - offset, 1000000000LL, &r) ||
	    __builtin_add_overflow(r, ns, &r))
		return -1;
	return r;
}

/* Appends ts as Go's RFC3339Nano prints a UTC time: a zero offset as Z,
 * trailing zeros of the fraction dropped. */
static void put_time(struct buf *out, const char *ts, size_t len)
{
	size_t end = len;
	bool utc = false;
	if (len >= 6 &&
	    (memcmp(ts + len - 6, "+00:00", 6) == 0 || memcmp(ts + len - 6, "-00:00", 6) == 0)) {
		end = len - 6;
		utc = true;
	} else if (len && (ts[len - 1] == 'Z' || ts[len - 1] == 'z')) {
		end = len - 1;
		utc = true;
	}
	if (!utc) {
		buf_append(out, ts, len);
		return;
	}
	const char *dot = memchr(ts, '.', end);
	size_t keep = end;
	if (dot) {
		while (keep > (size_t)(dot - ts) + 1 && ts[keep - 1] == '0')
			keep--;
		if (keep == (size_t)(dot - ts) + 1)
			keep--;
	}
	buf_append(out, ts, keep);
	buf_append_char(out, 'Z');
}

/* Formats the complete lines waiting in l->in; true if any was consumed. */
static bool format_lines(struct logreader *l)
{
	bool progress = false;
	while (l->out.len - l->out_off < OUT_AHEAD) {
		size_t avail = l->in.len - l->in_off;
		if (!avail)
			break; /* (in.data is NULL until something was read) */
		const char *p = l->in.data + l->in_off;
		const char *e = memchr(p, '\n', avail);
		if (!e) {
			if (avail > MAX_LINE) {
				/* no newline in sight: not a CRI log line */
				l->in_off = l->in.len;
				progress = true;
			}
			break;
		}
		size_t n = (size_t)(e - p);
		l->in_off += n + 1;
		progress = true;
		const char *s1 = memchr(p, ' ', n);
		const char *s2 = s1 ? memchr(s1 + 1, ' ', n - (size_t)(s1 + 1 - p)) : NULL;
		if (!s2)
			continue;
		size_t stream_len = (size_t)(s2 - s1 - 1);
		if (!((stream_len == 6 && memcmp(s1 + 1, "stdout", 6) == 0) ||
		      (stream_len == 6 && memcmp(s1 + 1, "stderr", 6) == 0)))
			continue;
		const char *tag = s2 + 1;
		const char *s3 = memchr(tag, ' ', n - (size_t)(tag - p));
		const char *text = s3 ? s3 + 1 : e;
		char t0 = tag < e ? tag[0] : 0;
		if (t0 != 'F' && t0 != 'P')
			continue;
		if (tag + 1 < e && tag[1] != ' ' && tag[1] != ':')
			continue;
		size_t ts_len = (size_t)(s1 - p);
		if (l->o.since_ns > 0) {
			long long t = logreader_parse_time(p, ts_len);
			if (t < 0 || t < l->o.since_ns)
				continue;
		}
		if (l->o.timestamps) {
			put_time(&l->out, p, ts_len);
			buf_append_char(&l->out, ' ');
		}
		buf_append(&l->out, text, (size_t)(e - text));
		if (t0 == 'F')
			buf_append_char(&l->out, '\n');
	}
	if (l->in_off == l->in.len) {
		l->in.len = 0;
		l->in_off = 0;
	}
	return progress;
}

static void close_file(struct logreader *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	/* a piece of a line cut by the file's end is not a line */
	buf_reset(&l->in);
	l->in_off = 0;
}

/* Opens files[idx] at offset; false when it is gone (rotated away and
 * removed since the listing, or no live file yet). */
static bool open_file(struct logreader *l, size_t idx, off_t offset)
{
	close_file(l);
	l->idx = idx;
	int fd = open(l->files[idx], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return false;
	}
	if (offset > 0 && lseek(fd, offset, SEEK_SET) < 0) {
		close(fd);
		return false;
	}
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return true;
}

/* Where the last tail_lines lines start: *idx and *offset. */
static void find_tail(struct logreader *l, size_t *idx, off_t *offset)
{
	long long need = l->o.tail_lines, found = 0;
	char chunk[65536];
	for (size_t i = l->nfiles; i-- > 0;) {
		cleanup_close int fd = open(l->files[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
			continue;
		off_t end = st.st_size;
		while (end > 0) {
			off_t start = end > (off_t)sizeof(chunk) ? end - (off_t)sizeof(chunk) : 0;
			ssize_t r = pread(fd, chunk, (size_t)(end - start), start);
			if (r <= 0)
				break;
			for (ssize_t k = r - 1; k >= 0; k--) {
				off_t pos = start + k;
				/* a newline before the file's last byte starts a line */
				if (chunk[k] == '\n' && pos != st.st_size - 1 && ++found == need) {
					*idx = i;
					*offset = pos + 1;
					return;
				}
			}
			end = start;
		}
		/* the file's first line */
		if (++found == need) {
			*idx = i;
			*offset = 0;
			return;
		}
	}
	*idx = 0;
	*offset = 0;
}

struct logreader *logreader_open(const char *path, const struct logreader_opts *o,
				 struct mk_err **err)
{
	struct logreader *l = xcalloc(1, sizeof(*l));
	l->o = *o;
	l->fd = -1;
	l->in = (struct buf)BUF_INIT;
	l->out = (struct buf)BUF_INIT;
	l->path = xstrdup(path);
	char *slash = strrchr(l->path, '/');
	l->dir = slash ? xstrndup(l->path, (size_t)(slash - l->path)) : xstrdup(".");
	l->base = xstrdup(slash ? slash + 1 : l->path);

	size_t bl = strlen(l->base);
	DIR *d = opendir(l->dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, l->base, bl) != 0 || de->d_name[bl] != '.' ||
			    !de->d_name[bl + 1])
				continue;
			l->files = xrealloc(l->files, (l->nfiles + 2) * sizeof(*l->files));
			l->files[l->nfiles++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	if (l->nfiles)
		qsort(l->files, l->nfiles, sizeof(*l->files), cmp_names);
	for (size_t i = 0; i < l->nfiles; i++) {
		char *full = xasprintf("%s/%s", l->dir, l->files[i]);
		free(l->files[i]);
		l->files[i] = full;
	}
	l->files = xrealloc(l->files, (l->nfiles + 1) * sizeof(*l->files));
	l->files[l->nfiles++] = xstrdup(path);

	if (access(path, F_OK) == 0 && access(path, R_OK) < 0) {
		mk_err_errno(err, MK_EIO, errno, "open %s", path);
		logreader_free(l);
		return NULL;
	}
	size_t idx = 0;
	off_t offset = 0;
	if (o->tail_lines == 0) {
		struct stat st;
		idx = l->nfiles - 1;
		offset = stat(path, &st) == 0 ? st.st_size : 0;
		if (!o->follow)
			l->done = true;
	} else if (o->tail_lines > 0) {
		find_tail(l, &idx, &offset);
	}
	if (o->limit_bytes == 0)
		l->done = true;
	while (!l->done && !open_file(l, idx, offset) && idx + 1 < l->nfiles) {
		idx++;
		offset = 0;
	}
	return l;
}

void logreader_free(struct logreader *l)
{
	if (!l)
		return;
	close_file(l);
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->path);
	free(l->dir);
	free(l->base);
	buf_free(&l->in);
	buf_free(&l->out);
	free(l);
}

const char *logreader_dir(const struct logreader *l)
{
	return l->dir;
}

/* Reads more of the open file: >0 bytes, 0 at its end, -1 on error. */
static ssize_t fill(struct logreader *l)
{
	if (l->fd < 0)
		return 0;
	if (l->in_off > 0) {
		memmove(l->in.data, l->in.data + l->in_off, l->in.len - l->in_off);
		l->in.len -= l->in_off;
		l->in_off = 0;
	}
	buf_grow(&l->in, READ_SIZE);
	for (;;) {
		ssize_t r = read(l->fd, l->in.data + l->in.len, READ_SIZE);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) {
			l->in.len += (size_t)r;
			l->in.data[l->in.len] = '\0';
		}
		return r;
	}
}

/* The live path names another file than the one open (or there is one and
 * none is open): the log was rotated. */
static bool rotated(struct logreader *l)
{
	struct stat st;
	if (stat(l->path, &st) < 0)
		return false;
	return l->fd < 0 || st.st_dev != l->dev || st.st_ino != l->ino;
}

long logreader_read(struct logreader *l, char *out, size_t max, bool stopped)
{
	bool draining = false;
	for (;;) {
		if (l->o.limit_bytes >= 0 && l->written >= l->o.limit_bytes)
			l->done = true;
		size_t pending = l->out.len - l->out_off;
		if (pending > 0 && max > 0 && !l->done) {
			size_t n = pending < max ? pending : max;
			if (l->o.limit_bytes >= 0 && (long long)n > l->o.limit_bytes - l->written)
				n = (size_t)(l->o.limit_bytes - l->written);
			memcpy(out, l->out.data + l->out_off, n);
			l->out_off += n;
			l->written += (long long)n;
			if (l->out_off == l->out.len) {
				buf_reset(&l->out);
				l->out_off = 0;
			}
			return (long)n;
		}
		if (l->done)
			return -1;
		if (format_lines(l))
			continue;
		ssize_t r = fill(l);
		if (r > 0) {
			draining = false;
			continue;
		}
		if (r < 0) {
			l->done = true;
			continue;
		}
		/* the end of the file being read */
		if (l->idx + 1 < l->nfiles) {
			size_t next = l->idx + 1;
			while (!open_file(l, next, 0) && next + 1 < l->nfiles)
				next++;
			continue;
		}
		if (!l->o.follow) {
			l->done = true;
			continue;
		}
		if (rotated(l)) {
			/* lines written to the old file before the new one was
			 * made are read first */
			if (!draining && l->fd >= 0) {
				draining = true;
				continue;
			}
			open_file(l, l->nfiles - 1, 0);
			draining = false;
			continue;
		}
		if (stopped) {
			l->done = true;
			continue;
		}
		return 0;
	}
}
