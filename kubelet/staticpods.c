#include "staticpods.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "podspec.h"
#include "sha2.h"
#include "timefmt.h"
#include "xalloc.h"
#include "yamldoc.h"

/* Manifests larger than this are refused rather than read into memory. */
#define MANIFEST_MAX (1024 * 1024)

static char *hex(const uint8_t *d, size_t n)
{
	char *out = xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return out;
}

static int check_containers(const json_t *list, const char *field, bool required,
			    struct mk_err **err)
{
	if (!list || json_is_null(list)) {
		if (required)
			return mk_err_set(err, MK_EINVAL, "invalid pod: %s: Required value", field);
		return 0;
	}
	if (!json_is_array(list) || (required && !json_array_size(list)))
		return mk_err_set(err, MK_EINVAL, "invalid pod: %s: Required value", field);
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		if (!name || !*name)
			return mk_err_set(err, MK_EINVAL,
					  "invalid pod: %s[%zu].name: Required value", field, i);
		const char *why = names_check_dns1123_label(name);
		if (why)
			return mk_err_set(err, MK_EINVAL,
					  "invalid pod: %s[%zu].name: Invalid value: \"%s\": %s",
					  field, i, name, why);
		const char *image = json_string_value(json_object_get(c, "image"));
		if (!image || !*image)
			return mk_err_set(err, MK_EINVAL,
					  "invalid pod: %s[%zu].image: Required value", field, i);
	}
	return 0;
}

json_t *staticpod_parse(const char *text, size_t len, const char *node_name, struct mk_err **err)
{
	cleanup_err struct mk_err *perr = NULL;
	cleanup_json json_t *doc = yamldoc_parse(text, len, &perr);
	if (!doc)
		return mk_err_set(err, MK_EINVAL, "invalid pod: %s", mk_err_msg(perr)), NULL;
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "invalid pod: the manifest is not an object"),
		       NULL;
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *av = json_string_value(json_object_get(doc, "apiVersion"));
	if (!av || !*av)
		return mk_err_set(err, MK_EINVAL, "invalid pod: Object 'apiVersion' is missing"),
		       NULL;
	if (!kind || !*kind)
		return mk_err_set(err, MK_EINVAL, "invalid pod: Object 'Kind' is missing"), NULL;
	if (strcmp(kind, "Pod") || strcmp(av, "v1"))
		return mk_err_set(err, MK_EINVAL, "invalid pod: kind %s of %s is not a v1 Pod",
				  kind, av),
		       NULL;
	json_t *meta = json_object_get(doc, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (!name || !*name)
		return mk_err_set(err, MK_EINVAL, "invalid pod: metadata.name: Required value"),
		       NULL;
	json_t *spec = json_object_get(doc, "spec");
	if (!json_is_object(spec))
		return mk_err_set(err, MK_EINVAL, "invalid pod: spec.containers: Required value"),
		       NULL;
	if (check_containers(json_object_get(spec, "containers"), "spec.containers", true, err) <
		    0 ||
	    check_containers(json_object_get(spec, "initContainers"), "spec.initContainers", false,
			     err) < 0)
		return NULL;

	json_t *pod = json_copy_deep(doc);
	meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	if (!ns || !*ns)
		json_object_set_new(meta, "namespace", json_string("default"));
	else if (names_check_dns1123_label(ns)) {
		/* ns belongs to pod: the message first, then the pod goes */
		mk_err_set(err, MK_EINVAL,
			   "invalid pod: metadata.namespace: Invalid value: \"%s\": %s", ns,
			   names_check_dns1123_label(ns));
		json_decref(pod);
		return NULL;
	}
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	cleanup_free char *made_uid = NULL;
	if (!uid || !*uid) {
		/* Stable for the same manifest on the same node, so a restarted
		 * kubelet recognises the pod it already runs. */
		cleanup_free char *canon = json_dump_compact(doc);
		cleanup_free char *input = xasprintf("%s\nhost:%s\nfile", canon, node_name);
		uint8_t d[SHA256_DIGEST_LEN];
		sha2_256(input, strlen(input), d);
		made_uid = hex(d, 16);
		json_object_set_new(meta, "uid", json_string(made_uid));
		uid = made_uid;
	}
	cleanup_free char *full = xasprintf("%s-%s", name, node_name);
	for (char *p = full + strlen(name); *p; p++)
		*p = (char)tolower((unsigned char)*p);
	const char *why = names_check_dns1123_subdomain(full);
	if (why) {
		json_decref(pod);
		return mk_err_set(err, MK_EINVAL,
				  "invalid pod: metadata.name: Invalid value: \"%s\": %s", full,
				  why),
		       NULL;
	}
	json_object_set_new(meta, "name", json_string(full));
	json_t *ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(meta, "annotations", ann);
	}
	json_object_set_new(ann, "kubernetes.io/config.hash", json_string(uid));
	char *seen = time_now_rfc3339();
	json_object_set_new(ann, "kubernetes.io/config.seen", json_string(seen));
	free(seen);
	json_object_set_new(ann, "kubernetes.io/config.source", json_string("file"));
	spec = json_object_get(pod, "spec");
	json_object_set_new(spec, "nodeName", json_string(node_name));
	podspec_defaults(spec);
	if (!json_object_get(spec, "enableServiceLinks"))
		json_object_set_new(spec, "enableServiceLinks", json_true());
	json_object_del(pod, "status");
	return pod;
}

