/* The Node: registration, status (addresses, capacity, conditions, node
 * info, images) and the heartbeat Lease in kube-node-lease, as upstream's
 * kubelet keeps them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "netlink.h"
#include "quantity.h"
#include "timefmt.h"
#include "version.h"
#include "xalloc.h"
#include "kubelet/kubelet-internal.h"

static char *read_line(const char *path)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* PRETTY_NAME of /etc/os-release, as upstream's osImage. */
static char *os_image(void)
{
	cleanup_fclose FILE *f = fopen("/etc/os-release", "re");
	if (!f)
		return xstrdup("Linux");
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		char *v = line + 12;
		v[strcspn(v, "\n")] = '\0';
		size_t len = strlen(v);
		if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
			v[len - 1] = '\0';
			v++;
		}
		return xstrdup(v);
	}
	return xstrdup("Linux");
}

static int64_t meminfo_kib(const char *key)
{
	cleanup_fclose FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	char line[256];
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			return strtoll(line + klen + 1, NULL, 10);
	return 0;
}

void node_facts_init(struct kubelet *k)
{
	k->machine_id = read_line("/etc/machine-id");
	if (!k->machine_id)
		k->machine_id = xstrdup("");
	k->boot_id = read_line("/proc/sys/kernel/random/boot_id");
	if (!k->boot_id)
		k->boot_id = xstrdup("");
	struct utsname u;
	k->kernel_version = xstrdup(uname(&u) == 0 ? u.release : "");
	k->os_image = os_image();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	k->cpu_milli = (cpus > 0 ? cpus : 1) * 1000;
	k->memory_bytes = meminfo_kib("MemTotal") * 1024;
}

/* The IPv4 address of the interface behind the default route, as upstream
 * picks the node IP when --node-ip is not given. New string or NULL. */
static int default_ip(struct nl_sock *s, void *arg, struct mk_err **err)
{
	char **out = arg;
	struct nl_route *routes = NULL;
	size_t nr = 0;
	if (nl_route_list(s, AF_INET, 0, &routes, &nr, err) < 0)
		return -1;
	int oif = 0;
	for (size_t i = 0; i < nr; i++)
		if (routes[i].dst_len == 0 && routes[i].oif) {
			oif = routes[i].oif;
			break;
		}
	free(routes);
	struct nl_addr *addrs = NULL;
	size_t na = 0;
	if (nl_addr_list(s, oif, AF_INET, &addrs, &na, err) < 0)
		return -1;
	for (size_t i = 0; i < na; i++) {
		if (addrs[i].addr[0] == 127)
			continue;
		char text[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, addrs[i].addr, text, sizeof(text));
		*out = xstrdup(text);
		break;
	}
	free(addrs);
	return 0;
}

char *node_default_ip(void)
{
	char *ip = NULL;
	cleanup_err struct mk_err *err = NULL;
	if (nl_netns_run(-1, default_ip, &ip, &err) < 0)
		log_warn("finding the node's address: %s", mk_err_msg(err));
	return ip;
}

static json_t *quantity(int64_t units, bool binary)
{
	char *s = quantity_format_milli(units * 1000, binary);
	json_t *v = json_string(s);
	free(s);
	return v;
}

static json_t *capacity(struct kubelet *k)
{
	json_t *c = json_object();
	json_object_set_new(c, "cpu", quantity(k->cpu_milli / 1000, false));
	cleanup_free char *mem = xasprintf("%lldKi", (long long)(k->memory_bytes / 1024));
	json_object_set_new(c, "memory", json_string(mem));
	json_object_set_new(c, "pods", quantity(k->cfg.max_pods, false));
	struct statvfs sv;
	if (statvfs(k->cfg.root_dir, &sv) == 0) {
		cleanup_free char *eph =
			xasprintf("%lluKi", (unsigned long long)sv.f_blocks * sv.f_frsize / 1024);
		json_object_set_new(c, "ephemeral-storage", json_string(eph));
	}
	json_object_set_new(c, "hugepages-1Gi", json_string("0"));
	json_object_set_new(c, "hugepages-2Mi", json_string("0"));
	return c;
}

static json_t *condition(const json_t *old_conds, const char *type, bool status,
			 const char *reason, const char *message, const char *now)
{
	const char *st = status ? "True" : "False";
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", st,
			      "lastHeartbeatTime", now, "lastTransitionTime", now, "reason", reason,
			      "message", message);
	size_t i;
	json_t *o;
	json_array_foreach(old_conds, i, o)
	{
		const char *t = json_string_value(json_object_get(o, "type"));
		const char *s = json_string_value(json_object_get(o, "status"));
		json_t *ltt = json_object_get(o, "lastTransitionTime");
		if (t && s && !strcmp(t, type) && !strcmp(s, st) && json_is_string(ltt))
			json_object_set(c, "lastTransitionTime", ltt);
	}
	return c;
}

