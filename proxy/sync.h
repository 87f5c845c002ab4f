/* Sync scheduling: the objects seen so far, and a runner that writes rules
 * through a backend. No rule is written before both the initial Service and
 * EndpointSlice lists are in; then one full sync; then partial syncs of the
 * services whose objects changed, rate limited to one per min-sync-period
 * with a burst of 2; a full sync every sync-period and after any failure.
 * Memory a sync freed is returned to the system once no sync has run for
 * a while, so that back-to-back syncs reuse it. */
#ifndef PROXY_SYNC_H
#define PROXY_SYNC_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

struct proxy_sync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct proxy_state st;         /* guarded by mu */
	struct proxy_model *model;     /* st as of the last sync (kept up to date
					* incrementally), guarded by mu; NULL
					* before the first sync */
	json_t *trigger_times;         /* array of last-change-trigger-time seconds */
	json_t *udp_state;             /* conntrack_udp_state of the last good sync */
	bool services_synced, slices_synced;
	bool pending;                  /* a sync was requested */
	bool need_full;
	int64_t min_period_ms, period_ms;
	double tokens;                 /* burst bucket */
	int64_t refill_ms;             /* last refill */
	int64_t last_full_ms, last_ok_ms, retry_at_ms, queued_ms;
	/* health, as upstream's proxier health server: when the oldest change
	 * not yet written was queued (0: none), that of the changes the running
	 * sync is writing, and the wall time of the last successful sync (of
	 * the start of the runner before one) */
	int64_t oldest_queued_ms, inflight_queued_ms;
	double last_updated_unix;
	int64_t last_updated_mono_ns; /* the same moment on CLOCK_MONOTONIC */
	int64_t trim_at_ms;            /* when to return freed memory; 0: done */
	uint64_t syncs, failures;      /* counters for tests and healthz */
	const struct proxy_backend *backend;
	void *backend_state;
	struct proxy_config *cfg;      /* borrowed; node_ips may be refreshed under mu */
	/* optional, called after full syncs without mu: gathers other long-lived
	 * tables on this thread (see proxy_state_compact) */
	void (*compact)(void *arg);
	void *compact_arg;
	/* optional, called after each successful sync without mu, with the
	 * model the rules were written from (only this thread changes it) */
	void (*synced)(void *arg, const struct proxy_model *m);
	void *synced_arg;
	atomic_bool stop;
};

/* Initialises s; cfg and backend are borrowed for s's lifetime. */
void proxy_sync_init(struct proxy_sync *s, const struct proxy_backend *backend,
		     struct proxy_config *cfg, int64_t min_period_ms, int64_t period_ms);
void proxy_sync_destroy(struct proxy_sync *s);

/* Informer events (objects borrowed). Each requests a sync when it changed
 * something that matters. */
void proxy_sync_service(struct proxy_sync *s, json_t *svc, bool deleted);
void proxy_sync_slice(struct proxy_sync *s, json_t *slice, bool deleted);
void proxy_sync_set_synced(struct proxy_sync *s, bool services, bool slices);
/* Forces the next sync to be full (node label change, ...). */
void proxy_sync_request_full(struct proxy_sync *s);

/* Runs syncs until proxy_sync_stop. */
void proxy_sync_run(struct proxy_sync *s);
void proxy_sync_stop(struct proxy_sync *s);

/* As upstream's proxier health server: healthy unless a change has been
 * queued (an informer event, the initial lists) and not written by a
 * successful sync for 2 sync-periods (its healthz timeout); a sync that
 * fails keeps its changes queued. Periodic syncs with nothing queued do
 * not count, failing or not. *last_updated_unix and *last_updated_mono_ns
 * (may be NULL) receive the wall and CLOCK_MONOTONIC times of the last
 * successful sync, or of the runner's start before one (0 before that). */
bool proxy_sync_healthy(struct proxy_sync *s, double *last_updated_unix,
			int64_t *last_updated_mono_ns);

/* Monotonic milliseconds. */
int64_t proxy_now_ms(void);

#endif
