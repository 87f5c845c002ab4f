/* kubelet/ocispec: config.json of sandboxes and containers, compared with
 * golden files in tests/fixtures/kubelet/ (UPDATE_GOLDEN=1 rewrites them),
 * plus the rules checked field by field: command/args combination, $(VAR)
 * expansion, users from the image's /etc/passwd and /etc/group, and the
 * refusals (runAsNonRoot, no command, unknown users). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "kubelet/ocispec.h"

#define UID	   "8f7a1c2e-0d7e-4f3b-9a55-1f1e2d3c4b5a"
#define PODDIR	   "/var/lib/kubelet/pods/" UID
#define SANDBOX_ID "k8s_POD_web_default_" UID "_0"

static char *fixture_path(const char *name)
{
	const char *root = getenv("MK_ROOT");
	char *p = NULL;
	if (asprintf(&p, "%s/tests/fixtures/kubelet/%s", root ? root : ".", name) < 0)
		abort();
	return p;
}

static void golden(const json_t *spec, const char *name)
{
	cleanup_free char *text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	cleanup_free char *want = NULL;
	if (asprintf(&want, "%s\n", text) < 0)
		abort();
	cleanup_free char *path = fixture_path(name);
	const char *update = getenv("UPDATE_GOLDEN");
	if (update && !strcmp(update, "1")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_true(fputs(want, f) >= 0);
		assert_int_equal(fclose(f), 0);
	}
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("golden file %s missing (UPDATE_GOLDEN=1 writes it)", path);
	cleanup_free char *have = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&have, &cap, '\0', f);
	fclose(f);
	assert_true(n >= 0);
	if (strcmp(have, want))
		fail_msg("%s differs from the golden file; got:\n%s", path, want);
}

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);
	if (!v)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return v;
}

static const char pod_text[] =
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"" UID "\"},"
	"\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\","
	"\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"},"
	"\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}},"
	"\"terminationMessagePath\":\"/dev/termination-log\"}],"
	"\"securityContext\":{\"fsGroup\":2000,\"supplementalGroups\":[3000],"
	"\"sysctls\":[{\"name\":\"net.ipv4.ip_unprivileged_port_start\",\"value\":\"0\"}]}}}";

static const char pause_image[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\","
	"\"config\":{\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\"}}";

static const char nginx_image[] =
	"{\"config\":{\"ExposedPorts\":{\"80/tcp\":{}},"
	"\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"\"NGINX_VERSION=1.22.1\"],"
	"\"Cmd\":[\"nginx\",\"-g\",\"daemon "
	"off;\"],\"WorkingDir\":\"/\",\"StopSignal\":\"SIGQUIT\"}}";

struct fixture {
	json_t *pod;
	json_t *image;
	struct ocispec_input in;
	struct ocispec_users users;
	char *etc_root;
	struct ocispec_mount mounts[2];
	struct ocispec_env env[3];
};

static void fixture_init(struct fixture *f, const char *pod, const char *image, bool sandbox)
{
	memset(f, 0, sizeof(*f));
	f->pod = load(pod);
	f->image = load(image);
	f->etc_root = fixture_path("rootfs");
	f->users = ocispec_rootfs_users(f->etc_root);
	f->in = (struct ocispec_input){
		.pod = f->pod,
		.image_config = f->image,
		.sandbox_id = SANDBOX_ID,
		.netns_path = "/var/run/netns/cni-1b2c3d4e",
		.hostname = "web",
		.shm_path = PODDIR "/shm",
		.swap_accounting = true,
		.memory_capacity = 4294967296ULL,
		.users = &f->users,
	};
	if (sandbox) {
		f->in.container_id = SANDBOX_ID;
		f->in.rootfs = PODDIR "/sandbox/rootfs";
		f->in.cgroups_path = "/kubepods/burstable/pod" UID "/" SANDBOX_ID;
		return;
	}
	f->in.container = json_path_get(f->pod, "spec.containers.0");
	f->in.container_id = "k8s_nginx_web_default_" UID "_0";
	f->in.rootfs = PODDIR "/containers/nginx/rootfs";
	f->in.sandbox_pid = 4242;
	f->in.hosts_path = PODDIR "/etc-hosts";
	f->in.resolv_path = PODDIR "/resolv.conf";
	f->in.hostname_path = PODDIR "/hostname";
	f->in.termination_log_path = PODDIR "/containers/nginx/0a1b2c3d";
	f->in.cgroups_path = "/kubepods/burstable/pod" UID "/k8s_nginx_web_default_" UID "_0";
	f->mounts[0] =
		(struct ocispec_mount){.host_path = PODDIR "/volumes/kubernetes.io~empty-dir/cache",
				       .container_path = "/var/cache/nginx"};
	f->mounts[1] =
		(struct ocispec_mount){.host_path = PODDIR "/volumes/kubernetes.io~configmap/conf",
				       .container_path = "/etc/nginx/conf.d",
				       .read_only = true};
	f->in.mounts = f->mounts;
	f->in.n_mounts = 2;
	f->env[0] = (struct ocispec_env){.name = "KUBERNETES_SERVICE_HOST", .value = "10.96.0.1"};
	f->env[1] = (struct ocispec_env){.name = "GREETING", .value = "hello", .expand = true};
	f->env[2] = (struct ocispec_env){
		.name = "MESSAGE", .value = "$(GREETING) from $(HOSTNAME)", .expand = true};
	f->in.env = f->env;
	f->in.n_env = 3;
}

static void fixture_free(struct fixture *f)
{
	json_decref(f->pod);
	json_decref(f->image);
	free(f->etc_root);
}

static json_t *build_ok(const struct ocispec_input *in)
{
	cleanup_err struct mk_err *err = NULL;
	json_t *spec = ocispec_build(in, &err);
	if (!spec)
		fail_msg("ocispec_build: %s", mk_err_msg(err));
	return spec;
}

static void build_fails(const struct ocispec_input *in, const char *msg)
{
	cleanup_err struct mk_err *err = NULL;
	json_t *spec = ocispec_build(in, &err);
	if (spec) {
		json_decref(spec);
		fail_msg("ocispec_build succeeded; expected \"%s\"", msg);
	}
	assert_int_equal(mk_err_code(err), MK_EINVAL);
	assert_string_equal(mk_err_msg(err), msg);
}

static void test_sandbox(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, pause_image, true);
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "sandbox.json");
	/* pause's "65535:65535" is taken as is; no additional gids but the pod's */
	assert_int_equal(json_integer_value(json_path_get(spec, "process.user.uid")), 65535);
	assert_int_equal(json_integer_value(json_path_get(spec, "process.user.gid")), 65535);
	fixture_free(&f);
}

