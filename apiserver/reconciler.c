/* Lease endpoint reconciler (see the header), after upstream's
 * pkg/controlplane/reconcilers/lease.go. */
#include "apiserver/reconciler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "timefmt.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"

#define LEASES_PREFIX "/registry/masterleases/"
#define INTERVAL_MS_DEFAULT 10000
#define TTL_S_DEFAULT 15
#define CAS_TRIES 16

struct reconciler {
	struct store *st;
	char *ip;
	int port;
	int64_t interval_ms, ttl_s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
};

/* Sets fields of the wanted state on obj (borrowed). */
typedef void (*want_fn)(json_t *obj, const void *arg);

/* Creates key from a fresh object or brings the stored one to the wanted
 * state, by compare-and-swap; ttl as store_create_ttl. A stored object
 * already in that state is left alone unless always_write. */
static int upsert(struct store *st, const struct api_resource *r, const char *ns,
		  const char *name, want_fn want, const void *arg, int64_t ttl, bool always_write,
		  struct mk_err **err)
{
	cleanup_free char *key = r ? api_key(r, ns, name) : xasprintf(LEASES_PREFIX "%s", name);
	for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
		struct store_kv kv = {0};
		struct mk_err *e = NULL;
		if (store_get(st, key, &kv, &e) < 0) {
			if (mk_err_code(e) != MK_ENOTFOUND) {
				if (err && !*err)
					*err = e;
				else
					mk_err_free(e);
				return -1;
			}
			mk_err_free(e);
			e = NULL;
			cleanup_free char *uid = names_uid_new();
			cleanup_free char *now = time_now_rfc3339();
			cleanup_json json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name",
							     name, "uid", uid, "creationTimestamp", now);
			if (ns)
				json_path_set(obj, "metadata.namespace", json_string(ns));
			if (r) {
				json_object_set_new(obj, "kind", json_string(r->kind));
				json_object_set_new(obj, "apiVersion",
						    json_string(api_resource_api_version(r)));
			} else {
				json_object_set_new(obj, "kind", json_string("Endpoints"));
				json_object_set_new(obj, "apiVersion", json_string("v1"));
			}
			want(obj, arg);
			cleanup_free char *value = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (store_create_ttl(st, key, value, ttl, &e) >= 0)
				return 0;
			if (mk_err_code(e) == MK_EEXISTS) {
				mk_err_free(e);
				continue;
			}
			if (err && !*err)
				*err = e;
			else
				mk_err_free(e);
			return -1;
		}
		cleanup_json json_t *cur = json_loads(kv.value, 0, NULL);
		int64_t rev = kv.mod_rev;
		store_kv_free(&kv);
		if (!json_is_object(cur))
			return mk_err_set(err, MK_EIO, "stored %s is not JSON", key);
		cleanup_json json_t *next = json_deep_copy(cur);
		want(next, arg);
		if (!always_write && json_value_equal(next, cur))
			return 0;
		cleanup_free char *value = json_dumps(next, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (store_update_ttl(st, key, value, rev, ttl, NULL, &e) >= 0)
			return 0;
		if (mk_err_code(e) == MK_ECONFLICT || mk_err_code(e) == MK_ENOTFOUND) {
			mk_err_free(e);
			continue;
		}
		if (err && !*err)
			*err = e;
		else
			mk_err_free(e);
		return -1;
	}
	return mk_err_set(err, MK_ECONFLICT, "updating %s kept conflicting", key);
}

/* The lease: an Endpoints with our address; its generation moves so that
 * every refresh is a write (and renews the TTL), as upstream's. */
static void want_lease(json_t *obj, const void *arg)
{
	const char *ip = arg;
	json_t *md = json_object_get(obj, "metadata");
	json_int_t gen = json_integer_value(json_object_get(md, "generation"));
	json_object_set_new(md, "generation", json_integer(gen + 1));
	json_object_set_new(obj, "subsets", json_pack("[{s:[{s:s}]}]", "addresses", "ip", ip));
}

struct wanted_eps {
	json_t *ips; /* array of strings, sorted */
	int port;
};

/* Sets a label (label names hold dots, which json_path_set reads as steps). */
static void set_label(json_t *obj, const char *name, const char *value)
{
	json_t *labels = json_path_get(obj, "metadata.labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_path_set(obj, "metadata.labels", labels);
	}
	json_object_set_new(labels, name, json_string(value));
}

static void want_endpoints(json_t *obj, const void *arg)
{
	const struct wanted_eps *w = arg;
	set_label(obj, "endpointslice.kubernetes.io/skip-mirror", "true");
	json_t *addrs = json_array();
	size_t i;
	json_t *ip;
	json_array_foreach(w->ips, i, ip) json_array_append_new(addrs, json_pack("{s:O}", "ip", ip));
	json_object_set_new(obj, "subsets",
			    json_pack("[{s:o, s:[{s:s, s:i, s:s}]}]", "addresses", addrs, "ports",
				      "name", "https", "port", w->port, "protocol", "TCP"));
}

