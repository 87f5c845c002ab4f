/* What a pod has on the node besides its sandbox and containers: its
 * directory under <root-dir>/pods/<uid> (the pod as last run, its etc files,
 * volumes), its cgroup, and its logs directory. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "informer.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"
#include "kubelet/cgroups.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/volumes.h"

char *podfs_dir(struct kubelet *k, const char *uid)
{
	return xasprintf("%s/pods/%s", k->cfg.root_dir, uid);
}

char *podfs_log_dir(struct kubelet *k, const json_t *pod)
{
	return xasprintf("%s/%s_%s_%s", k->cfg.log_dir,
			 json_string_value(json_path_get(pod, "metadata.namespace")),
			 json_string_value(json_path_get(pod, "metadata.name")),
			 json_string_value(json_path_get(pod, "metadata.uid")));
}

/* ConfigMaps and Secrets for volumes and env: from the informers' caches
 * when they synced, else straight from the API server. */
json_t *kubelet_lookup(void *arg, const char *kind, const char *ns, const char *name,
		       struct mk_err **err)
{
	struct kubelet *k = arg;
	if (!k->c)
		return mk_err_set(err, MK_ENOTFOUND, "%s \"%s\" not found",
				  !strcmp(kind, "Secret") ? "secret" : "configmap", name),
		       NULL;
	bool secret = !strcmp(kind, "Secret");
	struct informer *inf = secret ? k->secret_inf : k->cm_inf;
	cleanup_free char *key = xasprintf("%s/%s", ns, name);
	if (inf && informer_has_synced(inf)) {
		json_t *obj = informer_get(inf, key);
		if (!obj)
			mk_err_set(err, MK_ENOTFOUND, "%s \"%s\" not found",
				   secret ? "secret" : "configmap", name);
		return obj;
	}
	cleanup_free char *path = xasprintf("/api/v1/namespaces/%s/%s/%s", ns,
					    secret ? "secrets" : "configmaps", name);
	cleanup_err struct mk_err *gerr = NULL;
	json_t *obj = client_get(k->c, path, &gerr);
	if (!obj)
		return mk_err_set(err, mk_err_code(gerr), "%s \"%s\" not found",
				  secret ? "secret" : "configmap", name),
		       NULL;
	return obj;
}

void podfs_volumes_ctx(struct kubelet *k, struct kpod *kp, struct volumes_ctx *vc, char *pod_dir)
{
	*vc = (struct volumes_ctx){
		.pod_dir = pod_dir,
		.lookup = k->c ? kubelet_lookup : NULL,
		.lookup_arg = k,
		.node_name = k->node_name,
		.host_ip = k->node_ip,
		.pod_ip = kp->pod_ip,
	};
}

int podfs_prepare(struct kubelet *k, struct kpod *kp, const json_t *pod, struct mk_err **err)
{
	cleanup_free char *dir = podfs_dir(k, kp->uid);
	if (fs_mkdir_p(dir, 0750, err) < 0)
		return -1;
	/* The pod as it runs: what a restarted kubelet (and nodectl) reads.
	 * Every sync comes here. The first record is made durable (after a
	 * power loss it is what finds the pod's leftovers); later ones, mostly
	 * a new resourceVersion and the status the kubelet wrote itself, are
	 * written only when they differ, and without the fsync: an older
	 * record names the same pod. */
	cleanup_free char *text = json_dump_compact(pod);
	size_t n = strlen(text);
	cleanup_free char *pj = xasprintf("%s/pod.json", dir);
	size_t len = 0;
	cleanup_free char *old = fs_read_file(pj, n + 1, &len, NULL);
	if (!old) {
		if (fs_write_atomic(pj, text, n, 0600, err) < 0)
			return -1;
	} else if (len != n || memcmp(old, text, n)) {
		if (fs_write_atomic_nosync(pj, text, n, 0600, err) < 0)
			return -1;
	}
	if (k->cg) {
		cleanup_free char *cgpath = cgroups_pod_path(k->cfg.cgroup_root, pod, err);
		if (!cgpath)
			return -1;
		struct cgroups_limits lim;
		cgroups_pod_limits(pod, &lim);
		if (cgroups_create(k->cg, cgpath, &lim, err) < 0)
			return mk_err_wrap(err, "creating the pod cgroup %s", cgpath);
	}
	struct volumes_ctx vc;
	podfs_volumes_ctx(k, kp, &vc, dir);
	if (volumes_setup(&vc, pod, err) < 0) {
		const char *msg = mk_err_msg(*err);
		if (!kp->config_error || strcmp(kp->config_error, msg)) {
			kubelet_event(k, pod, NULL, "Warning", "FailedMount", "%s", msg);
			free(kp->config_error);
			kp->config_error = xstrdup(msg);
		}
		return -1;
	}
	free(kp->config_error);
	kp->config_error = NULL;
	return 0;
}

void podfs_cleanup(struct kubelet *k, struct kpod *kp)
{
	cleanup_free char *dir = podfs_dir(k, kp->uid);
	cleanup_err struct mk_err *err = NULL;
	if (volumes_teardown(dir, &err) < 0)
		log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(err));
	if (k->cg && kp->pod) {
		cleanup_free char *cgpath = cgroups_pod_path(k->cfg.cgroup_root, kp->pod, NULL);
		mk_err_free(err);
		err = NULL;
		if (cgpath && cgroups_remove(k->cg, cgpath, &err) < 0)
			log_warn("pod %s/%s: removing its cgroup: %s", kp->ns, kp->name,
				 mk_err_msg(err));
	}
	/* Logs of a pod that is gone go with it, as upstream removes them;
	 * a removed static pod's logs stay for its next run's `-p`. */
	if (kp->pod && !kp->is_static) {
		cleanup_free char *logs = podfs_log_dir(k, kp->pod);
		if (fs_remove_tree(logs, &err) < 0)
			log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(err));
		mk_err_free(err);
		err = NULL;
	}
	fs_unmount_below(dir);
	if (fs_remove_tree(dir, &err) < 0)
		log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(err));
}
