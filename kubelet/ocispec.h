/* The OCI runtime spec (config.json) of a pod's sandbox or of one of its
 * containers, built as upstream's kubelet + containerd build it, from the
 * pod, the container, the image config and facts the caller resolved on the
 * node.
 *
 * Base: `runc spec` with the edits a kubelet needs (terminal false, root
 * writable, the 14 default capabilities CHOWN DAC_OVERRIDE FSETID FOWNER
 * MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT
 * KILL AUDIT_WRITE in bounding/effective/permitted, noNewPrivileges false,
 * RLIMIT_NOFILE 1024, its 10 masked and 5 read-only paths, device cgroup
 * deny-all (the runtime adds the standard /dev nodes), /proc /dev /dev/pts
 * /dev/mqueue /sys (ro) /sys/fs/cgroup (ro)). Then:
 *
 * - process.args: the sandbox runs the image's Entrypoint + Cmd. A container:
 *   a non-empty command replaces Entrypoint and drops Cmd (args follow it);
 *   args alone replace Cmd; neither means Entrypoint + Cmd; nothing at all is
 *   "no command specified". $(VAR) in command and args expands from the
 *   container's env (upstream's expansion: "$$" is "$", an unknown or
 *   unclosed reference stays as written).
 * - process.env: PATH default, HOSTNAME=<hostname>, the image's Env, then
 *   the container's (a later name replaces an earlier one in place); env
 *   entries flagged expand get $(VAR) expansion from the entries before them.
 * - process.user: runAsUser/runAsGroup (container over pod), else the
 *   image's User ("uid", "uid:gid", "name", "name:group"); a name is looked
 *   up in the rootfs's /etc/passwd and /etc/group; a uid without a group
 *   takes the passwd entry's gid, else 0. additionalGids: the primary gid,
 *   the groups of /etc/group naming the user, then fsGroup and
 *   supplementalGroups. App containers keep only the uid part of the
 *   image's User, as the kubelet hands containerd only a uid or a name.
 * - runAsNonRoot: refused with upstream's messages for uid 0 ("container
 *   has runAsNonRoot and image will run as root (pod: ..., container: ...)"),
 *   runAsUser 0, and a non-numeric image user.
 * - privileged: every capability, no masked or read-only paths, all devices
 *   allowed, /sys and /sys/fs/cgroup writable. capabilities.add/drop (names
 *   with or without CAP_, any case; "ALL" first, drop wins).
 *   readOnlyRootFilesystem: root.readonly and read-only hosts/resolv.conf/
 *   hostname binds. allowPrivilegeEscalation false: noNewPrivileges.
 * - resources (containers): cpu shares from the request (or the limit when
 *   there is no request), min 2; quota = limit*100000/1000 (min 1000) with
 *   period 100000; memory limit, and swap = limit when the node has swap
 *   accounting; oomScoreAdj by QoS (-997 Guaranteed, 1000 BestEffort,
 *   Burstable 1000 - 1000*request/capacity in [3, 999]). Sandbox: shares 2,
 *   oomScoreAdj -998. Scores are raised to a floor when the runtime cannot
 *   lower them (restrict_oom_score_adj).
 * - namespaces: the sandbox makes pid, ipc, uts, mount and joins the pod's
 *   network namespace by path; an app container joins the netns by path and
 *   the sandbox's ipc and uts (and pid with shareProcessNamespace) through
 *   /proc/<sandbox pid>/ns/{ipc,uts,pid}. hostNetwork drops network (and uts), hostPID
 *   pid, hostIPC ipc. Only the sandbox sets hostname (not with hostNetwork).
 * - mounts: /dev/shm binds the pod's shm dir (the host's /dev/shm with
 *   hostIPC); containers also bind /etc/hosts, /etc/resolv.conf,
 *   /etc/hostname, the termination log (at terminationMessagePath, default
 *   /dev/termination-log) and the resolved volumes, ordered by depth so a
 *   parent never hides a child; propagation HostToContainer -> rslave,
 *   Bidirectional -> rshared (rootfsPropagation follows); a caller mount at
 *   a default destination replaces the default.
 * - annotations io.kubernetes.cri.container-type (sandbox|container),
 *   io.kubernetes.cri.sandbox-id, io.kubernetes.pod.name/namespace/uid and
 *   io.kubernetes.container.name; the sandbox also gets the pod's sysctls.
 *
 * Not done: seccomp and AppArmor profiles (Unconfined, as upstream's default
 * before RuntimeDefault), host device nodes for privileged containers (the
 * cgroup allows them all; none are created), hugepages, user namespaces.
 *
 * Pure: no file system access except through the user lookup. Thread-safe. */
