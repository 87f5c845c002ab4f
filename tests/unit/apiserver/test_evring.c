#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/evring.h"

static void push(struct evring *r, enum store_event_type t, int64_t rev, const char *key,
		 const char *value, const char *prev, bool want)
{
	struct store_event ev = {
		.type = t, .rev = rev, .key = key, .value = value, .prev_value = prev, .create_rev = 1};
	assert_int_equal(evring_push(r, &ev), want);
}

static void test_order_and_copies(void **state)
{
	(void)state;
	struct evring r;
	evring_init(&r, 4, 1 << 20);
	char key[16] = "/a";
	push(&r, STORE_EVENT_PUT, 1, key, "v1", NULL, true);
	push(&r, STORE_EVENT_PUT, 2, key, "v2", "v1", true);
	push(&r, STORE_EVENT_DELETE, 3, key, "v2", "v2", true);
	strcpy(key, "/changed");
	assert_int_equal(r.n, 3);
	struct store_event ev;
	evring_event(evring_nth(&r, 0), &ev);
	assert_int_equal(ev.rev, 1);
	assert_string_equal(ev.key, "/a");
	assert_null(ev.prev_value);
	evring_event(evring_nth(&r, 1), &ev);
	assert_string_equal(ev.prev_value, "v1");
	evring_event(evring_nth(&r, 2), &ev);
	assert_int_equal(ev.type, STORE_EVENT_DELETE);
	assert_ptr_equal(ev.prev_value, ev.value); /* a delete's prev is its value */
	evring_free(&r);
}

static void test_bounds_drop_oldest(void **state)
{
	(void)state;
	struct evring r;
	evring_init(&r, 3, 1 << 20);
	for (int i = 1; i <= 5; i++)
		push(&r, STORE_EVENT_PUT, i, "/k", "v", NULL, true);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.dropped_rev, 2);
	assert_int_equal(evring_nth(&r, 0)->rev, 3);
	assert_int_equal(evring_nth(&r, 2)->rev, 5);

	/* byte bound: one event over it empties the ring and is not kept */
	size_t one = evring_nth(&r, 0)->bytes;
	evring_resize(&r, 3, 2 * one);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.dropped_rev, 3);
	char big[256];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	push(&r, STORE_EVENT_PUT, 6, "/k", big, NULL, false);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(r.dropped_rev, 5);
	evring_free(&r);
}

static void test_resize_keeps_newest(void **state)
{
	(void)state;
	struct evring r;
	evring_init(&r, 4, 1 << 20);
	for (int i = 1; i <= 6; i++) /* wraps: head is not slot 0 */
		push(&r, STORE_EVENT_PUT, i, "/k", "v", NULL, true);
	evring_resize(&r, 8, 1 << 20);
	assert_int_equal(r.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(evring_nth(&r, i)->rev, 3 + (int64_t)i);
	push(&r, STORE_EVENT_PUT, 7, "/k", "v", NULL, true);
	assert_int_equal(r.n, 5);
	evring_resize(&r, 0, 1 << 20); /* at least one slot */
	assert_int_equal(r.n, 1);
	assert_int_equal(evring_nth(&r, 0)->rev, 7);
	evring_free(&r);
}

static void test_no_slots_keeps_nothing(void **state)
{
	(void)state;
	struct evring r;
	evring_init(&r, 0, 1 << 20);
	push(&r, STORE_EVENT_PUT, 1, "/k", "v", NULL, false);
	assert_int_equal(r.n, 0);
	evring_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_copies),
		cmocka_unit_test(test_bounds_drop_oldest),
		cmocka_unit_test(test_resize_keeps_newest),
		cmocka_unit_test(test_no_slots_keeps_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
