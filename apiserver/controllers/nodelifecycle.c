/* Node lifecycle controller. Every --node-monitor-period it looks at each
 * node's last sign of life: the Ready condition's lastHeartbeatTime, the
 * renewTime of its Lease in kube-node-lease, and (so that a fresh controller
 * gives nodes a full grace period) when this controller first saw it.
 * - Silent for longer than --node-monitor-grace-period: the kubelet's
 *   conditions turn Unknown ("NodeStatusUnknown", "Kubelet stopped posting
 *   node status."), its pods lose Ready, and the node gets the
 *   node.kubernetes.io/unreachable NoExecute and NoSchedule taints.
 * - Ready=False gets node.kubernetes.io/not-ready instead; Ready=True neither;
 *   pressure conditions and spec.unschedulable get their NoSchedule taints.
 * - Pods on a node with one of these taints are deleted once their toleration
 *   for it runs out: tolerationSeconds from the taint's timeAdded, never for
 *   a toleration without seconds, and after the default (300 s, as the
 *   DefaultTolerationSeconds admission plugin would give) without one. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "events.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

#define UNREACHABLE "node.kubernetes.io/unreachable"
#define NOT_READY "node.kubernetes.io/not-ready"

struct nlc_ctrl {
	struct client *c;
	struct informer *nodes, *leases, *pods;
	int64_t grace_ms;
	int64_t default_toleration_s;
	json_t *first_seen; /* node name -> time first observed */
};

static json_t *condition(const json_t *node, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static time_t last_alive(struct nlc_ctrl *nc, const json_t *node, time_t now)
{
	const char *name = obj_meta_str(node, "name");
	time_t t = ctrl_parse_time(json_string_value(
		json_object_get(condition(node, "Ready"), "lastHeartbeatTime")));
	cleanup_free char *lkey = xasprintf("kube-node-lease/%s", name);
	cleanup_json json_t *lease = informer_get(nc->leases, lkey);
	time_t renew = ctrl_parse_time(
		json_string_value(json_object_get(json_object_get(lease, "spec"), "renewTime")));
	if (renew > t)
		t = renew;
	json_t *seen = json_object_get(nc->first_seen, name);
	if (!seen) {
		seen = json_integer(now);
		json_object_set_new(nc->first_seen, name, seen);
	}
	if ((time_t)json_integer_value(seen) > t)
		t = (time_t)json_integer_value(seen);
	return t;
}

/* Marks the kubelet's conditions Unknown; returns the updated node (new
 * reference) or NULL. */
static json_t *mark_unknown(struct nlc_ctrl *nc, const json_t *node, const char *now)
{
	cleanup_json json_t *copy = json_deep_copy(node);
	json_object_set_new(copy, "apiVersion", json_string("v1"));
	json_object_set_new(copy, "kind", json_string("Node"));
	json_t *status = json_object_get(copy, "status");
	if (!json_is_object(status)) {
		status = json_object();
		json_object_set_new(copy, "status", status);
	}
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	static const char *const kubelet_conditions[] = {"Ready", "MemoryPressure", "DiskPressure",
							 "PIDPressure"};
	for (size_t k = 0; k < sizeof(kubelet_conditions) / sizeof(kubelet_conditions[0]); k++) {
		json_t *c = condition(copy, kubelet_conditions[k]);
		if (!c) {
			c = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", kubelet_conditions[k],
				      "status", "Unknown", "lastHeartbeatTime", now,
				      "lastTransitionTime", now, "reason", "NodeStatusNeverUpdated",
				      "message", "Kubelet never posted node status.");
			json_array_append_new(conds, c);
			continue;
		}
		const char *st = json_string_value(json_object_get(c, "status"));
		if (st && !strcmp(st, "Unknown"))
			continue;
		json_object_set_new(c, "status", json_string("Unknown"));
		json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
		json_object_set_new(c, "message", json_string("Kubelet stopped posting node status."));
		json_object_set_new(c, "lastTransitionTime", json_string(now));
	}
	cleanup_free char *path = xasprintf("/api/v1/nodes/%s/status", obj_meta_str(node, "name"));
	cleanup_err struct mk_err *err = NULL;
	json_t *r = client_update(nc->c, path, copy, &err);
	if (!r)
		log_warn("nodelifecycle: marking node %s Unknown: %s", obj_meta_str(node, "name"),
			 mk_err_msg(err));
	return r;
}

