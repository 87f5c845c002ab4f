/* apps/v1 Deployments, ReplicaSets, DaemonSets and ControllerRevisions:
 * printers, defaults, validation. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "podspec.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

#define CONTAINER_COLUMNS                                                                          \
	COLUMN("Containers", "string", "Names of each container in the template.", 1),             \
		COLUMN("Images", "string", "Images referenced by each container in the template.", \
		       1),                                                                         \
		COLUMN("Selector", "string",                                                       \
		       "Label selector for pods. Existing ReplicaSets whose "                      \
		       "pods are selected by this will be the ones affected by "                   \
		       "this deployment.",                                                         \
		       1)

const struct table_column kinds_deployment_columns[] = {
	NAME_COLUMN,
	COLUMN("Ready", "string", "Number of the pod with ready state", 0),
	COLUMN("Up-to-date", "integer",
	       "Total number of non-terminated pods targeted by this "
	       "deployment that have the desired template spec.",
	       0),
	COLUMN("Available", "integer",
	       "Total number of available pods (ready for at least "
	       "minReadySeconds) targeted by this deployment.",
	       0),
	AGE_COLUMN,
	CONTAINER_COLUMNS,
	{.name = NULL},
};

const struct table_column kinds_replicaset_columns[] = {
	NAME_COLUMN,
	COLUMN("Desired", "integer", "Number of desired pods.", 0),
	COLUMN("Current", "integer", "Number of actual replicas.", 0),
	COLUMN("Ready", "integer", "Number of ready replicas.", 0),
	AGE_COLUMN,
	CONTAINER_COLUMNS,
	{.name = NULL},
};

static void tail_cells(const json_t *obj, json_t *cells)
{
	printer_cells_containers(json_path_get(obj, "spec.template.spec"), cells);
	char *sel = printer_label_selector(json_path_get(obj, "spec.selector"));
	json_array_append_new(cells, json_string(sel));
	free(sel);
}

void kinds_deployment_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	cleanup_free char *ready = xasprintf("%lld/%lld", printer_int(obj, "status.readyReplicas"),
					     printer_int(obj, "spec.replicas"));
	json_array_append_new(cells, json_string(ready));
	json_array_append_new(cells, json_integer(printer_int(obj, "status.updatedReplicas")));
	json_array_append_new(cells, json_integer(printer_int(obj, "status.availableReplicas")));
	printer_cell_age(obj, now, cells);
	tail_cells(obj, cells);
}

void kinds_replicaset_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_integer(printer_int(obj, "spec.replicas")));
	json_array_append_new(cells, json_integer(printer_int(obj, "status.replicas")));
	json_array_append_new(cells, json_integer(printer_int(obj, "status.readyReplicas")));
	printer_cell_age(obj, now, cells);
	tail_cells(obj, cells);
}

/* ---- defaults ---- */

static void template_defaults(json_t *spec)
{
	podspec_defaults(json_path_get(spec, "template.spec"));
}

void kinds_deployment_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	kinds_set_default(spec, "replicas", json_integer(1));
	json_t *strategy = json_object_get(spec, "strategy");
	if (!json_is_object(strategy)) {
		strategy = json_object();
		json_object_set_new(spec, "strategy", strategy);
	}
	kinds_set_default(strategy, "type", json_string("RollingUpdate"));
	if (!strcmp(printer_str(strategy, "type"), "RollingUpdate")) {
		json_t *ru = json_object_get(strategy, "rollingUpdate");
		if (!json_is_object(ru)) {
			ru = json_object();
			json_object_set_new(strategy, "rollingUpdate", ru);
		}
		kinds_set_default(ru, "maxUnavailable", json_string("25%"));
		kinds_set_default(ru, "maxSurge", json_string("25%"));
	}
	kinds_set_default(spec, "revisionHistoryLimit", json_integer(10));
	kinds_set_default(spec, "progressDeadlineSeconds", json_integer(600));
	template_defaults(spec);
}

void kinds_replicaset_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	kinds_set_default(spec, "replicas", json_integer(1));
	template_defaults(spec);
}

/* ---- validation ---- */

static bool in_values(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x) if (json_is_string(x) && v &&
					     !strcmp(json_string_value(x), v)) return true;
	return false;
}

