/* Go types of request bodies (see the header). The structs below mirror the
 * fields of upstream's Go types that this server knows; each names its Go
 * type as the decoder's messages print it. */
#include "apiserver/typecheck.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "quantity.h"
#include "xalloc.h"

enum ty {
	T_STRING,
	T_BOOL,
	T_INT32,
	T_INT64,
	T_STRMAP,   /* map[string]string */
	T_STRLIST,  /* []string */
	T_QUANTITY, /* resource.Quantity */
	T_QTYMAP,   /* v1.ResourceList */
	T_INTORSTR, /* intstr.IntOrString */
	T_STRUCT,
	T_LIST, /* []<struct> */
};

struct tstruct;

struct tfield {
	const char *name;
	enum ty t;
	const struct tstruct *sub; /* T_STRUCT, T_LIST */
};

struct tstruct {
	const char *go;	 /* "PodSpec": the struct's name in messages */
	const char *pkg; /* "v1" */
	const struct tfield *fields;
};

#define STRUCT(var, goname, pkgname, ...)                                                          \
	static const struct tfield var##_fields[] = {__VA_ARGS__, {NULL, T_STRING, NULL}};         \
	static const struct tstruct var = {.go = goname, .pkg = pkgname, .fields = var##_fields}

STRUCT(owner_reference, "OwnerReference", "v1", {"apiVersion", T_STRING, NULL},
       {"kind", T_STRING, NULL}, {"name", T_STRING, NULL}, {"uid", T_STRING, NULL},
       {"controller", T_BOOL, NULL}, {"blockOwnerDeletion", T_BOOL, NULL});

STRUCT(object_meta, "ObjectMeta", "v1", {"name", T_STRING, NULL}, {"generateName", T_STRING, NULL},
       {"namespace", T_STRING, NULL}, {"uid", T_STRING, NULL}, {"resourceVersion", T_STRING, NULL},
       {"generation", T_INT64, NULL}, {"deletionGracePeriodSeconds", T_INT64, NULL},
       {"labels", T_STRMAP, NULL}, {"annotations", T_STRMAP, NULL},
       {"ownerReferences", T_LIST, &owner_reference}, {"finalizers", T_STRLIST, NULL});

STRUCT(label_selector_requirement, "LabelSelectorRequirement", "v1", {"key", T_STRING, NULL},
       {"operator", T_STRING, NULL}, {"values", T_STRLIST, NULL});

STRUCT(label_selector, "LabelSelector", "v1", {"matchLabels", T_STRMAP, NULL},
       {"matchExpressions", T_LIST, &label_selector_requirement});

STRUCT(container_port, "ContainerPort", "v1", {"name", T_STRING, NULL}, {"hostPort", T_INT32, NULL},
       {"containerPort", T_INT32, NULL}, {"protocol", T_STRING, NULL}, {"hostIP", T_STRING, NULL});

STRUCT(env_var, "EnvVar", "v1", {"name", T_STRING, NULL}, {"value", T_STRING, NULL});

STRUCT(resource_requirements, "ResourceRequirements", "v1", {"limits", T_QTYMAP, NULL},
       {"requests", T_QTYMAP, NULL});

STRUCT(container, "Container", "v1", {"name", T_STRING, NULL}, {"image", T_STRING, NULL},
       {"command", T_STRLIST, NULL}, {"args", T_STRLIST, NULL}, {"workingDir", T_STRING, NULL},
       {"ports", T_LIST, &container_port}, {"env", T_LIST, &env_var},
       {"resources", T_STRUCT, &resource_requirements}, {"terminationMessagePath", T_STRING, NULL},
       {"imagePullPolicy", T_STRING, NULL}, {"stdin", T_BOOL, NULL}, {"tty", T_BOOL, NULL});

STRUCT(pod_spec, "PodSpec", "v1", {"initContainers", T_LIST, &container},
       {"containers", T_LIST, &container}, {"restartPolicy", T_STRING, NULL},
       {"terminationGracePeriodSeconds", T_INT64, NULL}, {"activeDeadlineSeconds", T_INT64, NULL},
       {"dnsPolicy", T_STRING, NULL}, {"nodeSelector", T_STRMAP, NULL},
       {"serviceAccountName", T_STRING, NULL}, {"nodeName", T_STRING, NULL},
       {"hostNetwork", T_BOOL, NULL}, {"hostPID", T_BOOL, NULL}, {"hostIPC", T_BOOL, NULL},
       {"hostname", T_STRING, NULL}, {"subdomain", T_STRING, NULL},
       {"schedulerName", T_STRING, NULL}, {"priority", T_INT32, NULL});

STRUCT(pod_template_spec, "PodTemplateSpec", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &pod_spec});

