/* Job controller: runs a Job's pods until spec.completions of them
 * succeeded (or, without completions, until one did and the rest ended),
 * at most spec.parallelism at once, and fails the Job once more than
 * spec.backoffLimit pods failed or it ran longer than activeDeadlineSeconds.
 * A finished Job with ttlSecondsAfterFinished is deleted (in the foreground)
 * that long after it finished, as upstream's ttl-after-finished controller.
 *
 * Pods are tracked with finalizers, as upstream: each pod is created with
 * the finalizer batch.kubernetes.io/job-tracking; a finished pod's uid goes
 * into status.uncountedTerminatedPods first, then its finalizer is removed,
 * then it moves into status.succeeded / status.failed. So a pod that ends and
 * is deleted before the controller saw it is still counted exactly once.
 *
 * Replacements of failed pods wait upstream's back-off: 10 s after the
 * first failure, doubling per further failure, at most 6 min. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "podutil.h"
#include "statuswrite.h"
#include "timefmt.h"
#include "xalloc.h"

#define COMPONENT "job-controller"
#define TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"
#define BACKOFF_BASE_S 10
#define BACKOFF_MAX_S 360

struct job_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *pods, *jobs;
	pthread_mutex_t lock;
	json_t *last_failure; /* job uid -> time the last failed pod was counted */
	/* job uid -> resourceVersion of our last status write: a cached job
	 * older than that is not synced again (its update event follows) */
	json_t *written;
	/* job uid -> {"adds": pods created whose add event is still due, "t"}:
	 * until they show, the job's pods are not counted again (as the
	 * ReplicaSet controller's expectations) */
	json_t *expect;
	/* uids of pods deleted as excess or for a suspend: not failures */
	json_t *removed;
	/* uids of pods whose finalizer we removed while the cache may still
	 * show it: already counted, never again (upstream's expectations on
	 * finalizer removal) */
	json_t *rm_fin;
};

static void rm_fin_set(struct job_ctrl *jc, const char *uid, bool on)
{
	if (!uid)
		return;
	pthread_mutex_lock(&jc->lock);
	if (on)
		json_object_set_new(jc->rm_fin, uid, json_true());
	else
		json_object_del(jc->rm_fin, uid);
	pthread_mutex_unlock(&jc->lock);
}

static bool rm_fin_pending(struct job_ctrl *jc, const char *uid)
{
	pthread_mutex_lock(&jc->lock);
	bool on = uid && json_object_get(jc->rm_fin, uid);
	pthread_mutex_unlock(&jc->lock);
	return on;
}

#define EXPECTATIONS_TTL 300

static void expect_adds(struct job_ctrl *jc, const char *uid, int n)
{
	pthread_mutex_lock(&jc->lock);
	json_object_set_new(jc->expect, uid,
			    json_pack("{s:i, s:I}", "adds", n, "t", (json_int_t)time(NULL)));
	pthread_mutex_unlock(&jc->lock);
}

static void expect_observe(struct job_ctrl *jc, const char *uid)
{
	pthread_mutex_lock(&jc->lock);
	json_t *e = json_object_get(jc->expect, uid);
	json_int_t n = json_integer_value(json_object_get(e, "adds"));
	if (e && n > 0)
		json_object_set_new(e, "adds", json_integer(n - 1));
	pthread_mutex_unlock(&jc->lock);
}

static bool expect_satisfied(struct job_ctrl *jc, const char *uid)
{
	pthread_mutex_lock(&jc->lock);
	json_t *e = json_object_get(jc->expect, uid);
	bool ok = !e || json_integer_value(json_object_get(e, "adds")) <= 0 ||
		  time(NULL) - json_integer_value(json_object_get(e, "t")) > EXPECTATIONS_TTL;
	pthread_mutex_unlock(&jc->lock);
	return ok;
}

static long long rv_of(const json_t *obj)
{
	const char *rv = json_path_str(obj, "metadata.resourceVersion");
	return rv ? strtoll(rv, NULL, 10) : 0;
}

