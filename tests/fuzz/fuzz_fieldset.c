/* libFuzzer entry point for field sets and server-side apply: any JSON read
 * as FieldsV1 is refused or round-trips to the same FieldsV1; read as an
 * applied configuration, as a live Deployment or as its managedFields, it
 * applies or fails with an error, never a crash, and what applies carries
 * managedFields that decode again.
 * `make fuzz` builds and runs it, `make test` replays tests/fuzz/corpus/fieldset/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "err.h"
#include "json.h"
#include "apiserver/apply.h"
#include "apiserver/fieldset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_applied(const json_t *obj)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_path_get(obj, "metadata.managedFields"), i, e)
	{
		json_t *s = fieldset_from_v1(json_object_get(e, "fieldsV1"), NULL);
		if (!s)
			__builtin_trap();
		json_decref(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, 0, NULL);
	if (!v)
		return 0;
	struct mk_err *err = NULL;
	json_t *s = fieldset_from_v1(v, &err);
	if (s) {
		json_t *v1 = fieldset_to_v1(s);
		json_t *again = fieldset_from_v1(v1, NULL);
		json_t *v2 = again ? fieldset_to_v1(again) : NULL;
		if (!again || !json_value_equal(v1, v2))
			__builtin_trap();
		json_decref(v1);
		json_decref(v2);
		json_decref(again);
		json_decref(s);
	} else if (!err) {
		__builtin_trap();
	}
	mk_err_free(err);

	const struct schema_type *st = schema_kind_find("Deployment");
	struct apply_write w = {.manager = "kubectl", .api_version = "apps/v1",
				.time = "2026-01-02T03:04:05Z"};
	json_t *live = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:i}}", "apiVersion", "apps/v1",
				 "kind", "Deployment", "metadata", "name", "f", "annotations",
				 APPLY_LAST_APPLIED, "{\"apiVersion\":\"apps/v1\"}", "spec", "replicas", 1);
	const json_t *tries[][2] = {{NULL, v}, {live, v}, {v, live}};
	for (size_t i = 0; i < 3; i++) {
		json_t *out = NULL, *conflict = NULL;
		err = NULL;
		if (apply_object(st, tries[i][0], tries[i][1], &w, false, &out, &conflict, &err) == 0)
			check_applied(out);
		json_decref(out);
		json_decref(conflict);
		mk_err_free(err);
	}
	/* v as the managedFields of live, updated and applied over */
	json_t *with = json_deep_copy(live);
	json_object_set(json_object_get(with, "metadata"), "managedFields", v);
	json_t *next = json_deep_copy(with);
	json_path_set(next, "spec.replicas", json_integer(2));
	apply_update(st, with, next, &w);
	check_applied(next);
	json_t *out = NULL, *conflict = NULL;
	err = NULL;
	if (apply_object(st, with, live, &w, true, &out, &conflict, &err) == 0)
		check_applied(out);
	json_decref(out);
	json_decref(conflict);
	mk_err_free(err);
	json_decref(next);
	json_decref(with);
	json_decref(live);
	json_decref(v);
	return 0;
}
