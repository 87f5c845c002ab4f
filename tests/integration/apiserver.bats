#!/usr/bin/env bats
# kube-apiserver driven by the real kubectl (fresh KUBECACHEDIR) and curl.
# backends: sqlite etcd

load lib/apiserver

setup_file() {
	apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

teardown() {
	if [ -n "${WPID:-}" ]; then
		kill "$WPID" 2>/dev/null || true
		wait "$WPID" 2>/dev/null || true
	fi
}

rand() {
	tr -dc 'a-z0-9' </dev/urandom | head -c 6
}

@test "curl /healthz, /livez, /readyz answer ok" {
	run curl -s "$MK_API_URL/healthz"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	[ "$(curl -s "$MK_API_URL/livez")" = "ok" ]
	[ "$(curl -s "$MK_API_URL/readyz")" = "ok" ]
}

@test "curl /api/v1/pods returns a PodList with a resourceVersion" {
	run curl -s "$MK_API_URL/api/v1/pods"
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json,sys
d = json.load(sys.stdin)
assert d["kind"] == "PodList", d
assert d["apiVersion"] == "v1"
assert int(d["metadata"]["resourceVersion"]) > 0
assert isinstance(d["items"], list)'
}

@test "kubectl version reports the server as v1.32" {
	run kubectl version
	[ "$status" -eq 0 ]
	[[ "$output" == *"Server Version: v1.32.0-mink8s"* ]]
	[[ "$output" != *"WARNING"* ]]
}

@test "every component's --version prints the version the API server reports" {
	server=$(curl -s "$MK_API_URL/version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gitVersion"])')
	[ "$server" = "v1.32.0-mink8s" ]
	for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
		run "$MK_BIN/$b" --version
		[ "$status" -eq 0 ]
		[ "$output" = "Kubernetes $server" ]
		run "$MK_BIN/$b" --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"--version"*"print version information and quit"* ]]
	done
	run "$MK_BIN/kube-proxy" --version=nope
	[ "$status" -ne 0 ]
	[[ "$output" == *'invalid argument "nope" for "--version"'* ]]
}

@test "/version, unknown paths and /openapi/v2" {
	run curl -s "$MK_API_URL/version"
	[[ "$output" == *'"major":"1","minor":"32"'* ]]
	run curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL/openapi/v2"
	[ "$output" = "404" ]
	run curl -s "$MK_API_URL/nope"
	[[ "$output" == *'"reason":"NotFound"'* ]]
	[[ "$output" == *'the server could not find the requested resource'* ]]
}

@test "aggregated discovery answers with its content type, plain JSON otherwise" {
	accept='application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'
	run curl -s -D - -o /dev/null -H "Accept: $accept" "$MK_API_URL/apis"
	[[ "$output" == *"Content-Type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"* ]]
	run curl -s -H "Accept: $accept" "$MK_API_URL/api"
	[[ "$output" == *'"kind":"APIGroupDiscoveryList"'* ]]
	run curl -s "$MK_API_URL/api"
	[[ "$output" == *'"kind":"APIVersions"'* ]]
	run curl -s "$MK_API_URL/apis/apps/v1"
	[[ "$output" == *'"name":"deployments/scale"'* ]]
}

@test "kubectl api-resources lists core and apps resources" {
	run kubectl api-resources
	[ "$status" -eq 0 ]
	[[ "$output" == *"deployments"*"deploy"*"apps/v1"*"true"*"Deployment"* ]]
	[[ "$output" == *"pods"*"po"*"v1"*"true"*"Pod"* ]]
	[[ "$output" == *"namespaces"*"ns"*"v1"*"false"*"Namespace"* ]]
}

@test "kubectl get pods on an empty namespace, get nodes" {
	ns=e-$(rand)
	kubectl create namespace "$ns" 2>/dev/null || curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" \
		"$MK_API_URL/api/v1/namespaces" >/dev/null
	run kubectl get pods -n "$ns"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No resources found in $ns namespace."* ]]
	run kubectl get nodes
	[ "$status" -eq 0 ]
	[[ "$output" == *"No resources found"* ]]
}

