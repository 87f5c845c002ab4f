#!/usr/bin/env bash
# Cluster start-up, in one run, each against the same binaries started by
# hand from a plain script (the anchor: what mk-cluster adds or saves):
#   1. `make run` itself (make's up-to-date check, then tools/mk-cluster
#      --nodes 1 --detach): cold (empty data directory) and warm (its second
#      start) to node Ready (posted by this run's kubelet);
#   2. tools/mk-cluster --nodes 3 to every node Ready and a 6-replica
#      Deployment answering through its ClusterIP from every node.
# Targets: warm make run <= 3 s, 3 nodes <= 10 s. For scale: kind takes
# 60-90 s for 3 nodes, a k3s server 15-30 s.
# Needs root; builds the images once with tools/mkimage if missing.
set -euo pipefail
# shellcheck source=tests/integration/lib/wait.bash
. "$(dirname "$0")/../integration/lib/wait.bash"
root=${MK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MK_BIN:-$root/bin}
if [ "$(id -u)" != 0 ]; then
	echo "cluster bench: skipped (needs root for network namespaces)"
	exit 0
fi

work=$(mktemp -d /tmp/mk-bench-cluster.XXXXXX)
name=mkb$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
reg_port=$(free_port)
api=http://127.0.0.1:$port
mk_args=(--name "$name" --data-dir "$work/mk" --port "$port" --registry-port "$reg_port"
	--arg kube-controller-manager=--secure-port=0 --arg kube-scheduler=--secure-port=0)
mk() { "$root/tools/mk-cluster" "${mk_args[@]}" "$@"; }
make_run() { make -s -C "$root" BIN="$bin" run RUN_ARGS="${mk_args[*]} --detach --quiet"; }

hand_pids=()
hand_nodes=0
cleanup() {
	mk --down >/dev/null 2>&1 || true
	hand_down
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b ? "PASS" : "MISS") }'; }

# ---- the by-hand anchor: the same binaries and flags, typed out -------------

hsub=172.30.$((0x$(od -An -N1 -tx1 /dev/urandom | tr -d ' ') % 250))
hbr=mkh${name#mkb}
hand_node() { echo "$name-h$1"; }

hand_down() {
	local p i d id m
	for p in "${hand_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${hand_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	hand_pids=()
	for i in $(seq "$hand_nodes"); do
		d=$work/hand/n$i
		for id in $(runc --root "$d/root/run/runc" list -q 2>/dev/null); do
			runc --root "$d/root/run/runc" kill "$id" KILL 2>/dev/null || true
			runc --root "$d/root/run/runc" delete -f "$id" 2>/dev/null || true
		done
		for m in "$d"/root/run/containers/*/monitor.pid; do
			[ -f "$m" ] && kill -KILL "$(cat "$m")" 2>/dev/null || true
		done
		ip netns del "$(hand_node "$i")" 2>/dev/null || true
		find /sys/fs/cgroup/*/"$name-h$i" /sys/fs/cgroup/"$name-h$i" -depth -type d \
			-exec rmdir {} \; 2>/dev/null || true
	done
	awk -v t="$work/hand" 'index($5, t "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	ip link del "$hbr" 2>/dev/null || true
	rm -rf "$work/hand"
	hand_nodes=0
}

# hand_up N: bridge, namespaces, control plane, N kubelets and kube-proxies,
# podCIDRs chosen here; returns once every node is Ready.
hand_up() {
	local n=$1 i d h=$work/hand
	hand_nodes=$n
	mkdir -p "$h/images"
	ip link add "$hbr" type bridge
	ip addr add "$hsub.1/24" dev "$hbr"
	ip link set "$hbr" up
	"$bin/kube-apiserver" --insecure-bind-address="127.0.0.1,$hsub.1" --insecure-port="$port" \
		--advertise-address="$hsub.1" --data-dir="$h/api" >"$h/api.log" 2>&1 &
	hand_pids+=($!)
	cat >"$h/registry.yml" <<-EOF
	version: 0.1
	storage: {filesystem: {rootdirectory: $work/mk/registry}}
	http: {addr: "$hsub.1:$reg_port"}
	EOF
	docker-registry serve "$h/registry.yml" >"$h/registry.log" 2>&1 &
	hand_pids+=($!)
	printf 'mirrors:\n  docker.io: {endpoint: ["http://%s:%s"]}\n  registry.k8s.io: {endpoint: ["http://%s:%s"]}\n' \
		"$hsub.1" "$reg_port" "$hsub.1" "$reg_port" >"$h/registries.yaml"
	printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "http://%s:%s"}\ncontexts:\n- name: c\n  context: {cluster: c}\ncurrent-context: c\n' \
		"$hsub.1" "$port" >"$h/kubeconfig"
	for i in $(seq "$n"); do
		ip netns add "$(hand_node "$i")"
		ip -n "$(hand_node "$i")" link set lo up
		ip link add "${hbr}n$i" type veth peer name eth0 netns "$(hand_node "$i")"
		ip link set "${hbr}n$i" master "$hbr" up
		ip -n "$(hand_node "$i")" addr add "$hsub.$((10 + i))/24" dev eth0
		ip -n "$(hand_node "$i")" link set eth0 up
		ip -n "$(hand_node "$i")" route add default via "$hsub.1"
		ip netns exec "$(hand_node "$i")" sysctl -qw net.ipv4.ip_forward=1
	done
	wait_until 60 curl -sf -m 2 "$api/healthz"
	"$bin/kube-controller-manager" --master="$api" --leader-elect=false --secure-port=0 \
		>"$h/cm.log" 2>&1 &
	hand_pids+=($!)
	"$bin/kube-scheduler" --master="$api" --leader-elect=false --secure-port=0 >"$h/sched.log" 2>&1 &
	hand_pids+=($!)
	for i in $(seq "$n"); do
		d=$h/n$i
		mkdir -p "$d/root" "$d/net.d"
		ln -s "$h/images" "$d/root/images"
		printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s"},"spec":{"podCIDR":"10.244.%d.0/24","podCIDRs":["10.244.%d.0/24"]}}' \
			"$(hand_node "$i")" "$i" "$i" |
			curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- "$api/api/v1/nodes" >/dev/null
		printf '{"cniVersion":"1.0.0","name":"hand","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"hairpinMode":true,"ipam":{"type":"host-local","dataDir":"%s/ipam","ranges":[[{"subnet":"10.244.%d.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}]}' \
			"$d" "$i" >"$d/net.d/10-hand.conflist"
		printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\npodLogsDir: %s/logs\nfailSwapOn: false\n' \
			"$d" >"$d/config.yaml"
		nsenter --net="/run/netns/$(hand_node "$i")" "$bin/kubelet" --config "$d/config.yaml" \
			--kubeconfig "$h/kubeconfig" --root-dir "$d/root" --cni-conf-dir "$d/net.d" \
			--cni-bin-dir "$bin/cni" --cni-cache-dir "$d/cni-cache" --cgroup-root "/$name-h$i" \
			--hostname-override "$(hand_node "$i")" --node-ip "$hsub.$((10 + i))" \
			--registry-config "$h/registries.yaml" >"$d/kubelet.log" 2>&1 &
		hand_pids+=($!)
		nsenter --net="/run/netns/$(hand_node "$i")" "$bin/kube-proxy" --kubeconfig "$h/kubeconfig" \
			--hostname-override "$(hand_node "$i")" --cluster-cidr 10.244.0.0/16 \
			>"$d/proxy.log" 2>&1 &
		hand_pids+=($!)
	done
	wait_eq 300 "$n" ready_count
}

