/* Services: printer, defaults, validation and the ClusterIP / NodePort
 * allocation hooks. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/allocator.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

const struct table_column kinds_service_columns[] = {
	{.name = "Name",
	 .type = "string",
	 .format = "name",
	 .description = "Name must be unique within a namespace. Is required when creating "
			"resources, although some resources may allow a client to request the "
			"generation of an appropriate name automatically."},
	COLUMN("Type", "string", "type determines how the Service is exposed.", 0),
	COLUMN("Cluster-IP", "string",
	       "clusterIP is the IP address of the service and is "
	       "usually assigned randomly.",
	       0),
	COLUMN("External-IP", "string",
	       "List of IP addresses for which nodes in the cluster "
	       "will also accept traffic for this service.",
	       0),
	COLUMN("Port(s)", "string", "The list of ports that are exposed by this service.", 0),
	{.name = "Age",
	 .type = "string",
	 .format = "",
	 .description = "CreationTimestamp is a timestamp representing the server time when "
			"this object was created."},
	COLUMN("Selector", "string",
	       "Route service traffic to pods with label keys and values "
	       "matching this selector.",
	       1),
	{.name = NULL},
};

/* Upstream's DefaultClientIPServiceAffinitySeconds and
 * MaxClientIPServiceAffinitySeconds. */
#define SERVICE_AFFINITY_DEFAULT_SECONDS 10800
#define SERVICE_AFFINITY_MAX_SECONDS 86400

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void append_strings(struct buf *b, const json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (b->len)
			buf_append_char(b, ',');
		buf_append_str(b, json_string_value(v) ? json_string_value(v) : "");
	}
}

/* Load balancer ingress IPs (or hostnames), sorted and de-duplicated. */
static void append_ingress(struct buf *b, const json_t *svc)
{
	json_t *ing = json_path_get(svc, "status.loadBalancer.ingress");
	size_t n = json_array_size(ing), m = 0;
	const char **v = xcalloc(n ? n : 1, sizeof(*v));
	size_t i;
	json_t *x;
	json_array_foreach(ing, i, x)
	{
		const char *ip = printer_str(x, "ip");
		const char *host = printer_str(x, "hostname");
		if (ip[0])
			v[m++] = ip;
		else if (host[0])
			v[m++] = host;
	}
	qsort(v, m, sizeof(*v), str_cmp);
	for (i = 0; i < m; i++) {
		if (i && !strcmp(v[i], v[i - 1]))
			continue;
		if (b->len)
			buf_append_char(b, ',');
		buf_append_str(b, v[i]);
	}
	free(v);
}

static char *external_ip(const json_t *svc)
{
	const char *type = printer_str(svc, "spec.type");
	json_t *ext = json_path_get(svc, "spec.externalIPs");
	cleanup_buf struct buf b = BUF_INIT;
	if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
		append_strings(&b, ext);
		return b.len ? buf_steal(&b) : xstrdup("<none>");
	}
	if (!strcmp(type, "LoadBalancer")) {
		append_ingress(&b, svc);
		append_strings(&b, ext);
		return b.len ? buf_steal(&b) : xstrdup("<pending>");
	}
	if (!strcmp(type, "ExternalName"))
		return xstrdup(printer_str(svc, "spec.externalName"));
	return xstrdup("<unknown>");
}

void kinds_service_print(const json_t *svc, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(svc, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(svc, "spec.type")));
	const char *cip = json_path_str(svc, "spec.clusterIPs.0");
	json_array_append_new(cells, json_string(cip ? cip : "<none>"));
	char *ext = external_ip(svc);
	json_array_append_new(cells, json_string(ext));
	free(ext);
	cleanup_buf struct buf ports = BUF_INIT;
	size_t i;
	json_t *p;
	json_array_foreach(json_path_get(svc, "spec.ports"), i, p)
	{
		long long np = printer_int(p, "nodePort");
		if (i)
			buf_append_char(&ports, ',');
		if (np > 0)
			buf_printf(&ports, "%lld:%lld/%s", printer_int(p, "port"), np,
				   printer_str(p, "protocol"));
		else
			buf_printf(&ports, "%lld/%s", printer_int(p, "port"),
				   printer_str(p, "protocol"));
	}
	json_array_append_new(cells, json_string(ports.len ? buf_str(&ports) : "<none>"));
	printer_cell_age(svc, now, cells);
	char *sel = printer_labels_map(json_path_get(svc, "spec.selector"));
	json_array_append_new(cells, json_string(sel));
	free(sel);
}

