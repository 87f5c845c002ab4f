#include "alloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define LAST_IP_PREFIX "last_reserved_ip."

/* ---- configuration ---- */

void hl_config_free(struct hl_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->data_dir);
	free(c->resolv_conf);
	for (size_t i = 0; i < c->nsets; i++)
		free(c->sets[i].r);
	free(c->sets);
	free(c->req);
	free(c);
}

static bool range_contains(const struct hl_range *r, const struct ipaddr *ip)
{
	return ipaddr_net_contains(&r->subnet, ip) && ipaddr_cmp(ip, &r->start) >= 0 &&
	       ipaddr_cmp(ip, &r->end) <= 0;
}

bool hl_rangeset_contains(const struct hl_rangeset *s, const struct ipaddr *ip)
{
	for (size_t i = 0; i < s->n; i++)
		if (range_contains(&s->r[i], ip))
			return true;
	return false;
}

static char *range_str(const struct hl_range *r)
{
	char a[IPADDR_STRLEN], b[IPADDR_STRLEN];
	return xasprintf("%s-%s", ipaddr_str(&r->start, a), ipaddr_str(&r->end, b));
}

char *hl_rangeset_str(const struct hl_rangeset *s)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < s->n; i++) {
		cleanup_free char *r = range_str(&s->r[i]);
		buf_printf(&b, "%s%s", i ? "," : "", r);
	}
	return buf_steal(&b);
}

static int parse_ip_field(const json_t *o, const char *key, struct ipaddr *out, bool *present,
			  struct mk_err **err)
{
	json_t *v = json_object_get(o, key);
	*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return mk_err_set(err, MK_EINVAL,
				  "json: cannot unmarshal %s into Go struct field Range.ipam.ranges.%s "
				  "of type string",
				  json_is_number(v) ? "number" : "value", key);
	if (ipaddr_parse(json_string_value(v), out) < 0)
		return mk_err_set(err, MK_EINVAL, "invalid IP address: %s", json_string_value(v));
	*present = true;
	return 0;
}

/* Reads one range object; canonicalisation happens later. */
static int parse_range(const json_t *o, struct hl_range *r, bool *has_start, bool *has_end,
		       bool *has_gw, struct mk_err **err)
{
	memset(r, 0, sizeof(*r));
	json_t *sub = json_object_get(o, "subnet");
	if (sub && !json_is_string(sub))
		return mk_err_set(err, MK_EINVAL,
				  "json: cannot unmarshal %s into Go struct field Range.ipam.ranges.subnet "
				  "of type string",
				  json_is_number(sub) ? "number" : "value");
	if (!sub || ipaddr_net_parse(json_string_value(sub), &r->subnet) < 0)
		return mk_err_set(err, MK_EINVAL, "invalid CIDR address: %s",
				  sub ? json_string_value(sub) : "");
	if (parse_ip_field(o, "rangeStart", &r->start, has_start, err) < 0 ||
	    parse_ip_field(o, "rangeEnd", &r->end, has_end, err) < 0 ||
	    parse_ip_field(o, "gateway", &r->gateway, has_gw, err) < 0)
		return -1;
	return 0;
}

static int range_canonicalize(struct hl_range *r, bool has_start, bool has_end, bool has_gw,
			      struct mk_err **err)
{
	int bits = ipaddr_len(&r->subnet.ip) * 8;
	struct ipaddr_net net = r->subnet;
	cleanup_free char *netstr = NULL;
	if (r->subnet.prefix > bits - 2) {
		netstr = ipaddr_net_str(&net);
		return mk_err_set(err, MK_EINVAL, "Network %s too small to allocate from", netstr);
	}
	struct ipaddr first = ipaddr_net_first(&r->subnet);
	if (!ipaddr_equal(&first, &r->subnet.ip)) {
		char b[IPADDR_STRLEN];
		return mk_err_set(err, MK_EINVAL,
				  "Network has host bits set. For a subnet mask of length %d the "
				  "network address is %s",
				  r->subnet.prefix, ipaddr_str(&first, b));
	}
	netstr = ipaddr_net_str(&r->subnet);
	if (!has_gw) {
		r->gateway = r->subnet.ip;
		ipaddr_next(&r->gateway);
	}
	if (has_start) {
		if (!ipaddr_net_contains(&r->subnet, &r->start)) {
			char b[IPADDR_STRLEN];
			return mk_err_set(err, MK_EINVAL, "RangeStart %s not in network %s",
					  ipaddr_str(&r->start, b), netstr);
		}
	} else {
		r->start = r->subnet.ip;
		ipaddr_next(&r->start);
	}
	if (has_end) {
		if (!ipaddr_net_contains(&r->subnet, &r->end) || ipaddr_cmp(&r->end, &r->start) < 0) {
			char b[IPADDR_STRLEN];
			return mk_err_set(err, MK_EINVAL, "RangeEnd %s not in network %s",
					  ipaddr_str(&r->end, b), netstr);
		}
	} else {
		r->end = ipaddr_net_last(&r->subnet);
		if (r->end.family == AF_INET)
			ipaddr_prev(&r->end);
	}
	return 0;
}

