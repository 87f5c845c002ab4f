/* Base32 naming over SHA-256. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sha2.h"
#include "xalloc.h"

void hash_base32_prefix(const char *s, size_t n, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint8_t d[SHA256_DIGEST_LEN];
	sha2_256(s, strlen(s), d);
	if (n > 52)
		n = 52;
	/* 5 bits per character, most significant first */
	for (size_t i = 0; i < n; i++) {
		size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)d[byte] << 8;
		if (byte + 1 < SHA256_DIGEST_LEN)
			v |= d[byte + 1];
		out[i] = alphabet[(v >> (11 - shift)) & 0x1f];
	}
	out[n] = '\0';
}

char *hash_ipt_chain(const char *prefix, const char *svcport_name, const char *proto)
{
	char h[17];
	char *in = xasprintf("%s%s", svcport_name, proto);
	hash_base32_prefix(in, 16, h);
	free(in);
	return xasprintf("%s%s", prefix, h);
}

char *hash_ipt_sep_chain(const char *svcport_name, const char *proto, const char *endpoint)
{
	char h[17];
	char *in = xasprintf("%s%s%s", svcport_name, proto, endpoint);
	hash_base32_prefix(in, 16, h);
	free(in);
	return xasprintf("KUBE-SEP-%s", h);
}

char *hash_nft_base(const char *s)
{
	char h[9];
	hash_base32_prefix(s, 8, h);
	char *base = xasprintf("%s-%s", h, s);
	if (strlen(base) > 240) {
		base[237] = '\0';
		char *cut = xasprintf("%s...", base);
		free(base);
		return cut;
	}
	return base;
}
