#include "ocispec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "kubelet/cgroups.h"
#include "quantity.h"
#include "xalloc.h"

#define DEFAULT_PATH	   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define QUOTA_PERIOD	   100000
#define SANDBOX_SHARES	   2
#define SANDBOX_OOM_ADJ	   (-998)
#define GUARANTEED_OOM_ADJ (-997)
#define BESTEFFORT_OOM_ADJ 1000

static const char *const default_caps[] = {"CAP_CHOWN",
					   "CAP_DAC_OVERRIDE",
					   "CAP_FSETID",
					   "CAP_FOWNER",
					   "CAP_MKNOD",
					   "CAP_NET_RAW",
					   "CAP_SETGID",
					   "CAP_SETUID",
					   "CAP_SETFCAP",
					   "CAP_SETPCAP",
					   "CAP_NET_BIND_SERVICE",
					   "CAP_SYS_CHROOT",
					   "CAP_KILL",
					   "CAP_AUDIT_WRITE",
					   NULL};

/* Every capability of Linux up to CAP_CHECKPOINT_RESTORE (40), in number
 * order: what a privileged container gets and what "ALL" adds. */
static const char *const all_caps[] = {"CAP_CHOWN",
				       "CAP_DAC_OVERRIDE",
				       "CAP_DAC_READ_SEARCH",
				       "CAP_FOWNER",
				       "CAP_FSETID",
				       "CAP_KILL",
				       "CAP_SETGID",
				       "CAP_SETUID",
				       "CAP_SETPCAP",
				       "CAP_LINUX_IMMUTABLE",
				       "CAP_NET_BIND_SERVICE",
				       "CAP_NET_BROADCAST",
				       "CAP_NET_ADMIN",
				       "CAP_NET_RAW",
				       "CAP_IPC_LOCK",
				       "CAP_IPC_OWNER",
				       "CAP_SYS_MODULE",
				       "CAP_SYS_RAWIO",
				       "CAP_SYS_CHROOT",
				       "CAP_SYS_PTRACE",
				       "CAP_SYS_PACCT",
				       "CAP_SYS_ADMIN",
				       "CAP_SYS_BOOT",
				       "CAP_SYS_NICE",
				       "CAP_SYS_RESOURCE",
				       "CAP_SYS_TIME",
				       "CAP_SYS_TTY_CONFIG",
				       "CAP_MKNOD",
				       "CAP_LEASE",
				       "CAP_AUDIT_WRITE",
				       "CAP_AUDIT_CONTROL",
				       "CAP_SETFCAP",
				       "CAP_MAC_OVERRIDE",
				       "CAP_MAC_ADMIN",
				       "CAP_SYSLOG",
				       "CAP_WAKE_ALARM",
				       "CAP_BLOCK_SUSPEND",
				       "CAP_AUDIT_READ",
				       "CAP_PERFMON",
				       "CAP_BPF",
				       "CAP_CHECKPOINT_RESTORE",
				       NULL};

static const char *const masked_paths[] = {"/proc/acpi",
					   "/proc/asound",
					   "/proc/kcore",
					   "/proc/keys",
					   "/proc/latency_stats",
					   "/proc/timer_list",
					   "/proc/timer_stats",
					   "/proc/sched_debug",
					   "/sys/firmware",
					   "/proc/scsi",
					   NULL};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static json_t *str_array(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *mount_new(const char *dest, const char *type, const char *src,
			 const char *const *opts)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", src);
	if (opts)
		json_object_set_new(m, "options", str_array(opts));
	return m;
}

/* The mounts `runc spec` starts with; /sys and /sys/fs/cgroup read-only
 * unless privileged. */
static json_t *default_mounts(bool privileged)
{
	static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
	static const char *const pts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
					  "mode=0620", "gid=5",	 NULL};
	static const char *const shm[] = {"nosuid",    "noexec",      "nodev",
					  "mode=1777", "size=65536k", NULL};
	static const char *const mq[] = {"nosuid", "noexec", "nodev", NULL};
	static const char *const sys_ro[] = {"nosuid", "noexec", "nodev", "ro", NULL};
	static const char *const sys_rw[] = {"nosuid", "noexec", "nodev", "rw", NULL};
	static const char *const cg_ro[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
	static const char *const cg_rw[] = {"nosuid", "noexec", "nodev", "relatime", "rw", NULL};
	json_t *a = json_array();
	json_array_append_new(a, mount_new("/proc", "proc", "proc", NULL));
	json_array_append_new(a, mount_new("/dev", "tmpfs", "tmpfs", dev));
	json_array_append_new(a, mount_new("/dev/pts", "devpts", "devpts", pts));
	json_array_append_new(a, mount_new("/dev/shm", "tmpfs", "shm", shm));
	json_array_append_new(a, mount_new("/dev/mqueue", "mqueue", "mqueue", mq));
	json_array_append_new(a, mount_new("/sys", "sysfs", "sysfs", privileged ? sys_rw : sys_ro));
	json_array_append_new(
		a, mount_new("/sys/fs/cgroup", "cgroup", "cgroup", privileged ? cg_rw : cg_ro));
	return a;
}

/* ---- $(VAR) expansion (upstream's third_party/forked/golang/expansion) ---- */

