/* The daemon kit (see the header). */
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "kubeconfig.h"
#include "leaderelect.h"
#include "log.h"
#include "selfsign.h"
#include "version.h"
#include "xalloc.h"

/* How long a lease may go unrenewed past its duration before the
 * leaderElection health check fails (upstream's maxTolerableExpiredLease). */
#define LEASE_TOLERANCE_MS 20000
/* How often daemon_listen tries a port in use again (upstream's wait.Until
 * period around its servers). */
#define LISTEN_RETRY_MS 5000

struct shared_informer {
	struct daemon *d;
	char *path, *label_selector, *field_selector;
	struct informer *inf;
	struct informer_handlers *subs;
	size_t nsubs;
	/* of the call that created the informer */
	json_t *(*transform)(json_t *obj, void *arg);
	void *transform_arg;
	bool versions_only;
};

struct pool {
	struct daemon *d;
	char *name;
	struct workqueue *q;
	int n, started;
	daemon_sync_fn sync;
	void *arg;
	pthread_t *threads;
	atomic_ullong retries;
};

struct task {
	struct daemon *d;
	char *name;
	int64_t period_ms; /* 0: runs fn once (daemon_thread) */
	bool immediate;
	void (*fn)(void *arg);
	void (*wake)(void *arg);
	void *arg;
	pthread_t thread;
	bool started;
};

struct check {
	char *name;
	daemon_check_fn fn;
	void *arg;
};

struct metrics_source {
	daemon_metrics_fn fn;
	void *arg;
};

struct server {
	struct daemon *d;
	struct httpd *h;
	char *name;
	bool routed; /* the kit's routes were added */
};

struct retry {
	struct daemon *d;
	struct server *s;
	char *address;
	int port;
	pthread_t thread;
};

struct daemon {
	const struct daemon_config *cfg;
	struct flag *table; /* merged: the component's, then the kit's */
	size_t ncomp;

	/* the kit's flags */
	char *master, *kubeconfig;
	bool leader_elect;
	int64_t lease_ms, renew_ms, retry_ms;
	char *lease_ns, *lease_name;
	char *bind_address;
	int64_t secure_port;
	char *tls_cert_file, *tls_key_file, *cert_dir;
	int64_t verbosity;
	char *help_lease_name, *help_secure_port; /* help texts with defaults */

	pthread_mutex_t lock; /* the lists below and client */
	struct client *client;
	struct shared_informer **informers;
	size_t ninformers;
	struct pool **pools;
	size_t npools;
	struct task **tasks;
	size_t ntasks;
	struct check *checks;
	size_t nchecks;
	struct metrics_source *metrics;
	size_t nmetrics;
	struct server **servers;
	size_t nservers;
	struct retry **retries;
	size_t nretries;
	bool ran;  /* daemon_run was called: registration is over */
	bool shut; /* the stop sequence ran */

	atomic_bool stopping;
	atomic_int status;
	int stop_fd; /* eventfd, readable once stopping */

	struct leader_elector *le;
	struct client *le_client;
	atomic_bool leading;
	atomic_llong last_renew_ms;
	pthread_t renew_thread;
	bool renew_started;
};

/* ---- signals ---- */

/* The handler only counts and writes a byte to a pipe (both async-signal
 * safe); sleepers poll the pipe, and daemon_run turns it into daemon_stop.
 * One daemon per process receives signals. */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t sig_count, sig_last;
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;

static void on_signal(int sig)
{
	int saved = errno;
	sig_last = sig;
	if (++sig_count > 1)
		_exit(1); /* a second signal: at once, as upstream */
	char c = 1;
	ssize_t n = write(sig_pipe[1], &c, 1);
	(void)n;
	errno = saved;
}

static void sig_pipe_open(void)
{
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("creating the signal pipe: %s", strerror(errno));
		abort(); /* only on fd exhaustion at start-up */
	}
}

