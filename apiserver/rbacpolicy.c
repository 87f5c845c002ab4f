/* Upstream's bootstrap policy as data: each rule is verbs, API groups and
 * resources (or non-resource URLs) as "|"-separated lists, "" being the
 * core group. */
#include "apiserver/rbacpolicy.h"

#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/objects.h"
#include "apiserver/rbac.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

#define RBAC_GROUP "rbac.authorization.k8s.io"
#define AUTOUPDATE "rbac.authorization.kubernetes.io/autoupdate"

struct prule {
	const char *verbs;
	const char *groups;    /* NULL for a non-resource rule */
	const char *resources; /* or, for a non-resource rule, the URLs */
	const char *names;     /* resourceNames or NULL */
};

#define R(v, g, r)                                                                                 \
	{                                                                                          \
		.verbs = v, .groups = g, .resources = r                                            \
	}
#define RN(v, g, r, n)                                                                             \
	{                                                                                          \
		.verbs = v, .groups = g, .resources = r, .names = n                                \
	}
#define U(v, u)                                                                                    \
	{                                                                                          \
		.verbs = v, .groups = NULL, .resources = u                                         \
	}
#define END                                                                                        \
	{                                                                                          \
		.verbs = NULL                                                                      \
	}

#define RW  "create|delete|deletecollection|patch|update"
#define RO  "get|list|watch"
#define ALL "create|delete|deletecollection|get|list|patch|update|watch"

static const struct prule cluster_admin[] = {R("*", "*", "*"), U("*", "*"), END};

static const struct prule aggregate_to_admin[] = {
	R("create", "authorization.k8s.io", "localsubjectaccessreviews"),
	R(ALL, "rbac.authorization.k8s.io", "rolebindings|roles"),
	END,
};

static const struct prule aggregate_to_edit[] = {
	R(RO, "", "pods/attach|pods/exec|pods/portforward|pods/proxy|secrets|services/proxy"),
	R("impersonate", "", "serviceaccounts"),
	R(RW, "", "pods|pods/attach|pods/exec|pods/portforward|pods/proxy"),
	R("create", "", "pods/eviction"),
	R(RW, "",
	  "configmaps|events|persistentvolumeclaims|replicationcontrollers|"
	  "replicationcontrollers/scale|secrets|serviceaccounts|services|services/proxy"),
	R("create", "", "serviceaccounts/token"),
	R(RW, "apps",
	  "daemonsets|deployments|deployments/rollback|deployments/scale|replicasets|"
	  "replicasets/scale|statefulsets|statefulsets/scale"),
	R(RW, "autoscaling", "horizontalpodautoscalers"),
	R(RW, "batch", "cronjobs|jobs"),
	R(RW, "extensions",
	  "daemonsets|deployments|deployments/rollback|deployments/scale|ingresses|"
	  "networkpolicies|replicasets|replicasets/scale|replicationcontrollers/scale"),
	R(RW, "policy", "poddisruptionbudgets"),
	R(RW, "networking.k8s.io", "ingresses|networkpolicies"),
	R(ALL, "coordination.k8s.io", "leases"),
	END,
};

static const struct prule aggregate_to_view[] = {
	R(RO, "",
	  "configmaps|endpoints|persistentvolumeclaims|persistentvolumeclaims/status|pods|"
	  "replicationcontrollers|replicationcontrollers/scale|serviceaccounts|services|"
	  "services/status"),
	R(RO, "",
	  "bindings|events|limitranges|namespaces/status|pods/log|pods/status|"
	  "replicationcontrollers/status|resourcequotas|resourcequotas/status"),
	R(RO, "", "namespaces"),
	R(RO, "discovery.k8s.io", "endpointslices"),
	R(RO, "apps",
	  "controllerrevisions|daemonsets|daemonsets/status|deployments|deployments/scale|"
	  "deployments/status|replicasets|replicasets/scale|replicasets/status|statefulsets|"
	  "statefulsets/scale|statefulsets/status"),
	R(RO, "autoscaling", "horizontalpodautoscalers|horizontalpodautoscalers/status"),
	R(RO, "batch", "cronjobs|cronjobs/status|jobs|jobs/status"),
	R(RO, "extensions",
	  "daemonsets|daemonsets/status|deployments|deployments/scale|deployments/status|"
	  "ingresses|ingresses/status|networkpolicies|replicasets|replicasets/scale|"
	  "replicasets/status|replicationcontrollers/scale"),
	R(RO, "policy", "poddisruptionbudgets|poddisruptionbudgets/status"),
	R(RO, "networking.k8s.io", "ingresses|ingresses/status|networkpolicies"),
	END,
};

