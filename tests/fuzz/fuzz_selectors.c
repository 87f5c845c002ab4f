/* libFuzzer entry point for the label selector, field selector and quantity
 * parsers.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/selectors/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fields.h"
#include "labels.h"
#include "quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct mk_err *err = NULL;
	struct label_selector *ls = labels_selector_parse(s, &err);
	if (ls) {
		/* the canonical form parses again to the same form */
		char *canon = labels_selector_format(ls);
		struct label_selector *again = labels_selector_parse(canon, NULL);
		if (!again)
			__builtin_trap();
		char *canon2 = labels_selector_format(again);
		if (strcmp(canon, canon2) != 0)
			__builtin_trap();
		json_t *labels = json_pack("{s:s}", "app", "web");
		labels_selector_matches(ls, labels);
		json_decref(labels);
		free(canon);
		free(canon2);
		labels_selector_free(again);
		labels_selector_free(ls);
	} else if (mk_err_code(err) != MK_EINVAL) {
		__builtin_trap();
	}
	mk_err_free(err);
	err = NULL;

	struct field_selector *fs = fields_selector_parse(s, &err);
	if (!fs && mk_err_code(err) != MK_EINVAL)
		__builtin_trap();
	fields_selector_free(fs);
	mk_err_free(err);
	err = NULL;

	int64_t milli;
	if (quantity_parse_milli(s, &milli, &err) == 0) {
		/* formatting and parsing again gives the same value */
		char *q = quantity_format_milli(milli, s[0] && strchr(s, 'i'));
		int64_t back;
		if (quantity_parse_milli(q, &back, NULL) != 0 || back != milli)
			__builtin_trap();
		free(q);
	} else if (mk_err_code(err) != MK_EINVAL) {
		__builtin_trap();
	}
	mk_err_free(err);
	free(s);
	return 0;
}
