#include "endpoints-build.h"

#include <string.h>

#include "cleanup.h"
#include "podutil.h"
#include "xalloc.h"

static json_t *jget(const json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b ? json_object_get(x, b) : x;
}

bool endpoints_selector_matches(const json_t *service, const json_t *pod)
{
	json_t *sel = jget(service, "spec", "selector");
	if (!json_is_object(sel) || !json_object_size(sel))
		return false;
	json_t *labels = jget(pod, "metadata", "labels");
	const char *k;
	json_t *v;
	json_object_foreach(sel, k, v) {
		if (!json_equal(json_object_get(labels, k), v))
			return false;
	}
	return true;
}

int endpoints_resolve_port(const json_t *service_port, const json_t *pod)
{
	json_t *tp = json_object_get(service_port, "targetPort");
	if (json_is_integer(tp) && json_integer_value(tp) > 0)
		return (int)json_integer_value(tp);
	if (!json_is_string(tp) || !*json_string_value(tp))
		return (int)json_integer_value(json_object_get(service_port, "port"));
	const char *name = json_string_value(tp);
	const char *proto = json_string_value(json_object_get(service_port, "protocol"));
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(jget(pod, "spec", "containers"), i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, p) {
			const char *pn = json_string_value(json_object_get(p, "name"));
			const char *pp = json_string_value(json_object_get(p, "protocol"));
			if (pn && !strcmp(pn, name) && !strcmp(pp ? pp : "TCP", proto ? proto : "TCP"))
				return (int)json_integer_value(json_object_get(p, "containerPort"));
		}
	}
	return 0;
}

static json_t *target_ref(const json_t *pod)
{
	json_t *m = json_object_get(pod, "metadata");
	json_t *ref = json_pack("{s:s}", "kind", "Pod");
	const char *keys[] = {"namespace", "name", "uid"};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(m, keys[i]);
		if (json_is_string(v))
			json_object_set(ref, keys[i], v);
	}
	return ref;
}

/* One endpoint port per service port, with the port resolved for pod. */
static json_t *ports_for(const json_t *service, const json_t *pod, bool *complete)
{
	json_t *out = json_array();
	size_t i;
	json_t *sp;
	*complete = true;
	json_array_foreach(jget(service, "spec", "ports"), i, sp) {
		int port = endpoints_resolve_port(sp, pod);
		if (!port) {
			*complete = false;
			continue;
		}
		json_t *p = json_object();
		json_t *name = json_object_get(sp, "name");
		if (json_is_string(name) && *json_string_value(name))
			json_object_set(p, "name", name);
		json_object_set_new(p, "port", json_integer(port));
		const char *proto = json_string_value(json_object_get(sp, "protocol"));
		json_object_set_new(p, "protocol", json_string(proto ? proto : "TCP"));
		json_t *ap = json_object_get(sp, "appProtocol");
		if (json_is_string(ap))
			json_object_set(p, "appProtocol", ap);
		json_array_append_new(out, p);
	}
	return out;
}

static bool publish_not_ready(const json_t *service)
{
	return json_is_true(jget(service, "spec", "publishNotReadyAddresses"));
}

