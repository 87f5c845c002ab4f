/* Namespace controller: a namespace being deleted (deletionTimestamp set,
 * phase Terminating) is emptied through the API, every namespaced resource
 * the server's discovery lists, then its "kubernetes" finalizer is removed
 * through the finalize subresource so that the server lets it go. */
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "log.h"
#include "xalloc.h"

#define FINALIZER "kubernetes"
#define RECHECK_MS 1000

struct ns_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *nss;
};

static void on_ns(json_t *ns, void *arg)
{
	struct ns_ctrl *nc = arg;
	if (!json_object_get(json_object_get(ns, "metadata"), "deletionTimestamp"))
		return;
	const char *name = obj_meta_str(ns, "name");
	if (name)
		workqueue_add(nc->q, name);
}

static void on_ns_update(json_t *old_ns, json_t *new_ns, void *arg)
{
	(void)old_ns;
	on_ns(new_ns, arg);
}

static bool has_verb(const json_t *res, const char *verb)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(res, "verbs"), i, v) {
		if (json_is_string(v) && !strcmp(json_string_value(v), verb))
			return true;
	}
	return false;
}

/* Adds "<prefix>/namespaces/%s/<resource>" templates (as prefix + plural
 * pairs) of every namespaced, listable, deletable resource of list. */
static void add_resources(json_t *out, const char *prefix, const json_t *list)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		if (!name || strchr(name, '/') || !json_is_true(json_object_get(r, "namespaced")) ||
		    !has_verb(r, "list") || !has_verb(r, "delete"))
			continue;
		json_array_append_new(out, json_pack("[s,s]", prefix, name));
	}
}

/* [[prefix, plural], ...] of the namespaced resources the server serves. */
static json_t *discover(struct ns_ctrl *nc, struct mk_err **err)
{
	cleanup_json json_t *core = client_get(nc->c, "/api/v1", err);
	if (!core)
		return NULL;
	json_t *out = json_array();
	add_resources(out, "/api/v1", core);
	cleanup_json json_t *groups = client_get(nc->c, "/apis", err);
	if (!groups) {
		json_decref(out);
		return NULL;
	}
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(groups, "groups"), i, g) {
		const char *gv = json_string_value(
			json_object_get(json_object_get(g, "preferredVersion"), "groupVersion"));
		if (!gv)
			continue;
		cleanup_free char *prefix = xasprintf("/apis/%s", gv);
		cleanup_err struct mk_err *gerr = NULL;
		cleanup_json json_t *list = client_get(nc->c, prefix, &gerr);
		if (!list) {
			log_v(1, "namespace controller: discovery of %s: %s", gv, mk_err_msg(gerr));
			continue;
		}
		add_resources(out, prefix, list);
	}
	return out;
}

/* Deletes what is left of ns/resource; returns how many objects remain
 * (being deleted included), or -1. */
static int empty_resource(struct ns_ctrl *nc, const char *ns, const char *prefix,
			  const char *plural, struct mk_err **err)
{
	cleanup_free char *coll = xasprintf("%s/namespaces/%s/%s", prefix, ns, plural);
	cleanup_err struct mk_err *lerr = NULL;
	cleanup_json json_t *list = client_list(nc->c, coll, NULL, NULL, &lerr);
	if (!list) {
		if (mk_err_code(lerr) == MK_ENOTFOUND || mk_err_code(lerr) == MK_EUNSUPPORTED)
			return 0;
		return mk_err_set(err, mk_err_code(lerr), "listing %s in %s: %s", plural, ns,
				  mk_err_msg(lerr));
	}
	int left = 0;
	size_t i;
	json_t *o;
	cleanup_json json_t *opts = json_pack("{s:s}", "propagationPolicy", "Background");
	json_array_foreach(json_object_get(list, "items"), i, o) {
		left++;
		if (json_object_get(json_object_get(o, "metadata"), "deletionTimestamp"))
			continue;
		cleanup_free char *path = xasprintf("%s/%s", coll, obj_meta_str(o, "name"));
		cleanup_err struct mk_err *derr = NULL;
		if (client_delete(nc->c, path, opts, &derr) < 0 && mk_err_code(derr) != MK_ENOTFOUND)
			log_v(1, "namespace controller: deleting %s: %s", path, mk_err_msg(derr));
	}
	return left;
}

