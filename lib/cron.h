/* CronJob schedules: the standard 5-field cron syntax as upstream's parser
 * (robfig/cron v3 ParseStandard) reads it, with its error texts, and the
 * next activation time in an IANA time zone read from the system's TZif
 * files. Shared by the API server (validation) and the CronJob controller. */
#ifndef MK_CRON_H
#define MK_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

/* A parsed schedule (opaque). */
struct cron_schedule;

/* Parses "m h dom mon dow" (numbers, names jan-dec / sun-sat, "*", "?",
 * ranges "a-b", steps "/n", lists "a,b") or a descriptor (@yearly,
 * @annually, @monthly, @weekly, @daily, @midnight, @hourly, "@every
 * <duration>"). On error: NULL and *err (MK_EINVAL) with upstream's text
 * ("expected exactly 5 fields, found 1: [x]", "end of range (60) above
 * maximum (59): 60", ...). New schedule: cron_schedule_free(). */
struct cron_schedule *cron_schedule_parse(const char *spec, struct mk_err **err);
void cron_schedule_free(struct cron_schedule *s);

/* A time zone: UTC offsets over time. */
struct cron_zone;

/* Loads zone name ("Europe/Berlin", "UTC", "Etc/GMT+5") from the system
 * database (/usr/share/zoneinfo, or $ZONEINFO when set); NULL or "" loads
 * the process's local zone (/etc/localtime, UTC when absent). Refuses
 * "Local", absolute paths and "..". On error: NULL and *err (MK_ENOTFOUND
 * "unknown time zone <name>", MK_EINVAL for a bad file). Transitions after
 * the last one the file lists keep the last offset (the system files list
 * them to 2037). New zone: cron_zone_free(). */
struct cron_zone *cron_zone_load(const char *name, struct mk_err **err);
void cron_zone_free(struct cron_zone *z);
/* The UTC offset in seconds of z at t (z NULL: UTC). */
int32_t cron_zone_offset(const struct cron_zone *z, time_t t);

/* The first activation of s strictly after `after`, in zone z (NULL: UTC),
 * at whole seconds; 0 when there is none within five years (a schedule such
 * as "0 0 30 2 *"). Local times a zone skips are skipped; a repeated local
 * hour fires once, at its first occurrence. */
time_t cron_schedule_next(const struct cron_schedule *s, const struct cron_zone *z, time_t after);

#endif
