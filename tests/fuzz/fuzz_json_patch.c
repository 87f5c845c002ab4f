/* libFuzzer entry point for the patch functions of lib/json: the input is a
 * JSON array [doc, patch]; merge patch, JSON patch and strategic merge patch
 * must each return a value or a described EINVAL, never crash, never change
 * their inputs, and strategic merge results carry no directive.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/json_patch/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(struct mk_err *err)
{
	if (!err || mk_err_code(err) != MK_EINVAL || !*mk_err_msg(err))
		abort();
	mk_err_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!json_is_array(in) || json_array_size(in) != 2) {
		json_decref(in);
		return 0;
	}
	char *before = json_dump_compact(in);
	const json_t *doc = json_array_get(in, 0), *patch = json_array_get(in, 1);
	struct mk_err *err = NULL;

	json_decref(json_merge_patch(doc, patch));

	json_t *r = json_patch_apply(doc, patch, &err);
	if (r)
		json_decref(r);
	else {
		check_failure(err);
		err = NULL;
	}

	r = json_smp_apply(doc, patch, &err);
	if (r) {
		char *s = json_dump_compact(r);
		char *d = json_dump_compact(doc);
		if (strstr(s, "\"$patch\":") && !strstr(d, "$patch"))
			abort(); /* a directive leaked into the result */
		free(d);
		free(s);
		json_decref(r);
	} else {
		check_failure(err);
	}

	char *after = json_dump_compact(in);
	if (strcmp(before, after))
		abort();
	free(before);
	free(after);
	json_decref(in);
	return 0;
}