static bool has_finalizer(const json_t *pod)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_path_get(pod, "metadata.finalizers"), i, f)
		if (json_is_string(f) && !strcmp(json_string_value(f), TRACKING_FINALIZER))
			return true;
	return false;
}

/* The job key a pod's controller reference names, or NULL. */
static char *owner_key(const json_t *pod)
{
	json_t *ref = obj_controller_ref(pod);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!kind || strcmp(kind, "Job") || !av || strcmp(av, "batch/v1") || !name)
		return NULL;
	return ctrl_key(obj_meta_str(pod, "namespace"), name);
}

static bool pod_deleting(const json_t *pod)
{
	return json_path_get(pod, "metadata.deletionTimestamp") != NULL;
}

static const char *pod_phase(const json_t *pod)
{
	const char *p = json_path_str(pod, "status.phase");
	return p ? p : "";
}

/* Upstream counts a pod deleted before it succeeded as failed. */
static bool pod_failed(const json_t *pod)
{
	return !strcmp(pod_phase(pod), "Failed") ||
	       (pod_deleting(pod) && strcmp(pod_phase(pod), "Succeeded"));
}

static bool pod_succeeded(const json_t *pod)
{
	return !strcmp(pod_phase(pod), "Succeeded");
}

static void queue_pod_owner(struct job_ctrl *jc, const json_t *pod)
{
	cleanup_free char *key = owner_key(pod);
	if (key)
		workqueue_add(jc->q, key);
	/* a tracked pod whose job is gone, or that its job orphaned: its
	 * finalizer must still go */
	if (has_finalizer(pod) && (!obj_controller_ref(pod) || (key && (pod_deleting(pod) ||
									   pod_is_terminal(pod))))) {
		cleanup_json json_t *job = key ? informer_get(jc->jobs, key) : NULL;
		const char *uid = pod_controller_uid(pod);
		if (!job || !uid || strcmp(uid, obj_meta_str(job, "uid") ?: "")) {
			cleanup_free char *pkey = informer_key(pod);
			cleanup_free char *qkey = xasprintf("P %s", pkey);
			workqueue_add(jc->q, qkey);
		}
	}
}

static void on_pod_add(json_t *pod, void *arg)
{
	struct job_ctrl *jc = arg;
	if (!has_finalizer(pod))
		rm_fin_set(jc, obj_meta_str(pod, "uid"), false);
	const char *uid = pod_controller_uid(pod);
	if (uid)
		expect_observe(jc, uid);
	queue_pod_owner(arg, pod);
}

static void on_pod_update(json_t *old_pod, json_t *new_pod, void *arg)
{
	struct job_ctrl *jc = arg;
	(void)old_pod;
	if (!has_finalizer(new_pod))
		rm_fin_set(jc, obj_meta_str(new_pod, "uid"), false);
	queue_pod_owner(arg, new_pod);
}

static void on_pod_delete(json_t *pod, void *arg)
{
	struct job_ctrl *jc = arg;
	rm_fin_set(jc, obj_meta_str(pod, "uid"), false);
	cleanup_free char *key = owner_key(pod);
	if (key)
		workqueue_add(jc->q, key);
}

static void on_job_add(json_t *job, void *arg)
{
	struct job_ctrl *jc = arg;
	cleanup_free char *key = informer_key(job);
	if (key)
		workqueue_add(jc->q, key);
}

static void on_job_update(json_t *old_job, json_t *new_job, void *arg)
{
	(void)old_job;
	on_job_add(new_job, arg);
}

static void on_job_delete(json_t *job, void *arg)
{
	struct job_ctrl *jc = arg;
	pthread_mutex_lock(&jc->lock);
	json_object_del(jc->last_failure, obj_meta_str(job, "uid") ?: "");
	json_object_del(jc->written, obj_meta_str(job, "uid") ?: "");
	json_object_del(jc->expect, obj_meta_str(job, "uid") ?: "");
	pthread_mutex_unlock(&jc->lock);
	/* its pods lose their finalizers through their own events */
	on_job_add(job, arg);
}

