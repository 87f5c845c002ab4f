/* fsutil: directory listings sorted and filtered, whole writes, atomic
 * writes with and without fsync, mkdir -p, reads bounded by size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static int make_dir(void **state)
{
	char tmpl[] = "/tmp/mk-fsutil-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	*state = xstrdup(tmpl);
	return 0;
}

static int remove_dir(void **state)
{
	assert_int_equal(fs_remove_tree(*state, NULL), 0);
	free(*state);
	return 0;
}

static void touch(const char *dir, const char *name)
{
	cleanup_free char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static bool no_dot(const char *name, void *arg)
{
	(void)arg;
	return name[0] != '.';
}

static void test_list_dir_sorted_and_filtered(void **state)
{
	const char *dir = *state;
	/* created out of order: the listing sorts bytewise */
	static const char *const names[] = {"b.yaml", "a.yaml", ".hidden", "B", "a", "aa"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		touch(dir, names[i]);
	cleanup_strv char **all = fs_list_dir(dir, NULL, NULL);
	assert_non_null(all);
	static const char *const want_all[] = {".hidden", "B", "a", "a.yaml", "aa", "b.yaml"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(all[i], want_all[i]);
	assert_null(all[6]);
	cleanup_strv char **some = fs_list_dir(dir, no_dot, NULL);
	assert_string_equal(some[0], "B");
	assert_string_equal(some[4], "b.yaml");
	assert_null(some[5]);
	cleanup_free char *missing = xasprintf("%s/nope", dir);
	assert_null(fs_list_dir(missing, NULL, NULL));
}

static void test_write_all_mkdir_and_read(void **state)
{
	const char *dir = *state;
	cleanup_free char *deep = xasprintf("%s/x/y/z", dir);
	assert_int_equal(fs_mkdir_p(deep, 0700, NULL), 0);
	assert_int_equal(fs_mkdir_p(deep, 0700, NULL), 0); /* existing is fine */
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	cleanup_free char *file = xasprintf("%s/f", deep);
	size_t n = 1 << 20;
	cleanup_free char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, data, n), 0);
	close(fd);
	size_t len;
	cleanup_free char *back = fs_read_file(file, n, &len, NULL);
	assert_non_null(back);
	assert_int_equal(len, n);
	assert_memory_equal(back, data, n);
	cleanup_err struct mk_err *err = NULL;
	assert_null(fs_read_file(file, n - 1, NULL, &err));
	assert_int_equal(mk_err_code(err), MK_ETOOLARGE);
}

/* A pipe's whole content, however it arrives, and the names in errors. */
static void test_read_fd_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	static char data[20000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	/* more than one read's chunk, less than a pipe's buffer (64 KiB) */
	assert_int_equal(fs_write_all(p[1], data, sizeof(data)), 0);
	close(p[1]);
	size_t len = 0;
	cleanup_free char *back = fs_read_fd(p[0], "stdin", SIZE_MAX, &len, NULL);
	close(p[0]);
	assert_non_null(back);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(back[len], '\0');

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fs_write_all(p[1], data, 100), 0);
	close(p[1]);
	cleanup_err struct mk_err *err = NULL;
	assert_null(fs_read_fd(p[0], "stdin", 99, NULL, &err));
	close(p[0]);
	assert_int_equal(mk_err_code(err), MK_ETOOLARGE);
	assert_string_equal(mk_err_msg(err), "stdin is larger than 99 bytes");

	cleanup_err struct mk_err *err2 = NULL;
	assert_null(fs_read_fd(-1, "nothing", SIZE_MAX, NULL, &err2));
	assert_int_equal(mk_err_code(err2), MK_EIO);
}

/* Both atomic writes: content and mode, a replaced file's new content, no
 * temporary file left, and a missing directory an error naming the file. */
static void test_write_atomic(void **state)
{
	const char *dir = *state;
	int (*write[2])(const char *, const char *, size_t, mode_t,
			struct mk_err **) = {fs_write_atomic, fs_write_atomic_nosync};
	for (int i = 0; i < 2; i++) {
		cleanup_free char *path = xasprintf("%s/f%d", dir, i);
		cleanup_free char *tmp = xasprintf("%s.tmp", path);
		assert_int_equal(write[i](path, "first", 5, 0640, NULL), 0);
		assert_int_equal(write[i](path, "second\n", 7, 0640, NULL), 0);
		size_t len;
		cleanup_free char *back = fs_read_file(path, 64, &len, NULL);
		assert_non_null(back);
		assert_string_equal(back, "second\n");
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
		assert_int_equal(access(tmp, F_OK), -1);
		cleanup_free char *missing = xasprintf("%s/no/such/f", dir);
		cleanup_err struct mk_err *err = NULL;
		assert_int_equal(write[i](missing, "x", 1, 0600, &err), -1);
		assert_int_equal(mk_err_code(err), MK_EIO);
		assert_non_null(strstr(mk_err_msg(err), "no/such/f.tmp"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_dir_sorted_and_filtered, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(test_write_all_mkdir_and_read, make_dir,
						remove_dir),
		cmocka_unit_test(test_read_fd_pipe),
		cmocka_unit_test_setup_teardown(test_write_atomic, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
