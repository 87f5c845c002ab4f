#!/usr/bin/env bats
# lib/informer against the real kube-apiserver: a probe program watches pods
# with an informer and prints one line per handler call; kubectl creates,
# labels and deletes a pod and the lines must come in that order. Then the
# API server is killed and restarted on the same data directory and the
# informer must carry on by itself and see a later change.

# The helper comes with the API server; until both exist every test skips.
if [ -f "$BATS_TEST_DIRNAME/lib/apiserver.bash" ]; then
	load lib/apiserver
fi

# After a kill the old server's sockets linger in TIME_WAIT on its port; a
# listener with SO_REUSEADDR (kube-apiserver's) can still bind it, so test
# the port the same way, or the restart would move to another port.
_apiserver_port_free() {
	python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

setup_file() {
	[ -x "$MK_BIN/kube-apiserver" ] && declare -F apiserver_start >/dev/null || return 0
	# Built like the Makefile builds test programs, against the repo's libmk.a.
	make -C "$MK_ROOT" -s build/libmk.a >&2
	local pkgs="jansson yaml-0.1 libcurl"
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
		-Wno-format-nonliteral -D_GNU_SOURCE -I"$MK_ROOT/lib" -I"$MK_ROOT" \
		$(pkg-config --cflags $pkgs) -O2 -g \
		-o "$BATS_FILE_TMPDIR/informer-probe" "$MK_ROOT/tests/integration/informer-probe.c" \
		"$MK_ROOT/build/libmk.a" $(pkg-config --libs $pkgs) -lpthread -lm -lresolv
}

setup() {
	[ -x "$MK_BIN/kube-apiserver" ] || skip "bin/kube-apiserver is not built"
	declare -F apiserver_start >/dev/null || skip "tests/integration/lib/apiserver.bash is missing"
	PROBE="$BATS_FILE_TMPDIR/informer-probe"
	NS=default
	POD="probe-$(tr -dc a-z0-9 </dev/urandom | head -c 8)"
	apiserver_start
	OUT="$BATS_TEST_TMPDIR/probe.out"
	ERR="$BATS_TEST_TMPDIR/probe.err"
	PROBE_PID=
}

teardown() {
	declare -F apiserver_stop >/dev/null || return 0
	if [ -n "$PROBE_PID" ]; then
		kill "$PROBE_PID" 2>/dev/null || true
		wait "$PROBE_PID" 2>/dev/null || true
	fi
	apiserver_stop
}

line_seen() {
	grep -Eq -- "$1" "$2"
}

# the line is there, or the probe is gone (no use waiting)
line_or_exited() {
	line_seen "$1" "$OUT" || ! kill -0 "$PROBE_PID" 2>/dev/null
}

# Waits up to $2 seconds for a line matching the regex $1 in the probe output.
wait_line() {
	local re=$1 secs=${2:-10}
	wait_until "$secs" line_or_exited "$re" >/dev/null 2>&1 || true
	line_seen "$re" "$OUT" && return 0
	if ! kill -0 "$PROBE_PID" 2>/dev/null; then
		echo "probe exited; stderr:" >&2
	else
		echo "no line matching '$re' after ${secs}s; output:" >&2
		cat "$OUT" >&2
		echo "stderr:" >&2
	fi
	cat "$ERR" >&2
	return 1
}

# Waits up to $2 seconds for a line matching $1 on the probe's stderr.
wait_line_err() {
	local re=$1 secs=${2:-10}
	wait_until "$secs" line_seen "$re" "$ERR" >/dev/null 2>&1 && return 0
	echo "no error line matching '$re' after ${secs}s" >&2
	return 1
}

# Line number of the first line matching $1.
line_of() {
	grep -En -- "$1" "$OUT" | head -n1 | cut -d: -f1
}

# The probe finds the server through $KUBECONFIG, written by apiserver_start.
start_probe() {
	"$PROBE" "/api/v1/namespaces/$NS/pods" >"$OUT" 2>"$ERR" &
	PROBE_PID=$!
	wait_line '^SYNCED$' 10
}

@test "informer sees a pod created, labelled and deleted, in order" {
	start_probe
	kubectl run "$POD" --image=busybox --restart=Never --labels=app=probe
	wait_line "^ADDED $NS/$POD .*\"app\":\"probe\""
	kubectl label pod "$POD" tier=web
	wait_line "^MODIFIED $NS/$POD .*\"tier\":\"web\""
	kubectl delete pod "$POD" --wait=false
	wait_line "^DELETED $NS/$POD "

	local added modified deleted
	added=$(line_of "^ADDED $NS/$POD ")
	modified=$(line_of "^MODIFIED $NS/$POD .*\"tier\":\"web\"")
	deleted=$(line_of "^DELETED $NS/$POD ")
	[ "$added" -lt "$modified" ]
	[ "$modified" -lt "$deleted" ]
	# one ADDED, one DELETED, and nothing about the pod after the deletion
	[ "$(grep -c "^ADDED $NS/$POD " "$OUT")" -eq 1 ]
	[ "$(grep -c "^DELETED $NS/$POD " "$OUT")" -eq 1 ]
	[ "$(grep " $NS/$POD " "$OUT" | tail -n1 | cut -d' ' -f1)" = DELETED ]
}

@test "informer carries on after the API server restarts" {
	start_probe
	kubectl run "$POD" --image=busybox --restart=Never --labels=app=probe
	wait_line "^ADDED $NS/$POD "

	local port=$MK_API_PORT
	# (wait in apiserver_kill returns the 137 of the killed server)
	apiserver_kill KILL || true
	# the informer notices the server went away and retries
	wait_line_err 'error: ' 10
	apiserver_start
	[ "$MK_API_PORT" = "$port" ] || skip "port $port was taken while the server was down"
	kubectl label pod "$POD" phase=after-restart
	wait_line "^MODIFIED $NS/$POD .*\"phase\":\"after-restart\"" 30
	# it resumed from its resourceVersion: no second ADDED for the pod
	[ "$(grep -c "^ADDED $NS/$POD " "$OUT")" -eq 1 ]
	kubectl delete pod "$POD" --wait=false
	wait_line "^DELETED $NS/$POD " 10
}