json_t *node_status(struct kubelet *k, const json_t *old_status)
{
	cleanup_free char *now = time_now_rfc3339();
	json_t *st = json_object();
	json_t *cap = capacity(k);
	json_object_set_new(st, "capacity", cap);
	json_object_set_new(st, "allocatable", json_copy_deep(cap));
	const json_t *old = json_object_get(old_status, "conditions");
	json_t *conds = json_array();
	json_array_append_new(conds, condition(old, "MemoryPressure", false,
					       "KubeletHasSufficientMemory",
					       "kubelet has sufficient memory available", now));
	json_array_append_new(conds, condition(old, "DiskPressure", false, "KubeletHasNoDiskPressure",
					       "kubelet has no disk pressure", now));
	json_array_append_new(conds, condition(old, "PIDPressure", false, "KubeletHasSufficientPID",
					       "kubelet has sufficient PID available", now));
	pthread_mutex_lock(&k->mu);
	bool net = k->network_ready;
	cleanup_free char *net_msg = k->network_message ? xstrdup(k->network_message) : NULL;
	pthread_mutex_unlock(&k->mu);
	if (net)
		json_array_append_new(conds, condition(old, "Ready", true, "KubeletReady",
						       "kubelet is posting ready status", now));
	else
		json_array_append_new(conds, condition(old, "Ready", false, "KubeletNotReady",
						       net_msg ? net_msg : "container runtime network not ready",
						       now));
	json_object_set_new(st, "conditions", conds);
	json_t *addrs = json_array();
	if (k->node_ip)
		json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "InternalIP", "address",
						       k->node_ip));
	json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "Hostname", "address",
					       k->node_name));
	json_object_set_new(st, "addresses", addrs);
	json_object_set_new(st, "daemonEndpoints",
			    json_pack("{s:{s:I}}", "kubeletEndpoint", "Port", (json_int_t)k->cfg.port));
	cleanup_free char *rtv = xasprintf("%s://%s", k->runtime_name ? k->runtime_name : "runc",
					   k->runtime_version ? k->runtime_version : "");
	json_object_set_new(
		st, "nodeInfo",
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "machineID",
			  k->machine_id, "systemUUID", k->machine_id, "bootID", k->boot_id,
			  "kernelVersion", k->kernel_version, "osImage", k->os_image,
			  "containerRuntimeVersion", rtv, "kubeletVersion", MK_GIT_VERSION,
			  "kubeProxyVersion", MK_GIT_VERSION, "operatingSystem", "linux",
			  "architecture", "amd64"));
	json_t *images = node_images(k);
	if (images)
		json_object_set_new(st, "images", images);
	return st;
}

/* "k=v,k2=v2" into obj; MK_EINVAL for a pair without '='. */
static int parse_labels(const char *text, json_t *obj, struct mk_err **err)
{
	if (!text || !*text)
		return 0;
	cleanup_free char *copy = xstrdup(text);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			return mk_err_set(err, MK_EINVAL, "invalid label \"%s\": expected key=value", t);
		*eq = '\0';
		json_object_set_new(obj, t, json_string(eq + 1));
	}
	return 0;
}

/* "key=value:Effect,key:Effect" into an array of taints. */
static int parse_taints(const char *text, json_t *arr, struct mk_err **err)
{
	if (!text || !*text)
		return 0;
	cleanup_free char *copy = xstrdup(text);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(t, ':');
		if (!colon)
			return mk_err_set(err, MK_EINVAL, "invalid taint spec: %s", t);
		*colon = '\0';
		const char *effect = colon + 1;
		if (strcmp(effect, "NoSchedule") && strcmp(effect, "PreferNoSchedule") &&
		    strcmp(effect, "NoExecute"))
			return mk_err_set(err, MK_EINVAL, "invalid taint effect: %s, unsupported taint "
					  "effect", effect);
		char *eq = strchr(t, '=');
		json_t *taint = json_pack("{s:s, s:s}", "key", t, "effect", effect);
		if (eq) {
			*eq = '\0';
			json_object_set_new(taint, "key", json_string(t));
			json_object_set_new(taint, "value", json_string(eq + 1));
		}
		json_array_append_new(arr, taint);
	}
	return 0;
}

int node_check_flags(const struct kconfig *c, struct mk_err **err)
{
	cleanup_json json_t *l = json_object(), *t = json_array();
	if (parse_labels(c->node_labels, l, err) < 0 || parse_taints(c->register_with_taints, t, err) < 0)
		return -1;
	return 0;
}

