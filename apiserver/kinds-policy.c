/* policy/v1 PodDisruptionBudgets: printer and validation. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

const struct table_column kinds_pdb_columns[] = {
	NAME_COLUMN,
	COLUMN("Min Available", "string",
	       "The minimum number or percentage of available pods this budget requires.", 0),
	COLUMN("Max Unavailable", "string",
	       "The maximum number or percentage of unavailable pods this budget requires.", 0),
	COLUMN("Allowed Disruptions", "integer",
	       "The number of evictions or deletions allowed for this budget at this time.", 0),
	AGE_COLUMN,
	{.name = NULL},
};

/* An IntOrString cell: "2", "50%", or N/A when unset. */
static void int_or_string_cell(const json_t *v, json_t *cells)
{
	if (json_is_integer(v)) {
		cleanup_free char *s = xasprintf("%lld", (long long)json_integer_value(v));
		json_array_append_new(cells, json_string(s));
	} else if (json_is_string(v)) {
		json_array_append_new(cells, json_string(json_string_value(v)));
	} else {
		json_array_append_new(cells, json_string("N/A"));
	}
}

void kinds_pdb_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	int_or_string_cell(json_path_get(obj, "spec.minAvailable"), cells);
	int_or_string_cell(json_path_get(obj, "spec.maxUnavailable"), cells);
	json_array_append_new(cells, json_integer(printer_int(obj, "status.disruptionsAllowed")));
	printer_cell_age(obj, now, cells);
}

static bool selector_valid(const json_t *sel, json_t *causes)
{
	static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
	bool ok = true;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e)
	{
		const char *op = printer_str(e, "operator");
		bool known = false;
		for (size_t k = 0; k < 4; k++)
			known |= !strcmp(op, ops[k]);
		cleanup_free char *f = xasprintf("spec.selector.matchExpressions[%zu].operator", i);
		if (!known) {
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: \"%s\": not a valid selector operator", op);
			ok = false;
			continue;
		}
		size_t nv = json_array_size(json_object_get(e, "values"));
		bool set_op = !strcmp(op, "In") || !strcmp(op, "NotIn");
		cleanup_free char *vf = xasprintf("spec.selector.matchExpressions[%zu].values", i);
		if (set_op && nv == 0) {
			api_cause_add(causes, "FieldValueRequired", vf,
				      "Required value: must be specified when `operator` is 'In' "
				      "or 'NotIn'");
			ok = false;
		} else if (!set_op && nv > 0) {
			api_cause_add(causes, "FieldValueForbidden", vf,
				      "Forbidden: may not be specified when `operator` is "
				      "'Exists' or 'DoesNotExist'");
			ok = false;
		}
	}
	return ok;
}

void kinds_pdb_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	json_t *spec = json_object_get(obj, "spec");
	json_t *min = json_object_get(spec, "minAvailable");
	json_t *max = json_object_get(spec, "maxUnavailable");
	if (min && !json_is_null(min) && max && !json_is_null(max)) {
		cleanup_free char *a = kinds_go_value(min);
		cleanup_free char *b = kinds_go_value(max);
		api_cause_add(causes, "FieldValueInvalid", "spec",
			      "Invalid value: {minAvailable: %s, maxUnavailable: %s}: minAvailable "
			      "and maxUnavailable cannot be both set",
			      a, b);
	}
	if (min && !json_is_null(min))
		kinds_int_or_percent_check(min, "spec.minAvailable", causes);
	if (max && !json_is_null(max))
		kinds_int_or_percent_check(max, "spec.maxUnavailable", causes);
	json_t *sel = json_object_get(spec, "selector");
	if (json_is_object(sel))
		selector_valid(sel, causes);
	const char *policy = json_string_value(json_object_get(spec, "unhealthyPodEvictionPolicy"));
	if (policy && strcmp(policy, "IfHealthyBudget") && strcmp(policy, "AlwaysAllow"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.unhealthyPodEvictionPolicy",
			      "Unsupported value: \"%s\": supported values: \"AlwaysAllow\", "
			      "\"IfHealthyBudget\"",
			      policy);
}
