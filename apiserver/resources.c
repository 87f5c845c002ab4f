/* The resource table: one row per served resource, in upstream's discovery
 * order (core group first, then named groups in upstream's priority order,
 * resources alphabetical within a group version). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/resource.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/metricsapi.h"
#include "apiserver/componentstatus.h"
#include "apiserver/crd.h"

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

#define STATUS_SUB(g, k)                                                                           \
	{                                                                                          \
		.name = "status", .group = g, .version = "v1", .kind = k,                          \
		.verbs = verbs_get_patch_update                                                    \
	}
#define SCALE_SUB                                                                                  \
	{                                                                                          \
		.name = "scale", .group = "autoscaling", .version = "v1", .kind = "Scale",         \
		.verbs = verbs_get_patch_update                                                    \
	}

static const struct api_subresource pod_subs[] = {
	{.name = "binding", .group = "", .version = "v1", .kind = "Binding", .verbs = verbs_create},
	{.name = "eviction",
	 .group = "policy",
	 .version = "v1",
	 .kind = "Eviction",
	 .verbs = verbs_create},
	{.name = "attach",
	 .group = "",
	 .version = "v1",
	 .kind = "PodAttachOptions",
	 .verbs = verbs_create_get},
	{.name = "exec",
	 .group = "",
	 .version = "v1",
	 .kind = "PodExecOptions",
	 .verbs = verbs_create_get},
	{.name = "log", .group = "", .version = "v1", .kind = "Pod", .verbs = verbs_get},
	{.name = "portforward",
	 .group = "",
	 .version = "v1",
	 .kind = "PodPortForwardOptions",
	 .verbs = verbs_create_get},
	STATUS_SUB("", "Pod"),
	{.name = NULL},
};
static const struct api_subresource node_subs[] = {
	{.name = "proxy",
	 .group = "",
	 .version = "v1",
	 .kind = "NodeProxyOptions",
	 .verbs = (const char *const[]){"create", "delete", "get", "patch", "update", NULL}},
	STATUS_SUB("", "Node"),
	{.name = NULL},
};
/* finalize: the namespace controller's PUT that drops spec.finalizers. */
static const struct api_subresource namespace_subs[] = {
	{.name = "finalize",
	 .group = "",
	 .version = "v1",
	 .kind = "Namespace",
	 .verbs = (const char *const[]){"update", NULL}},
	STATUS_SUB("", "Namespace"),
	{.name = NULL},
};
static const struct api_subresource resourcequota_subs[] = {
	STATUS_SUB("", "ResourceQuota"),
	{.name = NULL},
};
static const struct api_subresource service_subs[] = {STATUS_SUB("", "Service"), {.name = NULL}};
static const struct api_subresource deployment_subs[] = {
	SCALE_SUB,
	STATUS_SUB("apps", "Deployment"),
	{.name = NULL},
};
static const struct api_subresource daemonset_subs[] = {
	STATUS_SUB("apps", "DaemonSet"),
	{.name = NULL},
};
static const struct api_subresource statefulset_subs[] = {
	SCALE_SUB,
	STATUS_SUB("apps", "StatefulSet"),
	{.name = NULL},
};
static const struct api_subresource pdb_subs[] = {
	{.name = "status",
	 .group = "policy",
	 .version = "v1",
	 .kind = "PodDisruptionBudget",
	 .verbs = verbs_get_patch_update},
	{.name = NULL},
};
static const struct api_subresource replicaset_subs[] = {
	SCALE_SUB,
	STATUS_SUB("apps", "ReplicaSet"),
	{.name = NULL},
};

static const struct api_subresource job_subs[] = {STATUS_SUB("batch", "Job"), {.name = NULL}};
static const struct api_subresource cronjob_subs[] = {
	STATUS_SUB("batch", "CronJob"),
	{.name = NULL},
};

static const struct api_subresource crd_subs[] = {
	{.name = "status",
	 .group = "apiextensions.k8s.io",
	 .version = "v1",
	 .kind = "CustomResourceDefinition",
	 .verbs = verbs_get_patch_update},
	{.name = NULL},
};

