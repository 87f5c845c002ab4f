/* libFuzzer entry point for static pod manifests: a valid pod comes back
 * named for the node with its config annotations, anything else is a
 * described EINVAL "invalid pod: ...", and parsing is deterministic (the UID
 * is a hash of the manifest). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "err.h"
#include "kubelet/staticpods.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mk_err *err = NULL;
	json_t *pod = staticpod_parse((const char *)data, size, "node-1", &err);
	if (!pod) {
		if (mk_err_code(err) != MK_EINVAL || strncmp(mk_err_msg(err), "invalid pod: ", 13))
			abort();
		mk_err_free(err);
		return 0;
	}
	const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	const char *uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	if (!name || !uid || strlen(name) < 7 || strcmp(name + strlen(name) - 7, "-node-1"))
		abort();
	json_t *again = staticpod_parse((const char *)data, size, "node-1", NULL);
	const char *uid2 =
		json_string_value(json_object_get(json_object_get(again, "metadata"), "uid"));
	if (!uid2 || strcmp(uid, uid2))
		abort();
	json_decref(again);
	json_decref(pod);
	return 0;
}
