/* logreader: CRI log files read back as kubectl shows them: F and P
 * lines, malformed lines, timestamps, tailLines across rotated files,
 * since, limitBytes, and a follow through growth, rotation and the
 * container's stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "kubelet/logreader.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/logreader-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static char *path_of(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const char *text, const char *mode)
{
	FILE *f = fopen(path_of(name), mode);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Everything the reader gives, `max` bytes at a time. */
static char *read_all(struct logreader *l, size_t max, bool stopped)
{
	struct buf b = BUF_INIT;
	char *chunk = malloc(max + 1);
	long n;
	while ((n = logreader_read(l, chunk, max, stopped)) > 0)
		buf_append(&b, chunk, (size_t)n);
	free(chunk);
	return buf_steal(&b);
}

static char *read_log(const char *name, const struct logreader_opts *o)
{
	struct mk_err *err = NULL;
	struct logreader *l = logreader_open(path_of(name), o, &err);
	assert_non_null(l);
	char *s = read_all(l, 7, false);
	assert_int_equal(logreader_read(l, (char[8]){0}, 8, false), -1);
	logreader_free(l);
	return s;
}

static const struct logreader_opts all = {.tail_lines = -1, .limit_bytes = -1};

static const char sample[] = "2026-12-07T13:08:34.1Z stdout F hello\n"
			     "2026-12-07T13:08:35.200000000+00:00 stderr P par\n"
			     "2026-12-07T13:08:35.3Z stderr F tial\n"
			     "garbage line\n"
			     "2026-12-07T13:08:36Z stdout X bad tag\n"
			     "2026-12-07T13:08:36Z stdin F bad stream\n"
			     "2026-12-07T13:08:37.000000009Z stdout F \n"
			     "2026-12-07T13:08:38Z stdout F last\n";

static void test_lines(void **state)
{
	(void)state;
	write_file("0.log", sample, "w");
	char *s = read_log("0.log", &all);
	assert_string_equal(s, "hello\npartial\n\nlast\n");
	free(s);

	struct logreader_opts o = all;
	o.timestamps = true;
	s = read_log("0.log", &o);
	assert_string_equal(s, "2026-12-07T13:08:34.1Z hello\n"
			       "2026-12-07T13:08:35.2Z par"
			       "2026-12-07T13:08:35.3Z tial\n"
			       "2026-12-07T13:08:37.000000009Z \n"
			       "2026-12-07T13:08:38Z last\n");
	free(s);

	/* a missing log is an empty one */
	s = read_log("nothing.log", &all);
	assert_string_equal(s, "");
	free(s);
}

static void test_tail_since_limit(void **state)
{
	(void)state;
	/* two rotated files and the live one, lines 1..9 */
	write_file("1.log.20261207-100000",
		   "2026-12-07T10:00:01Z stdout F one\n"
		   "2026-12-07T10:00:02Z stdout F two\n"
		   "2026-12-07T10:00:03Z stdout F three\n",
		   "w");
	write_file("1.log.20261207-110000",
		   "2026-12-07T11:00:04Z stdout F four\n"
		   "2026-12-07T11:00:05Z stdout F five\n",
		   "w");
	write_file("1.log",
		   "2026-12-07T12:00:06Z stdout F six\n"
		   "2026-12-07T12:00:07Z stdout F seven\n"
		   "2026-12-07T12:00:08Z stdout P ei\n"
		   "2026-12-07T12:00:08Z stdout F ght\n"
		   "2026-12-07T12:00:09Z stdout F nine\n",
		   "w");
	char *s = read_log("1.log", &all);
	assert_string_equal(s, "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n");
	free(s);

	struct logreader_opts o = all;
	static const struct {
		long long tail;
		const char *want;
	} tails[] = {
		{0, ""},
		{1, "nine\n"},
		/* a P piece is a line of the file */
		{3, "eight\nnine\n"},
		{6, "five\nsix\nseven\neight\nnine\n"},
		{7, "four\nfive\nsix\nseven\neight\nnine\n"},
		{10, "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"},
		{100, "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"},
	};
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		o.tail_lines = tails[i].tail;
		s = read_log("1.log", &o);
		if (strcmp(s, tails[i].want) != 0)
			fail_msg("tail %lld: \"%s\"", tails[i].tail, s);
		free(s);
	}

	o = all;
	o.since_ns = logreader_parse_time("2026-12-07T11:00:05Z", 20);
	s = read_log("1.log", &o);
	assert_string_equal(s, "five\nsix\nseven\neight\nnine\n");
	free(s);

	/* since and tail together: tail first, then since */
	o.tail_lines = 8;
	o.since_ns = logreader_parse_time("2026-12-07T12:00:07+00:00", 25);
	s = read_log("1.log", &o);
	assert_string_equal(s, "seven\neight\nnine\n");
	free(s);

	o = all;
	o.limit_bytes = 10;
	s = read_log("1.log", &o);
	assert_string_equal(s, "one\ntwo\nth");
	free(s);
	o.limit_bytes = 0;
	s = read_log("1.log", &o);
	assert_string_equal(s, "");
	free(s);
	o.limit_bytes = 12;
	o.timestamps = true;
	s = read_log("1.log", &o);
	assert_string_equal(s, "2026-12-07T1");
	free(s);
}

