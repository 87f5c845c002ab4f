/* Embedded storage backend: one SQLite file in WAL mode, laid out as a
 * revision log plus a current-key table.
 *
 *   log(rev PK, key, value, create_rev, prev_rev, deleted)  every write, one row;
 *       a delete's tombstone row carries the deleted object's last value
 *   cur(key PK, rev, create_rev, value, expires)             live keys only;
 *       expires: Unix time a key written with a TTL goes, 0 = never
 *   meta(current_rev, compact_rev, schema_version)           one row
 *
 * Threads:
 * - the writer owns the only write connection. Callers queue a write intent
 *   and sleep; the writer drains the queue into one transaction (group
 *   commit), checks each compare-and-swap against cur inside it, assigns
 *   revisions current_rev + 1, ... itself (one per successful write, no gaps),
 *   commits, publishes the events to the watch fan-out in revision order and
 *   only then wakes the callers. Live watch callbacks therefore run on the
 *   writer thread, so they must be cheap. A watch's history replay (from the
 *   ring of recent events or from the log) runs on the thread calling
 *   store_watch, before it returns. A callback may read and may call
 *   store_watch_stop (even on its own watch); it must not write or start a
 *   watch.
 * - readers take a connection from a small pool; a list runs in one read
 *   transaction so the items and the revision agree. start_key is inclusive:
 *   to continue after key K, pass K followed by "\x01" (keys hold no NUL
 *   byte, so no key lies between K and that string). A list at a revision
 *   above the current one fails with MK_ETIMEOUT ("Too large resource
 *   version"), below the compact revision with MK_EEXPIRED.
 * - the housekeeper compacts every interval (through the writer, in batches of
 *   COMPACT_BATCH revisions so writes interleave) and runs PASSIVE WAL
 *   checkpoints on its own connection: automatic checkpoints are off on the
 *   writer, so commits never pay for one. A checkpoint runs when a commit
 *   leaves CHECKPOINT_PAGES in the WAL and after a second without commits;
 *   once a checkpoint has caught up the next commit restarts the WAL from
 *   its start, and journal_size_limit trims a WAL file that grew in a burst.
 *   Every wake (at least once a second) it also deletes keys whose TTL ran
 *   out, through the writer with a compare on their revision, so watchers see
 *   DELETE events and a key rewritten meanwhile stays.
 *
 * Memory: values live in SQLite; the process keeps only the ring of recent
 * events (bounded by count and bytes) and SQLite's page caches.
 */
#include "apiserver/evring.h"
#include "apiserver/store-internal.h"
#include "apiserver/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define SCHEMA_VERSION		    2
#define EXPIRE_BATCH		    100		 /* expired keys deleted per housekeeper wake */
#define WRITE_BATCH_MAX 256          /* intents per group-commit transaction */
#define COMPACT_BATCH 1000           /* revisions per compaction transaction */
#define REPLAY_CHUNK 1000            /* log rows per read transaction in a watch replay */
#define POOL_IDLE_MAX 8              /* idle reader connections kept open */
#define RING_EVENTS_DEFAULT 8192
#define RING_BYTES_DEFAULT (16u << 20)
#define COMPACT_INTERVAL_MS_DEFAULT 300000u
#define CHECKPOINT_PAGES 1000        /* WAL size (pages) that triggers a checkpoint */
#define JOURNAL_SIZE_LIMIT (64 << 20) /* WAL file truncated to this after a reset */
#define BUSY_TIMEOUT_MS 10000

enum stmt_id {
	S_BEGIN,
	S_BEGIN_IMMEDIATE,
	S_COMMIT,
	S_ROLLBACK,
	S_META,
	S_GET,
	S_LIST_CUR,
	S_COUNT_CUR,
	S_LIST_HIST,
	S_LOG_AFTER,
	S_CUR_PUT,
	S_CUR_DEL,
	S_LOG_INSERT,
	S_META_SET_REV,
	S_COMPACT_SUPERSEDED,
	S_COMPACT_TOMBSTONES,
	S_META_SET_COMPACT,
	S_EXPIRED,
	S_COUNT,
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN",
	[S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_META] = "SELECT current_rev, compact_rev FROM meta WHERE id = 1",
	[S_GET] = "SELECT rev, create_rev, value FROM cur WHERE key = ?1",
	[S_LIST_CUR] = "SELECT key, value, create_rev, rev FROM cur"
		       " WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3",
	[S_COUNT_CUR] = "SELECT count(*) FROM cur WHERE key > ?1 AND key < ?2",
	/* SQLite takes the bare columns of a query with a single max() from the
	 * row holding the maximum: the newest row of each key at ?3. */
	[S_LIST_HIST] = "SELECT key, value, create_rev, max(rev), deleted FROM log"
			" WHERE key >= ?1 AND key < ?2 AND rev <= ?3 GROUP BY key ORDER BY key",
	[S_LOG_AFTER] = "SELECT l.rev, l.key, l.value, l.create_rev, l.deleted, p.value"
			" FROM log AS l LEFT JOIN log AS p ON p.rev = l.prev_rev"
			" WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4"
			" ORDER BY l.rev LIMIT ?5",
	[S_CUR_PUT] = "INSERT INTO cur (key, rev, create_rev, value, expires)"
		      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO UPDATE SET"
		      " rev = excluded.rev, value = excluded.value, expires = excluded.expires",
	[S_CUR_DEL] = "DELETE FROM cur WHERE key = ?1",
	[S_LOG_INSERT] = "INSERT INTO log (rev, key, value, create_rev, prev_rev, deleted)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_META_SET_REV] = "UPDATE meta SET current_rev = ?1 WHERE id = 1",
	/* The compaction rule: a row superseded by a row at or below the target
	 * goes, and so does a tombstone at or below it. The newest row at or
	 * below the target of every live key stays, so reads at any revision from
	 * the compact revision on remain answerable. */
	[S_COMPACT_SUPERSEDED] = "DELETE FROM log WHERE rev IN (SELECT prev_rev FROM log"
				 " WHERE rev > ?1 AND rev <= ?2 AND prev_rev != 0)",
	[S_COMPACT_TOMBSTONES] = "DELETE FROM log WHERE rev > ?1 AND rev <= ?2 AND deleted != 0",
	[S_META_SET_COMPACT] = "UPDATE meta SET compact_rev = ?1 WHERE id = 1",
	[S_EXPIRED] = "SELECT key, rev FROM cur WHERE expires > 0 AND expires <= ?1 LIMIT ?2",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS log ("
	" rev INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL,"
	" create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);"
	"CREATE TABLE IF NOT EXISTS cur ("
	" key TEXT PRIMARY KEY, rev INTEGER NOT NULL, create_rev INTEGER NOT NULL,"
	" value TEXT NOT NULL, expires INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS meta ("
	" id INTEGER PRIMARY KEY CHECK (id = 1), current_rev INTEGER NOT NULL,"
	" compact_rev INTEGER NOT NULL, schema_version INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta (id, current_rev, compact_rev, schema_version)"
	" VALUES (1, 0, 0, 2);";

/* Version 1 had no TTL: cur gains its expires column. */
static const char migrate_v2_sql[] =
	"ALTER TABLE cur ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;"
	"UPDATE meta SET schema_version = 2 WHERE id = 1;";

/* Created after any migration, so that the column exists. */
static const char index_sql[] =
	"CREATE INDEX IF NOT EXISTS cur_expires ON cur (expires) WHERE expires > 0;";

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT]; /* prepared on first use */
	struct sq_conn *next;        /* idle pool link */
};

