/* Bitmaps over the service CIDR and the node port range, behind one mutex;
 * with a store attached, each change is a compare-and-swap of the bitmap's
 * RangeAllocation object (see the header). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "xalloc.h"
#include "apiserver/allocator.h"
#include "apiserver/store.h"

/* Tries of one change against a store that keeps changing under it. */
#define CAS_TRIES 64

struct bitmap {
	uint8_t *bits;
	uint32_t size;   /* number of slots */
	const char *key; /* its RangeAllocation in the store */
	char range[64];  /* the RangeAllocation's range */
	int64_t rev;     /* mod_rev of the stored version bits reflect; 0: none read */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool ready;
static uint32_t net_base;  /* network address, host order */
static char cidr_text[64]; /* as given, for messages */
static char first_ip[16];
static struct bitmap ips; /* slot i = net_base + i; 0 and broadcast never used */
static int port_base, port_count;
static struct bitmap ports; /* slot i = port_base + i */
static struct store *backing; /* NULL: memory only */

static bool bit_get(const struct bitmap *b, uint32_t i)
{
	return b->bits[i / 8] & (1u << (i % 8));
}

static void bit_set(struct bitmap *b, uint32_t i, bool on)
{
	if (on)
		b->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		b->bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

/* A free slot in [lo, hi), scanning from a random start; UINT32_MAX if none. */
static uint32_t scan_free_from(const struct bitmap *b, uint32_t lo, uint32_t hi, uint32_t start)
{
	uint32_t n = hi - lo;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = lo + (start + k) % n;
		if (!bit_get(b, i))
			return i;
	}
	return UINT32_MAX;
}

static uint32_t scan_free(const struct bitmap *b, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return UINT32_MAX;
	return scan_free_from(b, lo, hi, random_u32() % (hi - lo));
}

/* A free slot in [lo, hi), the first after the highest one held (wrapping
 * round); UINT32_MAX if none. Service addresses are picked so rather than at
 * random as upstream does: every allocation rewrites the stored bitmap, whose
 * size is that of its highest slot, and random picks over a /12 make it
 * 128 KiB from the first Services on. This keeps it to the slots in use
 * while still not handing a freed address out again at once. */
static uint32_t scan_free_above_top(const struct bitmap *b, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return UINT32_MAX;
	uint32_t top = hi;
	for (uint32_t byte = (hi - 1) / 8 + 1; byte-- > lo / 8 && top == hi;) {
		if (!b->bits[byte])
			continue;
		for (uint32_t i = byte * 8 + 8; i-- > byte * 8;)
			if (i >= lo && i < hi && bit_get(b, i)) {
				top = i;
				break;
			}
	}
	uint32_t start = top == hi || top + 1 >= hi ? 0 : top + 1 - lo;
	return scan_free_from(b, lo, hi, start);
}

/* Upstream keeps a lower "static" band for explicit requests:
 * min(max(min_band, size/step), max_band) slots. */
static uint32_t static_band(uint32_t size, uint32_t min_band, uint32_t step, uint32_t max_band)
{
	uint32_t b = size / step;
	if (b < min_band)
		b = min_band;
	if (b > max_band)
		b = max_band;
	return b < size ? b : 0;
}

static int parse_cidr(const char *s, uint32_t *base, uint32_t *size, struct mk_err **err)
{
	const char *slash = strchr(s ? s : "", '/');
	if (!slash)
		return mk_err_set(err, MK_EINVAL, "invalid service CIDR %s", s ? s : "");
	cleanup_free char *addr = xstrndup(s, (size_t)(slash - s));
	struct in_addr in;
	char *end;
	errno = 0;
	long bits = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || *end || errno || bits < 8 || bits > 30)
		return mk_err_set(err, MK_EINVAL,
				  "invalid service CIDR %s (an IPv4 prefix of /8 to /30)", s);
	uint32_t mask = bits == 0 ? 0 : ~0u << (32 - bits);
	*base = ntohl(in.s_addr) & mask;
	*size = 1u << (32 - bits);
	return 0;
}

static int parse_ports(const char *s, int *base, int *count, struct mk_err **err)
{
	int a, b, n = 0;
	char sep;
	if (!s || sscanf(s, "%d%c%d%n", &a, &sep, &b, &n) != 3 || s[n] ||
	    (sep != '-' && sep != '+'))
		return mk_err_set(err, MK_EINVAL, "invalid node port range %s", s ? s : "");
	int last = sep == '-' ? b : a + b - 1;
	if (a < 1 || last > 65535 || last < a)
		return mk_err_set(err, MK_EINVAL, "invalid node port range %s", s);
	*base = a;
	*count = last - a + 1;
	return 0;
}

