/* The OpenAPI v3 surface kubectl reads: an index of group versions and, per
 * group version, one PATCH operation per kind carrying
 * x-kubernetes-group-version-kind and the fieldValidation / fieldManager
 * query parameters (so kubectl leaves validation to the server), and the
 * full component schemas of its kinds from schema.h, which `kubectl explain`
 * shows. The PATCH operations do not offer strategic merge patches, so
 * kubectl computes those from its built-in types. */
#ifndef MK_APISERVER_OPENAPI_H
#define MK_APISERVER_OPENAPI_H

#include <jansson.h>

/* The /openapi/v3 index: {"paths":{"api/v1":{"serverRelativeURL":
 * "/openapi/v3/api/v1?hash=<HASH>"}, "apis/apps/v1":{...}}}, the hash being
 * openapi_v3_hash() of that document. New reference. */
json_t *openapi_v3_index(void);

/* The document of one group version, gv_path "api/v1" or "apis/<group>/<version>"
 * (no leading slash, no query). New reference, or NULL if not served. */
json_t *openapi_v3_doc(const char *gv_path);

/* Hash of openapi_v3_doc(gv_path) as 16 upper-case hex digits (stable while
 * the table is unchanged; usable as an ETag). New string, free(); NULL if the
 * group version is not served. */
char *openapi_v3_hash(const char *gv_path);

#endif
