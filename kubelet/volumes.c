#include "volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "podspec.h"
#include "quantity.h"
#include "xalloc.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static bool is_tmpfs(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == (unsigned long)TMPFS_MAGIC;
}

/* ---- atomic writer ---- */

static bool valid_rel_path(const char *p)
{
	if (!*p || *p == '/')
		return false;
	if (!strncmp(p, "..", 2))
		return false;
	cleanup_free char *copy = xstrdup(p);
	char *save = NULL;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (!strcmp(t, ".."))
			return false;
	return true;
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode,
		      struct mk_err **err)
{
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (fs_mkdir_p(dir, 0755, err) < 0)
			return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "writing %s", path);
	if (fs_write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		return mk_err_errno(err, MK_EIO, e, "writing %s", path);
	}
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return mk_err_errno(err, MK_EIO, errno, "chmod %s", path);
	}
	close(fd);
	return 0;
}

/* The first path component of rel ("a/b" -> "a"); new string. */
static char *top_of(const char *rel)
{
	const char *s = strchr(rel, '/');
	return s ? xstrndup(rel, (size_t)(s - rel)) : xstrdup(rel);
}

int volumes_atomic_write(const char *dir, const json_t *files, struct mk_err **err)
{
	if (fs_mkdir_p(dir, 0777, err) < 0)
		return -1;
	/* Unchanged content: nothing to do (keeps inotify readers quiet). */
	cleanup_free char *data_link = xasprintf("%s/..data", dir);
	char cur[PATH_MAX];
	ssize_t cl = readlink(data_link, cur, sizeof(cur) - 1);
	if (cl > 0) {
		cur[cl] = '\0';
		bool same = true;
		const char *rel;
		json_t *f;
		size_t count = 0;
		json_object_foreach((json_t *)files, rel, f)
		{
			count++;
			cleanup_free char *p = xasprintf("%s/%s/%s", dir, cur, rel);
			const char *data = json_string_value(json_object_get(f, "data"));
			bool bin = json_is_true(json_object_get(f, "binary"));
			size_t len = 0;
			cleanup_free char *bytes = bin ? base64_decode(data ? data : "", &len)
						       : xstrdup(data ? data : "");
			if (!bin)
				len = strlen(bytes);
			struct stat st;
			if (!bytes || stat(p, &st) < 0 || (size_t)st.st_size != len ||
			    (st.st_mode & 07777) !=
				    (mode_t)json_integer_value(json_object_get(f, "mode"))) {
				same = false;
				break;
			}
			cleanup_free char *old = xmalloc(len + 1);
			FILE *fp = fopen(p, "re");
			size_t got = fp ? fread(old, 1, len, fp) : 0;
			if (fp)
				fclose(fp);
			if (got != len || memcmp(old, bytes, len)) {
				same = false;
				break;
			}
		}
		/* a file dropped from the set also counts as a change */
		cleanup_free char *curdir = xasprintf("%s/%s", dir, cur);
		size_t present = 0;
		DIR *d = opendir(curdir);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				if (e->d_name[0] != '.')
					present++;
			closedir(d);
		}
		json_t *tops = json_object();
		json_object_foreach((json_t *)files, rel, f)
		{
			char *t = top_of(rel);
			json_object_set_new(tops, t, json_true());
			free(t);
		}
		if (present != json_object_size(tops))
			same = false;
		json_decref(tops);
		(void)count;
		if (same)
			return 0;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[96];
	snprintf(stamp, sizeof(stamp), "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
	cleanup_free char *tsdir = xasprintf("%s/%s", dir, stamp);
	if (mkdir(tsdir, 0755) < 0)
		return mk_err_errno(err, MK_EIO, errno, "mkdir %s", tsdir);
	const char *rel;
	json_t *f;
	json_object_foreach((json_t *)files, rel, f)
	{
		if (!valid_rel_path(rel)) {
			fs_remove_tree(tsdir, NULL);
			return mk_err_set(err, MK_EINVAL, "invalid path \"%s\"", rel);
		}
		const char *data = json_string_value(json_object_get(f, "data"));
		bool bin = json_is_true(json_object_get(f, "binary"));
		size_t len = 0;
		cleanup_free char *bytes =
			bin ? base64_decode(data ? data : "", &len) : xstrdup(data ? data : "");
		if (!bytes) {
			fs_remove_tree(tsdir, NULL);
			return mk_err_set(err, MK_EINVAL, "%s: invalid base64 data", rel);
		}
		if (!bin)
			len = strlen(bytes);
		cleanup_free char *p = xasprintf("%s/%s", tsdir, rel);
		mode_t mode = (mode_t)json_integer_value(json_object_get(f, "mode"));
		if (write_file(p, bytes, len, mode ? mode : 0644, err) < 0) {
			fs_remove_tree(tsdir, NULL);
			return -1;
		}
	}
	cleanup_free char *tmp_link = xasprintf("%s/..data_tmp", dir);
	unlink(tmp_link);
	if (symlink(stamp, tmp_link) < 0 || rename(tmp_link, data_link) < 0) {
		int e = errno;
		fs_remove_tree(tsdir, NULL);
		return mk_err_errno(err, MK_EIO, e, "switching %s", data_link);
	}
	/* user-visible names: one link per top-level entry */
	json_t *tops = json_object();
	json_object_foreach((json_t *)files, rel, f)
	{
		char *t = top_of(rel);
		json_object_set_new(tops, t, json_true());
		free(t);
	}
	const char *top;
	json_t *v;
	json_object_foreach(tops, top, v)
	{
		cleanup_free char *l = xasprintf("%s/%s", dir, top);
		cleanup_free char *target = xasprintf("..data/%s", top);
		char have[PATH_MAX];
		ssize_t hl = readlink(l, have, sizeof(have) - 1);
		if (hl > 0) {
			have[hl] = '\0';
			if (!strcmp(have, target))
				continue;
		}
		unlink(l);
		if (symlink(target, l) < 0) {
			int e = errno;
			json_decref(tops);
			return mk_err_errno(err, MK_EIO, e, "linking %s", l);
		}
	}
	/* names no longer in the set, and older timestamped directories */
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
			    !strcmp(e->d_name, "..data") || !strcmp(e->d_name, stamp))
				continue;
			cleanup_free char *p = xasprintf("%s/%s", dir, e->d_name);
			if (!strncmp(e->d_name, "..", 2))
				fs_remove_tree(p, NULL);
			else if (!json_object_get(tops, e->d_name))
				unlink(p);
		}
		closedir(d);
	}
	json_decref(tops);
	return 0;
}

