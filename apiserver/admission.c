/* The admission chain: the plugin table in upstream's order, the flags that
 * pick from it, and the plugins small enough to live beside it
 * (NamespaceLifecycle, ServiceAccount, DefaultTolerationSeconds and the
 * trivial ones). LimitRanger and ResourceQuota are in admission-limits.c,
 * PodSecurity in admission-podsecurity.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/admission-internal.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"
#include "apiserver/status.h"
#include "apiserver/store.h"

enum plugin_kind {
	PLUGIN_DONE,  /* implemented here */
	PLUGIN_INERT, /* default-on upstream, acts on kinds this server does not serve */
	PLUGIN_NO,    /* not supported: enabling it refuses to start */
};

struct plugin {
	const char *name;
	bool default_on;
	enum plugin_kind kind;
	admission_fn mutate;
	admission_fn validate;
};

static int lifecycle_mutate(struct admission_ctx *c, json_t **status);
static int exists_validate(struct admission_ctx *c, json_t **status);
static int autoprovision_mutate(struct admission_ctx *c, json_t **status);
static int serviceaccount_mutate(struct admission_ctx *c, json_t **status);
static int pullimages_mutate(struct admission_ctx *c, json_t **status);
static int tolerations_mutate(struct admission_ctx *c, json_t **status);
static int deny_all(struct admission_ctx *c, json_t **status);

/* Upstream's AllOrderedPlugins, with its default-on set. */
static const struct plugin plugins[] = {
	{"AlwaysAdmit", false, PLUGIN_DONE, NULL, NULL},
	{"NamespaceAutoProvision", false, PLUGIN_DONE, autoprovision_mutate, NULL},
	{"NamespaceLifecycle", true, PLUGIN_DONE, lifecycle_mutate, NULL},
	{"NamespaceExists", false, PLUGIN_DONE, NULL, exists_validate},
	{"LimitPodHardAntiAffinityTopology", false, PLUGIN_NO, NULL, NULL},
	{"LimitRanger", true, PLUGIN_DONE, admission_limitranger_mutate,
	 admission_limitranger_validate},
	{"ServiceAccount", true, PLUGIN_DONE, serviceaccount_mutate, NULL},
	{"NodeRestriction", false, PLUGIN_DONE, NULL, admission_noderestriction_validate},
	{"TaintNodesByCondition", true, PLUGIN_INERT, NULL, NULL},
	{"AlwaysPullImages", false, PLUGIN_DONE, pullimages_mutate, NULL},
	{"ImagePolicyWebhook", false, PLUGIN_NO, NULL, NULL},
	{"PodSecurity", true, PLUGIN_DONE, NULL, admission_podsecurity_validate},
	{"PodNodeSelector", false, PLUGIN_NO, NULL, NULL},
	{"Priority", true, PLUGIN_INERT, NULL, NULL},
	{"DefaultTolerationSeconds", true, PLUGIN_DONE, tolerations_mutate, NULL},
	{"PodTolerationRestriction", false, PLUGIN_NO, NULL, NULL},
	{"EventRateLimit", false, PLUGIN_NO, NULL, NULL},
	{"ExtendedResourceToleration", false, PLUGIN_NO, NULL, NULL},
	{"DefaultStorageClass", true, PLUGIN_INERT, NULL, NULL},
	{"StorageObjectInUseProtection", true, PLUGIN_INERT, NULL, NULL},
	{"PodGroupProtection", true, PLUGIN_INERT, NULL, NULL},
	{"OwnerReferencesPermissionEnforcement", false, PLUGIN_NO, NULL, NULL},
	{"PersistentVolumeClaimResize", true, PLUGIN_INERT, NULL, NULL},
	{"RuntimeClass", true, PLUGIN_INERT, NULL, NULL},
	{"CertificateApproval", true, PLUGIN_INERT, NULL, NULL},
	{"CertificateSigning", true, PLUGIN_INERT, NULL, NULL},
	{"ClusterTrustBundleAttest", true, PLUGIN_INERT, NULL, NULL},
	{"CertificateSubjectRestriction", true, PLUGIN_INERT, NULL, NULL},
	{"DefaultIngressClass", true, PLUGIN_INERT, NULL, NULL},
	{"DenyServiceExternalIPs", false, PLUGIN_NO, NULL, NULL},
	{"PodTopologyLabels", true, PLUGIN_INERT, NULL, NULL},
	{"PodGroupWorkloadExists", true, PLUGIN_INERT, NULL, NULL},
	{"NodeDeclaredFeatureValidator", true, PLUGIN_INERT, NULL, NULL},
	{"JobValidation", true, PLUGIN_INERT, NULL, NULL},
	{"PodResizeValidator", true, PLUGIN_INERT, NULL, NULL},
	{"MutatingAdmissionPolicy", true, PLUGIN_INERT, NULL, NULL},
	{"MutatingAdmissionWebhook", true, PLUGIN_INERT, NULL, NULL},
	{"ValidatingAdmissionPolicy", true, PLUGIN_INERT, NULL, NULL},
	{"ValidatingAdmissionWebhook", true, PLUGIN_INERT, NULL, NULL},
	{"ResourceQuota", true, PLUGIN_DONE, NULL, admission_quota_validate},
	{"AlwaysDeny", false, PLUGIN_DONE, deny_all, deny_all},
};
#define N_PLUGINS (sizeof(plugins) / sizeof(plugins[0]))

