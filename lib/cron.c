/* Cron schedules and TZif time zones (see the header). No library here: the
 * C library's zone support (TZ + localtime) is process-global and so unusable
 * from a multi-threaded controller for several zones at once, and the cron
 * libraries packaged for Debian neither parse upstream's syntax nor give its
 * messages. */
#include "cron.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define STAR_BIT (1ULL << 63)

struct cron_schedule {
	/* bit n set: value n allowed; STAR_BIT: the field was "*" or "?" */
	uint64_t minute, hour, dom, month, dow;
	int64_t every; /* @every: seconds between runs, else 0 */
};

struct bounds {
	unsigned min, max;
	const char *const *names; /* index = value - names_base */
	unsigned names_base;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct bounds b_minute = {0, 59, NULL, 0}, b_hour = {0, 23, NULL, 0},
			   b_dom = {1, 31, NULL, 0}, b_month = {1, 12, month_names, 1},
			   b_dow = {0, 6, dow_names, 0};

/* strconv.Atoi with Go's error text. */
static int go_atoi(const char *s, long long *out, struct mk_err **err)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	bool ok = *p != '\0';
	for (const char *q = p; *q; q++)
		ok &= isdigit((unsigned char)*q) != 0;
	if (!ok)
		return mk_err_set(err, MK_EINVAL,
				  "failed to parse int from %s: strconv.Atoi: parsing \"%s\": invalid "
				  "syntax",
				  s, s);
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE || v > INT64_MAX / 2 || v < INT64_MIN / 2)
		return mk_err_set(err, MK_EINVAL,
				  "failed to parse int from %s: strconv.Atoi: parsing \"%s\": value out "
				  "of range",
				  s, s);
	*out = v;
	return 0;
}

/* mustParseInt: a non-negative integer. */
static int parse_uint(const char *s, unsigned long long *out, struct mk_err **err)
{
	long long v = 0;
	if (go_atoi(s, &v, err) < 0)
		return -1;
	if (v < 0)
		return mk_err_set(err, MK_EINVAL, "negative number (%lld) not allowed: %s", v, s);
	*out = (unsigned long long)v;
	return 0;
}

static int parse_int_or_name(const char *s, const struct bounds *b, unsigned long long *out,
			     struct mk_err **err)
{
	for (size_t i = 0; b->names && b->names[i]; i++) {
		if (!strcasecmp(s, b->names[i])) {
			*out = b->names_base + i;
			return 0;
		}
	}
	return parse_uint(s, out, err);
}

/* One comma-separated part: "*", "a", "a-b", each optionally "/step". */
static int parse_range(const char *expr, const struct bounds *b, uint64_t *bits,
		       struct mk_err **err)
{
	cleanup_free char *copy = xstrdup(expr);
	char *slash = strchr(copy, '/');
	char *range = copy, *step_s = NULL;
	if (slash) {
		*slash = '\0';
		step_s = slash + 1;
		if (strchr(step_s, '/'))
			return mk_err_set(err, MK_EINVAL, "too many slashes: %s", expr);
	}
	unsigned long long start = 0, end = 0, step = 1;
	uint64_t extra = 0;
	char *hyphen = strchr(range, '-');
	bool single = hyphen == NULL;
	if (hyphen)
		*hyphen = '\0';
	if (!strcmp(range, "*") || !strcmp(range, "?")) {
		start = b->min;
		end = b->max;
		extra = STAR_BIT;
	} else {
		if (parse_int_or_name(range, b, &start, err) < 0)
			return -1;
		if (!hyphen) {
			end = start;
		} else {
			if (strchr(hyphen + 1, '-'))
				return mk_err_set(err, MK_EINVAL, "too many hyphens: %s", expr);
			if (parse_int_or_name(hyphen + 1, b, &end, err) < 0)
				return -1;
		}
	}
	if (step_s) {
		if (parse_uint(step_s, &step, err) < 0)
			return -1;
		if (single) /* "N/step" means "N-max/step" */
			end = b->max;
		if (step > 1)
			extra = 0;
	}
	if (start < b->min)
		return mk_err_set(err, MK_EINVAL, "beginning of range (%llu) below minimum (%u): %s",
				  start, b->min, expr);
	if (end > b->max)
		return mk_err_set(err, MK_EINVAL, "end of range (%llu) above maximum (%u): %s", end,
				  b->max, expr);
	if (start > end)
		return mk_err_set(err, MK_EINVAL,
				  "beginning of range (%llu) beyond end of range (%llu): %s", start,
				  end, expr);
	if (step == 0)
		return mk_err_set(err, MK_EINVAL, "step of range should be a positive number: %s",
				  expr);
	for (unsigned long long v = start; v <= end; v += step)
		*bits |= 1ULL << v;
	*bits |= extra;
	return 0;
}

