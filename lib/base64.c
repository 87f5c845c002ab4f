/* glibc's resolver library (b64_ntop, b64_pton) does the work: every binary
 * links it already, while OpenSSL's encoder would cost each CNI plugin
 * libcrypto's start-up. */
#include "base64.h"

#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

char *base64_encode(const void *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3) + 1;
	char *out = xmalloc(n);
	if (b64_ntop(data, len, out, n) < 0)
		out[0] = '\0'; /* cannot happen: n is what the encoding takes */
	return out;
}

char *base64_decode(const char *text, size_t *len)
{
	size_t cap = strlen(text) / 4 * 3 + 3;
	unsigned char *out = xmalloc(cap + 1);
	int n = b64_pton(text, out, cap);
	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	if (len)
		*len = (size_t)n;
	return (char *)out;
}