static void ip_string(uint32_t host_order, char *out, size_t len)
{
	struct in_addr in = {.s_addr = htonl(host_order)};
	inet_ntop(AF_INET, &in, out, (socklen_t)len);
}

static int init_locked(const char *cidr, const char *range, struct mk_err **err)
{
	uint32_t base = 0, size = 0;
	int pbase = 0, pcount = 0;
	if (parse_cidr(cidr, &base, &size, err) < 0 || parse_ports(range, &pbase, &pcount, err) < 0)
		return -1;
	free(ips.bits);
	free(ports.bits);
	net_base = base;
	ips = (struct bitmap){.bits = xcalloc(size / 8 + 1, 1),
			      .size = size,
			      .key = "/registry/ranges/serviceips"};
	port_base = pbase;
	port_count = pcount;
	ports = (struct bitmap){.bits = xcalloc((size_t)pcount / 8 + 1, 1),
				.size = (uint32_t)pcount,
				.key = "/registry/ranges/servicenodeports"};
	snprintf(cidr_text, sizeof(cidr_text), "%s", cidr);
	snprintf(ips.range, sizeof(ips.range), "%s", cidr);
	snprintf(ports.range, sizeof(ports.range), "%d-%d", pbase, pbase + pcount - 1);
	backing = NULL;
	ip_string(base + 1, first_ip, sizeof(first_ip));
	ready = true;
	return 0;
}

int allocator_init(const char *service_cidr, const char *node_port_range, struct mk_err **err)
{
	pthread_mutex_lock(&lock);
	int rc = init_locked(service_cidr, node_port_range, err);
	pthread_mutex_unlock(&lock);
	return rc;
}

static void ensure_ready(void)
{
	if (!ready)
		init_locked("10.96.0.0/12", "30000-32767", NULL);
}

const char *allocator_first_service_ip(void)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	pthread_mutex_unlock(&lock);
	return first_ip;
}

/* Slot of ip in the range, or UINT32_MAX (also for network/broadcast). */
static uint32_t ip_slot(const char *ip)
{
	struct in_addr in;
	if (!ip || inet_pton(AF_INET, ip, &in) != 1)
		return UINT32_MAX;
	uint32_t h = ntohl(in.s_addr);
	if (h <= net_base || h - net_base >= ips.size - 1)
		return UINT32_MAX;
	return h - net_base;
}

/* --- the bitmaps in the store ------------------------------------------------ */

/* The RangeAllocation of b as stored: data = the bitmap as the big-endian
 * bytes of an integer whose bit i is slot i, without leading zero bytes.
 * New string. */
