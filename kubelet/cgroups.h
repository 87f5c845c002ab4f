/* Pod cgroups with the cgroupfs layout upstream's kubelet uses, and the usage
 * counters `kubectl top` needs.
 *
 * Layout: every pod lives in <root>/kubepods/<qos>/pod<uid> where a
 * Guaranteed pod sits directly under kubepods and the others under
 * `burstable` or `besteffort`; a container's cgroupsPath is
 * <pod path>/<container id>. A path is made in every v1 hierarchy mounted
 * (cpu, cpuacct, cpuset, memory, pids, name=systemd...) and in the unified
 * (v2) one, so that hybrid hosts (v1 controllers + a cgroup2 mount at
 * /sys/fs/cgroup/unified) and pure v1 or v2 hosts all work.
 *
 * Kernel traps handled here: a new v1 cpuset directory starts with empty
 * cpuset.cpus/cpuset.mems and refuses tasks until they are filled, so each
 * directory made gets its parent's values; on v2 the controllers must be
 * enabled in every parent's cgroup.subtree_control before a child can use
 * them; rmdir answers EBUSY for a short while after the last task left.
 *
 * The pure parts (mountinfo parsing, QoS class, pod limits, share/quota
 * conversions, /proc/<pid>/cgroup parsing) take no file system access. The
 * others touch only the cgroup mounts found. All functions are thread-safe
 * (no shared state besides the const struct cgroups). */
#ifndef MK_KUBELET_CGROUPS_H
#define MK_KUBELET_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "err.h"

enum cgroups_mode {
	CGROUPS_V1 = 1, /* only v1 hierarchies */
	CGROUPS_HYBRID, /* v1 hierarchies and a cgroup2 mount beside them */
	CGROUPS_V2,	/* cgroup2 mounted at the root, no v1 hierarchy */
};

struct cgroups_hierarchy {
	char *controllers; /* "cpu", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
	char *mount;	   /* where it is mounted: "/sys/fs/cgroup/cpu" */
	bool v2;
};

struct cgroups {
	enum cgroups_mode mode;
	struct cgroups_hierarchy *h; /* v1 ones first in mount order, then the v2 one */
	size_t n;
};

/* Parses the text of /proc/self/mountinfo: every cgroup (v1) mount whose
 * root is "/" becomes one hierarchy (the first mount of each controller set
 * wins), the first cgroup2 mount the unified one. MK_ENOTFOUND "no cgroup
 * file system mounted" when there is none. New, cgroups_free(). */
struct cgroups *cgroups_parse_mountinfo(const char *text, struct mk_err **err);

/* cgroups_parse_mountinfo() of this process's /proc/self/mountinfo. */
struct cgroups *cgroups_detect(struct mk_err **err);

/* Accepts NULL. */
void cgroups_free(struct cgroups *cg);

/* "v1", "hybrid", "v2". Static string. */
const char *cgroups_mode_name(enum cgroups_mode mode);

/* The hierarchy holding a v1 controller ("memory", "cpuacct", "pids"), or on
 * a host without it, the cgroup2 one (which then serves it through its v2
 * files). NULL if neither. Borrowed from cg. */
const struct cgroups_hierarchy *cgroups_controller(const struct cgroups *cg,
						   const char *controller);

/* The controllers listed in the cgroup2 root's cgroup.controllers ("" when
 * none, as on a hybrid host where everything is bound to v1). NULL with an
 * error when there is no cgroup2 mount or the file cannot be read. New, free(). */
char *cgroups_unified_controllers(const struct cgroups *cg, struct mk_err **err);

/* ---- pure: QoS class and resources ---- */

enum cgroups_qos {
	CGROUPS_QOS_GUARANTEED = 1,
	CGROUPS_QOS_BURSTABLE,
	CGROUPS_QOS_BESTEFFORT,
};

/* Upstream's QoS class of a pod: status.qosClass when set, else computed as
 * ComputePodQOS does over containers and initContainers (cpu and memory
 * only; quantities > 0 count; every container needs both limits and equal
 * summed requests for Guaranteed; nothing at all is BestEffort). A request
 * missing where a limit is set counts as that limit, as the API server's
 * defaulting fills it in. Unparsable quantities count as absent. */
enum cgroups_qos cgroups_pod_qos(const json_t *pod);

/* "Guaranteed", "Burstable", "BestEffort" (the API's words). Static. */
const char *cgroups_qos_name(enum cgroups_qos qos);

