/* The resource table: one row per served resource, in upstream's discovery
 * order (core group first, then named groups in upstream's priority order,
 * resources alphabetical within a group version). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/resource.h"
#include "apiserver/kinds-internal.h"

static const char *const verbs_all[] = {
	"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL,
};
/* Namespaces have no deletecollection upstream. */
static const char *const verbs_no_collection[] = {
	"create", "delete", "get", "list", "patch", "update", "watch", NULL,
};
static const char *const verbs_get_list[] = {"get", "list", NULL};
static const char *const verbs_get_patch_update[] = {"get", "patch", "update", NULL};
static const char *const verbs_create[] = {"create", NULL};
static const char *const verbs_create_get[] = {"create", "get", NULL};
static const char *const verbs_get[] = {"get", NULL};

static const char *const cat_all[] = {"all", NULL};

#define SHORT(...) ((const char *const[]){__VA_ARGS__, NULL})

#define STATUS_SUB(g, k) {.name = "status", .group = g, .version = "v1", .kind = k, \
			  .verbs = verbs_get_patch_update}
#define SCALE_SUB {.name = "scale", .group = "autoscaling", .version = "v1", .kind = "Scale", \
		   .verbs = verbs_get_patch_update}

static const struct api_subresource pod_subs[] = {
	{.name = "binding", .group = "", .version = "v1", .kind = "Binding", .verbs = verbs_create},
	{.name = "eviction", .group = "policy", .version = "v1", .kind = "Eviction",
	 .verbs = verbs_create},
	{.name = "exec", .group = "", .version = "v1", .kind = "PodExecOptions",
	 .verbs = verbs_create_get},
	{.name = "log", .group = "", .version = "v1", .kind = "Pod", .verbs = verbs_get},
	STATUS_SUB("", "Pod"),
	{.name = NULL},
};
static const struct api_subresource node_subs[] = {STATUS_SUB("", "Node"), {.name = NULL}};
static const struct api_subresource namespace_subs[] = {STATUS_SUB("", "Namespace"),
							 {.name = NULL}};
static const struct api_subresource service_subs[] = {STATUS_SUB("", "Service"), {.name = NULL}};
static const struct api_subresource deployment_subs[] = {
	SCALE_SUB,
	STATUS_SUB("apps", "Deployment"),
	{.name = NULL},
};
static const struct api_subresource replicaset_subs[] = {
	SCALE_SUB,
	STATUS_SUB("apps", "ReplicaSet"),
	{.name = NULL},
};

