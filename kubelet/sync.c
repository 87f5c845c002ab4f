/* The pod worker: one sync makes the node match what one pod should be, as
 * upstream's SyncPod / SyncTerminatingPod do:
 *   - removed or being deleted: preStop hooks, containers stopped within
 *     the grace period, sandbox and network torn down, volumes and cgroups
 *     removed; an API pod is then deleted for good;
 *   - otherwise: cgroup, volumes, sandbox (network) and images ready, init
 *     containers run one by one, then every app container started and
 *     restarted by the restart policy with upstream's back-off (10 s doubling
 *     to 5 min, reset after 10 min without a restart);
 *   - the status is computed and handed to the status manager.
 * Nothing here waits for a container to exit: the monitor's exit file
 * queues the pod again. */
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/podstatus.h"
#include "kubelet/probes.h"

#define BACKOFF_INITIAL_MS 10000
#define BACKOFF_MAX_MS	   300000

int64_t kubelet_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The spec of container name (init or app) in pod, borrowed. */
static const json_t *container_spec(const json_t *pod, const char *name, bool init)
{
	return json_array_find_named(
		json_path_get(pod, init ? "spec.initContainers" : "spec.containers"), name);
}

/* Makes kp->ctrs list exactly the containers of pod (init first), keeping
 * what is known of containers that stay. k->mu held. */
static void reconcile_ctrs(struct kpod *kp, const json_t *pod)
{
	size_t n = json_array_size(json_path_get(pod, "spec.initContainers")) +
		   json_array_size(json_path_get(pod, "spec.containers"));
	struct kctr *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	for (int init = 1; init >= 0; init--) {
		size_t i;
		json_t *c;
		json_array_foreach(
			json_path_get(pod, init ? "spec.initContainers" : "spec.containers"), i, c)
		{
			const char *name = json_string_value(json_object_get(c, "name"));
			const char *image = json_string_value(json_object_get(c, "image"));
			struct kctr *dst = &v[k++];
			bool found = false;
			for (size_t j = 0; j < kp->nctrs; j++) {
				struct kctr *old = &kp->ctrs[j];
				if (old->name && old->init == (bool)init &&
				    !strcmp(old->name, name)) {
					*dst = *old;
					*old = (struct kctr){0};
					found = true;
					break;
				}
			}
			if (!found) {
				dst->name = xstrdup(name);
				dst->init = init;
				dst->state = KCTR_WAITING;
				dst->waiting_reason =
					xstrdup(init ? "PodInitializing" : "ContainerCreating");
				dst->started = false;
			}
			if (image && (!dst->image || strcmp(dst->image, image))) {
				free(dst->image);
				dst->image = xstrdup(image);
			}
		}
	}
	/* Containers the spec no longer names are kept for the kill path
	 * only as long as they run; a pod spec's containers never change
	 * upstream, so this is the rare static-pod edit, which replaces the
	 * pod (new UID) anyway. */
	for (size_t j = 0; j < kp->nctrs; j++)
		kctr_clear(&kp->ctrs[j]);
	free(kp->ctrs);
	kp->ctrs = v;
	kp->nctrs = k;
}

/* Upstream's back-off: true (and the wait in *wait_ms) while a restart of c
 * must still wait; otherwise records this restart. */
