#!/usr/bin/env bats
# kube-scheduler against a live API server: nodes registered by the test as a
# kubelet would, pods created with kubectl, bindings and events read back.

load lib/apiserver

setup() {
	apiserver_start
	SCHED_PIDS=()
	for n in node-a node-b node-c; do
		register_node "$n" 4 8Gi
	done
}

teardown() {
	for p in "${SCHED_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SCHED_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	apiserver_stop
}

k() {
	kubectl -s "$MK_API_URL" "$@"
}

# register_node NAME CPU MEMORY [EXTRA-SPEC-JSON]
register_node() {
	local spec=${4:-'{}'}
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"}},"spec":%s,"status":{"capacity":{"cpu":"%s","memory":"%s","pods":"110"},"allocatable":{"cpu":"%s","memory":"%s","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}]}}' \
		"$1" "$1" "$spec" "$2" "$3" "$2" "$3" | k create -f - >/dev/null
}

# start_scheduler [flags...]: the n-th one logs to $BATS_TEST_TMPDIR/sched-n.log
start_scheduler() {
	"$MK_BIN/kube-scheduler" --master="$MK_API_URL" "$@" \
		>>"$BATS_TEST_TMPDIR/sched-${#SCHED_PIDS[@]}.log" 2>&1 3>&- &
	SCHED_PIDS+=($!)
}

# pod NAME CPU [EXTRA-SPEC-JSON-FIELDS]
pod() {
	local extra=${3:-}
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","labels":{"app":"t"}},"spec":{%s"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"%s"}}}]}}' \
		"$1" "$extra" "$2" | k create -f - >/dev/null
}

node_of() {
	k get pod "$1" -o jsonpath='{.spec.nodeName}'
}

bound() {
	[ -n "$(node_of "$1")" ]
}

wait_bound() {
	wait_until 10 bound "$1"
}

has_event() { # REASON SUBSTRING
	k get events -o jsonpath='{range .items[*]}{.reason}|{.message}{"\n"}{end}' |
		grep -F "$1|" | grep -qF "$2"
}

wait_event() { # REASON SUBSTRING
	wait_until 10 has_event "$1" "$2" || {
		k get events -o jsonpath='{range .items[*]}{.reason}|{.message}{"\n"}{end}' >&2
		return 1
	}
}

lease_field() {
	k -n kube-system get lease kube-scheduler -o jsonpath="{.spec.$1}" 2>/dev/null
}

# holder_is_not NAME: the lease has a holder, and it is not NAME
holder_is_not() {
	local now
	now=$(lease_field holderIdentity)
	[ -n "$now" ] && [ "$now" != "$1" ]
}

# renewed_since TIME: the lease's renewTime is no longer TIME
renewed_since() {
	local now
	now=$(lease_field renewTime)
	[ -n "$now" ] && [ "$now" != "$1" ]
}

@test "pending pods get a node, a Scheduled event and spread over the nodes" {
	start_scheduler --leader-elect=false
	pod p1 100m
	wait_bound p1
	node=$(node_of p1)
	[[ "$node" =~ ^node-[abc]$ ]]
	wait_event Scheduled "Successfully assigned default/p1 to $node"
	run k get pod p1 -o wide
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == *"$node"* ]]

	# three replicas of one owner land on three different nodes
	for i in 1 2 3; do
		printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"r%d","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"6f1d6c7e-0000-4000-8000-000000000001","controller":true}]},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' "$i" |
			k create -f - >/dev/null
	done
	for i in 1 2 3; do wait_bound "r$i"; done
	nodes=$(for i in 1 2 3; do node_of "r$i"; echo; done | sort -u | wc -l)
	[ "$nodes" -eq 3 ]
}

@test "a pod that fits nowhere stays Pending with upstream's FailedScheduling message, then fits a new node" {
	start_scheduler --leader-elect=false
	k taint nodes node-a dedicated=db:NoSchedule >/dev/null 2>&1 ||
		k patch node node-a -p '{"spec":{"taints":[{"key":"dedicated","value":"db","effect":"NoSchedule"}]}}' >/dev/null
	pod big 6
	wait_event FailedScheduling "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	[ -z "$(node_of big)" ]
	run k get pod big
	[[ "${lines[1]}" == *Pending* ]]

	register_node node-big 16 32Gi
	wait_bound big
	[ "$(node_of big)" = node-big ]
}

@test "nodeSelector, tolerations and unschedulable nodes are honoured" {
	start_scheduler --leader-elect=false
	k patch node node-b -p '{"spec":{"taints":[{"key":"gpu","effect":"NoSchedule"}]}}' >/dev/null
	k patch node node-c -p '{"spec":{"unschedulable":true}}' >/dev/null
	pod sel 100m '"nodeSelector":{"kubernetes.io/hostname":"node-b"},"tolerations":[{"key":"gpu","operator":"Exists"}],'
	wait_bound sel
	[ "$(node_of sel)" = node-b ]
	for i in 1 2 3 4; do pod "free$i" 100m; done
	for i in 1 2 3 4; do
		wait_bound "free$i"
		[ "$(node_of "free$i")" = node-a ]
	done
}

@test "with leader election one scheduler binds and a second takes over when it dies" {
	start_scheduler --leader-elect=true --leader-elect-lease-duration=2s \
		--leader-elect-renew-deadline=1500ms --leader-elect-retry-period=300ms
	first=${SCHED_PIDS[0]}
	wait_until 10 holder_is_not ""
	holder=$(lease_field holderIdentity)
	start_scheduler --leader-elect=true --leader-elect-lease-duration=2s \
		--leader-elect-renew-deadline=1500ms --leader-elect-retry-period=300ms
	pod e1 100m
	wait_bound e1
	# the second candidate does not hold the lease while the first lives:
	# it is trying, and the holder renewed twice since
	wait_until 10 grep -q 'attempting to acquire leader lease' "$BATS_TEST_TMPDIR/sched-1.log"
	renewed=$(lease_field renewTime)
	wait_until 10 renewed_since "$renewed"
	renewed=$(lease_field renewTime)
	wait_until 10 renewed_since "$renewed"
	[ "$(lease_field holderIdentity)" = "$holder" ]
	! grep -q 'successfully acquired lease' "$BATS_TEST_TMPDIR/sched-1.log" || false

	kill "$first"
	wait "$first" 2>/dev/null || true
	wait_until 10 holder_is_not "$holder"
	[ "$(k -n kube-system get lease kube-scheduler -o jsonpath='{.spec.leaseTransitions}')" -ge 1 ]
	pod e2 100m
	wait_bound e2
}

@test "kube-scheduler refuses unknown flags and prints help" {
	run "$MK_BIN/kube-scheduler" --no-such-flag
	[ "$status" -eq 2 ]
	[ "$output" = "Error: unknown flag: --no-such-flag" ]
	run "$MK_BIN/kube-scheduler" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--leader-elect "* ]]
}

@test "secure port: /healthz, /livez, /readyz over HTTPS to anonymous callers" {
	port=$(_apiserver_free_port)
	start_scheduler --leader-elect=false --secure-port="$port" --bind-address=127.0.0.1
	wait_until 20 curl -fsk "https://127.0.0.1:$port/healthz"
	for p in healthz livez readyz; do
		[ "$(curl -sk "https://127.0.0.1:$port/$p")" = ok ]
	done
	run curl -s "https://127.0.0.1:$port/healthz"
	[ "$status" -eq 60 ] # a self-signed certificate
	grep -q "Generated self-signed cert in-memory" "$BATS_TEST_TMPDIR/sched-0.log"
}
