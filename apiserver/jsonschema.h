/* Structural OpenAPI v3 schemas of CustomResourceDefinitions, as upstream's
 * apiextensions-apiserver reads them: the checks a schema must pass to be
 * accepted (structural rules), and what a served schema does to a custom
 * object — pruning of unknown fields, defaulting, and validation of types,
 * required fields, enums, bounds, lengths and patterns.
 *
 * Schemas and objects are jansson values; every schema argument is borrowed
 * for the call. Field paths are written as upstream's field.Path writes them:
 * "spec.items[0].name", "spec.labels[app]" for map entries in schema
 * checks. Causes are appended as api_cause_add does ({reason, message,
 * field}). */
#ifndef MK_APISERVER_JSONSCHEMA_H
#define MK_APISERVER_JSONSCHEMA_H

#include <stdbool.h>
#include <jansson.h>

/* Checks schema (an openAPIV3Schema) found at path
 * ("spec.versions[0].schema.openAPIV3Schema") for upstream's structural
 * rules: a type everywhere it is needed ("must not be empty for specified
 * object fields"), object at the root, properties and additionalProperties
 * not both, known types, no uniqueItems, x-kubernetes-preserve-unknown-fields
 * only true, x-kubernetes-int-or-string without a type; defaults must be
 * valid against their own schema. Appends one cause per violation. */
void jsonschema_check(const json_t *schema, const char *path, json_t *causes);

/* Drops from obj (changed in place) every field its schema does not
 * declare, where the schema does not preserve unknown fields; at the root
 * apiVersion, kind and metadata are kept. When unknown is not NULL, the
 * path of each dropped field is appended to it as a string ("spec.foo",
 * "spec.items[1].bar"), in document order. */
void jsonschema_prune(const json_t *schema, json_t *obj, json_t *unknown);

/* Fills in obj (changed in place) the defaults of properties that are
 * absent or null (null only where the schema is not nullable), descending
 * into the objects and arrays obj has, as upstream's structural defaulting. */
void jsonschema_default(const json_t *schema, json_t *obj);

/* Validates obj against schema (root at the object, whose apiVersion, kind
 * and metadata are not checked), appending causes worded as upstream's CR
 * validation words them, e.g.
 *   spec.replicas: Invalid value: "x": spec.replicas in body must be of type integer: "string"
 *   spec.size: Required value
 *   spec.color: Unsupported value: "blue": supported values: "red", "green"
 *   spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10 */
void jsonschema_validate(const json_t *schema, const json_t *obj, json_t *causes);

/* The schema of the field at dotted path ("spec.replicas") under schema,
 * following properties only; NULL if the schema has no such field.
 * Borrowed from schema. */
const json_t *jsonschema_at(const json_t *schema, const char *dotted);

#endif
