/* kubelet: runs the pods of one node — static pods from --pod-manifest-path,
 * and with --kubeconfig the pods the API server binds to this node — in
 * runc containers wired by CNI, and reports them and the node. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "client.h"
#include "daemon.h"
#include "events.h"
#include "fsutil.h"
#include "imagestore.h"
#include "kubeconfig.h"
#include "log.h"
#include "version.h"
#include "xalloc.h"
#include "kubelet/cgroups.h"
#include "kubelet/kubelet-internal.h"
#include "kubelet/ocispec.h"
#include "kubelet/runtime.h"
#include "kubelet/staticpods.h"
#include "kubelet/streaming.h"

#define POD_WORKERS 16

/* Upstream's fatal start-up errors: one klog line, exit 1. */
static int fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_line('E', __FILE__, __LINE__, "\"command failed\" err=\"%s\"", msg);
	return 1;
}

static bool swap_on(void)
{
	cleanup_free char *text = fs_read_file("/proc/swaps", 1 << 20, NULL, NULL);
	if (!text)
		return false;
	char *nl = strchr(text, '\n'); /* the header line */
	return nl && nl[1] != '\0';
}

static int load_config_file(struct kubelet *k, const struct flag *flags)
{
	if (!k->cfg.config_file || !*k->cfg.config_file)
		return 0;
	size_t len = 0;
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *text = fs_read_file(k->cfg.config_file, 1 << 20, &len, &err);
	if (!text)
		return fatal("failed to load kubelet config file, path: %s, error: %s",
			     k->cfg.config_file, mk_err_msg(err));
	if (kconfig_apply_file(&k->cfg, text, len, flags, &err) < 0)
		return fatal("failed to load kubelet config file, path: %s, error: %s",
			     k->cfg.config_file, mk_err_msg(err));
	return 0;
}

static int open_client(struct kubelet *k)
{
	if (!k->cfg.kubeconfig || !*k->cfg.kubeconfig) {
		log_warn("standalone mode, no API client");
		return 0;
	}
	cleanup_err struct mk_err *err = NULL;
	struct kubeconfig *kc = kubeconfig_load(k->cfg.kubeconfig, &err);
	if (!kc)
		return fatal("invalid kubeconfig: %s", mk_err_msg(err));
	struct client *c = client_new(NULL, kc, &err);
	kubeconfig_free(kc);
	if (!c)
		return fatal("failed to construct kubelet dependencies: %s", mk_err_msg(err));
	daemon_set_client(k->d, c);
	k->c = c;
	/* Events go out from a thread and a client of their own: a pod's
	 * start does not wait on its Pulled, Created and Started POSTs. */
	struct client *ec = daemon_client_new(k->d, &err);
	if (!ec || events_start_async(ec, &err) < 0)
		return fatal("failed to construct kubelet dependencies: starting the event "
			     "recorder: %s",
			     mk_err_msg(err));
	return 0;
}

static int open_runtime(struct kubelet *k)
{
	cleanup_err struct mk_err *err = NULL;
	cleanup_free char *state = xasprintf("%s/containers", k->cfg.run_dir);
	cleanup_free char *rroot = xasprintf("%s/%s", k->cfg.run_dir, "runc");
	struct runtime_opts ro = {
		.binary = k->cfg.container_runtime,
		.root = rroot,
		.state_dir = state,
	};
	k->rt = runtime_new(&ro, &err);
	if (!k->rt)
		return fatal("failed to run Kubelet: %s", mk_err_msg(err));
	k->runtime_version = xstrdup(runtime_version(k->rt));
	k->runtime_name = xstrdup(runtime_name(k->rt));
	k->oom_restricted = ocispec_oom_restricted(&k->oom_floor);
	k->swap_accounting = access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
	k->cg = cgroups_detect(&err);
	if (!k->cg)
		log_warn("cgroups unavailable, pods run without resource limits: %s",
			 mk_err_msg(err));
	mk_err_free(err);
	err = NULL;
	k->images = imagestore_open(k->cfg.root_dir, &err);
	if (!k->images)
		return fatal("failed to run Kubelet: opening the image store: %s", mk_err_msg(err));
	return 0;
}

static int start_sources(struct kubelet *k)
{
	cleanup_err struct mk_err *err = NULL;
	if (k->c) {
		if (kubelet_api_source_start(k, &err) < 0)
			return fatal("%s", mk_err_msg(err));
		struct informer_handlers h = {.on_add = kubelet_object_changed,
					      .on_update = kubelet_object_updated,
					      .on_delete = kubelet_object_changed,
					      .arg = k};
		k->cm_inf = daemon_informer(k->d, "/api/v1/configmaps", NULL, NULL, &h, &err);
		k->secret_inf =
			k->cm_inf ? daemon_informer(k->d, "/api/v1/secrets", NULL, NULL, &h, &err)
				  : NULL;
		if (!k->cm_inf || !k->secret_inf)
			return fatal("%s", mk_err_msg(err));
		if (statusmgr_start(k, &err) < 0)
			return fatal("%s", mk_err_msg(err));
	}
	if (k->cfg.static_pod_path && *k->cfg.static_pod_path) {
		k->static_src = staticpods_new(k->cfg.static_pod_path, k->node_name,
					       kubelet_static_changed, k);
		if (staticpods_start(k->static_src, k->cfg.file_check_frequency_ms, &err) < 0)
			return fatal("%s", mk_err_msg(err));
	}
	return 0;
}

