/* The DaemonSet controller's decisions, free of I/O: which nodes a
 * DaemonSet's pod belongs on, the pod it makes for a node, the template
 * hash that tells old pods from new ones, and the status counts. */
#ifndef MK_CONTROLLERS_DAEMONSET_PLAN_H
#define MK_CONTROLLERS_DAEMONSET_PLAN_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

/* The label that carries a pod's template hash, as upstream. */
#define DS_HASH_LABEL "controller-revision-hash"

/* Upstream's controller-revision-hash of ds's spec.template: the 32-bit
 * FNV-1a of its canonical JSON, in upstream's safe alphabet
 * ("bcdfghjklmnpqrstvwxz2456789"). New string, free(). */
char *ds_template_hash(const json_t *ds);

/* The tolerations upstream's DaemonSet controller adds to every daemon pod
 * (not-ready and unreachable NoExecute; disk-, memory-, pid-pressure and
 * unschedulable NoSchedule; network-unavailable NoSchedule with
 * hostNetwork), merged into the pod spec's tolerations in place. */
void ds_add_tolerations(json_t *pod_spec);

/* Whether a pod of ds belongs on node, as upstream's nodeShouldRunDaemonPod:
 * the template's nodeSelector, its required node affinity, and every
 * NoSchedule/NoExecute taint tolerated by the template's tolerations plus
 * the added ones. */
bool ds_should_run(const json_t *ds, const json_t *node);

/* The new pod of ds for node: generateName "<ds>-", the template's labels
 * plus the hash label (hash) and pod-template-generation, a controller
 * ownerReference, the added tolerations, and a required node affinity on
 * matchFields metadata.name == node (so the scheduler binds it there). New
 * ref. */
json_t *ds_pod_for_node(const json_t *ds, const char *node, const char *hash);

/* The node a daemon pod is for: spec.nodeName, else the value of its
 * matchFields metadata.name affinity; NULL if neither (borrowed). */
const char *ds_pod_node(const json_t *pod);

/* maxUnavailable of a RollingUpdate strategy against desired nodes (a
 * percent rounds up, as upstream), at least 1 unless maxSurge is set. */
long ds_max_unavailable(const json_t *ds, long desired);

/* maxSurge of a RollingUpdate strategy against desired nodes (a percent
 * rounds up); 0 when unset. */
long ds_max_surge(const json_t *ds, long desired);

#endif