/* ---- downward API ---- */

static char *format_map(const json_t *m)
{
	/* upstream: sorted key="value" lines, values quoted with Go's %q */
	size_t n;
	const char **keys = json_object_sorted_keys(m, &n);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *val = json_string_value(json_object_get(m, keys[i]));
		buf_printf(&b, "%s%s=", i ? "\n" : "", keys[i]);
		buf_append_go_quoted(&b, val ? val : "", val ? strlen(val) : 0);
	}
	free(keys);
	return buf_steal(&b);
}

char *volumes_field_value(const json_t *pod, const char *fp, const char *host_ip,
			  const char *pod_ip, struct mk_err **err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *simple[][2] = {{"metadata.name", "name"},
				   {"metadata.namespace", "namespace"},
				   {"metadata.uid", "uid"}};
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(fp, simple[i][0]))
			return xstrdup(json_string_value(json_object_get(meta, simple[i][1]))
					       ?: "");
	if (!strcmp(fp, "metadata.labels"))
		return format_map(json_object_get(meta, "labels"));
	if (!strcmp(fp, "metadata.annotations"))
		return format_map(json_object_get(meta, "annotations"));
	const char *prefixes[][2] = {{"metadata.labels['", "labels"},
				     {"metadata.annotations['", "annotations"}};
	for (size_t i = 0; i < 2; i++) {
		size_t pl = strlen(prefixes[i][0]);
		size_t fl = strlen(fp);
		if (!strncmp(fp, prefixes[i][0], pl) && fl > pl + 2 && !strcmp(fp + fl - 2, "']")) {
			cleanup_free char *key = xstrndup(fp + pl, fl - pl - 2);
			const char *v = json_string_value(
				json_object_get(json_object_get(meta, prefixes[i][1]), key));
			return xstrdup(v ? v : "");
		}
	}
	if (!strcmp(fp, "spec.nodeName"))
		return xstrdup(json_string_value(json_path_get(pod, "spec.nodeName")) ?: "");
	if (!strcmp(fp, "spec.serviceAccountName"))
		return xstrdup(json_string_value(json_path_get(pod, "spec.serviceAccountName"))
				       ?: "");
	if (!strcmp(fp, "status.hostIP") || !strcmp(fp, "status.hostIPs"))
		return xstrdup(host_ip ? host_ip : "");
	if (!strcmp(fp, "status.podIP") || !strcmp(fp, "status.podIPs"))
		return xstrdup(pod_ip ? pod_ip : "");
	return mk_err_set(err, MK_EINVAL, "unsupported fieldPath: %s", fp), NULL;
}

