/* Per-kind strategy hooks, printers and field selectors shared between the
 * resource table (resources.c) and the kinds-*.c files that implement them.
 * Hook contracts are those of struct api_resource (resource.h). */
#ifndef MK_APISERVER_KINDS_INTERNAL_H
#define MK_APISERVER_KINDS_INTERNAL_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#include "err.h"
#include "apiserver/resource.h"

/* Table columns as upstream's printers declare them. */
#define COLUMN(n, t, d, p)                                                                         \
	{                                                                                          \
		.name = n, .type = t, .format = "", .description = d, .priority = p                \
	}
#define NAME_COLUMN                                                                                \
	{                                                                                          \
		.name = "Name", .type = "string", .format = "name",                                \
		.description = "Name must be unique within a namespace. Is required when "         \
			       "creating resources, although some resources may allow a client "   \
			       "to request the generation of an appropriate name automatically."   \
	}
#define AGE_COLUMN                                                                                 \
	{                                                                                          \
		.name = "Age", .type = "string", .format = "",                                     \
		.description = "CreationTimestamp is a timestamp representing the server time "    \
			       "when this object was created."                                     \
	}


#define KINDS_PRINTER(kind)                                                                        \
	extern const struct table_column kinds_##kind##_columns[];                                 \
	void kinds_##kind##_print(const json_t *obj, time_t now, json_t *cells)

/* kinds-core.c */
KINDS_PRINTER(componentstatus);
KINDS_PRINTER(configmap);
KINDS_PRINTER(endpoints);
KINDS_PRINTER(event);
KINDS_PRINTER(namespace);
KINDS_PRINTER(node);
KINDS_PRINTER(secret);
KINDS_PRINTER(serviceaccount);
void kinds_configmap_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_endpoints_defaults(json_t *obj);
void kinds_event_validate(const json_t *obj, const json_t *old, json_t *causes);
bool kinds_event_field(const json_t *obj, const char *field, const char **value);
void kinds_namespace_defaults(json_t *obj);
void kinds_namespace_prepare_create(json_t *obj);
void kinds_namespace_prepare_update(json_t *obj, const json_t *old);
bool kinds_namespace_field(const json_t *obj, const char *field, const char **value);
void kinds_node_defaults(json_t *obj);
void kinds_node_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_node_prepare_update(json_t *obj, const json_t *old);
bool kinds_node_field(const json_t *obj, const char *field, const char **value);
void kinds_secret_defaults(json_t *obj);
void kinds_secret_validate(const json_t *obj, const json_t *old, json_t *causes);
bool kinds_secret_field(const json_t *obj, const char *field, const char **value);

/* kinds-pod.c */
KINDS_PRINTER(pod);
void kinds_pod_defaults(json_t *obj);
void kinds_pod_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_pod_prepare_create(json_t *obj);
void kinds_pod_prepare_update(json_t *obj, const json_t *old);
bool kinds_pod_field(const json_t *obj, const char *field, const char **value);
/* Pod spec defaults and validation, shared with the pod templates of
 * deployments and replicasets; path is the spec's field path ("spec",
 * "spec.template.spec"). in_template: restartPolicy must be Always. */
void kinds_podspec_validate(const json_t *spec, const char *path, json_t *causes);

/* kinds-service.c */
KINDS_PRINTER(service);
void kinds_service_defaults(json_t *obj);
void kinds_service_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_service_prepare_create(json_t *obj);
void kinds_service_prepare_update(json_t *obj, const json_t *old);
int kinds_service_on_create(json_t *obj, struct mk_err **err);
int kinds_service_on_update(json_t *obj, const json_t *old, struct mk_err **err);
void kinds_service_on_delete(const json_t *obj);
void kinds_service_on_update_abort(const json_t *obj, const json_t *old);

