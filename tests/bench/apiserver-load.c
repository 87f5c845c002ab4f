/* Load driver for the kube-apiserver benchmark (tests/bench/apiserver.sh).
 *
 *   apiserver-load create URL NS N THREADS    pod creates: rate, p50, p99
 *   apiserver-load get URL NS N COUNT         GETs of pods p0..pN-1: p50, p99
 *   apiserver-load list URL NS REPEAT         full LISTs of NS: p50, max
 *   apiserver-load watch URL NS WATCHERS N    N creates seen by WATCHERS watches:
 *                                             delivery p50/p99, events/s per watcher
 *   apiserver-load floor DIR N                the same creates as bare SQLite inserts
 *                                             (WAL, synchronous=FULL, one per commit)
 *
 * Pods are created as ld-<tag>-<i>; every line printed is "key value unit". */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static size_t sink(void *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void pod_body(char *out, size_t len, const char *name)
{
	snprintf(out, len,
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"labels\":{\"app\":\"bench\",\"tier\":\"load\"}},\"spec\":{\"containers\":"
		 "[{\"name\":\"c\",\"image\":\"registry.example/bench/app:1.0\",\"ports\":"
		 "[{\"containerPort\":8080}],\"env\":[{\"name\":\"MODE\",\"value\":\"bench\"}],"
		 "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}",
		 name);
}

struct create_ctx {
	const char *url;
	const char *ns;
	const char *tag;
	int from, to;
	double *lat;
	double *created; /* optional: send time of pod i, for watch delivery */
	atomic_int *fail;
};

static void *create_thread(void *arg)
{
	struct create_ctx *c = arg;
	CURL *h = curl_easy_init();
	char url[512], body[2048], name[128];
	snprintf(url, sizeof(url), "%s/api/v1/namespaces/%s/pods", c->url, c->ns);
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	for (int i = c->from; i < c->to; i++) {
		snprintf(name, sizeof(name), "ld-%s-%d", c->tag, i);
		pod_body(body, sizeof(body), name);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		double t0 = now_ms();
		if (c->created)
			__atomic_store(&c->created[i], &t0, __ATOMIC_RELEASE);
		long code = 0;
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 201)
			atomic_fetch_add(c->fail, 1);
		c->lat[i] = now_ms() - t0;
	}
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return NULL;
}

/* Creates pods tag-0..n-1 with threads; returns elapsed ms, fills lat[n]. */
static double run_creates(const char *url, const char *ns, const char *tag, int n, int threads,
			  double *lat, double *created, int *failed)
{
	pthread_t th[64];
	struct create_ctx ctx[64];
	atomic_int fail = 0;
	if (threads > 64)
		threads = 64;
	double t0 = now_ms();
	for (int t = 0; t < threads; t++) {
		ctx[t] = (struct create_ctx){.url = url, .ns = ns, .tag = tag,
					     .from = n * t / threads, .to = n * (t + 1) / threads,
					     .lat = lat, .created = created, .fail = &fail};
		pthread_create(&th[t], NULL, create_thread, &ctx[t]);
	}
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	*failed = atomic_load(&fail);
	return now_ms() - t0;
}

static int cmd_create(const char *url, const char *ns, int n, int threads)
{
	double *lat = calloc((size_t)n, sizeof(double));
	char tag[32];
	snprintf(tag, sizeof(tag), "c%d", threads);
	int failed;
	double ms = run_creates(url, ns, tag, n, threads, lat, NULL, &failed);
	printf("creates_per_s_%dclients %.0f /s\n", threads, n / (ms / 1e3));
	printf("create_p50_%dclients %.2f ms\n", threads, pct(lat, (size_t)n, 0.50));
	printf("create_p99_%dclients %.2f ms\n", threads, pct(lat, (size_t)n, 0.99));
	printf("create_failed_%dclients %d count\n", threads, failed);
	free(lat);
	return failed ? 1 : 0;
}

