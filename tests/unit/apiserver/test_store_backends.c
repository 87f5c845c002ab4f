/* The store interface (store.h) against both backends, SQLite and etcd (a
 * real etcd started here on free loopback ports): CAS semantics and error
 * codes, revisions, paged lists and lists at older revisions, watches
 * (from a cache or ring, from older history, live, under concurrent writes),
 * stopping watches, compaction, TTLs. Revisions are compared relative to the
 * revision a test starts at, since etcd's are shared by every test; each etcd
 * test lives under its own --etcd-prefix. The etcd tests skip when Debian's
 * etcd is not installed. etcd-only tests at the end: the key layout seen
 * through etcd itself, values it cannot read, fail-over between members, and
 * watches carrying on across an etcd restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/store-internal.h"
#include "apiserver/store.h"
#include "cleanup.h"
#include "err.h"
#include "etcd-fixture.h"
#include "xalloc.h"

/* --- the two backends ------------------------------------------------------ */

static struct etcd_proc etcd_member;
static bool etcd_up;
static int prefix_seq;

struct fx {
	bool etcd;
	char *dir;    /* SQLite */
	char *prefix; /* etcd */
	struct store *st;
};

static int fixture_rm_tree(const char *dir)
{
	return nftw(dir, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store *fx_open(struct fx *f)
{
	cleanup_err struct mk_err *err = NULL;
	struct store *st;
	if (f->etcd) {
		struct store_etcd_config cfg = {.servers = etcd_member.url, .prefix = f->prefix};
		st = store_etcd_open(&cfg, &err);
	} else {
		st = store_sqlite_open(f->dir, &err);
	}
	if (!st)
		fail_msg("open: %s", mk_err_msg(err));
	return st;
}

static int setup_sqlite(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	f->dir = xstrdup("/tmp/mk-store-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->st = fx_open(f);
	*state = f;
	return 0;
}

static int setup_etcd(void **state)
{
	if (!etcd_up)
		skip();
	struct fx *f = xcalloc(1, sizeof(*f));
	f->etcd = true;
	f->prefix = xasprintf("/mk-test-%d-%d", (int)getpid(), ++prefix_seq);
	f->st = fx_open(f);
	*state = f;
	return 0;
}

static int teardown_fx(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	store_close(f->st);
	if (f->dir) {
		fixture_rm_tree(f->dir);
		free(f->dir);
	}
	free(f->prefix);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (fixture_have_etcd())
		etcd_up = etcd_proc_start(&etcd_member) == 0;
	if (!etcd_up)
		fprintf(stderr, "# etcd is not available: the etcd cases skip\n");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_proc_stop(&etcd_member);
	return 0;
}

static void ring_limits(struct fx *f, size_t events, size_t bytes)
{
	if (f->etcd)
		store_etcd_set_ring_limits(f->st, events, bytes);
	else
		store_sqlite_set_ring_limits(f->st, events, bytes);
}

/* A revision a watch on prefix can resume from out of memory. */
static int64_t ring_resume_rev(struct fx *f, const char *prefix)
{
	if (f->etcd)
		return store_etcd_cache_window(f->st, prefix);
	return store_sqlite_ring_first(f->st);
}

/* --- helpers ---------------------------------------------------------------- */

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

static bool key_exists(struct store *st, const char *key)
{
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(st, key, &kv, &err) == 0) {
		store_kv_free(&kv);
		return true;
	}
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	return false;
}

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
	struct store *st;
	struct store_watch **self; /* stop this watch after stop_after events */
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
		.key = ev->key ? xstrdup(ev->key) : NULL,
		.value = ev->value ? xstrdup(ev->value) : NULL,
		.prev_value = ev->prev_value ? xstrdup(ev->prev_value) : NULL,
	};
	bool stop = c->self && c->stop_after && c->n == c->stop_after;
	pthread_mutex_unlock(&c->mu);
	if (!stop)
		return;
	/* The handle is set when store_watch returns, which may be after the
	 * first delivery (on another thread). */
	struct store_watch *self = NULL;
	for (int i = 0; i < 500 && !self; i++) {
		pthread_mutex_lock(&c->mu);
		self = *c->self;
		pthread_mutex_unlock(&c->mu);
		if (!self)
			fixture_sleep_ms(10);
	}
	store_watch_stop(c->st, self);
}