static void want_slice(json_t *obj, const void *arg)
{
	const struct wanted_eps *w = arg;
	set_label(obj, "kubernetes.io/service-name", "kubernetes");
	set_label(obj, "endpointslice.kubernetes.io/managed-by", "kube-apiserver");
	const char *first = json_string_value(json_array_get(w->ips, 0));
	json_object_set_new(obj, "addressType",
			    json_string(first && strchr(first, ':') ? "IPv6" : "IPv4"));
	json_t *eps = json_array();
	size_t i;
	json_t *ip;
	json_array_foreach(w->ips, i, ip) json_array_append_new(
		eps, json_pack("{s:[O], s:{s:b}}", "addresses", ip, "conditions", "ready", 1));
	json_object_set_new(obj, "endpoints", eps);
	json_object_set_new(obj, "ports", json_pack("[{s:s, s:i, s:s}]", "name", "https", "port",
						    w->port, "protocol", "TCP"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The addresses of the live leases, sorted. New array or NULL. */
static json_t *lease_ips(struct store *st, struct mk_err **err)
{
	struct store_list l = {0};
	if (store_list(st, LEASES_PREFIX, NULL, 0, 0, &l, err) < 0)
		return NULL;
	const char **v = xcalloc(l.n + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++)
		v[n++] = l.items[i].key + strlen(LEASES_PREFIX);
	qsort(v, n, sizeof(*v), cmp_str);
	json_t *ips = json_array();
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(v[i], v[i - 1]))
			json_array_append_new(ips, json_string(v[i]));
	free(v);
	store_list_free(&l);
	return ips;
}

static int reconcile_endpoints(struct reconciler *r, struct mk_err **err)
{
	cleanup_json json_t *ips = lease_ips(r->st, err);
	if (!ips)
		return -1;
	if (!json_array_size(ips))
		return mk_err_set(err, MK_EIO,
				  "no master IPs were listed in storage, refusing to erase all "
				  "endpoints for the kubernetes service");
	struct wanted_eps w = {.ips = ips, .port = r->port};
	const struct api_resource *epr = api_resource_find("", "v1", "endpoints");
	const struct api_resource *slr = api_resource_find("discovery.k8s.io", "v1", "endpointslices");
	if (upsert(r->st, epr, "default", "kubernetes", want_endpoints, &w, 0, false, err) < 0)
		return mk_err_wrap(err, "the kubernetes Endpoints");
	if (slr &&
	    upsert(r->st, slr, "default", "kubernetes", want_slice, &w, 0, false, err) < 0)
		return mk_err_wrap(err, "the kubernetes EndpointSlice");
	return 0;
}

int reconciler_sync(struct reconciler *r, struct mk_err **err)
{
	if (upsert(r->st, NULL, NULL, r->ip, want_lease, r->ip, r->ttl_s, true, err) < 0)
		return mk_err_wrap(err, "refreshing the master lease of %s", r->ip);
	return reconcile_endpoints(r, err);
}

static void *reconciler_main(void *arg)
{
	struct reconciler *r = arg;
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += r->interval_ms / 1000;
		t.tv_nsec += (r->interval_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		while (!r->stop && pthread_cond_timedwait(&r->cond, &r->mu, &t) == 0)
			;
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->mu);
		cleanup_err struct mk_err *err = NULL;
		if (reconciler_sync(r, &err) < 0)
			log_warn("endpoint reconciler: %s", mk_err_msg(err));
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void reconciler_free(struct reconciler *r)
{
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
	free(r->ip);
	free(r);
}

struct reconciler *reconciler_start(struct store *st, const struct reconciler_config *cfg,
				    struct mk_err **err)
{
	struct reconciler *r = xcalloc(1, sizeof(*r));
	r->st = st;
	r->ip = xstrdup(cfg->ip);
	r->port = cfg->port;
	r->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms : INTERVAL_MS_DEFAULT;
	r->ttl_s = cfg->ttl_s > 0 ? cfg->ttl_s : TTL_S_DEFAULT;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (reconciler_sync(r, err) < 0) {
		reconciler_free(r);
		return NULL;
	}
	int rc = pthread_create(&r->thread, NULL, reconciler_main, r);
	if (rc) {
		mk_err_errno(err, MK_EIO, rc, "starting the endpoint reconciler");
		reconciler_free(r);
		return NULL;
	}
	return r;
}

void reconciler_stop(struct reconciler *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	cleanup_free char *key = xasprintf(LEASES_PREFIX "%s", r->ip);
	cleanup_err struct mk_err *err = NULL;
	if (store_delete(r->st, key, 0, NULL, &err) < 0 && mk_err_code(err) != MK_ENOTFOUND)
		log_warn("endpoint reconciler: removing the master lease of %s: %s", r->ip,
			 mk_err_msg(err));
	mk_err_free(err);
	err = NULL;
	/* The last server leaves its address behind rather than nothing. */
	if (reconcile_endpoints(r, &err) < 0)
		log_v(2, "endpoint reconciler: %s", mk_err_msg(err));
	reconciler_free(r);
}
