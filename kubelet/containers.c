/* A pod's containers on the OCI runtime: image, root file system (overlayfs
 * over the image's unpacked layers), environment, mounts, config.json, the
 * CRI log file and its /var/log/containers link, create and start through
 * the monitor, stop with the grace period, and what became of each run.
 *
 * On disk, one directory per container instance under
 * <root-dir>/pods/<uid>/containers/<id>/: config.json (the bundle),
 * record.json (what the kubelet and nodectl need to know of it), rootfs/
 * (the overlay mount point), upper/ and work/, termination-log. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "imagestore.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/cgroups.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/ocispec.h"
#include "kubelet/probes.h"
#include "kubelet/runtime.h"
#include "kubelet/volumes.h"

/* Upstream keeps at most this much of a termination message. */
#define TERMINATION_MESSAGE_MAX 4096
#define FALLBACK_LOG_LINES	80
#define FALLBACK_LOG_BYTES	2048

/* ---- root file systems ---- */

int rootfs_prepare(const char *bundle, const char *const *layers, size_t n, struct mk_err **err)
{
	cleanup_free char *rootfs = xasprintf("%s/rootfs", bundle);
	cleanup_free char *upper = xasprintf("%s/upper", bundle);
	cleanup_free char *work = xasprintf("%s/work", bundle);
	if (fs_mkdir_p(rootfs, 0755, err) < 0 || fs_mkdir_p(upper, 0755, err) < 0 ||
	    fs_mkdir_p(work, 0755, err) < 0)
		return -1;
	if (!n)
		return mk_err_set(err, MK_EINVAL, "the image has no layers");
	struct buf opts = BUF_INIT;
	buf_append_str(&opts, "lowerdir=");
	for (size_t i = 0; i < n; i++)
		buf_printf(&opts, "%s%s", i ? ":" : "", layers[i]);
	buf_printf(&opts, ",upperdir=%s,workdir=%s", upper, work);
	/* mount(2) takes at most a page of options. */
	if (opts.len >= 4096) {
		buf_free(&opts);
		return mk_err_set(err, MK_EINVAL,
				  "the image has too many layers (%zu) for overlayfs "
				  "options",
				  n);
	}
	umount2(rootfs, MNT_DETACH);
	int rc = mount("overlay", rootfs, "overlay", 0, buf_str(&opts));
	int e = errno;
	buf_free(&opts);
	if (rc < 0)
		return mk_err_errno(err, MK_EIO, e, "mounting the root file system at %s", rootfs);
	return 0;
}

void rootfs_release(const char *bundle)
{
	fs_unmount_below(bundle);
	cleanup_err struct mk_err *err = NULL;
	if (fs_remove_tree(bundle, &err) < 0)
		log_warn("%s", mk_err_msg(err));
}

/* ---- exits: a pidfd per running container, one thread for all ---- */

struct exit_watch {
	int pidfd;
	char *uid;
	struct exit_watch *next;
};

static int exits_epoll = -1;
static pthread_mutex_t exits_mu = PTHREAD_MUTEX_INITIALIZER;
static struct exit_watch *exits;

static void *exits_main(void *arg)
{
	struct kubelet *k = arg;
	struct epoll_event evs[32];
	while (!daemon_stopping(k->d)) {
		int n = epoll_wait(exits_epoll, evs, 32, 1000);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			cleanup_free char *uid = NULL;
			pthread_mutex_lock(&exits_mu);
			for (struct exit_watch **pp = &exits; *pp; pp = &(*pp)->next)
				if ((*pp)->pidfd == fd) {
					struct exit_watch *w = *pp;
					*pp = w->next;
					uid = w->uid;
					free(w);
					break;
				}
			pthread_mutex_unlock(&exits_mu);
			epoll_ctl(exits_epoll, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			if (uid)
				kubelet_enqueue(k, uid);
		}
	}
	return NULL;
}

int exits_watch_start(struct kubelet *k, struct mk_err **err)
{
	exits_epoll = epoll_create1(EPOLL_CLOEXEC);
	if (exits_epoll < 0)
		return mk_err_errno(err, MK_EIO, errno, "epoll_create1");
	pthread_t t;
	int e = pthread_create(&t, NULL, exits_main, k);
	if (e)
		return mk_err_errno(err, MK_EIO, e, "starting the exit watcher");
	pthread_detach(t);
	return 0;
}

/* Queues a sync of uid when pid exits. */
void exits_watch_add(struct kubelet *k, pid_t pid, const char *uid)
{
	(void)k;
	if (exits_epoll < 0 || pid <= 0)
		return;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		/* already gone */
		kubelet_enqueue(k, uid);
		return;
	}
	struct exit_watch *w = xcalloc(1, sizeof(*w));
	w->pidfd = fd;
	w->uid = xstrdup(uid);
	pthread_mutex_lock(&exits_mu);
	w->next = exits;
	exits = w;
	pthread_mutex_unlock(&exits_mu);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(exits_epoll, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_warn("watching pid %d: %m", (int)pid);
}

/* ---- names and paths ---- */

