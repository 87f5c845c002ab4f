#include "deployment-plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

#define HASH_LABEL "pod-template-hash"
#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"

static json_t *jget(const json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b ? json_object_get(x, b) : x;
}

static int64_t jint(const json_t *o, const char *a, const char *b, int64_t dflt)
{
	json_t *v = jget(o, a, b);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* The template with the hash label removed, for hashing and comparing. */
static json_t *template_without_hash(const json_t *template)
{
	json_t *t = json_deep_copy(template ? template : json_null());
	json_t *labels = jget(t, "metadata", "labels");
	if (json_is_object(labels)) {
		json_object_del(labels, HASH_LABEL);
		if (!json_object_size(labels))
			json_object_del(json_object_get(t, "metadata"), "labels");
	}
	json_t *meta = json_object_get(t, "metadata");
	if (json_is_object(meta)) {
		json_object_del(meta, "creationTimestamp");
		if (!json_object_size(meta))
			json_object_del(t, "metadata");
	}
	return t;
}

char *deploy_template_hash(const json_t *template, int64_t collision_count)
{
	cleanup_json json_t *t = template_without_hash(template);
	cleanup_free char *canon = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)canon; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	if (collision_count) {
		char extra[24];
		snprintf(extra, sizeof(extra), "%lld", (long long)collision_count);
		for (const unsigned char *p = (const unsigned char *)extra; *p; p++) {
			h ^= *p;
			h *= 16777619u;
		}
	}
	/* upstream's rand.SafeEncodeString of the decimal hash: no vowels, no
	 * look-alike characters, so names never spell words. */
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	char dec[16];
	snprintf(dec, sizeof(dec), "%u", h);
	char *out = xstrdup(dec);
	for (char *p = out; *p; p++)
		*p = alphabet[(unsigned char)*p % (sizeof(alphabet) - 1)];
	return out;
}

bool deploy_rs_matches(const json_t *deploy, const json_t *rs)
{
	cleanup_json json_t *a = template_without_hash(jget(deploy, "spec", "template"));
	cleanup_json json_t *b = template_without_hash(jget(rs, "spec", "template"));
	return json_equal(a, b);
}

int64_t deploy_rs_revision(const json_t *rs)
{
	const char *r = json_string_value(
		json_object_get(jget(rs, "metadata", "annotations"), REVISION_ANNOTATION));
	return r ? strtoll(r, NULL, 10) : 0;
}

