/* lib/smp: strategic merge patch as kubectl sends it (merge keys by path,
 * directives), checked against the merged objects upstream produces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "err.h"
#include "json.h"
#include "smp.h"
#include "xalloc.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return v;
}

/* Compares with key order ignored, list order significant. */
static void assert_json_eq(const json_t *got, const char *want)
{
	cleanup_json json_t *w = J(want);
	if (!json_value_equal(got, w)) {
		cleanup_free char *g = json_dump_compact(got);
		fail_msg("got  %s\nwant %s", g ? g : "(null)", want);
	}
}

static void smp_ok(const char *doc, const char *patch, const char *want)
{
	cleanup_json json_t *d = J(doc);
	cleanup_json json_t *p = J(patch);
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *before = json_dump_compact(d);
	cleanup_free char *pbefore = json_dump_compact(p);
	cleanup_json json_t *res = json_smp_apply(d, p, &err);
	if (!res)
		fail_msg("patch %s failed: %s", patch, mk_err_msg(err));
	assert_json_eq(res, want);
	/* inputs untouched */
	cleanup_free char *after = json_dump_compact(d);
	cleanup_free char *pafter = json_dump_compact(p);
	assert_string_equal(before, after);
	assert_string_equal(pbefore, pafter);
	/* no directive survives */
	cleanup_free char *s = json_dump_compact(res);
	assert_null(strstr(s, "$patch"));
	assert_null(strstr(s, "$setElementOrder"));
	assert_null(strstr(s, "$retainKeys"));
	assert_null(strstr(s, "$deleteFromPrimitiveList"));
}

static void smp_fails(const char *doc, const char *patch, const char *msg)
{
	cleanup_json json_t *d = J(doc);
	cleanup_json json_t *p = J(patch);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *res = json_smp_apply(d, p, &err);
	assert_null(res);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
}

/* The three-way patch client-side apply sends after a manifest drops a label,
 * an env var, a port and a whole container. */
static void test_kubectl_apply_patch(void **state)
{
	(void)state;
	const char *live =
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		"\"metadata\":{\"name\":\"smp\",\"namespace\":\"default\",\"uid\":\"u1\","
		"\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"old\","
		"\"deployment.kubernetes.io/revision\":\"1\"},"
		"\"labels\":{\"app\":\"smp\",\"tier\":\"web\"}},"
		"\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"smp\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"smp\"}},\"spec\":{"
		"\"containers\":["
		"{\"name\":\"a\",\"image\":\"nginx\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},"
		"{\"name\":\"DEBUG\",\"value\":\"true\"}],"
		"\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"},"
		"{\"containerPort\":443,\"protocol\":\"TCP\"}],"
		"\"terminationMessagePath\":\"/dev/termination-log\"},"
		"{\"name\":\"b\",\"image\":\"busybox\"}],"
		"\"restartPolicy\":\"Always\"}}},"
		"\"status\":{\"replicas\":1}}";
	const char *patch = "{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/"
			    "last-applied-configuration\":\"new\"},\"labels\":{\"tier\":null}},"
			    "\"spec\":{\"template\":{\"spec\":{"
			    "\"$setElementOrder/containers\":[{\"name\":\"a\"}],"
			    "\"containers\":["
			    "{\"name\":\"a\",\"$setElementOrder/env\":[{\"name\":\"X\"}],"
			    "\"env\":[{\"$patch\":\"delete\",\"name\":\"DEBUG\"}],"
			    "\"$setElementOrder/ports\":[{\"containerPort\":80}],"
			    "\"ports\":[{\"$patch\":\"delete\",\"containerPort\":443}]},"
			    "{\"$patch\":\"delete\",\"name\":\"b\"}]}}}}";
	const char *want =
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		"\"metadata\":{\"name\":\"smp\",\"namespace\":\"default\",\"uid\":\"u1\","
		"\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"new\","
		"\"deployment.kubernetes.io/revision\":\"1\"},"
		"\"labels\":{\"app\":\"smp\"}},"
		"\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"smp\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"smp\"}},\"spec\":{"
		"\"containers\":["
		"{\"name\":\"a\",\"image\":\"nginx\",\"env\":[{\"name\":\"X\",\"value\":\"1\"}],"
		"\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
		"\"terminationMessagePath\":\"/dev/termination-log\"}],"
		"\"restartPolicy\":\"Always\"}}},"
		"\"status\":{\"replicas\":1}}";
	smp_ok(live, patch, want);
}