static void test_follow(void **state)
{
	(void)state;
	write_file("2.log", "2026-12-07T12:00:00Z stdout F first\n", "w");
	struct logreader_opts o = all;
	o.follow = true;
	struct mk_err *err = NULL;
	struct logreader *l = logreader_open(path_of("2.log"), &o, &err);
	assert_non_null(l);
	char buf[256];
	long n = logreader_read(l, buf, sizeof(buf), false);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "first\n", 6);
	/* nothing more yet */
	assert_int_equal(logreader_read(l, buf, sizeof(buf), false), 0);
	/* half a line waits for its newline */
	write_file("2.log", "2026-12-07T12:00:01Z stdout F sec", "a");
	assert_int_equal(logreader_read(l, buf, sizeof(buf), false), 0);
	write_file("2.log", "ond\n", "a");
	n = logreader_read(l, buf, sizeof(buf), false);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "second\n", 7);

	/* rotation: renamed, a last line still written to the old file, then
	 * the new file */
	int old = open(path_of("2.log"), O_WRONLY | O_APPEND);
	assert_true(old >= 0);
	char rotated[256];
	snprintf(rotated, sizeof(rotated), "%s/2.log.20261207-120002", dir);
	assert_int_equal(rename(path_of("2.log"), rotated), 0);
	assert_int_equal(logreader_read(l, buf, sizeof(buf), false), 0);
	const char *late = "2026-12-07T12:00:02Z stdout F late\n";
	assert_int_equal(write(old, late, strlen(late)), (ssize_t)strlen(late));
	close(old);
	write_file("2.log", "2026-12-07T12:00:03Z stdout F new file\n", "w");
	char *s = read_all(l, 3, false);
	assert_string_equal(s, "late\nnew file\n");
	free(s);

	/* the container stops: what is left, then the end */
	write_file("2.log", "2026-12-07T12:00:04Z stderr F bye\n", "a");
	s = read_all(l, sizeof(buf), true);
	assert_string_equal(s, "bye\n");
	free(s);
	assert_int_equal(logreader_read(l, buf, sizeof(buf), true), -1);
	logreader_free(l);

	/* a follow of a log that does not exist yet, with tail 0 */
	o.tail_lines = 0;
	l = logreader_open(path_of("3.log"), &o, &err);
	assert_int_equal(logreader_read(l, buf, sizeof(buf), false), 0);
	write_file("3.log", "2026-12-07T12:00:05Z stdout F born\n", "w");
	n = logreader_read(l, buf, sizeof(buf), false);
	assert_int_equal(n, 5);
	assert_int_equal(logreader_read(l, buf, sizeof(buf), true), -1);
	logreader_free(l);

	/* tail 0 of an existing log: only what comes after */
	l = logreader_open(path_of("3.log"), &o, &err);
	assert_int_equal(logreader_read(l, buf, sizeof(buf), false), 0);
	write_file("3.log", "2026-12-07T12:00:06Z stdout F after\n", "a");
	n = logreader_read(l, buf, sizeof(buf), false);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "after\n", 6);
	logreader_free(l);
}

static void test_parse_time(void **state)
{
	(void)state;
	assert_int_equal(logreader_parse_time("1970-01-01T00:00:01Z", 20), 1000000000LL);
	assert_int_equal(logreader_parse_time("1970-01-01T00:00:01.5Z", 22), 1500000000LL);
	assert_int_equal(logreader_parse_time("1970-01-01T01:00:01+01:00", 25), 1000000000LL);
	assert_int_equal(logreader_parse_time("1970-01-01T00:00:00.123456789123Z", 33),
			 123456789LL);
	assert_int_equal(logreader_parse_time("1970-01-01T00:00:01", 19), -1);
	assert_int_equal(logreader_parse_time("1970-01-01 00:00:01Z", 20), -1);
	assert_int_equal(logreader_parse_time("1970-01-01T00:00:01.Z", 21), -1);
	assert_int_equal(logreader_parse_time("1970-01-01T00:00:01Zjunk", 24), -1);
	/* the edges of what Unix nanoseconds hold; beyond them, no time */
	assert_int_equal(logreader_parse_time("2262-04-11T23:47:16.854775807Z", 30),
			 9223372036854775807LL);
	assert_int_equal(logreader_parse_time("2262-04-11T23:47:16.854775808Z", 30), -1);
	assert_int_equal(logreader_parse_time("9999-12-31T23:59:59Z", 20), -1);
	assert_int_equal(logreader_parse_time("0000-01-01T00:00:00Z", 20), -1);
	assert_int_equal(logreader_parse_time("1677-09-21T00:12:44Z", 20),
			 -9223372036000000000LL);
	assert_int_equal(logreader_parse_time("1677-09-21T00:12:42Z", 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_tail_since_limit),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_parse_time),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
