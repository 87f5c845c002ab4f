/* Pod volumes: the atomic writer, configMap/secret/downwardAPI/projected
 * contents, hostPath types, mounts and the downward API values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "kubelet/volumes.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/mk-volumes.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fs_unmount_below(tmp);
	return fs_remove_tree(tmp, NULL);
}

static char *slurp(const char *path)
{
	return fs_read_file(path, 1 << 20, NULL, NULL);
}

static void expect_file(const char *dir, const char *rel, const char *want, mode_t mode)
{
	cleanup_free char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		fail();
	cleanup_free char *got = slurp(p);
	if (!got)
		fail_msg("%s missing", p);
	assert_string_equal(got, want);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	if (mode)
		assert_int_equal(st.st_mode & 07777, mode);
}

static void test_atomic_writer(void **state)
{
	(void)state;
	cleanup_free char *dir = NULL;
	assert_true(asprintf(&dir, "%s/cm", tmp) > 0);
	cleanup_json json_t *files = json_pack("{s:{s:s, s:i}, s:{s:s, s:i}}", "a", "data", "one",
					       "mode", 0644, "sub/b", "data", "two", "mode", 0600);
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(volumes_atomic_write(dir, files, &err), 0);
	expect_file(dir, "a", "one", 0644);
	expect_file(dir, "sub/b", "two", 0600);
	char target[PATH_MAX];
	cleanup_free char *link = NULL;
	assert_true(asprintf(&link, "%s/a", dir) > 0);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "..data/a");
	cleanup_free char *data = NULL;
	assert_true(asprintf(&data, "%s/..data", dir) > 0);
	char first[PATH_MAX];
	n = readlink(data, first, sizeof(first) - 1);
	assert_true(n > 0);
	first[n] = '\0';
	/* unchanged content: the same generation */
	assert_int_equal(volumes_atomic_write(dir, files, &err), 0);
	char again[PATH_MAX];
	n = readlink(data, again, sizeof(again) - 1);
	again[n] = '\0';
	assert_string_equal(first, again);
	/* an update swaps the generation, drops names no longer there */
	cleanup_json json_t *next = json_pack("{s:{s:s, s:i}}", "a", "data", "uno", "mode", 0644);
	assert_int_equal(volumes_atomic_write(dir, next, &err), 0);
	expect_file(dir, "a", "uno", 0644);
	cleanup_free char *b = NULL;
	assert_true(asprintf(&b, "%s/sub", dir) > 0);
	assert_int_equal(access(b, F_OK), -1);
	n = readlink(data, again, sizeof(again) - 1);
	again[n] = '\0';
	assert_string_not_equal(first, again);
	cleanup_free char *old = NULL;
	assert_true(asprintf(&old, "%s/%s", dir, first) > 0);
	assert_int_equal(access(old, F_OK), -1);
	/* paths that escape are refused */
	cleanup_json json_t *bad = json_pack("{s:{s:s}}", "../x", "data", "no");
	assert_int_equal(volumes_atomic_write(dir, bad, &err), -1);
	assert_int_equal(mk_err_code(err), MK_EINVAL);
}

/* The lookup the kubelet gives: a ConfigMap "web" and a Secret "creds". */
static json_t *lookup(void *arg, const char *kind, const char *ns, const char *name,
		      struct mk_err **err)
{
	(void)arg;
	if (!strcmp(kind, "ConfigMap") && !strcmp(ns, "default") && !strcmp(name, "web"))
		return json_pack("{s:{s:s, s:s}, s:{s:s}}", "data", "index.html", "<h1>hi</h1>",
				 "conf", "x=1", "binaryData", "bin", "AAEC");
	if (!strcmp(kind, "Secret") && !strcmp(name, "creds"))
		return json_pack("{s:{s:s}}", "data", "password", "czNjcjN0");
	return mk_err_set(err, MK_ENOTFOUND, "not found"), NULL;
}