enum intent_op { OP_CREATE, OP_UPDATE, OP_DELETE, OP_COMPACT };

/* A write request queued for the writer; lives on the caller's stack until done. */
struct intent {
	enum intent_op op;
	const char *key;   /* borrowed from the caller */
	const char *value; /* borrowed; NULL for delete */
	int64_t expect_rev;
	int64_t expires; /* Unix time, 0 = never */
	int64_t compact_to;
	bool want_kv;
	/* results, written by the writer */
	int64_t rev;         /* new revision, 0 if nothing was written */
	struct mk_err *err;  /* failure, handed to the caller */
	struct store_kv kv;  /* current kv on conflict, last kv on delete */
	char *old_value;     /* value before the write (event's prev_value) */
	int64_t create_rev;
	bool done;
	pthread_cond_t cond;
	struct intent *next;
};

struct store_watch {
	struct sq_store *s;
	char *prefix;
	size_t prefix_len;
	store_watch_cb cb;
	void *arg;
	int64_t last_rev; /* events up to here were delivered (or skipped) */
	bool dead;        /* stopped from inside a callback; freed by the fan-out */
	struct store_watch *next;
};

struct sq_store {
	struct store base;
	char *path;
	int lock_fd;

	/* writer */
	struct sq_conn *wconn;
	pthread_t writer;
	pthread_mutex_t q_mu;
	pthread_cond_t q_cond;
	struct intent *q_head, *q_tail;
	bool closing;
	int64_t wrev;        /* writer's copy of current_rev */
	int64_t current_rev; /* atomic: committed */
	int64_t compact_rev; /* atomic: committed */
	uint64_t commits;    /* atomic */
	pthread_mutex_t compact_mu; /* one compaction at a time */

	/* readers */
	pthread_mutex_t pool_mu;
	struct sq_conn *pool;
	unsigned pool_idle;

	/* watch fan-out; fan_mu guards everything below */
	pthread_mutex_t fan_mu;
	struct store_watch *watches;
	bool has_dead;
	int64_t pub_rev;         /* newest revision published to watches */
	struct evring ring;

	/* housekeeper */
	struct sq_conn *hconn;
	pthread_t housekeeper;
	pthread_mutex_t hk_mu;
	pthread_cond_t hk_cond;
	bool hk_stop;
	bool hk_checkpoint;      /* the WAL passed hk_trigger_pages */
	/* atomic: WAL pages at which a commit asks for a checkpoint. A
	 * checkpoint that could not copy everything (a reader holds an old
	 * snapshot, writes keep coming) moves it CHECKPOINT_PAGES past the WAL's
	 * size, so sustained writes do not bring one (and its fsyncs) per
	 * commit; a complete one sets it back. */
	int hk_trigger_pages;
	uint64_t checkpoints;    /* atomic: checkpoints run */
	unsigned compact_interval_ms;
	bool hk_reschedule;
};

/* The store whose fan-out lock this thread holds while running callbacks:
 * store_watch_stop from inside a callback only marks the watch. */
static __thread struct sq_store *delivering_store;

static struct sq_store *sq(struct store *st)
{
	return (struct sq_store *)st;
}

/* --- connections ---------------------------------------------------------- */

static int db_fail(struct mk_err **err, sqlite3 *db, const char *what)
{
	return mk_err_set(err, MK_EIO, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

static void conn_close(struct sq_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

static int conn_exec(struct sq_conn *c, const char *sql, struct mk_err **err)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mk_err_set(err, MK_EIO, "sqlite: %s: %s", sql, msg ? msg : "unknown error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static struct sq_conn *conn_open(const char *path, bool writer, struct mk_err **err)
{
	struct sq_conn *c = xcalloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		if (!c->db)
			mk_err_set(err, MK_EIO, "sqlite: opening %s: out of memory", path);
		else
			db_fail(err, c->db, path);
		conn_close(c);
		return NULL;
	}
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	/* Synchronous FULL: a commit is on disk (WAL fsynced) before the writer
	 * acknowledges it, so acknowledged writes survive kill -9 and power loss. */
	if (conn_exec(c, "PRAGMA synchronous = FULL", err) < 0 ||
	    conn_exec(c, "PRAGMA foreign_keys = OFF", err) < 0) {
		conn_close(c);
		return NULL;
	}
	if (writer) {
		char *sql = xasprintf("PRAGMA journal_size_limit = %d", JOURNAL_SIZE_LIMIT);
		int rc = conn_exec(c, sql, err);
		free(sql);
		if (rc < 0) {
			conn_close(c);
			return NULL;
		}
		sqlite3_wal_autocheckpoint(c->db, 0);
	}
	return c;
}

/* Returns the connection's prepared statement id, reset and unbound. */
static sqlite3_stmt *stmt(struct sq_conn *c, enum stmt_id id, struct mk_err **err)
{
	if (!c->stmt[id]) {
		if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &c->stmt[id], NULL) != SQLITE_OK) {
			db_fail(err, c->db, "preparing a statement");
			return NULL;
		}
	} else {
		sqlite3_reset(c->stmt[id]);
		sqlite3_clear_bindings(c->stmt[id]);
	}
	return c->stmt[id];
}

/* Runs a statement that returns no rows. */
static int stmt_run(struct sq_conn *c, sqlite3_stmt *s, const char *what, struct mk_err **err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(err, c->db, what);
	return 0;
}

static int conn_simple(struct sq_conn *c, enum stmt_id id, struct mk_err **err)
{
	sqlite3_stmt *s = stmt(c, id, err);
	if (!s)
		return -1;
	return stmt_run(c, s, stmt_sql[id], err);
}

static struct sq_conn *pool_get(struct sq_store *s, struct mk_err **err)
{
	pthread_mutex_lock(&s->pool_mu);
	struct sq_conn *c = s->pool;
	if (c) {
		s->pool = c->next;
		s->pool_idle--;
	}
	pthread_mutex_unlock(&s->pool_mu);
	if (c)
		return c;
	c = conn_open(s->path, false, err);
	if (!c)
		mk_err_wrap(err, "opening a reader connection");
	return c;
}

static void pool_put(struct sq_store *s, struct sq_conn *c)
{
	/* Never park a connection inside a transaction (after an error path). */
	if (!sqlite3_get_autocommit(c->db))
		conn_simple(c, S_ROLLBACK, NULL);
	pthread_mutex_lock(&s->pool_mu);
	if (s->pool_idle < POOL_IDLE_MAX) {
		c->next = s->pool;
		s->pool = c;
		s->pool_idle++;
		c = NULL;
	}
	pthread_mutex_unlock(&s->pool_mu);
	conn_close(c);
}

static int read_meta(struct sq_conn *c, int64_t *current, int64_t *compact, struct mk_err **err)
{
	sqlite3_stmt *st = stmt(c, S_META, err);
	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(err, c->db, "reading meta");
	}
	*current = sqlite3_column_int64(st, 0);
	*compact = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return 0;
}

