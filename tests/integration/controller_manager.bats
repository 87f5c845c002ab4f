#!/usr/bin/env bats
# kube-controller-manager against a live kube-apiserver, driven by the real
# kubectl. No kubelet and no scheduler: lib/pod-ready.py reports pods Running
# and Ready where a kubelet would, and tests register Node objects themselves.

load lib/apiserver
load lib/wait

setup_file() {
	apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

setup() {
	NS=t-$(tr -dc 'a-z0-9' </dev/urandom | head -c 6)
	kubectl create namespace "$NS" >/dev/null
	CM_PID=
	SIM_PID=
	SIM_STATE=$BATS_TEST_TMPDIR/pods
	NODES=()
}

teardown() {
	local pid
	for pid in "$SIM_PID" "$CM_PID" "${CM2_PID:-}"; do
		if [ -n "$pid" ]; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	local n
	for n in "${NODES[@]}"; do
		kubectl delete node "$n" --wait=false >/dev/null 2>&1
	done
	kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
	true
}

# cm_start [flags...]: a controller-manager of this test, without leader
# election unless the flags say otherwise; its log is $CM_LOG.
cm_start() {
	CM_LOG=$BATS_TEST_TMPDIR/cm.log
	"$MK_BIN/kube-controller-manager" --master="$MK_API_URL" --leader-elect=false -v=2 "$@" \
		>>"$CM_LOG" 2>&1 3>&- &
	CM_PID=$!
}

# pods_ready_start: reports pods of $NS Running and Ready until teardown.
pods_ready_start() {
	python3 "$MK_ROOT/tests/integration/lib/pod-ready.py" "$MK_API_URL" "$NS" "$SIM_STATE" \
		2>/dev/null 3>&- &
	SIM_PID=$!
}

# on a timeout of wait_until / wait_eq (lib/wait.bash): the controller-manager's log
wait_diagnose() {
	[ -n "${CM_LOG:-}" ] && tail -20 "$CM_LOG"
}

count() {
	kubectl get "$1" -n "$NS" ${2:+-l "$2"} -o name 2>/dev/null | grep -c . || true
}

count_is() {
	[ "$(count "$1" "${3:-}")" = "$2" ]
}

pods_of_deploy_are() {
	[ "$(kubectl get pods -n "$NS" -l app=web -o name | grep -c .)" = "$1" ]
}

# The Deployment and its ReplicaSets are settled: each controller has seen
# the latest spec and counts as many pods as it asks for.
settled() {
	kubectl get deployment web -n "$NS" -o json |
		jq -e '.status.observedGeneration == .metadata.generation and
			.status.replicas == .spec.replicas' >/dev/null &&
		kubectl get rs -n "$NS" -o json |
		jq -e 'all(.items[]; .status.observedGeneration == .metadata.generation and
			.status.replicas == .spec.replicas)' >/dev/null
}

deploy_field() {
	kubectl get deployment web -n "$NS" -o jsonpath="$1"
}

rs_names() {
	kubectl get rs -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}

@test "kubectl create deployment alone makes only a Deployment; the controller-manager adds a ReplicaSet and Pending pods" {
	run kubectl create deployment web --image=nginx --replicas=3 -n "$NS"
	[ "$status" -eq 0 ]
	# nothing runs yet that could make them
	[ "$(count replicasets)" = 0 ]
	[ "$(count pods)" = 0 ]

	cm_start
	wait_until 20 pods_of_deploy_are 3
	run rs_names
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^web-[bcdfghjklmnpqrstvwxz2456789]+$ ]]
	hash=${lines[0]#web-}
	run kubectl get pods -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.metadata.labels.pod-template-hash} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}{"\n"}{end}'
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^web-$hash-[bcdfghjklmnpqrstvwxz2456789]{5}\ Pending\ $hash\ ReplicaSet/web-$hash\ true$ ]]
	done
	run kubectl get rs "web-$hash" -n "$NS" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}'
	[ "$output" = "1 Deployment/web" ]
	wait_eq 10 3/3/1 deploy_field '{.status.replicas}/{.status.updatedReplicas}/{.status.observedGeneration}'
}

