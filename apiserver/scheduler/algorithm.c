#include "algorithm.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "quantity.h"
#include "xalloc.h"

/* Requests assumed for a container without any, in scoring only (upstream's
 * non-zero defaults: 100m cpu, 200Mi memory). */
#define DEFAULT_CPU_MILLI 100
#define DEFAULT_MEM_MILLI (200LL * 1024 * 1024 * 1000)

struct acct_pod {
	char *uid;
	char *node;
	char *owner;       /* controller ownerReference uid, or NULL */
	int64_t cpu, mem;  /* requests, milli-units */
	int64_t score_cpu, score_mem;
	json_t *host_ports; /* array of "proto/ip/port" */
};

struct sched_node_info {
	char *name;
	json_t *node;
	int64_t alloc_cpu, alloc_mem, alloc_pods;
	int64_t req_cpu, req_mem, score_cpu, score_mem, npods;
};

struct sched_snapshot {
	struct sched_node_info *nodes;
	size_t n_nodes, cap_nodes;
	struct acct_pod *pods;
	size_t n_pods, cap_pods;
};

struct sched_snapshot *sched_snapshot_new(void)
{
	return xcalloc(1, sizeof(struct sched_snapshot));
}

static void acct_pod_clear(struct acct_pod *p)
{
	free(p->uid);
	free(p->node);
	free(p->owner);
	json_decref(p->host_ports);
}

void sched_snapshot_free(struct sched_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		free(s->nodes[i].name);
		json_decref(s->nodes[i].node);
	}
	for (size_t i = 0; i < s->n_pods; i++)
		acct_pod_clear(&s->pods[i]);
	free(s->nodes);
	free(s->pods);
	free(s);
}

static int64_t quantity_or_zero(const json_t *q)
{
	int64_t v = 0;
	if (json_is_string(q)) {
		if (quantity_parse_milli(json_string_value(q), &v, NULL) < 0)
			v = 0;
	} else if (json_is_integer(q)) {
		v = json_integer_value(q) * 1000;
	}
	return v;
}

static struct sched_node_info *find_node(struct sched_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (!strcmp(s->nodes[i].name, name))
			return &s->nodes[i];
	return NULL;
}

static void node_load_allocatable(struct sched_node_info *ni)
{
	json_t *status = json_object_get(ni->node, "status");
	json_t *alloc = json_object_get(status, "allocatable");
	if (!json_is_object(alloc) || !json_object_size(alloc))
		alloc = json_object_get(status, "capacity");
	ni->alloc_cpu = quantity_or_zero(json_object_get(alloc, "cpu"));
	ni->alloc_mem = quantity_or_zero(json_object_get(alloc, "memory"));
	json_t *pods = json_object_get(alloc, "pods");
	ni->alloc_pods = pods ? quantity_or_zero(pods) / 1000 : 110;
}

void sched_snapshot_set_node(struct sched_snapshot *s, const json_t *node)
{
	const char *name = json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
	if (!name)
		return;
	struct sched_node_info *ni = find_node(s, name);
	if (!ni) {
		if (s->n_nodes == s->cap_nodes) {
			s->cap_nodes = s->cap_nodes ? 2 * s->cap_nodes : 16;
			s->nodes = xrealloc(s->nodes, s->cap_nodes * sizeof(*s->nodes));
		}
		ni = &s->nodes[s->n_nodes++];
		*ni = (struct sched_node_info){.name = xstrdup(name)};
		/* pods accounted before their node was known */
		for (size_t i = 0; i < s->n_pods; i++) {
			struct acct_pod *p = &s->pods[i];
			if (!strcmp(p->node, name)) {
				ni->req_cpu += p->cpu;
				ni->req_mem += p->mem;
				ni->score_cpu += p->score_cpu;
				ni->score_mem += p->score_mem;
				ni->npods++;
			}
		}
	}
	json_decref(ni->node);
	ni->node = json_deep_copy(node);
	node_load_allocatable(ni);
}

void sched_snapshot_remove_node(struct sched_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (strcmp(s->nodes[i].name, name))
			continue;
		free(s->nodes[i].name);
		json_decref(s->nodes[i].node);
		s->nodes[i] = s->nodes[--s->n_nodes];
		return;
	}
}

