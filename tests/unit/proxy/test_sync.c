/* The sync runner's health, as upstream's proxier health server defines it,
 * driven by a backend that fails or succeeds on demand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "proxy/sync.h"

static atomic_bool backend_fails;
static atomic_int backend_calls;

static void *fake_create(void)
{
	return NULL;
}

static void fake_destroy(void *state)
{
	(void)state;
}

static int fake_sync(void *state, const struct proxy_model *m, const struct proxy_config *cfg,
		     const json_t *changed, struct proxy_sync_result *res, struct mk_err **err)
{
	(void)state, (void)m, (void)cfg, (void)changed, (void)res;
	atomic_fetch_add(&backend_calls, 1);
	if (atomic_load(&backend_fails))
		return mk_err_set(err, MK_EIO, "reading table nat: Permission denied");
	return 0;
}

static const struct proxy_backend fake_backend = {
	.name = "fake",
	.create = fake_create,
	.destroy = fake_destroy,
	.sync = fake_sync,
};

#define PERIOD_MS 1000

struct runner {
	struct proxy_config cfg;
	struct proxy_sync s;
	pthread_t th;
};

static void *run(void *arg)
{
	proxy_sync_run(arg);
	return NULL;
}

static void runner_start(struct runner *r)
{
	memset(r, 0, sizeof(*r));
	proxy_config_init(&r->cfg);
	r->cfg.node_name = "n1";
	proxy_sync_init(&r->s, &fake_backend, &r->cfg, 0, PERIOD_MS);
	assert_int_equal(pthread_create(&r->th, NULL, run, &r->s), 0);
}

static void runner_stop(struct runner *r)
{
	proxy_sync_stop(&r->s);
	pthread_join(r->th, NULL);
	proxy_sync_destroy(&r->s);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static bool healthy(struct runner *r)
{
	return proxy_sync_healthy(&r->s, NULL, NULL);
}

/* Polls (every 20 ms, up to ms) until the health is want; the time it
 * took, or -1. */
static int64_t wait_health(struct runner *r, bool want, int64_t ms)
{
	int64_t t0 = proxy_now_ms();
	while (proxy_now_ms() - t0 <= ms) {
		if (healthy(r) == want)
			return proxy_now_ms() - t0;
		sleep_ms(20);
	}
	return -1;
}

static void wait_calls(int n)
{
	for (int i = 0; i < 1000 && atomic_load(&backend_calls) < n; i++)
		sleep_ms(10);
	assert_true(atomic_load(&backend_calls) >= n);
}

/* Every sync failing from the start: healthy while the first change (the
 * initial lists) is younger than 2 sync-periods, then 503, with the last
 * update the runner's start; the first successful sync makes it healthy. */
static void test_failing_syncs_turn_unhealthy(void **state)
{
	(void)state;
	atomic_store(&backend_fails, true);
	atomic_store(&backend_calls, 0);
	struct runner r;
	runner_start(&r);
	double started = 0;
	for (int i = 0; i < 100 && !started; i++) {
		proxy_sync_healthy(&r.s, &started, NULL);
		sleep_ms(10);
	}
	assert_true(started > 0);
	int64_t queued = proxy_now_ms();
	proxy_sync_set_synced(&r.s, true, true);
	wait_calls(1);
	assert_true(r.s.failures >= 1);
	/* failed, but not late yet */
	if (proxy_now_ms() - queued < PERIOD_MS)
		assert_true(healthy(&r));
	int64_t took = wait_health(&r, false, 4 * PERIOD_MS);
	assert_true(took >= 0);
	assert_true(proxy_now_ms() - queued >= 2 * PERIOD_MS);
	double last = 0;
	int64_t last_mono = 0;
	assert_false(proxy_sync_healthy(&r.s, &last, &last_mono));
	assert_true(last == started);
	assert_true(last_mono > 0);
	/* the kernel takes the rules again: the retry writes them */
	atomic_store(&backend_fails, false);
	assert_true(wait_health(&r, true, 3 * PERIOD_MS) >= 0);
	proxy_sync_healthy(&r.s, &last, NULL);
	assert_true(last > started);
	runner_stop(&r);
}

/* As upstream: periodic syncs with nothing queued do not count, failing or
 * not; a change queued then is what must be written in time. */
static void test_only_queued_changes_count(void **state)
{
	(void)state;
	atomic_store(&backend_fails, false);
	atomic_store(&backend_calls, 0);
	struct runner r;
	runner_start(&r);
	proxy_sync_set_synced(&r.s, true, true);
	wait_calls(1);
	assert_true(wait_health(&r, true, PERIOD_MS) >= 0);
	atomic_store(&backend_fails, true);
	int base = atomic_load(&backend_calls);
	/* three failed periodic syncs: more than 2 sync-periods */
	wait_calls(base + 3);
	assert_true(r.s.failures >= 3);
	assert_true(healthy(&r));
	cleanup_json json_t *svc = json_pack(
		"{s:{s:s, s:s}, s:{s:s, s:[{s:i, s:s}]}}", "metadata", "namespace", "default", "name",
		"web", "spec", "clusterIP", "10.96.0.10", "ports", "port", 80, "protocol", "TCP");
	int64_t queued = proxy_now_ms();
	proxy_sync_service(&r.s, svc, false);
	assert_true(wait_health(&r, false, 4 * PERIOD_MS) >= 0);
	assert_true(proxy_now_ms() - queued >= 2 * PERIOD_MS);
	atomic_store(&backend_fails, false);
	assert_true(wait_health(&r, true, 3 * PERIOD_MS) >= 0);
	runner_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failing_syncs_turn_unhealthy),
		cmocka_unit_test(test_only_queued_changes_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
