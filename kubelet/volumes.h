/* Pod volumes on the node, under <root-dir>/pods/<uid>/volumes/<plugin>/<name>
 * as upstream lays them out:
 *   emptyDir     kubernetes.io~empty-dir (a tmpfs with medium: Memory)
 *   configMap    kubernetes.io~configmap   (files written atomically)
 *   secret       kubernetes.io~secret      (a tmpfs, files written atomically)
 *   downwardAPI  kubernetes.io~downward-api
 *   projected    kubernetes.io~projected   (configMap, secret, downwardAPI sources)
 *   hostPath     the host's path itself, its type checked
 * Files of configMap, secret, downwardAPI and projected volumes are written
 * as upstream's AtomicWriter does: a timestamped directory holding the
 * files, a "..data" link to it swapped by rename, and a link per top-level
 * name into "..data", so a reader sees the old or the new set, never half. */
#ifndef MK_KUBELET_VOLUMES_H
#define MK_KUBELET_VOLUMES_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"

struct kubelet;

/* Looks up a ConfigMap or Secret "ns/name" for volumes and env: a new
 * reference, or NULL with MK_ENOTFOUND (or another error). */
typedef json_t *(*volumes_lookup_fn)(void *arg, const char *kind, const char *ns,
				     const char *name, struct mk_err **err);

struct volumes_ctx {
	const char *pod_dir;        /* <root-dir>/pods/<uid> */
	volumes_lookup_fn lookup;   /* may be NULL in standalone mode */
	void *lookup_arg;
	const char *node_name;
	const char *host_ip;
	const char *pod_ip;         /* may be NULL */
};

/* Sets up (or refreshes) every volume of pod. On failure the error names
 * the volume as upstream's FailedMount event does: `MountVolume.SetUp failed
 * for volume "cfg" : configmap "web" not found`; volumes set up before it
 * stay (the next sync retries). */
int volumes_setup(const struct volumes_ctx *vc, const json_t *pod, struct mk_err **err);

/* The bind mounts of container cspec's volumeMounts: a new array of
 * {"source", "destination", "readOnly", "propagation"} objects for the OCI
 * spec. MK_EINVAL when a mount names a volume the pod lacks or a subPath
 * escapes the volume. */
json_t *volumes_mounts(const struct volumes_ctx *vc, const json_t *pod, const json_t *cspec,
		       struct mk_err **err);

/* Unmounts and removes every volume directory of the pod (hostPath
 * volumes are left alone). */
int volumes_teardown(const char *pod_dir, struct mk_err **err);

/* Writes files atomically into dir as described above: files is an object
 * of relative path -> {"data": base64 or text, "mode": int, "binary": bool}.
 * Exposed for tests. */
int volumes_atomic_write(const char *dir, const json_t *files, struct mk_err **err);

/* The value of a downward API fieldPath of pod ("metadata.name",
 * "metadata.labels", "metadata.annotations['k']", "status.podIP",
 * "spec.nodeName", ...): a new string, or NULL with MK_EINVAL naming the
 * unsupported path. */
char *volumes_field_value(const json_t *pod, const char *field_path, const char *host_ip,
			  const char *pod_ip, struct mk_err **err);

/* The value of a resourceFieldRef of container name in pod (limits.cpu,
 * requests.memory, ... with its divisor), as upstream computes it; limits
 * default to the node's allocatable (node_cpu_milli, node_memory_bytes). */
char *volumes_resource_value(const json_t *pod, const char *container, const char *resource,
			     const char *divisor, int64_t node_cpu_milli, int64_t node_memory_bytes,
			     struct mk_err **err);

#endif
