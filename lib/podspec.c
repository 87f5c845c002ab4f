#include "podspec.h"

#include <string.h>

#include "json.h"

static void set_default(json_t *obj, const char *key, json_t *value)
{
	if (!json_object_get(obj, key) || json_is_null(json_object_get(obj, key)))
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}

/* Upstream: Always for ":latest" or no tag (a digest counts as a tag). */
const char *podspec_default_pull_policy(const char *image)
{
	if (!image)
		return "Always";
	if (strchr(image, '@'))
		return "IfNotPresent";
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(image, ':');
	if (!colon || (slash && colon < slash))
		return "Always";
	return strcmp(colon + 1, "latest") ? "IfNotPresent" : "Always";
}

static void probe_defaults(json_t *probe)
{
	if (!json_is_object(probe))
		return;
	set_default(probe, "timeoutSeconds", json_integer(1));
	set_default(probe, "periodSeconds", json_integer(10));
	set_default(probe, "successThreshold", json_integer(1));
	set_default(probe, "failureThreshold", json_integer(3));
	json_t *http = json_object_get(probe, "httpGet");
	if (json_is_object(http)) {
		set_default(http, "path", json_string("/"));
		set_default(http, "scheme", json_string("HTTP"));
	}
}

static void container_defaults(json_t *c)
{
	if (!json_is_object(c))
		return;
	set_default(c, "imagePullPolicy",
		    json_string(podspec_default_pull_policy(
			    json_string_value(json_object_get(c, "image")))));
	set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
	set_default(c, "terminationMessagePolicy", json_string("File"));
	set_default(c, "resources", json_object());
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(c, "ports"), i, p) if (json_is_object(p))
		set_default(p, "protocol", json_string("TCP"));
	json_t *e;
	json_array_foreach(json_object_get(c, "env"), i, e)
	{
		json_t *ref = json_path_get(e, "valueFrom.fieldRef");
		if (json_is_object(ref))
			set_default(ref, "apiVersion", json_string("v1"));
	}
	probe_defaults(json_object_get(c, "livenessProbe"));
	probe_defaults(json_object_get(c, "readinessProbe"));
	probe_defaults(json_object_get(c, "startupProbe"));
	/* Requests default to limits upstream. */
	json_t *limits = json_path_get(c, "resources.limits");
	if (json_is_object(limits) && json_object_size(limits)) {
		json_t *res = json_object_get(c, "resources");
		json_t *req = json_object_get(res, "requests");
		if (!json_is_object(req)) {
			req = json_object();
			json_object_set_new(res, "requests", req);
		}
		const char *k;
		json_t *v;
		json_object_foreach(limits, k, v) if (!json_object_get(req, k))
			json_object_set(req, k, v);
	}
}

void podspec_defaults(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default(spec, "restartPolicy", json_string("Always"));
	set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	set_default(spec, "schedulerName", json_string("default-scheduler"));
	set_default(spec, "securityContext", json_object());
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c) container_defaults(c);
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) container_defaults(c);
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		const char *kinds[] = {"configMap", "secret", "downwardAPI", "projected"};
		for (size_t k = 0; k < 4; k++) {
			json_t *src = json_object_get(v, kinds[k]);
			if (json_is_object(src))
				set_default(src, "defaultMode", json_integer(420));
		}
	}
}

/* Upstream's QoS class: BestEffort without any request or limit, Guaranteed
 * when every container limits cpu and memory and requests equal limits. */
const char *podspec_qos_class(const json_t *spec)
{
	bool any = false, guaranteed = true;
	const char *lists[] = {"containers", "initContainers"};
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[k]), i, c)
		{
			json_t *req = json_path_get(c, "resources.requests");
			json_t *lim = json_path_get(c, "resources.limits");
			const char *res[] = {"cpu", "memory"};
			for (size_t r = 0; r < 2; r++) {
				json_t *l = json_object_get(lim, res[r]);
				json_t *q = json_object_get(req, res[r]);
				if (l || q)
					any = true;
				if (!l || (q && !json_equal(l, q)))
					guaranteed = false;
			}
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

const json_t *podspec_container(const json_t *spec, const char *name)
{
	static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		const json_t *c = json_array_find_named(json_object_get(spec, lists[l]), name);
		if (c)
			return c;
	}
	return NULL;
}