static int parse_field(const char *field, const struct bounds *b, uint64_t *bits,
		       struct mk_err **err)
{
	*bits = 0;
	cleanup_free char *copy = xstrdup(field);
	char *save = NULL;
	/* as strings.FieldsFunc(field, ','): empty parts are dropped */
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save))
		if (parse_range(part, b, bits, err) < 0)
			return -1;
	return 0;
}

/* time.ParseDuration, to whole seconds (rounded down), with Go's errors. */
static int parse_go_duration(const char *s, int64_t *secs, struct mk_err **err)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3}, {"ms", 1e6},
		     {"s", 1e9}, {"m", 60e9},  {"h", 3600e9}};
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*secs = 0;
		return 0;
	}
	if (!*p)
		return mk_err_set(err, MK_EINVAL, "time: invalid duration \"%s\"", s);
	double total = 0;
	while (*p) {
		if (!isdigit((unsigned char)*p) && *p != '.')
			return mk_err_set(err, MK_EINVAL, "time: invalid duration \"%s\"", s);
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return mk_err_set(err, MK_EINVAL, "time: invalid duration \"%s\"", s);
		p = end;
		size_t ulen = 0;
		while (p[ulen] && p[ulen] != '.' && !isdigit((unsigned char)p[ulen]))
			ulen++;
		if (!ulen)
			return mk_err_set(err, MK_EINVAL, "time: missing unit in duration \"%s\"", s);
		double mult = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ulen && !strncmp(p, units[i].unit, ulen))
				mult = units[i].ns;
		if (mult == 0)
			return mk_err_set(err, MK_EINVAL, "time: unknown unit \"%.*s\" in duration \"%s\"",
					  (int)ulen, p, s);
		total += v * mult;
		p += ulen;
	}
	if (total > 9.2e18)
		return mk_err_set(err, MK_EINVAL, "time: invalid duration \"%s\"", s);
	*secs = (int64_t)(total / 1e9) * (neg ? -1 : 1);
	return 0;
}

static void set_spec(struct cron_schedule *s, const char *m, const char *h, const char *dom,
		     const char *mon, const char *dow)
{
	parse_field(m, &b_minute, &s->minute, NULL);
	parse_field(h, &b_hour, &s->hour, NULL);
	parse_field(dom, &b_dom, &s->dom, NULL);
	parse_field(mon, &b_month, &s->month, NULL);
	parse_field(dow, &b_dow, &s->dow, NULL);
}

static int parse_descriptor(struct cron_schedule *s, const char *spec, struct mk_err **err)
{
	if (!strcmp(spec, "@yearly") || !strcmp(spec, "@annually"))
		set_spec(s, "0", "0", "1", "1", "*");
	else if (!strcmp(spec, "@monthly"))
		set_spec(s, "0", "0", "1", "*", "*");
	else if (!strcmp(spec, "@weekly"))
		set_spec(s, "0", "0", "*", "*", "0");
	else if (!strcmp(spec, "@daily") || !strcmp(spec, "@midnight"))
		set_spec(s, "0", "0", "*", "*", "*");
	else if (!strcmp(spec, "@hourly"))
		set_spec(s, "0", "*", "*", "*", "*");
	else if (!strncmp(spec, "@every ", 7)) {
		int64_t secs = 0;
		cleanup_err struct mk_err *derr = NULL;
		if (parse_go_duration(spec + 7, &secs, &derr) < 0)
			return mk_err_set(err, MK_EINVAL, "failed to parse duration %s: %s", spec,
					  mk_err_msg(derr));
		s->every = secs < 1 ? 1 : secs; /* as upstream: at least a second */
	} else
		return mk_err_set(err, MK_EINVAL, "unrecognized descriptor: %s", spec);
	return 0;
}