static const struct prule auth_delegator[] = {
	R("create", "authentication.k8s.io", "tokenreviews"),
	R("create", "authorization.k8s.io", "subjectaccessreviews"),
	END,
};

static const struct prule basic_user[] = {
	R("create", "authorization.k8s.io", "selfsubjectaccessreviews|selfsubjectrulesreviews"),
	R("create", "authentication.k8s.io", "selfsubjectreviews"),
	END,
};

static const struct prule nodeclient[] = {
	R("create", "certificates.k8s.io", "certificatesigningrequests/nodeclient"), END};
static const struct prule selfnodeclient[] = {
	R("create", "certificates.k8s.io", "certificatesigningrequests/selfnodeclient"), END};
static const struct prule approver_client[] = {
	RN("approve", "certificates.k8s.io", "signers", "kubernetes.io/kube-apiserver-client"),
	END};
static const struct prule approver_kubelet[] = {RN("approve", "certificates.k8s.io", "signers",
						   "kubernetes.io/kube-apiserver-client-kubelet"),
						END};
static const struct prule approver_serving[] = {
	RN("approve", "certificates.k8s.io", "signers", "kubernetes.io/kubelet-serving"), END};
static const struct prule approver_legacy[] = {
	RN("approve", "certificates.k8s.io", "signers", "kubernetes.io/legacy-unknown"), END};

static const struct prule discovery[] = {
	U("get", "/api|/api/*|/apis|/apis/*|/healthz|/livez|/openapi|/openapi/*|/readyz|/version|"
		 "/version/"),
	END,
};

static const struct prule heapster[] = {
	R(RO, "", "events|namespaces|nodes|pods"),
	R(RO, "extensions", "deployments"),
	END,
};

static const struct prule kube_aggregator[] = {R(RO, "", "endpoints|services"), END};

static const struct prule kube_controller_manager[] = {
	R("create|patch|update", "|events.k8s.io", "events"),
	R("create", "coordination.k8s.io", "leases"),
	RN("get|update", "coordination.k8s.io", "leases", "kube-controller-manager"),
	R("create", "", "secrets|serviceaccounts"),
	R("delete", "", "secrets"),
	R("get", "", "configmaps|namespaces|secrets|serviceaccounts"),
	R("update", "", "secrets|serviceaccounts"),
	R("create", "authentication.k8s.io", "tokenreviews"),
	R("create", "authorization.k8s.io", "subjectaccessreviews"),
	R("list|watch", "*", "*"),
	R("create", "", "serviceaccounts/token"),
	END,
};

static const struct prule kube_dns[] = {R("list|watch", "", "endpoints|services"), END};

static const struct prule kube_scheduler[] = {
	R("create|patch|update", "|events.k8s.io", "events"),
	R("create", "coordination.k8s.io", "leases"),
	RN("get|update", "coordination.k8s.io", "leases", "kube-scheduler"),
	R(RO, "", "nodes"),
	R("delete|get|list|watch", "", "pods"),
	R("create", "", "bindings|pods/binding"),
	R("patch|update", "", "pods/status"),
	R(RO, "", "replicationcontrollers|services"),
	R(RO, "apps|extensions", "replicasets"),
	R(RO, "apps", "statefulsets"),
	R(RO, "policy", "poddisruptionbudgets"),
	R(RO, "", "persistentvolumeclaims|persistentvolumes"),
	R("create", "authentication.k8s.io", "tokenreviews"),
	R("create", "authorization.k8s.io", "subjectaccessreviews"),
	R(RO, "storage.k8s.io", "csinodes"),
	R(RO, "", "namespaces"),
	R(RO, "storage.k8s.io", "csidrivers"),
	R(RO, "storage.k8s.io", "csistoragecapacities"),
	END,
};

