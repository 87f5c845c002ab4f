/* NodeRestriction, as upstream's plugin: a kubelet (system:node:<name> in
 * system:nodes) writes only its own Node (and may not give it labels
 * outside the kubelet's set), its own Lease in kube-node-lease, the status
 * of pods bound to it, and mirror pods bound to it, which may reference no
 * Secret, ConfigMap, PersistentVolumeClaim or ServiceAccount token. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/admission-internal.h"
#include "apiserver/authn.h"
#include "apiserver/nodeauthz.h"
#include "apiserver/resource.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

static json_t *forbid(const struct admission_attrs *at, const char *fmt, const char *node,
		      const char *extra)
{
	cleanup_free char *why = xasprintf(fmt, node, extra);
	return admission_forbidden(at, why);
}

/* --- labels ---------------------------------------------------------------------- */

static bool ns_is(const char *ns, const char *domain)
{
	size_t n = strlen(ns), d = strlen(domain);
	return !strcmp(ns, domain) ||
	       (n > d && ns[n - d - 1] == '.' && !strcmp(ns + n - d, domain));
}

static bool forbidden_label(const char *label)
{
	const char *slash = strchr(label, '/');
	if (!slash)
		return false;
	cleanup_free char *ns = xstrndup(label, (size_t)(slash - label));
	if (ns_is(ns, "node-restriction.kubernetes.io"))
		return true;
	if (!ns_is(ns, "kubernetes.io") && !ns_is(ns, "k8s.io"))
		return false;
	static const char *const kubelet_labels[] = {
		"kubernetes.io/hostname",
		"topology.kubernetes.io/zone",
		"topology.kubernetes.io/region",
		"failure-domain.beta.kubernetes.io/zone",
		"failure-domain.beta.kubernetes.io/region",
		"beta.kubernetes.io/instance-type",
		"node.kubernetes.io/instance-type",
		"kubernetes.io/os",
		"kubernetes.io/arch",
		"beta.kubernetes.io/os",
		"beta.kubernetes.io/arch",
	};
	for (size_t i = 0; i < sizeof(kubelet_labels) / sizeof(kubelet_labels[0]); i++)
		if (!strcmp(label, kubelet_labels[i]))
			return false;
	return !ns_is(ns, "kubelet.kubernetes.io") && !ns_is(ns, "node.kubernetes.io");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The labels added, changed or removed between old and now that a kubelet
 * may not set, sorted and joined with ", "; NULL when none. New. */
static char *forbidden_changes(const json_t *now, const json_t *old)
{
	cleanup_json json_t *changed = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)now, k, v)
	{
		if (!json_equal(v, json_object_get(old, k)))
			json_object_set_new(changed, k, json_true());
	}
	json_object_foreach((json_t *)old, k, v)
	{
		if (!json_object_get(now, k))
			json_object_set_new(changed, k, json_true());
	}
	size_t n = 0;
	const char **bad = xcalloc(json_object_size(changed) + 1, sizeof(char *));
	json_object_foreach(changed, k, v)
	{
		if (forbidden_label(k))
			bad[n++] = k;
	}
	char *out = NULL;
	if (n) {
		qsort(bad, n, sizeof(char *), cmp_str);
		size_t len = 1;
		for (size_t i = 0; i < n; i++)
			len += strlen(bad[i]) + 2;
		out = xcalloc(1, len);
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(out, ", ");
			strcat(out, bad[i]);
		}
	}
	free(bad);
	return out;
}

/* --- per resource ------------------------------------------------------------------ */

static bool pod_references(const json_t *pod, const char **what)
{
	const json_t *spec = json_object_get(pod, "spec");
	size_t i, j;
	json_t *v, *c, *e;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		if (json_object_get(v, "secret")) {
			*what = "secrets";
			return true;
		}
		if (json_object_get(v, "configMap")) {
			*what = "configmaps";
			return true;
		}
		if (json_object_get(v, "persistentVolumeClaim")) {
			*what = "persistentvolumeclaims";
			return true;
		}
		json_t *src;
		json_array_foreach(json_path_get(v, "projected.sources"), j, src)
		{
			if (json_object_get(src, "secret")) {
				*what = "secrets";
				return true;
			}
			if (json_object_get(src, "configMap")) {
				*what = "configmaps";
				return true;
			}
			if (json_object_get(src, "serviceAccountToken")) {
				*what = "serviceaccounts";
				return true;
			}
		}
	}
	static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
	for (size_t l = 0; l < 3; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
		{
			json_array_foreach(json_object_get(c, "env"), j, e)
			{
				json_t *vf = json_object_get(e, "valueFrom");
				if (json_object_get(vf, "secretKeyRef")) {
					*what = "secrets";
					return true;
				}
				if (json_object_get(vf, "configMapKeyRef")) {
					*what = "configmaps";
					return true;
				}
			}
			json_array_foreach(json_object_get(c, "envFrom"), j, e)
			{
				if (json_object_get(e, "secretRef")) {
					*what = "secrets";
					return true;
				}
				if (json_object_get(e, "configMapRef")) {
					*what = "configmaps";
					return true;
				}
			}
		}
	}
	if (json_array_size(json_object_get(spec, "imagePullSecrets"))) {
		*what = "secrets";
		return true;
	}
	return false;
}

