/* Garbage collector: follows ownerReferences among the kinds controllers
 * create (Deployments, ReplicaSets, Pods, EndpointSlices, Services, Jobs,
 * CronJobs).
 * - A dependent whose owners are all gone (404, or a new object with another
 *   uid under the name) is deleted in the background; dangling references
 *   among live ones are removed.
 * - An owner deleted in the foreground (finalizer foregroundDeletion) has its
 *   dependents deleted first, then the finalizer removed.
 * - An owner deleted with propagation Orphan (finalizer orphan) has its
 *   references stripped from its dependents, then the finalizer removed.
 * Queue keys: "D <res> <ns/name>" checks a dependent, "O <res> <ns/name>"
 * finishes an owner's deletion. */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "log.h"
#include "xalloc.h"

#define RESYNC_MS 30000
#define RECHECK_MS 1000

struct gc_kind {
	enum manager_resource res;
	const char *api_version;
	const char *kind;
	const char *prefix; /* "/api/v1" or "/apis/<group>/<version>" */
	const char *plural;
	bool namespaced;
};

static const struct gc_kind kinds[] = {
	{MGR_PODS, "v1", "Pod", "/api/v1", "pods", true},
	{MGR_REPLICASETS, "apps/v1", "ReplicaSet", "/apis/apps/v1", "replicasets", true},
	{MGR_DEPLOYMENTS, "apps/v1", "Deployment", "/apis/apps/v1", "deployments", true},
	{MGR_ENDPOINTSLICES, "discovery.k8s.io/v1", "EndpointSlice", "/apis/discovery.k8s.io/v1",
	 "endpointslices", true},
	{MGR_SERVICES, "v1", "Service", "/api/v1", "services", true},
	{MGR_NODES, "v1", "Node", "/api/v1", "nodes", false},
	{MGR_JOBS, "batch/v1", "Job", "/apis/batch/v1", "jobs", true},
	{MGR_CRONJOBS, "batch/v1", "CronJob", "/apis/batch/v1", "cronjobs", true},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct gc_ctrl;

/* The handler argument of one kind's informer. */
struct gc_sub {
	struct gc_ctrl *gc;
	size_t kind;
};

struct gc_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *inf[NKINDS];
	struct gc_sub subs[NKINDS];
};

static char *object_path(const struct gc_kind *k, const char *ns, const char *name)
{
	if (k->namespaced)
		return xasprintf("%s/namespaces/%s/%s/%s", k->prefix, ns, k->plural, name);
	return xasprintf("%s/%s/%s", k->prefix, k->plural, name);
}

static const struct gc_kind *kind_of_ref(const json_t *ref, size_t *idx)
{
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *av = json_string_value(json_object_get(ref, "apiVersion"));
	for (size_t i = 0; i < NKINDS; i++) {
		if (kind && av && !strcmp(kinds[i].kind, kind) && !strcmp(kinds[i].api_version, av)) {
			if (idx)
				*idx = i;
			return &kinds[i];
		}
	}
	return NULL;
}

static void queue(struct gc_ctrl *gc, char type, size_t kind, const json_t *obj)
{
	cleanup_free char *key = informer_key(obj);
	if (!key)
		return;
	cleanup_free char *item = xasprintf("%c %zu %s", type, kind, key);
	workqueue_add(gc->q, item);
}

static bool has_finalizer(const json_t *obj, const char *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), f))
			return true;
	}
	return false;
}

static bool refers_to(const json_t *obj, const char *uid)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   r) {
		const char *ruid = json_string_value(json_object_get(r, "uid"));
		if (ruid && uid && !strcmp(ruid, uid))
			return true;
	}
	return false;
}

/* Queues the dependents of owner (by uid) found in every cache. */
static void queue_dependents(struct gc_ctrl *gc, const json_t *owner, char type)
{
	const char *uid = obj_meta_str(owner, "uid");
	if (!uid)
		return;
	for (size_t k = 0; k < NKINDS; k++) {
		cleanup_json json_t *all = informer_list(gc->inf[k]);
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o) {
			if (refers_to(o, uid))
				queue(gc, type, k, o);
		}
	}
}

