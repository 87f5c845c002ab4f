/* apiextensions.k8s.io/v1 CustomResourceDefinitions and the custom
 * resources they define.
 *
 * The CRD kind itself is a row of the static resource table whose strategy
 * hooks live here (defaults, validation as upstream's, status conditions
 * NamesAccepted and Established set at once, the cleanup finalizer).
 *
 * Served custom resources are rows of a registry kept from the store: one
 * row per served version of every CRD, built from the stored CRDs when the
 * registry starts and kept current by a store watch on the CRD prefix, so
 * that a CRD is served as soon as its write returns (and on every API server
 * sharing an etcd). The resource table's lookups (resource.h) fall back to
 * this registry. A row is immutable once published: a changed CRD publishes
 * new rows and retires the old ones, which stay allocated until the process
 * ends, because request threads and watch streams hold row pointers without
 * a reference count (a CRD changes rarely; each change costs one small row).
 *
 * A CRD being deleted keeps the finalizer customresourcecleanup.apiextensions.k8s.io
 * until a worker thread of the registry has deleted every object of its
 * resource; then the CRD itself goes.
 *
 * The registry is one per process (the hooks of the resource table carry
 * no context). */
#ifndef MK_APISERVER_CRD_H
#define MK_APISERVER_CRD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "err.h"
#include "apiserver/resource.h"

struct store;

/* Loads the stored CRDs of st (borrowed until crd_registry_stop) and
 * watches them; starts the cleanup worker. 0, or -1 with err. */
int crd_registry_start(struct store *st, struct mk_err **err);
/* Stops the watch and the worker; the rows stay valid. Safe without start. */
void crd_registry_stop(void);

/* The served custom resource row of group/version/resource, or NULL.
 * Borrowed for the life of the process. */
const struct api_resource *crd_resource_find(const char *group, const char *version,
					     const char *resource);
/* The row of apiVersion ("example.com/v1") and kind, or NULL. Borrowed. */
const struct api_resource *crd_resource_by_kind(const char *api_version, const char *kind);
/* Every served custom resource row, in CRD name then version order: a new
 * array (free()) of *n borrowed pointers. */
const struct api_resource **crd_resources(size_t *n);
/* Whether r is a custom resource row of the registry. */
bool crd_resource_is_custom(const struct api_resource *r);
/* "example.com/v1" and "widgets.example.com" of a custom resource row;
 * borrowed, as the row. */
const char *crd_resource_api_version(const struct api_resource *r);
const char *crd_resource_qualified(const struct api_resource *r);

/* The OpenAPI v3 component schemas of the custom resources served in
 * group/version (each with x-kubernetes-group-version-kind), keyed by
 * upstream's names ("com.example.v1.Widget"), added to schemas (borrowed);
 * returns whether any was. */
bool crd_openapi_components(const char *group, const char *version, json_t *schemas);

/* Strategy hooks of the CRD kind (contracts in resource.h). */
void crd_defaults(json_t *obj);
void crd_validate(const json_t *obj, const json_t *old, json_t *causes);
void crd_prepare_create(json_t *obj);
void crd_prepare_update(json_t *obj, const json_t *old);

#endif
