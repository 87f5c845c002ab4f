/* Image references as upstream's distribution/reference reads them:
 * "nginx" -> docker.io/library/nginx:latest, "localhost:5000/x",
 * "repo@sha256:<hex>", "repo:tag@sha256:<hex>"; the familiar form crictl and
 * kubectl print ("nginx:latest"), digest checks. Error texts are upstream's
 * ("invalid reference format", "invalid reference format: repository name
 * must be lowercase", ...). */
#ifndef MK_IMAGEREF_H
#define MK_IMAGEREF_H

#include <stdbool.h>

#include "err.h"

#define IMAGEREF_DEFAULT_DOMAIN "docker.io"
#define IMAGEREF_DEFAULT_TAG "latest"

struct imageref {
	char *domain; /* owned: "docker.io", "localhost:5000", "registry.k8s.io" */
	char *path;   /* owned: "library/nginx", "pause" */
	char *tag;    /* owned, or NULL when only a digest was given */
	char *digest; /* owned "sha256:<64 hex>", or NULL */
};

/* Parses and normalises s into *out (which the caller clears with
 * imageref_clear). Adds the tag "latest" when s names neither a tag nor a
 * digest, as the kubelet does. Returns 0, or -1 with MK_EINVAL and upstream's
 * message; *out is left empty on failure. */
int imageref_parse(const char *s, struct imageref *out, struct mk_err **err);

/* Frees the members; accepts an empty or zeroed ref. */
void imageref_clear(struct imageref *r);

/* "docker.io/library/nginx". New string, free(). */
char *imageref_repo(const struct imageref *r);

/* The full normalised form: "docker.io/library/nginx:latest",
 * "docker.io/library/nginx@sha256:...", or both tag and digest. New string. */
char *imageref_string(const struct imageref *r);

/* "repo:tag" if tagged, else NULL. New string. */
char *imageref_tagged(const struct imageref *r);

/* "repo@digest" if digested, else NULL. New string. */
char *imageref_digested(const struct imageref *r);

/* The familiar form upstream prints: docker.io/ and docker.io's library/
 * dropped ("nginx:latest", "curlimages/curl:latest",
 * "registry.k8s.io/pause:3.10"). New string. */
char *imageref_familiar(const struct imageref *r);

/* Whether d is "sha256:" followed by 64 lower-case hex digits. */
bool imageref_digest_valid(const char *d);

/* Whether s names an image by its id: "sha256:<64 hex>" or 64 hex alone. */
bool imageref_is_id(const char *s);

#endif