char *containers_id(const struct kpod *kp, const char *name, int attempt)
{
	return xasprintf("k8s_%s_%s_%s_%s_%d", name, kp->name, kp->ns, kp->uid, attempt);
}

void containers_node_facts(const struct kubelet *k, struct ocispec_input *in)
{
	in->swap_accounting = k->swap_accounting;
	in->memory_capacity = (uint64_t)k->memory_bytes;
	in->restrict_oom_score_adj = k->oom_restricted;
	in->oom_score_adj_floor = k->oom_floor;
}

static char *bundle_dir(struct kubelet *k, const struct kpod *kp, const char *id)
{
	return xasprintf("%s/pods/%s/containers/%s", k->cfg.root_dir, kp->uid, id);
}

char *containers_log_path(struct kubelet *k, const json_t *pod, const char *name, int attempt)
{
	cleanup_free char *dir = podfs_log_dir(k, pod);
	return xasprintf("%s/%s/%d.log", dir, name, attempt);
}

static char *fieldpath(const struct kctr *c)
{
	return xasprintf("spec.%s{%s}", c->init ? "initContainers" : "containers", c->name);
}

/* ---- environment ---- */

/* env entries are [name, value, expand]: later definitions of a name win,
 * keeping the first position, as upstream. */
static void env_add(json_t *env, const char *name, const char *value, bool expand)
{
	size_t i;
	json_t *e;
	json_t *entry = json_pack("[s,s,b]", name, value, expand);
	json_array_foreach(env, i, e)
	{
		if (!strcmp(json_string_value(json_array_get(e, 0)), name)) {
			json_array_set_new(env, i, entry);
			return;
		}
	}
	json_array_append_new(env, entry);
}

static char *b64(const char *in)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in);
	char *out = xmalloc(n / 4 * 3 + 4);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = in[i] ? strchr(tbl, in[i]) : NULL;
		if (!p)
			continue;
		acc = (acc << 6) | (uint32_t)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

/* The container's environment from env and envFrom (valueFrom resolved),
 * as upstream's makeEnvironmentVariables: a new array of [name, value,
 * expand]. NULL with
 * the CreateContainerConfigError message in *err. */
static json_t *container_env(struct kubelet *k, struct kpod *kp, const json_t *pod,
			     const json_t *cspec, struct mk_err **err)
{
	const char *ns = kp->ns;
	json_t *env = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(cspec, "envFrom"), i, e)
	{
		const char *prefix = json_string_value(json_object_get(e, "prefix"));
		json_t *ref = json_object_get(e, "configMapRef");
		bool secret = false;
		if (!ref) {
			ref = json_object_get(e, "secretRef");
			secret = true;
		}
		const char *name = json_string_value(json_object_get(ref, "name"));
		if (!name)
			continue;
		cleanup_err struct mk_err *lerr = NULL;
		cleanup_json json_t *obj =
			kubelet_lookup(k, secret ? "Secret" : "ConfigMap", ns, name, &lerr);
		if (!obj) {
			if (json_is_true(json_object_get(ref, "optional")))
				continue;
			json_decref(env);
			return mk_err_set(err, MK_ENOTFOUND, "%s \"%s\" not found",
					  secret ? "secret" : "configmap", name),
			       NULL;
		}
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(obj, "data"), key, v)
		{
			cleanup_free char *full = xasprintf("%s%s", prefix ? prefix : "", key);
			cleanup_free char *val = secret ? b64(json_string_value(v) ?: "")
							: xstrdup(json_string_value(v) ?: "");
			env_add(env, full, val, false);
		}
	}
	json_array_foreach(json_object_get(cspec, "env"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		if (!name)
			continue;
		json_t *value = json_object_get(e, "value");
		json_t *from = json_object_get(e, "valueFrom");
		if (!from) {
			env_add(env, name, json_string_value(value) ?: "", true);
			continue;
		}
		cleanup_free char *val = NULL;
		json_t *r;
		if ((r = json_object_get(from, "fieldRef"))) {
			val = volumes_field_value(
				pod, json_string_value(json_object_get(r, "fieldPath")) ?: "",
				k->node_ip, kp->pod_ip, err);
		} else if ((r = json_object_get(from, "resourceFieldRef"))) {
			const char *cn = json_string_value(json_object_get(r, "containerName"));
			val = volumes_resource_value(
				pod, cn ? cn : json_string_value(json_object_get(cspec, "name")),
				json_string_value(json_object_get(r, "resource")) ?: "",
				json_string_value(json_object_get(r, "divisor")), k->cpu_milli,
				k->memory_bytes, err);
		} else if ((r = json_object_get(from, "configMapKeyRef")) ||
			   (r = json_object_get(from, "secretKeyRef"))) {
			bool secret = json_object_get(from, "secretKeyRef") != NULL;
			const char *oname = json_string_value(json_object_get(r, "name")) ?: "";
			const char *key = json_string_value(json_object_get(r, "key")) ?: "";
			bool optional = json_is_true(json_object_get(r, "optional"));
			cleanup_err struct mk_err *lerr = NULL;
			cleanup_json json_t *obj = kubelet_lookup(
				k, secret ? "Secret" : "ConfigMap", ns, oname, &lerr);
			if (!obj) {
				if (optional)
					continue;
				json_decref(env);
				return mk_err_set(err, MK_ENOTFOUND, "%s \"%s\" not found",
						  secret ? "secret" : "configmap", oname),
				       NULL;
			}
			json_t *v = json_object_get(json_object_get(obj, "data"), key);
			if (!v) {
				if (optional)
					continue;
				json_decref(env);
				return mk_err_set(err, MK_ENOTFOUND,
						  "couldn't find key %s in %s %s/%s", key,
						  secret ? "Secret" : "ConfigMap", ns, oname),
				       NULL;
			}
			val = secret ? b64(json_string_value(v) ?: "")
				     : xstrdup(json_string_value(v) ?: "");
		} else {
			continue;
		}
		if (!val) {
			json_decref(env);
			return NULL;
		}
		env_add(env, name, val, false);
	}
	return env;
}

