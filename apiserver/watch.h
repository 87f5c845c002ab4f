/* Watch streams of the API server: every watch is an HTTP stream fed by the
 * store's watch callback, without a thread of its own while it waits. One
 * hub per server keeps the open streams, ends them at their timeout or when
 * their client has gone, and queues their BOOKMARK events (one ticker
 * thread for all).
 *
 * Memory: an event is held once however many watchers send it, and only by
 * the watchers whose selector takes it. A watcher's queue holds at most
 * queue_bytes of events; a watcher that falls further behind gets an ERROR
 * event (410 Expired, "too old resource version") after what it already
 * had, and its stream ends, so that its client relists. */
#ifndef MK_APISERVER_WATCH_H
#define MK_APISERVER_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/objects.h"
#include "apiserver/request.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

struct watch_hub;

/* A hub reading from st (borrowed until watch_hub_free), with BOOKMARKs
 * every bookmark_seconds and queue_bytes per watcher (0: 64 MiB). New,
 * watch_hub_free(). */
struct watch_hub *watch_hub_new(struct store *st, unsigned bookmark_seconds, size_t queue_bytes);
/* Once the HTTP server, and with it every stream, has stopped. Accepts NULL. */
void watch_hub_free(struct watch_hub *hub);
/* The parameters of a watch request, already checked. */
struct watch_options {
	int64_t resource_version; /* 0: the current state first, then changes */
	bool has_timeout;	  /* timeoutSeconds given */
	long long timeout_seconds; /* 0: 30 to 60 minutes; < 0: ends at once */
	bool bookmarks;		  /* allowWatchBookmarks */
};

/* Answers rq with a watch of r in ns (NULL: all namespaces) through filter
 * (taken), as opt says (borrowed for the call), with the request's
 * includeObject and Table Accept header. */
void watch_serve(struct watch_hub *hub, struct api_request *rq, const struct api_resource *r,
		 const char *ns, struct api_filter *filter, const struct watch_options *opt);
/* Number of open watch streams. */
long watch_hub_count(struct watch_hub *hub);

#endif
