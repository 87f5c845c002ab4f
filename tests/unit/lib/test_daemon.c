/* The daemon kit: flags merged with the kit's, --help/--version/bad flags in
 * a child process, worker pools on a work queue, periodic tasks and threads
 * cut short by the stop, a signal, /healthz, /metrics and the retry of a
 * port in use over real HTTP (libcurl), and the informer gate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "daemon.h"
#include "log.h"
#include "xalloc.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls cond(arg) every 10 ms for up to ms; returns its last answer. */
static bool wait_until(bool (*cond)(void *arg), void *arg, int64_t ms)
{
	int64_t end = now_ms() + ms;
	while (!cond(arg)) {
		if (now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* ---- flags ---- */

struct comp_opts {
	char *name;
	int64_t count;
	bool fast;
	int64_t period_ms;
};

#define COMP_FLAGS(o)                                                                              \
	{                                                                                          \
		{.name = "name", .type = FLAG_STRING, .target = &(o)->name, .help = "a name"},     \
			{.name = "count",                                                          \
			 .type = FLAG_INT,                                                         \
			 .target = &(o)->count,                                                    \
			 .help = "a count"},                                                       \
			{.name = "fast",                                                           \
			 .type = FLAG_BOOL,                                                        \
			 .target = &(o)->fast,                                                     \
			 .help = "go fast"},                                                       \
			{.name = "period",                                                         \
			 .type = FLAG_DURATION,                                                    \
			 .target = &(o)->period_ms,                                                \
			 .help = "a period"},                                                      \
			{0},                                                                       \
	}

static void test_flags_merge(void **state)
{
	(void)state;
	struct comp_opts o = {.name = "default", .count = 1, .period_ms = 1000};
	struct flag flags[] = COMP_FLAGS(&o);
	struct daemon_config cfg = {.name = "kube-test",
				    .summary = "Tests.",
				    .flags = flags,
				    .common = DAEMON_FLAG_MASTER | DAEMON_FLAG_KUBECONFIG |
					      DAEMON_FLAG_LEADER_ELECT | DAEMON_FLAG_SERVE,
				    .lease_name = "kube-test",
				    .secure_port = 10299};
	char *argv[] = {"kube-test",
			"--count=5",
			"--fast",
			"--period",
			"1m30s",
			"--master=http://127.0.0.1:1",
			"--leader-elect=false",
			"--leader-elect-retry-period=3s",
			"-v=3",
			"--secure-port",
			"0",
			NULL};
	int rc = -1;
	int saved_v = log_verbosity;
	struct daemon *d = daemon_new(&cfg, 11, argv, &rc);
	assert_non_null(d);
	assert_int_equal(rc, 0);
	assert_int_equal(o.count, 5);
	assert_true(o.fast);
	assert_int_equal(o.period_ms, 90000);
	/* an untouched string default is now the daemon's own copy */
	assert_string_equal(o.name, "default");
	/* .seen carried back into the component's table */
	assert_false(flags[0].seen);
	assert_true(flags[1].seen);
	assert_true(flags[3].seen);
	/* the kit's flags */
	assert_true(daemon_flag(d, "master")->seen);
	assert_string_equal(*(char **)daemon_flag(d, "master")->target, "http://127.0.0.1:1");
	assert_false(*(bool *)daemon_flag(d, "leader-elect")->target);
	assert_int_equal(*(int64_t *)daemon_flag(d, "leader-elect-retry-period")->target, 3000);
	assert_string_equal(*(char **)daemon_flag(d, "leader-elect-resource-name")->target,
			    "kube-test");
	assert_string_equal(*(char **)daemon_flag(d, "bind-address")->target, "0.0.0.0");
	assert_false(daemon_flag(d, "kubeconfig")->seen);
	assert_true(daemon_flag(d, "v")->seen);
	assert_null(daemon_flag(d, "no-such-flag"));
	assert_int_equal(log_verbosity, 3);
	/* a component replaces a string by the header's rule */
	free(o.name);
	o.name = xstrdup("replaced");
	/* --master alone: a client without any kubeconfig */
	cleanup_err struct mk_err *err = NULL;
	struct client *c = daemon_client(d, &err);
	assert_non_null(c);
	assert_string_equal(client_server(c), "http://127.0.0.1:1");
	assert_ptr_equal(daemon_client(d, &err), c);
	struct client *c2 = daemon_client_new(d, &err);
	assert_non_null(c2);
	assert_ptr_not_equal(c2, c);
	client_free(c2);
	daemon_free(d);
	/* the daemon's strings are gone with it */
	assert_null(o.name);
	log_verbosity = saved_v;
}

/* What a child running daemon_new printed and its exit status. */
struct child_result {
	int status;
	char out[4096], err[4096];
};

static void read_all(int fd, char *dst, size_t max)
{
	size_t n = 0;
	lseek(fd, 0, SEEK_SET);
	ssize_t r;
	while (n + 1 < max && (r = read(fd, dst + n, max - 1 - n)) > 0)
		n += (size_t)r;
	dst[n] = '\0';
}

static void run_child(int argc, char **argv, struct child_result *res)
{
	char out_path[] = "/tmp/mk-daemon-out.XXXXXX", err_path[] = "/tmp/mk-daemon-err.XXXXXX";
	int out = mkstemp(out_path), errfd = mkstemp(err_path);
	assert_true(out >= 0 && errfd >= 0);
	unlink(out_path);
	unlink(err_path);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(errfd, 2);
		struct comp_opts o = {.name = "default"};
		struct flag flags[] = COMP_FLAGS(&o);
		struct daemon_config cfg = {.name = "kube-test",
					    .summary = "The test daemon does nothing at all.",
					    .flags = flags,
					    .common = DAEMON_FLAG_MASTER | DAEMON_FLAG_LEADER_ELECT,
					    .lease_name = "kube-test"};
		int code = 100;
		struct daemon *d = daemon_new(&cfg, argc, argv, &code);
		fflush(NULL);
		_exit(d ? 100 : code);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	res->status = WEXITSTATUS(st);
	read_all(out, res->out, sizeof(res->out));
	read_all(errfd, res->err, sizeof(res->err));
	close(out);
	close(errfd);
}

static void test_help_version_bad_flag(void **state)
{
	(void)state;
	struct child_result r;
	run_child(2, (char *[]){"kube-test", "--help", NULL}, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "Usage:\n  kube-test [flags]\n\n"
				      "The test daemon does nothing at all.\n\nFlags:\n"));
	/* the component's flags first, then the kit's */
	char *name = strstr(r.out, "--name string"), *master = strstr(r.out, "--master string");
	assert_non_null(name);
	assert_non_null(master);
	assert_true(name < master);
	assert_non_null(strstr(r.out, "--leader-elect-resource-name string"));
	assert_non_null(strstr(r.out, "(default \"kube-test\")"));
	assert_non_null(strstr(r.out, "--v int"));
	assert_non_null(strstr(r.out, "--version"));
	assert_non_null(strstr(r.out, "print version information and quit"));
	/* no serving flags without DAEMON_FLAG_SERVE */
	assert_null(strstr(r.out, "--secure-port"));

	run_child(2, (char *[]){"kube-test", "--version", NULL}, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "Kubernetes v1.32.0-mink8s\n");
	assert_string_equal(r.err, "");

	run_child(3, (char *[]){"kube-test", "--count=1", "--bogus", NULL}, &r);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "Error: unknown flag: --bogus\n");

	run_child(2, (char *[]){"kube-test", "--count=many", NULL}, &r);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, "Error: invalid argument \"many\" for \"--count\"\n");

	run_child(2, (char *[]){"kube-test", "--version=nope", NULL}, &r);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.err, "Error: invalid argument \"nope\" for \"--version\"\n");

	/* the happy path returns a daemon (the child says 100) */
	run_child(2, (char *[]){"kube-test", "--name=x", NULL}, &r);
	assert_int_equal(r.status, 100);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
}

