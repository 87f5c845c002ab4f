/* Command-line flags as upstream's binaries take them: `--name=value`,
 * `--name value`, `-name=value`, booleans as `--name` or `--name=false`,
 * `-v=4` / `--v 4`, and Go-style durations ("40s", "5m", "1h30m", "300ms"). */
#ifndef MK_FLAGS_H
#define MK_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

enum flag_type {
	FLAG_STRING,   /* target: char ** (new string; a default may be a literal) */
	FLAG_INT,      /* target: int64_t * */
	FLAG_BOOL,     /* target: bool * */
	FLAG_DURATION, /* target: int64_t * milliseconds */
};

struct flag {
	const char *name; /* without dashes: "leader-elect" */
	enum flag_type type;
	void *target;
	const char *help;
	bool seen; /* set by flags_parse when given */
};

/* Parses argv[1..] into the table (ends with .name == NULL). Strings given on
 * the command line replace the target with a new string the caller frees (the
 * table's .seen tells which). Returns 0; 1 when --help/-h was given;
 * FLAGS_VERSION for --version (also --version=true or =raw; the caller prints
 * MK_VERSION_LINE and exits 0, as upstream's binaries do); -1 with
 * MK_EINVAL ("unknown flag: --x", "invalid argument \"abc\" for \"--port\"")
 * otherwise. Positional arguments are refused. */
#define FLAGS_VERSION 2

int flags_parse(struct flag *table, int argc, char **argv, struct mk_err **err);

/* Go duration text to milliseconds; -1 with MK_EINVAL when malformed. */
int flags_parse_duration(const char *s, int64_t *ms, struct mk_err **err);

/* "Usage: prog [flags]\n\n<summary>\n\nFlags:\n  --name type   help\n..." New string. */
char *flags_usage(const char *prog, const char *summary, const struct flag *table);

#endif
