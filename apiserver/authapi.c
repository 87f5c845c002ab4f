#include "apiserver/authapi.h"

#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/apiserver-internal.h"
#include "apiserver/authn.h"
#include "apiserver/handlers.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"
#include "apiserver/status.h"
#include "apiserver/store.h"

/* TokenRequest bounds, as upstream's validation: at least 10 minutes, at
 * most 2^32 seconds; 1 hour when not asked. */
#define TOKEN_MIN_S 600
#define TOKEN_MAX_S 4294967296LL
#define TOKEN_DEFAULT_S 3600

json_t *authapi_body_object(struct api_request *rq, const char *kind)
{
	json_t *status = NULL;
	json_t *obj = handlers_decode_body(rq, kind, &status);
	if (!obj) {
		req_reply_status(rq, status);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		req_reply_status(rq, status_bad_request("the body of the request must be a JSON "
							"object"));
		return NULL;
	}
	return obj;
}

json_t *authapi_review_answer(const json_t *in, const char *api_version, const char *kind)
{
	json_t *out = json_pack("{s:s, s:s}", "kind", kind, "apiVersion", api_version);
	json_t *md = json_deep_copy(json_object_get(in, "metadata"));
	if (!json_is_object(md)) {
		json_decref(md);
		md = json_object();
	}
	if (!json_object_get(md, "creationTimestamp"))
		json_object_set_new(md, "creationTimestamp", json_null());
	json_object_set_new(out, "metadata", md);
	return out;
}

void authapi_review(struct api_request *rq, const char *resource)
{
	rq->m_verb = "POST";
	bool self = !strcmp(resource, "selfsubjectreviews");
	if (!self && strcmp(resource, "tokenreviews")) {
		req_reply_status(rq, status_no_route());
		return;
	}
	rq->m_resource = xstrdup(resource);
	if (strcmp(rq->method, "POST")) {
		req_reply_status(rq, status_method_not_allowed());
		return;
	}
	const char *kind = self ? "SelfSubjectReview" : "TokenReview";
	cleanup_json json_t *in = authapi_body_object(rq, kind);
	if (!in)
		return;
	json_t *out = authapi_review_answer(in, "authentication.k8s.io/v1", kind);
	if (self) {
		struct authn_user *unsecured = rq->user ? NULL : authn_user_unsecured();
		json_object_set_new(out, "status",
				    json_pack("{s:o}", "userInfo",
					      authn_user_json(rq->user ? rq->user : unsecured)));
		authn_user_free(unsecured);
		req_reply_json(rq, 201, out, NULL);
		return;
	}
	json_t *spec = json_object_get(in, "spec");
	const char *token = json_string_value(json_object_get(spec, "token"));
	json_object_set_new(out, "spec", json_deep_copy(spec ? spec : json_object()));
	if (!token || !*token) {
		json_decref(out);
		json_t *causes = json_array();
		api_cause_add(causes, "FieldValueRequired", "spec.token", "Required value");
		cleanup_free char *what = api_causes_message(causes);
		cleanup_free char *msg = xasprintf("TokenReview.authentication.k8s.io \"\" is "
						   "invalid: %s",
						   what);
		json_t *d = json_pack("{s:s, s:s, s:o}", "group", "authentication.k8s.io", "kind",
				      "TokenReview", "causes", causes);
		req_reply_status(rq, status_failure(422, "Invalid", msg, d));
		return;
	}
	/* spec.audiences: the token must be meant for one of them */
	json_t *auds = json_object_get(spec, "audiences");
	size_t na = json_array_size(auds);
	const char **want = NULL;
	if (na) {
		want = xcalloc(na + 1, sizeof(char *));
		size_t k = 0, i;
		json_t *v;
		json_array_foreach(auds, i, v)
			if (json_is_string(v))
				want[k++] = json_string_value(v);
	}
	struct authn_user *u = NULL;
	json_t *matched = NULL;
	cleanup_err struct mk_err *err = NULL;
	json_t *status = json_object();
	if (!rq->srv->authn) {
		json_object_set_new(status, "error",
				    json_string("authentication is not configured on this port"));
	} else if (authn_token(rq->srv->authn, token, want, &u, &matched, &err) == 0) {
		json_object_set_new(status, "authenticated", json_true());
		json_object_set_new(status, "user", authn_user_json(u));
		json_object_set_new(status, "audiences",
				    matched ? matched
					    : (auds ? json_deep_copy(auds) : json_array()));
		matched = NULL;
	} else {
		json_object_set_new(status, "user", json_object());
		json_object_set_new(status, "error", json_string(mk_err_msg(err)));
	}
	json_decref(matched);
	authn_user_free(u);
	free(want);
	json_object_set_new(out, "status", status);
	req_reply_json(rq, 201, out, NULL);
}

static json_t *load(struct api_request *rq, const char *resource, const char *ns,
		    const char *name, struct mk_err **err)
{
	const struct api_resource *r = api_resource_find("", "v1", resource);
	cleanup_free char *key = api_key(r, ns, name);
	struct store_kv kv = {0};
	if (store_get(rq->srv->st, key, &kv, err) < 0)
		return NULL;
	json_t *obj = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	if (!obj)
		mk_err_set(err, MK_EINTERNAL, "stored %s %s/%s is not JSON", resource, ns, name);
	return obj;
}

