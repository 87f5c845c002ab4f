#!/usr/bin/env bats
# SIGTERM while watches are open, being opened and receiving events: the
# server stops cleanly (exit 0) and every watch stream ends.

load lib/apiserver

setup() {
	apiserver_start
	WATCHERS=()
}

teardown() {
	for p in "${WATCHERS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "${writer:-}" ] && kill "$writer" "$opener" 2>/dev/null
	# the server first: a bare `wait` would wait for it too
	apiserver_stop
	wait 2>/dev/null || true
}

# all_answered DIR N: N watches have their response headers in DIR
all_answered() {
	[ "$(grep -l '^HTTP/1.1 200' "$1"/* 2>/dev/null | wc -l)" -ge "$2" ]
}

# created PREFIX N: at least N pods named PREFIX* exist
created() {
	[ "$(curl -s "$MK_API_URL/api/v1/namespaces/default/pods" |
		jq --arg p "$1" '[.items[] | select(.metadata.name | startswith($p))] | length')" -ge "$2" ]
}

@test "SIGTERM while watches are open, arriving and busy: exit 0, every stream ended" {
	for round in 1 2 3 4 5; do
		[ "$round" -eq 1 ] || apiserver_start
		WATCHERS=()
		heads=$MK_API_TMP/heads-$round
		mkdir -p "$heads"
		for i in $(seq 10); do
			curl -sN -D "$heads/a$i" "$MK_API_URL/api/v1/pods?watch=1" >/dev/null 3>&- &
			WATCHERS+=($!)
			curl -sN -D "$heads/b$i" "$MK_API_URL/api/v1/pods?watch=1&labelSelector=a%3Db" >/dev/null 3>&- &
			WATCHERS+=($!)
		done
		# all 20 are open before anything else happens
		wait_until 10 all_answered "$heads" 20
		# new watches keep arriving while the server stops
		(for i in $(seq 300); do
			curl -sN --max-time 3 "$MK_API_URL/api/v1/pods?watch=1" >/dev/null &
			sleep 0.01 # 0.01 s apart: a pace, not a wait
		done
		wait) 3>&- &
		opener=$!
		(for i in $(seq 100); do
			curl -s -X POST -H 'Content-Type: application/json' \
				-d "{\"metadata\":{\"name\":\"r$round-p$i\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" \
				"$MK_API_URL/api/v1/namespaces/default/pods" >/dev/null
		done) 3>&- &
		writer=$!
		# stopped while busy: after a random number of this round's writes
		wait_until 30 created "r$round-p" $((RANDOM % 5 + 1))
		kill -TERM "$MK_API_PID"
		rc=0
		wait "$MK_API_PID" || rc=$?
		[ "$rc" -eq 0 ] || { grep -v '^I' "$MK_API_LOG" | tail -3; false; }
		kill "$writer" "$opener" 2>/dev/null || true
		# every stream was ended by the server
		for p in "${WATCHERS[@]}"; do
			wait_until 5 _gone "$p"
		done
		wait 2>/dev/null || true
	done
}
