/* core/v1 LimitRange and ResourceQuota: defaults, validation and printing.
 * The LimitRanger and ResourceQuota admission plugins (admission-limits.c)
 * act on them; the controller-manager's quota controller fills a quota's
 * status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "quantity.h"
#include "xalloc.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"

/* --- limitranges ----------------------------------------------------------------- */

const struct table_column kinds_limitrange_columns[] = {
	NAME_COLUMN,
	{.name = "Created At",
	 .type = "date",
	 .format = "",
	 .description = "CreationTimestamp is a timestamp representing the server time when this "
			"object was created."},
	{.name = NULL},
};

void kinds_limitrange_print(const json_t *obj, time_t now, json_t *cells)
{
	(void)now;
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.creationTimestamp")));
}

/* Copies every entry of from missing in to. */
static void fill_missing(json_t *to, const json_t *from)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)from, k, v) if (!json_object_get(to, k))
		json_object_set(to, k, v);
}

static json_t *ensure_map(json_t *item, const char *key)
{
	json_t *m = json_object_get(item, key);
	if (!json_is_object(m)) {
		m = json_object();
		json_object_set_new(item, key, m);
	}
	return m;
}

/* As upstream's SetDefaults_LimitRangeItem: a Container item's default limit
 * is its max, its default request the default limit, else the min. */
void kinds_limitrange_defaults(json_t *obj)
{
	size_t i;
	json_t *item;
	json_array_foreach(json_path_get(obj, "spec.limits"), i, item)
	{
		const char *type = json_string_value(json_object_get(item, "type"));
		if (!json_is_object(item) || !type || strcmp(type, "Container"))
			continue;
		json_t *def = ensure_map(item, "default");
		json_t *req = ensure_map(item, "defaultRequest");
		fill_missing(def, json_object_get(item, "max"));
		fill_missing(req, def);
		fill_missing(req, json_object_get(item, "min"));
		if (!json_object_size(def))
			json_object_del(item, "default");
		if (!json_object_size(req))
			json_object_del(item, "defaultRequest");
	}
}

/* Checks the quantities of map at field; their milli values go to out (name -> int). */
static void check_quantities(const json_t *map, const char *field, json_t *causes, json_t *out)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v)
	{
		cleanup_free char *f = xasprintf("%s[%s]", field, k);
		const char *s = json_string_value(v);
		int64_t m = 0;
		cleanup_err struct mk_err *err = NULL;
		if (json_is_integer(v)) {
			m = (int64_t)json_integer_value(v) * 1000;
		} else if (!s || quantity_parse_milli(s, &m, &err) < 0) {
			api_cause_add(causes, "FieldValueInvalid", f, "Invalid value: \"%s\": %s",
				      s ? s : "", err ? mk_err_msg(err) : "must be a quantity");
			continue;
		}
		if (m < 0) {
			api_cause_add(causes, "FieldValueInvalid", f,
				      "Invalid value: \"%s\": must be greater than or equal to 0",
				      s ? s : "");
			continue;
		}
		if (out)
			json_object_set_new(out, k, json_integer(m));
	}
}

/* a <= b for every name in both, else upstream's "<what> value x is greater than ..." */
static void check_order(const json_t *item, const char *path, const char *lo, const char *hi,
			const json_t *lov, const json_t *hiv, json_t *causes)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)lov, k, v)
	{
		json_t *h = json_object_get(hiv, k);
		if (!h || json_integer_value(v) <= json_integer_value(h))
			continue;
		const char *ls = json_string_value(json_object_get(json_object_get(item, lo), k));
		const char *hs = json_string_value(json_object_get(json_object_get(item, hi), k));
		cleanup_free char *f = xasprintf("%s.%s[%s]", path, lo, k);
		api_cause_add(causes, "FieldValueInvalid", f,
			      "Invalid value: \"%s\": %s value %s is greater than %s value %s",
			      ls ? ls : "", lo, ls ? ls : "", hi, hs ? hs : "");
	}
}