struct cron_schedule *cron_schedule_parse(const char *spec, struct mk_err **err)
{
	if (!spec || !*spec) {
		mk_err_set(err, MK_EINVAL, "empty spec string");
		return NULL;
	}
	struct cron_schedule *s = xcalloc(1, sizeof(*s));
	if (spec[0] == '@') {
		if (parse_descriptor(s, spec, err) < 0) {
			free(s);
			return NULL;
		}
		return s;
	}
	cleanup_free char *copy = xstrdup(spec);
	char *fields[6];
	size_t n = 0, total = 0;
	cleanup_buf struct buf list = BUF_INIT;
	char *save = NULL;
	for (char *f = strtok_r(copy, " \t\n\r\v\f", &save); f;
	     f = strtok_r(NULL, " \t\n\r\v\f", &save)) {
		if (n < 6)
			fields[n++] = f;
		buf_printf(&list, "%s%s", total++ ? " " : "", f);
	}
	if (total != 5) {
		mk_err_set(err, MK_EINVAL, "expected exactly 5 fields, found %zu: [%s]", total,
			   buf_str(&list));
		free(s);
		return NULL;
	}
	if (parse_field(fields[0], &b_minute, &s->minute, err) < 0 ||
	    parse_field(fields[1], &b_hour, &s->hour, err) < 0 ||
	    parse_field(fields[2], &b_dom, &s->dom, err) < 0 ||
	    parse_field(fields[3], &b_month, &s->month, err) < 0 ||
	    parse_field(fields[4], &b_dow, &s->dow, err) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void cron_schedule_free(struct cron_schedule *s)
{
	free(s);
}

/* ---- time zones ---- */

struct cron_zone {
	size_t n;	    /* transitions */
	int64_t *at;	    /* transition times, ascending */
	int32_t *offset;    /* offset from at[i] on */
	int32_t initial;    /* offset before at[0] */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* RFC 8536: the version 2+ body (64-bit times) when present, else version 1. */
static int tzif_parse(struct cron_zone *z, const unsigned char *d, size_t len)
{
	if (len < 44 || memcmp(d, "TZif", 4))
		return -1;
	int version = d[4] ? d[4] - '0' : 1;
	size_t tsize = 4;
	const unsigned char *h = d;
	if (version >= 2) {
		/* skip the version 1 body */
		size_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28),
		       timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
		size_t v1 = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
		if (44 + v1 + 44 > len)
			return -1;
		h = d + 44 + v1;
		if (memcmp(h, "TZif", 4))
			return -1;
		tsize = 8;
	}
	size_t timecnt = be32(h + 32), typecnt = be32(h + 36);
	if (typecnt == 0 || typecnt > 256 || timecnt > 100000)
		return -1;
	const unsigned char *times = h + 44;
	const unsigned char *idx = times + timecnt * tsize;
	const unsigned char *types = idx + timecnt;
	if ((size_t)(types + typecnt * 6 - d) > len)
		return -1;
	z->n = timecnt;
	z->at = xcalloc(timecnt ? timecnt : 1, sizeof(int64_t));
	z->offset = xcalloc(timecnt ? timecnt : 1, sizeof(int32_t));
	z->initial = (int32_t)be32(types);
	for (size_t i = 0; i < timecnt; i++) {
		z->at[i] = tsize == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
		if (idx[i] >= typecnt)
			return -1;
		z->offset[i] = (int32_t)be32(types + idx[i] * 6);
	}
	return 0;
}

static bool zone_name_ok(const char *name)
{
	if (name[0] == '/' || !strcmp(name, "Local"))
		return false;
	cleanup_free char *copy = xstrdup(name);
	char *save = NULL;
	for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (!strcmp(p, ".") || !strcmp(p, "..") || p[0] == '-' || strlen(p) > 14)
			return false;
		for (const char *c = p; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr(".-_+", *c))
				return false;
	}
	return true;
}

struct cron_zone *cron_zone_load(const char *name, struct mk_err **err)
{
	struct cron_zone *z = xcalloc(1, sizeof(*z));
	if (name && (!strcmp(name, "UTC") || !strcmp(name, "")))
		return z;
	cleanup_free char *path = NULL;
	if (!name) {
		path = xstrdup("/etc/localtime");
	} else {
		if (!zone_name_ok(name)) {
			free(z);
			mk_err_set(err, MK_ENOTFOUND, "unknown time zone %s", name);
			return NULL;
		}
		const char *dir = getenv("ZONEINFO");
		path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	}
	size_t len = 0;
	cleanup_err struct mk_err *rerr = NULL;
	/* the largest system zone file is under 4 KiB */
	char *data = fs_read_file(path, 1 << 20, &len, &rerr);
	if (!data) {
		if (!name)
			return z; /* no local zone configured: UTC, as Go's time.Local */
		free(z);
		mk_err_set(err, MK_ENOTFOUND, "unknown time zone %s", name);
		return NULL;
	}
	int rc = tzif_parse(z, (const unsigned char *)data, len);
	free(data);
	if (rc < 0) {
		cron_zone_free(z);
		mk_err_set(err, MK_EINVAL, "unknown time zone %s", name ? name : "Local");
		return NULL;
	}
	return z;
}

void cron_zone_free(struct cron_zone *z)
{
	if (!z)
		return;
	free(z->at);
	free(z->offset);
	free(z);
}

int32_t cron_zone_offset(const struct cron_zone *z, time_t t)
{
	if (!z || z->n == 0)
		return z ? z->initial : 0;
	if (t < z->at[0])
		return z->initial;
	size_t lo = 0, hi = z->n; /* last i with at[i] <= t */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (z->at[mid] <= (int64_t)t)
			lo = mid;
		else
			hi = mid;
	}
	return z->offset[lo];
}

