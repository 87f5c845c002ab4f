/* core/v1 kinds other than pods and services: printers, field selectors,
 * defaults and validation. */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

static void cell_str(json_t *cells, const char *s)
{
	json_array_append_new(cells, json_string(s ? s : ""));
}

static void cell_int(json_t *cells, long long v)
{
	json_array_append_new(cells, json_integer(v));
}

static void cell_take(json_t *cells, char *s)
{
	json_array_append_new(cells, json_string(s));
	free(s);
}

char *kinds_go_value(const json_t *v)
{
	cleanup_buf struct buf b = BUF_INIT;
	switch (json_typeof(v)) {
	case JSON_STRING: {
		buf_append_char(&b, '"');
		for (const char *p = json_string_value(v); *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_append_char(&b, '\\');
			buf_append_char(&b, *p);
		}
		buf_append_char(&b, '"');
		break;
	}
	case JSON_INTEGER:
		buf_printf(&b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		buf_printf(&b, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		buf_append_str(&b, json_is_true(v) ? "true" : "false");
		break;
	case JSON_OBJECT: {
		/* Go prints maps with sorted keys. */
		size_t m;
		const char **keys = json_object_sorted_keys(v, &m);
		buf_append_str(&b, "map[string]string{");
		for (size_t i = 0; i < m; i++) {
			json_t *key = json_string(keys[i]);
			cleanup_free char *ks = kinds_go_value(key);
			json_decref(key);
			cleanup_free char *vs = kinds_go_value(json_object_get(v, keys[i]));
			buf_printf(&b, "%s%s:%s", i ? ", " : "", ks, vs);
		}
		buf_append_char(&b, '}');
		free(keys);
		break;
	}
	case JSON_ARRAY: {
		buf_append_str(&b, "[]string{");
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			cleanup_free char *s = kinds_go_value(x);
			buf_printf(&b, "%s%s", i ? ", " : "", s);
		}
		buf_append_char(&b, '}');
		break;
	}
	default:
		buf_append_str(&b, "<nil>");
	}
	return buf_steal(&b);
}

/* ---- componentstatuses ---- */

const struct table_column kinds_componentstatus_columns[] = {
	NAME_COLUMN,
	COLUMN("Status", "string", "Status of the component conditions", 0),
	COLUMN("Message", "string", "Message of the component conditions", 0),
	COLUMN("Error", "string", "Error of the component conditions", 0),
	{.name = NULL},
};

void kinds_componentstatus_print(const json_t *obj, time_t now, json_t *cells)
{
	(void)now;
	const char *status = "Unknown", *message = "", *error = "";
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(obj, "conditions"), i, c)
	{
		if (strcmp(printer_str(c, "type"), "Healthy"))
			continue;
		status = !strcmp(printer_str(c, "status"), "True") ? "Healthy" : "Unhealthy";
		message = printer_str(c, "message");
		error = printer_str(c, "error");
		break;
	}
	cell_str(cells, printer_str(obj, "metadata.name"));
	cell_str(cells, status);
	cell_str(cells, message);
	cell_str(cells, error);
}

/* ---- configmaps ---- */

