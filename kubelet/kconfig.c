#include "kconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "quantity.h"
#include "xalloc.h"
#include "yamldoc.h"

/* Flags kept for compatibility with older command lines (the tutorials pass
 * --network-plugin=cni); their values change nothing. */
static char *compat_network_plugin;
static char *compat_cluster_dns;

void kconfig_defaults(struct kconfig *c)
{
	*c = (struct kconfig){
		.register_node = true,
		.max_pods = 110,
		.cgroups_per_qos = true,
		.fail_swap_on = true,
		.serialize_image_pulls = true,
		.port = 10250,
		.read_only_port = 0,
		.healthz_port = 10248,
		.sync_frequency_ms = 60000,
		.file_check_frequency_ms = 20000,
		.node_status_update_frequency_ms = 10000,
		.node_status_report_frequency_ms = 300000,
		.node_lease_duration_s = 40,
		.runtime_request_timeout_ms = 120000,
		.image_gc_high_percent = 85,
		.image_gc_low_percent = 80,
		.image_minimum_gc_age_ms = 120000,
		.container_log_max_size = 10 * 1024 * 1024,
		.container_log_max_files = 5,
	};
}

#define S(n, f, h) {.name = n, .type = FLAG_STRING, .target = &c->f, .help = h}
#define I(n, f, h) {.name = n, .type = FLAG_INT, .target = &c->f, .help = h}
#define B(n, f, h) {.name = n, .type = FLAG_BOOL, .target = &c->f, .help = h}
#define D(n, f, h) {.name = n, .type = FLAG_DURATION, .target = &c->f, .help = h}