static void test_container_merges(void **state)
{
	(void)state;
	const char *pod =
		"{\"spec\":{\"containers\":["
		"{\"name\":\"a\",\"image\":\"a:1\",\"ports\":[{\"containerPort\":80}],"
		"\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]},"
		"{\"name\":\"b\",\"image\":\"b:1\"}]}}";
	/* kubectl set image: only the image of the named container changes */
	smp_ok(pod, "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"b:2\"}]}}",
	       "{\"spec\":{\"containers\":["
	       "{\"name\":\"a\",\"image\":\"a:1\",\"ports\":[{\"containerPort\":80}],"
	       "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]},"
	       "{\"name\":\"b\",\"image\":\"b:2\"}]}}");
	/* a new container comes first, as the patch lists it, before the live ones
	 * the patch does not name; env merged by name; ports by containerPort */
	smp_ok(pod,
	       "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"c:1\"},"
	       "{\"name\":\"a\",\"env\":[{\"name\":\"B\",\"value\":\"3\"},{\"name\":\"C\","
	       "\"value\":\"4\"}],"
	       "\"ports\":[{\"containerPort\":80,\"name\":\"http\"},{\"containerPort\":8080}]}]}}",
	       "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"c:1\"},"
	       "{\"name\":\"a\",\"image\":\"a:1\","
	       "\"ports\":[{\"containerPort\":80,\"name\":\"http\"},{\"containerPort\":8080}],"
	       "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"3\"},"
	       "{\"name\":\"C\",\"value\":\"4\"}]},"
	       "{\"name\":\"b\",\"image\":\"b:1\"}]}}");
}

static void test_other_merge_keys(void **state)
{
	(void)state;
	/* Service ports merge by port, not by name or containerPort */
	smp_ok("{\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},"
	       "{\"port\":443,\"targetPort\":8443}],\"selector\":{\"app\":\"a\"}}}",
	       "{\"spec\":{\"ports\":[{\"port\":443,\"nodePort\":30443},{\"port\":53,"
	       "\"protocol\":\"UDP\"}],\"selector\":{\"app\":null,\"run\":\"b\"}}}",
	       "{\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},"
	       "{\"port\":443,\"targetPort\":8443,\"nodePort\":30443},"
	       "{\"port\":53,\"protocol\":\"UDP\"}],\"selector\":{\"run\":\"b\"}}}");
	/* status conditions by type, podIPs by ip, ownerReferences by uid */
	smp_ok("{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"rs\"}]},"
	       "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},"
	       "{\"type\":\"Initialized\",\"status\":\"True\"}],\"podIPs\":[{\"ip\":\"10.0.0.1\"}]}"
	       "}",
	       "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"controller\":true}]},"
	       "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
	       "\"podIPs\":[{\"ip\":\"fd00::1\"}]}}",
	       "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"rs\",\"controller\":"
	       "true}]},"
	       "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
	       "{\"type\":\"Initialized\",\"status\":\"True\"}],"
	       "\"podIPs\":[{\"ip\":\"fd00::1\"},{\"ip\":\"10.0.0.1\"}]}}");
	/* Node addresses by type */
	smp_ok("{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"},"
	       "{\"type\":\"Hostname\",\"address\":\"n1\"}]}}",
	       "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.2\"}]}}",
	       "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.2\"},"
	       "{\"type\":\"Hostname\",\"address\":\"n1\"}]}}");
	smp_ok("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
	       "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}",
	       "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}");
	smp_ok("{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
	       "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\",\"x\"]}}",
	       "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
	smp_ok("{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
	       "{\"metadata\":{\"$setElementOrder/finalizers\":[\"c\",\"a\"],"
	       "\"$deleteFromPrimitiveList/finalizers\":[\"b\"],\"finalizers\":[\"c\"]}}",
	       "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}");
	/* an unknown list whose $setElementOrder names the key merges by it */
	smp_ok("{\"spec\":{\"things\":[{\"id\":1,\"v\":1},{\"id\":2,\"v\":2}]}}",
	       "{\"spec\":{\"$setElementOrder/things\":[{\"id\":2},{\"id\":1}],"
	       "\"things\":[{\"id\":2,\"v\":3}]}}",
	       "{\"spec\":{\"things\":[{\"id\":2,\"v\":3},{\"id\":1,\"v\":1}]}}");

	const char *key = NULL;
	assert_int_equal(smp_list_kind_for_path("/spec/template/spec/containers", &key),
			 SMP_LIST_KEYED);
	assert_string_equal(key, "name");
	assert_int_equal(smp_list_kind_for_path("/spec/containers/[]/ports", &key), SMP_LIST_KEYED);
	assert_string_equal(key, "containerPort");
	assert_int_equal(smp_list_kind_for_path("/spec/ports", &key), SMP_LIST_KEYED);
	assert_string_equal(key, "port");
	assert_int_equal(smp_list_kind_for_path("/spec/template/spec/tolerations", &key),
			 SMP_LIST_REPLACE);
	assert_int_equal(smp_list_kind_for_path("/subsets/[]/ports", &key), SMP_LIST_REPLACE);
	assert_int_equal(smp_list_kind_for_path("/spec/podCIDRs", &key), SMP_LIST_PRIMITIVE);
}