ready_count() {
	curl -sf -m 2 "$api/api/v1/nodes" | jq '[.items[] | select(any(.status.conditions[]?;
		.type == "Ready" and .status == "True"))] | length'
}

web_endpoints() {
	curl -sf -m 2 "$api/api/v1/namespaces/default/endpoints/web" |
		jq '[.subsets[]?.addresses[]?] | length'
}

# a 6-replica Deployment and its ClusterIP Service; returns once every node
# (netns prefix $1, $2 nodes) gets an answer through the ClusterIP and the
# Service has 6 endpoints
web_through_clusterip() { # NODE-PREFIX N
	local i cip
	printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":6,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}' |
		curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- \
			"$api/apis/apps/v1/namespaces/default/deployments" >/dev/null
	cip=$(printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}' |
		curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- \
			"$api/api/v1/namespaces/default/services" | jq -r .spec.clusterIP)
	wait_eq 300 6 web_endpoints
	for i in $(seq "$2"); do
		wait_until 120 ip netns exec "$1$i" curl -sf -m 1 -o /dev/null "http://$cip/"
	done
}

# images: built once per checkout; the binaries up to date (make run's own
# check, timed below, then finds nothing to do)
"$root/tools/mkimage" --out "$root/build/images" pause busybox nginx curl >/dev/null
make -s -C "$root" BIN="$bin" all >/dev/null

# ---- 1. make run: cold and warm ---------------------------------------------
t0=$(now)
make_run >/dev/null
t1=$(now)
mk --down >/dev/null
t2=$(now)
make_run >/dev/null
t3=$(now)
mk --down >/dev/null
cold=$(secs "$t0" "$t1")
warm=$(secs "$t2" "$t3")

t0=$(now)
hand_up 1
t1=$(now)
hand_down
hand1=$(secs "$t0" "$t1")

# ---- 2. three nodes and a Deployment through its ClusterIP ------------------
rm -rf "$work/mk/api" "$work/mk/image-root" "$work/mk/nodes"
t0=$(now)
mk --nodes 3 --detach --quiet >/dev/null
t1=$(now)
web_through_clusterip "$name-node" 3
t2=$(now)
mk --down >/dev/null
mk3_ready=$(secs "$t0" "$t1")
mk3=$(secs "$t0" "$t2")

t0=$(now)
hand_up 3
t1=$(now)
web_through_clusterip "$name-h" 3
t2=$(now)
hand_down
hand3_ready=$(secs "$t0" "$t1")
hand3=$(secs "$t0" "$t2")

printf '%-52s %8s %8s %7s %s\n' measure mk-cluster by-hand ratio target
printf '%-52s %8s %8s %7s %s\n' "make run, cold, to node Ready (s)" "$cold" "$hand1" "$(ratio "$cold" "$hand1")" ""
printf '%-52s %8s %8s %7s %s\n' "make run, warm, to node Ready (s)" "$warm" "$hand1" "$(ratio "$warm" "$hand1")" \
	"<= 3 s $(verdict "$warm" 3)"
printf '%-52s %8s %8s %7s %s\n' "3 nodes, to all Ready (s)" "$mk3_ready" "$hand3_ready" "$(ratio "$mk3_ready" "$hand3_ready")" ""
printf '%-52s %8s %8s %7s %s\n' "3 nodes + 6 pods via ClusterIP from every node (s)" "$mk3" "$hand3" "$(ratio "$mk3" "$hand3")" \
	"<= 10 s $(verdict "$mk3" 10)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
