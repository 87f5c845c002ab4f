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
	wait 2>/dev/null || true
	apiserver_stop
}

@test "SIGTERM while watches are open, arriving and busy: exit 0, every stream ended" {
	for round in 1 2 3 4 5; do
		[ "$round" -eq 1 ] || apiserver_start
		WATCHERS=()
		for i in $(seq 10); do
			curl -sN "$MK_API_URL/api/v1/pods?watch=1" >/dev/null 3>&- &
			WATCHERS+=($!)
			curl -sN "$MK_API_URL/api/v1/pods?watch=1&labelSelector=a%3Db" >/dev/null 3>&- &
			WATCHERS+=($!)
		done
		# new watches keep arriving while the server stops
		(for i in $(seq 300); do
			curl -sN --max-time 3 "$MK_API_URL/api/v1/pods?watch=1" >/dev/null &
			sleep 0.01
		done
		wait) 3>&- &
		opener=$!
		(for i in $(seq 100); do
			curl -s -X POST -H 'Content-Type: application/json' \
				-d "{\"metadata\":{\"name\":\"r$round-p$i\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" \
				"$MK_API_URL/api/v1/namespaces/default/pods" >/dev/null
		done) 3>&- &
		writer=$!
		sleep 0.$((RANDOM % 5 + 3))
		kill -TERM "$MK_API_PID"
		rc=0
		wait "$MK_API_PID" || rc=$?
		[ "$rc" -eq 0 ] || { grep -v '^I' "$MK_API_LOG" | tail -3; false; }
		kill "$writer" "$opener" 2>/dev/null || true
		# every stream was ended by the server
		for p in "${WATCHERS[@]}"; do
			for i in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
			! kill -0 "$p" 2>/dev/null || false
		done
		wait 2>/dev/null || true
	done
}
