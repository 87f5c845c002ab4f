/* Upstream's bootstrap RBAC policy (the roles and bindings a kube-apiserver
 * creates at start: cluster-admin, admin/edit/view and their aggregation
 * roles, system:basic-user, system:discovery, system:public-info-viewer,
 * system:node, system:node-proxier, system:kube-scheduler,
 * system:kube-controller-manager...), and its reconciliation against what
 * is stored, as upstream's rbac/bootstrap-roles hook does it. */
#ifndef MK_APISERVER_RBACPOLICY_H
#define MK_APISERVER_RBACPOLICY_H

#include <jansson.h>

#include "err.h"

struct store;

/* The bootstrap ClusterRoles, ClusterRoleBindings, Roles and RoleBindings as
 * one array of objects with kind and apiVersion set. New reference. */
json_t *rbacpolicy_objects(void);

/* The rules of the bootstrap ClusterRole name (new array), or NULL. */
json_t *rbacpolicy_cluster_role_rules(const char *name);

/* Creates what is missing; to a stored object whose
 * rbac.authorization.kubernetes.io/autoupdate annotation is not "false" it
 * adds the rules, subjects, labels and annotations of the policy it lacks
 * (a role's aggregated rules are the controller-manager's and are kept).
 * Idempotent. */
int rbacpolicy_reconcile(struct store *st, struct mk_err **err);

#endif
