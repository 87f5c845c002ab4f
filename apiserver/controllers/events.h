/* core/v1 Events as upstream's controllers record them, so `kubectl get
 * events` and `kubectl describe` tell what a controller did. */
#ifndef MK_CONTROLLERS_EVENTS_H
#define MK_CONTROLLERS_EVENTS_H

#include <jansson.h>

#include "client.h"

/* Posts an Event about obj (borrowed; its metadata gives namespace, name,
 * uid and resourceVersion) of kind/api_version, from component
 * ("deployment-controller"), type "Normal" or "Warning". Failures are logged
 * and otherwise ignored: events are best effort, as upstream. */
void events_post(struct client *c, const char *component, const char *kind,
		 const char *api_version, const json_t *obj, const char *type, const char *reason,
		 const char *fmt, ...) __attribute__((format(printf, 8, 9)));

#endif
