/* Server-side apply and field ownership: the merge of an applied
 * configuration into a live object, and metadata.managedFields kept for
 * every write, as upstream's field manager keeps them.
 *
 * - apply_object: PATCH with application/apply-patch+yaml. The configuration
 *   is merged by the kind's schema (atomic / set / map lists, granular or
 *   atomic maps and structs); the applier owns exactly the fields it sent;
 *   fields it owned before and no longer sends are removed when no other
 *   manager owns them; changing a field another manager owns is a conflict
 *   unless forced, and forcing moves the ownership.
 * - apply_update: every other write (create, update, patch) records an
 *   Update entry for its manager holding the fields it changed; the fields
 *   it changed leave the other managers.
 * Both take a schema handle, so any kind with a schema_type (built in or
 * custom) is served the same way; a NULL schema deduces one from the values
 * (objects merged and owned key by key, lists and scalars as a whole), as
 * upstream does for objects it has no schema for.
 *
 * Entries are ordered and encoded as upstream encodes them (operation, time,
 * manager, apiVersion, subresource), with FieldsV1 sets (fieldset.h).
 * Server-owned metadata (name, namespace, uid, resourceVersion,
 * generation, creationTimestamp, managedFields) and apiVersion/kind are
 * never owned. */
#ifndef MK_APISERVER_APPLY_H
#define MK_APISERVER_APPLY_H

#include <stdbool.h>
#include <jansson.h>

#include "apiserver/schema.h"
#include "err.h"

struct apply_write {
	const char *manager;	 /* the field manager */
	const char *api_version; /* of the object: "apps/v1" */
	const char *subresource; /* "status", or NULL for the object itself */
	const char *time;	 /* RFC 3339 time of the write */
	/* fields this write does not reach (the status through the object, the
	 * rest through status), as a field set; borrowed, may be NULL */
	const json_t *reset;
};

/* The annotation client-side apply keeps its last configuration in. */
#define APPLY_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* Applies config (borrowed) onto live (borrowed; NULL when the object does
 * not exist yet) for w. force takes conflicting fields from their owners.
 * The manager "kubectl" also adopts the fields the last-applied annotation
 * lists and still match (client-side to server-side apply migration), and
 * keeps that annotation up to date when the object has one.
 * Returns 0 with *out the new object (new reference) carrying its
 * managedFields. On conflicts returns -1 with an MK_ECONFLICT error and
 * *conflict a new object {"message": ..., "causes": [...]} worded as
 * upstream's 409 Status; other failures (a configuration of another
 * apiVersion, or one carrying managedFields): -1 and an MK_EINVAL *err in
 * upstream's words. */
int apply_object(const struct schema_type *st, const json_t *live, const json_t *config,
		 const struct apply_write *w, bool force, json_t **out, json_t **conflict,
		 struct mk_err **err);

/* Records an Update by w: obj (modified: its metadata.managedFields are
 * rewritten) replaces old (borrowed; NULL for a create). The entries obj
 * carries are the base when they differ from old's and decode (a client may
 * rewrite them; an empty list resets them); else old's are. */
void apply_update(const struct schema_type *st, const json_t *old, json_t *obj,
		  const struct apply_write *w);

/* The manager a request names: fieldManager if set, else the User-Agent up
 * to its first '/' (printable characters only, at most 128), as upstream
 * takes it. New string, free(). */
char *apply_manager_name(const char *field_manager, const char *user_agent);

#endif