json_t *endpoints_build(const json_t *service, const json_t *pods)
{
	json_t *meta = json_object_get(service, "metadata");
	json_t *ep = json_pack("{s:s,s:s,s:{s:O,s:O}}", "kind", "Endpoints", "apiVersion", "v1",
			       "metadata", "name", json_object_get(meta, "name"), "namespace",
			       json_object_get(meta, "namespace"));
	json_t *labels = json_object_get(meta, "labels");
	if (json_is_object(labels) && json_object_size(labels))
		json_object_set_new(json_object_get(ep, "metadata"), "labels", json_deep_copy(labels));
	json_t *subsets = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (!endpoints_selector_matches(service, pod) || !pod_ip(pod) || pod_is_terminal(pod) ||
		    json_object_get(jget(pod, "metadata", NULL), "deletionTimestamp"))
			continue;
		bool complete;
		json_t *ports = ports_for(service, pod, &complete);
		/* Pods with the same resolved ports share a subset, as upstream. */
		json_t *subset = NULL;
		size_t j;
		json_t *s;
		json_array_foreach(subsets, j, s) {
			if (json_equal(json_object_get(s, "ports"), ports)) {
				subset = s;
				break;
			}
		}
		if (!subset) {
			subset = json_pack("{s:o}", "ports", ports);
			json_array_append_new(subsets, subset);
		} else {
			json_decref(ports);
		}
		bool ready = publish_not_ready(service) || pod_is_ready(pod);
		const char *list = ready ? "addresses" : "notReadyAddresses";
		json_t *addrs = json_object_get(subset, list);
		if (!addrs) {
			addrs = json_array();
			json_object_set_new(subset, list, addrs);
		}
		json_t *a = json_pack("{s:s,s:o}", "ip", pod_ip(pod), "targetRef", target_ref(pod));
		json_t *node = jget(pod, "spec", "nodeName");
		if (json_is_string(node) && *json_string_value(node))
			json_object_set(a, "nodeName", node);
		json_array_append_new(addrs, a);
	}
	/* A subset with no port (selector without ports) is dropped like upstream. */
	for (size_t k = json_array_size(subsets); k-- > 0;)
		if (!json_array_size(json_object_get(json_array_get(subsets, k), "ports")))
			json_array_remove(subsets, k);
	if (json_array_size(subsets))
		json_object_set_new(ep, "subsets", subsets);
	else
		json_decref(subsets);
	return ep;
}

json_t *endpointslice_build(const json_t *service, const json_t *pods)
{
	json_t *endpoints = json_array();
	json_t *ports = NULL;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (!endpoints_selector_matches(service, pod) || !pod_ip(pod) || pod_is_terminal(pod))
			continue;
		bool complete;
		json_t *pp = ports_for(service, pod, &complete);
		if (!ports)
			ports = pp;
		else
			json_decref(pp);
		bool terminating = json_object_get(json_object_get(pod, "metadata"),
						   "deletionTimestamp") != NULL;
		bool ready = pod_is_ready(pod);
		json_t *conds = json_pack("{s:b,s:b,s:b}", "ready",
					  (publish_not_ready(service) || ready) && !terminating,
					  "serving", ready || publish_not_ready(service), "terminating",
					  terminating);
		json_t *e = json_pack("{s:[s],s:o,s:o}", "addresses", pod_ip(pod), "conditions", conds,
				      "targetRef", target_ref(pod));
		json_t *node = jget(pod, "spec", "nodeName");
		if (json_is_string(node) && *json_string_value(node))
			json_object_set(e, "nodeName", node);
		json_array_append_new(endpoints, e);
	}
	if (!ports) {
		/* No pod: the ports are still published, resolved without a pod. */
		ports = json_array();
		json_t *sp;
		json_array_foreach(jget(service, "spec", "ports"), i, sp) {
			json_t *tp = json_object_get(sp, "targetPort");
			if (json_is_string(tp))
				continue;
			json_t *p = json_object();
			json_t *name = json_object_get(sp, "name");
			json_object_set_new(p, "name", json_is_string(name) ? json_incref(name)
									       : json_string(""));
			json_object_set_new(p, "port", json_integer(endpoints_resolve_port(sp, NULL)));
			const char *proto = json_string_value(json_object_get(sp, "protocol"));
			json_object_set_new(p, "protocol", json_string(proto ? proto : "TCP"));
			json_array_append_new(ports, p);
		}
	}
	/* EndpointSlice ports always carry a name, "" when the Service's has none. */
	json_t *p;
	json_array_foreach(ports, i, p) {
		if (!json_object_get(p, "name"))
			json_object_set_new(p, "name", json_string(""));
	}
	return json_pack("{s:o,s:o}", "endpoints", endpoints, "ports", ports);
}
