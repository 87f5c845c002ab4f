/* IP addresses and prefixes as big-endian byte arrays, for range arithmetic. */
#ifndef CNI_IP_H
#define CNI_IP_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

struct cni_ip {
	int family;    /* AF_INET or AF_INET6 */
	uint8_t b[16]; /* 4 or 16 bytes used */
};

struct cni_net {
	struct cni_ip ip; /* as written (may have host bits) */
	int prefix;
};

#define CNI_IP_STRLEN INET6_ADDRSTRLEN

int cni_ip_len(const struct cni_ip *ip);
/* Parses "10.0.0.1" or "fd00::1" (an IPv4-mapped IPv6 becomes IPv4). -1 if invalid. */
int cni_ip_parse(const char *s, struct cni_ip *out);
/* Parses "10.0.0.1/24". -1 if invalid. */
int cni_net_parse(const char *s, struct cni_net *out);
/* Canonical text into buf (CNI_IP_STRLEN bytes); returns buf. */
char *cni_ip_str(const struct cni_ip *ip, char *buf);
/* "addr/prefix" as a new string. */
char *cni_net_str(const struct cni_net *n);
int cni_ip_cmp(const struct cni_ip *a, const struct cni_ip *b);
bool cni_ip_equal(const struct cni_ip *a, const struct cni_ip *b);
/* +1 / -1, wrapping. */
void cni_ip_next(struct cni_ip *ip);
void cni_ip_prev(struct cni_ip *ip);
/* The network address (host bits cleared) and the last address of n. */
struct cni_ip cni_net_first(const struct cni_net *n);
struct cni_ip cni_net_last(const struct cni_net *n);
bool cni_net_contains(const struct cni_net *n, const struct cni_ip *ip);
/* True when n's address has host bits set. */
bool cni_net_has_host_bits(const struct cni_net *n);
bool cni_net_overlaps(const struct cni_net *a, const struct cni_net *b);

#endif
