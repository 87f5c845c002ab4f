/* monitor/crilog: CRI log lines as containerd writes them, read back from a
 * real file — full and partial lines, overlong lines split at the maximum,
 * "\r\n", pending text at EOF, the timestamp format, and reopening after a
 * rename. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "kubelet/monitor/crilog.h"

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_init(struct tmp *t)
{
	strcpy(t->dir, "/tmp/crilog-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/0.log", t->dir);
}

static void tmp_free(struct tmp *t)
{
	char old[160];
	snprintf(old, sizeof(old), "%s.1", t->path);
	unlink(old);
	unlink(t->path);
	rmdir(t->dir);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *data = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&data, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(data);
		return strdup("");
	}
	return data;
}

static const struct timespec ts1 = {.tv_sec = 1796479766, .tv_nsec = 748993202};
#define T1 "2026-12-05T14:09:26.748993202Z"

static void test_timestamp(void **state)
{
	(void)state;
	char b[64];
	crilog_timestamp(&ts1, b, sizeof(b));
	assert_string_equal(b, T1);
	struct timespec t = {.tv_sec = 1796479766, .tv_nsec = 748990000};
	crilog_timestamp(&t, b, sizeof(b));
	assert_string_equal(b, "2026-12-05T14:09:26.74899Z");
	t.tv_nsec = 0;
	crilog_timestamp(&t, b, sizeof(b));
	assert_string_equal(b, "2026-12-05T14:09:26Z");
	t.tv_nsec = 5;
	crilog_timestamp(&t, b, sizeof(b));
	assert_string_equal(b, "2026-12-05T14:09:26.000000005Z");
}

static void test_lines(void **state)
{
	(void)state;
	struct tmp t;
	tmp_init(&t);
	struct crilog l;
	assert_int_equal(crilog_open(&l, t.path, NULL), 0);
	crilog_feed(&l, CRILOG_STDOUT, "hello\nwor", 9, &ts1);
	crilog_feed(&l, CRILOG_STDERR, "oops\r\n", 6, &ts1);
	crilog_feed(&l, CRILOG_STDOUT, "ld\n\n", 4, &ts1);
	crilog_feed(&l, CRILOG_STDOUT, "tail", 4, &ts1);
	crilog_flush(&l, CRILOG_STDOUT, &ts1);
	crilog_flush(&l, CRILOG_STDERR, &ts1); /* nothing pending: no line */
	crilog_close(&l);
	cleanup_free char *got = slurp(t.path);
	assert_string_equal(got, T1 " stdout F hello\n" T1 " stderr F oops\n" T1
				    " stdout F world\n" T1 " stdout F \n" T1 " stdout F tail\n");
	tmp_free(&t);
}

static void test_long_lines(void **state)
{
	(void)state;
	struct tmp t;
	tmp_init(&t);
	struct crilog l;
	assert_int_equal(crilog_open(&l, t.path, NULL), 0);
	l.max_line = 8;
	/* 7 chars + "\n" fit: one F line */
	crilog_feed(&l, CRILOG_STDOUT, "1234567\n", 8, &ts1);
	/* 8 chars + "\n" do not: P of 8, then an empty F, as containerd's reader does */
	crilog_feed(&l, CRILOG_STDOUT, "abcdefgh\n", 9, &ts1);
	/* 20 chars arriving in pieces: P 8, P 8, F 4 */
	crilog_feed(&l, CRILOG_STDERR, "ABCDEFGHIJ", 10, &ts1);
	crilog_feed(&l, CRILOG_STDERR, "KLMNOPQRST\n", 11, &ts1);
	/* a "\r" at the boundary waits for its "\n" */
	crilog_feed(&l, CRILOG_STDOUT, "xxxxxxx\r\nz\n", 11, &ts1);
	crilog_close(&l);
	cleanup_free char *got = slurp(t.path);
	assert_string_equal(got, T1 " stdout F 1234567\n" T1 " stdout P abcdefgh\n" T1
				    " stdout F \n" T1 " stderr P ABCDEFGH\n" T1
				    " stderr P IJKLMNOP\n" T1 " stderr F QRST\n" T1
				    " stdout P xxxxxxx\n" T1 " stdout F \n" T1 " stdout F z\n");
	tmp_free(&t);
}

static void test_reopen(void **state)
{
	(void)state;
	struct tmp t;
	tmp_init(&t);
	struct crilog l;
	assert_int_equal(crilog_open(&l, t.path, NULL), 0);
	crilog_feed(&l, CRILOG_STDOUT, "one\n", 4, &ts1);
	char old[160];
	snprintf(old, sizeof(old), "%s.1", t.path);
	assert_int_equal(rename(t.path, old), 0);
	crilog_feed(&l, CRILOG_STDOUT, "two\n", 4, &ts1); /* still the renamed file */
	assert_int_equal(crilog_reopen(&l, NULL), 0);
	crilog_feed(&l, CRILOG_STDOUT, "three\n", 6, &ts1);
	crilog_close(&l);
	cleanup_free char *a = slurp(old);
	cleanup_free char *b = slurp(t.path);
	assert_string_equal(a, T1 " stdout F one\n" T1 " stdout F two\n");
	assert_string_equal(b, T1 " stdout F three\n");
	tmp_free(&t);

	cleanup_err struct mk_err *err = NULL;
	assert_int_equal(crilog_open(&l, "/nonexistent-dir/0.log", &err), -1);
	assert_int_equal(mk_err_code(err), MK_ENOTFOUND);
	assert_string_equal(mk_err_msg(err),
			    "open log /nonexistent-dir/0.log: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
