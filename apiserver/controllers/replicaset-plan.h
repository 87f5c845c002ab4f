/* The ReplicaSet controller's decisions, free of I/O: the pod a template
 * makes, which pods to delete first, and the status counts. */
#ifndef MK_CONTROLLERS_REPLICASET_PLAN_H
#define MK_CONTROLLERS_REPLICASET_PLAN_H

#include <time.h>
#include <jansson.h>

/* A new pod for rs: generateName "<rs>-", the template's labels, annotations
 * and spec, a controller ownerReference to rs. New ref. */
json_t *rs_pod_from_template(const json_t *rs);

/* Sorts pods (array, in place) so the ones to delete first come first, as
 * upstream: unscheduled before scheduled, Pending before Unknown before
 * Running, not ready before ready, ready for less time first, more restarts
 * first, newer first. */
void rs_sort_for_deletion(json_t *pods);

/* Status of rs owning the active pods `pods` (array): replicas,
 * fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration,
 * with zero counts omitted as upstream. New ref. */
json_t *rs_status(const json_t *rs, const json_t *pods, time_t now);

#endif