const struct table_column kinds_configmap_columns[] = {
	NAME_COLUMN,
	COLUMN("Data", "integer", "Number of keys in data and binaryData", 0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_configmap_print(const json_t *obj, time_t now, json_t *cells)
{
	cell_str(cells, printer_str(obj, "metadata.name"));
	cell_int(cells, (long long)(json_object_size(json_object_get(obj, "data")) +
				    json_object_size(json_object_get(obj, "binaryData"))));
	printer_cell_age(obj, now, cells);
}

static bool config_key_valid(const char *k)
{
	if (!k[0] || strlen(k) > 253 || !strcmp(k, ".") || !strcmp(k, ".."))
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/* Keys of data-like maps, with upstream's messages. */
static void validate_config_keys(const json_t *map, const char *path, json_t *causes)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v)
	{
		cleanup_free char *field = xasprintf("%s[%s]", path, k);
		if (!strcmp(k, ".") || !strcmp(k, "..")) {
			api_cause_add(causes, "FieldValueInvalid", field,
				      "Invalid value: \"%s\": must not be '%s'", k, k);
		} else if (!config_key_valid(k)) {
			api_cause_add(causes, "FieldValueInvalid", field,
				      "Invalid value: \"%s\": a valid config key must consist of "
				      "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
				      "or 'KEY_NAME',  or 'key-name', regex used for validation is "
				      "'[-._a-zA-Z0-9]+')",
				      k);
		}
	}
}

/* Upstream: once `immutable` is true, neither the data nor the flag change. */
static void validate_immutable(const json_t *obj, const json_t *old, const char *const *keys,
			       json_t *causes)
{
	if (!old || !json_is_true(json_object_get(old, "immutable")))
		return;
	for (const char *const *k = keys; *k; k++) {
		json_t *a = json_object_get(obj, *k), *b = json_object_get(old, *k);
		bool empty_a = !a || json_object_size(a) == 0,
		     empty_b = !b || json_object_size(b) == 0;
		if (!(empty_a && empty_b) && !json_equal(a, b))
			api_cause_add(causes, "FieldValueForbidden", *k,
				      "Forbidden: field is immutable when `immutable` is set");
	}
	if (!json_is_true(json_object_get(obj, "immutable")))
		api_cause_add(causes, "FieldValueForbidden", "immutable",
			      "Forbidden: field is immutable when `immutable` is set");
}

void kinds_configmap_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	static const char *const keys[] = {"data", "binaryData", NULL};
	validate_immutable(obj, old, keys, causes);
	json_t *data = json_object_get(obj, "data");
	json_t *bin = json_object_get(obj, "binaryData");
	validate_config_keys(data, "data", causes);
	validate_config_keys(bin, "binaryData", causes);
	const char *k;
	json_t *v;
	json_object_foreach(bin, k, v)
	{
		if (!json_object_get(data, k))
			continue;
		cleanup_free char *field = xasprintf("binaryData[%s]", k);
		api_cause_add(causes, "FieldValueInvalid", field,
			      "Invalid value: \"%s\": duplicate of key present in data", k);
	}
}

/* ---- endpoints ---- */

const struct table_column kinds_endpoints_columns[] = {
	NAME_COLUMN,
	COLUMN("Endpoints", "string", "Endpoints of the service", 0),
	AGE_COLUMN,
	{.name = NULL},
};

/* At most three addresses, then " + N more...", as upstream's formatEndpoints. */
void kinds_endpoints_print(const json_t *obj, time_t now, json_t *cells)
{
	cell_str(cells, printer_str(obj, "metadata.name"));
	json_t *subsets = json_object_get(obj, "subsets");
	if (json_array_size(subsets) == 0) {
		cell_str(cells, "<none>");
	} else {
		cleanup_buf struct buf b = BUF_INIT;
		const size_t max = 3;
		size_t listed = 0, count = 0;
		bool more = false;
		size_t i;
		json_t *ss;
		json_array_foreach(subsets, i, ss)
		{
			json_t *addrs = json_object_get(ss, "addresses");
			json_t *ports = json_object_get(ss, "ports");
			size_t n_ports = json_array_size(ports);
			for (size_t p = 0; p < (n_ports ? n_ports : 1); p++) {
				count += json_array_size(addrs);
				size_t j;
				json_t *a;
				json_array_foreach(addrs, j, a)
				{
					if (listed == max) {
						more = true;
						break;
					}
					const char *ip = printer_str(a, "ip");
					if (listed)
						buf_append_char(&b, ',');
					if (!n_ports)
						buf_append_str(&b, ip);
					else if (strchr(ip, ':'))
						buf_printf(&b, "[%s]:%lld", ip,
							   printer_int(json_array_get(ports, p),
								       "port"));
					else
						buf_printf(&b, "%s:%lld", ip,
							   printer_int(json_array_get(ports, p),
								       "port"));
					listed++;
				}
			}
		}
		if (more)
			buf_printf(&b, " + %zu more...", count - max);
		cell_str(cells, buf_str(&b));
	}
	printer_cell_age(obj, now, cells);
}

void kinds_endpoints_defaults(json_t *obj)
{
	size_t i, j;
	json_t *ss, *p;
	json_array_foreach(json_object_get(obj, "subsets"), i, ss)
		json_array_foreach(json_object_get(ss, "ports"), j,
				   p) if (json_is_object(p) && !json_object_get(p, "protocol"))
			json_object_set_new(p, "protocol", json_string("TCP"));
}

