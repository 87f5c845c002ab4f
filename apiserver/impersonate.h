/* Impersonation, as upstream's filter: the Impersonate-User,
 * Impersonate-Group, Impersonate-Uid and Impersonate-Extra-<key> headers
 * make a request act as another user once the caller is allowed the
 * `impersonate` verb on each (resources users, serviceaccounts — for
 * "system:serviceaccount:<ns>:<name>" — groups, uids, and userextras/<key>).
 * The new user is in system:authenticated (system:unauthenticated for
 * system:anonymous) unless the groups asked name one of them; a
 * ServiceAccount without groups asked gets its fixed ones. */
#ifndef MK_APISERVER_IMPERSONATE_H
#define MK_APISERVER_IMPERSONATE_H

#include <jansson.h>

#include "httpd.h"

struct authz;
struct authn_user;

/* 0 when hr asks no impersonation or it is allowed (then *user, new, is
 * the impersonated user; else *user is left as it is); -1 with the Status
 * to answer (new) in *status: 403 as upstream words it, 500 for groups,
 * extras or a uid asked without a user. */
int impersonate_apply(const struct authz *z, const struct httpd_req *hr, struct authn_user **user,
		      json_t **status);

#endif
