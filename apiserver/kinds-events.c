/* events.k8s.io/v1 Events: the core/v1 Events seen through the newer API.
 * Both APIs store one object under /registry/events/ in the core form, as
 * upstream does; the row of events.k8s.io converts on the way in and out
 * with upstream's field mapping (regarding = involvedObject, note = message,
 * reportingController = reportingComponent, deprecated* = the core
 * source, firstTimestamp, lastTimestamp and count). */
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"

/* events.k8s.io name, core name */
static const char *const renames[][2] = {
	{"regarding", "involvedObject"},
	{"note", "message"},
	{"reportingController", "reportingComponent"},
	{"deprecatedSource", "source"},
	{"deprecatedFirstTimestamp", "firstTimestamp"},
	{"deprecatedLastTimestamp", "lastTimestamp"},
	{"deprecatedCount", "count"},
};

#define NRENAMES (sizeof(renames) / sizeof(renames[0]))

/* Moves obj[from] to obj[to], keeping the rest of obj's key order. */
static void rename_key(json_t *obj, const char *from, const char *to)
{
	json_t *v = json_object_get(obj, from);
	if (!v)
		return;
	json_incref(v);
	json_object_del(obj, from);
	json_object_set_new(obj, to, v);
}

void kinds_events_from_stored(const struct api_resource *r, json_t *obj)
{
	(void)r;
	for (size_t i = 0; i < NRENAMES; i++)
		rename_key(obj, renames[i][1], renames[i][0]);
	json_object_set_new(obj, "apiVersion", json_string("events.k8s.io/v1"));
	json_object_set_new(obj, "kind", json_string("Event"));
}

void kinds_events_to_stored(const struct api_resource *r, json_t *obj)
{
	(void)r;
	for (size_t i = 0; i < NRENAMES; i++)
		rename_key(obj, renames[i][0], renames[i][1]);
	json_object_set_new(obj, "apiVersion", json_string("v1"));
	json_object_set_new(obj, "kind", json_string("Event"));
}

static const char *const known_fields[] = {
	"apiVersion",
	"kind",
	"metadata",
	"eventTime",
	"series",
	"reportingController",
	"reportingInstance",
	"action",
	"reason",
	"regarding",
	"related",
	"note",
	"type",
	"deprecatedSource",
	"deprecatedFirstTimestamp",
	"deprecatedLastTimestamp",
	"deprecatedCount",
};

json_t *kinds_events_prune(const struct api_resource *r, json_t *obj)
{
	(void)r;
	json_t *found = NULL;
	cleanup_json json_t *drop = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
			known |= !strcmp(known_fields[i], k);
		if (known)
			continue;
		if (!found)
			found = json_array();
		json_array_append_new(found, json_sprintf("unknown field \"%s\"", k));
		json_array_append_new(drop, json_string(k));
	}
	size_t i;
	json_array_foreach(drop, i, v)
		json_object_del(obj, json_string_value(v));
	return found;
}

static bool set(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return true;
}

void kinds_events_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	/* as upstream's ValidateEventCreate for events.k8s.io/v1: the legacy
	 * rules, then the strict ones of the new API */
	static const char *const needed[] = {"reportingController", "reportingInstance", "action",
					     "reason"};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!set(obj, needed[i]))
			api_cause_add(causes, "FieldValueRequired", needed[i], "Required value");
	const char *ctl = json_string_value(json_object_get(obj, "reportingController"));
	cleanup_free char *qerr = ctl && ctl[0] ? names_check_qualified_name(ctl) : NULL;
	if (qerr)
		api_cause_add(causes, "FieldValueInvalid", "reportingController",
			      "Invalid value: \"%s\": %s", ctl, qerr);
	const char *ns = json_path_str(obj, "metadata.namespace");
	const char *rns = json_path_str(obj, "regarding.namespace");
	if (rns && rns[0] && ns && strcmp(rns, ns))
		api_cause_add(causes, "FieldValueInvalid", "regarding.namespace",
			      "Invalid value: \"%s\": does not match event.namespace", rns);
	if (old)
		return;
	if (!set(obj, "eventTime"))
		api_cause_add(causes, "FieldValueRequired", "eventTime", "Required value");
	const char *type = json_string_value(json_object_get(obj, "type"));
	if (!type || (strcmp(type, "Normal") && strcmp(type, "Warning")))
		api_cause_add(causes, "FieldValueInvalid", "type",
			      "Invalid value: \"\": has invalid value: %s", type ? type : "");
	static const char *const unset[] = {"deprecatedFirstTimestamp", "deprecatedLastTimestamp",
					    "deprecatedCount", "deprecatedSource"};
	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		if (set(obj, unset[i]))
			api_cause_add(causes, "FieldValueInvalid", unset[i],
				      "Invalid value: \"\": needs to be unset");
	const json_t *series = json_object_get(obj, "series");
	if (json_is_object(series)) {
		if (json_integer_value(json_object_get(series, "count")) < 2)
			api_cause_add(causes, "FieldValueInvalid", "series.count",
				      "Invalid value: \"\": should be at least 2");
		if (!set(series, "lastObservedTime"))
			api_cause_add(causes, "FieldValueRequired", "series.lastObservedTime",
				      "Required value");
	}
}

void kinds_events_print(const json_t *obj, time_t now, json_t *cells)
{
	cleanup_json json_t *core = json_deep_copy(obj);
	kinds_events_to_stored(NULL, core);
	kinds_event_print(core, now, cells);
}