/* ---- events ---- */

const struct table_column kinds_event_columns[] = {
	COLUMN("Last Seen", "string", "The last time this event was observed.", 0),
	COLUMN("Type", "string",
	       "Type of this event (Normal, Warning), new types could be "
	       "added in the future.",
	       0),
	COLUMN("Reason", "string",
	       "Short, machine understandable string that gives the "
	       "reason for the transition into the object's current status.",
	       0),
	COLUMN("Object", "string", "The object this Event is about.", 0),
	COLUMN("Subobject", "string", "The subobject (fieldPath) this Event is about.", 1),
	COLUMN("Source", "string", "The component reporting this event.", 1),
	COLUMN("Message", "string",
	       "A human-readable description of the status of this "
	       "operation.",
	       0),
	COLUMN("First Seen", "string", "The time at which the event was first recorded.", 1),
	COLUMN("Count", "string", "The number of times this event has occurred.", 1),
	{.name = "Name",
	 .type = "string",
	 .format = "name",
	 .description = "Name must be unique within a namespace.",
	 .priority = 1},
	{.name = NULL},
};

static char *trim_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

void kinds_event_print(const json_t *obj, time_t now, json_t *cells)
{
	char first[32], last[32];
	const char *ft = json_path_str(obj, "firstTimestamp");
	printer_since(ft && ft[0] ? ft : json_path_str(obj, "eventTime"), now, first,
		      sizeof(first));
	const char *lt = json_path_str(obj, "lastTimestamp");
	if (lt && lt[0])
		printer_since(lt, now, last, sizeof(last));
	else
		snprintf(last, sizeof(last), "%s", first);
	long long count = printer_int(obj, "count");
	if (json_is_object(json_object_get(obj, "series"))) {
		printer_since(json_path_str(obj, "series.lastObservedTime"), now, last,
			      sizeof(last));
		count = printer_int(obj, "series.count");
	} else if (count == 0) {
		count = 1;
	}

	const char *kind = printer_str(obj, "involvedObject.kind");
	const char *name = printer_str(obj, "involvedObject.name");
	cleanup_free char *lkind = xstrdup(kind);
	for (char *p = lkind; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	char *target = name[0] ? xasprintf("%s/%s", lkind, name) : xstrdup(lkind);

	const char *component = printer_str(obj, "source.component");
	if (!component[0])
		component = printer_str(obj, "reportingComponent");
	const char *host = printer_str(obj, "source.host");
	if (!host[0])
		host = printer_str(obj, "reportingInstance");
	char *source = host[0] ? xasprintf("%s, %s", component, host) : xstrdup(component);

	cell_str(cells, last);
	cell_str(cells, printer_str(obj, "type"));
	cell_str(cells, printer_str(obj, "reason"));
	cell_take(cells, target);
	cell_str(cells, printer_str(obj, "involvedObject.fieldPath"));
	cell_take(cells, source);
	cell_take(cells, trim_space(printer_str(obj, "message")));
	cell_str(cells, first);
	cell_int(cells, count);
	cell_str(cells, printer_str(obj, "metadata.name"));
}

bool kinds_event_field(const json_t *obj, const char *field, const char **value)
{
	static const char *const direct[] = {
		"involvedObject.kind",	     "involvedObject.namespace",
		"involvedObject.name",	     "involvedObject.uid",
		"involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath",  "reason",
		"reportingComponent",	     "type",
	};
	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
		if (!strcmp(field, direct[i])) {
			*value = printer_str(obj, field);
			return true;
		}
	if (!strcmp(field, "source")) {
		*value = printer_str(obj, "source.component");
		return true;
	}
	return false;
}

void kinds_event_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	const char *ns = printer_str(obj, "metadata.namespace");
	const char *ins = printer_str(obj, "involvedObject.namespace");
	if (ins[0] && strcmp(ins, ns))
		api_cause_add(causes, "FieldValueInvalid", "involvedObject.namespace",
			      "Invalid value: \"%s\": does not match event.namespace", ins);
	const char *type = json_path_str(obj, "type");
	if (type && type[0] && strcmp(type, "Normal") && strcmp(type, "Warning"))
		api_cause_add(causes, "FieldValueNotSupported", "type",
			      "Unsupported value: \"%s\": supported values: \"Normal\", "
			      "\"Warning\"",
			      type);
}

