/* Services + EndpointSlices -> sorted service ports with categorised endpoints. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "xalloc.h"

void proxy_config_init(struct proxy_config *cfg)
{
	*cfg = (struct proxy_config){
		.masquerade_bit = 14,
		.localhost_nodeports = true,
		.random_fully = true,
		.drop_invalid = true,
	};
}

void proxy_probability(size_t n, char *out, size_t outlen)
{
	snprintf(out, outlen, "%0.10f", 1.0 / (double)n);
}

char *proxy_join_host_port(const char *ip, int port)
{
	if (strchr(ip, ':'))
		return xasprintf("[%s]:%d", ip, port);
	return xasprintf("%s:%d", ip, port);
}

/* An IPv4 address. */
static bool is_ipv4(const char *s)
{
	struct in_addr in;
	return s && inet_pton(AF_INET, s, &in) == 1;
}

/* An IPv4 address or CIDR (prefix length 0-32). */
static bool is_ipv4_cidr(const char *s)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	char a[19];
	strcpy(a, s);
	char *slash = strchr(a, '/');
	if (slash) {
		*slash = '\0';
		const char *len = slash + 1;
		if (!*len || strlen(len) > 2 || strspn(len, "0123456789") != strlen(len) ||
		    atoi(len) > 32)
			return false;
	}
	struct in_addr in;
	return inet_pton(AF_INET, a, &in) == 1;
}

/* Why traffic to the IPv4 address ip may not be captured for a Service (an
 * external or load balancer IP) or sent to it (an endpoint): upstream's
 * ValidateNonSpecialIP, plus multicast and broadcast, which no DNAT can
 * serve. NULL if it may; else a new string, free(). */
static char *unusable_ip(const char *ip)
{
	char *why = names_check_nonspecial_ip(ip);
	if (why)
		return why;
	struct in_addr in;
	inet_pton(AF_INET, ip, &in);
	uint32_t a = ntohl(in.s_addr);
	if ((a >> 28) == 0xe)
		return xstrdup("may not be multicast (224.0.0.0/4)");
	if (a == 0xffffffffu)
		return xstrdup("may not be the broadcast address (255.255.255.255)");
	return NULL;
}

/* Why no traffic may be sent to the IPv4 address ip of an endpoint: one no
 * DNAT can serve (unspecified, multicast, broadcast). NULL if it may; else a
 * new string, free(). Loopback and link-local endpoints are programmed, as
 * upstream's kube-proxy does: the API server's own endpoint is loopback when
 * it serves on 127.0.0.1 only. */
static char *unusable_endpoint_ip(const char *ip)
{
	struct in_addr in;
	inet_pton(AF_INET, ip, &in);
	uint32_t a = ntohl(in.s_addr);
	if (a == 0)
		return xstrdup("may not be unspecified (0.0.0.0)");
	if ((a >> 28) == 0xe)
		return xstrdup("may not be multicast (224.0.0.0/4)");
	if (a == 0xffffffffu)
		return xstrdup("may not be the broadcast address (255.255.255.255)");
	return NULL;
}

static bool is_zero(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) == 0;
}

/* A port number in 1..65535 (0 also allowed, meaning "none", when
 * zero_ok): that number, else 0. */
static int port_number(const json_t *v, bool zero_ok)
{
	if (!json_is_integer(v))
		return 0;
	json_int_t n = json_integer_value(v);
	if (n < (zero_ok ? 0 : 1) || n > 65535)
		return 0;
	return (int)n;
}

/* ---- derived booleans ---- */

bool proxy_port_external(const struct proxy_svc_port *p)
{
	return p->node_port != 0 || p->n_lb_ips > 0 || p->n_external_ips > 0;
}

bool proxy_port_has_internal(const struct proxy_svc_port *p)
{
	return p->has_endpoints && !(p->itp_local && p->n_local_eps == 0);
}

bool proxy_port_has_external(const struct proxy_svc_port *p)
{
	return p->has_endpoints && !(p->etp_local && p->n_local_eps == 0);
}

bool proxy_port_uses_cluster_chain(const struct proxy_svc_port *p)
{
	return p->n_cluster_eps > 0 && (!p->itp_local || proxy_port_external(p));
}

bool proxy_port_uses_local_chain(const struct proxy_svc_port *p)
{
	return p->n_local_eps > 0 && (p->itp_local || (p->etp_local && proxy_port_external(p)));
}

