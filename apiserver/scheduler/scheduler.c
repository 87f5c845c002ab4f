#include "scheduler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "algorithm.h"
#include "cleanup.h"
#include "informer.h"
#include "log.h"
#include "timefmt.h"
#include "workqueue.h"
#include "xalloc.h"

/* Bindings run on a few threads of their own, each with its own connection,
 * so one decision does not wait for the previous binding's round trip. */
#define BINDERS 4

struct bind_job {
	struct bind_job *next;
	json_t *pod;
	char *node;
	char *key;
};

struct sched {
	const struct scheduler_options *opts;
	struct client *api;             /* informers */
	struct client *binder[BINDERS]; /* one per binder thread */
	struct client *events;          /* events, from the event thread */
	struct informer *nodes, *pods;
	struct workqueue *queue;

	pthread_mutex_t lock; /* snapshot and unschedulable */
	struct sched_snapshot *snap;
	json_t *unschedulable; /* keys waiting for a cluster change */

	pthread_mutex_t bind_lock;
	pthread_cond_t bind_cond;
	struct bind_job *bind_head, *bind_tail;
	json_t *in_flight; /* keys being bound */
	bool bind_stop;

	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;
	json_t *ev_pending; /* Event objects to post */
	bool ev_stop;
};

static json_t *jget(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static bool is_ours_and_pending(const struct sched *s, const json_t *pod)
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
static void retry_unschedulable(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	const char *key;
	json_t *v;
	json_object_foreach(s->unschedulable, key, v)
		workqueue_add(s->queue, key);
	json_object_clear(s->unschedulable);
	pthread_mutex_unlock(&s->lock);
}

static void node_changed(json_t *obj, void *arg)
{
	struct sched *s = arg;
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
	struct sched *s = arg;
	const char *name = json_string_value(jget(obj, "metadata", "name"));
	if (!name)
		return;
	pthread_mutex_lock(&s->lock);
	sched_snapshot_remove_node(s->snap, name);
	pthread_mutex_unlock(&s->lock);
}

static void pod_changed(json_t *obj, void *arg)
{
	struct sched *s = arg;
	const char *node = json_string_value(jget(obj, "spec", "nodeName"));
	if (node && *node) {
		pthread_mutex_lock(&s->lock);
		sched_snapshot_set_pod(s->snap, obj);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (is_ours_and_pending(s, obj)) {
		cleanup_free char *key = informer_key(obj);
		if (key)
			workqueue_add(s->queue, key);
	}
}

static void pod_updated(json_t *old_obj, json_t *new_obj, void *arg)
{
	(void)old_obj;
	pod_changed(new_obj, arg);
}

static void pod_deleted(json_t *obj, void *arg)
{
	struct sched *s = arg;
	const char *uid = json_string_value(jget(obj, "metadata", "uid"));
	if (!uid)
		return;
	pthread_mutex_lock(&s->lock);
	sched_snapshot_remove_pod(s->snap, uid);
	pthread_mutex_unlock(&s->lock);
	/* freed resources may let a waiting pod fit */
	if (json_string_value(jget(obj, "spec", "nodeName")))
		retry_unschedulable(s);
}

static void informer_error(const struct mk_err *err, void *arg)
{
	(void)arg;
	log_v(2, "informer: %s", mk_err_msg(err));
}

/* Queues a core/v1 Event about pod for the event thread. */
static void record_event(struct sched *s, const json_t *pod, const char *type, const char *reason,
			 const char *message)
{
	json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	cleanup_free char *stamp = time_rfc3339(now.tv_sec);
	cleanup_free char *micro = time_rfc3339_micro(&now);
	/* upstream names events "<object>.<hex nanoseconds>" */
	cleanup_free char *ev_name = xasprintf("%s.%llx", name ? name : "pod",
					       (unsigned long long)now.tv_sec * 1000000000ULL +
						       (unsigned long long)now.tv_nsec);
	json_t *ev = json_pack(
		"{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:O,s:O,s:O,s:O},s:s,s:s,s:s,s:{s:s},s:s,s:s,s:s,"
		"s:i,s:s,s:s}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name", ev_name, "namespace",
		ns ? ns : "default", "involvedObject", "kind", "Pod", "apiVersion", "v1", "namespace",
		json_object_get(meta, "namespace"), "name", json_object_get(meta, "name"), "uid",
		json_object_get(meta, "uid"), "resourceVersion",
		json_object_get(meta, "resourceVersion"), "reason", reason, "message", message,
		"type", type, "source", "component", s->opts->scheduler_name, "firstTimestamp",
		stamp, "lastTimestamp", stamp, "eventTime", micro, "count", 1, "reportingComponent",
		s->opts->scheduler_name, "reportingInstance", s->opts->identity);
	if (!ev)
		return;
	/* eventTime is for events.k8s.io; core events keep the timestamps */
	json_object_del(ev, "eventTime");
	pthread_mutex_lock(&s->ev_lock);
	json_array_append_new(s->ev_pending, ev);
	pthread_cond_signal(&s->ev_cond);
	pthread_mutex_unlock(&s->ev_lock);
}

static void *event_main(void *arg)
{
	struct sched *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->ev_lock);
		while (!json_array_size(s->ev_pending) && !s->ev_stop)
			pthread_cond_wait(&s->ev_cond, &s->ev_lock);
		if (s->ev_stop && !json_array_size(s->ev_pending)) {
			pthread_mutex_unlock(&s->ev_lock);
			return NULL;
		}
		json_t *batch = s->ev_pending;
		s->ev_pending = json_array();
		pthread_mutex_unlock(&s->ev_lock);
		size_t i;
		json_t *ev;
		json_array_foreach(batch, i, ev) {
			const char *ns = json_string_value(jget(ev, "metadata", "namespace"));
			cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
			cleanup_err struct mk_err *err = NULL;
			json_t *made = client_create(s->events, path, ev, &err);
			if (!made)
				log_v(2, "posting event: %s", mk_err_msg(err));
			json_decref(made);
		}
		json_decref(batch);
	}
}