char *ocispec_expand(const char *s, const char *(*lookup)(void *data, const char *name), void *data)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(s), checkpoint = 0;
	for (size_t cur = 0; cur < len; cur++) {
		if (s[cur] != '$' || cur + 1 >= len)
			continue;
		buf_append(&b, s + checkpoint, cur - checkpoint);
		const char *in = s + cur + 1;
		size_t advance = 1;
		if (in[0] == '$') {
			buf_append_char(&b, '$');
		} else if (in[0] == '(') {
			const char *close = strchr(in + 1, ')');
			if (close) {
				cleanup_free char *name =
					xstrndup(in + 1, (size_t)(close - in - 1));
				const char *v = lookup(data, name);
				if (v)
					buf_append_str(&b, v);
				else
					buf_printf(&b, "$(%s)", name);
				advance = (size_t)(close - in) + 1;
			} else {
				buf_append_str(&b, "$(");
			}
		} else {
			buf_append_char(&b, '$');
			buf_append_char(&b, in[0]);
		}
		cur += advance;
		checkpoint = cur + 1;
	}
	if (checkpoint < len)
		buf_append_str(&b, s + checkpoint);
	return buf_steal(&b);
}

/* A name=value list where a later name replaces an earlier one in place. */
struct envlist {
	char **v;
	size_t n;
};

static void env_set(struct envlist *e, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < e->n; i++) {
		if (e->v[i] && !strncmp(e->v[i], kv, kl) && e->v[i][kl] == '=') {
			free(e->v[i]);
			/* "NAME" without "=" unsets, as containerd's WithEnv does */
			e->v[i] = eq ? xstrdup(kv) : NULL;
			return;
		}
	}
	if (!eq)
		return;
	e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
	e->v[e->n++] = xstrdup(kv);
}

static const char *env_get(void *data, const char *name)
{
	struct envlist *e = data;
	size_t kl = strlen(name);
	const char *found = NULL;
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i] && !strncmp(e->v[i], name, kl) && e->v[i][kl] == '=')
			found = e->v[i] + kl + 1;
	return found;
}

static void env_free(struct envlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	*e = (struct envlist){0};
}

static json_t *env_json(const struct envlist *e)
{
	json_t *a = json_array();
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i])
			json_array_append_new(a, json_string(e->v[i]));
	return a;
}

/* ---- users from the rootfs ---- */

/* Calls fn on each split line of <rootfs>/etc/<file>; fn returns true to stop. */
static int each_entry(const char *rootfs, const char *file,
		      bool (*fn)(char **f, size_t n, void *data), void *data, struct mk_err **err)
{
	cleanup_free char *path = xasprintf("%s/etc/%s", rootfs, file);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return mk_err_errno(err, MK_EIO, errno, "open %s", path);
	}
	cleanup_free char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line || line[0] == '#')
			continue;
		char *fields[8] = {0};
		size_t n = 0;
		char *p = line;
		while (n < 8) {
			fields[n++] = p;
			char *c = strchr(p, ':');
			if (!c)
				break;
			*c = '\0';
			p = c + 1;
		}
		if (fn(fields, n, data))
			return 1;
	}
	return 0;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v > UINT32_MAX || !isdigit((unsigned char)*s))
		return false;
	*out = (uint32_t)v;
	return true;
}

struct user_query {
	const char *name;
	uint32_t uid;
	uint32_t uid_out, gid_out;
	char *name_out;
	bool found;
};

static bool user_match(char **f, size_t n, void *data)
{
	struct user_query *q = data;
	uint32_t uid, gid;
	if (n < 4 || !parse_u32(f[2], &uid) || !parse_u32(f[3], &gid))
		return false;
	if (q->name ? strcmp(f[0], q->name) : uid != q->uid)
		return false;
	q->uid_out = uid;
	q->gid_out = gid;
	q->name_out = xstrdup(f[0]);
	q->found = true;
	return true;
}

static int rootfs_user(void *data, const char *name, uint32_t uid, uint32_t *uid_out,
		       uint32_t *gid_out, char **name_out, struct mk_err **err)
{
	struct user_query q = {.name = name, .uid = uid};
	if (each_entry(data, "passwd", user_match, &q, err) < 0)
		return -1;
	if (!q.found)
		return -1;
	*uid_out = q.uid_out;
	*gid_out = q.gid_out;
	if (name_out)
		*name_out = q.name_out;
	else
		free(q.name_out);
	return 0;
}

struct group_query {
	const char *name;
	uint32_t gid;
	bool found;
	const char *member;
	uint32_t *gids;
	size_t n;
};

static bool group_match(char **f, size_t n, void *data)
{
	struct group_query *q = data;
	uint32_t gid;
	if (n < 3 || !parse_u32(f[2], &gid))
		return false;
	if (q->name) {
		if (strcmp(f[0], q->name))
			return false;
		q->gid = gid;
		q->found = true;
		return true;
	}
	/* groups_of: a group that lists the user, not the user's own group */
	if (n < 4 || !strcmp(f[0], q->member))
		return false;
	cleanup_free char *list = xstrdup(f[3]);
	char *save = NULL;
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		if (!strcmp(m, q->member)) {
			q->gids = xrealloc(q->gids, (q->n + 1) * sizeof(*q->gids));
			q->gids[q->n++] = gid;
			break;
		}
	}
	return false;
}

static int rootfs_group(void *data, const char *name, uint32_t *gid_out, struct mk_err **err)
{
	struct group_query q = {.name = name};
	if (each_entry(data, "group", group_match, &q, err) < 0)
		return -1;
	if (!q.found)
		return -1;
	*gid_out = q.gid;
	return 0;
}

