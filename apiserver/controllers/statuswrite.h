/* Writing a controller's view of an object's status through its status
 * subresource, which every workload controller does at the end of a sync. */
#ifndef MK_CONTROLLERS_STATUSWRITE_H
#define MK_CONTROLLERS_STATUSWRITE_H

#include <jansson.h>

#include "client.h"
#include "err.h"

/* Writes status (borrowed) as the status of obj (borrowed, from an informer:
 * it may lack apiVersion and kind), unless it equals obj's (an absent status
 * counts as {}). api_version "apps/v1", kind "Deployment", plural
 * "deployments". Returns 1 when written, with *stored (if not NULL) the
 * object the server stored (new); 0 when there was nothing to write (*stored
 * NULL); -1 with *err. */
int status_write(struct client *c, const json_t *obj, const char *api_version, const char *kind,
		 const char *plural, json_t *status, json_t **stored, struct mk_err **err);

#endif
