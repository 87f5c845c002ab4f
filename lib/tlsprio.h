/* Upstream's TLS flags (--tls-min-version, --tls-cipher-suites: Go's names)
 * turned into a GnuTLS priority string for lib/httpd.
 *
 * GnuTLS cannot name single TLS 1.2 cipher suites: a priority string lists key
 * exchanges, ciphers and MACs, and every combination of them is offered. The
 * string built here enables exactly the parts the named suites use, so the
 * suites offered are those named plus any combination of their parts. TLS 1.3
 * suites are always enabled (Go does not let them be configured either). */
#ifndef MK_TLSPRIO_H
#define MK_TLSPRIO_H

#include "err.h"

/* min_version: "VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"
 * or NULL/"" (TLS 1.2, upstream's default for its servers); suites: Go
 * cipher suite names, comma-separated, or NULL/"" (GnuTLS's NORMAL set).
 * MK_EINVAL with upstream's wording for an unknown version ("unknown tls
 * version \"x\"") or suite ("Cipher suite x not supported or doesn't exist"),
 * and for a list that leaves no suite at min_version. New string, free(). */
char *tlsprio_build(const char *min_version, const char *suites, struct mk_err **err);

#endif
