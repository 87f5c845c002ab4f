/* The resource verbs of the kube-apiserver (get, list, watch, create, update,
 * patch, delete, deletecollection and the status, scale, binding and finalize
 * subresources; log, exec, attach, portforward and nodes/proxy go to the
 * kubelets through apiserver/nodeproxy). */
#ifndef MK_APISERVER_HANDLERS_H
#define MK_APISERVER_HANDLERS_H

#include <stddef.h>

#include "apiserver/request.h"

/* Answers everything under /api/<v>/... and /apis/<g>/<v>/... once the
 * group version is known; segs (borrowed) are the path segments after the
 * version. */
void handlers_resource(struct api_request *rq, const char *group, const char *version,
		       char **segs, size_t nsegs);

/* The request body decoded by its Content-Type (JSON, YAML, Kubernetes
 * protobuf) as an object of kind (NULL: a patch), in its JSON form: new
 * reference, or NULL with the Status to answer (new) in *status. */
json_t *handlers_decode_body(const struct api_request *rq, const char *kind, json_t **status);

/* Answers /api/v1/nodes/<name>/proxy/<path> through the node's kubelet. */
void handlers_node_proxy(struct api_request *rq, const char *name, const char *path);

#endif
