/* Static pods: manifest files in --pod-manifest-path (a directory, or one
 * file), watched with inotify, each turned into the pod the kubelet runs.
 *
 * As upstream's file source: one pod per file, YAML or JSON; files whose
 * name starts with a dot are ignored; the pod's name gets "-<node>" appended,
 * its namespace defaults to "default", spec.nodeName is the node, its UID is
 * a hash of the manifest and the node (stable across restarts, so a
 * restarted kubelet finds its containers), and the annotations
 * kubernetes.io/config.hash, config.seen and config.source=file are set.
 * A file that cannot be read or is not a valid pod is logged with its name
 * and the reason and counts as absent; it never stops the others. */
#ifndef MK_KUBELET_STATICPODS_H
#define MK_KUBELET_STATICPODS_H

#include <jansson.h>

#include "err.h"

/* The pod of one manifest's bytes as the kubelet runs it (new reference),
 * or NULL with MK_EINVAL and "invalid pod: <why>". */
json_t *staticpod_parse(const char *text, size_t len, const char *node_name, struct mk_err **err);

/* Reads and parses one file (errors name the file's problem, not the path). */
json_t *staticpod_load(const char *path, const char *node_name, struct mk_err **err);

/* Told about each change: the file's path and its new pod (borrowed for the
 * call), or NULL when the file went away or stopped being a valid pod.
 * Called on the watcher's thread, one call at a time. */
typedef void (*staticpods_fn)(const char *path, json_t *pod, void *arg);

struct staticpods;

/* A watcher of path (copied) for node_name. New, staticpods_free(). */
struct staticpods *staticpods_new(const char *path, const char *node_name, staticpods_fn fn,
				  void *arg);

/* Reads every manifest once (calling fn for each valid one) and then
 * follows changes on a thread of its own; when path does not exist yet it
 * is looked for every rescan_ms, and every rescan_ms everything is read
 * again as a backstop (only changes are reported). */
int staticpods_start(struct staticpods *sp, int64_t rescan_ms, struct mk_err **err);

/* Stops the thread; accepts NULL. */
void staticpods_free(struct staticpods *sp);

#endif