static char *range_encode(const struct bitmap *b)
{
	size_t n = ((size_t)b->size + 7) / 8;
	uint8_t *be = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++)
		be[n - 1 - i] = b->bits[i];
	size_t skip = 0;
	while (skip < n && !be[skip])
		skip++;
	char *data = xmalloc(4 * ((n - skip + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)data, be + skip, (int)(n - skip));
	free(be);
	json_t *o = json_pack("{s:s, s:s, s:{}, s:s, s:s}", "kind", "RangeAllocation", "apiVersion",
			      "v1", "metadata", "range", b->range, "data", data);
	free(data);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* Replaces b's bits by a stored RangeAllocation's. -1 when it is not one of
 * b's range (or not readable): the bits are then left as they are. */
static int range_decode(struct bitmap *b, const char *value)
{
	cleanup_json json_t *o = json_loads(value, 0, NULL);
	const char *range = json_string_value(json_object_get(o, "range"));
	const char *data = json_string_value(json_object_get(o, "data"));
	if (!range || strcmp(range, b->range))
		return -1;
	size_t len = data ? strlen(data) : 0;
	if (len % 4)
		return -1;
	uint8_t *be = xmalloc(len / 4 * 3 + 1);
	int got = len ? EVP_DecodeBlock(be, (const unsigned char *)data, (int)len) : 0;
	if (got < 0) {
		free(be);
		return -1;
	}
	if (len >= 1 && data[len - 1] == '=')
		got--;
	if (len >= 2 && data[len - 2] == '=')
		got--;
	size_t n = ((size_t)b->size + 7) / 8;
	memset(b->bits, 0, n);
	for (size_t i = 0; i < (size_t)got && i < n; i++)
		b->bits[i] = be[(size_t)got - 1 - i];
	free(be);
	return 0;
}

/* Reads b from the store. 0 (b->rev stays 0 when there is none yet) or -1. */
static int range_load(struct bitmap *b, struct mk_err **err)
{
	struct store_kv kv = {0};
	struct mk_err *e = NULL;
	if (store_get(backing, b->key, &kv, &e) < 0) {
		if (mk_err_code(e) != MK_ENOTFOUND) {
			if (err && !*err)
				*err = e;
			else
				mk_err_free(e);
			return -1;
		}
		mk_err_free(e);
		b->rev = 0;
		return 0;
	}
	if (range_decode(b, kv.value) < 0)
		log_warn("allocator: %s holds another range; it is replaced", b->key);
	b->rev = kv.mod_rev;
	store_kv_free(&kv);
	return 0;
}

/* A change of a bitmap: returns >= 0 and sets *changed, or -1 with *err (a
 * refusal: nothing changed). */
typedef int (*change_fn)(struct bitmap *b, void *arg, bool *changed, struct mk_err **err);

/* Applies change to b: in memory only, or as a compare-and-swap of b's
 * RangeAllocation, run again on the stored bits until it applies. lock held. */
static int commit(struct bitmap *b, change_fn change, void *arg, struct mk_err **err)
{
	if (!backing) {
		bool changed = false;
		return change(b, arg, &changed, err);
	}
	size_t nbytes = ((size_t)b->size + 7) / 8;
	uint8_t *saved = xmalloc(nbytes ? nbytes : 1);
	int rc = -1;
	bool fresh = false; /* bits were read from the store during this call */
	for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
		if (!b->rev) {
			if (range_load(b, err) < 0)
				break;
			fresh = true;
		}
		memcpy(saved, b->bits, nbytes);
		bool changed = false;
		struct mk_err *refused = NULL;
		int got = change(b, arg, &changed, &refused);
		if ((got < 0 || !changed) && !fresh) {
			/* A refusal or a no-op decided on a cached copy another
			 * server may have changed since: decide again on the
			 * stored one. */
			mk_err_free(refused);
			b->rev = 0;
			continue;
		}
		if (got < 0 || !changed) {
			if (refused) {
				if (err && !*err)
					*err = refused;
				else
					mk_err_free(refused);
			}
			rc = got;
			break;
		}
		cleanup_free char *value = range_encode(b);
		struct store_kv cur = {0};
		struct mk_err *e = NULL;
		int64_t rev = b->rev ? store_update(backing, b->key, value, b->rev, &cur, &e)
				     : store_create(backing, b->key, value, &e);
		if (rev > 0) {
			b->rev = rev;
			rc = got;
			mk_err_free(e);
			break;
		}
		memcpy(b->bits, saved, nbytes);
		int code = mk_err_code(e);
		if (code == MK_ECONFLICT && cur.value) {
			/* Another server changed it: decide again on its bits. */
			mk_err_free(e);
			if (range_decode(b, cur.value) < 0)
				log_warn("allocator: %s holds another range; it is replaced", b->key);
			b->rev = cur.mod_rev;
			fresh = true;
			store_kv_free(&cur);
			continue;
		}
		store_kv_free(&cur);
		if (code == MK_EEXISTS || code == MK_ENOTFOUND || code == MK_ECONFLICT) {
			mk_err_free(e);
			b->rev = 0; /* created or deleted meanwhile: read it again */
			continue;
		}
		/* The store failed (the write may still have happened: the next
		 * change finds out through its compare). */
		if (err && !*err)
			*err = e;
		else
			mk_err_free(e);
		break;
	}
	free(saved);
	if (rc < 0 && err && !*err)
		mk_err_set(err, MK_ECONFLICT, "%s kept changing; try again", b->key);
	return rc;
}

