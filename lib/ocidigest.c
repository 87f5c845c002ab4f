#include "ocidigest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "xalloc.h"

struct ocidigest {
	EVP_MD_CTX *ctx;
};

struct ocidigest *ocidigest_new(void)
{
	struct ocidigest *d = malloc(sizeof(*d));
	if (!d)
		abort();
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
		abort();
	return d;
}

void ocidigest_update(struct ocidigest *d, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(d->ctx, data, len) != 1)
		abort();
}

void ocidigest_final(struct ocidigest *d, char out[OCIDIGEST_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n != 32 ||
	    EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
		abort();
	char *p = out;
	for (const char *s = "sha256:"; *s; s++)
		*p++ = *s;
	for (unsigned int i = 0; i < n; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

struct ocidigest *ocidigest_dup(const struct ocidigest *d)
{
	struct ocidigest *c = malloc(sizeof(*c));
	if (!c)
		abort();
	c->ctx = EVP_MD_CTX_new();
	if (!c->ctx || EVP_MD_CTX_copy_ex(c->ctx, d->ctx) != 1)
		abort();
	return c;
}

void ocidigest_free(struct ocidigest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void ocidigest_of(const void *data, size_t len, char out[OCIDIGEST_LEN])
{
	struct ocidigest *d = ocidigest_new();
	ocidigest_update(d, data, len);
	ocidigest_final(d, out);
	ocidigest_free(d);
}

int ocidigest_file(const char *path, char out[OCIDIGEST_LEN], long long *size,
		   struct mk_err **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mk_err_errno(err, MK_EIO, errno, "opening %s", path);
	/* On the heap: a static __thread buffer would be zeroed into the
	 * static TLS block of every thread of every daemon, whether it ever
	 * reads a file or not. */
	cleanup_free char *chunk = xmalloc(OCIDIGEST_CHUNK);
	struct ocidigest *d = ocidigest_new();
	long long total = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, OCIDIGEST_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ocidigest_free(d);
			return mk_err_errno(err, MK_EIO, errno, "reading %s", path);
		}
		if (n == 0)
			break;
		ocidigest_update(d, chunk, (size_t)n);
		total += n;
	}
	ocidigest_final(d, out);
	ocidigest_free(d);
	if (size)
		*size = total;
	return 0;
}
