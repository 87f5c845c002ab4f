/* The API server's storage interface: a revisioned key-value store whose
 * operations map one to one onto etcd v3 requests (range, txn with a MOD
 * compare, deleterange, watch, compaction, leases). Backends: store-sqlite.c
 * (embedded, default) and store-etcd.c (etcd v3). Keys are
 * "/registry/<resource>/[<ns>/]<name>".
 *
 * Revisions are one global counter: every successful write bumps it by one.
 * An object's resourceVersion is its mod_rev; a list's is the store revision
 * at which it was read.
 *
 * All functions are thread-safe. Errors use mk_err codes: MK_ENOTFOUND,
 * MK_EEXISTS, MK_ECONFLICT, MK_EEXPIRED (revision compacted), MK_ETOOLARGE,
 * MK_EBACKEND (the backend refused a write in its own words: etcd's request
 * size limit, below STORE_MAX_VALUE), MK_EIO. */
#ifndef MK_APISERVER_STORE_H
#define MK_APISERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

/* The largest value a write may store, in bytes: what the largest request
 * body can hold, so that no write (a patch that grows an object, a status
 * update) stores an object a create could not have sent. etcd refuses
 * values over its own --max-request-bytes in the same way. */
#define STORE_MAX_VALUE 3145728u

struct store;
struct store_watch;

struct store_kv {
	char *key;          /* owned */
	char *value;        /* owned, NUL-terminated JSON text */
	int64_t create_rev; /* revision that created the key */
	int64_t mod_rev;    /* revision of the last write: the resourceVersion */
};

struct store_list {
	struct store_kv *items; /* owned array, key order */
	size_t n;
	int64_t rev;       /* revision the list was read at */
	bool more;         /* more keys after the last item (limit reached) */
	int64_t remaining; /* number of keys after the last item */
};

enum store_event_type {
	STORE_EVENT_PUT,    /* create or update: create_rev == rev means created */
	STORE_EVENT_DELETE, /* value holds the object as it was when deleted */
	/* The watch cannot go on: events after rev were lost (the backend's
	 * history was compacted under it). Key and values are NULL and no other
	 * event follows: stop the watch and relist. Only the etcd backend sends
	 * it (its watch connection found its revision compacted). */
	STORE_EVENT_EXPIRED,
};

/* Borrowed by the callback for the duration of the call only. */
struct store_event {
	enum store_event_type type;
	int64_t rev; /* the write's revision */
	const char *key;
	const char *value;      /* new value; for DELETE the last value */
	const char *prev_value; /* value before this write, NULL on create */
	int64_t create_rev;
};

/* Receives events in revision order. Must not block or call back into the
 * store: copy what is needed and return. Called from the store's threads. */
typedef void (*store_watch_cb)(const struct store_event *ev, void *arg);

/* One read of store_read_batch: key alone, or every key under it (a prefix). */
struct store_read {
	const char *key; /* borrowed */
	bool prefix;
	struct store_list out; /* filled: key order; 0 or 1 item for a key alone */
};

struct store_ops {
	int (*get)(struct store *st, const char *key, struct store_kv *out, struct mk_err **err);
	int (*list)(struct store *st, const char *prefix, const char *start_key, int64_t limit,
		    int64_t at_rev, struct store_list *out, struct mk_err **err);
	int64_t (*create)(struct store *st, const char *key, const char *value, int64_t ttl,
			  struct mk_err **err);
	int64_t (*update)(struct store *st, const char *key, const char *value, int64_t expect_rev,
			  int64_t ttl, struct store_kv *current, struct mk_err **err);
	int64_t (*del)(struct store *st, const char *key, int64_t expect_rev,
		       struct store_kv *last, struct mk_err **err);
	struct store_watch *(*watch)(struct store *st, const char *prefix, int64_t after_rev,
				     store_watch_cb cb, void *arg, struct mk_err **err);
	void (*watch_stop)(struct store_watch *w);
	int (*compact)(struct store *st, int64_t rev, struct mk_err **err);
	int64_t (*current_rev)(struct store *st);
	int64_t (*compact_rev)(struct store *st);
	void (*close)(struct store *st);
	/* optional: store_read_batch in one request */
	int (*read_batch)(struct store *st, struct store_read *reads, size_t n,
			  struct mk_err **err);
};

/* Every backend's handle starts with this. */
struct store {
	const struct store_ops *ops;
};

/* Runs n reads at one revision, as one request where the backend can (etcd:
 * one txn of ranges, one round trip in place of n). 0 with every out filled
 * (free each with store_list_free), or -1 with *err and none filled. */
int store_read_batch(struct store *st, struct store_read *reads, size_t n, struct mk_err **err);

/* Reads the current value of key into *out (free with store_kv_free).
 * MK_ENOTFOUND if absent. */
static inline int store_get(struct store *st, const char *key, struct store_kv *out,
			    struct mk_err **err)
{
	return st->ops->get(st, key, out, err);
}

/* Lists keys starting with prefix, from start_key (inclusive; NULL = prefix),
 * at most limit items (0 = all), at revision at_rev (0 = current; an older
 * revision gives the state as of then, MK_EEXPIRED if compacted).
 * Free *out with store_list_free. */
static inline int store_list(struct store *st, const char *prefix, const char *start_key,
			     int64_t limit, int64_t at_rev, struct store_list *out,
			     struct mk_err **err)
{
	return st->ops->list(st, prefix, start_key, limit, at_rev, out, err);
}