struct flag *kconfig_flags(struct kconfig *c)
{
	const struct flag table[] = {
		S("config", config_file,
		  "The Kubelet will load its initial configuration from this file. Command-line "
		  "flags override configuration from this file."),
		S("kubeconfig", kubeconfig,
		  "Path to a kubeconfig file, specifying how to connect to the API server. "
		  "Providing --kubeconfig enables API server mode, omitting --kubeconfig enables "
		  "standalone mode."),
		S("pod-manifest-path", static_pod_path,
		  "Path to the directory containing static pod files to run, or the path to a "
		  "single static pod file. Files starting with dots will be ignored."),
		S("root-dir", root_dir,
		  "Directory path for managing kubelet files (volume mounts, etc). (default "
		  "\"/var/lib/kubelet\")"),
		S("cni-conf-dir", cni_conf_dir,
		  "The full path of the directory in which to search for CNI config files "
		  "(default \"/etc/cni/net.d\")"),
		S("cni-bin-dir", cni_bin_dir,
		  "A comma-separated list of full paths of directories in which to search for CNI "
		  "plugin binaries (default \"/opt/cni/bin\")"),
		S("cni-cache-dir", cni_cache_dir,
		  "The full path of the directory in which CNI should store cache files (default "
		  "\"/var/lib/cni/cache\")"),
		{.name = "network-plugin", .type = FLAG_STRING, .target = &compat_network_plugin,
		 .help = "Accepted for compatibility: CNI is always used (\"cni\")"},
		S("registry-config", registry_config,
		  "Registry mirrors and credentials in registries.yaml format (default "
		  "\"/etc/mink8s/registries.yaml\")"),
		S("resolv-conf", resolv_conf,
		  "Resolver configuration file used as the basis for the container DNS resolution "
		  "configuration. (default \"/etc/resolv.conf\")"),
		S("hostname-override", hostname_override,
		  "If non-empty, will use this string as identification instead of the actual "
		  "hostname."),
		S("node-ip", node_ip,
		  "IP address of the node. If set, kubelet will use this IP address for the node"),
		S("node-labels", node_labels,
		  "Labels to add when registering the node in the cluster. Labels must be "
		  "key=value pairs separated by ','."),
		S("register-with-taints", register_with_taints,
		  "Register the node with the given list of taints (comma separated "
		  "\"<key>=<value>:<effect>\")."),
		B("register-node", register_node,
		  "Register the node with the apiserver. (default true)"),
		S("pod-cidr", pod_cidr,
		  "The CIDR to use for pod IP addresses, only used in standalone mode."),
		I("max-pods", max_pods, "Number of Pods that can run on this Kubelet. (default 110)"),
		S("provider-id", provider_id, "Unique identifier for identifying the node."),
		S("container-runtime", container_runtime,
		  "The OCI runtime that runs containers: runc, crun or a path to one (default "
		  "\"runc\")"),
		S("pod-infra-container-image", pod_infra_image,
		  "The image whose process holds the pod's namespaces (default "
		  "\"registry.k8s.io/pause:3.10\")"),
		S("cgroup-driver", cgroup_driver,
		  "Driver that the kubelet uses to manipulate cgroups on the host. Possible values: "
		  "'cgroupfs'. (default \"cgroupfs\")"),
		S("cgroup-root", cgroup_root,
		  "Optional root cgroup to use for pods. (default \"/\")"),
		B("cgroups-per-qos", cgroups_per_qos,
		  "Enable creation of QoS cgroup hierarchy, if true top level QoS and pod cgroups "
		  "are created. (default true)"),
		B("fail-swap-on", fail_swap_on,
		  "Makes the Kubelet fail to start if swap is enabled on the node. (default true)"),
		B("serialize-image-pulls", serialize_image_pulls,
		  "Pull images one at a time. (default true)"),
		{.name = "cluster-dns", .type = FLAG_STRING, .target = &compat_cluster_dns,
		 .help = "Comma-separated list of DNS server IP address. This value is used for "
			 "containers DNS server in case of Pods with \"dnsPolicy=ClusterFirst\"."},
		S("cluster-domain", cluster_domain,
		  "Domain for this cluster. If set, kubelet will configure all containers to "
		  "search this domain in addition to the host's search domains"),
		S("address", address,
		  "The IP address for the Kubelet to serve on (set to '0.0.0.0' or '::' for "
		  "listening on all interfaces and IP address families) (default 0.0.0.0)"),
		I("port", port, "The port for the Kubelet to serve on. (default 10250)"),
		I("read-only-port", read_only_port,
		  "The read-only port for the Kubelet to serve on with no authentication/"
		  "authorization (set to 0 to disable)"),
		S("healthz-bind-address", healthz_bind_address,
		  "The IP address for the healthz server to serve on (default 127.0.0.1)"),
		I("healthz-port", healthz_port,
		  "The port of the localhost healthz endpoint (set to 0 to disable) (default "
		  "10248)"),
		D("sync-frequency", sync_frequency_ms,
		  "Max period between synchronizing running containers and config (default 1m0s)"),
		D("file-check-frequency", file_check_frequency_ms,
		  "Duration between checking config files for new data (default 20s)"),
		D("node-status-update-frequency", node_status_update_frequency_ms,
		  "Specifies how often kubelet posts node status to master. (default 10s)"),
		D("runtime-request-timeout", runtime_request_timeout_ms,
		  "Timeout of all runtime requests except long running request (default 2m0s)"),
		I("image-gc-high-threshold", image_gc_high_percent,
		  "The percent of disk usage after which image garbage collection is always run. "
		  "(default 85)"),
		I("image-gc-low-threshold", image_gc_low_percent,
		  "The percent of disk usage before which image garbage collection is never run. "
		  "(default 80)"),
		D("minimum-image-ttl-duration", image_minimum_gc_age_ms,
		  "Minimum age for an unused image before it is garbage collected. (default 2m0s)"),
		I("container-log-max-files", container_log_max_files,
		  "Set the maximum number of container log files that can be present for a "
		  "container. (default 5)"),
		{0},
	};
	struct flag *out = xmalloc(sizeof(table));
	memcpy(out, table, sizeof(table));
	return out;
}

