#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

int fs_mkdir_p(const char *path, mode_t mode, struct mk_err **err)
{
	cleanup_free char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return mk_err_errno(err, MK_EIO, errno, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return mk_err_errno(err, MK_EIO, errno, "mkdir %s", p);
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_atomic(const char *path, const char *data, size_t len, mode_t mode, bool sync,
			struct mk_err **err)
{
	cleanup_free char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "writing %s", tmp);
	if (fs_write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return mk_err_errno(err, MK_EIO, e, "writing %s", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return mk_err_errno(err, MK_EIO, e, "renaming %s", tmp);
	}
	return 0;
}

int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
		    struct mk_err **err)
{
	return write_atomic(path, data, len, mode, true, err);
}

int fs_write_atomic_nosync(const char *path, const char *data, size_t len, mode_t mode,
			   struct mk_err **err)
{
	return write_atomic(path, data, len, mode, false, err);
}

char *fs_read_fd(int fd, const char *what, size_t max, size_t *len, struct mk_err **err)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return mk_err_errno(err, MK_EIO, errno, "read %s", what), NULL;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			buf_free(&b);
			return mk_err_set(err, MK_ETOOLARGE, "%s is larger than %zu bytes", what,
					  max),
			       NULL;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

char *fs_read_file(const char *path, size_t max, size_t *len, struct mk_err **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno, "open %s",
				    path),
		       NULL;
	return fs_read_fd(fd, path, max, len, err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **fs_list_dir(const char *dir, bool (*want)(const char *name, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	size_t n = 0;
	char **v = xcalloc(1, sizeof(*v));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (want && !want(e->d_name, arg))
			continue;
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = xstrdup(e->d_name);
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_names);
	return v;
}

static int remove_at(const char *path, dev_t dev, struct mk_err **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mk_err_errno(err, MK_EIO, errno, "lstat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return mk_err_errno(err, MK_EIO, errno, "unlink %s", path);
		return 0;
	}
	if (st.st_dev != dev)
		return mk_err_set(err, MK_EIO, "%s is a mount point", path);
	DIR *d = opendir(path);
	if (!d)
		return mk_err_errno(err, MK_EIO, errno, "opendir %s", path);
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cleanup_free char *child = xasprintf("%s/%s", path, e->d_name);
		if (remove_at(child, dev, err) < 0)
			rc = -1;
	}
	closedir(d);
	if (rc == 0 && rmdir(path) < 0 && errno != ENOENT)
		return mk_err_errno(err, MK_EIO, errno, "rmdir %s", path);
	return rc;
}

int fs_remove_tree(const char *path, struct mk_err **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mk_err_errno(err, MK_EIO, errno, "lstat %s", path);
	return remove_at(path, st.st_dev, err);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] && p[3]) {
			*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

void fs_unmount_below(const char *dir)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	size_t n = 0, cap = 8;
	char **points = xmalloc(cap * sizeof(*points));
	char *line = NULL;
	size_t lcap = 0;
	size_t dl = strlen(dir);
	while (getline(&line, &lcap, f) > 0) {
		char *save = NULL, *field = strtok_r(line, " ", &save);
		for (int i = 0; i < 4 && field; i++)
			field = strtok_r(NULL, " ", &save);
		if (!field)
			continue;
		unescape(field);
		if (strncmp(field, dir, dl) || (field[dl] != '\0' && field[dl] != '/'))
			continue;
		if (n == cap) {
			cap *= 2;
			points = xrealloc(points, cap * sizeof(*points));
		}
		points[n++] = xstrdup(field);
	}
	free(line);
	/* mountinfo lists parents before children: undo in reverse */
	for (size_t i = n; i > 0; i--) {
		umount2(points[i - 1], MNT_DETACH);
		free(points[i - 1]);
	}
	free(points);
}
