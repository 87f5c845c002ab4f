/* ReplicaSet controller: keeps spec.replicas active pods per ReplicaSet,
 * adopting matching orphans and releasing pods whose labels stopped matching,
 * and writes the status counts.
 *
 * Expectations: after creating or deleting pods the informer lags behind the
 * API server; until the pod events for what we did arrive (or five minutes
 * pass), a sync only refreshes status and does not count pods again, so a
 * ReplicaSet never gets twice the pods it needs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "events.h"
#include "log.h"
#include "podutil.h"
#include "statuswrite.h"
#include "replicaset-plan.h"
#include "timefmt.h"
#include "xalloc.h"

#define COMPONENT "replicaset-controller"
#define EXPECTATIONS_TTL 300 /* seconds, as upstream */
#define BURST_REPLICAS 500   /* most pods created or deleted in one sync */
#define CREATE_PARALLEL 8    /* pods of a batch created at once, one connection each */

struct rs_ctrl {
	struct client *c;
	/* connections for creating a batch's pods in parallel; a worker takes
	 * the whole pool while it creates (pool_lock) */
	struct client *pool[CREATE_PARALLEL];
	pthread_mutex_t pool_lock;
	struct workqueue *q;
	struct informer *pods, *rss;
	pthread_mutex_t lock;
	/* key -> {"adds": n, "dels": {podkey: true}, "t": time} */
	json_t *expect;
};

static void expect_raise(struct rs_ctrl *rc, const char *key, int adds, const json_t *del_keys)
{
	pthread_mutex_lock(&rc->lock);
	json_t *e = json_pack("{s:i,s:o,s:I}", "adds", adds, "dels", json_object(), "t",
			      (json_int_t)time(NULL));
	size_t i;
	json_t *k;
	json_array_foreach(del_keys, i, k)
		json_object_set_new(json_object_get(e, "dels"), json_string_value(k), json_true());
	json_object_set_new(rc->expect, key, e);
	pthread_mutex_unlock(&rc->lock);
}

static void expect_observe_add(struct rs_ctrl *rc, const char *key)
{
	pthread_mutex_lock(&rc->lock);
	json_t *e = json_object_get(rc->expect, key);
	json_int_t n = json_integer_value(json_object_get(e, "adds"));
	if (e && n > 0)
		json_object_set_new(e, "adds", json_integer(n - 1));
	pthread_mutex_unlock(&rc->lock);
}

static void expect_observe_del(struct rs_ctrl *rc, const char *key, const char *pod_key)
{
	pthread_mutex_lock(&rc->lock);
	json_t *e = json_object_get(rc->expect, key);
	if (e)
		json_object_del(json_object_get(e, "dels"), pod_key);
	pthread_mutex_unlock(&rc->lock);
}

static bool expect_satisfied(struct rs_ctrl *rc, const char *key)
{
	pthread_mutex_lock(&rc->lock);
	json_t *e = json_object_get(rc->expect, key);
	bool ok = !e || (json_integer_value(json_object_get(e, "adds")) <= 0 &&
			 !json_object_size(json_object_get(e, "dels"))) ||
		  time(NULL) - json_integer_value(json_object_get(e, "t")) > EXPECTATIONS_TTL;
	pthread_mutex_unlock(&rc->lock);
	return ok;
}

static void expect_delete(struct rs_ctrl *rc, const char *key)
{
	pthread_mutex_lock(&rc->lock);
	json_object_del(rc->expect, key);
	pthread_mutex_unlock(&rc->lock);
}

/* The ReplicaSet key a pod's controller reference names, or NULL. */
static char *owner_key(const json_t *pod)
{
	json_t *ref = obj_controller_ref(pod);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!kind || strcmp(kind, "ReplicaSet") || !name)
		return NULL;
	return ctrl_key(obj_meta_str(pod, "namespace"), name);
}

