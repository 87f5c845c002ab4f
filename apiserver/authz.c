#include "apiserver/authz.h"

#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/nodeauthz.h"
#include "apiserver/rbac.h"
#include "apiserver/rbacpolicy.h"
#include "apiserver/resource.h"
#include "json.h"
#include "apiserver/status.h"

int authz_parse(const char *csv, struct authz *out, struct mk_err **err)
{
	*out = (struct authz){0};
	cleanup_free char *list = xstrdup(csv && *csv ? csv : "AlwaysAllow");
	char *save = NULL;
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		enum authz_mode mode;
		if (!strcmp(m, "AlwaysAllow"))
			mode = AUTHZ_ALWAYS_ALLOW;
		else if (!strcmp(m, "AlwaysDeny"))
			mode = AUTHZ_ALWAYS_DENY;
		else if (!strcmp(m, "RBAC"))
			mode = AUTHZ_RBAC;
		else if (!strcmp(m, "Node"))
			mode = AUTHZ_NODE;
		else if (!strcmp(m, "ABAC") || !strcmp(m, "Webhook"))
			return mk_err_set(err, MK_EINVAL,
					  "authorization mode \"%s\" is not supported by this "
					  "server (AlwaysAllow, AlwaysDeny, RBAC, Node)",
					  m);
		else
			return mk_err_set(err, MK_EINVAL, "authorization mode \"%s\" is not a "
							  "valid mode",
					  m);
		for (size_t i = 0; i < out->n; i++)
			if (out->modes[i] == mode)
				return mk_err_set(err, MK_EINVAL,
						  "authorization-mode %s has mode specified more "
						  "than once",
						  m);
		if (out->n == AUTHZ_MAX_MODES)
			return mk_err_set(err, MK_EINVAL, "too many authorization modes");
		out->modes[out->n++] = mode;
	}
	return 0;
}

void authz_attrs_free(struct authz_attrs *a)
{
	free(a->verb);
	free(a->api_group);
	free(a->api_version);
	free(a->namespace);
	free(a->resource);
	free(a->subresource);
	free(a->name);
	free(a->path);
	*a = (struct authz_attrs){0};
}