static json_t *node_object(struct kubelet *k)
{
	json_t *labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kubernetes.io/hostname",
				   k->node_name, "kubernetes.io/os", "linux", "kubernetes.io/arch",
				   "amd64", "beta.kubernetes.io/os", "linux", "beta.kubernetes.io/arch",
				   "amd64");
	parse_labels(k->cfg.node_labels, labels, NULL);
	json_t *spec = json_object();
	json_t *taints = json_array();
	parse_taints(k->cfg.register_with_taints, taints, NULL);
	if (json_array_size(taints))
		json_object_set_new(spec, "taints", taints);
	else
		json_decref(taints);
	if (k->cfg.provider_id && *k->cfg.provider_id)
		json_object_set_new(spec, "providerID", json_string(k->cfg.provider_id));
	return json_pack("{s:s, s:s, s:{s:s, s:o}, s:o, s:o}", "apiVersion", "v1", "kind", "Node",
			 "metadata", "name", k->node_name, "labels", labels, "spec", spec,
			 "status", node_status(k, NULL));
}

static void learn_pod_cidr(struct kubelet *k, const json_t *node)
{
	const char *cidr = json_string_value(json_path_get(node, "spec.podCIDR"));
	if (!cidr || !*cidr)
		return;
	pthread_mutex_lock(&k->mu);
	if (!k->pod_cidr || strcmp(k->pod_cidr, cidr)) {
		log_info("Updating Pod CIDR: %s (was %s)", cidr, k->pod_cidr ? k->pod_cidr : "");
		free(k->pod_cidr);
		k->pod_cidr = xstrdup(cidr);
	}
	pthread_mutex_unlock(&k->mu);
}

static int register_node(struct kubelet *k, struct mk_err **err)
{
	cleanup_json json_t *node = node_object(k);
	cleanup_err struct mk_err *cerr = NULL;
	cleanup_json json_t *made = client_create(k->c, "/api/v1/nodes", node, &cerr);
	if (made) {
		log_info("Successfully registered node %s", k->node_name);
		learn_pod_cidr(k, made);
		return 0;
	}
	if (mk_err_code(cerr) != MK_EEXISTS)
		return mk_err_set(err, mk_err_code(cerr), "Unable to register node with API server: %s",
				  mk_err_msg(cerr));
	/* Already there (a restart, or another kubelet of the same name):
	 * our labels win, as upstream reconciles them. */
	cleanup_free char *path = xasprintf("/api/v1/nodes/%s", k->node_name);
	cleanup_json json_t *patch = json_pack("{s:{s:O}}", "metadata", "labels",
					       json_path_get(node, "metadata.labels"));
	cleanup_json json_t *out = client_patch(k->c, path, "merge", patch, err);
	if (!out)
		return -1;
	log_info("Node %s was previously registered", k->node_name);
	learn_pod_cidr(k, out);
	return 0;
}

/* Registers once, then posts the status when it changed (or the report
 * period passed). -1 (with *err) while the node is not registered. */
static int node_status_sync(struct kubelet *k, struct mk_err **rerr)
{
	cleanup_err struct mk_err *err = NULL;
	if (!k->node_registered) {
		if (register_node(k, rerr) < 0)
			return -1;
		k->node_registered = true;
		/* the Lease's first renewal would otherwise wait for its tick */
		node_lease_tick(k);
	}
	cleanup_json json_t *st = node_status(k, k->node_last_status);
	/* Post when something other than heartbeat times changed, or the
	 * report period passed; the Lease is the heartbeat in between. */
	cleanup_json json_t *cmp_new = json_copy_deep(st),
			    *cmp_old = json_copy_deep(k->node_last_status);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(cmp_new, "conditions"), i, c)
		json_object_del(c, "lastHeartbeatTime");
	json_array_foreach(json_object_get(cmp_old, "conditions"), i, c)
		json_object_del(c, "lastHeartbeatTime");
	int64_t now = kubelet_now_ms();
	if (k->node_last_status && json_equal(cmp_new, cmp_old) &&
	    now - k->node_last_post_ms < k->cfg.node_status_report_frequency_ms)
		return 0;
	cleanup_free char *path = xasprintf("/api/v1/nodes/%s/status", k->node_name);
	cleanup_json json_t *patch = json_pack("{s:O}", "status", st);
	cleanup_json json_t *out = client_patch(k->c, path, "strategic", patch, &err);
	if (!out) {
		if (mk_err_code(err) == MK_ENOTFOUND)
			k->node_registered = false; /* deleted: register again */
		log_warn("Error updating node status, will retry: %s", mk_err_msg(err));
		return 0;
	}
	learn_pod_cidr(k, out);
	json_decref(k->node_last_status);
	k->node_last_status = json_incref(st);
	k->node_last_post_ms = now;
	return 0;
}

