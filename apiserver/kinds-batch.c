/* batch/v1 Jobs and CronJobs: printers, defaults, the generated selector,
 * validation with upstream's messages. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "cron.h"
#include "json.h"
#include "podspec.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

#define LABEL_CONTROLLER_UID "batch.kubernetes.io/controller-uid"
#define LABEL_JOB_NAME "batch.kubernetes.io/job-name"
#define LEGACY_CONTROLLER_UID "controller-uid"
#define LEGACY_JOB_NAME "job-name"

#define TEMPLATE_COLUMNS                                                                           \
	COLUMN("Containers", "string", "Names of each container in the template.", 1),             \
		COLUMN("Images", "string", "Images referenced by each container in the template.", \
		       1),                                                                         \
		COLUMN("Selector", "string",                                                       \
		       "A label query over pods that should match the pod count. Normally, the "  \
		       "system sets this field for you. More info: "                               \
		       "https://kubernetes.io/docs/concepts/overview/working-with-objects/"        \
		       "labels/#label-selectors",                                                  \
		       1)

const struct table_column kinds_job_columns[] = {
	NAME_COLUMN,
	COLUMN("Status", "string", "Status of the job.", 0),
	COLUMN("Completions", "string",
	       "The number of pods which reached phase Succeeded. The value increases "
	       "monotonically for a given spec. However, it may decrease in reaction to scale "
	       "down of elastic indexed jobs.",
	       0),
	COLUMN("Duration", "string", "Time required to complete the job.", 0),
	AGE_COLUMN,
	TEMPLATE_COLUMNS,
	{.name = NULL},
};

const struct table_column kinds_cronjob_columns[] = {
	NAME_COLUMN,
	COLUMN("Schedule", "string",
	       "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.", 0),
	COLUMN("Timezone", "string",
	       "The time zone name for the given schedule, see "
	       "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, "
	       "this will default to the time zone of the kube-controller-manager process. The "
	       "set of valid time zone names and the time zone offset is loaded from the "
	       "system-wide time zone database by the API server during CronJob validation and "
	       "the controller manager during execution. If no system-wide time zone database "
	       "can be found a bundled version of the database is used instead. If the time "
	       "zone name becomes invalid during the lifetime of a CronJob or due to a change in "
	       "host configuration, the controller will stop creating new new Jobs and will "
	       "create a system event with the reason UnknownTimeZone. More information can be "
	       "found in "
	       "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
	       0),
	COLUMN("Suspend", "boolean",
	       "This flag tells the controller to suspend subsequent executions, it does not "
	       "apply to already started executions.  Defaults to false.",
	       0),
	COLUMN("Active", "integer", "A list of pointers to currently running jobs.", 0),
	COLUMN("Last Schedule", "string",
	       "Information when was the last time the job was successfully scheduled.", 0),
	AGE_COLUMN,
	TEMPLATE_COLUMNS,
	{.name = NULL},
};

/* A condition of that type with status True. */
static bool has_condition(const json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(obj, "status.conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
			return true;
	}
	return false;
}

static void template_cells(const json_t *job_spec, json_t *cells)
{
	printer_cells_containers(json_path_get(job_spec, "template.spec"), cells);
	char *sel = printer_label_selector(json_object_get(job_spec, "selector"));
	json_array_append_new(cells, json_string(sel));
	free(sel);
}

void kinds_job_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	const char *status = "Running";
	if (has_condition(obj, "Complete"))
		status = "Complete";
	else if (has_condition(obj, "Failed"))
		status = "Failed";
	else if (json_path_get(obj, "metadata.deletionTimestamp"))
		status = "Terminating";
	else if (has_condition(obj, "Suspended"))
		status = "Suspended";
	else if (has_condition(obj, "FailureTarget"))
		status = "FailureTarget";
	else if (has_condition(obj, "SuccessCriteriaMet"))
		status = "SuccessCriteriaMet";
	json_array_append_new(cells, json_string(status));

	long long succeeded = printer_int(obj, "status.succeeded");
	cleanup_free char *completions = NULL;
	if (json_is_integer(json_path_get(obj, "spec.completions")))
		completions = xasprintf("%lld/%lld", succeeded, printer_int(obj, "spec.completions"));
	else if (printer_int(obj, "spec.parallelism") > 1)
		completions = xasprintf("%lld/1 of %lld", succeeded,
					printer_int(obj, "spec.parallelism"));
	else
		completions = xasprintf("%lld/1", succeeded);
	json_array_append_new(cells, json_string(completions));

	char dur[32] = "";
	time_t start, end;
	const char *st = json_path_str(obj, "status.startTime");
	const char *ct = json_path_str(obj, "status.completionTime");
	if (st && time_parse_rfc3339(st, &start, NULL) == 0) {
		if (!ct || time_parse_rfc3339(ct, &end, NULL) < 0)
			end = now;
		time_human_duration(start, end, dur, sizeof(dur));
	}
	json_array_append_new(cells, json_string(dur));
	printer_cell_age(obj, now, cells);
	template_cells(json_object_get(obj, "spec"), cells);
}

