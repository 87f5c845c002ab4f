/* The generic resource table: every served kind is one row plus its strategy
 * hooks. The request handlers (handlers.c), discovery, OpenAPI and the Table
 * printer are all driven from this table; a new kind is a new row. */
#ifndef MK_APISERVER_RESOURCE_H
#define MK_APISERVER_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "err.h"

struct store;

struct api_subresource {
	const char *name;    /* "status", "scale", "binding", "log", "exec" */
	const char *group;   /* responseKind */
	const char *version; /* responseKind */
	const char *kind;    /* responseKind */
	const char *const *verbs;
	/* scale of custom resources: where the replicas and the selector are
	 * ("spec.replicas", "status.replicas", "status.selector"); NULL:
	 * spec.replicas, status.replicas and a LabelSelector at spec.selector */
	const char *spec_replicas_path;
	const char *status_replicas_path;
	const char *selector_path;
};

struct table_column {
	const char *name;   /* "Name", "Ready", ... as upstream */
	const char *type;   /* "string", "integer", "date", ... */
	const char *format; /* "name" on the Name column, else "" */
	const char *description;
	int priority;       /* 0 always shown, 1 with -o wide */
};

struct api_resource {
	const char *group;    /* "" for the core group */
	const char *version;  /* "v1" */
	const char *resource; /* plural: "pods" */
	const char *singular; /* "pod" */
	const char *kind;     /* "Pod" */
	bool namespaced;
	const char *const *short_names;             /* NULL-terminated or NULL */
	const char *const *categories;              /* NULL-terminated or NULL */
	const char *const *verbs;                   /* NULL-terminated */
	const struct api_subresource *subresources; /* ends with .name == NULL, or NULL */
	/* Segment under /registry/ (upstream's: "minions" for nodes,
	 * "services/specs" for services...). */
	const char *storage;
	/* Served but not stored (componentstatuses): builds the items (new
	 * array), reading the store if it needs to. */
	json_t *(*virtual_list)(struct store *st);

	/* Strategy hooks; each may be NULL. */
	/* Fills defaults into a new or updated object (spec, not metadata). */
	void (*defaults)(json_t *obj);
	/* Appends causes {"reason","message","field"} (see api_cause_add) for an
	 * object being created (old == NULL) or updated. */
	void (*validate)(const json_t *obj, const json_t *old, json_t *causes);
	/* Create: clears what clients may not set (status of kinds with a status
	 * subresource...). */
	void (*prepare_create)(json_t *obj);
	/* Update through the main endpoint: carries over what it may not change
	 * (status) from old. For the status subresource the handler does the
	 * reverse (keeps everything but status). */
	void (*prepare_update)(json_t *obj, const json_t *old);
	/* Allocation hooks (service ClusterIP/NodePort): may fail with an error
	 * carrying MK_EINVALID and a message "<field>: <text>" (see
	 * api_causes_from_message); release undoes a create. */
	int (*on_create)(json_t *obj, struct mk_err **err);
	int (*on_update)(json_t *obj, const json_t *old, struct mk_err **err);
	void (*on_delete)(const json_t *obj);

	/* Server-side printing: columns (end with .name == NULL; NULL = Name, Age)
	 * and one cell per column appended to cells. now = response time. */
	const struct table_column *columns;
	void (*print_row)(const json_t *obj, time_t now, json_t *cells);

	/* Field selectors beyond metadata.name / metadata.namespace: sets *value
	 * (borrowed from obj, "" when absent) and returns true if field is
	 * selectable for this kind. */
	bool (*field_value)(const json_t *obj, const char *field, const char **value);

	/* Undoes a successful on_update(obj, old) whose write then failed
	 * (conflict before a retry, storage error), so that what it allocated is
	 * freed and what it released is held again; may be NULL. */
	void (*on_update_abort)(const json_t *obj, const json_t *old);

	/* Custom resources (crd.c): prunes obj (a body or a changed object) to
	 * the row's schema and returns what was dropped as strict decoding
	 * reports it ("unknown field \"spec.x\""): a new array, or NULL when
	 * nothing was. Takes the place of the built-in kinds' typecheck. */
	json_t *(*prune)(const struct api_resource *r, json_t *obj);

	/* A kind served in another form than the stored one (events.k8s.io/v1
	 * Events are stored as core/v1 Events; a custom resource's other
	 * versions as its storage version): from_stored turns a stored object
	 * of row r into the served form, to_stored back, both in place. The
	 * other hooks see the served form; selectors the stored one. */
	void (*from_stored)(const struct api_resource *r, json_t *obj);
	void (*to_stored)(const struct api_resource *r, json_t *obj);
};

/* Every built-in resource; ends with a row whose resource is NULL. */
extern const struct api_resource api_resources[];

/* Every served row: the built-in table, then the custom resources of the
 * CRDs (crd.h). A new array (free()) of *n borrowed rows, valid for the life
 * of the process. */
const struct api_resource **api_resource_all(size_t *n);

/* Looks up a row by group ("" core), version and plural, built-in or custom;
 * NULL if not served. */
const struct api_resource *api_resource_find(const char *group, const char *version,
					     const char *resource);
/* Looks up a row by apiVersion ("v1", "apps/v1") and kind; NULL if none. */
const struct api_resource *api_resource_by_kind(const char *api_version, const char *kind);
/* The row's subresource by name, or NULL. */
const struct api_subresource *api_resource_sub(const struct api_resource *r, const char *name);
/* "v1" or "apps/v1" for the row (borrowed, static). */
const char *api_resource_api_version(const struct api_resource *r);
/* "pods" or "deployments.apps": how upstream names the resource in messages. */
const char *api_resource_qualified(const struct api_resource *r);

/* Appends {"reason":reason,"message":"<text>","field":field} to causes, e.g.
 * api_cause_add(c, "FieldValueRequired", "spec.containers", "Required value").
 * As upstream, the cause message does not repeat the field: kubectl prints
 * each cause as "<field>: <message>" itself. */
void api_cause_add(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The text upstream puts after `<Kind> "<name>" is invalid: ` in the Status
 * message: "<field>: <message>" for one cause, "[<f1>: <m1>, <f2>: <m2>]" for
 * several (repeats dropped). New string, free(). */
char *api_causes_message(const json_t *causes);

/* Causes for an MK_EINVALID error of an allocation hook, whose message is
 * "<field>: <text>": one FieldValueInvalid cause. New reference. */
json_t *api_causes_from_message(const char *msg);

#endif