@test "bootstrap: namespaces and the kubernetes service" {
	run kubectl get namespaces
	[ "$status" -eq 0 ]
	for ns in default kube-system kube-public kube-node-lease; do
		[[ "$output" == *"$ns"* ]]
	done
	run kubectl get service kubernetes -o jsonpath='{.spec.clusterIP} {.spec.ports[0].port}'
	[ "$output" = "10.96.0.1 443" ]
	run kubectl get endpoints kubernetes -o jsonpath='{.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}'
	[ "$output" = "127.0.0.1:$MK_API_PORT" ]
}

@test "kubectl get componentstatuses" {
	run kubectl get cs
	[ "$status" -eq 0 ]
	[[ "$output" == *"Warning: v1 ComponentStatus is deprecated in v1.19+"* ]]
	[[ "$output" == *"etcd-0"* ]]
	[[ "$output" == *"scheduler"* ]]
}

@test "kubectl run, get -o yaml/json/jsonpath/wide, get all" {
	p=p-$(rand)
	run kubectl run "$p" --image=nginx
	[ "$status" -eq 0 ]
	[ "$output" = "pod/$p created" ]
	run kubectl get pod "$p" -o jsonpath='{.metadata.name} {.metadata.generation} {.spec.containers[0].image}'
	[ "$output" = "$p 1 nginx" ]
	run kubectl get pod "$p" -o yaml
	[[ "$output" == *"uid: "* ]]
	[[ "$output" == *"resourceVersion: "* ]]
	[[ "$output" == *"creationTimestamp: "* ]]
	run kubectl get pod "$p" -o json
	[[ "$output" == *"\"name\": \"$p\""* ]]
	run kubectl get pods -o wide
	[ "$status" -eq 0 ]
	[[ "$output" == *"$p"* ]]
	run kubectl get all
	[[ "$output" == *"pod/$p"* ]]
	[[ "$output" == *"service/kubernetes"* ]]
	kubectl delete pod "$p" --wait=false
}

@test "kubectl apply -f twice with a change: created, configured, unchanged" {
	d=web-$(rand)
	f=$MK_API_TMP/$d.yaml
	cat >"$f" <<Y
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $d
  labels: {app: $d}
spec:
  replicas: 1
  selector: {matchLabels: {app: $d}}
  template:
    metadata: {labels: {app: $d}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
Y
	run kubectl apply -f "$f"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/$d created" ]
	sed -i 's/nginx:1.25/nginx:1.27/; s/{name: B, value: "2"}/{name: C, value: "3"}/' "$f"
	run kubectl apply -f "$f"
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/$d configured" ]
	run kubectl apply -f "$f"
	[ "$output" = "deployment.apps/$d unchanged" ]
	run kubectl get deployment "$d" -o jsonpath='{.metadata.generation} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[*].name}'
	[ "$output" = "2 nginx:1.27 A C" ]
	kubectl delete -f "$f" --wait=false
}

@test "label, annotate, scale through the scale subresource" {
	d=sc-$(rand)
	curl -s -X POST -H 'Content-Type: application/json' "$MK_API_URL/apis/apps/v1/namespaces/default/deployments" \
		-d "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"$d\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"$d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"$d\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}" >/dev/null
	run kubectl label deployment "$d" tier=front
	[ "$output" = "deployment.apps/$d labeled" ]
	run kubectl annotate deployment "$d" note=hello
	[ "$output" = "deployment.apps/$d annotated" ]
	run kubectl scale deployment "$d" --replicas=4
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/$d scaled" ]
	run kubectl get deployment "$d" -o jsonpath='{.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.note} {.metadata.generation}'
	[ "$output" = "4 front hello 2" ]
	run kubectl scale deployment "$d" --current-replicas=4 --replicas=2
	[ "$output" = "deployment.apps/$d scaled" ]
	run kubectl scale deployment "$d" --current-replicas=4 --replicas=3
	[ "$status" -ne 0 ]
	[[ "$output" == *"Expected replicas to be 4, was 2"* ]]
	kubectl delete deployment "$d" --wait=false
}