static void requests_of(const json_t *containers, int64_t *cpu, int64_t *mem, int64_t *score_cpu,
			int64_t *score_mem, bool sum)
{
	size_t i;
	json_t *c;
	json_array_foreach(containers, i, c) {
		json_t *req = json_object_get(json_object_get(c, "resources"), "requests");
		int64_t cc = quantity_or_zero(json_object_get(req, "cpu"));
		int64_t mm = quantity_or_zero(json_object_get(req, "memory"));
		int64_t sc = json_object_get(req, "cpu") ? cc : DEFAULT_CPU_MILLI;
		int64_t sm = json_object_get(req, "memory") ? mm : DEFAULT_MEM_MILLI;
		if (sum) {
			*cpu += cc;
			*mem += mm;
			*score_cpu += sc;
			*score_mem += sm;
		} else {
			*cpu = cc > *cpu ? cc : *cpu;
			*mem = mm > *mem ? mm : *mem;
			*score_cpu = sc > *score_cpu ? sc : *score_cpu;
			*score_mem = sm > *score_mem ? sm : *score_mem;
		}
	}
}

static void pod_requests(const json_t *pod, int64_t *cpu, int64_t *mem, int64_t *scpu, int64_t *smem)
{
	json_t *spec = json_object_get(pod, "spec");
	*cpu = *mem = *scpu = *smem = 0;
	requests_of(json_object_get(spec, "containers"), cpu, mem, scpu, smem, true);
	int64_t icpu = 0, imem = 0, iscpu = 0, ismem = 0;
	requests_of(json_object_get(spec, "initContainers"), &icpu, &imem, &iscpu, &ismem, false);
	*cpu = icpu > *cpu ? icpu : *cpu;
	*mem = imem > *mem ? imem : *mem;
	*scpu = iscpu > *scpu ? iscpu : *scpu;
	*smem = ismem > *smem ? ismem : *smem;
}

void sched_pod_requests(const json_t *pod, int64_t *cpu_milli, int64_t *mem_milli)
{
	int64_t sc, sm;
	pod_requests(pod, cpu_milli, mem_milli, &sc, &sm);
}

static json_t *pod_host_ports(const json_t *pod)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, p) {
			json_int_t hp = json_integer_value(json_object_get(p, "hostPort"));
			if (hp <= 0)
				continue;
			const char *proto = json_string_value(json_object_get(p, "protocol"));
			const char *ip = json_string_value(json_object_get(p, "hostIP"));
			json_array_append_new(out, json_sprintf("%s/%s/%lld", proto ? proto : "TCP",
								ip && *ip ? ip : "0.0.0.0", (long long)hp));
		}
	}
	return out;
}

static char *controller_owner(const json_t *pod)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i, o) {
		if (json_is_true(json_object_get(o, "controller")) && json_object_get(o, "uid"))
			return xstrdup(json_string_value(json_object_get(o, "uid")));
	}
	return NULL;
}

static void unaccount(struct sched_snapshot *s, size_t idx)
{
	struct acct_pod *p = &s->pods[idx];
	struct sched_node_info *ni = find_node(s, p->node);
	if (ni) {
		ni->req_cpu -= p->cpu;
		ni->req_mem -= p->mem;
		ni->score_cpu -= p->score_cpu;
		ni->score_mem -= p->score_mem;
		ni->npods--;
	}
	acct_pod_clear(p);
	s->pods[idx] = s->pods[--s->n_pods];
}

void sched_snapshot_remove_pod(struct sched_snapshot *s, const char *uid)
{
	for (size_t i = 0; i < s->n_pods; i++) {
		if (!strcmp(s->pods[i].uid, uid)) {
			unaccount(s, i);
			return;
		}
	}
}

static void account(struct sched_snapshot *s, const json_t *pod, const char *uid, const char *node)
{
	sched_snapshot_remove_pod(s, uid);
	if (s->n_pods == s->cap_pods) {
		s->cap_pods = s->cap_pods ? 2 * s->cap_pods : 64;
		s->pods = xrealloc(s->pods, s->cap_pods * sizeof(*s->pods));
	}
	struct acct_pod *p = &s->pods[s->n_pods++];
	*p = (struct acct_pod){.uid = xstrdup(uid), .node = xstrdup(node),
			       .owner = controller_owner(pod), .host_ports = pod_host_ports(pod)};
	pod_requests(pod, &p->cpu, &p->mem, &p->score_cpu, &p->score_mem);
	struct sched_node_info *ni = find_node(s, node);
	if (ni) {
		ni->req_cpu += p->cpu;
		ni->req_mem += p->mem;
		ni->score_cpu += p->score_cpu;
		ni->score_mem += p->score_mem;
		ni->npods++;
	}
}