static const struct prule kubelet_api_admin[] = {
	R(RO, "", "nodes"),
	R("proxy", "", "nodes"),
	R("*", "", "nodes/log|nodes/metrics|nodes/proxy|nodes/stats"),
	END,
};

static const struct prule monitoring[] = {
	U("get", "/healthz|/healthz/*|/livez|/livez/*|/metrics|/metrics/slis|/readyz|/readyz/*"),
	END,
};

static const struct prule node[] = {
	R("create", "authentication.k8s.io", "tokenreviews"),
	R("create", "authorization.k8s.io", "localsubjectaccessreviews|subjectaccessreviews"),
	R(RO, "", "services"),
	R("create|get|list|watch", "", "nodes"),
	R("patch|update", "", "nodes/status"),
	R("patch|update", "", "nodes"),
	R("create|patch|update", "", "events"),
	R(RO, "", "pods"),
	R("create|delete", "", "pods"),
	R("patch|update", "", "pods/status"),
	R("create", "", "pods/eviction"),
	R(RO, "", "configmaps|secrets"),
	R("get", "", "persistentvolumeclaims|persistentvolumes"),
	R("get", "", "endpoints"),
	R("create|get|list|watch", "certificates.k8s.io", "certificatesigningrequests"),
	R("create|delete|get|patch|update", "coordination.k8s.io", "leases"),
	R("get", "storage.k8s.io", "volumeattachments"),
	R("create", "", "serviceaccounts/token"),
	R("get|patch|update", "", "persistentvolumeclaims/status"),
	R(RO, "storage.k8s.io", "csidrivers"),
	R("create|delete|get|patch|update", "storage.k8s.io", "csinodes"),
	R(RO, "node.k8s.io", "runtimeclasses"),
	END,
};

static const struct prule node_bootstrapper[] = {
	R("create|get|list|watch", "certificates.k8s.io", "certificatesigningrequests"), END};

static const struct prule node_problem_detector[] = {
	R("get", "", "nodes"),
	R("patch", "", "nodes/status"),
	R("create|patch|update", "|events.k8s.io", "events"),
	END,
};

static const struct prule node_proxier[] = {
	R("list|watch", "", "endpoints|services"),
	R(RO, "", "nodes"),
	R("create|patch|update", "|events.k8s.io", "events"),
	R("list|watch", "discovery.k8s.io", "endpointslices"),
	END,
};

static const struct prule pv_provisioner[] = {
	R("create|delete|get|list|watch", "", "persistentvolumes"),
	R("get|list|update|watch", "", "persistentvolumeclaims"),
	R(RO, "storage.k8s.io", "storageclasses"),
	R("watch", "", "events"),
	R("create|patch|update", "|events.k8s.io", "events"),
	END,
};

static const struct prule public_info_viewer[] = {
	U("get", "/healthz|/livez|/readyz|/version|/version/"), END};

static const struct prule sa_issuer_discovery[] = {
	U("get", "/.well-known/openid-configuration|/openid/v1/jwks"), END};

static const struct prule volume_scheduler[] = {
	R("get|list|patch|update|watch", "", "persistentvolumes"),
	R(RO, "storage.k8s.io", "storageclasses"),
	R("get|list|patch|update|watch", "", "persistentvolumeclaims"),
	END,
};

/* kube-system's leader-election and authentication-configuration readers */
static const struct prule auth_reader[] = {
	RN("get|list|watch", "", "configmaps", "extension-apiserver-authentication"), END};