int allocator_attach_store(struct store *st, struct mk_err **err)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	backing = st;
	int rc = 0;
	struct bitmap *maps[] = {&ips, &ports};
	for (size_t m = 0; m < 2 && rc == 0; m++) {
		struct bitmap *b = maps[m];
		size_t nbytes = ((size_t)b->size + 7) / 8;
		uint8_t *mine = xmalloc(nbytes ? nbytes : 1);
		memcpy(mine, b->bits, nbytes);
		rc = -1;
		for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
			if (range_load(b, err) < 0)
				break;
			bool changed = !b->rev;
			for (size_t i = 0; i < nbytes; i++) {
				if ((b->bits[i] | mine[i]) != b->bits[i])
					changed = true;
				b->bits[i] |= mine[i];
			}
			if (!changed) {
				rc = 0;
				break;
			}
			cleanup_free char *value = range_encode(b);
			struct mk_err *e = NULL;
			int64_t rev = b->rev ? store_update(backing, b->key, value, b->rev, NULL, &e)
					     : store_create(backing, b->key, value, &e);
			int code = mk_err_code(e);
			if (rev > 0) {
				b->rev = rev;
				rc = 0;
				mk_err_free(e);
				break;
			}
			if (code != MK_ECONFLICT && code != MK_EEXISTS && code != MK_ENOTFOUND) {
				if (err && !*err)
					*err = e;
				else
					mk_err_free(e);
				break;
			}
			mk_err_free(e);
		}
		free(mine);
		if (rc < 0)
			mk_err_wrap(err, "attaching %s", b->key);
	}
	if (rc < 0)
		backing = NULL;
	pthread_mutex_unlock(&lock);
	return rc;
}

/* --- allocation ---------------------------------------------------------------- */

struct ip_req {
	const char *requested;
	uint32_t slot; /* out */
};

static int ip_take(struct bitmap *b, void *arg, bool *changed, struct mk_err **err)
{
	struct ip_req *r = arg;
	uint32_t slot;
	if (r->requested) {
		slot = ip_slot(r->requested);
		if (slot == UINT32_MAX)
			return mk_err_set(err, MK_EINVALID,
					  "failed to allocate IP %s: the provided IP (%s) is not in "
					  "the valid range. The range of valid IPs is %s",
					  r->requested, r->requested, cidr_text);
		if (bit_get(b, slot))
			return mk_err_set(
				err, MK_EINVALID,
				"failed to allocate IP %s: provided IP is already allocated",
				r->requested);
	} else {
		/* Usable slots are 1 .. size-2; slot 1 waits for the kubernetes Service. */
		uint32_t band = static_band(b->size - 2, 16, 16, 256);
		slot = scan_free_above_top(b, 2 + band, b->size - 1);
		if (slot == UINT32_MAX)
			slot = scan_free(b, 2, b->size - 1);
		if (slot == UINT32_MAX)
			return mk_err_set(err, MK_EINTERNAL,
					  "failed to allocate a serviceIP: range is full");
	}
	bit_set(b, slot, true);
	r->slot = slot;
	*changed = true;
	return 0;
}

int allocator_ip_allocate(const char *requested, char *out, size_t len, struct mk_err **err)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	struct ip_req r = {.requested = requested};
	int rc = commit(&ips, ip_take, &r, err);
	if (rc == 0)
		ip_string(net_base + r.slot, out, len);
	pthread_mutex_unlock(&lock);
	return rc;
}

/* Clears slot *(uint32_t *)arg. */
static int slot_clear(struct bitmap *b, void *arg, bool *changed, struct mk_err **err)
{
	(void)err;
	uint32_t slot = *(uint32_t *)arg;
	if (bit_get(b, slot)) {
		bit_set(b, slot, false);
		*changed = true;
	}
	return 0;
}

void allocator_ip_release(const char *ip)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	uint32_t slot = ip_slot(ip);
	cleanup_err struct mk_err *err = NULL;
	if (slot != UINT32_MAX && commit(&ips, slot_clear, &slot, &err) < 0)
		log_warn("allocator: releasing %s: %s", ip, mk_err_msg(err));
	pthread_mutex_unlock(&lock);
}

bool allocator_ip_in_use(const char *ip)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	uint32_t slot = ip_slot(ip);
	bool used = slot != UINT32_MAX && bit_get(&ips, slot);
	pthread_mutex_unlock(&lock);
	return used;
}

struct port_req {
	int requested;
	uint32_t slot; /* out */
};

