/* Discovery documents. Groups appear in the table's row order, which follows
 * upstream's group priority; a group exists only if a row serves it. */
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/discovery.h"
#include "apiserver/resource.h"

static json_t *string_array(const char *const *list)
{
	json_t *a = json_array();
	for (; list && *list; list++)
		json_array_append_new(a, json_string(*list));
	return a;
}

static json_t *gvk(const char *group, const char *version, const char *kind)
{
	return json_pack("{s:s, s:s, s:s}", "group", group, "version", version, "kind", kind);
}

/* Distinct (group, version) pairs in row order, for named groups or the core one. */
struct gv {
	const char *group;
	const char *version;
};

static size_t group_versions(bool core, struct gv *out, size_t cap)
{
	size_t n = 0, nrows;
	cleanup_free const struct api_resource **rows = api_resource_all(&nrows);
	for (size_t k = 0; k < nrows; k++) {
		const struct api_resource *r = rows[k];
		if (core != (r->group[0] == '\0'))
			continue;
		bool seen = false;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(out[i].group, r->group) && !strcmp(out[i].version, r->version))
				seen = true;
		if (!seen && n < cap)
			out[n++] = (struct gv){.group = r->group, .version = r->version};
	}
	return n;
}

#define MAX_GV 256

static json_t *aggregated_resource(const struct api_resource *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "resource", json_string(r->resource));
	json_object_set_new(o, "responseKind", gvk(r->group, r->version, r->kind));
	json_object_set_new(o, "scope", json_string(r->namespaced ? "Namespaced" : "Cluster"));
	json_object_set_new(o, "singularResource", json_string(r->singular));
	json_object_set_new(o, "verbs", string_array(r->verbs));
	if (r->short_names && r->short_names[0])
		json_object_set_new(o, "shortNames", string_array(r->short_names));
	if (r->categories && r->categories[0])
		json_object_set_new(o, "categories", string_array(r->categories));
	if (r->subresources && r->subresources[0].name) {
		json_t *subs = json_array();
		for (const struct api_subresource *s = r->subresources; s->name; s++) {
			json_t *so = json_object();
			json_object_set_new(so, "subresource", json_string(s->name));
			json_object_set_new(so, "responseKind", gvk(s->group, s->version, s->kind));
			json_object_set_new(so, "verbs", string_array(s->verbs));
			json_array_append_new(subs, so);
		}
		json_object_set_new(o, "subresources", subs);
	}
	return o;
}

json_t *discovery_aggregated(bool core, const char *version)
{
	if (!version || (strcmp(version, "v2") && strcmp(version, "v2beta1")))
		return NULL;
	struct gv gvs[MAX_GV];
	size_t n = group_versions(core, gvs, MAX_GV);
	size_t nrows;
	cleanup_free const struct api_resource **rows = api_resource_all(&nrows);

	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		/* Versions of one group form one item; the first is preferred. */
		bool first = true;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(gvs[j].group, gvs[i].group))
				first = false;
		if (!first)
			continue;
		json_t *versions = json_array();
		for (size_t j = i; j < n; j++) {
			if (strcmp(gvs[j].group, gvs[i].group))
				continue;
			json_t *resources = json_array();
			for (size_t k = 0; k < nrows; k++)
				if (!strcmp(rows[k]->group, gvs[j].group) &&
				    !strcmp(rows[k]->version, gvs[j].version))
					json_array_append_new(resources,
							      aggregated_resource(rows[k]));
			json_array_append_new(versions,
					      json_pack("{s:s, s:o, s:s}", "version",
							gvs[j].version, "resources", resources,
							"freshness", "Current"));
		}
		json_t *meta = json_object();
		if (gvs[i].group[0])
			json_object_set_new(meta, "name", json_string(gvs[i].group));
		json_object_set_new(meta, "creationTimestamp", json_null());
		json_array_append_new(
			items, json_pack("{s:o, s:o}", "metadata", meta, "versions", versions));
	}
	cleanup_free char *api_version = xasprintf("apidiscovery.k8s.io/%s", version);
	return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
			 api_version, "metadata", "items", items);
}

json_t *discovery_api_versions(const char *server_address)
{
	return json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
			 "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
			 server_address ? server_address : "");
}

static json_t *group_version_ref(const char *group, const char *version)
{
	cleanup_free char *gv = xasprintf("%s/%s", group, version);
	return json_pack("{s:s, s:s}", "groupVersion", gv, "version", version);
}

json_t *discovery_group_list(void)
{
	struct gv gvs[MAX_GV];
	size_t n = group_versions(false, gvs, MAX_GV);
	json_t *groups = json_array();
	for (size_t i = 0; i < n; i++) {
		bool first = true;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(gvs[j].group, gvs[i].group))
				first = false;
		if (!first)
			continue;
		json_t *versions = json_array();
		for (size_t j = i; j < n; j++)
			if (!strcmp(gvs[j].group, gvs[i].group))
				json_array_append_new(
					versions, group_version_ref(gvs[j].group, gvs[j].version));
		json_array_append_new(groups,
				      json_pack("{s:s, s:o, s:o}", "name", gvs[i].group, "versions",
						versions, "preferredVersion",
						group_version_ref(gvs[i].group, gvs[i].version)));
	}
	return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
			 groups);
}

json_t *discovery_resource_list(const char *group, const char *version)
{
	if (!group || !version)
		return NULL;
	json_t *resources = json_array();
	bool served = false;
	size_t nrows;
	cleanup_free const struct api_resource **rows = api_resource_all(&nrows);
	for (size_t k = 0; k < nrows; k++) {
		const struct api_resource *r = rows[k];
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		served = true;
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(r->resource));
		json_object_set_new(o, "singularName", json_string(r->singular));
		json_object_set_new(o, "namespaced", json_boolean(r->namespaced));
		json_object_set_new(o, "kind", json_string(r->kind));
		json_object_set_new(o, "verbs", string_array(r->verbs));
		if (r->short_names && r->short_names[0])
			json_object_set_new(o, "shortNames", string_array(r->short_names));
		if (r->categories && r->categories[0])
			json_object_set_new(o, "categories", string_array(r->categories));
		json_array_append_new(resources, o);
		for (const struct api_subresource *s = r->subresources; s && s->name; s++) {
			cleanup_free char *name = xasprintf("%s/%s", r->resource, s->name);
			json_t *so = json_object();
			json_object_set_new(so, "name", json_string(name));
			json_object_set_new(so, "singularName", json_string(""));
			json_object_set_new(so, "namespaced", json_boolean(r->namespaced));
			/* Upstream names group/version only when they differ from the list's. */
			if (strcmp(s->group, r->group) || strcmp(s->version, r->version)) {
				json_object_set_new(so, "group", json_string(s->group));
				json_object_set_new(so, "version", json_string(s->version));
			}
			json_object_set_new(so, "kind", json_string(s->kind));
			json_object_set_new(so, "verbs", string_array(s->verbs));
			json_array_append_new(resources, so);
		}
	}
	if (!served) {
		json_decref(resources);
		return NULL;
	}
	cleanup_free char *gv = group[0] ? xasprintf("%s/%s", group, version) : xstrdup(version);
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			 "groupVersion", gv, "resources", resources);
}
