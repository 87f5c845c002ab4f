/* Stored objects as the resource handlers, watches and bootstrap see them:
 * their storage keys, the resourceVersion set on every read, selection by
 * label and field selectors, and Tables. */
#ifndef MK_APISERVER_OBJECTS_H
#define MK_APISERVER_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "apiserver/resource.h"

/* Storage key of an object: "/registry/<storage>/[<ns>/]<name>". New string. */
char *api_key(const struct api_resource *r, const char *ns, const char *name);
/* Prefix of a collection: "/registry/<storage>/" or ".../<ns>/". New string. */
char *api_prefix(const struct api_resource *r, const char *ns);

/* Parses a stored value and sets metadata.resourceVersion to rev. New reference
 * or NULL if the value is not a JSON object. */
json_t *api_object_from_store(const char *value, int64_t rev);
/* Appends a stored value (borrowed) with metadata.resourceVersion set to rev,
 * splicing the text instead of parsing it when its layout allows. */
void api_append_with_rv(struct buf *raw, const char *value, int64_t rev);

/* Selection of objects for lists and watches. */
struct api_filter;
/* Parses a labelSelector and a fieldSelector (borrowed; NULL or "": none)
 * for r. NULL with a Status in *status (new reference) on a bad selector.
 * Free with api_filter_free. */
struct api_filter *api_filter_new(const char *label_selector, const char *field_selector,
				  const struct api_resource *r, json_t **status);
bool api_filter_matches(const struct api_filter *f, const struct api_resource *r,
			const json_t *obj);
/* True if f selects everything (no label or field selector). */
bool api_filter_empty(const struct api_filter *f);
/* Accepts NULL. */
void api_filter_free(struct api_filter *f);

/* objects (an array, borrowed) as a Table, printed now; include_object as
 * the includeObject parameter; with_columns false for watch events after
 * the first. New reference. */
json_t *api_table_of(const struct api_resource *r, const json_t *objects,
		     const char *include_object, bool with_columns);

#endif
