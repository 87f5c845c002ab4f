/* Deployment controller: owns the ReplicaSets "<deploy>-<pod-template-hash>",
 * scales them step by step as deployment-plan decides (RollingUpdate within
 * maxSurge / maxUnavailable, or Recreate), keeps the revision annotations
 * (a rollback makes an old ReplicaSet the new one with the next revision),
 * trims old ReplicaSets beyond revisionHistoryLimit and writes the status
 * `kubectl rollout status` reads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "deployment-plan.h"
#include "events.h"
#include "log.h"
#include "statuswrite.h"
#include "timefmt.h"
#include "xalloc.h"

#define COMPONENT "deployment-controller"
#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"

struct deploy_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *deploys, *rss;
	pthread_mutex_t lock;
	/* "ns/rs" -> resourceVersion of our last write to it: a sync waits until
	 * the cache is at least that new, so no plan is made from sizes older
	 * than the ones we set ourselves. */
	json_t *written;
};

static void queue_obj(struct deploy_ctrl *dc, const json_t *obj)
{
	cleanup_free char *key = informer_key(obj);
	if (key)
		workqueue_add(dc->q, key);
}

static void on_deploy_add(json_t *d, void *arg)
{
	queue_obj(arg, d);
}

static void on_deploy_update(json_t *old_d, json_t *new_d, void *arg)
{
	(void)old_d;
	queue_obj(arg, new_d);
}

/* Queues the deployment owning rs, or for an orphan every deployment of its
 * namespace that selects it (it may be adopted). */
static void queue_rs_owner(struct deploy_ctrl *dc, const json_t *rs)
{
	json_t *ref = obj_controller_ref(rs);
	const char *ns = obj_meta_str(rs, "namespace");
	if (ref) {
		const char *kind = json_string_value(json_object_get(ref, "kind"));
		const char *name = json_string_value(json_object_get(ref, "name"));
		if (kind && name && !strcmp(kind, "Deployment")) {
			cleanup_free char *key = ctrl_key(ns, name);
			workqueue_add(dc->q, key);
		}
		return;
	}
	json_t *labels = json_object_get(json_object_get(rs, "metadata"), "labels");
	cleanup_json json_t *all = informer_list(dc->deploys);
	size_t i;
	json_t *d;
	json_array_foreach(all, i, d) {
		const char *dns = obj_meta_str(d, "namespace");
		json_t *sel = json_object_get(json_object_get(d, "spec"), "selector");
		if (dns && ns && !strcmp(dns, ns) && !ctrl_selector_empty(sel) &&
		    ctrl_selector_matches(sel, labels))
			queue_obj(dc, d);
	}
}

static void on_rs_add(json_t *rs, void *arg)
{
	queue_rs_owner(arg, rs);
}

static void on_rs_update(json_t *old_rs, json_t *new_rs, void *arg)
{
	queue_rs_owner(arg, old_rs);
	queue_rs_owner(arg, new_rs);
}

static void on_rs_delete(json_t *rs, void *arg)
{
	struct deploy_ctrl *dc = arg;
	cleanup_free char *key = informer_key(rs);
	if (key) {
		pthread_mutex_lock(&dc->lock);
		json_object_del(dc->written, key);
		pthread_mutex_unlock(&dc->lock);
	}
	queue_rs_owner(dc, rs);
}

static char *rs_path(const json_t *rs)
{
	return xasprintf("/apis/apps/v1/namespaces/%s/replicasets/%s",
			 obj_meta_str(rs, "namespace"), obj_meta_str(rs, "name"));
}

static int64_t spec_replicas(const json_t *obj, int64_t dflt)
{
	json_t *r = json_object_get(json_object_get(obj, "spec"), "replicas");
	return json_is_integer(r) ? json_integer_value(r) : dflt;
}

