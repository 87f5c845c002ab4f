/* registries: k3s registries.yaml mirrors and configs, endpoint order and
 * schemes, dockerconfigjson pull secrets, malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registries.h"

static struct registries *parse(const char *y)
{
	struct mk_err *e = NULL;
	struct registries *r = registries_parse(y, strlen(y), &e);
	if (!r)
		fail_msg("%s", mk_err_msg(e));
	return r;
}

static void test_mirrors(void **state)
{
	(void)state;
	struct registries *r = parse("mirrors:\n"
				     "  docker.io:\n"
				     "    endpoint:\n"
				     "      - \"http://127.0.0.1:5000\"\n"
				     "      - \"mirror.example.com/v2/\"\n"
				     "configs:\n"
				     "  \"127.0.0.1:5000\":\n"
				     "    auth: {username: u, password: p}\n"
				     "  \"mirror.example.com\":\n"
				     "    tls: {ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem}\n"
				     "  \"registry-1.docker.io\":\n"
				     "    auth: {auth: dXNlcjpwYTpzcw==}\n"
				     "    tls: {insecure_skip_verify: true}\n");
	struct registry_endpoint *eps;
	size_t n;
	assert_int_equal(registries_endpoints(r, "docker.io", NULL, &eps, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(eps[0].url, "http://127.0.0.1:5000");
	assert_string_equal(eps[0].host, "127.0.0.1:5000");
	assert_true(eps[0].is_mirror);
	assert_string_equal(eps[0].username, "u");
	assert_string_equal(eps[0].password, "p");
	assert_string_equal(eps[1].url, "https://mirror.example.com");
	assert_null(eps[1].username);
	assert_string_equal(eps[1].ca_file, "/ca.pem");
	assert_string_equal(eps[1].cert_file, "/c.pem");
	assert_string_equal(eps[1].key_file, "/k.pem");
	assert_false(eps[1].insecure_skip_verify);
	assert_string_equal(eps[2].url, "https://registry-1.docker.io");
	assert_false(eps[2].is_mirror);
	assert_string_equal(eps[2].username, "user");
	assert_string_equal(eps[2].password, "pa:ss");
	assert_true(eps[2].insecure_skip_verify);
	registries_endpoints_free(eps, n);

	/* no entry of its own: the registry alone; loopback is plain http */
	assert_int_equal(registries_endpoints(r, "localhost:5000", NULL, &eps, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].url, "http://localhost:5000");
	registries_endpoints_free(eps, n);
	assert_int_equal(registries_endpoints(r, "quay.io", NULL, &eps, &n, NULL), 0);
	assert_string_equal(eps[0].url, "https://quay.io");
	registries_endpoints_free(eps, n);
	registries_free(r);
}

