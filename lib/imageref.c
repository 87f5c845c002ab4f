#include "imageref.h"

#include <ctype.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

#define NAME_TOTAL_MAX 255
#define TAG_MAX 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		size_t sep = i;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !is_lower_alnum(s[i]) || i == sep)
			return false;
	}
	return true;
}

static bool path_valid(const char *s)
{
	if (!*s)
		return false;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (!path_component_valid(s, n))
			return false;
		if (!slash)
			return true;
		s = slash + 1;
	}
}

/* [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static bool domain_label_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* host(:port)? where host is dotted labels or a bracketed IPv6 address. */
static bool domain_valid(const char *s)
{
	const char *port = NULL;
	size_t hn;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return false;
	} else {
		const char *colon = strchr(s, ':');
		hn = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port = colon + 1;
		const char *p = s, *end = s + hn;
		if (hn == 0)
			return false;
		while (p < end) {
			const char *dot = memchr(p, '.', (size_t)(end - p));
			size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
			if (!domain_label_valid(p, n))
				return false;
			if (!dot)
				break;
			p = dot + 1;
			if (p == end)
				return false;
		}
	}
	if (port) {
		if (!*port)
			return false;
		for (const char *p = port; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	return true;
}

/* [\w][\w.-]{0,127} */
static bool tag_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TAG_MAX)
		return false;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

bool imageref_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!is_hex_lower(*p))
			return false;
	return true;
}

bool imageref_is_id(const char *s)
{
	if (!s)
		return false;
	if (strncmp(s, "sha256:", 7) == 0)
		return imageref_digest_valid(s);
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!is_hex_lower(*p))
			return false;
	return true;
}

/* algorithm:hex as upstream's digest grammar, then the algorithm's own rules. */
static int digest_check(const char *d, struct mk_err **err)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d || !isalpha((unsigned char)d[0]))
		return mk_err_set(err, MK_EINVAL, "invalid reference format");
	for (const char *p = d; p < colon; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_+.", *p))
			return mk_err_set(err, MK_EINVAL, "invalid reference format");
	size_t hexlen = strlen(colon + 1);
	if (hexlen < 32)
		return mk_err_set(err, MK_EINVAL, "invalid reference format");
	for (const char *p = colon + 1; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return mk_err_set(err, MK_EINVAL, "invalid reference format");
	if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6) != 0)
		return mk_err_set(err, MK_EINVAL, "unsupported digest algorithm");
	if (hexlen != 64)
		return mk_err_set(err, MK_EINVAL, "invalid checksum digest length");
	for (const char *p = colon + 1; *p; p++)
		if (!is_hex_lower(*p))
			return mk_err_set(err, MK_EINVAL, "invalid checksum digest format");
	return 0;
}

int imageref_parse(const char *s, struct imageref *out, struct mk_err **err)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return mk_err_set(err, MK_EINVAL, "invalid reference format");
	if (strlen(s) == 64 && imageref_is_id(s))
		return mk_err_set(err, MK_EINVAL,
				  "invalid repository name (%s), cannot specify 64-byte hexadecimal "
				  "strings",
				  s);
	cleanup_free char *name = xstrdup(s);
	cleanup_free char *digest = NULL, *tag = NULL;
	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (digest_check(at + 1, err) < 0)
			return -1;
		digest = xstrdup(at + 1);
	}
	char *last_slash = strrchr(name, '/');
	char *colon = strrchr(name, ':');
	if (colon && (!last_slash || colon > last_slash)) {
		*colon = '\0';
		if (!tag_valid(colon + 1))
			return mk_err_set(err, MK_EINVAL, "invalid reference format");
		tag = xstrdup(colon + 1);
	}
	if (!*name)
		return mk_err_set(err, MK_EINVAL, "invalid reference format");

	/* The first component is a registry when it looks like a host
	 * (a dot, a port, "localhost", or upper case letters). */
	cleanup_free char *domain = NULL, *path = NULL;
	char *slash = strchr(name, '/');
	bool has_domain = false;
	if (slash) {
		size_t n = (size_t)(slash - name);
		bool upper = false;
		for (size_t i = 0; i < n; i++)
			upper |= isupper((unsigned char)name[i]) != 0;
		has_domain = memchr(name, '.', n) || memchr(name, ':', n) ||
			     (n == 9 && strncmp(name, "localhost", 9) == 0) || upper;
		if (!has_domain && name[0] == '[')
			has_domain = true;
	}
	if (has_domain) {
		domain = xstrndup(name, (size_t)(slash - name));
		path = xstrdup(slash + 1);
	} else {
		domain = xstrdup(IMAGEREF_DEFAULT_DOMAIN);
		path = xstrdup(name);
	}
	if (strcmp(domain, "index.docker.io") == 0) {
		free(domain);
		domain = xstrdup(IMAGEREF_DEFAULT_DOMAIN);
	}
	if (strcmp(domain, IMAGEREF_DEFAULT_DOMAIN) == 0 && !strchr(path, '/')) {
		char *p = xasprintf("library/%s", path);
		free(path);
		path = p;
	}
	for (const char *p = path; *p; p++)
		if (isupper((unsigned char)*p))
			return mk_err_set(err, MK_EINVAL,
					  "invalid reference format: repository name must be "
					  "lowercase");
	if (!domain_valid(domain) || !path_valid(path))
		return mk_err_set(err, MK_EINVAL, "invalid reference format");
	if (strlen(domain) + 1 + strlen(path) > NAME_TOTAL_MAX)
		return mk_err_set(err, MK_EINVAL,
				  "repository name must not be more than %d characters",
				  NAME_TOTAL_MAX);
	if (!tag && !digest)
		tag = xstrdup(IMAGEREF_DEFAULT_TAG);
	out->domain = steal_pointer(&domain);
	out->path = steal_pointer(&path);
	out->tag = steal_pointer(&tag);
	out->digest = steal_pointer(&digest);
	return 0;
}

void imageref_clear(struct imageref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *imageref_repo(const struct imageref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}

char *imageref_string(const struct imageref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
			 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *imageref_tagged(const struct imageref *r)
{
	return r->tag ? xasprintf("%s/%s:%s", r->domain, r->path, r->tag) : NULL;
}

char *imageref_digested(const struct imageref *r)
{
	return r->digest ? xasprintf("%s/%s@%s", r->domain, r->path, r->digest) : NULL;
}

char *imageref_familiar(const struct imageref *r)
{
	const char *name = r->path;
	cleanup_free char *full = NULL;
	if (strcmp(r->domain, IMAGEREF_DEFAULT_DOMAIN) == 0) {
		if (strncmp(name, "library/", 8) == 0 && !strchr(name + 8, '/'))
			name += 8;
	} else {
		full = xasprintf("%s/%s", r->domain, r->path);
		name = full;
	}
	return xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
			 r->digest ? "@" : "", r->digest ? r->digest : "");
}
