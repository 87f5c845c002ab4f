#!/usr/bin/env bash
# kube-apiserver benchmark: pod creates/s with 1 and 8 clients, create p50/p99,
# GET p99, LIST of 3,000 and 10,000 pods, watch delivery to 100 watchers, RSS
# with 10,000 pods, and the same creates as bare SQLite inserts (the floor).
# Targets (issue 2): create p99 <= 20 ms, GET p99 <= 5 ms, LIST 3,000 <= 300 ms,
# >= 500 events/s to each of 100 watchers, RSS <= 100 MB, API/floor <= 3.
set -eu
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_BIN=${MK_BIN:-$PWD/bin}
make -s all >/dev/null
# shellcheck source=../integration/lib/apiserver.bash
. tests/integration/lib/apiserver.bash
work=$(mktemp -d)
cleanup() {
	apiserver_stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
# Same flags as the project build.
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 -O2 -D_GNU_SOURCE \
	-o "$work/load" tests/bench/apiserver-load.c $(pkg-config --cflags --libs libcurl sqlite3) -lpthread

apiserver_start
url=$MK_API_URL
ns() {
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}" \
		"$url/api/v1/namespaces"
}
out=$work/results
for n in c1 c8 l3k l10k w; do ns "$n"; done

"$work/load" floor "$work" 1000 | tee -a "$out"
"$work/load" create "$url" c1 1000 1 | tee -a "$out"
"$work/load" create "$url" c8 2000 8 | tee -a "$out"
"$work/load" get "$url" c1 c1 1000 2000 | tee -a "$out"
"$work/load" create "$url" l3k 3000 8 >/dev/null
"$work/load" list "$url" l3k 5 3000 | tee -a "$out"
"$work/load" create "$url" l10k 10000 8 >/dev/null
"$work/load" list "$url" l10k 3 10000 | tee -a "$out"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$MK_API_PID/status")
echo "rss_with_16000_pods $((rss / 1024)) MB" | tee -a "$out"
"$work/load" watch "$url" w 100 300 | tee -a "$out"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$MK_API_PID/status")
echo "rss_after_watch $((rss / 1024)) MB" | tee -a "$out"

val() { awk -v k="$1" '$1 == k {print $2}' "$out"; }
check() { # name value op target
	if awk -v v="$2" -v t="$4" -v op="$3" 'BEGIN { exit !((op == "<=") ? v <= t : v >= t) }'; then
		printf '%-40s %10s  target %s %s  ok\n' "$1" "$2" "$3" "$4"
	else
		printf '%-40s %10s  target %s %s  MISSED\n' "$1" "$2" "$3" "$4"
	fi
}
echo "--- summary"
ratio_p50=$(awk -v a="$(val create_p50_1clients)" -v b="$(val floor_p50)" 'BEGIN { printf "%.2f", a / b }')
ratio_rate=$(awk -v a="$(val floor_inserts_per_s)" -v b="$(val creates_per_s_1clients)" 'BEGIN { printf "%.2f", a / b }')
check "create p99 ms (1 client)" "$(val create_p99_1clients)" "<=" 20
check "create p99 ms (8 clients)" "$(val create_p99_8clients)" "<=" 20
check "GET p99 ms" "$(val get_p99)" "<=" 5
check "LIST 3,000 pods ms (p50)" "$(val list_3000_p50)" "<=" 300
check "LIST 10,000 pods ms (p50)" "$(val list_10000_p50)" "<=" 1000
check "events/s to the slowest of 100 watchers" "$(val watch_events_per_s_slowest_watcher)" ">=" 500
check "RSS MB with 16,000 pods" "$(val rss_with_16000_pods)" "<=" 100
check "API/floor create p50 latency" "$ratio_p50" "<=" 3
echo "API/floor create rate (floor/API, 1 client): $ratio_rate"
echo "creates/s: 1 client $(val creates_per_s_1clients), 8 clients $(val creates_per_s_8clients)"