void sched_snapshot_set_pod(struct sched_snapshot *s, const json_t *pod)
{
	const char *uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	if (!uid)
		return;
	const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
	bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	if (!node || !*node || terminal) {
		sched_snapshot_remove_pod(s, uid);
		return;
	}
	account(s, pod, uid, node);
}

void sched_snapshot_assume(struct sched_snapshot *s, const json_t *pod, const char *node)
{
	const char *uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	if (uid)
		account(s, pod, uid, node);
}

/* ---- filters ---- */

static bool toleration_matches(const json_t *tol, const char *key, const char *value,
			       const char *effect)
{
	const char *tkey = json_string_value(json_object_get(tol, "key"));
	const char *op = json_string_value(json_object_get(tol, "operator"));
	const char *tval = json_string_value(json_object_get(tol, "value"));
	const char *teff = json_string_value(json_object_get(tol, "effect"));
	if (teff && *teff && strcmp(teff, effect))
		return false;
	bool exists = op && !strcmp(op, "Exists");
	if (!tkey || !*tkey)
		return exists; /* empty key with Exists tolerates everything */
	if (strcmp(tkey, key))
		return false;
	return exists || !strcmp(tval ? tval : "", value ? value : "");
}

static bool tolerated(const json_t *pod, const char *key, const char *value, const char *effect)
{
	size_t i;
	json_t *tol;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "tolerations"), i, tol) {
		if (toleration_matches(tol, key, value, effect))
			return true;
	}
	return false;
}

static const char *ready_status(const json_t *node)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type && !strcmp(type, "Ready"))
			return json_string_value(json_object_get(c, "status"));
	}
	return NULL;
}

/* Returns the first untolerated NoSchedule/NoExecute taint as "{key: value}",
 * treating a node that is not Ready like upstream's lifecycle taints. */
static char *untolerated_taint(const json_t *pod, const json_t *node)
{
	size_t i;
	json_t *t;
	bool has_lifecycle_taint = false;
	json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t) {
		const char *key = json_string_value(json_object_get(t, "key"));
		const char *value = json_string_value(json_object_get(t, "value"));
		const char *effect = json_string_value(json_object_get(t, "effect"));
		if (!key || !effect)
			continue;
		if (!strcmp(key, "node.kubernetes.io/not-ready") ||
		    !strcmp(key, "node.kubernetes.io/unreachable"))
			has_lifecycle_taint = true;
		if (strcmp(effect, "NoSchedule") && strcmp(effect, "NoExecute"))
			continue;
		if (!tolerated(pod, key, value, effect))
			return xasprintf("{%s: %s}", key, value ? value : "");
	}
	const char *ready = ready_status(node);
	if (!has_lifecycle_taint && (!ready || strcmp(ready, "True"))) {
		const char *key = ready && !strcmp(ready, "False") ? "node.kubernetes.io/not-ready"
								   : "node.kubernetes.io/unreachable";
		if (!tolerated(pod, key, NULL, "NoSchedule"))
			return xasprintf("{%s: }", key);
	}
	return NULL;
}

static bool string_in(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x) {
		if (v && json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	}
	return false;
}

static bool requirement_matches(const json_t *req, const char *actual)
{
	const char *op = json_string_value(json_object_get(req, "operator"));
	json_t *values = json_object_get(req, "values");
	if (!op)
		return false;
	if (!strcmp(op, "In"))
		return string_in(values, actual);
	if (!strcmp(op, "NotIn"))
		return !string_in(values, actual);
	if (!strcmp(op, "Exists"))
		return actual != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return actual == NULL;
	if ((!strcmp(op, "Gt") || !strcmp(op, "Lt")) && actual && json_array_size(values) == 1) {
		char *end;
		long long a = strtoll(actual, &end, 10);
		if (*end)
			return false;
		const char *vs = json_string_value(json_array_get(values, 0));
		long long b = vs ? strtoll(vs, &end, 10) : 0;
		if (!vs || *end)
			return false;
		return op[0] == 'G' ? a > b : a < b;
	}
	return false;
}