@test "scale 3 -> 5 -> 1 creates and deletes pods, and never more than asked" {
	cm_start
	kubectl create deployment web --image=nginx --replicas=3 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 3
	kubectl scale deployment web --replicas=5 -n "$NS"
	wait_until 20 pods_of_deploy_are 5
	# once the controllers have caught up with the scale, no more are made
	wait_until 20 settled
	pods_of_deploy_are 5
	kubectl scale deployment web --replicas=1 -n "$NS"
	wait_until 20 pods_of_deploy_are 1
	wait_until 20 settled
	pods_of_deploy_are 1
	run rs_names
	[ "${#lines[@]}" -eq 1 ]
	run kubectl get rs -n "$NS" -o jsonpath='{.items[0].spec.replicas} {.items[0].status.replicas}'
	[ "$output" = "1 1" ]
}

@test "rolling update of the image stays within maxSurge and maxUnavailable, rollout status finishes, undo goes back" {
	cm_start
	pods_ready_start
	kubectl create deployment web --image=nginx --replicas=4 -n "$NS" >/dev/null
	kubectl patch deployment web -n "$NS" \
		-p '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":1}}}}' >/dev/null
	run timeout 60 kubectl rollout status deployment/web -n "$NS" --timeout=50s
	[ "$status" -eq 0 ]
	[[ "$output" == *'deployment "web" successfully rolled out'* ]]
	old=$(rs_names)

	: >"$SIM_STATE"
	kubectl set image deployment/web nginx=nginx:1.27 -n "$NS"
	run timeout 60 kubectl rollout status deployment/web -n "$NS" --timeout=50s
	[ "$status" -eq 0 ]
	[[ "$output" == *'deployment "web" successfully rolled out'* ]]
	# 4 replicas, maxSurge 1, maxUnavailable 1: at most 5 pods, at least 3 ready
	run awk 'NF == 2 { if ($1 > max) max = $1; if (min == "" || $2 < min) min = $2 } END { print max, min }' "$SIM_STATE"
	echo "max pods, min ready: $output ($(wc -l <"$SIM_STATE") samples)"
	read -r max min <<<"$output"
	[ "$max" -le 5 ]
	[ "$max" -ge 4 ]
	[ "$min" -ge 3 ]

	run kubectl get rs -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name} {.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/revision} {.spec.template.spec.containers[0].image}{"\n"}{end}'
	[ "${#lines[@]}" -eq 2 ]
	[[ "$output" == *"$old 0 1 nginx"* ]]
	[[ "$output" == *" 4 2 nginx:1.27"* ]]
	[ "$(deploy_field '{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 2 ]

	run kubectl rollout undo deployment/web -n "$NS"
	[ "$status" -eq 0 ]
	run timeout 60 kubectl rollout status deployment/web -n "$NS" --timeout=50s
	[ "$status" -eq 0 ]
	[ "$(deploy_field '{.spec.template.spec.containers[0].image}')" = nginx ]
	# the old ReplicaSet is the new one again, with the next revision
	run kubectl get rs "$old" -n "$NS" -o jsonpath='{.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/revision}'
	[ "$output" = "4 3" ]
	[ "$(deploy_field '{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 3 ]
	run kubectl rollout history deployment/web -n "$NS"
	[[ "$output" == *$'\n2         <none>'* ]]
	[[ "$output" == *$'\n3         <none>'* ]]
	run kubectl get deployment web -n "$NS"
	[[ "${lines[1]}" =~ ^web\ +4/4\ +4\ +4\  ]]
}

@test "a rollout that does not progress exceeds progressDeadlineSeconds" {
	cm_start
	kubectl create deployment web --image=nginx --replicas=1 -n "$NS" >/dev/null
	kubectl patch deployment web -n "$NS" -p '{"spec":{"progressDeadlineSeconds":2}}' >/dev/null
	# no kubelet reports the pod ready: the rollout cannot finish
	run timeout 30 kubectl rollout status deployment/web -n "$NS" --timeout=25s
	[ "$status" -ne 0 ]
	[[ "$output" == *'error: deployment "web" exceeded its progress deadline'* ]]
	run kubectl get deployment web -n "$NS" -o jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}|{.status.conditions[?(@.type=="Progressing")].status}|{.status.conditions[?(@.type=="Progressing")].message}'
	[[ "$output" =~ ^ProgressDeadlineExceeded\|False\|ReplicaSet\ \"web-[a-z0-9]+\"\ has\ timed\ out\ progressing\.$ ]]
	# once pods get ready it progresses again and completes
	pods_ready_start
	wait_eq 20 NewReplicaSetAvailable deploy_field '{.status.conditions[?(@.type=="Progressing")].reason}'
	run timeout 40 kubectl rollout status deployment/web -n "$NS" --timeout=30s
	[ "$status" -eq 0 ]
}

@test "revisionHistoryLimit removes the oldest scaled-down ReplicaSets" {
	cm_start
	pods_ready_start
	kubectl create deployment web --image=nginx:1 --replicas=1 -n "$NS" >/dev/null
	kubectl patch deployment web -n "$NS" -p '{"spec":{"revisionHistoryLimit":1}}' >/dev/null
	for v in 2 3 4; do
		kubectl set image deployment/web nginx=nginx:$v -n "$NS" >/dev/null
		timeout 60 kubectl rollout status deployment/web -n "$NS" --timeout=50s >/dev/null
	done
	wait_until 10 count_is replicasets 2
	run kubectl get rs -n "$NS" -o jsonpath='{range .items[*]}{.spec.template.spec.containers[0].image}{"\n"}{end}'
	[[ "$output" == *"nginx:4"* ]]
	[[ "$output" == *"nginx:3"* ]]
}

@test "kubectl expose: Endpoints and EndpointSlice list exactly the Ready pods and follow readiness" {
	cm_start
	kubectl create deployment web --image=nginx --replicas=3 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 3
	run kubectl expose deployment web --port=80 -n "$NS"
	[ "$status" -eq 0 ]
	# no pod has an IP yet: nothing to list
	wait_until 10 kubectl get endpoints web -n "$NS"
	[ -z "$(kubectl get endpoints web -n "$NS" -o jsonpath='{.subsets}')" ]

	python3 "$MK_ROOT/tests/integration/lib/pod-ready.py" "$MK_API_URL" "$NS" "$SIM_STATE" --once
	want=$(kubectl get pods -n "$NS" -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort | xargs)
	[ "$(echo $want | wc -w)" = 3 ]
	ep_ready() {
		kubectl get endpoints web -n "$NS" -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{"\n"}{end}' | sort | xargs
	}
	slice_ready() {
		kubectl get endpointslices -n "$NS" -l kubernetes.io/service-name=web -o json |
			python3 -c 'import json, sys
items = json.load(sys.stdin)["items"]
assert len(items) == 1, len(items)
print(" ".join(sorted(e["addresses"][0] for e in items[0]["endpoints"] if e["conditions"]["ready"])))'
	}
	wait_eq 10 "$want" ep_ready
	wait_eq 10 "$want" slice_ready

	run kubectl get endpoints web -n "$NS" -o jsonpath='{.subsets[0].ports[0].port} {.metadata.labels.endpointslice\.kubernetes\.io/skip-mirror}'
	[ "$output" = "80 true" ]
	run kubectl get endpointslices -n "$NS" -l kubernetes.io/service-name=web -o json
	echo "$output" | python3 -c 'import json, sys
s = json.load(sys.stdin)["items"][0]
m = s["metadata"]
assert m["name"].startswith("web-") and len(m["name"]) == 9, m["name"]
assert m["generateName"] == "web-"
assert m["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
assert m["labels"]["kubernetes.io/service-name"] == "web"
o = m["ownerReferences"][0]
assert (o["kind"], o["name"], o["controller"]) == ("Service", "web", True), o
assert s["addressType"] == "IPv4"
assert s["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}], s["ports"]
for e in s["endpoints"]:
    assert e["targetRef"]["kind"] == "Pod"'

	# one pod stops being ready: it moves to notReadyAddresses / ready=false
	pod=$(kubectl get pods -n "$NS" -o jsonpath='{.items[0].metadata.name}')
	ip=$(kubectl get pod "$pod" -n "$NS" -o jsonpath='{.status.podIP}')
	kubectl patch pod "$pod" -n "$NS" --subresource=status --type=json \
		-p '[{"op":"replace","path":"/status/conditions/1/status","value":"False"}]' >/dev/null
	[ "$(kubectl get pod "$pod" -n "$NS" -o jsonpath='{.status.conditions[1].type}={.status.conditions[1].status}')" = "Ready=False" ]
	rest=$(echo $want | tr ' ' '\n' | grep -vx "$ip" | xargs)
	wait_eq 10 "$rest" ep_ready
	wait_eq 10 "$rest" slice_ready
	run kubectl get endpoints web -n "$NS" -o jsonpath='{.subsets[0].notReadyAddresses[0].ip}'
	[ "$output" = "$ip" ]

	# the Service goes: its Endpoints and EndpointSlice go too
	kubectl delete service web -n "$NS" >/dev/null
	wait_until 10 count_is endpoints 0
	wait_until 10 count_is endpointslices 0
}

@test "EndpointSlices hold at most 100 endpoints each, and shrink back" {
	cm_start
	pods_ready_start
	kubectl create deployment web --image=nginx --replicas=250 -n "$NS" >/dev/null
	kubectl expose deployment web --port=80 -n "$NS" >/dev/null
	sizes() {
		kubectl get endpointslices -n "$NS" -l kubernetes.io/service-name=web -o json |
			python3 -c 'import json, sys
items = json.load(sys.stdin)["items"]
ips = [e["addresses"][0] for s in items for e in s["endpoints"] if e["conditions"]["ready"]]
assert len(ips) == len(set(ips)), "an address in two slices"
print(" ".join(str(n) for n in sorted(len(s["endpoints"]) for s in items)))'
	}
	wait_eq 60 "50 100 100" sizes
	kubectl scale deployment web --replicas=30 -n "$NS" >/dev/null
	wait_eq 60 "30" sizes
}

@test "the kubernetes Service's endpoints are left to the API server" {
	# one worker: Services are handled in the order they are queued, the
	# kubernetes one (from the first list) before one created afterwards
	cm_start --concurrent-service-endpoint-syncs=1
	kubectl create service clusterip probe --tcp=80 -n "$NS" >/dev/null
	# kubectl get exits 0 on an empty list: wait for a name
	probe_slice() {
		[ -n "$(kubectl get endpointslices -n "$NS" -l kubernetes.io/service-name=probe -o name)" ]
	}
	wait_until 20 probe_slice
	run kubectl get endpointslices -n default -l endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io,kubernetes.io/service-name=kubernetes -o name
	[ -z "$output" ]
}

@test "every namespace gets a default ServiceAccount" {
	cm_start
	wait_until 10 kubectl get serviceaccount default -n "$NS"
	kubectl delete serviceaccount default -n "$NS" >/dev/null
	wait_until 10 kubectl get serviceaccount default -n "$NS"
}

@test "deleting the Deployment removes its ReplicaSets and pods (background and foreground)" {
	cm_start
	kubectl create deployment web --image=nginx --replicas=3 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 3
	run kubectl delete deployment web -n "$NS"
	[ "$status" -eq 0 ]
	wait_until 20 count_is replicasets 0
	wait_until 20 count_is pods 0

	kubectl create deployment web --image=nginx --replicas=2 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 2
	# kubectl waits for the Deployment, which goes only after its dependents
	run timeout 30 kubectl delete deployment web -n "$NS" --cascade=foreground
	[ "$status" -eq 0 ]
	[ "$(count replicasets)" = 0 ]
	[ "$(count pods)" = 0 ]
}

@test "deleting the Deployment with --cascade=orphan keeps its ReplicaSet and pods" {
	# The orphan finalizer is the API server's part: probe for it first.
	kubectl create configmap probe -n "$NS" >/dev/null
	kubectl patch configmap probe -n "$NS" -p '{"metadata":{"finalizers":["example.com/hold"]}}' >/dev/null
	curl -s -X DELETE -H 'Content-Type: application/json' -d '{"propagationPolicy":"Orphan"}' \
		"$MK_API_URL/api/v1/namespaces/$NS/configmaps/probe" >/dev/null
	fins=$(kubectl get configmap probe -n "$NS" -o jsonpath='{.metadata.finalizers}')
	kubectl patch configmap probe -n "$NS" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
	if [[ "$fins" != *orphan* ]]; then
		skip "the API server deletes at once on propagationPolicy Orphan instead of adding the orphan finalizer"
	fi

	cm_start
	kubectl create deployment web --image=nginx --replicas=2 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 2
	rs=$(rs_names)
	run timeout 30 kubectl delete deployment web -n "$NS" --cascade=orphan
	[ "$status" -eq 0 ]
	wait_eq 10 "" kubectl get rs "$rs" -n "$NS" -o jsonpath='{.metadata.ownerReferences}'
	run kubectl get pods -n "$NS" -o jsonpath='{.items[*].metadata.ownerReferences[0].name}'
	[ "$output" = "$rs $rs" ]
	# the garbage collector is done with the Deployment: it is gone (its
	# orphan finalizer removed) after the owner references were
	run kubectl get deployment web -n "$NS"
	[[ "$output" == *NotFound* ]]
	[ "$(count replicasets)" = 1 ]
	[ "$(count pods)" = 2 ]
}

@test "deleting a namespace empties it and removes it" {
	cm_start
	kubectl create deployment web --image=nginx --replicas=2 -n "$NS" >/dev/null
	kubectl create configmap cfg -n "$NS" --from-literal=a=b >/dev/null
	wait_until 20 pods_of_deploy_are 2
	kubectl expose deployment web --port=80 -n "$NS" >/dev/null
	run timeout 60 kubectl delete namespace "$NS" --timeout=50s
	[ "$status" -eq 0 ]
	run kubectl get namespace "$NS"
	[ "$status" -ne 0 ]
	[[ "$output" == *"NotFound"* ]]
	run kubectl get pods,rs,deploy,svc,configmaps -n "$NS" -o name
	[ -z "$output" ]
}

@test "kubectl get events tells ScalingReplicaSet and SuccessfulCreate" {
	cm_start
	kubectl create deployment web --image=nginx --replicas=2 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 2
	rs=$(rs_names)
	events_at_least() {
		[ "$(count events)" -ge "$1" ]
	}
	wait_until 10 events_at_least 3
	run kubectl get events -n "$NS"
	echo "$output"
	[[ "$output" == *"ScalingReplicaSet"*"deployment/web"*"Scaled up replica set $rs from 0 to 2"* ]]
	[[ "$output" == *"SuccessfulCreate"*"replicaset/$rs"*"Created pod: $rs-"* ]]
	run kubectl describe deployment web -n "$NS"
	[[ "$output" == *"Scaled up replica set $rs from 0 to 2"* ]]
	kubectl scale deployment web --replicas=1 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 1
	run kubectl get events -n "$NS"
	[[ "$output" == *"SuccessfulDelete"*"replicaset/$rs"*"Deleted pod: $rs-"* ]]
	[[ "$output" == *"Scaled down replica set $rs from 2 to 1"* ]]
}

# add_node NAME: a Node with a fresh Ready heartbeat.
add_node() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	kubectl create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$1"},
 "status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
  "allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},
  "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady",
   "message":"kubelet is posting ready status","lastHeartbeatTime":"$now",
   "lastTransitionTime":"$now"}]}}
