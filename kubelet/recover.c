/* A restarted kubelet adopts the pods that still run instead of restarting
 * them: the pod table is rebuilt from <root-dir>/pods/<uid>/{pod,sandbox}.json,
 * the runtime's containers (their IDs name pod UID, container and attempt)
 * and each instance's record.json. Sources then confirm the pods they still
 * want; once they had their chance, housekeeping kills the others, and
 * containers of pods the kubelet knows nothing about. Also here: the
 * periodic resync, log rotation, and resyncs of pods whose ConfigMaps or
 * Secrets changed. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/runtime.h"

/* Pods adopted at start that no source claimed after this long are killed. */
#define ADOPTION_GRACE_MS 20000

/* Splits "k8s_<name>_<pod>_<ns>_<uid>_<attempt>"; false for other IDs.
 * Names, namespaces and UIDs never hold '_'. */
static bool parse_id(const char *id, char **name, char **uid, int *attempt)
{
	if (strncmp(id, "k8s_", 4))
		return false;
	cleanup_free char *copy = xstrdup(id + 4);
	char *parts[5];
	char *save = NULL;
	size_t n = 0;
	for (char *t = strtok_r(copy, "_", &save); t && n < 5; t = strtok_r(NULL, "_", &save))
		parts[n++] = t;
	if (n != 5 || strtok_r(NULL, "_", &save))
		return false;
	char *end;
	long a = strtol(parts[4], &end, 10);
	if (*end || a < 0)
		return false;
	*name = xstrdup(parts[0]);
	*uid = xstrdup(parts[3]);
	*attempt = (int)a;
	return true;
}

static json_t *read_json(const char *path)
{
	cleanup_free char *text = fs_read_file(path, 4 << 20, NULL, NULL);
	return text ? json_loads(text, 0, NULL) : NULL;
}

static struct kctr *ctr_named(struct kpod *kp, const char *name, bool *is_new)
{
	for (size_t i = 0; i < kp->nctrs; i++)
		if (!strcmp(kp->ctrs[i].name, name)) {
			*is_new = false;
			return &kp->ctrs[i];
		}
	kp->ctrs = xrealloc(kp->ctrs, (kp->nctrs + 1) * sizeof(*kp->ctrs));
	struct kctr *c = &kp->ctrs[kp->nctrs++];
	*c = (struct kctr){0};
	c->name = xstrdup(name);
	*is_new = true;
	return c;
}

/* What became of an earlier instance: its exit, for lastState. */
static void adopt_last(struct kubelet *k, struct kpod *kp, struct kctr *c, const char *id)
{
	struct runtime_state st = {0};
	if (c->last.container_id) {
		/* a third instance: only the last two are kept, as upstream */
		const char *old = c->last.container_id + strlen("runc://");
		runtime_stop(k->rt, old, SIGKILL, 0, NULL);
		runtime_delete(k->rt, old, NULL);
		cleanup_free char *bundle =
			xasprintf("%s/pods/%s/containers/%s", k->cfg.root_dir, kp->uid, old);
		rootfs_release(bundle);
	}
	free(c->last.container_id);
	free(c->last.reason);
	free(c->last.message);
	c->last = (struct kexit){0};
	c->last.container_id = xasprintf("runc://%s", id);
	c->last.valid = true;
	if (runtime_state(k->rt, id, &st, NULL) == 0 && st.status == RUNTIME_EXITED) {
		c->last.exit_code = st.exit_code;
		c->last.oom = st.oom_killed;
		c->last.reason = xstrdup(st.oom_killed	     ? "OOMKilled"
					 : st.exit_code == 0 ? "Completed"
							     : "Error");
		time_t t = 0;
		if (st.started_at && time_parse_rfc3339(st.started_at, &t, NULL) == 0)
			c->last.started = t;
		if (st.finished_at && time_parse_rfc3339(st.finished_at, &t, NULL) == 0)
			c->last.finished = t;
	} else {
		c->last.exit_code = 255;
		c->last.reason = xstrdup("Unknown");
	}
	runtime_state_clear(&st);
}