static int cmp_revision(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int64_t rx = deploy_rs_revision(x), ry = deploy_rs_revision(y);
	if (rx != ry)
		return rx < ry ? -1 : 1;
	const char *cx = obj_meta_str(x, "creationTimestamp");
	const char *cy = obj_meta_str(y, "creationTimestamp");
	int c = strcmp(cx ? cx : "", cy ? cy : "");
	if (c)
		return c;
	const char *nx = obj_meta_str(x, "name"), *ny = obj_meta_str(y, "name");
	return strcmp(nx ? nx : "", ny ? ny : "");
}

/* Sorts an array of ReplicaSets oldest revision first. */
static void sort_by_revision(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_revision);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static unsigned long long rv_of(const json_t *obj)
{
	const char *rv = obj_meta_str(obj, "resourceVersion");
	return rv ? strtoull(rv, NULL, 10) : 0;
}

static int patch_rs(struct deploy_ctrl *dc, json_t **rs, json_t *patch, struct mk_err **err)
{
	cleanup_json json_t *p = patch;
	cleanup_free char *path = rs_path(*rs);
	json_t *r = client_patch(dc->c, path, "merge", p, err);
	if (!r)
		return -1;
	cleanup_free char *key = informer_key(r);
	if (key) {
		pthread_mutex_lock(&dc->lock);
		json_object_set_new(dc->written, key, json_integer((json_int_t)rv_of(r)));
		pthread_mutex_unlock(&dc->lock);
	}
	json_decref(*rs);
	*rs = r;
	return 0;
}

/* Adopts orphans the selector matches and releases owned ReplicaSets it no
 * longer matches; returns the owned ones (new array). */
static json_t *claim_replicasets(struct deploy_ctrl *dc, const json_t *d)
{
	const char *ns = obj_meta_str(d, "namespace");
	const char *uid = obj_meta_str(d, "uid");
	json_t *sel = json_object_get(json_object_get(d, "spec"), "selector");
	bool deleting = json_object_get(json_object_get(d, "metadata"), "deletionTimestamp");
	json_t *owned = json_array();
	cleanup_json json_t *all = informer_list(dc->rss);
	size_t i;
	json_t *rs;
	json_array_foreach(all, i, rs) {
		const char *rns = obj_meta_str(rs, "namespace");
		if (!rns || !ns || strcmp(rns, ns))
			continue;
		json_t *labels = json_object_get(json_object_get(rs, "metadata"), "labels");
		bool matches = !ctrl_selector_empty(sel) && ctrl_selector_matches(sel, labels);
		json_t *ref = obj_controller_ref(rs);
		const char *ruid = json_string_value(json_object_get(ref, "uid"));
		json_t *copy = json_deep_copy(rs);
		if (ref) {
			if (!ruid || !uid || strcmp(ruid, uid)) {
				json_decref(copy);
				continue;
			}
			if (!matches && !deleting) {
				json_t *refs = json_array();
				size_t j;
				json_t *r;
				json_array_foreach(json_object_get(json_object_get(rs, "metadata"),
								   "ownerReferences"),
						   j, r) {
					if (r != ref)
						json_array_append(refs, r);
				}
				if (!json_array_size(refs)) {
					json_decref(refs);
					refs = json_null(); /* removes the field */
				}
				cleanup_err struct mk_err *e = NULL;
				patch_rs(dc, &copy,
					 json_pack("{s:{s:o,s:s}}", "metadata", "ownerReferences",
						   refs, "uid", obj_meta_str(rs, "uid")),
					 &e);
				json_decref(copy);
				continue;
			}
		} else {
			if (!matches || deleting ||
			    json_object_get(json_object_get(rs, "metadata"), "deletionTimestamp")) {
				json_decref(copy);
				continue;
			}
			json_t *refs = json_deep_copy(json_object_get(json_object_get(rs, "metadata"),
								      "ownerReferences"));
			if (!json_is_array(refs)) {
				json_decref(refs);
				refs = json_array();
			}
			json_array_append_new(
				refs, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1",
						"kind", "Deployment", "name",
						obj_meta_str(d, "name"), "uid", uid, "controller", 1,
						"blockOwnerDeletion", 1));
			cleanup_err struct mk_err *e = NULL;
			if (patch_rs(dc, &copy,
				     json_pack("{s:{s:o,s:s}}", "metadata", "ownerReferences", refs,
					       "uid", obj_meta_str(rs, "uid")),
				     &e) < 0) {
				log_v(1, "adopting replica set %s/%s: %s", rns,
				      obj_meta_str(rs, "name"), mk_err_msg(e));
				json_decref(copy);
				continue;
			}
		}
		json_array_append_new(owned, copy);
	}
	return owned;
}