/* Pods on the node lose their Ready condition, as upstream's MarkPodsNotReady. */
static void mark_pods_not_ready(struct nlc_ctrl *nc, const char *node_name, const char *now)
{
	cleanup_json json_t *all = informer_list(nc->pods);
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod) {
		const char *nn = json_string_value(
			json_object_get(json_object_get(pod, "spec"), "nodeName"));
		if (!nn || strcmp(nn, node_name))
			continue;
		cleanup_json json_t *conds = json_deep_copy(
			json_object_get(json_object_get(pod, "status"), "conditions"));
		bool changed = false;
		size_t j;
		json_t *c;
		json_array_foreach(conds, j, c) {
			const char *t = json_string_value(json_object_get(c, "type"));
			const char *s = json_string_value(json_object_get(c, "status"));
			if (t && s && !strcmp(t, "Ready") && !strcmp(s, "True")) {
				json_object_set_new(c, "status", json_string("False"));
				json_object_set_new(c, "lastTransitionTime", json_string(now));
				changed = true;
			}
		}
		if (!changed)
			continue;
		cleanup_json json_t *patch =
			json_pack("{s:{s:O}}", "status", "conditions", conds);
		cleanup_free char *path =
			xasprintf("/api/v1/namespaces/%s/pods/%s/status",
				  obj_meta_str(pod, "namespace"), obj_meta_str(pod, "name"));
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *r = client_patch(nc->c, path, "merge", patch, &err);
		if (!r)
			log_v(1, "nodelifecycle: marking pod %s not ready: %s", path,
			      mk_err_msg(err));
	}
}

/* The condition taints, as upstream's node lifecycle controller keeps them:
 * NoExecute for Ready Unknown/False, NoSchedule for every condition that
 * makes a node unfit and for spec.unschedulable. */
struct cond_taint {
	const char *condition, *status, *key, *effect;
};

static const struct cond_taint cond_taints[] = {
	{"Ready", "Unknown", UNREACHABLE, "NoExecute"},
	{"Ready", "False", NOT_READY, "NoExecute"},
	{"Ready", "Unknown", UNREACHABLE, "NoSchedule"},
	{"Ready", "False", NOT_READY, "NoSchedule"},
	{"MemoryPressure", "True", "node.kubernetes.io/memory-pressure", "NoSchedule"},
	{"DiskPressure", "True", "node.kubernetes.io/disk-pressure", "NoSchedule"},
	{"PIDPressure", "True", "node.kubernetes.io/pid-pressure", "NoSchedule"},
	{"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable", "NoSchedule"},
};
#define UNSCHEDULABLE "node.kubernetes.io/unschedulable"

static bool managed_taint(const char *key, const char *effect)
{
	if (!key || !effect)
		return false;
	if (!strcmp(key, UNSCHEDULABLE) && !strcmp(effect, "NoSchedule"))
		return true;
	for (size_t i = 0; i < sizeof(cond_taints) / sizeof(cond_taints[0]); i++)
		if (!strcmp(cond_taints[i].key, key) && !strcmp(cond_taints[i].effect, effect))
			return true;
	return false;
}

static bool wanted_taint(const json_t *node, const char *key, const char *effect)
{
	if (!strcmp(key, UNSCHEDULABLE))
		return !strcmp(effect, "NoSchedule") &&
		       json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
	for (size_t i = 0; i < sizeof(cond_taints) / sizeof(cond_taints[0]); i++) {
		const struct cond_taint *ct = &cond_taints[i];
		if (strcmp(ct->key, key) || strcmp(ct->effect, effect))
			continue;
		const char *st = json_string_value(
			json_object_get(condition(node, ct->condition), "status"));
		if (st && !strcmp(st, ct->status))
			return true;
	}
	return false;
}

static bool has_taint(const json_t *taints, const char *key, const char *effect)
{
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t) {
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (k && e && !strcmp(k, key) && !strcmp(e, effect))
			return true;
	}
	return false;
}