char *volumes_resource_value(const json_t *pod, const char *container, const char *resource,
			     const char *divisor, int64_t node_cpu_milli, int64_t node_memory_bytes,
			     struct mk_err **err)
{
	const json_t *c = podspec_container(json_object_get(pod, "spec"), container);
	if (!c)
		return mk_err_set(err, MK_EINVAL, "container %s not found",
				  container ? container : ""),
		       NULL;
	const char *dot = strchr(resource, '.');
	if (!dot)
		return mk_err_set(err, MK_EINVAL, "unsupported container resource : %s", resource),
		       NULL;
	cleanup_free char *kind = xstrndup(resource, (size_t)(dot - resource));
	const char *name = dot + 1;
	const char *q = json_string_value(
		json_object_get(json_object_get(json_object_get(c, "resources"), kind), name));
	int64_t milli = 0;
	if (q && quantity_parse_milli(q, &milli, err) < 0)
		return NULL;
	if (!q && !strcmp(kind, "limits")) {
		if (!strcmp(name, "cpu"))
			milli = node_cpu_milli;
		else if (!strcmp(name, "memory"))
			milli = node_memory_bytes * 1000;
	}
	int64_t div = 1000;
	if (divisor && *divisor && quantity_parse_milli(divisor, &div, err) < 0)
		return NULL;
	if (div <= 0)
		div = 1000;
	/* upstream rounds up: ceil(value / divisor) */
	int64_t v = (milli + div - 1) / div;
	if (!strcmp(name, "cpu") && v < 1 && milli > 0)
		v = 1;
	return xasprintf("%lld", (long long)v);
}

/* ---- sources ---- */

static int add_item(json_t *files, const char *path, const char *data, bool binary, int mode)
{
	json_object_set_new(files, path,
			    json_pack("{s:s, s:b, s:i}", "data", data ? data : "", "binary", binary,
				      "mode", mode));
	return 0;
}

