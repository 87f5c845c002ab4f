/* rbac.authorization.k8s.io/v1: Roles, ClusterRoles, RoleBindings and
 * ClusterRoleBindings — upstream's defaults, validation and printers. */
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "names.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

#define RBAC_GROUP "rbac.authorization.k8s.io"

const char *kinds_rbac_check_name(const char *name)
{
	if (!strcmp(name, "."))
		return "may not be '.'";
	if (!strcmp(name, ".."))
		return "may not be '..'";
	if (strchr(name, '/'))
		return "may not contain '/'";
	if (strchr(name, '%'))
		return "may not contain '%'";
	return NULL;
}

static bool str_empty(const char *s)
{
	return !s || !*s;
}

/* --- defaults ------------------------------------------------------------------ */

static void subjects_defaults(json_t *obj)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(obj, "subjects"), i, s)
	{
		if (!json_is_object(s) ||
		    !str_empty(json_string_value(json_object_get(s, "apiGroup"))))
			continue;
		const char *kind = json_string_value(json_object_get(s, "kind"));
		if (kind && (!strcmp(kind, "User") || !strcmp(kind, "Group")))
			json_object_set_new(s, "apiGroup", json_string(RBAC_GROUP));
	}
}

void kinds_rbac_binding_defaults(json_t *obj)
{
	json_t *ref = json_object_get(obj, "roleRef");
	if (json_is_object(ref) && str_empty(json_string_value(json_object_get(ref, "apiGroup"))))
		json_object_set_new(ref, "apiGroup", json_string(RBAC_GROUP));
	subjects_defaults(obj);
}

/* --- validation ----------------------------------------------------------------- */

static void validate_rules(const json_t *obj, bool namespaced, json_t *causes)
{
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(obj, "rules"), i, rule)
	{
		cleanup_free char *verbs = xasprintf("rules[%zu].verbs", i);
		cleanup_free char *nr = xasprintf("rules[%zu].nonResourceURLs", i);
		cleanup_free char *groups = xasprintf("rules[%zu].apiGroups", i);
		cleanup_free char *res = xasprintf("rules[%zu].resources", i);
		if (!json_array_size(json_object_get(rule, "verbs")))
			api_cause_add(causes, "FieldValueRequired", verbs,
				      "Required value: verbs must contain at least one value");
		json_t *urls = json_object_get(rule, "nonResourceURLs");
		if (json_array_size(urls)) {
			cleanup_free char *v = kinds_go_value(urls);
			if (namespaced)
				api_cause_add(causes, "FieldValueInvalid", nr,
					      "Invalid value: %s: namespaced rules cannot apply to "
					      "non-resource URLs",
					      v);
			if (json_array_size(json_object_get(rule, "apiGroups")) ||
			    json_array_size(json_object_get(rule, "resources")) ||
			    json_array_size(json_object_get(rule, "resourceNames")))
				api_cause_add(
					causes, "FieldValueInvalid", nr,
					"Invalid value: %s: rules cannot apply to both regular "
					"resources and non-resource URLs",
					v);
			continue;
		}
		if (!json_array_size(json_object_get(rule, "apiGroups")))
			api_cause_add(causes, "FieldValueRequired", groups,
				      "Required value: resource rules must supply at least one api "
				      "group");
		if (!json_array_size(json_object_get(rule, "resources")))
			api_cause_add(causes, "FieldValueRequired", res,
				      "Required value: resource rules must supply at least one "
				      "resource");
	}
}

void kinds_role_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	validate_rules(obj, true, causes);
}

void kinds_clusterrole_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	validate_rules(obj, false, causes);
	json_t *agg = json_object_get(obj, "aggregationRule");
	if (!agg || json_is_null(agg))
		return;
	json_t *sels = json_object_get(agg, "clusterRoleSelectors");
	if (!json_array_size(sels)) {
		api_cause_add(causes, "FieldValueRequired", "aggregationRule.clusterRoleSelectors",
			      "Required value: at least one clusterRoleSelector required if "
			      "aggregationRule is non-nil");
		return;
	}
	size_t i;
	json_t *sel;
	json_array_foreach(sels, i, sel)
	{
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(sel, "matchLabels"), k, v)
		{
			cleanup_free char *field = xasprintf(
				"aggregationRule.clusterRoleSelectors[%zu].matchLabels", i);
			cleanup_free char *kmsg = names_check_qualified_name(k);
			if (kmsg)
				api_cause_add(causes, "FieldValueInvalid", field,
					      "Invalid value: \"%s\": %s", k, kmsg);
			const char *val = json_string_value(v);
			cleanup_free char *vmsg = val ? names_check_label_value(val) : NULL;
			if (vmsg)
				api_cause_add(causes, "FieldValueInvalid", field,
					      "Invalid value: \"%s\": %s", val, vmsg);
		}
	}
}