static char *pod_path(const json_t *pod)
{
	return xasprintf("/api/v1/namespaces/%s/pods/%s", obj_meta_str(pod, "namespace"),
			 obj_meta_str(pod, "name"));
}

/* Removes the tracking finalizer of pod (a JSON patch guarded by the pod's
 * uid, so that a recreated pod of the same name is left alone). */
static int strip_finalizer(struct job_ctrl *jc, const json_t *pod, struct mk_err **err)
{
	json_t *fins = json_path_get(pod, "metadata.finalizers");
	cleanup_json json_t *keep = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(fins, i, f)
		if (!json_is_string(f) || strcmp(json_string_value(f), TRACKING_FINALIZER))
			json_array_append(keep, f);
	cleanup_json json_t *patch = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path",
					       "/metadata/uid", "value", obj_meta_str(pod, "uid") ?: "");
	/* as upstream stores it: no empty list left behind */
	if (json_array_size(keep))
		json_array_append_new(patch, json_pack("{s:s, s:s, s:O}", "op", "replace", "path",
						       "/metadata/finalizers", "value", keep));
	else
		json_array_append_new(patch, json_pack("{s:s, s:s}", "op", "remove", "path",
						       "/metadata/finalizers"));
	cleanup_free char *path = pod_path(pod);
	cleanup_err struct mk_err *perr = NULL;
	cleanup_json json_t *r = client_patch(jc->c, path, "json", patch, &perr);
	if (r && has_finalizer(r) == false)
		rm_fin_set(jc, obj_meta_str(pod, "uid"), true);
	if (!r && mk_err_code(perr) != MK_ENOTFOUND) {
		mk_err_set(err, mk_err_code(perr), "removing the finalizer of pod %s: %s",
			   obj_meta_str(pod, "name"), mk_err_msg(perr));
		return -1;
	}
	return 0;
}

/* Deletes pod; a pod removed as excess or for a suspend (counted false)
 * does not count as failed. */
static int delete_pod(struct job_ctrl *jc, const json_t *job, const json_t *pod, bool counted)
{
	if (!counted) {
		pthread_mutex_lock(&jc->lock);
		json_object_set_new(jc->removed, obj_meta_str(pod, "uid") ?: "", json_true());
		pthread_mutex_unlock(&jc->lock);
	}
	cleanup_free char *path = pod_path(pod);
	cleanup_err struct mk_err *err = NULL;
	if (client_delete(jc->c, path, NULL, &err) < 0) {
		if (mk_err_code(err) == MK_ENOTFOUND)
			return 0;
		events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Warning", "FailedDelete",
			    "Error deleting: %s", mk_err_msg(err));
		return -1;
	}
	events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Normal", "SuccessfulDelete",
		    "Deleted pod: %s", obj_meta_str(pod, "name"));
	return 0;
}

static json_t *pod_from_template(const json_t *job)
{
	json_t *tmpl = json_path_get(job, "spec.template");
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:[s]}}", "apiVersion", "v1", "kind",
				"Pod", "metadata", "generateName", "", "namespace",
				obj_meta_str(job, "namespace"), "finalizers", TRACKING_FINALIZER);
	json_t *md = json_object_get(pod, "metadata");
	cleanup_free char *gen = xasprintf("%s-", obj_meta_str(job, "name"));
	json_object_set_new(md, "generateName", json_string(gen));
	json_t *labels = json_path_get(tmpl, "metadata.labels");
	if (json_is_object(labels))
		json_object_set_new(md, "labels", json_deep_copy(labels));
	json_t *ann = json_path_get(tmpl, "metadata.annotations");
	if (json_is_object(ann))
		json_object_set_new(md, "annotations", json_deep_copy(ann));
	json_object_set_new(md, "ownerReferences",
			    json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion", "batch/v1",
				      "kind", "Job", "name", obj_meta_str(job, "name"), "uid",
				      obj_meta_str(job, "uid"), "controller", 1,
				      "blockOwnerDeletion", 1));
	json_t *spec = json_object_get(tmpl, "spec");
	json_object_set_new(pod, "spec", json_is_object(spec) ? json_deep_copy(spec) : json_object());
	return pod;
}