static void test_directives(void **state)
{
	(void)state;
	/* $patch: replace on a map and on a list */
	smp_ok("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"containers\":["
	       "{\"name\":\"a\"},{\"name\":\"b\"}]}}",
	       "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}},"
	       "\"spec\":{\"containers\":[{\"name\":\"z\",\"image\":\"z\"},{\"$patch\":\"replace\"}"
	       "]}}",
	       "{\"metadata\":{\"labels\":{\"c\":\"3\"}},\"spec\":{\"containers\":["
	       "{\"name\":\"z\",\"image\":\"z\"}]}}");
	/* $patch: delete on a map leaves it empty (as upstream does); $patch: merge
	 * is the default (upstream refuses it in maps) */
	smp_ok("{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\"},\"x\":{\"a\":1}}}",
	       "{\"spec\":{\"strategy\":{\"$patch\":\"delete\"},\"x\":{\"$patch\":\"merge\",\"b\":"
	       "2}}}",
	       "{\"spec\":{\"strategy\":{},\"x\":{\"a\":1,\"b\":2}}}");
	/* top-level replace and delete */
	smp_ok("{\"a\":1}", "{\"$patch\":\"replace\",\"b\":2}", "{\"b\":2}");
	smp_ok("{\"a\":1}", "{\"$patch\":\"delete\"}", "{}");
	/* $retainKeys: switching a Deployment to Recreate drops rollingUpdate */
	smp_ok("{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
	       "{\"maxSurge\":\"25%\"}}}}",
	       "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
	       "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}");
	/* $retainKeys on a volume: the old source goes, the new one stays */
	smp_ok("{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}},{\"name\":\"w\","
	       "\"emptyDir\":{}}]}}",
	       "{\"spec\":{\"volumes\":[{\"$retainKeys\":[\"name\",\"hostPath\"],\"name\":\"v\","
	       "\"hostPath\":{\"path\":\"/x\"}}]}}",
	       "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"}},"
	       "{\"name\":\"w\",\"emptyDir\":{}}]}}");
	/* $setElementOrder: listed elements in that order; server-only ones keep their place */
	smp_ok("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"s\"},{\"name\":\"b\"}]}}",
	       "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c\"},{\"name\":\"b\"},"
	       "{\"name\":\"a\"}],\"containers\":[{\"name\":\"c\"}]}}",
	       "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"s\"},{\"name\":\"b\"},"
	       "{\"name\":\"a\"}]}}");
	/* a new list is built from the patch with its directives removed */
	smp_ok("{\"spec\":{}}",
	       "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\","
	       "\"value\":\"1\"},{\"$patch\":\"delete\",\"name\":\"Y\"}]}]}}",
	       "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\","
	       "\"value\":\"1\"}]}]}}");
	/* keys that merely start with '$' are data */
	smp_ok("{\"schema\":{\"$ref\":\"a\"}}", "{\"schema\":{\"$schema\":\"b\"}}",
	       "{\"schema\":{\"$ref\":\"a\",\"$schema\":\"b\"}}");
	/* a scalar or list becomes a map when the patch says so, and back */
	smp_ok("{\"a\":1,\"b\":{\"c\":1}}", "{\"a\":{\"x\":null,\"y\":1},\"b\":[1]}",
	       "{\"a\":{\"y\":1},\"b\":[1]}");
}