bool kinds_selector_matches(const json_t *sel, const json_t *labels, bool *valid)
{
	*valid = true;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(sel, "matchLabels"), k, v)
	{
		json_t *have = json_object_get(labels, k);
		if (!have || !json_equal(have, v))
			return false;
	}
	bool ok = true;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e)
	{
		const char *key = printer_str(e, "key");
		const char *op = printer_str(e, "operator");
		const char *have = json_string_value(json_object_get(labels, key));
		json_t *values = json_object_get(e, "values");
		if (!strcmp(op, "In"))
			ok &= have && in_values(values, have);
		else if (!strcmp(op, "NotIn"))
			ok &= !have || !in_values(values, have);
		else if (!strcmp(op, "Exists"))
			ok &= have != NULL;
		else if (!strcmp(op, "DoesNotExist"))
			ok &= have == NULL;
		else
			*valid = false;
	}
	return ok;
}

char *kinds_go_selector(const json_t *sel)
{
	json_t *ml = json_object_get(sel, "matchLabels");
	json_t *me = json_object_get(sel, "matchExpressions");
	cleanup_free char *labels =
		json_object_size(ml) ? kinds_go_value(ml) : xstrdup("map[string]string(nil)");
	cleanup_buf struct buf b = BUF_INIT;
	if (json_array_size(me) == 0) {
		buf_append_str(&b, "[]v1.LabelSelectorRequirement(nil)");
	} else {
		buf_append_str(&b, "[]v1.LabelSelectorRequirement{");
		size_t i;
		json_t *e;
		json_array_foreach(me, i, e)
		{
			json_t *vals = json_object_get(e, "values");
			cleanup_free char *vs = json_array_size(vals) ? kinds_go_value(vals)
								      : xstrdup("[]string(nil)");
			buf_printf(&b,
				   "%sv1.LabelSelectorRequirement{Key:\"%s\", Operator:\"%s\", "
				   "Values:%s}",
				   i ? ", " : "", printer_str(e, "key"), printer_str(e, "operator"),
				   vs);
		}
		buf_append_char(&b, '}');
	}
	return xasprintf("&v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}", labels,
			 buf_str(&b));
}

static void non_negative(const json_t *spec, const char *key, json_t *causes)
{
	json_t *v = json_object_get(spec, key);
	if (json_is_integer(v) && json_integer_value(v) < 0) {
		cleanup_free char *f = xasprintf("spec.%s", key);
		api_cause_add(causes, "FieldValueInvalid", f,
			      "Invalid value: %lld: must be greater than or equal to 0",
			      (long long)json_integer_value(v));
	}
}

