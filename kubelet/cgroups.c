#include "cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "quantity.h"
#include "xalloc.h"

#define MIN_SHARES     2
#define MAX_SHARES     262144
#define SHARES_PER_CPU 1024
#define MILLI_PER_CPU  1000
#define QUOTA_PERIOD   100000
#define MIN_QUOTA      1000

/* ---- mountinfo ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* The controllers named in a v1 mount's super options ("rw,cpu,cpuacct" ->
 * "cpu,cpuacct"; "rw,name=systemd" -> "name=systemd"). */
static char *v1_controllers(const char *superopts)
{
	static const char *const skip[] = {
		"rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", NULL};
	struct buf b = BUF_INIT;
	cleanup_free char *copy = xstrdup(superopts);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool skipped = false;
		for (size_t i = 0; skip[i]; i++)
			if (!strcmp(t, skip[i]))
				skipped = true;
		if (skipped || !strncmp(t, "release_agent=", 14))
			continue;
		if (b.len)
			buf_append_char(&b, ',');
		buf_append_str(&b, t);
	}
	return buf_steal(&b);
}

struct cgroups *cgroups_parse_mountinfo(const char *text, struct mk_err **err)
{
	struct cgroups *cg = xcalloc(1, sizeof(*cg));
	struct cgroups_hierarchy v2 = {0};
	bool root_v2 = false;
	const char *line = text;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		cleanup_free char *l = xstrndup(line, len);
		line = end ? end + 1 : NULL;
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *f[6] = {0};
		char *save = NULL, *t = strtok_r(l, " ", &save);
		for (int i = 0; i < 6 && t; i++, t = strtok_r(NULL, " ", &save))
			f[i] = t;
		while (t && strcmp(t, "-"))
			t = strtok_r(NULL, " ", &save);
		if (!f[4] || !t)
			continue;
		char *fstype = strtok_r(NULL, " ", &save);
		char *source = strtok_r(NULL, " ", &save);
		char *superopts = strtok_r(NULL, " ", &save);
		(void)source;
		if (!fstype || !superopts || strcmp(f[3], "/"))
			continue;
		if (!strcmp(fstype, "cgroup2")) {
			if (v2.mount)
				continue;
			v2.mount = unescape_octal(f[4]);
			v2.controllers = xstrdup("");
			v2.v2 = true;
			root_v2 = !strcmp(v2.mount, "/sys/fs/cgroup");
			continue;
		}
		if (strcmp(fstype, "cgroup"))
			continue;
		char *ctl = v1_controllers(superopts);
		bool dup = !*ctl;
		for (size_t i = 0; i < cg->n && !dup; i++)
			dup = !strcmp(cg->h[i].controllers, ctl);
		if (dup) {
			free(ctl);
			continue;
		}
		cg->h = xrealloc(cg->h, (cg->n + 1) * sizeof(*cg->h));
		cg->h[cg->n++] = (struct cgroups_hierarchy){
			.controllers = ctl, .mount = unescape_octal(f[4]), .v2 = false};
	}
	if (!cg->n && !v2.mount) {
		cgroups_free(cg);
		mk_err_set(err, MK_ENOTFOUND, "no cgroup file system mounted");
		return NULL;
	}
	if (v2.mount) {
		cg->h = xrealloc(cg->h, (cg->n + 1) * sizeof(*cg->h));
		cg->h[cg->n++] = v2;
	}
	if (!v2.mount)
		cg->mode = CGROUPS_V1;
	else if (cg->n == 1 || root_v2)
		cg->mode = CGROUPS_V2;
	else
		cg->mode = CGROUPS_HYBRID;
	return cg;
}

static char *read_file(const char *path, struct mk_err **err)
{
	return fs_read_file(path, SIZE_MAX, NULL, err);
}

static int write_file(const char *path, const char *value, struct mk_err **err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, errno == ENOENT ? MK_ENOTFOUND : MK_EIO, errno, "open %s",
				    path);
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return mk_err_errno(err, MK_EIO, errno, "write \"%s\" to %s", value, path);
	if ((size_t)n != len)
		return mk_err_set(err, MK_EIO, "short write of \"%s\" to %s", value, path);
	return 0;
}

struct cgroups *cgroups_detect(struct mk_err **err)
{
	cleanup_free char *text = read_file("/proc/self/mountinfo", err);
	if (!text)
		return NULL;
	return cgroups_parse_mountinfo(text, err);
}

