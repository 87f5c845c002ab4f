#!/usr/bin/env bash
# kube-apiserver benchmark, one run: pod creates/s with 1 and 8 keep-alive
# clients and their p50/p99, GET p99, LIST of 3,000 and 10,000 pods, server RSS
# with 10,000 pods (and after listing them), event delivery to 100 concurrent
# watchers (events/s per watcher, delivery latency from a send timestamp in an
# annotation), and the same creates as bare SQLite inserts (the floor) with the
# ratio API/floor. Every row carries the server's CPU time per operation and,
# where issue 2 sets one, its target and PASS/MISS. Targets: create p99 <= 20 ms,
# GET p99 <= 5 ms, LIST 3,000 <= 300 ms, >= 500 events/s to each of 100
# watchers, RSS <= 100 MB, API/floor p50 <= 3 (LIST 10,000 <= 1 s is ours).
#
# The load driver tests/bench/apiserver-load.c is built here, with the
# Makefile's flags, into a temporary directory; it is not part of `make`.
# BENCH_PERF=DIR records the server's call graphs with perf during the run and
# writes one report per phase (create1, create8, get, fill, list3k, list10k,
# watch) into DIR: <phase>.self.txt (by function) and <phase>.callers.txt.
set -euo pipefail
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_BIN=${MK_BIN:-$PWD/bin}
make -s build/libmk.a "$MK_BIN/kube-apiserver" >/dev/null
# shellcheck source=tests/integration/lib/apiserver.bash
. tests/integration/lib/apiserver.bash

work=$(mktemp -d)
perf_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
	fi
	apiserver_stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck disable=SC2046
${CC:-gcc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
	-Wno-format-nonliteral -D_GNU_SOURCE -Ilib -I. $(pkg-config --cflags jansson sqlite3) \
	-o "$work/apiserver-load" tests/bench/apiserver-load.c build/libmk.a \
	$(pkg-config --libs jansson sqlite3) -lpthread -lresolv

mkdir "$work/floor"
# shellcheck disable=SC2119 # no arguments: default flags
apiserver_start

phases=
if [ -n "${BENCH_PERF:-}" ]; then
	mkdir -p "$BENCH_PERF"
	phases=$BENCH_PERF/phases
	perf record -q -k CLOCK_MONOTONIC --call-graph dwarf,16384 -F 199 \
		-o "$BENCH_PERF/perf.data" -p "$MK_API_PID" 2>"$BENCH_PERF/perf.log" &
	perf_pid=$!
	sleep 1
fi
start=$SECONDS
rc=0
APISERVER_LOAD_PHASES=$phases "$work/apiserver-load" "$MK_API_PORT" "$MK_API_PID" "$work/floor" ||
	rc=$?
if ! kill -0 "$MK_API_PID" 2>/dev/null; then
	echo "apiserver bench: kube-apiserver died; log tail:" >&2
	tail -20 "$MK_API_LOG" >&2
	rc=1
fi
echo "apiserver bench: $((SECONDS - start)) s"
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid" 2>/dev/null || true
	wait "$perf_pid" 2>/dev/null || true
	perf_pid=
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
exit $rc
