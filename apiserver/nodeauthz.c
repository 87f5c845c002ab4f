#include "apiserver/nodeauthz.h"

#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"
#include "apiserver/authn.h"
#include "apiserver/authz.h"
#include "apiserver/objects.h"
#include "apiserver/rbac.h"
#include "apiserver/rbacpolicy.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

#define NODE_PREFIX "system:node:"

struct nodeauthz {
	struct store *st;
	json_t *rules; /* upstream's system:node rules, read-only */
};

struct nodeauthz *nodeauthz_new(struct store *st, struct mk_err **err)
{
	(void)err;
	struct nodeauthz *n = xcalloc(1, sizeof(*n));
	n->st = st;
	n->rules = rbacpolicy_cluster_role_rules("system:node");
	return n;
}

void nodeauthz_free(struct nodeauthz *n)
{
	if (!n)
		return;
	json_decref(n->rules);
	free(n);
}

const char *nodeauthz_node_name(const struct authn_user *u)
{
	if (!u || strncmp(u->name, NODE_PREFIX, strlen(NODE_PREFIX)))
		return NULL;
	for (char **g = u->groups; g && *g; g++)
		if (!strcmp(*g, "system:nodes"))
			return u->name + strlen(NODE_PREFIX);
	return NULL;
}

enum ref_kind { REF_SECRET, REF_CONFIGMAP, REF_PVC, REF_SA };

static bool str_is(const json_t *v, const char *s)
{
	const char *x = json_string_value(v);
	return x && !strcmp(x, s);
}

static bool container_refs(const json_t *containers, enum ref_kind k, const char *name)
{
	const char *ref = k == REF_SECRET ? "secretKeyRef" : "configMapKeyRef";
	const char *from = k == REF_SECRET ? "secretRef" : "configMapRef";
	size_t i, j;
	json_t *c, *e;
	json_array_foreach(containers, i, c)
	{
		json_array_foreach(json_object_get(c, "env"), j, e)
		{
			json_t *vf = json_object_get(e, "valueFrom");
			if (str_is(json_object_get(json_object_get(vf, ref), "name"), name))
				return true;
		}
		json_array_foreach(json_object_get(c, "envFrom"), j, e)
		{
			if (str_is(json_object_get(json_object_get(e, from), "name"), name))
				return true;
		}
	}
	return false;
}

/* True when pod uses the object of kind k named name. */
static bool pod_refs(const json_t *pod, enum ref_kind k, const char *name)
{
	const json_t *spec = json_object_get(pod, "spec");
	if (k == REF_SA) {
		const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
		return str_is(json_object_get(spec, "serviceAccountName"), name) ||
		       ((!sa || !*sa) && !strcmp(name, "default"));
	}
	size_t i, j;
	json_t *v, *src;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		switch (k) {
		case REF_SECRET:
			if (str_is(json_path_get(v, "secret.secretName"), name))
				return true;
			break;
		case REF_CONFIGMAP:
			if (str_is(json_path_get(v, "configMap.name"), name))
				return true;
			break;
		case REF_PVC:
			if (str_is(json_path_get(v, "persistentVolumeClaim.claimName"), name))
				return true;
			break;
		case REF_SA:
			break;
		}
		json_array_foreach(json_path_get(v, "projected.sources"), j, src)
		{
			if ((k == REF_SECRET && str_is(json_path_get(src, "secret.name"), name)) ||
			    (k == REF_CONFIGMAP &&
			     str_is(json_path_get(src, "configMap.name"), name)))
				return true;
		}
	}
	if (k == REF_PVC)
		return false;
	if (k == REF_SECRET) {
		json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, v)
		{
			if (str_is(json_object_get(v, "name"), name))
				return true;
		}
	}
	return container_refs(json_object_get(spec, "containers"), k, name) ||
	       container_refs(json_object_get(spec, "initContainers"), k, name) ||
	       container_refs(json_object_get(spec, "ephemeralContainers"), k, name);
}

/* True when a pod in ns bound to node uses the object. */
static bool related(struct nodeauthz *n, const char *node, enum ref_kind k, const char *ns,
		    const char *name)
{
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	cleanup_free char *prefix = api_prefix(pods, ns);
	struct store_list l = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_list(n->st, prefix, NULL, 0, 0, &l, &err) < 0) {
		log_warn("Node authorizer: listing pods in %s: %s", ns, mk_err_msg(err));
		return false;
	}
	bool found = false;
	for (size_t i = 0; i < l.n && !found; i++) {
		cleanup_json json_t *pod = json_loads(l.items[i].value, 0, NULL);
		found = pod && str_is(json_path_get(pod, "spec.nodeName"), node) &&
			pod_refs(pod, k, name);
	}
	store_list_free(&l);
	return found;
}

