#!/usr/bin/env bash
# kube-apiserver on etcd (Debian's, one member on free loopback ports):
# etcd's own put floor through its gateway, pod create p50/p99 and its ratio
# to that floor (target <= 3), create throughput of two API servers on one
# etcd against one (target >= 1.6) with the ceilings it meets on this machine
# (etcd's own put throughput, CPU per create against the cores), all in one
# run (tests/bench/etcd-bench.py);
# then the API server benchmark (tests/bench/apiserver.sh: create and GET p99,
# LIST of 3,000 pods <= 300 ms, events/s to 100 watchers >= 500) with the
# server on etcd. tests/bench/apiserver.sh alone is the same on SQLite.
# ETCD_BENCH_QUICK=1 stops after the first part.
set -euo pipefail
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_BIN=${MK_BIN:-$PWD/bin}
make -s "$MK_BIN/kube-apiserver" >/dev/null
# shellcheck source=tests/integration/lib/etcd.bash
. tests/integration/lib/etcd.bash

pids=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	etcd_stop
	rm -rf "${work:-}"
}
trap cleanup EXIT
work=$(mktemp -d)
etcd_start 1

# two servers on one port, on 127.0.0.2 and 127.0.0.3
port=$(python3 -c 'import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.2", 0))
p = a.getsockname()[1]
b.bind(("127.0.0.3", p))
print(p)')
for i in 2 3; do
	"$MK_BIN/kube-apiserver" --insecure-bind-address=127.0.0.$i --insecure-port="$port" \
		--etcd-servers="$MK_ETCD_URL" --disable-admission-plugins=ServiceAccount \
		>"$work/api$i.log" 2>&1 &
	pids+=($!)
done
for i in 2 3; do
	wait_until 30 curl -sf -m 2 "http://127.0.0.$i:$port/healthz" >/dev/null ||
		{ echo "etcd bench: server 127.0.0.$i did not start" >&2; cat "$work/api$i.log" >&2; exit 1; }
done
python3 tests/bench/etcd-bench.py "$MK_ETCD_URL" "http://127.0.0.2:$port" "http://127.0.0.3:$port" \
	"$(cat "$MK_ETCD_TMP/m1.pid")" "${pids[@]}"
for p in "${pids[@]}"; do kill "$p"; done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
etcd_stop

[ "${ETCD_BENCH_QUICK:-}" = 1 ] && exit 0
echo "-- tests/bench/apiserver.sh with the server on etcd"
# (lib/apiserver.bash starts an etcd of its own when MK_ETCD_URL is unset)
unset MK_ETCD_URL MK_ETCD_TMP
MK_API_BACKEND=etcd bash tests/bench/apiserver.sh