void kinds_cronjob_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(obj, "spec.schedule")));
	const char *tz = json_path_str(obj, "spec.timeZone");
	json_array_append_new(cells, json_string(tz ? tz : "<none>"));
	json_t *suspend = json_path_get(obj, "spec.suspend");
	json_array_append_new(cells, json_string(!json_is_boolean(suspend) ? "<unset>"
						 : json_is_true(suspend)    ? "True"
									    : "False"));
	json_array_append_new(cells,
			      json_integer((json_int_t)json_array_size(
				      json_path_get(obj, "status.active"))));
	const char *last = json_path_str(obj, "status.lastScheduleTime");
	char b[32];
	json_array_append_new(cells, json_string(last ? printer_since(last, now, b, sizeof(b))
						      : "<none>"));
	printer_cell_age(obj, now, cells);
	template_cells(json_path_get(obj, "spec.jobTemplate.spec"), cells);
}

/* ---- defaults ---- */

/* SetDefaults_Job on a JobSpec. */
static void job_spec_defaults(json_t *spec)
{
	if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism")) {
		json_object_set_new(spec, "completions", json_integer(1));
		json_object_set_new(spec, "parallelism", json_integer(1));
	}
	kinds_set_default(spec, "parallelism", json_integer(1));
	kinds_set_default(spec, "backoffLimit",
			  json_integer(json_object_get(spec, "backoffLimitPerIndex") ? 2147483647
										      : 6));
	kinds_set_default(spec, "completionMode", json_string("NonIndexed"));
	kinds_set_default(spec, "manualSelector", json_false());
	kinds_set_default(spec, "suspend", json_false());
	kinds_set_default(spec, "podReplacementPolicy",
			  json_string(json_object_get(spec, "podFailurePolicy") ? "Failed"
									     : "TerminatingOrFailed"));
	podspec_defaults(json_path_get(spec, "template.spec"));
}

void kinds_job_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec))
		job_spec_defaults(spec);
}

/* Upstream's generateSelector: the job's uid and name as labels of the pod
 * template (current and legacy keys; a key the user set is left for
 * validation to judge) and the uid as the selector. */
static void generate_selector(json_t *obj, json_t *spec)
{
	const char *uid = json_path_str(obj, "metadata.uid");
	const char *name = json_path_str(obj, "metadata.name");
	if (!uid || !name)
		return;
	json_t *tmpl = json_object_get(spec, "template");
	if (!json_is_object(tmpl)) {
		tmpl = json_object();
		json_object_set_new(spec, "template", tmpl);
	}
	json_t *md = json_object_get(tmpl, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(tmpl, "metadata", md);
	}
	json_t *labels = json_object_get(md, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(md, "labels", labels);
	}
	const char *const name_keys[] = {LEGACY_JOB_NAME, LABEL_JOB_NAME};
	const char *const uid_keys[] = {LEGACY_CONTROLLER_UID, LABEL_CONTROLLER_UID};
	for (size_t i = 0; i < 2; i++) {
		if (!json_object_get(labels, name_keys[i]))
			json_object_set_new(labels, name_keys[i], json_string(name));
		if (!json_object_get(labels, uid_keys[i]))
			json_object_set_new(labels, uid_keys[i], json_string(uid));
	}
	json_t *sel = json_object_get(spec, "selector");
	if (!json_is_object(sel)) {
		sel = json_object();
		json_object_set_new(spec, "selector", sel);
	}
	json_t *ml = json_object_get(sel, "matchLabels");
	if (!json_is_object(ml)) {
		ml = json_object();
		json_object_set_new(sel, "matchLabels", ml);
	}
	if (!json_object_get(ml, LABEL_CONTROLLER_UID))
		json_object_set_new(ml, LABEL_CONTROLLER_UID, json_string(uid));
}

