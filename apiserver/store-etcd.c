/* etcd backend of the store (store.h), through etcd's v3 JSON gateway
 * (lib/etcd.h).
 *
 * Keys and values: the store's "/registry/..." keys live in etcd under the
 * configured prefix ("/registry" by default, which gives upstream's layout:
 * `etcdctl get --prefix /registry` shows /registry/pods/<ns>/<name>...).
 * Values are the objects' JSON text; resourceVersion = mod_revision. A value
 * that is not text (upstream's protobuf, "k8s\0...") is refused with a clear
 * error rather than guessed at.
 *
 * Writes are one txn each, as upstream's: create = compare MOD == 0 / put;
 * update and delete = compare MOD == expected (MOD > 0 for "any") / put or
 * deleterange, with a range of the key as the failure branch, so a conflict
 * costs no second round trip. Writes with a TTL attach a lease shared by
 * writes of about the same TTL (upstream's lease manager: the last lease is
 * reused while it outlives the new TTL by at most min(60 s, 5 % of the TTL)
 * and holds fewer than 1,000 keys; a new one is granted for TTL + that).
 *
 * Watches: a watch cache per key prefix = one etcd watch stream (from the
 * revision the cache started at), a bounded ring of its recent events, and
 * any number of store watches fed from them on the etcd client's stream
 * thread. A store watch resuming inside the cache's window joins it: the
 * ring's events after its revision are delivered under the cache lock before
 * it is linked, so nothing is missed or doubled. An older one gets a private
 * etcd watch from its revision (etcd replays the history) once a range at
 * that revision has shown it is not compacted. A cache whose stream breaks
 * resumes at the revision after its last event; if etcd compacted that
 * revision meanwhile, its watchers get STORE_EVENT_EXPIRED and the cache
 * starts over at the compact revision.
 *
 * Compaction runs as upstream's compactor: every interval a txn on the key
 * "compact_rev_key" (outside the prefix) whose version is the logical clock
 * elects one API server, which compacts to the revision seen at the previous
 * tick; the others adopt its clock.
 */
#include "apiserver/evring.h"
#include "apiserver/store-internal.h"
#include "apiserver/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "etcd.h"
#include "log.h"
#include "xalloc.h"

#define REGISTRY	    "/registry"
#define REGISTRY_LEN	    9
#define COMPACT_REV_KEY	    "compact_rev_key"
#define RING_EVENTS_DEFAULT 4096
#define RING_BYTES_DEFAULT  (8u << 20)
#define LEASE_REUSE_MAX_S   60
#define LEASE_REUSE_PERCENT 5
#define LEASE_MAX_KEYS	    1000
#define OPEN_RETRY_MS	    500

struct wcache;

struct store_watch {
	struct wcache *wc;
	store_watch_cb cb;
	void *arg;
	char *prefix;
	size_t prefix_len;
	int64_t after; /* events with a revision above this are delivered */
	bool expired;  /* got STORE_EVENT_EXPIRED: nothing more */
	bool dead;     /* stopped from inside a callback; freed by the cache */
	struct store_watch *next;
};

struct et_store;

struct wcache {
	struct et_store *s;
	char *prefix;	      /* store key prefix */
	bool private;	      /* serves one watch from its own stream, keeps no ring */
	pthread_mutex_t mu;   /* guards everything below */
	int64_t rev;	      /* newest revision received (or the starting one) */
	int64_t covered_from; /* every event above this revision is in the ring */
	struct evring ring;   /* empty (no slots) on a private cache */
	struct store_watch *watches;
	bool has_dead;
	struct etcd_stream *stream;
	struct wcache *next; /* the store's list of shared caches */
};

struct et_store {
	struct store base;
	struct etcd_client *c;
	char *prefix;	     /* etcd prefix in place of "/registry" */
	int64_t last_rev;    /* atomic: newest header revision seen */
	int64_t compact_rev; /* atomic: newest compaction known */

	pthread_mutex_t lease_mu;
	int64_t lease_id;
	time_t lease_expires; /* CLOCK_MONOTONIC seconds */
	int64_t lease_keys;

	pthread_mutex_t caches_mu; /* guards caches and the ring defaults */
	struct wcache *caches;
	char **cache_prefixes; /* NULL-terminated: what a prefix's cache covers */
	size_t ring_events, ring_bytes;

	pthread_t compactor;
	bool compactor_started;
	pthread_mutex_t cmu;
	pthread_cond_t ccond;
	bool cstop;
	int64_t compact_interval_ms;
	uint64_t compactions; /* atomic: compactions this server ran */
};

/* The cache whose lock this thread holds while running watch callbacks. */
static __thread struct wcache *delivering;

static struct et_store *es(struct store *st)
{
	return (struct et_store *)st;
}

