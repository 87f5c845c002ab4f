#include "apiserver/impersonate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "xalloc.h"
#include "apiserver/authn.h"
#include "apiserver/authz.h"
#include "apiserver/status.h"

#define EXTRA_PREFIX "Impersonate-Extra-"
#define SA_PREFIX    "system:serviceaccount:"

struct asked {
	const char *user;
	const char *uid;
	json_t *groups; /* strings in order */
	json_t *extras; /* [[key, value], ...] in order */
};

/* url.PathUnescape of a lower-cased key; a bad escape keeps the text. */
static char *unescape_key(const char *s)
{
	char *o = xmalloc(strlen(s) + 1), *p = o;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};
			*p++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*p++ = (char)tolower((unsigned char)*s);
		}
	}
	*p = '\0';
	return o;
}

static void collect(const char *name, const char *value, void *arg)
{
	struct asked *q = arg;
	if (!strcasecmp(name, "Impersonate-Group")) {
		json_array_append_new(q->groups, json_string(value));
	} else if (!strncasecmp(name, EXTRA_PREFIX, strlen(EXTRA_PREFIX))) {
		cleanup_free char *key = unescape_key(name + strlen(EXTRA_PREFIX));
		json_array_append_new(q->extras, json_pack("[s,s]", key, value));
	}
}

/* Asks the chain whether caller may impersonate; a 403 Status if not. */
static json_t *check(const struct authz *z, const struct authn_user *caller, const char *resource,
		     const char *ns, const char *name, const char *sub)
{
	struct authz_attrs a = {
		.resource_request = true,
		.verb = (char *)"impersonate",
		.api_group = (char *)(strcmp(resource, "userextras") && strcmp(resource, "uids")
					      ? ""
					      : "authentication.k8s.io"),
		.api_version = (char *)"v1",
		.namespace = (char *)(ns ? ns : ""),
		.resource = (char *)resource,
		.subresource = (char *)(sub ? sub : ""),
		.name = (char *)name,
		.path = (char *)"",
	};
	cleanup_free char *reason = NULL;
	if (authz_allowed(z, caller, &a, &reason))
		return NULL;
	return authz_forbidden_status(caller, &a, reason);
}

static bool has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

int impersonate_apply(const struct authz *z, const struct httpd_req *hr, struct authn_user **user,
		      json_t **status)
{
	struct asked q = {
		.user = httpd_req_header(hr, "Impersonate-User"),
		.uid = httpd_req_header(hr, "Impersonate-Uid"),
		.groups = json_array(),
		.extras = json_array(),
	};
	cleanup_json json_t *groups_owner = q.groups;
	cleanup_json json_t *extras_owner = q.extras;
	httpd_req_header_each(hr, collect, &q);
	bool has_user = q.user && *q.user;
	bool has_uid = q.uid && *q.uid;
	if (!has_user) {
		if (json_array_size(q.groups) || json_array_size(q.extras) || has_uid) {
			*status = status_internal("requested impersonation of groups, extras or a "
						  "uid without impersonating a user");
			return -1;
		}
		return 0;
	}
	const struct authn_user *caller = *user;
	cleanup_json json_t *groups = json_array();
	bool groups_asked = json_array_size(q.groups) > 0;
	const char *name = q.user;
	if (!strncmp(name, SA_PREFIX, strlen(SA_PREFIX)) && strchr(name + strlen(SA_PREFIX), ':')) {
		const char *rest = name + strlen(SA_PREFIX);
		const char *colon = strchr(rest, ':');
		cleanup_free char *ns = xstrndup(rest, (size_t)(colon - rest));
		if ((*status = check(z, caller, "serviceaccounts", ns, colon + 1, NULL)))
			return -1;
		if (!groups_asked) {
			cleanup_free char *g = xasprintf("system:serviceaccounts:%s", ns);
			json_array_append_new(groups, json_string("system:serviceaccounts"));
			json_array_append_new(groups, json_string(g));
		}
	} else if ((*status = check(z, caller, "users", NULL, name, NULL))) {
		return -1;
	}
	size_t i;
	json_t *v;
	json_array_foreach(q.groups, i, v)
	{
		if ((*status = check(z, caller, "groups", NULL, json_string_value(v), NULL)))
			return -1;
		json_array_append(groups, v);
	}
	cleanup_json json_t *extra = json_object();
	json_array_foreach(q.extras, i, v)
	{
		const char *key = json_string_value(json_array_get(v, 0));
		const char *val = json_string_value(json_array_get(v, 1));
		if ((*status = check(z, caller, "userextras", NULL, val, key)))
			return -1;
		json_t *list = json_object_get(extra, key);
		if (!list) {
			list = json_array();
			json_object_set_new(extra, key, list);
		}
		json_array_append_new(list, json_string(val));
	}
	if (has_uid && (*status = check(z, caller, "uids", NULL, q.uid, NULL)))
		return -1;
	if (strcmp(name, "system:anonymous")) {
		if (!has_str(groups, "system:authenticated") &&
		    !has_str(groups, "system:unauthenticated"))
			json_array_append_new(groups, json_string("system:authenticated"));
	} else if (!has_str(groups, "system:unauthenticated")) {
		json_array_append_new(groups, json_string("system:unauthenticated"));
	}
	struct authn_user *nu = authn_user_new(name, has_uid ? q.uid : NULL);
	json_array_foreach(groups, i, v) authn_user_add_group(nu, json_string_value(v));
	if (json_object_size(extra))
		nu->extra = json_incref(extra);
	authn_user_free(*user);
	*user = nu;
	return 0;
}