static void test_nginx(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "nginx.json");
	fixture_free(&f);
}

/* process.args of the nginx container with command/args set as given. */
static json_t *args_with(const char *command, const char *args, const char *image)
{
	struct fixture f;
	fixture_init(&f, pod_text, image ? image : nginx_image, false);
	json_t *c = (json_t *)f.in.container;
	if (command)
		json_object_set_new(c, "command", load(command));
	if (args)
		json_object_set_new(c, "args", load(args));
	cleanup_json json_t *spec = build_ok(&f.in);
	json_t *a = json_incref(json_path_get(spec, "process.args"));
	fixture_free(&f);
	return a;
}

static void expect_args(const char *command, const char *args, const char *image, const char *want)
{
	cleanup_json json_t *got = args_with(command, args, image);
	cleanup_json json_t *w = load(want);
	if (!json_equal(got, w)) {
		cleanup_free char *g = json_dumps(got, JSON_COMPACT);
		fail_msg("command %s args %s: got %s want %s", command ? command : "-",
			 args ? args : "-", g, want);
	}
}

static void test_command_args(void **state)
{
	(void)state;
	static const char ep_image[] =
		"{\"config\":{\"Entrypoint\":[\"/"
		"docker-entrypoint.sh\"],\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"]}}";
	static const char blank_ep[] = "{\"config\":{\"Entrypoint\":[\"\"],\"Cmd\":[\"sh\"]}}";
	/* neither: Entrypoint + Cmd */
	expect_args(NULL, NULL, ep_image,
		    "[\"/docker-entrypoint.sh\",\"nginx\",\"-g\",\"daemon off;\"]");
	/* command replaces Entrypoint and drops Cmd */
	expect_args("[\"/bin/sh\"]", NULL, ep_image, "[\"/bin/sh\"]");
	/* command + args */
	expect_args("[\"/bin/sh\",\"-c\"]", "[\"echo hi\"]", ep_image,
		    "[\"/bin/sh\",\"-c\",\"echo hi\"]");
	/* args alone replace Cmd, Entrypoint stays */
	expect_args(NULL, "[\"nginx\",\"-T\"]", ep_image,
		    "[\"/docker-entrypoint.sh\",\"nginx\",\"-T\"]");
	/* an empty command is no command */
	expect_args("[]", "[\"-x\"]", ep_image, "[\"/docker-entrypoint.sh\",\"-x\"]");
	/* Entrypoint [""] means none */
	expect_args(NULL, NULL, blank_ep, "[\"sh\"]");
	/* $(VAR) from the container env in command and args, not in the image's */
	expect_args("[\"echo\",\"$(GREETING)\",\"$$(GREETING)\",\"$(NOPE)\"]", "[\"$(MESSAGE)\"]",
		    NULL,
		    "[\"echo\",\"hello\",\"$(GREETING)\",\"$(NOPE)\",\"hello from $(HOSTNAME)\"]");

	/* nothing to run */
	struct fixture f;
	fixture_init(&f, pod_text, "{\"config\":{}}", false);
	build_fails(&f.in, "no command specified");
	fixture_free(&f);
	fixture_init(&f, pod_text, "{\"config\":{}}", true);
	build_fails(&f.in, "invalid empty entrypoint and cmd in image config");
	fixture_free(&f);
}