static char *lower(const char *s)
{
	char *o = xstrdup(s);
	for (char *p = o; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return o;
}

void authz_attrs_parse(const char *method, const char *path, bool watch_query,
		       struct authz_attrs *a)
{
	*a = (struct authz_attrs){0};
	a->path = xstrdup(path);
	a->verb = lower(method);
	a->api_group = xstrdup("");
	a->api_version = xstrdup("");
	a->namespace = xstrdup("");
	a->resource = xstrdup("");
	a->subresource = xstrdup("");
	a->name = xstrdup("");

	/* segments, at most the few a resource URL has */
	char *segs[16];
	size_t n = 0;
	cleanup_free char *copy = xstrdup(path);
	char *save = NULL;
	for (char *s = strtok_r(copy, "/", &save); s && n < 16; s = strtok_r(NULL, "/", &save))
		segs[n++] = s;
	size_t i;
	if (n >= 1 && !strcmp(segs[0], "api"))
		i = 1;
	else if (n >= 1 && !strcmp(segs[0], "apis"))
		i = 2;
	else
		return;
	if (n < i + 2)
		return; /* discovery documents: non-resource */
	free(a->api_group);
	a->api_group = xstrdup(i == 2 ? segs[1] : "");
	free(a->api_version);
	a->api_version = xstrdup(segs[i]);
	i++;
	a->resource_request = true;
	bool watch_prefix = false;
	if (!strcmp(segs[i], "watch")) {
		watch_prefix = true;
		i++;
	}
	const char *verb;
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		verb = "get";
	else if (!strcmp(method, "POST"))
		verb = "create";
	else if (!strcmp(method, "PUT"))
		verb = "update";
	else if (!strcmp(method, "PATCH"))
		verb = "patch";
	else if (!strcmp(method, "DELETE"))
		verb = "delete";
	else
		verb = NULL;
	free(a->verb);
	a->verb = verb ? xstrdup(verb) : lower(method);
	/* namespaces/<ns>/<resource>...; namespaces/<ns>[/status|/finalize] is the
	 * namespace itself, in its own namespace (as upstream's resolver says) */
	if (i < n && !strcmp(segs[i], "namespaces") && i + 1 < n) {
		free(a->namespace);
		a->namespace = xstrdup(segs[i + 1]);
		if (i + 2 < n && strcmp(segs[i + 2], "status") && strcmp(segs[i + 2], "finalize"))
			i += 2;
	}
	if (i < n) {
		free(a->resource);
		a->resource = xstrdup(segs[i]);
		if (i + 1 < n) {
			free(a->name);
			a->name = xstrdup(segs[i + 1]);
		}
		if (i + 2 < n) {
			free(a->subresource);
			a->subresource = xstrdup(segs[i + 2]);
		}
	}
	if (!strcmp(a->verb, "get") && !*a->name) {
		free(a->verb);
		a->verb = xstrdup(watch_query || watch_prefix ? "watch" : "list");
	} else if (!strcmp(a->verb, "get") && watch_prefix) {
		free(a->verb);
		a->verb = xstrdup("watch");
	} else if (!strcmp(a->verb, "delete") && !*a->name) {
		free(a->verb);
		a->verb = xstrdup("deletecollection");
	}
}

bool authz_has_mode(const struct authz *z, enum authz_mode mode)
{
	for (size_t i = 0; i < z->n; i++)
		if (z->modes[i] == mode)
			return true;
	return false;
}

int authz_start(struct authz *z, struct store *st, struct mk_err **err)
{
	if (authz_has_mode(z, AUTHZ_RBAC) && !(z->rbac = rbac_new(st, err)))
		return -1;
	if (authz_has_mode(z, AUTHZ_NODE) && !(z->node = nodeauthz_new(st, err))) {
		authz_stop(z);
		return -1;
	}
	return 0;
}

void authz_stop(struct authz *z)
{
	rbac_free(z->rbac);
	nodeauthz_free(z->node);
	z->rbac = NULL;
	z->node = NULL;
}

static bool in_group(const struct authn_user *u, const char *group)
{
	for (char **g = u->groups; g && *g; g++)
		if (!strcmp(*g, group))
			return true;
	return false;
}

bool authz_allowed(const struct authz *z, const struct authn_user *u,
		   const struct authz_attrs *a, char **reason)
{
	if (reason)
		*reason = NULL;
	if (in_group(u, "system:masters"))
		return true;
	cleanup_buf struct buf why = BUF_INIT;
	for (size_t i = 0; i < z->n; i++) {
		cleanup_free char *r = NULL;
		switch (z->modes[i]) {
		case AUTHZ_ALWAYS_ALLOW:
			return true;
		case AUTHZ_ALWAYS_DENY:
			return false;
		case AUTHZ_RBAC:
			if (z->rbac && rbac_allows(z->rbac, u, a, &r))
				return true;
			break;
		case AUTHZ_NODE:
			if (z->node) {
				enum nodeauthz_decision d = nodeauthz_decide(z->node, u, a, &r);
				if (d == NODEAUTHZ_ALLOW)
					return true;
				if (d == NODEAUTHZ_DENY) {
					if (reason && r)
						*reason = xstrdup(r);
					return false;
				}
			}
			break;
		}
		if (r && *r)
			buf_printf(&why, "%s%s", why.len ? "\n" : "", r);
	}
	if (reason && why.len)
		*reason = xstrdup(buf_str(&why));
	return false; /* no opinion anywhere: denied, as upstream */
}

static void add_rules(json_t *res, json_t *nonres, const json_t *rules)
{
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r)
	{
		json_t *o = json_object();
		json_object_set(o, "verbs", json_object_get(r, "verbs"));
		if (json_array_size(json_object_get(r, "nonResourceURLs"))) {
			json_object_set(o, "nonResourceURLs", json_object_get(r, "nonResourceURLs"));
			json_array_append_new(nonres, o);
			continue;
		}
		static const char *const keys[] = {"apiGroups", "resources", "resourceNames"};
		for (size_t k = 0; k < 3; k++) {
			json_t *v = json_object_get(r, keys[k]);
			if (json_array_size(v))
				json_object_set(o, keys[k], v);
		}
		json_array_append_new(res, o);
	}
}

