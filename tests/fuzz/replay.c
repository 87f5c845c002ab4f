/* Replays a fuzz harness's committed corpus without libFuzzer: every file of
 * tests/fuzz/corpus/<FUZZ_NAME>/ (under $MK_ROOT, else the current
 * directory), or the files named as arguments, is fed once to
 * LLVMFuzzerTestOneInput in a fresh heap copy of exactly its size, so that
 * ASan sees a read past the end. Prints TAP, one line per file; a crash or a
 * sanitizer report ends the program with a non-zero status, which the test
 * runner reports as a failure of the last file named. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME names the harness (its corpus directory)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the whole file into a new buffer of exactly its size (free()). */
static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *d = malloc(cap);
	size_t got;
	while (d && (got = fread(d + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nd = realloc(d, cap *= 2);
			if (!nd)
				free(d);
			d = nd;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (!d || bad) {
		free(d);
		return NULL;
	}
	/* exactly size bytes, so a read one past the end is an ASan report */
	uint8_t *exact = malloc(n ? n : 1);
	if (exact)
		memcpy(exact, d, n);
	free(d);
	*size = n;
	return exact;
}

static int replay(const char *path, int i)
{
	size_t size = 0;
	uint8_t *d = slurp(path, &size);
	if (!d) {
		printf("not ok %d - %s: %s\n", i, path, strerror(errno ? errno : EIO));
		return 1;
	}
	printf("# %s\n", path);
	fflush(stdout);
	LLVMFuzzerTestOneInput(d, size);
	free(d);
	printf("ok %d - %s\n", i, path);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int bad = 0;
		printf("1..%d\n", argc - 1);
		for (int i = 1; i < argc; i++)
			bad |= replay(argv[i], i);
		return bad;
	}
	const char *root = getenv("MK_ROOT");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", root && *root ? root : ".",
		 FUZZ_NAME);
	DIR *dp = opendir(dir);
	if (!dp) {
		printf("1..1\nnot ok 1 - corpus %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn)
			abort();
		names = nn;
		if (asprintf(&names[n++], "%s/%s", dir, de->d_name) < 0)
			abort();
	}
	closedir(dp);
	if (n == 0) {
		printf("1..1\nnot ok 1 - corpus %s is empty\n", dir);
		return 1;
	}
	qsort(names, n, sizeof(*names), by_name);
	printf("1..%zu\n", n);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		bad |= replay(names[i], (int)i + 1);
		free(names[i]);
	}
	free(names);
	return bad;
}
