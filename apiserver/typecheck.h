/* The JSON types of request bodies, checked as upstream's decoder into its
 * Go structs would check them, for the fields this server and its clients
 * read: every object's metadata (names, labels, annotations, finalizers,
 * owner references), pod specs wherever they appear (containers, ports,
 * env, resource quantities), replicas and selectors of the workload kinds,
 * Scale, ConfigMap and Secret data, Service ports, Namespace and Node
 * specs. A body that upstream could not decode must never be stored: its
 * readers (kubectl describe, the controllers) would fail on it later.
 *
 * This is not a full decoder: fields it does not know are left alone. */
#ifndef MK_APISERVER_TYPECHECK_H
#define MK_APISERVER_TYPECHECK_H

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

#endif
