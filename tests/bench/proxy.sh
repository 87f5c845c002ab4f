#!/usr/bin/env bash
# kube-proxy benchmark (needs root): in fresh network namespaces, with 1,000 /
# 5,000 / 10,000 ClusterIP services of 5 endpoints each,
#  (a) first full sync, and its ratio to iptables-legacy-restore of the very
#      same ruleset (dumped with iptables-legacy-save, flushed, restored); for
#      nftables the ratio to `nft -f` of the same table (as `nft list` prints
#      it, loaded into an empty namespace: upstream's nftables way), the
#      kernel's cost of the services' anonymous maps alone, a full resync
#      after another writer's commit, and a restarted proxy's first sync over
#      the table it left;
#  (b) one EndpointSlice change -> rules written, at 10,000 services (back to
#      back, as under churn, and the first one after idle); for
#      iptables also upstream's way for the same change (the partial sync's
#      text through iptables-legacy-restore --noflush) and the kernel floor
#      (any one-rule change replaces the whole nat table);
#  (c) first-packet (TCP connect) latency to the last service, 100 vs 10,000;
#  (d) peak RSS of the process holding 10,000 services and syncing them, and
#      its RSS once the syncs are done.
# Targets: (a) ratio <= 1.0 and <= 2 s at 10,000; (b) <= 100 ms iptables,
# <= 20 ms nftables; (c) nftables flat (10,000 within 20 % of 100); (d) <= 30 MB.
set -eu
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 0; }
make -s -j2 all >/dev/null
B=build/bench/proxy-bench
mkdir -p build/bench
PKGS="jansson libmnl libnftnl libiptc"
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -D_GNU_SOURCE -Ilib -I. -o "$B" tests/bench/proxy-bench.c \
	$(ls build/proxy/*.o | grep -v '/main.o$') build/libmk.a \
	$(pkg-config --cflags --libs $PKGS) -lip4tc -lyaml -lcurl -lmicrohttpd -lgnutls -lpthread -lm -lresolv

val() { echo "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

for n in ${PROXY_BENCH_SIZES:-1000 5000 10000}; do
	out=$("$B" restore "$n")
	s=$(val "$out" full_sync_seconds)
	r=$(val "$out" restore_seconds)
	printf '(a) iptables %5d services: first full sync %.3f s, iptables-legacy-restore %.3f s, ratio %.2f (target <= 1.0)\n' \
		"$n" "$s" "$r" "$(echo "$s / $r" | bc -l)"
	out=$("$B" sync nftables "$n")
	s=$(val "$out" full_sync_seconds)
	r=$(val "$out" nft_restore_seconds)
	printf '(a) nftables %5d services: first full sync %.3f s, nft -f %.3f s, ratio %.2f (target <= 1.0)\n' \
		"$n" "$s" "$r" "$(echo "$s / $r" | bc -l)"
	printf '    periodic full resync of the untouched table %.3f s, after another writer'"'"'s commit %.3f s\n' \
		"$(val "$out" full_resync_seconds)" "$(val "$out" foreign_resync_seconds)"
	printf '    kernel floor: %d anonymous verdict maps alone (one per service in the layout) %.3f s; restart over the existing table %.3f s\n' \
		"$n" "$(val "$out" vmap_floor_seconds)" "$(val "$out" restart_sync_seconds)"
done
N=${PROXY_BENCH_BIG:-10000}
for mode in iptables nftables; do
	out=$("$B" change "$mode" "$N")
	printf '(b) %s %d services: one EndpointSlice change -> rules written %.1f ms (target %s)\n' \
		"$mode" "$N" "$(echo "$(val "$out" change_sync_seconds) * 1000" | bc -l)" \
		"$([ $mode = iptables ] && echo '<= 100 ms' || echo '<= 20 ms')"
	printf '    kernel (netlink/sockopt) %.1f ms, user space %.1f ms of it; %d page faults\n' \
		"$(echo "$(val "$out" change_sys_seconds) * 1000" | bc -l)" \
		"$(echo "$(val "$out" change_user_seconds) * 1000" | bc -l)" "$(val "$out" change_page_faults)"
	printf '    first change after idle (freed memory returned to the system) %.1f ms\n' \
		"$(echo "$(val "$out" change_after_idle_seconds) * 1000" | bc -l)"
	if [ "$mode" = iptables ]; then
		ours=$(val "$out" change_sync_seconds)
		anc=$(val "$out" anchor_restore_seconds)
		printf '    anchor (upstream): iptables-legacy-restore -w --noflush of the partial-sync text (%d lines) %.1f ms; ours/anchor %.2f\n' \
			"$(val "$out" anchor_restore_lines)" "$(echo "$anc * 1000" | bc -l)" "$(echo "$ours / $anc" | bc -l)"
		fl=$(val "$out" floor_libiptc_seconds)
		printf '    kernel floor: one-rule change of the same nat table via libiptc %.1f ms, via iptables-legacy -w %.1f ms%s\n' \
			"$(echo "$fl * 1000" | bc -l)" "$(echo "$(val "$out" floor_iptables_seconds) * 1000" | bc -l)" \
			"$([ "$(echo "$fl > 0.1" | bc -l)" = 1 ] && echo ' (the whole-table replace alone exceeds 100 ms)')"
	fi
	if [ "$mode" = nftables ]; then
		fl=$(val "$out" floor_seconds)
		up=$(val "$out" upstream_change_seconds)
		printf '    kernel floor: a one-rule batch adding a jump %.1f ms (the kernel re-validates every reachable chain on such a commit)\n' \
			"$(echo "$fl * 1000" | bc -l)"
		printf '    upstream way (nft -f of the same change) %.1f ms: ratio %.2f\n' \
			"$(echo "$up * 1000" | bc -l)" "$(echo "$(val "$out" change_sync_seconds) / $up" | bc -l)"
	fi
	printf '(d) %s %d services: peak RSS %d MB, after the syncs %d MB (objects alone %d MB) (target <= 30 MB)\n' \
		"$mode" "$N" $(($(val "$out" max_rss_kb) / 1024)) $(($(val "$out" rss_end_kb) / 1024)) \
		$(($(val "$out" rss_objects_kb) / 1024))
done
for mode in iptables nftables; do
	small=$(val "$("$B" latency "$mode" 100)" first_packet_seconds)
	big=$(val "$("$B" latency "$mode" "$N")" first_packet_seconds)
	printf '(c) %s first-packet latency: 100 services %.1f us, %d services %.1f us (x%.2f)\n' \
		"$mode" "$(echo "$small * 1000000" | bc -l)" "$N" "$(echo "$big * 1000000" | bc -l)" \
		"$(echo "$big / $small" | bc -l)"
done
