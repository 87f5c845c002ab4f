/* The status manager: pushes pod statuses to the API server off the pod
 * workers' path, keeps one mirror pod per static pod, and deletes API pods
 * for good once the kubelet has killed them.
 *
 * Its queue holds two kinds of keys: a pod UID (push that pod's status) and
 * "mirror:<ns>/<name>" (make the mirror pod of that static pod exist, or go
 * when the static pod is gone). */
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

void statusmgr_changed(struct kubelet *k, struct kpod *kp)
{
	if (k->c && k->statusq)
		workqueue_add(k->statusq, kp->uid);
}

static void queue_mirror(struct kubelet *k, const char *ns, const char *name)
{
	if (!k->c || !k->statusq)
		return;
	cleanup_free char *key = xasprintf("mirror:%s/%s", ns, name);
	workqueue_add(k->statusq, key);
}

void statusmgr_mirror_seen(struct kubelet *k, const json_t *pod, bool present)
{
	const char *ns = json_string_value(json_path_get(pod, "metadata.namespace"));
	const char *name = json_string_value(json_path_get(pod, "metadata.name"));
	const char *uid = json_string_value(json_path_get(pod, "metadata.uid"));
	if (!ns || !name || !uid)
		return;
	cleanup_free char *key = xasprintf("%s/%s", ns, name);
	pthread_mutex_lock(&k->mu);
	if (present) {
		json_object_set_new(k->mirrors, key,
				    json_pack("{s:s, s:s, s:b}", "uid", uid, "hash",
					      json_string_value(json_object_get(
						      json_path_get(pod, "metadata.annotations"),
						      MIRROR_ANNOTATION))
						      ?: "",
					      "deleting",
					      json_path_get(pod, "metadata.deletionTimestamp") != NULL));
	} else {
		json_object_del(k->mirrors, key);
	}
	/* a new mirror gets the static pod's status */
	cleanup_free char *static_uid = NULL;
	for (struct kpod *kp = k->pods; present && kp; kp = kp->next)
		if (kp->is_static && !kp->removed && !strcmp(kp->ns, ns) && !strcmp(kp->name, name))
			static_uid = xstrdup(kp->uid);
	pthread_mutex_unlock(&k->mu);
	queue_mirror(k, ns, name);
	if (static_uid && k->statusq)
		workqueue_add(k->statusq, static_uid);
}

/* The static pod (new reference) whose full name is ns/name and that still
 * runs, or NULL. */
static json_t *static_pod(struct kubelet *k, const char *ns, const char *name)
{
	json_t *out = NULL;
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		if (kp->is_static && !kp->removed && kp->pod && !strcmp(kp->ns, ns) &&
		    !strcmp(kp->name, name))
			out = json_incref(kp->pod);
	pthread_mutex_unlock(&k->mu);
	return out;
}

static json_t *mirror_of(const json_t *pod, const char *node_uid, const char *node_name)
{
	json_t *m = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Pod");
	const json_t *meta = json_object_get(pod, "metadata");
	json_t *mm = json_object();
	const char *keep[] = {"name", "namespace", "labels", "annotations"};
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(meta, keep[i]);
		if (v)
			json_object_set_new(mm, keep[i], json_copy_deep(v));
	}
	json_t *ann = json_object_get(mm, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(mm, "annotations", ann);
	}
	json_object_set_new(ann, MIRROR_ANNOTATION,
			    json_string(json_string_value(json_object_get(
				    json_object_get(meta, "annotations"), "kubernetes.io/config.hash"))
					?: ""));
	if (node_uid)
		json_object_set_new(mm, "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "v1",
					      "kind", "Node", "name", node_name, "uid", node_uid,
					      "controller", 1));
	json_object_set_new(m, "metadata", mm);
	json_object_set_new(m, "spec", json_copy_deep(json_object_get(pod, "spec")));
	return m;
}

static int sync_mirror(struct kubelet *k, const char *ns, const char *name, struct mk_err **err)
{
	cleanup_free char *key = xasprintf("%s/%s", ns, name);
	cleanup_json json_t *pod = static_pod(k, ns, name);
	pthread_mutex_lock(&k->mu);
	cleanup_json json_t *mirror = json_incref(json_object_get(k->mirrors, key));
	pthread_mutex_unlock(&k->mu);
	const char *hash = json_string_value(
		json_object_get(json_path_get(pod, "metadata.annotations"), "kubernetes.io/config.hash"));
	const char *mhash = json_string_value(json_object_get(mirror, "hash"));
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	if (mirror && (!pod || !hash || !mhash || strcmp(hash, mhash) ||
		       json_is_true(json_object_get(mirror, "deleting")))) {
		/* A mirror of another manifest, or of none, or one a user
		 * deleted (a new one follows once it is gone): it goes at once. */
		cleanup_json json_t *opts = json_pack(
			"{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
			"gracePeriodSeconds", 0, "preconditions", "uid",
			json_string_value(json_object_get(mirror, "uid")));
		cleanup_err struct mk_err *derr = NULL;
		if (client_delete(k->c, path, opts, &derr) < 0) {
			if (mk_err_code(derr) == MK_ENOTFOUND || mk_err_code(derr) == MK_ECONFLICT)
				return 0; /* gone already, or replaced */
			return mk_err_set(err, mk_err_code(derr), "deleting mirror pod %s: %s", key,
					  mk_err_msg(derr));
		}
		log_info("Deleted mirror pod %s", key);
		return 0;
	}
	if (!pod || mirror)
		return 0;
	cleanup_err struct mk_err *nerr = NULL;
	cleanup_free char *npath = xasprintf("/api/v1/nodes/%s", k->node_name);
	cleanup_json json_t *node = client_get(k->c, npath, &nerr);
	cleanup_json json_t *m = mirror_of(pod, json_string_value(json_path_get(node, "metadata.uid")),
					   k->node_name);
	cleanup_free char *coll = xasprintf("/api/v1/namespaces/%s/pods", ns);
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(k->c, coll, m, &cerr);
	if (!made && mk_err_code(cerr) != MK_EEXISTS)
		return mk_err_set(err, mk_err_code(cerr), "creating mirror pod %s: %s", key,
				  mk_err_msg(cerr));
	if (made) {
		log_info("Created mirror pod %s", key);
		/* Its status comes from the static pod's record. */
		const char *uid = json_string_value(json_path_get(pod, "metadata.uid"));
		if (uid)
			workqueue_add(k->statusq, uid);
	}
	return 0;
}

