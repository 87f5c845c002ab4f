# Helpers to run a throwaway kube-apiserver in bats suites.
#
#   load lib/apiserver      (from a suite in tests/integration)
#   setup()    { apiserver_start; }      # or setup_file
#   teardown() { apiserver_stop; }
#
# apiserver_start [extra flags...] starts $MK_BIN/kube-apiserver on a random
# free loopback port with a temporary --data-dir and exports:
#   MK_API_PORT, MK_API_URL (http://127.0.0.1:<port>), MK_API_PID,
#   MK_API_TMP (temp dir: data/, log, kubeconfig), MK_API_LOG,
#   KUBECACHEDIR (fresh) and KUBECONFIG (a kubeconfig pointing at the server),
# then waits for /healthz. Called again after apiserver_kill it restarts the
# server on the same data and, if still free, the same port.
# apiserver_kill [signal] stops the process only (default KILL);
# apiserver_stop stops it and removes everything.
#
# With MK_API_BACKEND=etcd (tools/run-tests.sh sets it for the suites that
# run on both backends) the server stores in etcd instead: a member of its own
# (lib/etcd.bash, stopped with the server's files), or the cluster at
# MK_ETCD_URL when a suite started one.
#
# The server runs without the ServiceAccount admission plugin unless
# MK_API_ADMISSION says otherwise (its flags, "" for upstream's default
# chain), as upstream's integration tests run theirs: no controller-manager
# makes the namespaces' default ServiceAccounts here.
#
# watch_start FILE URL [CURL-ARGS...] streams a watch into FILE in the background and
# returns once the server has answered it (headers in FILE.head), so that
# every change made afterwards reaches it; watch_stop_all ends every watch
# started so (call it in teardown).

: "${MK_BIN:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/bin}"
# shellcheck source=tests/integration/lib/wait.bash
. "$(dirname "${BASH_SOURCE[0]}")/wait.bash"

_apiserver_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

_apiserver_port_free() {
	python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

apiserver_start() {
	if [ -z "${MK_API_TMP:-}" ] || [ ! -d "$MK_API_TMP" ]; then
		MK_API_TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-apiserver.XXXXXX")
		mkdir -p "$MK_API_TMP/data" "$MK_API_TMP/cache"
		MK_API_PORT=
	fi
	export MK_API_TMP
	export MK_API_LOG=$MK_API_TMP/log
	local store_flags=()
	if [ "${MK_API_BACKEND:-sqlite}" = etcd ]; then
		if [ -z "${MK_ETCD_URL:-}" ] && [ ! -s "$MK_API_TMP/etcd-url" ]; then
			# shellcheck source=tests/integration/lib/etcd.bash
			. "$(dirname "${BASH_SOURCE[0]}")/etcd.bash"
			BATS_TMPDIR=$MK_API_TMP etcd_start 1 || return 1
			echo "$MK_ETCD_TMP" >"$MK_API_TMP/etcd-tmp"
			echo "$MK_ETCD_URL" >"$MK_API_TMP/etcd-url"
			unset MK_ETCD_URL MK_ETCD_TMP
		fi
		local url=${MK_ETCD_URL:-$(cat "$MK_API_TMP/etcd-url")}
		store_flags=(--etcd-servers="$url")
	fi
	local attempt
	for attempt in 1 2 3 4 5; do
		if [ -z "${MK_API_PORT:-}" ] || ! _apiserver_port_free "$MK_API_PORT"; then
			MK_API_PORT=$(_apiserver_free_port)
		fi
		export MK_API_PORT
		export MK_API_URL=http://127.0.0.1:$MK_API_PORT
		# shellcheck disable=SC2086 # MK_API_ADMISSION is a list of flags
		"$MK_BIN/kube-apiserver" --insecure-port="$MK_API_PORT" \
			--data-dir="$MK_API_TMP/data" "${store_flags[@]}" \
			${MK_API_ADMISSION---disable-admission-plugins=ServiceAccount} "$@" \
			>>"$MK_API_LOG" 2>&1 3>&- &
		MK_API_PID=$!
		export MK_API_PID
		# every server started on this directory, so that apiserver_stop ends
		# also those restarted in a test whose PID teardown_file never saw
		echo "$MK_API_PID" >>"$MK_API_TMP/pids"
		wait_until 10 _apiserver_up_or_gone >/dev/null 2>&1 || true
		if curl -fs "$MK_API_URL/healthz" >/dev/null 2>&1; then
			break
		fi
		kill -KILL "$MK_API_PID" 2>/dev/null || true
		wait "$MK_API_PID" 2>/dev/null || true
		MK_API_PID=
		MK_API_PORT=
	done
	if [ -z "${MK_API_PID:-}" ]; then
		echo "kube-apiserver did not start; log:" >&2
		cat "$MK_API_LOG" >&2
		return 1
	fi
	export KUBECACHEDIR=$MK_API_TMP/cache
	export KUBECONFIG=$MK_API_TMP/kubeconfig
	cat >"$KUBECONFIG" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mk
  cluster:
    server: $MK_API_URL
users:
- name: mk
  user: {}
contexts:
- name: mk
  context:
    cluster: mk
    user: mk
    namespace: default
current-context: mk
KC
}

_apiserver_up_or_gone() {
	curl -fs "$MK_API_URL/healthz" >/dev/null 2>&1 || _gone "$MK_API_PID"
}

_gone() {
	! kill -0 "$1" 2>/dev/null || false
}

watch_start() {
	local out=$1 url=$2
	shift 2
	: >"$out.head"
	curl -s -N -D "$out.head" --max-time 120 "$@" "$url" >"$out" 2>/dev/null 3>&- &
	WATCH_PIDS+=($!)
	wait_until 10 grep -q '^HTTP/1.1 200' "$out.head"
}

watch_stop_all() {
	local p
	for p in ${WATCH_PIDS[@]:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	WATCH_PIDS=()
}

apiserver_kill() {
	local sig=${1:-KILL}
	if [ -n "${MK_API_PID:-}" ]; then
		kill "-$sig" "$MK_API_PID" 2>/dev/null || true
		wait "$MK_API_PID" 2>/dev/null || true
		MK_API_PID=
	fi
}

apiserver_stop() {
	apiserver_kill TERM
	if [ -n "${MK_API_TMP:-}" ] && [ -f "$MK_API_TMP/pids" ]; then
		local p
		while read -r p; do
			kill -TERM "$p" 2>/dev/null || true
		done <"$MK_API_TMP/pids"
		for p in $(cat "$MK_API_TMP/pids"); do
			wait_until 5 _gone "$p" >/dev/null 2>&1 || true
		done
	fi
	if [ -n "${MK_API_TMP:-}" ] && [ -s "$MK_API_TMP/etcd-tmp" ]; then
		# shellcheck source=tests/integration/lib/etcd.bash
		. "$(dirname "${BASH_SOURCE[0]}")/etcd.bash"
		MK_ETCD_TMP=$(cat "$MK_API_TMP/etcd-tmp") etcd_stop
	fi
	if [ -n "${MK_API_TMP:-}" ] && [ -d "$MK_API_TMP" ]; then
		rm -rf "$MK_API_TMP"
	fi
	MK_API_TMP=
	return 0
}
