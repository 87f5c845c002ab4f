/* libFuzzer entry point for the structural schemas of CRDs: any JSON
 * [schema, object] goes through the schema checks, pruning, defaulting and
 * validation without a crash; every finding is a {reason, message, field}
 * cause; pruning reports each dropped field once and leaves nothing to drop
 * on a second pass. `make fuzz` builds and runs it, `make test` replays
 * tests/fuzz/corpus/jsonschema/. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "apiserver/jsonschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_causes(const json_t *causes)
{
	size_t i;
	json_t *c;
	json_array_foreach(causes, i, c)
	{
		if (!json_is_string(json_object_get(c, "reason")) ||
		    !json_is_string(json_object_get(c, "message")) ||
		    !json_is_string(json_object_get(c, "field")))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_array(v) || json_array_size(v) != 2) {
		json_decref(v);
		return 0;
	}
	const json_t *schema = json_array_get(v, 0);
	json_t *obj = json_deep_copy(json_array_get(v, 1));
	json_t *causes = json_array();
	jsonschema_check(schema, "s", causes);
	check_causes(causes);
	json_t *unknown = json_array();
	jsonschema_prune(schema, obj, unknown);
	json_t *again = json_array();
	jsonschema_prune(schema, obj, again);
	if (json_array_size(again))
		__builtin_trap();
	jsonschema_default(schema, obj);
	json_t *vc = json_array();
	jsonschema_validate(schema, obj, vc);
	check_causes(vc);
	(void)jsonschema_at(schema, "spec.a.b");
	json_decref(vc);
	json_decref(again);
	json_decref(unknown);
	json_decref(causes);
	json_decref(obj);
	json_decref(v);
	return 0;
}
