/* workqueue: dedup, dirty-while-processing, delays, rate limiting, shutdown
 * and blocking workers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "timefmt.h"
#include "workqueue.h"
#include "xalloc.h"

static long long ms_since(long long start_ns)
{
	return (time_mono_ns() - start_ns) / 1000000LL;
}

static void test_fifo_and_dedup(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new();
	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/b");
	workqueue_add(q, "ns/a");
	assert_int_equal(workqueue_len(q), 2);
	cleanup_free char *a = workqueue_get(q);
	cleanup_free char *b = workqueue_get(q);
	assert_string_equal(a, "ns/a");
	assert_string_equal(b, "ns/b");
	assert_int_equal(workqueue_len(q), 0);
	workqueue_done(q, a);
	workqueue_done(q, b);
	bool shut = true;
	long long t0 = time_mono_ns();
	assert_null(workqueue_get_timeout(q, 50, &shut));
	assert_false(shut);
	assert_true(ms_since(t0) >= 45);
	workqueue_free(q);
}

static void test_dirty_while_processing(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new();
	workqueue_add(q, "k");
	cleanup_free char *k = workqueue_get(q);
	/* re-added twice while processing: not handed out, queued once after done */
	workqueue_add(q, "k");
	workqueue_add(q, "k");
	assert_int_equal(workqueue_len(q), 0);
	bool shut;
	assert_null(workqueue_get_timeout(q, 10, &shut));
	workqueue_done(q, k);
	assert_int_equal(workqueue_len(q), 1);
	cleanup_free char *again = workqueue_get(q);
	assert_string_equal(again, "k");
	workqueue_done(q, again);
	assert_int_equal(workqueue_len(q), 0);
	workqueue_free(q);
}

static void test_add_after(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new();
	long long t0 = time_mono_ns();
	workqueue_add_after(q, "late", 120);
	workqueue_add_after(q, "soon", 40);
	/* a second add_after of the same key keeps the earliest time */
	workqueue_add_after(q, "late", 3000);
	assert_int_equal(workqueue_len(q), 0);
	cleanup_free char *first = workqueue_get(q);
	long long t1 = ms_since(t0);
	assert_string_equal(first, "soon");
	assert_true(t1 >= 40);
	cleanup_free char *second = workqueue_get(q);
	long long t2 = ms_since(t0);
	assert_string_equal(second, "late");
	assert_true(t2 >= 120 && t2 < 2500);
	workqueue_done(q, first);
	workqueue_done(q, second);
	/* a zero delay is a plain add */
	workqueue_add_after(q, "now", 0);
	assert_int_equal(workqueue_len(q), 1);
	workqueue_free(q);
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new();
	uint64_t want[] = {5, 10, 20, 40, 80};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(workqueue_next_backoff_ms(q, "k"), want[i]);
		workqueue_add_rate_limited(q, "k");
		assert_int_equal(workqueue_num_requeues(q, "k"), i + 1);
	}
	/* capped at 1000 s */
	for (int i = 0; i < 40; i++)
		workqueue_add_rate_limited(q, "k");
	assert_int_equal(workqueue_next_backoff_ms(q, "k"), 1000 * 1000);
	workqueue_forget(q, "k");
	assert_int_equal(workqueue_num_requeues(q, "k"), 0);
	assert_int_equal(workqueue_next_backoff_ms(q, "k"), 5);
	/* the first rate-limited add is ready after about 5 ms */
	long long t0 = time_mono_ns();
	workqueue_add_rate_limited(q, "other");
	cleanup_free char *k = workqueue_get(q);
	assert_string_equal(k, "k");
	assert_true(ms_since(t0) < 1000); /* the earliest delay of "k" (5 ms) won */
	workqueue_free(q);

	q = workqueue_new_with_backoff(20, 50);
	assert_int_equal(workqueue_next_backoff_ms(q, "x"), 20);
	workqueue_add_rate_limited(q, "x");
	assert_int_equal(workqueue_next_backoff_ms(q, "x"), 40);
	workqueue_add_rate_limited(q, "x");
	assert_int_equal(workqueue_next_backoff_ms(q, "x"), 50);
	workqueue_free(q);
}

