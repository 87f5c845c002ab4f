/* libFuzzer entry point for the API server's body type checks: any JSON
 * checked as any kind gives NULL or one of upstream's decoder messages;
 * its duplicated keys are found and strict decoding names only unknown or
 * duplicated fields, leaving no unknown field behind when pruning.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/typecheck/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "json.h"
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
	json_t *dups = json_duplicate_keys((const char *)data, size);
	for (const char *const *k = kinds; *k; k++) {
		json_t *copy = json_deep_copy(v);
		json_t *found = typecheck_strict(*k, copy, dups, TYPECHECK_PRUNE);
		size_t i;
		json_t *f;
		json_array_foreach(found, i, f)
		{
			const char *t = json_string_value(f);
			if (strncmp(t, "unknown field \"", 15) && strncmp(t, "duplicate field \"", 17))
				__builtin_trap();
		}
		json_t *again = typecheck_strict(*k, copy, NULL, 0);
		if (again) /* pruning left an unknown field */
			__builtin_trap();
		json_decref(found);
		json_decref(copy);
	}
	json_decref(dups);
	json_decref(v);
	return 0;
}
