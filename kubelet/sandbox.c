/* The pod sandbox: a network namespace pinned under <root-dir>/netns, wired
 * by the first CNI configuration of --cni-conf-dir (the node's podCIDR as
 * the ipRanges capability, hostPorts as portMappings), the pod's hostname,
 * hosts and resolv.conf files, a tmpfs for /dev/shm, IPC and UTS
 * namespaces pinned in the pod's directory, and the pause container in
 * them. hostNetwork pods skip the network namespace, CNI and the UTS one.
 * The pause container is made beside CNI ADD and, unless the pod shares
 * its PID namespace, beside the pod's first containers too. Every step is
 * undone when a later one fails. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "cni.h"
#include "fsutil.h"
#include "imagestore.h"
#include "json.h"
#include "log.h"
#include "netns.h"
#include "registries.h"
#include "timefmt.h"
#include "xalloc.h"
#include "kubelet/cgroups.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/ocispec.h"
#include "kubelet/runtime.h"

#define SHM_SIZE "65536k"

static bool host_network(const json_t *pod)
{
	return json_is_true(json_path_get(pod, "spec.hostNetwork"));
}

/* ---- the CNI configuration ---- */

void network_tick(void *arg)
{
	struct kubelet *k = arg;
	struct stat st;
	int64_t mtime = stat(k->cfg.cni_conf_dir, &st) == 0
				? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec
				: -1;
	pthread_mutex_lock(&k->mu);
	bool same = k->netconf_mtime == mtime && (k->netconf || k->network_message);
	pthread_mutex_unlock(&k->mu);
	if (same)
		return;
	cleanup_err struct mk_err *err = NULL;
	struct cni_netconf *nc = cni_netconf_load_dir(k->cfg.cni_conf_dir, &err);
	cleanup_free char *msg = NULL;
	if (!nc)
		msg = xasprintf(
			"container runtime network not ready: NetworkReady=false "
			"reason:NetworkPluginNotReady message:Network plugin returns error: "
			"No CNI configuration file in %s. Has your network provider started?",
			k->cfg.cni_conf_dir);
	pthread_mutex_lock(&k->mu);
	struct cni_netconf *old = k->netconf;
	bool was = k->network_ready;
	k->netconf = nc;
	k->netconf_mtime = mtime;
	k->network_ready = nc != NULL;
	free(k->network_message);
	k->network_message = msg ? xstrdup(msg) : NULL;
	pthread_mutex_unlock(&k->mu);
	/* Pods hold no pointer into the old configuration: each sandbox
	 * operation takes its own copy under the lock. */
	cni_netconf_free(old);
	if ((nc != NULL) != was && k->c && k->cfg.register_node)
		node_status_kick(k);
	if (nc && !was)
		log_info("Using CNI configuration %s (network %s)", nc->file ? nc->file : "",
			 nc->name);
	else if (!nc && was)
		log_warn("%s", msg);
}

/* A private copy of the configuration in use, or NULL. */
static struct cni_netconf *netconf_copy(struct kubelet *k)
{
	pthread_mutex_lock(&k->mu);
	struct cni_netconf *nc = NULL;
	if (k->netconf)
		nc = cni_netconf_parse(k->netconf->bytes, k->netconf->len, k->netconf->file, NULL);
	pthread_mutex_unlock(&k->mu);
	return nc;
}

static const char *const *bin_dirs(struct kubelet *k, json_t **holder)
{
	/* --cni-bin-dir is a comma-separated list (upstream), colons accepted too */
	*holder = json_array();
	cleanup_free char *copy = xstrdup(k->cfg.cni_bin_dir);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",:", &save); t; t = strtok_r(NULL, ",:", &save))
		json_array_append_new(*holder, json_string(t));
	size_t n = json_array_size(*holder);
	const char **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(*holder, i));
	return v;
}

/* portMappings from the containers' hostPorts, as the kubelet passes them. */
static json_t *port_mappings(const json_t *pod)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(json_path_get(pod, "spec.containers"), i, c)
		json_array_foreach(json_object_get(c, "ports"), j, p)
	{
		json_int_t hp = json_integer_value(json_object_get(p, "hostPort"));
		if (hp <= 0)
			continue;
		const char *proto = json_string_value(json_object_get(p, "protocol"));
		char lower[8] = "tcp";
		if (proto)
			for (size_t x = 0; x < sizeof(lower) - 1 && proto[x]; x++)
				lower[x] = (char)(proto[x] | 0x20), lower[x + 1] = '\0';
		json_t *m = json_pack("{s:I, s:I, s:s}", "hostPort", hp, "containerPort",
				      json_integer_value(json_object_get(p, "containerPort")),
				      "protocol", lower);
		const char *hip = json_string_value(json_object_get(p, "hostIP"));
		if (hip && *hip)
			json_object_set_new(m, "hostIP", json_string(hip));
		json_array_append_new(out, m);
	}
	return out;
}