static const struct prule leader_kcm[] = {
	R("watch", "", "configmaps"),
	RN("get|update", "", "configmaps", "kube-controller-manager"),
	END,
};
static const struct prule leader_sched[] = {
	R("watch", "", "configmaps"),
	RN("get|update", "", "configmaps", "kube-scheduler"),
	END,
};
static const struct prule bootstrap_signer_public[] = {
	R("get|list|watch", "", "configmaps"),
	RN("update", "", "configmaps", "cluster-info"),
	R("create|patch|update", "|events.k8s.io", "events"),
	END,
};

struct prole {
	const char *name;
	const char *ns; /* a Role in ns, else a ClusterRole */
	const struct prule *rules;
	const char *aggregate_to; /* label rbac.authorization.k8s.io/aggregate-to-<x> */
	const char *aggregates;	  /* aggregationRule from aggregate-to-<x> */
};

static const struct prole roles[] = {
	{.name = "admin", .aggregates = "admin"},
	{.name = "cluster-admin", .rules = cluster_admin},
	{.name = "edit", .aggregates = "edit", .aggregate_to = "admin"},
	{.name = "system:aggregate-to-admin", .rules = aggregate_to_admin, .aggregate_to = "admin"},
	{.name = "system:aggregate-to-edit", .rules = aggregate_to_edit, .aggregate_to = "edit"},
	{.name = "system:aggregate-to-view", .rules = aggregate_to_view, .aggregate_to = "view"},
	{.name = "system:auth-delegator", .rules = auth_delegator},
	{.name = "system:basic-user", .rules = basic_user},
	{.name = "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
	 .rules = nodeclient},
	{.name = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
	 .rules = selfnodeclient},
	{.name = "system:certificates.k8s.io:kube-apiserver-client-approver",
	 .rules = approver_client},
	{.name = "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
	 .rules = approver_kubelet},
	{.name = "system:certificates.k8s.io:kubelet-serving-approver", .rules = approver_serving},
	{.name = "system:certificates.k8s.io:legacy-unknown-approver", .rules = approver_legacy},
	{.name = "system:discovery", .rules = discovery},
	{.name = "system:heapster", .rules = heapster},
	{.name = "system:kube-aggregator", .rules = kube_aggregator},
	{.name = "system:kube-controller-manager", .rules = kube_controller_manager},
	{.name = "system:kube-dns", .rules = kube_dns},
	{.name = "system:kube-scheduler", .rules = kube_scheduler},
	{.name = "system:kubelet-api-admin", .rules = kubelet_api_admin},
	{.name = "system:monitoring", .rules = monitoring},
	{.name = "system:node", .rules = node},
	{.name = "system:node-bootstrapper", .rules = node_bootstrapper},
	{.name = "system:node-problem-detector", .rules = node_problem_detector},
	{.name = "system:node-proxier", .rules = node_proxier},
	{.name = "system:persistent-volume-provisioner", .rules = pv_provisioner},
	{.name = "system:public-info-viewer", .rules = public_info_viewer},
	{.name = "system:service-account-issuer-discovery", .rules = sa_issuer_discovery},
	{.name = "system:volume-scheduler", .rules = volume_scheduler},
	{.name = "view", .aggregates = "view", .aggregate_to = "edit"},
	{.name = "extension-apiserver-authentication-reader",
	 .ns = "kube-system",
	 .rules = auth_reader},
	{.name = "system::leader-locking-kube-controller-manager",
	 .ns = "kube-system",
	 .rules = leader_kcm},
	{.name = "system::leader-locking-kube-scheduler",
	 .ns = "kube-system",
	 .rules = leader_sched},
	{.name = "system:controller:bootstrap-signer",
	 .ns = "kube-public",
	 .rules = bootstrap_signer_public},
	{.name = NULL},
};

/* subjects: "U:name", "G:name", "S:ns:name", "|"-separated */
struct pbinding {
	const char *name;
	const char *ns;
	const char *role; /* a ClusterRole, or the Role in ns when to_role */
	bool to_role;
	const char *subjects; /* NULL: none */
};