static char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	if (!t)
		return NULL;
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

/* Binds the key range [start, end of prefix) to parameters i and i + 1.
 * Without an upper bound (empty prefix) the end is a BLOB, which SQLite
 * orders after every TEXT value. */
static void bind_range(sqlite3_stmt *st, int i, const char *start, const char *end)
{
	sqlite3_bind_text(st, i, start, -1, SQLITE_TRANSIENT);
	if (end)
		sqlite3_bind_text(st, i + 1, end, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_blob(st, i + 1, "\xff", 1, SQLITE_STATIC);
}

/* First key after every key starting with prefix, new string, or NULL when
 * there is none ("" or all bytes 0xff). */
static char *prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	if (n == 0)
		return NULL;
	char *end = xstrndup(prefix, n);
	end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	return end;
}

/* --- reads ---------------------------------------------------------------- */

static int sq_get(struct store *st, const char *key, struct store_kv *out, struct mk_err **err)
{
	struct sq_store *s = sq(st);
	memset(out, 0, sizeof(*out));
	struct sq_conn *c = pool_get(s, err);
	if (!c)
		return -1;
	int ret = -1;
	sqlite3_stmt *q = stmt(c, S_GET, err);
	if (!q)
		goto out;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->key = xstrdup(key);
		out->mod_rev = sqlite3_column_int64(q, 0);
		out->create_rev = sqlite3_column_int64(q, 1);
		out->value = col_str(q, 2);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		mk_err_set(err, MK_ENOTFOUND, "key %s not found", key);
	} else {
		db_fail(err, c->db, "get");
	}
	sqlite3_reset(q);
out:
	pool_put(s, c);
	return ret;
}

static void list_push(struct store_list *l, size_t *cap, sqlite3_stmt *q)
{
	if (l->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		l->items = xrealloc(l->items, *cap * sizeof(*l->items));
	}
	struct store_kv *kv = &l->items[l->n++];
	kv->key = col_str(q, 0);
	kv->value = col_str(q, 1);
	kv->create_rev = sqlite3_column_int64(q, 2);
	kv->mod_rev = sqlite3_column_int64(q, 3);
}

static int list_current(struct sq_conn *c, const char *start, const char *end, int64_t limit,
			struct store_list *out, struct mk_err **err)
{
	size_t cap = 0;
	sqlite3_stmt *q = stmt(c, S_LIST_CUR, err);
	if (!q)
		return -1;
	bind_range(q, 1, start, end);
	sqlite3_bind_int64(q, 3, limit > 0 ? limit : -1);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		list_push(out, &cap, q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_fail(err, c->db, "list");
	if (limit <= 0 || out->n < (size_t)limit)
		return 0;
	q = stmt(c, S_COUNT_CUR, err);
	if (!q)
		return -1;
	bind_range(q, 1, out->items[out->n - 1].key, end);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		out->remaining = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return db_fail(err, c->db, "counting keys");
	out->more = out->remaining > 0;
	return 0;
}

static int list_history(struct sq_conn *c, const char *start, const char *end, int64_t limit,
			int64_t at_rev, struct store_list *out, struct mk_err **err)
{
	size_t cap = 0;
	sqlite3_stmt *q = stmt(c, S_LIST_HIST, err);
	if (!q)
		return -1;
	bind_range(q, 1, start, end);
	sqlite3_bind_int64(q, 3, at_rev);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_int(q, 4))
			continue; /* deleted as of at_rev */
		if (limit > 0 && out->n == (size_t)limit)
			out->remaining++;
		else
			list_push(out, &cap, q);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_fail(err, c->db, "list at a revision");
	out->more = out->remaining > 0;
	return 0;
}

static int sq_list(struct store *st, const char *prefix, const char *start_key, int64_t limit,
		   int64_t at_rev, struct store_list *out, struct mk_err **err)
{
	struct sq_store *s = sq(st);
	memset(out, 0, sizeof(*out));
	if (!prefix)
		prefix = "";
	if (at_rev < 0)
		return mk_err_set(err, MK_EINVAL, "invalid revision %lld", (long long)at_rev);
	cleanup_free char *end = prefix_end(prefix);
	const char *start = start_key && strcmp(start_key, prefix) > 0 ? start_key : prefix;
	/* An empty range still reports the revision. */
	bool empty = end && strcmp(start, end) >= 0;

	struct sq_conn *c = pool_get(s, err);
	if (!c)
		return -1;
	int ret = -1;
	int64_t current, compact;
	if (conn_simple(c, S_BEGIN, err) < 0 || read_meta(c, &current, &compact, err) < 0)
		goto out;
	if (at_rev > current) {
		mk_err_set(err, MK_ETIMEOUT, "Too large resource version: %lld, current: %lld",
			   (long long)at_rev, (long long)current);
		goto out;
	}
	if (at_rev != 0 && at_rev < compact) {
		mk_err_set(err, MK_EEXPIRED, "revision %lld has been compacted (compact revision %lld)",
			   (long long)at_rev, (long long)compact);
		goto out;
	}
	out->rev = at_rev ? at_rev : current;
	if (!empty) {
		int rc = out->rev == current ? list_current(c, start, end, limit, out, err)
					     : list_history(c, start, end, limit, out->rev, out, err);
		if (rc < 0)
			goto out;
	}
	if (conn_simple(c, S_COMMIT, err) < 0)
		goto out;
	ret = 0;
out:
	pool_put(s, c);
	if (ret < 0)
		store_list_free(out);
	return ret;
}

/* --- watch fan-out -------------------------------------------------------- */

static bool watch_matches(const struct store_watch *w, const char *key)
{
	return strncmp(key, w->prefix, w->prefix_len) == 0;
}