#define DEFAULT_TOLERATION_SECONDS 300

struct admission {
	bool on[N_PLUGINS];
	long long not_ready_s;
	long long unreachable_s;
};

static struct admission default_chain;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
	for (size_t i = 0; i < N_PLUGINS; i++)
		default_chain.on[i] = plugins[i].default_on;
	default_chain.not_ready_s = DEFAULT_TOLERATION_SECONDS;
	default_chain.unreachable_s = DEFAULT_TOLERATION_SECONDS;
}

/* upstream's default-on set with default flags */
static const struct admission *defaults(void)
{
	pthread_once(&default_once, default_init);
	return &default_chain;
}

static int plugin_index(const char *name)
{
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (!strcmp(plugins[i].name, name))
			return (int)i;
	return -1;
}

/* Splits a comma list into names (trimmed, empties dropped). */
static size_t split_names(const char *list, char ***out)
{
	size_t n = 0;
	char **v = NULL;
	if (list) {
		cleanup_free char *copy = xstrdup(list);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			size_t l = strlen(t);
			while (l && t[l - 1] == ' ')
				t[--l] = '\0';
			if (!*t)
				continue;
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = xstrdup(t);
		}
	}
	*out = v;
	return n;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct admission *admission_new(const struct admission_config *cfg, struct mk_err **err)
{
	if (cfg->config_file && cfg->config_file[0])
		return mk_err_set(err, MK_EINVAL,
				  "--admission-control-config-file is not supported: configure "
				  "admission with --enable-admission-plugins and "
				  "--disable-admission-plugins"),
		       NULL;
	char **en = NULL, **dis = NULL;
	size_t nen = split_names(cfg->enable, &en);
	size_t ndis = split_names(cfg->disable, &dis);
	cleanup_buf struct buf msgs = BUF_INIT;
	size_t nerr = 0;
	for (size_t i = 0; i < nen; i++)
		if (plugin_index(en[i]) < 0) {
			buf_printf(&msgs, "%senable-admission-plugins plugin \"%s\" is unknown",
				   nerr++ ? ", " : "", en[i]);
		}
	for (size_t i = 0; i < ndis; i++)
		if (plugin_index(dis[i]) < 0) {
			buf_printf(&msgs, "%sdisable-admission-plugins plugin \"%s\" is unknown",
				   nerr++ ? ", " : "", dis[i]);
		}
	/* overlapping names, listed sorted as Go's sets.List() does */
	char **both = xcalloc(nen + 1, sizeof(char *));
	size_t nboth = 0;
	for (size_t i = 0; i < nen; i++) {
		bool dup = false;
		for (size_t k = 0; k < nboth; k++)
			dup = dup || !strcmp(both[k], en[i]);
		for (size_t j = 0; j < ndis && !dup; j++)
			if (!strcmp(en[i], dis[j]))
				both[nboth++] = en[i];
	}
	if (nboth) {
		qsort(both, nboth, sizeof(char *), cmp_str);
		buf_printf(&msgs, "%s[", nerr++ ? ", " : "");
		for (size_t k = 0; k < nboth; k++)
			buf_printf(&msgs, "%s%s", k ? " " : "", both[k]);
		buf_printf(&msgs, "] in enable-admission-plugins and disable-admission-plugins "
				  "overlapped");
	}
	free(both);
	struct admission *a = NULL;
	if (nerr == 1) {
		mk_err_set(err, MK_EINVAL, "%s", buf_str(&msgs));
	} else if (nerr > 1) {
		mk_err_set(err, MK_EINVAL, "[%s]", buf_str(&msgs));
	} else {
		a = xcalloc(1, sizeof(*a));
		*a = *defaults();
		for (size_t i = 0; i < ndis; i++)
			a->on[plugin_index(dis[i])] = false;
		for (size_t i = 0; i < nen && a; i++) {
			int k = plugin_index(en[i]);
			if (plugins[k].kind == PLUGIN_NO) {
				mk_err_set(err, MK_EINVAL,
					   "admission plugin \"%s\" is not supported by this API "
					   "server",
					   en[i]);
				free(a);
				a = NULL;
				break;
			}
			a->on[k] = true;
		}
		if (a) {
			if (cfg->not_ready_s >= 0)
				a->not_ready_s = cfg->not_ready_s;
			if (cfg->unreachable_s >= 0)
				a->unreachable_s = cfg->unreachable_s;
		}
	}
	free_names(en, nen);
	free_names(dis, ndis);
	return a;
}

