/* DaemonSet controller: one pod of each DaemonSet on every node it belongs
 * on (daemonset-plan.c decides which), none elsewhere; a template change
 * replaces the old pods node by node, at most maxUnavailable nodes without
 * an available pod at a time; every template is recorded as a
 * ControllerRevision (history.c); the status counts.
 *
 * Expectations, as in the ReplicaSet controller: until the informer has
 * shown the pods this controller created or deleted (or five minutes pass),
 * a sync writes status only, so a node never gets two pods because the
 * cache lagged. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "daemonset-plan.h"
#include "events.h"
#include "history.h"
#include "json.h"
#include "log.h"
#include "podutil.h"
#include "statuswrite.h"
#include "xalloc.h"

#define COMPONENT	 "daemonset-controller"
#define EXPECTATIONS_TTL 300

struct ds_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *pods, *nodes, *dss, *revs;
	pthread_mutex_t lock;
	/* ds key -> {"adds": {node: true}, "dels": {podkey: true}, "t": time} */
	json_t *expect;
};

static void expect_set(struct ds_ctrl *dc, const char *key, json_t *adds, json_t *dels)
{
	pthread_mutex_lock(&dc->lock);
	json_object_set_new(dc->expect, key,
			    json_pack("{s:o, s:o, s:I}", "adds", adds, "dels", dels, "t",
				      (json_int_t)time(NULL)));
	pthread_mutex_unlock(&dc->lock);
}

static void expect_observe(struct ds_ctrl *dc, const char *key, const char *what, const char *item)
{
	if (!item)
		return;
	pthread_mutex_lock(&dc->lock);
	json_object_del(json_object_get(json_object_get(dc->expect, key), what), item);
	pthread_mutex_unlock(&dc->lock);
}

static bool expect_satisfied(struct ds_ctrl *dc, const char *key)
{
	pthread_mutex_lock(&dc->lock);
	json_t *e = json_object_get(dc->expect, key);
	bool ok = !e ||
		  (!json_object_size(json_object_get(e, "adds")) &&
		   !json_object_size(json_object_get(e, "dels"))) ||
		  time(NULL) - json_integer_value(json_object_get(e, "t")) > EXPECTATIONS_TTL;
	pthread_mutex_unlock(&dc->lock);
	return ok;
}

/* The DaemonSet key a pod's controller reference names, or NULL. */
static char *owner_key(const json_t *obj)
{
	json_t *ref = obj_controller_ref(obj);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!kind || strcmp(kind, "DaemonSet") || !name)
		return NULL;
	return ctrl_key(obj_meta_str(obj, "namespace"), name);
}

static void queue_all(struct ds_ctrl *dc)
{
	cleanup_json json_t *all = informer_list(dc->dss);
	size_t i;
	json_t *ds;
	json_array_foreach(all, i, ds)
	{
		cleanup_free char *key = informer_key(ds);
		if (key)
			workqueue_add(dc->q, key);
	}
}

static void on_pod_add(json_t *pod, void *arg)
{
	struct ds_ctrl *dc = arg;
	cleanup_free char *key = owner_key(pod);
	if (!key)
		return;
	if (json_path_get(pod, "metadata.deletionTimestamp")) {
		cleanup_free char *pk = informer_key(pod);
		expect_observe(dc, key, "dels", pk);
	} else {
		expect_observe(dc, key, "adds", ds_pod_node(pod));
	}
	workqueue_add(dc->q, key);
}

static void on_pod_update(json_t *old, json_t *pod, void *arg)
{
	(void)old;
	on_pod_add(pod, arg);
}

static void on_pod_delete(json_t *pod, void *arg)
{
	struct ds_ctrl *dc = arg;
	cleanup_free char *key = owner_key(pod);
	if (!key)
		return;
	cleanup_free char *pk = informer_key(pod);
	expect_observe(dc, key, "dels", pk);
	workqueue_add(dc->q, key);
}

static void on_ds(json_t *ds, void *arg)
{
	struct ds_ctrl *dc = arg;
	cleanup_free char *key = informer_key(ds);
	if (key)
		workqueue_add(dc->q, key);
}

static void on_ds_update(json_t *old, json_t *ds, void *arg)
{
	(void)old;
	on_ds(ds, arg);
}

static void on_ds_delete(json_t *ds, void *arg)
{
	struct ds_ctrl *dc = arg;
	cleanup_free char *key = informer_key(ds);
	pthread_mutex_lock(&dc->lock);
	json_object_del(dc->expect, key ? key : "");
	pthread_mutex_unlock(&dc->lock);
}