static bool range_overlaps(const struct hl_range *a, const struct hl_range *b)
{
	if (a->subnet.ip.family != b->subnet.ip.family)
		return false;
	return range_contains(a, &b->start) || range_contains(a, &b->end) ||
	       range_contains(b, &a->start) || range_contains(b, &a->end);
}

static bool set_overlaps(const struct hl_rangeset *a, const struct hl_rangeset *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (range_overlaps(&a->r[i], &b->r[j]))
				return true;
	return false;
}

struct raw_set {
	const json_t *arr;    /* array of range objects */
	const json_t *legacy; /* or the ipam object itself */
};

static int parse_sets(const json_t *arr, struct raw_set **raws, size_t *nraw, struct mk_err **err)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_array(v))
			return mk_err_set(err, MK_EINVAL,
					  "json: cannot unmarshal %s into Go struct field "
					  "IPAMConfig.ipam.ranges of type allocator.RangeSet",
					  json_is_object(v) ? "object" : "value");
		*raws = xrealloc(*raws, (*nraw + 1) * sizeof(**raws));
		(*raws)[(*nraw)++] = (struct raw_set){.arr = v};
	}
	return 0;
}

static int add_requested(struct hl_config *c, const char *s, struct mk_err **err)
{
	cleanup_free char *copy = xstrdup(s);
	char *slash = strchr(copy, '/');
	if (slash)
		*slash = 0;
	struct ipaddr ip;
	if (ipaddr_parse(copy, &ip) < 0)
		return mk_err_set(err, MK_EINVAL, "cannot understand ip: %s", s);
	c->req = xrealloc(c->req, (c->nreq + 1) * sizeof(*c->req));
	c->req[c->nreq++] = ip;
	return 0;
}

int hl_config_parse(const json_t *conf, const char *cni_args, bool allow_no_ranges,
		    struct hl_config **out, struct mk_err **err)
{
	*out = NULL;
	json_t *ipam = json_object_get(conf, "ipam");
	if (!json_is_object(ipam))
		return mk_err_set(err, MK_EINVAL, "IPAM config missing 'ipam' key");
	struct hl_config *c = xcalloc(1, sizeof(*c));
	const char *name = json_string_value(json_object_get(conf, "name"));
	c->name = xstrdup(name ? name : "");
	const char *dd = json_string_value(json_object_get(ipam, "dataDir"));
	c->data_dir = xstrdup(dd && *dd ? dd : "/var/lib/cni/networks");
	const char *rc = json_string_value(json_object_get(ipam, "resolvConf"));
	c->resolv_conf = rc && *rc ? xstrdup(rc) : NULL;
	json_t *routes = json_object_get(ipam, "routes");
	c->routes = json_is_array(routes) ? routes : NULL;

	/* requested IPs: CNI_ARGS IP, args.cni.ips, runtimeConfig.ips */
	if (cni_args && *cni_args) {
		cleanup_free char *a = xstrdup(cni_args);
		char *save = NULL;
		for (char *p = strtok_r(a, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
			if (strncmp(p, "IP=", 3) == 0) {
				char *save2 = NULL;
				for (char *q = strtok_r(p + 3, ",", &save2); q;
				     q = strtok_r(NULL, ",", &save2))
					if (add_requested(c, q, err) < 0)
						goto fail;
			}
		}
	}
	const json_t *lists[] = {json_object_get(json_object_get(json_object_get(conf, "args"), "cni"),
						 "ips"),
				 json_object_get(json_object_get(conf, "runtimeConfig"), "ips")};
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *v;
		json_array_foreach(lists[k], i, v) {
			if (json_is_string(v) && add_requested(c, json_string_value(v), err) < 0)
				goto fail;
		}
	}

