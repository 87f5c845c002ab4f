# Helpers to run a real kubelet in bats suites, inside a "node": a network
# namespace of its own with an uplink, our CNI plugins (or the reference
# ones) and an image store filled from tools/mkimage's layout.
#
#   load lib/kubelet
#   setup()    { node_setup; }
#   teardown() { node_teardown; }
#
# node_setup exports NODE (the netns name, also the node's name), T (a
# temporary directory), ROOT ($T/root: the kubelet's --root-dir), LOGS
# ($T/logs: podLogsDir), MANIFESTS ($T/manifests), CGROOT (--cgroup-root)
# and writes a CNI configuration for 10.88.0.0/24 into $T/net.d.
# kubelet_start [flags...] starts $MK_BIN/kubelet inside the node with those
# and the node's own flags; kubelet_kill [signal] stops it (containers go on
# running, as upstream's do). node_teardown kills the kubelet, every
# container and monitor it left, and removes mounts, namespaces, cgroups and
# files.

: "${MK_BIN:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/bin}"
: "${MK_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"

# shellcheck source=tests/integration/lib/wait.bash
. "$(dirname "${BASH_SOURCE[0]}")/wait.bash"

on_node() {
	ip netns exec "$NODE" "$@"
}

# The images the tests run: built once per checkout by tools/mkimage, and
# imported once per suite into a store every test's kubelet shares (the
# store takes several users at once), since unpacking them is the slowest
# part of a node's set-up.
node_images() {
	local layout=$MK_ROOT/build/images shared=${BATS_FILE_TMPDIR:-$T}/image-root
	if [ ! -d "$shared/images" ]; then
		# built once per checkout, rebuilt only when their inputs changed
		"$MK_ROOT/tools/mkimage" --out "$layout" pause busybox nginx curl >/dev/null || return 1
		"$MK_BIN/nodectl" --root-dir "$shared" import "$layout" >/dev/null || return 1
	fi
	ln -s "$shared/images" "$ROOT/images"
}

node_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	for b in kubelet mink8s-monitor nodectl cni/bridge cni/host-local; do
		[ -x "$MK_BIN/$b" ] || skip "$b not built"
	done
	command -v runc >/dev/null || skip "runc missing"
	T=$(mktemp -d /tmp/mk-kubelet.XXXXXX)
	local sfx
	sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	NODE=mkn-$sfx
	ROOT=$T/root
	LOGS=$T/logs
	MANIFESTS=$T/manifests
	CGROOT=/mk-test-$sfx
	KUBELET_PIDS=()
	mkdir -p "$ROOT" "$LOGS" "$MANIFESTS" "$T/net.d"
	ip netns add "$NODE"
	ip -n "$NODE" link set lo up
	ip -n "$NODE" link add eth0 type veth peer name uplink
	ip -n "$NODE" addr add 192.168.231.2/24 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" link set uplink up
	ip -n "$NODE" route add default via 192.168.231.1
	cat >"$T/net.d/10-mink8s.conflist" <<-JSON
	{"cniVersion":"1.0.0","name":"mink8s","plugins":[
	 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"hairpinMode":true,
	  "capabilities":{"ipRanges":true},
	  "ipam":{"type":"host-local","dataDir":"$T/ipam","ranges":[[{"subnet":"10.88.0.0/24"}]],
	          "routes":[{"dst":"0.0.0.0/0"}]}}]}
	JSON
	cat >"$T/config.yaml" <<-YAML
	apiVersion: kubelet.config.k8s.io/v1beta1
	kind: KubeletConfiguration
	podLogsDir: $LOGS
	failSwapOn: false
	YAML
	node_images
}

