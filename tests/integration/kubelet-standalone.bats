#!/usr/bin/env bats
# The kubelet on its own, as the tutorials start it: static pods from
# --pod-manifest-path, no API server. Each test runs a real kubelet in a
# node namespace it creates; pods are runc containers on images from
# tools/mkimage, wired by our bridge plugin.

load lib/kubelet

setup() {
	node_setup
}

teardown() {
	node_teardown
}

# The pod whose name starts with $1 in `nodectl pods`: its JSON.
pod_json() {
	"$MK_BIN/nodectl" --root-dir "$ROOT" pods -o json | jq -c --arg p "$1" \
		'[.[] | select(.name|startswith($p))][0] // empty'
}

pod_ip() {
	pod_json "$1" | jq -r '.podIP // empty'
}

container_state() { # POD NAME
	"$MK_BIN/nodectl" --root-dir "$ROOT" ps -a -o json | jq -r --arg p "$1" --arg n "$2" \
		'[.[] | select((.podName|startswith($p)) and .name == $n)][0].state // empty'
}

attempts() { # POD NAME: how many instances exist or existed
	"$MK_BIN/nodectl" --root-dir "$ROOT" ps -a -o json | jq -r --arg p "$1" --arg n "$2" \
		'[.[] | select((.podName|startswith($p)) and .name == $n) | .attempt] | max // -1'
}

# The kubelet's own /pods endpoint (port 10250 in the node) shows pod
# $1 with its first container running.
running_in_pods_endpoint() {
	on_node curl -sf http://127.0.0.1:10250/pods | jq -e --arg p "$1" \
		'[.items[] | select(.metadata.name|startswith($p))][0].status.containerStatuses[0].state.running'
}

nginx_manifest() {
	cat >"$MANIFESTS/nginx.yaml" <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: nginx
	spec:
	  containers:
	  - name: nginx
	    image: nginx
	    imagePullPolicy: IfNotPresent
	    ports:
	    - containerPort: 80
	YAML
}

@test "kubelet: standalone mode says so and runs a static pod that prints hello world" {
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 20 grep -q "standalone mode, no API client" "$T/kubelet.log"
	cat >"$MANIFESTS/hello.yaml" <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: hello
	spec:
	  containers:
	  - image: busybox
	    imagePullPolicy: IfNotPresent
	    name: hello
	    command: ["echo", "hello world!"]
	YAML
	# the container runs, exits, and is started again (restartPolicy Always)
	wait_until 30 eval '[ "$(attempts hello hello)" -ge 1 ]'
	id=$(container_id hello hello)
	[[ "$id" == k8s_hello_hello-${NODE}_default_*_[0-9]* ]]
	run "$MK_BIN/nodectl" --root-dir "$ROOT" logs "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "hello world!" ]
	# the sandbox is there too, with the tutorial's name pattern
	run "$MK_BIN/nodectl" --root-dir "$ROOT" pods
	[[ "$output" == *"hello-$NODE"*default* ]]
	run "$MK_BIN/nodectl" --root-dir "$ROOT" ps -a
	[[ "$output" == *Exited*hello* ]]
	# the CRI log file and the link log shippers read
	ls "$LOGS"/default_hello-${NODE}_*/hello/0.log
	ls "$LOGS"/../containers/hello-${NODE}_default_hello-k8s_hello_*.log
}

@test "kubelet: static nginx answers at its pod IP; a killed container comes back" {
	nginx_manifest
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 40 eval '[ "$(container_state nginx nginx)" = Running ]'
	ip=$(pod_ip nginx)
	[[ "$ip" == 10.88.0.* ]]
	wait_until 5 on_node curl -sf "http://$ip/"
	run on_node curl -s "http://$ip/"
	[[ "$output" == *"Welcome to nginx!"* ]]
	# stop the container behind the kubelet's back, as the tutorial's docker stop
	id=$(container_id nginx nginx)
	node_runc kill "$id" KILL
	wait_until 40 eval '[ "$(attempts nginx nginx)" -eq 1 ]'
	wait_until 40 eval '[ "$(container_state nginx nginx)" = Running ]'
	wait_until 5 on_node curl -sf "http://$ip/"
	# the same sandbox: the pod kept its IP
	[ "$(pod_ip nginx)" = "$ip" ]
}

@test "kubelet: a hostNetwork pod shares the node's network" {
	cat >"$MANIFESTS/web.yaml" <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: web
	spec:
	  hostNetwork: true
	  containers:
	  - name: web
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["httpd", "-f", "-p", "8088", "-h", "/etc"]
	YAML
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 40 eval '[ "$(container_state web web)" = Running ]'
	wait_until 5 on_node curl -sf "http://192.168.231.2:8088/hostname"
	run on_node curl -s "http://192.168.231.2:8088/hostname"
	[ "$output" = "$NODE" ]
}