/* The text of the last lines of a CRI log (timestamp, stream and tag
 * stripped), at most max_lines lines and max_bytes bytes (the end is kept).
 * New string. */
char *log_tail_text(const char *text, size_t len, int max_lines, size_t max_bytes)
{
	/* find where the last max_lines lines begin */
	const char *start = text;
	int lines = 0;
	for (const char *p = text + len; p > text; p--) {
		if (p[-1] == '\n' && p != text + len) {
			if (++lines == max_lines) {
				start = p;
				break;
			}
		}
	}
	struct buf b = BUF_INIT;
	const char *p = start;
	while (p < text + len) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		const char *end = nl ? nl : text + len;
		/* "<time> <stream> <P|F> <text>" */
		const char *q = p;
		for (int f = 0; f < 3 && q < end; f++) {
			const char *sp = memchr(q, ' ', (size_t)(end - q));
			q = sp ? sp + 1 : end;
		}
		bool partial = q >= p + 2 && q[-2] == 'P';
		buf_append(&b, q, (size_t)(end - q));
		if (!partial)
			buf_append_char(&b, '\n');
		p = nl ? nl + 1 : end;
	}
	char *out = buf_steal(&b);
	size_t n = strlen(out);
	if (n > max_bytes) {
		memmove(out, out + n - max_bytes, max_bytes + 1);
	}
	return out;
}

/* ---- records ---- */

static void kexit_set(struct kexit *x, int code, bool oom, const char *reason, const char *message,
		      time_t started, time_t finished, const char *id)
{
	free(x->reason);
	free(x->message);
	free(x->container_id);
	x->valid = true;
	x->exit_code = code;
	x->oom = oom;
	x->reason = xstrdup(reason);
	x->message = message && *message ? xstrdup(message) : NULL;
	x->started = started;
	x->finished = finished;
	x->container_id = id ? xasprintf("runc://%s", id) : NULL;
}

static time_t parse_time(const char *s)
{
	time_t t = 0;
	if (s)
		time_parse_rfc3339(s, &t, NULL);
	return t;
}

/* The termination message: the file the container wrote, or with
 * FallbackToLogsOnError and a failure, the tail of its log. */
static char *termination_message(struct kubelet *k, struct kpod *kp, const json_t *cspec,
				 const char *id, int code, int attempt)
{
	cleanup_free char *bundle = bundle_dir(k, kp, id);
	cleanup_free char *tl = xasprintf("%s/termination-log", bundle);
	size_t len = 0;
	char *msg = fs_read_file(tl, 1 << 20, &len, NULL);
	if (msg && len > TERMINATION_MESSAGE_MAX)
		msg[TERMINATION_MESSAGE_MAX] = '\0';
	const char *policy = json_string_value(json_object_get(cspec, "terminationMessagePolicy"));
	if ((!msg || !*msg) && code != 0 && policy && !strcmp(policy, "FallbackToLogsOnError") &&
	    kp->pod) {
		free(msg);
		msg = NULL;
		cleanup_free char *lp = containers_log_path(
			k, kp->pod, json_string_value(json_object_get(cspec, "name")), attempt);
		cleanup_free char *text = fs_read_file(lp, 16 << 20, &len, NULL);
		if (text)
			msg = log_tail_text(text, len, FALLBACK_LOG_LINES, FALLBACK_LOG_BYTES);
	}
	return msg;
}

