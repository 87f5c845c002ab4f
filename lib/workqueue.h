/* Work queue of string keys for controller workers, with the semantics of
 * client-go's rate-limiting queue:
 *   - a key is queued at most once (adds of a queued key are dropped);
 *   - a key being processed (between workqueue_get and workqueue_done) is not
 *     handed to a second worker; if it is added meanwhile it is marked dirty
 *     and queued again by workqueue_done;
 *   - workqueue_add_after queues a key once a delay has passed (the earliest
 *     pending time wins for a key added after twice);
 *   - workqueue_add_rate_limited delays by base * 2^failures, capped at max
 *     (default 5 ms .. 1000 s, client-go's item limiter); workqueue_forget
 *     resets the failure count after a success. The default queue also
 *     applies client-go's overall token bucket (10 per second, bursts of
 *     100) to rate-limited adds and uses the larger of the two delays;
 *   - after workqueue_shutdown adds are ignored, workqueue_get still hands out
 *     what is queued and returns NULL once the queue is empty.
 * Every function is thread-safe. No thread of its own: delayed keys become
 * ready inside workqueue_get/workqueue_len, which sleep until the next one. */
#ifndef MK_WORKQUEUE_H
#define MK_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workqueue;

/* New queue with client-go's default controller limiter (per key 5 ms ..
 * 1000 s, overall 10/s with bursts of 100); workqueue_free(). */
struct workqueue *workqueue_new(void);
/* New queue whose per-key limiter grows from base_ms to max_ms, without the
 * overall bucket. */
struct workqueue *workqueue_new_with_backoff(uint64_t base_ms, uint64_t max_ms);

/* key is copied. */
void workqueue_add(struct workqueue *q, const char *key);
void workqueue_add_after(struct workqueue *q, const char *key, uint64_t delay_ms);
void workqueue_add_rate_limited(struct workqueue *q, const char *key);
/* Clears the failure count of key. */
void workqueue_forget(struct workqueue *q, const char *key);
/* How many times key went through workqueue_add_rate_limited since the last forget. */
unsigned workqueue_num_requeues(struct workqueue *q, const char *key);
/* The per-key delay the next workqueue_add_rate_limited of key would use,
 * in ms (the overall bucket may make the actual delay longer). */
uint64_t workqueue_next_backoff_ms(struct workqueue *q, const char *key);

/* Blocks until a key is ready and returns it (new string, free() after
 * workqueue_done), or NULL once the queue is shut down and empty. */
char *workqueue_get(struct workqueue *q);
/* As workqueue_get, giving up after timeout_ms (NULL, *shutdown false). */
char *workqueue_get_timeout(struct workqueue *q, uint64_t timeout_ms, bool *shutdown);
/* Marks key as processed; queues it again if it was added meanwhile. */
void workqueue_done(struct workqueue *q, const char *key);

/* Keys ready to be handed out (not counting delayed or in-process ones). */
size_t workqueue_len(struct workqueue *q);
/* Wakes every blocked workqueue_get; later adds are ignored. */
void workqueue_shutdown(struct workqueue *q);
bool workqueue_shutting_down(struct workqueue *q);

/* Accepts NULL. No thread may be inside a workqueue call. */
void workqueue_free(struct workqueue *q);

#endif
