#!/usr/bin/env bats
# The tutorials' single-node walk, end to end on our binaries: API server,
# controller-manager, scheduler and kube-proxy run inside a "node" network
# namespace made by the test; our bridge CNI plugin wires each pod into its own
# namespace; the test plays the kubelet (it starts a busybox httpd per pod and
# reports the pod Running and Ready with its IP). Then a Deployment is exposed
# and curled through its ClusterIP, the KUBE-SERVICES / KUBE-SVC / KUBE-SEP
# chains are read back, and scaling to 4 gives the 0.25 / 0.333 / 0.5 ladder.

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy cni/bridge cni/host-local; do
		[ -x "$MK_BIN/$b" ] || skip "$b not built"
	done
	command -v busybox >/dev/null || skip "busybox missing"
	T=$(mktemp -d /tmp/mk-e2e.XXXXXX)
	SFX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	NODE=mke2e-$SFX
	PIDS=()
	: >"$T/pods"
	ip netns add "$NODE"
	ip -n "$NODE" link set lo up
	# a node has a default route (here through a veth uplink): a local
	# process needs a route to the ClusterIP before OUTPUT's DNAT rewrites it
	ip -n "$NODE" link add eth0 type veth peer name uplink
	ip -n "$NODE" addr add 192.168.231.2/24 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" link set uplink up
	ip -n "$NODE" route add default via 192.168.231.1
	export KUBECACHEDIR=$T/cache
	PORT=8080
	API=http://127.0.0.1:$PORT
	cat >"$T/netconf" <<-JSON
	{"cniVersion":"1.0.0","name":"mink8s","type":"bridge","bridge":"cni0","isGateway":true,
	 "ipMasq":true,"hairpinMode":true,
	 "ipam":{"type":"host-local","dataDir":"$T/ipam","ranges":[[{"subnet":"10.244.0.0/24"}]],
	         "routes":[{"dst":"0.0.0.0/0"}]}}
	JSON
}