bool kubelet_pid_alive(pid_t pid)
{
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	/* A zombie is gone for us: its pidfd has fired already, and its parent
	 * (the monitor) may reap it only after the pod's sync has looked. */
	char path[32], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f))
		return true;
	const char *p = strrchr(line, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

void containers_refresh(struct kubelet *k, struct kpod *kp, struct kctr *c)
{
	if (!c->id || c->state == KCTR_TERMINATED)
		return;
	/* A running init whose process is still there needs no runtime call:
	 * the exit watcher queues the pod when it goes. This keeps periodic
	 * resyncs of many pods from spawning the runtime for each. */
	if (c->state == KCTR_RUNNING && kubelet_pid_alive(c->pid))
		return;
	struct runtime_state st = {0};
	cleanup_err struct mk_err *err = NULL;
	if (runtime_state(k->rt, c->id, &st, &err) < 0) {
		log_warn("container %s: %s", c->id, mk_err_msg(err));
		return;
	}
	pthread_mutex_lock(&k->mu);
	switch (st.status) {
	case RUNTIME_RUNNING:
		c->state = KCTR_RUNNING;
		c->pid = st.pid;
		if (st.started_at)
			c->started_at = parse_time(st.started_at);
		break;
	case RUNTIME_CREATED:
		/* created but never started (the kubelet died in between) */
	case RUNTIME_EXITED:
	case RUNTIME_UNKNOWN: {
		int code = st.status == RUNTIME_EXITED ? st.exit_code : 255;
		const char *reason = st.oom_killed ? "OOMKilled"
				     : code == 0   ? "Completed"
						   : "Error";
		if (st.status != RUNTIME_EXITED)
			reason = "Unknown";
		pthread_mutex_unlock(&k->mu);
		const json_t *cspec = NULL;
		size_t i;
		json_t *cs;
		json_array_foreach(
			json_path_get(kp->pod, c->init ? "spec.initContainers" : "spec.containers"),
			i, cs)
		{
			const char *n = json_string_value(json_object_get(cs, "name"));
			if (n && !strcmp(n, c->name))
				cspec = cs;
		}
		cleanup_free char *msg = termination_message(k, kp, cspec, c->id, code, c->attempt);
		pthread_mutex_lock(&k->mu);
		time_t started = st.started_at ? parse_time(st.started_at) : c->started_at;
		time_t finished = st.finished_at ? parse_time(st.finished_at) : time(NULL);
		kexit_set(&c->cur, code, st.oom_killed, reason, msg, started, finished, c->id);
		c->state = KCTR_TERMINATED;
		c->ready = false;
		c->pid = 0;
		break;
	}
	}
	pthread_mutex_unlock(&k->mu);
	runtime_state_clear(&st);
	if (c->state == KCTR_TERMINATED && k->prober) {
		prober_remove(k->prober, kp->uid, c->name);
		c->probing = false;
	}
}

/* Removes an instance: runtime state, image hold, root file system. */
static void remove_instance(struct kubelet *k, struct kpod *kp, const char *id)
{
	cleanup_err struct mk_err *err = NULL;
	if (runtime_delete(k->rt, id, &err) < 0)
		log_warn("removing container %s: %s", id, mk_err_msg(err));
	imagestore_release(k->images, id, NULL);
	cleanup_free char *bundle = bundle_dir(k, kp, id);
	rootfs_release(bundle);
}

static int write_record(struct kubelet *k, struct kpod *kp, struct kctr *c, const char *id,
			const char *bundle, const char *logp, const struct imagestore_image *img,
			struct mk_err **err)
{
	cleanup_free char *created = time_now_rfc3339();
	cleanup_json json_t *rec = json_pack(
		"{s:s, s:s, s:i, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "name",
		c->name, "attempt", c->attempt, "init", c->init, "image", c->image ? c->image : "",
		"imageRef", c->image_ref ? c->image_ref : "", "imageID", img->id, "podUID", kp->uid,
		"podName", kp->name, "podNamespace", kp->ns, "createdAt", created, "logPath", logp);
	if (kp->sandbox_id)
		json_object_set_new(rec, "sandboxID", json_string(kp->sandbox_id));
	(void)k;
	cleanup_free char *text = json_dump_compact(rec);
	cleanup_free char *path = xasprintf("%s/record.json", bundle);
	return fs_write_atomic(path, text, strlen(text), 0600, err);
}

/* The link log shippers read: /var/log/containers/<pod>_<ns>_<ctr>-<id>.log */
static void link_log(struct kubelet *k, const struct kpod *kp, const char *name, const char *id,
		     const char *logp)
{
	cleanup_free char *dir = xasprintf("%s/../containers", k->cfg.log_dir);
	fs_mkdir_p(dir, 0755, NULL);
	cleanup_free char *link = xasprintf("%s/%s_%s_%s-%s.log", dir, kp->name, kp->ns, name, id);
	unlink(link);
	if (symlink(logp, link) < 0)
		log_v(2, "linking %s: %m", link);
}

static void unlink_log(struct kubelet *k, struct kpod *kp, const char *name, const char *id)
{
	cleanup_free char *link = xasprintf("%s/../containers/%s_%s_%s-%s.log", k->cfg.log_dir,
					    kp->name, kp->ns, name, id);
	unlink(link);
}

void kctr_set_waiting(struct kubelet *k, struct kctr *c, const char *reason, const char *msg)
{
	pthread_mutex_lock(&k->mu);
	free(c->waiting_reason);
	free(c->waiting_message);
	c->waiting_reason = xstrdup(reason);
	c->waiting_message = msg ? xstrdup(msg) : NULL;
	if (c->state != KCTR_TERMINATED)
		c->state = KCTR_WAITING;
	pthread_mutex_unlock(&k->mu);
}

/* A failed create or start: the run counts as terminated with StartError,
 * as upstream reports it, so the restart policy and back-off apply. */
static int start_failed(struct kubelet *k, const json_t *pod, struct kctr *c, const char *id,
			const struct mk_err *cause, struct mk_err **err)
{
	const char *msg = mk_err_msg(cause);
	cleanup_free char *fp = fieldpath(c);
	kubelet_event(k, pod, fp, "Warning", "Failed", "Error: %s", msg);
	pthread_mutex_lock(&k->mu);
	time_t now = time(NULL);
	kexit_set(&c->cur, 128, false, "StartError", msg, 0, now, id);
	c->state = KCTR_TERMINATED;
	free(c->waiting_reason);
	free(c->waiting_message);
	c->waiting_reason = xstrdup("RunContainerError");
	c->waiting_message = xstrdup(msg);
	free(c->id);
	c->id = xstrdup(id);
	pthread_mutex_unlock(&k->mu);
	return mk_err_set(err, mk_err_code(cause), "%s", msg);
}

int containers_start(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
		     struct kctr *c, int64_t *requeue_ms, struct mk_err **err)
{
	struct imagestore_image *img = NULL;
	*requeue_ms = 0;
	int64_t t0 = kubelet_now_ms();
	if (images_ensure(k, kp, pod, cspec, c, &img, requeue_ms, err) < 0)
		return -1;
	int64_t t_image = kubelet_now_ms();
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *env = container_env(k, kp, pod, cspec, &cerr);
	if (!env) {
		kctr_set_waiting(k, c, "CreateContainerConfigError", mk_err_msg(cerr));
		cleanup_free char *fp = fieldpath(c);
		kubelet_event(k, pod, fp, "Warning", "Failed", "Error: %s", mk_err_msg(cerr));
		imagestore_image_free(img);
		*requeue_ms = 5000;
		return mk_err_set(err, MK_EINVAL, "%s", mk_err_msg(cerr));
	}
	/* the next instance; the one before the current goes */
	int attempt = c->id || c->cur.valid ? c->attempt + 1 : 0;
	if (c->last.valid && c->last.container_id) {
		const char *old = c->last.container_id + strlen("runc://");
		remove_instance(k, kp, old);
		unlink_log(k, kp, c->name, old);
		cleanup_free char *oldlog = containers_log_path(k, pod, c->name, attempt - 2);
		unlink(oldlog);
	}
	pthread_mutex_lock(&k->mu);
	if (c->cur.valid) {
		struct kexit tmp = c->last;
		c->last = c->cur;
		c->cur = tmp;
		free(c->cur.reason);
		free(c->cur.message);
		free(c->cur.container_id);
		c->cur = (struct kexit){0};
	}
	pthread_mutex_unlock(&k->mu);

	cleanup_free char *id = containers_id(kp, c->name, attempt);
	cleanup_free char *bundle = bundle_dir(k, kp, id);
	cleanup_free char *logp = containers_log_path(k, pod, c->name, attempt);
	cleanup_free char *logdir = xstrdup(logp);
	*strrchr(logdir, '/') = '\0';
	cleanup_free char *pod_dir = podfs_dir(k, kp->uid);
	cleanup_free char *cgpath = k->cg ? cgroups_pod_path(k->cfg.cgroup_root, pod, NULL) : NULL;
	cleanup_free char *cgroups_path = cgpath ? xasprintf("%s/%s", cgpath, id) : NULL;
	cleanup_free char *rootfs = xasprintf("%s/rootfs", bundle);
	cleanup_free char *tlog = xasprintf("%s/termination-log", bundle);
	struct volumes_ctx vc;
	podfs_volumes_ctx(k, kp, &vc, pod_dir);
	cleanup_json json_t *mounts = NULL;
	cleanup_json json_t *spec = NULL;
	cleanup_free char *hostname = NULL;
	cleanup_free char *hosts = NULL, *resolv = NULL, *hname = NULL, *shm = NULL;
	cleanup_free char *text = NULL, *cfg = NULL, *fp = NULL;
	/* declared before the first goto: the failure paths leave this scope too */
	cleanup_err struct mk_err *rerr = NULL;
	int rc = -1;

	runtime_stop(k->rt, id, SIGKILL, 0, NULL); /* leftovers of a crash */
	runtime_delete(k->rt, id, NULL);
	rootfs_release(bundle);
	if (fs_mkdir_p(logdir, 0755, err) < 0 ||
	    rootfs_prepare(bundle, (const char *const *)img->layers, img->n_layers, err) < 0)
		goto fail;
	int fd = open(tlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd >= 0) {
		fchmod(fd, 0666);
		close(fd);
	}
	mounts = volumes_mounts(&vc, pod, cspec, err);
	if (!mounts)
		goto fail_rootfs;
	hostname = kubelet_pod_hostname(pod, k->node_name);
	size_t nm = json_array_size(mounts), ne = json_array_size(env);
	struct ocispec_mount *om = xcalloc(nm ? nm : 1, sizeof(*om));
	struct ocispec_env *oe = xcalloc(ne ? ne : 1, sizeof(*oe));
	for (size_t i = 0; i < nm; i++) {
		json_t *m = json_array_get(mounts, i);
		om[i] = (struct ocispec_mount){
			.host_path = json_string_value(json_object_get(m, "source")),
			.container_path = json_string_value(json_object_get(m, "destination")),
			.read_only = json_is_true(json_object_get(m, "readOnly")),
			.propagation = json_string_value(json_object_get(m, "propagation")),
		};
	}
	for (size_t i = 0; i < ne; i++) {
		json_t *e = json_array_get(env, i);
		oe[i] = (struct ocispec_env){
			.name = json_string_value(json_array_get(e, 0)),
			.value = json_string_value(json_array_get(e, 1)),
			.expand = json_is_true(json_array_get(e, 2)),
		};
	}
	hosts = xasprintf("%s/etc-hosts", pod_dir);
	resolv = xasprintf("%s/resolv.conf", pod_dir);
	hname = xasprintf("%s/hostname", pod_dir);
	shm = json_is_true(json_path_get(pod, "spec.hostIPC")) ? NULL
							       : xasprintf("%s/shm", pod_dir);
	struct ocispec_input in = {
		.pod = pod,
		.container = cspec,
		.image_config = img->config,
		.container_id = id,
		.sandbox_id = kp->sandbox_id,
		.rootfs = rootfs,
		.netns_path = kp->netns,
		.sandbox_pid = kp->sandbox_pid,
		.ipc_path = kp->ipc_ns,
		.uts_path = kp->uts_ns,
		.hostname = hostname,
		.hosts_path = hosts,
		.resolv_path = resolv,
		.hostname_path = hname,
		.shm_path = shm,
		.termination_log_path = tlog,
		.mounts = om,
		.n_mounts = nm,
		.env = oe,
		.n_env = ne,
		.cgroups_path = cgroups_path,
	};
	containers_node_facts(k, &in);
	spec = ocispec_build(&in, err);
	free(om);
	free(oe);
	if (!spec) {
		kctr_set_waiting(k, c, "CreateContainerConfigError", mk_err_msg(*err));
		fp = fieldpath(c);
		kubelet_event(k, pod, fp, "Warning", "Failed", "Error: %s", mk_err_msg(*err));
		*requeue_ms = 10000;
		goto fail_rootfs;
	}
	text = json_dump_compact(spec);
	cfg = xasprintf("%s/config.json", bundle);
	pthread_mutex_lock(&k->mu);
	c->attempt = attempt;
	free(c->image_ref);
	c->image_ref = img->n_tags ? xstrdup(img->repo_tags[0]) : xstrdup(c->image ? c->image : "");
	free(c->image_id);
	c->image_id = img->n_digests ? xstrdup(img->repo_digests[0]) : xstrdup(img->id);
	c->stop_signal = containers_stop_signal(img->config);
	pthread_mutex_unlock(&k->mu);
	/* config.json is read by the runtime's create right after and made
	 * again after a reboot; the record is what a restarted kubelet adopts */
	if (fs_write_atomic_nosync(cfg, text, strlen(text), 0600, err) < 0 ||
	    write_record(k, kp, c, id, bundle, logp, img, err) < 0)
		goto fail_rootfs;
	pid_t pid = 0;
	/* spec stdin: the monitor holds the container's stdin for attach -i */
	struct runtime_create_opts ro = {
		.monitor_cgroup = cgpath,
		.stdin_open = json_is_true(json_object_get(cspec, "stdin")),
		.stdin_once = json_is_true(json_object_get(cspec, "stdinOnce")),
	};
	int64_t t_prepared = kubelet_now_ms();
	if (runtime_create_with(k->rt, id, bundle, logp, &ro, &pid, &rerr) < 0) {
		rc = start_failed(k, pod, c, id, rerr, err);
		goto out;
	}
	int64_t t_created = kubelet_now_ms();
	imagestore_hold(k->images, img->id, id, NULL);
	free(fp);
	fp = fieldpath(c);
	kubelet_event(k, pod, fp, "Normal", "Created", "Created container %s", c->name);
	int64_t t_held = kubelet_now_ms();
	if (runtime_start(k->rt, id, &rerr) < 0) {
		runtime_stop(k->rt, id, SIGKILL, 0, NULL);
		rc = start_failed(k, pod, c, id, rerr, err);
		goto out;
	}
	int64_t t_started = kubelet_now_ms();
	kubelet_event(k, pod, fp, "Normal", "Started", "Started container %s", c->name);
	log_v(4,
	      "pod %s/%s: container %s started in %lld ms (image %lld, prepare %lld, create %lld, "
	      "hold %lld, start %lld)",
	      kp->ns, kp->name, id, (long long)(t_started - t0), (long long)(t_image - t0),
	      (long long)(t_prepared - t_image), (long long)(t_created - t_prepared),
	      (long long)(t_held - t_created), (long long)(t_started - t_held));
	link_log(k, kp, c->name, id, logp);
	pthread_mutex_lock(&k->mu);
	free(c->id);
	c->id = xstrdup(id);
	c->pid = pid;
	c->state = KCTR_RUNNING;
	c->started_at = time(NULL);
	c->liveness_failed = false;
	c->probing = false;
	free(c->waiting_reason);
	free(c->waiting_message);
	c->waiting_reason = NULL;
	c->waiting_message = NULL;
	c->created_event_sent = true;
	k->pods_started++;
	pthread_mutex_unlock(&k->mu);
	exits_watch_add(k, pid, kp->uid);
	containers_after_start(k, kp, pod, cspec, c);
	rc = 0;
	goto out;
fail_rootfs:
	rootfs_release(bundle);
fail:
	if (!*requeue_ms)
		*requeue_ms = 5000;
	if (c->state != KCTR_TERMINATED && !c->waiting_reason)
		kctr_set_waiting(k, c, "CreateContainerError", mk_err_msg(*err));
out:
	imagestore_image_free(img);
	return rc;
}

/* An image's StopSignal ("SIGQUIT", "QUIT", "3") as a number; SIGTERM
 * when absent or unknown. */
int containers_stop_signal(const json_t *image_config)
{
	const char *s = json_string_value(json_path_get(image_config, "config.StopSignal"));
	if (!s || !*s)
		return SIGTERM;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end && n > 0 && n < NSIG)
		return (int)n;
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"TERM", SIGTERM}, {"QUIT", SIGQUIT}, {"INT", SIGINT},   {"KILL", SIGKILL},
		     {"HUP", SIGHUP},	{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH},
		     {"STOP", SIGSTOP}, {"PWR", SIGPWR}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].sig;
	return SIGTERM;
}

