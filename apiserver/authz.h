/* Authorization of secure-port requests: the request's attributes as
 * upstream's RequestInfo resolver reads them off the URL, the
 * --authorization-mode chain, and upstream's 403 Status.
 *
 * Modes served: AlwaysAllow, AlwaysDeny, RBAC (apiserver/rbac.h) and Node
 * (apiserver/nodeauthz.h). As upstream, members of system:masters are
 * allowed before any mode is asked; then the chain is asked in order and
 * the first mode with an opinion decides; when none has one the request is
 * refused with the reasons the modes gave. */
#ifndef MK_APISERVER_AUTHZ_H
#define MK_APISERVER_AUTHZ_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"
#include "apiserver/authn.h"

enum authz_mode { AUTHZ_ALWAYS_ALLOW = 1, AUTHZ_ALWAYS_DENY, AUTHZ_RBAC, AUTHZ_NODE };

#define AUTHZ_MAX_MODES 4

struct store;
struct rbac;
struct nodeauthz;

struct authz {
	enum authz_mode modes[AUTHZ_MAX_MODES];
	size_t n;
	struct rbac *rbac;     /* owned, set by authz_start when RBAC is a mode */
	struct nodeauthz *node; /* owned, set by authz_start when Node is a mode */
};

/* Parses --authorization-mode ("AlwaysAllow,AlwaysDeny"). MK_EINVAL for an
 * unknown or (yet) unsupported mode, with the mode's name. */
int authz_parse(const char *csv, struct authz *out, struct mk_err **err);

/* Starts what the modes read from st (borrowed until authz_stop): the RBAC
 * snapshot, the Node authorizer's view of pods. */
int authz_start(struct authz *z, struct store *st, struct mk_err **err);
void authz_stop(struct authz *z);

/* True if mode is in the chain. */
bool authz_has_mode(const struct authz *z, enum authz_mode mode);

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

/* True when the chain allows u to do a. Otherwise false and, when reason is
 * not NULL, *reason (new string or NULL) joins what the modes said. */
bool authz_allowed(const struct authz *z, const struct authn_user *u,
		   const struct authz_attrs *a, char **reason);

/* What the chain's rule resolvers (AlwaysAllow: everything, RBAC: the
 * bindings, Node: system:node's rules for a node) say u may do in ns, as
 * SelfSubjectRulesReview's status: {"resourceRules": [...],
 * "nonResourceRules": [...], "incomplete": bool[, "evaluationError"]}.
 * New reference. */
json_t *authz_rules_review(const struct authz *z, const struct authn_user *u, const char *ns);

struct api_resource;

/* RBAC's escalation prevention for obj, a Role or ClusterRole (r) being
 * written, or a RoleBinding or ClusterRoleBinding: NULL when u is in
 * system:masters, is allowed the `escalate` (roles) or `bind` (bindings,
 * on the role they refer to) verb, or already holds every rule granted;
 * otherwise the Status to answer (new): 403 `user "x" (groups=[...]) is
 * attempting to grant RBAC permissions not currently held:` and the rules
 * lacking, or 400 when a binding's role does not exist. */
json_t *authz_escalation_check(const struct authz *z, const struct authn_user *u,
			       const struct api_resource *r, const json_t *obj);

/* Upstream's 403 Status for u not being allowed a, e.g. `pods is forbidden:
 * User "system:anonymous" cannot list resource "pods" in API group "" in the
 * namespace "default"`, then ": <reason>" when reason is not NULL or "".
 * New reference. */
json_t *authz_forbidden_status(const struct authn_user *u, const struct authz_attrs *a,
			       const char *reason);

/* The words of that message after `User "x" cannot `: `list resource "pods"
 * in API group "" in the namespace "y"` or `get path "/x"`. New string. */
char *authz_describe(const struct authz_attrs *a);

#endif