/* Queues the owners of obj that wait for their dependents to go. */
static void queue_waiting_owners(struct gc_ctrl *gc, const json_t *obj)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   r) {
		size_t k;
		const struct gc_kind *kind = kind_of_ref(r, &k);
		const char *name = json_string_value(json_object_get(r, "name"));
		if (!kind || !name)
			continue;
		cleanup_free char *key =
			ctrl_key(kind->namespaced ? obj_meta_str(obj, "namespace") : NULL, name);
		cleanup_free char *item = xasprintf("O %zu %s", k, key);
		workqueue_add(gc->q, item);
	}
}

static void on_add(json_t *obj, void *arg)
{
	struct gc_sub *s = arg;
	json_t *meta = json_object_get(obj, "metadata");
	if (json_array_size(json_object_get(meta, "ownerReferences")))
		queue(s->gc, 'D', s->kind, obj);
	if (json_object_get(meta, "deletionTimestamp") &&
	    (has_finalizer(obj, "foregroundDeletion") || has_finalizer(obj, "orphan")))
		queue(s->gc, 'O', s->kind, obj);
}

static void on_update(json_t *old_obj, json_t *new_obj, void *arg)
{
	(void)old_obj;
	on_add(new_obj, arg);
}

static void on_delete(json_t *obj, void *arg)
{
	struct gc_sub *s = arg;
	queue_dependents(s->gc, obj, 'D');
	queue_waiting_owners(s->gc, obj);
}

/* 1 if the owner ref of a dependent in namespace ns exists, 0 if not, -1 on
 * error. Unknown kinds count as existing: nothing is deleted on a guess. */
static int owner_exists(struct gc_ctrl *gc, const json_t *ref, const char *ns,
			struct mk_err **err)
{
	size_t k;
	const struct gc_kind *kind = kind_of_ref(ref, &k);
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *uid = json_string_value(json_object_get(ref, "uid"));
	if (!kind || !name || !uid)
		return 1;
	cleanup_free char *key = ctrl_key(kind->namespaced ? ns : NULL, name);
	cleanup_json json_t *cached = informer_get(gc->inf[k], key);
	const char *cuid = obj_meta_str(cached, "uid");
	if (cuid && !strcmp(cuid, uid))
		return 1;
	/* the cache may lag behind a just-created owner: ask the server */
	cleanup_free char *path = object_path(kind, ns, name);
	cleanup_err struct mk_err *gerr = NULL;
	cleanup_json json_t *live = client_get(gc->c, path, &gerr);
	if (!live) {
		if (mk_err_code(gerr) == MK_ENOTFOUND)
			return 0;
		return mk_err_set(err, mk_err_code(gerr), "looking up owner %s: %s", path,
				  mk_err_msg(gerr));
	}
	const char *luid = obj_meta_str(live, "uid");
	return luid && !strcmp(luid, uid);
}

static int patch_refs(struct gc_ctrl *gc, const struct gc_kind *kind, const json_t *obj,
		      json_t *refs, struct mk_err **err)
{
	/* an empty list is removed, as upstream's omitempty field would be */
	if (!json_array_size(refs)) {
		json_decref(refs);
		refs = json_null();
	}
	cleanup_json json_t *patch = json_pack("{s:{s:o,s:s}}", "metadata", "ownerReferences",
					       refs, "uid", obj_meta_str(obj, "uid"));
	cleanup_free char *path =
		object_path(kind, obj_meta_str(obj, "namespace"), obj_meta_str(obj, "name"));
	cleanup_err struct mk_err *perr = NULL;
	cleanup_json json_t *r = client_patch(gc->c, path, "merge", patch, &perr);
	if (r || mk_err_code(perr) == MK_ENOTFOUND)
		return 0;
	return mk_err_set(err, mk_err_code(perr), "%s", mk_err_msg(perr));
}