static void rev_seen(struct et_store *s, int64_t rev)
{
	int64_t cur = __atomic_load_n(&s->last_rev, __ATOMIC_RELAXED);
	while (rev > cur && !__atomic_compare_exchange_n(&s->last_rev, &cur, rev, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

static void compact_seen(struct et_store *s, int64_t rev)
{
	int64_t cur = __atomic_load_n(&s->compact_rev, __ATOMIC_RELAXED);
	while (rev > cur && !__atomic_compare_exchange_n(&s->compact_rev, &cur, rev, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

static int64_t header_rev(struct et_store *s, const json_t *resp)
{
	int64_t rev = etcd_int(json_object_get(resp, "header"), "revision");
	rev_seen(s, rev);
	return rev;
}

/* --- keys ------------------------------------------------------------------- */

/* The etcd key of a store key (base64, new string), or NULL with MK_EINVAL. */
static char *ekey(struct et_store *s, const char *key, struct mk_err **err)
{
	if (!key || strncmp(key, REGISTRY "/", REGISTRY_LEN + 1)) {
		mk_err_set(err, MK_EINVAL, "store: key %s is not under " REGISTRY "/",
			   key ? key : "(null)");
		return NULL;
	}
	cleanup_free char *k = xasprintf("%s%s", s->prefix, key + REGISTRY_LEN);
	return etcd_b64(k, strlen(k));
}

/* The etcd key (plain) of a prefix: one of "/registry/" (or shorter: every
 * key) maps onto the whole etcd prefix. New string or NULL with MK_EINVAL. */
static char *eprefix(struct et_store *s, const char *prefix, struct mk_err **err)
{
	size_t n = prefix ? strlen(prefix) : 0;
	if (n <= REGISTRY_LEN + 1 && !strncmp(prefix ? prefix : "", REGISTRY "/", n))
		return xasprintf("%s/", s->prefix);
	if (strncmp(prefix, REGISTRY "/", REGISTRY_LEN + 1)) {
		mk_err_set(err, MK_EINVAL, "store: prefix %s is not under " REGISTRY "/", prefix);
		return NULL;
	}
	return xasprintf("%s%s", s->prefix, prefix + REGISTRY_LEN);
}

/* The store key of an etcd key (decoded). New string, or NULL if it lies
 * outside the prefix. */
static char *skey(struct et_store *s, const char *ek)
{
	size_t pl = strlen(s->prefix);
	if (strncmp(ek, s->prefix, pl) || ek[pl] != '/')
		return NULL;
	return xasprintf(REGISTRY "%s", ek + pl);
}

/* Decodes a kv's "value" into a NUL-terminated string. NULL with *err when
 * it is not base64 or holds a NUL byte (not JSON text). */
static char *kv_value(const json_t *kv, const char *key, struct mk_err **err)
{
	const char *b = json_string_value(json_object_get(kv, "value"));
	size_t len = 0;
	char *v = etcd_unb64(b ? b : "", &len);
	if (!v) {
		mk_err_set(err, MK_EIO, "store: etcd value of %s is not base64", key);
		return NULL;
	}
	if (strlen(v) != len) {
		bool proto = len >= 4 && !memcmp(v, "k8s\0", 4);
		mk_err_set(err, MK_EIO,
			   proto ? "store: %s is stored in protobuf (written by another API "
				   "server); only JSON values can be read"
				 : "store: the etcd value of %s is not text",
			   key);
		free(v);
		return NULL;
	}
	return v;
}

/* Fills out from an etcd kv (borrowed). 0 or -1 with *err. */
static int kv_fill(struct et_store *s, const json_t *kv, struct store_kv *out, struct mk_err **err)
{
	memset(out, 0, sizeof(*out));
	size_t klen = 0;
	cleanup_free char *ek = etcd_unb64(json_string_value(json_object_get(kv, "key")), &klen);
	if (!ek || strlen(ek) != klen || !(out->key = skey(s, ek)))
		return mk_err_set(err, MK_EIO, "store: etcd answered a key outside %s/", s->prefix);
	if (!(out->value = kv_value(kv, out->key, err))) {
		store_kv_free(out);
		return -1;
	}
	out->create_rev = etcd_int(kv, "create_revision");
	out->mod_rev = etcd_int(kv, "mod_revision");
	return 0;
}

/* --- reads ------------------------------------------------------------------ */

static int et_get(struct store *st, const char *key, struct store_kv *out, struct mk_err **err)
{
	struct et_store *s = es(st);
	memset(out, 0, sizeof(*out));
	cleanup_free char *k = ekey(s, key, err);
	if (!k)
		return -1;
	cleanup_json json_t *req = json_pack("{s:s}", "key", k);
	cleanup_json json_t *resp = etcd_call(s->c, "kv/range", req, ETCD_IDEMPOTENT, err);
	if (!resp)
		return -1;
	header_rev(s, resp);
	json_t *kv = json_array_get(json_object_get(resp, "kvs"), 0);
	if (!kv)
		return mk_err_set(err, MK_ENOTFOUND, "key %s not found", key);
	return kv_fill(s, kv, out, err);
}

static int64_t et_current_rev_err(struct et_store *s, struct mk_err **err)
{
	cleanup_free char *k = xasprintf("%s/", s->prefix);
	cleanup_free char *b = etcd_b64(k, strlen(k));
	cleanup_json json_t *req = json_pack("{s:s, s:b}", "key", b, "count_only", 1);
	cleanup_json json_t *resp = etcd_call(s->c, "kv/range", req, ETCD_IDEMPOTENT, err);
	if (!resp)
		return -1;
	return header_rev(s, resp);
}

static int et_list(struct store *st, const char *prefix, const char *start_key, int64_t limit,
		   int64_t at_rev, struct store_list *out, struct mk_err **err)
{
	struct et_store *s = es(st);
	memset(out, 0, sizeof(*out));
	if (at_rev < 0)
		return mk_err_set(err, MK_EINVAL, "invalid revision %lld", (long long)at_rev);
	cleanup_free char *p = eprefix(s, prefix, err);
	if (!p)
		return -1;
	cleanup_free char *end = etcd_prefix_end(p);
	/* start_key is inclusive, clamped to the prefix; one past the range
	 * lists nothing but still reports the revision. */
	cleanup_free char *start = NULL;
	const char *sp = prefix ? prefix : "";
	if (start_key && strcmp(start_key, sp) > 0) {
		if (!strncmp(start_key, REGISTRY "/", REGISTRY_LEN + 1))
			start = xasprintf("%s%s", s->prefix, start_key + REGISTRY_LEN);
		else
			start = xstrdup(end); /* past every key of the prefix */
	}
	const char *from = start && strcmp(start, p) > 0 ? start : p;
	bool empty = strcmp(from, end) >= 0;
	cleanup_free char *bfrom = etcd_b64(from, strlen(from));
	cleanup_free char *bend = etcd_b64(end, strlen(end));
	cleanup_json json_t *req = json_pack("{s:s, s:s}", "key", bfrom, "range_end", bend);
	if (empty)
		json_object_set_new(req, "count_only", json_true());
	if (limit > 0)
		json_object_set_new(req, "limit", json_integer(limit));
	if (at_rev > 0) {
		char r[32];
		snprintf(r, sizeof(r), "%lld", (long long)at_rev);
		json_object_set_new(req, "revision", json_string(r));
	}
	struct mk_err *e = NULL;
	cleanup_json json_t *resp = etcd_call(s->c, "kv/range", req, ETCD_IDEMPOTENT, &e);
	if (!resp) {
		if (mk_err_code(e) == MK_ETIMEOUT) {
			int64_t cur = __atomic_load_n(&s->last_rev, __ATOMIC_ACQUIRE);
			mk_err_set(err, MK_ETIMEOUT,
				   "Too large resource version: %lld, current: %lld",
				   (long long)at_rev, (long long)cur);
		} else if (mk_err_code(e) == MK_EEXPIRED) {
			mk_err_set(err, MK_EEXPIRED, "revision %lld has been compacted",
				   (long long)at_rev);
		} else if (err && !*err) {
			*err = steal_pointer(&e);
		}
		mk_err_free(e);
		return -1;
	}
	int64_t rev = header_rev(s, resp);
	out->rev = at_rev > 0 ? at_rev : rev;
	if (empty)
		return 0;
	json_t *kvs = json_object_get(resp, "kvs");
	size_t n = json_array_size(kvs);
	if (n)
		out->items = xcalloc(n, sizeof(*out->items));
	for (size_t i = 0; i < n; i++) {
		if (kv_fill(s, json_array_get(kvs, i), &out->items[out->n], err) < 0) {
			store_list_free(out);
			return -1;
		}
		out->n++;
	}
	int64_t count = etcd_int(resp, "count");
	out->more = json_is_true(json_object_get(resp, "more"));
	out->remaining = count > (int64_t)n ? count - (int64_t)n : 0;
	return 0;
}

/* One txn of ranges, no compare: etcd runs them at one revision. */
static int et_read_batch(struct store *st, struct store_read *reads, size_t n, struct mk_err **err)
{
	struct et_store *s = es(st);
	cleanup_json json_t *ops = json_array();
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *k = NULL;
		json_t *range;
		if (reads[i].prefix) {
			cleanup_free char *p = eprefix(s, reads[i].key, err);
			if (!p)
				return -1;
			cleanup_free char *end = etcd_prefix_end(p);
			cleanup_free char *bp = etcd_b64(p, strlen(p));
			cleanup_free char *be = etcd_b64(end, strlen(end));
			range = json_pack("{s:s, s:s}", "key", bp, "range_end", be);
		} else {
			if (!(k = ekey(s, reads[i].key, err)))
				return -1;
			range = json_pack("{s:s}", "key", k);
		}
		json_array_append_new(ops, json_pack("{s:o}", "request_range", range));
	}
	cleanup_json json_t *txn = json_pack("{s:O}", "success", ops);
	cleanup_json json_t *resp = etcd_call(s->c, "kv/txn", txn, ETCD_IDEMPOTENT, err);
	if (!resp)
		return -1;
	int64_t rev = header_rev(s, resp);
	json_t *res = json_object_get(resp, "responses");
	for (size_t i = 0; i < n; i++) {
		json_t *kvs = json_object_get(
			json_object_get(json_array_get(res, i), "response_range"), "kvs");
		struct store_list *out = &reads[i].out;
		out->rev = rev;
		size_t m = json_array_size(kvs);
		if (m)
			out->items = xcalloc(m, sizeof(*out->items));
		for (size_t j = 0; j < m; j++) {
			if (kv_fill(s, json_array_get(kvs, j), &out->items[out->n], err) < 0) {
				for (size_t x = 0; x <= i; x++)
					store_list_free(&reads[x].out);
				return -1;
			}
			out->n++;
		}
	}
	return 0;
}

/* --- leases ----------------------------------------------------------------- */

static time_t mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* A lease that lives at least ttl seconds; forget_id drops a lease etcd no
 * longer knows. Returns the id or -1. */
static int64_t lease_get(struct et_store *s, int64_t ttl, int64_t forget_id, struct mk_err **err)
{
	pthread_mutex_lock(&s->lease_mu);
	if (forget_id && forget_id == s->lease_id)
		s->lease_id = 0;
	time_t now = mono_now();
	int64_t reuse = ttl * LEASE_REUSE_PERCENT / 100;
	if (reuse > LEASE_REUSE_MAX_S)
		reuse = LEASE_REUSE_MAX_S;
	bool valid = s->lease_id && now + ttl < s->lease_expires;
	bool sufficient = now + ttl + reuse >= s->lease_expires;
	if (valid && sufficient && s->lease_keys < LEASE_MAX_KEYS) {
		s->lease_keys++;
		int64_t id = s->lease_id;
		pthread_mutex_unlock(&s->lease_mu);
		return id;
	}
	char t[32];
	snprintf(t, sizeof(t), "%lld", (long long)(ttl + reuse));
	cleanup_json json_t *req = json_pack("{s:s}", "TTL", t);
	/* A granted lease nobody uses only expires: safe to ask again. */
	cleanup_json json_t *resp = etcd_call(s->c, "lease/grant", req, ETCD_IDEMPOTENT, err);
	int64_t id = resp ? etcd_int(resp, "ID") : 0;
	if (resp && id) {
		s->lease_id = id;
		s->lease_expires = now + ttl + reuse;
		s->lease_keys = 1;
	} else if (resp) {
		mk_err_set(err, MK_EIO, "store: etcd granted no lease");
	}
	pthread_mutex_unlock(&s->lease_mu);
	return id ? id : -1;
}

/* --- writes ----------------------------------------------------------------- */

/* The compare of a write: MOD == expect, or the key exists (expect 0), or
 * it does not (create). */
static json_t *cmp_mod(const char *k, const char *result, int64_t rev)
{
	char r[32];
	snprintf(r, sizeof(r), "%lld", (long long)rev);
	return json_pack("{s:s, s:s, s:s, s:s}", "target", "MOD", "result", result, "key", k,
			 "mod_revision", r);
}

/* Runs a write txn; a put carrying a lease etcd lost is retried once with a
 * new lease. put (borrowed) is the request_put object, or NULL. */
static json_t *txn_write(struct et_store *s, json_t *txn, json_t *put, int64_t ttl,
			 struct mk_err **err)
{
	int64_t lease = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (put && ttl > 0) {
			lease = lease_get(s, ttl, lease, err);
			if (lease < 0)
				return NULL;
			char l[32];
			snprintf(l, sizeof(l), "%lld", (long long)lease);
			json_object_set_new(put, "lease", json_string(l));
		}
		struct mk_err *e = NULL;
		json_t *resp = etcd_call(s->c, "kv/txn", txn, 0, &e);
		if (resp) {
			header_rev(s, resp);
			return resp;
		}
		if (attempt == 0 && lease && mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			continue;
		}
		if (mk_err_code(e) == MK_ETOOLARGE) {
			/* A value under our 3 MiB limit but over etcd's request
			 * limit (1.5 MiB by default): nothing was written, and
			 * upstream answers with etcd's own words (500, no reason).
			 * The message is "etcd <member>: <etcd's text>". */
			const char *m = mk_err_msg(e);
			const char *text = strstr(m, ": ");
			mk_err_set(err, MK_EBACKEND, "%s", text ? text + 2 : m);
			mk_err_free(e);
			return NULL;
		}
		if (err && !*err)
			*err = e;
		else
			mk_err_free(e);
		return NULL;
	}
	return NULL;
}

static int64_t resp_rev(const json_t *resp, const char *kind)
{
	json_t *r = json_object_get(json_array_get(json_object_get(resp, "responses"), 0), kind);
	int64_t rev = etcd_int(json_object_get(r, "header"), "revision");
	return rev ? rev : etcd_int(json_object_get(resp, "header"), "revision");
}

static int64_t et_create(struct store *st, const char *key, const char *value, int64_t ttl,
			 struct mk_err **err)
{
	struct et_store *s = es(st);
	if (!key || !value)
		return mk_err_set(err, MK_EINVAL, "store: create without a key or value");
	cleanup_free char *k = ekey(s, key, err);
	if (!k)
		return -1;
	cleanup_free char *v = etcd_b64(value, strlen(value));
	json_t *put = json_pack("{s:s, s:s}", "key", k, "value", v);
	cleanup_json json_t *txn = json_pack("{s:[o], s:[{s:o}]}", "compare",
					     cmp_mod(k, "EQUAL", 0), "success", "request_put", put);
	cleanup_json json_t *resp = txn_write(s, txn, put, ttl, err);
	if (!resp)
		return -1;
	if (!json_is_true(json_object_get(resp, "succeeded")))
		return mk_err_set(err, MK_EEXISTS, "key %s already exists", key);
	return resp_rev(resp, "response_put");
}

/* Reads the failure branch of an update or delete: ENOTFOUND, or ECONFLICT
 * with the current kv in *current when asked. */
static int64_t failed_cas(struct et_store *s, const char *key, const json_t *resp, int64_t expect,
			  struct store_kv *current, struct mk_err **err)
{
	json_t *range = json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
					"response_range");
	json_t *kv = json_array_get(json_object_get(range, "kvs"), 0);
	if (!kv)
		return mk_err_set(err, MK_ENOTFOUND, "key %s not found", key);
	if (current && kv_fill(s, kv, current, err) < 0)
		return -1;
	return mk_err_set(err, MK_ECONFLICT, "key %s is at revision %lld, not %lld", key,
			  (long long)etcd_int(kv, "mod_revision"), (long long)expect);
}

static int64_t et_update(struct store *st, const char *key, const char *value, int64_t expect_rev,
			 int64_t ttl, struct store_kv *current, struct mk_err **err)
{
	struct et_store *s = es(st);
	if (current)
		memset(current, 0, sizeof(*current));
	if (!key || !value)
		return mk_err_set(err, MK_EINVAL, "store: update without a key or value");
	cleanup_free char *k = ekey(s, key, err);
	if (!k)
		return -1;
	cleanup_free char *v = etcd_b64(value, strlen(value));
	json_t *put = json_pack("{s:s, s:s}", "key", k, "value", v);
	json_t *cmp = expect_rev ? cmp_mod(k, "EQUAL", expect_rev) : cmp_mod(k, "GREATER", 0);
	cleanup_json json_t *txn =
		json_pack("{s:[o], s:[{s:o}], s:[{s:{s:s}}]}", "compare", cmp, "success",
			  "request_put", put, "failure", "request_range", "key", k);
	cleanup_json json_t *resp = txn_write(s, txn, put, ttl, err);
	if (!resp)
		return -1;
	if (!json_is_true(json_object_get(resp, "succeeded")))
		return failed_cas(s, key, resp, expect_rev, current, err);
	return resp_rev(resp, "response_put");
}

static int64_t et_del(struct store *st, const char *key, int64_t expect_rev, struct store_kv *last,
		      struct mk_err **err)
{
	struct et_store *s = es(st);
	if (last)
		memset(last, 0, sizeof(*last));
	if (!key)
		return mk_err_set(err, MK_EINVAL, "store: delete without a key");
	cleanup_free char *k = ekey(s, key, err);
	if (!k)
		return -1;
	json_t *cmp = expect_rev ? cmp_mod(k, "EQUAL", expect_rev) : cmp_mod(k, "GREATER", 0);
	cleanup_json json_t *txn =
		json_pack("{s:[o], s:[{s:{s:s, s:b}}], s:[{s:{s:s}}]}", "compare", cmp, "success",
			  "request_delete_range", "key", k, "prev_kv", 1, "failure",
			  "request_range", "key", k);
	cleanup_json json_t *resp = txn_write(s, txn, NULL, 0, err);
	if (!resp)
		return -1;
	if (!json_is_true(json_object_get(resp, "succeeded"))) {
		struct store_kv cur = {0};
		int64_t rc = failed_cas(s, key, resp, expect_rev, last ? &cur : NULL, err);
		if (last)
			*last = cur;
		return rc;
	}
	json_t *dr = json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
				     "response_delete_range");
	json_t *prev = json_array_get(json_object_get(dr, "prev_kvs"), 0);
	if (last && prev && kv_fill(s, prev, last, err) < 0)
		return -1;
	return resp_rev(resp, "response_delete_range");
}

/* --- watch caches ------------------------------------------------------------- */

/* Every event above covered_from is in the ring: what the ring dropped
 * moves it up. mu held. */
static void cover_dropped(struct wcache *wc)
{
	if (wc->ring.dropped_rev > wc->covered_from)
		wc->covered_from = wc->ring.dropped_rev;
}

static void ring_push(struct wcache *wc, const struct store_event *ev)
{
	if (!wc->ring.cap)
		return;
	if (!evring_push(&wc->ring, ev))
		wc->covered_from = ev->rev; /* too big to keep: older watches go private */
	cover_dropped(wc);
}

static void watch_free(struct store_watch *w)
{
	if (!w)
		return;
	free(w->prefix);
	free(w);
}

static void deliver(struct store_watch *w, const struct store_event *ev)
{
	if (w->dead || w->expired || ev->rev <= w->after)
		return;
	if (strncmp(ev->key, w->prefix, w->prefix_len))
		return;
	w->cb(ev, w->arg);
}

/* Frees the watches stopped from inside callbacks. mu held. */
static void cache_reap(struct wcache *wc)
{
	if (!wc->has_dead)
		return;
	for (struct store_watch **pp = &wc->watches; *pp;) {
		struct store_watch *w = *pp;
		if (w->dead) {
			*pp = w->next;
			watch_free(w);
		} else {
			pp = &w->next;
		}
	}
	wc->has_dead = false;
}

/* Ends every watch of wc: events after rev are lost. mu held. */
static void cache_expire(struct wcache *wc, int64_t rev)
{
	struct store_event ev = {.type = STORE_EVENT_EXPIRED, .rev = rev};
	for (struct store_watch *w = wc->watches; w; w = w->next) {
		if (w->dead || w->expired)
			continue;
		w->expired = true;
		w->cb(&ev, w->arg);
	}
}

static json_t *cache_request(void *arg)
{
	struct wcache *wc = arg;
	struct et_store *s = wc->s;
	cleanup_free char *p = eprefix(s, wc->prefix, NULL);
	if (!p)
		return NULL;
	cleanup_free char *end = etcd_prefix_end(p);
	cleanup_free char *bp = etcd_b64(p, strlen(p));
	cleanup_free char *be = etcd_b64(end, strlen(end));
	pthread_mutex_lock(&wc->mu);
	char r[32];
	snprintf(r, sizeof(r), "%lld", (long long)(wc->rev + 1));
	pthread_mutex_unlock(&wc->mu);
	return json_pack("{s:{s:s, s:s, s:s, s:b}}", "create_request", "key", bp, "range_end", be,
			 "start_revision", r, "prev_kv", 1);
}

/* Turns one etcd watch event into a store event (strings new, in the out
 * parameters). Returns 1, 0 to skip it, -1 when its previous value is gone
 * (compacted): the watchers cannot be told what changed. */
static int event_parse(struct et_store *s, const json_t *e, struct store_event *ev, char **key,
		       char **value, char **prev)
{
	json_t *kv = json_object_get(e, "kv");
	json_t *pkv = json_object_get(e, "prev_kv");
	const char *type = json_string_value(json_object_get(e, "type"));
	bool del = type && !strcmp(type, "DELETE");
	size_t klen = 0;
	cleanup_free char *ek = etcd_unb64(json_string_value(json_object_get(kv, "key")), &klen);
	if (!ek || strlen(ek) != klen || !(*key = skey(s, ek)))
		return 0;
	*ev = (struct store_event){
		.type = del ? STORE_EVENT_DELETE : STORE_EVENT_PUT,
		.rev = etcd_int(kv, "mod_revision"),
		.key = *key,
	};
	cleanup_err struct mk_err *err = NULL;
	if (pkv && !(*prev = kv_value(pkv, *key, &err))) {
		log_warn("store: watch: %s", mk_err_msg(err));
		return 0;
	}
	if (del) {
		if (!*prev)
			return -1;
		ev->value = *prev;
		ev->prev_value = *prev;
		ev->create_rev = etcd_int(pkv, "create_revision");
		return 1;
	}
	if (!(*value = kv_value(kv, *key, &err))) {
		log_warn("store: watch: %s", mk_err_msg(err));
		return 0;
	}
	ev->value = *value;
	ev->create_rev = etcd_int(kv, "create_revision");
	if (!*prev && ev->create_rev != ev->rev)
		return -1;
	ev->prev_value = *prev;
	return 1;
}

static enum etcd_stream_next cache_message(json_t *res, void *arg);

static const struct etcd_stream_ops cache_stream_ops = {
	.request = cache_request,
	.message = cache_message,
};

static void cache_free(struct wcache *wc)
{
	if (!wc)
		return;
	while (wc->watches) {
		struct store_watch *w = wc->watches;
		wc->watches = w->next;
		watch_free(w);
	}
	evring_free(&wc->ring);
	free(wc->prefix);
	pthread_mutex_destroy(&wc->mu);
	free(wc);
}

static enum etcd_stream_next cache_message(json_t *res, void *arg)
{
	struct wcache *wc = arg;
	struct et_store *s = wc->s;
	enum etcd_stream_next next = ETCD_STREAM_CONTINUE;
	rev_seen(s, etcd_int(json_object_get(res, "header"), "revision"));
	pthread_mutex_lock(&wc->mu);
	delivering = wc;
	if (json_is_true(json_object_get(res, "canceled"))) {
		int64_t compact = etcd_int(res, "compact_revision");
		if (compact > 0) {
			/* Our revision was compacted: what happened in between is lost. */
			compact_seen(s, compact);
			log_warn("store: watch of %s: revision %lld was compacted (at %lld); its "
				 "watchers must relist",
				 wc->prefix, (long long)(wc->rev + 1), (long long)compact);
			cache_expire(wc, wc->rev);
			evring_clear(&wc->ring);
			wc->rev = compact - 1;
			wc->covered_from = compact - 1;
			next = wc->private ? ETCD_STREAM_STOP : ETCD_STREAM_RECONNECT;
		} else {
			const char *why = json_string_value(json_object_get(res, "cancel_reason"));
			log_warn("store: watch of %s canceled by etcd: %s", wc->prefix,
				 why ? why : "no reason given");
			next = ETCD_STREAM_RETRY;
		}
	}
	json_t *evs = json_object_get(res, "events");
	size_t i;
	json_t *e;
	json_array_foreach(evs, i, e)
	{
		if (next != ETCD_STREAM_CONTINUE)
			break;
		struct store_event ev;
		cleanup_free char *key = NULL, *value = NULL, *prev = NULL;
		int rc = event_parse(s, e, &ev, &key, &value, &prev);
		int64_t rev = etcd_int(json_object_get(e, "kv"), "mod_revision");
		if (rc < 0) {
			log_warn(
				"store: watch of %s: the value before revision %lld was compacted; "
				"its watchers must relist",
				wc->prefix, (long long)rev);
			cache_expire(wc, rev - 1);
			evring_clear(&wc->ring);
			wc->covered_from = rev;
			if (wc->private)
				next = ETCD_STREAM_STOP;
		} else if (rc > 0) {
			ring_push(wc, &ev);
			for (struct store_watch *w = wc->watches; w; w = w->next)
				deliver(w, &ev);
		}
		if (rev > wc->rev)
			wc->rev = rev;
	}
	delivering = NULL;
	cache_reap(wc);
	bool gone = wc->private && !wc->watches;
	pthread_mutex_unlock(&wc->mu);
	if (gone) {
		/* Its only watch was stopped from its own callback. */
		etcd_stream_close(wc->stream);
		cache_free(wc);
		return ETCD_STREAM_STOP;
	}
	return next;
}

static struct wcache *cache_new(struct et_store *s, const char *prefix, int64_t rev, bool private)
{
	struct wcache *wc = xcalloc(1, sizeof(*wc));
	wc->s = s;
	wc->prefix = xstrdup(prefix);
	wc->private = private;
	wc->rev = rev;
	wc->covered_from = rev;
	pthread_mutex_init(&wc->mu, NULL);
	if (!private) {
		pthread_mutex_lock(&s->caches_mu);
		evring_init(&wc->ring, s->ring_events, s->ring_bytes);
		pthread_mutex_unlock(&s->caches_mu);
	}
	return wc;
}

static int cache_start(struct wcache *wc, struct mk_err **err)
{
	/* The stream thread may deliver before this returns: wc is complete. */
	wc->stream = etcd_stream_open(wc->s->c, "watch", &cache_stream_ops, wc, err);
	return wc->stream ? 0 : -1;
}

/* The prefix the shared cache of a watch on prefix covers: the longest
 * configured one that holds it, else the prefix itself. New string. */
static char *cache_prefix_of(struct et_store *s, const char *prefix)
{
	const char *best = NULL;
	for (char **p = s->cache_prefixes; p && *p; p++)
		if (!strncmp(prefix, *p, strlen(*p)) && (!best || strlen(*p) > strlen(best)))
			best = *p;
	return xstrdup(best ? best : prefix);
}

/* The shared cache for prefix, started now at the current revision if new. */
static struct wcache *cache_get(struct et_store *s, const char *prefix, struct mk_err **err)
{
	cleanup_free char *cp = cache_prefix_of(s, prefix);
	pthread_mutex_lock(&s->caches_mu);
	for (struct wcache *wc = s->caches; wc; wc = wc->next) {
		if (!strcmp(wc->prefix, cp)) {
			pthread_mutex_unlock(&s->caches_mu);
			return wc;
		}
	}
	pthread_mutex_unlock(&s->caches_mu);
	int64_t rev = et_current_rev_err(s, err);
	if (rev < 0)
		return NULL;
	struct wcache *wc = cache_new(s, cp, rev, false);
	pthread_mutex_lock(&s->caches_mu);
	/* Another thread may have made it meanwhile. */
	for (struct wcache *o = s->caches; o; o = o->next) {
		if (!strcmp(o->prefix, cp)) {
			pthread_mutex_unlock(&s->caches_mu);
			cache_free(wc);
			return o;
		}
	}
	if (cache_start(wc, err) < 0) {
		pthread_mutex_unlock(&s->caches_mu);
		cache_free(wc);
		return NULL;
	}
	wc->next = s->caches;
	s->caches = wc;
	pthread_mutex_unlock(&s->caches_mu);
	return wc;
}

static struct store_watch *watch_new(const char *prefix, int64_t after, store_watch_cb cb,
				     void *arg)
{
	struct store_watch *w = xcalloc(1, sizeof(*w));
	w->prefix = xstrdup(prefix);
	w->prefix_len = strlen(prefix);
	w->after = after;
	w->cb = cb;
	w->arg = arg;
	return w;
}

/* A watch of its own from after_rev: refused at once if etcd compacted it. */
static struct store_watch *watch_private(struct et_store *s, const char *prefix, int64_t after_rev,
					 store_watch_cb cb, void *arg, struct mk_err **err)
{
	cleanup_free char *p = eprefix(s, prefix, err);
	if (!p)
		return NULL;
	cleanup_free char *bp = etcd_b64(p, strlen(p));
	char r[32];
	snprintf(r, sizeof(r), "%lld", (long long)(after_rev + 1));
	cleanup_json json_t *req =
		json_pack("{s:s, s:b, s:s}", "key", bp, "count_only", 1, "revision", r);
	struct mk_err *e = NULL;
	cleanup_json json_t *resp = etcd_call(s->c, "kv/range", req, ETCD_IDEMPOTENT, &e);
	if (!resp && mk_err_code(e) == MK_EEXPIRED) {
		mk_err_free(e);
		int64_t compact = __atomic_load_n(&s->compact_rev, __ATOMIC_ACQUIRE);
		mk_err_set(err, MK_EEXPIRED, "too old resource version: %lld (%lld)",
			   (long long)after_rev, (long long)compact);
		return NULL;
	}
	/* A future revision is no history to check. */
	if (!resp && mk_err_code(e) != MK_ETIMEOUT) {
		if (err && !*err)
			*err = e;
		else
			mk_err_free(e);
		return NULL;
	}
	mk_err_free(e);
	struct wcache *wc = cache_new(s, prefix, after_rev, true);
	struct store_watch *w = watch_new(prefix, after_rev, cb, arg);
	w->wc = wc;
	wc->watches = w;
	if (cache_start(wc, err) < 0) {
		cache_free(wc);
		return NULL;
	}
	return w;
}

static struct store_watch *et_watch(struct store *st, const char *prefix, int64_t after_rev,
				    store_watch_cb cb, void *arg, struct mk_err **err)
{
	struct et_store *s = es(st);
	if (after_rev < 0) {
		mk_err_set(err, MK_EINVAL, "invalid revision %lld", (long long)after_rev);
		return NULL;
	}
	if (!prefix)
		prefix = "";
	cleanup_free char *check = eprefix(s, prefix, err);
	if (!check)
		return NULL;
	struct wcache *wc = cache_get(s, prefix, err);
	if (!wc)
		return NULL;
	if (after_rev == 0 && (after_rev = et_current_rev_err(s, err)) < 0)
		return NULL;
	pthread_mutex_lock(&wc->mu);
	if (after_rev >= wc->covered_from) {
		struct store_watch *w = watch_new(prefix, after_rev, cb, arg);
		w->wc = wc;
		delivering = wc;
		for (size_t i = 0; i < wc->ring.n; i++) {
			struct store_event ev;
			evring_event(evring_nth(&wc->ring, i), &ev);
			deliver(w, &ev);
		}
		delivering = NULL;
		w->next = wc->watches;
		wc->watches = w;
		cache_reap(wc);
		pthread_mutex_unlock(&wc->mu);
		return w;
	}
	pthread_mutex_unlock(&wc->mu);
	return watch_private(s, prefix, after_rev, cb, arg, err);
}

static void et_watch_stop(struct store_watch *w)
{
	if (!w)
		return;
	struct wcache *wc = w->wc;
	if (delivering == wc) {
		/* From one of this cache's callbacks: its lock is held. */
		w->dead = true;
		wc->has_dead = true;
		return;
	}
	if (wc->private) {
		etcd_stream_close(wc->stream);
		cache_free(wc);
		return;
	}
	pthread_mutex_lock(&wc->mu);
	for (struct store_watch **pp = &wc->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&wc->mu);
	watch_free(w);
}

/* --- compaction --------------------------------------------------------------- */

static int et_compact(struct store *st, int64_t rev, struct mk_err **err)
{
	struct et_store *s = es(st);
	if (rev <= __atomic_load_n(&s->compact_rev, __ATOMIC_ACQUIRE))
		return 0;
	char r[32];
	snprintf(r, sizeof(r), "%lld", (long long)rev);
	cleanup_json json_t *req = json_pack("{s:s}", "revision", r);
	struct mk_err *e = NULL;
	cleanup_json json_t *resp = etcd_call(s->c, "kv/compaction", req, ETCD_IDEMPOTENT, &e);
	if (!resp) {
		int code = mk_err_code(e);
		if (code == MK_EEXPIRED) {
			/* Compacted there or further already (another server). */
			mk_err_free(e);
			compact_seen(s, rev);
			return 0;
		}
		if (code == MK_ETIMEOUT) {
			mk_err_free(e);
			return mk_err_set(
				err, MK_EINVAL, "cannot compact to revision %lld (current %lld)",
				(long long)rev,
				(long long)__atomic_load_n(&s->last_rev, __ATOMIC_ACQUIRE));
		}
		if (err && !*err)
			*err = e;
		else
			mk_err_free(e);
		return -1;
	}
	header_rev(s, resp);
	compact_seen(s, rev);
	__atomic_add_fetch(&s->compactions, 1, __ATOMIC_RELAXED);
	return 0;
}

/* One tick of upstream's compactor (k8s.io/apiserver storage/etcd3/compact.go):
 * claims the tick by moving compact_rev_key's version from *clock, then
 * compacts to *rev (the revision seen at the previous tick). Updates *clock
 * and *rev for the next tick. */
static int compact_tick(struct et_store *s, int64_t *clock, int64_t *rev, struct mk_err **err)
{
	cleanup_free char *k = etcd_b64(COMPACT_REV_KEY, strlen(COMPACT_REV_KEY));
	char t[32], r[32];
	snprintf(t, sizeof(t), "%lld", (long long)*clock);
	snprintf(r, sizeof(r), "%lld", (long long)*rev);
	cleanup_free char *v = etcd_b64(r, strlen(r));
	cleanup_json json_t *txn = json_pack(
		"{s:[{s:s, s:s, s:s, s:s}], s:[{s:{s:s, s:s}}], s:[{s:{s:s}}]}", "compare",
		"target", "VERSION", "result", "EQUAL", "key", k, "version", t, "success",
		"request_put", "key", k, "value", v, "failure", "request_range", "key", k);
	cleanup_json json_t *resp = etcd_call(s->c, "kv/txn", txn, 0, err);
	if (!resp)
		return -1;
	int64_t cur = header_rev(s, resp);
	if (!json_is_true(json_object_get(resp, "succeeded"))) {
		json_t *range = json_object_get(
			json_array_get(json_object_get(resp, "responses"), 0), "response_range");
		json_t *kv = json_array_get(json_object_get(range, "kvs"), 0);
		*clock = etcd_int(kv, "version");
		size_t len = 0;
		cleanup_free char *won =
			etcd_unb64(json_string_value(json_object_get(kv, "value")), &len);
		if (won)
			compact_seen(s, strtoll(won, NULL, 10));
		*rev = cur;
		return 0;
	}
	int64_t target = *rev;
	*clock += 1;
	*rev = cur;
	if (target == 0)
		return 0; /* nothing to compact on the first tick */
	if (et_compact(&s->base, target, err) < 0)
		return -1;
	log_v(2, "store: compacted etcd to revision %lld", (long long)target);
	return 0;
}

static void *compactor_main(void *arg)
{
	struct et_store *s = arg;
	int64_t clock = 0, rev = 0;
	pthread_mutex_lock(&s->cmu);
	while (!s->cstop) {
		struct timespec wake;
		clock_gettime(CLOCK_MONOTONIC, &wake);
		int64_t ms = s->compact_interval_ms;
		wake.tv_sec += ms / 1000;
		wake.tv_nsec += (ms % 1000) * 1000000L;
		if (wake.tv_nsec >= 1000000000L) {
			wake.tv_sec++;
			wake.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!s->cstop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&s->ccond, &s->cmu, &wake);
		if (s->cstop)
			break;
		pthread_mutex_unlock(&s->cmu);
		cleanup_err struct mk_err *err = NULL;
		if (compact_tick(s, &clock, &rev, &err) < 0)
			log_warn("store: etcd compaction: %s", mk_err_msg(err));
		pthread_mutex_lock(&s->cmu);
	}
	pthread_mutex_unlock(&s->cmu);
	return NULL;
}

/* --- the rest ----------------------------------------------------------------- */

static int64_t et_current_rev(struct store *st)
{
	struct et_store *s = es(st);
	cleanup_err struct mk_err *err = NULL;
	int64_t rev = et_current_rev_err(s, &err);
	return rev >= 0 ? rev : __atomic_load_n(&s->last_rev, __ATOMIC_ACQUIRE);
}

static int64_t et_compact_rev(struct store *st)
{
	return __atomic_load_n(&es(st)->compact_rev, __ATOMIC_ACQUIRE);
}

static void et_free(struct et_store *s)
{
	/* Streams first: once the client is freed no cache callback runs. */
	etcd_client_free(s->c);
	while (s->caches) {
		struct wcache *wc = s->caches;
		s->caches = wc->next;
		cache_free(wc);
	}
	for (char **p = s->cache_prefixes; p && *p; p++)
		free(*p);
	free(s->cache_prefixes);
	free(s->prefix);
	pthread_mutex_destroy(&s->lease_mu);
	pthread_mutex_destroy(&s->caches_mu);
	pthread_mutex_destroy(&s->cmu);
	pthread_cond_destroy(&s->ccond);
	free(s);
}

static void et_close(struct store *st)
{
	struct et_store *s = es(st);
	if (s->compactor_started) {
		pthread_mutex_lock(&s->cmu);
		s->cstop = true;
		pthread_cond_signal(&s->ccond);
		pthread_mutex_unlock(&s->cmu);
		pthread_join(s->compactor, NULL);
	}
	et_free(s);
}

static const struct store_ops et_ops = {
	.get = et_get,
	.list = et_list,
	.create = et_create,
	.update = et_update,
	.del = et_del,
	.watch = et_watch,
	.watch_stop = et_watch_stop,
	.compact = et_compact,
	.current_rev = et_current_rev,
	.compact_rev = et_compact_rev,
	.close = et_close,
	.read_batch = et_read_batch,
};

/* What compact_rev_key says the last compaction reached (0 if none). */
static void read_compact_key(struct et_store *s)
{
	cleanup_free char *k = etcd_b64(COMPACT_REV_KEY, strlen(COMPACT_REV_KEY));
	cleanup_json json_t *req = json_pack("{s:s}", "key", k);
	cleanup_json json_t *resp = etcd_call(s->c, "kv/range", req, ETCD_IDEMPOTENT, NULL);
	json_t *kv = json_array_get(json_object_get(resp, "kvs"), 0);
	cleanup_free char *v =
		kv ? etcd_unb64(json_string_value(json_object_get(kv, "value")), NULL) : NULL;
	if (v)
		compact_seen(s, strtoll(v, NULL, 10));
}

struct store *store_etcd_open(const struct store_etcd_config *cfg, struct mk_err **err)
{
	const char *prefix = cfg->prefix && cfg->prefix[0] ? cfg->prefix : REGISTRY;
	if (prefix[0] != '/') {
		mk_err_set(err, MK_EINVAL, "--etcd-prefix %s must start with /", prefix);
		return NULL;
	}
	struct et_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &et_ops;
	s->prefix = xstrdup(prefix);
	size_t pl = strlen(s->prefix);
	while (pl > 1 && s->prefix[pl - 1] == '/')
		s->prefix[--pl] = 0;
	pthread_mutex_init(&s->lease_mu, NULL);
	pthread_mutex_init(&s->caches_mu, NULL);
	pthread_mutex_init(&s->cmu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->ccond, &ca);
	pthread_condattr_destroy(&ca);
	s->ring_events = RING_EVENTS_DEFAULT;
	s->ring_bytes = RING_BYTES_DEFAULT;
	s->compact_interval_ms = cfg->compaction_interval_ms;

	struct etcd_config ec = {
		.endpoints = cfg->servers,
		.ca_file = cfg->ca_file,
		.cert_file = cfg->cert_file,
		.key_file = cfg->key_file,
	};
	if (!(s->c = etcd_client_new(&ec, err)))
		goto fail;

	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t rev;
	for (;;) {
		struct mk_err *e = NULL;
		rev = et_current_rev_err(s, &e);
		if (rev >= 0) {
			mk_err_free(e);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t waited =
			(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (mk_err_code(e) != MK_EUNAVAILABLE || waited >= cfg->wait_ms) {
			if (err && !*err)
				*err = e;
			else
				mk_err_free(e);
			goto fail;
		}
		log_warn("store: waiting for etcd: %s", mk_err_msg(e));
		mk_err_free(e);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = OPEN_RETRY_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	read_compact_key(s);

	size_t n = 0;
	for (const char *const *p = cfg->watch_prefixes; p && *p; p++)
		n++;
	s->cache_prefixes = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		s->cache_prefixes[i] = xstrdup(cfg->watch_prefixes[i]);
		cleanup_free char *check = eprefix(s, s->cache_prefixes[i], err);
		if (!check)
			goto fail;
		struct wcache *wc = cache_new(s, s->cache_prefixes[i], rev, false);
		if (cache_start(wc, err) < 0) {
			cache_free(wc);
			goto fail;
		}
		wc->next = s->caches;
		s->caches = wc;
	}

	if (s->compact_interval_ms > 0) {
		int rc = pthread_create(&s->compactor, NULL, compactor_main, s);
		if (rc) {
			mk_err_errno(err, MK_EIO, rc, "starting the etcd compactor");
			goto fail;
		}
		s->compactor_started = true;
	}
	return &s->base;
fail:
	mk_err_wrap(err, "opening etcd store %s", cfg->servers ? cfg->servers : "");
	et_free(s);
	return NULL;
}

/* --- internal knobs ----------------------------------------------------------- */

void store_etcd_set_ring_limits(struct store *st, size_t max_events, size_t max_bytes)
{
	struct et_store *s = es(st);
	if (max_events == 0)
		max_events = 1;
	pthread_mutex_lock(&s->caches_mu);
	s->ring_events = max_events;
	s->ring_bytes = max_bytes;
	for (struct wcache *wc = s->caches; wc; wc = wc->next) {
		pthread_mutex_lock(&wc->mu);
		evring_resize(&wc->ring, max_events, max_bytes);
		cover_dropped(wc);
		pthread_mutex_unlock(&wc->mu);
	}
	pthread_mutex_unlock(&s->caches_mu);
}

int64_t store_etcd_cache_window(struct store *st, const char *prefix)
{
	struct et_store *s = es(st);
	struct wcache *wc = cache_get(s, prefix, NULL);
	if (!wc)
		return -1;
	pthread_mutex_lock(&wc->mu);
	int64_t from = wc->covered_from;
	pthread_mutex_unlock(&wc->mu);
	return from;
}

uint64_t store_etcd_compactions(struct store *st)
{
	return __atomic_load_n(&es(st)->compactions, __ATOMIC_RELAXED);
}