# The kubelet joins only the node's network namespace: `ip netns exec` would
# also give it a mount namespace of its own with a fresh /sys (no cgroup
# mounts), and a restarted kubelet would not see its predecessor's mounts.
kubelet_start() {
	nsenter --net="/run/netns/$NODE" "$MK_BIN/kubelet" --config "$T/config.yaml" --root-dir "$ROOT" \
		--cni-conf-dir "$T/net.d" --cni-bin-dir "$MK_BIN/cni" --cni-cache-dir "$T/cni-cache" \
		--cgroup-root "$CGROOT" --hostname-override "$NODE" \
		"$@" >>"$T/kubelet.log" 2>&1 3>&- &
	KUBELET_PIDS+=($!)
	KUBELET_PID=$!
}

kubelet_kill() { # [signal]
	[ -n "${KUBELET_PID:-}" ] || return 0
	kill -"${1:-TERM}" "$KUBELET_PID" 2>/dev/null || true
	wait "$KUBELET_PID" 2>/dev/null || true
	KUBELET_PID=
}

# An API server in the node on 127.0.0.1:8080, its data under $T/api, and
# $T/kubeconfig pointing at it (made with kubectl config, as the tutorials do).
# No controller-manager makes ServiceAccounts here: the ServiceAccount
# admission plugin is off.
node_apiserver_start() { # [flags...]
	mkdir -p "$T/api"
	ip netns exec "$NODE" "$MK_BIN/kube-apiserver" --insecure-port=8080 --data-dir="$T/api" \
		--disable-admission-plugins=ServiceAccount "$@" \
		>>"$T/apiserver.log" 2>&1 3>&- &
	KUBELET_PIDS+=($!)
	wait_until 20 on_node curl -sf --max-time 2 http://127.0.0.1:8080/healthz
	kubectl --kubeconfig "$T/kubeconfig" config set-cluster local --server http://127.0.0.1:8080 >/dev/null
	kubectl --kubeconfig "$T/kubeconfig" config set-context local --cluster local >/dev/null
	kubectl --kubeconfig "$T/kubeconfig" config use-context local >/dev/null
	export KUBECACHEDIR=$T/kube-cache
}

# A control-plane daemon in the node, started the tutorials' way.
node_daemon_start() { # NAME COMMAND...
	local name=$1
	shift
	ip netns exec "$NODE" "$@" >>"$T/$name.log" 2>&1 3>&- &
	KUBELET_PIDS+=($!)
}

# kubectl against the node's API server.
k() {
	ip netns exec "$NODE" kubectl -s http://127.0.0.1:8080 "$@"
}

# runc with the kubelet's state root.
node_runc() {
	runc --root "$ROOT/run/runc" "$@"
}

# The id of the running (or last) instance of container NAME of a pod whose
# name starts with POD.
container_id() { # POD NAME
	"$MK_BIN/nodectl" --root-dir "$ROOT" ps -a -o json 2>/dev/null |
		jq -r --arg p "$1" --arg n "$2" \
			'[.[] | select((.podName|startswith($p)) and .name == $n)][0].id // empty'
}

node_teardown() {
	[ -n "${T:-}" ] || return 0
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		local f
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 40 lines)" >&2
			tail -40 "$f" >&2
		done
	fi
	local p id
	for p in "${KUBELET_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${KUBELET_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -d "$ROOT/run/runc" ]; then
		for id in $(runc --root "$ROOT/run/runc" list -q 2>/dev/null); do
			runc --root "$ROOT/run/runc" kill "$id" KILL 2>/dev/null || true
			runc --root "$ROOT/run/runc" delete -f "$id" 2>/dev/null || true
		done
	fi
	# monitors exit once their container is gone; their pid files say who
	for p in "$ROOT"/run/containers/*/monitor.pid; do
		[ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null || true
	done
	# mounts under T (root file systems, volumes, netns pins, shm), deepest first
	awk -v t="$T" '$5 == t || index($5, t "/") == 1 {print $5}' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	ip netns del "$NODE" 2>/dev/null || true
	# the pods' cgroups below the test's cgroup root, in every hierarchy
	local h
	for h in /sys/fs/cgroup/* /sys/fs/cgroup/unified; do
		[ -d "$h$CGROOT" ] || continue
		find "$h$CGROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
	rm -rf "$T"
}
