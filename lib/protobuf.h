/* Kubernetes protobuf request bodies ("application/vnd.kubernetes.protobuf"),
 * as typed clients such as `kubectl create deployment` send them, decoded into
 * the JSON object the same client would have sent as JSON. */
#ifndef MK_PROTOBUF_H
#define MK_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "err.h"

/* True if body starts with the 4-byte magic "k8s\0". */
bool k8s_protobuf_is(const void *body, size_t len);

/* Decodes magic + runtime.Unknown{typeMeta{apiVersion, kind}, raw, ...} and
 * the raw object by the built-in schema of its kind. Returns a new JSON object
 * (json_decref) starting with apiVersion and kind, fields in the order of the
 * JSON form, zero values of non-pointer fields and empty non-pointer structs
 * left out (as omitempty would, plus the creationTimestamp:null / status:{}
 * noise), map<string,bytes> as base64 strings, Time as RFC 3339, IntOrString
 * as number or string, Quantity as its string.
 * Errors: MK_EINVAL for malformed input (bad magic, truncated or overlong
 * lengths, bad varints, wrong wire types, invalid UTF-8, nesting too deep);
 * MK_EUNSUPPORTED for a kind without a schema or a non-empty contentEncoding.
 * body is borrowed; any byte sequence is safe to pass. */
json_t *k8s_protobuf_decode(const void *body, size_t len, struct mk_err **err);

/* Decodes just a raw object of the given apiVersion and kind (no magic, no
 * Unknown envelope); the result has no apiVersion/kind. New object or NULL
 * with an error as above. */
json_t *k8s_protobuf_decode_object(const char *api_version, const char *kind, const void *raw,
				   size_t len, struct mk_err **err);

/* True if the decoder has a schema for apiVersion/kind. */
bool k8s_protobuf_supports(const char *api_version, const char *kind);

#endif