@test "kubelet: a removed manifest leaves nothing behind; a bad one is skipped" {
	nginx_manifest
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec: {}\n' >"$MANIFESTS/broken.yaml"
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 40 eval '[ "$(container_state nginx nginx)" = Running ]'
	wait_until 10 grep -q "Could not process manifest file \"$MANIFESTS/broken.yaml\": invalid pod: spec.containers: Required value" "$T/kubelet.log"
	[ -n "$(node_runc list -q)" ]
	rm "$MANIFESTS/nginx.yaml"
	wait_until 60 eval '[ -z "$(node_runc list -q)" ]'
	# no container, no namespace pin, no mount, no pod directory, no veth
	wait_until 20 eval '[ -z "$(ls "$ROOT/pods")" ]'
	run awk -v t="$ROOT" 'index($5, t "/") == 1' /proc/self/mountinfo
	[ -z "$output" ]
	[ -z "$(ls "$ROOT/netns" 2>/dev/null)" ]
	run on_node ip -o link show type veth
	[[ "$output" != *veth* ]] || { echo "$output"; false; }
	# the kubelet itself kept going
	kill -0 "$KUBELET_PID"
}

@test "kubelet: a restarted kubelet adopts running pods without restarting them" {
	nginx_manifest
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 40 eval '[ "$(container_state nginx nginx)" = Running ]'
	id=$(container_id nginx nginx)
	pid=$(node_runc state "$id" | jq .pid)
	kubelet_kill KILL
	# the container runs on without its kubelet
	kill -0 "$pid"
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 20 grep -q "Adopting pod default/nginx-$NODE" "$T/kubelet.log"
	# the new kubelet has synced the pod once its /pods reports it running
	wait_until 20 running_in_pods_endpoint nginx
	ip=$(pod_ip nginx)
	wait_until 5 on_node curl -sf "http://$ip/"
	[ "$(container_id nginx nginx)" = "$id" ]
	[ "$(node_runc state "$id" | jq .pid)" = "$pid" ]
	[ "$(attempts nginx nginx)" -eq 0 ]
}

@test "kubelet: the reference CNI plugins wire pods the same way" {
	[ -x /usr/lib/cni/bridge ] || skip "reference CNI plugins missing"
	nginx_manifest
	kubelet_start --pod-manifest-path "$MANIFESTS" --cni-bin-dir /usr/lib/cni
	wait_until 40 eval '[ "$(container_state nginx nginx)" = Running ]'
	ip=$(pod_ip nginx)
	[[ "$ip" == 10.88.0.* ]]
	wait_until 5 on_node curl -sf "http://$ip/"
	# libcni's cache entry, as the reference tools write and read it
	ls "$T/cni-cache/results/mink8s-k8s_POD_nginx-${NODE}_default_"*"-eth0"
	rm "$MANIFESTS/nginx.yaml"
	wait_until 60 eval '[ -z "$(node_runc list -q)" ]'
	# DEL went through the reference plugins: the address is free again
	wait_until 20 eval '[ -z "$(ls "$T/ipam/mink8s" | grep -v -e lock -e last_reserved)" ]'
}

@test "kubelet: ten running pods survive a kubelet SIGKILL with no restart" {
	for i in $(seq 10); do
		cat >"$MANIFESTS/web$i.yaml" <<-YAML
		apiVersion: v1
		kind: Pod
		metadata:
		  name: web$i
		spec:
		  containers:
		  - name: web
		    image: busybox
		    imagePullPolicy: IfNotPresent
		    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
		YAML
	done
	kubelet_start --pod-manifest-path "$MANIFESTS"
	wait_until 300 eval '[ "$("$MK_BIN/nodectl" --root-dir "$ROOT" ps -o json | jq length)" -eq 10 ]'
	before=$("$MK_BIN/nodectl" --root-dir "$ROOT" ps -o json | jq -c '[.[] | [.id, .pid]] | sort')
	kubelet_kill KILL
	kubelet_start --pod-manifest-path "$MANIFESTS"
	# every pod synced by the new kubelet (its /pods reports all ten running)
	wait_until 180 eval '[ "$(on_node curl -sf http://127.0.0.1:10250/pods | jq "[.items[] | select(.status.containerStatuses[0].state.running)] | length")" -eq 10 ]'
	after=$("$MK_BIN/nodectl" --root-dir "$ROOT" ps -a -o json | jq -c '[.[] | [.id, .pid]] | sort')
	[ "$before" = "$after" ]
}
