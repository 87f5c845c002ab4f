/* Label selectors: the string syntax of ?labelSelector= and LabelSelector
 * objects, evaluated against an object's metadata.labels. */
#ifndef MK_LABELS_H
#define MK_LABELS_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"

struct label_selector;

/* Parses "k=v", "k==v", "k!=v", "k in (a,b)", "k notin (a,b)", "k", "!k",
 * "k>1", "k<1", joined by "," (AND), whitespace allowed between tokens.
 * NULL or "" selects everything. Returns a new selector
 * (labels_selector_free) or NULL with MK_EINVAL and upstream's message, e.g.
 * "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": ..." or
 * "found 'x', expected: ',' or 'end of string'". */
struct label_selector *labels_selector_parse(const char *s, struct mk_err **err);

/* Builds a selector from a LabelSelector object {matchLabels, matchExpressions}
 * (borrowed). NULL sel selects nothing, as upstream's LabelSelectorAsSelector
 * does for a nil selector; {} selects everything. Operators In, NotIn, Exists,
 * DoesNotExist. New selector or NULL with MK_EINVAL. */
struct label_selector *labels_selector_from_json(const json_t *sel, struct mk_err **err);

/* True if labels (a JSON object of strings, borrowed, may be NULL = no labels)
 * satisfy every requirement. */
bool labels_selector_matches(const struct label_selector *sel, const json_t *labels);

/* True if the selector does not restrict anything (matches every object). */
bool labels_selector_empty(const struct label_selector *sel);

/* Canonical string of a parsed selector: requirements sorted by key, like
 * upstream's Selector.String(). New string, free(). */
char *labels_selector_format(const struct label_selector *sel);

/* "k=v,k2=v2" sorted by key, from either a matchLabels object or a whole
 * LabelSelector (its matchLabels and matchExpressions are rendered, e.g.
 * "app=web,tier in (a,b)"). Borrowed input; new string, free() ("" if empty). */
char *labels_selector_string(const json_t *match_labels_or_selector);

/* Frees a selector; accepts NULL. */
void labels_selector_free(struct label_selector *sel);

#endif