EOF
	NODES+=("$1")
}

@test "node IPAM gives 3 nodes 3 distinct /24s of the cluster CIDR, released on delete" {
	cm_start --controllers=nodeipam --allocate-node-cidrs --cluster-cidr=10.244.0.0/16 \
		--node-cidr-mask-size=24
	p=n-$(tr -dc 'a-z0-9' </dev/urandom | head -c 5)
	add_node "$p-a"
	add_node "$p-b"
	add_node "$p-c"
	cidrs() {
		local n
		for n in "${NODES[@]}"; do
			kubectl get node "$n" -o jsonpath='{.spec.podCIDR}={.spec.podCIDRs[0]}{"\n"}'
		done
	}
	all_set() {
		[ "$(cidrs | grep -cE '^10\.244\.[0-9]+\.0/24=10\.244\.[0-9]+\.0/24$')" = 3 ]
	}
	wait_until 10 all_set
	run cidrs
	echo "$output"
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" = 3 ]
	for l in "${lines[@]}"; do
		[ "${l%%=*}" = "${l#*=}" ]
	done
	a=$(kubectl get node "$p-a" -o jsonpath='{.spec.podCIDR}')
	# a restarted manager keeps what is assigned; a deleted node's CIDR is reused
	kill "$CM_PID"
	wait "$CM_PID" 2>/dev/null || true
	cm_start --controllers=nodeipam --allocate-node-cidrs --cluster-cidr=10.244.0.0/16
	kubectl delete node "$p-a" >/dev/null
	add_node "$p-d"
	wait_eq 10 "$a" kubectl get node "$p-d" -o jsonpath='{.spec.podCIDR}'
	run cidrs
	[ "$(printf '%s\n' "${lines[@]}" | grep '^10\.244\.' | sort -u | wc -l)" = 3 ]
}

