#!/usr/bin/env bats
# metrics.k8s.io/v1beta1 and kubectl top: the API server scrapes each
# node's kubelet /stats/summary (here a fixed summary served by a python
# HTTP server standing in for the kubelet) and answers NodeMetrics and
# PodMetrics; kubectl top turns them into its tables. Everything is removed
# in teardown.

load lib/apiserver
load lib/wait

setup() {
	apiserver_start
	D=$BATS_TEST_TMPDIR/kubelet
	mkdir -p "$D/stats"
	cp "$MK_ROOT/tests/fixtures/apiserver/stats-summary.json" "$D/stats/summary"
	python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$D" >"$BATS_TEST_TMPDIR/http.log" 2>&1 &
	HTTP_PID=$!
	wait_until 10 grep -q 'Serving HTTP on' "$BATS_TEST_TMPDIR/http.log"
	KPORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/http.log" | head -1)
}

teardown() {
	[ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	apiserver_stop
}

api() {
	curl -sf -X "$1" -H "Content-Type: ${3:-application/json}" "$MK_API_URL$2" -d @- >/dev/null
}

register_node() {
	echo "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\"}}" |
		api POST /api/v1/nodes
	echo "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],
	       \"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":$2}},
	       \"capacity\":{\"cpu\":\"2\",\"memory\":\"4Gi\"},
	       \"allocatable\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}}" |
		api PATCH "/api/v1/nodes/$1/status" application/merge-patch+json
}

@test "kubectl top nodes and pods from the kubelets' summaries" {
	register_node node-a "$KPORT"
	run kubectl top nodes
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^NAME\ +CPU\(cores\)\ +CPU\(%\)\ +MEMORY\(bytes\)\ +MEMORY\(%\) ]]
	[[ "${lines[1]}" =~ ^node-a\ +250m\ +12%\ +512Mi\ +12% ]]

	run kubectl top pods
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^web\ +150m\ +96Mi ]]
	run kubectl top pods --containers
	[[ "$output" =~ web\ +c1\ +100m\ +64Mi ]]
	[[ "$output" =~ web\ +c2\ +50m\ +32Mi ]]
	run kubectl top pods -n kube-system
	[[ "$output" =~ coredns\ +5m\ +20Mi ]]

	# the API objects themselves
	run curl -s "$MK_API_URL/apis/metrics.k8s.io/v1beta1/nodes/node-a"
	[ "$(jq -r .kind <<<"$output")" = NodeMetrics ]
	[ "$(jq -r .usage.cpu <<<"$output")" = 250000000n ]
	[ "$(jq -r .usage.memory <<<"$output")" = 512Mi ]
	run curl -s "$MK_API_URL/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"
	[ "$(jq -r '.kind, (.items | length), .items[0].metadata.name' <<<"$output")" = "$(printf 'PodMetricsList\n1\nweb')" ]
	run curl -s -w '%{http_code}' -o /dev/null "$MK_API_URL/apis/metrics.k8s.io/v1beta1/nodes/nope"
	[ "$output" = 404 ]

	# a node whose kubelet does not answer is left out
	# (kubectl shows it as unknown)
	register_node node-b 9
	run kubectl top nodes
	[[ "${lines[1]}" =~ ^node-a\ +250m ]]
	[[ "${lines[2]}" =~ ^node-b\ +\<unknown\>\ +\<unknown\> ]]
	run curl -s "$MK_API_URL/apis/metrics.k8s.io/v1beta1/nodes"
	[ "$(jq -r '[.items[].metadata.name] | join(",")' <<<"$output")" = node-a ]
}
