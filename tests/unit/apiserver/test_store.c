/* The SQLite store through the store.h interface: CAS semantics and error
 * codes, revisions, lists (paged, at older revisions), watches (replay from
 * the log and the ring, live, under concurrent writes), compaction, reopen,
 * and acknowledged writes surviving SIGKILL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "apiserver/store-internal.h"
#include "apiserver/store.h"
#include "cleanup.h"
#include "err.h"
#include "xalloc.h"

/* --- helpers -------------------------------------------------------------- */

static char *tmpdir_new(void)
{
	char *dir = xstrdup("/tmp/mk-store-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void tmpdir_remove(char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		cleanup_free char *p = xasprintf("%s/%s", dir, e->d_name);
		assert_int_equal(unlink(p), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

static struct store *open_store(const char *dir)
{
	cleanup_err struct mk_err *err = NULL;
	struct store *st = store_sqlite_open(dir, &err);
	if (!st)
		fail_msg("open: %s", mk_err_msg(err));
	return st;
}

static int setup(void **state)
{
	*state = tmpdir_new();
	return 0;
}

static int teardown(void **state)
{
	tmpdir_remove(*state);
	return 0;
}

static int64_t must_create(struct store *st, const char *key, const char *value)
{
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = store_create(st, key, value, &err);
	if (rev < 0)
		fail_msg("create %s: %s", key, mk_err_msg(err));
	return rev;
}

static int64_t must_update(struct store *st, const char *key, const char *value)
{
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = store_update(st, key, value, 0, NULL, &err);
	if (rev < 0)
		fail_msg("update %s: %s", key, mk_err_msg(err));
	return rev;
}

static int64_t must_delete(struct store *st, const char *key)
{
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = store_delete(st, key, 0, NULL, &err);
	if (rev < 0)
		fail_msg("delete %s: %s", key, mk_err_msg(err));
	return rev;
}

static int64_t db_count(const char *dir, const char *sql)
{
	cleanup_free char *path = xasprintf("%s/mink8s.db", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Collects copies of watch events. */
struct ev_copy {
	enum store_event_type type;
	int64_t rev, create_rev;
	char *key, *value, *prev_value;
};

struct collector {
	pthread_mutex_t mu;
	struct ev_copy *evs;
	size_t n, cap;
	int64_t last_rev;
	bool out_of_order;
	/* for the stop-from-callback test */
	struct store *st;
	struct store_watch **self;
	size_t stop_after;
};

static void collector_init(struct collector *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
}

static void collector_free(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->evs[i].key);
		free(c->evs[i].value);
		free(c->evs[i].prev_value);
	}
	free(c->evs);
	pthread_mutex_destroy(&c->mu);
}

static void collect(const struct store_event *ev, void *arg)
{
	struct collector *c = arg;
	pthread_mutex_lock(&c->mu);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->evs = xrealloc(c->evs, c->cap * sizeof(*c->evs));
	}
	if (ev->rev <= c->last_rev)
		c->out_of_order = true;
	c->last_rev = ev->rev;
	c->evs[c->n++] = (struct ev_copy){
		.type = ev->type,
		.rev = ev->rev,
		.create_rev = ev->create_rev,
		.key = xstrdup(ev->key),
		.value = xstrdup(ev->value),
		.prev_value = ev->prev_value ? xstrdup(ev->prev_value) : NULL,
	};
	bool stop = c->self && c->stop_after && c->n == c->stop_after;
	pthread_mutex_unlock(&c->mu);
	if (stop)
		store_watch_stop(c->st, *c->self);
}

static int64_t collector_last(struct collector *c)
{
	pthread_mutex_lock(&c->mu);
	int64_t r = c->last_rev;
	pthread_mutex_unlock(&c->mu);
	return r;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void ev_assert_equal(const struct ev_copy *a, const struct ev_copy *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->rev, b->rev);
	assert_int_equal(a->create_rev, b->create_rev);
	assert_string_equal(a->key, b->key);
	assert_string_equal(a->value, b->value);
	assert_true(str_eq(a->prev_value, b->prev_value));
}

/* --- tests ---------------------------------------------------------------- */

static void test_crud_semantics(void **state)
{
	const char *dir = *state;
	struct store *st = open_store(dir);
	cleanup_err struct mk_err *err = NULL;
	struct store_kv kv = {0};

	assert_int_equal(store_current_rev(st), 0);
	assert_int_equal(store_get(st, "/registry/pods/default/a", &kv, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;

	assert_int_equal(must_create(st, "/registry/pods/default/a", "{\"v\":1}"), 1);
	assert_int_equal(store_create(st, "/registry/pods/default/a", "{}", &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXISTS);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_current_rev(st), 1); /* failures take no revision */

	assert_int_equal(store_get(st, "/registry/pods/default/a", &kv, &err), 0);
	assert_string_equal(kv.key, "/registry/pods/default/a");
	assert_string_equal(kv.value, "{\"v\":1}");
	assert_int_equal(kv.create_rev, 1);
	assert_int_equal(kv.mod_rev, 1);
	store_kv_free(&kv);

	/* CAS mismatch: conflict and the current kv */
	struct store_kv cur = {0};
	assert_int_equal(store_update(st, "/registry/pods/default/a", "{\"v\":2}", 7, &cur, &err),
			 -1);
	assert_int_equal(mk_err_code(err), MK_ECONFLICT);
	mk_err_free(err), err = NULL;
	assert_string_equal(cur.value, "{\"v\":1}");
	assert_int_equal(cur.mod_rev, 1);
	store_kv_free(&cur);
	/* a NULL current is allowed */
	assert_int_equal(store_update(st, "/registry/pods/default/a", "x", 7, NULL, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ECONFLICT);
	mk_err_free(err), err = NULL;

	assert_int_equal(store_update(st, "/registry/pods/default/a", "{\"v\":2}", 1, &cur, &err), 2);
	assert_null(cur.key);
	assert_int_equal(must_update(st, "/registry/pods/default/a", "{\"v\":3}"), 3);
	assert_int_equal(store_update(st, "/registry/pods/default/missing", "{}", 0, &cur, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;

	assert_int_equal(store_get(st, "/registry/pods/default/a", &kv, &err), 0);
	assert_string_equal(kv.value, "{\"v\":3}");
	assert_int_equal(kv.create_rev, 1);
	assert_int_equal(kv.mod_rev, 3);
	store_kv_free(&kv);

	struct store_kv last = {0};
	assert_int_equal(store_delete(st, "/registry/pods/default/a", 2, &last, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ECONFLICT);
	mk_err_free(err), err = NULL;
	assert_string_equal(last.value, "{\"v\":3}");
	assert_int_equal(last.mod_rev, 3);
	store_kv_free(&last);

	assert_int_equal(store_delete(st, "/registry/pods/default/a", 3, &last, &err), 4);
	assert_string_equal(last.key, "/registry/pods/default/a");
	assert_string_equal(last.value, "{\"v\":3}");
	assert_int_equal(last.create_rev, 1);
	assert_int_equal(last.mod_rev, 3);
	store_kv_free(&last);
	assert_int_equal(store_delete(st, "/registry/pods/default/a", 0, &last, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_get(st, "/registry/pods/default/a", &kv, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;

	/* re-creation starts a new life */
	assert_int_equal(must_create(st, "/registry/pods/default/a", "{\"v\":4}"), 5);
	assert_int_equal(store_get(st, "/registry/pods/default/a", &kv, &err), 0);
	assert_int_equal(kv.create_rev, 5);
	assert_int_equal(kv.mod_rev, 5);
	store_kv_free(&kv);
	assert_int_equal(store_current_rev(st), 5);
	assert_int_equal(store_compact_rev(st), 0);

	assert_int_equal(store_create(st, "/registry/x", NULL, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err), err = NULL;

	/* the file lock refuses a second opener */
	assert_null(store_sqlite_open(dir, &err));
	assert_int_equal(mk_err_code(err), MK_EUNAVAILABLE);
	mk_err_free(err), err = NULL;

	store_close(st);
	store_close(NULL);
	store_kv_free(NULL);
	store_list_free(NULL);
}

struct writer_arg {
	struct store *st;
	int n;
	int64_t *revs;
};

static void *racing_creator(void *arg)
{
	struct writer_arg *a = arg;
	for (int i = 0; i < a->n; i++) {
		cleanup_free char *key = xasprintf("/registry/race/k%d", i);
		cleanup_err struct mk_err *err = NULL;
		a->revs[i] = store_create(a->st, key, "{}", &err);
		if (a->revs[i] < 0)
			assert_int_equal(mk_err_code(err), MK_EEXISTS);
	}
	return NULL;
}

/* Concurrent creates of the same keys from several threads: each key is won
 * once, and the winners' revisions are exactly 1..N with no gap. */
static void test_revisions_strictly_increase(void **state)
{
	struct store *st = open_store(*state);
	enum { THREADS = 4, KEYS = 300 };
	pthread_t th[THREADS];
	struct writer_arg args[THREADS];
	for (int t = 0; t < THREADS; t++) {
		args[t] = (struct writer_arg){.st = st, .n = KEYS, .revs = xcalloc(KEYS, 8)};
		assert_int_equal(pthread_create(&th[t], NULL, racing_creator, &args[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	bool *seen = xcalloc(KEYS + 1, 1);
	for (int i = 0; i < KEYS; i++) {
		int winners = 0;
		for (int t = 0; t < THREADS; t++) {
			int64_t r = args[t].revs[i];
			if (r < 0)
				continue;
			winners++;
			assert_in_range(r, 1, KEYS);
			assert_false(seen[r]);
			seen[r] = true;
		}
		assert_int_equal(winners, 1);
	}
	for (int t = 0; t < THREADS; t++)
		free(args[t].revs);
	free(seen);
	assert_int_equal(store_current_rev(st), KEYS);
	store_close(st);
}

static void test_list(void **state)
{
	struct store *st = open_store(*state);
	cleanup_err struct mk_err *err = NULL;
	for (int i = 0; i < 10; i++) {
		cleanup_free char *k = xasprintf("/registry/pods/ns-a/p%02d", i);
		cleanup_free char *v = xasprintf("{\"i\":%d}", i);
		must_create(st, k, v);
	}
	for (int i = 0; i < 5; i++) {
		cleanup_free char *k = xasprintf("/registry/pods/ns-b/p%02d", i);
		must_create(st, k, "{}");
	}
	must_create(st, "/registry/podsx/ns-a/zz", "{}"); /* shares the text prefix */
	must_create(st, "/registry/services/ns-a/s", "{}");

	struct store_list l = {0};
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 15);
	assert_int_equal(l.rev, 17);
	assert_false(l.more);
	assert_int_equal(l.remaining, 0);
	for (size_t i = 1; i < l.n; i++)
		assert_true(strcmp(l.items[i - 1].key, l.items[i].key) < 0);
	assert_string_equal(l.items[3].value, "{\"i\":3}");
	assert_int_equal(l.items[3].mod_rev, 4);
	assert_int_equal(l.items[3].create_rev, 4);
	store_list_free(&l);

	assert_int_equal(store_list(st, "/registry/pods/ns-b/", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 5);
	store_list_free(&l);
	assert_int_equal(store_list(st, "", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 17);
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/none/", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.rev, 17);
	store_list_free(&l);

	/* paging: the key after K is K + "\x01" (keys hold no NUL byte) */
	size_t total = 0;
	cleanup_free char *next = NULL;
	int pages = 0;
	for (;;) {
		assert_int_equal(store_list(st, "/registry/pods/", next, 4, 0, &l, &err), 0);
		pages++;
		total += l.n;
		assert_int_equal(l.remaining, 15 - (int64_t)total);
		assert_int_equal(l.more, total < 15);
		if (pages == 1)
			assert_string_equal(l.items[0].key, "/registry/pods/ns-a/p00");
		if (pages == 2)
			assert_string_equal(l.items[0].key, "/registry/pods/ns-a/p04");
		bool more = l.more;
		free(next);
		next = xasprintf("%s\x01", l.items[l.n - 1].key);
		store_list_free(&l);
		if (!more)
			break;
	}
	assert_int_equal(total, 15);
	assert_int_equal(pages, 4);

	/* start_key is inclusive; one before the prefix is clamped to it */
	assert_int_equal(store_list(st, "/registry/pods/", "/registry/pods/ns-b/p03", 0, 0, &l, &err),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].key, "/registry/pods/ns-b/p03");
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/", "/a", 2, 0, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].key, "/registry/pods/ns-a/p00");
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/", "/z", 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	store_list_free(&l);

	/* a future revision */
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, 99, &l, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ETIMEOUT);
	store_close(st);
}

static void test_list_at_older_revision(void **state)
{
	struct store *st = open_store(*state);
	cleanup_err struct mk_err *err = NULL;
	for (int i = 0; i < 6; i++) {
		cleanup_free char *k = xasprintf("/registry/pods/ns/p%d", i);
		cleanup_free char *v = xasprintf("old%d", i);
		must_create(st, k, v);
	}
	int64_t r1 = store_current_rev(st);
	assert_int_equal(r1, 6);
	must_update(st, "/registry/pods/ns/p1", "new1");
	must_delete(st, "/registry/pods/ns/p2");
	must_create(st, "/registry/pods/ns/p9", "new9");
	must_delete(st, "/registry/pods/ns/p0");
	must_create(st, "/registry/pods/ns/p0", "again0");
	int64_t r2 = store_current_rev(st);

	struct store_list l = {0};
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, r1, &l, &err), 0);
	assert_int_equal(l.rev, r1);
	assert_int_equal(l.n, 6);
	for (size_t i = 0; i < 6; i++) {
		cleanup_free char *v = xasprintf("old%zu", i);
		assert_string_equal(l.items[i].value, v);
		assert_int_equal(l.items[i].mod_rev, (int64_t)i + 1);
		assert_int_equal(l.items[i].create_rev, (int64_t)i + 1);
	}
	store_list_free(&l);

	/* paged at r1 */
	assert_int_equal(store_list(st, "/registry/pods/", "/registry/pods/ns/p1", 2, r1, &l, &err),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].value, "old1");
	assert_string_equal(l.items[1].value, "old2");
	assert_true(l.more);
	assert_int_equal(l.remaining, 3);
	store_list_free(&l);

	/* one revision after the update of p1 and before the delete of p2 */
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, r1 + 1, &l, &err), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.items[1].value, "new1");
	assert_int_equal(l.items[1].mod_rev, r1 + 1);
	assert_int_equal(l.items[1].create_rev, 2);
	store_list_free(&l);

	/* one revision before the current: p0 deleted, p2 deleted, p9 there */
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, r2 - 1, &l, &err), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.items[0].key, "/registry/pods/ns/p1");
	assert_string_equal(l.items[4].key, "/registry/pods/ns/p9");
	store_list_free(&l);

	/* the current revision asked explicitly = the current table */
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, r2, &l, &err), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.items[0].value, "again0");
	assert_int_equal(l.items[0].create_rev, r2);
	store_list_free(&l);
	store_close(st);
}

/* Writes a deterministic mix of creates, updates and deletes over 40 keys
 * under two resources. */
struct churn_arg {
	struct store *st;
	int n;
	int64_t mid_rev; /* revision after half the writes */
	pthread_mutex_t mu;
};

static void *churn(void *arg)
{
	struct churn_arg *a = arg;
	bool *live = xcalloc(40, sizeof(bool));
	for (int i = 0; i < a->n; i++) {
		int k = (i * 7) % 40;
		cleanup_free char *key =
			xasprintf("/registry/%s/ns/k%02d", k % 2 ? "pods" : "services", k);
		cleanup_free char *val = xasprintf("{\"w\":%d}", i);
		if (!live[k]) {
			must_create(a->st, key, val);
			live[k] = true;
		} else if (i % 5 == 0) {
			must_delete(a->st, key);
			live[k] = false;
		} else {
			must_update(a->st, key, val);
		}
		if (i == a->n / 2) {
			pthread_mutex_lock(&a->mu);
			a->mid_rev = store_current_rev(a->st);
			pthread_mutex_unlock(&a->mu);
		}
	}
	free(live);
	return NULL;
}

static void wait_for(struct collector *c, int64_t rev)
{
	for (int i = 0; i < 1000 && collector_last(c) < rev; i++)
		sleep_ms(10);
}

/* Watches started from the beginning, from the log (older than the ring),
 * from the ring and live, all while another thread writes: each sees every
 * revision after its start exactly once, in order, with the same contents. */
static void test_watch_replay_live_concurrent(void **state)
{
	struct store *st = open_store(*state);
	cleanup_err struct mk_err *err = NULL;
	store_sqlite_set_ring_limits(st, 50, 1 << 20);

	struct collector oracle, from_log, from_ring, prefixed, live;
	collector_init(&oracle);
	collector_init(&from_log);
	collector_init(&from_ring);
	collector_init(&prefixed);
	collector_init(&live);
	struct store_watch *w_oracle = store_watch(st, "/registry/", 0, collect, &oracle, &err);
	assert_non_null(w_oracle);

	struct churn_arg a = {.st = st, .n = 3000};
	pthread_mutex_init(&a.mu, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, churn, &a), 0);

	/* wait until well past the ring */
	while (store_current_rev(st) < 400)
		sleep_ms(1);
	int64_t log_from = 5;
	assert_true(store_sqlite_ring_first(st) > log_from + 1);
	struct store_watch *w_log = store_watch(st, "/registry/", log_from, collect, &from_log, &err);
	assert_non_null(w_log);
	struct store_watch *w_pre =
		store_watch(st, "/registry/pods/", log_from, collect, &prefixed, &err);
	assert_non_null(w_pre);
	int64_t ring_from = store_sqlite_ring_first(st);
	struct store_watch *w_ring =
		store_watch(st, "/registry/", ring_from, collect, &from_ring, &err);
	assert_non_null(w_ring);
	struct store_watch *w_live = store_watch(st, "", 0, collect, &live, &err);
	assert_non_null(w_live);
	pthread_join(th, NULL);

	int64_t final = store_current_rev(st);
	assert_int_equal(final, 3000);
	wait_for(&oracle, final);
	wait_for(&from_log, final);
	wait_for(&from_ring, final);
	wait_for(&live, final);

	assert_int_equal(oracle.n, 3000);
	for (size_t i = 0; i < oracle.n; i++)
		assert_int_equal(oracle.evs[i].rev, (int64_t)i + 1);
	/* event contents against the history: prev_value is the key's previous value */
	for (size_t i = 0; i < oracle.n; i++) {
		const struct ev_copy *e = &oracle.evs[i];
		const struct ev_copy *prev = NULL;
		for (size_t j = i; j-- > 0;) {
			if (strcmp(oracle.evs[j].key, e->key) == 0) {
				prev = &oracle.evs[j];
				break;
			}
		}
		if (!prev || prev->type == STORE_EVENT_DELETE) {
			assert_int_equal(e->type, STORE_EVENT_PUT);
			assert_int_equal(e->create_rev, e->rev);
			assert_null(e->prev_value);
		} else {
			assert_string_equal(e->prev_value, prev->value);
			assert_int_equal(e->create_rev, prev->create_rev);
			if (e->type == STORE_EVENT_DELETE)
				assert_string_equal(e->value, prev->value);
		}
	}

	assert_false(from_log.out_of_order);
	assert_int_equal(from_log.n, final - log_from);
	for (size_t i = 0; i < from_log.n; i++)
		ev_assert_equal(&from_log.evs[i], &oracle.evs[log_from + i]);
	assert_int_equal(from_ring.n, final - ring_from);
	for (size_t i = 0; i < from_ring.n; i++)
		ev_assert_equal(&from_ring.evs[i], &oracle.evs[ring_from + i]);
	assert_true(live.n > 0);
	assert_false(live.out_of_order);
	int64_t live_from = live.evs[0].rev - 1;
	assert_int_equal(live.n, final - live_from);
	for (size_t i = 0; i < live.n; i++)
		ev_assert_equal(&live.evs[i], &oracle.evs[live_from + i]);

	size_t j = 0;
	for (size_t i = (size_t)log_from; i < oracle.n; i++) {
		if (strncmp(oracle.evs[i].key, "/registry/pods/", 15) != 0)
			continue;
		assert_true(j < prefixed.n);
		ev_assert_equal(&prefixed.evs[j++], &oracle.evs[i]);
	}
	assert_int_equal(j, prefixed.n);

	store_watch_stop(st, w_oracle);
	store_watch_stop(st, w_log);
	store_watch_stop(st, w_pre);
	store_watch_stop(st, w_ring);
	store_watch_stop(st, w_live);
	store_watch_stop(st, NULL);
	collector_free(&oracle);
	collector_free(&from_log);
	collector_free(&from_ring);
	collector_free(&prefixed);
	collector_free(&live);
	pthread_mutex_destroy(&a.mu);
	store_close(st);
}

struct writing_cb {
	struct store *st;
	int calls, einval;
};

static void write_from_callback(const struct store_event *ev, void *arg)
{
	(void)ev;
	struct writing_cb *w = arg;
	struct mk_err *err = NULL;
	w->calls++;
	if (store_create(w->st, "/registry/cb/x", "{}", &err) < 0 && mk_err_code(err) == MK_EINVAL)
		w->einval++;
	mk_err_free(err);
}

static void test_watch_stop(void **state)
{
	struct store *st = open_store(*state);
	cleanup_err struct mk_err *err = NULL;
	struct collector c, self;
	collector_init(&c);
	collector_init(&self);
	struct store_watch *w = store_watch(st, "/registry/a/", 0, collect, &c, &err);
	assert_non_null(w);
	struct store_watch *ws = NULL;
	self.st = st;
	self.self = &ws;
	self.stop_after = 2;
	ws = store_watch(st, "/registry/a/", 0, collect, &self, &err);
	assert_non_null(ws);

	must_create(st, "/registry/a/1", "{}");
	must_create(st, "/registry/b/1", "{}");
	must_create(st, "/registry/a/2", "{}");
	must_create(st, "/registry/a/3", "{}"); /* self stopped after the second */
	assert_int_equal(c.n, 3); /* delivered before the write returned */
	assert_int_equal(self.n, 2);
	store_watch_stop(st, w);
	must_update(st, "/registry/a/1", "{\"x\":1}");
	assert_int_equal(c.n, 3);
	assert_int_equal(self.n, 2);

	/* a huge value does not fit the ring; watches still see it via the log */
	store_sqlite_set_ring_limits(st, 100, 4096);
	char *big = xmalloc(10000);
	memset(big, 'x', 9999);
	big[9999] = 0;
	int64_t before = store_current_rev(st);
	must_create(st, "/registry/a/big", big);
	must_create(st, "/registry/a/small", "{}");
	struct collector r;
	collector_init(&r);
	struct store_watch *wr = store_watch(st, "/registry/a/", before, collect, &r, &err);
	assert_non_null(wr);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.evs[0].value, big);
	assert_string_equal(r.evs[1].key, "/registry/a/small");
	store_watch_stop(st, wr);
	free(big);

	/* a write from a callback is refused instead of deadlocking the writer */
	struct writing_cb wcb = {.st = st};
	struct store_watch *ww = store_watch(st, "/registry/w/", 0, write_from_callback, &wcb, &err);
	assert_non_null(ww);
	must_create(st, "/registry/w/1", "{}");
	assert_int_equal(wcb.calls, 1);
	assert_int_equal(wcb.einval, 1);
	store_watch_stop(st, ww);

	/* a watch left running is freed by close */
	struct collector left;
	collector_init(&left);
	assert_non_null(store_watch(st, "", 0, collect, &left, &err));
	store_close(st);
	collector_free(&left);
	collector_free(&r);
	collector_free(&c);
	collector_free(&self);
}

static void test_compaction(void **state)
{
	const char *dir = *state;
	struct store *st = open_store(dir);
	cleanup_err struct mk_err *err = NULL;
	must_create(st, "/registry/pods/ns/a", "a1");             /* 1 */
	must_create(st, "/registry/pods/ns/b", "b1");             /* 2 */
	for (int i = 2; i <= 10; i++) {                            /* 3..11 */
		cleanup_free char *v = xasprintf("a%d", i);
		must_update(st, "/registry/pods/ns/a", v);
	}
	must_delete(st, "/registry/pods/ns/b");                   /* 12 */
	must_create(st, "/registry/pods/ns/c", "c1");             /* 13 */
	must_update(st, "/registry/pods/ns/a", "a11");            /* 14 */
	assert_int_equal(db_count(dir, "SELECT count(*) FROM log"), 14);

	assert_int_equal(store_compact(st, 99, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_compact(st, 12, &err), 0);
	assert_int_equal(store_compact_rev(st), 12);
	/* kept: a@11 (newest at or below 12), c@13, a@14 */
	assert_int_equal(db_count(dir, "SELECT count(*) FROM log"), 3);
	assert_int_equal(store_compact(st, 5, &err), 0); /* already done: no-op */
	assert_int_equal(store_compact_rev(st), 12);

	struct store_list l = {0};
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, 11, &l, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXPIRED);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, 12, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].value, "a10");
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, 13, &l, &err), 0);
	assert_int_equal(l.n, 2);
	store_list_free(&l);

	struct collector c;
	collector_init(&c);
	assert_null(store_watch(st, "/registry/", 3, collect, &c, &err));
	assert_int_equal(mk_err_code(err), MK_EEXPIRED);
	assert_string_equal(mk_err_msg(err), "too old resource version: 3 (12)");
	mk_err_free(err), err = NULL;
	/* the ring still holds those events, but history below 12 is gone */
	struct store_watch *w = store_watch(st, "/registry/", 12, collect, &c, &err);
	assert_non_null(w);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.evs[1].rev, 14);
	assert_string_equal(c.evs[1].prev_value, "a10");
	store_watch_stop(st, w);
	collector_free(&c);

	/* the same answers from the log, the ring emptied */
	store_sqlite_set_ring_limits(st, 1, 1);
	collector_init(&c);
	w = store_watch(st, "/registry/", 12, collect, &c, &err);
	assert_non_null(w);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.evs[0].value, "c1");
	assert_string_equal(c.evs[1].prev_value, "a10");
	store_watch_stop(st, w);
	collector_free(&c);

	/* a large compaction runs in several batches */
	for (int i = 0; i < 2500; i++)
		must_update(st, "/registry/pods/ns/c", "cc");
	assert_int_equal(store_compact(st, store_current_rev(st), &err), 0);
	assert_int_equal(store_compact_rev(st), store_current_rev(st));
	assert_int_equal(db_count(dir, "SELECT count(*) FROM log"), 2);
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, store_compact_rev(st), &l, &err),
			 0);
	assert_int_equal(l.n, 2);
	store_list_free(&l);
	store_close(st);

	/* the background compactor: compacts to the revision of the previous tick */
	st = open_store(dir);
	assert_int_equal(store_compact_rev(st), 2514);
	store_sqlite_set_compact_interval(st, 300);
	int64_t first = must_update(st, "/registry/pods/ns/c", "d");
	for (int i = 0; i < 300 && store_compact_rev(st) < first; i++) {
		must_update(st, "/registry/pods/ns/c", "e");
		sleep_ms(10);
	}
	assert_true(store_compact_rev(st) >= first);
	assert_true(store_compact_rev(st) < store_current_rev(st));
	store_close(st);
}

