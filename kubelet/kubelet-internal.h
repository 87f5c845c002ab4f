/* Declarations shared by the kubelet's own files. Not a public interface.
 *
 * The kubelet keeps one record (struct kpod) per pod it should run or still
 * runs, keyed by UID. Sources (static manifests, the API server's pods
 * bound to this node) set what a pod should be; the pod workers (a work
 * queue keyed by UID, so one pod is synced by one worker at a time) make the
 * node match it: sandbox, volumes, images, containers, restarts, kills. The
 * status of every pod is computed after each sync and pushed to the API
 * server by the status manager.
 *
 * Locking: k->mu guards the pod table and every kpod/kctr field; it is held
 * only briefly, never across a runtime, CNI, image or API call. Fields a
 * worker alone changes (sandbox and container runtime state) may be read
 * by others under the lock. */
#ifndef MK_KUBELET_INTERNAL_H
#define MK_KUBELET_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <jansson.h>

#include "client.h"
#include "daemon.h"
#include "err.h"
#include "workqueue.h"
#include "kubelet/kconfig.h"

struct runtime;
struct cgroups;
struct informer;
struct imagestore;
struct cni_netconf;
struct staticpods;
struct prober;
struct ocispec_input;
struct streaming;

/* What became of a container's last run. */
struct kexit {
	bool valid;
	int exit_code;
	bool oom;
	char *reason;  /* Completed, Error, OOMKilled, ContainerCannotRun... */
	char *message; /* termination message, may be NULL */
	time_t started, finished;
	char *container_id; /* runc://<id> */
};

enum kctr_state {
	KCTR_WAITING, /* not created yet, or waiting to be restarted */
	KCTR_RUNNING,
	KCTR_TERMINATED,
};

/* One container (init or app) of a pod. */
struct kctr {
	char *name;
	bool init;
	int attempt;	 /* of the current/last instance; restartCount */
	char *id;	 /* runtime id of the current instance, NULL if none */
	char *image;	 /* as the spec names it */
	char *image_ref; /* resolved reference, e.g. docker.io/library/nginx:latest */
	char *image_id;	 /* sha256:... of the image config, "" until known */
	enum kctr_state state;
	char *waiting_reason; /* ContainerCreating, CrashLoopBackOff, ErrImagePull... */
	char *waiting_message;
	time_t started_at; /* of the running instance */
	struct kexit cur;  /* state.terminated when KCTR_TERMINATED */
	struct kexit last; /* lastState.terminated */
	int pid;
	/* restart back-off: the next start not before backoff_until (ms on the
	 * monotonic clock), after backoff_ms doubling from 10 s to 5 min */
	int64_t backoff_until;
	int64_t backoff_ms;
	int64_t image_backoff_until, image_backoff_ms;
	/* probes (set by the prober) */
	bool ready;
	bool started;	      /* startup probe passed (or none) */
	bool liveness_failed; /* restart it */
	bool probing;	      /* handed to the prober */
	char *liveness_message;
	bool created_event_sent;
	int stop_signal; /* the image's StopSignal (0: SIGTERM) */
};

/* A pod the kubelet runs. */
struct kpod {
	char *uid;
	char *ns;
	char *name;
	json_t *pod;	   /* what the pod should be (latest from its source), NULL once removed */
	bool is_static;	   /* from a manifest file */
	char *static_path; /* that file */
	bool removed;	   /* gone from its source: kill and forget */
	bool deleting;	   /* deletionTimestamp set: kill, then delete from the API */
	int64_t grace_s;   /* grace period for the kill */
	bool terminated;   /* every container stopped for good (Succeeded/Failed) */
	bool killed;	   /* containers and sandbox are down after a kill */
	bool confirmed;	   /* a source wants it (false for an adopted pod until then) */
	bool start_observed; /* counted in the pod start metric */

	/* sandbox */
	char *sandbox_id; /* k8s_POD_..._<attempt> */
	int sandbox_attempt;
	char *netns;	 /* pinned netns path, NULL for hostNetwork */
	char *pod_ip;	 /* NULL until the network is set up */
	json_t *pod_ips; /* array of strings */
	int sandbox_pid;
	bool sandbox_ready;
	char *ipc_ns, *uts_ns; /* the pod's pinned IPC and UTS namespaces, or NULL */
	struct pause_job *pause_job; /* the pause container being made (sandbox.c) */
	char *sandbox_error; /* why the last attempt failed */
	int64_t sandbox_backoff_until, sandbox_backoff_ms;

