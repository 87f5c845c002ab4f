/* Every hook of every row survives malformed objects: each fixture object is
 * mutated many times (subtrees replaced by values of the wrong type) and run
 * through defaults, validation, prepare, allocation, printing and field
 * selection. Run under the sanitizer build, this finds crashes and leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "apiserver/allocator.h"
#include "apiserver/printer.h"
#include "apiserver/resource.h"
#include "golden.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static json_t *random_value(void)
{
	switch (next_rand() % 8) {
	case 0:
		return json_null();
	case 1:
		return json_integer((json_int_t)(next_rand() % 70000) - 5);
	case 2:
		return json_string("");
	case 3:
		return json_string("x:y/z@");
	case 4:
		return json_true();
	case 5:
		return json_pack("[i, s, n, {}]", 1, "a");
	case 6:
		return json_object();
	default:
		return json_real(-1.5);
	}
}

/* Replaces one randomly chosen node below v (an object or array) by a random value. */
static void mutate(json_t *v)
{
	for (int depth = 0; depth < 8; depth++) {
		size_t n = json_is_object(v) ? json_object_size(v) : json_array_size(v);
		if (n == 0)
			return;
		size_t pick = next_rand() % n;
		json_t *child;
		const char *key = NULL;
		if (json_is_object(v)) {
			void *it = json_object_iter(v);
			for (size_t i = 0; i < pick; i++)
				it = json_object_iter_next(v, it);
			key = json_object_iter_key(it);
			child = json_object_iter_value(it);
		} else {
			child = json_array_get(v, pick);
		}
		bool descend = (json_is_object(child) || json_is_array(child)) && next_rand() % 3;
		if (descend) {
			v = child;
			continue;
		}
		if (key)
			json_object_set_new(v, key, random_value());
		else
			json_array_set_new(v, pick, random_value());
		return;
	}
}

static void run_hooks(const struct api_resource *r, json_t *obj, const json_t *old)
{
	if (r->prepare_create)
		r->prepare_create(obj);
	if (old && r->prepare_update)
		r->prepare_update(obj, old);
	if (r->defaults)
		r->defaults(obj);
	cleanup_json json_t *causes = json_array();
	if (r->validate) {
		r->validate(obj, NULL, causes);
		if (old)
			r->validate(obj, old, causes);
	}
	if (r->on_create) {
		cleanup_err struct mk_err *e = NULL;
		if (r->on_create(obj, &e) == 0 && r->on_delete)
			r->on_delete(obj);
	}
	if (old && r->on_update) {
		cleanup_err struct mk_err *e = NULL;
		if (r->on_update(obj, old, &e) == 0 && r->on_update_abort)
			r->on_update_abort(obj, old);
	}
	cleanup_json json_t *one = json_pack("[O]", obj);
	cleanup_json json_t *t = printer_table(r, one, "Metadata", true, 1795420800);
	assert_non_null(t);
	const char *fields[] = {
		"spec.nodeName", "status.phase",       "status.podIP", "involvedObject.kind",
		"source",	 "spec.unschedulable", "type",	       "spec.hostNetwork"};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = NULL;
		if (r->field_value && r->field_value(obj, fields[i], &v))
			assert_non_null(v);
	}
}

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(allocator_init("10.96.0.0/12", "30000-32767", NULL), 0);
	char *path = golden_path("printer-input.json");
	cleanup_json json_t *input = json_load_file(path, 0, NULL);
	free(path);
	assert_non_null(input);
	const char *key;
	json_t *objs;
	json_object_foreach(input, key, objs)
	{
		const struct api_resource *r = NULL;
		for (const struct api_resource *x = api_resources; x->resource; x++)
			if (!strcmp(x->resource, key))
				r = x;
		assert_non_null(r);
		size_t i;
		json_t *o;
		json_array_foreach(objs, i, o)
		{
			for (int round = 0; round < 300; round++) {
				cleanup_json json_t *obj = json_copy_deep(o);
				cleanup_json json_t *old = json_copy_deep(o);
				int n = 1 + (int)(next_rand() % 4);
				for (int k = 0; k < n; k++)
					mutate(obj);
				if (next_rand() % 2)
					mutate(old);
				run_hooks(r, obj, round % 2 ? old : NULL);
			}
		}
		/* Objects that are not objects at all where a spec is expected. */
		const char *shapes[] = {"{}", "{\"spec\":1}", "{\"spec\":{\"ports\":7}}",
					"{\"metadata\":[],\"status\":\"x\"}",
					"{\"spec\":{\"containers\":[1,null,{\"name\":5}]}}"};
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
			cleanup_json json_t *obj = json_loads(shapes[s], 0, NULL);
			cleanup_json json_t *old = json_loads(shapes[s], 0, NULL);
			run_hooks(r, obj, old);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