STRUCT(pod, "Pod", "v1", {"metadata", T_STRUCT, &object_meta}, {"spec", T_STRUCT, &pod_spec});

STRUCT(deployment_spec, "DeploymentSpec", "v1", {"replicas", T_INT32, NULL},
       {"selector", T_STRUCT, &label_selector}, {"template", T_STRUCT, &pod_template_spec},
       {"minReadySeconds", T_INT32, NULL}, {"revisionHistoryLimit", T_INT32, NULL},
       {"paused", T_BOOL, NULL}, {"progressDeadlineSeconds", T_INT32, NULL});

STRUCT(deployment, "Deployment", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &deployment_spec});

STRUCT(replicaset_spec, "ReplicaSetSpec", "v1", {"replicas", T_INT32, NULL},
       {"minReadySeconds", T_INT32, NULL}, {"selector", T_STRUCT, &label_selector},
       {"template", T_STRUCT, &pod_template_spec});

STRUCT(replicaset, "ReplicaSet", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &replicaset_spec});

STRUCT(job_spec, "JobSpec", "v1", {"parallelism", T_INT32, NULL}, {"completions", T_INT32, NULL},
       {"activeDeadlineSeconds", T_INT64, NULL}, {"backoffLimit", T_INT32, NULL},
       {"backoffLimitPerIndex", T_INT32, NULL}, {"maxFailedIndexes", T_INT32, NULL},
       {"selector", T_STRUCT, &label_selector}, {"manualSelector", T_BOOL, NULL},
       {"template", T_STRUCT, &pod_template_spec}, {"ttlSecondsAfterFinished", T_INT32, NULL},
       {"completionMode", T_STRING, NULL}, {"suspend", T_BOOL, NULL},
       {"podReplacementPolicy", T_STRING, NULL}, {"managedBy", T_STRING, NULL});

STRUCT(job, "Job", "v1", {"metadata", T_STRUCT, &object_meta}, {"spec", T_STRUCT, &job_spec});

STRUCT(job_template_spec, "JobTemplateSpec", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &job_spec});

STRUCT(cronjob_spec, "CronJobSpec", "v1", {"schedule", T_STRING, NULL},
       {"timeZone", T_STRING, NULL}, {"startingDeadlineSeconds", T_INT64, NULL},
       {"concurrencyPolicy", T_STRING, NULL}, {"suspend", T_BOOL, NULL},
       {"jobTemplate", T_STRUCT, &job_template_spec},
       {"successfulJobsHistoryLimit", T_INT32, NULL}, {"failedJobsHistoryLimit", T_INT32, NULL});

STRUCT(cronjob, "CronJob", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &cronjob_spec});

STRUCT(rolling_update_daemonset, "RollingUpdateDaemonSet", "v1",
       {"maxUnavailable", T_INTORSTR, NULL}, {"maxSurge", T_INTORSTR, NULL});

STRUCT(daemonset_update_strategy, "DaemonSetUpdateStrategy", "v1", {"type", T_STRING, NULL},
       {"rollingUpdate", T_STRUCT, &rolling_update_daemonset});

STRUCT(daemonset_spec, "DaemonSetSpec", "v1", {"selector", T_STRUCT, &label_selector},
       {"template", T_STRUCT, &pod_template_spec},
       {"updateStrategy", T_STRUCT, &daemonset_update_strategy},
       {"minReadySeconds", T_INT32, NULL}, {"revisionHistoryLimit", T_INT32, NULL});

