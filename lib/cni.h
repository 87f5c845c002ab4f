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
 *   "plugin type=\"bridge\" failed (add): <msg>[; <details>]" (libcni's wording;
 *   "(delete)" for DEL, "(check)", "(status)") and whose cni_err_code (below)
 *   is the plugin's code.
 *
 * Threads: every function may be called from any thread at once (jansson
 * 2.13 or newer: its reference counts are atomic and copies and dumps do not
 * mark the values they read). Children are reaped by pid: the caller must not
 * reap children it did not spawn (waitpid(-1, ...)) nor set SIGCHLD to
 * SIG_IGN. */
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

/* The spec's rule for container IDs and network names:
 * ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
bool cni_name_valid(const char *s);

/* The spec's rules for an interface name: NULL when name is valid, else the
 * reason ("interface name is too long"), with *details set to the spec's
 * details or NULL. Both static strings. */
const char *cni_ifname_check(const char *name, const char **details);

/* ---- network configuration lists ---- */

struct cni_netconf {
	char *name;    /* network name */
	char *version; /* cniVersion every plugin is called with */
	json_t *list;  /* the list (plugins[] ...); a .conf as its one-plugin list */
	char *bytes;   /* the list's bytes (for the cache's "config"): the file's,
			* or for a .conf the one-plugin list libcni makes of it */
	size_t len;
	char *file; /* where it came from, NULL when parsed from memory */
	bool disable_check;
};

/* Parses a .conf (an object with "type") or .conflist (an object with
 * "plugins") document (bytes copied). New, cni_netconf_free(). MK_EINVAL
 * with the reason for what libcni refuses (no name, no plugins, a plugin
 * without type, a version we do not speak). */
struct cni_netconf *cni_netconf_parse(const char *bytes, size_t len, const char *file,
				      struct mk_err **err);

/* The first usable configuration of dir, as above. A list that does not set
 * loadOnlyInlinedPlugins also gets the plugins of <dir>/<name>/ *.conf
 * (sorted), as libcni loads them. MK_ENOTFOUND with "no networks found in
 * <dir>" when there is none (files that do not parse are skipped, as the
 * kubelet does). */
struct cni_netconf *cni_netconf_load_dir(const char *dir, struct mk_err **err);

void cni_netconf_free(struct cni_netconf *nc);

/* The configuration plugin i of nc receives (libcni's buildOneConfig): the
 * plugin object with name and cniVersion set from the list, "runtimeConfig"
 * holding each capability the plugin declares true that capability_args
 * (may be NULL) has (absent when none), and "prevResult" when prev_result
 * is not NULL. New reference; NULL when i is out of range. */
json_t *cni_netconf_plugin_build(const struct cni_netconf *nc, size_t i,
				 const json_t *capability_args, const json_t *prev_result);

/* ---- invoking a list ---- */

/* One attachment: what the runtime knows about the container. Strings are
 * borrowed for the call. */
struct cni_runtime {
	const char *container_id;
	const char *netns;  /* path; may be NULL or "" for DEL */
	const char *ifname; /* "eth0" */
	/* CNI_ARGS pairs: args[2*i] = key, args[2*i+1] = value; NULL-terminated. */
	const char *const *args;
	/* Capability arguments by name ({"ipRanges": [[{"subnet": ...}]],
	 * "portMappings": [...]}); borrowed, may be NULL. */
	const json_t *capability_args;
};

struct cni_exec_opts {
	const char *const *bin_dirs; /* CNI_PATH directories, NULL-terminated */
	const char *cache_dir;	     /* NULL: "/var/lib/cni" */
	int64_t timeout_ms;	     /* per plugin; 0: 4 minutes */
	/* The environment every plugin starts from ("K=V", NULL-terminated),
	 * the CNI_* variables of the call replacing any of the same name.
	 * NULL: only PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	 * (plugins that run iptables need a PATH). */
	const char *const *base_env;
};

/* ADD of every plugin of nc in order; *result gets the final result in the
 * list's version (new reference), cached afterwards. On failure no cache
 * entry is written; the caller still calls cni_list_del, as the spec asks.
 * A container ID, interface name or network name the spec forbids fails
 * before any plugin runs, with the spec's code (3, 4, 7). */
int cni_list_add(const struct cni_netconf *nc, const struct cni_runtime *rt,
		 const struct cni_exec_opts *o, json_t **result, struct mk_err **err);

/* CHECK (a no-op returning 0 when the list disables it or is older than 0.4.0). */
int cni_list_check(const struct cni_netconf *nc, const struct cni_runtime *rt,
		   const struct cni_exec_opts *o, struct mk_err **err);

/* DEL of every plugin in reverse order with the cached result as
 * prevResult; the cache entry is removed afterwards (also when unreadable).
 * rt should carry the ADD's capability arguments again (portmap removes
 * its rules by them; they are in the cache entry too). Idempotent as the
 * plugins are. */