json_t *authz_rules_review(const struct authz *z, const struct authn_user *u, const char *ns)
{
	json_t *res = json_array(), *nonres = json_array();
	cleanup_buf struct buf errs = BUF_INIT;
	for (size_t i = 0; i < z->n; i++) {
		switch (z->modes[i]) {
		case AUTHZ_ALWAYS_ALLOW: {
			cleanup_json json_t *all = json_pack(
				"[{s:[s], s:[s], s:[s]}, {s:[s], s:[s]}]", "verbs", "*", "apiGroups",
				"*", "resources", "*", "verbs", "*", "nonResourceURLs", "*");
			add_rules(res, nonres, all);
			break;
		}
		case AUTHZ_ALWAYS_DENY:
			break;
		case AUTHZ_RBAC: {
			if (!z->rbac)
				break;
			cleanup_json json_t *errors = NULL;
			cleanup_json json_t *rules = rbac_rules_for(z->rbac, u, ns, &errors);
			add_rules(res, nonres, rules);
			size_t k;
			json_t *e;
			json_array_foreach(errors, k, e)
				buf_printf(&errs, "%s%s", errs.len ? ", " : "", json_string_value(e));
			break;
		}
		case AUTHZ_NODE:
			if (nodeauthz_node_name(u)) {
				cleanup_json json_t *rules =
					rbacpolicy_cluster_role_rules("system:node");
				add_rules(res, nonres, rules);
			}
			break;
		}
	}
	json_t *out = json_pack("{s:o, s:o, s:b}", "resourceRules", res, "nonResourceRules",
				nonres, "incomplete", errs.len > 0);
	if (errs.len)
		json_object_set_new(out, "evaluationError", json_string(buf_str(&errs)));
	return out;
}

/* Go's %q of a []string: ["a" "b"]. */
static void quote_list(struct buf *b, const json_t *arr)
{
	buf_append_char(b, '[');
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		cleanup_free char *q = json_dumps(v, JSON_ENCODE_ANY);
		buf_printf(b, "%s%s", i ? " " : "", q ? q : "\"\"");
	}
	buf_append_char(b, ']');
}

