# Throwaway etcd members (Debian's etcd) for bats suites, on free loopback
# ports with temporary data directories, stopped by PID.
#
#   load lib/etcd
#   etcd_start [N]       # a cluster of N members (default 1), healthy on return;
#                        # exports MK_ETCD_TMP and MK_ETCD_URL (every client URL,
#                        # comma-separated, as --etcd-servers takes them)
#   etcd_url I           # client URL of member I (1-based)
#   etcd_member_kill I [signal]   # stops member I (default KILL), data kept
#   etcd_member_start I  # starts member I again on its data and ports
#   etcd_stop            # stops every member and removes the data
#
# State lives in files under MK_ETCD_TMP (m<I>.pid, m<I>.url, m<I>.peer), so
# teardown_file finds members a test restarted.

# shellcheck source=tests/integration/lib/wait.bash
. "$(dirname "${BASH_SOURCE[0]}")/wait.bash"

_etcd_gone() {
	! kill -0 "$1" 2>/dev/null || false
}

# N distinct ports that were free a moment ago, one a line (one interpreter
# for all: starting one costs seconds on a busy machine).
_etcd_free_ports() {
	python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

etcd_url() {
	cat "$MK_ETCD_TMP/m$1.url"
}

# Runs member I with the cluster's settings; state "new" or "existing".
_etcd_run() {
	local i=$1 state=$2 cluster
	cluster=$(cat "$MK_ETCD_TMP/cluster")
	etcd --name "m$i" --data-dir "$MK_ETCD_TMP/m$i" \
		--listen-client-urls "$(cat "$MK_ETCD_TMP/m$i.url")" \
		--advertise-client-urls "$(cat "$MK_ETCD_TMP/m$i.url")" \
		--listen-peer-urls "$(cat "$MK_ETCD_TMP/m$i.peer")" \
		--initial-advertise-peer-urls "$(cat "$MK_ETCD_TMP/m$i.peer")" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "$(basename "$MK_ETCD_TMP")" \
		>>"$MK_ETCD_TMP/m$i.log" 2>&1 3>&- &
	echo $! >"$MK_ETCD_TMP/m$i.pid"
}

_etcd_healthy() {
	curl -sf --max-time 2 "$1/health" | grep -q '"health":"true"'
}

# Every running member reports health (a leader).
_etcd_all_healthy() {
	local i
	for i in $(seq "$(cat "$MK_ETCD_TMP/size")"); do
		[ -s "$MK_ETCD_TMP/m$i.pid" ] || continue
		_etcd_healthy "$(etcd_url "$i")" || return 1
	done
}

# Waits up to 30 s for every running member to report health.
_etcd_wait() {
	wait_until 30 _etcd_all_healthy >/dev/null 2>&1 && return 0
	local i
	for i in $(seq "$(cat "$MK_ETCD_TMP/size")"); do
		[ -s "$MK_ETCD_TMP/m$i.pid" ] || continue
		_etcd_healthy "$(etcd_url "$i")" && continue
		echo "etcd member $i did not become healthy; log:" >&2
		tail -20 "$MK_ETCD_TMP/m$i.log" >&2
	done
	return 1
}

etcd_start() {
	local n=${1:-1} i urls="" cluster=""
	MK_ETCD_TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-etcd.XXXXXX")
	export MK_ETCD_TMP
	echo "$n" >"$MK_ETCD_TMP/size"
	local ports
	mapfile -t ports < <(_etcd_free_ports $((2 * n)))
	for i in $(seq "$n"); do
		echo "http://127.0.0.1:${ports[2 * i - 2]}" >"$MK_ETCD_TMP/m$i.url"
		echo "http://127.0.0.1:${ports[2 * i - 1]}" >"$MK_ETCD_TMP/m$i.peer"
		urls+="${urls:+,}$(cat "$MK_ETCD_TMP/m$i.url")"
		cluster+="${cluster:+,}m$i=$(cat "$MK_ETCD_TMP/m$i.peer")"
	done
	echo "$cluster" >"$MK_ETCD_TMP/cluster"
	export MK_ETCD_URL=$urls
	for i in $(seq "$n"); do
		_etcd_run "$i" new
	done
	_etcd_wait
}

etcd_member_kill() {
	local i=$1 sig=${2:-KILL} pid
	pid=$(cat "$MK_ETCD_TMP/m$i.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null || true
	wait_until 5 _etcd_gone "$pid" >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null || true
	: >"$MK_ETCD_TMP/m$i.pid"
}

etcd_member_start() {
	_etcd_run "$1" existing
	_etcd_wait
}

etcd_stop() {
	[ -n "${MK_ETCD_TMP:-}" ] && [ -d "$MK_ETCD_TMP" ] || return 0
	local i
	for i in $(seq "$(cat "$MK_ETCD_TMP/size" 2>/dev/null || echo 0)"); do
		etcd_member_kill "$i" TERM
	done
	rm -rf "$MK_ETCD_TMP"
	MK_ETCD_TMP=
	return 0
}