int cni_list_del(const struct cni_netconf *nc, const struct cni_runtime *rt,
		 const struct cni_exec_opts *o, struct mk_err **err);

/* STATUS of every plugin (1.1.0 lists; 0 for older ones). */
int cni_list_status(const struct cni_netconf *nc, const struct cni_exec_opts *o,
		    struct mk_err **err);

/* The plugin's CNI error code of an error from the functions of this module
 * (0 when the error did not come from a plugin or the spec's checks). */
int cni_err_code(const struct mk_err *e);

/* ---- the cache ---- */

/* Writes the cniCacheV1 entry of an ADD of nc for rt (atomically: a
 * reader sees the old entry or the new one). */
int cni_cache_put(const char *cache_dir, const struct cni_netconf *nc, const struct cni_runtime *rt,
		  const json_t *result, struct mk_err **err);

/* The cached ADD result of an attachment (new reference), or NULL with
 * MK_ENOTFOUND (no entry) or MK_EINVAL (an entry that does not parse). A file
 * without "kind" is an old entry holding just the result. */
json_t *cni_cache_get(const char *cache_dir, const char *network, const char *container_id,
		      const char *ifname, struct mk_err **err);

/* ---- invoking one plugin ---- */

struct cni_exec_req {
	const char *type;	     /* binary name, found in bin_dirs */
	const char *const *bin_dirs; /* NULL-terminated */
	const char *const *env;	     /* the child's whole environment, "K=V", NULL-terminated */
	const char *stdin_data;	     /* borrowed until the run ends */
	size_t stdin_len;
	int64_t timeout_ms; /* 0: 4 minutes */
	/* Read stdout as the plugin's result (ADD, VERSION): it must be JSON.
	 * Otherwise the output of a successful run is ignored, as libcni does. */
	bool want_result;
	/* A plugin delegating to another (its IPAM): the child shares our stderr
	 * (the spec asks delegates' stderr to be forwarded) and our process
	 * group (so a runtime that kills the plugin's group on a timeout reaches
	 * the delegate too). Otherwise stderr is captured for error messages and
	 * the child leads a new process group, killed whole on a timeout. */
	bool delegate;
};

/* A failed run as a plugin reports it, for a plugin that passes its
 * delegate's error on unchanged. */
struct cni_plugin_err {
	int code;      /* the plugin's code; 0 when it printed no error JSON */
	char *msg;     /* new string */
	char *details; /* new string, NULL when none */
};

/* Frees the strings of pe (not pe) and zeroes it; accepts a zeroed pe. */
void cni_plugin_err_clear(struct cni_plugin_err *pe);

/* What a plugin that exited with status (waitpid's; non-zero) and printed
 * out/errtext reported, by libcni's rules: its error JSON from stdout;
 * without stdout "netplugin failed: \"<stderr>\": exit status N" or
 * "netplugin failed with no error message: exit status N"; stdout that is
 * not JSON "netplugin failed but error parsing its diagnostic message
 * \"<stdout>\": <why>". Fills *pe (clear it after). */
void cni_plugin_err_parse(const char *out, size_t out_len, const char *errtext, int status,
			  struct cni_plugin_err *pe);

/* One plugin run started: spawned, and its stdin written as far as the pipe
 * takes it, so the caller can work while it runs. Opaque. */
struct cni_exec_job;

/* Spawns req's plugin. New job that cni_exec_finish() must end, or NULL
 * (plugin not found: "failed to find plugin \"x\" in path [/a /b]";
 * spawning failed). perr (may be NULL) gets the failure as a plugin would
 * report it. */
struct cni_exec_job *cni_exec_start(const struct cni_exec_req *req, struct cni_plugin_err *perr,
				    struct mk_err **err);

/* Writes the rest of stdin, reads stdout and stderr until both end, waits
 * for the exit (all before the deadline; past it the plugin, or with
 * !delegate its whole process group, is killed) and reaps the child; frees
 * job. Returns the parsed stdout with want_result (new reference), else a
 * new JSON null. A non-zero exit becomes an error as described at the top
 * (MK_EIO, cni_err_code = the plugin's code, 0 without an error JSON) and
 * fills perr (may be NULL); a timeout is MK_ETIMEOUT; output that is not
 * JSON where a result is wanted is MK_EIO. Messages carry the plugin's
 * stderr text when it was captured. */
json_t *cni_exec_finish(struct cni_exec_job *job, struct cni_plugin_err *perr, struct mk_err **err);

/* cni_exec_start + cni_exec_finish. */
json_t *cni_exec_plugin(const struct cni_exec_req *req, struct cni_plugin_err *perr,
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
 * (no prefix). An address without an interface index counts when the result
 * names no sandbox interface (0.2.0 results, IPAM results). New string, or
 * NULL when there is none. */
char *cni_result_pod_ip(const json_t *res, int family);

#endif
