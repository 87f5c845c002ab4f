/* Pods: printer (upstream's Status/Ready/Restarts rules), field selectors,
 * defaults, validation and the status reset on create. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "names.h"
#include "podspec.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

const struct table_column kinds_pod_columns[] = {
	{.name = "Name",
	 .type = "string",
	 .format = "name",
	 .description = "Name must be unique within a namespace. Is required when creating "
			"resources, although some resources may allow a client to request the "
			"generation of an appropriate name automatically."},
	COLUMN("Ready", "string",
	       "The aggregate readiness state of this pod for accepting "
	       "traffic.",
	       0),
	COLUMN("Status", "string", "The aggregate status of the containers in this pod.", 0),
	COLUMN("Restarts", "string",
	       "The number of times the containers in this pod have "
	       "been restarted and when the last container in this pod "
	       "has restarted.",
	       0),
	{.name = "Age",
	 .type = "string",
	 .format = "",
	 .description = "CreationTimestamp is a timestamp representing the server time when "
			"this object was created."},
	COLUMN("IP", "string",
	       "IP address allocated to the pod. Routable at least within the "
	       "cluster. Empty if not yet allocated.",
	       1),
	COLUMN("Node", "string",
	       "NodeName is a request to schedule this pod onto a specific "
	       "node.",
	       1),
	COLUMN("Nominated Node", "string",
	       "nominatedNodeName is set only when this pod "
	       "preempts other pods on the node.",
	       1),
	COLUMN("Readiness Gates", "string",
	       "If specified, all readiness gates will be "
	       "evaluated for pod readiness.",
	       1),
	{.name = NULL},
};

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool condition_true(const json_t *pod, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(pod, "status.conditions"), i,
			   c) if (str_eq(json_path_str(c, "type"),
					 type)) return str_eq(json_path_str(c, "status"), "True");
	return false;
}

static const json_t *init_container_spec(const json_t *pod, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(pod, "spec.initContainers"), i,
			   c) if (str_eq(json_path_str(c, "name"), name)) return c;
	return NULL;
}

/* Sidecars: init containers with restartPolicy Always. */
static bool restartable(const json_t *c)
{
	return c && str_eq(json_path_str(c, "restartPolicy"), "Always");
}

/* Keeps in *latest the later of itself and the status's last termination time. */
static void note_termination(const json_t *status, time_t *latest)
{
	const char *fin = json_path_str(status, "lastState.terminated.finishedAt");
	time_t t;
	if (fin && time_parse_rfc3339(fin, &t, NULL) == 0 && t > *latest)
		*latest = t;
}

static char *terminated_reason(const json_t *term, const char *prefix)
{
	const char *reason = json_path_str(term, "reason");
	if (reason && reason[0])
		return xasprintf("%s%s", prefix, reason);
	long long sig = printer_int(term, "signal");
	if (sig)
		return xasprintf("%sSignal:%lld", prefix, sig);
	return xasprintf("%sExitCode:%lld", prefix, printer_int(term, "exitCode"));
}