STRUCT(daemonset, "DaemonSet", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &daemonset_spec});

STRUCT(rolling_update_statefulset, "RollingUpdateStatefulSetStrategy", "v1",
       {"partition", T_INT32, NULL}, {"maxUnavailable", T_INTORSTR, NULL});

STRUCT(statefulset_update_strategy, "StatefulSetUpdateStrategy", "v1", {"type", T_STRING, NULL},
       {"rollingUpdate", T_STRUCT, &rolling_update_statefulset});

STRUCT(statefulset_spec, "StatefulSetSpec", "v1", {"replicas", T_INT32, NULL},
       {"selector", T_STRUCT, &label_selector}, {"template", T_STRUCT, &pod_template_spec},
       {"serviceName", T_STRING, NULL}, {"podManagementPolicy", T_STRING, NULL},
       {"updateStrategy", T_STRUCT, &statefulset_update_strategy},
       {"revisionHistoryLimit", T_INT32, NULL}, {"minReadySeconds", T_INT32, NULL});

STRUCT(statefulset, "StatefulSet", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &statefulset_spec});

STRUCT(controllerrevision, "ControllerRevision", "v1", {"metadata", T_STRUCT, &object_meta},
       {"revision", T_INT64, NULL});

STRUCT(pdb_spec, "PodDisruptionBudgetSpec", "v1", {"minAvailable", T_INTORSTR, NULL},
       {"maxUnavailable", T_INTORSTR, NULL}, {"selector", T_STRUCT, &label_selector},
       {"unhealthyPodEvictionPolicy", T_STRING, NULL});

STRUCT(pdb, "PodDisruptionBudget", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &pdb_spec});

STRUCT(delete_options, "DeleteOptions", "v1", {"gracePeriodSeconds", T_INT64, NULL},
       {"propagationPolicy", T_STRING, NULL}, {"dryRun", T_STRLIST, NULL});

STRUCT(eviction, "Eviction", "v1", {"metadata", T_STRUCT, &object_meta},
       {"deleteOptions", T_STRUCT, &delete_options});

STRUCT(scale_spec, "ScaleSpec", "v1", {"replicas", T_INT32, NULL});

STRUCT(scale, "Scale", "v1", {"metadata", T_STRUCT, &object_meta}, {"spec", T_STRUCT, &scale_spec});

STRUCT(configmap, "ConfigMap", "v1", {"metadata", T_STRUCT, &object_meta},
       {"immutable", T_BOOL, NULL}, {"data", T_STRMAP, NULL});

STRUCT(secret, "Secret", "v1", {"metadata", T_STRUCT, &object_meta}, {"immutable", T_BOOL, NULL},
       {"stringData", T_STRMAP, NULL}, {"type", T_STRING, NULL});

STRUCT(service_port, "ServicePort", "v1", {"name", T_STRING, NULL}, {"protocol", T_STRING, NULL},
       {"appProtocol", T_STRING, NULL}, {"port", T_INT32, NULL}, {"targetPort", T_INTORSTR, NULL},
       {"nodePort", T_INT32, NULL});

STRUCT(service_spec, "ServiceSpec", "v1", {"ports", T_LIST, &service_port},
       {"selector", T_STRMAP, NULL}, {"clusterIP", T_STRING, NULL}, {"clusterIPs", T_STRLIST, NULL},
       {"type", T_STRING, NULL}, {"externalIPs", T_STRLIST, NULL},
       {"sessionAffinity", T_STRING, NULL}, {"loadBalancerIP", T_STRING, NULL},
       {"externalTrafficPolicy", T_STRING, NULL}, {"healthCheckNodePort", T_INT32, NULL});

STRUCT(service, "Service", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &service_spec});

STRUCT(namespace_spec, "NamespaceSpec", "v1", {"finalizers", T_STRLIST, NULL});

STRUCT(namespace, "Namespace", "v1", {"metadata", T_STRUCT, &object_meta},
       {"spec", T_STRUCT, &namespace_spec});