static const char *lookup_tbl(void *data, const char *name)
{
	const char *const *kv = data;
	for (size_t i = 0; kv[i]; i += 2)
		if (!strcmp(kv[i], name))
			return kv[i + 1];
	return NULL;
}

static void expands(const char *in, const char *want)
{
	static const char *const vars[] = {"A", "alpha", "B", "beta", "EMPTY", "", NULL};
	cleanup_free char *got = ocispec_expand(in, lookup_tbl, (void *)vars);
	if (strcmp(got, want))
		fail_msg("expand(%s) = %s, want %s", in, got, want);
}

static void test_expansion(void **state)
{
	(void)state;
	/* the cases of upstream's expansion tests */
	expands("$(A)", "alpha");
	expands("$(A)$(B)", "alphabeta");
	expands("x$(A)y", "xalphay");
	expands("$$(A)", "$(A)");
	expands("$$$(A)", "$alpha");
	expands("$$$$(A)", "$$(A)");
	expands("$(C)", "$(C)");
	expands("$(EMPTY)x", "x");
	expands("$(A", "$(A");
	expands("$A", "$A");
	expands("$", "$");
	expands("a$", "a$");
	expands("$()", "$()");
	expands("$(A)$", "alpha$");
	expands("", "");

	/* env: image first, pod entries replace in place, later entries see earlier ones */
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	struct ocispec_env env[] = {
		{.name = "NGINX_VERSION", .value = "custom"},
		{.name = "A", .value = "$(NGINX_VERSION)-a", .expand = true},
		{.name = "B", .value = "$(A)-b $$(A) $(ZZZ)", .expand = true},
		{.name = "RAW", .value = "$(A)", .expand = false},
		{.name = "PATH", .value = "/opt/bin"},
	};
	f.in.env = env;
	f.in.n_env = 5;
	cleanup_json json_t *spec = build_ok(&f.in);
	cleanup_json json_t *want =
		load("[\"PATH=/opt/bin\",\"HOSTNAME=web\",\"NGINX_VERSION=custom\","
		     "\"A=custom-a\",\"B=custom-a-b $(A) $(ZZZ)\",\"RAW=$(A)\"]");
	if (!json_equal(json_path_get(spec, "process.env"), want)) {
		cleanup_free char *g = json_dumps(json_path_get(spec, "process.env"), JSON_COMPACT);
		fail_msg("env %s", g);
	}
	fixture_free(&f);
}

