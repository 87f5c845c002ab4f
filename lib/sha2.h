/* SHA-256 and SHA-512 (FIPS 180-4): the hashes behind upstream's chain names
 * (kube-proxy's KUBE-SVC-/KUBE-SEP-, the CNI bridge's CNI- chains). */
#ifndef MK_SHA2_H
#define MK_SHA2_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA512_DIGEST_LEN 64

void sha2_256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);
void sha2_512(const void *data, size_t len, uint8_t out[SHA512_DIGEST_LEN]);

/* Lower-case hex of the first n bytes of SHA-512(data) into hex (2n+1 bytes). */
void sha2_512_hex(const void *data, size_t len, size_t n, char *hex);

#endif
