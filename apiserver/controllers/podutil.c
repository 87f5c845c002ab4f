#include "podutil.h"

#include <string.h>

#include "timefmt.h"

static json_t *jget(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static json_t *ready_condition(const json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(jget(pod, "status", "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && !strcmp(t, "Ready"))
			return c;
	}
	return NULL;
}

bool pod_is_ready(const json_t *pod)
{
	const char *s = json_string_value(json_object_get(ready_condition(pod), "status"));
	return s && !strcmp(s, "True");
}

bool pod_is_available(const json_t *pod, long min_ready_seconds, time_t now)
{
	if (!pod_is_ready(pod))
		return false;
	if (min_ready_seconds <= 0)
		return true;
	const char *since = json_string_value(json_object_get(ready_condition(pod),
							      "lastTransitionTime"));
	time_t t;
	if (!since || time_parse_rfc3339(since, &t, NULL) < 0)
		return false;
	return now - t >= min_ready_seconds;
}

bool pod_is_terminal(const json_t *pod)
{
	const char *phase = json_string_value(jget(pod, "status", "phase"));
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

bool pod_is_active(const json_t *pod)
{
	return !pod_is_terminal(pod) && !jget(pod, "metadata", "deletionTimestamp");
}

const char *pod_ip(const json_t *pod)
{
	const char *ip = json_string_value(jget(pod, "status", "podIP"));
	return ip && *ip ? ip : NULL;
}

const char *pod_controller_uid(const json_t *pod)
{
	size_t i;
	json_t *o;
	json_array_foreach(jget(pod, "metadata", "ownerReferences"), i, o) {
		if (json_is_true(json_object_get(o, "controller")))
			return json_string_value(json_object_get(o, "uid"));
	}
	return NULL;
}
