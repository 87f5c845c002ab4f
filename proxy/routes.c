/* Node podCIDR routes through lib/netlink. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "netlink.h"
#include "routes.h"
#include "xalloc.h"

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct route_want *)a)->cidr, ((const struct route_want *)b)->cidr);
}

static bool parse_cidr(const char *s, uint8_t dst[16], int *len)
{
	char a[32];
	if (!s || strlen(s) >= sizeof(a) || !strchr(s, '/'))
		return false;
	strcpy(a, s);
	char *slash = strchr(a, '/');
	*slash = '\0';
	char *end;
	long l = strtol(slash + 1, &end, 10);
	if (*end || l < 0 || l > 32)
		return false;
	memset(dst, 0, 16);
	if (inet_pton(AF_INET, a, dst) != 1)
		return false;
	*len = (int)l;
	return true;
}

struct route_want *routes_wanted(const json_t *nodes, const char *self, size_t *n)
{
	*n = 0;
	struct route_want *r = NULL;
	size_t i;
	json_t *node;
	json_array_foreach(nodes, i, node) {
		const char *name = json_path_str(node, "metadata.name");
		const char *cidr = json_path_str(node, "spec.podCIDR");
		if (!name || (self && !strcmp(name, self)))
			continue;
		uint8_t d[16];
		int l;
		if (!parse_cidr(cidr, d, &l)) {
			/* spec.podCIDRs may carry the IPv4 one */
			cidr = NULL;
			size_t j;
			json_t *c;
			json_array_foreach(json_path_get(node, "spec.podCIDRs"), j, c)
				if (!cidr && parse_cidr(json_string_value(c), d, &l))
					cidr = json_string_value(c);
			if (!cidr)
				continue;
		}
		const char *ip = NULL;
		size_t j;
		json_t *a;
		json_array_foreach(json_path_get(node, "status.addresses"), j, a) {
			const char *t = json_string_value(json_object_get(a, "type"));
			const char *v = json_string_value(json_object_get(a, "address"));
			struct in_addr x;
			if (!ip && t && !strcmp(t, "InternalIP") && v && inet_pton(AF_INET, v, &x) == 1)
				ip = v;
		}
		if (!ip)
			continue;
		r = xrealloc(r, (*n + 1) * sizeof(*r));
		r[(*n)++] = (struct route_want){.cidr = xstrdup(cidr), .via = xstrdup(ip)};
	}
	if (*n > 1)
		qsort(r, *n, sizeof(*r), want_cmp);
	return r;
}

void routes_free(struct route_want *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].cidr);
		free(r[i].via);
	}
	free(r);
}

int routes_apply(const struct route_want *w, size_t n, struct mk_err **err)
{
	struct nl_sock *s = nl_sock_open(err);
	if (!s)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct nl_route r = {.family = AF_INET, .protocol = ROUTES_PROTO, .has_gw = true};
		if (!parse_cidr(w[i].cidr, r.dst, &r.dst_len) || inet_pton(AF_INET, w[i].via, r.gw) != 1) {
			rc = mk_err_set(err, MK_EINVAL, "bad route %s via %s", w[i].cidr, w[i].via);
			break;
		}
		if (nl_route_replace(s, &r, err) < 0)
			rc = mk_err_wrap(err, "route %s via %s", w[i].cidr, w[i].via);
	}
	struct nl_route *have = NULL;
	size_t nh = 0;
	if (rc == 0 && nl_route_list(s, AF_INET, 0, &have, &nh, err) < 0)
		rc = -1;
	for (size_t i = 0; i < nh && rc == 0; i++) {
		if (have[i].protocol != ROUTES_PROTO)
			continue;
		bool keep = false;
		for (size_t j = 0; j < n && !keep; j++) {
			uint8_t d[16];
			int l;
			if (parse_cidr(w[j].cidr, d, &l) && l == have[i].dst_len && !memcmp(d, have[i].dst, 4))
				keep = true;
		}
		if (!keep && nl_route_del(s, &have[i], err) < 0) {
			char buf[INET_ADDRSTRLEN] = "";
			inet_ntop(AF_INET, have[i].dst, buf, sizeof(buf));
			rc = mk_err_wrap(err, "deleting route %s/%d", buf, have[i].dst_len);
		}
	}
	free(have);
	nl_sock_close(s);
	return rc;
}
