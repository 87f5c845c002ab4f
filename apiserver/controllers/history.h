/* ControllerRevisions of DaemonSets and StatefulSets: each template an owner
 * had, as upstream records them for `kubectl rollout history/undo`. */
#ifndef MK_CONTROLLERS_HISTORY_H
#define MK_CONTROLLERS_HISTORY_H

#include <jansson.h>

#include "client.h"
#include "err.h"
#include "informer.h"

/* Keeps a ControllerRevision of owner (an apps/v1 object of kind, borrowed)
 * for its current template, named "<owner>-<hash>" with the newest revision
 * number (an old template that came back gets it again), labelled as the
 * template plus controller-revision-hash, its data the template as a
 * strategic merge patch; and at most spec.revisionHistoryLimit (default 10)
 * other revisions, the oldest deleted first. revs: an informer of
 * controllerrevisions. Returns 0, or -1 with *err. */
int history_sync(struct client *c, struct informer *revs, const json_t *owner, const char *kind,
		 const char *hash, struct mk_err **err);

#endif
