/* Standard base64 (RFC 4648 section 4, with padding), as Kubernetes carries
 * Secret data, kubeconfig certificates, protobuf bytes and WebSocket keys. */
#ifndef MK_BASE64_H
#define MK_BASE64_H

#include <stddef.h>

/* The encoding of len bytes of data: new NUL-terminated string. */
char *base64_encode(const void *data, size_t len);

/* Decodes text (white space skipped, padding required, as Go's
 * StdEncoding after it drops "\r\n"): a new buffer of *len bytes (len may
 * be NULL) followed by a NUL, or NULL when text is not valid base64. */
char *base64_decode(const char *text, size_t *len);

#endif