/* kinds-apps.c */
KINDS_PRINTER(deployment);
KINDS_PRINTER(replicaset);
void kinds_deployment_defaults(json_t *obj);
void kinds_deployment_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_replicaset_defaults(json_t *obj);
void kinds_replicaset_validate(const json_t *obj, const json_t *old, json_t *causes);
/* Whether a LabelSelector (borrowed) matches labels; *valid false for a
 * bad operator. */
bool kinds_selector_matches(const json_t *sel, const json_t *labels, bool *valid);
/* Go's %#v of a *metav1.LabelSelector, as upstream quotes it. New string. */
char *kinds_go_selector(const json_t *sel);
KINDS_PRINTER(daemonset);
void kinds_daemonset_defaults(json_t *obj);
void kinds_daemonset_validate(const json_t *obj, const json_t *old, json_t *causes);
KINDS_PRINTER(statefulset);
void kinds_statefulset_defaults(json_t *obj);
void kinds_statefulset_validate(const json_t *obj, const json_t *old, json_t *causes);
KINDS_PRINTER(controllerrevision);
void kinds_controllerrevision_validate(const json_t *obj, const json_t *old, json_t *causes);
/* An IntOrString that must be a non-negative integer or a percent of at most
 * 100% ("25%"): its number, or -1 after appending a cause for field. */
long long kinds_int_or_percent_check(const json_t *v, const char *field, json_t *causes);
/* Kinds whose status is written only through the status subresource:
 * create starts from an empty status, an update keeps the stored one. */
void kinds_status_prepare_create(json_t *obj);
void kinds_status_prepare_update(json_t *obj, const json_t *old);

/* kinds-batch.c */
KINDS_PRINTER(job);
KINDS_PRINTER(cronjob);
void kinds_job_defaults(json_t *obj);
void kinds_job_prepare_create(json_t *obj);
void kinds_job_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_cronjob_defaults(json_t *obj);
void kinds_cronjob_validate(const json_t *obj, const json_t *old, json_t *causes);
/* kinds-policy.c */
KINDS_PRINTER(pdb);
void kinds_pdb_validate(const json_t *obj, const json_t *old, json_t *causes);

/* kinds-other.c */
KINDS_PRINTER(lease);
KINDS_PRINTER(endpointslice);
void kinds_endpointslice_defaults(json_t *obj);
void kinds_endpointslice_validate(const json_t *obj, const json_t *old, json_t *causes);

/* kinds-events.c: events.k8s.io/v1, stored as core/v1 Events */
void kinds_events_from_stored(const struct api_resource *r, json_t *obj);
void kinds_events_to_stored(const struct api_resource *r, json_t *obj);
json_t *kinds_events_prune(const struct api_resource *r, json_t *obj);
void kinds_events_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_events_print(const json_t *obj, time_t now, json_t *cells);

/* kinds-quota.c */
KINDS_PRINTER(limitrange);
KINDS_PRINTER(resourcequota);
void kinds_limitrange_defaults(json_t *obj);
void kinds_limitrange_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_resourcequota_validate(const json_t *obj, const json_t *old, json_t *causes);

/* kinds-rbac.c (Roles and ClusterRoles print as LimitRanges do: Name,
 * Created At) */
KINDS_PRINTER(rolebinding);
void kinds_rbac_binding_defaults(json_t *obj);
void kinds_role_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_clusterrole_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_rolebinding_validate(const json_t *obj, const json_t *old, json_t *causes);
void kinds_clusterrolebinding_validate(const json_t *obj, const json_t *old, json_t *causes);
/* What upstream's ValidatePathSegmentName says of an RBAC object's name
 * (static text), or NULL when it is valid: names like "system:node" are. */
const char *kinds_rbac_check_name(const char *name);

/* Sets obj[key] = value (stolen) unless a non-null value is there already. */
void kinds_set_default(json_t *obj, const char *key, json_t *value);

/* Go's %#v of a JSON value as upstream's validation messages quote it:
 * "x" for strings, 80 for numbers, map[string]string{"a":"b"} for string
 * maps, []string{"a"} for string arrays. New string, free(). */
char *kinds_go_value(const json_t *v);

#endif
