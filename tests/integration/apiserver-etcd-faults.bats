#!/usr/bin/env bats
# kube-apiserver on a 3-member etcd cluster (Debian's, on free loopback
# ports) through faults: a member killed, the quorum lost and back, every
# member frozen as by a cut network. The server answers 5xx Status meanwhile
# (never a crash, never a hang), recovers by itself, and its watchers either
# carry on or get 410 and relist.

load lib/etcd
load lib/apiserver
load lib/wait

setup_file() {
	etcd_start 3
	export MK_API_BACKEND=etcd
	apiserver_start
}

teardown_file() {
	apiserver_stop
	local i pid
	for i in 1 2 3; do
		pid=$(cat "$MK_ETCD_TMP/m$i.pid" 2>/dev/null) || continue
		[ -z "$pid" ] || kill -CONT "$pid" 2>/dev/null || true
	done
	etcd_stop
}

teardown() {
	[ -z "${WATCH_PID:-}" ] || kill "$WATCH_PID" 2>/dev/null || true
	[ -z "${WATCH_PID:-}" ] || wait "$WATCH_PID" 2>/dev/null || true
	local i pid
	for i in 1 2 3; do
		pid=$(cat "$MK_ETCD_TMP/m$i.pid" 2>/dev/null) || continue
		[ -z "$pid" ] || kill -CONT "$pid" 2>/dev/null || true
	done
	# every member back for the next test
	for i in 1 2 3; do
		[ -s "$MK_ETCD_TMP/m$i.pid" ] || etcd_member_start "$i"
	done
}

# create NAME: POSTs a ConfigMap; prints the answer's body, then its code on
# a line of its own.
create() {
	curl -s --max-time 30 -w '\n%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$1\"}}" \
		"$MK_API_URL/api/v1/namespaces/default/configmaps"
}

created() {
	[ "$(create "$1" | tail -n1)" = 201 ]
}

# For retries: a try answered 5xx may still have been written, and its retry
# then finds it (409).
stored() {
	local code
	code=$(create "$1" | tail -n1)
	[ "$code" = 201 ] || [ "$code" = 409 ]
}

# Starts a watch of ConfigMaps from the current list's resourceVersion into
# $BATS_TEST_TMPDIR/watch.
watch_start() {
	local rv
	rv=$(curl -s "$MK_API_URL/api/v1/namespaces/default/configmaps" | jq -r .metadata.resourceVersion)
	curl -sN "$MK_API_URL/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv" \
		>"$BATS_TEST_TMPDIR/watch" 2>/dev/null &
	WATCH_PID=$!
}

# The watch saw NAME added, or ended with 410 Gone (then a relist must work
# and hold NAME).
watch_carried_on() {
	local name=$1 w=$BATS_TEST_TMPDIR/watch
	if jq -e --arg n "$name" 'select(.type == "ADDED" and .object.metadata.name == $n)' \
		"$w" >/dev/null 2>&1; then
		return 0
	fi
	if jq -e 'select(.type == "ERROR" and .object.code == 410)' "$w" >/dev/null 2>&1; then
		curl -sf "$MK_API_URL/api/v1/namespaces/default/configmaps" |
			jq -e --arg n "$name" '.items[] | select(.metadata.name == $n)' >/dev/null
		return
	fi
	return 1
}

# The answer of a create while etcd cannot take it: a 5xx Status.
assert_5xx_status() {
	local out code body
	out=$(create "$1")
	code=$(tail -n1 <<<"$out")
	body=$(sed '$d' <<<"$out")
	echo "answer $code: $body"
	[ "$code" -ge 500 ] && [ "$code" -le 599 ]
	[ "$(jq -r .kind <<<"$body")" = Status ]
	[ "$(jq -r .code <<<"$body")" = "$code" ]
}

@test "a member of three killed: writes go on, the watch carries on" {
	watch_start
	wait_until 10 stored before-kill
	etcd_member_kill 1
	# the client moves to another member: at most a few 5xx, then every write
	wait_until 30 stored kill-first
	for i in $(seq 10); do
		created "kill-$i"
	done
	wait_until 10 watch_carried_on kill-10
	kill -0 "$MK_API_PID"
	etcd_member_start 1
	created kill-back
}

@test "quorum lost: 5xx Status and readyz 500, no crash; back, it recovers by itself" {
	watch_start
	wait_until 10 stored before-quorum
	etcd_member_kill 2
	etcd_member_kill 3
	# a write that cannot commit: a 5xx Status within the client's limits
	start=$SECONDS
	assert_5xx_status lost-1
	[ $((SECONDS - start)) -lt 30 ]
	wait_until 30 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$MK_API_URL/readyz')\" = 500 ]"
	kill -0 "$MK_API_PID"
	etcd_member_start 2
	etcd_member_start 3
	wait_until 30 stored quorum-back
	wait_until 10 curl -sf "$MK_API_URL/readyz"
	wait_until 10 watch_carried_on quorum-back
	kill -0 "$MK_API_PID"
}

@test "every member frozen, as by a cut network: 5xx Status, no hang; thawed, it recovers" {
	watch_start
	wait_until 10 stored before-freeze
	for i in 1 2 3; do
		kill -STOP "$(cat "$MK_ETCD_TMP/m$i.pid")"
	done
	start=$SECONDS
	assert_5xx_status frozen-1
	[ $((SECONDS - start)) -lt 30 ]
	kill -0 "$MK_API_PID"
	for i in 1 2 3; do
		kill -CONT "$(cat "$MK_ETCD_TMP/m$i.pid")"
	done
	wait_until 30 stored thawed
	wait_until 10 watch_carried_on thawed
	kill -0 "$MK_API_PID"
}
