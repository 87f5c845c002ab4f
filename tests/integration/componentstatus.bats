#!/usr/bin/env bats
# kubectl get componentstatuses tells the truth: the API server probes the
# scheduler's and the controller-manager's /healthz on 127.0.0.1:10259 and
# :10257 and reads its store for etcd-0. Everything runs in a network
# namespace of the test's own, so that those fixed ports are the test's.

load lib/wait

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v kubectl >/dev/null || skip "kubectl missing"
	NET=mkcs-$(printf '%04x%04x' $RANDOM $RANDOM)
	TMP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk-cs.XXXXXX")
	API_PID= SCHED_PID= CM_PID=
	ip netns add "$NET"
	innet ip link set lo up
	# `ip netns exec` execs the program: $! is the process itself (a shell
	# function run in the background would be a subshell in between)
	ip netns exec "$NET" "$MK_BIN/kube-apiserver" --insecure-port=8080 --data-dir="$TMP/data" \
		>"$TMP/apiserver.log" 2>&1 3>&- &
	API_PID=$!
	wait_until 10 innet curl -fs http://127.0.0.1:8080/healthz
}

teardown() {
	local p
	for p in "$SCHED_PID" "$CM_PID" "$API_PID"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${NET:-}" ] && ip netns del "$NET" 2>/dev/null
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
	true
}

innet() {
	ip netns exec "$NET" "$@"
}

k() {
	innet env KUBECACHEDIR="$TMP/kcache" kubectl -s http://127.0.0.1:8080 "$@"
}

# cs NAME: "status|message|error" of its Healthy condition
cs() {
	k get componentstatus "$1" \
		-o jsonpath='{.conditions[0].status}|{.conditions[0].message}|{.conditions[0].error}'
}

refused() {
	echo "False|Get \"https://127.0.0.1:$1/healthz\": dial tcp 127.0.0.1:$1: connect: connection refused|"
}

start_components() {
	ip netns exec "$NET" "$MK_BIN/kube-scheduler" --master=http://127.0.0.1:8080 \
		>"$TMP/scheduler.log" 2>&1 3>&- &
	SCHED_PID=$!
	ip netns exec "$NET" "$MK_BIN/kube-controller-manager" --master=http://127.0.0.1:8080 \
		>"$TMP/cm.log" 2>&1 3>&- &
	CM_PID=$!
}

@test "componentstatuses: Unhealthy with the probe's error while down, Healthy once started" {
	run k get componentstatuses
	[ "$status" -eq 0 ]
	[[ "$output" == *"Warning: v1 ComponentStatus is deprecated in v1.19+"* ]]
	echo "$output" | grep -E '^scheduler +Unhealthy +Get "https://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: connect: connection refused'
	echo "$output" | grep -E '^controller-manager +Unhealthy +Get "https://127.0.0.1:10257/healthz": dial tcp 127.0.0.1:10257: connect: connection refused'
	echo "$output" | grep -E '^etcd-0 +Healthy +ok'
	[ "$(cs scheduler)" = "$(refused 10259)" ]
	[ "$(cs controller-manager)" = "$(refused 10257)" ]
	[ "$(cs etcd-0)" = "True|ok|" ]

	start_components
	wait_eq 20 "True|ok|" cs scheduler
	wait_eq 20 "True|ok|" cs controller-manager
	run k get cs
	[ "$status" -eq 0 ]
	echo "$output" | grep -E '^scheduler +Healthy +ok'
	echo "$output" | grep -E '^controller-manager +Healthy +ok'

	# a stopped scheduler is reported again
	kill -TERM "$SCHED_PID"
	wait "$SCHED_PID"
	SCHED_PID=
	[ "$(cs scheduler)" = "$(refused 10259)" ]
	[ "$(cs controller-manager)" = "True|ok|" ]
}

@test "scheduler and controller-manager serve upstream's /healthz and /metrics on their ports" {
	start_components
	wait_until 20 innet curl -fsk https://127.0.0.1:10259/healthz
	wait_until 20 innet curl -fsk https://127.0.0.1:10257/healthz
	[ "$(innet curl -sk https://127.0.0.1:10259/healthz)" = ok ]
	# both elect a leader on their own Lease, which the leaderElection check follows
	wait_eq 20 1 leader_status 10259 kube-scheduler
	wait_eq 20 1 leader_status 10257 kube-controller-manager
	run innet curl -sk "https://127.0.0.1:10257/healthz?verbose"
	[ "$output" = "$(printf '[+]ping ok\n[+]leaderElection ok\nhealthz check passed')" ]
	run innet curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:10257/healthz/nope
	[ "$output" = 404 ]
	run innet curl -sk https://127.0.0.1:10257/metrics
	[[ "$output" == *'workqueue_depth{name="deployment"} '* ]]
	[[ "$output" == *'process_start_time_seconds '* ]]
	run innet curl -sk https://127.0.0.1:10259/metrics
	[[ "$output" == *'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 0'* ]]
	# SIGTERM: an orderly stop with status 0
	kill -TERM "$CM_PID"
	wait "$CM_PID"
	CM_PID=
	grep -q "Shutting down kube-controller-manager" "$TMP/cm.log"
}

# leader_status PORT LEASE: the leader_election_master_status gauge
leader_status() {
	innet curl -fsk "https://127.0.0.1:$1/metrics" |
		sed -n "s/^leader_election_master_status{name=\"$2\"} //p"
}