/* What Deployments and ReplicaSets share: selector, template, replicas. */
static void validate_workload(const json_t *obj, const json_t *old, const char *kind,
			      json_t *causes)
{
	json_t *spec = json_object_get(obj, "spec");
	non_negative(spec, "replicas", causes);
	non_negative(spec, "minReadySeconds", causes);
	json_t *sel = json_object_get(spec, "selector");
	bool sel_ok = false;
	if (!json_is_object(sel)) {
		api_cause_add(causes, "FieldValueRequired", "spec.selector", "Required value");
	} else if (json_object_size(json_object_get(sel, "matchLabels")) +
			   json_array_size(json_object_get(sel, "matchExpressions")) ==
		   0) {
		cleanup_free char *go = kinds_go_selector(sel);
		api_cause_add(causes, "FieldValueInvalid", "spec.selector",
			      "Invalid value: %s: empty selector is invalid for %s", go, kind);
	} else {
		sel_ok = true;
	}

	json_t *tmpl = json_object_get(spec, "template");
	if (!json_is_object(tmpl)) {
		api_cause_add(causes, "FieldValueRequired", "spec.template", "Required value");
		return;
	}
	json_t *labels = json_path_get(tmpl, "metadata.labels");
	if (sel_ok) {
		bool valid;
		bool match = kinds_selector_matches(sel, labels, &valid);
		if (!valid) {
			cleanup_free char *go = kinds_go_selector(sel);
			api_cause_add(causes, "FieldValueInvalid", "spec.selector",
				      "Invalid value: %s: invalid label selector", go);
		} else if (!match) {
			cleanup_free char *go = json_object_size(labels)
							? kinds_go_value(labels)
							: xstrdup("map[string]string(nil)");
			api_cause_add(causes, "FieldValueInvalid", "spec.template.metadata.labels",
				      "Invalid value: %s: `selector` does not match template "
				      "`labels`",
				      go);
		}
	}
	json_t *pod_spec = json_object_get(tmpl, "spec");
	if (!json_is_object(pod_spec)) {
		api_cause_add(causes, "FieldValueRequired", "spec.template.spec.containers",
			      "Required value");
	} else {
		kinds_podspec_validate(pod_spec, "spec.template.spec", causes);
		const char *rp = json_string_value(json_object_get(pod_spec, "restartPolicy"));
		if (rp && rp[0] && strcmp(rp, "Always"))
			api_cause_add(causes, "FieldValueNotSupported",
				      "spec.template.spec.restartPolicy",
				      "Unsupported value: \"%s\": supported values: \"Always\"",
				      rp);
		if (json_object_get(pod_spec, "activeDeadlineSeconds"))
			api_cause_add(causes, "FieldValueForbidden",
				      "spec.template.spec.activeDeadlineSeconds",
				      "Forbidden: activeDeadlineSeconds in %s is not Supported",
				      strcmp(kind, "daemonset") ? "ReplicaSet" : "DaemonSet");
	}
	if (old && sel_ok) {
		json_t *was = json_path_get(old, "spec.selector");
		if (was && !json_equal(was, sel)) {
			cleanup_free char *go = kinds_go_selector(sel);
			api_cause_add(causes, "FieldValueInvalid", "spec.selector",
				      "Invalid value: %s: field is immutable", go + 1);
		}
	}
}

/* An IntOrString of a rolling update: *percent tells which; -1 if malformed. */
static long long int_or_percent(const json_t *v, bool *percent)
{
	*percent = false;
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return -1;
	char *end;
	long long n = strtoll(s, &end, 10);
	if (end == s || strcmp(end, "%"))
		return -1;
	*percent = true;
	return n;
}

long long kinds_int_or_percent_check(const json_t *v, const char *field, json_t *causes)
{
	bool pct;
	long long n = int_or_percent(v, &pct);
	cleanup_free char *go = kinds_go_value(v);
	if (n < 0 && !pct && !json_is_integer(v))
		api_cause_add(causes, "FieldValueInvalid", field,
			      "Invalid value: %s: a valid percent string must be a numeric "
			      "string followed by an ending '%%' (e.g. '1%%',  or '93%%', "
			      "regex used for validation is '[0-9]+%%')",
			      go);
	else if (n < 0)
		api_cause_add(causes, "FieldValueInvalid", field,
			      "Invalid value: %s: must be greater than or equal to 0", go);
	else if (pct && n > 100)
		api_cause_add(causes, "FieldValueInvalid", field,
			      "Invalid value: %s: must not be greater than 100%%", go);
	else
		return n;
	return -1;
}

/* A rolling update's maxUnavailable and maxSurge under prefix
 * ("spec.strategy.rollingUpdate"); both 0 is refused with message zero. */
static void validate_rolling(const json_t *ru, const char *prefix, const char *zero,
			     json_t *causes)
{
	const char *keys[] = {"maxUnavailable", "maxSurge"};
	long long val[2] = {0, 0};
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(ru, keys[i]);
		if (!v)
			continue;
		cleanup_free char *f = xasprintf("%s.%s", prefix, keys[i]);
		val[i] = kinds_int_or_percent_check(v, f, causes);
	}
	json_t *mu = json_object_get(ru, "maxUnavailable");
	if (mu && val[0] == 0 && val[1] == 0) {
		cleanup_free char *go = kinds_go_value(mu);
		cleanup_free char *f = xasprintf("%s.maxUnavailable", prefix);
		api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: %s", go, zero);
	}
}

