/* The authentication API: authentication.k8s.io/v1 SelfSubjectReview
 * (`kubectl auth whoami`) and TokenReview, and the ServiceAccount
 * TokenRequest subresource (POST .../serviceaccounts/<name>/token,
 * `kubectl create token`). None of them is stored. */
#ifndef MK_APISERVER_AUTHAPI_H
#define MK_APISERVER_AUTHAPI_H

#include "apiserver/request.h"

/* POST /apis/authentication.k8s.io/v1/<resource>: "selfsubjectreviews" or
 * "tokenreviews"; anything else 404, other methods 405. */
void authapi_review(struct api_request *rq, const char *resource);

/* The request body as a JSON object of kind (new), or NULL after answering
 * the request with the decoding error. Shared with the authorization API. */
json_t *authapi_body_object(struct api_request *rq, const char *kind);

/* The answer to a review object in (new): kind and apiVersion, and in's
 * metadata with creationTimestamp null when it has none, as upstream echoes
 * it. Shared with the authorization API. */
json_t *authapi_review_answer(const json_t *in, const char *api_version, const char *kind);

/* POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token. */
void authapi_token_request(struct api_request *rq, const char *ns, const char *name);

#endif
