/* What the keep-alive GET drivers (tls-get.c, rbac-get.c) share: a body
 * sink, a millisecond clock, one timed GET that must answer 200,
 * percentiles, and the interleaved measurement of two handles. Header-only: each driver is built alone by its script. */
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

#define BENCH_BLOCK  50
#define BENCH_WARMUP 200

/* GETs on hs[0] and hs[1] (each keeping its one connection alive) in
 * alternating blocks of BENCH_BLOCK, so that both see the same machine load:
 * n each after BENCH_WARMUP each. Their p50/p99 in ms into p50[k]/p99[k].
 * -1 when a request fails. */
static int bench_get_pair(CURL *hs[2], const char *prog, size_t n, double p50[2],
			  double p99[2])
{
	double *lat[2] = {calloc(n, sizeof(double)), calloc(n, sizeof(double))};
	double ms;
	int rc = -1;
	for (int k = 0; k < 2; k++) {
		curl_easy_setopt(hs[k], CURLOPT_WRITEFUNCTION, bench_sink);
		curl_easy_setopt(hs[k], CURLOPT_TCP_NODELAY, 1L);
	}
	if (!lat[0] || !lat[1])
		goto out;
	for (int i = 0; i < BENCH_WARMUP; i++)
		for (int k = 0; k < 2; k++)
			if (bench_get(hs[k], prog, &ms) < 0)
				goto out;
	for (size_t done = 0; done < n; done += BENCH_BLOCK)
		for (int k = 0; k < 2; k++)
			for (size_t i = done; i < done + BENCH_BLOCK && i < n; i++)
				if (bench_get(hs[k], prog, &lat[k][i]) < 0)
					goto out;
	for (int k = 0; k < 2; k++) {
		p50[k] = bench_pct(lat[k], n, 0.50);
		p99[k] = bench_pct(lat[k], n, 0.99);
	}
	rc = 0;
out:
	free(lat[0]);
	free(lat[1]);
	return rc;
}

#endif
