#include "cidrset.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

struct cidrset {
	uint32_t base; /* network address, host order */
	int prefix;    /* cluster prefix length */
	int mask;      /* subnet prefix length */
	uint32_t count;
	uint8_t *used; /* one byte per subnet */
};

static int parse_cidr(const char *cidr, uint32_t *addr, int *len, struct mk_err **err)
{
	cleanup_free char *copy = xstrdup(cidr);
	char *slash = strchr(copy, '/');
	if (!slash)
		return mk_err_set(err, MK_EINVAL, "invalid CIDR address: %s", cidr);
	*slash = '\0';
	struct in_addr in;
	char *end;
	long l = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, copy, &in) != 1 || *end || end == slash + 1 || l < 0 || l > 32)
		return mk_err_set(err, MK_EINVAL, "invalid CIDR address: %s", cidr);
	*addr = ntohl(in.s_addr);
	*len = (int)l;
	return 0;
}

static uint32_t netmask(int len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

struct cidrset *cidrset_new(const char *cluster_cidr, int mask, struct mk_err **err)
{
	uint32_t addr;
	int len;
	if (parse_cidr(cluster_cidr, &addr, &len, err) < 0)
		return NULL;
	if (mask <= len || mask > 30 || mask - len > 16) {
		mk_err_set(err, MK_EINVAL,
			   "node CIDR mask size /%d does not fit the cluster CIDR %s", mask,
			   cluster_cidr);
		return NULL;
	}
	struct cidrset *s = xcalloc(1, sizeof(*s));
	s->base = addr & netmask(len);
	s->prefix = len;
	s->mask = mask;
	s->count = 1u << (mask - len);
	s->used = xcalloc(s->count, 1);
	return s;
}

void cidrset_free(struct cidrset *s)
{
	if (!s)
		return;
	free(s->used);
	free(s);
}

static int index_of(const struct cidrset *s, const char *cidr, uint32_t *idx, struct mk_err **err)
{
	uint32_t addr;
	int len;
	if (parse_cidr(cidr, &addr, &len, err) < 0)
		return -1;
	if (len != s->mask || (addr & netmask(s->prefix)) != s->base ||
	    (addr & ~netmask(len)) != 0)
		return mk_err_set(err, MK_EINVAL, "%s is not a /%d subnet of the cluster CIDR", cidr,
				  s->mask);
	*idx = (addr - s->base) >> (32 - s->mask);
	return 0;
}

int cidrset_occupy(struct cidrset *s, const char *cidr, struct mk_err **err)
{
	uint32_t i;
	if (index_of(s, cidr, &i, err) < 0)
		return -1;
	s->used[i] = 1;
	return 0;
}

void cidrset_release(struct cidrset *s, const char *cidr)
{
	uint32_t i;
	if (index_of(s, cidr, &i, NULL) == 0)
		s->used[i] = 0;
}

char *cidrset_allocate(struct cidrset *s, struct mk_err **err)
{
	for (uint32_t i = 0; i < s->count; i++) {
		if (s->used[i])
			continue;
		s->used[i] = 1;
		uint32_t a = s->base + (i << (32 - s->mask));
		return xasprintf("%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				 a & 255, s->mask);
	}
	mk_err_set(err, MK_ENOTFOUND,
		   "CIDR allocation failed; there are no remaining CIDRs left to allocate in the "
		   "accepted range");
	return NULL;
}
