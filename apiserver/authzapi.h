/* The authorization API: authorization.k8s.io/v1 SubjectAccessReview,
 * SelfSubjectAccessReview (`kubectl auth can-i`), LocalSubjectAccessReview
 * and SelfSubjectRulesReview (`kubectl auth can-i --list`), answered by the
 * server's --authorization-mode chain. None of them is stored. */
#ifndef MK_APISERVER_AUTHZAPI_H
#define MK_APISERVER_AUTHZAPI_H

#include "apiserver/request.h"

/* POST /apis/authorization.k8s.io/v1/<resource>, or with ns (not NULL)
 * .../namespaces/<ns>/localsubjectaccessreviews; anything else 404, other
 * methods 405. */
void authzapi_review(struct api_request *rq, const char *ns, const char *resource);

#endif