STRUCT(node_spec, "NodeSpec", "v1", {"podCIDR", T_STRING, NULL}, {"podCIDRs", T_STRLIST, NULL},
       {"providerID", T_STRING, NULL}, {"unschedulable", T_BOOL, NULL});

STRUCT(node_status, "NodeStatus", "v1", {"capacity", T_QTYMAP, NULL},
       {"allocatable", T_QTYMAP, NULL});

STRUCT(node, "Node", "v1", {"metadata", T_STRUCT, &object_meta}, {"spec", T_STRUCT, &node_spec},
       {"status", T_STRUCT, &node_status});

STRUCT(any_object, "", "", {"metadata", T_STRUCT, &object_meta});

static const struct {
	const char *kind;
	const struct tstruct *st;
} kinds[] = {
	{"Pod", &pod},	       {"Deployment", &deployment}, {"ReplicaSet", &replicaset},
	{"Scale", &scale},     {"ConfigMap", &configmap},   {"Secret", &secret},
	{"Service", &service}, {"Namespace", &namespace},   {"Node", &node},
	{"Job", &job},	       {"CronJob", &cronjob},
	{"DaemonSet", &daemonset}, {"ControllerRevision", &controllerrevision},
	{"StatefulSet", &statefulset},
	{"PodDisruptionBudget", &pdb}, {"Eviction", &eviction},
};

struct walk {
	char *first; /* the first type error; decoding goes on after one */
	char *fatal; /* an error that stops the decoder at once */
};

static void type_error(struct walk *w, const char *value, const char *go, const char *path,
		       const char *type)
{
	if (w->first)
		return;
	w->first = xasprintf("json: cannot unmarshal %s into Go struct field %s.%s of type %s",
			     value, go, path, type);
}

