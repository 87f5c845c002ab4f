/* Informer: list + watch loop on its own thread, cache as a jansson object
 * keyed "ns/name" (or, when versions_only, a string map of resourceVersions). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "informer.h"
#include "json.h"
#include "strmap.h"
#include "timefmt.h"
#include "xalloc.h"

#define BACKOFF_MIN_MS 250
/* objects per list request of a versions_only informer */
#define LIST_PAGE 500
#define BACKOFF_MAX_MS 10000
/* Watches ask the server to end them after a random time in this range, as
 * client-go does, so a silently lost connection is noticed eventually. */
#define WATCH_TIMEOUT_MIN_S 300
#define WATCH_TIMEOUT_MAX_S 600

struct informer {
	struct client *c;
	char *path, *label_selector, *field_selector;
	struct informer_handlers h;

	pthread_mutex_t lock; /* guards cache, versions, rv, synced */
	pthread_cond_t cond;  /* synced, stop */
	json_t *cache;
	struct strmap versions; /* the cache when versions_only */
	char *rv;
	bool synced;

	atomic_bool stop;
	bool started;
	pthread_t thread;
	unsigned seed;

	/* informer thread only */
	bool need_list;
};

char *informer_key(const json_t *obj)
{
	const char *name = json_path_str(obj, "metadata.name");
	const char *ns = json_path_str(obj, "metadata.namespace");
	if (!name || !*name)
		return NULL;
	if (ns && *ns)
		return xasprintf("%s/%s", ns, name);
	return xstrdup(name);
}

void informer_key_split(const char *key, char **ns, char **name)
{
	const char *slash = strchr(key, '/');
	if (!slash) {
		*ns = xstrdup("");
		*name = xstrdup(key);
		return;
	}
	*ns = xstrndup(key, (size_t)(slash - key));
	*name = xstrdup(slash + 1);
}

struct informer *informer_new(struct client *c, const char *path, const char *label_selector,
			      const char *field_selector, const struct informer_handlers *handlers,
			      struct mk_err **err)
{
	if (!c || !path || path[0] != '/' || strchr(path, '?'))
		return mk_err_set(err, MK_EINVAL,
				  "informer: path must be a collection path "
				  "starting with / and without a query"),
		       NULL;
	struct informer *inf = xcalloc(1, sizeof(*inf));
	inf->c = c;
	inf->path = xstrdup(path);
	if (label_selector && *label_selector)
		inf->label_selector = xstrdup(label_selector);
	if (field_selector && *field_selector)
		inf->field_selector = xstrdup(field_selector);
	if (handlers)
		inf->h = *handlers;
	pthread_mutex_init(&inf->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&inf->cond, &attr);
	pthread_condattr_destroy(&attr);
	inf->cache = json_object();
	if (!inf->cache)
		abort();
	inf->rv = xstrdup("");
	atomic_init(&inf->stop, false);
	inf->seed = (unsigned)time_mono_ns() ^ (unsigned)(uintptr_t)inf;
	inf->need_list = true;
	return inf;
}

static void report(struct informer *inf, const struct mk_err *e)
{
	if (inf->h.on_error)
		inf->h.on_error(e, inf->h.arg);
}

static void set_rv_locked(struct informer *inf, const char *rv)
{
	if (!rv || !*rv || strcmp(rv, inf->rv) == 0)
		return;
	free(inf->rv);
	inf->rv = xstrdup(rv);
}

