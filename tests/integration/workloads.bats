#!/usr/bin/env bats
# DaemonSets, StatefulSets, PodDisruptionBudgets, eviction and cordon/drain, end to end
# through the real kubectl against kube-apiserver + kube-controller-manager +
# kube-scheduler. Nodes are registered by the test as a kubelet would;
# lib/pod-ready.py plays the kubelets (bound pods turn Running and Ready,
# graceful deletions are finished).

load lib/apiserver
load lib/wait

setup_file() {
	apiserver_start
	# no nodelifecycle: the test's nodes post no heartbeats
	"$MK_BIN/kube-controller-manager" --master="$MK_API_URL" --leader-elect=false -v=2 \
		--controllers=daemonset,disruption,deployment,replicaset,statefulset,garbagecollector,namespace \
		>>"$MK_API_TMP/cm.log" 2>&1 3>&- &
	echo $! >"$MK_API_TMP/cm.pid"
	"$MK_BIN/kube-scheduler" --master="$MK_API_URL" --leader-elect=false \
		>>"$MK_API_TMP/sched.log" 2>&1 3>&- &
	echo $! >"$MK_API_TMP/sched.pid"
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	local f pid
	for f in cm sched; do
		pid=$(cat "$MK_API_TMP/$f.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	apiserver_stop
}

setup() {
	R=$(tr -dc 'a-z0-9' </dev/urandom | head -c 6)
	NS=t-$R
	api POST /api/v1/namespaces "{\"metadata\":{\"name\":\"$NS\"}}" >/dev/null
	NODES=()
	kubelets_start
}

# kubelets_start: bound pods of $NS turn Running and Ready until teardown
kubelets_start() {
	python3 "$MK_ROOT/tests/integration/lib/pod-ready.py" "$MK_API_URL" "$NS" \
		"$BATS_TEST_TMPDIR/pods" --kubelet 2>/dev/null 3>&- &
	SIM_PID=$!
}

teardown() {
	local p
	for p in "${SIM_PID:-}" "${DRAIN_PID:-}"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	local n
	for n in "${NODES[@]}"; do
		api DELETE "/api/v1/nodes/$n" >/dev/null 2>&1
	done
	api DELETE "/api/v1/namespaces/$NS" >/dev/null 2>&1
	true
}

wait_diagnose() {
	tail -15 "$MK_API_TMP/cm.log"
	kubectl get pods -n "$NS" -o wide
}

k() {
	kubectl -n "$NS" "$@"
}

# api METHOD PATH [JSON]: the API server's answer (status checks read it
# through curl, which costs far less than a kubectl run)
api() {
	curl -sf --max-time 5 -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} \
		"$MK_API_URL$2"
}

# node NAME [LABELS-JSON] [TAINTS-JSON]: a Ready node with room for 110 pods
node() {
	local name=$1-$R
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":%s},"spec":{"taints":%s},"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}]}}' \
		"$name" "${2:-"{\"kubernetes.io/hostname\":\"$name\"}"}" "${3:-[]}" |
		api POST /api/v1/nodes @- >/dev/null
	NODES+=("$name")
}

# daemonset NAME: selects the nodes labelled role=ds-$R
daemonset() {
	k apply -f - <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: $1}
spec:
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      nodeSelector: {role: ds-$R}
      containers: [{name: c, image: busybox:1.36}]
YAML
}

# ds_field NAME JQ-FILTER
ds_field() {
	api GET "/apis/apps/v1/namespaces/$NS/daemonsets/$1" | jq -r "$2"
}

# running pods of app $1 (jq array)
pods_of() {
	api GET "/api/v1/namespaces/$NS/pods?labelSelector=app%3D$1" |
		jq -c '[.items[] | select(.metadata.deletionTimestamp == null)]'
}

# "node:image" of every running pod of ds $1, sorted
placement() {
	pods_of "$1" | jq -r '.[] | "\(.spec.nodeName // ""):\(.spec.containers[0].image)"' |
		sort | paste -sd' '
}

labelled() {
	printf '{"role":"ds-%s","kubernetes.io/hostname":"%s-%s"}' "$R" "$1" "$R"
}

