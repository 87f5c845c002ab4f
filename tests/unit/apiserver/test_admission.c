/* The admission chain on a real embedded store: flag handling with
 * upstream's messages, the default chain, and each plugin's answer for
 * objects put in the store the way the handlers would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/admission.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"
#include "apiserver/store.h"

struct fixture {
	char dir[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/mk-admission-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	cleanup_err struct mk_err *err = NULL;
	f->st = store_sqlite_open(f->dir, &err);
	if (!f->st)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	cleanup_free char *cmd = xasprintf("rm -rf %s", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Stores the object (JSON text) of core resource under its name/namespace. */
static void put(struct store *st, const char *resource, const char *text)
{
	const struct api_resource *r = api_resource_find("", "v1", resource);
	assert_non_null(r);
	cleanup_json json_t *obj = json_loads(text, 0, NULL);
	assert_non_null(obj);
	cleanup_free char *key =
		api_key(r, r->namespaced ? json_path_str(obj, "metadata.namespace") : NULL,
			json_path_str(obj, "metadata.name"));
	cleanup_err struct mk_err *err = NULL;
	assert_true(store_create(st, key, text, &err) > 0);
}

/* Creates pod (JSON text) in ns through both phases; returns the refusal's
 * message (new string) or NULL, and the pod as admitted in *out. */
static char *admit_pod(const struct admission *a, struct store *st, const char *ns,
		       const char *text, json_t **out, char **warning)
{
	json_t *pod = json_loads(text, 0, NULL);
	assert_non_null(pod);
	struct admission_attrs at __attribute__((cleanup(admission_attrs_clear))) = {
		.op = ADMISSION_CREATE,
		.r = api_resource_find("", "v1", "pods"),
		.ns = ns,
		.name = json_path_str(pod, "metadata.name"),
		.obj = pod,
	};
	json_t *status = NULL;
	char *msg = NULL;
	if (admission_mutate(a, st, &at, &status) < 0 ||
	    admission_validate(a, st, &at, &status, warning) < 0) {
		assert_int_equal(json_integer_value(json_object_get(status, "code")), 403);
		msg = xstrdup(json_path_str(status, "message"));
		json_decref(status);
	}
	*out = pod;
	return msg;
}