void cgroups_free(struct cgroups *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->h[i].controllers);
		free(cg->h[i].mount);
	}
	free(cg->h);
	free(cg);
}

const char *cgroups_mode_name(enum cgroups_mode mode)
{
	switch (mode) {
	case CGROUPS_V1:
		return "v1";
	case CGROUPS_HYBRID:
		return "hybrid";
	case CGROUPS_V2:
		return "v2";
	}
	return "unknown";
}

static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !strncmp(p, item, n))
			return true;
		p += l;
		if (*p)
			p++;
	}
	return false;
}

const struct cgroups_hierarchy *cgroups_controller(const struct cgroups *cg, const char *controller)
{
	const struct cgroups_hierarchy *v2 = NULL;
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->h[i].v2)
			v2 = &cg->h[i];
		else if (list_has(cg->h[i].controllers, controller))
			return &cg->h[i];
	}
	return v2;
}

char *cgroups_unified_controllers(const struct cgroups *cg, struct mk_err **err)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (!cg->h[i].v2)
			continue;
		cleanup_free char *path = xasprintf("%s/cgroup.controllers", cg->h[i].mount);
		char *text = read_file(path, err);
		if (!text)
			return NULL;
		size_t n = strlen(text);
		while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
			text[--n] = '\0';
		return text;
	}
	mk_err_set(err, MK_ENOTFOUND, "no cgroup2 file system mounted");
	return NULL;
}

/* ---- QoS and limits ---- */

const char *cgroups_qos_name(enum cgroups_qos qos)
{
	switch (qos) {
	case CGROUPS_QOS_GUARANTEED:
		return "Guaranteed";
	case CGROUPS_QOS_BURSTABLE:
		return "Burstable";
	case CGROUPS_QOS_BESTEFFORT:
		return "BestEffort";
	}
	return "";
}

/* The quantity of one resource in a ResourceList, in milli-units; false when
 * absent or unparsable. */
static bool res_milli(const json_t *list, const char *name, int64_t *milli)
{
	json_t *v = json_object_get(list, name);
	if (!json_is_string(v))
		return false;
	return quantity_parse_milli(json_string_value(v), milli, NULL) == 0;
}

/* A container's request for name, defaulted to its limit as the API server does. */
static bool ctr_request(const json_t *ctr, const char *name, int64_t *milli)
{
	if (res_milli(json_path_get(ctr, "resources.requests"), name, milli))
		return true;
	return res_milli(json_path_get(ctr, "resources.limits"), name, milli);
}

static bool ctr_limit(const json_t *ctr, const char *name, int64_t *milli)
{
	return res_milli(json_path_get(ctr, "resources.limits"), name, milli);
}

enum cgroups_qos cgroups_pod_qos(const json_t *pod)
{
	const char *status = json_path_str(pod, "status.qosClass");
	if (status && !strcmp(status, "Guaranteed"))
		return CGROUPS_QOS_GUARANTEED;
	if (status && !strcmp(status, "Burstable"))
		return CGROUPS_QOS_BURSTABLE;
	if (status && !strcmp(status, "BestEffort"))
		return CGROUPS_QOS_BESTEFFORT;

	static const char *const res[] = {"cpu", "memory"};
	int64_t req[2] = {0}, lim[2] = {0};
	bool has_req[2] = {false}, has_lim[2] = {false};
	bool guaranteed = true;
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t l = 0; l < 2; l++) {
		json_t *ctrs = json_path_get(pod, lists[l]);
		size_t i;
		json_t *c;
		json_array_foreach(ctrs, i, c)
		{
			bool found[2] = {false};
			for (size_t r = 0; r < 2; r++) {
				int64_t v;
				if (ctr_request(c, res[r], &v) && v > 0) {
					req[r] += v;
					has_req[r] = true;
				}
				if (ctr_limit(c, res[r], &v) && v > 0) {
					lim[r] += v;
					has_lim[r] = true;
					found[r] = true;
				}
			}
			if (!found[0] || !found[1])
				guaranteed = false;
		}
	}
	int nreq = has_req[0] + has_req[1], nlim = has_lim[0] + has_lim[1];
	if (!nreq && !nlim)
		return CGROUPS_QOS_BESTEFFORT;
	for (size_t r = 0; r < 2 && guaranteed; r++)
		if (has_req[r] && (!has_lim[r] || lim[r] != req[r]))
			guaranteed = false;
	if (guaranteed && nreq == nlim)
		return CGROUPS_QOS_GUARANTEED;
	return CGROUPS_QOS_BURSTABLE;
}

