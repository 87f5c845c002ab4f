/* ResourceQuota controller: keeps every quota's status.hard (its spec.hard)
 * and status.used (what the namespace's objects use, counted as the API
 * server's ResourceQuota admission counts them, lib/quota) up to date. A
 * quota is recomputed when it changes, when a pod or Service of its
 * namespace comes, changes or goes, and on the full resync every
 * --resource-quota-sync-period; other kinds (ConfigMaps, Secrets, count/...)
 * are listed from the API server at each sync. */
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "json.h"
#include "log.h"
#include "quota.h"
#include "xalloc.h"

struct rq_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *quotas, *pods, *svcs;
};

static void queue_quota(struct rq_ctrl *rc, const json_t *q)
{
	const char *ns = obj_meta_str(q, "namespace"), *name = obj_meta_str(q, "name");
	if (!ns || !name)
		return;
	cleanup_free char *key = ctrl_key(ns, name);
	workqueue_add(rc->q, key);
}

static void on_quota(json_t *q, void *arg)
{
	queue_quota(arg, q);
}

static void on_quota_update(json_t *old, json_t *q, void *arg)
{
	(void)old;
	queue_quota(arg, q);
}

/* every quota of the namespace of obj */
static void queue_ns_of(struct rq_ctrl *rc, const json_t *obj)
{
	const char *ns = obj_meta_str(obj, "namespace");
	if (!ns)
		return;
	cleanup_json json_t *all = informer_list(rc->quotas);
	size_t i;
	json_t *q;
	json_array_foreach(all, i, q)
	{
		const char *qns = obj_meta_str(q, "namespace");
		if (qns && !strcmp(qns, ns))
			queue_quota(rc, q);
	}
}

static void on_obj(json_t *obj, void *arg)
{
	queue_ns_of(arg, obj);
}

static void on_obj_update(json_t *old, json_t *obj, void *arg)
{
	(void)old;
	queue_ns_of(arg, obj);
}

/* The group and plural a hard resource name counts, as lib/quota tracks them. */
static void kind_of(const char *name, char **group, char **resource)
{
	if (!strncmp(name, "count/", 6)) {
		const char *r = name + 6;
		const char *dot = strchr(r, '.');
		*resource = dot ? xstrndup(r, (size_t)(dot - r)) : xstrdup(r);
		*group = xstrdup(dot ? dot + 1 : "");
		return;
	}
	*group = xstrdup("");
	if (!strncmp(name, "services", 8))
		*resource = xstrdup("services");
	else if (quota_tracks("", "pods", name))
		*resource = xstrdup("pods");
	else
		*resource = xstrdup(name);
}

/* The objects of group/resource in ns: from an informer for pods and
 * Services, else listed. New array, or NULL with *err. */
static json_t *objects_in(struct rq_ctrl *rc, const char *ns, const char *group,
			  const char *resource, struct mk_err **err)
{
	if (!group[0] && !strcmp(resource, "pods"))
		return ctrl_pods_in(rc->pods, ns);
	if (!group[0] && !strcmp(resource, "services"))
		return ctrl_pods_in(rc->svcs, ns);
	cleanup_free char *path =
		group[0] ? xasprintf("/apis/%s/v1/namespaces/%s/%s", group, ns, resource)
			 : xasprintf("/api/v1/namespaces/%s/%s", ns, resource);
	cleanup_err struct mk_err *lerr = NULL;
	cleanup_json json_t *list = client_list(rc->c, path, NULL, NULL, &lerr);
	if (!list) {
		/* a kind this API server does not serve has no objects */
		if (mk_err_code(lerr) == MK_ENOTFOUND)
			return json_array();
		mk_err_set(err, mk_err_code(lerr), "listing %s: %s", path, mk_err_msg(lerr));
		return NULL;
	}
	return json_incref(json_object_get(list, "items"));
}

