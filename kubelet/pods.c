/* The pod table, and the two sources that fill it: static manifests and the
 * API server's pods bound to this node. Mirror pods (the API server's copy
 * of a static pod) are never run: they are recorded so that one exists for
 * each static pod. */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

int64_t kubelet_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *kubelet_pod_key(const json_t *pod)
{
	return xasprintf("%s/%s", json_string_value(json_path_get(pod, "metadata.namespace")),
			 json_string_value(json_path_get(pod, "metadata.name")));
}

static void kexit_clear(struct kexit *x)
{
	free(x->reason);
	free(x->message);
	free(x->container_id);
	*x = (struct kexit){0};
}

void kctr_clear(struct kctr *c)
{
	free(c->name);
	free(c->id);
	free(c->image);
	free(c->image_ref);
	free(c->image_id);
	free(c->waiting_reason);
	free(c->waiting_message);
	free(c->liveness_message);
	kexit_clear(&c->cur);
	kexit_clear(&c->last);
	*c = (struct kctr){0};
}

void kubelet_pod_free(struct kpod *kp)
{
	if (!kp)
		return;
	free(kp->uid);
	free(kp->ns);
	free(kp->name);
	json_decref(kp->pod);
	free(kp->static_path);
	free(kp->sandbox_id);
	free(kp->netns);
	free(kp->ipc_ns);
	free(kp->uts_ns);
	free(kp->pod_ip);
	json_decref(kp->pod_ips);
	free(kp->sandbox_error);
	for (size_t i = 0; i < kp->nctrs; i++)
		kctr_clear(&kp->ctrs[i]);
	free(kp->ctrs);
	json_decref(kp->status);
	free(kp->config_error);
	free(kp);
}

struct kpod *kubelet_pod_find(struct kubelet *k, const char *uid)
{
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		if (!strcmp(kp->uid, uid))
			return kp;
	return NULL;
}

void kubelet_enqueue(struct kubelet *k, const char *uid)
{
	workqueue_add(k->podq, uid);
}

void kubelet_enqueue_after(struct kubelet *k, const char *uid, int64_t delay_ms)
{
	workqueue_add_after(k->podq, uid, (uint64_t)(delay_ms > 0 ? delay_ms : 0));
}

static int64_t grace_of(const json_t *pod)
{
	json_t *g = json_path_get(pod, "metadata.deletionGracePeriodSeconds");
	if (!json_is_integer(g))
		g = json_path_get(pod, "spec.terminationGracePeriodSeconds");
	return json_is_integer(g) && json_integer_value(g) >= 0 ? json_integer_value(g) : 30;
}

void kubelet_pod_set(struct kubelet *k, json_t *pod, bool is_static, const char *path)
{
	const char *uid = json_string_value(json_path_get(pod, "metadata.uid"));
	if (!uid)
		return;
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = kubelet_pod_find(k, uid);
	if (!kp) {
		kp = xcalloc(1, sizeof(*kp));
		kp->uid = xstrdup(uid);
		kp->ns = xstrdup(json_string_value(json_path_get(pod, "metadata.namespace")));
		kp->name = xstrdup(json_string_value(json_path_get(pod, "metadata.name")));
		kp->next = k->pods;
		k->pods = kp;
		log_info("SyncLoop ADD source=%s pod=\"%s/%s\"", is_static ? "file" : "api", kp->ns,
			 kp->name);
	}
	json_decref(kp->pod);
	kp->pod = json_incref(pod);
	kp->is_static = is_static;
	if (path) {
		free(kp->static_path);
		kp->static_path = xstrdup(path);
	}
	kp->removed = false;
	kp->confirmed = true;
	if (json_path_get(pod, "metadata.deletionTimestamp")) {
		if (!kp->deleting)
			log_info("SyncLoop DELETE source=api pod=\"%s/%s\"", kp->ns, kp->name);
		kp->deleting = true;
		kp->grace_s = grace_of(pod);
	} else {
		kp->grace_s = grace_of(pod);
	}
	pthread_mutex_unlock(&k->mu);
	kubelet_enqueue(k, uid);
}

void kubelet_pod_remove(struct kubelet *k, const char *uid)
{
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = kubelet_pod_find(k, uid);
	if (kp && !kp->removed) {
		kp->removed = true;
		log_info("SyncLoop REMOVE source=%s pod=\"%s/%s\"", kp->is_static ? "file" : "api",
			 kp->ns, kp->name);
	}
	pthread_mutex_unlock(&k->mu);
	if (kp)
		kubelet_enqueue(k, uid);
}

/* ---- static manifests ---- */

/* Static pods are keyed by file: a changed file gives a new UID, and the
 * pod from the old content goes. */
void kubelet_static_changed(const char *path, json_t *pod, void *arg)
{
	struct kubelet *k = arg;
	cleanup_free char *old_uid = NULL;
	pthread_mutex_lock(&k->mu);
	const char *new_uid = pod ? json_string_value(json_path_get(pod, "metadata.uid")) : NULL;
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		if (kp->is_static && kp->static_path && !strcmp(kp->static_path, path) &&
		    !kp->removed && (!new_uid || strcmp(kp->uid, new_uid))) {
			old_uid = xstrdup(kp->uid);
			break;
		}
	pthread_mutex_unlock(&k->mu);
	if (old_uid)
		kubelet_pod_remove(k, old_uid);
	if (pod)
		kubelet_pod_set(k, pod, true, path);
}

/* ---- API pods ---- */

static bool is_mirror(const json_t *pod)
{
	return json_path_get(pod, "metadata.annotations") &&
	       json_object_get(json_path_get(pod, "metadata.annotations"), MIRROR_ANNOTATION);
}

static void api_add(json_t *pod, void *arg)
{
	struct kubelet *k = arg;
	if (is_mirror(pod)) {
		statusmgr_mirror_seen(k, pod, true);
		return;
	}
	kubelet_pod_set(k, pod, false, NULL);
}

static void api_update(json_t *old, json_t *pod, void *arg)
{
	(void)old;
	api_add(pod, arg);
}

static void api_delete(json_t *pod, void *arg)
{
	struct kubelet *k = arg;
	if (is_mirror(pod)) {
		statusmgr_mirror_seen(k, pod, false);
		return;
	}
	const char *uid = json_string_value(json_path_get(pod, "metadata.uid"));
	if (uid)
		kubelet_pod_remove(k, uid);
}

static void api_error(const struct mk_err *err, void *arg)
{
	(void)arg;
	log_warn("watching pods: %s", mk_err_msg(err));
}

int kubelet_api_source_start(struct kubelet *k, struct mk_err **err)
{
	cleanup_free char *sel = xasprintf("spec.nodeName=%s", k->node_name);
	struct informer_handlers h = {.on_add = api_add,
				      .on_update = api_update,
				      .on_delete = api_delete,
				      .on_error = api_error,
				      .arg = k};
	return daemon_informer(k->d, "/api/v1/pods", NULL, sel, &h, err) ? 0 : -1;
}

/* ---- events ---- */

void kubelet_event(struct kubelet *k, const json_t *pod, const char *fieldpath, const char *type,
		   const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_v(2, "Event(%s) type=%s reason=%s %s",
	      json_string_value(json_path_get(pod, "metadata.name")), type, reason, msg);
	if (!k->c)
		return;
	events_post_from(k->c, "kubelet", k->node_name, "Pod", "v1", pod, fieldpath, type, reason,
			 "%s", msg);
}
