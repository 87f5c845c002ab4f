/* The runtime side of CNI, as libcni does it: network configuration files,
 * plugin invocation with an explicit environment, results between spec
 * versions, and the result cache.
 *
 * - Configurations: the first file of a directory (sorted by name) ending in
 *   .conf, .conflist or .json; a single-plugin .conf becomes a one-plugin
 *   list. The list's cniVersion (or the highest of cniVersions we support)
 *   is the version every plugin is called with.
 * - Invocation: the plugin binary found in the CNI_PATH directories is
 *   spawned with an environment built for the call (never the caller's
 *   process environment, which threads share), its stdin written and its
 *   stdout read without SIGPIPE reaching the caller, a deadline, and the child
 *   always reaped. Each plugin of a list gets the plugin object with name
 *   and cniVersion injected, runtimeConfig for the capabilities it declares,
 *   and prevResult (ADD: the previous plugin's result; CHECK and DEL: the
 *   cached ADD result, DEL only from 0.4.0 on). ADD and CHECK run the list
 *   in order, DEL in reverse; ADD/CHECK/DEL stop at the first error.
 * - Cache: after an ADD, <cache_dir>/results/<network>-<containerID>-<ifname>
 *   in libcni's cniCacheV1 format (dir 0700, file 0600), read by CHECK and
 *   DEL and removed by DEL, so our runtime and libcni-based tools (cnitool,
 *   containerd) read each other's attachments.
 * - Errors: a plugin's error JSON becomes an mk_err whose message is
 *   "plugin type=\"bridge\" failed (add): <msg>[; <details>]" (libcni's wording)
 *   and whose cni_code (below) is the plugin's code.
 *
 * Threads: every function may be called from any thread at once. */
#ifndef MK_CNI_H
#define MK_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "err.h"

/* Spec error codes. */
enum {
	CNI_ERR_INCOMPATIBLE = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_LATER = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED = 51,
	CNI_ERR_INTERNAL = 999,
};

/* Versions we speak, oldest first; NULL-terminated. */
extern const char *const cni_versions[];
bool cni_version_supported(const char *v);
/* strcmp-like comparison of dotted versions ("0.4.0" < "1.0.0"). */
int cni_version_cmp(const char *a, const char *b);

/* ---- network configuration lists ---- */

struct cni_netconf {
	char *name;       /* network name */
	char *version;    /* cniVersion every plugin is called with */
	json_t *list;     /* the list as parsed (plugins[] ...) */
	char *bytes;      /* the file's bytes (for the cache's "config") */
	size_t len;
	char *file;       /* where it came from, NULL when parsed from memory */
	bool disable_check;
};

/* Parses a .conf or .conflist document (bytes copied). New, cni_netconf_free().
 * MK_EINVAL with the reason for what libcni refuses (no name, no plugins, a
 * plugin without type, a version we do not speak). */
struct cni_netconf *cni_netconf_parse(const char *bytes, size_t len, const char *file,
				      struct mk_err **err);

/* The first usable configuration of dir, as above. MK_ENOTFOUND with
 * "no networks found in <dir>" when there is none (files that do not parse
 * are skipped, as the kubelet does). */
struct cni_netconf *cni_netconf_load_dir(const char *dir, struct mk_err **err);

void cni_netconf_free(struct cni_netconf *nc);

/* ---- invoking a list ---- */

/* One attachment: what the runtime knows about the container. Strings are
 * borrowed for the call. */
struct cni_runtime {
	const char *container_id;
	const char *netns;   /* path; may be NULL or "" for DEL */
	const char *ifname;  /* "eth0" */
	/* CNI_ARGS pairs: args[2*i] = key, args[2*i+1] = value; NULL-terminated. */
	const char *const *args;
	/* Capability arguments by name ({"ipRanges": [[{"subnet": ...}]],
	 * "portMappings": [...]}); borrowed, may be NULL. */
	const json_t *capability_args;
};

struct cni_exec_opts {
	const char *const *bin_dirs; /* CNI_PATH directories, NULL-terminated */
	const char *cache_dir;       /* NULL: "/var/lib/cni" */
	int64_t timeout_ms;          /* per plugin; 0: 4 minutes */
};

/* ADD of every plugin of nc in order; *result gets the final result in the
 * list's version (new reference), cached afterwards. On failure no cache
 * entry is written; the caller still calls cni_list_del, as the spec asks. */
int cni_list_add(const struct cni_netconf *nc, const struct cni_runtime *rt,
		 const struct cni_exec_opts *o, json_t **result, struct mk_err **err);

/* CHECK (a no-op returning 0 when the list disables it or is older than 0.4.0). */
int cni_list_check(const struct cni_netconf *nc, const struct cni_runtime *rt,
		   const struct cni_exec_opts *o, struct mk_err **err);

/* DEL of every plugin in reverse order with the cached result as
 * prevResult; the cache entry is removed afterwards (also when unreadable).
 * Idempotent as the plugins are. */
int cni_list_del(const struct cni_netconf *nc, const struct cni_runtime *rt,
		 const struct cni_exec_opts *o, struct mk_err **err);

/* STATUS of every plugin (1.1.0 lists; 0 for older ones). */
int cni_list_status(const struct cni_netconf *nc, const struct cni_exec_opts *o,
		    struct mk_err **err);

/* The plugin's CNI error code of an error from the functions above (0 when
 * the error did not come from a plugin). */
int cni_err_code(const struct mk_err *e);

/* ---- the cache ---- */

/* The cached ADD result of an attachment (new reference), or NULL with
 * MK_ENOTFOUND. */
json_t *cni_cache_get(const char *cache_dir, const char *network, const char *container_id,
		      const char *ifname, struct mk_err **err);

/* ---- invoking one plugin ---- */

/* Runs one plugin binary: finds type in bin_dirs, passes env (NULL-terminated
 * "K=V" strings, the whole environment of the child) and stdin bytes, and
 * returns its stdout parsed (new reference; JSON null for empty output).
 * A non-zero exit with a CNI error JSON on stdout becomes an error as
 * described at the top; a non-zero exit without one, a timeout, or output
 * that is not JSON are MK_EIO with the plugin's stderr text. */
json_t *cni_exec_plugin(const char *type, const char *const *bin_dirs, const char *const *env,
			const char *stdin_data, size_t stdin_len, int64_t timeout_ms,
			struct mk_err **err);

/* ---- results between versions ---- */

/* Reads a result of any version (0.1/0.2 ip4/ip6, 0.3/0.4 with
 * ips[].version, 1.x) into the 1.x shape {cniVersion, interfaces[], ips[],
 * routes[], dns{}}. New reference, or NULL with MK_EINVAL. */
json_t *cni_result_normalize(const json_t *res, struct mk_err **err);

/* Writes a 1.x-shaped result in version's shape with the reference's key
 * order (empty lists omitted, "dns" always present). New reference, or NULL
 * with MK_EINVAL ("CNI version 0.2.0 does not support more than 1 address
 * per family"). */
json_t *cni_result_convert(const json_t *res, const char *version, struct mk_err **err);

/* The first address of a result of any version that sits on an interface
 * inside the sandbox (family AF_INET or AF_INET6, 0: any), as "10.244.0.5"
 * (no prefix). New string, or NULL when there is none. */
char *cni_result_pod_ip(const json_t *res, int family);

#endif
