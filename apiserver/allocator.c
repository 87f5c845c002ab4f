/* Bitmaps over the service CIDR and the node port range, behind one mutex. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cleanup.h"
#include "json.h"
#include "xalloc.h"
#include "apiserver/allocator.h"

struct bitmap {
	uint8_t *bits;
	uint32_t size; /* number of slots */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool ready;
static uint32_t net_base;  /* network address, host order */
static char cidr_text[64]; /* as given, for messages */
static char first_ip[16];
static struct bitmap ips; /* slot i = net_base + i; 0 and broadcast never used */
static int port_base, port_count;
static struct bitmap ports; /* slot i = port_base + i */

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
static uint32_t scan_free(const struct bitmap *b, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return UINT32_MAX;
	uint32_t n = hi - lo;
	uint32_t start = random_u32() % n;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = lo + (start + k) % n;
		if (!bit_get(b, i))
			return i;
	}
	return UINT32_MAX;
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
	ips = (struct bitmap){.bits = xcalloc(size / 8 + 1, 1), .size = size};
	port_base = pbase;
	port_count = pcount;
	ports = (struct bitmap){.bits = xcalloc((size_t)pcount / 8 + 1, 1),
				.size = (uint32_t)pcount};
	snprintf(cidr_text, sizeof(cidr_text), "%s", cidr);
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

int allocator_ip_allocate(const char *requested, char *out, size_t len, struct mk_err **err)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	int rc = 0;
	uint32_t slot;
	if (requested) {
		slot = ip_slot(requested);
		if (slot == UINT32_MAX) {
			rc = mk_err_set(err, MK_EINVALID,
					"failed to allocate IP %s: the provided IP (%s) is not in "
					"the valid range. The range of valid IPs is %s",
					requested, requested, cidr_text);
			goto out;
		}
		if (bit_get(&ips, slot)) {
			rc = mk_err_set(
				err, MK_EINVALID,
				"failed to allocate IP %s: provided IP is already allocated",
				requested);
			goto out;
		}
	} else {
		/* Usable slots are 1 .. size-2; slot 1 waits for the kubernetes Service. */
		uint32_t band = static_band(ips.size - 2, 16, 16, 256);
		slot = scan_free(&ips, 2 + band, ips.size - 1);
		if (slot == UINT32_MAX)
			slot = scan_free(&ips, 2, ips.size - 1);
		if (slot == UINT32_MAX) {
			rc = mk_err_set(err, MK_EINTERNAL,
					"failed to allocate a serviceIP: range is full");
			goto out;
		}
	}
	bit_set(&ips, slot, true);
	ip_string(net_base + slot, out, len);
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

void allocator_ip_release(const char *ip)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	uint32_t slot = ip_slot(ip);
	if (slot != UINT32_MAX)
		bit_set(&ips, slot, false);
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

int allocator_port_allocate(int requested, struct mk_err **err)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	int rc;
	uint32_t slot;
	if (requested > 0) {
		if (requested < port_base || requested >= port_base + port_count) {
			rc = mk_err_set(err, MK_EINVALID,
					"provided port is not in the valid range. The range of "
					"valid ports is %d-%d",
					port_base, port_base + port_count - 1);
			goto out;
		}
		slot = (uint32_t)(requested - port_base);
		if (bit_get(&ports, slot)) {
			rc = mk_err_set(err, MK_EINVALID, "provided port is already allocated");
			goto out;
		}
	} else {
		uint32_t band = static_band(ports.size, 16, 32, 128);
		slot = scan_free(&ports, band, ports.size);
		if (slot == UINT32_MAX)
			slot = scan_free(&ports, 0, ports.size);
		if (slot == UINT32_MAX) {
			rc = mk_err_set(err, MK_EINTERNAL,
					"failed to allocate a nodePort: range is full");
			goto out;
		}
	}
	bit_set(&ports, slot, true);
	rc = port_base + (int)slot;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

void allocator_port_release(int port)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	if (port >= port_base && port < port_base + port_count)
		bit_set(&ports, (uint32_t)(port - port_base), false);
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

int allocator_reserve_existing(const json_t *service)
{
	pthread_mutex_lock(&lock);
	ensure_ready();
	int rc = 0;
	json_t *ips_json = json_path_get(service, "spec.clusterIPs");
	size_t n = json_array_size(ips_json);
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *ip = n ? json_string_value(json_array_get(ips_json, i))
				   : json_path_str(service, "spec.clusterIP");
		uint32_t slot = ip_slot(ip);
		if (slot == UINT32_MAX)
			continue;
		if (bit_get(&ips, slot))
			rc = -1;
		bit_set(&ips, slot, true);
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_path_get(service, "spec.ports"), i, p)
	{
		json_t *np = json_object_get(p, "nodePort");
		if (!json_is_integer(np))
			continue;
		long long port = json_integer_value(np);
		if (port < port_base || port >= port_base + port_count)
			continue;
		/* The same port for TCP and UDP of one Service is one allocation. */
		bool dup = false;
		json_t *list = json_path_get(service, "spec.ports");
		for (size_t j = 0; j < i; j++)
			dup |= json_equal(json_object_get(json_array_get(list, j), "nodePort"), np);
		if (dup)
			continue;
		uint32_t slot = (uint32_t)(port - port_base);
		if (bit_get(&ports, slot))
			rc = -1;
		bit_set(&ports, slot, true);
	}
	/* The health check node port counts only where the Service needs one,
	 * as when it is released. */
	json_t *hc = json_path_get(service, "spec.healthCheckNodePort");
	const char *type = json_path_str(service, "spec.type");
	const char *etp = json_path_str(service, "spec.externalTrafficPolicy");
	if (json_is_integer(hc) && type && !strcmp(type, "LoadBalancer") && etp &&
	    !strcmp(etp, "Local")) {
		long long port = json_integer_value(hc);
		if (port >= port_base && port < port_base + port_count) {
			uint32_t slot = (uint32_t)(port - port_base);
			if (bit_get(&ports, slot))
				rc = -1;
			bit_set(&ports, slot, true);
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}