/* Sets container securityContext from JSON text. */
static void set_sc(struct fixture *f, const char *sc)
{
	json_object_set_new((json_t *)f->in.container, "securityContext", load(sc));
}

static void test_privileged(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"privileged\":true}");
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "privileged.json");
	assert_int_equal(json_array_size(json_path_get(spec, "process.capabilities.bounding")), 41);
	assert_null(json_path_get(spec, "linux.maskedPaths"));
	assert_true(json_is_true(json_path_get(spec, "linux.resources.devices.0.allow")));
	/* the sandbox of a pod with a privileged container is privileged too */
	fixture_free(&f);
	fixture_init(&f, pod_text, pause_image, true);
	json_object_set_new(json_path_get(f.pod, "spec.containers.0"), "securityContext",
			    load("{\"privileged\":true}"));
	cleanup_json json_t *sb = build_ok(&f.in);
	assert_null(json_path_get(sb, "linux.readonlyPaths"));
	fixture_free(&f);
}

static void test_read_only_root(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false}");
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "read-only-root.json");
	assert_true(json_is_true(json_path_get(spec, "root.readonly")));
	assert_true(json_is_true(json_path_get(spec, "process.noNewPrivileges")));
	fixture_free(&f);
}

static void test_caps(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"capabilities\":{\"add\":[\"NET_ADMIN\",\"CAP_SYS_TIME\",\"chown\"],"
		   "\"drop\":[\"MKNOD\",\"cap_net_raw\",\"SYS_TIME\"]}}");
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "caps.json");
	fixture_free(&f);

	/* ALL dropped, one added back */
	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"capabilities\":{\"add\":[\"NET_BIND_SERVICE\"],\"drop\":[\"ALL\"]}}");
	cleanup_json json_t *s2 = build_ok(&f.in);
	cleanup_json json_t *want = load("[\"CAP_NET_BIND_SERVICE\"]");
	assert_true(json_equal(json_path_get(s2, "process.capabilities.effective"), want));
	fixture_free(&f);

	/* ALL added, one dropped */
	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"capabilities\":{\"add\":[\"all\"],\"drop\":[\"SYS_ADMIN\"]}}");
	cleanup_json json_t *s3 = build_ok(&f.in);
	assert_int_equal(json_array_size(json_path_get(s3, "process.capabilities.permitted")), 40);
	fixture_free(&f);

	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"capabilities\":{\"add\":[\"NET ADMIN\"]}}");
	build_fails(&f.in, "invalid capability to add: NET ADMIN");
	fixture_free(&f);
}

static void test_limits(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	json_object_set_new((json_t *)f.in.container, "resources",
			    load("{\"limits\":{\"cpu\":\"1500m\",\"memory\":\"256Mi\"},"
				 "\"requests\":{\"cpu\":\"1500m\",\"memory\":\"256Mi\"}}"));
	f.in.cgroups_path = "/kubepods/pod" UID "/k8s_nginx_web_default_" UID "_0";
	f.in.swap_accounting = false;
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "limits.json");
	assert_int_equal(json_integer_value(json_path_get(spec, "linux.resources.cpu.shares")),
			 1536);
	assert_int_equal(json_integer_value(json_path_get(spec, "linux.resources.cpu.quota")),
			 150000);
	assert_int_equal(json_integer_value(json_path_get(spec, "linux.resources.memory.limit")),
			 268435456);
	assert_null(json_path_get(spec, "linux.resources.memory.swap"));
	assert_int_equal(json_integer_value(json_path_get(spec, "process.oomScoreAdj")), -997);
	fixture_free(&f);

	/* a limit only: shares from the limit, no request */
	fixture_init(&f, pod_text, nginx_image, false);
	json_object_set_new((json_t *)f.in.container, "resources",
			    load("{\"limits\":{\"cpu\":\"100m\"}}"));
	cleanup_json json_t *s2 = build_ok(&f.in);
	assert_int_equal(json_integer_value(json_path_get(s2, "linux.resources.cpu.shares")), 102);
	assert_int_equal(json_integer_value(json_path_get(s2, "linux.resources.cpu.quota")), 10000);
	assert_null(json_path_get(s2, "linux.resources.memory"));
	fixture_free(&f);

	/* nothing: minimum shares, no quota, BestEffort's oomScoreAdj */
	fixture_init(&f, pod_text, nginx_image, false);
	json_object_del((json_t *)f.in.container, "resources");
	cleanup_json json_t *s3 = build_ok(&f.in);
	assert_int_equal(json_integer_value(json_path_get(s3, "linux.resources.cpu.shares")), 2);
	assert_null(json_path_get(s3, "linux.resources.cpu.quota"));
	assert_int_equal(json_integer_value(json_path_get(s3, "process.oomScoreAdj")), 1000);
	fixture_free(&f);

	fixture_init(&f, pod_text, nginx_image, false);
	json_object_set_new((json_t *)f.in.container, "resources",
			    load("{\"limits\":{\"memory\":\"12kM\"}}"));
	build_fails(&f.in, "resources: memory: unable to parse quantity's suffix");
	fixture_free(&f);
}