static void watch_free(struct store_watch *w)
{
	if (!w)
		return;
	free(w->prefix);
	free(w);
}

/* Oldest revision in the ring; pub_rev + 1 when empty. fan_mu held. */
static int64_t ring_first_locked(struct sq_store *s)
{
	return s->pub_rev + 1 - (int64_t)s->ring.n;
}

static const struct evring_ev *ring_at(struct sq_store *s, int64_t rev)
{
	return evring_nth(&s->ring, (size_t)(rev - ring_first_locked(s)));
}

/* Frees watches stopped from inside callbacks. fan_mu held. */
static void fan_reap(struct sq_store *s)
{
	if (!s->has_dead)
		return;
	for (struct store_watch **pp = &s->watches; *pp;) {
		struct store_watch *w = *pp;
		if (w->dead) {
			*pp = w->next;
			watch_free(w);
		} else {
			pp = &w->next;
		}
	}
	s->has_dead = false;
}

static void deliver(struct store_watch *w, const struct store_event *ev)
{
	if (w->dead || ev->rev <= w->last_rev)
		return;
	w->last_rev = ev->rev;
	if (watch_matches(w, ev->key))
		w->cb(ev, w->arg);
}

/* Publishes committed events (in revision order) to the ring and the watches. */
static void fan_publish(struct sq_store *s, const struct store_event *evs, size_t n)
{
	pthread_mutex_lock(&s->fan_mu);
	delivering_store = s;
	for (size_t i = 0; i < n; i++) {
		/* ring_at() relies on consecutive revisions, which the writer
		 * guarantees; were one ever skipped, start the ring afresh. */
		if (s->ring.n > 0 && evs[i].rev != s->pub_rev + 1)
			evring_clear(&s->ring);
		s->pub_rev = evs[i].rev;
		/* one too big to keep leaves the ring empty: replays read the log */
		evring_push(&s->ring, &evs[i]);
		for (struct store_watch *w = s->watches; w; w = w->next)
			deliver(w, &evs[i]);
	}
	delivering_store = NULL;
	fan_reap(s);
	pthread_mutex_unlock(&s->fan_mu);
}

/* Replays the log after w->last_rev up to the newest committed revision,
 * outside the fan-out lock, in short read transactions. */
static int replay_log(struct sq_store *s, struct store_watch *w, struct mk_err **err)
{
	cleanup_free char *end = prefix_end(w->prefix);
	struct sq_conn *c = pool_get(s, err);
	if (!c)
		return -1;
	int ret = -1;
	for (;;) {
		int64_t current, compact;
		if (conn_simple(c, S_BEGIN, err) < 0 || read_meta(c, &current, &compact, err) < 0)
			goto out;
		if (w->last_rev < compact) {
			mk_err_set(err, MK_EEXPIRED, "too old resource version: %lld (%lld)",
				   (long long)w->last_rev, (long long)compact);
			goto out;
		}
		sqlite3_stmt *q = stmt(c, S_LOG_AFTER, err);
		if (!q)
			goto out;
		sqlite3_bind_int64(q, 1, w->last_rev);
		sqlite3_bind_int64(q, 2, current);
		bind_range(q, 3, w->prefix, end);
		sqlite3_bind_int64(q, 5, REPLAY_CHUNK);
		int rc, rows = 0;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			bool del = sqlite3_column_int(q, 4) != 0;
			const char *value = (const char *)sqlite3_column_text(q, 2);
			struct store_event ev = {
				.type = del ? STORE_EVENT_DELETE : STORE_EVENT_PUT,
				.rev = sqlite3_column_int64(q, 0),
				.key = (const char *)sqlite3_column_text(q, 1),
				.value = value,
				.prev_value = del ? value : (const char *)sqlite3_column_text(q, 5),
				.create_rev = sqlite3_column_int64(q, 3),
			};
			w->last_rev = ev.rev;
			w->cb(&ev, w->arg);
			rows++;
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			db_fail(err, c->db, "reading the log");
			goto out;
		}
		if (conn_simple(c, S_COMMIT, err) < 0)
			goto out;
		if (rows < REPLAY_CHUNK) {
			if (w->last_rev < current)
				w->last_rev = current;
			break;
		}
	}
	ret = 0;
out:
	pool_put(s, c);
	return ret;
}

static struct store_watch *sq_watch(struct store *st, const char *prefix, int64_t after_rev,
				    store_watch_cb cb, void *arg, struct mk_err **err)
{
	struct sq_store *s = sq(st);
	if (after_rev < 0) {
		mk_err_set(err, MK_EINVAL, "invalid revision %lld", (long long)after_rev);
		return NULL;
	}
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->prefix = xstrdup(prefix ? prefix : "");
	w->prefix_len = strlen(w->prefix);
	w->cb = cb;
	w->arg = arg;
	w->last_rev = after_rev;
	for (;;) {
		pthread_mutex_lock(&s->fan_mu);
		if (after_rev == 0)
			w->last_rev = s->pub_rev;
		int64_t compact = __atomic_load_n(&s->compact_rev, __ATOMIC_ACQUIRE);
		if (w->last_rev < compact) {
			pthread_mutex_unlock(&s->fan_mu);
			mk_err_set(err, MK_EEXPIRED, "too old resource version: %lld (%lld)",
				   (long long)w->last_rev, (long long)compact);
			watch_free(w);
			return NULL;
		}
		if (w->last_rev + 1 >= ring_first_locked(s)) {
			/* The rest is in memory: deliver it and go live under one lock
			 * hold, so the writer cannot publish in between. */
			delivering_store = s;
			for (int64_t r = w->last_rev + 1; r <= s->pub_rev; r++) {
				struct store_event ev;
				evring_event(ring_at(s, r), &ev);
				deliver(w, &ev);
			}
			delivering_store = NULL;
			w->next = s->watches;
			s->watches = w;
			fan_reap(s);
			pthread_mutex_unlock(&s->fan_mu);
			return w;
		}
		pthread_mutex_unlock(&s->fan_mu);
		/* Older than the ring: read the log, then try to switch again. The
		 * log may run ahead of pub_rev (committed, not yet published); the
		 * fan-out skips what this watch already got (last_rev). */
		if (replay_log(s, w, err) < 0) {
			watch_free(w);
			return NULL;
		}
	}
}

static void sq_watch_stop(struct store_watch *w)
{
	if (!w)
		return;
	struct sq_store *s = w->s;
	if (delivering_store == s) {
		/* Called from a callback: this thread already holds fan_mu. */
		w->dead = true;
		s->has_dead = true;
		return;
	}
	pthread_mutex_lock(&s->fan_mu);
	for (struct store_watch **pp = &s->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->fan_mu);
	watch_free(w);
}