static int rootfs_groups_of(void *data, const char *user, uint32_t **gids, size_t *n,
			    struct mk_err **err)
{
	struct group_query q = {.member = user};
	if (each_entry(data, "group", group_match, &q, err) < 0) {
		free(q.gids);
		return -1;
	}
	*gids = q.gids;
	*n = q.n;
	return 0;
}

struct ocispec_users ocispec_rootfs_users(const char *rootfs)
{
	/* the only state is the rootfs path, kept in the data pointer itself */
	return (struct ocispec_users){.user = rootfs_user,
				      .group = rootfs_group,
				      .groups_of = rootfs_groups_of,
				      .data = (void *)rootfs};
}

/* ---- security context ---- */

struct secctx {
	bool has_uid, has_gid;
	int64_t uid, gid;
	bool has_nonroot, nonroot;
	bool privileged;
	bool read_only_root;
	bool has_ape, ape; /* allowPrivilegeEscalation */
	const json_t *caps;
};

static void secctx_merge(const json_t *pod, const json_t *ctr, struct secctx *sc)
{
	*sc = (struct secctx){0};
	const json_t *levels[2] = {json_path_get(pod, "spec.securityContext"),
				   ctr ? json_object_get(ctr, "securityContext") : NULL};
	for (int i = 0; i < 2; i++) {
		const json_t *l = levels[i];
		json_t *v;
		if ((v = json_object_get(l, "runAsUser")) && json_is_integer(v)) {
			sc->has_uid = true;
			sc->uid = json_integer_value(v);
		}
		if ((v = json_object_get(l, "runAsGroup")) && json_is_integer(v)) {
			sc->has_gid = true;
			sc->gid = json_integer_value(v);
		}
		if ((v = json_object_get(l, "runAsNonRoot")) && json_is_boolean(v)) {
			sc->has_nonroot = true;
			sc->nonroot = json_is_true(v);
		}
	}
	const json_t *c = levels[1];
	if (!c)
		return;
	sc->privileged = json_is_true(json_object_get(c, "privileged"));
	sc->read_only_root = json_is_true(json_object_get(c, "readOnlyRootFilesystem"));
	json_t *ape = json_object_get(c, "allowPrivilegeEscalation");
	if (json_is_boolean(ape)) {
		sc->has_ape = true;
		sc->ape = json_is_true(ape);
	}
	sc->caps = json_object_get(c, "capabilities");
}

static char *pod_format(const json_t *pod)
{
	const char *name = json_path_str(pod, "metadata.name");
	const char *ns = json_path_str(pod, "metadata.namespace");
	const char *uid = json_path_str(pod, "metadata.uid");
	return xasprintf("%s_%s(%s)", name ? name : "", ns ? ns : "", uid ? uid : "");
}

/* The image's User split the way the kubelet's ImageStatus does: a numeric
 * user part becomes a uid, anything else a name; the group part is dropped. */
static void image_user(const char *user, bool *has_uid, int64_t *uid, char **name)
{
	*has_uid = false;
	*name = NULL;
	if (!user || !*user)
		return;
	size_t ul = strcspn(user, ":");
	cleanup_free char *u = xstrndup(user, ul);
	uint32_t v;
	if (parse_u32(u, &v)) {
		*has_uid = true;
		*uid = v;
	} else {
		*name = steal_pointer(&u);
	}
}

static const struct ocispec_users *users_of(const struct ocispec_input *in,
					    struct ocispec_users *local)
{
	if (in->users)
		return in->users;
	*local = ocispec_rootfs_users(in->rootfs);
	return local;
}

/* Passes a lookup's own error up (the first cause wins). */
static int pass_err(struct mk_err **err, struct mk_err *e)
{
	if (err && !*err)
		*err = e;
	else
		mk_err_free(e);
	return -1;
}

static int find_user(const struct ocispec_users *u, const char *name, uint32_t *uid, uint32_t *gid,
		     struct mk_err **err)
{
	struct mk_err *e = NULL;
	if (u->user(u->data, name, 0, uid, gid, NULL, &e) == 0)
		return 0;
	if (e)
		return pass_err(err, e);
	return mk_err_set(err, MK_EINVAL,
			  "unable to find user %s: no matching entries in passwd file", name);
}

/* containerd's WithUser: "uid", "name", "uid:gid", "name:group" and mixes. */
static int resolve_user(const struct ocispec_users *u, const char *userstr, uint32_t *uid,
			uint32_t *gid, struct mk_err **err)
{
	*uid = 0;
	*gid = 0;
	const char *colon = strchr(userstr, ':');
	cleanup_free char *upart =
		xstrndup(userstr, colon ? (size_t)(colon - userstr) : strlen(userstr));
	const char *gpart = colon ? colon + 1 : NULL;
	if (gpart && strchr(gpart, ':'))
		return mk_err_set(err, MK_EINVAL, "invalid USER value %s", userstr);
	uint32_t v, g, ignored;
	struct mk_err *e = NULL;
	if (!gpart) {
		if (!parse_u32(upart, &v))
			return find_user(u, upart, uid, gid, err);
		/* a uid: its passwd gid, or 0 when the image does not list it */
		if (u->user(u->data, NULL, v, uid, gid, NULL, &e) < 0) {
			if (e)
				return pass_err(err, e);
			*uid = v;
			*gid = 0;
		}
		return 0;
	}
	if (parse_u32(upart, &v))
		*uid = v;
	else if (find_user(u, upart, uid, &ignored, err) < 0)
		return -1;
	if (parse_u32(gpart, &g)) {
		*gid = g;
		return 0;
	}
	if (u->group(u->data, gpart, gid, &e) == 0)
		return 0;
	if (e)
		return pass_err(err, e);
	return mk_err_set(err, MK_EINVAL,
			  "unable to find group %s: no matching entries in group file", gpart);
}

