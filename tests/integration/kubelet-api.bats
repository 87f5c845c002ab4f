#!/usr/bin/env bats
# The kubelet with an API server: it registers its Node and keeps its Lease,
# mirrors its static pods, runs the pods bound to it and reports their
# status, follows ConfigMaps into volumes, restarts on failed liveness
# probes, and deletes what the API deletes. Real kubectl against our API
# server; a real kubelet in a node namespace.

load lib/kubelet

setup() {
	node_setup
	node_apiserver_start
}

teardown() {
	if [ -n "${PF_PID:-}" ]; then
		kill "$PF_PID" 2>/dev/null || true
		wait "$PF_PID" 2>/dev/null || true
	fi
	node_teardown
}

kubelet_up() {
	kubelet_start --kubeconfig "$T/kubeconfig" "$@"
	wait_until 45 node_ready
}

node_ready() {
	[ "$(k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

phase() { # POD
	k get pod "$1" -o jsonpath='{.status.phase}'
}

events_have() { # OBJECT "REASON[:MESSAGE]"
	k get events --field-selector "involvedObject.name=$1" \
		-o jsonpath='{range .items[*]}{.reason}:{.message}{"\n"}{end}' | grep -qF "$2"
}

ready() { # POD
	[ "$(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

@test "kubelet: the node registers Ready with its facts, and keeps a Lease" {
	kubelet_up
	run k get node "$NODE" -o json
	[ "$status" -eq 0 ]
	jq -e --arg n "$NODE" '.metadata.labels["kubernetes.io/hostname"] == $n' <<<"$output"
	jq -e '.metadata.labels["kubernetes.io/os"] == "linux"' <<<"$output"
	jq -e '.status.addresses[] | select(.type == "InternalIP" and .address == "192.168.231.2")' <<<"$output"
	jq -e '.status.nodeInfo.containerRuntimeVersion | test("^runc://[0-9]+[.][0-9]+")' <<<"$output"
	jq -e '.status.nodeInfo.kubeletVersion == "v1.32.0-mink8s"' <<<"$output"
	jq -e '.status.daemonEndpoints.kubeletEndpoint.Port == 10250' <<<"$output"
	jq -e '.status.capacity.pods == "110" and (.status.capacity.cpu | length > 0)' <<<"$output"
	jq -e '[.status.conditions[].type] | sort == ["DiskPressure","MemoryPressure","PIDPressure","Ready"]' <<<"$output"
	wait_until 30 k get lease -n kube-node-lease "$NODE"
	run k get lease -n kube-node-lease "$NODE" -o jsonpath='{.spec.holderIdentity}'
	[ "$output" = "$NODE" ]
}

@test "kubelet: NotReady while no CNI configuration exists, Ready once one does" {
	mv "$T/net.d/10-mink8s.conflist" "$T/conflist.saved"
	kubelet_start --kubeconfig "$T/kubeconfig"
	wait_until 45 k get node "$NODE"
	wait_eq 30 KubeletNotReady k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'
	run k get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}'
	[[ "$output" == "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: No CNI configuration file in $T/net.d"* ]]
	mv "$T/conflist.saved" "$T/net.d/10-mink8s.conflist"
	wait_until 60 node_ready
}

@test "kubelet: static pods get mirror pods; a deleted mirror comes back" {
	cat >"$MANIFESTS/web.yaml" <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: web
	  namespace: kube-system
	spec:
	  containers:
	  - name: web
	    image: nginx
	    imagePullPolicy: IfNotPresent
	YAML
	kubelet_up --pod-manifest-path "$MANIFESTS"
	wait_eq 60 Running k get pod -n kube-system "web-$NODE" -o jsonpath='{.status.phase}'
	run k get pod -n kube-system "web-$NODE" -o json
	jq -e '.metadata.annotations["kubernetes.io/config.mirror"] | length == 32' <<<"$output"
	jq -e --arg n "$NODE" '.metadata.ownerReferences[0].kind == "Node" and .metadata.ownerReferences[0].name == $n' <<<"$output"
	uid=$(jq -r .metadata.uid <<<"$output")
	k delete pod -n kube-system "web-$NODE" --wait=false
	wait_until 60 mirror_replaced "$uid"
	wait_eq 30 Running k get pod -n kube-system "web-$NODE" -o jsonpath='{.status.phase}'
	# the static pod itself never stopped
	[ "$(attempts_of web web)" -eq 0 ]
	# the manifest goes: so does the mirror
	rm "$MANIFESTS/web.yaml"
	wait_until 60 mirror_gone
}

mirror_replaced() { # OLD-UID
	local uid
	uid=$(k get pod -n kube-system "web-$NODE" -o jsonpath='{.metadata.uid}') && [ -n "$uid" ] && [ "$uid" != "$1" ]
}

mirror_gone() {
	run k get pod -n kube-system "web-$NODE"
	[ "$status" -ne 0 ] && [[ "$output" == *NotFound* || "$output" == *"not found"* ]]
}

no_container_of() { # POD
	if node_runc list -q | grep -q "_${1}_"; then
		return 1
	fi
}

attempts_of() { # POD NAME
	"$MK_BIN/nodectl" --root-dir "$ROOT" ps -a -o json | jq -r --arg p "$1" --arg n "$2" \
		'[.[] | select((.podName|startswith($p)) and .name == $n) | .attempt] | max // -1'
}

@test "kubelet: a bound pod runs, reports its status and events, and is deleted for good" {
	kubelet_up
	k run web --image=nginx --image-pull-policy=IfNotPresent \
		--overrides="{\"spec\":{\"nodeName\":\"$NODE\"}}"
	wait_until 60 ready web
	run k get pod web -o json
	jq -e '.status.podIP | startswith("10.88.0.")' <<<"$output"
	jq -e '.status.hostIP == "192.168.231.2"' <<<"$output"
	jq -e '.status.containerStatuses[0].containerID | startswith("runc://k8s_web_web_default_")' <<<"$output"
	jq -e '.status.containerStatuses[0].imageID | startswith("docker.io/library/nginx@sha256:")' <<<"$output"
	jq -e '.status.qosClass == "BestEffort" and (.status.startTime | length > 0)' <<<"$output"
	jq -e '[.status.conditions[].type] | index("PodReadyToStartContainers") != null' <<<"$output"
	ip=$(jq -r .status.podIP <<<"$output")
	on_node curl -sf "http://$ip/" | grep -q "Welcome to nginx!"
	# events are posted off the pod's start path: wait for them
	wait_until 10 events_have web Created
	wait_until 10 events_have web Started
	k delete pod web
	run k get pod web
	[ "$status" -ne 0 ]
	wait_until 60 no_container_of web
	[ -z "$(ls "$ROOT/pods")" ]
}

@test "kubelet: a missing ConfigMap key is CreateContainerConfigError; a volume follows its ConfigMap" {
	kubelet_up
	k create configmap site --from-literal=index.html=first
	k apply -f - <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: site
	spec:
	  nodeName: $NODE
	  containers:
	  - name: web
	    image: nginx
	    imagePullPolicy: IfNotPresent
	    env:
	    - name: GREETING
	      valueFrom:
	        configMapKeyRef: {name: site, key: greeting}
	    volumeMounts:
	    - {name: html, mountPath: /usr/share/nginx/html}
	  volumes:
	  - name: html
	    configMap: {name: site}
	YAML
	wait_eq 60 CreateContainerConfigError k get pod site -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}'
	run k get pod site -o jsonpath='{.status.containerStatuses[0].state.waiting.message}'
	[ "$output" = "couldn't find key greeting in ConfigMap default/site" ]
	k patch configmap site --type=merge -p '{"data":{"greeting":"hi"}}'
	wait_until 90 ready site
	ip=$(k get pod site -o jsonpath='{.status.podIP}')
	wait_eq 15 first on_node curl -sf "http://$ip/index.html"
	k patch configmap site --type=merge -p '{"data":{"index.html":"second"}}'
	wait_eq 90 second on_node curl -sf "http://$ip/index.html"
}

@test "kubelet: readiness follows its probe; a failing liveness probe restarts the container" {
	kubelet_up
	k apply -f - <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: probed
	spec:
	  nodeName: $NODE
	  containers:
	  - name: app
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sh", "-c", "touch /tmp/ready /tmp/alive; httpd -f -p 8080 -h /tmp"]
	    readinessProbe:
	      exec: {command: ["test", "-e", "/tmp/ready"]}
	      periodSeconds: 1
	    livenessProbe:
	      httpGet: {path: /alive, port: 8080}
	      periodSeconds: 1
	      failureThreshold: 2
	YAML
	wait_until 90 ready probed
	id=$(container_id probed app)
	node_runc exec "$id" rm /tmp/ready
	wait_eq 30 False k get pod probed -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
	node_runc exec "$id" touch /tmp/ready
	wait_until 30 ready probed
	node_runc exec "$id" rm /tmp/alive
	wait_eq 90 1 k get pod probed -o jsonpath='{.status.containerStatuses[0].restartCount}'
	wait_until 10 events_have probed "Unhealthy:Liveness probe failed: HTTP probe failed with statuscode: 404"
	wait_until 10 events_have probed "Killing:Container app failed liveness probe, will be restarted"
}

@test "kubelet: kubectl logs, exec and port-forward reach a bound pod through the API server" {
	kubelet_up
	k apply -f - <<-YAML
	apiVersion: v1
	kind: Pod
	metadata:
	  name: talk
	spec:
	  nodeName: $NODE
	  containers:
	  - name: app
	    image: busybox
	    imagePullPolicy: IfNotPresent
	    command: ["sh", "-c", "echo hello from talk; echo to stderr >&2; echo served >/tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
	YAML
	wait_until 90 ready talk
	wait_eq 30 "$(printf 'hello from talk\nto stderr')" k logs talk
	run k logs talk --tail=1
	[ "$output" = "to stderr" ]
	run k exec talk -- cat /tmp/index.html
	[ "$status" -eq 0 ]
	[ "$output" = served ]
	run k exec talk -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run k exec -i talk -- wc -c <<<"four"
	[ "$output" = 5 ]
	run k logs talk -c nope
	[ "$status" -ne 0 ]
	[[ "$output" == *'container nope is not valid for pod talk'* ]]
	on_node kubectl -s http://127.0.0.1:8080 port-forward pod/talk 18080:8080 >"$T/pf.log" 2>&1 3>&- &
	PF_PID=$!
	wait_eq 30 served on_node curl -sf http://127.0.0.1:18080/index.html
	kill "$PF_PID"
	wait "$PF_PID" || true
	PF_PID=
}
