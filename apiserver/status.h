/* meta/v1 Status objects: every error the API server answers, with upstream's
 * reason, code and message forms. */
#ifndef MK_APISERVER_STATUS_H
#define MK_APISERVER_STATUS_H

#include <jansson.h>

#include "err.h"
#include "apiserver/resource.h"

/* A Failure Status {kind, apiVersion, metadata, status, message, reason,
 * details?, code}. reason may be "" (left out); details is stolen (may be NULL).
 * Bytes of message that are not UTF-8 are written \xNN. New reference. */
json_t *status_failure(int code, const char *reason, const char *message, json_t *details);

/* A Success Status with details {name, group?, kind, uid?}. New reference. */
json_t *status_success(const struct api_resource *r, const char *name, const char *uid);

/* details {name, group (named groups only), kind: plural} for r. New reference. */
json_t *status_details(const struct api_resource *r, const char *name);

/* `pods "x" not found` / `deployments.apps "x" not found` (404 NotFound). */
json_t *status_not_found(const struct api_resource *r, const char *name);
/* `pods "x" already exists` (409 AlreadyExists). */
json_t *status_already_exists(const struct api_resource *r, const char *name);
/* `Operation cannot be fulfilled on <qualified> "x": <why>` (409 Conflict).
 * why NULL = the stale resourceVersion text. */
json_t *status_conflict(const struct api_resource *r, const char *name, const char *why);
/* `Kind.group "x" is invalid: <causes joined>` (422 Invalid); causes (array of
 * {reason, message, field}) is borrowed. */
json_t *status_invalid(const struct api_resource *r, const char *name, const json_t *causes);
/* `pods "x" is forbidden: <why>` (403 Forbidden). */
json_t *status_forbidden(const struct api_resource *r, const char *name, const char *why);
/* `CreateOptions.meta.k8s.io "" is invalid: <causes joined>` (422 Invalid)
 * for the options of a request (kind "CreateOptions", "PatchOptions"...);
 * causes is borrowed. */
json_t *status_invalid_options(const char *kind, const json_t *causes);
/* 400 BadRequest with message. */
json_t *status_bad_request(const char *message);
/* 404 NotFound `the server could not find the requested resource`. */
json_t *status_no_route(void);
/* 405 MethodNotAllowed. */
json_t *status_method_not_allowed(void);
/* 500 InternalError `Internal error occurred: <message>`. */
json_t *status_internal(const char *message);

/* Maps an error from a lower layer (store, patch, decoding) to a Status for
 * r/name: MK_ENOTFOUND 404, MK_EEXISTS 409, MK_ECONFLICT 409, MK_EEXPIRED 410,
 * MK_EINVAL 400, MK_EINVALID 422, MK_ETOOLARGE 413, MK_EUNSUPPORTED 415,
 * MK_ETIMEOUT 504, MK_EBACKEND 500 with no reason and the message as is (how
 * upstream answers a storage error it does not convert, such as etcd's
 * "etcdserver: request is too large"), others 500. r may be NULL. New
 * reference. */
json_t *status_from_err(const struct mk_err *e, const struct api_resource *r, const char *name);

/* The HTTP code of a Status object (its "code"), 500 if absent. */
int status_code(const json_t *status);

#endif
