/* err, buf, xalloc: the building blocks every module uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "err.h"
#include "log.h"
#include "xalloc.h"

static int fails_with_context(struct mk_err **err)
{
	if (mk_err_errno(err, MK_EIO, ENOENT, "opening %s", "/x") < 0)
		return mk_err_wrap(err, "loading %s", "config");
	return 0;
}

static void test_err_set_wrap(void **state)
{
	(void)state;
	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(fails_with_context(&err), -1);
	assert_int_equal(mk_err_code(err), MK_EIO);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(mk_err_msg(err), "loading config: opening /x: No such file or directory");
	/* the first cause wins */
	mk_err_set(&err, MK_EINVAL, "second");
	assert_int_equal(mk_err_code(err), MK_EIO);
	/* a NULL sink is allowed */
	assert_int_equal(mk_err_set(NULL, MK_EINVAL, "ignored"), -1);
	assert_int_equal(mk_err_code(NULL), 0);
	assert_string_equal(mk_err_msg(NULL), "");
}

static void test_buf(void **state)
{
	(void)state;
	cleanup_buf struct buf b = BUF_INIT;
	assert_string_equal(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	assert_string_equal(b.data + b.len - 4, "999,");
	buf_reset(&b);
	buf_append(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	cleanup_free char *s = buf_steal(&b);
	assert_int_equal(s[2], 'b');
	assert_null(b.data);
	cleanup_free char *empty = buf_steal(&b);
	assert_string_equal(empty, "");
}

static void test_xasprintf_and_verbosity(void **state)
{
	(void)state;
	cleanup_free char *s = xasprintf("%s-%03d", "k", 7);
	assert_string_equal(s, "k-007");
	assert_int_equal(log_parse_verbosity("4"), 4);
	assert_int_equal(log_parse_verbosity("x"), -1);
	assert_int_equal(log_parse_verbosity("-1"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set_wrap),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_xasprintf_and_verbosity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