struct cni_call {
	struct cni_netconf *nc;
	const char **dirs;
	json_t *dirs_holder;
	json_t *caps;
	char *args[12];
	struct cni_runtime rt;
	struct cni_exec_opts o;
};

static void cni_call_init(struct kubelet *k, struct kpod *kp, const json_t *pod,
			  struct cni_call *cc)
{
	*cc = (struct cni_call){0};
	cc->nc = netconf_copy(k);
	cc->dirs = (const char **)bin_dirs(k, &cc->dirs_holder);
	cc->caps = json_object();
	pthread_mutex_lock(&k->mu);
	if (k->pod_cidr)
		json_object_set_new(cc->caps, "ipRanges",
				    json_pack("[[{s:s}]]", "subnet", k->pod_cidr));
	pthread_mutex_unlock(&k->mu);
	if (pod)
		json_object_set_new(cc->caps, "portMappings", port_mappings(pod));
	const char *kv[] = {"IgnoreUnknown", "1",      "K8S_POD_NAMESPACE",	     kp->ns,
			    "K8S_POD_NAME",  kp->name, "K8S_POD_INFRA_CONTAINER_ID", kp->sandbox_id,
			    "K8S_POD_UID",   kp->uid};
	for (size_t i = 0; i < 10; i++)
		cc->args[i] = xstrdup(kv[i] ? kv[i] : "");
	cc->args[10] = NULL;
	cc->rt = (struct cni_runtime){.container_id = kp->sandbox_id,
				      .netns = kp->netns,
				      .ifname = "eth0",
				      .args = (const char *const *)cc->args,
				      .capability_args = cc->caps};
	cc->o = (struct cni_exec_opts){.bin_dirs = cc->dirs,
				       .cache_dir = k->cfg.cni_cache_dir,
				       .timeout_ms = k->cfg.runtime_request_timeout_ms};
}

static void cni_call_free(struct cni_call *cc)
{
	cni_netconf_free(cc->nc);
	free(cc->dirs);
	json_decref(cc->dirs_holder);
	json_decref(cc->caps);
	for (size_t i = 0; cc->args[i]; i++)
		free(cc->args[i]);
}

/* ---- pod files ---- */

char *kubelet_pod_hostname(const json_t *pod, const char *node_name)
{
	if (host_network(pod))
		return xstrdup(node_name);
	const char *h = json_string_value(json_path_get(pod, "spec.hostname"));
	if (h && *h)
		return xstrdup(h);
	const char *name = json_string_value(json_path_get(pod, "metadata.name"));
	/* upstream truncates to 63 and strips trailing '-' / '.' */
	char *out = xstrndup(name ? name : "pod", 63);
	size_t n = strlen(out);
	while (n && (out[n - 1] == '-' || out[n - 1] == '.'))
		out[--n] = '\0';
	return out;
}

static char *hosts_file(const json_t *pod, const char *hostname, const char *ip,
			const char *cluster_domain)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "# Kubernetes-managed hosts file.\n"
			   "127.0.0.1\tlocalhost\n"
			   "::1\tlocalhost ip6-localhost ip6-loopback\n"
			   "fe00::0\tip6-localnet\n"
			   "fe00::0\tip6-mcastprefix\n"
			   "fe00::1\tip6-allnodes\n"
			   "fe00::2\tip6-allrouters\n");
	if (ip) {
		const char *sub = json_string_value(json_path_get(pod, "spec.subdomain"));
		const char *ns = json_string_value(json_path_get(pod, "metadata.namespace"));
		if (sub && *sub && cluster_domain && *cluster_domain)
			buf_printf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, hostname, sub, ns,
				   cluster_domain, hostname);
		else
			buf_printf(&b, "%s\t%s\n", ip, hostname);
	}
	size_t i, j;
	json_t *a, *h;
	json_array_foreach(json_path_get(pod, "spec.hostAliases"), i, a)
	{
		const char *aip = json_string_value(json_object_get(a, "ip"));
		if (!aip)
			continue;
		if (!i)
			buf_append_str(&b, "\n# Entries added by HostAliases.\n");
		buf_printf(&b, "%s\t", aip);
		json_array_foreach(json_object_get(a, "hostnames"), j, h)
			buf_printf(&b, "%s%s", j ? "\t" : "", json_string_value(h));
		buf_append_char(&b, '\n');
	}
	return buf_steal(&b);
}

