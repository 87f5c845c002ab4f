/* CronJob controller: at each activation of spec.schedule (in spec.timeZone,
 * else the process's local zone) creates the Job
 * "<cronjob>-<minutes since the epoch>" from spec.jobTemplate, following
 * concurrencyPolicy (Allow, Forbid: skip while one runs, Replace: delete the
 * running ones first), startingDeadlineSeconds (a time missed by more is
 * skipped) and suspend; keeps status.active, lastScheduleTime and
 * lastSuccessfulTime, and deletes finished Jobs beyond the history limits.
 * After a controller outage only the most recent missed time runs, as
 * upstream. Each CronJob is queued again for its next activation. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "cronjob-plan.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "statuswrite.h"
#include "timefmt.h"
#include "xalloc.h"

#define COMPONENT "cronjob-controller"

struct cj_ctrl {
	struct client *c;
	struct workqueue *q;
	struct informer *jobs, *cjs;
};

static char *owner_key(const json_t *job)
{
	json_t *ref = obj_controller_ref(job);
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!kind || strcmp(kind, "CronJob") || !name)
		return NULL;
	return ctrl_key(obj_meta_str(job, "namespace"), name);
}

static void on_job_event(json_t *job, void *arg)
{
	struct cj_ctrl *cc = arg;
	cleanup_free char *key = owner_key(job);
	if (key)
		workqueue_add(cc->q, key);
}

static void on_job_update(json_t *old_job, json_t *new_job, void *arg)
{
	(void)old_job;
	on_job_event(new_job, arg);
}

static void on_cj_add(json_t *cj, void *arg)
{
	struct cj_ctrl *cc = arg;
	cleanup_free char *key = informer_key(cj);
	if (key)
		workqueue_add(cc->q, key);
}

static void on_cj_update(json_t *old_cj, json_t *new_cj, void *arg)
{
	(void)old_cj;
	on_cj_add(new_cj, arg);
}

static void post(struct cj_ctrl *cc, const json_t *cj, const char *type, const char *reason,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void post(struct cj_ctrl *cc, const json_t *cj, const char *type, const char *reason,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	events_post(cc->c, COMPONENT, "CronJob", "batch/v1", cj, type, reason, "%s", msg);
}

static char *job_path(const char *ns, const char *name)
{
	return xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", ns, name);
}

static json_t *job_ref(const json_t *job)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "Job", "namespace",
			 obj_meta_str(job, "namespace") ?: "", "name", obj_meta_str(job, "name") ?: "",
			 "uid", obj_meta_str(job, "uid") ?: "", "apiVersion", "batch/v1",
			 "resourceVersion", obj_meta_str(job, "resourceVersion") ?: "");
}

static int delete_job(struct cj_ctrl *cc, const json_t *cj, const char *name)
{
	cleanup_free char *path = job_path(obj_meta_str(cj, "namespace"), name);
	cleanup_json json_t *opts = json_pack("{s:s}", "propagationPolicy", "Background");
	cleanup_err struct mk_err *err = NULL;
	if (client_delete(cc->c, path, opts, &err) < 0 && mk_err_code(err) != MK_ENOTFOUND) {
		post(cc, cj, "Warning", "FailedDelete", "Deleted job: %s", mk_err_msg(err));
		return -1;
	}
	post(cc, cj, "Normal", "SuccessfulDelete", "Deleted job %s", name);
	return 0;
}

/* Go's time.RFC1123Z of t in UTC, as upstream's MissSchedule event says it. */
static char *rfc1123z(time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	char b[64];
	strftime(b, sizeof(b), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	return xstrdup(b);
}

static int write_status(struct cj_ctrl *cc, const json_t *cj, json_t *status, struct mk_err **err)
{
	return status_write(cc->c, cj, "batch/v1", "CronJob", "cronjobs", status, NULL, err) < 0 ? -1 : 0;
}

/* Drops from status.active what finished or went missing; notes the last
 * success. */
static void reconcile_active(struct cj_ctrl *cc, const json_t *cj, const json_t *owned,
			     json_t *status)
{
	json_t *active = json_object_get(status, "active");
	json_t *keep = json_array();
	size_t i, j;
	json_t *ref, *job;
	json_array_foreach(active, i, ref)
	{
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		const char *name = json_string_value(json_object_get(ref, "name"));
		json_t *found = NULL;
		json_array_foreach(owned, j, job)
		{
			if (uid && !strcmp(obj_meta_str(job, "uid") ?: "", uid))
				found = job;
		}
		if (!found) {
			/* the informer may lag behind a job just made: ask */
			cleanup_free char *path = job_path(obj_meta_str(cj, "namespace"),
							   name ? name : "");
			cleanup_err struct mk_err *err = NULL;
			cleanup_json json_t *got = client_get(cc->c, path, &err);
			if (!got && mk_err_code(err) == MK_ENOTFOUND) {
				post(cc, cj, "Normal", "MissingJob", "Active job went missing: %s",
				     name ? name : "");
				continue;
			}
			if (got && cronjob_job_finished(got))
				found = got;
			else {
				json_array_append(keep, ref);
				continue;
			}
		}
		const char *fin = cronjob_job_finished(found);
		if (!fin) {
			json_array_append(keep, ref);
			continue;
		}
		post(cc, cj, "Normal", "SawCompletedJob", "Saw completed job: %s, condition: %s",
		     obj_meta_str(found, "name"), fin);
		const char *ct = json_path_str(found, "status.completionTime");
		const char *last = json_string_value(json_object_get(status, "lastSuccessfulTime"));
		if (!strcmp(fin, "Complete") && ct && (!last || strcmp(ct, last) > 0))
			json_object_set_new(status, "lastSuccessfulTime", json_string(ct));
	}
	if (json_array_size(keep))
		json_object_set_new(status, "active", keep);
	else {
		json_decref(keep);
		json_object_del(status, "active");
	}
}

static void cleanup_history(struct cj_ctrl *cc, const json_t *cj, const json_t *owned)
{
	json_t *s = json_path_get(cj, "spec.successfulJobsHistoryLimit");
	json_t *f = json_path_get(cj, "spec.failedJobsHistoryLimit");
	cleanup_json json_t *excess =
		cronjob_history_excess(owned, json_is_integer(s) ? json_integer_value(s) : -1,
				       json_is_integer(f) ? json_integer_value(f) : -1);
	size_t i;
	json_t *job;
	json_array_foreach(excess, i, job) delete_job(cc, cj, obj_meta_str(job, "name"));
}

static bool in_active(const json_t *status, const char *name)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(status, "active"), i, ref)
	{
		const char *n = json_string_value(json_object_get(ref, "name"));
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

static void requeue_next(struct cj_ctrl *cc, const char *key, const struct cron_schedule *s,
			 const struct cron_zone *z, time_t now)
{
	time_t next = cron_schedule_next(s, z, now);
	if (next)
		workqueue_add_after(cc->q, key, (uint64_t)(next - now) * 1000 + 100);
}

/* Starts the Job due now, if any; queues cj for its next activation. */
static int schedule(struct cj_ctrl *cc, const char *key, const json_t *cj, const json_t *owned,
		    json_t *status, const struct cron_schedule *s, const struct cron_zone *z,
		    struct mk_err **err)
{
	json_t *spec = json_object_get(cj, "spec");
	time_t now = time(NULL);
	int missed = 0;
	time_t scheduled = cronjob_most_recent(s, z, cronjob_earliest(cj, now), now, &missed);
	if (missed > 100)
		post(cc, cj, "Warning", "TooManyMissedTimes",
		     "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or "
		     "check clock skew");
	requeue_next(cc, key, s, z, now);
	if (!scheduled)
		return 0;
	json_t *sds = json_object_get(spec, "startingDeadlineSeconds");
	if (json_is_integer(sds) && scheduled + (time_t)json_integer_value(sds) < now) {
		cleanup_free char *when = rfc1123z(scheduled);
		post(cc, cj, "Warning", "MissSchedule", "Missed scheduled time to start a job: %s",
		     when);
		return 0;
	}
	cleanup_free char *name = cronjob_job_name(obj_meta_str(cj, "name"), scheduled);
	if (in_active(status, name))
		return 0;
	size_t i;
	json_t *job;
	json_array_foreach(owned, i, job)
	{
		if (!strcmp(obj_meta_str(job, "name") ?: "", name))
			return 0;
	}
	const char *policy = json_string_value(json_object_get(spec, "concurrencyPolicy")) ?: "Allow";
	if (!strcmp(policy, "Forbid") && json_array_size(json_object_get(status, "active"))) {
		post(cc, cj, "Normal", "JobAlreadyActive",
		     "Not starting job because prior execution is running and concurrency policy "
		     "is Forbid");
		return 0;
	}
	if (!strcmp(policy, "Replace")) {
		json_t *ref;
		json_array_foreach(json_object_get(status, "active"), i, ref)
		{
			const char *jn = json_string_value(json_object_get(ref, "name"));
			if (jn && delete_job(cc, cj, jn) < 0)
				return mk_err_set(err, MK_EIO, "replacing job %s", jn);
		}
		json_object_del(status, "active");
	}
	cleanup_json json_t *want = cronjob_job_from_template(cj, scheduled, z);
	cleanup_free char *coll =
		xasprintf("/apis/batch/v1/namespaces/%s/jobs", obj_meta_str(cj, "namespace"));
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(cc->c, coll, want, &cerr);
	if (!made) {
		if (mk_err_code(cerr) == MK_EEXISTS)
			return 0; /* made before; its events bring it into the list */
		post(cc, cj, "Warning", "FailedCreate", "Error creating job: %s", mk_err_msg(cerr));
		return mk_err_set(err, mk_err_code(cerr), "creating job: %s", mk_err_msg(cerr));
	}
	post(cc, cj, "Normal", "SuccessfulCreate", "Created job %s", name);
	json_t *active = json_object_get(status, "active");
	if (!json_is_array(active)) {
		active = json_array();
		json_object_set_new(status, "active", active);
	}
	json_array_append_new(active, job_ref(made));
	cleanup_free char *last = time_rfc3339(scheduled);
	json_object_set_new(status, "lastScheduleTime", json_string(last));
	return 0;
}

static int sync_cj(const char *key, void *arg, struct mk_err **err)
{
	struct cj_ctrl *cc = arg;
	cleanup_json json_t *cj = informer_get(cc->cjs, key);
	if (!cj)
		return 0;
	const char *ns = obj_meta_str(cj, "namespace");
	const char *uid = obj_meta_str(cj, "uid");
	cleanup_json json_t *owned = json_array();
	cleanup_json json_t *all = informer_list(cc->jobs);
	size_t i;
	json_t *job;
	json_array_foreach(all, i, job)
	{
		json_t *ref = obj_controller_ref(job);
		const char *ruid = json_string_value(json_object_get(ref, "uid"));
		const char *jns = obj_meta_str(job, "namespace");
		if (ruid && uid && !strcmp(ruid, uid) && jns && ns && !strcmp(jns, ns))
			json_array_append(owned, job);
	}
	cleanup_json json_t *status = json_deep_copy(json_object_get(cj, "status"));
	if (!json_is_object(status)) {
		json_decref(status);
		status = json_object();
	}
	reconcile_active(cc, cj, owned, status);
	cleanup_history(cc, cj, owned);
	json_t *spec = json_object_get(cj, "spec");
	bool deleting = json_path_get(cj, "metadata.deletionTimestamp") != NULL;
	bool suspended = json_is_true(json_object_get(spec, "suspend"));
	const char *tz = json_string_value(json_object_get(spec, "timeZone"));
	const char *sched = json_string_value(json_object_get(spec, "schedule"));
	int rc = 0;
	if (!deleting && !suspended) {
		cleanup_err struct mk_err *perr = NULL;
		struct cron_zone *z = cron_zone_load(tz, &perr);
		struct cron_schedule *s = z ? cron_schedule_parse(sched, &perr) : NULL;
		if (!z)
			post(cc, cj, "Warning", "UnknownTimeZone", "invalid timeZone: \"%s\": %s",
			     tz ?: "", mk_err_msg(perr));
		else if (!s)
			post(cc, cj, "Warning", "UnparseableSchedule",
			     "unparseable schedule: \"%s\" : %s", sched ?: "", mk_err_msg(perr));
		else
			rc = schedule(cc, key, cj, owned, status, s, z, err);
		cron_schedule_free(s);
		cron_zone_free(z);
	}
	cleanup_err struct mk_err *serr = NULL;
	if (write_status(cc, cj, status, &serr) < 0 && mk_err_code(serr) != MK_ENOTFOUND && !rc)
		rc = mk_err_set(err, mk_err_code(serr), "updating cronjob status: %s",
				mk_err_msg(serr));
	return rc;
}

int cronjob_controller_start(struct daemon *d, const struct manager_options *o,
			     struct mk_err **err)
{
	struct cj_ctrl *cc = xcalloc(1, sizeof(*cc));
	cc->c = daemon_client_new(d, err);
	if (!cc->c)
		return -1;
	cc->q = workqueue_new();
	struct informer_handlers jh = {.on_add = on_job_event,
				       .on_update = on_job_update,
				       .on_delete = on_job_event,
				       .arg = cc};
	struct informer_handlers ch = {.on_add = on_cj_add, .on_update = on_cj_update, .arg = cc};
	cc->jobs = manager_informer(d, MGR_JOBS, &jh, err);
	cc->cjs = manager_informer(d, MGR_CRONJOBS, &ch, err);
	if (!cc->jobs || !cc->cjs)
		return -1;
	return daemon_workers(d, "cronjob", cc->q, (int)o->concurrent_cronjob, sync_cj, cc, err);
}