static void test_reopen(void **state)
{
	const char *dir = *state;
	struct store *st = open_store(dir);
	cleanup_err struct mk_err *err = NULL;
	must_create(st, "/registry/pods/ns/a", "a");
	must_create(st, "/registry/pods/ns/b", "b");
	must_update(st, "/registry/pods/ns/a", "a2");
	must_delete(st, "/registry/pods/ns/b");
	assert_int_equal(store_compact(st, 2, &err), 0);
	store_close(st);

	st = open_store(dir);
	assert_int_equal(store_current_rev(st), 4);
	assert_int_equal(store_compact_rev(st), 2);
	struct store_kv kv = {0};
	assert_int_equal(store_get(st, "/registry/pods/ns/a", &kv, &err), 0);
	assert_string_equal(kv.value, "a2");
	assert_int_equal(kv.mod_rev, 3);
	store_kv_free(&kv);
	/* resuming a watch after a restart reads the log */
	struct collector c;
	collector_init(&c);
	struct store_watch *w = store_watch(st, "/registry/pods/", 2, collect, &c, &err);
	assert_non_null(w);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.evs[0].type, STORE_EVENT_PUT);
	assert_string_equal(c.evs[0].prev_value, "a");
	assert_int_equal(c.evs[1].type, STORE_EVENT_DELETE);
	assert_string_equal(c.evs[1].value, "b");
	assert_int_equal(must_create(st, "/registry/pods/ns/c", "c"), 5);
	assert_int_equal(c.n, 3);
	store_watch_stop(st, w);
	collector_free(&c);
	store_close(st);
}

