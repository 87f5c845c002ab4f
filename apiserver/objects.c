/* Stored objects of the API server: storage keys, the resourceVersion
 * stamped on read, label and field selection, Tables (see the header). */
#include "apiserver/objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "fields.h"
#include "json.h"
#include "labels.h"
#include "xalloc.h"
#include "apiserver/printer.h"
#include "apiserver/status.h"

/* --- storage keys and revisions ------------------------------------------------ */

char *api_key(const struct api_resource *r, const char *ns, const char *name)
{
	if (r->namespaced && ns)
		return xasprintf("/registry/%s/%s/%s", r->storage, ns, name);
	return xasprintf("/registry/%s/%s", r->storage, name);
}

char *api_prefix(const struct api_resource *r, const char *ns)
{
	if (r->namespaced && ns)
		return xasprintf("/registry/%s/%s/", r->storage, ns);
	return xasprintf("/registry/%s/", r->storage);
}

json_t *api_object_from_store(const char *value, int64_t rev)
{
	json_t *obj = json_loads(value, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)rev);
	json_object_set_new(md, "resourceVersion", json_string(rv));
	return obj;
}

/* Position right after the top-level `"metadata":{` of a stored object's text,
 * or NULL. */
static const char *top_metadata(const char *s)
{
	int depth = 0;
	bool in_str = false;
	for (const char *p = s; *p; p++) {
		if (in_str) {
			if (*p == '\\') {
				if (p[1])
					p++;
			} else if (*p == '"') {
				in_str = false;
			}
			continue;
		}
		if (*p == '"') {
			if (depth == 1 && !strncmp(p, "\"metadata\":{", 12))
				return p + 12;
			in_str = true;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		}
	}
	return NULL;
}

/* Appends the stored value with metadata.resourceVersion = rev to raw, by
 * splicing the text (no parse); parses only if the layout is unexpected. */
void api_append_with_rv(struct buf *raw, const char *value, int64_t rev)
{
	const char *md = top_metadata(value);
	if (!md) {
		cleanup_json json_t *obj = api_object_from_store(value, rev);
		cleanup_free char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
		buf_append_str(raw, text ? text : "null");
		return;
	}
	buf_append(raw, value, (size_t)(md - value));
	buf_printf(raw, "\"resourceVersion\":\"%lld\"%s", (long long)rev, *md == '}' ? "" : ",");
	buf_append_str(raw, md);
}

/* --- selectors ----------------------------------------------------------------- */

struct api_filter {
	struct label_selector *ls;
	struct field_selector *fs;
};

void api_filter_free(struct api_filter *f)
{
	if (!f)
		return;
	labels_selector_free(f->ls);
	fields_selector_free(f->fs);
	free(f);
}

static bool field_of(const struct api_resource *r, const json_t *obj, const char *field,
		     const char **value)
{
	if (!strcmp(field, "metadata.name")) {
		*value = json_path_str(obj, "metadata.name");
		if (!*value)
			*value = "";
		return true;
	}
	if (!strcmp(field, "metadata.namespace")) {
		*value = json_path_str(obj, "metadata.namespace");
		if (!*value)
			*value = "";
		return true;
	}
	if (r->field_value)
		return r->field_value(obj, field, value);
	return false;
}

struct api_filter *api_filter_new(const char *ls, const char *fs, const struct api_resource *r,
				  json_t **status)
{
	struct api_filter *f = xcalloc(1, sizeof(*f));
	cleanup_err struct mk_err *err = NULL;
	if (ls && ls[0]) {
		f->ls = labels_selector_parse(ls, &err);
		if (!f->ls) {
			*status = status_bad_request(mk_err_msg(err));
			api_filter_free(f);
			return NULL;
		}
	}
	if (fs && fs[0]) {
		f->fs = fields_selector_parse(fs, &err);
		if (!f->fs) {
			*status = status_bad_request(mk_err_msg(err));
			api_filter_free(f);
			return NULL;
		}
		cleanup_json json_t *empty = json_object();
		for (size_t i = 0; i < f->fs->n; i++) {
			const char *v;
			if (!field_of(r, empty, f->fs->terms[i].field, &v)) {
				cleanup_free char *m2 = xasprintf("field label not supported: %s",
								  f->fs->terms[i].field);
				*status = status_bad_request(m2);
				api_filter_free(f);
				return NULL;
			}
		}
	}
	return f;
}

bool api_filter_empty(const struct api_filter *f)
{
	return !f || (!f->ls && !f->fs);
}

bool api_filter_matches(const struct api_filter *f, const struct api_resource *r, const json_t *obj)
{
	if (!f)
		return true;
	if (f->ls && !labels_selector_matches(f->ls, json_path_get(obj, "metadata.labels")))
		return false;
	if (f->fs) {
		for (size_t i = 0; i < f->fs->n; i++) {
			const char *v = "";
			if (!field_of(r, obj, f->fs->terms[i].field, &v))
				return false;
			bool eq = !strcmp(v ? v : "", f->fs->terms[i].value);
			if (eq == f->fs->terms[i].negate)
				return false;
		}
	}
	return true;
}

/* --- Tables -------------------------------------------------------------------- */

json_t *api_table_of(const struct api_resource *r, const json_t *objects,
		     const char *include_object, bool with_columns)
{
	return printer_table(r, objects, include_object, with_columns, time(NULL));
}