/* --- writer --------------------------------------------------------------- */

/* Reads the current row of key into the intent's scratch fields. Returns 1 if
 * present, 0 if absent, -1 on error. */
static int cur_read(struct sq_conn *c, const char *key, int64_t *rev, int64_t *create_rev,
		    char **value, struct mk_err **err)
{
	sqlite3_stmt *q = stmt(c, S_GET, err);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		*rev = sqlite3_column_int64(q, 0);
		*create_rev = sqlite3_column_int64(q, 1);
		*value = col_str(q, 2);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_fail(err, c->db, "reading the current value");
	}
	sqlite3_reset(q);
	return ret;
}

static int log_insert(struct sq_conn *c, int64_t rev, const char *key, const char *value,
		      int64_t create_rev, int64_t prev_rev, bool deleted, struct mk_err **err)
{
	sqlite3_stmt *q = stmt(c, S_LOG_INSERT, err);
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, rev);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, create_rev);
	sqlite3_bind_int64(q, 5, prev_rev);
	sqlite3_bind_int(q, 6, deleted);
	return stmt_run(c, q, "appending to the log", err);
}

static int cur_put(struct sq_conn *c, const char *key, int64_t rev, int64_t create_rev,
		   const char *value, int64_t expires, struct mk_err **err)
{
	sqlite3_stmt *q = stmt(c, S_CUR_PUT, err);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, rev);
	sqlite3_bind_int64(q, 3, create_rev);
	sqlite3_bind_text(q, 4, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, expires);
	return stmt_run(c, q, "writing the current value", err);
}

static int cur_del(struct sq_conn *c, const char *key, struct mk_err **err)
{
	sqlite3_stmt *q = stmt(c, S_CUR_DEL, err);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	return stmt_run(c, q, "deleting the current value", err);
}

/* Applies one write inside the batch transaction at revision rev. Returns 1 if
 * it wrote, 0 if it failed a precondition (it->err set), -1 on a database
 * error (*err set; the batch is rolled back). */
static int intent_apply(struct sq_conn *c, struct intent *it, int64_t rev, struct mk_err **err)
{
	int64_t mod_rev = 0, create_rev = 0;
	cleanup_free char *value = NULL;
	int found = cur_read(c, it->key, &mod_rev, &create_rev, &value, err);
	if (found < 0)
		return -1;
	if (it->op == OP_CREATE) {
		if (found) {
			mk_err_set(&it->err, MK_EEXISTS, "key %s already exists", it->key);
			return 0;
		}
		if (log_insert(c, rev, it->key, it->value, rev, 0, false, err) < 0 ||
		    cur_put(c, it->key, rev, rev, it->value, it->expires, err) < 0)
			return -1;
		it->create_rev = rev;
		it->rev = rev;
		return 1;
	}
	if (!found) {
		mk_err_set(&it->err, MK_ENOTFOUND, "key %s not found", it->key);
		return 0;
	}
	if (it->expect_rev && it->expect_rev != mod_rev) {
		mk_err_set(&it->err, MK_ECONFLICT, "key %s is at revision %lld, not %lld", it->key,
			   (long long)mod_rev, (long long)it->expect_rev);
		if (it->want_kv)
			it->kv = (struct store_kv){.key = xstrdup(it->key),
						   .value = steal_pointer(&value),
						   .create_rev = create_rev,
						   .mod_rev = mod_rev};
		return 0;
	}
	if (it->op == OP_UPDATE) {
		if (log_insert(c, rev, it->key, it->value, create_rev, mod_rev, false, err) < 0 ||
		    cur_put(c, it->key, rev, create_rev, it->value, it->expires, err) < 0)
			return -1;
	} else {
		if (log_insert(c, rev, it->key, value, create_rev, mod_rev, true, err) < 0 ||
		    cur_del(c, it->key, err) < 0)
			return -1;
		if (it->want_kv)
			it->kv = (struct store_kv){.key = xstrdup(it->key),
						   .value = xstrdup(value),
						   .create_rev = create_rev,
						   .mod_rev = mod_rev};
	}
	it->create_rev = create_rev;
	it->old_value = steal_pointer(&value);
	it->rev = rev;
	return 1;
}

static void intent_reset_results(struct intent *it)
{
	store_kv_free(&it->kv);
	free(it->old_value);
	it->old_value = NULL;
	mk_err_free(it->err);
	it->err = NULL;
	it->rev = 0;
}

/* Wakes the callers of a chain of intents. */
static void intents_done(struct sq_store *s, struct intent *batch)
{
	pthread_mutex_lock(&s->q_mu);
	while (batch) {
		struct intent *next = batch->next;
		batch->done = true;
		pthread_cond_signal(&batch->cond);
		batch = next; /* the caller may free it once q_mu is released */
	}
	pthread_mutex_unlock(&s->q_mu);
}

static void batch_fail(struct intent *batch, const struct mk_err *cause)
{
	for (struct intent *it = batch; it; it = it->next) {
		intent_reset_results(it);
		mk_err_set(&it->err, MK_EIO, "%s", cause ? cause->msg : "write failed");
	}
}

