/* Watch streams (see the header).
 *
 * Fan-out: the store calls on_store_event once per watcher for each event,
 * one watcher after the other (on the store's writer thread, or on the
 * thread replaying a watch's history). The first call for an event makes a
 * shared copy of it (struct wshared: the object's text with its
 * resourceVersion, parsed at most once and only if a selector or a Table
 * needs it); the others take a reference. Each watcher's selector is applied
 * right there, so a watcher queues only what it will send, and what it
 * queues is a reference, not a copy. A watcher whose queue outgrows its
 * byte budget (a client that stopped reading) is cut off as upstream's
 * cacher cuts slow watchers off, with an ERROR event (410 Expired) after
 * what it already had, so that its client relists.
 *
 * The reader, on an HTTP thread, copies queued events straight from the
 * shared text into the connection's buffer and answers "nothing now" when
 * none are left, which parks the connection. A parked connection is not
 * watched by the HTTP server, so the ticker looks at the sockets of every
 * watcher once a second and ends the watches whose client went away. */
#include "apiserver/watch.h"

#include <malloc.h>
#include <poll.h>
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

/* A watcher this far behind is cut off, whatever its bytes. */
#define MAX_QUEUED 100000
/* Default byte budget of one watcher's queue. */
#define DEFAULT_QUEUE_BYTES (64u * 1024 * 1024)
/* Bytes of events freed after which the ticker gives memory back to the
 * system: glibc keeps freed blocks of large events in its arenas, and
 * megabyte events raise its mmap threshold so that later ones land there
 * too. */
#define TRIM_AFTER_BYTES (16u * 1024 * 1024)

/* One store event as all its watchers share it. */
struct wshared {
	int refs; /* atomic */
	struct watch_hub *hub;
	int64_t rev;
	char *key;
	enum store_event_type type;
	bool had_prev; /* the write replaced an existing value */
	char *text;    /* the object (for a delete: as it was) with its resourceVersion */
	size_t len;
	pthread_mutex_t mu; /* guards the parsed forms, made on first use */
	bool obj_done, old_done;
	json_t *obj; /* text parsed; NULL if not an object */
	json_t *old; /* the value before the write, parsed */
};

/* One queued item of a watcher: a shared event sent as type, or a line of
 * its own (BOOKMARK, ERROR, the initial state, a Table row). */
struct wentry {
	struct wentry *next;
	struct wshared *ev; /* reference, or NULL */
	const char *type;   /* static: "ADDED", "MODIFIED", "DELETED" */
	char *line;	    /* owned, or NULL */
	size_t len;	    /* of line */
	size_t bytes;	    /* counted against the queue budget */
};

struct watch_stream {
	pthread_mutex_t mu;
	struct watch_hub *hub;
	struct httpd_stream *stream; /* once answered; valid until stream_free */
	int fd;			     /* the client's socket, only looked at */
	const struct api_resource *r;
	struct api_filter *filter;
	bool table;
	bool raw; /* no selector, no Table: every event is sent as it is */
	char *include_object;
	bool bookmarks;
	bool columns_sent; /* reader only */
	int64_t last_rev;  /* newest revision seen (for bookmarks) */
	int64_t sent_rev;  /* revision of the newest event taken for sending */
	time_t deadline;
	time_t next_bookmark;
	struct wentry *head, *tail;
	size_t queued;
	size_t queued_bytes;
	struct wentry *cur; /* being written; reader only */
	size_t cur_off;
	bool closing;
	struct store_watch *sw;
	struct watch_stream *prev, *next;
};

struct watch_hub {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct store *st;
	unsigned bookmark_seconds;
	size_t queue_bytes;
	struct watch_stream *list;
	long count;
	bool stop;
	bool ticker_started;
	pthread_t ticker;
	/* the event being handed out; ev_mu guards it */
	pthread_mutex_t ev_mu;
	struct wshared *cur;
	size_t freed; /* atomic: bytes of events freed since the last trim */
};

/* --- shared events ------------------------------------------------------------- */