static int push_status(struct kubelet *k, const char *uid, struct mk_err **err)
{
	pthread_mutex_lock(&k->mu);
	struct kpod *kp = kubelet_pod_find(k, uid);
	if (!kp || !kp->status || !kp->pod) {
		pthread_mutex_unlock(&k->mu);
		return 0;
	}
	cleanup_json json_t *status = json_copy_deep(kp->status);
	cleanup_free char *ns = xstrdup(kp->ns), *name = xstrdup(kp->name);
	bool is_static = kp->is_static;
	cleanup_free char *target_uid = xstrdup(uid);
	if (is_static) {
		cleanup_free char *key = xasprintf("%s/%s", ns, name);
		const char *muid = json_string_value(
			json_object_get(json_object_get(k->mirrors, key), "uid"));
		free(target_uid);
		target_uid = muid ? xstrdup(muid) : NULL;
	}
	pthread_mutex_unlock(&k->mu);
	if (!target_uid) {
		queue_mirror(k, ns, name);
		return 0; /* no mirror yet: its creation queues this again */
	}
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
	cleanup_json json_t *patch =
		json_pack("{s:{s:s}, s:O}", "metadata", "uid", target_uid, "status", status);
	cleanup_err struct mk_err *perr = NULL;
	cleanup_json json_t *out = client_patch(k->c, path, "strategic", patch, &perr);
	if (!out) {
		if (mk_err_code(perr) == MK_ENOTFOUND)
			return 0;
		return mk_err_set(err, mk_err_code(perr), "updating the status of pod %s/%s: %s", ns,
				  name, mk_err_msg(perr));
	}
	log_v(3, "Patched status of pod %s/%s", ns, name);
	return 0;
}

static int status_sync(const char *key, void *arg, struct mk_err **err)
{
	struct kubelet *k = arg;
	if (!strncmp(key, "mirror:", 7)) {
		const char *nsname = key + 7;
		const char *slash = strchr(nsname, '/');
		if (!slash)
			return 0;
		cleanup_free char *ns = xstrndup(nsname, (size_t)(slash - nsname));
		return sync_mirror(k, ns, slash + 1, err);
	}
	return push_status(k, key, err);
}

void statusmgr_finished(struct kubelet *k, struct kpod *kp)
{
	bool api_delete = k->c && kp->deleting && !kp->is_static;
	if (kp->is_static)
		queue_mirror(k, kp->ns, kp->name);
	if (api_delete) {
		cleanup_free char *path =
			xasprintf("/api/v1/namespaces/%s/pods/%s", kp->ns, kp->name);
		cleanup_json json_t *opts =
			json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion",
				  "v1", "gracePeriodSeconds", 0, "preconditions", "uid", kp->uid);
		cleanup_err struct mk_err *err = NULL;
		if (client_delete(k->c, path, opts, &err) < 0 && mk_err_code(err) != MK_ENOTFOUND &&
		    mk_err_code(err) != MK_ECONFLICT) {
			log_warn("deleting pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(err));
			kubelet_enqueue_after(k, kp->uid, 2000);
			return;
		}
		log_info("Pod %s/%s deleted from the API", kp->ns, kp->name);
	}
	pthread_mutex_lock(&k->mu);
	/* A pod set again meanwhile (re-added by its source) stays. */
	if (kp->removed || (kp->deleting && (api_delete || !k->c))) {
		for (struct kpod **pp = &k->pods; *pp; pp = &(*pp)->next)
			if (*pp == kp) {
				*pp = kp->next;
				kubelet_pod_free(kp);
				break;
			}
	}
	pthread_mutex_unlock(&k->mu);
}

int statusmgr_start(struct kubelet *k, struct mk_err **err)
{
	k->statusq = workqueue_new_with_backoff(500, 30000);
	return daemon_workers(k->d, "status", k->statusq, 2, status_sync, k, err);
}

/* Every static pod has its mirror (checked periodically, as the API may
 * have been down when it was first made). */
void statusmgr_resync_mirrors(void *arg)
{
	struct kubelet *k = arg;
	if (!k->c)
		return;
	cleanup_json json_t *keys = json_array();
	pthread_mutex_lock(&k->mu);
	for (struct kpod *kp = k->pods; kp; kp = kp->next)
		if (kp->is_static && !kp->removed)
			json_array_append_new(keys, json_pack("[s,s]", kp->ns, kp->name));
	const char *key;
	json_t *v;
	json_object_foreach(k->mirrors, key, v)
	{
		const char *slash = strchr(key, '/');
		if (slash)
			json_array_append_new(keys, json_pack("[s%,s]", key, (size_t)(slash - key),
							      slash + 1));
	}
	pthread_mutex_unlock(&k->mu);
	size_t i;
	json_array_foreach(keys, i, v)
		queue_mirror(k, json_string_value(json_array_get(v, 0)),
			     json_string_value(json_array_get(v, 1)));
}
