#!/usr/bin/env bash
# CNI benchmark: N ADD+DEL cycles of our bridge + host-local and of the
# reference plugins (/usr/lib/cni) on the same netconf (isGateway, hairpinMode,
# ipMasq), interleaved, each container in a fresh netns created and removed
# outside the timed window. Everything runs inside a "host" netns made here, so
# the bridge and the NAT chains never touch the machine's own namespace.
# Prints p50/p99 of ADD and DEL for both and the ratios ours/reference.
# usage: tests/bench/cni.sh [N]   (default 100)
set -u
cd "${MK_ROOT:-$(dirname "$0")/../..}"
N=${1:-100}
REF=/usr/lib/cni
OUR=$PWD/bin/cni

if [ "$(id -u)" != 0 ]; then
	echo "cni bench: skipped (needs root for network namespaces)"
	exit 0
fi
if [ ! -x "$REF/bridge" ]; then
	echo "cni bench: skipped (reference plugins not in $REF)"
	exit 0
fi
[ -x "$OUR/bridge" ] || make -s all >/dev/null || exit 1

sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
host=cnibench-h-$sfx
tmp=$(mktemp -d /var/tmp/cnibench.XXXXXX)
cleanup() {
	for ns in $(ip netns list | awk '{print $1}' | grep -- "-$sfx\$"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$host" || exit 1

# The timed loop runs inside the host netns, so each plugin is a direct exec.
cat >"$tmp/inner.sh" <<'EOF'
set -u
N=$1 REF=$2 OUR=$3 tmp=$4 sfx=$5
conf() {
	cat <<J
{"cniVersion":"1.0.0","name":"bench$1","type":"bridge","bridge":"cnib$1",
 "isGateway":true,"ipMasq":true,"hairpinMode":true,
 "ipam":{"type":"host-local","dataDir":"$tmp/dd","ranges":[[{"subnet":"$2"}]],"routes":[{"dst":"0.0.0.0/0"}]}}
J
}
CONF_ref=$(conf ref 10.77.0.0/16)
CONF_our=$(conf our 10.78.0.0/16)
export CNI_IFNAME=eth0
for i in $(seq 0 "$N"); do
	for impl in ref our; do
		if [ $impl = ref ]; then D=$REF; C=$CONF_ref; else D=$OUR; C=$CONF_our; fi
		ns=cnib-$impl$i-$sfx
		ip netns add "$ns" || exit 1
		t0=$EPOCHREALTIME
		out=$(CNI_COMMAND=ADD CNI_CONTAINERID=bench$i CNI_NETNS=/var/run/netns/$ns CNI_PATH=$D "$D/bridge" <<<"$C") || { echo "$impl ADD failed: $out"; exit 1; }
		t1=$EPOCHREALTIME
		CNI_COMMAND=DEL CNI_CONTAINERID=bench$i CNI_NETNS=/var/run/netns/$ns CNI_PATH=$D "$D/bridge" <<<"$C" || { echo "$impl DEL failed"; exit 1; }
		t2=$EPOCHREALTIME
		ip netns del "$ns"
		# iteration 0 creates the bridge: a warm-up, not counted
		if [ "$i" -gt 0 ]; then
			echo "$impl add ${t0/./} ${t1/./}" >>"$tmp/times"
			echo "$impl del ${t1/./} ${t2/./}" >>"$tmp/times"
		fi
	done
done
EOF
ip netns exec "$host" bash "$tmp/inner.sh" "$N" "$REF" "$OUR" "$tmp" "$sfx" || exit 1

# leftovers would be a leak: no veth, no CNI- chain, no reservation
leak=$(ip -n "$host" link show | grep -c veth)
chains=$(ip netns exec "$host" iptables-nft-save -t nat | grep -c '^:CNI-')
ips=$(find "$tmp/dd" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)

awk -v n="$N" -v leak="$leak" -v chains="$chains" -v ips="$ips" '
function pct(arr, cnt, p,   idx) { idx = int(p * cnt + 0.999999); if (idx < 1) idx = 1; if (idx > cnt) idx = cnt; return arr[idx] }
function sortn(arr, cnt,   i, j, t) { for (i = 2; i <= cnt; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t } }
{ ms = ($4 - $3) / 1000.0; k = $1 "_" $2; c[k]++; v[k, c[k]] = ms }
END {
	for (k in c) { for (i = 1; i <= c[k]; i++) a[i] = v[k, i]; sortn(a, c[k]);
		p50[k] = pct(a, c[k], 0.50); p99[k] = pct(a, c[k], 0.99); delete a }
	printf "cni bench: %d ADD+DEL cycles each, isGateway+hairpinMode+ipMasq, fresh netns per cycle\n", n
	printf "%-10s %10s %10s %10s %10s\n", "", "ADD p50", "ADD p99", "DEL p50", "DEL p99"
	printf "%-10s %8.1fms %8.1fms %8.1fms %8.1fms\n", "reference", p50["ref_add"], p99["ref_add"], p50["ref_del"], p99["ref_del"]
	printf "%-10s %8.1fms %8.1fms %8.1fms %8.1fms\n", "ours", p50["our_add"], p99["our_add"], p50["our_del"], p99["our_del"]
	printf "%-10s %10.2f %10.2f %10.2f %10.2f\n", "ratio", p50["our_add"] / p50["ref_add"], p99["our_add"] / p99["ref_add"], p50["our_del"] / p50["ref_del"], p99["our_del"] / p99["ref_del"]
	printf "targets: ADD p50 ratio <= 0.20: %s; DEL p50 ratio <= 0.50: %s; p99 not worse: %s\n",
		(p50["our_add"] / p50["ref_add"] <= 0.2 ? "met" : "MISSED"),
		(p50["our_del"] / p50["ref_del"] <= 0.5 ? "met" : "MISSED"),
		(p99["our_add"] <= p99["ref_add"] && p99["our_del"] <= p99["ref_del"] ? "met" : "MISSED")
	printf "left behind after all DELs: %d veth, %d CNI- chains, %d reservations\n", leak, chains, ips
}' "$tmp/times"