/* A database of schema version 1 (before TTLs) is migrated on open: its
 * data stays, its keys never expire, and TTL writes work. */
static void test_schema_v1_migrates(void **state)
{
	const char *dir = *state;
	cleanup_free char *path = xasprintf("%s/mink8s.db", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "PRAGMA journal_mode = WAL;"
			     "CREATE TABLE log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
			     " value TEXT NOT NULL, create_rev INTEGER NOT NULL,"
			     " prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL);"
			     "CREATE INDEX log_key_rev ON log (key, rev);"
			     "CREATE TABLE cur (key TEXT PRIMARY KEY, rev INTEGER NOT NULL,"
			     " create_rev INTEGER NOT NULL, value TEXT NOT NULL);"
			     "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1),"
			     " current_rev INTEGER NOT NULL, compact_rev INTEGER NOT NULL,"
			     " schema_version INTEGER NOT NULL);"
			     "INSERT INTO meta VALUES (1, 1, 0, 1);"
			     "INSERT INTO log VALUES (1, '/registry/pods/ns/old', 'v', 1, 0, 0);"
			     "INSERT INTO cur VALUES ('/registry/pods/ns/old', 1, 1, 'v');",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);

	struct store *st = open_store(dir);
	cleanup_err struct mk_err *err = NULL;
	struct store_kv kv = {0};
	assert_int_equal(store_get(st, "/registry/pods/ns/old", &kv, &err), 0);
	assert_string_equal(kv.value, "v");
	store_kv_free(&kv);
	assert_int_equal(store_create_ttl(st, "/registry/events/ns/e", "e", 1, &err), 2);
	for (int i = 0; i < 100 && store_get(st, "/registry/events/ns/e", &kv, &err) == 0; i++) {
		store_kv_free(&kv);
		sleep_ms(50);
	}
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_int_equal(store_current_rev(st), 3);
	store_close(st);
	assert_int_equal(db_count(dir, "SELECT schema_version FROM meta"), 2);
	assert_int_equal(db_count(dir, "SELECT count(*) FROM cur WHERE expires = 0"), 1);
}

