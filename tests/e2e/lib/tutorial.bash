# Shared set-up of the tutorial suites: one "machine" per suite file, a
# network namespace with an uplink (the test's stand-in for the tutorial's
# VM), in which the tutorial's commands run as printed.
#
#   load lib/tutorial
#   setup_file()    { tut_setup_file nginx busybox curl; }   # images pulled from docker.io
#   teardown_file() { tut_teardown_file; }
#   setup()         { tut_setup; }
#   teardown()      { tut_teardown; }
#
# Each @test is one step of the tutorial and the steps share what earlier
# ones started (bats runs a file's tests in order). Everything a step starts
# is recorded in $T/pids and stopped in teardown_file, with every container,
# mount, namespace and cgroup the kubelet made (lib/kubelet's node_teardown).
#
# The machine reaches no registry: a local one (Debian's docker-registry) in
# the node on 127.0.0.1:5000 holds the images tools/mkimage builds, and the
# kubelet's registries.yaml mirrors docker.io, registry.k8s.io and k8s.gcr.io
# to it, so `image: nginx` pulls (policy Always for :latest) as it would
# from Docker Hub. Images with a fixed tag are also imported into the
# kubelet's store beforehand, as a node's preloaded images are.
#
# A suite whose steps cannot run here exports TUT_SKIP (the reason) from
# setup_file instead: tut_setup skips every step with it.
#
# Exported: T (the suite's directory; $T/home is the tutorial's working
# directory, where each step starts), NODE (the namespace's name, also the node's name), ROOT,
# LOGS, MANIFESTS, CGROOT (as lib/kubelet sets them), KUBECACHEDIR.

load ../integration/lib/kubelet
load ../integration/lib/wait

TUT_REGISTRY=127.0.0.1:5000

# tut_setup_file IMAGE...: the machine, its images (mkimage's short names)
# and its registry, which gets their docker.io :latest names.
tut_setup_file() {
	local t
	TUT_SKIP=
	[ "$(id -u)" = 0 ] || TUT_SKIP="needs root (network namespaces, mounts, runc)"
	for t in docker-registry skopeo kubectl iptables-legacy runc; do
		command -v "$t" >/dev/null 2>&1 || TUT_SKIP="$t is not installed (tools/install-deps.sh)"
	done
	for t in kubelet mink8s-monitor nodectl cni/bridge cni/host-local kube-apiserver; do
		[ -x "$MK_BIN/$t" ] || TUT_SKIP="$t is not built"
	done
	export TUT_SKIP
	[ -z "$TUT_SKIP" ] || return 0
	TUT_IMAGES=("$@")
	node_setup
	export T NODE ROOT LOGS MANIFESTS CGROOT
	export KUBECACHEDIR=$T/kube-cache
	# the tutorials' binaries are installed where the shell finds them
	export PATH=$MK_BIN:$PATH
	: >"$T/pids"
	mkdir "$T/home"
	# the machine's resolver: one that answers at once (no name is looked
	# up but the addresses `iptables -L` prints, which would otherwise wait
	# 6 s each for a DNS server behind the node's dead uplink). `ip netns
	# exec` mounts it over /etc/resolv.conf for what runs in the node.
	mkdir -p "/etc/netns/$NODE"
	echo "nameserver 127.0.0.1" >"/etc/netns/$NODE/resolv.conf"
	tut_registry_start "$@"
	cat >"$T/registries.yaml" <<-YAML
	mirrors:
	  docker.io:
	    endpoint: ["http://$TUT_REGISTRY"]
	  registry.k8s.io:
	    endpoint: ["http://$TUT_REGISTRY"]
	  k8s.gcr.io:
	    endpoint: ["http://$TUT_REGISTRY"]
	YAML
}

# node_setup's images: the suite's own, built (when their inputs changed)
# and imported in one go.
node_images() {
	local layout=$MK_ROOT/build/images
	"$MK_ROOT/tools/mkimage" --out "$layout" pause "${TUT_IMAGES[@]}" >/dev/null || return 1
	"$MK_BIN/nodectl" --root-dir "$ROOT" import "$layout" >/dev/null
}

