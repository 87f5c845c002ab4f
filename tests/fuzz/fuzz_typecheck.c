/* libFuzzer entry point for the API server's body type checks: any JSON
 * checked as any kind gives NULL or one of upstream's decoder messages.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/typecheck/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "apiserver/typecheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"Pod",	 "Deployment", "ReplicaSet", "Scale",
					    "ConfigMap", "Secret",     "Service",    "Namespace",
					    "Node",	 "Lease",      NULL};
	json_t *v = json_loadb((const char *)data, size, 0, NULL);
	if (!v)
		return 0;
	for (const char *const *k = kinds; *k; k++) {
		char *msg = typecheck_body(*k, v);
		/* every message is upstream's decoder's or a quantity's */
		if (msg && strncmp(msg, "json: cannot unmarshal ", 23) &&
		    strncmp(msg, "quantities must", 15) && strncmp(msg, "unable to parse", 15))
			__builtin_trap();
		free(msg);
	}
	json_decref(v);
	return 0;
}