/* Queues every ReplicaSet of the pod's namespace that selects it. */
static void queue_selecting(struct rs_ctrl *rc, const json_t *pod)
{
	const char *ns = obj_meta_str(pod, "namespace");
	json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	cleanup_json json_t *all = informer_list(rc->rss);
	size_t i;
	json_t *rs;
	json_array_foreach(all, i, rs) {
		const char *rns = obj_meta_str(rs, "namespace");
		if (!ns || !rns || strcmp(ns, rns))
			continue;
		json_t *sel = json_object_get(json_object_get(rs, "spec"), "selector");
		if (ctrl_selector_empty(sel) || !ctrl_selector_matches(sel, labels))
			continue;
		cleanup_free char *key = informer_key(rs);
		if (key)
			workqueue_add(rc->q, key);
	}
}

static void on_pod_add(json_t *pod, void *arg)
{
	struct rs_ctrl *rc = arg;
	cleanup_free char *key = owner_key(pod);
	if (key) {
		cleanup_free char *pkey = informer_key(pod);
		if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
			expect_observe_del(rc, key, pkey);
		else
			expect_observe_add(rc, key);
		workqueue_add(rc->q, key);
		return;
	}
	if (!obj_controller_ref(pod))
		queue_selecting(rc, pod);
}

static void on_pod_update(json_t *old_pod, json_t *new_pod, void *arg)
{
	struct rs_ctrl *rc = arg;
	cleanup_free char *old_key = owner_key(old_pod);
	cleanup_free char *new_key = owner_key(new_pod);
	if (new_key && json_object_get(json_object_get(new_pod, "metadata"), "deletionTimestamp")) {
		cleanup_free char *pkey = informer_key(new_pod);
		expect_observe_del(rc, new_key, pkey);
	}
	if (old_key && (!new_key || strcmp(old_key, new_key)))
		workqueue_add(rc->q, old_key);
	if (new_key)
		workqueue_add(rc->q, new_key);
	else if (!obj_controller_ref(new_pod))
		queue_selecting(rc, new_pod);
}

static void on_pod_delete(json_t *pod, void *arg)
{
	struct rs_ctrl *rc = arg;
	cleanup_free char *key = owner_key(pod);
	if (!key)
		return;
	cleanup_free char *pkey = informer_key(pod);
	expect_observe_del(rc, key, pkey);
	workqueue_add(rc->q, key);
}

static void on_rs_add(json_t *rs, void *arg)
{
	struct rs_ctrl *rc = arg;
	cleanup_free char *key = informer_key(rs);
	if (key)
		workqueue_add(rc->q, key);
}

static void on_rs_update(json_t *old_rs, json_t *new_rs, void *arg)
{
	(void)old_rs;
	on_rs_add(new_rs, arg);
}

static void on_rs_delete(json_t *rs, void *arg)
{
	struct rs_ctrl *rc = arg;
	cleanup_free char *key = informer_key(rs);
	if (key)
		expect_delete(rc, key);
}

static json_t *owner_ref_to(const json_t *rs)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1", "kind",
			 "ReplicaSet", "name", obj_meta_str(rs, "name"), "uid",
			 obj_meta_str(rs, "uid"), "controller", 1, "blockOwnerDeletion", 1);
}

/* Writes pod's ownerReferences as refs (taken), with the pod's uid as a
 * precondition so a recreated pod of the same name is left alone. */
static int patch_owner_refs(struct rs_ctrl *rc, const json_t *pod, json_t *refs,
			    struct mk_err **err)
{
	if (!json_array_size(refs)) {
		json_decref(refs);
		refs = json_null(); /* removes the field */
	}
	cleanup_json json_t *patch =
		json_pack("{s:{s:o,s:s}}", "metadata", "ownerReferences", refs, "uid",
			  obj_meta_str(pod, "uid") ? obj_meta_str(pod, "uid") : "");
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s",
					    obj_meta_str(pod, "namespace"), obj_meta_str(pod, "name"));
	cleanup_json json_t *r = client_patch(rc->c, path, "merge", patch, err);
	return r ? 0 : -1;
}

static int adopt(struct rs_ctrl *rc, const json_t *rs, const json_t *pod, struct mk_err **err)
{
	json_t *refs = json_deep_copy(json_object_get(json_object_get(pod, "metadata"),
						      "ownerReferences"));
	if (!json_is_array(refs)) {
		json_decref(refs);
		refs = json_array();
	}
	json_array_append_new(refs, owner_ref_to(rs));
	return patch_owner_refs(rc, pod, refs, err);
}