void kinds_job_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status", json_object());
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	/* SetDefaults_Job makes the template's labels the job's when it has
	 * none; upstream shares the map, so the generated labels show on the
	 * job too. */
	json_t *tlabels = json_path_get(spec, "template.metadata.labels");
	json_t *labels = json_path_get(obj, "metadata.labels");
	bool share = json_object_size(tlabels) > 0 && json_object_size(labels) == 0;
	if (!json_is_true(json_object_get(spec, "manualSelector")))
		generate_selector(obj, spec);
	if (share)
		json_path_set(obj, "metadata.labels",
			      json_deep_copy(json_path_get(spec, "template.metadata.labels")));
}

void kinds_cronjob_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	kinds_set_default(spec, "concurrencyPolicy", json_string("Allow"));
	kinds_set_default(spec, "suspend", json_false());
	kinds_set_default(spec, "successfulJobsHistoryLimit", json_integer(3));
	kinds_set_default(spec, "failedJobsHistoryLimit", json_integer(1));
	/* the job template gets its pod template's defaults, not SetDefaults_Job */
	podspec_defaults(json_path_get(spec, "jobTemplate.spec.template.spec"));
}

/* ---- validation ---- */

static void non_negative(const json_t *spec, const char *path, const char *key, json_t *causes)
{
	json_t *v = json_object_get(spec, key);
	if (json_is_integer(v) && json_integer_value(v) < 0) {
		cleanup_free char *f = xasprintf("%s.%s", path, key);
		api_cause_add(causes, "FieldValueInvalid", f,
			      "Invalid value: %lld: must be greater than or equal to 0",
			      (long long)json_integer_value(v));
	}
}

/* validateJobSpec: what a Job and a CronJob's job template share. */
static void validate_job_spec(const json_t *spec, const char *path, json_t *causes)
{
	non_negative(spec, path, "parallelism", causes);
	non_negative(spec, path, "completions", causes);
	non_negative(spec, path, "activeDeadlineSeconds", causes);
	non_negative(spec, path, "backoffLimit", causes);
	non_negative(spec, path, "ttlSecondsAfterFinished", causes);
	const char *mode = json_string_value(json_object_get(spec, "completionMode"));
	if (mode && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed")) {
		cleanup_free char *f = xasprintf("%s.completionMode", path);
		api_cause_add(causes, "FieldValueNotSupported", f,
			      "Unsupported value: \"%s\": supported values: \"NonIndexed\", "
			      "\"Indexed\"",
			      mode);
	} else if (mode && !strcmp(mode, "Indexed")) {
		cleanup_free char *f = xasprintf("%s.completionMode", path);
		if (!json_is_integer(json_object_get(spec, "completions"))) {
			cleanup_free char *cf = xasprintf("%s.completions", path);
			api_cause_add(causes, "FieldValueRequired", cf,
				      "Required value: when completion mode is Indexed");
		}
		/* the Job controller here tracks NonIndexed jobs only */
		api_cause_add(causes, "FieldValueNotSupported", f,
			      "Unsupported value: \"Indexed\": supported values: \"NonIndexed\"");
	}
	const char *prp = json_string_value(json_object_get(spec, "podReplacementPolicy"));
	if (prp && strcmp(prp, "TerminatingOrFailed") && strcmp(prp, "Failed")) {
		cleanup_free char *f = xasprintf("%s.podReplacementPolicy", path);
		api_cause_add(causes, "FieldValueNotSupported", f,
			      "Unsupported value: \"%s\": supported values: \"TerminatingOrFailed\", "
			      "\"Failed\"",
			      prp);
	}
	json_t *tmpl = json_object_get(spec, "template");
	json_t *pod_spec = json_object_get(tmpl, "spec");
	cleanup_free char *ppath = xasprintf("%s.template.spec", path);
	if (!json_is_object(pod_spec)) {
		cleanup_free char *f = xasprintf("%s.containers", ppath);
		api_cause_add(causes, "FieldValueRequired", f, "Required value");
		return;
	}
	kinds_podspec_validate(pod_spec, ppath, causes);
	const char *rp = json_string_value(json_object_get(pod_spec, "restartPolicy"));
	cleanup_free char *rf = xasprintf("%s.restartPolicy", ppath);
	if (!rp || !rp[0])
		api_cause_add(causes, "FieldValueRequired", rf,
			      "Required value: valid values: \"OnFailure\", \"Never\"");
	else if (strcmp(rp, "OnFailure") && strcmp(rp, "Never"))
		api_cause_add(causes, "FieldValueNotSupported", rf,
			      "Unsupported value: \"%s\": supported values: \"OnFailure\", \"Never\"",
			      rp);
}

