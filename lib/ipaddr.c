#include "ipaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int ipaddr_len(const struct ipaddr *ip)
{
	return ip->family == AF_INET6 ? 16 : 4;
}

int ipaddr_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->b) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (strchr(s, ':') && inet_pton(AF_INET6, s, out->b) == 1) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(out->b, mapped, 12) == 0) {
			memmove(out->b, out->b + 12, 4);
			memset(out->b + 4, 0, 12);
			out->family = AF_INET;
		} else {
			out->family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int ipaddr_net_parse(const char *s, struct ipaddr_net *out)
{
	const char *slash = strchr(s, '/');
	if (!slash || !slash[1])
		return -1;
	char *ipstr = xstrndup(s, (size_t)(slash - s));
	int rc = ipaddr_parse(ipstr, &out->ip);
	free(ipstr);
	if (rc < 0)
		return -1;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (*end || p < 0 || p > ipaddr_len(&out->ip) * 8 || !(slash[1] >= '0' && slash[1] <= '9'))
		return -1;
	out->prefix = (int)p;
	return 0;
}

char *ipaddr_str(const struct ipaddr *ip, char *buf)
{
	if (!inet_ntop(ip->family, ip->b, buf, IPADDR_STRLEN))
		snprintf(buf, IPADDR_STRLEN, "<invalid>");
	return buf;
}

char *ipaddr_net_str(const struct ipaddr_net *n)
{
	char b[IPADDR_STRLEN];
	return xasprintf("%s/%d", ipaddr_str(&n->ip, b), n->prefix);
}

int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, (size_t)ipaddr_len(a));
}

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return ipaddr_cmp(a, b) == 0;
}

void ipaddr_next(struct ipaddr *ip)
{
	for (int i = ipaddr_len(ip) - 1; i >= 0; i--)
		if (++ip->b[i] != 0)
			break;
}

void ipaddr_prev(struct ipaddr *ip)
{
	for (int i = ipaddr_len(ip) - 1; i >= 0; i--)
		if (ip->b[i]-- != 0)
			break;
}

static uint8_t mask_byte(int prefix, int i)
{
	int bits = prefix - i * 8;
	if (bits >= 8)
		return 0xff;
	if (bits <= 0)
		return 0;
	return (uint8_t)(0xff << (8 - bits));
}

struct ipaddr ipaddr_net_first(const struct ipaddr_net *n)
{
	struct ipaddr r = n->ip;
	for (int i = 0; i < ipaddr_len(&r); i++)
		r.b[i] &= mask_byte(n->prefix, i);
	return r;
}

struct ipaddr ipaddr_net_last(const struct ipaddr_net *n)
{
	struct ipaddr r = n->ip;
	for (int i = 0; i < ipaddr_len(&r); i++)
		r.b[i] |= (uint8_t)~mask_byte(n->prefix, i);
	return r;
}

bool ipaddr_net_contains(const struct ipaddr_net *n, const struct ipaddr *ip)
{
	if (ip->family != n->ip.family)
		return false;
	for (int i = 0; i < ipaddr_len(ip); i++) {
		uint8_t m = mask_byte(n->prefix, i);
		if ((ip->b[i] & m) != (n->ip.b[i] & m))
			return false;
	}
	return true;
}

bool ipaddr_net_has_host_bits(const struct ipaddr_net *n)
{
	struct ipaddr f = ipaddr_net_first(n);
	return !ipaddr_equal(&f, &n->ip);
}

bool ipaddr_net_overlaps(const struct ipaddr_net *a, const struct ipaddr_net *b)
{
	if (a->ip.family != b->ip.family)
		return false;
	return ipaddr_net_contains(a, &b->ip) || ipaddr_net_contains(b, &a->ip);
}