bool proxy_port_uses_fw_chain(const struct proxy_svc_port *p)
{
	return p->has_endpoints && p->n_lb_ips > 0 && p->n_source_ranges > 0;
}

/* ---- state ---- */

void proxy_state_init(struct proxy_state *st)
{
	st->services = st->slices = st->slice_services = (struct strmap)STRMAP_INIT;
	st->changed = json_object();
}

void proxy_state_free(struct proxy_state *st)
{
	strmap_free(&st->services);
	strmap_free(&st->slices);
	strmap_free(&st->slice_services);
	json_decref(st->changed);
	st->changed = NULL;
}

void proxy_state_compact(struct proxy_state *st)
{
	strmap_compact(&st->services);
	strmap_compact(&st->slices);
	strmap_compact(&st->slice_services);
}

/* Objects carrying these labels are not kube-proxy's (upstream's informer
 * selector "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"). */
static bool not_ours(const json_t *obj)
{
	json_t *labels = json_path_get(obj, "metadata.labels");
	return json_object_get(labels, "service.kubernetes.io/service-proxy-name") ||
	       json_object_get(labels, "service.kubernetes.io/headless");
}

/* The state keeps what the model reads of each object as positional JSON
 * arrays (a few dozen bytes per endpoint instead of hundreds for whole JSON
 * objects), turned back into objects of the same shape when the model is
 * built. Absent and null fields read alike, so null stands for both. */

static json_t *or_null(json_t *v)
{
	return v ? json_incref(v) : json_null();
}

/* [v0, v1, ...] of obj's fields names (n of them): new reference */
static json_t *pick(const json_t *obj, const char *const *names, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, or_null(json_object_get(obj, names[i])));
	return a;
}

/* The object of pick's array: the non-null fields. New reference. */
static json_t *unpick(const json_t *a, const char *const *names, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);
		if (v && !json_is_null(v))
			json_object_set(o, names[i], v);
	}
	return o;
}

/* pick over each element of arr (NULL or not an array: null) */
static json_t *pick_each(const json_t *arr, const char *const *names, size_t n)
{
	if (!json_is_array(arr))
		return json_null();
	json_t *a = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		json_array_append_new(a, pick(v, names, n));
	return a;
}

static json_t *unpick_each(const json_t *arr, const char *const *names, size_t n)
{
	json_t *a = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		json_array_append_new(a, unpick(v, names, n));
	return a;
}

static char *dump_trimmed(json_t *a)
{
	/* trailing nulls carry nothing */
	while (json_array_size(a) && json_is_null(json_array_get(a, json_array_size(a) - 1)))
		json_array_remove(a, json_array_size(a) - 1);
	char *text = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(a);
	return text;
}

/* The fields of a Service that the model reads: spec's, then the load
 * balancer ingress list. */
#define N_SVC_FIELDS 11
static const char *const svc_fields[N_SVC_FIELDS] = {
	"type", "clusterIP", "clusterIPs", "ports", "externalIPs", "loadBalancerSourceRanges",
	"externalTrafficPolicy", "internalTrafficPolicy", "sessionAffinity",
	"sessionAffinityConfig", "healthCheckNodePort",
};
static const char *const svc_port_fields[] = {"name", "protocol", "port", "nodePort"};
#define N_SVC_PORT_FIELDS 4

static char *encode_service(const json_t *svc)
{
	json_t *spec = json_object_get(svc, "spec");
	json_t *a = json_array();
	for (size_t i = 0; i < N_SVC_FIELDS; i++) {
		json_t *v = json_object_get(spec, svc_fields[i]);
		if (!strcmp(svc_fields[i], "ports"))
			json_array_append_new(a, pick_each(v, svc_port_fields, N_SVC_PORT_FIELDS));
		else
			json_array_append_new(a, or_null(v));
	}
	json_array_append_new(a, or_null(json_path_get(svc, "status.loadBalancer.ingress")));
	return dump_trimmed(a);
}

