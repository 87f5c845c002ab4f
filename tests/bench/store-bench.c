/* Store benchmark: the SQLite commit floor next to the store's create/update
 * latencies, group commit under concurrency, list times and memory.
 * Usage: store-bench DIR (an empty directory it may fill). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "apiserver/store-internal.h"
#include "apiserver/store.h"
#include "xalloc.h"

#define N_SEQ 1000
#define N_PODS 10000
#define THREADS 8
#define PER_THREAD 250

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

struct stats {
	double p50, p99, max;
};

static struct stats summarize(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct stats){.p50 = v[n / 2], .p99 = v[n * 99 / 100], .max = v[n - 1]};
}

static void report(const char *what, struct stats s)
{
	printf("%-44s p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n", what, s.p50, s.p99, s.max);
}

/* A pod-sized value (~2 KB). */
static char *pod_value(int i)
{
	char pad[1800];
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%d\","
			 "\"namespace\":\"bench\"},\"spec\":{\"pad\":\"%s\"}}",
			 i, pad);
}

static void die(const char *what, struct mk_err *err)
{
	fprintf(stderr, "store-bench: %s: %s\n", what, mk_err_msg(err));
	exit(1);
}

/* Bare SQLite: one-row insert per autocommit transaction, WAL, FULL, no
 * autocheckpoint: the floor of one durable commit on this disk. */
static struct stats sqlite_floor(const char *dir)
{
	char *path = xasprintf("%s/floor.db", dir);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v TEXT)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "store-bench: floor: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db, "INSERT INTO t (k, v) VALUES (?1, ?2)", -1, &q, NULL);
	double *lat = xcalloc(N_SEQ, sizeof(double));
	for (int i = 0; i < N_SEQ; i++) {
		char *v = pod_value(i);
		double t0 = now_ms();
		sqlite3_bind_int(q, 1, i);
		sqlite3_bind_text(q, 2, v, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			fprintf(stderr, "store-bench: floor insert: %s\n", sqlite3_errmsg(db));
			exit(1);
		}
		sqlite3_reset(q);
		lat[i] = now_ms() - t0;
		free(v);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	struct stats s = summarize(lat, N_SEQ);
	free(lat);
	free(path);
	return s;
}

struct thread_arg {
	struct store *st;
	int id;
	double *lat;
};

static void *creator(void *arg)
{
	struct thread_arg *a = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char *key = xasprintf("/registry/configmaps/t%d/c%d", a->id, i);
		char *v = pod_value(i);
		struct mk_err *err = NULL;
		double t0 = now_ms();
		if (store_create(a->st, key, v, &err) < 0)
			die("concurrent create", err);
		a->lat[i] = now_ms() - t0;
		free(key);
		free(v);
	}
	return NULL;
}

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0)
			kb = atol(line + n + 1);
	if (f)
		fclose(f);
	return kb;
}