static const struct flag *flag_named(const struct flag *flags, const char *name)
{
	for (const struct flag *f = flags; f && f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static bool given(const struct flag *flags, const char *name)
{
	const struct flag *f = flag_named(flags, name);
	return f && f->seen;
}

/* One field of the file: its key, the flag that wins over it, and where it
 * goes. */
enum ftype { F_STR, F_INT, F_BOOL, F_DUR, F_QTY, F_STRLIST };

struct field {
	const char *key;
	const char *flag;
	enum ftype type;
	size_t off;
};

#define FLD(k, fl, t, m) {k, fl, t, offsetof(struct kconfig, m)}
static const struct field fields[] = {
	FLD("staticPodPath", "pod-manifest-path", F_STR, static_pod_path),
	FLD("resolvConf", "resolv-conf", F_STR, resolv_conf),
	FLD("podCIDR", "pod-cidr", F_STR, pod_cidr),
	FLD("maxPods", "max-pods", F_INT, max_pods),
	FLD("providerID", "provider-id", F_STR, provider_id),
	FLD("registerNode", "register-node", F_BOOL, register_node),
	FLD("cgroupDriver", "cgroup-driver", F_STR, cgroup_driver),
	FLD("cgroupRoot", "cgroup-root", F_STR, cgroup_root),
	FLD("cgroupsPerQOS", "cgroups-per-qos", F_BOOL, cgroups_per_qos),
	FLD("failSwapOn", "fail-swap-on", F_BOOL, fail_swap_on),
	FLD("serializeImagePulls", "serialize-image-pulls", F_BOOL, serialize_image_pulls),
	FLD("clusterDNS", "cluster-dns", F_STRLIST, cluster_dns),
	FLD("clusterDomain", "cluster-domain", F_STR, cluster_domain),
	FLD("address", "address", F_STR, address),
	FLD("port", "port", F_INT, port),
	FLD("readOnlyPort", "read-only-port", F_INT, read_only_port),
	FLD("healthzBindAddress", "healthz-bind-address", F_STR, healthz_bind_address),
	FLD("healthzPort", "healthz-port", F_INT, healthz_port),
	FLD("syncFrequency", "sync-frequency", F_DUR, sync_frequency_ms),
	FLD("fileCheckFrequency", "file-check-frequency", F_DUR, file_check_frequency_ms),
	FLD("nodeStatusUpdateFrequency", "node-status-update-frequency", F_DUR,
	    node_status_update_frequency_ms),
	FLD("nodeStatusReportFrequency", NULL, F_DUR, node_status_report_frequency_ms),
	FLD("nodeLeaseDurationSeconds", NULL, F_INT, node_lease_duration_s),
	FLD("runtimeRequestTimeout", "runtime-request-timeout", F_DUR, runtime_request_timeout_ms),
	FLD("imageGCHighThresholdPercent", "image-gc-high-threshold", F_INT, image_gc_high_percent),
	FLD("imageGCLowThresholdPercent", "image-gc-low-threshold", F_INT, image_gc_low_percent),
	FLD("imageMinimumGCAge", "minimum-image-ttl-duration", F_DUR, image_minimum_gc_age_ms),
	FLD("containerLogMaxSize", NULL, F_QTY, container_log_max_size),
	FLD("containerLogMaxFiles", "container-log-max-files", F_INT, container_log_max_files),
	FLD("podLogsDir", NULL, F_STR, log_dir),
};

static int apply_field(struct kconfig *c, const struct field *f, json_t *v, struct mk_err **err)
{
	void *p = (char *)c + f->off;
	switch (f->type) {
	case F_STR:
		if (!json_is_string(v))
			goto bad;
		free(*(char **)p);
		*(char **)p = xstrdup(json_string_value(v));
		return 0;
	case F_INT:
		if (!json_is_integer(v))
			goto bad;
		*(int64_t *)p = json_integer_value(v);
		return 0;
	case F_BOOL:
		if (!json_is_boolean(v))
			goto bad;
		*(bool *)p = json_is_true(v);
		return 0;
	case F_DUR:
		if (!json_is_string(v) ||
		    flags_parse_duration(json_string_value(v), (int64_t *)p, NULL) < 0)
			goto bad;
		return 0;
	case F_QTY: {
		int64_t milli;
		if (!json_is_string(v) || quantity_parse_milli(json_string_value(v), &milli, NULL) < 0)
			goto bad;
		*(int64_t *)p = milli / 1000;
		return 0;
	}
	case F_STRLIST: {
		size_t i;
		json_t *e;
		if (!json_is_array(v))
			goto bad;
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e))
				goto bad;
		}
		json_decref(*(json_t **)p);
		*(json_t **)p = json_copy(v);
		return 0;
	}
	}