static void gid_append(json_t *a, uint32_t gid)
{
	json_array_append_new(a, json_integer(gid));
}

/* The pod's fsGroup and supplementalGroups in the order the kubelet passes
 * them: fsGroup first for a container, last for the sandbox. */
static void pod_groups(const json_t *pod, bool sandbox, json_t *a)
{
	json_t *fs = json_path_get(pod, "spec.securityContext.fsGroup");
	if (!sandbox && json_is_integer(fs))
		gid_append(a, (uint32_t)json_integer_value(fs));
	json_t *sg = json_path_get(pod, "spec.securityContext.supplementalGroups");
	size_t i;
	json_t *g;
	json_array_foreach(sg, i, g) if (json_is_integer(g))
		gid_append(a, (uint32_t)json_integer_value(g));
	if (sandbox && json_is_integer(fs))
		gid_append(a, (uint32_t)json_integer_value(fs));
}

static int build_user(const struct ocispec_input *in, const json_t *img, const struct secctx *sc,
		      json_t *process, struct mk_err **err)
{
	struct ocispec_users local;
	const struct ocispec_users *u = users_of(in, &local);
	const char *image_user_str = json_string_value(json_object_get(img, "User"));
	cleanup_free char *userstr = NULL;
	cleanup_free char *for_groups = NULL;
	if (!in->container) {
		/* the sandbox: the pod's runAsUser/runAsGroup, else the image's User */
		if (sc->has_uid)
			userstr = sc->has_gid ? xasprintf("%" PRId64 ":%" PRId64, sc->uid, sc->gid)
					      : xasprintf("%" PRId64, sc->uid);
		else if (image_user_str && *image_user_str)
			userstr = xstrdup(image_user_str);
	} else {
		bool img_has_uid;
		int64_t img_uid = 0;
		cleanup_free char *img_name = NULL;
		image_user(image_user_str, &img_has_uid, &img_uid, &img_name);
		if (!img_has_uid && !img_name) {
			/* no USER in the image: the kubelet treats it as uid 0 */
			img_has_uid = true;
			img_uid = 0;
		}
		cleanup_free char *ctr = pod_format(in->pod);
		const char *cname = json_string_value(json_object_get(in->container, "name"));
		if (sc->has_nonroot && sc->nonroot) {
			if (sc->has_uid) {
				if (sc->uid == 0)
					return mk_err_set(err, MK_EINVAL,
							  "container's runAsUser breaks non-root "
							  "policy (pod: \"%s\", container: %s)",
							  ctr, cname ? cname : "");
			} else if (img_has_uid && img_uid == 0) {
				return mk_err_set(err, MK_EINVAL,
						  "container has runAsNonRoot and image will run "
						  "as root (pod: \"%s\", container: %s)",
						  ctr, cname ? cname : "");
			} else if (!img_has_uid && img_name) {
				return mk_err_set(err, MK_EINVAL,
						  "container has runAsNonRoot and image has "
						  "non-numeric user (%s), cannot verify user is "
						  "non-root (pod: \"%s\", container: %s)",
						  img_name, ctr, cname ? cname : "");
			}
		}
		int64_t uid = sc->has_uid ? sc->uid : img_uid;
		const char *uname = sc->has_uid ? NULL : img_name;
		if (uname)
			userstr = sc->has_gid ? xasprintf("%s:%" PRId64, uname, sc->gid)
					      : xstrdup(uname);
		else
			userstr = sc->has_gid ? xasprintf("%" PRId64 ":%" PRId64, uid, sc->gid)
					      : xasprintf("%" PRId64, uid);
		for_groups = uname ? xstrdup(uname) : xasprintf("%" PRId64, uid);
	}
	uint32_t uid = 0, gid = 0;
	if (userstr && resolve_user(u, userstr, &uid, &gid, err) < 0)
		return -1;
	json_t *user = json_pack("{s:i, s:i}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
	json_t *add = json_array();
	if (for_groups) {
		/* containerd's WithAdditionalGIDs: the primary gid, then the
		 * /etc/group entries naming the user */
		gid_append(add, gid);
		cleanup_free char *uname = NULL;
		uint32_t v, ig1, ig2;
		struct mk_err *e = NULL;
		if (parse_u32(for_groups, &v)) {
			if (u->user(u->data, NULL, v, &ig1, &ig2, &uname, &e) < 0 && e) {
				json_decref(add);
				json_decref(user);
				return pass_err(err, e);
			}
		} else {
			uname = xstrdup(for_groups);
		}
		if (uname) {
			uint32_t *gids = NULL;
			size_t n = 0;
			if (u->groups_of(u->data, uname, &gids, &n, err) < 0) {
				json_decref(add);
				json_decref(user);
				return -1;
			}
			for (size_t i = 0; i < n; i++)
				if (gids[i] != gid)
					gid_append(add, gids[i]);
			free(gids);
		}
	}
	pod_groups(in->pod, !in->container, add);
	if (json_array_size(add))
		json_object_set_new(user, "additionalGids", add);
	else
		json_decref(add);
	json_object_set_new(process, "user", user);
	return 0;
}

/* "net_admin", "CAP_NET_ADMIN", "Net_Admin" -> "CAP_NET_ADMIN"; NULL if malformed. */
static char *cap_name(const char *s)
{
	if (!s || !*s)
		return NULL;
	struct buf b = BUF_INIT;
	if (strncasecmp(s, "CAP_", 4))
		buf_append_str(&b, "CAP_");
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_') {
			buf_free(&b);
			return NULL;
		}
		buf_append_char(&b, (char)toupper((unsigned char)*p));
	}
	return buf_steal(&b);
}