static void test_wildcard_and_dedup(void **state)
{
	(void)state;
	struct registries *r = parse("mirrors:\n"
				     "  \"*\":\n"
				     "    endpoint: [\"http://10.0.0.1:5000\"]\n"
				     "  registry.k8s.io:\n"
				     "    endpoint: [\"https://registry.k8s.io\"]\n"
				     "configs:\n"
				     "  \"*\":\n"
				     "    auth: {username: any, password: one}\n");
	struct registry_endpoint *eps;
	size_t n;
	assert_int_equal(registries_endpoints(r, "quay.io", NULL, &eps, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(eps[0].url, "http://10.0.0.1:5000");
	assert_string_equal(eps[0].username, "any");
	assert_string_equal(eps[1].url, "https://quay.io");
	registries_endpoints_free(eps, n);
	/* a mirror that is the registry itself is asked once */
	assert_int_equal(registries_endpoints(r, "registry.k8s.io", NULL, &eps, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].url, "https://registry.k8s.io");
	registries_endpoints_free(eps, n);
	registries_free(r);
}

static void test_pull_secrets(void **state)
{
	(void)state;
	struct registry_endpoint *eps;
	size_t n;
	/* base64("alice:pw") */
	const char *dcj = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6cHc=\"},"
			  "\"127.0.0.1:5000\":{\"username\":\"bob\",\"password\":\"x\"}}}";
	assert_int_equal(registries_endpoints(NULL, "docker.io", dcj, &eps, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(eps[0].username, "alice");
	assert_string_equal(eps[0].password, "pw");
	registries_endpoints_free(eps, n);
	assert_int_equal(registries_endpoints(NULL, "127.0.0.1:5000", dcj, &eps, &n, NULL), 0);
	assert_string_equal(eps[0].username, "bob");
	registries_endpoints_free(eps, n);
	/* legacy .dockercfg: hosts at the top level */
	assert_int_equal(registries_endpoints(NULL, "quay.io", "{\"quay.io\":{\"auth\":\"YTpi\"}}",
					      &eps, &n, NULL),
			 0);
	assert_string_equal(eps[0].username, "a");
	assert_string_equal(eps[0].password, "b");
	registries_endpoints_free(eps, n);
	/* config credentials win over the secret's */
	struct registries *r = parse("configs:\n  quay.io:\n    auth: {username: cfg, password: c}\n");
	assert_int_equal(registries_endpoints(r, "quay.io", "{\"quay.io\":{\"auth\":\"YTpi\"}}",
					      &eps, &n, NULL),
			 0);
	assert_string_equal(eps[0].username, "cfg");
	registries_endpoints_free(eps, n);
	registries_free(r);

	struct mk_err *e = NULL;
	assert_int_equal(registries_endpoints(NULL, "quay.io", "{\"quay.io\":{\"auth\":\"!!!\"}}",
					      &eps, &n, &e),
			 -1);
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	assert_string_equal(mk_err_msg(e),
			    "registry quay.io: pull secret for quay.io: auth is not valid base64");
	mk_err_free(e);
	e = NULL;
	assert_int_equal(registries_endpoints(NULL, "quay.io", "[1]", &eps, &n, &e), -1);
	assert_string_equal(mk_err_msg(e), "registry quay.io: pull secret: not a JSON object");
	mk_err_free(e);
}

static void expect_bad(const char *y, const char *msg)
{
	struct mk_err *e = NULL;
	assert_null(registries_parse(y, strlen(y), &e));
	assert_int_equal(mk_err_code(e), MK_EINVAL);
	assert_string_equal(mk_err_msg(e), msg);
	mk_err_free(e);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_bad("- a\n", "expected a mapping at the top level");
	expect_bad("mirrors: [a]\n", "mirrors: expected a mapping");
	expect_bad("mirrors:\n  docker.io:\n    endpoint: http://x\n",
		   "mirrors.docker.io.endpoint: expected a list");
	expect_bad("mirrors:\n  docker.io:\n    endpoint: [\"\"]\n",
		   "mirrors.docker.io.endpoint[0]: expected a URL");
	expect_bad("configs:\n  x:\n    auth: {username: [1]}\n",
		   "configs.x.auth.username: expected a string");
	expect_bad("configs:\n  x:\n    tls: {insecure_skip_verify: maybe}\n",
		   "configs.x.tls.insecure_skip_verify: expected true or false");
	struct mk_err *e = NULL;
	struct registries *r = parse("mirrors:\n  docker.io:\n    endpoint: [\"ftp://x\"]\n");
	struct registry_endpoint *eps;
	size_t n;
	assert_int_equal(registries_endpoints(r, "docker.io", NULL, &eps, &n, &e), -1);
	assert_string_equal(mk_err_msg(e),
			    "registry docker.io: endpoint ftp://x: scheme must be http or https");
	mk_err_free(e);
	registries_free(r);
	/* a scheme and nothing else: no host, and no crash finding one */
	static const char *const no_host[] = {"http://", "https:///", "http:///v2"};
	for (size_t i = 0; i < sizeof(no_host) / sizeof(no_host[0]); i++) {
		char *y;
		assert_true(asprintf(&y, "mirrors:\n  docker.io:\n    endpoint: [\"%s\"]\n",
				     no_host[i]) > 0);
		r = parse(y);
		e = NULL;
		assert_int_equal(registries_endpoints(r, "docker.io", NULL, &eps, &n, &e), -1);
		assert_non_null(strstr(mk_err_msg(e), ": no host"));
		mk_err_free(e);
		registries_free(r);
		free(y);
	}
}

static void test_rewrite(void **state)
{
	(void)state;
	struct registries *r = parse("mirrors:\n"
				     "  docker.io:\n"
				     "    endpoint: [\"http://127.0.0.1:5000\"]\n"
				     "    rewrite:\n"
				     "      \"^rancher/(.*)\": \"mirrored/rancher-images/$1\"\n"
				     "      \"^library/(ng)(inx)$\": \"web/${2}-${1}x$\"\n");
	struct registry_endpoint *eps;
	size_t n;
	assert_int_equal(registries_endpoints(r, "docker.io", NULL, &eps, &n, NULL), 0);
	assert_int_equal(n, 2);
	char *p = registries_rewrite(r, &eps[0], "docker.io", "rancher/k3s");
	assert_string_equal(p, "mirrored/rancher-images/k3s");
	free(p);
	p = registries_rewrite(r, &eps[0], "docker.io", "library/nginx");
	assert_string_equal(p, "web/inx-ngx$");
	free(p);
	p = registries_rewrite(r, &eps[0], "docker.io", "library/busybox");
	assert_string_equal(p, "library/busybox");
	free(p);
	/* never for the registry itself */
	p = registries_rewrite(r, &eps[1], "docker.io", "rancher/k3s");
	assert_string_equal(p, "rancher/k3s");
	free(p);
	registries_endpoints_free(eps, n);
	registries_free(r);
	expect_bad("mirrors:\n  docker.io:\n    rewrite: {\"a(\": b}\n",
		   "mirrors.docker.io.rewrite: pattern a(: Unmatched ( or \\(");
	expect_bad("mirrors:\n  docker.io:\n    rewrite: [a]\n",
		   "mirrors.docker.io.rewrite: expected a mapping");
}

static void test_load(void **state)
{
	(void)state;
	struct mk_err *e = NULL;
	/* a missing file is an empty configuration */
	struct registries *r = registries_load("/nonexistent/registries.yaml", &e);
	assert_non_null(r);
	registries_free(r);
	char path[] = "/tmp/test_registries.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("mirrors: 3\n", f);
	fclose(f);
	assert_null(registries_load(path, &e));
	char *want = NULL;
	assert_true(asprintf(&want, "%s: mirrors: expected a mapping", path) > 0);
	assert_string_equal(mk_err_msg(e), want);
	free(want);
	mk_err_free(e);
	unlink(path);
	assert_true(registries_host_is_loopback("127.0.0.1:5000"));
	assert_true(registries_host_is_loopback("localhost"));
	assert_true(registries_host_is_loopback("[::1]:5000"));
	assert_false(registries_host_is_loopback("registry.local:5000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirrors),
		cmocka_unit_test(test_wildcard_and_dedup),
		cmocka_unit_test(test_pull_secrets),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