/* ---- defaults ---- */

static bool needs_node_ports(const char *type)
{
	return str_eq(type, "NodePort") || str_eq(type, "LoadBalancer");
}

/* Upstream's NeedsHealthCheck: kube-proxy serves a health check node port for
 * load balancers that only send to nodes with local endpoints. */
static bool needs_hc_port(const json_t *spec)
{
	return str_eq(json_string_value(json_object_get(spec, "type")), "LoadBalancer") &&
	       str_eq(json_string_value(json_object_get(spec, "externalTrafficPolicy")), "Local");
}

static long long hc_port(const json_t *spec)
{
	return printer_int(spec, "healthCheckNodePort");
}

void kinds_service_defaults(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	kinds_set_default(spec, "type", json_string("ClusterIP"));
	kinds_set_default(spec, "sessionAffinity", json_string("None"));
	/* As upstream: ClientIP affinity without a timeout gets the default one. */
	if (str_eq(json_string_value(json_object_get(spec, "sessionAffinity")), "ClientIP")) {
		json_t *cfg = json_object_get(spec, "sessionAffinityConfig");
		json_t *cip = json_object_get(cfg, "clientIP");
		json_t *tmo = json_object_get(cip, "timeoutSeconds");
		if (!tmo || json_is_null(tmo))
			json_object_set_new(spec, "sessionAffinityConfig",
					    json_pack("{s:{s:i}}", "clientIP", "timeoutSeconds",
						      SERVICE_AFFINITY_DEFAULT_SECONDS));
	}
	/* 0 means "none" (or "allocate one"); upstream never shows it. */
	json_t *hc = json_object_get(spec, "healthCheckNodePort");
	if (json_is_integer(hc) && json_integer_value(hc) == 0)
		json_object_del(spec, "healthCheckNodePort");
	const char *type = json_string_value(json_object_get(spec, "type"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		kinds_set_default(p, "protocol", json_string("TCP"));
		json_t *tp = json_object_get(p, "targetPort");
		if (!tp || json_is_null(tp) || (json_is_integer(tp) && !json_integer_value(tp)) ||
		    (json_is_string(tp) && !json_string_length(tp)))
			json_object_set(p, "targetPort", json_object_get(p, "port"));
	}
	if (str_eq(type, "ExternalName"))
		return;
	kinds_set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
	if (needs_node_ports(type))
		kinds_set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
	if (str_eq(type, "LoadBalancer"))
		kinds_set_default(spec, "allocateLoadBalancerNodePorts", json_true());
	/* clusterIPs mirrors clusterIP (single stack). */
	const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
	json_t *cips = json_object_get(spec, "clusterIPs");
	if (cip && cip[0] && json_array_size(cips) == 0)
		json_object_set_new(spec, "clusterIPs", json_pack("[s]", cip));
	else if ((!cip || !cip[0]) && json_array_size(cips) > 0 &&
		 json_is_string(json_array_get(cips, 0)))
		json_object_set(spec, "clusterIP", json_array_get(cips, 0));
	kinds_set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	kinds_set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
}

/* ---- validation ---- */

/* Upstream's validateClientIPAffinityConfig and validateAffinityTimeout. A
 * timeout that is not a number (which upstream fails to decode) is refused
 * with the same message. */
static void validate_affinity(const json_t *spec, json_t *causes)
{
	const char *aff = json_string_value(json_object_get(spec, "sessionAffinity"));
	json_t *cfg = json_object_get(spec, "sessionAffinityConfig");
	if (str_eq(aff, "None")) {
		if (cfg && !json_is_null(cfg))
			api_cause_add(causes, "FieldValueForbidden", "spec.sessionAffinityConfig",
				      "Forbidden: must not be set when session affinity is None");
		return;
	}
	if (!str_eq(aff, "ClientIP"))
		return;
	static const char when[] = "Required value: when session affinity type is ClientIP";
	if (!json_is_object(cfg)) {
		api_cause_add(causes, "FieldValueRequired", "spec.sessionAffinityConfig", when);
		return;
	}
	json_t *cip = json_object_get(cfg, "clientIP");
	if (!json_is_object(cip)) {
		api_cause_add(causes, "FieldValueRequired", "spec.sessionAffinityConfig.clientIP",
			      when);
		return;
	}
	json_t *tmo = json_object_get(cip, "timeoutSeconds");
	static const char field[] = "spec.sessionAffinityConfig.clientIP.timeoutSeconds";
	if (!tmo || json_is_null(tmo)) {
		api_cause_add(causes, "FieldValueRequired", field, when);
		return;
	}
	json_int_t t = json_is_integer(tmo) ? json_integer_value(tmo) : 0;
	if (t <= 0 || t > SERVICE_AFFINITY_MAX_SECONDS) {
		cleanup_free char *go = kinds_go_value(tmo);
		api_cause_add(causes, "FieldValueInvalid", field,
			      "Invalid value: %s: must be greater than 0 and less than %d", go,
			      SERVICE_AFFINITY_MAX_SECONDS);
	}
}

/* Upstream: each external IP must be an IP address, and not one of the
 * special ones (ValidateNonSpecialIP): kube-proxy would capture traffic for
 * it on every node. */
static void validate_external_ips(const json_t *spec, json_t *causes)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "externalIPs"), i, v)
	{
		cleanup_free char *f = xasprintf("spec.externalIPs[%zu]", i);
		cleanup_free char *go = kinds_go_value(v);
		const char *ip = json_string_value(v);
		struct in_addr a4;
		struct in6_addr a6;
		if (!ip || (inet_pton(AF_INET, ip, &a4) != 1 && inet_pton(AF_INET6, ip, &a6) != 1)) {
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: %s: must be a valid IP address, (e.g. "
				      "10.9.8.7 or 2001:db8::ffff)",
				      go);
			continue;
		}
		cleanup_free char *msg = names_check_nonspecial_ip(ip);
		if (msg)
			api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: %s: %s", go,
				      msg);
	}
}

