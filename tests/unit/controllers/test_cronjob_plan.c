/* The CronJob controller's decisions: the due schedule time after an
 * outage or within a starting deadline, job names, the Job a template makes,
 * the finished Jobs the history limits drop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/controllers/cronjob-plan.h"
#include "cleanup.h"
#include "json.h"
#include "timefmt.h"

static time_t at(const char *rfc3339)
{
	time_t t;
	assert_int_equal(time_parse_rfc3339(rfc3339, &t, NULL), 0);
	return t;
}

static void test_most_recent(void **state)
{
	(void)state;
	struct cron_schedule *s = cron_schedule_parse("*/5 * * * *", NULL);
	int missed = -1;
	/* three times missed: the latest runs, as upstream */
	time_t t = cronjob_most_recent(s, NULL, at("2026-12-07T10:01:00Z"),
				       at("2026-12-07T10:17:30Z"), &missed);
	assert_int_equal(t, at("2026-12-07T10:15:00Z"));
	assert_int_equal(missed, 3);
	/* a time equal to earliest was run already */
	t = cronjob_most_recent(s, NULL, at("2026-12-07T10:15:00Z"), at("2026-12-07T10:19:59Z"),
				&missed);
	assert_int_equal(t, 0);
	assert_int_equal(missed, 0);
	/* now exactly on a schedule time: due */
	t = cronjob_most_recent(s, NULL, at("2026-12-07T10:15:00Z"), at("2026-12-07T10:20:00Z"),
				NULL);
	assert_int_equal(t, at("2026-12-07T10:20:00Z"));
	/* a week of minutes: counting stops past 100 */
	cron_schedule_free(s);
	s = cron_schedule_parse("* * * * *", NULL);
	t = cronjob_most_recent(s, NULL, at("2026-12-01T00:00:00Z"), at("2026-12-07T10:17:30Z"),
				&missed);
	assert_int_equal(t, at("2026-12-07T10:17:00Z"));
	assert_int_equal(missed, 101);
	cron_schedule_free(s);
}

static void test_earliest(void **state)
{
	(void)state;
	cleanup_json json_t *cj = json_pack(
		"{s:{s:s}, s:{}, s:{}}", "metadata", "creationTimestamp", "2026-12-07T09:00:00Z",
		"spec", "status");
	time_t now = at("2026-12-07T10:00:00Z");
	assert_int_equal(cronjob_earliest(cj, now), at("2026-12-07T09:00:00Z"));
	json_path_set(cj, "status.lastScheduleTime", json_string("2026-12-07T09:30:00Z"));
	assert_int_equal(cronjob_earliest(cj, now), at("2026-12-07T09:30:00Z"));
	/* startingDeadlineSeconds: nothing older than that is considered */
	json_path_set(cj, "spec.startingDeadlineSeconds", json_integer(200));
	assert_int_equal(cronjob_earliest(cj, now), now - 200);
	json_path_set(cj, "spec.startingDeadlineSeconds", json_integer(7200));
	assert_int_equal(cronjob_earliest(cj, now), at("2026-12-07T09:30:00Z"));
}

static void test_job_from_template(void **state)
{
	(void)state;
	cleanup_free char *name = cronjob_job_name("backup", at("2026-12-07T10:15:00Z"));
	assert_string_equal(name, "backup-29943975");
	cleanup_json json_t *cj = json_pack(
		"{s:{s:s, s:s, s:s}, s:{s:{s:{s:{s:s}, s:{s:s}}, s:{s:i}}}}", "metadata", "name",
		"backup", "namespace", "ops", "uid", "u-1", "spec", "jobTemplate", "metadata",
		"labels", "app", "b", "annotations", "a", "1", "spec", "backoffLimit", 2);
	struct cron_zone *z = cron_zone_load("Europe/Berlin", NULL);
	assert_non_null(z);
	cleanup_json json_t *job = cronjob_job_from_template(cj, at("2026-12-07T10:15:00Z"), z);
	cron_zone_free(z);
	assert_string_equal(json_path_str(job, "metadata.name"), "backup-29943975");
	assert_string_equal(json_path_str(job, "metadata.namespace"), "ops");
	assert_string_equal(json_path_str(job, "metadata.labels.app"), "b");
	json_t *ann = json_path_get(job, "metadata.annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "a")), "1");
	assert_string_equal(json_string_value(json_object_get(
				    ann, "batch.kubernetes.io/cronjob-scheduled-timestamp")),
			    "2026-12-07T11:15:00+01:00");
	assert_string_equal(json_path_str(job, "metadata.ownerReferences.0.kind"), "CronJob");
	assert_string_equal(json_path_str(job, "metadata.ownerReferences.0.uid"), "u-1");
	assert_true(json_is_true(json_path_get(job, "metadata.ownerReferences.0.controller")));
	assert_int_equal(json_integer_value(json_path_get(job, "spec.backoffLimit")), 2);
}

static json_t *finished(const char *name, const char *cond, const char *start)
{
	return json_pack("{s:{s:s}, s:{s:s, s:[{s:s, s:s}]}}", "metadata", "name", name, "status",
			 "startTime", start, "conditions", "type", cond, "status", "True");
}

static void test_history_excess(void **state)
{
	(void)state;
	cleanup_json json_t *jobs = json_array();
	json_array_append_new(jobs, finished("c3", "Complete", "2026-12-07T10:03:00Z"));
	json_array_append_new(jobs, finished("c1", "Complete", "2026-12-07T10:01:00Z"));
	json_array_append_new(jobs, finished("f1", "Failed", "2026-12-07T10:01:30Z"));
	json_array_append_new(jobs, finished("c2", "Complete", "2026-12-07T10:02:00Z"));
	json_array_append_new(jobs, finished("f2", "Failed", "2026-12-07T10:02:30Z"));
	json_array_append_new(jobs, json_pack("{s:{s:s}}", "metadata", "name", "running"));
	cleanup_json json_t *drop = cronjob_history_excess(jobs, 1, 1);
	assert_int_equal(json_array_size(drop), 3);
	assert_string_equal(json_path_str(json_array_get(drop, 0), "metadata.name"), "c1");
	assert_string_equal(json_path_str(json_array_get(drop, 1), "metadata.name"), "c2");
	assert_string_equal(json_path_str(json_array_get(drop, 2), "metadata.name"), "f1");
	cleanup_json json_t *none = cronjob_history_excess(jobs, -1, 5);
	assert_int_equal(json_array_size(none), 0);
	assert_null(cronjob_job_finished(json_array_get(jobs, 5)));
	assert_string_equal(cronjob_job_finished(json_array_get(jobs, 2)), "Failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_most_recent),
		cmocka_unit_test(test_earliest),
		cmocka_unit_test(test_job_from_template),
		cmocka_unit_test(test_history_excess),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
