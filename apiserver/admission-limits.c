/* The LimitRanger and ResourceQuota admission plugins. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "quantity.h"
#include "quota.h"
#include "xalloc.h"
#include "apiserver/admission-internal.h"
#include "apiserver/objects.h"
#include "apiserver/resource.h"
#include "apiserver/status.h"
#include "apiserver/store.h"

/* --- LimitRanger ---------------------------------------------------------------- */

#define LIMIT_RANGER_ANNOTATION "kubernetes.io/limit-ranger"

/* A quantity as upstream's Quantity.String() prints it. New string. */
static char *qty_text(const json_t *v)
{
	const char *s = json_string_value(v);
	int64_t m = quota_value(v);
	return quantity_format_milli(m, s && strchr(s, 'i'));
}

/* Fills what the LimitRange's Container item defaults and the container
 * lacks; appends "cpu, memory request for container x" style notes. */
static void merge_defaults(json_t *ctr, const json_t *def_req, const json_t *def_lim,
			   const char *what, struct buf *notes)
{
	const char *cname = json_string_value(json_object_get(ctr, "name"));
	json_t *res = json_object_get(ctr, "resources");
	if (!json_is_object(res)) {
		res = json_object();
		json_object_set_new(ctr, "resources", res);
	}
	const json_t *defs[] = {def_req, def_lim};
	const char *keys[] = {"requests", "limits"};
	const char *words[] = {"request", "limit"};
	for (int d = 0; d < 2; d++) {
		if (json_object_size(defs[d]) == 0)
			continue;
		json_t *have = json_object_get(res, keys[d]);
		if (!json_is_object(have)) {
			have = json_object();
			json_object_set_new(res, keys[d], have);
		}
		/* sorted, as upstream sorts the names it set */
		cleanup_buf struct buf set = BUF_INIT;
		size_t n = json_object_size(defs[d]);
		const char **names = xcalloc(n, sizeof(*names));
		size_t k = 0;
		const char *name;
		json_t *v;
		json_object_foreach((json_t *)defs[d], name, v) names[k++] = name;
		for (size_t i = 1; i < k; i++)
			for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
				const char *t = names[j];
				names[j] = names[j - 1];
				names[j - 1] = t;
			}
		for (size_t i = 0; i < k; i++) {
			if (json_object_get(have, names[i]))
				continue;
			json_object_set(have, names[i], json_object_get(defs[d], names[i]));
			buf_printf(&set, "%s%s", set.len ? ", " : "", names[i]);
		}
		free(names);
		if (set.len)
			buf_printf(notes, "%s%s %s for %s %s", notes->len ? "; " : "",
				   buf_str(&set), words[d], what, cname ? cname : "");
	}
}

static json_t *limit_ranges(struct admission_ctx *c, json_t **status)
{
	return admission_list(c, "limitranges", c->at->ns, status);
}

int admission_limitranger_mutate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (!admission_is_create_of(at, "pods"))
		return 0;
	cleanup_json json_t *lrs = limit_ranges(c, status);
	if (!lrs)
		return -1;
	json_t *spec = json_object_get(at->obj, "spec");
	size_t i;
	json_t *lr;
	json_array_foreach(lrs, i, lr)
	{
		cleanup_json json_t *def_req = json_object();
		cleanup_json json_t *def_lim = json_object();
		size_t j;
		json_t *item;
		json_array_foreach(json_path_get(lr, "spec.limits"), j, item)
		{
			const char *type = json_string_value(json_object_get(item, "type"));
			if (!type || strcmp(type, "Container"))
				continue;
			json_object_update(def_req, json_object_get(item, "defaultRequest"));
			json_object_update(def_lim, json_object_get(item, "default"));
		}
		if (!json_object_size(def_req) && !json_object_size(def_lim))
			continue;
		cleanup_buf struct buf notes = BUF_INIT;
		size_t k;
		json_t *ctr;
		json_array_foreach(json_object_get(spec, "containers"), k, ctr)
			merge_defaults(ctr, def_req, def_lim, "container", &notes);
		json_array_foreach(json_object_get(spec, "initContainers"), k, ctr)
			merge_defaults(ctr, def_req, def_lim, "init container", &notes);
		if (notes.len) {
			json_t *md = json_object_get(at->obj, "metadata");
			json_t *ann = json_object_get(md, "annotations");
			if (!json_is_object(ann)) {
				ann = json_object();
				json_object_set_new(md, "annotations", ann);
			}
			cleanup_free char *val =
				xasprintf("LimitRanger plugin set: %s", buf_str(&notes));
			json_object_set_new(ann, LIMIT_RANGER_ANNOTATION, json_string(val));
		}
	}
	return 0;
}

