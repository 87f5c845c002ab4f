#!/usr/bin/env bats
# An acknowledged write survives SIGKILL of the kube-apiserver; resourceVersions
# keep growing across the restart. Runs on both storage backends.
# backends: sqlite etcd

load lib/apiserver
load lib/wait

setup() {
	apiserver_start
}

teardown() {
	apiserver_stop
}

# Creates configmaps until the server stops answering; appends the names
# acknowledged with 201 to $2.
create_loop() {
	local prefix=$1 acked=$2 i=0 code
	while :; do
		i=$((i + 1))
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
			-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$prefix-$i\"},\"data\":{\"i\":\"$i\"}}" \
			"$MK_API_URL/api/v1/namespaces/default/configmaps") || break
		[ "$code" = 201 ] || break
		echo "$prefix-$i" >>"$acked"
	done
}

# at_least N FILE: FILE has N lines or more
at_least() {
	[ "$(wc -l <"$2")" -ge "$1" ]
}

@test "SIGKILL mid-way through creates loses no acknowledged object" {
	acked=$MK_API_TMP/acked
	: >"$acked"
	local loops=()
	for w in a b c d; do
		create_loop "$w" "$acked" &
		loops+=($!)
	done
	# kill while the four are writing, once a fair number went through
	wait_until 60 at_least 25 "$acked"
	rv_before=$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps" | jq -r .metadata.resourceVersion)
	apiserver_kill KILL
	wait "${loops[@]}"
	n=$(wc -l <"$acked")
	echo "acknowledged before the kill: $n"
	[ "$n" -gt 20 ]
	apiserver_start
	list=$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps")
	missing=0
	while read -r name; do
		grep -q "\"name\":\"$name\"" <<<"$list" || { echo "missing $name"; missing=$((missing + 1)); }
	done <"$acked"
	[ "$missing" -eq 0 ]
	rv_after=$(jq -r .metadata.resourceVersion <<<"$list")
	[ "$rv_after" -ge "$rv_before" ]
	r=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after"}}' \
		"$MK_API_URL/api/v1/namespaces/default/configmaps")
	[ "$(jq -r .metadata.resourceVersion <<<"$r")" -gt "$rv_after" ]
}

@test "flags: unknown flag exits 2, storage flags checked, --help" {
	run "$MK_BIN/kube-apiserver" --bogus
	[ "$status" -eq 2 ]
	[ "$output" = "kube-apiserver: unknown flag: --bogus" ]
	run "$MK_BIN/kube-apiserver" --etcd-servers=ftp://127.0.0.1:2379
	[ "$status" -eq 1 ]
	[[ "$output" == *"etcd endpoint ftp://127.0.0.1:2379: the scheme must be http or https"* ]]
	run "$MK_BIN/kube-apiserver" --storage-backend=etcd2
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid --storage-backend "etcd2": the only storage backend is etcd3'* ]]
	run "$MK_BIN/kube-apiserver" --storage-backend=etcd3
	[ "$status" -eq 1 ]
	[[ "$output" == *"--etcd-servers must be specified"* ]]
	run "$MK_BIN/kube-apiserver" --event-ttl=soon
	[ "$status" -eq 2 ]
	[[ "$output" == *'invalid argument "soon" for "--event-ttl" flag'* ]]
	run "$MK_BIN/kube-apiserver" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--service-cluster-ip-range"* ]]
	run "$MK_BIN/kube-apiserver" --insecure-port
	[ "$status" -eq 2 ]
}
