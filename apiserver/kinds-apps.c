/* apps/v1 Deployments and ReplicaSets: printers, defaults, validation. */
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
				      "Forbidden: activeDeadlineSeconds in ReplicaSet is not "
				      "Supported");
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

static void validate_rolling(const json_t *ru, json_t *causes)
{
	const char *keys[] = {"maxUnavailable", "maxSurge"};
	long long val[2] = {0, 0};
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(ru, keys[i]);
		if (!v)
			continue;
		bool pct;
		val[i] = int_or_percent(v, &pct);
		cleanup_free char *f = xasprintf("spec.strategy.rollingUpdate.%s", keys[i]);
		cleanup_free char *go = kinds_go_value(v);
		if (val[i] < 0 && !pct && !json_is_integer(v))
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: %s: a valid percent string must be a numeric "
				      "string followed by an ending '%%' (e.g. '1%%',  or '93%%', "
				      "regex used for validation is '[0-9]+%%')",
				      go);
		else if (val[i] < 0)
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: %s: must be greater than or equal to 0", go);
		else if (pct && val[i] > 100)
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: %s: must not be greater than 100%%", go);
	}
	json_t *mu = json_object_get(ru, "maxUnavailable");
	if (mu && val[0] == 0 && val[1] == 0) {
		cleanup_free char *go = kinds_go_value(mu);
		api_cause_add(causes, "FieldValueInvalid",
			      "spec.strategy.rollingUpdate.maxUnavailable",
			      "Invalid value: %s: may not be 0 when `maxSurge` is 0", go);
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
		validate_rolling(ru, causes);
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