/* One group-commit transaction over a chain of create/update/delete intents. */
static void writer_batch(struct sq_store *s, struct intent *batch)
{
	struct sq_conn *c = s->wconn;
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = s->wrev;
	size_t n = 0;

	if (conn_simple(c, S_BEGIN_IMMEDIATE, &err) < 0)
		goto fail;
	for (struct intent *it = batch; it; it = it->next) {
		int r = intent_apply(c, it, rev + 1, &err);
		if (r < 0)
			goto rollback;
		if (r > 0) {
			rev++;
			n++;
		}
	}
	if (n > 0) {
		sqlite3_stmt *q = stmt(c, S_META_SET_REV, &err);
		if (!q)
			goto rollback;
		sqlite3_bind_int64(q, 1, rev);
		if (stmt_run(c, q, "updating the revision", &err) < 0)
			goto rollback;
	}
	if (conn_simple(c, S_COMMIT, &err) < 0)
		goto rollback;

	s->wrev = rev;
	__atomic_store_n(&s->current_rev, rev, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
	if (n > 0) {
		struct store_event *evs = xcalloc(n, sizeof(*evs));
		size_t i = 0;
		for (struct intent *it = batch; it; it = it->next) {
			if (!it->rev)
				continue;
			bool del = it->op == OP_DELETE;
			evs[i++] = (struct store_event){
				.type = del ? STORE_EVENT_DELETE : STORE_EVENT_PUT,
				.rev = it->rev,
				.key = it->key,
				.value = del ? it->old_value : it->value,
				.prev_value = it->old_value,
				.create_rev = it->create_rev,
			};
		}
		fan_publish(s, evs, n);
		free(evs);
	}
	for (struct intent *it = batch; it; it = it->next) {
		free(it->old_value);
		it->old_value = NULL;
	}
	intents_done(s, batch);
	return;

rollback:
	if (!sqlite3_get_autocommit(c->db))
		conn_simple(c, S_ROLLBACK, NULL);
fail:
	log_error("store: write batch failed: %s", mk_err_msg(err));
	batch_fail(batch, err);
	intents_done(s, batch);
}

/* One compaction step, (compact_rev, it->compact_to], in its own transaction. */
static void writer_compact(struct sq_store *s, struct intent *it)
{
	struct sq_conn *c = s->wconn;
	int64_t from = __atomic_load_n(&s->compact_rev, __ATOMIC_ACQUIRE);
	int64_t to = it->compact_to;
	sqlite3_stmt *q;

	it->next = NULL;
	if (to <= from)
		goto done;
	if (conn_simple(c, S_BEGIN_IMMEDIATE, &it->err) < 0)
		goto done;
	if (!(q = stmt(c, S_COMPACT_SUPERSEDED, &it->err)))
		goto rollback;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, to);
	if (stmt_run(c, q, "compacting superseded rows", &it->err) < 0)
		goto rollback;
	if (!(q = stmt(c, S_COMPACT_TOMBSTONES, &it->err)))
		goto rollback;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, to);
	if (stmt_run(c, q, "compacting tombstones", &it->err) < 0)
		goto rollback;
	if (!(q = stmt(c, S_META_SET_COMPACT, &it->err)))
		goto rollback;
	sqlite3_bind_int64(q, 1, to);
	if (stmt_run(c, q, "recording the compact revision", &it->err) < 0 ||
	    conn_simple(c, S_COMMIT, &it->err) < 0)
		goto rollback;
	__atomic_store_n(&s->compact_rev, to, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
	goto done;
rollback:
	if (!sqlite3_get_autocommit(c->db))
		conn_simple(c, S_ROLLBACK, NULL);
done:
	intents_done(s, it);
}

static void *writer_main(void *arg)
{
	struct sq_store *s = arg;
	pthread_mutex_lock(&s->q_mu);
	for (;;) {
		while (!s->q_head && !s->closing)
			pthread_cond_wait(&s->q_cond, &s->q_mu);
		if (!s->q_head)
			break; /* closing and drained */
		struct intent *batch = s->q_head, *last = batch;
		if (batch->op == OP_COMPACT) {
			s->q_head = batch->next;
		} else {
			/* Take writes up to the next compaction or the batch limit. */
			size_t n = 1;
			while (last->next && last->next->op != OP_COMPACT && n < WRITE_BATCH_MAX) {
				last = last->next;
				n++;
			}
			s->q_head = last->next;
			last->next = NULL;
		}
		if (!s->q_head)
			s->q_tail = NULL;
		pthread_mutex_unlock(&s->q_mu);
		if (batch->op == OP_COMPACT)
			writer_compact(s, batch);
		else
			writer_batch(s, batch);
		pthread_mutex_lock(&s->q_mu);
	}
	pthread_mutex_unlock(&s->q_mu);
	return NULL;
}

/* Queues an intent and waits for the writer. Returns it->rev or -1. */
static int64_t intent_submit(struct sq_store *s, struct intent *it, struct mk_err **err)
{
	/* From a callback run by the writer, or under the fan-out lock, the
	 * write could never be acknowledged. */
	if (delivering_store == s || pthread_equal(pthread_self(), s->writer))
		return mk_err_set(err, MK_EINVAL, "store: write from inside a watch callback");
	pthread_cond_init(&it->cond, NULL);
	pthread_mutex_lock(&s->q_mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->q_mu);
		pthread_cond_destroy(&it->cond);
		return mk_err_set(err, MK_EUNAVAILABLE, "store is closing");
	}
	if (s->q_tail)
		s->q_tail->next = it;
	else
		s->q_head = it;
	s->q_tail = it;
	pthread_cond_signal(&s->q_cond);
	while (!it->done)
		pthread_cond_wait(&it->cond, &s->q_mu);
	pthread_mutex_unlock(&s->q_mu);
	pthread_cond_destroy(&it->cond);
	if (it->err) {
		if (err && !*err)
			*err = it->err;
		else
			mk_err_free(it->err);
		it->err = NULL;
		return -1;
	}
	return it->rev;
}

static int64_t expires_of(int64_t ttl)
{
	return ttl > 0 ? (int64_t)time(NULL) + ttl : 0;
}

static int64_t sq_create(struct store *st, const char *key, const char *value, int64_t ttl,
			 struct mk_err **err)
{
	if (!key || !value)
		return mk_err_set(err, MK_EINVAL, "store: create without a key or value");
	struct intent it = {
		.op = OP_CREATE, .key = key, .value = value, .expires = expires_of(ttl)};
	return intent_submit(sq(st), &it, err);
}

static int64_t sq_update(struct store *st, const char *key, const char *value, int64_t expect_rev,
			 int64_t ttl, struct store_kv *current, struct mk_err **err)
{
	if (current)
		memset(current, 0, sizeof(*current));
	if (!key || !value)
		return mk_err_set(err, MK_EINVAL, "store: update without a key or value");
	struct intent it = {.op = OP_UPDATE,
			    .key = key,
			    .value = value,
			    .expect_rev = expect_rev,
			    .expires = expires_of(ttl),
			    .want_kv = current != NULL};
	int64_t rev = intent_submit(sq(st), &it, err);
	if (current)
		*current = it.kv;
	else
		store_kv_free(&it.kv);
	return rev;
}

static int64_t sq_del(struct store *st, const char *key, int64_t expect_rev,
		      struct store_kv *last, struct mk_err **err)
{
	if (last)
		memset(last, 0, sizeof(*last));
	if (!key)
		return mk_err_set(err, MK_EINVAL, "store: delete without a key");
	struct intent it = {.op = OP_DELETE,
			    .key = key,
			    .expect_rev = expect_rev,
			    .want_kv = last != NULL};
	int64_t rev = intent_submit(sq(st), &it, err);
	if (last)
		*last = it.kv;
	else
		store_kv_free(&it.kv);
	return rev;
}

