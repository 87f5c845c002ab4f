#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

char *time_rfc3339(time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *time_rfc3339_micro(const struct timespec *ts)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000);
}

char *time_now_rfc3339(void)
{
	return time_rfc3339(time(NULL));
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int time_parse_rfc3339(const char *s, time_t *out, struct mk_err **err)
{
	const char *p = s;
	int y, mo, d, h, mi, se;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ') || !*p++ ||
	    digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &se))
		return mk_err_set(err, MK_EINVAL, "invalid RFC 3339 time %s", s);
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return mk_err_set(err, MK_EINVAL, "invalid RFC 3339 time %s", s);
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return mk_err_set(err, MK_EINVAL, "invalid RFC 3339 time %s", s);
		off = sign * (oh * 3600L + om * 60L);
	} else {
		return mk_err_set(err, MK_EINVAL, "invalid RFC 3339 time %s", s);
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return mk_err_set(err, MK_EINVAL, "invalid RFC 3339 time %s", s);
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = mi, .tm_sec = se};
	*out = timegm(&tm) - off;
	return 0;
}

char *time_human_duration(time_t then, time_t now, char *out, size_t len)
{
	long long s = (long long)now - (long long)then;
	if (then == 0) {
		snprintf(out, len, "<unknown>");
		return out;
	}
	if (s < -1) {
		snprintf(out, len, "<invalid>");
		return out;
	}
	if (s < 0)
		s = 0;
	long long m = s / 60, h = s / 3600, d = h / 24, yr = d / 365;
	if (s < 120)
		snprintf(out, len, "%llds", s);
	else if (m < 10)
		s % 60 ? snprintf(out, len, "%lldm%llds", m, s % 60) : snprintf(out, len, "%lldm", m);
	else if (h < 3)
		snprintf(out, len, "%lldm", m);
	else if (h < 8)
		m % 60 ? snprintf(out, len, "%lldh%lldm", h, m % 60) : snprintf(out, len, "%lldh", h);
	else if (h < 48)
		snprintf(out, len, "%lldh", h);
	else if (h < 192)
		h % 24 ? snprintf(out, len, "%lldd%lldh", d, h % 24) : snprintf(out, len, "%lldd", d);
	else if (yr < 2)
		snprintf(out, len, "%lldd", d);
	else if (yr < 8)
		d % 365 ? snprintf(out, len, "%lldy%lldd", yr, d % 365) : snprintf(out, len, "%lldy", yr);
	else
		snprintf(out, len, "%lldy", yr);
	return out;
}

long long time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
