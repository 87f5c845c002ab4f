/* The kubelet's streaming endpoints, as upstream's kubelet serves them on
 * its port (10250):
 *
 *   GET /containerLogs/<ns>/<pod>/<container>   the container's CRI log as
 *       text: follow, tailLines, sinceSeconds, sinceTime, timestamps,
 *       limitBytes, previous
 *   /exec/<ns>/<pod>[/<uid>]/<container>?command=...&input&output&error&tty
 *   /attach/<ns>/<pod>[/<uid>]/<container>?input&output&error&tty
 *   /portForward/<ns>/<pod>[/<uid>][?port=...]
 *
 * exec, attach and port-forward upgrade the connection to WebSocket or
 * SPDY/3.1 (lib/kstream). Flags are true as "1" (what the API server sends)
 * or "true"; kubectl's names stdin, stdout and stderr are taken too.
 *
 * The module knows nothing of the kubelet's pod table: it asks through
 * struct streaming_ops. Exec runs through the OCI runtime
 * (runtime_exec_prepare/spawn); attach connects to the container monitor's
 * attach socket (runtime_attach_socket, kubelet/monitor); port-forward connects to
 * 127.0.0.1 (then ::1) inside the pod's network namespace.
 *
 * Threads: handlers run on the HTTP server's threads and return at once;
 * every upgraded connection is then relayed by one thread of this module,
 * with an event loop over all sessions (no thread per stream). Log follows
 * are parked HTTP streams, woken by inotify on the log directory or, at the
 * latest, every second. Back-pressure: a session stops reading its client
 * while the container side cannot take more (256 KiB buffered), and stops
 * reading the container while the client has 256 KiB unsent. A client that
 * goes away ends the command (SIGKILL) or closes the forwarded
 * connections. */
#ifndef MK_KUBELET_STREAMING_H
#define MK_KUBELET_STREAMING_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"
#include "httpd.h"
#include "kubelet/logreader.h"

struct runtime;

struct streaming_ops {
	/* The pod ns/name as this node runs it: *pod the object with its
	 * status (new reference), *netns its sandbox's network namespace
	 * path (new, NULL without one). MK_ENOTFOUND when the node has no
	 * such pod. */
	int (*pod)(void *arg, const char *ns, const char *name, json_t **pod, char **netns,
		   struct mk_err **err);
	/* The CRI log file of container instance id (the runtime id, without
	 * "runc://") of that pod: a new path, or NULL when unknown. */
	char *(*log_path)(void *arg, const char *ns, const char *name, const char *id);
	/* Whether container instance id is still running (a log follow ends
	 * once it is not). */
	bool (*running)(void *arg, const char *id);
	void *arg;
};

struct streaming_config {
	const struct runtime *rt; /* borrowed; outlives the module */
	struct streaming_ops ops;
	int stream_creation_timeout_ms; /* 0: 30 s, as upstream */
};

struct streaming;

/* Starts the relay thread. cfg is copied. New, streaming_free(). */
struct streaming *streaming_new(const struct streaming_config *cfg, struct mk_err **err);

/* Ends every session (commands are killed, connections closed), stops the
 * thread, frees s. Log follows still parked end at their next wake-up;
 * free the HTTP server first. Accepts NULL. */
void streaming_free(struct streaming *s);

/* The handlers, for httpd_route(h, method, "/containerLogs/", fn, s):
 * GET for logs, GET and POST for the others (WebSocket upgrades are GETs,
 * SPDY ones POSTs). */
void streaming_handle_logs(struct httpd_req *rq, void *s);
void streaming_handle_exec(struct httpd_req *rq, void *s);
void streaming_handle_attach(struct httpd_req *rq, void *s);
void streaming_handle_portforward(struct httpd_req *rq, void *s);

/* The same with the names given rather than taken from the kubelet's path
 * (uid may be NULL), for servers whose paths differ. */
void streaming_serve_logs(struct streaming *s, struct httpd_req *rq, const char *ns,
			  const char *pod, const char *container);
void streaming_serve_remotecommand(struct streaming *s, struct httpd_req *rq, const char *ns,
				   const char *pod, const char *uid, const char *container,
				   bool attach);
void streaming_serve_portforward(struct streaming *s, struct httpd_req *rq, const char *ns,
				 const char *pod, const char *uid);

/* Sessions being relayed now (for tests and metrics). */
unsigned streaming_sessions(struct streaming *s);

/* ---- pure parts, exposed for tests ---- */

/* Parses the containerLogs query (follow, timestamps, previous, tailLines,
 * limitBytes, sinceSeconds, sinceTime, given as httpd_req_query returns
 * them through get) into *o. now_ns is the current wall clock. MK_EINVAL
 * with upstream's message for a bad value. */
int streaming_log_opts_parse(const char *(*get)(void *arg, const char *key), void *arg,
			     long long now_ns, struct logreader_opts *o, bool *previous,
			     struct mk_err **err);

/* The container instance whose log to read, from the pod's status, as
 * upstream's kubelet decides (validateContainerLogStatus): the running
 * instance, else the last terminated one; with previous, the one before.
 * Returns the runtime id (new, "runc://" removed). MK_ENOTFOUND for a
 * container the pod does not have ("container \"x\" not found in pod
 * \"p\""); MK_EINVAL with upstream's messages otherwise ("previous
 * terminated container \"c\" in pod \"p\" not found", "container \"c\" in
 * pod \"p\" is waiting to start: ContainerCreating", "... is terminated"). */
char *streaming_log_container(const json_t *pod, const char *container, bool previous,
			      struct mk_err **err);

#endif