/* Binds pod to node; returns 0, or -1 with the API's error. */
static int bind_pod(struct client *c, const json_t *pod, const char *node, struct mk_err **err)
{
	json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/binding", ns, name);
	cleanup_json json_t *binding = json_pack(
		"{s:s,s:s,s:{s:s,s:s,s:O},s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Binding",
		"metadata", "name", name, "namespace", ns, "uid", json_object_get(meta, "uid"),
		"target", "apiVersion", "v1", "kind", "Node", "name", node);
	cleanup_json json_t *answer = client_create(c, path, binding, err);
	return answer ? 0 : -1;
}

static bool in_flight(struct sched *s, const char *key)
{
	pthread_mutex_lock(&s->bind_lock);
	bool busy = json_object_get(s->in_flight, key) != NULL;
	pthread_mutex_unlock(&s->bind_lock);
	return busy;
}

static void schedule_one(struct sched *s, const char *key)
{
	if (in_flight(s, key))
		return; /* its binding is under way; the informer will show the result */
	cleanup_json json_t *pod = informer_get(s->pods, key);
	if (!pod || !is_ours_and_pending(s, pod))
		return;
	char *node = NULL;
	cleanup_err struct mk_err *err = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sched_pick(s->snap, pod, &node, &err);
	if (rc == 0)
		sched_snapshot_assume(s->snap, pod, node);
	else
		json_object_set_new(s->unschedulable, key, json_true());
	pthread_mutex_unlock(&s->lock);

	if (rc < 0) {
		log_v(2, "pod %s is unschedulable: %s", key, mk_err_msg(err));
		record_event(s, pod, "Warning", "FailedScheduling", mk_err_msg(err));
		return;
	}
	struct bind_job *job = xcalloc(1, sizeof(*job));
	job->pod = json_incref(pod);
	job->node = node;
	job->key = xstrdup(key);
	pthread_mutex_lock(&s->bind_lock);
	json_object_set_new(s->in_flight, key, json_true());
	if (s->bind_tail)
		s->bind_tail->next = job;
	else
		s->bind_head = job;
	s->bind_tail = job;
	pthread_cond_signal(&s->bind_cond);
	pthread_mutex_unlock(&s->bind_lock);
}

static void bind_one(struct sched *s, struct client *c, struct bind_job *job)
{
	cleanup_err struct mk_err *berr = NULL;
	if (bind_pod(c, job->pod, job->node, &berr) < 0) {
		const char *uid = json_string_value(jget(job->pod, "metadata", "uid"));
		pthread_mutex_lock(&s->lock);
		if (uid)
			sched_snapshot_remove_pod(s->snap, uid);
		pthread_mutex_unlock(&s->lock);
		/* NotFound or already bound: the informer will tell us; else retry */
		if (mk_err_code(berr) != MK_ENOTFOUND && mk_err_code(berr) != MK_ECONFLICT) {
			log_warn("binding %s to %s: %s", job->key, job->node, mk_err_msg(berr));
			workqueue_add_rate_limited(s->queue, job->key);
		}
		return;
	}
	workqueue_forget(s->queue, job->key);
	const char *ns = json_string_value(jget(job->pod, "metadata", "namespace"));
	const char *name = json_string_value(jget(job->pod, "metadata", "name"));
	cleanup_free char *msg = xasprintf("Successfully assigned %s/%s to %s", ns, name,
					   job->node);
	log_v(2, "%s", msg);
	record_event(s, job->pod, "Normal", "Scheduled", msg);
}

struct binder_arg {
	struct sched *s;
	struct client *c;
};