@test "a node whose heartbeat stops turns Ready=Unknown with the unreachable taint, and its pods are evicted" {
	# 6 s: the test renews the live node's Lease once per poll, and on a loaded
	# machine a poll of kubectl calls can take a few seconds
	cm_start --controllers=nodelifecycle --node-monitor-grace-period=6s \
		--node-monitor-period=1s --pod-eviction-timeout=2s
	p=n-$(tr -dc 'a-z0-9' </dev/urandom | head -c 5)
	add_node "$p-live"
	add_node "$p-dead"
	kubectl run stay -n "$NS" --image=nginx --overrides='{"spec":{"nodeName":"'"$p-dead"'","tolerations":[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute"}]}}' >/dev/null
	kubectl run gone -n "$NS" --image=nginx --overrides='{"spec":{"nodeName":"'"$p-dead"'","tolerations":[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":2}]}}' >/dev/null
	# the live node keeps heartbeating through its Lease, as a kubelet does
	renew() {
		local now
		now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
		curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' \
			"$MK_API_URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$p-live" \
			-d '{"spec":{"renewTime":"'"$now"'"}}' | grep -q renewTime ||
			kubectl create -f - >/dev/null <<EOF
{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"$p-live","namespace":"kube-node-lease"},
 "spec":{"holderIdentity":"$p-live","leaseDurationSeconds":40,"renewTime":"$now"}}
EOF
	}
	kubectl create namespace kube-node-lease >/dev/null 2>&1 || true
	unknown() {
		renew
		[ "$(kubectl get node "$p-dead" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = Unknown ]
	}
	wait_until 20 unknown
	run kubectl get node "$p-dead" -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}|{.status.conditions[?(@.type=="Ready")].message}'
	[ "$output" = "NodeStatusUnknown|Kubelet stopped posting node status." ]
	tainted() {
		renew
		[ "$(kubectl get node "$p-dead" -o jsonpath='{range .spec.taints[*]}{.key}:{.effect}{"\n"}{end}' | sort | xargs)" = \
			"node.kubernetes.io/unreachable:NoExecute node.kubernetes.io/unreachable:NoSchedule" ]
	}
	wait_until 10 tainted
	run kubectl get nodes
	echo "$output"
	[[ "$output" == *"$p-dead"*"NotReady"* ]]
	# the pod tolerating the taint for 2 s goes, the one tolerating it
	# forever stays
	gone() {
		renew
		# bound pods are deleted gracefully: a deletionTimestamp, or gone
		! kubectl get pod gone -n "$NS" >/dev/null 2>&1 ||
			[ -n "$(kubectl get pod gone -n "$NS" -o jsonpath='{.metadata.deletionTimestamp}')" ]
	}
	wait_until 20 gone
	renew
	[ "$(kubectl get node "$p-live" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
	[ -z "$(kubectl get node "$p-live" -o jsonpath='{.spec.taints}')" ]
	# a cordoned node gets the unschedulable taint, uncordoned loses it
	kubectl cordon "$p-live" >/dev/null
	cordoned() {
		renew
		kubectl get node "$p-live" -o jsonpath='{.spec.taints[*].key}'
	}
	wait_eq 10 node.kubernetes.io/unschedulable cordoned
	kubectl uncordon "$p-live" >/dev/null
	wait_eq 10 "" cordoned
	run kubectl get pod stay -n "$NS" -o jsonpath='{.metadata.deletionTimestamp}'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	curl -s -X DELETE "$MK_API_URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$p-live" >/dev/null
}

