/* The PodSecurity admission plugin: the Pod Security Standards levels
 * (privileged, baseline, restricted) a namespace asks for through its
 * pod-security.kubernetes.io/{enforce,warn,audit} labels. enforce refuses a
 * pod that violates its level; warn answers with a Warning header, also for
 * the pod templates of the workload kinds (Deployments, ReplicaSets,
 * DaemonSets, StatefulSets, Jobs, CronJobs). audit has no audit log to write
 * to here and is accepted as a label only.
 *
 * The checks are upstream's, in its order (baseline IDs sorted, then
 * restricted IDs sorted, restricted overriding seccompProfile_baseline and
 * hostPathVolumes), with its reasons and details. Not checked: AppArmor,
 * SELinux options, Windows host process (nothing here runs them). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/admission-internal.h"
#include "apiserver/resource.h"

enum level { LEVEL_PRIVILEGED, LEVEL_BASELINE, LEVEL_RESTRICTED };

static enum level parse_level(const char *s)
{
	if (!s || !strcmp(s, "privileged"))
		return LEVEL_PRIVILEGED;
	if (!strcmp(s, "baseline"))
		return LEVEL_BASELINE;
	/* upstream evaluates an unparsable level as the strictest */
	return LEVEL_RESTRICTED;
}

static const char *level_name(enum level l)
{
	return l == LEVEL_RESTRICTED ? "restricted"
	       : l == LEVEL_BASELINE ? "baseline"
				     : "privileged";
}

/* --- the little string helpers upstream's messages are made of ------------------ */

struct strs {
	char **v;
	size_t n;
};

static void strs_add(struct strs *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(char *));
	s->v[s->n++] = xstrdup(x);
}

static void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strs_sort(struct strs *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(char *), cmp_str);
}

/* "\"a\", \"b\"" */
static char *join_quote(const struct strs *s)
{
	cleanup_buf struct buf b = BUF_INIT;
	for (size_t i = 0; i < s->n; i++)
		buf_printf(&b, "%s\"%s\"", i ? ", " : "", s->v[i]);
	return xstrdup(buf_str(&b));
}

static const char *plural(const char *one, const char *many, size_t n)
{
	return n == 1 ? one : many;
}

/* `container "a"` / `containers "a", "b"` */
static char *containers_text(const struct strs *s)
{
	cleanup_free char *q = join_quote(s);
	return xasprintf("%s %s", plural("container", "containers", s->n), q);
}

/* --- pod walking ----------------------------------------------------------------- */

typedef void (*container_fn)(const json_t *ctr, const char *name, void *arg);

/* upstream's visitContainers: init, regular, then ephemeral containers */
static void visit(const json_t *spec, container_fn f, void *arg)
{
	const char *lists[] = {"initContainers", "containers", "ephemeralContainers"};
	for (int l = 0; l < 3; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
		{
			const char *name = json_string_value(json_object_get(c, "name"));
			f(c, name ? name : "", arg);
		}
	}
}

static const json_t *sc_get(const json_t *ctr, const char *field)
{
	return json_object_get(json_object_get(ctr, "securityContext"), field);
}

struct check_result {
	const char *reason;
	char *detail; /* new string */
};

typedef bool (*check_fn)(const json_t *spec, struct check_result *out);

/* --- baseline ---------------------------------------------------------------------- */

static const char *const default_caps[] = {
	"AUDIT_WRITE",	    "CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",	  "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID",       "SETPCAP", "SETUID", "SYS_CHROOT", NULL,
};

struct caps_arg {
	struct strs ctrs, caps;
	bool restricted;     /* capabilities_restricted: only NET_BIND_SERVICE */
	struct strs no_drop; /* restricted: containers not dropping ALL */
};

static void caps_visit(const json_t *ctr, const char *name, void *arg)
{
	struct caps_arg *a = arg;
	const json_t *caps = sc_get(ctr, "capabilities");
	if (a->restricted) {
		bool dropped = false;
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(caps, "drop"), i, v) dropped =
			dropped || (json_string_value(v) && !strcmp(json_string_value(v), "ALL"));
		if (!dropped)
			strs_add(&a->no_drop, name);
	}
	bool bad = false;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(caps, "add"), i, v)
	{
		const char *c = json_string_value(v);
		if (!c)
			continue;
		bool ok = false;
		if (a->restricted)
			ok = !strcmp(c, "NET_BIND_SERVICE");
		else
			for (const char *const *d = default_caps; *d && !ok; d++)
				ok = !strcmp(*d, c);
		if (!ok) {
			bad = true;
			strs_add(&a->caps, c);
		}
	}
	if (bad)
		strs_add(&a->ctrs, name);
}