/* ValidateHasLabel of the generated selector's labels. */
static void has_label(const json_t *labels, const char *key, const char *want, json_t *causes)
{
	const char *have = json_string_value(json_object_get(labels, key));
	cleanup_free char *f = xasprintf("spec.template.metadata.labels[%s]", key);
	if (!have) {
		api_cause_add(causes, "FieldValueRequired", f, "Required value: must be '%s'", want);
	} else if (strcmp(have, want)) {
		cleanup_free char *go = kinds_go_value(labels);
		api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: must be '%s'", go,
			      want);
	}
}

static void validate_generated_selector(const json_t *obj, const json_t *spec, json_t *causes)
{
	if (json_is_true(json_object_get(spec, "manualSelector")))
		return;
	json_t *sel = json_object_get(spec, "selector");
	if (!json_is_object(sel))
		return;
	const char *uid = json_path_str(obj, "metadata.uid");
	const char *name = json_path_str(obj, "metadata.name");
	if (!uid || !uid[0]) {
		api_cause_add(causes, "FieldValueRequired", "metadata.uid", "Required value");
		return;
	}
	json_t *labels = json_path_get(spec, "template.metadata.labels");
	has_label(labels, LEGACY_CONTROLLER_UID, uid, causes);
	has_label(labels, LEGACY_JOB_NAME, name ? name : "", causes);
	has_label(labels, LABEL_CONTROLLER_UID, uid, causes);
	has_label(labels, LABEL_JOB_NAME, name ? name : "", causes);
	cleanup_json json_t *expected = json_pack("{s:s, s:s, s:s, s:s}", LEGACY_CONTROLLER_UID, uid,
						  LEGACY_JOB_NAME, name ? name : "",
						  LABEL_CONTROLLER_UID, uid, LABEL_JOB_NAME,
						  name ? name : "");
	bool valid;
	if (!kinds_selector_matches(sel, expected, &valid) && valid) {
		cleanup_free char *go = kinds_go_selector(sel);
		api_cause_add(causes, "FieldValueInvalid", "spec.selector",
			      "Invalid value: %s: `selector` not auto-generated", go);
	}
}

static void immutable(const json_t *spec, const json_t *old_spec, const char *key, json_t *causes)
{
	json_t *a = json_object_get(spec, key), *b = json_object_get(old_spec, key);
	if ((a || b) && !(a && b && json_equal(a, b))) {
		cleanup_free char *f = xasprintf("spec.%s", key);
		cleanup_free char *go = NULL;
		if (!a)
			go = xstrdup("null");
		else if (json_is_integer(a))
			go = xasprintf("%lld", (long long)json_integer_value(a));
		else if (json_is_string(a))
			go = kinds_go_value(a);
		else if (!strcmp(key, "selector"))
			go = kinds_go_selector(a);
		else /* upstream dumps the whole Go struct here */
			go = xstrdup("core.PodTemplateSpec{...}");
		api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: field is immutable",
			      go);
	}
}

void kinds_job_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		api_cause_add(causes, "FieldValueRequired", "spec.template.spec.containers",
			      "Required value");
		return;
	}
	validate_generated_selector(obj, spec, causes);
	validate_job_spec(spec, "spec", causes);
	json_t *sel = json_object_get(spec, "selector");
	if (!json_is_object(sel)) {
		api_cause_add(causes, "FieldValueRequired", "spec.selector", "Required value");
	} else {
		json_t *labels = json_path_get(spec, "template.metadata.labels");
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
	if (!old)
		return;
	json_t *old_spec = json_object_get(old, "spec");
	immutable(spec, old_spec, "completions", causes);
	immutable(spec, old_spec, "selector", causes);
	immutable(spec, old_spec, "completionMode", causes);
	/* a suspended job's template may change before it starts */
	if (!json_is_true(json_object_get(old_spec, "suspend")))
		immutable(spec, old_spec, "template", causes);
}