/* Makes the node's condition taints say what its conditions say. */
static void sync_taints(struct nlc_ctrl *nc, const json_t *node, const char *now)
{
	json_t *taints = json_object_get(json_object_get(node, "spec"), "taints");
	cleanup_json json_t *kept = json_array();
	bool changed = false;
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t) {
		const char *key = json_string_value(json_object_get(t, "key"));
		const char *eff = json_string_value(json_object_get(t, "effect"));
		if (managed_taint(key, eff) && !wanted_taint(node, key, eff)) {
			changed = true;
			continue;
		}
		json_array_append(kept, t);
	}
	const struct cond_taint unsched = {NULL, NULL, UNSCHEDULABLE, "NoSchedule"};
	for (size_t k = 0; k <= sizeof(cond_taints) / sizeof(cond_taints[0]); k++) {
		const struct cond_taint *ct = k < sizeof(cond_taints) / sizeof(cond_taints[0])
						      ? &cond_taints[k]
						      : &unsched;
		if (!wanted_taint(node, ct->key, ct->effect) || has_taint(kept, ct->key, ct->effect))
			continue;
		json_t *nt = json_pack("{s:s,s:s}", "key", ct->key, "effect", ct->effect);
		if (!strcmp(ct->effect, "NoExecute"))
			json_object_set_new(nt, "timeAdded", json_string(now));
		json_array_append_new(kept, nt);
		changed = true;
	}
	if (!changed)
		return;
	cleanup_json json_t *copy = json_deep_copy(node);
	json_object_set_new(copy, "apiVersion", json_string("v1"));
	json_object_set_new(copy, "kind", json_string("Node"));
	json_t *spec = json_object_get(copy, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(copy, "spec", spec);
	}
	if (json_array_size(kept))
		json_object_set(spec, "taints", kept);
	else
		json_object_del(spec, "taints");
	cleanup_free char *path = xasprintf("/api/v1/nodes/%s", obj_meta_str(node, "name"));
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *r = client_update(nc->c, path, copy, &err);
	if (!r) {
		log_v(1, "nodelifecycle: updating taints of node %s: %s", obj_meta_str(node, "name"),
		      mk_err_msg(err));
		return;
	}
	cleanup_free char *list = NULL;
	json_array_foreach(kept, i, t) {
		char *next = xasprintf("%s%s%s:%s", list ? list : "", list ? "," : "",
				       json_string_value(json_object_get(t, "key")),
				       json_string_value(json_object_get(t, "effect")));
		free(list);
		list = next;
	}
	log_info("nodelifecycle: node %s taints now [%s]", obj_meta_str(node, "name"),
		 list ? list : "");
}

/* Seconds a pod tolerates taint, -1 forever. */
static int64_t toleration_seconds(const json_t *pod, const json_t *taint, int64_t dflt)
{
	const char *tkey = json_string_value(json_object_get(taint, "key"));
	size_t i;
	json_t *tol;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "tolerations"), i, tol) {
		const char *key = json_string_value(json_object_get(tol, "key"));
		const char *op = json_string_value(json_object_get(tol, "operator"));
		const char *eff = json_string_value(json_object_get(tol, "effect"));
		bool exists = op && !strcmp(op, "Exists");
		if (eff && *eff && strcmp(eff, "NoExecute"))
			continue;
		if (key && *key ? strcmp(key, tkey) : !exists)
			continue;
		json_t *secs = json_object_get(tol, "tolerationSeconds");
		if (!json_is_integer(secs))
			return -1;
		return json_integer_value(secs) < 0 ? 0 : json_integer_value(secs);
	}
	return dflt;
}