static void shared_put(struct wshared *sh)
{
	if (!sh || __atomic_sub_fetch(&sh->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	__atomic_add_fetch(&sh->hub->freed, sh->len, __ATOMIC_RELAXED);
	json_decref(sh->obj);
	json_decref(sh->old);
	pthread_mutex_destroy(&sh->mu);
	free(sh->text);
	free(sh->key);
	free(sh);
}

/* The shared form of ev, with one reference for the caller. */
static struct wshared *shared_get(struct watch_hub *hub, const struct store_event *ev)
{
	pthread_mutex_lock(&hub->ev_mu);
	struct wshared *sh = hub->cur;
	if (sh && sh->rev == ev->rev && !strcmp(sh->key, ev->key)) {
		__atomic_add_fetch(&sh->refs, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&hub->ev_mu);
		return sh;
	}
	sh = xcalloc(1, sizeof(*sh));
	sh->refs = 2; /* the caller's and the hub's */
	sh->hub = hub;
	sh->rev = ev->rev;
	sh->key = xstrdup(ev->key);
	sh->type = ev->type;
	sh->had_prev = ev->prev_value != NULL;
	pthread_mutex_init(&sh->mu, NULL);
	struct buf b = BUF_INIT;
	api_append_with_rv(&b, ev->value ? ev->value : "null", ev->rev);
	sh->len = b.len;
	sh->text = buf_steal(&b);
	struct wshared *old = hub->cur;
	hub->cur = sh;
	pthread_mutex_unlock(&hub->ev_mu);
	shared_put(old);
	return sh;
}

/* The event's object, parsed once; borrowed from sh. */
static json_t *shared_obj(struct wshared *sh)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->obj_done) {
		sh->obj = json_loadb(sh->text, sh->len, 0, NULL);
		if (!json_is_object(sh->obj)) {
			json_decref(sh->obj);
			sh->obj = NULL;
		}
		sh->obj_done = true;
	}
	pthread_mutex_unlock(&sh->mu);
	return sh->obj;
}

/* The value the write replaced (prev, borrowed from the store's event),
 * parsed once; borrowed from sh. */
static json_t *shared_old(struct wshared *sh, const char *prev)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->old_done) {
		sh->old = prev ? api_object_from_store(prev, sh->rev) : NULL;
		sh->old_done = true;
	}
	pthread_mutex_unlock(&sh->mu);
	return sh->old;
}

/* --- queue entries --------------------------------------------------------------- */

static const char *type_of(const struct wshared *sh)
{
	if (sh->type == STORE_EVENT_DELETE)
		return "DELETED";
	return sh->had_prev ? "MODIFIED" : "ADDED";
}

static void wentry_free(struct wentry *e)
{
	while (e) {
		struct wentry *n = e->next;
		shared_put(e->ev);
		free(e->line);
		free(e);
		e = n;
	}
}

static struct wentry *wentry_line(char *line, size_t len)
{
	struct wentry *e = xcalloc(1, sizeof(*e));
	e->line = line;
	e->len = len;
	e->bytes = len;
	return e;
}

/* {"type":"T","object":...}\n around a shared event: the three parts. */
#define HDR_FMT "{\"type\":\"%s\",\"object\":"
#define TRAILER "}\n"

static size_t hdr_len(const char *type)
{
	return strlen("{\"type\":\"\",\"object\":") + strlen(type);
}

/* Copies what is left of e from *off on into dst (at most max bytes);
 * returns the bytes copied. */
static size_t wentry_copy(const struct wentry *e, size_t *off, char *dst, size_t max)
{
	if (e->line) {
		size_t n = e->len - *off < max ? e->len - *off : max;
		memcpy(dst, e->line + *off, n);
		*off += n;
		return n;
	}
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), HDR_FMT, e->type);
	const struct {
		const char *p;
		size_t len;
	} parts[] = {{hdr, (size_t)hl}, {e->ev->text, e->ev->len}, {TRAILER, 2}};
	size_t done = 0, start = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && done < max; i++) {
		size_t end = start + parts[i].len;
		if (*off < end) {
			size_t from = *off - start;
			size_t n = parts[i].len - from;
			if (n > max - done)
				n = max - done;
			memcpy(dst + done, parts[i].p + from, n);
			done += n;
			*off += n;
		}
		start = end;
	}
	return done;
}

static size_t wentry_total(const struct wentry *e)
{
	return e->line ? e->len : hdr_len(e->type) + e->ev->len + 2;
}

/* --- per watcher ---------------------------------------------------------------- */

/* ws->mu held. */
static void wake(struct watch_stream *ws)
{
	if (ws->stream)
		httpd_stream_resume(ws->stream);
}

/* Drops what ws has queued (not the entry being written). ws->mu held. */
static void drop_queue(struct watch_stream *ws)
{
	wentry_free(ws->head);
	ws->head = ws->tail = NULL;
	ws->queued = 0;
	ws->queued_bytes = 0;
}