static bool check_caps_baseline(const json_t *spec, struct check_result *out)
{
	struct caps_arg a = {0};
	visit(spec, caps_visit, &a);
	bool ok = a.ctrs.n == 0;
	if (!ok) {
		strs_sort(&a.caps);
		cleanup_free char *who = containers_text(&a.ctrs);
		cleanup_free char *caps = join_quote(&a.caps);
		out->reason = "non-default capabilities";
		out->detail = xasprintf(
			"%s must not include %s in securityContext.capabilities.add", who, caps);
	}
	strs_free(&a.ctrs);
	strs_free(&a.caps);
	return ok;
}

static bool check_host_namespaces(const json_t *spec, struct check_result *out)
{
	cleanup_buf struct buf b = BUF_INIT;
	const char *fields[] = {"hostNetwork", "hostPID", "hostIPC"};
	for (int i = 0; i < 3; i++)
		if (json_is_true(json_object_get(spec, fields[i])))
			buf_printf(&b, "%s%s=true", b.len ? ", " : "", fields[i]);
	if (!b.len)
		return true;
	out->reason = "host namespaces";
	out->detail = xstrdup(buf_str(&b));
	return false;
}

static bool check_hostpath_volumes(const json_t *spec, struct check_result *out)
{
	struct strs vols = {0};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		if (json_object_get(v, "hostPath"))
			strs_add(&vols, name ? name : "");
	}
	bool ok = vols.n == 0;
	if (!ok) {
		cleanup_free char *q = join_quote(&vols);
		out->reason = "hostPath volumes";
		out->detail = xasprintf("%s %s", plural("volume", "volumes", vols.n), q);
	}
	strs_free(&vols);
	return ok;
}

struct ports_arg {
	struct strs ctrs, ports;
};

static void ports_visit(const json_t *ctr, const char *name, void *arg)
{
	struct ports_arg *a = arg;
	bool bad = false;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(ctr, "ports"), i, p)
	{
		json_int_t hp = json_integer_value(json_object_get(p, "hostPort"));
		if (hp != 0) {
			char t[32];
			snprintf(t, sizeof(t), "%lld", (long long)hp);
			strs_add(&a->ports, t);
			bad = true;
		}
	}
	if (bad)
		strs_add(&a->ctrs, name);
}

static bool check_host_ports(const json_t *spec, struct check_result *out)
{
	struct ports_arg a = {0};
	visit(spec, ports_visit, &a);
	bool ok = a.ctrs.n == 0;
	if (!ok) {
		cleanup_free char *who = containers_text(&a.ctrs);
		cleanup_buf struct buf ports = BUF_INIT;
		for (size_t i = 0; i < a.ports.n; i++)
			buf_printf(&ports, "%s%s", i ? ", " : "", a.ports.v[i]);
		out->reason = "hostPort";
		out->detail =
			xasprintf("%s %s %s %s", who, plural("uses", "use", a.ctrs.n),
				  plural("hostPort", "hostPorts", a.ports.n), buf_str(&ports));
	}
	strs_free(&a.ctrs);
	strs_free(&a.ports);
	return ok;
}

struct names_arg {
	struct strs names;
	struct strs values;
};

static void privileged_visit(const json_t *ctr, const char *name, void *arg)
{
	if (json_is_true(sc_get(ctr, "privileged")))
		strs_add(&((struct names_arg *)arg)->names, name);
}

static bool check_privileged(const json_t *spec, struct check_result *out)
{
	struct names_arg a = {0};
	visit(spec, privileged_visit, &a);
	bool ok = a.names.n == 0;
	if (!ok) {
		cleanup_free char *who = containers_text(&a.names);
		out->reason = "privileged";
		out->detail = xasprintf("%s must not set securityContext.privileged=true", who);
	}
	strs_free(&a.names);
	return ok;
}

