/* The frame every daemon stands on (controller-manager, scheduler,
 * kube-proxy, kubelet): flags with --help/--version from one table, klog
 * verbosity, signals, an API client from --master/--kubeconfig, shared
 * informers, named worker pools draining work queues, periodic tasks,
 * optional leader election, /healthz and /metrics, and an orderly stop on
 * SIGTERM/SIGINT.
 *
 * Life of a daemon:
 *     d = daemon_new(&cfg, argc, argv, &rc);   // parses flags; NULL: return rc
 *     ... read the component's flags, daemon_informer(), daemon_workers(),
 *         daemon_every(), daemon_httpd() + routes + daemon_listen() ...
 *     rc = daemon_run(d);                      // until SIGTERM/SIGINT
 *     daemon_free(d);
 * Registration (informers, workers, periodic tasks, health checks, metrics)
 * happens before daemon_run; daemon_run starts informers first, workers and
 * periodic tasks once every informer has synced.
 *
 * Threads: one per informer stream, one per worker, one per periodic task,
 * plus the HTTP servers' pools. Functions are thread-safe unless said. */
#ifndef MK_DAEMON_H
#define MK_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "err.h"
#include "flags.h"
#include "httpd.h"
#include "informer.h"
#include "workqueue.h"

struct daemon;

/* Flags the kit adds to the component's table (as upstream names them);
 * -v is always added. */
enum {
	DAEMON_FLAG_MASTER = 1 << 0,	   /* --master */
	DAEMON_FLAG_KUBECONFIG = 1 << 1,   /* --kubeconfig */
	DAEMON_FLAG_LEADER_ELECT = 1 << 2, /* --leader-elect and --leader-elect-* */
	/* --bind-address (0.0.0.0), --secure-port (cfg.secure_port; 0: off),
	 * --tls-cert-file, --tls-private-key-file and --cert-dir: daemon_run
	 * serves /healthz, /livez, /readyz and /metrics there over HTTPS, with
	 * the given certificate or a self-signed one made at start (written to
	 * --cert-dir as <name>.crt/.key when set, else kept in memory), to any
	 * caller: the health paths are upstream's always-allowed ones; /metrics
	 * is open too, as there is no delegated authorization yet. */
	DAEMON_FLAG_SERVE = 1 << 3,
};

struct daemon_config {
	const char *name;    /* "kube-scheduler": usage, logs, lease identity */
	const char *summary; /* the usage text's first paragraph */
	struct flag *flags;  /* the component's flags (ends with .name NULL); may be NULL */
	unsigned common;     /* DAEMON_FLAG_* */
	/* With DAEMON_FLAG_LEADER_ELECT: the Lease's default name (namespace
	 * kube-system), e.g. "kube-scheduler"; election is on by default. */
	const char *lease_name;
	int secure_port; /* with DAEMON_FLAG_SERVE: --secure-port's default */
	/* Reports a bad flag (msg: "unknown flag: --x") the component's own
	 * way and returns the exit status; NULL: "Error: <msg>" and 2. */
	int (*flag_error)(const char *msg);
	/* glibc's M_ARENA_MAX for the process, set by daemon_new before any
	 * thread exists; 0 keeps glibc's default (8 per core). glibc gives
	 * each new thread that allocates an arena of its own up to that
	 * limit, and the pages an arena touched stay resident: a daemon of
	 * many mostly idle threads that must stay small asks for few. */
	int malloc_arenas;
};

/* Parses argv against the component's flags plus the kit's (-v included)
 * and installs the signal handlers (SIGPIPE ignored; a second SIGTERM/SIGINT
 * ends the process at once with status 1, as upstream; one daemon of a
 * process gets the signals, the last made). --help prints the
 * usage and --version MK_VERSION_LINE: NULL with *exit_code 0. A bad flag
 * prints the one line "Error: <why>" on stderr: NULL with *exit_code 2.
 * Otherwise a new daemon (daemon_free). cfg and its flag table are borrowed
 * for the daemon's life; the table's .seen are set as in the merged table.
 * From then on every string target of the table holds a string of the
 * daemon's (defaults are copied): a component may replace one (free the old
 * value, store a malloc'd one); daemon_free frees them and sets them NULL.
 * No thread is started here. */
struct daemon *daemon_new(const struct daemon_config *cfg, int argc, char **argv, int *exit_code);

/* The flag of the merged table named name (component's or kit's), to read
 * .seen, or to read or replace (by the rule above) a kit flag's value, e.g.
 * --kubeconfig from a configuration file before the first daemon_client
 * call; NULL if none. */
const struct flag *daemon_flag(const struct daemon *d, const char *name);

/* The API client made from --master/--kubeconfig on first use (borrowed;
 * NULL with *err when the kubeconfig cannot be read). Components without
 * those flags pass their own kubeconfig path to daemon_set_client. */
struct client *daemon_client(struct daemon *d, struct mk_err **err);
/* Makes c (taken over) the daemon's client. */
void daemon_set_client(struct daemon *d, struct client *c);
/* A client of its own (same server and credentials) for a busy worker pool.
 * New, client_free(). */
struct client *daemon_client_new(struct daemon *d, struct mk_err **err);

