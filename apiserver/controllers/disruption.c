/* Disruption controller: the status of every PodDisruptionBudget, which the
 * API server's eviction subresource reads and spends. For a budget's pods
 * (its selector in its namespace) it counts expectedPods, desiredHealthy,
 * currentHealthy and disruptionsAllowed as upstream:
 * - minAvailable N: expected = the pods found, desired = N;
 * - minAvailable P% or maxUnavailable: expected = the scale of the pods'
 *   controllers (a ReplicaSet's replicas, or its Deployment's), desired =
 *   P% of it rounded up, or expected - maxUnavailable;
 * - healthy = Ready pods not being deleted and not just evicted (their
 *   entry in status.disruptedPods, kept until the pod is seen going or two
 *   minutes pass).
 * A budget whose pods have no scalable controller gets condition SyncFailed
 * and no disruption allowed, as upstream's fail-safe. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "json.h"
#include "log.h"
#include "podutil.h"
#include "statuswrite.h"
#include "timefmt.h"
#include "xalloc.h"

#define DELETION_TIMEOUT 120 /* seconds an eviction waits to be seen, as upstream */

struct pdb_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *pods, *pdbs, *rss, *deploys;
};

static json_t *pdb_selector(const json_t *pdb)
{
	return json_path_get(pdb, "spec.selector");
}

/* Queues the budgets of obj's namespace; with labels, only those selecting
 * them. */
static void queue_budgets(struct pdb_ctrl *pc, const char *ns, const json_t *labels, bool all)
{
	cleanup_json json_t *list = informer_list(pc->pdbs);
	size_t i;
	json_t *pdb;
	json_array_foreach(list, i, pdb)
	{
		const char *pns = obj_meta_str(pdb, "namespace");
		if (!ns || !pns || strcmp(ns, pns))
			continue;
		if (!all && !ctrl_selector_matches(pdb_selector(pdb), labels))
			continue;
		cleanup_free char *key = informer_key(pdb);
		if (key)
			workqueue_add(pc->q, key);
	}
}

static void on_pod(json_t *pod, void *arg)
{
	queue_budgets(arg, obj_meta_str(pod, "namespace"), json_path_get(pod, "metadata.labels"),
		      false);
}

static void on_pod_update(json_t *old, json_t *pod, void *arg)
{
	on_pod(old, arg);
	on_pod(pod, arg);
}

static void on_scaler(json_t *obj, void *arg)
{
	queue_budgets(arg, obj_meta_str(obj, "namespace"), NULL, true);
}

static void on_scaler_update(json_t *old, json_t *obj, void *arg)
{
	if (json_equal(json_path_get(old, "spec.replicas"), json_path_get(obj, "spec.replicas")))
		return;
	on_scaler(obj, arg);
}

static void on_pdb(json_t *pdb, void *arg)
{
	struct pdb_ctrl *pc = arg;
	cleanup_free char *key = informer_key(pdb);
	if (key)
		workqueue_add(pc->q, key);
}

static void on_pdb_update(json_t *old, json_t *pdb, void *arg)
{
	(void)old;
	on_pdb(pdb, arg);
}

/* The replicas of the scalable controller of pod into *scale and its uid
 * into *uid (borrowed); -1 when it has none we know. */
static int controller_scale(struct pdb_ctrl *pc, const json_t *pod, long long *scale,
			    const char **uid, json_t **hold)
{
	json_t *ref = obj_controller_ref(pod);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!kind || !name || strcmp(kind, "ReplicaSet"))
		return -1;
	cleanup_free char *key = ctrl_key(obj_meta_str(pod, "namespace"), name);
	json_t *rs = informer_get(pc->rss, key);
	if (!rs)
		return -1;
	*hold = rs;
	json_t *dref = obj_controller_ref(rs);
	const char *dkind = json_string_value(json_object_get(dref, "kind"));
	if (dkind && !strcmp(dkind, "Deployment")) {
		cleanup_free char *dkey =
			ctrl_key(obj_meta_str(pod, "namespace"),
				 json_string_value(json_object_get(dref, "name")));
		json_t *dep = informer_get(pc->deploys, dkey);
		if (dep) {
			json_decref(rs);
			*hold = dep;
			*scale = json_integer_value(json_path_get(dep, "spec.replicas"));
			*uid = obj_meta_str(dep, "uid");
			return 0;
		}
	}
	*scale = json_integer_value(json_path_get(rs, "spec.replicas"));
	*uid = obj_meta_str(rs, "uid");
	return 0;
}

