#include "apiserver/rbac.h"

#include <pthread.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"
#include "apiserver/authn.h"
#include "apiserver/authz.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

/* One immutable view of the four kinds. Readers hold a reference; jansson
 * values inside are only read (never increfed) once published, so that
 * threads share them without locks. */
struct snap {
	int refs;
	json_t *roles;	      /* "ns/name" -> Role */
	json_t *clusterroles; /* name -> ClusterRole */
	/* subject key -> array of bindings: "U\x1f<user>" or "G\x1f<group>"
	 * for ClusterRoleBindings, "<ns>\x1f" + that for RoleBindings */
	json_t *cluster_idx;
	json_t *ns_idx;
};

enum { K_ROLES, K_CLUSTERROLES, K_ROLEBINDINGS, K_CLUSTERROLEBINDINGS, K_N };

static const char *const kind_resources[K_N] = {"roles", "clusterroles", "rolebindings",
						"clusterrolebindings"};

struct rbac {
	struct store *st;
	struct store_watch *w[K_N];
	pthread_mutex_t lock; /* guards cur and rebuilds */
	struct snap *cur;
	int stale;   /* atomic: a watch saw a change */
	int rewatch; /* atomic: a watch ended (history compacted): start it again */
};

static void snap_unref(struct snap *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	json_decref(s->roles);
	json_decref(s->clusterroles);
	json_decref(s->cluster_idx);
	json_decref(s->ns_idx);
	free(s);
}

static void on_event(const struct store_event *ev, void *arg)
{
	struct rbac *r = arg;
	if (ev->type == STORE_EVENT_EXPIRED)
		__atomic_store_n(&r->rewatch, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&r->stale, 1, __ATOMIC_RELEASE);
}

static const struct api_resource *row(int k)
{
	return api_resource_find("rbac.authorization.k8s.io", "v1", kind_resources[k]);
}

static int watch_all(struct rbac *r, struct mk_err **err)
{
	for (int k = 0; k < K_N; k++) {
		store_watch_stop(r->st, r->w[k]);
		cleanup_free char *prefix = api_prefix(row(k), NULL);
		r->w[k] = store_watch(r->st, prefix, 0, on_event, r, err);
		if (!r->w[k])
			return -1;
	}
	return 0;
}

static void index_add(json_t *idx, const char *key, json_t *binding)
{
	json_t *arr = json_object_get(idx, key);
	if (!arr) {
		arr = json_array();
		json_object_set_new(idx, key, arr);
	}
	json_array_append(arr, binding);
}

/* The subject keys of a binding in ns ("" for a ClusterRoleBinding). */
static void index_binding(json_t *idx, const char *ns, json_t *b)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(b, "subjects"), i, s)
	{
		const char *kind = json_string_value(json_object_get(s, "kind"));
		const char *name = json_string_value(json_object_get(s, "name"));
		if (!kind || !name)
			continue;
		cleanup_free char *key = NULL;
		if (!strcmp(kind, "User")) {
			key = xasprintf("%s%sU\x1f%s", ns, *ns ? "\x1f" : "", name);
		} else if (!strcmp(kind, "Group")) {
			key = xasprintf("%s%sG\x1f%s", ns, *ns ? "\x1f" : "", name);
		} else if (!strcmp(kind, "ServiceAccount")) {
			/* a RoleBinding's subject without a namespace is in its own */
			const char *sans = json_string_value(json_object_get(s, "namespace"));
			if (!sans || !*sans)
				sans = ns;
			if (!*sans)
				continue;
			key = xasprintf("%s%sU\x1fsystem:serviceaccount:%s:%s", ns,
					*ns ? "\x1f" : "", sans, name);
		} else {
			continue;
		}
		index_add(idx, key, b);
	}
}

static int list_kind(struct store *st, int k, struct store_list *l, struct mk_err **err)
{
	cleanup_free char *prefix = api_prefix(row(k), NULL);
	return store_list(st, prefix, NULL, 0, 0, l, err);
}

