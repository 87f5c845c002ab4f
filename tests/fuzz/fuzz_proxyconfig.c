/* libFuzzer entry point for kube-proxy's KubeProxyConfiguration file, read
 * for either proxy mode, with the mode from the command line or the file:
 * it parses or fails with a described EINVAL, and a failure leaves nothing
 * set. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proxy/kpconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const modes[] = {"iptables", "nftables", ""};
	for (int i = 0; i < 6; i++) {
		struct kpconfig c;
		struct mk_err *err = NULL;
		if (kpconfig_parse((const char *)data, size, "kube-proxy.yaml", modes[i % 3], i >= 3,
				   &c, &err) < 0) {
			const char *msg = mk_err_msg(err);
			if (mk_err_code(err) != MK_EINVAL ||
			    (strncmp(msg, "parsing kube-proxy.yaml: ", 25) &&
			     strncmp(msg, "kube-proxy.yaml: ", 17)))
				abort();
			if (c.kubeconfig || c.mode || c.nodeport_addresses || c.has_masq_bit)
				abort();
			mk_err_free(err);
			continue;
		}
		if (c.sync_ms < 0 || c.min_sync_ms < 0 || (c.mode && !*c.mode))
			abort();
		kpconfig_clear(&c);
	}
	return 0;
}
