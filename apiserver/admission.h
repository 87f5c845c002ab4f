/* The admission chain: upstream's plugin names, order and flags
 * (--enable-admission-plugins, --disable-admission-plugins), run by the
 * request handlers between defaulting and storage. Mutating plugins run
 * first (they may change the object), then validation, then the validating
 * plugins, each phase in upstream's order:
 *
 *   NamespaceLifecycle  creates in a missing (404) or terminating (403)
 *                       namespace; deletes of default, kube-system, kube-public
 *   LimitRanger         LimitRange defaults into pod containers; min/max/ratio
 *   ServiceAccount      spec.serviceAccountName defaults to "default" and must
 *                       exist (no token volumes: this server issues no tokens)
 *   PodSecurity         the pod-security.kubernetes.io/{enforce,warn,audit}
 *                       namespace labels: privileged, baseline, restricted
 *   DefaultTolerationSeconds  not-ready/unreachable NoExecute tolerations
 *   ResourceQuota       ResourceQuota hard limits, usage charged at admission
 *   NodeRestriction     (default off) a kubelet writes only its own Node, Lease,
 *                       mirror pods and the status of its pods
 *
 * plus AlwaysAdmit, AlwaysDeny, AlwaysPullImages, NamespaceExists and
 * NamespaceAutoProvision. Updates go only through the plugins that judge
 * them (NodeRestriction); the others act on creates and deletes. Every other upstream name is known (so upstream
 * command lines parse); the default-on ones among them act on kinds this
 * server does not serve and are no-ops, and enabling a default-off one
 * refuses to start. */
#ifndef MK_APISERVER_ADMISSION_H
#define MK_APISERVER_ADMISSION_H

#include <stdbool.h>
#include <jansson.h>

#include "err.h"

struct store;
struct api_resource;
struct authn_user;
struct admission;

enum admission_op {
	ADMISSION_CREATE,
	ADMISSION_UPDATE,
	ADMISSION_DELETE,
};

/* One request as the plugins see it; every pointer borrowed for the call. */
struct admission_attrs {
	enum admission_op op;
	const struct api_resource *r;
	const char *ns;	   /* NULL for cluster-scoped resources */
	const char *name;  /* the object's name */
	const char *sub;   /* subresource or NULL */
	json_t *obj;	   /* create/update: the object; mutating plugins change it */
	const json_t *old; /* update/delete: the stored object, else NULL */
	bool dry_run;	   /* nothing outside obj is written (quota usage) */
	json_t *reads;	   /* what the plugins read from the store for this request, by
			    * key, so that both phases read each thing once; owned,
			    * freed by admission_attrs_clear. Start it NULL. */
	const struct authn_user *user; /* who asks; NULL: the insecure port's superuser */
};

/* Frees what at holds (its reads); for __attribute__((cleanup)). */
void admission_attrs_clear(struct admission_attrs *at);

struct admission_config {
	const char *enable;	 /* --enable-admission-plugins: comma list or NULL */
	const char *disable;	 /* --disable-admission-plugins: comma list or NULL */
	const char *config_file; /* --admission-control-config-file: unsupported */
	long long not_ready_s;	 /* --default-not-ready-toleration-seconds (-1: 300) */
	long long unreachable_s; /* --default-unreachable-toleration-seconds (-1: 300) */
};

/* The chain the flags ask for. NULL with MK_EINVAL and upstream's message
 * ("enable-admission-plugins plugin \"Foo\" is unknown", several joined as
 * "[a, b]") for unknown or overlapping names, or a clear one for what is
 * not supported here. New handle, admission_free(). */
struct admission *admission_new(const struct admission_config *cfg, struct mk_err **err);
void admission_free(struct admission *a);

/* True if plugin runs in a's chain (NULL a: upstream's default set). */
bool admission_enabled(const struct admission *a, const char *plugin);

/* The enabled plugins in the order they run, comma separated (the line
 * upstream logs at start). New string, free(). */
char *admission_describe(const struct admission *a);

/* Runs the mutating plugins, then (after the caller's validation) the
 * validating ones. a NULL means upstream's default set. st is read for
 * namespaces, service accounts, limit ranges and quotas; the validating
 * phase writes quota usage unless at->dry_run. On refusal: -1 and *status
 * (a new Status object). admission_validate may set *warning (new string,
 * a Warning header's text) even when it admits. */
int admission_mutate(const struct admission *a, struct store *st, struct admission_attrs *at,
		     json_t **status);
int admission_validate(const struct admission *a, struct store *st, struct admission_attrs *at,
		       json_t **status, char **warning);

#endif