void kinds_deployment_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	validate_workload(obj, old, "deployment", causes);
	json_t *spec = json_object_get(obj, "spec");
	non_negative(spec, "revisionHistoryLimit", causes);
	json_t *strategy = json_object_get(spec, "strategy");
	const char *type = printer_str(strategy, "type");
	json_t *ru = json_object_get(strategy, "rollingUpdate");
	if (type[0] && strcmp(type, "Recreate") && strcmp(type, "RollingUpdate"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.strategy.type",
			      "Unsupported value: \"%s\": supported values: \"Recreate\", "
			      "\"RollingUpdate\"",
			      type);
	else if (!strcmp(type, "Recreate") && json_is_object(ru))
		api_cause_add(causes, "FieldValueForbidden", "spec.strategy.rollingUpdate",
			      "Forbidden: may not be specified when strategy `type` is "
			      "'Recreate'");
	else if (json_is_object(ru))
		validate_rolling(ru, "spec.strategy.rollingUpdate",
				 "may not be 0 when `maxSurge` is 0", causes);
	json_t *pds = json_object_get(spec, "progressDeadlineSeconds");
	if (json_is_integer(pds)) {
		long long p = json_integer_value(pds);
		if (p < 0)
			non_negative(spec, "progressDeadlineSeconds", causes);
		else if (p <= printer_int(spec, "minReadySeconds"))
			api_cause_add(causes, "FieldValueInvalid", "spec.progressDeadlineSeconds",
				      "Invalid value: %lld: must be greater than minReadySeconds",
				      p);
	}
}

void kinds_replicaset_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	validate_workload(obj, old, "replicaset", causes);
}

void kinds_status_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status", json_object());
}

void kinds_status_prepare_update(json_t *obj, const json_t *old)
{
	json_t *status = json_object_get(old, "status");
	if (status)
		json_object_set_new(obj, "status", json_copy_deep(status));
	else
		json_object_del(obj, "status");
}

/* ---- DaemonSets ---- */

const struct table_column kinds_daemonset_columns[] = {
	NAME_COLUMN,
	COLUMN("Desired", "integer",
	       "The total number of nodes that should be running the daemon pod (including "
	       "nodes correctly running the daemon pod).",
	       0),
	COLUMN("Current", "integer",
	       "The number of nodes that are running at least 1 daemon pod and are supposed to "
	       "run the daemon pod.",
	       0),
	COLUMN("Ready", "integer",
	       "numberReady is the number of nodes that should be running the daemon pod and "
	       "have one or more of the daemon pod running with a Ready Condition.",
	       0),
	COLUMN("Up-to-date", "integer",
	       "The total number of nodes that are running updated daemon pod", 0),
	COLUMN("Available", "integer",
	       "The number of nodes that should be running the daemon pod and have one or more "
	       "of the daemon pod running and available (ready for at least "
	       "spec.minReadySeconds)",
	       0),
	COLUMN("Node Selector", "string",
	       "NodeSelector is a selector which must be true for the pod to fit on a node. "
	       "Selector which must match a node's labels for the pod to be scheduled on that "
	       "node. More info: https://kubernetes.io/docs/concepts/configuration/"
	       "assign-pod-node/",
	       0),
	AGE_COLUMN,
	CONTAINER_COLUMNS,
	{.name = NULL},
};

void kinds_daemonset_print(const json_t *obj, time_t now, json_t *cells)
{
	static const char *const counts[] = {
		"status.desiredNumberScheduled", "status.currentNumberScheduled",
		"status.numberReady", "status.updatedNumberScheduled", "status.numberAvailable",
	};
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		json_array_append_new(cells, json_integer(printer_int(obj, counts[i])));
	char *sel = printer_labels_map(json_path_get(obj, "spec.template.spec.nodeSelector"));
	json_array_append_new(cells, json_string(sel));
	free(sel);
	printer_cell_age(obj, now, cells);
	tail_cells(obj, cells);
}

void kinds_daemonset_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	json_t *strategy = json_object_get(spec, "updateStrategy");
	if (!json_is_object(strategy)) {
		strategy = json_object();
		json_object_set_new(spec, "updateStrategy", strategy);
	}
	kinds_set_default(strategy, "type", json_string("RollingUpdate"));
	if (!strcmp(printer_str(strategy, "type"), "RollingUpdate")) {
		json_t *ru = json_object_get(strategy, "rollingUpdate");
		if (!json_is_object(ru)) {
			ru = json_object();
			json_object_set_new(strategy, "rollingUpdate", ru);
		}
		kinds_set_default(ru, "maxUnavailable", json_integer(1));
		kinds_set_default(ru, "maxSurge", json_integer(0));
	}
	kinds_set_default(spec, "revisionHistoryLimit", json_integer(10));
	template_defaults(spec);
}

