/* GET latency over TLS against plain HTTP, for tests/bench/apiserver-tls.sh.
 *
 * Usage: tls-get PLAIN_URL TLS_URL CA CERT KEY N
 * Two libcurl handles, each keeping its one connection alive: GETs of the
 * same object alternate between them in blocks of 50, so that both see the
 * same machine load, N each after a warm-up of 200. Prints p50/p99 of each
 * and the ratios TLS/plain. Exits 1 when a request fails. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 50
#define WARMUP 200

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int get(CURL *h, double *ms)
{
	double t0 = now_ms();
	CURLcode rc = curl_easy_perform(h);
	*ms = now_ms() - t0;
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "tls-get: %s: %s (HTTP %ld)\n", "GET", curl_easy_strerror(rc), code);
		return -1;
	}
	return 0;
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: tls-get PLAIN_URL TLS_URL CA CERT KEY N\n");
		return 2;
	}
	size_t n = (size_t)atol(argv[6]);
	if (n < BLOCK)
		n = BLOCK;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *plain = curl_easy_init(), *tls = curl_easy_init();
	curl_easy_setopt(plain, CURLOPT_URL, argv[1]);
	curl_easy_setopt(tls, CURLOPT_URL, argv[2]);
	curl_easy_setopt(tls, CURLOPT_CAINFO, argv[3]);
	curl_easy_setopt(tls, CURLOPT_SSLCERT, argv[4]);
	curl_easy_setopt(tls, CURLOPT_SSLKEY, argv[5]);
	CURL *hs[2] = {plain, tls};
	for (int k = 0; k < 2; k++) {
		curl_easy_setopt(hs[k], CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(hs[k], CURLOPT_TCP_NODELAY, 1L);
	}
	double *lat[2] = {calloc(n, sizeof(double)), calloc(n, sizeof(double))};
	double ms;
	for (int i = 0; i < WARMUP; i++)
		for (int k = 0; k < 2; k++)
			if (get(hs[k], &ms) < 0)
				return 1;
	long conns[2];
	for (size_t done = 0; done < n; done += BLOCK)
		for (int k = 0; k < 2; k++)
			for (size_t i = done; i < done + BLOCK && i < n; i++)
				if (get(hs[k], &lat[k][i]) < 0)
					return 1;
	for (int k = 0; k < 2; k++)
		curl_easy_getinfo(hs[k], CURLINFO_NUM_CONNECTS, &conns[k]);
	double p50[2], p99[2];
	for (int k = 0; k < 2; k++) {
		p50[k] = pct(lat[k], n, 0.50);
		p99[k] = pct(lat[k], n, 0.99);
	}
	printf("%-28s %10s %10s\n", "GET (keep-alive)", "p50 ms", "p99 ms");
	printf("%-28s %10.3f %10.3f\n", "plain HTTP", p50[0], p99[0]);
	printf("%-28s %10.3f %10.3f\n", "TLS, client certificate", p50[1], p99[1]);
	double ratio = p99[1] / p99[0];
	printf("ratio TLS/plain: p50 %.2fx, p99 %.2fx (target p99 <= 1.30x: %s); %zu GETs "
	       "each, new connections in the measured part: %ld/%ld\n",
	       p50[1] / p50[0], ratio, ratio <= 1.30 ? "PASS" : "MISS", n, conns[0], conns[1]);
	curl_easy_cleanup(plain);
	curl_easy_cleanup(tls);
	free(lat[0]);
	free(lat[1]);
	curl_global_cleanup();
	return 0;
}