tut_registry_start() { # IMAGE...
	cat >"$T/registry.yml" <<-YAML
	version: 0.1
	log: {level: error, accesslog: {disabled: true}}
	storage: {filesystem: {rootdirectory: $T/registry}}
	http: {addr: $TUT_REGISTRY}
	YAML
	# its log is registry.out: a mirror's log of misses is no failure's story
	ip netns exec "$NODE" docker-registry serve "$T/registry.yml" >"$T/registry.out" 2>&1 3>&- </dev/null &
	echo $! >>"$T/pids"
	wait_until 10 on_node curl -sf "http://$TUT_REGISTRY/v2/"
	local layout=$MK_ROOT/build/images ref img
	for img in "$@"; do
		# the :latest names mkimage gave the image (the ones pulled with
		# policy Always), as their repositories in the mirror
		for ref in $(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' \
			"$layout/index.json" | grep -E "^docker.io/(library/|curlimages/|bitnami/)?$img:latest$"); do
			on_node skopeo copy -q --dest-tls-verify=false "oci:$layout:$ref" \
				"docker://$TUT_REGISTRY/$(tut_repo "$ref")"
		done
	done
}

# The repository path of a reference inside the mirror (the registry's
# host name dropped, as a mirror is asked for it).
tut_repo() {
	local ref=$1
	case $ref in
	docker.io/* | registry.k8s.io/* | k8s.gcr.io/*) echo "${ref#*/}" ;;
	*) echo "$ref" ;;
	esac
}

tut_teardown_file() {
	[ -n "${T:-}" ] || return 0
	mapfile -t KUBELET_PIDS <"$T/pids"
	node_teardown
	[ -z "${NODE:-}" ] || rm -rf "/etc/netns/$NODE"
}

# A step stands on the ones before it: after a failed one the rest skip
# rather than wait out their time-outs.
tut_setup() {
	[ -z "${TUT_SKIP:-}" ] || skip "$TUT_SKIP"
	cd "$T/home" || return 1
	[ ! -e "$T/failed" ] || skip "an earlier step failed"
}

# On a failed step: the last lines each daemon wrote.
tut_teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] && return 0
	[ -n "${BATS_TEST_SKIPPED:-}" ] && return 0
	touch "$T/failed"
	local f
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (last 30 lines)" >&2
		tail -30 "$f" >&2
	done
}

# tut_bg NAME COMMAND...: runs COMMAND in the node, in the background, its
# output in $T/NAME.log; its PID is recorded for teardown and set in
# $TUT_PID. `ip netns exec` execs the program: $! is the daemon itself.
tut_bg() {
	local name=$1
	shift
	ip netns exec "$NODE" "$@" >>"$T/$name.log" 2>&1 3>&- </dev/null &
	TUT_PID=$!
	echo "$TUT_PID" >>"$T/pids"
	echo "$TUT_PID" >"$T/$name.pid"
}

# tut_kubelet FLAGS...: the tutorial's kubelet command line, plus what a
# test must add: its own root directory, CNI configuration, cgroup root,
# node name and registry mirrors. It joins only the node's network
# namespace (see lib/kubelet's kubelet_start).
tut_kubelet() {
	nsenter --net="/run/netns/$NODE" "$MK_BIN/kubelet" "$@" \
		--config "$T/config.yaml" --root-dir "$ROOT" \
		--cni-conf-dir "$T/net.d" --cni-bin-dir "$MK_BIN/cni" --cni-cache-dir "$T/cni-cache" \
		--cgroup-root "$CGROOT" --hostname-override "$NODE" \
		--registry-config "$T/registries.yaml" >>"$T/kubelet.log" 2>&1 3>&- </dev/null &
	echo $! >>"$T/pids"
	echo $! >"$T/kubelet.pid"
}

# tut_stop NAME: stops what tut_bg or tut_kubelet started as NAME and waits
# until it is gone (it may be a child of an earlier step: no `wait`).
tut_stop() {
	local pid
	pid=$(cat "$T/$1.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_until 10 eval "! kill -0 $pid 2>/dev/null"
	rm -f "$T/$1.pid"
}

# Commands as the tutorials type them, inside the node.
kubectl() {
	ip netns exec "$NODE" "$(type -P kubectl)" "$@"
}

curl() {
	ip netns exec "$NODE" "$(type -P curl)" "$@"
}

iptables() {
	ip netns exec "$NODE" iptables-legacy "$@"
}

# The tutorials' `./kubectl` and `./kubelet` (copied next to them from the
# release tarball): ours, in the node. `./kubelet` here runs in the
# foreground (--version, -h); the daemon is started with tut_kubelet.
./kubectl() {
	kubectl "$@"
}

./kubelet() {
	ip netns exec "$NODE" "$MK_BIN/kubelet" "$@"
}

# The tutorials' `docker ps -a` and `docker logs`: the node's crictl.
nodectl() {
	"$MK_BIN/nodectl" --root-dir "$ROOT" "$@"
}