	struct kctr *ctrs; /* init containers first, in spec order */
	size_t nctrs;

	time_t start_time;  /* status.startTime */
	json_t *status;	    /* last computed status (owned) */
	char *config_error; /* reason a container cannot be configured */
	struct kpod *next;
};

struct kubelet {
	struct kconfig cfg;
	char *node_name;
	struct daemon *d;
	struct client *c; /* NULL in standalone mode */
	struct runtime *rt;
	struct cgroups *cg; /* NULL when cgroups are not usable */
	struct imagestore *images;
	struct prober *prober;
	struct informer *cm_inf, *secret_inf; /* NULL in standalone mode */
	struct staticpods *static_src;
	struct streaming *streaming; /* server.c */

	pthread_mutex_t mu;
	pthread_mutex_t pull_mu; /* one pull at a time with serializeImagePulls */
	struct kpod *pods;	 /* the pod table */
	struct workqueue *podq;

	/* node facts */
	char *node_ip;
	char *pod_cidr;	    /* from Node.spec.podCIDR, or --pod-cidr */
	bool network_ready; /* a CNI configuration exists */
	char *network_message;
	time_t start_time;
	char *machine_id, *boot_id, *os_image, *kernel_version, *runtime_version, *runtime_name;
	int64_t cpu_milli, memory_bytes;
	bool swap_accounting; /* the memory cgroup can limit swap */
	bool oom_restricted;  /* no CAP_SYS_RESOURCE: oom_score_adj not below oom_floor */
	int oom_floor;

	/* mirror pods seen in the API: static pod full name -> mirror uid */
	json_t *mirrors;
	/* configmaps/secrets used by pods, for volumes and env: "ns/name" cache */
	json_t *api_cache;
	int64_t pods_started;

	struct workqueue *statusq; /* statusmgr.c */
	bool node_registered;	   /* node.c */
	json_t *node_last_status;
	int64_t node_last_post_ms;
	pthread_mutex_t status_mu; /* node.c: wakes the node-status thread */
	pthread_cond_t status_cond;
	bool status_kicked;
	struct cni_netconf *netconf; /* the CNI configuration in use (sandbox.c) */
	int64_t netconf_mtime;
};

/* ---- pods.c: the pod table and its sources ---- */

/* The record of uid (k->mu held), or NULL. */
struct kpod *kubelet_pod_find(struct kubelet *k, const char *uid);
/* Sets what pod (borrowed) should be, creating the record; queues a sync. */
void kubelet_pod_set(struct kubelet *k, json_t *pod, bool is_static, const char *path);
/* The pod of uid left its source: queue its kill. */
void kubelet_pod_remove(struct kubelet *k, const char *uid);
/* Queue a sync of uid now / after delay_ms. */
void kubelet_enqueue(struct kubelet *k, const char *uid);
void kubelet_enqueue_after(struct kubelet *k, const char *uid, int64_t delay_ms);
/* Frees a record (k->mu held, already unlinked). */
void kubelet_pod_free(struct kpod *kp);
/* "<ns>/<name>", for log lines; new string. */
char *kubelet_pod_key(const json_t *pod);

/* Static manifest watcher callback (staticpods_fn). */
void kubelet_static_changed(const char *path, json_t *pod, void *arg);
/* Follows the API server's pods bound to this node. */
int kubelet_api_source_start(struct kubelet *k, struct mk_err **err);

/* ---- sync.c: the pod worker ---- */

/* daemon_sync_fn: one sync of the pod with UID key. */
int kubelet_sync_pod(const char *uid, void *arg, struct mk_err **err);

/* Frees what a container record owns and zeroes it. */
void kctr_clear(struct kctr *c);

/* ---- containers.c: one pod's containers on the runtime ---- */

/* Reads the runtime's view of c's current instance into c (state, exit,
 * times, pid). */
void containers_refresh(struct kubelet *k, struct kpod *kp, struct kctr *c);
/* Starts a new instance of c (image, rootfs, config, runtime create and
 * start, events). On failure c waits with upstream's reason and message;
 * -1 with *err, and *requeue_ms > 0 when a retry should come after it
 * (image pull back-off). */
int containers_start(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
		     struct kctr *c, int64_t *requeue_ms, struct mk_err **err);
/* Stops c's running instance: preStop hook, the stop signal, SIGKILL after
 * grace_s; restarting tells whether the record waits for a restart. */
void containers_kill(struct kubelet *k, struct kpod *kp, const json_t *pod, struct kctr *c,
		     int64_t grace_s, bool restarting);
