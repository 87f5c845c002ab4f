/* Watch streams (see the header). The store's watch callback (on the
 * store's writer thread) only copies the raw event into the stream's queue
 * and resumes the HTTP stream; the reader, on an HTTP thread, turns queued
 * events into JSON lines (filtering, Tables) and answers "nothing now" when
 * none are left, which parks the connection. */
#include "apiserver/watch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"
#include "apiserver/metrics.h"
#include "apiserver/status.h"

/* A watcher this far behind is cut off; its client relists, as upstream's are. */
#define MAX_QUEUED 100000

enum wev_kind {
	WEV_STORE,
	WEV_BOOKMARK,
	WEV_EXPIRED, /* the store lost the watch's history: a 410 ERROR, then the end */
};

struct wevent {
	enum wev_kind kind;
	enum store_event_type type;
	int64_t rev;
	char *value;
	char *prev;    /* only kept when a selector needs it */
	bool had_prev; /* the write replaced an existing value */
	struct wevent *next;
};

struct watch_stream {
	pthread_mutex_t mu;
	struct watch_hub *hub;
	struct httpd_stream *stream; /* once answered; valid until stream_free */
	const struct api_resource *r;
	struct api_filter *filter;
	bool table;
	bool raw;      /* no selector, no Table: events are spliced as text */
	char *include_object;
	bool bookmarks;
	bool columns_sent;
	int64_t last_rev; /* newest revision seen (for bookmarks) */
	time_t deadline;
	time_t next_bookmark;
	struct wevent *head, *tail;
	size_t queued;
	struct buf out;
	size_t off;
	bool closing;
	struct store_watch *sw;
	struct watch_stream *prev, *next;
};

struct watch_hub {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct store *st;
	unsigned bookmark_seconds;
	struct watch_stream *list;
	long count;
	bool stop;
	bool ticker_started;
	pthread_t ticker;
};

static void wevent_free(struct wevent *e)
{
	while (e) {
		struct wevent *n = e->next;
		free(e->value);
		free(e->prev);
		free(e);
		e = n;
	}
}

/* ws->mu held. */
static void wake(struct watch_stream *ws)
{
	if (ws->stream)
		httpd_stream_resume(ws->stream);
}

/* ws->mu held. */
static void enqueue(struct watch_stream *ws, struct wevent *e)
{
	if (ws->tail)
		ws->tail->next = e;
	else
		ws->head = e;
	ws->tail = e;
	ws->queued++;
}

static void on_store_event(const struct store_event *ev, void *arg)
{
	struct watch_stream *ws = arg;
	pthread_mutex_lock(&ws->mu);
	if (ev->rev > ws->last_rev)
		ws->last_rev = ev->rev;
	if (!ws->closing && ev->type == STORE_EVENT_EXPIRED) {
		struct wevent *e = xcalloc(1, sizeof(*e));
		e->kind = WEV_EXPIRED;
		e->rev = ev->rev;
		enqueue(ws, e);
		ws->closing = true;
	} else if (!ws->closing) {
		if (ws->queued >= MAX_QUEUED) {
			log_warn("watch of %s fell %d events behind; closing it", ws->r->resource,
				 MAX_QUEUED);
			ws->closing = true;
			wevent_free(ws->head);
			ws->head = ws->tail = NULL;
			ws->queued = 0;
		} else {
			struct wevent *e = xcalloc(1, sizeof(*e));
			e->kind = WEV_STORE;
			e->type = ev->type;
			e->rev = ev->rev;
			e->value = ev->value ? xstrdup(ev->value) : NULL;
			e->had_prev = ev->prev_value != NULL;
			e->prev = ev->prev_value && !ws->raw ? xstrdup(ev->prev_value) : NULL;
			enqueue(ws, e);
		}
	}
	wake(ws);
	pthread_mutex_unlock(&ws->mu);
}

/* Appends one event line to out. obj is borrowed. */
static void emit(struct watch_stream *ws, struct buf *out, const char *type, const json_t *obj)
{
	json_t *payload = NULL;
	if (ws->table && strcmp(type, "ERROR") && strcmp(type, "BOOKMARK")) {
		json_t *arr = json_pack("[O]", obj);
		payload = api_table_of(ws->r, arr, ws->include_object, !ws->columns_sent);
		json_decref(arr);
		if (payload) {
			ws->columns_sent = true;
			const char *rv = json_path_str(obj, "metadata.resourceVersion");
			json_path_set(payload, "metadata.resourceVersion",
				      json_string(rv ? rv : ""));
		}
	}
	json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", payload ? payload : obj);
	json_decref(payload);
	char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (!text)
		return;
	buf_append_str(out, text);
	buf_append_char(out, '\n');
	free(text);
}

