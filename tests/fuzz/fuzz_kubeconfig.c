/* libFuzzer entry point for kubeconfig documents (YAML or JSON): any input
 * parses or fails with a described error; what parses answers every
 * accessor, and the server is never NULL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const char *s)
{
	volatile size_t n = s ? strlen(s) : 0;
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the context override: a second pass selecting "other" */
	for (int pass = 0; pass < 2; pass++) {
		struct mk_err *err = NULL;
		struct kubeconfig *kc = kubeconfig_parse((const char *)data, size, "/nonexistent",
							 pass ? "other" : NULL, &err);
		if (!kc) {
			if (!err || !*mk_err_msg(err))
				abort();
			mk_err_free(err);
			continue;
		}
		if (!kubeconfig_server(kc) || !kubeconfig_namespace(kc))
			abort();
		touch(kubeconfig_server(kc));
		touch(kubeconfig_context(kc));
		touch(kubeconfig_token(kc));
		touch(kubeconfig_ca_file(kc));
		touch(kubeconfig_client_cert_file(kc));
		touch(kubeconfig_client_key_file(kc));
		(void)kubeconfig_insecure(kc);
		size_t n;
		const char *(*data_fn[])(const struct kubeconfig *, size_t *) = {
			kubeconfig_ca_data, kubeconfig_client_cert_data, kubeconfig_client_key_data};
		for (size_t i = 0; i < 3; i++) {
			const char *d = data_fn[i](kc, &n);
			volatile uint8_t x = 0;
			for (size_t j = 0; d && j < n; j++)
				x ^= (uint8_t)d[j];
			(void)x;
		}
		kubeconfig_free(kc);
	}
	return 0;
}
