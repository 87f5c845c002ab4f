#include "daemonset-plan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"

char *ds_template_hash(const json_t *ds)
{
	json_t *tmpl = json_path_get(ds, "spec.template");
	cleanup_free char *text = json_dumps(tmpl ? tmpl : json_null(),
					     JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	/* upstream's rand.SafeEncodeString over the decimal digits */
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	char digits[16];
	snprintf(digits, sizeof(digits), "%u", h);
	for (char *p = digits; *p; p++)
		*p = alnum[(unsigned char)*p % (sizeof(alnum) - 1)];
	return xstrdup(digits);
}

static const struct {
	const char *key;
	const char *effect;
	bool host_network_only;
} added_tolerations[] = {
	{"node.kubernetes.io/not-ready", "NoExecute", false},
	{"node.kubernetes.io/unreachable", "NoExecute", false},
	{"node.kubernetes.io/disk-pressure", "NoSchedule", false},
	{"node.kubernetes.io/memory-pressure", "NoSchedule", false},
	{"node.kubernetes.io/pid-pressure", "NoSchedule", false},
	{"node.kubernetes.io/unschedulable", "NoSchedule", false},
	{"node.kubernetes.io/network-unavailable", "NoSchedule", true},
};

static bool has_toleration(const json_t *tols, const char *key, const char *effect)
{
	size_t i;
	json_t *t;
	json_array_foreach(tols, i, t)
	{
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (k && !strcmp(k, key) && e && !strcmp(e, effect))
			return true;
	}
	return false;
}

void ds_add_tolerations(json_t *pod_spec)
{
	if (!json_is_object(pod_spec))
		return;
	json_t *tols = json_object_get(pod_spec, "tolerations");
	if (!json_is_array(tols)) {
		tols = json_array();
		json_object_set_new(pod_spec, "tolerations", tols);
	}
	bool host_net = json_is_true(json_object_get(pod_spec, "hostNetwork"));
	for (size_t i = 0; i < sizeof(added_tolerations) / sizeof(added_tolerations[0]); i++) {
		if (added_tolerations[i].host_network_only && !host_net)
			continue;
		if (has_toleration(tols, added_tolerations[i].key, added_tolerations[i].effect))
			continue;
		json_array_append_new(tols,
				      json_pack("{s:s, s:s, s:s}", "key", added_tolerations[i].key,
						"operator", "Exists", "effect",
						added_tolerations[i].effect));
	}
}

static bool tolerates(const json_t *tol, const json_t *taint)
{
	const char *key = json_string_value(json_object_get(tol, "key"));
	const char *op = json_string_value(json_object_get(tol, "operator"));
	const char *val = json_string_value(json_object_get(tol, "value"));
	const char *eff = json_string_value(json_object_get(tol, "effect"));
	const char *tkey = json_string_value(json_object_get(taint, "key"));
	const char *tval = json_string_value(json_object_get(taint, "value"));
	const char *teff = json_string_value(json_object_get(taint, "effect"));
	if (eff && eff[0] && (!teff || strcmp(eff, teff)))
		return false;
	bool exists = op && !strcmp(op, "Exists");
	/* an empty key with Exists tolerates every taint */
	if (!key || !key[0])
		return exists;
	if (!tkey || strcmp(key, tkey))
		return false;
	if (exists)
		return true;
	return !strcmp(val ? val : "", tval ? tval : "");
}

static bool label_in(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x) if (v && json_is_string(x) &&
					     !strcmp(json_string_value(x), v)) return true;
	return false;
}

/* One NodeSelectorRequirement against a value (a label's, or a field's). */
static bool requirement_holds(const json_t *req, const char *have)
{
	const char *op = json_string_value(json_object_get(req, "operator"));
	json_t *values = json_object_get(req, "values");
	if (!op)
		return false;
	if (!strcmp(op, "In"))
		return have && label_in(values, have);
	if (!strcmp(op, "NotIn"))
		return !have || !label_in(values, have);
	if (!strcmp(op, "Exists"))
		return have != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return have == NULL;
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
		const char *want = json_string_value(json_array_get(values, 0));
		if (!have || !want)
			return false;
		char *e1, *e2;
		long long a = strtoll(have, &e1, 10), b = strtoll(want, &e2, 10);
		if (*e1 || *e2)
			return false;
		return !strcmp(op, "Gt") ? a > b : a < b;
	}
	return false;
}

static bool term_matches(const json_t *term, const json_t *node)
{
	json_t *labels = json_path_get(node, "metadata.labels");
	json_t *exprs = json_object_get(term, "matchExpressions");
	json_t *fields = json_object_get(term, "matchFields");
	/* an empty term matches no node, as upstream */
	if (!json_array_size(exprs) && !json_array_size(fields))
		return false;
	size_t i;
	json_t *r;
	json_array_foreach(exprs, i, r)
	{
		const char *key = json_string_value(json_object_get(r, "key"));
		if (!requirement_holds(r,
				       json_string_value(json_object_get(labels, key ? key : ""))))
			return false;
	}
	json_array_foreach(fields, i, r)
	{
		const char *key = json_string_value(json_object_get(r, "key"));
		const char *have = key && !strcmp(key, "metadata.name")
					   ? json_path_str(node, "metadata.name")
					   : NULL;
		if (!requirement_holds(r, have))
			return false;
	}
	return true;
}

