/* strmap: against a plain array, through many random sets and deletions on
 * a small key space (long probe runs, wrap-around, backward shifts). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define KEYS 300

static void test_basic(void **state)
{
	(void)state;
	struct strmap m = STRMAP_INIT;
	assert_null(strmap_get(&m, "a"));
	assert_false(strmap_del(&m, "a"));
	strmap_set(&m, "a", "1");
	strmap_set(&m, "b", "");
	assert_string_equal(strmap_get(&m, "a"), "1");
	assert_string_equal(strmap_get(&m, "b"), "");
	strmap_set(&m, "a", "a much longer value");
	assert_string_equal(strmap_get(&m, "a"), "a much longer value");
	assert_int_equal(strmap_size(&m), 2);
	size_t it = 0, seen = 0;
	const char *k, *v;
	while ((k = strmap_next(&m, &it, &v)))
		seen += !strcmp(k, "a") ? (assert_string_equal(v, "a much longer value"), 1)
					: (assert_string_equal(k, "b"), 2);
	assert_int_equal(seen, 3);
	strmap_compact(&m);
	assert_string_equal(strmap_get(&m, "a"), "a much longer value");
	assert_string_equal(strmap_get(&m, "b"), "");
	assert_true(strmap_del(&m, "a"));
	assert_null(strmap_get(&m, "a"));
	assert_int_equal(strmap_size(&m), 1);
	strmap_free(&m);
	assert_int_equal(strmap_size(&m), 0);
	assert_null(strmap_get(&m, "b"));
}

static void test_random(void **state)
{
	(void)state;
	struct strmap m = STRMAP_INIT;
	char *ref[KEYS] = {0};
	unsigned seed = 1;
	for (int round = 0; round < 200000; round++) {
		int k = rand_r(&seed) % KEYS;
		char key[16], val[16];
		snprintf(key, sizeof(key), "k%d", k);
		if (rand_r(&seed) % 3) {
			snprintf(val, sizeof(val), "%d", rand_r(&seed) % 1000);
			strmap_set(&m, key, val);
			free(ref[k]);
			ref[k] = strdup(val);
		} else {
			assert_int_equal(strmap_del(&m, key), ref[k] != NULL);
			free(ref[k]);
			ref[k] = NULL;
		}
		if (round % 997 == 0) {
			size_t n = 0;
			for (int i = 0; i < KEYS; i++) {
				snprintf(key, sizeof(key), "k%d", i);
				const char *got = strmap_get(&m, key);
				if (ref[i]) {
					assert_non_null(got);
					assert_string_equal(got, ref[i]);
					n++;
				} else {
					assert_null(got);
				}
			}
			assert_int_equal(strmap_size(&m), n);
			size_t it = 0, iterated = 0;
			while (strmap_next(&m, &it, NULL))
				iterated++;
			assert_int_equal(iterated, n);
		}
	}
	strmap_compact(&m);
	for (int i = 0; i < KEYS; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		if (ref[i])
			assert_string_equal(strmap_get(&m, key), ref[i]);
		else
			assert_null(strmap_get(&m, key));
		free(ref[i]);
	}
	strmap_free(&m);
	strmap_compact(&m);
	assert_int_equal(strmap_size(&m), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
