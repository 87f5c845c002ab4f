/* Network namespaces pinned by a bind mount on a file, as `ip netns add`
 * does under /var/run/netns, but at any path: the kubelet pins each pod's
 * namespace under its root directory. */
#ifndef MK_NETNS_H
#define MK_NETNS_H

#include "err.h"

/* Creates a new network namespace and pins it at path (a file made here;
 * its directory must exist). The namespace's loopback is brought up. The
 * calling thread's own namespace is unchanged. MK_EEXISTS when path exists. */
int netns_create(const char *path, struct mk_err **err);

/* Unpins and removes path (the namespace goes when nothing else holds it).
 * A path that does not exist is fine. */
int netns_delete(const char *path, struct mk_err **err);

/* True if path is a pinned network namespace. */
int netns_is_pinned(const char *path);

#endif
