/* RFC 3339 timestamps as Kubernetes writes them, and upstream's human ages. */
#ifndef MK_TIMEFMT_H
#define MK_TIMEFMT_H

#include <stddef.h>
#include <time.h>

#include "err.h"

/* "2026-11-23T06:40:17Z" for t (UTC, seconds). Returns a new string; free(). */
char *time_rfc3339(time_t t);
/* "2026-11-23T06:40:17.589054Z" (MicroTime). Returns a new string; free(). */
char *time_rfc3339_micro(const struct timespec *ts);
/* Current time as time_rfc3339(). Returns a new string; free(). */
char *time_now_rfc3339(void);
/* Parses RFC 3339 with optional fraction and Z or +hh:mm offset. */
int time_parse_rfc3339(const char *s, time_t *out, struct mk_err **err);
/* Upstream's HumanDuration of (now - then): "5s", "3m2s", "7h", "12d", "<invalid>"...
 * Writes into out (at least 16 bytes); returns out. */
char *time_human_duration(time_t then, time_t now, char *out, size_t len);
/* Monotonic clock in nanoseconds, for latency measurements. */
long long time_mono_ns(void);

#endif