/* A value over STORE_MAX_VALUE: -1 with MK_ETOOLARGE ("Request entity too
 * large: limit is 3145728", the API server's message for a body over the
 * same limit); 0 otherwise. */
static inline int store_check_size(const char *value, struct mk_err **err)
{
	if (value && strlen(value) > STORE_MAX_VALUE)
		return mk_err_set(err, MK_ETOOLARGE, "Request entity too large: limit is %u",
				  STORE_MAX_VALUE);
	return 0;
}

/* Creates key; returns the new revision, or -1 with MK_EEXISTS if present,
 * MK_ETOOLARGE (store_check_size). Durable when it returns. */
static inline int64_t store_create(struct store *st, const char *key, const char *value,
				   struct mk_err **err)
{
	if (store_check_size(value, err) < 0)
		return -1;
	return st->ops->create(st, key, value, 0, err);
}

/* As store_create, and the key is deleted (a DELETE event, as any delete)
 * about ttl seconds later unless written again (ttl > 0; 0 = never). */
static inline int64_t store_create_ttl(struct store *st, const char *key, const char *value,
				       int64_t ttl, struct mk_err **err)
{
	if (store_check_size(value, err) < 0)
		return -1;
	return st->ops->create(st, key, value, ttl, err);
}

/* Replaces key if its mod_rev equals expect_rev (0: any). Returns the new
 * revision; -1 with MK_ENOTFOUND, MK_ETOOLARGE (store_check_size), or
 * MK_ECONFLICT and the current kv in *current when non-NULL (free with
 * store_kv_free). */
static inline int64_t store_update(struct store *st, const char *key, const char *value,
				   int64_t expect_rev, struct store_kv *current,
				   struct mk_err **err)
{
	if (store_check_size(value, err) < 0)
		return -1;
	return st->ops->update(st, key, value, expect_rev, 0, current, err);
}

/* As store_update; the key expires ttl seconds after this write (ttl > 0),
 * or never (0), whatever an earlier write asked. */
static inline int64_t store_update_ttl(struct store *st, const char *key, const char *value,
				       int64_t expect_rev, int64_t ttl, struct store_kv *current,
				       struct mk_err **err)
{
	if (store_check_size(value, err) < 0)
		return -1;
	return st->ops->update(st, key, value, expect_rev, ttl, current, err);
}

/* Deletes key if its mod_rev equals expect_rev (0: any). Returns the delete's
 * revision and the deleted kv in *last when non-NULL; -1 with MK_ENOTFOUND or
 * MK_ECONFLICT. */
static inline int64_t store_delete(struct store *st, const char *key, int64_t expect_rev,
				   struct store_kv *last, struct mk_err **err)
{
	return st->ops->del(st, key, expect_rev, last, err);
}

/* Delivers every event under prefix with revision > after_rev, first the
 * retained history (MK_EEXPIRED if after_rev < compact revision), then live
 * events, with no gap and no duplicate. after_rev 0 = only future events.
 * Returns a handle for store_watch_stop. The SQLite backend delivers a write's
 * events before the write returns; the etcd backend delivers them when etcd
 * streams them back (usually within a millisecond), and may end a watch with
 * STORE_EVENT_EXPIRED. */
static inline struct store_watch *store_watch(struct store *st, const char *prefix,
					      int64_t after_rev, store_watch_cb cb, void *arg,
					      struct mk_err **err)
{
	return st->ops->watch(st, prefix, after_rev, cb, arg, err);
}

/* Stops a watch; no callback runs after it returns. Accepts NULL. */
void store_watch_stop(struct store *st, struct store_watch *w);

/* Drops history at or below rev (current values are kept). */
static inline int store_compact(struct store *st, int64_t rev, struct mk_err **err)
{
	return st->ops->compact(st, rev, err);
}

static inline int64_t store_current_rev(struct store *st)
{
	return st->ops->current_rev(st);
}

static inline int64_t store_compact_rev(struct store *st)
{
	return st->ops->compact_rev(st);
}

/* Closes the store and frees it; accepts NULL. */
void store_close(struct store *st);

void store_kv_free(struct store_kv *kv);
void store_list_free(struct store_list *l);

/* Opens (creating if needed) the SQLite store in dir/mink8s.db. Returns a new
 * handle; close with store_close. Starts its background compactor. */
struct store *store_sqlite_open(const char *dir, struct mk_err **err);

struct store_etcd_config {
	const char *servers;   /* --etcd-servers: comma-separated member URLs */
	const char *prefix;    /* --etcd-prefix: where "/registry" lives in etcd; NULL: "/registry" */
	const char *ca_file;   /* --etcd-cafile, NULL for none */
	const char *cert_file; /* --etcd-certfile */
	const char *key_file;  /* --etcd-keyfile */
	/* --etcd-compaction-interval: every interval, compact to the revision of
	 * the previous tick, coordinated through etcd's "compact_rev_key" as
	 * upstream's API servers do (one compaction per interval whatever the
	 * number of servers); 0 disables. */
	int64_t compaction_interval_ms;
	/* Key prefixes ("/registry/pods/", NULL-terminated; may be NULL) that get
	 * a watch cache at open: one etcd watch each, shared by every store watch
	 * under it. Other prefixes get theirs with their first watch. */
	const char *const *watch_prefixes;
	/* How long open keeps trying to reach etcd (0: one attempt). */
	int64_t wait_ms;
};

/* Connects to etcd (see store-etcd.c for the key layout and how watches are
 * served). New handle; close with store_close. */
struct store *store_etcd_open(const struct store_etcd_config *cfg, struct mk_err **err);

#endif