/* Appends one line to out: {"type":..., "object": obj} (obj borrowed). */
static void emit(struct buf *out, const char *type, const json_t *obj)
{
	cleanup_json json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
	cleanup_free char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return;
	buf_append_str(out, text);
	buf_append_char(out, '\n');
}

/* Appends obj's line to out as this watcher sends it (a Table row when asked). */
static void emit_object(struct watch_stream *ws, struct buf *out, const char *type,
			const json_t *obj)
{
	cleanup_json json_t *served = NULL;
	if (ws->r->from_stored) {
		served = json_deep_copy(obj);
		ws->r->from_stored(ws->r, served);
		obj = served;
	}
	if (ws->table) {
		cleanup_json json_t *arr = json_pack("[O]", obj);
		cleanup_json json_t *t =
			api_table_of(ws->r, arr, ws->include_object, !ws->columns_sent);
		if (t) {
			ws->columns_sent = true;
			const char *rv = json_path_str(obj, "metadata.resourceVersion");
			json_path_set(t, "metadata.resourceVersion", json_string(rv ? rv : ""));
			emit(out, type, t);
			return;
		}
	}
	emit(out, type, obj);
}

/* The ERROR event a watcher ends with when it cannot go on from where it is. */
static struct wentry *expired_entry(int64_t rev, int64_t oldest)
{
	cleanup_free char *msg = xasprintf("too old resource version: %lld (%lld)", (long long)rev,
					   (long long)oldest);
	cleanup_json json_t *st = status_failure(410, "Expired", msg, NULL);
	struct buf b = BUF_INIT;
	emit(&b, "ERROR", st);
	size_t len = b.len;
	return wentry_line(buf_steal(&b), len);
}

/* Queues e (taken), or cuts the watcher off when its queue is full. ws->mu held. */
static void enqueue(struct watch_stream *ws, struct wentry *e)
{
	if (ws->queued >= MAX_QUEUED || ws->queued_bytes + e->bytes > ws->hub->queue_bytes) {
		log_warn("watch of %s fell behind (%zu events, %zu bytes queued); closing it",
			 ws->r->resource, ws->queued, ws->queued_bytes);
		int64_t rev = e->ev ? e->ev->rev : ws->last_rev;
		wentry_free(e);
		drop_queue(ws);
		e = expired_entry(ws->sent_rev, rev);
		e->bytes = 0;
		ws->closing = true;
	}
	if (ws->tail)
		ws->tail->next = e;
	else
		ws->head = e;
	ws->tail = e;
	ws->queued++;
	ws->queued_bytes += e->bytes;
}

/* The type this watcher sends ev as, or NULL if its selector drops it; as
 * upstream's cacher does, an update moving an object into the selection is
 * ADDED, out of it DELETED. */
static const char *select_event(struct watch_stream *ws, struct wshared *sh,
				const struct store_event *ev)
{
	if (ws->raw)
		return type_of(sh);
	json_t *obj = shared_obj(sh);
	if (!obj)
		return NULL;
	if (api_filter_empty(ws->filter))
		return type_of(sh);
	bool now_in = api_filter_matches(ws->filter, ws->r, obj);
	if (sh->type == STORE_EVENT_DELETE)
		return now_in ? "DELETED" : NULL;
	if (!sh->had_prev)
		return now_in ? "ADDED" : NULL;
	json_t *old = shared_old(sh, ev->prev_value);
	bool was_in = old && api_filter_matches(ws->filter, ws->r, old);
	if (now_in)
		return was_in ? "MODIFIED" : "ADDED";
	return was_in ? "DELETED" : NULL;
}

/* The ERROR event of a watch whose history the store lost under it. */
static struct wentry *lost_history_entry(void)
{
	cleanup_json json_t *st = status_failure(
		410, "Expired", "The resourceVersion for the provided watch is too old.", NULL);
	struct buf b = BUF_INIT;
	emit(&b, "ERROR", st);
	size_t len = b.len;
	struct wentry *e = wentry_line(buf_steal(&b), len);
	e->bytes = 0; /* the last word, whatever the watcher has queued */
	return e;
}