/* Adopts instance id (attempt) of container name into kp. */
static void adopt_container(struct kubelet *k, struct kpod *kp, const char *id, const char *name,
			    int attempt)
{
	bool is_new;
	struct kctr *c = ctr_named(kp, name, &is_new);
	cleanup_free char *rec_path =
		xasprintf("%s/pods/%s/containers/%s/record.json", k->cfg.root_dir, kp->uid, id);
	cleanup_json json_t *rec = read_json(rec_path);
	if (!is_new && c->id && c->attempt > attempt) {
		/* an older instance: what lastState tells */
		adopt_last(k, kp, c, id);
		return;
	}
	if (!is_new && c->id) {
		/* the instance we had is older than this one */
		adopt_last(k, kp, c, c->id);
		free(c->id);
	}
	c->id = xstrdup(id);
	c->attempt = attempt;
	c->init = json_is_true(json_object_get(rec, "init"));
	free(c->image);
	c->image = xstrdup(json_string_value(json_object_get(rec, "image")) ?: "");
	free(c->image_ref);
	c->image_ref = xstrdup(json_string_value(json_object_get(rec, "imageRef")) ?: "");
	free(c->image_id);
	c->image_id = xstrdup(json_string_value(json_object_get(rec, "imageID")) ?: "");
	c->state = KCTR_WAITING; /* refreshed from the runtime below */
	struct runtime_state st = {0};
	if (runtime_state(k->rt, id, &st, NULL) == 0 && st.status == RUNTIME_RUNNING) {
		c->state = KCTR_RUNNING;
		c->pid = st.pid;
		time_t t = 0;
		if (st.started_at && time_parse_rfc3339(st.started_at, &t, NULL) == 0)
			c->started_at = t;
		exits_watch_add(k, st.pid, kp->uid);
	} else if (st.status != RUNTIME_UNKNOWN) {
		/* exited while we were away: containers_refresh records how */
		c->state = KCTR_RUNNING;
	}
	runtime_state_clear(&st);
}

int recover_state(struct kubelet *k, struct mk_err **err)
{
	char **ids = NULL;
	size_t n = 0;
	if (runtime_list(k->rt, &ids, &n, err) < 0)
		return -1;
	cleanup_free char *pods_dir = xasprintf("%s/pods", k->cfg.root_dir);
	DIR *d = opendir(pods_dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			cleanup_free char *pp = xasprintf("%s/%s/pod.json", pods_dir, e->d_name);
			json_t *pod = read_json(pp);
			if (!pod)
				continue;
			struct kpod *kp = xcalloc(1, sizeof(*kp));
			kp->uid = xstrdup(e->d_name);
			kp->ns = xstrdup(json_string_value(json_path_get(pod, "metadata.namespace"))
						 ?: "");
			kp->name = xstrdup(json_string_value(json_path_get(pod, "metadata.name"))
						   ?: "");
			kp->pod = pod;
			kp->is_static = json_path_get(pod, "metadata.annotations") &&
					json_object_get(json_path_get(pod, "metadata.annotations"),
							"kubernetes.io/config.source") &&
					!strcmp(json_string_value(json_object_get(
							json_path_get(pod, "metadata.annotations"),
							"kubernetes.io/config.source"))
							?: "",
						"file");
			kp->grace_s = json_integer_value(
				json_path_get(pod, "spec.terminationGracePeriodSeconds"));
			cleanup_free char *sp =
				xasprintf("%s/%s/sandbox.json", pods_dir, e->d_name);
			cleanup_json json_t *sb = read_json(sp);
			if (sb) {
				kp->sandbox_id =
					xstrdup(json_string_value(json_object_get(sb, "id")) ?: "");
				kp->sandbox_attempt =
					(int)json_integer_value(json_object_get(sb, "attempt"));
				const char *ns = json_string_value(json_object_get(sb, "netns"));
				kp->netns = ns ? xstrdup(ns) : NULL;
				const char *ipc = json_string_value(json_object_get(sb, "ipcNs"));
				kp->ipc_ns = ipc ? xstrdup(ipc) : NULL;
				const char *uts = json_string_value(json_object_get(sb, "utsNs"));
				kp->uts_ns = uts ? xstrdup(uts) : NULL;
				const char *ip = json_string_value(json_object_get(sb, "podIP"));
				kp->pod_ip = ip ? xstrdup(ip) : NULL;
				json_t *ips = json_object_get(sb, "podIPs");
				kp->pod_ips = ips ? json_incref(ips) : NULL;
				time_t t = 0;
				if (time_parse_rfc3339(
					    json_string_value(json_object_get(sb, "createdAt"))
						    ?: "",
					    &t, NULL) == 0)
					kp->start_time = t;
				struct runtime_state st = {0};
				if (runtime_state(k->rt, kp->sandbox_id, &st, NULL) == 0 &&
				    st.status == RUNTIME_RUNNING) {
					kp->sandbox_ready = true;
					kp->sandbox_pid = st.pid;
				}
				runtime_state_clear(&st);
			}
			kp->next = k->pods;
			k->pods = kp;
			log_info("Adopting pod %s/%s (%s)", kp->ns, kp->name, kp->uid);
		}
		closedir(d);
	}
	for (size_t i = 0; i < n; i++) {
		char *name = NULL, *uid = NULL;
		int attempt = 0;
		if (parse_id(ids[i], &name, &uid, &attempt)) {
			struct kpod *kp = kubelet_pod_find(k, uid);
			if (kp && strcmp(name, "POD"))
				adopt_container(k, kp, ids[i], name, attempt);
			else if (!kp)
				log_info("Container %s belongs to no known pod; it will be removed",
					 ids[i]);
		}
		free(name);
		free(uid);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return 0;
}