static struct snap *snap_build(struct store *st, struct mk_err **err)
{
	struct snap *s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->roles = json_object();
	s->clusterroles = json_object();
	s->cluster_idx = json_object();
	s->ns_idx = json_object();
	for (int k = 0; k < K_N; k++) {
		struct store_list l = {0};
		if (list_kind(st, k, &l, err) < 0) {
			snap_unref(s);
			return NULL;
		}
		for (size_t i = 0; i < l.n; i++) {
			cleanup_json json_t *o = json_loads(l.items[i].value, 0, NULL);
			if (!json_is_object(o))
				continue;
			const char *name = json_path_str(o, "metadata.name");
			const char *ns = json_path_str(o, "metadata.namespace");
			if (!name)
				continue;
			switch (k) {
			case K_ROLES: {
				cleanup_free char *key = xasprintf("%s/%s", ns ? ns : "", name);
				json_object_set(s->roles, key, o);
				break;
			}
			case K_CLUSTERROLES:
				json_object_set(s->clusterroles, name, o);
				break;
			case K_ROLEBINDINGS:
				if (ns)
					index_binding(s->ns_idx, ns, o);
				break;
			case K_CLUSTERROLEBINDINGS:
				index_binding(s->cluster_idx, "", o);
				break;
			}
		}
		store_list_free(&l);
	}
	return s;
}

struct rbac *rbac_new(struct store *st, struct mk_err **err)
{
	struct rbac *r = xcalloc(1, sizeof(*r));
	r->st = st;
	pthread_mutex_init(&r->lock, NULL);
	if (watch_all(r, err) < 0 || !(r->cur = snap_build(st, err))) {
		rbac_free(r);
		return NULL;
	}
	return r;
}

void rbac_free(struct rbac *r)
{
	if (!r)
		return;
	for (int k = 0; k < K_N; k++)
		store_watch_stop(r->st, r->w[k]);
	snap_unref(r->cur);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The current snapshot, rebuilt first if a watch saw a change. */
static struct snap *snap_get(struct rbac *r)
{
	pthread_mutex_lock(&r->lock);
	if (__atomic_exchange_n(&r->stale, 0, __ATOMIC_ACQ_REL)) {
		cleanup_err struct mk_err *err = NULL;
		if (__atomic_exchange_n(&r->rewatch, 0, __ATOMIC_ACQ_REL) &&
		    watch_all(r, &err) < 0) {
			log_warn("RBAC: watching roles and bindings: %s", mk_err_msg(err));
			__atomic_store_n(&r->rewatch, 1, __ATOMIC_RELEASE);
			mk_err_free(err);
			err = NULL;
		}
		struct snap *n = snap_build(r->st, &err);
		if (n) {
			snap_unref(r->cur);
			r->cur = n;
		} else {
			/* the old view serves until a rebuild succeeds */
			log_warn("RBAC: reading roles and bindings: %s", mk_err_msg(err));
			__atomic_store_n(&r->stale, 1, __ATOMIC_RELEASE);
		}
	}
	struct snap *s = r->cur;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&r->lock);
	return s;
}

/* --- rule matching --------------------------------------------------------------- */

static bool has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *x = json_string_value(v);
		if (x && !strcmp(x, s))
			return true;
	}
	return false;
}

static bool has_or_star(const json_t *arr, const char *s)
{
	return has(arr, "*") || has(arr, s);
}

static bool url_matches(const json_t *urls, const char *path)
{
	size_t i;
	json_t *v;
	json_array_foreach(urls, i, v)
	{
		const char *u = json_string_value(v);
		if (!u)
			continue;
		size_t n = strlen(u);
		if (!strcmp(u, "*") || !strcmp(u, path) ||
		    (n && u[n - 1] == '*' && !strncmp(u, path, n - 1)))
			return true;
	}
	return false;
}

bool rbac_rule_allows(const json_t *rule, const struct authz_attrs *a)
{
	if (!has_or_star(json_object_get(rule, "verbs"), a->verb))
		return false;
	if (!a->resource_request)
		return url_matches(json_object_get(rule, "nonResourceURLs"), a->path);
	if (!has_or_star(json_object_get(rule, "apiGroups"), a->api_group))
		return false;
	json_t *res = json_object_get(rule, "resources");
	bool match = has(res, "*");
	if (!match && *a->subresource) {
		cleanup_free char *combined = xasprintf("%s/%s", a->resource, a->subresource);
		cleanup_free char *any = xasprintf("*/%s", a->subresource);
		match = has(res, combined) || has(res, any);
	} else if (!match) {
		match = has(res, a->resource);
	}
	if (!match)
		return false;
	json_t *names = json_object_get(rule, "resourceNames");
	return !json_array_size(names) || has(names, a->name);
}