/* Sleeps ms unless stopped meanwhile; returns true if stopping. */
static bool sleep_or_stop(struct informer *inf, uint64_t ms)
{
	long long until = time_mono_ns() + (long long)ms * 1000000LL;
	struct timespec ts = {.tv_sec = until / 1000000000LL, .tv_nsec = until % 1000000000LL};
	pthread_mutex_lock(&inf->lock);
	while (!atomic_load(&inf->stop)) {
		int rc = pthread_cond_timedwait(&inf->cond, &inf->lock, &ts);
		if (rc == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&inf->lock);
	return atomic_load(&inf->stop);
}

static uint64_t next_backoff(struct informer *inf, uint64_t *backoff)
{
	*backoff = *backoff ? *backoff * 2 : BACKOFF_MIN_MS;
	if (*backoff > BACKOFF_MAX_MS)
		*backoff = BACKOFF_MAX_MS;
	/* up to 25% jitter so many clients do not return in step */
	return *backoff + (uint64_t)rand_r(&inf->seed) % (*backoff / 4 + 1);
}

/* ---- list ---- */

struct change {
	json_t *old_obj, *new_obj; /* add: old NULL; delete: new NULL */
};

static void call_handlers(struct informer *inf, struct change *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].old_obj && ch[i].new_obj) {
			if (inf->h.on_update)
				inf->h.on_update(ch[i].old_obj, ch[i].new_obj, inf->h.arg);
		} else if (ch[i].new_obj) {
			if (inf->h.on_add)
				inf->h.on_add(ch[i].new_obj, inf->h.arg);
		} else if (inf->h.on_delete) {
			inf->h.on_delete(ch[i].old_obj, inf->h.arg);
		}
		json_decref(ch[i].old_obj);
		json_decref(ch[i].new_obj);
	}
}

/* A cached object as handed out when only its version is kept: new
 * reference, NULL for a NULL rv. */
static json_t *stub(const char *key, const char *rv)
{
	if (!rv)
		return NULL;
	cleanup_free char *ns = NULL, *name = NULL;
	informer_key_split(key, &ns, &name);
	json_t *md = json_object();
	if (!md)
		abort();
	if (*ns)
		json_object_set_new(md, "namespace", json_string(ns));
	json_object_set_new(md, "name", json_string(name));
	json_object_set_new(md, "resourceVersion", json_string(rv));
	json_t *o = json_object();
	if (!o)
		abort();
	json_object_set_new(o, "metadata", md);
	return o;
}

static const char *version_of(const json_t *obj)
{
	const char *rv = json_path_str(obj, "metadata.resourceVersion");
	return rv ? rv : "";
}

/* The cached object under key (a stub when versions_only): new reference or
 * NULL. With the lock held. */
static json_t *cached_locked(struct informer *inf, const char *key)
{
	if (inf->h.versions_only)
		return stub(key, strmap_get(&inf->versions, key));
	return json_incref(json_object_get(inf->cache, key));
}

static bool same_version(const char *cached_rv, const json_t *obj)
{
	const char *rv = json_path_str(obj, "metadata.resourceVersion");
	return cached_rv && rv && strcmp(cached_rv, rv) == 0;
}

/* Replaces the cache by the list's items; handlers see the difference.
 * versions_only lists come in pages: seen collects the versions of the pages
 * so far, and the last page (final_rv, the list's resourceVersion, not NULL)
 * finds the deletions. Otherwise seen is NULL and list is the whole list. */
