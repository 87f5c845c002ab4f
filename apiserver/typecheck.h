/* The JSON types of request bodies, checked as upstream's decoder into its
 * Go structs would check them, for the fields this server and its clients
 * read: every object's metadata (names, labels, annotations, finalizers,
 * owner references), pod specs wherever they appear (containers, ports,
 * env, resource quantities), replicas and selectors of the workload kinds,
 * Scale, ConfigMap and Secret data, Service ports, Namespace and Node
 * specs. A body that upstream could not decode must never be stored: its
 * readers (kubectl describe, the controllers) would fail on it later.
 *
 * The fields and Go types come from the kind schemas (schema.h); a kind
 * without one is checked for its metadata only. */
#ifndef MK_APISERVER_TYPECHECK_H
#define MK_APISERVER_TYPECHECK_H

#include <stdbool.h>
#include <jansson.h>

/* Checks obj (borrowed), a body decoded as kind ("Deployment", "Scale"...).
 * Returns NULL if its known fields have their Go types, else a new string
 * (free()) with the first error in document order, worded as upstream's
 * decoder words it:
 *   json: cannot unmarshal string into Go struct field
 *     DeploymentSpec.spec.replicas of type int32
 *   quantities must match the regular expression
 *     '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'
 * (the caller puts `<Kind> in version "<v>" cannot be handled as a <Kind>: `
 * in front, as upstream does). Unknown kinds are checked for metadata only. */
char *typecheck_body(const char *kind, const json_t *obj);

enum {
	TYPECHECK_PRUNE = 1,  /* delete the unknown fields from obj, as Go's decoder drops them */
	TYPECHECK_SORTED = 2, /* report in key order, as upstream does for a patched
			       * object (it re-encodes it from a Go map) */
};

/* Strict decoding of obj (a body, or a patched object) as kind: every field
 * that its schema does not have, and every key of dups (borrowed array of
 * paths from json_duplicate_keys, or NULL) that names a known field, as
 * upstream's strict decoder reports them, in document order (or key order):
 *   unknown field "spec.template.spec.containers[0].imagee"
 *   duplicate field "spec.paused"
 * A field both unknown and duplicated is reported as unknown. flags: the
 * TYPECHECK_ bits. Returns a new array of those strings, or NULL when there
 * is none or kind has no schema (then nothing is checked). */
json_t *typecheck_strict(const char *kind, json_t *obj, const json_t *dups, unsigned flags);

#endif