void admission_free(struct admission *a)
{
	free(a);
}

bool admission_enabled(const struct admission *a, const char *plugin)
{
	int k = plugin_index(plugin);
	return k >= 0 && (a ? a : defaults())->on[k];
}

char *admission_describe(const struct admission *a)
{
	if (!a)
		a = defaults();
	cleanup_buf struct buf b = BUF_INIT;
	for (size_t i = 0; i < N_PLUGINS; i++)
		if (a->on[i])
			buf_printf(&b, "%s%s", b.len ? "," : "", plugins[i].name);
	return xstrdup(buf_str(&b));
}

static int run_phase(const struct admission *a, struct store *st, struct admission_attrs *at,
		     bool mutating, json_t **status, char **warning)
{
	if (!a)
		a = defaults();
	struct admission_ctx c = {.a = a, .st = st, .at = at, .warning = warning};
	for (size_t i = 0; i < N_PLUGINS; i++) {
		/* updates go only to the plugins that judge them */
		if (!a->on[i] || (at->op == ADMISSION_UPDATE &&
				  plugins[i].validate != admission_noderestriction_validate))
			continue;
		admission_fn f = mutating ? plugins[i].mutate : plugins[i].validate;
		if (f && f(&c, status) < 0)
			return -1;
	}
	return 0;
}

static void prefetch(const struct admission *a, struct store *st, struct admission_attrs *at);

int admission_mutate(const struct admission *a, struct store *st, struct admission_attrs *at,
		     json_t **status)
{
	prefetch(a ? a : defaults(), st, at);
	return run_phase(a, st, at, true, status, NULL);
}

int admission_validate(const struct admission *a, struct store *st, struct admission_attrs *at,
		       json_t **status, char **warning)
{
	return run_phase(a, st, at, false, status, warning);
}

/* --- helpers for the plugins ------------------------------------------------ */

void admission_attrs_clear(struct admission_attrs *at)
{
	json_decref(at->reads);
	at->reads = NULL;
}

/* The memo of a read (borrowed), or NULL if not read yet for this request. */
static json_t *read_memo(struct admission_ctx *c, const char *what)
{
	return json_object_get(c->at->reads, what);
}

/* Remembers v under what; steals v. */
static void read_remember(struct admission_ctx *c, const char *what, json_t *v)
{
	if (!c->at->reads)
		c->at->reads = json_object();
	json_object_set_new(c->at->reads, what, v);
}