static int apply_list(struct informer *inf, json_t *list, struct strmap *seen,
		      const char *final_rv, struct mk_err **err)
{
	json_t *items = json_object_get(list, "items");
	if (!json_is_array(items) && !json_is_null(items) && items)
		return mk_err_set(err, MK_EINVAL, "list %s: items is not an array", inf->path);
	/* List items carry no kind; give them the one their watch events have. */
	const char *list_kind = json_string_value(json_object_get(list, "kind"));
	const char *api_version = json_string_value(json_object_get(list, "apiVersion"));
	cleanup_free char *kind = NULL;
	size_t lk = list_kind ? strlen(list_kind) : 0;
	if (lk > 4 && strcmp(list_kind + lk - 4, "List") == 0)
		kind = xstrndup(list_kind, lk - 4);

	cleanup_json json_t *fresh = json_object();
	if (!fresh)
		abort();
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
	{
		cleanup_free char *key = informer_key(item);
		if (!key)
			continue;
		if (kind && !json_object_get(item, "kind"))
			json_object_set_new(item, "kind", json_string(kind));
		if (api_version && !json_object_get(item, "apiVersion"))
			json_object_set_new(item, "apiVersion", json_string(api_version));
		if (inf->h.transform)
			json_object_set_new_nocheck(fresh, key, inf->h.transform(item, inf->h.arg));
		else
			json_object_set_nocheck(fresh, key, item);
	}

	size_t cap = json_object_size(fresh) + 1, n = 0;
	pthread_mutex_lock(&inf->lock);
	cap += inf->h.versions_only ? strmap_size(&inf->versions) : json_object_size(inf->cache);
	struct change *ch = xcalloc(cap, sizeof(*ch));
	const char *key;
	json_t *obj;
	if (seen) {
		json_object_foreach(fresh, key, obj)
		{
			const char *old = strmap_get(&inf->versions, key);
			if (!old)
				ch[n++] = (struct change){.new_obj = json_incref(obj)};
			else if (!same_version(old, obj))
				ch[n++] = (struct change){.old_obj = stub(key, old),
							  .new_obj = json_incref(obj)};
			strmap_set(&inf->versions, key, version_of(obj));
			strmap_set(seen, key, version_of(obj));
		}
		if (final_rv) {
			size_t it = 0;
			const char *rv;
			while ((key = strmap_next(&inf->versions, &it, &rv)))
				if (!strmap_get(seen, key)) {
					if (n == cap)
						ch = xrealloc(ch, (cap *= 2) * sizeof(*ch));
					ch[n++] = (struct change){.old_obj = stub(key, rv)};
				}
			strmap_free(&inf->versions);
			inf->versions = *seen;
			*seen = (struct strmap)STRMAP_INIT;
			set_rv_locked(inf, final_rv);
		}
	} else {
		json_object_foreach(fresh, key, obj)
		{
			json_t *old = json_object_get(inf->cache, key);
			if (!old)
				ch[n++] = (struct change){.new_obj = json_incref(obj)};
			else if (!same_version(json_path_str(old, "metadata.resourceVersion"), obj))
				ch[n++] = (struct change){.old_obj = json_incref(old),
							  .new_obj = json_incref(obj)};
		}
		json_object_foreach(inf->cache, key, obj)
		{
			if (!json_object_get(fresh, key))
				ch[n++] = (struct change){.old_obj = json_incref(obj)};
		}
		json_decref(inf->cache);
		inf->cache = json_incref(fresh);
		set_rv_locked(inf, json_path_str(list, "metadata.resourceVersion"));
	}
	pthread_mutex_unlock(&inf->lock);

	call_handlers(inf, ch, n);
	free(ch);
	if (seen && !final_rv)
		return 0;
	/* Synced once the handlers have seen the first list, as upstream. */
	pthread_mutex_lock(&inf->lock);
	if (!inf->synced) {
		inf->synced = true;
		pthread_cond_broadcast(&inf->cond);
	}
	pthread_mutex_unlock(&inf->lock);
	return 0;
}

static int do_list(struct informer *inf, struct mk_err **err)
{
	if (!inf->h.versions_only) {
		cleanup_json json_t *list = client_list(inf->c, inf->path, inf->label_selector,
							inf->field_selector, err);
		if (!list)
			return mk_err_wrap(err, "listing %s", inf->path);
		return apply_list(inf, list, NULL, NULL, err);
	}
	/* Without a cache of objects, pages keep the peak small too: the whole
	 * list as JSON values would cost far more than anything kept. A page
	 * whose continue token expired fails the list; the next one starts over. */
	struct strmap seen = STRMAP_INIT;
	cleanup_free char *rv = NULL, *cont = NULL;
	int rc;
	do {
		cleanup_buf struct buf p = BUF_INIT;
		buf_printf(&p, "%s?limit=%d", inf->path, LIST_PAGE);
		if (cont) {
			cleanup_free char *e = client_query_escape(cont);
			buf_printf(&p, "&continue=%s", e);
		}
		cleanup_json json_t *list = client_list(inf->c, buf_str(&p), inf->label_selector,
							inf->field_selector, err);
		if (!list) {
			rc = mk_err_wrap(err, "listing %s", inf->path);
			break;
		}
		if (!rv) {
			const char *r = json_path_str(list, "metadata.resourceVersion");
			rv = xstrdup(r ? r : "");
		}
		free(cont);
		const char *c = json_path_str(list, "metadata.continue");
		cont = c && *c ? xstrdup(c) : NULL;
		rc = apply_list(inf, list, &seen, cont ? NULL : rv, err);
	} while (rc == 0 && cont);
	strmap_free(&seen);
	return rc;
}