static void test_host_network(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	json_t *spec_obj = json_object_get(f.pod, "spec");
	json_object_set_new(spec_obj, "hostNetwork", json_true());
	json_object_set_new(spec_obj, "hostPID", json_true());
	json_object_set_new(spec_obj, "hostIPC", json_true());
	f.in.netns_path = NULL;
	f.in.hostname = "node-1";
	cleanup_json json_t *spec = build_ok(&f.in);
	golden(spec, "host-network.json");
	fixture_free(&f);

	fixture_init(&f, pod_text, pause_image, true);
	json_object_set_new(json_object_get(f.pod, "spec"), "hostNetwork", json_true());
	f.in.netns_path = NULL;
	cleanup_json json_t *sb = build_ok(&f.in);
	cleanup_json json_t *want =
		load("[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"mount\"}]");
	assert_true(json_equal(json_path_get(sb, "linux.namespaces"), want));
	assert_null(json_object_get(sb, "hostname"));
	/* hostNetwork and a netns path contradict each other */
	f.in.netns_path = "/var/run/netns/x";
	build_fails(&f.in, "a hostNetwork pod takes no netns path");
	fixture_free(&f);
}

static void test_share_pid(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	json_object_set_new(json_object_get(f.pod, "spec"), "shareProcessNamespace", json_true());
	cleanup_json json_t *spec = build_ok(&f.in);
	cleanup_json json_t *want =
		load("[{\"type\":\"pid\",\"path\":\"/proc/4242/ns/pid\"},"
		     "{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1b2c3d4e\"},"
		     "{\"type\":\"ipc\",\"path\":\"/proc/4242/ns/ipc\"},"
		     "{\"type\":\"uts\",\"path\":\"/proc/4242/ns/uts\"},{\"type\":\"mount\"}]");
	assert_true(json_equal(json_path_get(spec, "linux.namespaces"), want));
	fixture_free(&f);
}

static void test_pinned_namespaces(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	f.in.ipc_path = "/var/lib/kubelet/pods/" UID "/ns-ipc";
	f.in.uts_path = "/var/lib/kubelet/pods/" UID "/ns-uts";
	/* an app container joins the pins and needs no sandbox pid */
	f.in.sandbox_pid = 0;
	cleanup_json json_t *spec = build_ok(&f.in);
	cleanup_json json_t *want =
		load("[{\"type\":\"pid\"},"
		     "{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1b2c3d4e\"},"
		     "{\"type\":\"ipc\",\"path\":\"/var/lib/kubelet/pods/" UID "/ns-ipc\"},"
		     "{\"type\":\"uts\",\"path\":\"/var/lib/kubelet/pods/" UID "/ns-uts\"},"
		     "{\"type\":\"mount\"}]");
	assert_true(json_equal(json_path_get(spec, "linux.namespaces"), want));
	/* so does the sandbox */
	const json_t *ctr = f.in.container;
	f.in.container = NULL;
	cleanup_json json_t *sb = build_ok(&f.in);
	assert_true(json_equal(json_path_get(sb, "linux.namespaces"), want));
	f.in.container = ctr;
	/* a shared PID namespace still needs the sandbox's pid */
	json_object_set_new(json_object_get(f.pod, "spec"), "shareProcessNamespace", json_true());
	build_fails(&f.in, "an app container needs the sandbox's pid");
	/* without a UTS pin the sandbox's is joined through /proc */
	json_object_del(json_object_get(f.pod, "spec"), "shareProcessNamespace");
	f.in.uts_path = NULL;
	build_fails(&f.in, "an app container needs the sandbox's pid");
	fixture_free(&f);
}