/* A number as Go prints its literal in "number 1.5". New string. */
static char *number_text(const json_t *v)
{
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	double d = json_real_value(v);
	char tmp[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return xstrdup(tmp);
}

static void check_int(struct walk *w, const json_t *v, const char *go, const char *path, bool is32)
{
	const char *type = is32 ? "int32" : "int64";
	if (!json_is_number(v)) {
		type_error(w, json_kind_name(v), go, path, type);
		return;
	}
	bool ok = json_is_integer(v);
	if (ok && is32) {
		json_int_t n = json_integer_value(v);
		ok = n >= INT32_MIN && n <= INT32_MAX;
	}
	if (!ok) {
		cleanup_free char *num = number_text(v);
		cleanup_free char *val = xasprintf("number %s", num);
		type_error(w, val, go, path, type);
	}
}

/* resource.Quantity reads its JSON text itself and stops the decoder on a
 * bad one. */
static void check_quantity(struct walk *w, const json_t *v)
{
	if (w->fatal || json_is_null(v))
		return;
	cleanup_free char *text = NULL;
	if (json_is_string(v))
		text = xstrdup(json_string_value(v));
	else if (json_is_number(v))
		text = number_text(v);
	else
		text = xstrdup(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "{");
	/* as ParseQuantity: surrounding spaces are trimmed */
	char *s = text;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	int64_t milli;
	cleanup_err struct mk_err *err = NULL;
	if (quantity_parse_milli(s, &milli, &err) < 0 && mk_err_code(err) == MK_EINVAL &&
	    (!strncmp(mk_err_msg(err), "quantities must", 15) ||
	     !strncmp(mk_err_msg(err), "unable to parse", 15)))
		w->fatal = xstrdup(mk_err_msg(err));
}

static void walk_struct(struct walk *w, const json_t *obj, const struct tstruct *st,
			struct buf *path);

static void walk_field(struct walk *w, const json_t *v, const struct tfield *f,
		       const struct tstruct *st, const char *path)
{
	if (json_is_null(v) || w->fatal)
		return;
	switch (f->t) {
	case T_STRING:
		if (!json_is_string(v))
			type_error(w, json_kind_name(v), st->go, path, "string");
		return;
	case T_BOOL:
		if (!json_is_boolean(v))
			type_error(w, json_kind_name(v), st->go, path, "bool");
		return;
	case T_INT32:
	case T_INT64:
		check_int(w, v, st->go, path, f->t == T_INT32);
		return;
	case T_STRMAP:
	case T_QTYMAP: {
		bool qty = f->t == T_QTYMAP;
		if (!json_is_object(v)) {
			type_error(w, json_kind_name(v), st->go, path,
				   qty ? "v1.ResourceList" : "map[string]string");
			return;
		}
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			if (qty)
				check_quantity(w, x);
			else if (!json_is_string(x) && !json_is_null(x))
				type_error(w, json_kind_name(x), st->go, path, "string");
		}
		return;
	}
	case T_STRLIST: {
		if (!json_is_array(v)) {
			type_error(w, json_kind_name(v), st->go, path, "[]string");
			return;
		}
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) if (!json_is_string(x) && !json_is_null(x))
			type_error(w, json_kind_name(x), st->go, path, "string");
		return;
	}
	case T_QUANTITY:
		check_quantity(w, v);
		return;
	case T_INTORSTR:
		/* IntOrString reads a string, or else an int32 by itself */
		if (!json_is_string(v) && !w->fatal) {
			if (!json_is_number(v))
				w->fatal =
					xasprintf("json: cannot unmarshal %s into Go value of type "
						  "int32",
						  json_kind_name(v));
			else if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
				 json_integer_value(v) > INT32_MAX) {
				cleanup_free char *num = number_text(v);
				w->fatal =
					xasprintf("json: cannot unmarshal number %s into Go value "
						  "of type int32",
						  num);
			}
		}
		return;
	case T_STRUCT: {
		if (!json_is_object(v)) {
			cleanup_free char *type = xasprintf("%s.%s", f->sub->pkg, f->sub->go);
			type_error(w, json_kind_name(v), st->go, path, type);
			return;
		}
		struct buf p = BUF_INIT;
		buf_append_str(&p, path);
		walk_struct(w, v, f->sub, &p);
		buf_free(&p);
		return;
	}
	case T_LIST: {
		if (!json_is_array(v)) {
			cleanup_free char *type = xasprintf("[]%s.%s", f->sub->pkg, f->sub->go);
			type_error(w, json_kind_name(v), st->go, path, type);
			return;
		}
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			if (json_is_null(x))
				continue;
			if (!json_is_object(x)) {
				cleanup_free char *type =
					xasprintf("%s.%s", f->sub->pkg, f->sub->go);
				type_error(w, json_kind_name(x), st->go, path, type);
				continue;
			}
			struct buf p = BUF_INIT;
			buf_append_str(&p, path);
			walk_struct(w, x, f->sub, &p);
			buf_free(&p);
		}
		return;
	}
	}
}

/* path: the JSON path of obj ("" at the top), extended per field. */
static void walk_struct(struct walk *w, const json_t *obj, const struct tstruct *st,
			struct buf *path)
{
	size_t base = path->len;
	/* in document order: the first error in the body is the one reported */
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		const struct tfield *f = st->fields;
		while (f->name && strcmp(f->name, k))
			f++;
		if (!f->name)
			continue;
		path->len = base;
		if (path->data)
			path->data[base] = '\0';
		if (base)
			buf_append_char(path, '.');
		buf_append_str(path, k);
		walk_field(w, v, f, st, buf_str(path));
		if (w->fatal)
			return;
	}
}

char *typecheck_body(const char *kind, const json_t *obj)
{
	const struct tstruct *st = &any_object;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kind && !strcmp(kinds[i].kind, kind))
			st = kinds[i].st;
	if (!json_is_object(obj))
		return NULL;
	struct walk w = {0};
	/* the top-level struct is named after the kind in messages */
	struct tstruct top = *st;
	if (!top.go[0])
		top.go = kind ? kind : "";
	struct buf path = BUF_INIT;
	walk_struct(&w, obj, &top, &path);
	buf_free(&path);
	if (w.fatal) {
		free(w.first);
		return w.fatal;
	}
	return w.first;
}