static off_t file_size(const char *dir, const char *name)
{
	cleanup_free char *p = xasprintf("%s/%s", dir, name);
	struct stat sb;
	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/* Automatic checkpoints are off on the writer: the background checkpoint must
 * move committed pages from the WAL into the database file. */
static void test_wal_checkpoint(void **state)
{
	const char *dir = *state;
	struct store *st = open_store(dir);
	char *big = xmalloc(4001);
	memset(big, 'v', 4000);
	big[4000] = 0;
	for (int i = 0; i < 1500; i++) {
		cleanup_free char *k = xasprintf("/registry/configmaps/ns/c%d", i);
		must_create(st, k, big);
	}
	free(big);
	off_t db = 0;
	for (int i = 0; i < 500 && (db = file_size(dir, "mink8s.db")) < 6000000; i++)
		sleep_ms(10);
	assert_true(db >= 6000000);
	store_close(st);
	/* a clean close leaves no WAL behind */
	assert_true(file_size(dir, "mink8s.db-wal") <= 0);
}

/* A reader holding an old snapshot keeps a checkpoint from catching up; the
 * commits that follow must not each bring another checkpoint. */
static void test_wal_checkpoint_backoff(void **state)
{
	const char *dir = *state;
	struct store *st = open_store(dir);
	char *big = xmalloc(4001);
	memset(big, 'v', 4000);
	big[4000] = 0;
	must_create(st, "/registry/configmaps/ns/first", big);
	/* an outside reader pins the snapshot of the first commit */
	cleanup_free char *path = xasprintf("%s/mink8s.db", dir);
	sqlite3 *rd = NULL;
	assert_int_equal(sqlite3_open_v2(path, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM sqlite_master;", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	/* about 1,200 pages past the trigger, one commit at a time */
	for (int i = 0; i < 1100; i++) {
		cleanup_free char *k = xasprintf("/registry/configmaps/ns/c%d", i);
		must_create(st, k, big);
		if (i % 50 == 0)
			sleep_ms(2); /* let the housekeeper run between commits */
	}
	sleep_ms(50);
	uint64_t n = store_sqlite_checkpoints(st);
	/* one at the trigger, one per CHECKPOINT_PAGES of growth after it and
	 * the idle ones: about ten, not one per commit (nearly 1,000 before) */
	if (n > 25)
		fail_msg("%llu checkpoints for 1,100 commits past the trigger", (unsigned long long)n);
	assert_true(n >= 1);
	sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(rd);
	free(big);
	store_close(st);
}

/* A child writes keys and reports each acknowledged revision through a pipe;
 * it is killed with SIGKILL mid-stream; every acknowledged key must be there. */
static void test_crash_keeps_acknowledged_writes(void **state)
{
	const char *dir = *state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		struct mk_err *err = NULL;
		struct store *st = store_sqlite_open(dir, &err);
		if (!st)
			_exit(2);
		for (int32_t i = 0;; i++) {
			char key[64], val[256];
			snprintf(key, sizeof(key), "/registry/pods/ns/p%d", i);
			snprintf(val, sizeof(val), "{\"metadata\":{\"name\":\"p%d\"},\"pad\":\"%0200d\"}",
				 i, i);
			if (store_create(st, key, val, &err) != i + 1)
				_exit(3);
			if (write(fds[1], &i, sizeof(i)) != sizeof(i))
				_exit(4);
		}
	}
	close(fds[1]);
	int32_t v, acked = -1;
	while (acked < 300 && read(fds[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	close(fds[0]);
	assert_true(acked >= 300);

	struct store *st = open_store(dir);
	assert_true(store_current_rev(st) >= acked + 1);
	struct store_list l = {0};
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(store_list(st, "/registry/pods/ns/", NULL, 0, 0, &l, &err), 0);
	assert_true(l.n >= (size_t)acked + 1);
	store_list_free(&l);
	for (int32_t i = 0; i <= acked; i++) {
		cleanup_free char *key = xasprintf("/registry/pods/ns/p%d", i);
		struct store_kv kv = {0};
		if (store_get(st, key, &kv, &err) < 0)
			fail_msg("acknowledged %s lost: %s", key, mk_err_msg(err));
		assert_int_equal(kv.mod_rev, i + 1);
		store_kv_free(&kv);
	}
	/* and the store goes on from there */
	int64_t next = store_current_rev(st) + 1;
	assert_int_equal(must_create(st, "/registry/pods/ns/after", "{}"), next);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crud_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revisions_strictly_increase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_at_older_revision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_replay_live_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v1_migrates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_checkpoint_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_acknowledged_writes, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
