/* Work queue: a FIFO of keys plus the dirty/processing sets of client-go's
 * queue, a list of delayed keys and per-key failure counts. Sets and counts
 * are jansson objects used as string-keyed hash tables. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "timefmt.h"
#include "workqueue.h"
#include "xalloc.h"

#define WORKQUEUE_DEFAULT_BASE_MS 5
#define WORKQUEUE_DEFAULT_MAX_MS  (1000 * 1000)
#define WORKQUEUE_BUCKET_QPS	  10.0
#define WORKQUEUE_BUCKET_BURST	  100.0

struct delayed {
	char *key;
	long long at_ns; /* CLOCK_MONOTONIC */
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled on add, done-requeue and shutdown */
	char **fifo;
	size_t head, tail, cap;
	json_t *dirty;	    /* keys that need processing (queued or re-added) */
	json_t *processing; /* keys handed out and not done */
	json_t *failures;   /* key -> failure count */
	struct delayed *delayed;
	size_t ndelayed, capdelayed;
	uint64_t base_ms, max_ms;
	/* token bucket over all rate-limited adds; qps 0: none */
	double bucket_qps, bucket_burst, tokens;
	long long tokens_at_ns;
	bool shutting_down;
};

struct workqueue *workqueue_new_with_backoff(uint64_t base_ms, uint64_t max_ms)
{
	struct workqueue *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t attr;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	q->dirty = json_object();
	q->processing = json_object();
	q->failures = json_object();
	if (!q->dirty || !q->processing || !q->failures)
		abort();
	q->base_ms = base_ms ? base_ms : 1;
	q->max_ms = max_ms < q->base_ms ? q->base_ms : max_ms;
	return q;
}

struct workqueue *workqueue_new(void)
{
	struct workqueue *q =
		workqueue_new_with_backoff(WORKQUEUE_DEFAULT_BASE_MS, WORKQUEUE_DEFAULT_MAX_MS);
	q->bucket_qps = WORKQUEUE_BUCKET_QPS;
	q->bucket_burst = WORKQUEUE_BUCKET_BURST;
	q->tokens = WORKQUEUE_BUCKET_BURST;
	q->tokens_at_ns = time_mono_ns();
	return q;
}

/* Takes a token, going into debt when none is left (as a reservation on
 * Go's rate.Limiter does); returns how long the caller must wait, in ms. */
static uint64_t bucket_reserve_locked(struct workqueue *q)
{
	if (q->bucket_qps <= 0)
		return 0;
	long long now = time_mono_ns();
	q->tokens += (double)(now - q->tokens_at_ns) / 1e9 * q->bucket_qps;
	if (q->tokens > q->bucket_burst)
		q->tokens = q->bucket_burst;
	q->tokens_at_ns = now;
	q->tokens -= 1;
	if (q->tokens >= 0)
		return 0;
	return (uint64_t)(-q->tokens / q->bucket_qps * 1000.0 + 0.999);
}

static bool set_has(json_t *set, const char *key)
{
	return json_object_get(set, key) != NULL;
}

static void set_add(json_t *set, const char *key)
{
	if (json_object_set_new_nocheck(set, key, json_true()) < 0)
		abort();
}

static void fifo_push(struct workqueue *q, const char *key)
{
	if (q->tail == q->cap) {
		if (q->head > 0) {
			memmove(q->fifo, q->fifo + q->head, (q->tail - q->head) * sizeof(char *));
			q->tail -= q->head;
			q->head = 0;
		}
		if (q->tail == q->cap) {
			q->cap = q->cap ? q->cap * 2 : 16;
			q->fifo = xrealloc(q->fifo, q->cap * sizeof(char *));
		}
	}
	q->fifo[q->tail++] = xstrdup(key);
}

/* client-go's Add, with the lock held. */
static void add_locked(struct workqueue *q, const char *key)
{
	if (q->shutting_down || set_has(q->dirty, key))
		return;
	set_add(q->dirty, key);
	if (set_has(q->processing, key))
		return;
	fifo_push(q, key);
	pthread_cond_signal(&q->cond);
}

void workqueue_add(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	add_locked(q, key);
	pthread_mutex_unlock(&q->lock);
}

/* Moves delayed keys whose time has come into the queue; returns the time
 * of the next delayed key or 0 if none. */
static long long promote_locked(struct workqueue *q)
{
	long long now = time_mono_ns(), next = 0;
	size_t i = 0;
	while (i < q->ndelayed) {
		struct delayed *d = &q->delayed[i];
		if (d->at_ns <= now) {
			add_locked(q, d->key);
			free(d->key);
			*d = q->delayed[--q->ndelayed];
			continue;
		}
		if (next == 0 || d->at_ns < next)
			next = d->at_ns;
		i++;
	}
	return next;
}