static bool node_selector_term_matches(const json_t *term, const json_t *node)
{
	json_t *meta = json_object_get(node, "metadata");
	json_t *labels = json_object_get(meta, "labels");
	json_t *exprs = json_object_get(term, "matchExpressions");
	json_t *fields = json_object_get(term, "matchFields");
	if (!json_array_size(exprs) && !json_array_size(fields))
		return false; /* an empty term matches nothing, as upstream */
	size_t i;
	json_t *r;
	json_array_foreach(exprs, i, r) {
		const char *key = json_string_value(json_object_get(r, "key"));
		const char *v = key ? json_string_value(json_object_get(labels, key)) : NULL;
		if (!requirement_matches(r, v))
			return false;
	}
	json_array_foreach(fields, i, r) {
		const char *key = json_string_value(json_object_get(r, "key"));
		const char *v = key && !strcmp(key, "metadata.name")
					? json_string_value(json_object_get(meta, "name"))
					: NULL;
		if (!requirement_matches(r, v))
			return false;
	}
	return true;
}

static bool affinity_matches(const json_t *pod, const json_t *node)
{
	json_t *spec = json_object_get(pod, "spec");
	json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(spec, "nodeSelector"), k, v) {
		json_t *have = json_object_get(labels, k);
		if (!json_is_string(have) || !json_equal(have, v))
			return false;
	}
	json_t *req = json_object_get(json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
				      "requiredDuringSchedulingIgnoredDuringExecution");
	json_t *terms = json_object_get(req, "nodeSelectorTerms");
	if (!req)
		return true;
	size_t i;
	json_t *t;
	json_array_foreach(terms, i, t) {
		if (node_selector_term_matches(t, node))
			return true;
	}
	return false;
}

static bool ports_conflict(const struct sched_snapshot *s, const char *node, const json_t *want)
{
	if (!json_array_size(want))
		return false;
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct acct_pod *p = &s->pods[i];
		if (strcmp(p->node, node))
			continue;
		size_t a, b;
		json_t *x, *y;
		json_array_foreach(p->host_ports, a, x) {
			json_array_foreach(want, b, y) {
				const char *xs = json_string_value(x), *ys = json_string_value(y);
				const char *xp = strrchr(xs, '/'), *yp = strrchr(ys, '/');
				const char *xi = strchr(xs, '/') + 1, *yi = strchr(ys, '/') + 1;
				size_t xl = (size_t)(xp - xi), yl = (size_t)(yp - yi);
				bool same_proto = (size_t)(xi - xs) == (size_t)(yi - ys) &&
						  !strncmp(xs, ys, (size_t)(xi - xs));
				bool any_ip = !strncmp(xi, "0.0.0.0/", 8) || !strncmp(yi, "0.0.0.0/", 8);
				bool same_ip = xl == yl && !strncmp(xi, yi, xl);
				if (same_proto && !strcmp(xp, yp) && (any_ip || same_ip))
					return true;
			}
		}
	}
	return false;
}

/* Reasons a node was rejected, as upstream words them. */
struct reasons {
	const char **text; /* borrowed literals or owned (owned[i]) */
	bool *owned;
	size_t n, cap;
};

static void reason_add(struct reasons *r, const char *text, bool owned)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->text = xrealloc(r->text, r->cap * sizeof(*r->text));
		r->owned = xrealloc(r->owned, r->cap * sizeof(*r->owned));
	}
	r->text[r->n] = text;
	r->owned[r->n++] = owned;
}

static void reasons_free(struct reasons *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->owned[i])
			free((char *)r->text[i]);
	free(r->text);
	free(r->owned);
}

/* Runs the filters in upstream's plugin order and stops at the first failing
 * one (resource fit reports every insufficient resource). */