	/* range sets: runtimeConfig.ipRanges, then the legacy range, then ranges */
	struct raw_set *raws = NULL;
	size_t nraw = 0;
	if (parse_sets(json_object_get(json_object_get(conf, "runtimeConfig"), "ipRanges"), &raws,
		       &nraw, err) < 0)
		goto fail_raw;
	if (json_is_string(json_object_get(ipam, "subnet"))) {
		raws = xrealloc(raws, (nraw + 1) * sizeof(*raws));
		raws[nraw++] = (struct raw_set){.legacy = ipam};
	}
	if (parse_sets(json_object_get(ipam, "ranges"), &raws, &nraw, err) < 0)
		goto fail_raw;
	if (nraw == 0) {
		free(raws);
		if (allow_no_ranges) {
			*out = c;
			return 0;
		}
		mk_err_set(err, MK_EINVAL, "no IP ranges specified");
		goto fail;
	}
	c->sets = xcalloc(nraw, sizeof(*c->sets));
	int nv4 = 0, nv6 = 0;
	for (size_t i = 0; i < nraw; i++) {
		struct hl_rangeset *set = &c->sets[i];
		c->nsets++;
		size_t n = raws[i].legacy ? 1 : json_array_size(raws[i].arr);
		set->r = xcalloc(n ? n : 1, sizeof(*set->r));
		if (n == 0) {
			mk_err_set(err, MK_EINVAL, "invalid range set %zu: empty range set", i);
			goto fail_raw;
		}
		for (size_t j = 0; j < n; j++) {
			const json_t *o = raws[i].legacy ? raws[i].legacy : json_array_get(raws[i].arr, j);
			bool hs, he, hg;
			if (parse_range(o, &set->r[j], &hs, &he, &hg, err) < 0)
				goto fail_raw;
			set->n++;
			if (range_canonicalize(&set->r[j], hs, he, hg, err) < 0) {
				mk_err_wrap(err, "invalid range set %zu", i);
				goto fail_raw;
			}
			if (set->r[j].subnet.ip.family != set->r[0].subnet.ip.family) {
				mk_err_set(err, MK_EINVAL, "invalid range set %zu: mixed address families",
					   i);
				goto fail_raw;
			}
		}
		for (size_t j = 0; j < set->n; j++)
			for (size_t k = j + 1; k < set->n; k++)
				if (range_overlaps(&set->r[j], &set->r[k])) {
					cleanup_free char *a = range_str(&set->r[j]);
					cleanup_free char *b = range_str(&set->r[k]);
					mk_err_set(err, MK_EINVAL,
						   "invalid range set %zu: subnets %s and %s overlap", i, a,
						   b);
					goto fail_raw;
				}
		if (set->r[0].subnet.ip.family == AF_INET)
			nv4++;
		else
			nv6++;
	}
	free(raws);
	raws = NULL;
	const char *ver = json_string_value(json_object_get(conf, "cniVersion"));
	if ((nv4 > 1 || nv6 > 1) && (!ver || !*ver || !strcmp(ver, "0.1.0") || !strcmp(ver, "0.2.0"))) {
		mk_err_set(err, MK_EINVAL, "CNI version %s does not support more than 1 address per family",
			   ver && *ver ? ver : "0.1.0");
		goto fail;
	}
	for (size_t i = 0; i + 1 < c->nsets; i++)
		for (size_t j = i + 1; j < c->nsets; j++)
			if (set_overlaps(&c->sets[i], &c->sets[j])) {
				mk_err_set(err, MK_EINVAL, "range set %zu overlaps with %zu", i, j);
				goto fail;
			}
	*out = c;
	return 0;
fail_raw:
	free(raws);
fail:
	hl_config_free(c);
	return -1;
}

/* ---- store ---- */

struct hl_store {
	char *dir;
	int lock_fd;
};

struct hl_store *hl_store_open(const char *data_dir, const char *name, struct mk_err **err)
{
	cleanup_free char *dir = xasprintf("%s/%s", data_dir, name);
	/* mkdir -p with 0755 like the reference */
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			*p = '/';
			mk_err_errno(err, MK_EIO, e, "mkdir %s", dir);
			return NULL;
		}
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		mk_err_errno(err, MK_EIO, errno, "mkdir %s", dir);
		return NULL;
	}
	cleanup_free char *lock = xasprintf("%s/lock", dir);
	int fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0750);
	if (fd < 0) {
		mk_err_errno(err, MK_EIO, errno, "open %s", lock);
		return NULL;
	}
	struct hl_store *st = xcalloc(1, sizeof(*st));
	st->dir = steal_pointer(&dir);
	st->lock_fd = fd;
	return st;
}

