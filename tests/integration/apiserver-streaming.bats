#!/usr/bin/env bats
# pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy through
# the real kube-apiserver (apiserver/nodeproxy) with the real kubectl: the
# API server reads the pod and its node (InternalIP, daemonEndpoints port)
# and proxies to a kubelet's streaming endpoints, here kubelet/streaming
# served by tests/integration/streaming-probe.c over a busybox pod under
# runc. Node "node-a" is registered with the probe's port; pod "web" is
# bound to it. Everything is removed in teardown.

load streaming-helpers
load lib/apiserver

setup_file() {
	sp_setup_file
	[ "$(id -u)" = 0 ] || return 0
	apiserver_start
}

teardown_file() {
	apiserver_stop
}

setup() {
	sp_setup
	K_SERVER=$MK_API_URL
}

teardown() {
	curl -s -X DELETE "$MK_API_URL/api/v1/namespaces/default/pods/web?gracePeriodSeconds=0" >/dev/null || true
	curl -s -X DELETE "$MK_API_URL/api/v1/nodes/node-a" >/dev/null || true
	sp_teardown
}

api() {
	local method=$1 path=$2 type=${3:-application/json}
	curl -sf -X "$method" -H "Content-Type: $type" "$MK_API_URL$path" -d @- >/dev/null
}

# Registers node-a at 127.0.0.1:PORT and the pod, bound to it.
register() {
	echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-a"}}' | api POST /api/v1/nodes
	echo "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],
	       \"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":$PORT}}}}" |
		api PATCH /api/v1/nodes/node-a/status application/merge-patch+json
	jq 'del(.metadata.uid) | .spec.nodeName = "node-a" | .metadata.labels = {"app":"web"}' \
		"$T/pod.json" | api POST /api/v1/namespaces/default/pods
	# the status a kubelet would report (kubectl port-forward wants Running)
	echo '{"status":{"phase":"Running"}}' |
		api PATCH /api/v1/namespaces/default/pods/web/status application/merge-patch+json
}

@test "logs through the API server: options, follow, -l, errors in upstream's words" {
	make_pod
	register
	wait_until 10 grep -q to-stderr "$LOGS/c1.log"
	run k logs web -c c1
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'started\nto-stderr')" ]
	run k logs web -c c1 --tail=1 --timestamps
	[[ "$output" =~ ^20[0-9-]+T[0-9:.]+Z\ to-stderr$ ]]
	run k logs -l app=web -c c1 --limit-bytes=3
	[ "$output" = sta ]
	# the raw kubelet endpoint through nodes/proxy
	run k get --raw /api/v1/nodes/node-a/proxy/containerLogs/default/web/c1
	[ "$output" = "$(printf 'started\nto-stderr')" ]
	# follow until the container stops
	"$T/k" logs -f web -c c1 >"$T/follow.out" 2>&1 &
	local fpid=$!
	PF_PIDS+=("$fpid")
	wait_until 10 grep -q to-stderr "$T/follow.out"
	$P exec "$(rt_id c1)" 2000 100 sh -c 'echo later >/proc/1/fd/1' >/dev/null
	wait_until 10 grep -q later "$T/follow.out"
	$P stop "$(rt_id c1)" 9 0 >/dev/null
	wait_until 15 sh -c "! kill -0 $fpid"
	wait "$fpid"

	# kubectl checks -c itself; the server's own answer, through --raw
	run k logs web -c nope
	[ "$status" -ne 0 ]
	[ "$output" = "error: container nope is not valid for pod web" ]
	run k get --raw '/api/v1/namespaces/default/pods/web/log?container=nope'
	[ "$output" = "Error from server (BadRequest): container nope is not valid for pod web" ]
	run k logs nothere
	[ "$output" = 'error: error from server (NotFound): pods "nothere" not found in namespace "default"' ]
	run k logs web -c c1 --previous
	[ "$output" = 'Error from server (BadRequest): previous terminated container "c1" in pod "web" not found' ]
}