@test "a DaemonSet runs one pod on each node it selects and tolerates, follows nodes coming and going" {
	node a "$(labelled a)"
	node b "$(labelled b)"
	node c "$(labelled c)"
	node tainted "$(labelled tainted)" '[{"key":"dedicated","value":"db","effect":"NoSchedule"}]'
	node other
	# a cordoned node still gets its daemon pod (upstream's added tolerations)
	kubectl cordon "c-$R" >/dev/null
	run daemonset agent
	[ "$status" -eq 0 ]
	[ "$output" = "daemonset.apps/agent created" ]

	want="a-$R:busybox:1.36 b-$R:busybox:1.36 c-$R:busybox:1.36"
	wait_eq 10 "$want" placement agent
	wait_eq 10 "3 3 3 3 3" ds_field agent '.status | "\(.desiredNumberScheduled) \(.currentNumberScheduled) \(.numberReady) \(.updatedNumberScheduled) \(.numberAvailable)"'
	run k get ds agent
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^NAME\ +DESIRED\ +CURRENT\ +READY\ +UP-TO-DATE\ +AVAILABLE\ +NODE\ SELECTOR\ +AGE$ ]]
	[[ "${lines[1]}" =~ ^agent\ +3\ +3\ +3\ +3\ +3\ +role=ds-$R\ + ]]
	# the pods are pinned by node affinity and carry upstream's tolerations
	pod=$(pods_of agent | jq -c --arg n "a-$R" '.[] | select(.spec.nodeName == $n)')
	[ "$(jq -c '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms' <<<"$pod")" = "[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"a-$R\"]}]}]" ]
	[ "$(jq -r '[.spec.tolerations[].key] | sort | join(",")' <<<"$pod")" = "node.kubernetes.io/disk-pressure,node.kubernetes.io/memory-pressure,node.kubernetes.io/not-ready,node.kubernetes.io/pid-pressure,node.kubernetes.io/unreachable,node.kubernetes.io/unschedulable" ]
	[ "$(jq -r '.metadata.ownerReferences[0].kind + "/" + .metadata.ownerReferences[0].name' <<<"$pod")" = DaemonSet/agent ]
	[ -n "$(jq -r '.metadata.labels["controller-revision-hash"]' <<<"$pod")" ]
	run k rollout status ds/agent --timeout=5s
	[ "$status" -eq 0 ]
	[ "$output" = 'daemon set "agent" successfully rolled out' ]

	# a new node gets a pod
	node d "$(labelled d)"
	wait_eq 10 "$want d-$R:busybox:1.36" placement agent
	wait_eq 10 "4 4" ds_field agent '.status | "\(.desiredNumberScheduled) \(.numberReady)"'
	# a node that loses the label loses the pod; a removed node too
	kubectl label node "b-$R" role- >/dev/null
	api DELETE "/api/v1/nodes/d-$R" >/dev/null
	wait_eq 10 "a-$R:busybox:1.36 c-$R:busybox:1.36" placement agent
	wait_eq 10 "2 2 0" ds_field agent '.status | "\(.desiredNumberScheduled) \(.currentNumberScheduled) \(.numberMisscheduled)"'
	# the tainted node never got one
	[ "$(pods_of agent | jq --arg n "tainted-$R" '[.[] | select(.spec.nodeName == $n)] | length')" = 0 ]
}