int admission_get(struct admission_ctx *c, const char *resource, const char *ns, const char *name,
		  json_t **out, json_t **status)
{
	const struct api_resource *r = api_resource_find("", "v1", resource);
	if (!r)
		return 0;
	cleanup_free char *key = api_key(r, ns, name);
	json_t *seen = read_memo(c, key);
	if (seen) {
		*out = json_deep_copy(seen);
		return 1;
	}
	struct store_kv kv = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_get(c->st, key, &kv, &err) < 0) {
		if (mk_err_code(err) == MK_ENOTFOUND)
			return 0;
		*status = status_from_err(err, r, name);
		return -1;
	}
	*out = api_object_from_store(kv.value, kv.mod_rev);
	store_kv_free(&kv);
	/* Only what exists is kept: a plugin may wait for an object to appear
	 * (ServiceAccount asks again for the default account). */
	if (*out)
		read_remember(c, key, json_deep_copy(*out));
	return *out ? 1 : 0;
}

/* The objects of a store list: new array. */
static json_t *list_objects(const struct store_list *l)
{
	json_t *items = json_array();
	for (size_t i = 0; i < l->n; i++) {
		json_t *o = api_object_from_store(l->items[i].value, l->items[i].mod_rev);
		if (o)
			json_array_append_new(items, o);
	}
	return items;
}

json_t *admission_list(struct admission_ctx *c, const char *resource, const char *ns,
		       json_t **status)
{
	const struct api_resource *r = api_resource_find("", "v1", resource);
	if (!r)
		return json_array();
	cleanup_free char *prefix = api_prefix(r, ns);
	json_t *seen = read_memo(c, prefix);
	if (seen)
		return json_deep_copy(seen);
	struct store_list l = {0};
	cleanup_err struct mk_err *err = NULL;
	if (store_list(c->st, prefix, NULL, 0, 0, &l, &err) < 0) {
		*status = status_from_err(err, r, "");
		return NULL;
	}
	json_t *items = list_objects(&l);
	store_list_free(&l);
	read_remember(c, prefix, json_deep_copy(items));
	return items;
}

/* Makes the reads the enabled plugins are about to make for a create in a
 * namespace at once, as one store request (on etcd one txn in place of up to
 * three ranges). On a failure the plugins read one by one and report it. */
static void prefetch(const struct admission *a, struct store *st, struct admission_attrs *at)
{
	if (at->reads || at->op != ADMISSION_CREATE || at->sub || !at->r->namespaced || !at->ns ||
	    !json_is_object(at->obj))
		return;
	const struct api_resource *nsr = api_resource_find("", "v1", "namespaces");
	const struct api_resource *lrr = api_resource_find("", "v1", "limitranges");
	const struct api_resource *rqr = api_resource_find("", "v1", "resourcequotas");
	cleanup_free char *nskey = NULL, *lrp = NULL, *rqp = NULL;
	struct store_read reads[3];
	size_t n = 0;
	/* NamespaceAutoProvision may create the namespace after such a read */
	if (nsr && !admission_enabled(a, "NamespaceAutoProvision") &&
	    (admission_enabled(a, "NamespaceLifecycle") || admission_enabled(a, "NamespaceExists")))
		reads[n++] = (struct store_read){.key = nskey = api_key(nsr, NULL, at->ns)};
	if (lrr && admission_enabled(a, "LimitRanger") && admission_is_create_of(at, "pods"))
		reads[n++] =
			(struct store_read){.key = lrp = api_prefix(lrr, at->ns), .prefix = true};
	if (rqr && admission_enabled(a, "ResourceQuota"))
		reads[n++] =
			(struct store_read){.key = rqp = api_prefix(rqr, at->ns), .prefix = true};
	if (n < 2 || store_read_batch(st, reads, n, NULL) < 0)
		return;
	at->reads = json_object();
	for (size_t i = 0; i < n; i++) {
		if (reads[i].prefix) {
			json_object_set_new(at->reads, reads[i].key, list_objects(&reads[i].out));
		} else if (reads[i].out.n == 1) {
			struct store_kv *kv = &reads[i].out.items[0];
			json_t *o = api_object_from_store(kv->value, kv->mod_rev);
			if (o)
				json_object_set_new(at->reads, reads[i].key, o);
		}
		store_list_free(&reads[i].out);
	}
}

