/* libFuzzer entry point for API request bodies of every served kind, the
 * way the handlers take them: decoded as JSON, YAML or protobuf (the first
 * input byte picks which), type-checked, defaulted, validated as a create and
 * as an update of itself, prepared for the store and printed as a Table row.
 * The row is the one the body's apiVersion and kind name, else picked by the
 * first byte. Every step must give an answer or a cause, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "apiserver/resource.h"
#include "apiserver/typecheck.h"
#include "err.h"
#include "protobuf.h"
#include "yamldoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t n_rows(void)
{
	size_t n = 0;
	while (api_resources[n].resource)
		n++;
	return n;
}

static void check_causes(const json_t *causes)
{
	size_t i;
	json_t *c;
	json_array_foreach(causes, i, c)
	{
		/* every cause names its reason, field and message */
		if (!json_is_string(json_object_get(c, "reason")) ||
		    !json_is_string(json_object_get(c, "field")) ||
		    !json_is_string(json_object_get(c, "message")))
			abort();
	}
	free(api_causes_message(causes));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct mk_err *err = NULL;
	json_t *obj;
	switch (data[0] % 3) {
	case 0:
		obj = json_loadb(body, len, JSON_DECODE_ANY, NULL);
		break;
	case 1:
		obj = yamldoc_parse(body, len, &err);
		break;
	default:
		obj = k8s_protobuf_decode(body, len, &err);
		break;
	}
	mk_err_free(err);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return 0;
	}
	const struct api_resource *r =
		api_resource_by_kind(json_string_value(json_object_get(obj, "apiVersion")),
				     json_string_value(json_object_get(obj, "kind")));
	if (!r)
		r = &api_resources[(data[0] / 3) % n_rows()];
	char *bad = typecheck_body(r->kind, obj);
	if (bad) {
		/* the handlers refuse it here: nothing below sees it */
		free(bad);
		json_decref(obj);
		return 0;
	}
	if (!json_is_object(json_object_get(obj, "metadata")))
		json_object_set_new(obj, "metadata", json_object());
	if (r->defaults)
		r->defaults(obj);
	json_t *causes = json_array();
	if (r->validate) {
		r->validate(obj, NULL, causes);
		check_causes(causes);
		json_array_clear(causes);
		r->validate(obj, obj, causes);
		check_causes(causes);
	}
	json_decref(causes);
	json_t *copy = json_deep_copy(obj);
	if (r->prepare_create)
		r->prepare_create(copy);
	if (r->prepare_update)
		r->prepare_update(copy, obj);
	if (r->print_row) {
		json_t *cells = json_array();
		r->print_row(obj, 1700000000, cells);
		json_decref(cells);
	}
	if (r->field_value) {
		static const char *const fields[] = {"spec.nodeName", "status.phase", "type",
						     "involvedObject.name", NULL};
		for (const char *const *f = fields; *f; f++) {
			const char *v = NULL;
			if (r->field_value(obj, *f, &v) && !v)
				abort();
		}
	}
	json_decref(copy);
	json_decref(obj);
	return 0;
}