static void scale_event(struct deploy_ctrl *dc, const json_t *d, const char *rs_name,
			int64_t from, int64_t to)
{
	events_post(dc->c, COMPONENT, "Deployment", "apps/v1", d, "Normal", "ScalingReplicaSet",
		    "Scaled %s replica set %s from %lld to %lld", to > from ? "up" : "down", rs_name,
		    (long long)from, (long long)to);
}

/* Sets the deployment's revision annotation to rev when it differs. */
static int annotate_deployment(struct deploy_ctrl *dc, json_t **d, int64_t rev,
			       struct mk_err **err)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", (long long)rev);
	json_t *ann = json_object_get(json_object_get(*d, "metadata"), "annotations");
	const char *cur = json_string_value(json_object_get(ann, REVISION_ANNOTATION));
	if (cur && !strcmp(cur, buf))
		return 0;
	cleanup_json json_t *patch =
		json_pack("{s:{s:{s:s}}}", "metadata", "annotations", REVISION_ANNOTATION, buf);
	cleanup_free char *path = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s",
					    obj_meta_str(*d, "namespace"), obj_meta_str(*d, "name"));
	json_t *r = client_patch(dc->c, path, "merge", patch, err);
	if (!r)
		return -1;
	/* go on with the answer, so the status update carries its resourceVersion */
	json_decref(*d);
	*d = r;
	return 0;
}

/* Creates the new ReplicaSet; a name taken by a ReplicaSet with another
 * template bumps status.collisionCount so the next try hashes differently. */
static json_t *create_new_rs(struct deploy_ctrl *dc, const json_t *d, int64_t revision,
			     int64_t replicas, struct mk_err **err)
{
	json_t *tmpl = json_object_get(json_object_get(d, "spec"), "template");
	json_t *cc = json_object_get(json_object_get(d, "status"), "collisionCount");
	int64_t collisions = json_is_integer(cc) ? json_integer_value(cc) : 0;
	cleanup_free char *hash = deploy_template_hash(tmpl, collisions);
	cleanup_json json_t *rs = deploy_new_rs(d, hash, revision, replicas);
	cleanup_free char *coll = xasprintf("/apis/apps/v1/namespaces/%s/replicasets",
					    obj_meta_str(d, "namespace"));
	cleanup_err struct mk_err *cerr = NULL;
	json_t *made = client_create(dc->c, coll, rs, &cerr);
	if (made)
		return made;
	if (mk_err_code(cerr) != MK_EEXISTS) {
		mk_err_set(err, mk_err_code(cerr), "creating replica set: %s", mk_err_msg(cerr));
		return NULL;
	}
	cleanup_free char *path = rs_path(rs);
	json_t *existing = client_get(dc->c, path, err);
	if (!existing)
		return NULL;
	json_t *ref = obj_controller_ref(existing);
	const char *ruid = json_string_value(json_object_get(ref, "uid"));
	const char *uid = obj_meta_str(d, "uid");
	if (ruid && uid && !strcmp(ruid, uid) && deploy_rs_matches(d, existing))
		return existing; /* ours; the informer had not seen it yet */
	json_decref(existing);
	cleanup_json json_t *copy = json_deep_copy(d);
	json_t *st = json_object_get(copy, "status");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(copy, "status", st);
	}
	json_object_set_new(st, "collisionCount", json_integer(collisions + 1));
	json_object_set_new(copy, "apiVersion", json_string("apps/v1"));
	json_object_set_new(copy, "kind", json_string("Deployment"));
	cleanup_free char *spath = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s/status",
					     obj_meta_str(d, "namespace"), obj_meta_str(d, "name"));
	cleanup_json json_t *r = client_update(dc->c, spath, copy, NULL);
	mk_err_set(err, MK_ECONFLICT, "hash collision on replica set %s", obj_meta_str(rs, "name"));
	return NULL;
}

/* Deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
static void cleanup_history(struct deploy_ctrl *dc, const json_t *d, const json_t *old_rss)
{
	json_t *lim = json_object_get(json_object_get(d, "spec"), "revisionHistoryLimit");
	int64_t limit = json_is_integer(lim) ? json_integer_value(lim) : 10;
	cleanup_json json_t *idle = json_array();
	size_t i;
	json_t *rs;
	json_array_foreach(old_rss, i, rs) {
		int64_t running = json_integer_value(
			json_object_get(json_object_get(rs, "status"), "replicas"));
		if (spec_replicas(rs, 0) == 0 && running == 0 &&
		    !json_object_get(json_object_get(rs, "metadata"), "deletionTimestamp"))
			json_array_append(idle, rs);
	}
	int64_t extra = (int64_t)json_array_size(idle) - limit;
	for (int64_t k = 0; k < extra; k++) {
		rs = json_array_get(idle, (size_t)k);
		cleanup_free char *path = rs_path(rs);
		cleanup_err struct mk_err *e = NULL;
		cleanup_json json_t *opts = json_pack("{s:s}", "propagationPolicy", "Background");
		if (client_delete(dc->c, path, opts, &e) < 0 && mk_err_code(e) != MK_ENOTFOUND)
			log_v(1, "deleting old replica set %s: %s", obj_meta_str(rs, "name"),
			      mk_err_msg(e));
		else
			log_v(2, "deleted old replica set %s", obj_meta_str(rs, "name"));
	}
}

static json_t *find_condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

/* progressDeadlineSeconds, as upstream: a rollout that has not moved for
 * that long gets Progressing=False ProgressDeadlineExceeded (which `kubectl
 * rollout status` reports as an error); any change of the counts is
 * progress and restarts the clock. */
static void check_progress(struct deploy_ctrl *dc, const json_t *d, json_t *st,
			   const json_t *new_rs, const char *now)
{
	json_t *cond = find_condition(st, "Progressing");
	const char *reason = json_string_value(json_object_get(cond, "reason"));
	if (!cond || !reason || !strcmp(reason, "NewReplicaSetAvailable"))
		return;
	json_t *pds = json_object_get(json_object_get(d, "spec"), "progressDeadlineSeconds");
	int64_t deadline = json_is_integer(pds) ? json_integer_value(pds) : 600;
	json_t *old = json_object_get(d, "status");
	json_t *old_cond = find_condition(old, "Progressing");
	static const char *const counts[] = {"replicas", "updatedReplicas", "readyReplicas",
					     "availableReplicas"};
	bool moved = false;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (json_integer_value(json_object_get(st, counts[i])) !=
		    json_integer_value(json_object_get(old, counts[i])))
			moved = true;
	}
	const char *old_reason = json_string_value(json_object_get(old_cond, "reason"));
	if (moved) {
		json_object_set_new(cond, "lastUpdateTime", json_string(now));
		json_object_set_new(cond, "status", json_string("True"));
		if (old_reason && !strcmp(old_reason, "ProgressDeadlineExceeded")) {
			json_object_set_new(cond, "lastTransitionTime", json_string(now));
		}
	} else if (old_reason && !strcmp(old_reason, "ProgressDeadlineExceeded")) {
		json_t *arr = json_object_get(st, "conditions");
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (json_array_get(arr, i) == cond)
				json_array_set(arr, i, old_cond);
		return;
	}
	time_t since = ctrl_parse_time(json_string_value(json_object_get(cond, "lastUpdateTime")));
	time_t t = time(NULL);
	if (since && t - since > deadline) {
		json_object_set_new(cond, "status", json_string("False"));
		json_object_set_new(cond, "reason", json_string("ProgressDeadlineExceeded"));
		json_object_set_new(cond, "message",
				    json_sprintf("ReplicaSet \"%s\" has timed out progressing.",
						 new_rs ? obj_meta_str(new_rs, "name") : ""));
		json_object_set_new(cond, "lastUpdateTime", json_string(now));
		json_object_set_new(cond, "lastTransitionTime", json_string(now));
		return;
	}
	if (since) {
		cleanup_free char *key = informer_key(d);
		if (key)
			workqueue_add_after(dc->q, key,
					    (uint64_t)(since + deadline - t + 1) * 1000);
	}
}

