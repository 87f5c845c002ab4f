#include "manager.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "controllers-internal.h"
#include "events.h"
#include "kubeconfig.h"
#include "labels.h"
#include "leaderelect.h"
#include "log.h"
#include "timefmt.h"
#include "xalloc.h"

static const char *const resource_paths[MGR_NRESOURCES] = {
	[MGR_PODS] = "/api/v1/pods",
	[MGR_REPLICASETS] = "/apis/apps/v1/replicasets",
	[MGR_DEPLOYMENTS] = "/apis/apps/v1/deployments",
	[MGR_SERVICES] = "/api/v1/services",
	[MGR_ENDPOINTS] = "/api/v1/endpoints",
	[MGR_ENDPOINTSLICES] = "/apis/discovery.k8s.io/v1/endpointslices",
	[MGR_NAMESPACES] = "/api/v1/namespaces",
	[MGR_SERVICEACCOUNTS] = "/api/v1/serviceaccounts",
	[MGR_NODES] = "/api/v1/nodes",
	[MGR_NODE_LEASES] = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
};

struct shared_informer {
	struct informer *inf;
	struct informer_handlers *subs;
	size_t nsubs;
	enum manager_resource res;
};

struct manager {
	const struct manager_options *opts;
	struct kubeconfig *kc;
	struct client *client;
	struct shared_informer informers[MGR_NRESOURCES];
	pthread_mutex_t lock;
	pthread_cond_t synced_cond;
	bool synced;
};

struct manager *manager_new(const struct manager_options *opts, struct mk_err **err)
{
	struct kubeconfig *kc = NULL;
	if (!opts->master || opts->kubeconfig) {
		kc = kubeconfig_load(opts->kubeconfig, err);
		if (!kc)
			return NULL;
	}
	struct client *c = client_new(opts->master, kc, err);
	if (!c) {
		kubeconfig_free(kc);
		return NULL;
	}
	struct manager *m = xcalloc(1, sizeof(*m));
	m->opts = opts;
	m->kc = kc;
	m->client = c;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->synced_cond, NULL);
	for (int i = 0; i < MGR_NRESOURCES; i++)
		m->informers[i].res = (enum manager_resource)i;
	return m;
}

void manager_free(struct manager *m)
{
	if (!m)
		return;
	for (int i = 0; i < MGR_NRESOURCES; i++) {
		informer_free(m->informers[i].inf);
		free(m->informers[i].subs);
	}
	client_free(m->client);
	kubeconfig_free(m->kc);
	free(m);
}

const struct manager_options *manager_options(const struct manager *m)
{
	return m->opts;
}

struct client *manager_client(struct manager *m)
{
	return m->client;
}

struct client *manager_client_new(struct manager *m, struct mk_err **err)
{
	return client_new(m->opts->master, m->kc, err);
}

bool manager_controller_enabled(const char *list, const char *name, bool default_on)
{
	if (!list || !*list)
		list = "*";
	bool star = false;
	cleanup_free char *copy = xstrdup(list);
	char *save = NULL;
	/* as upstream: the first entry naming the controller decides */
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!strcmp(tok, "*"))
			star = true;
		else if (tok[0] == '-' && !strcmp(tok + 1, name))
			return false;
		else if (!strcmp(tok, name))
			return true;
	}
	return star && default_on;
}

static void fan_add(json_t *obj, void *arg)
{
	struct shared_informer *si = arg;
	for (size_t i = 0; i < si->nsubs; i++)
		if (si->subs[i].on_add)
			si->subs[i].on_add(obj, si->subs[i].arg);
}

static void fan_update(json_t *old_obj, json_t *new_obj, void *arg)
{
	struct shared_informer *si = arg;
	for (size_t i = 0; i < si->nsubs; i++)
		if (si->subs[i].on_update)
			si->subs[i].on_update(old_obj, new_obj, si->subs[i].arg);
}

static void fan_delete(json_t *obj, void *arg)
{
	struct shared_informer *si = arg;
	for (size_t i = 0; i < si->nsubs; i++)
		if (si->subs[i].on_delete)
			si->subs[i].on_delete(obj, si->subs[i].arg);
}

