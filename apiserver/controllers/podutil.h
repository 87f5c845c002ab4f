/* Small questions about pods that several controllers ask. */
#ifndef MK_CONTROLLERS_PODUTIL_H
#define MK_CONTROLLERS_PODUTIL_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

/* status.conditions Ready == True. */
bool pod_is_ready(const json_t *pod);
/* Ready for at least min_ready_seconds at now (upstream's "available"). */
bool pod_is_available(const json_t *pod, long min_ready_seconds, time_t now);
/* phase Succeeded or Failed. */
bool pod_is_terminal(const json_t *pod);
/* Neither terminal nor being deleted. */
bool pod_is_active(const json_t *pod);
/* status.podIP, or NULL if none yet (borrowed from pod). */
const char *pod_ip(const json_t *pod);
/* uid of the controller ownerReference, or NULL (borrowed from pod). */
const char *pod_controller_uid(const json_t *pod);

#endif