const struct api_resource api_resources[] = {
	{
		.group = "", .version = "v1", .resource = "componentstatuses",
		.singular = "componentstatus", .kind = "ComponentStatus", .namespaced = false,
		.short_names = SHORT("cs"), .verbs = verbs_get_list,
		.virtual_list = kinds_componentstatus_list,
	},
	{
		.group = "", .version = "v1", .resource = "configmaps", .singular = "configmap",
		.kind = "ConfigMap", .namespaced = true, .short_names = SHORT("cm"),
		.verbs = verbs_all, .storage = "configmaps",
	},
	{
		.group = "", .version = "v1", .resource = "endpoints", .singular = "endpoints",
		.kind = "Endpoints", .namespaced = true, .short_names = SHORT("ep"),
		.verbs = verbs_all, .storage = "services/endpoints",
	},
	{
		.group = "", .version = "v1", .resource = "events", .singular = "event",
		.kind = "Event", .namespaced = true, .short_names = SHORT("ev"),
		.verbs = verbs_all, .storage = "events",
	},
	{
		.group = "", .version = "v1", .resource = "namespaces", .singular = "namespace",
		.kind = "Namespace", .namespaced = false, .short_names = SHORT("ns"),
		.verbs = verbs_no_collection, .subresources = namespace_subs,
		.storage = "namespaces",
	},
	{
		.group = "", .version = "v1", .resource = "nodes", .singular = "node",
		.kind = "Node", .namespaced = false, .short_names = SHORT("no"),
		.verbs = verbs_all, .subresources = node_subs, .storage = "minions",
	},
	{
		.group = "", .version = "v1", .resource = "pods", .singular = "pod",
		.kind = "Pod", .namespaced = true, .short_names = SHORT("po"),
		.categories = cat_all, .verbs = verbs_all, .subresources = pod_subs,
		.storage = "pods",
	},
	{
		.group = "", .version = "v1", .resource = "secrets", .singular = "secret",
		.kind = "Secret", .namespaced = true, .verbs = verbs_all, .storage = "secrets",
	},
	{
		.group = "", .version = "v1", .resource = "serviceaccounts",
		.singular = "serviceaccount", .kind = "ServiceAccount", .namespaced = true,
		.short_names = SHORT("sa"), .verbs = verbs_all, .storage = "serviceaccounts",
	},
	{
		.group = "", .version = "v1", .resource = "services", .singular = "service",
		.kind = "Service", .namespaced = true, .short_names = SHORT("svc"),
		.categories = cat_all, .verbs = verbs_all, .subresources = service_subs,
		.storage = "services/specs",
	},
	{
		.group = "apps", .version = "v1", .resource = "deployments",
		.singular = "deployment", .kind = "Deployment", .namespaced = true,
		.short_names = SHORT("deploy"), .categories = cat_all, .verbs = verbs_all,
		.subresources = deployment_subs, .storage = "deployments",
	},
	{
		.group = "apps", .version = "v1", .resource = "replicasets",
		.singular = "replicaset", .kind = "ReplicaSet", .namespaced = true,
		.short_names = SHORT("rs"), .categories = cat_all, .verbs = verbs_all,
		.subresources = replicaset_subs, .storage = "replicasets",
	},
	{
		.group = "coordination.k8s.io", .version = "v1", .resource = "leases",
		.singular = "lease", .kind = "Lease", .namespaced = true, .verbs = verbs_all,
		.storage = "leases",
	},
	{
		.group = "discovery.k8s.io", .version = "v1", .resource = "endpointslices",
		.singular = "endpointslice", .kind = "EndpointSlice", .namespaced = true,
		.verbs = verbs_all, .storage = "endpointslices",
	},
	{.resource = NULL},
};

const struct api_resource *api_resource_find(const char *group, const char *version,
					     const char *resource)
{
	if (!group || !version || !resource)
		return NULL;
	for (const struct api_resource *r = api_resources; r->resource; r++)
		if (!strcmp(r->group, group) && !strcmp(r->version, version) &&
		    !strcmp(r->resource, resource))
			return r;
	return NULL;
}

const struct api_resource *api_resource_by_kind(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (const struct api_resource *r = api_resources; r->resource; r++)
		if (!strcmp(api_resource_api_version(r), api_version) && !strcmp(r->kind, kind))
			return r;
	return NULL;
}

const struct api_subresource *api_resource_sub(const struct api_resource *r, const char *name)
{
	if (!r || !r->subresources || !name)
		return NULL;
	for (const struct api_subresource *s = r->subresources; s->name; s++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

/* Strings built once per row and kept for the life of the process: the table
 * is static, so the index of a row is a stable key. */
#define MAX_ROWS 64
static const char *api_version_cache[MAX_ROWS];
static const char *qualified_cache[MAX_ROWS];

static void caches_build(void)
{
	size_t i = 0;
	for (const struct api_resource *r = api_resources; r->resource && i < MAX_ROWS; r++, i++) {
		if (r->group[0]) {
			api_version_cache[i] = xasprintf("%s/%s", r->group, r->version);
			qualified_cache[i] = xasprintf("%s.%s", r->resource, r->group);
		} else {
			api_version_cache[i] = r->version;
			qualified_cache[i] = r->resource;
		}
	}
}

static pthread_once_t caches_once = PTHREAD_ONCE_INIT;

static size_t row_index(const struct api_resource *r)
{
	pthread_once(&caches_once, caches_build);
	return (size_t)(r - api_resources);
}

const char *api_resource_api_version(const struct api_resource *r)
{
	size_t i = row_index(r);
	return i < MAX_ROWS ? api_version_cache[i] : r->version;
}

const char *api_resource_qualified(const struct api_resource *r)
{
	size_t i = row_index(r);
	return i < MAX_ROWS ? qualified_cache[i] : r->resource;
}

void api_cause_add(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *text = xvasprintf(fmt, ap);
	va_end(ap);
	cleanup_free char *msg = xasprintf("%s: %s", field, text);
	json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message",
						msg, "field", field));
}
