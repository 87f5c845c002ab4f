/* libFuzzer entry point for the protobuf body decoder.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/protobuf/.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mk_err *err = NULL;
	json_t *obj = k8s_protobuf_decode(data, size, &err);
	if (obj) {
		/* a result is always an object carrying its type */
		if (!json_is_object(obj) || !json_object_get(obj, "apiVersion"))
			__builtin_trap();
		json_decref(obj);
	} else if (mk_err_code(err) != MK_EINVAL && mk_err_code(err) != MK_EUNSUPPORTED) {
		__builtin_trap();
	}
	mk_err_free(err);
	return 0;
}
