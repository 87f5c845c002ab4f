#!/usr/bin/env bash
# API server benchmark: pod creates/s with 1 and 8 keep-alive clients and
# their p50/p99, GET p99, LIST of 3,000 and 10,000 pods, server RSS with
# 10,000 pods, event delivery to 100 concurrent watchers, and the bare SQLite
# insert floor with the ratio API create / floor. Each row has its target and
# PASS/MISS. Targets: create p99 <= 20 ms, GET p99 <= 5 ms, LIST 3,000 <= 300 ms,
# >= 500 events/s to each of 100 watchers, RSS <= 100 MB, API/floor p50 <= 3.
# The load driver (tests/bench/apiserver-load.c) is built here into a
# temporary directory with the Makefile's flags; it is not part of `make`.
set -euo pipefail
root=${MK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MK_BIN:-$root/bin}
cd "$root"

make -s build/libmk.a "$bin/kube-apiserver" >/dev/null

work=$(mktemp -d)
pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck disable=SC2046
${CC:-gcc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
	-Wno-format-nonliteral -D_GNU_SOURCE -Ilib -I. $(pkg-config --cflags jansson sqlite3) \
	-o "$work/apiserver-load" tests/bench/apiserver-load.c build/libmk.a \
	$(pkg-config --libs jansson sqlite3) -lpthread

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

mkdir "$work/data" "$work/floor"
port=
for _ in 1 2 3 4 5; do
	port=$(free_port)
	"$bin/kube-apiserver" --insecure-port="$port" --data-dir="$work/data" >"$work/api.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
done
if [ -z "$pid" ]; then
	echo "apiserver bench: kube-apiserver did not start:" >&2
	cat "$work/api.log" >&2
	exit 1
fi

# BENCH_PERF=DIR records the server's call graphs with perf during the run and
# writes one report per phase (create1, create8, get, fill, list3k, list10k,
# watch) into DIR: <phase>.self.txt (by function) and <phase>.callers.txt.
perf_pid=
phases=
if [ -n "${BENCH_PERF:-}" ]; then
	mkdir -p "$BENCH_PERF"
	phases=$BENCH_PERF/phases
	perf record -q -k CLOCK_MONOTONIC --call-graph dwarf,16384 -F 199 \
		-o "$BENCH_PERF/perf.data" -p "$pid" 2>"$BENCH_PERF/perf.log" &
	perf_pid=$!
	sleep 1
fi
start=$SECONDS
rc=0
APISERVER_LOAD_PHASES=$phases "$work/apiserver-load" "$port" "$pid" "$work/floor" || rc=$?
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid" 2>/dev/null || true
	wait "$perf_pid" 2>/dev/null || true
	while read -r name from to; do
		perf report -i "$BENCH_PERF/perf.data" --time "$from,$to" --no-children \
			--sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep . | head -60 \
			>"$BENCH_PERF/$name.self.txt" || true
		perf report -i "$BENCH_PERF/perf.data" --time "$from,$to" --children \
			--sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep . | head -120 \
			>"$BENCH_PERF/$name.callers.txt" || true
	done <"$phases"
	echo "apiserver bench: perf reports in $BENCH_PERF"
fi
if ! kill -0 "$pid" 2>/dev/null; then
	echo "apiserver bench: kube-apiserver died; log tail:" >&2
	tail -20 "$work/api.log" >&2
	rc=1
fi
echo "apiserver bench: $((SECONDS - start)) s"
exit $rc