/* Files of a configMap or secret source (items, or every key). */
static int key_files(const struct volumes_ctx *vc, const char *ns, const json_t *src, bool secret,
		     const char *volume, json_t *files, struct mk_err **err)
{
	const char *name = json_string_value(json_object_get(src, secret ? "secretName" : "name"));
	if (!name)
		name = json_string_value(json_object_get(src, "name"));
	bool optional = json_is_true(json_object_get(src, "optional"));
	int dmode = (int)(json_is_integer(json_object_get(src, "defaultMode"))
				  ? json_integer_value(json_object_get(src, "defaultMode"))
				  : 0644);
	cleanup_err struct mk_err *lerr = NULL;
	cleanup_json json_t *obj =
		vc->lookup && name ? vc->lookup(vc->lookup_arg, secret ? "Secret" : "ConfigMap", ns,
						name, &lerr)
				   : NULL;
	if (!obj) {
		if (optional)
			return 0;
		if (!vc->lookup)
			return mk_err_set(err, MK_ENOTFOUND,
					  "MountVolume.SetUp failed for volume \"%s\" : %s \"%s\" "
					  "not found (no API server in standalone mode)",
					  volume, secret ? "secret" : "configmap",
					  name ? name : "");
		return mk_err_set(
			err, mk_err_code(lerr) ? mk_err_code(lerr) : MK_ENOTFOUND,
			"MountVolume.SetUp failed for volume \"%s\" : %s \"%s\" not found", volume,
			secret ? "secret" : "configmap", name ? name : "");
	}
	const json_t *data = json_object_get(obj, "data");
	const json_t *bdata = json_object_get(obj, "binaryData");
	const json_t *items = json_object_get(src, "items");
	if (json_array_size(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			const char *key = json_string_value(json_object_get(it, "key"));
			const char *path = json_string_value(json_object_get(it, "path"));
			int mode = json_is_integer(json_object_get(it, "mode"))
					   ? (int)json_integer_value(json_object_get(it, "mode"))
					   : dmode;
			json_t *v = key ? json_object_get(data, key) : NULL;
			bool bin = secret;
			if (!v && !secret && key) {
				v = json_object_get(bdata, key);
				bin = true;
			}
			if (!v) {
				if (optional)
					continue;
				return mk_err_set(
					err, MK_ENOTFOUND,
					"MountVolume.SetUp failed for volume \"%s\" : "
					"configmap references non-existent config key: %s",
					volume, key ? key : "");
			}
			add_item(files, path ? path : key, json_string_value(v), bin, mode);
		}
		return 0;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)data, key, v)
		add_item(files, key, json_string_value(v), secret, dmode);
	if (!secret)
		json_object_foreach((json_t *)bdata, key, v)
			add_item(files, key, json_string_value(v), true, dmode);
	return 0;
}

static int downward_files(const struct volumes_ctx *vc, const json_t *pod, const json_t *src,
			  json_t *files, struct mk_err **err)
{
	int dmode = (int)(json_is_integer(json_object_get(src, "defaultMode"))
				  ? json_integer_value(json_object_get(src, "defaultMode"))
				  : 0644);
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(src, "items"), i, it)
	{
		const char *path = json_string_value(json_object_get(it, "path"));
		int mode = json_is_integer(json_object_get(it, "mode"))
				   ? (int)json_integer_value(json_object_get(it, "mode"))
				   : dmode;
		cleanup_free char *val = NULL;
		json_t *fr = json_object_get(it, "fieldRef");
		json_t *rr = json_object_get(it, "resourceFieldRef");
		if (fr)
			val = volumes_field_value(
				pod, json_string_value(json_object_get(fr, "fieldPath")) ?: "",
				vc->host_ip, vc->pod_ip, err);
		else if (rr)
			val = volumes_resource_value(
				pod, json_string_value(json_object_get(rr, "containerName")),
				json_string_value(json_object_get(rr, "resource")) ?: "",
				json_string_value(json_object_get(rr, "divisor")), 0, 0, err);
		else
			continue;
		if (!val)
			return -1;
		add_item(files, path ? path : "", val, false, mode);
	}
	return 0;
}

