/* Recorded sysctl changes (see the header). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "netlink.h"
#include "sysctls.h"
#include "xalloc.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* A record file holds lines "<name> <value found> <value set>". */
#define RECORD_MAX 65536

char *sysctls_record_path(struct mk_err **err)
{
	/* the namespace's cookie, unlike its inode number, is never given to
	 * another namespace while the machine runs: a record left by a
	 * namespace that is gone cannot be taken for a new one's */
	cleanup_close int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0) {
		mk_err_errno(err, MK_EIO, errno, "reading the network namespace's cookie");
		return NULL;
	}
	return xasprintf("%s/sysctl-netns-%llu", SYSCTLS_DIR, (unsigned long long)cookie);
}

struct entry {
	char *name, *found, *set;
};

struct record {
	struct entry *v;
	size_t n;
};

static void record_free(struct record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].found);
		free(r->v[i].set);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* A missing file is an empty record; lines that do not parse are skipped. */
static int record_read(const char *path, struct record *r, struct mk_err **err)
{
	r->v = NULL;
	r->n = 0;
	cleanup_err struct mk_err *rerr = NULL;
	cleanup_free char *text = fs_read_file(path, RECORD_MAX, NULL, &rerr);
	if (!text) {
		if (mk_err_code(rerr) == MK_ENOTFOUND)
			return 0;
		return mk_err_set(err, mk_err_code(rerr), "%s", mk_err_msg(rerr));
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL;
		char *name = strtok_r(line, " ", &s2);
		char *found = strtok_r(NULL, " ", &s2);
		char *set = strtok_r(NULL, " ", &s2);
		if (!name || !found || !set)
			continue;
		r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
		r->v[r->n++] = (struct entry){xstrdup(name), xstrdup(found), xstrdup(set)};
	}
	return 0;
}

static int record_write(const char *path, const struct record *r, struct mk_err **err)
{
	if (fs_mkdir_p(SYSCTLS_DIR, 0700, err) < 0)
		return -1;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < r->n; i++)
		buf_printf(&b, "%s %s %s\n", r->v[i].name, r->v[i].found, r->v[i].set);
	int rc = fs_write_atomic(path, b.data ? b.data : "", b.len, 0600, err);
	buf_free(&b);
	return rc;
}

/* Values as the kernel prints them may hold tabs (multi-valued settings):
 * the record keeps words separated by one space, without blanks inside. */
static bool one_word(const char *v)
{
	return *v && !strpbrk(v, " \t\n");
}

int sysctls_set(const char *name, const char *value, struct mk_err **err)
{
	cleanup_free char *cur = nl_sysctl_get(name, err);
	if (!cur)
		return -1;
	if (!strcmp(cur, value))
		return 0;
	if (!one_word(cur) || !one_word(value) || !one_word(name))
		return mk_err_set(err, MK_EINVAL, "sysctl %s: cannot record the value \"%s\"", name,
				  cur);
	cleanup_free char *path = sysctls_record_path(err);
	if (!path)
		return -1;
	struct record r;
	if (record_read(path, &r, err) < 0)
		return -1;
	struct entry *e = NULL;
	for (size_t i = 0; i < r.n && !e; i++)
		if (!strcmp(r.v[i].name, name))
			e = &r.v[i];
	if (!e) {
		r.v = xrealloc(r.v, (r.n + 1) * sizeof(*r.v));
		e = &r.v[r.n++];
		*e = (struct entry){xstrdup(name), NULL, NULL};
	}
	/* the value found is the one to put back, unless it is our own of an
	 * earlier run (not restored yet), whose record already holds the
	 * original */
	if (!e->set || strcmp(e->set, cur)) {
		free(e->found);
		e->found = xstrdup(cur);
	}
	free(e->set);
	e->set = xstrdup(value);
	int rc = record_write(path, &r, err);
	record_free(&r);
	if (rc < 0)
		return mk_err_wrap(err, "recording sysctl %s", name);
	if (nl_sysctl_set(name, value, err) < 0)
		return -1;
	log_info("Set sysctl %s to %s (was %s)", name, value, cur);
	return 0;
}

int sysctls_restore(size_t *restored, struct mk_err **err)
{
	*restored = 0;
	cleanup_free char *path = sysctls_record_path(err);
	if (!path)
		return -1;
	struct record r;
	if (record_read(path, &r, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < r.n && rc == 0; i++) {
		const struct entry *e = &r.v[i];
		cleanup_err struct mk_err *gerr = NULL;
		cleanup_free char *cur = nl_sysctl_get(e->name, &gerr);
		if (!cur) {
			log_warn("Not restoring sysctl %s: %s", e->name, mk_err_msg(gerr));
			continue;
		}
		if (strcmp(cur, e->set)) {
			log_info("Not restoring sysctl %s to %s: it is %s, not the %s kube-proxy set",
				 e->name, e->found, cur, e->set);
			continue;
		}
		rc = nl_sysctl_set(e->name, e->found, err);
		if (rc == 0) {
			log_info("Restored sysctl %s to %s", e->name, e->found);
			(*restored)++;
		}
	}
	record_free(&r);
	if (rc < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return mk_err_errno(err, MK_EIO, errno, "removing %s", path);
	return 0;
}