@test "a DaemonSet rolls a new template out node by node, with history" {
	for n in a b c; do node "$n" "$(labelled "$n")"; done
	daemonset agent >/dev/null
	wait_eq 10 "3 3" ds_field agent '.status | "\(.numberReady) \(.updatedNumberScheduled)"'
	old_hash=$(pods_of agent | jq -r '.[0].metadata.labels["controller-revision-hash"]')
	: >"$BATS_TEST_TMPDIR/pods"

	run k set image ds/agent c=busybox:1.37
	[ "$status" -eq 0 ]
	run k rollout status ds/agent --timeout=15s
	[ "$status" -eq 0 ]
	[[ "$output" == *'daemon set "agent" successfully rolled out'* ]]
	[ "$(placement agent)" = "a-$R:busybox:1.37 b-$R:busybox:1.37 c-$R:busybox:1.37" ]
	hashes=$(pods_of agent | jq -r '[.[].metadata.labels["controller-revision-hash"]] | unique | join(",")')
	[[ "$hashes" =~ ^[bcdfghjklmnpqrstvwxz2456789]+$ ]]
	[ "$hashes" != "$old_hash" ]
	new_hash=$hashes
	# maxUnavailable 1: never fewer than 2 of the 3 pods ready meanwhile
	[ "$(awk '$2 < 2' "$BATS_TEST_TMPDIR/pods" | wc -l)" = 0 ]
	[ -s "$BATS_TEST_TMPDIR/pods" ]

	# with maxSurge the new pod starts beside the old one: all 3 stay ready
	k patch ds agent --type=merge -p '{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}' >/dev/null
	wait_eq 10 true ds_field agent '.status.observedGeneration == .metadata.generation'
	: >"$BATS_TEST_TMPDIR/pods"
	k set image ds/agent c=busybox:1.36 >/dev/null
	run k rollout status ds/agent --timeout=15s
	[ "$status" -eq 0 ]
	[ "$(placement agent)" = "a-$R:busybox:1.36 b-$R:busybox:1.36 c-$R:busybox:1.36" ]
	[ "$(awk '$2 < 3' "$BATS_TEST_TMPDIR/pods" | wc -l)" = 0 ]
	[ "$(awk '$1 > 3' "$BATS_TEST_TMPDIR/pods" | wc -l)" -gt 0 ]

	run k get controllerrevisions
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^NAME\ +CONTROLLER\ +REVISION\ +AGE$ ]]
	# the first template came back: its revision is the newest again
	[[ "$output" == *"agent-$new_hash"*"daemonset.apps/agent"*" 2 "* ]]
	[[ "$output" == *"agent-$old_hash"*"daemonset.apps/agent"*" 3 "* ]]
	run k rollout history ds/agent
	[ "$status" -eq 0 ]
	[[ "$output" == *"REVISION"* ]]
	[[ "$(printf '%s\n' "${lines[@]}" | awk '$1 ~ /^[0-9]+$/ {print $1}' | paste -sd,)" = 2,3 ]]
}

# evict POD: the eviction subresource's answer, as "CODE BODY"
evict() {
	curl -s -w ' %{http_code}' -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"$NS\"}}" \
		"$MK_API_URL/api/v1/namespaces/$NS/pods/$1/eviction"
}

pdb_field() {
	api GET "/apis/policy/v1/namespaces/$NS/poddisruptionbudgets/web" | jq -r "$1"
}

@test "drain evicts through a PodDisruptionBudget: blocked while it allows nothing, done once it does" {
	for n in a b; do node "$n" "$(labelled "$n")"; done
	daemonset agent >/dev/null
	k create deployment web --image=nginx --replicas=2 >/dev/null
	k create pdb web --selector=app=web --min-available=2 >/dev/null
	wait_eq 10 "2 2" ds_field agent '.status | "\(.numberReady) \(.numberAvailable)"'
	wait_eq 10 "2 2 2 0" pdb_field '.status | "\(.expectedPods) \(.currentHealthy) \(.desiredHealthy) \(.disruptionsAllowed)"'
	[ "$(pdb_field '.status.conditions[0] | "\(.type)=\(.status)/\(.reason)"')" = DisruptionAllowed=False/InsufficientPods ]
	run k get pdb web
	[[ "${lines[0]}" =~ ^NAME\ +MIN\ AVAILABLE\ +MAX\ UNAVAILABLE\ +ALLOWED\ DISRUPTIONS\ +AGE$ ]]
	[[ "${lines[1]}" =~ ^web\ +2\ +N/A\ +0\ + ]]

	victim=$(pods_of web | jq -r '.[0].metadata.name')
	run evict "$victim"
	[[ "$output" == *" 429" ]]
	body=${output% 429}
	[ "$(jq -c '{message, reason, code, details}' <<<"$body")" = "{\"message\":\"Cannot evict pod as it would violate the pod's disruption budget.\",\"reason\":\"TooManyRequests\",\"code\":429,\"details\":{\"causes\":[{\"reason\":\"DisruptionBudget\",\"message\":\"The disruption budget web needs 2 healthy pods and has 2 currently\"}]}}" ]
	api GET "/api/v1/namespaces/$NS/pods/$victim" >/dev/null

	node=$(api GET "/api/v1/namespaces/$NS/pods/$victim" | jq -r .spec.nodeName)
	# kubectl retries a refused eviction every 5 s until its timeout: the
	# drain is watched until it reports the refusal, then stopped
	kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=60s \
		>"$BATS_TEST_TMPDIR/drain" 2>&1 3>&- &
	DRAIN_PID=$!
	wait_until 10 grep -qF "Cannot evict pod as it would violate the pod's disruption budget." \
		"$BATS_TEST_TMPDIR/drain"
	kill "$DRAIN_PID"
	wait "$DRAIN_PID" || true
	DRAIN_PID=
	grep -qF "node/$node cordoned" "$BATS_TEST_TMPDIR/drain"
	grep -qF "error when evicting pods/\"$victim\" -n \"$NS\" (will retry after 5s)" \
		"$BATS_TEST_TMPDIR/drain"
	[ "$(api GET "/api/v1/nodes/$node" | jq -r .spec.unschedulable)" = true ]
	api GET "/api/v1/namespaces/$NS/pods/$victim" >/dev/null

	k patch pdb web --type=merge -p '{"spec":{"minAvailable":1}}' >/dev/null
	wait_eq 10 "1" pdb_field .status.disruptionsAllowed
	run kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=10s
	[ "$status" -eq 0 ]
	[[ "$output" == *"pod/$victim evicted"* ]]
	[[ "$output" == *"node/$node drained"* ]]
	# the replacement lands on the other node: the cordoned one takes no new pod
	other=a-$R
	[ "$node" != "$other" ] || other=b-$R
	on_other() {
		[ "$(pods_of web | jq -r '[.[].spec.nodeName] | join(",")')" = "$other,$other" ]
	}
	wait_until 10 on_other
	# the daemon pod stays on the drained node
	[ "$(pods_of agent | jq --arg n "$node" '[.[] | select(.spec.nodeName == $n)] | length')" = 1 ]

	run kubectl uncordon "$node"
	[ "$status" -eq 0 ]
	[ "$output" = "node/$node uncordoned" ]
	[ "$(api GET "/api/v1/nodes/$node" | jq -r .spec.unschedulable)" = null ]
}

