/* SHA-512 (FIPS 180-4), for the reference's chain names. */
#ifndef CNI_SHA512_H
#define CNI_SHA512_H

#include <stddef.h>
#include <stdint.h>

void cni_sha512(const void *data, size_t len, uint8_t out[64]);
/* Lower-case hex of the first n bytes of sha512(data) into hex (2n+1 bytes). */
void cni_sha512_hex(const void *data, size_t len, size_t n, char *hex);

#endif