static void test_errors(void **state)
{
	(void)state;
	smp_fails("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
		  "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}",
		  "strategic merge patch at /spec/containers: list element 0 does not contain "
		  "merge key \"name\"");
	smp_fails("{\"spec\":{}}", "{\"spec\":{\"containers\":[\"a\"]}}",
		  "strategic merge patch at /spec/containers: list element 0 is not an object");
	smp_fails("{}", "{\"metadata\":{\"labels\":{\"$patch\":\"frob\"}}}",
		  "strategic merge patch at /metadata/labels: unknown $patch directive \"frob\"");
	smp_fails("{}",
		  "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\","
		  "\"$patch\":\"x\"}]}]}}",
		  "strategic merge patch at /spec/containers/[]/env: unknown $patch directive "
		  "\"x\" in list element 0");
	smp_fails("{}", "{\"x\":{\"$retainKeys\":\"a\"}}",
		  "strategic merge patch at /x: invalid patch format of retainKeys");
	smp_fails("{}", "{\"x\":{\"$retainKeys\":[\"a\"],\"a\":1,\"b\":2,\"c\":null}}",
		  "strategic merge patch at /x: invalid patch format of retainKeys");
	smp_fails(
		"{}", "{\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"merge\"}]}}",
		"strategic merge patch at /spec/containers: merging lists cannot yet be specified "
		"in the patch");
	smp_fails("{}", "[]", "strategic merge patch must be a JSON object");
}

/* Lists of thousands of elements: time must grow linearly, not quadratically. */
static void test_large_lists(void **state)
{
	(void)state;
	const int n = 20000;
	cleanup_json json_t *env = json_array();
	cleanup_json json_t *penv = json_array();
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "VAR_%d", i);
		json_array_append_new(env, json_pack("{s:s,s:i}", "name", name, "value", i));
		if (i % 2)
			json_array_append_new(
				penv, json_pack("{s:s,s:s}", "name", name, "$patch", "delete"));
		else
			json_array_append_new(penv,
					      json_pack("{s:s,s:s}", "name", name, "value", "x"));
	}
	cleanup_json json_t *doc =
		json_pack("{s:{s:[{s:s,s:O}]}}", "spec", "containers", "name", "a", "env", env);
	cleanup_json json_t *patch =
		json_pack("{s:{s:[{s:s,s:O,s:O}]}}", "spec", "containers", "name", "a", "env", penv,
			  "$setElementOrder/env", penv);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *res = json_smp_apply(doc, patch, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(res);
	json_t *got = json_path_get(res, "spec.containers.0.env");
	assert_int_equal(json_array_size(got), n / 2);
	assert_string_equal(json_path_str(got, "0.value"), "x");
	assert_string_equal(json_path_str(got, "1.name"), "VAR_2");
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("# smp of %d env entries: %.1f ms\n", n, ms);
	assert_true(ms < 3000);
}