static void test_run_as_non_root(void **state)
{
	(void)state;
	struct fixture f;
	/* the image has no USER: root */
	fixture_init(&f, pod_text, nginx_image, false);
	set_sc(&f, "{\"runAsNonRoot\":true}");
	build_fails(&f.in,
		    "container has runAsNonRoot and image will run as root (pod: \"web_default(" UID
		    ")\", container: nginx)");
	/* runAsUser 0 explicitly */
	set_sc(&f, "{\"runAsNonRoot\":true,\"runAsUser\":0}");
	build_fails(&f.in, "container's runAsUser breaks non-root policy (pod: \"web_default(" UID
			   ")\", container: nginx)");
	/* a non-root runAsUser passes */
	set_sc(&f, "{\"runAsNonRoot\":true,\"runAsUser\":1000}");
	cleanup_json json_t *ok = build_ok(&f.in);
	assert_int_equal(json_integer_value(json_path_get(ok, "process.user.uid")), 1000);
	assert_int_equal(json_integer_value(json_path_get(ok, "process.user.gid")), 1000);
	fixture_free(&f);

	/* pod-level runAsNonRoot, image user by name */
	fixture_init(&f, pod_text, "{\"config\":{\"User\":\"www-data\",\"Cmd\":[\"x\"]}}", false);
	json_object_set_new(json_path_get(f.pod, "spec.securityContext"), "runAsNonRoot",
			    json_true());
	build_fails(&f.in, "container has runAsNonRoot and image has non-numeric user (www-data), "
			   "cannot verify user is non-root (pod: \"web_default(" UID
			   ")\", container: nginx)");
	/* the container may allow root again */
	set_sc(&f, "{\"runAsNonRoot\":false}");
	cleanup_json json_t *ok2 = build_ok(&f.in);
	assert_int_equal(json_integer_value(json_path_get(ok2, "process.user.uid")), 33);
	fixture_free(&f);
}

static void user_case(const char *image_user, const char *sc, const char *want_user)
{
	struct fixture f;
	cleanup_free char *img = NULL;
	if (asprintf(&img, "{\"config\":{\"Cmd\":[\"x\"]%s%s%s}}", image_user ? ",\"User\":\"" : "",
		     image_user ? image_user : "", image_user ? "\"" : "") < 0)
		abort();
	fixture_init(&f, pod_text, img, false);
	if (sc)
		set_sc(&f, sc);
	cleanup_json json_t *spec = build_ok(&f.in);
	cleanup_json json_t *want = load(want_user);
	if (!json_equal(json_path_get(spec, "process.user"), want)) {
		cleanup_free char *g =
			json_dumps(json_path_get(spec, "process.user"), JSON_COMPACT);
		fail_msg("image user %s sc %s: got %s want %s", image_user ? image_user : "-",
			 sc ? sc : "-", g, want_user);
	}
	fixture_free(&f);
}