static void procmount_visit(const json_t *ctr, const char *name, void *arg)
{
	struct names_arg *a = arg;
	const char *pm = json_string_value(sc_get(ctr, "procMount"));
	if (pm && strcmp(pm, "Default")) {
		strs_add(&a->names, name);
		strs_add(&a->values, pm);
	}
}

static bool check_procmount(const json_t *spec, struct check_result *out)
{
	struct names_arg a = {0};
	visit(spec, procmount_visit, &a);
	bool ok = a.names.n == 0;
	if (!ok) {
		strs_sort(&a.values);
		cleanup_free char *who = containers_text(&a.names);
		cleanup_free char *vals = join_quote(&a.values);
		out->reason = "procMount";
		out->detail =
			xasprintf("%s must not set securityContext.procMount to %s", who, vals);
	}
	strs_free(&a.names);
	strs_free(&a.values);
	return ok;
}

struct seccomp_arg {
	bool restricted;
	bool pod_ok;	     /* restricted: the pod sets an allowed type */
	struct strs bad;     /* containers with a forbidden type */
	struct strs values;  /* the forbidden types */
	struct strs missing; /* restricted: containers with no type and no pod one */
};

static bool seccomp_allowed(const char *type, bool restricted)
{
	if (restricted)
		return !strcmp(type, "RuntimeDefault") || !strcmp(type, "Localhost");
	return strcmp(type, "Unconfined") != 0;
}

static void seccomp_visit(const json_t *ctr, const char *name, void *arg)
{
	struct seccomp_arg *a = arg;
	const char *type =
		json_string_value(json_object_get(sc_get(ctr, "seccompProfile"), "type"));
	if (type) {
		if (!seccomp_allowed(type, a->restricted)) {
			strs_add(&a->bad, name);
			strs_add(&a->values, type);
		}
	} else if (a->restricted && !a->pod_ok) {
		strs_add(&a->missing, name);
	}
}

static bool check_seccomp(const json_t *spec, bool restricted, struct check_result *out)
{
	struct seccomp_arg a = {.restricted = restricted};
	const char *pod_type = json_path_str(spec, "securityContext.seccompProfile.type");
	bool pod_bad = pod_type && !seccomp_allowed(pod_type, restricted);
	a.pod_ok = pod_type && !pod_bad;
	if (pod_bad)
		strs_add(&a.values, pod_type);
	visit(spec, seccomp_visit, &a);
	bool ok = true;
	out->reason = "seccompProfile";
	if (pod_bad || a.bad.n) {
		ok = false;
		strs_sort(&a.values);
		cleanup_buf struct buf who = BUF_INIT;
		if (pod_bad)
			buf_append_str(&who, "pod");
		if (a.bad.n) {
			cleanup_free char *c = containers_text(&a.bad);
			buf_printf(&who, "%s%s", who.len ? " and " : "", c);
		}
		cleanup_free char *vals = join_quote(&a.values);
		out->detail = xasprintf("%s must not set securityContext.seccompProfile.type to %s",
					buf_str(&who), vals);
	} else if (a.missing.n) {
		ok = false;
		cleanup_free char *c = containers_text(&a.missing);
		out->detail = xasprintf("pod or %s must set securityContext.seccompProfile.type to "
					"\"RuntimeDefault\" or \"Localhost\"",
					c);
	}
	strs_free(&a.bad);
	strs_free(&a.values);
	strs_free(&a.missing);
	return ok;
}

static bool check_seccomp_baseline(const json_t *spec, struct check_result *out)
{
	return check_seccomp(spec, false, out);
}

static bool check_seccomp_restricted(const json_t *spec, struct check_result *out)
{
	return check_seccomp(spec, true, out);
}