static json_t *find_condition(json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static bool condition_true(json_t *status, const char *type)
{
	json_t *c = find_condition(status, type);
	const char *s = json_string_value(json_object_get(c, "status"));
	return s && !strcmp(s, "True");
}

/* Sets a condition; its lastTransitionTime changes only with its status. */
static void set_condition(json_t *status, const char *type, const char *cstatus,
			  const char *reason, const char *message, const char *now)
{
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	json_t *c = find_condition(status, type);
	if (!c) {
		c = json_object();
		json_array_append_new(conds, c);
		json_object_set_new(c, "type", json_string(type));
	}
	const char *was = json_string_value(json_object_get(c, "status"));
	if (!was || strcmp(was, cstatus)) {
		json_object_set_new(c, "status", json_string(cstatus));
		json_object_set_new(c, "lastTransitionTime", json_string(now));
	}
	json_object_set_new(c, "lastProbeTime", json_string(now));
	json_object_set_new(c, "reason", json_string(reason));
	json_object_set_new(c, "message", json_string(message));
}

/* Writes status (borrowed) of *job; *job becomes the stored object. */
static int write_status(struct job_ctrl *jc, json_t **job, json_t *status, struct mk_err **err)
{
	json_t *r;
	int rc = status_write(jc->c, *job, "batch/v1", "Job", "jobs", status, &r, err);
	if (rc <= 0)
		return rc;
	pthread_mutex_lock(&jc->lock);
	json_object_set_new(jc->written, obj_meta_str(r, "uid") ?: "", json_integer(rv_of(r)));
	pthread_mutex_unlock(&jc->lock);
	json_decref(*job);
	*job = r;
	return 0;
}

static bool uid_in(const json_t *list, const char *uid)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) if (json_is_string(x) && !strcmp(json_string_value(x), uid))
		return true;
	return false;
}

/* The finished pods' accounting (see the top of the file). Moves what is
 * fully accounted into status.succeeded / status.failed; returns how many
 * failures were newly counted, or -1. */
static int account_finished(struct job_ctrl *jc, json_t **job, const json_t *pods,
			    json_t *status, struct mk_err **err)
{
	json_t *unc = json_object_get(status, "uncountedTerminatedPods");
	if (!json_is_object(unc)) {
		unc = json_object();
		json_object_set_new(status, "uncountedTerminatedPods", unc);
	}
	const char *keys[2] = {"succeeded", "failed"};
	json_t *lists[2];
	for (int k = 0; k < 2; k++) {
		lists[k] = json_object_get(unc, keys[k]);
		if (!json_is_array(lists[k])) {
			lists[k] = json_array();
			json_object_set_new(unc, keys[k], lists[k]);
		}
	}
	/* 1: every finished pod still holding its finalizer is recorded */
	cleanup_json json_t *to_strip = json_array();
	bool added = false;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		if (!has_finalizer(pod) || rm_fin_pending(jc, obj_meta_str(pod, "uid")))
			continue;
		int k = pod_succeeded(pod) ? 0 : pod_failed(pod) ? 1 : -1;
		if (k < 0)
			continue;
		const char *uid = obj_meta_str(pod, "uid");
		if (!uid)
			continue;
		pthread_mutex_lock(&jc->lock);
		bool removed = json_object_get(jc->removed, uid) && !pod_is_terminal(pod);
		pthread_mutex_unlock(&jc->lock);
		if (removed) { /* ours to drop, not a failure */
			json_array_append(to_strip, pod);
			continue;
		}
		if (!uid_in(lists[0], uid) && !uid_in(lists[1], uid)) {
			json_array_append_new(lists[k], json_string(uid));
			added = true;
		}
		json_array_append(to_strip, pod);
	}
	if (added) {
		if (write_status(jc, job, status, err) < 0)
			return -1;
	}
	/* 2: their finalizers go */
	cleanup_json json_t *still = json_object(); /* uid -> true: finalizer kept */
	json_array_foreach(to_strip, i, pod)
	{
		cleanup_err struct mk_err *ferr = NULL;
		if (strip_finalizer(jc, pod, &ferr) < 0) {
			log_v(1, "job %s: %s", obj_meta_str(*job, "name"), mk_err_msg(ferr));
			json_object_set_new(still, obj_meta_str(pod, "uid"), json_true());
		} else {
			pthread_mutex_lock(&jc->lock);
			json_object_del(jc->removed, obj_meta_str(pod, "uid") ?: "");
			pthread_mutex_unlock(&jc->lock);
		}
	}
	/* 3: what no longer holds a finalizer is counted */
	int newly_failed = 0;
	for (int k = 0; k < 2; k++) {
		json_t *keep = json_array();
		json_int_t n = json_integer_value(json_object_get(status, keys[k]));
		json_t *x;
		json_array_foreach(lists[k], i, x)
		{
			const char *uid = json_string_value(x);
			if (uid && json_object_get(still, uid)) {
				json_array_append(keep, x);
				continue;
			}
			n++;
			if (k == 1)
				newly_failed++;
		}
		if (n > 0)
			json_object_set_new(status, keys[k], json_integer(n));
		json_object_set_new(unc, keys[k], keep);
		if (!json_array_size(keep))
			json_object_del(unc, keys[k]);
	}
	return newly_failed;
}