/* The pod's resolv.conf by its dnsPolicy and dnsConfig, as upstream builds it. */
static char *resolv_file(struct kubelet *k, const json_t *pod)
{
	const char *policy = json_string_value(json_path_get(pod, "spec.dnsPolicy"));
	if (!policy)
		policy = "ClusterFirst";
	bool hostnet = host_network(pod);
	bool cluster = (!strcmp(policy, "ClusterFirst") && !hostnet) ||
		       !strcmp(policy, "ClusterFirstWithHostNet");
	if (cluster && !json_array_size(k->cfg.cluster_dns))
		cluster = false; /* upstream falls back to Default */
	json_t *searches = json_array(), *servers = json_array(), *options = json_array();
	cleanup_free char *host = strcmp(policy, "None")
					  ? fs_read_file(k->cfg.resolv_conf, 1 << 16, NULL, NULL)
					  : NULL;
	json_t *host_search = json_array();
	if (host) {
		char *save = NULL;
		for (char *line = strtok_r(host, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *lsave = NULL;
			char *w = strtok_r(line, " \t", &lsave);
			if (!w)
				continue;
			json_t *dst = !strcmp(w, "nameserver") ? servers
				      : !strcmp(w, "search")   ? host_search
				      : !strcmp(w, "options")  ? options
							       : NULL;
			if (!dst || (cluster && dst == servers))
				continue;
			for (char *v = strtok_r(NULL, " \t", &lsave); v;
			     v = strtok_r(NULL, " \t", &lsave))
				json_array_append_new(dst, json_string(v));
		}
	}
	if (cluster) {
		const char *ns = json_string_value(json_path_get(pod, "metadata.namespace"));
		const char *d = k->cfg.cluster_domain;
		json_decref(options);
		options = json_pack("[s]", "ndots:5");
		if (d && *d) {
			cleanup_free char *a = xasprintf("%s.svc.%s", ns, d);
			cleanup_free char *b2 = xasprintf("svc.%s", d);
			json_array_append_new(searches, json_string(a));
			json_array_append_new(searches, json_string(b2));
			json_array_append_new(searches, json_string(d));
		}
		json_array_extend(servers, k->cfg.cluster_dns);
	}
	json_array_extend(searches, host_search);
	json_decref(host_search);
	const json_t *dc = json_path_get(pod, "spec.dnsConfig");
	json_array_extend(servers, json_object_get(dc, "nameservers") ?: json_array());
	json_array_extend(searches, json_object_get(dc, "searches") ?: json_array());
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(dc, "options"), i, o)
	{
		const char *n = json_string_value(json_object_get(o, "name"));
		const char *v = json_string_value(json_object_get(o, "value"));
		if (!n)
			continue;
		cleanup_free char *opt = v ? xasprintf("%s:%s", n, v) : xstrdup(n);
		json_array_append_new(options, json_string(opt));
	}
	struct buf b = BUF_INIT;
	json_t *v;
	if (json_array_size(searches)) {
		buf_append_str(&b, "search");
		json_array_foreach(searches, i, v) buf_printf(&b, " %s", json_string_value(v));
		buf_append_char(&b, '\n');
	}
	json_array_foreach(servers, i, v) buf_printf(&b, "nameserver %s\n", json_string_value(v));
	if (json_array_size(options)) {
		buf_append_str(&b, "options");
		json_array_foreach(options, i, v) buf_printf(&b, " %s", json_string_value(v));
		buf_append_char(&b, '\n');
	}
	json_decref(searches);
	json_decref(servers);
	json_decref(options);
	return buf_steal(&b);
}

static int write_pod_files(struct kubelet *k, struct kpod *kp, const json_t *pod,
			   struct mk_err **err)
{
	cleanup_free char *dir = podfs_dir(k, kp->uid);
	cleanup_free char *hostname = kubelet_pod_hostname(pod, k->node_name);
	cleanup_free char *hn = xasprintf("%s\n", hostname);
	cleanup_free char *hn_path = xasprintf("%s/hostname", dir);
	cleanup_free char *hosts_path = xasprintf("%s/etc-hosts", dir);
	cleanup_free char *resolv_path = xasprintf("%s/resolv.conf", dir);
	cleanup_free char *hosts = NULL;
	if (host_network(pod))
		hosts = fs_read_file("/etc/hosts", 1 << 20, NULL, NULL);
	if (!hosts)
		hosts = hosts_file(pod, hostname, kp->pod_ip, k->cfg.cluster_domain);
	cleanup_free char *resolv = resolv_file(k, pod);
	/* made again for every new sandbox: nothing to keep across a reboot */
	if (fs_write_atomic_nosync(hn_path, hn, strlen(hn), 0644, err) < 0 ||
	    fs_write_atomic_nosync(hosts_path, hosts, strlen(hosts), 0644, err) < 0 ||
	    fs_write_atomic_nosync(resolv_path, resolv, strlen(resolv), 0644, err) < 0)
		return -1;
	return 0;
}

/* ---- the record on disk ---- */

