/* EndpointSlice controller: discovery.k8s.io/v1 EndpointSlices (IPv4) of at
 * most 100 endpoints (ordered by address) for every Service with a selector,
 * named "<svc>-xxxxx", labelled with the Service name and this controller as
 * manager, owned by the Service.
 *
 * A slice just created may not be in the informer's cache at the next sync;
 * its name is remembered until the cache shows it, so a Service never gets
 * extra slices because of the lag. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "endpoints-build.h"
#include "log.h"
#include "xalloc.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define MANAGED_BY_LABEL "endpointslice.kubernetes.io/managed-by"
#define MANAGED_BY "endpointslice-controller.k8s.io"
#define MAX_ENDPOINTS 100 /* upstream's --max-endpoints-per-slice default */

struct eps_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *svcs, *pods, *slices;
	pthread_mutex_t lock;
	json_t *created; /* service key -> [names of slices created, not yet cached] */
};

static void queue_key(struct eps_ctrl *ec, const json_t *svc)
{
	cleanup_free char *key = informer_key(svc);
	if (key)
		workqueue_add(ec->q, key);
}

static void on_pod_add(json_t *pod, void *arg)
{
	struct eps_ctrl *ec = arg;
	ctrl_queue_services_of_pod(ec->svcs, ec->q, pod);
}

static void on_pod_update(json_t *old_pod, json_t *new_pod, void *arg)
{
	struct eps_ctrl *ec = arg;
	ctrl_queue_services_of_pod(ec->svcs, ec->q, old_pod);
	ctrl_queue_services_of_pod(ec->svcs, ec->q, new_pod);
}

static void on_svc_add(json_t *svc, void *arg)
{
	queue_key(arg, svc);
}

static void on_svc_update(json_t *old_svc, json_t *new_svc, void *arg)
{
	(void)old_svc;
	queue_key(arg, new_svc);
}

static bool ours(const json_t *slice, const char *ns, const char *svc)
{
	json_t *labels = json_object_get(json_object_get(slice, "metadata"), "labels");
	const char *sn = json_string_value(json_object_get(labels, SERVICE_NAME_LABEL));
	const char *mb = json_string_value(json_object_get(labels, MANAGED_BY_LABEL));
	const char *sns = obj_meta_str(slice, "namespace");
	return sn && mb && sns && !strcmp(sn, svc) && !strcmp(mb, MANAGED_BY) && !strcmp(sns, ns);
}

static void on_slice_event(json_t *slice, void *arg)
{
	struct eps_ctrl *ec = arg;
	json_t *labels = json_object_get(json_object_get(slice, "metadata"), "labels");
	const char *sn = json_string_value(json_object_get(labels, SERVICE_NAME_LABEL));
	const char *mb = json_string_value(json_object_get(labels, MANAGED_BY_LABEL));
	if (!sn || !mb || strcmp(mb, MANAGED_BY))
		return;
	cleanup_free char *key = ctrl_key(obj_meta_str(slice, "namespace"), sn);
	workqueue_add(ec->q, key);
}

static void on_slice_update(json_t *old_slice, json_t *new_slice, void *arg)
{
	(void)old_slice;
	on_slice_event(new_slice, arg);
}

static int cmp_slice_name(const void *x, const void *y)
{
	const char *a = obj_meta_str(*(json_t *const *)x, "name");
	const char *b = obj_meta_str(*(json_t *const *)y, "name");
	return strcmp(a ? a : "", b ? b : "");
}

/* Sorts an array of objects by name, so a Service's slices are reused in a
 * stable order. */
static void sort_by_name(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_slice_name);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* The slices of service ns/name (new array, by name), from the cache and,
 * for ones just created that it does not show yet, from the API server. */
