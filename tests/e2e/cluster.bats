#!/usr/bin/env bats
# A 3-node cluster from tools/mk-cluster, once for the file: every node Ready
# with its podCIDR, a Deployment spread over the nodes, pod-to-pod across
# nodes, the ClusterIP from every node and from a pod with an even share per
# endpoint, NodePorts on every node, externalTrafficPolicy: Local, the
# README's direct CNI call, kubectl exec, logs and port-forward to a pod on
# every node, a Job run to completion, and a node whose kubelet dies: NotReady, its pods
# evicted and replaced, the Service no longer sending to them. --down at the
# end, and nothing left behind.

load ../integration/lib/wait

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	export CL_NAME=mkt$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	export CL_DATA=$BATS_FILE_TMPDIR/data
	export KUBECONFIG=$CL_DATA/kubeconfig
	local ports
	ports=$(python3 -c 'import socket
ss=[socket.socket() for _ in range(2)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
	export CL_PORT=${ports% *} CL_REG_PORT=${ports#* }
	# a node silent for 8 s is NotReady (its pods, below, tolerate that for
	# 2 s); the controller-manager's and scheduler's own ports are off, so
	# that other clusters on this machine do not matter
	"$MK_ROOT/tools/mk-cluster" --nodes 3 --name "$CL_NAME" --data-dir "$CL_DATA" \
		--port "$CL_PORT" --registry-port "$CL_REG_PORT" --detach --quiet --node-grace 8 \
		--arg kube-controller-manager=--node-monitor-period=1s \
		--arg kube-controller-manager=--secure-port=0 \
		--arg kube-scheduler=--secure-port=0 >"$BATS_FILE_TMPDIR/up.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/up.log" >&2
		return 1
	}
	# the backends answer with their pod's name (busybox httpd)
	kubectl apply -f - >/dev/null <<-'EOF'
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: who}
	spec:
	  replicas: 3
	  selector: {matchLabels: {app: who}}
	  template:
	    metadata: {labels: {app: who}}
	    spec:
	      containers:
	      - name: who
	        image: busybox
	        command: ["sh", "-c", "mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 80 -h /www"]
	        readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
	      tolerations:
	      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
	      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: client}
	spec:
	  containers:
	  - name: client
	    image: busybox
	    command: ["sleep", "3600"]
	EOF
	kubectl expose deployment who --port=80 --type=NodePort >/dev/null
}