/* Stops every running container of kp at once within grace_s. */
void containers_kill_all(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t grace_s);
/* Removes every instance of kp's containers (stopped first by the caller). */
void containers_remove_all(struct kubelet *k, struct kpod *kp);
/* After a start: the postStart hook (a failure kills the container) and
 * the container's probes. */
void containers_after_start(struct kubelet *k, struct kpod *kp, const json_t *pod,
			    const json_t *cspec, struct kctr *c);
/* Hands a running container to the prober (ready and started as its
 * probes will say: false until they succeed when it has them). */
void containers_probe(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
		      struct kctr *c);
/* Runs a lifecycle handler (borrowed) of c within timeout_ms; a failure
 * sends event reason fail_reason. Returns 0 or -1. */
int containers_run_hook(struct kubelet *k, struct kpod *kp, const json_t *pod, struct kctr *c,
			const json_t *handler, int64_t timeout_ms, const char *fail_reason);
/* Starts the prober (probes of running containers report into the records). */
int containers_prober_start(struct kubelet *k, struct mk_err **err);
/* "k8s_<name>_<pod>_<ns>_<uid>_<attempt>"; new string. */
char *containers_id(const struct kpod *kp, const char *name, int attempt);
/* The node's part of a container's OCI input: swap and memory limits, the
 * oom_score_adj floor. */
void containers_node_facts(const struct kubelet *k, struct ocispec_input *in);
/* c waits: reason and message (may be NULL) as its state.waiting. */
void kctr_set_waiting(struct kubelet *k, struct kctr *c, const char *reason, const char *msg);
/* The CRI log file of attempt of container name of pod. */
char *containers_log_path(struct kubelet *k, const json_t *pod, const char *name, int attempt);
/* An image's StopSignal as a number (SIGTERM by default). */
int containers_stop_signal(const json_t *image_config);
/* The text of the last lines of a CRI log; new string. */
char *log_tail_text(const char *text, size_t len, int max_lines, size_t max_bytes);
/* Root file systems: overlayfs at <bundle>/rootfs over layers (top first)
 * with <bundle>/upper and work; release unmounts and removes the bundle. */
int rootfs_prepare(const char *bundle, const char *const *layers, size_t n, struct mk_err **err);
void rootfs_release(const char *bundle);
/* The exit watcher: a sync of uid is queued when pid exits. */
int exits_watch_start(struct kubelet *k, struct mk_err **err);
void exits_watch_add(struct kubelet *k, pid_t pid, const char *uid);

/* ---- sandbox.c: the pod's network namespace, CNI and pause container ---- */

/* Makes the sandbox ready (created, or re-created when it died, which
 * restarts every container). 0 when ready; -1 when not (reason recorded
 * on kp, an event sent, *requeue_ms set for the retry). */
int sandbox_ensure(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t *requeue_ms);
/* A new sandbox's pause container is made on a thread while the worker
 * goes on to the containers, which join the pod's namespaces by their
 * pinned paths; this waits for it. 0 when the sandbox is ready (or was
 * already); -1 when the pause container failed: everything of the sandbox
 * is undone as by a failed sandbox_ensure. */
int sandbox_finish(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t *requeue_ms);
/* Stops the pause container, CNI DEL, removes the namespace. Idempotent. */
int sandbox_stop(struct kubelet *k, struct kpod *kp, struct mk_err **err);
/* The pod's hostname (spec.hostname, else its name; the node's with
 * hostNetwork); new string. */
char *kubelet_pod_hostname(const json_t *pod, const char *node_name);
/* Periodic: (re)reads the CNI configuration when its directory changed,
 * which sets the node's network readiness. */
void network_tick(void *arg);

/* ---- podfs.c: the pod's directories, cgroup and volumes ---- */

/* <root-dir>/pods/<uid>, and /var/log/pods/<ns>_<name>_<uid>: new strings. */
char *podfs_dir(struct kubelet *k, const char *uid);
char *podfs_log_dir(struct kubelet *k, const json_t *pod);
/* A ConfigMap or Secret (kind "ConfigMap"/"Secret") for volumes and env:
 * new reference, or NULL with MK_ENOTFOUND. arg is the kubelet. */
json_t *kubelet_lookup(void *arg, const char *kind, const char *ns, const char *name,
		       struct mk_err **err);