static int release(struct rs_ctrl *rc, const json_t *rs, const json_t *pod, struct mk_err **err)
{
	const char *uid = obj_meta_str(rs, "uid");
	json_t *refs = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i,
			   r) {
		const char *ruid = json_string_value(json_object_get(r, "uid"));
		if (!ruid || !uid || strcmp(ruid, uid))
			json_array_append(refs, r);
	}
	return patch_owner_refs(rc, pod, refs, err);
}

/* One batch of pod creations (victims NULL) or deletions shared by the
 * threads doing them. */
struct create_batch {
	struct rs_ctrl *rc;
	const char *key;
	const json_t *rs;
	const char *path;
	const json_t *victims;
	atomic_int next;
	int n;
	atomic_int failed;
	pthread_mutex_t lock;
	struct mk_err *err; /* the first failure */
};

struct create_thread {
	struct create_batch *b;
	struct client *c;
};

static void batch_fail(struct create_batch *b, const struct mk_err *e, const char *what)
{
	atomic_fetch_add(&b->failed, 1);
	pthread_mutex_lock(&b->lock);
	mk_err_set(&b->err, mk_err_code(e), "%s pod: %s", what, mk_err_msg(e));
	pthread_mutex_unlock(&b->lock);
}

static void delete_one(struct create_thread *t, const json_t *pod)
{
	struct create_batch *b = t->b;
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s",
					    obj_meta_str(pod, "namespace"), obj_meta_str(pod, "name"));
	cleanup_err struct mk_err *derr = NULL;
	if (client_delete(t->c, path, NULL, &derr) < 0) {
		cleanup_free char *pk = informer_key(pod);
		expect_observe_del(b->rc, b->key, pk);
		if (mk_err_code(derr) == MK_ENOTFOUND)
			return;
		events_post(t->c, COMPONENT, "ReplicaSet", "apps/v1", b->rs, "Warning",
			    "FailedDelete", "Error deleting: %s", mk_err_msg(derr));
		batch_fail(b, derr, "deleting");
		return;
	}
	events_post(t->c, COMPONENT, "ReplicaSet", "apps/v1", b->rs, "Normal", "SuccessfulDelete",
		    "Deleted pod: %s", obj_meta_str(pod, "name"));
}

static void create_one(struct create_thread *t)
{
	struct create_batch *b = t->b;
	cleanup_json json_t *pod = rs_pod_from_template(b->rs);
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(t->c, b->path, pod, &cerr);
	if (!made) {
		expect_observe_add(b->rc, b->key);
		events_post(t->c, COMPONENT, "ReplicaSet", "apps/v1", b->rs, "Warning",
			    "FailedCreate", "Error creating: %s", mk_err_msg(cerr));
		batch_fail(b, cerr, "creating");
		return;
	}
	events_post(t->c, COMPONENT, "ReplicaSet", "apps/v1", b->rs, "Normal", "SuccessfulCreate",
		    "Created pod: %s", obj_meta_str(made, "name"));
}

static void *create_main(void *arg)
{
	struct create_thread *t = arg;
	struct create_batch *b = t->b;
	int i;
	while ((i = atomic_fetch_add(&b->next, 1)) < b->n) {
		if (b->victims)
			delete_one(t, json_array_get(b->victims, (size_t)i));
		else
			create_one(t);
	}
	return NULL;
}

/* Runs the batch's n creations or deletions on up to CREATE_PARALLEL
 * connections; returns how many failed. */
static int create_batch_run(struct create_batch *b)
{
	struct rs_ctrl *rc = b->rc;
	int threads = b->n < CREATE_PARALLEL ? b->n : CREATE_PARALLEL;
	struct create_thread ts[CREATE_PARALLEL];
	pthread_t tids[CREATE_PARALLEL];
	bool started[CREATE_PARALLEL] = {false};
	pthread_mutex_lock(&rc->pool_lock);
	for (int i = 0; i < threads; i++) {
		ts[i] = (struct create_thread){.b = b, .c = rc->pool[i] ? rc->pool[i] : rc->c};
		if (i == 0)
			continue; /* the calling thread does its share */
		started[i] = pthread_create(&tids[i], NULL, create_main, &ts[i]) == 0;
	}
	create_main(&ts[0]);
	for (int i = 1; i < threads; i++)
		if (started[i])
			pthread_join(tids[i], NULL);
	pthread_mutex_unlock(&rc->pool_lock);
	return atomic_load(&b->failed);
}

