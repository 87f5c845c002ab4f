#include "apiserver/authzapi.h"

#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/authapi.h"
#include "apiserver/authn.h"
#include "apiserver/authz.h"
#include "apiserver/handlers.h"
#include "apiserver/resource.h"
#include "apiserver/status.h"

#define GROUP "authorization.k8s.io"

static void reply_invalid(struct api_request *rq, const char *kind, json_t *causes)
{
	cleanup_free char *what = api_causes_message(causes);
	cleanup_free char *msg = xasprintf("%s.%s \"\" is invalid: %s", kind, GROUP, what);
	json_t *d = json_pack("{s:s, s:s, s:O}", "group", GROUP, "kind", kind, "causes", causes);
	req_reply_status(rq, status_failure(422, "Invalid", msg, d));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The attributes a spec asks about (resourceAttributes or
 * nonResourceAttributes), as the request resolver would have read them. */
static void spec_attrs(const json_t *spec, struct authz_attrs *a)
{
	json_t *ra = json_object_get(spec, "resourceAttributes");
	json_t *na = json_object_get(spec, "nonResourceAttributes");
	*a = (struct authz_attrs){0};
	a->resource_request = json_is_object(ra);
	const json_t *src = a->resource_request ? ra : na;
	a->verb = xstrdup(str(src, "verb"));
	a->api_group = xstrdup(str(ra, "group"));
	a->api_version = xstrdup(str(ra, "version"));
	a->namespace = xstrdup(str(ra, "namespace"));
	a->resource = xstrdup(str(ra, "resource"));
	a->subresource = xstrdup(str(ra, "subresource"));
	a->name = xstrdup(str(ra, "name"));
	a->path = xstrdup(str(na, "path"));
}

/* Upstream's field.Invalid value text of an attributes pointer. */
static char *attrs_value(const json_t *v)
{
	if (!v)
		return xstrdup("null");
	char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	return t ? t : xstrdup("{}");
}

static void validate_attrs(const json_t *spec, json_t *causes)
{
	json_t *ra = json_object_get(spec, "resourceAttributes");
	json_t *na = json_object_get(spec, "nonResourceAttributes");
	if (ra && na) {
		cleanup_free char *v = attrs_value(na);
		api_cause_add(causes, "FieldValueInvalid", "spec.nonResourceAttributes",
			      "Invalid value: %s: cannot be specified in combination with "
			      "resourceAttributes",
			      v);
	}
	if (!ra && !na)
		api_cause_add(causes, "FieldValueInvalid", "spec.resourceAttributes",
			      "Invalid value: \"null\": exactly one of nonResourceAttributes or "
			      "resourceAttributes must be specified");
}

/* The user a SubjectAccessReview's spec names. New. */
static struct authn_user *spec_user(const json_t *spec)
{
	struct authn_user *u = authn_user_new(str(spec, "user"), str(spec, "uid"));
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(spec, "groups"), i, g)
	{
		if (json_is_string(g))
			authn_user_add_group(u, json_string_value(g));
	}
	json_t *extra = json_object_get(spec, "extra");
	if (json_is_object(extra))
		u->extra = json_deep_copy(extra);
	return u;
}

static json_t *answer(const json_t *in, const char *kind, json_t *spec)
{
	json_t *out = authapi_review_answer(in, GROUP "/v1", kind);
	json_object_set_new(out, "spec", spec);
	return out;
}