bool ds_should_run(const json_t *ds, const json_t *node)
{
	json_t *spec = json_path_get(ds, "spec.template.spec");
	json_t *labels = json_path_get(node, "metadata.labels");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(spec, "nodeSelector"), k, v)
	{
		json_t *have = json_object_get(labels, k);
		if (!have || !json_equal(have, v))
			return false;
	}
	json_t *terms = json_path_get(
		spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
		      "nodeSelectorTerms");
	if (json_is_array(terms)) {
		bool any = false;
		size_t i;
		json_t *term;
		json_array_foreach(terms, i, term) any |= term_matches(term, node);
		if (!any)
			return false;
	}
	cleanup_json json_t *with = json_object();
	json_t *tols = json_object_get(spec, "tolerations");
	json_object_set_new(with, "tolerations",
			    json_is_array(tols) ? json_deep_copy(tols) : json_array());
	json_t *hn = json_object_get(spec, "hostNetwork");
	if (hn)
		json_object_set(with, "hostNetwork", hn);
	ds_add_tolerations(with);
	size_t i;
	json_t *taint;
	json_array_foreach(json_path_get(node, "spec.taints"), i, taint)
	{
		const char *eff = json_string_value(json_object_get(taint, "effect"));
		if (!eff || (strcmp(eff, "NoSchedule") && strcmp(eff, "NoExecute")))
			continue;
		bool ok = false;
		size_t j;
		json_t *tol;
		json_array_foreach(json_object_get(with, "tolerations"), j, tol) ok |=
			tolerates(tol, taint);
		if (!ok)
			return false;
	}
	return true;
}

json_t *ds_pod_for_node(const json_t *ds, const char *node, const char *hash)
{
	json_t *meta = json_object_get(ds, "metadata");
	json_t *tmeta = json_path_get(ds, "spec.template.metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	json_t *pod = json_pack(
		"{s:s,s:s,s:{s:s+,s:O,s:[{s:s,s:s,s:O,s:O,s:b,s:b}]}}", "apiVersion", "v1", "kind",
		"Pod", "metadata", "generateName", name ? name : "", "-", "namespace",
		json_object_get(meta, "namespace"), "ownerReferences", "apiVersion", "apps/v1",
		"kind", "DaemonSet", "name", json_object_get(meta, "name"), "uid",
		json_object_get(meta, "uid"), "controller", 1, "blockOwnerDeletion", 1);
	json_t *pmeta = json_object_get(pod, "metadata");
	json_t *labels = json_object_get(tmeta, "labels");
	labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
	json_object_set_new(labels, DS_HASH_LABEL, json_string(hash));
	cleanup_free char *gen = xasprintf(
		"%lld", (long long)json_integer_value(json_object_get(meta, "generation")));
	json_object_set_new(labels, "pod-template-generation", json_string(gen));
	json_object_set_new(pmeta, "labels", labels);
	json_t *ann = json_object_get(tmeta, "annotations");
	if (json_is_object(ann) && json_object_size(ann))
		json_object_set_new(pmeta, "annotations", json_deep_copy(ann));
	json_t *spec = json_path_get(ds, "spec.template.spec");
	spec = json_is_object(spec) ? json_deep_copy(spec) : json_object();
	json_object_set_new(pod, "spec", spec);
	/* As upstream's ReplaceDaemonSetPodNodeNameNodeAffinity: the required
	 * terms become the one node (the controller already checked the
	 * template's own terms against it). */
	json_t *terms = json_pack("[{s:[{s:s, s:s, s:[s]}]}]", "matchFields", "key",
				  "metadata.name", "operator", "In", "values", node);
	json_path_set(spec,
		      "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
		      "nodeSelectorTerms",
		      terms);
	ds_add_tolerations(spec);
	return pod;
}

const char *ds_pod_node(const json_t *pod)
{
	const char *n = json_path_str(pod, "spec.nodeName");
	if (n && n[0])
		return n;
	json_t *terms = json_path_get(
		pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
		     "nodeSelectorTerms");
	size_t i, j;
	json_t *term, *f;
	json_array_foreach(terms, i, term)
	{
		json_array_foreach(json_object_get(term, "matchFields"), j, f)
		{
			const char *key = json_string_value(json_object_get(f, "key"));
			const char *op = json_string_value(json_object_get(f, "operator"));
			json_t *vals = json_object_get(f, "values");
			if (key && !strcmp(key, "metadata.name") && op && !strcmp(op, "In") &&
			    json_array_size(vals) == 1)
				return json_string_value(json_array_get(vals, 0));
		}
	}
	return NULL;
}

static long scaled(const json_t *v, long total, bool round_up)
{
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return 0;
	long pct = strtol(s, NULL, 10);
	double x = (double)pct * (double)total / 100.0;
	return (long)(round_up ? ceil(x) : floor(x));
}

long ds_max_unavailable(const json_t *ds, long desired)
{
	json_t *ru = json_path_get(ds, "spec.updateStrategy.rollingUpdate");
	long mu = scaled(json_object_get(ru, "maxUnavailable"), desired, true);
	long ms = scaled(json_object_get(ru, "maxSurge"), desired, true);
	if (mu < 1 && ms < 1)
		mu = 1;
	return mu;
}

long ds_max_surge(const json_t *ds, long desired)
{
	return scaled(json_path_get(ds, "spec.updateStrategy.rollingUpdate.maxSurge"), desired,
		      true);
}