/* The shared informer on a collection path with optional selectors (NULL
 * or ""), created on first use; every caller naming the same path and
 * selectors gets the same informer, and each call adds its handlers
 * (copied; every subscriber sees every event; NULL adds none). Only before
 * daemon_run. Borrowed; the daemon stops and frees it. */
struct informer *daemon_informer(struct daemon *d, const char *path, const char *label_selector,
				 const char *field_selector, const struct informer_handlers *h,
				 struct mk_err **err);

/* Waits until every informer has synced or the daemon stops; returns true
 * when synced. */
bool daemon_wait_synced(struct daemon *d);

/* The sync function of a worker pool: 0 when done with key, -1 (with *err,
 * logged by the kit) to retry it later with the queue's back-off. */
typedef int (*daemon_sync_fn)(const char *key, void *arg, struct mk_err **err);

/* n workers named name take keys from q and call sync once the informers
 * synced. q and arg are borrowed until daemon_run returns; at the stop the
 * kit shuts q down and joins the workers. */
int daemon_workers(struct daemon *d, const char *name, struct workqueue *q, int n,
		   daemon_sync_fn sync, void *arg, struct mk_err **err);

/* fn(arg) every period_ms on a thread of its own, the first call once the
 * informers synced (or at once with immediate true: once daemon_run holds
 * the lease, when elected). The wait between calls is cut short by the
 * stop. */
int daemon_every(struct daemon *d, const char *name, int64_t period_ms, bool immediate,
		 void (*fn)(void *arg), void *arg, struct mk_err **err);

/* fn(arg) once, on a thread of its own started as daemon_every's first
 * call: a component's own long-running loop, which must return once the
 * stop began. It watches daemon_stopping()/daemon_sleep(), or wake(arg)
 * (may be NULL), called on the stopping thread when the stop begins, makes
 * it return. Joined at the stop, before the informers stop. */
int daemon_thread(struct daemon *d, const char *name, bool immediate, void (*fn)(void *arg),
		  void (*wake)(void *arg), void *arg, struct mk_err **err);

/* A named check run by /healthz (and /livez, /readyz) after the kit's
 * "ping" (and "leaderElection" when elected): 0 healthy; -1 with *err says
 * why. As upstream, the root path answers "ok", or 500 with one line per
 * check ("[+]name ok", "[-]name failed: reason withheld") and "healthz
 * check failed" (?verbose lists the checks also when healthy, ?exclude=name
 * skips one), and logs the reasons at -v=2; /healthz/<name> runs one check
 * and shows its reason ("internal server error: <why>"). Checks run on HTTP
 * threads and must not block. */
typedef int (*daemon_check_fn)(void *arg, struct mk_err **err);
void daemon_health_check(struct daemon *d, const char *name, daemon_check_fn fn, void *arg);

/* Appends Prometheus text exposition lines to out; called for every
 * /metrics scrape, on HTTP threads. The kit adds process metrics itself
 * (process_cpu_seconds_total, process_max_fds, process_open_fds,
 * process_resident_memory_bytes, process_start_time_seconds,
 * process_virtual_memory_bytes), workqueue_depth and
 * workqueue_retries_total{name=<pool>} of its worker pools, and
 * leader_election_master_status{name=<lease>} when elected. */
typedef void (*daemon_metrics_fn)(struct buf *out, void *arg);
void daemon_metrics(struct daemon *d, daemon_metrics_fn fn, void *arg);

/* A new HTTP server of the daemon that answers /healthz, /livez, /readyz
 * (and their /<check> paths) and /metrics: the component adds its own
 * routes, then calls daemon_listen, which adds the kit's after them (so a
 * component may answer one of those paths itself, as kube-proxy does
 * /healthz). cfg may be NULL for the defaults (name "healthz", a client
 * idle for 60 s cut). Borrowed: closed by daemon_run at the stop, or by
 * daemon_free. */
struct httpd *daemon_httpd(struct daemon *d, const struct httpd_config *cfg, struct mk_err **err);

/* Listens on address:port for h (a server of daemon_httpd; port 0: a free
 * one) and returns the port bound. When the port is in use (a previous
 * instance still exiting), logs upstream's line ("Healthz server failed"
 * err="listen tcp 0.0.0.0:10256: bind: address already in use") and
 * retries every 5 s in the background until it is free or the daemon
 * stops; returns 0 then. Other failures: -1. */
int daemon_listen(struct daemon *d, struct httpd *h, const char *address, int port,
		  struct mk_err **err);

/* Runs until SIGTERM/SIGINT or daemon_stop: the DAEMON_FLAG_SERVE server
 * first, leader election when enabled (losing the lease later ends the
 * process with status 1, as upstream does), then informers, then workers
 * and periodic tasks. At the stop: wake functions called, queues shut
 * down, workers and tasks joined, informers stopped, HTTP servers closed.
 * Returns the process exit status (0 after a signal; 1 when an informer or
 * a thread could not start). Once per daemon. */
int daemon_run(struct daemon *d);

/* Asks daemon_run to return with status (from any thread, also a handler). */
void daemon_stop(struct daemon *d, int status);
/* True once the stop has begun. */
bool daemon_stopping(const struct daemon *d);
/* Sleeps up to ms; returns early (true) when the daemon stops. */
bool daemon_sleep(struct daemon *d, int64_t ms);

/* Accepts NULL. After daemon_run returned (or instead of it). */
void daemon_free(struct daemon *d);

#endif
