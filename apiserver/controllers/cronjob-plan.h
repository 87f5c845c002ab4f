/* The CronJob controller's decisions, free of I/O: which schedule time is
 * due, the Job a schedule time makes, which finished Jobs the history limits
 * drop. */
#ifndef MK_CONTROLLERS_CRONJOB_PLAN_H
#define MK_CONTROLLERS_CRONJOB_PLAN_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#include "cron.h"

/* The time scheduling resumes from for cj (borrowed) at now: its
 * status.lastScheduleTime, else its creationTimestamp, moved up to
 * now - spec.startingDeadlineSeconds when that is later. */
time_t cronjob_earliest(const json_t *cj, time_t now);

/* The latest activation t of s in zone z with earliest < t <= now, or 0 if
 * there is none; *missed (may be NULL) gets how many there are (counting
 * stops past 100, as upstream only tells "too many"). */
time_t cronjob_most_recent(const struct cron_schedule *s, const struct cron_zone *z,
			   time_t earliest, time_t now, int *missed);

/* "<cronjob>-<scheduled time in minutes since the epoch>", upstream's
 * deterministic name, so one schedule time never makes two Jobs. New string. */
char *cronjob_job_name(const char *cronjob_name, time_t scheduled);

/* The Job cj (borrowed) makes for the scheduled time: the job template's
 * labels, annotations and spec, the annotation
 * batch.kubernetes.io/cronjob-scheduled-timestamp (RFC 3339 in zone z), a
 * controller ownerReference to cj. New reference. */
json_t *cronjob_job_from_template(const json_t *cj, time_t scheduled, const struct cron_zone *z);

/* "Complete" or "Failed" when that condition of job is True, else NULL. */
const char *cronjob_job_finished(const json_t *job);

/* Of jobs (array, borrowed), the finished ones to delete so that at most
 * successful_limit Complete and failed_limit Failed ones stay, oldest
 * (status.startTime, then creationTimestamp) first. New array of borrowed
 * references. */
json_t *cronjob_history_excess(const json_t *jobs, long long successful_limit,
			       long long failed_limit);

#endif