static bool node_fits(const struct sched_snapshot *s, const struct sched_node_info *ni,
		      const json_t *pod, int64_t cpu, int64_t mem, const json_t *ports,
		      struct reasons *why)
{
	json_t *nspec = json_object_get(ni->node, "spec");
	if (json_is_true(json_object_get(nspec, "unschedulable")) &&
	    !tolerated(pod, "node.kubernetes.io/unschedulable", NULL, "NoSchedule")) {
		reason_add(why, "node(s) were unschedulable", false);
		return false;
	}
	char *taint = untolerated_taint(pod, ni->node);
	if (taint) {
		reason_add(why, xasprintf("node(s) had untolerated taint %s", taint), true);
		free(taint);
		return false;
	}
	if (!affinity_matches(pod, ni->node)) {
		reason_add(why, "node(s) didn't match Pod's node affinity/selector", false);
		return false;
	}
	if (ports_conflict(s, ni->name, ports)) {
		reason_add(why, "node(s) didn't have free ports for the requested pod ports", false);
		return false;
	}
	bool fit = true;
	if (ni->npods + 1 > ni->alloc_pods) {
		reason_add(why, "Too many pods", false);
		fit = false;
	}
	if (cpu > 0 && ni->req_cpu + cpu > ni->alloc_cpu) {
		reason_add(why, "Insufficient cpu", false);
		fit = false;
	}
	if (mem > 0 && ni->req_mem + mem > ni->alloc_mem) {
		reason_add(why, "Insufficient memory", false);
		fit = false;
	}
	return fit;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "0/3 nodes are available: 1 Insufficient cpu, 2 ... . preemption: ..." */
static char *fit_error(size_t n_nodes, const struct reasons *why)
{
	size_t n = 0;
	char **lines = xcalloc(why->n + 1, sizeof(char *));
	for (size_t i = 0; i < why->n; i++) {
		size_t count = 0;
		bool seen = false;
		for (size_t j = 0; j < why->n; j++) {
			if (!strcmp(why->text[i], why->text[j])) {
				if (j < i)
					seen = true;
				count++;
			}
		}
		if (!seen)
			lines[n++] = xasprintf("%zu %s", count, why->text[i]);
	}
	qsort(lines, n, sizeof(char *), cmp_str);
	struct buf b = BUF_INIT;
	buf_printf(&b, "0/%zu nodes are available: ", n_nodes);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? ", " : "", lines[i]);
		free(lines[i]);
	}
	free(lines);
	buf_printf(&b, ". preemption: 0/%zu nodes are available: %zu Preemption is not helpful for "
		       "scheduling.", n_nodes, n_nodes);
	return buf_steal(&b);
}

static int64_t free_fraction(int64_t alloc, int64_t used)
{
	if (alloc <= 0 || used >= alloc)
		return 0;
	return (alloc - used) * 100 / alloc;
}

int sched_pick(struct sched_snapshot *s, const json_t *pod, char **node, struct mk_err **err)
{
	if (!s->n_nodes)
		return mk_err_set(err, MK_ENOTFOUND, "no nodes available to schedule pods");
	int64_t cpu, mem, scpu, smem;
	pod_requests(pod, &cpu, &mem, &scpu, &smem);
	cleanup_json json_t *ports = pod_host_ports(pod);
	cleanup_free char *owner = controller_owner(pod);

	struct reasons why = {0};
	const struct sched_node_info *best = NULL;
	int64_t best_score = -1;
	unsigned ties = 0;
	int64_t max_owned = 0;
	int64_t *owned = xcalloc(s->n_nodes, sizeof(int64_t));
	if (owner) {
		/* one pass over the pods; only the owner's pods look up their node */
		for (size_t j = 0; j < s->n_pods; j++) {
			if (!s->pods[j].owner || strcmp(s->pods[j].owner, owner))
				continue;
			for (size_t i = 0; i < s->n_nodes; i++) {
				if (!strcmp(s->pods[j].node, s->nodes[i].name)) {
					if (++owned[i] > max_owned)
						max_owned = owned[i];
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct sched_node_info *ni = &s->nodes[i];
		if (!node_fits(s, ni, pod, cpu, mem, ports, &why))
			continue;
		int64_t least = (free_fraction(ni->alloc_cpu, ni->score_cpu + scpu) +
				 free_fraction(ni->alloc_mem, ni->score_mem + smem)) / 2;
		int64_t spread = max_owned ? (max_owned - owned[i]) * 100 / max_owned : 100;
		int64_t score = least + 2 * spread;
		if (score > best_score) {
			best = ni;
			best_score = score;
			ties = 1;
		} else if (score == best_score && (unsigned)random() % ++ties == 0) {
			best = ni; /* uniform choice among equal scores, as upstream */
		}
	}
	free(owned);
	if (!best) {
		char *msg = fit_error(s->n_nodes, &why);
		mk_err_set(err, MK_ENOTFOUND, "%s", msg);
		free(msg);
		reasons_free(&why);
		return -1;
	}
	reasons_free(&why);
	*node = xstrdup(best->name);
	return 0;
}