/* Turns one queued event into 0 or 1 lines. */
static void render(struct watch_stream *ws, const struct wevent *e, struct buf *out)
{
	if (e->kind == WEV_EXPIRED) {
		cleanup_json json_t *st = status_failure(
			410, "Expired", "The resourceVersion for the provided watch is too old.",
			NULL);
		emit(ws, out, "ERROR", st);
		return;
	}
	if (e->kind == WEV_BOOKMARK) {
		char rv[32];
		snprintf(rv, sizeof(rv), "%lld", (long long)e->rev);
		cleanup_json json_t *bm =
			json_pack("{s:s, s:s, s:{s:s}}", "kind", ws->r->kind, "apiVersion",
				  api_resource_api_version(ws->r), "metadata", "resourceVersion", rv);
		emit(ws, out, "BOOKMARK", bm);
		return;
	}
	if (ws->raw) {
		if (!e->value)
			return;
		const char *type = e->type == STORE_EVENT_DELETE ? "DELETED"
				   : e->had_prev		  ? "MODIFIED"
								  : "ADDED";
		buf_printf(out, "{\"type\":\"%s\",\"object\":", type);
		api_append_with_rv(out, e->value, e->rev);
		buf_append_str(out, "}\n");
		return;
	}
	cleanup_json json_t *obj = e->value ? api_object_from_store(e->value, e->rev) : NULL;
	if (!obj)
		return;
	if (e->type == STORE_EVENT_DELETE) {
		if (api_filter_matches(ws->filter, ws->r, obj))
			emit(ws, out, "DELETED", obj);
		return;
	}
	bool now_in = api_filter_matches(ws->filter, ws->r, obj);
	if (!e->prev) {
		if (now_in)
			emit(ws, out, "ADDED", obj);
		return;
	}
	cleanup_json json_t *old = api_object_from_store(e->prev, e->rev);
	bool was_in = old && api_filter_matches(ws->filter, ws->r, old);
	if (now_in && was_in)
		emit(ws, out, "MODIFIED", obj);
	else if (now_in)
		emit(ws, out, "ADDED", obj);
	else if (was_in)
		emit(ws, out, "DELETED", obj);
}

static ssize_t reader(void *arg, char *dst, size_t max, bool stopping)
{
	struct watch_stream *ws = arg;
	pthread_mutex_lock(&ws->mu);
	for (;;) {
		if (ws->out.len > ws->off) {
			size_t n = ws->out.len - ws->off;
			if (n > max)
				n = max;
			memcpy(dst, ws->out.data + ws->off, n);
			ws->off += n;
			if (ws->off == ws->out.len) {
				buf_reset(&ws->out);
				ws->off = 0;
			}
			pthread_mutex_unlock(&ws->mu);
			return (ssize_t)n;
		}
		if (ws->head) {
			struct wevent *batch = ws->head;
			ws->head = ws->tail = NULL;
			ws->queued = 0;
			pthread_mutex_unlock(&ws->mu);
			struct buf local = BUF_INIT;
			for (struct wevent *e = batch; e; e = e->next)
				render(ws, e, &local);
			wevent_free(batch);
			pthread_mutex_lock(&ws->mu);
			if (local.len)
				buf_append(&ws->out, local.data, local.len);
			buf_free(&local);
			continue;
		}
		if (ws->closing || stopping) {
			pthread_mutex_unlock(&ws->mu);
			return HTTPD_STREAM_END;
		}
		/* nothing to send: parked until an event resumes the stream */
		pthread_mutex_unlock(&ws->mu);
		return 0;
	}
}

static void hub_add(struct watch_hub *hub, struct watch_stream *ws)
{
	pthread_mutex_lock(&hub->mu);
	ws->next = hub->list;
	if (hub->list)
		hub->list->prev = ws;
	hub->list = ws;
	hub->count++;
	metrics_watchers_set(hub->count);
	pthread_mutex_unlock(&hub->mu);
}

static void hub_remove(struct watch_hub *hub, struct watch_stream *ws)
{
	pthread_mutex_lock(&hub->mu);
	if (ws->prev)
		ws->prev->next = ws->next;
	else
		hub->list = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	hub->count--;
	metrics_watchers_set(hub->count);
	pthread_cond_broadcast(&hub->cond);
	pthread_mutex_unlock(&hub->mu);
}

static void stream_free(struct watch_stream *ws)
{
	wevent_free(ws->head);
	buf_free(&ws->out);
	api_filter_free(ws->filter);
	free(ws->include_object);
	pthread_mutex_destroy(&ws->mu);
	free(ws);
}

/* The HTTP stream is over (client gone, stream ended, server stopping). */
static void on_stream_free(void *arg)
{
	struct watch_stream *ws = arg;
	store_watch_stop(ws->hub->st, ws->sw);
	hub_remove(ws->hub, ws);
	stream_free(ws);
}

static void *ticker_main(void *arg)
{
	struct watch_hub *hub = arg;
	pthread_mutex_lock(&hub->mu);
	while (!hub->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&hub->cond, &hub->mu, &ts);
		if (hub->stop)
			break;
		time_t now = time(NULL);
		for (struct watch_stream *ws = hub->list; ws; ws = ws->next) {
			pthread_mutex_lock(&ws->mu);
			if (!ws->closing && now >= ws->deadline) {
				ws->closing = true;
				wake(ws);
			} else if (!ws->closing && ws->bookmarks && now >= ws->next_bookmark) {
				ws->next_bookmark = now + hub->bookmark_seconds;
				struct wevent *e = xcalloc(1, sizeof(*e));
				e->kind = WEV_BOOKMARK;
				e->rev = ws->last_rev;
				enqueue(ws, e);
				wake(ws);
			}
			pthread_mutex_unlock(&ws->mu);
		}
	}
	pthread_mutex_unlock(&hub->mu);
	return NULL;
}