static enum nodeauthz_decision no(char **reason, char *why)
{
	*reason = why;
	return NODEAUTHZ_NO_OPINION;
}

static enum nodeauthz_decision read_namespaced(struct nodeauthz *n, const char *node,
					       enum ref_kind k, const struct authz_attrs *a,
					       char **reason)
{
	if (strcmp(a->verb, "get") && strcmp(a->verb, "list") && strcmp(a->verb, "watch"))
		return no(reason, xstrdup("can only read resources of this type"));
	if (*a->subresource)
		return no(reason, xstrdup("cannot read subresource"));
	if (!*a->namespace)
		return no(reason, xstrdup("can only read namespaced object of this type"));
	if (!*a->name)
		return no(reason, xstrdup("No Object name found"));
	if (!related(n, node, k, a->namespace, a->name))
		return no(reason, xasprintf("no relationship found between node '%s' and this "
					    "object",
					    node));
	return NODEAUTHZ_ALLOW;
}

enum nodeauthz_decision nodeauthz_decide(struct nodeauthz *n, const struct authn_user *u,
					 const struct authz_attrs *a, char **reason)
{
	*reason = NULL;
	const char *node = nodeauthz_node_name(u);
	if (!node)
		return NODEAUTHZ_NO_OPINION;
	if (!*node)
		return no(reason, xasprintf("unknown node for user \"%s\"", u->name));
	if (a->resource_request) {
		bool core = !*a->api_group;
		if (core && !strcmp(a->resource, "secrets"))
			return read_namespaced(n, node, REF_SECRET, a, reason);
		if (core && !strcmp(a->resource, "configmaps"))
			return read_namespaced(n, node, REF_CONFIGMAP, a, reason);
		if (core && !strcmp(a->resource, "persistentvolumeclaims")) {
			if (strcmp(a->verb, "get") &&
			    !(!strcmp(a->subresource, "status") &&
			      (!strcmp(a->verb, "update") || !strcmp(a->verb, "patch"))))
				return no(reason, xstrdup("can only get individual resources of "
							  "this type"));
			if (!*a->name)
				return no(reason, xstrdup("No Object name found"));
			if (!related(n, node, REF_PVC, a->namespace, a->name))
				return no(reason,
					  xasprintf("no relationship found between node '%s' and "
						    "this object",
						    node));
			return NODEAUTHZ_ALLOW;
		}
		if (core && !strcmp(a->resource, "serviceaccounts")) {
			if (strcmp(a->verb, "create"))
				return no(reason, xstrdup("can only create tokens for individual "
							  "service accounts"));
			if (strcmp(a->subresource, "token"))
				return no(reason, xstrdup("can only create token subresource of "
							  "serviceaccount"));
			if (!related(n, node, REF_SA, a->namespace, a->name))
				return no(reason,
					  xasprintf("no relationship found between node '%s' and "
						    "this object",
						    node));
			return NODEAUTHZ_ALLOW;
		}
		if (!strcmp(a->api_group, "coordination.k8s.io") &&
		    !strcmp(a->resource, "leases")) {
			static const char *const verbs[] = {"get", "create", "update", "patch",
							    "delete"};
			bool ok = false;
			for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
				ok = ok || !strcmp(a->verb, verbs[i]);
			if (!ok)
				return no(reason, xstrdup("can only get, create, update, patch, or "
							  "delete a node lease"));
			if (strcmp(a->namespace, "kube-node-lease"))
				return no(reason, xstrdup("can only access leases in the "
							  "\"kube-node-lease\" system namespace"));
			/* on create the name is the body's: NodeRestriction checks it */
			if (strcmp(a->verb, "create") && strcmp(a->name, node))
				return no(reason,
					  xstrdup("can only access node lease with the same "
						  "name as the requesting node"));
			return NODEAUTHZ_ALLOW;
		}
		if (core && !strcmp(a->resource, "nodes") && !strcmp(a->verb, "get") && *a->name &&
		    strcmp(a->name, node))
			return no(reason, xasprintf("node '%s' cannot read '%s', only its own Node "
						    "object",
						    node, a->name));
	}
	size_t i;
	json_t *rule;
	json_array_foreach(n->rules, i, rule)
	{
		if (rbac_rule_allows(rule, a))
			return NODEAUTHZ_ALLOW;
	}
	return NODEAUTHZ_NO_OPINION;
}