static int save_record(struct kubelet *k, struct kpod *kp, bool hostnet, struct mk_err **err)
{
	cleanup_free char *dir = podfs_dir(k, kp->uid);
	cleanup_free char *path = xasprintf("%s/sandbox.json", dir);
	cleanup_free char *created = time_now_rfc3339();
	cleanup_json json_t *rec =
		json_pack("{s:s, s:i, s:s, s:s, s:s, s:b, s:s}", "id", kp->sandbox_id, "attempt",
			  kp->sandbox_attempt, "name", kp->name, "namespace", kp->ns, "uid",
			  kp->uid, "hostNetwork", hostnet, "createdAt", created);
	if (kp->netns)
		json_object_set_new(rec, "netns", json_string(kp->netns));
	if (kp->ipc_ns)
		json_object_set_new(rec, "ipcNs", json_string(kp->ipc_ns));
	if (kp->uts_ns)
		json_object_set_new(rec, "utsNs", json_string(kp->uts_ns));
	if (kp->pod_ip)
		json_object_set_new(rec, "podIP", json_string(kp->pod_ip));
	if (kp->pod_ips)
		json_object_set(rec, "podIPs", kp->pod_ips);
	cleanup_free char *text = json_dump_compact(rec);
	return fs_write_atomic(path, text, strlen(text), 0600, err);
}

/* ---- create and stop ---- */

static char *sandbox_dir(struct kubelet *k, struct kpod *kp)
{
	return xasprintf("%s/pods/%s/containers/%s", k->cfg.root_dir, kp->uid, kp->sandbox_id);
}

static int start_pause(struct kubelet *k, struct kpod *kp, const json_t *pod, pid_t *pid_out,
		       struct mk_err **err)
{
	struct imagestore_image *img = NULL;
	if (imagestore_lookup(k->images, k->cfg.pod_infra_image, &img, NULL) < 0) {
		/* through the same mirrors as the containers' images */
		cleanup_err struct mk_err *rerr = NULL;
		struct registries *regs = registries_load(k->cfg.registry_config, &rerr);
		if (!regs && mk_err_code(rerr) != MK_ENOTFOUND)
			log_warn("reading %s: %s", k->cfg.registry_config, mk_err_msg(rerr));
		struct imagestore_pull_opts o = {.registries = regs};
		int r = imagestore_pull(k->images, k->cfg.pod_infra_image, &o, &img, err);
		registries_free(regs);
		if (r < 0)
			return mk_err_wrap(err, "failed to get sandbox image \"%s\"",
					   k->cfg.pod_infra_image);
	}
	cleanup_free char *bundle = sandbox_dir(k, kp);
	int rc = -1;
	cleanup_free char *pod_dir = podfs_dir(k, kp->uid);
	cleanup_free char *cgpath = k->cg ? cgroups_pod_path(k->cfg.cgroup_root, pod, NULL) : NULL;
	cleanup_free char *cgroups_path =
		cgpath ? xasprintf("%s/%s", cgpath, kp->sandbox_id) : NULL;
	cleanup_free char *hostname = kubelet_pod_hostname(pod, k->node_name);
	cleanup_free char *log_path = xasprintf("%s/pause.log", bundle);
	cleanup_free char *rootfs = xasprintf("%s/rootfs", bundle);
	cleanup_free char *shm = json_is_true(json_path_get(pod, "spec.hostIPC"))
					 ? NULL
					 : xasprintf("%s/shm", pod_dir);
	cleanup_free char *text = NULL, *cfg = NULL;
	cleanup_json json_t *spec = NULL;
	if (rootfs_prepare(bundle, (const char *const *)img->layers, img->n_layers, err) < 0)
		goto out;
	struct ocispec_input in = {
		.pod = pod,
		.image_config = img->config,
		.container_id = kp->sandbox_id,
		.sandbox_id = kp->sandbox_id,
		.rootfs = rootfs,
		.netns_path = kp->netns,
		.ipc_path = kp->ipc_ns,
		.uts_path = kp->uts_ns,
		.hostname = hostname,
		.shm_path = shm,
		.cgroups_path = cgroups_path,
	};
	containers_node_facts(k, &in);
	spec = ocispec_build(&in, err);
	if (!spec)
		goto undo_rootfs;
	text = json_dump_compact(spec);
	cfg = xasprintf("%s/config.json", bundle);
	/* read by the runtime's create right after; made again after a reboot */
	if (fs_write_atomic_nosync(cfg, text, strlen(text), 0600, err) < 0)
		goto undo_rootfs;
	pid_t pid = 0;
	/* created and started by one runtime process: nothing comes between
	 * for a pause container, and the pod's status waits for it */
	struct runtime_create_opts ro = {.monitor_cgroup = cgpath, .start = true};
	if (runtime_create_with(k->rt, kp->sandbox_id, bundle, log_path, &ro, &pid, err) < 0)
		goto undo_rootfs;
	imagestore_hold(k->images, img->id, kp->sandbox_id, NULL);
	*pid_out = pid;
	rc = 0;
	goto out;
undo_rootfs:
	rootfs_release(bundle);
out:
	imagestore_image_free(img);
	return rc;
}

/* The pod's network namespace, pinned at <root-dir>/netns/<uid>. */
static int netns_setup(struct kubelet *k, struct kpod *kp, struct mk_err **err)
{
	cleanup_free char *nsdir = xasprintf("%s/netns", k->cfg.root_dir);
	if (fs_mkdir_p(nsdir, 0755, err) < 0)
		return -1;
	free(kp->netns);
	kp->netns = xasprintf("%s/%s", nsdir, kp->uid);
	netns_delete(kp->netns, NULL); /* a stale pin of an earlier sandbox */
	return netns_create(kp->netns, err);
}

