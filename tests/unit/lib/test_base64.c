/* base64: RFC 4648's test vectors both ways; what Go's StdEncoding refuses
 * is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"

/* RFC 4648 section 10 */
static const char *const vectors[][2] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		cleanup_free char *enc = base64_encode(vectors[i][0], strlen(vectors[i][0]));
		assert_string_equal(enc, vectors[i][1]);
		size_t n = 99;
		cleanup_free char *dec = base64_decode(vectors[i][1], &n);
		assert_non_null(dec);
		assert_int_equal(n, strlen(vectors[i][0]));
		assert_memory_equal(dec, vectors[i][0], n);
		assert_int_equal(dec[n], '\0');
	}
}

static void test_binary_and_white_space(void **state)
{
	(void)state;
	const unsigned char raw[] = {0, 0xff, 0x10, 0, 0x80};
	cleanup_free char *enc = base64_encode(raw, sizeof(raw));
	assert_string_equal(enc, "AP8QAIA=");
	size_t n;
	cleanup_free char *dec = base64_decode("AP8Q\r\nAIA=\n", &n);
	assert_non_null(dec);
	assert_int_equal(n, sizeof(raw));
	assert_memory_equal(dec, raw, n);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"Zg",	  "Zm9",  "Zg=a", "Zm9v!",   "Zm-v",
					  "Zm_v", "====", "Z===", "Zg==Zg=="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *dec = base64_decode(bad[i], NULL);
		if (dec)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_binary_and_white_space),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
