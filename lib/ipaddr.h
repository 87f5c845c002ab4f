/* IPv4 and IPv6 addresses and prefixes as big-endian byte arrays, for range
 * arithmetic (IPAM ranges, gateways, subnets). Values, no allocation except
 * where a function says "new string". */
#ifndef MK_IPADDR_H
#define MK_IPADDR_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

struct ipaddr {
	int family;    /* AF_INET or AF_INET6 */
	uint8_t b[16]; /* 4 or 16 bytes used */
};

struct ipaddr_net {
	struct ipaddr ip; /* as written (may have host bits) */
	int prefix;
};

#define IPADDR_STRLEN INET6_ADDRSTRLEN

int ipaddr_len(const struct ipaddr *ip);
/* Parses "10.0.0.1" or "fd00::1" (an IPv4-mapped IPv6 becomes IPv4). -1 if invalid. */
int ipaddr_parse(const char *s, struct ipaddr *out);
/* Parses "10.0.0.1/24". -1 if invalid. */
int ipaddr_net_parse(const char *s, struct ipaddr_net *out);
/* Canonical text into buf (IPADDR_STRLEN bytes); returns buf. */
char *ipaddr_str(const struct ipaddr *ip, char *buf);
/* "addr/prefix" as a new string. */
char *ipaddr_net_str(const struct ipaddr_net *n);
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* +1 / -1, wrapping. */
void ipaddr_next(struct ipaddr *ip);
void ipaddr_prev(struct ipaddr *ip);
/* The network address (host bits cleared) and the last address of n. */
struct ipaddr ipaddr_net_first(const struct ipaddr_net *n);
struct ipaddr ipaddr_net_last(const struct ipaddr_net *n);
bool ipaddr_net_contains(const struct ipaddr_net *n, const struct ipaddr *ip);
/* True when n's address has host bits set. */
bool ipaddr_net_has_host_bits(const struct ipaddr_net *n);
bool ipaddr_net_overlaps(const struct ipaddr_net *a, const struct ipaddr_net *b);

#endif