json_t *deploy_new_rs(const json_t *deploy, const char *hash, int64_t revision, int64_t replicas)
{
	json_t *meta = json_object_get(deploy, "metadata");
	const char *dname = json_string_value(json_object_get(meta, "name"));
	json_t *template = json_deep_copy(jget(deploy, "spec", "template"));
	if (!json_is_object(template))
		template = json_object();
	json_t *tmeta = json_object_get(template, "metadata");
	if (!json_is_object(tmeta)) {
		tmeta = json_object();
		json_object_set_new(template, "metadata", tmeta);
	}
	json_t *tlabels = json_object_get(tmeta, "labels");
	if (!json_is_object(tlabels)) {
		tlabels = json_object();
		json_object_set_new(tmeta, "labels", tlabels);
	}
	json_object_set_new(tlabels, HASH_LABEL, json_string(hash));

	json_t *selector = json_deep_copy(jget(deploy, "spec", "selector"));
	if (!json_is_object(selector))
		selector = json_object();
	json_t *ml = json_object_get(selector, "matchLabels");
	if (!json_is_object(ml)) {
		ml = json_object();
		json_object_set_new(selector, "matchLabels", ml);
	}
	json_object_set_new(ml, HASH_LABEL, json_string(hash));

	char rev[24];
	snprintf(rev, sizeof(rev), "%lld", (long long)revision);
	int64_t surge, unavail;
	deploy_resolve_surge(deploy, &surge, &unavail);
	int64_t want = jint(deploy, "spec", "replicas", 1);
	json_t *rs = json_pack(
		"{s:s,s:s,s:{s:s++,s:O,s:o,s:{s:s,s:I,s:I},s:[{s:s,s:s,s:O,s:O,s:b,s:b}]},"
		"s:{s:I,s:o,s:o}}",
		"apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", dname, "-", hash,
		"namespace", json_object_get(meta, "namespace"), "labels", json_deep_copy(tlabels),
		"annotations", REVISION_ANNOTATION, rev, "deployment.kubernetes.io/desired-replicas",
		(json_int_t)want, "deployment.kubernetes.io/max-replicas", (json_int_t)(want + surge),
		"ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name",
		json_object_get(meta, "name"), "uid", json_object_get(meta, "uid"), "controller", 1,
		"blockOwnerDeletion", 1, "spec", "replicas", (json_int_t)replicas, "selector",
		selector, "template", template);
	json_t *mrs = json_object_get(deploy, "spec");
	json_t *mr = json_object_get(mrs, "minReadySeconds");
	if (json_is_integer(mr))
		json_object_set(json_object_get(rs, "spec"), "minReadySeconds", mr);
	/* the annotations above are strings as Kubernetes requires */
	json_t *ann = jget(rs, "metadata", "annotations");
	json_object_set_new(ann, "deployment.kubernetes.io/desired-replicas",
			    json_sprintf("%lld", (long long)want));
	json_object_set_new(ann, "deployment.kubernetes.io/max-replicas",
			    json_sprintf("%lld", (long long)(want + surge)));
	return rs;
}

/* An IntOrString against total: "25%" or 2. */
static int64_t int_or_percent(const json_t *v, int64_t total, bool round_up, int64_t dflt_pct)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	int64_t pct = dflt_pct;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long long p = strtoll(s, &end, 10);
		if (*end == '%' && !end[1])
			pct = p;
		else if (!*end && end != s)
			return p;
	}
	int64_t x = total * pct;
	return round_up ? (x + 99) / 100 : x / 100;
}

void deploy_resolve_surge(const json_t *deploy, int64_t *max_surge, int64_t *max_unavailable)
{
	int64_t replicas = jint(deploy, "spec", "replicas", 1);
	json_t *strategy = jget(deploy, "spec", "strategy");
	const char *type = json_string_value(json_object_get(strategy, "type"));
	if (type && !strcmp(type, "Recreate")) {
		*max_surge = 0;
		*max_unavailable = replicas;
		return;
	}
	json_t *ru = json_object_get(strategy, "rollingUpdate");
	*max_surge = int_or_percent(json_object_get(ru, "maxSurge"), replicas, true, 25);
	*max_unavailable = int_or_percent(json_object_get(ru, "maxUnavailable"), replicas, false, 25);
	if (*max_surge == 0 && *max_unavailable == 0)
		*max_unavailable = 1;
	if (*max_unavailable > replicas)
		*max_unavailable = replicas;
}

static int64_t spec_replicas(const json_t *rs)
{
	return rs ? jint(rs, "spec", "replicas", 0) : 0;
}

static int64_t status_of(const json_t *rs, const char *field)
{
	return rs ? jint(rs, "status", field, 0) : 0;
}

/* Available pods of a ReplicaSet as far as a plan may count on them: a status
 * written before the last scale-down still counts the pods being removed, so
 * never more than spec.replicas. */
static int64_t available_of(const json_t *rs)
{
	int64_t a = status_of(rs, "availableReplicas");
	int64_t s = spec_replicas(rs);
	return a < s ? a : s;
}

static const char *name_of(const json_t *rs)
{
	return json_string_value(jget(rs, "metadata", "name"));
}

static void set_size(json_t *plan, const json_t *rs, int64_t replicas)
{
	if (!rs) {
		json_object_set_new(plan, "", json_integer(replicas));
		return;
	}
	if (spec_replicas(rs) != replicas)
		json_object_set_new(plan, name_of(rs), json_integer(replicas));
}