/* The Service of key ("ns/name") as the model reads it: new reference. */
static json_t *decode_service(const char *key, const char *text)
{
	json_t *a = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return NULL;
	}
	json_t *spec = json_object();
	for (size_t i = 0; i < N_SVC_FIELDS; i++) {
		json_t *v = json_array_get(a, i);
		if (!v || json_is_null(v))
			continue;
		if (!strcmp(svc_fields[i], "ports"))
			json_object_set_new(spec, "ports",
					    unpick_each(v, svc_port_fields, N_SVC_PORT_FIELDS));
		else
			json_object_set(spec, svc_fields[i], v);
	}
	const char *slash = strchr(key, '/');
	json_t *md = json_object();
	json_object_set_new(md, "namespace",
			    json_stringn(key, slash ? (size_t)(slash - key) : 0));
	json_object_set_new(md, "name", json_string(slash ? slash + 1 : key));
	json_t *svc = json_object();
	json_object_set_new(svc, "metadata", md);
	json_object_set_new(svc, "spec", spec);
	json_t *ing = json_array_get(a, N_SVC_FIELDS);
	if (ing && !json_is_null(ing))
		json_object_set_new(svc, "status",
				    json_pack("{s:{s:O}}", "loadBalancer", "ingress", ing));
	json_decref(a);
	return svc;
}

/* An EndpointSlice: [addressType, ports, endpoints], each endpoint
 * [first address, ready, serving, terminating, nodeName] (only the first
 * address is ever used). */
static const char *const slice_port_fields[] = {"name", "port", "protocol"};
#define N_SLICE_PORT_FIELDS 3
static const char *const ep_conditions[] = {"ready", "serving", "terminating"};

static json_t *encode_slice(const json_t *slice)
{
	json_t *a = json_array();
	json_array_append_new(a, or_null(json_object_get(slice, "addressType")));
	json_array_append_new(a, pick_each(json_object_get(slice, "ports"), slice_port_fields,
					   N_SLICE_PORT_FIELDS));
	json_t *eps = json_array();
	size_t i;
	json_t *ep;
	json_array_foreach(json_object_get(slice, "endpoints"), i, ep) {
		json_t *e = json_array();
		json_array_append_new(e, or_null(json_array_get(json_object_get(ep, "addresses"), 0)));
		json_t *c = json_object_get(ep, "conditions");
		for (size_t k = 0; k < 3; k++)
			json_array_append_new(e, or_null(json_object_get(c, ep_conditions[k])));
		json_array_append_new(e, or_null(json_object_get(ep, "nodeName")));
		json_array_append_new(eps, e);
	}
	json_array_append_new(a, eps);
	return a;
}

static json_t *decode_slice(const json_t *a)
{
	json_t *sl = json_object();
	json_t *at = json_array_get(a, 0);
	if (at && !json_is_null(at))
		json_object_set(sl, "addressType", at);
	json_t *ports = json_array_get(a, 1);
	if (json_is_array(ports))
		json_object_set_new(sl, "ports",
				    unpick_each(ports, slice_port_fields, N_SLICE_PORT_FIELDS));
	json_t *eps = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(json_array_get(a, 2), i, e) {
		json_t *ep = json_object(), *c = json_object();
		json_t *ip = json_array_get(e, 0);
		if (ip && !json_is_null(ip))
			json_object_set_new(ep, "addresses", json_pack("[O]", ip));
		for (size_t k = 0; k < 3; k++) {
			json_t *v = json_array_get(e, k + 1);
			if (v && !json_is_null(v))
				json_object_set(c, ep_conditions[k], v);
		}
		json_object_set_new(ep, "conditions", c);
		json_t *node = json_array_get(e, 4);
		if (node && !json_is_null(node))
			json_object_set(ep, "nodeName", node);
		json_array_append_new(eps, ep);
	}
	json_object_set_new(sl, "endpoints", eps);
	return sl;
}

bool proxy_state_set_service(struct proxy_state *st, const char *key, json_t *svc)
{
	if (svc && not_ours(svc))
		svc = NULL;
	const char *old = strmap_get(&st->services, key);
	if (!svc && !old)
		return false;
	if (svc) {
		char *text = encode_service(svc);
		if (old && !strcmp(old, text)) {
			free(text);
			return false;
		}
		strmap_set(&st->services, key, text);
		free(text);
	} else {
		strmap_del(&st->services, key);
	}
	json_object_set_new(st->changed, key, json_true());
	return true;
}

/* The slices of service key: { "slice-name": encoded slice }, new reference
 * (empty object if none). Kept as one text per service, so that a service
 * costs one string however many slices it has. */
static json_t *slices_of(const struct proxy_state *st, const char *key)
{
	const char *t = strmap_get(&st->slices, key);
	json_t *per = t ? json_loads(t, 0, NULL) : NULL;
	return per ? per : json_object();
}