static void test_users(void **state)
{
	(void)state;
	/* no USER: root, root's groups (none listed) + fsGroup + supplementalGroups */
	user_case(NULL, NULL, "{\"uid\":0,\"gid\":0,\"additionalGids\":[0,2000,3000]}");
	/* a name: passwd uid/gid, and the groups listing it */
	user_case("app", NULL,
		  "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,4,44,2000,3000]}");
	/* a uid known to passwd: its gid */
	user_case("33", NULL, "{\"uid\":33,\"gid\":33,\"additionalGids\":[33,44,2000,3000]}");
	/* an unknown uid: gid 0 */
	user_case("4321", NULL, "{\"uid\":4321,\"gid\":0,\"additionalGids\":[0,2000,3000]}");
	/* the kubelet passes only the uid part of the image's USER */
	user_case("1000:44", NULL,
		  "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,4,44,2000,3000]}");
	/* runAsUser and runAsGroup win */
	user_case("app", "{\"runAsUser\":33,\"runAsGroup\":5000}",
		  "{\"uid\":33,\"gid\":5000,\"additionalGids\":[5000,44,2000,3000]}");
	/* runAsGroup with the image's user name */
	user_case("app", "{\"runAsGroup\":7}",
		  "{\"uid\":1000,\"gid\":7,\"additionalGids\":[7,4,44,2000,3000]}");

	struct fixture f;
	fixture_init(&f, pod_text, "{\"config\":{\"User\":\"ghost\",\"Cmd\":[\"x\"]}}", false);
	build_fails(&f.in, "unable to find user ghost: no matching entries in passwd file");
	fixture_free(&f);
	/* the sandbox takes "name:group" through both files */
	fixture_init(&f, pod_text, "{\"config\":{\"User\":\"www-data:video\",\"Cmd\":[\"x\"]}}",
		     true);
	cleanup_json json_t *sb = build_ok(&f.in);
	cleanup_json json_t *want = load("{\"uid\":33,\"gid\":44,\"additionalGids\":[3000,2000]}");
	assert_true(json_equal(json_path_get(sb, "process.user"), want));
	fixture_free(&f);
	fixture_init(&f, pod_text, "{\"config\":{\"User\":\"www-data:nogroupx\",\"Cmd\":[\"x\"]}}",
		     true);
	build_fails(&f.in, "unable to find group nogroupx: no matching entries in group file");
	fixture_free(&f);
}

static void test_mounts_order(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, pod_text, nginx_image, false);
	struct ocispec_mount m[] = {
		{.host_path = "/h/deep",
		 .container_path = "/data/a/b",
		 .propagation = "HostToContainer"},
		{.host_path = "/h/top", .container_path = "/data"},
		{.host_path = "/h/hosts", .container_path = "/etc/hosts", .read_only = true},
	};
	f.in.mounts = m;
	f.in.n_mounts = 3;
	cleanup_json json_t *spec = build_ok(&f.in);
	json_t *mounts = json_object_get(spec, "mounts");
	/* the defaults first (without the replaced /dev/shm), then by depth */
	const char *want[] = {"/proc",
			      "/dev",
			      "/dev/pts",
			      "/dev/mqueue",
			      "/sys",
			      "/sys/fs/cgroup",
			      "/data",
			      "/etc/hosts",
			      "/dev/termination-log",
			      "/etc/hostname",
			      "/etc/resolv.conf",
			      "/dev/shm",
			      "/data/a/b",
			      NULL};
	size_t i;
	for (i = 0; want[i]; i++) {
		const char *d = json_string_value(
			json_object_get(json_array_get(mounts, i), "destination"));
		if (!d || strcmp(d, want[i]))
			fail_msg("mount %zu: got %s want %s", i, d ? d : "(none)", want[i]);
	}
	assert_int_equal(json_array_size(mounts), i);
	/* the pod's own /etc/hosts mount wins over the kubelet's file */
	assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 7), "source")),
			    "/h/hosts");
	assert_string_equal(json_string_value(json_path_get(spec, "linux.rootfsPropagation")),
			    "rslave");
	cleanup_json json_t *opts = load("[\"rbind\",\"rslave\",\"rw\"]");
	assert_true(json_equal(json_object_get(json_array_get(mounts, 12), "options"), opts));
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_nginx),
		cmocka_unit_test(test_command_args),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_privileged),
		cmocka_unit_test(test_read_only_root),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_host_network),
		cmocka_unit_test(test_share_pid),
		cmocka_unit_test(test_pinned_namespaces),
		cmocka_unit_test(test_run_as_non_root),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_mounts_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
