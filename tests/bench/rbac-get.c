/* GET latency of two RBAC servers in one run, for tests/bench/apiserver-rbac.sh.
 *
 * Usage: rbac-get BASE_URL LOADED_URL CA TOKEN N
 * Two libcurl handles over TLS with the same bearer token, each keeping its
 * one connection alive: GETs alternate between them in blocks of 50, so that
 * both see the same machine load, N each after a warm-up of 200. Prints the
 * p50/p99 of each and the ratios LOADED/BASE. Exits 1 when a request fails. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-get.h"

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: rbac-get BASE_URL LOADED_URL CA TOKEN N\n");
		return 2;
	}
	size_t n = (size_t)atol(argv[5]);
	if (n < BENCH_BLOCK)
		n = BENCH_BLOCK;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char auth[512];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[4]);
	struct curl_slist *hdr = curl_slist_append(NULL, auth);
	CURL *hs[2];
	for (int k = 0; k < 2; k++) {
		hs[k] = curl_easy_init();
		curl_easy_setopt(hs[k], CURLOPT_URL, argv[1 + k]);
		curl_easy_setopt(hs[k], CURLOPT_CAINFO, argv[3]);
		curl_easy_setopt(hs[k], CURLOPT_HTTPHEADER, hdr);
	}
	double p50[2], p99[2];
	if (bench_get_pair(hs, "rbac-get", n, p50, p99) < 0)
		return 1;
	printf("%-34s %10s %10s\n", "GET as a RoleBinding's user", "p50 ms", "p99 ms");
	printf("%-34s %10.3f %10.3f\n", "RBAC, no other bindings", p50[0], p99[0]);
	printf("%-34s %10.3f %10.3f\n", "RBAC, 1,000 other RoleBindings", p50[1], p99[1]);
	double r50 = p50[1] / p50[0], r99 = p99[1] / p99[0];
	printf("ratio 1,000 bindings/none: p50 %.2fx, p99 %.2fx (target p50 <= 1.10x: %s); %zu "
	       "GETs each\n",
	       r50, r99, r50 <= 1.10 ? "PASS" : "MISS", n);
	for (int k = 0; k < 2; k++)
		curl_easy_cleanup(hs[k]);
	curl_slist_free_all(hdr);
	curl_global_cleanup();
	return 0;
}
