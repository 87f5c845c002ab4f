/* CNI plugin skeleton: environment and stdin parsing, version negotiation,
 * dispatch of the verbs, the error JSON on stdout with a non-zero exit, and
 * delegation to an IPAM plugin found in CNI_PATH (through lib/cni's
 * invocation). Spec codes, versions and results are lib/cni's. */
#ifndef CNI_SKEL_H
#define CNI_SKEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cni.h"
#include "err.h"

/* One invocation. Strings borrowed from the environment ("" when unset). */
struct cni_ctx {
	const char *command;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args; /* CNI_ARGS */
	const char *path; /* CNI_PATH */
	char **env;       /* owned copy of the process environment, what delegates get */
	char *stdin_data; /* owned, NUL-terminated */
	size_t stdin_len;
	json_t *conf;     /* parsed stdin (owned), NULL for VERSION */
	const char *version; /* conf's cniVersion ("0.1.0" when absent), borrowed from conf */

	/* Set by cni_fail(): the error printed when the verb returns -1. */
	int err_code;        /* 0: 999 */
	char *err_details;   /* owned, may be NULL */
};

/* Records a CNI error code and details (may be NULL) for the error the verb is
 * about to return, and sets *err with the message. Returns -1. */
int cni_fail(struct cni_ctx *ctx, struct mk_err **err, int code, const char *details,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

typedef int (*cni_verb_fn)(struct cni_ctx *ctx, struct mk_err **err);

struct cni_plugin {
	const char *name; /* "bridge": the about text */
	cni_verb_fn add, del, check, gc, status; /* gc, status may be NULL: success */
};

/* Runs one invocation from the process environment and stdin; returns the
 * exit status for main(). */
int cni_skel_main(const struct cni_plugin *p);

/* Prints a JSON value the way the reference plugins do: 4-space indent,
 * key order kept, no trailing newline. */
void cni_print_json(const json_t *v);

/* Runs the plugin `type` found in CNI_PATH with the plugin's own environment
 * where only CNI_COMMAND is set to command, feeding it ctx's stdin bytes; the
 * delegate's stderr is ours. For ADD *result gets its parsed output (new
 * reference); result may be NULL otherwise. On failure the delegate's error
 * (code, msg, details) is carried into ctx/err as-is. */
int cni_delegate(struct cni_ctx *ctx, const char *type, const char *command, json_t **result,
		 struct mk_err **err);

/* The same in two steps, so the caller can work while the delegate runs:
 * start spawns it and writes its stdin; finish collects the result (as
 * cni_delegate) and reaps it. finish must be called once after a successful
 * start. */
struct cni_job {
	struct cni_exec_job *job; /* NULL when not started (or finished) */
};
int cni_delegate_start(struct cni_ctx *ctx, const char *type, const char *command,
		       struct cni_job *job, struct mk_err **err);
int cni_delegate_finish(struct cni_ctx *ctx, struct cni_job *job, json_t **result,
			struct mk_err **err);

/* GC's list of attachments still in use: cni.dev/valid-attachments (else the
 * spec 1.1.0 text's cni.dev/attachments), an array of objects with a string
 * containerID and, when present, a string ifname. *valid is borrowed from
 * ctx->conf, or NULL when neither key is given (every attachment is stale).
 * A malformed list is refused (code 6, "invalid cni.dev/valid-attachments:
 * ..."): GC must never free what it cannot tell is stale. */
int cni_gc_valid_attachments(struct cni_ctx *ctx, const json_t **valid, struct mk_err **err);

/* CNI_ARGS: value of key (new string) or NULL; errors like the reference for
 * bad pairs and unknown keys (known: NULL-terminated list of accepted keys
 * besides IgnoreUnknown and the K8S_POD_* set when IgnoreUnknown is true). */
int cni_args_parse(struct cni_ctx *ctx, const char *const *known, json_t **out,
		   struct mk_err **err);

#endif