static void fan_error(const struct mk_err *e, void *arg)
{
	struct shared_informer *si = arg;
	log_v(2, "informer %s: %s", resource_paths[si->res], mk_err_msg(e));
}

struct informer *manager_informer(struct manager *m, enum manager_resource r)
{
	pthread_mutex_lock(&m->lock);
	struct shared_informer *si = &m->informers[r];
	if (!si->inf) {
		struct informer_handlers h = {
			.on_add = fan_add,
			.on_update = fan_update,
			.on_delete = fan_delete,
			.on_error = fan_error,
			.arg = si,
		};
		cleanup_err struct mk_err *err = NULL;
		si->inf = informer_new(m->client, resource_paths[r], NULL, NULL, &h, &err);
		if (!si->inf) {
			/* only fails on malformed arguments, which are constants here */
			log_error("informer %s: %s", resource_paths[r], mk_err_msg(err));
			abort();
		}
	}
	pthread_mutex_unlock(&m->lock);
	return si->inf;
}

void manager_subscribe(struct manager *m, enum manager_resource r,
		       const struct informer_handlers *h)
{
	manager_informer(m, r);
	struct shared_informer *si = &m->informers[r];
	si->subs = xrealloc(si->subs, (si->nsubs + 1) * sizeof(*si->subs));
	si->subs[si->nsubs++] = *h;
}

static void wait_synced(struct manager *m)
{
	pthread_mutex_lock(&m->lock);
	while (!m->synced)
		pthread_cond_wait(&m->synced_cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

struct worker {
	struct manager *m;
	char *name;
	struct workqueue *q;
	manager_sync_fn sync;
	void *arg;
	int64_t period_ms;
	void (*fn)(void *arg);
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	wait_synced(w->m);
	for (;;) {
		char *key = workqueue_get(w->q);
		if (!key)
			break;
		struct mk_err *err = NULL;
		if (w->sync(key, w->arg, &err) < 0) {
			log_v(1, "%s: syncing %s: %s", w->name, key, mk_err_msg(err));
			workqueue_add_rate_limited(w->q, key);
		} else {
			workqueue_forget(w->q, key);
		}
		mk_err_free(err);
		workqueue_done(w->q, key);
		free(key);
	}
	return NULL;
}

static int spawn(struct worker *w, void *(*fn)(void *), struct mk_err **err)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, fn, w);
	if (rc != 0)
		return mk_err_errno(err, MK_EIO, rc, "starting %s worker", w->name);
	pthread_detach(t);
	return 0;
}

int manager_run_workers(struct manager *m, const char *name, struct workqueue *q, int n,
			manager_sync_fn sync, void *arg, struct mk_err **err)
{
	if (n < 1)
		n = 1;
	for (int i = 0; i < n; i++) {
		struct worker *w = xcalloc(1, sizeof(*w));
		*w = (struct worker){.m = m, .name = xstrdup(name), .q = q, .sync = sync, .arg = arg};
		if (spawn(w, worker_main, err) < 0)
			return -1;
	}
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0)
		;
}

static void *periodic_main(void *arg)
{
	struct worker *w = arg;
	wait_synced(w->m);
	for (;;) {
		w->fn(w->arg);
		sleep_ms(w->period_ms);
	}
	return NULL;
}

int manager_run_periodic(struct manager *m, const char *name, int64_t period_ms,
			 void (*fn)(void *arg), void *arg, struct mk_err **err)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	*w = (struct worker){
		.m = m, .name = xstrdup(name), .period_ms = period_ms > 0 ? period_ms : 1000,
		.fn = fn, .arg = arg};
	return spawn(w, periodic_main, err);
}

struct controller_entry {
	const char *name;
	bool default_on;
	int (*start)(struct manager *m, struct mk_err **err);
};

static const struct controller_entry controllers[] = {
	{"deployment", true, deployment_controller_start},
	{"replicaset", true, replicaset_controller_start},
	{"endpoint", true, endpoints_controller_start},
	{"endpointslice", true, endpointslice_controller_start},
	{"serviceaccount", true, serviceaccount_controller_start},
	{"namespace", true, namespace_controller_start},
	{"garbagecollector", true, gc_controller_start},
	{"nodeipam", true, nodeipam_controller_start},
	{"nodelifecycle", true, nodelifecycle_controller_start},
};