static void sig_drain(void)
{
	char buf[64];
	while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static void signals_install(void)
{
	pthread_once(&sig_once, sig_pipe_open);
	sig_drain();
	sig_count = 0;
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void signals_restore(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool daemon_stopping(const struct daemon *d)
{
	return atomic_load(&d->stopping) || sig_count > 0;
}

bool daemon_sleep(struct daemon *d, int64_t ms)
{
	int64_t end = mono_ms() + ms;
	for (;;) {
		if (daemon_stopping(d))
			return true;
		int64_t left = end - mono_ms();
		if (left <= 0)
			return false;
		struct pollfd p[2] = {{.fd = d->stop_fd, .events = POLLIN},
				      {.fd = sig_pipe[0], .events = POLLIN}};
		poll(p, 2, left > 60000 ? 60000 : (int)left);
	}
}

void daemon_stop(struct daemon *d, int status)
{
	if (atomic_exchange(&d->stopping, true))
		return;
	atomic_store(&d->status, status);
	uint64_t one = 1;
	ssize_t n = write(d->stop_fd, &one, sizeof(one));
	(void)n;
}

/* ---- flags ---- */

static size_t table_len(const struct flag *t)
{
	size_t n = 0;
	while (t && t[n].name)
		n++;
	return n;
}

static void add_flag(struct flag *t, size_t *n, const char *name, enum flag_type type, void *target,
		     const char *help)
{
	t[(*n)++] = (struct flag){.name = name, .type = type, .target = target, .help = help};
}

static void merge_flags(struct daemon *d)
{
	const struct daemon_config *cfg = d->cfg;
	d->ncomp = table_len(cfg->flags);
	d->table = xcalloc(d->ncomp + 20, sizeof(*d->table));
	size_t n = 0;
	for (; n < d->ncomp; n++)
		d->table[n] = cfg->flags[n];
	if (cfg->common & DAEMON_FLAG_MASTER)
		add_flag(d->table, &n, "master", FLAG_STRING, &d->master,
			 "The address of the Kubernetes API server (overrides any value in "
			 "kubeconfig).");
	if (cfg->common & DAEMON_FLAG_KUBECONFIG)
		add_flag(d->table, &n, "kubeconfig", FLAG_STRING, &d->kubeconfig,
			 "Path to kubeconfig file with authorization and master location "
			 "information.");
	if (cfg->common & DAEMON_FLAG_LEADER_ELECT) {
		add_flag(d->table, &n, "leader-elect", FLAG_BOOL, &d->leader_elect,
			 "Start a leader election client and gain leadership before executing the "
			 "main loop. Enable this when running replicated components for high "
			 "availability. (default true)");
		add_flag(d->table, &n, "leader-elect-lease-duration", FLAG_DURATION, &d->lease_ms,
			 "The duration that non-leader candidates will wait after observing a "
			 "leadership renewal until attempting to acquire leadership of a led but "
			 "unrenewed leader slot. (default 15s)");
		add_flag(d->table, &n, "leader-elect-renew-deadline", FLAG_DURATION, &d->renew_ms,
			 "The interval between attempts by the acting master to renew a leadership "
			 "slot before it stops leading. This must be less than the lease duration. "
			 "(default 10s)");
		add_flag(d->table, &n, "leader-elect-retry-period", FLAG_DURATION, &d->retry_ms,
			 "The duration the clients should wait between attempting acquisition and "
			 "renewal of a leadership. (default 2s)");
		add_flag(d->table, &n, "leader-elect-resource-namespace", FLAG_STRING, &d->lease_ns,
			 "The namespace of resource object that is used for locking during leader "
			 "election. (default \"kube-system\")");
		d->help_lease_name =
			xasprintf("The name of resource object that is used for locking "
				  "during leader election. (default \"%s\")",
				  cfg->lease_name ? cfg->lease_name : cfg->name);
		add_flag(d->table, &n, "leader-elect-resource-name", FLAG_STRING, &d->lease_name,
			 d->help_lease_name);
	}
	if (cfg->common & DAEMON_FLAG_SERVE) {
		add_flag(d->table, &n, "bind-address", FLAG_STRING, &d->bind_address,
			 "The IP address on which to listen for the --secure-port port. "
			 "(default 0.0.0.0)");
		d->help_secure_port = xasprintf(
			"The port on which to serve HTTPS with authentication and authorization. "
			"If 0, don't serve HTTPS at all. (default %d)",
			cfg->secure_port);
		add_flag(d->table, &n, "secure-port", FLAG_INT, &d->secure_port,
			 d->help_secure_port);
		add_flag(d->table, &n, "tls-cert-file", FLAG_STRING, &d->tls_cert_file,
			 "File containing the default x509 Certificate for HTTPS. (CA cert, if "
			 "any, concatenated after server cert). If HTTPS serving is enabled, and "
			 "--tls-cert-file and --tls-private-key-file are not provided, a "
			 "self-signed certificate and key are generated for the public address "
			 "and saved to the directory specified by --cert-dir.");
		add_flag(d->table, &n, "tls-private-key-file", FLAG_STRING, &d->tls_key_file,
			 "File containing the default x509 private key matching --tls-cert-file.");
		add_flag(d->table, &n, "cert-dir", FLAG_STRING, &d->cert_dir,
			 "The directory where the TLS certs are located. If --tls-cert-file and "
			 "--tls-private-key-file are provided, this flag will be ignored.");
	}
	add_flag(d->table, &n, "v", FLAG_INT, &d->verbosity, "number for the log level verbosity");
}

/* String targets hold strings of the daemon from daemon_new on. */
static void own_strings(struct flag *t)
{
	for (; t->name; t++)
		if (t->type == FLAG_STRING && !t->seen && *(char **)t->target)
			*(char **)t->target = xstrdup(*(char **)t->target);
}

static void free_strings(struct flag *t)
{
	for (; t && t->name; t++)
		if (t->type == FLAG_STRING) {
			free(*(char **)t->target);
			*(char **)t->target = NULL;
		}
}

/* After a parse that ends the process: the strings the parse stored are
 * freed and the targets get their defaults back. */
static void undo_parse(struct flag *t, char **saved)
{
	for (size_t i = 0; t[i].name; i++)
		if (t[i].type == FLAG_STRING && t[i].seen) {
			free(*(char **)t[i].target);
			*(char **)t[i].target = saved[i];
		}
}

static void daemon_destroy(struct daemon *d);
static int check_ping(void *arg, struct mk_err **err);
static int check_leader(void *arg, struct mk_err **err);

struct daemon *daemon_new(const struct daemon_config *cfg, int argc, char **argv, int *exit_code)
{
	if (cfg->malloc_arenas > 0 && mallopt(M_ARENA_MAX, cfg->malloc_arenas) != 1) {
		fprintf(stderr, "Error: mallopt(M_ARENA_MAX, %d) failed\n", cfg->malloc_arenas);
		*exit_code = 1;
		return NULL;
	}
	struct daemon *d = xcalloc(1, sizeof(*d));
	d->cfg = cfg;
	d->stop_fd = -1;
	d->leader_elect = true;
	d->lease_ms = 15000;
	d->renew_ms = 10000;
	d->retry_ms = 2000;
	d->lease_ns = "kube-system";
	d->lease_name = (char *)(cfg->lease_name ? cfg->lease_name : cfg->name);
	d->bind_address = "0.0.0.0";
	d->secure_port = cfg->secure_port;
	pthread_mutex_init(&d->lock, NULL);
	merge_flags(d);

	size_t n = table_len(d->table);
	cleanup_free char **saved = xcalloc(n + 1, sizeof(*saved));
	for (size_t i = 0; i < n; i++)
		if (d->table[i].type == FLAG_STRING)
			saved[i] = *(char **)d->table[i].target;
	cleanup_err struct mk_err *err = NULL;
	int rc = flags_parse(d->table, argc, argv, &err);
	for (size_t i = 0; i < d->ncomp; i++)
		cfg->flags[i].seen = d->table[i].seen;
	if (rc != 0) {
		if (rc == FLAGS_VERSION) {
			fputs(MK_VERSION_LINE, stdout);
			*exit_code = 0;
		} else if (rc == 1) {
			cleanup_free char *usage = flags_usage(cfg->name, cfg->summary, d->table);
			fputs(usage, stdout);
			*exit_code = 0;
		} else if (cfg->flag_error) {
			*exit_code = cfg->flag_error(mk_err_msg(err));
		} else {
			fprintf(stderr, "Error: %s\n", mk_err_msg(err));
			*exit_code = 2;
		}
		undo_parse(d->table, saved);
		daemon_destroy(d);
		return NULL;
	}
	own_strings(d->table);
	if (d->master && !*d->master) {
		free(d->master);
		d->master = NULL;
	}
	log_verbosity = (int)d->verbosity;
	if (d->retry_ms <= 0)
		d->retry_ms = 2000;
	daemon_health_check(d, "ping", check_ping, d);
	if ((cfg->common & DAEMON_FLAG_LEADER_ELECT) && d->leader_elect)
		daemon_health_check(d, "leaderElection", check_leader, d);

	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0) {
		fprintf(stderr, "Error: eventfd: %s\n", strerror(errno));
		*exit_code = 1;
		daemon_free(d);
		return NULL;
	}
	signals_install();
	*exit_code = 0;
	return d;
}

const struct flag *daemon_flag(const struct daemon *d, const char *name)
{
	for (const struct flag *f = d->table; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* ---- the API client ---- */

static struct client *client_from_flags(struct daemon *d, struct mk_err **err)
{
	struct kubeconfig *kc = NULL;
	if (!d->master || (d->kubeconfig && *d->kubeconfig)) {
		kc = kubeconfig_load(d->kubeconfig && *d->kubeconfig ? d->kubeconfig : NULL, err);
		if (!kc)
			return NULL;
	}
	struct client *c = client_new(d->master, kc, err);
	kubeconfig_free(kc);
	return c;
}

struct client *daemon_client(struct daemon *d, struct mk_err **err)
{
	pthread_mutex_lock(&d->lock);
	if (!d->client)
		d->client = client_from_flags(d, err);
	struct client *c = d->client;
	pthread_mutex_unlock(&d->lock);
	return c;
}

void daemon_set_client(struct daemon *d, struct client *c)
{
	pthread_mutex_lock(&d->lock);
	client_free(d->client);
	d->client = c;
	pthread_mutex_unlock(&d->lock);
}

struct client *daemon_client_new(struct daemon *d, struct mk_err **err)
{
	struct client *c = daemon_client(d, err);
	return c ? client_dup(c, err) : NULL;
}

/* ---- shared informers ---- */

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
	bool told = false;
	for (size_t i = 0; i < si->nsubs; i++)
		if (si->subs[i].on_error) {
			si->subs[i].on_error(e, si->subs[i].arg);
			told = true;
		}
	if (!told)
		log_v(2, "informer %s: %s", si->path, mk_err_msg(e));
}

static json_t *fan_transform(json_t *obj, void *arg)
{
	struct shared_informer *si = arg;
	return si->transform(obj, si->transform_arg);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

struct informer *daemon_informer(struct daemon *d, const char *path, const char *label_selector,
				 const char *field_selector, const struct informer_handlers *h,
				 struct mk_err **err)
{
	label_selector = nonempty(label_selector);
	field_selector = nonempty(field_selector);
	struct client *c = daemon_client(d, err);
	if (!c)
		return NULL;
	pthread_mutex_lock(&d->lock);
	struct shared_informer *si = NULL;
	for (size_t i = 0; i < d->ninformers && !si; i++) {
		struct shared_informer *s = d->informers[i];
		if (!strcmp(s->path, path) && str_eq(s->label_selector, label_selector) &&
		    str_eq(s->field_selector, field_selector))
			si = s;
	}
	struct informer *ret = NULL;
	if (d->ran && (!si || h)) {
		mk_err_set(err, MK_EINVAL, "informer %s: registered after daemon_run", path);
		goto out;
	}
	if (si && h &&
	    (h->versions_only != si->versions_only ||
	     (h->transform && h->transform != si->transform))) {
		mk_err_set(err, MK_EINVAL,
			   "informer %s: a subscriber asks for another transform or cache mode",
			   path);
		goto out;
	}
	if (!si) {
		si = xcalloc(1, sizeof(*si));
		*si = (struct shared_informer){
			.d = d,
			.path = xstrdup(path),
			.label_selector = label_selector ? xstrdup(label_selector) : NULL,
			.field_selector = field_selector ? xstrdup(field_selector) : NULL,
			.transform = h ? h->transform : NULL,
			.transform_arg = h ? h->arg : NULL,
			.versions_only = h && h->versions_only,
		};
		struct informer_handlers fan = {
			.on_add = fan_add,
			.on_update = fan_update,
			.on_delete = fan_delete,
			.on_error = fan_error,
			.arg = si,
			.transform = si->transform ? fan_transform : NULL,
			.versions_only = si->versions_only,
		};
		si->inf = informer_new(c, path, label_selector, field_selector, &fan, err);
		if (!si->inf) {
			free(si->path);
			free(si->label_selector);
			free(si->field_selector);
			free(si);
			goto out;
		}
		d->informers = xrealloc(d->informers, (d->ninformers + 1) * sizeof(*d->informers));
		d->informers[d->ninformers++] = si;
	}
	if (h) {
		si->subs = xrealloc(si->subs, (si->nsubs + 1) * sizeof(*si->subs));
		si->subs[si->nsubs++] = *h;
	}
	ret = si->inf;
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static size_t count_informers(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	size_t n = d->ninformers;
	pthread_mutex_unlock(&d->lock);
	return n;
}

bool daemon_wait_synced(struct daemon *d)
{
	size_t n = count_informers(d);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&d->lock);
		struct informer *inf = d->informers[i]->inf;
		pthread_mutex_unlock(&d->lock);
		while (!informer_wait_synced(inf, 100))
			if (daemon_stopping(d))
				return false;
	}
	return !daemon_stopping(d);
}

/* ---- workers and tasks ---- */

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	while (!daemon_stopping(p->d)) {
		char *key = workqueue_get(p->q);
		if (!key)
			break;
		struct mk_err *err = NULL;
		if (p->sync(key, p->arg, &err) < 0) {
			log_v(1, "%s: syncing %s: %s", p->name, key, mk_err_msg(err));
			atomic_fetch_add(&p->retries, 1);
			workqueue_add_rate_limited(p->q, key);
		} else {
			workqueue_forget(p->q, key);
		}
		mk_err_free(err);
		workqueue_done(p->q, key);
		free(key);
	}
	return NULL;
}

static int registration_open(struct daemon *d, const char *what, const char *name,
			     struct mk_err **err)
{
	if (d->ran)
		return mk_err_set(err, MK_EINVAL, "%s %s: registered after daemon_run", what, name);
	return 0;
}

int daemon_workers(struct daemon *d, const char *name, struct workqueue *q, int n,
		   daemon_sync_fn sync, void *arg, struct mk_err **err)
{
	pthread_mutex_lock(&d->lock);
	int rc = registration_open(d, "workers", name, err);
	if (rc == 0) {
		struct pool *p = xcalloc(1, sizeof(*p));
		*p = (struct pool){.d = d,
				   .name = xstrdup(name),
				   .q = q,
				   .n = n < 1 ? 1 : n,
				   .sync = sync,
				   .arg = arg};
		p->threads = xcalloc((size_t)p->n, sizeof(*p->threads));
		d->pools = xrealloc(d->pools, (d->npools + 1) * sizeof(*d->pools));
		d->pools[d->npools++] = p;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static void *task_main(void *arg)
{
	struct task *t = arg;
	if (!t->period_ms) {
		t->fn(t->arg);
		return NULL;
	}
	while (!daemon_stopping(t->d)) {
		t->fn(t->arg);
		if (daemon_sleep(t->d, t->period_ms))
			break;
	}
	return NULL;
}

static int add_task(struct daemon *d, const struct task *proto, struct mk_err **err)
{
	pthread_mutex_lock(&d->lock);
	int rc = registration_open(d, "task", proto->name, err);
	if (rc == 0) {
		struct task *t = xmalloc(sizeof(*t));
		*t = *proto;
		t->d = d;
		t->name = xstrdup(proto->name);
		d->tasks = xrealloc(d->tasks, (d->ntasks + 1) * sizeof(*d->tasks));
		d->tasks[d->ntasks++] = t;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int daemon_every(struct daemon *d, const char *name, int64_t period_ms, bool immediate,
		 void (*fn)(void *arg), void *arg, struct mk_err **err)
{
	if (period_ms <= 0)
		return mk_err_set(err, MK_EINVAL, "task %s: period %lld ms must be positive", name,
				  (long long)period_ms);
	struct task t = {.name = (char *)name,
			 .period_ms = period_ms,
			 .immediate = immediate,
			 .fn = fn,
			 .arg = arg};
	return add_task(d, &t, err);
}

int daemon_thread(struct daemon *d, const char *name, bool immediate, void (*fn)(void *arg),
		  void (*wake)(void *arg), void *arg, struct mk_err **err)
{
	struct task t = {
		.name = (char *)name, .immediate = immediate, .fn = fn, .wake = wake, .arg = arg};
	return add_task(d, &t, err);
}

/* ---- health checks ---- */

void daemon_health_check(struct daemon *d, const char *name, daemon_check_fn fn, void *arg)
{
	pthread_mutex_lock(&d->lock);
	d->checks = xrealloc(d->checks, (d->nchecks + 1) * sizeof(*d->checks));
	d->checks[d->nchecks++] = (struct check){.name = xstrdup(name), .fn = fn, .arg = arg};
	pthread_mutex_unlock(&d->lock);
}

static int check_ping(void *arg, struct mk_err **err)
{
	(void)arg;
	(void)err;
	return 0;
}

static int check_leader(void *arg, struct mk_err **err)
{
	struct daemon *d = arg;
	if (!atomic_load(&d->leading))
		return 0;
	if (mono_ms() - atomic_load(&d->last_renew_ms) > d->lease_ms + LEASE_TOLERANCE_MS)
		return mk_err_set(err, MK_EUNAVAILABLE,
				  "failed election to renew leadership on lease %s", d->lease_name);
	return 0;
}

/* A copy of the checks (names borrowed: checks are never removed). */
static struct check *checks_copy(struct daemon *d, size_t *n)
{
	pthread_mutex_lock(&d->lock);
	*n = d->nchecks;
	struct check *c = xmalloc((*n + 1) * sizeof(*c));
	memcpy(c, d->checks, *n * sizeof(*c));
	pthread_mutex_unlock(&d->lock);
	return c;
}

struct health_query {
	bool verbose;
	char **exclude;
	size_t nexclude;
};

static void health_query_each(const char *key, const char *value, void *arg)
{
	struct health_query *q = arg;
	if (!strcmp(key, "verbose")) {
		q->verbose = true;
		return;
	}
	if (strcmp(key, "exclude") || !value)
		return;
	while (*value == ' ')
		value++;
	size_t len = strlen(value);
	while (len && value[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < q->nexclude; i++)
		if (strlen(q->exclude[i]) == len && !strncmp(q->exclude[i], value, len))
			return;
	q->exclude = xrealloc(q->exclude, (q->nexclude + 1) * sizeof(*q->exclude));
	q->exclude[q->nexclude++] = xstrndup(value, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void reply_plain(struct httpd_req *rq, int code, const char *text)
{
	httpd_reply_header(rq, "X-Content-Type-Options", "nosniff");
	httpd_reply_text(rq, code, "text/plain; charset=utf-8", text);
}

/* /healthz, /livez, /readyz: every check, in upstream's body format. */
static void health_root(struct httpd_req *rq, struct daemon *d, const char *what)
{
	struct health_query q = {0};
	httpd_req_query_each(rq, health_query_each, &q);
	size_t n;
	cleanup_free struct check *checks = checks_copy(d, &n);
	cleanup_buf struct buf out = BUF_INIT;
	cleanup_buf struct buf why = BUF_INIT;
	cleanup_buf struct buf failed = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *name = checks[i].name;
		bool excluded = false;
		for (size_t j = 0; j < q.nexclude && !excluded; j++) {
			if (!strcmp(q.exclude[j], name)) {
				excluded = true;
				free(q.exclude[j]);
				q.exclude[j] = q.exclude[--q.nexclude];
			}
		}
		if (excluded) {
			buf_printf(&out, "[+]%s excluded: ok\n", name);
			continue;
		}
		cleanup_err struct mk_err *err = NULL;
		if (checks[i].fn(checks[i].arg, &err) < 0) {
			/* the reason stays out of the public answer, as upstream */
			buf_printf(&out, "[-]%s failed: reason withheld\n", name);
			buf_printf(&why, "[-]%s failed: %s\n", name, mk_err_msg(err));
			buf_printf(&failed, "%s%s", failed.len ? "," : "", name);
		} else {
			buf_printf(&out, "[+]%s ok\n", name);
		}
	}
	if (q.nexclude) {
		qsort(q.exclude, q.nexclude, sizeof(*q.exclude), cmp_str);
		buf_append_str(&out,
			       "warn: some health checks cannot be excluded: no matches for ");
		for (size_t j = 0; j < q.nexclude; j++)
			buf_printf(&out, "%s\"%s\"", j ? "," : "", q.exclude[j]);
		buf_append_char(&out, '\n');
	}
	for (size_t j = 0; j < q.nexclude; j++)
		free(q.exclude[j]);
	free(q.exclude);
	if (failed.len) {
		log_v(2, "%s check failed: %s\n%s", buf_str(&failed), what, buf_str(&why));
		buf_printf(&out, "%s check failed\n", what);
		reply_plain(rq, 500, buf_str(&out));
	} else if (q.verbose) {
		buf_printf(&out, "%s check passed\n", what);
		reply_plain(rq, 200, buf_str(&out));
	} else {
		reply_plain(rq, 200, "ok");
	}
}

/* /healthz/<check>: that check alone, with its reason. */
static void health_one(struct httpd_req *rq, struct daemon *d, const char *name)
{
	size_t n;
	cleanup_free struct check *checks = checks_copy(d, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(checks[i].name, name))
			continue;
		cleanup_err struct mk_err *err = NULL;
		if (checks[i].fn(checks[i].arg, &err) < 0) {
			cleanup_free char *text =
				xasprintf("internal server error: %s\n", mk_err_msg(err));
			reply_plain(rq, 500, text);
		} else {
			reply_plain(rq, 200, "ok");
		}
		return;
	}
	reply_plain(rq, 404, "404 page not found\n");
}

static void route_health(struct httpd_req *rq, void *arg)
{
	const char *path = httpd_req_path(rq) + 1;
	const char *slash = strchr(path, '/');
	cleanup_free char *what = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(path);
	if (slash && slash[1])
		health_one(rq, arg, slash + 1);
	else if (slash)
		reply_plain(rq, 404, "404 page not found\n");
	else
		health_root(rq, arg, what);
}

/* ---- metrics ---- */

void daemon_metrics(struct daemon *d, daemon_metrics_fn fn, void *arg)
{
	pthread_mutex_lock(&d->lock);
	d->metrics = xrealloc(d->metrics, (d->nmetrics + 1) * sizeof(*d->metrics));
	d->metrics[d->nmetrics++] = (struct metrics_source){.fn = fn, .arg = arg};
	pthread_mutex_unlock(&d->lock);
}

static void metric(struct buf *b, const char *name, const char *type, const char *help,
		   double value)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name,
		   value);
}

/* What Prometheus' process collector reports, from /proc/self. */
static void process_metrics(struct buf *b)
{
	double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0, btime = 0;
	char line[1024];
	cleanup_fclose FILE *st = fopen("/proc/self/stat", "r");
	bool have_stat = false;
	if (st && fgets(line, sizeof(line), st)) {
		/* the command name may hold spaces and parentheses: fields follow
		 * the last ')' (state is field 3) */
		const char *p = strrchr(line, ')');
		have_stat = p && sscanf(p + 2,
					"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
					"%*d %*d %*d %*d %*d %llu %llu %llu",
					&utime, &stime, &start, &vsize, &rss) == 5;
	}
	cleanup_fclose FILE *ps = fopen("/proc/stat", "r");
	while (ps && fgets(line, sizeof(line), ps))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	int fds = 0;
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		for (struct dirent *e; (e = readdir(dir));)
			if (e->d_name[0] != '.')
				fds++;
		closedir(dir);
		fds--; /* the directory's own */
	}
	struct rlimit rl;
	if (have_stat)
		metric(b, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.",
		       (double)(utime + stime) / ticks);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metric(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
		       (double)rl.rlim_cur);
	if (dir)
		metric(b, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
	if (have_stat) {
		metric(b, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.", (double)rss * page);
		if (btime)
			metric(b, "process_start_time_seconds", "gauge",
			       "Start time of the process since unix epoch in seconds.",
			       (double)btime + (double)start / ticks);
		metric(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		       (double)vsize);
	}
}

static void kit_metrics(struct daemon *d, struct buf *b)
{
	pthread_mutex_lock(&d->lock);
	if (d->npools) {
		buf_append_str(b, "# HELP workqueue_depth [ALPHA] Current depth of workqueue\n"
				  "# TYPE workqueue_depth gauge\n");
		for (size_t i = 0; i < d->npools; i++)
			buf_printf(b, "workqueue_depth{name=\"%s\"} %zu\n", d->pools[i]->name,
				   workqueue_len(d->pools[i]->q));
		buf_append_str(b, "# HELP workqueue_retries_total [ALPHA] Total number of retries "
				  "handled by workqueue\n# TYPE workqueue_retries_total counter\n");
		for (size_t i = 0; i < d->npools; i++)
			buf_printf(b, "workqueue_retries_total{name=\"%s\"} %llu\n",
				   d->pools[i]->name, atomic_load(&d->pools[i]->retries));
	}
	pthread_mutex_unlock(&d->lock);
	if (d->leader_elect && (d->cfg->common & DAEMON_FLAG_LEADER_ELECT))
		buf_printf(
			b,
			"# HELP leader_election_master_status [ALPHA] Gauge of if the reporting "
			"system is master of the relevant lease, 0 indicates backup, 1 indicates "
			"master. 'name' is the string used to identify the lease. Please make sure "
			"to group by name.\n# TYPE leader_election_master_status gauge\n"
			"leader_election_master_status{name=\"%s\"} %d\n",
			d->lease_name, atomic_load(&d->leading) ? 1 : 0);
}

static void route_metrics(struct httpd_req *rq, void *arg)
{
	struct daemon *d = arg;
	struct buf b = BUF_INIT;
	process_metrics(&b);
	kit_metrics(d, &b);
	pthread_mutex_lock(&d->lock);
	size_t n = d->nmetrics;
	cleanup_free struct metrics_source *m = xmalloc((n + 1) * sizeof(*m));
	memcpy(m, d->metrics, n * sizeof(*m));
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < n; i++)
		m[i].fn(&b, m[i].arg);
	size_t len = b.len;
	httpd_reply_raw(rq, 200, "text/plain; version=0.0.4; charset=utf-8", buf_steal(&b), len);
}

/* ---- HTTP ---- */

struct httpd *daemon_httpd(struct daemon *d, const struct httpd_config *cfg, struct mk_err **err)
{
	/* a client that stops mid-request is cut after a minute */
	struct httpd_config c = cfg ? *cfg : (struct httpd_config){.idle_timeout_s = 60};
	if (!c.name)
		c.name = "healthz";
	struct httpd *h = httpd_new(&c, err);
	if (!h)
		return NULL;
	struct server *s = xcalloc(1, sizeof(*s));
	*s = (struct server){.d = d, .h = h, .name = xstrdup(c.name)};
	pthread_mutex_lock(&d->lock);
	d->servers = xrealloc(d->servers, (d->nservers + 1) * sizeof(*d->servers));
	d->servers[d->nservers++] = s;
	pthread_mutex_unlock(&d->lock);
	return h;
}

static bool in_use(const struct mk_err *e)
{
	return mk_err_code(e) == MK_EIO &&
	       (e->errnum == EADDRINUSE || strstr(mk_err_msg(e), "address already in use"));
}

/* upstream's structured line: "Healthz server failed" err="listen tcp ..." */
static void log_listen_failed(const struct server *s, const struct mk_err *e)
{
	log_error("\"%c%s server failed\" err=\"%s\"",
		  s->name[0] >= 'a' && s->name[0] <= 'z' ? s->name[0] - 'a' + 'A' : s->name[0],
		  s->name + 1, mk_err_msg(e));
}

static void *retry_main(void *arg)
{
	struct retry *r = arg;
	while (!daemon_sleep(r->d, LISTEN_RETRY_MS)) {
		cleanup_err struct mk_err *err = NULL;
		if (httpd_listen(r->s->h, r->address, r->port, &err)) {
			log_info("Serving %s on %s:%d", r->s->name, r->address, r->port);
			break;
		}
		log_listen_failed(r->s, err);
		if (!in_use(err))
			break;
	}
	return NULL;
}

int daemon_listen(struct daemon *d, struct httpd *h, const char *address, int port,
		  struct mk_err **err)
{
	pthread_mutex_lock(&d->lock);
	struct server *s = NULL;
	for (size_t i = 0; i < d->nservers && !s; i++)
		if (d->servers[i]->h == h)
			s = d->servers[i];
	pthread_mutex_unlock(&d->lock);
	if (!s)
		return mk_err_set(err, MK_EINVAL, "listening on %s:%d: not a server of the daemon",
				  address ? address : "", port);
	if (!s->routed) {
		static const char *const roots[] = {"/healthz", "/livez", "/readyz"};
		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
			cleanup_free char *below = xasprintf("%s/", roots[i]);
			httpd_route(h, NULL, roots[i], route_health, d);
			httpd_route(h, NULL, below, route_health, d);
		}
		httpd_route(h, NULL, "/metrics", route_metrics, d);
		s->routed = true;
	}
	const char *addr = address && *address ? address : "0.0.0.0";
	cleanup_err struct mk_err *lerr = NULL;
	struct httpd_listener *l = httpd_listen(h, addr, port, &lerr);
	if (l) {
		port = httpd_listener_port(l);
		log_info("Serving %s on %s:%d", s->name, addr, port);
		return port;
	}
	if (!in_use(lerr)) {
		mk_err_set(err, mk_err_code(lerr), "%s", mk_err_msg(lerr));
		return -1;
	}
	log_listen_failed(s, lerr);
	struct retry *r = xcalloc(1, sizeof(*r));
	*r = (struct retry){.d = d, .s = s, .address = xstrdup(addr), .port = port};
	int rc = pthread_create(&r->thread, NULL, retry_main, r);
	if (rc != 0) {
		free(r->address);
		free(r);
		return mk_err_errno(err, MK_EIO, rc, "starting the listen retry of %s", s->name);
	}
	pthread_mutex_lock(&d->lock);
	d->retries = xrealloc(d->retries, (d->nretries + 1) * sizeof(*d->retries));
	d->retries[d->nretries++] = r;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* ---- leader election ---- */

static void *renew_main(void *arg)
{
	struct daemon *d = arg;
	while (!daemon_sleep(d, d->retry_ms)) {
		cleanup_err struct mk_err *err = NULL;
		int held = leader_elector_try(d->le, time(NULL), &err);
		if (held == 1) {
			atomic_store(&d->last_renew_ms, mono_ms());
			continue;
		}
		if (held < 0)
			log_warn("error retrieving resource lock %s/%s: %s", d->lease_ns,
				 d->lease_name, mk_err_msg(err));
		if (held == 0 || mono_ms() - atomic_load(&d->last_renew_ms) > d->renew_ms) {
			if (daemon_stopping(d))
				break;
			/* two leaders must never act at once: end now, as upstream */
			log_error("leaderelection lost");
			exit(1);
		}
	}
	return NULL;
}

/* Returns 1 once the lease is held (and renewed from then on), 0 when the
 * daemon stopped first, -1 when the renewal thread cannot start. */
static int elect(struct daemon *d, struct mk_err **err)
{
	d->le_client = daemon_client_new(d, err);
	if (!d->le_client)
		return -1;
	cleanup_free char *identity = leader_identity_new();
	d->le = leader_elector_new(d->le_client, d->lease_ns, d->lease_name, identity,
				   (int)((d->lease_ms + 999) / 1000));
	log_info("attempting to acquire leader lease %s/%s...", d->lease_ns, d->lease_name);
	for (;;) {
		if (daemon_stopping(d))
			return 0;
		cleanup_err struct mk_err *lerr = NULL;
		int held = leader_elector_try(d->le, time(NULL), &lerr);
		if (held == 1)
			break;
		if (held < 0)
			log_warn("error retrieving resource lock %s/%s: %s", d->lease_ns,
				 d->lease_name, mk_err_msg(lerr));
		if (daemon_sleep(d, d->retry_ms))
			return 0;
	}
	log_info("successfully acquired lease %s/%s", d->lease_ns, d->lease_name);
	atomic_store(&d->last_renew_ms, mono_ms());
	atomic_store(&d->leading, true);
	int rc = pthread_create(&d->renew_thread, NULL, renew_main, d);
	if (rc != 0)
		return mk_err_errno(err, MK_EIO, rc, "starting the lease renewal thread");
	d->renew_started = true;
	return 1;
}

/* ---- run and stop ---- */

static int start_task(struct task *t, struct mk_err **err)
{
	int rc = pthread_create(&t->thread, NULL, task_main, t);
	if (rc != 0)
		return mk_err_errno(err, MK_EIO, rc, "starting %s", t->name);
	t->started = true;
	return 0;
}

static int start_pool(struct pool *p, struct mk_err **err)
{
	for (; p->started < p->n; p->started++) {
		int rc = pthread_create(&p->threads[p->started], NULL, worker_main, p);
		if (rc != 0)
			return mk_err_errno(err, MK_EIO, rc, "starting %s worker", p->name);
	}
	return 0;
}

/* The serving certificate and key of the secure port, as upstream's secure
 * serving picks them: --tls-cert-file and --tls-private-key-file; else
 * <--cert-dir>/<name>.crt and .key, made self-signed and written there when
 * they cannot be read; else, with no --cert-dir, made self-signed and kept
 * in memory. New strings. */
static int serving_cert(struct daemon *d, char **cert, char **key, struct mk_err **err)
{
	const size_t max = 1 << 20;
	const char *cf = d->tls_cert_file ? d->tls_cert_file : "";
	const char *kf = d->tls_key_file ? d->tls_key_file : "";
	if (*cf || *kf) {
		if (!*cf || !*kf)
			return mk_err_set(err, MK_EINVAL,
					  "--tls-cert-file and --tls-private-key-file must be "
					  "given together");
		if (!(*cert = fs_read_file(cf, max, NULL, err)))
			return mk_err_wrap(err, "reading --tls-cert-file");
		if (!(*key = fs_read_file(kf, max, NULL, err))) {
			free(*cert);
			*cert = NULL;
			return mk_err_wrap(err, "reading --tls-private-key-file");
		}
		return 0;
	}
	if (!d->cert_dir || !*d->cert_dir) {
		if (selfsign_cert_new("localhost", cert, key, err) < 0)
			return -1;
		log_info("Generated self-signed cert in-memory");
		return 0;
	}
	cleanup_free char *cpath = xasprintf("%s/%s.crt", d->cert_dir, d->cfg->name);
	cleanup_free char *kpath = xasprintf("%s/%s.key", d->cert_dir, d->cfg->name);
	cleanup_err struct mk_err *rerr = NULL;
	*cert = fs_read_file(cpath, max, NULL, &rerr);
	*key = *cert ? fs_read_file(kpath, max, NULL, &rerr) : NULL;
	if (*cert && *key)
		return 0;
	free(*cert);
	*cert = NULL;
	if (selfsign_cert_new("localhost", cert, key, err) < 0)
		return -1;
	if (fs_mkdir_p(d->cert_dir, 0755, err) < 0 ||
	    fs_write_atomic(kpath, *key, strlen(*key), 0600, err) < 0 ||
	    fs_write_atomic(cpath, *cert, strlen(*cert), 0644, err) < 0) {
		free(*cert);
		free(*key);
		*cert = *key = NULL;
		return mk_err_wrap(err, "writing the self-signed certificate to %s", d->cert_dir);
	}
	log_info("Generated self-signed cert (%s, %s)", cpath, kpath);
	return 0;
}

static int serve_kit(struct daemon *d, struct mk_err **err)
{
	if (!(d->cfg->common & DAEMON_FLAG_SERVE) || d->secure_port <= 0)
		return 0;
	cleanup_free char *cert = NULL, *key = NULL;
	if (serving_cert(d, &cert, &key, err) < 0)
		return -1;
	/* "Serving securely on 127.0.0.1:10257", upstream's line */
	struct httpd_config hc = {.name = "securely",
				  .idle_timeout_s = 60,
				  .tls_cert_pem = cert,
				  .tls_key_pem = key};
	struct httpd *h = daemon_httpd(d, &hc, err);
	if (!h || daemon_listen(d, h, d->bind_address, (int)d->secure_port, err) < 0)
		return mk_err_wrap(err, "serving on %s:%lld", d->bind_address,
				   (long long)d->secure_port);
	return 0;
}

/* Starts what runs once the informers synced (or at once). */
static int start_phase(struct daemon *d, bool immediate, struct mk_err **err)
{
	for (size_t i = 0; i < d->ntasks; i++)
		if (d->tasks[i]->immediate == immediate && start_task(d->tasks[i], err) < 0)
			return -1;
	if (!immediate)
		for (size_t i = 0; i < d->npools; i++)
			if (start_pool(d->pools[i], err) < 0)
				return -1;
	return 0;
}

static int start_informers(struct daemon *d, struct mk_err **err)
{
	for (size_t i = 0; i < d->ninformers; i++)
		if (informer_start(d->informers[i]->inf, err) < 0)
			return -1;
	for (size_t i = 0; i < d->ninformers; i++)
		while (!informer_wait_synced(d->informers[i]->inf, 100))
			if (daemon_stopping(d))
				return 0;
	if (d->ninformers)
		log_info("Caches are synced");
	return 0;
}

static void wait_for_stop(struct daemon *d)
{
	while (!atomic_load(&d->stopping)) {
		if (sig_count > 0) {
			sig_drain();
			log_info("Received signal %d, shutting down", (int)sig_last);
			daemon_stop(d, 0);
			break;
		}
		struct pollfd p[2] = {{.fd = d->stop_fd, .events = POLLIN},
				      {.fd = sig_pipe[0], .events = POLLIN}};
		poll(p, 2, -1);
	}
}

static void *informer_stopper(void *arg)
{
	informer_stop(arg);
	return NULL;
}

/* Each informer's stop takes up to a second: stop them all at once. */
static void stop_informers(struct daemon *d)
{
	pthread_t *t = xcalloc(d->ninformers + 1, sizeof(*t));
	bool *spawned = xcalloc(d->ninformers + 1, sizeof(*spawned));
	for (size_t i = 0; i < d->ninformers; i++)
		spawned[i] =
			pthread_create(&t[i], NULL, informer_stopper, d->informers[i]->inf) == 0;
	for (size_t i = 0; i < d->ninformers; i++) {
		if (spawned[i])
			pthread_join(t[i], NULL);
		else
			informer_stop(d->informers[i]->inf);
	}
	free(spawned);
	free(t);
}

static void shut_down(struct daemon *d)
{
	if (d->shut)
		return;
	d->shut = true;
	daemon_stop(d, 0);
	for (size_t i = 0; i < d->ntasks; i++)
		if (d->tasks[i]->started && d->tasks[i]->wake)
			d->tasks[i]->wake(d->tasks[i]->arg);
	for (size_t i = 0; i < d->npools; i++)
		workqueue_shutdown(d->pools[i]->q);
	for (size_t i = 0; i < d->npools; i++)
		for (int j = 0; j < d->pools[i]->started; j++)
			pthread_join(d->pools[i]->threads[j], NULL);
	for (size_t i = 0; i < d->ntasks; i++)
		if (d->tasks[i]->started)
			pthread_join(d->tasks[i]->thread, NULL);
	pthread_mutex_lock(&d->lock);
	size_t nretries = d->nretries;
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < nretries; i++)
		pthread_join(d->retries[i]->thread, NULL);
	if (d->renew_started)
		pthread_join(d->renew_thread, NULL);
	stop_informers(d);
	for (size_t i = 0; i < d->nservers; i++) {
		httpd_free(d->servers[i]->h);
		d->servers[i]->h = NULL;
	}
}

int daemon_run(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	bool again = d->ran;
	d->ran = true;
	pthread_mutex_unlock(&d->lock);
	if (again) {
		log_error("%s: daemon_run called twice", d->cfg->name);
		return 1;
	}
	cleanup_err struct mk_err *err = NULL;
	int rc = serve_kit(d, &err);
	if (rc == 0 && (d->cfg->common & DAEMON_FLAG_LEADER_ELECT) && d->leader_elect)
		rc = elect(d, &err) < 0 ? -1 : 0;
	if (rc == 0 && !daemon_stopping(d))
		rc = start_phase(d, true, &err);
	if (rc == 0 && !daemon_stopping(d))
		rc = start_informers(d, &err);
	if (rc == 0 && !daemon_stopping(d))
		rc = start_phase(d, false, &err);
	if (rc < 0) {
		log_error("%s", mk_err_msg(err));
		daemon_stop(d, 1);
	}
	wait_for_stop(d);
	log_info("Shutting down %s", d->cfg->name);
	shut_down(d);
	return atomic_load(&d->status);
}

/* ---- freeing ---- */

static void daemon_destroy(struct daemon *d)
{
	for (size_t i = 0; i < d->ninformers; i++) {
		struct shared_informer *si = d->informers[i];
		informer_free(si->inf);
		free(si->subs);
		free(si->path);
		free(si->label_selector);
		free(si->field_selector);
		free(si);
	}
	free(d->informers);
	for (size_t i = 0; i < d->npools; i++) {
		free(d->pools[i]->name);
		free(d->pools[i]->threads);
		free(d->pools[i]);
	}
	free(d->pools);
	for (size_t i = 0; i < d->ntasks; i++) {
		free(d->tasks[i]->name);
		free(d->tasks[i]);
	}
	free(d->tasks);
	for (size_t i = 0; i < d->nchecks; i++)
		free(d->checks[i].name);
	free(d->checks);
	free(d->metrics);
	for (size_t i = 0; i < d->nservers; i++) {
		httpd_free(d->servers[i]->h);
		free(d->servers[i]->name);
		free(d->servers[i]);
	}
	free(d->servers);
	for (size_t i = 0; i < d->nretries; i++) {
		free(d->retries[i]->address);
		free(d->retries[i]);
	}
	free(d->retries);
	leader_elector_free(d->le);
	client_free(d->le_client);
	client_free(d->client);
	free(d->table);
	free(d->help_lease_name);
	free(d->help_secure_port);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	shut_down(d);
	free_strings(d->table);
	signals_restore();
	daemon_destroy(d);
}