/* ---- watch ---- */

struct watch_state {
	struct informer *inf;
	bool expired;	      /* ERROR 410 seen */
	struct mk_err *error; /* other ERROR event */
	unsigned events;
};

static int on_watch_event(const char *type, json_t *obj, void *arg)
{
	struct watch_state *ws = arg;
	struct informer *inf = ws->inf;
	if (atomic_load(&inf->stop))
		return 1;
	ws->events++;
	if (strcmp(type, "ERROR") == 0) {
		cleanup_err struct mk_err *e = NULL;
		client_status_error(obj, 0, &e);
		if (mk_err_code(e) == MK_EEXPIRED)
			ws->expired = true;
		else
			ws->error = steal_pointer(&e);
		return 1;
	}
	const char *rv = json_path_str(obj, "metadata.resourceVersion");
	if (strcmp(type, "BOOKMARK") == 0) {
		pthread_mutex_lock(&inf->lock);
		set_rv_locked(inf, rv);
		pthread_mutex_unlock(&inf->lock);
		return 0;
	}
	cleanup_free char *key = informer_key(obj);
	if (!key)
		return 0;
	cleanup_json json_t *kept = inf->h.transform ? inf->h.transform(obj, inf->h.arg) : NULL;
	if (kept)
		obj = kept;
	struct change ch = {0};
	pthread_mutex_lock(&inf->lock);
	if (strcmp(type, "DELETED") == 0) {
		bool had = inf->h.versions_only ? strmap_del(&inf->versions, key)
						: json_object_del(inf->cache, key) == 0;
		/* The event carries the final state; report that one. */
		if (had)
			ch.old_obj = json_incref(obj);
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		ch.old_obj = cached_locked(inf, key);
		ch.new_obj = json_incref(obj);
		if (inf->h.versions_only)
			strmap_set(&inf->versions, key, version_of(obj));
		else
			json_object_set_nocheck(inf->cache, key, obj);
	}
	set_rv_locked(inf, rv);
	pthread_mutex_unlock(&inf->lock);
	if (ch.old_obj || ch.new_obj)
		call_handlers(inf, &ch, 1);
	return atomic_load(&inf->stop) ? 1 : 0;
}

static char *watch_path(struct informer *inf)
{
	cleanup_buf struct buf p = BUF_INIT;
	pthread_mutex_lock(&inf->lock);
	cleanup_free char *rv = client_query_escape(inf->rv);
	pthread_mutex_unlock(&inf->lock);
	unsigned timeout =
		WATCH_TIMEOUT_MIN_S +
		(unsigned)rand_r(&inf->seed) % (WATCH_TIMEOUT_MAX_S - WATCH_TIMEOUT_MIN_S);
	buf_printf(&p, "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u",
		   inf->path, rv, timeout);
	if (inf->label_selector) {
		cleanup_free char *e = client_query_escape(inf->label_selector);
		buf_printf(&p, "&labelSelector=%s", e);
	}
	if (inf->field_selector) {
		cleanup_free char *e = client_query_escape(inf->field_selector);
		buf_printf(&p, "&fieldSelector=%s", e);
	}
	return buf_steal(&p);
}

/* One watch; returns 0 when the stream ended normally after at least one
 * event or a healthy time (reconnect at once), 1 when the caller should back
 * off, and sets need_list on expiry. */
