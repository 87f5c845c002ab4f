#!/usr/bin/env bats
# Concurrent updates of one Service: an update that loses its compare-and-swap
# after allocating a NodePort must give the port back, or a two-port range
# runs dry although one port is free.

load lib/apiserver

setup() {
	apiserver_start --service-node-port-range=30000-30001
}

teardown() {
	apiserver_stop
}

@test "NodePorts allocated by updates that lose the race are given back" {
	curl -sf -X POST -H 'Content-Type: application/json' \
		-d '{"metadata":{"name":"a"},"spec":{"ports":[{"port":80}],"selector":{"app":"a"}}}' \
		"$MK_API_URL/api/v1/namespaces/default/services" >/dev/null
	pids=()
	for i in $(seq 12); do
		curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' \
			-d '{"spec":{"type":"NodePort"}}' \
			"$MK_API_URL/api/v1/namespaces/default/services/a" -o /dev/null 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	port=$(curl -sf "$MK_API_URL/api/v1/namespaces/default/services/a" | jq '.spec.ports[0].nodePort')
	[[ "$port" == 3000[01] ]]
	# the other port of the range is still free
	run curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d '{"metadata":{"name":"b"},"spec":{"type":"NodePort","ports":[{"port":80}],"selector":{"app":"b"}}}' \
		"$MK_API_URL/api/v1/namespaces/default/services"
	[ "$output" = 201 ]
}
