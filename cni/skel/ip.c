#include "ip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int cni_ip_len(const struct cni_ip *ip)
{
	return ip->family == AF_INET6 ? 16 : 4;
}

int cni_ip_parse(const char *s, struct cni_ip *out)
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

int cni_net_parse(const char *s, struct cni_net *out)
{
	const char *slash = strchr(s, '/');
	if (!slash || !slash[1])
		return -1;
	char *ipstr = xstrndup(s, (size_t)(slash - s));
	int rc = cni_ip_parse(ipstr, &out->ip);
	free(ipstr);
	if (rc < 0)
		return -1;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (*end || p < 0 || p > cni_ip_len(&out->ip) * 8 || !(slash[1] >= '0' && slash[1] <= '9'))
		return -1;
	out->prefix = (int)p;
	return 0;
}

char *cni_ip_str(const struct cni_ip *ip, char *buf)
{
	if (!inet_ntop(ip->family, ip->b, buf, CNI_IP_STRLEN))
		snprintf(buf, CNI_IP_STRLEN, "<invalid>");
	return buf;
}

char *cni_net_str(const struct cni_net *n)
{
	char b[CNI_IP_STRLEN];
	return xasprintf("%s/%d", cni_ip_str(&n->ip, b), n->prefix);
}

int cni_ip_cmp(const struct cni_ip *a, const struct cni_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, (size_t)cni_ip_len(a));
}

bool cni_ip_equal(const struct cni_ip *a, const struct cni_ip *b)
{
	return cni_ip_cmp(a, b) == 0;
}

void cni_ip_next(struct cni_ip *ip)
{
	for (int i = cni_ip_len(ip) - 1; i >= 0; i--)
		if (++ip->b[i] != 0)
			break;
}

void cni_ip_prev(struct cni_ip *ip)
{
	for (int i = cni_ip_len(ip) - 1; i >= 0; i--)
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

struct cni_ip cni_net_first(const struct cni_net *n)
{
	struct cni_ip r = n->ip;
	for (int i = 0; i < cni_ip_len(&r); i++)
		r.b[i] &= mask_byte(n->prefix, i);
	return r;
}

struct cni_ip cni_net_last(const struct cni_net *n)
{
	struct cni_ip r = n->ip;
	for (int i = 0; i < cni_ip_len(&r); i++)
		r.b[i] |= (uint8_t)~mask_byte(n->prefix, i);
	return r;
}

bool cni_net_contains(const struct cni_net *n, const struct cni_ip *ip)
{
	if (ip->family != n->ip.family)
		return false;
	for (int i = 0; i < cni_ip_len(ip); i++) {
		uint8_t m = mask_byte(n->prefix, i);
		if ((ip->b[i] & m) != (n->ip.b[i] & m))
			return false;
	}
	return true;
}

bool cni_net_has_host_bits(const struct cni_net *n)
{
	struct cni_ip f = cni_net_first(n);
	return !cni_ip_equal(&f, &n->ip);
}

bool cni_net_overlaps(const struct cni_net *a, const struct cni_net *b)
{
	if (a->ip.family != b->ip.family)
		return false;
	return cni_net_contains(a, &b->ip) || cni_net_contains(b, &a->ip);
}