/* Any node change (added, relabelled, tainted, gone) may change where every
 * DaemonSet belongs. */
static void on_node(json_t *node, void *arg)
{
	(void)node;
	queue_all(arg);
}

static void on_node_update(json_t *old, json_t *node, void *arg)
{
	if (json_equal(json_object_get(old, "spec"), json_object_get(node, "spec")) &&
	    json_equal(json_path_get(old, "metadata.labels"),
		       json_path_get(node, "metadata.labels")))
		return; /* status heartbeats do not move daemon pods */
	queue_all(arg);
}

static char *pod_path(const json_t *pod)
{
	return xasprintf("/api/v1/namespaces/%s/pods/%s", obj_meta_str(pod, "namespace"),
			 obj_meta_str(pod, "name"));
}

/* ---- pods ---- */

static int create_pod(struct ds_ctrl *dc, const json_t *ds, const char *node, const char *hash,
		      struct mk_err **err)
{
	cleanup_json json_t *pod = ds_pod_for_node(ds, node, hash);
	cleanup_free char *coll =
		xasprintf("/api/v1/namespaces/%s/pods", obj_meta_str(ds, "namespace"));
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(dc->c, coll, pod, &cerr);
	if (!made) {
		events_post(dc->c, COMPONENT, "DaemonSet", "apps/v1", ds, "Warning", "FailedCreate",
			    "Error creating: %s", mk_err_msg(cerr));
		return mk_err_set(err, mk_err_code(cerr), "creating pod on %s: %s", node,
				  mk_err_msg(cerr));
	}
	events_post(dc->c, COMPONENT, "DaemonSet", "apps/v1", ds, "Normal", "SuccessfulCreate",
		    "Created pod: %s", obj_meta_str(made, "name"));
	return 0;
}

static int delete_pod(struct ds_ctrl *dc, const json_t *ds, const json_t *pod, struct mk_err **err)
{
	cleanup_free char *path = pod_path(pod);
	cleanup_err struct mk_err *derr = NULL;
	if (client_delete(dc->c, path, NULL, &derr) < 0) {
		if (mk_err_code(derr) == MK_ENOTFOUND)
			return 0;
		events_post(dc->c, COMPONENT, "DaemonSet", "apps/v1", ds, "Warning", "FailedDelete",
			    "Error deleting: %s", mk_err_msg(derr));
		return mk_err_set(err, mk_err_code(derr), "deleting pod %s: %s",
				  obj_meta_str(pod, "name"), mk_err_msg(derr));
	}
	events_post(dc->c, COMPONENT, "DaemonSet", "apps/v1", ds, "Normal", "SuccessfulDelete",
		    "Deleted pod: %s", obj_meta_str(pod, "name"));
	return 0;
}

static bool pod_has_hash(const json_t *pod, const char *hash)
{
	const char *h = json_string_value(json_path_get(pod, "metadata.labels." DS_HASH_LABEL));
	return h && !strcmp(h, hash);
}

static const char *pod_created(const json_t *pod)
{
	const char *c = obj_meta_str(pod, "creationTimestamp");
	return c ? c : "";
}

static int update_status(struct ds_ctrl *dc, const json_t *ds, json_t *st, struct mk_err **err)
{
	json_t *old = json_object_get(ds, "status");
	json_t *conds = json_object_get(old, "conditions");
	if (conds)
		json_object_set(st, "conditions", conds);
	json_t *cc = json_object_get(old, "collisionCount");
	if (cc)
		json_object_set(st, "collisionCount", cc);
	return status_write(dc->c, ds, "apps/v1", "DaemonSet", "daemonsets", st, NULL, err) < 0 ? -1 : 0;
}