@test "get pods -w sees a change" {
	p=w-$(rand)
	kubectl run "$p" --image=nginx
	out=$MK_API_TMP/watch-$p
	timeout 60 kubectl get pods -w --output-watch-events >"$out" 2>&1 &
	WPID=$!
	# kubectl has listed (and watches from the list's resourceVersion)
	wait_until 10 grep -q "ADDED.*$p" "$out"
	kubectl label pod "$p" seen=yes
	wait_until 10 grep -q "MODIFIED.*$p" "$out"
	kill "$WPID" 2>/dev/null || true
	wait "$WPID" 2>/dev/null || true
	WPID=
	cat "$out"
	kubectl delete pod "$p" --wait=false
}

@test "delete: unbound pod goes at once, --cascade=orphan accepted" {
	p=d-$(rand)
	kubectl run "$p" --image=nginx
	run kubectl delete pod "$p"
	[ "$status" -eq 0 ]
	[ "$output" = "pod \"$p\" deleted" ]
	run kubectl get pod "$p"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Error from server (NotFound): pods \"$p\" not found"* ]]
	# Orphan: the garbage collector (not running here) owns the "orphan" finalizer.
	kubectl run "$p" --image=nginx
	run kubectl delete pod "$p" --cascade=orphan --wait=false
	[ "$status" -eq 0 ]
	[ "$output" = "pod \"$p\" deleted" ]
	run kubectl get pod "$p" -o jsonpath='{.metadata.finalizers}'
	[ "$output" = '["orphan"]' ]
	kubectl patch pod "$p" --type=merge -p '{"metadata":{"finalizers":null}}'
	run kubectl get pod "$p"
	[[ "$output" == *"pods \"$p\" not found"* ]]
}

@test "errors: 404 with the namespace check, 409 AlreadyExists" {
	run kubectl get pod nope-$(rand)
	[ "$status" -ne 0 ]
	[[ "$output" == *"Error from server (NotFound): pods \"nope-"*"\" not found"* ]]
	run kubectl get pod x -n missing-ns
	[[ "$output" == *'Error from server (NotFound): namespaces "missing-ns" not found'* ]]
	p=a-$(rand)
	kubectl run "$p" --image=nginx
	run kubectl run "$p" --image=nginx
	[ "$status" -ne 0 ]
	[[ "$output" == *"Error from server (AlreadyExists): pods \"$p\" already exists"* ]]
	run kubectl get deployment nope -o name
	[[ "$output" == *'Error from server (NotFound): deployments.apps "nope" not found'* ]]
	kubectl delete pod "$p" --wait=false
}

@test "errors: 409 Conflict on a stale resourceVersion" {
	p=c-$(rand)
	kubectl run "$p" --image=nginx
	kubectl get pod "$p" -o json >"$MK_API_TMP/$p.json"
	kubectl label pod "$p" bump=1
	run kubectl replace -f "$MK_API_TMP/$p.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Error from server (Conflict): error when replacing \"$MK_API_TMP/$p.json\": Operation cannot be fulfilled on pods \"$p\": the object has been modified; please apply your changes to the latest version and try again"* ]]
	kubectl delete pod "$p" --wait=false
}

@test "errors: 400 bad selector, 415, 413, malformed JSON" {
	run kubectl get pods --field-selector=spec.bogus=1
	[ "$status" -ne 0 ]
	[[ "$output" == *"field label not supported: spec.bogus"* ]]
	run curl -s -X POST -H 'Content-Type: text/plain' -d 'x' "$MK_API_URL/api/v1/namespaces/default/configmaps"
	[[ "$output" == *'"reason":"UnsupportedMediaType"'* ]]
	[[ "$output" == *'"code":415'* ]]
	head -c 4000000 /dev/zero | tr '\0' 'a' >"$MK_API_TMP/big"
	run curl -s -X POST -H 'Content-Type: application/json' --data-binary @"$MK_API_TMP/big" "$MK_API_URL/api/v1/namespaces/default/configmaps"
	[[ "$output" == *'"reason":"RequestEntityTooLarge"'* ]]
	[[ "$output" == *'"code":413'* ]]
	run curl -s -X POST -H 'Content-Type: application/json' -d '{"kind": ' "$MK_API_URL/api/v1/namespaces/default/configmaps"
	[[ "$output" == *'"reason":"BadRequest"'* ]]
	[[ "$output" == *'"code":400'* ]]
	run curl -s "$MK_API_URL/healthz"
	[ "$output" = "ok" ]
}