/* CNI ADD in the pod's namespace; the pod IPs into kp. On failure the
 * namespace is gone again. */
static int network_up(struct kubelet *k, struct kpod *kp, const json_t *pod, struct mk_err **err)
{
	struct cni_call cc;
	cni_call_init(k, kp, pod, &cc);
	if (!cc.nc) {
		cni_call_free(&cc);
		netns_delete(kp->netns, NULL);
		return mk_err_set(err, MK_EUNAVAILABLE, "cni plugin not initialized");
	}
	cleanup_json json_t *result = NULL;
	if (cni_list_add(cc.nc, &cc.rt, &cc.o, &result, err) < 0) {
		/* the spec asks for a DEL after a failed ADD */
		cni_list_del(cc.nc, &cc.rt, &cc.o, NULL);
		cni_call_free(&cc);
		netns_delete(kp->netns, NULL);
		return -1;
	}
	cni_call_free(&cc);
	char *ip4 = cni_result_pod_ip(result, AF_INET);
	char *ip6 = cni_result_pod_ip(result, AF_INET6);
	pthread_mutex_lock(&k->mu);
	free(kp->pod_ip);
	kp->pod_ip = ip4 ? ip4 : ip6 ? xstrdup(ip6) : NULL;
	json_decref(kp->pod_ips);
	kp->pod_ips = json_array();
	if (ip4)
		json_array_append_new(kp->pod_ips, json_string(ip4));
	if (ip6)
		json_array_append_new(kp->pod_ips, json_string(ip6));
	pthread_mutex_unlock(&k->mu);
	free(ip6);
	return 0;
}

static void network_down(struct kubelet *k, struct kpod *kp, const json_t *pod)
{
	if (!kp->netns)
		return;
	struct cni_call cc;
	cni_call_init(k, kp, pod, &cc);
	cleanup_err struct mk_err *err = NULL;
	if (cc.nc && cni_list_del(cc.nc, &cc.rt, &cc.o, &err) < 0)
		log_warn("pod %s/%s: CNI DEL: %s", kp->ns, kp->name, mk_err_msg(err));
	cni_call_free(&cc);
	mk_err_free(err);
	err = NULL;
	if (netns_delete(kp->netns, &err) < 0)
		log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(err));
}

