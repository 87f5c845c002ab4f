#!/usr/bin/env bats
# The control plane's tutorial steps end to end: kube-apiserver, then
# kube-controller-manager, then kube-scheduler, driven by the real kubectl.
# Three Node objects stand for the machines; lib/pod-ready.py --kubelet plays
# their kubelets (reports bound pods Running and Ready, finishes deletions).

load ../integration/lib/apiserver

setup() {
	apiserver_start
	CM_PID=
	SCHED_PID=
	KUBELET_PID=
	LOGS=$BATS_TEST_TMPDIR
}

teardown() {
	local pid
	for pid in "$KUBELET_PID" "$SCHED_PID" "$CM_PID"; do
		if [ -n "$pid" ]; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	apiserver_stop
	true
}

# on a timeout of wait_until (lib/wait.bash): the daemons' last words
wait_diagnose() {
	tail -5 "$LOGS"/*.log
}

add_node() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	kubectl create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$1","labels":{"kubernetes.io/hostname":"$1"}},
 "status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
  "allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},
  "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady",
   "message":"kubelet is posting ready status","lastHeartbeatTime":"$now",
   "lastTransitionTime":"$now"}]}}
EOF
}

web_pods() {
	kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase}{"\n"}{end}'
}

pods_are() {
	[ "$(web_pods | grep -c .)" = "$1" ]
}

bound_are() {
	[ "$(web_pods | awk '$2 != "" && $3 == "Running"' | grep -c .)" = "$1" ]
}

@test "tutorial: Deployment -> ReplicaSet and Pending pods -> bound, spread, exposed, scaled, deleted" {
	for n in node-a node-b node-c; do
		add_node "$n"
	done
	run kubectl create deployment web --image=nginx
	[ "$status" -eq 0 ]
	[ "$output" = "deployment.apps/web created" ]
	# only the API server runs: nothing could make them
	[ -z "$(kubectl get rs,pods -o name)" ]

	"$MK_BIN/kube-controller-manager" --kubeconfig="$KUBECONFIG" --allocate-node-cidrs \
		--cluster-cidr=10.244.0.0/16 >"$LOGS/cm.log" 2>&1 3>&- &
	CM_PID=$!
	wait_until 20 pods_are 1
	run kubectl get pods -l app=web
	[[ "${lines[1]}" =~ ^web-[a-z0-9]+-[a-z0-9]{5}\ +0/1\ +Pending\  ]]
	# every node got its /24
	[ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{"\n"}{end}' | sort -u | grep -c '^10\.244\.[0-9]*\.0/24$')" = 3 ]

	"$MK_BIN/kube-scheduler" --kubeconfig="$KUBECONFIG" >"$LOGS/sched.log" 2>&1 3>&- &
	SCHED_PID=$!
	python3 "$MK_ROOT/tests/integration/lib/pod-ready.py" "$MK_API_URL" default \
		"$LOGS/pods" --kubelet 2>/dev/null 3>&- &
	KUBELET_PID=$!
	wait_until 30 bound_are 1

	kubectl scale deployment web --replicas=3 >/dev/null
	wait_until 30 bound_are 3
	run timeout 40 kubectl rollout status deployment/web --timeout=30s
	[ "$status" -eq 0 ]
	# one per node
	[ "$(web_pods | awk '{print $2}' | sort -u | wc -l)" = 3 ]
	run kubectl get deployment web
	[[ "${lines[1]}" =~ ^web\ +3/3\ +3\ +3\  ]]

	kubectl expose deployment web --port=80 >/dev/null
	want=$(kubectl get pods -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort | xargs)
	ep() {
		kubectl get endpoints web -o jsonpath='{range .subsets[*].addresses[*]}{.ip}{"\n"}{end}' | sort | xargs
	}
	ep_is() {
		[ "$(ep)" = "$1" ]
	}
	wait_until 10 ep_is "$want"
	[ "$(echo "$want" | wc -w)" = 3 ]
	run kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.nodeName}{"\n"}{end}'
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | xargs)" = "node-a node-b node-c" ]

	kubectl scale deployment web --replicas=1 >/dev/null
	wait_until 30 pods_are 1
	wait_until 10 ep_is "$(kubectl get pods -l app=web -o jsonpath='{.items[0].status.podIP}')"

	run timeout 40 kubectl delete deployment web
	[ "$status" -eq 0 ]
	wait_until 30 pods_are 0
	[ -z "$(kubectl get rs -o name)" ]
	run kubectl get events
	[[ "$output" == *"Scheduled"* ]]
	[[ "$output" == *"ScalingReplicaSet"* ]]
	[[ "$output" == *"SuccessfulCreate"* ]]
}