teardown_file() {
	[ -n "${CL_NAME:-}" ] || return 0
	"$MK_ROOT/tools/mk-cluster" --down --name "$CL_NAME" --data-dir "$CL_DATA" >/dev/null
	# nothing is left: namespaces, links, mounts, processes, cgroups
	local left
	left=$(ip netns list | grep "^$CL_NAME-" || true)
	left+=$(ip -o link show | grep -F "mk$(printf '%06x' $(($(printf %s "$CL_NAME" | cksum | cut -d' ' -f1) % 16777216)))" || true)
	left+=$(grep -F "$CL_DATA" /proc/self/mountinfo || true)
	left+=$(pgrep -af -- "$CL_DATA" || true)
	left+=$(ls -d /sys/fs/cgroup/*/mink8s-"$CL_NAME"-* /sys/fs/cgroup/mink8s-"$CL_NAME"-* 2>/dev/null || true)
	rm -rf "$CL_DATA"
	if [ -n "$left" ]; then
		echo "left behind after --down: $left" >&2
		return 1
	fi
}

teardown() {
	if [ -n "${PF_PID:-}" ]; then
		kill "$PF_PID" 2>/dev/null || true
		wait "$PF_PID" 2>/dev/null || true
	fi
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		local f
		for f in "$CL_DATA"/logs/*.log; do
			echo "--- $(basename "$f") (last 15 lines)" >&2
			tail -15 "$f" >&2
		done
	fi
	if [ -n "${X_NS:-}" ]; then
		local pid
		for pid in $(ip netns pids "$X_NS"); do kill "$pid" 2>/dev/null || true; done
		CNI_COMMAND=DEL CNI_CONTAINERID="$X_NS" CNI_NETNS="/run/netns/$X_NS" CNI_IFNAME=eth0 \
			CNI_PATH="$MK_BIN/cni" ip netns exec "$CL_NAME-node1" "$MK_BIN/cni/bridge" \
			<"$BATS_TEST_TMPDIR/conf.json" >/dev/null 2>&1 || true
		ip netns del "$X_NS" 2>/dev/null || true
	fi
	true
}

node() { echo "$CL_NAME-node$1"; }
node_ip() { kubectl get node "$(node "$1")" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}'; }
on_node() { # I COMMAND...
	local i=$1
	shift
	ip netns exec "$(node "$i")" "$@"
}

ready_nodes() {
	kubectl get nodes -o json | jq -r '[.items[] | select(any(.status.conditions[];
		.type == "Ready" and .status == "True")) | .metadata.name] | sort | join(" ")'
}

# pods of app=$1 that are Ready and not terminating: "name ip node" lines
ready_pods() {
	kubectl get pods -l "app=$1" -o json | jq -r '.items[] | select(.metadata.deletionTimestamp == null)
		| select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))
		| "\(.metadata.name) \(.status.podIP) \(.spec.nodeName)"'
}
count_ready() { # APP N
	[ "$(ready_pods "$1" | grep -c .)" = "$2" ]
}
spread() { # APP: on every node
	[ "$(ready_pods "$1" | awk '{print $3}' | sort -u | grep -c .)" = 3 ]
}
evicted() { # POD: deleted, or being deleted
	local d
	d=$(kubectl get pod "$1" -o jsonpath='{.metadata.deletionTimestamp}' 2>&1) || [[ "$d" == *NotFound* ]] || return 1
	[[ "$d" == *NotFound* ]] || [ -n "$d" ]
}
endpoints_are() { # SERVICE N
	[ "$(kubectl get endpoints "$1" -o json | jq '[.subsets[]?.addresses[]?] | length')" = "$2" ]
}

# counts per answering pod, "count name" lines, from one curl per request
# (each URL a new connection: busybox httpd closes after every answer)
tally() {
	sort | uniq -c | awk '{print $1, $2}'
}
even_share() { # N-REQUESTS ENDPOINTS < tally
	awk -v n="$1" -v k="$2" 'BEGIN { e = n / k; bad = 0 }
		{ seen++; if ($1 < e * 0.65 || $1 > e * 1.35) bad = 1; print }
		END { exit (seen != k || bad) }'
}
urls() { # N URL
	local i
	for i in $(seq "$1"); do printf '%s ' "$2"; done
}

@test "cluster: three nodes Ready, each with its own podCIDR and routes to the others'" {
	wait_eq 30 "$(node 1) $(node 2) $(node 3)" ready_nodes
	run kubectl get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{"\n"}{end}'
	[ "$status" -eq 0 ]
	[ "$(sort -u <<<"$output" | grep -c '^10\.244\.[0-9]*\.0/24$')" = 3 ]
	# each node routes the two other podCIDRs via their InternalIPs
	for i in 1 2 3; do
		for j in 1 2 3; do
			[ "$i" != "$j" ] || continue
			cidr=$(kubectl get node "$(node "$j")" -o jsonpath='{.spec.podCIDR}')
			wait_until 20 bash -c "ip -n $(node "$i") route show $cidr | grep -q 'via $(node_ip "$j") '"
		done
	done
}

@test "cluster: a Deployment spreads over the nodes, and pods reach each other across nodes by IP" {
	wait_until 120 count_ready who 3
	wait_until 30 spread who
	client_ip=$(kubectl get pod client -o jsonpath='{.status.podIP}')
	wait_eq 60 Running kubectl get pod client -o jsonpath='{.status.phase}'
	client_node=$(kubectl get pod client -o jsonpath='{.spec.nodeName}')
	while read -r name ip node; do
		run kubectl exec client -- timeout 5 wget -qO- "http://$ip/"
		[ "$status" -eq 0 ]
		[ "$output" = "$name" ]
	done < <(ready_pods who)
	# one of them is on another node than the client
	[ "$(ready_pods who | awk -v n="$client_node" '$3 != n' | grep -c .)" -ge 2 ]
	[ -n "$client_ip" ]
}

@test "cluster: the ClusterIP from every node and from a pod, 300 requests in an even share per endpoint" {
	wait_until 120 count_ready who 3
	wait_until 30 endpoints_are who 3
	cip=$(kubectl get svc who -o jsonpath='{.spec.clusterIP}')
	for i in 1 2 3; do
		wait_until 20 on_node "$i" curl -sf -m 2 "http://$cip/"
		on_node "$i" curl -s --connect-timeout 2 -m 5 $(urls 300 "http://$cip/") | tally >"$BATS_TEST_TMPDIR/node$i"
		echo "# from $(node "$i"):" $(cat "$BATS_TEST_TMPDIR/node$i") >&3
		even_share 300 3 <"$BATS_TEST_TMPDIR/node$i"
	done
	wait_eq 60 Running kubectl get pod client -o jsonpath='{.status.phase}'
	kubectl exec client -- sh -c "for i in \$(seq 300); do timeout 5 wget -qO- http://$cip/; done" |
		tally >"$BATS_TEST_TMPDIR/pod"
	echo "# from pod client:" $(cat "$BATS_TEST_TMPDIR/pod") >&3
	even_share 300 3 <"$BATS_TEST_TMPDIR/pod"
}

@test "cluster: a NodePort answers on every node's IP" {
	wait_until 120 count_ready who 3
	np=$(kubectl get svc who -o jsonpath='{.spec.ports[0].nodePort}')
	[ -n "$np" ]
	for i in 1 2 3; do
		ip=$(node_ip "$i")
		# from the host, through the bridge, and from another node
		wait_until 20 curl -sf -m 2 "http://$ip:$np/"
		run curl -sf -m 5 "http://$ip:$np/"
		[ "$status" -eq 0 ]
		ready_pods who | awk '{print $1}' | grep -qx "$output"
		run on_node $((i % 3 + 1)) curl -sf -m 5 "http://$ip:$np/"
		[ "$status" -eq 0 ]
	done
}

@test "cluster: externalTrafficPolicy: Local answers only on the node with a local endpoint" {
	kubectl create deployment local --image=busybox -- \
		sh -c 'mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 80 -h /www'
	kubectl expose deployment local --port=80 --type=NodePort
	kubectl patch svc local -p '{"spec":{"externalTrafficPolicy":"Local"}}'
	wait_until 120 count_ready local 1
	read -r pod _ host < <(ready_pods local)
	np=$(kubectl get svc local -o jsonpath='{.spec.ports[0].nodePort}')
	for i in 1 2 3; do
		[ "$(node "$i")" = "$host" ] || continue
		wait_eq 30 "$pod" curl -sf -m 2 "http://$(node_ip "$i"):$np/"
	done
	# the positive answer came first; now the nodes without an endpoint
	for i in 1 2 3; do
		[ "$(node "$i")" != "$host" ] || continue
		run curl -sf -m 2 "http://$(node_ip "$i"):$np/"
		[ "$status" -ne 0 ]
	done
	kubectl delete svc local
	kubectl delete deployment local
}

@test "cluster: the README's direct bridge plugin call wires a pod the cluster's pods reach" {
	wait_eq 60 Running kubectl get pod client -o jsonpath='{.status.phase}'
	# the conf.json the README shows, for this cluster's node1
	sed -n '/^<!-- conf.json -->$/,/^```$/p' "$MK_ROOT/README.md" | sed '1,2d;$d' >"$BATS_TEST_TMPDIR/readme.json"
	jq -e . "$BATS_TEST_TMPDIR/readme.json" >/dev/null
	cidr=$(kubectl get node "$(node 1)" -o jsonpath='{.spec.podCIDR}')
	jq --arg d "$CL_DATA/nodes/node1/ipam" --arg s "$cidr" \
		'.ipam.dataDir = $d | .ipam.ranges[0][0].subnet = $s' \
		"$BATS_TEST_TMPDIR/readme.json" >"$BATS_TEST_TMPDIR/conf.json"
	X_NS=mkx-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	ip netns add "$X_NS"
	# as the README types it, in the node's network namespace
	run ip netns exec "$(node 1)" env CNI_COMMAND=ADD CNI_CONTAINERID="$X_NS" \
		CNI_NETNS="/var/run/netns/$X_NS" CNI_IFNAME=eth0 CNI_PATH="$MK_BIN/cni" \
		"$MK_BIN/cni/bridge" <"$BATS_TEST_TMPDIR/conf.json"
	[ "$status" -eq 0 ]
	xip=$(jq -r '.ips[0].address' <<<"$output")
	xip=${xip%/*}
	[[ "$xip" == "${cidr%.0/24}".* ]]
	# a server in it, reached from the client pod (on whichever node)
	echo x-pod >"$BATS_TEST_TMPDIR/index.html"
	ip -n "$X_NS" link set lo up
	ip netns exec "$X_NS" busybox httpd -p 80 -h "$BATS_TEST_TMPDIR"
	wait_until 20 ip netns exec "$X_NS" timeout 2 busybox wget -qO- "http://$xip/"
	run kubectl exec client -- timeout 5 wget -qO- "http://$xip/"
	[ "$status" -eq 0 ]
	[ "$output" = x-pod ]
	# and from a pod of another node than node1
	read -r other _ < <(ready_pods who | awk -v n="$(node 1)" '$3 != n')
	run kubectl exec "$other" -- timeout 5 wget -qO- "http://$xip/"
	[ "$status" -eq 0 ]
	[ "$output" = x-pod ]
}

@test "cluster: kubectl exec, logs and port-forward reach a pod on every node through the API server" {
	wait_until 120 count_ready who 3
	wait_until 30 spread who
	local name ip nd port
	while read -r name ip nd; do
		# exec; a line written to the container's own stdout comes back as its log
		run kubectl exec "$name" -- sh -c "cat /www/index.html; echo from-$nd >/proc/1/fd/1"
		[ "$status" -eq 0 ]
		[ "$output" = "$name" ]
		wait_eq 20 "from-$nd" kubectl logs "$name" --tail=1
	done < <(ready_pods who)
	# port-forward to the pod on the third node
	read -r name ip nd < <(ready_pods who | awk -v n="$(node 3)" '$3 == n')
	[ -n "$name" ]
	kubectl port-forward "pod/$name" :80 >"$BATS_TEST_TMPDIR/pf.log" 2>&1 3>&- &
	PF_PID=$!
	wait_until 30 grep -q '^Forwarding from 127.0.0.1:' "$BATS_TEST_TMPDIR/pf.log"
	port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/pf.log" | head -1)
	wait_eq 20 "$name" curl -sf "http://127.0.0.1:$port/"
}

@test "cluster: a Job runs to completion on a real kubelet, its pod Succeeded and no longer tracked" {
	kubectl create job hello --image=busybox -- sh -c 'echo job-done' >/dev/null
	run kubectl wait --for=condition=complete job/hello --timeout=15s
	[ "$status" -eq 0 ]
	run kubectl get pods -l job-name=hello -o jsonpath='{range .items[*]}{.status.phase} {.metadata.finalizers}{"\n"}{end}'
	[ "$output" = "Succeeded " ]
	run kubectl logs job/hello
	[ "$output" = "job-done" ]
	kubectl delete job hello >/dev/null
}

@test "cluster: a node whose kubelet dies goes NotReady, its pods are replaced, the Service leaves them" {
	wait_until 120 count_ready who 3
	victim=3
	gone=$(ready_pods who | awk -v n="$(node $victim)" '$3 == n {print $1}')
	[ -n "$gone" ]
	kill -KILL "$(cat "$CL_DATA/run/kubelet-node$victim.pid")"
	wait_eq 30 Unknown kubectl get node "$(node $victim)" \
		-o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
	# evicted, and as many Ready replacements on the other nodes
	for p in $gone; do
		wait_until 60 evicted "$p"
	done
	wait_until 120 count_ready who 3
	[ -z "$(ready_pods who | awk -v n="$(node $victim)" '$3 == n')" ]
	wait_until 30 endpoints_are who 3
	# the Service sends to the live pods only, from every node still up
	cip=$(kubectl get svc who -o jsonpath='{.spec.clusterIP}')
	live=$(ready_pods who | awk '{print $1}' | sort)
	for i in 1 2; do
		wait_eq 30 "$live" bash -c "ip netns exec $(node "$i") curl -s -m 5 $(urls 60 "http://$cip/") | sort -u"
	done
}
