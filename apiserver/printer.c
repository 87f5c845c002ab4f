/* The Table printer and upstream's cell formatting rules. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "timefmt.h"
#include "xalloc.h"
#include "apiserver/printer.h"

static const struct table_column default_columns[] = {
	{.name = "Name",
	 .type = "string",
	 .format = "name",
	 .description = "Name must be unique within a namespace. Is required when creating "
			"resources, although some resources may allow a client to request the "
			"generation of an appropriate name automatically. Name is primarily "
			"intended for creation idempotence and configuration definition. Cannot "
			"be updated. More info: https://kubernetes.io/docs/concepts/overview/"
			"working-with-objects/names#names"},
	{.name = "Age",
	 .type = "string",
	 .format = "",
	 .description = "CreationTimestamp is a timestamp representing the server time when "
			"this object was created."},
	{.name = NULL},
};

char *printer_since(const char *timestamp, time_t now, char *out, size_t len)
{
	time_t t;
	if (!timestamp || !timestamp[0] || time_parse_rfc3339(timestamp, &t, NULL) < 0) {
		snprintf(out, len, "<unknown>");
		return out;
	}
	return time_human_duration(t, now, out, len);
}

void printer_cell_age(const json_t *obj, time_t now, json_t *cells)
{
	char b[32];
	json_array_append_new(
		cells, json_string(printer_since(json_path_str(obj, "metadata.creationTimestamp"),
						 now, b, sizeof(b))));
}

long long printer_int(const json_t *obj, const char *path)
{
	json_t *v = json_path_get(obj, path);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

const char *printer_str(const json_t *obj, const char *path)
{
	const char *s = json_path_str(obj, path);
	return s ? s : "";
}

char *printer_join(const char *const *items, size_t n, const char *sep)
{
	cleanup_buf struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_append_str(&b, sep);
		buf_append_str(&b, items[i]);
	}
	return buf_steal(&b);
}

struct requirement {
	const char *key;
	char *text;
	size_t order;
};

static int requirement_cmp(const void *a, const void *b)
{
	const struct requirement *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int string_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, de-duplicated string values of a JSON array joined with ",". */
static char *sorted_values(const json_t *values)
{
	size_t n = json_array_size(values), m = 0;
	const char **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(values, i));
		if (s)
			v[m++] = s;
	}
	qsort(v, m, sizeof(*v), string_cmp);
	size_t k = 0;
	for (size_t i = 0; i < m; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]))
			v[k++] = v[i];
	char *out = printer_join(v, k, ",");
	free(v);
	return out;
}

char *printer_label_selector(const json_t *selector)
{
	json_t *ml = json_object_get(selector, "matchLabels");
	json_t *me = json_object_get(selector, "matchExpressions");
	size_t n = json_object_size(ml) + json_array_size(me);
	if (n == 0)
		return xstrdup("");
	struct requirement *req = xcalloc(n, sizeof(*req));
	size_t m = 0;
	bool invalid = false;
	const char *key;
	json_t *val;
	json_object_foreach(ml, key, val)
	{
		req[m] = (struct requirement){.key = key, .order = m};
		req[m].text =
			xasprintf("%s=%s", key, json_is_string(val) ? json_string_value(val) : "");
		m++;
	}
	size_t i;
	json_t *e;
	json_array_foreach(me, i, e)
	{
		const char *k = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		if (!k || !op) {
			invalid = true;
			break;
		}
		char *text;
		if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
			cleanup_free char *vals = sorted_values(json_object_get(e, "values"));
			text = xasprintf("%s %s (%s)", k, !strcmp(op, "In") ? "in" : "notin", vals);
		} else if (!strcmp(op, "Exists")) {
			text = xstrdup(k);
		} else if (!strcmp(op, "DoesNotExist")) {
			text = xasprintf("!%s", k);
		} else {
			invalid = true;
			break;
		}
		req[m] = (struct requirement){.key = k, .text = text, .order = m};
		m++;
	}
	char *out;
	if (invalid) {
		out = xstrdup("<invalid>");
	} else {
		qsort(req, m, sizeof(*req), requirement_cmp);
		const char **texts = xcalloc(m, sizeof(*texts));
		for (size_t j = 0; j < m; j++)
			texts[j] = req[j].text;
		out = printer_join(texts, m, ",");
		free(texts);
	}
	for (size_t j = 0; j < m; j++)
		free(req[j].text);
	free(req);
	return out;
}