static bool in_backoff(struct kctr *c, int64_t finished_ms, int64_t now_ms, int64_t *wait_ms)
{
	if (c->backoff_ms && now_ms - finished_ms < c->backoff_ms) {
		*wait_ms = c->backoff_ms - (now_ms - finished_ms);
		return true;
	}
	if (!c->backoff_ms || finished_ms - c->backoff_until > 2 * BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_INITIAL_MS;
	else if (c->backoff_ms < BACKOFF_MAX_MS)
		c->backoff_ms =
			c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
	/* backoff_until keeps the event time the entry was last updated at */
	c->backoff_until = finished_ms;
	return false;
}

static bool should_restart(const char *policy, const struct kctr *c)
{
	if (!strcmp(policy, "Always"))
		return true;
	if (!strcmp(policy, "OnFailure"))
		return c->cur.exit_code != 0;
	return false;
}

/* Starts c (a new instance) unless its back-off says wait; returns 1 when the
 * pod must be synced again after *requeue_ms, 0 when started, -1 when the
 * start failed (waiting reason set). */
static int start_or_wait(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
			 struct kctr *c, int64_t *requeue_ms)
{
	int64_t now = kubelet_wall_ms();
	if (c->state == KCTR_TERMINATED || c->last.valid) {
		int64_t finished = (int64_t)(c->state == KCTR_TERMINATED ? c->cur.finished
									 : c->last.finished) *
				   1000;
		int64_t wait = 0;
		if (c->state == KCTR_TERMINATED && in_backoff(c, finished, now, &wait)) {
			cleanup_free char *msg = xasprintf(
				"back-off %llds restarting failed container=%s pod=%s_%s(%s)",
				(long long)(c->backoff_ms / 1000), c->name, kp->name, kp->ns,
				kp->uid);
			bool was =
				c->waiting_reason && !strcmp(c->waiting_reason, "CrashLoopBackOff");
			pthread_mutex_lock(&k->mu);
			free(c->waiting_reason);
			free(c->waiting_message);
			c->waiting_reason = xstrdup("CrashLoopBackOff");
			c->waiting_message = xstrdup(msg);
			pthread_mutex_unlock(&k->mu);
			if (!was)
				kubelet_event(k, pod, NULL, "Warning", "BackOff",
					      "Back-off restarting failed container %s in pod %s",
					      c->name, kp->name);
			*requeue_ms = wait;
			return 1;
		}
	}
	cleanup_err struct mk_err *err = NULL;
	if (containers_start(k, kp, pod, cspec, c, requeue_ms, &err) < 0) {
		log_warn("pod %s/%s: container %s: %s", kp->ns, kp->name, c->name, mk_err_msg(err));
		return *requeue_ms ? 1 : -1;
	}
	return 0;
}

/* The app and init containers of a running pod. Returns the delay after
 * which the pod wants another sync (0: none). */
static int64_t sync_containers(struct kubelet *k, struct kpod *kp, const json_t *pod)
{
	const char *policy = json_string_value(json_path_get(pod, "spec.restartPolicy"));
	if (!policy)
		policy = "Always";
	int64_t requeue = 0;
	for (size_t i = 0; i < kp->nctrs; i++)
		containers_refresh(k, kp, &kp->ctrs[i]);

	/* init containers, one after the other */
	for (size_t i = 0; i < kp->nctrs; i++) {
		struct kctr *c = &kp->ctrs[i];
		if (!c->init)
			continue;
		const json_t *cspec = container_spec(pod, c->name, true);
		if (c->state == KCTR_RUNNING)
			return 0;
		if (c->state == KCTR_TERMINATED && c->cur.exit_code == 0)
			continue;
		if (c->state == KCTR_TERMINATED && !strcmp(policy, "Never"))
			return 0; /* the pod failed */
		int64_t wait = 0;
		int r = start_or_wait(k, kp, pod, cspec, c, &wait);
		if (r > 0 || (r < 0 && wait))
			return wait ? wait : 1000;
		return r < 0 ? 10000 : 0;
	}

	/* app containers */
	for (size_t i = 0; i < kp->nctrs; i++) {
		struct kctr *c = &kp->ctrs[i];
		if (c->init)
			continue;
		const json_t *cspec = container_spec(pod, c->name, false);
		if (c->state == KCTR_RUNNING) {
			if (!c->probing)
				containers_probe(k, kp, pod, cspec,
						 c); /* adopted after a restart */
			if (!c->liveness_failed)
				continue;
			kubelet_event(k, pod, NULL, "Normal", "Killing",
				      "Container %s failed liveness probe, will be restarted",
				      c->name);
			int64_t grace = probes_kill_grace_seconds(pod, c->name, PROBE_LIVENESS);
			containers_kill(k, kp, pod, c, grace, true);
			containers_refresh(k, kp, c);
		}
		if (c->state == KCTR_TERMINATED && !should_restart(policy, c))
			continue;
		int64_t wait = 0;
		int r = start_or_wait(k, kp, pod, cspec, c, &wait);
		if (r > 0 && wait && (!requeue || wait < requeue))
			requeue = wait;
		if (r < 0 && (!requeue || 10000 < requeue))
			requeue = 10000;
	}
	return requeue;
}

/* Stops everything of kp; true when nothing of it runs any more. */
static bool kill_pod(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t grace_s)
{
	for (size_t i = 0; i < kp->nctrs; i++)
		containers_refresh(k, kp, &kp->ctrs[i]);
	containers_kill_all(k, kp, pod, grace_s);
	cleanup_err struct mk_err *err = NULL;
	if (sandbox_stop(k, kp, &err) < 0) {
		log_warn("pod %s/%s: tearing down the sandbox: %s", kp->ns, kp->name,
			 mk_err_msg(err));
		return false;
	}
	return true;
}

static bool all_running(const struct kpod *kp)
{
	size_t n = 0;
	for (size_t i = 0; i < kp->nctrs; i++) {
		if (kp->ctrs[i].init)
			continue;
		if (kp->ctrs[i].state != KCTR_RUNNING)
			return false;
		n++;
	}
	return n > 0;
}

static void report(struct kubelet *k, struct kpod *kp, const json_t *pod)
{
	pthread_mutex_lock(&k->mu);
	json_t *st = podstatus_compute(kp, pod, k->node_ip, kp->status, time(NULL));
	bool changed = !kp->status || !json_equal(kp->status, st);
	json_decref(kp->status);
	kp->status = st;
	bool observe = !kp->start_observed && all_running(kp);
	if (observe)
		kp->start_observed = true;
	pthread_mutex_unlock(&k->mu);
	if (observe) {
		/* from the pod's creation (or first sight of a static pod) */
		time_t created = 0;
		const char *ct =
			json_string_value(json_path_get(pod, "metadata.creationTimestamp"));
		if (!ct || time_parse_rfc3339(ct, &created, NULL) < 0)
			created = kp->start_time;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		double secs = (double)now.tv_sec + now.tv_nsec / 1e9 - (double)created;
		server_observe_pod_start(secs > 0 ? secs : 0);
	}
	if (changed)
		statusmgr_changed(k, kp);
}

int kubelet_sync_pod(const char *uid, void *arg, struct mk_err **err)
{
	(void)err;
	struct kubelet *k = arg;
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = kubelet_pod_find(k, uid);
	if (!kp) {
		pthread_mutex_unlock(&k->mu);
		return 0;
	}
	cleanup_json json_t *pod = json_incref(kp->pod);
	bool removed = kp->removed, deleting = kp->deleting;
	int64_t grace = kp->grace_s;
	if (pod)
		reconcile_ctrs(kp, pod);
	pthread_mutex_unlock(&k->mu);

	if (removed || deleting) {
		if (!kp->killed) {
			log_info("Killing pod %s/%s (grace period %llds)", kp->ns, kp->name,
				 (long long)grace);
			if (!kill_pod(k, kp, pod, grace)) {
				kubelet_enqueue_after(k, uid, 2000);
				return 0;
			}
			kp->killed = true;
			containers_remove_all(k, kp);
			podfs_cleanup(k, kp);
			if (pod)
				report(k, kp, pod);
		}
		statusmgr_finished(k, kp);
		return 0;
	}
	if (!pod)
		return 0;

	/* A pod that completed stays as it is (its sandbox is released). */
	if (kp->terminated) {
		kill_pod(k, kp, pod, 0);
		report(k, kp, pod);
		return 0;
	}
	if (!kp->start_time)
		kp->start_time = time(NULL);

	int64_t requeue = 0;
	cleanup_err struct mk_err *perr = NULL;
	if (podfs_prepare(k, kp, pod, &perr) < 0) {
		log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(perr));
		requeue = 5000;
		goto out;
	}
	if (sandbox_ensure(k, kp, pod, &requeue) < 0)
		goto out;
	requeue = sync_containers(k, kp, pod);
	/* a new sandbox's pause container was made beside the containers */
	int64_t sandbox_requeue = 0;
	if (sandbox_finish(k, kp, pod, &sandbox_requeue) < 0)
		requeue = sandbox_requeue;
out:
	report(k, kp, pod);
	pthread_mutex_lock(&k->mu);
	bool terminal = podstatus_terminal(kp->status);
	if (terminal && !kp->terminated) {
		kp->terminated = true;
		pthread_mutex_unlock(&k->mu);
		kubelet_enqueue(k, uid);
	} else {
		pthread_mutex_unlock(&k->mu);
	}
	if (requeue > 0)
		kubelet_enqueue_after(k, uid, requeue);
	return 0;
}