static void validate_enum(const json_t *obj, const char *key, const char *field,
			  const char *const *allowed, json_t *causes)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return;
	const char *s = json_string_value(v);
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

static bool old_node_port(const json_t *old, long long np)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_path_get(old, "spec.ports"), i,
			   p) if (printer_int(p, "nodePort") == np) return true;
	return false;
}

/* A missing port needs no check here: the create / update hook allocates one
 * after validation (upstream allocates first, so its "Required" never shows).
 * Range and clashes are the allocator's business, as upstream. */
static void validate_hc_port(const json_t *spec, const json_t *old_spec, json_t *causes)
{
	long long hc = hc_port(spec);
	if (!needs_hc_port(spec)) {
		if (hc)
			api_cause_add(causes, "FieldValueInvalid", "spec.healthCheckNodePort",
				      "Invalid value: %lld: may only be set when `type` is "
				      "'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
				      hc);
		return;
	}
	/* Not even a port number: the allocator could not report it. */
	if (hc < 0 || hc > INT32_MAX)
		api_cause_add(causes, "FieldValueInvalid", "spec.healthCheckNodePort",
			      "Invalid value: %lld: must be between 1 and 65535, inclusive", hc);
	/* A Service that holds none (stored before ports were allocated) may
	 * still ask for one. */
	long long was = old_spec && needs_hc_port(old_spec) ? hc_port(old_spec) : 0;
	if (was && hc != was)
		api_cause_add(causes, "FieldValueForbidden", "spec.healthCheckNodePort",
			      "Forbidden: field is immutable");
}