static void collector_set_self(struct collector *c, struct store_watch **slot,
			       struct store_watch *w)
{
	pthread_mutex_lock(&c->mu);
	*slot = w;
	pthread_mutex_unlock(&c->mu);
}

static size_t collector_n(struct collector *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int64_t collector_last(struct collector *c)
{
	pthread_mutex_lock(&c->mu);
	int64_t r = c->last_rev;
	pthread_mutex_unlock(&c->mu);
	return r;
}

/* Bounded waits: the etcd backend delivers when etcd streams the events back. */
static void wait_rev(struct collector *c, int64_t rev)
{
	for (int i = 0; i < 1000 && collector_last(c) < rev; i++)
		fixture_sleep_ms(10);
	assert_true(collector_last(c) >= rev);
}

static void wait_n(struct collector *c, size_t n)
{
	for (int i = 0; i < 1000 && collector_n(c) < n; i++)
		fixture_sleep_ms(10);
	assert_int_equal(collector_n(c), n);
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

/* --- tests ------------------------------------------------------------------ */

static void test_crud(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	struct store_kv kv = {0};
	const char *k = "/registry/pods/default/a";
	int64_t base = store_current_rev(st);

	assert_int_equal(store_get(st, k, &kv, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;

	assert_int_equal(must_create(st, k, "{\"v\":1}"), base + 1);
	assert_int_equal(store_create(st, k, "{}", &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXISTS);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_current_rev(st), base + 1); /* failures take no revision */

	assert_int_equal(store_get(st, k, &kv, &err), 0);
	assert_string_equal(kv.key, k);
	assert_string_equal(kv.value, "{\"v\":1}");
	assert_int_equal(kv.create_rev, base + 1);
	assert_int_equal(kv.mod_rev, base + 1);
	store_kv_free(&kv);

	struct store_kv cur = {0};
	assert_int_equal(store_update(st, k, "{\"v\":2}", base + 7, &cur, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ECONFLICT);
	mk_err_free(err), err = NULL;
	assert_string_equal(cur.value, "{\"v\":1}");
	assert_int_equal(cur.mod_rev, base + 1);
	store_kv_free(&cur);
	assert_int_equal(store_update(st, k, "x", base + 7, NULL, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ECONFLICT);
	mk_err_free(err), err = NULL;

	assert_int_equal(store_update(st, k, "{\"v\":2}", base + 1, &cur, &err), base + 2);
	assert_null(cur.key);
	assert_int_equal(must_update(st, k, "{\"v\":3}"), base + 3);
	assert_int_equal(store_update(st, "/registry/pods/default/missing", "{}", 0, &cur, &err),
			 -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_update(st, "/registry/pods/default/missing", "{}", 4, &cur, &err),
			 -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;

	assert_int_equal(store_get(st, k, &kv, &err), 0);
	assert_string_equal(kv.value, "{\"v\":3}");
	assert_int_equal(kv.create_rev, base + 1);
	assert_int_equal(kv.mod_rev, base + 3);
	store_kv_free(&kv);

	struct store_kv last = {0};
	assert_int_equal(store_delete(st, k, base + 2, &last, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ECONFLICT);
	mk_err_free(err), err = NULL;
	assert_string_equal(last.value, "{\"v\":3}");
	assert_int_equal(last.mod_rev, base + 3);
	store_kv_free(&last);

	assert_int_equal(store_delete(st, k, base + 3, &last, &err), base + 4);
	assert_string_equal(last.key, k);
	assert_string_equal(last.value, "{\"v\":3}");
	assert_int_equal(last.create_rev, base + 1);
	assert_int_equal(last.mod_rev, base + 3);
	store_kv_free(&last);
	assert_int_equal(store_delete(st, k, 0, &last, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	mk_err_free(err), err = NULL;
	assert_false(key_exists(st, k));

	assert_int_equal(must_create(st, k, "{\"v\":4}"), base + 5);
	assert_int_equal(store_get(st, k, &kv, &err), 0);
	assert_int_equal(kv.create_rev, base + 5);
	assert_int_equal(kv.mod_rev, base + 5);
	store_kv_free(&kv);
	assert_int_equal(store_current_rev(st), base + 5);

	assert_int_equal(store_create(st, "/registry/x", NULL, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err), err = NULL;
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
		if (a->revs[i] < 0 && mk_err_code(err) != MK_EEXISTS)
			a->revs[i] = -2;
	}
	return NULL;
}

/* Concurrent creates of the same keys: each key is won once, the winners'
 * revisions are exactly base+1 .. base+N. */
static void test_concurrent_creates(void **state)
{
	struct fx *f = *state;
	enum { THREADS = 4, KEYS = 150 };
	int64_t base = store_current_rev(f->st);
	pthread_t th[THREADS];
	struct writer_arg args[THREADS];
	for (int t = 0; t < THREADS; t++) {
		args[t] = (struct writer_arg){.st = f->st, .n = KEYS, .revs = xcalloc(KEYS, 8)};
		assert_int_equal(pthread_create(&th[t], NULL, racing_creator, &args[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	bool *seen = xcalloc(KEYS + 1, 1);
	for (int i = 0; i < KEYS; i++) {
		int winners = 0;
		for (int t = 0; t < THREADS; t++) {
			int64_t r = args[t].revs[i];
			assert_true(r != -2);
			if (r < 0)
				continue;
			winners++;
			assert_in_range(r, base + 1, base + KEYS);
			assert_false(seen[r - base]);
			seen[r - base] = true;
		}
		assert_int_equal(winners, 1);
	}
	for (int t = 0; t < THREADS; t++)
		free(args[t].revs);
	free(seen);
	assert_int_equal(store_current_rev(f->st), base + KEYS);
}

/* Reads as one: a key, a missing key and a prefix, all at one revision. */
static void test_read_batch(void **state)
{
	struct fx *f = *state;
	cleanup_err struct mk_err *err = NULL;
	must_create(f->st, "/registry/namespaces/rb", "{\"n\":1}");
	must_create(f->st, "/registry/limitranges/rb/a", "{\"l\":1}");
	int64_t rev = must_create(f->st, "/registry/limitranges/rb/b", "{\"l\":2}");
	must_create(f->st, "/registry/limitranges/rbx/c", "{\"l\":3}");
	struct store_read reads[] = {
		{.key = "/registry/namespaces/rb"},
		{.key = "/registry/namespaces/none"},
		{.key = "/registry/limitranges/rb/", .prefix = true},
		{.key = "/registry/resourcequotas/rb/", .prefix = true},
	};
	assert_int_equal(store_read_batch(f->st, reads, 4, &err), 0);
	assert_int_equal(reads[0].out.n, 1);
	assert_string_equal(reads[0].out.items[0].key, "/registry/namespaces/rb");
	assert_string_equal(reads[0].out.items[0].value, "{\"n\":1}");
	assert_int_equal(reads[1].out.n, 0);
	assert_int_equal(reads[2].out.n, 2);
	assert_string_equal(reads[2].out.items[0].key, "/registry/limitranges/rb/a");
	assert_string_equal(reads[2].out.items[1].value, "{\"l\":2}");
	assert_int_equal(reads[2].out.items[1].mod_rev, rev);
	assert_int_equal(reads[3].out.n, 0);
	for (size_t i = 0; i < 4; i++)
		store_list_free(&reads[i].out);
	/* etcd: a key outside the store's space fails the whole batch, filling
	 * nothing (SQLite holds any key) */
	if (!f->etcd)
		return;
	struct store_read bad[] = {
		{.key = "/registry/namespaces/rb"},
		{.key = "/elsewhere/x"},
	};
	assert_int_equal(store_read_batch(f->st, bad, 2, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_int_equal(bad[0].out.n, 0);
	assert_null(bad[0].out.items);
}

static void test_list(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	int64_t base = store_current_rev(st);
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
	assert_int_equal(l.rev, base + 17);
	assert_false(l.more);
	assert_int_equal(l.remaining, 0);
	for (size_t i = 1; i < l.n; i++)
		assert_true(strcmp(l.items[i - 1].key, l.items[i].key) < 0);
	assert_string_equal(l.items[3].key, "/registry/pods/ns-a/p03");
	assert_string_equal(l.items[3].value, "{\"i\":3}");
	assert_int_equal(l.items[3].mod_rev, base + 4);
	assert_int_equal(l.items[3].create_rev, base + 4);
	store_list_free(&l);

	assert_int_equal(store_list(st, "/registry/pods/ns-b/", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 5);
	store_list_free(&l);
	assert_int_equal(store_list(st, "", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 17);
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/none/", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.rev, base + 17);
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
	assert_int_equal(
		store_list(st, "/registry/pods/", "/registry/pods/ns-b/p03", 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].key, "/registry/pods/ns-b/p03");
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/", "/a", 2, 0, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].key, "/registry/pods/ns-a/p00");
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/", "/z", 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.rev, base + 17);
	store_list_free(&l);

	/* at an older revision, paged */
	int64_t r1 = base + 10; /* ns-a/p00..p09 */
	must_update(st, "/registry/pods/ns-a/p01", "new1");
	must_delete(st, "/registry/pods/ns-a/p02");
	assert_int_equal(store_list(st, "/registry/pods/ns-a/", NULL, 0, r1, &l, &err), 0);
	assert_int_equal(l.rev, r1);
	assert_int_equal(l.n, 10);
	assert_string_equal(l.items[1].value, "{\"i\":1}");
	assert_int_equal(l.items[1].mod_rev, base + 2);
	store_list_free(&l);
	assert_int_equal(
		store_list(st, "/registry/pods/ns-a/", "/registry/pods/ns-a/p01", 2, r1, &l, &err),
		0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1].key, "/registry/pods/ns-a/p02");
	assert_true(l.more);
	assert_int_equal(l.remaining, 7);
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/ns-a/", NULL, 0, 0, &l, &err), 0);
	assert_int_equal(l.n, 9);
	assert_string_equal(l.items[1].value, "new1");
	store_list_free(&l);

	/* a future revision */
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, base + 1000, &l, &err), -1);
	assert_int_equal(mk_err_code(err), MK_ETIMEOUT);
}

struct churn_arg {
	struct store *st;
	int n;
	int base_key; /* keys k<base>.. */
};

/* A deterministic mix of creates, updates and deletes over 40 keys under
 * two resources. */
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
	}
	free(live);
	return NULL;
}

/* Watches from the start, from older history than memory holds, from memory
 * and live, all while another thread writes: each sees every revision after
 * its start exactly once, in order, with the same contents; DELETE events
 * carry the last value and PUTs the previous one. */
static void test_watch_concurrent(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	enum { WRITES = 1500 };
	ring_limits(f, 50, 1 << 20);
	int64_t base = store_current_rev(st);

	struct collector oracle, from_old, from_ring, prefixed, live;
	collector_init(&oracle);
	collector_init(&from_old);
	collector_init(&from_ring);
	collector_init(&prefixed);
	collector_init(&live);
	struct store_watch *w_oracle = store_watch(st, "/registry/", base, collect, &oracle, &err);
	assert_non_null(w_oracle);

	struct churn_arg a = {.st = st, .n = WRITES};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, churn, &a), 0);
	while (collector_last(&oracle) < base + 400)
		fixture_sleep_ms(1);
	int64_t old_from = base + 5;
	assert_true(ring_resume_rev(f, "/registry/") > old_from + 1);
	struct store_watch *w_old =
		store_watch(st, "/registry/", old_from, collect, &from_old, &err);
	assert_non_null(w_old);
	struct store_watch *w_pre =
		store_watch(st, "/registry/pods/", old_from, collect, &prefixed, &err);
	assert_non_null(w_pre);
	int64_t ring_from = ring_resume_rev(f, "/registry/");
	struct store_watch *w_ring =
		store_watch(st, "/registry/", ring_from, collect, &from_ring, &err);
	assert_non_null(w_ring);
	struct store_watch *w_live = store_watch(st, "", 0, collect, &live, &err);
	assert_non_null(w_live);
	pthread_join(th, NULL);

	int64_t final = store_current_rev(st);
	assert_int_equal(final, base + WRITES);
	wait_rev(&oracle, final);
	wait_rev(&from_old, final);
	wait_rev(&from_ring, final);
	wait_rev(&live, final);

	assert_int_equal(oracle.n, WRITES);
	for (size_t i = 0; i < oracle.n; i++)
		assert_int_equal(oracle.evs[i].rev, base + (int64_t)i + 1);
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
	size_t off = (size_t)(old_from - base);
	assert_false(from_old.out_of_order);
	assert_int_equal(from_old.n, final - old_from);
	for (size_t i = 0; i < from_old.n; i++)
		ev_assert_equal(&from_old.evs[i], &oracle.evs[off + i]);
	off = (size_t)(ring_from - base);
	assert_int_equal(from_ring.n, final - ring_from);
	for (size_t i = 0; i < from_ring.n; i++)
		ev_assert_equal(&from_ring.evs[i], &oracle.evs[off + i]);
	assert_true(live.n > 0);
	assert_false(live.out_of_order);
	int64_t live_from = live.evs[0].rev - 1;
	assert_int_equal(live.n, final - live_from);
	for (size_t i = 0; i < live.n; i++)
		ev_assert_equal(&live.evs[i], &oracle.evs[live_from - base + (int64_t)i]);

	size_t j = 0;
	for (size_t i = (size_t)(old_from - base); i < oracle.n; i++) {
		if (strncmp(oracle.evs[i].key, "/registry/pods/", 15) != 0)
			continue;
		assert_true(j < prefixed.n);
		ev_assert_equal(&prefixed.evs[j++], &oracle.evs[i]);
	}
	assert_int_equal(j, prefixed.n);

	store_watch_stop(st, w_oracle);
	store_watch_stop(st, w_old);
	store_watch_stop(st, w_pre);
	store_watch_stop(st, w_ring);
	store_watch_stop(st, w_live);
	store_watch_stop(st, NULL);
	collector_free(&oracle);
	collector_free(&from_old);
	collector_free(&from_ring);
	collector_free(&prefixed);
	collector_free(&live);
}

static void test_watch_stop(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	struct collector c, self, old;
	collector_init(&c);
	collector_init(&self);
	collector_init(&old);
	int64_t base = store_current_rev(st);
	struct store_watch *w = store_watch(st, "/registry/a/", 0, collect, &c, &err);
	assert_non_null(w);
	struct store_watch *ws = NULL;
	self.st = st;
	self.self = &ws;
	self.stop_after = 2;
	collector_set_self(&self, &ws, store_watch(st, "/registry/a/", 0, collect, &self, &err));
	assert_non_null(ws);

	must_create(st, "/registry/a/1", "{}");
	must_create(st, "/registry/b/1", "{}");
	must_create(st, "/registry/a/2", "{}");
	must_create(st, "/registry/a/3", "{}"); /* self stopped after the second */
	wait_n(&c, 3);
	assert_int_equal(collector_n(&self), 2);
	store_watch_stop(st, w);

	/* etcd: a watch of older history (its own stream) stopped from its
	 * callback too (SQLite replays such a watch before store_watch returns) */
	struct store_watch *wo = NULL;
	if (f->etcd) {
		ring_limits(f, 1, 1);
		old.st = st;
		old.self = &wo;
		old.stop_after = 1;
		collector_set_self(&old, &wo,
				   store_watch(st, "/registry/a/", base, collect, &old, &err));
		assert_non_null(wo);
	}

	/* the stopped watches get nothing more: a later watch sees the write first */
	struct collector after;
	collector_init(&after);
	struct store_watch *wa = store_watch(st, "/registry/a/", 0, collect, &after, &err);
	assert_non_null(wa);
	int64_t r = must_update(st, "/registry/a/1", "{\"x\":1}");
	wait_rev(&after, r);
	assert_int_equal(collector_n(&c), 3);
	assert_int_equal(collector_n(&self), 2);
	if (f->etcd)
		wait_n(&old, 1);
	store_watch_stop(st, wa);

	/* a watch left running is freed by close */
	struct collector left;
	collector_init(&left);
	assert_non_null(store_watch(st, "", 0, collect, &left, &err));
	store_close(st);
	f->st = NULL;
	collector_free(&left);
	collector_free(&after);
	collector_free(&c);
	collector_free(&self);
	collector_free(&old);
}

static void test_compaction(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	int64_t base = store_current_rev(st);
	must_create(st, "/registry/pods/ns/a", "a1"); /* +1 */
	must_create(st, "/registry/pods/ns/b", "b1"); /* +2 */
	for (int i = 2; i <= 10; i++) {		      /* +3..+11 */
		cleanup_free char *v = xasprintf("a%d", i);
		must_update(st, "/registry/pods/ns/a", v);
	}
	must_delete(st, "/registry/pods/ns/b");	       /* +12 */
	must_create(st, "/registry/pods/ns/c", "c1");  /* +13 */
	must_update(st, "/registry/pods/ns/a", "a11"); /* +14 */

	assert_int_equal(store_compact(st, base + 99, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_compact(st, base + 12, &err), 0);
	assert_int_equal(store_compact_rev(st), base + 12);
	assert_int_equal(store_compact(st, base + 5, &err), 0); /* already done: no-op */
	assert_int_equal(store_compact_rev(st), base + 12);

	struct store_list l = {0};
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, base + 11, &l, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EEXPIRED);
	mk_err_free(err), err = NULL;
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, base + 12, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].value, "a10");
	store_list_free(&l);
	assert_int_equal(store_list(st, "/registry/pods/", NULL, 0, base + 13, &l, &err), 0);
	assert_int_equal(l.n, 2);
	store_list_free(&l);

	/* out of memory's reach: history older than the compaction is gone */
	ring_limits(f, 1, 1);
	struct collector c;
	collector_init(&c);
	assert_null(store_watch(st, "/registry/", base + 3, collect, &c, &err));
	assert_int_equal(mk_err_code(err), MK_EEXPIRED);
	cleanup_free char *want = xasprintf("too old resource version: %lld (%lld)",
					    (long long)(base + 3), (long long)(base + 12));
	assert_string_equal(mk_err_msg(err), want);
	mk_err_free(err), err = NULL;
	struct store_watch *w = store_watch(st, "/registry/", base + 12, collect, &c, &err);
	assert_non_null(w);
	wait_n(&c, 2);
	assert_string_equal(c.evs[0].value, "c1");
	assert_int_equal(c.evs[1].rev, base + 14);
	assert_string_equal(c.evs[1].prev_value, "a10");
	store_watch_stop(st, w);
	collector_free(&c);
}

/* Keys written with a TTL go by themselves (a DELETE event with the last
 * value); a write without one keeps the key. */
static void test_ttl(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	struct collector c;
	collector_init(&c);
	struct store_watch *w = store_watch(st, "/registry/events/", 0, collect, &c, &err);
	assert_non_null(w);
	assert_true(store_create_ttl(st, "/registry/events/ns/kept", "k1", 1, &err) > 0);
	assert_true(store_create_ttl(st, "/registry/events/ns/gone", "g1", 1, &err) > 0);
	assert_true(store_update_ttl(st, "/registry/events/ns/gone", "g2", 0, 1, NULL, &err) > 0);
	assert_true(store_update(st, "/registry/events/ns/kept", "k2", 0, NULL, &err) > 0);
	assert_null(err);
	/* the positive event first: gone is deleted */
	for (int i = 0; i < 200 && key_exists(st, "/registry/events/ns/gone"); i++)
		fixture_sleep_ms(50);
	assert_false(key_exists(st, "/registry/events/ns/gone"));
	wait_n(&c, 5);
	assert_int_equal(c.evs[4].type, STORE_EVENT_DELETE);
	assert_string_equal(c.evs[4].key, "/registry/events/ns/gone");
	assert_string_equal(c.evs[4].value, "g2");
	/* kept was created with the same TTL but rewritten without one */
	assert_true(key_exists(st, "/registry/events/ns/kept"));
	store_watch_stop(st, w);
	collector_free(&c);
}

/* --- etcd only ---------------------------------------------------------------- */

static json_t *etcd_raw(const char *method, json_t *req)
{
	struct etcd_config cfg = {.endpoints = etcd_member.url};
	struct etcd_client *c = etcd_client_new(&cfg, NULL);
	assert_non_null(c);
	cleanup_err struct mk_err *err = NULL;
	json_t *resp = etcd_call(c, method, req, ETCD_IDEMPOTENT, &err);
	if (!resp)
		fail_msg("etcd %s: %s", method, mk_err_msg(err));
	json_decref(req);
	etcd_client_free(c);
	return resp;
}

/* What a user of etcd sees: the keys under the prefix, the values as JSON
 * text, mod_revision = the revision the store reported. A value etcd holds
 * that is not text is refused with a clear error. */
static void test_etcd_layout(void **state)
{
	struct fx *f = *state;
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = must_create(f->st, "/registry/services/specs/default/web",
				  "{\"kind\":\"Service\"}");
	cleanup_free char *k = xasprintf("%s/services/specs/default/web", f->prefix);
	cleanup_free char *bk = etcd_b64(k, strlen(k));
	cleanup_json json_t *resp = etcd_raw("kv/range", json_pack("{s:s}", "key", bk));
	json_t *kv = json_array_get(json_object_get(resp, "kvs"), 0);
	assert_non_null(kv);
	assert_int_equal(etcd_int(kv, "mod_revision"), rev);
	cleanup_free char *v = etcd_unb64(json_string_value(json_object_get(kv, "value")), NULL);
	assert_string_equal(v, "{\"kind\":\"Service\"}");

	cleanup_free char *pk = xasprintf("%s/pods/default/proto", f->prefix);
	cleanup_free char *bpk = etcd_b64(pk, strlen(pk));
	cleanup_free char *bv = etcd_b64("k8s\0\x0a\x02v1", 8);
	json_decref(etcd_raw("kv/put", json_pack("{s:s, s:s}", "key", bpk, "value", bv)));
	struct store_kv out = {0};
	assert_int_equal(store_get(f->st, "/registry/pods/default/proto", &out, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EIO);
	assert_non_null(strstr(mk_err_msg(err), "stored in protobuf"));
	mk_err_free(err), err = NULL;
	assert_int_equal(store_create(f->st, "/elsewhere/x", "{}", &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

/* A value under STORE_MAX_VALUE that etcd refuses (over its 1.5 MiB request
 * limit, or over the 2 MiB its gRPC server reads at all): MK_EBACKEND in
 * etcd's words, and nothing written. */
static void test_etcd_too_large(void **state)
{
	struct fx *f = *state;
	static const struct {
		size_t size;
		const char *msg;
	} cases[] = {
		{1600000, "etcdserver: request is too large"},
		{2500000, "grpc: received message larger than max ("},
	};
	int64_t rev = must_create(f->st, "/registry/configmaps/ns/small", "{}");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_err struct mk_err *err = NULL;
		cleanup_free char *v = xmalloc(cases[i].size + 1);
		memset(v, 'y', cases[i].size);
		v[cases[i].size] = 0;
		assert_int_equal(store_create(f->st, "/registry/configmaps/ns/big", v, &err), -1);
		assert_int_equal(mk_err_code(err), MK_EBACKEND);
		assert_true(!strncmp(mk_err_msg(err), cases[i].msg, strlen(cases[i].msg)));
		mk_err_free(err), err = NULL;
		int64_t urc =
			store_update(f->st, "/registry/configmaps/ns/small", v, rev, NULL, &err);
		assert_int_equal(urc, -1);
		assert_int_equal(mk_err_code(err), MK_EBACKEND);
		mk_err_free(err), err = NULL;
		struct store_kv kv = {0};
		assert_int_equal(store_get(f->st, "/registry/configmaps/ns/big", &kv, &err), -1);
		assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
		mk_err_free(err), err = NULL;
		assert_int_equal(store_get(f->st, "/registry/configmaps/ns/small", &kv, &err), 0);
		assert_int_equal(kv.mod_rev, rev);
		store_kv_free(&kv);
	}
}

/* The first member of the list is down: calls and watches use the next. */
static void test_etcd_failover(void **state)
{
	struct fx *f = *state;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *servers =
		xasprintf("http://127.0.0.1:%d,%s", fixture_free_port(), etcd_member.url);
	struct store_etcd_config cfg = {.servers = servers, .prefix = f->prefix};
	struct store *st = store_etcd_open(&cfg, &err);
	if (!st)
		fail_msg("open: %s", mk_err_msg(err));
	struct collector c;
	collector_init(&c);
	struct store_watch *w = store_watch(st, "/registry/", 0, collect, &c, &err);
	assert_non_null(w);
	int64_t rev = must_create(st, "/registry/pods/ns/x", "{}");
	wait_rev(&c, rev);
	store_watch_stop(st, w);
	store_close(st);
	collector_free(&c);

	struct store_etcd_config bad = {.servers = "ftp://x"};
	assert_null(store_etcd_open(&bad, &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

/* etcd killed and restarted on its data: calls fail with MK_EUNAVAILABLE
 * meanwhile, and watches carry on afterwards without a gap or a repeat. */
static void test_etcd_restart(void **state)
{
	struct fx *f = *state;
	struct store *st = f->st;
	cleanup_err struct mk_err *err = NULL;
	struct collector c;
	collector_init(&c);
	struct store_watch *w = store_watch(st, "/registry/", 0, collect, &c, &err);
	assert_non_null(w);
	int64_t r1 = must_create(st, "/registry/pods/ns/before", "{}");
	wait_rev(&c, r1);
	etcd_proc_kill(&etcd_member, SIGKILL);
	assert_int_equal(store_create(st, "/registry/pods/ns/during", "{}", &err), -1);
	assert_int_equal(mk_err_code(err), MK_EUNAVAILABLE);
	mk_err_free(err), err = NULL;
	assert_int_equal(etcd_proc_start(&etcd_member), 0);
	int64_t r2 = must_create(st, "/registry/pods/ns/after", "{}");
	int64_t r3 = must_update(st, "/registry/pods/ns/before", "{\"x\":1}");
	wait_rev(&c, r3);
	assert_int_equal(collector_n(&c), 3);
	assert_false(c.out_of_order);
	assert_int_equal(c.evs[1].rev, r2);
	assert_string_equal(c.evs[1].key, "/registry/pods/ns/after");
	assert_string_equal(c.evs[2].prev_value, "{}");
	store_watch_stop(st, w);
	collector_free(&c);
}

/* Each test twice, named after its backend. */
/* clang-format off */
#define BOTH(t) \
	{#t " (sqlite)", t, setup_sqlite, teardown_fx, NULL}, \
	{#t " (etcd)", t, setup_etcd, teardown_fx, NULL}
#define ETCD(t) {#t, t, setup_etcd, teardown_fx, NULL}
/* clang-format on */

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		BOTH(test_crud),
		BOTH(test_concurrent_creates),
		BOTH(test_list),
		BOTH(test_read_batch),
		BOTH(test_watch_concurrent),
		BOTH(test_watch_stop),
		BOTH(test_compaction),
		BOTH(test_ttl),
		ETCD(test_etcd_layout),
		ETCD(test_etcd_too_large),
		ETCD(test_etcd_failover),
		ETCD(test_etcd_restart),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
