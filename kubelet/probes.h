/* The kubelet's prober and lifecycle hook runner.
 *
 * The prober runs the liveness, readiness and startup probes of running
 * containers as upstream's kubelet does: exec (through the kubelet's exec
 * callback, $(VAR) in the command expanded from the container's env),
 * httpGet (User-Agent kube-probe/<version>, 200-399 passes, redirects on
 * the same host followed, one elsewhere passes with a warning, at most
 * 10 KiB of body read, certificates not checked), tcpSocket, and grpc
 * (grpc.health.v1.Health/Check over HTTP/2, SERVING passes) handlers;
 * timeoutSeconds bounds each run; initialDelaySeconds,
 * periodSeconds, timeoutSeconds, successThreshold and failureThreshold
 * (0/10/1/1/3 when absent, as the API server defaults them); the startup
 * probe gates the other two. It tells the kubelet through callbacks; the
 * kubelet turns results into container restarts and Ready conditions, and
 * events into `Unhealthy` / `ProbeWarning` events.
 *
 * What a container is after prober_add: not started, not ready, live. The
 * result callback then reports every change from there, per probe type:
 *   - STARTUP SUCCESS once the startup probe passed, or at once when the
 *     container has none (or its pod is being deleted); STARTUP FAILURE
 *     after failureThreshold failures in a row ("Startup probe failed: ..."),
 *     once: the container is to be restarted and its probes wait for the
 *     next prober_add of a new instance.
 *   - READINESS SUCCESS / FAILURE whenever readiness flips (after
 *     successThreshold / failureThreshold results in a row); SUCCESS right
 *     after startup when the container has no readiness probe.
 *   - LIVENESS FAILURE after failureThreshold failures in a row, once per
 *     instance ("Liveness probe failed: ..."): restart it.
 * Liveness and readiness are not probed before startup succeeded.
 *
 * Messages are upstream's words: "Liveness probe failed: HTTP probe failed
 * with statuscode: 500", "Readiness probe failed: Get
 * \"http://10.244.0.5:8080/healthz\": dial tcp 10.244.0.5:8080: connect:
 * connection refused", "Liveness probe failed: dial tcp 10.244.0.5:8080:
 * connect: connection refused", "Liveness probe failed: <exec output>",
 * "Liveness probe failed: command \"sh -c sleep 5\" timed out", "Readiness
 * probe failed: service unhealthy (responded with \"NOT_SERVING\")".
 *
 * Threads: one scheduler thread keeps a timer heap of due probes and hands
 * them to a small pool of workers (4 by default); nothing runs per probe.
 * Every function here is thread-safe. Callbacks run on worker threads,
 * never inside prober_add / prober_remove, and without the prober's lock.
 * No callback about a container instance comes after prober_remove (or
 * prober_remove_pod) of it, or prober_add of its replacement, returned,
 * nor after prober_free returned: those wait for a callback about it that
 * is running on another thread. So call them without holding a lock that
 * the callbacks take. Callbacks may call prober_add / prober_remove /
 * prober_remove_pod (not prober_free); from there these do not wait, and
 * the rest of the current run's reports about a container removed so are
 * dropped. */
#ifndef MK_KUBELET_PROBES_H
#define MK_KUBELET_PROBES_H

#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "err.h"

enum probe_type {
	PROBE_LIVENESS,
	PROBE_READINESS,
	PROBE_STARTUP,
};

enum probe_result {
	PROBE_SUCCESS,
	PROBE_FAILURE,
};

/* Runs argv (NULL-terminated, borrowed) in the container container_id and
 * waits at most timeout_ms (0: no limit). Returns 0 with *exit_code and
 * *output (the combined stdout and stderr, a new string or NULL; the
 * caller frees it), or -1 with *err: MK_ETIMEOUT when the command did not
 * finish in time, anything else when it could not be run. Called from
 * worker threads, several at once. */
typedef int (*probes_exec_fn)(void *arg, const char *container_id, char *const *argv,
			      int64_t timeout_ms, int *exit_code, char **output,
			      struct mk_err **err);

/* A probe's result changed (see the top of this file). message is NULL
 * for SUCCESS, upstream's words for FAILURE; borrowed for the call. */
typedef void (*probes_result_fn)(void *arg, const char *pod_uid, const char *container,
				 enum probe_type type, enum probe_result r, const char *message);

/* One probe run that upstream records as a Warning event: reason
 * "Unhealthy" for every failed run ("Readiness probe failed: ...") and for
 * runs that could not be made ("Liveness probe errored and resulted in
 * unknown state: ..."), "ProbeWarning" for a redirect to another host
 * ("Readiness probe warning: Probe terminated redirects, Response body:
 * ..."). Strings borrowed for the call. */
typedef void (*probes_event_fn)(void *arg, const char *pod_uid, const char *container,
				enum probe_type type, const char *reason, const char *message);

struct prober_callbacks {
	probes_exec_fn exec;	 /* required when a probe uses exec */
	probes_result_fn result; /* required */
	probes_event_fn event;	 /* optional */
	void *arg;		 /* passed to each callback */
	int workers;		 /* worker threads; 0 means 4 */
};