static void test_overall_bucket(void **state)
{
	(void)state;
	struct workqueue *q = workqueue_new();
	/* 110 different keys fail at once: the burst of 100 goes through after
	 * their own 5 ms, the last 10 are spread at 10 per second, so the last
	 * one is due about a second after the adds (what refilled during the
	 * adding loop aside) */
	char key[32];
	long long t0 = time_mono_ns();
	for (int i = 0; i < 110; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		workqueue_add_rate_limited(q, key);
	}
	long long adding = ms_since(t0);
	long long first100 = 0;
	for (int i = 0; i < 110; i++) {
		cleanup_free char *k = workqueue_get(q);
		workqueue_done(q, k);
		if (i == 99)
			first100 = ms_since(t0);
	}
	long long all = ms_since(t0);
	/* each token refilled while adding saves 100 ms: one per ms of adding */
	assert_true(all >= 900 - adding);
	assert_true(first100 < all);
	workqueue_free(q);

	/* a queue with only the per-key limiter has no overall bucket */
	q = workqueue_new_with_backoff(1, 10);
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		workqueue_add_rate_limited(q, key);
	}
	t0 = time_mono_ns();
	for (int i = 0; i < 300; i++) {
		cleanup_free char *k = workqueue_get(q);
		workqueue_done(q, k);
	}
	assert_true(ms_since(t0) < 1000);
	workqueue_free(q);
}

struct worker_ctx {
	struct workqueue *q;
	atomic_int handled;
	atomic_int handled_drain; /* "key-*" keys, added just before shutdown */
	atomic_int concurrent;	  /* workers inside the same key at once */
	atomic_int max_concurrent;
	atomic_bool exited;
};

static void *worker(void *arg)
{
	struct worker_ctx *w = arg;
	char *key;
	while ((key = workqueue_get(w->q))) {
		int c = atomic_fetch_add(&w->concurrent, 1) + 1;
		int m = atomic_load(&w->max_concurrent);
		while (c > m && !atomic_compare_exchange_weak(&w->max_concurrent, &m, c))
			;
		usleep(2000);
		atomic_fetch_sub(&w->concurrent, 1);
		atomic_fetch_add(&w->handled, 1);
		if (strncmp(key, "key-", 4) == 0)
			atomic_fetch_add(&w->handled_drain, 1);
		workqueue_done(w->q, key);
		free(key);
	}
	atomic_store(&w->exited, true);
	return NULL;
}

static void test_workers_and_shutdown(void **state)
{
	(void)state;
	struct worker_ctx w = {.q = workqueue_new()};
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w), 0);
	/* one key hammered: never processed by two workers at once */
	for (int i = 0; i < 200; i++) {
		workqueue_add(w.q, "hot");
		usleep(100);
	}
	long long t0 = time_mono_ns();
	while (workqueue_len(w.q) > 0 && ms_since(t0) < 5000)
		usleep(1000);
	usleep(20000);
	assert_int_equal(atomic_load(&w.max_concurrent), 1);
	assert_true(atomic_load(&w.handled) >= 1);
	assert_true(atomic_load(&w.handled) <= 200);

	/* shutdown: queued keys still drain, then every worker gets NULL */
	for (int i = 0; i < 20; i++) {
		cleanup_free char *k = xasprintf("key-%d", i);
		workqueue_add(w.q, k);
	}
	workqueue_shutdown(w.q);
	assert_true(workqueue_shutting_down(w.q));
	workqueue_add(w.q, "ignored");
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_true(atomic_load(&w.exited));
	assert_int_equal(atomic_load(&w.handled_drain), 20);
	assert_int_equal(workqueue_len(w.q), 0);
	bool shut = false;
	assert_null(workqueue_get_timeout(w.q, 10, &shut));
	assert_true(shut);
	workqueue_free(w.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_and_dedup),
		cmocka_unit_test(test_dirty_while_processing),
		cmocka_unit_test(test_add_after),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_overall_bucket),
		cmocka_unit_test(test_workers_and_shutdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
