/* Registry configuration in k3s's registries.yaml format, and pull
 * credentials from kubernetes.io/dockerconfigjson secrets.
 *
 *   mirrors:
 *     docker.io:                       # or "*" for every registry without its own entry
 *       endpoint: ["http://127.0.0.1:5000", "https://mirror.example"]
 *       rewrite:                       # repository names as the mirrors know them
 *         "^rancher/(.*)": "mirrored/rancher/$1"
 *   configs:
 *     "127.0.0.1:5000":                # host[:port] of an endpoint (or "*")
 *       auth: {username: u, password: p}        # or auth: base64(u:p), identitytoken
 *       tls: {ca_file: ..., cert_file: ..., key_file: ..., insecure_skip_verify: false}
 *
 * As in k3s/containerd, the endpoints of a registry are its mirrors in order,
 * then the registry itself (docker.io is registry-1.docker.io); an endpoint
 * without a scheme is https; the registry itself is plain http when it is a
 * loopback host (localhost, 127.0.0.0/8, ::1), https otherwise. */
#ifndef MK_REGISTRIES_H
#define MK_REGISTRIES_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct registries;

/* One place to ask for an image, with what to present there. All strings
 * owned by the endpoint; NULL when not set. */
struct registry_endpoint {
	char *url;      /* scheme://host[:port][/prefix], no trailing "/" and no "/v2" */
	char *host;     /* host[:port] of url: the key of configs and log lines */
	char *username; /* basic credentials (from configs or pull secrets) */
	char *password;
	char *identity_token; /* refresh token for the bearer flow */
	char *ca_file;
	char *cert_file;
	char *key_file;
	bool insecure_skip_verify;
	bool is_mirror; /* false for the registry itself */
};

/* Reads path; a missing file is an empty configuration (no mirrors, no
 * configs), as in k3s. NULL with MK_EINVAL naming the file and the problem
 * for malformed YAML or wrong types. New object, registries_free(). */
struct registries *registries_load(const char *path, struct mk_err **err);

/* As registries_load, from text (len bytes). */
struct registries *registries_parse(const char *text, size_t len, struct mk_err **err);

/* Frees; accepts NULL. */
void registries_free(struct registries *r);

/* The endpoints to try for an image of registry `domain` (imageref's
 * domain, "docker.io"), in order. pull_auths is the content of a
 * .dockerconfigjson ({"auths":{host:{auth|username,password}}}) or of a
 * legacy .dockercfg, or NULL; its credentials for `domain` apply to the
 * endpoints that have none of their own. r may be NULL (no configuration).
 * *out is a new array of *n endpoints, registries_endpoints_free().
 * -1 with MK_EINVAL for malformed pull_auths or endpoint URLs. */
int registries_endpoints(const struct registries *r, const char *domain, const char *pull_auths,
			 struct registry_endpoint **out, size_t *n, struct mk_err **err);

void registries_endpoints_free(struct registry_endpoint *eps, size_t n);

/* The repository path to ask ep for an image of domain/path: for a mirror,
 * path after the first of its registry's rewrite rules (POSIX extended
 * regular expressions, in file order) that matches, with $N / ${N} replaced
 * by the Nth group; otherwise path itself. New string, free(). */
char *registries_rewrite(const struct registries *r, const struct registry_endpoint *ep,
			 const char *domain, const char *path);

/* Whether host (no port, or [v6]:port) names the local machine. */
bool registries_host_is_loopback(const char *host);

#endif