/* --- visiting what applies to a user ----------------------------------------------- */

/* Called with each rule of each binding that applies; returns true to stop. */
typedef bool (*rule_visit)(const json_t *rule, void *arg);

static const json_t *role_of(const struct snap *s, const json_t *binding, const char *ns,
			     json_t *errors)
{
	const char *kind = json_path_str(binding, "roleRef.kind");
	const char *name = json_path_str(binding, "roleRef.name");
	if (!kind || !name)
		return NULL;
	const json_t *role = NULL;
	if (!strcmp(kind, "ClusterRole")) {
		role = json_object_get(s->clusterroles, name);
	} else if (!strcmp(kind, "Role") && *ns) {
		cleanup_free char *key = xasprintf("%s/%s", ns, name);
		role = json_object_get(s->roles, key);
	}
	if (!role && errors) {
		json_array_append_new(
			errors,
			json_sprintf("%s.rbac.authorization.k8s.io \"%s\" not found",
				     !strcmp(kind, "ClusterRole") ? "clusterrole" : "role", name));
	}
	return role;
}

/* Visits the bindings of idx under prefix for u (borrowed keys). */
static bool visit_index(const struct snap *s, const json_t *idx, const char *ns,
			const struct authn_user *u, rule_visit visit, void *arg, json_t *errors)
{
	const char *pre = *ns ? ns : "";
	const char *sep = *ns ? "\x1f" : "";
	size_t ng = 0;
	while (u->groups[ng])
		ng++;
	for (size_t k = 0; k <= ng; k++) {
		cleanup_free char *key =
			k == 0 ? xasprintf("%s%sU\x1f%s", pre, sep, u->name)
			       : xasprintf("%s%sG\x1f%s", pre, sep, u->groups[k - 1]);
		json_t *arr = json_object_get(idx, key);
		size_t i;
		json_t *b;
		json_array_foreach(arr, i, b)
		{
			const json_t *role = role_of(s, b, ns, errors);
			size_t j;
			json_t *rule;
			json_array_foreach(json_object_get(role, "rules"), j, rule)
			{
				if (visit(rule, arg))
					return true;
			}
		}
	}
	return false;
}

static bool visit_rules(const struct snap *s, const struct authn_user *u, const char *ns,
			rule_visit visit, void *arg, json_t *errors)
{
	if (visit_index(s, s->cluster_idx, "", u, visit, arg, errors))
		return true;
	return ns && *ns && visit_index(s, s->ns_idx, ns, u, visit, arg, errors);
}

static bool visit_allows(const json_t *rule, void *arg)
{
	return rbac_rule_allows(rule, arg);
}

bool rbac_allows(struct rbac *r, const struct authn_user *u, const struct authz_attrs *a,
		 char **reason)
{
	*reason = NULL;
	struct snap *s = snap_get(r);
	cleanup_json json_t *errors = json_array();
	bool ok = visit_rules(s, u, a->namespace, visit_allows, (void *)a, errors);
	snap_unref(s);
	if (!ok && json_array_size(errors)) {
		/* upstream's aggregate of errors: one alone, or "[a, b]" */
		cleanup_buf struct buf b = BUF_INIT;
		size_t i;
		json_t *e;
		json_array_foreach(errors, i, e)
			buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(e));
		*reason = json_array_size(errors) > 1 ? xasprintf("RBAC: [%s]", buf_str(&b))
						      : xasprintf("RBAC: %s", buf_str(&b));
	}
	return ok;
}

static bool visit_collect(const json_t *rule, void *arg)
{
	json_array_append_new(arg, json_deep_copy(rule));
	return false;
}

json_t *rbac_rules_for(struct rbac *r, const struct authn_user *u, const char *ns, json_t **errors)
{
	struct snap *s = snap_get(r);
	json_t *rules = json_array();
	*errors = json_array();
	visit_rules(s, u, ns, visit_collect, rules, *errors);
	snap_unref(s);
	return rules;
}