static bool check_sysctls(const json_t *spec, struct check_result *out)
{
	static const char *const safe[] = {
		"kernel.shm_rmid_forced",
		"net.ipv4.ip_local_port_range",
		"net.ipv4.tcp_syncookies",
		"net.ipv4.ping_group_range",
		"net.ipv4.ip_unprivileged_port_start",
		"net.ipv4.ip_local_reserved_ports",
		"net.ipv4.tcp_keepalive_time",
		"net.ipv4.tcp_fin_timeout",
		"net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes",
		NULL,
	};
	cleanup_buf struct buf b = BUF_INIT;
	size_t i;
	json_t *s;
	json_array_foreach(json_path_get(spec, "securityContext.sysctls"), i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		bool ok = false;
		for (const char *const *p = safe; *p && name && !ok; p++)
			ok = !strcmp(*p, name);
		if (!ok)
			buf_printf(&b, "%s%s", b.len ? ", " : "", name ? name : "");
	}
	if (!b.len)
		return true;
	out->reason = "forbidden sysctls";
	out->detail = xstrdup(buf_str(&b));
	return false;
}

/* --- restricted -------------------------------------------------------------------- */

static void escalation_visit(const json_t *ctr, const char *name, void *arg)
{
	if (!json_is_false(sc_get(ctr, "allowPrivilegeEscalation")))
		strs_add(&((struct names_arg *)arg)->names, name);
}

static bool check_escalation(const json_t *spec, struct check_result *out)
{
	struct names_arg a = {0};
	visit(spec, escalation_visit, &a);
	bool ok = a.names.n == 0;
	if (!ok) {
		cleanup_free char *who = containers_text(&a.names);
		out->reason = "allowPrivilegeEscalation != false";
		out->detail = xasprintf(
			"%s must set securityContext.allowPrivilegeEscalation=false", who);
	}
	strs_free(&a.names);
	return ok;
}

static bool check_caps_restricted(const json_t *spec, struct check_result *out)
{
	struct caps_arg a = {.restricted = true};
	visit(spec, caps_visit, &a);
	cleanup_buf struct buf b = BUF_INIT;
	if (a.no_drop.n) {
		cleanup_free char *who = containers_text(&a.no_drop);
		buf_printf(&b, "%s must set securityContext.capabilities.drop=[\"ALL\"]", who);
	}
	if (a.ctrs.n) {
		strs_sort(&a.caps);
		cleanup_free char *who = containers_text(&a.ctrs);
		cleanup_free char *caps = join_quote(&a.caps);
		buf_printf(&b, "%s%s must not include %s in securityContext.capabilities.add",
			   b.len ? "; " : "", who, caps);
	}
	strs_free(&a.ctrs);
	strs_free(&a.caps);
	strs_free(&a.no_drop);
	if (!b.len)
		return true;
	out->reason = "unrestricted capabilities";
	out->detail = xstrdup(buf_str(&b));
	return false;
}

static bool check_volumes(const json_t *spec, struct check_result *out)
{
	static const char *const allowed[] = {
		"configMap", "csi",   "downwardAPI",	       "emptyDir",
		"ephemeral", "image", "persistentVolumeClaim", "projected",
		"secret",    NULL,
	};
	struct strs vols = {0}, types = {0};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x)
		{
			if (!strcmp(k, "name"))
				continue;
			bool ok = false;
			for (const char *const *a = allowed; *a && !ok; a++)
				ok = !strcmp(*a, k);
			if (!ok) {
				const char *name = json_string_value(json_object_get(v, "name"));
				strs_add(&vols, name ? name : "");
				strs_add(&types, k);
			}
		}
	}
	bool ok = vols.n == 0;
	if (!ok) {
		strs_sort(&types);
		cleanup_free char *vq = join_quote(&vols);
		cleanup_free char *tq = join_quote(&types);
		out->reason = "restricted volume types";
		out->detail = xasprintf(
			"%s %s %s %s %s", plural("volume", "volumes", vols.n), vq,
			plural("uses", "use", vols.n),
			plural("restricted volume type", "restricted volume types", types.n), tq);
	}
	strs_free(&vols);
	strs_free(&types);
	return ok;
}

struct nonroot_arg {
	bool pod_true;
	struct strs explicit_bad, implicit_bad;
};

static void nonroot_visit(const json_t *ctr, const char *name, void *arg)
{
	struct nonroot_arg *a = arg;
	const json_t *v = sc_get(ctr, "runAsNonRoot");
	if (json_is_boolean(v)) {
		if (json_is_false(v))
			strs_add(&a->explicit_bad, name);
	} else if (!a->pod_true) {
		strs_add(&a->implicit_bad, name);
	}
}