/* IntOrString against total: an integer as is, a percent rounded up. */
static long long scaled_up(const json_t *v, long long total)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return 0;
	return (long long)ceil((double)strtoll(s, NULL, 10) * (double)total / 100.0);
}

static json_t *condition(const json_t *old_status, const char *status, const char *reason,
			 const char *message, long long gen)
{
	json_t *have = NULL;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(old_status, "conditions"), i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type && !strcmp(type, "DisruptionAllowed"))
			have = c;
	}
	const char *was = json_string_value(json_object_get(have, "status"));
	const char *since = json_string_value(json_object_get(have, "lastTransitionTime"));
	cleanup_free char *now = time_now_rfc3339();
	return json_pack("[{s:s, s:s, s:s, s:s, s:s, s:I}]", "type", "DisruptionAllowed", "status",
			 status, "reason", reason, "message", message, "lastTransitionTime",
			 was && since && !strcmp(was, status) ? since : now, "observedGeneration",
			 (json_int_t)gen);
}

static int write_status(struct pdb_ctrl *pc, const json_t *pdb, json_t *st, struct mk_err **err)
{
	return status_write(pc->c, pdb, "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", st,
			    NULL, err) < 0 ? -1 : 0;
}

static int sync_pdb(const char *key, void *arg, struct mk_err **err)
{
	struct pdb_ctrl *pc = arg;
	cleanup_json json_t *pdb = informer_get(pc->pdbs, key);
	if (!pdb)
		return 0;
	const char *ns = obj_meta_str(pdb, "namespace");
	long long gen = json_integer_value(json_path_get(pdb, "metadata.generation"));
	json_t *old = json_object_get(pdb, "status");
	time_t now = time(NULL);

	cleanup_json json_t *all = informer_list(pc->pods);
	cleanup_json json_t *pods = json_array();
	json_t *sel = pdb_selector(pdb);
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod)
	{
		const char *pns = obj_meta_str(pod, "namespace");
		if (pns && ns && !strcmp(pns, ns) &&
		    ctrl_selector_matches(sel, json_path_get(pod, "metadata.labels")))
			json_array_append(pods, pod);
	}

	/* evictions not yet seen through: the pod still there and not going */
	cleanup_json json_t *disrupted = json_object();
	time_t next_expiry = 0;
	const char *pname;
	json_t *when;
	json_object_foreach(json_object_get(old, "disruptedPods"), pname, when)
	{
		time_t t = ctrl_parse_time(json_string_value(when));
		if (t + DELETION_TIMEOUT <= now)
			continue;
		bool alive = false;
		json_array_foreach(pods, i, pod)
		{
			const char *n = obj_meta_str(pod, "name");
			alive |= n && !strcmp(n, pname) &&
				 !json_path_get(pod, "metadata.deletionTimestamp");
		}
		if (!alive)
			continue;
		json_object_set(disrupted, pname, when);
		if (!next_expiry || t + DELETION_TIMEOUT < next_expiry)
			next_expiry = t + DELETION_TIMEOUT;
	}

	long long healthy = 0;
	json_array_foreach(pods, i, pod)
	{
		if (json_path_get(pod, "metadata.deletionTimestamp"))
			continue;
		if (json_object_get(disrupted, obj_meta_str(pod, "name")))
			continue;
		healthy += pod_is_ready(pod);
	}

	json_t *min = json_path_get(pdb, "spec.minAvailable");
	json_t *max = json_path_get(pdb, "spec.maxUnavailable");
	long long expected = (long long)json_array_size(pods), desired = 0;
	const char *failed = NULL;
	cleanup_free char *why = NULL;
	if (json_is_integer(max) || json_is_string(max) || json_is_string(min)) {
		/* the scale of the pods' controllers, each counted once */
		cleanup_json json_t *seen = json_object();
		expected = 0;
		json_array_foreach(pods, i, pod)
		{
			long long scale = 0;
			const char *uid = NULL;
			cleanup_json json_t *hold = NULL;
			if (controller_scale(pc, pod, &scale, &uid, &hold) < 0 || !uid) {
				failed = "SyncFailed";
				why = xasprintf("found no controllers for pod \"%s\"",
						obj_meta_str(pod, "name"));
				break;
			}
			if (json_object_get(seen, uid))
				continue;
			json_object_set_new(seen, uid, json_true());
			expected += scale;
		}
		if (json_is_integer(max) || json_is_string(max)) {
			desired = expected - scaled_up(max, expected);
			if (desired < 0)
				desired = 0;
		} else {
			desired = scaled_up(min, expected);
		}
	} else if (json_is_integer(min)) {
		desired = json_integer_value(min);
	}

	long long allowed = healthy - desired > 0 ? healthy - desired : 0;
	json_t *st;
	if (failed) {
		st = json_pack("{s:I, s:I, s:I, s:I, s:I}", "observedGeneration", (json_int_t)gen,
			       "disruptionsAllowed", (json_int_t)0, "currentHealthy",
			       (json_int_t)healthy, "desiredHealthy",
			       json_integer_value(json_object_get(old, "desiredHealthy")),
			       "expectedPods",
			       json_integer_value(json_object_get(old, "expectedPods")));
		json_object_set_new(st, "conditions", condition(old, "False", failed, why, gen));
	} else {
		st = json_pack("{s:I, s:I, s:I, s:I, s:I}", "observedGeneration", (json_int_t)gen,
			       "disruptionsAllowed", (json_int_t)allowed, "currentHealthy",
			       (json_int_t)healthy, "desiredHealthy", (json_int_t)desired,
			       "expectedPods", (json_int_t)expected);
		json_object_set_new(st, "conditions",
				    allowed > 0
					    ? condition(old, "True", "SufficientPods", "", gen)
					    : condition(old, "False", "InsufficientPods", "", gen));
	}
	if (json_object_size(disrupted))
		json_object_set(st, "disruptedPods", disrupted);
	cleanup_json json_t *status = st;
	if (write_status(pc, pdb, status, err) < 0)
		return -1;
	if (next_expiry)
		workqueue_add_after(pc->q, key, (uint64_t)(next_expiry - now) * 1000 + 100);
	return 0;
}