const struct api_resource api_resources[] = {
	{
		.group = "",
		.version = "v1",
		.resource = "componentstatuses",
		.singular = "componentstatus",
		.kind = "ComponentStatus",
		.namespaced = false,
		.short_names = SHORT("cs"),
		.verbs = verbs_get_list,
		.virtual_list = componentstatus_list,
		.columns = kinds_componentstatus_columns,
		.print_row = kinds_componentstatus_print,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "configmaps",
		.singular = "configmap",
		.kind = "ConfigMap",
		.namespaced = true,
		.short_names = SHORT("cm"),
		.verbs = verbs_all,
		.storage = "configmaps",
		.validate = kinds_configmap_validate,
		.columns = kinds_configmap_columns,
		.print_row = kinds_configmap_print,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "endpoints",
		.singular = "endpoints",
		.kind = "Endpoints",
		.namespaced = true,
		.short_names = SHORT("ep"),
		.verbs = verbs_all,
		.storage = "services/endpoints",
		.defaults = kinds_endpoints_defaults,
		.columns = kinds_endpoints_columns,
		.print_row = kinds_endpoints_print,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "events",
		.singular = "event",
		.kind = "Event",
		.namespaced = true,
		.short_names = SHORT("ev"),
		.verbs = verbs_all,
		.storage = "events",
		.validate = kinds_event_validate,
		.columns = kinds_event_columns,
		.print_row = kinds_event_print,
		.field_value = kinds_event_field,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "limitranges",
		.singular = "limitrange",
		.kind = "LimitRange",
		.namespaced = true,
		.short_names = SHORT("limits"),
		.verbs = verbs_all,
		.storage = "limitranges",
		.defaults = kinds_limitrange_defaults,
		.validate = kinds_limitrange_validate,
		.columns = kinds_limitrange_columns,
		.print_row = kinds_limitrange_print,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "namespaces",
		.singular = "namespace",
		.kind = "Namespace",
		.namespaced = false,
		.short_names = SHORT("ns"),
		.verbs = verbs_no_collection,
		.subresources = namespace_subs,
		.storage = "namespaces",
		.defaults = kinds_namespace_defaults,
		.prepare_create = kinds_namespace_prepare_create,
		.prepare_update = kinds_namespace_prepare_update,
		.columns = kinds_namespace_columns,
		.print_row = kinds_namespace_print,
		.field_value = kinds_namespace_field,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "nodes",
		.singular = "node",
		.kind = "Node",
		.namespaced = false,
		.short_names = SHORT("no"),
		.verbs = verbs_all,
		.subresources = node_subs,
		.storage = "minions",
		.defaults = kinds_node_defaults,
		.validate = kinds_node_validate,
		.prepare_update = kinds_node_prepare_update,
		.columns = kinds_node_columns,
		.print_row = kinds_node_print,
		.field_value = kinds_node_field,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "pods",
		.singular = "pod",
		.kind = "Pod",
		.namespaced = true,
		.short_names = SHORT("po"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = pod_subs,
		.storage = "pods",
		.defaults = kinds_pod_defaults,
		.validate = kinds_pod_validate,
		.prepare_create = kinds_pod_prepare_create,
		.prepare_update = kinds_pod_prepare_update,
		.columns = kinds_pod_columns,
		.print_row = kinds_pod_print,
		.field_value = kinds_pod_field,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "resourcequotas",
		.singular = "resourcequota",
		.kind = "ResourceQuota",
		.namespaced = true,
		.short_names = SHORT("quota"),
		.verbs = verbs_all,
		.subresources = resourcequota_subs,
		.storage = "resourcequotas",
		.validate = kinds_resourcequota_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_resourcequota_columns,
		.print_row = kinds_resourcequota_print,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "secrets",
		.singular = "secret",
		.kind = "Secret",
		.namespaced = true,
		.verbs = verbs_all,
		.storage = "secrets",
		.defaults = kinds_secret_defaults,
		.validate = kinds_secret_validate,
		.columns = kinds_secret_columns,
		.print_row = kinds_secret_print,
		.field_value = kinds_secret_field,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "serviceaccounts",
		.singular = "serviceaccount",
		.kind = "ServiceAccount",
		.namespaced = true,
		.short_names = SHORT("sa"),
		.verbs = verbs_all,
		.storage = "serviceaccounts",
		.columns = kinds_serviceaccount_columns,
		.print_row = kinds_serviceaccount_print,
	},
	{
		.group = "",
		.version = "v1",
		.resource = "services",
		.singular = "service",
		.kind = "Service",
		.namespaced = true,
		.short_names = SHORT("svc"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = service_subs,
		.storage = "services/specs",
		.defaults = kinds_service_defaults,
		.validate = kinds_service_validate,
		.prepare_create = kinds_service_prepare_create,
		.prepare_update = kinds_service_prepare_update,
		.on_create = kinds_service_on_create,
		.on_update = kinds_service_on_update,
		.on_delete = kinds_service_on_delete,
		.on_update_abort = kinds_service_on_update_abort,
		.columns = kinds_service_columns,
		.print_row = kinds_service_print,
	},
	{
		.group = "apps",
		.version = "v1",
		.resource = "controllerrevisions",
		.singular = "controllerrevision",
		.kind = "ControllerRevision",
		.namespaced = true,
		.verbs = verbs_all,
		.storage = "controllerrevisions",
		.validate = kinds_controllerrevision_validate,
		.columns = kinds_controllerrevision_columns,
		.print_row = kinds_controllerrevision_print,
	},
	{
		.group = "apps",
		.version = "v1",
		.resource = "daemonsets",
		.singular = "daemonset",
		.kind = "DaemonSet",
		.namespaced = true,
		.short_names = SHORT("ds"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = daemonset_subs,
		.storage = "daemonsets",
		.defaults = kinds_daemonset_defaults,
		.validate = kinds_daemonset_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_daemonset_columns,
		.print_row = kinds_daemonset_print,
	},
	{
		.group = "apps",
		.version = "v1",
		.resource = "deployments",
		.singular = "deployment",
		.kind = "Deployment",
		.namespaced = true,
		.short_names = SHORT("deploy"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = deployment_subs,
		.storage = "deployments",
		.defaults = kinds_deployment_defaults,
		.validate = kinds_deployment_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_deployment_columns,
		.print_row = kinds_deployment_print,
	},
	{
		.group = "apps",
		.version = "v1",
		.resource = "replicasets",
		.singular = "replicaset",
		.kind = "ReplicaSet",
		.namespaced = true,
		.short_names = SHORT("rs"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = replicaset_subs,
		.storage = "replicasets",
		.defaults = kinds_replicaset_defaults,
		.validate = kinds_replicaset_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_replicaset_columns,
		.print_row = kinds_replicaset_print,
	},
	{
		.group = "apps",
		.version = "v1",
		.resource = "statefulsets",
		.singular = "statefulset",
		.kind = "StatefulSet",
		.namespaced = true,
		.short_names = SHORT("sts"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = statefulset_subs,
		.storage = "statefulsets",
		.defaults = kinds_statefulset_defaults,
		.validate = kinds_statefulset_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_statefulset_columns,
		.print_row = kinds_statefulset_print,
	},
	{
		.group = "authentication.k8s.io",
		.version = "v1",
		.resource = "selfsubjectreviews",
		.singular = "selfsubjectreview",
		.kind = "SelfSubjectReview",
		.namespaced = false,
		.verbs = verbs_create,
	},
	{
		.group = "authentication.k8s.io",
		.version = "v1",
		.resource = "tokenreviews",
		.singular = "tokenreview",
		.kind = "TokenReview",
		.namespaced = false,
		.verbs = verbs_create,
	},
	{
		.group = "authorization.k8s.io",
		.version = "v1",
		.resource = "localsubjectaccessreviews",
		.singular = "localsubjectaccessreview",
		.kind = "LocalSubjectAccessReview",
		.namespaced = true,
		.verbs = verbs_create,
	},
	{
		.group = "authorization.k8s.io",
		.version = "v1",
		.resource = "selfsubjectaccessreviews",
		.singular = "selfsubjectaccessreview",
		.kind = "SelfSubjectAccessReview",
		.namespaced = false,
		.verbs = verbs_create,
	},
	{
		.group = "authorization.k8s.io",
		.version = "v1",
		.resource = "selfsubjectrulesreviews",
		.singular = "selfsubjectrulesreview",
		.kind = "SelfSubjectRulesReview",
		.namespaced = false,
		.verbs = verbs_create,
	},
	{
		.group = "authorization.k8s.io",
		.version = "v1",
		.resource = "subjectaccessreviews",
		.singular = "subjectaccessreview",
		.kind = "SubjectAccessReview",
		.namespaced = false,
		.verbs = verbs_create,
	},
	{
		.group = "batch",
		.version = "v1",
		.resource = "cronjobs",
		.singular = "cronjob",
		.kind = "CronJob",
		.namespaced = true,
		.short_names = SHORT("cj"),
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = cronjob_subs,
		.storage = "cronjobs",
		.defaults = kinds_cronjob_defaults,
		.validate = kinds_cronjob_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_cronjob_columns,
		.print_row = kinds_cronjob_print,
	},
	{
		.group = "batch",
		.version = "v1",
		.resource = "jobs",
		.singular = "job",
		.kind = "Job",
		.namespaced = true,
		.categories = cat_all,
		.verbs = verbs_all,
		.subresources = job_subs,
		.storage = "jobs",
		.defaults = kinds_job_defaults,
		.validate = kinds_job_validate,
		.prepare_create = kinds_job_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_job_columns,
		.print_row = kinds_job_print,
	},
	{
		.group = "policy",
		.version = "v1",
		.resource = "poddisruptionbudgets",
		.singular = "poddisruptionbudget",
		.kind = "PodDisruptionBudget",
		.namespaced = true,
		.short_names = SHORT("pdb"),
		.verbs = verbs_all,
		.subresources = pdb_subs,
		.storage = "poddisruptionbudgets",
		.validate = kinds_pdb_validate,
		.prepare_create = kinds_status_prepare_create,
		.prepare_update = kinds_status_prepare_update,
		.columns = kinds_pdb_columns,
		.print_row = kinds_pdb_print,
	},
	{
		.group = "apiextensions.k8s.io",
		.version = "v1",
		.resource = "customresourcedefinitions",
		.singular = "customresourcedefinition",
		.kind = "CustomResourceDefinition",
		.namespaced = false,
		.short_names = SHORT("crd", "crds"),
		.categories = (const char *const[]){"api-extensions", NULL},
		.verbs = verbs_all,
		.subresources = crd_subs,
		.storage = "apiextensions.k8s.io/customresourcedefinitions",
		.defaults = crd_defaults,
		.validate = crd_validate,
		.prepare_create = crd_prepare_create,
		.prepare_update = crd_prepare_update,
		/* upstream's default printer: Name, Created At */
		.columns = kinds_limitrange_columns,
		.print_row = kinds_limitrange_print,
	},
	{
		.group = "rbac.authorization.k8s.io",
		.version = "v1",
		.resource = "clusterrolebindings",
		.singular = "clusterrolebinding",
		.kind = "ClusterRoleBinding",
		.namespaced = false,
		.verbs = verbs_all,
		.storage = "clusterrolebindings",
		.defaults = kinds_rbac_binding_defaults,
		.validate = kinds_clusterrolebinding_validate,
		.columns = kinds_rolebinding_columns,
		.print_row = kinds_rolebinding_print,
	},
	{
		.group = "rbac.authorization.k8s.io",
		.version = "v1",
		.resource = "clusterroles",
		.singular = "clusterrole",
		.kind = "ClusterRole",
		.namespaced = false,
		.verbs = verbs_all,
		.storage = "clusterroles",
		.validate = kinds_clusterrole_validate,
		.columns = kinds_limitrange_columns,
		.print_row = kinds_limitrange_print,
	},
	{
		.group = "rbac.authorization.k8s.io",
		.version = "v1",
		.resource = "rolebindings",
		.singular = "rolebinding",
		.kind = "RoleBinding",
		.namespaced = true,
		.verbs = verbs_all,
		.storage = "rolebindings",
		.defaults = kinds_rbac_binding_defaults,
		.validate = kinds_rolebinding_validate,
		.columns = kinds_rolebinding_columns,
		.print_row = kinds_rolebinding_print,
	},
	{
		.group = "rbac.authorization.k8s.io",
		.version = "v1",
		.resource = "roles",
		.singular = "role",
		.kind = "Role",
		.namespaced = true,
		.verbs = verbs_all,
		.storage = "roles",
		.validate = kinds_role_validate,
		.columns = kinds_limitrange_columns,
		.print_row = kinds_limitrange_print,
	},
	{
		.group = "coordination.k8s.io",
		.version = "v1",
		.resource = "leases",
		.singular = "lease",
		.kind = "Lease",
		.namespaced = true,
		.verbs = verbs_all,
		.storage = "leases",
		.columns = kinds_lease_columns,
		.print_row = kinds_lease_print,
	},
	{
		.group = "discovery.k8s.io",
		.version = "v1",
		.resource = "endpointslices",
		.singular = "endpointslice",
		.kind = "EndpointSlice",
		.namespaced = true,
		.verbs = verbs_all,
		.storage = "endpointslices",
		.defaults = kinds_endpointslice_defaults,
		.validate = kinds_endpointslice_validate,
		.columns = kinds_endpointslice_columns,
		.print_row = kinds_endpointslice_print,
	},
	{
		.group = "events.k8s.io",
		.version = "v1",
		.resource = "events",
		.singular = "event",
		.kind = "Event",
		.namespaced = true,
		.short_names = SHORT("ev"),
		.verbs = verbs_all,
		.storage = "events",
		.validate = kinds_events_validate,
		.columns = kinds_event_columns,
		.print_row = kinds_events_print,
		.field_value = kinds_event_field,
		.prune = kinds_events_prune,
		.from_stored = kinds_events_from_stored,
		.to_stored = kinds_events_to_stored,
	},
	/* served from the kubelets' summaries, for kubectl top */
	{
		.group = "metrics.k8s.io",
		.version = "v1beta1",
		.resource = "nodes",
		.singular = "",
		.kind = "NodeMetrics",
		.namespaced = false,
		.verbs = verbs_get_list,
		.virtual_list = metricsapi_nodes,
	},
	{
		.group = "metrics.k8s.io",
		.version = "v1beta1",
		.resource = "pods",
		.singular = "",
		.kind = "PodMetrics",
		.namespaced = true,
		.verbs = verbs_get_list,
		.virtual_list = metricsapi_pods,
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
	return crd_resource_find(group, version, resource);
}

const struct api_resource *api_resource_by_kind(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (const struct api_resource *r = api_resources; r->resource; r++)
		if (!strcmp(api_resource_api_version(r), api_version) && !strcmp(r->kind, kind))
			return r;
	return crd_resource_by_kind(api_version, kind);
}

const struct api_resource **api_resource_all(size_t *n)
{
	size_t nstatic = 0, ncustom = 0;
	while (api_resources[nstatic].resource)
		nstatic++;
	const struct api_resource **custom = crd_resources(&ncustom);
	const struct api_resource **all = xcalloc(nstatic + ncustom + 1, sizeof(*all));
	for (size_t i = 0; i < nstatic; i++)
		all[i] = &api_resources[i];
	memcpy(all + nstatic, custom, ncustom * sizeof(*all));
	free(custom);
	*n = nstatic + ncustom;
	return all;
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
	if (crd_resource_is_custom(r))
		return crd_resource_api_version(r);
	size_t i = row_index(r);
	return i < MAX_ROWS ? api_version_cache[i] : r->version;
}

const char *api_resource_qualified(const struct api_resource *r)
{
	if (crd_resource_is_custom(r))
		return crd_resource_qualified(r);
	size_t i = row_index(r);
	return i < MAX_ROWS ? qualified_cache[i] : r->resource;
}

void api_cause_add(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *text = xvasprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message",
						text, "field", field));
}

char *api_causes_message(const json_t *causes)
{
	cleanup_buf struct buf b = BUF_INIT;
	cleanup_json json_t *seen = json_object();
	size_t i, n = 0;
	json_t *c;
	json_array_foreach(causes, i, c)
	{
		const char *field = json_string_value(json_object_get(c, "field"));
		const char *msg = json_string_value(json_object_get(c, "message"));
		cleanup_free char *one = field && field[0]
						 ? xasprintf("%s: %s", field, msg ? msg : "")
						 : xstrdup(msg ? msg : "");
		if (json_object_get(seen, one))
			continue;
		json_object_set_new(seen, one, json_true());
		buf_printf(&b, "%s%s", n++ ? ", " : "", one);
	}
	if (n > 1)
		return xasprintf("[%s]", buf_str(&b));
	return buf_steal(&b);
}

json_t *api_causes_from_message(const char *msg)
{
	json_t *causes = json_array();
	const char *sep = msg ? strstr(msg, ": ") : NULL;
	if (!sep) {
		api_cause_add(causes, "FieldValueInvalid", "", "%s", msg ? msg : "");
		return causes;
	}
	cleanup_free char *field = xstrndup(msg, (size_t)(sep - msg));
	api_cause_add(causes, "FieldValueInvalid", field, "%s", sep + 2);
	return causes;
}
