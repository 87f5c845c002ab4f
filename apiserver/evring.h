/* A bounded ring of recent store events, in revision order, from which the
 * stores (store-sqlite.c, store-etcd.c) resume watches without reading
 * their log again. Bounded both in events and in bytes; the oldest events
 * go first. Not locked: its owner holds its own lock around every call. */
#ifndef MK_APISERVER_EVRING_H
#define MK_APISERVER_EVRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/store.h"

/* One event held by the ring; key, value and prev_value share one allocation. */
struct evring_ev {
	enum store_event_type type;
	int64_t rev;
	int64_t create_rev;
	char *key;	  /* owns the allocation */
	char *value;	  /* inside it */
	char *prev_value; /* inside it, NULL on create, == value on delete */
	size_t bytes;
};

struct evring {
	struct evring_ev *ev; /* circular, cap slots */
	size_t cap, head, n, bytes, max_bytes;
	int64_t dropped_rev; /* revision of the newest event dropped so far, 0 if none */
};

/* Sets up an empty ring; max_events 0 makes a ring that keeps nothing. */
void evring_init(struct evring *r, size_t max_events, size_t max_bytes);

/* Drops every event and frees the slots; the ring may be initialised again. */
void evring_free(struct evring *r);

/* Drops every event (dropped_rev follows), keeping the slots. */
void evring_clear(struct evring *r);

/* Appends a copy of ev, dropping the oldest events as the bounds require.
 * Returns false if it keeps nothing (no slots, or ev alone is over the byte
 * bound; the ring is then empty). */
bool evring_push(struct evring *r, const struct store_event *ev);

/* The i-th event from the oldest (i < n), borrowed until the next push,
 * clear or resize. */
const struct evring_ev *evring_nth(const struct evring *r, size_t i);

/* ev as a store event whose strings are borrowed from e. */
void evring_event(const struct evring_ev *e, struct store_event *ev);

/* New bounds (max_events at least 1), keeping the newest events that fit. */
void evring_resize(struct evring *r, size_t max_events, size_t max_bytes);

#endif