static bool list_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (!strcmp(json_string_value(v), s)) return true;
	return false;
}

static bool names_all(const json_t *list)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v) &&
					   !strcasecmp(json_string_value(v), "ALL")) return true;
	return false;
}

/* containerd's WithCapabilities: ALL added, ALL dropped, then each add, then each drop. */
static int build_caps(const struct secctx *sc, json_t **caps_out, struct mk_err **err)
{
	json_t *caps = str_array(sc->privileged ? all_caps : default_caps);
	if (!sc->privileged && sc->caps) {
		json_t *add = json_object_get(sc->caps, "add");
		json_t *drop = json_object_get(sc->caps, "drop");
		if (names_all(add)) {
			json_decref(caps);
			caps = str_array(all_caps);
		}
		if (names_all(drop))
			json_array_clear(caps);
		size_t i;
		json_t *v;
		json_array_foreach(add, i, v)
		{
			if (json_is_string(v) && !strcasecmp(json_string_value(v), "ALL"))
				continue;
			cleanup_free char *n = cap_name(json_string_value(v));
			if (!n) {
				json_decref(caps);
				return mk_err_set(err, MK_EINVAL, "invalid capability to add: %s",
						  json_is_string(v) ? json_string_value(v)
								    : "(not a string)");
			}
			if (!list_has(caps, n))
				json_array_append_new(caps, json_string(n));
		}
		json_array_foreach(drop, i, v)
		{
			if (json_is_string(v) && !strcasecmp(json_string_value(v), "ALL"))
				continue;
			cleanup_free char *n = cap_name(json_string_value(v));
			if (!n) {
				json_decref(caps);
				return mk_err_set(err, MK_EINVAL, "invalid capability to drop: %s",
						  json_is_string(v) ? json_string_value(v)
								    : "(not a string)");
			}
			for (size_t k = json_array_size(caps); k-- > 0;)
				if (!strcmp(json_string_value(json_array_get(caps, k)), n))
					json_array_remove(caps, k);
		}
	}
	*caps_out = json_object();
	json_object_set_new(*caps_out, "bounding", json_deep_copy(caps));
	json_object_set_new(*caps_out, "effective", json_deep_copy(caps));
	json_object_set_new(*caps_out, "permitted", caps);
	return 0;
}

/* ---- args ---- */

static void append_strings(json_t *dst, const json_t *src, struct envlist *expand_env)
{
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (expand_env) {
			cleanup_free char *x =
				ocispec_expand(json_string_value(v), env_get, expand_env);
			json_array_append_new(dst, json_string(x));
		} else
			json_array_append(dst, v);
	}
}

static int build_args(const struct ocispec_input *in, const json_t *img, struct envlist *cenv,
		      json_t *process, struct mk_err **err)
{
	json_t *ep = json_object_get(img, "Entrypoint");
	json_t *cmd = json_object_get(img, "Cmd");
	json_t *args = json_array();
	if (!in->container) {
		append_strings(args, ep, NULL);
		append_strings(args, cmd, NULL);
		if (!json_array_size(args)) {
			json_decref(args);
			return mk_err_set(err, MK_EINVAL,
					  "invalid empty entrypoint and cmd in image config");
		}
		json_object_set_new(process, "args", args);
		return 0;
	}
	/* the kubelet expands $(VAR) in the pod's command and args (never in
	 * the image's) from the container env; containerd then combines */
	json_t *ccmd = json_object_get(in->container, "command");
	json_t *cargs = json_object_get(in->container, "args");
	if (json_array_size(ccmd)) {
		append_strings(args, ccmd, cenv);
		append_strings(args, cargs, cenv);
	} else {
		/* an Entrypoint of [""] means none */
		const char *e0 = json_string_value(json_array_get(ep, 0));
		if (!(json_array_size(ep) == 1 && e0 && !*e0))
			append_strings(args, ep, NULL);
		if (json_array_size(cargs))
			append_strings(args, cargs, cenv);
		else
			append_strings(args, cmd, NULL);
	}
	if (!json_array_size(args)) {
		json_decref(args);
		return mk_err_set(err, MK_EINVAL, "no command specified");
	}
	json_object_set_new(process, "args", args);
	return 0;
}

/* ---- mounts ---- */

static size_t depth(const char *p)
{
	size_t n = 0;
	/* path.Clean semantics are enough for absolute, slash-separated paths */
	for (const char *s = p; *s; s++)
		if (*s == '/' && s[1] && s[1] != '/')
			n++;
	return n;
}

static const char *propagation_opt(const char *prop, json_t *linux_obj)
{
	if (prop && !strcmp(prop, "Bidirectional")) {
		json_object_set_new(linux_obj, "rootfsPropagation", json_string("rshared"));
		return "rshared";
	}
	if (prop && !strcmp(prop, "HostToContainer")) {
		const char *cur =
			json_string_value(json_object_get(linux_obj, "rootfsPropagation"));
		if (!cur || (strcmp(cur, "rshared") && strcmp(cur, "rslave")))
			json_object_set_new(linux_obj, "rootfsPropagation", json_string("rslave"));
		return "rslave";
	}
	return "rprivate";
}

