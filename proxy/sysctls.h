/* The kernel settings kube-proxy changes, and putting them back: each change
 * is recorded with the value it replaced, in a file of the network
 * namespace's own (a tmpfs under /run, which, like the settings, does not
 * outlive a reboot), so that `kube-proxy --cleanup`, run by another process
 * later, restores what was there before, and only what kube-proxy changed. */
#ifndef PROXY_SYSCTLS_H
#define PROXY_SYSCTLS_H

#include <stddef.h>

#include "err.h"

/* Where the records live: one file per network namespace inside. */
#define SYSCTLS_DIR "/run/kube-proxy"

/* Sets /proc/sys/<name> ("net/ipv4/conf/all/route_localnet") to value in the
 * calling thread's network namespace. When that changes it, the value found
 * is recorded first (a value found already set leaves no record; a record
 * of an earlier run whose value is still in place is kept, so the original
 * is never lost over restarts). */
int sysctls_set(const char *name, const char *value, struct mk_err **err);

/* Puts back every recorded setting that still holds the value kube-proxy
 * set (one changed since by someone else is left as it is, and logged), then
 * removes the record. *restored: settings put back. No record: nothing to
 * do. */
int sysctls_restore(size_t *restored, struct mk_err **err);

/* The record's path for the calling thread's network namespace: new
 * string, free(); NULL with err when the namespace cannot be told. Exposed
 * for tests. */
char *sysctls_record_path(struct mk_err **err);

#endif