static void on_store_event(const struct store_event *ev, void *arg)
{
	struct watch_stream *ws = arg;
	pthread_mutex_lock(&ws->mu);
	if (ev->rev > ws->last_rev)
		ws->last_rev = ev->rev;
	bool closing = ws->closing;
	if (!closing && ev->type == STORE_EVENT_EXPIRED) {
		/* no key, no value, nothing after it: the client relists */
		enqueue(ws, lost_history_entry());
		ws->closing = true;
		wake(ws);
		closing = true;
	}
	pthread_mutex_unlock(&ws->mu);
	if (closing)
		return;
	struct wshared *sh = shared_get(ws->hub, ev);
	const char *type = select_event(ws, sh, ev);
	if (!type) {
		shared_put(sh);
		return;
	}
	struct wentry *e = xcalloc(1, sizeof(*e));
	e->ev = sh;
	e->type = type;
	e->bytes = sh->len;
	pthread_mutex_lock(&ws->mu);
	if (ws->closing)
		wentry_free(e);
	else
		enqueue(ws, e);
	wake(ws);
	pthread_mutex_unlock(&ws->mu);
}

/* Makes the Table row of a popped entry. Reader only, without ws->mu. */
static void render_table(struct watch_stream *ws, struct wentry *e)
{
	struct buf b = BUF_INIT;
	json_t *obj = e->ev ? shared_obj(e->ev) : NULL;
	if (obj)
		emit_object(ws, &b, e->type, obj);
	shared_put(e->ev);
	e->ev = NULL;
	e->len = b.len;
	e->line = buf_steal(&b);
}

static ssize_t reader(void *arg, char *dst, size_t max, bool stopping)
{
	struct watch_stream *ws = arg;
	size_t n = 0;
	pthread_mutex_lock(&ws->mu);
	while (n < max) {
		if (!ws->cur) {
			struct wentry *e = ws->head;
			if (!e)
				break;
			ws->head = e->next;
			if (!ws->head)
				ws->tail = NULL;
			e->next = NULL;
			ws->queued--;
			ws->queued_bytes -= e->bytes;
			if (e->ev && e->ev->rev > ws->sent_rev)
				ws->sent_rev = e->ev->rev;
			ws->cur = e;
			ws->cur_off = 0;
			if (e->ev && (ws->table || ws->r->from_stored)) {
				pthread_mutex_unlock(&ws->mu);
				render_table(ws, e);
				pthread_mutex_lock(&ws->mu);
			}
		}
		n += wentry_copy(ws->cur, &ws->cur_off, dst + n, max - n);
		if (ws->cur_off == wentry_total(ws->cur)) {
			wentry_free(ws->cur);
			ws->cur = NULL;
		}
	}
	bool end = n == 0 && (ws->closing || stopping);
	pthread_mutex_unlock(&ws->mu);
	if (n)
		return (ssize_t)n;
	/* nothing to send: parked until an event resumes the stream */
	return end ? HTTPD_STREAM_END : 0;
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
	wentry_free(ws->head);
	wentry_free(ws->cur);
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

/* --- the ticker ------------------------------------------------------------------- */

/* Ends the watches whose client closed its connection. hub->mu held: the
 * streams of the list and their sockets stay open meanwhile. */
static void reap_gone_clients(struct watch_hub *hub)
{
	if (!hub->count)
		return;
	size_t n = 0;
	cleanup_free struct pollfd *fds = xcalloc((size_t)hub->count, sizeof(*fds));
	cleanup_free struct watch_stream **of = xcalloc((size_t)hub->count, sizeof(*of));
	for (struct watch_stream *ws = hub->list; ws && n < (size_t)hub->count; ws = ws->next) {
		if (ws->fd < 0)
			continue;
		fds[n] = (struct pollfd){.fd = ws->fd, .events = POLLRDHUP};
		of[n++] = ws;
	}
	if (poll(fds, n, 0) <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
			continue;
		struct watch_stream *ws = of[i];
		pthread_mutex_lock(&ws->mu);
		if (!ws->closing) {
			ws->closing = true;
			drop_queue(ws);
			wake(ws);
		}
		pthread_mutex_unlock(&ws->mu);
	}
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
				char rv[32];
				snprintf(rv, sizeof(rv), "%lld", (long long)ws->last_rev);
				cleanup_json json_t *bm =
					json_pack("{s:s, s:s, s:{s:s}}", "kind", ws->r->kind,
						  "apiVersion", api_resource_api_version(ws->r),
						  "metadata", "resourceVersion", rv);
				struct buf b = BUF_INIT;
				emit(&b, "BOOKMARK", bm);
				size_t len = b.len;
				enqueue(ws, wentry_line(buf_steal(&b), len));
				wake(ws);
			}
			pthread_mutex_unlock(&ws->mu);
		}
		reap_gone_clients(hub);
		pthread_mutex_unlock(&hub->mu);
		/* an event stays cached until the next one; a quiet store should
		 * not keep the last one */
		pthread_mutex_lock(&hub->ev_mu);
		struct wshared *old = hub->cur;
		hub->cur = NULL;
		pthread_mutex_unlock(&hub->ev_mu);
		shared_put(old);
		if (__atomic_load_n(&hub->freed, __ATOMIC_RELAXED) >= TRIM_AFTER_BYTES) {
			__atomic_store_n(&hub->freed, 0, __ATOMIC_RELAXED);
			malloc_trim(0);
		}
		pthread_mutex_lock(&hub->mu);
	}
	pthread_mutex_unlock(&hub->mu);
	return NULL;
}