static int start_loops(struct kubelet *k)
{
	cleanup_err struct mk_err *err = NULL;
	k->podq = workqueue_new_with_backoff(1000, 30000);
	if (daemon_workers(k->d, "pod", k->podq, POD_WORKERS, kubelet_sync_pod, k, &err) < 0 ||
	    daemon_every(k->d, "network", 1000, true, network_tick, k, &err) < 0 ||
	    daemon_every(k->d, "housekeeping", 2000, false, housekeeping_tick, k, &err) < 0 ||
	    daemon_every(k->d, "resync", k->cfg.sync_frequency_ms, false, resync_tick, k, &err) <
		    0 ||
	    daemon_every(k->d, "logs", 10000, false, logs_rotate_tick, k, &err) < 0 ||
	    daemon_every(k->d, "image-gc", 300000, false, images_gc_tick, k, &err) < 0)
		return fatal("%s", mk_err_msg(err));
	if (k->c && k->cfg.register_node &&
	    (node_status_start(k, &err) < 0 ||
	     daemon_every(k->d, "node-lease", k->cfg.node_lease_duration_s * 250, true,
			  node_lease_tick, k, &err) < 0 ||
	     daemon_every(k->d, "mirror-pods", 10000, false, statusmgr_resync_mirrors, k, &err) <
		     0))
		return fatal("%s", mk_err_msg(err));
	if (exits_watch_start(k, &err) < 0 || containers_prober_start(k, &err) < 0 ||
	    server_start(k, &err) < 0)
		return fatal("%s", mk_err_msg(err));
	return 0;
}

/* Upstream's kubelet parses its own flags and reports a bad one as a failed
 * command, exit status 1. */
static int flag_error(const char *msg)
{
	return fatal("failed to parse kubelet flag: %s", msg);
}

int main(int argc, char **argv)
{
	static struct kubelet k;
	kconfig_defaults(&k.cfg);
	cleanup_free struct flag *flags = kconfig_flags(&k.cfg);
	struct daemon_config dc = {
		.name = "kubelet",
		.summary =
			"The kubelet is the primary \"node agent\" that runs on each node. It runs "
			"the pods of the node: static pods from --pod-manifest-path and, with "
			"--kubeconfig, the pods the API server binds to the node.",
		.flags = flags,
		.flag_error = flag_error,
		/* the node's budget (issue: 25 MB with 30 pods); its threads
		 * mostly wait on the runtime, not on malloc's locks */
		.malloc_arenas = 2,
	};
	int rc = 0;
	k.d = daemon_new(&dc, argc, argv, &rc);
	if (!k.d)
		return rc;
	if (load_config_file(&k, flags))
		return 1;
	kconfig_finish(&k.cfg);
	cleanup_err struct mk_err *err = NULL;
	if (kconfig_validate(&k.cfg, &err) < 0 || node_check_flags(&k.cfg, &err) < 0)
		return fatal("%s", mk_err_msg(err));
	if (k.cfg.fail_swap_on && swap_on())
		return fatal("failed to run Kubelet: running with swap on is not supported, please "
			     "disable swap or set --fail-swap-on flag to false");
	if (fs_mkdir_p(k.cfg.root_dir, 0750, &err) < 0)
		return fatal("%s", mk_err_msg(err));
	pthread_mutex_init(&k.mu, NULL);
	pthread_mutex_init(&k.pull_mu, NULL);
	k.mirrors = json_object();
	k.start_time = time(NULL);
	k.node_name = kconfig_node_name(&k.cfg);
	k.node_ip = k.cfg.node_ip && *k.cfg.node_ip ? xstrdup(k.cfg.node_ip) : node_default_ip();
	if (k.cfg.pod_cidr && *k.cfg.pod_cidr)
		k.pod_cidr = xstrdup(k.cfg.pod_cidr);
	node_facts_init(&k);
	log_info("Version: %s", MK_GIT_VERSION);
	if (open_runtime(&k) || open_client(&k))
		return 1;
	if (recover_state(&k, &err) < 0)
		return fatal("failed to run Kubelet: recovering the pods already running: %s",
			     mk_err_msg(err));
	if (start_loops(&k) || start_sources(&k))
		return 1;
	log_info("Started kubelet on node %s", k.node_name);
	rc = daemon_run(k.d);
	/* Containers outlive the kubelet: nothing of the pods is stopped here. */
	log_info("Shutting down kubelet");
	staticpods_free(k.static_src);
	daemon_free(k.d);
	streaming_free(k.streaming); /* after the HTTP servers, which call into it */
	return rc;
}