/* ---- namespaces ---- */

const struct table_column kinds_namespace_columns[] = {
	NAME_COLUMN,
	COLUMN("Status", "string", "The status of the namespace", 0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_namespace_print(const json_t *obj, time_t now, json_t *cells)
{
	cell_str(cells, printer_str(obj, "metadata.name"));
	cell_str(cells, printer_str(obj, "status.phase"));
	printer_cell_age(obj, now, cells);
}

bool kinds_namespace_field(const json_t *obj, const char *field, const char **value)
{
	if (strcmp(field, "status.phase"))
		return false;
	*value = printer_str(obj, field);
	return true;
}

void kinds_namespace_defaults(json_t *obj)
{
	const char *name = json_path_str(obj, "metadata.name");
	if (name && name[0]) {
		json_t *labels = json_path_get(obj, "metadata.labels");
		if (!json_is_object(labels)) {
			labels = json_object();
			json_path_set(obj, "metadata.labels", labels);
		}
		json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
	}
	if (!json_path_str(obj, "status.phase"))
		json_path_set(obj, "status.phase", json_string("Active"));
}

void kinds_namespace_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
	json_t *fin = json_path_get(obj, "spec.finalizers");
	if (!json_is_array(fin)) {
		json_path_set(obj, "spec.finalizers", json_pack("[s]", "kubernetes"));
		return;
	}
	size_t i;
	json_t *f;
	json_array_foreach(fin, i, f) if (json_is_string(f) &&
					  !strcmp(json_string_value(f), "kubernetes")) return;
	json_array_append_new(fin, json_string("kubernetes"));
}

void kinds_namespace_prepare_update(json_t *obj, const json_t *old)
{
	json_t *fin = json_path_get(old, "spec.finalizers");
	if (fin)
		json_path_set(obj, "spec.finalizers", json_copy_deep(fin));
	else if (json_is_object(json_object_get(obj, "spec")))
		json_object_del(json_object_get(obj, "spec"), "finalizers");
	json_t *status = json_object_get(old, "status");
	if (status)
		json_object_set_new(obj, "status", json_copy_deep(status));
}

/* ---- nodes ---- */

const struct table_column kinds_node_columns[] = {
	NAME_COLUMN,
	COLUMN("Status", "string", "The status of the node", 0),
	COLUMN("Roles", "string", "The roles of the node", 0),
	AGE_COLUMN,
	COLUMN("Version", "string", "Kubelet Version reported by the node.", 0),
	COLUMN("Internal-IP", "string", "List of internal IPs.", 1),
	COLUMN("External-IP", "string", "List of external IPs.", 1),
	COLUMN("OS-Image", "string",
	       "OS Image reported by the node from /etc/os-release "
	       "(e.g. Debian GNU/Linux 7 (wheezy)).",
	       1),
	COLUMN("Kernel-Version", "string",
	       "Kernel Version reported by the node from "
	       "'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
	       1),
	COLUMN("Container-Runtime", "string",
	       "ContainerRuntime Version reported by the node "
	       "through runtime remote API (e.g. "
	       "containerd://1.4.2).",
	       1),
	{.name = NULL},
};

static const char *node_address(const json_t *obj, const char *type)
{
	size_t i;
	json_t *a;
	json_array_foreach(
		json_path_get(obj, "status.addresses"), i,
		a) if (!strcmp(printer_str(a, "type"), type)) return printer_str(a, "address");
	return "<none>";
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *node_roles(const json_t *obj)
{
	json_t *labels = json_path_get(obj, "metadata.labels");
	size_t n = json_object_size(labels), m = 0;
	const char **roles = xcalloc(n ? n : 1, sizeof(*roles));
	const char *prefix = "node-role.kubernetes.io/";
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v)
	{
		const char *role = NULL;
		if (!strncmp(k, prefix, strlen(prefix)) && k[strlen(prefix)])
			role = k + strlen(prefix);
		else if (!strcmp(k, "kubernetes.io/role") && json_string_value(v) &&
			 json_string_value(v)[0])
			role = json_string_value(v);
		if (!role)
			continue;
		bool dup = false;
		for (size_t i = 0; i < m; i++)
			dup |= !strcmp(roles[i], role);
		if (!dup)
			roles[m++] = role;
	}
	qsort(roles, m, sizeof(*roles), str_cmp);
	char *out = m ? printer_join(roles, m, ",") : xstrdup("<none>");
	free(roles);
	return out;
}

void kinds_node_print(const json_t *obj, time_t now, json_t *cells)
{
	cleanup_buf struct buf status = BUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(obj, "status.conditions"), i, c)
	{
		if (strcmp(printer_str(c, "type"), "Ready"))
			continue;
		buf_append_str(&status,
			       !strcmp(printer_str(c, "status"), "True") ? "Ready" : "NotReady");
		break;
	}
	if (status.len == 0)
		buf_append_str(&status, "Unknown");
	if (json_is_true(json_path_get(obj, "spec.unschedulable")))
		buf_append_str(&status, ",SchedulingDisabled");

	cell_str(cells, printer_str(obj, "metadata.name"));
	cell_str(cells, buf_str(&status));
	cell_take(cells, node_roles(obj));
	printer_cell_age(obj, now, cells);
	cell_str(cells, printer_str(obj, "status.nodeInfo.kubeletVersion"));
	cell_str(cells, node_address(obj, "InternalIP"));
	cell_str(cells, node_address(obj, "ExternalIP"));
	const char *info[] = {"status.nodeInfo.osImage", "status.nodeInfo.kernelVersion",
			      "status.nodeInfo.containerRuntimeVersion"};
	for (size_t j = 0; j < 3; j++) {
		const char *s = printer_str(obj, info[j]);
		cell_str(cells, s[0] ? s : "<unknown>");
	}
}