struct watch_hub *watch_hub_new(struct store *st, unsigned bookmark_seconds)
{
	struct watch_hub *hub = xcalloc(1, sizeof(*hub));
	hub->st = st;
	hub->bookmark_seconds = bookmark_seconds;
	pthread_mutex_init(&hub->mu, NULL);
	pthread_cond_init(&hub->cond, NULL);
	if (pthread_create(&hub->ticker, NULL, ticker_main, hub) == 0)
		hub->ticker_started = true;
	else
		log_error("cannot start the watch ticker thread");
	return hub;
}

void watch_hub_free(struct watch_hub *hub)
{
	if (!hub)
		return;
	if (hub->ticker_started) {
		pthread_mutex_lock(&hub->mu);
		hub->stop = true;
		pthread_cond_broadcast(&hub->cond);
		pthread_mutex_unlock(&hub->mu);
		pthread_join(hub->ticker, NULL);
	}
	pthread_mutex_destroy(&hub->mu);
	pthread_cond_destroy(&hub->cond);
	free(hub);
}

long watch_hub_count(struct watch_hub *hub)
{
	pthread_mutex_lock(&hub->mu);
	long n = hub->count;
	pthread_mutex_unlock(&hub->mu);
	return n;
}

void watch_serve(struct watch_hub *hub, struct api_request *rq, const struct api_resource *r,
		 const char *ns, struct api_filter *filter)
{
	struct watch_stream *ws = xcalloc(1, sizeof(*ws));
	pthread_mutex_init(&ws->mu, NULL);
	ws->hub = hub;
	ws->r = r;
	ws->filter = filter;
	ws->table = req_wants_table(rq);
	ws->raw = !ws->table && api_filter_empty(filter);
	const char *inc = req_query(rq, "includeObject");
	ws->include_object = inc ? xstrdup(inc) : NULL;
	ws->bookmarks = req_query_bool(rq, "allowWatchBookmarks");
	time_t now = time(NULL);
	const char *to = req_query(rq, "timeoutSeconds");
	long long timeout = to ? strtoll(to, NULL, 10) : 0;
	if (timeout <= 0)
		timeout = 1800 + random() % 1800; /* upstream: minRequestTimeout .. 2x */
	ws->deadline = now + timeout;
	ws->next_bookmark = now + hub->bookmark_seconds;

	const char *rvs = req_query(rq, "resourceVersion");
	long long rv = rvs ? strtoll(rvs, NULL, 10) : 0;
	cleanup_free char *prefix = r->storage ? api_prefix(r, ns) : NULL;

	if (!r->storage) {
		/* Virtual resources do not change: current state, then an idle stream. */
		json_t *items = r->virtual_list ? r->virtual_list(hub->st) : json_array();
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) if (api_filter_matches(filter, r, it))
			emit(ws, &ws->out, "ADDED", it);
		json_decref(items);
	} else if (rv <= 0) {
		struct store_list l = {0};
		cleanup_err struct mk_err *err = NULL;
		if (store_list(hub->st, prefix, NULL, 0, 0, &l, &err) < 0) {
			stream_free(ws);
			req_reply_status(rq, status_from_err(err, r, NULL));
			return;
		}
		for (size_t i = 0; i < l.n; i++) {
			cleanup_json json_t *obj =
				api_object_from_store(l.items[i].value, l.items[i].mod_rev);
			if (obj && api_filter_matches(filter, r, obj))
				emit(ws, &ws->out, "ADDED", obj);
		}
		rv = l.rev;
		store_list_free(&l);
	}
	ws->last_rev = rv;

	if (r->storage) {
		cleanup_err struct mk_err *err = NULL;
		ws->sw = store_watch(hub->st, prefix, rv, on_store_event, ws, &err);
		if (!ws->sw) {
			if (mk_err_code(err) == MK_EEXPIRED) {
				cleanup_free char *msg =
					xasprintf("too old resource version: %lld (%lld)", rv,
						  (long long)store_compact_rev(hub->st));
				cleanup_json json_t *st = status_failure(410, "Expired", msg, NULL);
				emit(ws, &ws->out, "ERROR", st);
				ws->closing = true;
			} else {
				stream_free(ws);
				req_reply_status(rq, status_from_err(err, r, NULL));
				return;
			}
		}
	}

	hub_add(hub, ws);
	/* the reader runs once this handler returned: events until then wait
	 * in the queue; a refused answer has freed ws */
	struct httpd_stream *s =
		httpd_reply_stream(rq->hr, 200, "application/json", reader, on_stream_free, ws);
	if (s) {
		pthread_mutex_lock(&ws->mu);
		ws->stream = s;
		pthread_mutex_unlock(&ws->mu);
	}
}
