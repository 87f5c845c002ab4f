/* OpenAPI v3 documents generated from the resource table. */
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/crd.h"
#include "apiserver/openapi.h"
#include "apiserver/resource.h"
#include "apiserver/schema.h"

static char *gv_path_of(const struct api_resource *r)
{
	if (!r->group[0])
		return xasprintf("api/%s", r->version);
	return xasprintf("apis/%s/%s", r->group, r->version);
}

/* Upstream's operation id prefix: "Core" for the core group, else the group
 * without ".k8s.io", each dot-separated part capitalized
 * ("discovery.k8s.io" → "Discovery", "rbac.authorization.k8s.io" →
 * "RbacAuthorization"). */
static void group_id(struct buf *b, const char *group)
{
	if (!group[0]) {
		buf_append_str(b, "Core");
		return;
	}
	size_t len = strlen(group);
	const char *suffix = ".k8s.io";
	if (len > strlen(suffix) && !strcmp(group + len - strlen(suffix), suffix))
		len -= strlen(suffix);
	bool upper = true;
	for (size_t i = 0; i < len; i++) {
		if (group[i] == '.') {
			upper = true;
			continue;
		}
		buf_append_char(b, upper ? (char)toupper((unsigned char)group[i]) : group[i]);
		upper = false;
	}
}

static json_t *path_param(const char *name, const char *description)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:{s:s, s:b}}", "name", name, "in", "path",
			 "description", description, "required", 1, "schema", "type", "string",
			 "uniqueItems", 1);
}

static json_t *query_param(const char *name, const char *description)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:b}}", "name", name, "in", "query",
			 "description", description, "schema", "type", "string", "uniqueItems", 1);
}

static json_t *patch_op(const struct api_resource *r)
{
	cleanup_buf struct buf id = BUF_INIT;
	buf_append_str(&id, "patch");
	group_id(&id, r->group);
	buf_append_char(&id, (char)toupper((unsigned char)r->version[0]));
	buf_append_str(&id, r->version + 1);
	if (r->namespaced)
		buf_append_str(&id, "Namespaced");
	buf_append_str(&id, r->kind);

	cleanup_free char *summary = xasprintf("partially update the specified %s", r->kind);
	json_t *params = json_array();
	json_array_append_new(params,
			      query_param("dryRun", "When present, indicates that modifications "
						    "should not be persisted."));
	json_array_append_new(params, query_param("fieldManager",
						  "fieldManager is a name associated with the "
						  "actor or entity that is making these changes."));
	json_array_append_new(params, query_param("fieldValidation",
						  "fieldValidation instructs the server on how to "
						  "handle objects in the request (POST/PUT/PATCH) "
						  "containing unknown or duplicate fields."));
	json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:{s:s, s:b}}", "name", "force",
						"in", "query", "description",
						"Force is going to \"force\" Apply requests.",
						"schema", "type", "boolean", "uniqueItems", 1));

	/* No application/strategic-merge-patch+json: without schemas kubectl must
	 * fall back to its compiled-in types for strategic merge patches. */
	json_t *content = json_object();
	const char *types[] = {"application/apply-patch+yaml", "application/json-patch+json",
			       "application/merge-patch+json"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		json_object_set_new(content, types[i],
				    json_pack("{s:{s:s}}", "schema", "type", "object"));

	return json_pack("{s:[s], s:s, s:s, s:o, s:{s:b, s:o}, s:{s:{s:s}}, s:s, s:o}", "tags",
			 r->group[0] ? r->group : "core", "description", summary, "operationId",
			 buf_str(&id), "parameters", params, "requestBody", "required", 1,
			 "content", content, "responses", "200", "description", "OK",
			 "x-kubernetes-action", "patch", "x-kubernetes-group-version-kind",
			 json_pack("{s:s, s:s, s:s}", "group", r->group, "version", r->version,
				   "kind", r->kind));
}

/* The component schemas of group/version: the built-in kinds' and the
 * custom resources'. New reference. */
static json_t *components_of(const char *group, const char *version)
{
	json_t *schemas = schema_openapi_components(group, version);
	crd_openapi_components(group, version, schemas);
	return schemas;
}

json_t *openapi_v3_doc(const char *gv_path)
{
	if (!gv_path)
		return NULL;
	json_t *paths = json_object();
	bool served = false;
	size_t nrows;
	cleanup_free const struct api_resource **rows = api_resource_all(&nrows);
	for (size_t k = 0; k < nrows; k++) {
		const struct api_resource *r = rows[k];
		cleanup_free char *p = gv_path_of(r);
		if (strcmp(p, gv_path) || !r->storage)
			continue;
		served = true;
		cleanup_free char *path =
			r->namespaced
				? xasprintf("/%s/namespaces/{namespace}/%s/{name}", p, r->resource)
				: xasprintf("/%s/%s/{name}", p, r->resource);
		cleanup_free char *name_desc = xasprintf("name of the %s", r->kind);
		json_t *params = json_array();
		json_array_append_new(params, path_param("name", name_desc));
		if (r->namespaced)
			json_array_append_new(params,
					      path_param("namespace",
							 "object name and auth scope, such as "
							 "for teams and projects"));
		json_array_append_new(params, query_param("pretty", "If 'true', then the output is "
								    "pretty printed."));
		json_object_set_new(
			paths, path,
			json_pack("{s:o, s:o}", "patch", patch_op(r), "parameters", params));
	}
	/* A group version whose only rows are virtual (componentstatuses) would
	 * still be listed if it had stored kinds; an unknown one is NULL. */
	if (!served) {
		bool known = false;
		for (size_t k = 0; k < nrows; k++) {
			cleanup_free char *p = gv_path_of(rows[k]);
			if (!strcmp(p, gv_path))
				known = true;
		}
		if (!known) {
			json_decref(paths);
			return NULL;
		}
	}
	/* the same schemas the server decodes bodies with */
	const char *group = "", *version = gv_path + strlen("api/");
	cleanup_free char *gv = NULL;
	if (!strncmp(gv_path, "apis/", 5)) {
		gv = xstrdup(gv_path + 5);
		char *slash = strchr(gv, '/');
		if (slash)
			*slash = '\0';
		group = gv;
		version = slash ? slash + 1 : "";
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0", "info", "title",
			 "Kubernetes", "version", "v1.32.0", "paths", paths, "components",
			 "schemas", components_of(group, version));
}

char *openapi_v3_hash(const char *gv_path)
{
	cleanup_json json_t *doc = openapi_v3_doc(gv_path);
	if (!doc)
		return NULL;
	cleanup_free char *text = json_dump_compact(doc);
	/* FNV-1a, 64 bits: only a cache key, not a security boundary. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return xasprintf("%016" PRIX64, h);
}

json_t *openapi_v3_index(void)
{
	json_t *paths = json_object();
	size_t nrows;
	cleanup_free const struct api_resource **rows = api_resource_all(&nrows);
	for (size_t k = 0; k < nrows; k++) {
		const struct api_resource *r = rows[k];
		cleanup_free char *p = gv_path_of(r);
		if (json_object_get(paths, p))
			continue;
		cleanup_free char *hash = openapi_v3_hash(p);
		cleanup_free char *url = xasprintf("/openapi/v3/%s?hash=%s", p, hash);
		json_object_set_new(paths, p, json_pack("{s:s}", "serverRelativeURL", url));
	}
	return json_pack("{s:o}", "paths", paths);
}