static int cmd_get(const char *url, const char *ns, const char *tag, int n, int count)
{
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	double *lat = calloc((size_t)count, sizeof(double));
	int failed = 0;
	char u[512];
	for (int i = 0; i < count; i++) {
		snprintf(u, sizeof(u), "%s/api/v1/namespaces/%s/pods/ld-%s-%d", url, ns, tag,
			 rand() % n);
		curl_easy_setopt(h, CURLOPT_URL, u);
		double t0 = now_ms();
		long code = 0;
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
			failed++;
		lat[i] = now_ms() - t0;
	}
	printf("get_p50 %.2f ms\n", pct(lat, (size_t)count, 0.50));
	printf("get_p99 %.2f ms\n", pct(lat, (size_t)count, 0.99));
	printf("get_failed %d count\n", failed);
	free(lat);
	curl_easy_cleanup(h);
	return failed ? 1 : 0;
}

struct counter {
	size_t bytes;
	size_t items;
};

static size_t count_items(void *p, size_t s, size_t n, void *u)
{
	struct counter *c = u;
	const char *d = p;
	size_t len = s * n;
	/* Every stored pod has exactly one "uid" key. */
	for (size_t i = 0; i + 6 <= len; i++)
		if (d[i] == '"' && !memcmp(d + i, "\"uid\":", 6))
			c->items++;
	c->bytes += len;
	return len;
}

static int cmd_list(const char *url, const char *ns, int repeat, const char *label)
{
	CURL *h = curl_easy_init();
	char u[512];
	snprintf(u, sizeof(u), "%s/api/v1/namespaces/%s/pods", url, ns);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_items);
	double lat[64];
	if (repeat > 64)
		repeat = 64;
	size_t items = 0, bytes = 0;
	for (int i = 0; i < repeat; i++) {
		struct counter c = {0};
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
		double t0 = now_ms();
		if (curl_easy_perform(h) != CURLE_OK)
			return 1;
		lat[i] = now_ms() - t0;
		items = c.items;
		bytes = c.bytes;
	}
	printf("list_%s_items %zu count\n", label, items);
	printf("list_%s_bytes %zu bytes\n", label, bytes);
	printf("list_%s_p50 %.1f ms\n", label, pct(lat, (size_t)repeat, 0.5));
	printf("list_%s_max %.1f ms\n", label, lat[repeat - 1]);
	curl_easy_cleanup(h);
	return 0;
}

/* --- watch delivery ---------------------------------------------------------- */

struct watcher {
	const char *url;
	const char *ns;
	int expect;
	double *created; /* shared: creation time of pod i (ms), 0 until sent */
	double *delay;   /* this watcher's delivery delay of pod i */
	int seen;
	double first, last;
	char line[65536];
	size_t len;
	CURL *h;
	atomic_int *ready;
};

static void watcher_line(struct watcher *w)
{
	w->line[w->len] = '\0';
	if (!strstr(w->line, "\"ADDED\""))
		return;
	const char *p = strstr(w->line, "\"name\":\"ld-w-");
	if (!p)
		return;
	int i = atoi(p + strlen("\"name\":\"ld-w-"));
	if (i < 0 || i >= w->expect)
		return;
	double t = now_ms();
	double c;
	__atomic_load(&w->created[i], &c, __ATOMIC_ACQUIRE);
	w->delay[i] = c > 0 ? t - c : 0;
	if (!w->seen)
		w->first = t;
	w->last = t;
	w->seen++;
}

static size_t watcher_data(void *p, size_t s, size_t n, void *u)
{
	struct watcher *w = u;
	const char *d = p;
	size_t len = s * n;
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\n') {
			watcher_line(w);
			w->len = 0;
		} else if (w->len + 1 < sizeof(w->line)) {
			w->line[w->len++] = d[i];
		}
	}
	return w->seen >= w->expect ? 0 : len; /* 0 ends the transfer */
}

static void *watcher_thread(void *arg)
{
	struct watcher *w = arg;
	char u[512];
	snprintf(u, sizeof(u), "%s/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s", w->url,
		 w->ns, getenv("LOAD_WATCH_RV") ? getenv("LOAD_WATCH_RV") : "");
	w->h = curl_easy_init();
	curl_easy_setopt(w->h, CURLOPT_URL, u);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, watcher_data);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->h, CURLOPT_TIMEOUT, 120L);
	atomic_fetch_add(w->ready, 1);
	curl_easy_perform(w->h);
	curl_easy_cleanup(w->h);
	return NULL;
}