/* A daemon of the tests: --master on a closed port, no election. */
static struct daemon *test_daemon(void)
{
	static struct daemon_config cfg = {
		.name = "kube-test", .summary = "Tests.", .common = DAEMON_FLAG_MASTER};
	char *argv[] = {"kube-test", "--master=http://127.0.0.1:1", NULL};
	int rc = -1;
	struct daemon *d = daemon_new(&cfg, 2, argv, &rc);
	assert_non_null(d);
	return d;
}

/* ---- workers, tasks, stop ---- */

struct work {
	pthread_mutex_t lock;
	struct buf done;   /* "key;" per successful sync */
	int failures_left; /* of key "flaky" */
	atomic_int syncs;
	atomic_int ticks;    /* periodic task calls */
	atomic_bool in_loop; /* the daemon_thread loop runs */
	atomic_bool woken;
	atomic_bool late_refused;
	struct daemon *d;
	struct workqueue *q;
};

static int sync_key(const char *key, void *arg, struct mk_err **err)
{
	struct work *w = arg;
	atomic_fetch_add(&w->syncs, 1);
	pthread_mutex_lock(&w->lock);
	int rc = 0;
	if (!strcmp(key, "flaky") && w->failures_left > 0) {
		w->failures_left--;
		rc = mk_err_set(err, MK_EUNAVAILABLE, "not yet");
	} else {
		buf_printf(&w->done, "%s;", key);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void tick(void *arg)
{
	struct work *w = arg;
	atomic_fetch_add(&w->ticks, 1);
	/* registration is over once daemon_run began */
	cleanup_err struct mk_err *err = NULL;
	if (daemon_workers(w->d, "late", w->q, 1, sync_key, w, &err) < 0 &&
	    strstr(mk_err_msg(err), "after daemon_run"))
		atomic_store(&w->late_refused, true);
}

/* A loop of the component's own that only its wake function ends. */
static void own_loop(void *arg)
{
	struct work *w = arg;
	atomic_store(&w->in_loop, true);
	while (!atomic_load(&w->woken))
		usleep(1000);
}

static void wake_loop(void *arg)
{
	atomic_store(&((struct work *)arg)->woken, true);
}

static bool all_done(void *arg)
{
	struct work *w = arg;
	pthread_mutex_lock(&w->lock);
	bool done = strstr(buf_str(&w->done), "flaky;") && strstr(buf_str(&w->done), "a;") &&
		    strstr(buf_str(&w->done), "b;") && strstr(buf_str(&w->done), "c;");
	pthread_mutex_unlock(&w->lock);
	return done && atomic_load(&w->ticks) >= 1 && atomic_load(&w->in_loop);
}

struct stopper {
	struct daemon *d;
	bool (*cond)(void *arg);
	void *arg;
	int status;
	bool by_signal;
	bool met;
	int64_t stopped_at;
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	s->met = wait_until(s->cond, s->arg, 10000);
	s->stopped_at = now_ms();
	if (s->by_signal)
		kill(getpid(), SIGTERM);
	else
		daemon_stop(s->d, s->status);
	return NULL;
}

static void test_workers_tasks_stop(void **state)
{
	(void)state;
	struct work w = {.failures_left = 2};
	pthread_mutex_init(&w.lock, NULL);
	w.d = test_daemon();
	w.q = workqueue_new_with_backoff(5, 50);
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(daemon_workers(w.d, "test", w.q, 3, sync_key, &w, &err), 0);
	/* a period far longer than the test: the stop cuts the wait short */
	assert_int_equal(daemon_every(w.d, "ticker", 600000, false, tick, &w, &err), 0);
	assert_int_equal(daemon_thread(w.d, "loop", true, own_loop, wake_loop, &w, &err), 0);
	assert_int_equal(daemon_every(w.d, "bad", 0, false, tick, &w, &err), -1);
	mk_err_free(err);
	err = NULL;
	workqueue_add(w.q, "a");
	workqueue_add(w.q, "b");
	workqueue_add(w.q, "flaky");
	workqueue_add(w.q, "c");
	assert_false(daemon_stopping(w.d));
	struct stopper s = {.d = w.d, .cond = all_done, .arg = &w, .status = 7};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stopper_main, &s), 0);
	int rc = daemon_run(w.d);
	int64_t returned = now_ms();
	pthread_join(t, NULL);
	assert_true(s.met);
	assert_int_equal(rc, 7);
	assert_true(daemon_stopping(w.d));
	/* the flaky key was retried through the queue's back-off */
	assert_int_equal(atomic_load(&w.syncs), 6);
	assert_int_equal(workqueue_num_requeues(w.q, "flaky"), 0);
	/* the periodic task ran once: its 10-minute wait ended with the stop */
	assert_int_equal(atomic_load(&w.ticks), 1);
	assert_true(atomic_load(&w.late_refused));
	assert_true(atomic_load(&w.woken));
	assert_true(returned - s.stopped_at < 3000);
	/* later adds are ignored: the kit shut the queue down */
	assert_true(workqueue_shutting_down(w.q));
	/* a stopped daemon's sleep returns at once */
	int64_t before = now_ms();
	assert_true(daemon_sleep(w.d, 60000));
	assert_true(now_ms() - before < 1000);
	assert_int_equal(daemon_run(w.d), 1);
	daemon_free(w.d);
	workqueue_free(w.q);
	buf_free(&w.done);
	pthread_mutex_destroy(&w.lock);
}