static int create_pods(struct rs_ctrl *rc, const char *key, const json_t *rs, int want,
		       struct mk_err **err)
{
	expect_raise(rc, key, want, NULL);
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods",
					    obj_meta_str(rs, "namespace"));
	int done = 0;
	/* Slow start: batches of 1, 2, 4... so that a failing template (quota,
	 * admission) costs one request, not hundreds. */
	for (int batch = 1; done < want; batch *= 2) {
		struct create_batch b = {
			.rc = rc, .key = key, .rs = rs, .path = path,
			.n = batch < want - done ? batch : want - done,
		};
		atomic_init(&b.next, 0);
		atomic_init(&b.failed, 0);
		pthread_mutex_init(&b.lock, NULL);
		int failed = create_batch_run(&b);
		pthread_mutex_destroy(&b.lock);
		done += b.n;
		if (failed && !*err)
			mk_err_set(err, mk_err_code(b.err), "%s", mk_err_msg(b.err));
		mk_err_free(b.err);
		if (failed) {
			/* the pods never attempted are not expected either */
			for (int i = done; i < want; i++)
				expect_observe_add(rc, key);
			return -1;
		}
	}
	return 0;
}

static int delete_pods(struct rs_ctrl *rc, const char *key, const json_t *rs, json_t *victims,
		       struct mk_err **err)
{
	cleanup_json json_t *keys = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(victims, i, pod) {
		char *pk = informer_key(pod);
		json_array_append_new(keys, json_string(pk));
		free(pk);
	}
	expect_raise(rc, key, 0, keys);
	struct create_batch b = {
		.rc = rc, .key = key, .rs = rs, .victims = victims,
		.n = (int)json_array_size(victims),
	};
	atomic_init(&b.next, 0);
	atomic_init(&b.failed, 0);
	pthread_mutex_init(&b.lock, NULL);
	int failed = create_batch_run(&b);
	pthread_mutex_destroy(&b.lock);
	if (failed && !*err)
		mk_err_set(err, mk_err_code(b.err), "%s", mk_err_msg(b.err));
	mk_err_free(b.err);
	return failed ? -1 : 0;
}

static int update_status(struct rs_ctrl *rc, const json_t *rs, const json_t *active,
			struct mk_err **err)
{
	cleanup_json json_t *st = rs_status(rs, active, time(NULL));
	json_t *old = json_object_get(rs, "status");
	json_t *conds = json_object_get(old, "conditions");
	if (conds)
		json_object_set(st, "conditions", conds);
	return status_write(rc->c, rs, "apps/v1", "ReplicaSet", "replicasets", st, NULL, err) < 0 ? -1 : 0;
}