void containers_kill(struct kubelet *k, struct kpod *kp, const json_t *pod, struct kctr *c,
		     int64_t grace_s, bool restarting)
{
	(void)restarting;
	if (!c->id || c->state != KCTR_RUNNING)
		return;
	if (k->prober)
		prober_remove(k->prober, kp->uid, c->name);
	int64_t start = kubelet_now_ms();
	const json_t *cspec = NULL;
	size_t i;
	json_t *cs;
	json_array_foreach(json_path_get(pod, c->init ? "spec.initContainers" : "spec.containers"),
			   i, cs)
	{
		const char *n = json_string_value(json_object_get(cs, "name"));
		if (n && !strcmp(n, c->name))
			cspec = cs;
	}
	json_t *pre = json_path_get(cspec, "lifecycle.preStop");
	if (pre && grace_s > 0)
		containers_run_hook(k, kp, pod, c, pre, grace_s * 1000, "FailedPreStopHook");
	cleanup_free char *fp = fieldpath(c);
	kubelet_event(k, pod, fp, "Normal", "Killing", "Stopping container %s", c->name);
	int64_t left = grace_s * 1000 - (kubelet_now_ms() - start);
	if (left < 0)
		left = 0;
	cleanup_err struct mk_err *err = NULL;
	if (runtime_stop(k->rt, c->id, c->stop_signal ? c->stop_signal : SIGTERM, left, &err) < 0 &&
	    mk_err_code(err) != MK_ENOTFOUND)
		log_warn("pod %s/%s: stopping container %s: %s", kp->ns, kp->name, c->name,
			 mk_err_msg(err));
	containers_refresh(k, kp, c);
}

