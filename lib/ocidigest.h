/* SHA-256 content digests in the OCI form "sha256:<64 lower-case hex>",
 * through OpenSSL's EVP interface, streamed or in one call. */
#ifndef MK_OCIDIGEST_H
#define MK_OCIDIGEST_H

#include <stddef.h>

#include "err.h"

/* "sha256:" + 64 hex + NUL */
#define OCIDIGEST_LEN 72
/* The read size of the file digests here and of blob copies. */
#define OCIDIGEST_CHUNK (1 << 16)

struct ocidigest; /* opaque streaming state */

/* New state, ocidigest_free(). Aborts if libcrypto cannot allocate. */
struct ocidigest *ocidigest_new(void);
void ocidigest_update(struct ocidigest *d, const void *data, size_t len);
/* Writes "sha256:<hex>" of everything fed so far into out and starts over. */
void ocidigest_final(struct ocidigest *d, char out[OCIDIGEST_LEN]);
/* A copy of the state (to finish a digest while going on). New, ocidigest_free(). */
struct ocidigest *ocidigest_dup(const struct ocidigest *d);
/* Frees; accepts NULL. */
void ocidigest_free(struct ocidigest *d);

/* Digest of len bytes at data. */
void ocidigest_of(const void *data, size_t len, char out[OCIDIGEST_LEN]);

/* Digest of a file's whole content and its size (NULL size to ignore).
 * -1 with MK_EIO if it cannot be read. */
int ocidigest_file(const char *path, char out[OCIDIGEST_LEN], long long *size,
		   struct mk_err **err);

#endif