static int sync_quota(const char *key, void *arg, struct mk_err **err)
{
	struct rq_ctrl *rc = arg;
	cleanup_json json_t *q = informer_get(rc->quotas, key);
	if (!q || json_path_get(q, "metadata.deletionTimestamp"))
		return 0;
	const char *ns = obj_meta_str(q, "namespace");
	json_t *hard = json_path_get(q, "spec.hard");
	cleanup_json json_t *used = json_object();
	cleanup_json json_t *counted = json_object(); /* "group/resource" -> usage sum */
	const char *name;
	json_t *v;
	json_object_foreach(hard, name, v)
	{
		cleanup_free char *group = NULL, *resource = NULL;
		kind_of(name, &group, &resource);
		cleanup_free char *gr = xasprintf("%s/%s", group, resource);
		json_t *sum = json_object_get(counted, gr);
		if (!sum) {
			cleanup_json json_t *objs = objects_in(rc, ns, group, resource, err);
			if (!objs)
				return -1;
			sum = json_object();
			size_t i;
			json_t *o;
			json_array_foreach(objs, i, o)
			{
				cleanup_json json_t *u = quota_usage_of(group, resource, o);
				quota_usage_add(sum, u);
			}
			json_object_set_new(counted, gr, sum);
		}
		char *t = quota_format(name, json_integer_value(json_object_get(sum, name)));
		json_object_set_new(used, name, json_string(t));
		free(t);
	}
	json_t *want_hard = json_is_object(hard) ? hard : NULL;
	if (json_equal(json_path_get(q, "status.used"), used) &&
	    ((!want_hard && !json_path_get(q, "status.hard")) ||
	     json_equal(json_path_get(q, "status.hard"), want_hard)))
		return 0;
	cleanup_json json_t *next = json_deep_copy(q);
	json_t *st = json_object();
	json_object_set_new(st, "hard", want_hard ? json_incref(want_hard) : json_object());
	json_object_set(st, "used", used);
	json_object_set_new(next, "status", st);
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/resourcequotas/%s/status", ns,
					    obj_meta_str(q, "name"));
	cleanup_err struct mk_err *uerr = NULL;
	cleanup_json json_t *r = client_update(rc->c, path, next, &uerr);
	if (r || mk_err_code(uerr) == MK_ENOTFOUND)
		return 0;
	/* a conflict: the admission charged it meanwhile; the informer's event
	 * brings the quota back */
	if (mk_err_code(uerr) == MK_ECONFLICT)
		return 0;
	return mk_err_set(err, mk_err_code(uerr), "updating quota %s: %s", key, mk_err_msg(uerr));
}

static void resync(void *arg)
{
	struct rq_ctrl *rc = arg;
	cleanup_json json_t *all = informer_list(rc->quotas);
	size_t i;
	json_t *q;
	json_array_foreach(all, i, q) queue_quota(rc, q);
}

int resourcequota_controller_start(struct daemon *d, const struct manager_options *o,
				   struct mk_err **err)
{
	struct rq_ctrl *rc = xcalloc(1, sizeof(*rc));
	rc->c = daemon_client_new(d, err);
	if (!rc->c)
		return -1;
	rc->q = workqueue_new();
	struct informer_handlers qh = {.on_add = on_quota, .on_update = on_quota_update, .arg = rc};
	struct informer_handlers oh = {
		.on_add = on_obj, .on_update = on_obj_update, .on_delete = on_obj, .arg = rc};
	rc->quotas = manager_informer(d, MGR_RESOURCEQUOTAS, &qh, err);
	rc->pods = manager_informer(d, MGR_PODS, &oh, err);
	rc->svcs = manager_informer(d, MGR_SERVICES, &oh, err);
	if (!rc->quotas || !rc->pods || !rc->svcs)
		return -1;
	if (daemon_every(d, "resourcequota-resync", o->resource_quota_sync_ms, false, resync, rc,
			 err) < 0)
		return -1;
	return daemon_workers(d, "resourcequota", rc->q, (int)o->concurrent_resourcequota,
			      sync_quota, rc, err);
}