static bool check_run_as_non_root(const json_t *spec, struct check_result *out)
{
	struct nonroot_arg a = {0};
	const json_t *pv = json_path_get(spec, "securityContext.runAsNonRoot");
	bool pod_false = json_is_false(pv);
	a.pod_true = json_is_true(pv);
	visit(spec, nonroot_visit, &a);
	bool ok = true;
	out->reason = "runAsNonRoot != true";
	if (pod_false || a.explicit_bad.n) {
		ok = false;
		cleanup_buf struct buf who = BUF_INIT;
		if (pod_false)
			buf_append_str(&who, "pod");
		if (a.explicit_bad.n) {
			cleanup_free char *c = containers_text(&a.explicit_bad);
			buf_printf(&who, "%s%s", who.len ? " and " : "", c);
		}
		out->detail = xasprintf("%s must not set securityContext.runAsNonRoot=false",
					buf_str(&who));
	} else if (a.implicit_bad.n) {
		ok = false;
		cleanup_free char *c = containers_text(&a.implicit_bad);
		out->detail = xasprintf("pod or %s must set securityContext.runAsNonRoot=true", c);
	}
	strs_free(&a.explicit_bad);
	strs_free(&a.implicit_bad);
	return ok;
}

static void root_visit(const json_t *ctr, const char *name, void *arg)
{
	const json_t *v = sc_get(ctr, "runAsUser");
	if (json_is_integer(v) && json_integer_value(v) == 0)
		strs_add(&((struct names_arg *)arg)->names, name);
}

static bool check_run_as_user(const json_t *spec, struct check_result *out)
{
	struct names_arg a = {0};
	const json_t *pv = json_path_get(spec, "securityContext.runAsUser");
	bool pod_root = json_is_integer(pv) && json_integer_value(pv) == 0;
	visit(spec, root_visit, &a);
	bool ok = !pod_root && a.names.n == 0;
	if (!ok) {
		cleanup_buf struct buf who = BUF_INIT;
		if (pod_root)
			buf_append_str(&who, "pod");
		if (a.names.n) {
			cleanup_free char *c = containers_text(&a.names);
			buf_printf(&who, "%s%s", who.len ? " and " : "", c);
		}
		out->reason = "runAsUser=0";
		out->detail = xasprintf("%s must not set runAsUser=0", buf_str(&who));
	}
	strs_free(&a.names);
	return ok;
}

/* --- the registry ------------------------------------------------------------------ */

struct check {
	const char *id;
	enum level level;
	const char *overrides; /* a baseline check this restricted one replaces */
	check_fn fn;
};

/* baseline IDs in byte order, then restricted IDs in byte order */
static const struct check checks[] = {
	{"capabilities_baseline", LEVEL_BASELINE, NULL, check_caps_baseline},
	{"hostNamespaces", LEVEL_BASELINE, NULL, check_host_namespaces},
	{"hostPathVolumes", LEVEL_BASELINE, NULL, check_hostpath_volumes},
	{"hostPorts", LEVEL_BASELINE, NULL, check_host_ports},
	{"privileged", LEVEL_BASELINE, NULL, check_privileged},
	{"procMount", LEVEL_BASELINE, NULL, check_procmount},
	{"seccompProfile_baseline", LEVEL_BASELINE, NULL, check_seccomp_baseline},
	{"sysctls", LEVEL_BASELINE, NULL, check_sysctls},
	{"allowPrivilegeEscalation", LEVEL_RESTRICTED, NULL, check_escalation},
	{"capabilities_restricted", LEVEL_RESTRICTED, NULL, check_caps_restricted},
	{"restrictedVolumes", LEVEL_RESTRICTED, "hostPathVolumes", check_volumes},
	{"runAsNonRoot", LEVEL_RESTRICTED, NULL, check_run_as_non_root},
	{"runAsUser", LEVEL_RESTRICTED, NULL, check_run_as_user},
	{"seccompProfile_restricted", LEVEL_RESTRICTED, "seccompProfile_baseline",
	 check_seccomp_restricted},
};
#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static bool overridden(const char *id, enum level l)
{
	if (l != LEVEL_RESTRICTED)
		return false;
	for (size_t i = 0; i < N_CHECKS; i++)
		if (checks[i].overrides && !strcmp(checks[i].overrides, id))
			return true;
	return false;
}

