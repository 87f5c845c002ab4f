/* The node's image store, shared by the kubelet and nodectl.
 *
 * Lives at <root-dir>/images/ (root-dir = the kubelet's --root-dir):
 *   blobs/sha256/<hex>   manifests, indexes, configs and compressed layers,
 *                        each checked against its digest before it is renamed
 *                        into place
 *   layers/<hex>/        each layer unpacked once, keyed by its diff_id, whiteouts
 *                        in overlayfs form; unpacked into "<hex>.tmp-<pid>-..."
 *                        and renamed, so a crash never leaves a layer that looks
 *                        complete
 *   images.json          image records (by id = config digest: tags, digests,
 *                        layers, size, times) and holds; rewritten by tmp+rename
 *   meta.lock, gc.lock, locks/<hex>   flock(2) locks: the kubelet and several
 *                        nodectl processes may use one store at once
 *   ingest/, tmp/        downloads and imports in progress
 *
 * Two pulls of one image at once, in one process or several, fetch each
 * layer once (the second waits on the layer's lock and finds it done).
 * Removal (rmi, prune, gc) waits for pulls in progress and never removes a
 * held image; a layer or blob goes when no remaining image uses it.
 *
 * All functions are safe to call from several threads on one store. */
#ifndef MK_IMAGESTORE_H
#define MK_IMAGESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"
#include "registries.h"
#include "registry.h"

struct imagestore;

/* What the store knows of one image. Every member is owned by the struct;
 * imagestore_image_free() frees all of it. */
struct imagestore_image {
	char *id;              /* "sha256:<config digest hex>" */
	char *manifest_digest; /* "sha256:..." of the platform manifest */
	char **repo_tags;      /* "docker.io/library/nginx:latest" ... */
	size_t n_tags;
	char **repo_digests; /* "docker.io/library/nginx@sha256:<manifest or index>" */
	size_t n_digests;
	char **layers; /* absolute unpacked layer directories, TOP layer first:
			* the order of overlayfs' lowerdir= */
	size_t n_layers;
	json_t *config;    /* the image config JSON; a new reference owned here
			    * (json_incref it to keep it beyond the struct) */
	uint64_t size;     /* bytes of manifest + config + compressed layers, as crictl shows */
	int64_t pulled_at; /* unix seconds the image was first stored */
	int64_t last_used; /* unix seconds of its last pull, hold or release */
	size_t n_holders;  /* containers (holders) using it now */
};

void imagestore_image_free(struct imagestore_image *img);
void imagestore_images_free(struct imagestore_image **imgs, size_t n);

/* Opens (creating what is missing) the store under root_dir/images and
 * removes leftovers of pulls whose process died. New handle,
 * imagestore_close(). */
struct imagestore *imagestore_open(const char *root_dir, struct mk_err **err);
void imagestore_close(struct imagestore *s);

/* The store's directory (root_dir/images), borrowed. */
const char *imagestore_path(const struct imagestore *s);

/* The image a reference names: "nginx", "docker.io/library/nginx:latest",
 * "repo@sha256:<manifest digest>", an image id "sha256:<hex>" or a unique
 * prefix of 12+ hex digits of one. *out new, imagestore_image_free().
 * MK_ENOTFOUND if the store does not have it complete (a layer directory
 * missing counts as not present); MK_EINVAL for a malformed reference. */
int imagestore_lookup(struct imagestore *s, const char *ref, struct imagestore_image **out,
		      struct mk_err **err);

struct imagestore_pull_opts {
	const struct registries *registries; /* registries.yaml, or NULL */
	const char *pull_auths; /* a .dockerconfigjson (imagePullSecrets), or NULL */
	const struct registry_opts *registry; /* retries, back-off; NULL for defaults */
	int parallel; /* layers fetched at once (default 3) */
};

/* Pulls ref from its registry (through its mirrors first), stores and
 * unpacks it, records ref's tag (moved from any other image) and digest.
 * Layers already present are neither fetched nor unpacked again. *out
 * (optional) receives the image as imagestore_lookup gives it.
 * Errors: MK_ENOTFOUND (no such repository/tag/digest at any endpoint),
 * MK_EUNAUTHORIZED (credentials missing or refused), MK_EINVAL (bad
 * reference; digest or size mismatch, naming the blob), MK_EUNSUPPORTED
 * (schema 1, zstd, no linux/amd64 in an index), MK_EUNAVAILABLE / MK_EIO
 * otherwise. When several endpoints fail, a not-found or unauthorized
 * answer wins over an unreachable endpoint. Nothing half-done is recorded. */
int imagestore_pull(struct imagestore *s, const char *ref, const struct imagestore_pull_opts *o,
		    struct imagestore_image **out, struct mk_err **err);

/* Imports every image of an OCI image layout (a directory, or a tar of
 * one) whose index entry carries an org.opencontainers.image.ref.name
 * annotation holding a full reference (or io.containerd.image.name).
 * *refs (optional) receives the new NULL-terminated list of the
 * normalised references imported (free each and the array). */
int imagestore_import(struct imagestore *s, const char *path, char ***refs, struct mk_err **err);

/* Adds tag dst (a reference; "latest" added when it has no tag) to the
 * image src names, moving it from any other image. */
int imagestore_tag(struct imagestore *s, const char *src, const char *dst, struct mk_err **err);

/* Removes the image ref names, all its tags and digests, then the blobs
 * and layers no other image uses. MK_ECONFLICT "image is in use by
 * <holder>" when held; MK_ENOTFOUND when absent. */
int imagestore_remove(struct imagestore *s, const char *ref, struct mk_err **err);

/* Marks image id as used by holder (a container id); one holder holds one
 * image (holding again moves it). Persisted: survives restarts.
 * MK_ENOTFOUND if the image is absent. */
int imagestore_hold(struct imagestore *s, const char *image_id, const char *holder,
		    struct mk_err **err);

/* Drops holder's hold; unknown holders are not an error. */
int imagestore_release(struct imagestore *s, const char *holder, struct mk_err **err);

/* Every image, sorted by first tag (untagged last, by id). *out new
 * array of *n, imagestore_images_free(). */
int imagestore_list(struct imagestore *s, struct imagestore_image ***out, size_t *n,
		    struct mk_err **err);

struct imagestore_gc_result {
	uint64_t capacity;  /* bytes of the store's filesystem */
	uint64_t available; /* bytes available before collecting */
	uint64_t to_free;   /* bytes the thresholds asked for (0: under the high mark) */
	uint64_t freed;     /* sizes of the images removed */
	size_t removed;     /* how many */
};

/* Image garbage collection as upstream's kubelet does it: when the store's
 * filesystem is at or above high_pct used, removes unheld images, least
 * recently used first, skipping those stored less than min_age_s ago,
 * until the use would be low_pct (or nothing is left to remove).
 * MK_EUNAVAILABLE "Failed to garbage collect required amount of images.
 * Attempted to free N bytes, but only found M bytes eligible to free." when
 * it could not free enough; res is filled in either case. */
int imagestore_gc(struct imagestore *s, int high_pct, int low_pct, int64_t min_age_s,
		  struct imagestore_gc_result *res, struct mk_err **err);

/* Removes every unheld image (crictl rmi --prune). *removed counts them. */
int imagestore_prune(struct imagestore *s, size_t *removed, struct mk_err **err);

#endif
