/* Endpoints controller: one v1 Endpoints per Service with a selector, named
 * like the Service, listing its pods' IPs (ready ones under addresses, the
 * others under notReadyAddresses). The `kubernetes` Service in default is the
 * API server's own. */
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "endpoints-build.h"
#include "log.h"
#include "xalloc.h"

struct ep_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *svcs, *pods, *eps;
};

void ctrl_queue_services_of_pod(struct informer *svcs, struct workqueue *q, const json_t *pod)
{
	const char *ns = obj_meta_str(pod, "namespace");
	cleanup_json json_t *all = informer_list(svcs);
	size_t i;
	json_t *svc;
	json_array_foreach(all, i, svc) {
		const char *sns = obj_meta_str(svc, "namespace");
		if (!ns || !sns || strcmp(ns, sns) || !endpoints_selector_matches(svc, pod))
			continue;
		cleanup_free char *key = informer_key(svc);
		if (key)
			workqueue_add(q, key);
	}
}

bool ctrl_is_apiserver_service(const char *key)
{
	return !strcmp(key, "default/kubernetes");
}

static void on_pod_add(json_t *pod, void *arg)
{
	struct ep_ctrl *ec = arg;
	ctrl_queue_services_of_pod(ec->svcs, ec->q, pod);
}

static void on_pod_update(json_t *old_pod, json_t *new_pod, void *arg)
{
	struct ep_ctrl *ec = arg;
	ctrl_queue_services_of_pod(ec->svcs, ec->q, old_pod);
	ctrl_queue_services_of_pod(ec->svcs, ec->q, new_pod);
}

static void on_svc_add(json_t *svc, void *arg)
{
	struct ep_ctrl *ec = arg;
	cleanup_free char *key = informer_key(svc);
	if (key)
		workqueue_add(ec->q, key);
}

static void on_svc_update(json_t *old_svc, json_t *new_svc, void *arg)
{
	(void)old_svc;
	on_svc_add(new_svc, arg);
}

static void on_ep_delete(json_t *ep, void *arg)
{
	/* someone deleted the Endpoints of a live Service: write it again */
	on_svc_add(ep, arg);
}

/* The pods of namespace ns (new array). */
json_t *ctrl_pods_in(struct informer *pods, const char *ns)
{
	json_t *out = json_array();
	cleanup_json json_t *all = informer_list(pods);
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod) {
		const char *pns = obj_meta_str(pod, "namespace");
		if (pns && ns && !strcmp(pns, ns))
			json_array_append(out, pod);
	}
	return out;
}

static int sync_endpoints(const char *key, void *arg, struct mk_err **err)
{
	struct ep_ctrl *ec = arg;
	if (ctrl_is_apiserver_service(key))
		return 0;
	cleanup_free char *ns = NULL, *name = NULL;
	informer_key_split(key, &ns, &name);
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/endpoints/%s", ns, name);
	cleanup_json json_t *svc = informer_get(ec->svcs, key);
	if (!svc) {
		cleanup_err struct mk_err *derr = NULL;
		if (client_delete(ec->c, path, NULL, &derr) < 0 && mk_err_code(derr) != MK_ENOTFOUND)
			return mk_err_set(err, mk_err_code(derr), "%s", mk_err_msg(derr));
		return 0;
	}
	json_t *sel = json_object_get(json_object_get(svc, "spec"), "selector");
	if (!json_is_object(sel) || !json_object_size(sel))
		return 0; /* endpoints of selector-less Services are the user's */
	cleanup_json json_t *pods = ctrl_pods_in(ec->pods, ns);
	cleanup_json json_t *want = endpoints_build(svc, pods);
	/* as upstream, so that EndpointSlice mirroring leaves managed Endpoints alone */
	json_t *wmeta = json_object_get(want, "metadata");
	if (!json_is_object(json_object_get(wmeta, "labels")))
		json_object_set_new(wmeta, "labels", json_object());
	json_object_set_new(json_object_get(wmeta, "labels"),
			    "endpointslice.kubernetes.io/skip-mirror", json_string("true"));
	cleanup_json json_t *have = informer_get(ec->eps, key);
	if (!have) {
		cleanup_free char *coll = xasprintf("/api/v1/namespaces/%s/endpoints", ns);
		cleanup_err struct mk_err *cerr = NULL;
		cleanup_json json_t *made = client_create(ec->c, coll, want, &cerr);
		if (made || mk_err_code(cerr) == MK_EEXISTS) /* the informer will bring it */
			return 0;
		return mk_err_set(err, mk_err_code(cerr), "creating endpoints: %s", mk_err_msg(cerr));
	}
	json_t *hm = json_object_get(have, "metadata");
	json_t *wm = json_object_get(want, "metadata");
	json_t *subsets = json_object_get(want, "subsets");
	json_t *hsubsets = json_object_get(have, "subsets");
	bool same_subsets = json_equal(subsets ? subsets : json_array(),
				       hsubsets ? hsubsets : json_array());
	bool same_labels = json_equal(json_object_get(hm, "labels") ? json_object_get(hm, "labels")
								     : json_object(),
				      json_object_get(wm, "labels") ? json_object_get(wm, "labels")
								     : json_object());
	if (same_subsets && same_labels)
		return 0;
	cleanup_json json_t *upd = json_deep_copy(have);
	json_object_set_new(upd, "apiVersion", json_string("v1"));
	json_object_set_new(upd, "kind", json_string("Endpoints"));
	if (subsets)
		json_object_set(upd, "subsets", subsets);
	else
		json_object_del(upd, "subsets");
	json_t *labels = json_object_get(wm, "labels");
	if (labels)
		json_object_set(json_object_get(upd, "metadata"), "labels", labels);
	else
		json_object_del(json_object_get(upd, "metadata"), "labels");
	cleanup_json json_t *r = client_update(ec->c, path, upd, err);
	return r ? 0 : -1;
}

int endpoints_controller_start(struct daemon *d, const struct manager_options *o,
			        struct mk_err **err)
{
	struct ep_ctrl *ec = xcalloc(1, sizeof(*ec));
	ec->c = daemon_client_new(d, err);
	if (!ec->c)
		return -1;
	ec->q = workqueue_new();
	struct informer_handlers ph = {
		.on_add = on_pod_add, .on_update = on_pod_update, .on_delete = on_pod_add, .arg = ec};
	struct informer_handlers sh = {
		.on_add = on_svc_add, .on_update = on_svc_update, .on_delete = on_svc_add, .arg = ec};
	struct informer_handlers eh = {.on_delete = on_ep_delete, .arg = ec};
	ec->pods = manager_informer(d, MGR_PODS, &ph, err);
	ec->svcs = manager_informer(d, MGR_SERVICES, &sh, err);
	ec->eps = manager_informer(d, MGR_ENDPOINTS, &eh, err);
	if (!ec->pods || !ec->svcs || !ec->eps)
		return -1;
	return daemon_workers(d, "endpoint", ec->q, (int)o->concurrent_endpoint, sync_endpoints,
			      ec, err);
}
