/* Field sets: which fields of an object a manager owns, as server-side apply
 * tracks them in metadata.managedFields (upstream's structured-merge-diff
 * fieldpath.Set, carried on the wire as FieldsV1).
 *
 * A set is a tree kept as a JSON object: each key is one path element in
 * FieldsV1's spelling --
 *   "f:<name>"        a struct field or a map entry
 *   "k:{<keys>}"      an item of a map list, by its key fields (sorted JSON)
 *   "v:<json>"        an item of a set list, by its value
 *   "i:<n>"           an item of a list by index
 * -- and each value is the subtree under that element. A path is a member
 * of the set when its node holds the key "." (FieldsV1 writes a member with
 * no children as {} and one with children with ".": {}; the sets here always
 * write "." and convert at the edges). A node that is no member has
 * children. The empty set is {}.
 *
 * What an object's fields are, and how lists and maps are keyed, comes from
 * a schema (schema.h): every function taking one works for any kind that
 * has a schema_type, built in or not. A field the schema does not know is a
 * leaf. A NULL schema is upstream's deduced one (objects are granular maps,
 * lists and scalars leaves), for objects without a schema_type. All results
 * are new references unless said otherwise. */
#ifndef MK_APISERVER_FIELDSET_H
#define MK_APISERVER_FIELDSET_H

#include <stdbool.h>
#include <jansson.h>

#include "apiserver/schema.h"
#include "err.h"

/* The type of a value at some path: a whole object (fieldset_type_of) or a
 * field, list item or map value reached from it. */
struct fieldset_type {
	enum schema_kind kind;
	enum schema_kind elem;
	const struct schema_type *sub;
	enum schema_rel rel;
	const char *const *keys;
	const char *const *key_defaults;
	bool deduced; /* no schema: objects granular, all else a leaf */
};

/* The type of a whole object of schema st (NULL: deduced). */
struct fieldset_type fieldset_type_of(const struct schema_type *st);

/* The type of field f. */
struct fieldset_type fieldset_type_field(const struct schema_field *f);

/* The type of the items (LIST) or values (MAP) of t. */
struct fieldset_type fieldset_type_elem(const struct fieldset_type *t);

/* Whether values of t are owned and replaced as a whole (scalars, atomic
 * lists, maps and structs, free-form values). */
bool fieldset_type_atomic(const struct fieldset_type *t);

/* The path element ("k:{...}", "v:...") naming item of a list of type t
 * (a SET or MAP list). New string, free(). */
char *fieldset_item_element(const struct fieldset_type *t, const json_t *item);

/* The fields obj sets, as upstream's ToFieldSet: leaves, list items and map
 * entries are members; struct fields only when empty or null. */
json_t *fieldset_of_object(const struct schema_type *st, const json_t *obj);

/* What changed from old to new (either may be NULL: absent), as upstream's
 * Compare: *added, *modified and *removed get new sets. */
void fieldset_compare(const struct schema_type *st, const json_t *old, const json_t *new,
		      json_t **added, json_t **modified, json_t **removed);

json_t *fieldset_union(const json_t *a, const json_t *b);
json_t *fieldset_difference(const json_t *a, const json_t *b);
json_t *fieldset_intersection(const json_t *a, const json_t *b);

/* a without every path at or under a member of b. */
json_t *fieldset_remove_prefixes(const json_t *a, const json_t *b);

/* Whether s has no member. */
bool fieldset_empty(const json_t *s);

/* Whether s has the path (an array of element strings, borrowed) as a
 * member, or (under) whether any member is at or under it. */
bool fieldset_has(const json_t *s, const json_t *path, bool under);

/* The members of s in upstream's order, each as an array of path element
 * strings. */
json_t *fieldset_members(const json_t *s);

/* A path (array of element strings) as upstream prints it in conflicts:
 * .spec.template.spec.containers[name="web"].image. New string, free(). */
char *fieldset_path_string(const json_t *path);

/* The set a FieldsV1 value (borrowed) encodes, checked: NULL with *err when
 * it is not a tree of objects keyed by valid path elements. */
json_t *fieldset_from_v1(const json_t *v1, struct mk_err **err);

/* s as FieldsV1, keys in upstream's order. */
json_t *fieldset_to_v1(const json_t *s);

#endif
