/* StatefulSet controller: pods with stable names "<set>-<ordinal>",
 * hostname the pod's name and subdomain the set's serviceName, made as
 * upstream's OrderedReady policy makes them: one at a time in ordinal order,
 * each only once the ones before it are Running and Ready; removed from the
 * highest ordinal down; a new template replaces pods from the highest
 * ordinal down to the partition, one at a time. Parallel creates and removes
 * them all at once. Templates are recorded as ControllerRevisions
 * (history.c); the status carries the counts and the current and update
 * revisions `kubectl rollout status` reads.
 *
 * The names are fixed, so a sync whose cache lags behind its own writes
 * gets AlreadyExists or NotFound, both harmless: no expectations needed. */
#include <stdio.h>
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

#define COMPONENT "statefulset-controller"

struct sts_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *pods, *sets, *revs;
};

static char *owner_key(const json_t *obj)
{
	json_t *ref = obj_controller_ref(obj);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!kind || strcmp(kind, "StatefulSet") || !name)
		return NULL;
	return ctrl_key(obj_meta_str(obj, "namespace"), name);
}

static void on_pod(json_t *pod, void *arg)
{
	struct sts_ctrl *sc = arg;
	cleanup_free char *key = owner_key(pod);
	if (key)
		workqueue_add(sc->q, key);
}

static void on_pod_update(json_t *old, json_t *pod, void *arg)
{
	(void)old;
	on_pod(pod, arg);
}

static void on_set(json_t *set, void *arg)
{
	struct sts_ctrl *sc = arg;
	cleanup_free char *key = informer_key(set);
	if (key)
		workqueue_add(sc->q, key);
}

static void on_set_update(json_t *old, json_t *set, void *arg)
{
	(void)old;
	on_set(set, arg);
}

/* The ordinal of a pod named "<set>-<n>", or -1. */
static long ordinal_of(const char *set, const char *pod)
{
	size_t n = strlen(set);
	if (!pod || strncmp(pod, set, n) || pod[n] != '-' || !pod[n + 1])
		return -1;
	char *end;
	long o = strtol(pod + n + 1, &end, 10);
	return *end || o < 0 ? -1 : o;
}