void kinds_service_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort",
					    NULL};
	static const char *const affinity[] = {"ClientIP", "None", NULL};
	static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
	json_t *spec = json_object_get(obj, "spec");
	const char *type = printer_str(spec, "type");
	validate_enum(spec, "type", "spec.type", types, causes);
	validate_enum(spec, "sessionAffinity", "spec.sessionAffinity", affinity, causes);
	validate_affinity(spec, causes);
	validate_external_ips(spec, causes);

	const char *cip = printer_str(spec, "clusterIP");
	bool headless = !strcmp(cip, "None");
	if (!strcmp(type, "ExternalName")) {
		if (!printer_str(spec, "externalName")[0])
			api_cause_add(causes, "FieldValueRequired", "spec.externalName",
				      "Required value");
		if (cip[0] && !headless)
			api_cause_add(causes, "FieldValueForbidden", "spec.clusterIPs",
				      "Forbidden: may not be set for ExternalName services");
	} else if (cip[0] && !headless) {
		struct in_addr in;
		if (inet_pton(AF_INET, cip, &in) != 1)
			api_cause_add(causes, "FieldValueInvalid", "spec.clusterIPs[0]",
				      "Invalid value: \"%s\": must be a valid IP address, (e.g. "
				      "10.9.8.7 or 2001:db8::ffff)",
				      cip);
	}
	if (headless && needs_node_ports(type)) {
		cleanup_free char *msg =
			xasprintf("may not be set to 'None' for %s services", type);
		api_cause_add(causes, "FieldValueInvalid", "spec.clusterIPs[0]",
			      "Invalid value: \"None\": %s", msg);
	}
	if (old) {
		const char *was = json_path_str(old, "spec.clusterIP");
		const char *was_type = json_path_str(old, "spec.type");
		if (was && was[0] && cip[0] && strcmp(was, cip) &&
		    !str_eq(was_type, "ExternalName") && strcmp(type, "ExternalName"))
			api_cause_add(causes, "FieldValueInvalid", "spec.clusterIPs[0]",
				      "Invalid value: \"%s\": may not change once set", cip);
	}

	json_t *ports = json_object_get(spec, "ports");
	size_t n = json_array_size(ports);
	if (n == 0 && !headless && strcmp(type, "ExternalName"))
		api_cause_add(causes, "FieldValueRequired", "spec.ports", "Required value");
	cleanup_json json_t *names = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		cleanup_free char *pp = xasprintf("spec.ports[%zu]", i);
		cleanup_free char *fname = xasprintf("%s.name", pp);
		const char *name = printer_str(p, "name");
		if (n > 1 && !name[0])
			api_cause_add(causes, "FieldValueRequired", fname, "Required value");
		else if (name[0] && names_check_dns1123_label(name))
			api_cause_add(causes, "FieldValueInvalid", fname, "Invalid value: \"%s\": %s",
				      name, names_check_dns1123_label(name));
		else if (name[0] && json_object_get(names, name))
			api_cause_add(causes, "FieldValueDuplicate", fname,
				      "Duplicate value: \"%s\"", name);
		if (name[0])
			json_object_set_new(names, name, json_true());

		json_t *port = json_object_get(p, "port");
		long long pn = json_is_integer(port) ? json_integer_value(port) : 0;
		if (pn < 1 || pn > 65535) {
			cleanup_free char *f = xasprintf("%s.port", pp);
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: %lld: must be between 1 and 65535, inclusive",
				      pn);
		}
		cleanup_free char *fproto = xasprintf("%s.protocol", pp);
		validate_enum(p, "protocol", fproto, protocols, causes);

		json_t *tp = json_object_get(p, "targetPort");
		cleanup_free char *ftp = xasprintf("%s.targetPort", pp);
		if (json_is_integer(tp) &&
		    (json_integer_value(tp) < 1 || json_integer_value(tp) > 65535))
			api_cause_add(causes, "FieldValueInvalid", ftp,
				      "Invalid value: %lld: must be between 1 and 65535, inclusive",
				      (long long)json_integer_value(tp));

		long long np = printer_int(p, "nodePort");
		if (np && !needs_node_ports(type) && !(old && old_node_port(old, np))) {
			cleanup_free char *f = xasprintf("%s.nodePort", pp);
			api_cause_add(causes, "FieldValueForbidden", f,
				      "Forbidden: may not be used when `type` is '%s'", type);
		}
	}
	validate_hc_port(spec, old ? json_object_get(old, "spec") : NULL, causes);
}

void kinds_service_prepare_create(json_t *obj)
{
	json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
}

/* Upstream's dropTypeDependentFields: on a type change, fields that belonged
 * to the old type and that the client left as they were are dropped, so
 * `kubectl apply` of a new type works without clearing them by hand. */
