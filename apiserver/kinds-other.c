/* Kinds of the small named groups: coordination.k8s.io Leases (printer
 * only) and discovery.k8s.io EndpointSlices (printer, defaults, validation). */
#include <arpa/inet.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"


const struct table_column kinds_lease_columns[] = {
	NAME_COLUMN,
	COLUMN("Holder", "string", "The holder of the lease", 0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_lease_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(obj, "spec.holderIdentity")));
	printer_cell_age(obj, now, cells);
}

const struct table_column kinds_endpointslice_columns[] = {
	NAME_COLUMN,
	COLUMN("AddressType", "string", "The IP protocol for this slice", 0),
	COLUMN("Ports", "string", "The ports for this slice", 0),
	COLUMN("Endpoints", "string", "The endpoints for this slice", 0),
	AGE_COLUMN,
	{.name = NULL},
};

/* Upstream's listWithMoreString: at most three, then " + N more...";
 * "<unset>" for none. */
static void finish_list(struct buf *b, size_t count, json_t *cells)
{
	if (count > 3)
		buf_printf(b, " + %zu more...", count - 3);
	json_array_append_new(cells, json_string(b->len ? buf_str(b) : "<unset>"));
}

void kinds_endpointslice_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(obj, "addressType")));

	cleanup_buf struct buf ports = BUF_INIT;
	size_t count = 0, i;
	json_t *p;
	json_array_foreach(json_object_get(obj, "ports"), i, p)
	{
		if (count < 3) {
			if (count)
				buf_append_char(&ports, ',');
			json_t *port = json_object_get(p, "port");
			const char *name = json_string_value(json_object_get(p, "name"));
			if (json_is_integer(port))
				buf_printf(&ports, "%lld", (long long)json_integer_value(port));
			else
				buf_append_str(&ports, name ? name : "*");
		}
		count++;
	}
	finish_list(&ports, count, cells);

	cleanup_buf struct buf eps = BUF_INIT;
	count = 0;
	json_t *e;
	json_array_foreach(json_object_get(obj, "endpoints"), i, e)
	{
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(e, "addresses"), j, a)
		{
			if (count < 3) {
				if (count)
					buf_append_char(&eps, ',');
				buf_append_str(&eps,
					       json_string_value(a) ? json_string_value(a) : "");
			}
			count++;
		}
	}
	finish_list(&eps, count, cells);
	printer_cell_age(obj, now, cells);
}

/* ---- EndpointSlice defaults and validation (upstream's
 * pkg/apis/discovery/validation) ---- */

#define SLICE_MAX_ENDPOINTS 1000
#define SLICE_MAX_ADDRESSES 100
#define SLICE_MAX_PORTS 20000

void kinds_endpointslice_defaults(json_t *obj)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(obj, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		kinds_set_default(p, "name", json_string(""));
		kinds_set_default(p, "protocol", json_string("TCP"));
	}
}

static void too_many(json_t *causes, const char *field, size_t n, size_t max)
{
	api_cause_add(causes, "FieldValueTooMany", field,
		      "Too many: %zu: must have at most %zu items", n, max);
}

static void validate_slice_address(const char *type, const json_t *v, const char *f,
				   json_t *causes)
{
	const char *a = json_string_value(v);
	cleanup_free char *go = kinds_go_value(v);
	bool v4 = !strcmp(type, "IPv4");
	if (!v4 && strcmp(type, "IPv6"))
		return; /* FQDN (and unknown types) are not checked, as upstream */
	unsigned char buf[16];
	if (!a || inet_pton(v4 ? AF_INET : AF_INET6, a, buf) != 1)
		api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: must be a valid %s address",
			      go, type);
	cleanup_free char *msg = names_check_nonspecial_ip(a);
	if (msg)
		api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: %s", go, msg);
}