struct kill_job {
	struct kubelet *k;
	struct kpod *kp;
	const json_t *pod;
	struct kctr *c;
	int64_t grace_s;
};

static void *kill_main(void *arg)
{
	struct kill_job *j = arg;
	containers_kill(j->k, j->kp, j->pod, j->c, j->grace_s, false);
	return NULL;
}

void containers_kill_all(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t grace_s)
{
	/* all at once, so the grace periods run side by side */
	size_t n = kp->nctrs;
	pthread_t *t = xcalloc(n ? n : 1, sizeof(*t));
	struct kill_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
	bool *started = xcalloc(n ? n : 1, sizeof(*started));
	for (size_t i = 0; i < n; i++) {
		if (kp->ctrs[i].state != KCTR_RUNNING)
			continue;
		jobs[i] = (struct kill_job){k, kp, pod, &kp->ctrs[i], grace_s};
		started[i] = pthread_create(&t[i], NULL, kill_main, &jobs[i]) == 0;
		if (!started[i])
			kill_main(&jobs[i]);
	}
	for (size_t i = 0; i < n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	free(t);
	free(jobs);
	free(started);
}

void containers_remove_all(struct kubelet *k, struct kpod *kp)
{
	for (size_t i = 0; i < kp->nctrs; i++) {
		struct kctr *c = &kp->ctrs[i];
		if (c->last.valid && c->last.container_id)
			remove_instance(k, kp, c->last.container_id + strlen("runc://"));
		if (c->id)
			remove_instance(k, kp, c->id);
		if (c->id)
			unlink_log(k, kp, c->name, c->id);
		if (c->last.valid && c->last.container_id)
			unlink_log(k, kp, c->name, c->last.container_id + strlen("runc://"));
	}
}

/* ---- probes and lifecycle hooks ---- */

static int probe_exec(void *arg, const char *container_id, char *const *argv, int64_t timeout_ms,
		      int *exit_code, char **output, struct mk_err **err)
{
	struct kubelet *k = arg;
	struct runtime_exec_result res = {0};
	int rc = runtime_exec_sync(k->rt, container_id, (const char *const *)argv, timeout_ms,
				   10 * 1024, &res, err);
	*exit_code = res.exit_code;
	*output = res.output ? res.output : xstrdup("");
	return rc;
}

/* The container record of a probe result, k->mu held. */
static struct kctr *probed(struct kubelet *k, const char *uid, const char *name, struct kpod **kpp)
{
	struct kpod *kp = kubelet_pod_find(k, uid);
	*kpp = kp;
	for (size_t i = 0; kp && i < kp->nctrs; i++)
		if (!kp->ctrs[i].init && !strcmp(kp->ctrs[i].name, name))
			return &kp->ctrs[i];
	return NULL;
}

static void probe_result(void *arg, const char *uid, const char *container, enum probe_type type,
			 enum probe_result r, const char *message)
{
	struct kubelet *k = arg;
	struct kpod *kp;
	pthread_mutex_lock(&k->mu);
	struct kctr *c = probed(k, uid, container, &kp);
	if (!c) {
		pthread_mutex_unlock(&k->mu);
		return;
	}
	bool ok = r == PROBE_SUCCESS;
	switch (type) {
	case PROBE_READINESS:
		c->ready = ok;
		break;
	case PROBE_STARTUP:
		c->started = ok;
		if (!ok) {
			c->liveness_failed = true;
			free(c->liveness_message);
			c->liveness_message = xstrdup(message ? message : "");
		}
		break;
	case PROBE_LIVENESS:
		if (!ok) {
			c->liveness_failed = true;
			free(c->liveness_message);
			c->liveness_message = xstrdup(message ? message : "");
		}
		break;
	}
	pthread_mutex_unlock(&k->mu);
	kubelet_enqueue(k, uid);
}

static void probe_event(void *arg, const char *uid, const char *container, enum probe_type type,
			const char *reason, const char *message)
{
	(void)type;
	struct kubelet *k = arg;
	struct kpod *kp;
	pthread_mutex_lock(&k->mu);
	struct kctr *c = probed(k, uid, container, &kp);
	cleanup_json json_t *pod = kp && kp->pod ? json_incref(kp->pod) : NULL;
	cleanup_free char *fp = c ? fieldpath(c) : NULL;
	pthread_mutex_unlock(&k->mu);
	if (pod)
		kubelet_event(k, pod, fp, "Warning", reason, "%s", message);
}

int containers_prober_start(struct kubelet *k, struct mk_err **err)
{
	struct prober_callbacks cb = {
		.exec = probe_exec,
		.result = probe_result,
		.event = probe_event,
		.arg = k,
	};
	k->prober = prober_new(&cb, err);
	return k->prober ? 0 : -1;
}

int containers_run_hook(struct kubelet *k, struct kpod *kp, const json_t *pod, struct kctr *c,
			const json_t *handler, int64_t timeout_ms, const char *fail_reason)
{
	cleanup_free char *msg = NULL;
	cleanup_err struct mk_err *err = NULL;
	if (probes_run_handler(handler, pod, c->name, c->id, kp->pod_ip, timeout_ms, probe_exec, k,
			       &msg, &err) == 0)
		return 0;
	cleanup_free char *fp = fieldpath(c);
	kubelet_event(k, pod, fp, "Warning", fail_reason, "%s", msg ? msg : mk_err_msg(err));
	return -1;
}

void containers_after_start(struct kubelet *k, struct kpod *kp, const json_t *pod,
			    const json_t *cspec, struct kctr *c)
{
	json_t *post = json_path_get(cspec, "lifecycle.postStart");
	if (post && containers_run_hook(k, kp, pod, c, post, k->cfg.runtime_request_timeout_ms,
					PROBES_REASON_FAILED_POSTSTART) < 0) {
		int64_t grace = json_integer_value(
			json_path_get(pod, "spec.terminationGracePeriodSeconds"));
		containers_kill(k, kp, pod, c, grace, true);
		pthread_mutex_lock(&k->mu);
		if (c->cur.valid) {
			free(c->cur.reason);
			c->cur.reason = xstrdup(PROBES_ERR_POSTSTART);
		}
		pthread_mutex_unlock(&k->mu);
		return;
	}
	containers_probe(k, kp, pod, cspec, c);
}

void containers_probe(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
		      struct kctr *c)
{
	bool has_ready = json_object_get(cspec, "readinessProbe") != NULL;
	bool has_start = json_object_get(cspec, "startupProbe") != NULL;
	pthread_mutex_lock(&k->mu);
	c->probing = true;
	/* as the prober starts: not started, not ready until the probes say */
	c->started = !has_start;
	c->ready = !has_ready && !has_start;
	pthread_mutex_unlock(&k->mu);
	if (c->init || !k->prober ||
	    (!has_ready && !has_start && !json_object_get(cspec, "livenessProbe")))
		return;
	cleanup_err struct mk_err *err = NULL;
	if (prober_add(k->prober, pod, c->name, c->id, kp->pod_ip, c->started_at, &err) < 0)
		log_warn("pod %s/%s: probes of %s: %s", kp->ns, kp->name, c->name, mk_err_msg(err));
}