bool kinds_node_field(const json_t *obj, const char *field, const char **value)
{
	if (strcmp(field, "spec.unschedulable"))
		return false;
	*value = json_is_true(json_path_get(obj, field)) ? "true" : "false";
	return true;
}

void kinds_node_defaults(json_t *obj)
{
	json_t *cap = json_path_get(obj, "status.capacity");
	if (json_is_object(cap) && !json_path_get(obj, "status.allocatable"))
		json_path_set(obj, "status.allocatable", json_copy_deep(cap));
}

void kinds_node_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	const char *cidr = json_path_str(obj, "spec.podCIDR");
	if (old) {
		/* Upstream: podCIDR may be set once, never changed. */
		const char *was = json_path_str(old, "spec.podCIDR");
		if (was && was[0] && (!cidr || strcmp(cidr, was)))
			api_cause_add(causes, "FieldValueForbidden", "spec.podCIDRs",
				      "Forbidden: node updates may not change podCIDR except "
				      "from \"\" to valid");
	}
	json_t *taints = json_path_get(obj, "spec.taints");
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t)
	{
		const char *effect = printer_str(t, "effect");
		if (strcmp(effect, "NoSchedule") && strcmp(effect, "PreferNoSchedule") &&
		    strcmp(effect, "NoExecute")) {
			cleanup_free char *field = xasprintf("spec.taints[%zu].effect", i);
			if (!effect[0])
				api_cause_add(causes, "FieldValueRequired", field,
					      "Required value");
			else
				api_cause_add(causes, "FieldValueNotSupported", field,
					      "Unsupported value: \"%s\": supported values: "
					      "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
					      effect);
		}
	}
}

void kinds_node_prepare_update(json_t *obj, const json_t *old)
{
	json_t *status = json_object_get(old, "status");
	if (status)
		json_object_set_new(obj, "status", json_copy_deep(status));
	else
		json_object_del(obj, "status");
}

/* ---- secrets ---- */