char *cgroups_pod_path(const char *root, const json_t *pod, struct mk_err **err)
{
	const char *uid = json_path_str(pod, "metadata.uid");
	if (!uid || !*uid || strchr(uid, '/')) {
		mk_err_set(err, MK_EINVAL, "pod has no usable metadata.uid");
		return NULL;
	}
	if (!root || !strcmp(root, "/"))
		root = "";
	size_t rl = strlen(root);
	while (rl && root[rl - 1] == '/')
		rl--;
	switch (cgroups_pod_qos(pod)) {
	case CGROUPS_QOS_GUARANTEED:
		return xasprintf("%.*s/kubepods/pod%s", (int)rl, root, uid);
	case CGROUPS_QOS_BURSTABLE:
		return xasprintf("%.*s/kubepods/burstable/pod%s", (int)rl, root, uid);
	case CGROUPS_QOS_BESTEFFORT:
		break;
	}
	return xasprintf("%.*s/kubepods/besteffort/pod%s", (int)rl, root, uid);
}

uint64_t cgroups_milli_to_shares(int64_t milli)
{
	if (milli <= 0)
		return MIN_SHARES;
	/* (milli / 1000) * 1024, factored for rounding like upstream */
	int64_t shares = milli * SHARES_PER_CPU / MILLI_PER_CPU;
	if (shares < MIN_SHARES)
		return MIN_SHARES;
	if (shares > MAX_SHARES)
		return MAX_SHARES;
	return (uint64_t)shares;
}

int64_t cgroups_milli_to_quota(int64_t milli, uint64_t period)
{
	if (milli <= 0)
		return 0;
	int64_t quota = milli * (int64_t)period / MILLI_PER_CPU;
	return quota < MIN_QUOTA ? MIN_QUOTA : quota;
}

uint64_t cgroups_shares_to_weight(uint64_t shares)
{
	if (shares < MIN_SHARES)
		shares = MIN_SHARES;
	return 1 + ((shares - 2) * 9999) / 262142;
}

void cgroups_pod_limits(const json_t *pod, struct cgroups_limits *out)
{
	*out = (struct cgroups_limits){0};
	int64_t req_cpu = 0, lim_cpu = 0, lim_mem = 0;
	int64_t init_req_cpu = 0, init_lim_cpu = 0, init_lim_mem = 0;
	bool cpu_declared = true, mem_declared = true;
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t l = 0; l < 2; l++) {
		json_t *ctrs = json_path_get(pod, lists[l]);
		size_t i;
		json_t *c;
		json_array_foreach(ctrs, i, c)
		{
			int64_t rc = 0, lc = 0, lm = 0;
			ctr_request(c, "cpu", &rc);
			if (!ctr_limit(c, "cpu", &lc) || lc == 0)
				cpu_declared = false;
			if (!ctr_limit(c, "memory", &lm) || lm == 0)
				mem_declared = false;
			if (l == 0) {
				req_cpu += rc;
				lim_cpu += lc;
				lim_mem += lm;
			} else {
				/* an init container runs alone: the pod needs the larger */
				if (rc > init_req_cpu)
					init_req_cpu = rc;
				if (lc > init_lim_cpu)
					init_lim_cpu = lc;
				if (lm > init_lim_mem)
					init_lim_mem = lm;
			}
		}
	}
	if (init_req_cpu > req_cpu)
		req_cpu = init_req_cpu;
	if (init_lim_cpu > lim_cpu)
		lim_cpu = init_lim_cpu;
	if (init_lim_mem > lim_mem)
		lim_mem = init_lim_mem;

	uint64_t shares = cgroups_milli_to_shares(req_cpu);
	int64_t quota = cgroups_milli_to_quota(lim_cpu, QUOTA_PERIOD);
	/* memory quantities are milli-bytes here; Value() rounds up */
	int64_t mem = lim_mem / 1000 + (lim_mem % 1000 ? 1 : 0);
	switch (cgroups_pod_qos(pod)) {
	case CGROUPS_QOS_GUARANTEED:
		out->cpu_shares = shares;
		out->cpu_quota = quota ? quota : -1;
		out->cpu_period = QUOTA_PERIOD;
		out->memory = mem ? mem : -1;
		break;
	case CGROUPS_QOS_BURSTABLE:
		out->cpu_shares = shares;
		if (cpu_declared) {
			out->cpu_quota = quota ? quota : -1;
			out->cpu_period = QUOTA_PERIOD;
		}
		if (mem_declared)
			out->memory = mem ? mem : -1;
		break;
	case CGROUPS_QOS_BESTEFFORT:
		out->cpu_shares = MIN_SHARES;
		break;
	}
}