/* validateTimeZone. */
static void validate_time_zone(const json_t *spec, json_t *causes)
{
	json_t *v = json_object_get(spec, "timeZone");
	const char *tz = json_string_value(v);
	if (!tz)
		return;
	if (!tz[0]) {
		api_cause_add(causes, "FieldValueInvalid", "spec.timeZone",
			      "Invalid value: \"\": timeZone must be nil or non-empty string");
		return;
	}
	if (!strcasecmp(tz, "Local")) {
		api_cause_add(causes, "FieldValueInvalid", "spec.timeZone",
			      "Invalid value: \"%s\": timeZone must be an explicit time zone as "
			      "defined in https://www.iana.org/time-zones",
			      tz);
		return;
	}
	cleanup_err struct mk_err *err = NULL;
	struct cron_zone *z = cron_zone_load(tz, &err);
	if (!z) {
		cleanup_free char *go = kinds_go_value(v);
		api_cause_add(causes, "FieldValueInvalid", "spec.timeZone", "Invalid value: %s: %s",
			      go, mk_err_msg(err));
	}
	cron_zone_free(z);
}

void kinds_cronjob_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	const char *name = json_path_str(obj, "metadata.name");
	/* the jobs it makes append 11 characters to its name */
	if (name && strlen(name) > 52)
		api_cause_add(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": must be no more than 52 characters", name);
	json_t *spec = json_object_get(obj, "spec");
	const char *schedule = json_string_value(json_object_get(spec, "schedule"));
	if (!schedule || !schedule[0]) {
		api_cause_add(causes, "FieldValueRequired", "spec.schedule", "Required value");
	} else {
		cleanup_json json_t *sv = json_string(schedule);
		cleanup_free char *go = kinds_go_value(sv);
		cleanup_err struct mk_err *err = NULL;
		struct cron_schedule *s = cron_schedule_parse(schedule, &err);
		if (!s)
			api_cause_add(causes, "FieldValueInvalid", "spec.schedule",
				      "Invalid value: %s: %s", go, mk_err_msg(err));
		cron_schedule_free(s);
		if (strstr(schedule, "TZ"))
			api_cause_add(causes, "FieldValueInvalid", "spec.schedule",
				      "Invalid value: %s: cannot use TZ or CRON_TZ in schedule, use "
				      "timeZone field instead",
				      go);
	}
	validate_time_zone(spec, causes);
	non_negative(spec, "spec", "startingDeadlineSeconds", causes);
	non_negative(spec, "spec", "successfulJobsHistoryLimit", causes);
	non_negative(spec, "spec", "failedJobsHistoryLimit", causes);
	const char *cp = json_string_value(json_object_get(spec, "concurrencyPolicy"));
	if (!cp || !cp[0])
		api_cause_add(causes, "FieldValueRequired", "spec.concurrencyPolicy",
			      "Required value");
	else if (strcmp(cp, "Allow") && strcmp(cp, "Forbid") && strcmp(cp, "Replace"))
		api_cause_add(causes, "FieldValueNotSupported", "spec.concurrencyPolicy",
			      "Unsupported value: \"%s\": supported values: \"Allow\", \"Forbid\", "
			      "\"Replace\"",
			      cp);
	json_t *jspec = json_path_get(spec, "jobTemplate.spec");
	if (!json_is_object(jspec)) {
		api_cause_add(causes, "FieldValueRequired",
			      "spec.jobTemplate.spec.template.spec.containers", "Required value");
		return;
	}
	validate_job_spec(jspec, "spec.jobTemplate.spec", causes);
	json_t *sel = json_object_get(jspec, "selector");
	if (sel && !json_is_null(sel)) {
		cleanup_free char *go = kinds_go_selector(sel);
		api_cause_add(causes, "FieldValueInvalid", "spec.jobTemplate.spec.selector",
			      "Invalid value: %s: `selector` will be auto-generated", go);
	}
	if (json_is_true(json_object_get(jspec, "manualSelector")))
		api_cause_add(causes, "FieldValueNotSupported", "spec.jobTemplate.spec.manualSelector",
			      "Unsupported value: true: supported values: \"nil\", \"false\"");
}
