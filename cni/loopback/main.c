/* loopback: brings `lo` up inside the container's network namespace. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "netlink.h"
#include "xalloc.h"
#include "ipaddr.h"
#include "cni/skel/skel.h"

struct lo_op {
	bool up;
	json_t *ips; /* ADD: addresses found on lo */
	const char *bad; /* set when a non-loopback address is found */
	char badbuf[IPADDR_STRLEN];
};

static int lo_apply(struct nl_sock *s, void *arg, struct mk_err **err)
{
	struct lo_op *op = arg;
	int ix = nl_link_index(s, "lo", err);
	if (ix < 0)
		return -1;
	if (nl_link_set_up(s, ix, op->up, err) < 0)
		return -1;
	if (!op->ips)
		return 0;
	struct nl_addr *as;
	size_t n;
	if (nl_addr_list(s, ix, AF_UNSPEC, &as, &n, err) < 0)
		return -1;
	/* IPv4 first, as the reference lists them. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if ((pass == 0) != (as[i].family == AF_INET))
				continue;
			struct ipaddr ip = {.family = as[i].family};
			memcpy(ip.b, as[i].addr, 16);
			char b[IPADDR_STRLEN];
			ipaddr_str(&ip, b);
			bool loop = as[i].family == AF_INET ? as[i].addr[0] == 127
							    : strcmp(b, "::1") == 0;
			if (!loop && !op->bad) {
				snprintf(op->badbuf, sizeof(op->badbuf), "%s", b);
				op->bad = op->badbuf;
			}
			char *cidr = xasprintf("%s/%d", b, as[i].prefixlen);
			json_array_append_new(op->ips, json_pack("{s:i,s:s}", "interface", 0,
								  "address", cidr));
			free(cidr);
		}
	}
	free(as);
	return 0;
}

static int lo_add(struct cni_ctx *ctx, struct mk_err **err)
{
	cleanup_close int fd = nl_netns_open(ctx->netns, err);
	if (fd < 0)
		return mk_err_wrap(err, "failed to open netns \"%s\"", ctx->netns);
	cleanup_json json_t *ips = json_array();
	struct lo_op op = {.up = true, .ips = ips};
	if (nl_netns_run(fd, lo_apply, &op, err) < 0)
		return -1;
	if (op.bad)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL,
				"loopback interface found with non-loopback address \"%s\"", op.bad);
	cleanup_json json_t *res = NULL;
	json_t *prev = json_object_get(ctx->conf, "prevResult");
	if (prev) {
		res = cni_result_normalize(prev, err);
		if (!res)
			return -1;
	} else {
		res = json_pack("{s:s,s:[{s:s,s:s,s:s}],s:O,s:{}}", "cniVersion", "1.1.0",
				"interfaces", "name", "lo", "mac", "00:00:00:00:00:00", "sandbox",
				ctx->netns, "ips", ips, "dns");
	}
	cleanup_json json_t *out = cni_result_convert(res, ctx->version, err);
	if (!out)
		return -1;
	cni_print_json(out);
	return 0;
}

static int lo_del(struct cni_ctx *ctx, struct mk_err **err)
{
	if (!*ctx->netns)
		return 0;
	struct mk_err *oerr = NULL;
	cleanup_close int fd = nl_netns_open(ctx->netns, &oerr);
	if (fd < 0) {
		/* Gone, or no longer a namespace file: nothing left to undo. */
		mk_err_free(oerr);
		return 0;
	}
	struct lo_op op = {.up = false};
	return nl_netns_run(fd, lo_apply, &op, err);
}

static int lo_check_in(struct nl_sock *s, void *arg, struct mk_err **err)
{
	struct nl_link l;
	(void)arg;
	if (nl_link_get(s, "lo", 0, &l, err) < 0)
		return -1;
	return (l.flags & IFF_UP) ? 0 : 1;
}

static int lo_check(struct cni_ctx *ctx, struct mk_err **err)
{
	cleanup_close int fd = nl_netns_open(ctx->netns, err);
	if (fd < 0)
		return mk_err_wrap(err, "failed to open netns \"%s\"", ctx->netns);
	int rc = nl_netns_run(fd, lo_check_in, NULL, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return cni_fail(ctx, err, CNI_ERR_INTERNAL, NULL, "loopback interface is down");
	return 0;
}

int main(void)
{
	static const struct cni_plugin plugin = {
		.name = "loopback",
		.add = lo_add,
		.del = lo_del,
		.check = lo_check,
	};
	return cni_skel_main(&plugin);
}