/* The pod's cgroup path: "<root>/kubepods/pod<uid>" (Guaranteed),
 * "<root>/kubepods/burstable/pod<uid>", "<root>/kubepods/besteffort/pod<uid>".
 * root is upstream's --cgroup-root ("/" or NULL for the top). MK_EINVAL if the
 * pod has no metadata.uid. New string, free(). */
char *cgroups_pod_path(const char *root, const json_t *pod, struct mk_err **err);

/* Limits to write into a cgroup; 0 in a field = leave the file alone. */
struct cgroups_limits {
	uint64_t cpu_shares; /* v1 cpu.shares (v2: converted to cpu.weight) */
	int64_t cpu_quota;   /* microseconds per period; -1 = unlimited */
	uint64_t cpu_period; /* microseconds */
	int64_t memory;	     /* bytes; -1 = unlimited */
};

/* Upstream's MilliCPUToShares: 0 -> 2, else milli*1024/1000 clamped to
 * [2, 262144]. */
uint64_t cgroups_milli_to_shares(int64_t milli);
/* Upstream's MilliCPUToQuota: 0 for 0, else milli*period/1000, at least 1000. */
int64_t cgroups_milli_to_quota(int64_t milli, uint64_t period);
/* Upstream's CpuSharesToCpuWeight: 1 + (shares-2)*9999/262142. */
uint64_t cgroups_shares_to_weight(uint64_t shares);

/* The pod-level limits upstream's ResourceConfigForPod gives (CFS quota on,
 * period 100000): requests summed over containers, max'd with each init
 * container; limits likewise. Guaranteed: shares, quota, period, memory.
 * Burstable: shares; quota/period only if every container has a cpu limit,
 * memory only if every container has a memory limit. BestEffort: shares 2. */
void cgroups_pod_limits(const json_t *pod, struct cgroups_limits *out);

/* The path of the hierarchy with the given controller in the text of a
 * /proc/<pid>/cgroup file ("memory", "name=systemd"; "" for the "0::" v2
 * line). New string, free(); NULL if absent. */
char *cgroups_proc_path(const char *proc_cgroup, const char *controller);

/* ---- file system ---- */

/* Makes path (absolute, relative to each hierarchy root) and every missing
 * parent in every hierarchy, copying cpuset.cpus/mems from the parent into
 * each new v1 cpuset directory and enabling the parent's controllers in
 * cgroup.subtree_control on a pure v2 host; then writes lim (NULL = none).
 * Existing directories are kept, so this also updates the limits. On a
 * failure the directories this call made are removed again. */
int cgroups_create(const struct cgroups *cg, const char *path, const struct cgroups_limits *lim,
		   struct mk_err **err);

/* Moves pid into path in every hierarchy, creating it first as
 * cgroups_create(cg, path, NULL) does. */
int cgroups_enter(const struct cgroups *cg, const char *path, pid_t pid, struct mk_err **err);

/* Removes path and every cgroup below it, deepest first, in every hierarchy.
 * rmdir's EBUSY (tasks just gone) is retried for up to one second; a cgroup
 * that still has tasks then fails with MK_EIO naming it. A path that does not
 * exist is fine. */
int cgroups_remove(const struct cgroups *cg, const char *path, struct mk_err **err);

/* Usage of the cgroup at path (a pod or a container). A field whose file is
 * missing stays 0 and its has_ flag false. */
struct cgroups_usage {
	uint64_t cpu_ns;       /* cumulative CPU time: cpuacct.usage / cpu.stat usage_usec */
	uint64_t memory_usage; /* memory.usage_in_bytes / memory.current */
	uint64_t working_set;  /* usage - total_inactive_file / inactive_file, >= 0 */
	uint64_t rss;	       /* total_rss / anon */
	uint64_t pids;	       /* pids.current */
	uint64_t oom_kills;    /* memory.oom_control / memory.events oom_kill */
	bool has_cpu, has_memory, has_pids, has_oom_kills;
};

/* Reads the usage files of path (v1 files in the controller's hierarchy, v2
 * files where the controller lives in cgroup2). MK_ENOTFOUND when the
 * cgroup exists in none of the hierarchies. */
int cgroups_usage_read(const struct cgroups *cg, const char *path, struct cgroups_usage *u,
		       struct mk_err **err);

#endif