static json_t *pod_with(json_t *volumes)
{
	return json_pack("{s:{s:s, s:s, s:s, s:{s:s}, s:{s:s}}, s:{s:s, s:o, s:[{s:s, s:{s:{s:s}}}]}}",
			 "metadata", "name", "web-1", "namespace", "default", "uid", "u-1",
			 "labels", "app", "web", "annotations", "note", "a \"quoted\" value",
			 "spec", "nodeName", "node1", "volumes", volumes, "containers", "name",
			 "web", "resources", "limits", "memory", "64Mi");
}

static void test_sources(void **state)
{
	(void)state;
	cleanup_free char *pod_dir = NULL;
	assert_true(asprintf(&pod_dir, "%s/pod", tmp) > 0);
	struct volumes_ctx vc = {.pod_dir = pod_dir, .lookup = lookup, .node_name = "node1",
				 .host_ip = "192.168.0.2", .pod_ip = "10.244.0.9"};
	cleanup_json json_t *pod = pod_with(json_pack(
		"[{s:s, s:{s:s}}, {s:s, s:{s:s, s:[{s:s, s:s, s:i}]}}, {s:s, s:{s:s}},"
		" {s:s, s:{s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}, {s:s, s:{s:s, s:s}}]}},"
		" {s:s, s:{s:[{s:{s:s}}, {s:{s:s, s:[{s:s, s:s}]}}]}}, {s:s, s:{}}]",
		"name", "cm", "configMap", "name", "web",
		"name", "cm-items", "configMap", "name", "web", "items", "key", "conf", "path",
		"app/settings.ini", "mode", 0400,
		"name", "sec", "secret", "secretName", "creds",
		"name", "info", "downwardAPI", "items", "path", "name", "fieldRef", "fieldPath",
		"metadata.name", "path", "labels", "fieldRef", "fieldPath", "metadata.labels", "path",
		"mem", "resourceFieldRef", "containerName", "web", "resource", "limits.memory",
		"name", "all", "projected", "sources", "configMap", "name", "web", "secret", "name",
		"creds", "items", "key", "password", "path", "pw",
		"name", "scratch", "emptyDir"));
	cleanup_err struct mk_err *err = NULL;
	if (volumes_setup(&vc, pod, &err) < 0)
		fail_msg("%s", mk_err_msg(err));
	char base[512];
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~configmap/cm", pod_dir);
	expect_file(base, "index.html", "<h1>hi</h1>", 0644);
	expect_file(base, "bin", "\x00\x01\x02", 0);
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~configmap/cm-items", pod_dir);
	expect_file(base, "app/settings.ini", "x=1", 0400);
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~secret/sec", pod_dir);
	expect_file(base, "password", "s3cr3t", 0644);
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~downward-api/info", pod_dir);
	expect_file(base, "name", "web-1", 0644);
	expect_file(base, "labels", "app=\"web\"", 0644);
	expect_file(base, "mem", "67108864", 0644);
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~projected/all", pod_dir);
	expect_file(base, "conf", "x=1", 0);
	expect_file(base, "pw", "s3cr3t", 0);
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~empty-dir/scratch", pod_dir);
	struct stat st;
	assert_int_equal(stat(base, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* mounts of a container */
	cleanup_json json_t *cspec = json_pack("{s:s, s:[{s:s, s:s, s:b}, {s:s, s:s, s:s}]}", "name",
					       "web", "volumeMounts", "name", "cm", "mountPath",
					       "/usr/share/nginx/html", "readOnly", 1, "name",
					       "scratch", "mountPath", "/data", "subPath", "logs");
	cleanup_json json_t *m = volumes_mounts(&vc, pod, cspec, &err);
	assert_non_null(m);
	assert_int_equal(json_array_size(m), 2);
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~configmap/cm", pod_dir);
	assert_string_equal(json_path_str(m, "0.source"), base);
	assert_true(json_is_true(json_path_get(m, "0.readOnly")));
	snprintf(base, sizeof(base), "%s/volumes/kubernetes.io~empty-dir/scratch/logs", pod_dir);
	assert_string_equal(json_path_str(m, "1.source"), base);
	assert_int_equal(stat(base, &st), 0);

	/* a missing ConfigMap names the volume, as upstream's FailedMount */
	cleanup_json json_t *pod2 =
		pod_with(json_pack("[{s:s, s:{s:s}}]", "name", "cfg", "configMap", "name", "nope"));
	mk_err_free(err);
	err = NULL;
	assert_int_equal(volumes_setup(&vc, pod2, &err), -1);
	assert_string_equal(mk_err_msg(err), "MountVolume.SetUp failed for volume \"cfg\" : "
					     "configmap \"nope\" not found");
	/* ... unless optional */
	cleanup_json json_t *pod3 = pod_with(
		json_pack("[{s:s, s:{s:s, s:b}}]", "name", "cfg", "configMap", "name", "nope",
			  "optional", 1));
	mk_err_free(err);
	err = NULL;
	assert_int_equal(volumes_setup(&vc, pod3, &err), 0);
	assert_int_equal(volumes_teardown(pod_dir, &err), 0);
	snprintf(base, sizeof(base), "%s/volumes", pod_dir);
	assert_int_equal(access(base, F_OK), -1);
}

static void test_host_path(void **state)
{
	(void)state;
	cleanup_free char *pod_dir = NULL, *made = NULL, *file = NULL;
	assert_true(asprintf(&pod_dir, "%s/pod2", tmp) > 0);
	assert_true(asprintf(&made, "%s/host/data", tmp) > 0);
	assert_true(asprintf(&file, "%s/host/f", tmp) > 0);
	struct volumes_ctx vc = {.pod_dir = pod_dir};
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *ok = pod_with(json_pack(
		"[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]", "name", "d", "hostPath", "path", made,
		"type", "DirectoryOrCreate", "name", "f", "hostPath", "path", file, "type",
		"FileOrCreate"));
	assert_int_equal(volumes_setup(&vc, ok, &err), 0);
	struct stat st;
	assert_int_equal(stat(made, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	cleanup_json json_t *bad = pod_with(json_pack("[{s:s, s:{s:s, s:s}}]", "name", "d", "hostPath",
						      "path", file, "type", "Directory"));
	assert_int_equal(volumes_setup(&vc, bad, &err), -1);
	assert_non_null(strstr(mk_err_msg(err), "hostPath type check failed"));
	assert_non_null(strstr(mk_err_msg(err), "is not a directory"));
}

static void test_field_values(void **state)
{
	(void)state;
	cleanup_json json_t *pod = pod_with(json_array());
	cleanup_err struct mk_err *err = NULL;
	char *v = volumes_field_value(pod, "metadata.annotations['note']", "h", "p", &err);
	assert_string_equal(v, "a \"quoted\" value");
	free(v);
	v = volumes_field_value(pod, "metadata.annotations", "h", "p", &err);
	assert_string_equal(v, "note=\"a \\\"quoted\\\" value\"");
	free(v);
	v = volumes_field_value(pod, "status.podIP", "h", "10.1.2.3", &err);
	assert_string_equal(v, "10.1.2.3");
	free(v);
	assert_null(volumes_field_value(pod, "spec.bogus", "h", "p", &err));
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	mk_err_free(err);
	err = NULL;
	v = volumes_resource_value(pod, "web", "limits.memory", "1Mi", 0, 0, &err);
	assert_string_equal(v, "64");
	free(v);
	/* no cpu limit: the node's allocatable, in cores rounded up */
	v = volumes_resource_value(pod, "web", "limits.cpu", NULL, 2000, 0, &err);
	assert_string_equal(v, "2");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_path, setup, teardown),
		cmocka_unit_test(test_field_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