/* Every pod of the namespace that job controls. */
static json_t *owned_pods(struct job_ctrl *jc, const json_t *job)
{
	const char *ns = obj_meta_str(job, "namespace");
	const char *uid = obj_meta_str(job, "uid");
	json_t *out = json_array();
	cleanup_json json_t *all = informer_list(jc->pods);
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod)
	{
		const char *pns = obj_meta_str(pod, "namespace");
		const char *cuid = pod_controller_uid(pod);
		if (pns && ns && !strcmp(pns, ns) && cuid && uid && !strcmp(cuid, uid))
			json_array_append(out, pod);
	}
	return out;
}

/* When the finished job (its Complete or Failed condition) is to be deleted:
 * 0 for none. */
static time_t ttl_expiry(const json_t *job)
{
	json_t *ttl = json_path_get(job, "spec.ttlSecondsAfterFinished");
	if (!json_is_integer(ttl))
		return 0;
	json_t *status = json_object_get(job, "status");
	time_t finished = ctrl_parse_time(json_string_value(json_object_get(status, "completionTime")));
	if (!finished) {
		json_t *c = find_condition(status, "Failed");
		if (!c)
			c = find_condition(status, "Complete");
		finished = ctrl_parse_time(json_string_value(json_object_get(c, "lastTransitionTime")));
	}
	if (!finished)
		return 0;
	return finished + (time_t)json_integer_value(ttl);
}

static int sync_finished(struct job_ctrl *jc, const char *key, const json_t *job,
			 const json_t *pods, struct mk_err **err)
{
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		if (!pod_is_terminal(pod) && !pod_deleting(pod))
			delete_pod(jc, job, pod, true);
		else if (has_finalizer(pod) && strip_finalizer(jc, pod, err) < 0)
			return -1;
	}
	time_t expiry = ttl_expiry(job);
	if (!expiry)
		return 0;
	time_t now = time(NULL);
	if (now < expiry) {
		workqueue_add_after(jc->q, key, (uint64_t)(expiry - now) * 1000 + 100);
		return 0;
	}
	/* as upstream's ttl-after-finished controller: foreground, guarded by uid */
	cleanup_json json_t *opts =
		json_pack("{s:s, s:{s:s}}", "propagationPolicy", "Foreground", "preconditions",
			  "uid", obj_meta_str(job, "uid") ?: "");
	cleanup_free char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s",
					    obj_meta_str(job, "namespace"), obj_meta_str(job, "name"));
	cleanup_err struct mk_err *derr = NULL;
	if (client_delete(jc->c, path, opts, &derr) < 0 && mk_err_code(derr) != MK_ENOTFOUND &&
	    mk_err_code(derr) != MK_ECONFLICT) {
		mk_err_set(err, mk_err_code(derr), "deleting finished job: %s", mk_err_msg(derr));
		return -1;
	}
	log_v(2, "Cleaned up finished job %s (ttlSecondsAfterFinished)", key);
	return 0;
}

