/* DNS-1123 and qualified-name checks; generateName suffixes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <errno.h>
#include <arpa/inet.h>

#include "buf.h"
#include "names.h"
#include "xalloc.h"

#define DNS1123_LABEL_MAX     63
#define DNS1123_SUBDOMAIN_MAX 253
#define QUALIFIED_NAME_MAX    63
#define LABEL_VALUE_MAX	      63

/* Upstream's messages: the rule, examples, then the regex it uses. */
#define DNS1123_LABEL_FMT     "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define QUALIFIED_NAME_FMT    "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_VALUE_FMT	      "(" QUALIFIED_NAME_FMT ")?"

#define MSG_SUBDOMAIN                                                                              \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "  \
	"or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "      \
	"regex used for validation is '" DNS1123_SUBDOMAIN_FMT "')"
#define MSG_LABEL                                                                                  \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "   \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "   \
	"regex used for validation is '" DNS1123_LABEL_FMT "')"
#define MSG_QUALIFIED                                                                              \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "   \
	"an "                                                                                      \
	"alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "     \
	"validation is '" QUALIFIED_NAME_FMT "')"
#define MSG_LABEL_VALUE                                                                            \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "   \
	"or "                                                                                      \
	"'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "         \
	"'my_value',  or '12345', regex used for validation is '" LABEL_VALUE_FMT "')"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One DNS-1123 label of n bytes: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!label_ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

const char *names_check_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n > DNS1123_SUBDOMAIN_MAX)
		return "must be no more than 253 characters";
	if (!subdomain_ok(s, n))
		return MSG_SUBDOMAIN;
	return NULL;
}

const char *names_check_dns1123_label(const char *s)
{
	size_t n = strlen(s);
	if (n > DNS1123_LABEL_MAX)
		return "must be no more than 63 characters";
	if (!label_ok(s, n))
		return MSG_LABEL;
	return NULL;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over n bytes */
static bool qualified_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static void add_msg(struct buf *b, const char *prefix, const char *msg)
{
	if (b->len)
		buf_append_str(b, "; ");
	buf_append_str(b, prefix);
	buf_append_str(b, msg);
}

char *names_check_qualified_name(const char *s)
{
	struct buf b = BUF_INIT;
	const char *name = s;
	const char *slash = strchr(s, '/');

	if (slash) {
		if (strchr(slash + 1, '/')) {
			add_msg(&b, "a qualified name ",
				MSG_QUALIFIED " with an optional DNS subdomain "
					      "prefix and '/' (e.g. 'example.com/MyName')");
			return buf_steal(&b);
		}
		size_t plen = (size_t)(slash - s);
		name = slash + 1;
		if (plen == 0) {
			add_msg(&b, "prefix part ", "must be non-empty");
		} else {
			char *prefix = xstrndup(s, plen);
			if (plen > DNS1123_SUBDOMAIN_MAX)
				add_msg(&b, "prefix part ", "must be no more than 253 characters");
			if (!subdomain_ok(prefix, plen))
				add_msg(&b, "prefix part ", MSG_SUBDOMAIN);
			free(prefix);
		}
	}
	size_t n = strlen(name);
	if (n == 0) {
		add_msg(&b, "name part ", "must be non-empty");
	} else {
		if (n > QUALIFIED_NAME_MAX)
			add_msg(&b, "name part ", "must be no more than 63 characters");
		if (!qualified_ok(name, n))
			add_msg(&b, "name part ", MSG_QUALIFIED);
	}
	if (!b.len)
		return NULL;
	return buf_steal(&b);
}

char *names_check_label_value(const char *s)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(s);
	if (n > LABEL_VALUE_MAX)
		add_msg(&b, "", "must be no more than 63 characters");
	if (n > 0 && !qualified_ok(s, n))
		add_msg(&b, "", MSG_LABEL_VALUE);
	if (!b.len)
		return NULL;
	return buf_steal(&b);
}

#define GENERATE_SUFFIX	  5
#define GENERATE_BASE_MAX (DNS1123_LABEL_MAX - GENERATE_SUFFIX)

static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

char *names_check_nonspecial_ip(const char *s)
{
	unsigned char a[16];
	struct in_addr v4;
	if (!s)
		return xstrdup("must be a valid IP address");
	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &v4, 4);
	} else if (inet_pton(AF_INET6, s, a) != 1) {
		return xstrdup("must be a valid IP address");
	}
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!memcmp(a, mapped, 12)) {
		const unsigned char *b = a + 12;
		if (!b[0] && !b[1] && !b[2] && !b[3])
			return xasprintf("may not be unspecified (%s)", s);
		if (b[0] == 127)
			return xstrdup("may not be in the loopback range (127.0.0.0/8, ::1/128)");
		if (b[0] == 169 && b[1] == 254)
			return xstrdup("may not be in the link-local range (169.254.0.0/16, "
				       "fe80::/10)");
		if (b[0] == 224 && b[1] == 0 && b[2] == 0)
			return xstrdup("may not be in the link-local multicast range "
				       "(224.0.0.0/24, ff02::/10)");
		return NULL;
	}
	static const unsigned char zero[16];
	if (!memcmp(a, zero, 16))
		return xasprintf("may not be unspecified (%s)", s);
	if (!memcmp(a, zero, 15) && a[15] == 1)
		return xstrdup("may not be in the loopback range (127.0.0.0/8, ::1/128)");
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return xstrdup("may not be in the link-local range (169.254.0.0/16, fe80::/10)");
	/* Go's IsLinkLocalMulticast: any ffX2:: address */
	if (a[0] == 0xff && (a[1] & 0x0f) == 0x02)
		return xstrdup("may not be in the link-local multicast range (224.0.0.0/24, "
			       "ff02::/10)");
	return NULL;
}

char *names_generate(const char *base)
{
	size_t blen = strnlen(base, GENERATE_BASE_MAX);
	char *out = xmalloc(blen + GENERATE_SUFFIX + 1);
	memcpy(out, base, blen);
	const size_t n = sizeof(alphabet) - 1;
	/* Rejection sampling keeps the characters uniform. */
	const unsigned limit = 256 - 256 % n;
	size_t filled = 0;
	while (filled < GENERATE_SUFFIX) {
		unsigned char rnd[16];
		ssize_t got = getrandom(rnd, sizeof(rnd), 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			/* getrandom cannot fail on Linux >= 3.17 with a valid buffer;
			 * abort rather than hand out predictable names. */
			abort();
		}
		for (ssize_t i = 0; i < got && filled < GENERATE_SUFFIX; i++)
			if (rnd[i] < limit)
				out[blen + filled++] = alphabet[rnd[i] % n];
	}
	out[blen + GENERATE_SUFFIX] = '\0';
	return out;
}

char *names_uid_new(void)
{
	unsigned char b[16];
	size_t filled = 0;
	while (filled < sizeof(b)) {
		ssize_t got = getrandom(b + filled, sizeof(b) - filled, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			abort(); /* as names_generate: never a predictable UID */
		}
		filled += (size_t)got;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
			 b[12], b[13], b[14], b[15]);
}