const struct table_column kinds_secret_columns[] = {
	NAME_COLUMN,
	COLUMN("Type", "string", "The type of the secret", 0),
	COLUMN("Data", "integer", "The number of entries in the secret", 0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_secret_print(const json_t *obj, time_t now, json_t *cells)
{
	cell_str(cells, printer_str(obj, "metadata.name"));
	cell_str(cells, printer_str(obj, "type"));
	cell_int(cells, (long long)json_object_size(json_object_get(obj, "data")));
	printer_cell_age(obj, now, cells);
}

bool kinds_secret_field(const json_t *obj, const char *field, const char **value)
{
	if (strcmp(field, "type"))
		return false;
	*value = printer_str(obj, field);
	return true;
}

/* stringData is write-only upstream: merged into data (base64), then dropped. */
void kinds_secret_defaults(json_t *obj)
{
	const char *type = json_path_str(obj, "type");
	if (!type || !type[0])
		json_object_set_new(obj, "type", json_string("Opaque"));
	json_t *sd = json_object_get(obj, "stringData");
	if (!json_is_object(sd)) {
		json_object_del(obj, "stringData");
		return;
	}
	json_t *data = json_object_get(obj, "data");
	if (!json_is_object(data)) {
		data = json_object();
		json_object_set_new(obj, "data", data);
	}
	const char *k;
	json_t *v;
	json_object_foreach(sd, k, v)
	{
		if (!json_is_string(v))
			continue;
		cleanup_free char *enc = base64_encode(json_string_value(v), json_string_length(v));
		json_object_set_new(data, k, json_string(enc));
	}
	json_object_del(obj, "stringData");
}

void kinds_secret_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	json_t *data = json_object_get(obj, "data");
	validate_config_keys(data, "data", causes);
	size_t total = 0;
	const char *k;
	json_t *v;
	json_object_foreach(data, k, v) total += json_string_length(v) * 3 / 4;
	if (total > 1024 * 1024)
		api_cause_add(causes, "FieldValueTooLong", "data",
			      "Too long: must have at most 1048576 bytes");
	const char *type = printer_str(obj, "type");
	if (!strcmp(type, "kubernetes.io/tls")) {
		const char *keys[] = {"tls.crt", "tls.key"};
		for (size_t i = 0; i < 2; i++)
			if (!json_object_get(data, keys[i])) {
				cleanup_free char *field = xasprintf("data[%s]", keys[i]);
				api_cause_add(causes, "FieldValueRequired", field,
					      "Required value");
			}
	}
	/* The one key each well-known type needs, as upstream checks them. */
	static const struct {
		const char *type, *key;
	} required[] = {
		{"kubernetes.io/dockerconfigjson", ".dockerconfigjson"},
		{"kubernetes.io/dockercfg", ".dockercfg"},
		{"kubernetes.io/ssh-auth", "ssh-privatekey"},
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (strcmp(type, required[i].type) ||
		    json_string_length(json_object_get(data, required[i].key)) > 0)
			continue;
		cleanup_free char *field = xasprintf("data[%s]", required[i].key);
		api_cause_add(causes, "FieldValueRequired", field, "Required value");
	}
	if (!strcmp(type, "kubernetes.io/basic-auth") &&
	    json_string_length(json_object_get(data, "username")) == 0 &&
	    json_string_length(json_object_get(data, "password")) == 0)
		api_cause_add(causes, "FieldValueRequired", "data[username]", "Required value");
	if (!strcmp(type, "kubernetes.io/service-account-token") &&
	    !json_string_length(json_object_get(json_path_get(obj, "metadata.annotations"),
						"kubernetes.io/service-account.name")))
		api_cause_add(causes, "FieldValueRequired",
			      "metadata.annotations[kubernetes.io/service-account.name]",
			      "Required value");
	static const char *const keys[] = {"data", NULL};
	validate_immutable(obj, old, keys, causes);
	if (old) {
		const char *was = printer_str(old, "type");
		if (strcmp(was, type))
			api_cause_add(causes, "FieldValueInvalid", "type",
				      "Invalid value: \"%s\": field is immutable", type);
	}
}

/* ---- serviceaccounts ---- */

const struct table_column kinds_serviceaccount_columns[] = {
	NAME_COLUMN,
	COLUMN("Secrets", "integer",
	       "Secrets is a list of the secrets in the same namespace "
	       "that pods running using this ServiceAccount are allowed "
	       "to use.",
	       0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_serviceaccount_print(const json_t *obj, time_t now, json_t *cells)
{
	cell_str(cells, printer_str(obj, "metadata.name"));
	cell_int(cells, (long long)json_array_size(json_object_get(obj, "secrets")));
	printer_cell_age(obj, now, cells);
}

void kinds_set_default(json_t *obj, const char *key, json_t *value)
{
	if (!json_object_get(obj, key) || json_is_null(json_object_get(obj, key)))
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}