#ifndef MK_KUBELET_OCISPEC_H
#define MK_KUBELET_OCISPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "err.h"

struct ocispec_mount {
	const char *host_path;
	const char *container_path;
	bool read_only;
	const char *propagation; /* NULL/"None", "HostToContainer", "Bidirectional" */
};

struct ocispec_env {
	const char *name;
	const char *value;
	bool expand; /* a literal env[].value of the pod spec: $(VAR) is expanded */
};

/* Looks up a user or group of the image: by name (name != NULL) or by id.
 * Fills *id (and *gid for a user: its primary group; *name_out a new
 * string with the user's name when looked up by id, may be NULL). Returns 0,
 * or -1 when there is no such entry (no error set) or with *err when the
 * files cannot be read. groups_of fills the gids of /etc/group entries whose
 * member list names user (new array in *gids, count in *n). */
struct ocispec_users {
	int (*user)(void *data, const char *name, uint32_t uid, uint32_t *uid_out,
		    uint32_t *gid_out, char **name_out, struct mk_err **err);
	int (*group)(void *data, const char *name, uint32_t *gid_out, struct mk_err **err);
	int (*groups_of)(void *data, const char *user, uint32_t **gids, size_t *n,
			 struct mk_err **err);
	void *data;
};

/* The lookup above over <rootfs>/etc/passwd and <rootfs>/etc/group (missing
 * files mean no entries). rootfs is borrowed and must outlive the struct. */
struct ocispec_users ocispec_rootfs_users(const char *rootfs);

struct ocispec_input {
	const json_t *pod;	    /* the Pod object (metadata + spec) */
	const json_t *container;    /* one of spec.containers/initContainers; NULL: sandbox */
	const json_t *image_config; /* the image config blob ({"config":{...}}) or its "config" */
	const char *container_id;   /* this container's id (the sandbox's for the sandbox) */
	const char *sandbox_id;
	const char *rootfs;	/* absolute path of the mounted root file system */
	const char *netns_path; /* NULL for hostNetwork */
	pid_t sandbox_pid;	/* app containers: the sandbox's init pid */
	/* The pod's pinned IPC and UTS namespaces (nsfs bind mounts), or NULL:
	 * the sandbox and the app containers then join these by path instead
	 * of the sandbox making its own and the others joining them through
	 * /proc/<sandbox_pid>, so an app container needs no sandbox pid (only
	 * shareProcessNamespace still does). */
	const char *ipc_path;
	const char *uts_path;
	const char *hostname;	/* the pod's hostname */
	const char *hosts_path; /* pod files; NULL: not mounted */
	const char *resolv_path;
	const char *hostname_path;
	const char *shm_path;		    /* the pod's /dev/shm directory (tmpfs) */
	const char *termination_log_path;   /* containers; NULL: not mounted */
	const struct ocispec_mount *mounts; /* resolved volume mounts, in spec order */
	size_t n_mounts;
	const struct ocispec_env *env; /* resolved env in upstream order */
	size_t n_env;
	const char *cgroups_path; /* linux.cgroupsPath */
	bool swap_accounting;	  /* the node's memory cgroup can limit swap */
	uint64_t memory_capacity; /* node memory in bytes, for Burstable oomScoreAdj; 0: skip */
	const struct ocispec_users *users; /* NULL: ocispec_rootfs_users(rootfs) */
	/* containerd's restrict_oom_score_adj: without CAP_SYS_RESOURCE the
	 * runtime cannot lower a score, so scores below the floor (the
	 * kubelet's own oom_score_adj) are raised to it. */
	bool restrict_oom_score_adj;
	int oom_score_adj_floor;
};

/* Whether this process may not lower OOM scores (no CAP_SYS_RESOURCE in
 * its effective set), with its own oom_score_adj in *floor: what
 * restrict_oom_score_adj/oom_score_adj_floor should be set to. Reads
 * /proc/self; false if it cannot tell. */
bool ocispec_oom_restricted(int *floor);

/* Builds the spec. New reference. MK_EINVAL with the reason for what
 * upstream refuses ("no command specified", runAsNonRoot violations, an
 * unknown user name "unable to find user www: no matching entries in
 * passwd file", bad capability names, unparsable quantities). */
json_t *ocispec_build(const struct ocispec_input *in, struct mk_err **err);

/* Upstream's $(VAR) expansion of s with the lookup function (NULL result =
 * not defined, kept as "$(VAR)"). New string. */
char *ocispec_expand(const char *s, const char *(*lookup)(void *data, const char *name),
		     void *data);

#endif