struct bind {
	const char *src, *dst, *prop;
	bool ro;
};

static void add_bind(struct bind **v, size_t *n, const char *src, const char *dst, bool ro,
		     const char *prop)
{
	/* a caller mount at the same destination wins over the kubelet's file */
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].dst, dst))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct bind){.src = src, .dst = dst, .ro = ro, .prop = prop};
}

static bool under(const char *path, const char *dir)
{
	size_t l = strlen(dir);
	return !strncmp(path, dir, l) && (path[l] == '/' || !path[l]);
}

static int build_mounts(const struct ocispec_input *in, bool host_ipc, const struct secctx *sc,
			json_t *spec, json_t *linux_obj, struct mk_err **err)
{
	struct bind *b = NULL;
	size_t n = 0;
	for (size_t i = 0; i < in->n_mounts; i++) {
		const struct ocispec_mount *m = &in->mounts[i];
		if (!m->host_path || !m->container_path || m->container_path[0] != '/') {
			free(b);
			return mk_err_set(err, MK_EINVAL, "volume mount %zu: %s", i,
					  m->container_path ? "container path must be absolute"
							    : "missing path");
		}
		add_bind(&b, &n, m->host_path, m->container_path, m->read_only, m->propagation);
	}
	if (in->container) {
		if (in->hosts_path)
			add_bind(&b, &n, in->hosts_path, "/etc/hosts", sc->read_only_root, NULL);
		if (in->termination_log_path) {
			const char *tp = json_string_value(
				json_object_get(in->container, "terminationMessagePath"));
			add_bind(&b, &n, in->termination_log_path,
				 tp && *tp ? tp : "/dev/termination-log", false, NULL);
		}
		if (in->hostname_path)
			add_bind(&b, &n, in->hostname_path, "/etc/hostname", sc->read_only_root,
				 NULL);
		if (in->resolv_path)
			add_bind(&b, &n, in->resolv_path, "/etc/resolv.conf", sc->read_only_root,
				 NULL);
	}
	if (host_ipc)
		add_bind(&b, &n, "/dev/shm", "/dev/shm", false, NULL);
	else if (in->shm_path)
		add_bind(&b, &n, in->shm_path, "/dev/shm", false, NULL);

	/* stable insertion sort by depth: a parent is mounted before its children */
	for (size_t i = 1; i < n; i++) {
		struct bind t = b[i];
		size_t j = i;
		while (j > 0 && depth(b[j - 1].dst) > depth(t.dst)) {
			b[j] = b[j - 1];
			j--;
		}
		b[j] = t;
	}
	json_t *mounts = json_object_get(spec, "mounts");
	for (size_t k = json_array_size(mounts); k-- > 0;) {
		const char *d = json_string_value(
			json_object_get(json_array_get(mounts, k), "destination"));
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(d, b[i].dst) ||
			    (!strcmp(b[i].dst, "/dev") && under(d, "/dev"))) {
				json_array_remove(mounts, k);
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *opts[] = {"rbind", propagation_opt(b[i].prop, linux_obj),
				      b[i].ro ? "ro" : "rw", NULL};
		json_array_append_new(mounts, mount_new(b[i].dst, "bind", b[i].src, opts));
	}
	free(b);
	return 0;
}

/* ---- resources ---- */

static int quantity(const json_t *list, const char *name, int64_t *milli, bool *has,
		    struct mk_err **err)
{
	*has = false;
	json_t *v = json_object_get(list, name);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return mk_err_set(err, MK_EINVAL, "resources: %s is not a quantity string", name);
	if (quantity_parse_milli(json_string_value(v), milli, err) < 0)
		return mk_err_wrap(err, "resources: %s", name);
	*has = true;
	return 0;
}

static int64_t milli_to_value(int64_t milli)
{
	return milli / 1000 + (milli % 1000 > 0 ? 1 : 0);
}

static void set_oom_adj(const struct ocispec_input *in, json_t *process, int adj)
{
	if (in->restrict_oom_score_adj && adj < in->oom_score_adj_floor)
		adj = in->oom_score_adj_floor;
	json_object_set_new(process, "oomScoreAdj", json_integer(adj));
}

bool ocispec_oom_restricted(int *floor)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			found = true;
	fclose(f);
	f = fopen("/proc/self/oom_score_adj", "re");
	if (!f)
		return false;
	int cur;
	bool ok = fscanf(f, "%d", &cur) == 1;
	fclose(f);
	if (!found || !ok)
		return false;
	*floor = cur;
	return !(eff & (1ULL << 24)); /* CAP_SYS_RESOURCE */
}