static void drop_type_dependent(json_t *spec, const json_t *old_spec)
{
	const char *type = printer_str(spec, "type");
	const char *was = printer_str(old_spec, "type");
	if (!strcmp(type, was))
		return;
	if (!strcmp(type, "ExternalName") && json_equal(json_object_get(spec, "clusterIP"),
							json_object_get(old_spec, "clusterIP"))) {
		const char *keys[] = {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
				      "internalTrafficPolicy"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			json_object_del(spec, keys[i]);
	}
	if (!needs_node_ports(type)) {
		json_t *ports = json_object_get(spec, "ports");
		json_t *old_ports_json = json_object_get(old_spec, "ports");
		size_t i;
		json_t *p;
		json_array_foreach(ports, i, p)
		{
			json_t *np = json_object_get(p, "nodePort");
			json_t *onp =
				json_object_get(json_array_get(old_ports_json, i), "nodePort");
			if (np && json_equal(np, onp))
				json_object_del(p, "nodePort");
		}
		if (json_equal(json_object_get(spec, "externalTrafficPolicy"),
			       json_object_get(old_spec, "externalTrafficPolicy")))
			json_object_del(spec, "externalTrafficPolicy");
	}
	if (strcmp(type, "LoadBalancer")) {
		const char *keys[] = {"allocateLoadBalancerNodePorts", "loadBalancerClass",
				      "healthCheckNodePort"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_equal(json_object_get(spec, keys[i]),
				       json_object_get(old_spec, keys[i])))
				json_object_del(spec, keys[i]);
	}
}

/* As upstream: a client that leaves the health check port out (a PUT of an
 * older copy) keeps the allocated one; one that turns it off (eTP Cluster,
 * another type) and left the old value in gives it up. */
static void carry_hc_port(json_t *spec, const json_t *old_spec)
{
	if (!needs_hc_port(old_spec) || !hc_port(old_spec))
		return;
	json_t *was = json_object_get(old_spec, "healthCheckNodePort");
	if (needs_hc_port(spec)) {
		if (!hc_port(spec))
			json_object_set(spec, "healthCheckNodePort", was);
	} else if (json_equal(json_object_get(spec, "healthCheckNodePort"), was)) {
		json_object_del(spec, "healthCheckNodePort");
	}
}

void kinds_service_prepare_update(json_t *obj, const json_t *old)
{
	json_t *status = json_object_get(old, "status");
	json_object_set_new(obj, "status",
			    status ? json_copy_deep(status) : json_pack("{s:{}}", "loadBalancer"));
	json_t *spec = json_object_get(obj, "spec");
	json_t *old_spec = json_object_get(old, "spec");
	if (json_is_object(spec) && json_is_object(old_spec)) {
		drop_type_dependent(spec, old_spec);
		carry_hc_port(spec, old_spec);
	}
}

/* ---- allocation ---- */

/* A set of node port numbers, grown as needed: a Service may have any number
 * of ports. */
struct port_set {
	int *v;
	size_t n, cap;
};

static bool port_set_has(const struct port_set *s, int port)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == port)
			return true;
	return false;
}

/* Adds port unless it is there already. */
static void port_set_add(struct port_set *s, int port)
{
	if (port_set_has(s, port))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = port;
}

static void port_set_free(struct port_set *s)
{
	free(s->v);
	*s = (struct port_set){0};
}

/* What one hook call allocated, released again if a later step fails. */
struct grab {
	char ip[16];
	struct port_set ports;
};

/* Gives back what g holds, and frees g. */
static void grab_release(struct grab *g)
{
	if (g->ip[0])
		allocator_ip_release(g->ip);
	for (size_t i = 0; i < g->ports.n; i++)
		allocator_port_release(g->ports.v[i]);
	port_set_free(&g->ports);
}

static int ip_error(struct mk_err **err, struct mk_err *e, const char *ip)
{
	if (mk_err_code(e) != MK_EINVALID) {
		mk_err_set(err, mk_err_code(e), "%s", mk_err_msg(e));
		return -1;
	}
	json_t *v = json_pack("[s]", ip);
	cleanup_free char *go = kinds_go_value(v);
	json_decref(v);
	return mk_err_set(err, MK_EINVALID, "spec.clusterIPs: Invalid value: %s: %s", go,
			  mk_err_msg(e));
}