void kinds_pod_print(const json_t *pod, time_t now, json_t *cells)
{
	long long restarts = 0, sidecar_restarts = 0;
	time_t last_restart = 0, sidecar_last_restart = 0;
	size_t total = json_array_size(json_path_get(pod, "spec.containers"));
	size_t ready = 0;
	const char *phase = printer_str(pod, "status.phase");
	cleanup_free char *reason = xstrdup(phase);
	const char *status_reason = json_path_str(pod, "status.reason");
	if (status_reason && status_reason[0]) {
		free(reason);
		reason = xstrdup(status_reason);
	}
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(pod, "status.conditions"), i,
			   c) if (str_eq(json_path_str(c, "type"), "PodScheduled") &&
				  str_eq(json_path_str(c, "reason"), "SchedulingGated"))
	{
		free(reason);
		reason = xstrdup("SchedulingGated");
	}

	json_t *init_specs = json_path_get(pod, "spec.initContainers");
	json_array_foreach(init_specs, i, c) if (restartable(c)) total++;

	bool initializing = false;
	json_array_foreach(json_path_get(pod, "status.initContainerStatuses"), i, c)
	{
		const json_t *spec = init_container_spec(pod, printer_str(c, "name"));
		restarts += printer_int(c, "restartCount");
		note_termination(c, &last_restart);
		if (restartable(spec)) {
			sidecar_restarts += printer_int(c, "restartCount");
			note_termination(c, &sidecar_last_restart);
		}
		json_t *term = json_path_get(c, "state.terminated");
		const char *waiting = json_path_str(c, "state.waiting.reason");
		if (term && printer_int(term, "exitCode") == 0)
			continue;
		if (restartable(spec) && json_is_true(json_object_get(c, "started"))) {
			if (json_is_true(json_object_get(c, "ready")))
				ready++;
			continue;
		}
		free(reason);
		if (term)
			reason = terminated_reason(term, "Init:");
		else if (waiting && waiting[0] && strcmp(waiting, "PodInitializing"))
			reason = xasprintf("Init:%s", waiting);
		else
			reason = xasprintf("Init:%zu/%zu", i, json_array_size(init_specs));
		initializing = true;
		break;
	}

	if (!initializing || condition_true(pod, "Initialized")) {
		restarts = sidecar_restarts;
		last_restart = sidecar_last_restart;
		bool has_running = false;
		json_t *statuses = json_path_get(pod, "status.containerStatuses");
		for (size_t k = json_array_size(statuses); k-- > 0;) {
			c = json_array_get(statuses, k);
			restarts += printer_int(c, "restartCount");
			note_termination(c, &last_restart);
			const char *waiting = json_path_str(c, "state.waiting.reason");
			json_t *term = json_path_get(c, "state.terminated");
			if (waiting && waiting[0]) {
				free(reason);
				reason = xstrdup(waiting);
			} else if (term) {
				free(reason);
				reason = terminated_reason(term, "");
			} else if (json_is_true(json_object_get(c, "ready")) &&
				   json_path_get(c, "state.running")) {
				has_running = true;
				ready++;
			}
		}
		if (!strcmp(reason, "Completed") && has_running) {
			free(reason);
			reason = xstrdup(condition_true(pod, "Ready") ? "Running" : "NotReady");
		}
	}

	if (json_path_get(pod, "metadata.deletionTimestamp") &&
	    !json_is_null(json_path_get(pod, "metadata.deletionTimestamp"))) {
		if (str_eq(status_reason, "NodeLost")) {
			free(reason);
			reason = xstrdup("Unknown");
		} else if (strcmp(phase, "Succeeded") && strcmp(phase, "Failed")) {
			free(reason);
			reason = xstrdup("Terminating");
		}
	}

	char *restarts_str;
	if (restarts != 0 && last_restart != 0) {
		char ago[32];
		restarts_str = xasprintf("%lld (%s ago)", restarts,
					 time_human_duration(last_restart, now, ago, sizeof(ago)));
	} else {
		restarts_str = xasprintf("%lld", restarts);
	}
	cleanup_free char *ready_str = xasprintf("%zu/%zu", ready, total);

	json_array_append_new(cells, json_string(printer_str(pod, "metadata.name")));
	json_array_append_new(cells, json_string(ready_str));
	json_array_append_new(cells, json_string(reason));
	json_array_append_new(cells, json_string(restarts_str));
	free(restarts_str);
	printer_cell_age(pod, now, cells);

	const char *ip = json_path_str(pod, "status.podIPs.0.ip");
	const char *node = json_path_str(pod, "spec.nodeName");
	const char *nominated = json_path_str(pod, "status.nominatedNodeName");
	json_array_append_new(cells, json_string(ip && ip[0] ? ip : "<none>"));
	json_array_append_new(cells, json_string(node && node[0] ? node : "<none>"));
	json_array_append_new(cells, json_string(nominated && nominated[0] ? nominated : "<none>"));
	json_t *gates = json_path_get(pod, "spec.readinessGates");
	if (json_array_size(gates) == 0) {
		json_array_append_new(cells, json_string("<none>"));
	} else {
		size_t true_count = 0;
		json_t *g;
		json_array_foreach(gates, i, g)
		{
			const char *type = json_path_str(g, "conditionType");
			size_t j;
			json_array_foreach(json_path_get(pod, "status.conditions"), j,
					   c) if (str_eq(json_path_str(c, "type"), type))
			{
				if (str_eq(json_path_str(c, "status"), "True"))
					true_count++;
				break;
			}
		}
		cleanup_free char *s = xasprintf("%zu/%zu", true_count, json_array_size(gates));
		json_array_append_new(cells, json_string(s));
	}
}