static const struct pbinding bindings[] = {
	{"cluster-admin", NULL, "cluster-admin", false, "G:system:masters"},
	{"system:basic-user", NULL, "system:basic-user", false, "G:system:authenticated"},
	{"system:discovery", NULL, "system:discovery", false, "G:system:authenticated"},
	{"system:kube-controller-manager", NULL, "system:kube-controller-manager", false,
	 "U:system:kube-controller-manager"},
	{"system:kube-dns", NULL, "system:kube-dns", false, "S:kube-system:kube-dns"},
	{"system:kube-scheduler", NULL, "system:kube-scheduler", false, "U:system:kube-scheduler"},
	{"system:monitoring", NULL, "system:monitoring", false, "G:system:monitoring"},
	{"system:node", NULL, "system:node", false, NULL},
	{"system:node-proxier", NULL, "system:node-proxier", false, "U:system:kube-proxy"},
	{"system:public-info-viewer", NULL, "system:public-info-viewer", false,
	 "G:system:authenticated|G:system:unauthenticated"},
	{"system:service-account-issuer-discovery", NULL, "system:service-account-issuer-discovery",
	 false, "G:system:serviceaccounts"},
	{"system:volume-scheduler", NULL, "system:volume-scheduler", false,
	 "U:system:kube-scheduler"},
	{"system::extension-apiserver-authentication-reader", "kube-system",
	 "extension-apiserver-authentication-reader", true,
	 "U:system:kube-controller-manager|U:system:kube-scheduler"},
	{"system::leader-locking-kube-controller-manager", "kube-system",
	 "system::leader-locking-kube-controller-manager", true,
	 "U:system:kube-controller-manager|S:kube-system:kube-controller-manager"},
	{"system::leader-locking-kube-scheduler", "kube-system",
	 "system::leader-locking-kube-scheduler", true,
	 "U:system:kube-scheduler|S:kube-system:kube-scheduler"},
	{"system:controller:bootstrap-signer", "kube-public", "system:controller:bootstrap-signer",
	 true, "S:kube-system:bootstrap-signer"},
	{NULL, NULL, NULL, false, NULL},
};

static json_t *split(const char *list)
{
	json_t *a = json_array();
	const char *p = list;
	for (;;) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		if (!e)
			break;
		p = e + 1;
	}
	return a;
}

static json_t *rules_json(const struct prule *r)
{
	json_t *rules = json_array();
	for (; r && r->verbs; r++) {
		json_t *o = json_object();
		if (r->groups) {
			json_object_set_new(o, "apiGroups", split(r->groups));
			json_object_set_new(o, "resources", split(r->resources));
			if (r->names)
				json_object_set_new(o, "resourceNames", split(r->names));
		} else {
			json_object_set_new(o, "nonResourceURLs", split(r->resources));
		}
		json_object_set_new(o, "verbs", split(r->verbs));
		json_array_append_new(rules, o);
	}
	return rules;
}

static json_t *meta(const char *name, const char *ns, bool annotate)
{
	json_t *md = json_pack("{s:s, s:{s:s}}", "name", name, "labels",
			       "kubernetes.io/bootstrapping", "rbac-defaults");
	if (ns)
		json_object_set_new(md, "namespace", json_string(ns));
	if (annotate)
		json_object_set_new(md, "annotations", json_pack("{s:s}", AUTOUPDATE, "true"));
	return md;
}