/* Checks and prepares a hostPath volume as its type asks. */
static int host_path(const json_t *src, const char *volume, struct mk_err **err)
{
	const char *path = json_string_value(json_object_get(src, "path"));
	const char *type = json_string_value(json_object_get(src, "type"));
	if (!path || !*path)
		return mk_err_set(err, MK_EINVAL,
				  "MountVolume.SetUp failed for volume \"%s\" : "
				  "hostPath has no path",
				  volume);
	if (!type)
		type = "";
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (!strcmp(type, "DirectoryOrCreate")) {
		if (!exists)
			return fs_mkdir_p(path, 0755, err);
		if (!S_ISDIR(st.st_mode))
			goto bad;
		return 0;
	}
	if (!strcmp(type, "FileOrCreate")) {
		if (!exists) {
			cleanup_free char *dir = xstrdup(path);
			char *slash = strrchr(dir, '/');
			if (slash && slash != dir) {
				*slash = '\0';
				if (fs_mkdir_p(dir, 0755, err) < 0)
					return -1;
			}
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				return mk_err_errno(err, MK_EIO, errno, "creating %s", path);
			close(fd);
			return 0;
		}
		if (!S_ISREG(st.st_mode))
			goto bad;
		return 0;
	}
	if (!*type)
		return 0;
	if (!exists)
		return mk_err_set(err, MK_ENOTFOUND,
				  "MountVolume.SetUp failed for volume \"%s\" : "
				  "hostPath type check failed: %s is not a %s",
				  volume, path, !strcmp(type, "Directory") ? "directory" : type);
	if ((!strcmp(type, "Directory") && S_ISDIR(st.st_mode)) ||
	    (!strcmp(type, "File") && S_ISREG(st.st_mode)) ||
	    (!strcmp(type, "Socket") && S_ISSOCK(st.st_mode)) ||
	    (!strcmp(type, "CharDevice") && S_ISCHR(st.st_mode)) ||
	    (!strcmp(type, "BlockDevice") && S_ISBLK(st.st_mode)))
		return 0;
	if (strcmp(type, "Directory") && strcmp(type, "File") && strcmp(type, "Socket") &&
	    strcmp(type, "CharDevice") && strcmp(type, "BlockDevice"))
		return mk_err_set(err, MK_EINVAL,
				  "MountVolume.SetUp failed for volume \"%s\" : "
				  "invalid HostPathType %s",
				  volume, type);
bad:
	return mk_err_set(err, MK_EINVAL,
			  "MountVolume.SetUp failed for volume \"%s\" : hostPath "
			  "type check failed: %s is not a %s",
			  volume, path,
			  !strcmp(type, "Directory") || !strcmp(type, "DirectoryOrCreate")
				  ? "directory"
			  : !strcmp(type, "File") || !strcmp(type, "FileOrCreate") ? "file"
										   : type);
}

static int mount_tmpfs(const char *dir, const char *size, struct mk_err **err)
{
	if (is_tmpfs(dir))
		return 0;
	cleanup_free char *opts =
		size ? xasprintf("mode=0777,size=%s", size) : xstrdup("mode=0777");
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return mk_err_errno(err, MK_EIO, errno, "mounting a tmpfs at %s", dir);
	return 0;
}

static char *volume_dir(const struct volumes_ctx *vc, const char *plugin, const char *name)
{
	return xasprintf("%s/volumes/kubernetes.io~%s/%s", vc->pod_dir, plugin, name);
}