bad:;
	cleanup_free char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return mk_err_set(err, MK_EINVAL, "invalid value %s for field \"%s\"", text ? text : "?",
			  f->key);
}

int kconfig_apply_file(struct kconfig *c, const char *text, size_t len, const struct flag *flags,
		       struct mk_err **err)
{
	cleanup_json json_t *doc = yamldoc_parse(text, len, err);
	if (!doc)
		return -1;
	if (!json_is_object(doc))
		return mk_err_set(err, MK_EINVAL, "the configuration is not a KubeletConfiguration object");
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *av = json_string_value(json_object_get(doc, "apiVersion"));
	if (!kind || strcmp(kind, "KubeletConfiguration"))
		return mk_err_set(err, MK_EINVAL, "no kind \"%s\" is registered for version \"%s\"",
				  kind ? kind : "", av ? av : "");
	if (!av || strcmp(av, "kubelet.config.k8s.io/v1beta1"))
		return mk_err_set(err, MK_EINVAL,
				  "no kind \"KubeletConfiguration\" is registered for version \"%s\"",
				  av ? av : "");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *v = json_object_get(doc, fields[i].key);
		if (!v || json_is_null(v))
			continue;
		if (fields[i].flag && given(flags, fields[i].flag))
			continue;
		if (apply_field(c, &fields[i], v, err) < 0)
			return -1;
	}
	return 0;
}

static void default_str(char **s, const char *v)
{
	if (!*s)
		*s = xstrdup(v);
}

char *kconfig_run_dir(const char *root_dir)
{
	return strcmp(root_dir, "/var/lib/kubelet") ? xasprintf("%s/run", root_dir)
						    : xstrdup("/run/mink8s");
}

void kconfig_finish(struct kconfig *c)
{
	if (compat_cluster_dns) {
		json_decref(c->cluster_dns);
		c->cluster_dns = json_array();
		cleanup_free char *copy = xstrdup(compat_cluster_dns);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (*t)
				json_array_append_new(c->cluster_dns, json_string(t));
		free(compat_cluster_dns);
		compat_cluster_dns = NULL;
	}
	free(compat_network_plugin);
	compat_network_plugin = NULL;
	if (!c->cluster_dns)
		c->cluster_dns = json_array();
	default_str(&c->root_dir, "/var/lib/kubelet");
	default_str(&c->cni_conf_dir, "/etc/cni/net.d");
	default_str(&c->cni_bin_dir, "/opt/cni/bin");
	default_str(&c->cni_cache_dir, "/var/lib/cni");
	default_str(&c->registry_config, "/etc/mink8s/registries.yaml");
	default_str(&c->resolv_conf, "/etc/resolv.conf");
	default_str(&c->log_dir, "/var/log/pods");
	/* Runtime state lives on tmpfs like runc's own; a kubelet with its own
	 * root directory (several on one host, as in a local multi-node
	 * cluster) keeps its state apart under that directory. */
	if (!c->run_dir)
		c->run_dir = kconfig_run_dir(c->root_dir);
	default_str(&c->container_runtime, "runc");
	default_str(&c->pod_infra_image, "registry.k8s.io/pause:3.10");
	default_str(&c->cgroup_driver, "cgroupfs");
	default_str(&c->cgroup_root, "/");
	default_str(&c->cluster_domain, "");
	default_str(&c->address, "0.0.0.0");
	default_str(&c->healthz_bind_address, "127.0.0.1");
}