static void test_flags(void **state)
{
	(void)state;
	struct {
		const char *enable, *disable, *file, *want;
	} cases[] = {
		{"Foo", NULL, NULL, "enable-admission-plugins plugin \"Foo\" is unknown"},
		{"LimitRanger,Foo", "Bar", NULL,
		 "[enable-admission-plugins plugin \"Foo\" is unknown, disable-admission-plugins "
		 "plugin \"Bar\" is unknown]"},
		{"PodSecurity,LimitRanger", "LimitRanger,PodSecurity", NULL,
		 "[LimitRanger PodSecurity] in enable-admission-plugins and "
		 "disable-admission-plugins overlapped"},
		{"PodNodeSelector", NULL, NULL,
		 "admission plugin \"PodNodeSelector\" is not supported by this API server"},
		{NULL, NULL, "cfg.yaml",
		 "--admission-control-config-file is not supported: configure admission with "
		 "--enable-admission-plugins and --disable-admission-plugins"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct admission_config cfg = {.enable = cases[i].enable,
					       .disable = cases[i].disable,
					       .config_file = cases[i].file,
					       .not_ready_s = -1,
					       .unreachable_s = -1};
		cleanup_err struct mk_err *err = NULL;
		assert_null(admission_new(&cfg, &err));
		assert_int_equal(mk_err_code(err), MK_EINVAL);
		assert_string_equal(mk_err_msg(err), cases[i].want);
	}
	struct admission_config cfg = {.enable = " AlwaysPullImages ,",
				       .disable = "ServiceAccount",
				       .not_ready_s = -1,
				       .unreachable_s = -1};
	cleanup_err struct mk_err *err = NULL;
	struct admission *a = admission_new(&cfg, &err);
	assert_non_null(a);
	assert_true(admission_enabled(a, "AlwaysPullImages"));
	assert_false(admission_enabled(a, "ServiceAccount"));
	assert_true(admission_enabled(a, "PodSecurity"));
	assert_true(admission_enabled(NULL, "ServiceAccount"));
	assert_false(admission_enabled(NULL, "AlwaysDeny"));
	cleanup_free char *d = admission_describe(NULL);
	/* upstream's order: lifecycle first, quota last */
	assert_true(!strncmp(d, "NamespaceLifecycle,LimitRanger,ServiceAccount,", 46));
	assert_non_null(strstr(d, ",PodSecurity,"));
	assert_true(strlen(d) > 14 && !strcmp(d + strlen(d) - 14, ",ResourceQuota"));
	admission_free(a);
}

static void test_serviceaccount_and_tolerations(void **state)
{
	struct fixture *f = *state;
	put(f->st, "namespaces", "{\"metadata\":{\"name\":\"sa\"}}");
	put(f->st, "serviceaccounts", "{\"metadata\":{\"name\":\"robot\",\"namespace\":\"sa\"}}");
	struct admission_config cfg = {.not_ready_s = 60, .unreachable_s = -1};
	cleanup_err struct mk_err *err = NULL;
	struct admission *a = admission_new(&cfg, &err);
	assert_non_null(a);
	json_t *pod = NULL;
	cleanup_free char *msg = admit_pod(
		a, f->st, "sa",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"serviceAccountName\":\"ghost\","
		"\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
		&pod, NULL);
	assert_string_equal(msg, "pods \"p\" is forbidden: error looking up service account "
				 "sa/ghost: serviceaccount \"ghost\" not found");
	json_decref(pod);
	cleanup_free char *ok = admit_pod(
		a, f->st, "sa",
		"{\"metadata\":{\"name\":\"q\"},\"spec\":{\"serviceAccountName\":\"robot\","
		"\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":"
		"\"Exists\"}],\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
		&pod, NULL);
	assert_null(ok);
	assert_string_equal(json_path_str(pod, "spec.serviceAccount"), "robot");
	/* the unreachable one is tolerated already; not-ready gets the flag's 60 s */
	json_t *tol = json_path_get(pod, "spec.tolerations");
	assert_int_equal(json_array_size(tol), 2);
	assert_string_equal(json_path_str(pod, "spec.tolerations.1.key"),
			    "node.kubernetes.io/not-ready");
	assert_int_equal(
		json_integer_value(json_path_get(pod, "spec.tolerations.1.tolerationSeconds")), 60);
	json_decref(pod);
	admission_free(a);
}

static void test_podsecurity(void **state)
{
	struct fixture *f = *state;
	put(f->st, "namespaces",
	    "{\"metadata\":{\"name\":\"ps\",\"labels\":{"
	    "\"pod-security.kubernetes.io/enforce\":\"baseline\","
	    "\"pod-security.kubernetes.io/enforce-version\":\"v1.30\","
	    "\"pod-security.kubernetes.io/warn\":\"restricted\"}}}");
	struct admission_config cfg = {
		.disable = "ServiceAccount", .not_ready_s = -1, .unreachable_s = -1};
	cleanup_err struct mk_err *err = NULL;
	struct admission *a = admission_new(&cfg, &err);
	assert_non_null(a);
	json_t *pod = NULL;
	cleanup_free char *msg = admit_pod(
		a, f->st, "ps",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"hostPID\":true,\"volumes\":[{\"name\":"
		"\"h\",\"hostPath\":{\"path\":\"/\"}}],\"containers\":[{\"name\":\"a\",\"image\":"
		"\"x\",\"ports\":[{\"containerPort\":80,\"hostPort\":8080}],\"securityContext\":{"
		"\"capabilities\":{\"add\":[\"SYS_ADMIN\",\"CHOWN\"]}}},{\"name\":\"b\",\"image\":"
		"\"x\",\"securityContext\":{\"privileged\":true}}]}}",
		&pod, NULL);
	assert_string_equal(
		msg,
		"pods \"p\" is forbidden: violates PodSecurity \"baseline:v1.30\": non-default "
		"capabilities (container \"a\" must not include \"SYS_ADMIN\" in "
		"securityContext.capabilities.add), host namespaces (hostPID=true), hostPath "
		"volumes (volume \"h\"), hostPort (container \"a\" uses hostPort 8080), "
		"privileged (container \"b\" must not set securityContext.privileged=true)");
	json_decref(pod);
	char *warning = NULL;
	cleanup_free char *ok = admit_pod(
		a, f->st, "ps",
		"{\"metadata\":{\"name\":\"q\"},\"spec\":{\"securityContext\":{\"runAsNonRoot\":"
		"true},\"volumes\":[{\"name\":\"n\",\"nfs\":{\"server\":\"s\",\"path\":\"/\"}}],"
		"\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"securityContext\":{"
		"\"allowPrivilegeEscalation\":false,\"runAsUser\":0,\"seccompProfile\":{\"type\":"
		"\"RuntimeDefault\"},\"capabilities\":{\"drop\":[\"ALL\"]}}}]}}",
		&pod, &warning);
	assert_null(ok);
	assert_string_equal(warning,
			    "would violate PodSecurity \"restricted:latest\": restricted volume "
			    "types (volume \"n\" uses restricted volume type \"nfs\"), runAsUser=0 "
			    "(container \"a\" must not set runAsUser=0)");
	free(warning);
	json_decref(pod);
	admission_free(a);
}

static void test_limits_and_quota(void **state)
{
	struct fixture *f = *state;
	put(f->st, "namespaces", "{\"metadata\":{\"name\":\"lq\"}}");
	put(f->st, "limitranges",
	    "{\"metadata\":{\"name\":\"l\",\"namespace\":\"lq\"},\"spec\":{\"limits\":[{\"type\":"
	    "\"Container\",\"defaultRequest\":{\"memory\":\"64Mi\"},\"default\":{\"memory\":"
	    "\"128Mi\"}},{\"type\":\"Pod\",\"max\":{\"memory\":\"256Mi\"}}]}}");
	put(f->st, "resourcequotas",
	    "{\"metadata\":{\"name\":\"q\",\"namespace\":\"lq\"},\"spec\":{\"hard\":{"
	    "\"requests.memory\":\"200Mi\"}},\"status\":{\"hard\":{\"requests.memory\":"
	    "\"200Mi\"},\"used\":{\"requests.memory\":\"64Mi\"}}}");
	struct admission_config cfg = {
		.disable = "ServiceAccount", .not_ready_s = -1, .unreachable_s = -1};
	cleanup_err struct mk_err *err = NULL;
	struct admission *a = admission_new(&cfg, &err);
	assert_non_null(a);
	json_t *pod = NULL;
	/* two containers at the default limit: 256Mi for the pod is allowed */
	cleanup_free char *ok = admit_pod(
		a, f->st, "lq",
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\","
		"\"image\":\"x\"},{\"name\":\"b\",\"image\":\"x\"}]}}",
		&pod, NULL);
	assert_null(ok);
	assert_string_equal(json_path_str(pod, "spec.containers.1.resources.requests.memory"),
			    "64Mi");
	json_decref(pod);
	/* charged: 64Mi + 128Mi */
	const struct api_resource *qr = api_resource_find("", "v1", "resourcequotas");
	cleanup_free char *key = api_key(qr, "lq", "q");
	struct store_kv kv = {0};
	assert_int_equal(store_get(f->st, key, &kv, &err), 0);
	cleanup_json json_t *q = json_loads(kv.value, 0, NULL);
	store_kv_free(&kv);
	assert_string_equal(json_string_value(json_object_get(json_path_get(q, "status.used"),
							      "requests.memory")),
			    "192Mi");
	cleanup_free char *over = admit_pod(
		a, f->st, "lq",
		"{\"metadata\":{\"name\":\"r\"},\"spec\":{\"containers\":[{\"name\":\"a\","
		"\"image\":\"x\"}]}}",
		&pod, NULL);
	assert_string_equal(over, "pods \"r\" is forbidden: exceeded quota: q, requested: "
				  "requests.memory=64Mi, used: requests.memory=192Mi, limited: "
				  "requests.memory=200Mi");
	json_decref(pod);
	cleanup_free char *big = admit_pod(
		a, f->st, "lq",
		"{\"metadata\":{\"name\":\"s\"},\"spec\":{\"containers\":[{\"name\":\"a\","
		"\"image\":\"x\",\"resources\":{\"limits\":{\"memory\":\"200Mi\"}}},{\"name\":"
		"\"b\","
		"\"image\":\"x\",\"resources\":{\"limits\":{\"memory\":\"100Mi\"}}}]}}",
		&pod, NULL);
	assert_string_equal(big, "pods \"s\" is forbidden: maximum memory usage per Pod is "
				 "256Mi, but limit is 300Mi");
	json_decref(pod);
	admission_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test_setup_teardown(test_serviceaccount_and_tolerations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_podsecurity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_quota, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