static int sq_compact(struct store *st, int64_t rev, struct mk_err **err)
{
	struct sq_store *s = sq(st);
	int64_t current = __atomic_load_n(&s->current_rev, __ATOMIC_ACQUIRE);
	if (rev < 0 || rev > current)
		return mk_err_set(err, MK_EINVAL, "cannot compact to revision %lld (current %lld)",
				  (long long)rev, (long long)current);
	pthread_mutex_lock(&s->compact_mu);
	int ret = 0;
	for (;;) {
		int64_t from = __atomic_load_n(&s->compact_rev, __ATOMIC_ACQUIRE);
		if (from >= rev)
			break;
		struct intent it = {
			.op = OP_COMPACT,
			.compact_to = rev - from > COMPACT_BATCH ? from + COMPACT_BATCH : rev,
		};
		if (intent_submit(s, &it, err) < 0) {
			ret = mk_err_wrap(err, "compacting to revision %lld", (long long)rev);
			break;
		}
	}
	pthread_mutex_unlock(&s->compact_mu);
	return ret;
}

static int64_t sq_current_rev(struct store *st)
{
	return __atomic_load_n(&sq(st)->current_rev, __ATOMIC_ACQUIRE);
}

static int64_t sq_compact_rev(struct store *st)
{
	return __atomic_load_n(&sq(st)->compact_rev, __ATOMIC_ACQUIRE);
}

/* --- housekeeper ---------------------------------------------------------- */

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	struct sq_store *s = arg;
	if (pages >= __atomic_load_n(&s->hk_trigger_pages, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&s->hk_mu);
		if (!s->hk_checkpoint) {
			s->hk_checkpoint = true;
			pthread_cond_signal(&s->hk_cond);
		}
		pthread_mutex_unlock(&s->hk_mu);
	}
	return SQLITE_OK;
}

static void timespec_add_ms(struct timespec *t, unsigned ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Deletes up to EXPIRE_BATCH keys whose TTL ran out. Returns how many were
 * found (a full batch: call again). */
static int expire_keys(struct sq_store *s)
{
	struct sq_conn *c = s->hconn;
	cleanup_err struct mk_err *err = NULL;
	sqlite3_stmt *q = stmt(c, S_EXPIRED, &err);
	if (!q) {
		log_warn("store: %s", mk_err_msg(err));
		return 0;
	}
	sqlite3_bind_int64(q, 1, (int64_t)time(NULL));
	sqlite3_bind_int(q, 2, EXPIRE_BATCH);
	size_t n = 0;
	char *keys[EXPIRE_BATCH];
	int64_t revs[EXPIRE_BATCH];
	while (n < EXPIRE_BATCH && sqlite3_step(q) == SQLITE_ROW) {
		keys[n] = col_str(q, 0);
		revs[n] = sqlite3_column_int64(q, 1);
		n++;
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < n; i++) {
		cleanup_err struct mk_err *derr = NULL;
		/* A conflict or a miss means it was written or deleted meanwhile. */
		if (keys[i] && store_delete(&s->base, keys[i], revs[i], NULL, &derr) < 0 &&
		    mk_err_code(derr) != MK_ECONFLICT && mk_err_code(derr) != MK_ENOTFOUND)
			log_warn("store: expiring %s: %s", keys[i], mk_err_msg(derr));
		free(keys[i]);
	}
	return (int)n;
}

static void *housekeeper_main(void *arg)
{
	struct sq_store *s = arg;
	struct timespec next, now;
	/* Revision current at the previous tick: the next compaction target. */
	int64_t prev_tick_rev = __atomic_load_n(&s->current_rev, __ATOMIC_ACQUIRE);
	uint64_t seen_commits = 0, checkpointed_commits = 0;

	pthread_mutex_lock(&s->hk_mu);
	clock_gettime(CLOCK_MONOTONIC, &next);
	timespec_add_ms(&next, s->compact_interval_ms);
	while (!s->hk_stop) {
		/* Wake at least every second to checkpoint a WAL gone idle. */
		struct timespec wake;
		clock_gettime(CLOCK_MONOTONIC, &wake);
		timespec_add_ms(&wake, 1000);
		if (timespec_before(&next, &wake))
			wake = next;
		if (!s->hk_checkpoint && !s->hk_reschedule)
			pthread_cond_timedwait(&s->hk_cond, &s->hk_mu, &wake);
		if (s->hk_stop)
			break;
		if (s->hk_reschedule) {
			s->hk_reschedule = false;
			clock_gettime(CLOCK_MONOTONIC, &next);
			timespec_add_ms(&next, s->compact_interval_ms);
		}
		bool checkpoint = s->hk_checkpoint;
		s->hk_checkpoint = false;
		pthread_mutex_unlock(&s->hk_mu);

		uint64_t commits = __atomic_load_n(&s->commits, __ATOMIC_RELAXED);
		if (commits == seen_commits && commits != checkpointed_commits)
			checkpoint = true; /* no commit since the last wake */
		seen_commits = commits;
		if (checkpoint) {
			int wal = 0, copied = 0;
			int rc = sqlite3_wal_checkpoint_v2(s->hconn->db, NULL,
							   SQLITE_CHECKPOINT_PASSIVE, &wal, &copied);
			__atomic_add_fetch(&s->checkpoints, 1, __ATOMIC_RELAXED);
			bool complete = rc == SQLITE_OK && copied == wal;
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				log_warn("store: WAL checkpoint: %s", sqlite3_errmsg(s->hconn->db));
			else if (complete)
				checkpointed_commits = commits;
			__atomic_store_n(&s->hk_trigger_pages,
					 complete ? CHECKPOINT_PAGES : (wal > 0 ? wal : 0) + CHECKPOINT_PAGES,
					 __ATOMIC_RELAXED);
		}

		while (expire_keys(s) == EXPIRE_BATCH)
			;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!timespec_before(&now, &next)) {
			int64_t target = prev_tick_rev;
			prev_tick_rev = __atomic_load_n(&s->current_rev, __ATOMIC_ACQUIRE);
			if (target > __atomic_load_n(&s->compact_rev, __ATOMIC_ACQUIRE)) {
				cleanup_err struct mk_err *err = NULL;
				if (store_compact(&s->base, target, &err) < 0)
					log_warn("store: %s", mk_err_msg(err));
			}
			clock_gettime(CLOCK_MONOTONIC, &next);
			pthread_mutex_lock(&s->hk_mu);
			timespec_add_ms(&next, s->compact_interval_ms);
		} else {
			pthread_mutex_lock(&s->hk_mu);
		}
	}
	pthread_mutex_unlock(&s->hk_mu);
	return NULL;
}

/* --- open / close --------------------------------------------------------- */

static void sq_free(struct sq_store *s)
{
	conn_close(s->wconn);
	conn_close(s->hconn);
	while (s->pool) {
		struct sq_conn *c = s->pool;
		s->pool = c->next;
		conn_close(c);
	}
	while (s->watches) {
		struct store_watch *w = s->watches;
		s->watches = w->next;
		watch_free(w);
	}
	evring_free(&s->ring);
	pthread_mutex_destroy(&s->q_mu);
	pthread_cond_destroy(&s->q_cond);
	pthread_mutex_destroy(&s->compact_mu);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->fan_mu);
	pthread_mutex_destroy(&s->hk_mu);
	pthread_cond_destroy(&s->hk_cond);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->path);
	free(s);
}