char *cgroups_proc_path(const char *proc_cgroup, const char *controller)
{
	const char *line = proc_cgroup;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		cleanup_free char *l = xstrndup(line, len);
		line = end ? end + 1 : NULL;
		char *c1 = strchr(l, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *ctl = c1 + 1;
		if (*controller ? list_has(ctl, controller) : !strcmp(l, "0") && !*ctl)
			return xstrdup(c2 + 1);
	}
	return NULL;
}

/* ---- file system ---- */

static bool is_cpuset(const struct cgroups_hierarchy *h)
{
	return !h->v2 && list_has(h->controllers, "cpuset");
}

/* Copies cpuset.cpus and cpuset.mems from the parent of dir when they are empty. */
static int cpuset_fill(const char *dir, struct mk_err **err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	cleanup_free char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *mine = xasprintf("%s/%s", dir, files[i]);
		cleanup_free char *cur = read_file(mine, err);
		if (!cur)
			return -1;
		if (strspn(cur, " \n") != strlen(cur))
			continue;
		cleanup_free char *theirs = xasprintf("%s/%s", parent, files[i]);
		cleanup_free char *val = read_file(theirs, err);
		if (!val)
			return -1;
		size_t n = strlen(val);
		while (n && val[n - 1] == '\n')
			val[--n] = '\0';
		if (write_file(mine, val, err) < 0)
			return -1;
	}
	return 0;
}

/* Writes "+ctl" for each controller available in parent into its subtree_control. */
static int v2_enable_controllers(const char *parent, struct mk_err **err)
{
	cleanup_free char *cpath = xasprintf("%s/cgroup.controllers", parent);
	cleanup_free char *ctls = read_file(cpath, err);
	if (!ctls)
		return -1;
	cleanup_free char *spath = xasprintf("%s/cgroup.subtree_control", parent);
	char *save = NULL;
	for (char *t = strtok_r(ctls, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		cleanup_free char *v = xasprintf("+%s", t);
		if (write_file(spath, v, err) < 0)
			return -1;
	}
	return 0;
}

static bool path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const char *p = path; *p; p++)
		if (p[0] == '/' && p[1] == '.' &&
		    (p[2] == '/' || !p[2] || (p[2] == '.' && (p[3] == '/' || !p[3]))))
			return false;
	return true;
}

/* Makes path under one hierarchy, level by level, recording each directory it
 * created in made (NUL-separated). On a pure v2 host every level but the leaf
 * gets its controllers enabled for the level below. */
static int mkdir_hierarchy(const struct cgroups *cg, const struct cgroups_hierarchy *h,
			   const char *path, struct buf *made, struct mk_err **err)
{
	cleanup_free char *full = xasprintf("%s%s", h->mount, path);
	char *p = full + strlen(h->mount);
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		p += strcspn(p, "/");
		char c = *p;
		*p = '\0';
		if (mkdir(full, 0755) == 0)
			buf_append(made, full, strlen(full) + 1);
		else if (errno != EEXIST)
			return mk_err_errno(err, MK_EIO, errno, "mkdir %s", full);
		/* also when it exists: another pod's start may have made it and
		 * not filled it yet, and a child of an empty cpuset stays empty */
		if (is_cpuset(h) && cpuset_fill(full, err) < 0)
			return -1;
		bool leaf = !c || !p[strspn(p + 1, "/") + 1];
		if (h->v2 && cg->mode == CGROUPS_V2 && !leaf &&
		    v2_enable_controllers(full, err) < 0)
			return -1;
		*p = c;
	}
	return 0;
}

