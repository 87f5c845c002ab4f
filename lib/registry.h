/* A client of the OCI distribution API (the registry HTTP API v2) over
 * libcurl, for one repository at one endpoint.
 *
 * Authentication: a 401 answer's WWW-Authenticate challenge is followed —
 * Bearer (token from realm with service and scope "repository:<repo>:pull",
 * sending the endpoint's basic credentials to the token server if it has
 * any) or Basic (the endpoint's credentials). Tokens are kept for the
 * client's life. Redirects (blob storage) are followed; credentials are not
 * sent to another host. Connection failures, resets and 5xx/429 answers are
 * retried with exponential back-off; an interrupted blob download resumes
 * with a Range request. Errors: MK_EUNAUTHORIZED (401/403 or refused
 * credentials), MK_ENOTFOUND (404), MK_EUNAVAILABLE (unreachable, 5xx, 429
 * after the retries), MK_EINVAL (digest or size mismatch, malformed answer).
 * Messages name the URL and the registry's own error code and text.
 *
 * A client is safe to use from several threads at once (one blob per
 * thread); connections are shared between them. */
#ifndef MK_REGISTRY_H
#define MK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ocidigest.h"
#include "registries.h"

/* The Accept header of every manifest request: distribution 2.8 answers 404
 * for OCI manifests and converts lists to schema 1 without it. */
#define REGISTRY_MANIFEST_ACCEPT                                                                   \
	"application/vnd.oci.image.index.v1+json, "                                                \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                              \
	"application/vnd.docker.distribution.manifest.v2+json, "                                   \
	"application/vnd.oci.image.manifest.v1+json"

struct registry_client;

struct registry_opts {
	int retries;       /* extra attempts after a transient failure (default 4) */
	int backoff_ms;    /* first back-off, doubled each time (default 200) */
	int stall_seconds; /* abort a transfer that moves no byte for this long (default 30) */
};

/* New client for repo (e.g. "library/nginx") at ep; ep and opts (optional)
 * are copied. registry_client_free(). Never fails. */
struct registry_client *registry_client_new(const struct registry_endpoint *ep, const char *repo,
					    const struct registry_opts *opts);
void registry_client_free(struct registry_client *c);

/* GET /v2/: 0 if the endpoint speaks the API (200, or 401 whose challenge
 * our credentials satisfy). */
int registry_client_ping(struct registry_client *c, struct mk_err **err);

struct registry_manifest {
	char *body;       /* owned: the exact bytes (digests are of bytes) */
	size_t len;
	char *media_type; /* owned: Content-Type, or the body's mediaType */
	char digest[OCIDIGEST_LEN]; /* sha256 of body */
};

/* GET /v2/<repo>/manifests/<reference> (tag or digest). When reference is
 * a digest, the body must hash to it; for a tag, to the
 * Docker-Content-Digest header if one came. Fills *out (clear with
 * registry_manifest_clear). */
int registry_manifest_get(struct registry_client *c, const char *reference,
			  struct registry_manifest *out, struct mk_err **err);
void registry_manifest_clear(struct registry_manifest *m);

/* GET /v2/<repo>/blobs/<digest> into fd (written from its current
 * position, which must be 0 of an empty file), checking size (if >= 0) and
 * digest. On failure the file content is unspecified. */
int registry_blob_get(struct registry_client *c, const char *digest, int64_t size, int fd,
		      struct mk_err **err);

/* As registry_blob_get, also sending every byte, in order, to the socket
 * tee_fd (send with MSG_NOSIGNAL) as it arrives, so that a consumer can work
 * on the blob while it downloads. *tee_ok tells whether tee_fd received the
 * exact blob: false when a resumed download had to start over or the
 * consumer closed its end. The caller closes tee_fd. */
int registry_blob_get_tee(struct registry_client *c, const char *digest, int64_t size, int fd,
			  int tee_fd, bool *tee_ok, struct mk_err **err);

/* Endpoint URL (borrowed from the client) for messages. */
const char *registry_client_url(const struct registry_client *c);

#endif