static int build_resources(const struct ocispec_input *in, json_t *process, json_t *res,
			   struct mk_err **err)
{
	if (!in->container) {
		json_object_set_new(res, "cpu", json_pack("{s:i}", "shares", SANDBOX_SHARES));
		set_oom_adj(in, process, SANDBOX_OOM_ADJ);
		return 0;
	}
	const json_t *req = json_path_get(in->container, "resources.requests");
	const json_t *lim = json_path_get(in->container, "resources.limits");
	int64_t cpu_req = 0, cpu_lim = 0, mem_lim = 0, mem_req = 0;
	bool h_cpu_req, h_cpu_lim, h_mem_lim, h_mem_req;
	if (quantity(req, "cpu", &cpu_req, &h_cpu_req, err) < 0 ||
	    quantity(lim, "cpu", &cpu_lim, &h_cpu_lim, err) < 0 ||
	    quantity(lim, "memory", &mem_lim, &h_mem_lim, err) < 0 ||
	    quantity(req, "memory", &mem_req, &h_mem_req, err) < 0)
		return -1;
	uint64_t shares = (cpu_req == 0 && cpu_lim != 0) ? cgroups_milli_to_shares(cpu_lim)
							 : cgroups_milli_to_shares(cpu_req);
	json_t *cpu = json_pack("{s:I}", "shares", (json_int_t)shares);
	int64_t quota = cgroups_milli_to_quota(cpu_lim, QUOTA_PERIOD);
	if (quota)
		json_object_set_new(cpu, "quota", json_integer(quota));
	json_object_set_new(cpu, "period", json_integer(QUOTA_PERIOD));
	json_object_set_new(res, "cpu", cpu);
	int64_t mem = milli_to_value(mem_lim);
	if (mem > 0) {
		json_t *m = json_pack("{s:I}", "limit", (json_int_t)mem);
		if (in->swap_accounting)
			json_object_set_new(m, "swap", json_integer(mem));
		json_object_set_new(res, "memory", m);
	}
	/* upstream's GetContainerOOMScoreAdjust */
	enum cgroups_qos qos = cgroups_pod_qos(in->pod);
	if (qos == CGROUPS_QOS_GUARANTEED) {
		set_oom_adj(in, process, GUARANTEED_OOM_ADJ);
	} else if (qos == CGROUPS_QOS_BESTEFFORT) {
		set_oom_adj(in, process, BESTEFFORT_OOM_ADJ);
	} else if (in->memory_capacity) {
		if (!h_mem_req && h_mem_lim)
			mem_req = mem_lim; /* the API server's defaulting */
		int64_t req_bytes = milli_to_value(mem_req);
		int64_t adj = 1000 - (1000 * req_bytes) / (int64_t)in->memory_capacity;
		if (adj < 1000 + GUARANTEED_OOM_ADJ)
			adj = 1000 + GUARANTEED_OOM_ADJ;
		if (adj == BESTEFFORT_OOM_ADJ)
			adj--;
		set_oom_adj(in, process, (int)adj);
	}
	return 0;
}

/* ---- namespaces ---- */

static json_t *ns(const char *type, const char *path)
{
	json_t *o = json_pack("{s:s}", "type", type);
	if (path)
		json_object_set_new(o, "path", json_string(path));
	return o;
}

static void build_namespaces(const struct ocispec_input *in, bool host_pid, bool host_ipc,
			     bool share_pid, json_t *linux_obj)
{
	json_t *a = json_array();
	char path[64];
	bool app = in->container != NULL;
	if (!host_pid) {
		if (app && share_pid) {
			snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)in->sandbox_pid);
			json_array_append_new(a, ns("pid", path));
		} else {
			json_array_append_new(a, ns("pid", NULL));
		}
	}
	if (in->netns_path)
		json_array_append_new(a, ns("network", in->netns_path));
	if (!host_ipc) {
		if (in->ipc_path) {
			json_array_append_new(a, ns("ipc", in->ipc_path));
		} else if (app) {
			snprintf(path, sizeof(path), "/proc/%d/ns/ipc", (int)in->sandbox_pid);
			json_array_append_new(a, ns("ipc", path));
		} else {
			json_array_append_new(a, ns("ipc", NULL));
		}
	}
	if (in->netns_path) {
		if (in->uts_path) {
			json_array_append_new(a, ns("uts", in->uts_path));
		} else if (app) {
			snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)in->sandbox_pid);
			json_array_append_new(a, ns("uts", path));
		} else {
			json_array_append_new(a, ns("uts", NULL));
		}
	}
	json_array_append_new(a, ns("mount", NULL));
	json_object_set_new(linux_obj, "namespaces", a);
}

/* ---- the whole spec ---- */

static bool any_privileged(const json_t *pod)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_path_get(pod, lists[l]), i, c) if (
			json_is_true(json_path_get(c, "securityContext.privileged"))) return true;
	}
	return false;
}