static int cmd_watch(const char *url, const char *ns, int watchers, int n)
{
	double *created = calloc((size_t)n, sizeof(double));
	struct watcher *ws = calloc((size_t)watchers, sizeof(*ws));
	pthread_t *th = calloc((size_t)watchers, sizeof(*th));
	atomic_int ready = 0;
	for (int i = 0; i < watchers; i++) {
		ws[i] = (struct watcher){.url = url, .ns = ns, .expect = n, .created = created,
					 .ready = &ready};
		ws[i].delay = calloc((size_t)n, sizeof(double));
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_create(&th[i], &attr, watcher_thread, &ws[i]);
		pthread_attr_destroy(&attr);
	}
	while (atomic_load(&ready) < watchers)
		usleep(10000);
	usleep(500000); /* let every watch reach the server */
	/* Eight senders so that the creation rate is not what limits delivery. */
	double *lat = calloc((size_t)n, sizeof(double));
	int failed;
	double t0 = now_ms();
	run_creates(url, ns, "w", n, 8, lat, created, &failed);
	free(lat);
	double t_sent = now_ms() - t0;
	for (int i = 0; i < watchers; i++)
		pthread_join(th[i], NULL);
	double *all = calloc((size_t)watchers * (size_t)n, sizeof(double));
	size_t k = 0;
	int complete = 0;
	double worst_rate = 1e18;
	for (int i = 0; i < watchers; i++) {
		if (ws[i].seen >= n)
			complete++;
		for (int j = 0; j < n; j++)
			all[k++] = ws[i].delay[j];
		double span = ws[i].last - t0;
		double rate = span > 0 ? ws[i].seen / (span / 1e3) : 0;
		if (rate < worst_rate)
			worst_rate = rate;
	}
	printf("watch_watchers %d count\n", watchers);
	printf("watch_complete_watchers %d count\n", complete);
	printf("watch_events_per_watcher %d count\n", n);
	printf("watch_send_rate %.0f /s\n", n / (t_sent / 1e3));
	printf("watch_delivery_p50 %.2f ms\n", pct(all, k, 0.50));
	printf("watch_delivery_p99 %.2f ms\n", pct(all, k, 0.99));
	printf("watch_events_per_s_slowest_watcher %.0f /s\n", worst_rate);
	return complete == watchers ? 0 : 1;
}

/* --- the floor: bare SQLite inserts --------------------------------------------- */

static int cmd_floor(const char *dir, int n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/floor.db", dir);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
	sqlite3_exec(db,
		     "CREATE TABLE IF NOT EXISTS kv(rev INTEGER PRIMARY KEY, key TEXT UNIQUE, "
		     "value BLOB)",
		     NULL, NULL, NULL);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT INTO kv(key, value) VALUES(?, ?)", -1, &st, NULL);
	double *lat = calloc((size_t)n, sizeof(double));
	char body[2048], name[128];
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "/registry/pods/bench/ld-f-%d", i);
		pod_body(body, sizeof(body), name);
		double s = now_ms();
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return 1;
		sqlite3_reset(st);
		lat[i] = now_ms() - s;
	}
	double ms = now_ms() - t0;
	printf("floor_inserts_per_s %.0f /s\n", n / (ms / 1e3));
	printf("floor_p50 %.3f ms\n", pct(lat, (size_t)n, 0.50));
	printf("floor_p99 %.3f ms\n", pct(lat, (size_t)n, 0.99));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	curl_global_init(CURL_GLOBAL_ALL);
	const char *cmd = argv[1];
	if (!strcmp(cmd, "create") && argc == 6)
		return cmd_create(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(cmd, "get") && argc == 7)
		return cmd_get(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
	if (!strcmp(cmd, "list") && argc == 6)
		return cmd_list(argv[2], argv[3], atoi(argv[4]), argv[5]);
	if (!strcmp(cmd, "watch") && argc == 6)
		return cmd_watch(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(cmd, "floor") && argc == 4)
		return cmd_floor(argv[2], atoi(argv[3]));
usage:
	fprintf(stderr, "usage: apiserver-load create|get|list|watch|floor ...\n");
	return 2;
}