static int delete_object(struct gc_ctrl *gc, const struct gc_kind *kind, const json_t *obj,
			 const char *policy, struct mk_err **err)
{
	cleanup_json json_t *opts = json_pack("{s:s,s:{s:s}}", "propagationPolicy", policy,
					      "preconditions", "uid", obj_meta_str(obj, "uid"));
	cleanup_free char *path =
		object_path(kind, obj_meta_str(obj, "namespace"), obj_meta_str(obj, "name"));
	cleanup_err struct mk_err *derr = NULL;
	if (client_delete(gc->c, path, opts, &derr) == 0) {
		log_v(2, "garbage collector: deleted %s %s (%s)", kind->kind, path, policy);
		return 0;
	}
	if (mk_err_code(derr) == MK_ENOTFOUND || mk_err_code(derr) == MK_ECONFLICT)
		return 0;
	return mk_err_set(err, mk_err_code(derr), "deleting %s: %s", path, mk_err_msg(derr));
}

/* The ownerReferences of obj whose owners exist (new array), or NULL. */
static json_t *live_refs(struct gc_ctrl *gc, const json_t *obj, struct mk_err **err)
{
	json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
	const char *ns = obj_meta_str(obj, "namespace");
	json_t *alive = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r) {
		int e = owner_exists(gc, r, ns, err);
		if (e < 0) {
			json_decref(alive);
			return NULL;
		}
		if (e)
			json_array_append(alive, r);
	}
	return alive;
}

static int sync_dependent(struct gc_ctrl *gc, size_t k, const char *key, struct mk_err **err)
{
	cleanup_json json_t *cached = informer_get(gc->inf[k], key);
	if (!cached ||
	    !json_array_size(json_object_get(json_object_get(cached, "metadata"), "ownerReferences")))
		return 0;
	cleanup_json json_t *alive = live_refs(gc, cached, err);
	if (!alive)
		return -1;
	json_t *refs = json_object_get(json_object_get(cached, "metadata"), "ownerReferences");
	if (json_array_size(alive) == json_array_size(refs))
		return 0;
	/* Decide on the object as it is now, not as the cache last saw it: an
	 * orphaning owner may have just had its reference removed. */
	const struct gc_kind *kind = &kinds[k];
	cleanup_free char *path =
		object_path(kind, obj_meta_str(cached, "namespace"), obj_meta_str(cached, "name"));
	cleanup_err struct mk_err *gerr = NULL;
	cleanup_json json_t *obj = client_get(gc->c, path, &gerr);
	if (!obj) {
		if (mk_err_code(gerr) == MK_ENOTFOUND)
			return 0;
		return mk_err_set(err, mk_err_code(gerr), "%s", mk_err_msg(gerr));
	}
	refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
	json_decref(alive);
	alive = live_refs(gc, obj, err);
	if (!alive)
		return -1;
	if (!json_array_size(refs) || json_array_size(alive) == json_array_size(refs))
		return 0;
	if (!json_array_size(alive)) {
		if (json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp"))
			return 0;
		return delete_object(gc, kind, obj, "Background", err);
	}
	return patch_refs(gc, kind, obj, json_incref(alive), err);
}

static int remove_finalizer(struct gc_ctrl *gc, const struct gc_kind *kind, const json_t *obj,
			    const char *fin, struct mk_err **err)
{
	json_t *kept = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f) {
		if (!json_is_string(f) || strcmp(json_string_value(f), fin))
			json_array_append(kept, f);
	}
	cleanup_json json_t *patch =
		json_pack("{s:{s:o,s:s,s:s}}", "metadata", "finalizers", kept, "uid",
			  obj_meta_str(obj, "uid"), "resourceVersion",
			  obj_meta_str(obj, "resourceVersion") ? obj_meta_str(obj, "resourceVersion")
								: "");
	cleanup_free char *path =
		object_path(kind, obj_meta_str(obj, "namespace"), obj_meta_str(obj, "name"));
	cleanup_err struct mk_err *perr = NULL;
	cleanup_json json_t *r = client_patch(gc->c, path, "merge", patch, &perr);
	if (r || mk_err_code(perr) == MK_ENOTFOUND)
		return 0;
	return mk_err_set(err, mk_err_code(perr), "removing finalizer %s from %s: %s", fin, path,
			  mk_err_msg(perr));
}