static int sync_rs(const char *key, void *arg, struct mk_err **err)
{
	struct rs_ctrl *rc = arg;
	cleanup_json json_t *rs = informer_get(rc->rss, key);
	if (!rs) {
		expect_delete(rc, key);
		return 0;
	}
	const char *ns = obj_meta_str(rs, "namespace");
	const char *uid = obj_meta_str(rs, "uid");
	json_t *spec = json_object_get(rs, "spec");
	json_t *sel = json_object_get(spec, "selector");
	bool deleting = json_object_get(json_object_get(rs, "metadata"), "deletionTimestamp");
	bool can_adopt = !deleting && !ctrl_selector_empty(sel);

	cleanup_json json_t *all = informer_list(rc->pods);
	cleanup_json json_t *active = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod) {
		const char *pns = obj_meta_str(pod, "namespace");
		if (!pns || !ns || strcmp(pns, ns))
			continue;
		json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
		bool matches = ctrl_selector_matches(sel, labels);
		const char *cuid = pod_controller_uid(pod);
		if (cuid) {
			if (!uid || strcmp(cuid, uid))
				continue;
			if (!matches && !deleting) {
				cleanup_err struct mk_err *rerr = NULL;
				if (release(rc, rs, pod, &rerr) < 0 &&
				    mk_err_code(rerr) != MK_ENOTFOUND)
					log_v(1, "releasing pod %s/%s: %s", pns,
					      obj_meta_str(pod, "name"), mk_err_msg(rerr));
				continue;
			}
		} else {
			if (!matches || !can_adopt || !pod_is_active(pod))
				continue;
			cleanup_err struct mk_err *aerr = NULL;
			if (adopt(rc, rs, pod, &aerr) < 0) {
				log_v(1, "adopting pod %s/%s: %s", pns, obj_meta_str(pod, "name"),
				      mk_err_msg(aerr));
				continue;
			}
		}
		if (pod_is_active(pod))
			json_array_append(active, pod);
	}

	int rc_ = 0;
	if (!deleting && expect_satisfied(rc, key)) {
		json_t *r = json_object_get(spec, "replicas");
		int64_t want = json_is_integer(r) ? json_integer_value(r) : 1;
		int64_t diff = (int64_t)json_array_size(active) - want;
		if (diff < 0) {
			int n = (int)(-diff > BURST_REPLICAS ? BURST_REPLICAS : -diff);
			log_v(2, "Too few replicas for ReplicaSet %s, need %lld, creating %d", key,
			      (long long)want, n);
			rc_ = create_pods(rc, key, rs, n, err);
		} else if (diff > 0) {
			int n = (int)(diff > BURST_REPLICAS ? BURST_REPLICAS : diff);
			log_v(2, "Too many replicas for ReplicaSet %s, need %lld, deleting %d", key,
			      (long long)want, n);
			cleanup_json json_t *victims = json_deep_copy(active);
			rs_sort_for_deletion(victims);
			while (json_array_size(victims) > (size_t)n)
				json_array_remove(victims, json_array_size(victims) - 1);
			rc_ = delete_pods(rc, key, rs, victims, err);
		}
	}

	cleanup_err struct mk_err *serr = NULL;
	if (update_status(rc, rs, active, &serr) < 0) {
		if (!*err)
			mk_err_set(err, mk_err_code(serr), "updating status: %s", mk_err_msg(serr));
		return -1;
	}
	/* Pods ready but not yet available need another look once
	 * minReadySeconds passed. */
	json_t *mrs = json_object_get(spec, "minReadySeconds");
	if (json_is_integer(mrs) && json_integer_value(mrs) > 0) {
		json_array_foreach(active, i, pod) {
			if (pod_is_ready(pod) &&
			    !pod_is_available(pod, (long)json_integer_value(mrs), time(NULL))) {
				workqueue_add_after(rc->q, key, 1000);
				break;
			}
		}
	}
	return rc_;
}

int replicaset_controller_start(struct daemon *d, const struct manager_options *o,
				struct mk_err **err)
{
	struct rs_ctrl *rc = xcalloc(1, sizeof(*rc));
	rc->c = daemon_client_new(d, err);
	if (!rc->c)
		return -1;
	for (int i = 0; i < CREATE_PARALLEL; i++) {
		rc->pool[i] = daemon_client_new(d, err);
		if (!rc->pool[i])
			return -1;
	}
	pthread_mutex_init(&rc->pool_lock, NULL);
	rc->q = workqueue_new();
	rc->expect = json_object();
	pthread_mutex_init(&rc->lock, NULL);
	struct informer_handlers ph = {.on_add = on_pod_add,
				       .on_update = on_pod_update,
				       .on_delete = on_pod_delete,
				       .arg = rc};
	struct informer_handlers rh = {.on_add = on_rs_add,
				       .on_update = on_rs_update,
				       .on_delete = on_rs_delete,
				       .arg = rc};
	rc->pods = manager_informer(d, MGR_PODS, &ph, err);
	rc->rss = manager_informer(d, MGR_REPLICASETS, &rh, err);
	if (!rc->pods || !rc->rss)
		return -1;
	return daemon_workers(d, "replicaset", rc->q, (int)o->concurrent_replicaset, sync_rs, rc,
			      err);
}