static bool ticked(void *arg)
{
	return atomic_load(&((struct work *)arg)->ticks) > 0;
}

static void test_signal_stops(void **state)
{
	(void)state;
	struct work w = {0};
	pthread_mutex_init(&w.lock, NULL);
	w.d = test_daemon();
	w.q = workqueue_new();
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(daemon_every(w.d, "ticker", 600000, true, tick, &w, &err), 0);
	struct stopper s = {.d = w.d, .cond = ticked, .arg = &w, .by_signal = true};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stopper_main, &s), 0);
	int rc = daemon_run(w.d);
	pthread_join(t, NULL);
	assert_true(s.met);
	assert_int_equal(rc, 0);
	assert_int_equal(atomic_load(&w.ticks), 1);
	daemon_free(w.d);
	/* the handlers are gone with the daemon */
	struct sigaction sa;
	sigaction(SIGTERM, NULL, &sa);
	assert_ptr_equal(sa.sa_handler, SIG_DFL);
	workqueue_free(w.q);
	buf_free(&w.done);
	pthread_mutex_destroy(&w.lock);
}

/* ---- the informer gate ---- */

struct gate {
	atomic_int errors;
	atomic_int synced_calls;
};

static void gate_error(const struct mk_err *e, void *arg)
{
	(void)e;
	atomic_fetch_add(&((struct gate *)arg)->errors, 1);
}

