/* KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) files: what a
 * file sets, read apart from the command line so that the daemon applies
 * only the fields whose flag was not given, with upstream's defaulting (zero
 * durations and empty addresses keep the defaults). */
#ifndef MK_PROXY_KPCONFIG_H
#define MK_PROXY_KPCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KPCONFIG_API_VERSION "kubeproxy.config.k8s.io/v1alpha1"

/* What one file sets. Strings are owned (kpconfig_clear) and NULL when the
 * file leaves the field out (or empty, where empty keeps the default). */
struct kpconfig {
	char *kubeconfig;         /* clientConnection.kubeconfig */
	char *mode;               /* mode ("" counts as absent) */
	char *cluster_cidr;       /* clusterCIDR */
	char *hostname_override;  /* hostnameOverride */
	char *nodeport_addresses; /* nodePortAddresses joined with "," (absent when empty) */
	char *healthz_addr;       /* healthzBindAddress as written ("" counts as absent) */
	char *metrics_addr;       /* metricsBindAddress as written ("" counts as absent) */
	/* From the section of the proxy mode in use (iptables or nftables), as
	 * upstream converts them: */
	int64_t sync_ms;     /* syncPeriod; 0 when absent, zero or malformed */
	int64_t min_sync_ms; /* minSyncPeriod; likewise */
	int masquerade_all;  /* masqueradeAll: -1 absent, 0, 1 */
	bool has_masq_bit;
	int64_t masq_bit; /* masqueradeBit */
	bool has_verbosity;
	int verbosity; /* logging.verbosity */
};

/* Parses a file's text (YAML or JSON) into c (zeroed first). name (the
 * file's path) starts every message. mode is the proxy mode the command
 * line chose; unless mode_given, the file's own mode (when set) picks the
 * section the sync settings come from. MK_EINVAL for text that does not
 * parse or is not a KubeProxyConfiguration of KPCONFIG_API_VERSION; c is
 * then empty. */
int kpconfig_parse(const char *text, size_t len, const char *name, const char *mode,
		   bool mode_given, struct kpconfig *c, struct mk_err **err);

/* Frees what c owns and zeroes it; accepts NULL. */
void kpconfig_clear(struct kpconfig *c);

#endif
