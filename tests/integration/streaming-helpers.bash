# Helpers of the streaming suites (kubelet-streaming.bats, apiserver-streaming.bats):
# a busybox pod "web" under kubelet/runtime, served by
# tests/integration/streaming-probe.c (the kubelet's streaming paths, plus a
# sliver of the API server's for kubectl to talk to it directly).
#
#   sp_setup_file               builds runtime-probe, streaming-probe, the rootfs
#                               (STREAMING_SAN=1: the probe under ASan+UBSan)
#   sp_setup / sp_teardown      per test; teardown fails on a sanitizer report
#   start_probe                 starts the probe; sets PORT, writes $T/k (kubectl
#                               at the probe, exec'd so $! is kubectl's pid)
#   make_pod [http]             sandbox + c1 (prints two lines, sleeps) [+ c2 httpd
#                               on 8080], then start_probe
#   port_forward REMOTE [args]  kubectl port-forward in the background via $T/k;
#                               sets LPORT and PF_OUT

load kubelet-runtime-helpers
load lib/wait

sp_setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v runc >/dev/null || return 0
	rt_build_probe
	rt_make_rootfs "$BATS_FILE_TMPDIR/rootfs"
	echo "hello from the pod" >"$BATS_FILE_TMPDIR/rootfs/index.html"
	head -c 3000000 /dev/urandom >"$BATS_FILE_TMPDIR/rootfs/big.bin"
	local pkgs="jansson yaml-0.1 libcurl libmicrohttpd gnutls libcrypto zlib" lib=build san=()
	if [ "${STREAMING_SAN:-}" = 1 ]; then
		lib=build/san
		san=(-fsanitize=address,undefined -fno-omit-frame-pointer)
		make -C "$MK_ROOT" -s BUILD=build/san BIN=build/san/bin SAN=1 build/san/libmk.a >&2
	else
		make -C "$MK_ROOT" -s build/libmk.a >&2
	fi
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
		-Wno-format-nonliteral -D_GNU_SOURCE -I"$MK_ROOT/lib" -I"$MK_ROOT" \
		$(pkg-config --cflags $pkgs) -O2 -g "${san[@]}" \
		-o "$BATS_FILE_TMPDIR/streaming-probe" "$MK_ROOT/tests/integration/streaming-probe.c" \
		"$MK_ROOT/kubelet/streaming.c" "$MK_ROOT/kubelet/logreader.c" \
		"$MK_ROOT/kubelet/runtime.c" "$MK_ROOT/kubelet/cgroups.c" \
		"$MK_ROOT/$lib/libmk.a" $(pkg-config --libs $pkgs) -lpthread -lm -lresolv
}

sp_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (runc, namespaces, cgroups)"
	command -v runc >/dev/null || skip "runc is not installed"
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	[ -x "$MK_BIN/mink8s-monitor" ] || skip "bin/mink8s-monitor is not built"
	rt_setup
	ip netns exec "$NS" ip link set lo up
	SP_PID=
	PF_PIDS=()
}

sp_teardown() {
	local pid
	for pid in "${PF_PIDS[@]}" $SP_PID; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PF_PIDS[@]}" $SP_PID; do
		wait "$pid" 2>/dev/null || true
	done
	rt_teardown
	# a sanitizer's report from the probe fails the test
	if [ -n "${SP_PID:-}" ] && grep -q 'Sanitizer' "$T/probe.err"; then
		cat "$T/probe.err" >&2
		return 1
	fi
}

# Starts the probe for the pod as it is now; sets PORT.
start_probe() {
	"$BATS_FILE_TMPDIR/streaming-probe" --pod "$T/pod.json" --netns "/var/run/netns/$NS" \
		--logs "$LOGS" --root "$ROOT" --state-dir "$STATE" \
		--monitor "$MK_BIN/mink8s-monitor" >"$T/probe.out" 2>"$T/probe.err" &
	SP_PID=$!
	wait_until 10 grep -q '^port ' "$T/probe.out"
	PORT=$(awk '/^port /{print $2}' "$T/probe.out")
	write_k
}

# kubectl at the probe (or, with K_SERVER set, at that server with
# $KUBECONFIG), as a script that execs it.
write_k() {
	local server=${K_SERVER:-http://127.0.0.1:$PORT}
	cat >"$T/k" <<-EOF
		#!/bin/sh
		exec kubectl --kubeconfig=${KUBECONFIG:-/dev/null} -s $server --cache-dir $T/kcache "\$@"
	EOF
	chmod +x "$T/k"
}

k() {
	"$T/k" "$@"
}

# A pod "web" with containers c1 (a shell that waits) and, with "http", c2
# serving / on port 8080.
make_pod() {
	rt_sandbox
	rt_container c1 '["sh","-c","echo started; echo to-stderr >&2; exec sleep 1000"]'
	rt_create_start c1
	if [ "${1:-}" = http ]; then
		rt_container c2 '["httpd","-f","-p","8080","-h","/"]'
		rt_create_start c2
	fi
	start_probe
}

# Starts `kubectl port-forward` to REMOTE in the background; sets LPORT.
port_forward() {
	local remote=$1 out=$T/pf.$RANDOM
	shift
	"$T/k" port-forward "$@" pod/web ":$remote" >"$out" 2>&1 &
	PF_PIDS+=($!)
	wait_until 15 grep -q '^Forwarding from 127.0.0.1:' "$out"
	LPORT=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$out" | head -1)
	PF_OUT=$out
}
