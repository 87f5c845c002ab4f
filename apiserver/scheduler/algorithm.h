/* The scheduling decision, free of I/O: a snapshot of nodes and of the pods
 * bound to them, the filters (readiness, unschedulable, taints and
 * tolerations, nodeSelector, required node affinity, resource fit, host
 * ports) and the scores (least allocated, spreading pods of one owner).
 * Not thread-safe: the scheduler's workers take turns under one lock. */
#ifndef MK_SCHEDULER_ALGORITHM_H
#define MK_SCHEDULER_ALGORITHM_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"

struct sched_snapshot;

/* New empty snapshot; free with sched_snapshot_free. */
struct sched_snapshot *sched_snapshot_new(void);
void sched_snapshot_free(struct sched_snapshot *s);

/* Adds or replaces a node (by metadata.name). node is copied. */
void sched_snapshot_set_node(struct sched_snapshot *s, const json_t *node);
void sched_snapshot_remove_node(struct sched_snapshot *s, const char *name);

/* Accounts a pod (by metadata.uid) on its spec.nodeName; pods without a node
 * or in a terminal phase are forgotten. Calling it again for the same uid
 * replaces the previous accounting. pod is read, not kept. */
void sched_snapshot_set_pod(struct sched_snapshot *s, const json_t *pod);
void sched_snapshot_remove_pod(struct sched_snapshot *s, const char *uid);
/* Accounts pod on node before the API confirms the binding ("assume"). */
void sched_snapshot_assume(struct sched_snapshot *s, const json_t *pod, const char *node);

/* Picks the best node for pod. Returns 0 and *node (new string) on success;
 * returns -1 with MK_ENOTFOUND and upstream's FailedScheduling message
 * ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated
 * taint {k: v}. preemption: ...") in *err when no node fits. */
int sched_pick(struct sched_snapshot *s, const json_t *pod, char **node, struct mk_err **err);

/* Sum of container requests (max with init containers, as upstream) in
 * milli-units for cpu, bytes*1000 for memory. */
void sched_pod_requests(const json_t *pod, int64_t *cpu_milli, int64_t *mem_milli);

#endif