static int do_watch(struct informer *inf)
{
	cleanup_free char *path = watch_path(inf);
	struct watch_state ws = {.inf = inf};
	cleanup_err struct mk_err *e = NULL;
	long long started = time_mono_ns();
	int r = client_watch_cancellable(inf->c, path, on_watch_event, &ws, &inf->stop, &e);
	if (ws.expired || (r < 0 && mk_err_code(e) == MK_EEXPIRED)) {
		inf->need_list = true;
		mk_err_free(ws.error);
		return 0;
	}
	if (ws.error) {
		mk_err_wrap(&ws.error, "watching %s", inf->path);
		report(inf, ws.error);
		mk_err_free(ws.error);
		return 1;
	}
	if (r < 0) {
		mk_err_wrap(&e, "watching %s", inf->path);
		report(inf, e);
		return 1;
	}
	/* A server that closes watches at once must not make us spin. */
	if (ws.events == 0 && time_mono_ns() - started < 1000000000LL)
		return 1;
	return 0;
}

static void *informer_thread(void *arg)
{
	struct informer *inf = arg;
	uint64_t backoff = 0;
	while (!atomic_load(&inf->stop)) {
		if (inf->need_list) {
			cleanup_err struct mk_err *e = NULL;
			if (do_list(inf, &e) < 0) {
				report(inf, e);
				if (sleep_or_stop(inf, next_backoff(inf, &backoff)))
					break;
				continue;
			}
			inf->need_list = false;
			backoff = 0;
		}
		if (do_watch(inf) == 0) {
			backoff = 0;
			continue;
		}
		if (sleep_or_stop(inf, next_backoff(inf, &backoff)))
			break;
	}
	return NULL;
}

int informer_start(struct informer *inf, struct mk_err **err)
{
	if (inf->started)
		return mk_err_set(err, MK_EIO, "informer %s already started", inf->path);
	atomic_store(&inf->stop, false);
	int rc = pthread_create(&inf->thread, NULL, informer_thread, inf);
	if (rc != 0)
		return mk_err_errno(err, MK_EIO, rc, "starting informer %s", inf->path);
	inf->started = true;
	return 0;
}

void informer_stop(struct informer *inf)
{
	if (!inf->started)
		return;
	pthread_mutex_lock(&inf->lock);
	atomic_store(&inf->stop, true);
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	pthread_join(inf->thread, NULL);
	inf->started = false;
}

bool informer_has_synced(struct informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	bool s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

bool informer_wait_synced(struct informer *inf, uint64_t timeout_ms)
{
	long long until = time_mono_ns() + (long long)timeout_ms * 1000000LL;
	struct timespec ts = {.tv_sec = until / 1000000000LL, .tv_nsec = until % 1000000000LL};
	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && !atomic_load(&inf->stop)) {
		if (timeout_ms == 0) {
			pthread_cond_wait(&inf->cond, &inf->lock);
		} else if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) == ETIMEDOUT) {
			break;
		}
	}
	bool s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

json_t *informer_get(struct informer *inf, const char *key)
{
	pthread_mutex_lock(&inf->lock);
	json_t *o = cached_locked(inf, key);
	pthread_mutex_unlock(&inf->lock);
	return o;
}

json_t *informer_list(struct informer *inf)
{
	json_t *arr = json_array();
	if (!arr)
		abort();
	const char *key;
	json_t *obj;
	pthread_mutex_lock(&inf->lock);
	json_object_foreach(inf->cache, key, obj) json_array_append(arr, obj);
	size_t it = 0;
	const char *rv;
	while ((key = strmap_next(&inf->versions, &it, &rv)))
		json_array_append_new(arr, stub(key, rv));
	pthread_mutex_unlock(&inf->lock);
	return arr;
}

char *informer_resource_version(struct informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	char *rv = xstrdup(inf->rv);
	pthread_mutex_unlock(&inf->lock);
	return rv;
}

void informer_compact(struct informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	strmap_compact(&inf->versions);
	pthread_mutex_unlock(&inf->lock);
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	json_decref(inf->cache);
	strmap_free(&inf->versions);
	free(inf->rv);
	free(inf->path);
	free(inf->label_selector);
	free(inf->field_selector);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->lock);
	free(inf);
}