static void gate_tick(void *arg)
{
	atomic_fetch_add(&((struct gate *)arg)->synced_calls, 1);
}

static bool gate_errored(void *arg)
{
	return atomic_load(&((struct gate *)arg)->errors) >= 2;
}

static json_t *keep_name(json_t *obj, void *arg)
{
	(void)arg;
	return json_incref(obj);
}

static void test_informers_shared_and_gate(void **state)
{
	(void)state;
	struct gate g = {0};
	struct daemon *d = test_daemon();
	cleanup_err struct mk_err *err = NULL;
	struct informer_handlers h = {.on_error = gate_error, .arg = &g};
	struct informer *pods = daemon_informer(d, "/api/v1/pods", NULL, "", &h, &err);
	assert_non_null(pods);
	assert_ptr_equal(daemon_informer(d, "/api/v1/pods", "", NULL, NULL, &err), pods);
	struct informer *mine =
		daemon_informer(d, "/api/v1/pods", NULL, "spec.nodeName=n1", NULL, &err);
	assert_non_null(mine);
	assert_ptr_not_equal(mine, pods);
	/* a subscriber cannot change how the shared cache keeps objects */
	struct informer_handlers vo = {.versions_only = true};
	assert_null(daemon_informer(d, "/api/v1/pods", NULL, NULL, &vo, &err));
	assert_non_null(strstr(mk_err_msg(err), "cache mode"));
	mk_err_free(err);
	err = NULL;
	struct informer_handlers tr = {.transform = keep_name};
	assert_non_null(daemon_informer(d, "/api/v1/nodes", NULL, NULL, &tr, &err));
	assert_non_null(daemon_informer(d, "/api/v1/nodes", NULL, NULL, &tr, &err));

	/* the API server never answers: the tasks that wait for the sync
	 * must not start, while immediate ones do */
	assert_int_equal(daemon_every(d, "after-sync", 10, false, gate_tick, &g, &err), 0);
	struct stopper s = {.d = d, .cond = gate_errored, .arg = &g, .status = 3};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stopper_main, &s), 0);
	int rc = daemon_run(d);
	pthread_join(t, NULL);
	assert_true(s.met);
	assert_int_equal(rc, 3);
	assert_int_equal(atomic_load(&g.synced_calls), 0);
	assert_false(daemon_wait_synced(d));
	daemon_free(d);
}

