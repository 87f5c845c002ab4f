/* File-system chores the kubelet and the image store share: directories
 * made with their parents, files replaced atomically, trees removed without
 * crossing into mounts, and mounts below a directory undone. */
#ifndef MK_FSUTIL_H
#define MK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p: parents get 0755, path itself mode; existing ones are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct mk_err **err);

/* Writes all len bytes to fd, again after EINTR and short writes: -1 with
 * errno on failure. */
int fs_write_all(int fd, const void *data, size_t len);

/* Writes len bytes to path through "<path>.tmp" + fsync + rename, so a
 * reader or a crash sees the old or the new content, never part. */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
		    struct mk_err **err);
/* The same without the fsync (which costs 10-40 ms on a busy disk): a
 * reader or a crashed process still sees the old or the new content, but a
 * power loss may lose the file. For files that matter only while the
 * machine runs and are made again after a reboot: runtime state, a
 * bundle's config.json, a pod's /etc/hosts. */
int fs_write_atomic_nosync(const char *path, const char *data, size_t len, mode_t mode,
			   struct mk_err **err);

/* Reads a whole file (at most max bytes; MK_ETOOLARGE beyond): new string
 * (NUL-terminated, *len without it; len may be NULL). MK_ENOTFOUND when the
 * file does not exist. */
char *fs_read_file(const char *path, size_t max, size_t *len, struct mk_err **err);

/* Reads fd to its end, as fs_read_file (what names it in errors); fd stays
 * open and is the caller's. */
char *fs_read_fd(int fd, const char *what, size_t max, size_t *len, struct mk_err **err);

/* rm -rf that stays on path's file system: a directory on another device
 * below path (a mount) is left alone and makes the call fail. A missing
 * path is fine. */
int fs_remove_tree(const char *path, struct mk_err **err);

/* The names in dir that want(name, arg) accepts (every one but "." and
 * ".." when want is NULL), sorted bytewise: a new NULL-terminated array
 * (strv_free, cleanup_strv). NULL with errno when dir cannot be read. */
char **fs_list_dir(const char *dir, bool (*want)(const char *name, void *arg), void *arg);

/* Lazily unmounts every mount point at or below dir, deepest first. */
void fs_unmount_below(const char *dir);

#endif
