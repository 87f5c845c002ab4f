/* The node's pods and containers as crictl shows them, read from the
 * kubelet's state on disk (<root-dir>/pods/<uid>/sandbox.json and
 * containers/<id>/record.json) and the runtime, so `nodectl ps`, `pods`,
 * `logs` and `inspect` work with the kubelet stopped. */
#ifndef MK_KUBELET_NODEVIEW_H
#define MK_KUBELET_NODEVIEW_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <jansson.h>

#include "err.h"

struct runtime;

/* Every container instance (all: also exited ones), newest first, as a
 * new array of objects {id, name, attempt, image, imageRef, imageID,
 * podUID, podName, podNamespace, sandboxID, createdAt, logPath, state
 * ("Running", "Exited", "Created", "Unknown"), exitCode, startedAt,
 * finishedAt, pid}. */
json_t *nodeview_containers(const char *root_dir, struct runtime *rt, bool all,
			    struct mk_err **err);

/* Every pod sandbox, newest first: {id, name, namespace, uid, attempt,
 * createdAt, state ("Ready", "NotReady"), podIP, hostNetwork}. */
json_t *nodeview_pods(const char *root_dir, struct runtime *rt, struct mk_err **err);

/* `crictl ps` / `crictl pods` tables of those arrays, printed to out. now
 * is the time ages are counted from. */
void nodeview_print_ps(FILE *out, const json_t *containers, time_t now);
void nodeview_print_pods(FILE *out, const json_t *pods, time_t now);

/* The container whose id is id or starts with it (unique), from an array
 * of nodeview_containers (borrowed), or NULL with MK_ENOTFOUND /
 * MK_EINVAL ("ambiguous"). */
const json_t *nodeview_find(const json_t *containers, const char *id, struct mk_err **err);

/* Writes a CRI log's text to out (stdout lines) and errout (stderr lines),
 * as `crictl logs` does; tail < 0 for all lines. */
int nodeview_print_log(const char *path, long tail, FILE *out, FILE *errout, struct mk_err **err);

/* docker's HumanDuration ago: "Less than a second ago", "About a minute
 * ago", "3 hours ago". Writes into buf (64 bytes). */
const char *nodeview_ago(time_t then, time_t now, char *buf);

#endif