static int shm_mount(struct kubelet *k, struct kpod *kp, const json_t *pod, struct mk_err **err)
{
	if (json_is_true(json_path_get(pod, "spec.hostIPC")))
		return 0;
	cleanup_free char *dir = xasprintf("%s/pods/%s/shm", k->cfg.root_dir, kp->uid);
	if (fs_mkdir_p(dir, 0755, err) < 0)
		return -1;
	umount2(dir, MNT_DETACH);
	if (mount("shm", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=1777,size=" SHM_SIZE) < 0)
		return mk_err_errno(err, MK_EIO, errno, "mounting the pod's /dev/shm");
	return 0;
}

/* The pause container's runtime state, image hold and root file system go. */
static void pause_remove(struct kubelet *k, struct kpod *kp)
{
	runtime_stop(k->rt, kp->sandbox_id, SIGKILL, 0, NULL);
	runtime_delete(k->rt, kp->sandbox_id, NULL);
	imagestore_release(k->images, kp->sandbox_id, NULL);
	cleanup_free char *bundle = sandbox_dir(k, kp);
	rootfs_release(bundle);
}

/* ---- the pod's IPC and UTS namespaces, pinned ---- */

struct ns_pins {
	const char *ipc, *uts; /* where to pin each, or NULL */
	const char *hostname;
	struct mk_err *err;
};

/* On a thread of its own, so that unshare() changes only this thread's
 * namespaces, which end with the thread once pinned. */
static void *pins_main(void *arg)
{
	struct ns_pins *p = arg;
	int flags = (p->ipc ? CLONE_NEWIPC : 0) | (p->uts ? CLONE_NEWUTS : 0);
	if (unshare(flags) < 0) {
		mk_err_errno(&p->err, MK_EIO, errno, "unshare of the pod's IPC/UTS namespaces");
		return NULL;
	}
	if (p->uts && sethostname(p->hostname, strlen(p->hostname)) < 0) {
		mk_err_errno(&p->err, MK_EIO, errno, "setting the pod's hostname");
		return NULL;
	}
	const char *paths[2] = {p->ipc, p->uts}, *types[2] = {"ipc", "uts"};
	for (int i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/task/%ld/ns/%s", (long)syscall(SYS_gettid),
			 types[i]);
		int fd = open(paths[i], O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
		if (fd < 0 || close(fd) < 0 || mount(self, paths[i], "none", MS_BIND, NULL) < 0) {
			mk_err_errno(&p->err, MK_EIO, errno, "pinning the pod's %s namespace at %s",
				     types[i], paths[i]);
			return NULL;
		}
	}
	return NULL;
}

static void pins_remove(struct kubelet *k, struct kpod *kp)
{
	char **pins[2] = {&kp->ipc_ns, &kp->uts_ns};
	for (int i = 0; i < 2; i++) {
		if (!*pins[i])
			continue;
		cleanup_err struct mk_err *err = NULL;
		if (netns_delete(*pins[i], &err) < 0) /* unpins any nsfs file */
			log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(err));
		pthread_mutex_lock(&k->mu);
		free(*pins[i]);
		*pins[i] = NULL;
		pthread_mutex_unlock(&k->mu);
	}
}

/* The pod's IPC namespace (unless hostIPC) and UTS namespace (unless
 * hostNetwork), each pinned by a bind mount at <pod dir>/ns-ipc, ns-uts, as
 * CRI-O's pinns does: the pause container and the app containers join
 * them by path, so the containers need not wait for the pause container. */
static int pins_create(struct kubelet *k, struct kpod *kp, const json_t *pod, struct mk_err **err)
{
	cleanup_free char *dir = podfs_dir(k, kp->uid);
	cleanup_free char *ipc = json_is_true(json_path_get(pod, "spec.hostIPC"))
					 ? NULL
					 : xasprintf("%s/ns-ipc", dir);
	cleanup_free char *uts = host_network(pod) ? NULL : xasprintf("%s/ns-uts", dir);
	if (!ipc && !uts)
		return 0;
	if (fs_mkdir_p(dir, 0750, err) < 0)
		return -1;
	/* stale pins of an earlier sandbox */
	if (ipc)
		netns_delete(ipc, NULL);
	if (uts)
		netns_delete(uts, NULL);
	cleanup_free char *hostname = kubelet_pod_hostname(pod, k->node_name);
	struct ns_pins p = {.ipc = ipc, .uts = uts, .hostname = hostname};
	pthread_t t;
	int e = pthread_create(&t, NULL, pins_main, &p);
	if (e)
		return mk_err_errno(err, MK_EIO, e, "pinning the pod's namespaces");
	pthread_join(t, NULL);
	if (p.err) {
		if (ipc)
			netns_delete(ipc, NULL);
		if (uts)
			netns_delete(uts, NULL);
		mk_err_set(err, mk_err_code(p.err), "%s", mk_err_msg(p.err));
		mk_err_free(p.err);
		return -1;
	}
	pthread_mutex_lock(&k->mu);
	kp->ipc_ns = steal_pointer(&ipc);
	kp->uts_ns = steal_pointer(&uts);
	pthread_mutex_unlock(&k->mu);
	return 0;
}

/* ---- network and pause container, side by side ---- */

struct network_job {
	struct kubelet *k;
	struct kpod *kp;
	const json_t *pod;
	int rc;
	struct mk_err *err;
	int64_t ms; /* how long it took */
};

static void *network_main(void *arg)
{
	struct network_job *j = arg;
	int64_t t0 = kubelet_now_ms();
	j->rc = network_up(j->k, j->kp, j->pod, &j->err);
	j->ms = kubelet_now_ms() - t0;
	return NULL;
}

struct pause_job {
	struct kubelet *k;
	struct kpod *kp;
	json_t *pod;
	pthread_t thread;
	bool threaded;
	int rc;
	pid_t pid;
	struct mk_err *err;
	int64_t t0, ms;
};

static void *pause_main(void *arg)
{
	struct pause_job *j = arg;
	j->rc = start_pause(j->k, j->kp, j->pod, &j->pid, &j->err);
	j->ms = kubelet_now_ms() - j->t0;
	return NULL;
}

/* Waits for j, frees it; its result (0 or -1, error in *err). */
static int pause_join(struct pause_job *j, pid_t *pid, int64_t *ms, struct mk_err **err)
{
	if (j->threaded)
		pthread_join(j->thread, NULL);
	int rc = j->rc;
	*pid = j->pid;
	*ms = j->ms;
	if (rc < 0 && err) {
		*err = j->err;
		j->err = NULL;
	}
	mk_err_free(j->err);
	json_decref(j->pod);
	free(j);
	return rc;
}

/* Undoes a sandbox whose making failed at some step; pause_ok: the pause
 * container exists. */
static void sandbox_undo(struct kubelet *k, struct kpod *kp, const json_t *pod, bool pause_ok,
			 bool network_ok)
{
	if (pause_ok)
		pause_remove(k, kp);
	if (network_ok)
		network_down(k, kp, pod);
	else if (kp->netns)
		netns_delete(kp->netns, NULL);
	pins_remove(k, kp);
	pthread_mutex_lock(&k->mu);
	free(kp->netns);
	kp->netns = NULL;
	pthread_mutex_unlock(&k->mu);
}

/* Makes the sandbox: namespaces pinned, then CNI ADD beside the pause
 * container's create and start (the pause container joins the namespaces
 * by path and needs nothing of the network), then the pod's files, which
 * hold its IP. Unless the pod shares its PID namespace (its containers
 * join the pause container's), the pause container is left to finish on
 * its thread (kp->pause_job) while the worker starts the containers;
 * sandbox_finish waits for it. */
static int create_sandbox(struct kubelet *k, struct kpod *kp, const json_t *pod,
			  struct mk_err **err)
{
	bool hostnet = host_network(pod);
	bool share_pid = json_is_true(json_path_get(pod, "spec.shareProcessNamespace")) &&
			 !json_is_true(json_path_get(pod, "spec.hostPID"));
	pthread_mutex_lock(&k->mu);
	free(kp->sandbox_id);
	kp->sandbox_id =
		xasprintf("k8s_POD_%s_%s_%s_%d", kp->name, kp->ns, kp->uid, kp->sandbox_attempt);
	free(kp->pod_ip);
	kp->pod_ip = NULL;
	pthread_mutex_unlock(&k->mu);
	free(kp->netns);
	kp->netns = NULL;
	int64_t t0 = kubelet_now_ms();
	if (shm_mount(k, kp, pod, err) < 0)
		return -1;
	if (!hostnet && netns_setup(k, kp, err) < 0)
		return -1;
	if (pins_create(k, kp, pod, err) < 0) {
		sandbox_undo(k, kp, pod, false, false);
		return -1;
	}
	struct network_job nj = {.k = k, .kp = kp, .pod = pod};
	pthread_t net_thread;
	bool net_threaded = false;
	struct pause_job *pj = xcalloc(1, sizeof(*pj));
	*pj = (struct pause_job){.k = k, .kp = kp, .pod = json_incref((json_t *)pod), .t0 = t0};
	pj->threaded = pthread_create(&pj->thread, NULL, pause_main, pj) == 0;
	if (!hostnet) {
		net_threaded = pthread_create(&net_thread, NULL, network_main, &nj) == 0;
		if (!net_threaded)
			network_main(&nj);
	}
	if (!pj->threaded)
		pause_main(pj);
	if (net_threaded)
		pthread_join(net_thread, NULL);
	cleanup_err struct mk_err *ferr = NULL;
	int frc = nj.rc < 0 ? -1 : write_pod_files(k, kp, pod, &ferr);
	if (nj.rc < 0 || frc < 0 || share_pid) {
		/* an error, or the containers need the pause container's pid */
		pid_t pid = 0;
		int64_t pause_ms = 0;
		cleanup_err struct mk_err *perr = NULL;
		int prc = pause_join(pj, &pid, &pause_ms, &perr);
		if (nj.rc < 0 || frc < 0 || prc < 0) {
			sandbox_undo(k, kp, pod, prc == 0, !hostnet && nj.rc == 0);
			/* the network's error first: the pause container's may follow from it */
			struct mk_err **first = nj.rc < 0 ? &nj.err : frc < 0 ? &ferr : &perr;
			if (err) {
				*err = *first;
				*first = NULL;
			}
			mk_err_free(nj.err);
			return -1;
		}
		kp->sandbox_pid = pid;
	} else {
		kp->pause_job = pj;
	}
	log_v(4, "pod %s/%s: sandbox %s network up after %lld ms (CNI %lld ms)", kp->ns,
	      kp->name, kp->sandbox_id, (long long)(kubelet_now_ms() - t0), (long long)nj.ms);
	cleanup_err struct mk_err *serr = NULL;
	if (save_record(k, kp, hostnet, &serr) < 0)
		log_warn("pod %s/%s: %s", kp->ns, kp->name, mk_err_msg(serr));
	return 0;
}

static bool sandbox_running(struct kubelet *k, struct kpod *kp)
{
	if (!kp->sandbox_id)
		return false;
	if (kubelet_pid_alive(kp->sandbox_pid))
		return true;
	struct runtime_state st = {0};
	bool ok = runtime_state(k->rt, kp->sandbox_id, &st, NULL) == 0 &&
		  st.status == RUNTIME_RUNNING;
	runtime_state_clear(&st);
	return ok;
}

/* A sandbox that could not be made: recorded, reported, retried later. */
static void sandbox_failed(struct kubelet *k, struct kpod *kp, const json_t *pod, const char *msg,
			   int64_t *requeue_ms)
{
	log_warn("pod %s/%s: failed to create pod sandbox: %s", kp->ns, kp->name, msg);
	kubelet_event(k, pod, NULL, "Warning", "FailedCreatePodSandBox",
		      "Failed to create pod sandbox: %s", msg);
	free(kp->sandbox_error);
	kp->sandbox_error = xstrdup(msg);
	kp->sandbox_backoff_ms = kp->sandbox_backoff_ms ? kp->sandbox_backoff_ms * 2 : 1000;
	if (kp->sandbox_backoff_ms > 60000)
		kp->sandbox_backoff_ms = 60000;
	kp->sandbox_backoff_until = kubelet_now_ms() + kp->sandbox_backoff_ms;
	*requeue_ms = kp->sandbox_backoff_ms;
	pthread_mutex_lock(&k->mu);
	free(kp->sandbox_id);
	kp->sandbox_id = NULL;
	pthread_mutex_unlock(&k->mu);
}

static void sandbox_made(struct kubelet *k, struct kpod *kp)
{
	free(kp->sandbox_error);
	kp->sandbox_error = NULL;
	kp->sandbox_backoff_ms = 0;
	kp->sandbox_backoff_until = 0;
	pthread_mutex_lock(&k->mu);
	kp->sandbox_ready = true;
	pthread_mutex_unlock(&k->mu);
}

int sandbox_ensure(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t *requeue_ms)
{
	if (kp->sandbox_ready && sandbox_running(k, kp))
		return 0;
	int64_t now = kubelet_now_ms();
	if (kp->sandbox_backoff_until > now) {
		*requeue_ms = kp->sandbox_backoff_until - now;
		return -1;
	}
	bool hostnet = host_network(pod);
	pthread_mutex_lock(&k->mu);
	bool net = k->network_ready;
	cleanup_free char *net_msg = k->network_message ? xstrdup(k->network_message) : NULL;
	pthread_mutex_unlock(&k->mu);
	if (!hostnet && !net) {
		if (!kp->sandbox_error || strcmp(kp->sandbox_error, "NetworkNotReady")) {
			kubelet_event(k, pod, NULL, "Warning", "NetworkNotReady",
				      "network is not ready: %s", net_msg ? net_msg : "");
			free(kp->sandbox_error);
			kp->sandbox_error = xstrdup("NetworkNotReady");
		}
		*requeue_ms = 2000;
		return -1;
	}
	if (kp->sandbox_id) {
		/* It died (or the node rebooted): everything restarts in a new one. */
		log_info("No ready sandbox for pod %s/%s can be found. Need to start a new one",
			 kp->ns, kp->name);
		containers_kill_all(k, kp, pod, 0);
		cleanup_err struct mk_err *serr = NULL;
		sandbox_stop(k, kp, &serr);
		kp->sandbox_attempt++;
	}
	cleanup_err struct mk_err *err = NULL;
	if (create_sandbox(k, kp, pod, &err) < 0) {
		sandbox_failed(k, kp, pod, mk_err_msg(err), requeue_ms);
		return -1;
	}
	if (!kp->pause_job)
		sandbox_made(k, kp);
	return 0;
}

int sandbox_finish(struct kubelet *k, struct kpod *kp, const json_t *pod, int64_t *requeue_ms)
{
	struct pause_job *pj = kp->pause_job;
	if (!pj)
		return 0;
	kp->pause_job = NULL;
	pid_t pid = 0;
	int64_t ms = 0;
	cleanup_err struct mk_err *err = NULL;
	if (pause_join(pj, &pid, &ms, &err) < 0) {
		/* what started in its namespaces goes with it */
		containers_kill_all(k, kp, pod, 0);
		sandbox_undo(k, kp, pod, false, true);
		cleanup_free char *shm = xasprintf("%s/pods/%s/shm", k->cfg.root_dir, kp->uid);
		umount2(shm, MNT_DETACH);
		sandbox_failed(k, kp, pod, mk_err_msg(err), requeue_ms);
		return -1;
	}
	kp->sandbox_pid = pid;
	log_v(4, "pod %s/%s: pause container %s up after %lld ms", kp->ns, kp->name,
	      kp->sandbox_id, (long long)ms);
	sandbox_made(k, kp);
	return 0;
}

int sandbox_stop(struct kubelet *k, struct kpod *kp, struct mk_err **err)
{
	(void)err;
	pthread_mutex_lock(&k->mu);
	kp->sandbox_ready = false;
	pthread_mutex_unlock(&k->mu);
	if (!kp->sandbox_id)
		return 0;
	cleanup_err struct mk_err *e = NULL;
	if (runtime_stop(k->rt, kp->sandbox_id, SIGKILL, 0, &e) < 0 &&
	    mk_err_code(e) != MK_ENOTFOUND)
		log_warn("pod %s/%s: stopping the sandbox: %s", kp->ns, kp->name, mk_err_msg(e));
	mk_err_free(e);
	e = NULL;
	if (runtime_delete(k->rt, kp->sandbox_id, &e) < 0)
		log_warn("pod %s/%s: deleting the sandbox: %s", kp->ns, kp->name, mk_err_msg(e));
	imagestore_release(k->images, kp->sandbox_id, NULL);
	cleanup_free char *bundle = sandbox_dir(k, kp);
	rootfs_release(bundle);
	network_down(k, kp, kp->pod);
	pins_remove(k, kp);
	cleanup_free char *shm = xasprintf("%s/pods/%s/shm", k->cfg.root_dir, kp->uid);
	umount2(shm, MNT_DETACH);
	pthread_mutex_lock(&k->mu);
	free(kp->netns);
	kp->netns = NULL;
	pthread_mutex_unlock(&k->mu);
	return 0;
}