/* ---- HTTP: health, metrics, port in use ---- */

static size_t curl_sink(char *data, size_t size, size_t n, void *arg)
{
	buf_append(arg, data, size * n);
	return size * n;
}

/* GET http://127.0.0.1:port/path: the status (0 when the connection
 * failed) and the body in *body (new, free()). */
static long http_get(int port, const char *path, char **body)
{
	CURL *c = curl_easy_init();
	assert_non_null(c);
	cleanup_free char *url = xasprintf("http://127.0.0.1:%d%s", port, path);
	struct buf b = BUF_INIT;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	*body = buf_steal(&b);
	return code;
}

struct health {
	atomic_bool broken;
};

static int disk_check(void *arg, struct mk_err **err)
{
	struct health *h = arg;
	if (atomic_load(&h->broken))
		return mk_err_set(err, MK_EIO, "disk on fire");
	return 0;
}

static void component_metrics(struct buf *out, void *arg)
{
	(void)arg;
	buf_append_str(out, "# HELP test_things Things.\n# TYPE test_things gauge\n"
			    "test_things 42\n");
}

static void own_healthz(struct httpd_req *rq, void *arg)
{
	(void)arg;
	httpd_reply_text(rq, 200, "application/json", "{\"mine\":true}");
}

static int expect_get(int port, const char *path, long code, const char *body)
{
	cleanup_free char *got = NULL;
	long c = http_get(port, path, &got);
	if (c != code || (body && strcmp(got, body))) {
		print_error("GET %s: %ld %s, want %ld %s\n", path, c, got, code, body ? body : "");
		return -1;
	}
	return 0;
}

static int sync_noop(const char *key, void *arg, struct mk_err **err)
{
	(void)key;
	(void)arg;
	(void)err;
	return 0;
}