/* ---- next activation ---- */

static bool day_matches(const struct cron_schedule *s, const struct tm *tm)
{
	bool dom = (s->dom >> tm->tm_mday) & 1;
	bool dow = (s->dow >> tm->tm_wday) & 1;
	if ((s->dom & STAR_BIT) || (s->dow & STAR_BIT))
		return dom && dow;
	return dom || dow;
}

/* The earliest instant after `after` whose local time in z is wall, or 0. */
static time_t wall_to_utc(const struct cron_zone *z, time_t wall, time_t after)
{
	int32_t cand[2] = {cron_zone_offset(z, wall - 86400), cron_zone_offset(z, wall + 86400)};
	time_t best = 0;
	for (int i = 0; i < 2; i++) {
		time_t t = wall - cand[i];
		if (cron_zone_offset(z, t) == cand[i] && t > after && (!best || t < best))
			best = t;
	}
	return best;
}

time_t cron_schedule_next(const struct cron_schedule *s, const struct cron_zone *z, time_t after)
{
	if (s->every)
		return after + s->every;
	time_t wall = after + cron_zone_offset(z, after);
	wall = wall - (wall % 60 + 60) % 60 + 60;
	struct tm tm;
	gmtime_r(&wall, &tm);
	int year_limit = tm.tm_year + 5;
	while (tm.tm_year <= year_limit) {
		if (!((s->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!day_matches(s, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!((s->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
		} else if (!((s->minute >> tm.tm_min) & 1)) {
			tm.tm_min++;
			tm.tm_sec = 0;
		} else {
			time_t t = wall_to_utc(z, timegm(&tm), after);
			if (t)
				return t;
			tm.tm_min++; /* a local time the zone skips */
		}
		wall = timegm(&tm); /* normalizes the fields */
		gmtime_r(&wall, &tm);
	}
	return 0;
}