/* --- the hub ---------------------------------------------------------------------- */

struct watch_hub *watch_hub_new(struct store *st, unsigned bookmark_seconds, size_t queue_bytes)
{
	struct watch_hub *hub = xcalloc(1, sizeof(*hub));
	hub->st = st;
	hub->bookmark_seconds = bookmark_seconds;
	hub->queue_bytes = queue_bytes ? queue_bytes : DEFAULT_QUEUE_BYTES;
	pthread_mutex_init(&hub->mu, NULL);
	pthread_mutex_init(&hub->ev_mu, NULL);
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
	shared_put(hub->cur);
	pthread_mutex_destroy(&hub->mu);
	pthread_mutex_destroy(&hub->ev_mu);
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
		 const char *ns, struct api_filter *filter, const struct watch_options *opt)
{
	struct watch_stream *ws = xcalloc(1, sizeof(*ws));
	pthread_mutex_init(&ws->mu, NULL);
	ws->hub = hub;
	ws->fd = httpd_req_fd(rq->hr);
	ws->r = r;
	ws->filter = filter;
	ws->table = req_wants_table(rq);
	ws->raw = !ws->table && !r->from_stored && api_filter_empty(filter);
	const char *inc = req_query(rq, "includeObject");
	ws->include_object = inc ? xstrdup(inc) : NULL;
	ws->bookmarks = opt->bookmarks;
	time_t now = time(NULL);
	long long timeout = opt->timeout_seconds;
	if (!opt->has_timeout || timeout == 0)
		timeout = 1800 + random() % 1800; /* upstream: minRequestTimeout .. 2x */
	ws->deadline = now + timeout;
	ws->next_bookmark = now + hub->bookmark_seconds;
	int64_t rv = opt->resource_version;
	cleanup_free char *prefix = r->storage ? api_prefix(r, ns) : NULL;

	if (timeout < 0) {
		/* As upstream, whose watch context has expired before it starts:
		 * the stream ends at once. */
		ws->closing = true;
	} else if (!r->storage) {
		/* Virtual resources do not change: current state, then an idle stream. */
		struct buf b = BUF_INIT;
		cleanup_json json_t *items = r->virtual_list ? r->virtual_list(hub->st) : json_array();
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) if (api_filter_matches(filter, r, it))
			emit_object(ws, &b, "ADDED", it);
		size_t len = b.len;
		if (len)
			enqueue(ws, wentry_line(buf_steal(&b), len));
		buf_free(&b);
	} else if (rv <= 0) {
		struct store_list l = {0};
		cleanup_err struct mk_err *err = NULL;
		if (store_list(hub->st, prefix, NULL, 0, 0, &l, &err) < 0) {
			stream_free(ws);
			req_reply_status(rq, status_from_err(err, r, NULL));
			return;
		}
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < l.n; i++) {
			cleanup_json json_t *obj =
				api_object_from_store(l.items[i].value, l.items[i].mod_rev);
			if (obj && api_filter_matches(filter, r, obj))
				emit_object(ws, &b, "ADDED", obj);
		}
		rv = l.rev;
		store_list_free(&l);
		/* the state a watch starts from does not count against its budget:
		 * it is as large as the collection, whoever asks */
		size_t len = b.len;
		if (len) {
			struct wentry *e = wentry_line(buf_steal(&b), len);
			e->bytes = 0;
			enqueue(ws, e);
		}
		buf_free(&b);
	}
	ws->last_rev = rv;
	ws->sent_rev = rv;

	if (r->storage && !ws->closing) {
		cleanup_err struct mk_err *err = NULL;
		ws->sw = store_watch(hub->st, prefix, rv, on_store_event, ws, &err);
		if (!ws->sw) {
			if (mk_err_code(err) == MK_EEXPIRED) {
				enqueue(ws, expired_entry(rv, store_compact_rev(hub->st)));
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
