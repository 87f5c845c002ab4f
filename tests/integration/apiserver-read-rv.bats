#!/usr/bin/env bats
# GET and LIST honour resourceVersion as upstream: "" the most recent, "0"
# any, N not older than N (a future N waits, then 504 Too large resource
# version), resourceVersionMatch=Exact (and a limit with a resourceVersion)
# the state at exactly N, 410 once N is compacted, ListOptions checked.
# backends: sqlite etcd

load lib/apiserver
load lib/wait

setup_file() {
	apiserver_start --endpoint-reconciler-type=none
	export MK_API_TMP MK_API_PORT MK_API_URL MK_API_PID KUBECACHEDIR KUBECONFIG
}

teardown_file() {
	apiserver_stop
}

CMS=/api/v1/namespaces/default/configmaps

# cm NAME VALUE: creates or replaces a ConfigMap; prints its resourceVersion
cm() {
	local body="{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$1\"},\"data\":{\"v\":\"$2\"}}"
	if [ "$(curl -s -o /dev/null -w '%{http_code}' "$MK_API_URL$CMS/$1")" = 200 ]; then
		curl -s -X PUT -H 'Content-Type: application/json' -d "$body" "$MK_API_URL$CMS/$1"
	else
		curl -s -X POST -H 'Content-Type: application/json' -d "$body" "$MK_API_URL$CMS"
	fi | jq -r .metadata.resourceVersion
}

# get QUERY: "<code> <names with values>" of a list of the rv-* ConfigMaps
list() {
	curl -s -w '\n%{http_code}' "$MK_API_URL$CMS?$1" >"$BATS_TEST_TMPDIR/out"
	local code
	code=$(tail -n1 "$BATS_TEST_TMPDIR/out")
	if [ "$code" = 200 ]; then
		echo "$code $(sed '$d' "$BATS_TEST_TMPDIR/out" | jq -r '[.items[] | select(.metadata.name | startswith("rv-")) | "\(.metadata.name)=\(.data.v)"] | join(",")')"
	else
		echo "$code $(sed '$d' "$BATS_TEST_TMPDIR/out" | jq -r .message)"
	fi
}

@test "LIST: exact reads the past, not-older-than and 0 the present; GET not older than" {
	r1=$(cm rv-a 1)
	r2=$(cm rv-b 1)
	r3=$(cm rv-a 2)
	[ "$r1" -lt "$r2" ]
	[ "$r2" -lt "$r3" ]
	[ "$(list "resourceVersion=$r1&resourceVersionMatch=Exact")" = "200 rv-a=1" ]
	[ "$(list "resourceVersion=$r2&resourceVersionMatch=Exact")" = "200 rv-a=1,rv-b=1" ]
	[ "$(jq -r .metadata.resourceVersion <(sed '$d' "$BATS_TEST_TMPDIR/out"))" = "$r2" ]
	# a limit with a resourceVersion and no match is upstream's exact read too
	[ "$(list "resourceVersion=$r1&limit=10")" = "200 rv-a=1" ]
	[ "$(list "resourceVersion=$r1&resourceVersionMatch=NotOlderThan")" = "200 rv-a=2,rv-b=1" ]
	[ "$(list "resourceVersion=$r1")" = "200 rv-a=2,rv-b=1" ]
	[ "$(list "resourceVersion=0")" = "200 rv-a=2,rv-b=1" ]
	[ "$(list "")" = "200 rv-a=2,rv-b=1" ]
	# a GET is never older than what it names
	run curl -s "$MK_API_URL$CMS/rv-a?resourceVersion=$r1"
	[ "$(jq -r .metadata.resourceVersion <<<"$output")" = "$r3" ]
	[ "$(jq -r .data.v <<<"$output")" = 2 ]
}

@test "ListOptions are checked as upstream: 422 Invalid" {
	[ "$(list "resourceVersionMatch=Exact")" = '422 ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided' ]
	[ "$(list "resourceVersion=0&resourceVersionMatch=Exact")" = '422 ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"' ]
	[ "$(list "resourceVersion=1&resourceVersionMatch=Newest")" = '422 ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""' ]
	[ "$(list "resourceVersion=x")" = '400 invalid resource version: resourceVersion: Invalid value: "x": strconv.ParseUint: parsing "x": invalid syntax' ]
}

@test "a future resourceVersion: waited for, then 504 Too large resource version" {
	cur=$(cm rv-w 1)
	# a read of the next revision returns once a write makes it
	curl -s "$MK_API_URL$CMS?resourceVersion=$((cur + 1))&resourceVersionMatch=NotOlderThan" \
		>"$BATS_TEST_TMPDIR/waited" &
	reader=$!
	cm rv-w 2 >/dev/null
	wait "$reader"
	[ "$(jq -r '.items[] | select(.metadata.name == "rv-w") | .data.v' "$BATS_TEST_TMPDIR/waited")" = 2 ]
	# one that never comes gets upstream's Timeout
	now=$(curl -s "$MK_API_URL$CMS" | jq -r .metadata.resourceVersion)
	run curl -s -w '\n%{http_code}' "$MK_API_URL$CMS/rv-w?resourceVersion=$((now + 1000))"
	[ "$(tail -n1 <<<"$output")" = 504 ]
	st=$(sed '$d' <<<"$output")
	[ "$(jq -r .reason <<<"$st")" = Timeout ]
	[ "$(jq -r .message <<<"$st")" = "Timeout: Too large resource version: $((now + 1000)), current: $now" ]
	[ "$(jq -c .details <<<"$st")" = '{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1}' ]
}

expired() { # RV
	[ "$(list "resourceVersion=$1&resourceVersionMatch=Exact" | cut -d' ' -f1)" = 410 ]
}

@test "an exact read of a compacted revision: 410 Expired" {
	# this server compacts every 300 ms (on etcd through etcd's compaction)
	apiserver_kill TERM
	MINK8S_COMPACT_INTERVAL_MS=300 apiserver_start --endpoint-reconciler-type=none \
		--etcd-compaction-interval=300ms
	old=$(cm rv-c 1)
	cm rv-c 2 >/dev/null
	cm rv-c 3 >/dev/null
	wait_until 20 expired "$old"
	[ "$(list "resourceVersion=$old&resourceVersionMatch=Exact")" = "410 The resourceVersion for the provided list is too old." ]
	[ "$(jq -r .reason <(sed '$d' "$BATS_TEST_TMPDIR/out"))" = Expired ]
	[ "$(list "resourceVersion=$old&limit=5")" = "410 The resourceVersion for the provided list is too old." ]
	# not older than it is still fine
	[ "$(list "resourceVersion=$old" | cut -d' ' -f1)" = 200 ]
}