int volumes_setup(const struct volumes_ctx *vc, const json_t *pod, struct mk_err **err)
{
	const char *ns = json_string_value(json_path_get(pod, "metadata.namespace"));
	size_t i;
	json_t *v;
	json_array_foreach(json_path_get(pod, "spec.volumes"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		if (!name)
			continue;
		json_t *src;
		if ((src = json_object_get(v, "hostPath"))) {
			if (host_path(src, name, err) < 0)
				return -1;
		} else if ((src = json_object_get(v, "emptyDir"))) {
			cleanup_free char *dir = volume_dir(vc, "empty-dir", name);
			if (fs_mkdir_p(dir, 0777, err) < 0)
				return -1;
			chmod(dir, 0777);
			const char *medium = json_string_value(json_object_get(src, "medium"));
			if (medium && !strcmp(medium, "Memory") &&
			    mount_tmpfs(dir, json_string_value(json_object_get(src, "sizeLimit")),
					err) < 0)
				return -1;
		} else if ((src = json_object_get(v, "configMap")) ||
			   (src = json_object_get(v, "secret"))) {
			bool secret = json_object_get(v, "secret") != NULL;
			cleanup_free char *dir =
				volume_dir(vc, secret ? "secret" : "configmap", name);
			if (fs_mkdir_p(dir, 0755, err) < 0)
				return -1;
			if (secret && mount_tmpfs(dir, NULL, err) < 0)
				return -1;
			cleanup_json json_t *files = json_object();
			if (key_files(vc, ns, src, secret, name, files, err) < 0 ||
			    volumes_atomic_write(dir, files, err) < 0)
				return -1;
		} else if ((src = json_object_get(v, "downwardAPI"))) {
			cleanup_free char *dir = volume_dir(vc, "downward-api", name);
			cleanup_json json_t *files = json_object();
			if (downward_files(vc, pod, src, files, err) < 0 ||
			    volumes_atomic_write(dir, files, err) < 0)
				return mk_err_wrap(
					err, "MountVolume.SetUp failed for volume \"%s\"", name);
		} else if ((src = json_object_get(v, "projected"))) {
			cleanup_free char *dir = volume_dir(vc, "projected", name);
			cleanup_json json_t *files = json_object();
			json_t *dm = json_object_get(src, "defaultMode");
			size_t j;
			json_t *s;
			json_array_foreach(json_object_get(src, "sources"), j, s)
			{
				json_t *sub;
				cleanup_json json_t *copy = NULL;
				if ((sub = json_object_get(s, "configMap")) ||
				    (sub = json_object_get(s, "secret"))) {
					bool secret = json_object_get(s, "secret") != NULL;
					copy = json_copy_deep(sub);
					if (dm && !json_object_get(copy, "defaultMode"))
						json_object_set(copy, "defaultMode", dm);
					if (key_files(vc, ns, copy, secret, name, files, err) < 0)
						return -1;
				} else if ((sub = json_object_get(s, "downwardAPI"))) {
					copy = json_copy_deep(sub);
					if (dm && !json_object_get(copy, "defaultMode"))
						json_object_set(copy, "defaultMode", dm);
					if (downward_files(vc, pod, copy, files, err) < 0)
						return -1;
				}
			}
			if (volumes_atomic_write(dir, files, err) < 0)
				return -1;
		} else {
			log_v(2, "volume %s: type not supported on this node; skipped", name);
		}
	}
	return 0;
}

json_t *volumes_mounts(const struct volumes_ctx *vc, const json_t *pod, const json_t *cspec,
		       struct mk_err **err)
{
	json_t *out = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(cspec, "volumeMounts"), i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *dest = json_string_value(json_object_get(m, "mountPath"));
		const char *sub = json_string_value(json_object_get(m, "subPath"));
		const json_t *vol = NULL;
		size_t j;
		json_t *v;
		json_array_foreach(json_path_get(pod, "spec.volumes"), j, v)
		{
			const char *vn = json_string_value(json_object_get(v, "name"));
			if (vn && name && !strcmp(vn, name))
				vol = v;
		}
		if (!vol || !dest) {
			json_decref(out);
			return mk_err_set(err, MK_EINVAL,
					  "cannot find volume \"%s\" to mount into "
					  "container \"%s\"",
					  name ? name : "",
					  json_string_value(json_object_get(cspec, "name"))),
			       NULL;
		}
		cleanup_free char *src = NULL;
		json_t *s;
		if ((s = json_object_get(vol, "hostPath")))
			src = xstrdup(json_string_value(json_object_get(s, "path")) ?: "/");
		else if (json_object_get(vol, "emptyDir"))
			src = volume_dir(vc, "empty-dir", name);
		else if (json_object_get(vol, "configMap"))
			src = volume_dir(vc, "configmap", name);
		else if (json_object_get(vol, "secret"))
			src = volume_dir(vc, "secret", name);
		else if (json_object_get(vol, "downwardAPI"))
			src = volume_dir(vc, "downward-api", name);
		else if (json_object_get(vol, "projected"))
			src = volume_dir(vc, "projected", name);
		else
			continue;
		if (sub && *sub) {
			if (!valid_rel_path(sub)) {
				json_decref(out);
				return mk_err_set(err, MK_EINVAL,
						  "subPath \"%s\" must not contain "
						  "'..' or be absolute",
						  sub),
				       NULL;
			}
			char *full = xasprintf("%s/%s", src, sub);
			free(src);
			src = full;
			struct stat st;
			if (stat(src, &st) < 0 && fs_mkdir_p(src, 0777, err) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		json_t *entry = json_pack("{s:s, s:s, s:b}", "source", src, "destination", dest,
					  "readOnly", json_is_true(json_object_get(m, "readOnly")));
		const char *prop = json_string_value(json_object_get(m, "mountPropagation"));
		if (prop)
			json_object_set_new(entry, "propagation", json_string(prop));
		json_array_append_new(out, entry);
	}
	return out;
}

int volumes_teardown(const char *pod_dir, struct mk_err **err)
{
	cleanup_free char *dir = xasprintf("%s/volumes", pod_dir);
	fs_unmount_below(dir);
	return fs_remove_tree(dir, err);
}