void workqueue_add_after(struct workqueue *q, const char *key, uint64_t delay_ms)
{
	pthread_mutex_lock(&q->lock);
	if (q->shutting_down)
		goto out;
	if (delay_ms == 0) {
		add_locked(q, key);
		goto out;
	}
	long long at = time_mono_ns() + (long long)delay_ms * 1000000LL;
	for (size_t i = 0; i < q->ndelayed; i++) {
		if (strcmp(q->delayed[i].key, key) == 0) {
			if (at < q->delayed[i].at_ns)
				q->delayed[i].at_ns = at;
			goto wake;
		}
	}
	if (q->ndelayed == q->capdelayed) {
		q->capdelayed = q->capdelayed ? q->capdelayed * 2 : 8;
		q->delayed = xrealloc(q->delayed, q->capdelayed * sizeof(*q->delayed));
	}
	q->delayed[q->ndelayed++] = (struct delayed){.key = xstrdup(key), .at_ns = at};
wake:
	/* A waiting worker may need to sleep less now. */
	pthread_cond_broadcast(&q->cond);
out:
	pthread_mutex_unlock(&q->lock);
}

static uint64_t backoff_locked(struct workqueue *q, const char *key, unsigned failures)
{
	(void)key;
	uint64_t d = q->base_ms;
	for (unsigned i = 0; i < failures && d < q->max_ms; i++)
		d *= 2;
	return d > q->max_ms ? q->max_ms : d;
}

static unsigned failures_locked(struct workqueue *q, const char *key)
{
	return (unsigned)json_integer_value(json_object_get(q->failures, key));
}

void workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	unsigned n = failures_locked(q, key);
	uint64_t delay = backoff_locked(q, key, n);
	uint64_t overall = bucket_reserve_locked(q);
	if (overall > delay)
		delay = overall;
	if (json_object_set_new_nocheck(q->failures, key, json_integer(n + 1)) < 0)
		abort();
	pthread_mutex_unlock(&q->lock);
	workqueue_add_after(q, key, delay);
}

uint64_t workqueue_next_backoff_ms(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	uint64_t d = backoff_locked(q, key, failures_locked(q, key));
	pthread_mutex_unlock(&q->lock);
	return d;
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->failures, key);
	pthread_mutex_unlock(&q->lock);
}

unsigned workqueue_num_requeues(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	unsigned n = failures_locked(q, key);
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* deadline_ns 0: wait forever. */
static char *get_until(struct workqueue *q, long long deadline_ns, bool *shutdown)
{
	char *key = NULL;
	if (shutdown)
		*shutdown = false;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		long long next = promote_locked(q);
		if (q->head < q->tail)
			break;
		if (q->shutting_down) {
			if (shutdown)
				*shutdown = true;
			goto out;
		}
		long long wake = next;
		if (deadline_ns && (wake == 0 || deadline_ns < wake))
			wake = deadline_ns;
		if (wake == 0) {
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		if (deadline_ns && time_mono_ns() >= deadline_ns)
			goto out;
		struct timespec ts = {.tv_sec = wake / 1000000000LL,
				      .tv_nsec = wake % 1000000000LL};
		int rc = pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
			abort();
	}
	key = q->fifo[q->head++];
	if (q->head == q->tail)
		q->head = q->tail = 0;
	set_add(q->processing, key);
	json_object_del(q->dirty, key);
out:
	pthread_mutex_unlock(&q->lock);
	return key;
}

char *workqueue_get(struct workqueue *q)
{
	return get_until(q, 0, NULL);
}

char *workqueue_get_timeout(struct workqueue *q, uint64_t timeout_ms, bool *shutdown)
{
	long long deadline = time_mono_ns() + (long long)timeout_ms * 1000000LL;
	if (deadline == 0)
		deadline = 1;
	return get_until(q, deadline, shutdown);
}

void workqueue_done(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->processing, key);
	if (set_has(q->dirty, key)) {
		fifo_push(q, key);
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
}

size_t workqueue_len(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	promote_locked(q);
	size_t n = q->tail - q->head;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void workqueue_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

bool workqueue_shutting_down(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	bool s = q->shutting_down;
	pthread_mutex_unlock(&q->lock);
	return s;
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	for (size_t i = q->head; i < q->tail; i++)
		free(q->fifo[i]);
	free(q->fifo);
	for (size_t i = 0; i < q->ndelayed; i++)
		free(q->delayed[i].key);
	free(q->delayed);
	json_decref(q->dirty);
	json_decref(q->processing);
	json_decref(q->failures);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