void kinds_limitrange_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	json_t *limits = json_path_get(obj, "spec.limits");
	if (!json_is_array(limits)) {
		api_cause_add(causes, "FieldValueRequired", "spec.limits", "Required value");
		return;
	}
	size_t i;
	json_t *item;
	json_array_foreach(limits, i, item)
	{
		cleanup_free char *path = xasprintf("spec.limits[%zu]", i);
		const char *type = json_string_value(json_object_get(item, "type"));
		cleanup_free char *tf = xasprintf("%s.type", path);
		if (!type || !type[0]) {
			api_cause_add(causes, "FieldValueRequired", tf, "Required value");
			continue;
		}
		if (strcmp(type, "Container") && strcmp(type, "Pod") &&
		    strcmp(type, "PersistentVolumeClaim")) {
			api_cause_add(causes, "FieldValueNotSupported", tf,
				      "Unsupported value: \"%s\": supported values: \"Container\", "
				      "\"PersistentVolumeClaim\", \"Pod\"",
				      type);
			continue;
		}
		const char *maps[] = {"min", "max", "default", "defaultRequest",
				      "maxLimitRequestRatio"};
		json_t *vals[5] = {0};
		for (int m = 0; m < 5; m++) {
			vals[m] = json_object();
			cleanup_free char *f = xasprintf("%s.%s", path, maps[m]);
			check_quantities(json_object_get(item, maps[m]), f, causes, vals[m]);
		}
		if (!strcmp(type, "Pod")) {
			for (int m = 2; m < 4; m++)
				if (json_object_size(vals[m])) {
					cleanup_free char *f = xasprintf("%s.%s", path, maps[m]);
					api_cause_add(
						causes, "FieldValueForbidden", f,
						"Forbidden: may not be specified when `type` is "
						"'Pod'");
				}
		}
		check_order(item, path, "min", "max", vals[0], vals[1], causes);
		check_order(item, path, "default", "max", vals[2], vals[1], causes);
		check_order(item, path, "defaultRequest", "default", vals[3], vals[2], causes);
		check_order(item, path, "min", "defaultRequest", vals[0], vals[3], causes);
		for (int m = 0; m < 5; m++)
			json_decref(vals[m]);
	}
}

/* --- resourcequotas ------------------------------------------------------------- */

const struct table_column kinds_resourcequota_columns[] = {
	NAME_COLUMN,
	AGE_COLUMN,
	COLUMN("Request", "string",
	       "Request represents a minimum amount of cpu/memory that a "
	       "container may consume.",
	       0),
	COLUMN("Limit", "string",
	       "Limits control the maximum amount of cpu/memory that a "
	       "container may use independent of contention on the node.",
	       0),
	{.name = NULL},
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Upstream's row: "<name>: <used>/<hard>, ..." sorted, limits.* apart. */
void kinds_resourcequota_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	printer_cell_age(obj, now, cells);
	json_t *hard = json_path_get(obj, "spec.hard");
	json_t *shard = json_path_get(obj, "status.hard");
	json_t *used = json_path_get(obj, "status.used");
	size_t n = json_object_size(hard), k = 0;
	const char **names = xcalloc(n ? n : 1, sizeof(*names));
	const char *name;
	json_t *v;
	json_object_foreach(hard, name, v) names[k++] = name;
	qsort(names, k, sizeof(*names), cmp_str);
	cleanup_buf struct buf req = BUF_INIT;
	cleanup_buf struct buf lim = BUF_INIT;
	for (size_t i = 0; i < k; i++) {
		struct buf *w = strncmp(names[i], "limits.", 7) ? &req : &lim;
		const char *u = json_string_value(json_object_get(used, names[i]));
		const char *h = json_string_value(json_object_get(shard, names[i]));
		buf_printf(w, "%s%s: %s/%s", w->len ? ", " : "", names[i], u ? u : "0",
			   h ? h : "0");
	}
	free(names);
	json_array_append_new(cells, json_string(buf_str(&req)));
	json_array_append_new(cells, json_string(buf_str(&lim)));
}

void kinds_resourcequota_validate(const json_t *obj, const json_t *old, json_t *causes)
{
	(void)old;
	check_quantities(json_path_get(obj, "spec.hard"), "spec.hard", causes, NULL);
	check_quantities(json_path_get(obj, "status.hard"), "status.hard", causes, NULL);
	check_quantities(json_path_get(obj, "status.used"), "status.used", causes, NULL);
	if (json_array_size(json_path_get(obj, "spec.scopes")) ||
	    json_path_get(obj, "spec.scopeSelector"))
		api_cause_add(causes, "FieldValueForbidden", "spec.scopes",
			      "Forbidden: quota scopes are not supported by this API server");
}
