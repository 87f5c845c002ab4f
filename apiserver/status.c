#include "apiserver/status.h"

#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

/* Length of the valid UTF-8 sequence at p (as JSON strings need it), 0 if
 * there is none. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* message with every byte that is not valid UTF-8 written as \xNN, as Go's
 * %q prints it inside the quoted values of upstream's messages; a message
 * with raw bytes could not be sent as JSON at all. New string. */
static char *utf8_safe(const char *message)
{
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)message;
	while (*p) {
		size_t n = utf8_seq(p);
		if (n) {
			buf_append(&b, p, n);
			p += n;
		} else {
			buf_printf(&b, "\\x%02x", *p++);
		}
	}
	return buf_steal(&b);
}

json_t *status_failure(int code, const char *reason, const char *message, json_t *details)
{
	cleanup_free char *safe = utf8_safe(message ? message : "");
	json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:s}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", "Failure", "message", safe);
	if (reason && reason[0])
		json_object_set_new(s, "reason", json_string(reason));
	if (details)
		json_object_set_new(s, "details", details);
	json_object_set_new(s, "code", json_integer(code));
	return s;
}

json_t *status_details(const struct api_resource *r, const char *name)
{
	json_t *d = json_object();
	if (name && name[0])
		json_object_set_new(d, "name", json_string(name));
	if (r) {
		if (r->group[0])
			json_object_set_new(d, "group", json_string(r->group));
		json_object_set_new(d, "kind", json_string(r->resource));
	}
	return d;
}

json_t *status_success(const struct api_resource *r, const char *name, const char *uid)
{
	json_t *d = status_details(r, name);
	if (uid)
		json_object_set_new(d, "uid", json_string(uid));
	return json_pack("{s:s, s:s, s:{}, s:s, s:o}", "kind", "Status", "apiVersion", "v1",
			 "metadata", "status", "Success", "details", d);
}

static const char *qualified(const struct api_resource *r)
{
	return r ? api_resource_qualified(r) : "resource";
}

json_t *status_not_found(const struct api_resource *r, const char *name)
{
	cleanup_free char *msg = xasprintf("%s \"%s\" not found", qualified(r), name ? name : "");
	return status_failure(404, "NotFound", msg, status_details(r, name));
}

json_t *status_already_exists(const struct api_resource *r, const char *name)
{
	cleanup_free char *msg =
		xasprintf("%s \"%s\" already exists", qualified(r), name ? name : "");
	return status_failure(409, "AlreadyExists", msg, status_details(r, name));
}

json_t *status_conflict(const struct api_resource *r, const char *name, const char *why)
{
	cleanup_free char *msg = xasprintf(
		"Operation cannot be fulfilled on %s \"%s\": %s", qualified(r), name ? name : "",
		why ? why
		    : "the object has been modified; please apply your changes to the latest "
		      "version and try again");
	return status_failure(409, "Conflict", msg, status_details(r, name));
}

json_t *status_invalid(const struct api_resource *r, const char *name, const json_t *causes)
{
	cleanup_buf struct buf b = BUF_INIT;
	if (r) {
		buf_append_str(&b, r->kind);
		if (r->group[0])
			buf_printf(&b, ".%s", r->group);
	}
	cleanup_free char *what = api_causes_message(causes);
	buf_printf(&b, " \"%s\" is invalid: %s", name ? name : "", what);
	json_t *d = status_details(r ? r : NULL, name);
	if (r)
		json_object_set_new(d, "kind", json_string(r->kind));
	json_object_set_new(d, "causes", json_deep_copy(causes));
	return status_failure(422, "Invalid", buf_str(&b), d);
}

json_t *status_forbidden(const struct api_resource *r, const char *name, const char *why)
{
	cleanup_free char *msg =
		xasprintf("%s \"%s\" is forbidden: %s", qualified(r), name ? name : "", why);
	return status_failure(403, "Forbidden", msg, status_details(r, name));
}

json_t *status_invalid_options(const char *kind, const json_t *causes)
{
	cleanup_free char *what = api_causes_message(causes);
	cleanup_free char *msg = xasprintf("%s.meta.k8s.io \"\" is invalid: %s", kind, what);
	json_t *d = json_pack("{s:s, s:s, s:O}", "group", "meta.k8s.io", "kind", kind, "causes",
			      causes);
	return status_failure(422, "Invalid", msg, d);
}

json_t *status_bad_request(const char *message)
{
	return status_failure(400, "BadRequest", message, NULL);
}

json_t *status_no_route(void)
{
	return status_failure(404, "NotFound", "the server could not find the requested resource",
			      json_object());
}

json_t *status_method_not_allowed(void)
{
	return status_failure(405, "MethodNotAllowed",
			      "the server does not allow this method on the requested resource",
			      json_object());
}

json_t *status_internal(const char *message)
{
	cleanup_free char *msg = xasprintf("Internal error occurred: %s", message);
	json_t *d = json_pack("{s:[{s:s}]}", "causes", "message", message);
	return status_failure(500, "InternalError", msg, d);
}

json_t *status_from_err(const struct mk_err *e, const struct api_resource *r, const char *name)
{
	const char *msg = mk_err_msg(e);
	switch (mk_err_code(e)) {
	case MK_ENOTFOUND:
		return status_not_found(r, name);
	case MK_EEXISTS:
		return status_already_exists(r, name);
	case MK_ECONFLICT:
		return status_conflict(r, name, NULL);
	case MK_EEXPIRED:
		return status_failure(410, "Expired", msg, NULL);
	case MK_EINVAL:
		return status_bad_request(msg);
	case MK_EINVALID: {
		/* Allocation hooks fail with "<field>: <text>": one cause, so that
		 * kubectl prints the field as for any other invalid object. */
		cleanup_json json_t *causes = api_causes_from_message(msg);
		return status_invalid(r, name, causes);
	}
	case MK_ETOOLARGE:
		return status_failure(413, "RequestEntityTooLarge", msg, NULL);
	case MK_EUNSUPPORTED:
		return status_failure(415, "UnsupportedMediaType", msg, NULL);
	case MK_ETIMEOUT:
		return status_failure(504, "Timeout", msg, NULL);
	case MK_EUNAVAILABLE:
		return status_failure(503, "ServiceUnavailable", msg, NULL);
	case MK_EBACKEND:
		/* upstream's answer to a storage error it has no Status for */
		return status_failure(500, NULL, msg, NULL);
	default:
		return status_internal(msg);
	}
}

int status_code(const json_t *status)
{
	json_t *c = json_object_get(status, "code");
	return json_is_integer(c) ? (int)json_integer_value(c) : 500;
}
