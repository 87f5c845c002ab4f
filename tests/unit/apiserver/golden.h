/* Golden-file comparison for the apiserver unit tests: a JSON value is dumped
 * indented (key order kept) and compared with tests/fixtures/apiserver/<name>;
 * UPDATE_GOLDEN=1 in the environment rewrites the file instead. */
#ifndef MK_TESTS_GOLDEN_H
#define MK_TESTS_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

static inline char *golden_path(const char *name)
{
	const char *root = getenv("MK_ROOT");
	char *p = NULL;
	if (asprintf(&p, "%s/tests/fixtures/apiserver/%s", root ? root : ".", name) < 0)
		abort();
	return p;
}

static inline char *golden_read(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *data = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&data, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(data);
		return NULL;
	}
	return data;
}

/* Compares v with the golden file name; fails the test with both texts. */
static inline void golden_check(const json_t *v, const char *name)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	size_t len = strlen(text);
	char *want_text = malloc(len + 2);
	memcpy(want_text, text, len);
	want_text[len] = '\n';
	want_text[len + 1] = '\0';
	free(text);
	char *path = golden_path(name);
	const char *update = getenv("UPDATE_GOLDEN");
	if (update && !strcmp(update, "1")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fputs(want_text, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
	}
	char *have = golden_read(path);
	if (!have)
		fail_msg("golden file %s missing (run with UPDATE_GOLDEN=1)", path);
	if (strcmp(have, want_text))
		fail_msg("%s differs from the golden file; got:\n%s", path, want_text);
	free(have);
	free(path);
	free(want_text);
}

#endif