json_t *rbac_role_rules(struct rbac *r, const char *kind, const char *ns, const char *name)
{
	struct snap *s = snap_get(r);
	const json_t *role = NULL;
	if (!strcmp(kind, "ClusterRole")) {
		role = json_object_get(s->clusterroles, name);
	} else if (!strcmp(kind, "Role")) {
		cleanup_free char *key = xasprintf("%s/%s", ns ? ns : "", name);
		role = json_object_get(s->roles, key);
	}
	json_t *out = NULL;
	if (role) {
		json_t *rules = json_object_get(role, "rules");
		out = rules ? json_deep_copy(rules) : json_array();
	}
	snap_unref(s);
	return out;
}

/* --- Covers ------------------------------------------------------------------------- */

static bool resource_covered(const json_t *owner, const char *res)
{
	if (has(owner, "*") || has(owner, res))
		return true;
	const char *slash = strchr(res, '/');
	if (!slash || strchr(res, '*'))
		return false;
	cleanup_free char *any = xasprintf("*%s", slash);
	return has(owner, any);
}

static bool unit_covered(const json_t *owner_rule, const char *verb, const char *group,
			 const char *res, const char *name, const char *url)
{
	if (!has_or_star(json_object_get(owner_rule, "verbs"), verb))
		return false;
	if (url)
		return url_matches(json_object_get(owner_rule, "nonResourceURLs"), url);
	if (!has_or_star(json_object_get(owner_rule, "apiGroups"), group))
		return false;
	if (!resource_covered(json_object_get(owner_rule, "resources"), res))
		return false;
	json_t *names = json_object_get(owner_rule, "resourceNames");
	if (!json_array_size(names))
		return true;
	return name && has(names, name);
}

static bool any_covers(const json_t *owner, const char *verb, const char *group, const char *res,
		       const char *name, const char *url)
{
	size_t i;
	json_t *o;
	json_array_foreach(owner, i, o)
	{
		if (unit_covered(o, verb, group, res, name, url))
			return true;
	}
	return false;
}

static void add_missing(json_t **missing, const char *verb, const char *group, const char *res,
			const char *name, const char *url)
{
	if (!missing)
		return;
	if (!*missing)
		*missing = json_array();
	json_t *r = json_pack("{s:[s]}", "verbs", verb);
	if (url) {
		json_object_set_new(r, "nonResourceURLs", json_pack("[s]", url));
	} else {
		json_object_set_new(r, "apiGroups", json_pack("[s]", group));
		json_object_set_new(r, "resources", json_pack("[s]", res));
		if (name)
			json_object_set_new(r, "resourceNames", json_pack("[s]", name));
	}
	json_array_append_new(*missing, r);
}

bool rbac_rules_cover(const json_t *owner, const json_t *rule, json_t **missing)
{
	bool ok = true;
	size_t iv, ig, ir, in;
	json_t *v, *g, *res, *n;
	json_array_foreach(json_object_get(rule, "verbs"), iv, v)
	{
		const char *verb = json_string_value(v);
		if (!verb)
			continue;
		json_array_foreach(json_object_get(rule, "nonResourceURLs"), in, n)
		{
			const char *url = json_string_value(n);
			if (url && !any_covers(owner, verb, NULL, NULL, NULL, url)) {
				ok = false;
				add_missing(missing, verb, NULL, NULL, NULL, url);
			}
		}
		json_array_foreach(json_object_get(rule, "apiGroups"), ig, g)
		{
			const char *group = json_string_value(g);
			json_array_foreach(json_object_get(rule, "resources"), ir, res)
			{
				const char *rs = json_string_value(res);
				if (!group || !rs)
					continue;
				json_t *names = json_object_get(rule, "resourceNames");
				if (!json_array_size(names)) {
					if (!any_covers(owner, verb, group, rs, NULL, NULL)) {
						ok = false;
						add_missing(missing, verb, group, rs, NULL, NULL);
					}
					continue;
				}
				json_array_foreach(names, in, n)
				{
					const char *name = json_string_value(n);
					if (name &&
					    !any_covers(owner, verb, group, rs, name, NULL)) {
						ok = false;
						add_missing(missing, verb, group, rs, name, NULL);
					}
				}
			}
		}
	}
	return ok;
}
