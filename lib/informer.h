/* Informer: keeps a local cache of one resource in step with the API server
 * by list + watch, and tells handlers about every change.
 *
 * - The cache is keyed "namespace/name" ("name" for cluster-scoped objects).
 * - The first list fills the cache (on_add for each object) and marks the
 *   informer synced; then a watch from the list's resourceVersion applies
 *   ADDED/MODIFIED/DELETED events and follows BOOKMARKs.
 * - When the watch ends, it is reopened from the last resourceVersion seen.
 *   A 410 (an ERROR event with code 410, or the watch request failing with
 *   MK_EEXPIRED) relists, and the new list is diffed against the cache into
 *   on_add / on_update / on_delete calls.
 * - When the server cannot be reached the informer retries with exponential
 *   backoff (250 ms doubling up to 10 s, with jitter) and carries on, from its
 *   resourceVersion, once the server is back.
 *
 * Threads: the informer runs on a thread of its own (informer_start).
 * Handlers are called on that thread, one at a time, in event order, after
 * the cache was updated and without any informer lock held, so they may call
 * informer_get/informer_list. The other functions are thread-safe. */
#ifndef MK_INFORMER_H
#define MK_INFORMER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "client.h"
#include "err.h"

/* Objects passed to handlers are borrowed for the call (json_incref to keep
 * one) and must not be modified. Any handler may be NULL. */
struct informer_handlers {
	void (*on_add)(json_t *obj, void *arg);
	void (*on_update)(json_t *old_obj, json_t *new_obj, void *arg);
	/* obj is the last state known: the DELETED event's object, or the
	 * cached object when a relist found it gone. */
	void (*on_delete)(json_t *obj, void *arg);
	/* Reports list/watch failures the informer recovers from itself (the
	 * informer never prints); err is borrowed for the call. */
	void (*on_error)(const struct mk_err *err, void *arg);
	void *arg;
	/* Optional: what to keep of each object (list items and watch events)
	 * before it is cached and handed to the handlers, to hold only the
	 * fields a consumer reads. Returns a new reference; must keep
	 * metadata.namespace, name and resourceVersion. obj is borrowed. */
	json_t *(*transform)(json_t *obj, void *arg);
	/* Optional: the cache keeps only each object's key and resourceVersion,
	 * for consumers that hold their own copy of what they read (whole
	 * objects cost kilobytes each as JSON trees). Handlers still get the
	 * (transformed) objects, but on_update's old_obj, the object of an
	 * on_delete found by a relist, and informer_get/informer_list results
	 * are stubs with metadata namespace, name and resourceVersion only. */
	bool versions_only;
};

struct informer;

/* An informer on the collection path ("/api/v1/pods",
 * "/api/v1/namespaces/ns/pods", "/apis/apps/v1/deployments") with optional
 * selectors (NULL or "" for none). c is borrowed and must outlive the
 * informer; handlers is copied. Nothing runs until informer_start.
 * New informer, informer_free(). */
struct informer *informer_new(struct client *c, const char *path, const char *label_selector,
			      const char *field_selector, const struct informer_handlers *handlers,
			      struct mk_err **err);

/* Starts the informer's thread. Returns 0, or -1 (MK_EIO) if the thread
 * cannot be created or the informer was already started. */
int informer_start(struct informer *inf, struct mk_err **err);

/* Stops the thread and waits for it (within about a second). Idempotent.
 * Not from a handler of the same informer (it would wait for itself). */
void informer_stop(struct informer *inf);

/* True once the first list has been applied to the cache and its on_add
 * calls have returned. */
bool informer_has_synced(struct informer *inf);

/* Waits until synced or timeout_ms passed (0: forever); returns has_synced. */
bool informer_wait_synced(struct informer *inf, uint64_t timeout_ms);

/* The cached object under key ("ns/name"): new reference, or NULL. */
json_t *informer_get(struct informer *inf, const char *key);

/* Every cached object: new JSON array (of shared references; do not modify
 * the objects), order unspecified. */
json_t *informer_list(struct informer *inf);

/* The last resourceVersion applied to the cache: new string ("" before the
 * first list), free(). */
char *informer_resource_version(struct informer *inf);

/* Re-allocates the cache of a versions_only informer on the calling thread
 * (strmap_compact); nothing otherwise. */
void informer_compact(struct informer *inf);

/* Stops the informer if running and frees it. Accepts NULL. */
void informer_free(struct informer *inf);

/* The cache key of obj: "namespace/name", or "name" without a namespace.
 * New string, free(); NULL if obj has no metadata.name. */
char *informer_key(const json_t *obj);

/* Splits key into namespace ("" for cluster-scoped) and name: new strings. */
void informer_key_split(const char *key, char **ns, char **name);

#endif
