/* libFuzzer entry point for the protobuf body decoder. Not built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     tests/fuzz/fuzz_protobuf.c lib/protobuf.c lib/err.c lib/xalloc.c lib/buf.c \
 *     -ljansson -o fuzz_protobuf
 *   ./fuzz_protobuf tests/fixtures/protobuf
 * (the fixture directory's .pb files make a good seed corpus). */
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