/* Whether the last status the API server took says Ready. */
static bool posted_ready(const struct kubelet *k)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(k->node_last_status, "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

/* Waits ms, or less when kicked or stopping. */
static void status_wait(struct kubelet *k, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&k->status_mu);
	while (!k->status_kicked && !daemon_stopping(k->d))
		if (pthread_cond_timedwait(&k->status_cond, &k->status_mu, &ts) == ETIMEDOUT)
			break;
	k->status_kicked = false;
	pthread_mutex_unlock(&k->status_mu);
}

void node_status_kick(struct kubelet *k)
{
	pthread_mutex_lock(&k->status_mu);
	k->status_kicked = true;
	pthread_cond_broadcast(&k->status_cond);
	pthread_mutex_unlock(&k->status_mu);
}

static void status_wake(void *arg)
{
	node_status_kick(arg);
}

/* Registration is retried every 100 ms for the first 3 s (a cluster
 * started at once: the API server is coming up beside the kubelet; only
 * the first failure is logged then), later from 100 ms doubling up to 7 s
 * as upstream. Then, until the node is Ready (for at most 2 minutes, as
 * upstream's fast status update), the runtime's network readiness is
 * checked and the status synced every 100 ms, so that Ready is posted at
 * once, not at the next update period. */
#define REGISTER_EAGER_FOR_MS	3000
#define REGISTER_BACKOFF_MIN_MS 100
#define REGISTER_BACKOFF_MAX_MS 7000
#define FAST_STATUS_MS		100
#define FAST_STATUS_FOR_MS	120000

static void status_loop(void *arg)
{
	struct kubelet *k = arg;
	int64_t start = kubelet_now_ms();
	int64_t backoff = REGISTER_BACKOFF_MIN_MS;
	bool fast = true;
	int failures = 0;
	while (!daemon_stopping(k->d)) {
		if (fast)
			network_tick(k);
		cleanup_err struct mk_err *err = NULL;
		if (node_status_sync(k, &err) < 0) {
			bool eager = kubelet_now_ms() - start < REGISTER_EAGER_FOR_MS;
			if (!eager || failures++ == 0)
				log_warn("%s", mk_err_msg(err));
			if (eager) {
				status_wait(k, REGISTER_BACKOFF_MIN_MS);
				continue;
			}
			status_wait(k, backoff);
			backoff = backoff * 2 > REGISTER_BACKOFF_MAX_MS ? REGISTER_BACKOFF_MAX_MS
									: backoff * 2;
			continue;
		}
		backoff = REGISTER_BACKOFF_MIN_MS;
		fast = fast && !posted_ready(k) && kubelet_now_ms() - start < FAST_STATUS_FOR_MS;
		status_wait(k, fast ? FAST_STATUS_MS : k->cfg.node_status_update_frequency_ms);
	}
}

int node_status_start(struct kubelet *k, struct mk_err **err)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&k->status_mu, NULL);
	pthread_cond_init(&k->status_cond, &ca);
	pthread_condattr_destroy(&ca);
	return daemon_thread(k->d, "node-status", true, status_loop, status_wake, k, err);
}

void node_lease_tick(void *arg)
{
	struct kubelet *k = arg;
	if (!k->c || !k->node_registered)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	cleanup_free char *now = time_rfc3339_micro(&ts);
	cleanup_free char *path =
		xasprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s",
			  k->node_name);
	cleanup_err struct mk_err *err = NULL;
	cleanup_json json_t *patch = json_pack("{s:{s:s, s:I, s:s}}", "spec", "holderIdentity",
					       k->node_name, "leaseDurationSeconds",
					       (json_int_t)k->cfg.node_lease_duration_s, "renewTime", now);
	cleanup_json json_t *out = client_patch(k->c, path, "merge", patch, &err);
	if (out)
		return;
	if (mk_err_code(err) != MK_ENOTFOUND) {
		log_warn("failed to update lease: %s", mk_err_msg(err));
		return;
	}
	mk_err_free(err);
	err = NULL;
	cleanup_free char *npath = xasprintf("/api/v1/nodes/%s", k->node_name);
	cleanup_json json_t *node = client_get(k->c, npath, &err);
	const char *uid = json_string_value(json_path_get(node, "metadata.uid"));
	mk_err_free(err);
	err = NULL;
	cleanup_json json_t *lease = json_pack(
		"{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s}}", "apiVersion", "coordination.k8s.io/v1",
		"kind", "Lease", "metadata", "name", k->node_name, "namespace", "kube-node-lease",
		"spec", "holderIdentity", k->node_name, "leaseDurationSeconds",
		(json_int_t)k->cfg.node_lease_duration_s, "renewTime", now);
	if (uid)
		json_object_set_new(json_object_get(lease, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind",
					      "Node", "name", k->node_name, "uid", uid));
	cleanup_json json_t *made = client_create(
		k->c, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease, &err);
	if (!made && mk_err_code(err) != MK_EEXISTS)
		log_warn("failed to create lease: %s", mk_err_msg(err));
}