json_t *admission_forbidden(const struct admission_attrs *at, const char *why)
{
	return status_forbidden(at->r, at->name, why);
}

bool admission_is_create_of(const struct admission_attrs *at, const char *resource)
{
	return at->op == ADMISSION_CREATE && !at->sub && !strcmp(at->r->group, "") &&
	       !strcmp(at->r->resource, resource) && json_is_object(at->obj);
}

/* --- NamespaceLifecycle, NamespaceExists, NamespaceAutoProvision ------------- */

static json_t *namespace_not_found(const char *ns)
{
	return status_not_found(api_resource_find("", "v1", "namespaces"), ns);
}

static int lifecycle_mutate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (!strcmp(at->r->resource, "namespaces") && !strcmp(at->r->group, "")) {
		static const char *const immortal[] = {"default", "kube-system", "kube-public"};
		for (size_t i = 0; at->op == ADMISSION_DELETE && i < 3; i++)
			if (!strcmp(at->name, immortal[i])) {
				*status = admission_forbidden(at,
							      "this namespace may not be deleted");
				return -1;
			}
		return 0;
	}
	/* deletes of other objects are always allowed, so that a terminating
	 * namespace can be emptied */
	if (at->op != ADMISSION_CREATE || !at->r->namespaced || !at->ns)
		return 0;
	cleanup_json json_t *ns = NULL;
	int rc = admission_get(c, "namespaces", NULL, at->ns, &ns, status);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*status = namespace_not_found(at->ns);
		return -1;
	}
	const char *phase = json_path_str(ns, "status.phase");
	if (!json_path_get(ns, "metadata.deletionTimestamp") &&
	    !(phase && !strcmp(phase, "Terminating")))
		return 0;
	cleanup_free char *why = xasprintf(
		"unable to create new content in namespace %s because it is being terminated",
		at->ns);
	*status = admission_forbidden(at, why);
	json_t *details = json_object_get(*status, "details");
	cleanup_free char *msg = xasprintf("namespace %s is being terminated", at->ns);
	json_object_set_new(details, "causes",
			    json_pack("[{s:s, s:s, s:s}]", "reason", "NamespaceTerminating",
				      "message", msg, "field", "metadata.namespace"));
	return -1;
}

static int exists_validate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (at->op != ADMISSION_CREATE || !at->r->namespaced || !at->ns)
		return 0;
	cleanup_json json_t *ns = NULL;
	int rc = admission_get(c, "namespaces", NULL, at->ns, &ns, status);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*status = namespace_not_found(at->ns);
		return -1;
	}
	return 0;
}

static int autoprovision_mutate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (at->op != ADMISSION_CREATE || !at->r->namespaced || !at->ns || at->dry_run)
		return 0;
	const struct api_resource *nsr = api_resource_find("", "v1", "namespaces");
	cleanup_free char *key = api_key(nsr, NULL, at->ns);
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)random();
	cleanup_free char *uid =
		xasprintf("%02x%02x%02x%02x-%02x%02x-4%x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			  b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 0xf, b[7],
			  (b[8] & 0x3f) | 0x80, b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	cleanup_free char *now = time_now_rfc3339();
	cleanup_json json_t *ns =
		json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}", "kind",
			  "Namespace", "apiVersion", "v1", "metadata", "name", at->ns, "uid", uid,
			  "creationTimestamp", now, "labels", "kubernetes.io/metadata.name", at->ns,
			  "spec", "finalizers", "kubernetes", "status", "phase", "Active");
	cleanup_free char *value = json_dumps(ns, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cleanup_err struct mk_err *err = NULL;
	if (store_create(c->st, key, value, &err) < 0 && mk_err_code(err) != MK_EEXISTS) {
		*status = status_from_err(err, nsr, at->ns);
		return -1;
	}
	return 0;
}