/* An orphaned tracked pod ("P ns/name"): its job is gone, so is its finalizer. */
static int sync_orphan(struct job_ctrl *jc, const char *pkey, struct mk_err **err)
{
	cleanup_json json_t *pod = informer_get(jc->pods, pkey);
	if (!pod || !has_finalizer(pod))
		return 0;
	cleanup_free char *jkey = owner_key(pod);
	cleanup_json json_t *job = jkey ? informer_get(jc->jobs, jkey) : NULL;
	const char *uid = pod_controller_uid(pod);
	if (job && uid && !strcmp(uid, obj_meta_str(job, "uid") ?: ""))
		return 0; /* the job's own sync accounts for it */
	return strip_finalizer(jc, pod, err);
}

static int64_t spec_int(const json_t *job, const char *field, int64_t dflt)
{
	json_t *v = json_object_get(json_object_get(job, "spec"), field);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static int sync_job(const char *key, void *arg, struct mk_err **err)
{
	struct job_ctrl *jc = arg;
	if (!strncmp(key, "P ", 2))
		return sync_orphan(jc, key + 2, err);
	cleanup_json json_t *job = informer_get(jc->jobs, key);
	if (!job)
		return 0;
	pthread_mutex_lock(&jc->lock);
	long long written = json_integer_value(json_object_get(jc->written, obj_meta_str(job, "uid") ?: ""));
	pthread_mutex_unlock(&jc->lock);
	if (rv_of(job) < written)
		return 0;
	cleanup_json json_t *pods = owned_pods(jc, job);
	size_t i;
	json_t *pod;
	if (json_path_get(job, "metadata.deletionTimestamp")) {
		/* being deleted: the garbage collector removes the pods, which must
		 * not wait for us */
		json_array_foreach(pods, i, pod)
		{
			if (has_finalizer(pod) && strip_finalizer(jc, pod, err) < 0)
				return -1;
		}
		return 0;
	}
	cleanup_json json_t *status = json_deep_copy(json_object_get(job, "status"));
	if (!json_is_object(status)) {
		json_decref(status);
		status = json_object();
	}
	if (condition_true(status, "Complete") || condition_true(status, "Failed"))
		return sync_finished(jc, key, job, pods, err);

	time_t now = time(NULL);
	cleanup_free char *now_s = time_rfc3339(now);
	int newly_failed = account_finished(jc, &job, pods, status, err);
	if (newly_failed < 0)
		return -1;
	const char *uid = obj_meta_str(job, "uid") ?: "";
	time_t last_failure = 0;
	pthread_mutex_lock(&jc->lock);
	if (newly_failed > 0)
		json_object_set_new(jc->last_failure, uid, json_integer(now));
	last_failure = (time_t)json_integer_value(json_object_get(jc->last_failure, uid));
	pthread_mutex_unlock(&jc->lock);

	cleanup_json json_t *active = json_array();
	int64_t ready = 0, terminating = 0;
	json_array_foreach(pods, i, pod)
	{
		if (pod_deleting(pod) && !pod_is_terminal(pod))
			terminating++;
		else if (!pod_is_terminal(pod)) {
			json_array_append(active, pod);
			if (pod_is_ready(pod))
				ready++;
		}
	}
	int64_t succeeded = json_integer_value(json_object_get(status, "succeeded"));
	int64_t failed = json_integer_value(json_object_get(status, "failed"));
	int64_t parallelism = spec_int(job, "parallelism", 1);
	json_t *completions_v = json_path_get(job, "spec.completions");
	bool has_completions = json_is_integer(completions_v);
	int64_t completions = has_completions ? json_integer_value(completions_v) : 0;
	int64_t backoff_limit = spec_int(job, "backoffLimit", 6);
	bool suspended = json_is_true(json_path_get(job, "spec.suspend"));
	int64_t n_active = (int64_t)json_array_size(active);
	uint64_t requeue_ms = 0;

	const char *fail_reason = NULL, *fail_msg = NULL;
	json_t *ads = json_path_get(job, "spec.activeDeadlineSeconds");
	time_t start = ctrl_parse_time(json_string_value(json_object_get(status, "startTime")));
	if (failed > backoff_limit) {
		fail_reason = "BackoffLimitExceeded";
		fail_msg = "Job has reached the specified backoff limit";
	} else if (!suspended && json_is_integer(ads) && start) {
		time_t deadline = start + (time_t)json_integer_value(ads);
		if (now >= deadline) {
			fail_reason = "DeadlineExceeded";
			fail_msg = "Job was active longer than specified deadline";
		} else {
			requeue_ms = (uint64_t)(deadline - now) * 1000 + 100;
		}
	}
	bool success = has_completions ? succeeded >= completions : succeeded > 0;

	if (fail_reason || condition_true(status, "FailureTarget")) {
		json_t *ft = find_condition(status, "FailureTarget");
		if (ft) { /* decided before: keep its reason */
			fail_reason = json_string_value(json_object_get(ft, "reason"));
			fail_msg = json_string_value(json_object_get(ft, "message"));
		}
		cleanup_free char *reason = xstrdup(fail_reason ? fail_reason : "");
		cleanup_free char *msg = xstrdup(fail_msg ? fail_msg : "");
		if (!ft)
			set_condition(status, "FailureTarget", "True", reason, msg, now_s);
		json_array_foreach(active, i, pod) delete_pod(jc, job, pod, true);
		if (n_active == 0 && terminating == 0) {
			set_condition(status, "Failed", "True", reason, msg, now_s);
			events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Warning", reason, "%s",
				    msg);
		}
		n_active = 0;
	} else if (success || condition_true(status, "SuccessCriteriaMet")) {
		if (!condition_true(status, "SuccessCriteriaMet"))
			set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached",
				      "Reached expected number of succeeded pods", now_s);
		json_array_foreach(active, i, pod) delete_pod(jc, job, pod, false);
		if (n_active == 0 && terminating == 0) {
			set_condition(status, "Complete", "True", "CompletionsReached",
				      "Reached expected number of succeeded pods", now_s);
			json_object_set_new(status, "completionTime", json_string(now_s));
			events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Normal", "Completed",
				    "Job completed");
		}
		n_active = 0;
	} else if (suspended) {
		json_array_foreach(active, i, pod) delete_pod(jc, job, pod, false);
		n_active = 0;
		if (!condition_true(status, "Suspended")) {
			set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended",
				      now_s);
			json_object_del(status, "startTime");
			events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Normal", "Suspended",
				    "Job suspended");
		}
	} else {
		if (condition_true(status, "Suspended")) {
			set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now_s);
			json_object_del(status, "startTime");
			events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Normal", "Resumed",
				    "Job resumed");
		}
		if (!json_object_get(status, "startTime")) {
			json_object_set_new(status, "startTime", json_string(now_s));
			if (json_is_integer(ads))
				requeue_ms = (uint64_t)json_integer_value(ads) * 1000 + 100;
		}
		int64_t want = parallelism;
		if (has_completions && completions - succeeded < want)
			want = completions - succeeded;
		if (want < 0)
			want = 0;
		if (!expect_satisfied(jc, uid)) {
			/* pods made by the last sync are not all in the cache yet */
		} else if (n_active < want) {
			int64_t delay = 0;
			if (failed > 0 && last_failure) {
				int64_t d = BACKOFF_BASE_S;
				for (int64_t f = 1; f < failed && d < BACKOFF_MAX_S; f++)
					d *= 2;
				if (d > BACKOFF_MAX_S)
					d = BACKOFF_MAX_S;
				delay = last_failure + d - now;
			}
			if (delay > 0) {
				uint64_t ms = (uint64_t)delay * 1000;
				if (!requeue_ms || ms < requeue_ms)
					requeue_ms = ms;
			} else {
				cleanup_free char *path = xasprintf(
					"/api/v1/namespaces/%s/pods", obj_meta_str(job, "namespace"));
				expect_adds(jc, uid, (int)(want - n_active));
				for (int64_t k = n_active; k < want; k++) {
					cleanup_json json_t *p = pod_from_template(job);
					cleanup_err struct mk_err *cerr = NULL;
					cleanup_json json_t *made = client_create(jc->c, path, p, &cerr);
					if (!made) {
						for (int64_t r = k; r < want; r++)
							expect_observe(jc, uid);
						events_post(jc->c, COMPONENT, "Job", "batch/v1", job,
							    "Warning", "FailedCreate",
							    "Error creating: %s", mk_err_msg(cerr));
						mk_err_set(err, mk_err_code(cerr), "creating pod: %s",
							   mk_err_msg(cerr));
						break;
					}
					n_active++;
					events_post(jc->c, COMPONENT, "Job", "batch/v1", job, "Normal",
						    "SuccessfulCreate", "Created pod: %s",
						    obj_meta_str(made, "name"));
				}
			}
		} else if (n_active > want) {
			/* the newest go first */
			for (int64_t k = 0; k < n_active - want; k++) {
				size_t newest = 0;
				const char *newest_t = "";
				json_array_foreach(active, i, pod)
				{
					const char *t = json_path_str(pod, "metadata.creationTimestamp");
					if (t && strcmp(t, newest_t) >= 0) {
						newest = i;
						newest_t = t;
					}
				}
				if (!json_array_size(active))
					break;
				delete_pod(jc, job, json_array_get(active, newest), false);
				json_array_remove(active, newest);
			}
			n_active = want;
		}
	}
	if (n_active > 0)
		json_object_set_new(status, "active", json_integer(n_active));
	else
		json_object_del(status, "active");
	json_object_set_new(status, "ready", json_integer(n_active ? ready : 0));
	json_object_set_new(status, "terminating", json_integer(terminating));
	cleanup_err struct mk_err *serr = NULL;
	if (write_status(jc, &job, status, &serr) < 0) {
		if (!*err)
			mk_err_set(err, mk_err_code(serr), "updating job status: %s",
				   mk_err_msg(serr));
		return -1;
	}
	if (requeue_ms)
		workqueue_add_after(jc->q, key, requeue_ms);
	return *err ? -1 : 0;
}

int job_controller_start(struct daemon *d, const struct manager_options *o, struct mk_err **err)
{
	struct job_ctrl *jc = xcalloc(1, sizeof(*jc));
	jc->c = daemon_client_new(d, err);
	if (!jc->c)
		return -1;
	jc->q = workqueue_new();
	jc->last_failure = json_object();
	jc->written = json_object();
	jc->expect = json_object();
	jc->removed = json_object();
	jc->rm_fin = json_object();
	pthread_mutex_init(&jc->lock, NULL);
	struct informer_handlers ph = {.on_add = on_pod_add,
				       .on_update = on_pod_update,
				       .on_delete = on_pod_delete,
				       .arg = jc};
	struct informer_handlers jh = {.on_add = on_job_add,
				       .on_update = on_job_update,
				       .on_delete = on_job_delete,
				       .arg = jc};
	jc->pods = manager_informer(d, MGR_PODS, &ph, err);
	jc->jobs = manager_informer(d, MGR_JOBS, &jh, err);
	if (!jc->pods || !jc->jobs)
		return -1;
	return daemon_workers(d, "job", jc->q, (int)o->concurrent_job, sync_job, jc, err);
}
