/* The Node authorizer, as upstream's: a kubelet (user system:node:<name> in
 * group system:nodes) reads only the Secrets, ConfigMaps and
 * PersistentVolumeClaims its pods use, asks tokens only for their
 * ServiceAccounts, touches only its own Lease in kube-node-lease and reads
 * only its own Node by name; everything else is judged against the static
 * rules of upstream's system:node role. It never denies: what it does not
 * allow is left to the next mode (upstream's NoOpinion), with a reason.
 *
 * Relationships are read from the store on demand (the pods of the
 * object's namespace bound to the node); only node users pay for it.
 *
 * Threads: thread-safe; the handle is read-only after nodeauthz_new. */
#ifndef MK_APISERVER_NODEAUTHZ_H
#define MK_APISERVER_NODEAUTHZ_H

#include <stdbool.h>

#include "err.h"

struct store;
struct authn_user;
struct authz_attrs;
struct nodeauthz;

enum nodeauthz_decision { NODEAUTHZ_NO_OPINION, NODEAUTHZ_ALLOW, NODEAUTHZ_DENY };

/* Reads st (borrowed until nodeauthz_free). New, nodeauthz_free(). */
struct nodeauthz *nodeauthz_new(struct store *st, struct mk_err **err);
void nodeauthz_free(struct nodeauthz *n);

/* The node name of u ("" for a system:node: user without one) when u is a
 * node (borrowed from u), else NULL. */
const char *nodeauthz_node_name(const struct authn_user *u);

/* Decides a for u. *reason (new string or NULL) says why not. */
enum nodeauthz_decision nodeauthz_decide(struct nodeauthz *n, const struct authn_user *u,
					 const struct authz_attrs *a, char **reason);

#endif
