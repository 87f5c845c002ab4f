/* Chain and set names derived from hashes, as upstream kube-proxy names them:
 * SHA-256 of the input string, RFC 4648 base32 (A-Z2-7), truncated. */
#ifndef PROXY_HASH_H
#define PROXY_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Writes the first n (<= 52) characters of BASE32(SHA256(s)) and a NUL into out
 * (n + 1 bytes). */
void hash_base32_prefix(const char *s, size_t n, char *out);

/* "KUBE-SVC-" + 16 hash chars of svcport_name + proto: new string, free(). */
char *hash_ipt_chain(const char *prefix, const char *svcport_name, const char *proto);

/* "KUBE-SEP-" + 16 hash chars of svcport_name + proto + endpoint: new string. */
char *hash_ipt_sep_chain(const char *svcport_name, const char *proto, const char *endpoint);

/* nftables base name: hash8(s) + "-" + s, cut to 237 chars + "..." when longer
 * than 240. New string, free(). */
char *hash_nft_base(const char *s);

#endif
