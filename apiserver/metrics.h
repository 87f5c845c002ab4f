/* Prometheus metrics of the API server: requests by verb, resource and code,
 * and the request latency histogram, in the text exposition format. */
#ifndef MK_APISERVER_METRICS_H
#define MK_APISERVER_METRICS_H

/* Records one request. verb/resource/code as upstream labels them ("LIST",
 * "pods", 200); seconds its duration. Thread-safe. */
void metrics_request_observe(const char *verb, const char *resource, int code, double seconds);

/* Sets the gauge of open watch streams. */
void metrics_watchers_set(long n);

/* The whole exposition text. New string, free(). */
char *metrics_render(void);

#endif