static int admit_pod(struct admission_ctx *c, const char *node, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (at->sub && !strcmp(at->sub, "status")) {
		const char *owner = json_string_value(json_path_get(at->old, "spec.nodeName"));
		if (at->op == ADMISSION_UPDATE && (!owner || strcmp(owner, node))) {
			*status = forbid(at,
					 "node \"%s\" can only update pod status for pods with "
					 "spec.nodeName set to itself%s",
					 node, "");
			return -1;
		}
		return 0;
	}
	if (at->sub)
		return 0;
	switch (at->op) {
	case ADMISSION_CREATE: {
		json_t *ann = json_path_get(at->obj, "metadata.annotations");
		if (!json_object_get(ann, MIRROR_ANNOTATION)) {
			*status = forbid(at,
					 "pod does not have \"" MIRROR_ANNOTATION
					 "\" annotation, node \"%s\" can only create mirror pods%s",
					 node, "");
			return -1;
		}
		const char *bound = json_string_value(json_path_get(at->obj, "spec.nodeName"));
		if (!bound || strcmp(bound, node)) {
			*status =
				forbid(at,
				       "node \"%s\" can only create pods with spec.nodeName set to "
				       "itself%s",
				       node, "");
			return -1;
		}
		const char *what = NULL;
		if (pod_references(at->obj, &what)) {
			*status = forbid(at, "node \"%s\" can not create pods that reference %s",
					 node, what);
			return -1;
		}
		return 0;
	}
	case ADMISSION_DELETE: {
		cleanup_json json_t *pod = NULL;
		int rc = admission_get(c, "pods", at->ns, at->name, &pod, status);
		if (rc <= 0)
			return rc; /* a missing pod is the delete's own 404 */
		const char *bound = json_string_value(json_path_get(pod, "spec.nodeName"));
		if (!bound || strcmp(bound, node)) {
			*status =
				forbid(at,
				       "node \"%s\" can only delete pods with spec.nodeName set to "
				       "itself%s",
				       node, "");
			return -1;
		}
		return 0;
	}
	case ADMISSION_UPDATE:
		*status = forbid(at,
				 "unexpected operation \"UPDATE\", node \"%s\" can only create and "
				 "delete mirror pods%s",
				 node, "");
		return -1;
	}
	return 0;
}

static int admit_node(struct admission_ctx *c, const char *node, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (strcmp(at->name, node)) {
		*status = forbid(at, "node \"%s\" is not allowed to modify node \"%s\"", node,
				 at->name);
		return -1;
	}
	if (at->op == ADMISSION_DELETE)
		return 0;
	json_t *labels = json_path_get(at->obj, "metadata.labels");
	json_t *old = at->op == ADMISSION_UPDATE ? json_path_get(at->old, "metadata.labels") : NULL;
	cleanup_free char *bad = forbidden_changes(labels, old);
	if (!bad)
		return 0;
	*status = forbid(at,
			 at->op == ADMISSION_CREATE
				 ? "node \"%s\" is not allowed to set the following labels: %s"
				 : "node \"%s\" is not allowed to modify labels: %s",
			 node, bad);
	return -1;
}

static int admit_lease(struct admission_ctx *c, const char *node, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (!at->ns || strcmp(at->ns, "kube-node-lease")) {
		*status = admission_forbidden(at, "can only access leases in the "
						  "\"kube-node-lease\" system namespace");
		return -1;
	}
	if (strcmp(at->name, node)) {
		*status = admission_forbidden(at, "can only access node lease with the same name "
						  "as the requesting node");
		return -1;
	}
	return 0;
}

int admission_noderestriction_validate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	const char *node = nodeauthz_node_name(at->user);
	if (!node)
		return 0;
	if (!*node) {
		*status = forbid(at, "could not determine node from user \"%s\"%s", at->user->name,
				 "");
		return -1;
	}
	bool core = !strcmp(at->r->group, "");
	if (core && !strcmp(at->r->resource, "pods"))
		return admit_pod(c, node, status);
	if (core && !strcmp(at->r->resource, "nodes"))
		return admit_node(c, node, status);
	if (!strcmp(at->r->group, "coordination.k8s.io") && !strcmp(at->r->resource, "leases"))
		return admit_lease(c, node, status);
	return 0;
}