json_t *rbacpolicy_objects(void)
{
	json_t *out = json_array();
	for (const struct prole *p = roles; p->name; p++) {
		json_t *md = meta(p->name, p->ns, true);
		json_t *labels = json_object_get(md, "labels");
		if (p->aggregate_to) {
			cleanup_free char *l = xasprintf(
				"rbac.authorization.k8s.io/aggregate-to-%s", p->aggregate_to);
			json_object_set_new(labels, l, json_string("true"));
		}
		json_t *o = json_pack("{s:s, s:s, s:o}", "apiVersion", RBAC_GROUP "/v1", "kind",
				      p->ns ? "Role" : "ClusterRole", "metadata", md);
		if (p->aggregates) {
			cleanup_free char *l = xasprintf(
				"rbac.authorization.k8s.io/aggregate-to-%s", p->aggregates);
			json_object_set_new(o, "aggregationRule",
					    json_pack("{s:[{s:{s:s}}]}", "clusterRoleSelectors",
						      "matchLabels", l, "true"));
			json_object_set_new(o, "rules", json_array());
		} else {
			json_object_set_new(o, "rules", rules_json(p->rules));
		}
		json_array_append_new(out, o);
	}
	for (const struct pbinding *b = bindings; b->name; b++) {
		json_t *subjects = json_array();
		if (b->subjects) {
			cleanup_json json_t *list = split(b->subjects);
			size_t i;
			json_t *v;
			json_array_foreach(list, i, v)
			{
				const char *s = json_string_value(v);
				if (s[0] == 'U' || s[0] == 'G') {
					json_array_append_new(
						subjects,
						json_pack("{s:s, s:s, s:s}", "apiGroup", RBAC_GROUP,
							  "kind", s[0] == 'U' ? "User" : "Group",
							  "name", s + 2));
				} else {
					const char *colon = strchr(s + 2, ':');
					json_array_append_new(
						subjects, json_pack("{s:s, s:s%, s:s}", "kind",
								    "ServiceAccount", "namespace",
								    s + 2, (size_t)(colon - s - 2),
								    "name", colon + 1));
				}
			}
		}
		json_t *o = json_pack(
			"{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:o}", "apiVersion", RBAC_GROUP "/v1",
			"kind", b->ns ? "RoleBinding" : "ClusterRoleBinding", "metadata",
			meta(b->name, b->ns, true), "roleRef", "apiGroup", RBAC_GROUP, "kind",
			b->to_role ? "Role" : "ClusterRole", "name", b->role, "subjects", subjects);
		json_array_append_new(out, o);
	}
	return out;
}

json_t *rbacpolicy_cluster_role_rules(const char *name)
{
	for (const struct prole *p = roles; p->name; p++)
		if (!p->ns && !strcmp(p->name, name))
			return rules_json(p->rules);
	return NULL;
}

/* --- reconciliation ------------------------------------------------------------------ */

/* Adds to have what want holds and have lacks; returns whether it changed. */
static bool merge_map(json_t *have_md, const json_t *want_md, const char *key)
{
	json_t *want = json_object_get(want_md, key);
	if (!json_object_size(want))
		return false;
	json_t *have = json_object_get(have_md, key);
	if (!json_is_object(have)) {
		have = json_object();
		json_object_set_new(have_md, key, have);
	}
	bool changed = false;
	const char *k;
	json_t *v;
	json_object_foreach(want, k, v)
	{
		if (!json_object_get(have, k)) {
			json_object_set(have, k, v);
			changed = true;
		}
	}
	return changed;
}

static bool has_subject(const json_t *subjects, const json_t *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(subjects, i, v)
	{
		if (json_equal(json_object_get(v, "kind"), json_object_get(s, "kind")) &&
		    json_equal(json_object_get(v, "name"), json_object_get(s, "name")) &&
		    json_equal(json_object_get(v, "namespace"), json_object_get(s, "namespace")))
			return true;
	}
	return false;
}

static bool rule_held(const json_t *rules, const json_t *r)
{
	return rbac_rules_cover(rules, r, NULL);
}

/* Appends to have[key] each item of want[key] that held() says it lacks;
 * returns whether it added any. */
static bool merge_list(json_t *have, const json_t *want, const char *key,
		       bool (*held)(const json_t *list, const json_t *item))
{
	json_t *list = json_object_get(have, key);
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(have, key, list);
	}
	bool changed = false;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(want, key), i, v)
	{
		if (!held(list, v)) {
			json_array_append(list, v);
			changed = true;
		}
	}
	return changed;
}

