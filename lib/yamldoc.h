/* YAML documents <-> JSON values (libyaml + jansson), typed the way kubectl
 * reads manifests: plain scalars resolve as YAML 1.1 does in Kubernetes'
 * YAML library (3 -> integer, 0.5 -> number, true/yes/on -> true,
 * false/no/off -> false, null/~/empty -> null, 0x1f / 0o17 / 017 / 1_000 ->
 * integers, integral floats such as 1.0 or 1e3 -> integers as Go's JSON would
 * print them); quoted and block scalars stay strings; ".inf", ".nan" and
 * out-of-range numbers stay strings. Mapping keys become strings the way
 * kubectl makes them: a plain key is typed, then printed ("y" and "on" ->
 * "true", "0x1F" -> "31", "1.0" -> "1"; a null key is an error). Anchors and
 * aliases are expanded, "<<" merge keys are honoured, a key given twice is
 * an error (kubectl keeps the last one).
 *
 * Alias expansion is bounded as Kubernetes' YAML library bounds it (aliases
 * may make at most 99% of a document's values, less in very large ones)
 * and by the bytes the copies hold (8 MiB per stream): beyond, the parse
 * fails with upstream's "yaml: document contains excessive aliasing". */
#ifndef MK_YAMLDOC_H
#define MK_YAMLDOC_H

#include <stddef.h>
#include <jansson.h>

#include "err.h"

/* The first document of text (len bytes, need not be NUL-terminated) as a
 * new reference; JSON null for an empty stream. NULL with MK_EINVAL and a
 * message "yaml: line L, column C: ..." on malformed input. */
json_t *yamldoc_parse(const char *text, size_t len, struct mk_err **err);

/* Every document of a "---" separated stream, as a new JSON array; empty
 * documents (nothing but comments or "---") are skipped. Errors as above. */
json_t *yamldoc_parse_all(const char *text, size_t len, struct mk_err **err);

/* v as a YAML document in block style, 2-space indent, lists not indented
 * under their key (as kubectl -o yaml prints), multi-line strings as literal
 * blocks, strings that would read back as another type ("80", "true",
 * "null", "2024-01-01") double-quoted. New string, free(); NULL only for a
 * NULL v or a string that is not valid UTF-8. */
char *yamldoc_emit(const json_t *v);

/* The elements of the array docs as a multi-document stream, separated by
 * "---" lines. New string, free(); NULL as for yamldoc_emit or if docs is not
 * an array. */
char *yamldoc_emit_all(const json_t *docs);

#endif