static double list_ms(struct store *st, const char *prefix, int64_t at_rev, size_t *n)
{
	struct store_list l = {0};
	struct mk_err *err = NULL;
	double t0 = now_ms();
	if (store_list(st, prefix, NULL, 0, at_rev, &l, &err) < 0)
		die("list", err);
	double t = now_ms() - t0;
	*n = l.n;
	store_list_free(&l);
	return t;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: store-bench DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	struct stats floor = sqlite_floor(dir);
	report("sqlite floor: insert, WAL FULL, 2 KB", floor);

	struct mk_err *err = NULL;
	struct store *st = store_sqlite_open(dir, &err);
	if (!st)
		die("open", err);
	double *lat = xcalloc(N_PODS, sizeof(double));
	for (int i = 0; i < N_SEQ; i++) {
		char *key = xasprintf("/registry/pods/bench/p%05d", i);
		char *v = pod_value(i);
		double t0 = now_ms();
		if (store_create(st, key, v, &err) < 0)
			die("create", err);
		lat[i] = now_ms() - t0;
		free(key);
		free(v);
	}
	struct stats create = summarize(lat, N_SEQ);
	report("store create, sequential", create);
	for (int i = 0; i < N_SEQ; i++) {
		char *key = xasprintf("/registry/pods/bench/p%05d", i);
		char *v = pod_value(i + 1);
		struct store_kv kv;
		if (store_get(st, key, &kv, &err) < 0)
			die("get", err);
		double t0 = now_ms();
		if (store_update(st, key, v, kv.mod_rev, NULL, &err) < 0)
			die("update", err);
		lat[i] = now_ms() - t0;
		store_kv_free(&kv);
		free(key);
		free(v);
	}
	report("store update (CAS), sequential", summarize(lat, N_SEQ));
	printf("ratio create/floor: p50 %.2f  p99 %.2f\n", create.p50 / floor.p50,
	       create.p99 / floor.p99);

	pthread_t th[THREADS];
	struct thread_arg args[THREADS];
	uint64_t commits0 = store_sqlite_commits(st);
	double t0 = now_ms();
	for (int t = 0; t < THREADS; t++) {
		args[t] = (struct thread_arg){.st = st, .id = t, .lat = lat + t * PER_THREAD};
		pthread_create(&th[t], NULL, creator, &args[t]);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	double wall = now_ms() - t0;
	uint64_t commits = store_sqlite_commits(st) - commits0;
	char what[80];
	snprintf(what, sizeof(what), "store create, %d threads", THREADS);
	report(what, summarize(lat, THREADS * PER_THREAD));
	printf("  %d creates in %.0f ms = %.0f/s, %llu commits (%.1f writes per commit)\n",
	       THREADS * PER_THREAD, wall, THREADS * PER_THREAD / wall * 1e3,
	       (unsigned long long)commits, (double)(THREADS * PER_THREAD) / (double)commits);

	for (int i = N_SEQ; i < N_PODS; i++) {
		char *key = xasprintf("/registry/pods/bench/p%05d", i);
		char *v = pod_value(i);
		if (store_create(st, key, v, &err) < 0)
			die("create", err);
		free(key);
		free(v);
	}
	size_t n;
	int64_t rev = store_current_rev(st);
	double t = list_ms(st, "/registry/pods/bench/", 0, &n);
	printf("list %zu pods at the current revision (first): %.1f ms\n", n, t);
	t = list_ms(st, "/registry/pods/bench/", 0, &n);
	printf("list %zu pods at the current revision (again): %.1f ms\n", n, t);
	/* a list of 3,000 (one namespace's worth) */
	struct store_list l = {0};
	t0 = now_ms();
	if (store_list(st, "/registry/pods/bench/", NULL, 3000, 0, &l, &err) < 0)
		die("list", err);
	printf("list 3000 pods (limit) at the current revision: %.1f ms\n", now_ms() - t0);
	store_list_free(&l);
	for (int i = 0; i < 100; i++) {
		char *key = xasprintf("/registry/pods/bench/p%05d", i);
		char *v = pod_value(i + 2);
		if (store_update(st, key, v, 0, NULL, &err) < 0)
			die("update", err);
		free(key);
		free(v);
	}
	t0 = now_ms();
	if (store_list(st, "/registry/pods/bench/", NULL, 3000, rev, &l, &err) < 0)
		die("list", err);
	printf("list 3000 pods (limit) at an older revision: %.1f ms\n", now_ms() - t0);
	store_list_free(&l);
	t = list_ms(st, "/registry/pods/bench/", rev, &n);
	printf("list %zu pods at an older revision: %.1f ms\n", n, t);
	printf("RSS with %d pods stored: %ld kB (peak %ld kB)\n", N_PODS, status_kb("VmRSS"),
	       status_kb("VmHWM"));
	t0 = now_ms();
	if (store_compact(st, store_current_rev(st), &err) < 0)
		die("compact", err);
	printf("compact %lld revisions: %.1f ms\n", (long long)store_current_rev(st),
	       now_ms() - t0);
	store_close(st);
	free(lat);
	return 0;
}