static json_t *pod_for(const json_t *set, long ord, const char *rev_hash)
{
	json_t *meta = json_object_get(set, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	cleanup_free char *pname = xasprintf("%s-%ld", name, ord);
	cleanup_free char *idx = xasprintf("%ld", ord);
	cleanup_free char *rev = xasprintf("%s-%s", name, rev_hash);
	json_t *tmeta = json_path_get(set, "spec.template.metadata");
	json_t *labels = json_object_get(tmeta, "labels");
	labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
	json_object_set_new(labels, DS_HASH_LABEL, json_string(rev));
	json_object_set_new(labels, "statefulset.kubernetes.io/pod-name", json_string(pname));
	json_object_set_new(labels, "apps.kubernetes.io/pod-index", json_string(idx));
	json_t *pod =
		json_pack("{s:s, s:s, s:{s:s, s:O, s:o, s:[{s:s, s:s, s:O, s:O, s:b, s:b}]}}",
			  "apiVersion", "v1", "kind", "Pod", "metadata", "name", pname, "namespace",
			  json_object_get(meta, "namespace"), "labels", labels, "ownerReferences",
			  "apiVersion", "apps/v1", "kind", "StatefulSet", "name",
			  json_object_get(meta, "name"), "uid", json_object_get(meta, "uid"),
			  "controller", 1, "blockOwnerDeletion", 1);
	json_t *ann = json_object_get(tmeta, "annotations");
	if (json_is_object(ann) && json_object_size(ann))
		json_path_set(pod, "metadata.annotations", json_deep_copy(ann));
	json_t *spec = json_path_get(set, "spec.template.spec");
	spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
	json_object_set_new(spec, "hostname", json_string(pname));
	const char *svc = json_path_str(set, "spec.serviceName");
	if (svc && svc[0])
		json_object_set_new(spec, "subdomain", json_string(svc));
	json_object_set_new(pod, "spec", spec);
	return pod;
}

static int create_pod(struct sts_ctrl *sc, const json_t *set, long ord, const char *hash,
		      struct mk_err **err)
{
	cleanup_json json_t *pod = pod_for(set, ord, hash);
	const char *ns = obj_meta_str(set, "namespace");
	cleanup_free char *coll = xasprintf("/api/v1/namespaces/%s/pods", ns);
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(sc->c, coll, pod, &cerr);
	const char *pname = json_path_str(pod, "metadata.name");
	if (!made && mk_err_code(cerr) == MK_EEXISTS)
		return 0;
	if (!made) {
		events_post(sc->c, COMPONENT, "StatefulSet", "apps/v1", set, "Warning",
			    "FailedCreate", "create Pod %s in StatefulSet %s failed error: %s",
			    pname, obj_meta_str(set, "name"), mk_err_msg(cerr));
		return mk_err_set(err, mk_err_code(cerr), "creating pod %s: %s", pname,
				  mk_err_msg(cerr));
	}
	events_post(sc->c, COMPONENT, "StatefulSet", "apps/v1", set, "Normal", "SuccessfulCreate",
		    "create Pod %s in StatefulSet %s successful", pname, obj_meta_str(set, "name"));
	return 0;
}

static int delete_pod(struct sts_ctrl *sc, const json_t *set, const json_t *pod,
		      struct mk_err **err)
{
	const char *pname = obj_meta_str(pod, "name");
	cleanup_free char *path =
		xasprintf("/api/v1/namespaces/%s/pods/%s", obj_meta_str(pod, "namespace"), pname);
	cleanup_err struct mk_err *derr = NULL;
	if (client_delete(sc->c, path, NULL, &derr) < 0) {
		if (mk_err_code(derr) == MK_ENOTFOUND)
			return 0;
		events_post(sc->c, COMPONENT, "StatefulSet", "apps/v1", set, "Warning",
			    "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %s",
			    pname, obj_meta_str(set, "name"), mk_err_msg(derr));
		return mk_err_set(err, mk_err_code(derr), "deleting pod %s: %s", pname,
				  mk_err_msg(derr));
	}
	events_post(sc->c, COMPONENT, "StatefulSet", "apps/v1", set, "Normal", "SuccessfulDelete",
		    "delete Pod %s in StatefulSet %s successful", pname, obj_meta_str(set, "name"));
	return 0;
}

static bool running_ready(const json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	return phase && !strcmp(phase, "Running") && pod_is_ready(pod) &&
	       !json_path_get(pod, "metadata.deletionTimestamp");
}

static const char *pod_rev(const json_t *pod)
{
	return json_string_value(json_path_get(pod, "metadata.labels." DS_HASH_LABEL));
}

static int update_status(struct sts_ctrl *sc, const json_t *set, json_t *st, struct mk_err **err)
{
	json_t *old = json_object_get(set, "status");
	json_t *conds = json_object_get(old, "conditions");
	if (conds)
		json_object_set(st, "conditions", conds);
	return status_write(sc->c, set, "apps/v1", "StatefulSet", "statefulsets", st, NULL, err) < 0 ? -1 : 0;
}

static int sync_set(const char *key, void *arg, struct mk_err **err)
{
	struct sts_ctrl *sc = arg;
	cleanup_json json_t *set = informer_get(sc->sets, key);
	if (!set)
		return 0;
	const char *ns = obj_meta_str(set, "namespace");
	const char *uid = obj_meta_str(set, "uid");
	const char *name = obj_meta_str(set, "name");
	if (!ns || !uid || !name)
		return 0;
	bool deleting = json_path_get(set, "metadata.deletionTimestamp") != NULL;
	cleanup_free char *hash = ds_template_hash(set);
	cleanup_free char *update_rev = xasprintf("%s-%s", name, hash);
	if (!deleting && history_sync(sc->c, sc->revs, set, "StatefulSet", hash, err) < 0)
		return -1;
	json_t *r = json_path_get(set, "spec.replicas");
	long replicas = json_is_integer(r) ? (long)json_integer_value(r) : 1;
	bool parallel = !strcmp(json_path_str(set, "spec.podManagementPolicy")
					? json_path_str(set, "spec.podManagementPolicy")
					: "",
				"Parallel");
	const char *type = json_path_str(set, "spec.updateStrategy.type");
	bool rolling = type && !strcmp(type, "RollingUpdate");
	long partition = (long)json_integer_value(
		json_path_get(set, "spec.updateStrategy.rollingUpdate.partition"));
	json_t *mrs = json_path_get(set, "spec.minReadySeconds");
	long min_ready = json_is_integer(mrs) ? (long)json_integer_value(mrs) : 0;
	const char *cur_rev = json_path_str(set, "status.currentRevision");
	if (!cur_rev || !cur_rev[0])
		cur_rev = update_rev;

	/* the set's pods by ordinal; others of its (ordinal beyond replicas) */
	cleanup_json json_t *by_ord = json_object();
	cleanup_json json_t *all = informer_list(sc->pods);
	long top = replicas;
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod)
	{
		const char *pns = obj_meta_str(pod, "namespace");
		const char *cuid = pod_controller_uid(pod);
		if (!pns || strcmp(pns, ns) || !cuid || strcmp(cuid, uid))
			continue;
		long o = ordinal_of(name, obj_meta_str(pod, "name"));
		if (o < 0)
			continue;
		char k[32];
		snprintf(k, sizeof(k), "%ld", o);
		json_object_set(by_ord, k, pod);
		if (o + 1 > top)
			top = o + 1;
	}

	long count = 0, ready = 0, available = 0, current = 0, updated = 0;
	time_t now = time(NULL);
	for (long o = 0; o < top; o++) {
		char k[32];
		snprintf(k, sizeof(k), "%ld", o);
		pod = json_object_get(by_ord, k);
		if (!pod || pod_is_terminal(pod))
			continue;
		count++;
		ready += pod_is_ready(pod);
		available += pod_is_available(pod, min_ready, now);
		const char *pr = pod_rev(pod);
		current += pr && !strcmp(pr, cur_rev);
		updated += pr && !strcmp(pr, update_rev);
	}

	int rc = 0;
	if (!deleting) {
		bool blocked = false; /* OrderedReady waits for the pod it acted on */
		for (long o = 0; o < replicas && !blocked; o++) {
			char k[32];
			snprintf(k, sizeof(k), "%ld", o);
			pod = json_object_get(by_ord, k);
			if (pod && json_path_get(pod, "metadata.deletionTimestamp")) {
				blocked = !parallel;
				continue;
			}
			if (pod && pod_is_terminal(pod)) {
				/* a failed pod is replaced, as upstream */
				rc |= delete_pod(sc, set, pod, err);
				blocked = !parallel;
				continue;
			}
			if (!pod) {
				/* below the partition a new pod keeps the current revision */
				bool keep_old =
					rolling && o < partition && strcmp(cur_rev, update_rev);
				const char *h = keep_old ? cur_rev + strlen(name) + 1 : hash;
				rc |= create_pod(sc, set, o, h, err);
				blocked = !parallel;
				continue;
			}
			if (!running_ready(pod))
				blocked = !parallel;
		}
		/* scale down from the highest ordinal once the rest is settled */
		for (long o = top - 1; o >= replicas && (!blocked || parallel); o--) {
			char k[32];
			snprintf(k, sizeof(k), "%ld", o);
			pod = json_object_get(by_ord, k);
			if (!pod)
				continue;
			if (!json_path_get(pod, "metadata.deletionTimestamp"))
				rc |= delete_pod(sc, set, pod, err);
			blocked = true;
			if (!parallel)
				break;
		}
		/* a new template: the highest old pod at or above the partition goes */
		if (rolling && !blocked) {
			for (long o = replicas - 1; o >= partition; o--) {
				char k[32];
				snprintf(k, sizeof(k), "%ld", o);
				pod = json_object_get(by_ord, k);
				const char *pr = pod ? pod_rev(pod) : NULL;
				if (!pod || (pr && !strcmp(pr, update_rev)))
					continue;
				rc |= delete_pod(sc, set, pod, err);
				break;
			}
		}
	}

	json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:I}", "observedGeneration",
			       json_integer_value(json_path_get(set, "metadata.generation")),
			       "replicas", (json_int_t)count, "readyReplicas", (json_int_t)ready,
			       "availableReplicas", (json_int_t)available, "updatedReplicas",
			       (json_int_t)updated, "currentRevision", cur_rev, "updateRevision",
			       update_rev, "collisionCount", (json_int_t)0);
	/* the rollout is complete: the update revision becomes the current one */
	if (updated == replicas && count == replicas && ready == replicas) {
		json_object_set_new(st, "currentRevision", json_string(update_rev));
		current = updated;
	}
	json_object_set_new(st, "currentReplicas", json_integer(current));
	cleanup_json json_t *status = st;
	cleanup_err struct mk_err *serr = NULL;
	if (update_status(sc, set, status, &serr) < 0) {
		if (!*err)
			mk_err_set(err, mk_err_code(serr), "updating status: %s", mk_err_msg(serr));
		return -1;
	}
	if (min_ready > 0 && ready > available)
		workqueue_add_after(sc->q, key, 1000);
	return rc ? -1 : 0;
}

int statefulset_controller_start(struct daemon *d, const struct manager_options *o,
				 struct mk_err **err)
{
	(void)o;
	struct sts_ctrl *sc = xcalloc(1, sizeof(*sc));
	sc->c = daemon_client_new(d, err);
	if (!sc->c)
		return -1;
	sc->q = workqueue_new();
	struct informer_handlers ph = {
		.on_add = on_pod, .on_update = on_pod_update, .on_delete = on_pod, .arg = sc};
	struct informer_handlers sh = {.on_add = on_set, .on_update = on_set_update, .arg = sc};
	sc->pods = manager_informer(d, MGR_PODS, &ph, err);
	sc->sets = manager_informer(d, MGR_STATEFULSETS, &sh, err);
	sc->revs = manager_informer(d, MGR_CONTROLLERREVISIONS, NULL, err);
	if (!sc->pods || !sc->sets || !sc->revs)
		return -1;
	return daemon_workers(d, "statefulset", sc->q, 5, sync_set, sc, err);
}
