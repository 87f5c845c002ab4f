# A suite's own network namespace holding TLS API servers (and their
# clients) with the credentials tools/mk-certs writes; the fixed ports
# (6443, 10257) are then the suite's own.
#
#   load lib/wait
#   load lib/secure
#   setup_file:    secure_setup NAME [mk-certs options]   # NET, TMP, K8S set
#                  secure_start PROC CMD...    # CMD in NET, $TMP/PROC.{log,pid}
#   teardown_file: secure_teardown
#   innet CMD...   runs CMD in NET; ka ARGS... is kubectl as the admin.

secure_setup() {
	local name=$1
	shift
	export NET=mk$name-$(printf '%04x%04x' $RANDOM $RANDOM)
	export TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-$name.XXXXXX")
	export K8S=$TMP/k8s
	export KUBECACHEDIR=$TMP/kcache
	ip netns add "$NET"
	ip netns exec "$NET" ip link set lo up
	"$MK_ROOT/tools/mk-certs" "$K8S" "$@" --encryption-algorithm ECDSA-P256 \
		>"$TMP/mk-certs.log" 2>&1
}

# secure_start PROC CMD...: CMD in the background inside NET. ip netns exec
# execs CMD, so the pid kept is CMD's own (a shell function in the
# background would leave a subshell's, and CMD would outlive the suite).
secure_start() {
	local proc=$1
	shift
	ip netns exec "$NET" "$@" >"$TMP/$proc.log" 2>&1 3>&- </dev/null &
	echo $! >"$TMP/$proc.pid"
}

# Ends what secure_start started (by the pids it kept), then NET and TMP.
secure_teardown() {
	local f p
	for f in "${TMP:-/nonexistent}"/*.pid; do
		[ -s "$f" ] || continue
		p=$(cat "$f")
		kill "$p" 2>/dev/null
		wait_until 10 _secure_gone "$p" || kill -KILL "$p" 2>/dev/null
	done
	[ -n "${NET:-}" ] && ip netns del "$NET" 2>/dev/null
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
	true
}

_secure_gone() {
	! kill -0 "$1" 2>/dev/null || false
}

wait_diagnose() {
	tail -n 20 "$TMP"/*.log 2>/dev/null
}

innet() {
	ip netns exec "$NET" "$@"
}

# kubectl as the cluster's admin (mk-certs' admin.conf)
ka() {
	innet kubectl --kubeconfig "$K8S/admin.conf" "$@" </dev/null
}
