/* Sync runner (see the header). */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <time.h>

#include "conntrack.h"
#include "memory.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sync.h"
#include "timefmt.h"
#include "xalloc.h"

int64_t proxy_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void proxy_sync_init(struct proxy_sync *s, const struct proxy_backend *backend,
		     struct proxy_config *cfg, int64_t min_period_ms, int64_t period_ms)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	proxy_state_init(&s->st);
	s->trigger_times = json_array();
	s->backend = backend;
	s->backend_state = backend->create();
	s->cfg = cfg;
	s->min_period_ms = min_period_ms > 0 ? min_period_ms : 0;
	s->period_ms = period_ms > 0 ? period_ms : 30000;
	s->tokens = 2;
	s->refill_ms = proxy_now_ms();
	s->need_full = true;
	atomic_store(&s->stop, false);
}

void proxy_sync_destroy(struct proxy_sync *s)
{
	s->backend->destroy(s->backend_state);
	proxy_model_free(s->model);
	proxy_state_free(&s->st);
	json_decref(s->trigger_times);
	json_decref(s->udp_state);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

static void request_locked(struct proxy_sync *s)
{
	if (!s->pending) {
		s->pending = true;
		s->queued_ms = proxy_now_ms();
		metrics_set(MV_LAST_QUEUED_TS, unix_now());
	}
	if (!s->oldest_queued_ms)
		s->oldest_queued_ms = s->queued_ms;
	pthread_cond_broadcast(&s->cv);
}

void proxy_sync_service(struct proxy_sync *s, json_t *svc, bool deleted)
{
	const char *ns = json_path_str(svc, "metadata.namespace");
	const char *name = json_path_str(svc, "metadata.name");
	if (!ns || !name)
		return;
	char *key = xasprintf("%s/%s", ns, name);
	pthread_mutex_lock(&s->mu);
	if (proxy_state_set_service(&s->st, key, deleted ? NULL : svc)) {
		metrics_add(MV_SVC_TOTAL, 1);
		metrics_set(MV_SVC_PENDING, (double)json_object_size(s->st.changed));
		request_locked(s);
	}
	pthread_mutex_unlock(&s->mu);
	free(key);
}

void proxy_sync_slice(struct proxy_sync *s, json_t *slice, bool deleted)
{
	pthread_mutex_lock(&s->mu);
	if (proxy_state_set_slice(&s->st, slice, deleted)) {
		metrics_add(MV_EP_TOTAL, 1);
		metrics_set(MV_EP_PENDING, (double)json_object_size(s->st.changed));
		const char *t = json_string_value(json_object_get(
			json_path_get(slice, "metadata.annotations"),
			"endpoints.kubernetes.io/last-change-trigger-time"));
		time_t when;
		if (t && !deleted && time_parse_rfc3339(t, &when, NULL) == 0)
			json_array_append_new(s->trigger_times, json_integer((json_int_t)when));
		request_locked(s);
	}
	pthread_mutex_unlock(&s->mu);
}

void proxy_sync_set_synced(struct proxy_sync *s, bool services, bool slices)
{
	pthread_mutex_lock(&s->mu);
	s->services_synced |= services;
	s->slices_synced |= slices;
	request_locked(s);
	pthread_mutex_unlock(&s->mu);
}

void proxy_sync_request_full(struct proxy_sync *s)
{
	pthread_mutex_lock(&s->mu);
	s->need_full = true;
	request_locked(s);
	pthread_mutex_unlock(&s->mu);
}

void proxy_sync_stop(struct proxy_sync *s)
{
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* A sync frees large transient buffers (rendered rules, the kernel's table
 * copies). Returning the pages right away made the next sync fault them all
 * in again, a large part of a partial sync's time on big tables; keeping them
 * for good keeps the peak resident. So they are returned once the runner has
 * been idle for a while: under churn syncs reuse them, a quiet proxy does not
 * hold them. */
static int64_t trim_idle_ms(const struct proxy_sync *s)
{
	return s->min_period_ms * 2 > 2000 ? s->min_period_ms * 2 : 2000;
}

/* Waits for a signal or deadline_ms (0: none), or until memory is due to be
 * returned. */
static void wait_until(struct proxy_sync *s, int64_t deadline_ms)
{
	if (s->trim_at_ms && (deadline_ms <= 0 || s->trim_at_ms < deadline_ms))
		deadline_ms = s->trim_at_ms;
	if (deadline_ms <= 0) {
		pthread_cond_wait(&s->cv, &s->mu);
		return;
	}
	struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* One sync; called with mu held, returns with mu held. */
static void sync_once(struct proxy_sync *s, bool full)
{
	long long t0 = time_mono_ns();
	proxy_malloc_huge_pages(true);
	json_t *changed = NULL;
	/* the model follows every change, whether this sync is full or not */
	if (s->model) {
		proxy_model_update(s->model, &s->st, s->st.changed, s->cfg);
	} else {
		s->model = proxy_model_build(&s->st, s->cfg);
	}
	if (!full)
		changed = json_incref(s->st.changed);
	json_decref(s->st.changed);
	s->st.changed = json_object();
	json_t *triggers = s->trigger_times;
	s->trigger_times = json_array();
	metrics_set(MV_SVC_PENDING, 0);
	metrics_set(MV_EP_PENDING, 0);
	/* what is queued now is what this sync writes; what comes meanwhile
	 * waits for the next */
	s->inflight_queued_ms = s->oldest_queued_ms;
	s->oldest_queued_ms = 0;
	/* the model is read by the backend without mu; only this thread changes it */
	const struct proxy_model *m = s->model;
	json_t *udp = conntrack_udp_state(m);
	pthread_mutex_unlock(&s->mu);

	struct proxy_sync_result res = {0};
	struct mk_err *err = NULL;
	int rc = s->backend->sync(s->backend_state, m, s->cfg, changed, &res, &err);
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	if (full) {
		/* the informer threads made the state's entries among the transient
		 * objects of the lists and events they read: gather them here so
		 * that their arenas' pages can be given back */
		pthread_mutex_lock(&s->mu);
		proxy_state_compact(&s->st);
		pthread_mutex_unlock(&s->mu);
		if (s->compact)
			s->compact(s->compact_arg);
	}
	if (rc == 0) {
		/* UDP flows to endpoints that went away would be blackholed */
		size_t deleted, failures;
		conntrack_cleanup(s->udp_state, udp, &deleted, &failures);
		if (deleted || failures)
			log_v(2, "Deleted %zu stale UDP conntrack entries (%zu failures)", deleted,
			      failures);
		json_decref(s->udp_state);
		s->udp_state = udp;
		udp = NULL;
		if (s->synced)
			s->synced(s->synced_arg, m);
	}
	json_decref(udp);

	pthread_mutex_lock(&s->mu);
	int64_t now = proxy_now_ms();
	s->syncs++;
	s->trim_at_ms = now + trim_idle_ms(s);
	if (rc < 0) {
		s->failures++;
		log_error("Failed to sync %s rules (%s sync): %s", s->backend->name,
			  full ? "full" : "partial", mk_err_msg(err));
		if (!strcmp(s->backend->name, "iptables")) {
			metrics_add(MV_IPT_FAIL, 1);
			if (!full)
				metrics_add(MV_IPT_PART_FAIL, 1);
		} else {
			metrics_add(MV_NFT_FAIL, 1);
		}
		/* the consumed changes are lost: only a full sync can recover */
		s->need_full = true;
		/* and they are still not written */
		if (s->inflight_queued_ms &&
		    (!s->oldest_queued_ms || s->inflight_queued_ms < s->oldest_queued_ms))
			s->oldest_queued_ms = s->inflight_queued_ms;
		s->inflight_queued_ms = 0;
		s->retry_at_ms = now + s->period_ms;
		mk_err_free(err);
	} else {
		s->last_ok_ms = now;
		s->retry_at_ms = 0;
		if (full) {
			s->last_full_ms = now;
			s->need_full = false;
		}
		metrics_observe(MH_SYNC, secs);
		metrics_observe(full ? MH_SYNC_FULL : MH_SYNC_PART, secs);
		double wall = unix_now();
		metrics_set(MV_LAST_TS, wall);
		s->inflight_queued_ms = 0;
		s->last_updated_unix = wall;
		s->last_updated_mono_ns = mono_now_ns();
		if (!strcmp(s->backend->name, "iptables")) {
			metrics_set(MV_IPT_LAST_FILTER, (double)res.rules_filter);
			metrics_set(MV_IPT_LAST_NAT, (double)res.rules_nat);
			metrics_set(MV_IPT_TOTAL_FILTER, (double)res.total_filter);
			metrics_set(MV_IPT_TOTAL_NAT, (double)res.total_nat);
		}
		metrics_set(MV_NO_LOCAL_INTERNAL, (double)res.no_local_internal);
		metrics_set(MV_NO_LOCAL_EXTERNAL, (double)res.no_local_external);
		size_t i;
		json_t *v;
		json_array_foreach(triggers, i, v) {
			double d = wall - (double)json_integer_value(v);
			if (d >= 0)
				metrics_observe(MH_NETPROG, d);
		}
		log_v(2, "%s %s sync done in %.3f s", s->backend->name, full ? "full" : "partial", secs);
	}
	json_decref(triggers);
	json_decref(changed);
}

void proxy_sync_run(struct proxy_sync *s)
{
	pthread_mutex_lock(&s->mu);
	/* as upstream's sync loop: the last update is its start until a sync
	 * succeeds */
	if (!s->last_updated_unix) {
		s->last_updated_unix = unix_now();
		s->last_updated_mono_ns = mono_now_ns();
	}
	while (!atomic_load(&s->stop)) {
		if (s->trim_at_ms && proxy_now_ms() >= s->trim_at_ms) {
			s->trim_at_ms = 0;
			proxy_malloc_huge_pages(false);
			pthread_mutex_unlock(&s->mu);
			malloc_trim(0);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (!s->services_synced || !s->slices_synced) {
			wait_until(s, 0);
			continue;
		}
		int64_t now = proxy_now_ms();
		if (s->retry_at_ms && now < s->retry_at_ms) {
			wait_until(s, s->retry_at_ms);
			continue;
		}
		bool due_full = s->need_full || now - s->last_full_ms >= s->period_ms;
		if (!s->pending && !due_full) {
			wait_until(s, s->last_full_ms + s->period_ms);
			continue;
		}
		/* bounded frequency: one token per min-sync-period, at most 2 saved */
		if (s->min_period_ms > 0) {
			s->tokens += (double)(now - s->refill_ms) / (double)s->min_period_ms;
			if (s->tokens > 2)
				s->tokens = 2;
		} else {
			s->tokens = 2;
		}
		s->refill_ms = now;
		if (s->tokens < 1) {
			wait_until(s, now + (int64_t)((1 - s->tokens) * (double)s->min_period_ms) + 1);
			continue;
		}
		s->tokens -= 1;
		s->pending = false;
		sync_once(s, due_full);
	}
	pthread_mutex_unlock(&s->mu);
}

bool proxy_sync_healthy(struct proxy_sync *s, double *last_updated_unix,
			int64_t *last_updated_mono_ns)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = proxy_now_ms();
	int64_t oldest = s->oldest_queued_ms;
	if (s->inflight_queued_ms && (!oldest || s->inflight_queued_ms < oldest))
		oldest = s->inflight_queued_ms;
	bool ok = !oldest || now - oldest < 2 * s->period_ms;
	if (last_updated_unix)
		*last_updated_unix = s->last_updated_unix;
	if (last_updated_mono_ns)
		*last_updated_mono_ns = s->last_updated_mono_ns;
	pthread_mutex_unlock(&s->mu);
	return ok;
}
