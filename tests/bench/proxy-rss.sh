#!/usr/bin/env bash
# kube-proxy daemon memory (needs root), target (d) of the proxy benchmark:
# the real bin/kube-proxy against our bin/kube-apiserver holding
# PROXY_RSS_SIZE (default 10,000) ClusterIP services of 5 endpoints each, in
# iptables and nftables mode. Each mode runs in a fresh network namespace
# (API server on a random port of its loopback, data loaded once and reused);
# after the first full sync and PROXY_RSS_SYNCS (default 2) periodic syncs
# more, and the idle time after which the daemon returns freed memory, VmRSS
# (steady state) and VmHWM (peak, during the syncs) of the daemon are read
# from /proc/<pid>/status. Targets: RSS <= 30 MB, peak <= 60 MB.
#
#   PROXY_RSS_MODES="iptables nftables"  modes to measure
#   PROXY_RSS_WAIT=900                   seconds allowed for the first full sync
#   PROXY_RSS_PERIOD=15                  --iptables-sync-period, seconds
set -eu
cd "${MK_ROOT:-$(dirname "$0")/../..}"
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 0; }
MK_BIN=${MK_BIN:-$PWD/bin}
# the Makefile's targets are relative paths: an absolute one would be taken
# as an up-to-date file and leave stale binaries in place
make -s -j2 all >/dev/null
N=${PROXY_RSS_SIZE:-10000}
MODES=${PROXY_RSS_MODES:-iptables nftables}
WAIT=${PROXY_RSS_WAIT:-900}
PERIOD=${PROXY_RSS_PERIOD:-15}
SYNCS=${PROXY_RSS_SYNCS:-2}
TARGET_MB=30
PEAK_TARGET_MB=60

work=$(mktemp -d)
mkdir -p "$work/data"
ns=
api_pid=
proxy_pid=
api_port=
loaded=0

stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# shellcheck disable=SC2317 # called by the EXIT trap and between modes
teardown_ns() {
	stop_pid "$proxy_pid"
	proxy_pid=
	stop_pid "$api_pid"
	api_pid=
	if [ -n "$ns" ]; then
		# the record of the sysctls kube-proxy changed goes with the
		# namespace (named by its cookie, see proxy/sysctls.h)
		local cookie
		cookie=$(ip netns exec "$ns" python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))' 2>/dev/null) &&
			rm -f "/run/kube-proxy/sysctl-netns-$cookie"
		ip netns del "$ns" 2>/dev/null || true
		ns=
	fi
}

# shellcheck disable=SC2317
cleanup() {
	teardown_ns
	rm -rf "$work"
}
trap cleanup EXIT

innode() { ip netns exec "$ns" "$@"; }

# A fresh namespace with the API server on a random port of its loopback.
setup_ns() {
	ns=mkrss-$(printf '%04x%04x' $RANDOM $RANDOM)
	ip netns add "$ns"
	innode ip link set lo up
	api_port=$((20000 + RANDOM % 20000))
	# `ip netns exec` execs the program: $! is the server itself
	ip netns exec "$ns" "$MK_BIN/kube-apiserver" --insecure-port="$api_port" --data-dir="$work/data" \
		--service-cluster-ip-range=10.96.0.0/16 >>"$work/apiserver.log" 2>&1 3>&- &
	api_pid=$!
	for _ in $(seq 1 300); do
		innode curl -fs "http://127.0.0.1:$api_port/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$api_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "kube-apiserver did not start:" >&2
	tail -20 "$work/apiserver.log" >&2
	return 1
}

load() {
	local t0=$SECONDS
	innode python3 tests/bench/proxy-rss-load.py "http://127.0.0.1:$api_port" "$N" 8
	echo "    loaded $N services + EndpointSlices in $((SECONDS - t0)) s"
}

# metric NAME: its value on the daemon's /metrics (0 if absent)
metric() {
	innode curl -fs "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null |
		awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$proxy_pid/status"; }

measure() {
	local mode=$1
	metrics_port=$((40000 + RANDOM % 20000))
	: >"$work/proxy.log"
	# not through innode: $! must be the daemon, not a subshell
	ip netns exec "$ns" "$MK_BIN/kube-proxy" --master "http://127.0.0.1:$api_port" --proxy-mode="$mode" \
		--cluster-cidr=10.244.0.0/16 --hostname-override=node-0 \
		--iptables-sync-period="${PERIOD}s" --healthz-bind-address= \
		--metrics-bind-address="127.0.0.1:$metrics_port" -v=2 >>"$work/proxy.log" 2>&1 3>&- &
	proxy_pid=$!
	local t0=$SECONDS full=0
	while [ "$(echo "$full < 1" | bc)" = 1 ]; do
		if ! kill -0 "$proxy_pid" 2>/dev/null; then
			echo "kube-proxy died; log tail:" >&2
			tail -20 "$work/proxy.log" >&2
			return 1
		fi
		if [ $((SECONDS - t0)) -gt "$WAIT" ]; then
			echo "(d) daemon $mode $N services: no full sync within $WAIT s (PROXY_RSS_WAIT)"
			return 0
		fi
		sleep 0.5
		full=$(metric kubeproxy_sync_full_proxy_rules_duration_seconds_count)
	done
	local first=$((SECONDS - t0))
	local hwm_first rss_first
	hwm_first=$(status_kb VmHWM)
	rss_first=$(status_kb VmRSS)
	# periodic syncs after the first one: the steady state
	local want syncs
	want=$(echo "$(metric kubeproxy_sync_proxy_rules_duration_seconds_count) + $SYNCS" | bc)
	t0=$SECONDS
	syncs=0
	while [ "$(echo "$syncs < $want" | bc)" = 1 ] && [ $((SECONDS - t0)) -le "$WAIT" ]; do
		sleep 0.5
		syncs=$(metric kubeproxy_sync_proxy_rules_duration_seconds_count)
	done
	# the daemon gives freed memory back after 2 s without a sync
	sleep 4
	local rss hwm anon file
	rss=$(status_kb VmRSS)
	hwm=$(status_kb VmHWM)
	anon=$(status_kb RssAnon)
	file=$(status_kb RssFile)
	local rules=""
	[ "$mode" = iptables ] && rules=", $(metric 'kubeproxy_sync_proxy_rules_iptables_total{table="nat"}') nat rules"
	printf '(d) daemon %s %d services: first full sync after %d s%s; RSS right after it %d MB\n' \
		"$mode" "$N" "$first" "$rules" $((rss_first / 1024))
	printf '    steady state after %s syncs: RSS %d MB (anon %d MB, file %d MB) %s (target <= %d MB)\n' \
		"$syncs" $((rss / 1024)) $((anon / 1024)) $((file / 1024)) \
		"$([ $((rss / 1024)) -le $TARGET_MB ] && echo PASS || echo MISS)" "$TARGET_MB"
	printf '    peak RSS (VmHWM) %d MB (%d MB at the first full sync) %s (target <= %d MB)\n' $((hwm / 1024)) \
		$((hwm_first / 1024)) "$([ $((hwm / 1024)) -le $PEAK_TARGET_MB ] && echo PASS || echo MISS)" \
		"$PEAK_TARGET_MB"
	stop_pid "$proxy_pid"
	proxy_pid=
}

for mode in $MODES; do
	setup_ns
	if [ $loaded = 0 ]; then
		load
		loaded=1
	fi
	measure "$mode"
	teardown_ns
done