static void evict(struct nlc_ctrl *nc, const json_t *node, time_t now)
{
	const char *node_name = obj_meta_str(node, "name");
	json_t *taint = NULL;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t) {
		const char *key = json_string_value(json_object_get(t, "key"));
		const char *eff = json_string_value(json_object_get(t, "effect"));
		if (key && eff && !strcmp(eff, "NoExecute") &&
		    (!strcmp(key, UNREACHABLE) || !strcmp(key, NOT_READY)))
			taint = t;
	}
	if (!taint)
		return;
	time_t added = ctrl_parse_time(json_string_value(json_object_get(taint, "timeAdded")));
	if (!added)
		added = now;
	cleanup_json json_t *all = informer_list(nc->pods);
	json_t *pod;
	json_array_foreach(all, i, pod) {
		const char *nn = json_string_value(
			json_object_get(json_object_get(pod, "spec"), "nodeName"));
		if (!nn || strcmp(nn, node_name) ||
		    json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
			continue;
		int64_t secs = toleration_seconds(pod, taint, nc->default_toleration_s);
		if (secs < 0 || now < added + secs)
			continue;
		cleanup_free char *path =
			xasprintf("/api/v1/namespaces/%s/pods/%s", obj_meta_str(pod, "namespace"),
				  obj_meta_str(pod, "name"));
		cleanup_err struct mk_err *err = NULL;
		if (client_delete(nc->c, path, NULL, &err) < 0) {
			if (mk_err_code(err) != MK_ENOTFOUND)
				log_v(1, "nodelifecycle: evicting %s: %s", path, mk_err_msg(err));
			continue;
		}
		log_info("nodelifecycle: evicted pod %s/%s from node %s",
			 obj_meta_str(pod, "namespace"), obj_meta_str(pod, "name"), node_name);
		events_post(nc->c, "taint-eviction-controller", "Pod", "v1", pod, "Normal",
			    "TaintManagerEviction", "Marking for deletion Pod %s/%s",
			    obj_meta_str(pod, "namespace"), obj_meta_str(pod, "name"));
	}
}

static void monitor(void *arg)
{
	struct nlc_ctrl *nc = arg;
	time_t now = time(NULL);
	cleanup_free char *stamp = time_rfc3339(now);
	cleanup_json json_t *nodes = informer_list(nc->nodes);
	size_t i;
	json_t *node;
	json_array_foreach(nodes, i, node) {
		const char *name = obj_meta_str(node, "name");
		if (!name)
			continue;
		json_t *cur = json_incref(node);
		time_t alive = last_alive(nc, node, now);
		const char *ready =
			json_string_value(json_object_get(condition(node, "Ready"), "status"));
		if ((now - alive) * 1000 > nc->grace_ms && (!ready || strcmp(ready, "Unknown"))) {
			log_info("nodelifecycle: node %s hasn't been updated for %llds, marking it "
				 "Unknown",
				 name, (long long)(now - alive));
			json_t *upd = mark_unknown(nc, node, stamp);
			if (upd) {
				json_decref(cur);
				cur = upd;
				events_post(nc->c, "node-controller", "Node", "v1", node, "Normal",
					    "NodeNotReady", "Node %s status is now: NodeNotReady",
					    name);
				mark_pods_not_ready(nc, name, stamp);
			}
		}
		sync_taints(nc, cur, stamp);
		evict(nc, node, now);
		json_decref(cur);
	}
	/* forget nodes that are gone */
	const char *name;
	json_t *v, *tmp;
	json_object_foreach_safe(nc->first_seen, tmp, name, v) {
		cleanup_json json_t *n = informer_get(nc->nodes, name);
		if (!n)
			json_object_del(nc->first_seen, name);
	}
}

int nodelifecycle_controller_start(struct daemon *d, const struct manager_options *o,
				    struct mk_err **err)
{
	struct nlc_ctrl *nc = xcalloc(1, sizeof(*nc));
	nc->c = daemon_client_new(d, err);
	if (!nc->c)
		return -1;
	nc->grace_ms = o->node_monitor_grace_ms;
	nc->default_toleration_s = o->pod_eviction_timeout_s;
	nc->first_seen = json_object();
	nc->nodes = manager_informer(d, MGR_NODES, NULL, err);
	nc->leases = manager_informer(d, MGR_NODE_LEASES, NULL, err);
	nc->pods = manager_informer(d, MGR_PODS, NULL, err);
	if (!nc->nodes || !nc->leases || !nc->pods)
		return -1;
	/* one thread: monitor() keeps first_seen without a lock */
	return daemon_every(d, "nodelifecycle", o->node_monitor_period_ms, false, monitor, nc,
				    err);
}