/* "reason (detail), reason (detail)" of what spec violates at level l, or
 * NULL if it passes. New string. */
static char *evaluate(const json_t *spec, enum level l)
{
	if (l == LEVEL_PRIVILEGED || !json_is_object(spec))
		return NULL;
	cleanup_buf struct buf b = BUF_INIT;
	for (size_t i = 0; i < N_CHECKS; i++) {
		if (checks[i].level > l || overridden(checks[i].id, l))
			continue;
		struct check_result r = {0};
		if (checks[i].fn(spec, &r)) {
			free(r.detail);
			continue;
		}
		buf_printf(&b, "%s%s", b.len ? ", " : "", r.reason);
		if (r.detail && r.detail[0])
			buf_printf(&b, " (%s)", r.detail);
		free(r.detail);
	}
	return b.len ? xstrdup(buf_str(&b)) : NULL;
}

#define LABEL_PREFIX "pod-security.kubernetes.io/"

/* "restricted:latest" for mode ("enforce", "warn") of the namespace's labels. */
static char *policy_text(const json_t *labels, const char *mode, enum level l)
{
	cleanup_free char *vkey = xasprintf(LABEL_PREFIX "%s-version", mode);
	const char *ver = json_string_value(json_object_get(labels, vkey));
	return xasprintf("%s:%s", level_name(l), ver && ver[0] ? ver : "latest");
}

int admission_podsecurity_validate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (at->op == ADMISSION_DELETE || at->sub || !at->ns || !json_is_object(at->obj))
		return 0;
	bool pod = !strcmp(at->r->group, "") && !strcmp(at->r->resource, "pods");
	/* the pod templates of the workload kinds served here */
	const char *tpath = NULL;
	if (!strcmp(at->r->group, "apps") &&
	    (!strcmp(at->r->resource, "deployments") || !strcmp(at->r->resource, "replicasets") ||
	     !strcmp(at->r->resource, "daemonsets") || !strcmp(at->r->resource, "statefulsets")))
		tpath = "spec.template.spec";
	else if (!strcmp(at->r->group, "batch") && !strcmp(at->r->resource, "jobs"))
		tpath = "spec.template.spec";
	else if (!strcmp(at->r->group, "batch") && !strcmp(at->r->resource, "cronjobs"))
		tpath = "spec.jobTemplate.spec.template.spec";
	bool workload = tpath != NULL;
	/* pods are checked when made; their updates cannot loosen what matters */
	if (!(pod && at->op == ADMISSION_CREATE) && !workload)
		return 0;
	cleanup_json json_t *ns = NULL;
	if (admission_get(c, "namespaces", NULL, at->ns, &ns, status) < 0)
		return -1;
	json_t *labels = json_path_get(ns, "metadata.labels");
	const char *enf = json_string_value(json_object_get(labels, LABEL_PREFIX "enforce"));
	const char *warn = json_string_value(json_object_get(labels, LABEL_PREFIX "warn"));
	const json_t *spec = pod ? json_object_get(at->obj, "spec") : json_path_get(at->obj, tpath);
	enum level el = parse_level(enf), wl = parse_level(warn);
	if (pod && el != LEVEL_PRIVILEGED) {
		cleanup_free char *why = evaluate(spec, el);
		if (why) {
			cleanup_free char *pol = policy_text(labels, "enforce", el);
			cleanup_free char *msg =
				xasprintf("violates PodSecurity \"%s\": %s", pol, why);
			*status = admission_forbidden(at, msg);
			return -1;
		}
	}
	/* a workload is never refused: what its pods would violate is a warning */
	if (workload && el > wl) {
		wl = el;
		warn = enf;
	}
	if (wl != LEVEL_PRIVILEGED && c->warning) {
		cleanup_free char *why = evaluate(spec, wl);
		if (why) {
			cleanup_free char *pol =
				policy_text(labels, warn == enf ? "enforce" : "warn", wl);
			free(*c->warning);
			*c->warning = xasprintf("would violate PodSecurity \"%s\": %s", pol, why);
		}
	}
	return 0;
}