static void *binder_main(void *arg)
{
	struct binder_arg *ba = arg;
	struct sched *s = ba->s;
	for (;;) {
		pthread_mutex_lock(&s->bind_lock);
		while (!s->bind_head && !s->bind_stop)
			pthread_cond_wait(&s->bind_cond, &s->bind_lock);
		struct bind_job *job = s->bind_head;
		if (!job) {
			pthread_mutex_unlock(&s->bind_lock);
			return NULL;
		}
		s->bind_head = job->next;
		if (!s->bind_head)
			s->bind_tail = NULL;
		pthread_mutex_unlock(&s->bind_lock);

		bind_one(s, ba->c, job);

		pthread_mutex_lock(&s->bind_lock);
		json_object_del(s->in_flight, job->key);
		pthread_mutex_unlock(&s->bind_lock);
		json_decref(job->pod);
		free(job->node);
		free(job->key);
		free(job);
	}
}

int scheduler_run(struct client *c, const struct scheduler_options *opts,
		  volatile sig_atomic_t *stop, struct mk_err **err)
{
	struct sched s = {.opts = opts, .api = c};
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_init(&s.ev_lock, NULL);
	pthread_cond_init(&s.ev_cond, NULL);
	s.snap = sched_snapshot_new();
	s.unschedulable = json_object();
	s.ev_pending = json_array();
	s.queue = workqueue_new();
	pthread_mutex_init(&s.bind_lock, NULL);
	pthread_cond_init(&s.bind_cond, NULL);
	s.in_flight = json_object();
	int rc = -1;
	pthread_t ev_thread, binders[BINDERS];
	struct binder_arg bargs[BINDERS];
	size_t n_binders = 0;
	bool ev_started = false;

	for (size_t i = 0; i < BINDERS; i++) {
		s.binder[i] = client_dup(c, err);
		if (!s.binder[i])
			goto out;
	}
	s.events = client_dup(c, err);
	if (!s.events)
		goto out;
	struct informer_handlers nh = {.on_add = node_changed, .on_update = node_updated,
				       .on_delete = node_deleted, .on_error = informer_error,
				       .arg = &s};
	struct informer_handlers ph = {.on_add = pod_changed, .on_update = pod_updated,
				       .on_delete = pod_deleted, .on_error = informer_error,
				       .arg = &s};
	s.nodes = informer_new(c, "/api/v1/nodes", NULL, NULL, &nh, err);
	s.pods = s.nodes ? informer_new(c, "/api/v1/pods", NULL, NULL, &ph, err) : NULL;
	if (!s.pods || informer_start(s.nodes, err) < 0 || informer_start(s.pods, err) < 0)
		goto out;
	if (pthread_create(&ev_thread, NULL, event_main, &s) != 0) {
		mk_err_set(err, MK_EIO, "cannot start the event thread");
		goto out;
	}
	ev_started = true;
	for (; n_binders < BINDERS; n_binders++) {
		bargs[n_binders] = (struct binder_arg){.s = &s, .c = s.binder[n_binders]};
		if (pthread_create(&binders[n_binders], NULL, binder_main, &bargs[n_binders]) != 0) {
			mk_err_set(err, MK_EIO, "cannot start a binder thread");
			goto out;
		}
	}
	while (!*stop && !informer_wait_synced(s.nodes, 200))
		;
	while (!*stop && !informer_wait_synced(s.pods, 200))
		;
	log_info("caches synced; scheduling pods of %s", opts->scheduler_name);

	while (!*stop) {
		bool shutdown = false;
		char *key = workqueue_get_timeout(s.queue, 200, &shutdown);
		if (shutdown)
			break;
		if (!key)
			continue;
		schedule_one(&s, key);
		workqueue_done(s.queue, key);
		free(key);
	}
	rc = 0;
out:
	workqueue_shutdown(s.queue);
	pthread_mutex_lock(&s.bind_lock);
	s.bind_stop = true;
	pthread_cond_broadcast(&s.bind_cond);
	pthread_mutex_unlock(&s.bind_lock);
	for (size_t i = 0; i < n_binders; i++)
		pthread_join(binders[i], NULL);
	informer_free(s.pods);
	informer_free(s.nodes);
	if (ev_started) {
		pthread_mutex_lock(&s.ev_lock);
		s.ev_stop = true;
		pthread_cond_signal(&s.ev_cond);
		pthread_mutex_unlock(&s.ev_lock);
		pthread_join(ev_thread, NULL);
	}
	client_free(s.events);
	for (size_t i = 0; i < BINDERS; i++)
		client_free(s.binder[i]);
	json_decref(s.in_flight);
	pthread_cond_destroy(&s.bind_cond);
	pthread_mutex_destroy(&s.bind_lock);
	workqueue_free(s.queue);
	sched_snapshot_free(s.snap);
	json_decref(s.unschedulable);
	json_decref(s.ev_pending);
	pthread_cond_destroy(&s.ev_cond);
	pthread_mutex_destroy(&s.ev_lock);
	pthread_mutex_destroy(&s.lock);
	return rc;
}
