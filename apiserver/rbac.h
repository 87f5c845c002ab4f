/* The RBAC authorizer: rbac.authorization.k8s.io Roles, ClusterRoles,
 * RoleBindings and ClusterRoleBindings as upstream's RBAC authorizer reads
 * them (verbs, API groups, resources, "*" + "/subresource", resourceNames,
 * nonResourceURLs with a trailing "*", "*" wildcards; ServiceAccount
 * subjects matched by their user name), plus the rule arithmetic of its
 * escalation check (Covers) and of SelfSubjectRulesReview.
 *
 * The four kinds are held in memory as one immutable snapshot with the
 * bindings indexed by subject, so a request visits only the bindings of
 * its user and groups. Store watches on the four prefixes mark the
 * snapshot stale; the next request rebuilds it once. A write is seen by the
 * next request: the SQLite store delivers its events before the write
 * returns.
 *
 * Threads: every function is thread-safe. */
#ifndef MK_APISERVER_RBAC_H
#define MK_APISERVER_RBAC_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"

struct store;
struct authn_user;
struct authz_attrs;
struct rbac;

/* Watches st (borrowed until rbac_free). New, rbac_free(). */
struct rbac *rbac_new(struct store *st, struct mk_err **err);
void rbac_free(struct rbac *r);

/* True when a binding grants u what a asks. Otherwise false, and *reason
 * (new string or NULL) says what could not be read, as upstream's "RBAC:
 * clusterrole.rbac.authorization.k8s.io \"x\" not found". */
bool rbac_allows(struct rbac *r, const struct authn_user *u, const struct authz_attrs *a,
		 char **reason);

/* Every rule that applies to u in namespace ns ("" only the cluster-wide
 * ones) as an array of PolicyRule objects. *errors (new array of strings)
 * lists the bindings whose role is missing. New reference. */
json_t *rbac_rules_for(struct rbac *r, const struct authn_user *u, const char *ns, json_t **errors);

/* The rules of the stored Role ns/name (kind "Role") or ClusterRole name
 * (kind "ClusterRole"): new array, or NULL when it does not exist. */
json_t *rbac_role_rules(struct rbac *r, const char *kind, const char *ns, const char *name);

/* Upstream's Covers: true when the rules owner (array) allow everything
 * rule allows; otherwise false and *missing (new array, may be NULL) gets
 * the smallest rules it lacks. */
bool rbac_rules_cover(const json_t *owner, const json_t *rule, json_t **missing);

/* One rule against request attributes, as upstream's RuleAllows. */
bool rbac_rule_allows(const json_t *rule, const struct authz_attrs *a);

#endif
