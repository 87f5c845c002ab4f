/* OCI/Docker image layers: unpacking a layer blob (gzip or plain tar) into a
 * directory overlayfs can stack, with libarchive writing the entries.
 *
 * Whiteouts become overlayfs whiteouts while unpacking: "dir/.wh.NAME" ->
 * a 0/0 character device "dir/NAME"; "dir/.wh..wh..opq" -> the xattr
 * trusted.overlay.opaque="y" on "dir". Entries are written as root would
 * (numeric owners, modes, times, xattrs); "..", absolute names and writes
 * through symlinks are refused; an entry named "/" or "./" is the layer's
 * root and is skipped. */
#ifndef MK_LAYER_H
#define MK_LAYER_H

#include <stdint.h>

#include "err.h"
#include "ocidigest.h"

struct layer_result {
	char diff_id[OCIDIGEST_LEN]; /* sha256 of the uncompressed tar */
	uint64_t size;               /* sum of the regular files' sizes */
	uint64_t tar_size;           /* bytes of the uncompressed tar */
};

/* Reads the blob from fd to its end and unpacks it into dest, which must not
 * exist (created 0755; parents must exist). media_type picks the
 * decompression (…tar+gzip / …tar.gzip -> gzip, …tar / …rootfs.diff.tar ->
 * none; NULL sniffs the gzip magic); zstd is refused with MK_EUNSUPPORTED.
 * want_diff_id, if not NULL, must equal the uncompressed digest, else
 * MK_EINVAL "layer diff_id mismatch: want X, got Y". On any failure dest is
 * removed again; on success res (optional) gets the digest and sizes. */
int layer_unpack(int fd, const char *media_type, const char *dest, const char *want_diff_id,
		 struct layer_result *res, struct mk_err **err);

/* Removes path and everything under it, not following symlinks; a missing
 * path is not an error. */
int layer_remove_tree(const char *path, struct mk_err **err);

/* Bytes used by the regular files under path (st_blocks * 512), 0 if missing. */
uint64_t layer_tree_usage(const char *path);

#endif
