#include "apiserver/authz.h"

#include <ctype.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/status.h"

int authz_parse(const char *csv, struct authz *out, struct mk_err **err)
{
	*out = (struct authz){0};
	cleanup_free char *list = xstrdup(csv && *csv ? csv : "AlwaysAllow");
	char *save = NULL;
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		enum authz_mode mode;
		if (!strcmp(m, "AlwaysAllow"))
			mode = AUTHZ_ALWAYS_ALLOW;
		else if (!strcmp(m, "AlwaysDeny"))
			mode = AUTHZ_ALWAYS_DENY;
		else if (!strcmp(m, "RBAC") || !strcmp(m, "Node") || !strcmp(m, "ABAC") ||
			 !strcmp(m, "Webhook"))
			return mk_err_set(err, MK_EINVAL,
					  "authorization mode \"%s\" is not supported by this "
					  "server (AlwaysAllow, AlwaysDeny)",
					  m);
		else
			return mk_err_set(err, MK_EINVAL, "authorization mode \"%s\" is not a "
							  "valid mode",
					  m);
		for (size_t i = 0; i < out->n; i++)
			if (out->modes[i] == mode)
				return mk_err_set(err, MK_EINVAL,
						  "authorization-mode %s has mode specified more "
						  "than once",
						  m);
		if (out->n == AUTHZ_MAX_MODES)
			return mk_err_set(err, MK_EINVAL, "too many authorization modes");
		out->modes[out->n++] = mode;
	}
	return 0;
}

void authz_attrs_free(struct authz_attrs *a)
{
	free(a->verb);
	free(a->api_group);
	free(a->api_version);
	free(a->namespace);
	free(a->resource);
	free(a->subresource);
	free(a->name);
	free(a->path);
	*a = (struct authz_attrs){0};
}

static char *lower(const char *s)
{
	char *o = xstrdup(s);
	for (char *p = o; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return o;
}

void authz_attrs_parse(const char *method, const char *path, bool watch_query,
		       struct authz_attrs *a)
{
	*a = (struct authz_attrs){0};
	a->path = xstrdup(path);
	a->verb = lower(method);
	a->api_group = xstrdup("");
	a->api_version = xstrdup("");
	a->namespace = xstrdup("");
	a->resource = xstrdup("");
	a->subresource = xstrdup("");
	a->name = xstrdup("");

	/* segments, at most the few a resource URL has */
	char *segs[16];
	size_t n = 0;
	cleanup_free char *copy = xstrdup(path);
	char *save = NULL;
	for (char *s = strtok_r(copy, "/", &save); s && n < 16; s = strtok_r(NULL, "/", &save))
		segs[n++] = s;
	size_t i;
	if (n >= 1 && !strcmp(segs[0], "api"))
		i = 1;
	else if (n >= 1 && !strcmp(segs[0], "apis"))
		i = 2;
	else
		return;
	if (n < i + 2)
		return; /* discovery documents: non-resource */
	free(a->api_group);
	a->api_group = xstrdup(i == 2 ? segs[1] : "");
	free(a->api_version);
	a->api_version = xstrdup(segs[i]);
	i++;
	a->resource_request = true;
	bool watch_prefix = false;
	if (!strcmp(segs[i], "watch")) {
		watch_prefix = true;
		i++;
	}
	const char *verb;
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		verb = "get";
	else if (!strcmp(method, "POST"))
		verb = "create";
	else if (!strcmp(method, "PUT"))
		verb = "update";
	else if (!strcmp(method, "PATCH"))
		verb = "patch";
	else if (!strcmp(method, "DELETE"))
		verb = "delete";
	else
		verb = NULL;
	free(a->verb);
	a->verb = verb ? xstrdup(verb) : lower(method);
	/* namespaces/<ns>/<resource>...; namespaces/<ns>[/status|/finalize] is the
	 * namespace itself, in its own namespace (as upstream's resolver says) */
	if (i < n && !strcmp(segs[i], "namespaces") && i + 1 < n) {
		free(a->namespace);
		a->namespace = xstrdup(segs[i + 1]);
		if (i + 2 < n && strcmp(segs[i + 2], "status") && strcmp(segs[i + 2], "finalize"))
			i += 2;
	}
	if (i < n) {
		free(a->resource);
		a->resource = xstrdup(segs[i]);
		if (i + 1 < n) {
			free(a->name);
			a->name = xstrdup(segs[i + 1]);
		}
		if (i + 2 < n) {
			free(a->subresource);
			a->subresource = xstrdup(segs[i + 2]);
		}
	}
	if (!strcmp(a->verb, "get") && !*a->name) {
		free(a->verb);
		a->verb = xstrdup(watch_query || watch_prefix ? "watch" : "list");
	} else if (!strcmp(a->verb, "get") && watch_prefix) {
		free(a->verb);
		a->verb = xstrdup("watch");
	} else if (!strcmp(a->verb, "delete") && !*a->name) {
		free(a->verb);
		a->verb = xstrdup("deletecollection");
	}
}

bool authz_allowed(const struct authz *z, const struct authn_user *u,
		   const struct authz_attrs *a)
{
	(void)u;
	(void)a;
	for (size_t i = 0; i < z->n; i++) {
		switch (z->modes[i]) {
		case AUTHZ_ALWAYS_ALLOW:
			return true;
		case AUTHZ_ALWAYS_DENY:
			return false;
		}
	}
	return false; /* no opinion anywhere: denied, as upstream */
}

json_t *authz_forbidden_status(const struct authn_user *u, const struct authz_attrs *a)
{
	if (!a->resource_request) {
		cleanup_free char *msg = xasprintf("forbidden: User \"%s\" cannot %s path \"%s\"",
						   u->name, a->verb, a->path);
		return status_failure(403, "Forbidden", msg, json_object());
	}
	cleanup_free char *res = *a->subresource ? xasprintf("%s/%s", a->resource, a->subresource)
						 : xstrdup(a->resource);
	cleanup_free char *scope = *a->namespace ? xasprintf("in the namespace \"%s\"",
							      a->namespace)
						 : xstrdup("at the cluster scope");
	cleanup_free char *why =
		xasprintf("User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s", u->name,
			  a->verb, res, a->api_group, scope);
	cleanup_free char *qual = *a->api_group ? xasprintf("%s.%s", a->resource, a->api_group)
						: xstrdup(a->resource);
	cleanup_free char *msg = *a->name
					 ? xasprintf("%s \"%s\" is forbidden: %s", qual, a->name, why)
					 : xasprintf("%s is forbidden: %s", qual, why);
	json_t *d = json_object();
	if (*a->name)
		json_object_set_new(d, "name", json_string(a->name));
	if (*a->api_group)
		json_object_set_new(d, "group", json_string(a->api_group));
	json_object_set_new(d, "kind", json_string(a->resource));
	return status_failure(403, "Forbidden", msg, d);
}
