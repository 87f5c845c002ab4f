/* A pod's status as the kubelet reports it, computed from the pod's spec
 * and what the kubelet knows of its sandbox and containers: phase (with
 * upstream's getPhase rules), conditions PodReadyToStartContainers,
 * Initialized, ContainersReady, Ready and PodScheduled (with upstream's
 * reasons and messages), hostIP(s), podIP(s), startTime, qosClass and the
 * init and app container statuses. */
#ifndef MK_KUBELET_PODSTATUS_H
#define MK_KUBELET_PODSTATUS_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

struct kpod;

/* The status of kp for its spec pod (both borrowed; kp's fields read as
 * they are, the caller holds what lock protects them). old is the status
 * reported before (may be NULL): conditions keep their lastTransitionTime
 * while their status does not change. now is the time of the report.
 * New reference. */
json_t *podstatus_compute(const struct kpod *kp, const json_t *pod, const char *host_ip,
			  const json_t *old, time_t now);

/* upstream's getPhase over container statuses already computed
 * (initStatuses/statuses: arrays of ContainerStatus). Static string. */
const char *podstatus_phase(const json_t *spec, const json_t *init_statuses,
			    const json_t *statuses);

/* True if status (borrowed) is terminal: phase Succeeded or Failed. */
bool podstatus_terminal(const json_t *status);

#endif