int kconfig_validate(const struct kconfig *c, struct mk_err **err)
{
	if (c->port < 1 || c->port > 65535)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: port (--port) %lld must be "
				  "between 1 and 65535, inclusive", (long long)c->port);
	if (c->healthz_port < 0 || c->healthz_port > 65535)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: healthzPort (--healthz-port) "
				  "%lld must be between 1 and 65535, inclusive",
				  (long long)c->healthz_port);
	if (c->read_only_port < 0 || c->read_only_port > 65535)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: readOnlyPort "
				  "(--read-only-port) %lld must be between 0 and 65535, inclusive",
				  (long long)c->read_only_port);
	if (c->image_gc_high_percent < 0 || c->image_gc_high_percent > 100)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: imageGCHighThresholdPercent "
				  "(--image-gc-high-threshold) %lld must be between 0 and 100, "
				  "inclusive", (long long)c->image_gc_high_percent);
	if (c->image_gc_low_percent < 0 || c->image_gc_low_percent > 100)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: imageGCLowThresholdPercent "
				  "(--image-gc-low-threshold) %lld must be between 0 and 100, "
				  "inclusive", (long long)c->image_gc_low_percent);
	if (c->image_gc_low_percent >= c->image_gc_high_percent)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: imageGCLowThresholdPercent "
				  "(--image-gc-low-threshold) %lld must be less than "
				  "imageGCHighThresholdPercent (--image-gc-high-threshold) %lld",
				  (long long)c->image_gc_low_percent,
				  (long long)c->image_gc_high_percent);
	if (c->max_pods < 0)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: maxPods (--max-pods) %lld "
				  "must not be a negative number", (long long)c->max_pods);
	if (c->container_log_max_files < 2)
		return mk_err_set(err, MK_EINVAL, "invalid configuration: containerLogMaxFiles "
				  "(--container-log-max-files) %lld must be greater than 1",
				  (long long)c->container_log_max_files);
	if (c->cgroup_driver && strcmp(c->cgroup_driver, "cgroupfs"))
		return mk_err_set(err, MK_EINVAL, "invalid configuration: cgroupDriver "
				  "(--cgroup-driver) \"%s\": only cgroupfs is supported on this "
				  "node (PID 1 is not systemd)", c->cgroup_driver);
	size_t i;
	json_t *e;
	json_array_foreach(c->cluster_dns, i, e)
	{
		const char *ip = json_string_value(e);
		struct in_addr a4;
		struct in6_addr a6;
		if (inet_pton(AF_INET, ip, &a4) != 1 && inet_pton(AF_INET6, ip, &a6) != 1)
			return mk_err_set(err, MK_EINVAL, "invalid configuration: clusterDNS "
					  "(--cluster-dns) %s is not a valid IP address", ip);
	}
	return 0;
}

char *kconfig_node_name(const struct kconfig *c)
{
	char host[256] = "";
	const char *name = c->hostname_override;
	if (!name || !*name) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			strcpy(host, "localhost");
		name = host;
	}
	char *out = xstrdup(name);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

void kconfig_free(struct kconfig *c)
{
	char **strs[] = {&c->config_file, &c->kubeconfig, &c->static_pod_path, &c->root_dir,
			 &c->cni_conf_dir, &c->cni_bin_dir, &c->cni_cache_dir, &c->registry_config,
			 &c->resolv_conf, &c->log_dir, &c->run_dir, &c->hostname_override,
			 &c->node_ip, &c->node_labels, &c->register_with_taints, &c->pod_cidr,
			 &c->provider_id, &c->container_runtime, &c->pod_infra_image,
			 &c->cgroup_driver, &c->cgroup_root, &c->cluster_domain, &c->address,
			 &c->healthz_bind_address};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	json_decref(c->cluster_dns);
	c->cluster_dns = NULL;
}