static void validate_slice_endpoints(const json_t *obj, const char *type, json_t *causes)
{
	json_t *eps = json_object_get(obj, "endpoints");
	if (json_array_size(eps) > SLICE_MAX_ENDPOINTS) {
		too_many(causes, "endpoints", json_array_size(eps), SLICE_MAX_ENDPOINTS);
		return;
	}
	size_t i;
	json_t *ep;
	json_array_foreach(eps, i, ep)
	{
		cleanup_free char *fa = xasprintf("endpoints[%zu].addresses", i);
		json_t *addrs = json_object_get(ep, "addresses");
		size_t n = json_array_size(addrs);
		if (n == 0)
			api_cause_add(causes, "FieldValueRequired", fa,
				      "Required value: must contain at least 1 address");
		else if (n > SLICE_MAX_ADDRESSES)
			too_many(causes, fa, n, SLICE_MAX_ADDRESSES);
		size_t j;
		json_t *a;
		json_array_foreach(addrs, j, a)
		{
			cleanup_free char *f = xasprintf("%s[%zu]", fa, j);
			validate_slice_address(type, a, f, causes);
		}
		json_t *node = json_object_get(ep, "nodeName");
		if (node && !json_is_null(node)) {
			cleanup_free char *f = xasprintf("endpoints[%zu].nodeName", i);
			const char *msg = json_is_string(node)
						  ? names_check_dns1123_subdomain(json_string_value(node))
						  : "must be a string";
			cleanup_free char *go = kinds_go_value(node);
			if (msg)
				api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: %s",
					      go, msg);
		}
		json_t *host = json_object_get(ep, "hostname");
		if (host && !json_is_null(host)) {
			cleanup_free char *f = xasprintf("endpoints[%zu].hostname", i);
			const char *msg = json_is_string(host)
						  ? names_check_dns1123_label(json_string_value(host))
						  : "must be a string";
			cleanup_free char *go = kinds_go_value(host);
			if (msg)
				api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: %s",
					      go, msg);
		}
	}
}

/* Upstream checks names and protocols only; a port number that is no port
 * (it is an int32) is refused here too, with the message upstream gives for
 * Endpoints ports: kube-proxy could not program it. */
static void validate_slice_ports(const json_t *obj, json_t *causes)
{
	static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
	json_t *ports = json_object_get(obj, "ports");
	if (json_array_size(ports) > SLICE_MAX_PORTS) {
		too_many(causes, "ports", json_array_size(ports), SLICE_MAX_PORTS);
		return;
	}
	cleanup_json json_t *names = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		cleanup_free char *fname = xasprintf("ports[%zu].name", i);
		if (name && name[0] && names_check_dns1123_label(name))
			api_cause_add(causes, "FieldValueInvalid", fname, "Invalid value: \"%s\": %s",
				      name, names_check_dns1123_label(name));
		if (name && json_object_get(names, name))
			api_cause_add(causes, "FieldValueDuplicate", fname, "Duplicate value: \"%s\"",
				      name);
		else if (name)
			json_object_set_new(names, name, json_true());

		cleanup_free char *fproto = xasprintf("ports[%zu].protocol", i);
		const char *proto = json_string_value(json_object_get(p, "protocol"));
		if (!proto) {
			api_cause_add(causes, "FieldValueRequired", fproto, "Required value");
		} else {
			bool ok = false;
			for (const char *const *a = protocols; *a; a++)
				ok |= !strcmp(*a, proto);
			if (!ok)
				api_cause_add(causes, "FieldValueNotSupported", fproto,
					      "Unsupported value: \"%s\": supported values: \"SCTP\", "
					      "\"TCP\", \"UDP\"",
					      proto);
		}

		json_t *port = json_object_get(p, "port");
		if (port && !json_is_null(port) &&
		    (!json_is_integer(port) || json_integer_value(port) < 1 ||
		     json_integer_value(port) > 65535)) {
			cleanup_free char *f = xasprintf("ports[%zu].port", i);
			cleanup_free char *go = kinds_go_value(port);
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: %s: must be between 1 and 65535, inclusive", go);
		}
	}
}

void kinds_endpointslice_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	json_t *at = json_object_get(obj, "addressType");
	const char *type = json_string_value(at);
	if (!type || !type[0]) {
		api_cause_add(causes, "FieldValueRequired", "addressType", "Required value");
		type = "";
	} else if (strcmp(type, "IPv4") && strcmp(type, "IPv6") && strcmp(type, "FQDN")) {
		api_cause_add(causes, "FieldValueNotSupported", "addressType",
			      "Unsupported value: \"%s\": supported values: \"FQDN\", \"IPv4\", "
			      "\"IPv6\"",
			      type);
	}
	validate_slice_endpoints(obj, type, causes);
	validate_slice_ports(obj, causes);
	if (old && !json_equal(at, json_object_get(old, "addressType"))) {
		cleanup_free char *go = at ? kinds_go_value(at) : xstrdup("\"\"");
		api_cause_add(causes, "FieldValueInvalid", "addressType",
			      "Invalid value: %s: field is immutable", go);
	}
}