/* Fills vc for kp's volumes; pod_dir is borrowed by vc. */
struct volumes_ctx;
void podfs_volumes_ctx(struct kubelet *k, struct kpod *kp, struct volumes_ctx *vc, char *pod_dir);
/* Pod directory, cgroup, volumes (configMap/secret contents refreshed). */
int podfs_prepare(struct kubelet *k, struct kpod *kp, const json_t *pod, struct mk_err **err);
/* Removes volumes, cgroup and directories of a pod whose containers and
 * sandbox are gone. */
void podfs_cleanup(struct kubelet *k, struct kpod *kp);

/* ---- statusmgr.c: statuses to the API server ---- */

/* kp->status changed: push it (API pods and mirror pods). */
void statusmgr_changed(struct kubelet *k, struct kpod *kp);
/* kp was killed after removal or deletion: delete it from the API (grace 0)
 * when it is an API pod being deleted, and forget the record. */
void statusmgr_finished(struct kubelet *k, struct kpod *kp);

/* A mirror pod appeared in (present) or left the API. */
void statusmgr_mirror_seen(struct kubelet *k, const json_t *pod, bool present);
/* Starts the status workers. */
int statusmgr_start(struct kubelet *k, struct mk_err **err);
/* Periodic: queues a check of every static pod's mirror. */
void statusmgr_resync_mirrors(void *arg);

/* ---- node.c: the Node object and its Lease ---- */

/* Reads machine ID, boot ID, kernel, OS image, CPUs, memory. */
void node_facts_init(struct kubelet *k);
/* The IPv4 address behind the default route; new string or NULL. */
char *node_default_ip(void);
/* Checks --node-labels and --register-with-taints. */
int node_check_flags(const struct kconfig *c, struct mk_err **err);
/* The NodeStatus now (new reference); old (may be NULL) keeps transition times. */
json_t *node_status(struct kubelet *k, const json_t *old);
/* Starts the node-status thread: registration, then the status posted
 * when it changed (at once when the node turns Ready), else every
 * nodeStatusUpdateFrequency. */
int node_status_start(struct kubelet *k, struct mk_err **err);
/* Makes the node-status thread sync now (the network readiness changed). */
void node_status_kick(struct kubelet *k);
/* Periodic: renew (or create) the Lease. */
void node_lease_tick(void *arg);

/* ---- images.c: the kubelet's side of images ---- */

/* Makes the image of container c present as its pull policy says
 * (Always / IfNotPresent / Never, pull secrets, pull back-off), sending
 * upstream's events; *out the image (imagestore_image_free). On failure c
 * waits with InvalidImageName, ErrImageNeverPull, ErrImagePull or
 * ImagePullBackOff, and *requeue_ms tells when to try again. */
struct imagestore_image;
int images_ensure(struct kubelet *k, struct kpod *kp, const json_t *pod, const json_t *cspec,
		  struct kctr *c, struct imagestore_image **out, int64_t *requeue_ms,
		  struct mk_err **err);
/* Node.status.images (new reference) or NULL. */
json_t *node_images(struct kubelet *k);
/* Periodic: image garbage collection by disk use. */
void images_gc_tick(void *arg);

/* ---- recover.c: a restarted kubelet adopts what runs ---- */

/* Rebuilds the pod table from <root-dir>/pods and the runtime's
 * containers; adopted pods no source confirms are killed later. */
int recover_state(struct kubelet *k, struct mk_err **err);
/* Periodic: pods no source wants any more, orphaned containers. */
void housekeeping_tick(void *arg);
/* Periodic (syncFrequency): every pod synced again. */
void resync_tick(void *arg);
/* Periodic: container logs rotated at containerLogMaxSize. */
void logs_rotate_tick(void *arg);
/* Informer handlers of ConfigMaps and Secrets: pods using them resync. */
void kubelet_object_changed(json_t *obj, void *arg);
void kubelet_object_updated(json_t *old, json_t *obj, void *arg);

/* ---- server.c ---- */
int server_start(struct kubelet *k, struct mk_err **err);
/* A pod reached Running: observed for kubelet_pod_start_sli_duration_seconds. */
void server_observe_pod_start(double seconds);

/* ---- events ---- */

/* An Event about pod (borrowed) from the kubelet on this node; best effort,
 * a no-op in standalone mode. fieldpath names the container
 * ("spec.containers{nginx}") or is NULL. */
void kubelet_event(struct kubelet *k, const json_t *pod, const char *fieldpath, const char *type,
		   const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- misc ---- */

/* True while process pid exists. */
bool kubelet_pid_alive(pid_t pid);

/* Milliseconds on the monotonic clock / the wall clock. */
int64_t kubelet_now_ms(void);
int64_t kubelet_wall_ms(void);

#endif
