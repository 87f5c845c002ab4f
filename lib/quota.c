#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "quantity.h"
#include "quota.h"
#include "xalloc.h"

/* core resources upstream counts under their bare plural as well */
static const char *const legacy_counts[] = {
	"configmaps",
	"secrets",
	"resourcequotas",
	"replicationcontrollers",
	"persistentvolumeclaims",
	NULL,
};

/* resources whose request is counted under its bare name as well */
static const char *const bare_requests[] = {"cpu", "memory", "ephemeral-storage", NULL};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static char *count_name(const char *group, const char *resource)
{
	return group && group[0] ? xasprintf("count/%s.%s", resource, group)
				 : xasprintf("count/%s", resource);
}

bool quota_tracks(const char *group, const char *resource, const char *name)
{
	cleanup_free char *cn = count_name(group, resource);
	if (!strcmp(cn, name))
		return true;
	if (group && group[0])
		return false;
	if (!strcmp(resource, "pods"))
		return !strcmp(name, "pods") || in_list(bare_requests, name) ||
		       !strncmp(name, "requests.", 9) || !strncmp(name, "limits.", 7);
	if (!strcmp(resource, "services"))
		return !strcmp(name, "services") || !strcmp(name, "services.nodeports") ||
		       !strcmp(name, "services.loadbalancers");
	return in_list(legacy_counts, resource) && !strcmp(name, resource);
}

int64_t quota_value(const json_t *v)
{
	int64_t m = 0;
	cleanup_err struct mk_err *err = NULL;
	if (json_is_string(v) && quantity_parse_milli(json_string_value(v), &m, &err) == 0)
		return m;
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v) * 1000;
	return 0;
}

char *quota_format(const char *name, int64_t milli)
{
	bool binary = strstr(name, "memory") || strstr(name, "storage");
	return quantity_format_milli(milli, binary);
}

static void put(json_t *usage, const char *name, int64_t milli)
{
	json_object_set_new(usage, name, json_integer(milli));
}

void quota_usage_add(json_t *sum, const json_t *add)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)add, k, v)
	{
		json_int_t have = json_integer_value(json_object_get(sum, k));
		json_object_set_new(sum, k, json_integer(have + json_integer_value(v)));
	}
}

/* name -> milli of one resource list (requests or limits) */
static json_t *list_milli(const json_t *list)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)list, k, v) put(out, k, quota_value(v));
	return out;
}

/* Pod-level requests or limits (which = "requests"/"limits"): the sum over
 * containers, raised to the largest init container, as upstream's
 * PodRequests computes them. */
static json_t *pod_resources(const json_t *spec, const char *which)
{
	json_t *sum = json_object();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		cleanup_json json_t *m =
			list_milli(json_path_get(json_object_get(c, "resources"), which));
		quota_usage_add(sum, m);
	}
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
	{
		cleanup_json json_t *m =
			list_milli(json_path_get(json_object_get(c, "resources"), which));
		const char *k;
		json_t *v;
		json_object_foreach(m, k, v)
		{
			if (json_integer_value(v) > json_integer_value(json_object_get(sum, k)))
				json_object_set(sum, k, v);
		}
	}
	return sum;
}

static bool pod_terminal(const json_t *pod)
{
	const char *phase = json_path_str(pod, "status.phase");
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

static void pod_usage(const json_t *pod, json_t *usage)
{
	if (pod_terminal(pod))
		return;
	put(usage, "pods", 1000);
	const json_t *spec = json_object_get(pod, "spec");
	cleanup_json json_t *req = pod_resources(spec, "requests");
	cleanup_json json_t *lim = pod_resources(spec, "limits");
	const char *k;
	json_t *v;
	json_object_foreach(req, k, v)
	{
		cleanup_free char *n = xasprintf("requests.%s", k);
		put(usage, n, json_integer_value(v));
		if (in_list(bare_requests, k))
			put(usage, k, json_integer_value(v));
	}
	json_object_foreach(lim, k, v)
	{
		cleanup_free char *n = xasprintf("limits.%s", k);
		put(usage, n, json_integer_value(v));
	}
}

static void service_usage(const json_t *svc, json_t *usage)
{
	put(usage, "services", 1000);
	const char *type = json_path_str(svc, "spec.type");
	size_t ports = json_array_size(json_path_get(svc, "spec.ports"));
	if (type && !strcmp(type, "NodePort")) {
		put(usage, "services.nodeports", (int64_t)ports * 1000);
	} else if (type && !strcmp(type, "LoadBalancer")) {
		put(usage, "services.loadbalancers", 1000);
		if (!json_is_false(json_path_get(svc, "spec.allocateLoadBalancerNodePorts")))
			put(usage, "services.nodeports", (int64_t)ports * 1000);
	}
}

json_t *quota_usage_of(const char *group, const char *resource, const json_t *obj)
{
	json_t *usage = json_object();
	cleanup_free char *cn = count_name(group, resource);
	put(usage, cn, 1000);
	if (group && group[0])
		return usage;
	if (!strcmp(resource, "pods"))
		pod_usage(obj, usage);
	else if (!strcmp(resource, "services"))
		service_usage(obj, usage);
	else if (in_list(legacy_counts, resource))
		put(usage, resource, 1000);
	return usage;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the names a container's resources count under, as in pod_usage */
static bool container_has(const json_t *c, const char *name)
{
	const json_t *res = json_object_get(c, "resources");
	if (!strncmp(name, "requests.", 9))
		return json_object_get(json_object_get(res, "requests"), name + 9) != NULL;
	if (!strncmp(name, "limits.", 7))
		return json_object_get(json_object_get(res, "limits"), name + 7) != NULL;
	return json_object_get(json_object_get(res, "requests"), name) != NULL;
}

char *quota_pod_missing(const json_t *pod, const json_t *hard)
{
	/* upstream's validationSet: a quota on these makes them required */
	static const char *const required[] = {"cpu",	 "limits.cpu",	 "limits.memory",
					       "memory", "requests.cpu", "requests.memory",
					       NULL};
	const json_t *spec = json_object_get(pod, "spec");
	cleanup_buf struct buf b = BUF_INIT;
	for (const char *const *r = required; *r; r++) {
		if (!json_object_get(hard, *r))
			continue;
		char **names = NULL;
		size_t n = 0;
		const char *lists[] = {"initContainers", "containers"};
		for (size_t l = 0; l < 2; l++) {
			size_t i;
			json_t *c;
			json_array_foreach(json_object_get(spec, lists[l]), i, c)
			{
				const char *cname = json_string_value(json_object_get(c, "name"));
				if (container_has(c, *r) || !cname)
					continue;
				names = xrealloc(names, (n + 1) * sizeof(*names));
				names[n++] = (char *)cname;
			}
		}
		if (!n)
			continue;
		qsort(names, n, sizeof(*names), cmp_str);
		buf_printf(&b, "%s%s for: ", b.len ? "; " : "must specify ", *r);
		for (size_t i = 0; i < n; i++)
			if (!i || strcmp(names[i], names[i - 1]))
				buf_printf(&b, "%s%s", i ? "," : "", names[i]);
		free(names);
	}
	return b.len ? xstrdup(buf_str(&b)) : NULL;
}