json_t *ocispec_build(const struct ocispec_input *in, struct mk_err **err)
{
	if (!in->pod || !json_is_object(in->pod)) {
		mk_err_set(err, MK_EINVAL, "no pod");
		return NULL;
	}
	if (!in->rootfs || in->rootfs[0] != '/') {
		mk_err_set(err, MK_EINVAL, "rootfs must be an absolute path");
		return NULL;
	}
	const json_t *img = json_object_get(in->image_config, "config");
	if (!json_is_object(img))
		img = in->image_config;
	bool host_net = json_is_true(json_path_get(in->pod, "spec.hostNetwork"));
	bool host_pid = json_is_true(json_path_get(in->pod, "spec.hostPID"));
	bool host_ipc = json_is_true(json_path_get(in->pod, "spec.hostIPC"));
	bool share_pid = json_is_true(json_path_get(in->pod, "spec.shareProcessNamespace"));
	/* what an app container joins through /proc/<sandbox pid> */
	bool needs_pid = in->netns_path && (!in->uts_path || (!host_ipc && !in->ipc_path) ||
					    (share_pid && !host_pid));
	if (in->container && in->sandbox_pid <= 0 && needs_pid) {
		mk_err_set(err, MK_EINVAL, "an app container needs the sandbox's pid");
		return NULL;
	}
	if (host_net != !in->netns_path) {
		mk_err_set(err, MK_EINVAL, "%s",
			   host_net ? "a hostNetwork pod takes no netns path"
				    : "netns path missing");
		return NULL;
	}
	struct secctx sc;
	secctx_merge(in->pod, in->container, &sc);
	if (!in->container)
		sc.privileged = any_privileged(in->pod);

	cleanup_json json_t *spec = json_object();
	json_object_set_new(spec, "ociVersion", json_string("1.0.2-dev"));
	json_t *process = json_object();
	json_object_set_new(spec, "process", process);
	json_object_set_new(process, "terminal", json_false());

	/* env first: command/args expand from it */
	struct envlist env = {0}, cenv = {0};
	env_set(&env, DEFAULT_PATH);
	if (in->hostname) {
		cleanup_free char *h = xasprintf("HOSTNAME=%s", in->hostname);
		env_set(&env, h);
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(img, "Env"), i, v) if (json_is_string(v))
		env_set(&env, json_string_value(v));
	if (in->container) {
		for (size_t k = 0; k < in->n_env; k++) {
			const struct ocispec_env *e = &in->env[k];
			if (!e->name || !*e->name || strchr(e->name, '=')) {
				env_free(&env);
				env_free(&cenv);
				mk_err_set(err, MK_EINVAL,
					   "invalid environment variable name \"%s\"",
					   e->name ? e->name : "");
				return NULL;
			}
			cleanup_free char *val =
				e->expand ? ocispec_expand(e->value ? e->value : "", env_get, &cenv)
					  : xstrdup(e->value ? e->value : "");
			cleanup_free char *kv = xasprintf("%s=%s", e->name, val);
			env_set(&cenv, kv);
		}
		for (size_t k = 0; k < cenv.n; k++)
			if (cenv.v[k])
				env_set(&env, cenv.v[k]);
	}
	int rc = build_args(in, img, &cenv, process, err);
	env_free(&cenv);
	if (rc < 0) {
		env_free(&env);
		return NULL;
	}
	json_object_set_new(process, "env", env_json(&env));
	env_free(&env);

	const char *wd = in->container
				 ? json_string_value(json_object_get(in->container, "workingDir"))
				 : NULL;
	if (!wd || !*wd)
		wd = json_string_value(json_object_get(img, "WorkingDir"));
	json_object_set_new(process, "cwd", json_string(wd && *wd ? wd : "/"));

	if (build_user(in, img, &sc, process, err) < 0)
		return NULL;
	json_t *caps = NULL;
	if (build_caps(&sc, &caps, err) < 0)
		return NULL;
	json_object_set_new(process, "capabilities", caps);
	json_object_set_new(process, "rlimits",
			    json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "hard", 1024,
				      "soft", 1024));
	json_object_set_new(process, "noNewPrivileges",
			    json_boolean(in->container && sc.has_ape && !sc.ape));

	json_object_set_new(spec, "root",
			    json_pack("{s:s, s:b}", "path", in->rootfs, "readonly",
				      in->container && sc.read_only_root));
	if (!in->container && !host_net && in->hostname)
		json_object_set_new(spec, "hostname", json_string(in->hostname));
	json_object_set_new(spec, "mounts", default_mounts(sc.privileged));

	json_t *linux_obj = json_object();
	json_object_set_new(spec, "linux", linux_obj);
	json_t *res = json_object();
	json_object_set_new(res, "devices",
			    json_pack("[{s:b, s:s}]", "allow", sc.privileged, "access", "rwm"));
	json_object_set_new(linux_obj, "resources", res);
	if (build_resources(in, process, res, err) < 0)
		return NULL;
	if (in->cgroups_path)
		json_object_set_new(linux_obj, "cgroupsPath", json_string(in->cgroups_path));
	if (!in->container) {
		json_t *sysctls = json_path_get(in->pod, "spec.securityContext.sysctls");
		if (json_array_size(sysctls)) {
			json_t *o = json_object();
			json_array_foreach(sysctls, i, v)
			{
				const char *n = json_string_value(json_object_get(v, "name"));
				const char *val = json_string_value(json_object_get(v, "value"));
				if (n && val)
					json_object_set_new(o, n, json_string(val));
			}
			json_object_set_new(linux_obj, "sysctl", o);
		}
	}
	build_namespaces(in, host_pid, host_ipc, share_pid, linux_obj);
	if (build_mounts(in, host_ipc, &sc, spec, linux_obj, err) < 0)
		return NULL;
	if (!sc.privileged) {
		json_object_set_new(linux_obj, "maskedPaths", str_array(masked_paths));
		json_object_set_new(linux_obj, "readonlyPaths", str_array(readonly_paths));
	}

	json_t *ann = json_object();
	json_object_set_new(ann, "io.kubernetes.cri.container-type",
			    json_string(in->container ? "container" : "sandbox"));
	if (in->sandbox_id)
		json_object_set_new(ann, "io.kubernetes.cri.sandbox-id",
				    json_string(in->sandbox_id));
	const char *meta[][2] = {{"io.kubernetes.pod.name", "metadata.name"},
				 {"io.kubernetes.pod.namespace", "metadata.namespace"},
				 {"io.kubernetes.pod.uid", "metadata.uid"}};
	for (size_t k = 0; k < 3; k++) {
		const char *s = json_path_str(in->pod, meta[k][1]);
		if (s)
			json_object_set_new(ann, meta[k][0], json_string(s));
	}
	if (in->container) {
		const char *cn = json_string_value(json_object_get(in->container, "name"));
		if (cn)
			json_object_set_new(ann, "io.kubernetes.container.name", json_string(cn));
	}
	json_object_set_new(spec, "annotations", ann);
	return steal_pointer(&spec);
}