int disruption_controller_start(struct daemon *d, const struct manager_options *o,
				struct mk_err **err)
{
	(void)o;
	struct pdb_ctrl *pc = xcalloc(1, sizeof(*pc));
	pc->c = daemon_client_new(d, err);
	if (!pc->c)
		return -1;
	pc->q = workqueue_new();
	struct informer_handlers ph = {
		.on_add = on_pod, .on_update = on_pod_update, .on_delete = on_pod, .arg = pc};
	struct informer_handlers bh = {.on_add = on_pdb, .on_update = on_pdb_update, .arg = pc};
	struct informer_handlers sh = {.on_add = on_scaler,
				       .on_update = on_scaler_update,
				       .on_delete = on_scaler,
				       .arg = pc};
	pc->pods = manager_informer(d, MGR_PODS, &ph, err);
	pc->pdbs = manager_informer(d, MGR_PDBS, &bh, err);
	pc->rss = manager_informer(d, MGR_REPLICASETS, &sh, err);
	pc->deploys = manager_informer(d, MGR_DEPLOYMENTS, &sh, err);
	if (!pc->pods || !pc->pdbs || !pc->rss || !pc->deploys)
		return -1;
	return daemon_workers(d, "disruption", pc->q, 2, sync_pdb, pc, err);
}
