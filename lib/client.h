/* REST client for the Kubernetes API over libcurl, JSON bodies.
 *
 * Threads: every function may be called from any thread. Plain requests of one
 * client share one keep-alive connection and are serialized by a mutex (give a
 * busy worker thread its own client if that becomes a bottleneck); each watch
 * runs on a connection of its own, so a thread blocked in client_watch does
 * not hold up requests from other threads.
 *
 * Errors: a non-2xx answer becomes an mk_err whose message is the Status
 * message the server sent (or the body text, or "the server responded with
 * HTTP N"), with the code mapped: 400 MK_EINVAL, 404 MK_ENOTFOUND,
 * 409 reason AlreadyExists MK_EEXISTS, other 409 MK_ECONFLICT, 410 MK_EEXPIRED,
 * 413 MK_ETOOLARGE, 405/406/415 MK_EUNSUPPORTED, 422 MK_EINVALID, 5xx and
 * connection failures MK_EUNAVAILABLE, timeouts MK_ETIMEOUT, anything else
 * MK_EINTERNAL. */
#ifndef MK_CLIENT_H
#define MK_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "kubeconfig.h"

struct client;

/* A client for server ("https://host:6443"; may be NULL) with the TLS
 * settings and credentials of kc (may be NULL). A non-NULL server wins over
 * kc's (as --master does); with neither, KUBECONFIG_DEFAULT_SERVER. A server
 * without a scheme ("127.0.0.1:8080") gets https:// when kc carries a CA or
 * client certificate and http:// otherwise; other schemes are MK_EINVAL.
 * kc is only read during the call. New client, client_free(). */
struct client *client_new(const char *server, const struct kubeconfig *kc, struct mk_err **err);

/* A new client with the server, TLS settings and credentials of c, and a
 * connection of its own (for a second thread). client_free(). */
struct client *client_dup(const struct client *c, struct mk_err **err);

/* Base URL without a trailing slash, borrowed from c. */
const char *client_server(const struct client *c);

/* GET path ("/api/v1/namespaces/default/pods/x"). New reference or NULL. */
json_t *client_get(struct client *c, const char *path, struct mk_err **err);

/* GET a collection ("/api/v1/pods", "/apis/apps/v1/namespaces/ns/deployments")
 * with optional selectors (NULL or "" for none; they are URL-escaped here).
 * Returns the List object (items, metadata.resourceVersion): new reference. */
json_t *client_list(struct client *c, const char *collection_path, const char *label_selector,
		    const char *field_selector, struct mk_err **err);

/* POST obj (borrowed) to collection_path (or a subresource such as
 * ".../pods/x/binding"). New reference to the answer, or NULL. */
json_t *client_create(struct client *c, const char *collection_path, const json_t *obj,
		      struct mk_err **err);

/* PUT obj (borrowed) to path (object or ".../status"). New reference or NULL. */
json_t *client_update(struct client *c, const char *path, const json_t *obj, struct mk_err **err);

/* PATCH path with patch (borrowed); patch_type "merge", "strategic" or "json"
 * (anything else: MK_EINVAL). New reference or NULL. */
json_t *client_patch(struct client *c, const char *path, const char *patch_type,
		     const json_t *patch, struct mk_err **err);

/* DELETE path with an optional DeleteOptions body (borrowed, may be NULL).
 * Returns 0 or -1. */
int client_delete(struct client *c, const char *path, const json_t *delete_options,
		  struct mk_err **err);

/* Any request: method, path (with query), optional JSON body (borrowed) sent
 * with content_type (NULL: application/json). Returns the parsed answer (new
 * reference; JSON null for an empty body) or NULL. */
json_t *client_request(struct client *c, const char *method, const char *path,
		       const char *content_type, const json_t *body, struct mk_err **err);

/* Turns a Status object (borrowed, may be NULL or not a Status) and an HTTP
 * code (0: take status.code) into an error mapped as above; returns -1.
 * Used for the Status inside watch ERROR events. */
int client_status_error(const json_t *status, long http_code, struct mk_err **err);

/* Percent-encodes s for a query value. New string, free(). */
char *client_query_escape(const char *s);

/* Called for each watch event: type ("ADDED", "MODIFIED", "DELETED",
 * "BOOKMARK", "ERROR") and object (borrowed for the call; json_incref to
 * keep). Return 0 to go on, non-zero to end the watch. */
typedef int (*client_watch_fn)(const char *type, json_t *object, void *arg);

/* Streams the watch at path_with_query ("/api/v1/pods?watch=1&resourceVersion=5")
 * and calls on_event for each event until the server ends the stream or
 * on_event asks to stop; both return 0. Returns -1 with an error if the
 * request fails, the server answers non-2xx (mapped as above), sends no
 * answer in time (MK_ETIMEOUT, see below; an idle stream after the answer is fine),
 * breaks off inside an event (MK_EUNAVAILABLE) or sends something that is not
 * an event (MK_EINVAL). ERROR events are passed to on_event like the others. */
int client_watch(struct client *c, const char *path_with_query, client_watch_fn on_event, void *arg,
		 struct mk_err **err);

/* As client_watch; in addition the watch ends (returning 0) within about a
 * second after *cancel becomes true (cancel may be NULL). */
int client_watch_cancellable(struct client *c, const char *path_with_query,
			     client_watch_fn on_event, void *arg, const atomic_bool *cancel,
			     struct mk_err **err);

/* How long a watch waits for the server's answer (status line and headers)
 * before failing with MK_ETIMEOUT; default 60 s. Thread-safe. */
void client_set_watch_answer_timeout(struct client *c, uint64_t ms);

/* Accepts NULL. No watch may be running on c. */
void client_free(struct client *c);

/* Watch stream framing, exposed for tests and other stream readers: splits a
 * byte stream into JSON values (whitespace between them ignored, a value may
 * span any number of chunks) and passes each event to on_event. */
struct client_watch_decoder {
	struct buf pending; /* bytes not yet consumed */
	size_t scan;	    /* scanning position inside pending */
	int depth;	    /* nesting depth at scan */
	bool in_string;	    /* scan is inside a string */
	bool escape;	    /* the previous byte was a backslash inside a string */
	bool stopped;	    /* on_event asked to stop */
	client_watch_fn on_event;
	void *arg;
};

void client_watch_decoder_init(struct client_watch_decoder *d, client_watch_fn on_event, void *arg);
/* Feeds len bytes. Returns 0, 1 once on_event asked to stop (the rest is
 * ignored), or -1 with MK_EINVAL for bytes that are not a watch event. */
int client_watch_decoder_feed(struct client_watch_decoder *d, const char *data, size_t len,
			      struct mk_err **err);
/* True if a partial value is pending (the stream was cut mid-event). */
bool client_watch_decoder_partial(const struct client_watch_decoder *d);
void client_watch_decoder_free(struct client_watch_decoder *d);

#endif
