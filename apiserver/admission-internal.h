/* Declarations shared by the admission chain (admission.c) and its plugins
 * in their own files (admission-limits.c, admission-podsecurity.c). Not a
 * public interface. */
#ifndef MK_APISERVER_ADMISSION_INTERNAL_H
#define MK_APISERVER_ADMISSION_INTERNAL_H

#include <stdbool.h>
#include <jansson.h>

#include "apiserver/admission.h"

/* What a plugin gets: the request and where to read (and, for quotas, write). */
struct admission_ctx {
	const struct admission *a;
	struct store *st;
	struct admission_attrs *at;
	char **warning; /* validating phase: a Warning header's text (new string) */
};

/* A plugin's phase: 0 to admit, -1 with *status (new) to refuse. */
typedef int (*admission_fn)(struct admission_ctx *c, json_t **status);

/* The stored object ns/name of a core/v1 resource (plural): 1 and *out (new)
 * if found, 0 if absent, -1 with *status on a storage error. An object found
 * is read once per request (c->at->reads): the next plugin to ask gets a
 * copy, as upstream's plugins share one informer cache; an absent one is
 * asked for again. */
int admission_get(struct admission_ctx *c, const char *resource, const char *ns, const char *name,
		  json_t **out, json_t **status);
/* Every stored object of a core/v1 resource in ns: new array, or NULL with
 * *status on a storage error. Read once per request, as admission_get. */
json_t *admission_list(struct admission_ctx *c, const char *resource, const char *ns,
		       json_t **status);

/* The refusal upstream's admission.NewForbidden builds:
 * `<resource> "<name>" is forbidden: <why>`, 403. New reference. */
json_t *admission_forbidden(const struct admission_attrs *at, const char *why);

/* True if at is the creation of an object of the core resource (no subresource). */
bool admission_is_create_of(const struct admission_attrs *at, const char *resource);

/* admission-limits.c */
int admission_limitranger_mutate(struct admission_ctx *c, json_t **status);
int admission_limitranger_validate(struct admission_ctx *c, json_t **status);
int admission_quota_validate(struct admission_ctx *c, json_t **status);

/* admission-noderestriction.c */
int admission_noderestriction_validate(struct admission_ctx *c, json_t **status);

/* admission-podsecurity.c */
int admission_podsecurity_validate(struct admission_ctx *c, json_t **status);

#endif