/* Event reasons and hook error words, as upstream spells them. A failed
 * postStart hook gets a Warning event FailedPostStartHook with the
 * handler's message, the container is killed, and its waiting reason is
 * PostStartHookError with that message; a failed preStop hook gets a
 * Warning event FailedPreStopHook. */
#define PROBES_REASON_UNHEALTHY	       "Unhealthy"
#define PROBES_REASON_PROBE_WARNING    "ProbeWarning"
#define PROBES_REASON_FAILED_POSTSTART "FailedPostStartHook"
#define PROBES_REASON_FAILED_PRESTOP   "FailedPreStopHook"
#define PROBES_ERR_POSTSTART	       "PostStartHookError"

/* Upstream's name of a probe type: "Liveness", "Readiness", "Startup".
 * Static string. */
const char *probe_type_name(enum probe_type t);

/* A prober with its threads started. cb is copied. NULL with *err when a
 * thread cannot be started. Free with prober_free. */
struct prober *prober_new(const struct prober_callbacks *cb, struct mk_err **err);

/* Stops and joins every thread (a probe in flight is cut short where it
 * can be: HTTP, gRPC and TCP at once, exec when the callback returns) and
 * frees the prober. Accepts NULL. Not from a callback. */
void prober_free(struct prober *p);

/* Begins probing the running container `container` of pod (borrowed: what
 * is needed is copied), an instance with runtime id container_id, started
 * at started_at (wall clock, as in status.containerStatuses), reachable at
 * pod_ip (borrowed; the default host of httpGet/tcpSocket/grpc). An
 * earlier instance of the same pod UID and container name is replaced:
 * its probes stop and the new one starts from "not started, not ready,
 * live". The first run of a probe comes initialDelaySeconds after
 * started_at, at once if that has passed. Probing goes on until
 * prober_remove (call it when the instance exited) or a replacement.
 * Returns 0, or -1 with *err and nothing changed: MK_EINVAL for a pod
 * without metadata.uid, or a probe that is not an object with exactly one
 * handler (exec with a list of strings, httpGet, tcpSocket, grpc with a
 * port), or has a timing value that is not an integer or below its
 * minimum (0 or absent means the default), or a successThreshold other
 * than 1 on a liveness or startup probe; MK_ENOTFOUND when the pod has no
 * such container (spec.containers or spec.initContainers). */
int prober_add(struct prober *p, const json_t *pod, const char *container, const char *container_id,
	       const char *pod_ip, time_t started_at, struct mk_err **err);

/* Stops probing one container / every container of a pod. Waits for a
 * callback about them that is running on another thread to return (see
 * the top of this file), never for a probe itself: a probe in flight is
 * cut short or its result dropped. Unknown names are ignored. */
void prober_remove(struct prober *p, const char *pod_uid, const char *container);
void prober_remove_pod(struct prober *p, const char *pod_uid);

/* Runs one lifecycle hook handler (a LifecycleHandler object: exec,
 * httpGet or sleep) of container `container` of pod, an instance with
 * runtime id container_id, on the calling thread, and waits at most
 * timeout_ms for it (0: no limit). The caller does the sequencing:
 * postStart after the container started (kill it on failure), preStop
 * before the stop signal within the grace period.
 *   exec: argv as given (no $(VAR) expansion, as upstream), through exec;
 *     fails when the command exits non-zero or cannot be run.
 *   httpGet: host defaults to pod_ip, port by number or by the container's
 *     port name, scheme HTTP or HTTPS (certificates not verified),
 *     httpHeaders, User-Agent kube-lifecycle/<version>; redirects are
 *     followed; as upstream, only a failed request fails the hook, not the
 *     status code.
 *   sleep: waits seconds (fails when timeout_ms is shorter).
 * Returns 0, or -1 with *message (new string, free() it) in upstream's
 * words, e.g. "Exec lifecycle hook ([sh -c exit 3]) for Container \"app\"
 * in Pod \"web_default(<uid>)\" failed - error: command 'sh -c exit 3'
 * exited with 3: <output>, message: \"<output>\"", and *err: MK_EINVAL for
 * a handler that is not one of the three ("Cannot run handler: invalid
 * handler: ..."), MK_ETIMEOUT when timeout_ms ran out, MK_EIO otherwise.
 * message may be NULL when the caller needs only *err. */
int probes_run_handler(const json_t *handler, const json_t *pod, const char *container,
		       const char *container_id, const char *pod_ip, int64_t timeout_ms,
		       probes_exec_fn exec, void *exec_arg, char **message, struct mk_err **err);

/* Grace period in seconds for killing container `container` of pod after a
 * failed probe of type t, as upstream picks it: the pod's
 * metadata.deletionGracePeriodSeconds when set; else, when
 * spec.terminationGracePeriodSeconds is set, the failed liveness or
 * startup probe's own terminationGracePeriodSeconds if it has one, or
 * that; else 2. (Upstream's Killing event then reads "Container <name>
 * failed liveness probe, will be restarted", or "startup probe".) */
int64_t probes_kill_grace_seconds(const json_t *pod, const char *container, enum probe_type t);

#endif