/* One min/max/ratio constraint of type ("Container", "Pod") on resource
 * name against a request and limit list; appends upstream's message. */
static void check_min(const char *type, const char *name, const json_t *enforced, const json_t *req,
		      const json_t *lim, json_t *errs)
{
	json_t *r = json_object_get(req, name), *l = json_object_get(lim, name);
	int64_t e = quota_value(enforced);
	cleanup_free char *et = qty_text(enforced);
	cleanup_free char *msg = NULL;
	if (!r) {
		msg = xasprintf("minimum %s usage per %s is %s.  No request is specified", name,
				type, et);
	} else if (quota_value(r) < e) {
		cleanup_free char *rt = qty_text(r);
		msg = xasprintf("minimum %s usage per %s is %s, but request is %s", name, type, et,
				rt);
	} else if (l && quota_value(l) < e) {
		cleanup_free char *lt = qty_text(l);
		msg = xasprintf("minimum %s usage per %s is %s, but limit is %s", name, type, et,
				lt);
	}
	if (msg)
		json_array_append_new(errs, json_string(msg));
}

static void check_max(const char *type, const char *name, const json_t *enforced, const json_t *req,
		      const json_t *lim, json_t *errs)
{
	json_t *r = json_object_get(req, name), *l = json_object_get(lim, name);
	int64_t e = quota_value(enforced);
	cleanup_free char *et = qty_text(enforced);
	cleanup_free char *msg = NULL;
	if (!l) {
		msg = xasprintf("maximum %s usage per %s is %s.  No limit is specified", name, type,
				et);
	} else if (quota_value(l) > e) {
		cleanup_free char *lt = qty_text(l);
		msg = xasprintf("maximum %s usage per %s is %s, but limit is %s", name, type, et,
				lt);
	} else if (r && quota_value(r) > e) {
		cleanup_free char *rt = qty_text(r);
		msg = xasprintf("maximum %s usage per %s is %s, but request is %s", name, type, et,
				rt);
	}
	if (msg)
		json_array_append_new(errs, json_string(msg));
}

static void check_ratio(const char *type, const char *name, const json_t *enforced,
			const json_t *req, const json_t *lim, json_t *errs)
{
	json_t *r = json_object_get(req, name), *l = json_object_get(lim, name);
	cleanup_free char *et = qty_text(enforced);
	cleanup_free char *msg = NULL;
	int64_t rv = r ? quota_value(r) : 0, lv = l ? quota_value(l) : 0;
	if (!rv) {
		msg = xasprintf("%s max limit to request ratio per %s is %s, but no request is "
				"specified or request is 0",
				name, type, et);
	} else if (!lv) {
		msg = xasprintf("%s max limit to request ratio per %s is %s, but no limit is "
				"specified or limit is 0",
				name, type, et);
	} else {
		double ratio = (double)lv / (double)rv;
		if (ratio * 1000.0 > (double)quota_value(enforced))
			msg = xasprintf("%s max limit to request ratio per %s is %s, but provided "
					"ratio is %f",
					name, type, et, ratio);
	}
	if (msg)
		json_array_append_new(errs, json_string(msg));
}

static void check_item(const json_t *item, const char *type, const json_t *req, const json_t *lim,
		       json_t *errs)
{
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(item, "min"), name, v)
		check_min(type, name, v, req, lim, errs);
	json_object_foreach(json_object_get(item, "max"), name, v)
		check_max(type, name, v, req, lim, errs);
	json_object_foreach(json_object_get(item, "maxLimitRequestRatio"), name, v)
		check_ratio(type, name, v, req, lim, errs);
}

/* requests or limits of the whole pod as quantity strings keyed by name */
static json_t *pod_list(const json_t *spec, const char *which)
{
	json_t *sum = json_object();
	size_t i;
	json_t *c;
	json_t *milli = json_object();
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		const char *k;
		json_t *v;
		json_object_foreach(json_path_get(json_object_get(c, "resources"), which), k, v)
		{
			json_int_t have = json_integer_value(json_object_get(milli, k));
			json_object_set_new(milli, k, json_integer(have + quota_value(v)));
		}
	}
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
	{
		const char *k;
		json_t *v;
		json_object_foreach(json_path_get(json_object_get(c, "resources"), which), k, v)
		{
			if (quota_value(v) > json_integer_value(json_object_get(milli, k)))
				json_object_set_new(milli, k, json_integer(quota_value(v)));
		}
	}
	const char *k;
	json_t *v;
	json_object_foreach(milli, k, v)
	{
		char *t = quota_format(k, json_integer_value(v));
		json_object_set_new(sum, k, json_string(t));
		free(t);
	}
	json_decref(milli);
	return sum;
}

