/* kubeconfig files: which API server to talk to and with which credentials.
 *
 * Files are YAML or JSON (a JSON document is YAML). Several files (the
 * colon-separated $KUBECONFIG list) merge the way upstream clients merge them:
 * the first file that sets current-context wins, and for clusters, users and
 * contexts the first entry of a given name wins. Relative file paths inside a
 * file (certificate-authority, client-certificate, client-key, tokenFile) are
 * resolved against the directory of the file that holds them.
 *
 * Only the selected context is resolved: its cluster (server,
 * certificate-authority[-data], insecure-skip-tls-verify) and user (token,
 * tokenFile, client-certificate[-data], client-key[-data]). */
#ifndef MK_KUBECONFIG_H
#define MK_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* What upstream clients use when no kubeconfig exists at all. */
#define KUBECONFIG_DEFAULT_SERVER "http://localhost:8080"

struct kubeconfig;

/* Loads path, or with a NULL path: every existing file of $KUBECONFIG
 * (colon-separated, missing files skipped) if it is set, else ~/.kube/config
 * if it exists; with no file at all, an empty configuration whose server is
 * KUBECONFIG_DEFAULT_SERVER.
 * An explicit path that cannot be read is an error (MK_ENOTFOUND or MK_EIO);
 * malformed files, a current-context that names no context and unreadable
 * tokenFile give MK_EINVAL. New object, kubeconfig_free(). */
struct kubeconfig *kubeconfig_load(const char *path, struct mk_err **err);

/* Parses one kubeconfig document from memory; dir (may be NULL) resolves
 * relative paths. context, if non-NULL, overrides current-context.
 * New object, kubeconfig_free(). */
struct kubeconfig *kubeconfig_parse(const char *text, size_t len, const char *dir,
				    const char *context, struct mk_err **err);

/* Accessors; strings are borrowed from kc (valid until kubeconfig_free) and
 * NULL when unset. The server is never NULL ("http://localhost:8080" when the
 * selected cluster gives none). */
const char *kubeconfig_server(const struct kubeconfig *kc);
const char *kubeconfig_context(const struct kubeconfig *kc);
const char *kubeconfig_namespace(const struct kubeconfig *kc); /* "default" if unset */
const char *kubeconfig_token(const struct kubeconfig *kc);
bool kubeconfig_insecure(const struct kubeconfig *kc);
/* File paths (absolute when the file gave a relative path). */
const char *kubeconfig_ca_file(const struct kubeconfig *kc);
const char *kubeconfig_client_cert_file(const struct kubeconfig *kc);
const char *kubeconfig_client_key_file(const struct kubeconfig *kc);
/* Inline *-data fields, base64-decoded (PEM text); *len receives the size. */
const char *kubeconfig_ca_data(const struct kubeconfig *kc, size_t *len);
const char *kubeconfig_client_cert_data(const struct kubeconfig *kc, size_t *len);
const char *kubeconfig_client_key_data(const struct kubeconfig *kc, size_t *len);

/* Accepts NULL. */
void kubeconfig_free(struct kubeconfig *kc);

#endif