@test "/metrics counts requests by verb, resource and code" {
	curl -s "$MK_API_URL/api/v1/namespaces/default/pods" >/dev/null
	run curl -s "$MK_API_URL/metrics"
	[[ "$output" == *'apiserver_request_total{code="200",resource="pods",verb="LIST"}'* ]]
	[[ "$output" == *'apiserver_request_duration_seconds_bucket{resource="pods",verb="LIST",le="+Inf"}'* ]]
}

@test "kubectl create deployment (protobuf body), expose, get -o wide" {
	d=web-$(rand)
	run kubectl create deployment "$d" --image=nginx
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/$d created" ]
	run kubectl get deployment "$d" -o jsonpath='{.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].image} {.metadata.generation}'
	[ "$output" = "1 $d nginx 1" ]
	run kubectl expose deployment "$d" --port=80
	[ "$status" -eq 0 ]
	[ "$output" = "service/$d exposed" ]
	ip=$(kubectl get service "$d" -o jsonpath='{.spec.clusterIP}')
	python3 -c 'import ipaddress,sys; assert ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network("10.96.0.0/12"), sys.argv[1]' "$ip"
	[ "$ip" != 10.96.0.1 ]
	run kubectl get service "$d" -o wide
	[[ "$output" == *"$d"*"ClusterIP"*"$ip"*"<none>"*"80/TCP"*"app=$d"* ]]
	run kubectl get deployment "$d" -o wide
	[[ "$output" == *"NAME"*"READY"*"UP-TO-DATE"*"AVAILABLE"*"AGE"*"CONTAINERS"*"IMAGES"*"SELECTOR"* ]]
	[[ "$output" == *"$d"*"0/1"*"nginx"*"nginx"*"app=$d"* ]]
	run kubectl scale deployment "$d" --replicas=4
	[ "$output" = "deployment.apps/$d scaled" ]
	[ "$(kubectl get deployment "$d" -o jsonpath='{.spec.replicas}')" = 4 ]
	kubectl delete service "$d"
	kubectl delete deployment "$d" --wait=false
}

@test "kubectl create configmap, secret, namespace, serviceaccount (protobuf bodies)" {
	s=$(rand)
	run kubectl create configmap "cm-$s" --from-literal=k=v
	[ "$output" = "configmap/cm-$s created" ]
	[ "$(kubectl get configmap "cm-$s" -o jsonpath='{.data.k}')" = v ]
	run kubectl create secret generic "sec-$s" --from-literal=password=hunter2
	[ "$output" = "secret/sec-$s created" ]
	[ "$(kubectl get secret "sec-$s" -o jsonpath='{.data.password}' | base64 -d)" = hunter2 ]
	[ "$(kubectl get secret "sec-$s" -o jsonpath='{.type}')" = Opaque ]
	run kubectl create namespace "ns-$s"
	[ "$output" = "namespace/ns-$s created" ]
	[ "$(kubectl get namespace "ns-$s" -o jsonpath='{.status.phase}')" = Active ]
	run kubectl create serviceaccount "sa-$s" -n "ns-$s"
	[ "$output" = "serviceaccount/sa-$s created" ]
	run kubectl get sa -n "ns-$s"
	[[ "$output" == *"sa-$s"* ]]
	run kubectl get configmaps
	[[ "$output" == *"NAME"*"DATA"*"AGE"* ]]
	[[ "$output" == *"cm-$s"*"1"* ]]
	# Not empty: Terminating until the namespace controller (not running here) empties it.
	run kubectl delete namespace "ns-$s" --wait=false
	[ "$status" -eq 0 ]
	[ "$(kubectl get namespace "ns-$s" -o jsonpath='{.status.phase}')" = Terminating ]
	kubectl delete configmap "cm-$s"
	kubectl delete secret "sec-$s"
}
