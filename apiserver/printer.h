/* Server-side printing: the meta.k8s.io/v1 Table kubectl asks for with
 * `Accept: application/json;as=Table;...`, built from a resource row's columns
 * and print_row hook, plus the cell helpers those hooks share (upstream's
 * cell rules: ages, label selectors, container lists). */
#ifndef MK_APISERVER_PRINTER_H
#define MK_APISERVER_PRINTER_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#include "apiserver/resource.h"

/* A Table of objects (a JSON array of full objects, borrowed) for row r.
 * include_object: "Object" embeds each object, "None" gives "object": null,
 * anything else (NULL, "Metadata") a PartialObjectMetadata with the object's
 * metadata. with_columns false leaves out columnDefinitions (watch events
 * after the first). metadata is {} (the caller sets resourceVersion). Rows
 * are printed as of now. New reference. */
json_t *printer_table(const struct api_resource *r, const json_t *objects,
		      const char *include_object, bool with_columns, time_t now);

/* Upstream's translateTimestampSince: the human age of an RFC 3339 timestamp
 * at now, "<unknown>" for NULL, "" or an unparsable one. Writes into out (at
 * least 32 bytes) and returns it. */
char *printer_since(const char *timestamp, time_t now, char *out, size_t len);

/* Appends the Age cell (metadata.creationTimestamp) of obj to cells. */
void printer_cell_age(const json_t *obj, time_t now, json_t *cells);

/* A metav1.LabelSelector ({matchLabels, matchExpressions}) as upstream prints
 * it: requirements sorted by key, "k=v", "k in (a,b)", "k notin (a)", "k",
 * "!k", comma-joined; "" for NULL or empty, "<invalid>" for a bad operator.
 * New string, free(). */
char *printer_label_selector(const json_t *selector);

/* A map of labels (a Service selector) as "k=v,..." sorted by key, "<none>"
 * when empty or NULL. New string, free(). */
char *printer_labels_map(const json_t *map);

/* Appends the Containers and Images cells (names and images of a pod spec's
 * containers, comma-joined) to cells. */
void printer_cells_containers(const json_t *pod_spec, json_t *cells);

/* Elements joined with sep, "" for none. New string, free(). */
char *printer_join(const char *const *items, size_t n, const char *sep);

/* The integer at a dotted path of obj, or 0. */
long long printer_int(const json_t *obj, const char *path);

/* The string at a dotted path of obj, or "" (borrowed from obj). */
const char *printer_str(const json_t *obj, const char *path);

#endif