/* Upstream's CompactString of a rule. New string. */
static char *compact_string(const json_t *rule)
{
	static const char *const keys[] = {"apiGroups", "resources", "nonResourceURLs",
					   "resourceNames", "verbs"};
	static const char *const names[] = {"APIGroups", "Resources", "NonResourceURLs",
					    "ResourceNames", "Verbs"};
	cleanup_buf struct buf b = BUF_INIT;
	buf_append_char(&b, '{');
	bool first = true;
	for (size_t k = 0; k < 5; k++) {
		json_t *v = json_object_get(rule, keys[k]);
		if (!json_array_size(v))
			continue;
		buf_printf(&b, "%s%s:", first ? "" : ", ", names[k]);
		quote_list(&b, v);
		first = false;
	}
	buf_append_char(&b, '}');
	return xstrdup(buf_str(&b));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The missing units (one verb each) merged by what they are about, as
 * upstream's CompactRules, then described one a line, sorted. New. */
static char *describe_missing(const json_t *missing)
{
	cleanup_json json_t *merged = json_object();
	size_t i;
	json_t *m;
	json_array_foreach(missing, i, m)
	{
		json_t *copy = json_deep_copy(m);
		json_t *verb = json_incref(json_array_get(json_object_get(copy, "verbs"), 0));
		json_object_del(copy, "verbs");
		cleanup_free char *key = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *have = json_object_get(merged, key);
		if (!have) {
			json_object_set_new(copy, "verbs", json_array());
			json_object_set_new(merged, key, copy);
			have = copy;
		} else {
			json_decref(copy);
		}
		json_array_append_new(json_object_get(have, "verbs"), verb);
	}
	size_t n = json_object_size(merged), k = 0;
	char **lines = xcalloc(n + 1, sizeof(char *));
	const char *key;
	json_t *v;
	json_object_foreach(merged, key, v)
		lines[k++] = compact_string(v);
	qsort(lines, n, sizeof(char *), cmp_str);
	cleanup_buf struct buf b = BUF_INIT;
	for (k = 0; k < n; k++) {
		buf_printf(&b, "%s%s", k ? "\n" : "", lines[k]);
		free(lines[k]);
	}
	free(lines);
	return xstrdup(buf_str(&b));
}

json_t *authz_escalation_check(const struct authz *z, const struct authn_user *u,
			       const struct api_resource *r, const json_t *obj)
{
	if (in_group(u, "system:masters"))
		return NULL;
	const char *name = json_string_value(json_path_get(obj, "metadata.name"));
	const char *ns = json_string_value(json_path_get(obj, "metadata.namespace"));
	name = name ? name : "";
	ns = ns && r->namespaced ? ns : "";
	bool binding = strstr(r->resource, "bindings") != NULL;
	const char *ref_kind = json_string_value(json_path_get(obj, "roleRef.kind"));
	const char *ref_name = json_string_value(json_path_get(obj, "roleRef.name"));
	ref_kind = ref_kind ? ref_kind : "";
	ref_name = ref_name ? ref_name : "";
	struct authz_attrs a = {
		.resource_request = true,
		.verb = (char *)(binding ? "bind" : "escalate"),
		.api_group = (char *)"rbac.authorization.k8s.io",
		.api_version = (char *)"v1",
		.namespace = (char *)ns,
		.resource = (char *)(!binding ? r->resource
				     : !strcmp(ref_kind, "Role") ? "roles"
								   : "clusterroles"),
		.subresource = (char *)"",
		.name = (char *)(binding ? ref_name : name),
		.path = (char *)"",
	};
	if (authz_allowed(z, u, &a, NULL))
		return NULL;
	cleanup_json json_t *rules = NULL;
	if (binding) {
		rules = z->rbac ? rbac_role_rules(z->rbac, ref_kind, ns, ref_name) : NULL;
		if (!rules) {
			cleanup_free char *msg =
				xasprintf("%s.rbac.authorization.k8s.io \"%s\" not found",
					  !strcmp(ref_kind, "Role") ? "role" : "clusterrole", ref_name);
			return status_bad_request(msg);
		}
	} else {
		json_t *rr = json_object_get(obj, "rules");
		rules = json_is_array(rr) ? json_incref(rr) : json_array();
	}
	cleanup_json json_t *errors = NULL;
	cleanup_json json_t *owner =
		z->rbac ? rbac_rules_for(z->rbac, u, ns, &errors) : json_array();
	cleanup_json json_t *missing = NULL;
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
		rbac_rules_cover(owner, rule, &missing);
	if (!missing)
		return NULL;
	cleanup_json json_t *groups = json_array();
	for (char **g = u->groups; g && *g; g++)
		json_array_append_new(groups, json_string(*g));
	cleanup_buf struct buf msg = BUF_INIT;
	buf_printf(&msg, "user \"%s\" (groups=", u->name);
	quote_list(&msg, groups);
	cleanup_free char *lines = describe_missing(missing);
	buf_printf(&msg, ") is attempting to grant RBAC permissions not currently held:\n%s",
		   lines);
	if (json_array_size(errors)) {
		buf_printf(&msg, "; resolution errors: [");
		json_t *e;
		json_array_foreach(errors, i, e)
			buf_printf(&msg, "%s%s", i ? " " : "", json_string_value(e));
		buf_printf(&msg, "]");
	}
	return status_forbidden(r, name, buf_str(&msg));
}

char *authz_describe(const struct authz_attrs *a)
{
	if (!a->resource_request)
		return xasprintf("%s path \"%s\"", a->verb, a->path);
	cleanup_free char *res = *a->subresource ? xasprintf("%s/%s", a->resource, a->subresource)
						 : xstrdup(a->resource);
	cleanup_free char *scope = *a->namespace ? xasprintf("in the namespace \"%s\"",
							      a->namespace)
						 : xstrdup("at the cluster scope");
	return xasprintf("%s resource \"%s\" in API group \"%s\" %s", a->verb, res,
			 a->api_group, scope);
}

json_t *authz_forbidden_status(const struct authn_user *u, const struct authz_attrs *a,
			       const char *reason)
{
	cleanup_free char *what = authz_describe(a);
	cleanup_free char *suffix = reason && *reason ? xasprintf(": %s", reason) : xstrdup("");
	if (!a->resource_request) {
		cleanup_free char *msg =
			xasprintf("forbidden: User \"%s\" cannot %s%s", u->name, what, suffix);
		return status_failure(403, "Forbidden", msg, json_object());
	}
	cleanup_free char *why = xasprintf("User \"%s\" cannot %s%s", u->name, what, suffix);
	cleanup_free char *qual = *a->api_group ? xasprintf("%s.%s", a->resource, a->api_group)
						: xstrdup(a->resource);
	cleanup_free char *msg = *a->name
					 ? xasprintf("%s \"%s\" is forbidden: %s", qual, a->name, why)
					 : xasprintf("%s is forbidden: %s", qual, why);
	json_t *d = json_object();
	if (*a->name)
		json_object_set_new(d, "name", json_string(a->name));
	if (*a->api_group)
		json_object_set_new(d, "group", json_string(a->api_group));
	json_object_set_new(d, "kind", json_string(a->resource));
	return status_failure(403, "Forbidden", msg, d);
}