char *printer_labels_map(const json_t *map)
{
	size_t n = json_object_size(map);
	if (n == 0)
		return xstrdup("<none>");
	size_t m;
	const char **keys = json_object_sorted_keys(map, &m);
	cleanup_buf struct buf b = BUF_INIT;
	for (size_t i = 0; i < m; i++) {
		const char *v = json_string_value(json_object_get(map, keys[i]));
		buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], v ? v : "");
	}
	free(keys);
	return buf_steal(&b);
}

void printer_cells_containers(const json_t *pod_spec, json_t *cells)
{
	json_t *containers = json_object_get(pod_spec, "containers");
	cleanup_buf struct buf names = BUF_INIT;
	cleanup_buf struct buf images = BUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(containers, i, c)
	{
		if (i) {
			buf_append_char(&names, ',');
			buf_append_char(&images, ',');
		}
		buf_append_str(&names, printer_str(c, "name"));
		buf_append_str(&images, printer_str(c, "image"));
	}
	json_array_append_new(cells, json_string(buf_str(&names)));
	json_array_append_new(cells, json_string(buf_str(&images)));
}

static json_t *column_json(const struct table_column *c)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type", c->type, "format",
			 c->format ? c->format : "", "description",
			 c->description ? c->description : "", "priority", c->priority);
}

static json_t *row_object(const struct api_resource *r, const json_t *obj, const char *include)
{
	if (include && !strcmp(include, "None"))
		return json_null();
	if (include && !strcmp(include, "Object")) {
		json_t *full = json_copy_deep(obj);
		if (!json_object_get(full, "kind"))
			json_object_set_new(full, "kind", json_string(r->kind));
		if (!json_object_get(full, "apiVersion"))
			json_object_set_new(full, "apiVersion",
					    json_string(api_resource_api_version(r)));
		return full;
	}
	json_t *meta = json_object_get(obj, "metadata");
	return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata", "apiVersion",
			 "meta.k8s.io/v1", "metadata", meta ? json_incref(meta) : json_object());
}

/* Upstream marks finished pods with a row condition kubectl can act on. */
static json_t *row_conditions(const struct api_resource *r, const json_t *obj)
{
	if (strcmp(r->kind, "Pod") || r->group[0])
		return NULL;
	const char *phase = json_path_str(obj, "status.phase");
	if (phase && !strcmp(phase, "Succeeded"))
		return json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed", "status", "True",
				 "reason", "Succeeded", "message",
				 "The pod has completed successfully.");
	if (phase && !strcmp(phase, "Failed"))
		return json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed", "status", "True",
				 "reason", "Failed", "message", "The pod failed.");
	return NULL;
}

json_t *printer_table(const struct api_resource *r, const json_t *objects,
		      const char *include_object, bool with_columns, time_t now)
{
	const struct table_column *cols = r->columns ? r->columns : default_columns;
	json_t *table = json_pack("{s:s, s:s, s:{}}", "kind", "Table", "apiVersion",
				  "meta.k8s.io/v1", "metadata");
	if (with_columns) {
		json_t *defs = json_array();
		for (const struct table_column *c = cols; c->name; c++)
			json_array_append_new(defs, column_json(c));
		json_object_set_new(table, "columnDefinitions", defs);
	}
	json_t *rows = json_array();
	size_t i;
	json_t *obj;
	json_array_foreach(objects, i, obj)
	{
		json_t *cells = json_array();
		if (r->columns && r->print_row) {
			r->print_row(obj, now, cells);
		} else {
			json_array_append_new(cells,
					      json_string(printer_str(obj, "metadata.name")));
			printer_cell_age(obj, now, cells);
		}
		json_t *row = json_pack("{s:o}", "cells", cells);
		json_t *conds = row_conditions(r, obj);
		if (conds)
			json_object_set_new(row, "conditions", conds);
		json_object_set_new(row, "object", row_object(r, obj, include_object));
		json_array_append_new(rows, row);
	}
	json_object_set_new(table, "rows", rows);
	return table;
}