static int port_take(struct bitmap *b, void *arg, bool *changed, struct mk_err **err)
{
	struct port_req *r = arg;
	uint32_t slot;
	if (r->requested > 0) {
		if (r->requested < port_base || r->requested >= port_base + port_count)
			return mk_err_set(err, MK_EINVALID,
					  "provided port is not in the valid range. The range of "
					  "valid ports is %d-%d",
					  port_base, port_base + port_count - 1);
		slot = (uint32_t)(r->requested - port_base);
		if (bit_get(b, slot))
			return mk_err_set(err, MK_EINVALID, "provided port is already allocated");
	} else {
		uint32_t band = static_band(b->size, 16, 32, 128);
		slot = scan_free(b, band, b->size);
		if (slot == UINT32_MAX)
			slot = scan_free(b, 0, b->size);
		if (slot == UINT32_MAX)
			return mk_err_set(err, MK_EINTERNAL,
					  "failed to allocate a nodePort: range is full");
	}
	bit_set(b, slot, true);
	r->slot = slot;
	*changed = true;
	return 0;
}

int allocator_port_allocate(int requested, struct mk_err **err)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	struct port_req r = {.requested = requested};
	int rc = commit(&ports, port_take, &r, err);
	if (rc == 0)
		rc = port_base + (int)r.slot;
	pthread_mutex_unlock(&lock);
	return rc;
}

void allocator_port_release(int port)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	cleanup_err struct mk_err *err = NULL;
	if (port >= port_base && port < port_base + port_count) {
		uint32_t slot = (uint32_t)(port - port_base);
		if (commit(&ports, slot_clear, &slot, &err) < 0)
			log_warn("allocator: releasing port %d: %s", port, mk_err_msg(err));
	}
	pthread_mutex_unlock(&lock);
}

bool allocator_port_in_use(int port)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	bool used = port >= port_base && port < port_base + port_count &&
		    bit_get(&ports, (uint32_t)(port - port_base));
	pthread_mutex_unlock(&lock);
	return used;
}

/* Sets the slots *(struct slots *)arg; -1 (with every slot set anyway) if
 * one was held already. */
struct slots {
	uint32_t *v;
	size_t n;
	bool dup; /* out */
};

static int slots_set(struct bitmap *b, void *arg, bool *changed, struct mk_err **err)
{
	(void)err;
	struct slots *sl = arg;
	sl->dup = false;
	for (size_t i = 0; i < sl->n; i++) {
		if (bit_get(b, sl->v[i])) {
			sl->dup = true;
			continue;
		}
		bit_set(b, sl->v[i], true);
		*changed = true;
	}
	return 0;
}

int allocator_reserve_existing(const json_t *service)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	json_t *ips_json = json_path_get(service, "spec.clusterIPs");
	size_t n = json_array_size(ips_json);
	json_t *list = json_path_get(service, "spec.ports");
	cleanup_free uint32_t *ip_slots = xcalloc(n + 1, sizeof(*ip_slots));
	cleanup_free uint32_t *port_slots = xcalloc(json_array_size(list) + 1, sizeof(*port_slots));
	struct slots si = {.v = ip_slots}, sp = {.v = port_slots};
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *ip = n ? json_string_value(json_array_get(ips_json, i))
				   : json_path_str(service, "spec.clusterIP");
		uint32_t slot = ip_slot(ip);
		if (slot != UINT32_MAX)
			si.v[si.n++] = slot;
	}
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		json_t *np = json_object_get(p, "nodePort");
		if (!json_is_integer(np))
			continue;
		long long port = json_integer_value(np);
		if (port < port_base || port >= port_base + port_count)
			continue;
		/* The same port for TCP and UDP of one Service is one allocation. */
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= json_equal(json_object_get(json_array_get(list, j), "nodePort"), np);
		if (!dup)
			sp.v[sp.n++] = (uint32_t)(port - port_base);
	}
	/* The health check node port counts only where the Service needs one,
	 * as when it is released. */
	json_t *hc = json_path_get(service, "spec.healthCheckNodePort");
	const char *type = json_path_str(service, "spec.type");
	const char *etp = json_path_str(service, "spec.externalTrafficPolicy");
	if (json_is_integer(hc) && type && !strcmp(type, "LoadBalancer") && etp &&
	    !strcmp(etp, "Local")) {
		long long port = json_integer_value(hc);
		if (port >= port_base && port < port_base + port_count)
			sp.v[sp.n++] = (uint32_t)(port - port_base);
	}
	int rc = 0;
	cleanup_err struct mk_err *err = NULL;
	if (si.n && commit(&ips, slots_set, &si, &err) < 0)
		log_warn("allocator: %s", mk_err_msg(err));
	if (sp.n && commit(&ports, slots_set, &sp, &err) < 0)
		log_warn("allocator: %s", mk_err_msg(err));
	if (si.dup || sp.dup)
		rc = -1;
	pthread_mutex_unlock(&lock);
	return rc;
}
