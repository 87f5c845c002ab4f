/* authz: request attributes read off URLs as upstream's RequestInfoFactory
 * reads them, the mode chain, and upstream's 403 wording. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "apiserver/authz.h"

struct want {
	const char *method, *path;
	bool watch;
	bool resource;
	const char *verb, *group, *ns, *resource_name, *sub, *name;
};

static const struct want cases[] = {
	{"GET", "/api", false, false, "get", "", "", "", "", ""},
	{"GET", "/apis/apps/v1", false, false, "get", "", "", "", "", ""},
	{"GET", "/healthz", false, false, "get", "", "", "", "", ""},
	{"GET", "/api/v1/pods", false, true, "list", "", "", "pods", "", ""},
	{"GET", "/api/v1/pods", true, true, "watch", "", "", "pods", "", ""},
	{"GET", "/api/v1/watch/namespaces/ns/pods/p", false, true, "watch", "", "ns", "pods", "",
	 "p"},
	{"GET", "/api/v1/namespaces/ns/pods/p/log", false, true, "get", "", "ns", "pods", "log",
	 "p"},
	{"POST", "/api/v1/namespaces/ns/serviceaccounts/sa/token", false, true, "create", "", "ns",
	 "serviceaccounts", "token", "sa"},
	{"DELETE", "/apis/apps/v1/namespaces/ns/deployments", false, true, "deletecollection",
	 "apps", "ns", "deployments", "", ""},
	{"PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", false, true, "patch", "apps",
	 "ns", "deployments", "scale", "d"},
	{"GET", "/api/v1/namespaces/ns", false, true, "get", "", "ns", "namespaces", "", "ns"},
	{"PUT", "/api/v1/namespaces/ns/finalize", false, true, "update", "", "ns", "namespaces",
	 "finalize", "ns"},
	{"GET", "/api/v1/namespaces", false, true, "list", "", "", "namespaces", "", ""},
	{"GET", "/api/v1/nodes/n1", false, true, "get", "", "", "nodes", "", "n1"},
	{"POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", false, true, "create",
	 "authentication.k8s.io", "", "selfsubjectreviews", "", ""},
};

static void test_attrs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *w = &cases[i];
		struct authz_attrs a;
		authz_attrs_parse(w->method, w->path, w->watch, &a);
		if (a.resource_request != w->resource || strcmp(a.verb, w->verb) ||
		    strcmp(a.api_group, w->group) || strcmp(a.namespace, w->ns) ||
		    strcmp(a.resource, w->resource_name) || strcmp(a.subresource, w->sub) ||
		    strcmp(a.name, w->name))
			fail_msg("%s %s: got %d %s group=%s ns=%s res=%s sub=%s name=%s", w->method,
				 w->path, a.resource_request, a.verb, a.api_group, a.namespace,
				 a.resource, a.subresource, a.name);
		authz_attrs_free(&a);
	}
}

static void test_modes(void **state)
{
	(void)state;
	struct authz z;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(authz_parse(NULL, &z, &err), 0);
	struct authn_user u = {.name = "bob", .groups = (char *[]){NULL}};
	struct authz_attrs a;
	authz_attrs_parse("GET", "/api/v1/pods", false, &a);
	assert_true(authz_allowed(&z, &u, &a, NULL));
	assert_int_equal(authz_parse("AlwaysDeny,AlwaysAllow", &z, &err), 0);
	assert_false(authz_allowed(&z, &u, &a, NULL));
	authz_attrs_free(&a);
	assert_int_equal(authz_parse("AlwaysAllow,AlwaysAllow", &z, &err), -1);
	assert_string_equal(mk_err_msg(err),
			    "authorization-mode AlwaysAllow has mode specified more than once");
	mk_err_free(err);
	err = NULL;
	assert_int_equal(authz_parse("Magic", &z, &err), -1);
	assert_string_equal(mk_err_msg(err), "authorization mode \"Magic\" is not a valid mode");
}

static void test_forbidden(void **state)
{
	(void)state;
	struct authn_user u = {.name = "system:anonymous", .groups = (char *[]){NULL}};
	struct authz_attrs a;
	authz_attrs_parse("GET", "/apis/apps/v1/namespaces/ns/deployments/web", false, &a);
	cleanup_json json_t *s = authz_forbidden_status(&u, &a, NULL);
	authz_attrs_free(&a);
	cleanup_free char *text = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(
		text, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
		      "\"Failure\",\"message\":\"deployments.apps \\\"web\\\" is forbidden: User "
		      "\\\"system:anonymous\\\" cannot get resource \\\"deployments\\\" in API group "
		      "\\\"apps\\\" in the namespace \\\"ns\\\"\",\"reason\":\"Forbidden\",\"details\":"
		      "{\"name\":\"web\",\"group\":\"apps\",\"kind\":\"deployments\"},\"code\":403}");
	authz_attrs_parse("GET", "/api/v1/nodes/n1/proxy/x", false, &a);
	cleanup_json json_t *s2 = authz_forbidden_status(&u, &a, NULL);
	authz_attrs_free(&a);
	assert_string_equal(json_string_value(json_object_get(s2, "message")),
			    "nodes \"n1\" is forbidden: User \"system:anonymous\" cannot get "
			    "resource \"nodes/proxy\" in API group \"\" at the cluster scope");
	authz_attrs_parse("POST", "/version", false, &a);
	cleanup_json json_t *s3 = authz_forbidden_status(&u, &a, NULL);
	authz_attrs_free(&a);
	assert_string_equal(json_string_value(json_object_get(s3, "message")),
			    "forbidden: User \"system:anonymous\" cannot post path \"/version\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attrs),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_forbidden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