static int allocate_ip(json_t *spec, struct grab *g, struct mk_err **err)
{
	const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
	if (cip && !strcmp(cip, "None")) {
		json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
		return 0;
	}
	cleanup_err struct mk_err *e = NULL;
	const char *req = cip && cip[0] ? cip : NULL;
	char ip[16];
	if (allocator_ip_allocate(req, ip, sizeof(ip), &e) < 0)
		return ip_error(err, e, req ? req : "");
	snprintf(g->ip, sizeof(g->ip), "%s", ip);
	json_object_set_new(spec, "clusterIP", json_string(ip));
	json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
	return 0;
}

/* Adds the NodePorts of old (may be NULL) to out. */
static void old_ports(const json_t *old, struct port_set *out)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_path_get(old, "spec.ports"), i, p)
	{
		long long np = printer_int(p, "nodePort");
		if (np > 0 && np <= INT32_MAX)
			port_set_add(out, (int)np);
	}
}

/* The health check node port svc holds, or 0. */
static int held_hc_port(const json_t *svc)
{
	const json_t *spec = json_object_get(svc, "spec");
	long long hc = needs_hc_port(spec) ? hc_port(spec) : 0;
	return hc > 0 && hc <= INT32_MAX ? (int)hc : 0;
}

/* Adds every node port svc holds to out: its nodePorts and its health check
 * port. */
static void held_ports(const json_t *svc, struct port_set *out)
{
	old_ports(svc, out);
	int hc = held_hc_port(svc);
	if (hc)
		port_set_add(out, hc);
}

/* The old nodePort of the port with the same number and protocol, or 0. */
static int old_port_for(const json_t *old, const json_t *p)
{
	size_t i;
	json_t *o;
	json_array_foreach(
		json_path_get(old, "spec.ports"), i,
		o) if (printer_int(o, "port") == printer_int(p, "port") &&
		       !strcmp(printer_str(o, "protocol"),
			       printer_str(p, "protocol"))) return (int)printer_int(o, "nodePort");
	return 0;
}

/* Gives every port a nodePort; held lists the ports the Service owns already
 * (an update; NULL on create), which are kept rather than allocated again.
 * used receives every port the Service ends up with. */
static int allocate_ports(json_t *spec, const json_t *old, const struct port_set *held,
			  struct grab *g, struct port_set *used, struct mk_err **err)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		int want = (int)printer_int(p, "nodePort");
		if (!want && old)
			want = old_port_for(old, p);
		int got;
		if (want && ((held && port_set_has(held, want)) || port_set_has(used, want))) {
			got = want;
		} else {
			cleanup_err struct mk_err *e = NULL;
			got = allocator_port_allocate(want, &e);
			if (got < 0) {
				if (mk_err_code(e) != MK_EINVALID)
					return mk_err_set(err, mk_err_code(e), "%s", mk_err_msg(e));
				return mk_err_set(err, MK_EINVALID,
						  "spec.ports[%zu].nodePort: Invalid value: %d: %s",
						  i, want, mk_err_msg(e));
			}
			port_set_add(&g->ports, got);
		}
		port_set_add(used, got);
		json_object_set_new(p, "nodePort", json_integer(got));
	}
	return 0;
}

/* Takes the requested health check node port, or any. Upstream reports a
 * refusal as an internal error (500), not as an invalid field. */
static int allocate_hc_port(json_t *spec, struct grab *g, struct mk_err **err)
{
	int want = (int)hc_port(spec); /* validation kept it within int */
	cleanup_err struct mk_err *e = NULL;
	int got = allocator_port_allocate(want, &e);
	if (got < 0) {
		if (want)
			return mk_err_set(
				err, MK_EINTERNAL,
				"failed to allocate requested HealthCheck NodePort %d: %s", want,
				mk_err_msg(e));
		/* Picking any port only fails on a full range. */
		return mk_err_set(err, MK_EINTERNAL,
				  "failed to allocate a HealthCheck NodePort 0: range is full");
	}
	port_set_add(&g->ports, got);
	json_object_set_new(spec, "healthCheckNodePort", json_integer(got));
	return 0;
}

int kinds_service_on_create(json_t *obj, struct mk_err **err)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return 0;
	const char *type = printer_str(spec, "type");
	if (!strcmp(type, "ExternalName"))
		return 0;
	struct grab g = {.ip = ""};
	int rc = -1;
	if (allocate_ip(spec, &g, err) < 0)
		goto out;
	if (needs_node_ports(type)) {
		struct port_set used = {0};
		int r = allocate_ports(spec, NULL, NULL, &g, &used, err);
		port_set_free(&used);
		if (r < 0) {
			grab_release(&g);
			goto out;
		}
	}
	if (needs_hc_port(spec) && allocate_hc_port(spec, &g, err) < 0) {
		grab_release(&g);
		goto out;
	}
	rc = 0;
