#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "netlink.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct pin {
	const char *path;
	struct mk_err *err;
};

static int lo_up(struct nl_sock *s, void *arg, struct mk_err **err)
{
	(void)arg;
	int idx = nl_link_index(s, "lo", err);
	if (idx < 0)
		return -1;
	return nl_link_set_up(s, idx, true, err);
}

/* Runs on a thread of its own so that unshare() changes only this thread's
 * namespace, which ends with the thread once pinned. */
static void *pin_main(void *arg)
{
	struct pin *p = arg;
	if (unshare(CLONE_NEWNET) < 0) {
		mk_err_errno(&p->err, MK_EIO, errno, "unshare(CLONE_NEWNET)");
		return NULL;
	}
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	if (mount(self, p->path, "none", MS_BIND, NULL) < 0) {
		mk_err_errno(&p->err, MK_EIO, errno, "pinning the namespace at %s", p->path);
		return NULL;
	}
	if (nl_netns_run(-1, lo_up, NULL, &p->err) < 0)
		mk_err_wrap(&p->err, "bringing lo up");
	return NULL;
}

int netns_create(const char *path, struct mk_err **err)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return mk_err_errno(err, errno == EEXIST ? MK_EEXISTS : MK_EIO, errno, "creating %s",
				    path);
	close(fd);
	struct pin p = {.path = path};
	pthread_t t;
	int e = pthread_create(&t, NULL, pin_main, &p);
	if (e) {
		unlink(path);
		return mk_err_errno(err, MK_EIO, e, "creating a network namespace");
	}
	pthread_join(t, NULL);
	if (p.err) {
		umount2(path, MNT_DETACH);
		unlink(path);
		int code = mk_err_code(p.err);
		mk_err_set(err, code, "%s", mk_err_msg(p.err));
		mk_err_free(p.err);
		return -1;
	}
	return 0;
}

int netns_is_pinned(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == (unsigned long)NSFS_MAGIC;
}

int netns_delete(const char *path, struct mk_err **err)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return mk_err_errno(err, MK_EIO, errno, "unpinning %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return mk_err_errno(err, MK_EIO, errno, "removing %s", path);
	return 0;
}
