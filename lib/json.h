/* JSON helpers on top of jansson: dotted paths, compact dumps, deep equality,
 * JSON pointers (RFC 6901), JSON merge patch (RFC 7386), JSON patch (RFC 6902)
 * and Kubernetes' strategic merge patch.
 *
 * No function here changes its const inputs; patch functions work on a deep
 * copy and return a new reference. */
#ifndef MK_JSON_H
#define MK_JSON_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"

/* Value at a dotted path ("metadata.name", "spec.template.metadata.labels"),
 * walking objects by key; a segment of digits indexes an array. Borrowed from
 * root (valid while root lives and is unchanged), or NULL if any step is
 * missing or of the wrong type. root may be NULL. */
json_t *json_path_get(const json_t *root, const char *dotted);

/* String at a dotted path, borrowed from root; NULL if missing or not a string. */
const char *json_path_str(const json_t *root, const char *dotted);

/* Sets the value at a dotted path, creating objects on the way (an existing
 * non-object on the way is an error). Steals value, also on failure.
 * Returns 0, or -1 if root is not an object or the path cannot be made. */
int json_path_set(json_t *root, const char *dotted, json_t *value);

/* Compact serialization (no spaces, key insertion order kept, any value
 * type). New string, free() it; NULL only for a NULL v. */
char *json_dump_compact(const json_t *v);

/* The kind of v as Go's encoding/json names it in its errors: "string",
 * "number", "bool", "array", "object" or "null". */
const char *json_kind_name(const json_t *v);

/* The keys that text (len bytes of valid JSON, as json_loadb accepted it)
 * repeats within one object, as paths in the style of upstream's strict
 * decoder: "spec.paused", "spec.template.spec.containers[0].imagePullPolicy"
 * (a key at the top is its bare name). jansson keeps the last value of a
 * repeated key and can only refuse the first one without naming its path,
 * hence this scan of the text. Document order, each path once. New array of
 * strings. */
json_t *json_duplicate_keys(const char *text, size_t len);

/* The element of array arr whose "name" is name, or NULL (also for a
 * non-array or a NULL name). Borrowed. */
json_t *json_array_find_named(const json_t *arr, const char *name);

/* obj's keys sorted bytewise, as Go orders a map's keys: a new array of n
 * borrowed strings (free() the array only), valid while obj is unchanged. */
const char **json_object_sorted_keys(const json_t *obj, size_t *n);

/* Deep copy that aborts on allocation failure like xmalloc. New reference;
 * NULL only for a NULL v. */
json_t *json_copy_deep(const json_t *v);

/* Structural equality where numbers compare by value (1 == 1.0), as RFC 6902
 * "test" requires. NULL equals only NULL. */
bool json_value_equal(const json_t *a, const json_t *b);

/* Value at an RFC 6901 JSON pointer ("" is the whole document, "/a/0/b~1c"),
 * borrowed from doc. NULL with MK_EINVAL for a malformed pointer or
 * MK_ENOTFOUND when the value does not exist. */
json_t *json_pointer_get(const json_t *doc, const char *pointer, struct mk_err **err);

/* RFC 7386 JSON merge patch: objects merge recursively, null removes a key,
 * anything else (arrays included) replaces. Like upstream's API server, a
 * stored patch value loses its null members also inside arrays. Never fails.
 * New reference. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

/* Limits upstream's API server puts on a JSON patch: at most this many
 * operations, and at most this many bytes added by "copy" operations in all
 * (the compact JSON size of each copied value, summed), so that a small patch
 * cannot double a document again and again. */
#define JSON_PATCH_MAX_OPS	  10000
#define JSON_PATCH_MAX_COPY_BYTES 3145728

/* RFC 6902 JSON patch: ops is an array of {op, path, [from], [value]} applied
 * in order to a copy of doc (add, remove, replace, move, copy, test). New
 * reference, or NULL with MK_EINVAL. Messages are those of the JSON patch
 * library upstream's API server uses ("testing value /a failed: test
 * failed", "error in remove for path: '/b': Unable to remove nonexistent key:
 * b: missing value", ...); what only the RFC forbids (replace of a missing
 * key, "01" as an index, a bad "~" escape, a missing "value") gets a message
 * naming the operation's index. Past the limits above: MK_ETOOLARGE "The
 * allowed maximum operations in a JSON patch is 10000, got N" before anything
 * is applied, and MK_EINVAL "Unable to complete the copy, the accumulated
 * size increase of copy is N, exceeding the limit 3145728" at the copy that
 * crosses the limit (both upstream's texts). */
json_t *json_patch_apply(const json_t *doc, const json_t *ops, struct mk_err **err);

/* Bytes of v serialized as compact JSON the way Go's encoding/json writes it
 * (HTML characters and U+2028/U+2029 escaped in strings), which is how
 * upstream's JSON patch library measures a copied value. Computed without
 * building the text. */
size_t json_encoded_size(const json_t *v);

/* Kubernetes strategic merge patch (application/strategic-merge-patch+json)
 * of doc (an object) by patch (an object). Lists are merged by the upstream
 * merge keys, chosen from the list's path in the object (spec containers by
 * name, a container's ports by containerPort, env by name, a Service's
 * spec.ports by port, conditions by type, ...); finalizers and podCIDRs are
 * merged as sets; other lists are replaced. Honours null (delete a key),
 * "$patch": "delete" | "replace" (and "merge" in a map, which upstream
 * refuses), "$retainKeys", "$setElementOrder/<list>" and
 * "$deleteFromPrimitiveList/<list>"; no directive ends up in the result.
 * Merged lists are ordered as upstream orders them. New reference, or NULL
 * with MK_EINVAL for a malformed patch (unknown directive, list element
 * without its merge key, $retainKeys not naming a key the patch sets). */
json_t *json_smp_apply(const json_t *doc, const json_t *patch, struct mk_err **err);

#endif