/* Brings have (stored) up to want; returns whether it changed. */
static bool reconcile(json_t *have, const json_t *want)
{
	json_t *md = json_object_get(have, "metadata");
	const char *au =
		json_string_value(json_object_get(json_object_get(md, "annotations"), AUTOUPDATE));
	if (au && !strcmp(au, "false"))
		return false;
	const json_t *wmd = json_object_get(want, "metadata");
	bool changed = merge_map(md, wmd, "labels");
	changed |= merge_map(md, wmd, "annotations");
	const char *kind = json_string_value(json_object_get(want, "kind"));
	if (strcmp(kind, "Role") && strcmp(kind, "ClusterRole"))
		return merge_list(have, want, "subjects", has_subject) || changed;
	json_t *agg = json_object_get(want, "aggregationRule");
	if (!agg)
		return merge_list(have, want, "rules", rule_held) || changed;
	/* the rules are the aggregation controller's */
	if (!json_equal(json_object_get(have, "aggregationRule"), agg)) {
		json_object_set(have, "aggregationRule", agg);
		changed = true;
	}
	return changed;
}

static const struct api_resource *row_of(const json_t *o)
{
	return api_resource_by_kind(json_string_value(json_object_get(o, "apiVersion")),
				    json_string_value(json_object_get(o, "kind")));
}

static int reconcile_one(struct store *st, json_t *want, struct mk_err **err)
{
	const struct api_resource *r = row_of(want);
	if (!r)
		return mk_err_set(err, MK_EINTERNAL, "the resource table lacks RBAC kinds");
	const char *name = json_path_str(want, "metadata.name");
	const char *ns = json_path_str(want, "metadata.namespace");
	cleanup_free char *key = api_key(r, ns, name);
	for (int attempt = 0; attempt < 5; attempt++) {
		struct store_kv kv = {0};
		cleanup_err struct mk_err *gerr = NULL;
		if (store_get(st, key, &kv, &gerr) < 0) {
			if (mk_err_code(gerr) != MK_ENOTFOUND)
				return mk_err_set(err, mk_err_code(gerr), "reading %s: %s", key,
						  mk_err_msg(gerr));
			cleanup_json json_t *obj = json_deep_copy(want);
			cleanup_free char *uid = names_uid_new();
			cleanup_free char *now = time_now_rfc3339();
			json_path_set(obj, "metadata.uid", json_string(uid));
			json_path_set(obj, "metadata.creationTimestamp", json_string(now));
			cleanup_free char *value =
				json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
			cleanup_err struct mk_err *cerr = NULL;
			if (store_create(st, key, value, &cerr) >= 0) {
				log_v(2, "created %s", key);
				return 0;
			}
			if (mk_err_code(cerr) != MK_EEXISTS)
				return mk_err_set(err, mk_err_code(cerr), "creating %s: %s", key,
						  mk_err_msg(cerr));
			continue;
		}
		cleanup_json json_t *have = json_loads(kv.value, 0, NULL);
		int64_t rev = kv.mod_rev;
		store_kv_free(&kv);
		if (!json_is_object(have) || !reconcile(have, want))
			return 0;
		cleanup_free char *value = json_dumps(have, JSON_COMPACT | JSON_PRESERVE_ORDER);
		cleanup_err struct mk_err *uerr = NULL;
		if (store_update(st, key, value, rev, NULL, &uerr) >= 0) {
			log_info("reconciled %s", key);
			return 0;
		}
		if (mk_err_code(uerr) != MK_ECONFLICT && mk_err_code(uerr) != MK_ENOTFOUND)
			return mk_err_set(err, mk_err_code(uerr), "updating %s: %s", key,
					  mk_err_msg(uerr));
	}
	return mk_err_set(err, MK_ECONFLICT, "reconciling %s: too many conflicts", key);
}

int rbacpolicy_reconcile(struct store *st, struct mk_err **err)
{
	cleanup_json json_t *objs = rbacpolicy_objects();
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
	{
		if (reconcile_one(st, o, err) < 0)
			return -1;
	}
	return 0;
}