out:
	port_set_free(&g.ports);
	return rc;
}

int kinds_service_on_update(json_t *obj, const json_t *old, struct mk_err **err)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return 0;
	const char *type = printer_str(spec, "type");
	const char *old_type = printer_str(old, "spec.type");
	const char *old_ip = printer_str(old, "spec.clusterIP");
	struct grab g = {.ip = ""};
	struct port_set held = {0}, used = {0};
	bool release_old_ip = false;
	int rc = -1;

	if (!strcmp(type, "ExternalName")) {
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
		release_old_ip = old_ip[0] && strcmp(old_ip, "None");
	} else if (strcmp(old_type, "ExternalName") && old_ip[0]) {
		/* The address stays with the Service (validation refused a change). */
		const char *cip = printer_str(spec, "clusterIP");
		if (!cip[0]) {
			json_object_set_new(spec, "clusterIP", json_string(old_ip));
			json_t *old_ips = json_path_get(old, "spec.clusterIPs");
			json_object_set_new(spec, "clusterIPs",
					    old_ips ? json_copy_deep(old_ips)
						    : json_pack("[s]", old_ip));
		}
	} else if (allocate_ip(spec, &g, err) < 0) {
		goto out;
	}

	old_ports(old, &held);
	if (needs_node_ports(type)) {
		if (allocate_ports(spec, old, &held, &g, &used, err) < 0) {
			grab_release(&g);
			goto out;
		}
	} else {
		/* Upstream drops the nodePorts a type change leaves behind. */
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(spec, "ports"), i, p) if (json_is_object(p))
			json_object_del(p, "nodePort");
	}
	/* Validation left the port as it was while it is still needed; one is
	 * taken when it becomes needed (or a stored Service never had one). */
	int old_hc = held_hc_port(old);
	if (needs_hc_port(spec) && !old_hc && allocate_hc_port(spec, &g, err) < 0) {
		grab_release(&g);
		goto out;
	}
	if (old_hc && !needs_hc_port(spec)) {
		json_object_del(spec, "healthCheckNodePort");
		allocator_port_release(old_hc);
	}
	for (size_t i = 0; i < held.n; i++)
		if (!port_set_has(&used, held.v[i]))
			allocator_port_release(held.v[i]);
	if (release_old_ip)
		allocator_ip_release(old_ip);
	rc = 0;
out:
	port_set_free(&g.ports);
	port_set_free(&held);
	port_set_free(&used);
	return rc;
}

void kinds_service_on_delete(const json_t *obj)
{
	const char *cip = json_path_str(obj, "spec.clusterIP");
	if (cip && cip[0] && strcmp(cip, "None"))
		allocator_ip_release(cip);
	struct port_set held = {0};
	held_ports(obj, &held);
	for (size_t i = 0; i < held.n; i++)
		allocator_port_release(held.v[i]);
	port_set_free(&held);
}

static bool holds_ip(const char *ip)
{
	return ip && ip[0] && strcmp(ip, "None");
}

void kinds_service_on_update_abort(const json_t *obj, const json_t *old)
{
	const char *ip = json_path_str(obj, "spec.clusterIP");
	const char *old_ip = json_path_str(old, "spec.clusterIP");
	if (holds_ip(ip) && !str_eq(ip, old_ip))
		allocator_ip_release(ip);
	if (holds_ip(old_ip) && !str_eq(ip, old_ip)) {
		char buf[16];
		/* Held again unless another Service took it meanwhile. */
		allocator_ip_allocate(old_ip, buf, sizeof(buf), NULL);
	}
	struct port_set now = {0}, was = {0};
	held_ports(obj, &now);
	held_ports(old, &was);
	for (size_t i = 0; i < now.n; i++)
		if (!port_set_has(&was, now.v[i]))
			allocator_port_release(now.v[i]);
	for (size_t i = 0; i < was.n; i++)
		if (!port_set_has(&now, was.v[i]))
			allocator_port_allocate(was.v[i], NULL);
	port_set_free(&now);
	port_set_free(&was);
}
