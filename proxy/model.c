/* Services + EndpointSlices -> sorted service ports with categorised endpoints. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"
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

/* An IPv4 address or CIDR. */
static bool is_ipv4(const char *s)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	char a[19];
	strcpy(a, s);
	char *slash = strchr(a, '/');
	if (slash)
		*slash = '\0';
	struct in_addr in;
	return inet_pton(AF_INET, a, &in) == 1;
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
	st->services = json_object();
	st->slices = json_object();
	st->slice_services = json_object();
	st->changed = json_object();
}

void proxy_state_free(struct proxy_state *st)
{
	json_decref(st->services);
	json_decref(st->slices);
	json_decref(st->slice_services);
	json_decref(st->changed);
	st->services = st->slices = st->slice_services = st->changed = NULL;
}

/* Objects carrying these labels are not kube-proxy's (upstream's informer
 * selector "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"). */
static bool not_ours(const json_t *obj)
{
	json_t *labels = json_path_get(obj, "metadata.labels");
	return json_object_get(labels, "service.kubernetes.io/service-proxy-name") ||
	       json_object_get(labels, "service.kubernetes.io/headless");
}

/* The fields of a Service that the model reads (spec.*, the load balancer
 * status), as a compact JSON text with sorted keys: new string. */
static const char *const svc_fields[] = {
	"type", "clusterIP", "clusterIPs", "ports", "externalIPs", "loadBalancerSourceRanges",
	"externalTrafficPolicy", "internalTrafficPolicy", "sessionAffinity",
	"sessionAffinityConfig", "healthCheckNodePort",
};

