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

#include "bench-get.h"

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: tls-get PLAIN_URL TLS_URL CA CERT KEY N\n");
		return 2;
	}
	size_t n = (size_t)atol(argv[6]);
	if (n < BENCH_BLOCK)
		n = BENCH_BLOCK;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *plain = curl_easy_init(), *tls = curl_easy_init();
	curl_easy_setopt(plain, CURLOPT_URL, argv[1]);
	curl_easy_setopt(tls, CURLOPT_URL, argv[2]);
	curl_easy_setopt(tls, CURLOPT_CAINFO, argv[3]);
	curl_easy_setopt(tls, CURLOPT_SSLCERT, argv[4]);
	curl_easy_setopt(tls, CURLOPT_SSLKEY, argv[5]);
	CURL *hs[2] = {plain, tls};
	double p50[2], p99[2];
	if (bench_get_pair(hs, "tls-get", n, p50, p99) < 0)
		return 1;
	long conns[2];
	for (int k = 0; k < 2; k++)
		curl_easy_getinfo(hs[k], CURLINFO_NUM_CONNECTS, &conns[k]);
	printf("%-28s %10s %10s\n", "GET (keep-alive)", "p50 ms", "p99 ms");
	printf("%-28s %10.3f %10.3f\n", "plain HTTP", p50[0], p99[0]);
	printf("%-28s %10.3f %10.3f\n", "TLS, client certificate", p50[1], p99[1]);
	double ratio = p99[1] / p99[0];
	printf("ratio TLS/plain: p50 %.2fx, p99 %.2fx (target p99 <= 1.30x: %s); %zu GETs "
	       "each, new connections in the measured part: %ld/%ld\n",
	       p50[1] / p50[0], ratio, ratio <= 1.30 ? "PASS" : "MISS", n, conns[0], conns[1]);
	curl_easy_cleanup(plain);
	curl_easy_cleanup(tls);
	curl_global_cleanup();
	return 0;
}