bool kinds_pod_field(const json_t *obj, const char *field, const char **value)
{
	static const char *const direct[] = {
		"spec.nodeName",	   "spec.restartPolicy", "spec.schedulerName",
		"spec.serviceAccountName", "status.phase",	 "status.nominatedNodeName",
	};
	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
		if (!strcmp(field, direct[i])) {
			*value = printer_str(obj, field);
			return true;
		}
	if (!strcmp(field, "status.podIP")) {
		const char *ip = json_path_str(obj, "status.podIPs.0.ip");
		*value = ip ? ip : printer_str(obj, "status.podIP");
		return true;
	}
	if (!strcmp(field, "spec.hostNetwork")) {
		*value = json_is_true(json_path_get(obj, field)) ? "true" : "false";
		return true;
	}
	return false;
}

/* ---- defaults ---- */

void kinds_pod_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	podspec_defaults(spec);
	kinds_set_default(spec, "enableServiceLinks", json_true());
	/* spec.serviceAccount is the deprecated alias of serviceAccountName,
	 * kept equal; the ServiceAccount admission plugin picks "default". */
	const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
	const char *sa_old = json_string_value(json_object_get(spec, "serviceAccount"));
	if ((!sa || !sa[0]) && sa_old && sa_old[0])
		json_object_set_new(spec, "serviceAccountName", json_string(sa_old));
	if (json_object_get(spec, "serviceAccountName"))
		json_object_set(spec, "serviceAccount", json_object_get(spec, "serviceAccountName"));
	kinds_set_default(spec, "priority", json_integer(0));
	kinds_set_default(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
}

/* ---- validation ---- */

static void validate_enum(const json_t *obj, const char *key, const char *path,
			  const char *const *allowed, json_t *causes)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return;
	const char *s = json_string_value(v);
	cleanup_free char *field = xasprintf("%s.%s", path, key);
	if (!s || !s[0]) {
		api_cause_add(causes, "FieldValueRequired", field, "Required value");
		return;
	}
	cleanup_buf struct buf list = BUF_INIT;
	for (const char *const *a = allowed; *a; a++) {
		if (!strcmp(*a, s))
			return;
		buf_printf(&list, "%s\"%s\"", a == allowed ? "" : ", ", *a);
	}
	api_cause_add(causes, "FieldValueNotSupported", field,
		      "Unsupported value: \"%s\": supported values: %s", s, buf_str(&list));
}

static void validate_port_number(const json_t *port, const char *key, const char *path,
				 bool required, json_t *causes)
{
	json_t *v = json_object_get(port, key);
	cleanup_free char *field = xasprintf("%s.%s", path, key);
	if (!v || (json_is_integer(v) && json_integer_value(v) == 0)) {
		if (required)
			api_cause_add(causes, "FieldValueRequired", field, "Required value");
		return;
	}
	if (!json_is_integer(v))
		return;
	long long n = json_integer_value(v);
	if (n < 1 || n > 65535)
		api_cause_add(causes, "FieldValueInvalid", field,
			      "Invalid value: %lld: must be between 1 and 65535, inclusive", n);
}

static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};

static void validate_containers(const json_t *list, const char *path, json_t *names, json_t *causes)
{
	static const char *const pull[] = {"Always", "IfNotPresent", "Never", NULL};
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		cleanup_free char *cp = xasprintf("%s[%zu]", path, i);
		cleanup_free char *name_field = xasprintf("%s.name", cp);
		const char *name = json_string_value(json_object_get(c, "name"));
		if (!name || !name[0]) {
			api_cause_add(causes, "FieldValueRequired", name_field, "Required value");
		} else if (names_check_dns1123_label(name)) {
			api_cause_add(causes, "FieldValueInvalid", name_field,
				      "Invalid value: \"%s\": %s", name,
				      names_check_dns1123_label(name));
		} else if (json_object_get(names, name)) {
			api_cause_add(causes, "FieldValueDuplicate", name_field,
				      "Duplicate value: \"%s\"", name);
		} else {
			json_object_set_new(names, name, json_true());
		}
		const char *image = json_string_value(json_object_get(c, "image"));
		if (!image || !image[0]) {
			cleanup_free char *f = xasprintf("%s.image", cp);
			api_cause_add(causes, "FieldValueRequired", f, "Required value");
		}
		validate_enum(c, "imagePullPolicy", cp, pull, causes);
		cleanup_json json_t *port_names = json_object();
		size_t j;
		json_t *p;
		json_array_foreach(json_object_get(c, "ports"), j, p)
		{
			cleanup_free char *pp = xasprintf("%s.ports[%zu]", cp, j);
			validate_port_number(p, "containerPort", pp, true, causes);
			validate_port_number(p, "hostPort", pp, false, causes);
			validate_enum(p, "protocol", pp, protocols, causes);
			const char *pn = json_string_value(json_object_get(p, "name"));
			if (pn && pn[0]) {
				cleanup_free char *f = xasprintf("%s.name", pp);
				if (json_object_get(port_names, pn))
					api_cause_add(causes, "FieldValueDuplicate", f,
						      "Duplicate value: \"%s\"", pn);
				json_object_set_new(port_names, pn, json_true());
			}
		}
	}
}