/* The dependents of uid in every cache: new array of [kind index, object]. */
static json_t *dependents_of(struct gc_ctrl *gc, const char *uid)
{
	json_t *out = json_array();
	for (size_t k = 0; k < NKINDS; k++) {
		cleanup_json json_t *all = informer_list(gc->inf[k]);
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o) {
			if (refers_to(o, uid))
				json_array_append_new(out, json_pack("[I,O]", (json_int_t)k, o));
		}
	}
	return out;
}

static int sync_owner(struct gc_ctrl *gc, size_t k, const char *key, struct mk_err **err)
{
	cleanup_json json_t *obj = informer_get(gc->inf[k], key);
	if (!obj || !json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp"))
		return 0;
	const char *uid = obj_meta_str(obj, "uid");
	cleanup_json json_t *deps = dependents_of(gc, uid);
	size_t i;
	json_t *d;
	if (has_finalizer(obj, "orphan")) {
		json_array_foreach(deps, i, d) {
			size_t dk = (size_t)json_integer_value(json_array_get(d, 0));
			json_t *dep = json_array_get(d, 1);
			json_t *refs = json_array();
			size_t j;
			json_t *r;
			json_array_foreach(json_object_get(json_object_get(dep, "metadata"),
							   "ownerReferences"),
					   j, r) {
				const char *ruid = json_string_value(json_object_get(r, "uid"));
				if (!ruid || strcmp(ruid, uid))
					json_array_append(refs, r);
			}
			if (patch_refs(gc, &kinds[dk], dep, refs, err) < 0)
				return -1;
		}
		return remove_finalizer(gc, &kinds[k], obj, "orphan", err);
	}
	if (!has_finalizer(obj, "foregroundDeletion"))
		return 0;
	json_array_foreach(deps, i, d) {
		size_t dk = (size_t)json_integer_value(json_array_get(d, 0));
		json_t *dep = json_array_get(d, 1);
		if (json_object_get(json_object_get(dep, "metadata"), "deletionTimestamp"))
			continue;
		if (delete_object(gc, &kinds[dk], dep, "Foreground", err) < 0)
			return -1;
	}
	if (json_array_size(deps)) {
		cleanup_free char *item = xasprintf("O %zu %s", k, key);
		workqueue_add_after(gc->q, item, RECHECK_MS);
		return 0;
	}
	return remove_finalizer(gc, &kinds[k], obj, "foregroundDeletion", err);
}

static int sync_item(const char *item, void *arg, struct mk_err **err)
{
	struct gc_ctrl *gc = arg;
	char type;
	size_t k;
	int off = 0;
	if (sscanf(item, "%c %zu %n", &type, &k, &off) < 2 || k >= NKINDS || !off)
		return 0;
	const char *key = item + off;
	return type == 'O' ? sync_owner(gc, k, key, err) : sync_dependent(gc, k, key, err);
}

/* Every RESYNC_MS, every object with owners is checked again: a missed event
 * (a watch gap, an owner deleted while we were not leading) still ends up
 * collected. */
static void resync(void *arg)
{
	struct gc_ctrl *gc = arg;
	for (size_t k = 0; k < NKINDS; k++) {
		cleanup_json json_t *all = informer_list(gc->inf[k]);
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o)
			on_add(o, &gc->subs[k]);
	}
}

int gc_controller_start(struct daemon *d, const struct manager_options *o,
			struct mk_err **err)
{
	struct gc_ctrl *gc = xcalloc(1, sizeof(*gc));
	gc->c = daemon_client_new(d, err);
	if (!gc->c)
		return -1;
	gc->q = workqueue_new();
	for (size_t k = 0; k < NKINDS; k++) {
		gc->subs[k] = (struct gc_sub){.gc = gc, .kind = k};
		struct informer_handlers h = {.on_add = on_add,
					      .on_update = on_update,
					      .on_delete = on_delete,
					      .arg = &gc->subs[k]};
		gc->inf[k] = manager_informer(d, kinds[k].res, &h, err);
		if (!gc->inf[k])
			return -1;
	}
	if (daemon_workers(d, "garbagecollector", gc->q, (int)o->concurrent_gc, sync_item, gc,
			   err) < 0)
		return -1;
	return daemon_every(d, "garbagecollector-resync", RESYNC_MS, false, resync, gc, err);
}
