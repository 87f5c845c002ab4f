/* Knobs of the stores (store-sqlite.c, store-etcd.c) for tests and
 * benchmarks; the API server itself only uses store.h. Each store_sqlite_*
 * takes a handle from store_sqlite_open, each store_etcd_* one from
 * store_etcd_open. */
#ifndef MK_APISERVER_STORE_INTERNAL_H
#define MK_APISERVER_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "apiserver/store.h"

/* Interval of the background compactor (default 300,000 ms): every tick it
 * compacts to the revision that was current at the previous tick. Takes
 * effect at once (the compactor is woken). */
void store_sqlite_set_compact_interval(struct store *st, unsigned interval_ms);

/* Bounds of the in-memory ring of recent events used to resume watches
 * without reading the log (defaults: 8192 events, 16 MiB). Existing events
 * beyond the new bounds are dropped. */
void store_sqlite_set_ring_limits(struct store *st, size_t max_events, size_t max_bytes);

/* Oldest revision still held by the ring (current revision + 1 when empty):
 * a watch resuming at or after this minus one is served from memory. */
int64_t store_sqlite_ring_first(struct store *st);

/* Number of write transactions committed since open (one per group commit
 * batch): writes / commits is the group-commit factor. */
uint64_t store_sqlite_commits(struct store *st);

/* Number of WAL checkpoints the housekeeper has run since open. */
uint64_t store_sqlite_checkpoints(struct store *st);

/* Bounds of each watch cache's ring of recent events (defaults: 4096 events,
 * 8 MiB); applies to existing caches at once, dropping their oldest events. */
void store_etcd_set_ring_limits(struct store *st, size_t max_events, size_t max_bytes);

/* The revision from which the shared watch cache serving prefix holds every
 * event (a watch resuming at or after it joins the cache; an older one gets
 * an etcd watch of its own). Starts the cache if needed; -1 on error. */
int64_t store_etcd_cache_window(struct store *st, const char *prefix);

/* Number of compactions this store asked etcd for (the compactor's and
 * store_compact's). */
uint64_t store_etcd_compactions(struct store *st);

#endif