static void access_review(struct api_request *rq, const char *ns, const char *kind, bool self)
{
	cleanup_json json_t *in = authapi_body_object(rq, kind);
	if (!in)
		return;
	json_t *spec = json_object_get(in, "spec");
	if (!json_is_object(spec))
		spec = NULL;
	cleanup_json json_t *causes = json_array();
	validate_attrs(spec, causes);
	if (!self && !*str(spec, "user") && !json_array_size(json_object_get(spec, "groups"))) {
		api_cause_add(causes, "FieldValueInvalid", "spec.user",
			      "Invalid value: \"\": at least one of user or group must be "
			      "specified");
	}
	if (ns && json_object_get(spec, "nonResourceAttributes")) {
		cleanup_free char *v = attrs_value(json_object_get(spec, "nonResourceAttributes"));
		api_cause_add(causes, "FieldValueInvalid", "spec.nonResourceAttributes",
			      "Invalid value: %s: disallowed on this kind of request", v);
	}
	if (json_array_size(causes)) {
		reply_invalid(rq, kind, causes);
		return;
	}
	json_t *ra = json_object_get(spec, "resourceAttributes");
	if (ns && ra && strcmp(str(ra, "namespace"), ns)) {
		cleanup_free char *msg = xasprintf(
			"Operation cannot be fulfilled on localsubjectaccessreviews.%s \"%s\": "
			"spec.resourceAttributes.namespace must match namespace: %s",
			GROUP, str(json_object_get(in, "metadata"), "name"), ns);
		json_t *d = json_pack("{s:s, s:s}", "group", GROUP, "kind",
				      "localsubjectaccessreviews");
		req_reply_status(rq, status_failure(409, "Conflict", msg, d));
		return;
	}
	struct authn_user *who;
	if (self)
		who = rq->user ? NULL : authn_user_unsecured();
	else
		who = spec_user(spec);
	const struct authn_user *u = self && rq->user ? rq->user : who;
	struct authz_attrs a;
	spec_attrs(spec, &a);
	cleanup_free char *reason = NULL;
	bool allowed = authz_allowed(rq->srv->authz, u, &a, &reason);
	authz_attrs_free(&a);
	authn_user_free(who);
	json_t *out = answer(in, kind, json_deep_copy(spec));
	json_t *st = json_pack("{s:b}", "allowed", allowed);
	if (reason && *reason)
		json_object_set_new(st, "reason", json_string(reason));
	json_object_set_new(out, "status", st);
	if (ns)
		json_path_set(out, "metadata.namespace", json_string(ns));
	req_reply_json(rq, 201, out, NULL);
}

static void rules_review(struct api_request *rq)
{
	cleanup_json json_t *in = authapi_body_object(rq, "SelfSubjectRulesReview");
	if (!in)
		return;
	json_t *spec = json_object_get(in, "spec");
	const char *ns = str(spec, "namespace");
	struct authn_user *unsecured = rq->user ? NULL : authn_user_unsecured();
	json_t *st = authz_rules_review(rq->srv->authz, rq->user ? rq->user : unsecured, ns);
	authn_user_free(unsecured);
	json_t *out = answer(in, "SelfSubjectRulesReview",
			     json_is_object(spec) ? json_deep_copy(spec) : json_object());
	json_object_set_new(out, "status", st);
	req_reply_json(rq, 201, out, NULL);
}

void authzapi_review(struct api_request *rq, const char *ns, const char *resource)
{
	rq->m_verb = "POST";
	static const char *const served[] = {"subjectaccessreviews", "selfsubjectaccessreviews",
					     "selfsubjectrulesreviews",
					     "localsubjectaccessreviews"};
	bool known = false;
	for (size_t i = 0; i < 4; i++)
		known = known || !strcmp(resource, served[i]);
	if (!known || (ns != NULL) != !strcmp(resource, "localsubjectaccessreviews")) {
		req_reply_status(rq, status_no_route());
		return;
	}
	rq->m_resource = xstrdup(resource);
	if (strcmp(rq->method, "POST")) {
		req_reply_status(rq, status_method_not_allowed());
		return;
	}
	if (!strcmp(resource, "selfsubjectrulesreviews"))
		rules_review(rq);
	else if (!strcmp(resource, "selfsubjectaccessreviews"))
		access_review(rq, NULL, "SelfSubjectAccessReview", true);
	else if (!strcmp(resource, "subjectaccessreviews"))
		access_review(rq, NULL, "SubjectAccessReview", false);
	else
		access_review(rq, ns, "LocalSubjectAccessReview", false);
}