static int sync_ds(const char *key, void *arg, struct mk_err **err)
{
	struct ds_ctrl *dc = arg;
	cleanup_json json_t *ds = informer_get(dc->dss, key);
	if (!ds)
		return 0;
	const char *ns = obj_meta_str(ds, "namespace");
	const char *uid = obj_meta_str(ds, "uid");
	if (!ns || !uid)
		return 0;
	bool deleting = json_path_get(ds, "metadata.deletionTimestamp") != NULL;
	cleanup_free char *hash = ds_template_hash(ds);
	json_t *mrs = json_path_get(ds, "spec.minReadySeconds");
	long min_ready = json_is_integer(mrs) ? (long)json_integer_value(mrs) : 0;
	time_t now = time(NULL);

	if (!deleting && history_sync(dc->c, dc->revs, ds, "DaemonSet", hash, err) < 0)
		return -1;

	/* this DaemonSet's pods, by node */
	cleanup_json json_t *by_node = json_object();
	cleanup_json json_t *orphans = json_array(); /* pods for no node */
	cleanup_json json_t *all = informer_list(dc->pods);
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod)
	{
		const char *pns = obj_meta_str(pod, "namespace");
		const char *cuid = pod_controller_uid(pod);
		if (!pns || strcmp(pns, ns) || !cuid || strcmp(cuid, uid))
			continue;
		if (json_path_get(pod, "metadata.deletionTimestamp"))
			continue;
		const char *node = ds_pod_node(pod);
		if (!node) {
			json_array_append(orphans, pod);
			continue;
		}
		json_t *list = json_object_get(by_node, node);
		if (!list) {
			list = json_array();
			json_object_set_new(by_node, node, list);
		}
		json_array_append(list, pod);
	}

	long desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
	long unavailable = 0, surging = 0;
	cleanup_json json_t *to_create = json_array();	   /* node names */
	cleanup_json json_t *to_delete = json_array();	   /* pods */
	cleanup_json json_t *old_available = json_array(); /* pods of the old template */
	cleanup_json json_t *nodes = informer_list(dc->nodes);
	cleanup_json json_t *seen_nodes = json_object();
	json_t *node;
	json_array_foreach(nodes, i, node)
	{
		const char *name = obj_meta_str(node, "name");
		if (!name)
			continue;
		json_object_set_new(seen_nodes, name, json_true());
		json_t *pods = json_object_get(by_node, name);
		bool run = ds_should_run(ds, node);
		/* failed pods are replaced, as upstream */
		cleanup_json json_t *live = json_array();
		size_t j;
		json_array_foreach(pods, j, pod)
		{
			if (pod_is_terminal(pod) && run)
				json_array_append(to_delete, pod);
			else
				json_array_append(live, pod);
		}
		if (!run) {
			if (json_array_size(live))
				misscheduled++;
			json_array_foreach(live, j, pod) json_array_append(to_delete, pod);
			continue;
		}
		desired++;
		if (!json_array_size(live)) {
			json_array_append_new(to_create, json_string(name));
			unavailable++;
			continue;
		}
		/* the oldest pod of each template stays, extra ones go */
		json_t *nw = NULL, *od = NULL;
		json_array_foreach(live, j, pod)
		{
			json_t **slot = pod_has_hash(pod, hash) ? &nw : &od;
			if (!*slot || strcmp(pod_created(pod), pod_created(*slot)) < 0)
				*slot = pod;
		}
		json_array_foreach(live, j, pod) if (pod != nw && pod != od)
			json_array_append(to_delete, pod);
		bool new_avail = nw && pod_is_available(nw, min_ready, now);
		bool old_avail = od && pod_is_available(od, min_ready, now);
		if (od && nw && new_avail) {
			json_array_append(to_delete, od); /* surge done on this node */
			od = NULL;
		} else if (od && nw) {
			surging++;
		} else if (od && !old_avail) {
			/* an unavailable old pod costs no availability: replace it now */
			json_array_append(to_delete, od);
		} else if (od) {
			json_array_append(old_available, od);
		}
		current++;
		ready += (nw && pod_is_ready(nw)) || (od && pod_is_ready(od));
		bool is_avail = new_avail || old_avail;
		available += is_avail;
		unavailable += !is_avail;
		updated += nw != NULL;
	}
	/* pods of nodes that are gone */
	const char *nname;
	json_t *pods;
	json_object_foreach(by_node, nname, pods)
	{
		if (json_object_get(seen_nodes, nname))
			continue;
		size_t j;
		json_array_foreach(pods, j, pod) json_array_append(to_delete, pod);
	}
	json_array_foreach(orphans, i, pod) json_array_append(to_delete, pod);

	int rc = 0;
	if (!deleting && expect_satisfied(dc, key)) {
		const char *type = json_string_value(json_path_get(ds, "spec.updateStrategy.type"));
		if (type && !strcmp(type, "RollingUpdate")) {
			long surge = ds_max_surge(ds, desired);
			/* with a surge, the new pod starts beside the old one, which
			 * goes once the new one is available; without, old pods go
			 * first, at most maxUnavailable nodes at a time */
			long budget = surge > 0 ? surge - surging
						: ds_max_unavailable(ds, desired) - unavailable;
			json_array_foreach(old_available, i, pod)
			{
				if (budget-- <= 0)
					break;
				if (surge > 0)
					json_array_append_new(to_create,
							      json_string(ds_pod_node(pod)));
				else
					json_array_append(to_delete, pod);
			}
		}
		json_t *adds = json_object();
		json_t *dels = json_object();
		json_array_foreach(to_create, i, node)
			json_object_set_new(adds, json_string_value(node), json_true());
		json_array_foreach(to_delete, i, pod)
		{
			char *pk = informer_key(pod);
			json_object_set_new(dels, pk, json_true());
			free(pk);
		}
		expect_set(dc, key, adds, dels);
		json_array_foreach(to_delete, i, pod)
		{
			cleanup_err struct mk_err *e = NULL;
			if (delete_pod(dc, ds, pod, &e) < 0) {
				cleanup_free char *pk = informer_key(pod);
				expect_observe(dc, key, "dels", pk);
				if (!*err)
					mk_err_set(err, mk_err_code(e), "%s", mk_err_msg(e));
				rc = -1;
			}
		}
		json_array_foreach(to_create, i, node)
		{
			cleanup_err struct mk_err *e = NULL;
			if (create_pod(dc, ds, json_string_value(node), hash, &e) < 0) {
				expect_observe(dc, key, "adds", json_string_value(node));
				if (!*err)
					mk_err_set(err, mk_err_code(e), "%s", mk_err_msg(e));
				rc = -1;
			}
		}
	}

	json_t *st = json_pack(
		"{s:I, s:I, s:I, s:I, s:I}", "currentNumberScheduled", (json_int_t)current,
		"numberMisscheduled", (json_int_t)misscheduled, "desiredNumberScheduled",
		(json_int_t)desired, "numberReady", (json_int_t)ready, "observedGeneration",
		json_path_get(ds, "metadata.generation")
			? json_integer_value(json_path_get(ds, "metadata.generation"))
			: 0);
	/* upstream omits these when zero */
	if (updated)
		json_object_set_new(st, "updatedNumberScheduled", json_integer(updated));
	if (available)
		json_object_set_new(st, "numberAvailable", json_integer(available));
	if (desired - available > 0)
		json_object_set_new(st, "numberUnavailable", json_integer(desired - available));
	cleanup_json json_t *status = st;
	cleanup_err struct mk_err *serr = NULL;
	if (update_status(dc, ds, status, &serr) < 0) {
		if (!*err)
			mk_err_set(err, mk_err_code(serr), "updating status: %s", mk_err_msg(serr));
		return -1;
	}
	/* ready pods not yet available need another look once minReadySeconds passed */
	if (min_ready > 0 && ready > available)
		workqueue_add_after(dc->q, key, 1000);
	return rc;
}