static int update_status(struct deploy_ctrl *dc, const json_t *d, const json_t *new_rs,
			 const json_t *old_rss, struct mk_err **err)
{
	cleanup_free char *now = time_now_rfc3339();
	cleanup_json json_t *st = deploy_status(d, new_rs, old_rss, now);
	check_progress(dc, d, st, new_rs, now);
	return status_write(dc->c, d, "apps/v1", "Deployment", "deployments", st, NULL, err) < 0
		       ? -1
		       : 0;
}

/* True if the cache has not yet caught up with one of our writes to rss. */
static bool cache_behind(struct deploy_ctrl *dc, const json_t *rss)
{
	bool behind = false;
	size_t i;
	json_t *rs;
	pthread_mutex_lock(&dc->lock);
	json_array_foreach(rss, i, rs) {
		cleanup_free char *key = informer_key(rs);
		json_t *w = key ? json_object_get(dc->written, key) : NULL;
		if (!w)
			continue;
		if (rv_of(rs) >= (unsigned long long)json_integer_value(w))
			json_object_del(dc->written, key);
		else
			behind = true;
	}
	pthread_mutex_unlock(&dc->lock);
	return behind;
}

static int sync_deploy(const char *key, void *arg, struct mk_err **err)
{
	struct deploy_ctrl *dc = arg;
	cleanup_json json_t *d = informer_get(dc->deploys, key);
	if (!d || json_object_get(json_object_get(d, "metadata"), "deletionTimestamp"))
		return 0;
	json_t *sel = json_object_get(json_object_get(d, "spec"), "selector");
	if (ctrl_selector_empty(sel) || !json_is_object(sel)) {
		events_post(dc->c, COMPONENT, "Deployment", "apps/v1", d, "Warning",
			    "SelectingAll", "This deployment is selecting all pods. A non-empty "
					    "selector is required.");
		return 0;
	}

	cleanup_json json_t *owned = claim_replicasets(dc, d);
	if (cache_behind(dc, owned)) {
		workqueue_add_after(dc->q, key, 100);
		return 0;
	}
	json_t *new_rs = NULL;
	cleanup_json json_t *old_rss = json_array();
	sort_by_revision(owned);
	size_t i;
	json_t *rs;
	/* The newest matching ReplicaSet is the new one (there should be one). */
	json_array_foreach(owned, i, rs) {
		if (deploy_rs_matches(d, rs)) {
			if (new_rs)
				json_array_append_new(old_rss, new_rs);
			new_rs = json_incref(rs);
		} else {
			json_array_append(old_rss, rs);
		}
	}
	sort_by_revision(old_rss);
	int64_t max_old = 0;
	json_array_foreach(old_rss, i, rs) {
		int64_t r = deploy_rs_revision(rs);
		if (r > max_old)
			max_old = r;
	}

	int rc = 0;
	if (new_rs && deploy_rs_revision(new_rs) <= max_old) {
		/* A rollback, or a template that went back: the matching old
		 * ReplicaSet becomes the new one with the next revision. */
		char rev[24];
		snprintf(rev, sizeof(rev), "%lld", (long long)(max_old + 1));
		if (patch_rs(dc, &new_rs,
			     json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
				       REVISION_ANNOTATION, rev),
			     err) < 0) {
			json_decref(new_rs);
			return -1;
		}
	}
	if (new_rs && annotate_deployment(dc, &d, deploy_rs_revision(new_rs), err) < 0) {
		json_decref(new_rs);
		return -1;
	}

	bool paused = json_is_true(json_object_get(json_object_get(d, "spec"), "paused"));
	cleanup_json json_t *plan = paused ? json_object() : deploy_plan(d, new_rs, old_rss);
	const char *name;
	json_t *size;
	json_object_foreach(plan, name, size) {
		int64_t n = json_integer_value(size);
		if (!*name) {
			cleanup_err struct mk_err *cerr = NULL;
			json_t *made = create_new_rs(dc, d, max_old + 1, n, &cerr);
			if (!made) {
				if (!*err)
					mk_err_set(err, mk_err_code(cerr), "%s", mk_err_msg(cerr));
				rc = -1;
				continue;
			}
			json_decref(new_rs);
			new_rs = made;
			if (n > 0)
				scale_event(dc, d, obj_meta_str(made, "name"), 0, n);
			cleanup_err struct mk_err *aerr = NULL;
			annotate_deployment(dc, &d, deploy_rs_revision(made), &aerr);
			continue;
		}
		json_t **target = NULL;
		if (new_rs && !strcmp(obj_meta_str(new_rs, "name"), name)) {
			target = &new_rs;
		} else {
			for (i = 0; i < json_array_size(old_rss); i++) {
				const char *on = obj_meta_str(json_array_get(old_rss, i), "name");
				if (on && !strcmp(on, name))
					break;
			}
			if (i == json_array_size(old_rss))
				continue;
		}
		json_t *obj = target ? *target : json_incref(json_array_get(old_rss, i));
		int64_t from = spec_replicas(obj, 0);
		int64_t want = spec_replicas(d, 1);
		int64_t surge, unavail;
		deploy_resolve_surge(d, &surge, &unavail);
		char desired[24], maxr[24];
		snprintf(desired, sizeof(desired), "%lld", (long long)want);
		snprintf(maxr, sizeof(maxr), "%lld", (long long)(want + surge));
		cleanup_err struct mk_err *perr = NULL;
		if (patch_rs(dc, &obj,
			     json_pack("{s:{s:{s:s,s:s}},s:{s:I}}", "metadata", "annotations",
				       "deployment.kubernetes.io/desired-replicas", desired,
				       "deployment.kubernetes.io/max-replicas", maxr, "spec",
				       "replicas", (json_int_t)n),
			     &perr) < 0) {
			if (!*err)
				mk_err_set(err, mk_err_code(perr), "scaling replica set %s: %s", name,
					   mk_err_msg(perr));
			rc = -1;
		} else {
			scale_event(dc, d, name, from, n);
		}
		if (target)
			*target = obj;
		else
			json_array_set_new(old_rss, i, obj);
	}

	if (!json_object_size(plan) && !paused)
		cleanup_history(dc, d, old_rss);

	cleanup_err struct mk_err *serr = NULL;
	if (update_status(dc, d, new_rs, old_rss, &serr) < 0) {
		if (!*err)
			mk_err_set(err, mk_err_code(serr), "updating status: %s", mk_err_msg(serr));
		rc = -1;
	}
	json_decref(new_rs);
	return rc;
}

int deployment_controller_start(struct daemon *d, const struct manager_options *o,
				struct mk_err **err)
{
	struct deploy_ctrl *dc = xcalloc(1, sizeof(*dc));
	dc->c = daemon_client_new(d, err);
	if (!dc->c)
		return -1;
	dc->q = workqueue_new();
	dc->written = json_object();
	pthread_mutex_init(&dc->lock, NULL);
	struct informer_handlers dh = {
		.on_add = on_deploy_add, .on_update = on_deploy_update, .arg = dc};
	struct informer_handlers rh = {
		.on_add = on_rs_add, .on_update = on_rs_update, .on_delete = on_rs_delete, .arg = dc};
	dc->deploys = manager_informer(d, MGR_DEPLOYMENTS, &dh, err);
	dc->rss = manager_informer(d, MGR_REPLICASETS, &rh, err);
	if (!dc->deploys || !dc->rss)
		return -1;
	return daemon_workers(d, "deployment", dc->q, (int)o->concurrent_deployment, sync_deploy,
			      dc, err);
}