# renewed_since LEASE TIME: the lease's renewTime is no longer TIME
renewed_since() {
	local now
	now=$(kubectl get lease "$1" -n kube-system -o jsonpath='{.spec.renewTime}')
	[ -n "$now" ] && [ "$now" != "$2" ]
}

@test "leader election: of two controller-managers exactly one acts" {
	lease=kcm-$(tr -dc 'a-z0-9' </dev/urandom | head -c 5)
	cm_start --leader-elect=true --leader-elect-resource-name="$lease" \
		--leader-elect-lease-duration=4s --leader-elect-renew-deadline=3s \
		--leader-elect-retry-period=500ms
	CM2_LOG=$BATS_TEST_TMPDIR/cm2.log
	"$MK_BIN/kube-controller-manager" --master="$MK_API_URL" -v=2 \
		--leader-elect-resource-name="$lease" --leader-elect-lease-duration=4s \
		--leader-elect-renew-deadline=3s --leader-elect-retry-period=500ms \
		>>"$CM2_LOG" 2>&1 3>&- &
	CM2_PID=$!
	wait_until 10 kubectl get lease "$lease" -n kube-system
	# both are candidates, and the holder renewed twice since: the other had
	# its retry periods to try, and did not get it
	wait_until 10 grep -q 'attempting to acquire leader lease' "$CM_LOG"
	wait_until 10 grep -q 'attempting to acquire leader lease' "$CM2_LOG"
	renewed=$(kubectl get lease "$lease" -n kube-system -o jsonpath='{.spec.renewTime}')
	wait_until 20 renewed_since "$lease" "$renewed"
	renewed=$(kubectl get lease "$lease" -n kube-system -o jsonpath='{.spec.renewTime}')
	wait_until 20 renewed_since "$lease" "$renewed"
	holder=$(kubectl get lease "$lease" -n kube-system -o jsonpath='{.spec.holderIdentity}')
	[[ "$holder" == "$(hostname)_"* ]]
	[ "$(grep -l 'successfully acquired lease' "$CM_LOG" "$CM2_LOG" | wc -l)" = 1 ]
	[ "$(grep -l 'Caches are synced' "$CM_LOG" "$CM2_LOG" | wc -l)" = 1 ]
	kubectl create deployment web --image=nginx --replicas=2 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 2

	# the leader goes away: the other takes over once the lease expires
	if grep -q 'successfully acquired lease' "$CM_LOG"; then
		kill "$CM_PID"; wait "$CM_PID" 2>/dev/null; CM_PID=; standby=$CM2_LOG
	else
		kill "$CM2_PID"; wait "$CM2_PID" 2>/dev/null; CM2_PID=; standby=$CM_LOG
	fi
	wait_until 20 grep -q 'successfully acquired lease' "$standby"
	kubectl scale deployment web --replicas=3 -n "$NS" >/dev/null
	wait_until 20 pods_of_deploy_are 3
	kubectl delete lease "$lease" -n kube-system >/dev/null 2>&1 || true
}