static int write_limits(const struct cgroups *cg, const char *path,
			const struct cgroups_limits *lim, struct mk_err **err)
{
	char v[64];
	const struct cgroups_hierarchy *h;
	if (lim->cpu_shares && (h = cgroups_controller(cg, "cpu"))) {
		cleanup_free char *f = NULL;
		if (h->v2) {
			f = xasprintf("%s%s/cpu.weight", h->mount, path);
			snprintf(v, sizeof(v), "%llu",
				 (unsigned long long)cgroups_shares_to_weight(lim->cpu_shares));
		} else {
			f = xasprintf("%s%s/cpu.shares", h->mount, path);
			snprintf(v, sizeof(v), "%llu", (unsigned long long)lim->cpu_shares);
		}
		if (write_file(f, v, err) < 0)
			return -1;
	}
	if ((lim->cpu_quota || lim->cpu_period) && (h = cgroups_controller(cg, "cpu"))) {
		if (h->v2) {
			cleanup_free char *f = xasprintf("%s%s/cpu.max", h->mount, path);
			uint64_t period = lim->cpu_period ? lim->cpu_period : QUOTA_PERIOD;
			if (lim->cpu_quota > 0)
				snprintf(v, sizeof(v), "%lld %llu", (long long)lim->cpu_quota,
					 (unsigned long long)period);
			else
				snprintf(v, sizeof(v), "max %llu", (unsigned long long)period);
			if (write_file(f, v, err) < 0)
				return -1;
		} else {
			if (lim->cpu_period) {
				cleanup_free char *f =
					xasprintf("%s%s/cpu.cfs_period_us", h->mount, path);
				snprintf(v, sizeof(v), "%llu", (unsigned long long)lim->cpu_period);
				if (write_file(f, v, err) < 0)
					return -1;
			}
			if (lim->cpu_quota) {
				cleanup_free char *f =
					xasprintf("%s%s/cpu.cfs_quota_us", h->mount, path);
				snprintf(v, sizeof(v), "%lld", (long long)lim->cpu_quota);
				if (write_file(f, v, err) < 0)
					return -1;
			}
		}
	}
	if (lim->memory && (h = cgroups_controller(cg, "memory"))) {
		cleanup_free char *f = xasprintf("%s%s/%s", h->mount, path,
						 h->v2 ? "memory.max" : "memory.limit_in_bytes");
		if (lim->memory < 0)
			snprintf(v, sizeof(v), h->v2 ? "max" : "-1");
		else
			snprintf(v, sizeof(v), "%lld", (long long)lim->memory);
		if (write_file(f, v, err) < 0)
			return -1;
	}
	return 0;
}

/* Removes the directories listed (NUL-separated) in made, last first. */
static void undo_made(struct buf *made)
{
	if (!made->len)
		return;
	size_t n = 0;
	for (size_t i = 0; i < made->len; i++)
		if (made->data[i] == '\0')
			n++;
	const char **dirs = xcalloc(n, sizeof(*dirs));
	size_t k = 0;
	for (size_t i = 0; i < made->len; i += strlen(made->data + i) + 1)
		dirs[k++] = made->data + i;
	while (k--)
		rmdir(dirs[k]);
	free(dirs);
}

int cgroups_create(const struct cgroups *cg, const char *path, const struct cgroups_limits *lim,
		   struct mk_err **err)
{
	if (!path_ok(path))
		return mk_err_set(err, MK_EINVAL, "cgroup path %s is not absolute and clean",
				  path ? path : "(null)");
	cleanup_buf struct buf made = BUF_INIT;
	if (cg->mode == CGROUPS_V2) {
		for (size_t i = 0; i < cg->n; i++)
			if (cg->h[i].v2 && v2_enable_controllers(cg->h[i].mount, err) < 0)
				return mk_err_wrap(err, "cgroup %s", path);
	}
	for (size_t i = 0; i < cg->n; i++) {
		if (mkdir_hierarchy(cg, &cg->h[i], path, &made, err) < 0) {
			undo_made(&made);
			return mk_err_wrap(err, "cgroup %s", path);
		}
	}
	if (lim && write_limits(cg, path, lim, err) < 0) {
		undo_made(&made);
		return mk_err_wrap(err, "cgroup %s", path);
	}
	return 0;
}

int cgroups_enter(const struct cgroups *cg, const char *path, pid_t pid, struct mk_err **err)
{
	if (cgroups_create(cg, path, NULL, err) < 0)
		return -1;
	char v[32];
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_free char *f = xasprintf("%s%s/cgroup.procs", cg->h[i].mount, path);
		if (write_file(f, v, err) < 0)
			return mk_err_wrap(err, "entering cgroup %s", path);
	}
	return 0;
}