/* --- ServiceAccount ----------------------------------------------------------- */

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"
/* As upstream: the default service account is looked up again for a while,
 * since the controller-manager may be about to create it. */
#define SA_DEFAULT_ATTEMPTS 10

static int serviceaccount_mutate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (!admission_is_create_of(at, "pods"))
		return 0;
	json_t *pod = at->obj;
	/* the kubelet's mirror pods are left as their manifests made them */
	if (json_object_get(json_path_get(pod, "metadata.annotations"), MIRROR_ANNOTATION))
		return 0;
	json_t *spec = json_object_get(pod, "spec");
	if (!json_is_object(spec))
		return 0;
	const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
	if (!sa || !sa[0]) {
		json_object_set_new(spec, "serviceAccountName", json_string("default"));
		sa = "default";
	}
	json_object_set(spec, "serviceAccount", json_object_get(spec, "serviceAccountName"));
	int attempts = !strcmp(sa, "default") ? SA_DEFAULT_ATTEMPTS : 1;
	for (int i = 0; i < attempts; i++) {
		if (i) {
			struct timespec ts = {0, (100 + random() % 100) * 1000000L};
			nanosleep(&ts, NULL);
		}
		cleanup_json json_t *obj = NULL;
		int rc = admission_get(c, "serviceaccounts", at->ns, sa, &obj, status);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
	cleanup_free char *why =
		xasprintf("error looking up service account %s/%s: serviceaccount \"%s\" not found",
			  at->ns, sa, sa);
	*status = admission_forbidden(at, why);
	return -1;
}

/* --- AlwaysPullImages, AlwaysDeny ----------------------------------------------- */

static void pull_always(json_t *list)
{
	size_t i;
	json_t *ctr;
	json_array_foreach(list, i, ctr) if (json_is_object(ctr))
		json_object_set_new(ctr, "imagePullPolicy", json_string("Always"));
}

static int pullimages_mutate(struct admission_ctx *c, json_t **status)
{
	(void)status;
	struct admission_attrs *at = c->at;
	if (at->op == ADMISSION_DELETE || at->sub || strcmp(at->r->group, "") ||
	    strcmp(at->r->resource, "pods") || !json_is_object(at->obj))
		return 0;
	json_t *spec = json_object_get(at->obj, "spec");
	pull_always(json_object_get(spec, "initContainers"));
	pull_always(json_object_get(spec, "containers"));
	return 0;
}

static int deny_all(struct admission_ctx *c, json_t **status)
{
	*status = admission_forbidden(c->at, "admission control is denying all modifications");
	return -1;
}

/* --- DefaultTolerationSeconds ----------------------------------------------------- */

static bool str_is(const char *s, const char *want)
{
	return s && !strcmp(s, want);
}

static int tolerations_mutate(struct admission_ctx *c, json_t **status)
{
	(void)status;
	struct admission_attrs *at = c->at;
	if (!admission_is_create_of(at, "pods"))
		return 0;
	json_t *spec = json_object_get(at->obj, "spec");
	if (!json_is_object(spec))
		return 0;
	json_t *tol = json_object_get(spec, "tolerations");
	if (!json_is_array(tol)) {
		tol = json_array();
		json_object_set_new(spec, "tolerations", tol);
	}
	const char *keys[] = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"};
	long long secs[] = {c->a->not_ready_s, c->a->unreachable_s};
	for (size_t k = 0; k < 2; k++) {
		bool found = false;
		size_t i;
		json_t *t;
		json_array_foreach(tol, i, t)
		{
			const char *key = json_string_value(json_object_get(t, "key"));
			const char *effect = json_string_value(json_object_get(t, "effect"));
			if ((str_is(key, keys[k]) || !key || !key[0]) &&
			    (!effect || !effect[0] || str_is(effect, "NoExecute")))
				found = true;
		}
		if (!found)
			json_array_append_new(tol,
					      json_pack("{s:s, s:s, s:s, s:I}", "key", keys[k],
							"operator", "Exists", "effect", "NoExecute",
							"tolerationSeconds", (json_int_t)secs[k]));
	}
	return 0;
}