/* Containers of pods the kubelet has no record of: stopped and removed. */
static void remove_orphans(struct kubelet *k)
{
	char **ids = NULL;
	size_t n = 0;
	cleanup_err struct mk_err *err = NULL;
	if (runtime_list(k->rt, &ids, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		char *name = NULL, *uid = NULL;
		int attempt = 0;
		if (parse_id(ids[i], &name, &uid, &attempt)) {
			pthread_mutex_lock(&k->mu);
			bool known = kubelet_pod_find(k, uid) != NULL;
			pthread_mutex_unlock(&k->mu);
			if (!known) {
				log_info("Removing orphaned container %s", ids[i]);
				runtime_stop(k->rt, ids[i], SIGKILL, 0, NULL);
				runtime_delete(k->rt, ids[i], NULL);
				cleanup_free char *bundle = xasprintf("%s/pods/%s/containers/%s",
								      k->cfg.root_dir, uid, ids[i]);
				rootfs_release(bundle);
			}
		}
		free(name);
		free(uid);
		free(ids[i]);
	}
	free(ids);
}

/* UIDs of the pods want(kp, arg) accepts (every pod when want is NULL),
 * gathered under the lock for the caller to act on without it. New array. */
static json_t *pod_uids(struct kubelet *k, bool (*want)(const struct kpod *kp, const void *arg),
			const void *arg)
{
	json_t *uids = json_array();
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		if (!want || want(kp, arg))
			json_array_append_new(uids, json_string(kp->uid));
	pthread_mutex_unlock(&k->mu);
	return uids;
}

/* Queues a sync of each pod of uids (stolen). */
static void enqueue_uids(struct kubelet *k, json_t *uids)
{
	size_t i;
	json_t *u;
	json_array_foreach(uids, i, u) kubelet_enqueue(k, json_string_value(u));
	json_decref(uids);
}

/* An adopted pod no source has claimed. */
static bool unclaimed(const struct kpod *kp, const void *arg)
{
	(void)arg;
	return !kp->confirmed && !kp->removed;
}

/* A pod of namespace ns whose spec names an object in one of quoted. */
struct reference {
	const char *ns;
	const char *quoted[2];
};

static bool refers_to(const struct kpod *kp, const void *arg)
{
	const struct reference *r = arg;
	if (!kp->pod || strcmp(kp->ns, r->ns))
		return false;
	/* a cheap over-approximation: the name appears as a reference */
	cleanup_free char *text = json_dump_compact(json_object_get(kp->pod, "spec"));
	return strstr(text, r->quoted[0]) || strstr(text, r->quoted[1]);
}

void housekeeping_tick(void *arg)
{
	struct kubelet *k = arg;
	static int64_t first, last_orphans;
	int64_t now = kubelet_now_ms();
	if (!first)
		first = now;
	/* adopted pods the sources had time to claim and did not */
	if (now - first >= ADOPTION_GRACE_MS && daemon_wait_synced(k->d)) {
		json_t *gone = pod_uids(k, unclaimed, NULL);
		size_t i;
		json_t *u;
		json_array_foreach(gone, i, u) kubelet_pod_remove(k, json_string_value(u));
		json_decref(gone);
		/* listing the runtime spawns it: orphans are looked for once a minute */
		if (!last_orphans || now - last_orphans >= 60000) {
			remove_orphans(k);
			last_orphans = now;
		}
	}
}

void resync_tick(void *arg)
{
	struct kubelet *k = arg;
	enqueue_uids(k, pod_uids(k, NULL, NULL));
}

/* Pods of obj's namespace that name it in a volume, envFrom or env. */
static void resync_users(struct kubelet *k, const json_t *obj)
{
	const char *ns = json_string_value(json_path_get(obj, "metadata.namespace"));
	const char *name = json_string_value(json_path_get(obj, "metadata.name"));
	if (!ns || !name)
		return;
	cleanup_free char *q1 = xasprintf("\"name\":\"%s\"", name);
	cleanup_free char *q2 = xasprintf("\"secretName\":\"%s\"", name);
	struct reference ref = {.ns = ns, .quoted = {q1, q2}};
	enqueue_uids(k, pod_uids(k, refers_to, &ref));
}

void kubelet_object_changed(json_t *obj, void *arg)
{
	resync_users(arg, obj);
}

void kubelet_object_updated(json_t *old, json_t *obj, void *arg)
{
	(void)old;
	resync_users(arg, obj);
}

/* ---- log rotation ---- */

/* Rotates one log: the live file is renamed to <file>.<timestamp>, the
 * monitor is told to reopen (SIGUSR1), and the oldest rotated files beyond
 * max_files - 1 go. */
struct prefix {
	const char *s;
	size_t len;
};

/* A rotated file of the log named by arg (a struct prefix): "<name>.<...>". */
static bool is_rotated(const char *name, void *arg)
{
	const struct prefix *p = arg;
	return !strncmp(name, p->s, p->len) && name[p->len] == '.';
}

static void rotate(struct kubelet *k, const char *id, const char *logp)
{
	struct stat st;
	if (stat(logp, &st) < 0 || st.st_size < k->cfg.container_log_max_size)
		return;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	cleanup_free char *rotated = xasprintf("%s.%s", logp, stamp);
	cleanup_err struct mk_err *err = NULL;
	if (rename(logp, rotated) == 0 && runtime_reopen_log(k->rt, id, &err) < 0)
		log_warn("rotating the log of %s: %s", id, mk_err_msg(err));
	/* keep max_files - 1 rotated files next to the live one */
	cleanup_free char *dir = xstrdup(logp);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	struct prefix want = {.s = slash + 1, .len = strlen(slash + 1)};
	/* "<n>.log.<UTC stamp>": by name is oldest first */
	cleanup_strv char **old = fs_list_dir(dir, is_rotated, &want);
	size_t n = 0;
	while (old && old[n])
		n++;
	size_t keep =
		k->cfg.container_log_max_files > 1 ? (size_t)k->cfg.container_log_max_files - 1 : 1;
	for (size_t i = 0; i + keep < n; i++) {
		cleanup_free char *p = xasprintf("%s/%s", dir, old[i]);
		unlink(p);
	}
}

void logs_rotate_tick(void *arg)
{
	struct kubelet *k = arg;
	json_t *todo = json_array();
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		for (size_t i = 0; kp->pod && i < kp->nctrs; i++)
			if (kp->ctrs[i].id && kp->ctrs[i].state == KCTR_RUNNING) {
				cleanup_free char *dir = podfs_log_dir(k, kp->pod);
				cleanup_free char *lp = xasprintf(
					"%s/%s/%d.log", dir, kp->ctrs[i].name, kp->ctrs[i].attempt);
				json_array_append_new(todo, json_pack("[s,s]", kp->ctrs[i].id, lp));
			}
	pthread_mutex_unlock(&k->mu);
	size_t i;
	json_t *t;
	json_array_foreach(todo, i, t) rotate(k, json_string_value(json_array_get(t, 0)),
					      json_string_value(json_array_get(t, 1)));
	json_decref(todo);
}