# cert_of PORT: the SHA-256 fingerprint of the certificate served on PORT
cert_of() {
	openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256
}

@test "secure port: HTTPS health for anyone, self-signed in memory, from --cert-dir, or --tls-cert-file" {
	port=$(_apiserver_free_port)
	cm_start --secure-port="$port" --bind-address=127.0.0.1
	wait_until 20 curl -fsk "https://127.0.0.1:$port/healthz"
	for p in healthz livez readyz; do
		[ "$(curl -sk "https://127.0.0.1:$port/$p")" = ok ]
	done
	grep -q "Generated self-signed cert in-memory" "$CM_LOG"
	grep -q "Serving securely on 127.0.0.1:$port" "$CM_LOG"
	subject=$(openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null |
		openssl x509 -noout -subject)
	[[ "$subject" =~ CN\ =\ localhost@[0-9]+$ ]]
	run curl -s "https://127.0.0.1:$port/healthz"
	[ "$status" -eq 60 ] # self-signed: not trusted without -k
	run curl -s "http://127.0.0.1:$port/healthz"
	[ "$status" -ne 0 ] # TLS only
	[[ "$output" != ok ]]
	kill "$CM_PID"; wait "$CM_PID" 2>/dev/null; CM_PID=

	# --cert-dir: made once, written, served, and reused by the next start
	dir=$BATS_TEST_TMPDIR/certs
	cm_start --secure-port="$port" --bind-address=127.0.0.1 --cert-dir="$dir"
	wait_until 20 curl -fs --cacert "$dir/kube-controller-manager.crt" "https://localhost:$port/healthz"
	[ "$(stat -c %a "$dir/kube-controller-manager.key")" = 600 ]
	first=$(cert_of "$port")
	kill "$CM_PID"; wait "$CM_PID" 2>/dev/null; CM_PID=
	cm_start --secure-port="$port" --bind-address=127.0.0.1 --cert-dir="$dir"
	wait_until 20 curl -fs --cacert "$dir/kube-controller-manager.crt" "https://localhost:$port/healthz"
	[ "$(cert_of "$port")" = "$first" ]
	kill "$CM_PID"; wait "$CM_PID" 2>/dev/null; CM_PID=

	# --tls-cert-file and --tls-private-key-file: that pair, and both are needed
	mv "$dir/kube-controller-manager.crt" "$BATS_TEST_TMPDIR/own.crt"
	mv "$dir/kube-controller-manager.key" "$BATS_TEST_TMPDIR/own.key"
	cm_start --secure-port="$port" --bind-address=127.0.0.1 --cert-dir="$dir" \
		--tls-cert-file="$BATS_TEST_TMPDIR/own.crt" --tls-private-key-file="$BATS_TEST_TMPDIR/own.key"
	wait_until 20 curl -fs --cacert "$BATS_TEST_TMPDIR/own.crt" "https://localhost:$port/healthz"
	[ "$(cert_of "$port")" = "$first" ]
	[ ! -e "$dir/kube-controller-manager.crt" ]
	kill "$CM_PID"; wait "$CM_PID" 2>/dev/null; CM_PID=
	run "$MK_BIN/kube-controller-manager" --master="$MK_API_URL" --leader-elect=false \
		--secure-port="$port" --tls-cert-file="$BATS_TEST_TMPDIR/own.crt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--tls-cert-file and --tls-private-key-file must be given together"* ]]
}

