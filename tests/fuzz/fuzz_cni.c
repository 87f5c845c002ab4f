/* libFuzzer entry point for what lib/cni reads from outside: network
 * configuration files, plugin results, and a failed plugin's output. Not
 * built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     tests/fuzz/fuzz_cni.c lib/cni.c lib/ipaddr.c lib/err.c lib/xalloc.c lib/buf.c \
 *     -ljansson -lresolv -o fuzz_cni */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mk_err *err = NULL;

	/* a configuration: every plugin's config builds, and a parsed list
	 * parses again from its own bytes to the same network and version */
	struct cni_netconf *nc = cni_netconf_parse(s, size, NULL, &err);
	mk_err_free(err);
	err = NULL;
	if (nc) {
		json_t *caps = json_pack("{s:[],s:{}}", "portMappings", "bandwidth");
		size_t n = json_array_size(json_object_get(nc->list, "plugins"));
		for (size_t i = 0; i < n; i++) {
			json_t *c = cni_netconf_plugin_build(nc, i, caps, caps);
			if (!c)
				__builtin_trap();
			json_decref(c);
		}
		json_decref(caps);
		struct cni_netconf *again = cni_netconf_parse(nc->bytes, nc->len, NULL, NULL);
		if (!again || strcmp(again->name, nc->name) || strcmp(again->version, nc->version))
			__builtin_trap();
		cni_netconf_free(again);
		cni_netconf_free(nc);
	}

	/* a result: normalized, it converts to every version, and the 1.x
	 * conversion normalizes back to itself */
	json_t *r = json_loadb(s, size, 0, NULL);
	json_t *norm = r ? cni_result_normalize(r, NULL) : NULL;
	if (norm) {
		for (int i = 0; cni_versions[i]; i++) {
			json_t *c = cni_result_convert(norm, cni_versions[i], NULL);
			json_decref(c);
		}
		json_t *v11 = cni_result_convert(norm, "1.1.0", NULL);
		json_t *back = v11 ? cni_result_normalize(v11, NULL) : NULL;
		json_t *v11b = back ? cni_result_convert(back, "1.1.0", NULL) : NULL;
		if (!v11 || !v11b || !json_equal(v11, v11b))
			__builtin_trap();
		json_decref(v11);
		json_decref(back);
		json_decref(v11b);
		free(cni_result_pod_ip(r, 0));
		json_decref(norm);
	}
	json_decref(r);

	/* a failed plugin's stdout (and the same bytes as its stderr) */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct cni_plugin_err pe = {0};
	cni_plugin_err_parse(s, size, text, 1 << 8, &pe);
	if (!pe.msg)
		__builtin_trap();
	cni_plugin_err_clear(&pe);
	cni_plugin_err_parse("", 0, text, 9, &pe);
	cni_plugin_err_clear(&pe);
	free(text);
	return 0;
}