static json_t *plan_recreate(const json_t *deploy, const json_t *new_rs, const json_t *old_rss)
{
	json_t *plan = json_object();
	int64_t old_running = 0;
	size_t i;
	json_t *rs;
	json_array_foreach(old_rss, i, rs) {
		if (spec_replicas(rs) > 0)
			set_size(plan, rs, 0);
		old_running += status_of(rs, "replicas");
	}
	/* New pods start only once every old pod is gone. */
	if (json_object_size(plan) || old_running > 0) {
		if (!new_rs)
			set_size(plan, NULL, 0);
		return plan;
	}
	set_size(plan, new_rs, jint(deploy, "spec", "replicas", 1));
	return plan;
}

json_t *deploy_plan(const json_t *deploy, const json_t *new_rs, const json_t *old_rss)
{
	const char *type = json_string_value(jget(jget(deploy, "spec", "strategy"), "type", NULL));
	if (type && !strcmp(type, "Recreate"))
		return plan_recreate(deploy, new_rs, old_rss);

	json_t *plan = json_object();
	int64_t want = jint(deploy, "spec", "replicas", 1);
	int64_t surge, unavail;
	deploy_resolve_surge(deploy, &surge, &unavail);

	int64_t old_total = 0, old_available = 0;
	size_t i;
	json_t *rs;
	json_array_foreach(old_rss, i, rs) {
		old_total += spec_replicas(rs);
		old_available += available_of(rs);
	}

	/* Scale the new ReplicaSet up within maxSurge (or down to the target);
	 * when it changes, old ReplicaSets wait for the next sync, as upstream. */
	int64_t new_size = spec_replicas(new_rs);
	if (new_size > want) {
		new_size = want;
	} else if (new_size < want) {
		int64_t room = want + surge - (old_total + new_size);
		if (room > 0)
			new_size += room < want - new_size ? room : want - new_size;
	}
	set_size(plan, new_rs, new_size);
	if (!new_rs || json_object_size(plan) || old_total == 0)
		return plan;

	/* Scale old ReplicaSets down without going below want - maxUnavailable
	 * available pods: first their unhealthy pods within the budget, then
	 * available ones above the minimum, oldest ReplicaSet first. */
	size_t n = json_array_size(old_rss);
	int64_t *size = xcalloc(n + 1, sizeof(int64_t));
	json_array_foreach(old_rss, i, rs)
		size[i] = spec_replicas(rs);
	int64_t min_available = want - unavail;
	int64_t new_unavailable = new_size - available_of(new_rs);
	int64_t budget = old_total + new_size - min_available - new_unavailable;
	if (budget > 0) {
		json_array_foreach(old_rss, i, rs) {
			int64_t unhealthy = size[i] - available_of(rs);
			int64_t cut = unhealthy < budget ? unhealthy : budget;
			if (cut > 0) {
				size[i] -= cut;
				budget -= cut;
			}
		}
		int64_t surplus = old_available + available_of(new_rs) -
				  min_available;
		json_array_foreach(old_rss, i, rs) {
			int64_t cut = size[i] < surplus ? size[i] : surplus;
			if (cut > 0) {
				size[i] -= cut;
				surplus -= cut;
			}
		}
	}
	json_array_foreach(old_rss, i, rs)
		set_size(plan, rs, size[i]);
	free(size);
	return plan;
}

static json_t *condition(const char *type, bool ok, const char *reason, const char *message,
			 const json_t *old_status, const char *now)
{
	const char *st = ok ? "True" : "False";
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(old_status, "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (!t || strcmp(t, type))
			continue;
		const char *ost = json_string_value(json_object_get(c, "status"));
		const char *oreason = json_string_value(json_object_get(c, "reason"));
		const char *omsg = json_string_value(json_object_get(c, "message"));
		json_t *copy = json_deep_copy(c);
		if (ost && !strcmp(ost, st) && oreason && !strcmp(oreason, reason) && omsg &&
		    !strcmp(omsg, message))
			return copy;
		json_object_set_new(copy, "lastUpdateTime", json_string(now));
		if (!ost || strcmp(ost, st))
			json_object_set_new(copy, "lastTransitionTime", json_string(now));
		json_object_set_new(copy, "status", json_string(st));
		json_object_set_new(copy, "reason", json_string(reason));
		json_object_set_new(copy, "message", json_string(message));
		return copy;
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", st, "lastUpdateTime",
			 now, "lastTransitionTime", now, "reason", reason, "message", message);
}

