#include "scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "algorithm.h"
#include "cleanup.h"
#include "informer.h"
#include "log.h"
#include "timefmt.h"
#include "workqueue.h"
#include "xalloc.h"

/* Pods are decided and bound by a few workers, each binding on a
 * connection of its own, so that one decision does not wait for the
 * previous binding's round trip. */
#define BINDERS 4

struct scheduler {
	const struct scheduler_options *opts;
	struct informer *nodes, *pods;
	struct workqueue *queue; /* pod keys to schedule */

	pthread_mutex_t lock; /* snap, unschedulable, bound */
	struct sched_snapshot *snap;
	json_t *unschedulable; /* keys waiting for a cluster change */
	json_t *bound;	       /* key -> uid bound by us, until the informer shows it */

	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct client *binder[BINDERS];
	bool binder_busy[BINDERS];

	struct workqueue *event_queue; /* names of the events to post */
	pthread_mutex_t ev_lock;
	json_t *ev_pending; /* name -> Event */
	struct client *events;

	atomic_ullong scheduled, unschedulable_n, errors;
};

static json_t *jget(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static bool is_ours_and_pending(const struct scheduler *s, const json_t *pod)
{
	const char *node = json_string_value(jget(pod, "spec", "nodeName"));
	const char *name = json_string_value(jget(pod, "spec", "schedulerName"));
	const char *phase = json_string_value(jget(pod, "status", "phase"));
	if (node && *node)
		return false;
	if (jget(pod, "metadata", "deletionTimestamp"))
		return false;
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return false;
	return !strcmp(name ? name : "default-scheduler", s->opts->scheduler_name);
}

/* A cluster change may make unschedulable pods fit: queue them again. */
static void retry_unschedulable(struct scheduler *s)
{
	pthread_mutex_lock(&s->lock);
	const char *key;
	json_t *v;
	json_object_foreach(s->unschedulable, key, v) workqueue_add(s->queue, key);
	json_object_clear(s->unschedulable);
	pthread_mutex_unlock(&s->lock);
}

static void node_changed(json_t *obj, void *arg)
{
	struct scheduler *s = arg;
	pthread_mutex_lock(&s->lock);
	sched_snapshot_set_node(s->snap, obj);
	pthread_mutex_unlock(&s->lock);
	retry_unschedulable(s);
}

static void node_updated(json_t *old_obj, json_t *new_obj, void *arg)
{
	(void)old_obj;
	node_changed(new_obj, arg);
}

static void node_deleted(json_t *obj, void *arg)
{
	struct scheduler *s = arg;
	const char *name = json_string_value(jget(obj, "metadata", "name"));
	if (!name)
		return;
	pthread_mutex_lock(&s->lock);
	sched_snapshot_remove_node(s->snap, name);
	pthread_mutex_unlock(&s->lock);
}

static void pod_changed(json_t *obj, void *arg)
{
	struct scheduler *s = arg;
	const char *node = json_string_value(jget(obj, "spec", "nodeName"));
	cleanup_free char *key = informer_key(obj);
	if (node && *node) {
		pthread_mutex_lock(&s->lock);
		sched_snapshot_set_pod(s->snap, obj);
		if (key)
			json_object_del(s->bound, key);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (key && is_ours_and_pending(s, obj))
		workqueue_add(s->queue, key);
}

static void pod_updated(json_t *old_obj, json_t *new_obj, void *arg)
{
	(void)old_obj;
	pod_changed(new_obj, arg);
}

static void pod_deleted(json_t *obj, void *arg)
{
	struct scheduler *s = arg;
	const char *uid = json_string_value(jget(obj, "metadata", "uid"));
	cleanup_free char *key = informer_key(obj);
	if (!uid)
		return;
	pthread_mutex_lock(&s->lock);
	sched_snapshot_remove_pod(s->snap, uid);
	if (key)
		json_object_del(s->bound, key);
	pthread_mutex_unlock(&s->lock);
	/* freed resources may let a waiting pod fit */
	if (json_string_value(jget(obj, "spec", "nodeName")))
		retry_unschedulable(s);
}

/* Queues a core/v1 Event about pod for the event worker. */
static void record_event(struct scheduler *s, const json_t *pod, const char *type,
			 const char *reason, const char *message)
{
	json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	cleanup_free char *stamp = time_rfc3339(now.tv_sec);
	/* upstream names events "<object>.<hex nanoseconds>" */
	cleanup_free char *ev_name = xasprintf("%s.%llx", name ? name : "pod",
					       (unsigned long long)now.tv_sec * 1000000000ULL +
						       (unsigned long long)now.tv_nsec);
	json_t *ev = json_pack(
		"{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:O,s:O,s:O,s:O},s:s,s:s,s:s,s:{s:s},s:s,s:s,"
		"s:i,s:s,s:s}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name", ev_name, "namespace",
		ns ? ns : "default", "involvedObject", "kind", "Pod", "apiVersion", "v1",
		"namespace", json_object_get(meta, "namespace"), "name",
		json_object_get(meta, "name"), "uid", json_object_get(meta, "uid"),
		"resourceVersion", json_object_get(meta, "resourceVersion"), "reason", reason,
		"message", message, "type", type, "source", "component", s->opts->scheduler_name,
		"firstTimestamp", stamp, "lastTimestamp", stamp, "count", 1, "reportingComponent",
		s->opts->scheduler_name, "reportingInstance", s->opts->identity);
	if (!ev)
		return;
	cleanup_free char *key = xasprintf("%s/%s", ns ? ns : "default", ev_name);
	pthread_mutex_lock(&s->ev_lock);
	json_object_set_new(s->ev_pending, key, ev);
	pthread_mutex_unlock(&s->ev_lock);
	workqueue_add(s->event_queue, key);
}

/* Events are best effort, as upstream's recorder: a failure is logged. */
static int post_event(const char *key, void *arg, struct mk_err **err)
{
	(void)err;
	struct scheduler *s = arg;
	pthread_mutex_lock(&s->ev_lock);
	json_t *ev = json_incref(json_object_get(s->ev_pending, key));
	json_object_del(s->ev_pending, key);
	pthread_mutex_unlock(&s->ev_lock);
	if (!ev)
		return 0;
	const char *ns = json_string_value(jget(ev, "metadata", "namespace"));
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
	cleanup_err struct mk_err *perr = NULL;
	json_t *made = client_create(s->events, path, ev, &perr);
	if (!made)
		log_v(2, "posting event: %s", mk_err_msg(perr));
	json_decref(made);
	json_decref(ev);
	return 0;
}

static struct client *binder_take(struct scheduler *s, int *slot)
{
	pthread_mutex_lock(&s->pool_lock);
	for (;;) {
		for (int i = 0; i < BINDERS; i++) {
			if (!s->binder_busy[i]) {
				s->binder_busy[i] = true;
				pthread_mutex_unlock(&s->pool_lock);
				*slot = i;
				return s->binder[i];
			}
		}
		pthread_cond_wait(&s->pool_cond, &s->pool_lock);
	}
}

static void binder_give(struct scheduler *s, int slot)
{
	pthread_mutex_lock(&s->pool_lock);
	s->binder_busy[slot] = false;
	pthread_cond_signal(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
}

/* Binds pod to node; returns 0, or -1 with the API's error. */
static int bind_pod(struct scheduler *s, const json_t *pod, const char *node, struct mk_err **err)
{
	json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/binding", ns, name);
	cleanup_json json_t *binding = json_pack(
		"{s:s,s:s,s:{s:s,s:s,s:O},s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Binding",
		"metadata", "name", name, "namespace", ns, "uid", json_object_get(meta, "uid"),
		"target", "apiVersion", "v1", "kind", "Node", "name", node);
	int slot;
	struct client *c = binder_take(s, &slot);
	cleanup_json json_t *answer = client_create(c, path, binding, err);
	binder_give(s, slot);
	return answer ? 0 : -1;
}

/* True while the informer has not yet shown a binding of ours. */
static bool bound_by_us(struct scheduler *s, const char *key, const json_t *pod)
{
	const char *uid = json_string_value(jget(pod, "metadata", "uid"));
	pthread_mutex_lock(&s->lock);
	const char *b = json_string_value(json_object_get(s->bound, key));
	bool yes = b && uid && !strcmp(b, uid);
	pthread_mutex_unlock(&s->lock);
	return yes;
}

/* Decides and binds one pod; a binding that failed for a reason other than
 * the pod being gone or bound already is retried with the queue's back-off. */
static int schedule_pod(const char *key, void *arg, struct mk_err **err)
{
	struct scheduler *s = arg;
	cleanup_json json_t *pod = informer_get(s->pods, key);
	if (!pod || !is_ours_and_pending(s, pod) || bound_by_us(s, key, pod))
		return 0;
	cleanup_free char *node = NULL;
	cleanup_err struct mk_err *perr = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sched_pick(s->snap, pod, &node, &perr);
	if (rc == 0)
		sched_snapshot_assume(s->snap, pod, node);
	else
		json_object_set_new(s->unschedulable, key, json_true());
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		atomic_fetch_add(&s->unschedulable_n, 1);
		log_v(2, "pod %s is unschedulable: %s", key, mk_err_msg(perr));
		record_event(s, pod, "Warning", "FailedScheduling", mk_err_msg(perr));
		return 0;
	}
	const char *uid = json_string_value(jget(pod, "metadata", "uid"));
	cleanup_err struct mk_err *berr = NULL;
	if (bind_pod(s, pod, node, &berr) < 0) {
		pthread_mutex_lock(&s->lock);
		if (uid)
			sched_snapshot_remove_pod(s->snap, uid);
		pthread_mutex_unlock(&s->lock);
		/* gone or bound by someone else: the informer will tell */
		if (mk_err_code(berr) == MK_ENOTFOUND || mk_err_code(berr) == MK_ECONFLICT)
			return 0;
		atomic_fetch_add(&s->errors, 1);
		log_warn("binding %s to %s: %s", key, node, mk_err_msg(berr));
		return mk_err_set(err, mk_err_code(berr), "binding to %s: %s", node,
				  mk_err_msg(berr));
	}
	atomic_fetch_add(&s->scheduled, 1);
	pthread_mutex_lock(&s->lock);
	if (uid)
		json_object_set_new(s->bound, key, json_string(uid));
	pthread_mutex_unlock(&s->lock);
	const char *ns = json_string_value(jget(pod, "metadata", "namespace"));
	const char *name = json_string_value(jget(pod, "metadata", "name"));
	cleanup_free char *msg = xasprintf("Successfully assigned %s/%s to %s", ns, name, node);
	log_v(2, "%s", msg);
	record_event(s, pod, "Normal", "Scheduled", msg);
	return 0;
}

/* upstream's scheduler_schedule_attempts_total and scheduler_pending_pods */
static void scheduler_metrics(struct buf *out, void *arg)
{
	struct scheduler *s = arg;
	const char *p = s->opts->scheduler_name;
	buf_printf(out,
		   "# HELP scheduler_schedule_attempts_total [STABLE] Number of attempts to "
		   "schedule pods, by the result. 'unschedulable' means a pod could not be "
		   "scheduled, while 'error' means an internal scheduler problem.\n"
		   "# TYPE scheduler_schedule_attempts_total counter\n"
		   "scheduler_schedule_attempts_total{profile=\"%s\",result=\"error\"} %llu\n"
		   "scheduler_schedule_attempts_total{profile=\"%s\",result=\"scheduled\"} %llu\n"
		   "scheduler_schedule_attempts_total{profile=\"%s\",result=\"unschedulable\"} "
		   "%llu\n",
		   p, atomic_load(&s->errors), p, atomic_load(&s->scheduled), p,
		   atomic_load(&s->unschedulable_n));
	pthread_mutex_lock(&s->lock);
	size_t waiting = json_object_size(s->unschedulable);
	pthread_mutex_unlock(&s->lock);
	buf_printf(out,
		   "# HELP scheduler_pending_pods [STABLE] Number of pending pods, by the queue "
		   "type. 'active' means number of pods in activeQ; 'unschedulable' means number "
		   "of pods in unschedulablePods.\n"
		   "# TYPE scheduler_pending_pods gauge\n"
		   "scheduler_pending_pods{queue=\"active\"} %zu\n"
		   "scheduler_pending_pods{queue=\"unschedulable\"} %zu\n",
		   workqueue_len(s->queue), waiting);
}

struct scheduler *scheduler_new(struct daemon *d, const struct scheduler_options *opts,
				struct mk_err **err)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	s->opts = opts;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_cond, NULL);
	pthread_mutex_init(&s->ev_lock, NULL);
	s->snap = sched_snapshot_new();
	s->unschedulable = json_object();
	s->bound = json_object();
	s->ev_pending = json_object();
	s->queue = workqueue_new();
	s->event_queue = workqueue_new();
	for (size_t i = 0; i < BINDERS; i++) {
		s->binder[i] = daemon_client_new(d, err);
		if (!s->binder[i])
			goto fail;
	}
	s->events = daemon_client_new(d, err);
	if (!s->events)
		goto fail;
	struct informer_handlers nh = {.on_add = node_changed,
				       .on_update = node_updated,
				       .on_delete = node_deleted,
				       .arg = s};
	struct informer_handlers ph = {.on_add = pod_changed,
				       .on_update = pod_updated,
				       .on_delete = pod_deleted,
				       .arg = s};
	s->nodes = daemon_informer(d, "/api/v1/nodes", NULL, NULL, &nh, err);
	s->pods = s->nodes ? daemon_informer(d, "/api/v1/pods", NULL, NULL, &ph, err) : NULL;
	if (!s->pods ||
	    daemon_workers(d, "scheduler", s->queue, BINDERS, schedule_pod, s, err) < 0 ||
	    daemon_workers(d, "events", s->event_queue, 1, post_event, s, err) < 0)
		goto fail;
	daemon_metrics(d, scheduler_metrics, s);
	return s;
fail:
	scheduler_free(s);
	return NULL;
}

void scheduler_free(struct scheduler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < BINDERS; i++)
		client_free(s->binder[i]);
	client_free(s->events);
	workqueue_free(s->queue);
	workqueue_free(s->event_queue);
	sched_snapshot_free(s->snap);
	json_decref(s->unschedulable);
	json_decref(s->bound);
	json_decref(s->ev_pending);
	pthread_cond_destroy(&s->pool_cond);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->ev_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