/* tests/fixtures/json/smp-cases.json: [{name, doc, patch, want | error}],
 * "want" being what kubectl patch --local (upstream's implementation) gives. */
static json_t *load_cases(void)
{
	const char *root = getenv("MK_ROOT");
	cleanup_free char *path =
		xasprintf("%s/tests/fixtures/json/smp-cases.json", root ? root : ".");
	json_error_t e;
	json_t *cases = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_array(cases))
		fail_msg("%s: %s", path, e.text);
	return cases;
}

static void test_upstream_cases(void **state)
{
	(void)state;
	cleanup_json json_t *cases = load_cases();
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		cleanup_err struct mk_err *err = NULL;
		cleanup_json json_t *res = json_smp_apply(json_object_get(c, "doc"),
							  json_object_get(c, "patch"), &err);
		if (json_is_true(json_object_get(c, "error"))) {
			if (res || mk_err_code(err) != MK_EINVAL)
				fail_msg("%s: expected an error", name);
			continue;
		}
		if (!res)
			fail_msg("%s: %s", name, mk_err_msg(err));
		if (!json_value_equal(res, json_object_get(c, "want"))) {
			cleanup_free char *g = json_dump_compact(res);
			cleanup_free char *w = json_dump_compact(json_object_get(c, "want"));
			fail_msg("%s:\ngot  %s\nwant %s", name, g, w);
		}
	}
}

static bool write_json(const char *path, const json_t *v)
{
	return json_dump_file(v, path, JSON_COMPACT) == 0;
}

/* The golden results are upstream's: kubectl patch --local applies the same
 * patches with the Go implementation and must agree with the fixture. */
static void test_kubectl_agrees(void **state)
{
	(void)state;
	if (access("/usr/bin/kubectl", X_OK) != 0)
		skip();
	cleanup_json json_t *cases = load_cases();
	cleanup_json json_t *outputs = json_array(); /* [rc, stdout] per case */
	char dir[] = "/tmp/mk-smp-XXXXXX";
	assert_non_null(mkdtemp(dir));
	cleanup_free char *doc_path = xasprintf("%s/doc.json", dir);
	cleanup_free char *patch_path = xasprintf("%s/patch.json", dir);
	cleanup_free char *cmd = xasprintf(
		"HOME=%s KUBECACHEDIR=%s/cache KUBECONFIG= /usr/bin/kubectl patch --local "
		"-f %s --type strategic --patch-file %s -o json 2>/dev/null",
		dir, dir, doc_path, patch_path);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
	{
		if (!write_json(doc_path, json_object_get(c, "doc")) ||
		    !write_json(patch_path, json_object_get(c, "patch")))
			break;
		struct buf out = BUF_INIT;
		FILE *p = popen(cmd, "r");
		int rc = -1;
		if (p) {
			char chunk[4096];
			size_t n;
			while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
				buf_append(&out, chunk, n);
			rc = pclose(p);
		}
		json_array_append_new(outputs, json_pack("[i,s]", rc, buf_str(&out)));
		buf_free(&out);
	}
	cleanup_free char *rm = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(rm), 0);
	assert_int_equal(json_array_size(outputs), json_array_size(cases));

	json_array_foreach(cases, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *o = json_array_get(outputs, i);
		int rc = (int)json_integer_value(json_array_get(o, 0));
		const char *text = json_string_value(json_array_get(o, 1));
		if (json_is_true(json_object_get(c, "error"))) {
			if (rc == 0)
				fail_msg("%s: kubectl accepted the patch", name);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: kubectl failed (%d)", name, rc);
		cleanup_json json_t *got = J(text);
		if (!json_value_equal(got, json_object_get(c, "want")))
			fail_msg("%s: kubectl gives %s", name, text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubectl_apply_patch),
		cmocka_unit_test(test_container_merges),
		cmocka_unit_test(test_other_merge_keys),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_large_lists),
		cmocka_unit_test(test_upstream_cases),
		cmocka_unit_test(test_kubectl_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