json_t *staticpod_load(const char *path, const char *node_name, struct mk_err **err)
{
	size_t len = 0;
	cleanup_free char *text = fs_read_file(path, MANIFEST_MAX, &len, err);
	if (!text)
		return NULL;
	return staticpod_parse(text, len, node_name, err);
}

/* ---- the watcher ---- */

struct staticpods {
	char *path;
	char *node;
	staticpods_fn fn;
	void *arg;
	int64_t rescan_ms;
	/* what was last reported per file: path -> sha256 hex of its bytes
	 * (only files that gave a valid pod are here) */
	json_t *known;
	json_t *bad; /* path -> hash of content already reported as invalid */
	int inotify_fd;
	int stop_fd; /* eventfd */
	int wd;
	pthread_t thread;
	bool started;
};

struct staticpods *staticpods_new(const char *path, const char *node_name, staticpods_fn fn,
				  void *arg)
{
	struct staticpods *sp = xcalloc(1, sizeof(*sp));
	sp->path = xstrdup(path);
	sp->node = xstrdup(node_name);
	sp->fn = fn;
	sp->arg = arg;
	sp->known = json_object();
	sp->bad = json_object();
	sp->inotify_fd = -1;
	sp->stop_fd = -1;
	sp->wd = -1;
	return sp;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads one file and reports it if it changed; a file that no longer gives
 * a valid pod is reported gone. */
static void visit(struct staticpods *sp, const char *file, json_t *seen)
{
	size_t len = 0;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *text = fs_read_file(file, MANIFEST_MAX, &len, &err);
	if (!text) {
		if (mk_err_code(err) != MK_ENOTFOUND)
			log_error("Could not process manifest file \"%s\": %s", file,
				  mk_err_msg(err));
		return;
	}
	uint8_t d[SHA256_DIGEST_LEN];
	sha2_256(text, len, d);
	cleanup_free char *h = hex(d, SHA256_DIGEST_LEN);
	const char *old = json_string_value(json_object_get(sp->known, file));
	if (old && !strcmp(old, h)) {
		json_object_set_new(seen, file, json_true());
		return;
	}
	cleanup_json json_t *pod = staticpod_parse(text, len, sp->node, &err);
	if (!pod) {
		/* Empty files are what editors and cp leave between create and
		 * write: wait for the content before complaining. */
		const char *seen_bad = json_string_value(json_object_get(sp->bad, file));
		if (len && (!seen_bad || strcmp(seen_bad, h))) {
			log_error("Could not process manifest file \"%s\": %s", file,
				  mk_err_msg(err));
			json_object_set_new(sp->bad, file, json_string(h));
		}
		return;
	}
	json_object_set_new(sp->known, file, json_string(h));
	json_object_set_new(seen, file, json_true());
	log_v(2, "static pod %s/%s from %s",
	      json_string_value(json_path_get(pod, "metadata.namespace")),
	      json_string_value(json_path_get(pod, "metadata.name")), file);
	sp->fn(file, pod, sp->arg);
}

static bool wanted_name(const char *name, void *arg)
{
	(void)arg;
	return name[0] != '.';
}

/* Reads everything; reports changes and files gone. */
static void scan(struct staticpods *sp)
{
	cleanup_json json_t *seen = json_object();
	if (is_dir(sp->path)) {
		/* sorted, so pods start in a predictable order */
		cleanup_strv char **names = fs_list_dir(sp->path, wanted_name, NULL);
		for (char **n = names; n && *n; n++) {
			cleanup_free char *file = xasprintf("%s/%s", sp->path, *n);
			if (!is_dir(file))
				visit(sp, file, seen);
		}
	} else {
		visit(sp, sp->path, seen);
	}
	const char *file;
	json_t *v, *tmp;
	json_object_foreach_safe(sp->known, tmp, file, v)
	{
		if (json_object_get(seen, file))
			continue;
		cleanup_free char *f = xstrdup(file);
		json_object_del(sp->known, f);
		sp->fn(f, NULL, sp->arg);
	}
}

/* Watches the directory (or a single file's directory); -1 when it does not
 * exist yet. */
static void rewatch(struct staticpods *sp)
{
	if (sp->wd >= 0)
		inotify_rm_watch(sp->inotify_fd, sp->wd);
	sp->wd = -1;
	cleanup_free char *copy = xstrdup(sp->path);
	const char *dir = is_dir(sp->path) ? sp->path : dirname(copy);
	sp->wd = inotify_add_watch(sp->inotify_fd, dir,
				   IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
					   IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB);
}

static void *watch_main(void *arg)
{
	struct staticpods *sp = arg;
	char evbuf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		struct pollfd p[2] = {{.fd = sp->inotify_fd, .events = POLLIN},
				      {.fd = sp->stop_fd, .events = POLLIN}};
		int r = poll(p, 2, (int)sp->rescan_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		bool changed = r == 0; /* the backstop rescan */
		if (p[0].revents & POLLIN) {
			ssize_t n = read(sp->inotify_fd, evbuf, sizeof(evbuf));
			for (char *q = evbuf; n > 0 && q < evbuf + n;) {
				struct inotify_event *ev = (struct inotify_event *)q;
				if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
					sp->wd = -1;
				if (!ev->len || wanted_name(ev->name, NULL))
					changed = true;
				q += sizeof(*ev) + ev->len;
			}
		}
		if (sp->wd < 0)
			rewatch(sp);
		if (changed)
			scan(sp);
	}
	return NULL;
}

int staticpods_start(struct staticpods *sp, int64_t rescan_ms, struct mk_err **err)
{
	sp->rescan_ms = rescan_ms > 0 ? rescan_ms : 20000;
	sp->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (sp->inotify_fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "inotify_init1");
	sp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sp->stop_fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "eventfd");
	rewatch(sp);
	scan(sp);
	int e = pthread_create(&sp->thread, NULL, watch_main, sp);
	if (e)
		return mk_err_errno(err, MK_EIO, e, "starting the manifest watcher");
	sp->started = true;
	return 0;
}

void staticpods_free(struct staticpods *sp)
{
	if (!sp)
		return;
	if (sp->started) {
		uint64_t one = 1;
		if (write(sp->stop_fd, &one, sizeof(one)) < 0)
			log_warn("stopping the manifest watcher: %m");
		pthread_join(sp->thread, NULL);
	}
	if (sp->inotify_fd >= 0)
		close(sp->inotify_fd);
	if (sp->stop_fd >= 0)
		close(sp->stop_fd);
	json_decref(sp->known);
	json_decref(sp->bad);
	free(sp->path);
	free(sp->node);
	free(sp);
}