void kinds_daemonset_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	validate_workload(obj, old, "daemonset", causes);
	json_t *spec = json_object_get(obj, "spec");
	non_negative(spec, "revisionHistoryLimit", causes);
	json_t *strategy = json_object_get(spec, "updateStrategy");
	const char *type = printer_str(strategy, "type");
	json_t *ru = json_object_get(strategy, "rollingUpdate");
	if (strcmp(type, "OnDelete") && strcmp(type, "RollingUpdate")) {
		api_cause_add(causes, "FieldValueNotSupported", "spec.updateStrategy.type",
			      "Unsupported value: \"%s\": supported values: \"OnDelete\", "
			      "\"RollingUpdate\"",
			      type);
	} else if (!strcmp(type, "RollingUpdate")) {
		if (!json_is_object(ru)) {
			api_cause_add(causes, "FieldValueRequired",
				      "spec.updateStrategy.rollingUpdate", "Required value");
			return;
		}
		validate_rolling(ru, "spec.updateStrategy.rollingUpdate",
				 "cannot be 0 when maxSurge is 0", causes);
		bool p1, p2;
		json_t *mu = json_object_get(ru, "maxUnavailable");
		json_t *ms = json_object_get(ru, "maxSurge");
		if (mu && ms && int_or_percent(mu, &p1) > 0 && int_or_percent(ms, &p2) > 0) {
			cleanup_free char *go = kinds_go_value(ms);
			api_cause_add(causes, "FieldValueInvalid",
				      "spec.updateStrategy.rollingUpdate.maxSurge",
				      "Invalid value: %s: may not be set when maxUnavailable is "
				      "non-zero",
				      go);
		}
	}
}

/* ---- ControllerRevisions ---- */

const struct table_column kinds_controllerrevision_columns[] = {
	NAME_COLUMN,
	COLUMN("Controller", "string", "Controller of the object", 0),
	COLUMN("Revision", "integer", "Revision indicates the revision of the state represented "
				      "by Data.",
	       0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_controllerrevision_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	const json_t *owner = NULL;
	size_t i;
	json_t *ref;
	json_array_foreach(json_path_get(obj, "metadata.ownerReferences"), i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			owner = ref;
	if (owner) {
		/* upstream prints the owner's group-qualified kind: daemonset.apps/x */
		const char *av = printer_str(owner, "apiVersion");
		const char *slash = strchr(av, '/');
		cleanup_free char *group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
		cleanup_free char *kind = xstrdup(printer_str(owner, "kind"));
		for (char *p = kind; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		cleanup_free char *cell = xasprintf("%s%s%s/%s", kind, group[0] ? "." : "", group,
						    printer_str(owner, "name"));
		json_array_append_new(cells, json_string(cell));
	} else {
		json_array_append_new(cells, json_string("<none>"));
	}
	json_array_append_new(cells, json_integer(printer_int(obj, "revision")));
	printer_cell_age(obj, now, cells);
}

void kinds_controllerrevision_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	json_t *rev = json_object_get(obj, "revision");
	if (json_is_integer(rev) && json_integer_value(rev) < 0)
		api_cause_add(causes, "FieldValueInvalid", "revision",
			      "Invalid value: %lld: must be greater than or equal to 0",
			      (long long)json_integer_value(rev));
	json_t *data = json_object_get(obj, "data");
	if (!data || json_is_null(data))
		api_cause_add(causes, "FieldValueRequired", "data", "Required value");
	else if (old && !json_equal(data, json_object_get(old, "data")))
		api_cause_add(causes, "FieldValueInvalid", "data",
			      "Invalid value: \"\": field is immutable");
}

/* ---- StatefulSets ---- */

const struct table_column kinds_statefulset_columns[] = {
	NAME_COLUMN,
	COLUMN("Ready", "string", "Number of the pod with ready state", 0),
	AGE_COLUMN,
	COLUMN("Containers", "string", "Names of each container in the template.", 1),
	COLUMN("Images", "string", "Images referenced by each container in the template.", 1),
	{.name = NULL},
};

void kinds_statefulset_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	cleanup_free char *ready = xasprintf("%lld/%lld", printer_int(obj, "status.readyReplicas"),
					     printer_int(obj, "spec.replicas"));
	json_array_append_new(cells, json_string(ready));
	printer_cell_age(obj, now, cells);
	printer_cells_containers(json_path_get(obj, "spec.template.spec"), cells);
}

void kinds_statefulset_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	kinds_set_default(spec, "replicas", json_integer(1));
	kinds_set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
	json_t *strategy = json_object_get(spec, "updateStrategy");
	if (!json_is_object(strategy)) {
		strategy = json_object();
		json_object_set_new(spec, "updateStrategy", strategy);
	}
	/* as upstream: rollingUpdate is made only along with a defaulted type */
	if (!printer_str(strategy, "type")[0]) {
		json_object_set_new(strategy, "type", json_string("RollingUpdate"));
		if (!json_is_object(json_object_get(strategy, "rollingUpdate")))
			json_object_set_new(strategy, "rollingUpdate", json_object());
	}
	json_t *ru = json_object_get(strategy, "rollingUpdate");
	if (!strcmp(printer_str(strategy, "type"), "RollingUpdate") && json_is_object(ru))
		kinds_set_default(ru, "partition", json_integer(0));
	kinds_set_default(spec, "revisionHistoryLimit", json_integer(10));
	json_t *pvc = json_object_get(spec, "persistentVolumeClaimRetentionPolicy");
	if (!json_is_object(pvc)) {
		pvc = json_object();
		json_object_set_new(spec, "persistentVolumeClaimRetentionPolicy", pvc);
	}
	kinds_set_default(pvc, "whenDeleted", json_string("Retain"));
	kinds_set_default(pvc, "whenScaled", json_string("Retain"));
	template_defaults(spec);
}