static void reply_invalid(struct api_request *rq, const char *name, const char *field,
			  const char *reason, const char *text)
{
	json_t *causes = json_array();
	api_cause_add(causes, reason, field, "%s", text);
	cleanup_free char *what = api_causes_message(causes);
	cleanup_free char *msg = xasprintf("TokenRequest.authentication.k8s.io \"%s\" is invalid: %s",
					   name, what);
	json_t *d = json_pack("{s:s, s:s, s:s, s:o}", "name", name, "group",
			      "authentication.k8s.io", "kind", "TokenRequest", "causes", causes);
	req_reply_status(rq, status_failure(422, "Invalid", msg, d));
}

void authapi_token_request(struct api_request *rq, const char *ns, const char *name)
{
	const struct api_resource *sar = api_resource_find("", "v1", "serviceaccounts");
	rq->m_verb = "POST";
	rq->m_resource = xstrdup("serviceaccounts");
	if (strcmp(rq->method, "POST")) {
		req_reply_status(rq, status_method_not_allowed());
		return;
	}
	cleanup_json json_t *in = authapi_body_object(rq, "TokenRequest");
	if (!in)
		return;
	json_t *spec = json_object_get(in, "spec");
	json_t *exp = json_object_get(spec, "expirationSeconds");
	int64_t lifetime = TOKEN_DEFAULT_S;
	if (exp && !json_is_null(exp)) {
		if (!json_is_integer(exp)) {
			req_reply_status(rq, status_bad_request("spec.expirationSeconds must be an "
								"integer"));
			return;
		}
		lifetime = json_integer_value(exp);
	}
	if (lifetime < TOKEN_MIN_S) {
		reply_invalid(rq, name, "spec.expirationSeconds", "FieldValueInvalid",
			      "may not specify a duration less than 10 minutes");
		return;
	}
	if (lifetime > TOKEN_MAX_S) {
		reply_invalid(rq, name, "spec.expirationSeconds", "FieldValueTooLong",
			      "may not specify a duration larger than 2^32 seconds");
		return;
	}
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *sa = load(rq, "serviceaccounts", ns, name, &err);
	if (!sa) {
		req_reply_status(rq, mk_err_code(err) == MK_ENOTFOUND
					     ? status_not_found(sar, name)
					     : status_from_err(err, sar, name));
		return;
	}
	/* boundObjectRef: a Pod of the namespace, with its uid */
	cleanup_json json_t *pod = NULL;
	json_t *ref = json_object_get(spec, "boundObjectRef");
	if (json_is_object(ref)) {
		const char *kind = json_string_value(json_object_get(ref, "kind"));
		const char *pname = json_string_value(json_object_get(ref, "name"));
		const char *puid = json_string_value(json_object_get(ref, "uid"));
		if (!kind || strcmp(kind, "Pod")) {
			reply_invalid(rq, name, "spec.boundObjectRef.kind", "FieldValueNotSupported",
				      "supported values: \"Pod\"");
			return;
		}
		mk_err_free(err);
		err = NULL;
		pod = pname ? load(rq, "pods", ns, pname, &err) : NULL;
		const char *have = json_string_value(
			json_object_get(json_object_get(pod, "metadata"), "uid"));
		if (!pod || (puid && *puid && (!have || strcmp(have, puid)))) {
			const struct api_resource *pr = api_resource_find("", "v1", "pods");
			req_reply_status(rq, status_not_found(pr, pname ? pname : ""));
			return;
		}
	}
	int64_t expires = 0;
	mk_err_free(err);
	err = NULL;
	cleanup_free char *token =
		rq->srv->authn ? authn_sa_token_issue(rq->srv->authn, sa, pod,
						      json_object_get(spec, "audiences"), lifetime,
						      &expires, &err)
			       : NULL;
	if (!token) {
		cleanup_free char *msg = xstrdup(
			err ? mk_err_msg(err)
			    : "token request is not supported without "
			      "--service-account-signing-key-file");
		req_reply_status(rq, status_failure(500, "InternalError", msg, NULL));
		return;
	}
	json_t *out = json_pack("{s:s, s:s}", "kind", "TokenRequest", "apiVersion",
				"authentication.k8s.io/v1");
	cleanup_free char *now = time_now_rfc3339();
	json_object_set_new(out, "metadata",
			    json_pack("{s:s, s:s, s:s}", "name", name, "namespace", ns,
				      "creationTimestamp", now));
	json_t *ospec = json_deep_copy(json_is_object(spec) ? spec : json_object());
	json_object_set_new(ospec, "expirationSeconds", json_integer(lifetime));
	if (!json_array_size(json_object_get(ospec, "audiences")))
		json_object_set_new(ospec, "audiences", authn_audiences(rq->srv->authn));
	json_object_set_new(out, "spec", ospec);
	cleanup_free char *exp_text = time_rfc3339((time_t)expires);
	json_object_set_new(out, "status", json_pack("{s:s, s:s}", "token", token,
						     "expirationTimestamp", exp_text));
	req_reply_json(rq, 201, out, NULL);
}