static void set_slices(struct proxy_state *st, const char *key, json_t *per)
{
	if (json_object_size(per) == 0) {
		strmap_del(&st->slices, key);
	} else {
		char *text = json_dumps(per, JSON_COMPACT | JSON_SORT_KEYS);
		strmap_set(&st->slices, key, text);
		free(text);
	}
	json_object_set_new(st->changed, key, json_true());
}

/* Drops slice name of service key from st; true if it was there. */
static bool drop_slice(struct proxy_state *st, const char *key, const char *name)
{
	json_t *per = slices_of(st, key);
	bool had = json_object_get(per, name) != NULL;
	if (had) {
		json_object_del(per, name);
		set_slices(st, key, per);
	}
	json_decref(per);
	return had;
}

bool proxy_state_set_slice(struct proxy_state *st, json_t *slice, bool deleted)
{
	const char *ns = json_path_str(slice, "metadata.namespace");
	const char *name = json_path_str(slice, "metadata.name");
	json_t *labels = json_path_get(slice, "metadata.labels");
	const char *svc = json_string_value(json_object_get(labels, "kubernetes.io/service-name"));
	if (!ns || !name)
		return false;
	if (!svc || not_ours(slice))
		deleted = true;
	char *slice_key = xasprintf("%s/%s", ns, name);
	char *key = deleted ? NULL : xasprintf("%s/%s", ns, svc);
	/* where the slice was recorded: deletions may come without labels, and
	 * a slice may move to another service */
	const char *was = strmap_get(&st->slice_services, slice_key);
	bool changed = false;
	if (was && (!key || strcmp(was, key))) {
		changed |= drop_slice(st, was, name);
		strmap_del(&st->slice_services, slice_key);
	}
	if (key) {
		json_t *enc = encode_slice(slice);
		json_t *per = slices_of(st, key);
		if (!json_equal(json_object_get(per, name), enc)) {
			json_object_set(per, name, enc);
			set_slices(st, key, per);
			changed = true;
		}
		json_decref(per);
		json_decref(enc);
		strmap_set(&st->slice_services, slice_key, key);
	}
	free(key);
	free(slice_key);
	return changed;
}

/* ---- model ---- */

/* The IPv4 CIDRs of arr (loadBalancerSourceRanges), blanks trimmed; others
 * (IPv6, malformed) are left out. */
