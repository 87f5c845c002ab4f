/* core/v1 Events as upstream's controllers and kubelet record them, so
 * `kubectl get events` and `kubectl describe` tell what a component did. */
#ifndef MK_EVENTS_H
#define MK_EVENTS_H

#include <jansson.h>

#include "client.h"

/* Posts an Event about obj (borrowed; its metadata gives namespace, name,
 * uid and resourceVersion) of kind/api_version, from component
 * ("deployment-controller"), type "Normal" or "Warning". Failures are logged
 * and otherwise ignored: events are best effort, as upstream. An event that
 * repeats an earlier one of this process (same source, object, type, reason
 * and message) is aggregated as upstream's recorder does: the earlier
 * Event's count goes up and its lastTimestamp moves. */
void events_post(struct client *c, const char *component, const char *kind,
		 const char *api_version, const json_t *obj, const char *type, const char *reason,
		 const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* As events_post, with source.host (the node, for the kubelet; may be
 * NULL) and involvedObject.fieldPath ("spec.containers{nginx}"; may be NULL). */
void events_post_from(struct client *c, const char *component, const char *host, const char *kind,
		      const char *api_version, const json_t *obj, const char *field_path,
		      const char *type, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 10, 11)));

/* From now on events are posted by a thread of its own on c (taken), so
 * that no controller waits for them; at most EVENTS_QUEUE_MAX wait, later
 * ones are dropped, as upstream's broadcaster does when it falls behind.
 * Before this call events_post posts synchronously on its own client. */
#define EVENTS_QUEUE_MAX 4096
int events_start_async(struct client *c, struct mk_err **err);

#endif