static json_t *find_slices(struct eps_ctrl *ec, const char *key, const char *ns, const char *name)
{
	json_t *out = json_array();
	cleanup_json json_t *all = informer_list(ec->slices);
	size_t i;
	json_t *s;
	json_array_foreach(all, i, s) {
		if (ours(s, ns, name))
			json_array_append(out, s);
	}
	pthread_mutex_lock(&ec->lock);
	cleanup_json json_t *pending = json_deep_copy(json_object_get(ec->created, key));
	pthread_mutex_unlock(&ec->lock);
	json_t *p;
	json_array_foreach(pending, i, p) {
		const char *pname = json_string_value(p);
		bool cached = false;
		size_t j;
		json_array_foreach(out, j, s) {
			const char *sn = obj_meta_str(s, "name");
			if (sn && pname && !strcmp(sn, pname))
				cached = true;
		}
		json_t *got = NULL;
		if (!cached) {
			cleanup_free char *path = xasprintf(
				"/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, pname);
			got = client_get(ec->c, path, NULL);
		}
		if (got) {
			json_array_append_new(out, got);
			continue;
		}
		/* cached now (or gone): no need to remember it */
		pthread_mutex_lock(&ec->lock);
		json_t *names = json_object_get(ec->created, key);
		for (size_t k = json_array_size(names); k-- > 0;) {
			const char *n = json_string_value(json_array_get(names, k));
			if (n && pname && !strcmp(n, pname))
				json_array_remove(names, k);
		}
		if (names && !json_array_size(names))
			json_object_del(ec->created, key);
		pthread_mutex_unlock(&ec->lock);
	}
	sort_by_name(out);
	return out;
}

static void remember_created(struct eps_ctrl *ec, const char *key, const json_t *made)
{
	pthread_mutex_lock(&ec->lock);
	json_t *names = json_object_get(ec->created, key);
	if (!names) {
		names = json_array();
		json_object_set_new(ec->created, key, names);
	}
	json_array_append(names, json_object_get(json_object_get(made, "metadata"), "name"));
	pthread_mutex_unlock(&ec->lock);
}

static int cmp_endpoint(const void *x, const void *y)
{
	const char *a = json_string_value(
		json_array_get(json_object_get(*(json_t *const *)x, "addresses"), 0));
	const char *b = json_string_value(
		json_array_get(json_object_get(*(json_t *const *)y, "addresses"), 0));
	return strcmp(a ? a : "", b ? b : "");
}

/* The endpoints cut into chunks of at most MAX_ENDPOINTS (at least one,
 * maybe empty), ordered by address so that pods keep their slice. New array
 * of arrays. */
static json_t *chunk_endpoints(const json_t *endpoints)
{
	size_t n = json_array_size(endpoints);
	json_t **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(endpoints, i);
	qsort(v, n, sizeof(*v), cmp_endpoint);
	json_t *chunks = json_array();
	json_t *cur = json_array();
	json_array_append_new(chunks, cur);
	for (size_t i = 0; i < n; i++) {
		if (json_array_size(cur) == MAX_ENDPOINTS) {
			cur = json_array();
			json_array_append_new(chunks, cur);
		}
		json_array_append(cur, v[i]);
	}
	free(v);
	return chunks;
}

static char *slice_path(const char *ns, const char *name)
{
	return xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, name);
}

