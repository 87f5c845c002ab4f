/* kubeconfig: YAML and JSON files, contexts, relative paths, inline data,
 * $KUBECONFIG merging and the no-config default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "kubeconfig.h"
#include "xalloc.h"

static char *fixture(const char *name)
{
	const char *root = getenv("MK_ROOT");
	cleanup_free char *p =
		xasprintf("%s/tests/fixtures/kubeconfig/%s", root ? root : ".", name);
	char *abs = realpath(p, NULL);
	assert_non_null(abs);
	return abs;
}

static void test_current_context(void **state)
{
	(void)state;
	cleanup_free char *path = fixture("basic.yaml");
	cleanup_free char *dir = fixture(".");
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_load(path, &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_context(kc), "dev");
	/* the trailing slash of the server goes */
	assert_string_equal(kubeconfig_server(kc), "https://127.0.0.1:6443");
	assert_string_equal(kubeconfig_namespace(kc), "team-a");
	assert_string_equal(kubeconfig_token(kc), "abc.def-123");
	cleanup_free char *ca = xasprintf("%s/pki/ca.crt", dir);
	assert_string_equal(kubeconfig_ca_file(kc), ca);
	assert_null(kubeconfig_client_cert_file(kc));
	assert_false(kubeconfig_insecure(kc));
	size_t len = 1;
	assert_null(kubeconfig_ca_data(kc, &len));
	assert_int_equal(len, 0);
	kubeconfig_free(kc);
}

static void test_context_override(void **state)
{
	(void)state;
	cleanup_free char *path = fixture("basic.yaml");
	cleanup_free char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(getdelim(&text, &len, '\0', f) > 0, 1);
	fclose(f);
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_parse(text, strlen(text), "/etc", "prod", &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_server(kc), "https://prod.example:6443");
	assert_string_equal(kubeconfig_namespace(kc), "default");
	assert_null(kubeconfig_token(kc));
	assert_string_equal(kubeconfig_client_cert_file(kc), "/etc/kubernetes/pki/admin.crt");
	assert_string_equal(kubeconfig_client_key_file(kc), "/etc/kubernetes/pki/admin.key");
	kubeconfig_free(kc);

	kc = kubeconfig_parse(text, strlen(text), NULL, "staging", &err);
	assert_null(kc);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err),
			    "context was not found for specified context: staging");
}

static void test_inline_data(void **state)
{
	(void)state;
	cleanup_free char *path = fixture("data.yaml");
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_load(path, &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_server(kc), "https://127.0.0.1:38427");
	assert_true(kubeconfig_insecure(kc));
	size_t len = 0;
	const char *ca = kubeconfig_ca_data(kc, &len);
	const char *want = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n";
	assert_int_equal(len, strlen(want));
	assert_memory_equal(ca, want, len);
	const char *cert = kubeconfig_client_cert_data(kc, &len);
	assert_non_null(cert);
	assert_non_null(memmem(cert, len, "\nclient\n", 8));
	const char *key = kubeconfig_client_key_data(kc, &len);
	assert_non_null(key);
	assert_non_null(memmem(key, len, "BEGIN PRIVATE KEY", 17));
	kubeconfig_free(kc);
}

static void test_json_and_token_file(void **state)
{
	(void)state;
	cleanup_free char *path = fixture("config.json");
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_load(path, &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_server(kc), "http://10.0.0.1:8080");
	assert_string_equal(kubeconfig_token(kc), "from-a-file");
	kubeconfig_free(kc);
}

static void test_errors(void **state)
{
	(void)state;
	struct {
		const char *file;
		int code;
		const char *msg_part;
	} cases[] = {
		{"missing-context.yaml", MK_EINVAL,
		 "context was not found for specified context: nowhere"},
		{"bad-base64.yaml", MK_EINVAL, "certificate-authority-data: illegal base64 data"},
		{"malformed.yaml", MK_EINVAL, "yaml: line"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *path = fixture(cases[i].file);
		cleanup_err struct mk_err *err = NULL;
		assert_null(kubeconfig_load(path, &err));
		assert_int_equal(mk_err_code(err), cases[i].code);
		if (!strstr(mk_err_msg(err), cases[i].msg_part))
			fail_msg("%s: %s", cases[i].file, mk_err_msg(err));
	}
	cleanup_err struct mk_err *err = NULL;
	assert_null(kubeconfig_load("/nonexistent/kubeconfig", &err));
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
}

static void test_env_merge_and_default(void **state)
{
	(void)state;
	cleanup_free char *first = fixture("first.yaml");
	cleanup_free char *second = fixture("second.yaml");
	cleanup_free char *list = xasprintf("%s:/nonexistent/skipped:%s", first, second);
	assert_int_equal(setenv("KUBECONFIG", list, 1), 0);
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_load(NULL, &err);
	assert_non_null(kc);
	/* current-context from the second file, cluster "shared" from the first */
	assert_string_equal(kubeconfig_context(kc), "second");
	assert_string_equal(kubeconfig_server(kc), "https://first.example:6443");
	kubeconfig_free(kc);

	/* nothing anywhere: the upstream default */
	char tmp[] = "/tmp/kubeconfig-test-XXXXXX";
	assert_non_null(mkdtemp(tmp));
	assert_int_equal(unsetenv("KUBECONFIG"), 0);
	assert_int_equal(setenv("HOME", tmp, 1), 0);
	kc = kubeconfig_load(NULL, &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_server(kc), "http://localhost:8080");
	assert_null(kubeconfig_context(kc));
	kubeconfig_free(kc);

	/* ~/.kube/config when $KUBECONFIG is unset */
	cleanup_free char *kube = xasprintf("%s/.kube", tmp);
	cleanup_free char *cfg = xasprintf("%s/.kube/config", tmp);
	assert_int_equal(mkdir(kube, 0700), 0);
	assert_int_equal(symlink(second, cfg), 0);
	kc = kubeconfig_load(NULL, &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_server(kc), "https://second.example:6443");
	kubeconfig_free(kc);
	/* ...but not when $KUBECONFIG is set, even to files that do not exist */
	assert_int_equal(setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1), 0);
	kc = kubeconfig_load(NULL, &err);
	assert_non_null(kc);
	assert_string_equal(kubeconfig_server(kc), "http://localhost:8080");
	kubeconfig_free(kc);
	assert_int_equal(unsetenv("KUBECONFIG"), 0);
	assert_int_equal(unlink(cfg), 0);
	assert_int_equal(rmdir(kube), 0);
	assert_int_equal(rmdir(tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_context),
		cmocka_unit_test(test_context_override),
		cmocka_unit_test(test_inline_data),
		cmocka_unit_test(test_json_and_token_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_env_merge_and_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
