/* Kind schemas (see the header): the generated tables and what reads them
 * as a whole. */
#include "apiserver/schema.h"

#include <stddef.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

#include "apiserver/schema-tables.inc"

const struct schema_type *schema_kind_find(const char *kind)
{
	if (!kind)
		return NULL;
	for (const struct schema_type *const *r = schema_roots; *r; r++)
		if (!strcmp((*r)->kind, kind))
			return *r;
	return NULL;
}

const struct schema_field *schema_field_find(const struct schema_type *st, const char *name,
					     size_t len)
{
	for (const struct schema_field *f = st->fields; f->name; f++)
		if (strlen(f->name) == len && !memcmp(f->name, name, len))
			return f;
	return NULL;
}

static void add_type(json_t *schemas, const struct schema_type *st);

/* The schema of a value of kind k (sub for structs). New reference. */
static json_t *value_schema(json_t *schemas, enum schema_kind k, const struct schema_type *sub)
{
	switch (k) {
	case SCHEMA_STRING:
		return json_pack("{s:s}", "type", "string");
	case SCHEMA_BOOL:
		return json_pack("{s:s}", "type", "boolean");
	case SCHEMA_INT32:
		return json_pack("{s:s, s:s}", "type", "integer", "format", "int32");
	case SCHEMA_INT64:
		return json_pack("{s:s, s:s}", "type", "integer", "format", "int64");
	case SCHEMA_NUMBER:
		return json_pack("{s:s, s:s}", "type", "number", "format", "double");
	case SCHEMA_TIME:
		return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
	case SCHEMA_QUANTITY:
		return json_pack("{s:s}", "type", "string");
	case SCHEMA_INTORSTR:
		return json_pack("{s:s, s:s, s:b}", "type", "string", "format", "int-or-string",
				 "x-kubernetes-int-or-string", 1);
	case SCHEMA_ANY:
		return json_pack("{s:s, s:b}", "type", "object",
				 "x-kubernetes-preserve-unknown-fields", 1);
	case SCHEMA_STRUCT: {
		add_type(schemas, sub);
		cleanup_free char *ref = xasprintf("#/components/schemas/%s", sub->name);
		return json_pack("{s:[{s:s}]}", "allOf", "$ref", ref);
	}
	case SCHEMA_LIST:
	case SCHEMA_MAP:
		break;
	}
	return json_object();
}

static void add_type(json_t *schemas, const struct schema_type *st)
{
	if (json_object_get(schemas, st->name))
		return;
	json_t *props = json_object();
	json_t *t = json_pack("{s:s, s:s, s:o}", "description", st->desc, "type", "object",
			      "properties", props);
	/* set before recursing: structs may reach themselves */
	json_object_set_new(schemas, st->name, t);
	for (const struct schema_field *f = st->fields; f->name; f++) {
		json_t *p;
		if (f->kind == SCHEMA_LIST)
			p = json_pack("{s:s, s:o}", "type", "array", "items",
				      value_schema(schemas, f->elem, f->sub));
		else if (f->kind == SCHEMA_MAP)
			p = json_pack("{s:s, s:o}", "type", "object", "additionalProperties",
				      value_schema(schemas, f->elem, f->sub));
		else
			p = value_schema(schemas, f->kind, f->sub);
		if (f->desc[0])
			json_object_set_new(p, "description", json_string(f->desc));
		json_object_set_new(props, f->name, p);
	}
	if (st->kind)
		json_object_set_new(t, "x-kubernetes-group-version-kind",
				    json_pack("[{s:s, s:s, s:s}]", "group", st->group, "kind",
					      st->kind, "version", st->version));
}

json_t *schema_openapi_components(const char *group, const char *version)
{
	json_t *schemas = json_object();
	for (const struct schema_type *const *r = schema_roots; *r; r++)
		if (!strcmp((*r)->group, group) && !strcmp((*r)->version, version))
			add_type(schemas, *r);
	return schemas;
}

const char *schema_openapi_object_meta(json_t *schemas)
{
	const struct schema_type *cm = schema_kind_find("ConfigMap");
	const struct schema_field *md = cm ? schema_field_find(cm, "metadata", 8) : NULL;
	if (!md || !md->sub)
		return NULL;
	add_type(schemas, md->sub);
	return md->sub->name;
}