json_t *deploy_status(const json_t *deploy, const json_t *new_rs, const json_t *old_rss,
		      const char *now)
{
	int64_t replicas = 0, ready = 0, available = 0;
	size_t i;
	json_t *rs;
	json_array_foreach(old_rss, i, rs) {
		replicas += status_of(rs, "replicas");
		ready += status_of(rs, "readyReplicas");
		available += status_of(rs, "availableReplicas");
	}
	replicas += status_of(new_rs, "replicas");
	ready += status_of(new_rs, "readyReplicas");
	available += status_of(new_rs, "availableReplicas");
	int64_t updated = status_of(new_rs, "replicas");
	int64_t want = jint(deploy, "spec", "replicas", 1);
	int64_t surge, unavail;
	deploy_resolve_surge(deploy, &surge, &unavail);

	json_t *old_status = json_object_get(deploy, "status");
	json_t *st = json_pack("{s:I,s:I,s:I,s:I,s:I}", "observedGeneration",
			       (json_int_t)jint(deploy, "metadata", "generation", 1), "replicas",
			       (json_int_t)replicas, "updatedReplicas", (json_int_t)updated,
			       "readyReplicas", (json_int_t)ready, "availableReplicas",
			       (json_int_t)available);
	int64_t unavailable = replicas - available;
	if (want - available > unavailable)
		unavailable = want - available;
	if (unavailable > 0)
		json_object_set_new(st, "unavailableReplicas", json_integer(unavailable));
	/* upstream omits zero counters */
	const char *zero_omitted[] = {"replicas", "updatedReplicas", "readyReplicas",
				      "availableReplicas"};
	for (size_t k = 0; k < 4; k++)
		if (json_integer_value(json_object_get(st, zero_omitted[k])) == 0)
			json_object_del(st, zero_omitted[k]);

	bool min_ok = available >= want - unavail;
	json_t *conds = json_array();
	json_array_append_new(
		conds, condition("Available", min_ok,
				 min_ok ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
				 min_ok ? "Deployment has minimum availability."
					: "Deployment does not have minimum availability.",
				 old_status, now));
	cleanup_free char *msg = NULL;
	const char *reason;
	const char *rs_name = new_rs ? name_of(new_rs) : NULL;
	bool complete = new_rs && updated == want && replicas == want && available >= want &&
			json_array_size(old_rss) == 0;
	if (!complete) {
		bool others = false;
		json_array_foreach(old_rss, i, rs) {
			if (status_of(rs, "replicas") > 0 || spec_replicas(rs) > 0)
				others = true;
		}
		complete = new_rs && !others && updated == want && available >= want;
	}
	if (complete) {
		reason = "NewReplicaSetAvailable";
		msg = xasprintf("ReplicaSet \"%s\" has successfully progressed.", rs_name);
	} else if (rs_name) {
		reason = "ReplicaSetUpdated";
		msg = xasprintf("ReplicaSet \"%s\" is progressing.", rs_name);
	} else {
		reason = "NewReplicaSetCreated";
		msg = xstrdup("Created new replica set.");
	}
	json_array_append_new(conds, condition("Progressing", true, reason, msg, old_status, now));
	json_object_set_new(st, "conditions", conds);
	json_t *cc = json_object_get(old_status, "collisionCount");
	if (json_is_integer(cc))
		json_object_set(st, "collisionCount", cc);
	return st;
}
