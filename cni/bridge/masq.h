/* Per-container masquerade chains, as the reference bridge plugin writes them
 * through the `iptables` command (here the nf_tables backend):
 *
 *   table ip nat (ip6 nat for IPv6), chain CNI-<24 hex of sha512(net + id)>
 *   -A POSTROUTING -s <ip>/32 -m comment --comment "name: \"<net>\" id: \"<id>\"" -j CNI-...
 *   -A CNI-... -d <subnet> -m comment --comment ... -j ACCEPT
 *   -A CNI-... ! -d 224.0.0.0/4 (ff00::/8) -m comment --comment ... -j MASQUERADE
 *
 * encoded exactly as iptables-nft encodes them (payload/cmp, xt comment match,
 * counter, xt MASQUERADE target), so iptables-nft-save prints the same lines
 * and either plugin can remove what the other added. One nf_tables batch per
 * change: all or nothing. */
#ifndef CNI_BRIDGE_MASQ_H
#define CNI_BRIDGE_MASQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipaddr.h"
#include "err.h"

/* "CNI-" + 24 hex digits, into out (29 bytes). */
void masq_chain_name(const char *network, const char *container_id, char out[29]);

/* Adds the chain and its rules for ip (with the container's prefix) in the
 * current network namespace. Rules already present are not duplicated. */
int masq_setup(const char *network, const char *container_id, const struct ipaddr_net *ip,
	       struct mk_err **err);

/* Removes every POSTROUTING jump to the container's chain and the chain, in
 * ip and ip6 nat; succeeds when none exists. */
int masq_teardown(const char *network, const char *container_id, struct mk_err **err);

/* 1 when the container's chain exists in the family's nat table, 0 if not. */
int masq_exists(const char *network, const char *container_id, int family, struct mk_err **err);

/* The same teardown for chains the legacy iptables backend holds (a plugin
 * that ran with iptables-legacy as `iptables`), in ip and ip6 nat; a netns
 * whose legacy nat table was never loaded is left alone. */
int masq_legacy_teardown(const char *network, const char *container_id, struct mk_err **err);

/* True when `iptables` in PATH is the legacy backend (iptables-legacy,
 * xtables-legacy-multi): ADD then writes there, as the reference would. */
bool masq_backend_is_legacy(void);
/* masq_setup through libiptc for the legacy backend. */
int masq_legacy_setup(const char *network, const char *container_id, const struct ipaddr_net *ip,
		      struct mk_err **err);
/* 1.1 GC: removes the masquerade chains (nftables) of network whose
 * container is not in valid (array of {"containerID", "ifname"}), found by
 * their rules' comment. */
int masq_gc(const char *network, const json_t *valid, struct mk_err **err);

/* 1 when the chain exists in the legacy nat table of the family, else 0. */
int masq_legacy_exists(const char *network, const char *container_id, int family);

/* macspoofchk, as the reference writes it (table bridge nat):
 *   PREROUTING (filter, prerouting, priority -300):
 *     iifname <host veth> jump cni-br-iface-<id>-<ifname>
 *   cni-br-iface-<id>-<ifname>: jump cni-br-iface-<id>-<ifname>-mac
 *   cni-br-iface-<id>-<ifname>-mac: ether saddr <mac> return; drop
 * every rule commented "macspoofchk-<id>-<ifname>". */
int spoofchk_setup(const char *container_id, const char *ifname, const char *host_veth,
		   const uint8_t mac[6], struct mk_err **err);
/* Removes the jump and both chains; succeeds when they are gone. */
int spoofchk_teardown(const char *container_id, const char *ifname, struct mk_err **err);

#endif