void hl_store_close(struct hl_store *st)
{
	if (!st)
		return;
	close(st->lock_fd);
	free(st->dir);
	free(st);
}

int hl_store_lock(struct hl_store *st, struct mk_err **err)
{
	while (flock(st->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return mk_err_errno(err, MK_EIO, errno, "flock");
	}
	return 0;
}

void hl_store_unlock(struct hl_store *st)
{
	(void)flock(st->lock_fd, LOCK_UN);
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Go's strings.TrimSpace for ASCII. */
static char *trim(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* 1 reserved, 0 taken, -1 error. */
static int store_reserve(struct hl_store *st, const char *id, const char *ifname,
			 const struct ipaddr *ip, int idx, struct mk_err **err)
{
	char b[IPADDR_STRLEN];
	ipaddr_str(ip, b);
	cleanup_free char *path = xasprintf("%s/%s", st->dir, b);
	int fd = open(path, O_RDWR | O_EXCL | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return mk_err_errno(err, MK_EIO, errno, "open %s", path);
	}
	cleanup_free char *idc = xstrdup(id);
	cleanup_free char *content = xasprintf("%s\r\n%s", trim(idc), ifname);
	if (write_all(fd, content, strlen(content)) < 0 || close(fd) < 0) {
		int e = errno;
		unlink(path);
		return mk_err_errno(err, MK_EIO, e, "write %s", path);
	}
	cleanup_free char *last = xasprintf("%s/" LAST_IP_PREFIX "%d", st->dir, idx);
	cleanup_close int lfd = open(last, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (lfd < 0 || write_all(lfd, b, strlen(b)) < 0)
		return mk_err_errno(err, MK_EIO, errno, "write %s", last);
	return 1;
}

static char *read_small(const char *path)
{
	return fs_read_file(path, 4096, NULL, NULL);
}

static int last_reserved(struct hl_store *st, int idx, struct ipaddr *out)
{
	cleanup_free char *path = xasprintf("%s/" LAST_IP_PREFIX "%d", st->dir, idx);
	cleanup_free char *s = read_small(path);
	if (!s)
		return -1;
	return ipaddr_parse(trim(s), out);
}

/* The reference's range iterator, step for step (including where it stops). */
struct iter {
	const struct hl_rangeset *set;
	size_t idx;
	struct ipaddr cur, start;
	bool has_cur, has_start;
};

static bool iter_next(struct iter *it, struct ipaddr *ip, const struct hl_range **range)
{
	for (;;) {
		const struct hl_range *r = &it->set->r[it->idx];
		if (!it->has_cur) {
			it->cur = r->start;
			it->start = it->cur;
			it->has_cur = it->has_start = true;
			if (ipaddr_equal(&it->cur, &r->gateway))
				continue;
			*ip = it->cur;
			*range = r;
			return true;
		}
		if (ipaddr_equal(&it->cur, &r->end)) {
			it->idx = (it->idx + 1) % it->set->n;
			r = &it->set->r[it->idx];
			it->cur = r->start;
		} else {
			ipaddr_next(&it->cur);
		}
		if (!it->has_start) {
			it->start = it->cur;
			it->has_start = true;
		} else if (ipaddr_equal(&it->cur, &it->start)) {
			return false;
		}
		if (ipaddr_equal(&it->cur, &r->gateway))
			continue;
		*ip = it->cur;
		*range = r;
		return true;
	}
}

static void iter_init(struct hl_store *st, const struct hl_rangeset *set, int idx, struct iter *it)
{
	memset(it, 0, sizeof(*it));
	it->set = set;
	struct ipaddr last;
	if (last_reserved(st, idx, &last) == 0 && hl_rangeset_contains(set, &last)) {
		for (size_t i = 0; i < set->n; i++) {
			if (range_contains(&set->r[i], &last)) {
				it->idx = i;
				it->cur = last;
				it->has_cur = true;
				break;
			}
		}
	}
}

/* Calls fn for each reservation file: name, trimmed content. */
typedef int (*entry_fn)(struct hl_store *st, const char *name, const char *content, void *arg);

static void for_each_entry(struct hl_store *st, entry_fn fn, void *arg)
{
	DIR *d = opendir(st->dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "lock") ||
		    !strncmp(de->d_name, LAST_IP_PREFIX, strlen(LAST_IP_PREFIX)))
			continue;
		cleanup_free char *path = xasprintf("%s/%s", st->dir, de->d_name);
		struct stat sb;
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		cleanup_free char *s = read_small(path);
		if (!s)
			continue;
		if (fn(st, de->d_name, trim(s), arg) != 0)
			break;
	}
	closedir(d);
}

struct match_arg {
	const char *match; /* "id\r\nifname" or "id" */
	const struct hl_rangeset *set;
	bool found;
	bool remove;
	struct ipaddr ip;
};

static int match_entry(struct hl_store *st, const char *name, const char *content, void *arg)
{
	struct match_arg *m = arg;
	if (strcmp(content, m->match) != 0)
		return 0;
	if (m->set) {
		struct ipaddr ip;
		if (ipaddr_parse(name, &ip) < 0 || !hl_rangeset_contains(m->set, &ip))
			return 0;
		m->ip = ip;
		m->found = true;
		return 1;
	}
	if (m->remove) {
		cleanup_free char *path = xasprintf("%s/%s", st->dir, name);
		if (unlink(path) < 0)
			return 0;
	}
	m->found = true;
	return 0;
}

int hl_alloc_get(struct hl_store *st, const struct hl_rangeset *set, int idx, const char *id,
		 const char *ifname, const struct ipaddr *requested, struct ipaddr_net *addr,
		 struct ipaddr *gw, struct mk_err **err)
{
	if (hl_store_lock(st, err) < 0)
		return -1;
	int rc = -1;
	char b[IPADDR_STRLEN];
	cleanup_free char *idc = NULL;
	cleanup_free char *match = NULL;
	cleanup_free char *setstr = NULL;
	if (requested) {
		const struct hl_range *r = NULL;
		for (size_t i = 0; i < set->n && !r; i++)
			if (range_contains(&set->r[i], requested))
				r = &set->r[i];
		if (!r) {
			cleanup_free char *s = hl_rangeset_str(set);
			mk_err_set(err, MK_EINVAL, "%s not in range set %s", ipaddr_str(requested, b), s);
			goto out;
		}
		if (ipaddr_equal(requested, &r->gateway)) {
			mk_err_set(err, MK_EINVAL, "requested ip %s is subnet's gateway",
				   ipaddr_str(requested, b));
			goto out;
		}
		int res = store_reserve(st, id, ifname, requested, idx, err);
		if (res < 0)
			goto out;
		if (res == 0) {
			cleanup_free char *s = hl_rangeset_str(set);
			mk_err_set(err, MK_EINVAL,
				   "requested IP address %s is not available in range set %s",
				   ipaddr_str(requested, b), s);
			goto out;
		}
		addr->ip = *requested;
		addr->prefix = r->subnet.prefix;
		*gw = r->gateway;
		rc = 0;
		goto out;
	}
	/* Duplicate allocation of (id, ifname) in this set is refused, as the spec asks. */
	idc = xstrdup(id);
	match = xasprintf("%s\r\n%s", trim(idc), ifname);
	struct match_arg m = {.match = match, .set = set};
	for_each_entry(st, match_entry, &m);
	if (m.found) {
		mk_err_set(err, MK_EEXISTS, "%s has been allocated to %s, duplicate allocation is not allowed",
			   ipaddr_str(&m.ip, b), id);
		goto out;
	}
	struct iter it;
	iter_init(st, set, idx, &it);
	struct ipaddr ip;
	const struct hl_range *r;
	while (iter_next(&it, &ip, &r)) {
		int res = store_reserve(st, id, ifname, &ip, idx, err);
		if (res < 0)
			goto out;
		if (res == 1) {
			addr->ip = ip;
			addr->prefix = r->subnet.prefix;
			*gw = r->gateway;
			rc = 0;
			goto out;
		}
	}
	setstr = hl_rangeset_str(set);
	mk_err_set(err, MK_EUNAVAILABLE, "no IP addresses available in range set: %s", setstr);
out:
	hl_store_unlock(st);
	return rc;
}

int hl_release(struct hl_store *st, const char *id, const char *ifname, struct mk_err **err)
{
	if (hl_store_lock(st, err) < 0)
		return -1;
	cleanup_free char *idc = xstrdup(id);
	char *tid = trim(idc);
	cleanup_free char *match = xasprintf("%s\r\n%s", tid, ifname);
	struct match_arg m = {.match = match, .remove = true};
	for_each_entry(st, match_entry, &m);
	if (!m.found) {
		m.match = tid;
		for_each_entry(st, match_entry, &m);
	}
	hl_store_unlock(st);
	return 0;
}

bool hl_find(struct hl_store *st, const char *id, const char *ifname)
{
	cleanup_free char *idc = xstrdup(id);
	char *tid = trim(idc);
	cleanup_free char *match = xasprintf("%s\r\n%s", tid, ifname);
	struct match_arg m = {.match = match};
	for_each_entry(st, match_entry, &m);
	if (!m.found) {
		m.match = tid;
		for_each_entry(st, match_entry, &m);
	}
	return m.found;
}

static int gc_entry(struct hl_store *st, const char *name, const char *content, void *arg)
{
	const json_t *valid = arg;
	size_t i;
	json_t *v;
	json_array_foreach(valid, i, v) {
		const char *id = json_string_value(json_object_get(v, "containerID"));
		const char *ifn = json_string_value(json_object_get(v, "ifname"));
		if (!id)
			continue;
		cleanup_free char *m = xasprintf("%s\r\n%s", id, ifn ? ifn : "");
		if (!strcmp(content, m) || !strcmp(content, id))
			return 0;
	}
	cleanup_free char *path = xasprintf("%s/%s", st->dir, name);
	(void)unlink(path);
	return 0;
}

int hl_gc(struct hl_store *st, const json_t *valid, struct mk_err **err)
{
	/* An entry that names no container cannot tell what is in use: nothing
	 * is freed rather than everything. */
	if (!json_is_array(valid))
		return mk_err_set(err, MK_EINVAL, "valid attachments: not a list");
	size_t i;
	json_t *v;
	json_array_foreach(valid, i, v) {
		json_t *ifn = json_object_get(v, "ifname");
		if (!json_is_string(json_object_get(v, "containerID")) ||
		    (ifn && !json_is_string(ifn)))
			return mk_err_set(err, MK_EINVAL,
					  "valid attachments: element %zu is not a {\"containerID\", "
					  "\"ifname\"} object",
					  i);
	}
	if (hl_store_lock(st, err) < 0)
		return -1;
	for_each_entry(st, gc_entry, (void *)valid);
	hl_store_unlock(st);
	return 0;
}

bool hl_rangeset_full(struct hl_store *st, const struct hl_rangeset *set)
{
	/* Large ranges are never reported full: walking them is not worth it. */
	struct iter it;
	memset(&it, 0, sizeof(it));
	it.set = set;
	struct ipaddr ip;
	const struct hl_range *r;
	for (int n = 0; n < 65536 && iter_next(&it, &ip, &r); n++) {
		char b[IPADDR_STRLEN];
		cleanup_free char *path = xasprintf("%s/%s", st->dir, ipaddr_str(&ip, b));
		if (access(path, F_OK) < 0)
			return false;
		if (n == 65535)
			return false;
	}
	return true;
}

/* ---- resolv.conf ---- */

json_t *hl_resolv_parse(const char *path, struct mk_err **err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f) {
		mk_err_set(err, MK_EIO, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	json_t *ns = json_array(), *search = json_array(), *opts = json_array();
	const char *domain = NULL;
	cleanup_free char *dom = NULL;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		char *save = NULL;
		char *key = strtok_r(l, " \t", &save);
		char *first = strtok_r(NULL, " \t", &save);
		if (!first)
			continue;
		if (!strcmp(key, "nameserver")) {
			json_array_append_new(ns, json_string(first));
		} else if (!strcmp(key, "domain")) {
			free(dom);
			dom = xstrdup(first);
			domain = dom;
		} else if (!strcmp(key, "search") || !strcmp(key, "options")) {
			json_t *a = key[0] == 's' ? search : opts;
			for (char *w = first; w; w = strtok_r(NULL, " \t", &save))
				json_array_append_new(a, json_string(w));
		}
	}
	free(line);
	json_t *dns = json_object();
	if (json_array_size(ns))
		json_object_set(dns, "nameservers", ns);
	if (domain)
		json_object_set_new(dns, "domain", json_string(domain));
	if (json_array_size(search))
		json_object_set(dns, "search", search);
	if (json_array_size(opts))
		json_object_set(dns, "options", opts);
	json_decref(ns);
	json_decref(search);
	json_decref(opts);
	return dns;
}
