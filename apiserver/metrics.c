#include "apiserver/metrics.h"

#include <pthread.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

/* Upstream's buckets for apiserver_request_duration_seconds. */
static const double buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5,
				 2,     3,     4,    5,   6,   8,   10,  15,  20,  30,   45, 60};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	char *verb;
	char *resource;
	int code;
	unsigned long long count;
	struct series *next;
};

struct hist {
	char *verb;
	char *resource;
	unsigned long long bucket[NBUCKETS];
	unsigned long long count;
	double sum;
	struct hist *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct series *series_head;
static struct hist *hist_head;
static long watchers;

void metrics_request_observe(const char *verb, const char *resource, int code, double seconds)
{
	if (!verb)
		verb = "";
	if (!resource)
		resource = "";
	pthread_mutex_lock(&mu);
	struct series *s;
	for (s = series_head; s; s = s->next)
		if (s->code == code && !strcmp(s->verb, verb) && !strcmp(s->resource, resource))
			break;
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->verb = xstrdup(verb);
		s->resource = xstrdup(resource);
		s->code = code;
		s->next = series_head;
		series_head = s;
	}
	s->count++;
	struct hist *h;
	for (h = hist_head; h; h = h->next)
		if (!strcmp(h->verb, verb) && !strcmp(h->resource, resource))
			break;
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->verb = xstrdup(verb);
		h->resource = xstrdup(resource);
		h->next = hist_head;
		hist_head = h;
	}
	for (size_t i = 0; i < NBUCKETS; i++)
		if (seconds <= buckets[i])
			h->bucket[i]++;
	h->count++;
	h->sum += seconds;
	pthread_mutex_unlock(&mu);
}

void metrics_watchers_set(long n)
{
	pthread_mutex_lock(&mu);
	watchers = n;
	pthread_mutex_unlock(&mu);
}

char *metrics_render(void)
{
	struct buf b = BUF_INIT;
	pthread_mutex_lock(&mu);
	buf_append_str(&b, "# HELP apiserver_request_total Counter of apiserver requests broken "
			   "out for each verb, resource and HTTP response code.\n"
			   "# TYPE apiserver_request_total counter\n");
	for (struct series *s = series_head; s; s = s->next)
		buf_printf(&b, "apiserver_request_total{code=\"%d\",resource=\"%s\",verb=\"%s\"} %llu\n",
			   s->code, s->resource, s->verb, s->count);
	buf_append_str(&b, "# HELP apiserver_request_duration_seconds Response latency "
			   "distribution in seconds for each verb and resource.\n"
			   "# TYPE apiserver_request_duration_seconds histogram\n");
	for (struct hist *h = hist_head; h; h = h->next) {
		for (size_t i = 0; i < NBUCKETS; i++)
			buf_printf(&b,
				   "apiserver_request_duration_seconds_bucket{resource=\"%s\","
				   "verb=\"%s\",le=\"%g\"} %llu\n",
				   h->resource, h->verb, buckets[i], h->bucket[i]);
		buf_printf(&b,
			   "apiserver_request_duration_seconds_bucket{resource=\"%s\",verb=\"%s\","
			   "le=\"+Inf\"} %llu\n",
			   h->resource, h->verb, h->count);
		buf_printf(&b,
			   "apiserver_request_duration_seconds_sum{resource=\"%s\",verb=\"%s\"} %.6f\n",
			   h->resource, h->verb, h->sum);
		buf_printf(&b,
			   "apiserver_request_duration_seconds_count{resource=\"%s\",verb=\"%s\"} "
			   "%llu\n",
			   h->resource, h->verb, h->count);
	}
	buf_printf(&b, "# HELP apiserver_longrunning_requests Number of open watch streams.\n"
		       "# TYPE apiserver_longrunning_requests gauge\n"
		       "apiserver_longrunning_requests{verb=\"WATCH\"} %ld\n",
		   watchers);
	pthread_mutex_unlock(&mu);
	return buf_steal(&b);
}