teardown() {
	[ -n "${T:-}" ] || return 0
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		# what a reader of a failed run needs: the daemons' last words and the rules
		for f in "$T"/*.log; do
			echo "--- $(basename "$f")" >&2
			tail -15 "$f" >&2
		done
		ip netns exec "$NODE" iptables-legacy-save -t nat >&2 2>/dev/null || true
		ip -n "$NODE" route >&2 2>/dev/null || true
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	local ns
	while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done <"$T/pods"
	ip netns del "$NODE" 2>/dev/null || true
	rm -rf "$T"
}

# Runs a command inside the node namespace.
on_node() {
	ip netns exec "$NODE" "$@"
}

k() {
	on_node kubectl -s "$API" "$@"
}

start() { # LOGNAME COMMAND...
	local name=$1
	shift
	# ip netns exec execs the daemon, so $! is the daemon's own PID
	ip netns exec "$NODE" "$@" >"$T/$name.log" 2>&1 3>&- &
	PIDS+=($!)
}

wait_for() { # TRIES COMMAND...: retries every 0.1 s
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

start_control_plane() {
	start apiserver "$MK_BIN/kube-apiserver" --insecure-port=$PORT --data-dir="$T/data"
	wait_for 100 on_node curl -sf "$API/healthz"
}

register_node() {
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node1","labels":{"kubernetes.io/hostname":"node1"}},"spec":{"podCIDR":"10.244.0.0/24","podCIDRs":["10.244.0.0/24"]},"status":{"capacity":{"cpu":"2","memory":"4Gi","pods":"110"},"allocatable":{"cpu":"2","memory":"4Gi","pods":"110"},"addresses":[{"type":"InternalIP","address":"10.244.0.1"},{"type":"Hostname","address":"node1"}],"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}],"nodeInfo":{"kubeletVersion":"v1.32.0-mink8s"}}}' |
		k create -f - >/dev/null
}

# What a kubelet would do for every pod bound to node1 that has no IP yet:
# a netns wired by our bridge plugin, a web server answering its name, and a
# status patch saying Running and Ready.
kubelet_sync() {
	local pod ns ip now
	for pod in $(k get pods -o jsonpath='{range .items[?(@.spec.nodeName=="node1")]}{.metadata.name}{" "}{.status.podIP}{"\n"}{end}' | awk 'NF == 1 {print $1}'); do
		ns=mke2e-$SFX-${pod##*-}
		ip netns add "$ns"
		echo "$ns" >>"$T/pods"
		on_node env CNI_COMMAND=ADD CNI_CONTAINERID="$pod" CNI_NETNS=/var/run/netns/$ns \
			CNI_IFNAME=eth0 CNI_PATH="$MK_BIN/cni" "$MK_BIN/cni/bridge" <"$T/netconf" >"$T/cni-$pod.json"
		ip=$(jq -r '.ips[0].address' "$T/cni-$pod.json")
		ip=${ip%/*}
		mkdir -p "$T/www-$pod"
		echo "$pod" >"$T/www-$pod/index.html"
		ip netns exec "$ns" busybox httpd -f -p 80 -h "$T/www-$pod" 3>&- &
		PIDS+=($!)
		now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		k patch pod "$pod" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$ip\",\"podIPs\":[{\"ip\":\"$ip\"}],\"hostIP\":\"10.244.0.1\",\"startTime\":\"$now\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"},{\"type\":\"ContainersReady\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"}],\"containerStatuses\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"ready\":true,\"started\":true,\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"$now\"}}}]}}" >/dev/null
	done
}

running_pods() {
	k get pods -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | grep -c .
}

wait_running() { # N
	local i
	for i in $(seq 100); do
		kubelet_sync
		[ "$(running_pods)" -ge "$1" ] && return 0
		sleep 0.2
	done
	k get pods -o wide >&2
	return 1
}

@test "tutorial: deployment, scheduling, ClusterIP, iptables chains and the probability ladder" {
	start_control_plane
	run k get componentstatuses
	[ "$status" -eq 0 ]
	[[ "$output" == *etcd-0*Healthy* ]]

	# only the API server: the Deployment is stored and nothing else happens
	run k create deployment web --image=nginx
	[ "$output" = "deployment.apps/web created" ]
	sleep 1
	run k get pods
	[[ "$output" == *"No resources found"* ]]

	# the controller-manager makes a ReplicaSet and a Pending pod
	start controller-manager "$MK_BIN/kube-controller-manager" --master="$API" --leader-elect=false
	wait_for 100 bash -c "ip netns exec $NODE kubectl -s $API get pods --no-headers | grep -q Pending"
	run k get replicasets
	[[ "${lines[1]}" == web-* ]]

	# a node registers and the scheduler binds the pod to it
	register_node
	start scheduler "$MK_BIN/kube-scheduler" --master="$API" --leader-elect=false
	wait_for 100 bash -c "[ -n \"\$(ip netns exec $NODE kubectl -s $API get pods -o jsonpath='{.items[0].spec.nodeName}')\" ]"
	wait_running 1
	run k get pods -o wide
	[[ "${lines[1]}" == *Running*10.244.0.*node1* ]]

	# expose it; kube-proxy programs the ClusterIP
	run k expose deployment web --port=80
	[ "$output" = "service/web exposed" ]
	cip=$(k get svc web -o jsonpath='{.spec.clusterIP}')
	[[ "$cip" == 10.* ]]
	start kube-proxy "$MK_BIN/kube-proxy" --master="$API" --proxy-mode=iptables \
		--hostname-override=node1 --cluster-cidr=10.244.0.0/16 --healthz-bind-address=127.0.0.1:0 \
		--metrics-bind-address=127.0.0.1:0
	wait_for 100 on_node curl -sf --max-time 1 "http://$cip/"
	run on_node curl -s --max-time 2 "http://$cip/"
	[[ "$output" == web-* ]]

	run on_node iptables-legacy -t nat -L KUBE-SERVICES -n
	[[ "$output" == *"default/web cluster IP"* ]]
	svc_chain=$(echo "$output" | awk '/default\/web cluster IP/ {print $1}')
	[[ "$svc_chain" == KUBE-SVC-* ]]

	# scale to 4: the SVC chain gets the 1/4, 1/3, 1/2 ladder
	run k scale deployment web --replicas=4
	[ "$output" = "deployment.apps/web scaled" ]
	wait_running 4
	wait_for 100 bash -c "[ \$(ip netns exec $NODE iptables-legacy -t nat -S $svc_chain | grep -c KUBE-SEP-) -eq 4 ]"
	run on_node iptables-legacy -t nat -S "$svc_chain"
	[[ "$output" == *"--probability 0.25000000000"* ]]
	[[ "$output" == *"--probability 0.33333333349"* ]]
	[[ "$output" == *"--probability 0.50000000000"* ]]

	# every endpoint answers through the ClusterIP
	for i in $(seq 80); do on_node curl -s --max-time 2 "http://$cip/"; done | sort | uniq -c >"$T/answers"
	cat "$T/answers" >&2
	[ "$(wc -l <"$T/answers")" -eq 4 ]
}
