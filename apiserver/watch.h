/* Watch streams of the API server: every watch is an HTTP stream fed by the
 * store's watch callback, without a thread of its own while it waits. One
 * hub per server keeps the open streams, ends them at their timeout and
 * queues their BOOKMARK events (one ticker thread for all). */
#ifndef MK_APISERVER_WATCH_H
#define MK_APISERVER_WATCH_H

#include "apiserver/objects.h"
#include "apiserver/request.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

struct watch_hub;

/* A hub reading from st (borrowed until watch_hub_free), with BOOKMARKs
 * every bookmark_seconds. New, watch_hub_free(). */
struct watch_hub *watch_hub_new(struct store *st, unsigned bookmark_seconds);
/* Once the HTTP server, and with it every stream, has stopped. Accepts NULL. */
void watch_hub_free(struct watch_hub *hub);
/* Answers rq with a watch of r in ns (NULL: all namespaces) through filter
 * (taken), from the request's resourceVersion, timeoutSeconds,
 * allowWatchBookmarks and includeObject. */
void watch_serve(struct watch_hub *hub, struct api_request *rq, const struct api_resource *r,
		 const char *ns, struct api_filter *filter);
/* Number of open watch streams. */
long watch_hub_count(struct watch_hub *hub);

#endif
