/* Authorization of secure-port requests: the request's attributes as
 * upstream's RequestInfo resolver reads them off the URL, the
 * --authorization-mode chain, and upstream's 403 Status.
 *
 * Modes served: AlwaysAllow, AlwaysDeny. The chain is asked in order; the
 * first mode with an opinion decides (both of these always have one). */
#ifndef MK_APISERVER_AUTHZ_H
#define MK_APISERVER_AUTHZ_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"
#include "apiserver/authn.h"

enum authz_mode { AUTHZ_ALWAYS_ALLOW = 1, AUTHZ_ALWAYS_DENY };

#define AUTHZ_MAX_MODES 4

struct authz {
	enum authz_mode modes[AUTHZ_MAX_MODES];
	size_t n;
};

/* Parses --authorization-mode ("AlwaysAllow,AlwaysDeny"). MK_EINVAL for an
 * unknown or (yet) unsupported mode, with the mode's name. */
int authz_parse(const char *csv, struct authz *out, struct mk_err **err);

/* What a request asks to do (strings new, authz_attrs_free). */
struct authz_attrs {
	bool resource_request;
	char *verb;        /* get list watch create update patch delete deletecollection;
			    * for non-resource requests: the lower-case method */
	char *api_group;   /* "" core */
	char *api_version;
	char *namespace;   /* "" cluster-scoped */
	char *resource;    /* "pods" */
	char *subresource; /* "" or "status", "log"... */
	char *name;        /* "" or the object's */
	char *path;        /* the URL path */
};

/* Reads the attributes off method, path and the watch query flag, as
 * upstream's RequestInfoFactory does. */
void authz_attrs_parse(const char *method, const char *path, bool watch_query,
		       struct authz_attrs *a);
void authz_attrs_free(struct authz_attrs *a);

/* True when the chain allows u to do a. */
bool authz_allowed(const struct authz *z, const struct authn_user *u,
		   const struct authz_attrs *a);

/* Upstream's 403 Status for u not being allowed a, e.g. `pods is forbidden:
 * User "system:anonymous" cannot list resource "pods" in API group "" in the
 * namespace "default"`. New reference. */
json_t *authz_forbidden_status(const struct authn_user *u, const struct authz_attrs *a);

#endif