@test "logs -f through the API server: every line of a fast writer once, in order" {
	make_pod
	register
	wait_until 10 grep -q to-stderr "$LOGS/c1.log"
	"$T/k" logs -f web -c c1 >"$T/follow.out" 2>&1 &
	PF_PIDS+=($!)
	wait_until 10 grep -q to-stderr "$T/follow.out"
	# bursts of numbered lines, some written while the follow is parked
	local b
	for b in 0 1 2 3; do
		$P exec "$(rt_id c1)" 20000 100 sh -c \
			"i=$((b * 20000)); e=$(((b + 1) * 20000)); while [ \$i -lt \$e ]; do i=\$((i+1)); echo \$i; done >/proc/1/fd/1" >/dev/null
	done
	wait_until 30 sh -c "tail -1 '$T/follow.out' | grep -qx 80000"
	{ printf 'started\nto-stderr\n'; seq 1 80000; } >"$T/want"
	cmp "$T/want" "$T/follow.out"
}

@test "exec through the API server: WebSocket and SPDY, stdin, exit codes, cp both ways" {
	make_pod
	register
	run k exec web -c c1 -- sh -c 'echo through the api; exit 5'
	[ "$status" -eq 5 ]
	[[ "$output" == *"through the api"* ]]
	[[ "$output" == *"command terminated with exit code 5"* ]]
	run k exec -i web -c c1 -- sh -c 'tr a-z A-Z' <<<"piped"
	[ "$output" = PIPED ]
	run env KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false "$T/k" exec -i web -c c1 -- cat <<<"spdy"
	[ "$output" = spdy ]
	run k exec web -c c1 -- nosuchcommand
	[ "$status" -eq 127 ]
	# kubectl cp: tar over exec, both ways
	head -c 200000 /dev/urandom >"$T/up.bin"
	k cp "$T/up.bin" web:/tmp/up.bin -c c1
	run k exec web -c c1 -- sh -c 'wc -c </tmp/up.bin'
	[ "$output" = 200000 ]
	k cp web:/tmp/up.bin "$T/down.bin" -c c1
	cmp "$T/up.bin" "$T/down.bin"
	# upstream's refusals
	run k exec web -c nope -- true
	[[ "$output" == *"container nope is not valid for pod web"* ]]
	run k exec nothere -- true
	[ "$output" = 'Error from server (NotFound): pods "nothere" not found' ]
}

@test "port-forward and attach through the API server" {
	make_pod http
	register
	wait_until 10 ip netns exec "$NS" bash -c 'echo >/dev/tcp/127.0.0.1/8080'
	port_forward 8080
	run curl -s --max-time 10 "http://127.0.0.1:$LPORT/index.html"
	[ "$output" = "hello from the pod" ]
	KUBECTL_PORT_FORWARD_WEBSOCKETS=false port_forward 8080
	curl -s --max-time 20 "http://127.0.0.1:$LPORT/big.bin" -o "$T/big"
	cmp "$BATS_FILE_TMPDIR/rootfs/big.bin" "$T/big"

	"$T/k" attach web -c c1 >"$T/attach.out" 2>&1 &
	local apid=$!
	PF_PIDS+=("$apid")
	wait_until 10 sh -c "$P exec $(rt_id c1) 2000 100 sh -c 'echo attached >/proc/1/fd/1' >/dev/null; grep -q attached $T/attach.out"
	$P stop "$(rt_id c1)" 9 0 >/dev/null
	wait_until 15 sh -c "! kill -0 $apid"
}

@test "a node whose kubelet cannot be reached: 502 naming the node" {
	make_pod
	register
	kill "$SP_PID"
	wait "$SP_PID" || true
	SP_PID=
	run k exec web -c c1 -- true
	[ "$status" -ne 0 ]
	[[ "$output" == *"error dialing backend: dial tcp 127.0.0.1:$PORT: connect: connection refused (node \"node-a\")"* ]]
	run k logs web -c c1
	[[ "$output" == *'(node "node-a")'* ]]
	run curl -s -w '%{http_code}' -o /dev/null "$MK_API_URL/api/v1/namespaces/default/pods/web/log?container=c1"
	[ "$output" = 502 ]
}