static void validate_subjects(const json_t *obj, bool namespaced, json_t *causes)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(obj, "subjects"), i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *kind = json_string_value(json_object_get(s, "kind"));
		const char *group = json_string_value(json_object_get(s, "apiGroup"));
		const char *ns = json_string_value(json_object_get(s, "namespace"));
		cleanup_free char *fname = xasprintf("subjects[%zu].name", i);
		cleanup_free char *fkind = xasprintf("subjects[%zu].kind", i);
		cleanup_free char *fgroup = xasprintf("subjects[%zu].apiGroup", i);
		cleanup_free char *fns = xasprintf("subjects[%zu].namespace", i);
		if (str_empty(name))
			api_cause_add(causes, "FieldValueRequired", fname, "Required value");
		if (kind && !strcmp(kind, "ServiceAccount")) {
			const char *msg =
				str_empty(name) ? NULL : names_check_dns1123_subdomain(name);
			if (msg)
				api_cause_add(causes, "FieldValueInvalid", fname,
					      "Invalid value: \"%s\": %s", name, msg);
			if (!str_empty(group))
				api_cause_add(causes, "FieldValueNotSupported", fgroup,
					      "Unsupported value: \"%s\": supported values: \"\"",
					      group);
			if (!namespaced && str_empty(ns))
				api_cause_add(causes, "FieldValueRequired", fns, "Required value");
		} else if (kind && (!strcmp(kind, "User") || !strcmp(kind, "Group"))) {
			if (!group || strcmp(group, RBAC_GROUP))
				api_cause_add(causes, "FieldValueNotSupported", fgroup,
					      "Unsupported value: \"%s\": supported values: \"%s\"",
					      group ? group : "", RBAC_GROUP);
		} else {
			api_cause_add(causes, "FieldValueNotSupported", fkind,
				      "Unsupported value: \"%s\": supported values: "
				      "\"ServiceAccount\", \"User\", \"Group\"",
				      kind ? kind : "");
		}
	}
}

static void validate_binding(const json_t *obj, const json_t *old, bool namespaced, json_t *causes)
{
	json_t *ref = json_object_get(obj, "roleRef");
	const char *group = json_string_value(json_object_get(ref, "apiGroup"));
	const char *kind = json_string_value(json_object_get(ref, "kind"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!group || strcmp(group, RBAC_GROUP))
		api_cause_add(causes, "FieldValueNotSupported", "roleRef.apiGroup",
			      "Unsupported value: \"%s\": supported values: \"%s\"",
			      group ? group : "", RBAC_GROUP);
	bool kind_ok =
		kind && (!strcmp(kind, "ClusterRole") || (namespaced && !strcmp(kind, "Role")));
	if (!kind_ok)
		api_cause_add(causes, "FieldValueNotSupported", "roleRef.kind",
			      namespaced ? "Unsupported value: \"%s\": supported values: \"Role\", "
					   "\"ClusterRole\""
					 : "Unsupported value: \"%s\": supported values: "
					   "\"ClusterRole\"",
			      kind ? kind : "");
	if (str_empty(name)) {
		api_cause_add(causes, "FieldValueRequired", "roleRef.name", "Required value");
	} else {
		const char *msg = kinds_rbac_check_name(name);
		if (msg)
			api_cause_add(causes, "FieldValueInvalid", "roleRef.name",
				      "Invalid value: \"%s\": %s", name, msg);
	}
	validate_subjects(obj, namespaced, causes);
	if (old && !json_equal(json_object_get(old, "roleRef"), ref)) {
		json_t *oref = json_object_get(old, "roleRef");
		api_cause_add(causes, "FieldValueInvalid", "roleRef",
			      "Invalid value: rbac.RoleRef{APIGroup:\"%s\", Kind:\"%s\", "
			      "Name:\"%s\"}: cannot change roleRef",
			      printer_str(oref, "apiGroup"), printer_str(oref, "kind"),
			      printer_str(oref, "name"));
	}
}

void kinds_rolebinding_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	validate_binding(obj, old, true, causes);
}

void kinds_clusterrolebinding_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	validate_binding(obj, old, false, causes);
}

/* --- printers -------------------------------------------------------------------- */

const struct table_column kinds_rolebinding_columns[] = {
	NAME_COLUMN,
	COLUMN("Role", "string",
	       "RoleRef can reference a Role in the current namespace or a ClusterRole in the "
	       "global namespace. If the RoleRef cannot be resolved, the Authorizer must return an "
	       "error. This field is immutable.",
	       0),
	AGE_COLUMN,
	COLUMN("Users", "string", "Users in the roleBinding", 1),
	COLUMN("Groups", "string", "Groups in the roleBinding", 1),
	COLUMN("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
	{.name = NULL},
};

void kinds_rolebinding_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	cleanup_free char *ref = xasprintf("%s/%s", printer_str(obj, "roleRef.kind"),
					   printer_str(obj, "roleRef.name"));
	json_array_append_new(cells, json_string(ref));
	printer_cell_age(obj, now, cells);
	cleanup_buf struct buf users = BUF_INIT, groups = BUF_INIT, sas = BUF_INIT;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(obj, "subjects"), i, s)
	{
		const char *kind = printer_str(s, "kind");
		const char *name = printer_str(s, "name");
		if (!strcmp(kind, "User"))
			buf_printf(&users, "%s%s", users.len ? ", " : "", name);
		else if (!strcmp(kind, "Group"))
			buf_printf(&groups, "%s%s", groups.len ? ", " : "", name);
		else if (!strcmp(kind, "ServiceAccount"))
			buf_printf(&sas, "%s%s/%s", sas.len ? ", " : "",
				   printer_str(s, "namespace"), name);
	}
	json_array_append_new(cells, json_string(buf_str(&users)));
	json_array_append_new(cells, json_string(buf_str(&groups)));
	json_array_append_new(cells, json_string(buf_str(&sas)));
}
