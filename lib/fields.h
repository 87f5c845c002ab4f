/* Field selectors (?fieldSelector=): "field=value", "field==value",
 * "field!=value", joined by "," (AND). */
#ifndef MK_FIELDS_H
#define MK_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct field_term {
	char *field; /* e.g. "metadata.name" */
	bool negate; /* true for "!=" */
	char *value; /* unescaped ("\,", "\=", "\\" allowed in the string form) */
};

struct field_selector {
	struct field_term *terms; /* sorted by their text, like upstream */
	size_t n;		  /* 0: selects everything */
};

/* Parses s (NULL or "" = everything). Returns a new selector
 * (fields_selector_free) or NULL with MK_EINVAL and upstream's message:
 * "invalid selector: 'x'; can't understand 'x'",
 * "invalid field selector: invalid escape sequence: \\x",
 * "invalid field selector: unescaped character in value: =". */
struct field_selector *fields_selector_parse(const char *s, struct mk_err **err);

/* The value a term requires for field when the selector pins it with "=" (for
 * example metadata.name), borrowed from sel, or NULL. */
const char *fields_selector_exact(const struct field_selector *sel, const char *field);

/* True if every term holds, get(field, ctx) giving an object's value for a
 * field (NULL = field unknown: treated as "" like upstream's field sets). */
bool fields_selector_matches(const struct field_selector *sel,
			     const char *(*get)(const char *field, void *ctx), void *ctx);

/* Frees a selector; accepts NULL. */
void fields_selector_free(struct field_selector *sel);

#endif