int daemonset_controller_start(struct daemon *d, const struct manager_options *o,
			       struct mk_err **err)
{
	struct ds_ctrl *dc = xcalloc(1, sizeof(*dc));
	dc->c = daemon_client_new(d, err);
	if (!dc->c)
		return -1;
	dc->q = workqueue_new();
	dc->expect = json_object();
	pthread_mutex_init(&dc->lock, NULL);
	struct informer_handlers ph = {.on_add = on_pod_add,
				       .on_update = on_pod_update,
				       .on_delete = on_pod_delete,
				       .arg = dc};
	struct informer_handlers dh = {
		.on_add = on_ds, .on_update = on_ds_update, .on_delete = on_ds_delete, .arg = dc};
	struct informer_handlers nh = {
		.on_add = on_node, .on_update = on_node_update, .on_delete = on_node, .arg = dc};
	dc->pods = manager_informer(d, MGR_PODS, &ph, err);
	dc->dss = manager_informer(d, MGR_DAEMONSETS, &dh, err);
	dc->nodes = manager_informer(d, MGR_NODES, &nh, err);
	dc->revs = manager_informer(d, MGR_CONTROLLERREVISIONS, NULL, err);
	if (!dc->pods || !dc->dss || !dc->nodes || !dc->revs)
		return -1;
	return daemon_workers(d, "daemonset", dc->q, (int)o->concurrent_daemonset, sync_ds, dc,
			      err);
}
