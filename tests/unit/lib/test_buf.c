#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "buf.h"

static void expect_quoted(const char *in, size_t n, const char *want)
{
	struct buf b = BUF_INIT;
	buf_append_go_quoted(&b, in, n);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

/* in: a string literal, which may hold a NUL */
#define QUOTED(in, want) expect_quoted(in, sizeof(in) - 1, want)

/* Wanted outputs as Go's fmt.Sprintf("%q") prints them. */
static void test_go_quoted(void **state)
{
	(void)state;
	QUOTED("", "\"\"");
	QUOTED("plain text", "\"plain text\"");
	QUOTED("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"");
	QUOTED("a\tb\nc\rd\a\b\f\v", "\"a\\tb\\nc\\rd\\a\\b\\f\\v\"");
	QUOTED("\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\"");
	QUOTED("nul\0x", "\"nul\\x00x\"");
	QUOTED("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	QUOTED("bad \xff\xc3", "\"bad \\xff\\xc3\""); /* stray and cut-off bytes */
	QUOTED("\xe2\x82", "\"\\xe2\\x82\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_quoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
