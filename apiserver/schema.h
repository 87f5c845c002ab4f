/* The schema of every kind this server serves: one table per Go struct of
 * upstream's API (field names, Go types, descriptions), generated into
 * schema-tables.inc by tools/gen-schema.py from Kubernetes' published
 * OpenAPI. It is the one source of truth for the type checks of request
 * bodies (typecheck.c), for strict field validation (unknown fields) and
 * for the component schemas of /openapi/v3 (openapi.c), so that `kubectl
 * explain` shows the fields the server enforces.
 *
 * Generated rather than written by hand: the served kinds reach some 200
 * structs (PodSpec alone pulls in volumes, probes, security contexts,
 * affinity...), and a hand copy would drift from upstream's field set.
 *
 * All tables are static and read-only; every pointer here is borrowed for
 * the life of the program. */
#ifndef MK_APISERVER_SCHEMA_H
#define MK_APISERVER_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

enum schema_kind {
	SCHEMA_STRING,
	SCHEMA_BOOL,
	SCHEMA_INT32,
	SCHEMA_INT64,
	SCHEMA_NUMBER,	 /* float64 */
	SCHEMA_TIME,	 /* metav1.Time: an RFC 3339 string */
	SCHEMA_QUANTITY, /* resource.Quantity */
	SCHEMA_INTORSTR, /* intstr.IntOrString */
	SCHEMA_ANY,	 /* free-form JSON (RawExtension, FieldsV1): not checked */
	SCHEMA_STRUCT,	 /* sub */
	SCHEMA_LIST,	 /* []<elem> */
	SCHEMA_MAP,	 /* map[string]<elem> */
};

/* How server-side apply merges a field and tracks who owns it, as
 * upstream's structured-merge schema (x-kubernetes-list-type,
 * x-kubernetes-list-map-keys, x-kubernetes-map-type) says. */
enum schema_rel {
	SCHEMA_REL_DEFAULT, /* a list: atomic; a map or struct: granular (its
			       struct's own atomic flag aside) */
	SCHEMA_REL_ATOMIC,  /* replaced and owned as a whole */
	SCHEMA_REL_SET,	    /* a list of unique scalars, owned by value */
	SCHEMA_REL_MAP,	    /* a list of structs, owned by the values of keys */
};

struct schema_type;

struct schema_field {
	const char *name; /* JSON name; NULL ends a table */
	enum schema_kind kind;
	enum schema_kind elem;	       /* of a LIST or MAP */
	const struct schema_type *sub; /* the struct of a STRUCT, or of a LIST/MAP elem STRUCT */
	enum schema_rel rel;
	const char *const *keys; /* of a SCHEMA_REL_MAP list: NULL-terminated */
	/* per key: the JSON text of the value an item without it has, or NULL */
	const char *const *key_defaults;
	bool zero;		 /* a Go non-pointer struct: present in a zero object */
	bool required;		 /* else: written as null in a zero object (no omitempty) */
	const char *desc;
};

struct schema_type {
	const char *name; /* OpenAPI definition: "io.k8s.api.apps.v1.DeploymentSpec" */
	const char *go;	  /* Go struct name: "DeploymentSpec" */
	const char *pkg;  /* Go package name: "v1" */
	const char *desc;
	/* the kind served with this schema at its top; NULL for inner structs */
	const char *group, *version, *kind;
	bool atomic; /* replaced and owned as a whole by server-side apply */
	const struct schema_field *fields;
};

/* The top-level schema of kind (e.g. "Deployment", "Scale", "Binding"),
 * or NULL if the server has none for it. */
const struct schema_type *schema_kind_find(const char *kind);

/* The field of st named name (length len), or NULL. */
const struct schema_field *schema_field_find(const struct schema_type *st, const char *name,
					     size_t len);

/* The OpenAPI v3 component schemas of every kind served in group/version
 * ("" for core) and of every struct they reach, keyed by definition name;
 * top-level ones carry x-kubernetes-group-version-kind. New reference;
 * an empty object when none. */
json_t *schema_openapi_components(const char *group, const char *version);

/* Adds ObjectMeta and what it reaches to schemas (an object of component
 * schemas, borrowed) and returns its definition name (static), or NULL. */
const char *schema_openapi_object_meta(json_t *schemas);

#endif
