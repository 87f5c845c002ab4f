#include "cronjob-plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "json.h"
#include "timefmt.h"
#include "xalloc.h"

#define MISSED_MAX 100
/* bound on the walk over missed times (a minutely schedule left alone two years) */
#define WALK_MAX 1100000

time_t cronjob_earliest(const json_t *cj, time_t now)
{
	time_t earliest = ctrl_parse_time(json_path_str(cj, "status.lastScheduleTime"));
	if (!earliest)
		earliest = ctrl_parse_time(json_path_str(cj, "metadata.creationTimestamp"));
	json_t *sds = json_path_get(cj, "spec.startingDeadlineSeconds");
	if (json_is_integer(sds)) {
		time_t floor = now - (time_t)json_integer_value(sds);
		if (floor > earliest)
			earliest = floor;
	}
	return earliest;
}

time_t cronjob_most_recent(const struct cron_schedule *s, const struct cron_zone *z,
			   time_t earliest, time_t now, int *missed)
{
	time_t last = 0;
	int n = 0;
	time_t t = cron_schedule_next(s, z, earliest);
	for (long i = 0; t && t <= now && i < WALK_MAX; i++) {
		last = t;
		if (n <= MISSED_MAX)
			n++;
		t = cron_schedule_next(s, z, t);
	}
	if (missed)
		*missed = n;
	return last;
}

char *cronjob_job_name(const char *cronjob_name, time_t scheduled)
{
	return xasprintf("%s-%lld", cronjob_name, (long long)(scheduled / 60));
}

/* Go's time.RFC3339 of t in zone z: "Z" for UTC, else "+hh:mm". */
static char *rfc3339_in(time_t t, const struct cron_zone *z)
{
	int32_t off = cron_zone_offset(z, t);
	if (off == 0)
		return time_rfc3339(t);
	time_t local = t + off;
	struct tm tm;
	gmtime_r(&local, &tm);
	char b[64];
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	int a = off < 0 ? -off : off;
	return xasprintf("%s%c%02d:%02d", b, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

json_t *cronjob_job_from_template(const json_t *cj, time_t scheduled, const struct cron_zone *z)
{
	json_t *tmpl = json_path_get(cj, "spec.jobTemplate");
	cleanup_free char *name = cronjob_job_name(json_path_str(cj, "metadata.name"), scheduled);
	cleanup_free char *ts = rfc3339_in(scheduled, z);
	json_t *labels = json_path_get(tmpl, "metadata.labels");
	json_t *ann = json_path_get(tmpl, "metadata.annotations");
	json_t *annotations = json_is_object(ann) ? json_deep_copy(ann) : json_object();
	json_object_set_new(annotations, "batch.kubernetes.io/cronjob-scheduled-timestamp",
			    json_string(ts));
	json_t *job = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}}", "apiVersion",
		"batch/v1", "kind", "Job", "metadata", "name", name, "namespace",
		json_path_str(cj, "metadata.namespace") ?: "", "annotations", annotations,
		"ownerReferences", "apiVersion", "batch/v1", "kind", "CronJob", "name",
		json_path_str(cj, "metadata.name") ?: "", "uid",
		json_path_str(cj, "metadata.uid") ?: "", "controller", 1, "blockOwnerDeletion", 1);
	if (json_is_object(labels))
		json_object_set_new(json_object_get(job, "metadata"), "labels",
				    json_deep_copy(labels));
	json_t *spec = json_object_get(tmpl, "spec");
	json_object_set_new(job, "spec", json_is_object(spec) ? json_deep_copy(spec) : json_object());
	return job;
}

const char *cronjob_job_finished(const json_t *job)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path_get(job, "status.conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (!t || !s || strcmp(s, "True"))
			continue;
		if (!strcmp(t, "Complete"))
			return "Complete";
		if (!strcmp(t, "Failed"))
			return "Failed";
	}
	return NULL;
}

static const char *start_of(const json_t *job)
{
	const char *s = json_path_str(job, "status.startTime");
	return s ? s : json_path_str(job, "metadata.creationTimestamp") ?: "";
}

static int by_start(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return strcmp(start_of(x), start_of(y));
}

static void excess_of(const json_t *jobs, const char *kind, long long limit, json_t *out)
{
	size_t n = 0, i;
	json_t *job;
	json_t **v = xcalloc(json_array_size(jobs) + 1, sizeof(*v));
	json_array_foreach(jobs, i, job)
	{
		const char *f = cronjob_job_finished(job);
		if (f && !strcmp(f, kind))
			v[n++] = job;
	}
	qsort(v, n, sizeof(*v), by_start);
	for (i = 0; limit >= 0 && (long long)(n - i) > limit; i++)
		json_array_append(out, v[i]);
	free(v);
}

json_t *cronjob_history_excess(const json_t *jobs, long long successful_limit,
			       long long failed_limit)
{
	json_t *out = json_array();
	excess_of(jobs, "Complete", successful_limit, out);
	excess_of(jobs, "Failed", failed_limit, out);
	return out;
}
