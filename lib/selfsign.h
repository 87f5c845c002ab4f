/* Self-signed serving certificates, for daemons started without
 * --tls-cert-file, as upstream's secure serving makes one at start. */
#ifndef MK_SELFSIGN_H
#define MK_SELFSIGN_H

#include "err.h"

/* A new RSA 2048 key and a self-signed certificate for host (a DNS name,
 * "localhost"), valid from an hour ago for a year, with CommonName
 * "<host>@<unix time>" (upstream's) and the names host, "localhost" and
 * 127.0.0.1 in its subjectAltName; usages: digital signature, key
 * encipherment, server auth. *cert_pem and *key_pem (PKCS#8) are new
 * strings (free()); -1 with *err (MK_EIO) when OpenSSL fails, nothing set. */
int selfsign_cert_new(const char *host, char **cert_pem, char **key_pem, struct mk_err **err);

#endif