static void lease_error(const struct mk_err *err, void *arg)
{
	const struct manager_options *o = arg;
	log_warn("error retrieving resource lock %s/%s: %s", o->lease_namespace, o->lease_name,
		 mk_err_msg(err));
}

/* Losing the lease ends the process so that two managers never act at once. */
static void lease_lost(void *arg)
{
	(void)arg;
	log_error("leaderelection lost");
	exit(1);
}

static int elect(struct manager *m, volatile sig_atomic_t *stop, struct mk_err **err)
{
	const struct manager_options *o = m->opts;
	static struct leader_callbacks cb = {.on_error = lease_error, .on_lost = lease_lost};
	cb.arg = (void *)o;
	cleanup_free char *identity = leader_identity_new();
	struct leader_elector *le =
		leader_elector_new(m->client, o->lease_namespace, o->lease_name, identity,
				   (int)((o->lease_duration_ms + 999) / 1000));
	int64_t retry = o->retry_period_ms > 0 ? o->retry_period_ms : 2000;
	log_info("attempting to acquire leader lease %s/%s...", o->lease_namespace, o->lease_name);
	if (!leader_elector_acquire(le, retry, stop, &cb))
		return 1;
	log_info("successfully acquired lease %s/%s", o->lease_namespace, o->lease_name);
	return leader_elector_keep(le, retry, o->renew_deadline_ms, &cb, err);
}

int manager_run(struct manager *m, volatile sig_atomic_t *stop, struct mk_err **err)
{
	if (m->opts->leader_elect) {
		int rc = elect(m, stop, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	struct client *ec = manager_client_new(m, err);
	if (!ec || events_start_async(ec, err) < 0)
		return mk_err_wrap(err, "starting the event recorder");
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
		const struct controller_entry *c = &controllers[i];
		if (!manager_controller_enabled(m->opts->controllers, c->name, c->default_on)) {
			log_info("Warning: controller %s is disabled", c->name);
			continue;
		}
		log_info("Starting controller %s", c->name);
		if (c->start(m, err) < 0)
			return mk_err_wrap(err, "starting controller %s", c->name);
	}
	for (int i = 0; i < MGR_NRESOURCES; i++) {
		if (m->informers[i].inf && informer_start(m->informers[i].inf, err) < 0)
			return mk_err_wrap(err, "starting informer %s", resource_paths[i]);
	}
	for (int i = 0; i < MGR_NRESOURCES && !*stop; i++) {
		if (!m->informers[i].inf)
			continue;
		while (!*stop && !informer_wait_synced(m->informers[i].inf, 500))
			;
	}
	if (*stop)
		return 0;
	log_info("Caches are synced");
	pthread_mutex_lock(&m->lock);
	m->synced = true;
	pthread_cond_broadcast(&m->synced_cond);
	pthread_mutex_unlock(&m->lock);
	while (!*stop)
		sleep_ms(200);
	return 0;
}

/* Helpers shared by the controllers. */

const char *obj_meta_str(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

json_t *obj_controller_ref(const json_t *obj)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   o) {
		if (json_is_true(json_object_get(o, "controller")))
			return o;
	}
	return NULL;
}

bool ctrl_selector_matches(const json_t *selector, const json_t *labels)
{
	if (!json_is_object(selector))
		return false;
	/* a malformed selector (the API server validates them) selects nothing */
	struct label_selector *sel = labels_selector_from_json(selector, NULL);
	bool ok = sel && labels_selector_matches(sel, labels);
	labels_selector_free(sel);
	return ok;
}

bool ctrl_selector_empty(const json_t *selector)
{
	return json_is_object(selector) &&
	       !json_object_size(json_object_get(selector, "matchLabels")) &&
	       !json_array_size(json_object_get(selector, "matchExpressions"));
}

char *ctrl_key(const char *ns, const char *name)
{
	return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

time_t ctrl_parse_time(const char *s)
{
	time_t t;
	if (!s || time_parse_rfc3339(s, &t, NULL) < 0)
		return 0;
	return t;
}