static void sq_close(struct store *st)
{
	struct sq_store *s = sq(st);
	pthread_mutex_lock(&s->hk_mu);
	s->hk_stop = true;
	pthread_cond_signal(&s->hk_cond);
	pthread_mutex_unlock(&s->hk_mu);
	pthread_join(s->housekeeper, NULL);

	pthread_mutex_lock(&s->q_mu);
	s->closing = true;
	pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_mu);
	pthread_join(s->writer, NULL);
	sq_free(s);
}

static const struct store_ops sq_ops = {
	.get = sq_get,
	.list = sq_list,
	.create = sq_create,
	.update = sq_update,
	.del = sq_del,
	.watch = sq_watch,
	.watch_stop = sq_watch_stop,
	.compact = sq_compact,
	.current_rev = sq_current_rev,
	.compact_rev = sq_compact_rev,
	.close = sq_close,
};

static int open_schema(struct sq_store *s, struct mk_err **err)
{
	struct sq_conn *c = s->wconn;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &q, NULL) != SQLITE_OK)
		return db_fail(err, c->db, "setting WAL mode");
	bool wal = sqlite3_step(q) == SQLITE_ROW &&
		   strcmp((const char *)sqlite3_column_text(q, 0), "wal") == 0;
	sqlite3_finalize(q);
	if (!wal)
		return mk_err_set(err, MK_EIO, "sqlite: %s: cannot switch to WAL mode", s->path);

	if (conn_simple(c, S_BEGIN_IMMEDIATE, err) < 0)
		return -1;
	if (conn_exec(c, schema_sql, err) < 0)
		goto rollback;
	if (sqlite3_prepare_v2(c->db, "SELECT schema_version FROM meta WHERE id = 1", -1, &q,
			       NULL) != SQLITE_OK) {
		db_fail(err, c->db, "reading the schema version");
		goto rollback;
	}
	int version = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
	sqlite3_finalize(q);
	if (version == 1) {
		if (conn_exec(c, migrate_v2_sql, err) < 0)
			goto rollback;
		version = 2;
	}
	if (conn_exec(c, index_sql, err) < 0)
		goto rollback;
	if (version != SCHEMA_VERSION) {
		mk_err_set(err, MK_EIO, "%s: unsupported schema version %d (want %d)", s->path,
			   version, SCHEMA_VERSION);
		goto rollback;
	}
	int64_t current, compact;
	if (read_meta(c, &current, &compact, err) < 0 || conn_simple(c, S_COMMIT, err) < 0)
		goto rollback;
	s->wrev = current;
	s->current_rev = current;
	s->compact_rev = compact;
	s->pub_rev = current;
	return 0;
rollback:
	conn_simple(c, S_ROLLBACK, NULL);
	return -1;
}

struct store *store_sqlite_open(const char *dir, struct mk_err **err)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		mk_err_errno(err, MK_EIO, errno, "creating %s", dir);
		return NULL;
	}
	struct sq_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &sq_ops;
	s->lock_fd = -1;
	s->path = xasprintf("%s/mink8s.db", dir);
	pthread_mutex_init(&s->q_mu, NULL);
	pthread_cond_init(&s->q_cond, NULL);
	pthread_mutex_init(&s->compact_mu, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_mutex_init(&s->fan_mu, NULL);
	pthread_mutex_init(&s->hk_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->hk_cond, &ca);
	pthread_condattr_destroy(&ca);
	evring_init(&s->ring, RING_EVENTS_DEFAULT, RING_BYTES_DEFAULT);
	s->compact_interval_ms = COMPACT_INTERVAL_MS_DEFAULT;
	s->hk_trigger_pages = CHECKPOINT_PAGES;

	/* Revisions are assigned in this process: a second process writing the
	 * same file would fork the history, so it is refused. */
	cleanup_free char *lock_path = xasprintf("%s/mink8s.lock", dir);
	s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		mk_err_errno(err, MK_EIO, errno, "opening %s", lock_path);
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			mk_err_set(err, MK_EUNAVAILABLE, "%s is in use by another process", s->path);
		else
			mk_err_errno(err, MK_EIO, errno, "locking %s", lock_path);
		goto fail;
	}
	if (!(s->wconn = conn_open(s->path, true, err)) || open_schema(s, err) < 0 ||
	    !(s->hconn = conn_open(s->path, false, err)))
		goto fail;
	sqlite3_wal_hook(s->wconn->db, wal_hook, s);

	int rc = pthread_create(&s->writer, NULL, writer_main, s);
	if (rc) {
		mk_err_errno(err, MK_EIO, rc, "starting the store writer");
		goto fail;
	}
	rc = pthread_create(&s->housekeeper, NULL, housekeeper_main, s);
	if (rc) {
		mk_err_errno(err, MK_EIO, rc, "starting the store compactor");
		pthread_mutex_lock(&s->q_mu);
		s->closing = true;
		pthread_cond_signal(&s->q_cond);
		pthread_mutex_unlock(&s->q_mu);
		pthread_join(s->writer, NULL);
		goto fail;
	}
	return &s->base;
fail:
	mk_err_wrap(err, "opening store %s", s->path);
	sq_free(s);
	return NULL;
}

/* --- internal knobs ------------------------------------------------------- */

void store_sqlite_set_compact_interval(struct store *st, unsigned interval_ms)
{
	struct sq_store *s = sq(st);
	pthread_mutex_lock(&s->hk_mu);
	s->compact_interval_ms = interval_ms ? interval_ms : 1;
	s->hk_reschedule = true;
	pthread_cond_signal(&s->hk_cond);
	pthread_mutex_unlock(&s->hk_mu);
}

void store_sqlite_set_ring_limits(struct store *st, size_t max_events, size_t max_bytes)
{
	struct sq_store *s = sq(st);
	pthread_mutex_lock(&s->fan_mu);
	evring_resize(&s->ring, max_events, max_bytes);
	pthread_mutex_unlock(&s->fan_mu);
}

int64_t store_sqlite_ring_first(struct store *st)
{
	struct sq_store *s = sq(st);
	pthread_mutex_lock(&s->fan_mu);
	int64_t first = ring_first_locked(s);
	pthread_mutex_unlock(&s->fan_mu);
	return first;
}

uint64_t store_sqlite_commits(struct store *st)
{
	return __atomic_load_n(&sq(st)->commits, __ATOMIC_RELAXED);
}

uint64_t store_sqlite_checkpoints(struct store *st)
{
	return __atomic_load_n(&sq(st)->checkpoints, __ATOMIC_RELAXED);
}