@test "flags: unknown flag is one line and exit 2, --help lists the upstream flags" {
	run "$MK_BIN/kube-controller-manager" --no-such-flag
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown flag: --no-such-flag"* ]]
	run "$MK_BIN/kube-controller-manager" --help
	[ "$status" -eq 0 ]
	for f in master kubeconfig controllers allocate-node-cidrs cluster-cidr node-cidr-mask-size \
		node-monitor-grace-period node-monitor-period leader-elect concurrent-deployment-syncs; do
		[[ "$output" == *"--$f"* ]]
	done
	run "$MK_BIN/kube-controller-manager" --master="$MK_API_URL" --allocate-node-cidrs
	[ "$status" -eq 2 ]
}

@test "--controllers=-deployment leaves Deployments alone while ReplicaSets still work" {
	cm_start --controllers='*,-deployment'
	kubectl create deployment web --image=nginx -n "$NS" >/dev/null
	kubectl create -n "$NS" -f - >/dev/null <<'EOF'
{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"solo"},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"solo"}},
  "template":{"metadata":{"labels":{"app":"solo"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}
EOF
	wait_until 20 count_is pods 2 app=solo
	# the deployment controller was never started
	wait_until 10 grep -q 'controller deployment is disabled' "$CM_LOG"
	[ "$(rs_names)" = solo ]
}
