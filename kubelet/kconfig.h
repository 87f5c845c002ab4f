/* The kubelet's settings: upstream's flags and KubeletConfiguration
 * (kubelet.config.k8s.io/v1beta1) file, with upstream's defaults. A value
 * given as a flag wins over the file, the file over the default. */
#ifndef MK_KUBELET_KCONFIG_H
#define MK_KUBELET_KCONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"
#include "flags.h"

struct kconfig {
	/* files and directories */
	char *config_file;      /* --config */
	char *kubeconfig;       /* --kubeconfig; NULL or "": standalone mode */
	char *static_pod_path;  /* --pod-manifest-path / staticPodPath */
	char *root_dir;         /* --root-dir (/var/lib/kubelet) */
	char *cni_conf_dir;     /* --cni-conf-dir (/etc/cni/net.d) */
	char *cni_bin_dir;      /* --cni-bin-dir (/opt/cni/bin; colon-separated list) */
	char *cni_cache_dir;    /* --cni-cache-dir (/var/lib/cni) */
	char *registry_config;  /* --registry-config (/etc/mink8s/registries.yaml) */
	char *resolv_conf;      /* --resolv-conf / resolvConf (/etc/resolv.conf) */
	char *log_dir;          /* podLogsDir: where CRI logs go (/var/log/pods);
				 * the log shippers' links go to its sibling "containers" */
	char *run_dir;          /* runtime state: /run/mink8s, or <root-dir>/run
				 * for a root directory of its own */

	/* node */
	char *hostname_override; /* --hostname-override */
	char *node_ip;           /* --node-ip */
	char *node_labels;       /* --node-labels k=v,k2=v2 */
	char *register_with_taints; /* --register-with-taints k=v:NoSchedule,... */
	bool register_node;      /* --register-node / registerNode (true) */
	char *pod_cidr;          /* --pod-cidr / podCIDR (standalone) */
	int64_t max_pods;        /* --max-pods / maxPods (110) */
	char *provider_id;

	/* runtime */
	char *container_runtime; /* --container-runtime: runc (default), crun or a path */
	char *pod_infra_image;   /* --pod-infra-container-image (registry.k8s.io/pause:3.10) */
	char *cgroup_driver;     /* cgroupfs (systemd is refused: no systemd here) */
	char *cgroup_root;       /* --cgroup-root ("/") */
	bool cgroups_per_qos;    /* (true) */
	bool fail_swap_on;       /* --fail-swap-on / failSwapOn (true) */
	bool serialize_image_pulls;

	/* DNS */
	json_t *cluster_dns;     /* array of strings (--cluster-dns a,b / clusterDNS) */
	char *cluster_domain;    /* --cluster-domain / clusterDomain */

	/* serving */
	char *address;           /* --address (0.0.0.0) */
	int64_t port;            /* --port (10250) */
	int64_t read_only_port;  /* --read-only-port (0: off) */
	char *healthz_bind_address; /* (127.0.0.1) */
	int64_t healthz_port;    /* (10248) */

	/* periods, in milliseconds */
	int64_t sync_frequency_ms;              /* syncFrequency (1m) */
	int64_t file_check_frequency_ms;        /* fileCheckFrequency (20s; inotify makes it a backstop) */
	int64_t node_status_update_frequency_ms; /* (10s) */
	int64_t node_status_report_frequency_ms; /* (5m) */
	int64_t node_lease_duration_s;          /* nodeLeaseDurationSeconds (40) */
	int64_t runtime_request_timeout_ms;     /* (2m) */

	/* images and logs */
	int64_t image_gc_high_percent;          /* (85) */
	int64_t image_gc_low_percent;           /* (80) */
	int64_t image_minimum_gc_age_ms;        /* (2m) */
	int64_t container_log_max_size;         /* bytes (10Mi) */
	int64_t container_log_max_files;        /* (5) */
};

/* Fills c with upstream's defaults. */
void kconfig_defaults(struct kconfig *c);

/* The kubelet's flag table bound to c's fields (new array ending with a
 * zeroed entry; free() it after use; the strings it sets belong to c).
 * Scratch targets for flags accepted only for compatibility (for example
 * --network-plugin=cni, which the tutorials pass) live in static storage. */
struct flag *kconfig_flags(struct kconfig *c);

/* Applies a KubeletConfiguration document (YAML or JSON text) to c, except
 * for the fields whose flag was given (flags, with .seen set by flags_parse,
 * may be NULL). MK_EINVAL with the reason for a document that is not a
 * KubeletConfiguration of kubelet.config.k8s.io/v1beta1 or has a field of the
 * wrong type. */
int kconfig_apply_file(struct kconfig *c, const char *text, size_t len, const struct flag *flags,
		       struct mk_err **err);

/* The runtime state directory of a kubelet with root_dir: /run/mink8s for
 * the default root, <root_dir>/run otherwise. New string. */
char *kconfig_run_dir(const char *root_dir);

/* After flags and file: gives every setting still unset its default and
 * turns the flags kept for compatibility into fields. */
void kconfig_finish(struct kconfig *c);

/* Checks the merged settings as upstream does (ports, percentages, max
 * pods, cgroup driver, container runtime). MK_EINVAL with the reason. */
int kconfig_validate(const struct kconfig *c, struct mk_err **err);

/* The node's name: --hostname-override, else the host name, lower-cased,
 * as upstream does. New string. */
char *kconfig_node_name(const struct kconfig *c);

/* Frees what c owns (not c itself). */
void kconfig_free(struct kconfig *c);

#endif