void kinds_podspec_validate(const json_t *spec, const char *path, json_t *causes)
{
	static const char *const restart[] = {"Always", "OnFailure", "Never", NULL};
	static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default",
					  "None", NULL};
	cleanup_free char *cpath = xasprintf("%s.containers", path);
	json_t *containers = json_object_get(spec, "containers");
	cleanup_json json_t *names = json_object();
	if (json_array_size(containers) == 0)
		api_cause_add(causes, "FieldValueRequired", cpath, "Required value");
	else
		validate_containers(containers, cpath, names, causes);
	cleanup_free char *ipath = xasprintf("%s.initContainers", path);
	validate_containers(json_object_get(spec, "initContainers"), ipath, names, causes);
	validate_enum(spec, "restartPolicy", path, restart, causes);
	validate_enum(spec, "dnsPolicy", path, dns, causes);
	json_t *grace = json_object_get(spec, "terminationGracePeriodSeconds");
	if (json_is_integer(grace) && json_integer_value(grace) < 0) {
		cleanup_free char *f = xasprintf("%s.terminationGracePeriodSeconds", path);
		api_cause_add(causes, "FieldValueInvalid", f,
			      "Invalid value: %lld: must be greater than or equal to 0",
			      (long long)json_integer_value(grace));
	}
	cleanup_json json_t *vol_names = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		cleanup_free char *f = xasprintf("%s.volumes[%zu].name", path, i);
		if (!name || !name[0])
			api_cause_add(causes, "FieldValueRequired", f, "Required value");
		else if (json_object_get(vol_names, name))
			api_cause_add(causes, "FieldValueDuplicate", f, "Duplicate value: \"%s\"",
				      name);
		else
			json_object_set_new(vol_names, name, json_true());
	}
}

/* The spec with what upstream lets a pod update change blanked out. */
static json_t *immutable_view(const json_t *spec)
{
	json_t *s = json_copy_deep(spec ? spec : json_object());
	const char *lists[] = {"containers", "initContainers"};
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(s, lists[k]), i, c) if (json_is_object(c))
			json_object_del(c, "image");
	}
	json_object_del(s, "activeDeadlineSeconds");
	json_object_del(s, "tolerations");
	json_object_del(s, "terminationGracePeriodSeconds");
	return s;
}

void kinds_pod_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		api_cause_add(causes, "FieldValueRequired", "spec.containers", "Required value");
		return;
	}
	kinds_podspec_validate(spec, "spec", causes);
	if (old) {
		cleanup_json json_t *a = immutable_view(json_object_get(old, "spec"));
		cleanup_json json_t *b = immutable_view(spec);
		if (!json_equal(a, b))
			api_cause_add(causes, "FieldValueForbidden", "spec",
				      "Forbidden: pod updates may not change fields other than "
				      "`spec.containers[*].image`,`spec.initContainers[*].image`,"
				      "`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
				      "additions to existing tolerations),"
				      "`spec.terminationGracePeriodSeconds` (allow it to be set to "
				      "1 if it was previously negative)");
	}
}

/* ---- status ---- */

void kinds_pod_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status",
			    json_pack("{s:s, s:s}", "phase", "Pending", "qosClass",
				      podspec_qos_class(json_object_get(obj, "spec"))));
}

void kinds_pod_prepare_update(json_t *obj, const json_t *old)
{
	json_t *status = json_object_get(old, "status");
	if (status)
		json_object_set_new(obj, "status", json_copy_deep(status));
	else
		json_object_del(obj, "status");
}