int admission_limitranger_validate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (!admission_is_create_of(at, "pods"))
		return 0;
	cleanup_json json_t *lrs = limit_ranges(c, status);
	if (!lrs)
		return -1;
	json_t *spec = json_object_get(at->obj, "spec");
	size_t i;
	json_t *lr;
	json_array_foreach(lrs, i, lr)
	{
		cleanup_json json_t *errs = json_array();
		size_t j;
		json_t *item;
		json_array_foreach(json_path_get(lr, "spec.limits"), j, item)
		{
			const char *type = json_string_value(json_object_get(item, "type"));
			if (type && !strcmp(type, "Container")) {
				const char *lists[] = {"containers", "initContainers"};
				for (int l = 0; l < 2; l++) {
					size_t k;
					json_t *ctr;
					json_array_foreach(json_object_get(spec, lists[l]), k, ctr)
					{
						json_t *res = json_object_get(ctr, "resources");
						check_item(item, type,
							   json_object_get(res, "requests"),
							   json_object_get(res, "limits"), errs);
					}
				}
			} else if (type && !strcmp(type, "Pod")) {
				cleanup_json json_t *req = pod_list(spec, "requests");
				cleanup_json json_t *lim = pod_list(spec, "limits");
				check_item(item, type, req, lim, errs);
			}
		}
		if (json_array_size(errs) == 0)
			continue;
		/* upstream's aggregate error: one message, or "[a, b]" */
		cleanup_buf struct buf b = BUF_INIT;
		size_t k;
		json_t *e;
		json_array_foreach(errs, k, e)
			buf_printf(&b, "%s%s", k ? ", " : "", json_string_value(e));
		cleanup_free char *why = json_array_size(errs) > 1 ? xasprintf("[%s]", buf_str(&b))
								   : xstrdup(buf_str(&b));
		*status = admission_forbidden(at, why);
		return -1;
	}
	return 0;
}

/* --- ResourceQuota ------------------------------------------------------------- */

/* "a=1,b=2" of the names in keys (sorted), with values from m (strings
 * or milli integers of usage). New string. */
static char *pretty(const json_t *keys, const json_t *m)
{
	cleanup_buf struct buf b = BUF_INIT;
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k)
	{
		const char *name = json_string_value(k);
		json_t *v = json_object_get(m, name);
		cleanup_free char *t = json_is_integer(v)
					       ? quota_format(name, json_integer_value(v))
					       : qty_text(v);
		buf_printf(&b, "%s%s=%s", i ? "," : "", name, t);
	}
	return xstrdup(buf_str(&b));
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

static void sort_names(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_json_str);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* Checks one quota against the usage the object adds. 0: admitted, with
 * *used_out (new: status.used with the charge) or NULL when the quota
 * tracks nothing the object uses; -1 with *status. */
