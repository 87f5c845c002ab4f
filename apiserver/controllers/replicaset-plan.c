#include "replicaset-plan.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "podutil.h"
#include "timefmt.h"
#include "xalloc.h"

static json_t *jget(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

json_t *rs_pod_from_template(const json_t *rs)
{
	json_t *meta = json_object_get(rs, "metadata");
	json_t *tmeta = jget(rs, "spec", "template");
	tmeta = json_object_get(tmeta, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	json_t *pod = json_pack("{s:s,s:s,s:{s:s+,s:O,s:[{s:s,s:s,s:O,s:O,s:b,s:b}]}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "generateName",
				name ? name : "", "-", "namespace", json_object_get(meta, "namespace"),
				"ownerReferences", "apiVersion", "apps/v1", "kind", "ReplicaSet",
				"name", json_object_get(meta, "name"), "uid",
				json_object_get(meta, "uid"), "controller", 1, "blockOwnerDeletion", 1);
	json_t *pmeta = json_object_get(pod, "metadata");
	const char *copy[] = {"labels", "annotations"};
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(tmeta, copy[i]);
		if (json_is_object(v) && json_object_size(v))
			json_object_set_new(pmeta, copy[i], json_deep_copy(v));
	}
	json_t *spec = jget(json_object_get(rs, "spec"), "template", "spec");
	json_object_set_new(pod, "spec", json_is_object(spec) ? json_deep_copy(spec) : json_object());
	return pod;
}

static int phase_rank(const json_t *pod)
{
	const char *p = json_string_value(jget(pod, "status", "phase"));
	if (!p || !strcmp(p, "Pending"))
		return 0;
	if (!strcmp(p, "Unknown"))
		return 1;
	return 2;
}

static time_t ts(const json_t *v)
{
	time_t t = 0;
	const char *s = json_string_value(v);
	if (s)
		time_parse_rfc3339(s, &t, NULL);
	return t;
}

static time_t ready_since(const json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(jget(pod, "status", "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, "Ready"))
			return ts(json_object_get(c, "lastTransitionTime"));
	}
	return 0;
}

static long long restarts(const json_t *pod)
{
	long long n = 0;
	size_t i;
	json_t *c;
	json_array_foreach(jget(pod, "status", "containerStatuses"), i, c)
		n += json_integer_value(json_object_get(c, "restartCount"));
	return n;
}

/* Negative when a should be deleted before b. */
static int deletion_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	const char *na = json_string_value(jget(a, "spec", "nodeName"));
	const char *nb = json_string_value(jget(b, "spec", "nodeName"));
	bool sa = na && *na, sb = nb && *nb;
	if (sa != sb)
		return sa ? 1 : -1;
	int ra = phase_rank(a), rb = phase_rank(b);
	if (ra != rb)
		return ra - rb;
	bool ya = pod_is_ready(a), yb = pod_is_ready(b);
	if (ya != yb)
		return ya ? 1 : -1;
	if (ya) {
		time_t ta = ready_since(a), tb = ready_since(b);
		if (ta != tb)
			return ta > tb ? -1 : 1; /* ready more recently goes first */
	}
	long long xa = restarts(a), xb = restarts(b);
	if (xa != xb)
		return xa > xb ? -1 : 1;
	time_t ca = ts(jget(a, "metadata", "creationTimestamp"));
	time_t cb = ts(jget(b, "metadata", "creationTimestamp"));
	if (ca != cb)
		return ca > cb ? -1 : 1;
	return 0;
}

void rs_sort_for_deletion(json_t *pods)
{
	size_t n = json_array_size(pods);
	if (n < 2)
		return;
	json_t **v = xcalloc(n, sizeof(json_t *));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(pods, i));
	qsort(v, n, sizeof(json_t *), deletion_cmp);
	json_array_clear(pods);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pods, v[i]);
	free(v);
}

json_t *rs_status(const json_t *rs, const json_t *pods, time_t now)
{
	long min_ready = (long)json_integer_value(jget(rs, "spec", "minReadySeconds"));
	json_t *tlabels = jget(jget(rs, "spec", "template"), "metadata", "labels");
	long long replicas = 0, labeled = 0, ready = 0, available = 0;
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		replicas++;
		json_t *labels = jget(p, "metadata", "labels");
		bool full = true;
		const char *k;
		json_t *v;
		json_object_foreach(tlabels, k, v) {
			if (!json_equal(json_object_get(labels, k), v))
				full = false;
		}
		labeled += full;
		ready += pod_is_ready(p);
		available += pod_is_available(p, min_ready, now);
	}
	json_t *st = json_object();
	json_object_set_new(st, "replicas", json_integer(replicas));
	if (labeled)
		json_object_set_new(st, "fullyLabeledReplicas", json_integer(labeled));
	if (ready)
		json_object_set_new(st, "readyReplicas", json_integer(ready));
	if (available)
		json_object_set_new(st, "availableReplicas", json_integer(available));
	json_t *gen = jget(rs, "metadata", "generation");
	json_object_set_new(st, "observedGeneration",
			    json_integer(json_is_integer(gen) ? json_integer_value(gen) : 1));
	return st;
}