/* The spec fields upstream lets an update change. */
static const char *const sts_mutable[] = {
	"replicas",	"ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
	"minReadySeconds",
};

void kinds_statefulset_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	validate_workload(obj, old, "statefulset", causes);
	json_t *spec = json_object_get(obj, "spec");
	non_negative(spec, "revisionHistoryLimit", causes);
	const char *pmp = printer_str(spec, "podManagementPolicy");
	if (strcmp(pmp, "OrderedReady") && strcmp(pmp, "Parallel"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.podManagementPolicy",
			      "Unsupported value: \"%s\": supported values: \"OrderedReady\", "
			      "\"Parallel\"",
			      pmp);
	json_t *strategy = json_object_get(spec, "updateStrategy");
	const char *type = printer_str(strategy, "type");
	if (strcmp(type, "OnDelete") && strcmp(type, "RollingUpdate"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.updateStrategy.type",
			      "Unsupported value: \"%s\": supported values: \"OnDelete\", "
			      "\"RollingUpdate\"",
			      type);
	json_t *part = json_path_get(strategy, "rollingUpdate.partition");
	if (json_is_integer(part) && json_integer_value(part) < 0)
		api_cause_add(causes, "FieldValueInvalid",
			      "spec.updateStrategy.rollingUpdate.partition",
			      "Invalid value: %lld: must be greater than or equal to 0",
			      (long long)json_integer_value(part));
	/* this server has no PersistentVolumes to bind claims to */
	if (json_array_size(json_object_get(spec, "volumeClaimTemplates")))
		api_cause_add(causes, "FieldValueForbidden", "spec.volumeClaimTemplates",
			      "Forbidden: PersistentVolumeClaims are not supported by this server");
	if (old) {
		cleanup_json json_t *a = json_deep_copy(spec);
		cleanup_json json_t *b = json_deep_copy(json_object_get(old, "spec"));
		for (size_t i = 0; i < sizeof(sts_mutable) / sizeof(sts_mutable[0]); i++) {
			json_object_del(a, sts_mutable[i]);
			json_object_del(b, sts_mutable[i]);
		}
		if (b && !json_equal(a, b))
			api_cause_add(causes, "FieldValueForbidden", "spec",
				      "Forbidden: updates to statefulset spec for fields other than "
				      "'replicas', 'ordinals', 'template', 'updateStrategy', "
				      "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
				      "are forbidden");
	}
}