static char *compact_service(const json_t *svc)
{
	json_t *spec = json_object_get(svc, "spec");
	json_t *o = json_object(), *sp = json_object();
	json_object_set_new(o, "metadata",
			    json_pack("{s:O?, s:O?}", "namespace", json_path_get(svc, "metadata.namespace"),
				      "name", json_path_get(svc, "metadata.name")));
	for (size_t i = 0; i < sizeof(svc_fields) / sizeof(svc_fields[0]); i++) {
		json_t *v = json_object_get(spec, svc_fields[i]);
		if (v)
			json_object_set(sp, svc_fields[i], v);
	}
	json_object_set_new(o, "spec", sp);
	json_t *lb = json_path_get(svc, "status.loadBalancer");
	if (lb)
		json_object_set_new(o, "status", json_pack("{s:O}", "loadBalancer", lb));
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

/* The fields of an EndpointSlice that the model reads, likewise. */
static char *compact_slice(const json_t *slice)
{
	json_t *o = json_object(), *eps = json_array();
	json_t *at = json_object_get(slice, "addressType"), *ports = json_object_get(slice, "ports");
	if (at)
		json_object_set(o, "addressType", at);
	if (ports)
		json_object_set(o, "ports", ports);
	size_t i;
	json_t *ep;
	json_array_foreach(json_object_get(slice, "endpoints"), i, ep) {
		json_t *c = json_object();
		static const char *const keep[] = {"addresses", "conditions", "nodeName"};
		for (size_t k = 0; k < 3; k++) {
			json_t *v = json_object_get(ep, keep[k]);
			if (v)
				json_object_set(c, keep[k], v);
		}
		json_array_append_new(eps, c);
	}
	json_object_set_new(o, "endpoints", eps);
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

static bool same_text(const json_t *old, const char *text)
{
	return old && !strcmp(json_string_value(old), text);
}

bool proxy_state_set_service(struct proxy_state *st, const char *key, json_t *svc)
{
	if (svc && not_ours(svc))
		svc = NULL;
	json_t *old = json_object_get(st->services, key);
	if (!svc && !old)
		return false;
	if (svc) {
		char *text = compact_service(svc);
		if (same_text(old, text)) {
			free(text);
			return false;
		}
		json_object_set_new(st->services, key, json_string_nocheck(text));
		free(text);
	} else {
		json_object_del(st->services, key);
	}
	json_object_set_new(st->changed, key, json_true());
	return true;
}

/* Drops slice name of service key from st; true if it was there. */
static bool drop_slice(struct proxy_state *st, const char *key, const char *name)
{
	json_t *per = json_object_get(st->slices, key);
	if (!per || !json_object_get(per, name))
		return false;
	json_object_del(per, name);
	if (json_object_size(per) == 0)
		json_object_del(st->slices, key);
	json_object_set_new(st->changed, key, json_true());
	return true;
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
	const char *was = json_string_value(json_object_get(st->slice_services, slice_key));
	bool changed = false;
	if (was && (!key || strcmp(was, key))) {
		changed |= drop_slice(st, was, name);
		json_object_del(st->slice_services, slice_key);
	}
	if (key) {
		char *text = compact_slice(slice);
		json_t *per = json_object_get(st->slices, key);
		if (!same_text(per ? json_object_get(per, name) : NULL, text)) {
			if (!per) {
				per = json_object();
				json_object_set_new(st->slices, key, per);
			}
			json_object_set_new(per, name, json_string_nocheck(text));
			json_object_set_new(st->changed, key, json_true());
			changed = true;
		}
		free(text);
		if (!json_object_get(st->slice_services, slice_key))
			json_object_set_new(st->slice_services, slice_key, json_string(key));
	}
	free(key);
	free(slice_key);
	return changed;
}

/* ---- model ---- */

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
		if (!is_ipv4(c)) {
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

/* Endpoints of slices for the port (name, protocol): deduplicated, sorted. */
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
			port = (int)json_integer_value(json_object_get(sp, "port"));
			break;
		}
		if (port <= 0)
			continue;
		json_t *ep;
		json_array_foreach(json_object_get(sl, "endpoints"), j, ep) {
			const char *ip = json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
			if (!is_ipv4(ip))
				continue;
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
	}
	if (n > 1)
		qsort(eps, n, sizeof(*eps), ep_cmp);
	size_t w = 0;
	for (size_t r = 0; r < n; r++) {
		if (w > 0 && !strcmp(eps[w - 1].str, eps[r].str)) {
			free_ep(&eps[r]);
			continue;
		}
		eps[w++] = eps[r];
	}
	p->eps = eps;
	p->n_eps = w;
}

/* upstream's CategorizeEndpoints, without topology hints */
static void categorize(struct proxy_svc_port *p)
{
	size_t n = p->n_eps;
	p->cluster_eps = n ? xcalloc(n, sizeof(*p->cluster_eps)) : NULL;
	p->local_eps = n ? xcalloc(n, sizeof(*p->local_eps)) : NULL;
	p->reachable_eps = n ? xcalloc(n, sizeof(*p->reachable_eps)) : NULL;
	bool external = proxy_port_external(p);
	bool uses_cluster = !p->itp_local || external;
	bool uses_local = p->itp_local || (p->etp_local && external);

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
		if (p->n_cluster_eps)
			memcpy(p->reachable_eps, p->cluster_eps,
			       p->n_cluster_eps * sizeof(*p->cluster_eps));
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

	size_t n_ext, n_lb = 0, n_ranges;
	char **ext = str_array(json_object_get(spec, "externalIPs"), &n_ext, false);
	char **ranges = str_array(json_object_get(spec, "loadBalancerSourceRanges"), &n_ranges, true);
	char **lb = NULL;
	json_t *ingress = json_path_get(svc, "status.loadBalancer.ingress");
	if (json_is_array(ingress) && json_array_size(ingress)) {
		lb = xcalloc(json_array_size(ingress), sizeof(*lb));
		size_t i;
		json_t *ing;
		json_array_foreach(ingress, i, ing) {
			const char *ip = json_string_value(json_object_get(ing, "ip"));
			const char *mode = json_string_value(json_object_get(ing, "ipMode"));
			if (is_ipv4(ip) && !(mode && !strcmp(mode, "Proxy")))
				lb[n_lb++] = xstrdup(ip);
		}
	}
	const char *etp = json_string_value(json_object_get(spec, "externalTrafficPolicy"));
	const char *itp = json_string_value(json_object_get(spec, "internalTrafficPolicy"));
	bool ext_type = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer") || n_ext > 0;
	bool etp_local = etp && !strcmp(etp, "Local") && ext_type;
	const char *aff = json_string_value(json_object_get(spec, "sessionAffinity"));
	json_t *tmo = json_path_get(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
	int hc = 0;
	if (!strcmp(type, "LoadBalancer") && etp_local)
		hc = (int)json_integer_value(json_object_get(spec, "healthCheckNodePort"));

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
		if (m->n % 64 == 0)
			m->ports = xrealloc(m->ports, (m->n + 64) * sizeof(*m->ports));
		struct proxy_svc_port *p = &m->ports[m->n++];
		*p = (struct proxy_svc_port){
			.ns = xstrdup(ns),
			.name = xstrdup(name),
			.port_name = xstrdup(pn),
			.spn = *pn ? xasprintf("%s/%s:%s", ns, name, pn) : xasprintf("%s/%s", ns, name),
			.key = xasprintf("%s/%s", ns, name),
			.proto = pr,
			.proto_str = ps,
			.cluster_ip = xstrdup(cip),
			.port = (int)json_integer_value(json_object_get(sp, "port")),
			.node_port = (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
					     ? (int)json_integer_value(json_object_get(sp, "nodePort"))
					     : 0,
			.hc_node_port = hc,
			.external_ips = dup_strv(ext, n_ext),
			.n_external_ips = n_ext,
			.lb_ips = dup_strv(lb, n_lb),
			.n_lb_ips = n_lb,
			.source_ranges = dup_strv(ranges, n_ranges),
			.n_source_ranges = n_ranges,
			.affinity = aff && !strcmp(aff, "ClientIP"),
			.affinity_timeout = tmo ? (int)json_integer_value(tmo) : 10800,
			.etp_local = etp_local,
			.itp_local = itp && !strcmp(itp, "Local"),
		};
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
			   const json_t *svc, const struct proxy_config *cfg)
{
	json_t *per = json_object_get(st->slices, key);
	json_t *arr = json_array();
	const char *sn;
	json_t *sl;
	json_object_foreach(per, sn, sl) {
		json_t *o = json_loads(json_string_value(sl), 0, NULL);
		if (o)
			json_array_append_new(arr, o);
	}
	json_t *o = json_loads(json_string_value(svc), 0, NULL);
	if (o)
		proxy_model_add_service(m, o, arr, cfg);
	json_decref(o);
	json_decref(arr);
}

struct proxy_model *proxy_model_build(const struct proxy_state *st, const struct proxy_config *cfg)
{
	struct proxy_model *m = xcalloc(1, sizeof(*m));
	const char *key;
	json_t *svc;
	json_object_foreach(st->services, key, svc)
		add_from_state(m, st, key, svc, cfg);
	proxy_model_sort(m);
	return m;
}

static void port_free(struct proxy_svc_port *p)
{
	free(p->ns);
	free(p->name);
	free(p->port_name);
	free(p->spn);
	free(p->key);
	free(p->cluster_ip);
	free_strv(p->external_ips, p->n_external_ips);
	free_strv(p->lb_ips, p->n_lb_ips);
	free_strv(p->source_ranges, p->n_source_ranges);
	for (size_t j = 0; j < p->n_eps; j++)
		free_ep(&p->eps[j]);
	free(p->eps);
	free(p->cluster_eps);
	free(p->local_eps);
	free(p->reachable_eps);
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
		json_t *svc = json_object_get(st->services, key);
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