static char **str_array(const json_t *arr, size_t *n, bool trim)
{
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return NULL;
	char **out = xcalloc(json_array_size(arr), sizeof(*out));
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		char *c = xstrdup(s);
		if (trim) {
			char *b = c;
			while (*b == ' ' || *b == '\t')
				b++;
			memmove(c, b, strlen(b) + 1);
			size_t l = strlen(c);
			while (l && (c[l - 1] == ' ' || c[l - 1] == '\t'))
				c[--l] = '\0';
		}
		if (!is_ipv4_cidr(c)) {
			free(c);
			continue;
		}
		out[(*n)++] = c;
	}
	if (*n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **dup_strv(char **v, size_t n)
{
	if (!n)
		return NULL;
	char **o = xcalloc(n, sizeof(*o));
	for (size_t i = 0; i < n; i++)
		o[i] = xstrdup(v[i]);
	return o;
}

static bool parse_proto(const char *s, enum proxy_proto *p, const char **str)
{
	if (!s || !strcmp(s, "TCP")) {
		*p = PROTO_TCP;
		*str = "tcp";
	} else if (!strcmp(s, "UDP")) {
		*p = PROTO_UDP;
		*str = "udp";
	} else if (!strcmp(s, "SCTP")) {
		*p = PROTO_SCTP;
		*str = "sctp";
	} else {
		return false;
	}
	return true;
}

static bool cond(const json_t *ep, const char *name, bool dflt)
{
	json_t *v = json_object_get(json_object_get(ep, "conditions"), name);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int ep_cmp(const void *a, const void *b)
{
	const struct proxy_endpoint *x = a, *y = b;
	int c = strcmp(x->str, y->str);
	if (c)
		return c;
	/* the local one first so deduplication keeps it */
	return (int)y->local - (int)x->local;
}

static void free_ep(struct proxy_endpoint *e)
{
	free(e->ip);
	free(e->str);
}

static const char *slice_name(const json_t *sl)
{
	const char *n = json_path_str(sl, "metadata.name");
	return n ? n : "?";
}

/* Endpoints of slices for the port (name, protocol): deduplicated, sorted.
 * Endpoints with unusable addresses (unusable_endpoint_ip) and slice ports
 * that are no port numbers are left out, and logged. */
static void collect_endpoints(struct proxy_svc_port *p, const json_t *slices,
			      const struct proxy_config *cfg)
{
	size_t cap = 0, n = 0;
	struct proxy_endpoint *eps = NULL;
	size_t i;
	json_t *sl;
	json_array_foreach(slices, i, sl) {
		const char *at = json_string_value(json_object_get(sl, "addressType"));
		if (!at || strcmp(at, "IPv4"))
			continue;
		int port = 0;
		size_t j;
		json_t *sp;
		json_array_foreach(json_object_get(sl, "ports"), j, sp) {
			json_t *nm = json_object_get(sp, "name");
			if (!json_is_string(nm))
				continue;
			enum proxy_proto pr;
			const char *ps;
			if (!parse_proto(json_string_value(json_object_get(sp, "protocol")), &pr, &ps))
				continue;
			if (pr != p->proto || strcmp(json_string_value(nm), p->port_name))
				continue;
			json_t *pj = json_object_get(sp, "port");
			port = port_number(pj, false);
			/* no port (null, 0) means none, as upstream; anything else
			 * that is no port number is this slice's fault */
			if (!port && pj && !json_is_null(pj) && !is_zero(pj)) {
				char *v = json_dumps(pj, JSON_COMPACT | JSON_ENCODE_ANY);
				log_error("Skipping EndpointSlice %s/%s for service port %s: port %s: "
					  "must be between 1 and 65535, inclusive",
					  p->ns, slice_name(sl), p->spn, v ? v : "?");
				free(v);
			}
			break;
		}
		if (port <= 0)
			continue;
		size_t bad = 0;
		const char *first_bad = NULL;
		char *why = NULL;
		json_t *ep;
		json_array_foreach(json_object_get(sl, "endpoints"), j, ep) {
			const char *ip = json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
			if (!ip || strchr(ip, ':'))
				continue;
			char *w = is_ipv4(ip) ? unusable_endpoint_ip(ip)
					      : xstrdup("must be a valid IP address");
			if (w) {
				if (!bad++) {
					first_bad = ip;
					why = w;
				} else {
					free(w);
				}
				continue;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				eps = xrealloc(eps, cap * sizeof(*eps));
			}
			const char *node = json_string_value(json_object_get(ep, "nodeName"));
			bool ready = cond(ep, "ready", true);
			eps[n++] = (struct proxy_endpoint){
				.ip = xstrdup(ip),
				.port = port,
				.str = proxy_join_host_port(ip, port),
				.ready = ready,
				.serving = cond(ep, "serving", true),
				.terminating = cond(ep, "terminating", false),
				.local = node && cfg->node_name && !strcmp(node, cfg->node_name),
			};
		}
		if (bad) {
			log_error("Skipping %zu endpoint(s) of EndpointSlice %s/%s for service port "
				  "%s: address \"%s\" %s",
				  bad, p->ns, slice_name(sl), p->spn, first_bad, why);
			free(why);
		}
	}
	if (n > 1)
		qsort(eps, n, sizeof(*eps), ep_cmp);
	size_t w = 0, len = 0;
	for (size_t r = 0; r < n; r++) {
		if (w > 0 && !strcmp(eps[w - 1].str, eps[r].str)) {
			free_ep(&eps[r]);
			continue;
		}
		len += strlen(eps[r].ip) + strlen(eps[r].str) + 2;
		eps[w++] = eps[r];
	}
	/* the model lives as long as the daemon: one block for the strings and
	 * no spare capacity (tens of thousands of endpoints in large clusters) */
	char *b = w ? xmalloc(len) : NULL;
	p->ep_strings = b;
	for (size_t r = 0; r < w; r++) {
		char *ip = b;
		b = stpcpy(b, eps[r].ip) + 1;
		char *str = b;
		b = stpcpy(b, eps[r].str) + 1;
		free_ep(&eps[r]);
		eps[r].ip = ip;
		eps[r].str = str;
	}
	if (!w) {
		free(eps);
		eps = NULL;
	} else if (w < cap) {
		eps = xrealloc(eps, w * sizeof(*eps));
	}
	p->eps = eps;
	p->n_eps = w;
}

/* upstream's CategorizeEndpoints, without topology hints */
static void categorize(struct proxy_svc_port *p)
{
	size_t n = p->n_eps;
	bool external = proxy_port_external(p);
	bool uses_cluster = !p->itp_local || external;
	bool uses_local = p->itp_local || (p->etp_local && external);
	/* one block for the three lists; without a Local policy the reachable
	 * endpoints are the cluster ones and share their list */
	p->cluster_eps = n ? xcalloc(uses_local ? 3 * n : n, sizeof(*p->cluster_eps)) : NULL;
	p->local_eps = n && uses_local ? p->cluster_eps + n : NULL;
	p->reachable_eps = n && uses_local ? p->cluster_eps + 2 * n : p->cluster_eps;

	if (uses_cluster) {
		for (size_t i = 0; i < n; i++)
			if (p->eps[i].ready)
				p->cluster_eps[p->n_cluster_eps++] = &p->eps[i];
		if (p->n_cluster_eps == 0)
			for (size_t i = 0; i < n; i++)
				if (p->eps[i].serving && p->eps[i].terminating)
					p->cluster_eps[p->n_cluster_eps++] = &p->eps[i];
		p->has_endpoints = p->n_cluster_eps > 0;
	}
	if (!uses_local) {
		p->n_reachable_eps = p->n_cluster_eps;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (p->eps[i].local && p->eps[i].ready)
			p->local_eps[p->n_local_eps++] = &p->eps[i];
	if (p->n_local_eps == 0)
		for (size_t i = 0; i < n; i++)
			if (p->eps[i].local && p->eps[i].serving && p->eps[i].terminating)
				p->local_eps[p->n_local_eps++] = &p->eps[i];
	for (size_t i = 0; i < n; i++)
		if (p->eps[i].ready || (p->eps[i].serving && p->eps[i].terminating))
			p->has_endpoints = true;
	/* union of both in endpoint order */
	for (size_t i = 0, c = 0, l = 0; i < n; i++) {
		bool in = false;
		if (c < p->n_cluster_eps && p->cluster_eps[c] == &p->eps[i]) {
			in = true;
			c++;
		}
		if (l < p->n_local_eps && p->local_eps[l] == &p->eps[i]) {
			in = true;
			l++;
		}
		if (in)
			p->reachable_eps[p->n_reachable_eps++] = &p->eps[i];
	}
}

/* ns, name, port_name, spn, key and cluster_ip in one block (p->strings) */
static void port_strings(struct proxy_svc_port *p, const char *ns, const char *name,
			 const char *pn, const char *cip)
{
	size_t lns = strlen(ns), lname = strlen(name), lpn = strlen(pn);
	size_t lkey = lns + 1 + lname;
	size_t len = lns + lname + lpn + (lkey + 1 + lpn) + lkey + strlen(cip) + 6;
	char *b = xmalloc(len);
	p->strings = b;
	p->ns = b;
	b = stpcpy(b, ns) + 1;
	p->name = b;
	b = stpcpy(b, name) + 1;
	p->port_name = b;
	b = stpcpy(b, pn) + 1;
	p->spn = b;
	b += (*pn ? sprintf(b, "%s/%s:%s", ns, name, pn) : sprintf(b, "%s/%s", ns, name)) + 1;
	p->key = b;
	b += sprintf(b, "%s/%s", ns, name) + 1;
	p->cluster_ip = b;
	strcpy(b, cip);
}

/* The IPv4 addresses of arr (strings, or objects whose member key is one)
 * that may be used (unusable_ip), each refused one logged against the
 * service; IPv6 ones are another family's and left out quietly. Load
 * balancer ingress entries in "Proxy" IP mode are not ours. New array of
 * new strings (NULL when none). */
static char **usable_ips(const json_t *arr, const char *key, const char *ns, const char *name,
			 const char *what, size_t *n)
{
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return NULL;
	char **out = xcalloc(json_array_size(arr), sizeof(*out));
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *ip = json_string_value(key ? json_object_get(v, key) : v);
		if (key) {
			const char *mode = json_string_value(json_object_get(v, "ipMode"));
			if (mode && !strcmp(mode, "Proxy"))
				continue;
		}
		if (!ip || strchr(ip, ':'))
			continue;
		char *why = is_ipv4(ip) ? unusable_ip(ip) : xstrdup("must be a valid IP address");
		if (why) {
			log_error("Skipping %s \"%s\" of service %s/%s: %s", what, ip, ns, name, why);
			free(why);
			continue;
		}
		out[(*n)++] = xstrdup(ip);
	}
	if (*n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static const char *service_cluster_ip(const json_t *spec)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "clusterIPs"), i, v)
		if (is_ipv4(json_string_value(v)))
			return json_string_value(v);
	const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
	return is_ipv4(ip) ? ip : NULL;
}

void proxy_model_add_service(struct proxy_model *m, const json_t *svc, const json_t *slices,
			     const struct proxy_config *cfg)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *ns = json_path_str(svc, "metadata.namespace");
	const char *name = json_path_str(svc, "metadata.name");
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *cip = service_cluster_ip(spec);
	if (!ns || !name || !cip || (type && !strcmp(type, "ExternalName")))
		return;
	json_t *ports = json_object_get(spec, "ports");
	if (!json_is_array(ports) || json_array_size(ports) == 0)
		return;
	if (!type)
		type = "ClusterIP";

	json_t *tmo = NULL;
	const char *aff = json_string_value(json_object_get(spec, "sessionAffinity"));
	bool affinity = aff && !strcmp(aff, "ClientIP");
	if (affinity) {
		tmo = json_path_get(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
		if (tmo && json_is_null(tmo))
			tmo = NULL;
		if (tmo && (!json_is_integer(tmo) || json_integer_value(tmo) <= 0 ||
			    json_integer_value(tmo) > PROXY_AFFINITY_MAX_SECONDS)) {
			char *v = json_dumps(tmo, JSON_COMPACT | JSON_ENCODE_ANY);
			log_error("Skipping service %s/%s: spec.sessionAffinityConfig.clientIP."
				  "timeoutSeconds %s: must be greater than 0 and less than %d",
				  ns, name, v ? v : "?", PROXY_AFFINITY_MAX_SECONDS);
			free(v);
			return;
		}
	}
	char *cip_why = unusable_ip(cip);
	if (cip_why) {
		log_error("Skipping service %s/%s: cluster IP %s %s", ns, name, cip, cip_why);
		free(cip_why);
		return;
	}

	size_t n_ext, n_lb = 0, n_ranges;
	char **ext = usable_ips(json_object_get(spec, "externalIPs"), NULL, ns, name,
				"external IP", &n_ext);
	char **ranges = str_array(json_object_get(spec, "loadBalancerSourceRanges"), &n_ranges, true);
	char **lb = usable_ips(json_path_get(svc, "status.loadBalancer.ingress"), "ip", ns, name,
			       "load balancer IP", &n_lb);
	const char *etp = json_string_value(json_object_get(spec, "externalTrafficPolicy"));
	const char *itp = json_string_value(json_object_get(spec, "internalTrafficPolicy"));
	bool ext_type = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer") || n_ext > 0;
	bool etp_local = etp && !strcmp(etp, "Local") && ext_type;
	int hc = 0;
	if (!strcmp(type, "LoadBalancer") && etp_local) {
		json_t *h = json_object_get(spec, "healthCheckNodePort");
		if (h && !json_is_null(h) && !port_number(h, true) && !is_zero(h)) {
			char *v = json_dumps(h, JSON_COMPACT | JSON_ENCODE_ANY);
			log_error("Ignoring health check node port %s of service %s/%s: must be "
				  "between 1 and 65535, inclusive",
				  v ? v : "?", ns, name);
			free(v);
		} else {
			hc = port_number(h, true);
		}
	}
	bool node_ports = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");

	size_t i;
	json_t *sp;
	json_array_foreach(ports, i, sp) {
		enum proxy_proto pr;
		const char *ps;
		if (!parse_proto(json_string_value(json_object_get(sp, "protocol")), &pr, &ps))
			continue;
		const char *pn = json_string_value(json_object_get(sp, "name"));
		if (!pn)
			pn = "";
		int port = port_number(json_object_get(sp, "port"), false);
		json_t *npj = json_object_get(sp, "nodePort");
		int node_port = 0;
		bool bad_node_port = false;
		if (node_ports && npj && !json_is_null(npj)) {
			node_port = port_number(npj, true);
			bad_node_port = !node_port && !is_zero(npj);
		}
		if (!port || bad_node_port) {
			json_t *bad = port ? npj : json_object_get(sp, "port");
			char *v = bad ? json_dumps(bad, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
			log_error("Skipping port \"%s\" of service %s/%s: %s %s: must be between 1 "
				  "and 65535, inclusive",
				  pn, ns, name, port ? "nodePort" : "port", v ? v : "null");
			free(v);
			continue;
		}
		if (m->n % 64 == 0)
			m->ports = xrealloc(m->ports, (m->n + 64) * sizeof(*m->ports));
		struct proxy_svc_port *p = &m->ports[m->n++];
		*p = (struct proxy_svc_port){
			.proto = pr,
			.proto_str = ps,
			.port = port,
			.node_port = node_port,
			.hc_node_port = hc,
			.external_ips = dup_strv(ext, n_ext),
			.n_external_ips = n_ext,
			.lb_ips = dup_strv(lb, n_lb),
			.n_lb_ips = n_lb,
			.source_ranges = dup_strv(ranges, n_ranges),
			.n_source_ranges = n_ranges,
			.affinity = affinity,
			.affinity_timeout = tmo ? (int)json_integer_value(tmo)
						: PROXY_AFFINITY_DEFAULT_SECONDS,
			.etp_local = etp_local,
			.itp_local = itp && !strcmp(itp, "Local"),
		};
		port_strings(p, ns, name, pn, cip);
		collect_endpoints(p, slices, cfg);
		categorize(p);
		m->n_endpoints += p->n_eps;
	}
	free_strv(ext, n_ext);
	free_strv(lb, n_lb);
	free_strv(ranges, n_ranges);
}

static int port_cmp(const void *a, const void *b)
{
	const struct proxy_svc_port *x = a, *y = b;
	int c = strcmp(x->spn, y->spn);
	return c ? c : (int)x->proto - (int)y->proto;
}

void proxy_model_sort(struct proxy_model *m)
{
	if (m->n > 1)
		qsort(m->ports, m->n, sizeof(*m->ports), port_cmp);
}

/* Adds the ports of the service key of st to m. */
static void add_from_state(struct proxy_model *m, const struct proxy_state *st, const char *key,
			   const char *svc, const struct proxy_config *cfg)
{
	json_t *per = slices_of(st, key);
	json_t *arr = json_array();
	const char *sn;
	json_t *sl;
	json_object_foreach(per, sn, sl) {
		json_t *d = decode_slice(sl);
		json_object_set_new(d, "metadata", json_pack("{s:s}", "name", sn));
		json_array_append_new(arr, d);
	}
	json_decref(per);
	json_t *o = decode_service(key, svc);
	if (o)
		proxy_model_add_service(m, o, arr, cfg);
	json_decref(o);
	json_decref(arr);
}

struct proxy_model *proxy_model_build(const struct proxy_state *st, const struct proxy_config *cfg)
{
	struct proxy_model *m = xcalloc(1, sizeof(*m));
	size_t it = 0;
	const char *key, *svc;
	while ((key = strmap_next(&st->services, &it, &svc)))
		add_from_state(m, st, key, svc, cfg);
	proxy_model_sort(m);
	return m;
}

static void port_free(struct proxy_svc_port *p)
{
	free(p->strings);
	free_strv(p->external_ips, p->n_external_ips);
	free_strv(p->lb_ips, p->n_lb_ips);
	free_strv(p->source_ranges, p->n_source_ranges);
	free(p->ep_strings);
	free(p->eps);
	free(p->cluster_eps);
}

void proxy_model_update(struct proxy_model *m, const struct proxy_state *st, const json_t *changed,
			const struct proxy_config *cfg)
{
	if (json_object_size(changed) == 0)
		return;
	/* the ports of changed services, rebuilt and sorted on their own */
	struct proxy_model fresh = {0};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)changed, key, v) {
		const char *svc = strmap_get(&st->services, key);
		if (svc)
			add_from_state(&fresh, st, key, svc, cfg);
	}
	proxy_model_sort(&fresh);
	/* merge the kept ports (still sorted) with the fresh ones */
	/* capacity kept a multiple of 64, as proxy_model_add_service expects */
	size_t cap = (m->n + fresh.n) / 64 * 64 + 64;
	struct proxy_svc_port *out = xmalloc(cap * sizeof(*out));
	size_t n = 0, f = 0;
	m->n_endpoints = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct proxy_svc_port *p = &m->ports[i];
		if (json_object_get(changed, p->key)) {
			port_free(p);
			continue;
		}
		while (f < fresh.n && port_cmp(&fresh.ports[f], p) < 0)
			out[n++] = fresh.ports[f++];
		out[n++] = *p;
	}
	while (f < fresh.n)
		out[n++] = fresh.ports[f++];
	for (size_t i = 0; i < n; i++)
		m->n_endpoints += out[i].n_eps;
	free(m->ports);
	free(fresh.ports);
	m->ports = out;
	m->n = n;
}

void proxy_model_free(struct proxy_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		port_free(&m->ports[i]);
	free(m->ports);
	free(m);
}
