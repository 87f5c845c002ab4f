#!/usr/bin/env bats
# Watch fan-out of kube-apiserver under load, measured on the server's own
# memory (/proc/<pid>/status): many watchers of large objects, watchers
# that never read, a watcher that falls too far behind, clients that go
# away. tests/bench/watch-fanout.py drives the load and prints the numbers.

load lib/apiserver
load lib/wait

setup_file() {
	# a budget per watcher the "falls behind" test can pass in a few
	# seconds; the other tests stay below it
	MINK8S_WATCH_QUEUE_BYTES=32000000 apiserver_start
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
	# the small tests watch a namespace of their own: the megabytes the
	# load tests leave in "default" would make every initial state slow
	curl -fs -X POST -H 'Content-Type: application/json' \
		-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"quiet"}}' \
		"$MK_API_URL/api/v1/namespaces" >/dev/null
}

teardown_file() {
	apiserver_stop
}

setup() {
	CLIENT_PIDS=()
}

teardown() {
	local p
	for p in "${CLIENT_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

fanout() {
	python3 "$MK_ROOT/tests/bench/watch-fanout.py" "$MK_API_URL" "$MK_API_PID" "$@"
}

watchers() {
	curl -s --max-time 5 "$MK_API_URL/metrics" | sed -n 's/^apiserver_longrunning_requests{verb="WATCH"} //p'
}

watchers_are() {
	[ "$(watchers)" -eq "$1" ]
}

@test "200 watches nothing matches, 30 creates of 900 KiB: bounded memory, given back after" {
	run fanout --watchers 200 --creates 30 --size-kib 900 --selector metadata.name=nomatch
	echo "$output"
	[ "$status" -eq 0 ]
	local m=${lines[-1]}
	# every watch left the server once its client closed it
	[ "$(jq -r .watchers_left <<<"$m")" = true ]
	# measured: 51 MiB peak, 35 MiB after (each watcher used to copy and
	# parse every event: 167 MiB, 94 MiB kept, and 260 s for the creates)
	jq -e '.rss_peak_mib < 110 and .hwm_mib < 110' <<<"$m"
	jq -e '.rss_after_mib < 64' <<<"$m"
	jq -e '.seconds < 90' <<<"$m"
}

@test "100 watches that never read share every event: 20 creates of 900 KiB stay bounded" {
	run fanout --watchers 100 --creates 20 --size-kib 900 --selector ""
	echo "$output"
	[ "$status" -eq 0 ]
	local m=${lines[-1]}
	[ "$(jq -r .watchers_left <<<"$m")" = true ]
	# one copy of each event for all watchers: 18 MiB of events (a copy
	# per watcher was 1.8 GB)
	jq -e '.hwm_mib < 120' <<<"$m"
	jq -e '.rss_after_mib < 64' <<<"$m"
}

@test "watches that read get every event of every create, in order" {
	run fanout --watchers 10 --creates 10 --size-kib 300 --selector "" --read
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .events_read <<<"${lines[-1]}")" = 100 ]
}

@test "a watcher that stops reading is cut off with 410 Expired after what it had" {
	run python3 - "$MK_API_URL" <<'PY'
import http.client, json, socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
c.request("GET", "/api/v1/namespaces/default/configmaps?limit=1")
rv = json.loads(c.getresponse().read())["metadata"]["resourceVersion"]
s = socket.create_connection((u.hostname, u.port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.sendall(("GET /api/v1/namespaces/default/configmaps?watch=1&resourceVersion=%s HTTP/1.1\r\n"
           "Host: x\r\n\r\n" % rv).encode())
w = http.client.HTTPResponse(s)
w.begin()  # the headers come once the watch is registered
assert w.status == 200, w.status
blob = "x" * (900 * 1024)
for i in range(45):
    c.request("POST", "/api/v1/namespaces/default/configmaps",
              json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "lag-%d" % i}, "data": {"b": blob}}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 201, r.status
# now read what the server kept for this watcher: the stream must end
s.settimeout(30)
events = [json.loads(l) for l in w.read().split(b"\n") if l]
added = [e for e in events if e["type"] == "ADDED"]
print(len(added), "ADDED before", events[-1]["type"])
print(json.dumps(events[-1]["object"]))
PY
	echo "$output"
	[ "$status" -eq 0 ]
	# some events came through, then the ERROR, then the end of the stream
	[[ "${lines[0]}" =~ ^[1-9][0-9]?\ ADDED\ before\ ERROR$ ]]
	local n=${lines[0]%% *}
	[ "$n" -lt 45 ]
	[ "$(jq -r .code <<<"${lines[1]}")" = 410 ]
	[ "$(jq -r .reason <<<"${lines[1]}")" = Expired ]
	[[ "$(jq -r .message <<<"${lines[1]}")" =~ ^too\ old\ resource\ version:\ [0-9]+\ \([0-9]+\)$ ]]
	grep -q "watch of configmaps fell behind" "$MK_API_LOG"
}

@test "a watch whose client went away leaves the server" {
	local before
	before=$(watchers)
	curl -sN "$MK_API_URL/api/v1/namespaces/quiet/configmaps?watch=1&fieldSelector=metadata.name%3Dnomatch" \
		>/dev/null &
	CLIENT_PIDS+=($!)
	wait_until 10 watchers_are $((before + 1))
	kill "${CLIENT_PIDS[0]}"
	wait "${CLIENT_PIDS[0]}" 2>/dev/null || true
	# nothing is ever sent on this watch: the server finds the closed
	# socket by itself
	wait_until 10 watchers_are "$before"
}

@test "timeoutSeconds=-5 ends the watch at once; watch=abc is a watch, as upstream reads it" {
	run curl -s -m 10 -w '\n%{http_code}' \
		"$MK_API_URL/api/v1/namespaces/quiet/configmaps?watch=1&timeoutSeconds=-5"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = 200 ]
	[ "${#lines[@]}" -eq 1 ]
	# any value but 0 or false asks for a watch: the initial state comes
	# as events, and timeoutSeconds ends it
	curl -s -X POST -H 'Content-Type: application/json' \
		-d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w-abc","labels":{"t":"abc"}}}' \
		"$MK_API_URL/api/v1/namespaces/quiet/configmaps" >/dev/null
	run curl -s -m 10 "$MK_API_URL/api/v1/namespaces/quiet/configmaps?watch=abc&timeoutSeconds=1&labelSelector=t%3Dabc"
	[ "$status" -eq 0 ]
	[ "$(jq -r 'select(.object.metadata.name == "w-abc") | .type' <<<"$output")" = ADDED ]
	run curl -s -m 10 "$MK_API_URL/api/v1/namespaces/quiet/configmaps?watch=false&labelSelector=t%3Dabc"
	[ "$status" -eq 0 ]
	[ "$(jq -r .kind <<<"$output")" = ConfigMapList ]
}