sts_field() {
	api GET "/apis/apps/v1/namespaces/$NS/statefulsets/web" | jq -r "$1"
}

pod_names() {
	pods_of "$1" | jq -r '[.[].metadata.name] | sort | join(" ")'
}

@test "a StatefulSet makes its pods in order with stable names, scales down from the top, rolls a new template" {
	node a "$(labelled a)"
	# no kubelet at first: web-0 never gets ready, so web-1 is never made
	kill "$SIM_PID"
	wait "$SIM_PID" || true
	SIM_PID=
	run k apply -f - <<YAML
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx:1.25}]
YAML
	[ "$output" = "statefulset.apps/web created" ]
	wait_eq 10 "1 0" sts_field '.status | "\(.replicas) \(.readyReplicas)"'
	[ "$(pod_names web)" = web-0 ]

	kubelets_start
	wait_eq 15 "3 3" sts_field '.status | "\(.replicas) \(.readyReplicas)"'
	[ "$(pod_names web)" = "web-0 web-1 web-2" ]
	run k get sts web
	[[ "${lines[0]}" =~ ^NAME\ +READY\ +AGE$ ]]
	[[ "${lines[1]}" =~ ^web\ +3/3\ + ]]
	pod=$(api GET "/api/v1/namespaces/$NS/pods/web-1")
	[ "$(jq -r '"\(.spec.hostname) \(.spec.subdomain) \(.metadata.labels["statefulset.kubernetes.io/pod-name"]) \(.metadata.labels["apps.kubernetes.io/pod-index"])"' <<<"$pod")" = "web-1 web web-1 1" ]

	k scale sts web --replicas=2 >/dev/null
	wait_eq 10 "web-0 web-1" pod_names web
	k set image sts/web c=nginx:1.26 >/dev/null
	run k rollout status sts/web --timeout=20s
	[ "$status" -eq 0 ]
	# kubectl words a defaulted partition (0) as a partitioned roll out
	[[ "$output" == *"partitioned roll out complete: 2 new pods have been updated..."* ]]
	[ "$(placement web)" = "a-$R:nginx:1.26 a-$R:nginx:1.26" ]
	[ "$(sts_field '.status.currentRevision == .status.updateRevision')" = true ]

	# claims need volumes this server does not have
	run k apply -f - <<YAML
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: nginx}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
YAML
	[ "$status" -ne 0 ]
	[[ "$output" == *'The StatefulSet "db" is invalid: spec.volumeClaimTemplates: Forbidden: PersistentVolumeClaims are not supported by this server'* ]]
}