static void test_health_and_metrics(void **state)
{
	(void)state;
	struct daemon *d = test_daemon();
	struct health hs = {0};
	cleanup_err struct mk_err *err = NULL;
	daemon_health_check(d, "disk", disk_check, &hs);
	daemon_metrics(d, component_metrics, NULL);
	struct workqueue *q = workqueue_new();
	workqueue_add(q, "waiting");
	assert_int_equal(daemon_workers(d, "pool-a", q, 1, sync_noop, NULL, &err), 0);
	struct httpd *h = daemon_httpd(d, NULL, &err);
	assert_non_null(h);
	int port = daemon_listen(d, h, "127.0.0.1", 0, &err);
	assert_true(port > 0);
	/* a server whose /healthz is the component's own */
	struct httpd *h2 = daemon_httpd(d, &(struct httpd_config){.name = "own"}, &err);
	httpd_route(h2, "GET", "/healthz", own_healthz, NULL);
	int port2 = daemon_listen(d, h2, "127.0.0.1", 0, &err);
	assert_true(port2 > 0);

	assert_int_equal(expect_get(port, "/healthz", 200, "ok"), 0);
	assert_int_equal(expect_get(port, "/livez", 200, "ok"), 0);
	assert_int_equal(expect_get(port, "/healthz?verbose", 200,
				    "[+]ping ok\n[+]disk ok\nhealthz check passed\n"),
			 0);
	assert_int_equal(expect_get(port, "/healthz/disk", 200, "ok"), 0);
	assert_int_equal(expect_get(port, "/healthz/nope", 404, "404 page not found\n"), 0);
	atomic_store(&hs.broken, true);
	assert_int_equal(expect_get(port, "/healthz", 500,
				    "[+]ping ok\n[-]disk failed: reason withheld\n"
				    "healthz check failed\n"),
			 0);
	assert_int_equal(expect_get(port, "/readyz", 500,
				    "[+]ping ok\n[-]disk failed: reason withheld\n"
				    "readyz check failed\n"),
			 0);
	assert_int_equal(
		expect_get(port, "/healthz/disk", 500, "internal server error: disk on fire\n"), 0);
	assert_int_equal(expect_get(port, "/healthz/ping", 200, "ok"), 0);
	assert_int_equal(expect_get(port, "/healthz?exclude=disk", 200, "ok"), 0);
	assert_int_equal(expect_get(port, "/livez?verbose&exclude=disk&exclude=zz&exclude=aa", 200,
				    "[+]ping ok\n[+]disk excluded: ok\n"
				    "warn: some health checks cannot be excluded: no matches for "
				    "\"aa\",\"zz\"\nlivez check passed\n"),
			 0);
	assert_int_equal(expect_get(port2, "/healthz", 200, "{\"mine\":true}"), 0);
	assert_int_equal(expect_get(port2, "/livez", 500, NULL), 0);

	cleanup_free char *m = NULL;
	assert_int_equal(http_get(port, "/metrics", &m), 200);
	const char *want[] = {
		"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
		"# TYPE process_open_fds gauge\nprocess_open_fds ",
		"\nprocess_max_fds ",
		"\nprocess_resident_memory_bytes ",
		"\nprocess_virtual_memory_bytes ",
		"# HELP process_start_time_seconds Start time of the process since unix epoch in "
		"seconds.\n",
		"# TYPE workqueue_depth gauge\nworkqueue_depth{name=\"pool-a\"} 1\n",
		"workqueue_retries_total{name=\"pool-a\"} 0\n",
		"# TYPE test_things gauge\ntest_things 42\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(m, want[i]))
			fail_msg("/metrics lacks %s:\n%s", want[i], m);
	}
	/* the start time is this process's: within a day of now */
	double start = strtod(strstr(m, "\nprocess_start_time_seconds ") + 28, NULL);
	assert_true(start > (double)time(NULL) - 86400 && start <= (double)time(NULL) + 1);
	assert_null(strstr(m, "leader_election_master_status"));

	daemon_stop(d, 0);
	assert_int_equal(daemon_run(d), 0);
	/* the stop closed the servers */
	cleanup_free char *gone = NULL;
	assert_int_equal(http_get(port, "/healthz", &gone), 0);
	daemon_free(d);
	workqueue_free(q);
}

struct port_wait {
	int port;
};

static bool serving(void *arg)
{
	cleanup_free char *b = NULL;
	return http_get(((struct port_wait *)arg)->port, "/healthz", &b) == 200;
}

