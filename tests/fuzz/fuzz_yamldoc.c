/* libFuzzer entry point for lib/yamldoc: any input must parse or fail
 * cleanly, and whatever parses must emit and read back as the same JSON.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/yamldoc/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "yamldoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mk_err *err = NULL;
	json_t *docs = yamldoc_parse_all((const char *)data, size, &err);
	if (!docs) {
		if (!err || mk_err_code(err) != MK_EINVAL || strncmp(mk_err_msg(err), "yaml: ", 6))
			abort(); /* every failure is a described EINVAL */
		mk_err_free(err);
		return 0;
	}
	char *out = yamldoc_emit_all(docs);
	if (out) {
		json_t *again = yamldoc_parse_all(out, strlen(out), &err);
		/* documents that are JSON null are skipped when read back */
		size_t i;
		json_t *d;
		json_t *nonnull = json_array();
		json_array_foreach(docs, i, d)
		{
			if (!json_is_null(d))
				json_array_append(nonnull, d);
		}
		if (!again || !json_value_equal(again, nonnull))
			abort();
		json_decref(again);
		json_decref(nonnull);
		free(out);
	}
	json_t *first = yamldoc_parse((const char *)data, size, NULL);
	if (!first)
		abort(); /* the whole stream parsed, so its first document does too */
	json_decref(first);
	json_decref(docs);
	return 0;
}
