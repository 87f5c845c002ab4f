/* What the keep-alive GET drivers (tls-get.c, rbac-get.c) share: a body
 * sink, a millisecond clock, one timed GET that must answer 200, and
 * percentiles. Header-only: each driver is built alone by its script. */
#ifndef MK_BENCH_GET_H
#define MK_BENCH_GET_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t bench_sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static double bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One GET on h; its time in *ms. -1 (after a line on stderr naming prog)
 * when it fails or does not answer 200. */
static int bench_get(CURL *h, const char *prog, double *ms)
{
	double t0 = bench_now_ms();
	CURLcode rc = curl_easy_perform(h);
	*ms = bench_now_ms() - t0;
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "%s: GET: %s (HTTP %ld)\n", prog, curl_easy_strerror(rc), code);
		return -1;
	}
	return 0;
}

/* The p-th percentile (0..1) of v; sorts v. */
static double bench_pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), bench_cmp);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

#endif
