/* The kubelet's settings: flags, the KubeletConfiguration file, defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "kubelet/kconfig.h"

static void parse(struct kconfig *c, struct flag **flags, int argc, char **argv)
{
	kconfig_defaults(c);
	*flags = kconfig_flags(c);
	cleanup_err struct mk_err *err = NULL;
	if (flags_parse(*flags, argc, argv, &err) < 0)
		fail_msg("%s", mk_err_msg(err));
}

static void test_defaults(void **state)
{
	(void)state;
	struct kconfig c;
	struct flag *flags;
	char *argv[] = {"kubelet", NULL};
	parse(&c, &flags, 1, argv);
	kconfig_finish(&c);
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(kconfig_validate(&c, &err), 0);
	assert_string_equal(c.root_dir, "/var/lib/kubelet");
	assert_string_equal(c.cni_conf_dir, "/etc/cni/net.d");
	assert_string_equal(c.cni_bin_dir, "/opt/cni/bin");
	assert_string_equal(c.pod_infra_image, "registry.k8s.io/pause:3.10");
	assert_string_equal(c.container_runtime, "runc");
	assert_int_equal(c.port, 10250);
	assert_int_equal(c.healthz_port, 10248);
	assert_int_equal(c.max_pods, 110);
	assert_int_equal(c.node_status_update_frequency_ms, 10000);
	assert_int_equal(c.container_log_max_size, 10 * 1024 * 1024);
	assert_true(c.fail_swap_on);
	assert_int_equal(json_array_size(c.cluster_dns), 0);
	kconfig_free(&c);
	free(flags);
}

static void test_file_and_flags(void **state)
{
	(void)state;
	struct kconfig c;
	struct flag *flags;
	char *argv[] = {"kubelet", "--max-pods=50", "--network-plugin=cni", "--cluster-dns",
			"10.96.0.10,10.96.0.11", "--pod-manifest-path", "/etc/kubernetes/manifests",
			NULL};
	parse(&c, &flags, 7, argv);
	const char *file = "apiVersion: kubelet.config.k8s.io/v1beta1\n"
			   "kind: KubeletConfiguration\n"
			   "staticPodPath: /srv/pods\n"
			   "maxPods: 20\n"
			   "clusterDomain: cluster.local\n"
			   "clusterDNS: [10.0.0.10]\n"
			   "syncFrequency: 30s\n"
			   "containerLogMaxSize: 5Mi\n"
			   "failSwapOn: false\n"
			   "imageGCHighThresholdPercent: 90\n";
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(kconfig_apply_file(&c, file, strlen(file), flags, &err), 0);
	kconfig_finish(&c);
	assert_int_equal(kconfig_validate(&c, &err), 0);
	/* flags win over the file, the file over defaults */
	assert_int_equal(c.max_pods, 50);
	assert_string_equal(c.static_pod_path, "/etc/kubernetes/manifests");
	assert_int_equal(json_array_size(c.cluster_dns), 2);
	assert_string_equal(json_string_value(json_array_get(c.cluster_dns, 0)), "10.96.0.10");
	assert_string_equal(c.cluster_domain, "cluster.local");
	assert_int_equal(c.sync_frequency_ms, 30000);
	assert_int_equal(c.container_log_max_size, 5 * 1024 * 1024);
	assert_false(c.fail_swap_on);
	assert_int_equal(c.image_gc_high_percent, 90);
	kconfig_free(&c);
	free(flags);
}

static void expect_file_error(const char *file, const char *want)
{
	struct kconfig c;
	struct flag *flags;
	char *argv[] = {"kubelet", NULL};
	parse(&c, &flags, 1, argv);
	cleanup_err struct mk_err *err = NULL;
	int rc = kconfig_apply_file(&c, file, strlen(file), flags, &err);
	if (rc == 0) {
		kconfig_finish(&c);
		rc = kconfig_validate(&c, &err);
	}
	assert_int_equal(rc, -1);
	if (!strstr(mk_err_msg(err), want))
		fail_msg("got \"%s\", want \"%s\"", mk_err_msg(err), want);
	kconfig_free(&c);
	free(flags);
}

static void test_errors(void **state)
{
	(void)state;
	expect_file_error("kind: KubeletConfiguration\napiVersion: v1\n",
			  "no kind \"KubeletConfiguration\" is registered for version \"v1\"");
	expect_file_error("kind: Pod\napiVersion: v1\n", "no kind \"Pod\"");
	expect_file_error("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			  "maxPods: lots\n",
			  "invalid value \"lots\" for field \"maxPods\"");
	expect_file_error("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			  "port: 70000\n",
			  "port (--port) 70000 must be between 1 and 65535");
	expect_file_error("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			  "imageGCHighThresholdPercent: 50\nimageGCLowThresholdPercent: 60\n",
			  "must be less than imageGCHighThresholdPercent");
	expect_file_error("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			  "clusterDNS: [not-an-ip]\n",
			  "clusterDNS (--cluster-dns) not-an-ip is not a valid IP address");
	expect_file_error("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			  "cgroupDriver: systemd\n",
			  "only cgroupfs is supported");
}

static void test_node_name(void **state)
{
	(void)state;
	struct kconfig c;
	kconfig_defaults(&c);
	c.hostname_override = strdup("Worker-1");
	char *n = kconfig_node_name(&c);
	assert_string_equal(n, "worker-1");
	free(n);
	kconfig_finish(&c);
	kconfig_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_and_flags),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_node_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