static void test_listen_retries_port_in_use(void **state)
{
	(void)state;
	/* someone else holds the port */
	int blocker = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(blocker, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(blocker, 1), 0);
	socklen_t sl = sizeof(sa);
	getsockname(blocker, (struct sockaddr *)&sa, &sl);
	int port = ntohs(sa.sin_port);

	struct daemon *d = test_daemon();
	cleanup_err struct mk_err *err = NULL;
	struct httpd *h = daemon_httpd(d, NULL, &err);
	/* the kit's line goes to stderr: catch it in a file */
	char log_path[] = "/tmp/mk-daemon-log.XXXXXX";
	int logfd = mkstemp(log_path);
	assert_true(logfd >= 0);
	unlink(log_path);
	fflush(stderr);
	int saved = dup(2);
	dup2(logfd, 2);
	int rc = daemon_listen(d, h, "127.0.0.1", port, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(rc, 0);
	char logged[4096];
	read_all(logfd, logged, sizeof(logged));
	close(logfd);
	cleanup_free char *want = xasprintf("\"Healthz server failed\" err=\"listen tcp "
					    "127.0.0.1:%d: bind: address already in use\"",
					    port);
	if (!strstr(logged, want))
		fail_msg("log lacks %s:\n%s", want, logged);
	cleanup_free char *b = NULL;
	assert_int_equal(http_get(port, "/healthz", &b), 0);
	/* the port frees up: the retry takes it within its 5 s period */
	close(blocker);
	struct port_wait pw = {.port = port};
	assert_true(wait_until(serving, &pw, 12000));
	daemon_free(d);
}

/* The re-executed test binary: a daemon made with malloc_arenas n, then 8
 * threads that allocate at once; prints how many arenas malloc_info lists. */
struct arena_sync {
	pthread_barrier_t start, hold;
};

static void *arena_thread(void *arg)
{
	struct arena_sync *s = arg;
	pthread_barrier_wait(&s->start);
	void *p[64];
	for (size_t i = 0; i < 64; i++)
		p[i] = xmalloc(1000);
	pthread_barrier_wait(&s->hold); /* every thread holds its blocks here */
	for (size_t i = 0; i < 64; i++)
		free(p[i]);
	return NULL;
}

static int arena_child(int n)
{
	struct comp_opts o = {.name = "default"};
	struct flag flags[] = COMP_FLAGS(&o);
	struct daemon_config cfg = {.name = "kube-test", .flags = flags, .malloc_arenas = n};
	char *argv[] = {"kube-test", NULL};
	int code = 0;
	struct daemon *d = daemon_new(&cfg, 1, argv, &code);
	if (!d)
		return 1;
	struct arena_sync s;
	pthread_t t[8];
	pthread_barrier_init(&s.start, NULL, 8);
	pthread_barrier_init(&s.hold, NULL, 8);
	for (size_t i = 0; i < 8; i++)
		if (pthread_create(&t[i], NULL, arena_thread, &s) != 0)
			return 1;
	for (size_t i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	char *info = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&info, &len);
	if (!f || malloc_info(0, f) != 0 || fclose(f) != 0)
		return 1;
	int heaps = 0;
	for (const char *p = info; (p = strstr(p, "<heap nr=")); p++)
		heaps++;
	printf("%d\n", heaps);
	free(info);
	daemon_free(d);
	return 0;
}

/* Arenas malloc_info lists in a fresh process after arena_child(n). */
static int arenas_with(int n)
{
	cleanup_free char *cmd = xasprintf("/proc/%d/exe --arena-child %d", (int)getpid(), n);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int heaps = -1;
	assert_int_equal(fscanf(p, "%d", &heaps), 1);
	assert_int_equal(pclose(p), 0);
	return heaps;
}

static void __attribute__((unused)) test_malloc_arenas(void **state)
{
	(void)state;
	/* glibc's default: a new arena for each of the threads */
	assert_true(arenas_with(0) > 2);
	assert_int_equal(arenas_with(2), 2);
	assert_int_equal(arenas_with(1), 1);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--arena-child"))
		return arena_child(atoi(argv[2]));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags_merge),
		cmocka_unit_test(test_help_version_bad_flag),
		cmocka_unit_test(test_workers_tasks_stop),
		cmocka_unit_test(test_signal_stops),
		cmocka_unit_test(test_informers_shared_and_gate),
		cmocka_unit_test(test_health_and_metrics),
		cmocka_unit_test(test_listen_retries_port_in_use),
#if !defined(__SANITIZE_ADDRESS__) /* ASan's allocator stands in for glibc's arenas */
		cmocka_unit_test(test_malloc_arenas),
#endif
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