static int rmdir_retry(const char *dir, struct mk_err **err)
{
	for (int i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= 100)
			return mk_err_errno(err, MK_EIO, errno, "rmdir %s", dir);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Removes dir's sub-directories (child cgroups) depth first, then dir. */
static int remove_tree(const char *dir, int depth, struct mk_err **err)
{
	if (depth > 64)
		return mk_err_set(err, MK_EIO, "cgroup tree under %s too deep", dir);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return mk_err_errno(err, MK_EIO, errno, "opendir %s", dir);
	}
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cleanup_free char *sub = xasprintf("%s/%s", dir, e->d_name);
		if (remove_tree(sub, depth + 1, err) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	if (rc < 0)
		return -1;
	return rmdir_retry(dir, err);
}

int cgroups_remove(const struct cgroups *cg, const char *path, struct mk_err **err)
{
	if (!path_ok(path) || !strcmp(path, "/"))
		return mk_err_set(err, MK_EINVAL, "cgroup path %s cannot be removed",
				  path ? path : "(null)");
	int rc = 0;
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_free char *full = xasprintf("%s%s", cg->h[i].mount, path);
		if (remove_tree(full, 0, err) < 0)
			rc = -1; /* go on with the other hierarchies; the first error is kept */
	}
	return rc;
}

/* Value of key in a "key value\n" file text. */
static bool kv_get(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p;) {
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			*out = strtoull(p + kl + 1, NULL, 10);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static bool read_u64(const char *path, uint64_t *out)
{
	cleanup_free char *t = read_file(path, NULL);
	if (!t || !*t || (*t < '0' || *t > '9'))
		return false;
	*out = strtoull(t, NULL, 10);
	return true;
}

int cgroups_usage_read(const struct cgroups *cg, const char *path, struct cgroups_usage *u,
		       struct mk_err **err)
{
	*u = (struct cgroups_usage){0};
	if (!path_ok(path))
		return mk_err_set(err, MK_EINVAL, "cgroup path %s is not absolute and clean",
				  path ? path : "(null)");
	bool exists = false;
	for (size_t i = 0; i < cg->n && !exists; i++) {
		cleanup_free char *d = xasprintf("%s%s", cg->h[i].mount, path);
		struct stat st;
		exists = stat(d, &st) == 0 && S_ISDIR(st.st_mode);
	}
	if (!exists)
		return mk_err_set(err, MK_ENOTFOUND, "cgroup %s does not exist", path);

	const struct cgroups_hierarchy *h = cgroups_controller(cg, "cpuacct");
	if (h && !h->v2) {
		cleanup_free char *f = xasprintf("%s%s/cpuacct.usage", h->mount, path);
		u->has_cpu = read_u64(f, &u->cpu_ns);
	} else if (h) {
		cleanup_free char *f = xasprintf("%s%s/cpu.stat", h->mount, path);
		cleanup_free char *t = read_file(f, NULL);
		uint64_t usec;
		if (t && kv_get(t, "usage_usec", &usec)) {
			u->cpu_ns = usec * 1000;
			u->has_cpu = true;
		}
	}
	h = cgroups_controller(cg, "memory");
	if (h) {
		cleanup_free char *f =
			xasprintf("%s%s/%s", h->mount, path,
				  h->v2 ? "memory.current" : "memory.usage_in_bytes");
		cleanup_free char *sf = xasprintf("%s%s/memory.stat", h->mount, path);
		cleanup_free char *stat = read_file(sf, NULL);
		if (read_u64(f, &u->memory_usage)) {
			u->has_memory = true;
			uint64_t inactive = 0;
			if (stat)
				kv_get(stat, h->v2 ? "inactive_file" : "total_inactive_file",
				       &inactive);
			u->working_set =
				inactive < u->memory_usage ? u->memory_usage - inactive : 0;
			if (stat)
				kv_get(stat, h->v2 ? "anon" : "total_rss", &u->rss);
		}
		cleanup_free char *of = xasprintf("%s%s/%s", h->mount, path,
						  h->v2 ? "memory.events" : "memory.oom_control");
		cleanup_free char *ot = read_file(of, NULL);
		if (ot)
			u->has_oom_kills = kv_get(ot, "oom_kill", &u->oom_kills);
	}
	h = cgroups_controller(cg, "pids");
	if (h) {
		cleanup_free char *f = xasprintf("%s%s/pids.current", h->mount, path);
		u->has_pids = read_u64(f, &u->pids);
	}
	return 0;
}