static json_t *slice_labels(const json_t *svc, const char *name)
{
	json_t *labels = json_deep_copy(json_object_get(json_object_get(svc, "metadata"), "labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, SERVICE_NAME_LABEL, json_string(name));
	json_object_set_new(labels, MANAGED_BY_LABEL, json_string(MANAGED_BY));
	return labels;
}

static int write_slice(struct eps_ctrl *ec, const char *key, const json_t *svc, const char *ns,
		       const char *name, const json_t *have, json_t *endpoints, json_t *ports,
		       json_t *labels, struct mk_err **err)
{
	if (!have) {
		cleanup_free char *gen = xasprintf("%s-", name);
		cleanup_json json_t *slice = json_pack(
			"{s:s,s:s,s:{s:s,s:s,s:O,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},s:s,s:O,s:O}",
			"apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
			"generateName", gen, "namespace", ns, "labels", labels, "ownerReferences",
			"apiVersion", "v1", "kind", "Service", "name", name, "uid",
			obj_meta_str(svc, "uid"), "controller", 1, "blockOwnerDeletion", 1,
			"addressType", "IPv4", "endpoints", endpoints, "ports", ports);
		cleanup_free char *coll =
			xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
		cleanup_json json_t *made = client_create(ec->c, coll, slice, err);
		if (!made)
			return -1;
		remember_created(ec, key, made);
		return 0;
	}
	json_t *hm = json_object_get(have, "metadata");
	json_t *he = json_object_get(have, "endpoints");
	json_t *hp = json_object_get(have, "ports");
	if (json_equal(he ? he : json_array(), endpoints) &&
	    json_equal(hp ? hp : json_array(), ports) &&
	    json_equal(json_object_get(hm, "labels"), labels))
		return 0;
	cleanup_json json_t *upd = json_deep_copy(have);
	json_object_set_new(upd, "apiVersion", json_string("discovery.k8s.io/v1"));
	json_object_set_new(upd, "kind", json_string("EndpointSlice"));
	json_object_set(upd, "endpoints", endpoints);
	json_object_set(upd, "ports", ports);
	json_object_set(json_object_get(upd, "metadata"), "labels", labels);
	cleanup_free char *path = slice_path(ns, obj_meta_str(have, "name"));
	cleanup_json json_t *r = client_update(ec->c, path, upd, err);
	return r ? 0 : -1;
}

static int sync_slices(const char *key, void *arg, struct mk_err **err)
{
	struct eps_ctrl *ec = arg;
	if (ctrl_is_apiserver_service(key))
		return 0;
	cleanup_free char *ns = NULL, *name = NULL;
	informer_key_split(key, &ns, &name);
	cleanup_json json_t *svc = informer_get(ec->svcs, key);
	cleanup_json json_t *slices = find_slices(ec, key, ns, name);
	json_t *sel = json_object_get(json_object_get(svc, "spec"), "selector");
	cleanup_json json_t *chunks = NULL;
	cleanup_json json_t *built = NULL;
	size_t keep = 0;
	if (svc && json_is_object(sel) && json_object_size(sel)) {
		cleanup_json json_t *pods = ctrl_pods_in(ec->pods, ns);
		built = endpointslice_build(svc, pods);
		chunks = chunk_endpoints(json_object_get(built, "endpoints"));
		keep = json_array_size(chunks);
	}
	int rc = 0;
	/* extra slices (and all of them once the Service is gone) */
	for (size_t i = keep; i < json_array_size(slices); i++) {
		json_t *s = json_array_get(slices, i);
		cleanup_free char *path = slice_path(ns, obj_meta_str(s, "name"));
		cleanup_err struct mk_err *derr = NULL;
		if (client_delete(ec->c, path, NULL, &derr) < 0 &&
		    mk_err_code(derr) != MK_ENOTFOUND) {
			if (!*err)
				mk_err_set(err, mk_err_code(derr), "%s", mk_err_msg(derr));
			rc = -1;
		}
	}
	if (!keep)
		return rc;
	cleanup_json json_t *labels = slice_labels(svc, name);
	json_t *ports = json_object_get(built, "ports");
	for (size_t i = 0; i < keep; i++) {
		if (write_slice(ec, key, svc, ns, name, json_array_get(slices, i),
				json_array_get(chunks, i), ports, labels, err) < 0)
			rc = -1;
	}
	return rc;
}

int endpointslice_controller_start(struct daemon *d, const struct manager_options *o,
				    struct mk_err **err)
{
	struct eps_ctrl *ec = xcalloc(1, sizeof(*ec));
	ec->c = daemon_client_new(d, err);
	if (!ec->c)
		return -1;
	ec->q = workqueue_new();
	ec->created = json_object();
	pthread_mutex_init(&ec->lock, NULL);
	struct informer_handlers ph = {
		.on_add = on_pod_add, .on_update = on_pod_update, .on_delete = on_pod_add, .arg = ec};
	struct informer_handlers sh = {
		.on_add = on_svc_add, .on_update = on_svc_update, .on_delete = on_svc_add, .arg = ec};
	struct informer_handlers lh = {.on_add = on_slice_event,
				       .on_update = on_slice_update,
				       .on_delete = on_slice_event,
				       .arg = ec};
	ec->pods = manager_informer(d, MGR_PODS, &ph, err);
	ec->svcs = manager_informer(d, MGR_SERVICES, &sh, err);
	ec->slices = manager_informer(d, MGR_ENDPOINTSLICES, &lh, err);
	if (!ec->pods || !ec->svcs || !ec->slices)
		return -1;
	return daemon_workers(d, "endpointslice", ec->q, (int)o->concurrent_endpointslice,
			      sync_slices, ec, err);
}