static int finalize(struct ns_ctrl *nc, const json_t *ns, struct mk_err **err)
{
	const char *name = obj_meta_str(ns, "name");
	cleanup_json json_t *copy = json_deep_copy(ns);
	json_object_set_new(copy, "apiVersion", json_string("v1"));
	json_object_set_new(copy, "kind", json_string("Namespace"));
	json_t *spec = json_object_get(copy, "spec");
	json_t *fins = json_object_get(spec, "finalizers");
	json_t *kept = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(fins, i, f) {
		if (!json_is_string(f) || strcmp(json_string_value(f), FINALIZER))
			json_array_append(kept, f);
	}
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(copy, "spec", spec);
	}
	json_object_set_new(spec, "finalizers", kept);
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/finalize", name);
	cleanup_err struct mk_err *ferr = NULL;
	cleanup_json json_t *r = client_update(nc->c, path, copy, &ferr);
	if (r)
		return 0;
	if (mk_err_code(ferr) != MK_ENOTFOUND && mk_err_code(ferr) != MK_EUNSUPPORTED)
		return mk_err_set(err, mk_err_code(ferr), "finalizing namespace %s: %s", name,
				  mk_err_msg(ferr));
	/* a server without the subresource: the same change through an update */
	cleanup_free char *npath = xasprintf("/api/v1/namespaces/%s", name);
	cleanup_err struct mk_err *uerr = NULL;
	cleanup_json json_t *u = client_update(nc->c, npath, copy, &uerr);
	if (u || mk_err_code(uerr) == MK_ENOTFOUND)
		return 0;
	return mk_err_set(err, mk_err_code(uerr), "finalizing namespace %s: %s", name,
			  mk_err_msg(uerr));
}

static int sync_ns(const char *key, void *arg, struct mk_err **err)
{
	struct ns_ctrl *nc = arg;
	cleanup_json json_t *ns = informer_get(nc->nss, key);
	if (!ns || !json_object_get(json_object_get(ns, "metadata"), "deletionTimestamp"))
		return 0;
	bool ours = false;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(json_object_get(ns, "spec"), "finalizers"), i, f) {
		if (json_is_string(f) && !strcmp(json_string_value(f), FINALIZER))
			ours = true;
	}
	if (!ours)
		return 0;
	cleanup_json json_t *resources = discover(nc, err);
	if (!resources)
		return -1;
	int left = 0;
	json_t *r;
	json_array_foreach(resources, i, r) {
		int n = empty_resource(nc, key, json_string_value(json_array_get(r, 0)),
				       json_string_value(json_array_get(r, 1)), err);
		if (n < 0)
			return -1;
		left += n;
	}
	if (left > 0) {
		log_v(2, "namespace %s: %d objects left", key, left);
		workqueue_add_after(nc->q, key, RECHECK_MS);
		return 0;
	}
	log_v(2, "namespace %s is empty, finalizing", key);
	return finalize(nc, ns, err);
}

int namespace_controller_start(struct daemon *d, const struct manager_options *o,
			        struct mk_err **err)
{
	struct ns_ctrl *nc = xcalloc(1, sizeof(*nc));
	nc->c = daemon_client_new(d, err);
	if (!nc->c)
		return -1;
	nc->q = workqueue_new();
	struct informer_handlers h = {.on_add = on_ns, .on_update = on_ns_update, .arg = nc};
	nc->nss = manager_informer(d, MGR_NAMESPACES, &h, err);
	if (!nc->nss)
		return -1;
	return daemon_workers(d, "namespace", nc->q, (int)o->concurrent_namespace, sync_ns, nc,
			      err);
}