static int check_quota(struct admission_ctx *c, const json_t *q, const json_t *delta,
		       json_t **used_out, json_t **status)
{
	struct admission_attrs *at = c->at;
	const char *qname = json_path_str(q, "metadata.name");
	json_t *hard = json_path_get(q, "status.hard");
	json_t *used = json_path_get(q, "status.used");
	*used_out = NULL;
	/* what of the quota's resources this kind counts toward */
	cleanup_json json_t *restricted = json_array();
	const char *name;
	json_t *v;
	json_object_foreach(hard, name, v) if (quota_tracks(at->r->group, at->r->resource, name))
		json_array_append_new(restricted, json_string(name));
	if (json_array_size(restricted) == 0)
		return 0;
	sort_names(restricted);
	if (!strcmp(at->r->group, "") && !strcmp(at->r->resource, "pods")) {
		cleanup_free char *missing = quota_pod_missing(at->obj, hard);
		if (missing) {
			cleanup_free char *why = xasprintf("failed quota: %s: %s", qname, missing);
			*status = admission_forbidden(at, why);
			return -1;
		}
	}
	size_t i;
	json_t *k;
	json_array_foreach(restricted, i, k) if (!json_object_get(used, json_string_value(k)))
	{
		cleanup_buf struct buf b = BUF_INIT;
		size_t j;
		json_t *n;
		json_array_foreach(restricted, j, n)
			buf_printf(&b, "%s%s", j ? "," : "", json_string_value(n));
		cleanup_free char *why = xasprintf("status unknown for quota: %s, resources: %s",
						   qname, buf_str(&b));
		*status = admission_forbidden(at, why);
		return -1;
	}
	cleanup_json json_t *exceeded = json_array();
	cleanup_json json_t *next = json_is_object(used) ? json_copy(used) : json_object();
	bool charged = false;
	json_array_foreach(restricted, i, k)
	{
		const char *n = json_string_value(k);
		json_t *d = json_object_get(delta, n);
		if (!d || json_integer_value(d) == 0)
			continue;
		int64_t nu = quota_value(json_object_get(used, n)) + json_integer_value(d);
		if (nu > quota_value(json_object_get(hard, n)))
			json_array_append_new(exceeded, json_string(n));
		cleanup_free char *t = quota_format(n, nu);
		json_object_set_new(next, n, json_string(t));
		charged = true;
	}
	if (json_array_size(exceeded)) {
		cleanup_free char *req = pretty(exceeded, delta);
		cleanup_free char *us = pretty(exceeded, used);
		cleanup_free char *lim = pretty(exceeded, hard);
		cleanup_free char *why =
			xasprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s", qname,
				  req, us, lim);
		*status = admission_forbidden(at, why);
		return -1;
	}
	if (charged)
		*used_out = json_incref(next);
	return 0;
}

#define QUOTA_RETRIES 5

int admission_quota_validate(struct admission_ctx *c, json_t **status)
{
	struct admission_attrs *at = c->at;
	if (at->op != ADMISSION_CREATE || at->sub || !at->r->namespaced || !at->ns ||
	    !json_is_object(at->obj))
		return 0;
	const struct api_resource *qr = api_resource_find("", "v1", "resourcequotas");
	if (!qr)
		return 0;
	cleanup_json json_t *delta = quota_usage_of(at->r->group, at->r->resource, at->obj);
	cleanup_json json_t *quotas = admission_list(c, "resourcequotas", at->ns, status);
	if (!quotas)
		return -1;
	/* every quota must admit before any is charged */
	cleanup_json json_t *charges = json_array();
	size_t i;
	json_t *q;
	json_array_foreach(quotas, i, q)
	{
		json_t *used = NULL;
		if (check_quota(c, q, delta, &used, status) < 0)
			return -1;
		if (used)
			json_array_append_new(charges, json_pack("{s:s, s:o}", "name",
								 json_path_str(q, "metadata.name"),
								 "used", used));
	}
	if (at->dry_run)
		return 0;
	/* charge each quota with a compare-and-swap on its stored revision;
	 * one that moved meanwhile is read and checked again */
	json_t *ch;
	json_array_foreach(charges, i, ch)
	{
		const char *qname = json_string_value(json_object_get(ch, "name"));
		cleanup_free char *key = api_key(qr, at->ns, qname);
		for (int attempt = 0;; attempt++) {
			struct store_kv kv = {0};
			cleanup_err struct mk_err *err = NULL;
			if (store_get(c->st, key, &kv, &err) < 0) {
				if (mk_err_code(err) == MK_ENOTFOUND)
					break; /* deleted meanwhile: nothing to charge */
				*status = status_from_err(err, qr, qname);
				return -1;
			}
			cleanup_json json_t *cur = api_object_from_store(kv.value, kv.mod_rev);
			int64_t rev = kv.mod_rev;
			store_kv_free(&kv);
			json_t *used = NULL;
			if (!cur || check_quota(c, cur, delta, &used, status) < 0)
				return cur ? -1 : 0;
			if (!used)
				break;
			json_path_set(cur, "status.used", used);
			json_object_del(json_object_get(cur, "metadata"), "resourceVersion");
			cleanup_free char *value =
				json_dumps(cur, JSON_COMPACT | JSON_PRESERVE_ORDER);
			cleanup_err struct mk_err *uerr = NULL;
			if (store_update(c->st, key, value, rev, NULL, &uerr) >= 0)
				break;
			if (mk_err_code(uerr) != MK_ECONFLICT || attempt + 1 >= QUOTA_RETRIES) {
				*status = status_from_err(uerr, qr, qname);
				return -1;
			}
		}
	}
	return 0;
}
